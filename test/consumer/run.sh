#!/usr/bin/env bash
# Installs the build tree into a fresh prefix, then builds and runs the
# consumer project against it (ctest's "consumer" test), and checks that an
# edit of an imported .kiln file recompiles exactly the model importing it.
#   run.sh BUILD_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
build=$1 source=$(cd "$2" && pwd) work=$3
rm -rf "$work"
cmake --install "$build" --prefix "$work/prefix" > /dev/null
cmake -S "$source/test/consumer" -B "$work/app" -G Ninja \
  -DCMAKE_C_COMPILER="${CC:-clang-22}" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DKILN_EXAMPLES="$source/examples" > /dev/null
cmake --build "$work/app"
"$work/app/app" "$source/examples/mlp/data/mlp.safetensors" | tee "$work/app.out"
grep -q "predict: status 0, probabilities summing to 1.0000" "$work/app.out"

touch "$work/prefix/share/kiln/stdlib/nn.kiln"
cmake --build "$work/app" | tee "$work/rebuild.out"
grep -q "Compiling the Kiln model .*llama.kiln" "$work/rebuild.out" ||
  { echo "FAIL: touching nn.kiln did not recompile llama.kiln"; exit 1; }
if grep -q "mlp.kiln" "$work/rebuild.out"; then
  echo "FAIL: touching nn.kiln recompiled mlp.kiln, which does not import it"
  exit 1
fi
echo "consumer: ok"
