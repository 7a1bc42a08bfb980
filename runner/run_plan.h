/* run_plan.h: the dry run of one sweep point, done for every point before the first run.
 *
 * A sweep must not commit six runs and then stop on the seventh point's bad value, so
 * everything about a point that can be known without simulating it is checked up front:
 * the code of every selected conv layer is planned exactly as run_execute would plan it
 * (worker limits, one-sided codes, q, divisor pairs, storage repartitioning), the latency
 * trace covers every worker, and the deterministic part of every simulated duration fits
 * the simulation horizon (sim_engine.h, SIM_TIME_HORIZON_NS): the message/propagation
 * latency, each worker's nominal compute time at its compute_rate_flops (and its law's
 * minimum multiple: shift, pareto_scale), every link and NIC transfer at its rate, and the
 * master's encode, decode and own layers at master_flops, each summed over the layers of
 * one run. What only a random draw can push past the horizon is an outcome of that run
 * (run_layer.h, RUN_MSG_HORIZON), not an error here.
 *
 * Cost: one cod_code plan per selected layer and per distinct point (consecutive points
 * that differ only in seeds, trials or names share the check), microseconds each; one
 * read of a trace file per distinct path.
 */
#ifndef FCDCC_RUN_PLAN_H
#define FCDCC_RUN_PLAN_H

#include "cod_status.h"
#include "model.h"
#include "run_config.h"
#include "run_scenario.h"

/* Check point cfg (validated by run_config_validate) on its model m. Returns COD_OK, or
 * the status of the first problem (COD_EINVAL; COD_EIO / COD_EFORMAT for a trace file;
 * COD_ENOMEM) with a message and *blame set to a static NULL-terminated list of the
 * "section.key" names at fault, most specific first ("class.key" for class klass's key:
 * *klass is then its index, else -1), for run_scenario_point_blame. */
int run_plan_check(const run_config *cfg, const model *m, const char *const **blame,
                   int *klass, cod_err *err);

/* ---- the plan of a whole sweep ---------------------------------------------------------
 *
 * Every point is checked before the first run (run_scenario_point's cross-key rules, the
 * model and its selected layers, run_plan_check), and EVERY infeasible point is listed,
 * not only the first. A point is
 *   RUN_POINT_RUN         to run;
 *   RUN_POINT_INFEASIBLE  refused by a check of its own values (COD_EINVAL): the sweep is
 *                         refused, listing them all, unless [sweep] skip = infeasible, when
 *                         the feasible points run and these are recorded (skipped_points);
 *   RUN_POINT_DUPLICATE   the same configuration as an earlier point once the keys its
 *                         scheme ignores are set aside, derived from coding/'s registry and
 *                         the runner's pair rule (run_config_pairs): ka, kb and delta where
 *                         the pair is fixed (uncoded, replication) or derived, replication
 *                         unless the scheme makes copies, q unless the scheme reads it, the
 *                         coefficient seed unless it takes one, approx_wait and
 *                         approx_deadline_s unless it is approximate, worst_sets unless
 *                         stragglers = worst. It runs once (as the earlier point) and is
 *                         recorded with the point it repeats and the keys that differ.
 * Errors that are no point's own (a model that does not load, a trace file that cannot be
 * read, points x trials above RUN_SWEEP_MAX_RUNS, out of memory) stop the planning: the
 * status with the usual "FILE:LINE: [section] key: point P (label): ..." message. */
enum run_point_state { RUN_POINT_RUN = 0, RUN_POINT_INFEASIBLE = 1, RUN_POINT_DUPLICATE = 2 };

/* The duplicate rule above for one key, from stored values (recommend's labels): 1 if a
 * configuration of scheme (registry name) and stragglers ("random", "worst"; NULL: absent)
 * ignores key ("coding.ka", "cluster.worst_sets", ...), 0 if it reads it or the scheme is
 * unknown. ka, kb and delta count as ignored where the pair is fixed (uncoded,
 * replication), as they are set aside there whatever their values. */
int run_plan_key_ignored(const char *scheme, const char *stragglers, const char *key);

typedef struct run_point_skip {
  size_t point;
  int state;        /* RUN_POINT_INFEASIBLE or RUN_POINT_DUPLICATE */
  size_t same_as;   /* DUPLICATE: the earlier point that runs in its place */
  char *reason;     /* the check's message, or "same configuration as point P (...): ..." */
} run_point_skip;

typedef struct run_sweep_plan {
  size_t n_points;
  unsigned char *state;   /* n_points entries of enum run_point_state */
  run_point_skip *skips;  /* the points not RUN, in point order */
  size_t n_skips, n_infeasible, n_duplicate;
  int skip_infeasible;    /* the scenario's [sweep] skip = infeasible */
  size_t n_runs;          /* runs of the points to run (their trials summed); 0 on error */
} run_sweep_plan;

/* Plan every point of sc into *plan (caller storage; release with run_plan_sweep_fini, also
 * after a failure). Returns COD_OK (infeasible points are listed, not an error), or the
 * status of an error that is no point's own (above). */
int run_plan_sweep(const run_scenario *sc, run_sweep_plan *plan, cod_err *err);
void run_plan_sweep_fini(run_sweep_plan *plan);

/* COD_OK if the plan may run: no infeasible point, or skip = infeasible and at least one
 * point to run. Else COD_EINVAL with the first infeasible point's message, followed (when
 * there are more) by "; and N more of the M points are infeasible (...)"; the plan's list
 * has them all. */
int run_plan_sweep_refusal(const run_sweep_plan *plan, cod_err *err);

#endif
