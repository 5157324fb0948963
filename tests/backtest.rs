//! `signal-engine backtest` on the real binary: two runs give byte-identical files; its signals
//! are `replay`'s (the same code path) but for the wall-clock `latency_us`; the report adds up
//! (trades.csv against report.json, per symbol against overall).
#![allow(clippy::disallowed_methods)] // runs real processes

mod common;

use common::{demo_config_text, fixture};
use std::path::Path;
use std::process::Command;

fn engine(dir: &Path, args: &[&str]) {
    let config = dir.join("bt.toml");
    if !config.exists() {
        std::fs::write(&config, demo_config_text(None)).unwrap();
    }
    let data: Vec<_> = ["LINK", "NEAR"]
        .iter()
        .map(|s| fixture(&format!("klines/demo/{s}USDT-1m-2026-02.csv.gz")))
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_signal-engine"))
        .current_dir(dir)
        .arg("--config")
        .arg(&config)
        .args(args)
        .arg("--data")
        .args(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn backtests_are_deterministic_and_use_the_replays_signals() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    engine(dir, &["backtest", "--out", "a"]);
    engine(dir, &["backtest", "--out", "b"]);
    for f in ["report.json", "report.md", "trades.csv", "signals.jsonl"] {
        let (a, b) = (
            std::fs::read(dir.join("a").join(f)).unwrap(),
            std::fs::read(dir.join("b").join(f)).unwrap(),
        );
        assert!(!a.is_empty(), "{f} is empty");
        assert!(a == b, "{f} differs between two runs");
    }

    // The backtest's signals are replay's, latency aside.
    engine(dir, &["replay", "--out", "replay.jsonl"]);
    let read = |p: &Path| -> Vec<serde_json::Value> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["latency_us"] = 0.into();
                v
            })
            .collect()
    };
    let (bt, rp) = (
        read(&dir.join("a/signals.jsonl")),
        read(&dir.join("replay.jsonl")),
    );
    assert!(bt.len() > 1_000, "{} signals", bt.len());
    assert_eq!(bt, rp);

    // The report adds up.
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("a/report.json")).unwrap()).unwrap();
    let mut rows = csv::Reader::from_path(dir.join("a/trades.csv")).unwrap();
    let pnl: Vec<f64> = rows
        .records()
        .map(|r| r.unwrap()[11].parse().unwrap())
        .collect();
    assert_eq!(r["overall"]["trades"], pnl.len() as u64);
    assert_eq!(r["simulation"]["trades"], pnl.len() as u64);
    let net = r["overall"]["net_profit"].as_f64().unwrap();
    assert!((pnl.iter().sum::<f64>() - net).abs() < 1e-3, "{net}");
    let per: u64 = r["per_symbol"]
        .as_object()
        .unwrap()
        .values()
        .map(|s| s["trades"].as_u64().unwrap())
        .sum();
    assert_eq!(per, pnl.len() as u64);
    assert_eq!(r["signals"], bt.len() as u64);
    assert_eq!(r["symbols"].as_array().unwrap().len(), 2);
    assert_eq!(r["baselines"]["buy_and_hold"]["trades"], 2);
    assert_eq!(r["sweep"].as_array().unwrap().len(), 11);
    let cal: u64 = r["quality"]["calibration"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    assert_eq!(cal, r["quality"]["labelled"].as_u64().unwrap());
}
