#!/usr/bin/env bash
# Compile time of kilnc as models grow: wall time and peak RSS of one
# `kilnc` run per model (a library, the default --emit=lib), on
#  - stacks of 1, 2, 4, 8, 12, 24, 32 pre-norm transformer blocks at d=768
#    (ViT-B width, 50 tokens, symbolic batch B): time must grow linearly;
#  - OpenAI CLIP ViT-B/32 (examples/clip-vit-b32, image and text towers);
#  - examples/llama as a 32-layer d=2048 LLaMA (32 heads, 8 kv heads, MLP
#    5632, vocabulary 32000; prefill and decode_step, symbolic B, S and T);
#  - the seed examples.
# Prints one table, also written to $KILN_BENCH_RESULTS/compile.csv (default
# build-bench/results/) and drawn as compile.png (bench/plot.py); bench/README.md
# records a run.
#
#   bench/compile_time.sh                       # kilnc from build/
#   KILNC=/path/to/kilnc bench/compile_time.sh
#   KILN_COMPILE_DEPTHS="1 2 4" bench/compile_time.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kilnc=${KILNC:-$root/build/bin/kilnc}
depths=${KILN_COMPILE_DEPTHS:-1 2 4 8 12 24 32}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One pre-norm ViT-B-sized stack: d=768, 12 heads, MLP 3072, 50 tokens.
stack() {
  cat <<KILN
import "nn.kiln"
module Stack(depth: int = $1) {
  layers = [TransformerBlock(768, 12, 3072); depth]
  export fn forward(x: f32[B, 50, 768]) -> f32[B, 50, 768] {
    for layer in layers {
      x = layer(x)
    }
    return x
  }
}
KILN
}

# Times `kilnc ARGS...`; prints "seconds peak-MiB", or "failed" and the log.
measure() {
  local log=$work/log
  if /usr/bin/time -f '%e %M' -o "$work/time" "$kilnc" "$@" -o "$work/out" > "$log" 2>&1; then
    read -r seconds kib < "$work/time"
    echo "$seconds $((kib / 1024))"
  else
    echo "failed"
    sed 's/^/    /' "$log" >&2
  fi
}

results=${KILN_BENCH_RESULTS:-$root/build-bench/results}
mkdir -p "$results"
csv=$results/compile.csv
echo "model,seconds,peak_mib" > "$csv"
row() {
  printf '%-34s %8s %10s\n' "$1" "$2" "$3"
  [[ $2 == "wall s" ]] || echo "$1,$2,$3" >> "$csv"
}

echo "kilnc: $kilnc"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs"
row "model" "wall s" "peak MiB"
mkdir -p "$work/out"
for depth in $depths; do
  stack "$depth" > "$work/stack$depth.kiln"
  read -r s m <<< "$(measure "$work/stack$depth.kiln")" || true
  row "stack d=768 depth=$depth" "$s" "${m:-}"
done
read -r s m <<< "$(measure -D vocab_size=32000 -D hidden_size=2048 -D num_hidden_layers=32 \
  -D num_attention_heads=32 -D num_key_value_heads=8 -D intermediate_size=5632 \
  "$root/examples/llama/llama.kiln")" || true
row "llama d=2048 depth=32" "$s" "${m:-}"
read -r s m <<< "$(measure "$root/examples/clip-vit-b32/clip_vit_b32.kiln")" || true
row "clip-vit-b32 (image + text)" "$s" "${m:-}"
for example in mlp clip llava llama qformer flamingo gcn distill contrastive; do
  read -r s m <<< "$(measure "$root/examples/$example/$example.kiln")" || true
  row "examples/$example" "$s" "${m:-}"
done
/usr/bin/python3 "$root/bench/plot.py" compile "$csv" -o "$results/compile.png"
