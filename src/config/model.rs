//! The config types and their `validate()`.

use crate::event::Exchange;
use crate::features::{BarSource, FeatureSpec, StatePolicy};
use crate::model::backend::{ComputeDevice, Precision};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub replay: ReplayConfig,
    pub features: FeaturesConfig,
    pub model: ModelConfig,
    pub inference: InferenceConfig,
    pub sink: SinkConfig,
    pub labels: LabelsConfig,
    pub train: TrainConfig,
    /// Kafka source and sink; absent: no Kafka.
    pub kafka: Option<super::kafka::KafkaConfig>,
    /// Exchange websocket feeds; absent: none.
    pub websocket: Option<super::websocket::WebsocketConfig>,
    /// The shadow trainer (off by default).
    pub shadow: super::shadow::ShadowConfig,
    /// The sidecar HTTP API (off by default).
    pub api: super::api::ApiConfig,
    /// The bot rule `backtest` simulates.
    pub backtest: super::backtest::BacktestConfig,
}

/// Historical files replayed by `run` (and the default for `replay`/`train` without `--data`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReplayConfig {
    /// Files or directories: kline CSV (`.csv`, `.csv.gz`) or MarketEvent JSONL (`.jsonl[.gz]`).
    pub data: Vec<PathBuf>,
    /// Exchange stamped on kline CSV rows (the files do not say).
    pub exchange: Exchange,
    /// Bad rows tolerated per file before the replay fails.
    pub max_bad_rows: u64,
    /// JSONL file that receives every skipped row whole (source, line, error, raw text).
    pub dead_letter: Option<PathBuf>,
    /// `run`'s pace: `"max"` (as fast as the model allows) or N, N× the data's own pace.
    pub speed: ReplaySpeed,
}

/// `replay.speed`: `"max"` or a positive number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(try_from = "RawSpeed", into = "RawSpeed")]
pub enum ReplaySpeed {
    #[default]
    Max,
    Times(f64),
}

#[derive(Clone, Deserialize, Serialize)]
#[serde(untagged)]
enum RawSpeed {
    Name(String),
    Times(f64),
}

impl TryFrom<RawSpeed> for ReplaySpeed {
    type Error = String;
    fn try_from(r: RawSpeed) -> Result<Self, String> {
        match r {
            RawSpeed::Name(s) if s == "max" => Ok(Self::Max),
            RawSpeed::Times(x) if x > 0.0 && x.is_finite() => Ok(Self::Times(x)),
            RawSpeed::Name(s) => Err(format!(
                "speed must be \"max\" or a positive number, got {s:?}"
            )),
            RawSpeed::Times(x) => Err(format!(
                "speed must be \"max\" or a positive number, got {x}"
            )),
        }
    }
}

impl From<ReplaySpeed> for RawSpeed {
    fn from(s: ReplaySpeed) -> Self {
        match s {
            ReplaySpeed::Max => RawSpeed::Name("max".into()),
            ReplaySpeed::Times(x) => RawSpeed::Times(x),
        }
    }
}

impl Default for ReplayConfig {
    fn default() -> Self {
        Self {
            speed: ReplaySpeed::Max,
            data: Vec::new(),
            exchange: Exchange::BinanceFutures,
            max_bad_rows: 100,
            dead_letter: None,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeaturesConfig {
    /// Bar length: the model's time step.
    pub bar_interval_secs: u64,
    /// T: bars per window.
    pub seq_len: usize,
    /// Ordered feature names (see `FeatureSpec`).
    pub names: Vec<String>,
    /// Scaled values are clipped to ±this.
    pub scaler_clip: f64,
    /// Gaps of up to this many missing bars are filled with the last close and zero volume
    /// (sparse markets); longer gaps reset the symbol (Stale → Resync).
    pub fill_gap_bars: u32,
    /// A symbol with no bar for this long (engine clock) goes Stale and re-warms.
    pub stale_after_secs: u64,
    /// Where bars come from: `auto` (a symbol's first event kind decides), `bars` or `trades`.
    pub bar_source: BarSource,
    /// `fitted`: the bundle's median / IQR, fixed. `streaming`: online quartiles that follow
    /// drift, starting from the bundle's streaming state (or its fitted scaler).
    pub scaling: ScalingMode,
    /// Streaming scaling: an observation's weight halves every this many bars. Used when the bundle
    /// has no `streaming_scaler.json`; a saved state keeps the half-life and clip it was
    /// learned with (they define what the state means).
    pub streaming_half_life_bars: f64,
    /// Feature tasks, each owning a share of the symbols (Kafka: of the partitions). 1 keeps a
    /// replay deterministic (batches and `emitted_at_ms`); more spread a live run's feature work.
    pub shards: usize,
}

/// `features.scaling`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScalingMode {
    #[default]
    Fitted,
    Streaming,
}

impl Default for FeaturesConfig {
    fn default() -> Self {
        Self {
            bar_interval_secs: 60,
            seq_len: 60,
            names: FeatureSpec::default_names(),
            scaler_clip: 10.0,
            fill_gap_bars: 3,
            stale_after_secs: 300,
            bar_source: BarSource::Auto,
            scaling: ScalingMode::Fitted,
            streaming_half_life_bars: 1440.0,
            shards: 1,
        }
    }
}

impl FeaturesConfig {
    /// The streaming scaler's settings (`warmup_bars` is one half-life: a cold scaler's first
    /// windows are marked invalid until then).
    pub fn streaming(&self) -> crate::scaling::StreamingScalerConfig {
        crate::scaling::StreamingScalerConfig {
            half_life_bars: self.streaming_half_life_bars,
            clip: self.scaler_clip,
            warmup_bars: self.streaming_half_life_bars.clamp(1.0, 1e9) as usize,
        }
    }

    /// The state machine's policy.
    pub fn policy(&self) -> StatePolicy {
        let interval_ms = self.bar_interval_secs as i64 * 1000;
        StatePolicy {
            interval_ms,
            seq_len: self.seq_len,
            fill_gap_bars: self.fill_gap_bars,
            stale_after_ms: (self.stale_after_secs as i64).saturating_mul(1000),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Bundle directory (manifest.json, model.mpk, scaler.json).
    pub dir: PathBuf,
    /// Overrides the bundle's decision threshold on p_profitable.
    pub threshold: Option<f64>,
    /// A registry directory (DESIGN.md §7): the engine serves its `CURRENT` bundle (importing
    /// `dir` as the first version when it has none) and swaps when `CURRENT` changes. Absent:
    /// `dir` serves, fixed.
    pub registry: Option<PathBuf>,
    /// How often the engine looks at the registry's `CURRENT`.
    pub watch_interval_ms: u64,
    /// Where the served model computes: `"cpu"` (the fused or burn CPU forward, see
    /// `inference.forward`) or `"cuda"` / `"cuda:N"` (burn-cuda; needs the `cuda` cargo feature
    /// and a driver, checked at start). Training follows it unless `train.device` says otherwise.
    pub device: ComputeDevice,
    /// `"f32"`, or `"bf16"` on a CUDA device.
    pub precision: Precision,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("models/default"),
            threshold: None,
            registry: None,
            watch_interval_ms: 500,
            device: ComputeDevice::Cpu,
            precision: Precision::F32,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct InferenceConfig {
    /// A micro-batch is sent when it holds this many windows...
    pub max_batch: usize,
    /// ...or when this long has passed since its first window arrived (wall clock, live only;
    /// replay flushes on event time, see `batch.rs`).
    pub max_wait_us: u64,
    /// Capacity of each bounded channel between stages.
    pub channel_capacity: usize,
    /// The forward pass that serves on the CPU: `"fused"` (`model/fused.rs`, checked against
    /// burn's on every load) or `"burn"`. A CUDA `model.device` serves with burn's forward there.
    pub forward: Forward,
    /// `max_batch` when `model.device` is a CUDA device: a GPU's time per batch hardly grows up
    /// to thousands of windows, so it batches as many as `max_wait_us` collects.
    pub cuda_max_batch: usize,
}

/// Which implementation of `SignalNet`'s forward pass serves signals.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Forward {
    /// The fused CPU forward; a bundle whose fused outputs differ from burn's is refused.
    #[default]
    Fused,
    /// burn's own forward (the reference; also the way to serve a bundle the fused check refuses).
    Burn,
}

impl Default for InferenceConfig {
    fn default() -> Self {
        Self {
            max_batch: 64,
            max_wait_us: 2_000,
            channel_capacity: 1024,
            forward: Forward::Fused,
            cuda_max_batch: 4096,
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SinkConfig {
    /// JSONL file of signals; its directory is created.
    pub jsonl: Option<PathBuf>,
}

/// DESIGN.md §6: the label of bar t uses only bars after t (entry open(t+1), exit by bar t+H).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LabelsConfig {
    /// `fixed_horizon`: exit at close(t+H). `triple_barrier`: exit at the first of take-profit,
    /// stop-loss or the time-out close(t+H).
    pub kind: LabelKind,
    /// H: the exit is the close of bar t+H (the time-out of a triple barrier).
    pub horizon_bars: usize,
    /// Fees for entering and leaving, in bps (Binance USDT-M taker: 2 × 4 bps).
    pub round_trip_fee_bps: f64,
    /// Extra net return required to call a trade profitable, in bps.
    pub min_profit_bps: f64,
    /// Triple barrier: the take-profit barrier above the entry price, gross, in bps.
    pub take_profit_bps: f64,
    /// Triple barrier: the stop-loss barrier below the entry price, gross, in bps.
    pub stop_loss_bps: f64,
}

/// `labels.kind`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelKind {
    #[default]
    FixedHorizon,
    TripleBarrier,
}

impl Default for LabelsConfig {
    fn default() -> Self {
        Self {
            kind: LabelKind::FixedHorizon,
            horizon_bars: 15,
            round_trip_fee_bps: 8.0,
            min_profit_bps: 0.0,
            take_profit_bps: 30.0,
            stop_loss_bps: 30.0,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Most epochs; early stopping usually ends sooner.
    pub epochs: usize,
    pub batch_size: usize,
    /// Peak learning rate (after warm-up).
    pub learning_rate: f64,
    /// `warmup_cosine`: linear warm-up over `warmup_epochs`, then cosine annealing to
    /// `min_learning_rate` at `epochs`. `constant`: `learning_rate` throughout.
    pub lr_schedule: LrSchedule,
    pub warmup_epochs: usize,
    pub min_learning_rate: f64,
    /// ReduceLROnPlateau (the fallback when the schedule decays too slowly): the learning rate is
    /// multiplied by `plateau_factor` after this many epochs without a better validation AUC.
    /// 0 turns it off.
    pub plateau_patience: usize,
    pub plateau_factor: f64,
    /// Early stopping: training ends after this many epochs without a better validation AUC; the
    /// best epoch's weights are kept. 0 turns it off.
    pub early_stopping_patience: usize,
    /// Fractions of the labelled windows (in time order) for validation and test; train gets the
    /// rest. With `--folds K` the test blocks come from the folds instead.
    pub val_fraction: f64,
    pub test_fraction: f64,
    /// Walk-forward folds (`--folds K`): K models, each tested on the block of time after the data
    /// it learned from; the bundle holds the last. 0: one chronological split.
    pub folds: usize,
    /// Use every k-th bar as a window end for train and validation (consecutive windows overlap
    /// almost entirely); test uses every window.
    pub sample_stride: usize,
    pub seed: u64,
    pub d_model: usize,
    pub n_heads: usize,
    pub d_hidden: usize,
    pub dropout: f64,
    /// Weight of the class-weighted BCE of the `profitable` head.
    pub classification_loss_weight: f64,
    /// Loss of the return head, on returns in units of 100 bps: `huber` (δ = 1) or `mse`.
    pub return_loss: ReturnLoss,
    /// Weight of the return head's loss against the BCE.
    pub return_loss_weight: f64,
    /// Where training (and the shadow trainer's refits) computes; absent: `model.device`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<ComputeDevice>,
    /// `"f32"` or `"bf16"` (CUDA only: the whole step in bf16, no loss scaling needed); absent:
    /// `model.precision`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<Precision>,
}

/// `train.lr_schedule`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LrSchedule {
    #[default]
    WarmupCosine,
    Constant,
}

/// `train.return_loss`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnLoss {
    #[default]
    Huber,
    Mse,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 100,
            batch_size: 128,
            learning_rate: 1e-3,
            lr_schedule: LrSchedule::WarmupCosine,
            warmup_epochs: 10,
            min_learning_rate: 1e-6,
            plateau_patience: 5,
            plateau_factor: 0.5,
            early_stopping_patience: 15,
            val_fraction: 0.15,
            test_fraction: 0.15,
            folds: 0,
            sample_stride: 10,
            seed: 42,
            d_model: 128,
            n_heads: 4,
            d_hidden: 64,
            dropout: 0.2,
            classification_loss_weight: 1.0,
            return_loss: ReturnLoss::Huber,
            return_loss_weight: 0.1,
            device: None,
            precision: None,
        }
    }
}

impl Config {
    /// The device and precision training computes on (`train.*`, else `model.*`).
    pub fn train_compute(&self) -> (ComputeDevice, Precision) {
        (
            self.train.device.unwrap_or(self.model.device),
            self.train.precision.unwrap_or(self.model.precision),
        )
    }

    /// The micro-batch size the serving device uses.
    pub fn serving_max_batch(&self) -> usize {
        match self.model.device {
            ComputeDevice::Cpu => self.inference.max_batch,
            ComputeDevice::Cuda(_) => self.inference.cuda_max_batch,
        }
    }

    /// Every semantic problem, as `key: reason`.
    pub fn validate(&self) -> Vec<String> {
        let mut p = Vec::new();
        let mut range = |key: &str, v: u64, lo: u64, hi: u64| {
            if !(lo..=hi).contains(&v) {
                p.push(format!("{key}: {v} is not in {lo}..={hi}"));
            }
        };
        let (f, i, l) = (&self.features, &self.inference, &self.labels);
        range(
            "features.bar_interval_secs",
            f.bar_interval_secs,
            1,
            7 * 86_400,
        );
        // T ≥ 2: a window needs a past, and the momentum baseline reads close(t-1) at least.
        range("features.seq_len", f.seq_len as u64, 2, 10_000);
        range(
            "features.fill_gap_bars",
            u64::from(f.fill_gap_bars),
            0,
            10_000,
        );
        range(
            "features.stale_after_secs",
            f.stale_after_secs,
            1,
            365 * 86_400,
        );
        range("inference.max_batch", i.max_batch as u64, 1, 65_536);
        range(
            "inference.cuda_max_batch",
            i.cuda_max_batch as u64,
            1,
            65_536,
        );
        range("features.shards", f.shards as u64, 1, 256);
        range("inference.max_wait_us", i.max_wait_us, 0, 3_600_000_000);
        range(
            "inference.channel_capacity",
            i.channel_capacity as u64,
            1,
            1 << 20,
        );
        range("labels.horizon_bars", l.horizon_bars as u64, 1, 10_000);
        range(
            "model.watch_interval_ms",
            self.model.watch_interval_ms,
            10,
            3_600_000,
        );
        let mut need = |ok: bool, key: &str, why: String| {
            if !ok {
                p.push(format!("{key}: {why}"));
            }
        };
        if let Err(e) = FeatureSpec::new(&f.names) {
            need(false, "features.names", e.to_string());
        }
        need(
            f.stale_after_secs >= (u64::from(f.fill_gap_bars) + 1) * f.bar_interval_secs,
            "features.stale_after_secs",
            format!(
                "{} s must cover the longest gap that is filled plus the bar after it (features.fill_gap_bars = {} bars of {} s)",
                f.stale_after_secs, f.fill_gap_bars, f.bar_interval_secs
            ),
        );
        need(
            f.streaming_half_life_bars >= 1.0 && f.streaming_half_life_bars <= 1e9,
            "features.streaming_half_life_bars",
            format!("{} is not in [1, 1e9]", f.streaming_half_life_bars),
        );
        need(
            f.scaler_clip > 0.0 && f.scaler_clip.is_finite(),
            "features.scaler_clip",
            "must be > 0".into(),
        );
        if let Some(t) = self.model.threshold {
            need(
                (0.0..=1.0).contains(&t),
                "model.threshold",
                format!("{t} is not in [0, 1]"),
            );
        }
        need(
            l.round_trip_fee_bps >= 0.0 && l.round_trip_fee_bps.is_finite(),
            "labels.round_trip_fee_bps",
            "must be >= 0".into(),
        );
        let t = &self.train;
        need(t.epochs > 0, "train.epochs", "must be > 0".into());
        need(
            t.folds <= 100,
            "train.folds",
            format!("{} is not in 0..=100", t.folds),
        );
        need(t.batch_size > 0, "train.batch_size", "must be > 0".into());
        let cpu_bf16 =
            |(d, p): (ComputeDevice, Precision)| d == ComputeDevice::Cpu && p != Precision::F32;
        need(
            !cpu_bf16((self.model.device, self.model.precision)),
            "model.precision",
            format!(
                "\"{}\" needs a CUDA model.device; the CPU computes in f32",
                self.model.precision
            ),
        );
        need(
            !cpu_bf16(self.train_compute()),
            "train.precision",
            format!(
                "\"{}\" needs a CUDA device (train.device, else model.device); set train.precision = \"f32\" to train on the CPU",
                self.train_compute().1
            ),
        );
        let (td, tp) = self.train_compute();
        need(
            !(self.shadow.enabled
                && matches!(td, ComputeDevice::Cuda(_))
                && td == self.model.device
                && tp != self.model.precision),
            "train.precision",
            format!(
                "\"{tp}\" differs from model.precision \"{}\" on the same device {td}, where the shadow trainer refits beside the served model; burn 0.21 keeps one float type per device and process: use one precision, or train on another device",
                self.model.precision
            ),
        );
        need(
            t.learning_rate > 0.0 && t.learning_rate <= 1.0,
            "train.learning_rate",
            format!("{} is not in (0, 1]", t.learning_rate),
        );
        need(
            t.min_learning_rate >= 0.0 && t.min_learning_rate <= t.learning_rate,
            "train.min_learning_rate",
            format!("{} is not in [0, learning_rate]", t.min_learning_rate),
        );
        need(
            t.plateau_factor > 0.0 && t.plateau_factor < 1.0,
            "train.plateau_factor",
            format!("{} is not in (0, 1)", t.plateau_factor),
        );
        need(
            t.warmup_epochs < t.epochs || t.lr_schedule == LrSchedule::Constant,
            "train.warmup_epochs",
            format!("{} must be < train.epochs ({})", t.warmup_epochs, t.epochs),
        );
        for (key, w) in [
            (
                "train.classification_loss_weight",
                t.classification_loss_weight,
            ),
            ("train.return_loss_weight", t.return_loss_weight),
        ] {
            need(w >= 0.0 && w.is_finite(), key, format!("{w} must be >= 0"));
        }
        need(
            t.classification_loss_weight > 0.0 || t.return_loss_weight > 0.0,
            "train.classification_loss_weight",
            "one of the two loss weights must be > 0".into(),
        );
        need(
            l.min_profit_bps.is_finite(),
            "labels.min_profit_bps",
            format!("{} must be a finite number", l.min_profit_bps),
        );
        if l.kind == LabelKind::TripleBarrier {
            need(
                l.take_profit_bps > l.round_trip_fee_bps + l.min_profit_bps,
                "labels.take_profit_bps",
                format!(
                    "{} bps must exceed round_trip_fee_bps + min_profit_bps ({} bps), or no take-profit exit is ever profitable",
                    l.take_profit_bps,
                    l.round_trip_fee_bps + l.min_profit_bps
                ),
            );
            for (key, v) in [
                ("labels.take_profit_bps", l.take_profit_bps),
                ("labels.stop_loss_bps", l.stop_loss_bps),
            ] {
                need(
                    v > 0.0 && v < 10_000.0,
                    key,
                    format!("{v} is not in (0, 10000)"),
                );
            }
        }
        need(
            t.sample_stride > 0,
            "train.sample_stride",
            "must be > 0".into(),
        );
        let fr = t.val_fraction + t.test_fraction;
        need(
            t.val_fraction > 0.0 && t.test_fraction > 0.0 && fr < 0.9,
            "train.val_fraction/test_fraction",
            format!("each must be > 0 and together < 0.9 (got {fr})"),
        );
        let net = crate::model::SignalNetConfig::new(f.names.len().max(1))
            .with_d_model(t.d_model)
            .with_n_heads(t.n_heads)
            .with_d_hidden(t.d_hidden)
            .with_dropout(t.dropout);
        if let Err(e) = net.check() {
            need(false, "train.d_model/n_heads/dropout", e);
        }
        if let Some(k) = &self.kafka {
            k.validate(&mut p);
        }
        if let Some(w) = &self.websocket {
            w.validate(&mut p);
        }
        self.shadow.validate(self.model.registry.is_some(), &mut p);
        self.api.validate(&mut p);
        self.backtest.validate(&mut p);
        p
    }

    pub fn model_watch_interval(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.model.watch_interval_ms)
    }

    pub fn interval_ms(&self) -> i64 {
        self.features.bar_interval_secs as i64 * 1000
    }
}
