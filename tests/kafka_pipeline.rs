//! A real kline file through a real broker: `publish` → engine (`run` on Kafka) → signals topic,
//! read back by the Python `confluent-kafka` client. Needs the broker `scripts/test.sh` starts.
#![allow(clippy::disallowed_methods)] // tests wait on real processes with wall-clock deadlines

mod common;

use common::api_engine;
use common::kafka::{self, Engine, EngineSpec};
use std::collections::BTreeMap;
use std::time::Duration;

/// Count, keys, headers, schema, per-symbol order and values: the signals topic holds exactly
/// what a file replay of the same data emits, once each. A small channel makes the consumer
/// pause (Kafka's own backpressure) without losing anything.
#[test]
fn published_klines_come_out_as_the_replays_signals() {
    let Some(env) = kafka::env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = kafka::demo_files(&["ALGO", "DOT", "NEAR"]);
    let topic = kafka::unique("pipeline-in");
    kafka::publish(&env.brokers, &topic, 3, &data, None);
    let mut spec = EngineSpec::new(&env.brokers, &topic, "pipeline");
    spec.channel_capacity = 8; // far below one partition's backlog: the consumer must pause
    spec.pause_after_ms = 50;
    spec.api = true;
    let engine = Engine::spawn(&spec, dir.path(), "a");
    let (lag, ready) = kafka_metrics(&engine, &topic);
    let summary = engine.wait(Duration::from_secs(240));
    // The sidecar saw the consumer: its three partitions assigned, a lag from librdkafka for
    // those it had read from (an empty partition has no position, so no lag).
    assert!(
        lag.iter()
            .all(|(p, n)| ["0", "1", "2"].contains(&p.as_str()) && *n >= 0.0),
        "{lag:?}"
    );
    assert_eq!(ready["source"]["kind"], "kafka", "{ready}");
    assert_eq!(ready["source"]["assigned_partitions"], 3, "{ready}");

    let expected = kafka::replay_expected(&data, dir.path());
    assert!(expected.len() > 3_000, "{} signals", expected.len());
    let got = kafka::consume(&env, &env.brokers, &spec.signals, 5.0);
    let agreement = kafka::check_against_replay(&got, &expected, 0.0);
    assert_eq!(
        agreement.duplicates, 0,
        "nothing failed, so no signal may repeat"
    );
    assert_eq!(got.len(), expected.len());

    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(kafka::repo("schemas/signal.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut last: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
    for m in &got {
        assert!(validator.is_valid(&m.value), "{}", m.value);
        assert_eq!(m.key, m.value["symbol"].as_str().unwrap(), "key = symbol");
        assert_eq!(m.headers["schema_version"], "1");
        assert_eq!(
            m.headers["model_version"],
            m.value["model_version"].as_str().unwrap()
        );
        // One symbol lives on one partition, in bar order.
        let t = m.value["bar_close_time_ms"].as_i64().unwrap();
        if let Some(&(p, o, prev)) = last.get(&m.key) {
            assert_eq!(p, m.partition, "{} moved partitions", m.key);
            if o < m.offset {
                assert!(t > prev, "{}: bar {t} after {prev}", m.key);
            }
        }
        last.insert(m.key.clone(), (m.partition, m.offset, t));
    }
    assert_eq!(last.len(), 3, "three symbols");

    let src = &summary["kafka_source"];
    assert_eq!(src["events"], 3 * 1440, "{summary}");
    assert_eq!(src["malformed"], 0);
    assert!(
        src["pauses"].as_u64().unwrap() > 0,
        "the small channel never paused the consumer"
    );
    assert_eq!(summary["kafka_sink"]["delivered"], expected.len() as u64);
}

/// Polls the engine's `/metrics` until it shows a consumer lag for `topic`; returns (partition,
/// lag) and the `/readyz` body read then.
fn kafka_metrics(engine: &Engine, topic: &str) -> (Vec<(String, f64)>, serde_json::Value) {
    let t0 = std::time::Instant::now();
    let addr = loop {
        let log = std::fs::read_to_string(&engine.log).unwrap_or_default();
        if let Some(a) = api_engine::api_addr_in(&log) {
            break a;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "no api: {log}");
        std::thread::sleep(Duration::from_millis(100));
    };
    loop {
        let (status, text) = api_engine::get(&addr, "/metrics");
        assert_eq!(status, 200, "{text}");
        let prefix = format!("signal_engine_kafka_consumer_lag{{topic=\"{topic}\",partition=\"");
        let lag: Vec<(String, f64)> = text
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix))
            .filter_map(|rest| {
                let (p, v) = rest.split_once("\"} ")?;
                Some((p.to_string(), v.parse().ok()?))
            })
            .collect();
        if !lag.is_empty() {
            let (_, body) = api_engine::get(&addr, "/readyz");
            return (lag, serde_json::from_str(&body).unwrap());
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "no consumer lag in /metrics:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// SIGTERM mid-stream: the engine drains, flushes, commits what was delivered and exits 0; a
/// restart in the same group continues where it stopped, so nothing is lost and nothing repeats.
#[test]
fn a_sigterm_commits_what_was_delivered_and_a_restart_repeats_nothing() {
    let Some(env) = kafka::env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = kafka::demo_files(&["AVAX", "LINK"]);
    let topic = kafka::unique("sigterm-in");
    kafka::publish(&env.brokers, &topic, 2, &data, None);
    let mut spec = EngineSpec::new(&env.brokers, &topic, "sigterm");
    spec.channel_capacity = 16; // read as it goes, so most of the topic is unread at the stop
    spec.pause_after_ms = 50;
    let first = Engine::spawn(&spec, dir.path(), "first");
    let t0 = std::time::Instant::now();
    while first.lines() < 200 {
        assert!(t0.elapsed() < Duration::from_secs(120), "no signals");
        std::thread::sleep(Duration::from_millis(50));
    }
    first.sigterm();
    let s1 = first.wait(Duration::from_secs(120));
    let second = Engine::spawn(&spec, dir.path(), "second");
    let s2 = second.wait(Duration::from_secs(240));

    let expected = kafka::replay_expected(&data, dir.path());
    let got = kafka::consume(&env, &env.brokers, &spec.signals, 5.0);
    let agreement = kafka::check_against_replay(&got, &expected, 1e-6);
    assert_eq!(agreement.duplicates, 0, "a clean stop repeats nothing");
    assert_eq!(got.len(), expected.len());
    let live = |s: &serde_json::Value| s["kafka_source"]["events"].as_u64().unwrap();
    assert!(
        live(&s1) < 2 * 1440,
        "the first run stopped mid-stream: {s1}"
    );
    assert_eq!(
        live(&s1) + live(&s2),
        2 * 1440,
        "each message read live exactly once"
    );
}
