//! Exchange parser cost on recorded messages: `Venue::parse` messages per second on one core,
//! heap allocations per message, and the ratio to a reference measured in the same run on the
//! same bytes: `serde_json::from_slice::<serde_json::Value>` (what any parser that builds a
//! `Value` first pays before reading a field).
//!
//! Run: `cargo bench --bench parsers`. It prints criterion's figures (`parsers/<exchange>/<group>`,
//! one element per message) and then one table row per exchange and message group:
//! * groups come from the fixtures in `tests/fixtures/ws/<exchange>/`: each recorded session
//!   (`*.gz`, cryptofeed lines `<recv time>: <json>`) split by the channel of its combined-stream
//!   wrapper (`kline`, `aggTrade`, `bookTicker`, `depth`), and `single` for the one-message
//!   files (`*.json`); `all` is every message;
//! * messages/s: the best of 5 timed runs over the group (each at least 200 ms), single
//!   thread, timed by the thread's CPU time (Linux `/proc/thread-self/schedstat`; the wall clock
//!   elsewhere), so other processes on a shared machine do not lower it, as they do criterion's
//!   wall-clock figures; allocations/message: counted by the global allocator over one pass
//!   after a warm-up pass.
//!
//! The goal (issue 6): ≥ 1 M Binance kline and aggTrade messages per second per core. Nothing
//! here asserts a time. Adding an exchange is one line in [`venues`].

#![allow(clippy::disallowed_methods)] // a benchmark times itself with the wall clock

use criterion::{Criterion, Throughput};
use signal_engine::event::MarketEvent;
use signal_engine::ingest::exchange::Venue;
use signal_engine::ingest::exchange::binance::BinanceVenue;
use signal_engine::ingest::exchange::bybit::BybitVenue;
use signal_engine::ingest::exchange::coinbase::CoinbaseVenue;
use signal_engine::ingest::exchange::kraken::KrakenVenue;
use signal_engine::ingest::exchange::okx::OkxVenue;
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Counts heap allocations (reallocations included), for the allocations-per-message column.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The exchanges measured: a label, the venue, and its fixture folder under
/// `tests/fixtures/ws/`. One line per exchange.
fn venues() -> Vec<(&'static str, Box<dyn Venue>, &'static str)> {
    vec![
        ("binance", Box::new(BinanceVenue::futures()), "binance"),
        ("bybit", Box::new(BybitVenue), "bybit"),
        ("okx", Box::new(OkxVenue), "okx"),
        ("coinbase", Box::new(CoinbaseVenue), "coinbase"),
        ("kraken", Box::new(KrakenVenue), "kraken"),
    ]
}

/// A fixture folder's messages, by group (see the module doc).
fn messages(folder: &str) -> BTreeMap<String, Vec<Vec<u8>>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ws")
        .join(folder);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    entries.sort();
    let mut groups: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    for path in entries {
        let name = path.to_string_lossy();
        if name.ends_with(".json") {
            let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            groups.entry("single".into()).or_default().push(raw);
        } else if name.ends_with(".gz") {
            for line in session_lines(&path) {
                groups
                    .entry(channel(&line))
                    .or_default()
                    .push(line.into_bytes());
            }
        }
    }
    let all: Vec<Vec<u8>> = groups.values().flatten().cloned().collect();
    groups.insert("all".into(), all);
    groups
}

/// The JSON of each received line of a cryptofeed recording (the first line is the URL).
fn session_lines(path: &Path) -> Vec<String> {
    let mut text = String::new();
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .skip(1)
        .filter_map(|line| line.split_once(": ").map(|(_, json)| json.to_string()))
        .collect()
}

/// `kline` for a `{"stream":"btcusdt@kline_1m",..}` line; `session` without a wrapper.
fn channel(json: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let stream = value["stream"].as_str().unwrap_or("x@session");
    let channel = stream.split('@').nth(1).unwrap_or("session");
    channel.split('_').next().unwrap_or(channel).to_string()
}

fn parse_all(venue: &dyn Venue, messages: &[Vec<u8>], out: &mut Vec<MarketEvent>) -> usize {
    let mut ok = 0;
    for raw in messages {
        out.clear();
        ok += usize::from(black_box(venue.parse(black_box(raw), 1, out)).is_ok());
    }
    ok
}

fn value_all(messages: &[Vec<u8>]) -> usize {
    messages
        .iter()
        .map(|raw| usize::from(black_box(serde_json::from_slice::<serde_json::Value>(raw)).is_ok()))
        .sum()
}

/// This thread's CPU time in ns (Linux `schedstat`), if the system tells.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Messages per second of `pass` over `n` messages: the best of 5 runs of at least 200 ms, by
/// the thread's CPU time where the system reports it (so other processes on a shared machine
/// do not count), else by the wall clock.
fn rate(n: usize, mut pass: impl FnMut() -> usize) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..5 {
        let (start, cpu_start, mut passes) = (Instant::now(), thread_cpu_ns(), 0u32);
        while passes == 0 || start.elapsed() < Duration::from_millis(200) {
            black_box(pass());
            passes += 1;
        }
        let wall = start.elapsed().as_secs_f64();
        let spent = match (cpu_start, thread_cpu_ns()) {
            (Some(a), Some(b)) if b > a => (b - a) as f64 / 1e9,
            _ => wall,
        };
        best = best.min(spent / f64::from(passes));
    }
    n as f64 / best
}

/// Heap allocations per message of one pass, after a warm-up pass.
fn allocations(n: usize, mut pass: impl FnMut() -> usize) -> f64 {
    black_box(pass());
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    black_box(pass());
    (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / n as f64
}

fn criterion_runs(c: &mut Criterion) {
    for (label, venue, folder) in venues() {
        let mut group = c.benchmark_group(format!("parsers/{label}"));
        for (name, msgs) in messages(folder) {
            group.throughput(Throughput::Elements(msgs.len() as u64));
            let mut out = Vec::with_capacity(16);
            group.bench_function(name.as_str(), |b| {
                b.iter(|| parse_all(venue.as_ref(), &msgs, &mut out))
            });
            group.bench_function(format!("{name}/serde_json_value"), |b| {
                b.iter(|| value_all(&msgs))
            });
        }
        group.finish();
    }
}

fn table() {
    println!();
    println!(
        "{:<10} {:<11} {:>6} {:>14} {:>13} {:>16} {:>10} {:>8}",
        "exchange",
        "group",
        "msgs",
        "parse msg/s",
        "allocs/msg",
        "Value msg/s",
        "Value a/m",
        "ratio"
    );
    for (label, venue, folder) in venues() {
        for (name, msgs) in messages(folder) {
            let mut out = Vec::with_capacity(16);
            let ok = parse_all(venue.as_ref(), &msgs, &mut out);
            let parse = rate(msgs.len(), || parse_all(venue.as_ref(), &msgs, &mut out));
            let parse_allocs =
                allocations(msgs.len(), || parse_all(venue.as_ref(), &msgs, &mut out));
            let reference = rate(msgs.len(), || value_all(&msgs));
            let reference_allocs = allocations(msgs.len(), || value_all(&msgs));
            println!(
                "{label:<10} {name:<11} {:>6} {:>14.0} {:>13.2} {:>16.0} {:>10.2} {:>7.2}x{}",
                msgs.len(),
                parse,
                parse_allocs,
                reference,
                reference_allocs,
                parse / reference,
                if ok < msgs.len() {
                    format!("  ({} refused)", msgs.len() - ok)
                } else {
                    String::new()
                }
            );
        }
    }
    println!(
        "ratio = parse msg/s ÷ serde_json::Value msg/s on the same bytes; goal: ≥ 1,000,000 \
         Binance kline and aggTrade msg/s per core"
    );
}

fn main() {
    let mut c = Criterion::default()
        .configure_from_args()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    criterion_runs(&mut c);
    c.final_summary();
    // `--profile-time` (a profiler run of chosen benchmarks) wants nothing else running.
    if !std::env::args().any(|a| a == "--profile-time") {
        table();
    }
}
