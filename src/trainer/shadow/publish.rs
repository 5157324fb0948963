//! A promoted challenger becomes a bundle in the registry: the champion's manifest with the
//! challenger's parent, training window, epochs and its scores on the comparison labels next to
//! the three baselines fitted on its own training rows (`metrics.split = "shadow"`).
#![allow(clippy::disallowed_methods)] // a bundle's creation time is a wall-clock fact

use super::buffer::Snapshot;
use super::decide::Verdict;
use super::resolver::Labelled;
use crate::model::SignalNet;
use crate::model::backend::InferBackend;
use crate::registry::manifest::{Baselines, LabelSummary, SplitInfo};
use crate::registry::store::default_version;
use crate::registry::{BundleError, LoadedModel, Registry, save_bundle};
use crate::trainer::baselines;
use crate::trainer::metrics::{Evaluation, evaluate};
use crate::trainer::train::THRESHOLD;
use std::sync::Arc;

/// A refit's outcome, as the trainer thread returns it.
pub struct Trained {
    pub net: SignalNet<InferBackend>,
    pub snapshot: Arc<Snapshot>,
    pub train_idx: Vec<usize>,
    pub val_idx: Vec<usize>,
    pub best_epoch: usize,
    pub epochs_run: usize,
    pub stopped_early: bool,
    pub seed: u64,
    /// Newest bar close time of its data: fresh labels for its comparison come after this plus
    /// the purge gap.
    pub cutoff_ms: i64,
    /// The champion it was refit from...
    pub parent: String,
    /// ...from fresh weights rather than the champion's (`shadow.fresh_start_below_auc`).
    pub fresh: bool,
}

pub fn split_info(rows: &[Arc<Labelled>], idx: &[usize]) -> SplitInfo {
    let times = || idx.iter().map(|&i| rows[i].bar_close_time_ms);
    let pos = idx.iter().filter(|&&i| rows[i].profitable).count();
    SplitInfo {
        from_ms: times().min().unwrap_or(0),
        to_ms: times().max().unwrap_or(0),
        samples: idx.len(),
        positive_rate: pos as f64 / idx.len().max(1) as f64,
    }
}

/// The challenger's and the baselines' metrics on the comparison rows. A baseline that cannot be
/// fitted (one class in the training rows) scores as the majority rule.
fn metrics_on(
    t: &Trained,
    eval: &[Arc<Labelled>],
    (p, r): (&[f64], &[f64]),
) -> (Evaluation, Baselines) {
    let rows = &t.snapshot.rows;
    let nf = t.snapshot.n_features;
    let y: Vec<bool> = t.train_idx.iter().map(|&i| rows[i].profitable).collect();
    let ret: Vec<f64> = t.train_idx.iter().map(|&i| rows[i].return_bps).collect();
    let labels: Vec<bool> = eval.iter().map(|l| l.profitable).collect();
    let actual: Vec<f64> = eval.iter().map(|l| l.return_bps).collect();
    let last_row = |l: &Labelled| -> Vec<f64> {
        l.data[l.data.len() - nf..]
            .iter()
            .map(|&v| f64::from(v))
            .collect()
    };
    let train_x: Vec<f64> = t
        .train_idx
        .iter()
        .flat_map(|&i| last_row(&rows[i]))
        .collect();
    let test_x: Vec<f64> = eval.iter().flat_map(|l| last_row(l)).collect();
    let trailing = |v: &mut dyn Iterator<Item = f64>| -> Vec<f64> { v.collect() };
    let train_m = trailing(&mut t.train_idx.iter().map(|&i| rows[i].trailing_return_bps));
    let test_m = trailing(&mut eval.iter().map(|l| l.trailing_return_bps));
    let majority = baselines::majority(&y, &ret, eval.len());
    let logistic =
        baselines::logistic(&train_x, &y, &ret, &test_x, nf).unwrap_or_else(|_| majority.clone());
    let momentum =
        baselines::momentum(&train_m, &y, &ret, &test_m).unwrap_or_else(|_| majority.clone());
    let e = |(p, r): (&[f64], &[f64])| evaluate(p, &labels, THRESHOLD, Some((r, &actual)));
    let b = Baselines {
        majority: e((&majority.0, &majority.1)),
        logistic: e((&logistic.0, &logistic.1)),
        momentum: e((&momentum.0, &momentum.1)),
    };
    (e((p, r)), b)
}

/// Saves the challenger as a new version of `registry` (not yet serving) and returns it.
pub fn save_challenger(
    registry: &Registry,
    champion: &LoadedModel,
    t: &Trained,
    eval: &[Arc<Labelled>],
    scores: (&[f64], &[f64]),
    verdict: &Verdict,
    purge_bars: usize,
) -> Result<String, BundleError> {
    let created_at = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let stamp = default_version(&created_at, "");
    let mut version = format!("{}shadow", stamp);
    let mut n = 1;
    while registry.bundle_dir(&version).exists() {
        n += 1;
        version = format!("{stamp}shadow{n}");
    }
    let rows = &t.snapshot.rows;
    let (model, baselines) = metrics_on(t, eval, scores);
    let mut m = champion.manifest.clone();
    m.version.clone_from(&version);
    m.parent = Some(t.parent.clone());
    m.created_at = created_at;
    m.threshold = champion.threshold;
    let all: Vec<usize> = (0..rows.len()).collect();
    let info = &mut m.training;
    info.data_files = Vec::new();
    let mut symbols: Vec<String> = rows.iter().map(|r| r.symbol.to_string()).collect();
    symbols.sort();
    symbols.dedup();
    info.symbols = symbols;
    info.train = split_info(rows, &t.train_idx);
    info.validation = split_info(rows, &t.val_idx);
    let eval_idx: Vec<usize> = (0..eval.len()).collect();
    info.test = split_info(eval, &eval_idx);
    info.purge_bars = purge_bars;
    info.epochs_run = t.epochs_run;
    info.best_epoch = t.best_epoch;
    info.stopped_early = t.stopped_early;
    info.seed = t.seed;
    info.folds = 0;
    info.git_commit = crate::GIT_COMMIT.to_string();
    info.label_summary = LabelSummary {
        samples: rows.len(),
        positive_rate: split_info(rows, &all).positive_rate,
        mean_return_bps: rows.iter().map(|r| r.return_bps).sum::<f64>() / rows.len().max(1) as f64,
        ..LabelSummary::default()
    };
    m.metrics.split = "shadow".into();
    m.metrics.model = model;
    m.metrics.baselines = baselines;
    m.metrics.folds = Vec::new();
    m.metrics.all_folds = None;
    m.metrics.shadow = Some(verdict.clone());
    save_bundle(
        &registry.bundle_dir(&version),
        &mut m,
        &champion.scaler,
        champion.streaming.as_ref(),
        &t.net,
        |_| Vec::new(),
    )?;
    Ok(version)
}
