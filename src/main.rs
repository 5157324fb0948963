//! The `signal-engine` binary: parse the command line, run it, print any error on one line.

use clap::Parser;
use std::process::ExitCode;

/// Without RUST_LOG: warnings, plus the model's life (swaps, refits, promotions, rejections,
/// rollbacks), which an operator wants to see by default.
const DEFAULT_LOG: &str = "warn,signal_engine::registry=info,signal_engine::trainer::shadow=info";

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG)),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = signal_engine::cli::Cli::parse();
    match signal_engine::cli::dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error chain on one line, skipping a cause whose text its parent already quotes.
fn one_line(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if !msg.contains(&s) {
            if !msg.is_empty() {
                msg.push_str(": ");
            }
            msg.push_str(&s);
        }
    }
    msg.replace('\n', " ")
}
