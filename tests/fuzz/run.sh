#!/usr/bin/env bash
# Builds the libFuzzer targets with clang, AddressSanitizer (with
# LeakSanitizer) and UndefinedBehaviorSanitizer, and runs each for a bounded
# time from the seed corpus in tests/fuzz/corpus. Any crash, leak or
# undefined behaviour fails the run; the input that caused it is copied to
# tests/fuzz/regressions/<target>/, where the regular test suite replays it
# (fuzz_corpus_replay) once fixed.
#
#   tests/fuzz/run.sh [SECONDS_PER_TARGET]     (default 15)
set -euo pipefail
CONSENTD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$CONSENTD_ROOT/deploy/local/lib.sh"
SECONDS_PER_TARGET=${1:-15}
BUILD_DIR=${FUZZ_BUILD_DIR:-$CONSENTD_ROOT/build/fuzz}
TARGETS=(request_validation policy_json cookie_matcher config_files)

install_packages clang libclang-rt-14-dev
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  log "configuring the fuzz build (clang, ASan, UBSan) in $BUILD_DIR"
  CC=clang CXX=clang++ cmake -S "$CONSENTD_ROOT" -B "$BUILD_DIR" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONSENTD_FUZZ=ON \
    -DCONSENTD_WERROR=OFF >/dev/null
fi
log "building fuzz targets"
cmake --build "$BUILD_DIR" -j 2 --target "${TARGETS[@]/#/fuzz_}"

WORK=$(mktemp -d /tmp/consentd-fuzz.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
failed=0
for target in "${TARGETS[@]}"; do
  log "fuzzing $target for ${SECONDS_PER_TARGET}s"
  mkdir -p "$WORK/$target/corpus" "$WORK/$target/artifacts"
  cp "$CONSENTD_ROOT/tests/fuzz/corpus/$target/"* "$WORK/$target/corpus/"
  if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
       UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
       "$BUILD_DIR/tests/fuzz/fuzz_$target" -max_total_time="$SECONDS_PER_TARGET" \
         -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
         -artifact_prefix="$WORK/$target/artifacts/" \
         "$WORK/$target/corpus" >"$WORK/$target/log" 2>&1; then
    failed=1
    mkdir -p "$CONSENTD_ROOT/tests/fuzz/regressions/$target"
    cp "$WORK/$target/artifacts/"* "$CONSENTD_ROOT/tests/fuzz/regressions/$target/" 2>/dev/null || true
    echo "FAIL: fuzz_$target found a problem; its input is now in tests/fuzz/regressions/$target/" >&2
    grep -E 'ERROR|SUMMARY|runtime error|#[0-9]+ ' "$WORK/$target/log" | head -40 >&2
  else
    grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$WORK/$target/log" | tr '\n' ' '
    echo
  fi
done
exit $failed
