#!/usr/bin/env bash
# docs/tutorial.md, run as a test so that it stays true: every ```sh block of the page, in
# order, in one bash session from the repository root (with the page's build/cli/fcdcc
# replaced by the binary under test and TMPDIR by a private directory), then every
# "<!-- expect: REGEX -->" line of the page is looked for (grep -E) in the combined output.
# A block that fails, or an expectation that matches nothing, fails the test.
# Usage: tests/cli/tutorial.sh PATH/TO/fcdcc   (meson test `tutorial`, suite tutorial)
set -u
bin=${1:?usage: tutorial.sh FCDCC}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
root=$(cd "$(dirname "$0")/../.." && pwd)
page=$root/docs/tutorial.md
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the sh blocks, each followed by a check of its status
awk -v bin="$bin" '
  /^```sh$/ { inb = 1; n++; print "echo \"== tutorial block " n "\""; next }
  /^```$/ && inb { inb = 0; print "st=$?; [ $st = 0 ] || { echo \"tutorial block " n " exited $st\" >&2; exit 1; }"; next }
  inb { gsub(/build\/cli\/fcdcc/, bin); print }
' "$page" > "$tmp/blocks.sh"
nblocks=$(grep -c '^== tutorial block' <(grep -o '== tutorial block [0-9]*' "$tmp/blocks.sh"))
if [ "$nblocks" -lt 5 ]; then
  echo "tutorial: found only $nblocks sh blocks in $page"
  exit 1
fi
mkdir "$tmp/t"
(cd "$root" && TMPDIR="$tmp/t" bash -e "$tmp/blocks.sh") > "$tmp/out" 2>&1
st=$?
if [ $st != 0 ]; then
  echo "tutorial: the blocks of docs/tutorial.md failed (status $st); last output:"
  tail -n 30 "$tmp/out"
  exit 1
fi
fail=0 n=0
while IFS= read -r re; do
  n=$((n + 1))
  if ! grep -Eq -- "$re" "$tmp/out"; then
    echo "tutorial: expected /$re/ in the output; it was:"
    sed 's/^/  /' "$tmp/out" | head -60
    fail=1
  fi
done < <(sed -n 's/^<!-- expect: \(.*\) -->$/\1/p' "$page")
if [ "$n" -lt 3 ]; then
  echo "tutorial: only $n expectations in $page"
  exit 1
fi
[ $fail = 0 ] && echo "tutorial: $nblocks blocks ran, $n expectations held"
exit $fail
