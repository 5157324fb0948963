//! An engine with the sidecar API on: the real binary replaying the demo symbols at a pace, and
//! plain HTTP/1.1 from a TCP socket to talk to it (no client library between the test and the
//! wire).
#![allow(clippy::disallowed_methods)] // waits on a real process with wall-clock deadlines

use super::{demo_config_text, fixture, sigterm_and_wait};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running engine with its API; killed when dropped.
pub struct ApiEngine {
    pub child: Child,
    pub addr: String,
    pub log: PathBuf,
    pub started: Instant,
}

impl ApiEngine {
    /// Replays LINK and NEAR at `speed`× with `[api]` on a free port plus `api_extra` lines;
    /// serves the registry at `registry` when given. Waits until the API listens.
    pub fn start(dir: &Path, registry: Option<&Path>, speed: u32, api_extra: &str) -> Self {
        let config = dir.join("api.toml");
        std::fs::write(&config, with_api(&demo_config_text(registry), api_extra)).unwrap();
        let log = dir.join("log.txt");
        let data: Vec<_> = ["LINK", "NEAR"]
            .iter()
            .map(|s| fixture(&format!("klines/demo/{s}USDT-1m-2026-02.csv.gz")))
            .collect();
        let child = Command::new(env!("CARGO_BIN_EXE_signal-engine"))
            .current_dir(dir)
            .arg("--config")
            .arg(&config)
            .args(["replay", "--speed", &speed.to_string(), "--out", "s.jsonl"])
            .arg("--data")
            .args(&data)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .env("SIGNAL_ENGINE_API_TOKEN", "s3cret")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut e = Self {
            child,
            addr: String::new(),
            log,
            started: Instant::now(),
        };
        e.addr = loop {
            let text = e.log_text();
            if let Some(a) = api_addr_in(&text) {
                break a;
            }
            assert!(e.child.try_wait().unwrap().is_none(), "ended early: {text}");
            assert!(
                e.started.elapsed() < Duration::from_secs(60),
                "no api: {text}"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        e
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Waits until `/v1/signals/latest` lists both symbols (they are warm after about 2 hours
    /// of bars: 12 s at 600×); returns the list.
    pub fn wait_for_signals(&self) -> Vec<serde_json::Value> {
        loop {
            let (status, body) = get(&self.addr, "/v1/signals/latest");
            assert_eq!(status, 200, "{body}");
            let v: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
            if v.len() == 2 {
                return v;
            }
            assert!(
                self.started.elapsed() < Duration::from_secs(180),
                "no signals: {body}\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// SIGTERM; asserts a clean exit.
    pub fn stop(mut self) {
        let status = sigterm_and_wait(&mut self.child, Duration::from_secs(60));
        assert!(status.success(), "{}", self.log_text());
    }
}

impl Drop for ApiEngine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `config` (TOML) with the API on, on a free loopback port, plus the `[api]` keys in `extra`.
pub fn with_api(config: &str, extra: &str) -> String {
    let mut t: toml::Table = toml::from_str(config).unwrap();
    let mut api: toml::Table = toml::from_str(extra).unwrap();
    api.insert("enabled".into(), true.into());
    api.insert("bind".into(), "127.0.0.1:0".into());
    let section = t
        .entry("api")
        .or_insert_with(|| toml::Table::new().into())
        .as_table_mut()
        .unwrap();
    section.extend(api);
    toml::to_string(&t).unwrap()
}

/// The address an engine's log says its API listens on.
pub fn api_addr_in(log: &str) -> Option<String> {
    log.lines()
        .find(|l| l.contains("api listening"))
        .and_then(|l| l.split("127.0.0.1:").nth(1))
        .map(|rest| {
            let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
            format!("127.0.0.1:{port}")
        })
}

/// Status and body of `GET path`.
pub fn get(addr: &str, path: &str) -> (u16, String) {
    let r = request(addr, "GET", path, "");
    (r.status, r.body)
}

/// Status and body of `POST path` with `extra` headers.
pub fn post(addr: &str, path: &str, extra: &str) -> (u16, String) {
    let r = request(addr, "POST", path, &format!("{extra}Content-Length: 0\r\n"));
    (r.status, r.body)
}

/// A whole response.
pub struct Reply {
    pub status: u16,
    /// Header lines, names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One request with `Connection: close`; `extra` is raw header lines.
pub fn request(addr: &str, method: &str, path: &str, extra: &str) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head[9..12].parse().unwrap();
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_string(),
    }
}

/// Opens `/v1/signals/stream` (resumed after `last_id`, if given) and returns the socket and
/// the status line and headers read so far.
pub fn open_stream(addr: &str, last_id: Option<u64>) -> (TcpStream, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let resume = last_id.map_or(String::new(), |id| format!("Last-Event-ID: {id}\r\n"));
    write!(
        s,
        "GET /v1/signals/stream HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n{resume}\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let k = s.read(&mut byte).expect("stream headers");
        assert!(k > 0, "closed: {}", String::from_utf8_lossy(&head));
        head.push(byte[0]);
    }
    (s, String::from_utf8_lossy(&head).into_owned())
}

/// The ids of the first `n` `signal` events of the stream (resumed after `last_id`, if given).
pub fn stream_ids(addr: &str, last_id: Option<u64>, n: usize) -> Vec<u64> {
    let (mut s, head) = open_stream(addr, last_id);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
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
