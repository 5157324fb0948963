//! `run` on a websocket feed is the replay, live: a local server plays a real kline file as
//! Binance USDT-M kline messages, and the signals `run` emits equal the file replay's (same bars,
//! same model, same p to float noise from batching).
#![allow(clippy::disallowed_methods)] // the run is timed on the wall clock

mod common;

use common::ws_server::{Step, WsServer, binance_dialect};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::Command;

const KLINES: &str = "klines/sample/LINKUSDT-1m-2026-02.csv.gz";

/// Each CSV row as the closed-kline message Binance would have sent for it, values as written.
fn kline_messages() -> Vec<String> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(common::fixture(KLINES)).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .skip(1)
        .map(|row| {
            let c: Vec<&str> = row.split(',').collect();
            format!(
                "{{\"stream\":\"linkusdt@kline_1m\",\"data\":{{\"e\":\"kline\",\"E\":{e},\"s\":\"LINKUSDT\",\"k\":{{\"t\":{t},\"T\":{tt},\"s\":\"LINKUSDT\",\"i\":\"1m\",\"f\":1,\"L\":2,\"o\":\"{o}\",\"c\":\"{cl}\",\"h\":\"{h}\",\"l\":\"{l}\",\"v\":\"{v}\",\"n\":{n},\"x\":true,\"q\":\"{q}\",\"V\":\"{tb}\",\"Q\":\"{tq}\",\"B\":\"0\"}}}}}}",
                e = c[6].parse::<i64>().unwrap() + 1,
                t = c[0],
                tt = c[6],
                o = c[1],
                h = c[2],
                l = c[3],
                cl = c[4],
                v = c[5],
                q = c[7],
                n = c[8],
                tb = c[9],
                tq = c[10],
            )
        })
        .collect()
}

/// (symbol, bar close) → p_profitable of a signal file.
fn signals(path: &Path) -> BTreeMap<(String, i64), f64> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let key = (
                v["symbol"].as_str().unwrap().to_string(),
                v["bar_close_time_ms"].as_i64().unwrap(),
            );
            (key, v["p_profitable"].as_f64().unwrap())
        })
        .collect()
}

/// `/readyz` once it reports the feed's one connection up, and `/metrics` then.
fn websocket_health(log: &Path) -> (Value, String) {
    let t0 = std::time::Instant::now();
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(addr) = common::api_engine::api_addr_in(&text) {
            let (_, body) = common::api_engine::get(&addr, "/readyz");
            let ready: Value = serde_json::from_str(&body).unwrap();
            if ready["source"]["feeds"][0]["up"] == 1 {
                return (ready, common::api_engine::get(&addr, "/metrics").1);
            }
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(10),
            "the feed never showed up in /readyz: {text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[tokio::test]
async fn run_on_a_websocket_feed_emits_the_replays_signals() {
    let messages = kline_messages();
    assert_eq!(messages.len(), 300);
    let server = WsServer::start(
        binance_dialect,
        vec![messages.into_iter().map(Step::Text).collect()],
    )
    .await;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let default = std::fs::read_to_string(root.join("config/default.toml")).unwrap();
    let model_dir = root.join("models/default");
    let config = dir.path().join("ws.toml");
    std::fs::write(
        &config,
        format!(
            "{}\n[websocket]\nconflate_windows = false # every window scored, as the replay does\n[[websocket.feeds]]\nexchange = \"binance_futures\"\nurl = \"{}\"\nsymbols = [\"LINKUSDT\"]\nchannels = [\"kline_1m\"]\n",
            common::api_engine::with_api(
                &default.replace("\"models/default\"", &format!("{:?}", model_dir.display().to_string())),
                ""
            ),
            server.url
        ),
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_signal-engine");
    let (cwd, cfg) = (dir.path().to_path_buf(), config.clone());
    let log = dir.path().join("live.log");
    let stderr = std::fs::File::create(&log).unwrap();
    let live = tokio::task::spawn_blocking(move || {
        let child = Command::new(bin)
            .current_dir(&cwd)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .arg("--config")
            .arg(&cfg)
            .args([
                "run",
                "--duration",
                "12",
                "--out",
                "live.jsonl",
                "--summary-json",
                "live.json",
            ])
            .stderr(stderr)
            .spawn()
            .unwrap();
        // While it runs, the sidecar reports the feed's connection up.
        let (ready, metrics) = websocket_health(&log);
        (child.wait_with_output().unwrap(), ready, metrics, log)
    })
    .await
    .unwrap();
    let (live, ready, metrics, log) = live;
    assert!(
        live.status.success(),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert_eq!(ready["source"]["kind"], "websocket", "{ready}");
    assert_eq!(ready["source"]["feeds"][0]["up"], 1, "{ready}");
    assert!(
        metrics.contains(
            "signal_engine_websocket_connections{feed=\"binance_futures\",state=\"up\"} 1\n"
        ),
        "{metrics}"
    );
    let replay = Command::new(bin)
        .current_dir(dir.path())
        .arg("--config")
        .arg(&config)
        .args(["replay", "--out", "replay.jsonl", "--data"])
        .arg(common::fixture(KLINES))
        .output()
        .unwrap();
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );

    let (live, replayed) = (
        signals(&dir.path().join("live.jsonl")),
        signals(&dir.path().join("replay.jsonl")),
    );
    assert!(replayed.len() > 50, "{} replay signals", replayed.len());
    assert_eq!(
        live.keys().collect::<Vec<_>>(),
        replayed.keys().collect::<Vec<_>>()
    );
    let worst = live
        .iter()
        .map(|(k, p)| (p - replayed[k]).abs())
        .fold(0.0, f64::max);
    assert!(worst <= 1e-5, "max |Δp| {worst}");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("live.json")).unwrap())
            .unwrap();
    assert_eq!(summary["events"], 300);
    assert_eq!(summary["websocket"][0][1]["connects"], 1);
}
