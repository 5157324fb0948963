//! Signed taker flow over the last n bars: Σ(taker buy − taker sell) / Σ volume, in [−1, 1].
//!
//! Taker-buy volume is what the exchange's klines report, or what `features::bars` sums from the
//! trades' aggressor side, so this is the signed trade-flow imbalance whether bars come from klines
//! or from a trade stream. No TA-Lib counterpart. Lookback n − 1. A window with no volume gives 0
//! (no flow either way). The rolling sums are re-added from the ring every n bars, so floating
//! drift cannot build up over a long session.

use super::Ring;

#[derive(Clone, Debug)]
pub struct TradeFlow {
    ring: Ring<(f64, f64)>,
    signed: f64,
    volume: f64,
    since_resum: usize,
}

impl TradeFlow {
    pub fn new(period: usize) -> Self {
        assert!(period > 0, "flow period must be > 0");
        Self {
            ring: Ring::new(period),
            signed: 0.0,
            volume: 0.0,
            since_resum: 0,
        }
    }

    /// Feeds one bar's taker-buy volume and volume (finite, ≥ 0: the state machine checks).
    pub fn update(&mut self, taker_buy: f64, volume: f64) -> Option<f64> {
        let buy = taker_buy.clamp(0.0, volume);
        let x = (2.0 * buy - volume, volume);
        if let Some(old) = self.ring.push(x) {
            self.signed -= old.0;
            self.volume -= old.1;
        }
        self.signed += x.0;
        self.volume += x.1;
        self.since_resum += 1;
        if self.since_resum >= self.ring.capacity() {
            self.since_resum = 0;
            (self.signed, self.volume) = self
                .ring
                .iter()
                .fold((0.0, 0.0), |(s, v), (a, b)| (s + a, v + b));
        }
        if !self.ring.is_full() {
            return None;
        }
        Some(if self.volume > 0.0 {
            (self.signed / self.volume).clamp(-1.0, 1.0)
        } else {
            0.0
        })
    }

    pub fn lookback(&self) -> usize {
        self.ring.capacity() - 1
    }

    pub fn reset(&mut self) {
        *self = Self::new(self.ring.capacity());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_is_the_signed_share_of_taker_volume() {
        let mut f = TradeFlow::new(2);
        assert_eq!(f.update(3.0, 4.0), None);
        // (3 − 1) + (0 − 2) over 6 → 0.
        assert_eq!(f.update(0.0, 2.0), Some(0.0));
        // (0 − 2) + (5 − 0) over 7.
        assert_eq!(f.update(5.0, 5.0), Some(3.0 / 7.0));
        assert_eq!(f.update(0.0, 0.0), Some(1.0));
        assert_eq!(f.update(0.0, 0.0), Some(0.0));
        assert_eq!(f.lookback(), 1);
    }

    #[test]
    fn resumming_keeps_long_runs_exact_and_reset_is_fresh() {
        let mut f = TradeFlow::new(3);
        let mut last = None;
        for i in 0..10_000 {
            let v = if i % 7 == 0 { 1e12 } else { 1e-3 };
            last = f.update(v * 0.25, v);
        }
        let mut exact = TradeFlow::new(3);
        let mut want = None;
        for i in 9_997..10_000 {
            let v = if i % 7 == 0 { 1e12 } else { 1e-3 };
            want = exact.update(v * 0.25, v);
        }
        assert!((last.unwrap() - want.unwrap()).abs() < 1e-12);
        f.reset();
        assert_eq!(f.update(1.0, 1.0), None);
    }
}
