//! `[backtest]`: the bot rule `signal-engine backtest` simulates on the replayed signals.

use super::{LabelKind, LabelsConfig};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BacktestConfig {
    /// Enter when `p_profitable` ≥ this; default: the signal's own threshold (the model's, or
    /// `model.threshold`).
    pub threshold: Option<f64>,
    /// Exit at the close of bar t+H at the latest; default `labels.horizon_bars`.
    pub horizon_bars: Option<usize>,
    /// Take-profit, gross bps above the entry; default `labels.take_profit_bps` when
    /// `labels.kind = "triple_barrier"`, else none. 0: none.
    pub take_profit_bps: Option<f64>,
    /// Stop-loss, gross bps below the entry; default as `take_profit_bps`. 0: none.
    pub stop_loss_bps: Option<f64>,
    /// Fees per round trip, bps of the notional; default `labels.round_trip_fee_bps`.
    pub fee_bps: Option<f64>,
    /// Slippage per fill, bps: entries fill this much above the price, exits below.
    pub slippage_bps: f64,
    /// Quote currency per trade (each symbol's capital is one notional).
    pub notional: f64,
    /// Trade only signals whose features were valid (no clipped feature, no gap in the window).
    pub require_valid_features: bool,
    /// Seeds the random-entry baseline is averaged over.
    pub random_seeds: u32,
    /// The threshold sweep: every `sweep_step` from `sweep_from` to `sweep_to`.
    pub sweep_from: f64,
    pub sweep_to: f64,
    pub sweep_step: f64,
    /// Signals whose windows the causality audit rebuilds from the input cut after their bar
    /// (0: no audit).
    pub audit_points: usize,
}

impl Default for BacktestConfig {
    fn default() -> Self {
        Self {
            threshold: None,
            horizon_bars: None,
            take_profit_bps: None,
            stop_loss_bps: None,
            fee_bps: None,
            slippage_bps: 1.0,
            notional: 1_000.0,
            require_valid_features: true,
            random_seeds: 20,
            sweep_from: 0.30,
            sweep_to: 0.80,
            sweep_step: 0.05,
            audit_points: 4,
        }
    }
}

/// The rule resolved against `[labels]`: what the simulator applies.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct TradeRule {
    /// `None`: each signal's own threshold.
    pub threshold: Option<f64>,
    pub horizon_bars: usize,
    pub take_profit_bps: Option<f64>,
    pub stop_loss_bps: Option<f64>,
    pub fee_bps: f64,
    pub slippage_bps: f64,
    pub notional: f64,
    pub require_valid_features: bool,
}

impl BacktestConfig {
    pub fn rule(&self, labels: &LabelsConfig) -> TradeRule {
        let barrier = |own: Option<f64>, label: f64| {
            let v = own.unwrap_or(match labels.kind {
                LabelKind::TripleBarrier => label,
                LabelKind::FixedHorizon => 0.0,
            });
            (v > 0.0).then_some(v)
        };
        TradeRule {
            threshold: self.threshold,
            horizon_bars: self.horizon_bars.unwrap_or(labels.horizon_bars),
            take_profit_bps: barrier(self.take_profit_bps, labels.take_profit_bps),
            stop_loss_bps: barrier(self.stop_loss_bps, labels.stop_loss_bps),
            fee_bps: self.fee_bps.unwrap_or(labels.round_trip_fee_bps),
            slippage_bps: self.slippage_bps,
            notional: self.notional,
            require_valid_features: self.require_valid_features,
        }
    }

    /// The sweep's thresholds, rounded to 4 decimals (so 0.1 + 0.2 prints as 0.3).
    pub fn sweep(&self) -> Vec<f64> {
        let n = ((self.sweep_to - self.sweep_from) / self.sweep_step + 1e-9).floor() as usize;
        (0..=n)
            .map(|i| ((self.sweep_from + i as f64 * self.sweep_step) * 1e4).round() / 1e4)
            .collect()
    }

    /// Problems as `backtest.key: reason`.
    pub fn validate(&self, p: &mut Vec<String>) {
        let unit = |v: f64| (0.0..=1.0).contains(&v);
        if let Some(t) = self.threshold.filter(|t| !unit(*t)) {
            p.push(format!("backtest.threshold: {t} is not in [0, 1]"));
        }
        if self.horizon_bars == Some(0) {
            p.push("backtest.horizon_bars: must be at least 1".into());
        }
        for (key, v) in [
            ("take_profit_bps", self.take_profit_bps),
            ("stop_loss_bps", self.stop_loss_bps),
            ("fee_bps", self.fee_bps),
            ("slippage_bps", Some(self.slippage_bps)),
        ] {
            if let Some(v) = v.filter(|v| !v.is_finite() || *v < 0.0) {
                p.push(format!("backtest.{key}: {v} must be a finite number ≥ 0"));
            }
        }
        if !(self.notional.is_finite() && self.notional > 0.0) {
            p.push(format!(
                "backtest.notional: {} must be positive",
                self.notional
            ));
        }
        if self.random_seeds == 0 {
            p.push("backtest.random_seeds: must be at least 1".into());
        }
        if !(unit(self.sweep_from)
            && unit(self.sweep_to)
            && self.sweep_from <= self.sweep_to
            && self.sweep_step > 0.0)
        {
            p.push(format!(
                "backtest.sweep_from/sweep_to/sweep_step: {}..{} by {} is not an ascending range in [0, 1]",
                self.sweep_from, self.sweep_to, self.sweep_step
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_defaults_to_the_labels_and_the_sweep_is_exact() {
        let labels = LabelsConfig {
            kind: LabelKind::TripleBarrier,
            ..LabelsConfig::default()
        };
        let r = BacktestConfig::default().rule(&labels);
        assert_eq!(r.horizon_bars, labels.horizon_bars);
        assert_eq!(r.take_profit_bps, Some(labels.take_profit_bps));
        assert_eq!(r.fee_bps, labels.round_trip_fee_bps);
        let fixed = BacktestConfig::default().rule(&LabelsConfig::default());
        assert_eq!((fixed.take_profit_bps, fixed.stop_loss_bps), (None, None));
        let s = BacktestConfig::default().sweep();
        assert_eq!(s.len(), 11);
        assert_eq!((s[0], s[10]), (0.3, 0.8));
        assert!(s.contains(&0.45));
    }
}
