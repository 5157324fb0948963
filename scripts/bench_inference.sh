#!/usr/bin/env bash
# Inference speed of the served model (models/default: T = 60, F = 32, d = 128) on CPU: the fused
# forward (src/model/fused.rs), burn's forward of the same weights, and the PyTorch reference of the
# same architecture loaded with the same weights (scripts/reference_model.py, torch CPU,
# inference_mode), at batch 1 (p50, p99 over BENCH_CALLS calls) and batches 64 and 256 (windows/s),
# with 1 and 2 threads, one after the other on this machine. Before timing, PyTorch must reproduce
# the engine's outputs on the exported check batch to 1e-4, so the three time the same model.
# Prints a table with the ratios (goals, issue 10: fused batch-1 p50 <= 0.5x torch's; fused
# throughput at 64 and 256 >= 2x torch's) and each path's GFLOP/s against this machine's sgemm
# (matrixmultiply, 512^3, on as many threads) measured in the same run: burn's and torch's from the
# architecture's 33.8 MFLOP per window, the fused path's from the 27.9 it executes (its first layer
# is composed with the input projection); writes it, with the raw lines, to
# $CARGO_TARGET_DIR (or target/)/bench_inference.txt.
#
# Usage: scripts/bench_inference.sh        Env: BENCH_CALLS (500), BENCH_REPS (20), BENCH_ROUNDS (3),
#        BENCH_THREAD_COUNTS ("1 2"), BENCH_VENV (.venv-bench; created from
#        scripts/bench-requirements.txt, which says why it lists NVIDIA wheels).
set -euo pipefail
cd "$(dirname "$0")/.."

calls="${BENCH_CALLS:-500}"
reps="${BENCH_REPS:-20}"
rounds="${BENCH_ROUNDS:-3}"
thread_counts="${BENCH_THREAD_COUNTS:-1 2}"
venv="${BENCH_VENV:-.venv-bench}"
out_dir="${CARGO_TARGET_DIR:-target}"
mkdir -p "$out_dir"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  echo '*' > "$venv/.gitignore"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps \
  -r scripts/bench-requirements.txt

echo "bench_inference: building (release)" >&2
cargo build --release --quiet
cargo bench --bench inference --no-run --quiet
weights="$out_dir/bench_inference.safetensors"
"$out_dir/release/signal-engine" export-weights --model models/default --out "$weights" >&2
check="$("$venv/bin/python" scripts/reference_model.py --weights "$weights" --check --threads 1)" || {
  echo "bench_inference: PyTorch does not reproduce the engine's outputs: $check" >&2
  exit 1
}

raw="$check"$'\n'
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
# Rounds interleave the three paths, so a slow spell of this shared machine lands on all of them
# rather than on one; each cell of the table is the median over the rounds.
for round in $(seq "$rounds"); do
  for th in $thread_counts; do
    echo "bench_inference: round $round of $rounds, $th thread(s): fused and burn" >&2
    raw+="$(BENCH_THREADS="$th" BENCH_CALLS="$calls" BENCH_REPS="$reps" \
      cargo bench --bench inference --quiet)"$'\n'
    echo "bench_inference: round $round of $rounds, $th thread(s): torch" >&2
    raw+="$("$venv/bin/python" scripts/reference_model.py --weights "$weights" --infer \
      --threads "$th" --calls "$calls" --reps "$reps")"$'\n'
  done
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

# The median of the numbers on stdin, one per line (nothing for none).
median_in() {
  sort -g | awk '{v[NR] = $1} END {if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'
}
# The median over the rounds of KEY in the lines that start with PREFIX.
median() {
  grep "^$1" <<< "$raw" | sed -n "s/.* $2=\([^ ]*\).*/\1/p" | median_in
}
# value PATH BATCH THREADS KEY
value() {
  median "$1_infer batch=$2 threads=$3 " "$4"
}
# ratio NUM DEN BATCH THREADS: the median over the rounds of NUM's p50 over DEN's p50, each
# round's pair measured minutes apart at most (the ratio is steadier than either time).
ratio() {
  paste -d' ' \
    <(grep "^$1_infer batch=$3 threads=$4 " <<< "$raw" | sed -n 's/.* p50_us=\([^ ]*\).*/\1/p') \
    <(grep "^$2_infer batch=$3 threads=$4 " <<< "$raw" | sed -n 's/.* p50_us=\([^ ]*\).*/\1/p') |
    awk '$1 != "" && $2 != "" {print $1 / $2}' | median_in
}
table="$(
  echo "| threads | batch | fused p50 µs | burn p50 µs | torch p50 µs | fused p99 µs | torch p99 µs | fused w/s | burn w/s | torch w/s | torch/fused time (median of rounds) | burn/fused time (median of rounds) | GFLOP/s fused / burn / torch (sgemm ceiling) |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  for th in $thread_counts; do
    ceiling="$(median "sgemm threads=$th " gflops)"
    model_flops="$(median "sgemm threads=$th " flops_per_window)"
    for b in 1 64 256; do
      fp="$(value fused "$b" "$th" p50_us)"; bp="$(value burn "$b" "$th" p50_us)"
      tp="$(value torch "$b" "$th" p50_us)"
      awk -v th="$th" -v b="$b" -v fp="$fp" -v bp="$bp" -v tp="$tp" \
        -v f99="$(value fused "$b" "$th" p99_us)" -v t99="$(value torch "$b" "$th" p99_us)" \
        -v fw="$(value fused "$b" "$th" windows_per_s)" -v bw="$(value burn "$b" "$th" windows_per_s)" \
        -v tw="$(value torch "$b" "$th" windows_per_s)" -v gf="$(value fused "$b" "$th" gflops)" \
        -v bg="$(value burn "$b" "$th" gflops)" -v mf="$model_flops" \
        -v tr="$(ratio torch fused "$b" "$th")" -v br="$(ratio burn fused "$b" "$th")" \
        -v ceil="$ceiling" 'BEGIN {
          printf "| %s | %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f | %.2f | %.0f / %.0f / %.0f (%.0f) |\n",
            th, b, fp, bp, tp, f99, t99, fw, bw, tw, tr, br, gf, bg, tw * mf / 1e9, ceil }'
    done
  done
)"
report="$(
  echo "Inference, models/default (T 60, F 32, d 128), $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, median of $rounds rounds"
  echo "load average before: $load_before, after: $load_after"
  echo
  echo "$table"
  echo
  echo "Goals: batch 1 torch/fused >= 2.0 (fused p50 <= 0.5x torch's); batches 64 and 256 torch/fused >= 2.0."
  echo
  echo "$raw"
)"
echo "$report" > "$out_dir/bench_inference.txt"
echo "$report"
