#!/usr/bin/env bash
# The GPU check (issue 11): one command on a GPU machine that prints the device, checks the
# engine's CUDA copies of a bundle against its CPU forward on real windows, times inference and
# training steps in f32 and bf16, trains a few epochs in each precision for their test metrics,
# runs the PyTorch reference of the same model (cuDNN LSTM) on the same GPU, and writes one JSON
# file and a table with the ratios.
#
#   scripts/gpu-check.sh prepare     here: builds the release binary with `--features cuda` into
#                                    .gpu-check/signal-engine.gz (ignored; carry it to the GPU
#                                    machine, which has no Rust toolchain)
#   scripts/gpu-check.sh [--out DIR] on the GPU machine (device tool: carry [".gpu-check"]);
#                                    DIR defaults to $OUT, else target/gpu-check
#   scripts/gpu-check.sh --cpu-only [--bin PATH] [--out DIR]
#                                    the same steps on the CPU with small sizes (CI runs this:
#                                    the fused and burn CPU forwards checked and timed, the
#                                    weights exported and checked by the NumPy reference)
#
# The model is models/default and the windows come from tests/fixtures/klines/demo (both in the
# repository, so they travel with the working tree). The GPU machine's PyTorch, NVRTC and driver
# are found there; nothing is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=gpu bin="" out="${OUT:-target/gpu-check}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    prepare) mode=prepare ;;
    --cpu-only) mode=cpu ;;
    --bin) bin="$2"; shift ;;
    --out) out="$2"; shift ;;
    *) echo "gpu-check.sh: unknown argument $1 (prepare | --cpu-only | --bin PATH | --out DIR)" >&2; exit 2 ;;
  esac
  shift
done

if [[ $mode == prepare ]]; then
  cargo build --locked --release --features cuda --bin signal-engine
  mkdir -p .gpu-check
  # Stripped and compressed (≈ 13 MB from ≈ 290 MB with line tables), the binary and the working
  # tree fit the device tool's 64 MiB transfer.
  objcopy --strip-all target/release/signal-engine .gpu-check/signal-engine
  gzip -9f .gpu-check/signal-engine
  ls -l .gpu-check/signal-engine.gz
  exit 0
fi

model=models/default
data=tests/fixtures/klines/demo
mkdir -p "$out"
log="$out/gpu-check.log"
: >"$log"
py=${SIGNAL_ENGINE_PYTHON:-python3}

if [[ $mode == cpu ]]; then
  bin=${bin:-target/debug/signal-engine}
  device=cpu batches=1,64 train_batches=32 seconds=0.3 fit_epochs=1
else
  if [[ -z $bin && -f .gpu-check/signal-engine.gz ]]; then
    bin=$(mktemp -d)/signal-engine
    gunzip -c .gpu-check/signal-engine.gz >"$bin"
    chmod +x "$bin"
  fi
  # Sized for the device tool: one call of a few minutes, kernels compiled and autotuned on first use.
  device=cuda:0 batches=1,64,1024,8192 train_batches=256,4096 seconds=1 fit_epochs=2
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee -a "$log" || true
  # burn-cuda loads libcuda (the driver) and libnvrtc (it compiles its kernels at run time):
  # the toolkit's, else the one PyTorch's wheels carry.
  nvrtc=$("$py" -c 'import os, nvidia.cuda_nvrtc as m; print(os.path.join(list(m.__path__)[0], "lib"))' 2>/dev/null || true)
  export LD_LIBRARY_PATH="/usr/local/cuda/lib64:/usr/local/nvidia/lib64:${nvrtc}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
[[ -x $bin ]] || { echo "gpu-check.sh: no binary at ${bin:-.gpu-check/signal-engine.gz} (run 'scripts/gpu-check.sh prepare' first)" >&2; exit 1; }

# One device-check per precision: burn 0.21 keeps one default float type per device and process.
precisions=f32
[[ $mode == gpu ]] && precisions="f32 bf16"
engine_rc=0 engine_json=()
for precision in $precisions; do
  set +e
  "$bin" device-check --device "$device" --precision "$precision" --model "$model" \
    --data "$data" --batches "$batches" --train-batches "$train_batches" --seconds "$seconds" \
    --fit-epochs "$fit_epochs" --out "$out/engine-$precision.json" 2>&1 | tee -a "$log"
  rc=${PIPESTATUS[0]}
  set -e
  [[ $rc == 0 ]] || engine_rc=$rc
  [[ -f $out/engine-$precision.json ]] && engine_json+=(--engine "$out/engine-$precision.json")
done
if [[ ${#engine_json[@]} == 0 ]]; then
  echo "gpu-check.sh: device-check wrote no result (see $log)" >&2
  exit $((engine_rc == 0 ? 1 : engine_rc))
fi

# The weights stay out of $out: the device tool brings back at most 8 files.
weights=$(mktemp -d)/weights.safetensors
"$bin" export-weights --model "$model" --out "$weights" 2>&1 | tee -a "$log"
torch_json=""
if [[ $mode == cpu ]]; then
  # The outside reference that CI has (the oracle venv: NumPy): the exported weights reproduce
  # the engine's outputs, so the timed model is the one the reference would time.
  "$py" scripts/reference_numpy.py "$weights" 2>&1 | tee -a "$log"
elif PYTHONUNBUFFERED=1 "$py" scripts/reference_model.py --weights "$weights" --device cuda \
    --check --infer --batches "$batches" --train-batches "$train_batches" --bf16 --reps 20 \
    --json "$out/torch.json" 2>&1 | tee -a "$log"; then
  torch_json="$out/torch.json"
else
  echo "gpu-check.sh: the PyTorch reference failed (see $log); the table has no torch columns" >&2
  engine_rc=$((engine_rc == 0 ? 1 : engine_rc))
fi
"$py" scripts/gpu_check_report.py "${engine_json[@]}" ${torch_json:+--torch "$torch_json"} \
  --json "$out/gpu-check.json" | tee "$out/gpu-check.md"
exit "$engine_rc"
