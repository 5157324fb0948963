//! Continuity of one shard's streams across reconnects and rotations: drops what two
//! connections both delivered, closes candles on exchanges that never mark them closed, and
//! marks the data a disconnect lost as a [`EventKind::Gap`] for the feature state machine.
//!
//! In: events parsed from any connection of the shard, in arrival order, plus "this shard was
//! interrupted" when a connection dropped without a live successor. Out: the events to emit, in
//! order. Pure: no clock (times come from the events and the caller), no I/O.
//!
//! Rules:
//! - Trades: an id already seen among a symbol's last [`RECENT_TRADES`] is a duplicate (an
//!   overlapping rotation, or a snapshot replayed after a resubscribe). Ids are compared for
//!   equality only, since some exchanges' ids are hashes.
//! - Closed candles: one whose open time is not after the symbol's last closed candle is a
//!   duplicate, and so is an in-progress update equal to the previous one. Quotes: one older
//!   than the symbol's last quote is dropped, and so is a repeat of the last quote.
//! - Candles without a close mark ([`Venue::marks_closed_candles`] false): the latest update is
//!   held; a later candle of the symbol closes it (emitted with `closed: true`, stamped at its
//!   close time).
//! - Gaps, only after an interruption: a kline stream is whole again when its next candle
//!   continues the last closed one (the missed candle was repeated, or none was missed);
//!   otherwise a `Gap` over the missing candles is emitted before the candle. A trade stream
//!   cannot know what it missed, so it gets a `Gap` from its last trade before the interruption
//!   to the reconnect. Quotes need none: the next quote replaces the state.
//!
//! [`Venue::marks_closed_candles`]: crate::ingest::exchange::Venue::marks_closed_candles

use crate::event::{Bar, EventKind, Exchange, Lost, MarketEvent, Symbol};
use std::collections::{HashMap, HashSet, VecDeque};

/// Trade ids remembered per symbol for deduplication: a rotation overlap lasts seconds, and
/// exchanges replay at most a few hundred trades in a snapshot.
pub const RECENT_TRADES: usize = 4_096;

/// Counts of what continuity changed, for the collector's summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ContinuityStats {
    pub duplicates_dropped: u64,
    pub stale_quotes_dropped: u64,
    pub candles_closed: u64,
    pub gaps_marked: u64,
    /// Kline streams that came back whole after an interruption.
    pub resumed_whole: u64,
}

impl ContinuityStats {
    pub fn add(&mut self, o: &ContinuityStats) {
        self.duplicates_dropped += o.duplicates_dropped;
        self.stale_quotes_dropped += o.stale_quotes_dropped;
        self.candles_closed += o.candles_closed;
        self.gaps_marked += o.gaps_marked;
        self.resumed_whole += o.resumed_whole;
    }
}

#[derive(Default)]
struct TradeIds {
    set: HashSet<u64>,
    order: VecDeque<u64>,
}

impl TradeIds {
    /// True when `id` is new (and remembers it).
    fn insert(&mut self, id: u64) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > RECENT_TRADES
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}

#[derive(Default)]
struct SymbolTrack {
    trades: TradeIds,
    last_trade_ms: Option<i64>,
    /// Open time of the last closed candle emitted.
    last_closed_open_ms: Option<i64>,
    /// The held update of a candle that the exchange will not mark closed.
    open_candle: Option<MarketEvent>,
    last_quote: Option<(i64, EventKind)>,
    /// The last in-progress candle update emitted, to drop an identical repeat (a rotation's
    /// overlap delivers every update twice).
    last_update: Option<Bar>,
    /// Interrupted since the last candle: the next one decides whether data was lost.
    candle_interrupted: bool,
    /// Interrupted at this time (ms) with a trade stream: a gap is due at the reconnect.
    trade_gap_from_ms: Option<i64>,
}

/// Continuity for every symbol of one shard.
pub struct Continuity {
    closes_candles: bool,
    symbols: HashMap<(Exchange, Symbol), SymbolTrack>,
    stats: ContinuityStats,
}

impl Continuity {
    /// `closes_candles`: the venue does not mark closed candles, so this closes them.
    pub fn new(closes_candles: bool) -> Self {
        Self {
            closes_candles,
            symbols: HashMap::new(),
            stats: ContinuityStats::default(),
        }
    }

    pub fn stats(&self) -> ContinuityStats {
        self.stats
    }

    /// The shard lost its connection at `now_ms` with no other connection live: every symbol's
    /// next data decides what was lost.
    pub fn interrupted(&mut self, now_ms: i64) {
        for track in self.symbols.values_mut() {
            track.candle_interrupted = track.last_closed_open_ms.is_some();
            // The held candle's last update may not be its final state: only a repeat of that
            // candle from the exchange (a snapshot after the resubscribe) may close it now.
            track.open_candle = None;
            if track.last_trade_ms.is_some() && track.trade_gap_from_ms.is_none() {
                track.trade_gap_from_ms = track.last_trade_ms.or(Some(now_ms));
            }
        }
    }

    /// A connection is subscribed again at `now_ms` (ns in `now_ns`): trade streams that were
    /// interrupted get their gap now, before any new trade.
    pub fn resumed(&mut self, now_ns: i64, out: &mut Vec<MarketEvent>) {
        let now_ms = now_ns.div_euclid(1_000_000);
        for ((exchange, symbol), track) in &mut self.symbols {
            if let Some(from_ms) = track.trade_gap_from_ms.take() {
                self.stats.gaps_marked += 1;
                out.push(gap(
                    *exchange,
                    symbol,
                    Lost::Trades,
                    from_ms + 1,
                    now_ms,
                    now_ns,
                ));
            }
        }
    }

    /// Passes one parsed event through; what to emit is pushed onto `out`.
    pub fn on_event(&mut self, ev: MarketEvent, out: &mut Vec<MarketEvent>) {
        let key = (ev.exchange, ev.symbol.clone());
        let track = self.symbols.entry(key).or_default();
        match &ev.kind {
            EventKind::Trade { id, .. } => {
                if track.trades.insert(*id) {
                    track.last_trade_ms = Some(ev.ts_event_ns.div_euclid(1_000_000));
                    out.push(ev);
                } else {
                    self.stats.duplicates_dropped += 1;
                }
            }
            EventKind::Quote { .. } => match &track.last_quote {
                Some((t, _)) if ev.ts_event_ns < *t => self.stats.stale_quotes_dropped += 1,
                Some((t, kind)) if ev.ts_event_ns == *t && *kind == ev.kind => {
                    self.stats.duplicates_dropped += 1;
                }
                _ => {
                    track.last_quote = Some((ev.ts_event_ns, ev.kind.clone()));
                    out.push(ev);
                }
            },
            EventKind::Bar(_) if self.closes_candles => {
                close_held(track, ev, &mut self.stats, out);
            }
            EventKind::Bar(_) => candle(track, ev, &mut self.stats, out),
            EventKind::Gap { .. } => out.push(ev),
        }
    }
}

/// For venues that never mark a candle closed: a later candle closes the held one.
fn close_held(
    track: &mut SymbolTrack,
    ev: MarketEvent,
    stats: &mut ContinuityStats,
    out: &mut Vec<MarketEvent>,
) {
    let Some(bar) = ev.as_bar() else { return };
    let open = bar.open_time_ms;
    match track.open_candle.take() {
        Some(held) if held.as_bar().is_some_and(|h| h.open_time_ms < open) => {
            if let Some(closed) = closed_copy(&held) {
                stats.candles_closed += 1;
                candle(track, closed, stats, out);
            }
        }
        // A repeated older candle (a snapshot after a resubscribe) never replaces a newer one.
        Some(held) if held.as_bar().is_some_and(|h| h.open_time_ms > open) => {
            track.open_candle = Some(held);
            return;
        }
        _ => {}
    }
    if track.last_closed_open_ms.is_some_and(|last| open <= last) {
        stats.duplicates_dropped += 1;
        return;
    }
    track.open_candle = Some(ev.clone());
    candle(track, ev, stats, out);
}

/// The held candle as its final, closed form, stamped at its close time.
fn closed_copy(held: &MarketEvent) -> Option<MarketEvent> {
    let bar = held.as_bar()?;
    Some(MarketEvent {
        ts_event_ns: bar.close_time_ms.saturating_mul(1_000_000),
        kind: EventKind::Bar(Bar {
            closed: true,
            ..bar.clone()
        }),
        ..held.clone()
    })
}

/// A candle from a venue that marks closes (or one closed above): dedup and gap marking.
fn candle(
    track: &mut SymbolTrack,
    ev: MarketEvent,
    stats: &mut ContinuityStats,
    out: &mut Vec<MarketEvent>,
) {
    let Some(bar) = ev.as_bar() else { return };
    let (open, span) = (bar.open_time_ms, bar.close_time_ms - bar.open_time_ms + 1);
    if let Some(last) = track.last_closed_open_ms {
        if open <= last {
            if bar.closed {
                stats.duplicates_dropped += 1;
            }
            // An in-progress update of a candle already closed is stale either way.
            return;
        }
        if track.candle_interrupted {
            track.candle_interrupted = false;
            let expected = last + span;
            if open > expected {
                stats.gaps_marked += 1;
                out.push(gap(
                    ev.exchange,
                    &ev.symbol,
                    Lost::Bars,
                    expected,
                    open - 1,
                    ev.ts_recv_ns,
                ));
                // The lost candles are accounted for: the next one continues from here.
                track.last_closed_open_ms = Some(open - span);
            } else {
                stats.resumed_whole += 1;
            }
        }
    }
    if bar.closed {
        track.last_closed_open_ms = Some(open);
        track.last_update = None;
    } else if track.last_update.as_ref() == Some(bar) {
        stats.duplicates_dropped += 1;
        return;
    } else {
        track.last_update = Some(bar.clone());
    }
    out.push(ev);
}

fn gap(
    exchange: Exchange,
    symbol: &Symbol,
    lost: Lost,
    from_ms: i64,
    to_ms: i64,
    recv_ns: i64,
) -> MarketEvent {
    MarketEvent {
        exchange,
        symbol: symbol.clone(),
        ts_event_ns: to_ms.saturating_mul(1_000_000),
        ts_recv_ns: recv_ns,
        kind: EventKind::Gap {
            lost,
            from_ms,
            to_ms,
        },
    }
}

#[cfg(test)]
#[path = "continuity_tests.rs"]
mod tests;
