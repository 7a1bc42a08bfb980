/* run_cost.h: what a run is expected to cost, known before it runs, to order a sweep's
 * claims longest first (run_sweep.c).
 *
 * The estimate is in flop-equivalents of one thread, from the point's configuration and
 * its model's conv MACs (analytic, no timing): the sweep only compares estimates, so they
 * need to rank runs, not to predict seconds. Terms:
 *   real numbers (compute = real): per image (data.images with a data set, else 1), the
 *     uncoded reference pass (2 x the model's MACs) and the workers' coded pieces
 *     (2 x the selected convs' MACs x n / (ka kb), delta for an auto pair);
 *   a worst-conditioned set (stragglers = worst or cond = worst): min(C(n, delta),
 *     worst_sets) condition numbers of a delta x delta matrix, RUN_COST_COND_FLOPS_PER_CUBE
 *     x delta^3 each (an eigen-decomposition's constant, measured against the
 *     precision-n31-worst and mse-vs-n-worst runs of a --quick reproduce);
 *   the simulated events: RUN_COST_EVENT_FLOPS per worker per selected conv per request
 *     (load.requests under a request stream, else 1).
 * Terms the estimate leaves out (the per-thread caches: assets, condition numbers, coded
 * filters, warm after the first run of a model or a code) make the first run of a kind
 * dearer than the estimate says; ties keep sweep order.
 */
#ifndef FCDCC_RUN_COST_H
#define FCDCC_RUN_COST_H

#include "cod_status.h"
#include "run_config.h"

/* flop-equivalents of one condition number of a d x d matrix, per d^3 */
#define RUN_COST_COND_FLOPS_PER_CUBE 150.0
/* flop-equivalents of the simulated events of one worker on one layer */
#define RUN_COST_EVENT_FLOPS 2000.0

/* The models a sweep's points name, each loaded once (built in or a file). */
typedef struct run_cost_models run_cost_models;

/* COD_OK and *out (free with run_cost_models_free), or COD_ENOMEM. */
int run_cost_models_new(run_cost_models **out, cod_err *err);

/* Accepts NULL. */
void run_cost_models_free(run_cost_models *cm);

/* The estimate of one run of point cfg (validated), >= 0, into *flops. Loads cfg's model
 * into cm the first time it is named. COD_OK, or the model's load status and message
 * (COD_EINVAL unknown name, COD_EIO, COD_EFORMAT, COD_ENOMEM); *flops untouched then. */
int run_cost_estimate(run_cost_models *cm, const run_config *cfg, double *flops,
                      cod_err *err);

#endif
