#!/usr/bin/env bash
# Command-line checks of the fcdcc program: exit statuses, --help everywhere, and the
# issue's acceptance case (AlexNet conv2, n = 20, 4x4, any 4 stragglers, fp64 <= 1e-12).
# Usage: tests/cli/smoke.sh PATH/TO/fcdcc
set -u
bin=${1:?usage: smoke.sh FCDCC}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() { # name, expected status, command...
  local name=$1 want=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"; local got=$?
  if [ "$got" = "$want" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL $name: exit $got, wanted $want"; sed 's/^/  /' "$tmp/err" | head -5
  fi
}
json_le() { # name, key, bound: the JSON number in $tmp/out is <= bound
  local v; v=$(grep -o "\"$2\": [^,}]*" "$tmp/out" | head -1 | sed 's/.*: //')
  if awk -v v="$v" -v b="$3" 'BEGIN { exit !(v != "" && v != "null" && v + 0 <= b + 0) }'; then
    pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $1: $2 = '$v', wanted <= $3"; fi
}

for c in conv cond bench run report models; do check "$c --help" 0 "$bin" "$c" --help; done
check "no command" 2 "$bin"
check "unknown command" 2 "$bin" frobnicate
check "conv without workers" 2 "$bin" conv --shape 3,8,8,4,3
check "conv bad number" 2 "$bin" conv --shape 3,8,8,4,3 --workers x
check "conv ka*kb > n" 2 "$bin" conv --shape 3,8,8,4,3 --workers 3 --ka 2 --kb 2
check "conv unknown scheme" 2 "$bin" conv --shape 3,8,8,4,3 --workers 4 --scheme nope
check "conv missing file" 2 "$bin" conv --input "$tmp/none.npy" --filter "$tmp/none.npy" --workers 4
check "conv straggler out of range" 2 "$bin" conv --shape 3,8,8,4,3 --workers 4 --stragglers 9
check "conv undecodable" 1 "$bin" conv --shape 3,8,8,4,3 --workers 4 --ka 2 --kb 2 --stragglers 1
# the acceptance case, with several straggler sets, both decoders
for s in 0,1,2,3 16,17,18,19 0,5,11,19 3,7,12,15; do
  for d in fast generic; do
    check "alexnet conv2 stragglers $s $d" 0 "$bin" conv --shape 64,27,27,192,5 --pad 2 \
      --workers 20 --ka 4 --kb 4 --stragglers "$s" --decode "$d" --out "$tmp/y.npy"
    json_le "alexnet conv2 stragglers $s $d rel_error" rel_error 1e-12
  done
done
# worst-case stragglers: the decode uses the worst set, whose cond is the search's worst
check "conv worst stragglers" 0 "$bin" conv --shape 16,20,20,16,3 --workers 12 --ka 3 --kb 3 \
  --stragglers worst
grep -q '"exhaustive": true' "$tmp/out" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL worst set not exhaustive"; }
json_le "conv worst stragglers rel_error" rel_error 1e-11
# 16-bit workers: fp16 error of the rounding, not fp64's; fp16 overflow is a numeric failure
check "conv bf16" 0 "$bin" conv --shape 16,20,20,16,3 --workers 12 --ka 3 --kb 3 --precision bf16
json_le "conv bf16 rel_error" rel_error 0.5
check "conv fp8" 2 "$bin" conv --shape 16,20,20,16,3 --workers 12 --precision fp8
# --algo auto: the workers' 3x3 slabs (32 rows, 32 filters per group) take Winograd
check "conv algo auto" 0 "$bin" conv --shape 32,66,32,64,3 --pad 1 --workers 6 --ka 2 --kb 2 --algo auto
grep -q '"conv_algo": "winograd-2x2"' "$tmp/out" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL conv algo auto not winograd"; }
json_le "conv algo auto rel_error" rel_error 1e-12
check "conv algo bad" 2 "$bin" conv --shape 16,20,20,16,3 --workers 12 --algo fft
check "bench memory bad workers" 2 "$bin" bench memory --workers 0
check "bench bad section" 2 "$bin" bench --only nope
check "conv berrut" 0 "$bin" conv --shape 16,20,20,16,3 --workers 12 --ka 4 --kb 1 --scheme berrut
json_le "conv berrut rel_error" rel_error 1
check "cond" 0 "$bin" cond --scheme nsctc-rot --workers 12 --ka 3 --kb 3
json_le "cond worst" worst 1e3
# optimum: every law of the registry, law parameters by key, the end-to-end totals
check "optimum pareto" 0 "$bin" optimum --model lenet5 --workers 6 --law pareto --param pareto_shape=3 --json
json_le "optimum pareto totals" latency_s 10
grep -q '"totals"' "$tmp/out" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL optimum json lacks totals"; }
check "optimum markov text" 0 "$bin" optimum --model lenet5 --workers 6 --law markov
grep -q '^end-to-end over 3 conv layers' "$tmp/out" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL optimum text lacks the end-to-end line"; }
# one direction convention: the to_* names in the JSON, the older option names as aliases
check "optimum to-master/to-worker" 0 "$bin" optimum --model lenet5 --workers 6 --to-master-bps 5e8 --downlink-bps 2e9 --json
grep -q '"to_master_bps": 5e+08, "to_worker_bps": 2e+09' "$tmp/out" && grep -q '"to_worker_bytes"' "$tmp/out" &&
  ! grep -q 'upload\|download\|uplink\|downlink' "$tmp/out" && pass=$((pass + 1)) ||
  { fail=$((fail + 1)); echo "FAIL optimum json: link names or rates"; }
check "optimum bad param" 2 "$bin" optimum --model lenet5 --workers 6 --param shift=-1
check "optimum unknown param" 2 "$bin" optimum --model lenet5 --workers 6 --param nope=1
check "optimum trace law" 2 "$bin" optimum --model lenet5 --workers 6 --law trace
check "optimum unknown law" 2 "$bin" optimum --model lenet5 --workers 6 --law nope
check "models list" 0 "$bin" models
check "models alexnet" 0 "$bin" models alexnet
check "models unknown" 2 "$bin" models no-such-model
check "run missing scenario" 2 "$bin" run "$tmp/none.ini"
printf '[coding]\nka = x\n' >"$tmp/bad.ini"
check "run bad scenario" 2 "$bin" run "$tmp/bad.ini" --db "$tmp/bad.db"
[ ! -e "$tmp/bad.db" ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL bad scenario wrote a db"; }
grep -q "bad.ini:2" "$tmp/err" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL bad scenario message lacks file:line"; }
printf '[model]\nname = lenet5\n[cluster]\nworkers = 6\n[coding]\nka = 2\nkb = 2\n[run]\ntrials = 2\n' >"$tmp/s.ini"
check "run lenet5" 0 "$bin" run "$tmp/s.ini" --db "$tmp/s.db" --jobs 2
check "report" 0 "$bin" report "$tmp/s.db"
check "report per scheme" 0 "$bin" report "$tmp/s.db" --per-scheme
check "report json" 0 "$bin" report "$tmp/s.db" --json
check "report by scheme" 0 "$bin" report "$tmp/s.db" --by scheme --ci
check "report by unknown key" 2 "$bin" report "$tmp/s.db" --by no.such_key
check "report explain" 0 "$bin" report --explain
check "export csv" 0 "$bin" export "$tmp/s.db" --csv "$tmp/csv"
check "export refuses to overwrite" 2 "$bin" export "$tmp/s.db" --csv "$tmp/csv"
check "export --force" 0 "$bin" export "$tmp/s.db" --csv "$tmp/csv" --force
check "export --help" 0 "$bin" export --help
check "plot metrics" 0 "$bin" plot --metrics
check "plot unknown metric" 2 "$bin" plot "$tmp/s.db" --x workers --y no_such_metric
# never pool: a sweep over two keys the summary has no column for (a latency shift and
# the size of a slow class) gives one row per combination, labelled in the point column
printf '[run]\ntrials = 2\nseed = 5\ncompute = model\n[model]\nname = lenet5\n[coding]\nscheme = nsctc-rot\nka = 2\nkb = 2\n[cluster]\nworkers = 6\n[latency]\nmodel = shifted-exp\nshift = 1.0, 2.0\n[class slow]\ncount = 1, 2\nshift = 8.0\n' >"$tmp/two.ini"
check "two-key sweep" 0 "$bin" run "$tmp/two.ini" --db "$tmp/two.db" --quiet
"$bin" report "$tmp/two.db" >"$tmp/two.txt" 2>/dev/null
rows=$(grep -c '^lenet5' "$tmp/two.txt")
if [ "$rows" = 4 ] && grep -q 'shift=2, slow.count=1' "$tmp/two.txt"; then pass=$((pass + 1)); else
  fail=$((fail + 1)); echo "FAIL two-key sweep report: $rows rows"; sed 's/^/  /' "$tmp/two.txt"; fi
if [ -e "$tmp/s.db-wal" ] || [ -e "$tmp/s.db-shm" ]; then
  fail=$((fail + 1)); echo "FAIL -wal/-shm left beside s.db"; else pass=$((pass + 1)); fi
check "rerun without resume" 2 "$bin" run "$tmp/s.ini" --db "$tmp/s.db"
check "rerun with resume" 0 "$bin" run "$tmp/s.ini" --db "$tmp/s.db" --resume
echo "not a database" >"$tmp/x.db"
check "report not a db" 2 "$bin" report "$tmp/x.db"
# golden: a seeded model-only sweep's report against the checked-in expectation
gdir=$(dirname "$0")/../golden
for ini in "$gdir"/*.ini; do
  rm -f "$tmp"/g.db*
  "$bin" run "$ini" --db "$tmp/g.db" --quiet 2>/dev/null && "$bin" report "$tmp/g.db" >"$tmp/g.txt"
  if diff -u "${ini%.ini}.expected" "$tmp/g.txt" >"$tmp/g.diff"; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL golden $(basename "$ini")"; head -20 "$tmp/g.diff"; fi
  "$bin" run "$ini" --db "$tmp/g2.db" --quiet --jobs 2 2>/dev/null && "$bin" report "$tmp/g2.db" >"$tmp/g2.txt"
  cmp -s "$tmp/g.txt" "$tmp/g2.txt" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL golden --jobs 2 differs"; }
done
# OpenBLAS's core (cod_blas.h): --blas-core names SkylakeX, Haswell or nothing; the
# warning on stderr comes exactly when it names one and the variable is unset, and any
# value of OPENBLAS_CORETYPE silences it
want=$(env -u OPENBLAS_CORETYPE "$bin" --blas-core)
case "$want" in "" | SkylakeX | Haswell) pass=$((pass + 1)) ;; *) fail=$((fail + 1)); echo "FAIL --blas-core printed '$want'" ;; esac
env -u OPENBLAS_CORETYPE "$bin" models >/dev/null 2>"$tmp/err"
if [ -n "$want" ] && grep -q "OPENBLAS_CORETYPE=$want" "$tmp/err" || { [ -z "$want" ] && [ ! -s "$tmp/err" ]; }; then
  pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL blas warning does not match --blas-core '$want'"; sed 's/^/  /' "$tmp/err" | head -3; fi
OPENBLAS_CORETYPE=Prescott "$bin" models >/dev/null 2>"$tmp/err"
[ ! -s "$tmp/err" ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL blas warning with OPENBLAS_CORETYPE set"; }
[ -z "$(OPENBLAS_CORETYPE=Prescott "$bin" --blas-core)" ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL --blas-core with OPENBLAS_CORETYPE set"; }

echo "cli smoke: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
