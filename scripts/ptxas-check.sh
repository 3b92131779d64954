#!/usr/bin/env bash
# Compiles each model for the GPU (kilnc --target=cuda:ARCH --emit=ptx) and
# assembles every kernel image with CUDA's ptxas for that ARCH: what the
# driver would reject at create time fails here, without a GPU.
#
#   scripts/ptxas-check.sh KILNC ARCH MODEL.kiln [MODEL.kiln ...]
#
# Exit status: 0 when every image assembles, 1 on the first failure, 77 when
# ptxas is not installed (ctest's SKIP_RETURN_CODE). PTXAS picks the ptxas
# (default: $CUDA_HOME/bin/ptxas, else /usr/local/cuda/bin/ptxas, else PATH).
set -euo pipefail
kilnc=$1 arch=$2
shift 2
ptxas=${PTXAS:-${CUDA_HOME:-/usr/local/cuda}/bin/ptxas}
if [[ ! -x "$ptxas" ]]; then
  ptxas=$(command -v ptxas || true)
  if [[ -z "$ptxas" ]]; then
    echo "ptxas-check: no ptxas (CUDA toolkit) here: skipped"
    exit 77
  fi
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for model in "$@"; do
  name=$(basename "$model" .kiln)
  # Train entries are left out on the GPU, with a warning each.
  "$kilnc" "$model" --target="cuda:$arch" --emit=ptx -o "$work/$name.ptx" 2> "$work/$name.log" ||
    { cat "$work/$name.log"; echo "ptxas-check: $model does not compile for cuda:$arch"; exit 1; }
  rm -f "$work"/image-*.ptx
  awk -v dir="$work" '/^\/\/ kiln-gpu-image /{file=dir "/image-" $3 ".ptx"; next}
                      file {print > file}' "$work/$name.ptx"
  images=("$work"/image-*.ptx)
  if [[ ! -e "${images[0]}" ]]; then
    echo "ptxas-check: $model has no GPU kernels"
    exit 1
  fi
  for image in "${images[@]}"; do
    "$ptxas" -arch="$arch" "$image" -o "$work/image.cubin" ||
      { echo "ptxas-check: ptxas -arch=$arch rejects $(basename "$image") of $model"; exit 1; }
  done
  kernels=$(cat "${images[@]}" | grep -c '^.visible .entry')
  echo "ptxas-check: $model: ${#images[@]} image(s), $kernels kernels, assemble for $arch"
done
