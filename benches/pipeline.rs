//! Stage costs of the walking skeleton, on real bars: the feature engine per bar and the model
//! forward per batch (batch 1 vs 64, so the per-window gain of micro-batching is the ratio of the
//! two in one run). Run: `cargo bench --bench pipeline`.

use burn::tensor::{Distribution, Tensor};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use signal_engine::event::MarketEvent;
use signal_engine::features::{FeatureEngine, FeatureSpec};
use signal_engine::ingest::replay::{ReplayOptions, ReplaySource};
use signal_engine::model::SignalNetConfig;
use signal_engine::model::backend::{InferBackend, device};
use signal_engine::trainer::Dataset;
use std::sync::Arc;

fn demo_events() -> Vec<MarketEvent> {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/klines/demo/LINKUSDT-1m-2026-02.csv.gz"
    );
    ReplaySource::open(&[p], &ReplayOptions::default())
        .and_then(|s| s.collect::<Result<Vec<_>, _>>())
        .unwrap_or_else(|e| panic!("bench fixture: {e}"))
}

fn features(c: &mut Criterion) {
    let events = demo_events();
    let spec = FeatureSpec::new(&FeatureSpec::default_names()).unwrap_or_else(|e| panic!("{e}"));
    let labels = signal_engine::config::LabelsConfig::default();
    let ds = Dataset::build(events.iter().cloned(), &spec, 60, 60_000, &labels);
    let scaler = Arc::new(
        ds.fit_scaler(&spec, i64::MAX, 10.0)
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let mut g = c.benchmark_group("features");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("engine_1440_bars", |b| {
        b.iter(|| {
            let mut e = FeatureEngine::new(spec.clone(), scaler.clone(), 60, 60_000);
            events.iter().filter_map(|ev| e.on_event(ev)).count()
        })
    });
    g.finish();
}

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

criterion_group!(benches, features, forward);
criterion_main!(benches);
