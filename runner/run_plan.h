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

/* Check point cfg (validated by run_config_validate) on its model m. Returns COD_OK, or
 * the status of the first problem (COD_EINVAL; COD_EIO / COD_EFORMAT for a trace file;
 * COD_ENOMEM) with a message and *blame set to a static NULL-terminated list of the
 * "section.key" names at fault, most specific first ("class.key" for class klass's key:
 * *klass is then its index, else -1), for run_scenario_point_blame. */
int run_plan_check(const run_config *cfg, const model *m, const char *const **blame,
                   int *klass, cod_err *err);

#endif
