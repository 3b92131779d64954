#!/usr/bin/env bash
# The runtime's matmul kernels alone (issue 11): oneDNN's, Kiln's f32 and
# Kiln's bf16, on the projector's and CLIP ViT-B/32's Linear shapes, at 1 and
# 2 pinned threads (bench/kernels/matmul_kernels.c, built here from the
# runtime's sources at -O3 -march=native, with the tiles and the bf16 path a
# model compiled for this CPU gets). About a minute.
#
#   bench/matmul_kernels.sh
#   KILN_KERNELS_THREADS=1 bench/matmul_kernels.sh 576 1024 4096
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${KILN_KERNELS_DIR:-$root/build-bench/kernels}
cc=${CC:-clang-22}
mkdir -p "$work"
"$cc" -std=c11 -O3 -march=native -I"$root/runtime/src" -I"$root/runtime/include" \
  "$root/bench/kernels/matmul_kernels.c" "$root"/runtime/src/*.c -ldnnl -lgomp -lm -lpthread \
  -o "$work/matmul_kernels"
# m k n: the projector's fc1 and fc2; CLIP ViT-B/32's projections and MLP at
# B = 1 (50 tokens) and B = 8 (400).
shapes=("$@")
((${#shapes[@]})) || shapes=(576 1024 4096  576 4096 4096  50 768 768  50 768 3072  50 3072 768
                             400 768 768  400 768 3072  400 3072 768)
echo "== $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs;" \
  "ISA: $(grep -o -w -E 'avx2|avx512f|avx512_bf16|amx_tile' /proc/cpuinfo | sort -u | tr '\n' ' ')"
export OMP_PROC_BIND=close OMP_PLACES=cores
# The ISA oneDNN dispatches to on this CPU (its verbose banner).
echo "oneDNN $(ONEDNN_VERBOSE=1 "$work/matmul_kernels" 1 16 16 16 2>&1 |
  sed -n 's/^onednn_verbose,info,cpu,isa://p' | head -1)"
for t in ${KILN_KERNELS_THREADS:-1 2}; do
  "$work/matmul_kernels" "$t" "${shapes[@]}"
done
