//! The per-symbol feature state machine: closed bars in, scaled windows out.
//!
//! `spec` names the features (and hashes them); `compute` turns one bar into one raw feature row
//! with the streaming indicators in `indicators/`; `state` owns one symbol's continuity (gaps reset
//! it to Warming); `window` keeps the last T scaled rows; `engine` maps symbols to their state and
//! applies the fitted scaler. Training and serving call the same `SymbolState`, so a window at bar t
//! is bit-identical in both and depends on no bar after t.

pub mod bars;
pub mod compute;
pub mod engine;
pub mod indicators;
pub mod spec;
pub mod state;
pub mod window;

pub use compute::FeatureComputer;
pub use engine::{EngineStats, FeatureEngine};
pub use spec::{FeatureKind, FeatureSpec, SpecError};
pub use state::{BarOutcome, Phase, RejectReason, SymbolState};
pub use window::{Window, WindowBuffer};
