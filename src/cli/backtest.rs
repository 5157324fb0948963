//! `signal-engine backtest`: replay history through the live path, simulate the bot's trades,
//! write the report (`src/backtest/`).

use crate::backtest::{BacktestJob, run_backtest};
use crate::config::Config;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct BacktestArgs {
    #[command(flatten)]
    pub input: super::DataArgs,
    /// Model bundle directory (default: the config's model.dir).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Directory for signals.jsonl, trades.csv, report.json and report.md (created).
    #[arg(long)]
    pub out: PathBuf,
    /// Retrain on each past window and trade the next: `train=30d,test=7d[,purge=BARS]`
    /// (fold models in OUT/folds/K/model; `[train]` sets the recipe).
    #[arg(long)]
    pub walk_forward: Option<crate::backtest::walk::WalkForward>,
}

pub fn run(mut config: Config, config_name: String, a: BacktestArgs) -> anyhow::Result<()> {
    a.input.apply(&mut config);
    let job = BacktestJob {
        model_dir: a.model.unwrap_or_else(|| config.model.dir.clone()),
        data: a.input.paths(&config)?,
        input: a.input.options(&config)?,
        config,
        config_name,
        out_dir: a.out.clone(),
        progress: progress_bar(),
    };
    let rt = super::runtime()?;
    let (report, timing) = match a.walk_forward {
        Some(wf) => rt
            .block_on(crate::backtest::walk::run_walk_forward(job, wf))
            .context("walk-forward backtest failed")?,
        None => {
            let (r, _, t) = rt.block_on(run_backtest(job)).context("backtest failed")?;
            (r, t)
        }
    };
    let secs = timing.replay_secs + timing.evaluate_secs;
    let md = std::fs::read_to_string(a.out.join("report.md")).unwrap_or_default();
    // The trading and quality tables; the rest is in the files.
    for line in md.lines().take_while(|l| !l.starts_with("Calibration")) {
        println!("{line}");
    }
    println!(
        "{} bars, {} signals in {secs:.1} s ({:.0} bars/s, model {}): replay and causality audit {:.2} s, simulation and report {:.2} s ({:.1} % of the replay); files in {}",
        report.bars,
        report.signals,
        report.bars as f64 / secs.max(1e-9),
        report.model_version,
        timing.replay_secs,
        timing.evaluate_secs,
        100.0 * timing.evaluate_secs / timing.replay_secs.max(1e-9),
        a.out.display()
    );
    Ok(())
}

/// A spinner on stderr (indicatif hides it when stderr is not a terminal): the phase, bars
/// replayed, the event time reached and the rate.
fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} {prefix}: {human_pos} bars, {msg} [{elapsed}]",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
    bar.set_style(style);
    bar.set_prefix("replaying");
    bar.set_message("starting");
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}
