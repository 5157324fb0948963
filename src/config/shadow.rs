//! `[shadow]`: the shadow trainer (`trainer::shadow`). Off unless `enabled = true`; it needs a
//! registry (`model.registry`) to save and promote challengers into.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShadowConfig {
    pub enabled: bool,
    /// Refit when this many new labels have resolved since the last refit...
    pub refit_every_labels: usize,
    /// ...or when this much event time (bar close times) has passed since it, whichever first.
    pub refit_every_secs: u64,
    /// The rolling training buffer: the newest labelled windows kept.
    pub buffer_windows: usize,
    /// No refit before the buffer holds this many labelled windows.
    pub min_train_windows: usize,
    /// Epochs of each refit (warm start from the champion; the best validation-AUC epoch is kept).
    pub epochs: usize,
    /// A refit starts from fresh weights instead when the champion's ROC AUC on the refit's own
    /// validation windows is below this: a model that ranks the recent data backwards has learnt
    /// the opposite of what the data now says, and fine-tuning it mostly unlearns (it collapses
    /// to the base rate first). Below 0.5 by a margin, because a few hundred validation windows
    /// put a useful champion's AUC of 0.52 at 0.48 now and then. 0 disables.
    pub fresh_start_below_auc: f64,
    /// Constant learning rate of a refit (lower than a fresh run's: it fine-tunes).
    pub learning_rate: f64,
    pub batch_size: usize,
    /// The newest part of the buffer that picks a refit's best epoch (after a purge gap).
    pub val_fraction: f64,
    /// Fresh labels (after the challenger's data and a purge gap) both models are scored on before
    /// a decision.
    pub eval_windows: usize,
    /// The challenger's ROC AUC must beat the champion's by at least this much.
    pub min_auc_gain: f64,
    /// ... and its log loss may be worse by at most this much.
    pub max_log_loss_increase: f64,
    /// ... and its expected calibration error (10 bins) beyond chance (`decide.rs`) worse by at
    /// most this much.
    pub max_calibration_increase: f64,
    /// ... unless it is at most this (absolute): an uninformative champion that says the base
    /// rate everywhere is calibrated by construction, and a relative rule alone would let it
    /// block every sharper model forever.
    pub max_calibration_excess: f64,
    /// After a promotion, the new champion and its predecessor are scored on the next
    /// `eval_windows` labels; the new one is rolled back when its AUC trails by more than this.
    pub rollback_auc_margin: f64,
    /// Seed of each refit's shuffling and dropout.
    pub seed: u64,
    /// Capacity of the channel into the shadow trainer; it never blocks the live path (what does
    /// not fit is counted and breaks that symbol's label continuity).
    pub channel_capacity: usize,
}

impl Default for ShadowConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            refit_every_labels: 2_000,
            refit_every_secs: 6 * 3_600,
            buffer_windows: 20_000,
            min_train_windows: 1_000,
            epochs: 3,
            fresh_start_below_auc: 0.45,
            learning_rate: 3e-4,
            batch_size: 128,
            val_fraction: 0.2,
            eval_windows: 500,
            min_auc_gain: 0.01,
            max_log_loss_increase: 0.0,
            max_calibration_increase: 0.02,
            max_calibration_excess: 0.05,
            rollback_auc_margin: 0.01,
            seed: 7,
            channel_capacity: 8_192,
        }
    }
}

impl ShadowConfig {
    /// Problems as `shadow.key: reason`.
    pub fn validate(&self, registry: bool, p: &mut Vec<String>) {
        let mut need = |ok: bool, key: &str, why: String| {
            if !ok {
                p.push(format!("shadow.{key}: {why}"));
            }
        };
        if !self.enabled {
            return;
        }
        need(
            registry,
            "enabled",
            "the shadow trainer needs model.registry to save and promote challengers into".into(),
        );
        need(
            self.refit_every_labels > 0,
            "refit_every_labels",
            "must be > 0".into(),
        );
        need(
            self.min_train_windows >= 2 * self.batch_size.max(1),
            "min_train_windows",
            format!(
                "{} must be at least 2 × shadow.batch_size ({})",
                self.min_train_windows, self.batch_size
            ),
        );
        need(
            self.buffer_windows >= self.min_train_windows,
            "buffer_windows",
            format!(
                "{} must be >= shadow.min_train_windows ({})",
                self.buffer_windows, self.min_train_windows
            ),
        );
        need(
            (1..=1000).contains(&self.epochs),
            "epochs",
            format!("{} is not in 1..=1000", self.epochs),
        );
        need(
            self.learning_rate > 0.0 && self.learning_rate <= 1.0,
            "learning_rate",
            format!("{} is not in (0, 1]", self.learning_rate),
        );
        need(self.batch_size > 0, "batch_size", "must be > 0".into());
        need(
            self.val_fraction > 0.0 && self.val_fraction < 0.8,
            "val_fraction",
            format!("{} is not in (0, 0.8)", self.val_fraction),
        );
        need(
            self.eval_windows >= 50,
            "eval_windows",
            format!(
                "{} is too few to compare two models (>= 50)",
                self.eval_windows
            ),
        );
        for (key, v) in [
            ("min_auc_gain", self.min_auc_gain),
            ("max_log_loss_increase", self.max_log_loss_increase),
            ("max_calibration_increase", self.max_calibration_increase),
            ("max_calibration_excess", self.max_calibration_excess),
            ("rollback_auc_margin", self.rollback_auc_margin),
            ("fresh_start_below_auc", self.fresh_start_below_auc),
        ] {
            need(
                v.is_finite() && (0.0..=1.0).contains(&v),
                key,
                format!("{v} is not in [0, 1]"),
            );
        }
        need(
            self.channel_capacity > 0,
            "channel_capacity",
            "must be > 0".into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn the_shadow_example_config_is_valid_and_serves_the_bundled_model() {
        let text = include_str!("../../config/examples/shadow-replay.toml");
        let cfg = Config::from_toml(text, "config/examples/shadow-replay.toml").unwrap();
        assert!(cfg.shadow.enabled && cfg.model.registry.is_some());
        // The bundled model's window and features: the embedded default config's.
        let (d, _) = Config::load(None).unwrap();
        assert_eq!(cfg.features.names, d.features.names);
        assert_eq!(cfg.features.seq_len, d.features.seq_len);
    }

    #[test]
    fn the_shadow_trainer_needs_a_registry_and_sane_sizes() {
        let e = Config::from_toml(
            "[shadow]\nenabled = true\nmin_train_windows = 10\neval_windows = 5\n",
            "x.toml",
        )
        .unwrap_err()
        .to_string();
        for key in [
            "shadow.enabled",
            "shadow.min_train_windows",
            "shadow.eval_windows",
        ] {
            assert!(e.contains(key), "{key} in {e}");
        }
    }

    #[test]
    fn devices_and_precisions_are_checked_with_their_keys() {
        use crate::model::backend::{ComputeDevice, Precision};
        let ok = Config::from_toml(
            "[model]\ndevice = \"cuda:1\"\nprecision = \"bf16\"\n[train]\ndevice = \"cpu\"\nprecision = \"f32\"\n",
            "x.toml",
        )
        .unwrap();
        assert_eq!(
            (ok.model.device, ok.model.precision),
            (ComputeDevice::Cuda(1), Precision::Bf16)
        );
        assert_eq!(ok.train_compute(), (ComputeDevice::Cpu, Precision::F32));
        assert_eq!(ok.serving_max_batch(), ok.inference.cuda_max_batch);
        // Training follows serving unless told otherwise.
        let follows = Config::from_toml("[model]\ndevice = \"cuda\"\n", "x.toml").unwrap();
        assert_eq!(
            follows.train_compute(),
            (ComputeDevice::Cuda(0), Precision::F32)
        );
        assert_eq!(follows.serving_max_batch(), 4096);
        let bad = |text: &str, key: &str| {
            let e = Config::from_toml(text, "x.toml").unwrap_err().to_string();
            assert!(e.contains(key) && e.contains("x.toml"), "{key} in {e}");
        };
        bad("[model]\nprecision = \"bf16\"\n", "model.precision");
        bad(
            "[model]\ndevice = \"cuda\"\nprecision = \"bf16\"\n[train]\ndevice = \"cpu\"\n",
            "train.precision",
        );
        bad("[model]\ndevice = \"tpu\"\n", "line 2");
        bad(
            "[inference]\ncuda_max_batch = 0\n",
            "inference.cuda_max_batch",
        );
        // One float type per CUDA device and process (burn 0.21): the shadow trainer cannot
        // refit in bf16 beside an f32 model on the same GPU.
        bad(
            "[model]\ndevice = \"cuda\"\nregistry = \"r\"\n[train]\nprecision = \"bf16\"\n[shadow]\nenabled = true\n",
            "same device cuda:0",
        );
    }
}
