//! Tests of the Bybit protocol rules: exact subscribe frames and their chunking, keepalive,
//! stream checks and the limits' arithmetic.

use super::*;

fn stream(symbol: &str, channel: &str) -> Stream {
    Stream {
        symbol: symbol.to_string(),
        channel: Channel::try_from(channel.to_string()).unwrap(),
    }
}

#[test]
fn subscribe_frames_are_exact_json() {
    let streams = [
        stream("BTCUSDT", "kline_1m"),
        stream("BTCUSDT", "trades"),
        stream("ETHUSDT", "quotes"),
        stream("ETHUSDT", "kline_1d"),
        stream("ETHUSDT", "kline_4h"),
    ];
    let frames = BybitVenue.subscribe(&streams, 7);
    assert_eq!(
        frames,
        [concat!(
            r#"{"op":"subscribe","req_id":"7","args":["kline.1.BTCUSDT","publicTrade.BTCUSDT","#,
            r#""orderbook.1.ETHUSDT","kline.D.ETHUSDT","kline.240.ETHUSDT"]}"#
        )]
    );
    let value: Value = serde_json::from_str(&frames[0]).unwrap();
    assert_eq!(value["args"].as_array().unwrap().len(), 5);
}

#[test]
fn subscribe_chunks_ten_topics_per_request() {
    let streams: Vec<Stream> = (0..23)
        .map(|i| stream(&format!("COIN{i}USDT"), "trades"))
        .collect();
    let frames = BybitVenue.subscribe(&streams, 1);
    assert_eq!(frames.len(), 3);
    let mut all = Vec::new();
    for (frame, (id, n)) in frames.iter().zip([("1", 10), ("2", 10), ("3", 3)]) {
        let value: Value = serde_json::from_str(frame).unwrap();
        assert_eq!(value["op"], "subscribe");
        assert_eq!(value["req_id"], id);
        let args = value["args"].as_array().unwrap();
        assert_eq!(args.len(), n);
        all.extend(args.iter().map(|a| a.as_str().unwrap().to_string()));
    }
    let expected: Vec<String> = (0..23)
        .map(|i| format!("publicTrade.COIN{i}USDT"))
        .collect();
    assert_eq!(all, expected, "every topic once, in order");
    assert_eq!(BybitVenue.subscribe(&[], 1), Vec::<String>::new());
    // Ids wrap rather than overflow.
    let ids: Vec<Value> = BybitVenue
        .subscribe(&streams, u64::MAX)
        .iter()
        .map(|f| serde_json::from_str::<Value>(f).unwrap()["req_id"].clone())
        .collect();
    assert_eq!(ids, ["18446744073709551615", "0", "1"]);
}

#[test]
fn keepalive_is_a_json_ping_every_20_seconds() {
    let keepalive = BybitVenue.keepalive().unwrap();
    assert_eq!(keepalive.every, Duration::from_secs(20));
    assert_eq!(keepalive.message, r#"{"op":"ping"}"#);
}

#[test]
fn every_config_interval_bybit_offers_is_accepted() {
    for (config, name) in [
        ("kline_1m", "1"),
        ("kline_3m", "3"),
        ("kline_5m", "5"),
        ("kline_15m", "15"),
        ("kline_30m", "30"),
        ("kline_1h", "60"),
        ("kline_2h", "120"),
        ("kline_4h", "240"),
        ("kline_6h", "360"),
        ("kline_12h", "720"),
        ("kline_1d", "D"),
        ("kline_7d", "W"),
    ] {
        let s = stream("BTCUSDT", config);
        assert_eq!(BybitVenue.check(&s), Ok(()), "{config}");
        assert_eq!(topic(&s), Some(format!("kline.{name}.BTCUSDT")));
    }
}

#[test]
fn check_refuses_what_bybit_does_not_offer() {
    for (symbol, channel, needle) in [
        ("BTCUSDT", "agg_trades", "no aggregated-trade stream"),
        ("BTCUSDT", "kline_1s", "no kline_1s klines"),
        ("BTCUSDT", "kline_2m", "no kline_2m klines"),
        ("BTCUSDT", "kline_30d", "no kline_30d klines"),
        ("btcusdt", "trades", "A-Z, 0-9 and '-'"),
        ("BTC/USDT", "trades", "A-Z, 0-9 and '-'"),
        ("BTC.USDT", "trades", "A-Z, 0-9 and '-'"),
        ("", "trades", "must be 1-30"),
        ("BTC-", "trades", "empty part"),
    ] {
        let error = BybitVenue.check(&stream(symbol, channel)).unwrap_err();
        assert!(error.contains(needle), "{symbol} {channel}: {error}");
    }
    let long = "A".repeat(MAX_SYMBOL_LEN + 1);
    assert!(BybitVenue.check(&stream(&long, "trades")).is_err());
    assert_eq!(topic(&stream("BTCUSDT", "agg_trades")), None);
}

#[test]
fn limits_keep_a_full_connection_under_the_args_budget() {
    let limits = BybitVenue.limits();
    assert_eq!(limits.streams_per_request, 10);
    assert_eq!(limits.lifetime, None);
    let longest = "X".repeat(MAX_SYMBOL_LEN);
    let longest_topic = [
        stream(&longest, "quotes"),
        stream(&longest, "trades"),
        stream(&longest, "kline_12h"),
    ]
    .iter()
    .map(|s| topic(s).unwrap().len())
    .max()
    .unwrap();
    // Each topic costs its quotes and a comma in the args array.
    assert!(limits.max_streams * (longest_topic + 3) <= 21_000);
}

#[test]
fn venue_basics() {
    assert_eq!(BybitVenue.exchange(), Exchange::Bybit);
    assert_eq!(
        BybitVenue.default_url(),
        "wss://stream.bybit.com/v5/public/linear"
    );
    assert_eq!(BybitVenue.path(&stream("BTCUSDT", "kline_1m")), "");
    assert!(BybitVenue.marks_closed_candles());
    let mut out = Vec::new();
    let pong = br#"{"success":true,"ret_msg":"pong","conn_id":"x","op":"ping"}"#;
    assert_eq!(BybitVenue.parse(pong, 1, &mut out), Ok(Frame::Heartbeat));
}
