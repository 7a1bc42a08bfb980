/* run_exec.c: one run of a whole CNN on the simulated cluster (see run_exec.h). */
#include "run_exec.h"
#include "run_alloc.h"
#include "run_assets.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "an_model.h"
#include "cod_alloc.h"
#include "cod_clock.h"
#include "cod_code.h"
#include "cod_registry.h"
#include "cod_tensor.h"
#include "model.h"
#include "model_forward.h"
#include "model_onnx.h"
#include "model_weights.h"
#include "run_cache.h"
#include "run_data.h"
#include "run_energy.h"
#include "run_filt.h"
#include "run_layer.h"
#include "run_load.h"
#include "run_storage.h"
#include "sim_engine.h"

/* ---- assets: model, weights, input, uncoded reference -------------------------------- */

/* The read-only part: immutable once built, shared by the threads of a sweep through a
 * run_asset_pool (runner/run_assets.h), or owned by one run_assets without a pool. */
typedef struct assets_ro {
  model *m;
  model_weights *w;
  double *input, *ref_out;   /* input, final output of the uncoded pipeline */
  double **ref_conv;         /* output of every conv in the uncoded pipeline */
  double *kmax;              /* largest |weight| of every conv (run_layer_in.filter_max_abs) */
  size_t budget_bytes;       /* coded memory budget: half the weight bytes (decision 019) */
  size_t n_conv;
  run_data data;             /* [data] images (data.n = 0 without a data set) */
} assets_ro;

/* One thread's assets: views of the read-only part (borrowed from ro), and the mutable
 * caches of this thread. */
struct run_assets {
  char key[6 * RUN_PATH_MAX + 128];
  run_asset_pool *pool;      /* where ro comes from; NULL: ro is this cache's own */
  assets_ro *ro;             /* read only: another thread may share it (the pool owns it) */
  model_plan *plan;          /* this thread's buffers (a plan is written by every pass) */
  run_filt_cache *filt;      /* coded filters, bounded (run_filt.h) */
  run_scratch scratch;       /* coded-layer buffers, reused across layers and runs */
  run_code_cache *codes;     /* codes planned by this thread (run_cache.h) */
};

static void ro_free(void *obj) {
  assets_ro *r = obj;
  if (!r) return;
  for (size_t i = 0; r->ref_conv && i < r->n_conv; i++) cod_free(r->ref_conv[i]);
  cod_free(r->ref_conv);
  cod_free(r->kmax);
  cod_free(r->input);
  cod_free(r->ref_out);
  run_data_fini(&r->data);
  model_weights_free(r->w);
  model_free(r->m);
  cod_free(r);
}

void run_assets_free(run_assets *a) {
  if (!a) return;
  run_filt_cache_free(a->filt);
  run_scratch_fini(&a->scratch);
  run_code_cache_free(a->codes);
  model_plan_free(a->plan);
  if (a->pool) run_asset_pool_release(a->pool, a->ro);
  else ro_free(a->ro);
  cod_free(a);
}

int run_assets_new_shared(run_asset_pool *pool, run_assets **out, cod_err *err) {
  run_assets *a = cod_calloc(1, sizeof *a);
  if (!a) return cod_err_set(err, COD_ENOMEM, "out of memory");
  a->pool = pool;
  *out = a;
  return COD_OK;
}

static size_t shape_len(model_shape s) { return s.c * s.h * s.w; }

/* Reference hook: plain convolution, and a copy of its output kept per conv. */
typedef struct ref_ctx {
  assets_ro *a;
  model_plan *plan;
} ref_ctx;

static int ref_hook(void *ctx, size_t ci, const cod_conv_geom *g, const double *x,
                    const double *k, double *y, cod_err *err) {
  ref_ctx *R = ctx;
  assets_ro *a = R->a;
  model_plan_conv(R->plan, ci, x, k, y);
  size_t len = cod_conv_output_len(g);
  a->ref_conv[ci] = cod_malloc_array(len, sizeof(double));
  if (!a->ref_conv[ci]) return cod_err_set(err, COD_ENOMEM, "out of memory");
  memcpy(a->ref_conv[ci], y, len * sizeof(double));
  double m = 0;
  for (size_t i = 0; i < cod_conv_filter_len(g) && !isnan(m); i++) { /* a NaN sticks */
    double v = fabs(k[i]);
    if (!(v <= m)) m = v;
  }
  a->kmax[ci] = m; /* NaN or Inf: the layer computes each result as it arrives */
  return COD_OK;
}

/* The coded-memory budget (docs/decisions/019-coded-filter-cache.md): half the bytes of
 * the model's weights and biases in fp64. Retained coded filters stay within it, and a
 * layer whose n workers' coded operands exceed it is encoded by chunks, so coded buffers
 * add about one model's weights to the uncoded pass whatever n. */
static size_t coded_budget_bytes(const model *m) {
  size_t n = 0;
  for (size_t i = 0; i < model_layer_count(m); i++)
    n += model_layer_get(m, i)->n_weights + model_layer_get(m, i)->n_bias;
  return n * sizeof(double) / 2;
}

/* A plan for a's model under cfg, its Winograd filters transformed once for a data set
 * (every image runs the uncoded pass). */
static int plan_make(const run_config *cfg, const assets_ro *a, model_plan **out, cod_err *err) {
  model_plan *p = NULL;
  int rc = model_plan_new_algo(a->m, cfg->run.conv_algo == RUN_CONV_AUTO, &p, err);
  if (!rc && strcmp(cfg->data.source, "none") != 0) rc = model_plan_keep_filters(p, a->w, err);
  if (rc) {
    model_plan_free(p);
    return rc;
  }
  *out = p;
  return COD_OK;
}

/* The read-only part of cfg's assets into a (zeroed; ro_free cleans up on failure). The
 * reference pass runs on a plan of its own, freed after. */
static int ro_fill(const run_config *cfg, assets_ro *a, cod_err *err) {
  /* not a built-in name: a model file. Out of memory while parsing a built-in is not. */
  /* an .onnx file carries its trained weights; they replace [model] weights = he */
  model_weights *own_w = NULL;
  int rc = model_lookup(cfg->model.name, &a->m, err);
  if (rc && rc != COD_ENOMEM) rc = model_load_any(cfg->model.name, &a->m, &own_w, err);
  if (rc) return rc;
  a->n_conv = model_conv_count(a->m);
  if (own_w && strcmp(cfg->model.weights, "he") != 0) {
    model_weights_free(own_w);
    return cod_err_set(err, COD_EINVAL, "[model] weights = %s: the ONNX model %s carries its "
                       "own weights (leave weights unset)", cfg->model.weights, cfg->model.name);
  }
  if (own_w) a->w = own_w;
  if (cfg->run.compute == RUN_COMPUTE_MODEL) return COD_OK;
  if (!a->w)
    rc = strcmp(cfg->model.weights, "he") == 0
             ? model_weights_he(a->m, cfg->model.weights_seed, &a->w, err)
             : model_weights_load_dir(a->m, cfg->model.weights, &a->w, err);
  if (rc) return rc;
  model_shape in = model_input_shape(a->m);
  a->input = cod_malloc_array(shape_len(in), sizeof(double));
  a->ref_out = cod_malloc_array(shape_len(model_output_shape(a->m)), sizeof(double));
  a->ref_conv = cod_calloc(a->n_conv ? a->n_conv : 1, sizeof(double *));
  a->kmax = cod_calloc(a->n_conv ? a->n_conv : 1, sizeof(double));
  a->budget_bytes = coded_budget_bytes(a->m);
  if (!a->input || !a->ref_out || !a->ref_conv || !a->kmax)
    return cod_err_set(err, COD_ENOMEM, "out of memory");
  if (strcmp(cfg->data.source, "none") != 0) {
    /* a data set: the reference activations (and the rows) are those of its first image */
    if ((rc = run_data_load(cfg, in, &a->data, err))) return rc;
    memcpy(a->input, a->data.x, shape_len(in) * sizeof(double));
  } else if (strcmp(cfg->model.input, "random") == 0) {
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r) return cod_err_set(err, COD_ENOMEM, "out of memory");
    gsl_rng_set(r, cfg->model.input_seed);
    for (size_t i = 0; i < shape_len(in); i++) a->input[i] = gsl_ran_gaussian_ziggurat(r, 1.0);
    gsl_rng_free(r);
  } else {
    cod_tensor t = {0}, t64 = {0};
    if ((rc = cod_npy_load(cfg->model.input, &t, err))) return rc;
    if (cod_tensor_numel(&t) != shape_len(in) || t.n != 1) {
      size_t got = cod_tensor_numel(&t); /* before fini zeroes the shape */
      cod_tensor_fini(&t);
      return cod_err_set(err, COD_EINVAL, "%s: input has %zu values, model %s expects %zux%zux%zu",
                         cfg->model.input, got, model_name(a->m), in.c, in.h, in.w);
    }
    rc = cod_tensor_convert(&t, COD_F64, &t64, err);
    cod_tensor_fini(&t);
    if (rc) return rc;
    if (!cod_tensor_all_finite(&t64, NULL)) rc = cod_err_set(err, COD_EINVAL, "%s: non-finite input values", cfg->model.input);
    else memcpy(a->input, t64.data, shape_len(in) * sizeof(double));
    cod_tensor_fini(&t64);
    if (rc) return rc;
  }
  /* one pass: a plan without kept filters (the same bits; keeping them would transform
   * them once more than the pass itself does) */
  ref_ctx R = {a, NULL};
  if ((rc = model_plan_new_algo(a->m, cfg->run.conv_algo == RUN_CONV_AUTO, &R.plan, err)))
    return rc;
  rc = model_forward(R.plan, a->w, a->input, a->ref_out, ref_hook, &R, err);
  model_plan_free(R.plan);
  return rc;
}

typedef struct ro_build_ctx {
  const run_config *cfg;
} ro_build_ctx;

static int ro_build(void *ctx, void **out, cod_err *err) {
  const run_config *cfg = ((ro_build_ctx *)ctx)->cfg;
  assets_ro *a = cod_calloc(1, sizeof *a);
  if (!a) return cod_err_set(err, COD_ENOMEM, "out of memory");
  int rc = ro_fill(cfg, a, err);
  if (rc) {
    ro_free(a);
    return rc;
  }
  *out = a;
  return COD_OK;
}

static const run_asset_ops ro_ops = {ro_build, ro_free};

static int assets_get(const run_config *cfg, run_assets **cache, cod_err *err) {
  char key[sizeof((*cache)->key)];
  snprintf(key, sizeof key, "%s|%s|%lu|%s|%lu|%d|%d|%s|%d|%zu|%zu|%.17g|%.17g|%s", cfg->model.name,
           cfg->model.weights, cfg->model.weights_seed, cfg->model.input, cfg->model.input_seed,
           cfg->run.compute, cfg->run.conv_algo, cfg->data.source, cfg->data.split, cfg->data.images,
           cfg->data.first, cfg->data.mean, cfg->data.std, cfg->data.labels);
  if (*cache && strcmp((*cache)->key, key) == 0 && (*cache)->ro) return COD_OK;
  run_asset_pool *pool = *cache ? (*cache)->pool : NULL;
  /* The old read-only part goes back to the pool in the exchange below, not here: released
   * first, it could push out of the idle list the very set asked for (one thread going
   * A -> B -> A built A twice). The thread's own parts go now. */
  const void *drop = NULL;
  if (pool) drop = (*cache)->ro, (*cache)->ro = NULL;
  run_assets_free(*cache);
  *cache = NULL;
  run_assets *a = cod_calloc(1, sizeof *a);
  if (!a) {
    if (pool) run_asset_pool_release(pool, drop);
    return cod_err_set(err, COD_ENOMEM, "out of memory");
  }
  a->pool = pool;
  memcpy(a->key, key, sizeof key);
  ro_build_ctx bc = {cfg};
  void *ro = NULL;
  int rc = pool ? run_asset_pool_exchange(pool, drop, key, &ro_ops, &bc, &ro, err)
                : ro_build(&bc, &ro, err);
  if (!rc) {
    a->ro = ro;
    if (cfg->run.compute != RUN_COMPUTE_MODEL) {
      rc = plan_make(cfg, a->ro, &a->plan, err);
      if (!rc) rc = run_filt_cache_new(a->ro->n_conv, a->ro->budget_bytes, &a->filt, err);
    }
  }
  if (rc && pool) { /* an empty cache, still on the pool: the caller's next run asks it */
    model_plan_free(a->plan), a->plan = NULL;
    run_filt_cache_free(a->filt), a->filt = NULL;
    run_asset_pool_release(pool, a->ro), a->ro = NULL;
    a->key[0] = '\0';
  } else if (rc) {
    run_assets_free(a);
    a = NULL;
  }
  *cache = a;
  return rc;
}

/* ---- rows ------------------------------------------------------------------------------ */

static const char *own(run_result *r, const char *s, int *rc) {
  if (*rc) return NULL;
  if (r->n_owned == r->cap_owned) {
    size_t cap = r->cap_owned ? 2 * r->cap_owned : 16;
    char **o = cod_realloc(r->owned, cap * sizeof *o);
    if (!o) return *rc = COD_ENOMEM, NULL;
    r->owned = o, r->cap_owned = cap;
  }
  char *d = cod_strdup(s);
  if (!d) return *rc = COD_ENOMEM, NULL;
  r->owned[r->n_owned++] = d;
  return d;
}

const char *run_result_own(run_result *r, const char *s, int *rc) {
  return s ? own(r, s, rc) : NULL;
}

void run_result_fini(run_result *r) {
  if (!r) return;
  if (r->requests_spool) fclose(r->requests_spool);
  cod_free(r->load_workers);
  for (size_t i = 0; i < r->n_owned; i++) cod_free(r->owned[i]);
  cod_free(r->owned);
  cod_free(r->layers);
  cod_free(r->workers);
  cod_free(r->events);
  cod_free(r->logits);
  memset(r, 0, sizeof *r);
}

static void *grow(void *p, size_t *cap, size_t need, size_t el) {
  if (need <= *cap) return p;
  size_t c = *cap ? *cap : 8;
  while (c < need) c *= 2;
  void *q = cod_realloc(p, c * el);
  if (q) *cap = c;
  return q;
}

static void errors(const double *y, const double *ref, size_t len, double *mse, double *rel,
                   double *maxabs) {
  cod_error_stats st = cod_array_compare(y, ref, len);
  *mse = st.mse, *rel = st.rel, *maxabs = st.max_abs;
}


/* ---- the coded forward pass -------------------------------------------------------------- */

typedef struct exec_ctx {
  const run_config *cfg;
  const run_ident *id;
  run_assets *a;
  run_result *res;
  sim_engine *e;
  run_cluster *cl;        /* latency models, random streams and NICs of this run */
  size_t cap_layers, cap_workers, cap_events;
  size_t last_layer;      /* model layer index after the previous conv */
  const char *stop_status;/* set when a layer was not decodable */
  double stop_time;
  char stop_msg[COD_ERR_MSG_LEN]; /* why, when stop_status is error; else "" */
  size_t ka0, kb0, delta0;
  const run_backend *be;  /* where coded layers run */
  const char **class_names; /* the run's copies of the class names (in res->owned) */
  size_t n_class_names, cap_class_names;
  int quiet;              /* images after the first of a data set: no rows, no run status */
  run_storage_plan *storage; /* storage = whole-model: the run's plan; NULL per-layer */
  double master_own_s;    /* seconds of the master's own layers (first image), for energy */
} exec_ctx;

static int selected(const run_config *c, size_t conv_index) {
  if (c->model.n_layers == 0) return 1;
  for (size_t i = 0; i < c->model.n_layers; i++)
    if (c->model.layers[i] == conv_index + 1) return 1;
  return 0;
}

static void ev_master_done(sim_engine *e, void *p) { (void)e, (void)p; }

/* Advance the clock by `s` seconds of master work. Passing the horizon ends the run with
 * status error (an outcome: COD_EUNDECODABLE with stop_status set, as for a layer). */
static int master_busy(exec_ctx *x, double s, cod_err *err) {
  if (!(s > 0)) return COD_OK;
  if (!x->quiet) x->master_own_s += s;
  sim_time_ns d, t;
  if (sim_time_from_s_checked(s, &d) || sim_time_add_checked(sim_engine_now(x->e), d, &t)) {
    x->stop_status = RES_STATUS_ERROR;
    x->stop_time = sim_time_to_s(sim_engine_now(x->e));
    snprintf(x->stop_msg, sizeof x->stop_msg, "master work: %s", RUN_MSG_HORIZON);
    return cod_err_set(err, COD_EUNDECODABLE, "%s", x->stop_msg);
  }
  if (sim_engine_schedule_at(x->e, t, ev_master_done, NULL, NULL, NULL) != COD_OK)
    return cod_err_set(err, COD_ENOMEM, "out of memory");
  sim_engine_run(x->e, t);
  return COD_OK;
}

/* MACs of the non-conv layers in [from, to) run by the master. */
static double master_macs(const model *m, size_t from, size_t to) {
  double macs = 0;
  for (size_t i = from; i < to; i++) {
    const model_layer *L = model_layer_get(m, i);
    if (L->kind != MODEL_CONV) macs += L->macs > 0 ? L->macs : (double)shape_len(L->out);
  }
  return macs;
}

/* Per-worker storage a code needs when the worker already holds held_f bytes of coded
 * filters and a largest slab of held_s bytes (both 0 for the per-layer check): its own
 * coded filters on top, and the larger of the two slabs (runner/run_storage.h). */
static double storage_need(const cod_code *code, size_t el, double held_f, double held_s) {
  return held_f + (double)(cod_code_worker_filter_len(code) * el) +
         fmax(held_s, (double)(cod_code_worker_input_len(code) * el));
}

double run_master_macs(const model *m, size_t from, size_t to) { return master_macs(m, from, to); }
int run_conv_selected(const run_config *c, size_t conv_index) { return selected(c, conv_index); }

/* delta = auto: the layer's latency-optimal delta and its best pair from the analytic model
 * (an_delta_optimum over delta = 1..n, on the configured cluster: every law and class has
 * an expected latency, analytic/an_orderstat.h), written into pr as a fixed pair. */
static int layer_delta_optimum(const run_config *c, const cod_conv_geom *g, run_pairs *pr,
                               cod_err *err) {
  an_cluster cl;
  if (!run_config_an_cluster(c, &cl))
    return cod_err_set(err, COD_EINVAL, "[coding] delta = auto: the analytic latency model "
                       "does not cover this cluster");
  cod_code_params cp = run_config_code_params(c, 1, 1);
  an_code_params ap = {cp.scheme, cp.n_workers, 0, 0, cp.q, cp.axis,
                       run_precision_operand_bytes(c->run.precision)};
  an_delta_row *rows = cod_malloc_array(cp.n_workers, sizeof *rows);
  if (!rows) return cod_err_set(err, COD_ENOMEM, "out of memory choosing a layer's delta");
  size_t nr = 0, best = 0;
  int rc = an_delta_optimum(g, &ap, &cl, rows, &nr, &best, err);
  if (!rc) pr->delta = rows[best].delta, pr->ka = rows[best].ka, pr->kb = rows[best].kb;
  cod_free(rows);
  return rc;
}

/* Choose (ka, kb): the configured pair, or for `auto` (or storage repartitioning) the
 * divisor pair of delta with the least per-worker upload that fits every worker's storage
 * (with held_f / held_s already held: storage_need). Repartitioning keeps a configured
 * pair that fits. run_config_pairs applies the scheme's fixed pair rule from coding/'s
 * registry. */
static int choose_code(const run_config *c, const cod_conv_geom *g, double held_f,
                       double held_s, cod_code **out, cod_err *err) {
  run_pairs pr;
  run_config_pairs(c, &pr);
  if (pr.delta == 0) {
    cod_code_params p = run_config_code_params(c, pr.ka, pr.kb);
    return cod_code_new(&p, g, out, err);
  }
  if (pr.delta == RUN_DELTA_AUTO) { /* this layer's latency-optimal (delta, ka, kb) */
    int rc = layer_delta_optimum(c, g, &pr, err);
    if (rc) return rc;
  }
  const size_t delta = pr.delta;
  /* a worker holds m_j tasks (proportional allocation): the per-task room of the tightest */
  double min_storage = INFINITY, best_bytes = INFINITY;
  int src = run_alloc_task_storage_bytes(c, &min_storage, err);
  if (src) return src;
  size_t el = run_precision_operand_bytes(c->run.precision);
  cod_code *best = NULL;
  /* repartition changes a configured split only when it does not fit */
  const cod_scheme_info *si = cod_scheme_find(c->coding.scheme, NULL);
  size_t fixed =
      si ? cod_scheme_fixed_threshold(si, run_alloc_coded_workers(c), c->coding.replication) : 0;
  if (c->cluster.on_storage == RUN_STORAGE_REPARTITION && c->coding.ka != RUN_AUTO &&
      c->coding.kb != RUN_AUTO && (!fixed || c->coding.ka * c->coding.kb == fixed)) {
    cod_code_params p = run_config_code_params(c, c->coding.ka, c->coding.kb);
    if (cod_code_new(&p, g, &best, NULL) == COD_OK &&
        storage_need(best, el, held_f, held_s) <= min_storage) {
      *out = best;
      return COD_OK;
    }
    cod_code_free(best);
    best = NULL;
  }
  for (size_t a = 1; a <= delta; a++) {
    if (delta % a) continue;
    size_t b = delta / a;
    if (!run_pairs_allow(&pr, a, b)) continue;
    cod_code_params p = run_config_code_params(c, a, b);
    cod_code *cand = NULL;
    if (cod_code_new(&p, g, &cand, NULL) != COD_OK) continue;
    double bytes = (double)((cod_code_worker_input_len(cand) + cod_code_worker_filter_len(cand)) * el);
    int fits = storage_need(cand, el, held_f, held_s) <= min_storage;
    int best_fits = best && storage_need(best, el, held_f, held_s) <= min_storage;
    if (!best || (fits && !best_fits) || (fits == best_fits && bytes < best_bytes)) {
      cod_code_free(best);
      best = cand, best_bytes = bytes;
    } else {
      cod_code_free(cand);
    }
  }
  if (!best) {
    cod_code_params p = run_config_code_params(c, pr.ka ? pr.ka : 1, pr.kb ? pr.kb : delta);
    return cod_code_new(&p, g, out, err); /* reports why no pair works */
  }
  *out = best;
  return COD_OK;
}

/* The analytic prediction beside the measurement (analytic/an_model.h): the an_* columns
 * of L, left NULL where the model does not apply. */
static void record_analytic(const exec_ctx *x, size_t ci, const cod_code *code,
                            res_layer_row *L) {
  const run_config *c = x->cfg;
  const cod_code_params *cp = cod_code_params_get(code);
  an_code_params ap = {cp->scheme, cp->n_workers, cp->ka, cp->kb, cp->q, cp->axis,
                       run_precision_operand_bytes(c->run.precision)};
  cod_conv_geom g = model_conv_geom(x->a->ro->m, ci);
  an_costs ac;
  if (an_costs_compute(&g, &ap, &ac, NULL) != COD_OK) return;
  L->an_upload_bytes = ac.upload_bytes, L->an_download_bytes = ac.download_bytes;
  L->an_storage_bytes = ac.storage_bytes, L->an_compute_flops = ac.worker_flops;
  /* latency only where the model covers the cluster and every assignment is stored */
  an_cluster cl;
  an_latency al;
  double min_storage = INFINITY;
  for (size_t w = 0; w < c->cluster.workers; w++) {
    run_worker rw;
    run_config_worker(c, w, &rw);
    min_storage = fmin(min_storage, rw.storage_bytes);
  }
  if (run_alloc_applies(c)) { /* tasks and per-task returns: runner/run_alloc.h */
    double task_room = -INFINITY; /* every worker holds its m_j tasks */
    run_alloc_task_storage_bytes(c, &task_room, NULL);
    if (ac.storage_bytes <= task_room && isnan(L->storage_overflow_bytes))
      run_alloc_an_latency(c, code, &x->a->scratch, &L->an_latency_s);
  } else if (run_config_an_cluster(c, &cl) && ac.storage_bytes <= min_storage &&
      isnan(L->storage_overflow_bytes) && an_latency_expected(&ac, &ap, &cl, &al, NULL) == COD_OK) {
    L->an_latency_s = al.total_s;
    run_energy_an_layer(c, &ac, &ap, &cl, &al, L);
  }
}

/* The layers row of conv ci. Its strings are copies owned by the run_result. */
static int record_layer_row(exec_ctx *x, size_t ci, const cod_code *code,
                            const run_layer_out *lo, const double *y, size_t ylen,
                            cod_err *err) {
  run_result *r = x->res;
  const model_layer *ml = model_conv_layer(x->a->ro->m, ci);
  int rc = 0;
  res_layer_row *rows = grow(r->layers, &x->cap_layers, r->n_layers + 1, sizeof *rows);
  if (!rows) return cod_err_set(err, COD_ENOMEM, "out of memory");
  r->layers = rows;
  res_layer_row *L = &rows[r->n_layers];
  res_layer_row_init(L);
  L->layer_index = (int64_t)ci;
  L->layer_name = own(r, ml->name, &rc);
  L->ka = (int64_t)cod_code_ka(code), L->kb = (int64_t)cod_code_kb(code);
  L->delta = (int64_t)cod_code_threshold(code);
  /* ids below COD_WORKERS_MAX: at most 4 digits and a comma each */
  size_t cap = lo->n_used * 5 + 1, pos = 0;
  char *used = cod_malloc(cap);
  if (!used) return cod_err_set(err, COD_ENOMEM, "out of memory");
  used[0] = '\0';
  for (size_t i = 0; i < lo->n_used; i++) { /* by hand: snprintf was 5% of a model-only run */
    char digits[8];
    size_t nd = 0, v = lo->used[i];
    do digits[nd++] = (char)('0' + v % 10), v /= 10; while (v);
    if (i) used[pos++] = ',';
    while (nd) used[pos++] = digits[--nd];
  }
  used[pos] = '\0';
  L->workers_used = own(r, used, &rc);
  cod_free(used);
  L->t_encode_s = lo->t_encode_s, L->t_upload_s = lo->t_upload_s;
  L->t_compute_s = lo->t_compute_s, L->t_download_s = lo->t_download_s;
  L->t_decode_s = lo->t_decode_s, L->t_total_s = lo->t_end_s - lo->t_start_s;
  L->cpu_encode_s = lo->cpu_encode_s, L->cpu_compute_s = lo->cpu_compute_s;
  L->cpu_decode_s = lo->cpu_decode_s;
  L->cond = lo->cond;
  L->cond_flagged = isnan(lo->cond) ? -1 : lo->cond > x->cfg->run.cond_bound;
  if (lo->n_worst > 0) { /* stragglers = worst; NULL otherwise (and from the mpi backend) */
    L->worst_sets_tried = (int64_t)lo->worst_sets_tried;
    L->worst_exhaustive = lo->worst_exhaustive ? 1 : 0;
  }
  L->status = lo->status;
  L->conv_algo = lo->conv_algo;
  if (y && strcmp(lo->status, RES_STATUS_OK) == 0)
    errors(y, x->a->ro->ref_conv[ci], ylen, &L->mse, &L->rel_error, &L->max_abs_error);
  int src = run_storage_layer_row(x->cfg, x->storage, ci, code, L, err);
  if (src) return src;
  if (strcmp(x->be->name, "sim") == 0) /* only the simulator's rows carry busy times */
    run_energy_layer(x->cfg, code, lo, lo->workers, x->cfg->cluster.workers, L);
  record_analytic(x, ci, code, L);
  r->n_layers++;
  return rc ? cod_err_set(err, COD_ENOMEM, "out of memory") : COD_OK;
}

/* The run's own copy of a class name, one per distinct name. A backend's rows borrow the
 * name from the run_config, which a sweep thread overwrites with its next task's config
 * before the main thread writes this run: a row must own every string it carries. */
static const char *own_class(exec_ctx *x, const char *name, int *rc) {
  if (*rc) return NULL;
  for (size_t i = 0; i < x->n_class_names; i++)
    if (strcmp(x->class_names[i], name) == 0) return x->class_names[i];
  const char **names = grow(x->class_names, &x->cap_class_names, x->n_class_names + 1,
                            sizeof *names);
  if (!names) return *rc = COD_ENOMEM, NULL;
  x->class_names = names;
  const char *d = own(x->res, name, rc);
  if (d) x->class_names[x->n_class_names++] = d;
  return d;
}

/* The backend's workers rows of conv ci, moved into the run_result as they are, with
 * their layer and their own copy of the class name. */
static int record_worker_rows(exec_ctx *x, size_t ci, const cod_code *code,
                              const run_layer_out *lo, cod_err *err) {
  run_result *r = x->res;
  size_t n = x->cfg->cluster.workers; /* physical workers (the code may have more tasks) */
  (void)code;
  res_worker_row *ws = grow(r->workers, &x->cap_workers, r->n_workers + n, sizeof *ws);
  if (!ws) return cod_err_set(err, COD_ENOMEM, "out of memory");
  r->workers = ws;
  int rc = 0;
  for (size_t j = 0; j < n; j++) {
    res_worker_row *w = &ws[r->n_workers++];
    *w = lo->workers[j];
    w->layer_index = (int64_t)ci;
    if (w->worker_class) w->worker_class = own_class(x, w->worker_class, &rc);
  }
  return rc ? cod_err_set(err, COD_ENOMEM, "out of memory") : COD_OK;
}

/* The trace events of conv ci (kinds are string constants). */
static int record_events(exec_ctx *x, size_t ci, const run_layer_out *lo, cod_err *err) {
  run_result *r = x->res;
  res_event_row *ev = grow(r->events, &x->cap_events, r->n_events + lo->n_trace, sizeof *ev);
  if (lo->n_trace && !ev) return cod_err_set(err, COD_ENOMEM, "out of memory");
  if (lo->n_trace) r->events = ev;
  for (size_t i = 0; i < lo->n_trace; i++) {
    res_event_row *e = &r->events[r->n_events];
    res_event_row_init(e);
    e->seq = (int64_t)r->n_events, e->t_ns = lo->trace[i].t_ns, e->kind = lo->trace[i].kind;
    e->worker = lo->trace[i].worker, e->layer_index = (int64_t)ci;
    r->n_events++;
  }
  return COD_OK;
}

static int record_layer(exec_ctx *x, size_t ci, const cod_code *code, const run_layer_out *lo,
                        const double *y, size_t ylen, cod_err *err) {
  int rc = record_layer_row(x, ci, code, lo, y, ylen, err);
  if (!rc) rc = record_worker_rows(x, ci, code, lo, err);
  if (!rc) rc = record_events(x, ci, lo, err);
  return rc;
}

int run_config_an_cluster(const run_config *c, an_cluster *out) {
  an_cluster cl;
  memset(&cl, 0, sizeof cl);
  cl.compute_rate_flops = c->cluster.compute_rate_flops;
  cl.uplink_bps = c->network.uplink_bps, cl.downlink_bps = c->network.downlink_bps;
  cl.master_bps = c->network.master_bps;
  cl.master_fair = c->network.master_sharing == RUN_SHARING_FAIR;
  cl.latency_s = c->network.latency_s, cl.master_flops = c->master.master_flops;
  /* a trace law's path points into cfg: the cluster is used while cfg lives */
  run_latency_sim_params(c, &c->latency, &cl.lat);
  _Static_assert(AN_CLASSES_MAX >= RUN_CLASSES_MAX, "every class has an analytic twin");
  cl.n_classes = c->n_classes;
  for (size_t i = 0; i < c->n_classes; i++) {
    const run_worker *w = &c->classes[i].worker;
    an_class *k = &cl.classes[i];
    k->count = c->classes[i].count, k->compute_rate_flops = w->compute_rate_flops;
    k->uplink_bps = w->uplink_bps, k->downlink_bps = w->downlink_bps;
    run_latency_sim_params(c, &w->latency, &k->lat);
  }
  *out = cl;
  /* which laws have a closed form is an_latency_expected's to say (by law name); the
   * others and the classes are integrated numerically */
  return c->failures.n_fail_workers == 0 &&
         (c->master.timing == RUN_TIMING_MODEL || c->run.compute == RUN_COMPUTE_MODEL);
}

static const run_backend sim_backend;

/* Run one conv layer: coded on the cluster if selected, else by the master. */
static int run_conv(exec_ctx *x, size_t ci, const cod_conv_geom *g, const double *xin,
                    const double *k, double *y, cod_err *err) {
  const run_config *c = x->cfg;
  const model_layer *ml = model_conv_layer(x->a->ro->m, ci);
  size_t li = (size_t)model_layer_find(x->a->ro->m, ml->name);
  int rc = master_busy(x, 2.0 * master_macs(x->a->ro->m, x->last_layer, li) / c->master.master_flops,
                       err);
  x->last_layer = li + 1;
  if (rc) return rc;
  if (!selected(c, ci)) {
    if (y) model_plan_conv(x->a->plan, ci, xin, k, y);
    return master_busy(x, 2.0 * cod_conv_macs(g) / c->master.master_flops, err);
  }
  if (c->run.conv_algo == RUN_CONV_AUTO && x->be != &sim_backend)
    return cod_err_set(err, COD_EINVAL, "[run] conv_algo = auto: the %s backend's workers "
                       "convolve by im2col only (set conv_algo = im2col)", x->be->name);
  const cod_code *code = NULL; /* borrowed from the thread's cache for this layer */
  double held_f, held_s;
  run_storage_held(x->storage, ci, &held_f, &held_s);
  if ((rc = run_code_cache_get(&x->a->codes, c, g, held_f, held_s, &code, err))) return rc;
  if (x->delta0 == 0)
    x->ka0 = cod_code_ka(code), x->kb0 = cod_code_kb(code), x->delta0 = cod_code_threshold(code);
  run_layer_in in = {c, code, x->e, x->cl, xin, k, y, c->run.trace, NULL, 0.0, &x->a->scratch,
                     run_storage_refusals(x->storage, ci), 0, 0.0, 0, COD_CONV_IM2COL};
  /* all n workers' coded operands beyond the budget: the simulator encodes them by chunks
   * as workers compute (same bytes; master time is modelled, so no wall time is lost) */
  const cod_conv_algo form = y && x->be == &sim_backend ? run_layer_filter_form(c, code)
                                                       : COD_CONV_IM2COL;
  double coded_bytes = (double)cod_code_workers(code) * sizeof(double) *
                       (double)(cod_code_worker_input_len(code) +
                                cod_code_worker_filter_len_form(code, form));
  in.lazy_encode = y && x->be == &sim_backend && c->master.timing == RUN_TIMING_MODEL &&
                   coded_bytes > (double)x->a->ro->budget_bytes;
  int cached = y && !in.lazy_encode;
  if (y) in.filter_max_abs = x->a->ro->kmax[ci];
  /* the simulator's own layers read a class's filters in place (run_filt.h) */
  in.coded_filters_class_major = x->be == &sim_backend && !run_alloc_applies(c);
  in.coded_filters_form = form;
  if (cached && (rc = run_filt_cache_acquire(x->a->filt, ci, code, in.coded_filters_class_major,
                                             form, k, &in.coded_filters,
                                             &in.coded_filters_wall_s, err)))
    return rc;
  run_layer_out lo;
  rc = x->be->layer(x->be->ctx, &in, &lo, err);
  if (cached) run_filt_cache_release(x->a->filt, ci);
  /* [run] cond for every backend (the simulator's layer applies it already; the MPI one
   * reports its decoder's number): NULL, or the code's worst set (cached per thread) */
  if (!rc && c->run.cond == RUN_COND_NONE) lo.cond = NAN;
  if (!rc && c->run.cond == RUN_COND_WORST && !isnan(lo.cond))
    rc = run_worst_cond(c, code, &x->a->scratch, &lo.cond, err);
  /* a decode of finite results can still overflow (or a backend's worker return Inf):
   * the layer is a numeric failure, never `ok` */
  if (!rc && y && strcmp(lo.status, RES_STATUS_OK) == 0 &&
      !cod_array_all_finite(y, cod_conv_output_len(g))) {
    lo.status = RES_STATUS_ERROR;
    snprintf(lo.error_msg, sizeof lo.error_msg, "the decoded output is not finite (overflow)");
  }
  if (!rc && !x->quiet) rc = record_layer(x, ci, code, &lo, y, cod_conv_output_len(g), err);
  if (!rc && strcmp(lo.status, RES_STATUS_OK) != 0) {
    if (!x->quiet) x->stop_status = lo.status, x->stop_time = lo.t_end_s;
    if (!x->quiet && lo.error_msg[0])
      snprintf(x->stop_msg, sizeof x->stop_msg, "layer %s: %s", ml->name, lo.error_msg);
    rc = cod_err_set(err, COD_EUNDECODABLE, "%s: %s", ml->name, lo.status);
  }
  run_layer_out_fini(&lo);
  return rc;
}

static int coded_hook(void *ctx, size_t ci, const cod_conv_geom *g, const double *xin,
                      const double *k, double *y, cod_err *err) {
  return run_conv(ctx, ci, g, xin, k, y, err);
}

/* ---- one request's numbers under load (run_load.c) ----------------------------------- */

typedef struct sets_ctx {
  run_assets *a;
  const run_config *cfg;
  cod_code *const *codes;
  const size_t *const *avail;
  const size_t *n_avail;
  size_t stage;
  double max_rel;
} sets_ctx;

/* A coded conv: encode, the workers of the recorded set compute, decode from that set. */
static int sets_hook(void *ctx, size_t ci, const cod_conv_geom *g, const double *xin,
                     const double *k, double *y, cod_err *err) {
  sets_ctx *S = ctx;
  if (!selected(S->cfg, ci)) {
    model_plan_conv(S->a->plan, ci, xin, k, y);
    return COD_OK;
  }
  const cod_code *code = S->codes[S->stage];
  const size_t *av = S->avail[S->stage];
  size_t nav = S->n_avail[S->stage++];
  size_t n = cod_code_workers(code), il = cod_code_worker_input_len(code);
  size_t fl = cod_code_worker_filter_len(code), ol = cod_code_worker_output_len(code);
  cod_dtype dt = S->cfg->run.precision == RUN_FP64 ? COD_F64 : COD_F32;
  /* [run] conv_algo as in run_layer.c: 16-bit workers stay im2col */
  int half = S->cfg->run.precision == RUN_BF16 || S->cfg->run.precision == RUN_FP16;
  cod_conv_algo algo = S->cfg->run.conv_algo == RUN_CONV_AUTO && !half
                           ? cod_conv_algo_choose(cod_code_worker_geom(code), dt)
                           : COD_CONV_IM2COL;
  double *cx = cod_malloc_array(n * il, sizeof *cx), *ck = cod_malloc_array(n * fl, sizeof *ck);
  double *res = cod_malloc_array(n * ol, sizeof *res);
  void *work = cod_aligned_alloc(cod_code_worker_workspace_bytes_algo(code, dt, algo));
  const double *rp[COD_WORKERS_MAX];
  int rc = !cx || !ck || !res || !work ? cod_err_set(err, COD_ENOMEM, "out of memory") : COD_OK;
  if (!rc) rc = cod_code_encode_input(code, xin, cx, err);
  if (!rc) rc = cod_code_encode_filters(code, k, ck, err);
  for (size_t i = 0; !rc && i < nav; i++) {
    size_t j = av[i];
    cod_code_worker_compute_algo(code, dt, algo, cx + j * il, ck + j * fl, res + j * ol, work);
    rp[i] = res + j * ol;
  }
  if (!rc)
    rc = cod_code_decode(code, av, nav, rp, S->cfg->run.decode == RUN_DECODE_GENERIC
                         ? COD_DECODE_GENERIC : COD_DECODE_AUTO, y, NULL, err);
  if (!rc) {
    double mse, rel, mx;
    errors(y, S->a->ro->ref_conv[ci], cod_conv_output_len(g), &mse, &rel, &mx);
    S->max_rel = fmax(S->max_rel, rel);
  }
  cod_free(cx), cod_free(ck), cod_free(res), cod_free(work);
  return rc;
}

const model *run_assets_model(const run_assets *a) { return a->ro->m; }

int run_assets_coded_forward(run_assets *a, const run_config *cfg, cod_code *const *codes,
                             const size_t *const *avail, const size_t *n_avail,
                             double *e2e_rel, double *max_layer_rel, cod_err *err) {
  sets_ctx S = {a, cfg, codes, avail, n_avail, 0, 0.0};
  size_t no = shape_len(model_output_shape(a->ro->m));
  double *out = cod_malloc_array(no, sizeof *out);
  if (!out) return cod_err_set(err, COD_ENOMEM, "out of memory");
  int rc = model_forward(a->plan, a->ro->w, a->ro->input, out, sets_hook, &S, err);
  if (!rc) {
    double mse, mx;
    errors(out, a->ro->ref_out, no, &mse, e2e_rel, &mx);
    *max_layer_rel = S.max_rel;
  }
  cod_free(out);
  return rc;
}

int run_key_format(char *buf, size_t cap, const char *scenario_hash, const char *backend,
                   size_t point, size_t trial) {
  char part[128];
  int sim = !backend || strcmp(backend, "sim") == 0;
  int n = snprintf(part, sizeof part, "%s%s%s", scenario_hash, sim ? "" : "/", sim ? "" : backend);
  if (n < 0 || (size_t)n >= sizeof part) return COD_EINVAL;
  return res_run_key_format(buf, cap, part, (int64_t)point, (int64_t)trial, NULL);
}

static int sim_layer(void *ctx, const run_layer_in *in, run_layer_out *out, cod_err *err) {
  (void)ctx;
  return run_layer_execute(in, out, err);
}

static const run_backend sim_backend = {"sim", sim_layer, NULL};

/* The images after the first of a data set: each one uncoded, then coded on the same
 * engine and cluster (fresh straggler draws), tallied with the first image's result. */
static int data_images(exec_ctx *x, const double *out0, run_result *r, cod_err *err) {
  run_assets *a = x->a;
  const run_data *d = &a->ro->data;
  size_t no = shape_len(model_output_shape(a->ro->m));
  double *ref = cod_malloc_array(no, sizeof *ref), *y = cod_malloc_array(no, sizeof *y);
  double *all = cod_malloc_array(d->n * no, sizeof *all); /* every image's coded logits */
  int rc = ref && y && all ? COD_OK : cod_err_set(err, COD_ENOMEM, "out of memory");
  for (size_t k = 0; !rc && k < no; k++) all[k] = x->stop_status ? NAN : out0[k];
  run_data_tally t;
  memset(&t, 0, sizeof t);
  if (!rc) run_data_tally_add(&t, x->stop_status ? NULL : out0, a->ro->ref_out, no,
                              d->label ? d->label[0] : -1);
  x->quiet = 1;
  for (size_t i = 1; !rc && i < d->n; i++) {
    const double *img = d->x + i * d->elems;
    if ((rc = model_forward(a->plan, a->ro->w, img, ref, NULL, NULL, err))) break;
    x->last_layer = 0;
    cod_err le = {0};
    int coded = model_forward(a->plan, a->ro->w, img, y, coded_hook, x, &le);
    if (coded && coded != COD_EUNDECODABLE) {
      rc = coded;
      if (err) *err = le;
      break;
    }
    if (!coded)
      rc = master_busy(x, 2.0 * master_macs(a->ro->m, x->last_layer, model_layer_count(a->ro->m)) /
                              x->cfg->master.master_flops, err);
    if (rc == COD_EUNDECODABLE && x->stop_status) { /* past the horizon: the run's outcome */
      rc = COD_OK;
      break;
    }
    run_data_tally_add(&t, coded ? NULL : y, ref, no, d->label ? d->label[i] : -1);
    for (size_t k = 0; k < no; k++) all[i * no + k] = coded ? NAN : y[k];
  }
  x->quiet = 0;
  cod_free(ref);
  cod_free(y);
  if (rc) {
    cod_free(all);
    return rc;
  }
  cod_free(r->logits);
  r->logits = all;
  res_data_row *D = &r->data;
  D->source = own(r, d->source, &rc);
  D->images = (int64_t)t.images;
  D->top1_coded = t.labelled ? (double)t.right_coded / (double)t.labelled : NAN;
  D->top1_uncoded = t.labelled ? (double)t.right_uncoded / (double)t.labelled : NAN;
  D->agreement = (double)t.agree / (double)t.images;
  D->undecodable = (int64_t)t.undecodable;
  D->max_logit_error = t.undecodable == t.images ? NAN : t.max_logit_error;
  r->has_data = 1;
  return rc ? cod_err_set(err, COD_ENOMEM, "out of memory") : COD_OK;
}

int run_execute(const run_config *cfg, const run_ident *id, run_assets **cache,
                run_result *out, cod_err *err) {
  return run_execute_backend(cfg, id, NULL, cache, out, err);
}

/* The coded forward pass of the whole model, then the master's layers after the last
 * conv. output: the model's output (compute = real), NULL in model-only mode. An
 * undecodable layer is an outcome (x->stop_status), not an error. */
static int run_forward(exec_ctx *x, double *output, cod_err *err) {
  run_assets *a = x->a;
  int rc = COD_OK;
  if (output) {
    rc = model_forward(a->plan, a->ro->w, a->ro->input, output, coded_hook, x, err);
  } else {
    for (size_t ci = 0; !rc && ci < a->ro->n_conv; ci++) {
      cod_conv_geom g = model_conv_geom(a->ro->m, ci);
      rc = run_conv(x, ci, &g, NULL, NULL, NULL, err);
    }
  }
  if (rc == COD_EUNDECODABLE && x->stop_status) rc = COD_OK;
  if (!rc && !x->stop_status)
    rc = master_busy(x, 2.0 * master_macs(a->ro->m, x->last_layer, model_layer_count(a->ro->m)) /
                            x->cfg->master.master_flops, err);
  if (rc == COD_EUNDECODABLE && x->stop_status) rc = COD_OK; /* past the horizon: an outcome */
  return rc;
}

/* The runs row, once the forward pass is over (t_end: when it ended, s). Strings that come from the caller or the
 * model are copies owned by the run_result; the others are static. */
static int record_run_row(exec_ctx *x, const double *output, double w0, double t_end) {
  const run_config *cfg = x->cfg;
  const run_ident *id = x->id;
  run_result *r = x->res;
  res_run_row *R = &r->run;
  int rc = 0;
  res_run_row_init(R);
  char key[256];
  run_key_format(key, sizeof key, id->scenario_hash, x->be->name, id->point, id->trial);
  R->run_key = own(r, key, &rc);
  R->scenario_path = own(r, id->scenario_path, &rc);
  R->scenario_hash = own(r, id->scenario_hash, &rc);
  R->params_json = own(r, id->params_json, &rc);
  R->model = own(r, model_name(x->a->ro->m), &rc);
  if (rc) return rc;
  R->point_index = (int64_t)id->point, R->trial = (int64_t)id->trial;
  R->seed = cfg->run.seed;
  R->backend = x->be->name;
  R->scheme = cod_scheme_find(cfg->coding.scheme, NULL)->name; /* static, outlives cfg */
  R->workers = (int64_t)cfg->cluster.workers;
  R->ka = (int64_t)x->ka0, R->kb = (int64_t)x->kb0, R->delta = (int64_t)x->delta0;
  R->precision = run_config_enum_name("run.precision", cfg->run.precision);
  R->status = x->stop_status ? x->stop_status : RES_STATUS_OK;
  R->status_time_s = x->stop_status ? x->stop_time : t_end;
  R->latency_s = x->stop_status ? NAN : t_end;
  memcpy(r->error_msg, x->stop_msg, sizeof r->error_msg);
  if (output && !x->stop_status)
    errors(output, x->a->ro->ref_out, shape_len(model_output_shape(x->a->ro->m)), &R->e2e_mse,
           &R->e2e_rel_error, &R->e2e_max_abs_error);
  run_storage_run_row(x->storage, r->layers, r->n_layers, R);
  if (strcmp(x->be->name, "sim") == 0)
    run_energy_run(cfg, r->layers, r->n_layers, x->master_own_s, R->status_time_s, R);
  R->wall_s = cod_clock_wall_s() - w0;
  r->events_fired = sim_engine_events_fired(x->e);
  return COD_OK;
}

int run_execute_backend(const run_config *cfg, const run_ident *id, const run_backend *be,
                        run_assets **cache, run_result *out, cod_err *err) {
  double w0 = cod_clock_wall_s();
  run_result r;
  memset(&r, 0, sizeof r);
  int rc = assets_get(cfg, cache, err);
  if (rc) return rc;
  run_assets *a = *cache;
  if (cfg->load.arrivals != RUN_ARRIVALS_NONE) { /* a stream of requests (run_load.h) */
    if (be && strcmp(be->name, "sim") != 0)
      return cod_err_set(err, COD_EINVAL, "[load] arrivals = %s: only the simulator serves "
                         "request streams (backend %s)",
                         run_config_enum_name("load.arrivals", cfg->load.arrivals), be->name);
    rc = run_load_execute(cfg, id, a, &r, err);
    if (rc) return rc;
    r.run.wall_s = cod_clock_wall_s() - w0;
    *out = r;
    return COD_OK;
  }
  exec_ctx x;
  memset(&x, 0, sizeof x);
  x.cfg = cfg, x.id = id, x.a = a, x.res = &r;
  x.be = be ? be : &sim_backend;
  if ((rc = run_storage_plan_new_cached(cfg, a->ro->m, &a->codes, &x.storage, err))) return rc;
  if ((rc = sim_engine_new(256, &x.e, err))) {
    run_storage_plan_free(x.storage);
    return rc;
  }
  if ((rc = run_cluster_new_pooled(cfg, x.e, id->trial, &a->scratch.rng, &x.cl, err))) {
    sim_engine_free(x.e);
    run_storage_plan_free(x.storage);
    return rc;
  }
  double *output = NULL;
  if (cfg->run.compute == RUN_COMPUTE_REAL) {
    output = cod_malloc_array(shape_len(model_output_shape(a->ro->m)), sizeof *output);
    if (!output) rc = cod_err_set(err, COD_ENOMEM, "out of memory");
  }
  if (!rc) rc = run_forward(&x, output, err);
  /* the run's latency is the first image's; the other images of a data set follow on the
   * same engine and cluster (fresh straggler draws) and only feed the data_runs row */
  double t_end = sim_time_to_s(sim_engine_now(x.e));
  if (!rc && a->ro->data.n) rc = data_images(&x, output, &r, err);
  if (!rc) rc = record_run_row(&x, output, w0, t_end);
  if (rc == COD_ENOMEM && err && !err->msg[0]) cod_err_set(err, rc, "out of memory");
  run_cluster_free(x.cl);
  sim_engine_free(x.e);
  run_storage_plan_free(x.storage);
  cod_free(x.class_names);
  if (rc) {
    cod_free(output);
    run_result_fini(&r);
    return rc;
  }
  if (output && !x.stop_status && !r.logits) r.logits = output; /* handed to the caller */
  else cod_free(output);
  *out = r;
  return COD_OK;
}

int run_result_write(res_db *db, const run_result *r, cod_err *err) {
  int64_t id;
  int rc = res_db_begin_run(db, &r->run, &id, err);
  if (rc) return rc;
  for (size_t i = 0; !rc && i < r->n_layers; i++) rc = res_db_insert_layer(db, id, &r->layers[i], err);
  if (!rc) rc = res_db_insert_workers(db, id, r->workers, r->n_workers, err);
  for (size_t i = 0; !rc && i < r->n_events; i++) rc = res_db_insert_event(db, id, &r->events[i], err);
  if (!rc && r->has_data) rc = res_db_insert_data_run(db, id, &r->data, err);
  if (!rc && r->has_load) rc = res_db_insert_load_run(db, id, &r->load, err);
  for (size_t i = 0; !rc && i < r->n_load_workers; i++)
    rc = res_db_insert_load_worker(db, id, &r->load_workers[i], err);
  if (!rc && r->requests_spool) rc = run_load_write_requests(db, id, r, err);
  if (!rc) rc = res_db_commit_run(db, id, err);
  if (rc) res_db_rollback_run(db, id, NULL);
  return rc;
}

int run_code_choose(const run_config *c, const cod_conv_geom *g, cod_code **out, cod_err *err) {
  return choose_code(c, g, 0.0, 0.0, out, err);
}

int run_code_choose_held(const run_config *c, const cod_conv_geom *g, double held_filter_bytes,
                         double held_slab_bytes, cod_code **out, cod_err *err) {
  return choose_code(c, g, held_filter_bytes, held_slab_bytes, out, err);
}

run_cache_stats run_assets_cond_stats(const run_assets *a) {
  return run_cond_cache_stats(a ? a->scratch.cond_cache : NULL);
}
