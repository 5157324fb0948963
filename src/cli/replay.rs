//! `signal-engine replay` and `signal-engine run` (the configured replay).

use crate::app::{ReplayJob, Speed, Summary, run_replay_until};
use crate::config::Config;
use anyhow::{Context, bail};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub input: super::DataArgs,
    /// Model bundle directory (default: the config's model.dir).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Signals JSONL to write.
    #[arg(long)]
    pub out: PathBuf,
    /// `max`, or N for N× the data's real-time pace.
    #[arg(long, default_value = "max")]
    pub speed: Speed,
    /// Also write the summary (counts, latency percentiles, windows/s) as JSON to this file.
    #[arg(long)]
    pub summary_json: Option<PathBuf>,
}

pub fn run(mut config: Config, config_name: String, a: ReplayArgs) -> anyhow::Result<()> {
    a.input.apply(&mut config);
    let job = ReplayJob {
        model_dir: a.model.unwrap_or_else(|| config.model.dir.clone()),
        data: a.input.paths(&config)?,
        input: a.input.options(&config)?,
        config,
        config_name,
        out: Some(a.out),
        speed: a.speed,
    };
    execute(job, a.summary_json.as_deref())
}

/// `run` on files: the config names the data, the model and the output.
pub fn run_configured(config: Config, config_name: String) -> anyhow::Result<()> {
    if config.replay.data.is_empty() {
        bail!("{config_name}: replay.data is empty and there is no [kafka.source]: nothing to run");
    }
    let job = ReplayJob {
        data: config.replay.data.clone(),
        model_dir: config.model.dir.clone(),
        out: config.sink.jsonl.clone(),
        speed: match config.replay.speed {
            crate::config::ReplaySpeed::Max => Speed::Max,
            crate::config::ReplaySpeed::Times(x) => Speed::Times(x),
        },
        input: super::replay_options(&config, None)?,
        config,
        config_name,
    };
    execute(job, None)
}

fn execute(job: ReplayJob, summary_json: Option<&Path>) -> anyhow::Result<()> {
    let rt = super::runtime()?;
    let summary = rt
        .block_on(run_replay_until(job, super::run::shutdown_signal()))
        .context("replay failed")?;
    print_summary(&summary);
    write_summary(&summary, summary_json)
}

/// `--summary-json`.
pub fn write_summary(summary: &Summary, summary_json: Option<&Path>) -> anyhow::Result<()> {
    if let Some(p) = summary_json {
        let text =
            serde_json::to_string_pretty(&summary).context("failed to encode the summary")?;
        std::fs::write(p, text + "\n")
            .with_context(|| format!("{}: cannot write the summary", p.display()))?;
    }
    Ok(())
}

/// The human summary on stdout.
pub fn print_summary(s: &Summary) {
    let e = &s.engine;
    let what = if s.kafka_source.is_some() {
        "run (kafka)"
    } else {
        "replay"
    };
    println!("signal-engine {what}: model {}", s.model_version);
    for f in &s.files {
        println!(
            "  file {}: {} rows, {} events, {} bad rows",
            f.path.display(),
            f.rows_read,
            f.events,
            f.bad_rows
        );
        for m in &f.first_bad {
            println!("    bad row: {m}");
        }
    }
    println!(
        "  bars {} (warming {}, gap bars filled {}, resets {}, duplicates {}, rejected {}), windows {}, signals {} (long {}, features invalid {})",
        e.bars,
        e.warming_bars,
        e.filled_bars,
        e.resets,
        e.duplicates,
        e.rejected(),
        e.windows,
        s.signals,
        s.long_signals,
        s.invalid_feature_signals
    );
    let l = &s.latency;
    println!(
        "  latency per window, bar in -> signal out (incl. queueing): p50 {} us, p99 {} us, p99.9 {} us, max {} us",
        l.p50_us, l.p99_us, l.p999_us, l.max_us
    );
    let l = &s.processing;
    println!(
        "  processing per window (features + its batch's forward, no queueing): p50 {} us, p99 {} us, p99.9 {} us",
        l.p50_us, l.p99_us, l.p999_us
    );
    let c = &s.batch_compute;
    println!(
        "  model forward per batch: p50 {} us, p99 {} us over {} batches (mean {:.1} windows)",
        c.p50_us, c.p99_us, s.batches, s.mean_batch
    );
    let st = &s.stages;
    println!("  stage latency, us          p50      p99    p99.9      max");
    for (name, l) in [
        ("ingest -> features", &st.ingest_to_features),
        ("features -> batch", &st.features_to_batch),
        ("batch wait", &st.batch_wait),
        ("inference", &st.inference),
        ("sink", &st.sink),
        ("end to end", &st.end_to_end),
    ] {
        println!(
            "    {name:<22} {:>8} {:>8} {:>8} {:>8}",
            l.p50_us, l.p99_us, l.p999_us, l.max_us
        );
    }
    if s.windows_coalesced > 0 {
        println!(
            "  windows replaced by a newer one of their symbol while the model lagged: {}",
            s.windows_coalesced
        );
    }
    if let Some(m) = &s.models {
        println!(
            "  registry: {} swaps, {} refused{}",
            m.swaps,
            m.rejected,
            m.last_error
                .as_ref()
                .map_or(String::new(), |e| format!(" (last: {e})"))
        );
    }
    if let Some(sh) = &s.shadow {
        println!(
            "  shadow trainer: {} labelled, {} refits ({} failed, {} from fresh weights), {} promoted, {} rejected, {} rolled back, {} inputs dropped",
            sh.resolver.labelled,
            sh.refits,
            sh.refit_failures,
            sh.fresh_starts,
            sh.promotions,
            sh.rejections,
            sh.rollbacks,
            sh.dropped_inputs
        );
        for d in &sh.decisions {
            let nums = d.verdict.as_ref().map_or(String::new(), |v| {
                format!(
                    " AUC {:.4} -> {:.4}, log loss {:.4} -> {:.4} on {} labels",
                    v.champion.roc_auc,
                    v.challenger.roc_auc,
                    v.champion.log_loss,
                    v.challenger.log_loss,
                    v.samples
                )
            });
            println!(
                "    {:<8} {}{nums}{}",
                d.kind,
                d.version.as_deref().unwrap_or("-"),
                if d.detail.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", d.detail)
                }
            );
        }
    }
    if let Some((path, n)) = &s.dead_letters {
        println!("  dead letters: {n} rows in {}", path.display());
    }
    if let Some(k) = &s.kafka_source {
        println!(
            "  kafka in: {} messages, {} events, {} warm-up events ({} windows not emitted), {} ignored, {} malformed ({} dead-lettered), {} pauses, partitions +{} -{}, {} commits ({} failed)",
            k.messages,
            k.events,
            k.warmup_events,
            s.warmup_windows,
            k.ignored,
            k.malformed,
            k.dead_lettered,
            k.pauses,
            k.assigned,
            k.revoked,
            k.commits,
            k.commit_errors
        );
    }
    if let Some(k) = &s.kafka_sink {
        println!(
            "  kafka out: {} signals delivered to {}",
            k.delivered, k.topic
        );
    }
    println!(
        "  {:.0} windows/s, {:.2} s wall{}",
        s.windows_per_sec,
        s.elapsed_secs,
        s.out
            .as_ref()
            .map_or(String::new(), |p| format!(", signals in {}", p.display()))
    );
}
