//! Kafka test harness: the real broker the test command started (tansu), engines run as child
//! processes of the real binary, and the Python `confluent-kafka` client as the independent
//! consumer of the signals.
//!
//! `scripts/test.sh` exports `SIGNAL_ENGINE_KAFKA` (bootstrap address), `SIGNAL_ENGINE_TANSU`
//! (the broker binary, for tests that run their own), `SIGNAL_ENGINE_PYTHON` (a venv with
//! confluent-kafka) and `SIGNAL_ENGINE_REQUIRE_KAFKA=1`. Outside it, the tests skip loudly.
#![allow(clippy::disallowed_methods)] // tests wait on real processes with wall-clock deadlines
#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub struct KafkaEnv {
    pub brokers: String,
    pub tansu: PathBuf,
    pub python: PathBuf,
}

/// The environment, or `None` (after a loud message) when not run by `scripts/test.sh`.
pub fn env() -> Option<KafkaEnv> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match (
        var("SIGNAL_ENGINE_KAFKA"),
        var("SIGNAL_ENGINE_TANSU"),
        var("SIGNAL_ENGINE_PYTHON"),
    ) {
        (Some(brokers), Some(tansu), Some(python)) => Some(KafkaEnv {
            brokers,
            tansu: tansu.into(),
            python: python.into(),
        }),
        _ => {
            assert!(
                var("SIGNAL_ENGINE_REQUIRE_KAFKA").is_none(),
                "SIGNAL_ENGINE_REQUIRE_KAFKA is set but SIGNAL_ENGINE_KAFKA/TANSU/PYTHON are not"
            );
            eprintln!(
                "\n***** SKIPPED: this Kafka test needs the broker and client that scripts/test.sh starts; run it through scripts/test.sh *****\n"
            );
            None
        }
    }
}

/// A name no other test (or earlier run against the same broker) uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_signal-engine")
}

pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// `signal-engine publish` of `data` into `topic` (created with `partitions`), one record per
/// batch (tansu 0.6.0 cannot fetch from an offset inside a batch).
pub fn publish(brokers: &str, topic: &str, partitions: i32, data: &[PathBuf], rate: Option<f64>) {
    let mut cmd = Command::new(bin());
    cmd.current_dir(repo(""))
        .args(["publish", "--brokers", brokers, "--topic", topic])
        .args(["--partitions", &partitions.to_string()])
        .args(["-X", "batch.num.messages=1", "--data"])
        .args(data);
    if let Some(r) = rate {
        cmd.args(["--rate", &r.to_string()]);
    }
    let out = cmd.output().expect("run publish");
    assert!(
        out.status.success(),
        "publish failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One engine's settings.
#[derive(Clone, Debug)]
pub struct EngineSpec {
    pub brokers: String,
    pub topic: String,
    pub group: String,
    pub signals: String,
    pub dead_letters: String,
    pub format: &'static str,
    pub idle_secs: f64,
    pub channel_capacity: usize,
    pub revoke_drain_ms: u64,
    pub session_timeout_ms: u64,
    pub pause_after_ms: u64,
    /// Serve the sidecar API on a free port (and report Kafka statistics every 500 ms).
    pub api: bool,
}

impl EngineSpec {
    pub fn new(brokers: &str, topic: &str, tag: &str) -> Self {
        Self {
            brokers: brokers.into(),
            topic: topic.into(),
            group: unique(&format!("{tag}-group")),
            signals: unique(&format!("{tag}-signals")),
            dead_letters: unique(&format!("{tag}-dlq")),
            format: "market_event",
            idle_secs: 8.0,
            channel_capacity: 1024,
            revoke_drain_ms: 30_000,
            session_timeout_ms: 6_000,
            pause_after_ms: 500,
            api: false,
        }
    }

    /// config/kafka.toml with this spec's topics, group and limits.
    pub fn write_config(&self, dir: &Path) -> PathBuf {
        let text = std::fs::read_to_string(repo("config/kafka.toml")).unwrap();
        let mut t: toml::Table = toml::from_str(&text).unwrap();
        let s = |v: &str| toml::Value::String(v.to_string());
        let kafka = t["kafka"].as_table_mut().unwrap();
        kafka.insert("brokers".into(), s(&self.brokers));
        let src = kafka["source"].as_table_mut().unwrap();
        src.insert("topics".into(), toml::Value::Array(vec![s(&self.topic)]));
        src.insert("group_id".into(), s(&self.group));
        src.insert("format".into(), s(self.format));
        src.insert("dead_letter_topic".into(), s(&self.dead_letters));
        src.insert(
            "revoke_drain_ms".into(),
            (self.revoke_drain_ms as i64).into(),
        );
        src.insert("commit_interval_ms".into(), 200.into());
        src.insert("pause_after_ms".into(), (self.pause_after_ms as i64).into());
        let opts = src["options"].as_table_mut().unwrap();
        opts.insert(
            "session.timeout.ms".into(),
            (self.session_timeout_ms as i64).into(),
        );
        opts.insert("heartbeat.interval.ms".into(), 500.into());
        if self.api {
            opts.insert("statistics.interval.ms".into(), 500.into());
        }
        let sink = kafka["sink"].as_table_mut().unwrap();
        sink.insert("topic".into(), s(&self.signals));
        let inf = t["inference"].as_table_mut().unwrap();
        inf.insert(
            "channel_capacity".into(),
            (self.channel_capacity as i64).into(),
        );
        if self.api {
            let mut api = toml::Table::new();
            api.insert("enabled".into(), true.into());
            api.insert("bind".into(), s("127.0.0.1:0"));
            t.insert("api".into(), toml::Value::Table(api));
        }
        let path = dir.join(format!("{}.toml", unique("engine")));
        std::fs::write(&path, toml::to_string(&t).unwrap()).unwrap();
        path
    }
}

/// A running engine process; its JSONL output and summary land in `dir`.
pub struct Engine {
    pub child: Child,
    pub out: PathBuf,
    pub summary: PathBuf,
    pub log: PathBuf,
}

impl Engine {
    pub fn spawn(spec: &EngineSpec, dir: &Path, name: &str) -> Self {
        let config = spec.write_config(dir);
        let (out, summary, log) = (
            dir.join(format!("{name}.jsonl")),
            dir.join(format!("{name}.summary.json")),
            dir.join(format!("{name}.log")),
        );
        let logf = std::fs::File::create(&log).unwrap();
        let child = Command::new(bin())
            .current_dir(repo(""))
            .env("RUST_LOG", "info")
            .arg("--config")
            .arg(&config)
            .arg("run")
            .arg("--out")
            .arg(&out)
            .arg("--summary-json")
            .arg(&summary)
            .args(["--stop-when-idle", &spec.idle_secs.to_string()])
            .stdout(Stdio::from(logf.try_clone().unwrap()))
            .stderr(Stdio::from(logf))
            .spawn()
            .expect("spawn the engine");
        Self {
            child,
            out,
            summary,
            log,
        }
    }

    /// Waits for a clean exit (idle limit or SIGTERM) and returns the summary.
    pub fn wait(mut self, limit: Duration) -> Value {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                assert!(status.success(), "engine failed ({status}):\n{log}");
                let text = std::fs::read_to_string(&self.summary).unwrap();
                return serde_json::from_str(&text).unwrap();
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!("engine still running after {limit:?}:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Signals the engine wrote to its JSONL file so far.
    pub fn lines(&self) -> usize {
        std::fs::read_to_string(&self.out).map_or(0, |t| t.lines().count())
    }

    pub fn sigterm(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

/// One message of the signals topic as the Python client saw it.
#[derive(Debug, Clone)]
pub struct Consumed {
    pub key: String,
    pub value: Value,
    pub headers: BTreeMap<String, String>,
    pub partition: i64,
    pub offset: i64,
}

/// Every message of `topic`, read from the start by `scripts/consume_signals.py --raw`
/// (confluent-kafka), until it has been idle for `idle_secs`.
pub fn consume(env: &KafkaEnv, brokers: &str, topic: &str, idle_secs: f64) -> Vec<Consumed> {
    let out = Command::new(&env.python)
        .arg(repo("scripts/consume_signals.py"))
        .args([
            "--brokers",
            brokers,
            "--topic",
            topic,
            "--from-beginning",
            "--raw",
        ])
        .args(["--idle-exit", &idle_secs.to_string()])
        .output()
        .expect("run scripts/consume_signals.py");
    assert!(
        out.status.success(),
        "consume_signals.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            Consumed {
                key: v["key"].as_str().unwrap().to_string(),
                headers: serde_json::from_value(v["headers"].clone()).unwrap(),
                partition: v["partition"].as_i64().unwrap(),
                offset: v["offset"].as_i64().unwrap(),
                value: v["value"].clone(),
            }
        })
        .collect()
}

/// What a file replay of `data` emits (the reference the Kafka path must reproduce), by
/// signal_id.
pub fn replay_expected(data: &[PathBuf], dir: &Path) -> BTreeMap<String, Value> {
    let out = dir.join(format!("{}.jsonl", unique("replay")));
    let res = Command::new(bin())
        .current_dir(repo(""))
        .args(["replay", "--out"])
        .arg(&out)
        .arg("--data")
        .args(data)
        .output()
        .unwrap();
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["signal_id"].as_str().unwrap().to_string(), v)
        })
        .collect()
}

/// The demo's kline files for `symbols` (e.g. `["ALGO", "AVAX"]`).
pub fn demo_files(symbols: &[&str]) -> Vec<PathBuf> {
    symbols
        .iter()
        .map(|s| {
            repo(&format!(
                "tests/fixtures/klines/demo/{s}USDT-1m-2026-02.csv.gz"
            ))
        })
        .collect()
}

/// What [`check_against_replay`] found.
#[derive(Debug, Default)]
pub struct Agreement {
    /// Messages that repeated a signal_id (at-least-once duplicates).
    pub duplicates: usize,
    /// Largest |p_profitable - replay's|.
    pub max_p_diff: f64,
}

/// Asserts that `got` holds every expected signal with the replay's values, p_profitable within
/// `tol` (0 for an uninterrupted run; a partition that moved re-warms its indicators from a
/// bounded span, so EMA-type states differ from the full history's by a little).
pub fn check_against_replay(
    got: &[Consumed],
    expected: &BTreeMap<String, Value>,
    tol: f64,
) -> Agreement {
    let mut seen: BTreeMap<&str, &Value> = BTreeMap::new();
    let mut out = Agreement::default();
    for m in got {
        let id = m.value["signal_id"].as_str().unwrap();
        let want = expected
            .get(id)
            .unwrap_or_else(|| panic!("signal {id} is not one the replay emits"));
        let (p, q) = (
            m.value["p_profitable"].as_f64().unwrap(),
            want["p_profitable"].as_f64().unwrap(),
        );
        assert!((p - q).abs() <= tol, "{id}: p_profitable {p} vs replay {q}");
        out.max_p_diff = out.max_p_diff.max((p - q).abs());
        if (q - want["threshold"].as_f64().unwrap()).abs() > tol {
            assert_eq!(m.value["decision"], want["decision"], "{id}: decision");
        }
        for k in ["bar_close_time_ms", "model_version", "symbol", "exchange"] {
            assert_eq!(m.value[k], want[k], "{id}: {k}");
        }
        if tol == 0.0 {
            assert_eq!(m.value["features_valid"], want["features_valid"], "{id}");
            assert_eq!(
                m.value["expected_return_bps"], want["expected_return_bps"],
                "{id}"
            );
        }
        out.duplicates += usize::from(seen.insert(id, &m.value).is_some());
    }
    let missing: Vec<&String> = expected
        .keys()
        .filter(|k| !seen.contains_key(k.as_str()))
        .take(5)
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} expected signals never arrived, e.g. {missing:?}",
        expected.len() - seen.len(),
        expected.len()
    );
    out
}
