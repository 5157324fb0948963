//! Consumer-group scale-out against a real broker: two engines in one group split the
//! partitions; a rebalance moves partitions mid-stream without a gap or a duplicate; a killed
//! instance loses nothing. Needs the broker `scripts/test.sh` starts.
#![allow(clippy::disallowed_methods)] // tests wait on real processes with wall-clock deadlines

mod common;

use common::kafka::{self, Engine, EngineSpec};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// A moved partition re-warms its indicators from a bounded span (`warmup_bars`), so
/// exponential smoothers differ from an uninterrupted history's by a trace: 8.9e-8 in
/// p_profitable on the demo's bars (`tests/warmup_span.rs`). (tansu answers every timestamp
/// lookup with the earliest offset, so here a moved partition re-reads from its start.)
const MOVED_TOL: f64 = 1e-6;

fn wait_for_lines(e: &Engine, n: usize, limit: Duration) {
    let t0 = Instant::now();
    while e.lines() < n {
        assert!(
            t0.elapsed() < limit,
            "only {} signals after {limit:?}",
            e.lines()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until the signals topic holds every expected signal_id. The engines are then stopped
/// by SIGTERM rather than by an idle limit: how long a rebalance stalls the group depends on the
/// machine's load, and an idle limit shorter than that stall would stop an instance before it
/// had read everything (a test of the clock, not of the engine).
fn wait_until_delivered(
    env: &kafka::KafkaEnv,
    topic: &str,
    expected: &BTreeMap<String, serde_json::Value>,
    limit: Duration,
) {
    let t0 = Instant::now();
    loop {
        let got = kafka::consume(env, &env.brokers, topic, 3.0);
        let seen: BTreeSet<&str> = got
            .iter()
            .filter_map(|m| m.value["signal_id"].as_str())
            .collect();
        let have = expected
            .keys()
            .filter(|k| seen.contains(k.as_str()))
            .count();
        if have == expected.len() {
            return;
        }
        assert!(
            t0.elapsed() < limit,
            "{have} of {} expected signals delivered after {limit:?}",
            expected.len()
        );
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// B joins while A is mid-stream: A drains and commits what it was given, B re-reads the
/// warm-up span of its new partitions without emitting, and together they emit every expected
/// signal exactly once.
#[test]
fn a_second_instance_takes_partitions_mid_stream_without_gaps_or_duplicates() {
    let Some(env) = kafka::env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = kafka::demo_files(&["ALGO", "AVAX", "DOT", "FIL", "LINK", "NEAR"]);
    let topic = kafka::unique("group-in");
    kafka::publish(&env.brokers, &topic, 4, &data, None);
    let expected = kafka::replay_expected(&data, dir.path());
    let mut spec = EngineSpec::new(&env.brokers, &topic, "group");
    spec.idle_secs = 3600.0; // stopped by SIGTERM below
    let a = Engine::spawn(&spec, dir.path(), "a");
    wait_for_lines(&a, 300, Duration::from_secs(120));
    let b = Engine::spawn(&spec, dir.path(), "b");
    wait_until_delivered(&env, &spec.signals, &expected, Duration::from_secs(400));
    a.sigterm();
    b.sigterm();
    let (sa, sb) = (
        a.wait(Duration::from_secs(120)),
        b.wait(Duration::from_secs(120)),
    );

    let got = kafka::consume(&env, &env.brokers, &spec.signals, 5.0);
    let agreement = kafka::check_against_replay(&got, &expected, MOVED_TOL);
    eprintln!("two instances: {agreement:?}");
    assert_eq!(agreement.duplicates, 0, "a clean rebalance repeats nothing");
    assert_eq!(got.len(), expected.len());
    let delivered = |s: &serde_json::Value| s["kafka_sink"]["delivered"].as_u64().unwrap();
    assert!(delivered(&sa) > 0 && delivered(&sb) > 0, "A {sa}\nB {sb}");
    assert_eq!(delivered(&sa) + delivered(&sb), expected.len() as u64);
    let warm = |s: &serde_json::Value| s["kafka_source"]["warmup_events"].as_u64().unwrap();
    assert!(
        warm(&sa) + warm(&sb) > 0,
        "moved partitions must be re-warmed"
    );
    assert!(sa["kafka_source"]["revoked"].as_u64().unwrap() > 0);
}

/// A is killed (SIGKILL: no drain, no commit) mid-stream and restarted: every expected signal
/// still arrives; repeats are allowed (at-least-once) and identified by signal_id.
#[test]
fn a_killed_instance_loses_nothing() {
    let Some(env) = kafka::env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = kafka::demo_files(&["ALGO", "AVAX", "DOT", "FIL", "LINK", "NEAR"]);
    let topic = kafka::unique("kill-in");
    kafka::publish(&env.brokers, &topic, 4, &data, None);
    let expected = kafka::replay_expected(&data, dir.path());
    let mut spec = EngineSpec::new(&env.brokers, &topic, "kill");
    spec.idle_secs = 3600.0; // stopped by SIGTERM below
    let mut a = Engine::spawn(&spec, dir.path(), "a");
    let b = Engine::spawn(&spec, dir.path(), "b");
    wait_for_lines(&a, 400, Duration::from_secs(120));
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let a2 = Engine::spawn(&spec, dir.path(), "a2");
    wait_until_delivered(&env, &spec.signals, &expected, Duration::from_secs(400));
    a2.sigterm();
    b.sigterm();
    let (_, _) = (
        a2.wait(Duration::from_secs(120)),
        b.wait(Duration::from_secs(120)),
    );

    let got = kafka::consume(&env, &env.brokers, &spec.signals, 5.0);
    let agreement = kafka::check_against_replay(&got, &expected, MOVED_TOL);
    eprintln!("kill and restart: {agreement:?}");
    assert_eq!(got.len(), expected.len() + agreement.duplicates);
}
