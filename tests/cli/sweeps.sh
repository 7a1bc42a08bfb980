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
[ "$(q u.db "select json_extract(params_json, '\$.network.to_master_bps') from runs")" = 100000000.0 ] &&
  ok || bad "100Mbit/s is not 1e8 in params_json"
check "unit mismatch" 2 "$bin" run s.ini --db u2.db --set cluster.storage_bytes=5Mbit/s
has "unit mismatch message" err "[cluster] storage_bytes: bad value '5Mbit/s': a value in bit/s, but the key is in bytes"
check "set typo" 2 "$bin" run s.ini --db u2.db --set cluster.worker=4
has "set typo message" err "(known: workers, compute_rate_flops"
has "set typo suggestion" err "did you mean 'workers'?"
[ ! -e u2.db ] && ok || bad "a refused run wrote its db"

# SIGINT / SIGTERM: the running runs commit, the resume command is printed, exit 128+N.
# Real compute, so the sweep lasts seconds whatever the writer's speed (a model-only sweep
# of 6000 runs could finish inside the 0.3 s wait once writing got faster).
printf '[run]\ntrials = 3000\ncompute = real\n[model]\nname = lenet5\n[cluster]\nworkers = 6\n[coding]\nka = 2\nkb = 2\n' >long.ini
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
  [ -n "$n" ] && [ "$n" -gt 0 ] && [ "$n" -lt 3000 ] && ok || bad "SIG$sig: $n runs stored"
  [ ! -e long.db-wal ] && ok || bad "SIG$sig left long.db-wal"
done
# reproduce stops the same way, before drawing anything
mkdir -p rsc && cp long.ini rsc/ && mkdir -p rout
"$bin" reproduce --scenarios rsc --out rout --jobs 2 >/dev/null 2>err.rep &
pid=$!
for _ in $(seq 50); do [ -s rout/paper.db ] && break; sleep 0.1; done
sleep 0.3
kill -INT "$pid"
wait "$pid"; got=$?
[ "$got" = 130 ] && ok || bad "reproduce SIGINT: exit $got, wanted 130"
has "reproduce resume hint" err.rep "--resume"
[ ! -e rout/REPORT.md ] && ok || bad "a stopped reproduce wrote REPORT.md"
# resuming completes the sweep with each run once
check "resume after a stop" 0 "$bin" run long.ini --db long.db -q --jobs 2 --resume
[ "$(q long.db "select count(*) || ' ' || count(distinct run_key) from runs")" = "3000 3000" ] &&
  ok || bad "resume did not complete the sweep with distinct runs"

# every infeasible point in one message; skip = infeasible runs the others and records them
printf "$base[coding]\nscheme = nsctc-cir\nka = 1..3\nkb = 1..3\n" | sed 's/workers = 6/workers = 12/' >cir.ini
check "infeasible points refused" 2 "$bin" run cir.ini --db cir.db
[ ! -e cir.db ] && ok || bad "a refused sweep wrote its db"
has "first line counts them" err "and 3 more of the 9 points are infeasible"
for p in "point 4 (ka=2 kb=2)" "point 5 (ka=2 kb=3)" "point 7 (ka=3 kb=2)" "point 8 (ka=3 kb=3)"; do
  has "listed: $p" err "$p"
done
check "skip = infeasible" 0 "$bin" run cir.ini --db cir.db -q --set sweep.skip=infeasible
[ "$(q cir.db "select group_concat(point_index) from (select distinct point_index from runs order by 1)")" = "0,1,2,3,6" ] &&
  ok || bad "skip = infeasible ran other points than 0,1,2,3,6"
[ "$(q cir.db "select group_concat(point_index || ':' || kind) from skipped_points order by point_index")" = "4:infeasible,5:infeasible,7:infeasible,8:infeasible" ] &&
  ok || bad "skipped_points: $(q cir.db "select * from skipped_points")"
check "resume records nothing twice" 0 "$bin" run cir.ini --db cir.db -q --set sweep.skip=infeasible --resume
[ "$(q cir.db "select count(*) from skipped_points")" = 4 ] && ok || bad "skipped_points grew on resume"

# points the scheme ignores run once; paired lists
printf "$base[coding]\nscheme = uncoded\nka = 1, 2\nkb = 2, 4\n" >dup.ini
check "duplicates run once" 0 "$bin" run dup.ini --db dup.db -q
has "duplicates announced" err "3 the same as an earlier point"
[ "$(q dup.db "select count(distinct point_index) || ' ' || (select count(*) from skipped_points where kind = 'duplicate' and same_as = 0) from runs")" = "1 3" ] &&
  ok || bad "uncoded with 4 (ka, kb) ran $(q dup.db "select count(distinct point_index) from runs") points"
printf "$base[coding]\nscheme = nsctc-rot\n[sweep]\npair = ka,kb: 2x3, 3x2, 1x6\n" >pair.ini
check "pair" 0 "$bin" run pair.ini --db pair.db -q
[ "$(q pair.db "select group_concat(ka || 'x' || kb) from (select ka, kb from runs order by point_index)")" = "2x3,3x2,1x6" ] &&
  ok || bad "pair ran $(q pair.db "select group_concat(ka || 'x' || kb) from runs")"

# fcdcc recommend: one row per configuration, constraints, JSON, the analytic answer
printf '[run]\ntrials = 8\n[model]\nname = lenet5\n[cluster]\nworkers = 8\n[coding]\nscheme = nsctc-rot, poly-real\nka = 2\nkb = 2, 3\n' >rec.ini
check "run rec" 0 "$bin" run rec.ini -q
check "recommend --help" 0 "$bin" recommend --help
check "recommend p95" 0 "$bin" recommend rec.db --objective p95 --max-mse 1e-20
[ "$(grep -c '^[1-4] ' out)" = 4 ] && ok || { bad "recommend ranked $(grep -c '^[1-4] ' out) of 4"; cat out; }
has "recommend names the configuration" out "scheme=nsctc-rot kb=3"
has "recommend states its method" out "bootstrap resamples"
has "recommend margins" out "margins (ranked): #1 mse"
check "recommend storage bound" 0 "$bin" recommend rec.db --objective mean --max-storage 150kB
has "recommend unranked rows" out "breaks max-storage"
check "recommend json" 0 "$bin" recommend rec.db --objective bytes --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["ranked"]) == 4, d' out 2>/dev/null &&
  ok || bad "recommend --json is not JSON with 4 ranked rows"
check "recommend --scenario" 0 "$bin" recommend --scenario rec.ini --objective mean --max-mse 1e-20
has "analytic says MSE is unchecked" out "NOT checked: the MSE has no analytic model"
[ "$(grep -c '^[1-4] ' out)" = 4 ] && ok || bad "analytic recommend ranked $(grep -c '^[1-4] ' out) of 4"
check "recommend no objective" 2 "$bin" recommend rec.db
check "recommend bad objective" 2 "$bin" recommend rec.db --objective p50
has "recommend bad objective message" err "unknown 'p50' (known: p95, mean, bytes, energy)"
check "recommend storage unit" 2 "$bin" recommend rec.db --objective p95 --max-storage 5Mbit/s
has "recommend storage unit message" err "a value in bit/s, but the key is in bytes"
check "recommend energy unmodelled" 0 "$bin" recommend rec.db --objective energy
has "recommend energy unmodelled says so" out "breaks energy (not modelled in these runs)"
check "run rec with energy" 0 "$bin" run rec.ini -q --db recE.db --set cluster.busy_w=5 --set cluster.idle_w=1
check "recommend energy" 0 "$bin" recommend recE.db --objective energy
[ "$(grep -c '^[1-4] ' out)" = 4 ] && ok || { bad "energy ranked $(grep -c '^[1-4] ' out) of 4"; cat out; }
check "recommend --scenario energy unmodelled" 0 "$bin" recommend --scenario rec.ini --objective energy
has "analytic energy unmodelled says so" out "energy not modelled"
check "recommend --scenario energy" 0 "$bin" recommend --scenario rec.ini --objective energy \
  --set cluster.busy_w=5 --set cluster.idle_w=1 --set latency.model=deterministic
[ "$(grep -c '^[1-4] ' out)" = 4 ] && ok || { bad "analytic energy ranked $(grep -c '^[1-4] ' out) of 4"; cat out; }
check "recommend missing db" 2 "$bin" recommend nothing.db --objective p95
check "recommend analytic p95" 2 "$bin" recommend --scenario rec.ini --objective p95
check "recommend set without scenario" 2 "$bin" recommend rec.db --objective p95 --set run.trials=2
check "recommend two dbs" 2 "$bin" recommend rec.db rec.db --objective p95

# recommend labels name only the keys a configuration reads: uncoded ignores ka (its pair
# is fixed by n), nsctc-rot reads it
printf "$base[coding]\nscheme = uncoded, nsctc-rot\nka = 1, 2\nkb = 2\n" >lab.ini
check "run lab" 0 "$bin" run lab.ini -q
check "recommend lab" 0 "$bin" recommend lab.db --objective mean
has "recommend label of uncoded" out " scheme=uncoded"
grep -q " scheme=uncoded ka=" out && bad "uncoded's label names ka" || ok
has "recommend label of nsctc-rot" out " scheme=nsctc-rot ka=1"

# fcdcc upgrade: a version-8 file (columns renamed back, version 10's energy columns
# dropped, version 8) is refused by the read-only report, naming the command; upgrade takes
# it to 11 in place, values unchanged
if command -v sqlite3 >/dev/null; then
  cp s.db old.db
  want=$(q old.db "select sum(bytes_to_worker), sum(bytes_to_master) from workers")
  q old.db "alter table workers rename column bytes_to_worker to bytes_up; alter table workers
    rename column bytes_to_master to bytes_down; alter table layers rename column t_to_worker_s
    to t_upload_s; alter table layers rename column t_to_master_s to t_download_s; alter table
    layers rename column an_to_worker_bytes to an_upload_bytes; alter table layers rename column
    an_to_master_bytes to an_download_bytes; alter table requests drop column energy_j; alter
    table load_runs drop column energy_j; alter table load_runs drop column energy_idle_j; alter
    table load_runs drop column energy_unattributed_j; alter table load_runs drop column
    energy_req_mean_j; alter table load_runs drop column energy_req_mean_ci_j;
    pragma user_version = 8"
  check "report of a version-8 file" 2 "$bin" report old.db
  has "report names the upgrade" err "fcdcc upgrade old.db"
  check "upgrade" 0 "$bin" upgrade old.db
  [ "$(q old.db "pragma user_version")" = 11 ] && ok || bad "upgrade left version $(q old.db 'pragma user_version')"
  [ "$(q old.db "select sum(bytes_to_worker), sum(bytes_to_master) from workers")" = "$want" ] &&
    ok || bad "upgrade changed the bytes"
  check "report after upgrade" 0 "$bin" report old.db
  check "upgrade again" 0 "$bin" upgrade old.db
  check "upgrade missing file" 2 "$bin" upgrade nothing.db
  [ ! -e nothing.db ] && ok || bad "upgrade created a missing file"
  check "upgrade no argument" 2 "$bin" upgrade
else
  echo "skip: no sqlite3 for the upgrade check"
fi

# report --json: one document a JSON parser reads, with the rows and their columns documented
py=/usr/bin/python3
if [ -x "$py" ]; then
  check "report json" 0 "$bin" report s.db --json
  "$py" -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["report"] == "summary", d["report"]
assert len(d["rows"]) == 1 and d["data"] == [], d
names = [c["name"] for c in d["columns"]]
assert names == list(d["rows"][0]), (names, list(d["rows"][0]))
assert all(c["meaning"] for c in d["columns"])' out && ok || bad "report --json is not the documented object"
  check "report json per scheme" 0 "$bin" report s.db --json --per-scheme
  "$py" -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["report"] == "per_scheme" and "data" not in d' out &&
    ok || bad "report --json --per-scheme"
else
  echo "skip: no /usr/bin/python3 for the JSON report check"
fi

# The cost estimate, on a terminal only (script(1) gives the run a pseudo-terminal): the
# points, the point that will not run and the runs before the first run; the pilots'
# estimate after them; nothing of the kind without a terminal. 4 points, one a duplicate
# (uncoded ignores ka), 3 x 100000 runs of real compute: over a minute on any machine.
printf '[run]\ntrials = 100000\ncompute = real\n[model]\nname = lenet5\n[cluster]\nworkers = 6\n[coding]\nscheme = uncoded, nsctc-rot\nka = 1, 2\nkb = 2\n' >est.ini
if command -v script >/dev/null && command -v timeout >/dev/null; then
  script -qec "timeout -s INT 5 '$bin' run est.ini --db est.db -q" /dev/null 2>&1 | tr '\r' '\n' >est.out
  has "estimate: counts before the first run" est.out \
    "est.ini: 4 points (1 not run: 0 infeasible, 1 duplicate), 300000 runs -> est.db"
  has "estimate: after the pilots" est.out "estimate: "
  has "estimate: says how to stop" est.out "--resume continues"
  first_run=$(grep -n '^  runs 1/' est.out | head -1 | cut -d: -f1)
  counts=$(grep -n '300000 runs -> est.db' est.out | head -1 | cut -d: -f1)
  [ -n "$first_run" ] && [ -n "$counts" ] && [ "$counts" -lt "$first_run" ] && ok ||
    bad "the counts line ($counts) is not before the first run ($first_run)"
  rest=$(sed -n 's/.*estimate: \([0-9]*\) runs to go, about \([0-9]*\) s.*/\2/p' est.out)
  [ -n "$rest" ] && [ "$rest" -gt 60 ] && ok || bad "estimate of ${rest:-nothing} s, expected > 60"
else
  echo "skip: no script(1) or timeout(1) for the terminal estimate"
fi
rm -f est.db*
"$bin" run est.ini --db est.db -q --set run.trials=1 >/dev/null 2>est.err
grep -qF -- "estimate:" est.err && bad "an estimate without a terminal" || ok
grep -qF -- "runs -> est.db" est.err && bad "the counts line without a terminal" || ok

echo "cli sweeps: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
