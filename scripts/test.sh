#!/usr/bin/env bash
# Install, build and run the whole test suite (every suite: unit, numeric, golden, slow),
# then the command-line smoke checks.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
source scripts/blas-env.sh
meson test -C build --print-errorlogs --num-processes 2
bash tests/cli/smoke.sh build/cli/fcdcc
bash tests/cli/sweeps.sh build/cli/fcdcc
# Issue 5 (docs/fuzzing.md): the no-shell/no-SQL audit and the unit suite + CLI smoke under
# ASan/UBSan (build-asan), each libFuzzer target for FUZZ_SECONDS (build-fuzz, clang), and
# the slow suite under valgrind (reusing ./build). Each step prints its wall time.
ci_step() {
  local t0=$SECONDS
  "$@"
  echo "test.sh: '$*' took $((SECONDS - t0)) s"
}
ci_step bash scripts/ci-sanitize.sh
ci_step bash scripts/ci-fuzz.sh
VG_BUILD=build ci_step bash scripts/ci-valgrind.sh
