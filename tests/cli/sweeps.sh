#!/usr/bin/env bash
# Command-line checks of sweeps that respect the user's time (issue 17): every point checked
# before the first run, skip = infeasible, paired lists, points the scheme ignores run once,
# units, --set typos, --out, SIGINT/SIGTERM with the resume hint, and fcdcc recommend.
# Usage: tests/cli/sweeps.sh PATH/TO/fcdcc   (registered as the meson test cli_sweeps)
set -u
bin=${1:?usage: sweeps.sh FCDCC}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { # name, expected status, command...
  local name=$1 want=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"; local got=$?
  if [ "$got" = "$want" ]; then ok; else
    bad "$name: exit $got, wanted $want"; sed 's/^/  /' "$tmp/err" | head -5
  fi
}
has() { # name, file, fixed string
  grep -qF -- "$3" "$2" && ok || { bad "$1: '$3' not in $2"; sed 's/^/  /' "$2" | head -8; }
}
q() { sqlite3 "$@" 2>/dev/null; }
base='[run]\ncompute = model\n[model]\nname = lenet5\n[cluster]\nworkers = 6\n'

# --out: the default database goes to the current directory or --out DIR, never results/
printf "$base[coding]\nka = 2\nkb = 2\n" >s.ini
check "run default db in cwd" 0 "$bin" run s.ini -q
[ -f s.db ] && [ ! -e results ] && ok || bad "run wrote somewhere else than ./s.db"
mkdir o
check "run --out" 0 "$bin" run s.ini --out o -q
[ -f o/s.db ] && ok || bad "run --out o did not write o/s.db"
check "run --out missing dir" 2 "$bin" run s.ini --out nowhere
has "run --out missing dir message" err "--out nowhere: not a directory"
check "run --out and --db" 2 "$bin" run s.ini --out o --db x.db
[ ! -e x.db ] && ok || bad "--out with --db wrote a file"

# units and --set typos
check "run with units" 0 "$bin" run s.ini --db u.db -q --set network.uplink_bps=100Mbit/s \
  --set cluster.storage_bytes=1GiB
[ "$(q u.db "select json_extract(params_json, '\$.network.uplink_bps') from runs")" = 100000000.0 ] &&
  ok || bad "100Mbit/s is not 1e8 in params_json"
check "unit mismatch" 2 "$bin" run s.ini --db u2.db --set cluster.storage_bytes=5Mbit/s
has "unit mismatch message" err "[cluster] storage_bytes: bad value '5Mbit/s': a value in bit/s, but the key is in bytes"
check "set typo" 2 "$bin" run s.ini --db u2.db --set cluster.worker=4
has "set typo message" err "(known: workers, compute_rate_flops"
has "set typo suggestion" err "did you mean 'workers'?"
[ ! -e u2.db ] && ok || bad "a refused run wrote its db"

# SIGINT / SIGTERM: the running runs commit, the resume command is printed, exit 128+N
printf '[run]\ntrials = 6000\ncompute = model\n[model]\nname = lenet5\n[cluster]\nworkers = 6\n[coding]\nka = 2\nkb = 2\n' >long.ini
for sig in INT TERM; do
  rm -f long.db*
  "$bin" run long.ini --db long.db -q --jobs 2 >/dev/null 2>"err.$sig" &
  pid=$!
  for _ in $(seq 50); do [ -s long.db ] && break; sleep 0.1; done
  sleep 0.3
  kill -"$sig" "$pid"
  wait "$pid"; got=$?
  want=$([ "$sig" = INT ] && echo 130 || echo 143)
  [ "$got" = "$want" ] && ok || bad "SIG$sig: exit $got, wanted $want"
  has "SIG$sig message" "err.$sig" "stopped by SIG$sig"
  has "SIG$sig resume hint" "err.$sig" "fcdcc run --db long.db -q --jobs 2 long.ini --resume"
  n=$(q long.db "select count(*) from runs")
  [ -n "$n" ] && [ "$n" -gt 0 ] && [ "$n" -lt 6000 ] && ok || bad "SIG$sig: $n runs stored"
  [ ! -e long.db-wal ] && ok || bad "SIG$sig left long.db-wal"
done
# resuming completes the sweep with each run once
check "resume after a stop" 0 "$bin" run long.ini --db long.db -q --jobs 2 --resume
[ "$(q long.db "select count(*) || ' ' || count(distinct run_key) from runs")" = "6000 6000" ] &&
  ok || bad "resume did not complete the sweep with distinct runs"

echo "cli sweeps: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
