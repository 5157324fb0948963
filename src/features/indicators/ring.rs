//! A fixed-capacity ring whose `push` returns the evicted value, for O(1) rolling sums.

#[derive(Clone, Debug)]
pub struct Ring<T> {
    buf: Vec<T>,
    cap: usize,
    head: usize,
}

impl<T: Copy> Ring<T> {
    pub fn new(cap: usize) -> Self {
        assert!(cap > 0, "ring capacity must be > 0");
        Self {
            buf: Vec::with_capacity(cap),
            cap,
            head: 0,
        }
    }

    /// Appends `v`; once full, overwrites and returns the oldest value.
    pub fn push(&mut self, v: T) -> Option<T> {
        if self.buf.len() < self.cap {
            self.buf.push(v);
            None
        } else {
            let old = std::mem::replace(&mut self.buf[self.head], v);
            self.head = (self.head + 1) % self.cap;
            Some(old)
        }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.buf.len() == self.cap
    }

    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// The value pushed `k` pushes ago (`k = 0` is the newest).
    pub fn back(&self, k: usize) -> Option<T> {
        let n = self.buf.len();
        if k >= n {
            return None;
        }
        let newest = if n < self.cap {
            n - 1
        } else {
            (self.head + self.cap - 1) % self.cap
        };
        Some(self.buf[(newest + self.cap - k) % self.cap])
    }

    /// Values from oldest to newest.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        let (a, b) = if self.buf.len() < self.cap {
            (&self.buf[..], &self.buf[..0])
        } else {
            let (x, y) = self.buf.split_at(self.head);
            (y, x)
        };
        a.iter().chain(b.iter())
    }

    pub fn clear(&mut self) {
        self.buf.clear();
        self.head = 0;
    }
}

/// Sum and sum of squares over the last `period` values, O(1) per push: the shared core of
/// Bollinger Bands and the rolling z-score.
#[derive(Clone, Debug)]
pub struct RollingMoments {
    ring: Ring<f64>,
    sum: f64,
    sum_sq: f64,
}

impl RollingMoments {
    pub fn new(period: usize) -> Self {
        Self {
            ring: Ring::new(period),
            sum: 0.0,
            sum_sq: 0.0,
        }
    }

    /// Adds `x`; once `period` values are in, returns their (mean, population σ).
    pub fn push(&mut self, x: f64) -> Option<(f64, f64)> {
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
        // Rolling sums can leave a tiny negative variance on flat input.
        let sd = (self.sum_sq / n - mean * mean).max(0.0).sqrt();
        Some((mean, sd))
    }

    pub fn period(&self) -> usize {
        self.ring.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_evicts_oldest_and_iterates_in_order() {
        let mut r = Ring::new(3);
        assert_eq!(r.push(1), None);
        assert_eq!(r.push(2), None);
        assert_eq!(r.push(3), None);
        assert_eq!(r.push(4), Some(1));
        assert_eq!(r.iter().copied().collect::<Vec<_>>(), vec![2, 3, 4]);
        assert_eq!(r.back(0), Some(4));
        assert_eq!(r.back(2), Some(2));
        assert_eq!(r.back(3), None);
        r.clear();
        assert!(r.is_empty());
    }
}
