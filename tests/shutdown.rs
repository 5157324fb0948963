//! Graceful shutdown of a replay: SIGTERM mid-run stops the source, every window already read
//! drains through the model into the sink, the summary is written and the process exits 0.
//! (The Kafka run's shutdown, with its final commit, is `kafka_pipeline.rs`.)
#![allow(clippy::disallowed_methods)] // waits on a real process with wall-clock deadlines

mod common;

use common::{demo_config_text, fixture, sigterm_and_wait};
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn sigterm_drains_a_paced_replay_and_exits_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, summary) = (tmp.path().join("s.jsonl"), tmp.path().join("s.json"));
    let data: Vec<_> = ["LINK", "NEAR"]
        .iter()
        .map(|s| fixture(&format!("klines/demo/{s}USDT-1m-2026-02.csv.gz")))
        .collect();
    // 1,440 bars of one day at 600× take 144 s: SIGTERM comes long before the end.
    let mut child = Command::new(env!("CARGO_BIN_EXE_signal-engine"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["replay", "--speed", "600", "--out"])
        .arg(&out)
        .arg("--summary-json")
        .arg(&summary)
        .arg("--data")
        .args(&data)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lines = || std::fs::read_to_string(&out).map_or(0, |t| t.lines().count());
    let t0 = Instant::now();
    while lines() < 20 {
        assert!(t0.elapsed() < Duration::from_secs(120), "no signals yet");
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = sigterm_and_wait(&mut child, Duration::from_secs(60));
    assert!(status.success(), "exit status {status}");
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    for l in text.lines() {
        serde_json::from_str::<serde_json::Value>(l).expect("every line whole");
    }
    let n = text.lines().count() as u64;
    assert_eq!(
        s["signals"].as_u64(),
        Some(n),
        "the summary counts what the sink wrote"
    );
    assert!(n < 2 * 1_400, "stopped early: {n} signals");
    assert!(
        s["stages"]["end_to_end"]["count"].as_u64() == Some(n),
        "{}",
        s["stages"]
    );
}

/// SIGTERM while the shadow trainer is in a long refit: the refit is cancelled (not reported as
/// a failure), no new one starts, and the replay drains and exits 0 without waiting for it.
#[test]
fn sigterm_cancels_a_refit_in_flight() {
    let tmp = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let registry = tmp.path().join("registry");
    let config = tmp.path().join("shadow.toml");
    let text = demo_config_text(Some(&registry))
        + "\n[shadow]\nenabled = true\nrefit_every_labels = 600\nmin_train_windows = 600\n\
           buffer_windows = 2000\nepochs = 1000\neval_windows = 50\n";
    std::fs::write(&config, text).unwrap();
    let (out, summary, log) = (
        tmp.path().join("s.jsonl"),
        tmp.path().join("s.json"),
        tmp.path().join("log.txt"),
    );
    let data: Vec<_> = ["LINK", "NEAR"]
        .iter()
        .map(|s| fixture(&format!("klines/demo/{s}USDT-1m-2026-02.csv.gz")))
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_signal-engine"))
        .current_dir(root)
        .arg("--config")
        .arg(&config)
        .args(["replay", "--out"])
        .arg(&out)
        .arg("--summary-json")
        .arg(&summary)
        .arg("--data")
        .args(&data)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("shadow refit started")
    {
        assert!(child.try_wait().unwrap().is_none(), "ended before a refit");
        assert!(t0.elapsed() < Duration::from_secs(300), "no refit started");
        std::thread::sleep(Duration::from_millis(100));
    }
    // A hang guard, not a speed goal: 1,000 epochs of the default model take far longer.
    let status = sigterm_and_wait(&mut child, Duration::from_secs(120));
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "exit status {status}: {logged}");
    assert!(
        logged.contains("shadow refit cancelled by shutdown"),
        "{logged}"
    );
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let shadow = &s["shadow"];
    assert_eq!(shadow["refits"], 1, "{shadow}");
    assert_eq!(
        shadow["refit_failures"], 0,
        "a cancel is not a failure: {shadow}"
    );
}
