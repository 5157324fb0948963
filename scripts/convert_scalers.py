#!/usr/bin/env python3
"""Converts a pickled, fitted scikit-learn ``RobustScaler`` into signal-engine's ``scaler.json``.

The output is the JSON that ``signal_engine::scaling::RobustScaler`` deserialises (serde,
``deny_unknown_fields``) and that a model bundle stores as ``scaler.json``::

    {"center_": [...], "scale_": [...], "quantile_range": [25.0, 75.0],
     "feature_names_in_": ["a", "b"], "n_features_in_": 2, "clip": 10.0}

Our ``transform`` is ``clip((x - center_) / scale_, -clip, clip)``, i.e. scikit-learn's
``RobustScaler.transform`` followed by clipping, for every constructor option:

* ``with_centering=False`` (``center_`` is None): written as ``center_`` = 0.
* ``with_scaling=False`` (``scale_`` is None): written as ``scale_`` = 1.
* ``unit_variance=True``: scikit-learn's fitted ``scale_`` already includes the division by
  ``norm.ppf(q_max) - norm.ppf(q_min)`` (see ``RobustScaler.fit``), so ``scale_`` is copied as is.
* An IQR of 0 was already replaced by 1 at fit time (``_handle_zeros_in_scale``).
* ``quantile_range`` is copied (informational; it does not change the transform).

Feature names come from the scaler's ``feature_names_in_`` (set when it was fitted on a pandas
DataFrame). A scaler fitted on a plain array has none: pass ``--names a,b,c`` (in column order).
When both exist they must agree.

Input: a file written by ``joblib.dump`` or ``pickle.dump`` holding either the scaler itself or a
dict of objects (the seed pipeline's ``scalers.pkl``); pick a dict entry with ``--key``. Anything
that is not a fitted ``sklearn.preprocessing.RobustScaler`` is refused with a message and exit
status 2. WARNING: unpickling runs code from the file; convert only files you trust.

Usage:
    /tmp/oracle/bin/python scripts/convert_scalers.py SCALER.pkl [-o scaler.json]
        [--names a,b,c] [--key NAME] [--clip 10]

    -o/--output  write here (default: stdout)
    --names      comma-separated feature names, required when the scaler has no feature_names_in_
    --key        entry to convert when the pickle holds a dict
    --clip       clip value stored in the JSON (default 10; must be finite and > 0)

Needs numpy and scikit-learn (the version that wrote the pickle; 1.7.2 for our goldens).
"""
import argparse
import json
import math
import pickle
import sys


class ConvertError(Exception):
    pass


def load(path):
    """joblib.load (reads joblib files and plain pickles), or pickle if joblib is missing."""
    try:
        import joblib
    except ImportError:
        joblib = None
    try:
        if joblib is not None:
            return joblib.load(path)
        with open(path, "rb") as f:
            return pickle.load(f)
    except FileNotFoundError:
        raise ConvertError(f"{path}: no such file")
    except Exception as e:  # unpickling errors come in many types
        raise ConvertError(f"{path}: cannot unpickle ({type(e).__name__}: {e})")


def select(obj, key, path):
    if isinstance(obj, dict):
        if key is None:
            raise ConvertError(
                f"{path} holds a dict with keys {sorted(map(str, obj))}: choose one with --key")
        if key not in obj:
            raise ConvertError(f"{path}: no key {key!r}; keys are {sorted(map(str, obj))}")
        return obj[key]
    if key is not None:
        raise ConvertError(f"{path} holds a {type(obj).__name__}, not a dict: drop --key")
    return obj


def floats(values, what):
    out = [float(v) for v in values]
    bad = [v for v in out if not math.isfinite(v)]
    if bad:
        raise ConvertError(f"{what} has non-finite values {bad[:3]}")
    return out


def convert(obj, names=None, clip=10.0):
    """Returns the JSON-ready dict for a fitted RobustScaler, or raises ConvertError."""
    from sklearn.preprocessing import RobustScaler
    if not isinstance(obj, RobustScaler):
        raise ConvertError(
            f"expected a fitted sklearn.preprocessing.RobustScaler, got "
            f"{type(obj).__module__}.{type(obj).__qualname__}")
    if not (hasattr(obj, "n_features_in_") and hasattr(obj, "center_")
            and hasattr(obj, "scale_")):
        raise ConvertError("the RobustScaler is not fitted (no n_features_in_/center_/scale_)")
    n = int(obj.n_features_in_)
    theirs = getattr(obj, "feature_names_in_", None)
    if theirs is not None:
        theirs = [str(x) for x in theirs]
        if names is not None and names != theirs:
            raise ConvertError(f"--names {names} differ from the scaler's feature_names_in_ "
                               f"{theirs}")
        names = theirs
    if names is None:
        raise ConvertError(
            f"the scaler has no feature_names_in_ (fitted on a plain array): pass --names with "
            f"its {n} feature names in column order")
    if len(names) != n or len(set(names)) != n or any(not s for s in names):
        raise ConvertError(f"need {n} distinct non-empty feature names, got {names}")
    center = [0.0] * n if obj.center_ is None else floats(obj.center_, "center_")
    scale = [1.0] * n if obj.scale_ is None else floats(obj.scale_, "scale_")
    if len(center) != n or len(scale) != n:
        raise ConvertError(f"center_/scale_ have {len(center)}/{len(scale)} entries, "
                           f"n_features_in_ = {n}")
    if any(s <= 0 for s in scale):
        raise ConvertError(f"scale_ must be > 0, got {scale}")
    if not (math.isfinite(clip) and clip > 0):
        raise ConvertError(f"--clip {clip} must be finite and > 0")
    q_lo, q_hi = (float(q) for q in obj.quantile_range)
    return {
        "center_": center,
        "scale_": scale,
        "quantile_range": [q_lo, q_hi],
        "feature_names_in_": names,
        "n_features_in_": n,
        "clip": float(clip),
    }


def to_json(d):
    return json.dumps(d, indent=2) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("pickle")
    ap.add_argument("-o", "--output")
    ap.add_argument("--names", help="comma-separated feature names")
    ap.add_argument("--key", help="dict entry to convert")
    ap.add_argument("--clip", type=float, default=10.0)
    a = ap.parse_args(argv)
    names = None if a.names is None else [s.strip() for s in a.names.split(",")]
    try:
        d = convert(select(load(a.pickle), a.key, a.pickle), names, a.clip)
    except ConvertError as e:
        print(f"convert_scalers: {e}", file=sys.stderr)
        return 2
    text = to_json(d)
    if a.output:
        with open(a.output, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
