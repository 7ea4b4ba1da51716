#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets) for a while, one after
# another, and prints one line per target: executions, seconds, outcome.
#
#   [FUZZ_RUNS=N] scripts/fuzz-smoke.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# The committed seeds (fuzz/corpus/<target>) are read, never written: new
# inputs go to fuzz/corpus-run/<target>, crashes to fuzz/artifacts/<target>.
# A crash input belongs in fuzz/corpus/<target> once fixed: tests/fuzz_corpus.rs
# replays that folder in the normal test suite.
#
# Not run by .ci/run: a cold build of the fuzz targets takes ~15 minutes on
# CI's 2 cores; CI replays the corpora with the stable toolchain instead.
set -uo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-10}"
# Stop a target at this many executions even if time remains.
runs="${FUZZ_RUNS:--1}"
# Scratch files of the file-based targets: in memory where possible.
[ -d /dev/shm ] && [ -w /dev/shm ] && export TMPDIR=/dev/shm
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(ls fuzz_targets | sed 's/\.rs$//')
fi
cargo +nightly fuzz build -s none --release >/dev/null || { echo "fuzz build failed" >&2; exit 1; }
# Run the built binaries directly: `cargo fuzz run` would rebuild whenever a
# source file changed meanwhile.
bin="target/$(rustc -vV | sed -n 's/^host: //p')/release"
status=0
for t in "${targets[@]}"; do
  mkdir -p "corpus-run/$t" "artifacts/$t"
  log="artifacts/$t/last-run.log"
  start=$(date +%s)
  "$bin/$t" "corpus-run/$t" "corpus/$t" \
    -max_total_time="$secs" -runs="$runs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="artifacts/$t/" >"$log" 2>&1
  rc=$?
  end=$(date +%s)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  if [ "$rc" -eq 0 ]; then outcome=ok; else outcome="FAILED (rc $rc, see fuzz/$log)"; status=1; fi
  printf '%-16s %10s execs %5ss  %s\n' "$t" "${execs:-?}" "$((end - start))" "$outcome"
done
exit "$status"
