//! Feature-engine cost per bar update, on real bars (Binance USDT-M LINKUSDT 1m, February 2026).
//!
//! Run: `cargo bench --bench features`. It measures, in one run:
//! * `update/*`: one symbol's bar update on its own (state machine + indicators + scaling + window
//!   push, no window copied out), for the skeleton's 9 features (the reference) and the full
//!   32-feature set, so the report gives the full set as a ratio to the reference;
//! * `engine/*`: `FeatureEngine::on_event` (symbol lookup and the emitted window's copy included)
//!   with 1 and 10,000 symbols, the 10,000 fed round-robin as a live multi-symbol feed would be;
//! * the heap per symbol at T = 60, F = 32, counted by a counting allocator and printed.
//!
//! The goal (issue 3): ≥ 5 M bar updates per second per core (≤ 200 ns per update) and ≤ 16 KiB
//! of state per symbol. Both are printed next to the measurement; nothing here asserts a time.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use signal_engine::event::{EventKind, Exchange, MarketEvent, Symbol};
use signal_engine::features::{
    FeatureEngine, FeatureSpec, StatePolicy, Step, SymbolState, WindowBuffer,
};
use signal_engine::ingest::replay::{ReplayOptions, ReplaySource};
use signal_engine::scaling::RobustScaler;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts live heap bytes, for the per-symbol memory figure.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new, Ordering::Relaxed);
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const T: usize = 60;
const MINUTE: i64 = 60_000;

fn real_bars() -> Vec<MarketEvent> {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/klines/train/LINKUSDT-1m-2026-02.csv.gz"
    );
    ReplaySource::open(&[p], &ReplayOptions::default())
        .and_then(|s| s.collect::<Result<Vec<_>, _>>())
        .unwrap_or_else(|e| panic!("bench fixture: {e}"))
}

fn spec(names: &[String]) -> FeatureSpec {
    FeatureSpec::new(names).unwrap_or_else(|e| panic!("{e}"))
}

/// A scaler fitted on the rows of the data itself (its values do not change the cost).
fn scaler(spec: &FeatureSpec, events: &[MarketEvent]) -> Arc<RobustScaler> {
    let mut s = SymbolState::new(spec, StatePolicy::strict(MINUTE, T));
    let mut rows = Vec::new();
    for ev in events.iter().take(5_000) {
        if let Some(b) = ev.as_bar() {
            let _ = s.on_bar(b, None, |st| {
                if let Step::Bar {
                    row,
                    complete: true,
                    ..
                } = st
                {
                    rows.push(row.to_vec());
                }
            });
        }
    }
    Arc::new(RobustScaler::fit(spec.names(), &rows, 10.0).unwrap_or_else(|e| panic!("{e}")))
}

/// Replays `bars` for ever: bar i of the cycle gets open time `i` minutes, prices from the data.
struct Feed<'a> {
    bars: &'a [MarketEvent],
    i: usize,
}

impl Feed<'_> {
    fn next_into(&mut self, ev: &mut MarketEvent, minute: i64) {
        let src = &self.bars[self.i % self.bars.len()];
        self.i += 1;
        if let (EventKind::Bar(dst), Some(b)) = (&mut ev.kind, src.as_bar()) {
            *dst = b.clone();
            dst.open_time_ms = minute * MINUTE;
            dst.close_time_ms = minute * MINUTE + MINUTE - 1;
            ev.ts_event_ns = dst.close_time_ms * 1_000_000;
            ev.ts_recv_ns = ev.ts_event_ns;
        }
    }
}

fn update(c: &mut Criterion) {
    let events = real_bars();
    let mut g = c.benchmark_group("features/update");
    g.throughput(Throughput::Elements(1));
    for (name, names) in [
        ("default_9", FeatureSpec::default_names()),
        ("full_32", FeatureSpec::full_names()),
    ] {
        let spec = spec(&names);
        let scaler = scaler(&spec, &events);
        g.bench_function(name, |b| {
            let mut state = SymbolState::new(&spec, StatePolicy::strict(MINUTE, T));
            let mut window = WindowBuffer::new(T, spec.len());
            let mut scaled = Vec::with_capacity(spec.len());
            let mut feed = Feed {
                bars: &events,
                i: 0,
            };
            let mut ev = events[0].clone();
            let mut minute = 0;
            b.iter(|| {
                feed.next_into(&mut ev, minute);
                minute += 1;
                let Some(bar) = ev.as_bar() else { return };
                let _ = state.on_bar(bar, None, |st| {
                    if let Step::Bar {
                        row,
                        complete: true,
                        filled,
                        ..
                    } = st
                    {
                        let clipped = scaler.transform_into(row, &mut scaled);
                        window.push(&scaled, clipped, filled);
                    }
                });
            })
        });
    }
    g.finish();
}

fn engine(c: &mut Criterion) {
    let events = real_bars();
    let spec = spec(&FeatureSpec::full_names());
    let scaler = scaler(&spec, &events);
    let mut g = c.benchmark_group("features/engine_full_32");
    g.throughput(Throughput::Elements(1));
    for n_symbols in [1usize, 10_000] {
        let mut templates: Vec<MarketEvent> = (0..n_symbols)
            .map(|s| {
                let mut ev = events[0].clone();
                ev.exchange = Exchange::BinanceFutures;
                ev.symbol = Symbol::new(&format!("SYM{s}USDT"));
                ev
            })
            .collect();
        g.bench_function(format!("{n_symbols}_symbols"), |b| {
            let mut engine =
                FeatureEngine::new(spec.clone(), scaler.clone(), StatePolicy::strict(MINUTE, T));
            // Each symbol reads the real series from its own offset, so they are not in lockstep.
            let mut feeds: Vec<Feed> = (0..n_symbols)
                .map(|s| Feed {
                    bars: &events,
                    i: s * 7,
                })
                .collect();
            let (mut k, mut windows) = (0usize, 0usize);
            b.iter(|| {
                let s = k % n_symbols;
                let minute = (k / n_symbols) as i64;
                k += 1;
                feeds[s].next_into(&mut templates[s], minute);
                windows += usize::from(engine.on_event(&templates[s]).is_some());
            });
            std::hint::black_box(windows);
        });
    }
    g.finish();
    memory(&spec, &scaler, &events);
}

/// Heap per symbol: 10,000 warm symbols in one engine, live bytes before and after.
fn memory(spec: &FeatureSpec, scaler: &Arc<RobustScaler>, events: &[MarketEvent]) {
    let n = 10_000usize;
    let mut templates: Vec<MarketEvent> = (0..n)
        .map(|s| {
            let mut ev = events[0].clone();
            ev.symbol = Symbol::new(&format!("SYM{s}USDT"));
            ev
        })
        .collect();
    let before = LIVE.load(Ordering::Relaxed);
    let mut engine =
        FeatureEngine::new(spec.clone(), scaler.clone(), StatePolicy::strict(MINUTE, T));
    let mut feed = Feed { bars: events, i: 0 };
    for minute in 0..(T as i64 + 80) {
        for ev in templates.iter_mut() {
            feed.next_into(ev, minute);
            std::hint::black_box(engine.on_event(ev));
        }
    }
    let after = LIVE.load(Ordering::Relaxed);
    let per_symbol = (after.saturating_sub(before)) as f64 / n as f64;
    println!(
        "memory: {} symbols, T = {T}, F = {}: {:.0} B per symbol ({:.2} KiB; goal ≤ 16 KiB), {} windows",
        n,
        spec.len(),
        per_symbol,
        per_symbol / 1024.0,
        engine.stats().windows
    );
    drop(engine);
}

criterion_group!(benches, update, engine);
criterion_main!(benches);
