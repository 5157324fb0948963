//! The rolling window of the last T scaled feature rows of one symbol, and the `Window` it emits.
//!
//! The buffer is one flat `[T × F]` ring of `f32` plus one flag byte per row, allocated once, so a
//! bar update copies F floats and allocates nothing; only emitting a window copies the T rows out
//! in time order.

use crate::event::{Exchange, Symbol};

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
    /// False when the scaler clipped any value in the window (or, streaming, was not warm yet)
    /// or any row is a gap filler.
    pub features_valid: bool,
    /// Rows that are gap fillers (last close carried through a bar the data did not have).
    pub filled_rows: u32,
}

const CLIPPED: u8 = 1;
const FILLED: u8 = 2;

/// Ring of the last `seq_len` rows.
#[derive(Clone, Debug)]
pub struct WindowBuffer {
    seq_len: usize,
    n_features: usize,
    data: Vec<f32>,
    flags: Vec<u8>,
    /// Slot the next row goes to.
    head: usize,
    len: usize,
}

impl WindowBuffer {
    pub fn new(seq_len: usize, n_features: usize) -> Self {
        assert!(seq_len > 0, "a window needs at least one row");
        Self {
            seq_len,
            n_features,
            data: vec![0.0; seq_len * n_features],
            flags: vec![0; seq_len],
            head: 0,
            len: 0,
        }
    }

    /// Adds a scaled row of `n_features` values, overwriting the oldest once full.
    pub fn push(&mut self, row: &[f32], clipped: bool, filled: bool) {
        let nf = self.n_features;
        debug_assert_eq!(row.len(), nf);
        self.data[self.head * nf..(self.head + 1) * nf].copy_from_slice(&row[..nf]);
        self.flags[self.head] = (u8::from(clipped) * CLIPPED) | (u8::from(filled) * FILLED);
        self.head = (self.head + 1) % self.seq_len;
        self.len = (self.len + 1).min(self.seq_len);
    }

    pub fn is_full(&self) -> bool {
        self.len == self.seq_len
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    /// Heap bytes held (the window's share of a symbol's memory).
    pub fn heap_bytes(&self) -> usize {
        self.data.capacity() * size_of::<f32>() + self.flags.capacity()
    }

    /// The rows oldest first, whether any was clipped, and how many are gap fillers; `None`
    /// until full.
    pub fn snapshot(&self) -> Option<(Vec<f32>, bool, u32)> {
        if !self.is_full() {
            return None;
        }
        let split = self.head * self.n_features;
        let mut data = Vec::with_capacity(self.data.len());
        data.extend_from_slice(&self.data[split..]);
        data.extend_from_slice(&self.data[..split]);
        let clipped = self.flags.iter().any(|f| f & CLIPPED != 0);
        let filled = self.flags.iter().filter(|f| *f & FILLED != 0).count() as u32;
        Some((data, clipped, filled))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_is_time_ordered_across_the_wrap() {
        let mut w = WindowBuffer::new(3, 2);
        for i in 0..2 {
            w.push(&[i as f32, -(i as f32)], false, false);
        }
        assert_eq!(w.snapshot(), None);
        w.push(&[2.0, -2.0], false, true);
        assert_eq!(
            w.snapshot(),
            Some((vec![0.0, -0.0, 1.0, -1.0, 2.0, -2.0], false, 1))
        );
        w.push(&[3.0, -3.0], true, false);
        assert_eq!(
            w.snapshot(),
            Some((vec![1.0, -1.0, 2.0, -2.0, 3.0, -3.0], true, 1))
        );
        w.push(&[4.0, -4.0], false, false);
        w.push(&[5.0, -5.0], false, false);
        assert_eq!(
            w.snapshot(),
            Some((vec![3.0, -3.0, 4.0, -4.0, 5.0, -5.0], true, 0))
        );
        w.clear();
        assert!(w.is_empty() && w.snapshot().is_none());
    }
}
