#!/usr/bin/env bash
# Install, build, and run the bundled default scenario (scenarios/quickstart.ini):
# AlexNet's conv layers on 20 simulated workers under nsctc-rot, uncoded and poly-real.
# usage: scripts/quickstart.sh [OUT_DIR]   (default: the current directory; never the sources)
set -euo pipefail
out=$(mkdir -p "${1:-.}" && cd "${1:-.}" && pwd)
cd "$(dirname "$0")/.."
bash scripts/build.sh
source scripts/blas-env.sh
rm -f "$out/quickstart.db" "$out/quickstart.db-wal" "$out/quickstart.db-shm"
./build/cli/fcdcc run scenarios/quickstart.ini --out "$out"
