/* run_cost.c: the analytic cost estimate of a run (see run_cost.h).
 *
 * A short list of (model name, model) loaded on first use: a sweep names a few models, and
 * the list lives only while a sweep builds its task list. C(n, d) is summed in logs, so
 * n = 1024 does not overflow; the estimate is clamped to the worst_sets limit first.
 */
#include "run_cost.h"

#include <math.h>
#include <string.h>

#include "cod_alloc.h"
#include "cod_conv.h"
#include "model.h"
#include "model_onnx.h"

typedef struct cost_model {
  char *name;
  model *m;
} cost_model;

struct run_cost_models {
  cost_model *v;
  size_t n, cap;
};

int run_cost_models_new(run_cost_models **out, cod_err *err) {
  run_cost_models *cm = cod_calloc(1, sizeof *cm);
  if (!cm) return cod_err_set(err, COD_ENOMEM, "out of memory");
  *out = cm;
  return COD_OK;
}

void run_cost_models_free(run_cost_models *cm) {
  if (!cm) return;
  for (size_t i = 0; i < cm->n; i++) cod_free(cm->v[i].name), model_free(cm->v[i].m);
  cod_free(cm->v);
  cod_free(cm);
}

/* The model called name, loaded into cm on first use (as run_exec.c loads it). */
static int cost_model_get(run_cost_models *cm, const char *name, const model **out,
                          cod_err *err) {
  for (size_t i = 0; i < cm->n; i++)
    if (strcmp(cm->v[i].name, name) == 0) return *out = cm->v[i].m, COD_OK;
  if (cm->n == cm->cap) {
    size_t cap = cm->cap ? 2 * cm->cap : 4;
    cost_model *v = cod_realloc(cm->v, cap * sizeof *v);
    if (!v) return cod_err_set(err, COD_ENOMEM, "out of memory");
    cm->v = v, cm->cap = cap;
  }
  model *m = NULL;
  int rc = model_lookup(name, &m, err);
  if (rc && rc != COD_ENOMEM) rc = model_load_any(name, &m, NULL, err);
  if (rc) return rc;
  char *copy = cod_strdup(name);
  if (!copy) {
    model_free(m);
    return cod_err_set(err, COD_ENOMEM, "out of memory");
  }
  cm->v[cm->n++] = (cost_model){copy, m};
  *out = m;
  return COD_OK;
}

/* log C(n, d), 0 <= d <= n */
static double log_choose(size_t n, size_t d) {
  return lgamma((double)n + 1) - lgamma((double)d + 1) - lgamma((double)(n - d) + 1);
}

int run_cost_estimate(run_cost_models *cm, const run_config *cfg, double *flops,
                      cod_err *err) {
  const model *m = NULL;
  int rc = cost_model_get(cm, cfg->model.name, &m, err);
  if (rc) return rc;
  size_t n = cfg->cluster.workers, convs = model_conv_count(m), sel = 0;
  double sel_macs = 0;
  for (size_t c = 0; c < convs; c++) {
    int in = cfg->model.n_layers == 0;
    for (size_t j = 0; !in && j < cfg->model.n_layers; j++) in = cfg->model.layers[j] == c + 1;
    if (!in) continue;
    cod_conv_geom g = model_conv_geom(m, c);
    sel_macs += cod_conv_macs(&g);
    sel++;
  }
  /* the recovery threshold: ka kb for a fixed pair, else delta (n if unset) */
  size_t delta = cfg->coding.delta && cfg->coding.delta != RUN_DELTA_AUTO ? cfg->coding.delta : n;
  size_t d = cfg->coding.ka != RUN_AUTO && cfg->coding.kb != RUN_AUTO
                 ? cfg->coding.ka * cfg->coding.kb
                 : delta;
  if (d < 1) d = 1;
  if (d > n) d = n;
  double requests = cfg->load.arrivals != RUN_ARRIVALS_NONE ? (double)cfg->load.requests : 1;
  double est = RUN_COST_EVENT_FLOPS * (double)n * (double)(sel ? sel : 1) * requests;
  if (cfg->run.compute == RUN_COMPUTE_REAL) {
    double images = strcmp(cfg->data.source, "none") != 0 ? (double)cfg->data.images : 1;
    est += images * 2 * (model_macs_total(m) + sel_macs * (double)n / (double)d);
  }
  if (cfg->cluster.stragglers == RUN_STRAGGLERS_WORST || cfg->run.cond == RUN_COND_WORST) {
    double sets = log_choose(n, d) < log((double)cfg->cluster.worst_sets + 1)
                      ? exp(log_choose(n, d))
                      : (double)cfg->cluster.worst_sets;
    est += sets * RUN_COST_COND_FLOPS_PER_CUBE * (double)d * (double)d * (double)d;
  }
  *flops = est;
  return COD_OK;
}
