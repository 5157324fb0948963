use super::*;
use crate::event::Side;

const MIN: i64 = 60_000;

fn ev(kind: EventKind, ts_ms: i64) -> MarketEvent {
    MarketEvent {
        exchange: Exchange::Kraken,
        symbol: Symbol::new("BTCUSD"),
        ts_event_ns: ts_ms * 1_000_000,
        ts_recv_ns: ts_ms * 1_000_000 + 7,
        kind,
    }
}

fn trade(id: u64, ts_ms: i64) -> MarketEvent {
    let kind = EventKind::Trade {
        price: 100.0,
        qty: 1.0,
        side: Side::Buy,
        id,
    };
    ev(kind, ts_ms)
}

fn candle(minute: i64, close: f64, closed: bool) -> MarketEvent {
    let open_time_ms = minute * MIN;
    let bar = Bar {
        open_time_ms,
        close_time_ms: open_time_ms + MIN - 1,
        open: 100.0,
        high: 110.0,
        low: 90.0,
        close,
        volume: 1.0,
        quote_volume: 100.0,
        trades: 1,
        taker_buy_volume: 0.5,
        closed,
    };
    let ts = if closed {
        open_time_ms + MIN - 1
    } else {
        open_time_ms + 5
    };
    ev(EventKind::Bar(bar), ts)
}

fn feed(c: &mut Continuity, events: Vec<MarketEvent>) -> Vec<MarketEvent> {
    let mut out = Vec::new();
    for e in events {
        c.on_event(e, &mut out);
    }
    out
}

/// (open minute, closed) of each bar, and (from, to) of each gap, in order.
fn shape(out: &[MarketEvent]) -> Vec<String> {
    out.iter()
        .map(|e| match &e.kind {
            EventKind::Bar(b) => format!("bar {} {}", b.open_time_ms / MIN, b.closed),
            EventKind::Gap {
                lost,
                from_ms,
                to_ms,
            } => format!("gap {lost:?} {from_ms}..={to_ms}"),
            EventKind::Trade { id, .. } => format!("trade {id}"),
            EventKind::Quote { .. } => format!("quote {}", e.ts_event_ns / 1_000_000),
        })
        .collect()
}

#[test]
fn repeated_trades_and_old_quotes_are_dropped() {
    let mut c = Continuity::new(false);
    let quote = |ts| {
        let kind = EventKind::Quote {
            bid: 1.0,
            bid_qty: 1.0,
            ask: 2.0,
            ask_qty: 1.0,
        };
        ev(kind, ts)
    };
    let out = feed(
        &mut c,
        vec![
            trade(1, 10),
            trade(2, 11),
            trade(1, 10),
            quote(20),
            quote(19),
            quote(20),
            trade(3, 12),
        ],
    );
    assert_eq!(shape(&out), ["trade 1", "trade 2", "quote 20", "trade 3"]);
    assert_eq!(c.stats().duplicates_dropped, 2);
    assert_eq!(c.stats().stale_quotes_dropped, 1);
}

#[test]
fn trade_ids_are_remembered_for_a_bounded_span() {
    let mut c = Continuity::new(false);
    let n = RECENT_TRADES as u64 + 1;
    let out = feed(&mut c, (0..n).map(|i| trade(i, 1)).collect());
    assert_eq!(out.len() as u64, n);
    // Id 0 fell out of the window; id 1 is still remembered.
    assert_eq!(feed(&mut c, vec![trade(1, 2), trade(0, 2)]).len(), 1);
}

#[test]
fn a_later_candle_closes_the_held_one_on_venues_without_close_marks() {
    let mut c = Continuity::new(true);
    let out = feed(
        &mut c,
        vec![
            candle(5, 101.0, false),
            candle(5, 102.0, false),
            candle(6, 103.0, false),
        ],
    );
    assert_eq!(
        shape(&out),
        ["bar 5 false", "bar 5 false", "bar 5 true", "bar 6 false"]
    );
    // The closed copy is the last update, stamped at its close time.
    let closed = &out[2];
    assert_eq!(closed.as_bar().unwrap().close, 102.0);
    assert_eq!(closed.ts_event_ns, (6 * MIN - 1) * 1_000_000);
    assert_eq!(c.stats().candles_closed, 1);
    // A repeat of the closed candle (a snapshot) is dropped, and cannot replace the held one.
    assert!(feed(&mut c, vec![candle(5, 99.0, false)]).is_empty());
    assert_eq!(
        shape(&feed(&mut c, vec![candle(7, 1.0, false)]))[0],
        "bar 6 true"
    );
}

#[test]
fn a_resume_that_continues_the_last_candle_marks_no_gap() {
    let mut c = Continuity::new(false);
    feed(&mut c, vec![candle(1, 1.0, true), candle(2, 1.0, false)]);
    c.interrupted(2 * MIN + 30_000);
    let out = feed(&mut c, vec![candle(2, 1.5, false), candle(2, 1.6, true)]);
    assert_eq!(shape(&out), ["bar 2 false", "bar 2 true"]);
    assert_eq!(c.stats().gaps_marked, 0);
    assert_eq!(c.stats().resumed_whole, 1);
}

#[test]
fn candles_lost_while_disconnected_become_one_gap_before_the_next_candle() {
    let mut c = Continuity::new(false);
    feed(&mut c, vec![candle(1, 1.0, true)]);
    c.interrupted(2 * MIN);
    let out = feed(
        &mut c,
        vec![
            candle(4, 1.0, false),
            candle(4, 1.0, true),
            candle(5, 1.0, true),
        ],
    );
    let from = 2 * MIN;
    let to = 4 * MIN - 1;
    assert_eq!(
        shape(&out),
        [
            format!("gap Bars {from}..={to}"),
            "bar 4 false".into(),
            "bar 4 true".into(),
            "bar 5 true".into()
        ]
    );
    assert_eq!(out[0].ts_event_ns, to * 1_000_000);
    assert_eq!(c.stats().gaps_marked, 1);
}

#[test]
fn without_an_interruption_a_missing_candle_is_left_to_the_state_machine() {
    // Quiet markets skip candles on some exchanges; only a disconnect makes a hole a loss.
    let mut c = Continuity::new(false);
    let out = feed(&mut c, vec![candle(1, 1.0, true), candle(3, 1.0, true)]);
    assert_eq!(shape(&out), ["bar 1 true", "bar 3 true"]);
}

#[test]
fn a_held_candle_is_not_closed_with_an_update_from_before_a_disconnect() {
    let mut c = Continuity::new(true);
    feed(&mut c, vec![candle(1, 1.0, false), candle(2, 1.0, false)]);
    c.interrupted(2 * MIN + 10);
    // The exchange's snapshot repeats candle 2 in full, then candle 3 begins: 2 closes with
    // the repeated state and nothing was lost.
    let out = feed(&mut c, vec![candle(2, 2.5, false), candle(3, 1.0, false)]);
    assert_eq!(shape(&out), ["bar 2 false", "bar 2 true", "bar 3 false"]);
    assert_eq!(out[1].as_bar().unwrap().close, 2.5);
    assert_eq!(c.stats().gaps_marked, 0);

    // Without the repeat, candle 3's held state is dropped and 3..4 becomes a gap.
    c.interrupted(3 * MIN + 10);
    let out = feed(&mut c, vec![candle(5, 1.0, false)]);
    assert_eq!(
        shape(&out),
        [
            format!("gap Bars {}..={}", 3 * MIN, 5 * MIN - 1),
            "bar 5 false".into()
        ]
    );
}

#[test]
fn trade_streams_get_a_gap_from_their_last_trade_to_the_resubscribe() {
    let mut c = Continuity::new(false);
    feed(&mut c, vec![trade(1, 1_000), trade(2, 2_000)]);
    c.interrupted(2_500);
    let mut out = Vec::new();
    c.resumed(9_000_000_000, &mut out);
    assert_eq!(shape(&out), ["gap Trades 2001..=9000"]);
    // Only once per interruption.
    out.clear();
    c.resumed(9_500_000_000, &mut out);
    assert!(out.is_empty());
}
