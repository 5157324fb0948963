//! `signal-engine features`: every closed data bar of a replay as one CSV row of raw indicators and
//! model features, computed by the engine's own state machine (so the export is what the model
//! sees, gaps, fills and resets included).
//!
//! In: market events (any replay source) and the config's feature spec. Out: CSV with columns
//! `symbol, open_time_ms, close_time_ms, state`, the raw indicators of
//! [`FeatureSpec::export_raw_names`], the model features (raw values), and with a scaler the model
//! features scaled (`<name>_scaled`). A cell is empty while its indicator warms up. Gap fillers
//! are not written (they are not bars of the data); their effect on the indicators is. The
//! `state` column is the state machine's phase for the whole exported set (raw columns and model
//! features together), so with a model list of short lookbacks it can read `warming` a few bars
//! longer than the model alone would.

use crate::event::MarketEvent;
use crate::features::BarSource;
use crate::features::{FeatureEngine, FeatureSpec, Observed, SpecError, StatePolicy};
use crate::scaling::RobustScaler;
use std::io::Write;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("cannot write the features CSV: {0}")]
    Write(#[from] std::io::Error),
    #[error("{0}")]
    Source(String),
}

/// What an export wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ExportStats {
    pub rows: u64,
    /// Rows whose model features were all present (the symbol past its indicators' warm-up).
    pub complete_rows: u64,
    pub engine: crate::features::EngineStats,
}

/// Streams `events` through a feature engine and writes the CSV to `out`.
pub fn export_features<E>(
    events: impl IntoIterator<Item = Result<MarketEvent, E>>,
    model_names: &[String],
    policy: StatePolicy,
    bar_source: BarSource,
    scaler: Option<&RobustScaler>,
    out: impl Write,
) -> Result<ExportStats, ExportError>
where
    E: std::fmt::Display,
{
    let raw = FeatureSpec::export_raw_names();
    let mut all = raw.clone();
    all.extend(model_names.iter().filter(|n| !raw.contains(n)).cloned());
    let spec = FeatureSpec::any(&all)?;
    let pos = |n: &String| all.iter().position(|m| m == n).unwrap_or(0);
    let model_idx: Vec<usize> = model_names.iter().map(pos).collect();

    // The export reads raw rows; its windows are never used, so they need no real scaling.
    let identity = Arc::new(RobustScaler {
        center_: vec![0.0; all.len()],
        scale_: vec![1.0; all.len()],
        quantile_range: (25.0, 75.0),
        feature_names_in_: all.clone(),
        n_features_in_: all.len(),
        clip: f64::MAX,
    });
    let mut engine = FeatureEngine::new(spec, identity, policy).with_bar_source(bar_source);

    let mut w = std::io::BufWriter::new(out);
    let mut header: Vec<String> = ["symbol", "open_time_ms", "close_time_ms", "state"]
        .map(String::from)
        .to_vec();
    header.extend(raw.iter().cloned());
    header.extend(model_names.iter().cloned());
    if scaler.is_some() {
        header.extend(model_names.iter().map(|n| format!("{n}_scaled")));
    }
    writeln!(w, "{}", header.join(","))?;

    let mut stats = ExportStats::default();
    let mut io_error: Option<std::io::Error> = None;
    let (mut model_row, mut scaled) = (Vec::new(), Vec::new());
    let mut line = String::new();
    let mut write_row = |o: &Observed<'_>| {
        if o.filled || io_error.is_some() {
            return;
        }
        use std::fmt::Write as _;
        line.clear();
        let b = o.bar;
        let _ = write!(
            line,
            "{},{},{},{}",
            o.symbol,
            b.open_time_ms,
            b.close_time_ms,
            o.phase.as_str()
        );
        let cell = |line: &mut String, v: f64| {
            line.push(',');
            if v.is_finite() {
                let _ = write!(line, "{v}");
            }
        };
        for v in &o.row[..raw.len()] {
            cell(&mut line, *v);
        }
        model_row.clear();
        model_row.extend(model_idx.iter().map(|&i| o.row[i]));
        for v in &model_row {
            cell(&mut line, *v);
        }
        let complete = model_row.iter().all(|v| v.is_finite());
        if let Some(s) = scaler {
            // Scaled only when the whole model row exists, as the engine scales it.
            if complete {
                s.transform_into(&model_row, &mut scaled);
                for v in &scaled {
                    cell(&mut line, f64::from(*v));
                }
            } else {
                for _ in &model_row {
                    line.push(',');
                }
            }
        }
        stats.rows += 1;
        stats.complete_rows += u64::from(complete);
        if let Err(e) = writeln!(w, "{line}") {
            io_error = Some(e);
        }
    };
    for ev in events {
        let ev = ev.map_err(|e| ExportError::Source(e.to_string()))?;
        engine.on_event_observed(&ev, &mut write_row);
    }
    engine.flush_observed(&mut write_row);
    if let Some(e) = io_error {
        return Err(e.into());
    }
    w.flush()?;
    stats.engine = engine.stats().clone();
    Ok(stats)
}
