#!/usr/bin/env bash
# Simulated against real: run AlexNet's conv layers coded on 4 MPI worker processes of this
# machine, fit the simulator to those runs (fcdcc calibrate), simulate the same scenario
# with the fitted values into the same database, print the per-layer latencies side by
# side and draw `fcdcc plot DB sim-vs-real`.
#   usage: scripts/sim-vs-real.sh [DB] [FIGURE_DIR]   (defaults ./sim-vs-real.db, ./figures of
#   the directory it is started from: outputs never go into the source tree)
set -euo pipefail
here=$PWD
DB=${1:-$here/sim-vs-real.db}
OUT=${2:-$here/figures}
case $DB in /*) ;; *) DB=$here/$DB ;; esac
case $OUT in /*) ;; *) OUT=$here/$OUT ;; esac
cd "$(dirname "$0")/.."
F=build/cli/fcdcc
S=tests/mpi/calib_alexnet.ini
SETS=(--set model.layers=all --set run.trials=4)
[ -x "$F" ] || bash scripts/build.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
mkdir -p "$(dirname "$DB")"
rm -f "$DB" "$DB-wal" "$DB-shm"
mpirun --oversubscribe -np 5 "$F" run "$S" --backend mpi:cache=off --db "$DB" "${SETS[@]}" -q
"$F" calibrate "$DB" --out "${DB%.db}-calibrated.ini"
read -r -a CAL <<< "$("$F" calibrate "$DB" | sed -n 's/^# as options: //p')"
"$F" run "$S" --db "$DB" "${SETS[@]}" "${CAL[@]}" -q
echo "mean layer latency over trials >= 1 (trial 0 warms caches), s; all = the conv layers summed:"
sqlite3 -column -header "$DB" "
  SELECT l.layer_name AS layer,
         printf('%.4f', AVG(CASE WHEN r.backend = 'mpi' THEN l.t_total_s END)) AS mpi,
         printf('%.4f', AVG(CASE WHEN r.backend = 'sim' THEN l.t_total_s END)) AS sim,
         printf('%+.0f%%', 100 * (AVG(CASE WHEN r.backend = 'sim' THEN l.t_total_s END) /
                                  AVG(CASE WHEN r.backend = 'mpi' THEN l.t_total_s END) - 1))
           AS sim_error
  FROM layers l JOIN runs r USING (run_id) WHERE r.trial >= 1
  GROUP BY l.layer_index
  UNION ALL
  SELECT 'all', printf('%.4f', AVG(CASE WHEN backend = 'mpi' THEN t END)),
         printf('%.4f', AVG(CASE WHEN backend = 'sim' THEN t END)),
         printf('%+.0f%%', 100 * (AVG(CASE WHEN backend = 'sim' THEN t END) /
                                  AVG(CASE WHEN backend = 'mpi' THEN t END) - 1))
  FROM (SELECT r.backend, SUM(l.t_total_s) AS t FROM layers l JOIN runs r USING (run_id)
        WHERE r.trial >= 1 GROUP BY r.run_id);"
"$F" plot "$DB" sim-vs-real --out "$OUT"
