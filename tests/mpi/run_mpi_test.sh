#!/bin/sh
# tests/mpi/run_mpi_test.sh FCDCC SRCDIR CASE: one end-to-end test of the MPI backend.
# Cases: exact, failstop, undecodable, calibrate, holdout, sweep, badworld, hostile. Needs mpirun and the
# sqlite3 shell (exit 77 = skipped when either is missing). Runs on loopback (vader).
set -u
F=$1; SRC=$2; CASE=$3
command -v mpirun >/dev/null 2>&1 || { echo "mpirun not found: skipped"; exit 77; }
command -v sqlite3 >/dev/null 2>&1 || { echo "sqlite3 shell not found: skipped"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=${OMPI_MCA_btl:-self,vader} OMPI_MCA_rmaps_base_oversubscribe=1
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT
MPIRUN="mpirun --oversubscribe"
fail() { echo "FAIL [$CASE]: $*"; exit 1; }
q() { sqlite3 "$1" "$2"; }
LENET=$SRC/lenet_n4.ini

case $CASE in
exact) # LeNet-5 on 4 workers decodes every layer to fp64 accuracy; rows say backend mpi
  timeout 60 $MPIRUN -np 5 "$F" run "$LENET" --backend mpi --db "$T/a.db" || fail "run failed"
  [ "$(q "$T/a.db" "select count(*) from runs where backend='mpi' and status='ok'")" = 2 ] || fail "expected 2 ok mpi runs"
  [ "$(q "$T/a.db" "select count(*) from layers where status='ok' and rel_error <= 1e-12")" = 6 ] \
    || fail "layers not exact: $(q "$T/a.db" "select layer_index, status, rel_error from layers")"
  [ "$(q "$T/a.db" "select count(*) from runs where e2e_rel_error <= 1e-12")" = 2 ] || fail "end-to-end error"
  # rows mean what the simulator's mean: phases add up to at most the layer's total
  [ "$(q "$T/a.db" "select count(*) from layers where t_total_s > 0 and t_compute_s > 0 and
      t_encode_s + t_to_worker_s + t_compute_s + t_to_master_s + t_decode_s <= t_total_s * 1.000001")" = 6 ] \
    || fail "phase times: $(q "$T/a.db" "select * from layers")"
  [ "$(q "$T/a.db" "select count(*) from workers where status='used'")" = 18 ] || fail "3 used workers per layer"
  # filters travel once per layer and code: the second run's uploads are smaller
  [ "$(q "$T/a.db" "select count(*) from (select layer_index, count(distinct bytes_to_worker) d from workers group by layer_index) where d = 2")" = 3 ] \
    || fail "filter cache: $(q "$T/a.db" "select layer_index, bytes_to_worker from workers")"
  # --resume skips, a second plain run refuses
  timeout 60 $MPIRUN -np 5 "$F" run "$LENET" --backend mpi --db "$T/a.db" --resume || fail "resume"
  [ "$(q "$T/a.db" "select count(*) from runs")" = 2 ] || fail "resume added runs"
  timeout 60 $MPIRUN -np 5 "$F" run "$LENET" --backend mpi --db "$T/a.db" >/dev/null 2>&1 && fail "rerun without --resume accepted"
  ;;
failstop) # one injected fail-stop worker: still decodes, the worker is marked failed
  timeout 60 $MPIRUN -np 5 "$F" run "$LENET" --backend mpi --db "$T/f.db" --set latency.fail_workers=1 \
    || fail "run failed"
  [ "$(q "$T/f.db" "select count(*) from layers where status='ok' and rel_error <= 1e-12")" = 6 ] || fail "not decoded"
  [ "$(q "$T/f.db" "select count(*) from workers where worker = 1 and status = 'failed'")" = 6 ] || fail "worker 1 not failed"
  [ "$(q "$T/f.db" "select count(*) from workers where worker <> 1 and status = 'used'")" = 18 ] || fail "survivors not used"
  q "$T/f.db" "select workers_used from layers" | grep -q 1 && fail "worker 1 used"
  ;;
undecodable) # two failed workers with delta = 3 of 4: undecodable within the bounded wait
  start=$(date +%s)
  timeout 60 $MPIRUN -np 5 "$F" run "$LENET" --backend mpi:wait=1 --db "$T/u.db" --set "latency.fail_workers=1 2" \
    || fail "run failed"
  el=$(( $(date +%s) - start ))
  [ $el -le 20 ] || fail "took $el s"
  [ "$(q "$T/u.db" "select count(*) from runs where status='undecodable' and status_time_s between 1 and 5")" = 2 ] \
    || fail "$(q "$T/u.db" "select status, status_time_s from runs")"
  [ "$(q "$T/u.db" "select count(*) from workers where status = 'failed'")" = 4 ] || fail "failed workers"
  ;;
badworld) # workers != ranks - 1, a bad backend option: clear errors, no hang
  out=$(timeout 60 $MPIRUN -np 3 "$F" run "$LENET" --backend mpi --db "$T/b.db" 2>&1) && fail "accepted -np 3"
  echo "$out" | grep -q "mpirun -np 5" || fail "message: $out"
  out=$("$F" run "$LENET" --backend mpi:wait=x --db "$T/b.db" 2>&1) && fail "accepted wait=x"
  echo "$out" | grep -q "bad wait" || fail "message: $out"
  out=$("$F" run "$LENET" --backend mpi:bogus --db "$T/b.db" 2>&1) && fail "accepted bogus"
  out=$("$F" calibrate "$T/none.db" 2>&1) && fail "calibrate of a missing db"
  "$F" run "$LENET" --db "$T/sim.db" >/dev/null 2>&1 || fail "sim run"
  out=$("$F" calibrate "$T/sim.db" 2>&1) && fail "calibrate without mpi rows"
  echo "$out" | grep -q "no decoded layer" || fail "message: $out"
  # what only the simulator implements is refused, not run as something else
  for kv in run.precision=fp16 cluster.stragglers=worst; do
    out=$(timeout 60 $MPIRUN -np 5 "$F" run "$LENET" --backend mpi --set "$kv" --db "$T/r.db" 2>&1) \
      && fail "accepted $kv"
    echo "$out" | grep -q "mpi backend" || fail "$kv message: $out"
  done
  ;;
holdout) # calibrate --holdout: fit on AlexNet n = 4, score LeNet-5 (held out by its name)
  timeout 120 $MPIRUN -np 5 "$F" run "$SRC/calib_alexnet.ini" --backend mpi:cache=off --db "$T/h.db" -q \
    || fail "mpi fit run"
  timeout 120 $MPIRUN -np 5 "$F" run "$SRC/calib_holdout_lenet.ini" --backend mpi:cache=off --db "$T/h.db" \
    --set run.trials=3 -q || fail "mpi held-out run"
  "$F" calibrate "$T/h.db" --holdout holdout > "$T/h.txt" || fail "calibrate --holdout"
  cat "$T/h.txt"
  # 9 fitted layers (3 runs x 3), 6 held out (trials 1 and 2 x 3 layers), each layer twice
  grep -q '^# rms relative residual' "$T/h.txt" || fail "no fit"
  grep -q "fitted to 9 decoded layers of 3 backend='mpi' runs" "$T/h.txt" || fail "fit set"
  grep -q '^# held-out runs (trials >= 1): 6 layers of 2 runs: rms error [0-9.]*%' "$T/h.txt" \
    || fail "held-out line"
  grep -q '(3 layers seen >= 2 times): noise [0-9.]*% rms' "$T/h.txt" || fail "noise line"
  "$F" calibrate "$T/h.db" --holdout no-such-run >/dev/null 2>"$T/e.txt" && fail "empty held-out set accepted"
  grep -q "no-such-run" "$T/e.txt" || fail "message: $(cat "$T/e.txt")"
  "$F" calibrate "$T/h.db" --holdout mpi-calib >/dev/null 2>"$T/e.txt" && fail "everything held out accepted"
  grep -q "all are held out" "$T/e.txt" || fail "message: $(cat "$T/e.txt")"
  "$F" calibrate "$T/h.db" --holdout "" >/dev/null 2>&1; [ $? = 2 ] || fail "empty --holdout not a usage error"
  ;;
calibrate) # the calibrated simulator predicts the MPI layer latency within 25 %
  S=$SRC/calib_alexnet.ini
  timeout 120 $MPIRUN -np 5 "$F" run "$S" --backend mpi:cache=off --db "$T/c.db" || fail "mpi run"
  "$F" calibrate "$T/c.db" --out "$T/frag.ini" > "$T/cal.txt" || fail "calibrate"
  cat "$T/cal.txt"
  grep -q '^compute_rate_flops = ' "$T/frag.ini" || fail "fragment"
  SETS=$(sed -n 's/^# as options: //p' "$T/cal.txt")
  # shellcheck disable=SC2086
  "$F" run "$S" --db "$T/s.db" $SETS >/dev/null || fail "calibrated sim run"
  # median over trials >= 1 (trial 0 warms caches) of the run's summed layer latency
  med() { # DB
    q "$1" "select sum(l.t_total_s) from layers l join runs r using(run_id)
                 where r.trial >= 1 group by r.run_id order by 1" |
      awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
  }
  m=$(med "$T/c.db"); s=$(med "$T/s.db")
  echo "layer latency, summed over coded layers (median): mpi $m s, calibrated sim $s s"
  awk -v m="$m" -v s="$s" 'BEGIN { e = (s - m) / m; printf "relative error %.1f %%\n", 100 * e;
                                   exit (e < -0.25 || e > 0.25) }' || fail "sim-vs-real error above 25 %"
  # the same scenario simulated into the MPI database: run keys differ by backend, so both
  # sets of rows live side by side and the sim-vs-real figure pairs them
  "$F" run "$S" --db "$T/c.db" $SETS -q >/dev/null || fail "calibrated sim run into the mpi db"
  [ "$(q "$T/c.db" "select count(*) from runs where backend = 'sim'")" = \
    "$(q "$T/c.db" "select count(*) from runs where backend = 'mpi'")" ] || fail "sim and mpi runs"
  if command -v gnuplot >/dev/null; then
    "$F" plot "$T/c.db" sim-vs-real --out "$T/fig" >/dev/null || fail "plot sim-vs-real"
    [ -s "$T/fig/sim-vs-real.png" ] && [ -s "$T/fig/sim-vs-real.svg" ] || fail "figure files"
  fi
  ;;
sweep) # mpi-sweep: 3 ranks share 6 points x 2 trials, every run stored exactly once
  timeout 60 $MPIRUN -np 3 "$F" run "$LENET" --backend mpi-sweep --db "$T/s.db" \
    --set "cluster.workers=4..9" --set run.compute=model || fail "run failed"
  [ "$(q "$T/s.db" "select count(*), count(distinct run_key) from runs")" = "12|12" ] || fail "$(q "$T/s.db" "select run_key from runs")"
  [ "$(q "$T/s.db" "select count(*) from runs where backend='sim'")" = 12 ] || fail "backend"
  "$F" run "$LENET" --db "$T/ref.db" --set "cluster.workers=4..9" --set run.compute=model >/dev/null || fail "reference"
  a=$(q "$T/s.db" "select run_key, latency_s from runs order by run_key")
  b=$(q "$T/ref.db" "select run_key, latency_s from runs order by run_key")
  [ "$a" = "$b" ] || fail "rows differ from a single-process sweep"
  ;;
hostile) # issue 11: a draw past the simulation horizon is the runs' error outcome, at once
  start=$(date +%s)
  out=$(timeout 60 $MPIRUN -np 5 "$F" run "$LENET" --backend mpi --db "$T/h.db" \
    --set latency.model=shifted-exp --set latency.rate=1e-300 2>&1) || fail "run failed: $out"
  el=$(( $(date +%s) - start ))
  [ $el -le 20 ] || fail "took $el s: a worker slept its draw"
  [ "$(q "$T/h.db" "select count(*) from runs where status='error'")" = 2 ] \
    || fail "$(q "$T/h.db" "select status from runs")"
  [ "$(q "$T/h.db" "select count(*) from layers where status='ok'")" = 0 ] || fail "ok layers"
  echo "$out" | grep -q "simulated time beyond horizon" || fail "no warning: $out"
  # a key that makes every run pass it is refused before any rank works
  out=$(timeout 60 $MPIRUN -np 5 "$F" run "$LENET" --backend mpi --db "$T/k.db" \
    --set latency.model=shifted-exp --set latency.shift=1e18 2>&1) && fail "accepted shift = 1e18"
  echo "$out" | grep -q "command line: \[latency\] shift: point 0" || fail "message: $out"
  [ ! -e "$T/k.db" ] || fail "a database was written"
  # issue 16: the simulated-only allocation and returns are refused, naming both keys
  for set in "cluster.returns=per-task" "cluster.allocation=proportional --set cluster.tasks=8"; do
    # shellcheck disable=SC2086 # $set is two words for the second case
    out=$(timeout 60 $MPIRUN -np 5 "$F" run "$LENET" --backend mpi --db "$T/p.db" --set $set 2>&1) \
      && fail "accepted $set"
    echo "$out" | grep -q "mpi backend runs \[cluster\] allocation = equal with returns = per-worker only" \
      || fail "$set: message: $out"
  done
  ;;
*) fail "unknown case" ;;
esac
echo "ok [$CASE]"
