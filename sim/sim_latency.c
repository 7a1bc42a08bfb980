/* sim_latency.c: the built-in latency laws, their registry and their closed forms.
 *
 * Each law is a small state struct, a static ops table and a constructor; sim_latency
 * itself is only (ops, state). Two static tables describe every law (the registry of
 * sim_latency.h): `laws` (name through ops, formula, traits, constructor) and `params`
 * (key, units, default, bounds, offset in sim_latency_params), so that defaults, bound
 * checks and the lists in messages are generated from one place and sim_latency_new_from
 * _params is a lookup, not a switch. FAIL_STOP owns a nested sim_latency for its
 * survivors. Closed forms:
 *   shifted exp: mean a + 1/mu; k-th of n: a + (H_n - H_{n-k})/mu (Renyi's representation
 *     of exponential order statistics as sums of independent Exp(mu (n-i)) spacings).
 *   Pareto: mean xm alpha/(alpha-1) (alpha > 1); k-th of n (X = xm U^{-1/alpha}, and the
 *     k-th smallest X is the (n-k+1)-th smallest U):
 *       xm * Gamma(n+1) Gamma(n-k+1-1/alpha) / (Gamma(n-k+1) Gamma(n+1-1/alpha)),
 *     finite iff n-k+1 > 1/alpha.
 *   bimodal: values {1, f}; the k-th of n equals f with a binomial probability.
 *   log-normal: mean shift + exp(mu + sigma^2 / 2); no closed form for order statistics
 *     (none is known; callers get COD_EINVAL, i.e. "no prediction").
 *   markov: stationary mean (1 - pi) (a_f + 1/mu_f) + pi (a_s + 1/mu_s), pi = S_s/(S_f+S_s).
 * Every law also has its CDF and the times where it jumps or kinks (ops cdf, breaks), so
 * that analytic/ can integrate order statistics of any mix of laws (an_orderstat.h).
 * All are per unit nominal duration and scaled by nominal_s.
 */
#include "sim_latency.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sf_gamma.h>

#include "cod_alloc.h"
#include "cod_file.h"
#include "sim_rng.h"

struct sim_latency {
  const sim_latency_ops *ops;
  void *state;
};

/* ---------------------------------------------------------------- closed forms -- */

double sim_harmonic(size_t n) {
  double h = 0.0;
  for (size_t i = n; i >= 1; i--) h += 1.0 / (double)i; /* small terms first */
  return h;
}

double sim_shexp_order_stat_mean(double a, double mu, size_t n, size_t k) {
  assert(k >= 1 && k <= n && a >= 0.0 && mu > 0.0);
  double s = 0.0;
  for (size_t i = n - k + 1; i <= n; i++) s += 1.0 / (double)i; /* H_n - H_{n-k} */
  return a + s / mu;
}

/* The sampled multiple of the nominal time that t_s seconds amount to: -1 for t_s < 0,
 * INFINITY for a task of no nominal time (its multiplicative samples are all 0). */
static double unit_of(double nominal, double t) {
  if (t < 0.0) return -1.0;
  return nominal > 0.0 ? t / nominal : INFINITY;
}

/* One break point, if room. */
static size_t put_break(double *at, size_t cap, size_t i, double v) {
  if (i < cap) at[i] = v;
  return i + 1;
}

/* ------------------------------------------------------------ deterministic ---- */

static int det_sample(void *st, gsl_rng *r, size_t w, double t0, double nominal,
                      double *out) {
  *out = nominal;
  return COD_OK;
}
static int det_mean(const void *st, double nominal, double *out) {
  *out = nominal;
  return COD_OK;
}
static int det_order(const void *st, double nominal, size_t n, size_t k, double *out) {
  *out = nominal;
  return COD_OK;
}
static double no_fail(const void *st) { return 0.0; }
static void plain_free(void *st) { cod_free(st); }

static int det_cdf(const void *st, size_t w, double nominal, double t, double *p) {
  *p = unit_of(nominal, t) >= 1.0 ? 1.0 : 0.0;
  return COD_OK;
}
static size_t det_breaks(const void *st, size_t w, double nominal, double *at, size_t cap) {
  return put_break(at, cap, 0, nominal);
}

static const sim_latency_ops det_ops = {"deterministic", det_sample, det_mean, det_order,
                                        no_fail, plain_free, det_cdf, det_breaks};

/* ------------------------------------------------------------- shifted exp ----- */

typedef struct shexp_state {
  double a, mu;
} shexp_state;

static int shexp_sample(void *st, gsl_rng *r, size_t w, double t0, double nominal,
                        double *out) {
  const shexp_state *s = st;
  *out = nominal * (s->a + gsl_ran_exponential(r, 1.0 / s->mu));
  return COD_OK;
}
static int shexp_mean(const void *st, double nominal, double *out) {
  const shexp_state *s = st;
  *out = nominal * (s->a + 1.0 / s->mu);
  return COD_OK;
}
static int shexp_order(const void *st, double nominal, size_t n, size_t k, double *out) {
  const shexp_state *s = st;
  *out = nominal * sim_shexp_order_stat_mean(s->a, s->mu, n, k);
  return COD_OK;
}
/* P(a + Exp(mu) <= y) per unit nominal time. */
static double shexp_unit_cdf(double a, double mu, double y) {
  return y <= a ? 0.0 : isinf(y) ? 1.0 : -expm1(-mu * (y - a));
}
static int shexp_cdf(const void *st, size_t w, double nominal, double t, double *p) {
  const shexp_state *s = st;
  *p = shexp_unit_cdf(s->a, s->mu, unit_of(nominal, t));
  return COD_OK;
}
static size_t shexp_breaks(const void *st, size_t w, double nominal, double *at, size_t cap) {
  const shexp_state *s = st;
  return put_break(at, cap, 0, nominal * s->a);
}
static const sim_latency_ops shexp_ops = {"shifted-exp", shexp_sample, shexp_mean,
                                          shexp_order, no_fail, plain_free, shexp_cdf,
                                          shexp_breaks};

/* ------------------------------------------------------------------ pareto ----- */

typedef struct pareto_state {
  double xm, alpha;
} pareto_state;

static int pareto_sample(void *st, gsl_rng *r, size_t w, double t0, double nominal,
                         double *out) {
  const pareto_state *s = st;
  *out = nominal * gsl_ran_pareto(r, s->alpha, s->xm);
  return COD_OK;
}
static int pareto_mean(const void *st, double nominal, double *out) {
  const pareto_state *s = st;
  *out = s->alpha > 1.0 ? nominal * s->xm * s->alpha / (s->alpha - 1.0) : INFINITY;
  return COD_OK;
}
static int pareto_order(const void *st, double nominal, size_t n, size_t k, double *out) {
  const pareto_state *s = st;
  double m = (double)(n - k + 1), ia = 1.0 / s->alpha;
  if (m <= ia) {
    *out = INFINITY;
    return COD_OK;
  }
  double lg = gsl_sf_lngamma((double)n + 1.0) - gsl_sf_lngamma(m) + gsl_sf_lngamma(m - ia) -
              gsl_sf_lngamma((double)n + 1.0 - ia);
  *out = nominal * s->xm * exp(lg);
  return COD_OK;
}
static int pareto_cdf(const void *st, size_t w, double nominal, double t, double *p) {
  const pareto_state *s = st;
  double y = unit_of(nominal, t);
  *p = y < s->xm ? 0.0 : isinf(y) ? 1.0 : -expm1(s->alpha * log(s->xm / y));
  return COD_OK;
}
static size_t pareto_breaks(const void *st, size_t w, double nominal, double *at,
                            size_t cap) {
  const pareto_state *s = st;
  return put_break(at, cap, 0, nominal * s->xm);
}
static const sim_latency_ops pareto_ops = {"pareto", pareto_sample, pareto_mean,
                                           pareto_order, no_fail, plain_free, pareto_cdf,
                                           pareto_breaks};

/* ----------------------------------------------------------------- bimodal ----- */

typedef struct bimodal_state {
  double p, factor;
} bimodal_state;

static int bimodal_sample(void *st, gsl_rng *r, size_t w, double t0, double nominal,
                          double *out) {
  const bimodal_state *s = st;
  *out = nominal * (gsl_rng_uniform(r) < s->p ? s->factor : 1.0);
  return COD_OK;
}
static int bimodal_mean(const void *st, double nominal, double *out) {
  const bimodal_state *s = st;
  *out = nominal * (1.0 + s->p * (s->factor - 1.0));
  return COD_OK;
}
static int bimodal_order(const void *st, double nominal, size_t n, size_t k, double *out) {
  const bimodal_state *s = st;
  /* P(k-th smallest == factor): if factor >= 1, fewer than k samples are 1, i.e.
   * #ones = Bin(n, 1-p) <= k-1; if factor < 1, at least k samples are `factor`. */
  double pf = s->factor >= 1.0
                  ? gsl_cdf_binomial_P((unsigned)(k - 1), 1.0 - s->p, (unsigned)n)
                  : gsl_cdf_binomial_Q((unsigned)(k - 1), s->p, (unsigned)n);
  *out = nominal * (1.0 + (s->factor - 1.0) * pf);
  return COD_OK;
}
static int bimodal_cdf(const void *st, size_t w, double nominal, double t, double *p) {
  const bimodal_state *s = st;
  double y = unit_of(nominal, t);
  *p = (1.0 - s->p) * (y >= 1.0) + s->p * (y >= s->factor);
  return COD_OK;
}
static size_t bimodal_breaks(const void *st, size_t w, double nominal, double *at,
                             size_t cap) {
  const bimodal_state *s = st;
  return put_break(at, cap, put_break(at, cap, 0, nominal), nominal * s->factor);
}
static const sim_latency_ops bimodal_ops = {"bimodal", bimodal_sample, bimodal_mean,
                                            bimodal_order, no_fail, plain_free, bimodal_cdf,
                                            bimodal_breaks};

/* --------------------------------------------------------------- log-normal ---- */

typedef struct lognormal_state {
  double shift, mu, sigma;
} lognormal_state;

static int lognormal_sample(void *st, gsl_rng *r, size_t w, double t0, double nominal,
                            double *out) {
  const lognormal_state *s = st;
  /* |mu| <= 100, sigma <= 10 and the polar method's |Z| <= sqrt(-2 ln r2) < 39 keep the
   * exponent below 500 < ln(DBL_MAX): every sample is finite */
  *out = nominal * (s->shift + gsl_ran_lognormal(r, s->mu, s->sigma));
  return COD_OK;
}
static int lognormal_mean(const void *st, double nominal, double *out) {
  const lognormal_state *s = st;
  *out = nominal * (s->shift + exp(s->mu + 0.5 * s->sigma * s->sigma));
  return COD_OK;
}
static int lognormal_cdf(const void *st, size_t w, double nominal, double t, double *p) {
  const lognormal_state *s = st;
  double y = unit_of(nominal, t) - s->shift;
  *p = y <= 0.0 ? 0.0 : isinf(y) ? 1.0 : gsl_cdf_lognormal_P(y, s->mu, s->sigma);
  return COD_OK;
}
static size_t lognormal_breaks(const void *st, size_t w, double nominal, double *at,
                               size_t cap) {
  const lognormal_state *s = st;
  return put_break(at, cap, 0, nominal * s->shift);
}
static const sim_latency_ops lognormal_ops = {"lognormal", lognormal_sample, lognormal_mean,
                                              NULL, no_fail, plain_free, lognormal_cdf,
                                              lognormal_breaks};

/* ------------------------------------------------------------------ markov ----- */

/* Per worker: the state of its two-state chain and the chain's own splitmix64 stream, so
 * that the trajectory of states does not depend on how many task durations were drawn
 * from the worker's stream in between (common random numbers across schemes). */
typedef struct markov_worker {
  int seeded;          /* the chain has started (at its first sample) */
  int slow;            /* current state: 1 slow, 0 fast */
  uint64_t key;        /* splitmix64 state of the chain's private stream */
  double next_switch_s; /* absolute time of the next switch */
} markov_worker;

typedef struct markov_state {
  double a[2], mu[2];  /* [0] fast, [1] slow: shifted-exp per unit nominal */
  double sojourn_s[2]; /* mean sojourn in each state, seconds */
  markov_worker *w;    /* SIM_LATENCY_WORKERS_MAX entries */
} markov_state;

/* A uniform in (0, 1) from the top 53 bits of the chain's next output. */
static double markov_uniform(uint64_t *key) {
  return ((double)(sim_splitmix64(key) >> 11) + 0.5) * 0x1.0p-53;
}

/* Bring worker w's chain to time t0 (seconds). A chain that has not run draws its key from
 * the worker's stream (two 32-bit words) and starts at time 0 in the stationary law, with
 * an exponential residual sojourn (memorylessness). Earlier times than the last switch
 * see the current state (the engine asks at non-decreasing times). After a gap of 40
 * relaxation times (gap * (1/S_f + 1/S_s) > 40, from the last switch or from time 0)
 * the chain has forgotten its state to within e^-40 < 2^-57, below double precision: it
 * restarts from the stationary law at t0, which bounds the work per sample. */
static void markov_advance(const markov_state *s, gsl_rng *r, markov_worker *w, double t0) {
  const double pslow = s->sojourn_s[1] / (s->sojourn_s[0] + s->sojourn_s[1]);
  const double relax = 1.0 / s->sojourn_s[0] + 1.0 / s->sojourn_s[1];
  double from = 0.0;
  if (!w->seeded) {
    uint64_t hi = gsl_rng_get(r) & 0xffffffffu, lo = gsl_rng_get(r) & 0xffffffffu;
    w->key = hi << 32 | lo;
    w->seeded = 1;
    if (t0 * relax > 40.0) from = t0; /* time 0 is forgotten by t0 as well */
  } else if (t0 < w->next_switch_s) {
    return;
  } else if ((t0 - w->next_switch_s) * relax <= 40.0) {
    while (t0 >= w->next_switch_s) {
      w->slow ^= 1;
      w->next_switch_s += -s->sojourn_s[w->slow] * log(markov_uniform(&w->key));
    }
    return;
  } else {
    from = t0;
  }
  w->slow = markov_uniform(&w->key) < pslow;
  w->next_switch_s = from - s->sojourn_s[w->slow] * log(markov_uniform(&w->key));
  while (t0 >= w->next_switch_s) {
    w->slow ^= 1;
    w->next_switch_s += -s->sojourn_s[w->slow] * log(markov_uniform(&w->key));
  }
}

static int markov_sample(void *st, gsl_rng *r, size_t wk, double t0, double nominal,
                         double *out) {
  markov_state *s = st;
  if (wk >= SIM_LATENCY_WORKERS_MAX) return COD_EINVAL;
  markov_worker *w = &s->w[wk];
  markov_advance(s, r, w, t0);
  const int k = w->slow;
  *out = nominal * (s->a[k] + gsl_ran_exponential(r, 1.0 / s->mu[k]));
  return COD_OK;
}
static int markov_mean(const void *st, double nominal, double *out) {
  const markov_state *s = st;
  const double ps = s->sojourn_s[1] / (s->sojourn_s[0] + s->sojourn_s[1]);
  *out = nominal * ((1.0 - ps) * (s->a[0] + 1.0 / s->mu[0]) + ps * (s->a[1] + 1.0 / s->mu[1]));
  return COD_OK;
}
static void markov_free(void *st) {
  markov_state *s = st;
  if (!s) return;
  cod_free(s->w);
  cod_free(s);
}
static int markov_cdf(const void *st, size_t w, double nominal, double t, double *p) {
  const markov_state *s = st;
  const double ps = s->sojourn_s[1] / (s->sojourn_s[0] + s->sojourn_s[1]);
  double y = unit_of(nominal, t);
  *p = (1.0 - ps) * shexp_unit_cdf(s->a[0], s->mu[0], y) +
       ps * shexp_unit_cdf(s->a[1], s->mu[1], y);
  return COD_OK;
}
static size_t markov_breaks(const void *st, size_t w, double nominal, double *at,
                            size_t cap) {
  const markov_state *s = st;
  return put_break(at, cap, put_break(at, cap, 0, nominal * s->a[0]), nominal * s->a[1]);
}
static const sim_latency_ops markov_ops = {"markov", markov_sample, markov_mean, NULL,
                                           no_fail, markov_free, markov_cdf, markov_breaks};

/* --------------------------------------------------------------- fail-stop ----- */

typedef struct failstop_state {
  double p;
  double *fail_at; /* n_fail_at entries, absolute seconds */
  size_t n_fail_at;
  sim_latency *base;
} failstop_state;

static int failstop_sample(void *st, gsl_rng *r, size_t w, double t0, double nominal,
                           double *out) {
  failstop_state *s = st;
  double u = gsl_rng_uniform(r), d;
  int rc = sim_latency_sample_at(s->base, r, w, t0, nominal, &d);
  if (rc != COD_OK) return rc;
  if (u < s->p) d = INFINITY;
  else if (w < s->n_fail_at && t0 + d > s->fail_at[w]) d = INFINITY;
  *out = d;
  return COD_OK;
}
static int failstop_mean(const void *st, double nominal, double *out) {
  const failstop_state *s = st;
  return sim_latency_mean(s->base, nominal, out);
}
static double failstop_p_fail(const void *st) {
  const failstop_state *s = st;
  return s->p;
}
static void failstop_free(void *st) {
  failstop_state *s = st;
  if (!s) return;
  sim_latency_free(s->base);
  cod_free(s->fail_at);
  cod_free(s);
}
static int failstop_cdf(const void *st, size_t w, double nominal, double t, double *p) {
  const failstop_state *s = st;
  double b;
  int rc = sim_latency_cdf(s->base, w, nominal, t, &b);
  if (rc == COD_OK) *p = (1.0 - s->p) * b;
  return rc;
}
static size_t failstop_breaks(const void *st, size_t w, double nominal, double *at,
                              size_t cap) {
  const failstop_state *s = st;
  return sim_latency_breaks(s->base, w, nominal, at, cap);
}
static const sim_latency_ops failstop_ops = {"fail-stop", failstop_sample, failstop_mean,
                                             NULL, failstop_p_fail, failstop_free,
                                             failstop_cdf, failstop_breaks};

/* ------------------------------------------------------------------- trace ----- */

typedef struct trace_state {
  int durations;    /* 1: values are seconds; 0: factors of the nominal */
  size_t n_workers;
  size_t *offset;   /* n_workers + 1: values of worker w are value[offset[w]..offset[w+1]) */
  size_t *cursor;   /* n_workers: next index relative to offset[w] */
  double *value;
} trace_state;

static int trace_sample(void *st, gsl_rng *r, size_t w, double t0, double nominal,
                        double *out) {
  trace_state *s = st;
  if (w >= s->n_workers) return COD_EINVAL;
  size_t len = s->offset[w + 1] - s->offset[w];
  double v = s->value[s->offset[w] + s->cursor[w]];
  s->cursor[w] = (s->cursor[w] + 1) % len;
  *out = s->durations ? v : (isinf(v) ? INFINITY : nominal * v);
  return COD_OK;
}
static void trace_free(void *st) {
  trace_state *s = st;
  if (!s) return;
  cod_free(s->offset);
  cod_free(s->cursor);
  cod_free(s->value);
  cod_free(s);
}
/* Worker w's value v as seconds for a task of nominal seconds. */
static double trace_seconds(const trace_state *s, double v, double nominal) {
  return s->durations ? v : (isinf(v) ? INFINITY : nominal * v);
}
static int trace_cdf(const void *st, size_t w, double nominal, double t, double *p) {
  const trace_state *s = st;
  if (w >= s->n_workers) return COD_EINVAL;
  size_t hit = 0, a = s->offset[w], b = s->offset[w + 1];
  for (size_t i = a; i < b; i++) {
    double d = trace_seconds(s, s->value[i], nominal);
    hit += isfinite(d) && d <= t; /* an `inf` value never returns */
  }
  *p = (double)hit / (double)(b - a);
  return COD_OK;
}
static size_t trace_breaks(const void *st, size_t w, double nominal, double *at, size_t cap) {
  const trace_state *s = st;
  if (w >= s->n_workers) return 0;
  size_t n = 0;
  for (size_t i = s->offset[w]; i < s->offset[w + 1]; i++) {
    double d = trace_seconds(s, s->value[i], nominal);
    if (isfinite(d)) n = put_break(at, cap, n, d);
  }
  return n;
}
static const sim_latency_ops trace_ops = {"trace", trace_sample, NULL, NULL, no_fail,
                                          trace_free, trace_cdf, trace_breaks};

/* Trim leading and trailing blanks in place; returns the start. */
static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
  return s;
}

/* Parsed rows before grouping by worker. */
typedef struct trace_rows {
  size_t n, cap;
  size_t *worker;
  double *value;
} trace_rows;

static int rows_push(trace_rows *rw, size_t w, double v) {
  if (rw->n == rw->cap) {
    size_t cap = rw->cap ? 2 * rw->cap : 64;
    size_t *wk = cod_realloc(rw->worker, cap * sizeof *wk);
    if (!wk) return COD_ENOMEM;
    rw->worker = wk;
    double *vl = cod_realloc(rw->value, cap * sizeof *vl);
    if (!vl) return COD_ENOMEM;
    rw->value = vl;
    rw->cap = cap;
  }
  rw->worker[rw->n] = w;
  rw->value[rw->n] = v;
  rw->n++;
  return COD_OK;
}

/* Parse one data line "worker,value" (already trimmed, non-empty). */
static int parse_row(char *line, const char *path, long lineno, size_t *w_out,
                     double *v_out, cod_err *err) {
  char *comma = strchr(line, ',');
  if (!comma)
    return cod_err_set(err, COD_EFORMAT, "%s:%ld: expected `worker,value`, got '%s'", path,
                       lineno, line);
  *comma = '\0';
  char *ws = trim(line), *vs = trim(comma + 1), *end;
  if (!isdigit((unsigned char)ws[0]))
    return cod_err_set(err, COD_EFORMAT, "%s:%ld: bad worker index '%s'", path, lineno, ws);
  errno = 0;
  unsigned long long w = strtoull(ws, &end, 10);
  if (*end != '\0' || errno == ERANGE || w > (unsigned long long)(SIZE_MAX / 2))
    return cod_err_set(err, COD_EFORMAT, "%s:%ld: bad worker index '%s'", path, lineno, ws);
  errno = 0;
  double v = strtod(vs, &end);
  if (vs[0] == '\0' || *end != '\0' || isnan(v) || v < 0.0 ||
      (isinf(v) && errno == ERANGE))
    return cod_err_set(err, COD_EFORMAT,
                       "%s:%ld: bad value '%s' (need a number >= 0 or inf)", path, lineno,
                       vs);
  *w_out = (size_t)w;
  *v_out = v;
  return COD_OK;
}

/* Read all rows of a trace file; sets *durations from the header. */
static int trace_read(const char *path, trace_rows *rw, int *durations, cod_err *err) {
  FILE *f = NULL;
  /* a regular file only: a FIFO would block the open, /dev/zero would never end */
  int orc = cod_file_fopen_regular(path, "trace", 0, &f, NULL, err);
  if (orc) return orc;
  char buf[257]; /* 255 characters, newline, NUL */
  long lineno = 0;
  int have_header = 0, rc = COD_OK, got;
  while ((got = cod_file_read_line(f, buf, sizeof buf)) != 0) {
    lineno++;
    if (got == 3) {
      rc = cod_err_set(err, COD_EFORMAT, "%s:%ld: NUL byte in a text file", path, lineno);
      break;
    }
    size_t len = strlen(buf);
    if (got == 2 || (len == sizeof buf - 1 && buf[len - 1] != '\n')) {
      rc = cod_err_set(err, COD_EFORMAT, "%s:%ld: line longer than 255 characters", path,
                       lineno);
      break;
    }
    char *line = trim(buf);
    if (line[0] == '\0' || line[0] == '#') continue;
    if (!have_header) {
      char *comma = strchr(line, ',');
      char *second = comma ? trim(comma + 1) : NULL;
      if (comma) *comma = '\0';
      if (!comma || strcmp(trim(line), "worker") != 0 ||
          (strcmp(second, "factor") != 0 && strcmp(second, "duration_s") != 0)) {
        rc = cod_err_set(err, COD_EFORMAT,
                         "%s:%ld: expected header `worker,factor` or `worker,duration_s`",
                         path, lineno);
        break;
      }
      *durations = strcmp(second, "duration_s") == 0;
      have_header = 1;
      continue;
    }
    size_t w = 0;
    double v = 0.0;
    rc = parse_row(line, path, lineno, &w, &v, err);
    if (rc != COD_OK) break;
    if (rows_push(rw, w, v) != COD_OK) {
      rc = cod_err_set(err, COD_ENOMEM, "%s:%ld: out of memory reading trace", path, lineno);
      break;
    }
  }
  if (rc == COD_OK && ferror(f))
    rc = cod_err_set(err, COD_EIO, "%s: read error", path);
  else if (rc == COD_OK && !have_header)
    rc = cod_err_set(err, COD_EFORMAT, "%s: empty trace (no header)", path);
  else if (rc == COD_OK && rw->n == 0)
    rc = cod_err_set(err, COD_EFORMAT, "%s: trace has a header but no rows", path);
  fclose(f);
  return rc;
}

static int trace_new(const char *path, void **out, cod_err *err) {
  if (!path) return cod_err_set(err, COD_EINVAL, "trace model needs trace_path");
  trace_rows rw = {0};
  int durations = 0;
  int rc = trace_read(path, &rw, &durations, err);
  trace_state *s = NULL;
  if (rc != COD_OK) goto done;
  size_t nw = 0;
  for (size_t i = 0; i < rw.n; i++)
    if (rw.worker[i] + 1 > nw) nw = rw.worker[i] + 1;
  if (nw > rw.n) {
    /* n rows cover at most n workers, so one of 0..n has none: report the first such
     * gap without sizing anything by a hostile worker index (found by fuzzing) */
    unsigned char *seen = cod_calloc(rw.n + 1, 1);
    if (!seen) {
      rc = cod_err_set(err, COD_ENOMEM, "%s: out of memory building trace", path);
      goto done;
    }
    for (size_t i = 0; i < rw.n; i++)
      if (rw.worker[i] <= rw.n) seen[rw.worker[i]] = 1;
    size_t gap = 0;
    while (seen[gap]) gap++;
    cod_free(seen);
    rc = cod_err_set(err, COD_EFORMAT, "%s: worker %zu has no rows (workers must be 0..%zu)",
                     path, gap, nw - 1);
    goto done;
  }
  s = cod_calloc(1, sizeof *s);
  if (s) {
    s->offset = cod_calloc(nw + 1, sizeof *s->offset);
    s->cursor = cod_calloc(nw, sizeof *s->cursor);
    s->value = cod_malloc_array(rw.n, sizeof *s->value);
  }
  if (!s || !s->offset || !s->cursor || !s->value) {
    rc = cod_err_set(err, COD_ENOMEM, "%s: out of memory building trace", path);
    goto done;
  }
  s->durations = durations;
  s->n_workers = nw;
  for (size_t i = 0; i < rw.n; i++) s->offset[rw.worker[i] + 1]++;
  for (size_t w = 0; w < nw; w++) {
    if (s->offset[w + 1] == 0) {
      rc = cod_err_set(err, COD_EFORMAT, "%s: worker %zu has no rows (workers must be 0..%zu)",
                       path, w, nw - 1);
      goto done;
    }
    s->offset[w + 1] += s->offset[w];
  }
  /* Stable counting sort: cursor[] doubles as the fill position, then is reset. */
  for (size_t i = 0; i < rw.n; i++) {
    size_t w = rw.worker[i];
    s->value[s->offset[w] + s->cursor[w]++] = rw.value[i];
  }
  memset(s->cursor, 0, nw * sizeof *s->cursor);
  *out = s;
  s = NULL;
done:
  trace_free(s);
  cod_free(rw.worker);
  cod_free(rw.value);
  return rc;
}

/* ------------------------------------------------------------ construction ----- */

int sim_latency_new(const sim_latency_ops *ops, void *state, sim_latency **out,
                    cod_err *err) {
  assert(ops && ops->sample && ops->p_fail && out);
  sim_latency *m = cod_malloc(sizeof *m);
  if (!m) return cod_err_set(err, COD_ENOMEM, "out of memory allocating a latency model");
  m->ops = ops;
  m->state = state;
  *out = m;
  return COD_OK;
}

void sim_latency_free(sim_latency *m) {
  if (!m) return;
  if (m->ops->free) m->ops->free(m->state);
  cod_free(m);
}

/* Hand a freshly allocated state to the caller, or report that the allocation failed. */
static int put_state(void *s, void **out, cod_err *err) {
  if (!s) return cod_err_set(err, COD_ENOMEM, "out of memory allocating a latency model");
  *out = s;
  return COD_OK;
}

/* Allocate a copy of a small POD state. */
static void *state_dup(const void *src, size_t n) {
  void *s = cod_malloc(n);
  if (s) memcpy(s, src, n);
  return s;
}

static int det_make(const sim_latency_params *p, void **out, cod_err *err) {
  return put_state(cod_malloc(1), out, err);
}
static int shexp_make(const sim_latency_params *p, void **out, cod_err *err) {
  return put_state(state_dup(&(shexp_state){p->shift, p->rate}, sizeof(shexp_state)), out,
                   err);
}
static int pareto_make(const sim_latency_params *p, void **out, cod_err *err) {
  return put_state(state_dup(&(pareto_state){p->pareto_scale, p->pareto_shape},
                             sizeof(pareto_state)), out, err);
}
static int bimodal_make(const sim_latency_params *p, void **out, cod_err *err) {
  return put_state(state_dup(&(bimodal_state){p->bimodal_p, p->bimodal_factor},
                             sizeof(bimodal_state)), out, err);
}
static int lognormal_make(const sim_latency_params *p, void **out, cod_err *err) {
  lognormal_state s = {p->lognormal_shift, p->lognormal_mu, p->lognormal_sigma};
  return put_state(state_dup(&s, sizeof s), out, err);
}
static int trace_make(const sim_latency_params *p, void **out, cod_err *err) {
  return trace_new(p->trace_path, out, err);
}

static int markov_make(const sim_latency_params *p, void **out, cod_err *err) {
  markov_state *s = cod_calloc(1, sizeof *s);
  if (s) s->w = cod_calloc(SIM_LATENCY_WORKERS_MAX, sizeof *s->w);
  if (!s || !s->w) {
    markov_free(s);
    return cod_err_set(err, COD_ENOMEM, "out of memory allocating a markov model");
  }
  s->a[0] = p->markov_fast_shift, s->mu[0] = p->markov_fast_rate;
  s->a[1] = p->markov_slow_shift, s->mu[1] = p->markov_slow_rate;
  s->sojourn_s[0] = p->markov_fast_sojourn_s, s->sojourn_s[1] = p->markov_slow_sojourn_s;
  *out = s;
  return COD_OK;
}

static int failstop_make(const sim_latency_params *p, void **out, cod_err *err) {
  if (p->n_fail_at && !p->fail_at_s)
    return cod_err_set(err, COD_EINVAL, "n_fail_at = %zu but fail_at_s is NULL", p->n_fail_at);
  for (size_t i = 0; i < p->n_fail_at; i++)
    if (isnan(p->fail_at_s[i]) || p->fail_at_s[i] < 0.0)
      return cod_err_set(err, COD_EINVAL, "fail_at_s[%zu] = %g must be >= 0", i,
                         p->fail_at_s[i]);
  failstop_state *s = cod_calloc(1, sizeof *s);
  if (!s) return cod_err_set(err, COD_ENOMEM, "out of memory allocating a fail-stop model");
  s->p = p->fail_p;
  s->n_fail_at = p->n_fail_at;
  if (p->n_fail_at) {
    s->fail_at = cod_malloc_array(p->n_fail_at, sizeof *s->fail_at);
    if (!s->fail_at) {
      failstop_free(s);
      return cod_err_set(err, COD_ENOMEM, "out of memory copying %zu fail times",
                         p->n_fail_at);
    }
    memcpy(s->fail_at, p->fail_at_s, p->n_fail_at * sizeof *s->fail_at);
  }
  sim_latency_params bp = *p;
  bp.kind = p->base_kind;
  int rc = sim_latency_new_from_params(&bp, &s->base, err);
  if (rc != COD_OK) {
    failstop_free(s);
    return rc;
  }
  *out = s;
  return COD_OK;
}

/* ---------------------------------------------------------------- registry ----- */

#define PARAM(law, field, expect, dflt, lo, hi, lo_open)                                  \
  {#field, expect, dflt, lo, hi, lo_open, law, offsetof(sim_latency_params, field)}

/* Every real parameter, law by law in the order of `laws`. The keys are the scenario
 * keys, so they are unique over all laws; the expect texts are what scenario messages
 * print after "expected". */
static const sim_latency_param params[] = {
  PARAM(SIM_LAT_SHIFTED_EXP, shift, "a real >= 0 (multiple of the nominal compute time)",
        1.0, 0.0, INFINITY, 0),
  PARAM(SIM_LAT_SHIFTED_EXP, rate, "a real > 0 (per unit of nominal compute time)", 1.0,
        0.0, INFINITY, 1),
  PARAM(SIM_LAT_PARETO, pareto_scale, "a real > 0 (multiple of nominal time)", 1.0, 0.0,
        INFINITY, 1),
  PARAM(SIM_LAT_PARETO, pareto_shape, "a real > 0 (tail index)", 2.0, 0.0, INFINITY, 1),
  PARAM(SIM_LAT_BIMODAL, bimodal_p, "a probability in [0, 1]", 0.1, 0.0, 1.0, 0),
  PARAM(SIM_LAT_BIMODAL, bimodal_factor, "a real >= 0 (multiplier)", 5.0, 0.0, INFINITY,
        0),
  PARAM(SIM_LAT_FAIL_STOP, fail_p, "a probability in [0, 1]", 0.0, 0.0, 1.0, 0),
  PARAM(SIM_LAT_LOGNORMAL, lognormal_shift,
        "a real >= 0 (floor, multiple of the nominal compute time)", 1.0, 0.0, INFINITY, 0),
  PARAM(SIM_LAT_LOGNORMAL, lognormal_mu,
        "a real in [-100, 100] (mean of the log of the multiple above the floor)", -0.5,
        -100.0, 100.0, 0),
  PARAM(SIM_LAT_LOGNORMAL, lognormal_sigma,
        "a real in (0, 10] (standard deviation of that log)", 1.0, 0.0, 10.0, 1),
  PARAM(SIM_LAT_MARKOV, markov_fast_shift,
        "a real >= 0 (fast state's shift, multiple of the nominal compute time)", 1.0, 0.0,
        INFINITY, 0),
  PARAM(SIM_LAT_MARKOV, markov_fast_rate,
        "a real > 0 (fast state's rate, per unit of nominal compute time)", 1.0, 0.0,
        INFINITY, 1),
  PARAM(SIM_LAT_MARKOV, markov_slow_shift,
        "a real >= 0 (slow state's shift, multiple of the nominal compute time)", 5.0, 0.0,
        INFINITY, 0),
  PARAM(SIM_LAT_MARKOV, markov_slow_rate,
        "a real > 0 (slow state's rate, per unit of nominal compute time)", 0.2, 0.0,
        INFINITY, 1),
  PARAM(SIM_LAT_MARKOV, markov_fast_sojourn_s,
        "a time > 0 in seconds (mean stay in the fast state)", 1.0, 0.0, INFINITY, 1),
  PARAM(SIM_LAT_MARKOV, markov_slow_sojourn_s,
        "a time > 0 in seconds (mean stay in the slow state)", 0.1, 0.0, INFINITY, 1),
};
#define N_PARAMS (sizeof params / sizeof params[0])
_Static_assert(N_PARAMS <= SIM_LATENCY_PARAMS_MAX, "raise SIM_LATENCY_PARAMS_MAX");

/* Indexed by sim_latency_kind; first_param/n_params index `params`. */
static const sim_latency_law laws[] = {
  [SIM_LAT_SHIFTED_EXP] = {&shexp_ops, "t * (shift + X), X ~ Exp(rate)", 0, 0, 2, shexp_make},
  [SIM_LAT_PARETO] = {&pareto_ops, "t * Y, Y ~ Pareto(scale pareto_scale, shape pareto_shape)",
                      0, 2, 2, pareto_make},
  [SIM_LAT_BIMODAL] = {&bimodal_ops, "t * bimodal_factor with probability bimodal_p, else t",
                       0, 4, 2, bimodal_make},
  [SIM_LAT_FAIL_STOP] = {&failstop_ops,
                         "the base law's time; lost with probability fail_p or after the "
                         "worker's scheduled failure", SIM_LAT_WRAPS_BASE, 6, 1, failstop_make},
  [SIM_LAT_DETERMINISTIC] = {&det_ops, "t", 0, 7, 0, det_make},
  [SIM_LAT_TRACE] = {&trace_ops, "replayed from a CSV trace (factors of t, or durations)",
                     SIM_LAT_READS_TRACE, 7, 0, trace_make},
  [SIM_LAT_LOGNORMAL] = {&lognormal_ops,
                         "t * (lognormal_shift + X), ln X ~ N(lognormal_mu, lognormal_sigma^2)",
                         0, 7, 3, lognormal_make},
  [SIM_LAT_MARKOV] = {&markov_ops,
                      "t * (shift_s + Exp(rate_s)) in the worker's state s (fast or slow), "
                      "which switches after Exp sojourns of mean markov_fast_sojourn_s / "
                      "markov_slow_sojourn_s seconds", 0, 10, 6, markov_make},
};
_Static_assert(sizeof laws / sizeof laws[0] == SIM_LAT_KINDS, "one registry row per kind");

size_t sim_latency_law_count(void) { return SIM_LAT_KINDS; }

const sim_latency_law *sim_latency_law_get(size_t kind) {
  assert(kind < SIM_LAT_KINDS);
  return &laws[kind];
}

const char *sim_latency_law_name(size_t kind) { return sim_latency_law_get(kind)->ops->name; }

size_t sim_latency_law_names(char *buf, size_t cap, unsigned without) {
  size_t n = 0, shown = 0, total = 0;
  for (size_t k = 0; k < SIM_LAT_KINDS; k++) total += !(laws[k].traits & without);
  if (cap) buf[0] = '\0';
  for (size_t k = 0; k < SIM_LAT_KINDS; k++) {
    if (laws[k].traits & without) continue;
    const char *sep = shown == 0 ? "" : shown + 1 == total ? " or " : ", ";
    int w = snprintf(cap > n ? buf + n : NULL, cap > n ? cap - n : 0, "%s%s", sep,
                     laws[k].ops->name);
    n += (size_t)w;
    shown++;
  }
  return n;
}

int sim_latency_law_find(const char *name, size_t *kind, cod_err *err) {
  assert(name && kind);
  for (size_t k = 0; k < SIM_LAT_KINDS; k++)
    if (strcmp(name, laws[k].ops->name) == 0) {
      *kind = k;
      return COD_OK;
    }
  char known[256];
  sim_latency_law_names(known, sizeof known, 0);
  return cod_err_set(err, COD_EINVAL, "unknown latency law '%.80s' (known: %s)", name, known);
}

size_t sim_latency_param_count(void) { return N_PARAMS; }

const sim_latency_param *sim_latency_param_get(size_t i) {
  assert(i < N_PARAMS);
  return &params[i];
}

int sim_latency_param_find(const char *key) {
  for (size_t i = 0; i < N_PARAMS; i++)
    if (strcmp(key, params[i].key) == 0) return (int)i;
  return -1;
}

double sim_latency_params_get(const sim_latency_params *p, size_t i) {
  assert(p && i < N_PARAMS);
  double v;
  memcpy(&v, (const char *)p + params[i].offset, sizeof v);
  return v;
}

void sim_latency_params_set(sim_latency_params *p, size_t i, double v) {
  assert(p && i < N_PARAMS);
  memcpy((char *)p + params[i].offset, &v, sizeof v);
}

int sim_latency_param_accepts(size_t i, double v) {
  assert(i < N_PARAMS);
  const sim_latency_param *q = &params[i];
  return isfinite(v) && v >= q->lo && v <= q->hi && !(q->lo_open && v <= q->lo);
}

void sim_latency_params_default(sim_latency_params *p) {
  assert(p);
  memset(p, 0, sizeof *p);
  p->kind = SIM_LAT_SHIFTED_EXP;
  p->base_kind = SIM_LAT_DETERMINISTIC;
  for (size_t i = 0; i < N_PARAMS; i++) sim_latency_params_set(p, i, params[i].dflt);
  p->fail_at_s = NULL;
  p->n_fail_at = 0;
  p->trace_path = NULL;
}

/* The parameters of law `kind` in p are within their bounds. */
static int check_law_params(const sim_latency_params *p, size_t kind, cod_err *err) {
  const sim_latency_law *L = &laws[kind];
  for (size_t i = L->first_param; i < L->first_param + L->n_params; i++) {
    double v = sim_latency_params_get(p, i);
    if (!sim_latency_param_accepts(i, v))
      return cod_err_set(err, COD_EINVAL, "%s %s = %g: expected %s", L->ops->name,
                         params[i].key, v, params[i].expect);
  }
  return COD_OK;
}

static int unknown_kind(const char *field, int kind, cod_err *err) {
  char known[256];
  sim_latency_law_names(known, sizeof known, 0);
  return cod_err_set(err, COD_EINVAL, "unknown latency law %s %d (known: 0 .. %d = %s)",
                     field, kind, SIM_LAT_KINDS - 1, known);
}

int sim_latency_params_check(const sim_latency_params *p, cod_err *err) {
  assert(p);
  if ((unsigned)p->kind >= SIM_LAT_KINDS) return unknown_kind("kind", (int)p->kind, err);
  int rc = check_law_params(p, p->kind, err);
  if (rc != COD_OK || !(laws[p->kind].traits & SIM_LAT_WRAPS_BASE)) return rc;
  if ((unsigned)p->base_kind >= SIM_LAT_KINDS)
    return unknown_kind("base_kind", (int)p->base_kind, err);
  if (laws[p->base_kind].traits & SIM_LAT_WRAPS_BASE)
    return cod_err_set(err, COD_EINVAL, "%s base_kind %s must not wrap a base law itself",
                       laws[p->kind].ops->name, laws[p->base_kind].ops->name);
  return check_law_params(p, p->base_kind, err);
}

int sim_latency_new_from_params(const sim_latency_params *p, sim_latency **out,
                                cod_err *err) {
  assert(p && out);
  int rc = sim_latency_params_check(p, err);
  if (rc != COD_OK) return rc;
  const sim_latency_law *L = &laws[p->kind];
  void *state = NULL;
  if ((rc = L->make(p, &state, err)) != COD_OK) return rc;
  rc = sim_latency_new(L->ops, state, out, err);
  if (rc != COD_OK) L->ops->free(state);
  return rc;
}

/* ---------------------------------------------------------------- dispatch ----- */

const char *sim_latency_name(const sim_latency *m) { return m->ops->name; }

int sim_latency_sample_at(sim_latency *m, gsl_rng *r, size_t worker, double start_s,
                          double nominal_s, double *out_s) {
  assert(m && r && out_s && nominal_s >= 0.0 && !isnan(start_s));
  return m->ops->sample(m->state, r, worker, start_s, nominal_s, out_s);
}

int sim_latency_sample(sim_latency *m, gsl_rng *r, size_t worker, double nominal_s,
                       double *out_s) {
  return sim_latency_sample_at(m, r, worker, 0.0, nominal_s, out_s);
}

int sim_latency_mean(const sim_latency *m, double nominal_s, double *out_s) {
  assert(m && out_s);
  if (!m->ops->mean) return COD_EINVAL;
  return m->ops->mean(m->state, nominal_s, out_s);
}

int sim_latency_order_stat_mean(const sim_latency *m, double nominal_s, size_t n, size_t k,
                                double *out_s) {
  assert(m && out_s);
  if (!m->ops->order_stat_mean || k < 1 || k > n) return COD_EINVAL;
  return m->ops->order_stat_mean(m->state, nominal_s, n, k, out_s);
}

double sim_latency_p_fail(const sim_latency *m) { return m->ops->p_fail(m->state); }

int sim_latency_cdf(const sim_latency *m, size_t worker, double nominal_s, double t_s,
                    double *out_p) {
  assert(m && out_p && nominal_s >= 0.0 && !isnan(t_s));
  if (!m->ops->cdf) return COD_EINVAL;
  return m->ops->cdf(m->state, worker, nominal_s, t_s, out_p);
}

size_t sim_latency_breaks(const sim_latency *m, size_t worker, double nominal_s, double *at,
                          size_t cap) {
  assert(m && (at || cap == 0) && nominal_s >= 0.0);
  if (!m->ops->breaks) return 0;
  return m->ops->breaks(m->state, worker, nominal_s, at, cap);
}
