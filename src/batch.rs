//! `MicroBatcher`: groups windows for one model call.
//!
//! Rules (tested with proptest below): a batch is emitted when it holds `max_batch` items, or by
//! `poll(now)` once `now ≥ first_item_time + max_wait` (the deadline starts at the batch's first
//! item, not at the last), or by `flush()` at end of stream. Items keep their order and each is
//! emitted exactly once. Time is whatever clock the caller passes: event time in replay (so a
//! replay batches identically on every run), wall time live. No clock is read here.
//!
//! ```
//! use signal_engine::batch::MicroBatcher;
//! let mut b = MicroBatcher::new(3, 10); // at most 3 items, at most 10 time units after the first
//! assert_eq!(b.push("a", 100), None);
//! assert_eq!(b.poll(109), None); // not due yet
//! assert_eq!(b.poll(110), Some(vec!["a"])); // due: 10 after the first item
//! b.push("b", 200);
//! b.push("c", 201);
//! assert_eq!(b.push("d", 202), Some(vec!["b", "c", "d"])); // full
//! ```

#[derive(Debug)]
pub struct MicroBatcher<T> {
    max_batch: usize,
    max_wait: i64,
    items: Vec<T>,
    first_at: Option<i64>,
}

impl<T> MicroBatcher<T> {
    /// `max_wait` is in the unit of the `now` values the caller passes.
    pub fn new(max_batch: usize, max_wait: i64) -> Self {
        assert!(max_batch > 0, "max_batch must be > 0");
        Self {
            max_batch,
            max_wait,
            items: Vec::with_capacity(max_batch),
            first_at: None,
        }
    }

    /// When the pending batch is due, if any.
    pub fn deadline(&self) -> Option<i64> {
        self.first_at.map(|t| t.saturating_add(self.max_wait))
    }

    /// Emits the pending batch if its deadline has passed at `now`.
    pub fn poll(&mut self, now: i64) -> Option<Vec<T>> {
        match self.deadline() {
            Some(d) if now >= d => self.flush(),
            _ => None,
        }
    }

    /// Adds an item (call `poll(now)` first so a stale batch leaves before it); returns the batch
    /// if this item filled it.
    pub fn push(&mut self, item: T, now: i64) -> Option<Vec<T>> {
        if self.items.is_empty() {
            self.first_at = Some(now);
        }
        self.items.push(item);
        if self.items.len() >= self.max_batch {
            self.flush()
        } else {
            None
        }
    }

    /// Emits whatever is pending.
    pub fn flush(&mut self) -> Option<Vec<T>> {
        self.first_at = None;
        if self.items.is_empty() {
            None
        } else {
            Some(std::mem::replace(
                &mut self.items,
                Vec::with_capacity(self.max_batch),
            ))
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(max_batch: usize, max_wait: i64, gaps: &[i64]) -> Vec<Vec<(usize, i64)>> {
        let mut b = MicroBatcher::new(max_batch, max_wait);
        let (mut out, mut now) = (Vec::new(), 0i64);
        for (i, g) in gaps.iter().enumerate() {
            now += g;
            out.extend(b.poll(now));
            out.extend(b.push((i, now), now));
        }
        out.extend(b.flush());
        out
    }

    proptest! {
        #[test]
        fn every_item_once_in_order_and_within_limits(
            max_batch in 1usize..20,
            max_wait in 0i64..50,
            gaps in prop::collection::vec(0i64..30, 0..200),
        ) {
            let batches = run(max_batch, max_wait, &gaps);
            let flat: Vec<usize> = batches.iter().flatten().map(|x| x.0).collect();
            prop_assert_eq!(flat, (0..gaps.len()).collect::<Vec<_>>());
            for batch in &batches {
                prop_assert!(!batch.is_empty() && batch.len() <= max_batch);
                let (first, last) = (batch[0].1, batch[batch.len() - 1].1);
                // Nothing joins a batch after its deadline.
                prop_assert!(last - first < max_wait.max(1) || batch.len() == 1);
            }
        }
    }

    #[test]
    fn deadline_starts_at_first_item() {
        let mut b = MicroBatcher::new(10, 5);
        assert!(b.push('a', 100).is_none());
        assert!(b.push('b', 104).is_none());
        assert_eq!(b.deadline(), Some(105));
        assert!(b.poll(104).is_none());
        assert_eq!(b.poll(105), Some(vec!['a', 'b']));
        assert_eq!(b.deadline(), None);
        assert!(b.flush().is_none());
    }

    #[test]
    fn full_batch_leaves_at_once() {
        let mut b = MicroBatcher::new(2, 1_000);
        assert!(b.push(1, 0).is_none());
        assert_eq!(b.push(2, 0), Some(vec![1, 2]));
        assert!(b.is_empty());
    }
}
