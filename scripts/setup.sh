#!/usr/bin/env bash
# Installs the Debian packages Kiln builds and tests with. Idempotent: when every
# package is already present it does nothing (not even `apt-get update`).
set -euo pipefail

packages=(
  # Compiler toolchain: LLVM/MLIR 22 and its clang/lld.
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools clang-22 lld-22
  # clang's sanitizer and libFuzzer runtimes (scripts/fuzz.sh, KILN_SANITIZE).
  libclang-rt-22-dev
  # Build system and libraries.
  cmake ninja-build ccache libfmt-dev libgtest-dev pkgconf
  # oneDNN, and the OpenCL headers its CMake config asks for.
  libdnnl-dev opencl-c-headers ocl-icd-opencl-dev
  # Open MPI, for the data-parallel example (examples/ddp) and its test.
  libopenmpi-dev openmpi-bin
  # bench/plot.py's charts (test/bench/plot.test draws each kind).
  python3-matplotlib
)
# Only the fixture generators need these; tests read committed fixtures.
if [[ "${KILN_SETUP_PYTHON:-0}" == 1 ]]; then
  packages+=(python3-numpy python3-sklearn python3-torch)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
