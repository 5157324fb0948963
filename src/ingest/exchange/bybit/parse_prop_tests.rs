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
        Just(json!([["1", "2"]])),
    ]
}

/// Messages to mutate: every kind the parser reads.
fn messages() -> Vec<String> {
    vec![
        text("ws_kline"),
        trade_message(),
        text("ws_ticker_linear"),
        BOOK_1.to_string(),
        text("ws_subscription_ack"),
    ]
}

/// Keys (`data.` or `data.0.` inside `data`) swapped by the field proptest.
const KEYS: &[&str] = &[
    "topic",
    "type",
    "ts",
    "cts",
    "data",
    "op",
    "success",
    "data.0.start",
    "data.0.end",
    "data.0.interval",
    "data.0.open",
    "data.0.high",
    "data.0.low",
    "data.0.close",
    "data.0.volume",
    "data.0.turnover",
    "data.0.confirm",
    "data.0.T",
    "data.0.p",
    "data.0.v",
    "data.0.S",
    "data.0.i",
    "data.0.s",
    "data.symbol",
    "data.bid1Price",
    "data.ask1Size",
    "data.b",
    "data.a",
    "data.s",
];

/// Sets `key` (a dotted path; numbers index arrays) to `new`, adding the last key when absent.
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
        assert_eq!(event.exchange, Exchange::Bybit);
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check_output(&bytes);
    }

    #[test]
    fn byte_edits_of_real_messages_never_panic(
        which in 0..5usize,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..8)
    ) {
        let mut bytes = messages().swap_remove(which).into_bytes();
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
        which in 0..5usize,
        key in prop::sample::select(KEYS),
        new in any_json(),
    ) {
        let mut value: Value = serde_json::from_str(&messages().swap_remove(which)).unwrap();
        set(&mut value, key, new);
        check_output(value.to_string().as_bytes());
    }
}
