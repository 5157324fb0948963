//! The model: `SignalNet`, a BiLSTM + multi-head-attention network generic over the burn backend,
//! and the choice of backend (made once, at the edge).
//!
//! In: a batch of scaled windows `[B, T, F]`. Out: a profitability logit and an expected return in
//! bps per window. This module knows nothing of bundles or the registry: `registry/` stores a model,
//! `infer.rs` runs one.

pub mod backend;
pub mod net;

pub use net::{SignalNet, SignalNetConfig, SignalOutput};
