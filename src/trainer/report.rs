//! The human- and machine-readable results of a training run, written into its bundle:
//! `report.md` (the model beside three baselines on the same test rows, calibration, folds, what
//! the numbers mean), `metrics.json`, `predictions.csv` (enough to recompute every test metric)
//! and `epochs.csv` (one row per epoch).
//!
//! In: a [`TrainOutcome`] and its finished manifest. Out: file names and bytes for
//! `registry::save_bundle`.

use super::fit::EpochLog;
use super::metrics::Evaluation;
use super::train::{Prediction, TrainOutcome};
use crate::registry::manifest::{Manifest, SplitInfo};
use std::fmt::Write;

/// (file name, contents) of the tables: `predictions.csv` and `epochs.csv`.
pub fn tables(outcome: &TrainOutcome) -> Result<Vec<(&'static str, Vec<u8>)>, csv::Error> {
    Ok(vec![
        ("predictions.csv", predictions_csv(&outcome.predictions)?),
        ("epochs.csv", epochs_csv(&outcome.epochs)?),
    ])
}

/// (file name, contents) of `report.md` and `metrics.json` for the finished manifest.
pub fn summaries(m: &Manifest) -> Vec<(&'static str, Vec<u8>)> {
    let metrics = serde_json::to_string_pretty(&m.metrics).unwrap_or_default();
    vec![
        ("report.md", report_md(m).into_bytes()),
        ("metrics.json", (metrics + "\n").into_bytes()),
    ]
}

fn to_csv<T: serde::Serialize>(rows: &[T]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// `symbol, bar_close_time_ms, label, p_profitable, expected_return_bps, realized_return_bps,
/// fold` (fold 0 = the single chronological split).
pub fn predictions_csv(rows: &[Prediction]) -> Result<Vec<u8>, csv::Error> {
    to_csv(rows)
}

/// `fold, epoch, train_loss, val_loss, val_auc, val_precision, val_recall, learning_rate,
/// seconds, best`.
pub fn epochs_csv(rows: &[EpochLog]) -> Result<Vec<u8>, csv::Error> {
    to_csv(rows)
}

fn utc(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

fn split_line(name: &str, s: &SplitInfo) -> String {
    format!(
        "| {name} | {} | {} | {} | {:.3} |\n",
        utc(s.from_ms),
        utc(s.to_ms),
        s.samples,
        s.positive_rate
    )
}

/// The whole `report.md`.
pub fn report_md(m: &Manifest) -> String {
    let t = &m.training;
    let mut s = String::new();
    let _ = writeln!(s, "# Training report: model `{}`\n", m.version);
    let _ = writeln!(
        s,
        "Created {} by signal-engine at commit `{}`, seed {}.\n",
        m.created_at, t.git_commit, t.seed
    );
    s += &data_section(m);
    let folds = !m.metrics.folds.is_empty();
    let of_last = if folds {
        format!(" of fold {} (the bundled model)", m.metrics.folds.len())
    } else {
        String::new()
    };
    let _ = writeln!(s, "\n## Splits{of_last} (chronological, purged)\n");
    s +=
        "| split | first window | last window | windows | positive rate |\n|---|---|---|---|---|\n";
    s += &split_line("train", &t.train);
    s += &split_line("validation", &t.validation);
    s += &split_line("test", &t.test);
    let _ = writeln!(
        s,
        "\nPurge gap: {} bars (≥ H + T) between splits. Train and validation take one window end every {} bars; test takes every window. Epochs run: {}, best (kept): {}{}.",
        t.purge_bars,
        m.training.config["train"]["sample_stride"],
        t.epochs_run,
        t.best_epoch,
        if t.stopped_early {
            ", stopped early"
        } else {
            ""
        }
    );
    if let Some(all) = &m.metrics.all_folds {
        s += "\n## Test metrics of all walk-forward folds pooled (`predictions.csv`)\n\n";
        s += &metrics_table(&all.model, &all.baselines);
    }
    let _ = writeln!(
        s,
        "\n## Test metrics{of_last}: the model beside three baselines on the same rows\n"
    );
    s += &metrics_table(&m.metrics.model, &m.metrics.baselines);
    s += &confusion_section(m);
    s += &calibration_section(&m.metrics.model);
    if folds {
        s += &folds_section(m);
    }
    s += MEANING;
    s
}

fn data_section(m: &Manifest) -> String {
    let (t, l) = (&m.training, &m.labels);
    let mut s = String::from("## Data and labels\n\n");
    for f in &t.data_files {
        let _ = writeln!(
            s,
            "- `{}` ({} bytes, sha256 `{}`)",
            f.path, f.bytes, f.sha256
        );
    }
    let _ = writeln!(s, "\nSymbols: {}.", t.symbols.join(", "));
    let kind = match l.kind {
        crate::config::LabelKind::FixedHorizon => format!(
            "fixed horizon: entry at open(t+1), exit at close(t+{})",
            l.horizon_bars
        ),
        crate::config::LabelKind::TripleBarrier => format!(
            "triple barrier: entry at open(t+1), take profit +{} bps, stop loss −{} bps, time-out at close(t+{})",
            l.take_profit_bps, l.stop_loss_bps, l.horizon_bars
        ),
    };
    let _ = writeln!(
        s,
        "Label: {kind}; profitable when the return minus {} bps of round-trip fees exceeds {} bps.\n{}.",
        l.round_trip_fee_bps,
        l.min_profit_bps,
        label_balance(&t.label_summary)
    );
    let _ = writeln!(
        s,
        "Features ({}, T = {} bars of {} s): {}.",
        m.feature_spec.len(),
        m.seq_len,
        m.bar_interval_secs,
        m.feature_spec.join(", ")
    );
    s
}

/// The class balance and exits over all labelled windows, as one sentence.
pub fn label_balance(ls: &crate::registry::manifest::LabelSummary) -> String {
    format!(
        "{} labelled windows: {:.1}% profitable after fees, mean gross return {:.2} bps; exits: {} at the horizon, {} take-profit, {} stop-loss",
        ls.samples,
        100.0 * ls.positive_rate,
        ls.mean_return_bps,
        ls.exit_horizon,
        ls.exit_take_profit,
        ls.exit_stop_loss
    )
}

/// One row per metric, one column per scorer.
pub fn metrics_table(model: &Evaluation, b: &crate::registry::manifest::Baselines) -> String {
    let cols = [model, &b.majority, &b.logistic, &b.momentum];
    let mut s = String::from(
        "| metric | model | majority | logistic (last step) | momentum |\n|---|---|---|---|---|\n",
    );
    type Getter = fn(&Evaluation) -> Option<f64>;
    let rows: [(&str, Getter); 10] = [
        ("ROC AUC", |e| Some(e.roc_auc)),
        ("PR AUC (average precision)", |e| Some(e.pr_auc)),
        ("accuracy", |e| Some(e.accuracy)),
        ("precision", |e| Some(e.precision)),
        ("recall", |e| Some(e.recall)),
        ("F1", |e| Some(e.f1)),
        ("log loss", |e| Some(e.log_loss)),
        ("Brier score", |e| Some(e.brier)),
        ("return MAE (bps)", |e| e.return_mae_bps),
        ("return MSE (bps²)", |e| e.return_mse_bps2),
    ];
    for (name, get) in rows {
        let _ = write!(s, "| {name} |");
        for e in cols {
            match get(e) {
                Some(v) => {
                    let _ = write!(s, " {v:.4} |");
                }
                None => s += " – |",
            }
        }
        s += "\n";
    }
    let _ = writeln!(
        s,
        "\n{} test windows, {} profitable ({:.1}%). Decisions at p ≥ 0.5.",
        model.n,
        model.positives,
        100.0 * model.positives as f64 / model.n.max(1) as f64
    );
    s
}

fn confusion_section(m: &Manifest) -> String {
    let mut s = String::from(
        "\n### Confusion matrices (test)\n\n| scorer | TP | FP | TN | FN |\n|---|---|---|---|---|\n",
    );
    for (name, e) in m.metrics.scorers() {
        let c = &e.confusion;
        let _ = writeln!(s, "| {name} | {} | {} | {} | {} |", c.tp, c.fp, c.tn, c.fn_);
    }
    s
}

fn calibration_section(e: &Evaluation) -> String {
    let mut s = String::from(
        "\n### Calibration of the model (test, 10 bins of p)\n\n| p bin | windows | mean p | fraction profitable |\n|---|---|---|---|\n",
    );
    let opt = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.3}"));
    for b in &e.calibration {
        let _ = writeln!(
            s,
            "| {:.1}–{:.1} | {} | {} | {} |",
            b.lo,
            b.hi,
            b.count,
            opt(b.mean_predicted),
            opt(b.fraction_positive)
        );
    }
    s
}

fn folds_section(m: &Manifest) -> String {
    let mut s = String::from(
        "\n## Walk-forward folds (each tested on the block after what it learned from)\n\n\
         | fold | test from | test to | windows | model AUC | majority AUC | logistic AUC | momentum AUC | model Brier | logistic Brier |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for f in &m.metrics.folds {
        let b = &f.baselines;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} |",
            f.fold,
            utc(f.test.from_ms),
            utc(f.test.to_ms),
            f.test.samples,
            f.model.roc_auc,
            b.majority.roc_auc,
            b.logistic.roc_auc,
            b.momentum.roc_auc,
            f.model.brier,
            b.logistic.brier
        );
    }
    let mean = |g: fn(&crate::registry::manifest::FoldMetrics) -> f64| {
        m.metrics.folds.iter().map(g).sum::<f64>() / m.metrics.folds.len().max(1) as f64
    };
    let _ = writeln!(
        s,
        "\nMean over folds: model AUC {:.4}, logistic AUC {:.4}, momentum AUC {:.4}.",
        mean(|f| f.model.roc_auc),
        mean(|f| f.baselines.logistic.roc_auc),
        mean(|f| f.baselines.momentum.roc_auc)
    );
    s
}

const MEANING: &str = "
## What these numbers mean

- Every number above is out of sample: measured on test windows that come after the training and
  validation data in time, separated by the purge gap, with the scaler and every baseline fitted on
  the training split only. Nothing was tuned on the test split.
- ROC AUC 0.5 is no skill at ranking; PR AUC should be compared with the test positive rate (what
  a random ranking scores). Log loss and Brier score reward calibrated probabilities; the model is
  trained with class-balanced weights, so its p is shifted towards 0.5 on an unbalanced split.
- A model that does not beat the logistic and momentum baselines has learned nothing a simpler
  rule would not give. These are classification scores on labelled windows, not a backtest: they
  say nothing yet about position sizing, slippage beyond the fees in the label, or live fills.
";
