//! The running engine's numbers, readable while it runs: per-stage latency histograms, event,
//! window and signal counters, the feature stage's drops by reason, each symbol's last event,
//! and probes into the source (Kafka, websocket feeds, files) and the shadow trainer.
//!
//! In: the stages record into one shared [`LiveMetrics`] per run (a stage histogram is a mutex
//! around an hdrhistogram, taken once per event or per batch; the feature stage publishes its
//! counters and symbols every [`PUBLISH_EVERY`] and at its end). Out: the end-of-run
//! [`crate::app::StageLatencies`], `GET /metrics` (Prometheus) and `GET /readyz`.

#![allow(clippy::disallowed_methods)] // idleness is wall time since a symbol's last event

use super::{LatencyRecorder, LatencySummary};
use crate::event::{EventKind, Exchange, MarketEvent, Symbol};
use crate::features::EngineStats;
use crate::ingest::exchange::supervisor::stats::FeedStats;
use crate::ingest::kafka::Tp;
use crate::ingest::kafka::source::Counters as KafkaCounters;
use crate::trainer::shadow::ShadowProbe;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How often the feature stage publishes its counters and symbols.
pub const PUBLISH_EVERY: Duration = Duration::from_millis(200);

/// The pipeline's stages, as timed per window (per event for `IngestToFeatures`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    IngestToFeatures,
    FeaturesToBatch,
    BatchWait,
    Inference,
    Sink,
    EndToEnd,
}

impl Stage {
    pub const ALL: [Stage; 6] = [
        Stage::IngestToFeatures,
        Stage::FeaturesToBatch,
        Stage::BatchWait,
        Stage::Inference,
        Stage::Sink,
        Stage::EndToEnd,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::IngestToFeatures => "ingest_to_features",
            Stage::FeaturesToBatch => "features_to_batch",
            Stage::BatchWait => "batch_wait",
            Stage::Inference => "inference",
            Stage::Sink => "sink",
            Stage::EndToEnd => "end_to_end",
        }
    }
}

/// Event kinds as counted on the way into the feature stage.
pub const EVENT_KINDS: [&str; 4] = ["trade", "quote", "bar", "gap"];

fn kind_index(k: &EventKind) -> usize {
    match k {
        EventKind::Trade { .. } => 0,
        EventKind::Quote { .. } => 1,
        EventKind::Bar(_) => 2,
        EventKind::Gap { .. } => 3,
    }
}

/// When a symbol's last event entered the feature stage, its event time, and the Kafka
/// partition it came from.
#[derive(Clone, Debug)]
pub struct Seen {
    pub at: Instant,
    pub ts_event_ns: i64,
    pub tp: Option<Tp>,
}

/// What one feature shard last published.
#[derive(Clone, Debug, Default)]
pub struct ShardView {
    /// Counters of every engine the shard ran (dropped partitions' included).
    pub engine: EngineStats,
    pub warmup_windows: u64,
    pub symbols: HashMap<(Exchange, Symbol), Seen>,
}

/// Where the events come from, for readiness and the source counters.
#[derive(Clone)]
pub enum SourceProbe {
    /// Replay files; `done` once the source stage has read them all (or stopped).
    Files { done: Arc<AtomicBool> },
    Kafka {
        counters: Arc<KafkaCounters>,
        /// Consumer lag per partition from librdkafka's statistics.
        lag: Arc<Mutex<BTreeMap<Tp, i64>>>,
        /// Partitions assigned to this consumer now.
        assigned: Arc<dyn Fn() -> usize + Send + Sync>,
    },
    /// Each feed's name, counters and how many connections (shards) it runs.
    Websocket(Vec<(String, Arc<FeedStats>, u64)>),
}

/// The live numbers of one run.
pub struct LiveMetrics {
    started: Instant,
    stages: [Mutex<LatencyRecorder>; 6],
    events_in: [AtomicU64; 4],
    /// Windows handed to the batcher.
    pub windows: AtomicU64,
    pub batches: AtomicU64,
    pub signals: AtomicU64,
    pub long_signals: AtomicU64,
    pub invalid_feature_signals: AtomicU64,
    /// Windows replaced by a newer one of their symbol while the model lagged (websocket runs).
    pub coalesced: AtomicU64,
    shards: Mutex<Vec<ShardView>>,
    source: OnceLock<SourceProbe>,
    shadow: OnceLock<ShadowProbe>,
}

impl Default for LiveMetrics {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            stages: std::array::from_fn(|_| Mutex::new(LatencyRecorder::new())),
            events_in: Default::default(),
            windows: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            signals: AtomicU64::new(0),
            long_signals: AtomicU64::new(0),
            invalid_feature_signals: AtomicU64::new(0),
            coalesced: AtomicU64::new(0),
            shards: Mutex::new(Vec::new()),
            source: OnceLock::new(),
            shadow: OnceLock::new(),
        }
    }
}

fn index(stage: Stage) -> usize {
    Stage::ALL.iter().position(|s| *s == stage).unwrap_or(0)
}

impl LiveMetrics {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Records one value of `stage`.
    pub fn record(&self, stage: Stage, us: u64) {
        self.record_n(stage, us, 1);
    }

    /// Records `n` windows that all took `us` (a batch).
    pub fn record_n(&self, stage: Stage, us: u64, n: usize) {
        if let Ok(mut h) = self.stages[index(stage)].lock() {
            for _ in 0..n {
                h.record(us);
            }
        }
    }

    /// Records each of `values` (one lock for all).
    pub fn record_each(&self, stage: Stage, values: impl IntoIterator<Item = u64>) {
        if let Ok(mut h) = self.stages[index(stage)].lock() {
            for v in values {
                h.record(v);
            }
        }
    }

    /// A copy of one stage's histogram.
    pub fn histogram(&self, stage: Stage) -> LatencyRecorder {
        self.stages[index(stage)]
            .lock()
            .map(|h| h.clone())
            .unwrap_or_default()
    }

    pub fn summary(&self, stage: Stage) -> LatencySummary {
        self.stages[index(stage)]
            .lock()
            .map(|h| h.summary())
            .unwrap_or_default()
    }

    pub fn count_event(&self, kind: &EventKind) {
        self.events_in[kind_index(kind)].fetch_add(1, Ordering::Relaxed);
    }

    /// Events in by kind, in [`EVENT_KINDS`] order.
    pub fn events_in(&self) -> [u64; 4] {
        std::array::from_fn(|i| self.events_in[i].load(Ordering::Relaxed))
    }

    /// A feature shard's slot (call once per shard before it runs).
    pub fn add_shard(&self) -> usize {
        let mut s = self.shards.lock().unwrap_or_else(|e| e.into_inner());
        s.push(ShardView::default());
        s.len() - 1
    }

    pub fn publish_shard(&self, shard: usize, view: ShardView) {
        let mut s = self.shards.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = s.get_mut(shard) {
            *slot = view;
        }
    }

    /// Every shard's engine counters added up, and the warm-up windows.
    pub fn engine(&self) -> (EngineStats, u64) {
        let s = self.shards.lock().unwrap_or_else(|e| e.into_inner());
        let mut total = EngineStats::default();
        let mut warmup = 0;
        for v in s.iter() {
            total.absorb(&v.engine);
            warmup += v.warmup_windows;
        }
        (total, warmup)
    }

    /// Each symbol's last event (the newest over the shards).
    pub fn symbols(&self) -> BTreeMap<(Exchange, Symbol), Seen> {
        let s = self.shards.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: BTreeMap<(Exchange, Symbol), Seen> = BTreeMap::new();
        for (k, seen) in s.iter().flat_map(|v| v.symbols.iter()) {
            match out.get(k) {
                Some(old) if old.at >= seen.at => {}
                _ => {
                    out.insert(k.clone(), seen.clone());
                }
            }
        }
        out
    }

    /// Says where events come from (once per run; later calls are ignored).
    pub fn attach_source(&self, probe: SourceProbe) {
        let _ = self.source.set(probe);
    }

    pub fn source(&self) -> Option<&SourceProbe> {
        self.source.get()
    }

    pub fn attach_shadow(&self, probe: ShadowProbe) {
        let _ = self.shadow.set(probe);
    }

    pub fn shadow(&self) -> Option<&ShadowProbe> {
        self.shadow.get()
    }
}

/// The feature stage's side of the metrics: counts, and publishes what it holds now and then.
pub struct ShardPublisher {
    metrics: Arc<LiveMetrics>,
    shard: usize,
    /// By exchange, then symbol: an event's symbol is looked up without cloning it.
    symbols: HashMap<Exchange, HashMap<Symbol, Seen>>,
}

impl ShardPublisher {
    pub fn new(metrics: Arc<LiveMetrics>) -> Self {
        let shard = metrics.add_shard();
        Self {
            metrics,
            shard,
            symbols: HashMap::new(),
        }
    }

    /// One event (from partition `tp`) entered the stage at `at`.
    pub fn saw(&mut self, ev: &MarketEvent, tp: Option<&Tp>, at: Instant) {
        self.metrics.count_event(&ev.kind);
        let of_exchange = self.symbols.entry(ev.exchange).or_default();
        match of_exchange.get_mut(&ev.symbol) {
            Some(s) => {
                s.at = at;
                s.ts_event_ns = ev.ts_event_ns;
                if s.tp.as_ref() != tp {
                    s.tp = tp.cloned();
                }
            }
            None => {
                let seen = Seen {
                    at,
                    ts_event_ns: ev.ts_event_ns,
                    tp: tp.cloned(),
                };
                of_exchange.insert(ev.symbol.clone(), seen);
            }
        }
    }

    /// Makes `engine` and the symbols seen so far what the metrics show for this shard.
    pub fn publish(&mut self, engine: EngineStats, warmup_windows: u64) {
        let symbols = self
            .symbols
            .iter()
            .flat_map(|(e, m)| m.iter().map(|(s, seen)| ((*e, s.clone()), seen.clone())))
            .collect();
        let view = ShardView {
            engine,
            warmup_windows,
            symbols,
        };
        self.metrics.publish_shard(self.shard, view);
    }

    /// A revoked partition's symbols are no longer this instance's to watch.
    pub fn forget(&mut self, tp: &Tp) {
        for m in self.symbols.values_mut() {
            m.retain(|_, s| s.tp.as_ref() != Some(tp));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_record_and_shards_add_up() {
        let m = LiveMetrics::new();
        m.record_n(Stage::Inference, 100, 3);
        m.record(Stage::Sink, 7);
        assert_eq!(m.summary(Stage::Inference).count, 3);
        assert_eq!(m.summary(Stage::Sink).max_us, 7);
        assert_eq!(m.summary(Stage::EndToEnd).count, 0);
        let (mut a, mut b) = (
            ShardPublisher::new(m.clone()),
            ShardPublisher::new(m.clone()),
        );
        let sym = Symbol::try_from("BTCUSDT".to_string()).unwrap();
        let t0 = Instant::now();
        let later = t0 + Duration::from_millis(5);
        let gap = |ts| MarketEvent {
            exchange: Exchange::Binance,
            symbol: sym.clone(),
            ts_event_ns: ts,
            ts_recv_ns: ts,
            kind: EventKind::Gap {
                lost: crate::event::Lost::Trades,
                from_ms: 0,
                to_ms: 1,
            },
        };
        let tp = Tp {
            topic: Arc::from("md"),
            partition: 0,
        };
        a.saw(&gap(1), None, t0);
        b.saw(&gap(2), Some(&tp), later);
        let stats = |bars| EngineStats {
            bars,
            ..EngineStats::default()
        };
        a.publish(stats(3), 1);
        b.publish(stats(4), 0);
        assert_eq!(m.engine().0.bars, 7);
        assert_eq!(m.engine().1, 1);
        assert_eq!(m.events_in()[3], 2);
        // The newest sighting wins; a revoked partition's symbols are forgotten.
        assert_eq!(
            m.symbols()[&(Exchange::Binance, sym.clone())].ts_event_ns,
            2
        );
        b.forget(&tp);
        b.publish(stats(4), 0);
        assert_eq!(m.symbols()[&(Exchange::Binance, sym)].ts_event_ns, 1);
    }
}
