#!/usr/bin/env bash
# Re-derives every committed golden from the outside oracles themselves: TA-Lib (indicators),
# numpy (Parkinson, Garman-Klass, VWAP) and scikit-learn (RobustScaler fit, pickles, transform),
# at the pinned versions of scripts/oracle-requirements.txt, into a temp dir, and fails unless the
# committed files in tests/fixtures/golden/ come out byte for byte. The Rust tests compare the
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
    echo "oracle: tests/fixtures/golden/$name differs from what the oracle writes today" >&2
    exit 1
  fi
  n=$((n + 1))
done
echo "oracle: $n golden files re-derived from TA-Lib / numpy / scikit-learn, all byte-identical"
