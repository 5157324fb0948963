//! The sidecar API on a running engine (the real binary replaying the demo at 600×), spoken to
//! over plain HTTP/1.1 from a TCP socket: health, the latest signals (all, one symbol, unknown
//! symbol), the server-sent event stream live and resumed with `Last-Event-ID`, model control
//! behind the bearer token, JSON errors.
#![allow(clippy::disallowed_methods)] // waits on a real process with wall-clock deadlines

mod common;

use common::{demo_config_text, fixture, save_as_version, sigterm_and_wait};
use signal_engine::config::Config;
use signal_engine::features::FeatureSpec;
use signal_engine::registry::{Action, Registry, load_bundle};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Status and body of `GET path`.
fn get(addr: &str, path: &str) -> (u16, String) {
    request(addr, "GET", path, "")
}

/// Status and body of `POST path` with `extra` headers.
fn post(addr: &str, path: &str, extra: &str) -> (u16, String) {
    request(addr, "POST", path, &format!("{extra}Content-Length: 0\r\n"))
}

fn request(addr: &str, method: &str, path: &str, extra: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").map_or("", |x| x.1).to_string();
    (status, body)
}

/// The ids of the first `n` `signal` events of the stream (resumed after `last_id`, if given).
fn stream_ids(addr: &str, last_id: Option<u64>, n: usize) -> Vec<u64> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let resume = last_id.map_or(String::new(), |id| format!("Last-Event-ID: {id}\r\n"));
    write!(
        s,
        "GET /v1/signals/stream HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n{resume}\r\n"
    )
    .unwrap();
    let (mut text, mut buf) = (String::new(), [0u8; 4096]);
    loop {
        let ids: Vec<u64> = text
            .lines()
            .filter_map(|l| l.strip_prefix("id: ").or_else(|| l.strip_prefix("id:")))
            .filter_map(|v| v.trim().parse().ok())
            .collect();
        if ids.len() >= n {
            assert!(
                text.contains("event: signal") || text.contains("event:signal"),
                "{text}"
            );
            return ids[..n].to_vec();
        }
        let k = s.read(&mut buf).expect("stream data");
        assert!(k > 0, "stream closed: {text}");
        text.push_str(&String::from_utf8_lossy(&buf[..k]));
    }
}

#[test]
fn a_bot_reads_latest_signals_and_the_stream() {
    let tmp = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // A registry serving the bundled model, with a second version of it to promote.
    let registry = tmp.path().join("registry");
    let reg = Registry::open(&registry).unwrap();
    let first = reg.import(&root.join("models/default")).unwrap();
    reg.set_current(&first, Action::Import, "test").unwrap();
    let spec = FeatureSpec::new(&Config::load(None).unwrap().0.features.names).unwrap();
    let m = load_bundle(&reg.bundle_dir(&first), &spec).unwrap();
    save_as_version(&reg, &m, "api-b", None);
    let config = tmp.path().join("api.toml");
    let text =
        demo_config_text(Some(&registry)) + "\n[api]\nenabled = true\nbind = \"127.0.0.1:0\"\n";
    std::fs::write(&config, text).unwrap();
    let log = tmp.path().join("log.txt");
    let data: Vec<_> = ["LINK", "NEAR"]
        .iter()
        .map(|s| fixture(&format!("klines/demo/{s}USDT-1m-2026-02.csv.gz")))
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_signal-engine"))
        .current_dir(tmp.path())
        .arg("--config")
        .arg(&config)
        .args(["replay", "--speed", "600", "--out", "s.jsonl", "--data"])
        .args(&data)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .env("SIGNAL_ENGINE_API_TOKEN", "s3cret")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let addr = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let found = text
            .lines()
            .find(|l| l.contains("api listening"))
            .and_then(|l| l.split("127.0.0.1:").nth(1))
            .map(|rest| {
                let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                format!("127.0.0.1:{port}")
            });
        if let Some(a) = found {
            break a;
        }
        assert!(child.try_wait().unwrap().is_none(), "ended early: {text}");
        assert!(t0.elapsed() < Duration::from_secs(60), "no api: {text}");
        std::thread::sleep(Duration::from_millis(100));
    };

    assert_eq!(
        get(&addr, "/healthz"),
        (200, r#"{"status":"ok"}"#.to_string())
    );
    let (status, body) = get(&addr, "/v1/signals/latest?symbol=NOPE");
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("\"error\""), "{body}");
    assert_eq!(get(&addr, "/nowhere").0, 404);
    // Signals come once the symbols are warm (about 2 hours of bars, 12 s at 600×).
    let all = loop {
        let (status, body) = get(&addr, "/v1/signals/latest");
        assert_eq!(status, 200, "{body}");
        let v: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
        if v.len() == 2 {
            break v;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "no signals: {body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let symbols: Vec<&str> = all.iter().map(|s| s["symbol"].as_str().unwrap()).collect();
    assert_eq!(symbols, ["LINKUSDT", "NEARUSDT"]);
    let (status, body) = get(&addr, "/v1/signals/latest?symbol=LINKUSDT");
    assert_eq!(status, 200, "{body}");
    let one: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(one["symbol"], "LINKUSDT");
    assert!(one["p_profitable"].as_f64().is_some());

    // Live: consecutive ids. Resumed after id 1: the buffer replays from id 2 on.
    let live = stream_ids(&addr, None, 3);
    assert!(live.windows(2).all(|w| w[1] == w[0] + 1), "{live:?}");
    assert_eq!(stream_ids(&addr, Some(1), 3), [2, 3, 4]);

    // Model control: read freely; change only with the token; refused changes move nothing.
    let models = |addr: &str| -> serde_json::Value {
        let (status, body) = get(addr, "/v1/models");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    };
    let v = models(&addr);
    assert_eq!(v["serving"], first.as_str());
    assert_eq!(v["current"], first.as_str());
    assert!(
        v["versions"].as_array().unwrap().contains(&"api-b".into()),
        "{v}"
    );
    assert_eq!(post(&addr, "/v1/models/api-b/promote", "").0, 401);
    let wrong = "Authorization: Bearer s3cre7\r\n";
    assert_eq!(post(&addr, "/v1/models/api-b/promote", wrong).0, 401);
    assert_eq!(models(&addr)["serving"], first.as_str(), "nothing moved");
    let auth = "Authorization: Bearer s3cret\r\n";
    let (status, body) = post(&addr, "/v1/models/nope/promote", auth);
    assert_eq!(status, 404, "{body}");
    let (status, body) = post(&addr, "/v1/models/api-b/promote", auth);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"version\":\"api-b\""), "{body}");
    let v = models(&addr);
    assert_eq!(
        (v["serving"].as_str(), v["current"].as_str()),
        (Some("api-b"), Some("api-b"))
    );
    let (status, body) = post(&addr, "/v1/models/rollback", auth);
    assert_eq!(status, 200, "{body}");
    assert_eq!(models(&addr)["serving"], first.as_str());

    let status = sigterm_and_wait(&mut child, Duration::from_secs(60));
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
}
