/* test_analytic.c: the analytic model against the simulator, and its error paths.
 *
 * The simulator's counts come from run_execute in model-only mode (no numbers, the same
 * bytes and times): every worker row's bytes must equal the analytic formulas exactly, for
 * every scheme over the conv layers of the four built-in models. The enumerated optimum is
 * checked against a brute force over simulated runs of every divisor pair; the expected
 * latency against the simulated mean of many seeded trials (tolerance from the variance
 * of the order statistic) and exactly in a deterministic cluster.
 */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "an_model.h"
#include "cod_code.h"
#include "cod_registry.h"
#include "cod_status.h"
#include "res_db.h"
#include "run_config.h"
#include "run_exec.h"
#include "run_layer.h"

/* As main() does: GSL reports failures by status (checked by the library), never aborts. */
static void __attribute__((constructor)) gsl_quiet(void) { gsl_set_error_handler_off(); }

#define MAXL 64

/* The analytic cluster of the scenario defaults (run_config_defaults). */
static an_cluster default_cluster(void) {
  run_config c;
  run_config_defaults(&c);
  an_cluster cl;
  cr_assert(run_config_an_cluster(&c, &cl), "the defaults are covered by the latency model");
  return cl;
}

static void set(run_config *c, const char *k, const char *v) {
  cod_err e = {0};
  cr_assert_eq(run_config_set(c, k, v, &e), COD_OK, "%s=%s: %s", k, v, e.msg);
}

static void setz(run_config *c, const char *k, size_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%zu", v);
  set(c, k, buf);
}

/* A model-only config. ka or kb 0 means auto. */
static void base_cfg(run_config *c, const char *model, const char *scheme, size_t n, size_t ka,
                     size_t kb, int fp32) {
  run_config_defaults(c);
  set(c, "run.compute", "model");
  set(c, "model.name", model);
  set(c, "coding.scheme", scheme);
  setz(c, "cluster.workers", n);
  if (ka) setz(c, "coding.ka", ka); else set(c, "coding.ka", "auto");
  if (kb) setz(c, "coding.kb", kb); else set(c, "coding.kb", "auto");
  set(c, "run.precision", fp32 ? "fp32" : "fp64");
}

static int run(run_config *c, size_t trial, run_assets **cache, run_result *r) {
  cod_err e = {0};
  run_ident id = {"t.ini", "0000000000000000", "{}", 0, trial};
  int rc = run_config_validate(c, &e);
  if (rc) return rc;
  rc = run_execute(c, &id, cache, r, &e);
  return rc;
}

static size_t model_geoms(const char *name, cod_conv_geom *g) {
  size_t n = 0;
  cod_err e = {0};
  cr_assert_eq(an_model_convs(name, g, NULL, 0, MAXL, &n, &e), COD_OK, "%s", e.msg);
  cr_assert(n > 0 && n <= MAXL);
  return n;
}

/* Every layer and worker row of r against the analytic costs. */
static void check_rows(const run_result *r, const run_config *c, const char *model,
                       const char *scheme) {
  cod_conv_geom g[MAXL];
  size_t nl = model_geoms(model, g);
  cr_assert_eq(r->n_layers, nl, "%s %s: %zu layer rows, %zu convs", model, scheme, r->n_layers, nl);
  size_t n = c->cluster.workers;
  cr_assert_eq(r->n_workers, nl * n);
  for (size_t i = 0; i < r->n_layers; i++) {
    const res_layer_row *L = &r->layers[i];
    an_code_params p = {scheme, n, (size_t)L->ka, (size_t)L->kb, 0, COD_AXIS_ROWS,
                        c->run.precision == RUN_FP32 ? 4 : 8};
    an_costs ac;
    cod_err e = {0};
    cr_assert_eq(an_costs_compute(&g[L->layer_index], &p, &ac, &e), COD_OK, "%s", e.msg);
    cr_assert_eq(L->delta, (int64_t)ac.delta);
    cr_expect_eq(L->an_upload_bytes, ac.upload_bytes);
    cr_expect_eq(L->an_download_bytes, ac.download_bytes);
    cr_expect_eq(L->an_storage_bytes, ac.storage_bytes);
    cr_expect_eq(L->an_compute_flops, ac.worker_flops);
    cr_expect(isfinite(L->an_latency_s) && L->an_latency_s > 0);
    size_t used = 0;
    for (size_t j = 0; j < r->n_workers; j++) {
      const res_worker_row *w = &r->workers[j];
      if (w->layer_index != L->layer_index) continue;
      cr_assert_eq((double)w->bytes_up, ac.upload_bytes, "%s %s layer %zu n=%zu %zux%zu %s: up %lld vs %.0f",
                   model, scheme, i, n, p.ka, p.kb, p.elsize == 4 ? "fp32" : "fp64",
                   (long long)w->bytes_up, ac.upload_bytes);
      cr_assert_eq((double)w->bytes_down, ac.download_bytes, "%s %s layer %zu: down %lld vs %.0f",
                   model, scheme, i, (long long)w->bytes_down, ac.download_bytes);
      cr_assert_eq((double)w->bytes_stored, ac.storage_bytes);
      if (strcmp(w->status, RES_WORKER_USED) == 0) {
        used++;
        cr_assert_eq(w->flops, ac.worker_flops, "%s %s layer %zu: flops %g vs %g", model,
                     scheme, i, w->flops, ac.worker_flops);
      }
    }
    cr_expect_eq(used, ac.delta, "%s layer %zu: %zu used, threshold %zu", scheme, i, used, ac.delta);
  }
}

typedef struct sweep_case {
  const char *scheme;
  size_t n, ka, kb; /* 0 = auto */
} sweep_case;

static const sweep_case cases[] = {
    {"nsctc-rot", 20, 4, 4}, {"nsctc-rot", 9, 2, 3},  {"nsctc-cir", 20, 1, 5},
    {"nsctc-cir", 11, 6, 1}, {"uncoded", 12, 0, 0},   {"uncoded", 20, 4, 5},
    {"replication", 20, 2, 5}, {"replication", 12, 0, 0}, {"poly-real", 20, 4, 4},
    {"poly-real", 7, 1, 5},  {"poly-cheb", 20, 5, 3}, {"poly-cheb", 16, 4, 2},
    {"rkr", 20, 4, 4},       {"rkr", 9, 3, 2}};

static void sweep_model(const char *model) {
  run_assets *cache = NULL;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    run_config c;
    base_cfg(&c, model, cases[i].scheme, cases[i].n, cases[i].ka, cases[i].kb, (int)(i % 2));
    run_result r;
    int rc = run(&c, 0, &cache, &r);
    cr_assert_eq(rc, COD_OK, "%s %s", model, cases[i].scheme);
    check_rows(&r, &c, model, cases[i].scheme);
    run_result_fini(&r);
  }
  run_assets_free(cache);
}

/* The master's encode and decode flops of the model against cod_code's for every scheme
 * with formulas, including splits on both sides of the sparse-encoding rule (nsctc-cir
 * at q = 7 stays on the GEMM, at q >= 11 takes the sparse product; uncoded and
 * replication with k = 2 and k >= 4 columns). */
Test(bytes, encode_and_decode_flops_are_the_codes) {
  static const sweep_case more[] = {
      {"nsctc-cir", 7, 1, 3}, {"nsctc-cir", 7, 4, 1}, {"nsctc-cir", 23, 1, 16},
      {"nsctc-cir", 13, 9, 1}, {"uncoded", 8, 2, 4},  {"uncoded", 6, 1, 2},
      {"replication", 16, 2, 2}, {"replication", 12, 1, 4}, {"nsctc-rot", 6, 1, 3},
      {"nsctc-rot", 12, 3, 1}};
  static const char *models[] = {"alexnet", "lenet5"};
  size_t checked = 0, sparse = 0;
  for (size_t mi = 0; mi < 2; mi++) {
    cod_conv_geom g[MAXL];
    size_t nl = model_geoms(models[mi], g);
    for (size_t i = 0; i < sizeof cases / sizeof *cases + sizeof more / sizeof *more; i++) {
      const sweep_case *k = i < sizeof cases / sizeof *cases
                                ? &cases[i] : &more[i - sizeof cases / sizeof *cases];
      if (!k->ka || !k->kb) continue; /* auto: the runner's choice, checked above */
      for (size_t l = 0; l < nl; l++) {
        cod_code_params cp = cod_code_params_default();
        cp.scheme = k->scheme, cp.n_workers = k->n, cp.ka = k->ka, cp.kb = k->kb;
        cod_code *code = NULL;
        cod_err e = {0};
        if (cod_code_new(&cp, &g[l], &code, &e) != COD_OK) continue; /* too few rows */
        an_code_params p = {k->scheme, k->n, k->ka, k->kb, 0, COD_AXIS_ROWS, 8};
        an_costs ac;
        cr_assert_eq(an_costs_compute(&g[l], &p, &ac, &e), COD_OK, "%s", e.msg);
        cr_expect_eq(ac.encode_flops, cod_code_encode_flops(code), "%s n=%zu %zux%zu %s "
                     "layer %zu: encode %.17g vs the code's %.17g", k->scheme, k->n, k->ka,
                     k->kb, models[mi], l, ac.encode_flops, cod_code_encode_flops(code));
        cr_expect_eq(ac.decode_flops, cod_code_decode_flops(code), "%s n=%zu %zux%zu: decode",
                     k->scheme, k->n, k->ka, k->kb);
        const size_t rows = k->n * cod_code_groups_per_worker(code);
        sparse += cod_encode_is_sparse(rows, (size_t)(ac.m_filt), cod_code_filter_nnz(code));
        cod_code_free(code);
        checked++;
      }
    }
  }
  cr_expect_gt(checked, 100, "only %zu codes checked", checked);
  cr_expect_gt(sparse, 10, "only %zu codes with sparse filters", sparse);
}

Test(bytes, lenet5_every_scheme) { sweep_model("lenet5"); }
Test(bytes, alexnet_every_scheme) { sweep_model("alexnet"); }
Test(bytes, vgg16_every_scheme) { sweep_model("vgg16"); }
Test(bytes, resnet18_every_scheme) { sweep_model("resnet18"); }

/* Columns axis too: the roles of H and W swap in the partition. */
Test(bytes, columns_axis) {
  run_assets *cache = NULL;
  run_config c;
  base_cfg(&c, "alexnet", "nsctc-rot", 20, 2, 8, 0);
  set(&c, "coding.axis", "cols");
  run_result r;
  cr_assert_eq(run(&c, 0, &cache, &r), COD_OK);
  cod_conv_geom g[MAXL];
  model_geoms("alexnet", g);
  for (size_t j = 0; j < r.n_workers; j++) {
    const res_worker_row *w = &r.workers[j];
    an_code_params p = {"nsctc-rot", 20, 2, 8, 0, COD_AXIS_COLS, 8};
    an_costs ac;
    cr_assert_eq(an_costs_compute(&g[w->layer_index], &p, &ac, NULL), COD_OK);
    cr_assert_eq((double)w->bytes_up, ac.upload_bytes);
    cr_assert_eq((double)w->bytes_down, ac.download_bytes);
  }
  run_result_fini(&r);
  run_assets_free(cache);
}

/* Hand-computed: AlexNet conv1 (3x224x224, 64 filters 11x11, stride 4, pad 2), nsctc-rot
 * 4x4 fp64: H' = 55, m_in = 8 slabs of h^ = 7 rows, span = 6*4+11 = 35 rows of 228;
 * 8 groups of 8 filters. Input 2*3*35*228 = 47880, filters 2*8*3*121 = 5808 values. */
Test(bytes, hand_computed_alexnet_conv1) {
  cod_conv_geom g = {3, 224, 224, 64, 11, 11, 4, 2};
  an_code_params p = {"nsctc-rot", 20, 4, 4, 0, COD_AXIS_ROWS, 8};
  an_costs c;
  cr_assert_eq(an_costs_compute(&g, &p, &c, NULL), COD_OK);
  cr_expect_eq(c.out_per_slab, 7);
  cr_expect_eq(c.filt_per_group, 8);
  cr_expect_eq(c.input_bytes, 47880.0 * 8);
  cr_expect_eq(c.filter_bytes, 5808.0 * 8);
  cr_expect_eq(c.download_bytes, 4.0 * 8 * 7 * 55 * 8);
  cr_expect_eq(c.worker_flops, 2.0 * 4 * 8 * 7 * 55 * 363);
}

/* Brute force: simulate every divisor pair of delta, take the least bytes_up + stored. */
static void brute_force(const char *model, const char *scheme, size_t n, size_t delta) {
  cod_conv_geom g[MAXL];
  size_t nl = model_geoms(model, g);
  double best[MAXL];
  size_t best_ka[MAXL];
  for (size_t i = 0; i < nl; i++) best[i] = INFINITY, best_ka[i] = 0;
  run_assets *cache = NULL;
  size_t feasible = 0;
  for (size_t a = 1; a <= delta; a++) {
    if (delta % a) continue;
    run_config c;
    base_cfg(&c, model, scheme, n, a, delta / a, 0);
    run_result r;
    if (run(&c, 0, &cache, &r) != COD_OK) continue; /* the code rejects this pair */
    feasible++;
    for (size_t j = 0; j < r.n_workers; j++) {
      const res_worker_row *w = &r.workers[j];
      if (w->worker != 0) continue;
      double cost = (double)(w->bytes_up + w->bytes_stored);
      if (cost < best[w->layer_index]) best[w->layer_index] = cost, best_ka[w->layer_index] = a;
    }
    run_result_fini(&r);
  }
  cr_assert(feasible > 0);
  for (size_t i = 0; i < nl; i++) {
    an_code_params p = {scheme, n, 0, 0, 0, COD_AXIS_ROWS, 8};
    an_optimum o;
    cod_err e = {0};
    cr_assert_eq(an_optimum_find(&g[i], &p, delta, &o, &e), COD_OK, "%s", e.msg);
    cr_expect_eq(o.n_pairs, feasible);
    cr_expect_eq(o.best.cost_bytes, best[i], "%s layer %zu: %g vs %g", model, i,
                 o.best.cost_bytes, best[i]);
    cr_expect_eq(o.best.ka, best_ka[i], "%s layer %zu: k_A %zu vs %zu", model, i, o.best.ka,
                 best_ka[i]);
  }
  /* the simulator's `auto` pair is the same argmin */
  run_config c;
  base_cfg(&c, model, scheme, n, 0, 0, 0);
  setz(&c, "coding.delta", delta);
  run_result r;
  cr_assert_eq(run(&c, 0, &cache, &r), COD_OK);
  for (size_t i = 0; i < r.n_layers; i++)
    cr_expect_eq((size_t)r.layers[i].ka, best_ka[r.layers[i].layer_index]);
  run_result_fini(&r);
  run_assets_free(cache);
}

Test(optimum, alexnet_rot_delta16) { brute_force("alexnet", "nsctc-rot", 20, 16); }
Test(optimum, resnet18_poly_delta12) { brute_force("resnet18", "poly-cheb", 20, 12); }
Test(optimum, vgg16_cir_delta6) { brute_force("vgg16", "nsctc-cir", 20, 6); }
Test(optimum, lenet5_rot_delta18) { brute_force("lenet5", "nsctc-rot", 20, 18); }

/* A layer built so that delta*a/b = 16 (a = b): k_A* = 4 exactly, a divisor of 16; the
 * rounding must be (4, 4) and so must the exact optimum, since the overlap and ceilings
 * do not move it here. a = C*(W+2p)*H'*s = 1*64*64 = 4096, b = N*C*KH*KW = 4096*1*1. */
Test(closed_form, constructed_case_lands_on_optimum) {
  cod_conv_geom g = {1, 64, 64, 4096, 1, 1, 1, 0};
  an_code_params p = {"nsctc-rot", 20, 0, 0, 0, COD_AXIS_ROWS, 8};
  an_optimum o;
  cr_assert_eq(an_optimum_find(&g, &p, 16, &o, NULL), COD_OK);
  cr_expect_float_eq(o.a, 4096.0, 1e-12);
  cr_expect_float_eq(o.b, 4096.0, 1e-12);
  cr_expect_float_eq(o.ka_star, 4.0, 1e-12);
  cr_expect_eq(o.rounded.ka, 4);
  cr_expect_eq(o.best.ka, 4);
  cr_expect_eq(o.best.kb, 4);
  cr_expect_eq(o.n_pairs, 5);
  /* a wide early layer favours k_A, a deep one k_B */
  cod_conv_geom early = {3, 224, 224, 64, 3, 3, 1, 1}, deep = {512, 14, 14, 512, 3, 3, 1, 1};
  cr_assert_eq(an_optimum_find(&early, &p, 16, &o, NULL), COD_OK);
  cr_expect_eq(o.best.ka, 16);
  cr_expect_eq(o.rounded.ka, 16);
  cr_assert_eq(an_optimum_find(&deep, &p, 16, &o, NULL), COD_OK);
  cr_expect_eq(o.best.ka, 1);
  cr_expect_eq(o.rounded.ka, 1);
}

/* Deterministic workers: the model is exact up to the engine's nanosecond rounding (a
 * handful of events per layer, each rounded by at most 1 ns). Both NIC-bound and
 * link-bound transfers and a propagation delay. */
static void deterministic(const char *scheme, size_t n, size_t ka, size_t kb,
                          const char *master_bps, const char *lat_s) {
  run_assets *cache = NULL;
  run_config c;
  base_cfg(&c, "alexnet", scheme, n, ka, kb, 0);
  set(&c, "latency.model", "deterministic");
  set(&c, "network.master_bps", master_bps);
  set(&c, "network.latency_s", lat_s);
  run_result r;
  cr_assert_eq(run(&c, 0, &cache, &r), COD_OK);
  for (size_t i = 0; i < r.n_layers; i++)
    cr_expect(fabs(r.layers[i].t_total_s - r.layers[i].an_latency_s) <= 1e-8,
              "%s layer %zu: simulated %.12g, analytic %.12g", scheme, i,
              r.layers[i].t_total_s, r.layers[i].an_latency_s);
  run_result_fini(&r);
  run_assets_free(cache);
}

Test(latency, deterministic_exact) {
  deterministic("nsctc-rot", 20, 4, 4, "1e10", "0");
  deterministic("nsctc-rot", 20, 4, 4, "2e9", "1e-4");
  deterministic("poly-cheb", 12, 2, 5, "unlimited", "3e-5");
  deterministic("uncoded", 20, 4, 5, "1e9", "0");
  deterministic("replication", 20, 5, 2, "1e10", "0");
  deterministic("nsctc-cir", 13, 1, 4, "1e10", "2e-6");
}

/* Shifted exponential: mean of T seeded trials against the expectation. The critical
 * compute time is nominal * (a + Z) where Z is the order statistic; its variance is
 * sum_{i=n-k+1..n} 1/(i mu)^2 (MDS) or, for replication, that of the delta-th of delta
 * Exp(r mu). The mean's error is within 4 standard errors (false alarm ~6e-5 per layer).
 * The master NIC is unlimited here, so downloads are never contended and everything but
 * the compute time is deterministic: the model is exact in expectation. (With a finite
 * NIC, tiny layers such as LeNet-5's see their results queue at the master: the model's
 * documented approximation, measured in docs/analytic.md.) */
static void shexp_mean(const char *model, const char *scheme, size_t n, size_t ka, size_t kb,
                       size_t trials) {
  run_assets *cache = NULL;
  run_config c;
  base_cfg(&c, model, scheme, n, ka, kb, 0);
  set(&c, "latency.shift", "0.5");
  set(&c, "latency.rate", "2");
  set(&c, "network.master_bps", "unlimited");
  set(&c, "network.latency_s", "1e-5");
  double sum[MAXL] = {0}, an[MAXL] = {0}, nominal[MAXL] = {0};
  size_t nl = 0, delta = 0;
  for (size_t t = 0; t < trials; t++) {
    run_result r;
    cr_assert_eq(run(&c, t, &cache, &r), COD_OK);
    nl = r.n_layers;
    for (size_t i = 0; i < nl; i++) {
      sum[i] += r.layers[i].t_total_s;
      an[i] = r.layers[i].an_latency_s;
      nominal[i] = r.layers[i].an_compute_flops / c.cluster.compute_rate_flops;
      delta = (size_t)r.layers[i].delta;
    }
    run_result_fini(&r);
  }
  double mu = 2.0, var = 0.0;
  if (strcmp(scheme, "replication") == 0) {
    double rr = (double)(n / delta);
    for (size_t i = 1; i <= delta; i++) var += 1.0 / ((double)i * rr * mu * (double)i * rr * mu);
  } else {
    size_t k = strcmp(scheme, "uncoded") == 0 ? n : delta;
    for (size_t i = n - k + 1; i <= n; i++) var += 1.0 / ((double)i * mu * (double)i * mu);
  }
  for (size_t i = 0; i < nl; i++) {
    double mean = sum[i] / (double)trials, se = nominal[i] * sqrt(var / (double)trials);
    cr_expect(fabs(mean - an[i]) <= 4.0 * se + 1e-8,
              "%s layer %zu: simulated mean %.9g, analytic %.9g, 4 s.e. %.3g", scheme, i, mean,
              an[i], 4 * se);
  }
  run_assets_free(cache);
}

/* Any law and heterogeneous classes: the simulated mean layer time against the numerical
 * prediction (an_orderstat), within 5 standard errors estimated from the trials' spread.
 * Unlimited master NIC as above, so the prediction is exact in expectation. `kv` holds
 * key, value pairs applied to the config, NULL-terminated. */
static void law_mean(const char *scheme, size_t n, size_t ka, size_t kb, size_t trials,
                     const char *const *kv) {
  run_assets *cache = NULL;
  run_config c;
  base_cfg(&c, "lenet5", scheme, n, ka, kb, 0);
  set(&c, "network.master_bps", "unlimited");
  set(&c, "network.latency_s", "1e-5");
  for (size_t i = 0; kv[i]; i += 2) {
    char name[RUN_CLASS_NAME_MAX];
    size_t kl = strlen(kv[i]);
    if (sscanf(kv[i], "class.%31[^.]", name) == 1 && kl > 6 &&
        strcmp(kv[i] + kl - 6, ".count") == 0) { /* a new class, as a file's */
      run_class *k = &c.classes[c.n_classes];
      memset(k, 0, sizeof *k);
      snprintf(k->name, sizeof k->name, "%s", name);
      run_config_worker(&c, c.cluster.workers - 1, &k->worker); /* the defaults */
      c.n_classes++;
    }
    set(&c, kv[i], kv[i + 1]);
  }
  double sum[MAXL] = {0}, sq[MAXL] = {0}, an[MAXL] = {0};
  size_t nl = 0;
  for (size_t t = 0; t < trials; t++) {
    run_result r;
    cr_assert_eq(run(&c, t, &cache, &r), COD_OK);
    nl = r.n_layers;
    for (size_t i = 0; i < nl; i++) {
      double x = r.layers[i].t_total_s;
      sum[i] += x, sq[i] += x * x;
      an[i] = r.layers[i].an_latency_s;
    }
    run_result_fini(&r);
  }
  for (size_t i = 0; i < nl; i++) {
    double mean = sum[i] / (double)trials;
    double se = sqrt(fmax(sq[i] / (double)trials - mean * mean, 0.0) / (double)trials);
    cr_expect(isfinite(an[i]) && fabs(mean - an[i]) <= 5.0 * se + 1e-8,
              "%s %s layer %zu: simulated mean %.9g, analytic %.9g, 5 s.e. %.3g", scheme,
              kv[1], i, mean, an[i], 5 * se);
    cr_expect(se < 0.05 * mean, "layer %zu resolved to 25%% (se %.3g)", i, se);
  }
  run_assets_free(cache);
}

static const char *const KV_CLASSES[] = {
    "latency.shift", "0.5", "latency.rate", "2", "class.fast.count", "5",
    "class.fast.compute_rate_flops", "4e9", "class.fast.rate", "4", NULL};
static const char *const KV_PARETO_CLASS[] = {
    "latency.model", "pareto", "latency.pareto_shape", "3", "class.slow.count", "4",
    "class.slow.compute_rate_flops", "2.5e8", "class.slow.model", "lognormal", NULL};
static const char *const KV_BIMODAL[] = {"latency.model", "bimodal", "latency.bimodal_p", "0.2",
                                         NULL};
static const char *const KV_MARKOV[] = {"latency.model", "markov",
                                        "latency.markov_fast_sojourn_s", "1e-4",
                                        "latency.markov_slow_sojourn_s", "1e-4", NULL};
Test(latency, classes_mean_rot) { law_mean("nsctc-rot", 20, 4, 4, 500, KV_CLASSES); }
Test(latency, pareto_lognormal_classes_mean_poly) {
  law_mean("poly-real", 10, 2, 3, 500, KV_PARETO_CLASS);
}
Test(latency, bimodal_mean_replication) { law_mean("replication", 12, 2, 2, 500, KV_BIMODAL); }
Test(latency, markov_mean_uncoded) { law_mean("uncoded", 8, 2, 4, 500, KV_MARKOV); }

Test(latency, shifted_exp_mean_rot) { shexp_mean("lenet5", "nsctc-rot", 20, 4, 4, 1500); }
Test(latency, shifted_exp_mean_rot_alexnet) { shexp_mean("alexnet", "nsctc-rot", 20, 4, 4, 400); }
Test(latency, shifted_exp_mean_poly) { shexp_mean("lenet5", "poly-real", 10, 2, 3, 1500); }
Test(latency, shifted_exp_mean_uncoded) { shexp_mean("lenet5", "uncoded", 8, 2, 4, 1500); }
Test(latency, shifted_exp_mean_replication) { shexp_mean("lenet5", "replication", 12, 2, 2, 1500); }
Test(latency, shifted_exp_mean_rkr) { shexp_mean("lenet5", "rkr", 10, 2, 3, 1500); }

/* The latency-optimal delta: every row is the minimum over its pairs, and the optimum is
 * the minimum over the rows; expected compute time falls with delta while the order
 * statistic rises, so neither end need win. */
Test(latency, delta_optimum_is_min) {
  cod_conv_geom g = {64, 27, 27, 192, 5, 5, 1, 2}; /* AlexNet conv2 */
  an_code_params p = {"nsctc-rot", 20, 0, 0, 0, COD_AXIS_ROWS, 8};
  an_cluster cl = default_cluster();
  an_delta_row rows[AN_WORKERS_MAX];
  size_t nr = 0, best = 0;
  cod_err e = {0};
  cr_assert_eq(an_delta_optimum(&g, &p, &cl, rows, &nr, &best, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(nr, 20);
  for (size_t i = 0; i < nr; i++) {
    cr_expect_eq(rows[i].delta, i + 1);
    cr_expect(rows[best].lat.total_s <= rows[i].lat.total_s);
    an_optimum o;
    cr_assert_eq(an_optimum_find(&g, &p, rows[i].delta, &o, NULL), COD_OK);
    for (size_t k = 0; k < o.n_pairs; k++) {
      an_code_params q = p;
      q.ka = o.pairs[k].ka, q.kb = o.pairs[k].kb;
      an_costs c;
      an_latency L;
      cr_assert_eq(an_costs_compute(&g, &q, &c, NULL), COD_OK);
      cr_assert_eq(an_latency_expected(&c, &q, &cl, &L, NULL), COD_OK);
      cr_expect(rows[i].lat.total_s <= L.total_s);
    }
  }
  /* order statistic by hand at delta = n: a + H_n / mu with a = mu = 1 */
  an_costs c;
  an_latency L;
  p.ka = 4, p.kb = 5;
  cr_assert_eq(an_costs_compute(&g, &p, &c, NULL), COD_OK);
  cr_assert_eq(an_latency_expected(&c, &p, &cl, &L, NULL), COD_OK);
  double h20 = 0;
  for (int i = 1; i <= 20; i++) h20 += 1.0 / i;
  cr_expect_float_eq(L.compute_s, c.worker_flops / 1e10 * (1 + h20), 1e-12);
  cr_expect_float_eq(L.upload_s, 8.0 * c.upload_bytes * 20 / 1e10, 1e-12);
  cr_expect_float_eq(L.download_s, 8.0 * c.download_bytes / 1e9, 1e-12);
}

/* ---- error paths ---------------------------------------------------------------------- */

static int costs_rc(const char *scheme, size_t n, size_t ka, size_t kb, size_t q, size_t el,
                    cod_err *e) {
  cod_conv_geom g = {16, 20, 20, 32, 3, 3, 1, 1};
  an_code_params p = {scheme, n, ka, kb, q, COD_AXIS_ROWS, el};
  an_costs c;
  memset(&c, 0x5a, sizeof c);
  unsigned char before[sizeof c];
  memcpy(before, &c, sizeof c);
  int rc = an_costs_compute(&g, &p, &c, e);
  if (rc) cr_expect(memcmp(before, &c, sizeof c) == 0, "output touched on error");
  return rc;
}

Test(errors, costs_reject_what_cod_code_new_rejects) {
  cod_err e = {0};
  cr_expect_eq(costs_rc("nope", 20, 2, 2, 0, 8, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "unknown scheme") != NULL);
  cr_expect_eq(costs_rc(NULL, 20, 2, 2, 0, 8, &e), COD_EINVAL);
  cr_expect_eq(costs_rc("nsctc-rot", 0, 1, 1, 0, 8, &e), COD_EINVAL);
  cr_expect_eq(costs_rc("nsctc-rot", 20, 0, 1, 0, 8, &e), COD_EINVAL);
  cr_expect_eq(costs_rc("nsctc-rot", COD_WORKERS_MAX + 1, 1, 1, 0, 8, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "nsctc-rot supports at most 4096 workers (got 4097)") != NULL, "%s", e.msg);
  cr_expect_eq(costs_rc("nsctc-cir", 256, 1, 1, 0, 8, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "nsctc-cir supports at most 255 workers") != NULL, "%s", e.msg);
  cr_expect_eq(costs_rc("nsctc-rot", 20, 1, 1, 0, 2, &e), COD_EINVAL);
  cr_expect_eq(costs_rc("nsctc-rot", 20, 5, 5, 0, 8, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "exceeds") != NULL);
  cr_expect_eq(costs_rc("nsctc-rot", 20, 2, 2, 19, 8, &e), COD_EINVAL);
  cr_expect_eq(costs_rc("nsctc-rot", 20, 2, 2, 21, 8, &e), COD_OK);
  cr_expect_eq(costs_rc("nsctc-cir", 20, 2, 2, 0, 8, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "one-sided") != NULL);
  cr_expect_eq(costs_rc("nsctc-cir", 20, 1, 4, 21, 8, &e), COD_EINVAL);
  cr_expect_eq(costs_rc("nsctc-cir", 20, 1, 4, 23, 8, &e), COD_OK);
  cr_expect_eq(costs_rc("nsctc-cir", 20, 1, 21, 0, 8, &e), COD_EINVAL);
  cr_expect_eq(costs_rc("uncoded", 20, 4, 4, 0, 8, &e), COD_EINVAL);
  cr_expect_eq(costs_rc("replication", 20, 3, 1, 0, 8, &e), COD_EINVAL);
  cr_expect_eq(costs_rc("replication", 20, 5, 1, 0, 8, &e), COD_OK);
  cr_expect_eq(costs_rc("poly-real", 20, 3, 7, 0, 8, &e), COD_EINVAL);
  cod_conv_geom bad = {16, 2, 2, 32, 5, 5, 1, 0};
  an_code_params p = {"nsctc-rot", 20, 2, 2, 0, COD_AXIS_ROWS, 8};
  an_costs c;
  cr_expect_eq(an_costs_compute(&bad, &p, &c, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "geometry") != NULL);
}

/* The CLI's usage errors come from these statuses: a bad model, delta > n, no pair. */
Test(errors, cli_paths) {
  cod_err e = {0};
  cod_conv_geom g[MAXL];
  size_t n = 99;
  cr_expect_eq(an_model_convs("no-such-model", g, NULL, 0, MAXL, &n, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "unknown model") != NULL, "%s", e.msg);
  cr_expect_eq(n, 99);
  cr_expect_eq(an_model_convs("", g, NULL, 0, MAXL, &n, &e), COD_EINVAL);
  char names[MAXL * 16];
  cr_assert_eq(an_model_convs("alexnet", g, names, 16, MAXL, &n, &e), COD_OK);
  cr_expect_eq(n, 5);
  cr_expect_str_eq(names, "conv1");
  cr_assert_eq(an_model_convs("resnet18", g, NULL, 0, 2, &n, &e), COD_OK);
  cr_expect(n > 2); /* count beyond cap reported */

  an_code_params p = {"nsctc-rot", 20, 0, 0, 0, COD_AXIS_ROWS, 8};
  an_optimum o;
  cr_expect_eq(an_optimum_find(&g[0], &p, 21, &o, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "delta") != NULL);
  cr_expect_eq(an_optimum_find(&g[0], &p, 0, &o, &e), COD_EINVAL);
  p.scheme = "uncoded";
  cr_expect_eq(an_optimum_find(&g[0], &p, 16, &o, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "no feasible") != NULL, "%s", e.msg);
  cr_expect_eq(an_optimum_find(&g[0], &p, 20, &o, &e), COD_OK);
  p.scheme = "replication";
  cr_expect_eq(an_optimum_find(&g[0], &p, 7, &o, &e), COD_EINVAL);
  p.scheme = "bogus";
  an_delta_row rows[AN_WORKERS_MAX];
  size_t nr, best;
  an_cluster cl = default_cluster();
  cr_expect_eq(an_delta_optimum(&g[0], &p, &cl, rows, &nr, &best, &e), COD_EINVAL);

  p.scheme = "nsctc-rot", p.ka = 2, p.kb = 2;
  an_costs c;
  an_latency L;
  cr_assert_eq(an_costs_compute(&g[0], &p, &c, NULL), COD_OK);
  cl.compute_rate_flops = 0;
  cr_expect_eq(an_latency_expected(&c, &p, &cl, &L, &e), COD_EINVAL);
  cl = default_cluster();
  cl.lat.rate = 0;
  cr_expect_eq(an_latency_expected(&c, &p, &cl, &L, &e), COD_EINVAL);
  cl = default_cluster();
  cl.latency_s = -1;
  cr_expect_eq(an_latency_expected(&c, &p, &cl, &L, &e), COD_EINVAL);
  cl = default_cluster();
  cl.lat.kind = (sim_latency_kind)42;
  cr_expect_eq(an_latency_expected(&c, &p, &cl, &L, &e), COD_EINVAL);
  /* a known law without a closed form is integrated numerically (it was "no prediction",
   * COD_ENODATA, before the numerical path) */
  cl = default_cluster();
  cl.lat.kind = SIM_LAT_LOGNORMAL;
  cr_expect_eq(an_latency_expected(&c, &p, &cl, &L, &e), COD_OK, "%s", e.msg);
  cl.lat.kind = SIM_LAT_PARETO;
  cr_expect_eq(an_latency_expected(&c, &p, &cl, &L, &e), COD_OK, "%s", e.msg);
  /* an infinite mean (Pareto alpha = 0.01: alpha (n - k + 1) <= 1) is a numerical error */
  cl.lat.pareto_shape = 0.01;
  cr_expect_eq(an_latency_expected(&c, &p, &cl, &L, &e), COD_ENUMERIC);
  cr_expect(strstr(e.msg, "infinite mean"), "%s", e.msg);
  /* every worker lost: never decodable */
  cl = default_cluster();
  cl.lat.kind = SIM_LAT_FAIL_STOP;
  cl.lat.fail_p = 1.0;
  cr_expect_eq(an_latency_expected(&c, &p, &cl, &L, &e), COD_EUNDECODABLE);
  /* classes: bad counts and rates, more workers than the code */
  cl = default_cluster();
  cl.n_classes = 1;
  cl.classes[0] = (an_class){0, 1e9, 1e9, 1e9, cl.lat};
  cr_expect_eq(an_latency_expected(&c, &p, &cl, &L, &e), COD_EINVAL);
  cl.classes[0].count = p.n_workers + 1;
  cr_expect_eq(an_latency_expected(&c, &p, &cl, &L, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "cover"), "%s", e.msg);
  cl.classes[0].count = 1, cl.classes[0].compute_rate_flops = 0.0;
  cr_expect_eq(an_latency_expected(&c, &p, &cl, &L, &e), COD_EINVAL);
  cl.classes[0].compute_rate_flops = 1e9, cl.classes[0].lat.rate = -1.0;
  cr_expect_eq(an_latency_expected(&c, &p, &cl, &L, &e), COD_EINVAL);
  cl.n_classes = AN_CLASSES_MAX + 1;
  cr_expect_eq(an_latency_expected(&c, &p, &cl, &L, &e), COD_EINVAL);
  cr_expect(an_latency_has_law("shifted-exp") && an_latency_has_law("deterministic"));
  cr_expect(!an_latency_has_law("pareto") && !an_latency_has_law("shifted_exp") &&
            !an_latency_has_law(NULL));
  cl = default_cluster();
  cl.uplink_bps = INFINITY, cl.downlink_bps = INFINITY, cl.master_bps = INFINITY;
  cr_expect_eq(an_latency_expected(&c, &p, &cl, &L, &e), COD_OK);
  cr_expect_eq(L.upload_s, 0.0);
}

/* ---- the scheme registry seen from analytic/ and runner/ ------------------------------ */

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* analytic/'s one table covers every exact scheme of coding/'s registry; berrut (an
 * approximate code whose costs depend on how many results the runner waits for) has no
 * row, by design: its costs are refused with a message and a run stores NULL analytic
 * columns. A name unknown to the registry is refused with the registry's known names. */
Test(registry, every_scheme_has_analytic_formulas) {
  cod_conv_geom g = {16, 20, 20, 32, 3, 3, 1, 1};
  for (size_t i = 0; i < cod_scheme_count(); i++) {
    const cod_scheme_info *s = cod_scheme_at(i);
    int want = !s->approximate;
    cr_expect_eq(an_scheme_has_formulas(s->name), want, "%s: analytic formulas %d", s->name, !want);
    size_t n = s->pair == COD_PAIR_ALL ? 4 : 8;
    an_code_params p = {s->name, n, 2, s->sides == 1 ? 1 : 2, 0, COD_AXIS_ROWS, 8};
    an_costs c;
    cod_err e = {0};
    int rc = an_costs_compute(&g, &p, &c, &e);
    if (want) cr_expect_eq(rc, COD_OK, "%s: %s", s->name, e.msg);
    else cr_expect(rc == COD_EINVAL && strstr(e.msg, "no analytic cost formulas"), "%s: %s", s->name, e.msg);
  }
  cr_expect(!an_scheme_has_formulas("turbo") && !an_scheme_has_formulas(NULL));
  cod_err e = {0}, ref = {0};
  an_code_params p = {"turbo", 8, 2, 2, 0, COD_AXIS_ROWS, 8};
  an_costs c;
  cr_expect_eq(an_costs_compute(&g, &p, &c, &e), COD_EINVAL);
  cod_scheme_find("turbo", &ref);
  cr_expect_str_eq(e.msg, ref.msg);
}

/* Every registry name is a value of [coding] scheme (and fits the fixed-size name fields
 * of run_config and of the MPI header), and the scenario's list of values is the
 * registry's. */
Test(registry, every_scheme_is_a_scenario_value) {
  int id = run_config_key_find("coding", "scheme");
  cr_assert_geq(id, 0);
  const run_key_info *k = run_config_key((size_t)id);
  for (size_t i = 0; i < cod_scheme_count(); i++) {
    const char *name = cod_scheme_at(i)->name;
    cr_expect_lt(strlen(name), RUN_SCHEME_NAME_MAX);
    cr_expect_lt(strlen(name), 32u); /* MPIB_SCHEME_MAX */
    run_config c;
    run_config_defaults(&c);
    set(&c, "coding.scheme", name);
    cr_expect_str_eq(c.coding.scheme, name);
    cr_expect(strstr(k->expect, name) != NULL, "'%s' not in the key's values '%s'", name, k->expect);
  }
  run_config c;
  run_config_defaults(&c);
  cod_err e = {0};
  cr_expect_eq(run_config_set(&c, "coding.scheme", "turbo", &e), COD_EINVAL);
  cr_expect(strstr(e.msg, k->expect) != NULL, "%s", e.msg);
  cr_expect_str_eq(c.coding.scheme, "nsctc-rot");
}

/* n beyond a scheme's limit: the planner, the registry's dry run, the analytic model and
 * the scenario validation all give the registry's one message. */
Test(registry, worker_limit_reads_the_same_everywhere) {
  const char *schemes[] = {"nsctc-rot", "nsctc-cir", "rkr"};
  for (size_t i = 0; i < 3; i++) {
    const cod_scheme_info *s = cod_scheme_find(schemes[i], NULL);
    cr_assert_not_null(s);
    size_t n = s->max_workers + 1;
    char want[128];
    snprintf(want, sizeof want, "%s supports at most %zu workers (got %zu)", s->name,
             s->max_workers, n);
    cod_code_params cp = cod_code_params_default();
    cp.scheme = s->name, cp.n_workers = n, cp.ka = 1, cp.kb = 1;
    cod_conv_geom g = {16, 20, 20, 32, 3, 3, 1, 1};
    cod_code *code = NULL;
    cod_err e1 = {0}, e2 = {0}, e3 = {0}, e4 = {0};
    cr_expect_eq(cod_code_new(&cp, &g, &code, &e1), COD_EINVAL);
    cr_expect_str_eq(e1.msg, want);
    cr_expect_eq(cod_scheme_check(&cp, &e2), COD_EINVAL);
    cr_expect_str_eq(e2.msg, want);
    an_code_params ap = {s->name, n, 1, 1, 0, COD_AXIS_ROWS, 8};
    an_costs ac;
    cr_expect_eq(an_costs_compute(&g, &ap, &ac, &e3), COD_EINVAL);
    cr_expect_str_eq(e3.msg, want);
    run_config c;
    run_config_defaults(&c);
    set(&c, "coding.scheme", s->name);
    setz(&c, "cluster.workers", n);
    set(&c, "coding.ka", "1");
    set(&c, "coding.kb", "1");
    cr_expect_eq(run_config_validate(&c, &e4), COD_EINVAL);
    cr_expect(strstr(e4.msg, want) != NULL, "run: '%s' lacks '%s'", e4.msg, want);
    /* and at the limit every one of them accepts */
    setz(&c, "cluster.workers", s->max_workers);
    cr_expect_eq(run_config_validate(&c, &e4), COD_OK, "%s", e4.msg);
  }
}

/* A coded layer on 1024 workers through the runner (model-only compute): every worker row
 * is there with the analytic bytes, and the decoder used worker ids above 255. */
static void run_1024(const char *scheme, size_t ka, size_t kb) {
  run_assets *cache = NULL;
  run_config c;
  base_cfg(&c, "lenet5", scheme, 1024, ka, kb, 0);
  run_result r;
  cr_assert_eq(run(&c, 0, &cache, &r), COD_OK, "%s on 1024 workers", scheme);
  cr_expect_str_eq(r.run.status, RES_STATUS_OK);
  check_rows(&r, &c, "lenet5", scheme);
  for (size_t i = 0; i < r.n_layers; i++) {
    const char *u = r.layers[i].workers_used;
    size_t ids = 1, above = 0, v = 0;
    for (const char *p = u; *p; p++)
      if (*p == ',') ids++, above += v >= 256, v = 0;
      else v = v * 10 + (size_t)(*p - '0');
    above += v >= 256;
    cr_expect_eq(ids, ka * kb, "%s layer %zu: '%s'", scheme, i, u);
    cr_expect_gt(above, 0, "%s layer %zu used no worker above 255: %s", scheme, i, u);
  }
  run_result_fini(&r);
  run_assets_free(cache);
}

Test(registry, coded_layers_on_1024_workers) {
  run_1024("nsctc-rot", 4, 4);
  run_1024("rkr", 4, 4);
}

/* The random streams of 4096 workers over several trials never coincide, and the first
 * 1024 workers keep the layout every earlier run was drawn with. */
Test(registry, stream_ids_of_4096_workers_are_distinct) {
  const size_t n = COD_WORKERS_MAX, trials = 3, m = trials * n * 2;
  uint64_t *ids = malloc(m * sizeof *ids);
  cr_assert_not_null(ids);
  size_t k = 0;
  for (uint64_t t = 0; t < trials; t++)
    for (size_t w = 0; w < n; w++)
      for (unsigned p = 0; p < 2; p++) {
        ids[k++] = run_stream_id(t, w, p);
        if (w < 1024) cr_assert_eq(ids[k - 1], (t * 1024 + w) * 4 + p);
      }
  qsort(ids, m, sizeof *ids, cmp_u64);
  for (size_t i = 1; i < m; i++) cr_assert_neq(ids[i], ids[i - 1], "stream id %llu repeats",
                                               (unsigned long long)ids[i]);
  free(ids);
}
