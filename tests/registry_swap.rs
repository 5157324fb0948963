//! Atomic model swaps under load: a replay at full speed served from a registry whose `CURRENT`
//! moves every 100 ms (promotions, a rollback, a corrupt bundle): no inference fails, every
//! signal names one version, versions follow the order `CURRENT` took, no batch mixes versions,
//! and a corrupt bundle is refused while the champion keeps serving. Also `signal-engine models`.
#![allow(clippy::disallowed_methods)] // the swapper paces itself on the wall clock

mod common;

use common::*;
use signal_engine::app::{ReplayJob, Speed, run_replay};
use signal_engine::features::FeatureSpec;
use signal_engine::infer::{BatchClock, InferenceStage, SignalBatch};
use signal_engine::registry::{Action, Registry, live, load_bundle};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A registry holding the tiny bundle (imported, serving) and `n` more versions with the same
/// weights and scaler (so every version must give the same p for the same window).
fn registry_with_versions(dir: &Path, n: usize) -> (signal_engine::config::Config, Vec<String>) {
    let mut cfg = tiny_config();
    let bundle = dir.join("bundle");
    train_tiny_bundle(&cfg, &bundle);
    let reg_dir = dir.join("registry");
    let reg = Registry::open(&reg_dir).unwrap();
    let first = reg.import(&bundle).unwrap();
    reg.set_current(&first, Action::Import, "test").unwrap();
    let spec = FeatureSpec::new(&cfg.features.names).unwrap();
    let model = load_bundle(&bundle, &spec).unwrap();
    let mut versions = vec![first];
    for i in 1..=n {
        let v = format!("swap-{i}");
        save_as_version(&reg, &model, &v, versions.last().cloned());
        versions.push(v);
    }
    cfg.model.registry = Some(reg_dir);
    cfg.model.watch_interval_ms = 10;
    (cfg, versions)
}

/// A bundle whose weights no longer match their sha256 (as a half-copied deploy leaves it).
fn corrupt_copy(reg: &Registry, of: &str, name: &str) {
    let (src, dst) = (reg.bundle_dir(of), reg.bundle_dir(name));
    std::fs::create_dir_all(&dst).unwrap();
    for f in std::fs::read_dir(&src).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), dst.join(f.file_name())).unwrap();
    }
    let text = std::fs::read_to_string(dst.join("manifest.json")).unwrap();
    let text = text.replace(
        &format!("\"version\": \"{of}\""),
        &format!("\"version\": \"{name}\""),
    );
    std::fs::write(dst.join("manifest.json"), text).unwrap();
    let mpk = dst.join("model.mpk");
    let mut bytes = std::fs::read(&mpk).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&mpk, bytes).unwrap();
}

fn replay(cfg: &signal_engine::config::Config, out: &Path) -> signal_engine::app::Summary {
    let data: Vec<PathBuf> = ["ALGO", "AVAX", "DOT", "FIL", "LINK", "NEAR"]
        .iter()
        .map(|s| fixture(&format!("klines/demo/{s}USDT-1m-2026-02.csv.gz")))
        .collect();
    let job = ReplayJob {
        config: cfg.clone(),
        config_name: "swap test".into(),
        input: Default::default(),
        data,
        model_dir: cfg.model.dir.clone(), // imported into an empty registry, else unused
        out: Some(out.to_path_buf()),
        speed: Speed::Max,
    };
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(run_replay(job))
        .unwrap()
}

fn signals(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Is `a` (consecutive repeats collapsed) a subsequence of `b`?
fn follows(a: &[String], b: &[String]) -> bool {
    let mut runs: Vec<&String> = Vec::new();
    for v in a {
        if runs.last() != Some(&v) {
            runs.push(v);
        }
    }
    let mut it = b.iter();
    runs.iter().all(|v| it.any(|w| w == *v))
}

#[test]
fn swaps_under_load_fail_nothing_and_move_only_as_current_moves() {
    let tmp = tempfile::tempdir().unwrap();
    let (cfg, versions) = registry_with_versions(tmp.path(), 4);
    let reg = Registry::open(cfg.model.registry.as_ref().unwrap()).unwrap();
    corrupt_copy(&reg, &versions[1], "corrupt");

    // The same replay without swaps: the reference every swapped run must reproduce.
    let mut fixed = cfg.clone();
    fixed.model.registry = None;
    fixed.model.dir = reg.bundle_dir(&versions[0]);
    let plain_out = tmp.path().join("plain.jsonl");
    replay(&fixed, &plain_out);
    let plain: BTreeMap<(String, i64), f64> = signals(&plain_out)
        .iter()
        .map(|s| {
            let key = (
                s["symbol"].as_str().unwrap().to_string(),
                s["bar_close_time_ms"].as_i64().unwrap(),
            );
            (key, s["p_profitable"].as_f64().unwrap())
        })
        .collect();

    // CURRENT moves every 100 ms: up the versions, one rollback, a corrupt bundle (written the
    // way a broken deploy would, bypassing `set_current`'s check), then round again.
    let stop = Arc::new(AtomicBool::new(false));
    let (reg2, vs, stop2) = (reg.clone(), versions.clone(), stop.clone());
    let swapper = std::thread::spawn(move || {
        let mut applied = vec![vs[0].clone()];
        let mut i = 0usize;
        while !stop2.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
            match i % 7 {
                5 => {
                    let e = reg2.rollback(Action::Rollback, "test").unwrap();
                    applied.push(e.version);
                }
                6 => std::fs::write(reg2.root().join("CURRENT"), "corrupt\n").unwrap(),
                k => {
                    let v = vs[(k % (vs.len() - 1)) + 1].clone();
                    reg2.set_current(&v, Action::Promote, "test").unwrap();
                    applied.push(v);
                }
            }
            i += 1;
        }
        applied
    });
    let out = tmp.path().join("swapped.jsonl");
    let summary = replay(&cfg, &out);
    stop.store(true, Ordering::Relaxed);
    let applied = swapper.join().unwrap();

    let got = signals(&out);
    assert_eq!(got.len(), plain.len(), "every window scored, none failed");
    let models = summary.models.expect("served from a registry");
    eprintln!(
        "{} signals, {models:?}, CURRENT took {} values",
        got.len(),
        applied.len()
    );
    assert!(
        models.swaps >= 3,
        "the replay must overlap several swaps: {models:?}"
    );
    if applied.len() > 6 {
        assert!(models.rejected >= 1, "the corrupt bundle must be refused");
        let err = models.last_error.unwrap_or_default();
        assert!(
            err.contains("corrupt") && err.contains("keeps serving"),
            "{err}"
        );
    }
    let seen: Vec<String> = got
        .iter()
        .map(|s| s["model_version"].as_str().unwrap().to_string())
        .collect();
    assert!(
        seen.iter().all(|v| versions.contains(v)),
        "only loaded versions serve"
    );
    assert!(
        follows(&seen, &applied),
        "versions follow CURRENT: {applied:?}"
    );
    for s in &got {
        let key = (
            s["symbol"].as_str().unwrap().to_string(),
            s["bar_close_time_ms"].as_i64().unwrap(),
        );
        assert_eq!(
            s["p_profitable"].as_f64(),
            plain.get(&key).copied(),
            "{key:?}"
        );
    }
}

/// At the inference stage itself, where batches are visible: a thread swapping the live model
/// as fast as it can never splits a batch between versions.
#[test]
fn no_batch_mixes_versions() {
    with_big_stack(no_batch_mixes_versions_body);
}

fn no_batch_mixes_versions_body() {
    let tmp = tempfile::tempdir().unwrap();
    let (cfg, versions) = registry_with_versions(tmp.path(), 1);
    let reg = Registry::open(cfg.model.registry.as_ref().unwrap()).unwrap();
    let spec = FeatureSpec::new(&cfg.features.names).unwrap();
    let load = |v: &str| Arc::new(load_bundle(&reg.bundle_dir(v), &spec).unwrap());
    let (a, b) = (load(&versions[0]), load(&versions[1]));
    let windows = demo_windows(&cfg, &reg.bundle_dir(&versions[0]));
    let model = live(load_bundle(&reg.bundle_dir(&versions[0]), &spec).unwrap());
    let stage = InferenceStage {
        model: model.clone(),
        max_batch: 8,
        max_wait_us: 1_000_000,
        batch_clock: BatchClock::Event,
        emit_clock: signal_engine::clock::EmitClock::Replay,
        skip_forward: false,
        schedule: None,
        metrics: signal_engine::telemetry::live::LiveMetrics::new(),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let swapper = std::thread::spawn(move || {
        let mut n = 0u64;
        while !stop2.load(Ordering::Relaxed) {
            model.store(if n.is_multiple_of(2) {
                b.clone()
            } else {
                a.clone()
            });
            n += 1;
            std::thread::yield_now();
        }
        n
    });
    let rt = tokio::runtime::Runtime::new().unwrap();
    let batches: Vec<SignalBatch> = rt.block_on(async {
        let (wtx, wrx) = tokio::sync::mpsc::channel(64);
        let (stx, mut srx) = tokio::sync::mpsc::channel(64);
        let task = tokio::spawn(stage.run(wrx, stx));
        let n = windows.len();
        tokio::spawn(async move {
            for w in windows {
                wtx.send(stamped(w)).await.unwrap();
            }
        });
        let mut out = Vec::new();
        while let Some(b) = srx.recv().await {
            out.push(b);
        }
        task.await.unwrap().unwrap();
        assert_eq!(out.iter().map(|b| b.signals.len()).sum::<usize>(), n);
        out
    });
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    let mut per_version = BTreeMap::new();
    for b in &batches {
        let v = &b.signals[0].model_version;
        assert!(
            b.signals.iter().all(|s| &s.model_version == v),
            "a batch mixed versions"
        );
        *per_version.entry(v.clone()).or_insert(0) += 1;
    }
    eprintln!(
        "{} batches, {swaps} swaps, batches per version {per_version:?}",
        batches.len()
    );
    assert_eq!(per_version.len(), 2, "both versions served batches");
}

fn models(reg: &Path, args: &[&str]) -> (bool, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_signal-engine"))
        .arg("--config")
        .arg(reg.join("engine.toml"))
        .arg("models")
        .arg("--registry")
        .arg(reg)
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    (o.status.success(), text)
}

#[test]
fn models_cli_lists_promotes_rolls_back_and_refuses_a_corrupt_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    let (cfg, versions) = registry_with_versions(tmp.path(), 2);
    let root = cfg.model.registry.clone().unwrap();
    std::fs::write(root.join("engine.toml"), toml::to_string(&cfg).unwrap()).unwrap();
    let reg = Registry::open(&root).unwrap();
    corrupt_copy(&reg, &versions[1], "corrupt");

    let (ok, text) = models(&root, &["list"]);
    assert!(ok, "{text}");
    assert!(text.contains(&format!("* {}", versions[0])), "{text}");
    assert!(text.contains("swap-2"), "{text}");

    let (ok, text) = models(&root, &["promote", "swap-1"]);
    assert!(ok && text.contains("serving swap-1"), "{text}");
    let (ok, text) = models(&root, &["promote", "swap-2", "--reason", "better"]);
    assert!(ok, "{text}");
    let (ok, text) = models(&root, &["promote", "corrupt"]);
    assert!(!ok && text.contains("cannot serve"), "{text}");
    assert_eq!(
        reg.current().unwrap().as_deref(),
        Some("swap-2"),
        "a refused promote moves nothing"
    );

    let (ok, text) = models(&root, &["rollback"]);
    assert!(ok && text.contains("serving swap-1 (was swap-2)"), "{text}");
    let (ok, text) = models(&root, &["inspect", "swap-2"]);
    assert!(
        ok && text.contains("better") && text.contains("logistic"),
        "{text}"
    );
    let (ok, text) = models(&root, &["list", "--json"]);
    assert!(ok, "{text}");
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let current: Vec<&str> = rows
        .iter()
        .filter(|r| r["current"] == true)
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    assert_eq!(current, ["swap-1"]);
}
