//! The backtest's files: `report.json` (everything, machine-readable), `report.md` (the tables
//! a person reads) and `trades.csv` (one row per simulated trade). All three depend only on the
//! inputs: no wall-clock time, symbols and rows in a fixed order.

use super::sim::SimCounts;
use super::stats::Stats;
use super::{Baselines, Quality, SweepRow, TradeRow, TrainingOverlap};
use crate::app::AppError;
use crate::config::TradeRule;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub model_version: String,
    pub data: Vec<String>,
    /// The first signal's bar close and the last bar's, ms since the epoch.
    pub from_ms: i64,
    pub to_ms: i64,
    pub symbols: Vec<String>,
    pub bars: u64,
    pub signals: u64,
    pub rule: TradeRule,
    pub simulation: SimCounts,
    pub overall: Stats,
    pub per_symbol: BTreeMap<String, Stats>,
    pub quality: Quality,
    pub quality_per_symbol: BTreeMap<String, Quality>,
    pub sweep: Vec<SweepRow>,
    pub baselines: Baselines,
    pub model_training: TrainingOverlap,
    /// Windows rebuilt from the input cut after their bar, all identical (else the backtest fails).
    pub causality_audit: super::audit::Audit,
    /// Walk-forward folds, oldest first (absent for a single-model backtest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub walk_forward: Option<Vec<super::walk::Fold>>,
    /// The curves `plots.rs` draws (one point per bar: not in `report.json`).
    #[serde(skip)]
    pub curves: super::plots::Curves,
}

/// The mean of each statistic over runs (an optional one: over the runs that have it).
pub fn mean_stats(runs: &[Stats]) -> Stats {
    let n = runs.len().max(1) as f64;
    let m = |f: &dyn Fn(&Stats) -> f64| runs.iter().map(f).sum::<f64>() / n;
    let mo = |f: &dyn Fn(&Stats) -> Option<f64>| {
        let v: Vec<f64> = runs.iter().filter_map(f).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    Stats {
        trades: (m(&|s| s.trades as f64)).round() as u64,
        win_rate: mo(&|s| s.win_rate),
        avg_win: mo(&|s| s.avg_win),
        avg_loss: mo(&|s| s.avg_loss),
        avg_win_bps: mo(&|s| s.avg_win_bps),
        avg_loss_bps: mo(&|s| s.avg_loss_bps),
        profit_factor: mo(&|s| s.profit_factor),
        expectancy: mo(&|s| s.expectancy),
        expectancy_bps: mo(&|s| s.expectancy_bps),
        net_profit: m(&|s| s.net_profit),
        capital: m(&|s| s.capital),
        total_return: m(&|s| s.total_return),
        annualised_return: mo(&|s| s.annualised_return),
        sharpe: mo(&|s| s.sharpe),
        sortino: mo(&|s| s.sortino),
        calmar: mo(&|s| s.calmar),
        max_drawdown: m(&|s| s.max_drawdown),
        max_drawdown_hours: m(&|s| s.max_drawdown_hours),
        exposure: m(&|s| s.exposure),
        period_days: m(&|s| s.period_days),
    }
}

pub fn write(dir: &Path, r: &Report, trades: &[TradeRow]) -> Result<(), AppError> {
    let err =
        |p: &Path, e: &dyn std::fmt::Display| AppError::Stage(format!("{}: {e}", p.display()));
    let json = dir.join("report.json");
    let text = serde_json::to_string_pretty(r).map_err(|e| err(&json, &e))?;
    std::fs::write(&json, text + "\n").map_err(|e| err(&json, &e))?;
    let md = dir.join("report.md");
    std::fs::write(&md, markdown(r)).map_err(|e| err(&md, &e))?;
    let csv_path = dir.join("trades.csv");
    let mut w = csv::Writer::from_path(&csv_path).map_err(|e| err(&csv_path, &e))?;
    w.write_record([
        "symbol",
        "signal_bar_close_ms",
        "p_profitable",
        "entry_bar_close_ms",
        "exit_bar_close_ms",
        "bars_held",
        "entry_price",
        "exit_price",
        "exit",
        "gross_bps",
        "net_bps",
        "pnl",
    ])
    .map_err(|e| err(&csv_path, &e))?;
    for row in trades {
        let t = &row.trade;
        w.write_record([
            row.symbol.clone(),
            row.signal_ms.to_string(),
            row.p.to_string(),
            row.entry_ms.to_string(),
            row.exit_ms.to_string(),
            (t.exit + 1 - t.entry).to_string(),
            t.entry_price.to_string(),
            t.exit_price.to_string(),
            format!("{:?}", t.reason),
            format!("{:.4}", t.gross_bps),
            format!("{:.4}", t.net_bps(r.rule.notional)),
            format!("{:.6}", t.pnl),
        ])
        .map_err(|e| err(&csv_path, &e))?;
    }
    w.flush().map_err(|e| err(&csv_path, &e))?;
    Ok(())
}

fn pct(v: f64) -> String {
    format!("{:.2} %", v * 100.0)
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or("–".into(), f)
}

fn num(v: f64) -> String {
    format!("{v:.2}")
}

pub(super) fn time(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02} UTC",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute()
            )
        })
        .unwrap_or_else(|_| ms.to_string())
}

/// One table row of a `Stats`.
fn stats_row(name: &str, s: &Stats) -> String {
    format!(
        "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        s.trades,
        opt(s.win_rate, pct),
        opt(s.expectancy_bps, num),
        opt(s.profit_factor, num),
        pct(s.total_return),
        opt(s.annualised_return, pct),
        opt(s.sharpe, num),
        opt(s.sortino, num),
        pct(s.max_drawdown),
        num(s.max_drawdown_hours),
        pct(s.exposure),
    )
}

const STATS_HEAD: &str = "| | trades | win rate | expectancy (bps) | profit factor | total return | annualised | Sharpe | Sortino | max drawdown | drawdown (h) | exposure |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n";

fn markdown(r: &Report) -> String {
    let mut o = String::new();
    let rule = &r.rule;
    let _ = writeln!(o, "# Backtest: {}\n", r.model_version);
    let _ = writeln!(
        o,
        "{} symbols, {} → {}, {} bars, {} signals. Rule: enter long at the next open when p ≥ {}; exit at the close of bar t+{}{}{}; fees {} bps per round trip, slippage {} bps per fill, {} per trade{}.\n",
        r.symbols.len(),
        time(r.from_ms),
        time(r.to_ms),
        r.bars,
        r.signals,
        rule.threshold
            .map_or("the signal's threshold".into(), |t| t.to_string()),
        rule.horizon_bars,
        rule.take_profit_bps
            .map_or(String::new(), |v| format!(", take-profit +{v} bps")),
        rule.stop_loss_bps.map_or(String::new(), |v| format!(
            ", stop-loss −{v} bps (stop first)"
        )),
        rule.fee_bps,
        rule.slippage_bps,
        rule.notional,
        if rule.require_valid_features {
            ", valid features only"
        } else {
            ""
        },
    );
    let mt = &r.model_training;
    if r.walk_forward.is_some() {
        o.push_str("Each fold trades only after its own training window and purge.\n\n");
    } else if mt.signals_in_training_data > 0 {
        let _ = writeln!(
            o,
            "**Warning: {} of the {} signals fall in the model's training data ({} → {}): those are in-sample and say nothing about performance.** Backtest on data after {}.\n",
            mt.signals_in_training_data,
            r.signals,
            time(mt.train_from_ms),
            time(mt.validation_to_ms),
            time(mt.validation_to_ms)
        );
    } else {
        let _ = writeln!(
            o,
            "No signal falls in the model's training data ({} → {}).\n",
            time(mt.train_from_ms),
            time(mt.validation_to_ms)
        );
    }
    let _ = writeln!(
        o,
        "Causality audit: {} windows rebuilt from the input cut right after their bar, all bit-identical to the run's.\n",
        r.causality_audit.checked
    );
    if let Some(folds) = &r.walk_forward {
        o.push_str("## Walk-forward folds\n\n| fold | trained on | traded | model | its held-out AUC | signals |\n|---|---|---|---|---|---|\n");
        for f in folds {
            let _ = writeln!(
                o,
                "| {} | {} → {} | {} → {} | {} | {:.4} | {} |",
                f.fold,
                time(f.train_from_ms),
                time(f.train_to_ms),
                time(f.test_from_ms),
                time(f.test_to_ms),
                f.model_version,
                f.model_test_auc,
                f.signals
            );
        }
        o.push('\n');
    }
    o.push_str("## Trading\n\n");
    o.push_str(STATS_HEAD);
    o.push_str(&stats_row("**model**", &r.overall));
    let b = &r.baselines;
    o.push_str(&stats_row("buy and hold", &b.buy_and_hold));
    o.push_str(&stats_row(
        &format!("random entries (mean of {} seeds)", b.random_seeds),
        &b.random_entries,
    ));
    o.push_str(&stats_row(
        "momentum (close > close H bars ago)",
        &b.momentum,
    ));
    for (name, s) in &r.per_symbol {
        o.push_str(&stats_row(name, s));
    }
    let c = &r.simulation;
    let _ = writeln!(
        o,
        "\nEntries fired {}, trades {}, skipped: {} in a position, {} on a bar without trading, {} at the end of the data.\n",
        c.fired, c.trades, c.skipped_in_position, c.skipped_no_trading, c.skipped_at_end
    );
    o.push_str("## Signal quality on realised labels\n\n| | labelled | positive rate | AUC | precision at threshold | above threshold |\n|---|---|---|---|---|---|\n");
    let q_row = |name: &str, q: &Quality| {
        format!(
            "| {name} | {} | {} | {} | {} | {} |\n",
            q.labelled,
            opt(q.positive_rate, pct),
            opt(q.auc, |v| format!("{v:.4}")),
            opt(q.precision_at_threshold, pct),
            q.above_threshold
        )
    };
    o.push_str(&q_row("**all**", &r.quality));
    for (name, q) in &r.quality_per_symbol {
        o.push_str(&q_row(name, q));
    }
    o.push_str("\nCalibration (all symbols):\n\n| p bin | signals | mean p | fraction profitable |\n|---|---|---|---|\n");
    for bin in &r.quality.calibration {
        let _ = writeln!(
            o,
            "| {:.1}–{:.1} | {} | {} | {} |",
            bin.lo,
            bin.hi,
            bin.count,
            opt(bin.mean_predicted, |v| format!("{v:.3}")),
            opt(bin.fraction_positive, |v| format!("{v:.3}"))
        );
    }
    o.push_str("\n## Threshold sweep (all symbols)\n\n| threshold | trades | win rate | expectancy (bps) | profit factor | total return | max drawdown |\n|---|---|---|---|---|---|---|\n");
    for s in &r.sweep {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} |",
            s.threshold,
            s.trades,
            opt(s.win_rate, pct),
            opt(s.expectancy_bps, num),
            opt(s.profit_factor, num),
            pct(s.total_return),
            pct(s.max_drawdown)
        );
    }
    o.push_str("\nEvery trade has the same notional and profits are not reinvested: returns and drawdowns are fractions of a fixed capital of one notional per symbol (a drawdown over 100 % lost more than that), annualised simply (× 365 / days, absent below 7 days). Sharpe and Sortino: hourly profit changes over the capital, annualised by √(24·365), no risk-free rate, absent below 24 hours.\n");
    o.push_str("\n## Plots\n\n![Equity and drawdown](equity.png)\n\n![Calibration](calibration.png)\n\n![Threshold sweep](sweep.png)\n\nEach also as SVG (`equity.svg`, `calibration.svg`, `sweep.svg`).\n");
    o
}
