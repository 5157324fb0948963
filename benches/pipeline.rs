//! Model forward cost per batch (batch 1 vs 64, so the per-window gain of micro-batching is the
//! ratio of the two in one run). Run: `cargo bench --bench pipeline`. The feature engine's cost is
//! `benches/features.rs`.

use burn::tensor::{Distribution, Tensor};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use signal_engine::model::SignalNetConfig;
use signal_engine::model::backend::{InferBackend, device};

fn forward(c: &mut Criterion) {
    let dev = device();
    let net = SignalNetConfig::new(9).init::<InferBackend>(&dev);
    let mut g = c.benchmark_group("signalnet_forward_T60_d128");
    g.sample_size(10);
    for batch in [1usize, 64] {
        let x =
            Tensor::<InferBackend, 3>::random([batch, 60, 9], Distribution::Normal(0.0, 1.0), &dev);
        g.throughput(Throughput::Elements(batch as u64));
        g.bench_with_input(BenchmarkId::from_parameter(batch), &x, |b, x| {
            b.iter(|| net.forward(x.clone()).logit.into_data())
        });
    }
    g.finish();
}

criterion_group!(benches, forward);
criterion_main!(benches);
