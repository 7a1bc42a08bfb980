/* run_storage.c: the whole-model storage plan and the storage columns (run_storage.h).
 *
 * Design. The plan walks the selected conv layers in model order once per run, choosing
 * each layer's code with what the earlier layers hold (run_code_choose_held, the same
 * choice the layer makes when it runs), and keeps per layer the bytes one task's share
 * holds before it, the largest worker need and overflow, and per (layer, worker) whether
 * the worker refuses. Worker j holds m_j tasks of every layer (run_alloc_counts: 1 under
 * allocation = equal, its proportional share otherwise, the same for every layer), so it
 * needs m_j times one task's cumulative bytes: m_j coded filter shares of each served layer
 * and the m_j slabs of the largest. A layer's overflow is the largest of need_j - storage_j
 * over the workers (under equal allocation: the need against the smallest storage). Costs:
 * one code plan per layer and candidate pair, n_conv x n bytes of refusals. The analytic
 * whole-model bytes (an_storage_whole_model_bytes over the layers' an_costs, times the
 * largest m_j) are computed beside it from the geometry, for the test that holds both
 * equal.
 */
#include "run_storage.h"

#include <math.h>
#include <string.h>

#include "an_model.h"
#include "cod_alloc.h"
#include "run_alloc.h"
#include "run_exec.h"

struct run_storage_plan {
  size_t n_conv, n_workers;
  double *held_f, *held_s;     /* per conv: held before it */
  double *need, *overflow;     /* per conv: NaN for unselected layers / no overflow */
  unsigned char *refuse;       /* n_conv x n_workers */
  double model_bytes, an_model_bytes;
  long first_overflow;         /* conv index, -1 if none */
};

static int selected(const run_config *c, size_t ci) {
  if (c->model.n_layers == 0) return 1;
  for (size_t i = 0; i < c->model.n_layers; i++)
    if (c->model.layers[i] == ci + 1) return 1;
  return 0;
}

void run_storage_plan_free(run_storage_plan *p) {
  if (!p) return;
  cod_free(p->held_f);
  cod_free(p->held_s);
  cod_free(p->need);
  cod_free(p->overflow);
  cod_free(p->refuse);
  cod_free(p);
}

/* The analytic per-worker costs of `code` on layer g, or 0 if the model has none. */
static int an_layer(const run_config *c, const cod_conv_geom *g, const cod_code *code,
                    an_costs *ac) {
  const cod_code_params *cp = cod_code_params_get(code);
  an_code_params ap = {cp->scheme, cp->n_workers, cp->ka, cp->kb, cp->q, cp->axis,
                       run_precision_operand_bytes(c->run.precision)};
  return an_costs_compute(g, &ap, ac, NULL) == COD_OK;
}

int run_storage_plan_new(const run_config *c, const model *m, run_storage_plan **out,
                         cod_err *err) {
  return run_storage_plan_new_cached(c, m, NULL, out, err);
}

int run_storage_plan_new_cached(const run_config *c, const model *m, run_code_cache **codes,
                                run_storage_plan **out, cod_err *err) {
  if (c->cluster.storage != RUN_STORAGE_WHOLE_MODEL) {
    *out = NULL;
    return COD_OK;
  }
  const size_t nc = model_conv_count(m), n = c->cluster.workers;
  run_storage_plan *p = cod_calloc(1, sizeof *p);
  an_costs *acs = cod_calloc(nc ? nc : 1, sizeof *acs);
  if (p) {
    p->n_conv = nc, p->n_workers = n, p->first_overflow = -1;
    p->held_f = cod_calloc(nc ? nc : 1, sizeof(double));
    p->held_s = cod_calloc(nc ? nc : 1, sizeof(double));
    p->need = cod_calloc(nc ? nc : 1, sizeof(double));
    p->overflow = cod_calloc(nc ? nc : 1, sizeof(double));
    p->refuse = cod_calloc(nc && n ? nc * n : 1, 1);
  }
  if (!p || !acs || !p->held_f || !p->held_s || !p->need || !p->overflow || !p->refuse) {
    cod_free(acs);
    run_storage_plan_free(p);
    return cod_err_set(err, COD_ENOMEM, "out of memory for the storage plan");
  }
  double *cap = cod_calloc(n ? n : 1, sizeof *cap);
  size_t *tasks = cod_calloc(n ? n : 1, sizeof *tasks);
  if (!cap || !tasks) {
    cod_free(cap), cod_free(tasks), cod_free(acs);
    run_storage_plan_free(p);
    return cod_err_set(err, COD_ENOMEM, "out of memory for the storage plan");
  }
  int rc = run_alloc_counts(c, tasks, err);
  double most_tasks = 0;
  for (size_t j = 0; j < n; j++) {
    run_worker rw;
    run_config_worker(c, j, &rw);
    cap[j] = rw.storage_bytes;
    if (!rc) most_tasks = fmax(most_tasks, (double)tasks[j]);
  }
  const size_t el = run_precision_operand_bytes(c->run.precision);
  double hf = 0, hs = 0;
  size_t n_an = 0, n_sel = 0;
  for (size_t ci = 0; ci < nc && !rc; ci++) {
    p->held_f[ci] = hf, p->held_s[ci] = hs;
    p->need[ci] = p->overflow[ci] = NAN;
    if (!selected(c, ci)) continue;
    cod_conv_geom g = model_conv_geom(m, ci);
    cod_code *owned = NULL;
    const cod_code *code = NULL; /* the thread's cached code when there is a cache */
    if (codes) rc = run_code_cache_get(codes, c, &g, hf, hs, &code, err);
    else if (!(rc = run_code_choose_held(c, &g, hf, hs, &owned, err))) code = owned;
    if (rc) break;
    double f = (double)(cod_code_worker_filter_len(code) * el);
    double s = (double)(cod_code_worker_input_len(code) * el);
    n_an += an_layer(c, &g, code, &acs[n_sel]);
    n_sel++;
    cod_code_free(owned);
    double need = hf + f + fmax(hs, s), over = -INFINITY; /* one task's share */
    p->need[ci] = most_tasks * need;
    /* a worker that refused an earlier layer keeps refusing (it holds only the prefix) */
    for (size_t j = 0; j < n; j++) {
      double need_j = (double)tasks[j] * need;
      over = fmax(over, need_j - cap[j]);
      p->refuse[ci * n + j] = need_j > cap[j] || (ci && p->refuse[(ci - 1) * n + j]);
    }
    if (over > 0) {
      p->overflow[ci] = over;
      if (p->first_overflow < 0) p->first_overflow = (long)ci;
    }
    hf += f, hs = fmax(hs, s);
  }
  /* unselected layers inherit the refusals of the layer before them */
  for (size_t ci = 1; ci < nc && !rc; ci++)
    if (!selected(c, ci))
      memcpy(p->refuse + ci * n, p->refuse + (ci - 1) * n, n);
  cod_free(cap), cod_free(tasks);
  if (rc) {
    cod_free(acs);
    run_storage_plan_free(p);
    return rc;
  }
  p->model_bytes = n_sel ? most_tasks * (hf + hs) : NAN;
  p->an_model_bytes =
      n_sel && n_an == n_sel ? most_tasks * an_storage_whole_model_bytes(acs, n_sel) : NAN;
  cod_free(acs);
  *out = p;
  return COD_OK;
}

void run_storage_held(const run_storage_plan *p, size_t ci, double *held_filter_bytes,
                      double *held_slab_bytes) {
  *held_filter_bytes = p && ci < p->n_conv ? p->held_f[ci] : 0.0;
  *held_slab_bytes = p && ci < p->n_conv ? p->held_s[ci] : 0.0;
}

const unsigned char *run_storage_refusals(const run_storage_plan *p, size_t ci) {
  return p && ci < p->n_conv ? p->refuse + ci * p->n_workers : NULL;
}

int run_storage_layer_row(const run_config *c, const run_storage_plan *p, size_t ci,
                          const cod_code *code, res_layer_row *L, cod_err *err) {
  if (p && ci < p->n_conv) {
    L->storage_need_bytes = p->need[ci];
    L->storage_overflow_bytes = p->overflow[ci];
    return COD_OK;
  }
  /* per-layer: each worker's m_j task assignments against its storage (one task each
   * under equal allocation: no counts to make) */
  const size_t n = c->cluster.workers, el = run_precision_operand_bytes(c->run.precision);
  const double need =
      (double)((cod_code_worker_input_len(code) + cod_code_worker_filter_len(code)) * el);
  size_t *tasks = NULL;
  if (c->cluster.allocation == RUN_ALLOC_PROPORTIONAL) {
    if (!(tasks = cod_malloc_array(n ? n : 1, sizeof *tasks)))
      return cod_err_set(err, COD_ENOMEM, "out of memory for the storage check");
    int rc = run_alloc_counts(c, tasks, err);
    if (rc) {
      cod_free(tasks);
      return rc;
    }
  }
  double over = -INFINITY;
  for (size_t j = 0; j < n; j++) {
    run_worker rw;
    run_config_worker(c, j, &rw);
    over = fmax(over, (double)(tasks ? tasks[j] : 1) * need - rw.storage_bytes);
  }
  cod_free(tasks);
  if (over > 0) L->storage_overflow_bytes = over;
  return COD_OK;
}

void run_storage_run_row(const run_storage_plan *p, const res_layer_row *layers,
                         size_t n_layers, res_run_row *R) {
  if (p) {
    R->storage_model_bytes = p->model_bytes;
    R->an_storage_model_bytes = p->an_model_bytes;
    if (p->first_overflow >= 0) {
      R->storage_overflow_layer = (int64_t)p->first_overflow;
      R->storage_overflow_bytes = p->overflow[p->first_overflow];
    }
    return;
  }
  for (size_t i = 0; i < n_layers; i++)
    if (!isnan(layers[i].storage_overflow_bytes)) {
      R->storage_overflow_layer = layers[i].layer_index;
      R->storage_overflow_bytes = layers[i].storage_overflow_bytes;
      return;
    }
}
