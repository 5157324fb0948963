//! The inference stage: windows in, micro-batched, signals out.
//!
//! [`InferenceStage::run`] is one task: it receives windows, groups them with the
//! [`MicroBatcher`] (deadline on event time or on the wall clock, see [`BatchClock`]), and scores
//! each batch on the blocking pool. It loads the live bundle once per batch (so every signal of a
//! batch names one model version); a replay with the shadow trainer takes the model of each
//! window from the trainer's event-time [`SwapSchedule`] instead, waiting until the trainer has
//! seen the window's bar. [`score_batch`] runs the model and turns each row into a [`Signal`].
//! The stage records latency histograms and returns them when its input closes.
#![allow(clippy::disallowed_methods)] // the stage times the model and, live, batches on the wall clock

use crate::batch::MicroBatcher;
use crate::clock::EmitClock;
use crate::features::Window;
use crate::ingest::kafka::Origin;
use crate::registry::schedule::SwapSchedule;
use crate::registry::{LiveModel, LoadedModel};
use crate::signal::{Decision, SCHEMA_VERSION, Signal};
use crate::telemetry::LatencyRecorder;
use crate::telemetry::live::{LiveMetrics, Stage};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

#[derive(Debug, thiserror::Error)]
pub enum InferError {
    #[error("window of {symbol} is {got_t}×{got_f} but model {version} expects {want_t}×{want_f}")]
    Shape {
        symbol: String,
        version: String,
        got_t: usize,
        got_f: usize,
        want_t: usize,
        want_f: usize,
    },
    #[error("model {0} returned {1} outputs for {2} windows")]
    Outputs(String, usize, usize),
    #[error("model {0} returned a non-finite output for {1} at {2}")]
    NonFinite(String, String, i64),
    #[error("the model task failed: {0}")]
    Task(String),
}

/// A window, when its bar entered the engine, how long the feature stage took on that bar, and
/// the Kafka message it came from (whose offset waits for the signal's delivery).
#[derive(Clone, Debug)]
pub struct Stamped<T> {
    pub item: T,
    /// When the feature stage took the event that completed the window.
    pub entered: Instant,
    pub feature_us: u64,
    pub origin: Option<Origin>,
    /// When the source handed that event over.
    pub ingested: Instant,
    /// When the micro-batcher took the window (set by the inference stage).
    pub queued: Instant,
}

impl<T> Stamped<T> {
    pub fn new(
        item: T,
        entered: Instant,
        feature_us: u64,
        origin: Option<Origin>,
        ingested: Instant,
    ) -> Self {
        Self {
            item,
            entered,
            feature_us,
            origin,
            ingested,
            queued: entered,
        }
    }
}

/// One scored batch: the signals and, index for index, the input messages they came from and
/// when their events were handed over by the source; when the batch was scored.
#[derive(Debug)]
pub struct SignalBatch {
    pub signals: Vec<Signal>,
    pub origins: Vec<Option<Origin>>,
    pub ingested: Vec<Instant>,
    pub scored: Instant,
}

/// Scores one batch with `model`.
pub fn score_batch(
    model: &LoadedModel,
    batch: &[Stamped<Window>],
    clock: EmitClock,
) -> Result<Vec<Signal>, InferError> {
    let (t, f) = (model.manifest.seq_len, model.spec.len());
    let mut x = Vec::with_capacity(batch.len() * t * f);
    for w in batch {
        let w = &w.item;
        if w.seq_len != t || w.n_features != f || w.data.len() != t * f {
            return Err(InferError::Shape {
                symbol: w.symbol.to_string(),
                version: model.manifest.version.clone(),
                got_t: w.seq_len,
                got_f: w.n_features,
                want_t: t,
                want_f: f,
            });
        }
        x.extend_from_slice(&w.data);
    }
    let (p, r) = model.predict(x, batch.len());
    if p.len() != batch.len() || r.len() != batch.len() {
        return Err(InferError::Outputs(
            model.manifest.version.clone(),
            p.len(),
            batch.len(),
        ));
    }
    if let Some(i) = (0..batch.len()).find(|&i| !(p[i].is_finite() && r[i].is_finite())) {
        let w = &batch[i].item;
        return Err(InferError::NonFinite(
            model.manifest.version.clone(),
            w.symbol.to_string(),
            w.bar_close_time_ms,
        ));
    }
    let newest = batch
        .iter()
        .map(|w| w.item.bar_close_time_ms)
        .max()
        .unwrap_or(0);
    let now_ms = clock.now_ms(newest);
    Ok(batch
        .iter()
        .zip(p.iter().zip(&r))
        .map(|(w, (&p, &r))| make_signal(model, &w.item, p, r, now_ms, w.entered))
        .collect())
}

/// `score_batch` without the model: p = 0.5, expected return 0 (benchmarks of the rest).
fn stub_batch(model: &LoadedModel, batch: &[Stamped<Window>], clock: EmitClock) -> Vec<Signal> {
    let newest = batch.iter().map(|w| w.item.bar_close_time_ms).max();
    let now_ms = clock.now_ms(newest.unwrap_or(0));
    batch
        .iter()
        .map(|w| make_signal(model, &w.item, 0.5, 0.0, now_ms, w.entered))
        .collect()
}

/// The batch in runs of windows that one model scores: the live model for all of it, or each
/// window's scheduled model (the live model then follows the newest one used, for the API).
fn models_of<'b>(
    live: &LiveModel,
    schedule: Option<&SwapSchedule<LoadedModel>>,
    batch: &'b [Stamped<Window>],
) -> Vec<(Arc<LoadedModel>, &'b [Stamped<Window>])> {
    let Some(s) = schedule else {
        return vec![(live.load_full(), batch)];
    };
    let mut runs = Vec::new();
    let (mut start, mut current): (usize, Option<Arc<LoadedModel>>) = (0, None);
    for (i, w) in batch.iter().enumerate() {
        let m = s.model_at(w.item.bar_close_time_ms);
        match &current {
            Some(c) if Arc::ptr_eq(c, &m) => {}
            Some(c) => {
                runs.push((c.clone(), &batch[start..i]));
                (start, current) = (i, Some(m));
            }
            None => current = Some(m),
        }
    }
    if let Some(c) = current {
        runs.push((c, &batch[start..]));
    }
    let newest = batch.iter().map(|w| w.item.bar_close_time_ms).max();
    let now = s.model_at(newest.unwrap_or(i64::MIN));
    if !Arc::ptr_eq(&live.load(), &now) {
        live.store(now);
    }
    runs
}

fn make_signal(
    model: &LoadedModel,
    w: &Window,
    p: f32,
    r: f32,
    now_ms: i64,
    entered: Instant,
) -> Signal {
    let version = &model.manifest.version;
    let p = f64::from(p).clamp(0.0, 1.0);
    Signal {
        schema_version: SCHEMA_VERSION,
        signal_id: Signal::id_for(w.exchange, &w.symbol, w.bar_close_time_ms, version),
        exchange: w.exchange,
        symbol: w.symbol.clone(),
        bar_close_time_ms: w.bar_close_time_ms,
        emitted_at_ms: now_ms,
        model_version: version.clone(),
        p_profitable: p,
        expected_return_bps: f64::from(r),
        threshold: model.threshold,
        decision: Signal::decide(p, model.threshold),
        features_valid: w.features_valid,
        feature_age_ms: now_ms.saturating_sub(w.bar_close_time_ms).max(0),
        latency_us: entered.elapsed().as_micros() as u64,
    }
}

/// Which clock starts and ends a batch's wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchClock {
    /// Event time (bar close, µs): an unpaced replay batches identically on every run.
    Event,
    /// The wall clock: live and paced replay, so a batch never waits for the next bar.
    Wall,
}

/// What the stage did, returned when its input closes.
#[derive(Default)]
pub struct InferStats {
    pub batches: u64,
    pub signals: u64,
    pub long: u64,
    pub invalid: u64,
    /// Bar in → signal out, per window.
    pub latency: LatencyRecorder,
    /// Feature work on the window's bar + its batch's forward, per window (no queueing).
    pub processing: LatencyRecorder,
    /// Model forward, per batch.
    pub compute: LatencyRecorder,
}

pub struct InferenceStage {
    pub model: LiveModel,
    pub max_batch: usize,
    pub max_wait_us: i64,
    pub batch_clock: BatchClock,
    pub emit_clock: EmitClock,
    /// Benchmarks only: score every window p = 0.5 without running the model, so a benchmark
    /// times everything around it (the Kafka path). Never set by the CLI.
    pub skip_forward: bool,
    /// A replay with the shadow trainer: each window's model comes from here (in event time),
    /// and the live model follows what was used, for the API.
    pub schedule: Option<SwapSchedule<LoadedModel>>,
    /// The run's live numbers: this stage records the features → batch, batch wait and
    /// inference latencies per window, and counts batches.
    pub metrics: Arc<LiveMetrics>,
}

impl InferenceStage {
    /// Runs until `rx` closes (then flushes its partial batch) or `tx` closes.
    pub async fn run(
        self,
        mut rx: mpsc::Receiver<Stamped<Window>>,
        tx: mpsc::Sender<SignalBatch>,
    ) -> Result<InferStats, InferError> {
        let mut batcher = MicroBatcher::new(self.max_batch, self.max_wait_us);
        let mut stats = InferStats::default();
        // tokio's clock, so the deadline and the timer agree (also under a paused test clock).
        // The timer has 1 ms granularity: a wall-clock batch may wait up to ~1 ms past max_wait_us.
        let started = tokio::time::Instant::now();
        let wall_us = || started.elapsed().as_micros() as i64;
        loop {
            let next = match (self.batch_clock, batcher.deadline()) {
                (BatchClock::Wall, Some(due)) => {
                    let now = wall_us();
                    let timed_out = if due <= now {
                        None
                    } else {
                        let wait = Duration::from_micros((due - now) as u64);
                        tokio::time::timeout(wait, rx.recv()).await.ok()
                    };
                    match timed_out {
                        Some(next) => next,
                        None => {
                            if let Some(b) = batcher.poll(wall_us())
                                && !self.score(b, &mut stats, &tx).await?
                            {
                                return Ok(stats);
                            }
                            continue;
                        }
                    }
                }
                _ => rx.recv().await,
            };
            let Some(mut w) = next else { break };
            w.queued = Instant::now();
            let ready = w.entered + Duration::from_micros(w.feature_us);
            self.metrics.record(
                Stage::FeaturesToBatch,
                w.queued.saturating_duration_since(ready).as_micros() as u64,
            );
            let now = match self.batch_clock {
                BatchClock::Event => w.item.bar_close_time_ms.saturating_mul(1000),
                BatchClock::Wall => wall_us(),
            };
            for batch in [batcher.poll(now), batcher.push(w, now)]
                .into_iter()
                .flatten()
            {
                if !self.score(batch, &mut stats, &tx).await? {
                    return Ok(stats);
                }
            }
        }
        if let Some(b) = batcher.flush() {
            self.score(b, &mut stats, &tx).await?;
        }
        Ok(stats)
    }

    /// Scores one batch on the blocking pool and sends its signals; false when `tx` is closed.
    async fn score(
        &self,
        batch: Vec<Stamped<Window>>,
        stats: &mut InferStats,
        tx: &mpsc::Sender<SignalBatch>,
    ) -> Result<bool, InferError> {
        let (live, clock, skip) = (self.model.clone(), self.emit_clock, self.skip_forward);
        let schedule = self.schedule.clone();
        if let Some(s) = &schedule {
            let newest = batch.iter().map(|w| w.item.bar_close_time_ms).max();
            s.wait_seen(newest.unwrap_or(i64::MIN)).await;
        }
        let dispatched = Instant::now();
        self.metrics.record_each(
            Stage::BatchWait,
            batch
                .iter()
                .map(|w| dispatched.saturating_duration_since(w.queued).as_micros() as u64),
        );
        let (batch, signals, forward_us) = tokio::task::spawn_blocking(move || {
            let t0 = Instant::now();
            let signals = (|| {
                let mut all = Vec::with_capacity(batch.len());
                for (model, part) in models_of(&live, schedule.as_ref(), &batch) {
                    all.extend(if skip {
                        stub_batch(&model, part, clock)
                    } else {
                        score_batch(&model, part, clock)?
                    });
                }
                Ok(all)
            })();
            (batch, signals, t0.elapsed().as_micros() as u64)
        })
        .await
        .map_err(|e| InferError::Task(e.to_string()))?;
        let signals = signals?;
        stats.compute.record(forward_us);
        stats.batches += 1;
        self.metrics.batches.fetch_add(1, Ordering::Relaxed);
        self.metrics
            .record_n(Stage::Inference, forward_us, signals.len());
        for (s, w) in signals.iter().zip(&batch) {
            stats.latency.record(s.latency_us);
            stats.processing.record(w.feature_us + forward_us);
            stats.signals += 1;
            stats.long += u64::from(s.decision == Decision::Long);
            stats.invalid += u64::from(!s.features_valid);
        }
        let ingested = batch.iter().map(|w| w.ingested).collect();
        let origins = batch.into_iter().map(|w| w.origin).collect();
        let out = SignalBatch {
            signals,
            origins,
            ingested,
            scored: Instant::now(),
        };
        Ok(tx.send(out).await.is_ok())
    }
}
