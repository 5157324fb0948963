//! Labels (DESIGN.md §6). The label of bar t uses only bars after t: a signal computed when bar t
//! closes can at the earliest be filled at the next bar's open, so entry = open(t+1), and the exit
//! comes from bars t+1..=t+H. `return_bps` = ln(exit / entry) in bps, before fees; `profitable` =
//! that return minus round-trip fees above `min_profit_bps`. (open(t+1) is close(t) give or take a
//! tick on a liquid market, but using it keeps bar t itself out of the label.)
//!
//! Two kinds (`labels.kind`):
//! - `fixed_horizon`: exit at close(t+H).
//! - `triple_barrier` (López de Prado): exit at the first bar whose range touches the take-profit
//!   (+`take_profit_bps`) or stop-loss (−`stop_loss_bps`) barrier, else at close(t+H) (time-out).
//!   A barrier fills at its own price, or at the bar's open when the bar opens beyond it (a gap).
//!   When one bar's range touches both, the stop is assumed first: 1-minute bars do not say which
//!   came first, and the pessimistic reading never invents a profit.

use crate::config::{LabelKind, LabelsConfig};
use serde::Serialize;

/// One series' prices, aligned by bar index.
#[derive(Clone, Copy, Debug)]
pub struct Prices<'a> {
    pub open: &'a [f64],
    pub high: &'a [f64],
    pub low: &'a [f64],
    pub close: &'a [f64],
}

/// How a labelled trade ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exit {
    /// Fixed horizon, or a triple barrier that touched neither barrier: close(t+H).
    Horizon,
    TakeProfit,
    StopLoss,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Label {
    pub profitable: bool,
    pub return_bps: f64,
    pub exit: Exit,
}

/// Label of bar `t`; `None` when t+H is past the end of `prices`.
pub fn label_at(prices: Prices<'_>, t: usize, cfg: &LabelsConfig) -> Option<Label> {
    let h = t.checked_add(cfg.horizon_bars)?;
    prices.close.get(h)?;
    let barriers = match cfg.kind {
        LabelKind::FixedHorizon => Barriers::default(),
        LabelKind::TripleBarrier => Barriers {
            take_profit_bps: Some(cfg.take_profit_bps),
            stop_loss_bps: Some(cfg.stop_loss_bps),
        },
    };
    let exited = exit_of(prices, t + 1, h, barriers)?;
    Some(Label {
        profitable: exited.return_bps - cfg.round_trip_fee_bps > cfg.min_profit_bps,
        return_bps: exited.return_bps,
        exit: exited.exit,
    })
}

/// Take-profit above and stop-loss below the entry, gross bps of log return; `None`: no barrier.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Barriers {
    pub take_profit_bps: Option<f64>,
    pub stop_loss_bps: Option<f64>,
}

/// How a long position ended.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Exited {
    /// The bar it ended in.
    pub bar: usize,
    /// ln(exit / entry) in bps, before costs.
    pub return_bps: f64,
    pub exit: Exit,
}

/// The exit of a long entered at open(`entry`) and held at most to close(`last`): the first
/// barrier touched in bars entry..=last, else close(last). A barrier fills at its own price, or
/// at the bar's open when the bar opens beyond it (a gap); when one bar's range touches both,
/// the stop is assumed first. `None` when `last` is past the end of `prices` or before `entry`.
/// The labels and the backtest's simulated trades share this rule.
pub fn exit_of(p: Prices<'_>, entry: usize, last: usize, b: Barriers) -> Option<Exited> {
    let close = *p.close.get(last)?;
    let price = *p.open.get(entry)?;
    if last < entry {
        return None;
    }
    let bps = |x: f64| (x / price).ln() * 1e4;
    let (tp, sl) = (b.take_profit_bps, b.stop_loss_bps.map(|s| -s));
    let hit = |bar, return_bps, exit| {
        Some(Exited {
            bar,
            return_bps,
            exit,
        })
    };
    if tp.is_some() || sl.is_some() {
        for k in entry..=last {
            let open = bps(p.open[k]);
            if sl.is_some_and(|s| open <= s) {
                return hit(k, open, Exit::StopLoss);
            }
            if tp.is_some_and(|t| open >= t) {
                return hit(k, open, Exit::TakeProfit);
            }
            if let Some(s) = sl.filter(|s| bps(p.low[k]) <= *s) {
                return hit(k, s, Exit::StopLoss);
            }
            if let Some(t) = tp.filter(|t| bps(p.high[k]) >= *t) {
                return hit(k, t, Exit::TakeProfit);
            }
        }
    }
    hit(last, bps(close), Exit::Horizon)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(h: usize) -> LabelsConfig {
        LabelsConfig {
            horizon_bars: h,
            ..LabelsConfig::default()
        }
    }

    fn barrier(h: usize, tp: f64, sl: f64) -> LabelsConfig {
        LabelsConfig {
            kind: LabelKind::TripleBarrier,
            take_profit_bps: tp,
            stop_loss_bps: sl,
            ..fixed(h)
        }
    }

    /// Bars given as (open, high, low, close).
    fn at(bars: &[(f64, f64, f64, f64)], t: usize, cfg: &LabelsConfig) -> Option<Label> {
        let col = |f: fn(&(f64, f64, f64, f64)) -> f64| bars.iter().map(f).collect::<Vec<_>>();
        let (o, h, l, c) = (col(|b| b.0), col(|b| b.1), col(|b| b.2), col(|b| b.3));
        let prices = Prices {
            open: &o,
            high: &h,
            low: &l,
            close: &c,
        };
        label_at(prices, t, cfg)
    }

    fn px(bps: f64) -> f64 {
        100.0 * (bps * 1e-4).exp()
    }

    #[test]
    fn fees_decide_profitability() {
        // Entry at open(1) = 100. +10 bps gross clears 8 bps of fees; +5 bps does not.
        let flat = |c: f64| (100.0, c.max(100.0), c.min(100.0), c);
        let bars = [flat(1.0), flat(100.0), flat(px(10.0))];
        let l = at(&bars, 0, &fixed(2)).unwrap();
        assert!((l.return_bps - 10.0).abs() < 1e-9);
        assert!(l.profitable);
        assert_eq!(l.exit, Exit::Horizon);
        let bars2 = [flat(1.0), flat(100.0), flat(px(5.0))];
        assert!(!at(&bars2, 0, &fixed(2)).unwrap().profitable);
        assert!(at(&bars2, 1, &fixed(2)).is_none());
    }

    #[test]
    fn triple_barrier_exits_at_first_touch() {
        let cfg = barrier(4, 30.0, 20.0);
        // Bar 2 reaches +35 bps: take profit at +30 even though bar 4 closes at -50.
        let bars = [
            (100.0, 100.0, 100.0, 100.0),
            (100.0, px(10.0), px(-5.0), 100.0),
            (100.0, px(35.0), px(-5.0), px(20.0)),
            (px(20.0), px(20.0), px(-60.0), px(-50.0)),
            (px(-50.0), px(-50.0), px(-50.0), px(-50.0)),
        ];
        let l = at(&bars, 0, &cfg).unwrap();
        assert_eq!(l.exit, Exit::TakeProfit);
        assert!((l.return_bps - 30.0).abs() < 1e-9 && l.profitable);
        // A bar touching both barriers counts as the stop.
        let both = [
            (100.0, 100.0, 100.0, 100.0),
            (100.0, px(40.0), px(-40.0), 100.0),
            (100.0, 100.0, 100.0, 100.0),
        ];
        let l = at(&both, 0, &barrier(2, 30.0, 20.0)).unwrap();
        assert_eq!(l.exit, Exit::StopLoss);
        assert!((l.return_bps + 20.0).abs() < 1e-9 && !l.profitable);
    }

    #[test]
    fn triple_barrier_gap_fills_at_the_open_and_times_out_at_the_close() {
        let cfg = barrier(3, 30.0, 20.0);
        // Bar 2 opens 50 bps below the entry: the stop fills at that open, not at -20.
        let gap = [
            (100.0, 100.0, 100.0, 100.0),
            (100.0, px(5.0), px(-5.0), 100.0),
            (px(-50.0), px(-45.0), px(-55.0), px(-50.0)),
            (px(-50.0), px(-50.0), px(-50.0), px(-50.0)),
        ];
        let l = at(&gap, 0, &cfg).unwrap();
        assert_eq!(l.exit, Exit::StopLoss);
        assert!((l.return_bps + 50.0).abs() < 1e-9);
        // Neither barrier: the time-out close decides, as a fixed horizon would.
        let calm = [
            (100.0, 100.0, 100.0, 100.0),
            (100.0, px(10.0), px(-10.0), 100.0),
            (100.0, px(10.0), px(-10.0), 100.0),
            (100.0, px(15.0), px(-10.0), px(12.0)),
        ];
        let l = at(&calm, 0, &cfg).unwrap();
        assert_eq!(l.exit, Exit::Horizon);
        assert!((l.return_bps - 12.0).abs() < 1e-9 && l.profitable);
        assert_eq!(at(&calm, 0, &fixed(3)).unwrap().return_bps, l.return_bps);
    }
}
