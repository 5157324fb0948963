//! On-balance volume (TA-Lib `OBV`): a running total that adds the bar's volume when the close
//! rises, subtracts it when the close falls and leaves it when the close is unchanged; the first
//! bar's value is its own volume. Lookback 0. No denominator; the total saturates at ±`f64::MAX`.

use super::saturate;

#[derive(Clone, Debug, Default)]
pub struct Obv {
    prev_close: Option<f64>,
    value: f64,
}

impl Obv {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, close: f64, volume: f64) -> Option<f64> {
        self.value = match self.prev_close.replace(close) {
            None => volume,
            Some(prev) if close > prev => self.value + volume,
            Some(prev) if close < prev => self.value - volume,
            Some(_) => self.value,
        };
        self.value = saturate(self.value);
        Some(self.value)
    }

    pub fn lookback(&self) -> usize {
        0
    }

    pub fn reset(&mut self) {
        *self = Self::new();
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_bars::bars;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn follows_the_close_direction() {
        let mut o = Obv::new();
        // Same as talib.OBV([1, 2, 2, 1], [5, 6, 7, 8]).
        let got: Vec<_> = [(1.0, 5.0), (2.0, 6.0), (2.0, 7.0), (1.0, 8.0)]
            .iter()
            .map(|&(c, v)| o.update(c, v))
            .collect();
        assert_eq!(got, [Some(5.0), Some(11.0), Some(11.0), Some(3.0)]);
    }

    proptest! {
        #[test]
        fn finite_on_flat_zero_volume_and_jumps(bars in bars()) {
            let mut o = Obv::new();
            for b in &bars {
                prop_assert!(o.update(b.close, b.volume).is_some_and(f64::is_finite));
            }
        }

        #[test]
        fn reset_equals_fresh(first in bars(), second in bars()) {
            let mut used = Obv::new();
            for b in &first {
                used.update(b.close, b.volume);
            }
            used.reset();
            let mut fresh = Obv::new();
            for b in &second {
                prop_assert_eq!(used.update(b.close, b.volume), fresh.update(b.close, b.volume));
            }
        }
    }

    #[test]
    fn saturates_instead_of_overflowing() {
        let mut o = Obv::new();
        o.update(1.0, f64::MAX);
        assert_eq!(o.update(2.0, f64::MAX), Some(f64::MAX));
    }
}
