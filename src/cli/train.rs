//! `signal-engine train`: history in, a model bundle out.

use crate::config::Config;
use crate::ingest::replay::{ReplaySource, check_intervals};
use crate::registry::save_bundle;
use crate::trainer::train;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub input: super::DataArgs,
    /// Bundle directory to write (replaced atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Version name (default: creation time + weights hash).
    #[arg(long)]
    pub version: Option<String>,
}

pub fn run(mut config: Config, a: TrainArgs) -> anyhow::Result<()> {
    a.input.apply(&mut config);
    let opts = a.input.options(&config)?;
    let data = a.input.paths(&config)?;
    check_intervals(&data, config.features.bar_interval_secs)?;
    let source = ReplaySource::open(&data, &opts)?;
    let files: Vec<String> = source.files().iter().map(|p| super::display(p)).collect();
    let events = source.collect::<Result<Vec<_>, _>>();
    if let Some((path, n)) = crate::app::flush_dead_letters(&opts)?.filter(|(_, n)| *n > 0) {
        eprintln!("train: {n} unreadable rows written to {}", path.display());
    }
    let events = events?;
    eprintln!("train: {} events from {} files", events.len(), files.len());
    let mut outcome = train::train(&config, events, files, |e| {
        eprintln!(
            "  epoch {:>3}: train loss {:.4}, validation AUC {:.4} ({:.1} s)",
            e.epoch, e.train_loss, e.val_auc, e.seconds
        );
    })
    .context("training failed")?;
    if let Some(v) = a.version {
        outcome.manifest.version = v;
    }
    save_bundle(
        &a.out,
        &mut outcome.manifest,
        &outcome.scaler,
        Some(&outcome.streaming),
        &outcome.net,
    )
    .context("failed to write the bundle")?;
    let m = &outcome.manifest;
    let (t, mm, b) = (&m.training, &m.metrics.model, &m.metrics.baseline_majority);
    println!("model {} written to {}", m.version, a.out.display());
    println!(
        "  samples train/validation/test: {}/{}/{} (positive rate {:.3}/{:.3}/{:.3}), purge {} bars, best epoch {}",
        t.train.samples,
        t.validation.samples,
        t.test.samples,
        t.train.positive_rate,
        t.validation.positive_rate,
        t.test.positive_rate,
        t.purge_bars,
        t.best_epoch
    );
    println!(
        "  test (threshold {:.2})   AUC     accuracy precision recall",
        m.threshold
    );
    for (name, s) in [("model", mm), ("majority baseline", b)] {
        println!(
            "  {name:<22} {:.4}  {:.4}   {:.4}    {:.4}",
            s.auc, s.accuracy, s.precision, s.recall
        );
    }
    Ok(())
}
