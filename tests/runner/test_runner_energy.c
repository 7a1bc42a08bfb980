/* test_runner_energy.c: the storage check and the energy rows of whole runs (suite unit).
 *
 * Storage: the capacities are drawn (seeded) between two layers' whole-model needs, read
 * from an unlimited run of the same code, so the expected overflowing layer and its
 * overflow follow from the scenario, not from a stored result; on_storage = repartition
 * keeps a configured split that fits and changes one that does not, against the pairs
 * run_code_choose itself ranks. Energy: rows are checked against the formula of
 * runner/run_energy.h re-derived here from each row's own fields, against constant-power
 * identities (busy_w = idle_w makes every device's energy power x time, whatever its busy
 * times), and against a run without energy (same times). Every run is model-only.
 */
#include <criterion/criterion.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cod_alloc.h"
#include "cod_code.h"
#include "cod_status.h"
#include "model.h"
#include "run_config.h"
#include "run_exec.h"
#include "run_scenario.h"

static void set(run_config *c, const char *k, const char *v) {
  cod_err e = {0};
  cr_assert_eq(run_config_set(c, k, v, &e), COD_OK, "%s=%s: %s", k, v, e.msg);
}

static void setr(run_config *c, const char *k, double v) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.17g", v);
  set(c, k, buf);
}

static void cfg_base(run_config *c, const char *mname, size_t n, size_t ka, size_t kb) {
  run_config_defaults(c);
  set(c, "run.compute", "model");
  set(c, "model.name", mname);
  setr(c, "cluster.workers", (double)n);
  setr(c, "coding.ka", (double)ka);
  setr(c, "coding.kb", (double)kb);
}

static void run_ok(run_config *c, size_t trial, run_result *r) {
  cod_err e = {0};
  run_ident id = {"t.ini", "0000000000000000", "{}", 0, trial};
  run_assets *cache = NULL;
  cr_assert_eq(run_config_validate(c, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(run_execute(c, &id, &cache, r, &e), COD_OK, "%s", e.msg);
  run_assets_free(cache);
}

static double unif(gsl_rng *r, double lo, double hi) { return lo + (hi - lo) * gsl_rng_uniform(r); }

/* The whole-model needs of alexnet's five convs under nsctc-rot 2 x 2 on n workers. */
static void needs(size_t n, double *need) {
  run_config c;
  cfg_base(&c, "alexnet", n, 2, 2);
  set(&c, "cluster.storage", "whole-model");
  run_result r;
  run_ok(&c, 0, &r);
  cr_assert_eq(r.n_layers, 5);
  for (size_t i = 0; i < 5; i++) {
    need[i] = r.layers[i].storage_need_bytes;
    cr_assert(isfinite(need[i]) && (i == 0 || need[i] > need[i - 1]), "needs grow");
  }
  cr_expect_eq(r.run.storage_model_bytes, need[4]);
  run_result_fini(&r);
}

static size_t count_status(const run_result *r, int64_t layer, const char *status) {
  size_t k = 0;
  for (size_t j = 0; j < r->n_workers; j++)
    k += r->workers[j].layer_index == layer && strcmp(r->workers[j].status, status) == 0;
  return k;
}

/* ---- storage ------------------------------------------------------------------------ */

Test(storage, whole_model_overflows_at_the_first_layer_over_capacity) {
  gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(g, 41);
  double need[5];
  needs(6, need);
  for (size_t k = 1; k < 5; k++) { /* layers 0..k-1 fit, layer k does not */
    double cap = floor(need[k - 1] + unif(g, 0.05, 0.95) * (need[k] - need[k - 1]));
    run_config c;
    cfg_base(&c, "alexnet", 6, 2, 2);
    set(&c, "cluster.storage", "whole-model");
    setr(&c, "cluster.storage_bytes", cap);
    run_result r;
    run_ok(&c, 0, &r);
    cr_expect_str_eq(r.run.status, "infeasible: storage");
    cr_expect_eq(r.run.storage_overflow_layer, (int64_t)k);
    cr_expect_eq(r.run.storage_overflow_bytes, need[k] - cap);
    cr_assert_eq(r.n_layers, k + 1, "the run stops at the overflowing layer");
    for (size_t i = 0; i < k; i++) {
      cr_expect_str_eq(r.layers[i].status, "ok");
      cr_expect(isnan(r.layers[i].storage_overflow_bytes));
      cr_expect_eq(count_status(&r, (int64_t)i, "refused"), 0);
    }
    cr_expect_str_eq(r.layers[k].status, "infeasible: storage");
    cr_expect_eq(r.layers[k].storage_overflow_bytes, need[k] - cap);
    cr_expect_eq(count_status(&r, (int64_t)k, "refused"), 6);
    run_result_fini(&r);
    /* the per-layer check of the same capacity asks less: the layer's own assignment */
    cfg_base(&c, "alexnet", 6, 2, 2);
    setr(&c, "cluster.storage_bytes", cap);
    run_ok(&c, 0, &r);
    cr_expect(r.n_layers > k || strcmp(r.run.status, "ok") != 0);
    cr_expect(isnan(r.run.storage_model_bytes), "per-layer runs have no whole-model bytes");
    for (size_t i = 0; i < r.n_layers; i++) cr_expect(isnan(r.layers[i].storage_need_bytes));
    run_result_fini(&r);
  }
  gsl_rng_free(g);
}

/* Two small workers (a class) drop out from the overflowing layer on; the other four still
 * decode (delta = 4), so the run is ok and only records the overflow. */
Test(storage, small_class_refuses_from_its_overflow_on) {
  double need[5];
  needs(6, need);
  double cap = floor(0.5 * (need[1] + need[2]));
  run_config c;
  cfg_base(&c, "alexnet", 6, 2, 2);
  set(&c, "cluster.storage", "whole-model");
  run_scenario *sc = NULL;
  cod_err e = {0};
  char text[512];
  snprintf(text, sizeof text,
           "[run]\ncompute = model\n[coding]\nka = 2\nkb = 2\n[cluster]\nworkers = 6\n"
           "storage = whole-model\n[class small]\ncount = 2\nstorage_bytes = %.17g\n", cap);
  cr_assert_eq(run_scenario_parse(text, strlen(text), "s.ini", &sc, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(run_scenario_point(sc, 0, &c, &e), COD_OK, "%s", e.msg);
  run_scenario_free(sc);
  run_result r;
  run_ok(&c, 0, &r);
  cr_expect_str_eq(r.run.status, "ok");
  cr_expect_eq(r.run.storage_overflow_layer, 2);
  cr_expect_eq(r.run.storage_overflow_bytes, need[2] - cap);
  for (size_t j = 0; j < r.n_workers; j++) {
    const res_worker_row *w = &r.workers[j];
    int refused = strcmp(w->status, "refused") == 0;
    cr_expect_eq(refused, w->worker < 2 && w->layer_index >= 2, "worker %lld layer %lld: %s",
                 (long long)w->worker, (long long)w->layer_index, w->status);
  }
  run_result_fini(&r);
}

/* The pair run_code_choose ranks first for `auto` at delta = 4 on conv ci of alexnet. */
static void auto_pair(size_t ci, size_t *ka, size_t *kb, double *bytes_best, double *bytes_22) {
  model *m = NULL;
  cod_err e = {0};
  cr_assert_eq(model_lookup("alexnet", &m, &e), COD_OK);
  cod_conv_geom g = model_conv_geom(m, ci);
  run_config c;
  cfg_base(&c, "alexnet", 6, 2, 2);
  set(&c, "coding.ka", "auto");
  set(&c, "coding.kb", "auto");
  set(&c, "coding.delta", "4");
  cod_code *code = NULL;
  cr_assert_eq(run_code_choose(&c, &g, &code, &e), COD_OK, "%s", e.msg);
  *ka = cod_code_ka(code), *kb = cod_code_kb(code);
  *bytes_best = (double)((cod_code_worker_input_len(code) + cod_code_worker_filter_len(code)) * 8);
  cod_code_free(code);
  cfg_base(&c, "alexnet", 6, 2, 2);
  cr_assert_eq(run_code_choose(&c, &g, &code, &e), COD_OK, "%s", e.msg);
  *bytes_22 = (double)((cod_code_worker_input_len(code) + cod_code_worker_filter_len(code)) * 8);
  cod_code_free(code);
  model_free(m);
}

Test(storage, repartition_keeps_a_split_that_fits) {
  size_t moved = 0;
  for (size_t ci = 0; ci < 5; ci++) {
    size_t a, b;
    double best, b22;
    auto_pair(ci, &a, &b, &best, &b22);
    moved += a != 2;
  }
  cr_assert(moved > 0, "some layer's least-upload pair is not 2 x 2 (else this proves nothing)");
  const char *modes[] = {"per-layer", "whole-model"};
  for (int mi = 0; mi < 2; mi++) {
    run_config c;
    cfg_base(&c, "alexnet", 6, 2, 2);
    set(&c, "cluster.on_storage", "repartition");
    set(&c, "cluster.storage_bytes", "1e15"); /* finite, far above any need */
    set(&c, "cluster.storage", modes[mi]);
    run_result r;
    run_ok(&c, 0, &r);
    for (size_t i = 0; i < r.n_layers; i++)
      cr_expect(r.layers[i].ka == 2 && r.layers[i].kb == 2, "%s layer %zu moved to %lld x %lld",
                modes[mi], i, (long long)r.layers[i].ka, (long long)r.layers[i].kb);
    run_result_fini(&r);
  }
}

Test(storage, repartition_changes_a_split_that_does_not_fit) {
  gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(g, 43);
  size_t tested = 0;
  for (size_t ci = 0; ci < 5; ci++) {
    size_t a, b;
    double best, b22;
    auto_pair(ci, &a, &b, &best, &b22);
    if (!(best < b22)) continue;
    double cap = floor(best + unif(g, 0.05, 0.95) * (b22 - best));
    run_config c;
    cfg_base(&c, "alexnet", 6, 2, 2);
    char layer[8];
    snprintf(layer, sizeof layer, "%zu", ci + 1);
    set(&c, "model.layers", layer);
    setr(&c, "cluster.storage_bytes", cap);
    run_result r;
    run_ok(&c, 0, &r); /* fail: 2 x 2 does not fit */
    cr_expect_str_eq(r.run.status, "infeasible: storage");
    cr_expect_eq(r.run.storage_overflow_layer, (int64_t)ci);
    cr_expect_eq(r.run.storage_overflow_bytes, b22 - cap);
    run_result_fini(&r);
    set(&c, "cluster.on_storage", "repartition");
    run_ok(&c, 0, &r);
    cr_expect_str_eq(r.run.status, "ok");
    cr_expect(r.layers[0].ka == (int64_t)a && r.layers[0].kb == (int64_t)b);
    cr_expect_eq(count_status(&r, (int64_t)ci, "refused"), 0);
    cr_expect_eq(r.run.storage_overflow_layer, RES_NULL_INT);
    run_result_fini(&r);
    tested++;
  }
  cr_assert(tested > 0);
  gsl_rng_free(g);
}

/* whole-model + repartition: the pair is chosen against the cumulative need */
Test(storage, whole_model_repartition_fits_the_cumulative_need) {
  double need[5];
  needs(6, need);
  run_config c;
  cfg_base(&c, "alexnet", 6, 2, 2);
  set(&c, "cluster.storage", "whole-model");
  set(&c, "cluster.on_storage", "repartition");
  setr(&c, "cluster.storage_bytes", floor(0.999 * need[4]));
  run_result r;
  run_ok(&c, 0, &r);
  /* whatever pairs it picked, every layer that ran within capacity is within it */
  for (size_t i = 0; i < r.n_layers; i++)
    if (isnan(r.layers[i].storage_overflow_bytes))
      cr_expect(r.layers[i].storage_need_bytes <= floor(0.999 * need[4]));
  cr_expect(strcmp(r.run.status, "ok") == 0 || r.run.storage_overflow_layer >= 0);
  int changed = 0;
  for (size_t i = 0; i < r.n_layers; i++) changed |= r.layers[i].ka != 2;
  cr_expect(changed || strcmp(r.run.status, "ok") != 0,
            "the 2 x 2 plan does not fit, so some layer had to change or overflow");
  run_result_fini(&r);
}

/* ---- storage under proportional allocation ------------------------------------------
 *
 * Six workers, two of them 4x faster, alexnet's five convs coded for 14 tasks (nsctc-rot
 * 2 x 2): the shares 14 x 4/12 and 14 x 1/12 round (largest remainder, counted here) to 5
 * tasks for each fast worker and 1 for the others, so a fast worker stores five tasks'
 * coded filters of every layer and five slabs. The per-task bytes come from coding/'s own
 * code lengths (cod_code_worker_*_len of the code planned for 14 tasks), the per-worker
 * count is done here; the runner's plan must agree. */

#define PROP_N 6
#define PROP_TASKS 14

static void prop_cfg(run_config *c, const char *extra) {
  char text[768];
  snprintf(text, sizeof text,
           "[run]\ncompute = model\n[model]\nname = alexnet\n[coding]\nka = 2\nkb = 2\n"
           "[cluster]\nworkers = %d\ncompute_rate_flops = 3e8\nallocation = proportional\n"
           "tasks = %d\n%s"
           "[class fast]\ncount = 2\ncompute_rate_flops = 1.2e9\n",
           PROP_N, PROP_TASKS, extra);
  run_scenario *sc = NULL;
  cod_err e = {0};
  cr_assert_eq(run_scenario_parse(text, strlen(text), "p.ini", &sc, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(run_scenario_point(sc, 0, c, &e), COD_OK, "%s", e.msg);
  run_scenario_free(sc);
}

/* Tasks per worker by a largest-remainder count of the shares (workers 0, 1 are fast). */
static void prop_tasks(size_t *m) {
  double share[PROP_N], sum = 0;
  for (size_t j = 0; j < PROP_N; j++) sum += share[j] = j < 2 ? 4.0 : 1.0;
  size_t given = 0;
  for (size_t j = 0; j < PROP_N; j++) given += m[j] = (size_t)floor(PROP_TASKS * share[j] / sum);
  while (given < PROP_TASKS) { /* one more to the largest remainder, lowest index first */
    size_t best = 0;
    double rbest = -1;
    for (size_t j = 0; j < PROP_N; j++) {
      double r = PROP_TASKS * share[j] / sum - (double)m[j];
      if (r > rbest + 1e-12) best = j, rbest = r;
    }
    m[best]++, given++;
  }
}

/* One task's per-conv coded filter and slab bytes (fp64) of the code the run plans. */
static void task_bytes(double *filt, double *slab) {
  model *m = NULL;
  cod_err e = {0};
  cr_assert_eq(model_lookup("alexnet", &m, &e), COD_OK);
  run_config c;
  prop_cfg(&c, "");
  for (size_t ci = 0; ci < 5; ci++) {
    cod_conv_geom g = model_conv_geom(m, ci);
    cod_code *code = NULL;
    cr_assert_eq(run_code_choose(&c, &g, &code, &e), COD_OK, "%s", e.msg);
    cr_assert_eq(cod_code_workers(code), PROP_TASKS, "the code is planned for the tasks");
    filt[ci] = (double)(cod_code_worker_filter_len(code) * 8);
    slab[ci] = (double)(cod_code_worker_input_len(code) * 8);
    cod_code_free(code);
  }
  model_free(m);
}

Test(storage, whole_model_counts_every_task_a_worker_holds) {
  size_t m[PROP_N];
  prop_tasks(m);
  cr_assert(m[0] > 1 && m[0] > m[PROP_N - 1], "the fast workers hold several tasks");
  double filt[5], slab[5], task_need[5], f = 0, s = 0;
  task_bytes(filt, slab);
  for (size_t i = 0; i < 5; i++) f += filt[i], s = fmax(s, slab[i]), task_need[i] = f + s;
  /* unlimited: the rows' needs are the most-loaded worker's */
  run_config c;
  prop_cfg(&c, "storage = whole-model\n");
  run_result r;
  run_ok(&c, 0, &r);
  cr_assert_eq(r.n_layers, 5);
  for (size_t i = 0; i < 5; i++) {
    cr_expect_eq(r.layers[i].storage_need_bytes, (double)m[0] * task_need[i], "layer %zu", i);
    cr_expect(isnan(r.layers[i].storage_overflow_bytes));
  }
  cr_expect_eq(r.run.storage_model_bytes, (double)m[0] * task_need[4]);
  cr_expect_float_eq(r.run.an_storage_model_bytes, r.run.storage_model_bytes,
                     1e-12 * r.run.storage_model_bytes, "analytic %.17g against %.17g",
                     r.run.an_storage_model_bytes, r.run.storage_model_bytes);
  run_result_fini(&r);
  /* a storage that one task's whole-model share fits, but a fast worker's share of layer
   * k does not: the fast workers refuse from k on, the others never */
  gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(g, 47);
  size_t tested = 0;
  for (size_t k = 1; k < 5; k++) {
    double lo = fmax((double)m[0] * task_need[k - 1], (double)m[PROP_N - 1] * task_need[4]);
    double hi = (double)m[0] * task_need[k];
    if (!(lo + 2 < hi)) continue;
    double cap = floor(lo + unif(g, 0.05, 0.95) * (hi - lo));
    char extra[128];
    snprintf(extra, sizeof extra, "storage = whole-model\nstorage_bytes = %.17g\n", cap);
    prop_cfg(&c, extra);
    run_ok(&c, 0, &r);
    cr_expect_eq(r.run.storage_overflow_layer, (int64_t)k);
    cr_expect_eq(r.run.storage_overflow_bytes, hi - cap);
    cr_expect_eq(r.layers[k].storage_overflow_bytes, hi - cap);
    for (size_t j = 0; j < r.n_workers; j++) {
      const res_worker_row *w = &r.workers[j];
      int refused = strcmp(w->status, "refused") == 0;
      cr_expect_eq(refused, m[w->worker] * task_need[w->layer_index] > cap,
                   "cap %.0f worker %lld (%zu tasks) layer %lld: %s", cap, (long long)w->worker,
                   m[w->worker], (long long)w->layer_index, w->status);
    }
    run_result_fini(&r);
    tested++;
  }
  cr_assert(tested > 0, "no layer had a storage between the two shares");
  gsl_rng_free(g);
}

Test(storage, per_layer_counts_every_task_a_worker_holds) {
  size_t m[PROP_N];
  prop_tasks(m);
  double filt[5], slab[5];
  task_bytes(filt, slab);
  gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(g, 53);
  for (size_t ci = 0; ci < 5; ci++) { /* one task fits, a fast worker's m_0 tasks do not */
    double one = filt[ci] + slab[ci];
    double cap = floor(one + unif(g, 0.05, 0.95) * ((double)m[0] * one - one));
    char extra[128];
    snprintf(extra, sizeof extra, "storage_bytes = %.17g\n", cap);
    run_config c;
    prop_cfg(&c, extra);
    char layer[8];
    snprintf(layer, sizeof layer, "%zu", ci + 1);
    set(&c, "model.layers", layer);
    run_result r;
    run_ok(&c, 0, &r);
    cr_assert_eq(r.n_layers, 1);
    cr_expect_eq(r.layers[0].storage_overflow_bytes, (double)m[0] * one - cap, "conv %zu", ci);
    cr_expect_eq(r.run.storage_overflow_layer, (int64_t)ci);
    for (size_t j = 0; j < r.n_workers; j++)
      cr_expect_eq(strcmp(r.workers[j].status, "refused") == 0,
                   (double)m[r.workers[j].worker] * one > cap);
    run_result_fini(&r);
  }
  gsl_rng_free(g);
}

/* repartition counts a worker's tasks too: every layer run within storage fits the
 * most-loaded worker */
Test(storage, repartition_fits_the_most_loaded_worker) {
  size_t m[PROP_N];
  prop_tasks(m);
  double filt[5], slab[5], f = 0, s = 0;
  task_bytes(filt, slab);
  for (size_t i = 0; i < 5; i++) f += filt[i], s = fmax(s, slab[i]);
  double cap = floor(0.999 * (double)m[0] * (f + s)); /* 2 x 2 does not fit */
  char extra[160];
  snprintf(extra, sizeof extra, "storage = whole-model\non_storage = repartition\n"
           "storage_bytes = %.17g\n", cap);
  run_config c;
  prop_cfg(&c, extra);
  run_result r;
  run_ok(&c, 0, &r);
  int changed = 0;
  for (size_t i = 0; i < r.n_layers; i++) {
    if (isnan(r.layers[i].storage_overflow_bytes))
      cr_expect(r.layers[i].storage_need_bytes <= cap, "layer %zu: %.17g > %.17g", i,
                r.layers[i].storage_need_bytes, cap);
    changed |= r.layers[i].ka != 2;
  }
  cr_expect(changed || strcmp(r.run.status, "ok") != 0,
            "the 2 x 2 plan does not fit the fast workers, so some layer had to change");
  run_result_fini(&r);
}

static void parse_fails(const char *text, const char *want) {
  run_scenario *sc = NULL;
  cod_err e = {0};
  int st = run_scenario_parse(text, strlen(text), "bad.ini", &sc, &e);
  run_scenario_free(sc);
  cr_expect_eq(st, COD_EFORMAT, "%s: status %d", text, st);
  cr_expect(strstr(e.msg, want) != NULL, "'%s' not in '%s'", want, e.msg);
}

Test(keys, storage_and_energy_values_are_checked) {
  parse_fails("[cluster]\nstorage = whole\n", "per-layer or whole-model");
  parse_fails("[cluster]\nbusy_w = -1\n", "[cluster] busy_w");
  parse_fails("[cluster]\nidle_w = 2e12\n", "W while idle");
  parse_fails("[master]\nj_per_flop = nan\n", "J per FLOP");
  parse_fails("[master]\nj_per_byte_sent = x\n", "J per byte sent");
  parse_fails("[class a]\ncount = 1\nj_per_byte_recv = -1e-9\n", "J per byte received");
  parse_fails("[energy]\nbusy_w = 1\n", "energy");
  run_config c;
  run_config_defaults(&c);
  cr_expect_eq(c.cluster.storage, RUN_STORAGE_PER_LAYER, "the parsing default keeps old rows");
  cr_expect(c.cluster.energy.busy_w == 0 && c.master.energy.idle_w == 0);
}

/* ---- energy ------------------------------------------------------------------------- */

Test(energy, not_modelled_is_null) {
  run_config c;
  cfg_base(&c, "lenet5", 6, 2, 2);
  run_result r;
  run_ok(&c, 0, &r);
  cr_expect(isnan(r.run.energy_j) && isnan(r.run.energy_workers_j) && isnan(r.run.energy_master_j));
  for (size_t i = 0; i < r.n_layers; i++)
    cr_expect(isnan(r.layers[i].energy_workers_j) && isnan(r.layers[i].energy_master_j) &&
              isnan(r.layers[i].an_energy_j));
  size_t busy = 0;
  for (size_t j = 0; j < r.n_workers; j++) {
    cr_expect(isnan(r.workers[j].energy_j));
    busy += !isnan(r.workers[j].t_busy_s);
  }
  cr_expect_eq(busy, r.n_workers, "busy times are written whether or not energy is modelled");
  run_result_fini(&r);
}

typedef struct pw { double f, s, rv, idle, busy; } pw;

static void set_power(run_config *c, const char *sec, const pw *p) {
  char k[64];
  snprintf(k, sizeof k, "%s.j_per_flop", sec), setr(c, k, p->f);
  snprintf(k, sizeof k, "%s.j_per_byte_sent", sec), setr(c, k, p->s);
  snprintf(k, sizeof k, "%s.j_per_byte_recv", sec), setr(c, k, p->rv);
  snprintf(k, sizeof k, "%s.idle_w", sec), setr(c, k, p->idle);
  snprintf(k, sizeof k, "%s.busy_w", sec), setr(c, k, p->busy);
}

static pw draw_pw(gsl_rng *g) {
  return (pw){unif(g, 1e-11, 1e-10), unif(g, 1e-8, 1e-7), unif(g, 1e-8, 1e-7), unif(g, 0.1, 2),
              unif(g, 2, 20)};
}

/* Random stragglers (cancelled, straggler and used workers): every worker row against the
 * formula of run_energy.h from its own fields, the layer and run sums, and the same run
 * without energy has the same times. */
Test(energy, rows_follow_the_formula_under_random_stragglers) {
  gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(g, 47);
  for (size_t trial = 0; trial < 3; trial++) {
    run_config c;
    cfg_base(&c, "alexnet", 8, 2, 3);
    set(&c, "latency.rate", "0.5");
    pw w = draw_pw(g), fast = draw_pw(g), m = draw_pw(g);
    set_power(&c, "cluster", &w);
    set_power(&c, "master", &m);
    run_config plain = c;
    run_scenario *sc = NULL;
    cod_err e = {0};
    const char *cls = "[class fast]\ncount = 3\ncompute_rate_flops = 3e10\n";
    cr_assert_eq(run_scenario_parse(cls, strlen(cls), "c.ini", &sc, &e), COD_OK, "%s", e.msg);
    run_config cc;
    cr_assert_eq(run_scenario_point(sc, 0, &cc, &e), COD_OK, "%s", e.msg);
    run_scenario_free(sc);
    c.classes[0] = cc.classes[0], c.n_classes = 1;
    c.classes[0].worker.energy = (run_energy_params){fast.f, fast.s, fast.rv, fast.idle, fast.busy};
    plain.classes[0] = c.classes[0], plain.n_classes = 1;
    memset(&plain.cluster.energy, 0, sizeof plain.cluster.energy);
    memset(&plain.master.energy, 0, sizeof plain.master.energy);
    memset(&plain.classes[0].worker.energy, 0, sizeof plain.classes[0].worker.energy);
    run_result r, q;
    run_ok(&c, trial, &r);
    run_ok(&plain, trial, &q);
    cr_assert_eq(r.n_workers, q.n_workers);
    size_t statuses[3] = {0};
    double win_sum = 0, ew_run = 0, em_run = 0;
    for (size_t i = 0; i < r.n_layers; i++) {
      const res_layer_row *L = &r.layers[i];
      cr_expect_eq(L->t_total_s, q.layers[i].t_total_s, "energy changes no time");
      double T = L->t_total_s, sum = 0, sent_m = 0, recv_m = 0;
      for (size_t j = 0; j < r.n_workers; j++) {
        const res_worker_row *o = &r.workers[j];
        if (o->layer_index != L->layer_index) continue;
        cr_expect_eq(o->t_finish_s == o->t_finish_s, q.workers[j].t_finish_s == q.workers[j].t_finish_s);
        const pw *p = o->worker < 3 ? &fast : &w;
        double busy = isnan(o->t_busy_s) ? 0 : o->t_busy_s;
        cr_expect(busy >= 0 && busy <= T + 1e-9);
        double sent = o->flops > 0 ? (double)o->bytes_down : 0;
        double want = p->busy * busy + p->idle * (T - busy) + p->f * o->flops + p->s * sent +
                      p->rv * (double)o->bytes_up;
        cr_expect(fabs(o->energy_j - want) <= 1e-12 * want, "layer %zu worker %lld (%s): %.15g vs %.15g",
                  i, (long long)o->worker, o->status, o->energy_j, want);
        statuses[0] += strcmp(o->status, "used") == 0;
        statuses[1] += strcmp(o->status, "cancelled") == 0;
        statuses[2] += strcmp(o->status, "straggler") == 0;
        sum += o->energy_j, sent_m += (double)o->bytes_up, recv_m += sent;
      }
      cr_expect(fabs(L->energy_workers_j - sum) <= 1e-12 * sum);
      double mb = L->t_encode_s + L->t_decode_s;
      double lo = m.busy * mb + m.idle * (T - mb) + m.s * sent_m + m.rv * recv_m;
      cr_expect(L->energy_master_j > lo, "master: the encode/decode flops come on top");
      win_sum += T, ew_run += L->energy_workers_j, em_run += L->energy_master_j;
    }
    cr_expect(statuses[0] > 0 && statuses[1] + statuses[2] > 0, "some workers did not make it");
    double outside = r.run.latency_s - win_sum;
    double ew = ew_run + outside * (3 * fast.idle + 5 * w.idle);
    cr_expect(fabs(r.run.energy_workers_j - ew) <= 1e-12 * ew, "%.15g vs %.15g",
              r.run.energy_workers_j, ew);
    cr_expect(r.run.energy_master_j > em_run + m.idle * 0.5 * outside);
    cr_expect_eq(r.run.energy_j, r.run.energy_workers_j + r.run.energy_master_j);
    cr_expect_eq(r.run.latency_s, q.run.latency_s);
    cr_expect(isnan(q.run.energy_j));
    run_result_fini(&r);
    run_result_fini(&q);
  }
  gsl_rng_free(g);
}

/* busy_w = idle_w = P and no dynamic terms: a device's energy is P times the time, whoever
 * was cancelled when: n P latency for the workers, P_m latency for the master. */
Test(energy, constant_power_is_power_times_time) {
  gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(g, 53);
  for (size_t trial = 0; trial < 4; trial++) {
    double P = unif(g, 0.5, 5), Pm = unif(g, 5, 50);
    run_config c;
    cfg_base(&c, "alexnet", 10, 2, 4);
    set(&c, "network.master_sharing", trial % 2 ? "sequential" : "fair");
    setr(&c, "cluster.busy_w", P), setr(&c, "cluster.idle_w", P);
    setr(&c, "master.busy_w", Pm), setr(&c, "master.idle_w", Pm);
    run_result r;
    run_ok(&c, trial, &r);
    cr_assert_str_eq(r.run.status, "ok");
    for (size_t j = 0; j < r.n_workers; j++) {
      const res_layer_row *L = &r.layers[r.workers[j].layer_index];
      cr_expect(fabs(r.workers[j].energy_j - P * L->t_total_s) <= 1e-12 * P * L->t_total_s);
    }
    double T = r.run.latency_s;
    cr_expect(fabs(r.run.energy_workers_j - 10 * P * T) <= 1e-12 * 10 * P * T, "%.15g vs %.15g",
              r.run.energy_workers_j, 10 * P * T);
    cr_expect(fabs(r.run.energy_master_j - Pm * T) <= 1e-9 * Pm * T, "%.15g vs %.15g",
              r.run.energy_master_j, Pm * T);
    run_result_fini(&r);
  }
  gsl_rng_free(g);
}

/* deterministic workers compute exactly their nominal time */
Test(energy, busy_time_is_the_nominal_compute_time) {
  run_config c;
  cfg_base(&c, "alexnet", 6, 2, 2);
  set(&c, "latency.model", "deterministic");
  setr(&c, "cluster.compute_rate_flops", 7.3e9);
  run_result r;
  run_ok(&c, 0, &r);
  for (size_t j = 0; j < r.n_workers; j++) {
    double t = r.layers[r.workers[j].layer_index].an_compute_flops / 7.3e9;
    cr_expect(fabs(r.workers[j].t_busy_s - t) <= 2e-9, "%.12g vs %.12g", r.workers[j].t_busy_s, t);
  }
  run_result_fini(&r);
}

/* ---- errors --------------------------------------------------------------------------- */

/* Every allocation of a whole-model run with energy modelled (plan, rows) fails once in
 * turn: the run returns COD_ENOMEM with a message or succeeds, and leaks nothing. */
Test(errors, out_of_memory_in_a_whole_model_run) {
  run_config c;
  cfg_base(&c, "lenet5", 4, 2, 2);
  set(&c, "cluster.storage", "whole-model");
  set(&c, "cluster.busy_w", "2");
  set(&c, "master.idle_w", "1");
  cod_err e = {0};
  cr_assert_eq(run_config_validate(&c, &e), COD_OK, "%s", e.msg);
  int done = 0;
  for (long n = 0; n < 2000 && !done; n++) {
    long live0 = cod_alloc_live();
    run_assets *cache = NULL;
    run_result r;
    run_ident id = {"t.ini", "0000000000000000", "{}", 0, 0};
    memset(&e, 0, sizeof e);
    cod_alloc_fail_at(n);
    int st = run_execute(&c, &id, &cache, &r, &e);
    cod_alloc_fail_at(-1);
    if (st == COD_OK) {
      cr_expect(isfinite(r.run.energy_j) && isfinite(r.run.storage_model_bytes));
      run_result_fini(&r);
      done = 1;
    } else {
      cr_assert_eq(st, COD_ENOMEM, "n=%ld: %d %s", n, st, e.msg);
      cr_expect(strstr(e.msg, "memory") != NULL, "n=%ld: '%s'", n, e.msg);
    }
    run_assets_free(cache);
    cr_assert_eq(cod_alloc_live(), live0, "n=%ld: leaked %ld blocks", n, cod_alloc_live() - live0);
  }
  cr_assert(done, "never got past the allocations");
}

/* A plan whose layer no pair plans reports the planner's message (a config filled in by
 * code, bypassing the scenario checks: nsctc-cir coded on both sides). */
Test(errors, plan_reports_the_planner_error) {
  run_config c;
  cfg_base(&c, "lenet5", 7, 2, 2);
  set(&c, "cluster.storage", "whole-model");
  snprintf(c.coding.scheme, sizeof c.coding.scheme, "nsctc-cir");
  run_assets *cache = NULL;
  run_result r;
  cod_err e = {0};
  run_ident id = {"t.ini", "0000000000000000", "{}", 0, 0};
  long live0 = cod_alloc_live();
  int st = run_execute(&c, &id, &cache, &r, &e);
  cr_expect_eq(st, COD_EINVAL, "%d %s", st, e.msg);
  cr_expect(e.msg[0] != '\0');
  run_assets_free(cache);
  cr_expect_eq(cod_alloc_live(), live0);
}
