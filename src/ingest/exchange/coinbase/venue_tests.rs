//! Tests of the Coinbase venue: the exact subscribe frames, chunking, `check`'s refusals, the
//! keepalive and the limits.

use super::*;
use crate::ingest::input::fixture;

fn stream(symbol: &str, channel: &str) -> Stream {
    Stream {
        symbol: symbol.to_string(),
        channel: Channel::try_from(channel.to_string()).unwrap(),
    }
}

#[test]
fn subscribe_sends_heartbeats_then_one_message_per_channel() {
    let streams = [
        stream("BTC-USD", "kline_5m"),
        stream("BTC-USD", "trades"),
        stream("ETH-USD", "kline_5m"),
        stream("ETH-USD", "quotes"),
        stream("BTC-USD", "kline_5m"),
    ];
    let frames = CoinbaseVenue.subscribe(&streams, 7);
    assert_eq!(
        frames,
        [
            r#"{"type":"subscribe","channel":"heartbeats"}"#,
            r#"{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"candles"}"#,
            r#"{"type":"subscribe","product_ids":["BTC-USD"],"channel":"market_trades"}"#,
            r#"{"type":"subscribe","product_ids":["ETH-USD"],"channel":"ticker"}"#,
        ]
    );
    for frame in &frames {
        let value: Value = serde_json::from_str(frame).unwrap();
        assert_eq!(value["type"], "subscribe");
    }
    assert_eq!(
        CoinbaseVenue.subscribe(&[], 1),
        [r#"{"type":"subscribe","channel":"heartbeats"}"#]
    );
}

#[test]
fn subscribe_chunks_products_at_the_per_request_limit() {
    let per_request = CoinbaseVenue.limits().streams_per_request;
    let streams: Vec<Stream> = (0..per_request * 2 + 1)
        .map(|i| stream(&format!("C{i}-USD"), "trades"))
        .collect();
    let frames = CoinbaseVenue.subscribe(&streams, 0);
    assert_eq!(frames.len(), 4);
    let counts: Vec<usize> = frames[1..]
        .iter()
        .map(|f| {
            let value: Value = serde_json::from_str(f).unwrap();
            assert_eq!(value["channel"], "market_trades");
            value["product_ids"].as_array().unwrap().len()
        })
        .collect();
    assert_eq!(counts, [per_request, per_request, 1]);
    assert!(frames[3].contains(&format!("\"C{}-USD\"", per_request * 2)));
}

#[test]
fn product_ids_are_escaped() {
    let frames = CoinbaseVenue.subscribe(&[stream("A\"B-USD", "trades")], 0);
    assert_eq!(
        frames[1],
        r#"{"type":"subscribe","product_ids":["A\"B-USD"],"channel":"market_trades"}"#
    );
}

#[test]
fn check_refuses_what_coinbase_does_not_stream() {
    for ok in ["kline_5m", "kline_300s", "trades", "quotes"] {
        assert_eq!(CoinbaseVenue.check(&stream("BTC-USD", ok)), Ok(()), "{ok}");
    }
    let minute = CoinbaseVenue
        .check(&stream("BTC-USD", "kline_1m"))
        .unwrap_err();
    assert!(
        minute.contains("5-minute only") && minute.contains("kline_1m"),
        "{minute}"
    );
    let hour = CoinbaseVenue
        .check(&stream("BTC-USD", "kline_1h"))
        .unwrap_err();
    assert!(hour.contains("5-minute only"), "{hour}");
    let agg = CoinbaseVenue
        .check(&stream("BTC-USD", "agg_trades"))
        .unwrap_err();
    assert!(
        agg.contains("aggregated") && agg.contains("\"trades\""),
        "{agg}"
    );
    for bad in ["BTCUSD", "btc-usd", "BTC/USD", "BTC USD", "BTC-"] {
        let error = CoinbaseVenue.check(&stream(bad, "trades")).unwrap_err();
        assert!(error.contains("coinbase product id"), "{bad}: {error}");
    }
}

#[test]
fn coinbase_rules() {
    let venue = CoinbaseVenue;
    assert_eq!(venue.exchange(), Exchange::Coinbase);
    assert_eq!(venue.default_url(), "wss://advanced-trade-ws.coinbase.com");
    assert_eq!(venue.path(&stream("BTC-USD", "trades")), "");
    // Heartbeats keep the connection open; Coinbase asks for no client ping.
    assert_eq!(venue.keepalive(), None);
    assert!(!venue.marks_closed_candles());
    let limits = venue.limits();
    assert_eq!(limits.max_requests_per_s, 4.0);
    assert_eq!(limits.lifetime, None);
    assert_eq!(limits.max_frame_bytes, 10 * 1024 * 1024);
    assert!(limits.streams_per_request <= limits.max_streams);
}

#[test]
fn parse_goes_through_the_venue() {
    let raw = std::fs::read(fixture("ws/coinbase/ws_ticker.json")).unwrap();
    let mut out = Vec::new();
    let venue: &dyn Venue = &CoinbaseVenue;
    assert_eq!(venue.parse(&raw, 5, &mut out), Ok(Frame::Events(1)));
    assert_eq!(out[0].ts_recv_ns, 5);
}
