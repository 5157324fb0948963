//! `manifest.json`: everything needed to trust and reuse a bundle without its training run.

use crate::config::LabelsConfig;
use crate::model::SignalNetConfig;
use serde::{Deserialize, Serialize};

pub const MANIFEST_FORMAT: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    pub version: String,
    pub parent: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub feature_spec: Vec<String>,
    pub feature_spec_hash: String,
    pub seq_len: usize,
    pub bar_interval_secs: u64,
    pub net: SignalNetConfig,
    pub labels: LabelsConfig,
    /// Decision threshold on p_profitable.
    pub threshold: f64,
    pub training: TrainingInfo,
    pub metrics: MetricsReport,
    /// sha256 of `model.mpk`, checked on load.
    pub weights_sha256: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrainingInfo {
    pub data_files: Vec<String>,
    pub symbols: Vec<String>,
    pub train: SplitInfo,
    pub validation: SplitInfo,
    pub test: SplitInfo,
    /// Bars between the last label of one split and the first window of the next.
    pub purge_bars: usize,
    pub epochs_run: usize,
    pub best_epoch: usize,
    pub seed: u64,
    pub config: crate::config::TrainConfig,
}

/// One chronological split: bar close times (ms) of its first and last sample.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SplitInfo {
    pub from_ms: i64,
    pub to_ms: i64,
    pub samples: usize,
    pub positive_rate: f64,
}

/// Classification metrics on the test split.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scores {
    pub auc: f64,
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    /// Mean absolute error of expected_return_bps (None for a classifier-only baseline).
    pub return_mae_bps: Option<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MetricsReport {
    pub split: String,
    pub threshold: f64,
    pub model: Scores,
    /// Always predicts the training split's majority class, with p = its positive rate, and the
    /// training split's mean return as the expected return.
    pub baseline_majority: Scores,
}
