//! The baselines the test report sets beside the model, so that a metric means something: each
//! is fitted on the training rows only and predicts `(p_profitable, expected_return_bps)` for the
//! test rows, to be scored with the same [`super::metrics::evaluate`] as the model.
//!
//! * [`majority`]: knows nothing but the training labels' base rate and mean return.
//! * [`logistic`]: a linear model of the last time step's features (what the network sees at its
//!   final step, without the history).
//! * [`momentum`]: a one-number trend rule on the trailing return.

use super::linear::{FitError, check_finite, fit_linear};
use super::logistic::{LogisticOptions, fit_logistic};

/// Per test row: (p_profitable, expected_return_bps).
pub type Predictions = (Vec<f64>, Vec<f64>);

/// Constant prediction: p = the training split's positive rate and expected return = its mean
/// return (bps) for each of the `n_test` rows. Its ROC AUC is 0.5 by construction; what it
/// scores on log loss / Brier / return MAE is what "knowing only the base rate" is worth.
/// An empty training split gives p = 0 and return 0.
pub fn majority(train_labels: &[bool], train_returns: &[f64], n_test: usize) -> Predictions {
    let rate = |num: f64, n: usize| num / n.max(1) as f64;
    let pos = train_labels.iter().filter(|&&l| l).count() as f64;
    let p = rate(pos, train_labels.len());
    let r = rate(train_returns.iter().sum(), train_returns.len());
    (vec![p; n_test], vec![r; n_test])
}

/// Linear baseline on the last time step's features (already scaled, as the model sees them;
/// row-major, `n_features` per row): p from sklearn-equivalent
/// `LogisticRegression(C=1.0, class_weight="balanced")` of the training labels `train_y`,
/// expected return from `Ridge(alpha=1.0)` of the training returns `train_r` (bps). Balanced
/// class weights keep p centred on 0.5 rather than on the base rate, like the model's training.
pub fn logistic(
    train_x: &[f64],
    train_y: &[bool],
    train_r: &[f64],
    test_x: &[f64],
    n_features: usize,
) -> Result<Predictions, FitError> {
    let opts = LogisticOptions {
        c: 1.0,
        balanced: true,
    };
    let clf = fit_logistic(train_x, n_features, train_y, opts)?;
    let reg = fit_linear(train_x, n_features, train_r, 1.0)?;
    Ok((clf.predict_proba(test_x)?, reg.predict(test_x)?))
}

/// Trend-following baseline on one number per row, `score` = the trailing return over the last
/// k = min(H, T−1) bars, ln(close_t / close_{t−k}) in bps (`Dataset::trailing_return_bps`: bars
/// inside the window, known at bar t). p = class-balanced `LogisticRegression(C=1.0)` of the
/// training labels on the score standardised with the training rows' mean and standard deviation
/// (sklearn `StandardScaler`, so the fit does not depend on the score's unit: on raw log returns
/// of ~1e-3, C = 1's penalty would flatten every p to 0.5). p is monotone
/// in the trailing return: with a positive slope it is the rule "go long when recent momentum is
/// up", calibrated on train (a negative slope means the training split rewarded reversal, and
/// the rule follows it). Expected return = ordinary least squares (`LinearRegression()`) of the
/// realized training return (bps) on the raw score.
pub fn momentum(
    train_score: &[f64],
    train_y: &[bool],
    train_r: &[f64],
    test_score: &[f64],
) -> Result<Predictions, FitError> {
    check_finite("train_score", train_score)?;
    check_finite("test_score", test_score)?;
    let opts = LogisticOptions {
        c: 1.0,
        balanced: true,
    };
    let (mean, scale) = standardiser(train_score);
    let z = |s: &[f64]| -> Vec<f64> { s.iter().map(|v| (v - mean) / scale).collect() };
    let clf = fit_logistic(&z(train_score), 1, train_y, opts)?;
    let reg = fit_linear(train_score, 1, train_r, 0.0)?;
    Ok((clf.predict_proba(&z(test_score))?, reg.predict(test_score)?))
}

/// Mean and population standard deviation (sklearn `StandardScaler`; a zero deviation becomes 1,
/// as there). Empty input gives (0, 1); the fit after it reports the emptiness.
fn standardiser(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    (mean, if sd > 0.0 { sd } else { 1.0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_is_the_base_rate() {
        let (p, r) = majority(&[true, false, false, false], &[10.0, -2.0, -2.0, -2.0], 3);
        assert_eq!(p, vec![0.25; 3]);
        assert_eq!(r, vec![1.0; 3]);
        assert_eq!(majority(&[], &[], 2), (vec![0.0; 2], vec![0.0; 2]));
    }

    #[test]
    fn momentum_is_monotone_in_the_score() {
        let score = [-0.02, -0.01, -0.005, 0.0, 0.004, 0.01, 0.02, 0.03];
        let y = [false, false, true, false, true, false, true, true];
        let r = [-30.0, -10.0, 5.0, -2.0, 4.0, -1.0, 12.0, 25.0];
        let test = [-0.05, 0.0, 0.05];
        let (p, er) = momentum(&score, &y, &r, &test).expect("fit");
        assert!(p[0] < p[1] && p[1] < p[2], "{p:?}");
        assert!(er[0] < er[1] && er[1] < er[2], "{er:?}");
        assert!(momentum(&score, &y, &r, &[f64::NAN]).is_err());
        assert!(momentum(&score, &[true; 8], &r, &test).is_err());
    }

    #[test]
    fn logistic_shapes() {
        let x = [0.1, 1.0, -0.4, 0.3, 0.8, -1.2, -0.5, 0.2];
        let y = [true, false, true, false];
        let r = [3.0, -1.0, 2.0, 0.0];
        let (p, er) = logistic(&x, &y, &r, &x[..4], 2).expect("fit");
        assert_eq!((p.len(), er.len()), (2, 2));
        assert!(p.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(logistic(&x, &y, &r, &x[..3], 2).is_err());
    }
}
