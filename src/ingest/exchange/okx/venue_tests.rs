//! Tests of the OKX protocol rules: endpoints, exact subscribe frames and their chunking,
//! keepalive, stream checks and the limits' arithmetic.

use super::*;

fn stream(symbol: &str, channel: &str) -> Stream {
    Stream {
        symbol: symbol.to_string(),
        channel: Channel::try_from(channel.to_string()).unwrap(),
    }
}

#[test]
fn candles_go_to_the_business_endpoint_and_the_rest_to_public() {
    assert_eq!(
        OkxVenue.path(&stream("BTC-USDT", "kline_1m")),
        "/ws/v5/business"
    );
    assert_eq!(
        OkxVenue.path(&stream("BTC-USDT", "trades")),
        "/ws/v5/public"
    );
    assert_eq!(
        OkxVenue.path(&stream("BTC-USDT", "quotes")),
        "/ws/v5/public"
    );
    assert_eq!(OkxVenue.default_url(), "wss://ws.okx.com:8443");
}

#[test]
fn subscribe_frames_are_exact_json() {
    let candles = [
        stream("BTC-USDT", "kline_1m"),
        stream("ETH-USDT-SWAP", "kline_1d"),
    ];
    assert_eq!(
        OkxVenue.subscribe(&candles, 1),
        [concat!(
            r#"{"op":"subscribe","args":[{"channel":"candle1m","instId":"BTC-USDT"},"#,
            r#"{"channel":"candle1Dutc","instId":"ETH-USDT-SWAP"}]}"#
        )]
    );
    let public = [stream("BTC-USDT", "trades"), stream("BTC-USDT", "quotes")];
    assert_eq!(
        OkxVenue.subscribe(&public, 1),
        [concat!(
            r#"{"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"},"#,
            r#"{"channel":"bbo-tbt","instId":"BTC-USDT"}]}"#
        )]
    );
}

#[test]
fn subscribe_chunks_a_hundred_channels_per_request() {
    let streams: Vec<Stream> = (0..250)
        .map(|i| stream(&format!("C{i}-USDT"), "trades"))
        .collect();
    let frames = OkxVenue.subscribe(&streams, 1);
    let sizes: Vec<usize> = frames
        .iter()
        .map(|f| {
            let value: Value = serde_json::from_str(f).unwrap();
            assert_eq!(value["op"], "subscribe");
            value["args"].as_array().unwrap().len()
        })
        .collect();
    assert_eq!(sizes, [100, 100, 50]);
    let last: Value = serde_json::from_str(&frames[2]).unwrap();
    assert_eq!(last["args"][49]["instId"], "C249-USDT");
    assert_eq!(OkxVenue.subscribe(&[], 1), Vec::<String>::new());
}

#[test]
fn keepalive_is_the_text_ping_every_20_seconds() {
    let keepalive = OkxVenue.keepalive().unwrap();
    assert_eq!(keepalive.message, "ping");
    // OKX drops a connection after 30 s without data.
    assert!(keepalive.every < Duration::from_secs(30));
    let mut out = Vec::new();
    assert_eq!(OkxVenue.parse(b"pong", 1, &mut out), Ok(Frame::Heartbeat));
}

#[test]
fn config_intervals_map_to_utc_aligned_bars() {
    for (config, bar) in [
        ("kline_1s", "1s"),
        ("kline_1m", "1m"),
        ("kline_3m", "3m"),
        ("kline_5m", "5m"),
        ("kline_15m", "15m"),
        ("kline_30m", "30m"),
        ("kline_1h", "1H"),
        ("kline_2h", "2H"),
        ("kline_4h", "4H"),
        ("kline_6h", "6Hutc"),
        ("kline_12h", "12Hutc"),
        ("kline_1d", "1Dutc"),
        ("kline_2d", "2Dutc"),
        ("kline_3d", "3Dutc"),
        ("kline_5d", "5Dutc"),
        ("kline_7d", "1Wutc"),
    ] {
        let s = stream("BTC-USDT", config);
        assert_eq!(OkxVenue.check(&s), Ok(()), "{config}");
        assert_eq!(channel(&s), Some(format!("candle{bar}")));
    }
    // Every Hong Kong-aligned name is read with the length of its UTC twin.
    for (hk, utc) in [("6H", "6Hutc"), ("1D", "1Dutc"), ("1W", "1Wutc")] {
        assert_eq!(bar_seconds(hk), bar_seconds(utc));
    }
}

#[test]
fn check_refuses_what_okx_does_not_offer() {
    for (symbol, channel, needle) in [
        ("BTC-USDT", "agg_trades", "no aggregated-trade stream"),
        ("BTC-USDT", "kline_2m", "no kline_2m candles"),
        ("BTC-USDT", "kline_8h", "no kline_8h candles"),
        ("BTC-USDT", "kline_30d", "no kline_30d candles"),
        ("btc-usdt", "trades", "A-Z, 0-9 and '-'"),
        ("BTC/USDT", "trades", "A-Z, 0-9 and '-'"),
        ("", "trades", "1-64"),
        ("BTC--USDT", "trades", "empty part"),
    ] {
        let error = OkxVenue.check(&stream(symbol, channel)).unwrap_err();
        assert!(error.contains(needle), "{symbol} {channel}: {error}");
    }
    assert_eq!(channel(&stream("BTC-USDT", "agg_trades")), None);
}

#[test]
fn limits_keep_requests_far_below_64_kb() {
    let limits = OkxVenue.limits();
    assert_eq!(limits.lifetime, None);
    assert!((limits.max_requests_per_s * 3_600.0 - 480.0).abs() < 1e-9);
    let longest = "A".repeat(64);
    let streams = vec![stream(&longest, "kline_12h"); limits.streams_per_request];
    let frames = OkxVenue.subscribe(&streams, 1);
    assert_eq!(frames.len(), 1);
    assert!(frames[0].len() < 16 * 1024, "{}", frames[0].len());
    assert!(
        limits
            .max_streams
            .is_multiple_of(limits.streams_per_request)
    );
    assert_eq!(OkxVenue.exchange(), Exchange::Okx);
    assert!(OkxVenue.marks_closed_candles());
}
