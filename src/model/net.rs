//! `SignalNet`: DESIGN.md §5 exactly.
//!
//! `[B,T,F]` → Linear F→d → BiLSTM (d/2 per direction) + residual + LayerNorm → BiLSTM + residual +
//! LayerNorm → 4-head scaled dot-product self-attention + residual + LayerNorm → concat(last step,
//! mean over T) → Linear → ReLU → dropout → LayerNorm → two heads: `profitable` (a logit; sigmoid
//! gives p) and `expected_return` (linear, bps). The config that built a model is saved beside its
//! weights in the bundle, so a bundle always re-initialises the same shapes.

use burn::nn::attention::{MhaInput, MultiHeadAttention, MultiHeadAttentionConfig};
use burn::nn::{
    BiLstm, BiLstmConfig, Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig,
    Relu,
};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;

/// Widest layer a config may ask for (a typo'd size would otherwise try to allocate terabytes).
pub const MAX_WIDTH: usize = 8192;

/// Shapes and regularisation of a [`SignalNet`]. Serialised into the bundle's manifest.
#[derive(Config, Debug, PartialEq)]
pub struct SignalNetConfig {
    /// Number of input features per time step (F).
    pub n_features: usize,
    /// Model width d; each LSTM direction has d/2 units, so d must be even and divisible by `n_heads`.
    #[config(default = 128)]
    pub d_model: usize,
    #[config(default = 4)]
    pub n_heads: usize,
    /// Width of the hidden layer before the two heads.
    #[config(default = 64)]
    pub d_hidden: usize,
    #[config(default = 0.2)]
    pub dropout: f64,
}

impl SignalNetConfig {
    /// Checks the shape rules `init` relies on; returns every violation.
    pub fn check(&self) -> Result<(), String> {
        let mut errs = Vec::new();
        let sizes = [
            ("n_features", self.n_features),
            ("d_model", self.d_model),
            ("d_hidden", self.d_hidden),
        ];
        for (name, v) in sizes {
            if v == 0 || v > MAX_WIDTH {
                errs.push(format!("{name} ({v}) must be in 1..={MAX_WIDTH}"));
            }
        }
        if !self.d_model.is_multiple_of(2) {
            errs.push(format!("d_model ({}) must be even", self.d_model));
        }
        if self.n_heads == 0 || !self.d_model.is_multiple_of(self.n_heads) {
            errs.push(format!(
                "d_model ({}) must be divisible by n_heads ({})",
                self.d_model, self.n_heads
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            errs.push(format!("dropout ({}) must be in [0, 1)", self.dropout));
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs.join("; "))
        }
    }

    pub fn init<B: Backend>(&self, device: &B::Device) -> SignalNet<B> {
        let d = self.d_model;
        SignalNet {
            input: LinearConfig::new(self.n_features, d).init(device),
            lstm1: BiLstmConfig::new(d, d / 2, true).init(device),
            norm1: LayerNormConfig::new(d).init(device),
            lstm2: BiLstmConfig::new(d, d / 2, true).init(device),
            norm2: LayerNormConfig::new(d).init(device),
            attn: MultiHeadAttentionConfig::new(d, self.n_heads)
                .with_dropout(self.dropout)
                .init(device),
            norm3: LayerNormConfig::new(d).init(device),
            fc: LinearConfig::new(2 * d, self.d_hidden).init(device),
            relu: Relu::new(),
            dropout: DropoutConfig::new(self.dropout).init(),
            norm_fc: LayerNormConfig::new(self.d_hidden).init(device),
            head_profitable: LinearConfig::new(self.d_hidden, 1).init(device),
            head_return: LinearConfig::new(self.d_hidden, 1).init(device),
        }
    }
}

/// The return head is trained on returns in units of 100 bps (so its targets are O(1)); the
/// network multiplies by this to emit bps.
pub const RETURN_SCALE_BPS: f64 = 100.0;

#[derive(Module, Debug)]
pub struct SignalNet<B: Backend> {
    pub(crate) input: Linear<B>,
    pub(crate) lstm1: BiLstm<B>,
    pub(crate) norm1: LayerNorm<B>,
    pub(crate) lstm2: BiLstm<B>,
    pub(crate) norm2: LayerNorm<B>,
    pub(crate) attn: MultiHeadAttention<B>,
    pub(crate) norm3: LayerNorm<B>,
    pub(crate) fc: Linear<B>,
    pub(crate) relu: Relu,
    pub(crate) dropout: Dropout,
    pub(crate) norm_fc: LayerNorm<B>,
    pub(crate) head_profitable: Linear<B>,
    pub(crate) head_return: Linear<B>,
}

/// The two heads for a batch of B windows.
#[derive(Debug, Clone)]
pub struct SignalOutput<B: Backend> {
    /// `[B]` logit of P(profitable).
    pub logit: Tensor<B, 1>,
    /// `[B]` expected forward log return, in bps.
    pub expected_return_bps: Tensor<B, 1>,
}

impl<B: Backend> SignalOutput<B> {
    pub fn probability(&self) -> Tensor<B, 1> {
        sigmoid(self.logit.clone())
    }
}

impl<B: Backend> SignalNet<B> {
    /// `x`: `[B, T, F]` scaled windows.
    pub fn forward(&self, x: Tensor<B, 3>) -> SignalOutput<B> {
        let [batch, seq_len, _] = x.dims();
        let h = self.input.forward(x);
        let (o, _) = self.lstm1.forward(h.clone(), None);
        let h = self.norm1.forward(o + h);
        let (o, _) = self.lstm2.forward(h.clone(), None);
        let h = self.norm2.forward(o + h);
        let a = self.attn.forward(MhaInput::self_attn(h.clone())).context;
        let h = self.norm3.forward(a + h);
        let d = h.dims()[2];
        let last = h
            .clone()
            .slice([0..batch, seq_len - 1..seq_len, 0..d])
            .reshape([batch, d]);
        let mean = h.mean_dim(1).reshape([batch, d]);
        let z = Tensor::cat(vec![last, mean], 1);
        let z = self.fc.forward(z);
        let z = self.relu.forward(z);
        let z = self.dropout.forward(z);
        let z = self.norm_fc.forward(z);
        SignalOutput {
            logit: self.head_profitable.forward(z.clone()).reshape([batch]),
            expected_return_bps: self
                .head_return
                .forward(z)
                .reshape([batch])
                .mul_scalar(RETURN_SCALE_BPS),
        }
    }
}

/// A fixed batch of three `[seq_len × n_features]` windows (zeros, a ±3 pattern near the
/// scaler's clip range, smooth mid-range values) that every load runs through the forwards it
/// serves with: the smoke test, the fused copy's and the device copy's comparison with burn's CPU
/// forward.
pub fn check_windows(seq_len: usize, n_features: usize) -> Vec<f32> {
    let w = seq_len * n_features;
    let mut x = vec![0.0f32; 3 * w];
    for (i, v) in x[w..2 * w].iter_mut().enumerate() {
        *v = 3.0 * ((i as f32) * 0.37).sin();
    }
    for (i, v) in x[2 * w..].iter_mut().enumerate() {
        *v = ((i as f32) * 0.011).cos() - 0.25;
    }
    x
}

/// Max |a − b| over two outputs of the same windows, NaN (or a length mismatch) counting as ∞: the
/// measure of every load-time comparison of a forward with burn's.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    let init = if a.len() == b.len() {
        0.0
    } else {
        f32::INFINITY
    };
    a.iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs())
        .fold(
            init,
            |m, v| if v.is_nan() { f32::INFINITY } else { m.max(v) },
        )
}

/// Renumbers parameter ids 1, 2, 3... in visiting order. burn draws a random id for every
/// parameter and saves it with the weights, so without this two identical trainings would write
/// different `model.mpk` bytes (and weights hashes).
struct StableIds(u64);

impl<B: Backend> burn::module::ModuleMapper<B> for StableIds {
    fn map_float<const D: usize>(
        &mut self,
        param: burn::module::Param<Tensor<B, D>>,
    ) -> burn::module::Param<Tensor<B, D>> {
        let (_, tensor, mapper) = param.consume();
        self.0 += 1;
        burn::module::Param::from_mapped_value(self.0.into(), tensor, mapper)
    }
}

impl<B: Backend> SignalNet<B> {
    /// The same weights with deterministic parameter ids (see `StableIds`), for saving.
    pub fn with_stable_ids(self) -> Self {
        self.map(&mut StableIds(0))
    }

    /// Scores `n` windows given flattened row-major `[n × seq_len × n_features]`; returns
    /// (p_profitable, expected_return_bps) per window. The one scoring path for serving and
    /// evaluation.
    pub fn predict(
        &self,
        data: Vec<f32>,
        n: usize,
        seq_len: usize,
        n_features: usize,
        device: &B::Device,
    ) -> (Vec<f32>, Vec<f32>) {
        let x = Tensor::<B, 3>::from_data(TensorData::new(data, [n, seq_len, n_features]), device);
        let out = self.forward(x);
        // One read-back of both heads (`[n, 2]`): on an accelerator each read is a sync and a
        // transfer.
        let both = Tensor::stack::<2>(vec![out.probability(), out.expected_return_bps], 1);
        let both: Vec<f32> = both
            .into_data()
            .convert::<f32>()
            .to_vec()
            .unwrap_or_default();
        both.chunks_exact(2).map(|pr| (pr[0], pr[1])).unzip()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::backend::{InferBackend, device};

    #[test]
    fn forward_shapes_and_finite_outputs() {
        let dev = device();
        let cfg = SignalNetConfig::new(5).with_d_model(16).with_d_hidden(8);
        cfg.check().unwrap();
        let net: SignalNet<InferBackend> = cfg.init(&dev);
        let x = Tensor::<InferBackend, 3>::random(
            [3, 7, 5],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &dev,
        );
        let out = net.forward(x);
        assert_eq!(out.logit.dims(), [3]);
        assert_eq!(out.expected_return_bps.dims(), [3]);
        let p: Vec<f32> = out.probability().into_data().to_vec().unwrap();
        assert!(p.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)));
    }

    #[test]
    fn check_rejects_bad_shapes() {
        let cfg = SignalNetConfig::new(5).with_d_model(30).with_n_heads(4);
        let err = cfg.check().unwrap_err();
        assert!(err.contains("divisible"), "{err}");
        assert!(SignalNetConfig::new(0).check().is_err());
    }
}
