//! The cryptofeed recordings checked line by line against their JSON read independently, and
//! proptests that no input (arbitrary bytes, edits of a real kline) panics or yields a bad event.

use super::*;
use crate::ingest::exchange::Frame;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::io::Read;

const SPOT_SESSION: &str = "ws/binance/BINANCE.ws.1.0.lines1-210.gz";
const FUTURES_SESSION: &str = "ws/binance/BINANCE_FUTURES.ws.1.0.lines901-1100.gz";

/// One received line of a cryptofeed recording: the receive time (exact, in ns) and the JSON.
fn received(line: &str) -> Option<(i64, &str)> {
    let (stamp, json) = line.split_once(": ")?;
    let (secs, frac) = stamp.split_once('.')?;
    let digits = format!("{frac:0<9}");
    let ns = secs.parse::<i64>().ok()? * 1_000_000_000 + digits[..9].parse::<i64>().ok()?;
    Some((ns, json))
}

fn number(value: &Value) -> f64 {
    value.as_str().unwrap().parse().unwrap()
}

fn ms_ns(value: &Value) -> i64 {
    value.as_i64().unwrap() * 1_000_000
}

/// The event each recorded payload should give, derived from its JSON without the parser.
fn expected_kind(data: &Value) -> EventKind {
    let kind = data
        .get("e")
        .and_then(Value::as_str)
        .unwrap_or("bookTicker");
    let side = |m: &Value| {
        if m.as_bool().unwrap() {
            Side::Sell
        } else {
            Side::Buy
        }
    };
    match kind {
        "kline" => {
            let k = &data["k"];
            EventKind::Bar(Bar {
                open_time_ms: k["t"].as_i64().unwrap(),
                close_time_ms: k["T"].as_i64().unwrap(),
                open: number(&k["o"]),
                high: number(&k["h"]),
                low: number(&k["l"]),
                close: number(&k["c"]),
                volume: number(&k["v"]),
                quote_volume: number(&k["q"]),
                trades: k["n"].as_u64().unwrap(),
                taker_buy_volume: number(&k["V"]),
                closed: k["x"].as_bool().unwrap(),
            })
        }
        "aggTrade" | "trade" => EventKind::Trade {
            price: number(&data["p"]),
            qty: number(&data["q"]),
            side: side(&data["m"]),
            id: data[if kind == "aggTrade" { "a" } else { "t" }]
                .as_u64()
                .unwrap(),
        },
        _ => EventKind::Quote {
            bid: number(&data["b"]),
            bid_qty: number(&data["B"]),
            ask: number(&data["a"]),
            ask_qty: number(&data["A"]),
        },
    }
}

fn expected_ts(data: &Value, recv_ns: i64) -> i64 {
    match data.get("e").and_then(Value::as_str) {
        Some("kline") if data["k"]["x"] == json!(true) => ms_ns(&data["k"]["T"]),
        Some("kline") => ms_ns(&data["E"]),
        Some("aggTrade" | "trade") => ms_ns(&data["T"]),
        _ => data.get("T").map_or(recv_ns, ms_ns),
    }
}

/// Checks every line of a recorded session; returns how many of each stream kind it held.
fn check_session(path: &str, exchange: Exchange) -> BTreeMap<String, usize> {
    let mut text = String::new();
    let file = std::fs::File::open(fixture(path)).unwrap();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap();
    let mut counts = BTreeMap::new();
    let mut lines = text.lines();
    assert!(
        lines.next().unwrap().contains(" <-> "),
        "first line is the URL header"
    );
    for line in lines {
        let (recv_ns, json) =
            received(line).unwrap_or_else(|| panic!("not a received line: {line}"));
        let value: Value = serde_json::from_str(json).unwrap();
        let data = &value["data"];
        let stream = value["stream"].as_str().unwrap();
        let kind = stream.split('@').nth(1).unwrap().to_string();
        let got =
            parse(json.as_bytes(), exchange, recv_ns).unwrap_or_else(|e| panic!("{e}: {line}"));
        if kind == "depth" {
            assert_eq!(got, None, "{line}");
            let mut out = Vec::new();
            let frame = parse_frame(json.as_bytes(), exchange, recv_ns, &mut out).unwrap();
            assert_eq!(frame, Frame::Skipped(Skip::Unused("depthUpdate")));
            assert!(out.is_empty());
        } else {
            let event = got.unwrap_or_else(|| panic!("no event from {line}"));
            assert_eq!(event.exchange, exchange);
            assert_eq!(event.symbol.as_str(), data["s"].as_str().unwrap());
            assert_eq!(event.ts_recv_ns, recv_ns);
            assert_eq!(event.ts_event_ns, expected_ts(data, recv_ns), "{line}");
            assert_eq!(event.kind, expected_kind(data), "{line}");
        }
        let closed = data["k"]["x"] == json!(true);
        *counts
            .entry(if closed { "kline_closed".into() } else { kind })
            .or_insert(0) += 1;
    }
    counts
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|&(k, n)| (k.to_string(), n)).collect()
}

#[test]
fn spot_session_parses_line_for_line() {
    let got = check_session(SPOT_SESSION, Exchange::Binance);
    let want = [
        ("aggTrade", 2),
        ("bookTicker", 70),
        ("depth", 135),
        ("kline_1m", 2),
    ];
    assert_eq!(got, counts(&want));
}

#[test]
fn futures_session_parses_line_for_line() {
    let got = check_session(FUTURES_SESSION, Exchange::BinanceFutures);
    let want = [
        ("aggTrade", 11),
        ("bookTicker", 70),
        ("depth", 107),
        ("kline_1m", 8),
        ("kline_closed", 4),
    ];
    assert_eq!(got, counts(&want));
}

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
    ]
}

/// The keys of a kline message (`k.` inside the candle) that the field-swap proptest replaces.
const KLINE_KEYS: &[&str] = &[
    "e", "E", "s", "k", "k.t", "k.T", "k.s", "k.o", "k.c", "k.h", "k.l", "k.v", "k.n", "k.x",
    "k.q", "k.V", "k.Q", "k.f",
];

/// Whatever the input, an event that comes out is sane.
fn check_output(result: Result<Option<MarketEvent>, ParseError>) {
    let Ok(Some(event)) = result else { return };
    event.check().unwrap_or_else(|e| panic!("{e}: {event:?}"));
    if let Some(bar) = event.as_bar() {
        let prices = [bar.open, bar.high, bar.low, bar.close];
        assert!(prices.iter().all(|p| p.is_finite() && *p > 0.0), "{bar:?}");
        assert!(bar.high >= bar.open.max(bar.close) && bar.low <= bar.open.min(bar.close));
        assert!(
            bar.volume >= 0.0 && bar.close_time_ms > bar.open_time_ms,
            "{bar:?}"
        );
    }
    assert!(event.ts_event_ns >= 0);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check_output(parse(&bytes, Exchange::Binance, 0));
    }

    #[test]
    fn byte_edits_of_a_kline_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..8)
    ) {
        let mut bytes = nautilus("kline_stream_closed").into_bytes();
        for (at, byte, op) in edits {
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ => { bytes.remove(i); }
            }
        }
        check_output(parse(&bytes, Exchange::BinanceFutures, RECV_NS));
    }

    #[test]
    fn field_swaps_in_a_kline_never_panic(
        key in prop::sample::select(KLINE_KEYS),
        value in any_json(),
        wrap in any::<bool>(),
    ) {
        let message = edited("kline_stream_closed", |v| match key.strip_prefix("k.") {
            Some(inner) => v["k"][inner] = value,
            None => v[key] = value,
        });
        let message = if wrap { format!(r#"{{"stream":"x","data":{message}}}"#) } else { message };
        check_output(parse(message.as_bytes(), Exchange::BinanceFutures, RECV_NS));
    }
}
