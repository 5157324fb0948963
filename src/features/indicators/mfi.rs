//! Money Flow Index (TA-Lib `MFI`) on the typical price (high + low + close) / 3: money flow =
//! typical price · volume, counted positive when the typical price rose from the previous bar,
//! negative when it fell, not at all when unchanged; MFI = 100 · Σpos / (Σpos + Σneg) over the
//! last `n` flows. Lookback `n` (the first bar only supplies a previous typical price).
//!
//! Zero denominator, TA-Lib 0.6.4's rule exactly (the C library inside the 0.6.8 Python wheel;
//! TA-Lib's development branch has since replaced it with a test for an empty window, issue #244):
//! the value is 0 whenever Σpos + Σneg < 1.0, not only when it is 0. The threshold is in quote-currency units, so a window whose whole
//! money flow is under 1 (e.g. a handful of zero- or tiny-volume minutes) reads 0 even if every
//! move was up. Checked against TA-Lib 0.6.8 (C library 0.6.4): rising bars near 100 with volume
//! 0.0007 (≈ 0.98 of flow per 14-bar window) read 0 there, with volume 0.001 (≈ 1.4) they read 100
//! (the unit test below, and the edge-case golden in tests/oracle.rs).
//!
//! The sums are TA-Lib's running sums, updated in TA-Lib's order (subtract the flow leaving,
//! add the flow entering), so values agree with TA-Lib to the last bit, drift included: they are
//! not re-added from the ring, since that would part from TA-Lib. Flows are clamped to
//! `f64::MAX / (n + 1)` so the sums cannot overflow (real flows are ~300 orders of magnitude
//! smaller), and the result is clamped to [0, 100], which only bites where drift would leave it.

use super::Ring;

#[derive(Clone, Debug)]
pub struct Mfi {
    prev_typical: Option<f64>,
    flows: Ring<(f64, f64)>,
    pos_sum: f64,
    neg_sum: f64,
    limit: f64,
}

impl Mfi {
    pub fn new(period: usize) -> Self {
        assert!(period > 0, "MFI period must be > 0");
        Self {
            prev_typical: None,
            flows: Ring::new(period),
            pos_sum: 0.0,
            neg_sum: 0.0,
            limit: f64::MAX / (period as f64 + 1.0),
        }
    }

    pub fn update(&mut self, high: f64, low: f64, close: f64, volume: f64) -> Option<f64> {
        let typical = (high + low + close) / 3.0;
        let prev = self.prev_typical.replace(typical)?;
        let flow = (typical * volume).clamp(-self.limit, self.limit);
        let entry = if typical < prev {
            (0.0, flow)
        } else if typical > prev {
            (flow, 0.0)
        } else {
            (0.0, 0.0)
        };
        if let Some((pos, neg)) = self.flows.push(entry) {
            self.pos_sum -= pos;
            self.neg_sum -= neg;
        }
        self.pos_sum += entry.0;
        self.neg_sum += entry.1;
        if !self.flows.is_full() {
            return None;
        }
        let total = self.pos_sum + self.neg_sum;
        Some(if total < 1.0 {
            0.0
        } else {
            // Drift can push the ratio a hair outside [0, 1] after a huge flow has left the
            // window; TA-Lib 0.6.4 returns that as is, later TA-Lib versions clamp as here.
            (100.0 * (self.pos_sum / total)).clamp(0.0, 100.0)
        })
    }

    pub fn lookback(&self) -> usize {
        self.flows.capacity()
    }

    pub fn reset(&mut self) {
        *self = Self::new(self.flows.capacity());
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_bars::bars;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn money_flow_under_one_per_window_reads_zero() {
        // Rising typical prices, all flow positive: 100 unless the window's flow is < 1.
        for (volume, want) in [(0.0, 0.0), (0.0007, 0.0), (0.001, 100.0)] {
            let mut m = Mfi::new(14);
            let mut last = None;
            for i in 0..20 {
                let p = 100.0 + i as f64 * 0.01;
                last = m.update(p, p, p, volume);
                assert_eq!(last.is_some(), i >= 14);
            }
            // 14 flows of ≈ 100 · 0.0007 = 0.98 in all, or ≈ 1.4.
            assert_eq!(last, Some(want), "volume {volume}");
        }
    }

    #[test]
    fn flat_prices_give_zero() {
        let mut m = Mfi::new(14);
        let got: Vec<_> = (0..20)
            .filter_map(|_| m.update(1.0, 1.0, 1.0, 5.0))
            .collect();
        assert_eq!(got, vec![0.0; 6]);
    }

    proptest! {
        #[test]
        fn finite_and_in_range_on_flat_zero_volume_and_jumps(bars in bars()) {
            let mut m = Mfi::new(14);
            for (i, b) in bars.iter().enumerate() {
                let v = m.update(b.high, b.low, b.close, b.volume);
                prop_assert_eq!(v.is_some(), i >= m.lookback());
                if let Some(v) = v {
                    prop_assert!((0.0..=100.0).contains(&v), "{}", v);
                }
            }
        }

        #[test]
        fn reset_equals_fresh(first in bars(), second in bars()) {
            let mut used = Mfi::new(14);
            for b in &first {
                used.update(b.high, b.low, b.close, b.volume);
            }
            used.reset();
            let mut fresh = Mfi::new(14);
            for b in &second {
                prop_assert_eq!(
                    used.update(b.high, b.low, b.close, b.volume),
                    fresh.update(b.high, b.low, b.close, b.volume)
                );
            }
        }
    }

    #[test]
    fn huge_flows_stay_finite() {
        let mut m = Mfi::new(3);
        for i in 0..10 {
            let p = 1e300 * (1.0 + i as f64);
            assert!(m.update(p, p, p, 1e300).is_none_or(f64::is_finite));
        }
    }
}
