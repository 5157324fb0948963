//! The inference forward pass of exactly [`SignalNet`] in plain Rust: the same arithmetic as
//! burn's modules at the pinned version, laid out for a CPU.
//!
//! In: the weights of a loaded `SignalNet` (copied once, at load) and `[n × T × F]` scaled windows.
//! Out: per window the profitability logit and the return head (units of 100 bps), or p and bps.
//!
//! Where the time goes and why it is laid out so:
//! * every product with a weight matrix goes through `signal_engine_kernels` with the weight
//!   packed once at load (column panels of 16): the input projection of all `n·T` steps at once,
//!   each BiLSTM layer's input-to-gate products of both directions and all steps as one
//!   `[n·T × k] · [k × 8h]` product, attention's Q, K and V as one product, its output, `fc` and
//!   the heads, each adding its bias where the kernel stores (`gemm_bias`, no pass that copies it
//!   first). The kernel is a register block of up to 4 rows × 64 columns (AVX-512; AVX2 + FMA
//!   and a baseline too) and packs nothing per call, which is what makes batch 1 cheap;
//! * the first layer's input-to-gate product is composed with the input projection at load
//!   (`W_in · W_x1`, in f64): its gates come from the `f` raw features, not the `d`-wide
//!   projection, 17 % fewer multiply-adds per window; the projection still runs, for the
//!   residual ([`FusedNet::flops_per_window`] counts what runs);
//! * per time step only the recurrent `[n × h] · [h × 4h]` product remains, accumulated in place
//!   into that step's gate rows (strided, no copy); a lone window takes the kernel's one-row
//!   block of eight independent chains; then the cell of all the sub-batch's windows in two
//!   flat passes (gates and c, then h), whose chains overlap;
//! * attention's scores and context per window and head use the same kernel (`gemm_set`: C not
//!   read, so not zeroed first), the keys (transposed) and values packed per window and head into
//!   reused buffers;
//! * **a window's result does not depend on its batch**: the kernel computes every output as
//!   one chain of fused multiply-adds over `k` in order whatever the rows around it, and the
//!   rest is per row or per window, so live serving in small
//!   batches and a replay in large ones emit bit-identical signals (tested);
//! * sigmoid, tanh and exp are branch-free: with AVX-512 the LSTM cell, attention's softmax and
//!   the residual LayerNorm are written with intrinsics (module `avx512`: a fitted degree-6
//!   exponential, tanh from one `expm1`, a refined reciprocal estimate instead of divisions, rows
//!   several at a time in registers), each within 1e-6 relative of the exact function (tested);
//!   elsewhere the compiler vectorises the scalar code (`exp` by range reduction and Cephes'
//!   polynomial, ≤ 2e-7 relative; tanh by a series near 0 where `1 − e^{−2x}` would cancel) for
//!   AVX2 + FMA or the baseline, picked at run time;
//! * scratch buffers live per thread and are reused, so a call allocates only its two output
//!   vectors once the buffers have grown to the batch;
//! * large batches split across rayon's threads ([`PARALLEL_MIN_BATCH`]); a small batch stays on
//!   the calling thread, where a thread hand-off would cost more than it saves.
//!
//! Nothing here is trusted blindly: [`FusedNet::from_net`] runs both forwards on a fixed batch
//! and refuses the weights when they differ by more than [`MAX_ABS_DIFF`].

use super::net::{RETURN_SCALE_BPS, SignalNet};
use burn::prelude::*;
use signal_engine_kernels::{Packed, gemm_acc, gemm_bias, gemm_set};
use std::cell::RefCell;

/// The largest difference allowed between the fused and burn's outputs (logit and the return
/// head, unscaled) on the load-time check.
pub const MAX_ABS_DIFF: f32 = 1e-4;

/// Batches at least this large are split over rayon's threads, in chunks of at least half of it.
pub const PARALLEL_MIN_BATCH: usize = 32;

/// Windows computed together on one thread: enough rows for the products to run at speed, few
/// enough that a sub-batch's activations (the gates: 60 × 512 floats per window) stay in cache
/// instead of streaming through memory at every stage. Splitting changes no result (a window's
/// outputs do not depend on its batch).
const SUB_BATCH: usize = 16;

/// burn's `LayerNormConfig` default, which `SignalNet` uses (the field is private in burn; the
/// load-time check would catch a model built with another).
const LN_EPS: f32 = 1e-5;

/// `fn $name(args) body` compiled three times: for AVX-512, for AVX2 + FMA, and for the
/// baseline; the best the CPU has is picked at run time (the check is a cached atomic load). The
/// bodies use no `mul_add`, so every copy computes the same bits.
macro_rules! multiversion {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) $body:block) => {
        $(#[$doc])*
        fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                fn wide($($arg: $ty),*) $body
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) $body
                if std::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has the features `wide` is compiled for.
                    unsafe { wide($($arg),*) };
                    return;
                }
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    // SAFETY: as above.
                    unsafe { avx2($($arg),*) };
                    return;
                }
            }
            $body
        }
    };
}

/// A dense layer: `y = x · w + b`, `w` row-major `[k × n]` (burn's row layout), also packed
/// for the product kernel.
#[derive(Clone, Debug)]
struct Dense {
    w: Vec<f32>,
    b: Vec<f32>,
    k: usize,
    n: usize,
    p: Packed,
}

impl Dense {
    fn new(w: Vec<f32>, b: Vec<f32>, k: usize, n: usize) -> Self {
        let p = Packed::new(&w, k, n);
        Self { w, b, k, n, p }
    }
}

#[derive(Clone, Debug)]
struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

/// One BiLSTM layer. Gate columns, per direction, in the order i, f, g (cell candidate), o.
#[derive(Clone, Debug)]
struct BiLayer {
    /// `[d × 8h]`: the forward direction's four gates, then the reverse direction's; and the
    /// input and hidden biases summed (`[8h]`).
    x: Dense,
    /// Per direction `[h × 4h]`.
    wh: [Vec<f32>; 2],
    wh_p: [Packed; 2],
}

impl BiLayer {
    fn new(x: Dense, wh: [Vec<f32>; 2], h: usize) -> Self {
        let wh_p = [0, 1].map(|dir| Packed::new(&wh[dir], h, 4 * h));
        Self { x, wh, wh_p }
    }
}

/// The fused forward's copy of a `SignalNet`'s weights.
#[derive(Clone, Debug)]
pub struct FusedNet {
    t: usize,
    f: usize,
    d: usize,
    h: usize,
    heads: usize,
    dk: usize,
    input: Dense,
    /// The first BiLSTM layer's input-to-gate product composed with the input projection
    /// (`[f × 8h]`: `W_in · W_x1`, bias `b_in · W_x1 + b_x1`, both summed in f64): the gates
    /// straight from the raw window's `f` features, a quarter of the products of going through
    /// the `d`-wide projection. `input` is still run, for the layer's residual.
    input_gates: Dense,
    lstm: [BiLayer; 2],
    norms: [Norm; 3],
    /// `[d × 3d]`: Q, K, V side by side.
    qkv: Dense,
    attn_out: Dense,
    fc: Dense,
    norm_fc: Norm,
    /// `[d_hidden × 2]`: the profitability logit and the return head.
    head: Dense,
}

/// Why the fused forward cannot serve a model.
#[derive(Debug, thiserror::Error)]
pub enum FusedError {
    #[error("cannot read weight {0}: {1}")]
    Weights(&'static str, String),
    #[error(
        "the fused CPU forward differs from burn's by {diff:.3e} (> {MAX_ABS_DIFF:e}) on the load-time check batch ({what}); set inference.forward = \"burn\" to serve this bundle with burn's forward"
    )]
    Mismatch { diff: f32, what: &'static str },
}

fn values<B: Backend, const D: usize>(
    name: &'static str,
    t: &Tensor<B, D>,
) -> Result<Vec<f32>, FusedError> {
    t.clone()
        .into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .map_err(|e| FusedError::Weights(name, format!("{e:?}")))
}

fn dense<B: Backend>(name: &'static str, l: &burn::nn::Linear<B>) -> Result<Dense, FusedError> {
    let [k, n] = l.weight.val().dims();
    let w = values(name, &l.weight.val())?;
    let b = match &l.bias {
        Some(b) => values(name, &b.val())?,
        None => vec![0.0; n],
    };
    if b.len() != n || w.len() != k * n {
        return Err(FusedError::Weights(name, format!("shape {k}×{n}")));
    }
    Ok(Dense::new(w, b, k, n))
}

fn norm<B: Backend>(name: &'static str, l: &burn::nn::LayerNorm<B>) -> Result<Norm, FusedError> {
    let gamma = values(name, &l.gamma.val())?;
    let beta = match &l.beta {
        Some(b) => values(name, &b.val())?,
        None => vec![0.0; gamma.len()],
    };
    Ok(Norm { gamma, beta })
}

fn bilayer<B: Backend>(
    name: &'static str,
    l: &burn::nn::BiLstm<B>,
    d: usize,
    h: usize,
) -> Result<BiLayer, FusedError> {
    let mut wx = vec![0.0; d * 8 * h];
    let mut b = vec![0.0; 8 * h];
    let mut wh = [vec![0.0; h * 4 * h], vec![0.0; h * 4 * h]];
    for (dir, lstm) in [&l.forward, &l.reverse].into_iter().enumerate() {
        let gates = [
            &lstm.input_gate,
            &lstm.forget_gate,
            &lstm.cell_gate,
            &lstm.output_gate,
        ];
        for (g, gate) in gates.into_iter().enumerate() {
            let x = dense(name, &gate.input_transform)?;
            let hh = dense(name, &gate.hidden_transform)?;
            if (x.k, x.n, hh.k, hh.n) != (d, h, h, h) {
                return Err(FusedError::Weights(name, "gate shape".into()));
            }
            let col = dir * 4 * h + g * h;
            for r in 0..d {
                wx[r * 8 * h + col..r * 8 * h + col + h].copy_from_slice(&x.w[r * h..(r + 1) * h]);
            }
            for j in 0..h {
                b[col + j] = x.b[j] + hh.b[j];
            }
            for r in 0..h {
                wh[dir][r * 4 * h + g * h..r * 4 * h + (g + 1) * h]
                    .copy_from_slice(&hh.w[r * h..(r + 1) * h]);
            }
        }
    }
    Ok(BiLayer::new(Dense::new(wx, b, d, 8 * h), wh, h))
}

impl FusedNet {
    /// Copies `net`'s weights and checks the fused forward against burn's on a fixed batch of
    /// windows `[seq_len × n_features]`.
    pub fn from_net<B: Backend>(
        net: &SignalNet<B>,
        seq_len: usize,
        device: &B::Device,
    ) -> Result<Self, FusedError> {
        let fused = Self::copy(net, seq_len)?;
        fused.check(net, device)?;
        Ok(fused)
    }

    fn copy<B: Backend>(net: &SignalNet<B>, t: usize) -> Result<Self, FusedError> {
        let input = dense("input", &net.input)?;
        let (f, d) = (input.k, input.n);
        let h = d / 2;
        let heads = net.attn.n_heads;
        let (q, k, v) = (
            dense("attn.query", &net.attn.query)?,
            dense("attn.key", &net.attn.key)?,
            dense("attn.value", &net.attn.value)?,
        );
        let mut qkv_w = vec![0.0; d * 3 * d];
        for r in 0..d {
            for (i, m) in [&q, &k, &v].into_iter().enumerate() {
                qkv_w[r * 3 * d + i * d..r * 3 * d + (i + 1) * d]
                    .copy_from_slice(&m.w[r * d..(r + 1) * d]);
            }
        }
        let qkv = Dense::new(qkv_w, [q.b.as_slice(), &k.b, &v.b].concat(), d, 3 * d);
        let (hp, hr) = (
            dense("head_profitable", &net.head_profitable)?,
            dense("head_return", &net.head_return)?,
        );
        let dh = hp.k;
        let mut head_w = vec![0.0; dh * 2];
        for r in 0..dh {
            head_w[2 * r] = hp.w[r];
            head_w[2 * r + 1] = hr.w[r];
        }
        let head = Dense::new(head_w, vec![hp.b[0], hr.b[0]], dh, 2);
        let lstm = [
            bilayer("lstm1", &net.lstm1, d, h)?,
            bilayer("lstm2", &net.lstm2, d, h)?,
        ];
        let input_gates = compose(&input, &lstm[0].x);
        Ok(Self {
            t,
            f,
            d,
            h,
            heads,
            dk: d / heads.max(1),
            input,
            input_gates,
            lstm,
            norms: [
                norm("norm1", &net.norm1)?,
                norm("norm2", &net.norm2)?,
                norm("norm3", &net.norm3)?,
            ],
            qkv,
            attn_out: dense("attn.output", &net.attn.output)?,
            fc: dense("fc", &net.fc)?,
            norm_fc: norm("norm_fc", &net.norm_fc)?,
            head,
        })
    }

    /// Compares with burn's forward on the raw heads of the fixed check batch
    /// ([`check_windows`](super::net::check_windows)).
    fn check<B: Backend>(&self, net: &SignalNet<B>, device: &B::Device) -> Result<(), FusedError> {
        let n = 3;
        let x = super::net::check_windows(self.t, self.f);
        let (logit, ret) = self.forward_raw(&x, n);
        let out = net.forward(Tensor::<B, 3>::from_data(
            TensorData::new(x, [n, self.t, self.f]),
            device,
        ));
        let want_logit = values("check", &out.logit)?;
        let want_ret = values("check", &out.expected_return_bps)?;
        let dl = super::net::max_abs_diff(&logit, &want_logit);
        if dl > MAX_ABS_DIFF {
            return Err(FusedError::Mismatch {
                diff: dl,
                what: "profitability logit",
            });
        }
        // The fused forward's raw return head is in units of RETURN_SCALE_BPS.
        let want_ret: Vec<f32> = want_ret
            .iter()
            .map(|v| v / RETURN_SCALE_BPS as f32)
            .collect();
        let dr = super::net::max_abs_diff(&ret, &want_ret);
        if dr > MAX_ABS_DIFF {
            return Err(FusedError::Mismatch {
                diff: dr,
                what: "return head",
            });
        }
        Ok(())
    }

    /// The weights as a PyTorch `state_dict` of `scripts/reference_model.py`'s `SignalNet`
    /// (`nn.Linear` weights `[out × in]`, `nn.LSTM` gates i, f, g, o stacked, `bias_ih` holding
    /// both biases and `bias_hh` zero, `nn.MultiheadAttention`'s `in_proj` as Q, K, V stacked):
    /// (name, shape, row-major values), in a fixed order.
    pub fn torch_state_dict(&self) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        let (d, h) = (self.d, self.h);
        type Tensors = Vec<(String, Vec<usize>, Vec<f32>)>;
        fn linear(name: &str, l: &Dense, out: &mut Tensors) {
            out.push((
                format!("{name}.weight"),
                vec![l.n, l.k],
                transpose(&l.w, l.k, l.n),
            ));
            out.push((format!("{name}.bias"), vec![l.n], l.b.clone()));
        }
        let mut out = Tensors::new();
        linear("input", &self.input, &mut out);
        let norms = ["norm1", "norm2", "norm3"];
        for (i, layer) in self.lstm.iter().enumerate() {
            for (dir, suffix) in ["", "_reverse"].into_iter().enumerate() {
                let wx: Vec<f32> = (0..d)
                    .flat_map(|r| layer.x.w[r * 8 * h + dir * 4 * h..][..4 * h].to_vec())
                    .collect();
                let name = |w: &str| format!("lstm{}.{w}_l0{suffix}", i + 1);
                out.push((name("weight_ih"), vec![4 * h, d], transpose(&wx, d, 4 * h)));
                out.push((
                    name("weight_hh"),
                    vec![4 * h, h],
                    transpose(&layer.wh[dir], h, 4 * h),
                ));
                out.push((
                    name("bias_ih"),
                    vec![4 * h],
                    layer.x.b[dir * 4 * h..(dir + 1) * 4 * h].to_vec(),
                ));
                out.push((name("bias_hh"), vec![4 * h], vec![0.0; 4 * h]));
            }
            let n = &self.norms[i];
            out.push((format!("{}.weight", norms[i]), vec![d], n.gamma.clone()));
            out.push((format!("{}.bias", norms[i]), vec![d], n.beta.clone()));
        }
        out.push((
            "attn.in_proj_weight".into(),
            vec![3 * d, d],
            transpose(&self.qkv.w, d, 3 * d),
        ));
        out.push(("attn.in_proj_bias".into(), vec![3 * d], self.qkv.b.clone()));
        linear("attn.out_proj", &self.attn_out, &mut out);
        let n = &self.norms[2];
        out.push(("norm3.weight".into(), vec![d], n.gamma.clone()));
        out.push(("norm3.bias".into(), vec![d], n.beta.clone()));
        linear("fc", &self.fc, &mut out);
        let dh = self.fc.n;
        out.push((
            "norm_fc.weight".into(),
            vec![dh],
            self.norm_fc.gamma.clone(),
        ));
        out.push(("norm_fc.bias".into(), vec![dh], self.norm_fc.beta.clone()));
        for (j, name) in ["head_profitable", "head_return"].into_iter().enumerate() {
            let w: Vec<f32> = (0..dh).map(|r| self.head.w[r * 2 + j]).collect();
            out.push((format!("{name}.weight"), vec![1, dh], w));
            out.push((format!("{name}.bias"), vec![1], vec![self.head.b[j]]));
        }
        out
    }

    /// The check batch of [`FusedNet::from_net`]'s kind, for exports: `[n × T × F]`.
    pub fn probe_windows(&self, n: usize) -> Vec<f32> {
        let w = self.t * self.f;
        (0..n * w)
            .map(|i| 3.0 * ((i as f32) * 0.37 + (i / w) as f32).sin())
            .collect()
    }

    /// Floating-point operations (a multiply-add counts two) of this forward's products per
    /// window: what it executes, which is fewer than [`Self::model_flops_per_window`] by the
    /// composed first layer ([`FusedNet`]'s `input_gates`). The cell, softmax and LayerNorm are
    /// not counted.
    pub fn flops_per_window(&self) -> f64 {
        self.products_flops(self.f)
    }

    /// As [`Self::flops_per_window`], for the architecture as written: the first layer's gates
    /// from the `d`-wide projection, what burn's forward and PyTorch's run.
    pub fn model_flops_per_window(&self) -> f64 {
        self.products_flops(self.d)
    }

    /// The products' operations per window, the first layer's gates from `gate_k` inputs.
    fn products_flops(&self, gate_k: usize) -> f64 {
        let (t, f, d, h) = (self.t as f64, self.f as f64, self.d as f64, self.h as f64);
        let per_row = f * d // input projection, for the first residual
            + gate_k as f64 * 8.0 * h // first layer's gates
            + d * 8.0 * h // second layer's gates
            + 2.0 * 2.0 * h * 4.0 * h // recurrent products, two layers and directions
            + d * 3.0 * d // Q, K, V
            + 2.0 * t * d // scores and context over T keys
            + d * d; // attention's output
        let per_window = 2.0 * d * self.fc.n as f64 + self.head.k as f64 * 2.0;
        2.0 * (t * per_row + per_window)
    }

    pub fn seq_len(&self) -> usize {
        self.t
    }

    pub fn n_features(&self) -> usize {
        self.f
    }

    /// `(p_profitable, expected_return_bps)` per window of `x` (`[n × T × F]`, row-major).
    pub fn predict(&self, x: &[f32], n: usize) -> (Vec<f32>, Vec<f32>) {
        let (mut p, mut r) = self.forward_raw(x, n);
        p.iter_mut().for_each(|v| *v = 1.0 / (1.0 + (-*v).exp()));
        r.iter_mut().for_each(|v| *v *= RETURN_SCALE_BPS as f32);
        (p, r)
    }

    /// `(logit, return head in units of 100 bps)` per window.
    pub fn forward_raw(&self, x: &[f32], n: usize) -> (Vec<f32>, Vec<f32>) {
        let w = self.t * self.f;
        assert_eq!(x.len(), n * w, "fused forward: x is not [n × T × F]");
        let mut out = vec![0.0f32; 2 * n];
        if n >= PARALLEL_MIN_BATCH && rayon::current_num_threads() > 1 {
            use rayon::prelude::*;
            let per = n
                .div_ceil(rayon::current_num_threads())
                .max(PARALLEL_MIN_BATCH / 2);
            out.par_chunks_mut(2 * per)
                .zip(x.par_chunks(per * w))
                .for_each(|(o, x)| self.run(x, x.len() / w, o));
        } else {
            self.run(x, n, &mut out);
        }
        let (logit, ret) = out.chunks_exact(2).map(|c| (c[0], c[1])).unzip();
        (logit, ret)
    }

    /// The forward of `n` windows on this thread's scratch, [`SUB_BATCH`] at a time; writes
    /// `[n × 2]` into `out`.
    fn run(&self, x: &[f32], n: usize, out: &mut [f32]) {
        let w = self.t * self.f;
        SCRATCH.with(|s| {
            let s = &mut *s.borrow_mut();
            for (x, out) in x[..n * w]
                .chunks(SUB_BATCH * w)
                .zip(out.chunks_mut(2 * SUB_BATCH))
            {
                self.run_with(s, x, x.len() / w, out);
            }
        });
    }

    fn run_with(&self, s: &mut Scratch, x: &[f32], n: usize, out: &mut [f32]) {
        let (t, d, h) = (self.t, self.d, self.h);
        let rows = n * t;
        grow(&mut s.a, rows * d);
        grow(&mut s.b, rows * d);
        // Gates of both directions (8h = 4d) or Q, K, V (3d) per row.
        grow(&mut s.g, rows * 4 * d);
        grow(&mut s.hs, n * h);
        grow(&mut s.cs, n * h);
        grow(&mut s.scores, t * t);
        grow(&mut s.z, n * 2 * d);
        grow(&mut s.y, n * self.fc.n);

        // Input projection: a = x · W_in + b.
        linear(&self.input, x, rows, &mut s.a[..rows * d]);
        // Two BiLSTM layers with residual and LayerNorm, each: b = BiLSTM(a), a = LN(b + a);
        // the first layer's gates come from x through the composed product.
        for (i, (layer, norm)) in self.lstm.iter().zip(&self.norms).enumerate() {
            let g = &mut s.g[..rows * 8 * h];
            if i == 0 {
                linear(&self.input_gates, x, rows, g);
            } else {
                linear(&layer.x, &s.a[..rows * d], rows, g);
            }
            self.bilstm(layer, s, n);
            let (a, b) = (&mut s.a[..rows * d], &s.b[..rows * d]);
            add_norm(a, b, norm, d);
        }
        // Self-attention: g = a · [Wq Wk Wv] + b; b = context; then a = LN(b · Wo + bo + a).
        let g = &mut s.g[..rows * 3 * d];
        linear(&self.qkv, &s.a[..rows * d], rows, g);
        let scale = 1.0 / (self.dk as f32).sqrt();
        let dk = self.dk;
        for w in 0..n {
            for e in 0..self.heads {
                let base = w * t * 3 * d + e * dk;
                let (q, k, v) = (&g[base..], &g[base + d..], &g[base + 2 * d..]);
                // scores = q · kᵀ · scale ([T × dk] · [dk × T]), rows of g at stride 3d.
                s.kt.repack(k, (dk, t), (1, 3 * d));
                let sc = &mut s.scores[..t * t];
                gemm_set(t, q, 3 * d, &s.kt, sc, t);
                scaled_softmax(sc, t, scale);
                // context = softmax(scores) · v, into this head's columns of the window's rows.
                s.v.repack(v, (t, dk), (3 * d, 1));
                let ctx = &mut s.b[w * t * d..(w + 1) * t * d];
                gemm_set(t, &s.scores[..t * t], t, &s.v, &mut ctx[e * dk..], d);
            }
        }
        linear(&self.attn_out, &s.b[..rows * d], rows, &mut s.g[..rows * d]);
        add_norm(&mut s.a[..rows * d], &s.g[..rows * d], &self.norms[2], d);
        // z = [last step, mean over T] per window.
        let z = &mut s.z[..n * 2 * d];
        for w in 0..n {
            let win = &s.a[w * t * d..(w + 1) * t * d];
            let (last, mean) = z[w * 2 * d..(w + 1) * 2 * d].split_at_mut(d);
            last.copy_from_slice(&win[(t - 1) * d..]);
            mean.fill(0.0);
            for step in win.chunks_exact(d) {
                for (m, v) in mean.iter_mut().zip(step) {
                    *m += v;
                }
            }
            let inv = 1.0 / t as f32;
            mean.iter_mut().for_each(|m| *m *= inv);
        }
        let dh = self.fc.n;
        let y = &mut s.y[..n * dh];
        linear(&self.fc, z, n, y);
        y.iter_mut().for_each(|v| *v = v.max(0.0));
        layer_norm(y, &self.norm_fc, dh);
        linear(&self.head, y, n, &mut out[..2 * n]);
    }

    /// One BiLSTM layer's recurrence from its input-to-gate products in `s.g` (`[n·T × 8h]`, both
    /// directions) into `s.b` (`[n·T × d]`).
    fn bilstm(&self, l: &BiLayer, s: &mut Scratch, n: usize) {
        let (t, d, h) = (self.t, self.d, self.h);
        let rows = n * t;
        let g = &mut s.g[..rows * 8 * h];
        for dir in 0..2 {
            let hs = &mut s.hs[..n * h];
            let cs = &mut s.cs[..n * h];
            hs.fill(0.0);
            cs.fill(0.0);
            for step in 0..t {
                let ti = if dir == 0 { step } else { t - 1 - step };
                // gates[w] = g[w·T + ti, dir·4h ..] += h_prev[w] · W_h (in place, strided rows).
                let at = ti * 8 * h + dir * 4 * h;
                if step > 0 {
                    gemm_acc(n, hs, h, &l.wh_p[dir], &mut g[at..], t * 8 * h);
                }
                lstm_cells(g, at, t * 8 * h, h, cs, hs);
                for (w, hw) in hs.chunks_exact(h).enumerate() {
                    let row = (w * t + ti) * d + dir * h;
                    s.b[row..row + h].copy_from_slice(hw);
                }
            }
        }
    }
}

/// Per-thread buffers, grown to the largest batch seen and reused.
#[derive(Default)]
struct Scratch {
    a: Vec<f32>,
    b: Vec<f32>,
    g: Vec<f32>,
    hs: Vec<f32>,
    cs: Vec<f32>,
    scores: Vec<f32>,
    z: Vec<f32>,
    y: Vec<f32>,
    /// Attention's keys (transposed) and values of one window and head, packed.
    kt: Packed,
    v: Packed,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// `first` then `second` as one dense layer: `w = w₁ · w₂`, `b = b₁ · w₂ + b₂`, summed in f64
/// so that the composed weights are the exact products rounded once.
fn compose(first: &Dense, second: &Dense) -> Dense {
    let (k, m, n) = (first.k, first.n, second.n);
    debug_assert_eq!(second.k, m);
    let mut w = vec![0.0f64; k * n];
    let mut b: Vec<f64> = second.b.iter().map(|&v| f64::from(v)).collect();
    for j in 0..m {
        let row = &second.w[j * n..(j + 1) * n];
        for r in 0..k {
            let a = f64::from(first.w[r * m + j]);
            for (o, &v) in w[r * n..(r + 1) * n].iter_mut().zip(row) {
                *o += a * f64::from(v);
            }
        }
        let a = f64::from(first.b[j]);
        for (o, &v) in b.iter_mut().zip(row) {
            *o += a * f64::from(v);
        }
    }
    let narrow = |v: Vec<f64>| v.into_iter().map(|v| v as f32).collect();
    Dense::new(narrow(w), narrow(b), k, n)
}

/// `[rows × cols]` row-major → `[cols × rows]` row-major.
fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0; m.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = m[r * cols + c];
        }
    }
    t
}

fn grow(v: &mut Vec<f32>, len: usize) {
    if v.len() < len {
        v.resize(len, 0.0);
    }
}

/// `y = x · w + b` for `rows` rows of `x` (`[rows × k]`).
fn linear(l: &Dense, x: &[f32], rows: usize, y: &mut [f32]) {
    gemm_bias(rows, x, l.k, &l.p, &l.b, y, l.n);
}

/// `a = LayerNorm(a + b)` row by row: [`avx512::add_norm`] where the CPU has AVX-512, else
/// [`add_norm_portable`].
fn add_norm(a: &mut [f32], b: &[f32], norm: &Norm, d: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F.
        unsafe { avx512::add_norm(a, b, norm, d) };
        return;
    }
    add_norm_portable(a, b, norm, d);
}

multiversion! {
    /// [`add_norm`] with [`layer_norm_row`], vectorised by the compiler.
    fn add_norm_portable(a: &mut [f32], b: &[f32], norm: &Norm, d: usize) {
        for (ra, rb) in a.chunks_exact_mut(d).zip(b.chunks_exact(d)) {
            for (x, y) in ra.iter_mut().zip(rb) {
                *x += y;
            }
            layer_norm_row(ra, norm);
        }
    }
}

multiversion! {
    /// LayerNorm of each row of `x` (`d` wide).
    fn layer_norm(x: &mut [f32], n: &Norm, d: usize) {
        for row in x.chunks_exact_mut(d) {
            layer_norm_row(row, n);
        }
    }
}

/// Biased variance, as burn's `layer_norm`.
#[inline(always)]
fn layer_norm_row(x: &mut [f32], n: &Norm) {
    let len = x.len() as f32;
    let mean = lanes(x, 0.0, |acc, v| acc + v).iter().sum::<f32>() / len;
    let var = lanes(x, 0.0, |acc, v| acc + (v - mean) * (v - mean))
        .iter()
        .sum::<f32>()
        / len;
    let inv = 1.0 / (var + LN_EPS).sqrt();
    for ((v, g), b) in x.iter_mut().zip(&n.gamma).zip(&n.beta) {
        *v = (*v - mean) * inv * g + b;
    }
}

/// A reduction over 16 independent lanes (the tail folded into them), so the loop vectorises
/// where a single running value would serialise on its own latency.
#[inline(always)]
fn lanes(x: &[f32], init: f32, f: impl Fn(f32, f32) -> f32) -> [f32; 16] {
    let mut acc = [init; 16];
    let mut chunks = x.chunks_exact(16);
    for c in &mut chunks {
        for i in 0..16 {
            acc[i] = f(acc[i], c[i]);
        }
    }
    for (i, v) in chunks.remainder().iter().enumerate() {
        acc[i] = f(acc[i], *v);
    }
    acc
}

/// Each `t`-wide row of `scores` scaled by `scale`, then softmax: [`avx512::scaled_softmax`]
/// where the CPU has AVX-512, else [`scaled_softmax_portable`].
fn scaled_softmax(scores: &mut [f32], t: usize, scale: f32) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F.
        unsafe { avx512::scaled_softmax(scores, t, scale) };
        return;
    }
    scaled_softmax_portable(scores, t, scale);
}

multiversion! {
    /// [`scaled_softmax`] with the scalar [`exp_approx`], vectorised by the compiler.
    fn scaled_softmax_portable(scores: &mut [f32], t: usize, scale: f32) {
        for row in scores.chunks_exact_mut(t) {
            row.iter_mut().for_each(|v| *v *= scale);
            let max = lanes(row, f32::NEG_INFINITY, f32::max)
                .into_iter()
                .fold(f32::NEG_INFINITY, f32::max);
            row.iter_mut().for_each(|v| *v = exp_approx(*v - max));
            let inv = 1.0 / lanes(row, 0.0, |acc, v| acc + v).iter().sum::<f32>();
            row.iter_mut().for_each(|v| *v *= inv);
        }
    }
}

/// exp's range reduction: ln 2 split so n·LN2_HI is exact for |n| < 2^9.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// e^r = 1 + r + r²·p(r) for |r| ≤ ln2/2: p's coefficients (Cephes), highest degree first.
const EXP_POLY: [f32; 6] = [
    1.987_569_1e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    1.666_666_5e-1,
    0.5,
];
/// Below this input e^x would be subnormal; clamped.
const EXP_MIN: f32 = -87.3;
/// The AVX-512 exponentials' polynomial: e^r = 1 + r·(1 + r·q(r)) for |r| ≤ ln2/2, q's
/// coefficients highest degree first (`scripts/fit_exp_poly.py`: a fit to the relative error of
/// e^r, 3e-9 before f32 rounding). Degree 6 in all, where Cephes' [`EXP_POLY`] is degree 7 with
/// the 1 + r outside its Horner chain: two operations fewer per exponential, and the leading 1 and
/// r exact, so `r·(1 + r·q)` is e^r − 1 to the last bits near 0.
const EXP_Q: [f32; 5] = [
    1.381_457_8e-3,
    8.368_703e-3,
    4.166_839e-2,
    1.666_652_1e-1,
    0.499_999_94,
];
/// tanh(x) = x·s(x²) below |x| = [`TANH_SERIES_BELOW`]: s's coefficients, highest degree first.
const TANH_SERIES: [f32; 5] = [62.0 / 2835.0, -17.0 / 315.0, 2.0 / 15.0, -1.0 / 3.0, 1.0];
const TANH_SERIES_BELOW: f32 = 0.125;

/// e^x for one value, branch-free (so loops over it vectorise): x = n·ln2 + r with |r| ≤ ln2/2,
/// e^r by Cephes' degree-6 polynomial, 2^n put into the exponent bits. Inputs are clamped to
/// [-87.3, 88.7], where e^x is a normal f32.
#[inline(always)]
pub fn exp_approx(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    let x = x.clamp(EXP_MIN, 88.7);
    // Round to nearest by adding and removing 1.5·2^23 (plain adds: `f32::round` would be a
    // libm call that stops the loop from vectorising).
    const MAGIC: f32 = 12_582_912.0;
    let shifted = x * LOG2E + MAGIC;
    let n = shifted - MAGIC;
    let r = x - n * LN2_HI - n * LN2_LO;
    let r2 = r * r;
    let p = EXP_POLY[1..].iter().fold(EXP_POLY[0], |p, c| p * r + c);
    let e = p * r2 + r + 1.0;
    // 2^n from the integer in `shifted`'s low mantissa bits (its ulp is 1): integer lanes,
    // where `n as i32` would be a saturating scalar conversion that stops the loop vectorising.
    let k = shifted.to_bits().wrapping_sub(MAGIC.to_bits()) as i32;
    let scale = f32::from_bits((k.wrapping_add(127) as u32) << 23);
    e * scale
}

/// σ(x) = 1 / (1 + e^{−x}).
#[inline(always)]
pub fn sigmoid_approx(x: f32) -> f32 {
    1.0 / (1.0 + exp_approx(-x))
}

/// tanh(x): `(1 − e^{−2|x|}) / (1 + e^{−2|x|})` with x's sign, and an odd series below
/// |x| = 0.125, where the subtraction would lose the relative accuracy.
#[inline(always)]
pub fn tanh_approx(x: f32) -> f32 {
    let a = x.abs();
    let e = exp_approx(-2.0 * a);
    let big = (1.0 - e) / (1.0 + e);
    let x2 = x * x;
    let small = a * TANH_SERIES[1..]
        .iter()
        .fold(TANH_SERIES[0], |s, c| s * x2 + c);
    let t = if a < TANH_SERIES_BELOW { small } else { big };
    t.copysign(x)
}

/// One LSTM cell step of the `n = c.len() / h` windows of a sub-batch: window `w`'s gates (`[4h]`,
/// i f g o pre-activations) at `g[at + w·stride..]`, its cell and hidden states `c` and `hw` at
/// `[w·h..(w + 1)·h]`, updated in place: c = σ(f)·c + σ(i)·tanh(g), h = σ(o)·tanh(c). AVX-512 has
/// cells of its own ([`avx512::lstm_cells`]); the others compile [`lstm_cell_portable`] for
/// their features, a window at a time.
fn lstm_cells(g: &[f32], at: usize, stride: usize, h: usize, c: &mut [f32], hw: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F.
        unsafe { avx512::lstm_cells(g, at, stride, h, c, hw) };
        return;
    }
    for (w, (c, hw)) in c
        .chunks_exact_mut(h)
        .zip(hw.chunks_exact_mut(h))
        .enumerate()
    {
        lstm_cell_portable(&g[at + w * stride..][..4 * h], c, hw);
    }
}

multiversion! {
    /// One window's cell from the scalar [`sigmoid_approx`] and [`tanh_approx`], vectorised by
    /// the compiler.
    fn lstm_cell_portable(gates: &[f32], c: &mut [f32], hw: &mut [f32]) {
        let h = c.len();
        let (i, rest) = gates[..4 * h].split_at(h);
        let (f, rest) = rest.split_at(h);
        let (g, o) = rest.split_at(h);
        let gates = i.iter().zip(f).zip(g.iter().zip(o));
        for ((c, hw), ((i, f), (g, o))) in c.iter_mut().zip(hw.iter_mut()).zip(gates) {
            *c = sigmoid_approx(*f) * *c + sigmoid_approx(*i) * tanh_approx(*g);
            *hw = tanh_approx(*c) * sigmoid_approx(*o);
        }
    }
}

/// The LSTM cell, attention's softmax and the residual LayerNorm with AVX-512 intrinsics:
/// [`exp_approx`]'s range reduction with the fitted polynomial [`EXP_Q`], fused multiply-adds and
/// `vscalefps` for 2^n, tanh from one `expm1`, and each division of σ and tanh as a 14-bit
/// reciprocal estimate refined by one Newton step (relative error ≈ 2^-28 before rounding). The
/// compiler's vectorisation of the portable code kept five divisions per hidden unit and step (a
/// `vdivps` issues every 8-10 cycles) and no FMA. The softmax takes rows four at a time and the
/// LayerNorm two (for d ≤ 128) in registers: each row is a chain of reductions that the core
/// otherwise ran one row after another. Each step here was measured by perf's share of the
/// forward's samples and interleaved A/B runs (`git log` has the numbers); together the cell,
/// softmax and LayerNorm went from ≈ 24 % of the forward to ≈ 15 %, the cell (≈ 10 %) bound on
/// its arithmetic: five exponentials per hidden unit and step.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{EXP_MIN, EXP_Q};
    use std::arch::x86_64::*;

    /// n = round(x / ln 2) and r = x − n·ln 2 (|r| ≤ ln2/2) in one fused multiply-add: n·ln 2 is
    /// not rounded, so the only error is f32's ln 2 (off by 1.9e-9), at most 2.4e-7 relative in
    /// e^x at |n| = 126 and 3e-8 for the cell's gates (|x| ≤ 12); the scalar code, without a
    /// fused multiply-add, splits ln 2 in two instead.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn reduce(x: __m512) -> (__m512, __m512) {
        let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
            _mm512_mul_ps(x, _mm512_set1_ps(std::f32::consts::LOG2_E)),
        );
        (
            n,
            _mm512_fnmadd_ps(n, _mm512_set1_ps(std::f32::consts::LN_2), x),
        )
    }

    /// 1 + r·q(r) ([`EXP_Q`]): e^r = 1 + r·p.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn exp_p(r: __m512) -> __m512 {
        let mut q = _mm512_set1_ps(EXP_Q[0]);
        for &coef in &EXP_Q[1..] {
            q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(coef));
        }
        _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.0))
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn exp(x: __m512) -> __m512 {
        // Clamped so that 2^n stays finite (σ's reciprocal of an infinity would be NaN).
        let x = _mm512_min_ps(
            _mm512_max_ps(x, _mm512_set1_ps(EXP_MIN)),
            _mm512_set1_ps(88.0),
        );
        let (n, r) = reduce(x);
        _mm512_scalef_ps(_mm512_fmadd_ps(exp_p(r), r, _mm512_set1_ps(1.0)), n)
    }

    /// 1/x for finite |x| ≥ 1.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn recip(x: __m512) -> __m512 {
        let r = _mm512_rcp14_ps(x);
        _mm512_fmadd_ps(_mm512_fnmadd_ps(x, r, _mm512_set1_ps(1.0)), r, r)
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn sigmoid(x: __m512) -> __m512 {
        // e^{−x} without negating x: n = round(−x / ln 2) and ρ = x + n·ln 2 = −r, so
        // e^{−x} = 2^n·e^{−ρ} = 2^n·(1 − ρ·(1 − ρ·q(−ρ))), q(−ρ) from the coefficients with
        // alternate signs. The clamp keeps −x in exp's range.
        let x = _mm512_min_ps(
            _mm512_max_ps(x, _mm512_set1_ps(-88.0)),
            _mm512_set1_ps(-EXP_MIN),
        );
        let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
            _mm512_mul_ps(x, _mm512_set1_ps(-std::f32::consts::LOG2_E)),
        );
        let rho = _mm512_fmadd_ps(n, _mm512_set1_ps(std::f32::consts::LN_2), x);
        let mut q = _mm512_set1_ps(EXP_Q[0]);
        for (k, &coef) in EXP_Q[1..].iter().enumerate() {
            // q(−ρ): the coefficient of ρ^j carries (−1)^j, and EXP_Q[k + 1] is that of
            // ρ^(3 − k).
            let coef = if k % 2 == 0 { -coef } else { coef };
            q = _mm512_fmadd_ps(q, rho, _mm512_set1_ps(coef));
        }
        let p = _mm512_fnmadd_ps(q, rho, _mm512_set1_ps(1.0));
        let e = _mm512_scalef_ps(_mm512_fnmadd_ps(p, rho, _mm512_set1_ps(1.0)), n);
        recip(_mm512_add_ps(_mm512_set1_ps(1.0), e))
    }

    /// e^x − 1 for x ≤ 88 (no clamp: the caller's), relative to the result also near 0, where
    /// `exp(x) − 1` would cancel: with x = n·ln 2 + r, e^r − 1 = r·(1 + r·q(r)) carries no 1, and
    /// e^x − 1 = 2^n·(e^r − 1) + (2^n − 1), where 2^n − 1 is exact and is 0 for |x| < ln2/2.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn expm1(x: __m512) -> __m512 {
        let (n, r) = reduce(x);
        let q = _mm512_mul_ps(r, exp_p(r));
        let two_n = _mm512_scalef_ps(_mm512_set1_ps(1.0), n);
        _mm512_fmadd_ps(two_n, q, _mm512_sub_ps(two_n, _mm512_set1_ps(1.0)))
    }

    /// tanh(x) = (e^{−2x} − 1) / (−2 − (e^{−2x} − 1)) with x clamped to ±9 (where tanh is ±1 in
    /// f32): one `expm1`, relative to the result at every x, so neither |x| and the sign put
    /// back nor the series that [`super::tanh_approx`] needs near 0; the denominator's magnitude
    /// is at least 1, as [`recip`] needs.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(super) fn tanh(x: __m512) -> __m512 {
        let x = _mm512_min_ps(
            _mm512_max_ps(x, _mm512_set1_ps(-TANH_CLAMP)),
            _mm512_set1_ps(TANH_CLAMP),
        );
        let em1 = expm1(_mm512_mul_ps(_mm512_set1_ps(-2.0), x));
        _mm512_mul_ps(em1, recip(_mm512_sub_ps(_mm512_set1_ps(-2.0), em1)))
    }

    /// Beyond ±9 tanh rounds to ±1 in f32, and e^18 is far from overflowing.
    const TANH_CLAMP: f32 = 9.0;

    /// Lanes `j..j + 16` of a row of `len`: all, the row's tail, or none for a block past the
    /// row (so a block of a fixed register array is neither read nor written, nor summed).
    #[inline]
    fn tail_mask(len: usize, j: usize) -> __mmask16 {
        match len.saturating_sub(j) {
            left @ 0..16 => (1 << left) - 1,
            _ => 0xFFFF,
        }
    }

    /// [`super::scaled_softmax`], 16 scores at a time (a row's last block masked), the scale
    /// folded into the exponent: e^{s·x − s·max x} with one fused multiply-add, as s > 0 makes
    /// max(s·x) = s·max(x), so no pass stores the scaled scores. Rows of up to 64 (the served
    /// model's 60) go through [`softmax_rows`] four at a time, in registers from load to store.
    #[target_feature(enable = "avx512f")]
    pub(super) fn scaled_softmax(scores: &mut [f32], t: usize, scale: f32) {
        let s = _mm512_set1_ps(scale);
        let neg_inf = _mm512_set1_ps(f32::NEG_INFINITY);
        if t <= 64 {
            // Four rows at a time: each row is a chain (max, its reduction, exp, sum, its
            // reduction, scale) that the core ran mostly one after another; rows written side by
            // side overlap (two took the softmax from 6.3 % of the forward to 3.8 %, four to 3 %).
            let mut quads = scores.chunks_exact_mut(4 * t);
            for quad in &mut quads {
                // SAFETY: 4t floats, rows at 0, t, 2t and 3t.
                unsafe { softmax_rows::<4>(quad.as_mut_ptr(), t, scale) };
            }
            for row in quads.into_remainder().chunks_exact_mut(t) {
                // SAFETY: the row is t floats.
                unsafe { softmax_rows::<1>(row.as_mut_ptr(), t, scale) };
            }
            return;
        }
        for row in scores.chunks_exact_mut(t) {
            let p = row.as_mut_ptr();
            let mut max = neg_inf;
            // SAFETY (each block below): lanes j..j + 16 masked to the row's t.
            for j in (0..t).step_by(16) {
                unsafe {
                    max = _mm512_max_ps(
                        max,
                        _mm512_mask_loadu_ps(neg_inf, tail_mask(t, j), p.add(j)),
                    )
                };
            }
            let off = _mm512_set1_ps(-scale * _mm512_reduce_max_ps(max));
            let mut sum = _mm512_setzero_ps();
            for j in (0..t).step_by(16) {
                let m = tail_mask(t, j);
                unsafe {
                    let x = _mm512_maskz_loadu_ps(m, p.add(j));
                    let e = _mm512_maskz_mov_ps(m, exp(_mm512_fmadd_ps(x, s, off)));
                    _mm512_mask_storeu_ps(p.add(j), m, e);
                    sum = _mm512_add_ps(sum, e);
                }
            }
            let inv = _mm512_set1_ps(1.0 / _mm512_reduce_add_ps(sum));
            for j in (0..t).step_by(16) {
                let m = tail_mask(t, j);
                unsafe {
                    let v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, p.add(j)), inv);
                    _mm512_mask_storeu_ps(p.add(j), m, v);
                }
            }
        }
    }

    /// Softmax of `R` rows of `t ≤ 64` scores from `p` (rows `t` apart), the scale folded into
    /// the exponent, each row in four registers from load to store.
    ///
    /// # Safety
    /// `p` points at `R·t` floats, and the CPU has AVX-512F.
    #[inline]
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::needless_range_loop)] // loops, not closures: see `add_norm_rows`
    unsafe fn softmax_rows<const R: usize>(p: *mut f32, t: usize, scale: f32) {
        let s = _mm512_set1_ps(scale);
        let neg_inf = _mm512_set1_ps(f32::NEG_INFINITY);
        let masks: [__mmask16; 4] = std::array::from_fn(|b| tail_mask(t, 16 * b));
        let mut v = [[neg_inf; 4]; R];
        let mut off = [neg_inf; R];
        for r in 0..R {
            for b in 0..4 {
                // SAFETY: row r's lanes 16b..16b + 16, masked to t.
                v[r][b] = unsafe { _mm512_mask_loadu_ps(neg_inf, masks[b], p.add(r * t + 16 * b)) };
            }
            let max = _mm512_max_ps(
                _mm512_max_ps(v[r][0], v[r][1]),
                _mm512_max_ps(v[r][2], v[r][3]),
            );
            off[r] = _mm512_set1_ps(-scale * _mm512_reduce_max_ps(max));
        }
        for r in 0..R {
            for b in 0..4 {
                v[r][b] = _mm512_maskz_mov_ps(masks[b], exp(_mm512_fmadd_ps(v[r][b], s, off[r])));
            }
        }
        for r in 0..R {
            let e = &v[r];
            let sum = _mm512_add_ps(_mm512_add_ps(e[0], e[1]), _mm512_add_ps(e[2], e[3]));
            let inv = _mm512_set1_ps(1.0 / _mm512_reduce_add_ps(sum));
            for b in 0..4 {
                // SAFETY: as above.
                unsafe {
                    _mm512_mask_storeu_ps(p.add(r * t + 16 * b), masks[b], _mm512_mul_ps(e[b], inv))
                };
            }
        }
    }

    /// [`super::add_norm`], 16 columns at a time (a row's last block masked): the sums by
    /// `vaddps` trees instead of the portable code's 16-lane arrays folded by a chain of scalar
    /// adds, which left every row waiting about a hundred cycles on its two reductions.
    #[target_feature(enable = "avx512f")]
    pub(super) fn add_norm(a: &mut [f32], b: &[f32], norm: &super::Norm, d: usize) {
        assert!(
            a.len().is_multiple_of(d)
                && b.len() >= a.len()
                && norm.gamma.len() == d
                && norm.beta.len() == d,
            "add_norm: shapes"
        );
        let (gamma, beta) = (norm.gamma.as_ptr(), norm.beta.as_ptr());
        if d <= 128 {
            // Two rows at a time, in registers: as in `scaled_softmax`, two rows' chains of
            // reductions overlap where one row's ran alone.
            let mut pairs = a.chunks_exact_mut(2 * d);
            let mut at = 0;
            for pair in &mut pairs {
                // SAFETY: the pair is 2d floats of a and b from `at`, γ and β d floats.
                unsafe {
                    add_norm_rows::<2>(pair.as_mut_ptr(), b.as_ptr().add(at), gamma, beta, d)
                };
                at += 2 * d;
            }
            for row in pairs.into_remainder().chunks_exact_mut(d) {
                // SAFETY: as above, one row.
                unsafe { add_norm_rows::<1>(row.as_mut_ptr(), b.as_ptr().add(at), gamma, beta, d) };
            }
            return;
        }
        for (ra, rb) in a.chunks_exact_mut(d).zip(b.chunks_exact(d)) {
            let (pa, pb) = (ra.as_mut_ptr(), rb.as_ptr());
            let mut sum = _mm512_setzero_ps();
            // SAFETY (each block below): lanes j..j + 16 masked to the row's d, and γ and β
            // are d long (asserted); masked-off lanes are neither read nor written.
            for j in (0..d).step_by(16) {
                let m = tail_mask(d, j);
                unsafe {
                    let x = _mm512_add_ps(
                        _mm512_maskz_loadu_ps(m, pa.add(j)),
                        _mm512_maskz_loadu_ps(m, pb.add(j)),
                    );
                    _mm512_mask_storeu_ps(pa.add(j), m, x);
                    sum = _mm512_add_ps(sum, x);
                }
            }
            let mean = _mm512_set1_ps(_mm512_reduce_add_ps(sum) / d as f32);
            let mut sq = _mm512_setzero_ps();
            for j in (0..d).step_by(16) {
                let m = tail_mask(d, j);
                unsafe {
                    let c = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, pa.add(j)), mean);
                    sq = _mm512_fmadd_ps(c, c, sq);
                }
            }
            let var = _mm512_reduce_add_ps(sq) / d as f32;
            let inv = _mm512_set1_ps(1.0 / (var + super::LN_EPS).sqrt());
            for j in (0..d).step_by(16) {
                let m = tail_mask(d, j);
                unsafe {
                    let c = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, pa.add(j)), mean);
                    let y = _mm512_fmadd_ps(
                        _mm512_mul_ps(c, inv),
                        _mm512_maskz_loadu_ps(m, gamma.add(j)),
                        _mm512_maskz_loadu_ps(m, beta.add(j)),
                    );
                    _mm512_mask_storeu_ps(pa.add(j), m, y);
                }
            }
        }
    }

    /// `a = LayerNorm(a + b)` for `R` rows of `d ≤ 128` from `a` and `b` (rows `d` apart), each
    /// row in eight registers from load to store.
    ///
    /// # Safety
    /// `a` and `b` point at `R·d` floats, `gamma` and `beta` at `d`, and the CPU has AVX-512F.
    #[inline]
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::needless_range_loop)]
    unsafe fn add_norm_rows<const R: usize>(
        a: *mut f32,
        b: *const f32,
        gamma: *const f32,
        beta: *const f32,
        d: usize,
    ) {
        // Plain loops over the register arrays: closures (`array::from_fn`) do not inherit
        // `target_feature`, and the intrinsics in them became calls.
        let masks: [__mmask16; 8] = std::array::from_fn(|k| tail_mask(d, 16 * k));
        let len = d as f32;
        let mut x = [[_mm512_setzero_ps(); 8]; R];
        let mut mean = [_mm512_setzero_ps(); R];
        for r in 0..R {
            for k in 0..8 {
                let at = r * d + 16 * k;
                // SAFETY: row r's lanes 16k..16k + 16 of a and b, masked to d.
                x[r][k] = unsafe {
                    _mm512_add_ps(
                        _mm512_maskz_loadu_ps(masks[k], a.add(at)),
                        _mm512_maskz_loadu_ps(masks[k], b.add(at)),
                    )
                };
            }
            mean[r] = _mm512_set1_ps(_mm512_reduce_add_ps(tree_sum(x[r])) / len);
        }
        let mut inv = [_mm512_setzero_ps(); R];
        for r in 0..R {
            let mut sq = [_mm512_setzero_ps(); 8];
            for k in 0..8 {
                x[r][k] = _mm512_maskz_sub_ps(masks[k], x[r][k], mean[r]);
                sq[k] = _mm512_mul_ps(x[r][k], x[r][k]);
            }
            let var = _mm512_reduce_add_ps(tree_sum(sq)) / len;
            inv[r] = _mm512_set1_ps(1.0 / (var + super::LN_EPS).sqrt());
        }
        for r in 0..R {
            for k in 0..8 {
                // SAFETY: as above, and γ's and β's lanes 16k..16k + 16 masked to d.
                unsafe {
                    let y = _mm512_fmadd_ps(
                        _mm512_mul_ps(x[r][k], inv[r]),
                        _mm512_maskz_loadu_ps(masks[k], gamma.add(16 * k)),
                        _mm512_maskz_loadu_ps(masks[k], beta.add(16 * k)),
                    );
                    _mm512_mask_storeu_ps(a.add(r * d + 16 * k), masks[k], y);
                }
            }
        }
    }

    /// The sum of eight registers as a tree of three levels.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn tree_sum(v: [__m512; 8]) -> __m512 {
        let q = [
            _mm512_add_ps(v[0], v[1]),
            _mm512_add_ps(v[2], v[3]),
            _mm512_add_ps(v[4], v[5]),
            _mm512_add_ps(v[6], v[7]),
        ];
        _mm512_add_ps(_mm512_add_ps(q[0], q[1]), _mm512_add_ps(q[2], q[3]))
    }

    /// [`super::lstm_cells`], 16 hidden units at a time (a window's last block masked), in two
    /// passes: the gates of every window (c updated, σ(o) parked in `hw`), then h = tanh(c)·σ(o)
    /// over all of them. A pass is a flat run of independent chains the core overlaps, where one
    /// window's cell in one piece left its last tanh waiting on its first three gates (about
    /// 40 dependent operations) with little else to run.
    #[target_feature(enable = "avx512f")]
    pub(super) fn lstm_cells(
        g: &[f32],
        at: usize,
        stride: usize,
        h: usize,
        c: &mut [f32],
        hw: &mut [f32],
    ) {
        let n = c.len() / h;
        assert!(
            c.len() == n * h
                && hw.len() == n * h
                && (n == 0 || at + (n - 1) * stride + 4 * h <= g.len()),
            "lstm_cells: shapes"
        );
        for w in 0..n {
            for j in (0..h).step_by(16) {
                let mask = tail_mask(h, j);
                // SAFETY: window w's gate k, lanes j..j + 16 (masked to h), lies in
                // `g[at + w·stride + k·h..][..h]` (asserted above), and its c and hw lanes in
                // `[w·h..(w + 1)·h]`; masked-off lanes are neither read nor written.
                unsafe {
                    let gp = g.as_ptr().add(at + w * stride + j);
                    let i = _mm512_maskz_loadu_ps(mask, gp);
                    let f = _mm512_maskz_loadu_ps(mask, gp.add(h));
                    let gg = _mm512_maskz_loadu_ps(mask, gp.add(2 * h));
                    let o = _mm512_maskz_loadu_ps(mask, gp.add(3 * h));
                    let cp = c.as_mut_ptr().add(w * h + j);
                    let cv = _mm512_maskz_loadu_ps(mask, cp);
                    let cn = _mm512_fmadd_ps(sigmoid(f), cv, _mm512_mul_ps(sigmoid(i), tanh(gg)));
                    _mm512_mask_storeu_ps(cp, mask, cn);
                    _mm512_mask_storeu_ps(hw.as_mut_ptr().add(w * h + j), mask, sigmoid(o));
                }
            }
        }
        let len = n * h;
        for j in (0..len).step_by(16) {
            let mask = tail_mask(len, j);
            // SAFETY: lanes j..j + 16 masked to c's and hw's len.
            unsafe {
                let hp = hw.as_mut_ptr().add(j);
                let cv = _mm512_maskz_loadu_ps(mask, c.as_ptr().add(j));
                let o = _mm512_maskz_loadu_ps(mask, hp);
                _mm512_mask_storeu_ps(hp, mask, _mm512_mul_ps(tanh(cv), o));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SignalNetConfig;
    use crate::model::backend::{InferBackend, device};

    fn rel(a: f32, b: f64) -> f64 {
        ((a as f64 - b) / b.abs().max(f64::MIN_POSITIVE)).abs()
    }

    #[test]
    fn exp_sigmoid_and_tanh_are_within_1e_6_relative() {
        let (mut e, mut s, mut t) = (0.0f64, 0.0f64, 0.0f64);
        let mut x = -80.0f32;
        while x < 80.0 {
            let xd = x as f64;
            e = e.max(rel(exp_approx(x), xd.exp()));
            s = s.max(rel(sigmoid_approx(x), 1.0 / (1.0 + (-xd).exp())));
            if x != 0.0 {
                t = t.max(rel(tanh_approx(x), xd.tanh()));
            }
            x += 0.000_731;
        }
        for x in [1e-30f32, 1e-6, 0.01, 0.124_999, 0.125, 0.125_001, 9.0, 20.0] {
            for x in [x, -x] {
                t = t.max(rel(tanh_approx(x), (x as f64).tanh()));
            }
        }
        assert!(e < 1e-6, "exp {e}");
        assert!(s < 1e-6, "sigmoid {s}");
        assert!(t < 1e-6, "tanh {t}");
        assert_eq!(tanh_approx(0.0), 0.0);
        assert_eq!(sigmoid_approx(-200.0), 0.0);
        assert_eq!(sigmoid_approx(200.0), 1.0);
    }

    #[test]
    fn the_avx512_cell_is_within_1e_6_of_the_exact_cell() {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") {
            let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
            // h = 21: one full block of 16 and a masked one; gates over ±12, small ones near 0.
            let h = 21;
            for seed in 0..400u64 {
                let spread = if seed % 4 == 0 { 0.2 } else { 12.0 };
                let gates: Vec<f32> = random(4 * h, seed).iter().map(|v| v * spread).collect();
                let c0: Vec<f32> = random(h, seed + 1000).iter().map(|v| v * 3.0).collect();
                let (mut c, mut hw) = (c0.clone(), vec![0.0; h]);
                // SAFETY: the CPU has AVX-512F.
                unsafe { avx512::lstm_cells(&gates, 0, 0, h, &mut c, &mut hw) };
                for j in 0..h {
                    let g = |k: usize| gates[k * h + j] as f64;
                    let (fc, ig) = (sig(g(1)) * c0[j] as f64, sig(g(0)) * g(2).tanh());
                    let dc = (c[j] as f64 - (fc + ig)).abs();
                    assert!(
                        dc <= 1e-6 * (fc.abs() + ig.abs()),
                        "c[{j}] {} vs {}",
                        c[j],
                        fc + ig
                    );
                    // h from the cell's own c: tanh and σ within 1e-6 relative.
                    let want = (c[j] as f64).tanh() * sig(g(3));
                    assert!(
                        rel(hw[j], want) <= 1e-6 || want == 0.0,
                        "h[{j}] {} vs {want}",
                        hw[j]
                    );
                }
            }
            let mut c = [0.0f32; 16];
            let mut hw = [1.0f32; 16];
            // SAFETY: as above.
            unsafe { avx512::lstm_cells(&[0.0; 64], 0, 0, 16, &mut c, &mut hw) };
            assert_eq!((c, hw), ([0.0; 16], [0.0; 16]), "a zero cell stays zero");
            // Five windows at once, gate rows 7 floats apart beyond their 4h, give each window
            // what it gets alone, bit for bit.
            let (n, stride, at) = (5, 4 * h + 7, 3);
            let g = random(at + n * stride, 77);
            let c0 = random(n * h, 78);
            let (mut c, mut hw) = (c0.clone(), vec![0.0; n * h]);
            // SAFETY: as above.
            unsafe { avx512::lstm_cells(&g, at, stride, h, &mut c, &mut hw) };
            for w in 0..n {
                let (mut c1, mut h1) = (c0[w * h..(w + 1) * h].to_vec(), vec![0.0; h]);
                let gw = &g[at + w * stride..][..4 * h];
                // SAFETY: as above.
                unsafe { avx512::lstm_cells(gw, 0, 0, h, &mut c1, &mut h1) };
                assert_eq!(c1, c[w * h..(w + 1) * h], "window {w}'s c");
                assert_eq!(h1, hw[w * h..(w + 1) * h], "window {w}'s h");
            }
        }
    }

    #[test]
    fn the_avx512_tanh_is_within_1e_6_relative() {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") {
            use std::arch::x86_64::*;
            let mut xs: Vec<f32> = (0..60_000).map(|i| -30.0 + i as f32 * 0.001).collect();
            for x in [
                1e-30f32,
                1e-6,
                0.01,
                0.17,
                0.173_286_8,
                0.18,
                0.35,
                8.99,
                9.0,
                9.01,
                90.0,
            ] {
                xs.extend([x, -x]);
            }
            let mut worst = 0.0f64;
            for chunk in xs.chunks(16) {
                let mut lanes = [0.0f32; 16];
                lanes[..chunk.len()].copy_from_slice(chunk);
                let mut out = [0.0f32; 16];
                // SAFETY: the CPU has AVX-512F; both arrays are 16 floats.
                unsafe {
                    let t = avx512::tanh(_mm512_loadu_ps(lanes.as_ptr()));
                    _mm512_storeu_ps(out.as_mut_ptr(), t);
                }
                for (x, t) in chunk.iter().zip(out) {
                    let want = (*x as f64).tanh();
                    if *x != 0.0 {
                        worst = worst.max(rel(t, want));
                    }
                }
            }
            assert!(worst < 1e-6, "tanh {worst}");
        }
    }

    #[test]
    fn the_avx512_add_norm_is_the_exact_layer_norm_to_1e_5() {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") {
            // Five rows (two pairs and a lone row) in registers: d = 128 (the served model: eight full
            // blocks) and 21 (a full and a masked block); and d = 200, the path for more than 128.
            for (d, seed) in [(128, 1u64), (21, 2), (200, 3)] {
                let rows = 5;
                let a0: Vec<f32> = random(rows * d, seed)
                    .iter()
                    .map(|v| v * 4.0 + 1.5)
                    .collect();
                let b: Vec<f32> = random(rows * d, seed + 10);
                let norm = Norm {
                    gamma: random(d, seed + 20).iter().map(|v| v + 1.0).collect(),
                    beta: random(d, seed + 30),
                };
                let mut a = a0.clone();
                // SAFETY: the CPU has AVX-512F.
                unsafe { avx512::add_norm(&mut a, &b, &norm, d) };
                for r in 0..rows {
                    let x: Vec<f64> = (0..d)
                        .map(|j| (a0[r * d + j] + b[r * d + j]) as f64)
                        .collect();
                    let mean = x.iter().sum::<f64>() / d as f64;
                    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / d as f64;
                    let inv = 1.0 / (var + LN_EPS as f64).sqrt();
                    for j in 0..d {
                        let want = (x[j] - mean) * inv * norm.gamma[j] as f64 + norm.beta[j] as f64;
                        let got = a[r * d + j] as f64;
                        assert!(
                            (got - want).abs() < 1e-5,
                            "d {d} [{r},{j}]: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_avx512_softmax_is_within_1e_6_of_the_exact_one() {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") {
            // Five rows (four together and a lone one) in registers: of 60 (three full blocks and a
            // masked one), 7 (one masked block), 64; and of 70, the path for more than 64.
            for (t, seed) in [(60, 1), (7, 2), (60, 3), (64, 4), (70, 5)] {
                let x: Vec<f32> = random(5 * t, seed).iter().map(|v| v * 8.0).collect();
                let mut got = x.clone();
                // SAFETY: the CPU has AVX-512F.
                unsafe { avx512::scaled_softmax(&mut got, t, 0.3) };
                for (row, out) in x.chunks(t).zip(got.chunks(t)) {
                    let z: Vec<f64> = row.iter().map(|&v| (v * 0.3) as f64).collect();
                    let max = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let sum: f64 = z.iter().map(|v| (v - max).exp()).sum();
                    for (v, o) in z.iter().zip(out) {
                        let want = (v - max).exp() / sum;
                        assert!(rel(*o, want) < 1e-6, "t {t}: {o} vs {want}");
                    }
                }
            }
        }
    }

    fn random(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 5.0
            })
            .collect()
    }

    #[test]
    fn a_fused_copy_that_differs_from_burn_is_refused() {
        let dev = device();
        // Seeded, and 32 units after the ReLU: with 4, some random inits left every unit dead on
        // the check batch, so the output ignored the LSTM and the scaled weights went unseen.
        <InferBackend as Backend>::seed(&dev, 11);
        let net: SignalNet<InferBackend> = SignalNetConfig::new(4)
            .with_d_model(8)
            .with_n_heads(2)
            .with_d_hidden(32)
            .init(&dev);
        let good = FusedNet::copy(&net, 6).unwrap();
        good.check(&net, &dev).unwrap();
        // The profitability head's bias off by 1e-3, or the second layer's reverse recurrent
        // weights scaled by 1.5.
        let mut bias = good.clone();
        bias.head.b[0] += 1e-3;
        let mut recurrent = good.clone();
        let layer = &mut recurrent.lstm[1];
        layer.wh[1].iter_mut().for_each(|w| *w *= 1.5);
        *layer = BiLayer::new(layer.x.clone(), layer.wh.clone(), good.h);
        for bad in [bias, recurrent] {
            let err = bad.check(&net, &dev).unwrap_err();
            assert!(matches!(err, FusedError::Mismatch { .. }), "{err}");
            assert!(err.to_string().contains("inference.forward"), "{err}");
        }
    }

    /// The bundled model: `load_bundle` serves with the checked fused forward, `"burn"` with
    /// burn's; both agree.
    #[test]
    fn the_bundled_model_serves_fused_by_default_and_burn_on_request() {
        use crate::config::{Config, Forward};
        use crate::registry::load_bundle_with;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let (cfg, _) = Config::load(Some(&root.join("config/default.toml"))).unwrap();
        assert_eq!(cfg.inference.forward, Forward::Fused);
        let spec = crate::features::FeatureSpec::new(&cfg.features.names).unwrap();
        let dir = root.join("models/default");
        let fused = load_bundle_with(&dir, &spec, Forward::Fused).unwrap();
        let burn = load_bundle_with(&dir, &spec, Forward::Burn).unwrap();
        assert!(fused.fused.is_some() && burn.fused.is_none());
        let (t, f) = (fused.manifest.seq_len, fused.spec.len());
        let x = random(5 * t * f, 99);
        let (p, r) = fused.predict(x.clone(), 5);
        let (bp, br) = burn.predict(x.clone(), 5);
        assert_eq!(
            (bp.clone(), br.clone()),
            burn.net.predict(x, 5, t, f, &burn.device)
        );
        for i in 0..5 {
            assert!((p[i] - bp[i]).abs() < 1e-5 && (r[i] - br[i]).abs() < 1e-2);
        }
    }

    /// A window's outputs are bit-identical whether it is scored alone, in a small batch or in
    /// a batch large enough to be split over threads: live (small batches) and replay agree.
    #[test]
    fn a_windows_result_does_not_depend_on_its_batch() {
        let dev = device();
        let (f, t) = (6, 12);
        let net: SignalNet<InferBackend> = SignalNetConfig::new(f)
            .with_d_model(16)
            .with_d_hidden(8)
            .init(&dev);
        let fused = FusedNet::from_net(&net, t, &dev).unwrap();
        let n = PARALLEL_MIN_BATCH + 9;
        let x = random(n * t * f, 5);
        let all = fused.forward_raw(&x, n);
        for (i, size) in [(0, 1), (3, 1), (n - 1, 1), (2, 5), (30, 7)] {
            let part = fused.forward_raw(&x[i * t * f..(i + size) * t * f], size);
            for j in 0..size {
                assert_eq!(
                    part.0[j].to_bits(),
                    all.0[i + j].to_bits(),
                    "window {}",
                    i + j
                );
                assert_eq!(
                    part.1[j].to_bits(),
                    all.1[i + j].to_bits(),
                    "window {}",
                    i + j
                );
            }
        }
    }

    /// The fused forward against burn's on random weights and windows, at batch sizes on both
    /// sides of the parallel split.
    #[test]
    fn fused_matches_burn() {
        let dev = device();
        for (f, d, heads, dh, t) in [(5, 16, 4, 8, 7), (9, 32, 4, 16, 20)] {
            let cfg = SignalNetConfig::new(f)
                .with_d_model(d)
                .with_n_heads(heads)
                .with_d_hidden(dh);
            let net: SignalNet<InferBackend> = cfg.init(&dev);
            let fused = FusedNet::from_net(&net, t, &dev).unwrap();
            for n in [1, 3, PARALLEL_MIN_BATCH + 5] {
                let x = random(n * t * f, (n * 31 + d) as u64);
                let (p, r) = fused.predict(&x, n);
                let (bp, br) = net.predict(x, n, t, f, &dev);
                for i in 0..n {
                    assert!((p[i] - bp[i]).abs() < 1e-5, "n {n} p {} vs {}", p[i], bp[i]);
                    assert!((r[i] - br[i]).abs() < 1e-2, "n {n} r {} vs {}", r[i], br[i]);
                }
            }
        }
    }
}
