/* sim_latency.h: worker latency models (prefix sim_latency_).
 *
 * A latency model turns a nominal duration, the seconds a task takes at the worker's
 * nominal rate, into a sampled duration, or into +INFINITY ("never returns") for a failed
 * worker. Models are one polymorphic axis, so they follow the house pattern: a
 * `const sim_latency_ops *` table plus a state pointer, wrapped in an opaque sim_latency.
 * The built-in laws, all multiplicative in the nominal duration t:
 *   shifted-exp   t * (shift + Exp(rate)), shift >= 0, rate > 0. The standard straggler
 *                 model of coded computing (Lee, Lam, Pedarsani, Papailiopoulos,
 *                 Ramchandran, "Speeding up distributed machine learning using codes", IEEE
 *                 Trans. Inf. Theory 64(3), 2018): T = (1/delta)(a + Exp(mu)) per unit work.
 *   pareto        t * X, X ~ Pareto(scale xm, shape alpha): heavy-tailed stragglers.
 *   bimodal       t * factor with probability p, else t * 1.
 *   fail-stop     never with probability p; additionally a worker w with a scheduled
 *                 failure time fail_at[w] (absolute simulated seconds) never returns a task
 *                 that would end after fail_at[w]. Survivors' durations come from a wrapped
 *                 base law (any law that does not wrap one itself). The failure uniform and
 *                 the base sample are both always drawn, so changing p keeps the survivors'
 *                 durations identical for a given stream (common random numbers).
 *   deterministic t.
 *   trace         replay of a CSV file, see below.
 *   lognormal     t * (shift + exp(mu + sigma Z)), Z ~ N(0, 1): a multiplicative
 *                 (log-normal) slowdown above a floor; shift >= 0, |mu| <= 100,
 *                 0 < sigma <= 10 (bounds that keep every sample a finite double).
 *   markov        bursty, correlated stragglers: each worker is in a fast or a slow state
 *                 and draws t * (a_s + Exp(mu_s)) with its state s's own shifted-exp
 *                 parameters; the state is a continuous-time Markov chain in simulated
 *                 time with exponential sojourns of means markov_fast_sojourn_s and
 *                 markov_slow_sojourn_s (seconds), so the stationary share of slow time is
 *                 S_slow / (S_fast + S_slow). The state at a task's start governs the whole
 *                 task. The chains live in the model (one per worker, up to
 *                 SIM_LATENCY_WORKERS_MAX), so they persist across layers and requests for
 *                 as long as the model does; each starts in the stationary law at time 0
 *                 and runs on its own splitmix64 stream keyed by two draws from the
 *                 worker's stream at its first sample, so the trajectory of states is the
 *                 same whatever else is drawn (common random numbers across schemes).
 *                 Cost per sample: the switches since the last one (at most ~40
 *                 relaxation times' worth, after which the chain is restarted from its
 *                 stationary law, exact to double precision).
 *
 * The registry. Laws are an axis that grows, so this module owns the one table that
 * describes them (the house pattern of gsl_rng_type): per law its name (the one spelling
 * used in scenario files, messages and sim_latency_name), a formula for help texts, its
 * traits, its real parameters and its constructor; per parameter its scenario key (unique
 * over all laws), the accepted values with units, the default and the bounds. Callers
 * (the runner's scenario keys, the analytic model, the CLI) look laws up by name or by
 * index here and keep no list of their own. Adding a law: an enumerator below, its
 * fields in sim_latency_params, its rows in the two tables of sim_latency.c, its ops
 * (sample, free, and its CDF with its break points, which the analytic model integrates).
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

/* The built-in laws: the index of each in the registry (sim_latency_law_get). The order
 * is the order of help texts and messages. */
typedef enum sim_latency_kind {
  SIM_LAT_SHIFTED_EXP = 0, /* the default */
  SIM_LAT_PARETO = 1,
  SIM_LAT_BIMODAL = 2,
  SIM_LAT_FAIL_STOP = 3,
  SIM_LAT_DETERMINISTIC = 4,
  SIM_LAT_TRACE = 5,
  SIM_LAT_LOGNORMAL = 6,
  SIM_LAT_MARKOV = 7,
  SIM_LAT_KINDS = 8        /* number of built-in laws (sim_latency_law_count) */
} sim_latency_kind;

/* All parameters of all built-in laws; each kind reads only its fields. Plain data;
 * start from sim_latency_params_default(). The real parameters are described (key,
 * units, default, bounds) by the parameter registry (sim_latency_param_get), which also
 * gives generic access to them by index; the doubles below are dimensionless multiples
 * of the nominal time t unless said otherwise. */
typedef struct sim_latency_params {
  sim_latency_kind kind;
  sim_latency_kind base_kind; /* FAIL_STOP: the survivors' law (one that wraps none) */
  double shift;               /* SHIFTED_EXP: a >= 0 (dimensionless, per unit nominal) */
  double rate;                /* SHIFTED_EXP: mu > 0 */
  double pareto_scale;        /* PARETO: xm > 0 */
  double pareto_shape;        /* PARETO: alpha > 0 (mean finite iff alpha > 1) */
  double bimodal_p;           /* BIMODAL: probability of the `factor` mode, in [0, 1] */
  double bimodal_factor;      /* BIMODAL: multiplier of the rare mode, >= 0 */
  double fail_p;              /* FAIL_STOP: probability a sample never returns, [0, 1] */
  double lognormal_shift;     /* LOGNORMAL: floor >= 0 (multiple of t) */
  double lognormal_mu;        /* LOGNORMAL: mean of the underlying normal (log of a
                                 multiple of t), [-100, 100] */
  double lognormal_sigma;     /* LOGNORMAL: its standard deviation, (0, 10] */
  double markov_fast_shift;   /* MARKOV: fast state's shifted-exp a >= 0 */
  double markov_fast_rate;    /* MARKOV: fast state's mu > 0 */
  double markov_slow_shift;   /* MARKOV: slow state's a >= 0 */
  double markov_slow_rate;    /* MARKOV: slow state's mu > 0 */
  double markov_fast_sojourn_s; /* MARKOV: mean stay in the fast state, seconds > 0 */
  double markov_slow_sojourn_s; /* MARKOV: mean stay in the slow state, seconds > 0 */
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
  /* P(sample <= t_s) for a task of nominal_s on `worker` (a never-returning sample is
   * never <= t_s, so the CDF tends to 1 - p_fail), for a task started at a stationary
   * moment (markov: the stationary mixture of its states) and ignoring scheduled failure
   * times. COD_OK or COD_EINVAL (worker unknown to the model); NULL: no CDF. */
  int (*cdf)(const void *state, size_t worker, double nominal_s, double t_s, double *out_p);
  /* The times (seconds) at which that CDF jumps or has a kink, so that it is smooth
   * between them: writes at most cap of them to at and returns how many there are (which
   * may exceed cap). Unordered, duplicates allowed. NULL with cdf. */
  size_t (*breaks)(const void *state, size_t worker, double nominal_s, double *at,
                   size_t cap);
} sim_latency_ops;

/* ---- the registry ---------------------------------------------------------------- */

#define SIM_LATENCY_PARAMS_MAX 24
/* Workers a per-worker law (markov) keeps state for; a sample for a worker at or above it
 * is COD_EINVAL. Not below coding's COD_WORKERS_MAX (the runner asserts it). */
#define SIM_LATENCY_WORKERS_MAX 4096 /* bound on sim_latency_param_count() (asserted) */

/* One real parameter of a law. Plain data. */
typedef struct sim_latency_param {
  const char *key;    /* scenario key, unique over all laws: "shift", "pareto_scale", ... */
  const char *expect; /* the accepted values with units, for messages and help texts */
  double dflt;        /* default, within the bounds */
  double lo, hi;      /* a value v is accepted iff finite, v >= lo (v > lo if lo_open) and
                         v <= hi; lo may be -INFINITY, hi INFINITY */
  int lo_open;
  sim_latency_kind law; /* the law it belongs to */
  size_t offset;      /* of its double in sim_latency_params */
} sim_latency_param;

/* Traits of a law, for callers that must treat some laws specially without naming them. */
enum {
  SIM_LAT_WRAPS_BASE = 1u,  /* draws survivors from params.base_kind (fail-stop) */
  SIM_LAT_READS_TRACE = 2u  /* needs params.trace_path (trace) */
};

/* One law. Plain data; the registry's rows are static and immutable. */
typedef struct sim_latency_law {
  const sim_latency_ops *ops; /* ops->name is the law's name, its one spelling */
  const char *formula;        /* the sampled time of a task of nominal time t */
  unsigned traits;            /* SIM_LAT_* trait bits */
  size_t first_param;         /* its parameters: registry indices first_param .. */
  size_t n_params;            /* .. first_param + n_params - 1 */
  /* Constructor of the model state from parameters whose reals are already within their
   * bounds; checks the rest (pointer inputs). COD_OK with *state owned by the caller
   * (ops->free), else an error as for sim_latency_new_from_params, *state untouched. */
  int (*make)(const sim_latency_params *p, void **state, cod_err *err);
} sim_latency_law;

/* Number of built-in laws (SIM_LAT_KINDS). */
size_t sim_latency_law_count(void);
/* The law of index kind < sim_latency_law_count() (asserted). */
const sim_latency_law *sim_latency_law_get(size_t kind);
/* Name of law kind (asserts kind < count): "shifted-exp", "pareto", ... */
const char *sim_latency_law_name(size_t kind);
/* Find a law by name. COD_OK with *kind set, or COD_EINVAL with a message listing the
 * known names ("unknown latency law 'x' (known: shifted-exp, pareto, ...)"); *kind
 * untouched then. */
int sim_latency_law_find(const char *name, size_t *kind, cod_err *err);
/* Write the names of the laws that have none of the trait bits `without` to buf as
 * "a, b, c or d" (NUL-terminated, truncated to cap bytes). Returns the length the full
 * text needs (as snprintf). */
size_t sim_latency_law_names(char *buf, size_t cap, unsigned without);

/* Number of real parameters over all laws (<= SIM_LATENCY_PARAMS_MAX), law by law in
 * registry order. */
size_t sim_latency_param_count(void);
/* Parameter i < sim_latency_param_count() (asserted). */
const sim_latency_param *sim_latency_param_get(size_t i);
/* Index of the parameter with scenario key `key`, or -1. */
int sim_latency_param_find(const char *key);
/* Parameter i of p (asserts i < count). */
double sim_latency_params_get(const sim_latency_params *p, size_t i);
/* Set parameter i of p to v (asserts i < count; v is checked when a model is built). */
void sim_latency_params_set(sim_latency_params *p, size_t i, double v);
/* 1 if v is an accepted value of parameter i (finite and within its bounds), else 0. */
int sim_latency_param_accepts(size_t i, double v);

/* ---- models ---------------------------------------------------------------------- */

/* Fill p with the registry's defaults: SHIFTED_EXP with a = 1, mu = 1; base_kind
 * DETERMINISTIC; Pareto xm = 1, alpha = 2; bimodal p = 0.1, factor 5; fail_p = 0;
 * log-normal shift 1, mu -0.5, sigma 1 (mean 1 + e^0 = 2, as the shifted-exp default);
 * markov fast (1, 1), slow (5, 0.2), sojourns 1 s fast and 0.1 s slow (slow share 1/11);
 * no fail times; no trace. */
void sim_latency_params_default(sim_latency_params *p);

/* Check that p->kind is a known law and that the real parameters of that law are within
 * their bounds (for fail-stop, also those of the base law, which must wrap none). COD_OK,
 * or COD_EINVAL with a message naming the law and the parameter key ("shifted-exp rate =
 * 0: expected a real > 0 ..."). Pointer inputs (trace_path, fail_at_s) are not checked
 * here. */
int sim_latency_params_check(const sim_latency_params *p, cod_err *err);

/* Build a model from parameters through the registry. Errors: COD_EINVAL for an unknown
 * kind or out-of-range parameters (sim_latency_params_check; the message names the
 * field), COD_EIO / COD_EFORMAT for trace files (`path:line: ...`), COD_ENOMEM. On
 * success *out owns the model (sim_latency_free); on failure *out is untouched. */
int sim_latency_new_from_params(const sim_latency_params *p, sim_latency **out,
                                cod_err *err);

/* Wrap a custom model: on success the model owns `state` (ops->free is called on it by
 * sim_latency_free); on failure (COD_ENOMEM) ownership stays with the caller. */
int sim_latency_new(const sim_latency_ops *ops, void *state, sim_latency **out,
                    cod_err *err);

/* Free a model. Accepts NULL. */
void sim_latency_free(sim_latency *m);

/* The model's name: for a built-in law its registry name ("shifted-exp", "fail-stop",
 * ...), for a custom model its ops->name. */
const char *sim_latency_name(const sim_latency *m);

/* Sample a duration in seconds for a task of nominal_s >= 0 seconds on `worker`, assuming
 * it starts at absolute time 0 (see _sample_at for scheduled failures). COD_OK, or
 * COD_EINVAL if the worker is unknown to the model (a trace without that worker, a markov
 * worker >= SIM_LATENCY_WORKERS_MAX);
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
 * deterministic, Pareto and bimodal models; COD_EINVAL otherwise (log-normal, fail-stop,
 * trace, custom models without it) or for bad n, k. */
int sim_latency_order_stat_mean(const sim_latency *m, double nominal_s, size_t n, size_t k,
                                double *out_s);

/* Probability that one sample never returns, ignoring scheduled failure times. */
double sim_latency_p_fail(const sim_latency *m);

/* The law's CDF (ops->cdf): *out_p = P(a sample for a task of nominal_s >= 0 seconds on
 * `worker` is <= t_s seconds), in [0, 1 - p_fail]; t_s < 0 gives 0. Every built-in law
 * has one (trace: the empirical CDF of that worker's values; markov: the stationary
 * mixture; fail-stop: (1 - fail_p) times the base law's). COD_OK; COD_EINVAL for a worker
 * the model does not know or a model without a CDF; *out_p untouched then. */
int sim_latency_cdf(const sim_latency *m, size_t worker, double nominal_s, double t_s,
                    double *out_p);

/* The jump and kink times (s) of that CDF (ops->breaks), at most cap written to at (which
 * may be NULL when cap is 0); returns their number, or 0 for a model without a CDF. */
size_t sim_latency_breaks(const sim_latency *m, size_t worker, double nominal_s, double *at,
                          size_t cap);

/* Harmonic number H_n = sum_{i=1..n} 1/i (H_0 = 0). */
double sim_harmonic(size_t n);

/* E[k-th smallest of n iid (a + Exp(mu))] = a + (H_n - H_{n-k}) / mu, per unit nominal
 * duration; 1 <= k <= n, a >= 0, mu > 0 (asserted). */
double sim_shexp_order_stat_mean(double a, double mu, size_t n, size_t k);

#endif
