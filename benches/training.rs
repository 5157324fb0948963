//! Training throughput of the default `SignalNet` on CPU (issue 4, "Speed"): full training steps
//! (forward, the training loss, backward, Adam with grad-norm clipping 1.0) at batch 256 on
//! `TrainBackend`, after one warm-up step. `scripts/bench_training.sh` runs this next to the PyTorch
//! reference (`scripts/reference_model.py`) and reports the ratio.
//!
//! Run: `cargo bench --bench training`. Prints machine-readable lines:
//! - `burn_train windows_per_s=.. step_ms=.. step_ms_mean=.. step_ms_min=.. batch=.. steps=..
//!   threads=.. params=..` (windows/s from the median step)
//! - `burn_phases forward_ms=.. backward_ms=.. optim_ms=..` (medians over the timed steps)
//! - with `BENCH_BREAKDOWN=1`: `burn_layer name=.. forward_ms=.. fwd_bwd_ms=..` for one BiLSTM
//!   layer, the attention block and an experimental fused BiLSTM of the same sizes.
//!
//! Env: `BENCH_STEPS` (timed steps, default 5), `BENCH_BATCH` (default 256),
//! `BENCH_BREAKDOWN=1`, `RAYON_NUM_THREADS` (burn-flex's thread pool; default all cores).
//! Without the `--bench` argument (`cargo test --bench training`) it is a smoke run: batch 4,
//! one step of everything, so the code is exercised in seconds in a debug build.
#![allow(clippy::disallowed_methods)] // a benchmark's job is reading the wall clock

use burn::grad_clipping::GradientClippingConfig;
use burn::module::Module;
use burn::nn::attention::{MhaInput, MultiHeadAttentionConfig};
use burn::nn::{BiLstm, BiLstmConfig, GateController, Lstm};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation::{sigmoid, tanh};
use signal_engine::config::ReturnLoss;
use signal_engine::model::backend::{TrainBackend, device};
use signal_engine::model::{SignalNetConfig, on_large_stack};
use signal_engine::trainer::fit::{LossWeights, loss};
use std::time::Instant;

type B = TrainBackend;

/// Default model and data shapes (DESIGN.md §5): 9 features, T = 60.
const N_FEATURES: usize = 9;
const SEQ_LEN: usize = 60;
/// `TrainConfig` defaults, so the measured step is the one `train` runs.
const LEARNING_RATE: f64 = 1e-3;
const RETURN_LOSS_WEIGHT: f64 = 0.1;
const SEED: u64 = 42;

struct Settings {
    batch: usize,
    steps: usize,
    breakdown: bool,
}

impl Settings {
    fn from_env() -> Self {
        // cargo passes `--bench` to harness = false targets under `cargo bench` only.
        let bench = std::env::args().any(|a| a == "--bench");
        let env = |k: &str, default: usize| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        Settings {
            batch: env("BENCH_BATCH", if bench { 256 } else { 4 }),
            steps: env("BENCH_STEPS", if bench { 5 } else { 1 }).max(1),
            breakdown: !bench || std::env::var("BENCH_BREAKDOWN").is_ok_and(|v| v == "1"),
        }
    }
}

/// Threads burn-flex's rayon pool uses (rayon honours `RAYON_NUM_THREADS`, else all cores).
fn threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Full training steps of the default model; prints `burn_train` and `burn_phases`.
fn bench_train(s: &Settings) {
    let dev = device();
    <B as Backend>::seed(&dev, SEED);
    let cfg = SignalNetConfig::new(N_FEATURES);
    let mut model = cfg.init::<B>(&dev);
    let params = model.num_params();
    let mut optim = AdamConfig::new()
        .with_grad_clipping(Some(GradientClippingConfig::Norm(1.0)))
        .init();
    let x = Tensor::<B, 3>::random(
        [s.batch, SEQ_LEN, N_FEATURES],
        Distribution::Normal(0.0, 1.0),
        &dev,
    );
    let y = Tensor::<B, 1>::random([s.batch], Distribution::Bernoulli(0.4), &dev);
    let r = Tensor::<B, 1>::random([s.batch], Distribution::Normal(0.0, 0.5), &dev);
    // sklearn "balanced" weights of this batch, as train.rs computes them over the train split.
    let pos = y.clone().sum().into_scalar().elem::<f64>();
    let n = s.batch as f64;
    // The trainer's own loss: sklearn "balanced" class weights, Huber on the return head.
    let weights = LossWeights {
        positive: n / (2.0 * pos.max(1.0)),
        negative: n / (2.0 * (n - pos).max(1.0)),
        classification: 1.0,
        ret: RETURN_LOSS_WEIGHT,
        kind: ReturnLoss::Huber,
    };

    // Per timed step: (total, forward, backward, optimiser) in ms.
    let mut times: Vec<[f64; 4]> = Vec::with_capacity(s.steps);
    // Step 0 is the warm-up (allocator, rayon pool, gemm packing buffers): not timed.
    for step in 0..=s.steps {
        let t0 = Instant::now();
        let l = loss(&model.forward(x.clone()), y.clone(), r.clone(), &weights);
        // Reading the loss is what train.rs does each step; flex is eager, so it costs nothing.
        let lv = l.clone().into_scalar().elem::<f64>();
        assert!(lv.is_finite(), "loss {lv}");
        let f = ms(t0);
        let t1 = Instant::now();
        let grads = l.backward();
        let b = ms(t1);
        let t2 = Instant::now();
        let grads = GradientsParams::from_grads(grads, &model);
        model = optim.step(LEARNING_RATE, model, grads);
        let o = ms(t2);
        if step > 0 {
            times.push([ms(t0), f, b, o]);
        }
    }
    let col = |i: usize| times.iter().map(|t| t[i]).collect::<Vec<_>>();
    let step_ms = median(col(0));
    let all = col(0);
    println!(
        "burn_train windows_per_s={:.1} step_ms={:.1} step_ms_mean={:.1} step_ms_min={:.1} \
         batch={} steps={} threads={} params={}",
        s.batch as f64 * 1e3 / step_ms,
        step_ms,
        all.iter().sum::<f64>() / all.len() as f64,
        all.iter().copied().fold(f64::INFINITY, f64::min),
        s.batch,
        s.steps,
        threads(),
        params
    );
    println!(
        "burn_phases forward_ms={:.1} backward_ms={:.1} optim_ms={:.1}",
        median(col(1)),
        median(col(2)),
        median(col(3))
    );
}

/// Median: robust to the bursts of other load on a shared machine, which a mean is not.
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// A BiLSTM written with a handful of large burn ops instead of `burn::nn::BiLstm`'s 8 small
/// matmuls and a `slice_assign` per step: one input projection `[B·T, d] × [d, 8h]` for all steps
/// and both directions, then per step and direction one `[B, h] × [h, 4h]` matmul; the per-step
/// outputs are stacked once at the end. An experiment for the team (not used by the model).
/// Measured on 2 cores at batch 256 it is no faster than `nn::BiLstm` (forward ≈ 125–145 ms,
/// forward + backward ≈ 370–380 ms for both): on flex + autodiff the step is bound by per-op
/// costs (graph bookkeeping, scalar tanh/sigmoid, slice gradients, single-threaded small
/// matmuls), not by the number of matmuls.
struct FusedBiLstm {
    /// `[d, 8h]`: input weights of both directions, gates i, f, g, o.
    w_ih: Tensor<B, 2>,
    /// `[8h]`: both biases (input + hidden) folded into one.
    bias: Tensor<B, 1>,
    /// `[h, 4h]` per direction.
    w_hh: [Tensor<B, 2>; 2],
    hidden: usize,
}

impl FusedBiLstm {
    /// The same function as `lstm`: its weights, concatenated gate by gate (i, f, g, o) and
    /// direction by direction, as fresh leaves that track gradients.
    fn from_bilstm(lstm: &BiLstm<B>) -> Self {
        let dirs = [&lstm.forward, &lstm.reverse];
        let leaf2 = |v: Vec<Tensor<B, 2>>| Tensor::cat(v, 1).detach().require_grad();
        let bias = |g: &GateController<B>| {
            let b = |lin: &burn::nn::Linear<B>| lin.bias.as_ref().expect("LSTM has biases").val();
            b(&g.input_transform) + b(&g.hidden_transform)
        };
        FusedBiLstm {
            w_ih: leaf2(
                dirs.iter()
                    .flat_map(|l| per_gate(l).map(|g| g.input_transform.weight.val()))
                    .collect(),
            ),
            bias: Tensor::cat(dirs.iter().flat_map(|l| per_gate(l).map(bias)).collect(), 0)
                .detach()
                .require_grad(),
            w_hh: dirs.map(|l| {
                leaf2(
                    per_gate(l)
                        .map(|g| g.hidden_transform.weight.val())
                        .to_vec(),
                )
            }),
            hidden: lstm.d_hidden,
        }
    }

    fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let [batch, t, d] = x.dims();
        let h = self.hidden;
        let xp = (x.reshape([batch * t, d]).matmul(self.w_ih.clone())
            + self.bias.clone().unsqueeze::<2>())
        .reshape([batch, t, 8 * h]);
        let mut dirs = Vec::with_capacity(2);
        for (k, w_hh) in self.w_hh.iter().enumerate() {
            let xk = xp
                .clone()
                .slice([0..batch, 0..t, 4 * h * k..4 * h * (k + 1)]);
            let steps = split_steps(xk);
            let order: Vec<usize> = if k == 0 {
                (0..t).collect()
            } else {
                (0..t).rev().collect()
            };
            let dev = w_hh.device();
            let mut hs = Tensor::<B, 2>::zeros([batch, h], &dev);
            let mut cs = Tensor::<B, 2>::zeros([batch, h], &dev);
            let mut outs: Vec<Option<Tensor<B, 2>>> = vec![None; t];
            for i in order {
                let g = steps[i].clone() + hs.matmul(w_hh.clone());
                let gate = |j: usize| g.clone().slice([0..batch, j * h..(j + 1) * h]);
                let (ig, fg, cg, og) = (
                    sigmoid(gate(0)),
                    sigmoid(gate(1)),
                    tanh(gate(2)),
                    sigmoid(gate(3)),
                );
                cs = fg * cs + ig * cg;
                hs = og * tanh(cs.clone());
                outs[i] = Some(hs.clone());
            }
            dirs.push(Tensor::stack::<3>(outs.into_iter().flatten().collect(), 1));
        }
        Tensor::cat(dirs, 2)
    }
}

/// An LSTM's gates in PyTorch's order (i, f, g, o).
fn per_gate(l: &Lstm<B>) -> [&GateController<B>; 4] {
    [&l.input_gate, &l.forget_gate, &l.cell_gate, &l.output_gate]
}

/// Splits `[B, T, n]` into T tensors `[B, n]` by halving recursively. burn 0.21's autodiff turns
/// the gradient of every `slice` into a zero tensor of the *whole* input plus a full-size add, so
/// T flat slices cost O(T²) memory traffic in backward (this is what `nn::Lstm`'s `iter_dim`
/// pays); halving costs O(T log T).
fn split_steps(x: Tensor<B, 3>) -> Vec<Tensor<B, 2>> {
    let [batch, t, n] = x.dims();
    if t == 1 {
        return vec![x.reshape([batch, n])];
    }
    let mid = t / 2;
    let mut left = split_steps(x.clone().slice([0..batch, 0..mid, 0..n]));
    left.extend(split_steps(x.slice([0..batch, mid..t, 0..n])));
    left
}

/// Times `f` + backward of its sum, `steps` times after one warm-up, and prints a `burn_layer`
/// line with the medians of the forward part and of the whole. The forward is timed inside these
/// runs, not in forward-only runs: on `Autodiff` repeated forwards whose graph is dropped without
/// a backward get slower run after run (~450 → ~700 ms for one BiLSTM over 10 runs), which a
/// training step never sees.
fn time_layer(
    name: &str,
    steps: usize,
    input: &Tensor<B, 3>,
    f: impl Fn(Tensor<B, 3>) -> Tensor<B, 3>,
) {
    let (mut fwd, mut both) = (Vec::with_capacity(steps), Vec::with_capacity(steps));
    for i in 0..=steps {
        let t0 = Instant::now();
        let out = f(input.clone()).sum();
        let _ = out.clone().into_scalar();
        let forward = ms(t0);
        drop(out.backward());
        if i > 0 {
            fwd.push(forward);
            both.push(ms(t0));
        }
    }
    println!(
        "burn_layer name={name} forward_ms={:.1} fwd_bwd_ms={:.1}",
        median(fwd),
        median(both)
    );
}

/// Per-layer costs at the model's sizes, and the fused-LSTM experiment (`BENCH_BREAKDOWN=1`).
fn bench_layers(s: &Settings) {
    let dev = device();
    <B as Backend>::seed(&dev, SEED);
    let d = SignalNetConfig::new(N_FEATURES).d_model;
    // Tracked input: in the model each layer's input comes from the layer before it.
    let x = Tensor::<B, 3>::random([s.batch, SEQ_LEN, d], Distribution::Normal(0.0, 1.0), &dev)
        .require_grad();
    let lstm = BiLstmConfig::new(d, d / 2, true).init::<B>(&dev);
    time_layer("bilstm", s.steps, &x, |x| lstm.forward(x, None).0);
    let fused = FusedBiLstm::from_bilstm(&lstm);
    // The experiment only counts if it computes the same function as burn's BiLstm.
    let diff = (fused.forward(x.clone()) - lstm.forward(x.clone(), None).0)
        .abs()
        .max()
        .into_scalar()
        .elem::<f64>();
    assert!(diff < 1e-4, "fused BiLSTM differs from burn's by {diff}");
    println!("burn_fused_check max_abs_diff={diff:.2e}");
    time_layer("fused_bilstm", s.steps, &x, |x| fused.forward(x));
    let attn = MultiHeadAttentionConfig::new(d, 4)
        .with_dropout(0.2)
        .init::<B>(&dev);
    time_layer("attention", s.steps, &x, |x| {
        attn.forward(MhaInput::self_attn(x)).context
    });
}

fn main() {
    let s = Settings::from_env();
    // burn's autodiff walks and drops its graph recursively (T unrolled LSTM steps deep).
    on_large_stack("bench-training", || {
        bench_train(&s);
        if s.breakdown {
            bench_layers(&s);
        }
    })
    .expect("bench thread");
}
