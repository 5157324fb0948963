//! Proptests: no input (arbitrary bytes, byte edits of real messages, any JSON value in any
//! field) panics, and every event that comes out passes `MarketEvent::check`.

use super::*;
use proptest::prelude::*;

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
        Just(json!({})),
        Just(json!([])),
        Just(json!(["1", "2", "0", "1"])),
    ]
}

/// Messages to mutate: every kind the parser reads.
const FIXTURES: &[&str] = &["ws_candle", "ws_trades", "ws_tickers", "ws_bbo_tbt"];

/// Paths (numbers index arrays) swapped by the field proptest.
const KEYS: &[&str] = &[
    "arg",
    "arg.channel",
    "arg.instId",
    "data",
    "data.0",
    "data.0.0",
    "data.0.1",
    "data.0.2",
    "data.0.3",
    "data.0.4",
    "data.0.5",
    "data.0.7",
    "data.0.8",
    "data.0.instId",
    "data.0.tradeId",
    "data.0.px",
    "data.0.sz",
    "data.0.side",
    "data.0.ts",
    "data.0.bidPx",
    "data.0.askSz",
    "data.0.bids",
    "data.0.asks",
    "data.0.bids.0",
    "data.0.asks.0.1",
    "event",
];

/// Sets `key` to `new`, adding the last key of an object when absent.
fn set(value: &mut Value, key: &str, new: Value) {
    let path: Vec<&str> = key.split('.').collect();
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut target = value;
    for part in parents {
        let next = match part.parse::<usize>() {
            Ok(i) => target.get_mut(i),
            Err(_) => target.get_mut(*part),
        };
        match next {
            Some(inner) => target = inner,
            None => return,
        }
    }
    match (last.parse::<usize>(), target) {
        (Ok(i), target) => {
            if let Some(slot) = target.get_mut(i) {
                *slot = new;
            }
        }
        (Err(_), Value::Object(object)) => {
            object.insert((*last).to_string(), new);
        }
        _ => {}
    }
}

/// Whatever the input, what comes out is consistent and every event is sane.
fn check_output(raw: &[u8]) {
    let mut out = Vec::new();
    match parse(raw, RECV_NS, &mut out) {
        Ok(Frame::Events(n)) => assert_eq!(n, out.len()),
        Ok(_) | Err(_) => assert!(out.is_empty(), "{out:?}"),
    }
    for event in &out {
        assert_eq!(event.check(), Ok(()), "{event:?}");
        assert!(event.ts_event_ns >= 0);
        assert_eq!(event.ts_recv_ns, RECV_NS);
        assert_eq!(event.exchange, Exchange::Okx);
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check_output(&bytes);
    }

    #[test]
    fn byte_edits_of_real_messages_never_panic(
        name in prop::sample::select(FIXTURES),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..8)
    ) {
        let mut bytes = text(name).into_bytes();
        for (at, byte, op) in edits {
            if bytes.is_empty() {
                break;
            }
            let i = at.index(bytes.len());
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
        name in prop::sample::select(FIXTURES),
        key in prop::sample::select(KEYS),
        new in any_json(),
    ) {
        let mut value: Value = serde_json::from_str(&text(name)).unwrap();
        set(&mut value, key, new);
        check_output(value.to_string().as_bytes());
    }
}
