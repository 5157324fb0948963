//! Proptests: no input (arbitrary bytes, byte edits of every fixture, any JSON value in place of
//! any field the parser reads) panics, and every event that comes out passes
//! [`MarketEvent::check`] and matches the frame's count.

use super::*;
use proptest::prelude::*;

const FIXTURES: &[&str] = &[
    "ws_candles",
    "ws_heartbeats",
    "ws_l2_data_snapshot",
    "ws_l2_data_update",
    "ws_market_trades",
    "ws_subscriptions",
    "ws_ticker",
];

/// Paths (keys separated by `/`, numbers index arrays) the field-swap proptest replaces.
const PATHS: &[(&str, &str)] = &[
    ("ws_candles", "channel"),
    ("ws_candles", "timestamp"),
    ("ws_candles", "sequence_num"),
    ("ws_candles", "events"),
    ("ws_candles", "events/0/candles"),
    ("ws_candles", "events/0/candles/0/start"),
    ("ws_candles", "events/0/candles/0/high"),
    ("ws_candles", "events/0/candles/0/low"),
    ("ws_candles", "events/0/candles/0/open"),
    ("ws_candles", "events/0/candles/0/close"),
    ("ws_candles", "events/0/candles/0/volume"),
    ("ws_candles", "events/0/candles/0/product_id"),
    ("ws_market_trades", "events/0/trades/1/trade_id"),
    ("ws_market_trades", "events/0/trades/1/price"),
    ("ws_market_trades", "events/0/trades/1/size"),
    ("ws_market_trades", "events/0/trades/1/side"),
    ("ws_market_trades", "events/0/trades/1/time"),
    ("ws_ticker", "timestamp"),
    ("ws_ticker", "events/0/tickers/0/best_bid"),
    ("ws_ticker", "events/0/tickers/0/best_ask_quantity"),
    ("ws_ticker", "events/0/tickers/0"),
    ("ws_subscriptions", "type"),
];

/// Any JSON value a field could be replaced with: wrong types, huge and odd numbers, odd text.
fn any_json() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".*".prop_map(Value::from),
        "-?[0-9]{0,25}(\\.[0-9]{0,25})?(e-?[0-9]{1,4})?".prop_map(Value::from),
        "(BUY|SELL|buy|error|[A-Z]{1,5}-[A-Z]{1,5})".prop_map(Value::from),
        Just(json!({})),
        Just(json!([])),
        Just(json!([{}])),
    ]
}

/// The value at `path` in `value`, created as needed (arrays index by number).
fn at<'v>(value: &'v mut Value, path: &str) -> &'v mut Value {
    path.split('/')
        .fold(value, |v, key| match key.parse::<usize>() {
            Ok(i) => &mut v[i],
            Err(_) => &mut v[key],
        })
}

/// Whatever the input, what comes out is consistent and every event is sane.
fn check_output(raw: &[u8]) {
    let sentinel = MarketEvent::closed_bar(
        Exchange::Binance,
        Symbol::new("KEEP"),
        Bar {
            open_time_ms: 0,
            close_time_ms: 59_999,
            open: 1.0,
            high: 1.0,
            low: 1.0,
            close: 1.0,
            volume: 0.0,
            quote_volume: 0.0,
            trades: 0,
            taker_buy_volume: 0.0,
            closed: true,
        },
    );
    let mut out = vec![sentinel.clone()];
    match parse(raw, RECV_NS, &mut out) {
        Ok(Frame::Events(n)) => assert_eq!(n, out.len() - 1),
        Ok(_) | Err(_) => assert_eq!(out.len(), 1, "{out:?}"),
    }
    assert_eq!(out[0], sentinel);
    for event in &out[1..] {
        assert_eq!(event.check(), Ok(()), "{event:?}");
        assert_eq!(event.exchange, Exchange::Coinbase);
        assert_eq!(event.ts_recv_ns, RECV_NS);
        assert!(event.ts_event_ns >= 0, "{event:?}");
        if let Some(bar) = event.as_bar() {
            assert_eq!(bar.close_time_ms - bar.open_time_ms, CANDLE_MS - 1);
            assert!(!bar.closed);
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check_output(&bytes);
        let _ = sequence_num(&bytes);
    }

    #[test]
    fn byte_edits_of_a_fixture_never_panic(
        name in prop::sample::select(FIXTURES),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..8)
    ) {
        let mut bytes = nautilus(name).into_bytes();
        for (index, byte, op) in edits {
            let i = index.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ => { bytes.remove(i); }
            }
        }
        check_output(&bytes);
        let _ = sequence_num(&bytes);
    }

    #[test]
    fn field_swaps_never_panic(
        (name, path) in prop::sample::select(PATHS),
        value in any_json(),
    ) {
        let message = edited(name, |v| *at(v, path) = value);
        check_output(message.as_bytes());
    }
}
