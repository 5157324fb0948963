#!/usr/bin/env python3
"""Writes the outside-oracle goldens the Rust tests compare against (run once; outputs committed).

* tests/fixtures/golden/talib_LINKUSDT_300.csv: TA-Lib 0.6.8 RSI(14), ATR(14), MACD(12,26,9)
  histogram and BBANDS(20, 2, 2) on the 300 real bars of
  tests/fixtures/klines/sample/LINKUSDT-1m-2026-02.csv.gz ("nan" during TA-Lib's warm-up).
* tests/fixtures/golden/sklearn_robust_scaler.json: scikit-learn 1.7.2 RobustScaler fitted on the
  same bars' (close, volume, taker_buy_volume, trade count) columns.
* tests/fixtures/golden/indicators_LINKUSDT_300.csv (the same 300 bars) and
  tests/fixtures/golden/indicators_ALGOUSDT_3000.csv.gz (the 3,000 real bars, 6 of them with zero
  volume, of tests/fixtures/klines/zero_volume/ALGOUSDT-1m-2026-02.csv.gz; gzip -9 with no name and
  mtime 0, so reruns are byte-identical): one row per bar, `open_time` then every column of
  INDICATOR_COLUMNS. TA-Lib 0.6.8 (C library 0.6.4) for RSI, ATR, MACD, BBANDS, ROC, STOCH, OBV,
  MFI; numpy for Parkinson, Garman-Klass and the VWAP deviation, which TA-Lib lacks (each window
  summed with math.fsum, i.e. correctly rounded, so the goldens carry no rolling-sum drift).
* tests/fixtures/golden/indicators_edge_cases.csv: 147 synthetic bars (edge_case_bars below: tiny
  money flow, flat, zero-volume, a 1000x jump and back, flat again); `open_time`, the bar's
  open, high, low, close, volume, quote_volume, then INDICATOR_COLUMNS as above.
* tests/fixtures/golden/indicators_ALGOUSDT_train_36000_sampled.csv.gz: the same table computed
  over all 36,000 bars of tests/fixtures/klines/train/ALGOUSDT-1m-2026-02.csv.gz (20 of them with
  zero volume) but keeping only every 100th row and the last 300, so the tests can check that the
  streaming sums have not drifted after a long run without a 10 MB golden.

Usage: python3 -m venv .venv-oracle && .venv-oracle/bin/pip install TA-Lib==0.6.8 numpy==2.4.6 \
           scikit-learn==1.7.2 && .venv-oracle/bin/python scripts/make_golden.py [--out DIR]
--out (default tests/fixtures/golden) lets CI regenerate into a temp dir and compare:
    diff -r -x bukosabino_ta /tmp/golden tests/fixtures/golden
(golden/bukosabino_ta/ holds copied third-party sheets, not outputs of this script).

"""
import argparse, csv, gzip, io, json, math, pathlib
import numpy as np
import talib
import sklearn
from sklearn.preprocessing import RobustScaler

root = pathlib.Path(__file__).resolve().parent.parent
ap = argparse.ArgumentParser()
ap.add_argument("--out", type=pathlib.Path, default=root / "tests/fixtures/golden")
outdir = ap.parse_args().out
outdir.mkdir(parents=True, exist_ok=True)
src = root / "tests/fixtures/klines/sample/LINKUSDT-1m-2026-02.csv.gz"
with gzip.open(src, "rt") as f:
    rows = list(csv.DictReader(f))
o, h, l, c, v, tb, n = (np.array([float(r[k]) for r in rows]) for k in
                        ("open", "high", "low", "close", "volume", "taker_buy_volume", "count"))
rsi = talib.RSI(c, 14)
atr = talib.ATR(h, l, c, 14)
_, _, hist = talib.MACD(c, 12, 26, 9)
up, mid, lo = talib.BBANDS(c, 20, 2.0, 2.0, 0)
out = outdir / "talib_LINKUSDT_300.csv"
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
          open(outdir / "sklearn_robust_scaler.json", "w"), indent=1)
print("wrote", out)

INDICATOR_COLUMNS = ["rsi_14", "atr_14", "macd_12_26_9", "macd_signal_12_26_9", "macd_hist_12_26_9",
                     "bb_upper_20_2", "bb_middle_20_2", "bb_lower_20_2", "roc_10", "stoch_k_14_3_3",
                     "stoch_d_14_3_3", "obv", "mfi_14", "parkinson_20", "garman_klass_20",
                     "vwap_dev_20"]


def rolling(terms, n, f):
    """f(window) for every full window of `n` terms ending at each bar, nan before."""
    out = np.full(len(terms), np.nan)
    for i in range(n - 1, len(terms)):
        out[i] = f(terms[i - n + 1:i + 1])
    return out


def read_klines(path):
    with gzip.open(path, "rt") as f:
        return list(csv.DictReader(f))


def indicator_table(rows, keep=lambda i, n: True, inputs=()):
    o, h, l, c, v, qv = (np.array([float(r[k]) for r in rows]) for k in
                         ("open", "high", "low", "close", "volume", "quote_volume"))
    macd, macd_signal, macd_hist = talib.MACD(c, 12, 26, 9)
    up, mid, lo = talib.BBANDS(c, 20, 2.0, 2.0, 0)
    stoch_k, stoch_d = talib.STOCH(h, l, c, 14, 3, 0, 3, 0)
    # Per-bar (not annualised) range estimators; TA-Lib has none. fsum: correctly rounded sums.
    hl2 = np.log(h / l) ** 2
    co2 = np.log(c / o) ** 2
    parkinson = rolling(hl2, 20, lambda w: math.sqrt(math.fsum(w) / (4 * 20 * math.log(2))))
    gk_terms = 0.5 * hl2 - (2 * math.log(2) - 1) * co2
    garman_klass = rolling(gk_terms, 20, lambda w: math.sqrt(max(math.fsum(w) / 20, 0.0)))
    sum_v = rolling(v, 20, math.fsum)
    sum_qv = rolling(qv, 20, math.fsum)
    # An all-zero-volume window has no VWAP: deviation 0 by convention (as in the Rust code).
    vwap_dev = np.array([np.nan if np.isnan(sv) else (0.0 if sv == 0 else ci / (sq / sv) - 1.0)
                         for sv, sq, ci in zip(sum_v, sum_qv, c)])
    cols = [talib.RSI(c, 14), talib.ATR(h, l, c, 14), macd, macd_signal, macd_hist, up, mid, lo,
            talib.ROC(c, 10), stoch_k, stoch_d, talib.OBV(c, v), talib.MFI(h, l, c, v, 14),
            parkinson, garman_klass, vwap_dev]
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["open_time"] + list(inputs) + INDICATOR_COLUMNS)
    for i, r in enumerate(rows):
        if keep(i, len(rows)):
            w.writerow([r["open_time"]] + [repr(float(r[k])) for k in inputs]
                       + [repr(float(x[i])) for x in cols])
    return buf.getvalue().encode()


def write_gz(out, data):
    with open(out, "wb") as raw, gzip.GzipFile(filename="", mode="wb", compresslevel=9,
                                               fileobj=raw, mtime=0) as gz:
        gz.write(data)
    print("wrote", out)


out = outdir / "indicators_LINKUSDT_300.csv"
out.write_bytes(indicator_table(read_klines(src)))
print("wrote", out)
write_gz(outdir / "indicators_ALGOUSDT_3000.csv.gz",
         indicator_table(read_klines(root / "tests/fixtures/klines/zero_volume"
                                                   / "ALGOUSDT-1m-2026-02.csv.gz")))
write_gz(outdir / "indicators_ALGOUSDT_train_36000_sampled.csv.gz",
         indicator_table(read_klines(root / "tests/fixtures/klines/train"
                                                   / "ALGOUSDT-1m-2026-02.csv.gz"),
                         keep=lambda i, n: i % 100 == 0 or i >= n - 300))


def edge_case_bars():
    """Synthetic bars (not market data) that drive every zero-denominator branch."""
    bars = []

    def bar(o, h, l, c, v, q):
        bars.append(dict(open_time=60_000 * len(bars), open=o, high=h, low=l, close=c, volume=v,
                         quote_volume=q))
    for i in range(30):  # rising, money flow ~0.07 a bar: < 1 per MFI window, so MFI reads 0
        p = 100 + 0.01 * i
        bar(p, p, p, p, 0.0007, 0.0007 * p)
    for i in range(20):  # flat (high == low): STOCH's zero range, zero width bands
        bar(100.5, 100.5, 100.5, 100.5, 5.0, 502.5)
    for i in range(25):  # zero volume, rising: empty VWAP windows, no money flow
        p = 100.5 + 0.1 * (i + 1)
        bar(p, p, p, p, 0.0, 0.0)
    for i in range(30):
        p = 101 + math.sin(i) * 0.5
        bar(p - 0.1, p + 0.2, p - 0.3, p, 1000 + i, (1000 + i) * p)
    bar(101, 1e5, 100, 1e5, 1e6, 1e10)  # a 1000x jump and back
    bar(1e5, 1e5, 101, 101, 1e6, 1e9)
    for i in range(10):
        p = 101 + math.sin(i) * 0.5
        bar(p - 0.1, p + 0.2, p - 0.3, p, 1000 + i, (1000 + i) * p)
    for i in range(30):  # flat again once the jump has left every window
        bar(101, 101, 101, 101, 10.0, 1010.0)
    return bars


out = outdir / "indicators_edge_cases.csv"
out.write_bytes(indicator_table(edge_case_bars(),
                                inputs=("open", "high", "low", "close", "volume", "quote_volume")))
print("wrote", out)
