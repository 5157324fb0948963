//! What an atomic model swap costs the pipeline: the bundled demo day (6 symbols, 7,926 windows)
//! replayed at max speed through models/default, served from a registry, without swaps and with
//! `CURRENT` moving every second (each move: the engine's watch loads the other version, checks
//! it, smoke-tests it and swaps it in while inference runs). Runs alternate (off, on, off, on) so
//! drift on a noisy machine hits both; the table gives each run and the ratios of the medians.
//!
//! Run: `cargo bench --bench swap` (release; about two minutes on 2 cores).
#![allow(clippy::disallowed_methods)] // a benchmark times itself on the wall clock

use signal_engine::app::{ReplayJob, Speed, Summary, run_replay};
use signal_engine::config::Config;
use signal_engine::features::FeatureSpec;
use signal_engine::registry::{Action, Registry, load_bundle, save_bundle};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A registry with models/default and a second version of the same weights and scaler.
fn registry(dir: &Path, cfg: &Config) -> (Registry, [String; 2]) {
    let reg = Registry::open(dir).expect("registry");
    let first = reg.import(&repo("models/default")).expect("import");
    reg.set_current(&first, Action::Import, "bench")
        .expect("current");
    let spec = FeatureSpec::new(&cfg.features.names).expect("spec");
    let m = load_bundle(&reg.bundle_dir(&first), &spec).expect("load");
    let mut manifest = m.manifest.clone();
    manifest.version = "bench-b".into();
    let dir_b = reg.bundle_dir("bench-b");
    save_bundle(
        &dir_b,
        &mut manifest,
        &m.scaler,
        m.streaming.as_ref(),
        &m.net,
        |_| Vec::new(),
    )
    .expect("save");
    (reg, [first, "bench-b".into()])
}

fn run(cfg: &Config, reg: &Registry, versions: &[String; 2], swaps: bool) -> (Summary, usize) {
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = swaps.then(|| {
        let (reg, vs, stop) = (reg.clone(), versions.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs(1));
                n += 1;
                let _ = reg.set_current(&vs[n % 2], Action::Promote, "bench");
            }
            n
        })
    });
    let data = repo("tests/fixtures/klines/demo");
    let job = ReplayJob {
        config: cfg.clone(),
        config_name: "bench".into(),
        input: Default::default(),
        data: vec![data],
        model_dir: repo("models/default"),
        out: None,
        speed: Speed::Max,
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let summary = rt.block_on(run_replay(job)).expect("replay");
    stop.store(true, Ordering::Relaxed);
    let moves = swapper.map_or(0, |h| h.join().unwrap_or(0));
    (summary, moves)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let tmp = std::env::temp_dir().join(format!("signal-engine-swap-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let (mut cfg, _) = Config::load(None).expect("embedded config");
    cfg.replay.dead_letter = None;
    cfg.sink.jsonl = None;
    let (reg, versions) = registry(&tmp, &cfg);
    cfg.model.registry = Some(tmp.clone());
    cfg.model.watch_interval_ms = 50;
    println!(
        "{:<6} {:>6} {:>10} {:>12} {:>12} {:>12} {:>14} {:>14}",
        "swaps",
        "moves",
        "windows/s",
        "e2e p50 ms",
        "e2e p99 ms",
        "e2e p99.9 ms",
        "proc p99.9 us",
        "fwd p99.9 us"
    );
    let mut rows: [Vec<[f64; 4]>; 2] = [Vec::new(), Vec::new()];
    for round in 0..4 {
        let swaps = round % 2 == 1;
        let (s, moves) = run(&cfg, &reg, &versions, swaps);
        let e = &s.stages.end_to_end;
        println!(
            "{:<6} {:>6} {:>10.0} {:>12.1} {:>12.1} {:>12.1} {:>14} {:>14}",
            if swaps { "1/s" } else { "off" },
            moves,
            s.windows_per_sec,
            e.p50_us as f64 / 1e3,
            e.p99_us as f64 / 1e3,
            e.p999_us as f64 / 1e3,
            s.processing.p999_us,
            s.batch_compute.p999_us
        );
        let swapped = s.models.as_ref().map_or(0, |m| m.swaps);
        assert!(!swaps || swapped > 0, "the run with swaps swapped nothing");
        rows[usize::from(swaps)].push([
            s.windows_per_sec,
            e.p999_us as f64,
            s.processing.p999_us as f64,
            s.batch_compute.p999_us as f64,
        ]);
    }
    let ratio = |k: usize| {
        let m = |i: usize| median(rows[i].iter().map(|r| r[k]).collect());
        m(1) / m(0)
    };
    println!(
        "with swaps / without (medians): windows/s {:.3}, end-to-end p99.9 {:.3}, processing p99.9 {:.3}, forward p99.9 {:.3}",
        ratio(0),
        ratio(1),
        ratio(2),
        ratio(3)
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
