/* test_an_calib.c: the calibration fits (an_calib_compute).
 *
 * Noiseless synthetic layers (seeded random flops and bytes, times from chosen rate,
 * latency and bps) must give those parameters back; each special case of the transfer fit
 * is driven on purpose and checked against values worked out here by hand; the median
 * must ignore a warm-up outlier; unusable samples are skipped; every error path. */
#include <criterion/criterion.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <string.h>

#include "an_calib.h"
#include "cod_alloc.h"

#define EPS 2.220446049250313e-16

static an_calib fit_ok(const an_calib_sample *s, size_t n) {
  an_calib f;
  memset(&f, 0xA5, sizeof f);
  cod_err e = {0};
  cr_assert_eq(an_calib_compute(s, n, AN_CALIB_DET_RTOL, &f, &e), COD_OK, "%s", e.msg);
  return f;
}

static an_calib_sample smp(int64_t run, double t, double comm, double flops, double bytes) {
  return (an_calib_sample){.run_id = run, .t_compute_s = t, .t_comm_s = comm, .flops = flops,
                           .bytes = bytes};
}

static void rel_close(double got, double want, double tol, const char *what) {
  cr_assert(fabs(got - want) <= tol * fabs(want), "%s: %.17g, expected %.17g (rel tol %g)",
            what, got, want, tol);
}

Test(an_calib, recovers_noiseless_parameters) {
  const double rate = 2.5e10, lat = 1.3e-3, bps = 4e9;
  enum { N = 41 };
  an_calib_sample s[N];
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 20240611);
  for (size_t i = 0; i < N; i++) {
    double flops = 1e8 * (1 + 99 * gsl_rng_uniform(r));
    double bytes = 1e5 * (1 + 999 * gsl_rng_uniform(r));
    /* run ids out of order on purpose: 4 distinct runs */
    s[i] = smp((int64_t)((i * 7) % 4) + 10, flops / rate, 2 * lat + 8 * bytes / bps, flops,
               bytes);
  }
  gsl_rng_free(r);
  an_calib f = fit_ok(s, N);
  cr_assert_eq(f.n_layers, N);
  cr_assert_eq(f.n_runs, 4);
  /* each rate is flops / (flops / rate): two roundings */
  rel_close(f.rate_flops, rate, 4 * EPS, "rate");
  /* normal equations in closed form: the error grows with the spread of the bytes
   * (condition about 1e3 here), so allow 1e6 eps on the slope and on the intercept
   * relative to the largest transfer time (0.2 s). */
  rel_close(f.bps, bps, 1e6 * EPS, "bps");
  cr_assert(fabs(f.latency_s - lat) <= 1e6 * EPS * 0.2, "latency %.17g", f.latency_s);
  cr_assert_lt(f.rate_rms, 8 * EPS);
  cr_assert_lt(f.comm_rms, 1e6 * EPS);
}

Test(an_calib, constant_bytes_fit_the_intercept_only) {
  an_calib_sample s[3] = {smp(1, 1, 1e-3, 1e9, 1e6), smp(1, 1, 2e-3, 1e9, 1e6),
                          smp(2, 1, 3e-3, 1e9, 1e6)};
  an_calib f = fit_ok(s, 3);
  cr_assert(isinf(f.bps) && f.bps > 0, "bps %g", f.bps);
  rel_close(f.latency_s, 1e-3, 4 * EPS, "latency = mean / 2");
  /* predicted 2e-3 against 1e-3, 2e-3, 3e-3: relative residuals 1, 0, -1/3 */
  rel_close(f.comm_rms, sqrt((1 + 0 + 1.0 / 9) / 3), 16 * EPS, "comm rms");
  cr_assert_eq(f.n_runs, 2);
}

Test(an_calib, negative_intercept_goes_through_the_origin) {
  /* C = 8 B / 1e9 - 0.01: least squares gives a = -0.01 < 0 */
  const double b[3] = {1e7, 2e7, 3e7};
  an_calib_sample s[3];
  for (int i = 0; i < 3; i++) s[i] = smp(i, 1, 8 * b[i] / 1e9 - 0.01, 1e9, b[i]);
  an_calib f = fit_ok(s, 3);
  cr_assert_eq(f.latency_s, 0);
  /* slope through the origin: (1e7*0.07 + 2e7*0.15 + 3e7*0.23) / (14e14) = 10.6e6 / 14e14 */
  rel_close(f.bps, 8 / (10.6e6 / 14e14), 64 * EPS, "bps through the origin");
}

Test(an_calib, non_positive_slope_means_unlimited_bandwidth) {
  an_calib_sample s[3] = {smp(1, 1, 0.3, 1e9, 1e6), smp(1, 1, 0.2, 1e9, 2e6),
                          smp(1, 1, 0.1, 1e9, 3e6)};
  an_calib f = fit_ok(s, 3);
  cr_assert(isinf(f.bps), "bps %g", f.bps);
  rel_close(f.latency_s, 0.1, 4 * EPS, "latency = mean(0.3, 0.2, 0.1) / 2");
  /* a transfer time that does not depend on bytes at all (2^-7 s: the sums are exact, so
   * the slope is exactly 0) */
  for (int i = 0; i < 3; i++) s[i].t_comm_s = 0.0078125;
  f = fit_ok(s, 3);
  cr_assert(isinf(f.bps), "bps %g", f.bps);
  cr_assert_eq(f.latency_s, 0.00390625);
  cr_assert_lt(f.comm_rms, 4 * EPS);
}

Test(an_calib, median_ignores_a_warm_up_outlier) {
  /* seven layers at 1e10 flop/s with different sizes, one 100 times slower (warm-up) and
   * one 10 times faster, so neither the smallest nor the largest rate is the answer */
  an_calib_sample s[7];
  for (int i = 0; i < 7; i++) s[i] = smp(1, (i + 1) * 1e-2, 1, (i + 1) * 1e8, 1);
  s[0].t_compute_s *= 100;
  s[6].t_compute_s /= 10;
  an_calib f = fit_ok(s, 7);
  rel_close(f.rate_flops, 1e10, 4 * EPS, "rate");
  /* residuals: (0.01 - 1) / 1 = -0.99 and (0.07 - 0.007) / 0.007 = 9; the others exact */
  rel_close(f.rate_rms, sqrt((0.99 * 0.99 + 81) / 7), 64 * EPS, "rate rms");
  /* an even count takes the mean of the middle two: rates 1, 2, 3, 4 (e9) -> 2.5e9 */
  an_calib_sample e[4];
  for (int i = 0; i < 4; i++) e[i] = smp(1, 1, 1, (4 - i) * 1e9, 1);
  cr_assert_eq(fit_ok(e, 4).rate_flops, 2.5e9);
}

Test(an_calib, unusable_samples_are_skipped) {
  an_calib_sample good[3] = {smp(1, 0.5, 0.01, 1e9, 1e6), smp(2, 0.25, 0.02, 1e9, 2e6),
                             smp(3, 0.2, 0.05, 1e9, 4e6)};
  an_calib want = fit_ok(good, 3);
  an_calib_sample s[9] = {
      smp(9, NAN, 0.01, 1e9, 1e6), good[0], smp(9, 0, 0.01, 1e9, 1e6),
      good[1], smp(9, 0.5, 0.01, NAN, 1e6), smp(9, 0.5, 0.01, 0, 1e6),
      smp(9, -1, 0.01, 1e9, 1e6), good[2], smp(9, 0.5, 0.01, 1e9, NAN)};
  an_calib f = fit_ok(s, 9);
  cr_assert_eq(f.n_layers, 3);
  cr_assert_eq(f.n_runs, 3, "run 9 has no usable layer");
  cr_assert_eq(f.rate_flops, want.rate_flops);
  cr_assert_eq(f.latency_s, want.latency_s);
  cr_assert_eq(f.bps, want.bps);
  cr_assert_eq(f.rate_rms, want.rate_rms);
  cr_assert_eq(f.comm_rms, want.comm_rms);
  /* an unknown transfer time of a usable layer counts as 0 s (and adds no residual) */
  an_calib_sample z[3] = {good[0], good[1], good[2]}, u[3] = {good[0], good[1], good[2]};
  z[1].t_comm_s = 0;
  u[1].t_comm_s = NAN;
  an_calib fz = fit_ok(z, 3), fu = fit_ok(u, 3);
  cr_assert_eq(fu.latency_s, fz.latency_s);
  cr_assert_eq(fu.bps, fz.bps);
  cr_assert_eq(fu.comm_rms, fz.comm_rms);
  cr_assert_eq(fu.n_layers, 3);
}

static void fails(const an_calib_sample *s, size_t n, double tol, int status) {
  an_calib f, before;
  memset(&f, 0x5A, sizeof f);
  before = f;
  cod_err e = {0};
  cr_assert_eq(an_calib_compute(s, n, tol, &f, &e), status, "%s", e.msg);
  cr_assert_eq(e.status, status);
  cr_assert_gt(strlen(e.msg), 0);
  cr_assert_eq(memcmp(&f, &before, sizeof f), 0, "out-parameter touched on failure");
}

Test(an_calib, error_paths) {
  an_calib_sample bad[2] = {smp(1, 0, 1, 1e9, 1), smp(1, 1, 1, NAN, 1)};
  an_calib_sample ok[2] = {smp(1, 1, 1, 1e9, 1), smp(1, 2, 1, 1e9, 2)};
  fails(NULL, 0, AN_CALIB_DET_RTOL, COD_ENODATA);
  fails(bad, 2, AN_CALIB_DET_RTOL, COD_ENODATA);
  fails(ok, 2, -1e-12, COD_EINVAL);
  fails(ok, 2, NAN, COD_EINVAL);
  /* both workspace allocations, failed in turn, leak nothing */
  for (long k = 0; k < 2; k++) {
    long live = cod_alloc_live();
    cod_alloc_fail_at(k);
    fails(ok, 2, AN_CALIB_DET_RTOL, COD_ENOMEM);
    cod_alloc_fail_at(-1);
    cr_assert_eq(cod_alloc_live(), live, "leak when allocation %ld fails", k);
  }
  long live = cod_alloc_live();
  cod_alloc_fail_at(2);
  (void)fit_ok(ok, 2);
  cod_alloc_fail_at(-1);
  cr_assert_eq(cod_alloc_live(), live);
}

/* an_calib_predict on samples made from known parameters: a held-out set generated by the
 * fit's own parameters scores 0; a set 10% slower has error +10% exactly (mean and rms);
 * repeats with a known spread give that spread as the noise, the share it explains, and
 * the error against the repeats' mean. Every error path. */
Test(an_calib, predict_scores_held_out_samples_and_separates_noise) {
  const an_calib fit = {.n_layers = 1, .rate_flops = 2e10, .latency_s = 1e-3, .bps = 4e9};
  enum { N = 12 };
  an_calib_sample s[N];
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 77);
  double t_fit[N];
  for (size_t i = 0; i < N; i++) {
    double flops = 1e8 * (1 + 9 * gsl_rng_uniform(r)), bytes = 1e5 * (1 + 99 * gsl_rng_uniform(r));
    s[i] = smp((int64_t)i, flops / fit.rate_flops, 2e-3 + 8 * bytes / fit.bps, flops, bytes);
    t_fit[i] = s[i].t_compute_s + s[i].t_comm_s;
  }
  gsl_rng_free(r);
  an_calib_eval ev;
  cod_err e = {0};
  cr_assert_eq(an_calib_predict(&fit, s, N, &ev, &e), COD_OK, "%s", e.msg);
  cr_expect_eq(ev.n_layers, N);
  cr_expect_eq(ev.n_runs, N);
  cr_expect_lt(ev.rms, 1e-14);
  cr_expect_lt(ev.compute_rms, 1e-14);
  cr_expect_lt(ev.comm_rms, 1e-14);
  cr_expect_eq(ev.n_groups, 0u);
  cr_expect(isnan(ev.noise_rms) && isnan(ev.noise_share));
  /* every measured time 1/0.9 of the prediction: e = 0.9 - 1 = -10% for every layer */
  for (size_t i = 0; i < N; i++) s[i].t_compute_s /= 0.9, s[i].t_comm_s /= 0.9;
  cr_assert_eq(an_calib_predict(&fit, s, N, &ev, &e), COD_OK, "%s", e.msg);
  rel_close(ev.mean, -0.1, 1e-12, "mean");
  rel_close(ev.rms, 0.1, 1e-12, "rms");
  rel_close(ev.max_abs, 0.1, 1e-12, "max");
  /* repeats: samples 2j and 2j+1 are the same layer measured at (1 - d) and (1 + d) times
   * the prediction: the pooled relative sd is sqrt(2) d, the error against the mean is 0,
   * the rms error d, so the noise "explains" min(1, 2 d^2 / d^2) = all of it */
  const double d = 0.05;
  for (size_t i = 0; i < N; i++) {
    double f = i % 2 ? 1 + d : 1 - d;
    s[i].t_compute_s = f * s[i - i % 2].flops / fit.rate_flops;
    s[i].t_comm_s = f * (t_fit[i - i % 2] - s[i - i % 2].flops / fit.rate_flops);
    s[i].flops = s[i - i % 2].flops, s[i].bytes = s[i - i % 2].bytes;
    s[i].group = (int64_t)(i / 2) + 1;
  }
  cr_assert_eq(an_calib_predict(&fit, s, N, &ev, &e), COD_OK, "%s", e.msg);
  cr_expect_eq(ev.n_groups, N / 2);
  rel_close(ev.noise_rms, sqrt(2.0) * d, 1e-12, "noise");
  cr_expect_lt(ev.rms_of_means, 1e-14);
  rel_close(ev.noise_share, 1.0, 1e-12, "share");
  /* a bias of +20% on top: the error against the means is the bias, the share is
   * noise^2 / rms^2 with rms^2 the mean of ((1/(1.2 f)) - 1)^2 */
  double want_ms = 0;
  for (size_t i = 0; i < N; i++) {
    double f = i % 2 ? 1 + d : 1 - d;
    s[i].t_compute_s *= 1.2, s[i].t_comm_s *= 1.2;
    want_ms += pow(1 / (1.2 * f) - 1, 2) / N;
  }
  cr_assert_eq(an_calib_predict(&fit, s, N, &ev, &e), COD_OK, "%s", e.msg);
  rel_close(ev.rms, sqrt(want_ms), 1e-12, "biased rms");
  rel_close(ev.rms_of_means, 1 - 1 / 1.2, 1e-12, "bias against the means");
  rel_close(ev.noise_share, 2 * d * d / want_ms, 1e-12, "biased share");
  /* errors */
  an_calib_eval keep = ev;
  an_calib bad = fit;
  bad.rate_flops = 0;
  cr_expect_eq(an_calib_predict(&bad, s, N, &ev, &e), COD_EINVAL);
  bad = fit, bad.bps = NAN;
  cr_expect_eq(an_calib_predict(&bad, s, N, &ev, &e), COD_EINVAL);
  cr_expect_eq(an_calib_predict(&fit, NULL, 0, &ev, &e), COD_ENODATA);
  s[0].flops = 0;
  cr_expect_eq(an_calib_predict(&fit, s, 1, &ev, &e), COD_ENODATA);
  cr_expect_eq(memcmp(&ev, &keep, sizeof ev), 0, "out-parameter untouched");
  for (long k = 0; k < 2; k++) {
    cod_alloc_fail_at(k);
    int rc = an_calib_predict(&fit, s, N, &ev, &e);
    cod_alloc_fail_at(-1);
    cr_expect_eq(rc, COD_ENOMEM, "allocation %ld", k);
  }
}
