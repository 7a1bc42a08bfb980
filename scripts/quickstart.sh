#!/usr/bin/env bash
# Install, build, and run the bundled default scenario (scenarios/quickstart.ini):
# AlexNet's conv layers on 20 simulated workers under nsctc-rot, uncoded and poly-real.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
mkdir -p results
rm -f results/quickstart.db results/quickstart.db-wal results/quickstart.db-shm
./build/cli/fcdcc run scenarios/quickstart.ini --db results/quickstart.db
