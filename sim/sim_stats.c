/* sim_stats.c: bounded-memory mean, quantiles and batch-means confidence intervals (see
 * sim_stats.h). Bin index of x: floor(log(x / LO) / log(RATIO)) + 1, with 0 the underflow
 * and nbins + 1 the overflow bin; a quantile walks the cumulative counts once, so a
 * summary costs a few passes over ~2800 counts per batch. */
#include "sim_stats.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "cod_alloc.h"

typedef struct hist {
  uint64_t count;
  double sum, sumsq, min, max;
  uint32_t *bins; /* nbins + 2 */
} hist;

struct sim_stats {
  uint64_t batch_size;
  size_t nb;            /* bins per histogram including under/overflow */
  hist all, batch[SIM_STATS_BATCHES];
  uint32_t *block;      /* every histogram's bins, one allocation */
};

size_t sim_stats_bins(void) {
  return (size_t)ceil(log(SIM_STATS_HI_S / SIM_STATS_LO_S) / log(SIM_STATS_RATIO));
}

static void hist_reset(hist *h, uint32_t *bins) {
  h->count = 0, h->sum = h->sumsq = 0;
  h->min = INFINITY, h->max = -INFINITY;
  h->bins = bins;
}

int sim_stats_new(uint64_t expected, sim_stats **out, cod_err *err) {
  if (expected == 0) return cod_err_set(err, COD_EINVAL, "statistics of no observations");
  sim_stats *s = cod_calloc(1, sizeof *s);
  size_t nb = sim_stats_bins() + 2;
  uint32_t *block = s ? cod_calloc((SIM_STATS_BATCHES + 1) * nb, sizeof *block) : NULL;
  if (!block) {
    cod_free(s);
    return cod_err_set(err, COD_ENOMEM, "out of memory for the latency statistics");
  }
  s->nb = nb, s->block = block;
  s->batch_size = (expected + SIM_STATS_BATCHES - 1) / SIM_STATS_BATCHES;
  hist_reset(&s->all, block);
  for (size_t b = 0; b < SIM_STATS_BATCHES; b++) hist_reset(&s->batch[b], block + (b + 1) * nb);
  *out = s;
  return COD_OK;
}

void sim_stats_free(sim_stats *s) {
  if (!s) return;
  cod_free(s->block);
  cod_free(s);
}

static size_t bin_of(const sim_stats *s, double x) {
  if (!(x >= SIM_STATS_LO_S)) return 0;
  double b = floor(log(x / SIM_STATS_LO_S) / log(SIM_STATS_RATIO)) + 1.0;
  return b >= (double)(s->nb - 1) ? s->nb - 1 : (size_t)b;
}

static void hist_add(hist *h, size_t bin, double x) {
  h->count++, h->sum += x, h->sumsq += x * x;
  if (x < h->min) h->min = x;
  if (x > h->max) h->max = x;
  h->bins[bin]++;
}

void sim_stats_add(sim_stats *s, uint64_t i, double x) {
  assert(isfinite(x) && x >= 0);
  size_t bin = bin_of(s, x);
  uint64_t b = i / s->batch_size;
  if (b >= SIM_STATS_BATCHES) b = SIM_STATS_BATCHES - 1;
  hist_add(&s->all, bin, x);
  hist_add(&s->batch[b], bin, x);
}

static double hist_quantile(const sim_stats *s, const hist *h, double q) {
  if (h->count == 0) return NAN;
  uint64_t rank = (uint64_t)ceil(q * (double)h->count), cum = 0;
  if (rank < 1) rank = 1;
  size_t b = 0;
  for (; b < s->nb; b++) {
    cum += h->bins[b];
    if (cum >= rank) break;
  }
  double v;
  if (b == 0) v = h->min;
  else if (b == s->nb - 1) v = h->max;
  else v = SIM_STATS_LO_S * pow(SIM_STATS_RATIO, (double)(b - 1) + 0.5);
  return fmin(fmax(v, h->min), h->max);
}

double sim_stats_quantile(const sim_stats *s, double q) { return hist_quantile(s, &s->all, q); }

/* Half-width of the 95 % CI of a statistic from its per-batch values v[0..k-1]. */
static double ci_half(const double *v, size_t k) {
  if (k < 2) return NAN;
  double m = 0, ss = 0;
  for (size_t i = 0; i < k; i++) m += v[i];
  m /= (double)k;
  for (size_t i = 0; i < k; i++) ss += (v[i] - m) * (v[i] - m);
  double sd = sqrt(ss / (double)(k - 1));
  return gsl_cdf_tdist_Pinv(0.975, (double)(k - 1)) * sd / sqrt((double)k);
}

void sim_stats_summarize(const sim_stats *s, sim_stats_summary *o) {
  memset(o, 0, sizeof *o);
  const hist *a = &s->all;
  o->count = a->count;
  o->mean = a->count ? a->sum / (double)a->count : NAN;
  o->p50 = hist_quantile(s, a, 0.50);
  o->p95 = hist_quantile(s, a, 0.95);
  o->p99 = hist_quantile(s, a, 0.99);
  o->min = a->count ? a->min : NAN;
  o->max = a->count ? a->max : NAN;
  double vm[SIM_STATS_BATCHES], v50[SIM_STATS_BATCHES], v95[SIM_STATS_BATCHES],
      v99[SIM_STATS_BATCHES];
  size_t k = 0;
  for (size_t b = 0; b < SIM_STATS_BATCHES; b++) {
    const hist *h = &s->batch[b];
    if (!h->count) continue;
    vm[k] = h->sum / (double)h->count;
    v50[k] = hist_quantile(s, h, 0.50);
    v95[k] = hist_quantile(s, h, 0.95);
    v99[k] = hist_quantile(s, h, 0.99);
    k++;
  }
  o->batches = k;
  o->mean_ci = ci_half(vm, k);
  o->p50_ci = ci_half(v50, k);
  o->p95_ci = ci_half(v95, k);
  o->p99_ci = ci_half(v99, k);
}
