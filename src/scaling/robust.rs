//! `RobustScaler`: center = median, scale = IQR (25–75 by default), scale 1 where the IQR is 0
//! (below 10 ε, as scikit-learn's `_handle_zeros_in_scale`), clip to ±`clip`. Quantiles use linear interpolation between order statistics, exactly as
//! `numpy.percentile` (and so scikit-learn) does; the JSON uses scikit-learn's names
//! (`center_`, `scale_`, `quantile_range`, `feature_names_in_`, `n_features_in_`).

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum ScalerError {
    #[error("cannot fit a scaler on zero rows")]
    NoRows,
    #[error("row {row} has {got} values; expected {expected}")]
    RowWidth {
        row: usize,
        got: usize,
        expected: usize,
    },
    #[error("feature {0:?} has a non-finite value in the fitting data")]
    NonFinite(String),
    #[error("scaler JSON is inconsistent: {0}")]
    Inconsistent(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobustScaler {
    pub center_: Vec<f64>,
    pub scale_: Vec<f64>,
    pub quantile_range: (f64, f64),
    pub feature_names_in_: Vec<String>,
    pub n_features_in_: usize,
    /// Scaled values are clipped to ±clip (not a scikit-learn attribute).
    pub clip: f64,
}

/// `numpy.percentile(values, q)` with the default linear method; `sorted` must be ascending.
pub fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 1 {
        return sorted[0];
    }
    let pos = q / 100.0 * (n - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

impl RobustScaler {
    /// Fits on `rows` (each one value per name). Non-finite input is an error, not skipped.
    pub fn fit(names: &[String], rows: &[Vec<f64>], clip: f64) -> Result<Self, ScalerError> {
        if rows.is_empty() {
            return Err(ScalerError::NoRows);
        }
        let nf = names.len();
        if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != nf) {
            return Err(ScalerError::RowWidth {
                row: i,
                got: r.len(),
                expected: nf,
            });
        }
        let (q_lo, q_hi) = (25.0, 75.0);
        let mut center = Vec::with_capacity(nf);
        let mut scale = Vec::with_capacity(nf);
        let mut col = Vec::with_capacity(rows.len());
        for (j, name) in names.iter().enumerate() {
            col.clear();
            col.extend(rows.iter().map(|r| r[j]));
            if col.iter().any(|v| !v.is_finite()) {
                return Err(ScalerError::NonFinite(name.clone()));
            }
            col.sort_by(f64::total_cmp);
            center.push(percentile_sorted(&col, 50.0));
            let iqr = percentile_sorted(&col, q_hi) - percentile_sorted(&col, q_lo);
            // scikit-learn's `_handle_zeros_in_scale`: a scale below 10 ε is treated as 0.
            scale.push(if iqr < 10.0 * f64::EPSILON { 1.0 } else { iqr });
        }
        Ok(Self {
            center_: center,
            scale_: scale,
            quantile_range: (q_lo, q_hi),
            feature_names_in_: names.to_vec(),
            n_features_in_: nf,
            clip,
        })
    }

    /// Checks a deserialised scaler against itself and the expected feature names.
    pub fn validate(&self, expected_names: &[String]) -> Result<(), ScalerError> {
        let n = self.n_features_in_;
        if self.center_.len() != n || self.scale_.len() != n || self.feature_names_in_.len() != n {
            return Err(ScalerError::Inconsistent(format!(
                "n_features_in_ = {n} but center_/scale_/feature_names_in_ have {}/{}/{} entries",
                self.center_.len(),
                self.scale_.len(),
                self.feature_names_in_.len()
            )));
        }
        if self.feature_names_in_ != expected_names {
            return Err(ScalerError::Inconsistent(format!(
                "feature_names_in_ {:?} differ from the feature spec {:?}",
                self.feature_names_in_, expected_names
            )));
        }
        let bad = |v: &f64| !v.is_finite();
        if self.center_.iter().any(bad) || self.scale_.iter().any(|s| bad(s) || *s <= 0.0) {
            return Err(ScalerError::Inconsistent(
                "center_ must be finite and scale_ finite and > 0".into(),
            ));
        }
        if !(self.clip.is_finite() && self.clip > 0.0) {
            return Err(ScalerError::Inconsistent(format!(
                "clip = {} must be > 0",
                self.clip
            )));
        }
        Ok(())
    }

    /// Scales one row into `out`; returns true when any value was clipped.
    pub fn transform_into(&self, row: &[f64], out: &mut Vec<f32>) -> bool {
        out.clear();
        let mut clipped = false;
        for ((x, c), s) in row.iter().zip(&self.center_).zip(&self.scale_) {
            let z = (x - c) / s;
            let zc = z.clamp(-self.clip, self.clip);
            clipped |= zc != z;
            out.push(zc as f32);
        }
        clipped
    }

    pub fn transform(&self, row: &[f64]) -> (Vec<f32>, bool) {
        let mut out = Vec::with_capacity(row.len());
        let clipped = self.transform_into(row, &mut out);
        (out, clipped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("f{i}")).collect()
    }

    #[test]
    fn percentile_matches_numpy_linear() {
        // numpy.percentile([1, 2, 3, 4], [25, 50, 75]) == [1.75, 2.5, 3.25]
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile_sorted(&v, 25.0), 1.75);
        assert_eq!(percentile_sorted(&v, 50.0), 2.5);
        assert_eq!(percentile_sorted(&v, 75.0), 3.25);
    }

    #[test]
    fn constant_feature_gets_scale_one_and_clip_is_flagged() {
        let rows: Vec<Vec<f64>> = (0..10).map(|i| vec![5.0, i as f64]).collect();
        let s = RobustScaler::fit(&names(2), &rows, 3.0).unwrap();
        assert_eq!(s.scale_[0], 1.0);
        assert_eq!(s.center_[1], 4.5);
        let (out, clipped) = s.transform(&[5.0, 4.5]);
        assert_eq!(out, vec![0.0, 0.0]);
        assert!(!clipped);
        let (out, clipped) = s.transform(&[5.0, 1000.0]);
        assert_eq!(out[1], 3.0);
        assert!(clipped);
    }

    #[test]
    fn iqr_below_ten_epsilon_is_zero_as_in_sklearn() {
        // numpy: IQR of [0, 0, 1e-15, 1e-15] is 1e-15 < 10 ε -> sklearn's scale_ is 1.
        let rows: Vec<Vec<f64>> = [0.0, 0.0, 1e-15, 1e-15].map(|v| vec![v]).to_vec();
        assert_eq!(
            RobustScaler::fit(&names(1), &rows, 10.0).unwrap().scale_[0],
            1.0
        );
        let rows: Vec<Vec<f64>> = [0.0, 0.0, 1e-13, 1e-13].map(|v| vec![v]).to_vec();
        assert_eq!(
            RobustScaler::fit(&names(1), &rows, 10.0).unwrap().scale_[0],
            1e-13
        );
    }

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(
            RobustScaler::fit(&names(1), &[], 10.0),
            Err(ScalerError::NoRows)
        ));
        assert!(matches!(
            RobustScaler::fit(&names(2), &[vec![1.0]], 10.0),
            Err(ScalerError::RowWidth { .. })
        ));
        assert!(matches!(
            RobustScaler::fit(&names(1), &[vec![f64::NAN]], 10.0),
            Err(ScalerError::NonFinite(_))
        ));
    }

    #[test]
    fn json_uses_sklearn_names_and_round_trips() {
        let rows: Vec<Vec<f64>> = (0..7).map(|i| vec![i as f64 * 1.5]).collect();
        let s = RobustScaler::fit(&names(1), &rows, 10.0).unwrap();
        let j = serde_json::to_value(&s).unwrap();
        for k in [
            "center_",
            "scale_",
            "quantile_range",
            "feature_names_in_",
            "n_features_in_",
        ] {
            assert!(j.get(k).is_some(), "missing {k}");
        }
        let back: RobustScaler = serde_json::from_value(j).unwrap();
        assert_eq!(back, s);
        back.validate(&names(1)).unwrap();
        assert!(back.validate(&names(2)).is_err());
    }
}
