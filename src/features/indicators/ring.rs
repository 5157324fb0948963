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
/// Bollinger Bands and the rolling z-score. These running sums drift by a rounding error per step
/// and are deliberately not re-added: TA-Lib's `BBANDS` keeps running sums too, and this one agrees
/// with it to the last bit on every golden row, 36,000 real bars in (tests/oracle.rs); re-summing
/// would part from it.
/// The variance is floored at 0 because the drift can leave it a hair negative on flat input.
/// The price of that parity: after a jump the residual stays in the sums, e.g. a 1000× spike and
/// back leaves bands ~1e-3 wide around a flat 101 for good, in TA-Lib exactly as here (see the
/// edge-case golden). On real bars, where moves are small against the price, it is far below 1e-9.
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

/// Sum of the last `period` values, O(1) amortised per push, kept as close to the exactly rounded
/// window sum as a running sum can be, for two reasons. Drift: a plain `sum -= old; sum += new`
/// makes one rounding error per step, and once a large value has left the window those errors
/// can dwarf what remains (a flat window after a jump would read 1e-16, not 0). Conditioning:
/// callers such as the VWAP deviation `close / (Σq / Σv) − 1` magnify a last-bit difference in a
/// sum by 1/|result|, so only sums that round like `math.fsum` reproduce their goldens to 1e-9.
///
/// So the sum is compensated (Neumaier: each add's rounding error is recovered exactly and kept
/// in a second term), which makes `sum + comp` the exactly rounded window sum except within
/// ~1e-30 relative of a rounding tie; and it is re-added from the ring (compensated as well)
/// every `period` pushes and whenever it has fallen below 1/1000 of the largest |sum| since the
/// last re-sum, so even the compensation's own error cannot pile up over a long run or survive
/// a jump leaving the window. Those O(period) re-sums are amortised over `period` pushes or need
/// a 1000× fall of the window sum. Values are clamped to ±`f64::MAX / (period + 1)` on entry so
/// the sum cannot overflow.
#[derive(Clone, Debug)]
pub struct RollingSum {
    ring: Ring<f64>,
    sum: f64,
    comp: f64,
    peak: f64,
    since_resum: usize,
    limit: f64,
}

/// Neumaier's step: `sum + x` rounded, with the rounding error added to `comp`.
fn add_compensated(sum: &mut f64, comp: &mut f64, x: f64) {
    let t = *sum + x;
    *comp += if sum.abs() >= x.abs() {
        (*sum - t) + x
    } else {
        (x - t) + *sum
    };
    *sum = t;
}

impl RollingSum {
    pub fn new(period: usize) -> Self {
        Self {
            ring: Ring::new(period),
            sum: 0.0,
            comp: 0.0,
            peak: 0.0,
            since_resum: 0,
            limit: f64::MAX / (period as f64 + 1.0),
        }
    }

    /// Adds `x`; once `period` values are in, returns the sum of the last `period` values.
    pub fn push(&mut self, x: f64) -> Option<f64> {
        let x = x.clamp(-self.limit, self.limit);
        if let Some(old) = self.ring.push(x) {
            add_compensated(&mut self.sum, &mut self.comp, -old);
        }
        add_compensated(&mut self.sum, &mut self.comp, x);
        self.since_resum += 1;
        let total = self.sum + self.comp;
        self.peak = self.peak.max(total.abs());
        if self.since_resum >= self.ring.capacity() || total.abs() < self.peak * 1e-3 {
            (self.sum, self.comp) = (0.0, 0.0);
            for &v in self.ring.iter() {
                add_compensated(&mut self.sum, &mut self.comp, v);
            }
            self.peak = (self.sum + self.comp).abs();
            self.since_resum = 0;
        }
        self.ring.is_full().then_some(self.sum + self.comp)
    }

    pub fn period(&self) -> usize {
        self.ring.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_sum_returns_to_exact_zero_after_a_jump_leaves() {
        let mut s = RollingSum::new(3);
        for x in [0.1, 1e12, 0.3, 0.0, 0.0] {
            s.push(x);
        }
        assert_eq!(s.push(0.0), Some(0.0));
        assert_eq!(s.push(0.7), Some(0.7));
    }

    /// The sum rounded once, as Python's `math.fsum`: exact here via i128 fixed point (every
    /// input is a multiple of 2^-82 below 2^31).
    fn exactly_rounded_sum(xs: &[f64]) -> f64 {
        let scale = 2f64.powi(82);
        let fixed: i128 = xs.iter().map(|&x| (x * scale) as i128).sum();
        fixed as f64 / scale
    }

    #[test]
    fn rolling_sum_matches_a_fresh_sum_over_many_pushes() {
        let mut s = RollingSum::new(20);
        let xs: Vec<f64> = (0..50_000u64)
            .map(|i| {
                let u = (i.wrapping_mul(2_654_435_761) % 1_000_003) as f64 / 1_000_003.0;
                if i % 997 == 0 { u * 1e9 } else { u * 1e-3 }
            })
            .collect();
        for (i, &x) in xs.iter().enumerate() {
            let got = s.push(x);
            if i >= 19 {
                let exact: f64 = xs[i - 19..=i].iter().sum();
                let got = got.unwrap_or(f64::NAN);
                assert!(
                    (got - exact).abs() <= 1e-11 * exact.abs(),
                    "{i}: {got} vs {exact}"
                );
                assert_eq!(got, exactly_rounded_sum(&xs[i - 19..=i]), "bar {i}");
            }
        }
    }

    #[test]
    fn rolling_sum_cannot_overflow() {
        let mut s = RollingSum::new(4);
        for _ in 0..10 {
            assert!(s.push(f64::MAX).is_none_or(f64::is_finite));
        }
    }

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
