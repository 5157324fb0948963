//! `run` on Kafka: topics → features (one engine per partition) → model → signals topic / JSONL.
//!
//! Runs until `shutdown` resolves (SIGINT/SIGTERM), the input has been idle for the job's limit,
//! or a stage fails. Then the consumer stops, the stages drain, the sinks flush (every signal's
//! delivery report arrives), and only then does the source make its final commit: an offset is
//! committed only once everything it produced is on the broker.
#![allow(clippy::disallowed_methods)] // the run is timed and supervised on the wall clock

use super::serving::Serving;
use super::{AppError, Speed, Summary, inference_stage, open_sinks, stages, start_api, stop_api};
use crate::config::Config;
use crate::features::Window;
use crate::infer::{SignalBatch, Stamped};
use crate::ingest::kafka::client::ensure_topics;
use crate::ingest::kafka::{Acks, KafkaSource, SourceItem};
use crate::telemetry::live::LiveMetrics;
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// One Kafka run.
#[derive(Clone, Debug)]
pub struct KafkaJob {
    pub config: Config,
    pub config_name: String,
    pub model_dir: PathBuf,
    /// Also write the signals to this JSONL file.
    pub out: Option<PathBuf>,
    /// Stop once no message has arrived for this long (a backfill that should end).
    pub stop_when_idle: Option<Duration>,
    /// Benchmarks only (`benches/kafka.rs`): skip the model forward (p = 0.5) to time the Kafka
    /// path alone. The CLI never sets it.
    pub skip_model_forward: bool,
}

/// Runs until `shutdown`, the idle limit or a failure; returns what it did.
pub async fn run_kafka(
    job: KafkaJob,
    shutdown: impl Future<Output = ()>,
) -> Result<Summary, AppError> {
    let cfg = &job.config;
    let missing = |what: &str| {
        AppError::Config(format!(
            "{}: no [{what}] section: nothing to consume (see config/kafka.toml)",
            job.config_name
        ))
    };
    let kafka = cfg.kafka.as_ref().ok_or_else(|| missing("kafka"))?;
    let src_cfg = kafka
        .source
        .as_ref()
        .ok_or_else(|| missing("kafka.source"))?;
    let (mut serving, make) = Serving::open(cfg, &job.config_name, &job.model_dir)?;
    let version = serving.live.load().manifest.version.clone();
    let warmup_bars = src_cfg.warmup_bars.unwrap_or(make().warmup_bars() as u64);
    let span_ms = (warmup_bars as i64).saturating_mul(cfg.interval_ms());
    let acks = Acks::default();
    if let Some(t) = &src_cfg.dead_letter_topic {
        ensure_topics(kafka, &[t]).await?;
    }
    let metrics = LiveMetrics::new();
    let sinks = open_sinks(cfg, job.out.as_deref(), Some(acks.clone()), metrics.clone()).await?;
    let api = start_api(cfg, &sinks, &serving).await?;

    let cap = cfg.inference.channel_capacity;
    let (ev_tx, ev_rx) = mpsc::channel::<SourceItem>(cap);
    let (win_tx, win_rx) = mpsc::channel::<Stamped<Window>>(cfg.serving_max_batch());
    let (sig_tx, sig_rx) = mpsc::channel::<SignalBatch>(cap);
    let started = Instant::now();
    let source = KafkaSource::start(kafka, src_cfg, span_ms, acks.clone(), ev_tx)?;
    metrics.attach_source(source.probe());
    tracing::info!(topics = ?src_cfg.topics, group = %src_cfg.group_id, warmup_bars, "consuming");
    serving.start_watch(cfg.model_watch_interval());
    let shadow = serving.start_shadow(cfg, false, &metrics)?;
    let feat = tokio::spawn(stages::sharded_feature_stage(
        make,
        ev_rx,
        win_tx,
        Some(acks),
        shadow,
        cfg.features.shards,
        metrics.clone(),
    ));
    let mut infer = inference_stage(cfg, Speed::Max, true, &serving, &metrics);
    infer.skip_forward = job.skip_model_forward;
    let inf = tokio::spawn(infer.run(win_rx, sig_tx));
    let snk = tokio::task::spawn_blocking(move || stages::sink_stage(sinks, sig_rx));

    supervise(&source, &snk, job.stop_when_idle, shutdown).await;
    serving.interrupt();
    source.stop();
    let joined = |e: tokio::task::JoinError| AppError::Stage(e.to_string());
    let features = feat.await.map_err(joined)?;
    let inf_res = inf.await.map_err(joined)?.map_err(AppError::from);
    let snk_res = snk.await.map_err(joined)?;
    let served = serving.finish().await;
    stop_api(api).await;
    let dead_letter_failure = source.failure();
    // Commits after the sinks have flushed: what they delivered is what gets committed.
    let src_stats = tokio::task::spawn_blocking(move || source.finish())
        .await
        .map_err(joined)??;
    let stats = inf_res?;
    let sink_out = snk_res?;
    if let Some(e) = dead_letter_failure {
        return Err(AppError::Stage(format!(
            "a dead letter could not be delivered: {e}"
        )));
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(Summary {
        model_version: version,
        events: src_stats.events,
        engine: features.engine.clone(),
        kafka_sink: sink_out.kafka.clone(),
        kafka_source: Some(src_stats),
        models: served.models,
        shadow: served.shadow,
        warmup_windows: features.warmup_windows,
        ..Summary::from_infer(stats, elapsed, job.out)
    }
    .with_stages(&metrics))
}

/// Returns when it is time to stop: `shutdown`, the idle limit, the sink stage ending (it only
/// ends early on a failure), the consumer thread ending (it only ends early on a failure), or a
/// failed dead letter.
async fn supervise<T>(
    source: &KafkaSource,
    sink: &tokio::task::JoinHandle<T>,
    idle_limit: Option<Duration>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let (mut seen, mut last_change) = (0, Instant::now());
    loop {
        tokio::select! {
            () = &mut shutdown => {
                tracing::info!("shutdown requested: draining");
                return;
            }
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        if sink.is_finished() || source.failure().is_some() || source.is_finished() {
            return;
        }
        let now = source.stats().messages;
        if now != seen || source.is_busy() {
            (seen, last_change) = (now, Instant::now());
        } else if idle_limit.is_some_and(|l| last_change.elapsed() >= l) {
            tracing::info!(messages = now, "input idle: stopping");
            return;
        }
    }
}
