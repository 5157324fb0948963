//! Exponential moving average seeded by the SMA of its first `period` inputs (TA-Lib `EMA`,
//! k = 2/(period+1)); lookback `period - 1`.

#[derive(Clone, Debug)]
pub struct Ema {
    period: usize,
    k: f64,
    count: usize,
    seed_sum: f64,
    value: f64,
}

impl Ema {
    pub fn new(period: usize) -> Self {
        assert!(period > 0, "EMA period must be > 0");
        Self {
            period,
            k: 2.0 / (period as f64 + 1.0),
            count: 0,
            seed_sum: 0.0,
            value: 0.0,
        }
    }

    pub fn update(&mut self, x: f64) -> Option<f64> {
        self.count += 1;
        if self.count < self.period {
            self.seed_sum += x;
            None
        } else if self.count == self.period {
            self.seed_sum += x;
            self.value = self.seed_sum / self.period as f64;
            Some(self.value)
        } else {
            self.value += (x - self.value) * self.k;
            Some(self.value)
        }
    }

    pub fn lookback(&self) -> usize {
        self.period - 1
    }

    pub fn reset(&mut self) {
        *self = Self::new(self.period);
    }
}
