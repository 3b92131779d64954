#!/usr/bin/env bash
# Train steps, Kiln vs PyTorch eager, in one run (issue 9's measures):
#  - an MLP 784-512-256-10 (relu), batch 128, SGD with momentum;
#  - CLIP's symmetric InfoNCE on [256, 512] embeddings, forward + backward
#    (the embeddings are the trained parameters; plain SGD);
#  - one pre-norm transformer block (d 512, 8 heads, MLP 2048), batch 8,
#    sequence 128, AdamW, on the mean squared error to a target.
# At 1 and 2 threads, pinned (OMP_PROC_BIND=close, OMP_PLACES=cores), medians.
# Then the memory of one call, metered on the C heap by bench/train/heap_meter.c
# (preloaded) on both sides, each op's transients included: Kiln's step arena,
# gradients included, plus anything a call allocates; PyTorch's peak of a warm step
# beyond the weights and optimizer state and 10,000 more MLP steps with the resident set before and
# after; then, Kiln against Kiln, RMS norm's step with its fused backward
# kernel against the norm spelled out in kiln ops, and the distillation term's
# step on its kernel against --fusion=false. Models in
# bench/train/*.kiln; the PyTorch side and the seeded weights in
# bench/train/torch_train.py.
#
#   bench/train.sh
#   KILN_TRAIN_THREADS=1 KILN_TRAIN_STEPS=20 KILN_TRAIN_RSS_STEPS=0 bench/train.sh
#   KILN_TRAIN_GPT=1 bench/train.sh     # also the 135 M-parameter GPT
# Results: build-bench/train/results.txt and a chart of the ratios, train.png.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kilnc=${KILNC:-$root/build/bin/kilnc}
work=${KILN_TRAIN_DIR:-$root/build-bench/train}
threads=${KILN_TRAIN_THREADS:-1 2}
steps=${KILN_TRAIN_STEPS:-50}
rss_steps=${KILN_TRAIN_RSS_STEPS:-10000}
models="mlp784 infonce block"
# Opt-in: a 135 M-parameter GPT (bench/train/gpt.kiln; PyTorch takes minutes a step here).
[[ ${KILN_TRAIN_GPT:-0} == 1 ]] && models="$models gpt"
export KILN_TRAIN_GPT
mkdir -p "$work"
KILN_SETUP_PYTHON=1 "$root/scripts/setup.sh"
[[ -x "$kilnc" ]] || "$root/scripts/build.sh"

/usr/bin/python3 "$root/bench/train/torch_train.py" weights "$work"
cc=${CC:-clang-22}
"$cc" -O2 -shared -fPIC "$root/bench/train/heap_meter.c" -o "$work/libheap_meter.so"
for model in $models; do
  "$kilnc" "$root/bench/train/$model.kiln" -o "$work"
  flag=$(echo "$model" | tr a-z A-Z)
  "$cc" -std=c11 -O2 -DMODEL_"$flag" -I"$work" "$root/bench/train/train_timing.c" -L"$work" \
    -l"$model" -ldnnl -lgomp -lm -o "$work/${model}_timing"
done

export OMP_PROC_BIND=close OMP_PLACES=cores
echo "== machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs"
results=$work/results.txt
: > "$results"
for t in $threads; do
  echo "== $t thread(s)"
  {
    for model in $models; do
      "$work/${model}_timing" "$work/$model.safetensors" "$t" "$steps" | grep '^kiln'
    done
    /usr/bin/python3 "$root/bench/train/torch_train.py" time "$t" "$steps" 2>/dev/null
  } | sed "s/^/threads=$t /" | tee -a "$results"
done
for model in $models; do
  LD_PRELOAD=$work/libheap_meter.so "$work/${model}_timing" "$work/$model.safetensors" 1 5 \
    | grep '^memory\|^heap\|^kilnmem' | tee -a "$results"
done
LD_PRELOAD=$work/libheap_meter.so /usr/bin/python3 "$root/bench/train/torch_train.py" memory \
  2>/dev/null | tee -a "$results"
# Fused vs what it replaces (Kiln alone): RMS norm's backward on its kernel
# against the norm spelled out in kiln ops; distillation's loss and gradient
# on one kernel against --fusion=false, and CLIP's loss and gradients at a batch
# of 4096 on one kernel against --fusion=false.
"$kilnc" "$root/bench/train/rmsnorm_op.kiln" -o "$work"
"$kilnc" "$root/bench/train/rmsnorm_composed.kiln" -o "$work"
"$kilnc" "$root/bench/train/kd.kiln" --name=kd_fused -o "$work"
"$kilnc" "$root/bench/train/kd.kiln" --fusion=false --name=kd_unfused -o "$work"
"$kilnc" "$root/bench/train/clip4096.kiln" --name=clip4096_fused -o "$work"
"$kilnc" "$root/bench/train/clip4096.kiln" --fusion=false --name=clip4096_unfused -o "$work"
"$cc" -std=c11 -O2 -DPAIR_RMSNORM -I"$work" "$root/bench/train/pair_timing.c" -L"$work" \
  -lrmsnorm_op -lrmsnorm_composed -ldnnl -lgomp -lm -o "$work/rmsnorm_timing"
"$cc" -std=c11 -O2 -DPAIR_KD -I"$work" "$root/bench/train/pair_timing.c" -L"$work" \
  -lkd_fused -lkd_unfused -ldnnl -lgomp -lm -o "$work/kd_timing"
"$cc" -std=c11 -O2 -DPAIR_CLIP -I"$work" "$root/bench/train/pair_timing.c" -L"$work" \
  -lclip4096_fused -lclip4096_unfused -ldnnl -lgomp -lm -o "$work/clip4096_timing"
for t in $threads; do
  "$work/rmsnorm_timing" "$work/rmsnorm.safetensors" "$t" | tee -a "$results"
  "$work/kd_timing" "$work/kd.safetensors" "$t" | tee -a "$results"
  "$work/clip4096_timing" "$work/clip4096.safetensors" "$t" | tee -a "$results"
done
if ((rss_steps > 0)); then
  "$work/mlp784_timing" "$work/mlp784.safetensors" 1 5 "$rss_steps" | grep '^rss'
fi

/usr/bin/python3 "$root/bench/plot.py" train-report "$results"
/usr/bin/python3 "$root/bench/plot.py" train "$results" -o "$work/train.png"
