#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, ASan + UBSan, in build-fuzz/) and runs
# each for a while; the results (executions, coverage, corpus size) are the
# figures docs/reliability.md records.
#
#   scripts/fuzz.sh [--time=SECONDS] [target ...]
#
# targets: frontend weights entry (default: all). --time is per target
# (default 60). A failing input is saved as build-fuzz/artifacts/<target>-*;
# after fixing the bug, commit it to fuzz/corpus/<target>/ so ctest replays it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=60
targets=()
for arg in "$@"; do
  case "$arg" in
    --time=*) seconds=${arg#--time=} ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) targets+=("$arg") ;;
  esac
done
((${#targets[@]})) || targets=(frontend weights entry)

build="${KILN_FUZZ_BUILD_DIR:-$root/build-fuzz}"
KILN_BUILD_DIR="$build" KILN_CMAKE_ARGS="-DKILN_FUZZ=ON" \
  "$root/scripts/build.sh" --target "${targets[@]/#/kiln-fuzz-}"

# libFuzzer reports leaks and any sanitizer finding as a failure.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for target in "${targets[@]}"; do
  corpus="$build/fuzz-corpus/$target"
  mkdir -p "$corpus" "$build/artifacts"
  seeds=("$root/fuzz/corpus/$target")
  extra=()
  if [[ $target == frontend ]]; then
    # The project's own programs, and the language's words.
    seeds+=("$build/fuzz-seeds/frontend")
    mkdir -p "${seeds[1]}"
    (cd "$root" && find examples stdlib test/frontend -name '*.kiln') | while read -r file; do
      cp "$root/$file" "${seeds[1]}/${file//\//_}"
    done
    extra+=(-dict="$root/fuzz/kiln.dict")
  fi
  log="$build/fuzz-$target.log"
  echo "fuzz: $target for ${seconds}s (log: $log)"
  # -rss_limit_mb and -timeout: an input that takes more than 2 GB or 10 s is
  # itself a failure (docs/reliability.md, bounded work).
  if "$build/bin/kiln-fuzz-$target" "$corpus" "${seeds[@]}" "${extra[@]}" \
      -max_total_time="$seconds" \
      -rss_limit_mb=2048 -timeout=10 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/$target-" >"$log" 2>&1; then
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{s += $2} END {print s + 0}')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
    units=$(find "$corpus" -type f | wc -l)
    echo "fuzz: $target: $execs executions, no failure; coverage ${cov:-?} edges, corpus $units inputs"
  else
    status=1
    echo "fuzz: $target FAILED; the input is in $build/artifacts/ and the report in $log:"
    grep -E -m 12 'ERROR|SUMMARY|fuzz target:|frontend fuzzer:|runtime error' "$log" || tail -20 "$log"
  fi
done
exit $status
