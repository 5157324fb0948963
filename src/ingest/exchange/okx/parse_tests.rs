//! Tests of the OKX parser on the fixtures under `tests/fixtures/ws/okx/` (see its
//! `SOURCES.md`), checked against numbers read from the JSON by eye, on variants of them, and on
//! replies copied from OKX's documentation; `parse_prop_tests.rs` holds the proptests.

use super::*;
use crate::ingest::input::fixture;
use serde_json::json;

#[path = "parse_prop_tests.rs"]
mod props;

const RECV_NS: i64 = 1_700_000_000_123_456_789;

fn text(name: &str) -> String {
    std::fs::read_to_string(fixture(&format!("ws/okx/{name}.json"))).unwrap()
}

/// The fixture `name` with `edit` applied to its JSON.
fn edited(name: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut value: Value = serde_json::from_str(&text(name)).unwrap();
    edit(&mut value);
    value.to_string()
}

fn run(raw: &str) -> (Result<Frame, ParseError>, Vec<MarketEvent>) {
    let mut out = Vec::new();
    let frame = parse(raw.as_bytes(), RECV_NS, &mut out);
    (frame, out)
}

fn frame_of(raw: &str) -> Frame {
    run(raw).0.unwrap()
}

fn events_of(raw: &str) -> Vec<MarketEvent> {
    let (frame, events) = run(raw);
    assert_eq!(frame, Ok(Frame::Events(events.len())), "{raw}");
    events
}

fn one_event(raw: &str) -> MarketEvent {
    let mut events = events_of(raw);
    assert_eq!(events.len(), 1, "{raw}");
    events.remove(0)
}

/// Asserts that `raw` is an error whose text holds every needle, and pushed nothing.
fn assert_error(raw: &str, needles: &[&str]) {
    let (frame, events) = run(raw);
    let error = frame.expect_err("should be an error").to_string();
    for needle in needles {
        assert!(error.contains(needle), "{error:?} lacks {needle:?}");
    }
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn closed_candle_is_a_closed_bar_stamped_at_its_close() {
    let event = one_event(&text("ws_candle"));
    assert_eq!(event.exchange, Exchange::Okx);
    assert_eq!(event.symbol.as_str(), "BTCUSDT");
    assert_eq!(event.ts_recv_ns, RECV_NS);
    // candle1D: open 1597026383085 + 86,400,000 ms - 1.
    assert_eq!(event.ts_event_ns, 1_597_112_783_084_000_000);
    let expected = Bar {
        open_time_ms: 1_597_026_383_085,
        close_time_ms: 1_597_112_783_084,
        open: 8533.02,
        high: 8553.74,
        low: 8527.17,
        close: 8548.26,
        volume: 45247.0,
        quote_volume: 5529.5858061,
        trades: 0,
        taker_buy_volume: 0.0,
        closed: true,
    };
    assert_eq!(event.kind, EventKind::Bar(expected.clone()));
    let csv = MarketEvent::closed_bar(Exchange::Okx, event.symbol.clone(), expected);
    assert_eq!(event.ts_event_ns, csv.ts_event_ns);
    // The UTC-aligned name has the same length.
    let utc = edited("ws_candle", |v| v["arg"]["channel"] = json!("candle1Dutc"));
    assert_eq!(one_event(&utc), event);
}

#[test]
fn open_candle_is_stamped_at_its_receive_time() {
    let open = edited("ws_candle", |v| v["data"][0][8] = json!("0"));
    let event = one_event(&open);
    assert_eq!(event.ts_event_ns, RECV_NS);
    assert!(!event.as_bar().unwrap().closed);
    let minute = edited("ws_candle", |v| v["arg"]["channel"] = json!("candle1m"));
    let bar = one_event(&minute).as_bar().unwrap().clone();
    assert_eq!(bar.close_time_ms, 1_597_026_383_085 + 59_999);
    // Extra trailing columns are tolerated, missing ones are not.
    let wide = edited("ws_candle", |v| {
        v["data"][0].as_array_mut().unwrap().push(json!("x"))
    });
    assert_eq!(one_event(&wide), one_event(&text("ws_candle")));
}

#[test]
fn calendar_and_unknown_bars_are_skipped() {
    for bar in ["candle1M", "candle3Mutc", "candle1Y"] {
        let message = edited("ws_candle", |v| v["arg"]["channel"] = json!(bar));
        let skip = Frame::Skipped(Skip::Unused("candle (calendar months)"));
        assert_eq!(frame_of(&message), skip, "{bar}");
    }
    let odd = edited("ws_candle", |v| v["arg"]["channel"] = json!("candle7m"));
    assert_eq!(
        frame_of(&odd),
        Frame::Skipped(Skip::Unknown("candle7m".into()))
    );
    let mark = edited("ws_candle", |v| {
        v["arg"]["channel"] = json!("mark-price-candle1m")
    });
    assert_eq!(
        frame_of(&mark),
        Frame::Skipped(Skip::Unused("mark-price-candle"))
    );
}

#[test]
fn trades_take_the_taker_side_and_fill_time() {
    let event = one_event(&text("ws_trades"));
    assert_eq!(event.symbol.as_str(), "BTCUSD");
    assert_eq!(event.ts_event_ns, 1_630_048_897_897_000_000);
    assert_eq!(event.ts_recv_ns, RECV_NS);
    let expected = EventKind::Trade {
        price: 42219.9,
        qty: 0.12060306,
        side: Side::Buy,
        id: 130_639_474,
    };
    assert_eq!(event.kind, expected);
    let all = edited("ws_trades", |v| {
        v["arg"]["channel"] = json!("trades-all");
        v["data"][0]["side"] = json!("sell");
        v["data"][0].as_object_mut().unwrap().remove("count");
    });
    let EventKind::Trade { side, id, .. } = one_event(&all).kind else {
        panic!("not a trade")
    };
    assert_eq!((side, id), (Side::Sell, 130_639_474));
}

#[test]
fn many_trades_are_many_events_and_one_bad_spoils_all() {
    let two = edited("ws_trades", |v| {
        let mut second = v["data"][0].clone();
        second["tradeId"] = json!("130639475");
        v["data"].as_array_mut().unwrap().push(second);
    });
    let ids: Vec<EventKind> = events_of(&two).into_iter().map(|e| e.kind).collect();
    assert!(matches!(
        ids[1],
        EventKind::Trade {
            id: 130_639_475,
            ..
        }
    ));
    let spoiled = edited("ws_trades", |v| {
        let mut second = v["data"][0].clone();
        second["px"] = json!("");
        v["data"].as_array_mut().unwrap().push(second);
    });
    assert_error(&spoiled, &["bad trades message: data[1]: px (price) \"\""]);
    let empty = edited("ws_trades", |v| v["data"] = json!([]));
    assert_eq!(events_of(&empty), []);
}

#[test]
fn bbo_tbt_is_a_quote_at_the_book_time() {
    let event = one_event(&text("ws_bbo_tbt"));
    assert_eq!(event.symbol.as_str(), "BTCUSDT");
    assert_eq!(event.ts_event_ns, 1_597_026_383_085_000_000);
    let expected = EventKind::Quote {
        bid: 8476.97,
        bid_qty: 256.0,
        ask: 8476.98,
        ask_qty: 415.0,
    };
    assert_eq!(event.kind, expected);
    let one_sided = edited("ws_bbo_tbt", |v| v["data"][0]["bids"] = json!([]));
    assert_eq!(events_of(&one_sided), []);
    let named = edited("ws_bbo_tbt", |v| v["data"][0]["instId"] = json!("BTC-USDT"));
    assert_eq!(one_event(&named), event);
}

#[test]
fn tickers_are_quotes_unless_a_side_is_empty() {
    let event = one_event(&text("ws_tickers"));
    assert_eq!(event.symbol.as_str(), "BTCUSDT");
    assert_eq!(event.ts_event_ns, 1_597_026_383_085_000_000);
    let expected = EventKind::Quote {
        bid: 8888.88,
        bid_qty: 5.0,
        ask: 9999.99,
        ask_qty: 11.0,
    };
    assert_eq!(event.kind, expected);
    let no_asks = edited("ws_tickers", |v| {
        v["data"][0]["askPx"] = json!("");
        v["data"][0]["askSz"] = json!("");
    });
    assert_eq!(events_of(&no_asks), []);
}

#[test]
fn unused_channels_are_skipped() {
    for (name, channel) in [
        ("ws_books_snapshot", "books"),
        ("ws_books_update", "books"),
        ("ws_funding_rate", "funding-rate"),
        ("ws_instruments", "instruments"),
    ] {
        assert_eq!(frame_of(&text(name)), Frame::Skipped(Skip::Unused(channel)));
    }
    // The opt-summary fixture is only the `data` array of a push (see SOURCES.md): not a
    // message on its own, but one in the documented envelope.
    assert_error(
        &text("ws_opt_summary"),
        &["not a OKX message: expected a JSON object or the text pong, found an array"],
    );
    let data: Value = serde_json::from_str(&text("ws_opt_summary")).unwrap();
    let wrapped = json!({"arg": {"channel": "opt-summary", "instFamily": "BTC-USD"}, "data": data});
    assert_eq!(
        frame_of(&wrapped.to_string()),
        Frame::Skipped(Skip::Unused("opt-summary"))
    );
    let new = edited("ws_trades", |v| v["arg"]["channel"] = json!("y".repeat(80)));
    assert_eq!(
        frame_of(&new),
        Frame::Skipped(Skip::Unknown("y".repeat(64)))
    );
}

#[test]
fn replies_and_notices() {
    assert_eq!(frame_of("pong"), Frame::Heartbeat);
    assert_eq!(frame_of(" pong\n"), Frame::Heartbeat);
    // docs-v5: WebSocket → Subscribe, Notification, and the candlesticks channel's replies.
    let ack = r#"{"event":"subscribe","arg":{"channel":"tickers","instId":"BTC-USDT"},"connId":"accb8e21"}"#;
    assert_eq!(frame_of(ack), Frame::Ack);
    let candle_ack = r#"{"op":"subscribe","event":"subscribe","arg":{"channel":"candle1D","instId":"BTC-USDT"},"connId":"a4d3ae55"}"#;
    assert_eq!(frame_of(candle_ack), Frame::Ack);
    let error = r#"{"id":"1512","event":"error","code":"60012","msg":"Invalid request: {\"op\": \"subscribe\", \"argss\":[{ \"channel\" : \"candle1D\", \"instId\" : \"BTC-USD-191227\"}]}","connId":"a4d3ae55"}"#;
    let Frame::Refused(reason) = frame_of(error) else {
        panic!("not refused")
    };
    assert!(
        reason.starts_with("60012: Invalid request: {\"op\": \"subscribe\""),
        "{reason}"
    );
    let notice = r#"{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade. Please reconnect.","connId":"a4d3ae55"}"#;
    assert_eq!(
        frame_of(notice),
        Frame::Closing(
            "64008: The connection will soon be closed for a service upgrade. Please reconnect."
                .into()
        )
    );
    let other = r#"{"event":"notice","code":"64009","msg":"x","connId":"a4d3ae55"}"#;
    assert_eq!(frame_of(other), Frame::Skipped(Skip::Unused("notice")));
    let count =
        r#"{"event":"channel-conn-count","channel":"orders","connCount":"2","connId":"abcd1234"}"#;
    assert_eq!(
        frame_of(count),
        Frame::Skipped(Skip::Unused("channel-conn-count"))
    );
    let over = r#"{"event":"channel-conn-count-error","channel":"orders","connCount":"20","connId":"a4d3ae55"}"#;
    assert_eq!(frame_of(over), Frame::Refused("?: ".into()));
    let long = json!({"event": "error", "code": "1", "msg": "m".repeat(999)}).to_string();
    assert_eq!(
        frame_of(&long),
        Frame::Refused(format!("1: {}", "m".repeat(253)))
    );
    assert_eq!(
        frame_of(r#"{"event":"later"}"#),
        Frame::Skipped(Skip::Unknown("later".into()))
    );
}

#[test]
fn bad_trade_numbers_are_errors_naming_the_field() {
    let trade = |key: &str, value: Value| edited("ws_trades", |v| v["data"][0][key] = value);
    assert_error(
        &trade("px", json!("abc")),
        &["bad trades message: data[0]: px (price) \"abc\" is not a finite number"],
    );
    assert_error(&trade("px", json!("0")), &["px (price) 0 is not positive"]);
    assert_error(&trade("sz", json!("-1")), &["sz (size) -1 is negative"]);
    assert_error(&trade("side", json!("Buy")), &["side \"Buy\" is neither"]);
    assert_error(
        &trade("tradeId", json!("12a")),
        &["tradeId \"12a\" is not a decimal"],
    );
    assert_error(&trade("tradeId", json!("+1")), &["tradeId \"+1\""]);
    assert_error(
        &trade("ts", json!("1.5")),
        &["ts (fill time) \"1.5\" is not an integer"],
    );
    assert_error(&trade("px", json!(42219.9)), &["data[0]: invalid type"]);
}

#[test]
fn bad_candle_and_book_numbers_are_errors_naming_the_field() {
    let candle = |i: usize, value: &str| edited("ws_candle", |v| v["data"][0][i] = json!(value));
    assert_error(
        &candle(1, "x"),
        &["bad candle message", "data[0]: o (open) \"x\""],
    );
    assert_error(&candle(5, "-3"), &["data[0]: vol -3 is negative"]);
    assert_error(&candle(6, "nan"), &["data[0]: volCcy \"nan\""]);
    assert_error(&candle(7, "-1"), &["data[0]: volCcyQuote -1 is negative"]);
    assert_error(
        &candle(8, "2"),
        &["confirm \"2\" is neither \"0\" nor \"1\""],
    );
    assert_error(
        &candle(0, "-1"),
        &["ts (open time) -1 is not a ms timestamp"],
    );
    let bid = edited("ws_bbo_tbt", |v| {
        v["data"][0]["bids"][0][0] = json!("-8476.97")
    });
    assert_error(
        &bid,
        &[
            "bad bbo-tbt message",
            "bids[0] price -8476.97 is not positive",
        ],
    );
    let ts = edited("ws_bbo_tbt", |v| v["data"][0]["ts"] = json!("x"));
    assert_error(
        &ts,
        &["data[0]: ts (generation time) \"x\" is not an integer"],
    );
    let ask = edited("ws_tickers", |v| v["data"][0]["askSz"] = json!("-11"));
    assert_error(&ask, &["bad tickers message", "askSz -11 is negative"]);
}

#[test]
fn bad_fields_are_errors_naming_the_field() {
    let high = edited("ws_candle", |v| v["data"][0][2] = json!("8540"));
    assert_error(
        &high,
        &["data[0]: high 8540 is below max(open 8533.02, close 8548.26)"],
    );
    let low = edited("ws_candle", |v| v["data"][0][3] = json!("8540"));
    assert_error(
        &low,
        &["data[0]: low 8540 is above min(open 8533.02, close 8548.26)"],
    );
    let short = edited("ws_candle", |v| {
        drop(v["data"][0].as_array_mut().unwrap().pop())
    });
    assert_error(
        &short,
        &["data[0]: a candle row of 8 columns, not the 9 of [ts, o, h, l, c"],
    );
    let no_inst = edited("ws_candle", |v| {
        drop(v["arg"].as_object_mut().unwrap().remove("instId"))
    });
    assert_error(&no_inst, &["bad candle message: arg has no instId"]);
    let other = edited("ws_trades", |v| v["data"][0]["instId"] = json!("ETH-USD"));
    assert_error(
        &other,
        &["instId \"ETH-USD\" differs from arg.instId \"BTC-USD\""],
    );
    let no_px = edited("ws_trades", |v| {
        drop(v["data"][0].as_object_mut().unwrap().remove("px"))
    });
    assert_error(&no_px, &["data[0]: missing field `px`"]);
    let level = edited("ws_bbo_tbt", |v| {
        v["data"][0]["asks"][0] = json!(["8476.98"])
    });
    assert_error(&level, &["asks[0] has 1 entries, not [price, size, ..]"]);
    let no_ts = edited("ws_tickers", |v| {
        drop(v["data"][0].as_object_mut().unwrap().remove("ts"))
    });
    assert_error(
        &no_ts,
        &["bad tickers message: data[0]: missing field `ts`"],
    );
    let bad_inst = edited("ws_candle", |v| v["arg"]["instId"] = json!("BTC--USDT"));
    assert_error(&bad_inst, &["arg.instId", "empty part"]);
}

#[test]
fn bad_shapes_are_errors() {
    assert_error(&text("ws_trades")[..50], &["malformed JSON"]);
    assert_error("ping", &["malformed JSON"]);
    assert_error("[]", &["found an array"]);
    assert_error(
        r#"{"data":[]}"#,
        &["no \"event\" (a reply or notice) and no \"arg\""],
    );
    assert_error(
        r#"{"arg":{},"data":[]}"#,
        &["not a OKX message: arg: missing field `channel`"],
    );
    let data = edited("ws_trades", |v| v["data"] = json!({}));
    assert_error(&data, &["data is an object, not an array"]);
    assert_error(r#"{"event":5}"#, &["bad event message", "invalid type"]);
}
