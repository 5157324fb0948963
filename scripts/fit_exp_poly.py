#!/usr/bin/env python3
"""Fits q in e^r = 1 + r*(1 + r*q(r)), |r| <= ln2/2: the polynomial of the fused forward's AVX-512
exp, expm1 and sigmoid (src/model/fused.rs, EXP_Q). Iteratively reweighted least squares on the
relative error of e^r (close to minimax); prints the coefficients as f32, highest degree first,
and the fit's max relative error before f32 rounding. NumPy only (the engine never runs this).

Usage: python3 scripts/fit_exp_poly.py [degree of q, default 4]
"""
import sys

import numpy as np

deg = int(sys.argv[1]) if len(sys.argv) > 1 else 4
half = np.log(2) / 2
r = np.linspace(-half, half, 40001)
r = r[np.abs(r) > 1e-6]
target = (np.expm1(r) - r) / r**2  # q(r) exactly
scale = r**2 / np.exp(r)  # an error in q, relative to e^r
w = np.ones_like(r)
for _ in range(200):
    v = np.vander(r, deg + 1, increasing=True)
    sw = np.sqrt(w) * scale
    c, *_ = np.linalg.lstsq(v * sw[:, None], target * sw, rcond=None)
    err = np.abs((v @ c - target) * scale)
    w = w * (1 + err / err.max())
print(f"max relative error of e^r: {err.max():.3e}")
print("EXP_Q = [" + ", ".join(np.format_float_scientific(np.float32(x), unique=True) for x in c[::-1]) + "]")
