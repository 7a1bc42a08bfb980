#!/usr/bin/env bash
# Install, build and run the whole test suite (every suite: unit, numeric, golden, slow),
# then the command-line smoke checks.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
meson test -C build --print-errorlogs --num-processes 2
bash tests/cli/smoke.sh build/cli/fcdcc
