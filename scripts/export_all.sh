#!/usr/bin/env bash
# Runs `signal-engine features` on every market-data file of ../shared/data (when present): each
# Binance USDT-M kline month, every freqtrade OHLCV file (1 m and 5 m, sparse ones included) and
# the XRP/ETH trades. Checks that each export has one row per bar of its input and reports the
# engine's counts. Usage: scripts/export_all.sh [DATA_DIR] (release build).
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-../shared/data}"
[ -d "$data" ] || { echo "export_all: no $data (it is only in the developers' checkout)" >&2; exit 1; }
cargo build --locked --release --quiet
bin=target/release/signal-engine
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
n=0
for f in "$data"/binance_futures_um_klines_1m/*.csv.gz "$data"/binance_spot_2017_2019_freqtrade/*.csv.gz; do
  name="$(basename "$f" .csv.gz)"
  case "$name" in
    *-5m) secs=300 ;;
    *) secs=60 ;;
  esac
  # Rows in: data rows of the file (header lines start with a letter). Trades make one bar per
  # minute that had a trade, so their check is against the published 1 m bars.
  if [[ "$name" == *-trades ]]; then
    want=$(zcat "$data/binance_spot_2017_2019_freqtrade/XRP_ETH-1m.csv.gz" | grep -c '^[0-9]')
  else
    want=$(zcat "$f" | grep -c '^[0-9]')
  fi
  "$bin" features --bar-interval-secs "$secs" --data "$f" --out "$out/$name.csv" 2> "$out/$name.log"
  got=$(($(wc -l < "$out/$name.csv") - 1))
  if [ "$got" != "$want" ]; then
    echo "export_all: $name: $got rows, expected $want" >&2
    exit 1
  fi
  printf '%-28s %7d rows  %s\n' "$name" "$got" "$(sed -e 's/^features: [0-9]* rows //' -e 's/ to [^;]*;/;/' "$out/$name.log")"
  n=$((n + 1))
done
echo "export_all: $n files exported, one row per bar each"
