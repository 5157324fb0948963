//! The example clients and the dashboard against a running engine: the TypeScript bot
//! (`scripts/clients/bot.ts`, compiled by tsc, run by Node), the Python client
//! (`scripts/clients/signal_engine_client.py`, standard library only), and the dashboard page
//! driven in headless Chromium (`scripts/clients/dashboard-check.mjs`, playwright-core), which
//! saves a screenshot to `target/dashboard.png`.
//!
//! `scripts/test.sh` installs what they need (`npm ci`, `tsc`, Debian's chromium) and sets
//! `SIGNAL_ENGINE_REQUIRE_CLIENTS=1`; without it, a machine lacking Node or Chromium skips
//! them with a message.
#![allow(clippy::disallowed_methods)] // runs real processes with wall-clock deadlines

mod common;

use common::api_engine::ApiEngine;
use common::{assert_valid, schema};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The Node program and Chromium, or None (skip) when missing and not required.
fn toolchain() -> Option<(PathBuf, PathBuf)> {
    let chromium = PathBuf::from(std::env::var("CHROMIUM").unwrap_or("/usr/bin/chromium".into()));
    let built = root().join("scripts/clients/dist/bot.js");
    let modules = root().join("scripts/clients/node_modules/playwright-core");
    let node_ok = Command::new("node").arg("--version").output().is_ok();
    let missing: Vec<&str> = [
        (!node_ok).then_some("node"),
        (!built.is_file()).then_some("scripts/clients/dist (npm ci && npx tsc -p .)"),
        (!modules.is_dir()).then_some("scripts/clients/node_modules (npm ci)"),
        (!chromium.is_file()).then_some("chromium"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if missing.is_empty() {
        return Some((PathBuf::from("node"), chromium));
    }
    let required = std::env::var("SIGNAL_ENGINE_REQUIRE_CLIENTS").is_ok_and(|v| v == "1");
    assert!(!required, "client tests required but missing: {missing:?}");
    eprintln!(
        "skipping the client and dashboard tests: missing {missing:?} (scripts/test.sh installs them)"
    );
    None
}

fn ok(what: &str, out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed: {}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// `n` JSON lines of `{"id": ..., <signal>}`: consecutive ids, each a valid signal.
fn check_signal_lines(what: &str, stdout: &str, n: usize) {
    let validator = schema("signal.schema.json");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{what}: {e}: {l}")))
        .collect();
    assert_eq!(lines.len(), n, "{what}: {stdout}");
    let ids: Vec<u64> = lines
        .iter()
        .map(|l| l["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{what}: {ids:?}");
    for mut l in lines {
        l.as_object_mut().unwrap().remove("id");
        assert_valid(&validator, &l);
    }
}

#[test]
fn the_example_clients_and_the_dashboard_receive_signals() {
    let Some((node, chromium)) = toolchain() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let engine = ApiEngine::start(tmp.path(), None, 600, "");
    engine.wait_for_signals();
    let url = engine.url("");

    let out = Command::new(&node)
        .arg(root().join("scripts/clients/dist/bot.js"))
        .args(["--max", "5"])
        .env("SIGNAL_ENGINE_URL", &url)
        .output()
        .unwrap();
    check_signal_lines("the TypeScript bot", &ok("node bot.js", &out), 5);

    let python = std::env::var("SIGNAL_ENGINE_PYTHON").unwrap_or("python3".into());
    let out = Command::new(python)
        .arg(root().join("scripts/clients/signal_engine_client.py"))
        .args(["--url", &url, "--max", "5"])
        .output()
        .unwrap();
    check_signal_lines("the Python client", &ok("signal_engine_client.py", &out), 5);

    let shot = root().join("target/dashboard.png");
    let _ = std::fs::remove_file(&shot);
    let out = Command::new(&node)
        .arg(root().join("scripts/clients/dashboard-check.mjs"))
        .arg(engine.url("/"))
        .arg(&shot)
        .args(["--symbols", "2"])
        .env("CHROMIUM", &chromium)
        .output()
        .unwrap();
    let report: serde_json::Value =
        serde_json::from_str(ok("the dashboard in Chromium", &out).trim()).unwrap();
    let symbols: Vec<&str> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[1].as_str().unwrap())
        .collect();
    assert_eq!(symbols, ["LINKUSDT", "NEARUSDT"], "{report}");
    assert!(report["streamed"].as_u64() > Some(0), "{report}");
    assert_eq!(report["latency"].as_array().unwrap().len(), 6, "{report}");
    let model = report["model"].as_str().unwrap();
    assert!(!model.is_empty() && model != "…", "{report}");
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{}",
        png.len()
    );
    engine.stop();
}
