#!/usr/bin/env bash
# Re-derives every committed golden from the outside oracles themselves: TA-Lib (indicators),
# numpy (Parkinson, Garman-Klass, VWAP) and scikit-learn (RobustScaler fit, pickles, transform),
# at the pinned versions of scripts/oracle-requirements.txt, into a temp dir, and fails unless the
# committed files in tests/fixtures/golden/ come out byte for byte (JSON from iterative solvers:
# to 1e-8, see scripts/golden_close.py). The Rust tests compare the
# engine with those files; this proves the files are what the oracles say today.
# Usage: scripts/oracle.sh  (ORACLE_VENV=DIR to use another venv location)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${ORACLE_VENV:-.venv-oracle}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/oracle-requirements.txt
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$venv/bin/python" scripts/make_golden.py --out "$tmp/golden" > /dev/null
"$venv/bin/python" scripts/make_scaler_golden.py --out "$tmp/golden" > /dev/null
"$venv/bin/python" scripts/make_metrics_golden.py --out "$tmp/golden" > /dev/null
n=0
for f in "$tmp"/golden/*; do
  name="$(basename "$f")"
  if ! cmp -s "$f" "tests/fixtures/golden/$name"; then
    # JSON from iterative solvers may differ in the last digits between CPUs (BLAS kernels are
    # chosen at run time); such files must agree to 1e-8, everything else byte for byte.
    if [[ "$name" != *.json ]] || ! why="$("$venv/bin/python" scripts/golden_close.py "tests/fixtures/golden/$name" "$f")"; then
      echo "oracle: tests/fixtures/golden/$name differs from what the oracle writes today ${why:-}" >&2
      exit 1
    fi
    echo "oracle: $name agrees to 1e-8 (not byte for byte: this CPU's BLAS rounds differently)"
  fi
  n=$((n + 1))
done
echo "oracle: $n golden files re-derived from TA-Lib / numpy / scikit-learn, each identical to the committed one (JSON: to 1e-8, as noted above)"
