//! The trade simulator: one symbol's bars and the bars where an entry rule fired, to trades and
//! an equity curve.
//!
//! The rule is the bot's: a signal at the close of bar t enters long at the open of bar t+1;
//! the position leaves at the first barrier touched (take-profit, stop-loss; a bar touching both
//! is read as stopped first, a bar opening beyond a barrier fills at its open) or at the close of
//! bar t+H, by the same [`exit_of`] the training labels use. One position per symbol: a signal
//! while one is open is skipped. Entries fill `slippage_bps` above the price, exits below, and
//! `fee_bps` of the notional is paid per round trip. A gap-filler bar (no trade happened) is
//! never an entry.

use crate::config::TradeRule;
use crate::trainer::labels::{Barriers, Exit, Prices, exit_of};
use serde::Serialize;

/// One symbol's bars as the feature stage accepted them, in time order.
#[derive(Clone, Debug, Default)]
pub struct Series {
    pub close_time_ms: Vec<i64>,
    pub open: Vec<f64>,
    pub high: Vec<f64>,
    pub low: Vec<f64>,
    pub close: Vec<f64>,
    /// Gap fillers: no trade happened in them.
    pub filled: Vec<bool>,
}

impl Series {
    pub fn len(&self) -> usize {
        self.close.len()
    }

    pub fn is_empty(&self) -> bool {
        self.close.is_empty()
    }

    pub fn prices(&self) -> Prices<'_> {
        Prices {
            open: &self.open,
            high: &self.high,
            low: &self.low,
            close: &self.close,
        }
    }

    /// The index of the bar that closed at `ms`.
    pub fn index_of(&self, ms: i64) -> Option<usize> {
        self.close_time_ms.binary_search(&ms).ok()
    }
}

/// One simulated trade, by bar index.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimTrade {
    /// The bar whose close fired the entry.
    pub signal: usize,
    pub entry: usize,
    pub exit: usize,
    pub entry_price: f64,
    pub exit_price: f64,
    /// ln(exit / entry) before costs, bps.
    pub gross_bps: f64,
    /// Profit after slippage and fees, in quote currency.
    pub pnl: f64,
    pub reason: Exit,
}

impl SimTrade {
    /// Net return on the notional, bps.
    pub fn net_bps(&self, notional: f64) -> f64 {
        self.pnl / notional * 1e4
    }
}

/// What happened to the fired entries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SimCounts {
    /// Bars where the rule fired.
    pub fired: u64,
    pub trades: u64,
    /// Fired while a position was open.
    pub skipped_in_position: u64,
    /// The next bar was a gap filler (no trading): no entry.
    pub skipped_no_trading: u64,
    /// The data ends before the exit bar.
    pub skipped_at_end: u64,
}

impl SimCounts {
    pub fn absorb(&mut self, o: &SimCounts) {
        self.fired += o.fired;
        self.trades += o.trades;
        self.skipped_in_position += o.skipped_in_position;
        self.skipped_no_trading += o.skipped_no_trading;
        self.skipped_at_end += o.skipped_at_end;
    }
}

/// Trades of `rule` on `s` for entries fired at the bars `fired` (ascending).
pub fn simulate(s: &Series, fired: &[usize], rule: &TradeRule) -> (Vec<SimTrade>, SimCounts) {
    let mut trades = Vec::new();
    let mut counts = SimCounts::default();
    let barriers = Barriers {
        take_profit_bps: rule.take_profit_bps,
        stop_loss_bps: rule.stop_loss_bps,
    };
    let slip = rule.slippage_bps / 1e4;
    // The first bar whose close may fire a new entry (the open position has left by then).
    let mut free_from = 0usize;
    for &t in fired {
        counts.fired += 1;
        if t < free_from {
            counts.skipped_in_position += 1;
            continue;
        }
        let entry = t + 1;
        let last = t + rule.horizon_bars;
        if last >= s.len() {
            counts.skipped_at_end += 1;
            continue;
        }
        if s.filled[entry] {
            counts.skipped_no_trading += 1;
            continue;
        }
        let Some(x) = exit_of(s.prices(), entry, last, barriers) else {
            counts.skipped_at_end += 1;
            continue;
        };
        let price = s.open[entry];
        let exit_price = price * (x.return_bps / 1e4).exp();
        let (buy, sell) = (price * (1.0 + slip), exit_price * (1.0 - slip));
        let pnl = rule.notional * (sell / buy - 1.0) - rule.notional * rule.fee_bps / 1e4;
        trades.push(SimTrade {
            signal: t,
            entry,
            exit: x.bar,
            entry_price: price,
            exit_price,
            gross_bps: x.return_bps,
            pnl,
            reason: x.exit,
        });
        counts.trades += 1;
        free_from = x.bar;
    }
    (trades, counts)
}

/// Profit so far at the close of every bar of `s` (realised, plus the open position marked at
/// the close net of the entry's slippage), and whether a position was open during the bar.
pub fn equity(s: &Series, trades: &[SimTrade], rule: &TradeRule) -> (Vec<f64>, Vec<bool>) {
    let mut pnl = vec![0.0; s.len()];
    let mut open = vec![false; s.len()];
    let mut realised = 0.0;
    let mut next = trades.iter().peekable();
    let slip = rule.slippage_bps / 1e4;
    let mut current: Option<&SimTrade> = None;
    for k in 0..s.len() {
        if current.is_none() && next.peek().is_some_and(|t| t.entry == k) {
            current = next.next();
        }
        let mut mark = 0.0;
        if let Some(t) = current {
            open[k] = true;
            if t.exit == k {
                realised += t.pnl;
                current = None;
            } else {
                let buy = t.entry_price * (1.0 + slip);
                mark = rule.notional * (s.close[k] / buy - 1.0);
            }
        }
        pnl[k] = realised + mark;
    }
    (pnl, open)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bars (open, high, low, close), one a minute.
    fn series(bars: &[(f64, f64, f64, f64)]) -> Series {
        let mut s = Series::default();
        for (i, &(o, h, l, c)) in bars.iter().enumerate() {
            s.close_time_ms.push(60_000 * (i as i64 + 1) - 1);
            s.open.push(o);
            s.high.push(h);
            s.low.push(l);
            s.close.push(c);
            s.filled.push(false);
        }
        s
    }

    fn rule(h: usize, tp: Option<f64>, sl: Option<f64>) -> TradeRule {
        TradeRule {
            threshold: None,
            horizon_bars: h,
            take_profit_bps: tp,
            stop_loss_bps: sl,
            fee_bps: 8.0,
            slippage_bps: 1.0,
            notional: 1_000.0,
            require_valid_features: true,
        }
    }

    #[test]
    fn enters_next_open_exits_at_the_horizon_with_costs() {
        let s = series(&[
            (100.0, 100.0, 100.0, 100.0),
            (100.0, 101.0, 99.0, 100.5),
            (100.5, 102.0, 100.0, 101.0),
            (101.0, 101.0, 101.0, 101.0),
        ]);
        let (t, c) = simulate(&s, &[0], &rule(2, None, None));
        assert_eq!(c.trades, 1);
        assert_eq!((t[0].entry, t[0].exit, t[0].reason), (1, 2, Exit::Horizon));
        // Buy 100 × 1.0001, sell 101 × 0.9999, pay 8 bps of 1000.
        let want = 1_000.0 * (101.0 * 0.9999 / (100.0 * 1.0001) - 1.0) - 0.8;
        assert!((t[0].pnl - want).abs() < 1e-9, "{} vs {want}", t[0].pnl);
        let (pnl, open) = equity(&s, &t, &rule(2, None, None));
        assert_eq!(open, [false, true, true, false]);
        assert!((pnl[3] - want).abs() < 1e-9);
        assert!((pnl[1] - 1_000.0 * (100.5 / 100.01 - 1.0)).abs() < 1e-9);
    }

    #[test]
    fn stop_first_one_position_and_no_entry_on_a_filler_or_past_the_end() {
        let mut s = series(&[
            (100.0, 100.0, 100.0, 100.0),
            (100.0, 100.6, 99.4, 100.0), // touches +50 and -50 bps: the stop
            (100.0, 100.0, 100.0, 100.0),
            (100.0, 100.0, 100.0, 100.0),
            (100.0, 100.0, 100.0, 100.0),
        ]);
        s.filled[2] = true;
        let r = rule(2, Some(50.0), Some(50.0));
        let (t, c) = simulate(&s, &[0, 1, 2, 3, 4], &r);
        assert_eq!((t[0].exit, t[0].reason), (1, Exit::StopLoss));
        assert!((t[0].gross_bps + 50.0).abs() < 1e-9);
        // Bar 1 fires at its close, after the stop inside it, but its entry bar is a filler;
        // bar 2 enters at bar 3 and holds to bar 4, so bar 3 is skipped; bar 4's exit would be
        // past the end.
        assert_eq!(t.len(), 2);
        assert_eq!((t[1].entry, t[1].exit, t[1].reason), (3, 4, Exit::Horizon));
        assert_eq!(
            c,
            SimCounts {
                fired: 5,
                trades: 2,
                skipped_in_position: 1,
                skipped_no_trading: 1,
                skipped_at_end: 1,
            }
        );
    }
}
