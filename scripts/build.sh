#!/usr/bin/env bash
# Configure (once) and build fcdcc in ./build. Configure prints which BLAS was linked.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
if [ ! -f build/build.ninja ]; then
  meson setup build --buildtype=debugoptimized
fi
ninja -C build
