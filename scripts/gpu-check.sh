#!/usr/bin/env bash
# GPU check: the Cuda tests and the GPU benchmarks (cell table, whole-model train step) on a machine with an NVIDIA GPU;
# a summary under $OUT.
#
# Two ways to run it:
#  - on a machine with the .NET 10 SDK and a GPU:   scripts/gpu-check.sh
#  - on a GPU machine with no .NET at all (the lent device here): first, on a machine with the SDK,
#      scripts/gpu-check.sh --stage        # builds Release, stages .gpu/ (runtime + build outputs)
#    then carry .gpu/ to the GPU machine and run scripts/gpu-check.sh there: it unpacks the staged runtime.
#    `scripts/gpu-check.sh --staged` takes that path even where an SDK exists (a dry run of the staged app).
#
# In order of value, each stage time-boxed so the whole run fits ~8 minutes of a 15-minute device lease
# (override: CUDA_TESTS_S, CELL_S, STEP_S seconds): the Cuda tests (every kernel and GpuBackend against the CPU on
# the hardware, each case once, through the test assembly's own NUnit runner), the cell table (CPU vs GPU, % of
# the peak measured there), the whole-model train step (CPU vs GPU, both batch modes) with the projected Dataset-I
# epoch. summary.md is written whatever a stage did.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-./gpu-results}
mkdir -p "$OUT"
# The cell table (hand-timed medians, napkin math, measured peaks) always runs; BenchmarkDotNet's
# GpuCellBenchmarks only with BENCH_BDN=1 (24 cases: ~3 more minutes on an H200).
# 2048x64 first (the 40%-of-peak target), then 16x64: a SharedPrefix batch's few sequences, where a step is
# bound by its latency (fwd ms / 300 = the per-step cost that the Dataset-I projection scales).
CELL_SIZES=${CELL_SIZES:-2048x64,16x64,256x64,256x128,2048x128,256x67,2048x67}
CELL_REPS=${CELL_REPS:-3}; STEP_REPS=${STEP_REPS:-3}
CUDA_TESTS_S=${CUDA_TESTS_S:-180}; CELL_S=${CELL_S:-150}; STEP_S=${STEP_S:-120}
BENCH_FILTER=${BENCH_FILTER:-'*GpuCell*'}
# Offline NuGet: point NUGET_PACKAGES at a carried, pre-restored package folder; restore is skipped when obj/ is restored.
export NUGET_PACKAGES=${NUGET_PACKAGES:-$HOME/.nuget/packages}

if [ "${1:-}" = "--stage" ]; then
  set -e
  dotnet build Alpine.Tests -c Release -nologo -v q
  dotnet build Alpine.Bench -c Release -nologo -v q
  mkdir -p .gpu
  # The carried tree is size-limited: pack both build outputs, compressed.
  tmp=$(mktemp -d)
  cp -a Alpine.Tests/bin/Release/net10.0 "$tmp/tests"
  cp -a Alpine.Bench/bin/Release/net10.0 "$tmp/bench"
  tar cf - -C "$tmp" tests bench | xz -T2 -6 > .gpu/app.tar.xz && rm -rf "$tmp"
  if [ ! -f .gpu/dotnet-runtime.tar.xz ]; then
    root=$(dirname "$(readlink -f "$(command -v dotnet)")")
    tmp=$(mktemp -d)
    cp -a "$root/dotnet" "$root/host" "$tmp/"
    mkdir -p "$tmp/shared" && cp -a "$root/shared/Microsoft.NETCore.App" "$tmp/shared/"
    tar cJf .gpu/dotnet-runtime.tar.xz -C "$tmp" . && rm -rf "$tmp"
  fi
  du -sh .gpu
  exit 0
fi

staged=0; [ "${1:-}" = "--staged" ] && staged=1
t0=$(date +%s)
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv > "$OUT/gpu.txt" 2>&1
else
  echo "no nvidia-smi: no NVIDIA driver on this machine" > "$OUT/gpu.txt"
fi
cat "$OUT/gpu.txt"

if [ $staged = 0 ] && command -v dotnet >/dev/null 2>&1 && dotnet --list-sdks | grep -q '^10\.'; then
  restore=; [ -f Alpine.Tests/obj/project.assets.json ] && [ -f Alpine.Bench/obj/project.assets.json ] && restore=--no-restore
  dotnet build Alpine.Tests -c Release -nologo -v q $restore && dotnet build Alpine.Bench -c Release -nologo -v q $restore || exit 1
  DOTNET=dotnet; TESTS=Alpine.Tests/bin/Release/net10.0; BENCH=Alpine.Bench/bin/Release/net10.0
else
  [ -f .gpu/dotnet-runtime.tar.xz ] && [ -f .gpu/app.tar.xz ] || { echo "no .NET SDK here (or --staged) and no staged .gpu/ (run --stage on a machine with the SDK first)"; exit 1; }
  stage=${STAGE_DIR:-/tmp/alpine-gpu}
  rm -rf "$stage" && mkdir -p "$stage/dotnet" "$stage/app"
  tar xJf .gpu/dotnet-runtime.tar.xz -C "$stage/dotnet" && tar xJf .gpu/app.tar.xz -C "$stage/app" || exit 1
  export DOTNET_ROOT=$stage/dotnet
  DOTNET=$stage/dotnet/dotnet; TESTS=$stage/app/tests; BENCH=$stage/app/bench
fi
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
echo "setup: $(( $(date +%s) - t0 )) s" > "$OUT/stages.txt"

# run_stage NAME SECONDS LOG DIR CMD...: runs CMD in DIR under a timeout, logs it, records its status and time.
run_stage() {
  local name=$1 limit=$2 log=$3 dir=$4; shift 4
  local t=$(date +%s)
  echo "== $name (at most $limit s)"
  ( cd "$dir" && timeout "$limit" "$@" ) 2>&1 | tee "$OUT/$log"
  local rc=${PIPESTATUS[0]} what
  case $rc in 0) what=ok ;; 124) what="timed out after $limit s" ;; *) what="exit $rc" ;; esac
  echo "$name: $what, $(( $(date +%s) - t )) s" >> "$OUT/stages.txt"
  return $rc
}

# The test assembly is its own runner (NUnit on Microsoft.Testing.Platform). Exit code 8 means every test was
# skipped (no CUDA device): the summary says so, and the benchmarks still run.
run_stage "Cuda tests" "$CUDA_TESTS_S" cuda-tests.log "$TESTS" \
  "$DOTNET" Alpine.Tests.dll --filter "TestCategory=Cuda" --ignore-exit-code 8 --no-progress --no-ansi --results-directory /tmp/alpine-cuda-tests
tests_rc=$?
# "N passed, N failed, N skipped" from the runner's closing counts (succeeded, failed, skipped).
count() { grep -E "^ +$1: [0-9]+" "$OUT/cuda-tests.log" | tail -n 1 | grep -oE '[0-9]+' || echo "?"; }
echo "$(count succeeded) passed, $(count failed) failed, $(count skipped) skipped" > "$OUT/cuda-tests.txt"
rm -f /tmp/cell-report.md /tmp/step-report.md
run_stage "GPU cell table ($CELL_SIZES)" "$CELL_S" cell-report.log "$BENCH" \
  "$DOTNET" Alpine.Bench.dll gpu-cell-report --sizes "$CELL_SIZES" --reps "$CELL_REPS" --out /tmp/cell-report.md
cp /tmp/cell-report.md "$OUT/" 2>/dev/null
run_stage "Whole-model train step and Dataset-I epoch projection" "$STEP_S" step-report.log "$BENCH" \
  "$DOTNET" Alpine.Bench.dll gpu-step-report --reps "$STEP_REPS" --out /tmp/step-report.md
cp /tmp/step-report.md "$OUT/" 2>/dev/null

if [ "${BENCH_BDN:-0}" = 1 ]; then
  run_stage "GPU benchmarks ($BENCH_FILTER)" 300 bench.log "$BENCH" \
    "$DOTNET" Alpine.Bench.dll --inprocess --filter "$BENCH_FILTER" --artifacts /tmp/bdn
  cp /tmp/bdn/results/*-report-github.md "$OUT/" 2>/dev/null
fi

# A table whose stage timed out still has its finished rows in the log.
table() { [ -f "$OUT/$1.md" ] && cat "$OUT/$1.md" || { echo "($1: incomplete, the rows it printed:)"; grep -E '^(\||#|GPU|CPU)' "$OUT/$1.log"; }; }
{
  echo "# GPU check $(date -u '+%F %H:%M') UTC ($(( $(date +%s) - t0 )) s in all)"
  echo; echo '```'; cat "$OUT/gpu.txt"; cat "$OUT/stages.txt"; echo '```'
  echo; echo "Cuda tests: $(cat "$OUT/cuda-tests.txt")"
  grep -E '^(failed|skipped) ' "$OUT/cuda-tests.log" | head -20 | sed 's/^/    /'
  echo; table cell-report
  echo; table step-report
  echo; for f in "$OUT"/*-report-github.md; do [ -f "$f" ] && cat "$f"; done
} > "$OUT/summary.md"
cat "$OUT/summary.md"
exit $tests_rc
