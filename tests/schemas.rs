//! Produced market events validate against `schemas/market_event.schema.json`, and the schema is
//! strict enough to reject what the engine would never emit. (Signals are validated in
//! `end_to_end.rs` and `cli.rs`, where a model produces them.)

mod common;

use common::*;
use signal_engine::event::{EventKind, Exchange, MarketEvent, Side, Symbol};

#[test]
fn replayed_kline_events_match_the_schema() {
    let schema = schema("market_event.schema.json");
    let events = read_events(&[fixture("klines/sample")]);
    assert!(events.len() >= 600);
    for ev in &events {
        assert_valid(&schema, &serde_json::to_value(ev).unwrap());
    }
}

#[test]
fn trade_and_quote_events_match_and_bad_ones_do_not() {
    let schema = schema("market_event.schema.json");
    let sym = Symbol::new("btcusdt");
    let trade = MarketEvent {
        exchange: Exchange::Binance,
        symbol: sym.clone(),
        ts_event_ns: 1,
        ts_recv_ns: 2,
        kind: EventKind::Trade {
            price: 1.5,
            qty: 2.0,
            side: Side::Sell,
            id: 7,
        },
    };
    let quote = MarketEvent {
        kind: EventKind::Quote {
            bid: 1.0,
            bid_qty: 3.0,
            ask: 1.1,
            ask_qty: 4.0,
        },
        ..trade.clone()
    };
    for ev in [&trade, &quote] {
        let v = serde_json::to_value(ev).unwrap();
        assert_valid(&schema, &v);
        let back: MarketEvent = serde_json::from_value(v).unwrap();
        assert_eq!(&back, ev);
    }
    let mut bad = serde_json::to_value(&trade).unwrap();
    bad["kind"]["price"] = serde_json::json!(-1.0);
    assert!(!schema.is_valid(&bad));
    let mut extra = serde_json::to_value(&quote).unwrap();
    extra["surprise"] = serde_json::json!(1);
    assert!(!schema.is_valid(&extra));
}

#[test]
fn signal_schema_rejects_out_of_range_probability() {
    let schema = schema("signal.schema.json");
    let ok = serde_json::json!({
        "schema_version": 1, "signal_id": "binance_futures:LINKUSDT:1772323199999:v1", "exchange": "binance_futures",
        "symbol": "LINKUSDT", "bar_close_time_ms": 1772323199999i64, "emitted_at_ms": 1772323199999i64,
        "model_version": "v1", "p_profitable": 0.7, "expected_return_bps": 3.5, "threshold": 0.5,
        "decision": "long", "features_valid": true, "feature_age_ms": 0, "latency_us": 120
    });
    assert_valid(&schema, &ok);
    let mut bad = ok.clone();
    bad["p_profitable"] = serde_json::json!(1.2);
    assert!(!schema.is_valid(&bad));
}
