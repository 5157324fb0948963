#!/usr/bin/env bash
# Reproduces models/default/: trains SignalNet with config/default.toml on the bundled training
# sample (tests/fixtures/klines/train: six Binance USDT-M symbols, 2026-02-01..25, 1m bars).
# The demo replays 2026-02-28, which this model never saw. Takes ~6-13 min on 2 cores (at most 8
# epochs of ~90 s; early stopping usually ends it sooner). Same data, config, seed and machine: same weights.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --locked -- --config config/default.toml train \
  --data tests/fixtures/klines/train \
  --out models/default \
  --version default-2026-02 "$@"
