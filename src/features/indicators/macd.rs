//! MACD (TA-Lib `MACD`): the fast EMA is seeded on the `fast` closes that end where the slow EMA's
//! seed ends, so both start at bar `slow - 1`; the signal EMA runs on the MACD line; lookback
//! `slow + signal - 2`. Yields (line, signal, histogram).

use super::Ema;

#[derive(Clone, Debug)]
pub struct Macd {
    fast: usize,
    slow: usize,
    signal_period: usize,
    seen: usize,
    fast_ema: Ema,
    slow_ema: Ema,
    signal_ema: Ema,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MacdValue {
    pub line: f64,
    pub signal: f64,
    pub histogram: f64,
}

impl Macd {
    pub fn new(fast: usize, slow: usize, signal: usize) -> Self {
        assert!(
            fast > 0 && slow > fast && signal > 0,
            "MACD needs 0 < fast < slow, signal > 0"
        );
        Self {
            fast,
            slow,
            signal_period: signal,
            seen: 0,
            fast_ema: Ema::new(fast),
            slow_ema: Ema::new(slow),
            signal_ema: Ema::new(signal),
        }
    }

    pub fn update(&mut self, close: f64) -> Option<MacdValue> {
        self.seen += 1;
        let slow = self.slow_ema.update(close);
        // The fast EMA only starts `fast` bars before the slow one is seeded (TA-Lib's alignment).
        let fast = if self.seen > self.slow - self.fast {
            self.fast_ema.update(close)
        } else {
            None
        };
        let line = fast? - slow?;
        let signal = self.signal_ema.update(line)?;
        Some(MacdValue {
            line,
            signal,
            histogram: line - signal,
        })
    }

    pub fn lookback(&self) -> usize {
        self.slow + self.signal_period - 2
    }

    pub fn reset(&mut self) {
        *self = Self::new(self.fast, self.slow, self.signal_period);
    }
}
