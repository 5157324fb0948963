//! Tests of the Kraken parser on the nautilus fixtures (`tests/fixtures/ws/kraken/`, see its
//! `SOURCES.md`): every message type, every field checked against numbers read from the JSON by
//! hand, broken variants, replies, skips and the Futures/v1 refusals. `parse_prop_tests.rs` holds
//! the proptests.

use super::*;
use crate::ingest::input::fixture;
use serde_json::json;

#[path = "parse_prop_tests.rs"]
mod props;

const RECV_NS: i64 = 1_700_000_000_123_456_789;

fn nautilus(name: &str) -> String {
    let path = fixture(&format!("ws/kraken/{name}.json"));
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
fn ohlc_is_an_open_bar_from_interval_begin() {
    let events = events_of(&nautilus("ws_ohlc_update"));
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.exchange, Exchange::Kraken);
    assert_eq!(event.symbol.as_str(), "BTCUSD");
    // The fixture has no message `timestamp`: the receive time stands in.
    assert_eq!(event.ts_event_ns, RECV_NS);
    assert_eq!(event.ts_recv_ns, RECV_NS);
    let expected = Bar {
        // "interval_begin": "2023-10-04T16:25:00.000000000Z", "interval": 1
        open_time_ms: 1_696_436_700_000,
        close_time_ms: 1_696_436_759_999,
        open: 106038.2,
        high: 106044.3,
        low: 106038.1,
        close: 106040.1,
        volume: 30927.68066226,
        quote_volume: 30927.68066226 * 106039.6,
        trades: 12,
        taker_buy_volume: 0.0,
        closed: false,
    };
    assert_eq!(event.kind, EventKind::Bar(expected));
}

#[test]
fn ohlc_takes_the_message_timestamp_and_its_interval() {
    let message = edited("ws_ohlc_update", |v| {
        v["timestamp"] = json!("2023-10-04T16:26:01.806315597Z");
        v["data"][0]["interval"] = json!(240);
        v["data"][0]["timestamp"] = json!("2023-10-04T20:25:00.000000Z");
    });
    let event = &events_of(&message)[0];
    assert_eq!(event.ts_event_ns, 1_696_436_761_806_315_597);
    let bar = event.as_bar().unwrap();
    assert_eq!(bar.open_time_ms, 1_696_436_700_000);
    assert_eq!(bar.close_time_ms, 1_696_436_700_000 + 240 * 60_000 - 1);
}

#[test]
fn trades_give_one_event_each_with_the_taker_side() {
    let events = events_of(&nautilus("ws_trade_update"));
    let expected = [
        (
            1_696_613_755_440_295_000,
            105944.20,
            0.00027625,
            Side::Buy,
            10_218_208,
        ),
        (
            1_696_613_756_123_456_000,
            105910.50,
            0.00012460,
            Side::Sell,
            10_218_209,
        ),
    ];
    assert_eq!(events.len(), expected.len());
    for (event, (ts, price, qty, side, id)) in events.iter().zip(expected) {
        assert_eq!(event.exchange, Exchange::Kraken);
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
fn ticker_is_a_quote_at_its_timestamp() {
    let events = events_of(&nautilus("ws_ticker_snapshot"));
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.symbol.as_str(), "BTCUSD");
    // "timestamp": "2022-12-25T09:30:59.123456Z"
    assert_eq!(event.ts_event_ns, 1_671_960_659_123_456_000);
    assert_eq!(event.ts_recv_ns, RECV_NS);
    let expected = EventKind::Quote {
        bid: 105944.20,
        bid_qty: 2.5,
        ask: 105944.30,
        ask_qty: 3.2,
    };
    assert_eq!(event.kind, expected);
    let untimed = edited("ws_ticker_snapshot", |v| {
        v["data"][0].as_object_mut().unwrap().remove("timestamp");
    });
    assert_eq!(events_of(&untimed)[0].ts_event_ns, RECV_NS);
    let message_time = edited("ws_ticker_snapshot", |v| {
        v["data"][0].as_object_mut().unwrap().remove("timestamp");
        v["timestamp"] = json!("2022-12-25T09:31:00Z");
    });
    assert_eq!(
        events_of(&message_time)[0].ts_event_ns,
        1_671_960_660_000_000_000
    );
}

#[test]
fn v1_symbols_are_normalised_too() {
    let xbt = edited("ws_trade_update", |v| {
        v["data"][1]["symbol"] = json!("XBT/USD")
    });
    assert_eq!(events_of(&xbt)[1].symbol.as_str(), "BTCUSD");
}

#[test]
fn replies_heartbeats_and_status_carry_no_event() {
    assert_eq!(frame_of(&nautilus("ws_pong")), Frame::Heartbeat);
    assert_eq!(frame_of(&nautilus("ws_subscribe_response")), Frame::Ack);
    assert_eq!(frame_of(r#"{"channel":"heartbeat"}"#), Frame::Heartbeat);
    let status = r#"{"channel":"status","type":"update","data":[{"api_version":"v2","connection_id":1,"system":"online","version":"2.0.0"}]}"#;
    assert_eq!(frame_of(status), Frame::Heartbeat);
    let failed_pong = r#"{"method":"pong","success":false,"error":"x"}"#;
    assert_eq!(frame_of(failed_pong), Frame::Heartbeat);
    let unsubscribed = edited("ws_subscribe_response", |v| {
        v["method"] = json!("unsubscribe")
    });
    assert_eq!(frame_of(&unsubscribed), Frame::Ack);
    let unknown = edited("ws_subscribe_response", |v| {
        v["method"] = json!("whatever");
        v.as_object_mut().unwrap().remove("success");
    });
    assert_eq!(
        frame_of(&unknown),
        Frame::Skipped(Skip::Unknown("whatever".into()))
    );
}

#[test]
fn failed_subscriptions_are_refusals_with_the_error_and_symbol() {
    let reply = r#"{"error":"Currency pair not supported XBT/USD","method":"subscribe","success":false,"symbol":"XBT/USD","time_in":"2023-09-25T09:04:31.742599Z","time_out":"2023-09-25T09:04:31.742648Z"}"#;
    let expected = "subscribe: Currency pair not supported XBT/USD (symbol XBT/USD)";
    assert_eq!(frame_of(reply), Frame::Refused(expected.into()));
    let bare = r#"{"method":"subscribe","success":false}"#;
    assert_eq!(
        frame_of(bare),
        Frame::Refused("subscribe: refused, no error given".into())
    );
    let no_success = r#"{"method":"error","error":"Malformed request"}"#;
    assert_eq!(
        frame_of(no_success),
        Frame::Refused("error: Malformed request".into())
    );
    let long = json!({"method": "subscribe", "success": false, "error": "e".repeat(999)});
    let Frame::Refused(text) = frame_of(&long.to_string()) else {
        panic!("not a refusal");
    };
    assert_eq!(text.chars().count(), 256);
}

#[test]
fn book_and_level3_are_unused_and_new_channels_unknown() {
    for name in ["ws_book_snapshot", "ws_book_update"] {
        assert_eq!(
            frame_of(&nautilus(name)),
            Frame::Skipped(Skip::Unused("book"))
        );
    }
    for name in [
        "ws_l3_snapshot",
        "ws_l3_update_add",
        "ws_l3_update_delete",
        "ws_l3_update_modify_price",
        "ws_l3_update_modify_qty",
    ] {
        assert_eq!(
            frame_of(&nautilus(name)),
            Frame::Skipped(Skip::Unused("level3"))
        );
    }
    let new = edited("ws_book_update", |v| v["channel"] = json!("z".repeat(99)));
    assert_eq!(
        frame_of(&new),
        Frame::Skipped(Skip::Unknown("z".repeat(64)))
    );
}

#[test]
fn futures_and_v1_messages_are_shape_errors() {
    for name in [
        "ws_futures_book_delta",
        "ws_futures_book_snapshot",
        "ws_futures_book_snapshot_with_zero_qty",
        "ws_futures_ticker",
        "ws_futures_trade",
        "ws_futures_trade_snapshot",
    ] {
        let (frame, _) = run(&nautilus(name));
        assert!(
            matches!(frame, Err(ParseError::Shape { .. })),
            "{name}: {frame:?}"
        );
        assert_error(
            &nautilus(name),
            &["not a Kraken spot v2 message", "Kraken Futures"],
        );
    }
    assert_error(r#"{"event":"heartbeat"}"#, &["spot websocket v1 message"]);
    assert_error(
        r#"[0,{"a":["5541.2","1.0"]},"book-10","XBT/USD"]"#,
        &["found an array"],
    );
}

/// The fixture `name` with `key` removed from `data[0]`.
fn without_data_key(name: &str, key: &str) -> String {
    edited(name, |v| {
        v["data"][0].as_object_mut().unwrap().remove(key);
    })
}

#[test]
fn missing_and_mistyped_fields_are_errors_naming_the_field() {
    let high = without_data_key("ws_ohlc_update", "high");
    assert_error(&high, &["bad ohlc message", "missing field `high`"]);
    let begin = without_data_key("ws_ohlc_update", "interval_begin");
    assert_error(&begin, &["missing field `interval_begin`"]);
    let ask = without_data_key("ws_ticker_snapshot", "ask");
    assert_error(&ask, &["bad ticker message", "missing field `ask`"]);
    let id = without_data_key("ws_trade_update", "trade_id");
    assert_error(&id, &["bad trade message", "missing field `trade_id`"]);
    // Kraken v2 sends numbers; a string price is refused (serde names the type, not the key).
    let text = edited("ws_trade_update", |v| {
        v["data"][0]["price"] = json!("105944.2")
    });
    assert_error(&text, &["bad trade message", "invalid type: string"]);
    let reply = r#"{"method":"subscribe","success":"yes"}"#;
    assert_error(reply, &["bad reply message", "invalid type"]);
    assert_error(r#"{"channel":["ohlc"]}"#, &["\"channel\" is an array"]);
    assert_error(r#"{"type":"update"}"#, &["no \"channel\" or \"method\""]);
}

#[test]
fn bad_values_are_errors_naming_the_field() {
    let trade = |key: &str, value: Value| edited("ws_trade_update", |v| v["data"][1][key] = value);
    assert_error(
        &trade("price", json!(0)),
        &["data[1]: price 0 is not a finite number above 0"],
    );
    assert_error(
        &trade("price", json!(-5.5)),
        &["price -5.5 is not a finite number above 0"],
    );
    assert_error(
        &trade("qty", json!(-1e-8)),
        &["qty -0.00000001 is not a finite number ≥ 0"],
    );
    assert_error(
        &trade("side", json!("BUY")),
        &["side \"BUY\" is neither buy nor sell"],
    );
    assert_error(
        &trade("timestamp", json!("2023-10-06")),
        &["timestamp \"2023-10-06\""],
    );
    assert_error(
        &trade("symbol", json!("BTC//USD")),
        &["symbol", "empty part"],
    );
    assert_error(
        &trade("trade_id", json!(-1)),
        &["bad trade message", "invalid value"],
    );
    let quote =
        |key: &str, value: Value| edited("ws_ticker_snapshot", |v| v["data"][0][key] = value);
    assert_error(
        &quote("bid_qty", json!(-2)),
        &["bad ticker message", "bid_qty -2"],
    );
    assert_error(
        &quote("ask", json!(0.0)),
        &["ask 0 is not a finite number above 0"],
    );
    let early = edited("ws_ticker_snapshot", |v| {
        v["data"][0]["timestamp"] = json!("1960-01-01T00:00:00Z")
    });
    assert_error(
        &early,
        &["timestamp \"1960-01-01T00:00:00Z\" is not a time from 1970"],
    );
}

#[test]
fn bad_candles_are_errors_naming_the_field() {
    let candle = |key: &str, value: Value| edited("ws_ohlc_update", |v| v["data"][0][key] = value);
    assert_error(
        &candle("high", json!(106039.0)),
        &["data[0]: high 106039 is below max(open 106038.2, close 106040.1)"],
    );
    assert_error(
        &candle("low", json!(106039.0)),
        &["low 106039 is above min"],
    );
    assert_error(
        &candle("close", json!(-1)),
        &["close -1 is not a finite number above 0"],
    );
    assert_error(
        &candle("volume", json!(-1)),
        &["volume -1 is not a finite number ≥ 0"],
    );
    assert_error(&candle("vwap", json!(-2)), &["vwap -2"]);
    assert_error(&candle("vwap", json!(1e306)), &["volume × vwap inf"]);
    assert_error(
        &candle("interval", json!(2)),
        &["interval 2 is not one of Kraken's"],
    );
    assert_error(
        &candle("interval_begin", json!("soon")),
        &["interval_begin \"soon\""],
    );
    let late = candle("interval_begin", json!("2262-04-11T23:47:16.854Z"));
    assert_error(&late, &["interval_begin + interval"]);
    let stamp = edited("ws_ohlc_update", |v| v["timestamp"] = json!(""));
    assert_error(&stamp, &["bad ohlc message", "timestamp \"\""]);
}

#[test]
fn bad_shapes_are_errors() {
    assert_error(&nautilus("ws_ohlc_update")[..80], &["malformed JSON"]);
    let mut out = Vec::new();
    let raw = parse(&[b'{', 0xfe, b'}'], 0, &mut out);
    assert!(matches!(raw, Err(ParseError::Json(_))), "{raw:?}");
    assert_error("null", &["found null"]);
    let no_data = edited("ws_trade_update", |v| {
        v.as_object_mut().unwrap().remove("data");
    });
    assert_error(&no_data, &["missing field `data`"]);
}

#[test]
fn a_refused_message_leaves_the_callers_earlier_events_alone() {
    let mut out = Vec::new();
    parse(nautilus("ws_ticker_snapshot").as_bytes(), RECV_NS, &mut out).unwrap();
    let second_bad = edited("ws_trade_update", |v| v["data"][1]["qty"] = json!(-1));
    assert!(parse(second_bad.as_bytes(), RECV_NS, &mut out).is_err());
    assert_eq!(out.len(), 1);
    assert!(matches!(out[0].kind, EventKind::Quote { .. }));
}
