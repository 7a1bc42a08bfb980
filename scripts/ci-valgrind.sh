#!/usr/bin/env bash
# CI step: the 'slow' suite under valgrind memcheck (the 'valgrind' test setup of
# tests/meson.build): any memory error, use of an uninitialised value or definite/indirect
# leak, in the test process or in Criterion's test children, fails the step.
#
# Valgrind runs code 20-50x slower. Measured on the 2-core CI machine (docs/fuzzing.md),
# the whole slow suite (test_coding_slow, reliability_full_walk) takes about 3 minutes,
# inside the step's 5-minute budget, so no subset is needed. VG_TESTS selects tests by
# name instead of the whole suite, e.g. VG_TESTS="test_coding_slow".
# Env: VG_BUILD (default build-vg; scripts/test.sh passes its own `build`), VG_TESTS.
set -euo pipefail
cd "$(dirname "$0")/.."
bdir=${VG_BUILD:-build-vg}
if ! command -v valgrind >/dev/null; then
  echo "ci-valgrind: valgrind not found (apt-get install valgrind)" >&2
  exit 1
fi
if [ ! -f "$bdir/build.ninja" ]; then
  meson setup "$bdir" --buildtype=debugoptimized >"$bdir.setup.log" 2>&1 ||
    { cat "$bdir.setup.log"; exit 1; }
  rm -f "$bdir.setup.log"
fi
ninja -C "$bdir" >/dev/null
# Valgrind's virtual CPU has no AVX-512: an OPENBLAS_CORETYPE of SkylakeX (scripts/blas-env.sh)
# would run instructions it cannot decode. Unset, OpenBLAS picks by valgrind's CPU (Haswell).
unset OPENBLAS_CORETYPE
start=$(date +%s)
if [ -n "${VG_TESTS:-}" ]; then
  # shellcheck disable=SC2086
  meson test -C "$bdir" --setup valgrind --print-errorlogs --num-processes 2 $VG_TESTS
else
  meson test -C "$bdir" --setup valgrind --suite slow --print-errorlogs --num-processes 2
fi
echo "ci-valgrind: ok ($(( $(date +%s) - start )) s under valgrind)"
