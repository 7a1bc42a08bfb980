/* an_calib.h: fitting the simulator's worker speed and master link to measured layers.
 *
 * The inverse of the latency model in an_model.h: given layers that really ran (the MPI
 * backend's rows, see docs/mpi.md), find the parameters under which the simulator predicts
 * them. Two independent fits over the usable samples:
 *   compute    t_compute = flops / rate: rate = the median over samples of flops/t_compute
 *              (a median, so the first run's page faults and warm-up do not drag it);
 *   transfers  t_comm = 2 latency_s + 8 bytes / bps, ordinary least squares in (a, b) of
 *              t_comm = a + b bytes, then latency_s = a/2, bps = 8/b. Special cases:
 *              bytes (nearly) constant -> only the intercept is identifiable: b = 0;
 *              a < 0 -> refit through the origin (a = 0, b = sum(B C)/sum(B^2));
 *              b <= 0 -> the transfers do not grow with bytes: bps unlimited, a = mean(C).
 * Each fit reports the rms of the relative residuals (prediction - measured)/measured.
 * an_calib_predict scores a fit on other samples (a held-out set) and splits its error
 * into the part the repeats of one real run explain (noise) and the rest.
 *
 * A pure function of its input: no I/O, no global state; it allocates a workspace of
 * O(n) through cod_alloc and frees it before returning. Thread-safe.
 */
#ifndef FCDCC_AN_CALIB_H
#define FCDCC_AN_CALIB_H

#include <stddef.h>
#include <stdint.h>

#include "cod_status.h"

/* Recommended det_rtol for an_calib_compute: the normal equations' determinant
 * n sum(B^2) - sum(B)^2 below det_rtol * n * sum(B^2) counts as "bytes constant". */
#define AN_CALIB_DET_RTOL 1e-12

/* One measured layer. Plain data; NaN marks an unknown value. */
typedef struct an_calib_sample {
  int64_t run_id;      /* the run it belongs to (only counted, see n_runs) */
  double t_compute_s;  /* compute time of the critical worker, s */
  double t_comm_s;     /* upload + download time of the layer, s */
  double flops;        /* flops of one used worker */
  double bytes;        /* the layer's whole traffic (every worker, up + down), bytes */
  int64_t group;       /* an_calib_predict: samples of equal group > 0 are repeats of the
                          same real run (same layer, same scenario point); 0 = none */
} an_calib_sample;

/* The fitted parameters. Plain data. */
typedef struct an_calib {
  size_t n_layers;     /* samples used */
  size_t n_runs;       /* distinct run_id among them */
  double rate_flops;   /* worker compute rate, flop/s (+inf if some t_compute is 0+) */
  double rate_rms;     /* rms relative residual of flops/rate_flops against t_compute */
  double latency_s;    /* one-way latency, s (>= 0) */
  double bps;          /* master link rate, bit/s; INFINITY = unlimited */
  double comm_rms;     /* rms relative residual of the transfer fit (samples with
                          t_comm_s <= 0 contribute 0) */
} an_calib;

/* Fit the model above to the n samples s[0..n-1] (s may be NULL when n == 0).
 * A sample is used when t_compute_s > 0, flops > 0 and bytes is finite; the others are
 * skipped (NaN fails these tests). A NaN t_comm_s of a used sample counts as 0 s, as the
 * measured layers of `fcdcc calibrate` always did. det_rtol: see AN_CALIB_DET_RTOL (>= 0).
 * Returns COD_OK with *out filled; COD_ENODATA if no sample is usable; COD_EINVAL if
 * det_rtol is negative or NaN; COD_ENUMERIC if the fit is not finite (sums overflowed by
 * huge times or byte counts; bps may still be +inf = unlimited); COD_ENOMEM. *out is
 * untouched on failure. */
int an_calib_compute(const an_calib_sample *s, size_t n, double det_rtol, an_calib *out,
                     cod_err *err);

/* How well a fit predicts measured layers (held out of the fit, or its own), and how much
 * of the error is run-to-run noise. Relative errors e = (predicted - measured) / measured
 * of the time the fit models, t = t_compute + t_comm, predicted as flops / rate_flops +
 * 2 latency_s + 8 bytes / bps. Plain data. */
typedef struct an_calib_eval {
  size_t n_layers, n_runs; /* usable samples (as an_calib_compute's rule) and their runs */
  double rms;          /* rms of e */
  double mean;         /* mean of e (the bias) */
  double max_abs;      /* largest |e| */
  double compute_rms;  /* rms relative error of the compute part alone */
  double comm_rms;     /* rms relative error of the transfer part alone (t_comm > 0 only) */
  size_t n_groups;     /* groups (an_calib_sample.group) with >= 2 samples */
  double noise_rms;    /* pooled relative standard deviation of t within those groups:
                          sqrt(sum_g sum_i (t_i - mean_g)^2 / mean_g^2 / sum_g (m_g - 1));
                          NaN without such a group */
  double rms_of_means; /* rms over those groups of the error against the group's mean
                          (the noise mostly averaged out); NaN without a group */
  double noise_share;  /* noise_rms^2 / rms^2, at most 1: the share of the mean squared
                          error that the repeats' spread explains; NaN without a group */
} an_calib_eval;

/* Evaluate fit on the n samples s (usable ones only, as an_calib_compute). COD_OK with
 * *out; COD_ENODATA if none is usable; COD_EINVAL for a fit with rate_flops or bps not
 * > 0 or latency_s not >= 0; COD_ENOMEM. *out untouched on failure. */
int an_calib_predict(const an_calib *fit, const an_calib_sample *s, size_t n,
                     an_calib_eval *out, cod_err *err);

#endif
