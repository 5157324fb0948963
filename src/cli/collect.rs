//! `signal-engine collect --config F --out events.jsonl[.gz] [--duration SECS]`: records the
//! normalised events of the configured websocket feeds as MarketEvent JSONL, which `replay`,
//! `train` and `publish` read back (the Rust successor of the seed's `dataCollector.ts`).
//!
//! Runs until `--duration` elapses or SIGINT/SIGTERM, then stops the connections, finishes the
//! file (a `.gz` file is a complete gzip stream) and prints the per-feed counters as JSON. The
//! file is flushed every second, so a crash loses at most the last second. A subscription the
//! exchange refuses stops the command with that error (exit code 1); the events collected so far
//! are kept.
#![allow(clippy::disallowed_methods)] // collecting runs on the wall clock

use crate::config::Config;
use crate::event::MarketEvent;
use crate::ingest::dead_letter::DeadLetters;
use crate::ingest::exchange::supervisor::{FeedSnapshot, Supervisor};
use anyhow::{Context, bail};
use clap::Args;
use flate2::Compression;
use flate2::write::GzEncoder;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Output file: MarketEvent JSONL, gzipped when the name ends in `.gz`.
    #[arg(long)]
    pub out: PathBuf,
    /// Stop after this many seconds (default: until SIGINT/SIGTERM).
    #[arg(long)]
    pub duration: Option<f64>,
    /// JSONL file that receives every websocket message that did not parse, whole.
    #[arg(long)]
    pub dead_letter: Option<PathBuf>,
    /// Also write the final counters to this JSON file.
    #[arg(long)]
    pub summary_json: Option<PathBuf>,
}

/// What a collection did, printed at the end.
#[derive(Debug, serde::Serialize)]
pub struct CollectSummary {
    pub events_written: u64,
    pub feeds: Vec<(String, FeedSnapshot)>,
}

pub fn run(config: Config, config_name: String, a: CollectArgs) -> anyhow::Result<()> {
    let Some(ws) = config.websocket.clone() else {
        bail!("{config_name}: no [[websocket.feeds]] section: collect has nothing to connect to");
    };
    if a.duration.is_some_and(|d| !(d > 0.0 && d.is_finite())) {
        bail!("--duration must be a positive number of seconds");
    }
    let dead = match a.dead_letter.as_ref().or(ws.dead_letter.as_ref()) {
        Some(p) => Some(
            DeadLetters::create(p).with_context(|| format!("{}: cannot create", p.display()))?,
        ),
        None => None,
    };
    let mut writer = EventWriter::create(&a.out)?;
    let feeds: Vec<_> = ws.feeds.iter().map(|f| f.spec()).collect();
    let rt = super::runtime()?;
    let outcome = rt.block_on(async {
        let (tx, mut rx) = mpsc::channel::<MarketEvent>(ws.channel_capacity);
        let mut supervisor = Supervisor::start(&feeds, tx, dead.clone());
        let until = async {
            match a.duration {
                Some(d) => tokio::time::sleep(Duration::from_secs_f64(d)).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(until);
        let stop = super::run::shutdown_signal();
        tokio::pin!(stop);
        let mut flush = tokio::time::interval(Duration::from_secs(1));
        let failure = loop {
            tokio::select! {
                Some(ev) = rx.recv() => writer.write(&ev)?,
                _ = flush.tick() => writer.flush()?,
                () = &mut until => break None,
                () = &mut stop => break None,
                e = supervisor.failed() => break Some(e),
            }
        };
        let stopped = supervisor.stop().await;
        // Events already parsed before the stop are kept.
        while let Ok(ev) = rx.try_recv() {
            writer.write(&ev)?;
        }
        anyhow::Ok((failure, stopped))
    })?;
    let events_written = writer.finish()?;
    if let Some(d) = &dead {
        d.flush().context("cannot flush the dead-letter file")?;
    }
    let (failure, stopped) = outcome;
    if let Some(e) = failure {
        return Err(e).context(format!("collect stopped after {events_written} events"));
    }
    let summary = CollectSummary {
        events_written,
        feeds: stopped?,
    };
    let text = serde_json::to_string_pretty(&summary)?;
    println!("{text}");
    if let Some(p) = &a.summary_json {
        std::fs::write(p, &text).with_context(|| format!("{}: cannot write", p.display()))?;
    }
    Ok(())
}

/// MarketEvent JSONL, plain or gzipped by the file name.
struct EventWriter {
    path: PathBuf,
    out: Out,
    written: u64,
}

enum Out {
    Plain(BufWriter<File>),
    Gz(GzEncoder<BufWriter<File>>),
}

impl EventWriter {
    /// Creates (truncates) `path`, making its directory.
    fn create(path: &Path) -> anyhow::Result<Self> {
        let fail = || format!("{}: cannot create", path.display());
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(fail)?;
        }
        let buffered = BufWriter::new(File::create(path).with_context(fail)?);
        let out = if path.extension().is_some_and(|e| e == "gz") {
            Out::Gz(GzEncoder::new(buffered, Compression::default()))
        } else {
            Out::Plain(buffered)
        };
        Ok(Self {
            path: path.to_path_buf(),
            out,
            written: 0,
        })
    }

    fn sink(&mut self) -> &mut dyn Write {
        match &mut self.out {
            Out::Plain(w) => w,
            Out::Gz(w) => w,
        }
    }

    fn write(&mut self, ev: &MarketEvent) -> anyhow::Result<()> {
        let sink = self.sink();
        let written = serde_json::to_writer(&mut *sink, ev)
            .map_err(std::io::Error::from)
            .and_then(|()| sink.write_all(b"\n"));
        written.with_context(|| format!("{}: write failed", self.path.display()))?;
        self.written += 1;
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        let flushed = self.sink().flush();
        flushed.with_context(|| format!("{}: flush failed", self.path.display()))
    }

    /// Flushes; a gzip file gets its trailer, so it is complete.
    fn finish(self) -> anyhow::Result<u64> {
        let finished = match self.out {
            Out::Plain(mut w) => w.flush(),
            Out::Gz(gz) => gz.finish().and_then(|mut w| w.flush()),
        };
        finished.with_context(|| format!("{}: cannot finish", self.path.display()))?;
        Ok(self.written)
    }
}
