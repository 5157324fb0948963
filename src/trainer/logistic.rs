//! L2-regularised binary logistic regression with intercept, the optimum of scikit-learn
//! `LogisticRegression` (the baselines' classifiers), solved to full precision by Newton's method
//! (IRLS) with step halving and a Cholesky solve of the (F + 1)² Hessian, so the coefficients are
//! the true optimum that sklearn's lbfgs approaches.

use super::linear::{FitError, LinearModel, check_design, cholesky_solve, sigmoid, softplus};

/// Settings of [`fit_logistic`], named as in sklearn `LogisticRegression`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogisticOptions {
    /// Inverse regularisation strength `C` (> 0).
    pub c: f64,
    /// `class_weight="balanced"`: weight n / (2 · n_class) on each sample of a class.
    pub balanced: bool,
}

impl Default for LogisticOptions {
    fn default() -> Self {
        Self {
            c: 1.0,
            balanced: false,
        }
    }
}

const MAX_NEWTON: usize = 100;
const MAX_HALVINGS: usize = 60;

/// L2-regularised logistic regression with intercept, the optimum of sklearn
/// `LogisticRegression(C, class_weight, fit_intercept=True)`:
/// minimises `C · Σᵢ wᵢ · logloss(yᵢ, σ(coef·xᵢ + b)) + ½‖coef‖²` (the intercept b is not
/// penalised), `wᵢ` = 1 or the balanced class weight.
///
/// Newton's method from zero (sklearn's start) with step halving until a full step moves no
/// parameter by more than 1e-10 of its scale; Newton converges quadratically, so that is the
/// optimum to rounding.
pub fn fit_logistic(
    x: &[f64],
    n_features: usize,
    y: &[bool],
    opts: LogisticOptions,
) -> Result<LinearModel, FitError> {
    let n = check_design(x, n_features, y.len())?;
    if !(opts.c.is_finite() && opts.c > 0.0) {
        return Err(FitError::Param {
            what: "C",
            value: opts.c,
        });
    }
    let n_pos = y.iter().filter(|&&l| l).count();
    if n_pos == 0 || n_pos == n {
        return Err(FitError::OneClass);
    }
    let (w_pos, w_neg) = if opts.balanced {
        (
            n as f64 / (2 * n_pos) as f64,
            n as f64 / (2 * (n - n_pos)) as f64,
        )
    } else {
        (1.0, 1.0)
    };
    let w: Vec<f64> = y.iter().map(|&l| if l { w_pos } else { w_neg }).collect();
    let prob = Logit {
        x,
        y,
        w: &w,
        nf: n_features,
        inv_c: 1.0 / opts.c,
    };
    let mut beta = vec![0.0; n_features + 1];
    // The Hessian is positive definite (penalised coef, Σ wᵢσᵢ(1 − σᵢ) > 0 on the intercept):
    // only a pivot that underflowed to 0 is singular.
    let tol = vec![0.0; n_features + 1];
    for _ in 0..MAX_NEWTON {
        let (grad, mut hess) = prob.gradient_hessian(&beta);
        let mut step = grad.clone();
        cholesky_solve(&mut hess, n_features + 1, &mut step, &tol)?;
        let scale = 1.0 + beta.iter().fold(0.0f64, |m, b| m.max(b.abs()));
        let full = step.iter().fold(0.0f64, |m, s| m.max(s.abs())) <= 1e-10 * scale;
        beta = prob.line_search(&beta, &grad, &step)?;
        if full {
            return Ok(prob.model(beta));
        }
    }
    Err(FitError::NoConvergence(MAX_NEWTON))
}

/// The logistic objective divided by C: Σ wᵢ·logloss + ½/C·‖coef‖² (same minimiser).
struct Logit<'a> {
    x: &'a [f64],
    y: &'a [bool],
    w: &'a [f64],
    nf: usize,
    inv_c: f64,
}

impl Logit<'_> {
    fn eta(&self, beta: &[f64], row: &[f64]) -> f64 {
        beta[..self.nf]
            .iter()
            .zip(row)
            .map(|(b, v)| b * v)
            .sum::<f64>()
            + beta[self.nf]
    }

    fn objective(&self, beta: &[f64]) -> f64 {
        let data: f64 = (self.x.chunks_exact(self.nf).zip(self.y).zip(self.w))
            .map(|((row, &l), &w)| {
                let eta = self.eta(beta, row);
                w * (softplus(eta) - if l { eta } else { 0.0 })
            })
            .sum();
        data + 0.5 * self.inv_c * beta[..self.nf].iter().map(|b| b * b).sum::<f64>()
    }

    /// Gradient and Hessian in (coef…, intercept) order; the Hessian row-major (F+1)².
    fn gradient_hessian(&self, beta: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let m = self.nf + 1;
        let (mut g, mut h) = (vec![0.0; m], vec![0.0; m * m]);
        let mut xt = vec![1.0; m];
        for ((row, &l), &w) in self.x.chunks_exact(self.nf).zip(self.y).zip(self.w) {
            xt[..self.nf].copy_from_slice(row);
            let s = sigmoid(self.eta(beta, row));
            let (r, c) = (w * (s - f64::from(u8::from(l))), w * s * (1.0 - s));
            for j in 0..m {
                g[j] += r * xt[j];
                for k in 0..=j {
                    h[j * m + k] += c * xt[j] * xt[k];
                }
            }
        }
        for j in 0..self.nf {
            g[j] += self.inv_c * beta[j];
            h[j * m + j] += self.inv_c;
        }
        (g, h)
    }

    /// β − t·step for the first t in 1, ½, ¼, … that satisfies Armijo's condition (with a few
    /// ulps of slack: at the optimum the objective only changes by rounding).
    fn line_search(&self, beta: &[f64], grad: &[f64], step: &[f64]) -> Result<Vec<f64>, FitError> {
        let f0 = self.objective(beta);
        let slope: f64 = grad.iter().zip(step).map(|(g, s)| g * s).sum();
        let mut t = 1.0;
        for _ in 0..MAX_HALVINGS {
            let cand: Vec<f64> = beta.iter().zip(step).map(|(b, s)| b - t * s).collect();
            if self.objective(&cand) <= f0 - 1e-4 * t * slope + 8.0 * f64::EPSILON * f0.abs() {
                return Ok(cand);
            }
            t *= 0.5;
        }
        Err(FitError::NoConvergence(MAX_HALVINGS))
    }

    fn model(&self, mut beta: Vec<f64>) -> LinearModel {
        let intercept = beta.pop().unwrap_or(0.0);
        LinearModel {
            coef: beta,
            intercept,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ∇ of C·Σ wᵢ·loglossᵢ + ½‖coef‖² at the fit, which must vanish at the optimum.
    fn gradient(x: &[f64], nf: usize, y: &[bool], w: &[f64], c: f64, m: &LinearModel) -> Vec<f64> {
        let p = m.predict_proba(x).expect("finite");
        let mut g: Vec<f64> = m.coef.iter().copied().chain([0.0]).collect();
        for ((row, (&pi, &l)), &wi) in x.chunks_exact(nf).zip(p.iter().zip(y)).zip(w) {
            let r = c * wi * (pi - f64::from(u8::from(l)));
            row.iter()
                .chain([&1.0])
                .zip(g.iter_mut())
                .for_each(|(v, gj)| *gj += r * v);
        }
        g
    }

    fn data() -> (Vec<f64>, Vec<bool>) {
        let x = vec![
            0.5, 1.0, -1.0, 0.2, 2.0, -0.3, 1.5, 0.7, -0.2, -1.1, 0.9, 0.1,
        ];
        let y = vec![true, false, true, true, false, false];
        (x, y)
    }

    #[test]
    fn logistic_reaches_the_optimum() {
        let (x, y) = data();
        for (c, balanced) in [(1.0, false), (0.3, true), (100.0, true)] {
            let m = fit_logistic(&x, 2, &y, LogisticOptions { c, balanced }).expect("fit");
            // 3 positives vs 3 negatives: the balanced weights are all 1.
            let w = [1.0; 6];
            let g = gradient(&x, 2, &y, &w, c, &m);
            assert!(g.iter().all(|v| v.abs() < 1e-12), "{g:?}");
        }
    }

    #[test]
    fn logistic_balanced_weights_shift_the_intercept() {
        let x = [0.0, 1.0, 2.0, 3.0, 4.0];
        let y = [false, false, false, false, true];
        let plain = fit_logistic(&x, 1, &y, LogisticOptions::default()).expect("fit");
        let bal = LogisticOptions {
            c: 1.0,
            balanced: true,
        };
        let m = fit_logistic(&x, 1, &y, bal).expect("fit");
        let w = [5.0 / 8.0, 5.0 / 8.0, 5.0 / 8.0, 5.0 / 8.0, 5.0 / 2.0];
        assert!(
            gradient(&x, 1, &y, &w, 1.0, &m)
                .iter()
                .all(|v| v.abs() < 1e-12)
        );
        assert!(m.intercept > plain.intercept);
    }

    #[test]
    fn refusals() {
        let (x, y) = data();
        let o = LogisticOptions::default();
        assert_eq!(fit_logistic(&[], 2, &[], o), Err(FitError::Empty));
        assert_eq!(fit_logistic(&x, 0, &y, o), Err(FitError::NoFeatures));
        assert!(matches!(
            fit_logistic(&x[..11], 2, &y, o),
            Err(FitError::Length { .. })
        ));
        assert!(matches!(
            fit_logistic(&x, 2, &y[..5], o),
            Err(FitError::Length { .. })
        ));
        let mut bad = x.clone();
        bad[3] = f64::NAN;
        let err = fit_logistic(&bad, 2, &y, o);
        assert_eq!(
            err,
            Err(FitError::NonFinite {
                what: "x",
                index: 3
            })
        );
        assert_eq!(fit_logistic(&x, 2, &[true; 6], o), Err(FitError::OneClass));
        let c0 = LogisticOptions {
            c: 0.0,
            balanced: false,
        };
        assert!(matches!(
            fit_logistic(&x, 2, &y, c0),
            Err(FitError::Param { .. })
        ));
    }
}
