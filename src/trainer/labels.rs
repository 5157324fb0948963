//! Labels (DESIGN.md §6). The label of bar t uses only bars after t: a signal computed when bar t
//! closes can at the earliest be filled at the next bar's open, so entry = open(t+1) and exit =
//! close(t+H). `return_bps` = ln(exit / entry) in bps, before fees; `profitable` = that return
//! minus round-trip fees above `min_profit_bps`. (open(t+1) is close(t) give or take a tick on a
//! liquid market, but using it keeps bar t itself out of the label.)

use crate::config::LabelsConfig;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Label {
    pub profitable: bool,
    pub return_bps: f64,
}

/// Label of bar `t` from the bars' `opens` and `closes`; `None` when t+H is past the end.
pub fn label_at(opens: &[f64], closes: &[f64], t: usize, cfg: &LabelsConfig) -> Option<Label> {
    let exit = *closes.get(t + cfg.horizon_bars)?;
    let entry = *opens.get(t + 1)?;
    let return_bps = (exit / entry).ln() * 1e4;
    Some(Label {
        profitable: return_bps - cfg.round_trip_fee_bps > cfg.min_profit_bps,
        return_bps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_decide_profitability() {
        let cfg = LabelsConfig {
            horizon_bars: 2,
            round_trip_fee_bps: 8.0,
            min_profit_bps: 0.0,
        };
        // Entry at open(1) = 100. +10 bps gross clears 8 bps of fees; +5 bps does not.
        let opens = [1.0, 100.0, 0.0, 0.0];
        let closes = [1.0, 0.0, 100.0 * (10e-4f64).exp(), 100.0 * (5e-4f64).exp()];
        let l = label_at(&opens, &closes, 0, &cfg).unwrap();
        assert!((l.return_bps - 10.0).abs() < 1e-9);
        assert!(l.profitable);
        let closes2 = [1.0, 0.0, 100.0 * (5e-4f64).exp()];
        assert!(!label_at(&opens, &closes2, 0, &cfg).unwrap().profitable);
        assert!(label_at(&opens, &closes2, 1, &cfg).is_none());
    }
}
