//! The command line (clap): parse, load config, run one command. One file per subcommand; each
//! returns `anyhow::Result` and the binary prints the error chain on one line.

mod replay;
mod train;

use clap::{Parser, Subcommand};
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
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the configured job (default: replay the bundled sample through models/default).
    Run,
    /// Replay history through features, scaler and model; write signals as JSONL.
    Replay(replay::ReplayArgs),
    /// Train a model on history and write a bundle.
    Train(train::TrainArgs),
}

/// Runs the parsed command.
pub fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let (config, name) = crate::config::Config::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => replay::run_configured(config, name),
        Command::Replay(a) => replay::run(config, name, a),
        Command::Train(a) => train::run(config, a),
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

/// `--data`, or the config's `replay.data` when it is not given.
fn data_or_config(
    data: Vec<PathBuf>,
    config: &crate::config::Config,
) -> anyhow::Result<Vec<PathBuf>> {
    if !data.is_empty() {
        return Ok(data);
    }
    if config.replay.data.is_empty() {
        anyhow::bail!("no --data given and replay.data is empty in the config");
    }
    Ok(config.replay.data.clone())
}

/// Parses `--symbol` with the same rules as symbols in JSON.
fn symbol_arg(s: Option<String>) -> anyhow::Result<Option<crate::event::Symbol>> {
    s.map(|s| crate::event::Symbol::try_from(s).map_err(|e| anyhow::anyhow!("--symbol: {e}")))
        .transpose()
}
