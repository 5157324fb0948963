//! Rolling z-score of a series against its own last `period` values (current one included),
//! population σ; 0 when σ is 0. Lookback `period - 1`.

use super::RollingMoments;

#[derive(Clone, Debug)]
pub struct ZScore {
    moments: RollingMoments,
}

impl ZScore {
    pub fn new(period: usize) -> Self {
        assert!(period > 1, "z-score period must be > 1");
        Self {
            moments: RollingMoments::new(period),
        }
    }

    pub fn update(&mut self, x: f64) -> Option<f64> {
        let (mean, sd) = self.moments.push(x)?;
        Some(if sd > 1e-12 * mean.abs().max(1.0) {
            (x - mean) / sd
        } else {
            0.0
        })
    }

    pub fn lookback(&self) -> usize {
        self.moments.period() - 1
    }

    pub fn reset(&mut self) {
        *self = Self::new(self.moments.period());
    }
}
