//! `signal-engine models list|inspect|promote|rollback|import`: operate on a registry directory
//! (`--registry DIR`, default the config's `model.registry`). A running engine that serves the
//! registry sees `CURRENT` move and swaps within `model.watch_interval_ms`.

use crate::config::Config;
use crate::features::FeatureSpec;
use crate::registry::{Action, Manifest, Registry};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct ModelsArgs {
    /// Registry directory (default: the config's model.registry).
    #[arg(long, global = true)]
    pub registry: Option<PathBuf>,
    #[command(subcommand)]
    pub command: ModelsCommand,
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Every version in the registry, oldest first; `*` marks the serving one.
    List {
        /// One JSON object per version instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// A version's manifest summary, test metrics next to its baselines, and its history.
    Inspect {
        version: String,
        /// The whole manifest as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Serve VERSION: it is loaded and checked against the config first, then `CURRENT` moves.
    Promote {
        version: String,
        #[arg(long, default_value = "manual promotion")]
        reason: String,
    },
    /// Serve the version before the current one in the promotion chain.
    Rollback {
        #[arg(long, default_value = "manual rollback")]
        reason: String,
    },
    /// Copy a bundle directory into the registry (under its manifest's version).
    Import {
        bundle: PathBuf,
        /// Also promote it.
        #[arg(long)]
        promote: bool,
    },
}

pub fn run(config: Config, config_name: String, a: ModelsArgs) -> anyhow::Result<()> {
    let root = a
        .registry
        .clone()
        .or_else(|| config.model.registry.clone())
        .with_context(|| {
            format!("no --registry given and model.registry is not set in {config_name}")
        })?;
    let reg = Registry::open(&root)?;
    match a.command {
        ModelsCommand::List { json } => list(&reg, json),
        ModelsCommand::Inspect { version, json } => inspect(&reg, &version, json),
        ModelsCommand::Promote { version, reason } => {
            check_loads(&config, &config_name, &reg.bundle_dir(&version))?;
            let e = reg.set_current(&version, Action::Promote, &reason)?;
            println!(
                "serving {} (was {})",
                e.version,
                e.previous.as_deref().unwrap_or("none")
            );
            Ok(())
        }
        ModelsCommand::Rollback { reason } => {
            let chain = reg.chain()?;
            let target = chain.len().checked_sub(2).map(|i| chain[i].clone());
            let Some(target) = target else {
                bail!("nothing to roll back to: the promotion chain is {chain:?}");
            };
            check_loads(&config, &config_name, &reg.bundle_dir(&target))?;
            let e = reg.rollback(Action::Rollback, &reason)?;
            println!(
                "serving {} (was {})",
                e.version,
                e.previous.as_deref().unwrap_or("none")
            );
            Ok(())
        }
        ModelsCommand::Import { bundle, promote } => {
            let v = reg.import(&bundle)?;
            println!("imported {v}");
            if promote {
                check_loads(&config, &config_name, &reg.bundle_dir(&v))?;
                let why = format!("imported from {}", bundle.display());
                reg.set_current(&v, Action::Promote, &why)?;
                println!("serving {v}");
            }
            Ok(())
        }
    }
}

/// The bundle loads, passes every check of `load_bundle` (sha256, spec hash, shapes, a finite
/// smoke forward) and fits the config's window length and bar interval.
fn check_loads(config: &Config, config_name: &str, dir: &Path) -> anyhow::Result<()> {
    let spec = FeatureSpec::new(&config.features.names)?;
    crate::app::load_checked_model(config, config_name, dir, &spec)
        .with_context(|| format!("{} cannot serve", dir.display()))?;
    Ok(())
}

fn read_manifest(reg: &Registry, version: &str) -> anyhow::Result<Manifest> {
    let path = reg.bundle_dir(version).join("manifest.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("{}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: invalid manifest", path.display()))
}

fn list(reg: &Registry, json: bool) -> anyhow::Result<()> {
    let current = reg.current()?;
    if !json {
        println!(
            "  {:<28} {:<22} {:>8} {:>8} {:>9}  parent",
            "version", "created_at", "test_auc", "base_auc", "log_loss"
        );
    }
    for v in reg.versions()? {
        let mark = if current.as_deref() == Some(v.as_str()) {
            "*"
        } else {
            " "
        };
        match read_manifest(reg, &v) {
            Ok(m) => {
                let e = &m.metrics.model;
                let base = m.metrics.baselines.logistic.roc_auc;
                if json {
                    let row = serde_json::json!({
                        "version": v, "current": mark == "*", "created_at": m.created_at,
                        "parent": m.parent, "test_auc": e.roc_auc, "logistic_auc": base,
                        "log_loss": e.log_loss, "test_samples": e.n,
                    });
                    println!("{row}");
                } else {
                    println!(
                        "{mark} {v:<28} {:<22} {:>8.4} {:>8.4} {:>9.4}  {}",
                        m.created_at,
                        e.roc_auc,
                        base,
                        e.log_loss,
                        m.parent.as_deref().unwrap_or("-")
                    );
                }
            }
            Err(e) if json => {
                println!(
                    "{}",
                    serde_json::json!({"version": v, "error": e.to_string()})
                );
            }
            Err(e) => println!("{mark} {v:<28} unreadable: {e:#}"),
        }
    }
    Ok(())
}

fn inspect(reg: &Registry, version: &str, json: bool) -> anyhow::Result<()> {
    let m = read_manifest(reg, version)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&m)?);
        return Ok(());
    }
    let current = reg.current()?;
    println!("version      {}", m.version);
    println!("serving      {}", current.as_deref() == Some(version));
    println!("created_at   {}", m.created_at);
    println!("parent       {}", m.parent.as_deref().unwrap_or("-"));
    println!(
        "features     {} ({})",
        m.feature_spec.len(),
        m.feature_spec_hash
    );
    println!(
        "window       {} bars of {} s; threshold {}",
        m.seq_len, m.bar_interval_secs, m.threshold
    );
    let t = &m.training;
    println!(
        "trained on   {} → {} ({} samples), git {}",
        t.train.from_ms, t.train.to_ms, t.train.samples, t.git_commit
    );
    println!(
        "{:<10} {:>6} {:>8} {:>9} {:>9}",
        "split", "n", "auc", "log_loss", "precision"
    );
    for (name, e) in m.metrics.scorers() {
        println!(
            "{name:<10} {:>6} {:>8.4} {:>9.4} {:>9.4}",
            e.n, e.roc_auc, e.log_loss, e.precision
        );
    }
    for h in reg.history()?.iter().filter(|h| h.version == version) {
        println!("history      {} {:?}: {}", h.at, h.action, h.reason);
    }
    Ok(())
}
