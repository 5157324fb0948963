//! Builds the pipeline and owns its shutdown.
//!
//! ```text
//! replay files ─(events)─> features ─(windows)─> micro-batcher + model ─(signals)─> JSONL sink
//! ```
//! Each arrow is a bounded tokio channel. In replay nothing is dropped: a full channel blocks the
//! stage before it, back to the file reader. Shutdown flows downstream: the source ends, drops its
//! sender, each stage flushes what it holds (the batcher its partial batch) and drops its own, and
//! each stage returns its counters, gathered into a [`Summary`].
#![allow(clippy::disallowed_methods)] // stages stamp when a bar enters and time the model: this is the edge that owns wall time

use crate::clock::EmitClock;
use crate::config::{Config, ScalingMode};
use crate::event::MarketEvent;
use crate::features::{EngineStats, FeatureEngine, FeatureSpec, Scaling, Window};
use crate::infer::{BatchClock, InferError, InferenceStage, Stamped};
use crate::ingest::replay::{ReplayOptions, ReplaySource, check_intervals};
use crate::ingest::{FileStats, IngestError};
use crate::registry::{BundleError, LiveModel, LoadedModel, live, load_bundle};
use crate::scaling::StreamingScaler;
use crate::signal::Signal;
use crate::sink::JsonlSink;
use crate::sink::jsonl::SinkError;
use crate::telemetry::LatencySummary;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error(transparent)]
    Infer(#[from] InferError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("{0}")]
    Config(String),
    #[error("a pipeline stage failed: {0}")]
    Stage(String),
}

/// How fast a replay runs: as fast as it can, or N× the data's own pace.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Speed {
    Max,
    Times(f64),
}

impl std::str::FromStr for Speed {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "max" {
            return Ok(Speed::Max);
        }
        match s.parse::<f64>() {
            Ok(x) if x > 0.0 && x.is_finite() => Ok(Speed::Times(x)),
            _ => Err(format!(
                "speed must be `max` or a positive number, got {s:?}"
            )),
        }
    }
}

/// One replay: data through the model to signals.
#[derive(Clone, Debug)]
pub struct ReplayJob {
    pub config: Config,
    /// Where the config came from, for error messages.
    pub config_name: String,
    /// How the files are read: exchange, symbol override, bad-row limit, dead letters.
    pub input: ReplayOptions,
    pub data: Vec<PathBuf>,
    pub model_dir: PathBuf,
    pub out: Option<PathBuf>,
    pub speed: Speed,
}

/// What a replay did, printed by the CLI (and written as JSON by `--summary-json`).
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub model_version: String,
    pub files: Vec<FileStats>,
    pub events: u64,
    pub engine: EngineStats,
    pub signals: u64,
    pub long_signals: u64,
    pub invalid_feature_signals: u64,
    pub batches: u64,
    pub mean_batch: f64,
    /// Bar entering the feature stage → signal leaving inference, queueing included: at
    /// `--speed max` the model is the bottleneck, so this is mostly time spent waiting in line.
    pub latency: LatencySummary,
    /// Per window, the work alone: the feature stage on its bar + the model forward of its batch.
    pub processing: LatencySummary,
    /// Model forward time per batch.
    pub batch_compute: LatencySummary,
    pub elapsed_secs: f64,
    pub windows_per_sec: f64,
    pub out: Option<PathBuf>,
    /// The dead-letter file and how many rows it received, when one is configured.
    pub dead_letters: Option<(PathBuf, u64)>,
}

/// Loads the bundle and checks it against the config: feature spec, window length, bar interval.
fn load_checked_model(job: &ReplayJob, spec: &FeatureSpec) -> Result<LoadedModel, AppError> {
    let cfg = &job.config;
    let mut model = load_bundle(&job.model_dir, spec).map_err(|e| match e {
        BundleError::SpecMismatch { .. } => {
            AppError::Config(format!("{e} (features.names in {})", job.config_name))
        }
        e => e.into(),
    })?;
    if model.manifest.seq_len != cfg.features.seq_len
        || model.manifest.bar_interval_secs != cfg.features.bar_interval_secs
    {
        return Err(AppError::Config(format!(
            "{}: model was trained on seq_len {} / {} s bars but {} says {} / {} s",
            job.model_dir.display(),
            model.manifest.seq_len,
            model.manifest.bar_interval_secs,
            job.config_name,
            cfg.features.seq_len,
            cfg.features.bar_interval_secs
        )));
    }
    if let Some(t) = cfg.model.threshold {
        model.threshold = t;
    }
    Ok(model)
}

/// Runs a replay to completion on the current tokio runtime.
pub async fn run_replay(job: ReplayJob) -> Result<Summary, AppError> {
    let cfg = &job.config;
    let spec =
        FeatureSpec::new(&cfg.features.names).map_err(|e| AppError::Config(e.to_string()))?;
    let model = load_checked_model(&job, &spec)?;
    let scaler = match cfg.features.scaling {
        ScalingMode::Fitted => Scaling::Fitted(Arc::new(model.scaler.clone())),
        ScalingMode::Streaming => Scaling::Streaming(Box::new(match &model.streaming {
            Some(st) => st.clone(),
            None => StreamingScaler::from_fitted(&model.scaler, cfg.features.streaming())
                .map_err(|e| AppError::Config(format!("streaming scaler: {e}")))?,
        })),
    };
    let version = model.manifest.version.clone();
    let live_model = live(model);
    check_intervals(&job.data, cfg.features.bar_interval_secs)?;
    let source = ReplaySource::open(&job.data, &job.input)?;
    let sink = job.out.as_deref().map(JsonlSink::create).transpose()?;
    let engine = FeatureEngine::new(spec, scaler, cfg.features.policy())
        .with_bar_source(cfg.features.bar_source);

    let cap = cfg.inference.channel_capacity;
    let (ev_tx, ev_rx) = mpsc::channel::<MarketEvent>(cap);
    // Small on purpose: queueing ahead of the model shows up as latency, not as hidden memory.
    let (win_tx, win_rx) = mpsc::channel::<Stamped<Window>>(cfg.inference.max_batch);
    let (sig_tx, sig_rx) = mpsc::channel::<Vec<Signal>>(cap);

    let started = Instant::now();
    let src = tokio::task::spawn_blocking(move || source_stage(source, ev_tx, job.speed));
    let feat = tokio::spawn(feature_stage(engine, ev_rx, win_tx));
    let inf = tokio::spawn(inference_stage(cfg, job.speed, live_model).run(win_rx, sig_tx));
    let snk = tokio::task::spawn_blocking(move || sink_stage(sink, sig_rx));

    let joined = |e: tokio::task::JoinError| AppError::Stage(e.to_string());
    let src_res = src.await.map_err(joined)?;
    let engine_stats = feat.await.map_err(joined)?;
    let inf_res = inf.await.map_err(joined)?.map_err(AppError::from);
    let snk_res = snk.await.map_err(joined)?;
    // Dead letters first: they matter most when the source failed on too many bad rows.
    let dead_letters = flush_dead_letters(&job.input)?;
    let (files, events) = src_res?;
    let stats = inf_res?;
    snk_res?;
    if engine_stats.bars == 0 && engine_stats.rejected_wrong_interval > 0 {
        return Err(AppError::Config(format!(
            "none of the {} bars in {:?} is {} s long (features.bar_interval_secs in {})",
            engine_stats.rejected_wrong_interval,
            job.data,
            cfg.features.bar_interval_secs,
            job.config_name
        )));
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(Summary {
        model_version: version,
        files,
        events,
        engine: engine_stats,
        signals: stats.signals,
        long_signals: stats.long,
        invalid_feature_signals: stats.invalid,
        batches: stats.batches,
        mean_batch: stats.signals as f64 / stats.batches.max(1) as f64,
        latency: stats.latency.summary(),
        processing: stats.processing.summary(),
        batch_compute: stats.compute.summary(),
        elapsed_secs: elapsed,
        windows_per_sec: stats.signals as f64 / elapsed.max(1e-9),
        out: job.out,
        dead_letters,
    })
}

/// The inference stage for a replay. Unpaced, event time drives the batch deadline (deterministic
/// batches); paced, the wall clock does, as it will live, so a batch never waits for the next bar.
fn inference_stage(cfg: &Config, speed: Speed, model: LiveModel) -> InferenceStage {
    InferenceStage {
        model,
        max_batch: cfg.inference.max_batch,
        max_wait_us: cfg.inference.max_wait_us as i64,
        batch_clock: match speed {
            Speed::Max => BatchClock::Event,
            Speed::Times(_) => BatchClock::Wall,
        },
        emit_clock: EmitClock::Replay,
    }
}

/// Flushes the dead-letter file, if any; returns it and how many rows it holds.
pub fn flush_dead_letters(input: &ReplayOptions) -> Result<Option<(PathBuf, u64)>, AppError> {
    let Some(dl) = &input.dead_letters else {
        return Ok(None);
    };
    dl.flush().map(Some).map_err(|e| {
        AppError::Stage(format!(
            "{}: cannot write dead letters: {e}",
            dl.path().display()
        ))
    })
}

/// Reads the files in event-time order; paces them when `speed` asks.
fn source_stage(
    mut source: ReplaySource,
    tx: mpsc::Sender<MarketEvent>,
    speed: Speed,
) -> Result<(Vec<FileStats>, u64), AppError> {
    let (mut n, started, mut first_ts) = (0u64, Instant::now(), None);
    for ev in source.by_ref() {
        let ev = ev?;
        if let Speed::Times(x) = speed {
            let t0 = *first_ts.get_or_insert(ev.ts_event_ns);
            let ahead_ns = ev.ts_event_ns.saturating_sub(t0).max(0) as f64;
            let due = Duration::from_secs_f64((ahead_ns / x / 1e9).min(1e9));
            // Short naps, so a failed downstream is noticed during long waits.
            while let Some(wait) = due.checked_sub(started.elapsed()) {
                if tx.is_closed() {
                    break;
                }
                std::thread::sleep(wait.min(Duration::from_millis(100)));
            }
        }
        n += 1;
        if tx.blocking_send(ev).is_err() {
            break; // downstream stopped (it failed): its error is reported
        }
    }
    Ok((source.stats(), n))
}

async fn feature_stage(
    mut engine: FeatureEngine,
    mut rx: mpsc::Receiver<MarketEvent>,
    tx: mpsc::Sender<Stamped<Window>>,
) -> EngineStats {
    while let Some(ev) = rx.recv().await {
        let entered = Instant::now();
        if let Some(w) = engine.on_event(&ev) {
            let feature_us = entered.elapsed().as_micros() as u64;
            let stamped = Stamped {
                item: w,
                entered,
                feature_us,
            };
            if tx.send(stamped).await.is_err() {
                return engine.stats().clone();
            }
        }
    }
    // End of the data: bars still being built from trades close now.
    let entered = Instant::now();
    for w in engine.flush() {
        let stamped = Stamped {
            item: w,
            entered,
            feature_us: entered.elapsed().as_micros() as u64,
        };
        if tx.send(stamped).await.is_err() {
            break;
        }
    }
    engine.stats().clone()
}

fn sink_stage(
    mut sink: Option<JsonlSink>,
    mut rx: mpsc::Receiver<Vec<Signal>>,
) -> Result<u64, AppError> {
    let mut n = 0;
    while let Some(batch) = rx.blocking_recv() {
        if let Some(s) = sink.as_mut() {
            for sig in &batch {
                s.write(sig)?;
            }
        }
        n += batch.len() as u64;
    }
    if let Some(s) = sink {
        s.close()?;
    }
    Ok(n)
}
