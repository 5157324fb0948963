//! Tests of the Coinbase parser on the nautilus fixtures (`tests/fixtures/ws/coinbase/`, see its
//! `SOURCES.md`): every message type, every field checked against numbers read from the JSON by
//! hand, broken variants, replies and skips. `parse_prop_tests.rs` holds the proptests.

use super::*;
use crate::ingest::input::fixture;
use serde_json::json;

#[path = "parse_prop_tests.rs"]
mod props;

const RECV_NS: i64 = 1_700_000_000_123_456_789;

fn nautilus(name: &str) -> String {
    let path = fixture(&format!("ws/coinbase/{name}.json"));
    std::fs::read_to_string(path).unwrap()
}

/// The fixture `name` with `edit` applied to its JSON.
fn edited(name: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut value: Value = serde_json::from_str(&nautilus(name)).unwrap();
    edit(&mut value);
    value.to_string()
}

fn run(json: &str) -> (Result<Frame, ParseError>, Vec<MarketEvent>) {
    let mut out = Vec::new();
    let frame = parse(json.as_bytes(), RECV_NS, &mut out);
    (frame, out)
}

fn events_of(json: &str) -> Vec<MarketEvent> {
    let (frame, out) = run(json);
    assert_eq!(frame, Ok(Frame::Events(out.len())), "{json}");
    out
}

fn frame_of(json: &str) -> Frame {
    let (frame, out) = run(json);
    assert!(out.is_empty(), "{out:?}");
    frame.unwrap()
}

/// Asserts that `message` is an error whose text holds every needle, and left no event behind.
fn assert_error(message: &str, needles: &[&str]) {
    let (frame, out) = run(message);
    let error = frame.expect_err("should be an error").to_string();
    for needle in needles {
        assert!(error.contains(needle), "{error:?} lacks {needle:?}");
    }
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn candle_is_an_open_five_minute_bar_at_the_message_time() {
    let events = events_of(&nautilus("ws_candles"));
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.exchange, Exchange::Coinbase);
    assert_eq!(event.symbol.as_str(), "BTCUSD");
    // "timestamp": "2026-04-07T14:30:05.000000Z"
    assert_eq!(event.ts_event_ns, 1_775_572_205_000_000_000);
    assert_eq!(event.ts_recv_ns, RECV_NS);
    let expected = Bar {
        // "start": "1775521800" (seconds)
        open_time_ms: 1_775_521_800_000,
        close_time_ms: 1_775_522_099_999,
        open: 68900.00,
        high: 68950.00,
        low: 68850.00,
        close: 68920.50,
        volume: 42.15,
        quote_volume: 0.0,
        trades: 0,
        taker_buy_volume: 0.0,
        closed: false,
    };
    assert_eq!(event.kind, EventKind::Bar(expected));
}

#[test]
fn market_trades_give_one_event_per_trade_with_its_own_time() {
    let events = events_of(&nautilus("ws_market_trades"));
    let expected = [
        (
            1_775_572_202_789_012_000,
            68900.50,
            0.0015,
            Side::Buy,
            995_098_700,
        ),
        (
            1_775_572_202_800_000_000,
            68900.00,
            0.05,
            Side::Sell,
            995_098_701,
        ),
    ];
    assert_eq!(events.len(), expected.len());
    for (event, (ts, price, qty, side, id)) in events.iter().zip(expected) {
        assert_eq!(event.exchange, Exchange::Coinbase);
        assert_eq!(event.symbol.as_str(), "BTCUSD");
        assert_eq!(event.ts_event_ns, ts);
        assert_eq!(event.ts_recv_ns, RECV_NS);
        let kind = EventKind::Trade {
            price,
            qty,
            side,
            id,
        };
        assert_eq!(event.kind, kind);
    }
}

#[test]
fn ticker_is_a_quote_at_the_message_time() {
    let events = events_of(&nautilus("ws_ticker"));
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.symbol.as_str(), "BTCUSD");
    assert_eq!(event.ts_event_ns, 1_775_572_203_000_000_000);
    assert_eq!(event.ts_recv_ns, RECV_NS);
    let expected = EventKind::Quote {
        bid: 68900.00,
        bid_qty: 1.5,
        ask: 68901.00,
        ask_qty: 0.5,
    };
    assert_eq!(event.kind, expected);
}

#[test]
fn several_events_and_items_in_one_message_all_come_out() {
    let message = edited("ws_market_trades", |v| {
        let event = v["events"][0].clone();
        v["events"].as_array_mut().unwrap().push(event);
    });
    assert_eq!(events_of(&message).len(), 4);
    let candles = edited("ws_candles", |v| {
        let mut next = v["events"][0]["candles"][0].clone();
        next["start"] = json!("1775522100");
        next["product_id"] = json!("ETH-USD");
        v["events"][0]["candles"].as_array_mut().unwrap().push(next);
    });
    let events = events_of(&candles);
    assert_eq!(events[1].symbol.as_str(), "ETHUSD");
    assert_eq!(events[1].as_bar().unwrap().open_time_ms, 1_775_522_100_000);
    let empty = edited("ws_ticker", |v| v["events"] = json!([]));
    assert_eq!(events_of(&empty), vec![]);
}

#[test]
fn heartbeats_subscriptions_and_unused_channels_carry_no_event() {
    assert_eq!(frame_of(&nautilus("ws_heartbeats")), Frame::Heartbeat);
    assert_eq!(frame_of(&nautilus("ws_subscriptions")), Frame::Ack);
    for name in ["ws_l2_data_snapshot", "ws_l2_data_update"] {
        assert_eq!(
            frame_of(&nautilus(name)),
            Frame::Skipped(Skip::Unused("l2_data"))
        );
    }
    let status = edited("ws_heartbeats", |v| v["channel"] = json!("status"));
    assert_eq!(frame_of(&status), Frame::Skipped(Skip::Unused("status")));
    let new = edited("ws_heartbeats", |v| v["channel"] = json!("x".repeat(100)));
    assert_eq!(
        frame_of(&new),
        Frame::Skipped(Skip::Unknown("x".repeat(64)))
    );
}

#[test]
fn error_replies_are_refusals_with_their_text() {
    let reply = r#"{"type":"error","message":"Failed to subscribe","reason":"BTC-XYZ is not a valid product"}"#;
    assert_eq!(
        frame_of(reply),
        Frame::Refused("Failed to subscribe: BTC-XYZ is not a valid product".into())
    );
    assert_eq!(
        frame_of(r#"{"type":"error","message":"rate limited"}"#),
        Frame::Refused("rate limited".into())
    );
    let Frame::Refused(bare) = frame_of(r#"{"type":"error","code":7}"#) else {
        panic!("not a refusal");
    };
    assert!(bare.contains("\"code\":7"), "{bare}");
    let long = json!({"type": "error", "message": "y".repeat(1000)}).to_string();
    assert_eq!(frame_of(&long), Frame::Refused("y".repeat(256)));
}

#[test]
fn a_non_numeric_trade_id_is_hashed_with_fnv1a() {
    // Published FNV-1a 64 test vectors.
    assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    let message = edited("ws_market_trades", |v| {
        v["events"][0]["trades"][0]["trade_id"] = json!("foobar")
    });
    let EventKind::Trade { id, .. } = events_of(&message)[0].kind else {
        panic!("not a trade");
    };
    assert_eq!(id, 0x8594_4171_f739_67e8);
}

#[test]
fn sequence_numbers_are_read_without_a_full_parse() {
    for (name, expected) in [
        ("ws_candles", 3),
        ("ws_heartbeats", 0),
        ("ws_l2_data_update", 1),
        ("ws_market_trades", 5),
        ("ws_ticker", 12),
    ] {
        assert_eq!(
            sequence_num(nautilus(name).as_bytes()),
            Some(expected),
            "{name}"
        );
    }
    for raw in [
        &b"[5]"[..],
        b"{\"sequence_num\":-1}",
        b"{\"type\":\"error\"}",
        b"not json",
        b"",
    ] {
        assert_eq!(sequence_num(raw), None, "{raw:?}");
    }
}

/// The fixture `name` with `key` removed from the first item of `events[0].<list>`.
fn without_item_key(name: &str, list: &str, key: &str) -> String {
    edited(name, |v| {
        v["events"][0][list][0].as_object_mut().unwrap().remove(key);
    })
}

#[test]
fn missing_and_mistyped_fields_are_errors_naming_the_field() {
    let high = without_item_key("ws_candles", "candles", "high");
    assert_error(&high, &["bad candles message", "missing field `high`"]);
    let bid = without_item_key("ws_ticker", "tickers", "best_bid");
    assert_error(&bid, &["bad ticker message", "missing field `best_bid`"]);
    let time = without_item_key("ws_market_trades", "trades", "time");
    assert_error(
        &time,
        &["bad market_trades message", "missing field `time`"],
    );
    let no_timestamp = edited("ws_candles", |v| {
        v.as_object_mut().unwrap().remove("timestamp");
    });
    assert_error(&no_timestamp, &["missing field `timestamp`"]);
    let typed = edited("ws_market_trades", |v| {
        v["events"][0]["trades"][1]["price"] = json!(68900.0)
    });
    assert_error(&typed, &["bad market_trades message", "invalid type"]);
}

#[test]
fn bad_values_are_errors_naming_the_field() {
    let trade = |key: &str, value: Value| {
        edited("ws_market_trades", |v| {
            v["events"][0]["trades"][1][key] = value
        })
    };
    assert_error(
        &trade("price", json!("abc")),
        &["events[0].trades[1]: price \"abc\" is not a finite number"],
    );
    assert_error(&trade("price", json!("0")), &["price 0 is not positive"]);
    assert_error(&trade("size", json!("-0.5")), &["size -0.5 is negative"]);
    assert_error(
        &trade("side", json!("UNKNOWN_ORDER_SIDE")),
        &["side \"UNKNOWN_ORDER_SIDE\""],
    );
    assert_error(&trade("trade_id", json!("")), &["trade_id is empty"]);
    assert_error(
        &trade("time", json!("yesterday")),
        &["time \"yesterday\" is not an RFC 3339"],
    );
    assert_error(
        &trade("product_id", json!("BTC USD")),
        &["product_id", "BTC USD"],
    );
    let quote = edited("ws_ticker", |v| {
        v["events"][0]["tickers"][0]["best_ask_quantity"] = json!("-1")
    });
    assert_error(
        &quote,
        &["bad ticker message", "best_ask_quantity -1 is negative"],
    );
    let empty_bid = edited("ws_ticker", |v| {
        v["events"][0]["tickers"][0]["best_bid"] = json!("")
    });
    assert_error(&empty_bid, &["best_bid \"\" is not a finite number"]);
}

#[test]
fn bad_candles_are_errors_naming_the_field() {
    let candle = |key: &str, value: &str| {
        edited("ws_candles", |v| {
            v["events"][0]["candles"][0][key] = json!(value)
        })
    };
    assert_error(
        &candle("high", "68910.00"),
        &["events[0].candles[0]: high 68910 is below max(open 68900, close 68920.5)"],
    );
    assert_error(
        &candle("low", "68950"),
        &["low 68950 is above min(open 68900"],
    );
    assert_error(
        &candle("open", "inf"),
        &["open \"inf\" is not a finite number"],
    );
    assert_error(&candle("volume", "-3"), &["volume -3 is negative"]);
    assert_error(
        &candle("start", "1.5"),
        &["start \"1.5\" is not a whole number"],
    );
    assert_error(
        &candle("start", "-300"),
        &["start (ms) -300000 is not a ms timestamp"],
    );
    assert_error(
        &candle("start", "9223372036854775807"),
        &["start 9223372036854775807 is out of range"],
    );
    assert_error(&candle("start", "9223372036"), &["start + 5 min (ms)"]);
    let late = edited("ws_candles", |v| {
        v["timestamp"] = json!("1969-12-31T23:59:59Z")
    });
    assert_error(
        &late,
        &["bad candles message", "timestamp \"1969-12-31T23:59:59Z\""],
    );
}

#[test]
fn bad_shapes_are_errors() {
    let truncated = &nautilus("ws_candles")[..100];
    assert_error(truncated, &["malformed JSON"]);
    assert_error(r#""BTC-USD""#, &["expected a JSON object, found a string"]);
    let mut out = Vec::new();
    let raw = parse(&[b'"', 0xff, b'"'], 0, &mut out);
    assert!(matches!(raw, Err(ParseError::Json(_))), "{raw:?}");
    assert_error(
        "42",
        &["not a Coinbase Advanced Trade message", "found a number"],
    );
    assert_error(r#"{"channel":5}"#, &["\"channel\" is a number"]);
    assert_error(r#"{"type":"ticker"}"#, &["no \"channel\""]);
    let no_events = edited("ws_ticker", |v| {
        v.as_object_mut().unwrap().remove("events");
    });
    assert_error(&no_events, &["missing field `events`"]);
}

#[test]
fn a_refused_message_leaves_the_callers_earlier_events_alone() {
    let mut out = Vec::new();
    parse(nautilus("ws_ticker").as_bytes(), RECV_NS, &mut out).unwrap();
    let second_bad = edited("ws_market_trades", |v| {
        v["events"][0]["trades"][1]["size"] = json!("-1")
    });
    assert!(parse(second_bad.as_bytes(), RECV_NS, &mut out).is_err());
    assert_eq!(out.len(), 1);
    assert!(matches!(out[0].kind, EventKind::Quote { .. }));
}
