//! Test-split evaluation computed here, not taken on faith, each metric pinned to the
//! scikit-learn 1.7.2 function it reproduces (`tests/metrics_oracle.rs` checks them against
//! `scripts/make_metrics_golden.py`'s output): ranking (ROC AUC, average precision), threshold
//! metrics and the confusion matrix, probabilistic losses (log loss, Brier), the calibration table
//! (in [`super::calibration`]) and the return head's errors.
//!
//! All functions are pure and total: degenerate inputs (empty, one class absent) get documented
//! finite values where sklearn would raise, so a report can always be written.

use serde::{Deserialize, Serialize};

use super::calibration::{CalibrationBin, calibration_bins};

/// Confusion matrix at a threshold: a prediction is positive when `p >= threshold`.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Confusion {
    pub tp: usize,
    pub fp: usize,
    pub tn: usize,
    /// False negatives (`fn` is a Rust keyword; serialised as `"fn"`).
    #[serde(rename = "fn")]
    pub fn_: usize,
}

/// Everything the report says about one set of predictions on the test split.
///
/// Degenerate cases, where sklearn raises instead: with no samples every ratio and loss is 0 and
/// `roc_auc` is 0.5; with one class absent `roc_auc` is 0.5 and `pr_auc` is what sklearn returns
/// (0 without positives, 1 without negatives).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Evaluation {
    /// Number of samples.
    pub n: usize,
    /// Number of positive labels.
    pub positives: usize,
    /// (tp + tn) / n: `accuracy_score(y, p >= threshold)`.
    pub accuracy: f64,
    /// [`roc_auc`]: `roc_auc_score(y, p)`.
    pub roc_auc: f64,
    /// [`average_precision`]: `average_precision_score(y, p)` (step-wise, not trapezoidal).
    pub pr_auc: f64,
    /// tp / (tp + fp): `precision_score(y, p >= threshold, zero_division=0)`.
    pub precision: f64,
    /// tp / (tp + fn): `recall_score(y, p >= threshold, zero_division=0)`.
    pub recall: f64,
    /// 2·tp / (2·tp + fp + fn): `f1_score(y, p >= threshold, zero_division=0)`.
    pub f1: f64,
    /// [`confusion`] at the threshold.
    pub confusion: Confusion,
    /// [`log_loss`]: `log_loss(y, p, labels=[0, 1])`.
    pub log_loss: f64,
    /// [`brier`]: `brier_score_loss(y, p)`.
    pub brier: f64,
    /// [`calibration_bins`]: always 10 uniform bins; see [`CalibrationBin`].
    pub calibration: Vec<CalibrationBin>,
    /// Mean |predicted − realized| return in bps (`mean_absolute_error`); `None` without returns.
    pub return_mae_bps: Option<f64>,
    /// Mean (predicted − realized)² in bps² (`mean_squared_error`); `None` without returns.
    pub return_mse_bps2: Option<f64>,
}

/// Evaluates probabilities `p` against `labels` at `threshold`; `returns` = (predicted_bps,
/// realized_bps) for the return head's errors when given.
///
/// `p` should hold finite probabilities in [0, 1] (as sklearn requires); they are not clipped
/// except inside [`log_loss`]. A NaN in `p` does not panic or hang, but it makes the losses and
/// its calibration bin's mean NaN (which JSON cannot carry), so callers pass model outputs.
///
/// # Panics
/// When `labels` or either return slice is not as long as `p` (a caller bug, not a data error).
pub fn evaluate(
    p: &[f64],
    labels: &[bool],
    threshold: f64,
    returns: Option<(&[f64], &[f64])>,
) -> Evaluation {
    assert_eq!(
        p.len(),
        labels.len(),
        "evaluate: p and labels differ in length"
    );
    if let Some((pred, real)) = returns {
        assert!(
            pred.len() == p.len() && real.len() == p.len(),
            "evaluate: return slices differ in length from p"
        );
    }
    let c = confusion(p, labels, threshold);
    let (precision, recall) = (ratio(c.tp, c.tp + c.fp), ratio(c.tp, c.tp + c.fn_));
    Evaluation {
        n: p.len(),
        positives: c.tp + c.fn_,
        accuracy: ratio(c.tp + c.tn, p.len()),
        roc_auc: roc_auc(p, labels),
        pr_auc: average_precision(p, labels),
        precision,
        recall,
        f1: ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn_),
        confusion: c,
        log_loss: log_loss(p, labels),
        brier: brier(p, labels),
        calibration: calibration_bins(p, labels),
        return_mae_bps: returns.map(|(pred, real)| mean_error(pred, real, f64::abs)),
        return_mse_bps2: returns.map(|(pred, real)| mean_error(pred, real, |d| d * d)),
    }
}

/// a / b, or 0 when b is 0 (sklearn's `zero_division=0`).
fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Mean of `f(pred − real)`; 0 for no samples.
fn mean_error(pred: &[f64], real: &[f64], f: impl Fn(f64) -> f64) -> f64 {
    let sum: f64 = pred.iter().zip(real).map(|(a, b)| f(a - b)).sum();
    sum / real.len().max(1) as f64
}

/// Confusion matrix of `p >= threshold` against `labels` (sklearn `confusion_matrix`).
pub fn confusion(p: &[f64], labels: &[bool], threshold: f64) -> Confusion {
    let mut c = Confusion::default();
    for (&pi, &l) in p.iter().zip(labels) {
        match (pi >= threshold, l) {
            (true, true) => c.tp += 1,
            (true, false) => c.fp += 1,
            (false, false) => c.tn += 1,
            (false, true) => c.fn_ += 1,
        }
    }
    c
}

/// ROC AUC of `scores` for binary `labels` by the rank-sum (Mann–Whitney) formula with tied scores
/// given their average rank, which equals sklearn `roc_auc_score`; 0.5 when one class is absent
/// (sklearn raises).
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> f64 {
    let n_pos = labels.iter().filter(|&&l| l).count();
    let n_neg = labels.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return 0.5;
    }
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum_pos += avg_rank * idx[i..=j].iter().filter(|&&k| labels[k]).count() as f64;
        i = j + 1;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    (rank_sum_pos - p * (p + 1.0) / 2.0) / (p * n)
}

/// Average precision, sklearn `average_precision_score`: Σₖ (Rₖ − Rₖ₋₁)·Pₖ over the distinct
/// score thresholds in decreasing order, where a threshold admits *all* samples tied at that
/// score at once (ties are one step of the precision–recall curve, not interpolated).
/// 0 when there are no positives (sklearn's value, with a warning); 1 when all are positive.
pub fn average_precision(scores: &[f64], labels: &[bool]) -> f64 {
    let n_pos = labels.iter().filter(|&&l| l).count();
    if n_pos == 0 {
        return 0.0;
    }
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut prev_tp, mut ap) = (0usize, 0usize, 0.0);
    let mut i = 0;
    while i < idx.len() {
        // One step per distinct score; j > i even for a NaN score (NaN != NaN).
        let mut j = i + 1;
        while j < idx.len() && scores[idx[j]] == scores[idx[i]] {
            j += 1;
        }
        tp += idx[i..j].iter().filter(|&&k| labels[k]).count();
        ap += (tp - prev_tp) as f64 / n_pos as f64 * (tp as f64 / j as f64);
        prev_tp = tp;
        i = j;
    }
    ap
}

/// Mean negative log-likelihood, sklearn `log_loss(labels, p, labels=[0, 1])`: the probability of
/// the true class (p, or 1 − p computed first) is clipped to [ε, 1 − ε] with ε = `f64::EPSILON`
/// (sklearn 1.7 uses `np.finfo(y_pred.dtype).eps`), so p = 0 or 1 gives a finite loss (≈ 36.04
/// when wrong). 0 for no samples.
pub fn log_loss(p: &[f64], labels: &[bool]) -> f64 {
    let eps = f64::EPSILON;
    let sum: f64 = p
        .iter()
        .zip(labels)
        .map(|(&pi, &l)| -(if l { pi } else { 1.0 - pi }).clamp(eps, 1.0 - eps).ln())
        .sum();
    sum / p.len().max(1) as f64
}

/// Brier score, sklearn `brier_score_loss(labels, p)`: mean (p − y)². 0 for no samples.
pub fn brier(p: &[f64], labels: &[bool]) -> f64 {
    let sum: f64 = p
        .iter()
        .zip(labels)
        .map(|(&pi, &l)| (pi - f64::from(u8::from(l))).powi(2))
        .sum();
    sum / p.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_known_values() {
        // sklearn.metrics.roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
        let auc = roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]);
        assert!((auc - 0.75).abs() < 1e-12);
        // Ties count half: all scores equal gives 0.5.
        assert_eq!(roc_auc(&[0.3; 4], &[false, true, false, true]), 0.5);
        assert_eq!(roc_auc(&[1.0, 0.0], &[true, false]), 1.0);
    }

    #[test]
    fn threshold_metrics() {
        let s = evaluate(
            &[0.9, 0.6, 0.4, 0.1],
            &[true, false, true, false],
            0.5,
            None,
        );
        assert_eq!(s.accuracy, 0.5);
        assert_eq!(s.precision, 0.5);
        assert_eq!(s.recall, 0.5);
        assert!(s.return_mae_bps.is_none());
    }

    #[test]
    fn average_precision_known_values() {
        // sklearn.metrics.average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
        // == 0.8333333333333333 (1·½ + ⅔·½).
        let ap = average_precision(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]);
        assert!((ap - 5.0 / 6.0).abs() < 1e-15);
        // All tied: one step, precision = prevalence.
        assert_eq!(
            average_precision(&[0.3; 4], &[false, true, false, false]),
            0.25
        );
        assert_eq!(average_precision(&[0.3, 0.2], &[false, false]), 0.0);
        assert_eq!(average_precision(&[0.3, 0.2], &[true, true]), 1.0);
        // A NaN score is its own step: no endless loop.
        assert!(average_precision(&[f64::NAN, 0.2, f64::NAN], &[true, false, true]).is_finite());
    }

    #[test]
    fn one_class_absent() {
        let e = evaluate(&[0.2, 0.7], &[false, false], 0.5, None);
        assert_eq!(e.roc_auc, 0.5);
        assert_eq!(e.pr_auc, 0.0);
        assert_eq!((e.precision, e.recall, e.f1), (0.0, 0.0, 0.0));
        assert_eq!(
            e.confusion,
            Confusion {
                tp: 0,
                fp: 1,
                tn: 1,
                fn_: 0
            }
        );
    }

    #[test]
    fn empty_input_is_finite() {
        let e = evaluate(&[], &[], 0.5, Some((&[], &[])));
        assert_eq!((e.n, e.positives), (0, 0));
        assert_eq!((e.accuracy, e.roc_auc, e.pr_auc), (0.0, 0.5, 0.0));
        assert_eq!((e.log_loss, e.brier), (0.0, 0.0));
        assert_eq!(
            (e.return_mae_bps, e.return_mse_bps2),
            (Some(0.0), Some(0.0))
        );
        assert_eq!(e.calibration.len(), 10);
        assert!(serde_json::to_string(&e).is_ok());
    }

    #[test]
    fn log_loss_clips_certain_predictions() {
        // Right and certain: -ln(1 - ε); wrong and certain: -ln(ε) ≈ 36.04.
        let right = log_loss(&[1.0, 0.0], &[true, false]);
        assert_eq!(right, -(1.0 - f64::EPSILON).ln());
        let wrong = log_loss(&[0.0, 1.0], &[true, false]);
        assert_eq!(wrong, -f64::EPSILON.ln());
        assert!((wrong - 36.04365338911715).abs() < 1e-12);
    }

    #[test]
    fn return_errors_and_serde() {
        let e = evaluate(
            &[0.9, 0.1],
            &[true, false],
            0.5,
            Some((&[10.0, -5.0], &[7.0, -1.0])),
        );
        assert_eq!(e.return_mae_bps, Some(3.5));
        assert_eq!(e.return_mse_bps2, Some(12.5));
        assert_eq!(e.f1, 1.0);
        let json = serde_json::to_string(&e).expect("serialise");
        assert!(json.contains(r#""fn":0"#));
        let back: Evaluation = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, e);
    }
}
