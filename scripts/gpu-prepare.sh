#!/usr/bin/env bash
# Prepare, on this machine, everything scripts/gpu-check.sh needs on a GPU
# machine that has nvcc and cmake but no Rust toolchain and no network:
#
#   scripts/gpu-prepare.sh [SHARED_DIR]        (default ../shared)
#
# Writes .work/gpu/ (ignored by git; name it among the paths that travel):
#   bundle/                 the dynamic-backends build (scripts/gpu-bundle.sh)
#   llama.cpp-src.tar.gz    llama.cpp with its tools, from the llama-cpp-python
#                           0.3.36 sdist (for llama-bench and llama-quantize)
#   py/                     the pure-Python gguf package (the model synthesizer)
#   shared-gpu/             the shared GPU scripts and the tokenizer GGUF
#   data/                   the code tables and the unlabelled CCL25 records
# and checks that the whole lot travels (under 64 MiB with the working tree).
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${1:-../shared}"
out=.work/gpu
mkdir -p "$out"

[[ -d "$shared/gpu" ]] || { echo "no $shared/gpu: pass the shared folder" >&2; exit 1; }

echo "building the dynamic-backends binary (llama.cpp as loadable modules)"
cargo build --release --quiet --features dynamic-backends
scripts/gpu-bundle.sh "$out/bundle" >/dev/null

if [[ ! -f "$out/llama.cpp-src.tar.gz" ]]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    python3 -m pip download -q --no-deps --no-binary :all: -d "$tmp" llama-cpp-python==0.3.36
    tar -xzf "$tmp"/llama_cpp_python-0.3.36.tar.gz -C "$tmp"
    tar -C "$tmp/llama_cpp_python-0.3.36/vendor" --exclude=llama.cpp/docs \
        --exclude='llama.cpp/models/*.gguf' -czf "$out/llama.cpp-src.tar.gz" llama.cpp
fi
[[ -d "$out/py/gguf" ]] ||
    python3 -m pip install -q --disable-pip-version-check --no-deps --target "$out/py" gguf==0.19.0

mkdir -p "$out/shared-gpu" "$out/data"
cp "$shared"/gpu/*.sh "$shared"/gpu/*.py "$shared/models/qwen2-vocab.gguf" "$out/shared-gpu/"
cp "$shared/data/terminology/gl2-diagnoses.dat" "$shared/data/terminology/gl3-procedures.dat" \
    "$shared/data/records/ccl25-unlabelled.json" "$out/data/"

tree_kb=$(git ls-files -co --exclude-standard -z | du -ck --files0-from=- | tail -1 | cut -f1)
carry_kb=$(du -sk "$out" | cut -f1)
total_mb=$(((tree_kb + carry_kb) / 1024))
echo "working tree $((tree_kb / 1024)) MB + .work/gpu $((carry_kb / 1024)) MB = $total_mb MB"
if ((total_mb >= 63)); then
    echo "too much to travel (64 MiB at most): trim .work/gpu" >&2
    exit 1
fi
echo "ready: on the GPU machine, with .work/gpu carried: scripts/gpu-check.sh"
