/* an_orderstat.h: expected order statistics of independent, non-identical completion times
 * (prefix an_orderstat_).
 *
 * The master of a coded layer decodes when the delta-th of its n workers has finished
 * (uncoded: the n-th; replication: every block has one finished copy). With workers of
 * several classes, or a law without a closed form for its order statistics (Pareto
 * shifted, bimodal, log-normal, markov, fail-stop, trace), the expectation is computed
 * numerically from the laws' CDFs (sim_latency_cdf):
 *   E[T] = integral_0^inf P(T > t) dt,
 * with P(T > t) from the workers' CDFs F_j(t) = P(T_j <= t):
 *   k-th of n   P(N_t < k), N_t = #{j : T_j <= t} Poisson-binomial, by the recursion
 *               p_j(i) = p_{j-1}(i) (1 - F_j) + p_{j-1}(i-1) F_j over workers, kept for
 *               i < k only (O(n k) per t);
 *   copies      1 - prod_b (1 - prod_{j in b} (1 - F_j(t))), worker j in block j mod B.
 * Worker j's time is T_j = offset_j + X_j, X_j its law's sample; the integral is split at
 * every offset_j + break point of its law (sim_latency_breaks: jumps and kinks), so that
 * the integrand is smooth on each piece: GSL's adaptive Gauss-Kronrod (QAG, 21 points) on
 * each piece to the relative tolerance of an_orderstat_tol; beyond the last cut a, the
 * pieces [a, 2a], [2a, 4a], ... until one adds less than epsrel of the sum and the
 * survival function there is below epsrel. When a law never returns
 * with some probability (fail-stop, a trace's `inf`), P(T = inf) = P(T > inf) =: s_inf
 * and the expectation is the one conditional on the layer being decodable:
 *   E[T | T < inf] = integral (P(T > t) - s_inf) / (1 - s_inf) dt,
 * the quantity the simulator's rows average (undecodable layers have no latency).
 *
 * Costs: one CDF call per worker and O(n k) per integrand value; each piece takes 21 or
 * more values. The functions allocate (breaks, the recursion's k doubles, GSL's workspace)
 * and free before returning; main() must have turned GSL's aborting error handler off,
 * every GSL status is checked.
 */
#ifndef FCDCC_AN_ORDERSTAT_H
#define FCDCC_AN_ORDERSTAT_H

#include <stddef.h>

#include "an_model.h"
#include "cod_status.h"
#include "sim_latency.h"

/* One worker's completion time T = offset_s + X, X a sample of `law` for a task of
 * nominal_s seconds on the law's worker index `worker`. Plain data; the law is borrowed. */
typedef struct an_orderstat_worker {
  const sim_latency *law;
  size_t worker;     /* the index the law knows the worker by (a trace's worker column) */
  double nominal_s;  /* >= 0 */
  double offset_s;   /* >= 0, finite: time added to the law's sample (transfers) */
} an_orderstat_worker;

/* Tolerances of the numerical integration. Plain data. */
typedef struct an_orderstat_tol {
  double epsrel;     /* relative tolerance of each piece of the integral, in (0, 1) */
  size_t limit;      /* most subintervals GSL may bisect one piece into, >= 1 */
} an_orderstat_tol;

/* The tolerances an_latency_expected uses: epsrel 1e-9, limit 200 (docs/analytic.md). */
an_orderstat_tol an_orderstat_tol_default(void);

/* Expected time until the master can decode, E[T | T < inf], for n >= 1 workers w:
 *   wait = AN_WAIT_DELTA_OF_N: T = the k-th smallest T_j, 1 <= k <= n;
 *   wait = AN_WAIT_ALL: the largest (k ignored);
 *   wait = AN_WAIT_COPIES: the largest over k blocks of the smallest of the block's copies,
 *     worker j in block j mod k, 1 <= k <= n.
 * COD_OK with *out_s; COD_EINVAL for bad n, k, tolerances, offsets or a law without a CDF
 * (a custom model) or that does not know a worker; COD_EUNDECODABLE when T = inf with
 * probability 1 (every worker can fail: too few can ever finish); COD_ENUMERIC when the
 * integral does not converge to the tolerance (a tail too heavy for the mean to be finite,
 * e.g. Pareto with alpha (n - k + 1) <= 1) or GSL fails; COD_ENOMEM. Messages say which.
 * *out_s untouched on error. */
int an_orderstat_mean(const an_orderstat_worker *w, size_t n, an_wait wait, size_t k,
                      const an_orderstat_tol *tol, double *out_s, cod_err *err);

#endif
