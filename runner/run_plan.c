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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cod_alloc.h"
#include "cod_code.h"
#include "cod_registry.h"
#include "model_onnx.h"
#include "run_exec.h"
#include "run_load.h"
#include "run_sweep.h"
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
static const char *const B_UP[] = {"network.to_master_bps", NULL};
static const char *const B_DOWN[] = {"network.to_worker_bps", NULL};
static const char *const B_C_RATE[] = {"class.compute_rate_flops", NULL};
static const char *const B_C_SHIFT[] = {"class.shift", NULL};
static const char *const B_C_SCALE[] = {"class.pareto_scale", NULL};
static const char *const B_C_UP[] = {"class.to_master_bps", NULL};
static const char *const B_C_DOWN[] = {"class.to_worker_bps", NULL};

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
                           "the pieces over the workers' to_worker links", ks[k].up, err);
    if (beyond(ks[k].down))
      return horizon_error(cls ? B_C_UP : B_UP, blame, kl, klass,
                           "the results over the workers' to_master links", ks[k].down, err);
  }
  return COD_OK;
}

/* ---- the plan of a whole sweep (run_plan.h) --------------------------------------------
 *
 * One pass over the points in order, as the sweep will run them: the point's own checks,
 * the model (loaded once per distinct name), its selected layers and run_plan_check (once
 * per run of consecutive points that differ only in seeds, trials or names). A failure of
 * the point's own values marks it infeasible and the pass goes on, so one message can
 * name every such point; anything else stops. Duplicates are then found among the feasible
 * points by a 64-bit FNV-1a hash of the canonical JSON of each point's effective
 * configuration (the keys its scheme ignores set to one value), sorted, and confirmed by
 * comparing the JSON texts themselves, so a hash collision can never merge two points.
 */

static const char *const B_MODEL[] = {"model.name", NULL};
static const char *const B_LAYERS[] = {"model.layers", "model.name", NULL};
static const char *const B_TRIALS[] = {"run.trials", NULL};

/* The model called `name`, built in or a file. A name that is neither gets one message
 * naming both possibilities. */
static int load_model(const char *name, model **out, cod_err *err) {
  cod_err le = {0};
  int rc = model_lookup(name, out, &le);
  if (rc == COD_EINVAL) {
    /* a bare word that is no file was meant as a built-in name; anything else is a path */
    struct stat sb;
    if (!strchr(name, '/') && !strstr(name, ".model") && !model_onnx_is_path(name) &&
        stat(name, &sb) != 0)
      return cod_err_set(err, COD_EINVAL, "%s, and no model file '%s'", le.msg, name);
    rc = model_load_any(name, out, NULL, err);
  } else if (rc && err) {
    *err = le;
  }
  return rc;
}

/* The fields of a point that its dry run does not depend on, cleared, so that points
 * differing only in them share one run_plan_check. */
static void plan_key(const run_config *cfg, run_config *key) {
  memcpy(key, cfg, sizeof *key);
  memset(&key->run.name, 0, sizeof key->run.name);
  key->run.trials = 0, key->run.seed = 0, key->run.trace = 0, key->run.cond_bound = 0;
  key->run.decode = 0, key->run.snr_db = 0;
  key->model.weights_seed = 0, key->model.input_seed = 0;
}

static int scheme_reads(const cod_scheme_info *s, const char *param) {
  for (size_t i = 0; i < COD_SCHEME_PARAMS_MAX; i++)
    if (s->params[i].name && strcmp(s->params[i].name, param) == 0) return 1;
  return 0;
}

int run_plan_key_ignored(const char *scheme, const char *stragglers, const char *key) {
  if (!key) return 0;
  if (strcmp(key, "cluster.worst_sets") == 0)
    return !stragglers || strcmp(stragglers, "worst") != 0;
  if (strncmp(key, "coding.", 7) != 0) return 0;
  const cod_scheme_info *s = cod_scheme_find(scheme, NULL);
  if (!s) return 0;
  const char *k = key + 7;
  if (!strcmp(k, "ka") || !strcmp(k, "kb") || !strcmp(k, "delta")) return s->pair != COD_PAIR_FREE;
  if (!strcmp(k, "replication")) return s->pair != COD_PAIR_COPIES;
  if (!strcmp(k, "q")) return !scheme_reads(s, "q");
  if (!strcmp(k, "seed")) return !s->takes_seed;
  if (!strcmp(k, "approx_wait") || !strcmp(k, "approx_deadline_s")) return !s->approximate;
  return 0;
}

/* cfg with every key its scheme ignores set to one value (run_plan.h lists them). */
static void effective_config(const run_config *c, run_config *e) {
  const cod_scheme_info *s = cod_scheme_find(c->coding.scheme, NULL);
  run_pairs p;
  memcpy(e, c, sizeof *e);
  run_config_pairs(c, &p);
  e->coding.ka = p.ka, e->coding.kb = p.kb, e->coding.delta = p.delta;
  if (s && s->pair != COD_PAIR_COPIES) e->coding.replication = 0;
  if (s && !scheme_reads(s, "q")) e->coding.q = 0;
  if (s && !s->takes_seed) e->coding.seed = 0;
  if (s && !s->approximate) e->coding.approx_wait = 0, e->coding.approx_deadline_s = INFINITY;
  if (c->cluster.stragglers != RUN_STRAGGLERS_WORST) e->cluster.worst_sets = 0;
}

/* The canonical JSON of point p's effective configuration (cod_free), or NULL on ENOMEM. */
static char *effective_json(const run_scenario *sc, size_t p, run_config *tmp, cod_err *err) {
  run_config *e = tmp + 1;
  char *json = NULL;
  if (run_scenario_point(sc, p, tmp, err)) return NULL;
  effective_config(tmp, e);
  if (run_config_to_json(e, &json, err)) return NULL;
  return json;
}

typedef struct hashed_point {
  uint64_t hash;
  size_t point;
} hashed_point;

static int by_hash(const void *a, const void *b) {
  const hashed_point *x = a, *y = b;
  if (x->hash != y->hash) return x->hash < y->hash ? -1 : 1;
  return x->point < y->point ? -1 : x->point > y->point;
}

static uint64_t fnv1a(const char *s) {
  uint64_t h = 14695981039346656037ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static int add_skip(run_sweep_plan *pl, size_t point, int state, size_t same_as,
                    const char *reason, cod_err *err) {
  run_point_skip *ns = cod_realloc(pl->skips, (pl->n_skips + 1) * sizeof *ns);
  if (!ns) return cod_err_set(err, COD_ENOMEM, "out of memory");
  pl->skips = ns;
  char *r = cod_strdup(reason);
  if (!r) return cod_err_set(err, COD_ENOMEM, "out of memory");
  ns[pl->n_skips++] = (run_point_skip){point, state, same_as, r};
  pl->state[point] = (unsigned char)state;
  if (state == RUN_POINT_INFEASIBLE) pl->n_infeasible++;
  else pl->n_duplicate++;
  return COD_OK;
}

/* "ka 2 -> 4, kb 10 -> 5": the ignored keys in which a and b differ. */
static void ignored_diff(const run_config *a, const run_config *b, char *buf, size_t len) {
  struct { const char *name; double x, y; } f[] = {
    {"ka", (double)a->coding.ka, (double)b->coding.ka},
    {"kb", (double)a->coding.kb, (double)b->coding.kb},
    {"delta", (double)a->coding.delta, (double)b->coding.delta},
    {"replication", (double)a->coding.replication, (double)b->coding.replication},
    {"q", (double)a->coding.q, (double)b->coding.q},
    {"coding.seed", (double)a->coding.seed, (double)b->coding.seed},
    {"approx_wait", (double)a->coding.approx_wait, (double)b->coding.approx_wait},
    {"approx_deadline_s", a->coding.approx_deadline_s, b->coding.approx_deadline_s},
    {"worst_sets", (double)a->cluster.worst_sets, (double)b->cluster.worst_sets},
  };
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
    if (f[i].x == f[i].y) continue;
    int w = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", f[i].name);
    if (w < 0 || (size_t)w >= len - used) break;
    used += (size_t)w;
  }
}

static int find_duplicates(const run_scenario *sc, run_sweep_plan *pl, cod_err *err) {
  size_t n = 0;
  hashed_point *hp = cod_malloc_array(pl->n_points ? pl->n_points : 1, sizeof *hp);
  run_config *tmp = cod_malloc_array(4, sizeof *tmp);
  int rc = hp && tmp ? COD_OK : cod_err_set(err, COD_ENOMEM, "out of memory");
  for (size_t p = 0; p < pl->n_points && !rc; p++) {
    if (pl->state[p] != RUN_POINT_RUN) continue;
    char *json = effective_json(sc, p, tmp, err);
    if (!json) rc = err && err->status ? err->status : COD_ENOMEM;
    else hp[n++] = (hashed_point){fnv1a(json), p};
    cod_free(json);
  }
  if (!rc && n > 1) qsort(hp, n, sizeof *hp, by_hash);
  for (size_t i = 0; i < n && !rc;) {
    size_t j = i + 1;
    while (j < n && hp[j].hash == hp[i].hash) j++;
    for (size_t a = i; a < j && !rc; a++) { /* each against the earliest equal one */
      if (pl->state[hp[a].point] != RUN_POINT_RUN) continue;
      char *ja = j - i > 1 ? effective_json(sc, hp[a].point, tmp, err) : NULL;
      for (size_t b = a + 1; b < j && ja && !rc; b++) {
        if (pl->state[hp[b].point] != RUN_POINT_RUN) continue;
        char *jb = effective_json(sc, hp[b].point, tmp, err);
        if (!jb) rc = COD_ENOMEM;
        if (jb && strcmp(ja, jb) == 0) {
          char *la = NULL, diff[200], reason[COD_ERR_MSG_LEN];
          run_config *ca = tmp + 2, *cb = tmp + 3;
          if (run_scenario_point(sc, hp[a].point, ca, err) ||
              run_scenario_point(sc, hp[b].point, cb, err) ||
              run_scenario_label(sc, hp[a].point, &la, err))
            rc = COD_ENOMEM;
          if (!rc) {
            ignored_diff(ca, cb, diff, sizeof diff);
            snprintf(reason, sizeof reason, "same configuration as point %zu (%.150s): scheme "
                     "%s ignores %s here", hp[a].point, la, cb->coding.scheme, diff);
            rc = add_skip(pl, hp[b].point, RUN_POINT_DUPLICATE, hp[a].point, reason, err);
          }
          cod_free(la);
        }
        cod_free(jb);
      }
      if (j - i > 1 && !ja && !rc) rc = COD_ENOMEM;
      cod_free(ja);
    }
    i = j;
  }
  cod_free(tmp);
  cod_free(hp);
  return rc;
}

static int by_point(const void *a, const void *b) {
  const run_point_skip *x = a, *y = b;
  return x->point < y->point ? -1 : x->point > y->point;
}

int run_plan_sweep(const run_scenario *sc, run_sweep_plan *pl, cod_err *err) {
  memset(pl, 0, sizeof *pl);
  size_t np = run_scenario_points(sc), runs = 0;
  pl->n_points = np;
  pl->skip_infeasible = run_scenario_skip_infeasible(sc);
  pl->state = cod_calloc(np, 1);
  size_t *trials = cod_calloc(np ? np : 1, sizeof *trials); /* for n_runs */
  run_config *cfg = cod_malloc_array(3, sizeof *cfg), *key = cfg + 1, *last = cfg + 2;
  char last_model[sizeof(((run_config *)0)->model.name)] = "";
  model *m = NULL;
  int rc = cfg && pl->state && trials ? COD_OK : cod_err_set(err, COD_ENOMEM, "out of memory");
  int have_last = 0;
  for (size_t p = 0; p < np && !rc; p++) {
    const char *const *blame = NULL;
    int klass = -1, own = 1; /* own: the failure is the point's own values' */
    cod_err e = {0};
    if ((rc = run_scenario_point(sc, p, cfg, &e))) {
      if (rc == COD_EINVAL) rc = add_skip(pl, p, RUN_POINT_INFEASIBLE, 0, e.msg, err);
      else if (err) *err = e;
      continue;
    }
    trials[p] = cfg->run.trials;
    if (__builtin_add_overflow(runs, cfg->run.trials, &runs) || runs > RUN_SWEEP_MAX_RUNS) {
      rc = cod_err_set(&e, COD_EINVAL, "the sweep has more than %d runs (points x trials)",
                       RUN_SWEEP_MAX_RUNS);
      blame = B_TRIALS, own = 0;
    } else if (strcmp(last_model, cfg->model.name) != 0) {
      model_free(m), m = NULL, last_model[0] = '\0', have_last = 0;
      if ((rc = load_model(cfg->model.name, &m, &e))) blame = B_MODEL, own = 0;
      else snprintf(last_model, sizeof last_model, "%s", cfg->model.name);
    }
    size_t nl = cfg->model.n_layers;
    if (!rc && nl && cfg->model.layers[nl - 1] > model_conv_count(m)) {
      rc = cod_err_set(&e, COD_EINVAL, "conv layer %zu selected, but model %s has %zu conv "
                       "layers", cfg->model.layers[nl - 1], cfg->model.name, model_conv_count(m));
      blame = B_LAYERS;
    }
    if (!rc) {
      plan_key(cfg, key);
      if (!have_last || memcmp(key, last, sizeof *key) != 0) {
        rc = run_plan_check(cfg, m, &blame, &klass, &e);
        if (rc == COD_ENOMEM) blame = NULL;
        own = rc == COD_EINVAL; /* a trace file that cannot be read is no point's fault */
        memcpy(last, key, sizeof *key), have_last = !rc;
      }
    }
    if (!rc) continue;
    cod_err full = e;
    if (blame) run_scenario_point_blame(sc, p, blame, klass, rc, e.msg, &full);
    if (own && rc == COD_EINVAL) {
      rc = add_skip(pl, p, RUN_POINT_INFEASIBLE, 0, full.msg, err);
    } else if (err) {
      *err = full;
    }
  }
  model_free(m);
  cod_free(cfg);
  if (!rc) rc = find_duplicates(sc, pl, err);
  if (!rc && pl->n_skips > 1) qsort(pl->skips, pl->n_skips, sizeof *pl->skips, by_point);
  for (size_t p = 0; p < np && !rc; p++) /* bounded by RUN_SWEEP_MAX_RUNS above */
    if (pl->state[p] == RUN_POINT_RUN) pl->n_runs += trials[p];
  cod_free(trials);
  return rc;
}

void run_plan_sweep_fini(run_sweep_plan *pl) {
  if (!pl) return;
  for (size_t i = 0; i < pl->n_skips; i++) cod_free(pl->skips[i].reason);
  cod_free(pl->skips);
  cod_free(pl->state);
  memset(pl, 0, sizeof *pl);
}

int run_plan_sweep_refusal(const run_sweep_plan *pl, cod_err *err) {
  const run_point_skip *first = NULL;
  for (size_t i = 0; i < pl->n_skips && !first; i++)
    if (pl->skips[i].state == RUN_POINT_INFEASIBLE) first = &pl->skips[i];
  if (!first) return COD_OK;
  if (pl->skip_infeasible) {
    if (pl->n_skips < pl->n_points) return COD_OK;
    return cod_err_set(err, COD_EINVAL, "every one of the %zu points is infeasible or a "
                       "duplicate, nothing to run; the first: %.300s", pl->n_points,
                       first->reason);
  }
  if (pl->n_infeasible == 1) return cod_err_set(err, COD_EINVAL, "%s", first->reason);
  return cod_err_set(err, COD_EINVAL, "%.300s; and %zu more of the %zu points are infeasible "
                     "(nothing was run; [sweep] skip = infeasible runs the other %zu)",
                     first->reason, pl->n_infeasible - 1, pl->n_points,
                     pl->n_points - pl->n_infeasible);
}
