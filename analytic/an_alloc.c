/* an_alloc.c: the expected layer latency of task allocation and per-task returns (see
 * an_alloc.h for the model).
 *
 * P(sum_j X_j(t) < d) is computed by a convolution over workers of the distribution of
 * X_j(t), truncated at d (mass at d or more is dropped: only P(sum < d) is needed), so
 * one evaluation costs O(d * (N + n)) plus one regularised incomplete gamma function per
 * task (gsl_sf_gamma_inc_P). The integral runs from t_0, the earliest time any result can
 * arrive (before it P(T > t) = 1 exactly), to the first t_0 + 2^i span at which the tail
 * is below tail_tol.
 */
#include "an_alloc.h"

#include <math.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sort.h>

#include "cod_alloc.h"

an_alloc_opts an_alloc_opts_default(void) {
  an_alloc_opts o = {512, 1e-10};
  return o;
}

/* P(Gamma(k, 1) <= x), 0 for x <= 0. */
static double gamma_cdf(double k, double x) {
  if (!(x > 0)) return 0.0;
  gsl_sf_result r;
  if (gsl_sf_gamma_inc_P_e(k, x, &r) != GSL_SUCCESS) return x > k ? 1.0 : 0.0;
  return r.val;
}

/* P(X_j >= k) at time t. */
static double at_least(const an_alloc_worker *w, int per_task, size_t k, double t) {
  if (per_task) {
    double x = w->rate * ((t - w->start_s - w->ser_s - w->latency_s) / w->nominal_s -
                          (double)k * w->shift);
    return gamma_cdf((double)k, x);
  }
  double m = (double)w->tasks;
  double x = w->rate * ((t - w->start_s - m * w->ser_s - w->latency_s) / w->nominal_s -
                        m * w->shift);
  return gamma_cdf(m, x);
}

/* P(T > t) with a caller's buffers cur, nxt of d entries. */
static double tail(const an_alloc_worker *w, size_t n, size_t d, int per_task, double t,
                   double *cur, double *nxt) {
  memset(cur, 0, d * sizeof *cur);
  cur[0] = 1.0;
  for (size_t j = 0; j < n; j++) {
    memset(nxt, 0, d * sizeof *nxt);
    size_t m = w[j].tasks;
    if (per_task) {
      double ge = 1.0; /* P(X >= k) for the k of the loop */
      for (size_t k = 0; k <= m && k < d; k++) {
        double ge_next = k < m ? at_least(&w[j], 1, k + 1, t) : 0.0;
        double pk = fmax(0.0, ge - ge_next);
        for (size_t s = 0; s + k < d; s++) nxt[s + k] += cur[s] * pk;
        ge = ge_next;
      }
    } else {
      double p = at_least(&w[j], 0, m, t);
      for (size_t s = 0; s < d; s++) nxt[s] += cur[s] * (1.0 - p);
      for (size_t s = 0; s + m < d; s++) nxt[s + m] += cur[s] * p;
    }
    memcpy(cur, nxt, d * sizeof *cur);
  }
  double sum = 0.0;
  for (size_t s = 0; s < d; s++) sum += cur[s];
  return fmin(1.0, sum);
}

static int check(const an_alloc_worker *w, size_t n, size_t d, cod_err *err) {
  if (!w || n == 0) return cod_err_set(err, COD_EINVAL, "allocation model: no workers");
  size_t total = 0;
  for (size_t j = 0; j < n; j++) {
    const an_alloc_worker *x = &w[j];
    if (x->tasks == 0 || !(x->start_s >= 0) || !isfinite(x->start_s) || !(x->nominal_s > 0) ||
        !isfinite(x->nominal_s) || !(x->shift >= 0) || !isfinite(x->shift) ||
        !(x->rate > 0) || !isfinite(x->rate) || !(x->ser_s >= 0) || !isfinite(x->ser_s) ||
        !(x->latency_s >= 0) || !isfinite(x->latency_s))
      return cod_err_set(err, COD_EINVAL, "allocation model: worker %zu: tasks >= 1, finite "
                         "start_s, ser_s, latency_s >= 0, nominal_s > 0, shift >= 0 and "
                         "rate > 0 are required", j);
    total += x->tasks;
  }
  if (d == 0 || d > total)
    return cod_err_set(err, COD_EINVAL, "allocation model: threshold %zu not in 1..%zu "
                       "(the tasks in all)", d, total);
  return COD_OK;
}

int an_alloc_tail(const an_alloc_worker *w, size_t n, size_t threshold, int per_task,
                  double t, double *out, cod_err *err) {
  int rc = check(w, n, threshold, err);
  if (rc) return rc;
  double *buf = cod_malloc_array(2 * threshold, sizeof *buf);
  if (!buf) return cod_err_set(err, COD_ENOMEM, "out of memory");
  *out = tail(w, n, threshold, per_task, t, buf, buf + threshold);
  cod_free(buf);
  return COD_OK;
}

int an_alloc_expected(const an_alloc_worker *w, size_t n, size_t threshold, int per_task,
                      const an_alloc_opts *opts, double *out_s, cod_err *err) {
  int rc = check(w, n, threshold, err);
  if (rc) return rc;
  if (!opts || opts->intervals < 2 || opts->intervals % 2 || !(opts->tail_tol > 0) ||
      !(opts->tail_tol < 1))
    return cod_err_set(err, COD_EINVAL, "allocation model: intervals must be even and >= 2, "
                       "tail_tol in (0, 1)");
  /* t_0: no result can arrive before its worker's shift has passed */
  double t0 = INFINITY, scale = 0.0;
  for (size_t j = 0; j < n; j++) {
    const an_alloc_worker *x = &w[j];
    double k = per_task ? 1.0 : (double)x->tasks; /* tasks in the first message */
    double first = x->start_s + x->nominal_s * k * x->shift + k * x->ser_s + x->latency_s;
    t0 = fmin(t0, first);
    scale = fmax(scale, x->nominal_s * (double)x->tasks * (x->shift + 1.0 / x->rate) +
                            x->start_s + (double)x->tasks * x->ser_s + x->latency_s);
  }
  double *buf = cod_malloc_array(2 * threshold, sizeof *buf);
  if (!buf) return cod_err_set(err, COD_ENOMEM, "out of memory");
  double *cur = buf, *nxt = buf + threshold;
  /* scale (the slowest worker's mean finish) is past t0 since every rate is finite */
  double span = scale - t0;
  int doublings = 0;
  while (tail(w, n, threshold, per_task, t0 + span, cur, nxt) >= opts->tail_tol) {
    if (++doublings > 1000 || !isfinite(span *= 2.0)) {
      cod_free(buf);
      return cod_err_set(err, COD_EINVAL, "allocation model: P(T > t) stays above tail_tol "
                         "= %g up to t = %g s", opts->tail_tol, t0 + span);
    }
  }
  /* The integrand is smooth between the instants a task's shift ends (its kinks): one
   * composite Simpson rule per piece between consecutive kinks, with panels in
   * proportion to the piece's length (at least 2), keeps the rule's h^4 order. */
  size_t nk = 0;
  for (size_t j = 0; j < n; j++) nk += per_task ? w[j].tasks : 1;
  double *kink = cod_malloc_array(nk + 2, sizeof *kink);
  if (!kink) {
    cod_free(buf);
    return cod_err_set(err, COD_ENOMEM, "out of memory");
  }
  size_t nb = 0;
  const double t_end = t0 + span;
  kink[nb++] = t0, kink[nb++] = t_end;
  for (size_t j = 0; j < n; j++) {
    const an_alloc_worker *x = &w[j];
    size_t k0 = per_task ? 1 : x->tasks;
    for (size_t k = k0; k <= x->tasks; k++) {
      double ser = per_task ? x->ser_s : (double)x->tasks * x->ser_s;
      double tk = x->start_s + x->nominal_s * (double)k * x->shift + ser + x->latency_s;
      if (tk > t0 && tk < t_end) kink[nb++] = tk;
    }
  }
  gsl_sort(kink, 1, nb);
  double acc = 0.0;
  for (size_t b = 0; b + 1 < nb; b++) {
    double len = kink[b + 1] - kink[b];
    if (!(len > 0)) continue;
    size_t m = (size_t)ceil((double)opts->intervals * len / span);
    m += m % 2;
    if (m < 2) m = 2;
    double h = len / (double)m, part = 0.0;
    for (size_t i = 0; i <= m; i++) {
      double f = tail(w, n, threshold, per_task, kink[b] + h * (double)i, cur, nxt);
      part += f * (i == 0 || i == m ? 1.0 : i % 2 ? 4.0 : 2.0);
    }
    acc += part * h / 3.0;
  }
  cod_free(kink);
  cod_free(buf);
  *out_s = t0 + acc;
  return COD_OK;
}
