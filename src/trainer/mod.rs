//! Offline training: data files → the same feature code as serving → labelled windows →
//! chronological purged split → scaler fitted on train only → SignalNet trained with Adam → a
//! bundle whose manifest carries test metrics next to a majority-class baseline.
//!
//! `labels` (forward returns, after fees), `dataset` (per-symbol rows and sample indices),
//! `split` (chronological, purged), `metrics` (AUC, accuracy, precision, recall), `train` (the loop
//! and the bundle).

pub mod dataset;
pub mod labels;
pub mod metrics;
pub mod split;
pub mod train;

pub use dataset::{Dataset, Sample, SeriesRows};
pub use labels::{Label, label_at};
pub use split::{Split, chronological_split};
pub use train::{TrainOutcome, train};
