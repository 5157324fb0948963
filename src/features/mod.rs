//! The per-symbol feature state machine: market events in, scaled windows out.
//!
//! `spec` names the features (and hashes them); `compute` turns one bar into one raw feature row
//! with the streaming indicators in `indicators/`; `bars` builds time bars from trades; `state`
//! owns one symbol's continuity (Warming → Ready → Stale → Resync, gap filling, duplicates);
//! `window` keeps the last T scaled rows; `engine` maps symbols to their state and applies the
//! scaler. Training, export and serving call the same `SymbolState`, so a row at bar t is
//! bit-identical in all three and depends on no bar after t.

pub mod bars;
pub mod compute;
pub mod engine;
pub mod indicators;
pub mod spec;
pub mod state;
pub mod window;

pub use compute::{FeatureComputer, TopOfBook};
pub use engine::{BarSource, EngineStats, FeatureEngine, Observed, Scaling};
pub use spec::{FeatureKind, FeatureSpec, SpecError};
pub use state::{Accepted, Phase, RejectReason, StatePolicy, Step, SymbolState};
pub use window::{Window, WindowBuffer};
