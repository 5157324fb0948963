//! The websocket supervisor against a real websocket server on 127.0.0.1 that speaks the
//! exchanges' protocols and replays recorded exchange messages (`tests/common/ws_server.rs`):
//! normal flow, abrupt closes, silent stalls, pings that demand pongs, garbage, a refused
//! subscription, heartbeats on a quiet market, planned rotation and gap marking.
#![allow(clippy::disallowed_methods)] // reconnects are timed on the wall clock

mod common;

use common::ws_server::{Step, WsServer, binance_dialect};
use serde_json::Value;
use signal_engine::config::FeedConfig;
use signal_engine::event::Lost;
use signal_engine::event::{EventKind, Exchange, MarketEvent};
use signal_engine::ingest::exchange::supervisor::{FeedSnapshot, FeedSpec, Supervisor};
use signal_engine::ingest::exchange::{Channel, venue_for};
use std::collections::BTreeMap;
use std::io::Read;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const FUTURES_SESSION: &str = "ws/binance/BINANCE_FUTURES.ws.1.0.lines901-1100.gz";

/// The received messages of a cryptofeed recording, bytes unchanged, without bookTicker: USDT-M
/// futures serve it on another endpoint (`/public`), and a feed of klines and aggTrades is one
/// connection, which the scripted server needs. The recording's depth updates stay, as streams
/// the engine does not read (counted as unused).
fn recorded(rel: &str) -> Vec<String> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(common::fixture(rel)).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .skip(1)
        .filter_map(|l| l.split_once(": ").map(|(_, json)| json.to_string()))
        .filter(|json| !json.contains("@bookTicker"))
        .collect()
}

fn binance_refuses(request: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(request).unwrap_or(Value::Null);
    vec![format!(
        "{{\"code\":2,\"msg\":\"Invalid request: unknown symbol\",\"id\":{}}}",
        v["id"]
    )]
}

/// The events the messages hold, parsed directly: what the supervisor must deliver.
fn expected(exchange: Exchange, messages: &[String]) -> Vec<MarketEvent> {
    let venue = venue_for(exchange);
    let mut out = Vec::new();
    for m in messages {
        let _ = venue.parse(m.as_bytes(), 0, &mut out);
    }
    out
}

/// Equal ignoring the receive time (which the server's replay sets); prints the first difference.
fn same(a: &[MarketEvent], b: &[MarketEvent]) -> bool {
    let eq = |x: &MarketEvent, y: &MarketEvent| {
        x.exchange == y.exchange
            && x.symbol == y.symbol
            && x.ts_event_ns == y.ts_event_ns
            && x.kind == y.kind
    };
    if let Some((x, y)) = a.iter().zip(b).find(|(x, y)| !eq(x, y)) {
        eprintln!("first difference:\n  got  {x:?}\n  want {y:?}");
        return false;
    }
    a.len() == b.len()
}

/// Splits the events into data and gaps, and checks the gaps: after an interruption each symbol
/// that had traded gets one trade gap, starting just after its last trade, placed before any of
/// its later events.
fn split_gaps(events: Vec<MarketEvent>, before: &[MarketEvent]) -> Vec<MarketEvent> {
    let mut last_trade: BTreeMap<String, i64> = BTreeMap::new();
    for e in before {
        if let EventKind::Trade { .. } = e.kind {
            last_trade.insert(e.symbol.to_string(), e.ts_event_ns / 1_000_000);
        }
    }
    let mut data = Vec::new();
    let mut gapped = BTreeMap::new();
    for e in events {
        match e.kind {
            EventKind::Gap { lost, from_ms, .. } => {
                assert_eq!(lost, Lost::Trades, "{e:?}");
                let seen = gapped.insert(e.symbol.to_string(), (from_ms, data.len()));
                assert!(seen.is_none(), "two gaps for {}", e.symbol);
            }
            _ => data.push(e),
        }
    }
    let expected: BTreeMap<String, i64> =
        last_trade.iter().map(|(s, t)| (s.clone(), t + 1)).collect();
    let got: BTreeMap<String, i64> = gapped
        .iter()
        .map(|(s, (from, _))| (s.clone(), *from))
        .collect();
    assert_eq!(got, expected, "one trade gap per symbol that had traded");
    let cut = before.len();
    for (symbol, (_, at)) in &gapped {
        // Nothing of the symbol from after the interruption comes before its gap.
        assert!(
            data[cut.min(*at)..*at]
                .iter()
                .all(|e| e.symbol.as_str() != symbol)
        );
        assert!(*at >= cut.min(*at));
    }
    data
}

/// Symbols with a trade among `events`: each gets a trade gap after an interruption.
fn symbols_traded(events: &[MarketEvent]) -> usize {
    let traded = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Trade { .. }));
    traded
        .map(|e| e.symbol.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

fn futures_feed(url: &str) -> FeedSpec {
    let text = format!(
        "exchange = \"binance_futures\"\nurl = \"{url}\"\nsymbols = [\"SUSHIUSDT\", \"AKROUSDT\", \"KEEPUSDT\", \"CTKUSDT\"]\nchannels = [\"kline_1m\", \"agg_trades\"]\n"
    );
    let cfg: FeedConfig = toml::from_str(&text).unwrap();
    let mut spec = cfg.spec();
    spec.settings.silence_timeout = Duration::from_secs(5);
    spec.settings.backoff.initial = Duration::from_millis(100);
    spec
}

struct Run {
    events: Vec<MarketEvent>,
    stats: FeedSnapshot,
}

/// Runs the supervisor until `want` events arrived (or `limit` passed), then stops it.
async fn collect(feed: FeedSpec, want: usize, limit: Duration) -> Run {
    let (tx, mut rx) = mpsc::channel(4_096);
    let supervisor = Supervisor::start(&[feed], tx, None);
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    while events.len() < want {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(ev)) => events.push(ev),
            _ => break,
        }
    }
    let mut stats = supervisor.stop().await.unwrap();
    Run {
        events,
        stats: stats.remove(0).1,
    }
}

fn steps(messages: &[String]) -> Vec<Step> {
    messages.iter().map(|m| Step::Text(m.clone())).collect()
}

#[tokio::test]
async fn a_recorded_session_arrives_whole_and_in_order() {
    let messages = recorded(FUTURES_SESSION);
    let want = expected(Exchange::BinanceFutures, &messages);
    // 11 aggTrades and 12 klines (4 closed) of the 200 recorded messages.
    assert_eq!(want.len(), 23);
    let server = WsServer::start(binance_dialect, vec![steps(&messages)]).await;
    let run = collect(
        futures_feed(&server.url),
        want.len(),
        Duration::from_secs(20),
    )
    .await;
    assert!(
        same(&run.events, &want),
        "{} of {} events",
        run.events.len(),
        want.len()
    );
    assert!(
        run.events
            .iter()
            .all(|e| e.check().is_ok() && e.ts_recv_ns > 0)
    );
    // One subscribe request naming every stream, answered with an ack.
    let request = server.with_log(|log| log[0].requests[0].1.clone());
    let v: Value = serde_json::from_str(&request).unwrap();
    assert_eq!(v["method"], "SUBSCRIBE");
    assert_eq!(v["params"].as_array().unwrap().len(), 8, "{request}");
    assert!(request.contains("sushiusdt@kline_1m") && request.contains("ctkusdt@aggTrade"));
    assert_eq!(run.stats.acks, 1);
    assert_eq!(run.stats.connects, 1);
    assert_eq!(run.stats.disconnects, 0);
}

#[tokio::test]
async fn an_abrupt_close_reconnects_within_two_seconds_and_resubscribes() {
    let messages = recorded(FUTURES_SESSION);
    let want = expected(Exchange::BinanceFutures, &messages);
    let (first, rest) = messages.split_at(60);
    let mut script = steps(first);
    script.push(Step::Drop);
    let server = WsServer::start(binance_dialect, vec![script, steps(rest)]).await;
    let before = expected(Exchange::BinanceFutures, first);
    let run = collect(
        futures_feed(&server.url),
        want.len() + symbols_traded(&before),
        Duration::from_secs(20),
    )
    .await;
    let data = split_gaps(run.events, &before);
    assert!(
        same(&data, &want),
        "{} of {} events",
        data.len(),
        want.len()
    );
    let (gap, same_request) = server.with_log(|log| {
        let dropped = log[0].ended.unwrap();
        let resubscribed = log[1].requests[0].0;
        (
            resubscribed - dropped,
            log[0].requests[0].1 == log[1].requests[0].1,
        )
    });
    assert!(gap < Duration::from_secs(2), "resubscribed after {gap:?}");
    assert!(
        same_request,
        "the second connection must subscribe to the same streams"
    );
    assert_eq!((run.stats.connects, run.stats.disconnects), (2, 1));
}

#[tokio::test]
async fn a_silent_stall_trips_the_watchdog_and_the_data_resumes() {
    let messages = recorded(FUTURES_SESSION);
    let want = expected(Exchange::BinanceFutures, &messages);
    let (first, rest) = messages.split_at(30);
    // The first connection goes quiet while staying open: only the watchdog can notice.
    let server = WsServer::start(binance_dialect, vec![steps(first), steps(rest)]).await;
    let mut feed = futures_feed(&server.url);
    feed.settings.silence_timeout = Duration::from_millis(700);
    let started = Instant::now();
    let before = expected(Exchange::BinanceFutures, first);
    let run = collect(
        feed,
        want.len() + symbols_traded(&before),
        Duration::from_secs(20),
    )
    .await;
    let data = split_gaps(run.events, &before);
    assert!(
        same(&data, &want),
        "{} of {} events",
        data.len(),
        want.len()
    );
    assert_eq!(run.stats.watchdog_reconnects, 1);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn server_pings_are_answered_and_keep_a_quiet_connection_alive() {
    let messages = recorded(FUTURES_SESSION);
    let want = expected(Exchange::BinanceFutures, &messages[..20]);
    let mut script = steps(&messages[..10]);
    // A quiet market: no data for ~2.4 s, only pings every 300 ms, each demanding a pong
    // within a second (or the server drops the client, as Binance does).
    for _ in 0..8 {
        script.push(Step::Ping(Duration::from_secs(1)));
        script.push(Step::Sleep(Duration::from_millis(300)));
    }
    script.extend(steps(&messages[10..20]));
    let server = WsServer::start(binance_dialect, vec![script]).await;
    let mut feed = futures_feed(&server.url);
    feed.settings.silence_timeout = Duration::from_millis(600);
    let run = collect(feed, want.len(), Duration::from_secs(20)).await;
    assert!(
        same(&run.events, &want),
        "{} of {} events",
        run.events.len(),
        want.len()
    );
    assert_eq!(server.with_log(|log| log[0].pongs), 8);
    assert_eq!(
        server.connections(),
        1,
        "no reconnect on a quiet market that pings"
    );
    assert_eq!(run.stats.watchdog_reconnects, 0);
}

#[tokio::test]
async fn garbage_truncated_oversized_and_unknown_frames_are_counted_and_skipped() {
    let messages = recorded(FUTURES_SESSION);
    let good = &messages[..40];
    let want = expected(Exchange::BinanceFutures, good);
    let truncated = messages[5][..messages[5].len() / 2].to_string();
    let mut script = Vec::new();
    for (i, m) in good.iter().enumerate() {
        script.push(Step::Text(m.clone()));
        match i {
            3 => script.push(Step::Binary(vec![0xff, 0x00, 0x13, 0x37])),
            7 => script.push(Step::Text(truncated.clone())),
            11 => script.push(Step::Text(format!(
                "{{\"stream\":\"x\",\"data\":{{\"e\":\"aggTrade\",\"pad\":\"{}\"}}}}",
                "x".repeat(70_000)
            ))),
            15 => script.push(Step::Text("{\"e\":\"brandNewEvent\",\"E\":1}".into())),
            19 => script.push(Step::Text(
                "{\"e\":\"aggTrade\",\"s\":\"SUSHIUSDT\"}".into(),
            )),
            _ => {}
        }
    }
    let server = WsServer::start(binance_dialect, vec![script]).await;
    let dir = tempfile::tempdir().unwrap();
    let dead_path = dir.path().join("dead.jsonl");
    let dead = signal_engine::ingest::dead_letter::DeadLetters::create(&dead_path).unwrap();
    let mut feed = futures_feed(&server.url);
    feed.settings.max_frame_bytes = 65_536;
    let (tx, mut rx) = mpsc::channel(4_096);
    let supervisor = Supervisor::start(&[feed], tx, Some(dead.clone()));
    let mut events = Vec::new();
    while events.len() < want.len() {
        match tokio::time::timeout(Duration::from_secs(20), rx.recv()).await {
            Ok(Some(ev)) => events.push(ev),
            _ => break,
        }
    }
    let stats = supervisor.stop().await.unwrap().remove(0).1;
    assert!(
        same(&events, &want),
        "{} of {} events",
        events.len(),
        want.len()
    );
    assert_eq!(stats.malformed_json, 2, "{stats:?}");
    assert_eq!(stats.bad_field, 1, "{stats:?}");
    assert_eq!(stats.oversized, 1, "{stats:?}");
    assert_eq!(stats.unknown_types, 1, "{stats:?}");
    assert_eq!(stats.connects, 1, "bad frames never cost the connection");
    dead.flush().unwrap();
    let letters = std::fs::read_to_string(&dead_path).unwrap();
    assert_eq!(letters.lines().count(), 3, "{letters}");
    assert!(letters.contains("malformed JSON") && letters.contains("aggTrade"));
}

#[tokio::test]
async fn a_refused_subscription_is_a_clear_error() {
    let server = WsServer::start(binance_refuses, vec![vec![]]).await;
    let (tx, _rx) = mpsc::channel(16);
    let mut supervisor = Supervisor::start(&[futures_feed(&server.url)], tx, None);
    let error = tokio::time::timeout(Duration::from_secs(10), supervisor.failed())
        .await
        .expect("the refusal must end the feed")
        .to_string();
    assert!(error.contains("refused a subscription"), "{error}");
    assert!(error.contains("Invalid request: unknown symbol"), "{error}");
    assert!(error.contains("binance_futures"), "{error}");
}

#[tokio::test]
async fn a_planned_rotation_overlaps_connections_and_loses_or_doubles_nothing() {
    let messages = recorded(FUTURES_SESSION);
    let want = expected(Exchange::BinanceFutures, &messages);
    let paced = |ms: &[String]| -> Vec<Step> {
        ms.iter()
            .flat_map(|m| {
                [
                    Step::Text(m.clone()),
                    Step::Sleep(Duration::from_millis(15)),
                ]
            })
            .collect()
    };
    // The old connection would go on with everything; the successor starts well before where
    // the old one will be when it is closed, so the overlap is delivered twice by the server.
    let server = WsServer::start(
        binance_dialect,
        vec![paced(&messages), paced(&messages[20..])],
    )
    .await;
    let mut feed = futures_feed(&server.url);
    feed.rotate_after = Some(Duration::from_millis(800));
    let run = collect(feed, want.len(), Duration::from_secs(30)).await;
    assert!(
        same(&run.events, &want),
        "{} of {} events",
        run.events.len(),
        want.len()
    );
    assert!(run.stats.rotations >= 1);
    assert!(
        run.stats.continuity.duplicates_dropped > 0,
        "{:?}",
        run.stats
    );
    // The old connection was closed by the client once the successor delivered data.
    assert!(server.with_log(|log| log[0].ended.is_some() && !log[0].finished));
}

/// A closed 1m kline of `symbol` opening at `minute`, in Binance's combined-stream form.
fn kline(minute: i64, closed: bool) -> String {
    let t = minute * 60_000;
    format!(
        "{{\"stream\":\"sushiusdt@kline_1m\",\"data\":{{\"e\":\"kline\",\"E\":{},\"s\":\"SUSHIUSDT\",\"k\":{{\"t\":{t},\"T\":{},\"s\":\"SUSHIUSDT\",\"i\":\"1m\",\"f\":1,\"L\":2,\"o\":\"10.0\",\"c\":\"10.5\",\"h\":\"11.0\",\"l\":\"9.5\",\"v\":\"3\",\"n\":2,\"x\":{closed},\"q\":\"30\",\"V\":\"1\",\"Q\":\"10\",\"B\":\"0\"}}}}}}",
        t + 59_999,
        t + 59_999
    )
}

#[tokio::test]
async fn a_candle_lost_during_a_reconnect_is_marked_as_a_gap() {
    let m = 29_000_000; // minutes since the epoch, 2025
    let server = WsServer::start(
        binance_dialect,
        vec![
            vec![
                Step::Text(kline(m, true)),
                Step::Text(kline(m + 1, false)),
                Step::Drop,
            ],
            // The exchange does not repeat candle m+1: it closed while the client was away.
            vec![
                Step::Text(kline(m + 2, false)),
                Step::Text(kline(m + 2, true)),
            ],
        ],
    )
    .await;
    let run = collect(futures_feed(&server.url), 5, Duration::from_secs(20)).await;
    let kinds: Vec<String> = run
        .events
        .iter()
        .map(|e| match &e.kind {
            EventKind::Bar(b) => format!("bar {} {}", b.open_time_ms / 60_000 - m, b.closed),
            EventKind::Gap {
                lost,
                from_ms,
                to_ms,
            } => {
                format!(
                    "gap {lost:?} {}..{}",
                    from_ms / 60_000 - m,
                    (to_ms + 1) / 60_000 - m
                )
            }
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "bar 0 true",
            "bar 1 false",
            "gap Bars 1..2",
            "bar 2 false",
            "bar 2 true"
        ]
    );
    assert_eq!(run.stats.continuity.gaps_marked, 1);
}

#[test]
fn channels_and_streams_come_from_config() {
    let cfg: FeedConfig = toml::from_str(
        "exchange = \"binance\"\nsymbols = [\"BTCUSDT\"]\nchannels = [\"kline_1m\", \"quotes\"]\n",
    )
    .unwrap();
    assert_eq!(
        cfg.channels,
        [Channel::Kline { interval_s: 60 }, Channel::Quotes]
    );
    assert_eq!(cfg.spec().streams.len(), 2);
}

#[tokio::test]
async fn collect_records_events_that_replay_accepts() {
    let messages = recorded(FUTURES_SESSION);
    let want = expected(Exchange::BinanceFutures, &messages);
    let server = WsServer::start(binance_dialect, vec![steps(&messages)]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ws.toml");
    std::fs::write(
        &config,
        format!(
            "[[websocket.feeds]]\nexchange = \"binance_futures\"\nurl = \"{}\"\nsymbols = [\"SUSHIUSDT\", \"AKROUSDT\", \"KEEPUSDT\", \"CTKUSDT\"]\nchannels = [\"kline_1m\", \"agg_trades\"]\n",
            server.url
        ),
    )
    .unwrap();
    // A directory that does not exist yet, as in the README (`--out data/live.jsonl.gz`).
    let out = dir.path().join("data/events.jsonl.gz");
    let summary = dir.path().join("collect.json");
    let bin = env!("CARGO_BIN_EXE_signal-engine");
    let args: Vec<String> = vec![
        "--config".into(),
        config.display().to_string(),
        "collect".into(),
        "--out".into(),
        out.display().to_string(),
        "--duration".into(),
        "3".into(),
        "--summary-json".into(),
        summary.display().to_string(),
    ];
    let collected = tokio::task::spawn_blocking(move || {
        std::process::Command::new(bin)
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        collected.status.success(),
        "{}",
        String::from_utf8_lossy(&collected.stderr)
    );
    let stats: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(stats["events_written"], want.len());
    // The file reads back as the same events (replay orders them by event time).
    let back = common::read_events(std::slice::from_ref(&out));
    let key = |e: &MarketEvent| format!("{} {} {:?}", e.symbol, e.ts_event_ns, e.kind);
    let mut got: Vec<String> = back.iter().map(key).collect();
    let mut exp: Vec<String> = want.iter().map(key).collect();
    got.sort();
    exp.sort();
    assert_eq!(got, exp);
    // And `replay` runs the engine over it.
    let replay = std::process::Command::new(bin)
        .args(["replay", "--data"])
        .arg(&out)
        .arg("--out")
        .arg(dir.path().join("signals.jsonl"))
        .arg("--summary-json")
        .arg(dir.path().join("replay.json"))
        .output()
        .unwrap();
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    let replayed: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("replay.json")).unwrap())
            .unwrap();
    assert_eq!(replayed["events"], want.len());
}
