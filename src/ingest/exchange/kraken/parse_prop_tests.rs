//! Proptests: no input (arbitrary bytes, byte edits of every fixture, any JSON value in place of
//! any field the parser reads) panics, and every event that comes out passes
//! [`MarketEvent::check`] and matches the frame's count.

use super::*;
use proptest::prelude::*;

const FIXTURES: &[&str] = &[
    "ws_book_snapshot",
    "ws_book_update",
    "ws_futures_book_delta",
    "ws_futures_ticker",
    "ws_futures_trade_snapshot",
    "ws_l3_snapshot",
    "ws_l3_update_add",
    "ws_ohlc_update",
    "ws_pong",
    "ws_subscribe_response",
    "ws_ticker_snapshot",
    "ws_trade_update",
];

/// Paths (keys separated by `/`, numbers index arrays) the field-swap proptest replaces.
const PATHS: &[(&str, &str)] = &[
    ("ws_ohlc_update", "channel"),
    ("ws_ohlc_update", "type"),
    ("ws_ohlc_update", "timestamp"),
    ("ws_ohlc_update", "data"),
    ("ws_ohlc_update", "data/0"),
    ("ws_ohlc_update", "data/0/symbol"),
    ("ws_ohlc_update", "data/0/interval"),
    ("ws_ohlc_update", "data/0/interval_begin"),
    ("ws_ohlc_update", "data/0/open"),
    ("ws_ohlc_update", "data/0/high"),
    ("ws_ohlc_update", "data/0/low"),
    ("ws_ohlc_update", "data/0/close"),
    ("ws_ohlc_update", "data/0/volume"),
    ("ws_ohlc_update", "data/0/vwap"),
    ("ws_ohlc_update", "data/0/trades"),
    ("ws_trade_update", "data/1/side"),
    ("ws_trade_update", "data/1/price"),
    ("ws_trade_update", "data/1/qty"),
    ("ws_trade_update", "data/1/trade_id"),
    ("ws_trade_update", "data/1/timestamp"),
    ("ws_ticker_snapshot", "timestamp"),
    ("ws_ticker_snapshot", "data/0/bid"),
    ("ws_ticker_snapshot", "data/0/ask_qty"),
    ("ws_ticker_snapshot", "data/0/timestamp"),
    ("ws_subscribe_response", "method"),
    ("ws_subscribe_response", "success"),
    ("ws_subscribe_response", "error"),
    ("ws_pong", "req_id"),
];

/// Any JSON value a field could be replaced with: wrong types, huge and odd numbers, odd text.
fn any_json() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<u32>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".*".prop_map(Value::from),
        "(buy|sell|pong|subscribe|ohlc|trade|ticker|[A-Z]{1,5}/[A-Z]{1,5})".prop_map(Value::from),
        "2[0-9]{3}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?Z"
            .prop_map(Value::from),
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
    let sentinel = MarketEvent {
        exchange: Exchange::Binance,
        symbol: Symbol::new("KEEP"),
        ts_event_ns: 1,
        ts_recv_ns: 1,
        kind: EventKind::Trade {
            price: 1.0,
            qty: 1.0,
            side: Side::Buy,
            id: 1,
        },
    };
    let mut out = vec![sentinel.clone()];
    match parse(raw, RECV_NS, &mut out) {
        Ok(Frame::Events(n)) => assert_eq!(n, out.len() - 1),
        Ok(_) | Err(_) => assert_eq!(out.len(), 1, "{out:?}"),
    }
    assert_eq!(out[0], sentinel);
    for event in &out[1..] {
        assert_eq!(event.check(), Ok(()), "{event:?}");
        assert_eq!(event.exchange, Exchange::Kraken);
        assert_eq!(event.ts_recv_ns, RECV_NS);
        assert!(event.ts_event_ns >= 0, "{event:?}");
        if let Some(bar) = event.as_bar() {
            let span = bar.close_time_ms - bar.open_time_ms + 1;
            assert!(INTERVALS_MIN.iter().any(|m| i64::from(*m) * 60_000 == span));
            assert!(!bar.closed);
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check_output(&bytes);
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
