//! `train`: market events → the serving feature code → labelled windows → chronological purged
//! split (or walk-forward folds) → scaler fitted on each training split only → `fit` → the model
//! and three baselines scored on the same test rows → a bundle's manifest, predictions and epoch
//! log.

#![allow(clippy::disallowed_methods)] // the bundle's creation time is a wall-clock fact

use super::dataset::{Dataset, Sample};
use super::fit::{EpochLog, FitJob, Fitted, Start, TrainObserver};
use super::labels::Exit;
use super::scoring::{Scored, fit_baselines, predict};
use super::split::{Split, chronological_split, walk_forward};
use crate::config::Config;
use crate::event::MarketEvent;
use crate::features::FeatureSpec;
use crate::model::backend::{InferBackend, device};
use crate::model::{SignalNet, SignalNetConfig};
use crate::registry::manifest::{
    AllFolds, DataFile, FoldMetrics, LabelSummary, MANIFEST_FORMAT, Manifest, MetricsReport,
    SplitInfo, TrainingInfo,
};
use crate::scaling::{RobustScaler, StreamingScaler};

/// With class-balanced weights, 0.5 is the neutral cut; no tuning on test data.
pub const THRESHOLD: f64 = 0.5;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("config: {0}")]
    Config(String),
    #[error(
        "not enough data{fold}: {samples} labelled windows gave train/validation/test = {train}/{val}/{test}; every split needs both classes and train ≥ 1 batch (more bars, or smaller seq_len / horizon / folds)"
    )]
    NotEnoughData {
        fold: String,
        samples: usize,
        train: usize,
        val: usize,
        test: usize,
    },
    #[error("scaler: {0}")]
    Scaler(#[from] crate::scaling::ScalerError),
    #[error("baseline: {0}")]
    Baseline(String),
    #[error(
        "training diverged{0}: the model's test predictions are not finite (try a lower train.learning_rate)"
    )]
    Diverged(String),
}

/// One test-split prediction (a row of `predictions.csv`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Prediction {
    pub symbol: String,
    pub bar_close_time_ms: i64,
    pub label: u8,
    pub p_profitable: f64,
    pub expected_return_bps: f64,
    pub realized_return_bps: f64,
    pub fold: usize,
}

pub struct TrainOutcome {
    pub manifest: Manifest,
    pub scaler: RobustScaler,
    /// Streaming-scaler state at the end of the training period (saved in the bundle).
    pub streaming: StreamingScaler,
    pub net: SignalNet<InferBackend>,
    /// Every epoch of every fold.
    pub epochs: Vec<EpochLog>,
    /// Test predictions of every fold.
    pub predictions: Vec<Prediction>,
}

/// What one split produced.
struct FoldRun {
    metrics: FoldMetrics,
    fitted: Fitted,
    scaler: RobustScaler,
    streaming: StreamingScaler,
    predictions: Vec<Prediction>,
    scored: Scored,
}

/// Trains on `events` (any source; only bars are used). `data_files` is recorded in the manifest.
pub fn train(
    cfg: &Config,
    events: impl IntoIterator<Item = MarketEvent>,
    data_files: Vec<DataFile>,
    observer: &mut dyn TrainObserver,
) -> Result<TrainOutcome, TrainError> {
    let spec =
        FeatureSpec::new(&cfg.features.names).map_err(|e| TrainError::Config(e.to_string()))?;
    if spec.needs_quotes() {
        // The dataset is built from bar events only; a quote feature would never be complete.
        return Err(TrainError::Config(
            "features.names: spread_bps and book_imbalance need a quote stream, and training \
             reads bars only (klines, OHLCV or JSONL bars) for now"
                .into(),
        ));
    }
    let mut ds = Dataset::build(events, &spec, cfg.features.policy(), &cfg.labels);
    let purge_bars = cfg.labels.horizon_bars + cfg.features.seq_len;
    let purge_ms = purge_bars as i64 * cfg.interval_ms();
    let tc = &cfg.train;
    let splits = match tc.folds {
        0 => vec![chronological_split(
            &ds.samples,
            tc.val_fraction,
            tc.test_fraction,
            purge_ms,
        )],
        k => walk_forward(&ds.samples, k, tc.val_fraction, purge_ms),
    };
    let net_cfg = SignalNetConfig::new(spec.len())
        .with_d_model(tc.d_model)
        .with_n_heads(tc.n_heads)
        .with_d_hidden(tc.d_hidden)
        .with_dropout(tc.dropout);
    let (mut folds, mut epochs, mut predictions) = (Vec::new(), Vec::new(), Vec::new());
    let (mut last, mut pooled) = (None, Scored::default());
    for (i, split) in splits.iter().enumerate() {
        let fold = if tc.folds == 0 { 0 } else { i + 1 };
        let run = run_fold(cfg, &spec, &net_cfg, &mut ds, split, fold, observer)?;
        folds.push(run.metrics.clone());
        epochs.extend(run.fitted.epochs.iter().cloned());
        predictions.extend(run.predictions.iter().cloned());
        pooled.append(&run.scored);
        last = Some(run);
    }
    let last = last.ok_or_else(|| TrainError::NotEnoughData {
        fold: String::new(),
        samples: ds.samples.len(),
        train: 0,
        val: 0,
        test: 0,
    })?;
    let info = TrainingInfo {
        symbols: ds.series.iter().map(|s| s.symbol.to_string()).collect(),
        data_files,
        train: last.metrics.train.clone(),
        validation: last.metrics.validation.clone(),
        test: last.metrics.test.clone(),
        purge_bars,
        epochs_run: last.metrics.epochs_run,
        best_epoch: last.metrics.best_epoch,
        stopped_early: last.fitted.stopped_early,
        seed: tc.seed,
        folds: tc.folds,
        git_commit: crate::GIT_COMMIT.to_string(),
        config: serde_json::to_value(cfg).unwrap_or_default(),
        label_summary: label_summary(&ds.samples),
    };
    let all_folds = (tc.folds > 0).then(|| {
        let (model, baselines) = pooled.evaluate(&ds);
        AllFolds {
            test_samples: pooled.test.len(),
            model,
            baselines,
        }
    });
    let metrics = MetricsReport {
        split: if tc.folds == 0 {
            "test".into()
        } else {
            format!("test of fold {} (the bundled model)", tc.folds)
        },
        threshold: THRESHOLD,
        model: last.metrics.model.clone(),
        baselines: last.metrics.baselines.clone(),
        folds: if tc.folds == 0 { Vec::new() } else { folds },
        all_folds,
        shadow: None,
    };
    Ok(TrainOutcome {
        manifest: new_manifest(cfg, &spec, net_cfg, info, metrics),
        scaler: last.scaler,
        streaming: last.streaming,
        net: last.fitted.net,
        epochs,
        predictions,
    })
}

/// Scaler, model and baselines for one split, all fitted on its training rows only.
fn run_fold(
    cfg: &Config,
    spec: &FeatureSpec,
    net_cfg: &SignalNetConfig,
    ds: &mut Dataset,
    split: &Split,
    fold: usize,
    observer: &mut dyn TrainObserver,
) -> Result<FoldRun, TrainError> {
    let tc = &cfg.train;
    let stride = |v: &[usize]| -> Vec<usize> {
        let keep = |&&i: &&usize| ds.samples[i].bar.is_multiple_of(tc.sample_stride);
        v.iter().filter(keep).copied().collect()
    };
    let (train_idx, val_idx) = (stride(&split.train), stride(&split.validation));
    check_sizes(
        ds,
        &[&train_idx, &val_idx, &split.test],
        tc.batch_size,
        fold,
    )?;
    let scaler = ds.fit_scaler(spec, split.train_end_ms, cfg.features.scaler_clip)?;
    let streaming = ds.streaming_state(&scaler, cfg.features.streaming(), split.train_end_ms)?;
    ds.apply_scaler(&scaler);
    // Baselines first: a baseline that cannot be fitted fails the run before the long part.
    let test = &split.test;
    let (majority, logistic, momentum) =
        fit_baselines(ds, &train_idx, test, cfg.labels.horizon_bars)?;
    let data: &Dataset = ds;
    let (compute, precision) = cfg.train_compute();
    let fitted = crate::model::on_large_stack("signal-engine-trainer", || {
        FitJob {
            net_cfg,
            tc,
            ds: data,
            train_idx: &train_idx,
            val_idx: &val_idx,
            fold,
            observer,
            start: Start::Fresh,
        }
        .run_on(compute, precision)
    })
    .map_err(|e| TrainError::Config(format!("training thread: {e}")))?
    .map_err(TrainError::Config)?;
    let dev = device();
    let (p, r) = predict(&fitted.net, ds, test, &dev);
    if !p.iter().chain(&r).all(|v| v.is_finite()) {
        let at = if fold == 0 {
            String::new()
        } else {
            format!(" in fold {fold}")
        };
        return Err(TrainError::Diverged(at));
    }
    let predictions = test
        .iter()
        .zip(p.iter().zip(&r))
        .map(|(&i, (&p, &r))| prediction(ds, &ds.samples[i], p, r, fold))
        .collect();
    let scored = Scored {
        test: test.clone(),
        model: (p, r),
        majority,
        logistic,
        momentum,
    };
    let (model, baselines) = scored.evaluate(ds);
    let metrics = FoldMetrics {
        fold,
        train: split_info(&ds.samples, &train_idx),
        validation: split_info(&ds.samples, &val_idx),
        test: split_info(&ds.samples, test),
        best_epoch: fitted.best_epoch,
        epochs_run: fitted.epochs.len(),
        model,
        baselines,
    };
    Ok(FoldRun {
        metrics,
        fitted,
        scaler,
        streaming,
        predictions,
        scored,
    })
}

fn prediction(ds: &Dataset, s: &Sample, p: f64, r: f64, fold: usize) -> Prediction {
    Prediction {
        symbol: ds.series[s.series].symbol.to_string(),
        bar_close_time_ms: s.close_time_ms,
        label: u8::from(s.profitable),
        p_profitable: p,
        expected_return_bps: r,
        realized_return_bps: s.return_bps,
        fold,
    }
}

/// A manifest for a freshly trained model; `save_bundle` fills in the weights' hash and version.
fn new_manifest(
    cfg: &Config,
    spec: &FeatureSpec,
    net: SignalNetConfig,
    training: TrainingInfo,
    metrics: MetricsReport,
) -> Manifest {
    Manifest {
        format: MANIFEST_FORMAT,
        version: String::new(),
        parent: None,
        created_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        feature_spec: spec.names().to_vec(),
        feature_spec_hash: spec.hash(),
        seq_len: cfg.features.seq_len,
        bar_interval_secs: cfg.features.bar_interval_secs,
        net,
        labels: cfg.labels.clone(),
        threshold: THRESHOLD,
        training,
        metrics,
        weights_sha256: String::new(),
    }
}

fn check_sizes(
    ds: &Dataset,
    parts: &[&Vec<usize>; 3],
    batch: usize,
    fold: usize,
) -> Result<(), TrainError> {
    let both = |v: &Vec<usize>| {
        let pos = v.iter().filter(|&&i| ds.samples[i].profitable).count();
        pos > 0 && pos < v.len()
    };
    if parts[0].len() < batch || !parts.iter().all(|v| both(v)) {
        return Err(TrainError::NotEnoughData {
            fold: if fold == 0 {
                String::new()
            } else {
                format!(" in fold {fold}")
            },
            samples: ds.samples.len(),
            train: parts[0].len(),
            val: parts[1].len(),
            test: parts[2].len(),
        });
    }
    Ok(())
}

fn label_summary(samples: &[Sample]) -> LabelSummary {
    let n = samples.len();
    let count = |e: Exit| samples.iter().filter(|s| s.exit == e).count();
    LabelSummary {
        samples: n,
        positive_rate: samples.iter().filter(|s| s.profitable).count() as f64 / n.max(1) as f64,
        mean_return_bps: samples.iter().map(|s| s.return_bps).sum::<f64>() / n.max(1) as f64,
        exit_horizon: count(Exit::Horizon),
        exit_take_profit: count(Exit::TakeProfit),
        exit_stop_loss: count(Exit::StopLoss),
    }
}

fn split_info(samples: &[Sample], idx: &[usize]) -> SplitInfo {
    let pos = idx.iter().filter(|&&i| samples[i].profitable).count();
    let times = || idx.iter().map(|&i| samples[i].close_time_ms);
    SplitInfo {
        from_ms: times().min().unwrap_or(0),
        to_ms: times().max().unwrap_or(0),
        samples: idx.len(),
        positive_rate: pos as f64 / idx.len().max(1) as f64,
    }
}
