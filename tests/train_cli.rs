//! `signal-engine train` end to end on the bundled real training sample (small model, a few
//! epochs): the bundle holds its report, metrics, test predictions and epoch log; the metrics can
//! be recomputed from `predictions.csv`; the manifest names the data by sha256 and the code by
//! commit; the same data, config and seed give the same weights, another seed does not; walk-forward
//! folds test each fold on its own future.

mod common;

use common::*;
use sha2::{Digest, Sha256};
use signal_engine::registry::Manifest;
use std::path::{Path, PathBuf};
use std::process::Command;

const DATA: [&str; 2] = [
    "klines/train/LINKUSDT-1m-2026-02.csv.gz",
    "klines/train/NEARUSDT-1m-2026-02.csv.gz",
];

fn write_config(dir: &Path, seed: u64) -> PathBuf {
    let mut cfg = tiny_config();
    cfg.train.epochs = 3;
    cfg.train.seed = seed;
    cfg.train.sample_stride = 20;
    let p = dir.join(format!("train-{seed}.toml"));
    std::fs::write(&p, toml::to_string(&cfg).unwrap()).unwrap();
    p
}

/// Runs `train`; returns the bundle dir and stdout.
fn train(dir: &Path, config: &Path, name: &str, extra: &[&str]) -> (PathBuf, String) {
    let out = dir.join(name);
    let mut c = Command::new(env!("CARGO_BIN_EXE_signal-engine"));
    c.arg("--config")
        .arg(config)
        .arg("train")
        .arg("--out")
        .arg(&out);
    for d in DATA {
        c.arg("--data").arg(fixture(d));
    }
    let o = c.args(extra).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "train failed: {stderr}");
    (out, String::from_utf8_lossy(&o.stdout).into_owned())
}

fn manifest(bundle: &Path) -> Manifest {
    serde_json::from_str(&std::fs::read_to_string(bundle.join("manifest.json")).unwrap()).unwrap()
}

/// ROC AUC by brute force over all (positive, negative) pairs, ties counting half: an independent
/// check of the engine's rank-sum implementation.
fn auc_by_pairs(p: &[f64], y: &[bool]) -> f64 {
    let pos: Vec<f64> = p
        .iter()
        .zip(y)
        .filter(|(_, l)| **l)
        .map(|(p, _)| *p)
        .collect();
    let mut neg: Vec<f64> = p
        .iter()
        .zip(y)
        .filter(|(_, l)| !**l)
        .map(|(p, _)| *p)
        .collect();
    neg.sort_by(f64::total_cmp);
    let mut wins = 0.0;
    for a in &pos {
        let below = neg.partition_point(|b| b < a) as f64;
        let tied = neg.partition_point(|b| b <= a) as f64 - below;
        wins += below + tied / 2.0;
    }
    wins / (pos.len() as f64 * neg.len() as f64)
}

#[test]
fn train_writes_a_reproducible_self_describing_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), 7);
    let (a, stdout) = train(tmp.path(), &cfg, "a", &[]);
    assert!(stdout.contains("| ROC AUC |"), "{stdout}");
    for f in ["report.md", "metrics.json", "predictions.csv", "epochs.csv"] {
        assert!(a.join(f).is_file(), "{f} missing");
    }
    let m = manifest(&a);
    let report = std::fs::read_to_string(a.join("report.md")).unwrap();
    assert!(report.contains(&m.version) && report.contains("| momentum |"));

    // Provenance: each data file by sha256, the commit, the whole config.
    assert_eq!(m.training.data_files.len(), 2);
    for f in &m.training.data_files {
        let bytes = std::fs::read(&f.path).unwrap();
        assert_eq!(f.sha256, hex_sha(&bytes));
        assert_eq!(f.bytes, bytes.len() as u64);
    }
    assert!(!m.training.git_commit.is_empty());
    assert_eq!(m.training.config["train"]["seed"], 7);
    assert_eq!(m.training.label_summary.exit_take_profit, 0);

    // The test metrics can be recomputed from predictions.csv.
    let mut rd = csv::Reader::from_path(a.join("predictions.csv")).unwrap();
    let header: Vec<String> = rd.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "symbol",
            "bar_close_time_ms",
            "label",
            "p_profitable",
            "expected_return_bps",
            "realized_return_bps",
            "fold"
        ]
    );
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), m.training.test.samples);
    let col = |i: usize| -> Vec<f64> { rows.iter().map(|r| r[i].parse().unwrap()).collect() };
    let (y, p) = (col(2), col(3));
    let y: Vec<bool> = y.iter().map(|&v| v == 1.0).collect();
    let e = &m.metrics.model;
    assert!((auc_by_pairs(&p, &y) - e.roc_auc).abs() < 1e-9);
    let hits = p
        .iter()
        .zip(&y)
        .filter(|(p, y)| (**p >= 0.5) == **y)
        .count();
    assert!((hits as f64 / y.len() as f64 - e.accuracy).abs() < 1e-12);
    let mae = col(4)
        .iter()
        .zip(col(5))
        .map(|(a, b)| (a - b).abs())
        .sum::<f64>()
        / y.len() as f64;
    assert!((mae - e.return_mae_bps.unwrap()).abs() < 1e-6 * mae.max(1.0));
    // One epochs.csv row per epoch run.
    let epochs = std::fs::read_to_string(a.join("epochs.csv")).unwrap();
    assert_eq!(epochs.lines().count(), 1 + m.training.epochs_run);

    // Same data, config and seed: the same weights; another seed: other weights.
    let (b, _) = train(tmp.path(), &cfg, "b", &[]);
    assert_eq!(m.weights_sha256, manifest(&b).weights_sha256);
    assert_eq!(
        std::fs::read(a.join("predictions.csv")).unwrap(),
        std::fs::read(b.join("predictions.csv")).unwrap()
    );
    let (c, _) = train(tmp.path(), &write_config(tmp.path(), 8), "c", &[]);
    assert_ne!(m.weights_sha256, manifest(&c).weights_sha256);
}

#[test]
fn walk_forward_folds_each_test_on_their_future() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), 3);
    let (dir, _) = train(tmp.path(), &cfg, "folds", &["--folds", "3"]);
    let m = manifest(&dir);
    assert_eq!(m.training.folds, 3);
    let folds = &m.metrics.folds;
    assert_eq!(folds.len(), 3);
    for (k, f) in folds.iter().enumerate() {
        assert_eq!(f.fold, k + 1);
        let purge_ms = m.training.purge_bars as i64 * 60_000;
        assert!(
            f.test.from_ms - f.validation.to_ms > purge_ms,
            "fold {}",
            f.fold
        );
        assert!(f.validation.from_ms - f.train.to_ms > purge_ms);
        if k > 0 {
            assert!(f.test.from_ms > folds[k - 1].test.to_ms);
            assert!(f.train.samples > folds[k - 1].train.samples);
        }
    }
    // The bundle is the last fold's model; predictions cover every fold's test block.
    assert_eq!(m.metrics.model, folds[2].model);
    let preds = std::fs::read_to_string(dir.join("predictions.csv")).unwrap();
    let n: usize = folds.iter().map(|f| f.test.samples).sum();
    assert_eq!(preds.lines().count(), 1 + n);
    // The pooled metrics are those of predictions.csv as a whole.
    let all = m.metrics.all_folds.as_ref().expect("pooled fold metrics");
    assert_eq!(all.test_samples, n);
    let rows: Vec<Vec<&str>> = preds
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let y: Vec<bool> = rows.iter().map(|r| r[2] == "1").collect();
    let p: Vec<f64> = rows.iter().map(|r| r[3].parse().unwrap()).collect();
    assert!((auc_by_pairs(&p, &y) - all.model.roc_auc).abs() < 1e-9);
    let fold_col: Vec<usize> = rows.iter().map(|r| r[6].parse().unwrap()).collect();
    assert!(fold_col.windows(2).all(|w| w[0] <= w[1]) && fold_col[0] == 1);
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        report.contains("Walk-forward folds") && report.contains("all walk-forward folds pooled")
    );
}

fn hex_sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
