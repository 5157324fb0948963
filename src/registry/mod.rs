//! Model bundles and the live model.
//!
//! A bundle (DESIGN.md §7) is one directory: `manifest.json` (version, feature spec + hash, shapes,
//! label definition, threshold, training data range, test metrics next to baselines, sha256 of the
//! weights), `model.mpk` (burn record) and `scaler.json`. `store` writes one atomically (temp dir,
//! fsync, rename) and loads one, refusing a bundle whose feature-spec hash differs from the
//! config's. The live model is an `ArcSwap<LoadedModel>`: a batch loads it once, so every signal
//! names the version that produced it. A registry directory (`dir`) holds many bundles and the
//! `CURRENT` pointer; `watch` swaps the live model when `CURRENT` moves.

pub mod dir;
pub mod manifest;
pub mod schedule;
pub mod store;
pub mod watch;

pub use dir::{Action, HistoryEntry, Registry};
pub use manifest::Manifest;
pub use store::{BundleError, LoadedModel, load_bundle, load_bundle_with, save_bundle};

use arc_swap::ArcSwap;
use std::sync::Arc;

/// The model currently serving. One writer (a promotion), many readers (inference batches).
pub type LiveModel = Arc<ArcSwap<LoadedModel>>;

pub fn live(model: LoadedModel) -> LiveModel {
    Arc::new(ArcSwap::from_pointee(model))
}
