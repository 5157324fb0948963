//! The fast path against the general path: the same frame, events and errors on every fixture
//! message, on hand-made messages aimed at the places the two could part (skipped values the
//! `Value` parser refuses, duplicate and steering keys, escapes), and on proptest mutations;
//! and the fast path really takes the ordinary messages.

use super::super::parse::{parse_frame, parse_general};
use super::*;
use crate::event::{Exchange, MarketEvent};
use crate::ingest::exchange::frame::{Frame, ParseError};
use crate::ingest::input::fixture;
use proptest::prelude::*;
use std::io::Read;
use std::sync::OnceLock;

type Outcome = (Result<Frame, ParseError>, Vec<MarketEvent>);

fn general(raw: &[u8], exchange: Exchange) -> Outcome {
    let mut out = Vec::new();
    (parse_general(raw, exchange, 42, &mut out), out)
}

fn full(raw: &[u8], exchange: Exchange) -> Outcome {
    let mut out = Vec::new();
    (parse_frame(raw, exchange, 42, &mut out), out)
}

/// Both paths agree on `raw` for both markets; returns whether the fast path took it.
fn assert_agree(raw: &[u8]) -> bool {
    for exchange in [Exchange::Binance, Exchange::BinanceFutures] {
        assert_eq!(
            full(raw, exchange),
            general(raw, exchange),
            "{}",
            String::from_utf8_lossy(raw)
        );
    }
    decode(raw).is_some()
}

const NAUTILUS: &[&str] = &[
    "agg_trade_stream",
    "book_ticker_stream",
    "depth_update_stream",
    "kline_stream_closed",
    "kline_stream_open",
    "liquidation_stream",
    "mark_price_stream",
    "ticker_stream",
    "trade_stream",
];

fn nautilus(name: &str) -> Vec<u8> {
    std::fs::read(fixture(&format!("ws/binance/{name}.json"))).unwrap()
}

/// The JSON of every received line of a recorded session.
fn session(path: &str) -> Vec<String> {
    let mut text = String::new();
    let file = std::fs::File::open(fixture(path)).unwrap();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap();
    let lines = text.lines().skip(1);
    lines
        .map(|line| line.split_once(": ").unwrap().1.to_string())
        .collect()
}

/// The single-message files, then every line of both recorded sessions (read once).
fn all_fixture_messages() -> &'static [Vec<u8>] {
    static MESSAGES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    MESSAGES.get_or_init(|| {
        let mut messages: Vec<Vec<u8>> = NAUTILUS.iter().map(|name| nautilus(name)).collect();
        for path in [
            "ws/binance/BINANCE.ws.1.0.lines1-210.gz",
            "ws/binance/BINANCE_FUTURES.ws.1.0.lines901-1100.gz",
        ] {
            messages.extend(session(path).into_iter().map(String::into_bytes));
        }
        messages
    })
}

#[test]
fn paths_agree_on_every_fixture_and_the_fast_path_takes_them_all() {
    let messages = all_fixture_messages();
    assert_eq!(messages.len(), NAUTILUS.len() + 209 + 200);
    for raw in messages {
        // Every recorded message has an ordinary layout, so none should need the general path.
        assert!(assert_agree(raw), "{}", String::from_utf8_lossy(raw));
    }
    // Wrapped versions of the single-message files, too.
    for name in NAUTILUS {
        let bare = String::from_utf8(nautilus(name)).unwrap();
        let wrapped = format!(r#"{{"stream":"x@y","data":{bare}}}"#);
        assert!(assert_agree(wrapped.as_bytes()), "{name}");
    }
}

#[test]
fn replies_and_odd_layouts_go_to_the_general_path() {
    for raw in [
        r#"{"result":null,"id":1}"#,
        r#"{"code":2,"msg":"Invalid request","id":1}"#,
        r#"{"lastUpdateId":160,"bids":[],"asks":[]}"#,
        r#"[{"e":"24hrTicker"}]"#,
        r#"{"data":{"e":"trade"},"stream":"x"}"#,
        r#"{"stream":"x","data":{"e":"depthUpdate"},"extra":1}"#,
        r#"{"u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1","id":5}"#,
        r#"{"e":5}"#,
        "{}",
        "42",
        "{\"e\":\"trade\"",
    ] {
        assert!(!assert_agree(raw.as_bytes()), "{raw}");
    }
    let spot_quote = r#"{"u":1,"s":"BTCUSDT","b":"1.5","B":"1","a":"2","A":"1"}"#;
    assert!(assert_agree(spot_quote.as_bytes()));
}

/// The kline fixture with `edit` applied to its text (first occurrence).
fn kline_with(from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(nautilus("kline_stream_closed")).unwrap();
    assert!(text.contains(from), "{from}");
    text.replacen(from, to, 1).into_bytes()
}

#[test]
fn values_the_value_parser_refuses_are_refused_in_skipped_fields_too() {
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let unknown_field = |value: &str| kline_with(r#""E": "#, &format!(r#""zz": {value}, "E": "#));
    for value in [
        "1e400",
        "-1e400",
        &"9".repeat(400),
        r#""\ud800""#,
        "\"a\u{1}b\"",
        &deep,
        "[1,]",
        "tru",
    ] {
        let raw = unknown_field(value);
        assert_agree(&raw);
        let (result, _) = general(&raw, Exchange::Binance);
        assert!(
            matches!(result, Err(ParseError::Json(_))),
            "{value}: {result:?}"
        );
    }
    // Inside `k` too.
    assert_agree(&kline_with(r#""B": "123456""#, r#""B": 1e999"#));
    // The same depth as the limit is fine on both paths.
    let shallow = format!("{}1{}", "[".repeat(100), "]".repeat(100));
    assert!(assert_agree(&unknown_field(&shallow)));
}

#[test]
fn keys_that_steer_the_general_path_are_left_to_it() {
    for (from, to) in [
        // A second `e`: the general path reads the last one.
        (r#""s": "BTCUSDT","#, r#""s": "BTCUSDT", "e": "trade","#),
        // `stream` in a bare payload makes it a wrapper for the general path.
        (r#""s": "BTCUSDT","#, r#""s": "BTCUSDT", "stream": "x","#),
        // Duplicate keys: the general path keeps the last.
        (r#""E": 1638747660000,"#, r#""E": 1, "E": 1638747660000,"#),
        (r#""o": "0.0010","#, r#""o": "5", "o": "0.0010","#),
        // Escapes: the general path decodes them, a borrowed `&str` cannot.
        (r#""s": "BTCUSDT","#, r#""s": "BTC\u0055SDT","#),
        (r#""e": "kline""#, r#""e": "kl\u0069ne""#),
    ] {
        let raw = kline_with(from, to);
        assert!(!assert_agree(&raw), "{to}");
    }
    // Key order: `e` not first.
    let text = String::from_utf8(kline_with(r#""e": "kline","#, "")).unwrap();
    let moved = text.replacen(r#""s": "BTCUSDT","#, r#""s": "BTCUSDT", "e": "kline","#, 1);
    assert!(!assert_agree(moved.as_bytes()));
    assert!(full(moved.as_bytes(), Exchange::Binance).0.is_ok());
}

#[test]
fn field_errors_are_the_same_on_both_paths() {
    for (from, to) in [
        (r#""o": "0.0010""#, r#""o": "abc""#),
        (r#""h": "0.0025""#, r#""h": "0.0015""#),
        (r#""x": true"#, r#""x": "yes""#),
        (r#""n": 100"#, r#""n": -1"#),
        (r#""T": 1638747719999"#, r#""T": 1"#),
        (r#""s": "BTCUSDT","#, r#""s": "ETHUSDT","#),
    ] {
        let raw = kline_with(from, to);
        assert_agree(&raw);
        let (result, _) = full(&raw, Exchange::Binance);
        assert!(
            matches!(result, Err(ParseError::Field { .. })),
            "{to}: {result:?}"
        );
    }
}

/// Byte edits of `base`: replace, insert or delete one byte at a place.
fn mutate(base: &[u8], edits: &[(prop::sample::Index, u8, u8)]) -> Vec<u8> {
    let mut bytes = base.to_vec();
    for (at, byte, op) in edits {
        let i = at.index(bytes.len().max(1));
        match (op, i < bytes.len()) {
            (0, true) => bytes[i] = *byte,
            (1, _) => bytes.insert(i.min(bytes.len()), *byte),
            (_, true) => {
                bytes.remove(i);
            }
            _ => {}
        }
    }
    bytes
}

/// JSON-ish bytes that tend to hit the differences between the paths.
const TOKENS: &[&str] = &[
    "1e400",
    "\\u0041",
    "\\ud800",
    "\"e\":",
    "\"stream\":",
    "\"data\":",
    ",",
    "}",
    "{",
    "[",
    "]",
    "null",
    "-0",
    "1.5",
    "\"u\":1,",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn paths_agree_on_byte_edits_of_real_messages(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..6),
    ) {
        let messages = all_fixture_messages();
        let base = which.get(messages);
        assert_agree(&mutate(base, &edits));
    }

    #[test]
    fn paths_agree_on_token_insertions(
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        token in prop::sample::select(TOKENS),
    ) {
        let messages = all_fixture_messages();
        let base = which.get(messages);
        let i = at.index(base.len());
        let mut bytes = base[..i].to_vec();
        bytes.extend_from_slice(token.as_bytes());
        bytes.extend_from_slice(&base[i..]);
        assert_agree(&bytes);
    }
}
