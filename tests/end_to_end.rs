//! The whole skeleton on real data: train a (tiny) bundle, replay out-of-sample data through it,
//! and check the signals: schema-valid, one per window, deterministic, named by the model version.

mod common;

use common::*;
use signal_engine::app::{ReplayJob, Speed, run_replay};
use signal_engine::features::FeatureSpec;
use signal_engine::registry::load_bundle;
use std::path::PathBuf;

fn replay(
    cfg: &signal_engine::config::Config,
    model: PathBuf,
    data: Vec<PathBuf>,
    out: PathBuf,
) -> signal_engine::app::Summary {
    let job = ReplayJob {
        config: cfg.clone(),
        config_name: "tiny config".into(),
        input: Default::default(),
        data,
        model_dir: model,
        out: Some(out),
        speed: Speed::Max,
    };
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(run_replay(job))
        .unwrap()
}

fn lines(p: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A signal minus `latency_us`, the one field a measurement (not the data) decides.
fn without_latency(mut v: serde_json::Value) -> serde_json::Value {
    v.as_object_mut().unwrap().remove("latency_us");
    v
}

fn signals_without_latency(p: &std::path::Path) -> Vec<serde_json::Value> {
    lines(p).into_iter().map(without_latency).collect()
}

/// A temp dir holding a tiny bundle trained on real data, its config, path and manifest.
fn tiny_bundle() -> (
    tempfile::TempDir,
    signal_engine::config::Config,
    PathBuf,
    signal_engine::registry::Manifest,
) {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny_config();
    let bundle = tmp.path().join("bundle");
    let manifest = train_tiny_bundle(&cfg, &bundle);
    (tmp, cfg, bundle, manifest)
}

#[test]
fn train_then_replay_out_of_sample() {
    let (tmp, cfg, bundle, manifest) = tiny_bundle();

    // The manifest reports test metrics next to the baseline, on a split after train + purge.
    let t = &manifest.training;
    assert!(t.train.to_ms < t.validation.from_ms && t.validation.to_ms < t.test.from_ms);
    let purge_ms = t.purge_bars as i64 * 60_000;
    assert!(t.validation.from_ms - t.train.to_ms > purge_ms);
    assert!(t.test.from_ms - t.validation.to_ms > purge_ms);
    assert_eq!(t.purge_bars, cfg.labels.horizon_bars + cfg.features.seq_len);
    assert!((0.0..=1.0).contains(&manifest.metrics.model.roc_auc));
    // The majority baseline predicts the training split's majority class on every test row.
    let b = &manifest.metrics.baselines.majority;
    let majority_rate = if t.train.positive_rate >= 0.5 {
        t.test.positive_rate
    } else {
        1.0 - t.test.positive_rate
    };
    assert!(
        (b.accuracy - majority_rate).abs() < 1e-12,
        "{b:?} vs {majority_rate}"
    );
    assert!(b.return_mae_bps.is_some() && manifest.metrics.model.return_mae_bps.is_some());
    assert!(!manifest.version.is_empty());

    let data = vec![fixture("klines/demo/LINKUSDT-1m-2026-02.csv.gz")];
    let out1 = tmp.path().join("a.jsonl");
    let s = replay(&cfg, bundle.clone(), data.clone(), out1.clone());
    assert_eq!(s.events, 1440);
    assert_eq!(s.engine.bars, 1440);
    // The first window needs the indicators' lookback and then T complete rows.
    let lookback = signal_engine::features::FeatureComputer::new(
        &FeatureSpec::new(&cfg.features.names).unwrap(),
    )
    .lookback();
    assert_eq!(
        s.engine.warming_bars as usize,
        lookback + cfg.features.seq_len - 1
    );
    assert_eq!(s.signals, s.engine.bars - s.engine.warming_bars);
    assert_eq!(s.latency.count, s.signals);

    let signals = lines(&out1);
    assert_eq!(signals.len() as u64, s.signals);
    let schema = schema("signal.schema.json");
    let mut ids = std::collections::HashSet::new();
    for sig in &signals {
        assert_valid(&schema, sig);
        assert_eq!(sig["model_version"], manifest.version.as_str());
        assert!(ids.insert(sig["signal_id"].as_str().unwrap().to_string()));
    }

    // Deterministic: a second replay gives the same signals except the measured latency.
    let out2 = tmp.path().join("b.jsonl");
    replay(&cfg, bundle, data, out2.clone());
    let a: Vec<_> = signals.into_iter().map(without_latency).collect();
    assert_eq!(a, signals_without_latency(&out2));
}

#[test]
fn bundle_with_another_feature_spec_is_refused() {
    let (_tmp, cfg, bundle, _) = tiny_bundle();
    let other = FeatureSpec::new(&["rsi_14", "log_return_1"]).unwrap();
    let err = load_bundle(&bundle, &other).err().unwrap().to_string();
    assert!(err.contains("feature-spec hash"), "{err}");
    assert!(err.contains(&bundle.display().to_string()), "{err}");

    // A tampered weights file is refused too.
    let w = bundle.join("model.mpk");
    let mut bytes = std::fs::read(&w).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    std::fs::write(&w, bytes).unwrap();
    let spec = FeatureSpec::new(&cfg.features.names).unwrap();
    let err = load_bundle(&bundle, &spec).err().unwrap().to_string();
    assert!(err.contains("sha256"), "{err}");
}

#[test]
fn saving_over_something_that_is_not_a_bundle_is_refused() {
    let (tmp, cfg, bundle, manifest) = tiny_bundle();
    // Replacing a bundle works and leaves exactly one bundle behind...
    train_tiny_bundle(&cfg, &bundle);
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("bundle")]);
    // ...but a directory that holds anything else is never replaced.
    let precious = tmp.path().join("precious");
    std::fs::create_dir(&precious).unwrap();
    std::fs::write(precious.join("notes.txt"), "keep me").unwrap();
    let spec = FeatureSpec::new(&cfg.features.names).unwrap();
    let loaded = load_bundle(&bundle, &spec).unwrap();
    let mut m = manifest.clone();
    let (scaler, net) = (&loaded.scaler, &loaded.net);
    let err =
        signal_engine::registry::save_bundle(&precious, &mut m, scaler, None, net, |_| Vec::new())
            .unwrap_err()
            .to_string();
    assert!(err.contains("not a model bundle"), "{err}");
    assert!(precious.join("notes.txt").exists());
}

/// The same bars as MarketEvent JSONL (gzipped) give the same signals as the kline CSV they came
/// from: both sources feed one pipeline.
#[test]
fn jsonl_and_kline_csv_replays_agree() {
    use std::io::Write;
    let (tmp, cfg, bundle, _) = tiny_bundle();
    let csv = fixture("klines/demo/NEARUSDT-1m-2026-02.csv.gz");
    let jsonl = tmp.path().join("near.jsonl.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&jsonl).unwrap(),
        flate2::Compression::default(),
    );
    for ev in read_events(std::slice::from_ref(&csv)) {
        serde_json::to_writer(&mut gz, &ev).unwrap();
        gz.write_all(b"\n").unwrap();
    }
    gz.finish().unwrap();
    let (a, b) = (tmp.path().join("a.jsonl"), tmp.path().join("b.jsonl"));
    let sa = replay(&cfg, bundle.clone(), vec![csv], a.clone());
    let sb = replay(&cfg, bundle, vec![jsonl], b.clone());
    assert_eq!(sa.signals, sb.signals);
    assert!(sa.signals > 1000);
    assert_eq!(signals_without_latency(&a), signals_without_latency(&b));
}

/// Three feature shards (symbols hashed over three tasks) emit the same signals as one: the same
/// windows, the same p_profitable (to float rounding: batches are composed differently), every
/// symbol's state whole in one shard.
#[test]
fn sharded_features_emit_the_same_signals() {
    let (tmp, cfg, bundle, _) = tiny_bundle();
    let data: Vec<PathBuf> = ["ALGO", "AVAX", "DOT", "LINK", "NEAR"]
        .iter()
        .map(|s| fixture(&format!("klines/demo/{s}USDT-1m-2026-02.csv.gz")))
        .collect();
    let (one, three) = (tmp.path().join("one.jsonl"), tmp.path().join("three.jsonl"));
    let s1 = replay(&cfg, bundle.clone(), data.clone(), one.clone());
    let mut sharded = cfg.clone();
    sharded.features.shards = 3;
    let s3 = replay(&sharded, bundle, data, three.clone());
    assert_eq!(s1.signals, s3.signals);
    assert_eq!(s1.engine, s3.engine, "the same bars, windows and counters");
    let by_id = |p: &std::path::Path| -> std::collections::BTreeMap<String, serde_json::Value> {
        lines(p)
            .into_iter()
            .map(|v| (v["signal_id"].as_str().unwrap().to_string(), v))
            .collect()
    };
    let (a, b) = (by_id(&one), by_id(&three));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (id, x) in &a {
        let (p, q) = (
            x["p_profitable"].as_f64().unwrap(),
            b[id]["p_profitable"].as_f64().unwrap(),
        );
        assert!((p - q).abs() < 1e-5, "{id}: {p} vs {q}");
        assert_eq!(x["features_valid"], b[id]["features_valid"], "{id}");
    }
}

fn stage(
    bundle: &std::path::Path,
    cfg: &signal_engine::config::Config,
    clock: signal_engine::infer::BatchClock,
) -> signal_engine::infer::InferenceStage {
    let spec = FeatureSpec::new(&cfg.features.names).unwrap();
    signal_engine::infer::InferenceStage {
        model: signal_engine::registry::live(load_bundle(bundle, &spec).unwrap()),
        max_batch: 4,
        max_wait_us: 2_000,
        batch_clock: clock,
        emit_clock: signal_engine::clock::EmitClock::Replay,
        skip_forward: false,
        schedule: None,
        metrics: signal_engine::telemetry::live::LiveMetrics::new(),
    }
}

/// Every window becomes a signal: full batches leave at once, the partial one when input ends.
#[tokio::test]
async fn inference_stage_flushes_its_partial_batch_at_the_end() {
    let (_tmp, cfg, bundle, _) = tiny_bundle();
    let windows: Vec<_> = demo_windows(&cfg, &bundle).into_iter().take(10).collect();
    let (wtx, wrx) = tokio::sync::mpsc::channel(16);
    let (stx, mut srx) = tokio::sync::mpsc::channel(16);
    let run =
        tokio::spawn(stage(&bundle, &cfg, signal_engine::infer::BatchClock::Event).run(wrx, stx));
    // Ten windows that closed at the same instant (ten symbols at one bar close).
    let t = windows[0].bar_close_time_ms;
    for mut w in windows {
        w.bar_close_time_ms = t;
        wtx.send(stamped(w)).await.unwrap();
    }
    drop(wtx);
    let stats = run.await.unwrap().unwrap();
    let mut sizes = Vec::new();
    while let Some(batch) = srx.recv().await {
        sizes.push(batch.signals.len());
    }
    // max_batch 4: two full batches at once, the partial one when the input closes.
    assert_eq!(sizes, vec![4, 4, 2]);
    assert_eq!(stats.signals, 10);
}

/// Paced/live: when the signal consumer is gone, the stage stops at its next batch instead of
/// scoring (and throwing away) the rest of the input.
#[tokio::test]
async fn wall_clock_stage_stops_when_its_output_is_gone() {
    let (_tmp, cfg, bundle, _) = tiny_bundle();
    let windows = demo_windows(&cfg, &bundle);
    let (wtx, wrx) = tokio::sync::mpsc::channel(4);
    let (stx, srx) = tokio::sync::mpsc::channel(4);
    drop(srx);
    let run =
        tokio::spawn(stage(&bundle, &cfg, signal_engine::infer::BatchClock::Wall).run(wrx, stx));
    // One window, then silence: only the deadline timer can send the batch.
    wtx.send(stamped(windows[0].clone())).await.unwrap();
    let stats = tokio::time::timeout(std::time::Duration::from_secs(20), run)
        .await
        .expect("the stage kept running with nowhere to send signals")
        .unwrap()
        .unwrap();
    assert_eq!(stats.batches, 1);
    drop(wtx);
}

/// `features.scaling = "streaming"` starts from the bundle's streaming state (saved by `train` at
/// the end of the training period), replays deterministically, and scores differently from the
/// fitted scaler; a state for other features is refused, naming the file.
#[test]
fn streaming_scaling_replays_from_the_bundles_state() {
    let (tmp, cfg, bundle, _) = tiny_bundle();
    let spec = FeatureSpec::new(&cfg.features.names).unwrap();
    let loaded = load_bundle(&bundle, &spec).unwrap();
    let st = loaded
        .streaming
        .as_ref()
        .expect("train saves streaming_scaler.json");
    assert_eq!(st.feature_names(), spec.names());
    assert!(st.is_warm());

    let data = vec![fixture("klines/demo/LINKUSDT-1m-2026-02.csv.gz")];
    let fitted = replay(
        &cfg,
        bundle.clone(),
        data.clone(),
        tmp.path().join("f.jsonl"),
    );
    let mut streaming_cfg = cfg.clone();
    streaming_cfg.features.scaling = signal_engine::config::ScalingMode::Streaming;
    let (a, b) = (tmp.path().join("s1.jsonl"), tmp.path().join("s2.jsonl"));
    let s1 = replay(&streaming_cfg, bundle.clone(), data.clone(), a.clone());
    replay(&streaming_cfg, bundle.clone(), data, b.clone());
    assert_eq!(s1.signals, fitted.signals);
    assert_eq!(signals_without_latency(&a), signals_without_latency(&b));
    let p = |path: &std::path::Path| -> Vec<f64> {
        lines(path)
            .iter()
            .map(|v| v["p_profitable"].as_f64().unwrap())
            .collect()
    };
    assert_ne!(p(&a), p(&tmp.path().join("f.jsonl")));

    // A state learned on other features does not load.
    let path = bundle.join("streaming_scaler.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("log_return_1", "log_return_2", 1)).unwrap();
    let err = load_bundle(&bundle, &spec).err().unwrap().to_string();
    assert!(err.contains("streaming_scaler.json"), "{err}");
}
