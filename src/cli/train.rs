//! `signal-engine train`: history in, a model bundle out (with its report, metrics, test
//! predictions and epoch log), and the test metrics beside the baselines on stdout.

use crate::config::Config;
use crate::registry::manifest::Manifest;
use crate::registry::save_bundle;
use crate::trainer::{EpochLog, TrainObserver, report, train};
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
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
    /// Walk-forward folds: K models, each tested on the time block after its data (overrides
    /// `train.folds`; 0 = one chronological split).
    #[arg(long)]
    pub folds: Option<usize>,
    /// Also append each epoch's row to this CSV as it finishes (the bundle's `epochs.csv` is
    /// written only at the end), to follow or keep a long run.
    #[arg(long)]
    pub epoch_log: Option<PathBuf>,
}

/// A progress bar per epoch on stderr (hidden when stderr is not a terminal), and one log line
/// per epoch.
struct Progress {
    bar: Option<ProgressBar>,
    log: Option<(PathBuf, csv::Writer<std::fs::File>)>,
}

impl TrainObserver for Progress {
    fn epoch_start(&mut self, fold: usize, epoch: usize, batches: usize) {
        let bar = ProgressBar::new(batches as u64);
        let style = ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} batches, {per_sec}, eta {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style.progress_chars("=> "));
        let fold = if fold == 0 {
            String::new()
        } else {
            format!("fold {fold} ")
        };
        bar.set_prefix(format!("{fold}epoch {epoch:>3}"));
        self.bar = Some(bar);
    }

    fn batch_done(&mut self, loss: f64) {
        if let Some(b) = &self.bar {
            b.inc(1);
            b.set_message(format!("loss {loss:.4}"));
        }
    }

    fn epoch_end(&mut self, e: &EpochLog) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        let fold = if e.fold == 0 {
            String::new()
        } else {
            format!("fold {} ", e.fold)
        };
        if let Some((path, w)) = &mut self.log
            && let Err(err) = w.serialize(e).and_then(|()| Ok(w.flush()?))
        {
            eprintln!(
                "train: cannot write {}: {err}; epoch log off",
                path.display()
            );
            self.log = None;
        }
        eprintln!(
            "  {fold}epoch {:>3}: train loss {:.4}, val loss {:.4}, val AUC {:.4}, precision {:.3}, recall {:.3}, lr {:.2e} ({:.1} s){}",
            e.epoch,
            e.train_loss,
            e.val_loss,
            e.val_auc,
            e.val_precision,
            e.val_recall,
            e.learning_rate,
            e.seconds,
            if e.best { " *" } else { "" }
        );
    }
}

pub fn run(mut config: Config, a: TrainArgs) -> anyhow::Result<()> {
    if let Some(k) = a.folds {
        anyhow::ensure!(k <= 100, "--folds {k}: at most 100");
        config.train.folds = k;
    }
    // A device that cannot be used fails before the data is read.
    let (device, precision) = config.train_compute();
    crate::model::backend::probe(device, precision).context("train.device (else model.device)")?;
    let (events, files) = a.input.read_events(&mut config, "train")?;
    let log = match &a.epoch_log {
        Some(p) => {
            let w = csv::Writer::from_path(p).with_context(|| format!("{}", p.display()))?;
            Some((p.clone(), w))
        }
        None => None,
    };
    let mut progress = Progress { bar: None, log };
    let mut outcome =
        train::train(&config, events, files, &mut progress).context("training failed")?;
    if let Some(v) = a.version {
        outcome.manifest.version = v;
    }
    let tables = report::tables(&outcome).context("failed to write the report")?;
    // The report names the version, which `save_bundle` derives from the weights when unset.
    let extras = |m: &Manifest| tables.into_iter().chain(report::summaries(m)).collect();
    save_bundle(
        &a.out,
        &mut outcome.manifest,
        &outcome.scaler,
        Some(&outcome.streaming),
        &outcome.net,
        extras,
    )
    .context("failed to write the bundle")?;
    print_summary(&outcome.manifest, &a.out);
    Ok(())
}

fn print_summary(m: &Manifest, out: &std::path::Path) {
    let t = &m.training;
    println!("model {} written to {}", m.version, out.display());
    println!("  {}", report::label_balance(&t.label_summary));
    println!(
        "  windows train/validation/test: {}/{}/{} (positive rate {:.3}/{:.3}/{:.3}), purge {} bars, best epoch {} of {}",
        t.train.samples,
        t.validation.samples,
        t.test.samples,
        t.train.positive_rate,
        t.validation.positive_rate,
        t.test.positive_rate,
        t.purge_bars,
        t.best_epoch,
        t.epochs_run
    );
    println!("\ntest split ({}):", out.join("report.md").display());
    print!(
        "{}",
        report::metrics_table(&m.metrics.model, &m.metrics.baselines)
    );
}
