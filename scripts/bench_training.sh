#!/usr/bin/env bash
# Training speed of the default SignalNet on CPU, burn (flex + autodiff) next to a PyTorch reference
# of the same architecture and sizes (issue 4, "Speed"): windows/s of full training steps (forward,
# loss, backward, Adam + grad-norm clipping) at batch 256, both on this machine, one after the other,
# with the same number of threads. Prints a table with the ratio burn/torch (goal: >= 1.0) and
# writes it, with the raw lines, to $CARGO_TARGET_DIR (or target/)/bench_training.txt.
#
# Usage: scripts/bench_training.sh [--breakdown]
#   --breakdown   also time one BiLSTM layer and the attention block alone in both, and the
#                 experimental fused BiLSTM in burn (benches/training.rs)
# Env: BENCH_STEPS (timed steps, default 10; each side reports its median step), BENCH_BATCH (default 256), BENCH_THREADS (default
#      nproc), BENCH_VENV (default .venv-bench).
#
# PyTorch comes from PyPI, pinned in scripts/bench-requirements.txt and installed with --no-deps:
# that file says why it lists NVIDIA runtime wheels although nothing runs on a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."

breakdown=0
for arg in "$@"; do
  case "$arg" in
    --breakdown) breakdown=1 ;;
    *) echo "usage: $0 [--breakdown]" >&2; exit 2 ;;
  esac
done
steps="${BENCH_STEPS:-10}"
batch="${BENCH_BATCH:-256}"
threads="${BENCH_THREADS:-$(nproc)}"
venv="${BENCH_VENV:-.venv-bench}"
out_dir="${CARGO_TARGET_DIR:-target}"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  # Keeps the venv out of git without touching .gitignore (what Python 3.13's venv does itself).
  echo '*' > "$venv/.gitignore"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps \
  -r scripts/bench-requirements.txt

echo "bench_training: building benches/training.rs (release)" >&2
cargo bench --bench training --no-run --quiet

# Same thread count for both: rayon (burn-flex's pool) and torch's intra-op pool.
# Other work on the machine skews both sides; the load average in the report shows it.
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "bench_training: burn, batch $batch, $steps steps, $threads threads" >&2
burn_out="$(RAYON_NUM_THREADS="$threads" BENCH_STEPS="$steps" BENCH_BATCH="$batch" \
  BENCH_BREAKDOWN="$breakdown" cargo bench --bench training --quiet)"
echo "bench_training: torch, batch $batch, $steps steps, $threads threads" >&2
torch_args=(--batch "$batch" --steps "$steps" --threads "$threads")
if [ "$breakdown" = 1 ]; then torch_args+=(--breakdown); fi
torch_out="$("$venv/bin/python" scripts/reference_model.py "${torch_args[@]}")"

# field OUTPUT PREFIX KEY [NAME]: value of KEY= on the line starting with PREFIX (and name=NAME).
field() {
  local line
  line="$(grep "^$2 " <<< "$1" | grep -- "${4:+name=$4 }" | head -n 1 || true)"
  sed -n "s/.* $3=\([^ ]*\).*/\1/p" <<< " $line"
}
bw="$(field "$burn_out" burn_train windows_per_s)"
tw="$(field "$torch_out" torch_train windows_per_s)"
bp="$(field "$burn_out" burn_train params)"
tp="$(field "$torch_out" torch_train params)"
if [ -z "$bw" ] || [ -z "$tw" ]; then
  echo "bench_training: missing result lines" >&2
  printf '%s\n%s\n' "$burn_out" "$torch_out" >&2
  exit 1
fi
ratio="$(awk -v b="$bw" -v t="$tw" 'BEGIN { printf "%.3f", b / t }')"
cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"

report() {
  echo "Training step, default SignalNet (F=9, T=60, d=128, 4 heads, d_hidden 64, dropout 0.2)"
  echo "batch $batch, median of $steps timed steps after 1 warm-up, $threads threads, ${cpu:-unknown CPU}"
  echo "load average before / after: $load_before / $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  printf '%-12s %11s %9s %8s %8s %8s %8s\n' "" windows/s step_ms fwd_ms bwd_ms optim_ms params
  printf '%-12s %11s %9s %8s %8s %8s %8s\n' "burn flex" "$bw" \
    "$(field "$burn_out" burn_train step_ms)" "$(field "$burn_out" burn_phases forward_ms)" \
    "$(field "$burn_out" burn_phases backward_ms)" "$(field "$burn_out" burn_phases optim_ms)" "$bp"
  printf '%-12s %11s %9s %8s %8s %8s %8s\n' "torch $("$venv/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])')" "$tw" \
    "$(field "$torch_out" torch_train step_ms)" "$(field "$torch_out" torch_phases forward_ms)" \
    "$(field "$torch_out" torch_phases backward_ms)" "$(field "$torch_out" torch_phases optim_ms)" "$tp"
  echo
  echo "ratio burn/torch (windows/s): $ratio   (goal: >= 1.0)"
  if [ "$bp" != "$tp" ]; then
    echo "WARNING: parameter counts differ ($bp vs $tp): not the same architecture size"
  fi
  if [ "$breakdown" = 1 ]; then
    echo
    printf '%-22s %11s %11s\n' "one layer, [$batch,60,128]" forward_ms fwd_bwd_ms
    for name in bilstm fused_bilstm attention; do
      printf '%-22s %11s %11s\n' "burn $name" "$(field "$burn_out" burn_layer forward_ms "$name")" \
        "$(field "$burn_out" burn_layer fwd_bwd_ms "$name")"
    done
    for name in bilstm attention; do
      printf '%-22s %11s %11s\n' "torch $name" "$(field "$torch_out" torch_layer forward_ms "$name")" \
        "$(field "$torch_out" torch_layer fwd_bwd_ms "$name")"
    done
  fi
  echo
  echo "raw:"
  printf '%s\n%s\n' "$burn_out" "$torch_out"
}
mkdir -p "$out_dir"
report | tee "$out_dir/bench_training.txt"
echo "bench_training: written to $out_dir/bench_training.txt" >&2
