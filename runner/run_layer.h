/* run_layer.h: the protocol of ONE coded convolution layer on a simulated cluster.
 *
 * This is the one place where a CNN layer, a code and the event engine meet:
 *   master encodes (real) -> uploads through the master NIC and each worker's downlink
 *   -> each worker's compute time is sampled from its latency model -> when a worker's
 *   compute event fires, its result travels back over its uplink and the master's
 *   receiving NIC -> the REAL convolution on its coded pieces is evaluated when that
 *   result reaches the master (work whose result would arrive after the decode is never
 *   done: the protocol allows skipping it, and the numbers are the same either way) ->
 *   as soon as the results that have arrived are decodable, the master decodes them
 *   (real) and cancels everything still pending.
 * Workers whose task never ends (fail-stop) are counted when they fail; once too few
 * workers remain the layer is undecodable at that simulated time. A worker whose
 * assignment exceeds its storage refuses it. With compute = model nothing numeric is
 * done: bytes and times are the same, only the numbers are skipped.
 *
 * Time: the engine's integer nanoseconds. Master encode/decode time is either modelled
 * (flops / master_flops, deterministic) or the measured wall time of the real work
 * times speed_factor. Same config and seed give the same events, rows and numbers
 * (measured timing aside).
 */
#ifndef FCDCC_RUN_LAYER_H
#define FCDCC_RUN_LAYER_H

#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "cod_code.h"
#include "res_db.h"
#include "run_cache.h"
#include "run_config.h"
#include "sim_engine.h"
#include "sim_link.h"

/* The workers.class value of a worker whose run_config_worker() index is klass: the
 * name of its [class NAME] (borrowed from c: copy it before c changes) or "default"
 * (static) for klass < 0. */
const char *run_class_name(const run_config *c, int klass);

/* One event of the optional trace. */
typedef struct run_trace_ev {
  int64_t t_ns;
  const char *kind;        /* string constant */
  int64_t worker;          /* -1 if none */
} run_trace_ev;

/* Outcome of one layer. */
typedef struct run_layer_out {
  const char *status;      /* RES_STATUS_* string constant */
  const char *conv_algo;   /* the workers' slab convolution algorithm (cod_conv_algo_name),
                              NULL in model-only runs and where a backend does not say */
  double t_start_s, t_end_s;   /* simulated, absolute */
  double t_encode_s, t_upload_s, t_compute_s, t_download_s, t_decode_s; /* phases of the
                                  critical worker (the one whose arrival made it decodable) */
  double cpu_encode_s, cpu_compute_s, cpu_decode_s; /* real CPU seconds */
  double cond;             /* of the recovery matrix used; NaN if none */
  char error_msg[160];     /* why status is error ("" for a singular decode, and when not
                              error): RUN_MSG_HORIZON or a numeric failure's message */
  size_t used[COD_WORKERS_MAX], n_used; /* cod_code.h bounds every worker set */
  /* stragglers = worst: the worst-conditioned worker set found (the only workers that
   * return; the others fail at once), its condition number, the sets examined and
   * whether that was all C(n, delta) of them. n_worst = 0 for random stragglers. */
  size_t worst_set[COD_WORKERS_MAX], n_worst;
  double worst_cond;
  size_t worst_sets_tried;
  int worst_exhaustive;
  size_t n_numeric;        /* workers whose bf16/fp16 operands overflowed (no result) */
  res_worker_row *workers; /* n entries, owned (cod_free): the backend fills each row
                              (worker, class, bytes, flops, status, t_finish_s) directly;
                              worker_class is borrowed from cfg and layer_index is left
                              to the caller, which copies the rows into its run_result */
  run_trace_ev *trace;     /* owned; NULL unless tracing */
  size_t n_trace, cap_trace;
} run_layer_out;

void run_layer_out_fini(run_layer_out *o);

/* The error_msg of a layer whose simulated time would pass SIM_TIME_HORIZON_NS (a random
 * draw, a measured wall time times speed_factor, a trace entry): an outcome of the run,
 * recorded as status error, never an overflow. */
#define RUN_MSG_HORIZON "simulated time beyond horizon (2^62 ns, about 146 years)"

/* Grow-only buffers for the coded inputs, results and worker workspace, kept by the
 * caller across layers and runs so that a sweep does not map and fault fresh memory for
 * every layer. Zero-initialise; release with run_scratch_fini. */
typedef struct run_worst_entry run_worst_entry;
typedef struct run_scratch {
  double *cx, *res;
  void *work, *dwork, *ework;      /* worker convolution, decoder and encoder workspaces */
  size_t cx_len, res_len, work_bytes, dwork_bytes, ework_bytes;
  void *cols;                      /* column matrices of the distinct coded inputs */
  size_t cols_bytes;
  /* stragglers = worst: the worst sets already searched, one per code (scheme, n, k_A,
   * k_B, q) and search (worst_sets, seed), so a sweep thread searches each once. The
   * condition number of a set depends on the code's matrices only, not on the layer. */
  run_worst_entry *worst;
  size_t n_worst, cap_worst;
  /* runner/run_alloc.c: the last analytic prediction and its inputs (owned), so the trials
   * of one sweep point integrate it once */
  void *alloc_an;
  size_t alloc_an_bytes;
  /* condition numbers of used sets, per code (run_cache.h; made on first use), and the
   * workers' generators, re-keyed from run to run */
  run_cond_cache *cond_cache;
  run_rng_pool rng;
} run_scratch;

void run_scratch_fini(run_scratch *s);

/* The cluster's state that lives for a whole run: the latency model of each worker class,
 * each worker's random streams (latency, and noise when the run has noise) and the
 * master's two NICs on the run's engine. Streams are keyed by (seed, trial, worker) and
 * drawn across the layers in order, so a run is reproducible and a trial's draws are the
 * same for every scheme (common random numbers). A trace latency model is read once per
 * run and its per-worker cursors advance from layer to layer. */
typedef struct run_cluster run_cluster;

int run_cluster_new(const run_config *cfg, sim_engine *engine, uint64_t trial,
                    run_cluster **out, cod_err *err);
/* run_cluster_new with the workers' generators borrowed from pool (re-keyed to the same
 * streams, not allocated); pool must outlive the cluster and serve one cluster at a time.
 * pool NULL = run_cluster_new. */
int run_cluster_new_pooled(const run_config *cfg, sim_engine *engine, uint64_t trial,
                           run_rng_pool *pool, run_cluster **out, cod_err *err);
void run_cluster_free(run_cluster *cl); /* before the engine; accepts NULL */

/* Purposes of the random streams of a (trial, worker) pair. */
enum { RUN_STREAM_LATENCY = 0, RUN_STREAM_NOISE = 1 };

/* The sim_rng stream id of (trial, worker, purpose), for a process that must re-create the
 * stream the simulator draws from (an MPI worker adding its own noise). */
uint64_t run_stream_id(uint64_t trial, size_t worker, unsigned purpose);

/* The trial the cluster was made for, and a number unique to this cluster within the
 * process (a backend can tell that a new run began). */
uint64_t run_cluster_trial(const run_cluster *cl);
uint64_t run_cluster_serial(const run_cluster *cl);

/* Worker j's noise stream (NULL when the run has no noise) and the master's two NICs,
 * borrowed, for a layer executor that is not run_layer.c's (runner/run_alloc.c). */
gsl_rng *run_cluster_noise_rng(run_cluster *cl, size_t j);
void run_cluster_nics(run_cluster *cl, sim_nic **up, sim_nic **down);

/* Worker j's task of nominal_s seconds, started at time t_s (s): draws its duration from
 * the worker's latency model and stream exactly as the simulator does (one draw per call),
 * *dur_s (s; INFINITY if the model says it never returns), and *fail_s, the time at which
 * it is lost (INFINITY if it is not: fail-stop draws and failures.fail_workers decide).
 * Returns COD_OK or the latency model's status. */
int run_cluster_draw(run_cluster *cl, const run_config *c, size_t j, double t_s,
                     double nominal_s, double *dur_s, double *fail_s, cod_err *err);

/* Everything a layer needs; the caller owns every pointer. */
typedef struct run_layer_in {
  const run_config *cfg;
  const cod_code *code;
  sim_engine *engine;      /* the run's engine; the layer starts at its current time */
  run_cluster *cluster;    /* of this run, on this engine */
  const double *x;         /* layer input (C x H x W); NULL in model-only mode */
  const double *k;         /* filters (N x C x KH x KW); NULL in model-only mode */
  double *y;               /* decoded output (N x H' x W'); NULL in model-only mode */
  int trace;               /* record events */
  /* Optional: the filters already encoded for this code (n x worker_filter_len), as the
   * master keeps them while weights stay put, and the wall time that encoding took (for
   * measured timing). NULL: the layer encodes k itself. Simulated time is the same. */
  const double *coded_filters;
  double coded_filters_wall_s;
  run_scratch *scratch;    /* optional: reuse these buffers (grown as needed) */
  /* Optional: one byte per worker, 1 = it refuses the layer for storage (the whole-model
   * check of runner/run_storage.h). NULL: a worker refuses when this layer's assignment
   * alone exceeds its storage_bytes (the per-layer check). */
  const unsigned char *storage_refuse;
  /* 1: encode by chunks of workers when a worker's result is computed
   * (cod_code_encode_*_chunk: the same bytes), holding one chunk of each operand instead
   * of all n workers' (memory bounded in n); coded_filters and scratch's coded buffers are
   * then unused. The runner sets it where the n workers' operands would exceed its budget
   * and master time is modelled (docs/decisions/019-coded-filter-cache.md). */
  int lazy_encode;
  /* Optional: the largest |value| of k (0 = not known). With it, a layer whose results
   * cannot overflow (a bound from the codes' gains) computes the used workers of an input
   * class in one GEMM when it decodes, instead of each result as it arrives. */
  double filter_max_abs;
  /* 1: coded_filters are stored class-major (worker j's block at
   * cod_code_class_major_slot(code, j)), as the runner's filter cache keeps them for this
   * layer, so a class's arrived workers run as one GEMM on their filters in place; 0: by
   * worker (then a class GEMM gathers them). Ignored when coded_filters is NULL. */
  int coded_filters_class_major;
  /* The form coded_filters are in (cod_code_encode_filters_form; COD_CONV_IM2COL, the
   * zero of the initialiser, is the plain layout): run_layer_filter_form's for the layer's
   * cfg and code, or plain. Ignored when coded_filters is NULL (the layer then keeps its
   * own in run_layer_filter_form's form). */
  cod_conv_algo coded_filters_form;
} run_layer_in;

/* The form in which a layer keeps its coded filters (cod_code_encode_filters_form): with
 * [run] conv_algo = auto, real computation at fp64 and the simulator's own layers
 * (not the allocation executor), cod_code_filter_form_choose's, Winograd-transformed once
 * instead of on every worker call (workers that share coded inputs then convolve one by
 * one, without im2col's shared columns). Else plain. */
cod_conv_algo run_layer_filter_form(const run_config *cfg, const cod_code *code);

/* [run] cond = worst: the worst-conditioned set's condition number of `code` under cfg's
 * search (the one of stragglers = worst; cached in s when s is not NULL), into *cond.
 * COD_OK, or the search's status (COD_ENOMEM) with a message. */
int run_worst_cond(const run_config *cfg, const cod_code *code, run_scratch *s, double *cond,
                   cod_err *err);

/* Simulate and compute one layer. A config with [cluster] allocation = proportional or
 * returns = per-task is handed to run_alloc_layer_execute (runner/run_alloc.h), whose
 * contract is this one. Returns COD_OK with *out filled (status may be
 * undecodable, infeasible, or error when the arrived results give a system singular to
 * working precision, cond > 1/rank_rtol, cond stored; or error with out->error_msg when
 * a worker's result or the decoded output is not finite (fp32 overflow, say: that worker
 * is marked failed) or the layer's time passes the horizon: outcomes, not failures), or an error status
 * (COD_ENOMEM, COD_EINVAL from a latency model, ...) with a message. */
int run_layer_execute(const run_layer_in *in, run_layer_out *out, cod_err *err);

#endif
