/* an_calib.c: the calibration fits of an_calib.h.
 *
 * Design. One pass accumulates the sums of the 2x2 normal equations of t_comm = a + b B
 * (sum B, sum B^2, sum C, sum B C) and collects the per-sample rates flops/t into a
 * workspace that is then sorted for the median; a second pass computes the residuals with
 * the fitted values. The normal equations are solved in closed form: n is small (layers of
 * a few runs) and the bytes of different layers differ by orders of magnitude relative to
 * their spread, so the only ill-conditioning that matters, all bytes equal, is detected
 * with the relative determinant test (det_rtol) and handled by fitting the intercept alone.
 * The run count sorts a copy of the run ids, so it does not rely on the input order.
 * Cost: O(n log n) time, 16 n bytes of workspace.
 */
#include "an_calib.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>

#include "cod_alloc.h"

static int sample_usable(const an_calib_sample *x) {
  return x->t_compute_s > 0 && x->flops > 0 && isfinite(x->bytes);
}

static double comm_of(const an_calib_sample *x) {
  return isnan(x->t_comm_s) ? 0.0 : x->t_comm_s;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int cmp_int64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Least squares of C = a + b B from the sums over m samples, with the special cases of
 * an_calib.h. */
static void comm_solve(double m, double sb, double sb2, double sc, double sbc, double det_rtol,
                       double *a_out, double *b_out) {
  double det = m * sb2 - sb * sb, a, b;
  if (det > det_rtol * m * sb2) {
    b = (m * sbc - sb * sc) / det;
    a = (sc - b * sb) / m;
  } else { /* every layer moved the same bytes: only the intercept is identifiable */
    b = 0, a = sc / m;
  }
  if (a < 0) a = 0, b = sb2 > 0 ? sbc / sb2 : 0; /* through the origin */
  if (b <= 0) b = 0, a = sc / m;
  *a_out = a;
  *b_out = b;
}

int an_calib_compute(const an_calib_sample *s, size_t n, double det_rtol, an_calib *out,
                     cod_err *err) {
  assert(out && (s || n == 0));
  if (!(det_rtol >= 0))
    return cod_err_set(err, COD_EINVAL, "calibration: det_rtol %g is not >= 0", det_rtol);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) m += (size_t)sample_usable(&s[i]);
  if (m == 0)
    return cod_err_set(err, COD_ENODATA, "calibration: none of the %zu samples has a "
                       "positive compute time, positive flops and known bytes", n);
  double *rates = cod_malloc_array(m, sizeof *rates);
  int64_t *runs = cod_malloc_array(m, sizeof *runs);
  if (!rates || !runs) {
    cod_free(rates);
    cod_free(runs);
    return cod_err_set(err, COD_ENOMEM, "calibration: out of memory (%zu samples)", m);
  }
  double sb = 0, sb2 = 0, sc = 0, sbc = 0;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const an_calib_sample *x = &s[i];
    if (!sample_usable(x)) continue;
    double c = comm_of(x);
    rates[k] = x->flops / x->t_compute_s;
    runs[k++] = x->run_id;
    sb += x->bytes, sb2 += x->bytes * x->bytes, sc += c, sbc += x->bytes * c;
  }
  an_calib fit = {.n_layers = m};
  qsort(rates, m, sizeof *rates, cmp_double);
  fit.rate_flops = m % 2 ? rates[m / 2] : 0.5 * (rates[m / 2 - 1] + rates[m / 2]);
  qsort(runs, m, sizeof *runs, cmp_int64);
  for (size_t i = 0; i < m; i++) fit.n_runs += (size_t)(i == 0 || runs[i] != runs[i - 1]);
  cod_free(rates);
  cod_free(runs);

  double a, b;
  comm_solve((double)m, sb, sb2, sc, sbc, det_rtol, &a, &b);
  fit.latency_s = a / 2;
  fit.bps = b > 0 ? 8.0 / b : INFINITY;

  double r_rate = 0, r_comm = 0;
  for (size_t i = 0; i < n; i++) {
    const an_calib_sample *x = &s[i];
    if (!sample_usable(x)) continue;
    double t = x->t_compute_s, c = comm_of(x);
    double pt = x->flops / fit.rate_flops;
    double pc = 2 * fit.latency_s + (isfinite(fit.bps) ? 8 * x->bytes / fit.bps : 0);
    r_rate += (pt - t) * (pt - t) / (t * t);
    r_comm += c > 0 ? (pc - c) * (pc - c) / (c * c) : 0;
  }
  fit.rate_rms = sqrt(r_rate / (double)m);
  fit.comm_rms = sqrt(r_comm / (double)m);
  /* Times or byte counts near the double range overflow the sums: a NaN or infinite fit
   * would be written as "latency_s = -nan", which no scenario accepts. bps may be
   * infinite (no bandwidth term: "unlimited"), never NaN or <= 0. */
  if (!isfinite(fit.rate_flops) || !(fit.rate_flops > 0) || !isfinite(fit.latency_s) ||
      !(fit.latency_s >= 0) || isnan(fit.bps) || !(fit.bps > 0))
    return cod_err_set(err, COD_ENUMERIC, "calibration: the fit is not finite (compute rate "
                       "%g flop/s, latency %g s, bandwidth %g bit/s) over %zu layers: the "
                       "measured times or byte counts are too large to fit", fit.rate_flops,
                       fit.latency_s, fit.bps, m);
  *out = fit;
  return COD_OK;
}

/* The predicted compute and transfer times of sample x under fit. */
static void predict_parts(const an_calib *fit, const an_calib_sample *x, double *pt,
                          double *pc) {
  *pt = x->flops / fit->rate_flops;
  *pc = 2 * fit->latency_s + (isfinite(fit->bps) ? 8 * x->bytes / fit->bps : 0);
}

static int cmp_group(const void *a, const void *b) {
  const an_calib_sample *x = *(const an_calib_sample *const *)a,
                        *y = *(const an_calib_sample *const *)b;
  return (x->group > y->group) - (x->group < y->group);
}

int an_calib_predict(const an_calib *fit, const an_calib_sample *s, size_t n,
                     an_calib_eval *out, cod_err *err) {
  assert(fit && out && (s || n == 0));
  if (!(fit->rate_flops > 0) || !(fit->bps > 0) || !(fit->latency_s >= 0))
    return cod_err_set(err, COD_EINVAL, "calibration: a fit needs rate_flops > 0, bps > 0 "
                       "and latency_s >= 0");
  size_t m = 0;
  for (size_t i = 0; i < n; i++) m += (size_t)sample_usable(&s[i]);
  if (m == 0)
    return cod_err_set(err, COD_ENODATA, "calibration: none of the %zu held-out samples is "
                       "usable", n);
  const an_calib_sample **u = cod_malloc_array(m, sizeof *u);
  int64_t *runs = cod_malloc_array(m, sizeof *runs);
  if (!u || !runs) {
    cod_free(u);
    cod_free(runs);
    return cod_err_set(err, COD_ENOMEM, "calibration: out of memory (%zu samples)", m);
  }
  an_calib_eval ev = {.n_layers = m};
  double se2 = 0, se = 0, st2 = 0, sc2 = 0;
  size_t k = 0, ncomm = 0;
  for (size_t i = 0; i < n; i++) {
    if (!sample_usable(&s[i])) continue;
    const an_calib_sample *x = &s[i];
    double pt, pc, c = comm_of(x), t = x->t_compute_s + c;
    predict_parts(fit, x, &pt, &pc);
    double e = (pt + pc - t) / t;
    se += e, se2 += e * e, ev.max_abs = fmax(ev.max_abs, fabs(e));
    st2 += (pt - x->t_compute_s) * (pt - x->t_compute_s) / (x->t_compute_s * x->t_compute_s);
    if (c > 0) sc2 += (pc - c) * (pc - c) / (c * c), ncomm++;
    u[k] = x, runs[k++] = x->run_id;
  }
  ev.rms = sqrt(se2 / (double)m), ev.mean = se / (double)m;
  ev.compute_rms = sqrt(st2 / (double)m);
  ev.comm_rms = ncomm ? sqrt(sc2 / (double)ncomm) : NAN;
  qsort(runs, m, sizeof *runs, cmp_int64);
  for (size_t i = 0; i < m; i++) ev.n_runs += (size_t)(i == 0 || runs[i] != runs[i - 1]);
  /* the repeats: groups of equal group id > 0 */
  qsort(u, m, sizeof *u, cmp_group);
  double ss = 0, dof = 0, sm2 = 0;
  for (size_t a = 0; a < m;) {
    size_t b = a + 1;
    while (b < m && u[b]->group == u[a]->group) b++;
    if (u[a]->group > 0 && b - a >= 2) {
      double mean = 0, pmean = 0;
      for (size_t i = a; i < b; i++) {
        double pt, pc;
        predict_parts(fit, u[i], &pt, &pc);
        mean += u[i]->t_compute_s + comm_of(u[i]), pmean += pt + pc;
      }
      mean /= (double)(b - a), pmean /= (double)(b - a);
      for (size_t i = a; i < b; i++) {
        double d = (u[i]->t_compute_s + comm_of(u[i]) - mean) / mean;
        ss += d * d;
      }
      dof += (double)(b - a - 1);
      sm2 += (pmean - mean) * (pmean - mean) / (mean * mean);
      ev.n_groups++;
    }
    a = b;
  }
  cod_free(u);
  cod_free(runs);
  if (ev.n_groups) {
    ev.noise_rms = sqrt(ss / dof);
    ev.rms_of_means = sqrt(sm2 / (double)ev.n_groups);
    ev.noise_share = ev.rms > 0 ? fmin(1.0, ev.noise_rms * ev.noise_rms / (ev.rms * ev.rms))
                                : NAN;
  } else {
    ev.noise_rms = ev.rms_of_means = ev.noise_share = NAN;
  }
  *out = ev;
  return COD_OK;
}
