#!/usr/bin/env bash
# Assemble what a GPU machine without a Rust toolchain needs to run icdflow
# with llama.cpp on CUDA (the `dynamic-backends` route of shared/gpu/README.md).
#
#   cargo build --release --features dynamic-backends     # here, first
#   scripts/gpu-bundle.sh OUT_DIR [CPU_VARIANTS...]
#
# OUT_DIR then holds (about 20 MB, debug info stripped):
#   bin/icdflow              the binary
#   lib/                     libllama, libllama-common, libggml, libggml-base
#   backends/                CPU backend modules (default: x64 haswell icelake zen4;
#                            never sapphirerapids, whose AMX code dies in VMs)
#   llama-cpp-sys-2-*.crate  llama.cpp source, to build libggml-cuda.so there
#   run.sh                   on the GPU machine: builds libggml-cuda.so once
#                            (about 4 minutes; ARCH defaults to 90 = H100/H200)
#                            and runs `bin/icdflow "$@"` with the environment set.
set -euo pipefail

out="${1:?usage: $0 OUT_DIR [CPU_VARIANTS...]}"
shift
variants=("$@")
[[ ${#variants[@]} -gt 0 ]] || variants=(x64 haswell icelake zen4)

target="${CARGO_TARGET_DIR:-$(cd "$(dirname "$0")/.." && pwd)/target}"
bin="${BIN:-$target/release/icdflow}"
# The newest llama-cpp-sys build that has backend modules = the dynamic one.
sys_out=$(ls -dt "$target"/release/build/llama-cpp-sys-2-*/out 2>/dev/null |
    while read -r d; do [[ -d "$d/backends" ]] && { echo "$d"; break; }; done || true)
if [[ -z "$sys_out" ]]; then
    echo "no dynamic-backends build under $target/release/build; run:" >&2
    echo "  cargo build --release --features dynamic-backends" >&2
    exit 1
fi
[[ -x "$bin" ]] || { echo "binary $bin missing" >&2; exit 1; }
crate=$(ls ~/.cargo/registry/cache/*/llama-cpp-sys-2-*.crate 2>/dev/null | sort -V | tail -1)
[[ -n "$crate" ]] || { echo "llama-cpp-sys-2 crate file not found in ~/.cargo/registry/cache" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out/bin" "$out/lib" "$out/backends"
strip --strip-debug -o "$out/bin/icdflow" "$bin"
for name in libllama libllama-common libggml libggml-base; do
    real=$(ls "$sys_out"/build/bin/"$name".so.*.* 2>/dev/null | head -1)
    [[ -n "$real" ]] || { echo "$name.so not found in $sys_out/build/bin" >&2; exit 1; }
    base=$(basename "$real")
    strip --strip-debug -o "$out/lib/$base" "$real"
    # The binary asks for libX.so.0; keep the usual chain of names.
    soname=$(echo "$base" | sed -E 's/(\.so\.[0-9]+)\..*/\1/')
    ln -sf "$base" "$out/lib/$soname"
    ln -sf "$soname" "$out/lib/$name.so"
done
for v in "${variants[@]}"; do
    f="$sys_out/backends/libggml-cpu-$v.so"
    [[ -f "$f" ]] || { echo "no CPU backend '$v' in $sys_out/backends" >&2; exit 1; }
    strip --strip-debug -o "$out/backends/$(basename "$f")" "$f"
done
cp "$crate" "$out/"

cat >"$out/run.sh" <<'RUN'
#!/usr/bin/env bash
# Run icdflow on the GPU machine. Builds libggml-cuda.so on first use.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
arch="${ARCH:-90}"
cuda_out="${CUDA_OUT:-/tmp/ggml-cuda}"
if [[ ! -f "$here/backends/libggml-cuda.so" ]]; then
    script="${BUILD_GGML_CUDA:-$here/../shared/gpu/build-ggml-cuda.sh}"
    [[ -f "$script" ]] || { echo "set BUILD_GGML_CUDA to shared/gpu/build-ggml-cuda.sh" >&2; exit 1; }
    bash "$script" "$(ls "$here"/llama-cpp-sys-2-*.crate | head -1)" "$cuda_out" "$arch" >&2
    cp "$(find "$cuda_out" -name 'libggml-cuda.so' | head -1)" "$here/backends/"
fi
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export ICDFLOW_GGML_BACKENDS="$here/backends"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
exec "$here/bin/icdflow" "$@"
RUN
chmod +x "$out/run.sh"
du -sh "$out"
