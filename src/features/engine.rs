//! `FeatureEngine`: the per-symbol map. Market events in; scaled `Window`s out, one per closed bar
//! once the symbol is Ready and its window holds T contiguous rows.
//!
//! It owns every symbol's state, so it lives in one task (sharding by symbol comes with the live
//! engine). Non-bar events are ignored for now (trades→bars and quote features come with the
//! feature-engine issue) and counted.

use super::spec::FeatureSpec;
use super::state::{BarOutcome, RejectReason, SymbolState};
use super::window::{Window, WindowBuffer};
use crate::event::{EventKind, Exchange, MarketEvent, Symbol};
use crate::scaling::RobustScaler;
use std::collections::HashMap;
use std::sync::Arc;

/// Counters of what the engine saw and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    pub bars: u64,
    pub windows: u64,
    pub warming_bars: u64,
    pub gaps: u64,
    pub rejected_out_of_order: u64,
    pub rejected_wrong_interval: u64,
    pub rejected_invalid: u64,
    pub rejected_not_closed: u64,
    pub ignored_non_bar: u64,
}

struct PerSymbol {
    state: SymbolState,
    window: WindowBuffer,
}

pub struct FeatureEngine {
    spec: FeatureSpec,
    scaler: Arc<RobustScaler>,
    seq_len: usize,
    interval_ms: i64,
    /// Keyed by venue and symbol: BTCUSDT on two exchanges are two series.
    symbols: HashMap<(Exchange, Symbol), PerSymbol>,
    stats: EngineStats,
}

impl FeatureEngine {
    pub fn new(
        spec: FeatureSpec,
        scaler: Arc<RobustScaler>,
        seq_len: usize,
        interval_ms: i64,
    ) -> Self {
        Self {
            spec,
            scaler,
            seq_len,
            interval_ms,
            symbols: HashMap::new(),
            stats: EngineStats::default(),
        }
    }

    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// Feeds one event; returns the window ending at this bar when there is one.
    pub fn on_event(&mut self, ev: &MarketEvent) -> Option<Window> {
        let EventKind::Bar(bar) = &ev.kind else {
            self.stats.ignored_non_bar += 1;
            return None;
        };
        let (spec, seq_len, interval) = (&self.spec, self.seq_len, self.interval_ms);
        let sym = self
            .symbols
            .entry((ev.exchange, ev.symbol.clone()))
            .or_insert_with(|| PerSymbol {
                state: SymbolState::new(spec, interval),
                window: WindowBuffer::new(seq_len),
            });
        let (outcome, after_gap) = sym.state.on_bar(bar);
        if after_gap {
            self.stats.gaps += 1;
            sym.window.clear();
        }
        let row = match outcome {
            BarOutcome::Row(row) => row,
            BarOutcome::Warming => {
                // A window holds only contiguous rows: a row that could not be computed breaks it.
                sym.window.clear();
                self.stats.bars += 1;
                self.stats.warming_bars += 1;
                return None;
            }
            BarOutcome::Rejected(r) => {
                let c = match r {
                    RejectReason::OutOfOrder => &mut self.stats.rejected_out_of_order,
                    RejectReason::WrongInterval => &mut self.stats.rejected_wrong_interval,
                    RejectReason::InvalidValues => &mut self.stats.rejected_invalid,
                    RejectReason::NotClosed => &mut self.stats.rejected_not_closed,
                };
                *c += 1;
                return None;
            }
        };
        self.stats.bars += 1;
        let (scaled, clipped) = self.scaler.transform(&row);
        sym.window.push(scaled, clipped);
        let (data, valid) = sym.window.snapshot()?;
        self.stats.windows += 1;
        Some(Window {
            exchange: ev.exchange,
            symbol: ev.symbol.clone(),
            bar_close_time_ms: bar.close_time_ms,
            close: bar.close,
            seq_len: self.seq_len,
            n_features: self.spec.len(),
            data,
            features_valid: valid,
        })
    }
}
