//! Inference speed of the served model (`models/default`: T = 60, F = 32, d = 128) by the fused
//! CPU forward and by burn's, for `scripts/bench_inference.sh` (which adds PyTorch and prints the
//! table): batch 1 over `BENCH_CALLS` calls (p50, p99), batches 64 and 256 (the median of
//! `BENCH_REPS` calls), on a rayon pool of `BENCH_THREADS` threads (`BENCH_PATHS=fused` or
//! `burn` runs only that one; burn-flex and the fused path
//! both run on it). Also this machine's sgemm ceiling (`matrixmultiply`, 512³, one thread, and on
//! the pool when it splits work the way the fused path does: one product per thread) and each
//! path's achieved GFLOP/s: burn's from the architecture's multiply-adds per window
//! (`FusedNet::model_flops_per_window`), the fused path's from the ones it executes
//! (`FusedNet::flops_per_window`: its composed first layer skips about a sixth of them), so each
//! is compared with the ceiling on the work it does.
//!
//! Run: `BENCH_THREADS=1 cargo bench --bench inference` (release). Prints one line per
//! measurement: `<path>_infer batch=.. threads=.. p50_us=.. p99_us=.. windows_per_s=.. gflops=..`.
#![allow(clippy::disallowed_methods)] // a benchmark times itself on the wall clock

use signal_engine::config::Config;
use signal_engine::features::FeatureSpec;
use signal_engine::registry::load_bundle;
use std::path::Path;
use std::time::Instant;

fn env(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn windows(n: usize, len: usize, seed: usize) -> Vec<f32> {
    (0..n * len)
        .map(|i| (((i + seed * 7919) as f32) * 0.377).sin() * 2.0)
        .collect()
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

fn time_calls(calls: usize, mut f: impl FnMut()) -> Vec<f64> {
    let mut us: Vec<f64> = (0..calls)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    us.sort_by(f64::total_cmp);
    us
}

fn sgemm_gflops(threads: usize) -> f64 {
    let n = 512;
    let a = windows(n, n, 1);
    let b = windows(n, n, 2);
    let run = |c: &mut [f32]| unsafe {
        // SAFETY: a, b and c are n×n, row-major, distinct.
        matrixmultiply::sgemm(
            n,
            n,
            n,
            1.0,
            a.as_ptr(),
            n as isize,
            1,
            b.as_ptr(),
            n as isize,
            1,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        )
    };
    // Four products per thread per call (≈ 7 ms), the best of 20 calls: with one product per
    // call (≈ 1.7 ms) the two-thread figure swung between one core's and two cores' worth, run to
    // run, as the second thread was not always running yet.
    const PER_THREAD: usize = 4;
    let mut cs = vec![vec![0.0f32; n * n]; threads];
    let best = time_calls(20, || {
        use rayon::prelude::*;
        cs.par_iter_mut().for_each(|c| {
            for _ in 0..PER_THREAD {
                run(c)
            }
        });
    })[0];
    (threads * PER_THREAD) as f64 * 2.0 * (n * n * n) as f64 / best / 1e3
}

fn main() {
    let threads = env("BENCH_THREADS", 1);
    let calls = env("BENCH_CALLS", 500);
    let reps = env("BENCH_REPS", 20);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon pool");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (cfg, _) = Config::load(Some(&root.join("config/default.toml"))).expect("config");
    let spec = FeatureSpec::new(&cfg.features.names).expect("spec");
    let model = load_bundle(&root.join("models/default"), &spec).expect("models/default");
    let fused = model.fused.as_ref().expect("fused forward");
    let (t, f) = (model.manifest.seq_len, model.spec.len());
    let flops = fused.model_flops_per_window();
    let fused_flops = fused.flops_per_window();
    pool.install(|| {
        println!(
            "sgemm threads={threads} gflops={:.1} one_thread_gflops={:.1} flops_per_window={flops:.0} fused_flops_per_window={fused_flops:.0}",
            sgemm_gflops(threads),
            sgemm_gflops(1)
        );
        let only = std::env::var("BENCH_PATHS").unwrap_or_default();
        for (path, fused_path) in [("fused", true), ("burn", false)] {
            if !only.is_empty() && !only.split(',').any(|p| p == path) {
                continue;
            }
            for batch in [1usize, 64, 256] {
                let x = windows(batch, t * f, batch);
                let call = || {
                    if fused_path {
                        std::hint::black_box(fused.predict(&x, batch));
                    } else {
                        std::hint::black_box(model.net.predict(
                            x.clone(),
                            batch,
                            t,
                            f,
                            &model.device,
                        ));
                    }
                };
                for _ in 0..3 {
                    call();
                }
                let n = if batch == 1 { calls } else { reps };
                let us = time_calls(n, call);
                let p50 = percentile(&us, 0.5);
                let wps = batch as f64 * 1e6 / p50;
                let executed = if fused_path { fused_flops } else { flops };
                println!(
                    "{path}_infer batch={batch} threads={threads} p50_us={p50:.1} p99_us={:.1} windows_per_s={wps:.1} gflops={:.2}",
                    percentile(&us, 0.99),
                    wps * executed / 1e9
                );
            }
        }
    });
}
