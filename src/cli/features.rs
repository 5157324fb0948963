//! `signal-engine features`: history in, one CSV row of indicators and model features per bar out.

use crate::config::Config;
use crate::export::export_features;
use crate::ingest::replay::{ReplaySource, check_intervals};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct FeaturesArgs {
    #[command(flatten)]
    pub input: super::DataArgs,
    /// CSV file to write (`-` for stdout).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write the model features scaled by this bundle's scaler (`<name>_scaled` columns;
    /// default bundle: the config's model.dir).
    #[arg(long)]
    pub scaled: bool,
    /// Model bundle whose scaler `--scaled` uses.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Bar length in seconds, instead of the config's features.bar_interval_secs (e.g. 300 for
    /// 5-minute files).
    #[arg(long)]
    pub bar_interval_secs: Option<u64>,
}

pub fn run(mut config: Config, config_name: String, a: FeaturesArgs) -> anyhow::Result<()> {
    a.input.apply(&mut config);
    if let Some(s) = a.bar_interval_secs {
        config.features.bar_interval_secs = s;
        // Keep the silence limit consistent with the new bar length.
        let min_stale = (u64::from(config.features.fill_gap_bars) + 1) * s;
        config.features.stale_after_secs = config.features.stale_after_secs.max(min_stale);
        let problems = config.validate();
        if !problems.is_empty() {
            anyhow::bail!("--bar-interval-secs {s}: {}", problems.join("; "));
        }
    }
    let opts = a.input.options(&config)?;
    let data = a.input.paths(&config)?;
    check_intervals(&data, config.features.bar_interval_secs)?;
    let scaler = if a.scaled {
        let dir = a.model.clone().unwrap_or_else(|| config.model.dir.clone());
        let spec = crate::features::FeatureSpec::new(&config.features.names)
            .with_context(|| format!("features.names in {config_name}"))?;
        let model = crate::registry::load_bundle(&dir, &spec)
            .with_context(|| format!("--scaled needs the scaler of {}", dir.display()))?;
        Some(model.scaler)
    } else {
        None
    };
    let source = ReplaySource::open(&data, &opts)?;
    let out: Box<dyn std::io::Write> = if a.out.as_os_str() == "-" {
        Box::new(std::io::stdout().lock())
    } else {
        if let Some(dir) = a.out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        Box::new(
            std::fs::File::create(&a.out)
                .with_context(|| format!("cannot create {}", a.out.display()))?,
        )
    };
    let stats = export_features(
        source,
        &config.features.names,
        config.features.policy(),
        config.features.bar_source,
        scaler.as_ref(),
        out,
    );
    if let Some((path, n)) = crate::app::flush_dead_letters(&opts)?.filter(|(_, n)| *n > 0) {
        eprintln!(
            "features: {n} unreadable rows written to {}",
            path.display()
        );
    }
    let stats = stats.with_context(|| format!("features export to {}", a.out.display()))?;
    let e = &stats.engine;
    eprintln!(
        "features: {} rows ({} with every model feature) to {}; {} gap bars filled, {} resets, {} duplicates, {} rejected",
        stats.rows,
        stats.complete_rows,
        a.out.display(),
        e.filled_bars,
        e.resets,
        e.duplicates,
        e.rejected()
    );
    Ok(())
}
