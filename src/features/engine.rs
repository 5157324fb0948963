//! `FeatureEngine`: the per-symbol map. Market events in; scaled `Window`s out, one per closed
//! data bar once the symbol is Ready.
//!
//! Bars come straight from bar events (klines) or are built from trades by
//! [`TradeBarAggregator`]; which one a symbol uses is
//! `BarSource` (by default the first event kind the symbol shows). Quotes update the symbol's top
//! of book for the quote features. The engine owns every symbol's state, so it lives in one task
//! (sharding by symbol comes with the live engine). Gap fillers go through the indicators and
//! into the window but emit no window of their own: a signal is only ever about a bar that
//! happened.

use super::bars::TradeBarAggregator;
use super::compute::TopOfBook;
use super::spec::FeatureSpec;
use super::state::{Accepted, Phase, RejectReason, StatePolicy, Step, SymbolState};
use super::window::{Window, WindowBuffer};
use crate::event::{Bar, EventKind, Exchange, Lost, MarketEvent, Symbol};
use crate::scaling::{RobustScaler, StreamingScaler};
use std::collections::HashMap;
use std::sync::Arc;

/// One bar as it went through a symbol's indicators (see `FeatureEngine::on_event_observed`).
#[derive(Debug)]
pub struct Observed<'a> {
    pub exchange: Exchange,
    pub symbol: &'a Symbol,
    pub bar: &'a Bar,
    /// A gap filler, not a bar from the data.
    pub filled: bool,
    /// The symbol's phase after this bar.
    pub phase: Phase,
    /// Raw features in spec order, NaN while warming up.
    pub row: &'a [f64],
    pub complete: bool,
}

/// Where a symbol's bars come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BarSource {
    /// Bar events if the symbol's first bar-or-trade event is a bar, else trades.
    #[default]
    Auto,
    /// Bar events only; trades are counted and ignored.
    Bars,
    /// Bars built from trades; bar events are counted and ignored.
    Trades,
}

/// How the engine scales raw rows (DESIGN.md §4).
#[derive(Clone, Debug)]
pub enum Scaling {
    /// Median / IQR fitted on the training split, fixed.
    Fitted(Arc<RobustScaler>),
    /// Online quartiles with forgetting, one state for all symbols: each row is scaled with the
    /// state before it, then learned (so a row never scales itself).
    Streaming(Box<StreamingScaler>),
}

impl From<Arc<RobustScaler>> for Scaling {
    fn from(s: Arc<RobustScaler>) -> Self {
        Scaling::Fitted(s)
    }
}

impl Scaling {
    /// Scales `row` into `out`; true when a value was clipped or the scaler is not warm yet.
    fn apply(&mut self, row: &[f64], out: &mut Vec<f32>) -> bool {
        match self {
            Scaling::Fitted(s) => s.transform_into(row, out),
            Scaling::Streaming(s) => {
                let cold = !s.is_warm();
                s.transform_then_update(row, out) || cold
            }
        }
    }
}

/// Counters of what the engine saw and did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct EngineStats {
    /// Data bars that went through the indicators (from bar events or built from trades).
    pub bars: u64,
    pub windows: u64,
    /// Data bars that emitted no window because the symbol was not Ready.
    pub warming_bars: u64,
    /// Gap fillers (missing bars carried from the last close).
    pub filled_bars: u64,
    /// Resets of a symbol's indicators: a gap too long to fill, or a bar after it went Stale.
    pub resets: u64,
    /// Symbols declared Stale by the clock (no bar for `stale_after`).
    pub stale: u64,
    pub duplicates: u64,
    pub pending_updates: u64,
    pub rejected_out_of_order: u64,
    pub rejected_wrong_interval: u64,
    pub rejected_misaligned: u64,
    pub rejected_invalid: u64,
    pub trades: u64,
    /// Trades that arrived for a bar that had already closed, or repeated the last trade id.
    pub trades_rejected: u64,
    pub quotes: u64,
    /// Quotes with a non-finite or negative field.
    pub quotes_rejected: u64,
    /// Bar events of trade-sourced symbols and trades of bar-sourced symbols.
    pub ignored_other_source: u64,
    /// Gap events (data a source lost) that made a symbol Stale.
    pub gaps: u64,
}

impl EngineStats {
    /// Adds another engine's counters (the Kafka source runs one engine per partition).
    pub fn absorb(&mut self, o: &EngineStats) {
        let EngineStats {
            bars,
            windows,
            warming_bars,
            filled_bars,
            resets,
            stale,
            duplicates,
            pending_updates,
            rejected_out_of_order,
            rejected_wrong_interval,
            rejected_misaligned,
            rejected_invalid,
            trades,
            trades_rejected,
            quotes,
            quotes_rejected,
            ignored_other_source,
            gaps,
        } = o;
        self.bars += bars;
        self.windows += windows;
        self.warming_bars += warming_bars;
        self.filled_bars += filled_bars;
        self.resets += resets;
        self.gaps += gaps;
        self.stale += stale;
        self.duplicates += duplicates;
        self.pending_updates += pending_updates;
        self.rejected_out_of_order += rejected_out_of_order;
        self.rejected_wrong_interval += rejected_wrong_interval;
        self.rejected_misaligned += rejected_misaligned;
        self.rejected_invalid += rejected_invalid;
        self.trades += trades;
        self.trades_rejected += trades_rejected;
        self.quotes += quotes;
        self.quotes_rejected += quotes_rejected;
        self.ignored_other_source += ignored_other_source;
    }

    /// Bars rejected for any reason.
    pub fn rejected(&self) -> u64 {
        self.rejected_out_of_order
            + self.rejected_wrong_interval
            + self.rejected_misaligned
            + self.rejected_invalid
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Undecided,
    Bars,
    Trades,
}

struct PerSymbol {
    state: SymbolState,
    window: WindowBuffer,
    quote: Option<TopOfBook>,
    trades: Option<Box<TradeBarAggregator>>,
    source: Source,
}

pub struct FeatureEngine {
    spec: FeatureSpec,
    scaler: Scaling,
    policy: StatePolicy,
    bar_source: BarSource,
    /// Keyed by venue and symbol: BTCUSDT on two exchanges are two series. Boxed, so the
    /// table's spare slots cost a pointer, not a whole symbol.
    symbols: HashMap<(Exchange, Symbol), Box<PerSymbol>>,
    /// A fresh symbol state; new symbols clone it and so share its compiled feature plan.
    proto: SymbolState,
    stats: EngineStats,
    /// Latest event time seen (ms): the clock that declares silent symbols Stale.
    clock_ms: i64,
    next_sweep_ms: i64,
    scaled: Vec<f32>,
}

impl FeatureEngine {
    pub fn new(spec: FeatureSpec, scaler: impl Into<Scaling>, policy: StatePolicy) -> Self {
        Self {
            scaled: Vec::with_capacity(spec.len()),
            proto: SymbolState::new(&spec, policy),
            spec,
            scaler: scaler.into(),
            policy,
            bar_source: BarSource::Auto,
            symbols: HashMap::new(),
            stats: EngineStats::default(),
            clock_ms: i64::MIN,
            next_sweep_ms: i64::MIN,
        }
    }

    pub fn with_bar_source(mut self, source: BarSource) -> Self {
        self.bar_source = source;
        self
    }

    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// The scaler, e.g. to snapshot a streaming scaler's state.
    pub fn scaling(&self) -> &Scaling {
        &self.scaler
    }

    /// The span a Kafka partition re-reads when it is assigned: the window's T bars plus 16
    /// indicator look-backs (plus the gap-fill allowance). One look-back makes a symbol Ready,
    /// but exponential smoothers keep a trace of where they started: Wilder's ATR(60) keeps
    /// (59/60)^n of it after n bars. Measured on real bars (`tests/warmup_span.rs`), the largest
    /// |Δ p_profitable| against an uninterrupted history was 2.6e-3 after one look-back, 5.4e-4
    /// after four and 8.9e-8 after sixteen; re-reading ~1,000 bars costs milliseconds.
    pub fn warmup_bars(&self) -> usize {
        16 * self.proto.lookback() + self.policy.seq_len + self.policy.fill_gap_bars as usize + 1
    }

    pub fn symbols(&self) -> usize {
        self.symbols.len()
    }

    /// Feeds one event; returns the window ending at this bar when there is one.
    pub fn on_event(&mut self, ev: &MarketEvent) -> Option<Window> {
        self.on_event_observed(ev, &mut |_| {})
    }

    /// `on_event`, also showing `observe` every bar that went through the indicators (data bars
    /// and gap fillers) with its raw row: what `signal-engine features` writes out.
    pub fn on_event_observed(
        &mut self,
        ev: &MarketEvent,
        observe: &mut dyn FnMut(&Observed<'_>),
    ) -> Option<Window> {
        let ts_ms = ev.ts_event_ns.div_euclid(1_000_000);
        let window = self.route(ev, ts_ms, observe);
        // The clock moves after the event is handled, so a symbol's own bar is judged by the gap
        // policy (fill or reset), never declared stale by its own arrival: a single-symbol
        // stream and a multi-symbol one then treat the same gap the same way.
        self.advance_clock(ts_ms);
        window
    }

    fn route(
        &mut self,
        ev: &MarketEvent,
        ts_ms: i64,
        observe: &mut dyn FnMut(&Observed<'_>),
    ) -> Option<Window> {
        let key = (ev.exchange, ev.symbol.clone());
        match &ev.kind {
            EventKind::Bar(bar) => {
                if !self.claim(&key, Source::Bars) {
                    self.stats.ignored_other_source += 1;
                    return None;
                }
                self.on_bar(&key, bar, observe)
            }
            EventKind::Trade {
                price,
                qty,
                side,
                id,
            } => {
                self.stats.trades += 1;
                if !self.claim(&key, Source::Trades) {
                    self.stats.ignored_other_source += 1;
                    return None;
                }
                let interval = self.policy.interval_ms;
                let sym = self.symbols.get_mut(&key)?;
                if sym.trades.is_none() {
                    // The policy's interval is positive (config-validated); a hand-built policy
                    // with a bad one gets its trades counted as rejected.
                    sym.trades = TradeBarAggregator::new(interval).ok().map(Box::new);
                }
                match sym
                    .trades
                    .as_mut()?
                    .on_trade(ts_ms, *price, *qty, *side, *id)
                {
                    Ok(Some(bar)) => self.on_bar(&key, &bar, observe),
                    Ok(None) => None,
                    Err(_) => {
                        self.stats.trades_rejected += 1;
                        None
                    }
                }
            }
            EventKind::Quote {
                bid,
                bid_qty,
                ask,
                ask_qty,
            } => {
                self.stats.quotes += 1;
                let q = TopOfBook {
                    bid: *bid,
                    bid_qty: *bid_qty,
                    ask: *ask,
                    ask_qty: *ask_qty,
                };
                let ok = [q.bid, q.bid_qty, q.ask, q.ask_qty]
                    .iter()
                    .all(|v| v.is_finite() && *v >= 0.0);
                if !ok {
                    self.stats.quotes_rejected += 1;
                    return None;
                }
                // A trade-built bar whose interval ended before this quote closes first, with the
                // quote it saw: a bar never carries a quote from after its close.
                let due = self
                    .entry(&key)
                    .trades
                    .as_mut()
                    .and_then(|a| a.on_clock(ts_ms));
                let window = due.and_then(|bar| self.on_bar(&key, &bar, observe));
                self.entry(&key).quote = Some(q);
                window
            }
            EventKind::Gap { lost, to_ms, .. } => {
                let sym = self.symbols.get_mut(&key)?;
                // Only a loss of the data this symbol's bars come from matters: klines lost
                // while trades build the bars (or the reverse) change nothing.
                match (lost, sym.source) {
                    (Lost::Bars, Source::Bars) => {}
                    // A trade-built bar that overlaps the hole is missing trades: drop it whole.
                    (Lost::Trades, Source::Trades) => sym.trades = None,
                    _ => return None,
                }
                if sym.state.on_gap(*to_ms) {
                    self.stats.gaps += 1;
                }
                None
            }
        }
    }

    /// Closes every trade-built bar still open (end of a replay) and returns their windows.
    pub fn flush(&mut self) -> Vec<Window> {
        self.flush_observed(&mut |_| {})
    }

    /// `flush`, showing `observe` the bars it closes (see `on_event_observed`).
    pub fn flush_observed(&mut self, observe: &mut dyn FnMut(&Observed<'_>)) -> Vec<Window> {
        self.close_trade_bars(|a| a.flush(), observe)
    }

    /// Advances the engine clock (event time in replay, wall time live). Trade-built bars whose
    /// interval has ended close (their windows are returned) and silent symbols go Stale.
    pub fn tick(&mut self, now_ms: i64) -> Vec<Window> {
        let windows = self.close_trade_bars(|a| a.on_clock(now_ms), &mut |_| {});
        self.advance_clock(now_ms);
        windows
    }

    /// Takes the bar `close` hands out from each symbol's trade aggregator and runs them through
    /// their symbols in close-time order.
    fn close_trade_bars(
        &mut self,
        mut close: impl FnMut(&mut TradeBarAggregator) -> Option<Bar>,
        observe: &mut dyn FnMut(&Observed<'_>),
    ) -> Vec<Window> {
        let mut closed: Vec<((Exchange, Symbol), Bar)> = Vec::new();
        for (key, sym) in &mut self.symbols {
            if let Some(bar) = sym.trades.as_mut().and_then(|a| close(a)) {
                closed.push((key.clone(), bar));
            }
        }
        closed.sort_by_key(|(_, b)| b.close_time_ms);
        closed
            .into_iter()
            .filter_map(|(key, bar)| self.on_bar(&key, &bar, observe))
            .collect()
    }

    fn advance_clock(&mut self, now_ms: i64) {
        if now_ms <= self.clock_ms {
            return;
        }
        self.clock_ms = now_ms;
        // Staleness is checked once per bar interval, not per event: O(symbols) per interval.
        if now_ms >= self.next_sweep_ms {
            self.next_sweep_ms = now_ms.saturating_add(self.policy.interval_ms);
            let stale_after = self.policy.stale_after_ms;
            for sym in self.symbols.values_mut() {
                // A trade-built bar still open means trades did arrive: the silence is measured
                // from it, not from the last bar the state machine has seen.
                let building = sym
                    .trades
                    .as_ref()
                    .and_then(|a| a.current())
                    .is_some_and(|b| now_ms.saturating_sub(b.close_time_ms) <= stale_after);
                if !building {
                    self.stats.stale += u64::from(sym.state.on_clock(now_ms));
                }
            }
        }
    }

    fn entry(&mut self, key: &(Exchange, Symbol)) -> &mut PerSymbol {
        let (proto, policy, n) = (&self.proto, self.policy, self.spec.len());
        self.symbols.entry(key.clone()).or_insert_with(|| {
            Box::new(PerSymbol {
                state: proto.clone(),
                window: WindowBuffer::new(policy.seq_len, n),
                quote: None,
                trades: None,
                source: Source::Undecided,
            })
        })
    }

    /// True when `kind` may feed this symbol's bars (deciding the source on first use).
    fn claim(&mut self, key: &(Exchange, Symbol), kind: Source) -> bool {
        let configured = self.bar_source;
        let sym = self.entry(key);
        if sym.source == Source::Undecided {
            sym.source = match configured {
                BarSource::Auto => kind,
                BarSource::Bars => Source::Bars,
                BarSource::Trades => Source::Trades,
            };
        }
        sym.source == kind
    }

    fn on_bar(
        &mut self,
        key: &(Exchange, Symbol),
        bar: &Bar,
        observe: &mut dyn FnMut(&Observed<'_>),
    ) -> Option<Window> {
        let Self {
            symbols,
            scaler,
            stats,
            scaled,
            spec,
            policy,
            ..
        } = self;
        let sym = symbols.get_mut(key)?;
        let PerSymbol {
            state,
            window,
            quote,
            ..
        } = &mut **sym;
        let mut emit = false;
        let result = state.on_bar(bar, quote.as_ref(), |step| match step {
            Step::Reset { .. } => {
                stats.resets += 1;
                window.clear();
            }
            Step::Bar {
                bar,
                row,
                complete,
                filled,
                phase,
            } => {
                observe(&Observed {
                    exchange: key.0,
                    symbol: &key.1,
                    bar,
                    filled,
                    phase,
                    row,
                    complete,
                });
                if filled {
                    stats.filled_bars += 1;
                } else {
                    stats.bars += 1;
                }
                if !complete {
                    // A window holds only contiguous complete rows.
                    window.clear();
                } else {
                    let clipped = scaler.apply(row, scaled);
                    window.push(scaled, clipped, filled);
                }
                emit = !filled && phase == Phase::Ready && window.is_full();
                if !filled && !emit {
                    stats.warming_bars += 1;
                }
            }
        });
        match result {
            Ok(Accepted::Processed) => {}
            Ok(Accepted::Duplicate) => stats.duplicates += 1,
            Ok(Accepted::Pending) => stats.pending_updates += 1,
            Err(r) => {
                *match r {
                    RejectReason::OutOfOrder => &mut stats.rejected_out_of_order,
                    RejectReason::WrongInterval => &mut stats.rejected_wrong_interval,
                    RejectReason::Misaligned => &mut stats.rejected_misaligned,
                    RejectReason::InvalidValues => &mut stats.rejected_invalid,
                } += 1;
            }
        }
        if !emit {
            return None;
        }
        let (data, clipped, filled_rows) = window.snapshot()?;
        stats.windows += 1;
        Some(Window {
            exchange: key.0,
            symbol: key.1.clone(),
            bar_close_time_ms: bar.close_time_ms,
            close: bar.close,
            seq_len: policy.seq_len,
            n_features: spec.len(),
            data,
            features_valid: !clipped && filled_rows == 0,
            filled_rows,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Side;
    use proptest::prelude::*;

    const MIN: i64 = 60_000;

    fn bar_event(sym: &str, minute: i64, close: f64, volume: f64) -> MarketEvent {
        MarketEvent::closed_bar(
            Exchange::BinanceFutures,
            Symbol::new(sym),
            Bar {
                open_time_ms: minute * MIN,
                close_time_ms: minute * MIN + MIN - 1,
                open: close,
                high: close * 1.001,
                low: close * 0.999,
                close,
                volume,
                quote_volume: volume * close,
                trades: 3,
                taker_buy_volume: volume / 3.0,
                closed: true,
            },
        )
    }

    fn engine(names: &[String], policy: StatePolicy) -> FeatureEngine {
        let spec = FeatureSpec::new(names).unwrap();
        let n = spec.len();
        let identity = Arc::new(RobustScaler {
            center_: vec![0.0; n],
            scale_: vec![1.0; n],
            quantile_range: (25.0, 75.0),
            feature_names_in_: spec.names().to_vec(),
            n_features_in_: n,
            clip: 1e9,
        });
        FeatureEngine::new(spec, identity, policy)
    }

    fn policy() -> StatePolicy {
        StatePolicy {
            interval_ms: MIN,
            seq_len: 3,
            fill_gap_bars: 2,
            stale_after_ms: 3 * MIN,
        }
    }

    #[test]
    fn a_silent_symbol_goes_stale_on_the_others_clock_and_resyncs() {
        let names = ["log_return_1".to_string()];
        let mut e = engine(&names, policy());
        for m in 0..5 {
            e.on_event(&bar_event("AAA", m, 10.0 + m as f64, 1.0));
            e.on_event(&bar_event("BBB", m, 20.0, 1.0));
        }
        // AAA falls silent; BBB's bars move the clock past AAA's last close + 3 minutes.
        for m in 5..9 {
            assert!(e.on_event(&bar_event("BBB", m, 20.0, 1.0)).is_some());
        }
        assert_eq!(e.stats().stale, 1);
        // AAA's next bar follows a fillable gap, but the symbol was stale: it resyncs (no window).
        assert!(e.on_event(&bar_event("AAA", 8, 12.0, 1.0)).is_none());
        assert_eq!((e.stats().resets, e.stats().filled_bars), (1, 0));
    }

    #[test]
    fn a_gap_of_the_bars_source_resets_the_symbol_and_other_gaps_do_not() {
        let names = ["log_return_1".to_string()];
        let mut e = engine(&names, policy());
        for m in 0..5 {
            e.on_event(&bar_event("AAA", m, 10.0 + m as f64, 1.0));
        }
        let gap = |lost, to_min: i64| MarketEvent {
            exchange: Exchange::BinanceFutures,
            symbol: Symbol::new("AAA"),
            ts_event_ns: to_min * MIN * 1_000_000,
            ts_recv_ns: 0,
            kind: EventKind::Gap {
                lost,
                from_ms: 5 * MIN,
                to_ms: to_min * MIN - 1,
            },
        };
        // Lost trades do not touch a symbol whose bars are klines.
        assert!(e.on_event(&gap(Lost::Trades, 6)).is_none());
        assert_eq!(e.stats().gaps, 0);
        assert!(e.on_event(&gap(Lost::Bars, 6)).is_none());
        assert_eq!(e.stats().gaps, 1);
        // One missing minute would be filled (fill_gap_bars = 2); after a lost-bars gap the
        // symbol re-warms instead, and emits no window until it is whole again.
        assert!(e.on_event(&bar_event("AAA", 6, 16.0, 1.0)).is_none());
        assert_eq!((e.stats().resets, e.stats().filled_bars), (1, 0));
        // An unknown symbol's gap is a no-op.
        let mut other = gap(Lost::Bars, 6);
        other.symbol = Symbol::new("ZZZ");
        assert!(e.on_event(&other).is_none());
        assert_eq!(e.stats().gaps, 1);
    }

    #[test]
    fn trades_become_bars_and_quotes_feed_the_quote_features() {
        let names: Vec<String> = [
            "log_return_1",
            "spread_bps",
            "book_imbalance",
            "taker_buy_ratio",
        ]
        .map(String::from)
        .to_vec();
        let mut e = engine(&names, policy());
        let trade = |minute: i64, sec: i64, price: f64, side, id| MarketEvent {
            exchange: Exchange::Binance,
            symbol: Symbol::new("XRPETH"),
            ts_event_ns: (minute * MIN + sec * 1000) * 1_000_000,
            ts_recv_ns: 0,
            kind: EventKind::Trade {
                price,
                qty: 2.0,
                side,
                id,
            },
        };
        let quote = MarketEvent {
            exchange: Exchange::Binance,
            symbol: Symbol::new("XRPETH"),
            ts_event_ns: 1,
            ts_recv_ns: 0,
            kind: EventKind::Quote {
                bid: 99.0,
                bid_qty: 3.0,
                ask: 101.0,
                ask_qty: 1.0,
            },
        };
        e.on_event(&quote);
        let mut windows = Vec::new();
        for m in 0..6 {
            windows.extend(e.on_event(&trade(m, 1, 100.0 + m as f64, Side::Buy, 2 * m as u64)));
            windows.extend(e.on_event(&trade(
                m,
                30,
                100.0 + m as f64,
                Side::Sell,
                2 * m as u64 + 1,
            )));
        }
        windows.extend(e.flush());
        let s = e.stats();
        assert_eq!((s.trades, s.bars, s.quotes), (12, 6, 1));
        // Bars 1..=5 are complete (log return needs one earlier bar); T = 3 → windows at 3, 4, 5.
        assert_eq!(windows.len(), 3);
        let last = windows.last().unwrap();
        let row = &last.data[last.data.len() - 4..];
        assert!((row[0] - (105.0f32 / 104.0).ln()).abs() < 1e-6);
        assert!(
            (row[1] - 200.0).abs() < 1e-3,
            "2 / 100 of the mid = 200 bps"
        );
        assert_eq!((row[2], row[3]), (0.5, 0.5));
        // A replayed trade id and a late trade are counted, not merged.
        e.on_event(&trade(9, 0, 1.0, Side::Buy, 100));
        e.on_event(&trade(9, 1, 1.0, Side::Buy, 100));
        e.on_event(&trade(2, 0, 1.0, Side::Buy, 101));
        assert_eq!(e.stats().trades_rejected, 2);
    }

    #[test]
    fn trade_built_symbols_fill_like_bars_even_while_others_move_the_clock() {
        let names = ["log_return_1".to_string(), "spread_bps".to_string()];
        let mut e = engine(&names, policy());
        let ev = |sym: &str, ms: i64, kind: EventKind| MarketEvent {
            exchange: Exchange::Binance,
            symbol: Symbol::new(sym),
            ts_event_ns: ms * 1_000_000,
            ts_recv_ns: 0,
            kind,
        };
        let trade = |price: f64, id: u64| EventKind::Trade {
            price,
            qty: 1.0,
            side: Side::Buy,
            id,
        };
        let quote = |bid: f64| EventKind::Quote {
            bid,
            bid_qty: 1.0,
            ask: 100.0,
            ask_qty: 1.0,
        };
        e.on_event(&ev("XXX", 0, quote(99.0)));
        // Trades in minutes 0 and 1, then none until minute 4: a 2-bar gap, fillable.
        e.on_event(&ev("XXX", 1_000, trade(99.5, 1)));
        e.on_event(&ev("XXX", MIN + 1_000, trade(99.5, 2)));
        // Minute 1's bar closed at 1:59.999; this quote (2:30) closes it first, with the old quote.
        e.on_event(&ev("XXX", 2 * MIN + 30_000, quote(90.0)));
        // Another symbol moves the clock past 3 minutes after that close.
        e.on_event(&bar_event("YYY", 4, 20.0, 1.0));
        e.on_event(&ev("XXX", 4 * MIN + 59_000, trade(99.5, 3)));
        e.flush();
        let s = e.stats();
        assert_eq!((s.stale, s.resets, s.filled_bars), (0, 0, 2), "{s:?}");
        // Bars 0 and 1 saw the 99/100 quote (100 bps), the fillers too; bar 4 the new one.
        let mut spreads = Vec::new();
        let mut e2 = engine(&names, policy());
        for event in [
            ev("XXX", 0, quote(99.0)),
            ev("XXX", 1_000, trade(99.5, 1)),
            ev("XXX", MIN + 1_000, trade(99.5, 2)),
            ev("XXX", 2 * MIN + 30_000, quote(90.0)),
            ev("XXX", 4 * MIN + 59_000, trade(99.5, 3)),
        ] {
            e2.on_event_observed(&event, &mut |o| {
                spreads.push((o.bar.open_time_ms / MIN, o.row[1]))
            });
        }
        e2.flush_observed(&mut |o| spreads.push((o.bar.open_time_ms / MIN, o.row[1])));
        let bps = |bid: f64| (100.0 - bid) / ((100.0 + bid) / 2.0) * 1e4;
        assert_eq!(
            spreads,
            [
                (0, bps(99.0)),
                (1, bps(99.0)),
                (2, bps(99.0)),
                (3, bps(99.0)),
                (4, bps(90.0))
            ]
        );
    }

    /// Any mix of bars (gaps, duplicates, late, zero volume, jumps, bad values), trades and
    /// quotes: no panic, and every window holds finite values only.
    fn events() -> impl Strategy<Value = Vec<MarketEvent>> {
        let one = (
            0usize..3,
            0i64..3,
            prop_oneof![Just(0.0), -0.01f64..0.01, -7.0f64..7.0],
            prop_oneof![Just(0.0), 0.0f64..1e9],
            0u8..10,
        );
        prop::collection::vec(one, 1..300).prop_map(|steps| {
            let mut minute = [0i64; 3];
            let mut close = [100.0f64; 3];
            let mut out = Vec::new();
            for (i, (s, jump, r, vol, kind)) in steps.into_iter().enumerate() {
                let sym = ["AAA", "BBB", "CCC"][s];
                minute[s] += match jump {
                    0 => 1,
                    1 => 1 + (i as i64 % 4),
                    _ => -1,
                };
                close[s] = (close[s] * f64::exp(r)).clamp(1e-9, 1e12);
                out.push(match kind {
                    0 => MarketEvent {
                        exchange: Exchange::Binance,
                        symbol: Symbol::new(sym),
                        ts_event_ns: minute[s] * MIN * 1_000_000,
                        ts_recv_ns: 0,
                        kind: EventKind::Quote {
                            bid: close[s] * 0.999,
                            bid_qty: vol,
                            ask: close[s] * 1.001,
                            ask_qty: 1.0,
                        },
                    },
                    1 => {
                        let mut b = bar_event(sym, minute[s], close[s], vol);
                        if let EventKind::Bar(bar) = &mut b.kind {
                            bar.high = f64::NAN;
                        }
                        b
                    }
                    2 | 3 => {
                        // An in-progress update, or a bar off the interval grid.
                        let mut b = bar_event(sym, minute[s], close[s], vol);
                        if let EventKind::Bar(bar) = &mut b.kind {
                            if kind == 2 {
                                bar.closed = false;
                            } else {
                                bar.open_time_ms += 1_000;
                                bar.close_time_ms += 1_000;
                            }
                        }
                        b
                    }
                    _ => bar_event(sym, minute[s], close[s], vol),
                });
            }
            out
        })
    }

    proptest! {
        #[test]
        fn windows_are_always_finite(evs in events()) {
            let mut names = FeatureSpec::full_names();
            names.push("spread_bps".into());
            names.push("book_imbalance".into());
            let mut e = engine(&names, policy());
            for ev in &evs {
                if let Some(w) = e.on_event(ev) {
                    prop_assert!(w.data.iter().all(|v| v.is_finite()));
                    prop_assert_eq!(w.data.len(), 3 * names.len());
                }
            }
        }
    }
}
