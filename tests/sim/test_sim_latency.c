/* test_sim_latency.c: RNG streams and latency models. unit_*: parameters, trace loader
 * errors, fail-stop schedules, allocation failures. numeric_*: sample moments and order
 * statistics against closed forms, with tolerances of 5 standard errors (estimated from
 * the samples themselves, or exact where the variance is known). Seeds are fixed, so each
 * numeric test is deterministic; 5 sigma keeps them robust to changes of seed. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "cod_alloc.h"
#include "sim_latency.h"
#include "sim_rng.h"

static gsl_rng *rng(uint64_t seed, uint64_t stream) {
  gsl_rng *r = NULL;
  cod_err err = {0};
  cr_assert_eq(sim_rng_new(seed, stream, &r, &err), COD_OK, "%s", err.msg);
  return r;
}

static sim_latency *model(const sim_latency_params *p) {
  sim_latency *m = NULL;
  cod_err err = {0};
  cr_assert_eq(sim_latency_new_from_params(p, &m, &err), COD_OK, "%s", err.msg);
  return m;
}

/* ------------------------------------------------------------------ rng --------- */

Test(unit_rng, streams_reproducible_and_distinct) {
  gsl_rng *a = rng(1, 0), *b = rng(1, 0), *c = rng(1, 1), *d = rng(2, 0);
  int same_ab = 1, same_ac = 0, same_ad = 0;
  for (int i = 0; i < 1000; i++) {
    unsigned long x = gsl_rng_get(a), y = gsl_rng_get(b), z = gsl_rng_get(c),
                  w = gsl_rng_get(d);
    same_ab &= x == y;
    same_ac += x == z;
    same_ad += x == w;
  }
  cr_assert(same_ab);
  cr_assert_lt(same_ac, 3);
  cr_assert_lt(same_ad, 3);
  sim_rng_free(a);
  sim_rng_free(b);
  sim_rng_free(c);
  sim_rng_free(d);
  sim_rng_free(NULL);
}

static int u64_cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

Test(unit_rng, keys_do_not_collide_on_a_grid) {
  enum { S = 100 };
  static uint64_t k[S * S];
  for (int s = 0; s < S; s++)
    for (int t = 0; t < S; t++) k[s * S + t] = sim_rng_derive_key((uint64_t)s, (uint64_t)t);
  qsort(k, S * S, sizeof k[0], u64_cmp);
  for (int i = 1; i < S * S; i++) cr_assert_neq(k[i], k[i - 1]);
  /* splitmix64 reference values (Vigna's splitmix64.c, state starting at 0) */
  uint64_t st = 0;
  cr_assert_eq(sim_splitmix64(&st), 0xe220a8397b1dcdafULL);
  cr_assert_eq(sim_splitmix64(&st), 0x6e789e6aa1b965f4ULL);
}

/* Adjacent streams must be uncorrelated: |corr| of 1e5 uniform pairs < 5 / sqrt(n). */
Test(unit_rng, adjacent_streams_uncorrelated) {
  enum { N = 100000 };
  static double x[N], y[N];
  gsl_rng *a = rng(99, 5), *b = rng(99, 6);
  for (int i = 0; i < N; i++) {
    x[i] = gsl_rng_uniform(a);
    y[i] = gsl_rng_uniform(b);
  }
  double corr = gsl_stats_correlation(x, 1, y, 1, N);
  cr_assert_lt(fabs(corr), 5.0 / sqrt((double)N), "corr %g", corr);
  double mean = gsl_stats_mean(x, 1, N);
  cr_assert_lt(fabs(mean - 0.5), 5.0 * sqrt(1.0 / 12.0 / N));
  sim_rng_free(a);
  sim_rng_free(b);
}

/* -------------------------------------------------------- parameters ------------ */

static void expect_einval(const sim_latency_params *p, const char *needle) {
  sim_latency *m = NULL;
  cod_err err = {0};
  cr_assert_eq(sim_latency_new_from_params(p, &m, &err), COD_EINVAL, "expected EINVAL (%s)",
               needle);
  cr_assert_null(m);
  cr_assert(strstr(err.msg, needle), "message '%s' should mention '%s'", err.msg, needle);
}

Test(unit_latency, parameter_validation) {
  sim_latency_params p;
  sim_latency_params_default(&p);
  p.rate = 0.0;
  expect_einval(&p, "rate");
  sim_latency_params_default(&p);
  p.shift = -1.0;
  expect_einval(&p, "shift");
  sim_latency_params_default(&p);
  p.kind = SIM_LAT_PARETO;
  p.pareto_shape = 0.0;
  expect_einval(&p, "pareto_shape");
  p.pareto_shape = 2.0;
  p.pareto_scale = NAN;
  expect_einval(&p, "pareto_scale");
  sim_latency_params_default(&p);
  p.kind = SIM_LAT_BIMODAL;
  p.bimodal_p = 1.5;
  expect_einval(&p, "bimodal_p");
  p.bimodal_p = 0.5;
  p.bimodal_factor = -2.0;
  expect_einval(&p, "bimodal_factor");
  sim_latency_params_default(&p);
  p.kind = SIM_LAT_FAIL_STOP;
  p.fail_p = -0.1;
  expect_einval(&p, "fail_p");
  p.fail_p = 0.1;
  p.base_kind = SIM_LAT_FAIL_STOP;
  expect_einval(&p, "base_kind");
  p.base_kind = SIM_LAT_SHIFTED_EXP;
  p.rate = -1.0;
  expect_einval(&p, "rate");
  p.rate = 1.0;
  p.n_fail_at = 2;
  expect_einval(&p, "fail_at_s");
  double bad_at[2] = {1.0, -3.0};
  p.fail_at_s = bad_at;
  expect_einval(&p, "fail_at_s[1]");
  sim_latency_params_default(&p);
  p.kind = (sim_latency_kind)42;
  expect_einval(&p, "kind");
  p.kind = SIM_LAT_TRACE;
  expect_einval(&p, "trace_path");
}

/* The registry is consistent: every law has a unique name (no '_' spelling), its
 * parameters are a contiguous run of the parameter table that belongs to it, every
 * parameter belongs to exactly one law, keys are unique, defaults are within bounds, and
 * building every law from the defaults gives a model named as its registry row. */
Test(unit_latency, registry_is_consistent) {
  size_t nl = sim_latency_law_count(), np = sim_latency_param_count(), covered = 0;
  cr_assert_eq(nl, SIM_LAT_KINDS);
  cr_assert_leq(np, SIM_LATENCY_PARAMS_MAX);
  for (size_t k = 0; k < nl; k++) {
    const sim_latency_law *L = sim_latency_law_get(k);
    cr_assert_not_null(L->ops);
    cr_assert_not_null(L->make);
    cr_assert(L->formula && *L->formula);
    cr_assert_str_eq(sim_latency_law_name(k), L->ops->name);
    cr_assert_null(strchr(L->ops->name, '_'), "one spelling: '%s'", L->ops->name);
    size_t found = 99;
    cr_assert_eq(sim_latency_law_find(L->ops->name, &found, NULL), COD_OK);
    cr_assert_eq(found, k, "names are unique");
    cr_assert_leq(L->first_param + L->n_params, np);
    for (size_t i = L->first_param; i < L->first_param + L->n_params; i++)
      cr_assert_eq((size_t)sim_latency_param_get(i)->law, k, "param %zu of law %zu", i, k);
    covered += L->n_params;
  }
  cr_assert_eq(covered, np, "every parameter belongs to one law");
  sim_latency_params p;
  sim_latency_params_default(&p);
  for (size_t i = 0; i < np; i++) {
    const sim_latency_param *q = sim_latency_param_get(i);
    cr_assert_eq(sim_latency_param_find(q->key), (int)i, "key '%s' unique", q->key);
    cr_assert(q->expect && *q->expect);
    cr_assert(sim_latency_param_accepts(i, q->dflt), "default of %s within bounds", q->key);
    cr_assert_eq(sim_latency_params_get(&p, i), q->dflt);
    cr_assert(!sim_latency_param_accepts(i, NAN) && !sim_latency_param_accepts(i, INFINITY));
    if (q->lo_open) cr_assert(!sim_latency_param_accepts(i, q->lo), "%s: lo open", q->key);
    if (isfinite(q->lo)) cr_assert(!sim_latency_param_accepts(i, q->lo - 1.0));
    if (isfinite(q->hi)) cr_assert(!sim_latency_param_accepts(i, q->hi + 1.0));
    sim_latency_params_set(&p, i, q->dflt + 0.25);
    cr_assert_eq(sim_latency_params_get(&p, i), q->dflt + 0.25, "set/get of %s", q->key);
  }
  cr_assert_eq(sim_latency_param_find("no_such_key"), -1);
  char path[] = "/tmp/sim_reg_XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, "worker,factor\n0,1\n", 18), 18);
  close(fd);
  for (size_t k = 0; k < nl; k++) {
    sim_latency_params_default(&p);
    p.kind = (sim_latency_kind)k;
    p.trace_path = path;
    sim_latency *m = model(&p);
    cr_assert_str_eq(sim_latency_name(m), sim_latency_law_name(k));
    sim_latency_free(m);
  }
  unlink(path);
}

/* Unknown names are errors that list every known law; the name list is "a, b or c". */
Test(unit_latency, registry_lookup_errors_list_the_laws) {
  size_t k = 77;
  cod_err e = {0};
  cr_assert_eq(sim_latency_law_find("shifted_exp", &k, &e), COD_EINVAL);
  cr_assert_eq(k, 77, "out-parameter untouched");
  for (size_t i = 0; i < sim_latency_law_count(); i++)
    cr_assert(strstr(e.msg, sim_latency_law_name(i)), "'%s' lists %s", e.msg,
              sim_latency_law_name(i));
  cr_assert(strstr(e.msg, "'shifted_exp'"), "%s", e.msg);
  char buf[512];
  size_t need = sim_latency_law_names(buf, sizeof buf, 0);
  cr_assert_eq(need, strlen(buf));
  cr_assert(strncmp(buf, "shifted-exp, pareto, ", 21) == 0, "%s", buf);
  const char *last = sim_latency_law_name(sim_latency_law_count() - 1);
  char tail[64];
  snprintf(tail, sizeof tail, " or %s", last);
  cr_assert_str_eq(buf + strlen(buf) - strlen(tail), tail);
  /* without the wrapping and trace laws, fail-stop and trace are not listed */
  sim_latency_law_names(buf, sizeof buf, SIM_LAT_WRAPS_BASE | SIM_LAT_READS_TRACE);
  cr_assert_null(strstr(buf, "fail-stop"), "%s", buf);
  cr_assert_null(strstr(buf, "trace"), "%s", buf);
  cr_assert(strstr(buf, "deterministic"), "%s", buf);
  /* truncation: the return is the full length, the buffer stays a string */
  char small[8];
  cr_assert_eq(sim_latency_law_names(small, sizeof small, 0), need);
  cr_assert_eq(strlen(small), sizeof small - 1);
  /* a check of parameters names the law and the key */
  sim_latency_params p;
  sim_latency_params_default(&p);
  p.rate = -2.0;
  cr_assert_eq(sim_latency_params_check(&p, &e), COD_EINVAL);
  cr_assert(strstr(e.msg, "shifted-exp rate = -2: expected a real > 0"), "%s", e.msg);
  p.kind = SIM_LAT_PARETO;
  cr_assert_eq(sim_latency_params_check(&p, &e), COD_OK, "only the law's own parameters");
  p.kind = SIM_LAT_FAIL_STOP;
  p.base_kind = (sim_latency_kind)99;
  cr_assert_eq(sim_latency_params_check(&p, &e), COD_EINVAL);
  cr_assert(strstr(e.msg, "base_kind 99"), "%s", e.msg);
  p.base_kind = SIM_LAT_SHIFTED_EXP;
  cr_assert_eq(sim_latency_params_check(&p, &e), COD_EINVAL, "the base's parameters too");
  cr_assert(strstr(e.msg, "rate"), "%s", e.msg);
}

Test(unit_latency, deterministic_and_names) {
  sim_latency_params p;
  sim_latency_params_default(&p);
  cr_assert_eq(p.kind, SIM_LAT_SHIFTED_EXP, "shifted exponential is the default");
  p.kind = SIM_LAT_DETERMINISTIC;
  sim_latency *m = model(&p);
  gsl_rng *r = rng(1, 1);
  double d = -1.0, mean = -1.0, os = -1.0;
  cr_assert_eq(sim_latency_sample(m, r, 3, 0.25, &d), COD_OK);
  cr_assert_eq(d, 0.25);
  cr_assert_eq(sim_latency_mean(m, 0.25, &mean), COD_OK);
  cr_assert_eq(mean, 0.25);
  cr_assert_eq(sim_latency_order_stat_mean(m, 0.25, 5, 3, &os), COD_OK);
  cr_assert_eq(os, 0.25);
  cr_assert_eq(sim_latency_order_stat_mean(m, 0.25, 5, 6, &os), COD_EINVAL, "k > n");
  cr_assert_eq(sim_latency_order_stat_mean(m, 0.25, 5, 0, &os), COD_EINVAL, "k = 0");
  cr_assert_str_eq(sim_latency_name(m), "deterministic");
  cr_assert_eq(sim_latency_p_fail(m), 0.0);
  sim_latency_free(m);
  sim_latency_free(NULL);
  sim_rng_free(r);
}

Test(unit_latency, shexp_order_stat_closed_form) {
  cr_assert_float_eq(sim_harmonic(0), 0.0, 1e-15);
  cr_assert_float_eq(sim_harmonic(3), 11.0 / 6.0, 1e-15);
  cr_assert_float_eq(sim_shexp_order_stat_mean(0.5, 2.0, 1, 1), 1.0, 1e-15);
  cr_assert_float_eq(sim_shexp_order_stat_mean(1.0, 4.0, 3, 3), 1.0 + 11.0 / 24.0, 1e-15);
  cr_assert_float_eq(sim_shexp_order_stat_mean(1.0, 1.0, 3, 1), 1.0 + 1.0 / 3.0, 1e-15);
  /* E[min of 4 Exp(mu)] = 1/(4 mu); k-th minus (k-1)-th = 1/((n-k+1) mu) */
  cr_assert_float_eq(sim_shexp_order_stat_mean(0.0, 2.0, 4, 2) -
                         sim_shexp_order_stat_mean(0.0, 2.0, 4, 1),
                     1.0 / 6.0, 1e-15);
}

/* -------------------------------------------------------- fail-stop ------------- */

Test(unit_latency, fail_stop_scheduled_failures) {
  sim_latency_params p;
  sim_latency_params_default(&p);
  p.kind = SIM_LAT_FAIL_STOP;
  p.base_kind = SIM_LAT_DETERMINISTIC;
  double at[3] = {0.5, 2.0, INFINITY};
  p.fail_at_s = at;
  p.n_fail_at = 3;
  sim_latency *m = model(&p);
  at[0] = 99.0; /* the model copied the schedule */
  gsl_rng *r = rng(3, 0);
  double d;
  cr_assert_eq(sim_latency_sample(m, r, 0, 1.0, &d), COD_OK);
  cr_assert(isinf(d), "worker 0 fails at 0.5 s, before its task ends at 1 s");
  cr_assert_eq(sim_latency_sample(m, r, 0, 0.5, &d), COD_OK);
  cr_assert_eq(d, 0.5, "ending exactly at fail_at counts as done");
  cr_assert_eq(sim_latency_sample(m, r, 1, 1.0, &d), COD_OK);
  cr_assert_eq(d, 1.0);
  cr_assert_eq(sim_latency_sample_at(m, r, 1, 1.5, 1.0, &d), COD_OK);
  cr_assert(isinf(d), "worker 1 started at 1.5 would end at 2.5 > 2");
  cr_assert_eq(sim_latency_sample_at(m, r, 2, 1e6, 1.0, &d), COD_OK);
  cr_assert_eq(d, 1.0);
  cr_assert_eq(sim_latency_sample_at(m, r, 7, 1e6, 1.0, &d), COD_OK);
  cr_assert_eq(d, 1.0, "workers beyond n_fail_at have no scheduled failure");
  double mean;
  cr_assert_eq(sim_latency_mean(m, 2.0, &mean), COD_OK);
  cr_assert_eq(mean, 2.0, "mean of survivors = base mean");
  cr_assert_eq(sim_latency_order_stat_mean(m, 1.0, 3, 1, &mean), COD_EINVAL);
  cr_assert_str_eq(sim_latency_name(m), "fail-stop");
  sim_latency_free(m);
  sim_rng_free(r);
}

Test(unit_latency, allocation_failures_report_enomem) {
  char path[] = "/tmp/sim_trace_XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  FILE *f = fdopen(fd, "w");
  fputs("worker,factor\n0,1\n1,2\n0,3\n", f);
  fclose(f);
  double at[2] = {1.0, 2.0};
  sim_latency_params p;
  sim_latency_params_default(&p);
  p.kind = SIM_LAT_FAIL_STOP;
  p.base_kind = SIM_LAT_TRACE;
  p.trace_path = path;
  p.fail_at_s = at;
  p.n_fail_at = 2;
  long k = 0;
  for (;; k++) {
    sim_latency *m = NULL;
    cod_err err = {0};
    cod_alloc_fail_at(k);
    int rc = sim_latency_new_from_params(&p, &m, &err);
    cod_alloc_fail_at(-1);
    if (rc == COD_OK) {
      sim_latency_free(m);
      break;
    }
    cr_assert_eq(rc, COD_ENOMEM, "allocation %ld: %s", k, err.msg);
    cr_assert_null(m);
  }
  cr_assert_geq(k, 7, "every allocation of the nested construction was exercised (%ld)", k);
  unlink(path);
}

/* -------------------------------------------------------- trace ----------------- */

static void write_file(char *path, const char *text) {
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  FILE *f = fdopen(fd, "w");
  fputs(text, f);
  fclose(f);
}

static void expect_trace_error(const char *text, int status, const char *needle) {
  char path[] = "/tmp/sim_trace_XXXXXX";
  write_file(path, text);
  sim_latency_params p;
  sim_latency_params_default(&p);
  p.kind = SIM_LAT_TRACE;
  p.trace_path = path;
  sim_latency *m = NULL;
  cod_err err = {0};
  cr_assert_eq(sim_latency_new_from_params(&p, &m, &err), status, "'%s' -> %s", needle,
               err.msg);
  cr_assert_null(m);
  char want[128];
  snprintf(want, sizeof want, "%s%s", path, needle);
  cr_assert(strstr(err.msg, want), "message '%s' should contain '%s'", err.msg, want);
  unlink(path);
}

Test(unit_latency, trace_loader_errors) {
  sim_latency_params p;
  sim_latency_params_default(&p);
  p.kind = SIM_LAT_TRACE;
  p.trace_path = "/nonexistent/dir/trace.csv";
  sim_latency *m = NULL;
  cod_err err = {0};
  cr_assert_eq(sim_latency_new_from_params(&p, &m, &err), COD_EIO);
  cr_assert(strstr(err.msg, "/nonexistent/dir/trace.csv"), "%s", err.msg);
  expect_trace_error("worker,factor\n0,1.0\n1,abc\n", COD_EFORMAT, ":3: bad value 'abc'");
  expect_trace_error("# c\n\nworker,factor\n0,1\n0,-2\n", COD_EFORMAT, ":5: bad value");
  expect_trace_error("worker,factor\n0,nan\n", COD_EFORMAT, ":2: bad value");
  expect_trace_error("worker,factor\n0,1e999\n", COD_EFORMAT, ":2: bad value");
  expect_trace_error("worker,factor\n0,1x\n", COD_EFORMAT, ":2: bad value");
  expect_trace_error("worker,factor\n0,\n", COD_EFORMAT, ":2: bad value");
  expect_trace_error("worker,factor\n-1,1\n", COD_EFORMAT, ":2: bad worker");
  expect_trace_error("worker,factor\n0 1\n", COD_EFORMAT, ":2: expected `worker,value`");
  expect_trace_error("worker,speed\n0,1\n", COD_EFORMAT, ":1: expected header");
  expect_trace_error("0,1\n", COD_EFORMAT, ":1: expected header");
  expect_trace_error("", COD_EFORMAT, ": empty trace");
  expect_trace_error("worker,factor\n", COD_EFORMAT, ": trace has a header but no rows");
  expect_trace_error("worker,factor\n0,1\n2,1\n", COD_EFORMAT, ": worker 1 has no rows");
  char longline[400];
  memset(longline, ' ', sizeof longline);
  memcpy(longline, "worker,factor\n0,1", 17);
  strcpy(longline + 390, "\n");
  expect_trace_error(longline, COD_EFORMAT, ":2: line longer");
}

Test(unit_latency, trace_replay_cycles_per_worker) {
  char path[] = "/tmp/sim_trace_XXXXXX";
  write_file(path, "# per-worker multipliers\n worker , factor \n1,2.0\n0,1.5\n1,inf\n0,0.5\n"
                   "0,3\n");
  sim_latency_params p;
  sim_latency_params_default(&p);
  p.kind = SIM_LAT_TRACE;
  p.trace_path = path;
  sim_latency *m = model(&p);
  gsl_rng *r = rng(1, 0);
  double want0[] = {1.5, 0.5, 3.0, 1.5, 0.5}, want1[] = {2.0, INFINITY, 2.0};
  double d;
  for (int i = 0; i < 5; i++) {
    cr_assert_eq(sim_latency_sample(m, r, 0, 2.0, &d), COD_OK);
    cr_assert_eq(d, 2.0 * want0[i], "worker 0 sample %d", i);
  }
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(sim_latency_sample(m, r, 1, 2.0, &d), COD_OK);
    cr_assert_eq(d, 2.0 * want1[i], "worker 1 sample %d", i);
  }
  d = -7.0;
  cr_assert_eq(sim_latency_sample(m, r, 2, 2.0, &d), COD_EINVAL, "worker not in the trace");
  cr_assert_eq(d, -7.0);
  double mean;
  cr_assert_eq(sim_latency_mean(m, 1.0, &mean), COD_EINVAL, "no closed form");
  sim_latency_free(m);
  unlink(path);

  char path2[] = "/tmp/sim_trace_XXXXXX";
  write_file(path2, "worker,duration_s\n0,0.125\n0,0.25\n");
  p.trace_path = path2;
  m = model(&p);
  cr_assert_eq(sim_latency_sample(m, r, 0, 9.0, &d), COD_OK);
  cr_assert_eq(d, 0.125, "durations ignore the nominal");
  cr_assert_eq(sim_latency_sample(m, r, 0, 9.0, &d), COD_OK);
  cr_assert_eq(d, 0.25);
  sim_latency_free(m);
  unlink(path2);
  sim_rng_free(r);
}

/* -------------------------------------------------------- numeric --------------- */

enum { NS = 200000 };
static double SAMPLES[NS];

static void draw(sim_latency *m, gsl_rng *r, double nominal, size_t n) {
  for (size_t i = 0; i < n; i++)
    cr_assert_eq(sim_latency_sample(m, r, i % 16, nominal, &SAMPLES[i]), COD_OK);
}

/* mean within 5 standard errors, the SE from the known standard deviation `sd` */
static void check_mean(double mean_closed, double sd, const char *what) {
  double mean = gsl_stats_mean(SAMPLES, 1, NS);
  double tol = 5.0 * sd / sqrt((double)NS);
  cr_assert_lt(fabs(mean - mean_closed), tol, "%s: sample mean %.6f vs %.6f (tol %.2e)", what,
               mean, mean_closed, tol);
}

Test(numeric_latency, shifted_exp_moments) {
  sim_latency_params p;
  sim_latency_params_default(&p);
  p.shift = 0.7;
  p.rate = 2.5;
  sim_latency *m = model(&p);
  gsl_rng *r = rng(11, 0);
  double nominal = 0.3, mean;
  draw(m, r, nominal, NS);
  cr_assert_eq(sim_latency_mean(m, nominal, &mean), COD_OK);
  cr_assert_float_eq(mean, nominal * (0.7 + 1 / 2.5), 1e-15);
  double sd = nominal / 2.5;
  check_mean(mean, sd, "shifted exp");
  /* variance sd^2; for an exponential the sample variance has SE sd^2 sqrt(8 / n) */
  double var = gsl_stats_variance(SAMPLES, 1, NS);
  cr_assert_lt(fabs(var - sd * sd), 5.0 * sd * sd * sqrt(8.0 / NS), "variance %g", var);
  double mn = gsl_stats_min(SAMPLES, 1, NS);
  cr_assert_geq(mn, nominal * 0.7, "no sample below the shift");
  cr_assert_lt(mn, nominal * 0.7 + 1e-3, "the shift is the infimum");
  sim_latency_free(m);
  sim_rng_free(r);
}

Test(numeric_latency, pareto_and_bimodal_moments) {
  sim_latency_params p;
  sim_latency_params_default(&p);
  p.kind = SIM_LAT_PARETO;
  p.pareto_scale = 1.2;
  p.pareto_shape = 5.0;
  sim_latency *m = model(&p);
  gsl_rng *r = rng(12, 0);
  double nominal = 2.0, mean;
  draw(m, r, nominal, NS);
  cr_assert_eq(sim_latency_mean(m, nominal, &mean), COD_OK);
  cr_assert_float_eq(mean, nominal * 1.2 * 5.0 / 4.0, 1e-14);
  double a = 5.0, sd = nominal * 1.2 * sqrt(a / ((a - 1) * (a - 1) * (a - 2)));
  check_mean(mean, sd, "pareto");
  cr_assert_geq(gsl_stats_min(SAMPLES, 1, NS), nominal * 1.2);
  sim_latency_free(m);

  p.pareto_shape = 0.8;
  m = model(&p);
  cr_assert_eq(sim_latency_mean(m, 1.0, &mean), COD_OK);
  cr_assert(isinf(mean), "alpha <= 1 has an infinite mean");
  sim_latency_free(m);

  sim_latency_params_default(&p);
  p.kind = SIM_LAT_BIMODAL;
  p.bimodal_p = 0.15;
  p.bimodal_factor = 6.0;
  m = model(&p);
  draw(m, r, nominal, NS);
  cr_assert_eq(sim_latency_mean(m, nominal, &mean), COD_OK);
  cr_assert_float_eq(mean, nominal * (1 + 0.15 * 5.0), 1e-14);
  check_mean(mean, nominal * 5.0 * sqrt(0.15 * 0.85), "bimodal");
  for (size_t i = 0; i < NS; i++)
    cr_assert(SAMPLES[i] == nominal || SAMPLES[i] == 6.0 * nominal);
  sim_latency_free(m);
  sim_rng_free(r);
}

/* Log-normal: a task of nominal t takes t (shift + L), ln L ~ N(mu, sigma^2). Checked on
 * NS seeded samples, each within 5 standard errors:
 *   mean      vs t (shift + e^(mu + s^2/2)), SE = sd / sqrt(n), sd^2 = t^2 Var L,
 *             Var L = (e^(s^2) - 1) e^(2 mu + s^2);
 *   variance  vs t^2 Var L, SE = sqrt((m4 - Var^2) / n) with m4 the fourth central moment
 *             of t L from the raw moments E L^k = e^(k mu + k^2 s^2 / 2);
 *   ln(d/t - shift): mean mu (SE s / sqrt(n)) and variance s^2 (SE s^2 sqrt(2 / (n-1))),
 *             which checks the shape, not only the first two moments. */
static double ln_raw(double mu, double s, double k) { return exp(k * mu + 0.5 * k * k * s * s); }

Test(numeric_latency, lognormal_moments) {
  const double shift = 0.4, mu = -0.3, s = 0.5, t = 1.7;
  sim_latency_params p;
  sim_latency_params_default(&p);
  p.kind = SIM_LAT_LOGNORMAL;
  p.lognormal_shift = shift;
  p.lognormal_mu = mu;
  p.lognormal_sigma = s;
  sim_latency *m = model(&p);
  cr_assert_str_eq(sim_latency_name(m), "lognormal");
  gsl_rng *r = rng(16, 0);
  draw(m, r, t, NS);
  double e1 = ln_raw(mu, s, 1), e2 = ln_raw(mu, s, 2), e3 = ln_raw(mu, s, 3),
         e4 = ln_raw(mu, s, 4);
  double var_l = e2 - e1 * e1;
  cr_assert_float_eq(var_l, (exp(s * s) - 1.0) * exp(2 * mu + s * s), 1e-12);
  double mean;
  cr_assert_eq(sim_latency_mean(m, t, &mean), COD_OK);
  cr_assert_float_eq(mean, t * (shift + exp(mu + 0.5 * s * s)), 1e-14);
  check_mean(mean, t * sqrt(var_l), "lognormal");
  double m4 = (e4 - 4 * e3 * e1 + 6 * e2 * e1 * e1 - 3 * e1 * e1 * e1 * e1) * pow(t, 4);
  double var = gsl_stats_variance(SAMPLES, 1, NS), v_true = t * t * var_l;
  double se_var = sqrt((m4 - v_true * v_true) / NS);
  cr_assert_lt(fabs(var - v_true), 5 * se_var, "variance %.6g vs %.6g (SE %.2g)", var, v_true,
               se_var);
  static double logs[NS];
  for (size_t i = 0; i < NS; i++) {
    cr_assert_gt(SAMPLES[i], t * shift, "every sample above the floor");
    logs[i] = log(SAMPLES[i] / t - shift);
  }
  double lm = gsl_stats_mean(logs, 1, NS), lv = gsl_stats_variance(logs, 1, NS);
  cr_assert_lt(fabs(lm - mu), 5 * s / sqrt((double)NS), "mean of log %.6f", lm);
  cr_assert_lt(fabs(lv - s * s), 5 * s * s * sqrt(2.0 / (NS - 1)), "variance of log %.6f", lv);
  double os;
  cr_assert_eq(sim_latency_order_stat_mean(m, t, 5, 2, &os), COD_EINVAL,
               "no closed form for log-normal order statistics");
  cr_assert_eq(sim_latency_p_fail(m), 0.0);
  sim_latency_free(m);

  /* the extreme bounds still give finite samples (the header's promise) */
  p.lognormal_mu = 100.0;
  p.lognormal_sigma = 10.0;
  m = model(&p);
  for (size_t i = 0; i < 10000; i++) {
    double d;
    cr_assert_eq(sim_latency_sample(m, r, 0, 1.0, &d), COD_OK);
    cr_assert(isfinite(d) && d > 0.0);
  }
  sim_latency_free(m);
  /* and the bounds are enforced by the constructor, naming the key */
  p.lognormal_sigma = 0.0;
  expect_einval(&p, "lognormal_sigma");
  p.lognormal_sigma = 10.5;
  expect_einval(&p, "lognormal_sigma");
  p.lognormal_sigma = 1.0;
  p.lognormal_mu = -100.5;
  expect_einval(&p, "lognormal_mu");
  p.lognormal_mu = 0.0;
  p.lognormal_shift = -1e-9;
  expect_einval(&p, "lognormal_shift");
  sim_rng_free(r);
}

/* The defaults give the same mean as the shifted-exp defaults (1 + e^(-0.5 + 1/2) = 2). */
Test(unit_latency, lognormal_default_mean) {
  sim_latency_params p;
  sim_latency_params_default(&p);
  p.kind = SIM_LAT_LOGNORMAL;
  sim_latency *m = model(&p);
  double mean;
  cr_assert_eq(sim_latency_mean(m, 3.0, &mean), COD_OK);
  cr_assert_float_eq(mean, 6.0, 1e-14);
  sim_latency_free(m);
  /* as a fail-stop base */
  p.kind = SIM_LAT_FAIL_STOP;
  p.base_kind = SIM_LAT_LOGNORMAL;
  m = model(&p);
  cr_assert_eq(sim_latency_mean(m, 3.0, &mean), COD_OK);
  cr_assert_float_eq(mean, 6.0, 1e-14);
  sim_latency_free(m);
}

Test(numeric_latency, fail_stop_probability) {
  sim_latency_params p;
  sim_latency_params_default(&p);
  p.kind = SIM_LAT_FAIL_STOP;
  p.fail_p = 0.07;
  p.base_kind = SIM_LAT_SHIFTED_EXP;
  sim_latency *m = model(&p);
  cr_assert_eq(sim_latency_p_fail(m), 0.07);
  gsl_rng *r = rng(13, 0);
  draw(m, r, 1.0, NS);
  size_t n_inf = 0;
  double sum = 0.0;
  for (size_t i = 0; i < NS; i++) {
    if (isinf(SAMPLES[i])) n_inf++;
    else sum += SAMPLES[i];
  }
  double frac = (double)n_inf / NS, se = sqrt(0.07 * 0.93 / NS);
  cr_assert_lt(fabs(frac - 0.07), 5 * se, "failure fraction %g", frac);
  double mean;
  cr_assert_eq(sim_latency_mean(m, 1.0, &mean), COD_OK);
  cr_assert_float_eq(mean, 2.0, 1e-15);
  double smean = sum / (double)(NS - n_inf);
  cr_assert_lt(fabs(smean - 2.0), 5.0 / sqrt((double)(NS - n_inf)), "survivor mean %g", smean);
  sim_latency_free(m);
  sim_rng_free(r);

  /* common random numbers: survivors of p = 0.3 equal the p = 0 samples */
  p.fail_p = 0.0;
  sim_latency *m0 = model(&p);
  p.fail_p = 0.3;
  sim_latency *m3 = model(&p);
  gsl_rng *r0 = rng(14, 0), *r3 = rng(14, 0);
  for (int i = 0; i < 1000; i++) {
    double d0, d3;
    sim_latency_sample(m0, r0, 0, 1.0, &d0);
    sim_latency_sample(m3, r3, 0, 1.0, &d3);
    cr_assert(isinf(d3) || d3 == d0);
  }
  sim_latency_free(m0);
  sim_latency_free(m3);
  sim_rng_free(r0);
  sim_rng_free(r3);
}

/* Monte Carlo mean of the k-th smallest of n samples vs the closed form, 5 SE. */
static void check_order_stat(sim_latency *m, gsl_rng *r, size_t n, size_t k,
                             const char *what) {
  enum { R = 40000 };
  static double kth[R];
  double buf[64];
  cr_assert_leq(n, 64);
  for (size_t rep = 0; rep < R; rep++) {
    for (size_t i = 0; i < n; i++) cr_assert_eq(sim_latency_sample(m, r, i, 1.0, &buf[i]), 0);
    gsl_sort(buf, 1, n);
    kth[rep] = buf[k - 1];
  }
  double mc = gsl_stats_mean(kth, 1, R), sd = gsl_stats_sd(kth, 1, R), closed;
  cr_assert_eq(sim_latency_order_stat_mean(m, 1.0, n, k, &closed), COD_OK);
  double tol = 5.0 * sd / sqrt((double)R) + 1e-12;
  cr_assert_lt(fabs(mc - closed), tol, "%s n=%zu k=%zu: MC %.6f vs closed %.6f (tol %.2e)",
               what, n, k, mc, closed, tol);
}

Test(numeric_latency, order_statistics_vs_monte_carlo) {
  gsl_rng *r = rng(15, 0);
  sim_latency_params p;
  sim_latency_params_default(&p);
  p.shift = 1.0;
  p.rate = 0.8;
  sim_latency *m = model(&p);
  check_order_stat(m, r, 10, 7, "shifted exp");
  check_order_stat(m, r, 10, 10, "shifted exp");
  check_order_stat(m, r, 12, 1, "shifted exp");
  double v;
  sim_latency_order_stat_mean(m, 2.0, 10, 7, &v);
  cr_assert_float_eq(v, 2.0 * sim_shexp_order_stat_mean(1.0, 0.8, 10, 7), 1e-14);
  sim_latency_free(m);

  p.kind = SIM_LAT_PARETO;
  p.pareto_scale = 1.0;
  p.pareto_shape = 3.0;
  m = model(&p);
  check_order_stat(m, r, 10, 7, "pareto");
  check_order_stat(m, r, 8, 1, "pareto");
  cr_assert_eq(sim_latency_order_stat_mean(m, 1.0, 1, 1, &v), COD_OK);
  cr_assert_float_eq(v, 1.5, 1e-12, "n = k = 1 is the mean");
  sim_latency_free(m);
  p.pareto_shape = 0.4;
  m = model(&p);
  cr_assert_eq(sim_latency_order_stat_mean(m, 1.0, 10, 9, &v), COD_OK);
  cr_assert(isinf(v), "n-k+1 = 2 <= 1/alpha = 2.5: infinite");
  sim_latency_free(m);

  p.kind = SIM_LAT_BIMODAL;
  p.bimodal_p = 0.2;
  p.bimodal_factor = 4.0;
  m = model(&p);
  check_order_stat(m, r, 10, 9, "bimodal slow");
  sim_latency_free(m);
  p.bimodal_p = 0.6;
  p.bimodal_factor = 0.25;
  m = model(&p);
  check_order_stat(m, r, 10, 5, "bimodal fast");
  sim_latency_free(m);
  sim_rng_free(r);
}

/* ------------------------------------------------------- markov ----------------- */

/* A markov model whose state a sample reveals: fast draws t * (1 + ~0), slow t * (10 + ~0)
 * (rates so large that the exponential part is below 1e-8 with overwhelming probability). */
static sim_latency *markov_model(double fast_s, double slow_s) {
  sim_latency_params p;
  sim_latency_params_default(&p);
  p.kind = SIM_LAT_MARKOV;
  p.markov_fast_shift = 1.0, p.markov_fast_rate = 1e9;
  p.markov_slow_shift = 10.0, p.markov_slow_rate = 1e9;
  p.markov_fast_sojourn_s = fast_s, p.markov_slow_sojourn_s = slow_s;
  return model(&p);
}

static int markov_is_slow(sim_latency *m, gsl_rng *r, size_t w, double t_s) {
  double d = 0.0;
  cr_assert_eq(sim_latency_sample_at(m, r, w, t_s, 1.0, &d), COD_OK);
  cr_assert((d > 0.99 && d < 1.01) || (d > 9.99 && d < 10.01), "d = %g", d);
  return d > 5.0;
}

/* The chain's stationary share of slow time and its mean sojourns match the parameters.
 * Each of W workers is an independent chain (its own key), observed on a grid of step dt
 * over a horizon of ~100 cycles. Share: the mean over workers of each worker's slow
 * share, within 5 standard errors of that mean (estimated from the workers' spread).
 * Sojourns: a run of k grid points in one state measures k * dt, whose mean is the
 * sojourn's (uniform phase); runs shorter than dt are missed and merge their neighbours,
 * a relative bias below dt/(2 S_fast) + dt/(2 S_slow), added to 5 standard errors of the
 * mean run (runs are independent exponentials: SE = sd / sqrt(runs)). */
Test(numeric_latency, markov_share_and_sojourns_match_parameters) {
  const double sf = 0.3, ss = 0.1, dt = 0.0005;
  const size_t W = 600, N = 80000;
  sim_latency *m = markov_model(sf, ss);
  double *share = cod_malloc_array(W, sizeof *share);
  cr_assert_not_null(share);
  double run_sum[2] = {0, 0}, run_sq[2] = {0, 0};
  size_t runs[2] = {0, 0};
  for (size_t w = 0; w < W; w++) {
    gsl_rng *r = rng(41, w);
    size_t nslow = 0, len = 0;
    int prev = -1;
    for (size_t i = 0; i < N; i++) {
      int s = markov_is_slow(m, r, w, (double)i * dt);
      nslow += (size_t)s;
      if (s == prev) {
        len++;
        continue;
      }
      if (prev >= 0 && i > len) {
        /* a complete run (not the first, cut by the grid's start) */
        double L = (double)len * dt;
        run_sum[prev] += L, run_sq[prev] += L * L, runs[prev]++;
      }
      prev = s, len = 1;
    }
    share[w] = (double)nslow / (double)N;
    sim_rng_free(r);
  }
  double mean = gsl_stats_mean(share, 1, W), se = gsl_stats_sd(share, 1, W) / sqrt((double)W);
  double want = ss / (sf + ss);
  cr_expect(fabs(mean - want) < 5.0 * se, "slow share %.5f vs %.5f (se %.5f)", mean, want, se);
  cr_expect(se < 0.0015, "the test resolves the share to 0.6%% (se %.5f)", se);
  const double S[2] = {sf, ss};
  const double bias = dt / (2.0 * sf) + dt / (2.0 * ss);
  for (int k = 0; k < 2; k++) {
    double mu = run_sum[k] / (double)runs[k];
    double sd = sqrt(run_sq[k] / (double)runs[k] - mu * mu);
    double tol = 5.0 * sd / sqrt((double)runs[k]) + bias * S[k];
    cr_expect(fabs(mu - S[k]) < tol, "state %d: mean sojourn %.5f s vs %.5f s (tol %.5f, %zu runs)",
              k, mu, S[k], tol, runs[k]);
    cr_expect_gt(runs[k], 50000u);
  }
  cod_free(share);
  sim_latency_free(m);
}

/* The trajectory of states runs on its own stream: drawing other numbers from the worker's
 * stream between samples (another scheme's tasks, noise) leaves the states unchanged, and a
 * second model on an identical stream sees the same states (the chain persists in the
 * model, not in the stream). */
Test(unit_latency, markov_states_independent_of_other_draws) {
  sim_latency *a = markov_model(0.05, 0.05), *b = markov_model(0.05, 0.05);
  gsl_rng *ra = rng(7, 3), *rb = rng(7, 3);
  size_t same = 0, slow = 0, switches = 0;
  int prev = 0;
  for (size_t i = 0; i < 2000; i++) {
    double t = 0.01 * (double)i;
    int sa = markov_is_slow(a, ra, 5, t);
    for (size_t j = 0; j < i % 4; j++) (void)gsl_rng_get(rb);
    int sb = markov_is_slow(b, rb, 5, t);
    same += sa == sb, slow += (size_t)sa, switches += i && sa != prev;
    prev = sa;
  }
  cr_expect_eq(same, 2000u);
  cr_expect(slow > 500 && slow < 1500, "both states visited (%zu slow)", slow);
  cr_expect_gt(switches, 100u, "the state switches between samples");
  /* another worker has another chain */
  size_t differ = 0;
  gsl_rng *rc = rng(7, 4);
  sim_latency *c = markov_model(0.05, 0.05);
  for (size_t i = 0; i < 2000; i++) {
    double t = 0.01 * (double)i;
    differ += markov_is_slow(c, rc, 6, t) != markov_is_slow(a, ra, 5, t + 20.0);
  }
  cr_expect_gt(differ, 300u);
  sim_rng_free(ra);
  sim_rng_free(rb);
  sim_rng_free(rc);
  sim_latency_free(a);
  sim_latency_free(b);
  sim_latency_free(c);
}

/* After a long gap the chain restarts from its stationary law (the shortcut of the
 * advance): a second sample far in the future is slow with the stationary probability,
 * within 5 binomial standard errors; and the marginal mean of a sample equals the closed
 * form sim_latency_mean within 5 standard errors. Bad workers and parameters are errors. */
Test(numeric_latency, markov_long_gap_and_marginal_mean) {
  sim_latency *m = markov_model(0.2, 0.05);
  const size_t W = 4000;
  size_t slow = 0;
  for (size_t w = 0; w < W; w++) {
    gsl_rng *r = rng(9, w);
    (void)markov_is_slow(m, r, w, 0.0);
    slow += (size_t)markov_is_slow(m, r, w, 1e6);
    sim_rng_free(r);
  }
  double p = 0.05 / 0.25, se = sqrt(p * (1 - p) / (double)W);
  cr_expect(fabs((double)slow / (double)W - p) < 5.0 * se, "slow share %.4f vs %.4f",
            (double)slow / (double)W, p);
  sim_latency_free(m);
  /* a chain first asked far from time 0 starts there in the stationary law (in O(1)) */
  m = markov_model(0.2, 0.05);
  slow = 0;
  for (size_t w = 0; w < W; w++) {
    gsl_rng *r = rng(19, w);
    slow += (size_t)markov_is_slow(m, r, w, 1e9);
    sim_rng_free(r);
  }
  cr_expect(fabs((double)slow / (double)W - p) < 5.0 * se, "first at 1e9 s: slow share %.4f",
            (double)slow / (double)W);
  sim_latency_free(m);
  sim_latency_params q;
  sim_latency_params_default(&q);
  q.kind = SIM_LAT_MARKOV;
  m = model(&q);
  double want = 0.0, sum = 0.0, sq = 0.0;
  cr_assert_eq(sim_latency_mean(m, 2.0, &want), COD_OK);
  for (size_t w = 0; w < W; w++) {
    gsl_rng *r = rng(10, w);
    double d = 0.0;
    cr_assert_eq(sim_latency_sample_at(m, r, w, 3.0, 2.0, &d), COD_OK);
    sum += d, sq += d * d;
    sim_rng_free(r);
  }
  double mu = sum / (double)W, sd = sqrt(sq / (double)W - mu * mu);
  double ps = 0.1 / 1.1;
  cr_expect(fabs(want - 2.0 * ((1 - ps) * 2.0 + ps * 10.0)) < 1e-12, "closed form %g", want);
  cr_expect(fabs(mu - want) < 5.0 * sd / sqrt((double)W), "mean %g vs %g", mu, want);
  gsl_rng *r = rng(1, 1);
  double d = -1.0;
  cr_expect_eq(sim_latency_sample_at(m, r, SIM_LATENCY_WORKERS_MAX, 0.0, 1.0, &d), COD_EINVAL);
  cr_expect_eq(d, -1.0, "out-parameter untouched");
  sim_rng_free(r);
  sim_latency_free(m);
  cod_err e = {0};
  q.markov_slow_sojourn_s = 0.0;
  cr_expect_eq(sim_latency_params_check(&q, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "markov markov_slow_sojourn_s = 0: expected a time > 0"), "%s",
            e.msg);
  q.markov_slow_sojourn_s = 1.0, q.markov_fast_rate = 0.0;
  cr_expect_eq(sim_latency_params_check(&q, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "markov_fast_rate"), "%s", e.msg);
}

Test(unit_latency, markov_allocation_failures_report_enomem) {
  sim_latency_params p;
  sim_latency_params_default(&p);
  p.kind = SIM_LAT_MARKOV;
  long k = 0;
  for (;; k++) {
    sim_latency *m = NULL;
    cod_err err = {0};
    cod_alloc_fail_at(k);
    int rc = sim_latency_new_from_params(&p, &m, &err);
    cod_alloc_fail_at(-1);
    if (rc == COD_OK) {
      sim_latency_free(m);
      break;
    }
    cr_assert_eq(rc, COD_ENOMEM, "allocation %ld: %s", k, err.msg);
    cr_assert_null(m);
  }
  cr_assert_eq(k, 3, "state, chains, wrapper (%ld)", k);
}
