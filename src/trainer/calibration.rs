//! Reliability (calibration) table of predicted probabilities: 10 uniform bins over [0, 1], binned
//! exactly as scikit-learn 1.7.2 `calibration_curve(y, p, n_bins=10, strategy="uniform")` bins
//! them, so the non-empty bins reproduce its `(prob_true, prob_pred)` pairs.

use serde::{Deserialize, Serialize};

/// Number of bins in [`calibration_bins`]'s table.
pub const N_BINS: usize = 10;

/// One bin of the calibration table.
///
/// An empty bin (`count == 0`) has `None` for both means rather than NaN (not representable in
/// JSON) or a made-up 0 that would read as "perfectly calibrated at 0".
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CalibrationBin {
    /// Lower edge (`np.linspace(0, 1, 11)[i]`); exclusive except for the first bin.
    pub lo: f64,
    /// Upper edge (`np.linspace(0, 1, 11)[i + 1]`); inclusive.
    pub hi: f64,
    /// Number of predictions in the bin.
    pub count: usize,
    /// Mean predicted probability in the bin (sklearn's `prob_pred`); `None` when empty.
    pub mean_predicted: Option<f64>,
    /// Fraction of positive labels in the bin (sklearn's `prob_true`); `None` when empty.
    pub fraction_positive: Option<f64>,
}

/// The bin edges, bit for bit as `np.linspace(0.0, 1.0, 11)` computes them: `i * 0.1` with the
/// last edge set to exactly 1.0 (so the 4th edge is 0.30000000000000004, not 0.3).
pub fn bin_edges() -> [f64; N_BINS + 1] {
    let step = 1.0 / N_BINS as f64;
    let mut edges = [0.0; N_BINS + 1];
    for (i, e) in edges.iter_mut().enumerate() {
        *e = i as f64 * step;
    }
    edges[N_BINS] = 1.0;
    edges
}

/// Bin of probability `p`: sklearn's `np.searchsorted(bins[1:-1], p)` (side "left"), i.e. the
/// number of inner edges strictly below `p`. A `p` exactly on an inner edge therefore falls in the
/// bin *below* it (bins are `[0, 0.1]`, `(0.1, 0.2]`, …, `(0.9, 1]`). Values outside [0, 1]
/// (sklearn refuses them) land in the first or last bin.
pub fn bin_index(p: f64, edges: &[f64; N_BINS + 1]) -> usize {
    edges[1..N_BINS].iter().filter(|&&e| e < p).count()
}

/// The 10-bin calibration table of probabilities `p` against `labels` (same length).
///
/// Non-empty bins match scikit-learn `calibration_curve(labels, p, n_bins=10,
/// strategy="uniform")`: `fraction_positive` = its `prob_true`, `mean_predicted` = its
/// `prob_pred`, in bin order. All 10 bins are always returned; sklearn drops the empty ones.
pub fn calibration_bins(p: &[f64], labels: &[bool]) -> Vec<CalibrationBin> {
    let edges = bin_edges();
    let mut sum_p = [0.0; N_BINS];
    let mut pos = [0usize; N_BINS];
    let mut count = [0usize; N_BINS];
    for (&pi, &l) in p.iter().zip(labels) {
        let b = bin_index(pi, &edges);
        sum_p[b] += pi;
        pos[b] += usize::from(l);
        count[b] += 1;
    }
    (0..N_BINS)
        .map(|b| {
            let mean = |s: f64| (count[b] > 0).then(|| s / count[b] as f64);
            CalibrationBin {
                lo: edges[b],
                hi: edges[b + 1],
                count: count[b],
                mean_predicted: mean(sum_p[b]),
                fraction_positive: mean(pos[b] as f64),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_are_numpy_linspace() {
        let e = bin_edges();
        assert_eq!(e[0], 0.0);
        assert_eq!(e[3], 0.30000000000000004);
        assert_eq!(e[6], 0.6000000000000001);
        assert_eq!(e[10], 1.0);
    }

    #[test]
    fn points_on_an_edge_fall_in_the_bin_below() {
        let e = bin_edges();
        assert_eq!(bin_index(0.0, &e), 0);
        assert_eq!(bin_index(0.1, &e), 0);
        assert_eq!(bin_index(0.10000000000000002, &e), 1);
        // 0.3 is below the edge 0.30000000000000004, so it is in bin 2 (0.2, 0.3…].
        assert_eq!(bin_index(0.3, &e), 2);
        assert_eq!(bin_index(0.30000000000000004, &e), 2);
        assert_eq!(bin_index(1.0, &e), 9);
        assert_eq!(bin_index(-0.5, &e), 0);
        assert_eq!(bin_index(1.5, &e), 9);
    }

    #[test]
    fn empty_bins_have_no_means() {
        let bins = calibration_bins(&[0.05, 0.15, 0.95], &[false, true, true]);
        assert_eq!(bins.len(), N_BINS);
        assert_eq!(bins[0].count, 1);
        assert_eq!(bins[0].fraction_positive, Some(0.0));
        assert_eq!(bins[1].mean_predicted, Some(0.15));
        assert_eq!(bins[5].count, 0);
        assert_eq!(bins[5].mean_predicted, None);
        assert_eq!(bins[5].fraction_positive, None);
        assert!(calibration_bins(&[], &[]).iter().all(|b| b.count == 0));
    }
}
