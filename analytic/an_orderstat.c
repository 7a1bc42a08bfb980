/* an_orderstat.c: E[order statistic] of independent non-identical times by integrating the
 * survival function (an_orderstat.h).
 *
 * Design. The survival function P(T > t) is evaluated from the workers' CDFs at each
 * quadrature node: a Poisson-binomial recursion truncated at k for "k-th of n", a product
 * over blocks for replication. It is a step function wherever a law has an atom
 * (deterministic, bimodal, trace) and has kinks at shifts (shifted-exp, Pareto, log-normal),
 * so the integral is cut at every such point (the laws' break points moved by each
 * worker's offset) and each smooth piece goes to GSL's adaptive Gauss-Kronrod rule; the
 * semi-infinite tail is a sequence of doubling pieces. Gauss-Kronrod never evaluates the end points, so a
 * jump at a cut costs nothing. The failure mass s_inf = P(T = inf) is the survival
 * function at t = +inf (every law's CDF at +inf is 1 - its failure probability), and the
 * integrand is the conditional one (P(T > t) - s_inf) / (1 - s_inf).
 */
#include "an_orderstat.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>

#include "cod_alloc.h"

an_orderstat_tol an_orderstat_tol_default(void) {
  an_orderstat_tol t = {1e-9, 200};
  return t;
}

/* The integrand's state. */
typedef struct surv_ctx {
  const an_orderstat_worker *w;
  size_t n, k;
  an_wait wait;
  double *p;      /* k doubles: P(N_t = i), i < k (k-th of n) */
  double s_inf;   /* P(T = inf) */
  int rc;         /* first CDF failure, COD_OK if none */
} surv_ctx;

/* F_j(t) for worker j; records a CDF failure in c->rc and returns 0 then. */
static double worker_cdf(surv_ctx *c, size_t j, double t) {
  double f = 0.0;
  const an_orderstat_worker *w = &c->w[j];
  int rc = sim_latency_cdf(w->law, w->worker, w->nominal_s, t - w->offset_s, &f);
  if (rc != COD_OK && c->rc == COD_OK) c->rc = rc;
  return rc == COD_OK ? f : 0.0;
}

/* P(T > t), not conditioned. */
static double survival(surv_ctx *c, double t) {
  if (c->wait == AN_WAIT_COPIES) {
    double all = 1.0; /* P(every block has a finished copy) */
    for (size_t b = 0; b < c->k; b++) {
      double none = 1.0; /* P(no copy of block b finished) */
      for (size_t j = b; j < c->n; j += c->k) none *= 1.0 - worker_cdf(c, j, t);
      all *= 1.0 - none;
    }
    return 1.0 - all;
  }
  const size_t k = c->k;
  double *p = c->p;
  memset(p, 0, k * sizeof *p);
  p[0] = 1.0;
  for (size_t j = 0; j < c->n; j++) {
    double f = worker_cdf(c, j, t), g = 1.0 - f;
    size_t top = j + 1 < k ? j + 1 : k - 1;
    for (size_t i = top; i >= 1; i--) p[i] = p[i] * g + p[i - 1] * f;
    p[0] *= g;
  }
  double s = 0.0;
  for (size_t i = k; i-- > 0;) s += p[i]; /* small terms first */
  return s > 1.0 ? 1.0 : s;
}

static double integrand(double t, void *arg) {
  surv_ctx *c = arg;
  double s = (survival(c, t) - c->s_inf) / (1.0 - c->s_inf);
  return s < 0.0 ? 0.0 : s;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The sorted, distinct cut points in (0, inf): every worker's breaks plus its offset.
 * *out owns cod_malloc'd storage (NULL when there are none). */
static int collect_cuts(const an_orderstat_worker *w, size_t n, double **out, size_t *n_out,
                        cod_err *err) {
  size_t total = 0;
  for (size_t j = 0; j < n; j++) total += sim_latency_breaks(w[j].law, w[j].worker,
                                                             w[j].nominal_s, NULL, 0) + 1;
  double *cut = cod_malloc_array(total, sizeof *cut);
  if (!cut) return cod_err_set(err, COD_ENOMEM, "out of memory collecting %zu break points",
                               total);
  size_t m = 0;
  for (size_t j = 0; j < n; j++) {
    size_t room = total - m - 1;
    size_t got = sim_latency_breaks(w[j].law, w[j].worker, w[j].nominal_s, cut + m, room);
    for (size_t i = 0; i < got && i < room; i++) cut[m + i] += w[j].offset_s;
    m += got < room ? got : room;
    cut[m++] = w[j].offset_s;
  }
  qsort(cut, m, sizeof *cut, cmp_double);
  size_t u = 0;
  for (size_t i = 0; i < m; i++)
    if (isfinite(cut[i]) && cut[i] > 0.0 && (u == 0 || cut[i] > cut[u - 1])) cut[u++] = cut[i];
  *out = cut, *n_out = u;
  return COD_OK;
}

static int check_args(const an_orderstat_worker *w, size_t n, an_wait wait, size_t k,
                      const an_orderstat_tol *tol, cod_err *err) {
  if (n < 1 || !w) return cod_err_set(err, COD_EINVAL, "order statistic of %zu workers", n);
  if (wait != AN_WAIT_ALL && (k < 1 || k > n))
    return cod_err_set(err, COD_EINVAL, "order statistic %zu of %zu workers: need 1..n", k, n);
  if (!tol || !(tol->epsrel > 0.0 && tol->epsrel < 1.0) || tol->limit < 1)
    return cod_err_set(err, COD_EINVAL, "integration tolerance: epsrel in (0, 1) and limit "
                       ">= 1 required");
  for (size_t j = 0; j < n; j++) {
    if (!w[j].law || !(w[j].nominal_s >= 0.0) || !isfinite(w[j].nominal_s) ||
        !(w[j].offset_s >= 0.0) || !isfinite(w[j].offset_s))
      return cod_err_set(err, COD_EINVAL, "worker %zu: a law, a finite nominal time >= 0 and "
                         "a finite offset >= 0 are required", j);
    double f;
    if (sim_latency_cdf(w[j].law, w[j].worker, w[j].nominal_s, 0.0, &f) != COD_OK)
      return cod_err_set(err, COD_EINVAL, "worker %zu: latency model %s has no CDF for "
                         "worker %zu", j, sim_latency_name(w[j].law), w[j].worker);
  }
  return COD_OK;
}

/* Integrate one finite piece; adds to *sum and returns its value in *got. */
static int piece(gsl_function *F, double a, double b, const an_orderstat_tol *tol,
                 gsl_integration_workspace *ws, double *sum, double *got, cod_err *err) {
  double r = 0.0, e = 0.0;
  /* relative to the piece, or to the sum so far: a piece far smaller than the sum (a
   * tail, a sliver between two close cuts) needs no more digits than the sum keeps */
  int st = gsl_integration_qag(F, a, b, tol->epsrel * *sum, tol->epsrel, tol->limit,
                               GSL_INTEG_GAUSS21, ws, &r, &e);
  if (st != GSL_SUCCESS || !isfinite(r))
    return cod_err_set(err, COD_ENUMERIC, "order statistic: the integral over [%g, %g] s did "
                       "not converge to relative tolerance %g (%s)", a, b, tol->epsrel,
                       gsl_strerror(st));
  *sum += r, *got = r;
  return COD_OK;
}

/* The tail beyond the last cut a > 0: pieces [a, 2a], [2a, 4a], ... until one adds less
 * than epsrel of the sum so far (the survival function is non-increasing, so the pieces
 * of a tail whose mean is finite shrink geometrically at least for every law here but
 * Pareto with alpha (n-k+1) near 1, where the neglected rest is a few pieces' worth).
 * AN_TAIL_DOUBLINGS without that is an infinite (or numerically unreachable) mean. */
#define AN_TAIL_DOUBLINGS 1000
static int tail(gsl_function *F, double a, const an_orderstat_tol *tol,
                gsl_integration_workspace *ws, double *sum, cod_err *err) {
  for (int i = 0; i < AN_TAIL_DOUBLINGS && isfinite(2.0 * a); i++, a *= 2.0) {
    double got = 0.0;
    int rc = piece(F, a, 2.0 * a, tol, ws, sum, &got, err);
    if (rc) return rc;
    if (got <= tol->epsrel * *sum && GSL_FN_EVAL(F, 2.0 * a) <= tol->epsrel) return COD_OK;
  }
  return cod_err_set(err, COD_ENUMERIC, "order statistic: the tail beyond %g s does not "
                     "vanish (an infinite mean: a tail too heavy, e.g. Pareto with "
                     "alpha (n - k + 1) <= 1)", a);
}

int an_orderstat_mean(const an_orderstat_worker *w, size_t n, an_wait wait, size_t k,
                      const an_orderstat_tol *tol, double *out_s, cod_err *err) {
  int rc = check_args(w, n, wait, k, tol, err);
  if (rc) return rc;
  surv_ctx c = {w, n, wait == AN_WAIT_ALL ? n : k, wait, NULL, 0.0, COD_OK};
  double *cut = NULL;
  size_t n_cut = 0;
  gsl_integration_workspace *ws = NULL;
  if (wait != AN_WAIT_COPIES && !(c.p = cod_malloc_array(c.k, sizeof *c.p))) {
    rc = cod_err_set(err, COD_ENOMEM, "out of memory (%zu doubles)", c.k);
    goto done;
  }
  c.s_inf = survival(&c, INFINITY);
  if (!(c.s_inf < 1.0)) {
    rc = cod_err_set(err, COD_EUNDECODABLE, "order statistic: the layer never decodes (too "
                     "few workers return with positive probability)");
    goto done;
  }
  if ((rc = collect_cuts(w, n, &cut, &n_cut, err))) goto done;
  if (!(ws = gsl_integration_workspace_alloc(tol->limit))) {
    rc = cod_err_set(err, COD_ENOMEM, "out of memory (integration workspace)");
    goto done;
  }
  gsl_function F = {integrand, &c};
  double sum = 0.0, a = 0.0, got;
  for (size_t i = 0; i < n_cut && rc == COD_OK; i++) {
    rc = piece(&F, a, cut[i], tol, ws, &sum, &got, err);
    a = cut[i];
  }
  if (rc == COD_OK && !(a > 0.0)) { /* no cut above 0: start the tail at a time scale */
    for (size_t j = 0; j < n; j++) a = fmax(a, w[j].offset_s + w[j].nominal_s);
    if (a > 0.0) rc = piece(&F, 0.0, a, tol, ws, &sum, &got, err);
  }
  if (rc == COD_OK && a > 0.0) rc = tail(&F, a, tol, ws, &sum, err);
  if (rc == COD_OK && c.rc != COD_OK)
    rc = cod_err_set(err, COD_EINVAL, "order statistic: a latency model's CDF failed");
  if (rc == COD_OK) *out_s = sum;
done:
  gsl_integration_workspace_free(ws);
  cod_free(cut);
  cod_free(c.p);
  return rc;
}
