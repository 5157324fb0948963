//! Tests of trade → bar aggregation (the exact oracle on real trades is `tests/trade_bars.rs`).

use super::*;
use proptest::prelude::*;

const MIN: i64 = 60_000;
const T0: i64 = 1_570_752_000_000; // 2019-10-11T00:00:00Z

fn agg() -> TradeBarAggregator {
    TradeBarAggregator::new(MIN).unwrap()
}

#[test]
fn one_bar_from_its_trades() {
    let mut a = agg();
    assert_eq!(a.on_trade(T0 + 11_620, 10.0, 2.0, Side::Sell, 1), Ok(None));
    assert_eq!(a.on_trade(T0 + 20_000, 12.0, 1.0, Side::Buy, 2), Ok(None));
    assert_eq!(a.on_trade(T0 + 30_000, 9.0, 3.0, Side::Buy, 3), Ok(None));
    assert_eq!(a.on_trade(T0 + 59_999, 11.0, 4.0, Side::Sell, 4), Ok(None));
    let bar = a
        .on_trade(T0 + MIN, 5.0, 1.0, Side::Sell, 5)
        .unwrap()
        .unwrap();
    let expected = Bar {
        open_time_ms: T0,
        close_time_ms: T0 + 59_999,
        open: 10.0,
        high: 12.0,
        low: 9.0,
        close: 11.0,
        volume: 10.0,
        quote_volume: 20.0 + 12.0 + 27.0 + 44.0,
        trades: 4,
        taker_buy_volume: 4.0,
        closed: true,
    };
    assert_eq!(bar, expected);
    let last = a.flush().unwrap();
    assert_eq!(
        (last.open_time_ms, last.trades, last.open),
        (T0 + MIN, 1, 5.0)
    );
    assert_eq!(a.flush(), None);
    let stats = a.stats();
    assert_eq!((stats.trades, stats.bars), (5, 2));
}

#[test]
fn empty_intervals_make_no_bars() {
    let mut a = agg();
    a.on_trade(T0 + 1, 1.0, 1.0, Side::Buy, 1).unwrap();
    let bar = a.on_trade(T0 + 10 * MIN, 2.0, 1.0, Side::Buy, 2).unwrap();
    assert_eq!(bar.map(|b| b.open_time_ms), Some(T0));
    assert_eq!(a.flush().map(|b| b.open_time_ms), Some(T0 + 10 * MIN));
}

#[test]
fn late_trades_are_rejected_not_merged() {
    let mut a = agg();
    a.on_trade(T0 + 5, 1.0, 1.0, Side::Buy, 1).unwrap();
    a.on_trade(T0 + MIN + 5, 2.0, 1.0, Side::Buy, 2).unwrap();
    let late = a.on_trade(T0 + 30_000, 3.0, 1.0, Side::Buy, 3);
    let earliest_ms = T0 + MIN;
    let ts_ms = T0 + 30_000;
    assert_eq!(late, Err(TradeRejected::Late { ts_ms, earliest_ms }));
    let bar = a.flush().unwrap();
    assert_eq!((bar.trades, bar.high), (1, 2.0));
    // A handed-out bar is final even when no bar is open.
    let after = a.on_trade(T0 + MIN + 6, 3.0, 1.0, Side::Buy, 4);
    assert!(
        matches!(after, Err(TradeRejected::Late { .. })),
        "{after:?}"
    );
    assert_eq!(a.stats().late, 2);
}

#[test]
fn out_of_order_within_the_bar_keeps_open_and_close_by_time() {
    let mut a = agg();
    a.on_trade(T0 + 20_000, 2.0, 1.0, Side::Buy, 2).unwrap();
    a.on_trade(T0 + 10_000, 1.0, 1.0, Side::Buy, 1).unwrap();
    a.on_trade(T0 + 40_000, 4.0, 1.0, Side::Buy, 4).unwrap();
    a.on_trade(T0 + 30_000, 3.0, 1.0, Side::Buy, 3).unwrap();
    a.on_trade(T0 + 40_000, 5.0, 1.0, Side::Sell, 5).unwrap();
    let bar = a.flush().unwrap();
    assert_eq!(
        (bar.open, bar.close, bar.high, bar.low),
        (1.0, 5.0, 5.0, 1.0)
    );
    assert_eq!((bar.trades, bar.taker_buy_volume), (5, 4.0));
}

#[test]
fn duplicates_and_invalid_values_are_counted() {
    let mut a = agg();
    a.on_trade(T0, 1.0, 1.0, Side::Buy, 7).unwrap();
    assert_eq!(
        a.on_trade(T0, 1.0, 1.0, Side::Buy, 7),
        Err(TradeRejected::Duplicate { id: 7 })
    );
    for (price, qty) in [
        (f64::NAN, 1.0),
        (1.0, 0.0),
        (-1.0, 1.0),
        (1.0, f64::INFINITY),
    ] {
        let r = a.on_trade(T0 + 1, price, qty, Side::Sell, 8);
        assert!(matches!(r, Err(TradeRejected::Invalid(_))), "{r:?}");
    }
    for ts in [i64::MIN, i64::MAX] {
        let r = TradeBarAggregator::new(MIN)
            .unwrap()
            .on_trade(ts, 1.0, 1.0, Side::Buy, 1);
        assert!(matches!(r, Err(TradeRejected::Invalid(_))), "{ts}: {r:?}");
    }
    let stats = a.stats();
    assert_eq!((stats.trades, stats.duplicates, stats.invalid), (1, 1, 4));
    assert_eq!(a.flush().map(|b| b.volume), Some(1.0));
}

#[test]
fn clock_closes_the_bar_after_its_close_time() {
    let mut a = agg();
    a.on_trade(T0 + 5, 1.0, 1.0, Side::Buy, 1).unwrap();
    assert_eq!(a.on_clock(T0 + 59_999), None, "not yet past the close");
    assert_eq!(a.current().map(|b| b.trades), Some(1));
    assert_eq!(a.on_clock(T0 + MIN).map(|b| b.open_time_ms), Some(T0));
    assert_eq!(a.on_clock(T0 + 5 * MIN), None);
    assert!(a.on_trade(T0 + 6, 1.0, 1.0, Side::Buy, 2).is_err());
    assert_eq!(a.on_trade(T0 + MIN, 1.0, 1.0, Side::Buy, 3), Ok(None));
}

#[test]
fn non_positive_interval_is_refused() {
    assert_eq!(TradeBarAggregator::new(0).err(), Some(BadInterval(0)));
    assert!(TradeBarAggregator::new(-60_000).is_err());
}

/// Ordered trades: (time step ms, price, integer qty so sums are exact, is buy).
fn trades() -> impl Strategy<Value = Vec<(i64, f64, f64, bool)>> {
    proptest::collection::vec(
        (0i64..150_000, 0.01f64..1000.0, 1u32..1000, any::<bool>()),
        1..200,
    )
    .prop_map(|steps| {
        let mut ts = T0;
        steps
            .into_iter()
            .map(|(step, price, qty, buy)| {
                ts += step;
                (ts, price, f64::from(qty), buy)
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn aggregation_invariants(trades in trades(), interval in 1i64..300_000) {
        let mut a = TradeBarAggregator::new(interval).unwrap();
        let mut bars = Vec::new();
        for (id, (ts, price, qty, buy)) in trades.iter().enumerate() {
            let side = if *buy { Side::Buy } else { Side::Sell };
            bars.extend(a.on_trade(*ts, *price, *qty, side, id as u64).unwrap());
        }
        bars.extend(a.flush());
        let intervals: std::collections::BTreeSet<i64> =
            trades.iter().map(|t| t.0.div_euclid(interval)).collect();
        prop_assert_eq!(bars.len(), intervals.len());
        let total: f64 = trades.iter().map(|t| t.2).sum();
        prop_assert_eq!(bars.iter().map(|b| b.volume).sum::<f64>(), total);
        let buys: f64 = trades.iter().filter(|t| t.3).map(|t| t.2).sum();
        prop_assert_eq!(bars.iter().map(|b| b.taker_buy_volume).sum::<f64>(), buys);
        prop_assert_eq!(bars.iter().map(|b| b.trades).sum::<u64>(), trades.len() as u64);
        for pair in bars.windows(2) {
            prop_assert!(pair[0].close_time_ms < pair[1].open_time_ms);
        }
        for bar in &bars {
            prop_assert!(bar.high >= bar.open.max(bar.close));
            prop_assert!(bar.low <= bar.open.min(bar.close));
            prop_assert_eq!(bar.close_time_ms - bar.open_time_ms, interval - 1);
            prop_assert_eq!(bar.open_time_ms.rem_euclid(interval), 0);
            let inside: Vec<_> = trades
                .iter()
                .filter(|t| (bar.open_time_ms..=bar.close_time_ms).contains(&t.0))
                .collect();
            prop_assert_eq!(Some(bar.open), inside.first().map(|t| t.1));
            prop_assert_eq!(Some(bar.close), inside.last().map(|t| t.1));
        }
    }
}
