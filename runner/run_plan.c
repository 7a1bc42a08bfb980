/* run_plan.c: the dry run of one sweep point (see run_plan.h).
 *
 * Each check sums, over the layers of one run, the time that one key alone makes
 * certain: a per-message latency is paid at least twice per coded layer, a worker's
 * nominal compute time is 2 * worker MACs / compute_rate_flops (times the law's minimum
 * multiple), a transfer takes at least bytes * 8 / rate on its link or NIC, and the
 * master's encode, decode and own layers take flops / master_flops. A sum beyond the
 * horizon means every run of the point would pass it, so it is the user's error, blamed
 * on that key. The checks are lower bounds kept separate per key on purpose: a point that
 * passes them can still reach the horizon through the sum of several keys or a random
 * draw, which the run records as its outcome (run_layer.c).
 */
#include "run_plan.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cod_code.h"
#include "run_exec.h"
#include "run_load.h"
#include "sim_engine.h"
#include "sim_latency.h"
#include "sim_rng.h"

static const char *const B_CODE[] = {"coding.scheme", "coding.ka", "coding.kb",
                                     "coding.delta", "cluster.workers", NULL};
static const char *const B_CODE_Q[] = {"coding.q", "coding.scheme", "coding.ka", "coding.kb",
                                       "cluster.workers", NULL};
static const char *const B_TRACE[] = {"latency.trace_file", "cluster.workers", NULL};
static const char *const B_LATENCY[] = {"network.latency_s", NULL};
static const char *const B_MASTER[] = {"master.master_flops", NULL};
static const char *const B_NIC[] = {"network.master_bps", NULL};
static const char *const B_RATE[] = {"cluster.compute_rate_flops", NULL};
static const char *const B_SHIFT[] = {"latency.shift", NULL};
static const char *const B_SCALE[] = {"latency.pareto_scale", NULL};
static const char *const B_UP[] = {"network.uplink_bps", NULL};
static const char *const B_DOWN[] = {"network.downlink_bps", NULL};
static const char *const B_C_RATE[] = {"class.compute_rate_flops", NULL};
static const char *const B_C_SHIFT[] = {"class.shift", NULL};
static const char *const B_C_SCALE[] = {"class.pareto_scale", NULL};
static const char *const B_C_UP[] = {"class.uplink_bps", NULL};
static const char *const B_C_DOWN[] = {"class.downlink_bps", NULL};

/* Per-worker-kind sums (index 0: the default worker, k + 1: class k), seconds. */
typedef struct kind_sums {
  double compute, law, up, down;
} kind_sums;

static int selected(const run_config *c, size_t conv_index) {
  if (c->model.n_layers == 0) return 1;
  for (size_t i = 0; i < c->model.n_layers; i++)
    if (c->model.layers[i] == conv_index + 1) return 1;
  return 0;
}

/* The law that draws a returning task's time (fail-stop's survivors draw from base). */
static int drawing_law(const run_latency *l) {
  return (sim_latency_law_get((size_t)l->model)->traits & SIM_LAT_WRAPS_BASE) ? l->base
                                                                               : l->model;
}

/* The law's smallest multiple of the nominal time (0 if it has none). */
static double law_min_factor(const run_latency *l) {
  int kind = drawing_law(l), i = -1;
  if (kind == SIM_LAT_SHIFTED_EXP) i = sim_latency_param_find("shift");
  else if (kind == SIM_LAT_PARETO) i = sim_latency_param_find("pareto_scale");
  return i < 0 ? 0.0 : l->param[i]; /* deterministic is the nominal itself; bimodal may be below */
}

static int reads_trace(const run_latency *l) {
  return (sim_latency_law_get((size_t)l->model)->traits & SIM_LAT_READS_TRACE) != 0;
}

static int beyond(double s) { return !(s <= SIM_TIME_HORIZON_S); }

static int horizon_error(const char *const *keys, const char *const **blame, int k,
                         int *klass, const char *what, double s, cod_err *err) {
  *blame = keys, *klass = k;
  return cod_err_set(err, COD_EINVAL,
                     "%s: at least %.3g s of simulated time in every run, beyond the "
                     "simulation horizon of 2^62 ns (%.4g s, about 146 years)", what, s,
                     SIM_TIME_HORIZON_S);
}

/* Every worker that replays the trace has a row in it (workers are 0..W-1 in a trace). */
static int check_trace(const run_config *c, const char *const **blame, cod_err *err) {
  int uses = reads_trace(&c->latency);
  for (size_t k = 0; k < c->n_classes; k++) uses |= reads_trace(&c->classes[k].worker.latency);
  if (!uses) return COD_OK;
  sim_latency_params p;
  sim_latency_params_default(&p);
  p.kind = SIM_LAT_TRACE;
  p.trace_path = c->failures.trace_file;
  sim_latency *m = NULL;
  gsl_rng *r = NULL;
  double d;
  int rc = sim_latency_new_from_params(&p, &m, err);
  if (!rc) rc = sim_rng_new(1, 0, &r, err);
  if (!rc) {
    for (size_t j = c->cluster.workers; j-- > 0;) {
      run_worker w;
      run_config_worker(c, j, &w);
      if (!reads_trace(&w.latency)) continue;
      if (sim_latency_sample(m, r, j, 1.0, &d) != COD_OK)
        rc = cod_err_set(err, COD_EINVAL, "%s has no row for worker %zu (the point has %zu "
                         "workers replaying it; a trace must list workers 0..n-1)",
                         c->failures.trace_file, j, c->cluster.workers);
      break; /* the highest such worker covers the others */
    }
  }
  if (rc) *blame = B_TRACE;
  sim_rng_free(r);
  sim_latency_free(m);
  return rc;
}

int run_plan_check(const run_config *c, const model *m, const char *const **blame, int *klass,
                   cod_err *err) {
  *blame = NULL, *klass = -1;
  int rc = check_trace(c, blame, err);
  if (!rc) rc = run_load_check_trace(c, blame, err); /* [load] trace of arrival times */
  if (rc) return rc;
  const int modelled = c->master.timing == RUN_TIMING_MODEL || c->run.compute == RUN_COMPUTE_MODEL;
  const double el = c->run.precision == RUN_FP32 ? 4.0 : 8.0;
  double t_master = 0, t_latency = 0, t_nic = 0;
  kind_sums ks[RUN_CLASSES_MAX + 1];
  memset(ks, 0, sizeof ks);
  /* the master's own layers: every non-conv layer (run_exec.c's master_macs) */
  for (size_t i = 0; i < model_layer_count(m); i++) {
    const model_layer *L = model_layer_get(m, i);
    if (L->kind != MODEL_CONV)
      t_master += 2.0 * (L->macs > 0 ? L->macs : (double)(L->out.c * L->out.h * L->out.w)) /
                  c->master.master_flops;
  }
  for (size_t ci = 0; ci < model_conv_count(m); ci++) {
    cod_conv_geom g = model_conv_geom(m, ci);
    if (!selected(c, ci)) {
      t_master += 2.0 * cod_conv_macs(&g) / c->master.master_flops;
      continue;
    }
    cod_code *code = NULL;
    cod_err ce = {0};
    if ((rc = run_code_choose(c, &g, &code, &ce))) {
      *blame = c->coding.q ? B_CODE_Q : B_CODE;
      return cod_err_set(err, rc, "conv layer %zu (%s): %s", ci + 1,
                         model_conv_layer(m, ci)->name, ce.msg);
    }
    if (modelled)
      t_master += (cod_code_encode_flops(code) + cod_code_decode_flops(code)) / c->master.master_flops;
    t_latency += 2.0 * c->network.latency_s;
    double macs = cod_code_worker_macs(code);
    double up_b = (double)(cod_code_worker_input_len(code) + cod_code_worker_filter_len(code)) * el;
    double down_b = (double)cod_code_worker_output_len(code) * el;
    if (isfinite(c->network.master_bps))
      t_nic += up_b * 8.0 / c->network.master_bps; /* at least one worker's upload */
    for (size_t k = 0; k <= c->n_classes; k++) {
      const run_worker *w = NULL;
      run_worker def;
      if (k == 0) { /* the [cluster]/[network]/[latency] worker */
        memset(&def, 0, sizeof def);
        def.compute_rate_flops = c->cluster.compute_rate_flops;
        def.uplink_bps = c->network.uplink_bps, def.downlink_bps = c->network.downlink_bps;
        def.latency = c->latency;
        w = &def;
      } else {
        w = &c->classes[k - 1].worker;
      }
      double nominal = 2.0 * macs / w->compute_rate_flops;
      ks[k].compute += nominal;
      ks[k].law += nominal * law_min_factor(&w->latency);
      if (isfinite(w->downlink_bps)) ks[k].up += up_b * 8.0 / w->downlink_bps;
      if (isfinite(w->uplink_bps)) ks[k].down += down_b * 8.0 / w->uplink_bps;
    }
    cod_code_free(code);
  }
  if (beyond(t_latency))
    return horizon_error(B_LATENCY, blame, -1, klass, "the message latencies", t_latency, err);
  if (beyond(t_master))
    return horizon_error(B_MASTER, blame, -1, klass, "the master's own work at master_flops",
                         t_master, err);
  if (beyond(t_nic))
    return horizon_error(B_NIC, blame, -1, klass, "the uploads through the master's NIC", t_nic,
                         err);
  /* classes cover workers first; the default worker exists only if they leave some over */
  size_t classed = 0;
  for (size_t k = 0; k < c->n_classes; k++) classed += c->classes[k].count;
  for (size_t k = 0; k <= c->n_classes; k++) {
    if (k == 0 && classed >= c->cluster.workers) continue;
    int kl = (int)k - 1, cls = k > 0;
    const run_latency *lat = cls ? &c->classes[k - 1].worker.latency : &c->latency;
    int pareto = drawing_law(lat) == SIM_LAT_PARETO;
    if (beyond(ks[k].compute))
      return horizon_error(cls ? B_C_RATE : B_RATE, blame, kl, klass,
                           "the workers' nominal compute times", ks[k].compute, err);
    if (beyond(ks[k].law))
      return horizon_error(pareto ? (cls ? B_C_SCALE : B_SCALE) : (cls ? B_C_SHIFT : B_SHIFT),
                           blame, kl, klass, "the latency law's minimum compute times",
                           ks[k].law, err);
    if (beyond(ks[k].up))
      return horizon_error(cls ? B_C_DOWN : B_DOWN, blame, kl, klass,
                           "the uploads over the workers' downlinks", ks[k].up, err);
    if (beyond(ks[k].down))
      return horizon_error(cls ? B_C_UP : B_UP, blame, kl, klass,
                           "the results over the workers' uplinks", ks[k].down, err);
  }
  return COD_OK;
}
