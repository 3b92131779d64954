#!/usr/bin/env bash
# The benchmark, in one command: builds kilnc and bench/ in build-bench/
# (-DKILN_BUILD_BENCH=ON; never part of ctest) and runs every workload of
# issue 4 in one process, in five columns (kiln-unfused, kiln-native,
# kiln-onednn, kiln-auto, the oneDNN chain), at 1 and 2 threads pinned with
# OMP_PROC_BIND=close, OMP_PLACES=cores. See bench/README.md.
#
#   bench/run.sh                           # build + run everything (a few minutes)
#   KILNC=/path/to/kilnc bench/run.sh      # use an existing kilnc: bench/ as its own CMake project
#   KILN_BENCH_FILTER=attention KILN_BENCH_THREADS=1 KILN_BENCH_BUDGET_S=0.2 bench/run.sh
#   KILN_BENCH_VARIANTS="Unfused;Auto" bench/run.sh   # build fewer Kiln columns (default: all four)
#   KILN_BENCH_UNPINNED=1 bench/run.sh     # leave OMP_PROC_BIND/OMP_PLACES unset
#   KILN_BENCH_JOBS=1 bench/run.sh         # ninja -j (default 2)
# The timings also go to $KILN_BENCH_RESULTS/bench.csv (default build-bench/results/)
# with a chart of them, speed.png (bench/plot.py, Debian's python3-matplotlib).
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
# Always passed, so that a subset asked for once does not stick in the CMake cache.
extra+=("-DKILN_BENCH_VARIANTS=${KILN_BENCH_VARIANTS:-Unfused;Native;OneDNN;Auto}")
if [[ -n "${KILNC:-}" ]]; then
  cmake -S "$root/bench" -B "$build/standalone" "${common[@]}" -DKILN_KILNC="$KILNC" "${extra[@]}" > /dev/null
  ninja -C "$build/standalone" -j"${KILN_BENCH_JOBS:-2}" kiln-bench
  exe=$build/standalone/kiln-bench
else
  cmake -S "$root" -B "$build" "${common[@]}" -DKILN_BUILD_BENCH=ON "${extra[@]}" > /dev/null
  ninja -C "$build" -j"${KILN_BENCH_JOBS:-2}" kiln-bench
  exe=$build/bench/kiln-bench
fi

echo "== machine"
lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|L1d|L2|L3)' || true
echo "ISA: $(grep -o -w -E 'avx2|avx512f|avx512_bf16|amx_tile' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "== kiln-bench"
if [[ "${KILN_BENCH_UNPINNED:-0}" == 1 ]]; then
  echo "KILN_BENCH_UNPINNED=1: OMP_PROC_BIND/OMP_PLACES left as the environment has them"
else
  export OMP_PROC_BIND=close OMP_PLACES=cores
fi
results=${KILN_BENCH_RESULTS:-$root/build-bench/results}
mkdir -p "$results"
status=0
KILN_BENCH_CSV=$results/bench.csv "$exe" "$@" || status=$?
[[ -s $results/bench.csv ]] && /usr/bin/python3 "$root/bench/plot.py" speed "$results/bench.csv" \
  -o "$results/speed.png"
exit "$status"
