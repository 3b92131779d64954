#!/usr/bin/env bash
# The GPU check, in two halves, for a machine with an NVIDIA GPU that has a
# driver but no LLVM (a short GPU window, DEVELOPERS.md):
#
#   scripts/gpu-check.sh prepare DIR   here, after scripts/build.sh: compiles
#       every seed model with --target=cuda and links its example driver
#       (libc and libgomp only; libgomp is copied beside, found by rpath);
#   scripts/gpu-check.sh run DIR [OUT] there: runs each driver against its
#       PyTorch/numpy fixtures (--check; f32 kernels, 1e-4 relative unless
#       the driver's own bound is wider) and prints a PASS/FAIL line each,
#       with its wall time; OUT gets the logs.
#
# Where the toolchain is there too, `ctest -L gpu` runs the same check as a
# lit test (test/e2e/gpu-seed-models.test). .gitignore holds /.gpu/, a
# DIR inside the checkout that a copy of it can carry to a GPU machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-} dir=${2:-}
if [[ -z "$mode" || -z "$dir" ]]; then
  echo "usage: $0 prepare|run DIR [OUT]" >&2
  exit 2
fi
# Models with an example driver that --target=cuda compiles (generation
# entries, as in llama and llava, stay on the host for now).
models=(mlp clip contrastive distill flamingo gcn qformer)

case "$mode" in
prepare)
  kilnc=${KILNC:-$root/build/bin/kilnc}
  rm -rf "$dir" && mkdir -p "$dir"
  cp "$(gcc -print-file-name=libgomp.so.1)" "$dir/"
  for model in "${models[@]}"; do
    # Train entries are left out, each with a warning.
    "$kilnc" --target=cuda "$root/examples/$model/$model.kiln" -o "$dir/$model" 2> /dev/null
    clang-22 -std=c11 -O2 -I"$dir/$model" -I"$root/examples/common" \
      "$root/examples/$model/main.c" -L"$dir/$model" -l"$model" -lgomp -lm \
      -Wl,-rpath,'$ORIGIN/..' -o "$dir/$model/demo"
    rm -f "$dir/$model/lib$model.a"
  done
  du -sh "$dir"
  ;;
run)
  out=${3:-$dir/logs}
  mkdir -p "$out"
  nvidia-smi -L || { echo "gpu-check: no NVIDIA GPU here"; exit 1; }
  failed=0
  for model in "${models[@]}"; do
    start=$(date +%s.%N)
    if "$dir/$model/demo" "$root/examples/$model/data/$model.safetensors" \
      "$root/examples/$model/data" --check > "$out/$model.log" 2>&1; then
      verdict=PASS
    else
      verdict=FAIL
      failed=1
    fi
    end=$(date +%s.%N)
    printf '%s %s %ss: %s\n' "$verdict" "$model" "$(awk "BEGIN {printf \"%.2f\", $end - $start}")" \
      "$(grep -E '^check|error' "$out/$model.log" | head -1)"
  done
  exit $failed
  ;;
*)
  echo "usage: $0 prepare|run DIR [OUT]" >&2
  exit 2
  ;;
esac
