//! The shadow trainer's rolling buffer of labelled live windows, what a refit trains on, and its
//! purged chronological split.

use super::resolver::Labelled;
use crate::trainer::fit::TrainSet;
use std::collections::VecDeque;
use std::sync::Arc;

/// The newest `cap` labelled windows, in the order their labels resolved.
pub struct Buffer {
    items: VecDeque<Arc<Labelled>>,
    cap: usize,
}

impl Buffer {
    pub fn new(cap: usize) -> Self {
        Self {
            items: VecDeque::with_capacity(cap.min(1 << 16)),
            cap,
        }
    }

    pub fn push(&mut self, l: Arc<Labelled>) {
        if self.items.len() == self.cap {
            self.items.pop_front();
        }
        self.items.push_back(l);
    }

    /// The windows labelled after bar close time `after_ms`, in arrival order.
    pub fn after(&self, after_ms: i64) -> Vec<Arc<Labelled>> {
        self.items
            .iter()
            .filter(|l| l.bar_close_time_ms > after_ms)
            .cloned()
            .collect()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The buffer as of now, sorted by bar close time (labels resolve per symbol; across symbols
    /// they interleave), for one refit. Cheap: the windows are shared.
    pub fn snapshot(&self, seq_len: usize, n_features: usize) -> Snapshot {
        let mut rows: Vec<Arc<Labelled>> = self.items.iter().cloned().collect();
        rows.sort_by(|a, b| {
            (a.bar_close_time_ms, &a.symbol).cmp(&(b.bar_close_time_ms, &b.symbol))
        });
        Snapshot {
            rows,
            seq_len,
            n_features,
        }
    }
}

/// Labelled windows sorted by time: a [`TrainSet`].
pub struct Snapshot {
    pub rows: Vec<Arc<Labelled>>,
    pub seq_len: usize,
    pub n_features: usize,
}

impl TrainSet for Snapshot {
    fn seq_len(&self) -> usize {
        self.seq_len
    }
    fn n_features(&self) -> usize {
        self.n_features
    }
    fn sample_window(&self, i: usize) -> &[f32] {
        &self.rows[i].data
    }
    fn sample_profitable(&self, i: usize) -> bool {
        self.rows[i].profitable
    }
    fn sample_return_bps(&self, i: usize) -> f64 {
        self.rows[i].return_bps
    }
}

impl Snapshot {
    /// Train and validation indices: validation is the newest `val_fraction` of the rows; training
    /// ends `purge_ms` before validation's first bar, so no training label's horizon or window
    /// overlaps a validation window (DESIGN.md §6: purge ≥ H + T bars).
    pub fn purged_split(&self, val_fraction: f64, purge_ms: i64) -> (Vec<usize>, Vec<usize>) {
        let n = self.rows.len();
        let n_val = ((n as f64) * val_fraction).round() as usize;
        let first_val = n.saturating_sub(n_val.max(1));
        let Some(val_start) = self.rows.get(first_val).map(|r| r.bar_close_time_ms) else {
            return (Vec::new(), Vec::new());
        };
        let train = (0..first_val)
            .filter(|&i| self.rows[i].bar_close_time_ms <= val_start - purge_ms)
            .collect();
        (train, (first_val..n).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Exchange, Symbol};

    fn row(t: i64, sym: &str) -> Arc<Labelled> {
        Arc::new(Labelled {
            exchange: Exchange::BinanceFutures,
            symbol: Symbol::try_from(sym.to_string()).unwrap(),
            bar_close_time_ms: t,
            data: vec![t as f32],
            profitable: t % 2 == 0,
            return_bps: t as f64,
            trailing_return_bps: 0.0,
        })
    }

    #[test]
    fn the_buffer_keeps_the_last_arrivals_and_snapshots_in_time_order() {
        let mut b = Buffer::new(3);
        for (t, s) in [(5, "B"), (4, "A"), (6, "A"), (7, "B")] {
            b.push(row(t, s));
        }
        let snap = b.snapshot(1, 1);
        let ts: Vec<i64> = snap.rows.iter().map(|r| r.bar_close_time_ms).collect();
        assert_eq!(ts, [4, 6, 7], "(5, B) arrived first and left first");
    }

    #[test]
    fn the_split_purges_the_gap_before_validation() {
        let mut b = Buffer::new(100);
        for t in 0..20 {
            b.push(row(t * 10, "A"));
        }
        let snap = b.snapshot(1, 1);
        let (train, val) = snap.purged_split(0.25, 30);
        assert_eq!(val, (15..20).collect::<Vec<_>>());
        // Validation starts at t = 150; training ends at or before 120.
        assert_eq!(train, (0..=12).collect::<Vec<_>>());
        let last_train = snap.rows[*train.last().unwrap()].bar_close_time_ms;
        assert!(last_train <= 150 - 30);
    }
}
