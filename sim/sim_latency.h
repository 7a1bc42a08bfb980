/* sim_latency.h: worker latency models (prefix sim_latency_).
 *
 * A latency model turns a nominal duration, the seconds a task takes at the worker's
 * nominal rate, into a sampled duration, or into +INFINITY ("never returns") for a failed
 * worker. Models are one polymorphic axis, so they follow the house pattern: a
 * `const sim_latency_ops *` table plus a state pointer, wrapped in an opaque sim_latency.
 * The built-in models, all multiplicative in the nominal duration:
 *   SHIFTED_EXP   nominal * (a + Exp(mu)), a >= 0, mu > 0. The standard straggler model of
 *                 coded computing (Lee, Lam, Pedarsani, Papailiopoulos, Ramchandran,
 *                 "Speeding up distributed machine learning using codes", IEEE Trans. Inf.
 *                 Theory 64(3), 2018): T = (1/delta)(a + Exp(mu)) per unit of work.
 *   PARETO        nominal * X, X ~ Pareto(scale xm, shape alpha): heavy-tailed stragglers.
 *   BIMODAL       nominal * factor with probability p, else nominal * 1.
 *   DETERMINISTIC nominal.
 *   FAIL_STOP     never with probability p; additionally a worker w with a scheduled
 *                 failure time fail_at[w] (absolute simulated seconds) never returns a task
 *                 that would end after fail_at[w]. Survivors' durations come from a wrapped
 *                 base model (any kind but FAIL_STOP). The failure uniform and the base
 *                 sample are both always drawn, so changing p keeps the survivors'
 *                 durations identical for a given stream (common random numbers).
 *   TRACE         replay of a CSV file, see below.
 *
 * Trace CSV format. The first non-comment line is a header, either `worker,factor`
 * (values multiply the nominal duration) or `worker,duration_s` (values are durations in
 * seconds and the nominal is ignored). Every other line is `<worker>,<value>`: worker a
 * decimal integer >= 0, value a finite number >= 0 or `inf` (a failure). Blank lines and
 * lines starting with '#' are skipped; spaces around fields are allowed; lines are at most
 * 255 characters. Workers must be 0..W-1 with at least one row each. The j-th sample
 * drawn for worker w uses its (j mod n_w)-th value in file order (cycling), so a trace
 * model carries a per-worker cursor and results depend on the order of sampling (which
 * the engine makes deterministic). Errors are reported as `path:line: message`.
 *
 * Sampling is O(1) and never allocates; building a trace model is O(file size). Models
 * are not thread-safe (a trace mutates its cursors).
 */
#ifndef FCDCC_SIM_LATENCY_H
#define FCDCC_SIM_LATENCY_H

#include <stddef.h>

#include <gsl/gsl_rng.h>

#include "cod_status.h"

typedef enum sim_latency_kind {
  SIM_LAT_SHIFTED_EXP = 0, /* the default */
  SIM_LAT_DETERMINISTIC = 1,
  SIM_LAT_PARETO = 2,
  SIM_LAT_BIMODAL = 3,
  SIM_LAT_FAIL_STOP = 4,
  SIM_LAT_TRACE = 5
} sim_latency_kind;

/* All parameters of all built-in models; each kind reads only its fields. Plain data;
 * start from sim_latency_params_default(). */
typedef struct sim_latency_params {
  sim_latency_kind kind;
  sim_latency_kind base_kind; /* FAIL_STOP: the survivors' model (not FAIL_STOP) */
  double shift;               /* SHIFTED_EXP: a >= 0 (dimensionless, per unit nominal) */
  double rate;                /* SHIFTED_EXP: mu > 0 */
  double pareto_scale;        /* PARETO: xm > 0 */
  double pareto_shape;        /* PARETO: alpha > 0 (mean finite iff alpha > 1) */
  double bimodal_p;           /* BIMODAL: probability of the `factor` mode, in [0, 1] */
  double bimodal_factor;      /* BIMODAL: multiplier of the rare mode, >= 0 */
  double fail_p;              /* FAIL_STOP: probability a sample never returns, [0, 1] */
  const double *fail_at_s;    /* FAIL_STOP: per-worker absolute failure time in seconds,
                                 +INFINITY = none; NULL or workers >= n_fail_at: none.
                                 Copied by the constructor. */
  size_t n_fail_at;
  const char *trace_path;     /* TRACE: CSV file (format above); read by the constructor */
} sim_latency_params;

typedef struct sim_latency sim_latency;

/* The operations of one model kind. `state` is the model's private state. */
typedef struct sim_latency_ops {
  const char *name;
  /* Draw one duration in seconds (+INFINITY = never) for a task of nominal_s seconds
   * starting at absolute time start_s on `worker`. COD_OK or COD_EINVAL (worker unknown
   * to the model). Must not touch *out_s on failure. */
  int (*sample)(void *state, gsl_rng *r, size_t worker, double start_s, double nominal_s,
                double *out_s);
  /* Mean of a returning sample; NULL if no closed form. */
  int (*mean)(const void *state, double nominal_s, double *out_s);
  /* Mean of the k-th smallest of n iid samples; NULL if no closed form. */
  int (*order_stat_mean)(const void *state, double nominal_s, size_t n, size_t k,
                         double *out_s);
  /* Probability that one sample is +INFINITY, ignoring scheduled failure times. */
  double (*p_fail)(const void *state);
  void (*free)(void *state);
} sim_latency_ops;

/* Fill p with the defaults: SHIFTED_EXP with a = 1, mu = 1; base_kind DETERMINISTIC;
 * Pareto xm = 1, alpha = 2; bimodal p = 0.1, factor 5; fail_p = 0; no fail times; no
 * trace. */
void sim_latency_params_default(sim_latency_params *p);

/* Build a model from parameters. Errors: COD_EINVAL for out-of-range parameters (message
 * names the field), COD_EIO / COD_EFORMAT for trace files (`path:line: ...`), COD_ENOMEM.
 * On success *out owns the model (sim_latency_free); on failure *out is untouched. */
int sim_latency_new_from_params(const sim_latency_params *p, sim_latency **out,
                                cod_err *err);

/* Wrap a custom model: on success the model owns `state` (ops->free is called on it by
 * sim_latency_free); on failure (COD_ENOMEM) ownership stays with the caller. */
int sim_latency_new(const sim_latency_ops *ops, void *state, sim_latency **out,
                    cod_err *err);

/* Free a model. Accepts NULL. */
void sim_latency_free(sim_latency *m);

/* The model's kind name ("shifted_exp", "pareto", ...). */
const char *sim_latency_name(const sim_latency *m);

/* Sample a duration in seconds for a task of nominal_s >= 0 seconds on `worker`, assuming
 * it starts at absolute time 0 (see _sample_at for scheduled failures). COD_OK, or
 * COD_EINVAL if the worker is unknown to the model (a trace without that worker);
 * *out_s untouched on failure. */
int sim_latency_sample(sim_latency *m, gsl_rng *r, size_t worker, double nominal_s,
                       double *out_s);

/* As sim_latency_sample for a task starting at absolute time start_s (seconds), which
 * scheduled failures (FAIL_STOP fail_at) compare against. */
int sim_latency_sample_at(sim_latency *m, gsl_rng *r, size_t worker, double start_s,
                          double nominal_s, double *out_s);

/* Closed-form mean of one returning (finite) sample. COD_EINVAL when the model has none
 * (trace, custom models without `mean`). May be +INFINITY (Pareto with alpha <= 1). */
int sim_latency_mean(const sim_latency *m, double nominal_s, double *out_s);

/* Closed-form mean of the k-th smallest of n iid samples, 1 <= k <= n, for shifted-exp,
 * deterministic, Pareto and bimodal models; COD_EINVAL otherwise or for bad n, k. */
int sim_latency_order_stat_mean(const sim_latency *m, double nominal_s, size_t n, size_t k,
                                double *out_s);

/* Probability that one sample never returns, ignoring scheduled failure times. */
double sim_latency_p_fail(const sim_latency *m);

/* Harmonic number H_n = sum_{i=1..n} 1/i (H_0 = 0). */
double sim_harmonic(size_t n);

/* E[k-th smallest of n iid (a + Exp(mu))] = a + (H_n - H_{n-k}) / mu, per unit nominal
 * duration; 1 <= k <= n, a >= 0, mu > 0 (asserted). */
double sim_shexp_order_stat_mean(double a, double mu, size_t n, size_t k);

#endif
