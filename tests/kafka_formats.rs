//! What an input topic may carry: malformed messages go to the dead-letter topic (whole, the
//! error in a header) while the engine goes on; Binance's raw kline JSON gives the same signals
//! as the kline file it came from. Needs the broker `scripts/test.sh` starts.
#![allow(clippy::disallowed_methods)] // tests wait on real processes with wall-clock deadlines

mod common;

use common::kafka::{self, Engine, EngineSpec};
use rdkafka::Message;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use signal_engine::event::{EventKind, MarketEvent};
use std::collections::BTreeMap;
use std::time::Duration;

/// Produces `values` in order to partition 0 of a new one-partition topic.
fn produce(brokers: &str, topic: &str, values: &[(String, Option<Vec<u8>>)]) {
    let cfg = signal_engine::config::KafkaConfig {
        brokers: brokers.to_string(),
        ..Default::default()
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(signal_engine::ingest::kafka::client::create_topics(
        &cfg,
        &[topic],
        1,
    ))
    .unwrap();
    let p: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("batch.num.messages", "1") // tansu 0.6.0 cannot fetch from inside a batch
        .create()
        .unwrap();
    for (key, value) in values {
        let mut rec = BaseRecord::<str, [u8]>::to(topic)
            .key(key.as_str())
            .partition(0);
        if let Some(v) = value {
            rec = rec.payload(v.as_slice());
        }
        p.send(rec).map_err(|(e, _)| e).unwrap();
        p.poll(Duration::ZERO);
    }
    p.flush(Duration::from_secs(30)).unwrap();
}

fn demo_events(symbol: &str) -> Vec<MarketEvent> {
    common::read_events(&kafka::demo_files(&[symbol]))
}

#[test]
fn malformed_messages_are_dead_lettered_and_the_engine_goes_on() {
    let Some(env) = kafka::env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let bad: [(usize, Option<&[u8]>); 5] = [
        (0, Some(b"not json at all")),
        (100, Some(br#"{"exchange":"binance_futures","symbol":"LINKUSDT","ts_event_ns":1,"ts_recv_ns":1,"kind":{"type":"trade","price":-1.0,"qty":1.0,"side":"buy","id":1}}"#)),
        (500, Some(br#"{"exchange":"binance_futures","symbol":"LINK"#)),
        (900, None),
        (1439, Some(br#"{"exchange":"nasdaq","symbol":"LINKUSDT","ts_event_ns":1,"ts_recv_ns":1,"kind":{"type":"trade","price":1.0,"qty":1.0,"side":"buy","id":1}}"#)),
    ];
    let mut values = Vec::new();
    let mut bad_offsets = BTreeMap::new();
    for (i, ev) in demo_events("LINK").iter().enumerate() {
        for (at, raw) in bad.iter().filter(|(at, _)| *at == i) {
            bad_offsets.insert(values.len() as i64, (*at, raw.map(<[u8]>::to_vec)));
            values.push(("LINKUSDT".to_string(), raw.map(<[u8]>::to_vec)));
        }
        values.push((
            "LINKUSDT".to_string(),
            Some(serde_json::to_vec(ev).unwrap()),
        ));
    }
    let topic = kafka::unique("dlq-in");
    produce(&env.brokers, &topic, &values);
    let spec = EngineSpec::new(&env.brokers, &topic, "dlq");
    let summary = Engine::spawn(&spec, dir.path(), "engine").wait(Duration::from_secs(240));
    assert_eq!(summary["kafka_source"]["malformed"], 5, "{summary}");
    assert_eq!(summary["kafka_source"]["dead_lettered"], 5);

    let expected = kafka::replay_expected(&kafka::demo_files(&["LINK"]), dir.path());
    let got = kafka::consume(&env, &env.brokers, &spec.signals, 5.0);
    assert_eq!(
        kafka::check_against_replay(&got, &expected, 0.0).duplicates,
        0
    );
    assert_eq!(got.len(), expected.len(), "the bad messages cost no signal");

    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &env.brokers)
        .set("group.id", kafka::unique("dlq-reader"))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    c.subscribe(&[&spec.dead_letters]).unwrap();
    let mut letters = BTreeMap::new();
    let t0 = std::time::Instant::now();
    while letters.len() < bad.len() && t0.elapsed() < Duration::from_secs(60) {
        let Some(m) = c.poll(Duration::from_millis(500)) else {
            continue;
        };
        let m = m.unwrap();
        let h: BTreeMap<String, String> = m
            .headers()
            .map(|hs| {
                hs.iter()
                    .map(|h| {
                        (
                            h.key.to_string(),
                            String::from_utf8_lossy(h.value.unwrap_or_default()).into(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(h["source.topic"], topic);
        assert_eq!(m.key(), Some(&b"LINKUSDT"[..]));
        let offset: i64 = h["source.offset"].parse().unwrap();
        letters.insert(
            offset,
            (h["error"].clone(), m.payload().map(<[u8]>::to_vec)),
        );
    }
    assert_eq!(letters.len(), bad.len(), "dead letters: {letters:?}");
    for (offset, (at, raw)) in &bad_offsets {
        let (error, payload) = &letters[offset];
        assert_eq!(
            payload, raw,
            "the letter at {offset} (event {at}) holds the message whole"
        );
        assert!(!error.is_empty());
    }
    let errors: Vec<&str> = letters.values().map(|(e, _)| e.as_str()).collect();
    assert!(errors[1].contains("price"), "{errors:?}");
    assert!(errors[3].contains("empty"), "{errors:?}");
    assert!(errors[4].contains("nasdaq"), "{errors:?}");
}

/// A bar as Binance's kline stream sends it (closed), optionally in the combined wrapper.
fn binance_kline(ev: &MarketEvent, wrapped: bool) -> Vec<u8> {
    let EventKind::Bar(b) = &ev.kind else {
        panic!("a bar")
    };
    let s = ev.symbol.as_str();
    let data = serde_json::json!({
        "e": "kline", "E": b.close_time_ms + 3, "s": s,
        "k": {
            "t": b.open_time_ms, "T": b.close_time_ms, "s": s, "i": "1m", "f": 1, "L": 2,
            "o": b.open.to_string(), "c": b.close.to_string(), "h": b.high.to_string(),
            "l": b.low.to_string(), "v": b.volume.to_string(), "n": b.trades, "x": true,
            "q": b.quote_volume.to_string(), "V": b.taker_buy_volume.to_string(),
            "Q": "0", "B": "0"
        }
    });
    let v = if wrapped {
        serde_json::json!({"stream": format!("{}@kline_1m", s.to_lowercase()), "data": data})
    } else {
        data
    };
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn binance_raw_klines_give_the_kline_files_signals() {
    let Some(env) = kafka::env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut values = vec![(
        "LINKUSDT".to_string(),
        Some(br#"{"result":null,"id":1}"#.to_vec()),
    )];
    for (i, ev) in demo_events("LINK").iter().enumerate() {
        values.push(("LINKUSDT".to_string(), Some(binance_kline(ev, i % 2 == 0))));
        if i % 100 == 0 {
            let depth = br#"{"stream":"linkusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"T":1,"s":"LINKUSDT","U":1,"u":2,"pu":0,"b":[],"a":[]}}"#;
            values.push(("LINKUSDT".to_string(), Some(depth.to_vec())));
        }
    }
    let topic = kafka::unique("binance-in");
    produce(&env.brokers, &topic, &values);
    let mut spec = EngineSpec::new(&env.brokers, &topic, "binance");
    spec.format = "binance";
    let summary = Engine::spawn(&spec, dir.path(), "engine").wait(Duration::from_secs(240));
    assert_eq!(summary["kafka_source"]["events"], 1440, "{summary}");
    assert_eq!(
        summary["kafka_source"]["ignored"],
        1 + 15,
        "reply + depth updates"
    );
    assert_eq!(summary["kafka_source"]["malformed"], 0);

    let expected = kafka::replay_expected(&kafka::demo_files(&["LINK"]), dir.path());
    let got = kafka::consume(&env, &env.brokers, &spec.signals, 5.0);
    assert_eq!(
        kafka::check_against_replay(&got, &expected, 0.0).duplicates,
        0
    );
    assert_eq!(got.len(), expected.len());
}
