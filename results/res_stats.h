/* res_stats.h: the statistics every report and figure of a results database uses, in one
 * place so that a table and a figure of the same runs agree to the last digit.
 *
 * Intervals (docs/figures.md states them for readers):
 *   - a mean is given with a 95% Student t-interval, mean +- t(0.975, m - 1) s / sqrt(m),
 *     s the sample standard deviation of the m values; no interval for m < 2;
 *   - a percentile (p50, p95, p99) is the nearest-rank value (rank ceil(q m) of the m
 *     sorted values) with a distribution-free 95% order-statistic interval: the ranks
 *     m q -+ 1.96 sqrt(m q (1 - q)) (the normal approximation of the binomial count of
 *     values below the true quantile), rounded outwards and clamped to [1, m]; the max
 *     has the interval [its value, its value] (no sample can bound it from above).
 * Pure functions of their inputs: no allocation except where stated, no randomness.
 */
#ifndef FCDCC_RES_STATS_H
#define FCDCC_RES_STATS_H

#include <stddef.h>

#include "cod_status.h"

/* What to compute from a sample. */
typedef enum res_stat {
  RES_STAT_MEAN,
  RES_STAT_P50,
  RES_STAT_P95,
  RES_STAT_P99,
  RES_STAT_MAX,
  RES_STAT_COUNT_ /* number of statistics */
} res_stat;

/* One statistic with its 95% interval; lo = hi = NaN when there is none (m < 2 for a
 * mean). value is NaN for an empty sample. */
typedef struct res_estimate {
  double value, lo, hi;
  size_t m; /* number of (finite) values it was computed from */
} res_estimate;

/* "mean", "p50", "p95", "p99", "max"; NULL outside the enum. */
const char *res_stat_name(res_stat s);
/* The statistic named name into *out: COD_OK, or COD_EINVAL with the known names. */
int res_stat_parse(const char *name, res_stat *out, cod_err *err);

/* The two-sided 97.5% quantile of Student's t with df >= 1 degrees of freedom (exact
 * table for df <= 30, a Cornish-Fisher expansion above: error below 1e-4). */
double res_stats_t975(size_t df);

/* Statistic s of the m values x (non-finite values are skipped; x is SORTED IN PLACE
 * ascending, finite values first). Returns the estimate (value NaN if no finite value). */
res_estimate res_stats_estimate(double *x, size_t m, res_stat s);

/* The spread of a sample: the nearest-rank 5th and 95th percentiles of x (sorted in place
 * as above) into *p5 and *p95 (NaN if empty). */
void res_stats_p5_p95(double *x, size_t m, double *p5, double *p95);

/* Nearest-rank pct-th percentile (1 <= pct <= 100) of the m ascending finite values x:
 * x[ceil(pct m / 100) - 1], in integers (rank (pct m + 99) / 100); NaN if m == 0. */
double res_stats_rank(const double *x, size_t m, unsigned pct);

#endif
