#!/usr/bin/env bash
# Compares the demo replay's throughput of two engine binaries in one session, interleaved
# (A B A B ...) so machine noise hits both alike; prints each run's windows/s and the ratio of
# the medians (B / A). Typical use, before/after a change:
#   git worktree add /tmp/base HEAD~1 && (cd /tmp/base && CARGO_TARGET_DIR=$PWD/../base-target cargo build --release)
#   cargo build --release && scripts/ab-throughput.sh /tmp/base-target/release/signal-engine target/release/signal-engine 5
# Runs from the repository root (the embedded demo config's paths are relative to it).
set -euo pipefail
cd "$(dirname "$0")/.."
a="$1"; b="$2"; runs="${3:-5}"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
for i in $(seq 1 "$runs"); do
  for side in a b; do
    bin="$a"; [ "$side" = b ] && bin="$b"
    "$bin" replay --out "$tmp/s.jsonl" --summary-json "$tmp/$side-$i.json" >/dev/null 2>&1
  done
done
python3 - "$tmp" "$runs" <<'PY'
import json, statistics, sys
tmp, runs = sys.argv[1], int(sys.argv[2])
w = {s: [json.load(open(f"{tmp}/{s}-{i}.json"))["windows_per_sec"] for i in range(1, runs + 1)] for s in "ab"}
for s in "ab":
    print(f"{s}: windows/s " + " ".join(f"{x:.1f}" for x in w[s]) + f"  median {statistics.median(w[s]):.1f}")
print(f"ratio b/a of medians: {statistics.median(w['b']) / statistics.median(w['a']):.3f}")
PY
