#!/usr/bin/env bash
# Regenerate tests/golden/*.expected from the current build; review with `git diff`.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for ini in tests/golden/*.ini; do
  build/cli/fcdcc run "$ini" --db "$tmp/g.db" --quiet 2>/dev/null
  build/cli/fcdcc report "$tmp/g.db" > "${ini%.ini}.expected"
  rm -f "$tmp"/g.db*
done
