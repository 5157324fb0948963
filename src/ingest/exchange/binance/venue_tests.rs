//! The venue's stream names, subscribe requests, routing and limits against the rules written
//! in the module doc.

use super::*;
use serde_json::{Value, json};

fn stream(symbol: &str, channel: &str) -> Stream {
    Stream {
        symbol: symbol.into(),
        channel: Channel::try_from(channel.to_string()).unwrap(),
    }
}

#[test]
fn stream_names_follow_binance_spelling() {
    let spot = BinanceVenue::spot();
    for (symbol, channel, name) in [
        ("BTCUSDT", "kline_1m", "btcusdt@kline_1m"),
        ("btcusdt", "kline_1s", "btcusdt@kline_1s"),
        ("ETHUSDT", "kline_15m", "ethusdt@kline_15m"),
        ("ETHUSDT", "kline_4h", "ethusdt@kline_4h"),
        ("ETHUSDT", "kline_12h", "ethusdt@kline_12h"),
        ("ETHUSDT", "kline_3d", "ethusdt@kline_3d"),
        ("ETHUSDT", "kline_7d", "ethusdt@kline_1w"),
        ("BNBBTC", "agg_trades", "bnbbtc@aggTrade"),
        ("BNBBTC", "trades", "bnbbtc@trade"),
        ("BNBBTC", "quotes", "bnbbtc@bookTicker"),
    ] {
        let s = stream(symbol, channel);
        assert_eq!(spot.stream_name(&s).unwrap(), name);
        assert_eq!(spot.check(&s), Ok(()));
    }
    let futures = BinanceVenue::futures();
    let s = stream("BTCUSDT", "kline_1h");
    assert_eq!(futures.stream_name(&s).unwrap(), "btcusdt@kline_1h");
}

#[test]
fn check_refuses_what_binance_does_not_offer() {
    let spot = BinanceVenue::spot();
    let futures = BinanceVenue::futures();
    for (venue, symbol, channel, needle) in [
        (
            spot,
            "BTCUSDT",
            "kline_2m",
            "kline_2m is not a Binance kline interval",
        ),
        (spot, "BTCUSDT", "kline_10s", "kline_10s"),
        (futures, "BTCUSDT", "kline_1s", "(one of kline_1m"),
        (futures, "BTCUSDT", "trades", "use \"agg_trades\""),
        (spot, "BTC-USDT", "trades", "not a Binance symbol"),
        (spot, "", "quotes", "not a Binance symbol"),
        (spot, "BTC USDT", "quotes", "not a Binance symbol"),
        (spot, &"A".repeat(33), "quotes", "not a Binance symbol"),
    ] {
        let error = venue.check(&stream(symbol, channel)).unwrap_err();
        assert!(error.contains(needle), "{error:?} lacks {needle:?}");
        assert!(error.starts_with(venue.exchange().as_str()), "{error}");
    }
    assert!(
        spot.check(&stream("BTC_", "quotes"))
            .unwrap_err()
            .contains("empty part")
    );
    let spot_1s = spot.check(&stream("BTCUSDT", "kline_2m")).unwrap_err();
    assert!(spot_1s.contains("kline_1s, kline_1m"), "{spot_1s}");
}

#[test]
fn subscribe_chunks_streams_into_numbered_requests() {
    let venue = BinanceVenue::spot();
    let streams: Vec<Stream> = (0..450)
        .map(|i| stream(&format!("SYM{i}USDT"), "kline_1m"))
        .collect();
    let requests = venue.subscribe(&streams, 7);
    assert_eq!(requests.len(), 3);
    let mut names = Vec::new();
    for (request, id) in requests.iter().zip(7..) {
        assert!(
            request.starts_with(r#"{"method":"SUBSCRIBE","params":["#),
            "{request}"
        );
        let value: Value = serde_json::from_str(request).unwrap();
        assert_eq!(value["method"], "SUBSCRIBE");
        assert_eq!(value["id"], json!(id));
        let params = value["params"].as_array().unwrap();
        assert!(params.len() <= venue.limits().streams_per_request);
        names.extend(params.iter().map(|p| p.as_str().unwrap().to_string()));
    }
    let want: Vec<String> = (0..450).map(|i| format!("sym{i}usdt@kline_1m")).collect();
    assert_eq!(names, want);
    let one = venue.subscribe(&[stream("BTCUSDT", "agg_trades")], 1);
    assert_eq!(
        one,
        [r#"{"method":"SUBSCRIBE","params":["btcusdt@aggTrade"],"id":1}"#]
    );
    assert!(venue.subscribe(&[], 1).is_empty());
    // A stream `check` refuses is left out rather than sent.
    let futures = BinanceVenue::futures().subscribe(&[stream("BTCUSDT", "trades")], 1);
    assert!(futures.is_empty());
}

#[test]
fn futures_streams_are_routed_by_path() {
    let futures = BinanceVenue::futures();
    assert_eq!(futures.default_url(), "wss://fstream.binance.com");
    assert_eq!(futures.path(&stream("BTCUSDT", "quotes")), "/public/stream");
    for channel in ["kline_1m", "agg_trades"] {
        assert_eq!(futures.path(&stream("BTCUSDT", channel)), "/market/stream");
    }
    let spot = BinanceVenue::spot();
    assert_eq!(spot.default_url(), "wss://stream.binance.com:9443/stream");
    assert_eq!(spot.path(&stream("BTCUSDT", "quotes")), "");
}

#[test]
fn limits_and_keepalive_follow_the_docs() {
    let spot = BinanceVenue::spot();
    let futures = BinanceVenue::futures();
    assert_eq!(spot.exchange(), Exchange::Binance);
    assert_eq!(futures.exchange(), Exchange::BinanceFutures);
    let (s, f) = (spot.limits(), futures.limits());
    assert_eq!((s.max_streams, f.max_streams), (1_024, 200));
    assert!(s.max_requests_per_s < 5.0 && f.max_requests_per_s < 10.0);
    assert_eq!(s.lifetime, Some(Duration::from_secs(86_400)));
    assert_eq!(f.lifetime, s.lifetime);
    assert_eq!(spot.keepalive(), None);
    assert_eq!(futures.keepalive(), None);
    assert!(spot.marks_closed_candles());
}

#[test]
fn parse_reads_messages_for_its_market() {
    let kline = std::fs::read(crate::ingest::input::fixture(
        "ws/binance/kline_stream_closed.json",
    ))
    .unwrap();
    for venue in [BinanceVenue::spot(), BinanceVenue::futures()] {
        let mut out = Vec::new();
        assert_eq!(venue.parse(&kline, 5, &mut out), Ok(Frame::Events(1)));
        assert_eq!(out[0].exchange, venue.exchange());
        assert_eq!(out[0].ts_recv_ns, 5);
        let reply = venue.parse(br#"{"result":null,"id":1}"#, 5, &mut out);
        assert_eq!(reply, Ok(Frame::Ack));
        assert_eq!(out.len(), 1);
    }
}
