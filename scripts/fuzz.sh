#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang with ASan + UBSan) in build/fuzz and runs each one
# for SECONDS (default 20) on a working corpus in build/fuzz/corpus/<target>, seeded from the
# committed tests/fuzz/corpus/<target> (which is only read). Prints one line per target and exits
# non-zero if any target crashed, hung, leaked or reported a sanitizer error; the input that did it
# is in build/fuzz/artifacts/<target>/ and the log in build/fuzz/logs/<target>.log.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     e.g. scripts/fuzz.sh 180 fuzz_filter fuzz_patch
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-20}"
shift || true
all=(fuzz_resource fuzz_filter fuzz_patch fuzz_bulk fuzz_query fuzz_json_text fuzz_import fuzz_http fuzz_combine)
targets=("$@")
(( ${#targets[@]} )) || targets=("${all[@]}")
build=build/fuzz

command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (apt-get install clang libfuzzer-14-dev)" >&2; exit 2; }
if [[ ! -f "$build/build.ninja" ]]; then
  CC=clang CXX=clang++ nice -n 10 cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSCIMITAR_BUILD_FUZZ=ON -DSCIMITAR_BUILD_TESTS=OFF -DSCIMITAR_BUILD_PYTHON=OFF >/dev/null
fi
nice -n 10 cmake --build "$build" --target "${targets[@]}" -j2 >/dev/null || {
  nice -n 10 cmake --build "$build" --target "${targets[@]}" -j1 2>&1 | grep -E "error|FAILED" | head -40 >&2
  exit 1
}

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=0
printf '%-16s %8s %12s  %s\n' target seconds executions crashes
for t in "${targets[@]}"; do
  work="$build/corpus/$t" artifacts="$build/artifacts/$t/" log="$build/logs/$t.log"
  mkdir -p "$work" "$artifacts" "$(dirname "$log")"
  args=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
        -artifact_prefix="$artifacts")
  [[ -f "tests/fuzz/$t.dict" ]] && args+=(-dict="tests/fuzz/$t.dict")
  before=$(ls "$artifacts" | wc -l)
  rc=0
  # New inputs go to the first corpus directory (the working copy); the seeds are only read.
  nice -n 10 "$build/tests/fuzz/$t" "${args[@]}" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1 || true)
  [[ -n "$execs" ]] || execs=$(grep -oE '^#[0-9]+' "$log" | tr -d '#' | tail -1 || true)
  crash="0"
  if (( rc != 0 )) || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: ' "$log"; then
    failed=1
    crash=$(ls -t "$artifacts" | head -1)
    if [[ -n "$crash" && $(ls "$artifacts" | wc -l) -gt $before ]]; then crash="$artifacts$crash"; else crash="failed (rc=$rc), see $log"; fi
  fi
  printf '%-16s %8s %12s  %s\n' "$t" "$seconds" "${execs:-?}" "$crash"
done
exit "$failed"
