//! Classification metrics computed here, not taken on faith: ROC AUC by the rank-sum
//! (Mann–Whitney) formula with tied scores averaged, and accuracy / precision / recall at a
//! threshold.

use crate::registry::manifest::Scores;

/// ROC AUC of `scores` for binary `labels`; 0.5 when one class is absent.
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

/// Scores of probabilities `p` against `labels` at `threshold`; `returns` (predicted, actual) in bps
/// for the MAE when given.
pub fn score(
    p: &[f64],
    labels: &[bool],
    threshold: f64,
    returns: Option<(&[f64], &[f64])>,
) -> Scores {
    let (mut tp, mut fp, mut tn, mut fn_) = (0usize, 0usize, 0usize, 0usize);
    for (&pi, &l) in p.iter().zip(labels) {
        match (pi >= threshold, l) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, false) => tn += 1,
            (false, true) => fn_ += 1,
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    Scores {
        auc: roc_auc(p, labels),
        accuracy: ratio(tp + tn, labels.len()),
        precision: ratio(tp, tp + fp),
        recall: ratio(tp, tp + fn_),
        return_mae_bps: returns.map(|(pred, actual)| {
            pred.iter()
                .zip(actual)
                .map(|(a, b)| (a - b).abs())
                .sum::<f64>()
                / actual.len().max(1) as f64
        }),
    }
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
        let s = score(
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
}
