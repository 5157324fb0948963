//! `signal-engine backtest` on the real binary: two runs give byte-identical files; its signals
//! are `replay`'s (the same code path) but for the wall-clock `latency_us`; the report adds up
//! (trades.csv against report.json, per symbol against overall). The causality audit catches a
//! planted feature that peeks one bar ahead and passes the engine; a config naming a feature
//! outside the causal catalogue is refused.
#![allow(clippy::disallowed_methods)] // runs real processes

mod common;

use common::{demo_config_text, fixture, read_events};
use signal_engine::backtest::audit::{WindowSource, audit, spread};
use signal_engine::event::{EventKind, MarketEvent};
use signal_engine::features::{FeatureEngine, FeatureSpec, StatePolicy, Window};
use signal_engine::trainer::Dataset;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

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

    // The plots: a 1200×800 PNG and an SVG of each, the same on both runs, drawing the report's
    // numbers.
    for name in ["equity", "calibration", "sweep"] {
        let png = std::fs::read(dir.join(format!("a/{name}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name}.png");
        let size = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
        assert_eq!((size(16), size(20)), (1200, 800), "{name}.png");
        let svg = std::fs::read_to_string(dir.join(format!("a/{name}.svg"))).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        for ext in ["png", "svg"] {
            let f = format!("{name}.{ext}");
            assert!(
                std::fs::read(dir.join("a").join(&f)).unwrap()
                    == std::fs::read(dir.join("b").join(&f)).unwrap(),
                "{f} differs between two runs"
            );
        }
    }
    let svg = std::fs::read_to_string(dir.join("a/equity.svg")).unwrap();
    let total = 100.0 * r["overall"]["total_return"].as_f64().unwrap();
    assert!(svg.contains(&format!("model {total:+.2} %")), "{total}");
    assert!(svg.matches("<polyline").count() >= 3);
}

/// A planted leak: a window source that holds each window back until its symbol's next bar,
/// then writes that next bar's log return into the window's last row (a feature that peeks one
/// bar ahead). The audit catches it at every audited bar; the engine itself passes.
struct Peeking {
    inner: FeatureEngine,
    held: HashMap<String, Window>,
}

impl WindowSource for Peeking {
    fn on_event(&mut self, ev: &MarketEvent) -> Option<Window> {
        let fresh = self.inner.on_event(ev);
        let mut out = None;
        if let EventKind::Bar(b) = &ev.kind
            && let Some(mut w) = self.held.remove(ev.symbol.as_str())
        {
            let last_row = w.data.len() - w.n_features;
            w.data[last_row] = (b.close / w.close).ln() as f32;
            out = Some(w);
        }
        if let Some(w) = fresh {
            self.held.insert(w.symbol.to_string(), w);
        }
        out
    }

    fn flush(&mut self) -> Vec<Window> {
        let mut v = self.inner.flush();
        v.extend(self.held.drain().map(|(_, w)| w));
        v
    }
}

#[test]
fn the_causality_audit_catches_a_feature_that_peeks_one_bar_ahead() {
    let events = read_events(&[fixture("klines/demo/LINKUSDT-1m-2026-02.csv.gz")]);
    let spec = FeatureSpec::new(&FeatureSpec::default_names()).unwrap();
    let policy = StatePolicy::strict(60_000, 30);
    let labels = signal_engine::config::LabelsConfig::default();
    let ds = Dataset::build(events.iter().cloned(), &spec, policy, &labels);
    let scaler = Arc::new(ds.fit_scaler(&spec, i64::MAX, 10.0).unwrap());
    let engine = || FeatureEngine::new(spec.clone(), scaler.clone(), policy);
    // Every bar the engine emits a window for, spread: 6 of them.
    let mut all = Vec::new();
    let mut e = engine();
    for ev in &events {
        if let Some(w) = e.on_event(ev) {
            all.push((w.exchange, w.symbol.clone(), w.bar_close_time_ms));
        }
    }
    let points = spread(all, 6);
    assert_eq!(points.len(), 6);

    let honest = audit(&events, &points, engine);
    assert_eq!(honest.checked, 6);
    assert!(honest.leaks.is_empty(), "{:?}", honest.leaks);

    let leaky = audit(&events, &points, || Peeking {
        inner: engine(),
        held: HashMap::new(),
    });
    assert_eq!(leaky.checked, 6);
    assert_eq!(leaky.leaks.len(), 6, "{:?}", leaky.leaks);
    assert!(leaky.leaks[0].contains("differs"), "{:?}", leaky.leaks);
}

/// A feature that is not built from the causal path cannot be named: the config is refused
/// before any data is read, naming the key and the file.
#[test]
fn a_config_naming_a_non_causal_feature_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let text = demo_config_text(None).replacen(
        "\"log_return_1\",",
        "\"log_return_1\", \"future_return_1\",",
        1,
    );
    assert!(text.contains("future_return_1"));
    std::fs::write(tmp.path().join("bt.toml"), text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_signal-engine"))
        .current_dir(tmp.path())
        .args(["--config", "bt.toml", "backtest", "--out", "o"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("features.names")
            && err.contains("future_return_1")
            && err.contains("bt.toml"),
        "{err}"
    );
}

/// Walk-forward on the demo day with a tiny recipe: every fold trains on its window only, every
/// counted signal lies in its fold's test window, after that fold's training data and purge.
#[test]
fn walk_forward_trades_each_fold_after_its_training_window() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut cfg = common::tiny_config();
    cfg.train.sample_stride = 5;
    cfg.backtest.random_seeds = 3;
    std::fs::write(dir.join("bt.toml"), toml::to_string(&cfg).unwrap()).unwrap();
    engine(
        dir,
        &[
            "backtest",
            "--out",
            "wf",
            "--walk-forward",
            "train=10h,test=6h",
        ],
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("wf/report.json")).unwrap())
            .unwrap();
    let folds = r["walk_forward"].as_array().unwrap();
    assert_eq!(folds.len(), 3, "{folds:?}");
    let purge_ms = (cfg.labels.horizon_bars + cfg.features.seq_len) as i64 * 60_000;
    let signals: Vec<serde_json::Value> = std::fs::read_to_string(dir.join("wf/signals.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!signals.is_empty());
    let mut counted = 0;
    for f in folds {
        let i = |k: &str| f[k].as_i64().unwrap();
        assert_eq!(i("test_from_ms"), i("train_to_ms") + purge_ms, "{f}");
        assert!(
            dir.join(format!("wf/folds/{}/model/manifest.json", f["fold"]))
                .is_file()
        );
        let inside: Vec<_> = signals
            .iter()
            .filter(|s| s["model_version"] == f["model_version"])
            .collect();
        for s in &inside {
            let t = s["bar_close_time_ms"].as_i64().unwrap();
            assert!(
                (i("test_from_ms")..i("test_to_ms")).contains(&t),
                "{s} outside {f}"
            );
        }
        assert_eq!(inside.len() as u64, f["signals"].as_u64().unwrap());
        counted += inside.len();
    }
    assert_eq!(counted, signals.len());
    assert_eq!(r["signals"], signals.len() as u64);
    for f in ["equity.png", "equity.svg", "calibration.svg", "sweep.svg"] {
        assert!(dir.join("wf").join(f).is_file(), "{f}");
    }
}
