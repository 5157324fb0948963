//! Builds the pipeline and owns its shutdown.
//!
//! ```text
//! replay files ─┐                                                                  ┌─> JSONL file
//!               ├─(events)─> features ─(windows)─> micro-batcher + model ─(signals)─┤
//! Kafka topics ─┘                                                                  └─> Kafka topic
//! ```
//! Each arrow is a bounded tokio channel. Nothing is dropped: a full channel blocks the stage
//! before it, back to the file reader, or pauses the Kafka consumer. Shutdown flows downstream:
//! the source ends (end of the files; SIGINT/SIGTERM or an idle limit for Kafka), drops its
//! sender, each stage flushes what it holds (the batcher its partial batch) and drops its own,
//! the sinks flush, the Kafka source commits what was delivered, and each stage returns its
//! counters, gathered into a [`Summary`]. `stages.rs` holds the shared stages, `kafka.rs` the
//! Kafka run.
#![allow(clippy::disallowed_methods)] // the run is timed on the wall clock

mod conflate;
mod kafka;
mod serving;
mod stages;
mod websocket;

pub use kafka::{KafkaJob, run_kafka};
pub use stages::{EngineFactory, FeatureOutcome};
pub use websocket::{WebsocketJob, run_websocket};

use crate::api::ApiServer;
use crate::clock::EmitClock;
use crate::config::{Config, Forward};
use crate::features::{EngineStats, FeatureSpec, Window};
use crate::infer::{BatchClock, InferError, InferStats, InferenceStage, SignalBatch, Stamped};
use crate::ingest::kafka::client::ensure_topics;
use crate::ingest::kafka::{Acks, SourceItem, SourceStats};
use crate::ingest::replay::{ReplayOptions, ReplaySource, check_intervals};
use crate::ingest::{FileStats, IngestError};
use crate::model::backend::ComputeDevice;
use crate::registry::{BundleError, LoadedModel, load_bundle_with};
use crate::sink::JsonlSink;
use crate::sink::jsonl::SinkError;
use crate::sink::kafka::{KafkaSink, KafkaSinkStats};
use crate::sink::latest::LatestSignals;
use crate::telemetry::LatencySummary;
use crate::telemetry::live::{LiveMetrics, SourceProbe, Stage};
use crate::trainer::shadow::ShadowTx;
use serde::Serialize;
use serving::Serving;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
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
    #[error(transparent)]
    Kafka(#[from] crate::ingest::kafka::KafkaError),
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
    /// Each stage's latency and the whole path's.
    pub stages: StageLatencies,
    pub elapsed_secs: f64,
    pub windows_per_sec: f64,
    pub out: Option<PathBuf>,
    /// The dead-letter file and how many rows it received, when one is configured.
    pub dead_letters: Option<(PathBuf, u64)>,
    /// The Kafka signal sink's deliveries, when one is configured.
    pub kafka_sink: Option<KafkaSinkStats>,
    /// The Kafka source's counters, for `run` on Kafka.
    pub kafka_source: Option<SourceStats>,
    /// Windows of warm-up re-reads (Kafka), not emitted.
    pub warmup_windows: u64,
    /// The websocket feeds' counters, for `run` on websockets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub websocket: Option<Vec<(String, crate::ingest::exchange::supervisor::FeedSnapshot)>>,
    /// Live websocket runs: windows replaced by a newer one of their symbol while the model lagged.
    pub windows_coalesced: u64,
    /// Swaps of the live model, when it is served from a registry (`model.registry`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub models: Option<crate::registry::watch::SwapStats>,
    /// The shadow trainer's counters and decisions, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shadow: Option<crate::trainer::shadow::ShadowStats>,
}

/// Latency of each stage and of the whole path (µs percentiles from hdrhistogram), per window
/// unless noted. At `--speed max` the queues are full by design, so the waits measure backlog.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StageLatencies {
    /// Source hand-over → the feature stage taking it, per event.
    pub ingest_to_features: LatencySummary,
    /// The window leaving the feature stage → the micro-batcher taking it.
    pub features_to_batch: LatencySummary,
    /// The micro-batcher taking the window → its batch leaving for the model.
    pub batch_wait: LatencySummary,
    /// The model forward of the window's batch.
    pub inference: LatencySummary,
    /// Scored → handed to every sink.
    pub sink: LatencySummary,
    /// Source hand-over of the event that completed the window → its signal handed to every sink.
    pub end_to_end: LatencySummary,
}

impl Summary {
    /// Every stage's latency, as the stages recorded it into the run's live metrics.
    fn with_stages(mut self, m: &LiveMetrics) -> Self {
        self.stages = StageLatencies {
            ingest_to_features: m.summary(Stage::IngestToFeatures),
            features_to_batch: m.summary(Stage::FeaturesToBatch),
            batch_wait: m.summary(Stage::BatchWait),
            inference: m.summary(Stage::Inference),
            sink: m.summary(Stage::Sink),
            end_to_end: m.summary(Stage::EndToEnd),
        };
        self
    }

    /// The inference counters and timings; the source-specific fields empty.
    fn from_infer(stats: InferStats, elapsed: f64, out: Option<PathBuf>) -> Self {
        Self {
            model_version: String::new(),
            files: Vec::new(),
            events: 0,
            engine: EngineStats::default(),
            signals: stats.signals,
            long_signals: stats.long,
            invalid_feature_signals: stats.invalid,
            batches: stats.batches,
            mean_batch: stats.signals as f64 / stats.batches.max(1) as f64,
            latency: stats.latency.summary(),
            processing: stats.processing.summary(),
            batch_compute: stats.compute.summary(),
            stages: StageLatencies::default(),
            elapsed_secs: elapsed,
            windows_per_sec: stats.signals as f64 / elapsed.max(1e-9),
            out,
            dead_letters: None,
            kafka_sink: None,
            kafka_source: None,
            warmup_windows: 0,
            websocket: None,
            models: None,
            shadow: None,
            windows_coalesced: 0,
        }
    }

    fn with_dead_letters(mut self, dl: Option<(PathBuf, u64)>) -> Self {
        self.dead_letters = dl;
        self
    }
}

/// The feature engines a run with this config and bundle uses (the backtest's causality audit
/// rebuilds windows with them).
pub fn engine_factory(
    cfg: &Config,
    config_name: &str,
    model_dir: &Path,
) -> Result<EngineFactory, AppError> {
    Serving::open(cfg, config_name, model_dir).map(|(_, make)| make)
}

/// Loads the bundle and checks it against the config: feature spec, window length, bar interval.
pub fn load_checked_model(
    cfg: &Config,
    config_name: &str,
    model_dir: &Path,
    spec: &FeatureSpec,
) -> Result<LoadedModel, AppError> {
    // A device check first: "no driver" should not wait for a bundle load.
    let (device, precision) = (cfg.model.device, cfg.model.precision);
    crate::model::backend::probe(device, precision)
        .map_err(|e| AppError::Config(format!("model.device in {config_name}: {e}")))?;
    // The fused copy serves only on the CPU.
    let forward = match device {
        ComputeDevice::Cpu => cfg.inference.forward,
        ComputeDevice::Cuda(_) => Forward::Burn,
    };
    let mut model = load_bundle_with(model_dir, spec, forward)
        .and_then(|m| m.onto_device(device, precision))
        .map_err(|e| match e {
            BundleError::SpecMismatch { .. } => {
                AppError::Config(format!("{e} (features.names in {config_name})"))
            }
            e => e.into(),
        })?;
    if model.manifest.seq_len != cfg.features.seq_len
        || model.manifest.bar_interval_secs != cfg.features.bar_interval_secs
    {
        return Err(AppError::Config(format!(
            "{}: model was trained on seq_len {} / {} s bars but {config_name} says {} / {} s",
            model_dir.display(),
            model.manifest.seq_len,
            model.manifest.bar_interval_secs,
            cfg.features.seq_len,
            cfg.features.bar_interval_secs
        )));
    }
    if let Some(t) = cfg.model.threshold {
        model.threshold = t;
    }
    Ok(model)
}

/// Starts the sidecar API when `[api] enabled`, over the sinks' latest-signal store and the
/// run's live metrics.
async fn start_api(
    cfg: &Config,
    sinks: &stages::Sinks,
    serving: &Serving,
) -> Result<Option<ApiServer>, AppError> {
    let (true, Some(latest)) = (cfg.api.enabled, sinks.latest.clone()) else {
        return Ok(None);
    };
    let view = crate::api::EngineView {
        latest,
        models: serving.control(),
        metrics: sinks.metrics.clone(),
        ready: crate::api::Readiness::from_config(cfg),
    };
    ApiServer::start(&cfg.api, view)
        .await
        .map(Some)
        .map_err(|e| AppError::Config(format!("api.bind {}: cannot listen: {e}", cfg.api.bind)))
}

/// Stops the API, if one runs.
async fn stop_api(api: Option<ApiServer>) {
    if let Some(a) = api {
        a.stop().await;
    }
}

/// The signal sinks the config and the command ask for.
async fn open_sinks(
    cfg: &Config,
    jsonl: Option<&Path>,
    acks: Option<Acks>,
    metrics: Arc<LiveMetrics>,
) -> Result<stages::Sinks, AppError> {
    let kafka = match cfg
        .kafka
        .as_ref()
        .and_then(|k| k.sink.as_ref().map(|s| (k, s)))
    {
        Some((k, s)) => {
            ensure_topics(k, &[&s.topic]).await?;
            Some(KafkaSink::new(k, s, acks.clone())?)
        }
        None => None,
    };
    Ok(stages::Sinks {
        jsonl: jsonl.map(JsonlSink::create).transpose()?,
        kafka,
        acks,
        latest: Some(LatestSignals::new(cfg.api.resume_buffer)),
        metrics,
    })
}

/// Runs a replay to completion on the current tokio runtime.
pub async fn run_replay(job: ReplayJob) -> Result<Summary, AppError> {
    run_replay_until(job, std::future::pending()).await
}

/// Runs a replay until the files end or `shutdown` resolves (SIGINT/SIGTERM): then the source
/// stops reading, and what it had read drains through every stage into the sinks.
pub async fn run_replay_until(
    job: ReplayJob,
    shutdown: impl Future<Output = ()>,
) -> Result<Summary, AppError> {
    run_replay_tapped(job, shutdown, None).await
}

/// [`run_replay_until`], handing every bar the feature stage accepts to `tap` as well (the
/// backtest's price series; the shadow trainer, when configured, takes precedence).
pub async fn run_replay_tapped(
    job: ReplayJob,
    shutdown: impl Future<Output = ()>,
    tap: Option<ShadowTx>,
) -> Result<Summary, AppError> {
    let cfg = &job.config;
    let (mut serving, make) = Serving::open(cfg, &job.config_name, &job.model_dir)?;
    let version = serving.live.load().manifest.version.clone();
    check_intervals(&job.data, cfg.features.bar_interval_secs)?;
    let source = ReplaySource::open(&job.data, &job.input)?;
    let metrics = LiveMetrics::new();
    let files_done = Arc::new(AtomicBool::new(false));
    metrics.attach_source(SourceProbe::Files {
        done: files_done.clone(),
    });
    let sinks = open_sinks(cfg, job.out.as_deref(), None, metrics.clone()).await?;
    let api = start_api(cfg, &sinks, &serving).await?;

    let cap = cfg.inference.channel_capacity;
    let (ev_tx, ev_rx) = mpsc::channel::<SourceItem>(cap);
    // Small on purpose: queueing ahead of the model shows up as latency, not as hidden memory.
    let (win_tx, win_rx) = mpsc::channel::<Stamped<Window>>(cfg.serving_max_batch());
    let (sig_tx, sig_rx) = mpsc::channel::<SignalBatch>(cap);

    let started = Instant::now();
    let speed = job.speed;
    let stop = Arc::new(AtomicBool::new(false));
    let stop_source = stop.clone();
    let mut src = tokio::task::spawn_blocking(move || {
        let read = stages::source_stage(source, ev_tx, speed, stop_source);
        files_done.store(true, Ordering::Relaxed);
        read
    });
    let shadow = serving.start_shadow(cfg, true, &metrics)?.or(tap);
    let feat = tokio::spawn(stages::sharded_feature_stage(
        make,
        ev_rx,
        win_tx,
        None,
        shadow,
        cfg.features.shards,
        metrics.clone(),
    ));
    // With the shadow trainer, a replay's swaps are its own, in event time; a watch would put
    // `CURRENT` (which the trainer moves as it promotes) into service at wall-clock moments.
    if serving.schedule().is_none() {
        serving.start_watch(cfg.model_watch_interval());
    }
    let infer = inference_stage(cfg, job.speed, false, &serving, &metrics);
    let inf = tokio::spawn(infer.run(win_rx, sig_tx));
    let snk = tokio::task::spawn_blocking(move || stages::sink_stage(sinks, sig_rx));

    let joined = |e: tokio::task::JoinError| AppError::Stage(e.to_string());
    tokio::pin!(shutdown);
    let src_res = tokio::select! {
        r = &mut src => r,
        () = &mut shutdown => {
            tracing::info!("shutdown requested: the replay stops reading and drains");
            stop.store(true, Ordering::Relaxed);
            serving.interrupt();
            src.await
        }
    }
    .map_err(joined)?;
    let features = feat.await.map_err(joined)?;
    let inf_res = inf.await.map_err(joined)?.map_err(AppError::from);
    let snk_res = snk.await.map_err(joined)?;
    let served = serving.finish().await;
    stop_api(api).await;
    // Dead letters first: they matter most when the source failed on too many bad rows.
    let dead_letters = flush_dead_letters(&job.input)?;
    let (files, events) = src_res?;
    let stats = inf_res?;
    let sink_out = snk_res?;
    let engine_stats = features.engine.clone();
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
        kafka_sink: sink_out.kafka.clone(),
        kafka_source: None,
        models: served.models,
        shadow: served.shadow,
        ..Summary::from_infer(stats, elapsed, job.out)
    }
    .with_stages(&metrics)
    .with_dead_letters(dead_letters))
}

/// The inference stage. Unpaced replay batches on event time (deterministic batches); paced
/// replay and live input on the wall clock, so a batch never waits for the next bar.
fn inference_stage(
    cfg: &Config,
    speed: Speed,
    live_input: bool,
    serving: &Serving,
    metrics: &Arc<LiveMetrics>,
) -> InferenceStage {
    InferenceStage {
        model: serving.live.clone(),
        max_batch: cfg.serving_max_batch(),
        max_wait_us: cfg.inference.max_wait_us as i64,
        batch_clock: match speed {
            Speed::Max if !live_input => BatchClock::Event,
            _ => BatchClock::Wall,
        },
        emit_clock: if live_input {
            EmitClock::Live
        } else {
            EmitClock::Replay
        },
        skip_forward: false,
        schedule: serving.schedule(),
        metrics: metrics.clone(),
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
