/* test_an_alloc.c: analytic/an_alloc.h against closed forms and an independent Monte Carlo.
 *
 * Closed forms: one worker holding all tasks (per-worker: its finish is start + nominal (m a
 * + Gamma(m)/mu) + m ser + lat, mean exact); n single-task workers (the delta-th order
 * statistic of shifted exponentials, sim_shexp_order_stat_mean, for either return policy);
 * one worker and per-task returns with threshold k (the k-th task: nominal (k a + k / mu)).
 * The Monte Carlo draws Gamma sums with GSL for a heterogeneous case, seeded, and the model
 * must sit within 4 standard errors. The integration converges (512 against 8192 panels),
 * and every bad input is refused.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>

#include "an_alloc.h"
#include "sim_latency.h"

static double expect(const an_alloc_worker *w, size_t n, size_t d, int per_task) {
  an_alloc_opts o = an_alloc_opts_default();
  double t = NAN;
  cod_err e = {0};
  cr_assert_eq(an_alloc_expected(w, n, d, per_task, &o, &t, &e), COD_OK, "%s", e.msg);
  return t;
}

Test(an_alloc, one_worker_all_tasks) {
  an_alloc_worker w = {5, 0.25, 0.01, 0.5, 2.0, 1e-3, 2e-4};
  double want = 0.25 + 0.01 * (5 * 0.5 + 5 / 2.0) + 5 * 1e-3 + 2e-4;
  cr_expect_float_eq(expect(&w, 1, 5, 0), want, 1e-6 * want);
  /* per-task, threshold k: the k-th task's result */
  for (size_t k = 1; k <= 5; k++) {
    double wk = 0.25 + 0.01 * (k * 0.5 + k / 2.0) + 1e-3 + 2e-4;
    cr_expect_float_eq(expect(&w, 1, k, 1), wk, 1e-6 * wk, "k = %zu", k);
  }
}

Test(an_alloc, single_tasks_are_order_statistics) {
  an_alloc_worker w[12];
  for (size_t j = 0; j < 12; j++) w[j] = (an_alloc_worker){1, 0.0, 0.02, 1.0, 1.5, 0.0, 0.0};
  for (size_t d = 1; d <= 12; d += 3) {
    double want = 0.02 * sim_shexp_order_stat_mean(1.0, 1.5, 12, d);
    cr_expect_float_eq(expect(w, 12, d, 0), want, 1e-5 * want, "d = %zu", d);
    cr_expect_float_eq(expect(w, 12, d, 1), want, 1e-5 * want, "d = %zu", d);
  }
}

/* An independent simulation of the model: the same arrival times, drawn with GSL. */
static void monte_carlo(const an_alloc_worker *w, size_t n, size_t d, int per_task, double *mean,
                        double *se) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 424242);
  const size_t trials = 20000;
  double s = 0, s2 = 0, arr[256];
  for (size_t t = 0; t < trials; t++) {
    size_t na = 0;
    for (size_t j = 0; j < n; j++) {
      double c = w[j].start_s;
      for (size_t k = 0; k < w[j].tasks; k++) {
        c += w[j].nominal_s * (w[j].shift + gsl_ran_exponential(r, 1.0 / w[j].rate));
        if (per_task) arr[na++] = c + w[j].ser_s + w[j].latency_s;
      }
      if (!per_task)
        for (size_t k = 0; k < w[j].tasks; k++)
          arr[na++] = c + (double)w[j].tasks * w[j].ser_s + w[j].latency_s;
    }
    gsl_sort(arr, 1, na);
    s += arr[d - 1], s2 += arr[d - 1] * arr[d - 1];
  }
  *mean = s / (double)trials;
  *se = sqrt((s2 / (double)trials - *mean * *mean) / (double)trials);
  gsl_rng_free(r);
}

Test(an_alloc, heterogeneous_matches_monte_carlo) {
  an_alloc_worker w[6];
  for (size_t j = 0; j < 6; j++)
    w[j] = j < 2 ? (an_alloc_worker){6, 0.01, 0.25, 1.0, 3.0, 1e-3, 1e-4}
                 : (an_alloc_worker){2, 0.02, 1.0, 0.5, 1.0, 1e-3, 1e-4};
  for (int per_task = 0; per_task <= 1; per_task++) {
    double mean, se;
    monte_carlo(w, 6, 14, per_task, &mean, &se);
    double an = expect(w, 6, 14, per_task);
    cr_expect_leq(fabs(an - mean), 4 * se, "per_task %d: analytic %g, simulated %g +- %g",
                  per_task, an, mean, se);
  }
  /* per-task returns never expect later than per-worker on the same model */
  cr_expect_leq(expect(w, 6, 14, 1), expect(w, 6, 14, 0));
}

Test(an_alloc, integration_converges) {
  an_alloc_worker w[3] = {{4, 0.0, 0.1, 0.2, 1.0, 0.0, 0.0},
                          {2, 0.05, 0.3, 0.2, 1.0, 0.0, 0.0},
                          {1, 0.1, 0.5, 1.0, 0.5, 0.0, 0.0}};
  an_alloc_opts coarse = an_alloc_opts_default(), fine = {8192, 1e-14};
  double a, b;
  cr_assert_eq(an_alloc_expected(w, 3, 5, 1, &coarse, &a, NULL), COD_OK);
  cr_assert_eq(an_alloc_expected(w, 3, 5, 1, &fine, &b, NULL), COD_OK);
  cr_expect_float_eq(a, b, 1e-6 * b); /* the split rule converges as h^4 */
  double p;
  cr_assert_eq(an_alloc_tail(w, 3, 5, 1, 0.0, &p, NULL), COD_OK);
  cr_expect_eq(p, 1.0, "nothing has arrived at t = 0");
  cr_assert_eq(an_alloc_tail(w, 3, 5, 1, 1e3, &p, NULL), COD_OK);
  cr_expect_lt(p, 1e-12);
}

Test(an_alloc, refusals) {
  an_alloc_worker ok = {2, 0.0, 0.1, 0.5, 1.0, 0.0, 0.0};
  an_alloc_opts o = an_alloc_opts_default();
  double t = 0;
  cod_err e = {0};
  cr_expect_eq(an_alloc_expected(&ok, 0, 1, 0, &o, &t, &e), COD_EINVAL);
  cr_expect_eq(an_alloc_expected(&ok, 1, 0, 0, &o, &t, &e), COD_EINVAL);
  cr_expect_eq(an_alloc_expected(&ok, 1, 3, 0, &o, &t, &e), COD_EINVAL, "3 of 2 tasks");
  an_alloc_worker bad[] = {{0, 0, 0.1, 0.5, 1, 0, 0}, {1, -1, 0.1, 0.5, 1, 0, 0},
                           {1, 0, 0, 0.5, 1, 0, 0},   {1, 0, 0.1, -1, 1, 0, 0},
                           {1, 0, 0.1, 0.5, 0, 0, 0}, {1, 0, 0.1, 0.5, INFINITY, 0, 0},
                           {1, 0, 0.1, 0.5, 1, -1, 0}, {1, 0, 0.1, 0.5, 1, 0, NAN}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cr_expect_eq(an_alloc_expected(&bad[i], 1, 1, 1, &o, &t, &e), COD_EINVAL, "case %zu", i);
    cr_expect_eq(an_alloc_tail(&bad[i], 1, 1, 1, 1.0, &t, &e), COD_EINVAL, "case %zu", i);
  }
  an_alloc_opts odd = {3, 1e-9}, tol = {64, 1.0};
  cr_expect_eq(an_alloc_expected(&ok, 1, 1, 0, &odd, &t, &e), COD_EINVAL);
  cr_expect_eq(an_alloc_expected(&ok, 1, 1, 0, &tol, &t, &e), COD_EINVAL);
  cr_expect_eq(an_alloc_expected(&ok, 1, 1, 0, NULL, &t, &e), COD_EINVAL);
  cr_expect_eq(t, 0, "out untouched on error");
}
