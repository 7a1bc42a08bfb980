/* an_alloc.h: expected layer latency under task allocation and per-task returns (an_).
 *
 * The protocol is runner/run_alloc.c's: worker j holds m_j coded tasks, its data arrives
 * at start_j, it computes them one after another, each task taking
 * nominal_j * (a_j + Exp(mu_j)) (the shifted-exponential law of its class), and the
 * master needs threshold-many task results (an MDS code: any threshold-many decode).
 *   per-task returns: task k of worker j arrives at
 *     start_j + nominal_j (k a_j + G_k / mu_j) + msg_j,      G_k ~ Gamma(k, 1)
 *   per-worker returns: all m_j arrive together at
 *     start_j + nominal_j (m_j a_j + G_m / mu_j) + m_j ser_j + lat
 * where msg_j = ser_j + lat is one result's serialisation on the uplink plus the
 * propagation latency. Per task, the count X_j(t) of worker j's results arrived by t has
 * P(X_j >= k) = P(G_k <= mu_j ((t - start_j - msg_j) / nominal_j - k a_j)), the workers are
 * independent, so P(T > t) = P(sum_j X_j(t) < threshold) is a convolution of n small
 * distributions (capped at threshold), and E[T] = t_0 + integral from t_0 of P(T > t) dt is
 * integrated numerically (composite Simpson on about `intervals` panels, split at the
 * instants a task's shift ends where the integrand has kinks, up to the time where
 * P(T > t) falls below tail_tol; both are parameters). The model assumes each message
 * finds the worker's uplink free (true when a task's shortest compute nominal_j a_j is at
 * least ser_j) and the master's NIC unlimited (the runner predicts nothing otherwise).
 * After Reisizadeh et al., "Coded computation over heterogeneous clusters", IEEE Trans.
 * IT 2019, whose HCMM analysis uses the same per-worker shifted-exponential model.
 *
 * Pure; allocates two arrays (2 threshold and tasks + 2 doubles) per call.
 */
#ifndef FCDCC_AN_ALLOC_H
#define FCDCC_AN_ALLOC_H

#include <stddef.h>

#include "cod_status.h"

/* One worker of the model. Seconds. */
typedef struct an_alloc_worker {
  size_t tasks;          /* m_j >= 1 coded tasks */
  double start_s;        /* its data has arrived (encode + upload), >= 0 */
  double nominal_s;      /* one task's flops / its compute rate, > 0 */
  double shift, rate;    /* shifted-exp per unit of nominal time: a >= 0, mu > 0 */
  double ser_s;          /* one task result's serialisation on its uplink, >= 0 */
  double latency_s;      /* propagation latency of one message, >= 0 */
} an_alloc_worker;

/* Numerical parameters (no hidden tolerances). */
typedef struct an_alloc_opts {
  size_t intervals;      /* Simpson panels over [t_0, t_end] (plus <= 2 per kink), even, >= 2 */
  double tail_tol;       /* t_end: P(T > t_end) < tail_tol, in (0, 1) */
} an_alloc_opts;

/* intervals = 512, tail_tol = 1e-10. */
an_alloc_opts an_alloc_opts_default(void);

/* Expected time (s, from the same origin as start_s) at which threshold task results of
 * the n workers have arrived, per_task = 1 for per-task returns, 0 for one message per
 * worker, into *out_s. COD_EINVAL (with a message) for n = 0, threshold = 0 or above the
 * total of tasks, a parameter out of its range or bad opts; COD_ENOMEM. */
int an_alloc_expected(const an_alloc_worker *w, size_t n, size_t threshold, int per_task,
                      const an_alloc_opts *opts, double *out_s, cod_err *err);

/* P(T > t) of the same model at one time t (s), into *out. Errors as an_alloc_expected. */
int an_alloc_tail(const an_alloc_worker *w, size_t n, size_t threshold, int per_task,
                  double t, double *out, cod_err *err);

#endif
