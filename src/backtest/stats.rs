//! Performance statistics of simulated trades and their equity curve.
//!
//! Conventions (stated in the report): every trade has the same notional and profits are not
//! reinvested, so returns are additive on a fixed capital of one notional per symbol traded:
//! total return = profit / capital, annualised simply (× 365 / days), drawdowns are falls of
//! profit from its running peak as a fraction of that capital (over 100 % means the rule lost
//! more than one notional per symbol), Sharpe and Sortino use hourly profit changes over the
//! capital (the last value at or before each hour's end, UTC) annualised by √(24 × 365), crypto
//! trading every day, no risk-free rate, and are absent below 24 hourly returns; the annualised
//! return and Calmar are absent below 7 days (annualising a day says nothing). Drawdowns are
//! measured bar by bar.

use super::sim::SimTrade;
use serde::Serialize;

/// An equity curve: profit so far at each bar close, on a common time axis.
#[derive(Clone, Debug, Default)]
pub struct Curve {
    pub time_ms: Vec<i64>,
    pub pnl: Vec<f64>,
    /// Symbol-bars with a position open, and symbol-bars in all (exposure).
    pub open_bars: u64,
    pub bars: u64,
}

/// The statistics of one set of trades (one symbol, or all).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Stats {
    pub trades: u64,
    pub win_rate: Option<f64>,
    /// Mean profit of winning / losing trades, quote currency.
    pub avg_win: Option<f64>,
    pub avg_loss: Option<f64>,
    /// Mean net return per trade on the notional, bps.
    pub avg_win_bps: Option<f64>,
    pub avg_loss_bps: Option<f64>,
    /// Gross profit / gross loss; absent without a losing trade.
    pub profit_factor: Option<f64>,
    /// Mean profit per trade, quote currency and bps of the notional.
    pub expectancy: Option<f64>,
    pub expectancy_bps: Option<f64>,
    pub net_profit: f64,
    pub capital: f64,
    pub total_return: f64,
    pub annualised_return: Option<f64>,
    pub sharpe: Option<f64>,
    pub sortino: Option<f64>,
    pub calmar: Option<f64>,
    /// Largest fall of profit from its running peak, as a fraction of the capital.
    pub max_drawdown: f64,
    /// Longest time under a previous peak, hours.
    pub max_drawdown_hours: f64,
    /// Fraction of symbol-bars with a position open.
    pub exposure: f64,
    pub period_days: f64,
}

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: f64 = 86_400_000.0;

/// Statistics of `trades` with equity `curve` on `capital`.
pub fn stats(trades: &[SimTrade], curve: &Curve, capital: f64, notional: f64) -> Stats {
    let n = trades.len();
    let wins: Vec<&SimTrade> = trades.iter().filter(|t| t.pnl > 0.0).collect();
    let losses: Vec<&SimTrade> = trades.iter().filter(|t| t.pnl <= 0.0).collect();
    let mean = |v: &[&SimTrade], f: &dyn Fn(&SimTrade) -> f64| {
        (!v.is_empty()).then(|| v.iter().map(|t| f(t)).sum::<f64>() / v.len() as f64)
    };
    let all: Vec<&SimTrade> = trades.iter().collect();
    let pnl = |t: &SimTrade| t.pnl;
    let bps = |t: &SimTrade| t.net_bps(notional);
    // `+ 0.0`: an empty float sum is -0.0, which would print as "-0.00".
    let gross_win: f64 = wins.iter().map(|t| t.pnl).sum::<f64>() + 0.0;
    let gross_loss: f64 = -losses.iter().map(|t| t.pnl).sum::<f64>() + 0.0;
    let net_profit: f64 = trades.iter().map(|t| t.pnl).sum::<f64>() + 0.0;
    let period_days = match (curve.time_ms.first(), curve.time_ms.last()) {
        (Some(a), Some(b)) => (b - a) as f64 / DAY_MS,
        _ => 0.0,
    };
    let total_return = if capital > 0.0 {
        net_profit / capital
    } else {
        0.0
    };
    let annualised_return = (period_days >= 7.0).then(|| total_return * 365.0 / period_days);
    let (max_drawdown, max_drawdown_hours) = drawdown(curve, capital);
    let hourly = hourly_returns(curve, capital);
    let ann = (24.0f64 * 365.0).sqrt();
    let (sharpe, sortino) = if hourly.len() >= 24 {
        let m = hourly.iter().sum::<f64>() / hourly.len() as f64;
        let sd = std_dev(&hourly, m);
        let down =
            (hourly.iter().map(|r| r.min(0.0).powi(2)).sum::<f64>() / hourly.len() as f64).sqrt();
        (
            (sd > 0.0).then(|| m / sd * ann),
            (down > 0.0).then(|| m / down * ann),
        )
    } else {
        (None, None)
    };
    Stats {
        trades: n as u64,
        win_rate: (n > 0).then(|| wins.len() as f64 / n as f64),
        avg_win: mean(&wins, &pnl),
        avg_loss: mean(&losses, &pnl),
        avg_win_bps: mean(&wins, &bps),
        avg_loss_bps: mean(&losses, &bps),
        profit_factor: (gross_loss > 0.0).then(|| gross_win / gross_loss),
        expectancy: mean(&all, &pnl),
        expectancy_bps: mean(&all, &bps),
        net_profit,
        capital,
        total_return,
        annualised_return,
        sharpe,
        sortino,
        calmar: annualised_return
            .filter(|_| max_drawdown > 0.0)
            .map(|a| a / max_drawdown),
        max_drawdown,
        max_drawdown_hours,
        exposure: if curve.bars > 0 {
            curve.open_bars as f64 / curve.bars as f64
        } else {
            0.0
        },
        period_days,
    }
}

fn std_dev(x: &[f64], mean: f64) -> f64 {
    if x.len() < 2 {
        return 0.0;
    }
    (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
}

/// (largest fall of profit from its running peak as a fraction of `capital`, longest time from
/// a peak to its recovery, or to the end when never recovered, in hours).
fn drawdown(curve: &Curve, capital: f64) -> (f64, f64) {
    let Some(&start) = curve.time_ms.first() else {
        return (0.0, 0.0);
    };
    let (mut peak, mut peak_time, mut under, mut worst, mut longest) =
        (0.0f64, start, false, 0.0f64, 0i64);
    for (&t, &p) in curve.time_ms.iter().zip(&curve.pnl) {
        if p >= peak {
            if under {
                longest = longest.max(t - peak_time);
            }
            (peak, peak_time, under) = (p, t, false);
        } else {
            under = true;
            if capital > 0.0 {
                worst = worst.max((peak - p) / capital);
            }
        }
    }
    if let (true, Some(&end)) = (under, curve.time_ms.last()) {
        longest = longest.max(end - peak_time);
    }
    (worst, longest as f64 / HOUR_MS as f64)
}

/// Changes of profit between consecutive hour ends (UTC), over the capital.
fn hourly_returns(curve: &Curve, capital: f64) -> Vec<f64> {
    if capital <= 0.0 {
        return Vec::new();
    }
    let mut closes: Vec<f64> = Vec::new();
    let mut hour = None;
    for (&t, &p) in curve.time_ms.iter().zip(&curve.pnl) {
        let h = t.div_euclid(HOUR_MS);
        if hour == Some(h) {
            if let Some(last) = closes.last_mut() {
                *last = p;
            }
        } else {
            hour = Some(h);
            closes.push(p);
        }
    }
    closes.windows(2).map(|w| (w[1] - w[0]) / capital).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trainer::labels::Exit;

    fn trade(pnl: f64) -> SimTrade {
        SimTrade {
            signal: 0,
            entry: 1,
            exit: 2,
            entry_price: 1.0,
            exit_price: 1.0,
            gross_bps: 0.0,
            pnl,
            reason: Exit::Horizon,
        }
    }

    #[test]
    fn trade_statistics_and_drawdown_by_hand() {
        let trades = [trade(30.0), trade(-10.0), trade(20.0), trade(-20.0)];
        // Equity 1000 → 1030 → 1020 → 1040 → 1020, one point an hour.
        let curve = Curve {
            time_ms: (0..5).map(|h| h * HOUR_MS).collect(),
            pnl: vec![0.0, 30.0, 20.0, 40.0, 20.0],
            open_bars: 2,
            bars: 8,
        };
        let s = stats(&trades, &curve, 1_000.0, 1_000.0);
        assert_eq!(s.trades, 4);
        assert_eq!(s.win_rate, Some(0.5));
        assert_eq!(s.avg_win, Some(25.0));
        assert_eq!(s.avg_loss, Some(-15.0));
        assert_eq!(s.profit_factor, Some(50.0 / 30.0));
        assert_eq!(s.expectancy, Some(5.0));
        assert_eq!(s.expectancy_bps, Some(50.0));
        assert!((s.total_return - 0.02).abs() < 1e-12);
        // Worst: profit 40 → 20, of a capital of 1000; longest from a peak to recovery: hour 1 → 3.
        assert!((s.max_drawdown - 0.02).abs() < 1e-12);
        assert_eq!(s.max_drawdown_hours, 2.0);
        assert_eq!(s.exposure, 0.25);
        // Too short to annualise or to take a Sharpe ratio of.
        assert_eq!(
            (s.annualised_return, s.sharpe, s.calmar),
            (None, None, None)
        );
    }

    #[test]
    fn sharpe_of_a_known_hourly_series() {
        // Alternating +10 / 0 profit an hour on a capital of 1000 over 48 hours.
        let mut pnl = vec![0.0];
        for h in 0..48 {
            let last = pnl[pnl.len() - 1];
            pnl.push(last + if h % 2 == 0 { 10.0 } else { 0.0 });
        }
        let curve = Curve {
            time_ms: (0..49).map(|h| h * HOUR_MS).collect(),
            pnl,
            open_bars: 0,
            bars: 1,
        };
        let s = stats(&[], &curve, 1_000.0, 1_000.0);
        let r: Vec<f64> = (0..48)
            .map(|h| if h % 2 == 0 { 0.01 } else { 0.0 })
            .collect();
        let m = 0.005;
        let sd = (r.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / 47.0).sqrt();
        let want = m / sd * (24.0f64 * 365.0).sqrt();
        assert!(
            (s.sharpe.unwrap() - want).abs() < 1e-6,
            "{:?} vs {want}",
            s.sharpe
        );
        assert_eq!(s.max_drawdown, 0.0);
        assert!(s.sortino.is_none(), "no losing hour: no downside deviation");
    }
}
