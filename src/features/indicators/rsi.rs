//! Relative Strength Index, Wilder smoothing seeded by the SMA of the first `period` changes
//! (TA-Lib `RSI`); lookback `period`. Flat prices (no gain, no loss) give 0, as in TA-Lib.

#[derive(Clone, Debug)]
pub struct Rsi {
    period: usize,
    prev: Option<f64>,
    n_changes: usize,
    avg_gain: f64,
    avg_loss: f64,
}

impl Rsi {
    pub fn new(period: usize) -> Self {
        assert!(period > 0, "RSI period must be > 0");
        Self {
            period,
            prev: None,
            n_changes: 0,
            avg_gain: 0.0,
            avg_loss: 0.0,
        }
    }

    pub fn update(&mut self, close: f64) -> Option<f64> {
        let prev = self.prev.replace(close)?;
        let change = close - prev;
        let (gain, loss) = (change.max(0.0), (-change).max(0.0));
        self.n_changes += 1;
        let p = self.period as f64;
        if self.n_changes <= self.period {
            self.avg_gain += gain / p;
            self.avg_loss += loss / p;
            if self.n_changes < self.period {
                return None;
            }
        } else {
            self.avg_gain = (self.avg_gain * (p - 1.0) + gain) / p;
            self.avg_loss = (self.avg_loss * (p - 1.0) + loss) / p;
        }
        let total = self.avg_gain + self.avg_loss;
        Some(if total > 0.0 {
            100.0 * self.avg_gain / total
        } else {
            0.0
        })
    }

    pub fn lookback(&self) -> usize {
        self.period
    }

    pub fn reset(&mut self) {
        *self = Self::new(self.period);
    }
}
