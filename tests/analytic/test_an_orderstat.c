/* test_an_orderstat.c: the numerical order statistic (an_orderstat.h) against closed forms
 * and Monte Carlo (suite unit).
 *
 * Closed forms, independent of the integration: shifted-exp's Renyi form
 * (sim_shexp_order_stat_mean), Pareto's and bimodal's (sim_latency_order_stat_mean), the
 * k-th smallest of deterministic times, replication's min-of-copies law; these must agree
 * to 1e-7 relative (the integration's tolerance is 1e-9 per piece). Laws and mixtures with
 * no closed form (log-normal, markov's stationary mixture, fail-stop conditioned on
 * decoding, heterogeneous classes, a trace) against the mean of seeded Monte Carlo
 * draws of the same order statistic, within 5 standard errors estimated from the draws. */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_sort.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "an_orderstat.h"
#include "cod_alloc.h"
#include "sim_latency.h"
#include "sim_rng.h"

/* As main() does: GSL reports failures by status (checked by the library), never aborts. */
static void __attribute__((constructor)) gsl_quiet(void) { gsl_set_error_handler_off(); }

#define NMAX 32

static sim_latency *law(const sim_latency_params *p) {
  sim_latency *m = NULL;
  cod_err e = {0};
  cr_assert_eq(sim_latency_new_from_params(p, &m, &e), COD_OK, "%s", e.msg);
  return m;
}

static double os_mean(const an_orderstat_worker *w, size_t n, an_wait wait, size_t k) {
  an_orderstat_tol tol = an_orderstat_tol_default();
  double t = NAN;
  cod_err e = {0};
  cr_assert_eq(an_orderstat_mean(w, n, wait, k, &tol, &t, &e), COD_OK, "%s", e.msg);
  return t;
}

static void near(double got, double want, const char *what) {
  cr_expect(fabs(got - want) <= 1e-7 * fabs(want), "%s: numeric %.12g, closed form %.12g",
            what, got, want);
}

Test(orderstat, shifted_exp_matches_renyi_for_every_k_and_waiting_law) {
  sim_latency_params p;
  sim_latency_params_default(&p);
  p.shift = 0.7, p.rate = 1.6;
  sim_latency *m = law(&p);
  const size_t n = 20;
  const double nominal = 0.3, off = 0.01;
  an_orderstat_worker w[NMAX];
  for (size_t j = 0; j < n; j++) w[j] = (an_orderstat_worker){m, j, nominal, off};
  char what[64];
  for (size_t k = 1; k <= n; k++) {
    snprintf(what, sizeof what, "k = %zu of %zu", k, n);
    near(os_mean(w, n, AN_WAIT_DELTA_OF_N, k),
         off + nominal * sim_shexp_order_stat_mean(p.shift, p.rate, n, k), what);
  }
  near(os_mean(w, n, AN_WAIT_ALL, 0), off + nominal * sim_shexp_order_stat_mean(0.7, 1.6, n, n),
       "all");
  /* replication, 10 blocks of 2 copies: the 10th of 10 iid a + Exp(2 mu) */
  near(os_mean(w, n, AN_WAIT_COPIES, 10),
       off + nominal * sim_shexp_order_stat_mean(0.7, 2 * 1.6, 10, 10), "copies");
  sim_latency_free(m);
}

Test(orderstat, pareto_bimodal_and_deterministic_match_their_closed_forms) {
  sim_latency_params p;
  sim_latency_params_default(&p);
  p.kind = SIM_LAT_PARETO, p.pareto_scale = 1.3, p.pareto_shape = 2.5;
  sim_latency *pa = law(&p);
  p.kind = SIM_LAT_BIMODAL, p.bimodal_p = 0.3, p.bimodal_factor = 4.0;
  sim_latency *bi = law(&p);
  const size_t n = 12;
  an_orderstat_worker w[NMAX];
  char what[64];
  sim_latency *laws[2] = {pa, bi};
  for (int l = 0; l < 2; l++)
    for (size_t k = 1; k <= n; k += 3) {
      for (size_t j = 0; j < n; j++) w[j] = (an_orderstat_worker){laws[l], j, 0.5, 0.0};
      double want;
      cr_assert_eq(sim_latency_order_stat_mean(laws[l], 0.5, n, k, &want), COD_OK);
      snprintf(what, sizeof what, "%s k = %zu", sim_latency_name(laws[l]), k);
      near(os_mean(w, n, AN_WAIT_DELTA_OF_N, k), want, what);
    }
  /* deterministic, heterogeneous: the k-th smallest of the nominal times + offsets */
  p.kind = SIM_LAT_DETERMINISTIC;
  sim_latency *de = law(&p);
  double t[NMAX];
  for (size_t j = 0; j < n; j++) {
    double nom = 0.1 + 0.37 * (double)((j * 5) % n), off = 0.01 * (double)j;
    w[j] = (an_orderstat_worker){de, j, nom, off};
    t[j] = nom + off;
  }
  gsl_sort(t, 1, n);
  for (size_t k = 1; k <= n; k++) {
    snprintf(what, sizeof what, "deterministic k = %zu", k);
    near(os_mean(w, n, AN_WAIT_DELTA_OF_N, k), t[k - 1], what);
  }
  sim_latency_free(pa);
  sim_latency_free(bi);
  sim_latency_free(de);
}

/* Monte Carlo of the same order statistic: `draws` seeded rounds of one sample per worker
 * (at a start time the markov chains have forgotten, so each draw sees the stationary
 * state), rounds where fewer than k return skipped (the conditional expectation). */
static void check_mc(const an_orderstat_worker *w, size_t n, an_wait wait, size_t k,
                     size_t draws, const char *what) {
  double want = os_mean(w, n, wait, k);
  gsl_rng *r[NMAX];
  for (size_t j = 0; j < n; j++) {
    cod_err e = {0};
    cr_assert_eq(sim_rng_new(77, j, &r[j], &e), COD_OK, "%s", e.msg);
  }
  double sum = 0.0, sq = 0.0, t[NMAX];
  size_t used = 0;
  static double t_base = 0.0; /* a law's chains only move forward in time */
  for (size_t d = 0; d < draws; d++) {
    t_base += 1e3;
    for (size_t j = 0; j < n; j++) {
      double x;
      cr_assert_eq(sim_latency_sample_at((sim_latency *)w[j].law, r[j], w[j].worker, t_base,
                                         w[j].nominal_s, &x), COD_OK);
      t[j] = w[j].offset_s + x;
    }
    double v;
    if (wait == AN_WAIT_COPIES) {
      v = 0.0;
      for (size_t b = 0; b < k; b++) {
        double m = INFINITY;
        for (size_t j = b; j < n; j += k) m = fmin(m, t[j]);
        v = fmax(v, m);
      }
    } else {
      gsl_sort(t, 1, n);
      v = t[(wait == AN_WAIT_ALL ? n : k) - 1];
    }
    if (!isfinite(v)) continue;
    sum += v, sq += v * v, used++;
  }
  double mean = sum / (double)used, sd = sqrt(sq / (double)used - mean * mean);
  double se = sd / sqrt((double)used);
  cr_expect(fabs(mean - want) <= 5.0 * se, "%s: Monte Carlo %.6g +- %.2g (%zu draws), "
            "numeric %.6g", what, mean, se, used, want);
  cr_expect(se < 0.02 * want, "%s: the test resolves 10%% (se %.3g)", what, se);
  for (size_t j = 0; j < n; j++) sim_rng_free(r[j]);
}

Test(orderstat, lognormal_markov_failstop_against_monte_carlo) {
  sim_latency_params p;
  sim_latency_params_default(&p);
  p.kind = SIM_LAT_LOGNORMAL, p.lognormal_shift = 0.5, p.lognormal_mu = -0.3,
  p.lognormal_sigma = 0.8;
  sim_latency *ln = law(&p);
  sim_latency_params_default(&p);
  p.kind = SIM_LAT_MARKOV, p.markov_fast_sojourn_s = 0.9, p.markov_slow_sojourn_s = 0.3;
  sim_latency *mk = law(&p);
  sim_latency_params_default(&p);
  p.kind = SIM_LAT_FAIL_STOP, p.base_kind = SIM_LAT_SHIFTED_EXP, p.fail_p = 0.15;
  sim_latency *fs = law(&p);
  const size_t n = 16;
  an_orderstat_worker w[NMAX];
  sim_latency *laws[3] = {ln, mk, fs};
  for (int l = 0; l < 3; l++) {
    for (size_t j = 0; j < n; j++) w[j] = (an_orderstat_worker){laws[l], j, 0.2, 0.003};
    char what[64];
    snprintf(what, sizeof what, "%s 12 of 16", sim_latency_name(laws[l]));
    check_mc(w, n, AN_WAIT_DELTA_OF_N, 12, 20000, what);
    snprintf(what, sizeof what, "%s copies", sim_latency_name(laws[l]));
    check_mc(w, n, AN_WAIT_COPIES, 8, 20000, what);
  }
  sim_latency_free(ln);
  sim_latency_free(mk);
  sim_latency_free(fs);
}

/* Heterogeneous classes: 5 workers 4x faster than 15 others, their own laws (shifted-exp
 * and Pareto) and offsets; and a trace, whose empirical CDF is per worker. */
Test(orderstat, heterogeneous_classes_and_trace_against_monte_carlo) {
  sim_latency_params p;
  sim_latency_params_default(&p);
  p.shift = 1.0, p.rate = 2.0;
  sim_latency *fast = law(&p);
  p.kind = SIM_LAT_PARETO, p.pareto_scale = 1.0, p.pareto_shape = 3.0;
  sim_latency *slow = law(&p);
  const size_t n = 20;
  an_orderstat_worker w[NMAX];
  for (size_t j = 0; j < n; j++)
    w[j] = j < 5 ? (an_orderstat_worker){fast, j, 0.05, 0.002}
                 : (an_orderstat_worker){slow, j, 0.2, 0.004};
  check_mc(w, n, AN_WAIT_DELTA_OF_N, 16, 20000, "classes 16 of 20");
  check_mc(w, n, AN_WAIT_DELTA_OF_N, 4, 20000, "classes 4 of 20");
  check_mc(w, n, AN_WAIT_ALL, 0, 20000, "classes all");
  /* a trace: its CDF is each worker's empirical one (values equally likely, `inf` never
   * returns); the reference enumerates every combination of the workers' values (the
   * independent product), with workers of 3, 2, 4, 2, 3 and 2 values */
  static const double vals[6][4] = {{1.0, 2.5, 1.7}, {0.4, 3.0}, {2.0, INFINITY, 1.1, 0.9},
                                    {1.3, 1.3}, {0.2, 5.0, 2.2}, {INFINITY, 1.8}};
  static const size_t len[6] = {3, 2, 4, 2, 3, 2};
  char path[] = "/tmp/an_os_trace_XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  FILE *f = fdopen(fd, "w");
  fputs("worker,factor\n", f);
  for (int j = 0; j < 6; j++)
    for (size_t i = 0; i < len[j]; i++) fprintf(f, "%d,%g\n", j, vals[j][i]);
  fclose(f);
  sim_latency_params_default(&p);
  p.kind = SIM_LAT_TRACE, p.trace_path = path;
  sim_latency *tr = law(&p);
  for (size_t j = 0; j < 6; j++) w[j] = (an_orderstat_worker){tr, j, 0.1, 0.0};
  for (size_t k = 1; k <= 6; k++) {
    double sum = 0.0;
    size_t ok = 0, idx[6] = {0};
    for (;;) {
      double t[6];
      for (size_t j = 0; j < 6; j++) t[j] = 0.1 * vals[j][idx[j]];
      gsl_sort(t, 1, 6);
      if (isfinite(t[k - 1])) sum += t[k - 1], ok++;
      size_t j = 0;
      while (j < 6 && ++idx[j] == len[j]) idx[j++] = 0;
      if (j == 6) break;
    }
    char what[64];
    snprintf(what, sizeof what, "trace %zu of 6 (%zu of 288 combinations decode)", k, ok);
    near(os_mean(w, 6, AN_WAIT_DELTA_OF_N, k), sum / (double)ok, what);
  }
  sim_latency_free(tr);
  unlink(path);
  sim_latency_free(fast);
  sim_latency_free(slow);
}

Test(orderstat, errors) {
  sim_latency_params p;
  sim_latency_params_default(&p);
  sim_latency *m = law(&p);
  an_orderstat_worker w[2] = {{m, 0, 1.0, 0.0}, {m, 1, 1.0, 0.0}};
  an_orderstat_tol tol = an_orderstat_tol_default();
  double t = -1.0;
  cod_err e = {0};
  cr_expect_eq(an_orderstat_mean(w, 0, AN_WAIT_DELTA_OF_N, 1, &tol, &t, &e), COD_EINVAL);
  cr_expect_eq(an_orderstat_mean(w, 2, AN_WAIT_DELTA_OF_N, 3, &tol, &t, &e), COD_EINVAL);
  cr_expect_eq(an_orderstat_mean(w, 2, AN_WAIT_COPIES, 0, &tol, &t, &e), COD_EINVAL);
  an_orderstat_tol bad = {0.0, 10};
  cr_expect_eq(an_orderstat_mean(w, 2, AN_WAIT_ALL, 0, &bad, &t, &e), COD_EINVAL);
  bad = (an_orderstat_tol){1e-6, 0};
  cr_expect_eq(an_orderstat_mean(w, 2, AN_WAIT_ALL, 0, &bad, &t, &e), COD_EINVAL);
  w[1].offset_s = -1.0;
  cr_expect_eq(an_orderstat_mean(w, 2, AN_WAIT_ALL, 0, &tol, &t, &e), COD_EINVAL);
  w[1].offset_s = 0.0, w[1].nominal_s = NAN;
  cr_expect_eq(an_orderstat_mean(w, 2, AN_WAIT_ALL, 0, &tol, &t, &e), COD_EINVAL);
  cr_expect_eq(t, -1.0, "out-parameter untouched");
  w[1].nominal_s = 1.0;
  /* a trace does not know worker 5 */
  char path[] = "/tmp/an_os_trace_XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  FILE *f = fdopen(fd, "w");
  fputs("worker,factor\n0,1\n", f);
  fclose(f);
  p.kind = SIM_LAT_TRACE, p.trace_path = path;
  sim_latency *tr = law(&p);
  w[1] = (an_orderstat_worker){tr, 5, 1.0, 0.0};
  cr_expect_eq(an_orderstat_mean(w, 2, AN_WAIT_ALL, 0, &tol, &t, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "no CDF for worker 5"), "%s", e.msg);
  unlink(path);
  /* never decodable, and an infinite mean */
  sim_latency_params_default(&p);
  p.kind = SIM_LAT_FAIL_STOP, p.fail_p = 1.0;
  sim_latency *dead = law(&p);
  w[1] = (an_orderstat_worker){dead, 1, 1.0, 0.0};
  cr_expect_eq(an_orderstat_mean(w, 2, AN_WAIT_ALL, 0, &tol, &t, &e), COD_EUNDECODABLE);
  cr_expect_eq(an_orderstat_mean(w, 2, AN_WAIT_DELTA_OF_N, 1, &tol, &t, &e), COD_OK, "%s",
               e.msg);
  sim_latency_params_default(&p);
  p.kind = SIM_LAT_PARETO, p.pareto_shape = 0.5;
  sim_latency *heavy = law(&p);
  w[0] = w[1] = (an_orderstat_worker){heavy, 0, 1.0, 0.0};
  cr_expect_eq(an_orderstat_mean(w, 2, AN_WAIT_ALL, 0, &tol, &t, &e), COD_ENUMERIC);
  /* alpha (n - k + 1) = 1 > 1/2... the smallest of 2: alpha 2 = 1, still infinite */
  p.pareto_shape = 0.75; /* smallest of 2: tail index 1.5, finite */
  sim_latency *mid = law(&p);
  w[0] = w[1] = (an_orderstat_worker){mid, 0, 1.0, 0.0};
  double want;
  cr_assert_eq(sim_latency_order_stat_mean(mid, 1.0, 2, 1, &want), COD_OK);
  cr_expect_eq(an_orderstat_mean(w, 2, AN_WAIT_DELTA_OF_N, 1, &tol, &t, &e), COD_OK, "%s",
               e.msg);
  cr_expect(fabs(t - want) < 1e-3 * want, "heavy tail: %.9g vs %.9g", t, want);
  /* allocation failures */
  w[0] = w[1] = (an_orderstat_worker){m, 0, 1.0, 0.0};
  for (long k = 0; k < 3; k++) {
    cod_alloc_fail_at(k);
    int rc = an_orderstat_mean(w, 2, AN_WAIT_DELTA_OF_N, 2, &tol, &t, &e);
    cod_alloc_fail_at(-1);
    cr_expect(rc == COD_ENOMEM || rc == COD_OK, "allocation %ld: %d", k, rc);
    if (k == 0) cr_expect_eq(rc, COD_ENOMEM);
  }
  sim_latency_free(m);
  sim_latency_free(tr);
  sim_latency_free(dead);
  sim_latency_free(heavy);
  sim_latency_free(mid);
}
