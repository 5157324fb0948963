//! `manifest.json`: everything needed to trust and reuse a bundle without its training run.

use crate::config::LabelsConfig;
use crate::model::SignalNetConfig;
use crate::trainer::metrics::Evaluation;
use serde::{Deserialize, Serialize};

/// 2: richer training provenance (data hashes, git commit, full config, folds) and test metrics
/// for three baselines.
pub const MANIFEST_FORMAT: u32 = 2;

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

/// Everything needed to reproduce the training run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrainingInfo {
    pub data_files: Vec<DataFile>,
    pub symbols: Vec<String>,
    /// The bundle's own split (with `--folds`, the last fold).
    pub train: SplitInfo,
    pub validation: SplitInfo,
    pub test: SplitInfo,
    /// Bars between the last label of one split and the first window of the next (≥ H + T).
    pub purge_bars: usize,
    pub epochs_run: usize,
    pub best_epoch: usize,
    pub stopped_early: bool,
    pub seed: u64,
    /// Walk-forward folds (0: one chronological split).
    pub folds: usize,
    /// The git commit SHA of the code that trained it (`-dirty` when the build had local changes,
    /// `unknown` outside a git checkout).
    pub git_commit: String,
    /// The whole config the run used (features, labels, train...).
    pub config: serde_json::Value,
    /// Labels over every labelled window, before splitting.
    pub label_summary: LabelSummary,
}

/// A data file the run read, with its size and sha256.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataFile {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// Class balance and how trades exited, over all labelled windows.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LabelSummary {
    pub samples: usize,
    pub positive_rate: f64,
    pub mean_return_bps: f64,
    pub exit_horizon: usize,
    pub exit_take_profit: usize,
    pub exit_stop_loss: usize,
}

/// One chronological split: bar close times (ms) of its first and last sample.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SplitInfo {
    pub from_ms: i64,
    pub to_ms: i64,
    pub samples: usize,
    pub positive_rate: f64,
}

impl MetricsReport {
    /// The model and each baseline by name, in report order.
    pub fn scorers(&self) -> [(&'static str, &Evaluation); 4] {
        let b = &self.baselines;
        [
            ("model", &self.model),
            ("majority", &b.majority),
            ("logistic", &b.logistic),
            ("momentum", &b.momentum),
        ]
    }
}

/// The model and three baselines on the same test rows.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MetricsReport {
    pub split: String,
    pub threshold: f64,
    pub model: Evaluation,
    pub baselines: Baselines,
    /// Per walk-forward fold, oldest first (empty without `--folds`).
    pub folds: Vec<FoldMetrics>,
    /// With `--folds`: every fold's test predictions pooled (what `predictions.csv` holds), the
    /// walk-forward headline. `model` and `baselines` above are the last fold's alone.
    pub all_folds: Option<AllFolds>,
    /// A shadow-trained challenger: its comparison with the champion on fresh labels, which
    /// decided its promotion (`split` is then "shadow" and `model`/`baselines` are on those labels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<crate::trainer::shadow::decide::Verdict>,
}

/// Metrics over the pooled test predictions of all walk-forward folds.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AllFolds {
    pub test_samples: usize,
    pub model: Evaluation,
    pub baselines: Baselines,
}

/// `trainer::baselines`, each fitted on the training split only.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Baselines {
    /// p = the training positive rate, expected return = the training mean.
    pub majority: Evaluation,
    /// Class-balanced logistic regression (and ridge for the return) on the last step's features.
    pub logistic: Evaluation,
    /// A trailing-return rule: class-balanced logistic regression of the label on the return of
    /// the last min(H, T-1) bars, fitted on train (the sign is learned: trend or reversal).
    pub momentum: Evaluation,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FoldMetrics {
    pub fold: usize,
    pub train: SplitInfo,
    pub validation: SplitInfo,
    pub test: SplitInfo,
    pub best_epoch: usize,
    pub epochs_run: usize,
    pub model: Evaluation,
    pub baselines: Baselines,
}
