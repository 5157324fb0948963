//! The broker dies mid-stream and comes back: the engine reconnects by itself and no signal is
//! lost. Runs its own tansu with SQLite storage (so the topics survive the restart) on a free
//! port; the binary comes from `scripts/test.sh` (SIGNAL_ENGINE_TANSU).
#![allow(clippy::disallowed_methods)] // tests wait on real processes with wall-clock deadlines

mod common;

use common::kafka::{self, Engine, EngineSpec};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// tansu on `port`, storing in `dir/tansu.db` (a relative sqlite:// path: DESIGN.md §8).
fn start_broker(tansu: &Path, dir: &Path, port: u16) -> Child {
    let url = format!("tcp://127.0.0.1:{port}");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("broker.log"))
        .unwrap();
    let child = Command::new(tansu)
        .current_dir(dir)
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        .args(["--storage-engine", "sqlite://tansu.db"])
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start tansu");
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "tansu did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

#[test]
fn the_engine_rides_out_a_broker_restart_and_loses_nothing() {
    let Some(env) = kafka::env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let brokers = format!("127.0.0.1:{port}");
    let mut broker = start_broker(&env.tansu, dir.path(), port);
    let data = kafka::demo_files(&["AVAX", "FIL", "LINK"]);
    let topic = kafka::unique("restart-in");
    kafka::publish(&brokers, &topic, 2, &data, None);
    let mut spec = EngineSpec::new(&brokers, &topic, "restart");
    spec.idle_secs = 25.0;
    // A small pipeline that pauses the consumer: input is read as signals go out, so the broker
    // dies with most of the topic still unread.
    spec.channel_capacity = 8;
    spec.pause_after_ms = 50;
    let engine = Engine::spawn(&spec, dir.path(), "engine");
    let t0 = Instant::now();
    while engine.lines() < 300 {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "no signals before the restart"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    broker.kill().unwrap(); // SIGKILL: no clean shutdown
    broker.wait().unwrap();
    let emitted_before = engine.lines();
    std::thread::sleep(Duration::from_secs(3));
    let mut broker = start_broker(&env.tansu, dir.path(), port);
    let summary = engine.wait(Duration::from_secs(300));

    let expected = kafka::replay_expected(&data, dir.path());
    let got = kafka::consume(&env, &brokers, &spec.signals, 5.0);
    let agreement = kafka::check_against_replay(&got, &expected, 0.0);
    eprintln!(
        "broker restart after {emitted_before} signals: {agreement:?}; engine {}",
        summary["kafka_source"]
    );
    assert_eq!(got.len(), expected.len() + agreement.duplicates);
    let events = summary["kafka_source"]["events"].as_u64().unwrap();
    assert!(
        events >= 3 * 1440,
        "{events} events: some input was never read"
    );
    broker.kill().unwrap();
    broker.wait().unwrap();
}
