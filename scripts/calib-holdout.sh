#!/usr/bin/env bash
# Calibration that predicts: fit the simulator on real MPI runs of one scenario and predict
# runs it has not seen. Fit set: AlexNet conv2-conv4 on n = 4 workers (tests/mpi/
# calib_alexnet.ini, TRIALS trials). Held out: the same layers on n = 3
# (calib_holdout_n3.ini) and another model, LeNet-5 on n = 4 (calib_holdout_lenet.ini);
# their [run] names contain "holdout". Every scenario runs TRIALS times: the trials of one
# point are repeats of the same real run, whose spread is the noise `fcdcc calibrate
# --holdout` reports beside the error. Then the calibrated simulator runs all three
# scenarios into the same database, a table gives the simulated against the measured
# latency per experiment (trials >= 1; trial 0 warms caches) with the runs' own spread,
# and `fcdcc plot DB sim-vs-real` marks the held-out points.
#   usage: scripts/calib-holdout.sh [DB] [FIGURE_DIR] [TRIALS]
#          (defaults results/calib-holdout.db, results/figures, 6)
set -euo pipefail
cd "$(dirname "$0")/.."
DB=${1:-results/calib-holdout.db}
OUT=${2:-results/figures}
TRIALS=${3:-6}
F=build/cli/fcdcc
FIT=tests/mpi/calib_alexnet.ini
HELD=(tests/mpi/calib_holdout_n3.ini tests/mpi/calib_holdout_lenet.ini)
[ -x "$F" ] || bash scripts/build.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
mkdir -p "$(dirname "$DB")"
rm -f "$DB" "$DB-wal" "$DB-shm"
np_of() { echo $(( $(sed -n 's/^workers = //p' "$1") + 1 )); }
for s in "$FIT" "${HELD[@]}"; do
  mpirun --oversubscribe -np "$(np_of "$s")" "$F" run "$s" --backend mpi:cache=off --db "$DB" \
    --set run.trials="$TRIALS" -q
done
"$F" calibrate "$DB" --holdout holdout | tee "${DB%.db}-calibrate.txt"
read -r -a CAL <<< "$(sed -n 's/^# as options: //p' "${DB%.db}-calibrate.txt")"
for s in "$FIT" "${HELD[@]}"; do
  "$F" run "$s" --db "$DB" --set run.trials="$TRIALS" "${CAL[@]}" -q
done
echo "summed conv-layer latency per run, trials >= 1: mean over runs (s), the MPI runs'"
echo "relative sd (the noise of repeating the same real run), and the calibrated simulator's error:"
sqlite3 -column -header "$DB" "
  WITH per AS (SELECT json_extract(r.params_json, '\$.run.name') AS experiment, r.backend AS b,
                      r.run_id, SUM(l.t_total_s) AS t
               FROM runs r JOIN layers l USING (run_id) WHERE r.trial >= 1 AND l.status = 'ok'
               GROUP BY r.run_id),
       agg AS (SELECT experiment, b, COUNT(*) AS n, AVG(t) AS m, AVG(t * t) AS m2 FROM per
               GROUP BY experiment, b)
  SELECT mpi.experiment AS experiment, mpi.n AS runs, printf('%.4f', mpi.m) AS mpi_s,
         printf('%.0f%%', 100 * sqrt(max(mpi.m2 - mpi.m * mpi.m, 0) * mpi.n / (mpi.n - 1)) / mpi.m)
           AS mpi_sd, printf('%.4f', sim.m) AS sim_s,
         printf('%+.0f%%', 100 * (sim.m / mpi.m - 1)) AS sim_error,
         CASE WHEN instr(mpi.experiment, 'holdout') > 0 THEN 'held out' ELSE 'fitted' END AS role
  FROM agg mpi JOIN agg sim ON sim.experiment = mpi.experiment AND sim.b = 'sim'
  WHERE mpi.b = 'mpi' ORDER BY role DESC, experiment;"
"$F" plot "$DB" sim-vs-real --out "$OUT"
