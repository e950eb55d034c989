#!/usr/bin/env bash
# GPU check: the Cuda tests and the GPU benchmarks (cell table, whole-model train step) on a machine with an NVIDIA GPU;
# a summary under $OUT.
#
# Two ways to run it:
#  - on a machine with the .NET 10 SDK and a GPU:   scripts/gpu-check.sh
#  - on a GPU machine with no .NET at all (the lent device here): first, on a machine with the SDK,
#      scripts/gpu-check.sh --stage        # builds Release, stages .gpu/ (runtime + build outputs)
#    then carry .gpu/ to the GPU machine and run scripts/gpu-check.sh there: it unpacks the staged runtime.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-./gpu-results}
mkdir -p "$OUT"
# The cell table (hand-timed medians, napkin math, measured peaks) always runs; BenchmarkDotNet's
# GpuCellBenchmarks only with BENCH_BDN=1 (24 cases: ~3 more minutes on an H200).
CELL_SIZES=${CELL_SIZES:-256x64,2048x64,256x128,2048x128,256x67,2048x67}
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

nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv | tee "$OUT/gpu.txt"

if command -v dotnet >/dev/null 2>&1 && dotnet --list-sdks | grep -q '^10\.'; then
  restore=; [ -f Alpine.Tests/obj/project.assets.json ] && [ -f Alpine.Bench/obj/project.assets.json ] && restore=--no-restore
  dotnet build Alpine.Tests -c Release -nologo -v q $restore && dotnet build Alpine.Bench -c Release -nologo -v q $restore || exit 1
  DOTNET=dotnet; TESTS=Alpine.Tests/bin/Release/net10.0; BENCH=Alpine.Bench/bin/Release/net10.0
else
  [ -f .gpu/dotnet-runtime.tar.xz ] || { echo "no .NET SDK here and no staged .gpu/ (run --stage elsewhere first)"; exit 1; }
  mkdir -p /tmp/dotnet /tmp/alpine-app
  tar xJf .gpu/dotnet-runtime.tar.xz -C /tmp/dotnet && tar xJf .gpu/app.tar.xz -C /tmp/alpine-app || exit 1
  export DOTNET_ROOT=/tmp/dotnet
  DOTNET=/tmp/dotnet/dotnet; TESTS=/tmp/alpine-app/tests; BENCH=/tmp/alpine-app/bench
fi
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

echo "== Cuda tests"
( cd "$TESTS" && timeout 240 "$DOTNET" Alpine.Tests.dll --category Cuda ) 2>&1 | tee "$OUT/cuda-tests.log"
tests_rc=${PIPESTATUS[0]}

echo "== GPU cell table ($CELL_SIZES)"
( cd "$BENCH" && timeout 300 "$DOTNET" Alpine.Bench.dll gpu-cell-report --sizes "$CELL_SIZES" --out /tmp/cell-report.md ) 2>&1 | tee "$OUT/cell-report.log"
cp /tmp/cell-report.md "$OUT/" 2>/dev/null

echo "== Whole-model train step (CPU vs GPU backend, both batch modes)"
( cd "$BENCH" && timeout 300 "$DOTNET" Alpine.Bench.dll gpu-step-report --out /tmp/step-report.md ) 2>&1 | tee "$OUT/step-report.log"
cp /tmp/step-report.md "$OUT/" 2>/dev/null

if [ "${BENCH_BDN:-0}" = 1 ]; then
  echo "== GPU benchmarks ($BENCH_FILTER)"
  ( cd "$BENCH" && timeout 300 "$DOTNET" Alpine.Bench.dll --inprocess --filter "$BENCH_FILTER" --artifacts /tmp/bdn ) 2>&1 | tee "$OUT/bench.log"
  cp /tmp/bdn/results/*-report-github.md "$OUT/" 2>/dev/null
fi

{
  echo "# GPU check $(date -u +%F)"
  echo; echo '```'; cat "$OUT/gpu.txt"; echo '```'
  echo; echo "Cuda tests: $(tail -n 1 "$OUT/cuda-tests.log")"
  grep -E '^(FAIL|SKIP)' "$OUT/cuda-tests.log" | head -20 | sed 's/^/    /'
  echo; [ -f "$OUT/cell-report.md" ] && cat "$OUT/cell-report.md" || echo "cell table: failed, see cell-report.log"
  echo; [ -f "$OUT/step-report.md" ] && cat "$OUT/step-report.md" || echo "train-step table: failed, see step-report.log"
  echo; for f in "$OUT"/*-report-github.md; do [ -f "$f" ] && cat "$f"; done
} > "$OUT/summary.md"
cat "$OUT/summary.md"
exit $tests_rc
