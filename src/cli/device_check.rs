//! `signal-engine device-check`: what a compute device does with a bundle, measured on real
//! windows, as a table and a JSON file. The engine's half of `scripts/gpu-check.sh` (whose other
//! half is the PyTorch reference on the same device).
//!
//! In: a bundle, market data (the windows are the serving feature code's, scaled by the bundle's
//! scaler), a device and a precision. Out, per forward (the device's copy, and the fused CPU
//! forward for reference; on the CPU, the fused and burn forwards):
//! - equivalence: max |Δ| of p and of the return head (units of 100 bps) against burn's CPU
//!   forward on the same windows, within the load-time limits, and how many decisions at the
//!   bundle's threshold flip;
//! - inference: time per call (p50, p99) and windows/s at each `--batches` size, a call being what
//!   the engine does per micro-batch (upload the windows, forward, read both heads back);
//! - training: time per step at each `--train-batches` size (batch upload, forward, loss read,
//!   backward, clipped Adam step);
//! - with `--fit-epochs N`: a short `train` run on the same data (chronological purged split, as
//!   `train` does) with its test metrics; a run per precision shows what bf16 does to the model.
//!
//! Exits non-zero when a forward differs beyond its limit (after writing the JSON).

#![allow(clippy::disallowed_methods)] // measuring wall time is this command's purpose

use crate::config::Config;
use crate::model::backend::{
    ComputeDevice, DeviceInfo, DeviceNet, InferBackend, Precision, TrainTask, probe, to_backend,
    train_on,
};
use crate::model::{SignalNet, SignalNetConfig};
use crate::registry::store::{DEVICE_MAX_ABS_DIFF, DEVICE_MAX_ABS_DIFF_BF16, max_abs_diff};
use crate::registry::{LoadedModel, load_bundle};
use crate::trainer::Dataset;
use crate::trainer::fit::{LossWeights, batch_tensors, loss};
use anyhow::Context;
use burn::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use clap::Args;
use serde::Serialize;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct DeviceCheckArgs {
    #[command(flatten)]
    pub input: super::DataArgs,
    /// The device to check: "cpu", "cuda" or "cuda:N".
    #[arg(long, default_value = "cuda:0")]
    pub device: ComputeDevice,
    /// Model bundle directory (default: the config's model.dir).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Inference batch sizes.
    #[arg(long, value_delimiter = ',', default_value = "1,64,1024,8192")]
    pub batches: Vec<usize>,
    /// Training batch sizes.
    #[arg(long, value_delimiter = ',', default_value = "256,4096")]
    pub train_batches: Vec<usize>,
    /// The precision to check on a CUDA device (the CPU computes in f32 only). One per run: burn
    /// 0.21 keeps one default float type per device and process, so an f32 and a bf16 copy in
    /// one process would not both be what they say (scripts/gpu-check.sh runs one of each).
    #[arg(long, default_value = "f32")]
    pub precision: Precision,
    /// Seconds of timed calls per measurement (at least 5 calls each).
    #[arg(long, default_value_t = 2.0)]
    pub seconds: f64,
    /// Also train for this many epochs, in this precision, on the data and report the test
    /// metrics (0: no).
    #[arg(long, default_value_t = 0)]
    pub fit_epochs: usize,
    /// Write the results here as JSON.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Windows compared with burn's CPU forward.
const EQUIVALENCE_WINDOWS: usize = 1024;
const MIN_CALLS: usize = 5;

#[derive(Debug, Serialize)]
struct Report {
    device: DeviceInfo,
    bundle: String,
    windows: usize,
    equivalence: Vec<Equivalence>,
    inference: Vec<Inference>,
    train_step: Vec<TrainStep>,
    fit: Vec<Fit>,
    ok: bool,
}

#[derive(Debug, Serialize)]
struct Equivalence {
    forward: String,
    windows: usize,
    max_abs_diff: f32,
    limit: f32,
    decisions_flipped: usize,
    ok: bool,
}

#[derive(Debug, Serialize)]
struct Inference {
    forward: String,
    batch: usize,
    calls: usize,
    p50_us: f64,
    p99_us: f64,
    windows_per_s: f64,
}

#[derive(Debug, Serialize)]
struct TrainStep {
    precision: String,
    batch: usize,
    steps: usize,
    step_ms_p50: f64,
    windows_per_s: f64,
}

#[derive(Debug, Serialize)]
struct Fit {
    precision: String,
    epochs_run: usize,
    best_epoch: usize,
    seconds: f64,
    test_windows: usize,
    test_roc_auc: f64,
    test_log_loss: f64,
    test_brier: f64,
}

/// One way of scoring a batch.
enum Forward<'a> {
    Fused(&'a LoadedModel),
    Burn(&'a LoadedModel),
    Device(DeviceNet, Precision),
}

impl Forward<'_> {
    fn name(&self) -> String {
        match self {
            Self::Fused(_) => "cpu-fused".into(),
            Self::Burn(_) => "cpu-burn".into(),
            Self::Device(d, p) => format!("{}-{p}", d.info.device),
        }
    }

    fn limit(&self) -> f32 {
        match self {
            Self::Device(_, Precision::Bf16) => DEVICE_MAX_ABS_DIFF_BF16,
            _ => DEVICE_MAX_ABS_DIFF,
        }
    }

    fn predict(&self, m: &LoadedModel, x: Vec<f32>, n: usize) -> (Vec<f32>, Vec<f32>) {
        let (t, f) = (m.manifest.seq_len, m.spec.len());
        match self {
            // A bundle loaded for the CPU serves with its fused forward.
            Self::Fused(m) => m.predict(x, n),
            Self::Burn(m) => m.net.predict(x, n, t, f, &m.device),
            Self::Device(d, _) => d.predict(x, n, t, f),
        }
    }
}

pub fn run(mut config: Config, a: DeviceCheckArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.seconds > 0.0 && a.seconds.is_finite(),
        "--seconds must be > 0"
    );
    anyhow::ensure!(
        a.batches.iter().chain(&a.train_batches).all(|&b| b > 0),
        "batch sizes must be > 0"
    );
    let info = probe(a.device, a.precision).with_context(|| format!("--device {}", a.device))?;
    println!("device: {} ({})", info.device, info.name);
    let dir = a.model.clone().unwrap_or_else(|| config.model.dir.clone());
    let spec = crate::features::FeatureSpec::new(&config.features.names)?;
    let model = load_bundle(&dir, &spec)?;
    anyhow::ensure!(
        model.manifest.seq_len == config.features.seq_len,
        "{}: the bundle's windows are {} bars, the config's features.seq_len {}",
        dir.display(),
        model.manifest.seq_len,
        config.features.seq_len
    );
    let (events, files) = a.input.read_events(&mut config, "device-check")?;
    let mut ds = Dataset::build(
        events.iter().cloned(),
        &spec,
        config.features.policy(),
        &config.labels,
    );
    ds.apply_scaler(&model.scaler);
    anyhow::ensure!(
        !ds.samples.is_empty(),
        "the data gives no complete labelled window"
    );
    let (t, f) = (model.manifest.seq_len, spec.len());
    let w = t * f;
    let all: Vec<f32> = ds
        .samples
        .iter()
        .flat_map(|s| ds.window(s).to_vec())
        .collect();
    let n_windows = ds.samples.len();
    println!(
        "{n_windows} windows of {t} × {f} from {} files",
        files.len()
    );
    // `n` windows, cycling through the real ones.
    let batch = |n: usize| -> Vec<f32> {
        (0..n)
            .flat_map(|i| all[(i % n_windows) * w..][..w].iter().copied())
            .collect()
    };

    let mut forwards = Vec::new();
    match a.device {
        ComputeDevice::Cpu => {
            forwards.push(Forward::Fused(&model));
            forwards.push(Forward::Burn(&model));
        }
        ComputeDevice::Cuda(_) => {
            let d = DeviceNet::new(&model.net, &model.manifest.net, a.device, a.precision)
                .map_err(anyhow::Error::msg)?
                .context("a CUDA device gave no device copy")?;
            forwards.push(Forward::Device(d, a.precision));
            // The CPU's best, for the ratio at small batches (once, in the f32 run).
            if a.precision == Precision::F32 {
                forwards.push(Forward::Fused(&model));
            }
        }
    }

    // Equivalence against burn's CPU forward, 256 windows a call.
    let n_eq = n_windows.min(EQUIVALENCE_WINDOWS);
    let score = |fw: &Forward| {
        let (mut p, mut r) = (Vec::new(), Vec::new());
        for start in (0..n_eq).step_by(256) {
            let n = 256.min(n_eq - start);
            let (pc, rc) = fw.predict(&model, all[start * w..(start + n) * w].to_vec(), n);
            p.extend(pc);
            r.extend(rc);
        }
        (p, r)
    };
    let reference = score(&Forward::Burn(&model));
    let threshold = model.threshold as f32;
    let mut equivalence = Vec::new();
    for fw in forwards.iter().filter(|fw| !matches!(fw, Forward::Burn(_))) {
        let got = score(fw);
        let diff = max_abs_diff(&reference, &got);
        let flipped = reference
            .0
            .iter()
            .zip(&got.0)
            .filter(|(a, b)| (**a >= threshold) != (**b >= threshold))
            .count();
        let e = Equivalence {
            forward: fw.name(),
            windows: n_eq,
            max_abs_diff: diff,
            limit: fw.limit(),
            decisions_flipped: flipped,
            ok: diff <= fw.limit(),
        };
        println!(
            "equivalence {:<14} max |Δ| {:.3e} (limit {:.0e}) over {} windows, {} decisions flipped: {}",
            e.forward,
            e.max_abs_diff,
            e.limit,
            e.windows,
            e.decisions_flipped,
            if e.ok { "ok" } else { "FAILED" }
        );
        equivalence.push(e);
    }

    let budget = Duration::from_secs_f64(a.seconds);
    let mut inference = Vec::new();
    for fw in &forwards {
        for &b in &a.batches {
            // The CPU at thousands of windows a call only shows what is already known.
            if matches!(fw, Forward::Fused(_)) && a.device != ComputeDevice::Cpu && b > 1024 {
                continue;
            }
            let x = batch(b);
            let times = time_calls(budget, || {
                let input = x.clone();
                let t0 = Instant::now();
                std::hint::black_box(fw.predict(&model, input, b));
                t0.elapsed()
            });
            let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
            let row = Inference {
                forward: fw.name(),
                batch: b,
                calls: times.len(),
                p50_us: p50,
                p99_us: p99,
                windows_per_s: b as f64 * 1e6 / p50,
            };
            println!(
                "inference   {:<14} batch {:>5}: p50 {:>10.1} µs, p99 {:>10.1} µs, {:>10.0} windows/s ({} calls)",
                row.forward, row.batch, row.p50_us, row.p99_us, row.windows_per_s, row.calls
            );
            inference.push(row);
        }
    }

    let mut train_step = Vec::new();
    let p = a.precision;
    for &b in &a.train_batches {
        let task = StepBench {
            net: &model.net,
            cfg: &model.manifest.net,
            ds: &ds,
            train: &config.train,
            batch: b,
            budget,
        };
        let times = train_on(a.device, p, task)
            .with_context(|| format!("training on {}", a.device))?
            .map_err(anyhow::Error::msg)?;
        let p50 = percentile(&times, 0.5);
        let row = TrainStep {
            precision: p.to_string(),
            batch: b,
            steps: times.len(),
            step_ms_p50: p50 / 1e3,
            windows_per_s: b as f64 * 1e6 / p50,
        };
        println!(
            "train step  {:<14} batch {:>5}: p50 {:>10.2} ms, {:>10.0} windows/s ({} steps)",
            format!("{}-{}", a.device, row.precision),
            row.batch,
            row.step_ms_p50,
            row.windows_per_s,
            row.steps
        );
        train_step.push(row);
    }

    let mut fit = Vec::new();
    if a.fit_epochs > 0 {
        let p = a.precision;
        let mut cfg = config.clone();
        cfg.train.epochs = a.fit_epochs;
        cfg.train.warmup_epochs = cfg.train.warmup_epochs.min(a.fit_epochs / 2);
        cfg.train.device = Some(a.device);
        cfg.train.precision = Some(p);
        let started = Instant::now();
        let out = crate::trainer::train(
            &cfg,
            events.iter().cloned(),
            files.clone(),
            &mut crate::trainer::Quiet,
        )
        .with_context(|| format!("training in {p}"))?;
        let m = &out.manifest.metrics.model;
        let row = Fit {
            precision: p.to_string(),
            epochs_run: out.epochs.len(),
            best_epoch: out.manifest.training.best_epoch,
            seconds: started.elapsed().as_secs_f64(),
            test_windows: m.n,
            test_roc_auc: m.roc_auc,
            test_log_loss: m.log_loss,
            test_brier: m.brier,
        };
        println!(
            "fit         {:<14} {} epochs (best {}), {:.1} s: test AUC {:.4}, log loss {:.4}, Brier {:.4} on {} windows",
            format!("{}-{}", a.device, row.precision),
            row.epochs_run,
            row.best_epoch,
            row.seconds,
            row.test_roc_auc,
            row.test_log_loss,
            row.test_brier,
            row.test_windows
        );
        fit.push(row);
    }

    let ok = equivalence.iter().all(|e| e.ok);
    let report = Report {
        device: info,
        bundle: model.manifest.version.clone(),
        windows: n_windows,
        equivalence,
        inference,
        train_step,
        fit,
        ok,
    };
    if let Some(path) = &a.out {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json + "\n").with_context(|| format!("{}", path.display()))?;
        println!("wrote {}", path.display());
    }
    anyhow::ensure!(
        ok,
        "a forward on {} differs from burn's CPU forward beyond its limit",
        a.device
    );
    Ok(())
}

/// Calls `f` (which returns the time of its measured part) once untimed, then until `budget` has
/// passed and at least [`MIN_CALLS`] were timed; µs per call.
fn time_calls(budget: Duration, mut f: impl FnMut() -> Duration) -> Vec<f64> {
    f();
    let started = Instant::now();
    let mut times = Vec::new();
    while times.len() < MIN_CALLS || (started.elapsed() < budget && times.len() < 100_000) {
        times.push(f().as_secs_f64() * 1e6);
    }
    times
}

/// The `q` quantile (nearest rank) of `v`.
fn percentile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let i = ((s.len() as f64 * q).ceil() as usize).clamp(1, s.len().max(1)) - 1;
    s.get(i).copied().unwrap_or(f64::NAN)
}

/// Full training steps of the bundle's model at one batch size, as `fit` takes them.
struct StepBench<'a> {
    net: &'a SignalNet<InferBackend>,
    cfg: &'a SignalNetConfig,
    ds: &'a Dataset,
    train: &'a crate::config::TrainConfig,
    batch: usize,
    budget: Duration,
}

impl TrainTask for StepBench<'_> {
    type Output = Result<Vec<f64>, String>;
    fn run<B: AutodiffBackend>(self, dev: B::Device) -> Self::Output {
        let mut model: SignalNet<B> = to_backend::<InferBackend, B>(self.net, self.cfg, &dev)?;
        let mut optim = AdamConfig::new()
            .with_grad_clipping(Some(GradientClippingConfig::Norm(1.0)))
            .init();
        let n = self.ds.samples.len();
        let idx: Vec<usize> = (0..self.batch).map(|i| i % n).collect();
        let weights = LossWeights::balanced(self.ds, &idx, self.train);
        let rate = self.train.learning_rate;
        let mut step = || {
            let t0 = Instant::now();
            let (x, y, r) = batch_tensors::<B, Dataset>(self.ds, &idx, &dev);
            let l = loss(&model.forward(x), y, r, &weights);
            std::hint::black_box(l.clone().into_scalar().elem::<f64>());
            let grads = GradientsParams::from_grads(l.backward(), &model);
            model = optim.step(rate, model.clone(), grads);
            t0.elapsed()
        };
        Ok(time_calls(self.budget, &mut step))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
        assert!(percentile(&[], 0.5).is_nan());
    }

    #[test]
    fn timing_takes_at_least_the_minimum_calls() {
        let mut calls = 0;
        let t = time_calls(Duration::ZERO, || {
            calls += 1;
            Duration::from_micros(3)
        });
        assert_eq!(t.len(), MIN_CALLS);
        assert_eq!(calls, MIN_CALLS + 1);
        assert!(t.iter().all(|&v| (v - 3.0).abs() < 1e-9));
    }
}
