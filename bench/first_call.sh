#!/usr/bin/env bash
# The first call of a static-shape model against its steady calls (issue 11,
# item 5): CLIP ViT-B/32's image tower (examples/clip-vit-b32) with an entry of
# one image added, encode_one(image: f32[1, 3, 224, 224]), at 1 and 2 pinned
# threads. The weights (~600 MB) come from the example's reference script
# into $KILN_CLIP_B32_DIR (default build-bench/clipb32) the first time (about
# a minute, 4 GB of memory). Arguments go to kilnc.
#
#   bench/first_call.sh
#   bench/first_call.sh --precision=bf16
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kilnc=${KILNC:-$root/build/bin/kilnc}
work=${KILN_FIRST_CALL_DIR:-$root/build-bench/first_call}
weights_dir=${KILN_CLIP_B32_DIR:-$root/build-bench/clipb32}
cc=${CC:-clang-22}
mkdir -p "$work"
[[ -x "$kilnc" ]] || "$root/scripts/build.sh"
if [[ ! -f "$weights_dir/clip_vit_b32.safetensors" ]]; then
  KILN_SETUP_PYTHON=1 "$root/scripts/setup.sh"
  /usr/bin/python3 "$root/scripts/references/clip_vit_b32.py" --config b32 "$weights_dir"
fi
# The example with a static-shape entry next to encode_image.
sed '/^  \/\/ Text features at each row/i\
  export fn encode_one(image: f32[1, 3, image_resolution, image_resolution])\
      -> f32[1, embed_dim] {\
    return visual(image)\
  }\
' "$root/examples/clip-vit-b32/clip_vit_b32.kiln" > "$work/first_call.kiln"
grep -q "fn encode_one" "$work/first_call.kiln"
"$kilnc" "$work/first_call.kiln" --name=first_call "$@" -o "$work"
"$cc" -std=c11 -O2 -I"$work" "$root/bench/overhead/first_call.c" -L"$work" -lfirst_call -ldnnl \
  -lgomp -lm -o "$work/first_call"
export OMP_PROC_BIND=close OMP_PLACES=cores
for threads in 1 2; do
  "$work/first_call" "$weights_dir/clip_vit_b32.safetensors" "$threads"
done
