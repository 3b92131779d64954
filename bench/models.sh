#!/usr/bin/env bash
# Real-size models, Kiln vs PyTorch eager, in one run (issue 8's measures):
#  - a ~125 M-parameter LLaMA-style decoder (examples/llama at vocab 32000,
#    d 768, 12 layers, 12 heads, 4 kv heads, MLP 2048): prefill of 32 tokens,
#    and one decode step after 32, 256 and 1024 cached positions;
#  - OpenAI CLIP ViT-B/32's image encoder (examples/clip-vit-b32) at B = 1, 8,
#    in f32 and again compiled --precision=bf16 (column kiln-bf16), and the
#    same module exported to ONNX on ONNX Runtime (column ort: npm's
#    onnxruntime-node, installed under build-bench/ when npm can reach the
#    registry; skipped with a message otherwise).
# Both at 1 and 2 threads, pinned (OMP_PROC_BIND=close, OMP_PLACES=cores);
# medians; seeded random weights (made once by bench/models/torch_models.py,
# ~1.1 GB in build-bench/models). PyTorch is Debian's python3-torch, in two
# columns (see torch_models.py). Prints every timing, then the ratios.
#
#   bench/models.sh
#   KILN_MODELS_THREADS="1" KILN_MODELS_LENGTHS="32 256" bench/models.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kilnc=${KILNC:-$root/build/bin/kilnc}
work=${KILN_MODELS_DIR:-$root/build-bench/models}
threads=${KILN_MODELS_THREADS:-1 2}
prompt=32
lengths=${KILN_MODELS_LENGTHS:-32 256 1024}
batches="1 8"
mkdir -p "$work"
# PyTorch (the peer and the weights' generator) is not in the default set-up.
KILN_SETUP_PYTHON=1 "$root/scripts/setup.sh"
[[ -x "$kilnc" ]] || "$root/scripts/build.sh"

/usr/bin/python3 "$root/bench/models/torch_models.py" weights "$work"

# ONNX Runtime: the CPU provider ships in the npm package; its install script
# only fetches GPU providers (from nuget), so it is skipped.
ort_dir=$work/onnxruntime-node
ort=""
if command -v node > /dev/null && [[ -d $ort_dir/node_modules/onnxruntime-node ]]; then
  ort=yes
elif command -v npm > /dev/null &&
    npm install --ignore-scripts --prefix "$ort_dir" onnxruntime-node@1 > "$work/npm.log" 2>&1; then
  ort=yes
fi
if [[ -n $ort ]]; then
  /usr/bin/python3 "$root/bench/models/onnx_export.py" "$work"
else
  echo "== no ONNX Runtime column: onnxruntime-node could not be installed (see $work/npm.log)"
fi
"$kilnc" -D vocab_size=32000 -D hidden_size=768 -D num_hidden_layers=12 \
  -D num_attention_heads=12 -D num_key_value_heads=4 -D intermediate_size=2048 \
  --name decoder "$root/examples/llama/llama.kiln" -o "$work"
"$kilnc" --name clip_vit_b32 "$root/examples/clip-vit-b32/clip_vit_b32.kiln" -o "$work"
mkdir -p "$work/bf16"
"$kilnc" --precision=bf16 --name clip_vit_b32 "$root/examples/clip-vit-b32/clip_vit_b32.kiln" \
  -o "$work/bf16"
cc=${CC:-clang-22}
"$cc" -std=c11 -O2 -I"$work" "$root/bench/models/decoder_timing.c" -L"$work" -ldecoder \
  -ldnnl -lgomp -lm -o "$work/decoder_timing"
"$cc" -std=c11 -O2 -I"$work" "$root/bench/models/clip_timing.c" -L"$work" -lclip_vit_b32 \
  -ldnnl -lgomp -lm -o "$work/clip_timing"
"$cc" -std=c11 -O2 -I"$work/bf16" "$root/bench/models/clip_timing.c" -L"$work/bf16" \
  -lclip_vit_b32 -ldnnl -lgomp -lm -o "$work/bf16/clip_timing"

export OMP_PROC_BIND=close OMP_PLACES=cores
echo "== machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs"
results=$work/results.txt
: > "$results"
for t in $threads; do
  echo "== $t thread(s)"
  {
    "$work/decoder_timing" "$work/decoder.safetensors" $prompt "$lengths" "$t" |
      sed "s/^/kiln /"
    "$work/clip_timing" "$work/clip_vit_b32.safetensors" "$batches" "$t" | sed "s/^/kiln /"
    "$work/bf16/clip_timing" "$work/clip_vit_b32.safetensors" "$batches" "$t" |
      sed "s/^/kiln-bf16 /"
    if [[ -n $ort ]]; then
      NODE_PATH=$ort_dir/node_modules node "$root/bench/models/ort_timing.js" \
        "$work/clip_image.onnx" "$batches" "$t" | sed "s/^/ort /"
    fi
    /usr/bin/python3 "$root/bench/models/torch_models.py" time "$work" "$t" $prompt "$lengths" \
      "$batches"
  } | sed "s/^/threads=$t /" | tee -a "$results"
done

echo "== Kiln vs PyTorch and ONNX Runtime (time ratios; > 1: Kiln faster)"
/usr/bin/python3 - "$results" <<'PY'
import collections, sys
ms = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    threads, column, *case, _, value = line.split()
    ms[(threads, " ".join(case))][column] = float(value)
print(f"{'threads':8} {'case':22} {'kiln ms':>9} {'torch ms':>9} {'onednn ms':>10} "
      f"{'vs torch':>9} {'vs onednn':>10} {'ort ms':>8} {'vs ort':>7} {'bf16 ms':>8} "
      f"{'bf16 gain':>9}")
for (threads, case), cols in ms.items():
    k, t, o = cols.get("kiln"), cols.get("torch"), cols.get("torch-onednn")
    r, b = cols.get("ort"), cols.get("kiln-bf16")
    ort = f"{r:8.2f} {r / k:7.2f}" if r else f"{'-':>8} {'-':>7}"
    bf16 = f"{b:8.2f} {k / b:9.2f}" if b else f"{'-':>8} {'-':>9}"
    print(f"{threads[8:]:8} {case:22} {k:9.2f} {t:9.2f} {o:10.2f} {t / k:9.2f} {o / k:10.2f} "
          f"{ort} {bf16}")
PY
