#!/usr/bin/env bash
# The benchmark, in one command: builds kilnc and bench/ in build-bench/
# (-DKILN_BUILD_BENCH=ON; never part of ctest) and runs every workload of
# issue 4 in one process, at 1 and 2 threads pinned with OMP_PROC_BIND=close,
# OMP_PLACES=cores. See bench/README.md.
#
#   bench/run.sh                           # build + run everything (a few minutes)
#   KILNC=/path/to/kilnc bench/run.sh      # use an existing kilnc: bench/ as its own CMake project
#   KILN_BENCH_CMAKE_ARGS="-DKILN_BENCH_FUSED=ON -DKILN_BENCH_UNFUSED_FLAGS=..." bench/run.sh
#   KILN_BENCH_FILTER=attention KILN_BENCH_THREADS=1 KILN_BENCH_BUDGET_S=0.2 bench/run.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${KILN_BENCH_BUILD_DIR:-$root/build-bench}
launcher=()
if command -v ccache > /dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
common=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang-22
        -DCMAKE_CXX_COMPILER=clang++-22 "${launcher[@]}")
# shellcheck disable=SC2206
extra=(${KILN_BENCH_CMAKE_ARGS:-})
if [[ -n "${KILNC:-}" ]]; then
  cmake -S "$root/bench" -B "$build/standalone" "${common[@]}" -DKILN_KILNC="$KILNC" "${extra[@]}" > /dev/null
  ninja -C "$build/standalone" kiln-bench
  exe=$build/standalone/kiln-bench
else
  cmake -S "$root" -B "$build" "${common[@]}" -DKILN_BUILD_BENCH=ON "${extra[@]}" > /dev/null
  ninja -C "$build" kiln-bench
  exe=$build/bench/kiln-bench
fi

echo "== machine"
lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|L1d|L2|L3)' || true
echo "ISA: $(grep -o -w -E 'avx2|avx512f|avx512_bf16|amx_tile' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "== kiln-bench"
export OMP_PROC_BIND=close OMP_PLACES=cores
exec "$exe" "$@"
