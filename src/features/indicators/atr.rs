//! Average True Range, Wilder smoothing seeded by the SMA of the first `period` true ranges
//! (TA-Lib `ATR`: the first bar has no previous close, so it yields no true range); lookback `period`.

#[derive(Clone, Debug)]
pub struct Atr {
    period: usize,
    prev_close: Option<f64>,
    n_tr: usize,
    value: f64,
}

impl Atr {
    pub fn new(period: usize) -> Self {
        assert!(period > 0, "ATR period must be > 0");
        Self {
            period,
            prev_close: None,
            n_tr: 0,
            value: 0.0,
        }
    }

    pub fn update(&mut self, high: f64, low: f64, close: f64) -> Option<f64> {
        let prev = self.prev_close.replace(close)?;
        let tr = (high - low)
            .max((high - prev).abs())
            .max((low - prev).abs());
        self.n_tr += 1;
        let p = self.period as f64;
        if self.n_tr <= self.period {
            self.value += tr / p;
            (self.n_tr == self.period).then_some(self.value)
        } else {
            self.value = (self.value * (p - 1.0) + tr) / p;
            Some(self.value)
        }
    }

    pub fn lookback(&self) -> usize {
        self.period
    }

    pub fn reset(&mut self) {
        *self = Self::new(self.period);
    }
}
