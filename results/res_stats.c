/* res_stats.c: means, percentiles and their 95% intervals (see res_stats.h).
 *
 * Design. Everything works on a caller's array sorted in place, so a report of ten
 * thousand runs costs one sort per group and no allocation. The t quantiles are a table
 * (df <= 30, where the expansion is least accurate) and the Cornish-Fisher series in 1/df
 * above (Abramowitz and Stegun 26.7.5), which is within 1e-4 from df = 30 on. Sums are
 * compensated (Neumaier), so a mean does not depend on the order the rows arrived in
 * beyond the last bit.
 */
#include "res_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const stat_names[RES_STAT_COUNT_] = {
  [RES_STAT_MEAN] = "mean", [RES_STAT_P50] = "p50", [RES_STAT_P95] = "p95",
  [RES_STAT_P99] = "p99",   [RES_STAT_MAX] = "max",
};

const char *res_stat_name(res_stat s) {
  return (unsigned)s < RES_STAT_COUNT_ ? stat_names[s] : NULL;
}

int res_stat_parse(const char *name, res_stat *out, cod_err *err) {
  for (int i = 0; name && i < RES_STAT_COUNT_; i++)
    if (strcmp(name, stat_names[i]) == 0) {
      *out = (res_stat)i;
      return COD_OK;
    }
  return cod_err_set(err, COD_EINVAL, "unknown statistic '%s' (known: mean, p50, p95, p99, "
                     "max)", name ? name : "(null)");
}

double res_stats_t975(size_t df) {
  static const double t[31] = {NAN,    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365,
                               2.306,  2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
                               2.120,  2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069,
                               2.064,  2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
  if (df == 0) return NAN;
  if (df <= 30) return t[df];
  double z = 1.959963984540054, n = (double)df, z2 = z * z;
  double g1 = (z2 + 1) * z / 4;
  double g2 = ((5 * z2 + 16) * z2 + 3) * z / 96;
  double g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384;
  return z + g1 / n + g2 / (n * n) + g3 / (n * n * n);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Move the finite values to the front, sort them; return how many there are. */
static size_t sort_finite(double *x, size_t m) {
  size_t k = 0;
  for (size_t i = 0; i < m; i++)
    if (isfinite(x[i])) {
      double v = x[i];
      x[i] = x[k];
      x[k++] = v;
    }
  qsort(x, k, sizeof *x, cmp_double);
  return k;
}

double res_stats_rank(const double *x, size_t m, unsigned pct) {
  if (m == 0) return NAN;
  size_t r = (pct * m + 99) / 100;
  if (r < 1) r = 1;
  if (r > m) r = m;
  return x[r - 1];
}

/* Neumaier-compensated sum and sum of squared deviations. */
static void mean_sd(const double *x, size_t m, double *mean, double *sd) {
  double s = 0, c = 0;
  for (size_t i = 0; i < m; i++) {
    double t = s + x[i];
    c += fabs(s) >= fabs(x[i]) ? (s - t) + x[i] : (x[i] - t) + s;
    s = t;
  }
  *mean = (s + c) / (double)m;
  double ss = 0;
  for (size_t i = 0; i < m; i++) ss += (x[i] - *mean) * (x[i] - *mean);
  *sd = m > 1 ? sqrt(ss / (double)(m - 1)) : NAN;
}

res_estimate res_stats_estimate(double *x, size_t m, res_stat s) {
  res_estimate e = {NAN, NAN, NAN, 0};
  size_t k = sort_finite(x, m);
  e.m = k;
  if (k == 0) return e;
  if (s == RES_STAT_MEAN) {
    double mean, sd;
    mean_sd(x, k, &mean, &sd);
    e.value = mean;
    if (k >= 2) {
      double h = res_stats_t975(k - 1) * sd / sqrt((double)k);
      e.lo = mean - h, e.hi = mean + h;
    }
    return e;
  }
  if (s == RES_STAT_MAX) {
    e.value = e.lo = e.hi = x[k - 1];
    return e;
  }
  unsigned pct = s == RES_STAT_P50 ? 50 : s == RES_STAT_P95 ? 95 : 99;
  double q = pct / 100.0;
  e.value = res_stats_rank(x, k, pct);
  double mq = (double)k * q, h = 1.959963984540054 * sqrt(mq * (1 - q));
  double lo_r = floor(mq - h), hi_r = ceil(mq + h) + 1;
  if (lo_r < 1) lo_r = 1;
  if (hi_r > (double)k) hi_r = (double)k;
  e.lo = x[(size_t)lo_r - 1];
  e.hi = x[(size_t)hi_r - 1];
  return e;
}

void res_stats_p5_p95(double *x, size_t m, double *p5, double *p95) {
  size_t k = sort_finite(x, m);
  *p5 = res_stats_rank(x, k, 5);
  *p95 = res_stats_rank(x, k, 95);
}
