#!/usr/bin/env bash
# GPU figures in one call on a GPU machine (nvcc, cmake, Python; no Rust, no
# network), from the repository root with .work/gpu carried
# (scripts/gpu-prepare.sh makes it here):
#
#   scripts/gpu-check.sh [OUT_DIR]       (default: $OUT, else /tmp/gpu-check)
#   scripts/gpu-check.sh --plan          only check the inputs and say what runs
#
# Runs, in under 10 minutes on 16 cores:
#   1. builds libggml-cuda.so for the bundle and llama.cpp's tools, side by side;
#   2. makes a Qwen3-1.7B-shaped random-weight model, quantized to Q4_K_M;
#   3. llama-bench on it (prompt 512 and 2048, generation 128, all layers on
#      the GPU, flash attention);
#   4. icdflow bench with the seven agents on that model over N records of
#      ccl25-unlabelled.json (shared prefix; naive path on a few);
#   5. scripts/gpu-figures.py: latency, records/s, GPU memory, and the ratio
#      to llama-bench's rates, into OUT_DIR/figures.{txt,json}.
# Every step's log is in OUT_DIR; a failed step names its log.
set -euo pipefail
cd "$(dirname "$0")/.."
in="${GPU_INPUTS:-.work/gpu}"
records="${RECORDS:-200}"
naive="${NAIVE:-10}"
arch="${ARCH:-90}"

plan=0
if [[ "${1:-}" == "--plan" ]]; then plan=1; shift; fi
out="${1:-${OUT:-/tmp/gpu-check}}"

missing=()
for p in bundle/run.sh bundle/bin/icdflow llama.cpp-src.tar.gz py/gguf shared-gpu/synth_gguf.py \
    shared-gpu/build-llama-tools.sh shared-gpu/build-ggml-cuda.sh shared-gpu/qwen2-vocab.gguf \
    data/gl2-diagnoses.dat data/gl3-procedures.dat data/ccl25-unlabelled.json; do
    [[ -e "$in/$p" ]] || missing+=("$in/$p")
done
if ((${#missing[@]})); then
    printf 'missing: %s\n' "${missing[@]}" >&2
    echo "run scripts/gpu-prepare.sh here first, and carry .work/gpu" >&2
    exit 1
fi
if ((plan)); then
    echo "inputs complete; would build CUDA ($arch), synthesize qwen3-1.7b Q4_K_M,"
    echo "run llama-bench, and icdflow bench on $records records ($naive naive) into $out"
    exit 0
fi
command -v nvcc >/dev/null || { echo "no nvcc: this is not the GPU machine" >&2; exit 1; }

mkdir -p "$out"
step() { echo "[$(date +%T)] $*"; }
fail() { echo "FAILED: $1 (log: $2)" >&2; tail -20 "$2" >&2; exit 1; }

step "building libggml-cuda.so and llama.cpp's tools in parallel"
(BUILD_GGML_CUDA="$PWD/$in/shared-gpu/build-ggml-cuda.sh" CUDA_OUT=/tmp/ggml-cuda ARCH="$arch" \
    "$in/bundle/run.sh" --version) >"$out/cuda-module.log" 2>&1 &
cuda_pid=$!
bash "$in/shared-gpu/build-llama-tools.sh" "$in/llama.cpp-src.tar.gz" /tmp/llama-tools "$arch" \
    >"$out/llama-tools.log" 2>&1 &
tools_pid=$!

step "synthesizing the model (F16) meanwhile"
PYTHONPATH="$PWD/$in/py" python3 "$in/shared-gpu/synth_gguf.py" --preset qwen3-1.7b \
    --vocab "$in/shared-gpu/qwen2-vocab.gguf" --out /tmp/m-f16.gguf >"$out/synth.log" 2>&1 ||
    fail "model synthesis" "$out/synth.log"

wait "$tools_pid" || fail "llama.cpp tools build" "$out/llama-tools.log"
step "quantizing to Q4_K_M"
model=/tmp/m-q4_k_m.gguf
/tmp/llama-tools/build/bin/llama-quantize /tmp/m-f16.gguf "$model" Q4_K_M >"$out/quantize.log" 2>&1 ||
    fail "quantize" "$out/quantize.log"
step "llama-bench"
/tmp/llama-tools/build/bin/llama-bench -m "$model" -p 512,2048 -n 128 -ngl 99 -fa 1 -o json \
    >"$out/llama-bench.json" 2>"$out/llama-bench.log" || fail "llama-bench" "$out/llama-bench.log"

wait "$cuda_pid" || fail "CUDA module build" "$out/cuda-module.log"
step "icdflow bench: seven agents on the GPU, $records records"
cat >"$out/agents.toml" <<EOF
[model]
path = "$model"
gpu_layers = 999
flash_attn = true
n_ctx = 8192
n_seq_max = 16

[defaults]
temperature = 0.0

[agent.standardize_diagnosis]
template = "standardize.j2"
[agent.standardize_procedure]
template = "standardize.j2"
[agent.mine_procedure]
template = "mine.j2"
[agent.prioritize_diagnosis]
template = "prioritize.j2"
max_tokens = 16
[agent.prioritize_procedure]
template = "prioritize.j2"
max_tokens = 16
[agent.validate_diagnosis]
template = "validate.j2"
[agent.validate_procedure]
template = "validate.j2"
EOF
export ICDFLOW_DATA_DIR=/tmp/icdflow-data ICDFLOW_CONFIG=/tmp/icdflow-none.toml
tables=(--diag-table "$in/data/gl2-diagnoses.dat" --proc-table "$in/data/gl3-procedures.dat"
    --index-dir /tmp/icdflow-index --learned none --lang en)
"$in/bundle/run.sh" "${tables[@]}" index >"$out/index.log" 2>&1 || fail "index" "$out/index.log"
"$in/bundle/run.sh" "${tables[@]}" bench "$in/data/ccl25-unlabelled.json" --limit "$records" \
    --naive-limit "$naive" --agents "$out/agents.toml" --json >"$out/icdflow-bench.json" 2>"$out/icdflow-bench.log" ||
    fail "icdflow bench" "$out/icdflow-bench.log"

step "figures"
python3 scripts/gpu-figures.py "$out/llama-bench.json" "$out/icdflow-bench.json" "$out/figures.json" |
    tee "$out/figures.txt"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >>"$out/figures.txt" 2>/dev/null || true
