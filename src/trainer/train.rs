//! The training loop: class-weighted BCE (sklearn "balanced") + Huber on the return head, Adam with
//! gradient-norm clipping 1.0, the best validation-AUC epoch kept, test metrics beside a
//! majority-class baseline. Deterministic for a given seed, data and thread count.
//! (LR schedules, early stopping and walk-forward folds come with the training-pipeline issue.)
#![allow(clippy::disallowed_methods)] // epoch timing and the bundle creation time are wall-clock facts

use super::dataset::{Dataset, Sample};
use super::metrics;
use super::split::chronological_split;
use crate::config::{Config, TrainConfig};
use crate::event::MarketEvent;
use crate::features::FeatureSpec;
use crate::model::backend::{Device, InferBackend, TrainBackend, device};
use crate::model::net::RETURN_SCALE_BPS;
use crate::model::{SignalNet, SignalNetConfig, SignalOutput};
use crate::registry::manifest::{
    MANIFEST_FORMAT, Manifest, MetricsReport, Scores, SplitInfo, TrainingInfo,
};
use crate::scaling::{RobustScaler, StreamingScaler};
use burn::grad_clipping::GradientClippingConfig;
use burn::module::AutodiffModule;
use burn::nn::loss::{HuberLossConfig, Reduction};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::activation::log_sigmoid;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("config: {0}")]
    Config(String),
    #[error(
        "not enough data: {samples} labelled windows gave train/validation/test = {train}/{val}/{test}; every split needs both classes and ≥ 1 batch (more bars, or smaller seq_len / horizon)"
    )]
    NotEnoughData {
        samples: usize,
        train: usize,
        val: usize,
        test: usize,
    },
    #[error("scaler: {0}")]
    Scaler(#[from] crate::scaling::ScalerError),
}

/// What one epoch did.
#[derive(Clone, Debug)]
pub struct EpochLog {
    pub epoch: usize,
    pub train_loss: f64,
    pub val_auc: f64,
    pub seconds: f64,
}

pub struct TrainOutcome {
    pub manifest: Manifest,
    pub scaler: RobustScaler,
    /// Streaming-scaler state at the end of the training period (saved in the bundle).
    pub streaming: StreamingScaler,
    pub net: SignalNet<InferBackend>,
}

/// Trains on `events` (any source; only bars are used). `data_files` is recorded in the manifest.
pub fn train(
    cfg: &Config,
    events: impl IntoIterator<Item = MarketEvent>,
    data_files: Vec<String>,
    mut on_epoch: impl FnMut(&EpochLog) + Send,
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
    let (t, interval) = (cfg.features.seq_len, cfg.interval_ms());
    let mut ds = Dataset::build(events, &spec, cfg.features.policy(), &cfg.labels);
    let purge_bars = cfg.labels.horizon_bars + t;
    let purge_ms = purge_bars as i64 * interval;
    let tc = &cfg.train;
    let split = chronological_split(&ds.samples, tc.val_fraction, tc.test_fraction, purge_ms);
    let stride = |v: &[usize]| -> Vec<usize> {
        v.iter()
            .copied()
            .filter(|&i| ds.samples[i].bar % tc.sample_stride == 0)
            .collect()
    };
    let (train_idx, val_idx) = (stride(&split.train), stride(&split.validation));
    check_sizes(
        &ds.samples,
        &[&train_idx, &val_idx, &split.test],
        tc.batch_size,
    )?;
    let train_end_ms = split.validation_start_ms - purge_ms;
    let scaler = ds.fit_scaler(&spec, train_end_ms, cfg.features.scaler_clip)?;
    let streaming = ds.streaming_state(&scaler, cfg.features.streaming(), train_end_ms)?;
    ds.apply_scaler(&scaler);

    let net_cfg = SignalNetConfig::new(spec.len())
        .with_d_model(tc.d_model)
        .with_n_heads(tc.n_heads)
        .with_d_hidden(tc.d_hidden)
        .with_dropout(tc.dropout);
    let dev = device();
    let (best_epoch, net) = crate::model::on_large_stack("signal-engine-trainer", || {
        fit(&net_cfg, tc, &ds, &train_idx, &val_idx, &dev, &mut on_epoch)
    })
    .map_err(|e| TrainError::Config(format!("training thread: {e}")))??;
    // No threshold tuning yet: with class-balanced weights, 0.5 is the neutral cut.
    let threshold = 0.5;
    let metrics = evaluate(&net, &ds, &split.test, &train_idx, threshold, &dev);
    let info = TrainingInfo {
        symbols: ds.series.iter().map(|s| s.symbol.to_string()).collect(),
        data_files,
        train: split_info(&ds.samples, &train_idx),
        validation: split_info(&ds.samples, &val_idx),
        test: split_info(&ds.samples, &split.test),
        purge_bars,
        epochs_run: tc.epochs,
        best_epoch,
        seed: tc.seed,
        config: tc.clone(),
    };
    let manifest = new_manifest(cfg, &spec, net_cfg, threshold, info, metrics);
    Ok(TrainOutcome {
        manifest,
        scaler,
        streaming,
        net,
    })
}

/// The epoch loop; returns the best validation-AUC epoch and its inference model.
fn fit(
    net_cfg: &SignalNetConfig,
    tc: &TrainConfig,
    ds: &Dataset,
    train_idx: &[usize],
    val_idx: &[usize],
    dev: &Device,
    on_epoch: &mut (impl FnMut(&EpochLog) + Send),
) -> Result<(usize, SignalNet<InferBackend>), TrainError> {
    <TrainBackend as Backend>::seed(dev, tc.seed);
    let mut model: SignalNet<TrainBackend> = net_cfg.init(dev);
    let mut optim = AdamConfig::new()
        .with_grad_clipping(Some(GradientClippingConfig::Norm(1.0)))
        .init();
    let (w_pos, w_neg) = class_weights(&ds.samples, train_idx);
    let mut rng = StdRng::seed_from_u64(tc.seed);
    let mut order = train_idx.to_vec();
    let labels: Vec<bool> = val_idx.iter().map(|&i| ds.samples[i].profitable).collect();
    let mut best: Option<(f64, usize, SignalNet<InferBackend>)> = None;
    for epoch in 1..=tc.epochs {
        let started = std::time::Instant::now();
        order.shuffle(&mut rng);
        let mut loss_sum = 0.0;
        for chunk in order.chunks(tc.batch_size) {
            let (x, y, r) = batch_tensors::<TrainBackend>(ds, chunk, dev);
            let loss = loss(&model.forward(x), y, r, w_pos, w_neg, tc.return_loss_weight);
            loss_sum += loss.clone().into_scalar().elem::<f64>();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(tc.learning_rate, model, grads);
        }
        let valid = model.valid();
        let (p, _) = predict(&valid, ds, val_idx, tc.batch_size.max(256), dev);
        let val_auc = metrics::roc_auc(&p, &labels);
        on_epoch(&EpochLog {
            epoch,
            train_loss: loss_sum / order.len().div_ceil(tc.batch_size).max(1) as f64,
            val_auc,
            seconds: started.elapsed().as_secs_f64(),
        });
        if best.as_ref().is_none_or(|(auc, ..)| val_auc > *auc) {
            best = Some((val_auc, epoch, valid));
        }
    }
    best.map(|(_, e, net)| (e, net))
        .ok_or_else(|| TrainError::Config("train.epochs must be > 0".into()))
}

/// Class-weighted BCE on the logit (numerically stable through log-sigmoid) + weighted Huber on
/// the return head, in units of `RETURN_SCALE_BPS`.
fn loss<B: Backend>(
    out: &SignalOutput<B>,
    y: Tensor<B, 1>,
    r: Tensor<B, 1>,
    w_pos: f64,
    w_neg: f64,
    return_weight: f64,
) -> Tensor<B, 1> {
    let weights = y.clone().mul_scalar(w_pos - w_neg).add_scalar(w_neg);
    let nll = (y.clone() * log_sigmoid(out.logit.clone())
        + y.neg().add_scalar(1.0) * log_sigmoid(out.logit.clone().neg()))
    .neg();
    let bce = (nll * weights).mean();
    let pred = out.expected_return_bps.clone().div_scalar(RETURN_SCALE_BPS);
    let huber = HuberLossConfig::new(1.0)
        .init()
        .forward(pred, r, Reduction::Mean);
    bce + huber.mul_scalar(return_weight)
}

/// A manifest for a freshly trained model; `save_bundle` fills in the weights' hash and version.
fn new_manifest(
    cfg: &Config,
    spec: &FeatureSpec,
    net: SignalNetConfig,
    threshold: f64,
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
        threshold,
        training,
        metrics,
        weights_sha256: String::new(),
    }
}

fn check_sizes(
    samples: &[Sample],
    parts: &[&Vec<usize>; 3],
    batch: usize,
) -> Result<(), TrainError> {
    let both = |v: &Vec<usize>| {
        let pos = v.iter().filter(|&&i| samples[i].profitable).count();
        pos > 0 && pos < v.len()
    };
    if parts[0].len() < batch || !parts.iter().all(|v| both(v)) {
        return Err(TrainError::NotEnoughData {
            samples: samples.len(),
            train: parts[0].len(),
            val: parts[1].len(),
            test: parts[2].len(),
        });
    }
    Ok(())
}

/// sklearn "balanced": n / (2 · n_class).
fn class_weights(samples: &[Sample], idx: &[usize]) -> (f64, f64) {
    let n = idx.len() as f64;
    let pos = idx.iter().filter(|&&i| samples[i].profitable).count() as f64;
    (n / (2.0 * pos.max(1.0)), n / (2.0 * (n - pos).max(1.0)))
}

fn batch_tensors<B: Backend>(
    ds: &Dataset,
    idx: &[usize],
    dev: &B::Device,
) -> (Tensor<B, 3>, Tensor<B, 1>, Tensor<B, 1>) {
    let (t, f, n) = (ds.seq_len, ds.n_features, idx.len());
    let mut x = Vec::with_capacity(n * t * f);
    let mut y = Vec::with_capacity(n);
    let mut r = Vec::with_capacity(n);
    for &i in idx {
        let s = &ds.samples[i];
        x.extend_from_slice(ds.window(s));
        y.push(if s.profitable { 1.0f32 } else { 0.0 });
        r.push((s.return_bps / RETURN_SCALE_BPS) as f32);
    }
    (
        Tensor::from_data(TensorData::new(x, [n, t, f]), dev),
        Tensor::from_data(TensorData::new(y, [n]), dev),
        Tensor::from_data(TensorData::new(r, [n]), dev),
    )
}

/// (p_profitable, expected_return_bps) for samples `idx`, in batches.
fn predict(
    net: &SignalNet<InferBackend>,
    ds: &Dataset,
    idx: &[usize],
    batch: usize,
    dev: &Device,
) -> (Vec<f64>, Vec<f64>) {
    let (mut p, mut r) = (Vec::with_capacity(idx.len()), Vec::with_capacity(idx.len()));
    for chunk in idx.chunks(batch) {
        let mut x = Vec::with_capacity(chunk.len() * ds.seq_len * ds.n_features);
        for &i in chunk {
            x.extend_from_slice(ds.window(&ds.samples[i]));
        }
        let (pc, rc) = net.predict(x, chunk.len(), ds.seq_len, ds.n_features, dev);
        p.extend(pc.iter().map(|&v| f64::from(v)));
        r.extend(rc.iter().map(|&v| f64::from(v)));
    }
    (p, r)
}

fn evaluate(
    net: &SignalNet<InferBackend>,
    ds: &Dataset,
    test: &[usize],
    train: &[usize],
    threshold: f64,
    dev: &Device,
) -> MetricsReport {
    let labels: Vec<bool> = test.iter().map(|&i| ds.samples[i].profitable).collect();
    let actual: Vec<f64> = test.iter().map(|&i| ds.samples[i].return_bps).collect();
    let (p, r) = predict(net, ds, test, 256, dev);
    let model: Scores = metrics::score(&p, &labels, threshold, Some((&r, &actual)));
    let train_pos = split_info(&ds.samples, train).positive_rate;
    let majority = vec![train_pos; test.len()];
    let baseline_threshold = if train_pos >= 0.5 { 0.0 } else { 1.1 };
    let train_mean_bps =
        train.iter().map(|&i| ds.samples[i].return_bps).sum::<f64>() / train.len().max(1) as f64;
    let constant = vec![train_mean_bps; test.len()];
    let baseline = metrics::score(
        &majority,
        &labels,
        baseline_threshold,
        Some((&constant, &actual)),
    );
    MetricsReport {
        split: "test".into(),
        threshold,
        model,
        baseline_majority: baseline,
    }
}

fn split_info(samples: &[Sample], idx: &[usize]) -> SplitInfo {
    let pos = idx.iter().filter(|&&i| samples[i].profitable).count();
    SplitInfo {
        from_ms: idx
            .iter()
            .map(|&i| samples[i].close_time_ms)
            .min()
            .unwrap_or(0),
        to_ms: idx
            .iter()
            .map(|&i| samples[i].close_time_ms)
            .max()
            .unwrap_or(0),
        samples: idx.len(),
        positive_rate: pos as f64 / idx.len().max(1) as f64,
    }
}
