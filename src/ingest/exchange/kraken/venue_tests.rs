//! Tests of the Kraken venue: the exact subscribe frames, request numbering and chunking,
//! `check`'s refusals, the ping keepalive and the limits.

use super::*;
use crate::ingest::input::fixture;

fn stream(symbol: &str, channel: &str) -> Stream {
    Stream {
        symbol: symbol.to_string(),
        channel: Channel::try_from(channel.to_string()).unwrap(),
    }
}

#[test]
fn subscribe_sends_one_numbered_request_per_channel_and_interval() {
    let streams = [
        stream("BTC/USD", "kline_1m"),
        stream("BTC/USD", "trades"),
        stream("ETH/USD", "kline_1m"),
        stream("BTC/USD", "kline_4h"),
        stream("ETH/USD", "quotes"),
        stream("ETH/USD", "kline_1m"),
    ];
    let frames = KrakenVenue.subscribe(&streams, 7);
    assert_eq!(
        frames,
        [
            r#"{"method":"subscribe","params":{"channel":"ohlc","symbol":["BTC/USD","ETH/USD"],"interval":1},"req_id":7}"#,
            r#"{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD"]},"req_id":8}"#,
            r#"{"method":"subscribe","params":{"channel":"ohlc","symbol":["BTC/USD"],"interval":240},"req_id":9}"#,
            r#"{"method":"subscribe","params":{"channel":"ticker","symbol":["ETH/USD"],"event_trigger":"bbo"},"req_id":10}"#,
        ]
    );
    for frame in &frames {
        let value: Value = serde_json::from_str(frame).unwrap();
        assert_eq!(value["method"], "subscribe");
    }
    assert!(KrakenVenue.subscribe(&[], 1).is_empty());
    let last = KrakenVenue.subscribe(&[stream("BTC/USD", "trades")], u64::MAX);
    assert!(last[0].ends_with(&format!(r#""req_id":{}}}"#, u64::MAX)));
}

#[test]
fn subscribe_chunks_symbols_at_the_per_request_limit() {
    let per_request = KrakenVenue.limits().streams_per_request;
    let streams: Vec<Stream> = (0..per_request * 2 + 1)
        .map(|i| stream(&format!("C{i}/USD"), "kline_5m"))
        .collect();
    let frames = KrakenVenue.subscribe(&streams, 100);
    let parsed: Vec<Value> = frames
        .iter()
        .map(|f| serde_json::from_str(f).unwrap())
        .collect();
    let counts: Vec<usize> = parsed
        .iter()
        .map(|v| v["params"]["symbol"].as_array().unwrap().len())
        .collect();
    assert_eq!(counts, [per_request, per_request, 1]);
    let ids: Vec<u64> = parsed
        .iter()
        .map(|v| v["req_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [100, 101, 102]);
    assert!(parsed.iter().all(|v| v["params"]["interval"] == 5));
}

#[test]
fn check_refuses_what_kraken_does_not_stream() {
    for ok in [
        "kline_1m",
        "kline_5m",
        "kline_15m",
        "kline_30m",
        "kline_1h",
        "kline_4h",
        "kline_1d",
        "kline_7d",
        "kline_15d",
        "trades",
        "quotes",
    ] {
        assert_eq!(KrakenVenue.check(&stream("BTC/USD", ok)), Ok(()), "{ok}");
    }
    for bad in ["kline_3m", "kline_30s", "kline_2h", "kline_90s"] {
        let error = KrakenVenue.check(&stream("BTC/USD", bad)).unwrap_err();
        assert!(
            error.contains(bad) && error.contains("OHLC intervals"),
            "{error}"
        );
    }
    let agg = KrakenVenue
        .check(&stream("BTC/USD", "agg_trades"))
        .unwrap_err();
    assert!(
        agg.contains("aggregated") && agg.contains("\"trades\""),
        "{agg}"
    );
    for bad in ["BTCUSD", "BTC-USD", "btc/usd", "BTC/USD/X", "BTC/"] {
        let error = KrakenVenue.check(&stream(bad, "trades")).unwrap_err();
        assert!(error.contains("kraken pair"), "{bad}: {error}");
    }
    let xbt = KrakenVenue.check(&stream("XBT/USD", "trades")).unwrap_err();
    assert!(
        xbt.contains("v1 code XBT") && xbt.contains("spells it BTC"),
        "{xbt}"
    );
    let xdg = KrakenVenue.check(&stream("XDG/EUR", "trades")).unwrap_err();
    assert!(xdg.contains("DOGE"), "{xdg}");
    // A whole code, not a prefix.
    assert_eq!(KrakenVenue.check(&stream("XBTX/USD", "trades")), Ok(()));
}

#[test]
fn keepalive_is_a_kraken_ping() {
    let keepalive = KrakenVenue.keepalive().unwrap();
    assert_eq!(keepalive.every, Duration::from_secs(30));
    assert_eq!(keepalive.message, r#"{"method":"ping","req_id":0}"#);
    // Kraken's answer is a heartbeat to the parser.
    let pong = r#"{"method":"pong","req_id":0,"time_in":"2023-09-25T09:05:00.1Z","time_out":"2023-09-25T09:05:00.2Z"}"#;
    let mut out = Vec::new();
    assert_eq!(
        KrakenVenue.parse(pong.as_bytes(), 0, &mut out),
        Ok(Frame::Heartbeat)
    );
}

#[test]
fn kraken_rules() {
    let venue = KrakenVenue;
    assert_eq!(venue.exchange(), Exchange::Kraken);
    assert_eq!(venue.default_url(), "wss://ws.kraken.com/v2");
    assert_eq!(venue.path(&stream("BTC/USD", "trades")), "");
    assert!(!venue.marks_closed_candles());
    let limits = venue.limits();
    assert_eq!(limits.lifetime, None);
    assert_eq!(limits.max_frame_bytes, 4 * 1024 * 1024);
    assert!(limits.streams_per_request <= limits.max_streams);
    assert!(limits.max_requests_per_s > 0.0);
}

#[test]
fn parse_goes_through_the_venue() {
    let raw = std::fs::read(fixture("ws/kraken/ws_trade_update.json")).unwrap();
    let mut out = Vec::new();
    let venue: &dyn Venue = &KrakenVenue;
    assert_eq!(venue.parse(&raw, 5, &mut out), Ok(Frame::Events(2)));
    assert!(out.iter().all(|e| e.ts_recv_ns == 5));
}
