//! `signal-engine run`: the configured job. With a `[kafka.source]` it consumes market data from
//! Kafka until SIGINT/SIGTERM (or `--stop-when-idle`); with `[[websocket.feeds]]` it runs on the
//! exchanges' live data until SIGINT/SIGTERM (or `--duration`); otherwise it replays
//! `replay.data`.

use crate::app::{KafkaJob, WebsocketJob, run_kafka, run_websocket};
use crate::config::Config;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args, Default)]
pub struct RunArgs {
    /// Model bundle directory (default: the config's model.dir).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Kafka: also write signals to this JSONL file (default: the config's sink.jsonl).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Kafka: stop (gracefully, committing) after no message arrived for this many seconds.
    #[arg(long, value_name = "SECS")]
    pub stop_when_idle: Option<f64>,
    /// Websockets: stop (gracefully) after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    /// Also write the summary as JSON to this file.
    #[arg(long)]
    pub summary_json: Option<PathBuf>,
}

pub fn run(config: Config, config_name: String, a: RunArgs) -> anyhow::Result<()> {
    let on_kafka = config.kafka.as_ref().is_some_and(|k| k.source.is_some());
    let on_websockets = config.websocket.is_some();
    if on_kafka && on_websockets {
        anyhow::bail!(
            "{config_name} has both [kafka.source] and [[websocket.feeds]]: `run` reads one source"
        );
    }
    if a.duration.is_some() && !on_websockets {
        anyhow::bail!("--duration needs [[websocket.feeds]] in {config_name}");
    }
    if on_websockets {
        return run_on_websockets(config, config_name, a);
    }
    if !on_kafka {
        if a.model.is_some() || a.out.is_some() || a.stop_when_idle.is_some() {
            anyhow::bail!(
                "--model, --out and --stop-when-idle need a [kafka.source] in {config_name}; use `replay` for files"
            );
        }
        return super::replay::run_configured(config, config_name);
    }
    let idle = match a.stop_when_idle {
        Some(s) if s > 0.0 && s.is_finite() => Some(Duration::from_secs_f64(s)),
        Some(s) => anyhow::bail!("--stop-when-idle must be a positive number of seconds, got {s}"),
        None => None,
    };
    let job = KafkaJob {
        model_dir: a.model.unwrap_or_else(|| config.model.dir.clone()),
        out: a.out.or_else(|| config.sink.jsonl.clone()),
        stop_when_idle: idle,
        skip_model_forward: false,
        config,
        config_name,
    };
    let rt = super::runtime()?;
    let summary = rt
        .block_on(run_kafka(job, shutdown_signal()))
        .context("kafka run failed")?;
    super::replay::print_summary(&summary);
    super::replay::write_summary(&summary, a.summary_json.as_deref())
}

fn run_on_websockets(config: Config, config_name: String, a: RunArgs) -> anyhow::Result<()> {
    if a.stop_when_idle.is_some() {
        anyhow::bail!("--stop-when-idle is for Kafka; on websockets use --duration");
    }
    let duration = match a.duration {
        Some(s) if s > 0.0 && s.is_finite() => Some(Duration::from_secs_f64(s)),
        Some(s) => anyhow::bail!("--duration must be a positive number of seconds, got {s}"),
        None => None,
    };
    let job = WebsocketJob {
        model_dir: a.model.unwrap_or_else(|| config.model.dir.clone()),
        out: a.out.or_else(|| config.sink.jsonl.clone()),
        duration,
        config,
        config_name,
    };
    let rt = super::runtime()?;
    let summary = rt
        .block_on(run_websocket(job, shutdown_signal()))
        .context("websocket run failed")?;
    super::replay::print_summary(&summary);
    super::replay::write_summary(&summary, a.summary_json.as_deref())
}

/// Resolves on SIGINT or SIGTERM. If a handler cannot be installed, that signal is not awaited
/// (its default action, ending the process, still applies).
pub(super) async fn shutdown_signal() {
    let int = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = int => {}
        () = term => {}
    }
}
