//! The shadow trainer on a regime change with known structure: bars whose 1-minute returns trend
//! (AR(1), φ = +0.6) and then revert (φ = −0.6). A champion trained on the trending regime ranks
//! the reverting one backwards; the engine, replaying the spliced data with the shadow trainer
//! on, must refit, promote the refit (saved to the registry, swapped in, signals after it name
//! it), and keep it through probation. A challenger trained on shuffled labels must never beat a
//! good champion. (A corrupt bundle is refused while the champion serves: `registry_swap.rs`.)

mod common;

use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use signal_engine::app::{ReplayJob, Speed, run_replay};
use signal_engine::config::{Config, ShadowConfig};
use signal_engine::event::MarketEvent;
use signal_engine::features::FeatureSpec;
use signal_engine::registry::{Action, Registry, load_bundle};
use signal_engine::trainer::Dataset;
use signal_engine::trainer::shadow::buffer::Snapshot;
use signal_engine::trainer::shadow::resolver::Labelled;
use signal_engine::trainer::shadow::{decide, refit, refit_config, score};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

const MINUTE_MS: i64 = 60_000;
/// 2026-01-01T00:00:00Z.
const START_MS: i64 = 1_767_225_600_000;

/// One symbol's bars as OHLCV CSV: `phis[i]` is the AR(1) coefficient of bar i's return.
fn write_bars(path: &Path, phis: &[f64], seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut f = std::fs::File::create(path).unwrap();
    writeln!(f, "timestamp,open,high,low,close,volume").unwrap();
    let (mut close, mut r) = (100.0f64, 0.0f64);
    for (i, phi) in phis.iter().enumerate() {
        let noise: f64 = rng.random_range(-1.0..1.0) + rng.random_range(-1.0..1.0);
        r = phi * r + 0.001 * noise;
        let open = close;
        close = open * r.exp();
        let wick = 1.0 + 0.0002 * rng.random_range(0.0..1.0);
        let (hi, lo) = (open.max(close) * wick, open.min(close) / wick);
        let volume = 100.0 + 50.0 * rng.random_range(0.0..1.0);
        let t = START_MS + i as i64 * MINUTE_MS;
        writeln!(f, "{t},{open:.6},{hi:.6},{lo:.6},{close:.6},{volume:.3}").unwrap();
    }
}

fn config() -> Config {
    let mut c = tiny_config();
    c.features.seq_len = 8;
    c.features.names = ["log_return_1", "log_return_5", "rsi_6", "volume_z_20"]
        .map(String::from)
        .to_vec();
    c.labels.horizon_bars = 1;
    c.labels.round_trip_fee_bps = 0.0;
    c.train.epochs = 4;
    c.train.warmup_epochs = 1;
    c.train.sample_stride = 1;
    c.train.learning_rate = 3e-3;
    c.inference.max_batch = 32;
    c
}

/// Trend-regime training data, and replay data that switches from trend to reversion.
fn data(dir: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let (mut train, mut replay) = (Vec::new(), Vec::new());
    for (k, sym) in ["SYNAUSDT", "SYNBUSDT"].iter().enumerate() {
        let t = dir.join(format!("train/{sym}-1m.csv"));
        let r = dir.join(format!("replay/{sym}-1m.csv"));
        std::fs::create_dir_all(t.parent().unwrap()).unwrap();
        std::fs::create_dir_all(r.parent().unwrap()).unwrap();
        write_bars(&t, &[0.6; 3000], 10 + k as u64);
        let mut phis = vec![0.6; 100];
        phis.extend([-0.6; 3400]);
        write_bars(&r, &phis, 20 + k as u64);
        train.push(t);
        replay.push(r);
    }
    (train, replay)
}

fn events(paths: &[PathBuf]) -> Vec<MarketEvent> {
    read_events(paths)
}

/// The trend-trained champion, as the first version of a registry.
fn champion(cfg: &Config, train_data: &[PathBuf], dir: &Path) -> (Registry, String) {
    let bundle = dir.join("champion");
    train_bundle(cfg, events(train_data), &bundle);
    let reg = Registry::open(&dir.join("registry")).unwrap();
    let v = reg.import(&bundle).unwrap();
    reg.set_current(&v, Action::Import, "trend champion")
        .unwrap();
    (reg, v)
}

fn shadow_config(cfg: &mut Config, reg: &Registry) {
    cfg.model.registry = Some(reg.root().to_path_buf());
    cfg.model.watch_interval_ms = 50;
    let s = &mut cfg.shadow;
    s.enabled = true;
    s.refit_every_labels = 2_000;
    s.min_train_windows = 1_000;
    s.buffer_windows = 3_000;
    s.eval_windows = 400;
    // Eight epochs, not four: a refit warm-started from the confidently wrong trend champion first
    // collapses towards the base rate (log loss ≈ ln 2) and needs the later epochs to learn the
    // reversion; with four, CI saw every refit of a run stay collapsed.
    s.epochs = 8;
    s.learning_rate = 3e-3;
    s.batch_size = 64;
    s.min_auc_gain = 0.02;
    // Refits warm-started on a buffer that mixes both regimes come out somewhat mis-calibrated on
    // the new one (0.04–0.10 beyond chance, measured in CI); a weak first refit that says ~0.5
    // everywhere would otherwise hold the champion's seat against them.
    s.max_calibration_excess = 0.10;
}

#[test]
fn a_refit_after_a_regime_change_is_promoted_kept_and_served() {
    with_big_stack(a_refit_after_a_regime_change_is_promoted_kept_and_served_body);
}

fn a_refit_after_a_regime_change_is_promoted_kept_and_served_body() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = config();
    let (train_data, replay_data) = data(tmp.path());
    let (reg, first) = champion(&cfg, &train_data, tmp.path());
    shadow_config(&mut cfg, &reg);
    let out = tmp.path().join("signals.jsonl");
    let job = ReplayJob {
        config: cfg.clone(),
        config_name: "shadow test".into(),
        input: Default::default(),
        data: replay_data,
        model_dir: PathBuf::from("unused: the registry serves"),
        out: Some(out.clone()),
        speed: Speed::Max,
    };
    let summary = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(run_replay(job))
        .unwrap();
    let shadow = summary.shadow.expect("the shadow trainer ran");
    eprintln!("{}", serde_json::to_string_pretty(&shadow).unwrap());
    assert!(shadow.resolver.labelled > 5_000, "{:?}", shadow.resolver);
    assert_eq!(shadow.dropped_inputs, 0);
    assert!(
        shadow.fresh_starts >= 1,
        "the backwards champion is not fine-tuned from"
    );
    assert!(
        shadow.promotions >= 1,
        "the reversion refit must be promoted"
    );
    let promote = shadow
        .decisions
        .iter()
        .find(|d| d.kind == "promote")
        .unwrap();
    let new = promote.version.clone().unwrap();
    for d in shadow.decisions.iter().filter(|d| d.kind == "promote") {
        let v = d.verdict.as_ref().unwrap();
        assert!(v.challenger.roc_auc >= v.champion.roc_auc + 0.02, "{v:?}");
        assert!(v.challenger.log_loss <= v.champion.log_loss, "{v:?}");
    }
    let first_promote = shadow
        .decisions
        .iter()
        .position(|d| d.kind == "promote")
        .unwrap();
    let probation = shadow.decisions[first_promote..]
        .iter()
        .find(|d| matches!(d.kind, "keep" | "rollback"))
        .expect("the promoted model is judged after its promotion");
    assert_eq!(probation.kind, "keep", "a better model is not rolled back");

    // The registry serves it, its manifest says why, and signals after the swap name it.
    let current = reg.current().unwrap().unwrap();
    assert!(reg.chain().unwrap().contains(&new), "{:?}", reg.chain());
    let spec = FeatureSpec::new(&cfg.features.names).unwrap();
    let m = load_bundle(&reg.bundle_dir(&new), &spec).unwrap().manifest;
    assert_eq!(m.parent.as_deref(), Some(first.as_str()));
    assert_eq!(m.metrics.split, "shadow");
    assert!(m.metrics.shadow.as_ref().is_some_and(|s| s.accept));
    assert!(m.training.train.to_ms < m.training.validation.from_ms);
    assert!(
        m.training.validation.to_ms < m.training.test.from_ms,
        "judged on later labels"
    );
    // Each signal names the model the trainer's decisions put in service before its bar: the
    // first until the first promotion's bar, each promoted (or rolled-back-to) one after its
    // decision's bar. Exact, in event time, on every run.
    let mut serving_from: Vec<(i64, String)> = vec![(i64::MIN, first.clone())];
    for d in &shadow.decisions {
        if matches!(d.kind, "promote" | "rollback") {
            serving_from.push((d.at_bar_ms, d.version.clone().unwrap()));
        }
    }
    let text = std::fs::read_to_string(&out).unwrap();
    let (mut by_new, mut signals) = (0, 0);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let t = v["bar_close_time_ms"].as_i64().unwrap();
        let named = v["model_version"].as_str().unwrap();
        let due = &serving_from
            .iter()
            .rev()
            .find(|(after, _)| *after < t)
            .unwrap()
            .1;
        assert_eq!(
            named, due,
            "the signal at {t} is scored by {named}, not {due}"
        );
        by_new += usize::from(named == new);
        signals += 1;
    }
    assert!(
        signals > 6_000 && by_new > 0,
        "{signals} signals, {by_new} by {new}"
    );
    let log = std::fs::read_to_string(reg.root().join("decisions.jsonl")).unwrap();
    assert!(log.contains("\"kind\":\"promote\""), "{log}");
    eprintln!("serving {current}; decisions:\n{log}");

    // What counts: on fresh reversion data the model serving now ranks well and the trend
    // champion it replaced ranks backwards. (Training runs on rayon threads, whose float sums
    // may differ by scheduling, so which refit wins can vary between runs; this outcome cannot.)
    let fresh = tmp.path().join("fresh");
    std::fs::create_dir_all(&fresh).unwrap();
    let mut paths = Vec::new();
    for (k, sym) in ["SYNAUSDT", "SYNBUSDT"].iter().enumerate() {
        let p = fresh.join(format!("{sym}-1m.csv"));
        write_bars(&p, &[-0.6; 1500], 60 + k as u64);
        paths.push(p);
    }
    let auc_of = |version: &str| {
        let m = load_bundle(&reg.bundle_dir(version), &spec).unwrap();
        let rows = labelled(&cfg, events(&paths), &m);
        let y: Vec<bool> = rows.iter().map(|r| r.profitable).collect();
        let (p, _) = score(&m, &m.net, &rows);
        signal_engine::trainer::metrics::roc_auc(&p, &y)
    };
    let (before, after) = (auc_of(&first), auc_of(&current));
    eprintln!("fresh reversion data: AUC {before:.3} (trend champion) → {after:.3} ({current})");
    assert!(before < 0.5 && after > 0.6, "{before} → {after}");
}

/// Labelled windows from the offline dataset code, scaled by `scaler`, in time order.
fn labelled(
    cfg: &Config,
    evs: Vec<MarketEvent>,
    champion: &signal_engine::registry::LoadedModel,
) -> Vec<Arc<Labelled>> {
    let spec = FeatureSpec::new(&cfg.features.names).unwrap();
    let mut ds = Dataset::build(evs, &spec, cfg.features.policy(), &cfg.labels);
    ds.apply_scaler(&champion.scaler);
    let mut rows: Vec<Arc<Labelled>> = ds
        .samples
        .iter()
        .map(|s| {
            let series = &ds.series[s.series];
            Arc::new(Labelled {
                exchange: series.exchange,
                symbol: series.symbol.clone(),
                bar_close_time_ms: s.close_time_ms,
                data: ds.window(s).to_vec(),
                profitable: s.profitable,
                return_bps: s.return_bps,
                trailing_return_bps: ds.trailing_return_bps(s, 1),
            })
        })
        .collect();
    rows.sort_by_key(|r| r.bar_close_time_ms);
    rows
}

#[test]
fn a_challenger_trained_on_shuffled_labels_never_beats_a_good_champion() {
    with_big_stack(a_challenger_trained_on_shuffled_labels_never_beats_a_good_champion_body);
}

fn a_challenger_trained_on_shuffled_labels_never_beats_a_good_champion_body() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config();
    let (train_data, _) = data(tmp.path());
    // A good champion: trained on the regime it is judged on.
    let (reg, v) = champion(&cfg, &train_data, tmp.path());
    let spec = FeatureSpec::new(&cfg.features.names).unwrap();
    let champ = load_bundle(&reg.bundle_dir(&v), &spec).unwrap();
    let fresh_dir = tmp.path().join("fresh");
    std::fs::create_dir_all(&fresh_dir).unwrap();
    let mut paths = Vec::new();
    for (k, sym) in ["SYNAUSDT", "SYNBUSDT"].iter().enumerate() {
        let p = fresh_dir.join(format!("{sym}-1m.csv"));
        write_bars(&p, &[0.6; 2500], 40 + k as u64);
        paths.push(p);
    }
    let rows = labelled(&cfg, events(&paths), &champ);
    let split = rows.len() * 2 / 3;
    let purge = (cfg.labels.horizon_bars + cfg.features.seq_len) as i64 * MINUTE_MS;
    let cutoff = rows[split - 1].bar_close_time_ms;
    let fresh: Vec<Arc<Labelled>> = rows
        .iter()
        .filter(|r| r.bar_close_time_ms > cutoff + purge)
        .cloned()
        .collect();
    let mut shuffled: Vec<Arc<Labelled>> = rows[..split].to_vec();
    let mut labels: Vec<(bool, f64)> = shuffled
        .iter()
        .map(|r| (r.profitable, r.return_bps))
        .collect();
    let mut rng = StdRng::seed_from_u64(99);
    for i in (1..labels.len()).rev() {
        labels.swap(i, rng.random_range(0..=i));
    }
    for (r, (y, ret)) in shuffled.iter_mut().zip(labels) {
        let mut l = (**r).clone();
        (l.profitable, l.return_bps) = (y, ret);
        *r = Arc::new(l);
    }
    let snapshot = Arc::new(Snapshot {
        rows: shuffled,
        seq_len: 8,
        n_features: 4,
    });
    let s = ShadowConfig {
        eval_windows: 400,
        epochs: 4,
        learning_rate: 3e-3,
        batch_size: 64,
        ..cfg.shadow.clone()
    };
    let tc = refit_config(&cfg, &s, 1);
    let t = refit(
        &champ,
        snapshot,
        &tc,
        (0.2, s.fresh_start_below_auc),
        purge,
        Arc::new(AtomicBool::new(false)),
    )
    .unwrap();
    let y: Vec<bool> = fresh.iter().map(|r| r.profitable).collect();
    let (p_champ, _) = score(&champ, &champ.net, &fresh);
    let (p_chal, _) = score(&champ, &t.net, &fresh);
    let verdict = decide::promotion(&s, (&v, &p_champ), ("shuffled", &p_chal), &y);
    eprintln!("{verdict:?}");
    assert!(
        verdict.champion.roc_auc > 0.6,
        "the champion is good: {verdict:?}"
    );
    assert!(
        !verdict.accept,
        "a shuffled-label challenger was promoted: {verdict:?}"
    );
}
