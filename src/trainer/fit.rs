//! The epoch loop: one model trained on one split's training windows, chosen on its validation
//! windows.
//!
//! In: a scaled [`Dataset`], training and validation sample indices, the `[train]` config. Out: the
//! best validation-AUC epoch's inference model and one [`EpochLog`] per epoch. The loss is
//! class-weighted BCE (sklearn "balanced") plus a Huber or MSE loss on the return head; Adam with
//! gradient-norm clipping 1.0; the learning rate follows burn's linear scheduler for the warm-up and
//! its cosine-annealing scheduler after it, times a ReduceLROnPlateau factor; early stopping on
//! validation AUC.

#![allow(clippy::disallowed_methods)] // epoch seconds are a wall-clock fact, logged, never used

use super::dataset::Dataset;
use super::metrics;
use super::schedule::{LrPlan, Patience};
use crate::config::{LrSchedule, ReturnLoss, TrainConfig};
use crate::model::backend::{
    ComputeDevice, InferBackend, Precision, TrainTask, device, to_backend, train_on,
};
use crate::model::net::RETURN_SCALE_BPS;
use crate::model::{SignalNet, SignalNetConfig, SignalOutput};
use burn::grad_clipping::GradientClippingConfig;
use burn::module::AutodiffModule;
use burn::nn::loss::{HuberLossConfig, MseLoss, Reduction};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::activation::{log_sigmoid, sigmoid};
use burn::tensor::backend::AutodiffBackend;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::Serialize;

/// What one epoch did (one row of `epochs.csv`).
#[derive(Clone, Debug, Serialize)]
pub struct EpochLog {
    pub fold: usize,
    pub epoch: usize,
    pub train_loss: f64,
    pub val_loss: f64,
    pub val_auc: f64,
    /// At the 0.5 threshold.
    pub val_precision: f64,
    pub val_recall: f64,
    /// The learning rate of the epoch's last step.
    pub learning_rate: f64,
    pub seconds: f64,
    /// This epoch's weights are the best so far (the checkpoint kept).
    pub best: bool,
}

/// Hooks for progress display; every method defaults to nothing.
pub trait TrainObserver: Send {
    fn epoch_start(&mut self, _fold: usize, _epoch: usize, _batches: usize) {}
    fn batch_done(&mut self, _loss: f64) {}
    fn epoch_end(&mut self, _log: &EpochLog) {}
    /// Checked before every batch: true stops the run with an error (the shadow trainer's refit
    /// when the engine shuts down).
    fn cancelled(&self) -> bool {
        false
    }
}

/// An observer that shows nothing.
pub struct Quiet;
impl TrainObserver for Quiet {}

/// A trained model and how it got there.
pub struct Fitted {
    pub net: SignalNet<InferBackend>,
    pub best_epoch: usize,
    pub epochs: Vec<EpochLog>,
    pub stopped_early: bool,
}

/// Class weights and the mix of the two heads' losses.
#[derive(Clone, Copy, Debug)]
pub struct LossWeights {
    pub positive: f64,
    pub negative: f64,
    pub classification: f64,
    pub ret: f64,
    pub kind: ReturnLoss,
}

impl LossWeights {
    /// sklearn "balanced" class weights, n / (2 · n_class), from the training samples.
    pub fn balanced<S: TrainSet + ?Sized>(samples: &S, idx: &[usize], tc: &TrainConfig) -> Self {
        let n = idx.len() as f64;
        let pos = idx
            .iter()
            .filter(|&&i| samples.sample_profitable(i))
            .count() as f64;
        Self {
            positive: n / (2.0 * pos.max(1.0)),
            negative: n / (2.0 * (n - pos).max(1.0)),
            classification: tc.classification_loss_weight,
            ret: tc.return_loss_weight,
            kind: tc.return_loss,
        }
    }
}

/// What `fit` trains on: scaled `[T × F]` windows with their labels, by sample index. The
/// offline [`Dataset`] and the shadow trainer's buffer of live windows both are one.
pub trait TrainSet {
    fn seq_len(&self) -> usize;
    fn n_features(&self) -> usize;
    /// Sample `i`'s window, row-major `[T × F]`.
    fn sample_window(&self, i: usize) -> &[f32];
    fn sample_profitable(&self, i: usize) -> bool;
    /// Realised return of the labelled trade, bps.
    fn sample_return_bps(&self, i: usize) -> f64;
}

impl TrainSet for Dataset {
    fn seq_len(&self) -> usize {
        self.seq_len
    }
    fn n_features(&self) -> usize {
        self.n_features
    }
    fn sample_window(&self, i: usize) -> &[f32] {
        self.window(&self.samples[i])
    }
    fn sample_profitable(&self, i: usize) -> bool {
        self.samples[i].profitable
    }
    fn sample_return_bps(&self, i: usize) -> f64 {
        self.samples[i].return_bps
    }
}

/// Where training starts: fresh weights from the config's seed, or a copy of a trained model's
/// (warm start, the shadow trainer's refit of the champion).
#[derive(Clone, Copy)]
pub enum Start<'a> {
    Fresh,
    From(&'a SignalNet<InferBackend>),
}

/// One training run: what `fit` needs, on whichever backend [`FitJob::run_on`] picks.
pub struct FitJob<'a, S: TrainSet + ?Sized> {
    pub net_cfg: &'a SignalNetConfig,
    pub tc: &'a TrainConfig,
    pub ds: &'a S,
    pub train_idx: &'a [usize],
    pub val_idx: &'a [usize],
    /// Only labels the logs.
    pub fold: usize,
    pub observer: &'a mut dyn TrainObserver,
    pub start: Start<'a>,
}

impl<S: TrainSet + ?Sized> FitJob<'_, S> {
    /// Trains on `device` in `precision` (`model.device` / `train.device`); the best epoch's
    /// weights come back as a CPU model whatever the device.
    pub fn run_on(self, device: ComputeDevice, precision: Precision) -> Result<Fitted, String> {
        train_on(device, precision, self).map_err(|e| e.to_string())?
    }
}

impl<S: TrainSet + ?Sized> TrainTask for FitJob<'_, S> {
    type Output = Result<Fitted, String>;
    fn run<B: AutodiffBackend>(self, device: B::Device) -> Self::Output {
        fit::<B, S>(self, &device)
    }
}

/// Trains one model on backend `B`.
fn fit<B: AutodiffBackend, S: TrainSet + ?Sized>(
    job: FitJob<'_, S>,
    dev: &B::Device,
) -> Result<Fitted, String> {
    let FitJob {
        net_cfg,
        tc,
        ds,
        train_idx,
        val_idx,
        fold,
        observer,
        start,
    } = job;
    <B as Backend>::seed(dev, tc.seed);
    let mut model: SignalNet<B> = match start {
        Start::Fresh => net_cfg.init(dev),
        Start::From(net) => to_backend::<InferBackend, B>(net, net_cfg, dev)
            .map_err(|e| format!("the starting model: {e}"))?,
    };
    let mut optim = AdamConfig::new()
        .with_grad_clipping(Some(GradientClippingConfig::Norm(1.0)))
        .init();
    let weights = LossWeights::balanced(ds, train_idx, tc);
    let batches = train_idx.len().div_ceil(tc.batch_size).max(1);
    let mut lr = LrPlan::new(tc, batches)?;
    // ReduceLROnPlateau never takes the rate below the schedule's floor.
    let floor = tc.min_learning_rate.min(tc.learning_rate);
    let mut rng = StdRng::seed_from_u64(tc.seed);
    let mut order = train_idx.to_vec();
    let mut stop = Patience::new(tc);
    let warmup = match tc.lr_schedule {
        LrSchedule::WarmupCosine => tc.warmup_epochs,
        LrSchedule::Constant => 0,
    };
    let mut best: Option<(f64, usize, SignalNet<B::InnerBackend>)> = None;
    let mut epochs = Vec::new();
    for epoch in 1..=tc.epochs {
        let started = std::time::Instant::now();
        observer.epoch_start(fold, epoch, batches);
        order.shuffle(&mut rng);
        let (mut loss_sum, mut rate) = (0.0, tc.learning_rate);
        for chunk in order.chunks(tc.batch_size) {
            if observer.cancelled() {
                return Err("training cancelled".into());
            }
            let (x, y, r) = batch_tensors::<B, S>(ds, chunk, dev);
            let loss = loss(&model.forward(x), y, r, &weights);
            let value = loss.clone().into_scalar().elem::<f64>();
            loss_sum += value;
            rate = (lr.step() * stop.lr_factor).max(floor);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(rate, model, grads);
            observer.batch_done(value);
        }
        let valid = model.valid();
        let v = validate(&valid, ds, val_idx, &weights, dev);
        let improved = best.as_ref().is_none_or(|(auc, ..)| v.auc > *auc);
        let log = EpochLog {
            fold,
            epoch,
            train_loss: loss_sum / batches as f64,
            val_loss: v.loss,
            val_auc: v.auc,
            val_precision: v.precision,
            val_recall: v.recall,
            learning_rate: rate,
            seconds: started.elapsed().as_secs_f64(),
            best: improved,
        };
        observer.epoch_end(&log);
        epochs.push(log);
        if improved {
            best = Some((v.auc, epoch, valid));
        }
        if stop.after_epoch(improved, epoch <= warmup) {
            break;
        }
    }
    let stopped_early = epochs.len() < tc.epochs;
    let (_, best_epoch, net) = best.ok_or("train.epochs must be > 0")?;
    let net = to_backend::<B::InnerBackend, InferBackend>(&net, net_cfg, &device())
        .map_err(|e| format!("the trained model: {e}"))?;
    Ok(Fitted {
        net,
        best_epoch,
        epochs,
        stopped_early,
    })
}

/// Class-weighted BCE on the logit (numerically stable through log-sigmoid) + the return head's
/// Huber (δ = 1) or squared error, in units of `RETURN_SCALE_BPS`; the mean over the batch.
pub fn loss<B: Backend>(
    out: &SignalOutput<B>,
    y: Tensor<B, 1>,
    r: Tensor<B, 1>,
    w: &LossWeights,
) -> Tensor<B, 1> {
    let weights = y
        .clone()
        .mul_scalar(w.positive - w.negative)
        .add_scalar(w.negative);
    let nll = (y.clone() * log_sigmoid(out.logit.clone())
        + y.neg().add_scalar(1.0) * log_sigmoid(out.logit.clone().neg()))
    .neg();
    let bce = (nll * weights).mean();
    let pred = out.expected_return_bps.clone().div_scalar(RETURN_SCALE_BPS);
    let reg = match w.kind {
        ReturnLoss::Huber => HuberLossConfig::new(1.0)
            .init()
            .forward(pred, r, Reduction::Mean),
        ReturnLoss::Mse => MseLoss::new().forward(pred, r, Reduction::Mean),
    };
    bce.mul_scalar(w.classification) + reg.mul_scalar(w.ret)
}

/// Validation loss, AUC, precision and recall (at 0.5) of the current weights.
struct Validation {
    loss: f64,
    auc: f64,
    precision: f64,
    recall: f64,
}

fn validate<B: Backend, S: TrainSet + ?Sized>(
    net: &SignalNet<B>,
    ds: &S,
    idx: &[usize],
    w: &LossWeights,
    dev: &B::Device,
) -> Validation {
    let (mut p, mut loss_sum) = (Vec::with_capacity(idx.len()), 0.0);
    for chunk in idx.chunks(256) {
        let (x, y, r) = batch_tensors::<B, S>(ds, chunk, dev);
        let out = net.forward(x);
        loss_sum += loss(&out, y, r, w).into_scalar().elem::<f64>() * chunk.len() as f64;
        let probs = sigmoid(out.logit).into_data().convert::<f64>();
        p.extend(probs.to_vec::<f64>().unwrap_or_default());
    }
    let labels: Vec<bool> = idx.iter().map(|&i| ds.sample_profitable(i)).collect();
    let e = metrics::evaluate(&p, &labels, 0.5, None);
    Validation {
        loss: loss_sum / idx.len().max(1) as f64,
        auc: e.roc_auc,
        precision: e.precision,
        recall: e.recall,
    }
}

/// `[n, T, F]` windows, `[n]` labels and `[n]` returns (in units of `RETURN_SCALE_BPS`).
pub(crate) fn batch_tensors<B: Backend, S: TrainSet + ?Sized>(
    ds: &S,
    idx: &[usize],
    dev: &B::Device,
) -> (Tensor<B, 3>, Tensor<B, 1>, Tensor<B, 1>) {
    let (t, f, n) = (ds.seq_len(), ds.n_features(), idx.len());
    let mut x = Vec::with_capacity(n * t * f);
    let mut y = Vec::with_capacity(n);
    let mut r = Vec::with_capacity(n);
    for &i in idx {
        x.extend_from_slice(ds.sample_window(i));
        y.push(if ds.sample_profitable(i) { 1.0f32 } else { 0.0 });
        r.push((ds.sample_return_bps(i) / RETURN_SCALE_BPS) as f32);
    }
    (
        Tensor::from_data(TensorData::new(x, [n, t, f]), dev),
        Tensor::from_data(TensorData::new(y, [n]), dev),
        Tensor::from_data(TensorData::new(r, [n]), dev),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::trainer::dataset::Sample;

    #[test]
    fn balanced_weights_follow_sklearn() {
        // sklearn compute_class_weight("balanced", classes=[0, 1], y=[1, 0, 0, 0]) = [2/3, 2].
        let s = |p: bool| Sample {
            series: 0,
            bar: 0,
            close_time_ms: 0,
            profitable: p,
            return_bps: 0.0,
            exit: crate::trainer::labels::Exit::Horizon,
        };
        let ds = Dataset {
            series: Vec::new(),
            samples: vec![s(true), s(false), s(false), s(false)],
            seq_len: 1,
            n_features: 1,
        };
        let w = LossWeights::balanced(&ds, &[0, 1, 2, 3], &TrainConfig::default());
        assert!((w.positive - 2.0).abs() < 1e-12 && (w.negative - 2.0 / 3.0).abs() < 1e-12);
    }
}
