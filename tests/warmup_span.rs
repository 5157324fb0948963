//! How much history a moved Kafka partition needs. The new owner re-reads `warmup_bars` bars
//! (indicator look-back + T + the gap allowance) before its first live message; indicators with
//! infinite memory (EMAs in MACD, Wilder's RSI and ATR) then start from a different state than
//! an uninterrupted run's. This measures that difference on real bars through the real binary:
//! a replay that starts `warmup_bars` before a cut point against the full day.
#![allow(clippy::disallowed_methods)] // tests wait on real processes with wall-clock deadlines

mod common;

use common::kafka::{bin, demo_files, repo};
use signal_engine::config::Config;
use signal_engine::features::{FeatureEngine, FeatureSpec, Scaling};
use signal_engine::registry::load_bundle;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

fn replay(data: &Path, out: &Path) -> BTreeMap<i64, f64> {
    let res = Command::new(bin())
        .current_dir(repo(""))
        .args(["replay", "--out"])
        .arg(out)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap();
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    std::fs::read_to_string(out)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["bar_close_time_ms"].as_i64().unwrap(),
                v["p_profitable"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_warmup_span_re_read_gives_the_full_historys_signals_closely() {
    let cfg = Config::load(None).unwrap().0;
    let spec = FeatureSpec::new(&cfg.features.names).unwrap();
    let model = load_bundle(&repo("models/default"), &spec).unwrap();
    let engine = FeatureEngine::new(
        spec,
        Scaling::Fitted(Arc::new(model.scaler)),
        cfg.features.policy(),
    );
    let span = engine.warmup_bars();
    assert!(span > cfg.features.seq_len, "{span}");

    let files = demo_files(&["LINK"]);
    let events = common::read_events(&files);
    let cut = 1_200;
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("from-span.jsonl");
    let mut f = std::fs::File::create(&part).unwrap();
    for ev in &events[cut - span..] {
        writeln!(f, "{}", serde_json::to_string(ev).unwrap()).unwrap();
    }
    drop(f);
    let full = replay(&files[0], &dir.path().join("full.jsonl"));
    let moved = replay(&part, &dir.path().join("moved.jsonl"));
    let first_live = events[cut].ts_event_ns / 1_000_000;
    let live: Vec<(&i64, &f64)> = full.range(first_live..).collect();
    assert_eq!(
        live.len(),
        events.len() - cut,
        "every bar from the cut has a signal"
    );
    let mut max_diff: f64 = 0.0;
    for (t, p) in live {
        let q = moved
            .get(t)
            .unwrap_or_else(|| panic!("bar {t}: no signal after the span"));
        max_diff = max_diff.max((p - q).abs());
    }
    eprintln!(
        "warm-up span {span} bars: max |p - p_full| = {max_diff:.2e} over {} signals",
        events.len() - cut
    );
    assert!(max_diff < 1e-4, "{max_diff}");
}
