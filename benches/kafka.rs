//! The Kafka path against a real broker on loopback: `scripts/bench_kafka.sh` starts tansu and
//! runs `cargo bench --bench kafka`.
//!
//! 1. Reference: the raw produce and consume rates of the same client library (rdkafka) for the
//!    same messages (MarketEvent JSON, key = symbol, 4 partitions), and a relay that consumes
//!    each message and produces one like it: the engine's Kafka work without the engine.
//! 2. Throughput: publish → engine (`run_kafka`, the model forward stubbed out **here only**, to
//!    isolate the Kafka path) → signals topic, timed at the receiving consumer in steady state.
//! 3. Latency with the real model: events published at a steady pace; for each signal, wall
//!    time from publishing the bar that closed its window to receiving the signal (hdrhistogram).
//!
//! Without SIGNAL_ENGINE_KAFKA it prints why and does nothing. `cargo test --bench kafka` (the
//! smoke run in scripts/test.sh) uses one symbol and a short paced run.
#![allow(clippy::disallowed_methods)] // a benchmark reads the wall clock

use hdrhistogram::Histogram;
use rdkafka::Message;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use signal_engine::app::{KafkaJob, run_kafka};
use signal_engine::config::{Config, KafkaConfig, OptionValue};
use signal_engine::event::{MarketEvent, Symbol};
use signal_engine::ingest::kafka::client::create_topics;
use signal_engine::ingest::replay::{ReplayOptions, ReplaySource};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PARTITIONS: i32 = 4;
/// Every consumer here (reference readers and the engine's) asks the broker to answer a fetch
/// within 10 ms: tansu holds a fetch for the whole `fetch.wait.max.ms` (librdkafka's default
/// 500 ms) even when data arrives, which would otherwise be most of any latency measured.
const FETCH_WAIT_MS: &str = "10";

struct Msg {
    key: String,
    close_ms: i64,
    payload: Vec<u8>,
}

/// The demo day of `symbols`, `copies` times over under renamed symbols (`ALGOUSDT.C1`...), so
/// that a throughput run lasts long enough to time.
fn messages(symbols: &[&str], copies: usize) -> Vec<Msg> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files: Vec<PathBuf> = symbols
        .iter()
        .map(|s| {
            root.join(format!(
                "tests/fixtures/klines/demo/{s}USDT-1m-2026-02.csv.gz"
            ))
        })
        .collect();
    let src = ReplaySource::open(&files, &ReplayOptions::default()).expect("demo files");
    let events: Vec<MarketEvent> = src.map(|e| e.expect("a demo event")).collect();
    let mut out = Vec::with_capacity(events.len() * copies);
    for e in &events {
        for c in 0..copies {
            let mut e = e.clone();
            if c > 0 {
                e.symbol = Symbol::new(&format!("{}.C{c}", e.symbol));
            }
            out.push(Msg {
                key: e.symbol.to_string(),
                close_ms: e.ts_event_ns / 1_000_000,
                payload: serde_json::to_vec(&e).expect("json"),
            });
        }
    }
    out
}

fn name(prefix: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("bench-{prefix}-{}-{n}", std::process::id())
}

fn producer(brokers: &str) -> BaseProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create()
        .expect("producer")
}

/// Produces every message (waiting out a full queue); returns the seconds until all are acked.
fn produce_all(brokers: &str, topic: &str, msgs: &[Msg]) -> f64 {
    let p = producer(brokers);
    let t0 = Instant::now();
    for m in msgs {
        let mut rec = BaseRecord::to(topic)
            .key(m.key.as_str())
            .payload(m.payload.as_slice())
            .timestamp(m.close_ms);
        loop {
            match p.send(rec) {
                Ok(()) => break,
                Err((_, r)) => {
                    rec = r;
                    p.poll(Duration::from_millis(1));
                }
            }
        }
        p.poll(Duration::ZERO);
    }
    p.flush(Duration::from_secs(120)).expect("flush");
    t0.elapsed().as_secs_f64()
}

/// A consumer reading every partition of `topic` from the start.
fn reader(brokers: &str, topic: &str) -> BaseConsumer {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", name("reader"))
        .set("fetch.wait.max.ms", FETCH_WAIT_MS)
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .expect("partition");
    }
    c.assign(&tpl).expect("assign");
    c
}

/// Reads until `n` messages arrived or `idle` passed without one; returns each message's
/// receipt time and value.
fn receive(c: &BaseConsumer, n: usize, idle: Duration) -> Vec<(Instant, Vec<u8>)> {
    let mut got = Vec::with_capacity(n.min(1 << 16));
    let mut last = Instant::now();
    while got.len() < n && last.elapsed() < idle {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(50)) {
            last = Instant::now();
            got.push((last, m.payload().unwrap_or_default().to_vec()));
        }
    }
    got
}

type Sent = Arc<Mutex<HashMap<(String, i64), Instant>>>;

/// Publishes `msgs` at `pace` per second on a thread, noting when each (symbol, bar close) left.
fn paced(
    brokers: &str,
    topic: &str,
    msgs: Arc<Vec<Msg>>,
    pace: f64,
) -> (std::thread::JoinHandle<()>, Sent) {
    let sent: Sent = Arc::default();
    let (s, brokers, topic) = (sent.clone(), brokers.to_string(), topic.to_string());
    let handle = std::thread::spawn(move || {
        let p = producer(&brokers);
        let t0 = Instant::now();
        for (i, m) in msgs.iter().enumerate() {
            if let Some(wait) = Duration::from_secs_f64(i as f64 / pace).checked_sub(t0.elapsed()) {
                std::thread::sleep(wait);
            }
            s.lock()
                .expect("lock")
                .insert((m.key.clone(), m.close_ms), Instant::now());
            let rec = BaseRecord::to(&topic)
                .key(m.key.as_str())
                .payload(m.payload.as_slice())
                .timestamp(m.close_ms);
            p.send(rec).map_err(|(e, _)| e).expect("send");
            p.poll(Duration::ZERO);
        }
        p.flush(Duration::from_secs(60)).expect("flush");
    });
    (handle, sent)
}

/// Receipt time minus publish time of the (symbol, bar close) each received value names.
fn latencies(
    received: &[(Instant, Vec<u8>)],
    sent: &HashMap<(String, i64), Instant>,
    key: impl Fn(&[u8]) -> Option<(String, i64)>,
) -> Histogram<u64> {
    let mut h = Histogram::<u64>::new(3).expect("histogram");
    for (at, value) in received {
        if let Some(t) = key(value).and_then(|k| sent.get(&k)) {
            h.record(at.saturating_duration_since(*t).as_micros() as u64)
                .expect("record");
        }
    }
    h
}

fn engine_job(brokers: &str, input: &str, signals: &str, skip: bool) -> KafkaJob {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sets = vec![
        format!("kafka.brokers={brokers}"),
        format!("kafka.source.topics=[\"{input}\"]"),
        format!("kafka.source.group_id={}", name("group")),
        format!("kafka.source.dead_letter_topic={}", name("dlq")),
        format!("kafka.sink.topic={signals}"),
        format!("model.dir=\"{}\"", root.join("models/default").display()),
    ];
    let (mut config, config_name) =
        Config::load_with(Some(&root.join("config/kafka.toml")), &sets).expect("config");
    if let Some(src) = config.kafka.as_mut().and_then(|k| k.source.as_mut()) {
        src.options.insert(
            "fetch.wait.max.ms".into(),
            OptionValue::Text(FETCH_WAIT_MS.into()),
        );
    }
    KafkaJob {
        model_dir: config.model.dir.clone(),
        config,
        config_name,
        out: None,
        stop_when_idle: Some(Duration::from_secs(3)),
        skip_model_forward: skip,
    }
}

fn main() {
    let Ok(brokers) = std::env::var("SIGNAL_ENGINE_KAFKA") else {
        eprintln!(
            "kafka bench skipped: set SIGNAL_ENGINE_KAFKA (scripts/bench_kafka.sh starts a broker)"
        );
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
    let full = std::env::args().any(|a| a == "--bench");
    let symbols: &[&str] = if full {
        &["ALGO", "AVAX", "DOT", "FIL", "LINK", "NEAR"]
    } else {
        &["LINK"]
    };
    let msgs = messages(symbols, if full { 10 } else { 1 });
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let kafka = KafkaConfig {
        brokers: brokers.clone(),
        ..KafkaConfig::default()
    };
    let topics: Vec<String> = ["raw", "relay", "in", "sig", "lat-raw", "lat-in", "lat-sig"]
        .iter()
        .map(|p| name(p))
        .collect();
    let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    rt.block_on(create_topics(&kafka, &refs, PARTITIONS))
        .expect("topics");
    let [raw, relay, input, sig, lat_raw, lat_in, lat_sig] = refs[..] else {
        unreachable!()
    };

    // 1. The client library's own rates.
    let produce_s = produce_all(&brokers, raw, &msgs);
    // Timed from before the reader exists to the last message: startup included, as for the
    // engine below.
    let t0 = Instant::now();
    let c = reader(&brokers, raw);
    let got = receive(&c, msgs.len(), Duration::from_secs(30));
    let consume_s = got.last().map_or(f64::NAN, |l| (l.0 - t0).as_secs_f64());
    let produce_rate = msgs.len() as f64 / produce_s;
    let consume_rate = got.len() as f64 / consume_s;
    // The engine's Kafka work without the engine: consume each message and produce one like it
    // to another topic, timed from start to the last copy received, as the engine is below.
    let relay_reader = reader(&brokers, relay);
    let t0 = Instant::now();
    let relay_thread = {
        let (brokers, raw, relay, n) = (
            brokers.clone(),
            raw.to_string(),
            relay.to_string(),
            msgs.len(),
        );
        std::thread::spawn(move || {
            let (c, p) = (reader(&brokers, &raw), producer(&brokers));
            let mut copied = 0;
            while copied < n {
                let Some(Ok(m)) = c.poll(Duration::from_millis(50)) else {
                    continue;
                };
                let mut rec = BaseRecord::to(&relay)
                    .key(m.key().unwrap_or_default())
                    .payload(m.payload().unwrap_or_default());
                while let Err((_, r)) = p.send(rec) {
                    rec = r;
                    p.poll(Duration::from_millis(1));
                }
                p.poll(Duration::ZERO);
                copied += 1;
            }
            p.flush(Duration::from_secs(60)).expect("flush");
        })
    };
    let copies = receive(&relay_reader, msgs.len(), Duration::from_secs(30));
    relay_thread.join().expect("relay");
    let relay_rate =
        copies.len() as f64 / copies.last().map_or(f64::NAN, |l| (l.0 - t0).as_secs_f64());

    // 2. Through the engine, model stubbed.
    produce_all(&brokers, input, &msgs);
    let sig_reader = reader(&brokers, sig);
    let job = engine_job(&brokers, input, sig, true);
    let t0 = Instant::now();
    let engine = rt.spawn(run_kafka(job, std::future::pending()));
    let signals = receive(&sig_reader, usize::MAX, Duration::from_secs(15));
    let summary = rt.block_on(engine).expect("join").expect("engine run");
    // Engine start (model load, group join) to the last signal received.
    let span = signals
        .last()
        .map_or(f64::NAN, |l| (l.0 - t0).as_secs_f64());
    let signals_rate = signals.len() as f64 / span;
    let pipeline_rate = summary.events as f64 / span;

    // 3. Latency at a steady pace: the client library alone (reference), then the engine.
    let pace = if full { 200.0 } else { 100.0 };
    let n_lat = if full { 2_400 } else { 300 };
    // The original symbols only (copy 0), in time order.
    let lat_msgs: Vec<Msg> = msgs
        .into_iter()
        .filter(|m| !m.key.contains(".C"))
        .take(n_lat)
        .collect();
    let lat_msgs = Arc::new(lat_msgs);
    let raw_reader = reader(&brokers, lat_raw);
    let (publisher, sent) = paced(&brokers, lat_raw, lat_msgs.clone(), pace);
    let received = receive(&raw_reader, n_lat, Duration::from_secs(10));
    publisher.join().expect("publisher");
    let raw_hist = latencies(&received, &sent.lock().expect("lock"), |v| {
        let e: serde_json::Value = serde_json::from_slice(v).ok()?;
        Some((
            e["symbol"].as_str()?.to_string(),
            e["ts_event_ns"].as_i64()? / 1_000_000,
        ))
    });

    let lat_reader = reader(&brokers, lat_sig);
    let mut job = engine_job(&brokers, lat_in, lat_sig, false);
    job.stop_when_idle = Some(Duration::from_secs(10)); // outlasts the wait for the group join
    let engine = rt.spawn(run_kafka(job, std::future::pending()));
    std::thread::sleep(Duration::from_secs(4)); // group join, before the clock starts
    let (publisher, sent) = paced(&brokers, lat_in, lat_msgs, pace);
    let received = receive(&lat_reader, usize::MAX, Duration::from_secs(10));
    publisher.join().expect("publisher");
    let lat_summary = rt.block_on(engine).expect("join").expect("engine run");
    let hist = latencies(&received, &sent.lock().expect("lock"), |v| {
        let s: serde_json::Value = serde_json::from_slice(v).ok()?;
        Some((
            s["symbol"].as_str()?.to_string(),
            s["bar_close_time_ms"].as_i64()?,
        ))
    });

    println!(
        "kafka bench ({} events of {} symbols, {PARTITIONS} partitions, broker {brokers})",
        got.len(),
        symbols.len()
    );
    println!("  rdkafka raw produce (idempotent, acked):   {produce_rate:>10.0} events/s");
    println!("  rdkafka raw consume:                       {consume_rate:>10.0} events/s");
    println!(
        "  rdkafka relay (consume one, produce one):   {relay_rate:>10.0} events/s (the engine's Kafka work alone)"
    );
    println!(
        "  engine, model stubbed: {:>8.0} events/s ({signals_rate:.0} signals/s; {} signals, {} events in)  = {:.2}x raw consume, {:.2}x relay",
        pipeline_rate,
        signals.len(),
        summary.events,
        pipeline_rate / consume_rate,
        pipeline_rate / relay_rate
    );
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1e3;
    println!(
        "  latency, {pace:.0} events/s, rdkafka publish -> consume (reference): p50 {:.1} ms, p99 {:.1} ms over {} events",
        ms(&raw_hist, 0.5),
        ms(&raw_hist, 0.99),
        raw_hist.len()
    );
    println!(
        "  latency, {pace:.0} events/s, publish -> engine (real model) -> signal received: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {} signals ({} events in)",
        ms(&hist, 0.5),
        ms(&hist, 0.99),
        hist.max() as f64 / 1e3,
        hist.len(),
        lat_summary.events
    );
    assert!(
        !signals.is_empty() && !hist.is_empty(),
        "the engine emitted no signals"
    );
}
