#!/usr/bin/env bash
# Installs the build tree into a fresh prefix, then builds and runs the
# consumer project against it (ctest's "consumer" test), and checks that an
# edit of an imported .kiln file recompiles exactly the model importing it,
# and a new weights file the model that embeds it.
#   run.sh BUILD_DIR SOURCE_DIR WORK_DIR
# With KILN_PREFIX set, uses that installed Kiln instead (test/package/run.sh).
set -euo pipefail
build=$1 source=$(cd "$2" && pwd) work=$3
rm -rf "$work"
prefix=${KILN_PREFIX:-$work/prefix}
[[ -n ${KILN_PREFIX:-} ]] || cmake --install "$build" --prefix "$prefix" > /dev/null
cmake -S "$source/test/consumer" -B "$work/app" -G Ninja \
  -DCMAKE_C_COMPILER="${CC:-clang-22}" -DCMAKE_CXX_COMPILER="${CXX:-clang++-22}" \
  -DCMAKE_PREFIX_PATH="$prefix" \
  -DKILN_EXAMPLES="$source/examples" -DKILN_WEIGHTS="$work/mlp.safetensors" > /dev/null
cp "$source/examples/mlp/data/mlp.safetensors" "$work/mlp.safetensors"
cmake --build "$work/app"
"$work/app/app" | tee "$work/app.out"
grep -q "predict: status 0, probabilities summing to 1.0000" "$work/app.out"
"$work/app/app_cpp" | tee "$work/app_cpp.out"
grep -q "C++ predict: probabilities summing to 1.0000" "$work/app_cpp.out"

# After a change (what), rebuilds and checks that exactly one model compiled again.
expect_only_recompiled() {
  local what=$1 recompiled=$2 untouched=$3
  cmake --build "$work/app" | tee "$work/rebuild.out"
  grep -q "Compiling the Kiln model .*$recompiled" "$work/rebuild.out" ||
    { echo "FAIL: $what did not recompile $recompiled"; exit 1; }
  if grep -q "$untouched" "$work/rebuild.out"; then
    echo "FAIL: $what recompiled $untouched too"
    exit 1
  fi
}

# Other weights: the model embedding them, and only it.
cp "$source/examples/mlp/data/init.safetensors" "$work/mlp.safetensors"
expect_only_recompiled "new mlp weights" mlp.kiln llama.kiln
# An edited import: the model importing it (mlp.kiln does not).
touch "$prefix/share/kiln/stdlib/nn.kiln"
expect_only_recompiled "touching nn.kiln" llama.kiln mlp.kiln
echo "consumer: ok"
