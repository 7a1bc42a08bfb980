/* sim_stats.h: the statistics of a stream of observations (response times) in memory that
 * does not grow with the number of observations.
 *
 * A simulator of a request stream sees millions of response times and must report their
 * mean and tail quantiles with confidence intervals without keeping them. sim_stats keeps
 * (1) the exact count, sum and sum of squares, min and max, (2) a log-spaced histogram
 * (bins of ratio SIM_STATS_RATIO between SIM_STATS_LO_S and SIM_STATS_HI_S, plus an
 * underflow and an overflow bin) from which quantiles are read to within half a bin
 * (0.5 % relative), and (3) the same per batch, for SIM_STATS_BATCHES consecutive batches
 * of a known number of observations each: the 95 % confidence interval of every statistic
 * is by the method of non-overlapping batch means (Law & Kelton, "Simulation Modeling and
 * Analysis", ch. 9.5): the statistic computed per batch, and Student's t with B - 1
 * degrees of freedom over the B batch values. Observations are placed in batches by the
 * caller's index (request id), so the batches are consecutive stretches of the stream.
 * Memory: (SIM_STATS_BATCHES + 1) histograms of sim_stats_bins() 32-bit counts, allocated
 * once by sim_stats_new. Values are seconds (any positive unit works the same).
 */
#ifndef FCDCC_SIM_STATS_H
#define FCDCC_SIM_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "cod_status.h"

#define SIM_STATS_BATCHES 20   /* batches of the batch-means confidence intervals */
#define SIM_STATS_LO_S 1e-7    /* lowest histogram edge */
#define SIM_STATS_HI_S 1e5     /* highest histogram edge */
#define SIM_STATS_RATIO 1.01   /* ratio of consecutive bin edges */

typedef struct sim_stats sim_stats;

/* A summary: NaN where there are no observations (CI: fewer than 2 non-empty batches). */
typedef struct sim_stats_summary {
  uint64_t count;
  double mean, mean_ci;        /* mean and the half-width of its 95 % CI */
  double p50, p50_ci, p95, p95_ci, p99, p99_ci; /* quantiles and their CI half-widths */
  double min, max;
  size_t batches;              /* non-empty batches the CIs come from */
} sim_stats_summary;

/* New statistics for observations indexed 0..expected-1 (batch of index i: i / ceil(
 * expected / SIM_STATS_BATCHES); indices beyond go to the last batch). expected >= 1.
 * COD_OK, or COD_ENOMEM / COD_EINVAL (expected = 0) with a message; *out untouched. */
int sim_stats_new(uint64_t expected, sim_stats **out, cod_err *err);
void sim_stats_free(sim_stats *s); /* accepts NULL */

/* Add observation x (finite, >= 0) of index i. Never fails. */
void sim_stats_add(sim_stats *s, uint64_t i, double x);

/* The quantile q in (0, 1) of the observations so far (NaN if none): the geometric middle of
 * the histogram bin that holds the ceil(q * count)-th smallest, clamped to [min, max]. */
double sim_stats_quantile(const sim_stats *s, double q);

/* Everything at once. */
void sim_stats_summarize(const sim_stats *s, sim_stats_summary *out);

/* Number of histogram bins (without under- and overflow). */
size_t sim_stats_bins(void);

#endif
