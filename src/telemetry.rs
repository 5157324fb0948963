//! Latency measurement with hdrhistogram: record microseconds, report percentiles.

pub mod live;

use hdrhistogram::Histogram;
use serde::Serialize;

/// A latency histogram from 1 µs to 1 h at 3 significant figures.
#[derive(Clone, Debug)]
pub struct LatencyRecorder {
    hist: Histogram<u64>,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct LatencySummary {
    pub count: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
    pub mean_us: f64,
}

impl Default for LatencyRecorder {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyRecorder {
    pub fn new() -> Self {
        let hist = Histogram::new_with_bounds(1, 3_600_000_000, 3)
            .expect("constant histogram bounds are valid");
        Self { hist }
    }

    /// Records one value; values beyond the range are clamped to it.
    pub fn record(&mut self, us: u64) {
        self.hist.saturating_record(us.max(1));
    }

    /// How many values were recorded at or below each of `bounds_us` (ascending): the
    /// cumulative buckets of a Prometheus histogram, at the histogram's 3 significant figures.
    pub fn cumulative(&self, bounds_us: &[u64]) -> Vec<u64> {
        bounds_us
            .iter()
            .map(|b| self.hist.count_between(0, *b))
            .collect()
    }

    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// The sum of the values (from the histogram's mean: exact to its 3 significant figures).
    pub fn sum_us(&self) -> f64 {
        self.hist.mean() * self.hist.len() as f64
    }

    pub fn summary(&self) -> LatencySummary {
        let h = &self.hist;
        if h.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            count: h.len(),
            p50_us: h.value_at_quantile(0.50),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
            mean_us: h.mean(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut r = LatencyRecorder::new();
        for v in 1..=1000 {
            r.record(v);
        }
        let s = r.summary();
        assert_eq!(s.count, 1000);
        assert!((499..=501).contains(&s.p50_us), "{s:?}");
        assert!((989..=991).contains(&s.p99_us), "{s:?}");
        assert_eq!(s.max_us, 1000);
    }
}
