//! Bybit, OKX, Coinbase and Kraken through the supervisor, against a local websocket server that
//! answers each exchange's requests in its own dialect: acks to the subscribe messages, pongs
//! to the client's keepalive pings, and, like a real exchange, the data of what was subscribed
//! (recorded documentation messages from `tests/fixtures/ws/<exchange>/`). Each case also keeps
//! a quiet market open on keepalives alone, with a silence watchdog far shorter than the run, to
//! show heartbeats prevent flapping.
#![allow(clippy::disallowed_methods)] // runs are timed on the wall clock

mod common;

use common::ws_server::{ConnLog, Step, WsServer};
use serde_json::{Value, json};
use signal_engine::config::FeedConfig;
use signal_engine::event::{EventKind, Exchange, Lost, MarketEvent};
use signal_engine::ingest::exchange::supervisor::{FeedSnapshot, Supervisor};
use signal_engine::ingest::exchange::venue_for;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

fn fixture(rel: &str) -> String {
    std::fs::read_to_string(common::fixture(&format!("ws/{rel}"))).unwrap()
}

/// The events these messages hold, parsed directly, in a canonical order (connections on
/// different endpoints interleave freely).
fn expected(exchange: Exchange, messages: &[String]) -> Vec<String> {
    let venue = venue_for(exchange);
    let mut out = Vec::new();
    for m in messages {
        venue.parse(m.as_bytes(), 0, &mut out).unwrap();
    }
    canonical(&out)
}

/// Events without their receive time, sorted.
/// Events stamped at their receive time (an in-progress Kraken candle without a message time)
/// show `recv` instead of the time.
fn canonical(events: &[MarketEvent]) -> Vec<String> {
    let time = |e: &MarketEvent| match e.ts_event_ns == e.ts_recv_ns {
        true => "recv".to_string(),
        false => e.ts_event_ns.to_string(),
    };
    let mut v: Vec<String> = events
        .iter()
        .map(|e| format!("{} {} {} {:?}", e.exchange, e.symbol, time(e), e.kind))
        .collect();
    v.sort();
    v
}

/// Runs a feed for `run_for` against the server, then stops it.
async fn run_feed(config: &str, url: &str, run_for: Duration) -> (Vec<MarketEvent>, FeedSnapshot) {
    let mut cfg: FeedConfig = toml::from_str(&format!("url = \"{url}\"\n{config}")).unwrap();
    cfg.silence_timeout_ms = 600;
    let feed = cfg.spec();
    let (tx, mut rx) = mpsc::channel(4_096);
    let supervisor = Supervisor::start(&[feed], tx, None);
    let mut events = Vec::new();
    let until = tokio::time::Instant::now() + run_for;
    while let Ok(Some(ev)) = tokio::time::timeout_at(until, rx.recv()).await {
        events.push(ev);
    }
    let stats = supervisor.stop().await.unwrap().remove(0).1;
    (events, stats)
}

fn requests(log: &[ConnLog], needle: &str) -> usize {
    log.iter()
        .flat_map(|c| &c.requests)
        .filter(|(_, r)| r.contains(needle))
        .count()
}

/// The connection stayed up on keepalives alone: one connection per endpoint, no watchdog.
fn assert_no_flapping(server: &WsServer, stats: &FeedSnapshot, endpoints: usize) {
    assert_eq!(server.connections(), endpoints, "{stats:?}");
    assert_eq!(stats.watchdog_reconnects, 0, "{stats:?}");
    assert_eq!(stats.disconnects, 0, "{stats:?}");
}

#[tokio::test]
async fn bybit_subscribes_pings_and_delivers_its_messages() {
    // The documentation's trade example predates v5 (`trade.linear.*`); v5 names it
    // `publicTrade.<symbol>`, which is what the client subscribes.
    let trade = fixture("bybit/ws_public_trade.json")
        .replace("trade.linear.BTCUSDT", "publicTrade.BTCUSDT");
    let kline = fixture("bybit/ws_kline.json");
    let data = [kline.clone(), trade.clone()];
    let dialect = move |request: &str| -> Vec<String> {
        let r: Value = serde_json::from_str(request).unwrap();
        match r["op"].as_str() {
            Some("ping") => {
                vec![json!({"success":true,"ret_msg":"pong","conn_id":"t","op":"ping"}).to_string()]
            }
            Some("subscribe") => {
                let mut out = vec![json!({"success":true,"ret_msg":"","conn_id":"t","req_id":r["req_id"],"op":"subscribe"}).to_string()];
                for arg in r["args"].as_array().unwrap() {
                    let topic = arg.as_str().unwrap();
                    out.extend(
                        data.iter()
                            .filter(|m| m.contains(&format!("\"{topic}\"")))
                            .cloned(),
                    );
                }
                out
            }
            _ => vec![],
        }
    };
    let server = WsServer::start(dialect, vec![vec![]]).await;
    let config = "exchange = \"bybit\"\nsymbols = [\"BTCUSDT\"]\nchannels = [\"kline_5m\", \"trades\"]\nkeepalive_ms = 150\n";
    let (events, stats) = run_feed(config, &server.url, Duration::from_millis(1_800)).await;
    assert_eq!(
        canonical(&events),
        expected(Exchange::Bybit, &[kline, trade])
    );
    assert!(!events.is_empty());
    let pings = server.with_log(|log| requests(log, "\"op\":\"ping\""));
    assert!(pings >= 5, "{pings} pings");
    assert!(stats.heartbeats >= 5, "{stats:?}");
    assert_eq!(stats.acks, 1);
    assert_no_flapping(&server, &stats, 1);
}

#[tokio::test]
async fn okx_puts_candles_on_the_business_endpoint_and_pings_with_text() {
    let candle = fixture("okx/ws_candle.json").replace("\"candle1D\"", "\"candle1Dutc\"");
    let trades = fixture("okx/ws_trades.json").replace("BTC-USD\"", "BTC-USDT\"");
    let bbo = fixture("okx/ws_bbo_tbt.json");
    let data = [candle.clone(), trades.clone(), bbo.clone()];
    let dialect = move |request: &str| -> Vec<String> {
        if request == "ping" {
            return vec!["pong".into()];
        }
        let r: Value = serde_json::from_str(request).unwrap();
        let mut out = Vec::new();
        for arg in r["args"].as_array().unwrap() {
            out.push(json!({"event":"subscribe","arg":arg,"connId":"t"}).to_string());
            let channel = format!("\"channel\":\"{}\"", arg["channel"].as_str().unwrap());
            out.extend(
                data.iter()
                    .filter(|m| m.replace(' ', "").contains(&channel))
                    .cloned(),
            );
        }
        out
    };
    let server = WsServer::start(dialect, vec![vec![], vec![]]).await;
    let config = "exchange = \"okx\"\nsymbols = [\"BTC-USDT\"]\nchannels = [\"kline_1d\", \"trades\", \"quotes\"]\nkeepalive_ms = 150\n";
    let (events, stats) = run_feed(config, &server.url, Duration::from_millis(1_800)).await;
    assert_eq!(
        canonical(&events),
        expected(Exchange::Okx, &[candle, trades, bbo])
    );
    let kinds = |k: fn(&EventKind) -> bool| events.iter().filter(|e| k(&e.kind)).count();
    assert_eq!(kinds(|k| matches!(k, EventKind::Bar(_))), 1);
    assert!(kinds(|k| matches!(k, EventKind::Trade { .. })) >= 1);
    assert_eq!(kinds(|k| matches!(k, EventKind::Quote { .. })), 1);
    let mut paths = server.with_log(|log| log.iter().map(|c| c.path.clone()).collect::<Vec<_>>());
    paths.sort();
    assert_eq!(paths, ["/ws/v5/business", "/ws/v5/public"]);
    assert!(
        server.with_log(|log| requests(log, "ping")) >= 10,
        "both connections ping"
    );
    assert_no_flapping(&server, &stats, 2);
}

/// Numbers every message the server sends, as Coinbase does, leaving an explicit
/// `sequence_num` of 1000 or more alone (a planted jump).
fn coinbase_numbering() -> common::ws_server::Rewrite {
    let next = Arc::new(AtomicU64::new(0));
    Arc::new(move |text: String| {
        let mut v: Value = serde_json::from_str(&text).unwrap();
        if v["sequence_num"].as_u64().is_some_and(|n| n >= 1_000) {
            next.store(v["sequence_num"].as_u64().unwrap() + 1, Ordering::SeqCst);
            return text;
        }
        v["sequence_num"] = json!(next.fetch_add(1, Ordering::SeqCst));
        v.to_string()
    })
}

fn coinbase_dialect() -> impl Fn(&str) -> Vec<String> + Send + Sync + 'static {
    let data = [
        ("candles", fixture("coinbase/ws_candles.json")),
        ("market_trades", fixture("coinbase/ws_market_trades.json")),
        ("ticker", fixture("coinbase/ws_ticker.json")),
    ];
    let subscriptions = fixture("coinbase/ws_subscriptions.json");
    move |request: &str| {
        let r: Value = serde_json::from_str(request).unwrap();
        let channel = r["channel"].as_str().unwrap_or_default().to_string();
        let mut out = vec![subscriptions.clone()];
        out.extend(
            data.iter()
                .filter(|(c, _)| *c == channel)
                .map(|(_, m)| m.clone()),
        );
        out
    }
}

fn coinbase_heartbeats(n: usize, jump_at: Option<usize>) -> Vec<Step> {
    let beat = fixture("coinbase/ws_heartbeats.json");
    // Coinbase takes 4 requests a second, so the four subscribe requests span ~750 ms; the
    // heartbeats start after the data of every channel was delivered.
    let mut script = vec![Step::Sleep(Duration::from_millis(1_000))];
    for i in 0..n {
        let text = if Some(i) == jump_at {
            let mut v: Value = serde_json::from_str(&beat).unwrap();
            v["sequence_num"] = json!(1_000);
            v.to_string()
        } else {
            beat.clone()
        };
        script.push(Step::Text(text));
        script.push(Step::Sleep(Duration::from_millis(200)));
    }
    script
}

const COINBASE: &str = "exchange = \"coinbase\"\nsymbols = [\"BTC-USD\"]\nchannels = [\"kline_5m\", \"trades\", \"quotes\"]\n";

#[tokio::test]
async fn coinbase_subscribes_heartbeats_and_stays_up_on_them() {
    let server = WsServer::start_with(
        coinbase_dialect(),
        vec![coinbase_heartbeats(7, None)],
        coinbase_numbering(),
    )
    .await;
    let (events, stats) = run_feed(COINBASE, &server.url, Duration::from_millis(2_300)).await;
    let messages =
        ["candles", "market_trades", "ticker"].map(|c| fixture(&format!("coinbase/ws_{c}.json")));
    assert_eq!(canonical(&events), expected(Exchange::Coinbase, &messages));
    // Heartbeats are subscribed first, so the exchange keeps idle subscriptions open.
    let first = server.with_log(|log| log[0].requests[0].1.clone());
    assert!(first.contains("\"heartbeats\""), "{first}");
    assert!(stats.heartbeats >= 7, "{stats:?}");
    assert_eq!(
        (stats.sequence_gaps, stats.sequence_unordered),
        (0, 0),
        "{stats:?}"
    );
    assert_no_flapping(&server, &stats, 1);
}

#[tokio::test]
async fn coinbase_lost_messages_become_a_trade_gap() {
    let server = WsServer::start_with(
        coinbase_dialect(),
        vec![coinbase_heartbeats(6, Some(2))],
        coinbase_numbering(),
    )
    .await;
    let (events, stats) = run_feed(COINBASE, &server.url, Duration::from_millis(2_000)).await;
    assert_eq!(stats.sequence_gaps, 1, "{stats:?}");
    let gaps: Vec<&MarketEvent> = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Gap { .. }))
        .collect();
    assert_eq!(gaps.len(), 1, "{events:?}");
    assert!(matches!(
        gaps[0].kind,
        EventKind::Gap {
            lost: Lost::Trades,
            ..
        }
    ));
    assert_eq!(gaps[0].symbol.as_str(), "BTCUSD");
}

#[tokio::test]
async fn kraken_subscribes_per_channel_pings_and_delivers_its_messages() {
    let data = [
        ("ohlc", fixture("kraken/ws_ohlc_update.json")),
        ("trade", fixture("kraken/ws_trade_update.json")),
        ("ticker", fixture("kraken/ws_ticker_snapshot.json")),
    ];
    let sent: Vec<String> = data.iter().map(|(_, m)| m.clone()).collect();
    let dialect = move |request: &str| -> Vec<String> {
        let r: Value = serde_json::from_str(request).unwrap();
        match r["method"].as_str() {
            Some("ping") => vec![json!({"method":"pong","req_id":r["req_id"],"time_in":"2023-09-25T09:05:00.123456Z","time_out":"2023-09-25T09:05:00.123500Z"}).to_string()],
            Some("subscribe") => {
                let channel = r["params"]["channel"].as_str().unwrap().to_string();
                let mut out = vec![json!({"method":"subscribe","result":{"channel":channel,"symbol":"BTC/USD","snapshot":true},"success":true,"time_in":"2023-09-25T09:04:31.742599Z","time_out":"2023-09-25T09:04:31.742648Z","req_id":r["req_id"]}).to_string()];
                out.extend(data.iter().filter(|(c, _)| *c == channel).map(|(_, m)| m.clone()));
                out
            }
            _ => vec![],
        }
    };
    let server = WsServer::start(dialect, vec![vec![]]).await;
    let config = "exchange = \"kraken\"\nsymbols = [\"BTC/USD\"]\nchannels = [\"kline_1m\", \"trades\", \"quotes\"]\nkeepalive_ms = 150\n";
    let (events, stats) = run_feed(config, &server.url, Duration::from_millis(1_800)).await;
    assert_eq!(canonical(&events), expected(Exchange::Kraken, &sent));
    assert!(events.iter().all(|e| e.symbol.as_str() == "BTCUSD"));
    assert_eq!(stats.acks, 3, "{stats:?}");
    assert!(server.with_log(|log| requests(log, "\"method\":\"ping\"")) >= 5);
    assert!(stats.heartbeats >= 5, "{stats:?}");
    assert_no_flapping(&server, &stats, 1);
}

#[tokio::test]
async fn an_okx_closing_notice_starts_a_rotation_that_loses_and_doubles_nothing() {
    let trades = fixture("okx/ws_trades.json").replace("BTC-USD\"", "BTC-USDT\"");
    let bbo = fixture("okx/ws_bbo_tbt.json");
    let data = [trades.clone(), bbo.clone()];
    let dialect = move |request: &str| -> Vec<String> {
        if request == "ping" {
            return vec!["pong".into()];
        }
        let r: Value = serde_json::from_str(request).unwrap();
        let mut out = Vec::new();
        for arg in r["args"].as_array().unwrap() {
            out.push(json!({"event":"subscribe","arg":arg,"connId":"t"}).to_string());
            let channel = format!("\"channel\":\"{}\"", arg["channel"].as_str().unwrap());
            out.extend(
                data.iter()
                    .filter(|m| m.replace(' ', "").contains(&channel))
                    .cloned(),
            );
        }
        out
    };
    let notice = r#"{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade. Please reconnect.","connId":"t"}"#;
    let first = vec![
        Step::Sleep(Duration::from_millis(300)),
        Step::Text(notice.into()),
    ];
    let server = WsServer::start(dialect, vec![first]).await;
    let config = "exchange = \"okx\"\nsymbols = [\"BTC-USDT\"]\nchannels = [\"trades\", \"quotes\"]\nkeepalive_ms = 150\n";
    let (events, stats) = run_feed(config, &server.url, Duration::from_millis(1_800)).await;
    // The successor subscribed and got the same snapshot: delivered once.
    assert_eq!(canonical(&events), expected(Exchange::Okx, &[trades, bbo]));
    assert_eq!(
        (stats.closing_notices, stats.rotations),
        (1, 1),
        "{stats:?}"
    );
    assert!(stats.continuity.duplicates_dropped >= 2, "{stats:?}");
    assert_eq!(server.connections(), 2);
    // The announced connection was closed by the client once the successor delivered data.
    assert!(server.with_log(|log| log[0].ended.is_some()));
    assert_eq!(stats.disconnects, 0, "{stats:?}");
}
