//! Shared helpers for the integration tests: fixture paths and a tiny model trained on real data.
#![allow(dead_code)]

pub mod api_engine;
pub mod kafka;
pub mod ws_server;

use signal_engine::config::Config;
use signal_engine::event::MarketEvent;
use signal_engine::features::FeatureSpec;
use signal_engine::ingest::replay::{ReplayOptions, ReplaySource};
use signal_engine::registry::{load_bundle, save_bundle};
use signal_engine::trainer::{Quiet, train};
use std::path::{Path, PathBuf};

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

pub fn read_events(paths: &[PathBuf]) -> Vec<MarketEvent> {
    ReplaySource::open(paths, &ReplayOptions::default())
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

/// A config small enough to train in seconds in a debug build, with the default feature list.
pub fn tiny_config() -> Config {
    let mut c = Config::default();
    c.features.seq_len = 16;
    c.train.d_model = 8;
    c.train.n_heads = 2;
    c.train.d_hidden = 8;
    c.train.epochs = 2;
    c.train.warmup_epochs = 1;
    c.train.batch_size = 64;
    c.train.sample_stride = 25;
    c.inference.max_batch = 16;
    c
}

/// Trains `cfg` on the LINKUSDT training fixture and writes the bundle to `dir`.
pub fn train_tiny_bundle(cfg: &Config, dir: &Path) -> signal_engine::registry::Manifest {
    let data = vec![fixture("klines/train/LINKUSDT-1m-2026-02.csv.gz")];
    train_bundle(cfg, read_events(&data), dir)
}

/// Trains `cfg` on `events` and writes the bundle to `dir`.
pub fn train_bundle(
    cfg: &Config,
    events: Vec<MarketEvent>,
    dir: &Path,
) -> signal_engine::registry::Manifest {
    let mut out = train::train(cfg, events, Vec::new(), &mut Quiet).unwrap();
    save_bundle(
        dir,
        &mut out.manifest,
        &out.scaler,
        Some(&out.streaming),
        &out.net,
        |_| Vec::new(),
    )
    .unwrap();
    out.manifest
}

pub fn schema(name: &str) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(name);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&v).unwrap()
}

pub fn assert_valid(validator: &jsonschema::Validator, instance: &serde_json::Value) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "{instance} violates the schema: {errors:?}"
    );
}

/// Windows from the demo file, scaled by `bundle`'s scaler, as the engine emits them.
pub fn demo_windows(
    cfg: &signal_engine::config::Config,
    bundle: &std::path::Path,
) -> Vec<signal_engine::features::Window> {
    let spec = FeatureSpec::new(&cfg.features.names).unwrap();
    let model = load_bundle(bundle, &spec).unwrap();
    let mut engine = signal_engine::features::FeatureEngine::new(
        spec,
        std::sync::Arc::new(model.scaler.clone()),
        cfg.features.policy(),
    );
    read_events(&[fixture("klines/demo/LINKUSDT-1m-2026-02.csv.gz")])
        .iter()
        .filter_map(|e| engine.on_event(e))
        .collect()
}

#[allow(clippy::disallowed_methods)] // the stage measures latency from this wall-clock stamp
pub fn stamped(
    w: signal_engine::features::Window,
) -> signal_engine::infer::Stamped<signal_engine::features::Window> {
    let now = std::time::Instant::now();
    signal_engine::infer::Stamped::new(w, now, 1, None, now)
}

/// Runs a test body on a thread with a 32 MiB stack, passing its panic on: bodies that train a
/// model in a debug build and hold a runtime's futures in their frame outgrow a test thread's
/// 2 MiB.
pub fn with_big_stack(f: impl FnOnce() + Send + 'static) {
    let joined = std::thread::Builder::new()
        .stack_size(32 << 20)
        .spawn(f)
        .unwrap()
        .join();
    if let Err(e) = joined {
        std::panic::resume_unwind(e);
    }
}

/// Sends SIGTERM and waits for the exit; panics (a hang) after `limit`.
#[allow(clippy::disallowed_methods)] // waits on a real process with a wall-clock deadline
pub fn sigterm_and_wait(
    child: &mut std::process::Child,
    limit: std::time::Duration,
) -> std::process::ExitStatus {
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let t0 = std::time::Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(
            t0.elapsed() < limit,
            "still running {limit:?} after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// `config/default.toml` as text, runnable from any directory: the bundled model by its absolute
/// path, and served from `registry` when one is given. Tests append their own sections.
pub fn demo_config_text(registry: Option<&Path>) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = root.join("models/default").display().to_string();
    let text = std::fs::read_to_string(root.join("config/default.toml"))
        .unwrap()
        .replace("\"models/default\"", &format!("{model:?}"));
    match registry {
        Some(r) => text.replace(
            "[model]\n",
            &format!("[model]\nregistry = {:?}\n", r.display().to_string()),
        ),
        None => text,
    }
}

/// Saves `model` into `reg` once more as `version` (same weights and scaler).
pub fn save_as_version(
    reg: &signal_engine::registry::Registry,
    model: &signal_engine::registry::LoadedModel,
    version: &str,
    parent: Option<String>,
) {
    let mut m = model.manifest.clone();
    m.version = version.to_string();
    m.parent = parent;
    save_bundle(
        &reg.bundle_dir(version),
        &mut m,
        &model.scaler,
        model.streaming.as_ref(),
        &model.net,
        |_| Vec::new(),
    )
    .unwrap();
}
