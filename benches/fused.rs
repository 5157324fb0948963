//! The fused CPU forward (`src/model/fused.rs`) against burn's forward of the same weights: the
//! bundled `models/default` (T = 60, F = 32, d = 128), batches of 1, 64 and 256 windows, both in
//! the same run; the packed product kernel against `matrixmultiply` on the model's two product
//! shapes; and the vectorised exp / sigmoid / tanh against `std`'s over 4,096 values.
//!
//! Run: `cargo bench --bench fused` (release). The ratio to read is burn's time over the fused
//! time for the same batch; the PyTorch comparison is `scripts/bench_inference.sh` (a later step).

use criterion::{BenchmarkId, Criterion, Throughput, black_box, criterion_group, criterion_main};
use signal_engine::config::Config;
use signal_engine::features::FeatureSpec;
use signal_engine::model::fused::{exp_approx, sigmoid_approx, tanh_approx};
use signal_engine::registry::load_bundle;
use std::path::Path;

fn windows(n: usize, len: usize) -> Vec<f32> {
    (0..n * len)
        .map(|i| ((i as f32) * 0.377).sin() * 2.0)
        .collect()
}

fn forward(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml");
    let (cfg, _) = Config::load(Some(&path)).expect("config/default.toml");
    let spec = FeatureSpec::new(&cfg.features.names).expect("spec");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default");
    let model = load_bundle(&dir, &spec).expect("models/default");
    let fused = model
        .fused
        .as_ref()
        .expect("the fused forward passed its load check");
    let (t, f) = (model.manifest.seq_len, model.spec.len());
    let mut g = c.benchmark_group("forward");
    g.sample_size(20);
    for n in [1usize, 64, 256] {
        let x = windows(n, t * f);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("fused", n), &x, |b, x| {
            b.iter(|| fused.predict(black_box(x), n))
        });
        g.bench_with_input(BenchmarkId::new("burn", n), &x, |b, x| {
            b.iter(|| {
                model
                    .net
                    .predict(black_box(x.clone()), n, t, f, &model.device)
            })
        });
    }
    g.finish();
}

/// `signal_engine_kernels::gemm_acc` (weights packed once) against `matrixmultiply::sgemm`
/// (packs per call) on the recurrent step (`[n × 64] · [64 × 256]`) and a layer's input-to-gate
/// product (`[60 × 128] · [128 × 512]`, one window's steps).
fn kernel(c: &mut Criterion) {
    use signal_engine_kernels::{Packed, gemm_acc};
    let mut g = c.benchmark_group("product");
    for (m, k, n) in [
        (1usize, 64usize, 256usize),
        (64, 64, 256),
        (256, 64, 256),
        (60, 128, 512),
    ] {
        let a = windows(m, k);
        let w = windows(k, n);
        let packed = Packed::new(&w, k, n);
        let mut out = vec![0.0f32; m * n];
        g.throughput(Throughput::Elements((2 * m * k * n) as u64));
        let shape = format!("{m}x{k}x{n}");
        g.bench_function(BenchmarkId::new("packed", &shape), |b| {
            b.iter(|| gemm_acc(m, black_box(&a), k, &packed, &mut out, n))
        });
        g.bench_function(BenchmarkId::new("matrixmultiply", &shape), |b| {
            b.iter(|| {
                // SAFETY: a is m × k, w is k × n and out is m × n, all row-major and distinct.
                unsafe {
                    matrixmultiply::sgemm(
                        m,
                        k,
                        n,
                        1.0,
                        black_box(a.as_ptr()),
                        k as isize,
                        1,
                        w.as_ptr(),
                        n as isize,
                        1,
                        1.0,
                        out.as_mut_ptr(),
                        n as isize,
                        1,
                    )
                }
            })
        });
    }
    g.finish();
}

fn activations(c: &mut Criterion) {
    let x: Vec<f32> = (0..4096).map(|i| (i as f32 - 2048.0) / 256.0).collect();
    let mut out = vec![0.0f32; x.len()];
    let mut g = c.benchmark_group("activations_4096");
    g.throughput(Throughput::Elements(x.len() as u64));
    type Pair = (&'static str, fn(f32) -> f32, fn(f32) -> f32);
    let pairs: [Pair; 3] = [
        ("exp", exp_approx, f32::exp),
        ("sigmoid", sigmoid_approx, |v: f32| 1.0 / (1.0 + (-v).exp())),
        ("tanh", tanh_approx, f32::tanh),
    ];
    for (name, fast, reference) in pairs {
        g.bench_function(format!("{name}/fused"), |b| {
            b.iter(|| {
                for (o, v) in out.iter_mut().zip(black_box(&x)) {
                    *o = fast(*v);
                }
            })
        });
        g.bench_function(format!("{name}/std"), |b| {
            b.iter(|| {
                for (o, v) in out.iter_mut().zip(black_box(&x)) {
                    *o = reference(*v);
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, forward, kernel, activations);
criterion_main!(benches);
