//! The command line (clap): parse, load config, run one command. One file per subcommand; each
//! returns `anyhow::Result` and the binary prints the error chain on one line.

mod backtest;
mod collect;
mod device_check;
mod export;
mod features;
mod models;
mod publish;
mod replay;
mod run;
mod train;

use crate::ingest::dead_letter::DeadLetters;
use crate::ingest::replay::ReplayOptions;
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};

pub use replay::print_summary;

#[derive(Debug, Parser)]
#[command(
    name = "signal-engine",
    version,
    about = "Streaming profitability signals for crypto markets"
)]
pub struct Cli {
    /// Config file (default: the embedded config/default.toml).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Override one config key, `section.key=VALUE` (repeatable), e.g. `--set train.epochs=6`.
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the configured job: consume Kafka when the config has [kafka.source], else replay
    /// replay.data (default: the bundled sample through models/default).
    Run(run::RunArgs),
    /// Replay history through features, scaler and model; write signals as JSONL.
    Replay(replay::ReplayArgs),
    /// Train a model on history and write a bundle.
    Train(train::TrainArgs),
    /// Write every bar's indicators and model features as CSV.
    Features(features::FeaturesArgs),
    /// Load historical files into a Kafka topic as MarketEvent JSON (key = symbol).
    Publish(publish::PublishArgs),
    /// Record exchange websocket feeds (`[[websocket.feeds]]`) as MarketEvent JSONL.
    Collect(collect::CollectArgs),
    /// A model registry: list, inspect, promote, rollback, import.
    Models(models::ModelsArgs),
    /// Replay history through the live path, simulate the bot's trades (`[backtest]`), and
    /// report them against baselines.
    Backtest(backtest::BacktestArgs),
    /// Write a bundle's weights as safetensors in PyTorch's parameter names, with a check batch
    /// (for `scripts/reference_model.py`).
    ExportWeights(export::ExportArgs),
    /// Check a compute device with a bundle on real windows: its outputs against burn's CPU
    /// forward, inference and training-step speed, and with --fit-epochs what bf16 does to the
    /// test metrics (scripts/gpu-check.sh runs it beside the PyTorch reference).
    DeviceCheck(device_check::DeviceCheckArgs),
}

/// Runs the parsed command.
pub fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let (config, name) = crate::config::Config::load_with(cli.config.as_deref(), &cli.sets)?;
    match cli.command.unwrap_or(Command::Run(run::RunArgs::default())) {
        Command::Run(a) => run::run(config, name, a),
        Command::Replay(a) => replay::run(config, name, a),
        Command::Train(a) => train::run(config, a),
        Command::Features(a) => features::run(config, name, a),
        Command::Publish(a) => publish::run(config, a),
        Command::Collect(a) => collect::run(config, name, a),
        Command::Models(a) => models::run(config, name, a),
        Command::Backtest(a) => backtest::run(config, name, a),
        Command::ExportWeights(a) => export::run(config, a),
        Command::DeviceCheck(a) => device_check::run(config, a),
    }
}

/// A multi-threaded tokio runtime for one command.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the tokio runtime")
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// Where history comes from, shared by `replay` and `train`.
#[derive(Debug, Args)]
pub struct DataArgs {
    /// CSV (.csv/.csv.gz: data.binance.vision klines, OHLCV or trades, sniffed), MarketEvent
    /// JSONL (.jsonl/.jsonl.gz) or directories of them (default: the config's replay.data).
    #[arg(long, num_args = 1..)]
    pub data: Vec<PathBuf>,
    /// Symbol for the CSV files, instead of the one in their names (for one symbol's files, or
    /// files not named SYMBOL-1m-YYYY-MM.csv, SYMBOL-1m.csv or SYMBOL-trades.csv).
    #[arg(long)]
    pub symbol: Option<String>,
    /// JSONL file for rows that cannot be read (default: the config's replay.dead_letter).
    #[arg(long)]
    pub dead_letter: Option<PathBuf>,
}

impl DataArgs {
    /// `--data`, or the config's `replay.data` when it is not given.
    fn paths(&self, config: &crate::config::Config) -> anyhow::Result<Vec<PathBuf>> {
        if !self.data.is_empty() {
            return Ok(self.data.clone());
        }
        if config.replay.data.is_empty() {
            anyhow::bail!("no --data given and replay.data is empty in the config");
        }
        Ok(config.replay.data.clone())
    }

    /// Applies `--dead-letter` to the config.
    fn apply(&self, config: &mut crate::config::Config) {
        if let Some(p) = &self.dead_letter {
            config.replay.dead_letter = Some(p.clone());
        }
    }

    /// Reads every event of `--data` (or `replay.data`), checking the files' bar interval and
    /// writing unreadable rows to the dead-letter file; with each file's size and sha256 (for a
    /// manifest). `config.replay.data` becomes the files actually read.
    fn read_events(
        &self,
        config: &mut crate::config::Config,
        who: &str,
    ) -> anyhow::Result<(
        Vec<crate::event::MarketEvent>,
        Vec<crate::registry::manifest::DataFile>,
    )> {
        use crate::ingest::replay::{ReplaySource, check_intervals};
        self.apply(config);
        let opts = self.options(config)?;
        let data = self.paths(config)?;
        config.replay.data = data.clone();
        check_intervals(&data, config.features.bar_interval_secs)?;
        let source = ReplaySource::open(&data, &opts)?;
        let files = source
            .files()
            .iter()
            .map(|p| {
                let (sha256, bytes) = crate::registry::store::sha256_and_size(p)?;
                Ok(crate::registry::manifest::DataFile {
                    path: display(p),
                    bytes,
                    sha256,
                })
            })
            .collect::<Result<Vec<_>, crate::registry::BundleError>>()?;
        let events = source.collect::<Result<Vec<_>, _>>();
        if let Some((path, n)) = crate::app::flush_dead_letters(&opts)?.filter(|(_, n)| *n > 0) {
            eprintln!("{who}: {n} unreadable rows written to {}", path.display());
        }
        let events = events?;
        eprintln!("{who}: {} events from {} files", events.len(), files.len());
        Ok((events, files))
    }

    /// The reader options these arguments and the config give.
    fn options(&self, config: &crate::config::Config) -> anyhow::Result<ReplayOptions> {
        replay_options(config, self.symbol()?)
    }

    /// `--symbol`, checked with the same rules as symbols in JSON.
    fn symbol(&self) -> anyhow::Result<Option<crate::event::Symbol>> {
        let parse = |s: String| crate::event::Symbol::try_from(s);
        let sym = self.symbol.clone().map(parse).transpose();
        sym.map_err(|e| anyhow::anyhow!("--symbol: {e}"))
    }
}

/// Reader options from the config: exchange, bar interval, bad-row limit, the dead-letter file
/// (created here).
fn replay_options(
    config: &crate::config::Config,
    symbol_override: Option<crate::event::Symbol>,
) -> anyhow::Result<ReplayOptions> {
    use anyhow::Context;
    let dead_letters = match config.replay.dead_letter.as_deref() {
        Some(p) => Some(
            DeadLetters::create(p)
                .with_context(|| format!("{}: cannot create the dead-letter file", p.display()))?,
        ),
        None => None,
    };
    Ok(ReplayOptions {
        exchange: config.replay.exchange,
        symbol_override,
        interval_secs: config.features.bar_interval_secs,
        max_bad_rows: config.replay.max_bad_rows,
        dead_letters,
    })
}
