#!/usr/bin/env bash
# The main job: builds Kiln, compiles examples/mlp/mlp.kiln into libmlp.a +
# mlp.h, links the example's C driver against it and runs it on the held-out
# digits, checking every output against the numpy reference; trains it from
# random weights with its train entries, checking against PyTorch; then runs
# the CLIP seed model's zero-shot image classification.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
build="${KILN_BUILD_DIR:-$root/build}"
out="$build/examples/mlp"

echo "== kilnc examples/mlp/mlp.kiln -o $out"
"$build/bin/kilnc" "$root/examples/mlp/mlp.kiln" -o "$out"
clang-22 -std=c11 -O2 -Wall -Wextra -I"$out" "$root/examples/mlp/main.c" \
  -L"$out" -lmlp -ldnnl -lgomp -lm -o "$out/mlp_demo"

echo "== $out/mlp_demo (300 held-out 8x8 digits)"
"$out/mlp_demo" "$root/examples/mlp/data/mlp.safetensors" "$root/examples/mlp/data" --check

# Training: the same library's train entries pre-train the MLP from random
# weights and fine-tune it, step for step as PyTorch does.
clang-22 -std=c11 -O2 -Wall -Wextra -I"$out" "$root/examples/mlp/train.c" \
  -L"$out" -lmlp -ldnnl -lgomp -lm -o "$out/mlp_train"
echo
echo "== $out/mlp_train (from random weights: 100 SGD steps, then 50 AdamW steps with fc1 frozen)"
"$out/mlp_train" "$root/examples/mlp/data/init.safetensors" "$root/examples/mlp/data" "$out" --check
# Its loss curve beside PyTorch's (bench/plot.py, Debian's python3-matplotlib).
/usr/bin/python3 "$root/bench/plot.py" losses "$out/losses.csv" -o "$out/losses.png"

# CLIP zero-shot classification: the trained CLIP seed model labels held-out
# synthetic images against one prompt per class ("a photo of a red circle").
clip_out="$build/examples/clip"
echo
echo "== kilnc examples/clip/clip.kiln -o $clip_out"
"$build/bin/kilnc" "$root/examples/clip/clip.kiln" -o "$clip_out"
clang-22 -std=c11 -O2 -Wall -Wextra -I"$clip_out" -I"$root/examples/common" \
  "$root/examples/clip/main.c" -L"$clip_out" -lclip -ldnnl -lgomp -lm -o "$clip_out/clip_demo"
echo "== $clip_out/clip_demo (16 held-out images, 9 prompts)"
"$clip_out/clip_demo" "$root/examples/clip/data/clip.safetensors" "$root/examples/clip/data" --check
