//! Rolling z-score of a series against its own last `period` values (current one included),
//! population σ; 0 when σ is 0. Lookback `period - 1`.

use super::Ring;

#[derive(Clone, Debug)]
pub struct ZScore {
    ring: Ring<f64>,
    sum: f64,
    sum_sq: f64,
}

impl ZScore {
    pub fn new(period: usize) -> Self {
        assert!(period > 1, "z-score period must be > 1");
        Self {
            ring: Ring::new(period),
            sum: 0.0,
            sum_sq: 0.0,
        }
    }

    pub fn update(&mut self, x: f64) -> Option<f64> {
        if let Some(old) = self.ring.push(x) {
            self.sum -= old;
            self.sum_sq -= old * old;
        }
        self.sum += x;
        self.sum_sq += x * x;
        if !self.ring.is_full() {
            return None;
        }
        let n = self.ring.capacity() as f64;
        let mean = self.sum / n;
        let var = self.sum_sq / n - mean * mean;
        let sd = var.max(0.0).sqrt();
        Some(if sd > 1e-12 * mean.abs().max(1.0) {
            (x - mean) / sd
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
