//! Slow stochastic oscillator (TA-Lib `STOCH` with both moving averages SMA):
//! fast %K = 100 · (close − lowest low) / (highest high − lowest low) over `fastk` bars,
//! %K (slow) = SMA(fast %K, `slowk`), %D = SMA(%K, `slowd`).
//! Lookback `fastk − 1 + slowk − 1 + slowd − 1` (17 for 14/3/3).
//!
//! Zero denominator: when the highest high equals the lowest low, fast %K is 0, as in TA-Lib.
//! The arithmetic is TA-Lib's, step for step, so the values agree to the last bit: fast %K divides
//! by `(highest − lowest) / 100`, and the SMAs keep TA-Lib's running sum (add the new value, emit
//! sum / period, subtract the oldest). That sum is not re-added: %K lies in [0, 100], so its drift
//! stays near 1e-14 · √bars in absolute terms, and re-summing would part from TA-Lib's bits.
//!
//! The rolling highest high / lowest low use a monotonic deque (preallocated to `fastk`, so no
//! allocation per bar): O(1) amortised whatever the period, where a rescan would be O(fastk).

use std::collections::VecDeque;

use super::Ring;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StochValue {
    /// Slow %K.
    pub k: f64,
    /// %D: the SMA of slow %K.
    pub d: f64,
}

#[derive(Clone, Debug)]
pub struct Stoch {
    fastk: usize,
    highs: RollingExtremum,
    lows: RollingExtremum,
    slow_k: RunningSma,
    slow_d: RunningSma,
}

impl Stoch {
    pub fn new(fastk: usize, slowk: usize, slowd: usize) -> Self {
        assert!(
            fastk > 0 && slowk > 0 && slowd > 0,
            "Stochastic periods must be > 0"
        );
        Self {
            fastk,
            highs: RollingExtremum::new(fastk, true),
            lows: RollingExtremum::new(fastk, false),
            slow_k: RunningSma::new(slowk),
            slow_d: RunningSma::new(slowd),
        }
    }

    pub fn update(&mut self, high: f64, low: f64, close: f64) -> Option<StochValue> {
        let (highest, lowest) = (self.highs.push(high), self.lows.push(low));
        let (highest, lowest) = (highest?, lowest?);
        let diff = (highest - lowest) / 100.0;
        let fast_k = if diff != 0.0 {
            (close - lowest) / diff
        } else {
            0.0
        };
        let k = self.slow_k.push(fast_k)?;
        let d = self.slow_d.push(k)?;
        Some(StochValue { k, d })
    }

    pub fn lookback(&self) -> usize {
        self.fastk - 1 + self.slow_k.period() - 1 + self.slow_d.period() - 1
    }

    pub fn reset(&mut self) {
        *self = Self::new(self.fastk, self.slow_k.period(), self.slow_d.period());
    }
}

/// Max (or min) of the last `period` values: a deque of (bar index, value) whose values are
/// strictly decreasing (increasing for min) from front to back; the front is the answer. Indices
/// are unique and expire after `period` bars, so the deque never outgrows its preallocation.
#[derive(Clone, Debug)]
struct RollingExtremum {
    period: usize,
    is_max: bool,
    seen: usize,
    deque: VecDeque<(usize, f64)>,
}

impl RollingExtremum {
    fn new(period: usize, is_max: bool) -> Self {
        Self {
            period,
            is_max,
            seen: 0,
            deque: VecDeque::with_capacity(period),
        }
    }

    /// Adds `x`; once `period` values are in, returns the extremum of the last `period`.
    fn push(&mut self, x: f64) -> Option<f64> {
        let i = self.seen;
        self.seen += 1;
        while let Some(&(j, _)) = self.deque.front() {
            if j + self.period > i {
                break;
            }
            self.deque.pop_front();
        }
        // A value that cannot beat `x` before leaving the window (it is older) is dropped.
        while let Some(&(_, v)) = self.deque.back() {
            let dominated = if self.is_max { v <= x } else { v >= x };
            if !dominated {
                break;
            }
            self.deque.pop_back();
        }
        self.deque.push_back((i, x));
        (self.seen >= self.period).then(|| self.deque.front().map_or(x, |&(_, v)| v))
    }
}

/// TA-Lib's SMA (`TA_INT_SMA`) as a stream: the running sum gets the new value, the output is
/// sum / period, then the oldest value leaves the sum; the same operations in the same order.
#[derive(Clone, Debug)]
struct RunningSma {
    ring: Ring<f64>,
    sum: f64,
}

impl RunningSma {
    fn new(period: usize) -> Self {
        Self {
            ring: Ring::new(period),
            sum: 0.0,
        }
    }

    fn period(&self) -> usize {
        self.ring.capacity()
    }

    fn push(&mut self, x: f64) -> Option<f64> {
        // The value this push evicts was already taken out of the sum after the last output.
        self.ring.push(x);
        self.sum += x;
        if !self.ring.is_full() {
            return None;
        }
        let out = self.sum / self.period() as f64;
        self.sum -= self.ring.back(self.period() - 1).unwrap_or(0.0);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_bars::bars;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lookback_and_flat_prices_give_zero() {
        let mut s = Stoch::new(14, 3, 3);
        assert_eq!(s.lookback(), 17);
        // talib.STOCH on 25 bars with high == low == close: nan × 17, then 0.
        for i in 0..25 {
            let v = s.update(1.0, 1.0, 1.0);
            assert_eq!(v.is_some(), i >= 17, "bar {i}");
            if let Some(v) = v {
                assert_eq!(v, StochValue { k: 0.0, d: 0.0 });
            }
        }
    }

    #[test]
    fn rolling_extremum_matches_a_scan() {
        let xs: Vec<f64> = (0..500u64)
            .map(|i| ((i * 7919) % 101) as f64 - (i % 13) as f64)
            .collect();
        for period in [1, 2, 5, 14] {
            let (mut hi, mut lo) = (
                RollingExtremum::new(period, true),
                RollingExtremum::new(period, false),
            );
            for (i, &x) in xs.iter().enumerate() {
                let (h, l) = (hi.push(x), lo.push(x));
                if i + 1 >= period {
                    let w = &xs[i + 1 - period..=i];
                    assert_eq!(h, Some(w.iter().copied().fold(f64::MIN, f64::max)));
                    assert_eq!(l, Some(w.iter().copied().fold(f64::MAX, f64::min)));
                } else {
                    assert_eq!((h, l), (None, None));
                }
                assert!(hi.deque.len() <= period && lo.deque.len() <= period);
            }
        }
    }

    proptest! {
        #[test]
        fn finite_and_in_range_on_flat_zero_volume_and_jumps(bars in bars()) {
            let mut s = Stoch::new(14, 3, 3);
            for (i, b) in bars.iter().enumerate() {
                let v = s.update(b.high, b.low, b.close);
                prop_assert_eq!(v.is_some(), i >= s.lookback());
                if let Some(v) = v {
                    prop_assert!(v.k.is_finite() && v.d.is_finite(), "{:?}", v);
                    prop_assert!((-1e-9..=100.0 + 1e-9).contains(&v.k), "{:?}", v);
                }
            }
        }

        #[test]
        fn reset_equals_fresh(first in bars(), second in bars()) {
            let mut used = Stoch::new(5, 3, 3);
            for b in &first {
                used.update(b.high, b.low, b.close);
            }
            used.reset();
            let mut fresh = Stoch::new(5, 3, 3);
            for b in &second {
                prop_assert_eq!(
                    used.update(b.high, b.low, b.close),
                    fresh.update(b.high, b.low, b.close)
                );
            }
        }
    }
}
