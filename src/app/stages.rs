//! The stages every pipeline shares: the file source, the feature stage and the sink stage.
//!
//! The feature stage keeps one [`FeatureEngine`] per input partition (one for files): a Kafka
//! partition is read at its own pace, so its event time must not age another partition's
//! symbols into Stale, and dropping a revoked partition's state is dropping its engine. It
//! releases the offset of every live Kafka event that made no window, and discards the windows
//! of warm-up events (the previous owner emitted those signals). The sink stage writes each
//! signal to every sink; the Kafka sink's delivery report, or the JSONL write when there is no
//! Kafka sink, releases the signal's input offset.
#![allow(clippy::disallowed_methods)] // stages stamp when a bar enters: this is the edge that owns wall time

use super::{AppError, Speed};
use crate::features::{EngineStats, FeatureEngine, Observed, Phase, Window};
use crate::infer::{SignalBatch, Stamped};
use crate::ingest::FileStats;
use crate::ingest::kafka::{Acks, SourceItem, Tp};
use crate::ingest::replay::ReplaySource;
use crate::sink::JsonlSink;
use crate::sink::kafka::{KafkaSink, KafkaSinkStats};
use crate::sink::latest::LatestSignals;
use crate::telemetry::live::{LiveMetrics, PUBLISH_EVERY, ShardPublisher, Stage};
use crate::trainer::shadow::resolver::BarSeen;
use crate::trainer::shadow::{ShadowInput, ShadowTx};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Reads the files in event-time order; paces them when `speed` asks; stops early when `stop`
/// is set (SIGINT/SIGTERM: what was read drains through the pipeline).
pub(super) fn source_stage(
    mut source: ReplaySource,
    tx: mpsc::Sender<SourceItem>,
    speed: Speed,
    stop: Arc<AtomicBool>,
) -> Result<(Vec<FileStats>, u64), AppError> {
    let (mut n, started, mut first_ts) = (0u64, Instant::now(), None);
    for ev in source.by_ref() {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let ev = ev?;
        if let Speed::Times(x) = speed {
            let t0 = *first_ts.get_or_insert(ev.ts_event_ns);
            let ahead_ns = ev.ts_event_ns.saturating_sub(t0).max(0) as f64;
            let due = Duration::from_secs_f64((ahead_ns / x / 1e9).min(1e9));
            // Short naps, so a failed downstream is noticed during long waits.
            while let Some(wait) = due.checked_sub(started.elapsed()) {
                if tx.is_closed() || stop.load(Ordering::Relaxed) {
                    break;
                }
                std::thread::sleep(wait.min(Duration::from_millis(100)));
            }
        }
        n += 1;
        if tx
            .blocking_send(SourceItem::Event(ev, None, Instant::now()))
            .is_err()
        {
            break; // downstream stopped (it failed): its error is reported
        }
    }
    Ok((source.stats(), n))
}

/// Makes a fresh engine: one per Kafka partition, one for files (per shard).
pub type EngineFactory = Arc<dyn Fn() -> FeatureEngine + Send + Sync>;

/// What the feature stage did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FeatureOutcome {
    pub engine: EngineStats,
    /// Windows of warm-up re-reads, not emitted.
    pub warmup_windows: u64,
    /// Partitions whose state was dropped on a revoke.
    pub partitions_dropped: u64,
}

impl FeatureOutcome {
    fn absorb(&mut self, o: &FeatureOutcome) {
        self.engine.absorb(&o.engine);
        self.warmup_windows += o.warmup_windows;
        self.partitions_dropped += o.partitions_dropped;
    }
}

/// The feature stage over `shards` tasks that each own their symbols' state: events are routed
/// by Kafka partition (a partition's engine stays whole) or else by (exchange, symbol); a revoke
/// goes to every shard. One shard is the plain feature stage. With more, windows of different
/// shards reach the batcher in no fixed order (so a replay's batches, and `emitted_at_ms`, may
/// differ between runs), and a streaming scaler learns per shard.
pub(super) async fn sharded_feature_stage(
    make: EngineFactory,
    rx: mpsc::Receiver<SourceItem>,
    tx: mpsc::Sender<Stamped<Window>>,
    acks: Option<Acks>,
    shadow: Option<ShadowTx>,
    shards: usize,
    metrics: Arc<LiveMetrics>,
) -> FeatureOutcome {
    if shards <= 1 {
        return feature_stage(make, rx, tx, acks, shadow, metrics).await;
    }
    let mut inputs = Vec::with_capacity(shards);
    let mut tasks = Vec::with_capacity(shards);
    for _ in 0..shards {
        let (stx, srx) = mpsc::channel::<SourceItem>(rx.max_capacity().div_ceil(shards).max(16));
        inputs.push(stx);
        let shard = feature_stage(
            make.clone(),
            srx,
            tx.clone(),
            acks.clone(),
            shadow.clone(),
            metrics.clone(),
        );
        tasks.push(tokio::spawn(shard));
    }
    drop((tx, shadow));
    route(rx, &inputs).await;
    drop(inputs);
    let mut out = FeatureOutcome::default();
    for t in tasks {
        if let Ok(o) = t.await {
            out.absorb(&o);
        }
    }
    out
}

/// Hands each event to its shard until the input closes (or every shard has stopped).
async fn route(mut rx: mpsc::Receiver<SourceItem>, shards: &[mpsc::Sender<SourceItem>]) {
    use std::hash::{Hash, Hasher};
    while let Some(item) = rx.recv().await {
        let ev = match &item {
            SourceItem::Revoked(tps) => {
                for s in shards {
                    let _ = s.send(SourceItem::Revoked(tps.clone())).await;
                }
                continue;
            }
            SourceItem::Event(ev, prov, _) => (ev, prov),
        };
        // std's SipHash with its fixed default keys: the same symbol goes to the same shard on
        // every run.
        let mut h = std::hash::DefaultHasher::new();
        match ev.1 {
            Some(p) => p.origin.tp.hash(&mut h),
            None => (ev.0.exchange, &ev.0.symbol).hash(&mut h),
        }
        let shard = &shards[(h.finish() % shards.len() as u64) as usize];
        if shard.send(item).await.is_err() {
            break; // that shard stopped: its window output is gone, the run is ending
        }
    }
}

pub(super) async fn feature_stage(
    make: EngineFactory,
    mut rx: mpsc::Receiver<SourceItem>,
    tx: mpsc::Sender<Stamped<Window>>,
    acks: Option<Acks>,
    shadow: Option<ShadowTx>,
    metrics: Arc<LiveMetrics>,
) -> FeatureOutcome {
    let mut engines: HashMap<Option<Tp>, FeatureEngine> = HashMap::new();
    let mut out = FeatureOutcome::default();
    let mut seen: Vec<ShadowInput> = Vec::new();
    let mut publisher = ShardPublisher::new(metrics.clone());
    // Publishes on a timer too, so a quiet input (a bar a minute) still shows in the metrics.
    let mut tick = tokio::time::interval(PUBLISH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let item = tokio::select! {
            item = rx.recv() => item,
            _ = tick.tick() => {
                publisher.publish(current(&out, &engines), out.warmup_windows);
                continue;
            }
        };
        let Some(item) = item else { break };
        let (ev, prov, ingested) = match item {
            SourceItem::Revoked(tps) => {
                for tp in tps {
                    if let Some(e) = engines.remove(&Some(tp.clone())) {
                        out.engine.absorb(e.stats());
                        out.partitions_dropped += 1;
                    }
                    publisher.forget(&tp);
                }
                continue;
            }
            SourceItem::Event(ev, prov, handed) => (ev, prov, handed),
        };
        let key = prov.as_ref().map(|p| p.origin.tp.clone());
        let entered = Instant::now();
        metrics.record(
            Stage::IngestToFeatures,
            entered.saturating_duration_since(ingested).as_micros() as u64,
        );
        publisher.saw(&ev, key.as_ref(), entered);
        let engine = engines.entry(key).or_insert_with(|| make());
        let window = match &shadow {
            None => engine.on_event(&ev),
            Some(_) => engine.on_event_observed(&ev, &mut |o| seen.push(bar_seen(o))),
        };
        let feature_us = entered.elapsed().as_micros() as u64;
        if let Some(s) = &shadow {
            for b in seen.drain(..) {
                s.send(b).await;
            }
        }
        match (window, prov) {
            (Some(_), Some(p)) if !p.live => out.warmup_windows += 1,
            (Some(item), prov) => {
                if let Some(s) = shadow.as_ref().filter(|s| s.wants_windows()) {
                    s.send(ShadowInput::Window(Box::new(item.clone()))).await;
                }
                let origin = prov.map(|p| p.origin);
                let stamped = Stamped::new(item, entered, feature_us, origin, ingested);
                if tx.send(stamped).await.is_err() {
                    break;
                }
                metrics.windows.fetch_add(1, Ordering::Relaxed);
            }
            (None, Some(p)) if p.live => {
                if let Some(a) = &acks {
                    a.done(&p.origin);
                }
            }
            (None, _) => {}
        }
    }
    // End of the files: bars still being built from trades close now. (A Kafka partition's
    // open bar is not closed: its trades are re-read by whoever consumes next.)
    if let Some(e) = engines.get_mut(&None) {
        let entered = Instant::now();
        let flushed = match &shadow {
            None => e.flush(),
            Some(_) => e.flush_observed(&mut |o| seen.push(bar_seen(o))),
        };
        // The bars the flush closed, then their windows: a symbol's flushed bar (after any gap
        // fillers) is its last, so every window still follows its own bar, as in the loop above.
        if let Some(s) = &shadow {
            for b in seen.drain(..) {
                s.send(b).await;
            }
        }
        for item in flushed {
            if let Some(s) = shadow.as_ref().filter(|s| s.wants_windows()) {
                s.send(ShadowInput::Window(Box::new(item.clone()))).await;
            }
            let feature_us = entered.elapsed().as_micros() as u64;
            let stamped = Stamped::new(item, entered, feature_us, None, entered);
            if tx.send(stamped).await.is_err() {
                break;
            }
            metrics.windows.fetch_add(1, Ordering::Relaxed);
        }
    }
    for e in engines.values() {
        out.engine.absorb(e.stats());
    }
    publisher.publish(out.engine.clone(), out.warmup_windows);
    out
}

/// The shard's counters now: dropped partitions' and the running engines'.
fn current(out: &FeatureOutcome, engines: &HashMap<Option<Tp>, FeatureEngine>) -> EngineStats {
    let mut total = out.engine.clone();
    for e in engines.values() {
        total.absorb(e.stats());
    }
    total
}

/// A bar the engine accepted, for the shadow trainer's label resolver.
fn bar_seen(o: &Observed<'_>) -> ShadowInput {
    ShadowInput::Bar(BarSeen {
        exchange: o.exchange,
        symbol: o.symbol.clone(),
        close_time_ms: o.bar.close_time_ms,
        open: o.bar.open,
        high: o.bar.high,
        low: o.bar.low,
        close: o.bar.close,
        filled: o.filled,
        ready: o.phase == Phase::Ready,
    })
}

/// Where signals go.
#[derive(Default)]
pub(super) struct Sinks {
    pub jsonl: Option<JsonlSink>,
    pub kafka: Option<KafkaSink>,
    /// Offsets to release when there is no Kafka sink to do it.
    pub acks: Option<Acks>,
    /// The newest signal per symbol and the feed, for the sidecar API.
    pub latest: Option<Arc<LatestSignals>>,
    /// The run's live numbers (sink and end-to-end latency, signals out).
    pub metrics: Arc<LiveMetrics>,
}

/// What the sink stage did.
#[derive(Default)]
pub(super) struct SinkOutcome {
    pub signals: u64,
    pub kafka: Option<KafkaSinkStats>,
}

pub(super) fn sink_stage(
    mut sinks: Sinks,
    mut rx: mpsc::Receiver<SignalBatch>,
) -> Result<SinkOutcome, AppError> {
    let mut out = SinkOutcome::default();
    while let Some(batch) = rx.blocking_recv() {
        if let Some(s) = sinks.jsonl.as_mut() {
            for sig in &batch.signals {
                s.write(sig)?;
            }
            if sinks.acks.is_some() && sinks.kafka.is_none() {
                s.flush()?; // the file holds them before their input offsets are released
            }
        }
        for (sig, origin) in batch.signals.iter().zip(batch.origins) {
            match (sinks.kafka.as_mut(), origin) {
                (Some(k), origin) => k.send(sig, origin)?,
                (None, Some(o)) => {
                    if let Some(a) = &sinks.acks {
                        a.done(&o);
                    }
                }
                (None, None) => {}
            }
        }
        if let Some(l) = &sinks.latest {
            for sig in &batch.signals {
                l.publish(sig);
            }
        }
        out.signals += batch.signals.len() as u64;
        let done = Instant::now();
        let m = &sinks.metrics;
        let sink_us = done.saturating_duration_since(batch.scored).as_micros() as u64;
        m.record_n(Stage::Sink, sink_us, batch.ingested.len());
        m.record_each(
            Stage::EndToEnd,
            batch
                .ingested
                .iter()
                .map(|t| done.saturating_duration_since(*t).as_micros() as u64),
        );
        let count = |f: fn(&crate::signal::Signal) -> bool| {
            batch.signals.iter().filter(|s| f(s)).count() as u64
        };
        m.signals
            .fetch_add(batch.signals.len() as u64, Ordering::Relaxed);
        m.long_signals.fetch_add(
            count(|s| s.decision == crate::signal::Decision::Long),
            Ordering::Relaxed,
        );
        m.invalid_feature_signals
            .fetch_add(count(|s| !s.features_valid), Ordering::Relaxed);
    }
    if let Some(s) = sinks.jsonl {
        s.close()?;
    }
    out.kafka = sinks.kafka.map(KafkaSink::close).transpose()?;
    Ok(out)
}
