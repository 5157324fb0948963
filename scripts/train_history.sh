#!/usr/bin/env bash
# Trains the default recipe (config/default.toml) on the months of real data in ../shared/data:
# 17 monthly files of Binance USDT-M 1-minute klines (ALGO, AVAX, DOT, FIL, LINK, NEAR; Feb 2023,
# Apr-May 2023, Feb 2024, Feb 2026; 698,400 bars), and writes the bundle with its report.md
# (test metrics beside the majority, logistic and momentum baselines).
#
# Usage: scripts/train_history.sh [OUT_DIR] [extra train args, e.g. --folds 4]
# Env: SHARED_DATA (default ../shared/data). Every 30th bar is a training window end (consecutive
# windows overlap almost entirely; this keeps an epoch near 2 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
data="${SHARED_DATA:-../shared/data}/binance_futures_um_klines_1m"
out="${1:-out/history-model}"
shift || true
if [ ! -d "$data" ]; then
  echo "train_history: $data not found (set SHARED_DATA)" >&2
  exit 1
fi
cargo run --release --locked -- --config config/default.toml \
  --set train.sample_stride=30 \
  train --data "$data" --out "$out" --version "history-$(date -u +%Y%m%d)" "$@"
