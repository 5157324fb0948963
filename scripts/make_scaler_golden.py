#!/usr/bin/env python3
"""scikit-learn oracle for the RobustScaler converter and transform (outputs committed).

Fits real scikit-learn 1.7.2 ``RobustScaler``s on real bars, pickles them, converts each pickle
with ``scripts/convert_scalers.py`` (the CLI, as a user would) and writes scikit-learn's own
``transform`` of held-out rows. ``tests/scaler_oracle.rs`` loads the converted JSON through
``RobustScaler``'s serde + ``validate`` and checks our transform against those rows.

Data: ``tests/fixtures/klines/train/LINKUSDT-1m-2026-02.csv.gz`` (36,000 real 1-minute bars).
Features per bar t >= 1: ``log_return_1`` = ln(close_t / close_t-1), ``log_volume`` =
ln(1 + volume), ``taker_buy_ratio`` = taker_buy_volume / volume (0.5 at zero volume),
``range_pct`` = (high - low) / close, ``ignore`` = the file's ``ignore`` column (0 on every bar:
a constant feature, IQR 0 -> scale 1).
Fit rows: bars 1..5000. Held-out rows (never fitted): bars 20001..20400 (``heldout``), the 20 later
bars with the largest max |z| (``extreme``), and 4 synthetic rows far outside the data, incl. a
non-zero ``ignore`` (``synthetic``).

Outputs (in ``tests/fixtures/golden/`` or ``--out DIR``):
* ``sklearn_robust_LINKUSDT.pkl``: ``RobustScaler()`` fitted on a plain array (no
  ``feature_names_in_``), written with ``pickle`` (protocol 5); converted with ``--names``.
* ``sklearn_robust_uv_LINKUSDT.joblib``: ``RobustScaler(quantile_range=(10, 90),
  unit_variance=True)``, written with ``joblib.dump``; its ``feature_names_in_`` is set to the
  object array of str that fitting on a pandas DataFrame would set (pandas is not in the oracle
  venv), so the converter takes the names from the pickle.
* ``sklearn_robust_LINKUSDT.json``, ``sklearn_robust_uv_LINKUSDT.json``: the converter's output
  (clip 10).
* ``sklearn_robust_LINKUSDT_heldout.csv``, ``sklearn_robust_uv_LINKUSDT_heldout.csv``: columns
  ``kind``, ``x_<feature>`` (input), ``z_<feature>`` (scikit-learn's ``transform``), floats as
  Python ``repr`` (exact round trip).

It also checks, without writing anything, the converter's handling of ``with_centering=False``,
``with_scaling=False`` and refusals (not a RobustScaler, not fitted, no names).

Regenerate / verify byte-for-byte (CI):
    /tmp/oracle/bin/python scripts/make_scaler_golden.py            # rewrites the fixtures
    d=$(mktemp -d) && /tmp/oracle/bin/python scripts/make_scaler_golden.py --out "$d" \\
        && for f in "$d"/*; do cmp "$f" "tests/fixtures/golden/${f##*/}" || exit 1; done

Needs numpy 2.4.6, scikit-learn 1.7.2, scipy, joblib (``/tmp/oracle`` venv, or
``pip install numpy==2.4.6 scikit-learn==1.7.2``).
"""
import argparse
import csv
import gzip
import io
import pathlib
import pickle
import subprocess
import sys
import warnings

import joblib
import numpy as np
import sklearn
from sklearn.preprocessing import RobustScaler, StandardScaler

ROOT = pathlib.Path(__file__).resolve().parent.parent
SRC = ROOT / "tests/fixtures/klines/train/LINKUSDT-1m-2026-02.csv.gz"
CONVERT = ROOT / "scripts/convert_scalers.py"
NAMES = ["log_return_1", "log_volume", "taker_buy_ratio", "range_pct", "ignore"]
FIT = slice(1, 5001)  # bar indices (row t uses bars t-1 and t)
HELDOUT = slice(20001, 20401)
N_EXTREME = 20
SYNTHETIC = np.array([
    [0.25, 30.0, 1.0, 0.5, 3.0],
    [-0.25, 0.0, 0.0, 0.0, -2.5],
    [1e-9, 9.0, 0.5, 1e-6, 0.0],
    [-3.0, 100.0, 0.999, 2.0, 1e6],
])


def features():
    with gzip.open(SRC, "rt") as f:
        rows = list(csv.DictReader(f))
    col = {k: np.array([float(r[k]) for r in rows]) for k in
           ("high", "low", "close", "volume", "taker_buy_volume", "ignore")}
    c, v = col["close"], col["volume"]
    ret = np.concatenate([[np.nan], np.log(c[1:] / c[:-1])])
    tbr = np.where(v > 0, col["taker_buy_volume"] / np.where(v > 0, v, 1.0), 0.5)
    return np.column_stack([ret, np.log1p(v), tbr, (col["high"] - col["low"]) / c,
                            col["ignore"]])


def heldout_rows(X, scaler):
    held = X[HELDOUT]
    later = np.arange(FIT.stop, len(X))
    later = later[(later < HELDOUT.start) | (later >= HELDOUT.stop)]
    z = np.abs(scaler.transform(X[later])).max(axis=1)
    order = np.argsort(-z, kind="stable")[:N_EXTREME]
    extreme = X[np.sort(later[order])]
    kinds = ["heldout"] * len(held) + ["extreme"] * len(extreme) + ["synthetic"] * len(SYNTHETIC)
    return kinds, np.vstack([held, extreme, SYNTHETIC])


def write_csv(path, kinds, X, Z):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["kind"] + [f"x_{n}" for n in NAMES] + [f"z_{n}" for n in NAMES])
    for k, x, z in zip(kinds, X, Z):
        w.writerow([k] + [repr(float(v)) for v in x] + [repr(float(v)) for v in z])
    path.write_text(buf.getvalue())


def convert_cli(pkl, out, *extra):
    subprocess.run([sys.executable, str(CONVERT), str(pkl), "-o", str(out), *extra], check=True)


def check_converter(X):
    """The converter's other paths, checked against scikit-learn's transform (nothing written)."""
    sys.path.insert(0, str(CONVERT.parent))
    import convert_scalers as cs
    rows = X[HELDOUT]
    for kw in ({"with_centering": False}, {"with_scaling": False},
               {"unit_variance": True}, {"quantile_range": (5.0, 95.0)}):
        s = RobustScaler(**kw).fit(X[FIT])
        d = cs.convert(s, NAMES)
        ours = (rows - np.array(d["center_"])) / np.array(d["scale_"])
        assert np.array_equal(ours, s.transform(rows)), kw
    for bad, msg in ((StandardScaler().fit(X[FIT]), "expected a fitted"),
                     (RobustScaler(), "not fitted"),
                     (RobustScaler().fit(X[FIT]), "no feature_names_in_")):
        try:
            cs.convert(bad, None)
        except cs.ConvertError as e:
            assert msg in str(e), (msg, e)
        else:
            raise AssertionError(f"{bad!r} was converted")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=pathlib.Path, default=ROOT / "tests/fixtures/golden")
    out = ap.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    assert sklearn.__version__ == "1.7.2", f"scikit-learn {sklearn.__version__}, want 1.7.2"
    assert np.__version__ == "2.4.6", f"numpy {np.__version__}, want 2.4.6"
    X = features()
    assert np.isfinite(X[1:]).all() and (X[:, 4] == 0).all()
    check_converter(X)

    plain = RobustScaler().fit(X[FIT])
    assert not hasattr(plain, "feature_names_in_")
    pkl = out / "sklearn_robust_LINKUSDT.pkl"
    pkl.write_bytes(pickle.dumps(plain, protocol=5))
    convert_cli(pkl, out / "sklearn_robust_LINKUSDT.json", "--names", ",".join(NAMES))
    kinds, H = heldout_rows(X, plain)
    write_csv(out / "sklearn_robust_LINKUSDT_heldout.csv", kinds, H, plain.transform(H))

    uv = RobustScaler(quantile_range=(10.0, 90.0), unit_variance=True).fit(X[FIT])
    uv.feature_names_in_ = np.array(NAMES, dtype=object)
    # transform() on a plain array then warns that the names are absent; the values are the same.
    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    jl = out / "sklearn_robust_uv_LINKUSDT.joblib"
    joblib.dump(uv, jl)
    convert_cli(jl, out / "sklearn_robust_uv_LINKUSDT.json")
    kinds, H = heldout_rows(X, uv)
    write_csv(out / "sklearn_robust_uv_LINKUSDT_heldout.csv", kinds, H, uv.transform(H))
    print("wrote", out)


if __name__ == "__main__":
    main()
