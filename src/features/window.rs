//! The rolling window of the last T scaled feature rows of one symbol, and the `Window` it emits.

use crate::event::{Exchange, Symbol};
use std::collections::VecDeque;

/// One model input: the last `seq_len` scaled rows up to and including the bar that closed at
/// `bar_close_time_ms`, flattened row-major `[seq_len × n_features]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    pub exchange: Exchange,
    pub symbol: Symbol,
    pub bar_close_time_ms: i64,
    pub close: f64,
    pub seq_len: usize,
    pub n_features: usize,
    pub data: Vec<f32>,
    /// False when any value in the window was clipped by the scaler.
    pub features_valid: bool,
}

/// Ring of the last `seq_len` rows.
#[derive(Clone, Debug)]
pub struct WindowBuffer {
    seq_len: usize,
    rows: VecDeque<(Vec<f32>, bool)>,
}

impl WindowBuffer {
    pub fn new(seq_len: usize) -> Self {
        Self {
            seq_len,
            rows: VecDeque::with_capacity(seq_len + 1),
        }
    }

    /// Adds a scaled row; `clipped` marks a row the scaler had to clip.
    pub fn push(&mut self, row: Vec<f32>, clipped: bool) {
        if self.rows.len() == self.seq_len {
            self.rows.pop_front();
        }
        self.rows.push_back((row, clipped));
    }

    pub fn is_full(&self) -> bool {
        self.rows.len() == self.seq_len
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn clear(&mut self) {
        self.rows.clear();
    }

    /// The flattened rows (oldest first) and whether none was clipped; `None` until full.
    pub fn snapshot(&self) -> Option<(Vec<f32>, bool)> {
        if !self.is_full() {
            return None;
        }
        let n = self.rows.front().map_or(0, |r| r.0.len());
        let mut data = Vec::with_capacity(self.seq_len * n);
        let mut valid = true;
        for (r, clipped) in &self.rows {
            data.extend_from_slice(r);
            valid &= !clipped;
        }
        Some((data, valid))
    }
}
