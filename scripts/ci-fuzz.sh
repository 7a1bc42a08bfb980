#!/usr/bin/env bash
# CI step: run each libFuzzer target of tests/fuzz for a bounded time; any crash,
# sanitizer report, leak or timeout fails the step.
#
# Configures build-fuzz with clang, -Dfuzz=true, ASan+UBSan, and -fsanitize=fuzzer-no-link
# on the whole project so that coverage guidance reaches into the parsers. Each target
# runs on a COPY of its seed corpus in a temporary directory (the repository never grows)
# with its dictionary, for FUZZ_SECONDS seconds (default 30: six targets make three
# minutes; 40 until the whole CI neared its 25-minute budget on a shared machine). Prints
# the executions and coverage reached per target. Crash inputs are kept in
# build-fuzz/fuzz-artifacts/ and hex-dumped into the log.
# Env: FUZZ_SECONDS (per target), FUZZ_TARGETS (default "scenario npy model trace cli idx"),
#      FUZZ_BUILD (default build-fuzz). How to fuzz longer: docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-30}
targets=${FUZZ_TARGETS:-scenario npy model trace cli idx}
bdir=${FUZZ_BUILD:-build-fuzz}

if ! command -v clang >/dev/null; then
  echo "ci-fuzz: clang not found (apt-get install clang)" >&2
  exit 1
fi
if [ ! -f "$bdir/build.ninja" ]; then
  CC=clang meson setup "$bdir" --buildtype=debugoptimized -Dfuzz=true -Dmpi=disabled \
    -Db_sanitize=address,undefined -Db_lundef=false \
    -Dc_args=-fsanitize=fuzzer-no-link >"$bdir.setup.log" 2>&1 ||
    { cat "$bdir.setup.log"; exit 1; }
  rm -f "$bdir.setup.log"
fi
ninja -C "$bdir" $(for t in $targets; do printf 'tests/fuzz/fuzz_%s ' "$t"; done) >/dev/null

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export OPENBLAS_NUM_THREADS=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$bdir/fuzz-artifacts"
status=0
for t in $targets; do
  cp -r "tests/fuzz/corpus/$t" "$tmp/corpus-$t"
  log="$tmp/$t.log"
  rc=0
  "$bdir/tests/fuzz/fuzz_$t" "$tmp/corpus-$t" -dict="tests/fuzz/$t.dict" \
    -max_total_time="$secs" -timeout=25 -rss_limit_mb=2560 -print_final_stats=1 \
    -artifact_prefix="$bdir/fuzz-artifacts/$t-" >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 runs in \2 s/p' "$log")
  cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' || true)
  if [ "$rc" -ne 0 ] || grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:|==ERROR: libFuzzer' "$log"; then
    status=1
    echo "ci-fuzz: fuzz_$t FAILED (exit $rc)"
    grep -E 'ERROR|runtime error|SUMMARY|^    #[0-9]+ ' "$log" | head -40
    for a in "$bdir"/fuzz-artifacts/"$t"-*; do
      [ -f "$a" ] || continue
      echo "  input $a:"; od -A d -c "$a" | head -20
    done
  else
    echo "ci-fuzz: fuzz_$t ok: ${runs:-? runs} (${cov:-no coverage line}, $(ls "$tmp/corpus-$t" | wc -l) inputs)"
  fi
done
exit $status
