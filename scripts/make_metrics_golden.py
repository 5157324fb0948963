#!/usr/bin/env python3
"""scikit-learn oracle for the test-split evaluation, the linear models and the baselines.

Writes ``sklearn_metrics.json`` (in ``tests/fixtures/golden/`` or ``--out DIR``): every input and
every expected output, so ``tests/metrics_oracle.rs`` needs nothing else. All inputs are
synthetic and deterministic (``numpy.random.RandomState(7)``, then hand-written cases).

* ``evaluations``: for each case, probabilities ``p``, boolean ``labels``, a ``threshold`` and
  (predicted, realized) returns in bps, with what scikit-learn 1.7.2 says of them:
  ``accuracy_score``, ``precision_score`` / ``recall_score`` / ``f1_score`` (``zero_division=0``)
  and ``confusion_matrix`` of ``p >= threshold``; ``roc_auc_score``, ``average_precision_score``,
  ``log_loss(labels=[0, 1])``, ``brier_score_loss``; ``calibration_curve(n_bins=10,
  strategy="uniform")`` (its non-empty bins; the bin counts by the same ``np.searchsorted`` /
  ``np.bincount`` as its source, checked against it); ``mean_absolute_error``,
  ``mean_squared_error``. Cases: ``random_ties`` (400 probabilities rounded to 2 decimals, so
  ties and values exactly on bin edges), the same at threshold 2.0 (nothing predicted positive:
  precision and F1 by ``zero_division``), and ``hand_empty_bins`` (empty calibration bins, p on
  the edges 0.1 / 0.3 / 0.30000000000000004, and p = 0 and 1 on the wrong label for the log-loss
  clipping).
* ``logistic``: ``LogisticRegression(C, class_weight, solver="lbfgs", max_iter=1000, tol=1e-10)``
  on a 300 x 5 design with 26 % positives, and the exact optimum from
  ``solver="newton-cholesky"`` (``tol=1e-14``); lbfgs stops on its relative-decrease test
  (``ftol = 64 eps``) up to ~2e-7 from that optimum, which is why both are written.
* ``linear``: ``Ridge(alpha=1.0)`` on the same design and ``LinearRegression()`` on one column.
* ``baselines``: the three baselines of ``src/trainer/baselines.rs`` built from scikit-learn
  (train rows only) on the design (``logistic``) and on a synthetic random-walk price
  (``momentum``: score = trailing 5-bar log return, label = forward 5-bar return > 0; the
  classifier sees the score through ``StandardScaler`` fitted on the train rows).

Fitted values (coefficients, intercepts, fitted predictions) are rounded to 12 significant digits
so that a different BLAS summation order cannot change the file; the comparisons in Rust are far
looser than that. Everything else is Python ``repr`` (exact round trip). Keys sorted.

Regenerate / verify byte-for-byte: ``scripts/oracle.sh`` (or ``--out DIR`` and ``cmp``).
Needs numpy 2.4.6, scikit-learn 1.7.2, threadpoolctl (``scripts/oracle-requirements.txt``).
"""
import argparse
import json
import pathlib
import warnings

import numpy as np
import sklearn
from sklearn.calibration import calibration_curve
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.metrics import (accuracy_score, average_precision_score, brier_score_loss,
                             confusion_matrix, f1_score, log_loss, mean_absolute_error,
                             mean_squared_error, precision_score, recall_score, roc_auc_score)
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

ROOT = pathlib.Path(__file__).resolve().parent.parent
N_BINS = 10
HORIZON = 5


def fitted(v):
    """Fitted values at 12 significant digits (see the module docstring)."""
    return [float(f"{x:.12g}") for x in np.ravel(v)]


def floats(v):
    return [float(x) for x in np.ravel(v)]


def calibration(p, y):
    prob_true, prob_pred = calibration_curve(y, p, n_bins=N_BINS, strategy="uniform")
    edges = np.linspace(0.0, 1.0, N_BINS + 1)
    # sklearn 1.7.2 source: binids = np.searchsorted(bins[1:-1], y_prob) (side="left").
    counts = np.bincount(np.searchsorted(edges[1:-1], p), minlength=N_BINS)
    assert (counts > 0).sum() == len(prob_true)
    bins, k = [], 0
    for i in range(N_BINS):
        b = {"lo": float(edges[i]), "hi": float(edges[i + 1]), "count": int(counts[i]),
             "mean_predicted": None, "fraction_positive": None}
        if counts[i]:
            b["mean_predicted"], b["fraction_positive"] = float(prob_pred[k]), float(prob_true[k])
            k += 1
        bins.append(b)
    return bins


def evaluation(name, p, y, threshold, pred_bps, real_bps):
    y = np.asarray(y, dtype=int)
    yhat = (p >= threshold).astype(int)
    tn, fp, fn, tp = confusion_matrix(y, yhat, labels=[0, 1]).ravel()
    prf = {"zero_division": 0}
    expected = {
        "n": len(p), "positives": int(y.sum()),
        "accuracy": float(accuracy_score(y, yhat)),
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "precision": float(precision_score(y, yhat, **prf)),
        "recall": float(recall_score(y, yhat, **prf)),
        "f1": float(f1_score(y, yhat, **prf)),
        "confusion": {"tp": int(tp), "fp": int(fp), "tn": int(tn), "fn": int(fn)},
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "brier": float(brier_score_loss(y, p)),
        "calibration": calibration(p, y),
        "return_mae_bps": float(mean_absolute_error(real_bps, pred_bps)),
        "return_mse_bps2": float(mean_squared_error(real_bps, pred_bps)),
    }
    return {"name": name, "p": floats(p), "labels": [bool(v) for v in y],
            "threshold": threshold, "predicted_bps": floats(pred_bps),
            "realized_bps": floats(real_bps), "expected": expected}


def evaluations(rs):
    n = 400
    p = np.round(rs.uniform(size=n), 2)
    y = rs.uniform(size=n) < 0.15 + 0.7 * p
    pred = np.round(rs.normal(size=n) * 20.0, 3)
    real = np.round(0.5 * pred + rs.normal(size=n) * 15.0, 3)
    hand_p = np.array([0.0, 0.05, 0.1, 0.1, 0.3, 0.30000000000000004, 0.31, 0.33, 0.62, 0.7,
                       0.71, 0.95, 1.0, 1.0, 0.33])
    hand_y = np.array([1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 0, 1], dtype=bool)
    hand_pred = np.linspace(-30.0, 40.0, len(hand_p))
    hand_real = np.array([5.0, -12.5, 0.0, 3.25, -7.0, 1.0, 22.0, -3.5, 10.0, 0.0, 4.0, 18.0,
                          30.0, -25.0, 2.0])
    return [
        evaluation("random_ties", p, y, 0.5, pred, real),
        evaluation("random_ties_nothing_positive", p, y, 2.0, pred, real),
        evaluation("hand_empty_bins", hand_p, hand_y, 0.3, hand_pred, hand_real),
    ]


def design(rs):
    n, f = 300, 5
    x = np.round(rs.normal(size=(n, f)) * np.array([1.0, 0.5, 2.0, 1.0, 10.0]), 6)
    logit = x @ np.array([0.8, -1.2, 0.3, 0.0, 0.05]) - 1.5
    y = rs.uniform(size=n) < 1.0 / (1.0 + np.exp(-logit))
    r = np.round(x @ np.array([3.0, -8.0, 1.5, 0.0, 0.4]) + 2.0 + rs.normal(size=n) * 10.0, 4)
    return x, y, r


def logreg(c, balanced, solver, tol):
    cw = "balanced" if balanced else None
    return LogisticRegression(C=c, class_weight=cw, solver=solver, max_iter=1000, tol=tol)


def logistic_cases(x, y):
    cases = []
    for c, balanced in ((1.0, True), (0.1, False), (10.0, True)):
        lb = logreg(c, balanced, "lbfgs", 1e-10).fit(x, y)
        nc = logreg(c, balanced, "newton-cholesky", 1e-14).fit(x, y)
        cases.append({"c": c, "balanced": balanced,
                      "lbfgs": {"coef": fitted(lb.coef_), "intercept": fitted(lb.intercept_)[0]},
                      "newton_cholesky": {"coef": fitted(nc.coef_),
                                          "intercept": fitted(nc.intercept_)[0],
                                          "proba": fitted(nc.predict_proba(x)[:, 1])}})
    return cases


def linear_cases(x, r):
    ridge = Ridge(alpha=1.0).fit(x, r)
    ols = LinearRegression().fit(x[:, :1], r)
    return [
        {"alpha": 1.0, "columns": [0, 1, 2, 3, 4], "coef": fitted(ridge.coef_),
         "intercept": fitted([ridge.intercept_])[0], "predicted": fitted(ridge.predict(x))},
        {"alpha": 0.0, "columns": [0], "coef": fitted(ols.coef_),
         "intercept": fitted([ols.intercept_])[0], "predicted": fitted(ols.predict(x[:, :1]))},
    ]


def momentum_data(rs):
    n = 600
    ret = np.zeros(n)
    for t in range(1, n):  # AR(1) log returns: a little momentum to find
        ret[t] = 0.5 * ret[t - 1] + rs.normal() * 0.002
    close = np.round(100.0 * np.exp(np.cumsum(ret)), 4)
    t = np.arange(HORIZON, n - HORIZON)
    score = np.round(np.log(close[t] / close[t - HORIZON]), 10)
    fwd = np.round((close[t + HORIZON] / close[t] - 1.0) * 1e4, 4)
    return score, fwd > 0, fwd


def baselines(x, y, r, rs):
    cut = 240
    clf = logreg(1.0, True, "lbfgs", 1e-10).fit(x[:cut], y[:cut])
    reg = Ridge(alpha=1.0).fit(x[:cut], r[:cut])
    s, sy, sr = momentum_data(rs)
    mcut = len(s) * 7 // 10
    s2 = s.reshape(-1, 1)
    sc = StandardScaler().fit(s2[:mcut])
    mclf = logreg(1.0, True, "lbfgs", 1e-10).fit(sc.transform(s2[:mcut]), sy[:mcut])
    mreg = LinearRegression().fit(s2[:mcut], sr[:mcut])
    return {
        "logistic": {"train_rows": cut, "p": fitted(clf.predict_proba(x[cut:])[:, 1]),
                     "expected_bps": fitted(reg.predict(x[cut:]))},
        "majority": {"train_rows": cut, "p": float(np.mean(y[:cut])),
                     "expected_bps": float(np.mean(r[:cut]))},
        "momentum": {"score": floats(s), "labels": [bool(v) for v in sy],
                     "returns_bps": floats(sr), "train_rows": mcut,
                     "p": fitted(mclf.predict_proba(sc.transform(s2[mcut:]))[:, 1]),
                     "expected_bps": fitted(mreg.predict(s2[mcut:]))},
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=pathlib.Path, default=ROOT / "tests/fixtures/golden")
    out = ap.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    assert sklearn.__version__ == "1.7.2", f"scikit-learn {sklearn.__version__}, want 1.7.2"
    assert np.__version__ == "2.4.6", f"numpy {np.__version__}, want 2.4.6"
    warnings.simplefilter("error")  # a convergence or metric warning would mean a bad golden
    rs = np.random.RandomState(7)
    with threadpool_limits(1):
        evals = evaluations(rs)
        x, y, r = design(rs)
        doc = {
            "generator": "scripts/make_metrics_golden.py",
            "versions": {"numpy": np.__version__, "scikit-learn": sklearn.__version__},
            "evaluations": evals,
            "design": {"n_features": x.shape[1], "x": floats(x), "y": [bool(v) for v in y],
                       "returns_bps": floats(r)},
            "logistic": logistic_cases(x, y),
            "linear": linear_cases(x, r),
            "baselines": baselines(x, y, r, rs),
        }
    path = out / "sklearn_metrics.json"
    path.write_text(json.dumps(doc, sort_keys=True, indent=1, allow_nan=False) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
