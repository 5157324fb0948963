//! Tests of the Bybit parser on the fixtures under `tests/fixtures/ws/bybit/` (see its
//! `SOURCES.md`), checked against numbers read from the JSON by eye, on variants of them, and on
//! messages copied from Bybit's documentation pages; replies and skipped topics are in
//! `parse_reply_tests.rs`, the proptests in `parse_prop_tests.rs`.

use super::*;
use crate::ingest::input::fixture;
use serde_json::json;

#[path = "parse_prop_tests.rs"]
mod props;

#[path = "parse_reply_tests.rs"]
mod replies;

const RECV_NS: i64 = 1_700_000_000_123_456_789;

fn text(name: &str) -> String {
    std::fs::read_to_string(fixture(&format!("ws/bybit/{name}.json"))).unwrap()
}

/// The fixture `name` with `edit` applied to its JSON.
fn edited(name: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut value: Value = serde_json::from_str(&text(name)).unwrap();
    edit(&mut value);
    value.to_string()
}

fn run(json: &str) -> (Result<Frame, ParseError>, Vec<MarketEvent>) {
    let mut out = Vec::new();
    let frame = parse(json.as_bytes(), RECV_NS, &mut out);
    (frame, out)
}

fn frame_of(json: &str) -> Frame {
    run(json).0.unwrap()
}

fn events_of(json: &str) -> Vec<MarketEvent> {
    let (frame, events) = run(json);
    assert_eq!(frame, Ok(Frame::Events(events.len())), "{json}");
    events
}

fn one_event(json: &str) -> MarketEvent {
    let mut events = events_of(json);
    assert_eq!(events.len(), 1, "{json}");
    events.remove(0)
}

/// Asserts that `json` is an error whose text holds every needle, and pushed nothing.
fn assert_error(json: &str, needles: &[&str]) {
    let (frame, events) = run(json);
    let error = frame.expect_err("should be an error").to_string();
    for needle in needles {
        assert!(error.contains(needle), "{error:?} lacks {needle:?}");
    }
    assert!(events.is_empty(), "{events:?}");
}

/// The public-trade fixture under the documented topic name (see `SOURCES.md`).
fn trade_message() -> String {
    edited("ws_public_trade", |v| {
        v["topic"] = json!("publicTrade.BTCUSDT")
    })
}

/// A level-1 book in the documented layout (`docs/v5/websocket/public/orderbook.mdx`, whose
/// example is level 50), with its numbers.
const BOOK_1: &str = r#"{"topic":"orderbook.1.BTCUSDT","type":"snapshot","ts":1672304484978,
"data":{"s":"BTCUSDT","b":[["16493.50","0.006"]],"a":[["16611.00","0.029"]],"u":18521288,
"seq":7961638724},"cts":1672304484976}"#;

fn book(edit: impl FnOnce(&mut Value)) -> String {
    let mut value: Value = serde_json::from_str(BOOK_1).unwrap();
    edit(&mut value);
    value.to_string()
}

#[test]
fn open_kline_is_an_open_bar_stamped_at_the_message_time() {
    let event = one_event(&text("ws_kline"));
    assert_eq!(event.exchange, Exchange::Bybit);
    assert_eq!(event.symbol.as_str(), "BTCUSDT");
    assert_eq!(event.ts_event_ns, 1_672_324_988_882_000_000);
    assert_eq!(event.ts_recv_ns, RECV_NS);
    let expected = Bar {
        open_time_ms: 1_672_324_800_000,
        close_time_ms: 1_672_325_099_999,
        open: 16649.5,
        high: 16677.0,
        low: 16608.0,
        close: 16677.0,
        volume: 2.081,
        quote_volume: 34666.4005,
        trades: 0,
        taker_buy_volume: 0.0,
        closed: false,
    };
    assert_eq!(event.kind, EventKind::Bar(expected));
    assert_eq!(event.check(), Ok(()));
}

#[test]
fn closed_kline_is_stamped_at_its_close_like_a_csv_row() {
    let closed = edited("ws_kline", |v| v["data"][0]["confirm"] = json!(true));
    let event = one_event(&closed);
    assert_eq!(event.ts_event_ns, 1_672_325_099_999_000_000);
    let bar = event.as_bar().unwrap().clone();
    assert!(bar.closed);
    let csv = MarketEvent::closed_bar(Exchange::Bybit, event.symbol.clone(), bar);
    assert_eq!(event.ts_event_ns, csv.ts_event_ns);
}

#[test]
fn several_candles_in_one_message_are_several_bars() {
    let two = edited("ws_kline", |v| {
        let mut next = v["data"][0].clone();
        next["start"] = json!(1_672_325_100_000_i64);
        next["end"] = json!(1_672_325_399_999_i64);
        v["data"].as_array_mut().unwrap().push(next);
    });
    let events = events_of(&two);
    let opens: Vec<i64> = events
        .iter()
        .map(|e| e.as_bar().unwrap().open_time_ms)
        .collect();
    assert_eq!(opens, [1_672_324_800_000, 1_672_325_100_000]);
    let empty = edited("ws_kline", |v| v["data"] = json!([]));
    assert_eq!(events_of(&empty), []);
}

#[test]
fn trades_take_the_taker_side_and_fill_time() {
    let event = one_event(&trade_message());
    assert_eq!(event.symbol.as_str(), "BTCUSDT");
    assert_eq!(event.ts_event_ns, 1_709_891_679_000_000_000);
    assert_eq!(event.ts_recv_ns, RECV_NS);
    // FNV-1a 64 of "9dc75fca-4bdd-4773-9f78-6f5d7ab2a110", computed outside this crate.
    let expected = EventKind::Trade {
        price: 27451.0,
        qty: 0.01,
        side: Side::Buy,
        id: 14_238_362_425_903_224_118,
    };
    assert_eq!(event.kind, expected);
    let sell = edited("ws_public_trade", |v| {
        v["topic"] = json!("publicTrade.BTCUSDT");
        v["data"][0]["S"] = json!("Sell");
        v["data"][0]["i"] = json!("2290000000061666327");
    });
    let EventKind::Trade { side, id, .. } = one_event(&sell).kind else {
        panic!("not a trade")
    };
    assert_eq!((side, id), (Side::Sell, 2_290_000_000_061_666_327));
}

#[test]
fn trade_ids_are_numbers_or_their_fnv1a_hash() {
    // Published FNV-1a 64 test vectors.
    assert_eq!(trade_id("a"), Ok(0xaf63_dc4c_8601_ec8c));
    assert_eq!(trade_id("foobar"), Ok(0x8594_4171_f739_67e8));
    assert_eq!(trade_id("42"), Ok(42));
    // Too big for a u64: hashed, not refused.
    assert_ne!(trade_id("99999999999999999999999"), Ok(0));
    assert!(trade_id("").unwrap_err().contains("i (trade id) is empty"));
}

#[test]
fn one_message_of_many_trades_is_many_events_in_order() {
    let many = edited("ws_public_trade", |v| {
        v["topic"] = json!("publicTrade.BTCUSDT");
        let mut second = v["data"][0].clone();
        second["p"] = json!("27452.50");
        second["T"] = json!(1_709_891_679_004_i64);
        v["data"].as_array_mut().unwrap().push(second);
    });
    let events = events_of(&many);
    let stamps: Vec<i64> = events.iter().map(|e| e.ts_event_ns).collect();
    assert_eq!(
        stamps,
        [1_709_891_679_000_000_000, 1_709_891_679_004_000_000]
    );
    // One bad trade spoils the message and leaves nothing behind.
    let spoiled = edited("ws_public_trade", |v| {
        v["topic"] = json!("publicTrade.BTCUSDT");
        let mut second = v["data"][0].clone();
        second["v"] = json!("-1");
        v["data"].as_array_mut().unwrap().push(second);
    });
    assert_error(
        &spoiled,
        &["bad publicTrade message: data[1]: v (size) -1 is negative"],
    );
    let mut out = vec![one_event(&trade_message())];
    assert!(parse(spoiled.as_bytes(), RECV_NS, &mut out).is_err());
    assert_eq!(out.len(), 1, "the caller's earlier events stay");
}

#[test]
fn the_fixture_trade_topic_is_not_a_v5_topic() {
    // `trade.linear.BTCUSDT` (see SOURCES.md) is not how Bybit names the topic.
    assert_eq!(
        frame_of(&text("ws_public_trade")),
        Frame::Skipped(Skip::Unknown("trade".into()))
    );
}

#[test]
fn linear_ticker_snapshot_is_a_quote() {
    let event = one_event(&text("ws_ticker_linear"));
    assert_eq!(event.symbol.as_str(), "BTCUSDT");
    assert_eq!(event.ts_event_ns, 1_673_272_861_686_000_000);
    let expected = EventKind::Quote {
        bid: 17215.5,
        bid_qty: 84.489,
        ask: 17216.0,
        ask_qty: 83.02,
    };
    assert_eq!(event.kind, expected);
}

#[test]
fn tickers_without_a_whole_top_of_book_are_skipped() {
    let option = frame_of(&text("ws_ticker_option"));
    assert_eq!(option, Frame::Skipped(Skip::Unused("tickers (option)")));
    // The spot example of docs/v5/websocket/public/ticker.mdx.
    let spot = r#"{"topic":"tickers.BTCUSDT","ts":1673853746003,"type":"snapshot","cs":2588407389,
        "data":{"symbol":"BTCUSDT","lastPrice":"21109.77","highPrice24h":"21426.99",
        "lowPrice24h":"20575","prevPrice24h":"20704.93","volume24h":"6780.866843",
        "turnover24h":"141946527.22907118","price24hPcnt":"0.0196","usdIndexPrice":"21120.2400136"}}"#;
    let none = Frame::Skipped(Skip::Unused("tickers without bid1/ask1"));
    assert_eq!(frame_of(spot), none);
    // A linear delta that only moved the bid: without the last ask it is no quote.
    let delta = edited("ws_ticker_linear", |v| {
        v["type"] = json!("delta");
        let data = v["data"].as_object_mut().unwrap();
        data.retain(|k, _| matches!(k.as_str(), "symbol" | "bid1Price" | "bid1Size"));
    });
    assert_eq!(frame_of(&delta), none);
    let empty_ask = edited("ws_ticker_linear", |v| v["data"]["ask1Price"] = json!(""));
    assert_eq!(frame_of(&empty_ask), none);
}

#[test]
fn level_one_book_is_a_quote_at_the_matching_engine_time() {
    let event = one_event(BOOK_1);
    assert_eq!(event.symbol.as_str(), "BTCUSDT");
    assert_eq!(event.ts_event_ns, 1_672_304_484_976_000_000);
    let expected = EventKind::Quote {
        bid: 16493.5,
        bid_qty: 0.006,
        ask: 16611.0,
        ask_qty: 0.029,
    };
    assert_eq!(event.kind, expected);
    // Without `cts`, the message time; a string `ts` (as in the spot example) is read too.
    let no_cts = book(|v| {
        v.as_object_mut().unwrap().remove("cts");
        v["ts"] = json!("1672304484978");
    });
    assert_eq!(one_event(&no_cts).ts_event_ns, 1_672_304_484_978_000_000);
    let one_sided = book(|v| v["data"]["a"] = json!([]));
    assert_eq!(events_of(&one_sided), []);
    let delta = book(|v| v["type"] = json!("delta"));
    assert_eq!(
        frame_of(&delta),
        Frame::Skipped(Skip::Unknown("orderbook.1 delta".into()))
    );
    let deeper = book(|v| v["topic"] = json!("orderbook.50.BTCUSDT"));
    assert_eq!(frame_of(&deeper), Frame::Skipped(Skip::Unused("orderbook")));
}

#[test]
fn bad_numbers_are_errors_naming_the_field() {
    let trade = |key: &str, value: Value| {
        edited("ws_public_trade", |v| {
            v["topic"] = json!("publicTrade.BTCUSDT");
            v["data"][0][key] = value;
        })
    };
    assert_error(
        &trade("p", json!("abc")),
        &[
            "bad publicTrade message",
            "data[0]: p (price) \"abc\" is not a finite number",
        ],
    );
    assert_error(&trade("p", json!("0")), &["p (price) 0 is not positive"]);
    assert_error(&trade("v", json!("-0.5")), &["v (size) -0.5 is negative"]);
    assert_error(&trade("S", json!("None")), &["S (taker side) \"None\""]);
    assert_error(
        &trade("T", json!(-5)),
        &["T (fill time) -5 is not a ms timestamp"],
    );
    assert_error(&trade("p", json!(27451)), &["data[0]: invalid type"]);
    let kline = |key: &str, value: Value| edited("ws_kline", |v| v["data"][0][key] = value);
    assert_error(
        &kline("open", json!("NaN")),
        &["bad kline message", "data[0]: open"],
    );
    assert_error(
        &kline("volume", json!("-2")),
        &["data[0]: volume -2 is negative"],
    );
    assert_error(&kline("turnover", json!("x")), &["data[0]: turnover \"x\""]);
    let ticker = edited("ws_ticker_linear", |v| v["data"]["bid1Price"] = json!("-1"));
    assert_error(
        &ticker,
        &["bad tickers message", "data.bid1Price -1 is not positive"],
    );
    let size = book(|v| v["data"]["a"] = json!([["16611.00", "-1"]]));
    assert_error(
        &size,
        &[
            "bad orderbook message",
            "data.a[0] (ask size) -1 is negative",
        ],
    );
}

#[test]
fn bad_kline_fields_are_errors_naming_the_field() {
    let without = |key: &str| {
        edited("ws_kline", |v| {
            v["data"][0].as_object_mut().unwrap().remove(key);
        })
    };
    assert_error(&without("close"), &["data[0]: missing field `close`"]);
    assert_error(&without("confirm"), &["data[0]: missing field `confirm`"]);
    let high = edited("ws_kline", |v| v["data"][0]["high"] = json!("16650"));
    assert_error(
        &high,
        &["data[0]: high 16650 is below max(open 16649.5, close 16677)"],
    );
    let low = edited("ws_kline", |v| v["data"][0]["low"] = json!("16650"));
    assert_error(
        &low,
        &["data[0]: low 16650 is above min(open 16649.5, close 16677)"],
    );
    let interval = edited("ws_kline", |v| v["data"][0]["interval"] = json!("15"));
    assert_error(
        &interval,
        &["interval \"15\" differs from the topic's \"5\""],
    );
    let span = edited("ws_kline", |v| {
        v["data"][0]["end"] = json!(1_672_325_159_999_i64)
    });
    assert_error(&span, &["is 360000 ms, not the \"5\" interval's 300000 ms"]);
    let topic = edited("ws_kline", |v| v["topic"] = json!("kline.5"));
    assert_error(
        &topic,
        &["topic \"kline.5\" is not kline.{interval}.{symbol}"],
    );
    let symbol = edited("ws_kline", |v| v["topic"] = json!("kline.5.BTC USDT"));
    assert_error(&symbol, &["topic symbol", "BTC USDT"]);
}

#[test]
fn bad_envelopes_are_errors_naming_the_field() {
    let no_ts = edited("ws_kline", |v| {
        drop(v.as_object_mut().unwrap().remove("ts"))
    });
    assert_error(&no_ts, &["bad kline message: missing field `ts`"]);
    let late = edited("ws_kline", |v| v["ts"] = json!(i64::MAX));
    assert_error(&late, &["ts (message time)", "is not a ms timestamp"]);
    let no_data = edited("ws_ticker_linear", |v| {
        drop(v.as_object_mut().unwrap().remove("data"))
    });
    assert_error(&no_data, &["bad tickers message: missing field `data`"]);
    let no_symbol = edited("ws_ticker_linear", |v| {
        drop(v["data"].as_object_mut().unwrap().remove("symbol"))
    });
    assert_error(&no_symbol, &["data: missing field `symbol`"]);
    let no_success = r#"{"ret_msg":"","op":"subscribe"}"#;
    assert_error(
        no_success,
        &["bad reply message", "missing field `success`"],
    );
}

#[test]
fn bad_shapes_are_errors() {
    assert_error(&text("ws_kline")[..100], &["malformed JSON"]);
    assert_error(
        "[1]",
        &["not a Bybit message: expected a JSON object, found an array"],
    );
    assert_error(r#"{"topic":5}"#, &["\"topic\" is a number, not a string"]);
    assert_error(r#"{"ret_code":0}"#, &["no \"topic\" (a data push)"]);
    let data = edited("ws_kline", |v| v["data"] = json!({}));
    assert_error(&data, &["data is an object, not an array"]);
    let (frame, _) = run("pong");
    assert!(matches!(frame, Err(ParseError::Json(_))), "{frame:?}");
}
