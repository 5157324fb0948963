//! The engine's output: one profitability signal per window.
//!
//! A [`Signal`] is built by the inference stage from a window and the model bundle that scored it,
//! and flows to every sink (JSONL file now; Kafka and the sidecar API later). Its JSON form is
//! `schemas/signal.schema.json` (`schema_version` 1). `signal_id` = exchange + symbol + bar close
//! time + model version, so a consumer that sees the same id twice (a replay, an at-least-once
//! redelivery) can deduplicate.

use crate::event::{Exchange, Symbol};
use serde::{Deserialize, Serialize};

pub const SCHEMA_VERSION: u32 = 1;

/// What a bot should do with this bar, given the bundle's decision threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Long,
    Flat,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    pub schema_version: u32,
    pub signal_id: String,
    pub exchange: Exchange,
    pub symbol: Symbol,
    pub bar_close_time_ms: i64,
    /// Engine clock at emission: wall clock live, event time in replay (so replays are deterministic).
    pub emitted_at_ms: i64,
    pub model_version: String,
    pub p_profitable: f64,
    pub expected_return_bps: f64,
    pub threshold: f64,
    pub decision: Decision,
    /// False when any input feature was clipped or the symbol's bars had a gap inside the window.
    pub features_valid: bool,
    /// Age of the newest bar in the window when the signal was emitted.
    pub feature_age_ms: i64,
    /// Wall-clock time from the bar entering the engine to the signal leaving inference.
    pub latency_us: u64,
}

impl Signal {
    /// ```
    /// use signal_engine::event::{Exchange, Symbol};
    /// use signal_engine::signal::Signal;
    /// let id = Signal::id_for(Exchange::BinanceFutures, &Symbol::new("linkusdt"), 1_772_323_199_999, "v1");
    /// assert_eq!(id, "binance_futures:LINKUSDT:1772323199999:v1");
    /// ```
    pub fn id_for(
        exchange: Exchange,
        symbol: &Symbol,
        bar_close_time_ms: i64,
        model_version: &str,
    ) -> String {
        format!("{exchange}:{symbol}:{bar_close_time_ms}:{model_version}")
    }

    pub fn decide(p_profitable: f64, threshold: f64) -> Decision {
        if p_profitable >= threshold {
            Decision::Long
        } else {
            Decision::Flat
        }
    }
}
