#!/usr/bin/env python3
"""Writes the outside-oracle goldens the Rust tests compare against (run once; outputs committed).

* tests/fixtures/golden/talib_LINKUSDT_300.csv: TA-Lib 0.6.8 RSI(14), ATR(14), MACD(12,26,9)
  histogram and BBANDS(20, 2, 2) on the 300 real bars of
  tests/fixtures/klines/sample/LINKUSDT-1m-2026-02.csv.gz ("nan" during TA-Lib's warm-up).
* tests/fixtures/golden/sklearn_robust_scaler.json: scikit-learn 1.7.2 RobustScaler fitted on the
  same bars' (close, volume, taker_buy_volume, trade count) columns.

Usage: python3 -m venv .venv-oracle && .venv-oracle/bin/pip install TA-Lib==0.6.8 numpy==2.4.6 \
           scikit-learn==1.7.2 && .venv-oracle/bin/python scripts/make_golden.py
"""
import csv, gzip, json, pathlib
import numpy as np
import talib
import sklearn
from sklearn.preprocessing import RobustScaler

root = pathlib.Path(__file__).resolve().parent.parent
src = root / "tests/fixtures/klines/sample/LINKUSDT-1m-2026-02.csv.gz"
with gzip.open(src, "rt") as f:
    rows = list(csv.DictReader(f))
o, h, l, c, v, tb, n = (np.array([float(r[k]) for r in rows]) for k in
                        ("open", "high", "low", "close", "volume", "taker_buy_volume", "count"))
rsi = talib.RSI(c, 14)
atr = talib.ATR(h, l, c, 14)
_, _, hist = talib.MACD(c, 12, 26, 9)
up, mid, lo = talib.BBANDS(c, 20, 2.0, 2.0, 0)
out = root / "tests/fixtures/golden/talib_LINKUSDT_300.csv"
with open(out, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["open_time", "rsi_14", "atr_14", "macd_hist", "bb_upper", "bb_middle", "bb_lower"])
    for i, r in enumerate(rows):
        w.writerow([r["open_time"]] + [repr(float(x[i])) for x in (rsi, atr, hist, up, mid, lo)])
X = np.column_stack([c, v, tb, n])
s = RobustScaler().fit(X)
json.dump({"sklearn_version": sklearn.__version__, "talib_version": talib.__version__,
           "columns": ["close", "volume", "taker_buy_volume", "count"],
           "center_": s.center_.tolist(), "scale_": s.scale_.tolist(),
           "quantile_range": list(s.quantile_range)},
          open(root / "tests/fixtures/golden/sklearn_robust_scaler.json", "w"), indent=1)
print("wrote", out)
