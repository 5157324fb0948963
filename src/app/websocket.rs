//! `run` on exchange websockets: `[[websocket.feeds]]` → features → model → signals (JSONL and,
//! when configured, the Kafka signals topic).
//!
//! Runs until `shutdown` resolves (SIGINT/SIGTERM), the job's duration passes, an exchange
//! refuses a subscription, or a stage fails. Then the feeds stop, the stages drain and the sinks
//! flush. Live data starts with no history: a symbol emits its first signal once it has the
//! window and the indicators' look-back (for 1-minute bars and the default features, about two
//! hours after the start); gaps the supervisor marks re-warm it.
#![allow(clippy::disallowed_methods)] // the run is timed on the wall clock

use super::conflate::{conflate_stage, pass_through};
use super::serving::Serving;
use super::{AppError, Speed, Summary, inference_stage, open_sinks, stages, start_api, stop_api};
use crate::config::Config;
use crate::event::MarketEvent;
use crate::features::Window;
use crate::infer::{SignalBatch, Stamped};
use crate::ingest::dead_letter::DeadLetters;
use crate::ingest::exchange::supervisor::Supervisor;
use crate::ingest::kafka::SourceItem;
use crate::telemetry::live::{LiveMetrics, SourceProbe};
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// One websocket run.
#[derive(Clone, Debug)]
pub struct WebsocketJob {
    pub config: Config,
    pub config_name: String,
    pub model_dir: PathBuf,
    /// Write the signals to this JSONL file.
    pub out: Option<PathBuf>,
    /// Stop after this long (tests, bounded sessions); `None`: until shutdown.
    pub duration: Option<Duration>,
}

pub async fn run_websocket(
    job: WebsocketJob,
    shutdown: impl Future<Output = ()>,
) -> Result<Summary, AppError> {
    let cfg = &job.config;
    let ws = cfg.websocket.as_ref().ok_or_else(|| {
        AppError::Config(format!(
            "{}: no [[websocket.feeds]]: nothing to connect to (see config/websocket.toml)",
            job.config_name
        ))
    })?;
    let (mut serving, make) = Serving::open(cfg, &job.config_name, &job.model_dir)?;
    let version = serving.live.load().manifest.version.clone();
    let metrics = LiveMetrics::new();
    let sinks = open_sinks(cfg, job.out.as_deref(), None, metrics.clone()).await?;
    let api = start_api(cfg, &sinks, &serving).await?;
    let dead = match &ws.dead_letter {
        Some(p) => Some(DeadLetters::create(p).map_err(|e| {
            AppError::Config(format!(
                "{}: cannot create the dead-letter file: {e}",
                p.display()
            ))
        })?),
        None => None,
    };

    let cap = cfg.inference.channel_capacity;
    let (md_tx, md_rx) = mpsc::channel::<MarketEvent>(ws.channel_capacity);
    let (ev_tx, ev_rx) = mpsc::channel::<SourceItem>(cap);
    let (feat_tx, feat_rx) = mpsc::channel::<Stamped<Window>>(cfg.serving_max_batch());
    let (win_tx, win_rx) = mpsc::channel::<Stamped<Window>>(cfg.serving_max_batch());
    let (sig_tx, sig_rx) = mpsc::channel::<SignalBatch>(cap);
    let started = Instant::now();
    let feeds: Vec<_> = ws.feeds.iter().map(|f| f.spec()).collect();
    let mut supervisor = Supervisor::start(&feeds, md_tx, dead.clone());
    metrics.attach_source(SourceProbe::Websocket(supervisor.probes()));
    let fwd = tokio::spawn(forward(md_rx, ev_tx));
    let shadow = serving.start_shadow(cfg, false, &metrics)?;
    let feat = tokio::spawn(stages::sharded_feature_stage(
        make,
        ev_rx,
        feat_tx,
        None,
        shadow,
        cfg.features.shards,
        metrics.clone(),
    ));
    serving.start_watch(cfg.model_watch_interval());
    let infer = inference_stage(cfg, Speed::Max, true, &serving, &metrics);
    let conf = if ws.conflate_windows {
        tokio::spawn(conflate_stage(feat_rx, win_tx, metrics.clone()))
    } else {
        tokio::spawn(pass_through(feat_rx, win_tx))
    };
    let inf = tokio::spawn(infer.run(win_rx, sig_tx));
    let snk = tokio::task::spawn_blocking(move || stages::sink_stage(sinks, sig_rx));

    let until = async {
        match job.duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    let failure = tokio::select! {
        () = shutdown => None,
        () = until => None,
        e = supervisor.failed() => Some(e),
    };
    serving.interrupt();
    // Stopping the feeds drops their senders: the stages drain in order and end.
    let feeds = supervisor.stop().await;
    let joined = |e: tokio::task::JoinError| AppError::Stage(e.to_string());
    let events = fwd.await.map_err(joined)?;
    let features = feat.await.map_err(joined)?;
    let coalesced = conf.await.map_err(joined)?;
    let stats = inf.await.map_err(joined)?.map_err(AppError::from)?;
    let sink_out = snk.await.map_err(joined)??;
    let served = serving.finish().await;
    stop_api(api).await;
    let dead_letters = match &dead {
        Some(d) => Some(d.flush().map_err(|e| AppError::Stage(e.to_string()))?),
        None => None,
    };
    if let Some(e) = failure {
        return Err(AppError::Stage(e.to_string()));
    }
    let feeds = feeds.map_err(|e| AppError::Stage(e.to_string()))?;
    let elapsed = started.elapsed().as_secs_f64();
    Ok(Summary {
        model_version: version,
        events,
        engine: features.engine.clone(),
        kafka_sink: sink_out.kafka.clone(),
        websocket: Some(feeds),
        windows_coalesced: coalesced,
        models: served.models,
        shadow: served.shadow,
        ..Summary::from_infer(stats, elapsed, job.out)
    }
    .with_stages(&metrics)
    .with_dead_letters(dead_letters))
}

/// Hands the feeds' events to the feature stage; returns how many. Each is dated from the moment
/// its frame arrived (`ts_recv_ns`, wall clock), so ingest → features includes parsing and the
/// feeds' channel.
async fn forward(mut rx: mpsc::Receiver<MarketEvent>, tx: mpsc::Sender<SourceItem>) -> u64 {
    let mut n = 0;
    while let Some(ev) = rx.recv().await {
        n += 1;
        let age_ns = crate::clock::wall_ns().saturating_sub(ev.ts_recv_ns).max(0);
        let now = std::time::Instant::now();
        let received = now
            .checked_sub(std::time::Duration::from_nanos(age_ns as u64))
            .unwrap_or(now);
        let item = SourceItem::Event(ev, None, received);
        if tx.send(item).await.is_err() {
            break;
        }
    }
    n
}
