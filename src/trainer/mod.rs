//! Offline training (issue 4): data files → the same feature code as serving → labelled windows →
//! chronological purged split or walk-forward folds → scaler fitted on train only → SignalNet
//! trained with class-weighted BCE + a return loss, Adam, warm-up + cosine, early stopping → test
//! metrics next to three baselines, predictions and an epoch log, all saved with the bundle.
//!
//! - `labels`: fixed-horizon or triple-barrier labels, after fees, from bars after t only.
//! - `dataset`: per-symbol rows from the serving `SymbolState`, sample indices, windows.
//! - `split`: chronological, purged splits and walk-forward folds.
//! - `fit`: the epoch loop (loss, optimiser, early stopping); `schedule`: learning-rate plan and
//!   patience.
//! - `metrics`, `calibration`: what the test split is scored with; `linear`, `logistic`,
//!   `baselines`: what the model is scored against; `scoring`: both on the same test rows.
//! - `train`: the whole run; `report`: `report.md`, `metrics.json`, `predictions.csv`,
//!   `epochs.csv`.
//! - `shadow`: the live engine's shadow trainer (label resolver, rolling buffer, warm-started
//!   refits, champion/challenger decisions, promotion and rollback through the registry).

pub mod baselines;
pub mod calibration;
pub mod dataset;
pub mod fit;
pub mod labels;
pub mod linear;
pub mod logistic;
pub mod metrics;
pub mod report;
pub mod schedule;
pub mod scoring;
pub mod shadow;
pub mod split;
pub mod train;

pub use dataset::{Dataset, Sample, SeriesRows};
pub use fit::{EpochLog, Quiet, TrainObserver};
pub use labels::{Exit, Label, Prices, label_at};
pub use split::{Split, chronological_split, walk_forward};
pub use train::{Prediction, TrainOutcome, train};
