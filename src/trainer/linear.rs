//! Linear least squares for the baselines' return heads: ridge / ordinary least squares with an
//! unpenalised intercept (scikit-learn `Ridge` / `LinearRegression`), plus what the linear models
//! of the trainer share: [`LinearModel`], [`FitError`], the input checks and a Cholesky solve of
//! the small (F ≤ ~64) normal / Hessian matrices, exact to rounding. Inputs are row-major `&[f64]`
//! with `n_features` columns; every shape, emptiness and finiteness problem is a [`FitError`],
//! never a panic.

/// Why a fit or a prediction was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error("no training rows")]
    Empty,
    #[error("n_features must be at least 1")]
    NoFeatures,
    #[error("{what}: length {got} does not fit {expected}")]
    Length {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("{what}: non-finite value at index {index}")]
    NonFinite { what: &'static str, index: usize },
    #[error("logistic regression needs both classes in the training labels")]
    OneClass,
    #[error("invalid parameter {what} = {value}")]
    Param { what: &'static str, value: f64 },
    #[error("singular system: a constant or collinear feature with no regularisation")]
    Singular,
    #[error("Newton's method did not converge in {0} iterations")]
    NoConvergence(usize),
}

/// A fitted linear model: `coef · x + intercept` (the logit for
/// [`fit_logistic`](super::logistic::fit_logistic)).
#[derive(Clone, Debug, PartialEq)]
pub struct LinearModel {
    pub coef: Vec<f64>,
    pub intercept: f64,
}

impl LinearModel {
    /// `coef · x + intercept` for each row of row-major `x`.
    pub fn predict(&self, x: &[f64]) -> Result<Vec<f64>, FitError> {
        let nf = self.coef.len();
        check_matrix("x", x, nf)?;
        Ok(x.chunks_exact(nf).map(|row| self.row(row)).collect())
    }

    /// σ(`coef · x + intercept`) for each row: P(positive) for a logistic fit.
    pub fn predict_proba(&self, x: &[f64]) -> Result<Vec<f64>, FitError> {
        Ok(self.predict(x)?.into_iter().map(sigmoid).collect())
    }

    fn row(&self, row: &[f64]) -> f64 {
        self.coef.iter().zip(row).map(|(c, v)| c * v).sum::<f64>() + self.intercept
    }
}

/// Ridge regression with an unpenalised intercept, sklearn `Ridge(alpha, fit_intercept=True)`
/// (and `LinearRegression()` for `alpha = 0`): centre x and y, solve
/// (Xcᵀ·Xc + α·I)·coef = Xcᵀ·yc, intercept = ȳ − x̄·coef.
///
/// With `alpha = 0` a constant or collinear feature is [`FitError::Singular`] (sklearn's
/// `LinearRegression` would return the minimum-norm solution instead).
pub fn fit_linear(
    x: &[f64],
    n_features: usize,
    y: &[f64],
    alpha: f64,
) -> Result<LinearModel, FitError> {
    let n = check_design(x, n_features, y.len())?;
    check_finite("y", y)?;
    if !(alpha.is_finite() && alpha >= 0.0) {
        return Err(FitError::Param {
            what: "alpha",
            value: alpha,
        });
    }
    let nf = n_features;
    let mut mean = vec![0.0; nf];
    for row in x.chunks_exact(nf) {
        mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let y_mean = y.iter().sum::<f64>() / n as f64;
    let (mut a, mut b, mut raw) = (vec![0.0; nf * nf], vec![0.0; nf], vec![0.0; nf]);
    let mut xc = vec![0.0; nf];
    for (row, &yi) in x.chunks_exact(nf).zip(y) {
        for j in 0..nf {
            xc[j] = row[j] - mean[j];
            raw[j] += row[j] * row[j];
            b[j] += xc[j] * (yi - y_mean);
            for k in 0..=j {
                a[j * nf + k] += xc[j] * xc[k];
            }
        }
    }
    for j in 0..nf {
        a[j * nf + j] += alpha;
    }
    // A pivot below 1e-12 of its column's raw sum of squares is rounding noise, not variance.
    let tol: Vec<f64> = raw
        .iter()
        .map(|r| 1e-12 * r.max(f64::MIN_POSITIVE))
        .collect();
    cholesky_solve(&mut a, nf, &mut b, &tol)?;
    let intercept = y_mean - mean.iter().zip(&b).map(|(m, c)| m * c).sum::<f64>();
    Ok(LinearModel { coef: b, intercept })
}

/// Solves A·z = b in place (b becomes z) for symmetric positive definite `a` (row-major m×m, only
/// the lower triangle read), by Cholesky A = L·Lᵀ; a pivot ≤ `tol[j]` is [`FitError::Singular`].
pub(crate) fn cholesky_solve(
    a: &mut [f64],
    m: usize,
    b: &mut [f64],
    tol: &[f64],
) -> Result<(), FitError> {
    for j in 0..m {
        let d = a[j * m + j] - (0..j).map(|k| a[j * m + k] * a[j * m + k]).sum::<f64>();
        if d.is_nan() || d <= tol[j] {
            return Err(FitError::Singular);
        }
        let d = d.sqrt();
        a[j * m + j] = d;
        for i in j + 1..m {
            let s = a[i * m + j] - (0..j).map(|k| a[i * m + k] * a[j * m + k]).sum::<f64>();
            a[i * m + j] = s / d;
        }
    }
    for i in 0..m {
        b[i] = (b[i] - (0..i).map(|k| a[i * m + k] * b[k]).sum::<f64>()) / a[i * m + i];
    }
    for i in (0..m).rev() {
        b[i] = (b[i] - (i + 1..m).map(|k| a[k * m + i] * b[k]).sum::<f64>()) / a[i * m + i];
    }
    Ok(())
}

/// Rows of a row-major design with `rows` expected rows; refuses empty, ragged or non-finite.
pub(crate) fn check_design(x: &[f64], n_features: usize, rows: usize) -> Result<usize, FitError> {
    if rows == 0 {
        return Err(FitError::Empty);
    }
    check_matrix("x", x, n_features)?;
    if x.len() != rows * n_features {
        return Err(FitError::Length {
            what: "x (rows × n_features vs labels)",
            expected: rows * n_features,
            got: x.len(),
        });
    }
    Ok(rows)
}

fn check_matrix(what: &'static str, x: &[f64], n_features: usize) -> Result<(), FitError> {
    if n_features == 0 {
        return Err(FitError::NoFeatures);
    }
    if !x.len().is_multiple_of(n_features) {
        return Err(FitError::Length {
            what,
            expected: x.len().next_multiple_of(n_features),
            got: x.len(),
        });
    }
    check_finite(what, x)
}

pub(crate) fn check_finite(what: &'static str, v: &[f64]) -> Result<(), FitError> {
    match v.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(FitError::NonFinite { what, index }),
        None => Ok(()),
    }
}

/// ln(1 + eˣ) without overflow.
pub(crate) fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// The logistic function 1 / (1 + e⁻ˣ) without overflow.
pub(crate) fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals() {
        let x = [
            0.5, 1.0, -1.0, 0.2, 2.0, -0.3, 1.5, 0.7, -0.2, -1.1, 0.9, 0.1,
        ];
        let mut bad = x;
        bad[3] = f64::NAN;
        assert_eq!(
            fit_linear(&bad, 2, &[0.0; 6], 1.0).map(|_| ()),
            Err(FitError::NonFinite {
                what: "x",
                index: 3
            })
        );
        let ys = [1.0, 2.0, f64::INFINITY, 0.0, 0.0, 0.0];
        assert_eq!(
            fit_linear(&x, 2, &ys, 1.0),
            Err(FitError::NonFinite {
                what: "y",
                index: 2
            })
        );
        assert!(matches!(
            fit_linear(&x, 2, &[0.0; 6], -1.0),
            Err(FitError::Param { .. })
        ));
        let m = fit_linear(&x, 2, &[0.0; 6], 1.0).expect("fit");
        assert!(matches!(
            m.predict(&[1.0, f64::NAN]),
            Err(FitError::NonFinite { .. })
        ));
        assert!(matches!(m.predict(&[1.0]), Err(FitError::Length { .. })));
    }

    #[test]
    fn least_squares_exact_and_singular() {
        let x = [0.0, 1.0, 2.0, 3.0];
        let m = fit_linear(&x, 1, &[1.0, 3.0, 5.0, 7.0], 0.0).expect("fit");
        assert!((m.coef[0] - 2.0).abs() < 1e-14 && (m.intercept - 1.0).abs() < 1e-14);
        // Ridge: coef = Sxy / (Sxx + α) = 10 / (5 + 5).
        let r = fit_linear(&x, 1, &[1.0, 3.0, 5.0, 7.0], 5.0).expect("fit");
        assert!((r.coef[0] - 1.0).abs() < 1e-14 && (r.intercept - 2.5).abs() < 1e-14);
        let constant = [0.1; 3];
        assert_eq!(
            fit_linear(&constant, 1, &[1.0, 2.0, 3.0], 0.0),
            Err(FitError::Singular)
        );
        let r = fit_linear(&constant, 1, &[1.0, 2.0, 3.0], 1.0).expect("ridge");
        assert!(r.coef[0].abs() < 1e-12 && (r.intercept - 2.0).abs() < 1e-12);
    }
}
