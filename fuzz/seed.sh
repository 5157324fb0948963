#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ with the test fixtures, one message per file: the single-message
# files (*.json) as they are, and each received line of the recorded sessions (*.gz,
# cryptofeed "<recv time>: <json>" lines) without its time stamp. The corpus is not committed.
# Usage: fuzz/seed.sh   (from anywhere)
set -euo pipefail
cd "$(dirname "$0")"
fixtures=../tests/fixtures/ws

# seed TARGET FOLDER: the messages of tests/fixtures/ws/FOLDER into corpus/TARGET.
seed() {
    local out="corpus/$1" dir="$fixtures/$2" f
    mkdir -p "$out"
    for f in "$dir"/*.json; do
        [ -e "$f" ] && cp "$f" "$out/"
    done
    for f in "$dir"/*.gz; do
        [ -e "$f" ] || continue
        gzip -dc "$f" | tail -n +2 | awk -v prefix="$out/$(basename "$f" .gz)-" '{
            i = index($0, ": "); name = prefix NR
            printf "%s", substr($0, i + 2) > name; close(name)
        }'
    done
    echo "$out: $(ls "$out" | wc -l) files"
}

seed parse_binance binance
seed parse_bybit bybit
seed parse_okx okx
seed parse_coinbase coinbase
seed parse_kraken kraken
