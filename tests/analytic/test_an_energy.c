/* test_an_energy.c: whole-model storage and energy, analytic model against the simulator.
 *
 * Storage: a run with [cluster] storage = whole-model writes per layer the need of
 * runner/run_storage.h and per run the whole-model bytes; both must equal the analytic
 * formula (an_storage_whole_model_bytes over an_costs_compute of each layer's code)
 * exactly, over the four built-in models, several schemes and both operand sizes.
 * Energy: with deterministic workers and a fair master NIC the protocol is a fixed chain,
 * so the energy summed from the simulated rows (runner/run_energy.c) must equal
 * an_energy_layer of the analytic costs and latency. The only difference allowed is the
 * engine's nanosecond grid: each layer's time is exact to 1e-8 s (test_analytic.c's
 * deterministic test), so a device of power P is off by at most P * 1e-8 J per layer, and
 * the bound used is (n + 1) * P_max * 1e-8 per layer plus 1e-12 relative (summation
 * order). Energy parameters are drawn from a seeded generator, never round numbers.
 */
#include <criterion/criterion.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "an_energy.h"
#include "an_model.h"
#include "cod_status.h"
#include "model.h"
#include "run_config.h"
#include "run_exec.h"

#define MAXL 64

static void set(run_config *c, const char *k, const char *v) {
  cod_err e = {0};
  cr_assert_eq(run_config_set(c, k, v, &e), COD_OK, "%s=%s: %s", k, v, e.msg);
}

static void setr(run_config *c, const char *k, double v) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.17g", v);
  set(c, k, buf);
}

static void cfg_model(run_config *c, const char *mname, const char *scheme, size_t n,
                      size_t ka, size_t kb) {
  run_config_defaults(c);
  set(c, "run.compute", "model");
  set(c, "model.name", mname);
  set(c, "coding.scheme", scheme);
  setr(c, "cluster.workers", (double)n);
  setr(c, "coding.ka", (double)ka);
  setr(c, "coding.kb", (double)kb);
}

static void run_ok(run_config *c, run_assets **cache, run_result *r) {
  cod_err e = {0};
  run_ident id = {"t.ini", "0000000000000000", "{}", 0, 0};
  cr_assert_eq(run_config_validate(c, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(run_execute(c, &id, cache, r, &e), COD_OK, "%s", e.msg);
}

static size_t geoms(const char *mname, cod_conv_geom *g) {
  size_t n = 0;
  cod_err e = {0};
  cr_assert_eq(an_model_convs(mname, g, NULL, 0, MAXL, &n, &e), COD_OK, "%s", e.msg);
  return n;
}

/* ---- storage ------------------------------------------------------------------------ */

static void whole_model(const char *mname, const char *scheme, size_t n, size_t ka, size_t kb,
                        const char *precision) {
  run_config c;
  cfg_model(&c, mname, scheme, n, ka, kb);
  set(&c, "cluster.storage", "whole-model");
  set(&c, "run.precision", precision);
  run_assets *cache = NULL;
  run_result r;
  run_ok(&c, &cache, &r);
  cod_conv_geom g[MAXL];
  size_t nl = geoms(mname, g);
  cr_assert_eq(r.n_layers, nl);
  an_costs ac[MAXL];
  double filters = 0, slab = 0;
  for (size_t i = 0; i < nl; i++) {
    const res_layer_row *L = &r.layers[i];
    an_code_params p = {scheme, n, (size_t)L->ka, (size_t)L->kb, 0, COD_AXIS_ROWS,
                        run_precision_operand_bytes(c.run.precision)};
    cod_err e = {0};
    cr_assert_eq(an_costs_compute(&g[i], &p, &ac[i], &e), COD_OK, "%s", e.msg);
    filters += ac[i].filter_bytes;
    slab = fmax(slab, ac[i].input_bytes);
    cr_expect_eq(L->storage_need_bytes, filters + slab, "%s %s layer %zu: need %.0f, analytic %.0f",
                 mname, scheme, i, L->storage_need_bytes, filters + slab);
    cr_expect(isnan(L->storage_overflow_bytes), "unlimited storage never overflows");
  }
  double an = an_storage_whole_model_bytes(ac, nl);
  cr_expect_eq(an, filters + slab);
  cr_expect_eq(r.run.storage_model_bytes, an, "%s %s: simulator %.0f, analytic %.0f", mname,
               scheme, r.run.storage_model_bytes, an);
  cr_expect_eq(r.run.an_storage_model_bytes, an);
  cr_expect_eq(r.run.storage_overflow_layer, RES_NULL_INT);
  /* more than any one layer's assignment, less than the sum of them (the slabs are shared) */
  double per_layer_sum = 0, per_layer_max = 0;
  for (size_t i = 0; i < nl; i++) {
    per_layer_sum += ac[i].storage_bytes;
    per_layer_max = fmax(per_layer_max, ac[i].storage_bytes);
  }
  cr_expect(an >= per_layer_max && (nl == 1 || an < per_layer_sum));
  run_result_fini(&r);
  run_assets_free(cache);
}

Test(storage, whole_model_bytes_equal_analytic) {
  const char *models[] = {"lenet5", "alexnet", "vgg16", "resnet18"};
  for (size_t m = 0; m < 4; m++) {
    whole_model(models[m], "nsctc-rot", 20, 4, 4, "fp64");
    whole_model(models[m], "poly-cheb", 12, 2, 5, "fp32");
    whole_model(models[m], "nsctc-cir", 11, 1, 5, "fp32");
    whole_model(models[m], "replication", 20, 5, 2, "fp64");
  }
}

Test(storage, whole_model_of_no_layers_is_zero) {
  cr_expect_eq(an_storage_whole_model_bytes(NULL, 0), 0.0);
}

/* ---- energy ------------------------------------------------------------------------- */

static double unif(gsl_rng *r, double lo, double hi) { return lo + (hi - lo) * gsl_rng_uniform(r); }

static void draw_power(gsl_rng *r, run_config *c, const char *sec, an_power *p) {
  char k[64];
  p->j_per_flop = unif(r, 1e-11, 1e-10);
  p->j_per_byte_sent = unif(r, 1e-8, 1e-7);
  p->j_per_byte_recv = unif(r, 1e-8, 1e-7);
  p->idle_w = unif(r, 0.1, 2);
  p->busy_w = unif(r, 2, 40);
  snprintf(k, sizeof k, "%s.j_per_flop", sec), setr(c, k, p->j_per_flop);
  snprintf(k, sizeof k, "%s.j_per_byte_sent", sec), setr(c, k, p->j_per_byte_sent);
  snprintf(k, sizeof k, "%s.j_per_byte_recv", sec), setr(c, k, p->j_per_byte_recv);
  snprintf(k, sizeof k, "%s.idle_w", sec), setr(c, k, p->idle_w);
  snprintf(k, sizeof k, "%s.busy_w", sec), setr(c, k, p->busy_w);
}

/* The FLOPs the master runs itself: every layer but the (all selected) convs, at 2 MACs
 * each, a layer without MACs costing its output size (the runner's rule, docs/analytic.md). */
static double own_flops(const char *name) {
  model *m = NULL;
  cod_err e = {0};
  cr_assert_eq(model_lookup(name, &m, &e), COD_OK, "%s", e.msg);
  double macs = 0;
  for (size_t i = 0; i < model_layer_count(m); i++) {
    const model_layer *L = model_layer_get(m, i);
    if (L->kind == MODEL_CONV) continue;
    macs += L->macs > 0 ? L->macs : (double)(L->out.c * L->out.h * L->out.w);
  }
  model_free(m);
  return 2.0 * macs;
}

static void deterministic_energy(unsigned long seed, const char *scheme, size_t n, size_t ka,
                                 size_t kb, const char *master_bps, const char *lat_s) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, seed);
  run_config c;
  cfg_model(&c, "alexnet", scheme, n, ka, kb);
  set(&c, "latency.model", "deterministic");
  set(&c, "network.master_bps", master_bps);
  set(&c, "network.latency_s", lat_s);
  an_power w, m;
  draw_power(rng, &c, "cluster", &w);
  draw_power(rng, &c, "master", &m);
  gsl_rng_free(rng);
  run_assets *cache = NULL;
  run_result r;
  run_ok(&c, &cache, &r);
  cr_assert_str_eq(r.run.status, "ok");
  cod_conv_geom g[MAXL];
  size_t nl = geoms("alexnet", g);
  an_cluster cl;
  cr_assert(run_config_an_cluster(&c, &cl));
  const double pmax = fmax(fmax(w.busy_w, w.idle_w), fmax(m.busy_w, m.idle_w));
  const double tol_layer = (double)(n + 1) * pmax * 1e-8;
  double an_total = 0, an_windows = 0;
  for (size_t i = 0; i < nl; i++) {
    const res_layer_row *L = &r.layers[i];
    an_code_params p = {scheme, n, (size_t)L->ka, (size_t)L->kb, 0, COD_AXIS_ROWS, 8};
    an_costs ac;
    an_latency al;
    an_energy ae;
    cod_err e = {0};
    cr_assert_eq(an_costs_compute(&g[i], &p, &ac, &e), COD_OK, "%s", e.msg);
    cr_assert_eq(an_latency_expected(&ac, &p, &cl, &al, &e), COD_OK, "%s", e.msg);
    cr_assert_eq(an_energy_layer(&ac, &p, &cl, &al, &w, &m, &ae, &e), COD_OK, "%s", e.msg);
    double sim = L->energy_workers_j + L->energy_master_j;
    double tol = tol_layer + 1e-12 * ae.total_j;
    cr_expect(fabs(sim - ae.total_j) <= tol, "%s layer %zu: simulated %.15g J, analytic %.15g J "
              "(tolerance %.3g)", scheme, i, sim, ae.total_j, tol);
    cr_expect(fabs(L->energy_master_j - ae.master_j) <= tol, "%s layer %zu master: %.15g vs %.15g",
              scheme, i, L->energy_master_j, ae.master_j);
    cr_expect_eq(L->an_energy_j, ae.total_j, "the runner stores the analytic energy");
    /* every worker alike: its row against the one-worker closed form */
    for (size_t j = 0; j < r.n_workers; j++)
      if (r.workers[j].layer_index == L->layer_index)
        cr_expect(fabs(r.workers[j].energy_j - ae.worker_j) <= pmax * 1e-8 + 1e-12 * ae.worker_j,
                  "%s layer %zu worker %lld: %.15g vs %.15g", scheme, i,
                  (long long)r.workers[j].worker, r.workers[j].energy_j, ae.worker_j);
    an_total += ae.total_j, an_windows += al.total_s;
  }
  /* per inference: the layers plus the master's own layers with the workers idle */
  double own = own_flops("alexnet");
  an_total += an_energy_master_own_j(own, c.master.master_flops, n, &w, &m);
  double tol = (double)(nl + 4) * tol_layer + 1e-12 * an_total;
  cr_expect(fabs(r.run.energy_j - an_total) <= tol, "%s run: simulated %.15g J, analytic %.15g J",
            scheme, r.run.energy_j, an_total);
  cr_expect(fabs(r.run.latency_s - an_windows - own / c.master.master_flops) <= (double)(nl + 4) * 1e-8);
  cr_expect_eq(r.run.energy_j, r.run.energy_workers_j + r.run.energy_master_j);
  run_result_fini(&r);
  run_assets_free(cache);
}

Test(energy, deterministic_equals_analytic) {
  deterministic_energy(11, "nsctc-rot", 20, 4, 4, "1e10", "0");
  deterministic_energy(12, "nsctc-rot", 20, 2, 5, "2e9", "1e-4");
  deterministic_energy(13, "poly-cheb", 12, 2, 5, "unlimited", "3e-5");
  deterministic_energy(14, "uncoded", 20, 4, 5, "1e9", "0");
  deterministic_energy(15, "replication", 20, 5, 2, "1e10", "0");
  deterministic_energy(16, "nsctc-cir", 13, 1, 4, "1e10", "2e-6");
}

/* the closed form itself, on numbers worked by hand */
Test(energy, closed_form_by_hand) {
  an_costs c;
  memset(&c, 0, sizeof c);
  c.worker_flops = 3e9, c.upload_bytes = 1000, c.download_bytes = 200;
  c.encode_flops = 5e8, c.decode_flops = 1e8;
  an_code_params p = {"nsctc-rot", 4, 1, 1, 0, COD_AXIS_ROWS, 8};
  an_cluster cl;
  memset(&cl, 0, sizeof cl);
  cl.compute_rate_flops = 1e9, cl.master_fair = 1;
  cl.lat.kind = SIM_LAT_DETERMINISTIC;
  an_latency lat = {0.25, 0.5, 3.0, 0.125, 0.125, 4.0, 3};
  an_power w = {1e-9, 2e-3, 1e-3, 0.5, 3.0}, m = {2e-9, 1e-3, 4e-3, 7.0, 20.0};
  an_energy e;
  cr_assert_eq(an_energy_layer(&c, &p, &cl, &lat, &w, &m, &e, NULL), COD_OK);
  /* worker: 3 W x 3 s + 0.5 W x 1 s + 3 J + 0.4 J + 1 J = 13.9 J */
  cr_expect_float_eq(e.worker_j, 13.9, 1e-12);
  cr_expect_float_eq(e.workers_j, 4 * 13.9, 1e-12);
  /* master: 20 W x 0.375 s + 7 W x 3.625 s + 1.2 J + 4 J + 3.2 J = 41.275 J */
  cr_expect_float_eq(e.master_j, 41.275, 1e-12);
  cr_expect_float_eq(e.total_j, 4 * 13.9 + 41.275, 1e-12);
  /* 2e9 own flops at 1e9: 2 s busy master (40 J + 4 J) and 4 idle workers (4 J) */
  cr_expect_float_eq(an_energy_master_own_j(2e9, 1e9, 4, &w, &m), 48.0, 1e-12);
}

Test(energy, error_paths) {
  an_costs c;
  memset(&c, 0, sizeof c);
  c.worker_flops = 1e6;
  an_code_params p = {"nsctc-rot", 4, 1, 1, 0, COD_AXIS_ROWS, 8};
  an_cluster cl;
  memset(&cl, 0, sizeof cl);
  cl.compute_rate_flops = 1e9, cl.master_fair = 1;
  cl.lat.kind = SIM_LAT_DETERMINISTIC;
  an_latency lat = {0, 0, 0, 0, 0, 1.0, 3};
  an_power ok = {0, 0, 0, 1, 1}, neg = {0, -1e-9, 0, 1, 1}, inf = {0, 0, 0, INFINITY, 1};
  an_energy e = {-1, -1, -1, -1};
  cod_err err = {0};
  cr_expect_eq(an_energy_layer(&c, &p, &cl, &lat, &neg, &ok, &e, &err), COD_EINVAL);
  cr_expect(strstr(err.msg, ">= 0") != NULL, "%s", err.msg);
  cr_expect_eq(an_energy_layer(&c, &p, &cl, &lat, &ok, &inf, &e, NULL), COD_EINVAL);
  cl.lat.kind = SIM_LAT_SHIFTED_EXP;
  cr_expect_eq(an_energy_layer(&c, &p, &cl, &lat, &ok, &ok, &e, &err), COD_ENODATA);
  cr_expect(strstr(err.msg, "shifted-exp") != NULL, "%s", err.msg);
  cl.lat.kind = SIM_LAT_DETERMINISTIC, cl.master_fair = 0;
  cr_expect_eq(an_energy_layer(&c, &p, &cl, &lat, &ok, &ok, &e, &err), COD_ENODATA);
  cl.master_fair = 1;
  lat.total_s = INFINITY;
  cr_expect_eq(an_energy_layer(&c, &p, &cl, &lat, &ok, &ok, &e, NULL), COD_EINVAL);
  cl.compute_rate_flops = 0, lat.total_s = 1;
  cr_expect_eq(an_energy_layer(&c, &p, &cl, &lat, &ok, &ok, &e, NULL), COD_EINVAL);
  cr_expect_eq(e.total_j, -1, "*out untouched on error");
}
