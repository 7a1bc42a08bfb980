/* run_exec.h: one run (one sweep point x one trial) of a whole CNN, and its rows.
 *
 * A run builds (or reuses from a per-thread cache) the model, its weights, the input and
 * the UNCODED reference activations of every conv layer; then it runs the model forward
 * with a conv hook that executes each selected conv layer as a coded, simulated layer
 * (run_layer.h) on one engine whose clock carries over from layer to layer. The master
 * runs the other layers itself (their time is their MACs over master_flops). Layer errors
 * compare the decoded output with the uncoded pipeline's activation at that layer, so a
 * run costs about one forward pass of compute (docs/decisions/006). Weights stay put: each
 * thread encodes a layer's filters once per code and reuses them, so a run's cpu_encode_s
 * is the input encoding only, while the simulated encode time still counts both operands.
 * With compute = model no numbers are computed at all.
 */
#ifndef FCDCC_RUN_EXEC_H
#define FCDCC_RUN_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include <stdio.h>

#include "an_model.h"
#include "res_db.h"
#include "run_cache.h"
#include "run_config.h"
#include "run_layer.h"

/* Per-thread cache of model, weights, input and reference activations. The read-only part
 * (model, weights, input, data set, uncoded reference activations) is the cache's own when
 * run_execute creates it (*cache NULL), or shared with other threads through a pool
 * (runner/run_assets.h) for one made by run_assets_new_shared; the plan's buffers, coded
 * filters, codes and scratch are always the thread's. */
typedef struct run_assets run_assets;
struct run_asset_pool;
/* An empty cache whose read-only assets come from pool (which must outlive it): the first
 * run_execute with it acquires its key there, waiting if another thread builds it. After
 * a failed acquire *cache stays attached to the pool. COD_ENOMEM; *out untouched. */
int run_assets_new_shared(struct run_asset_pool *pool, run_assets **out, cod_err *err);
/* Frees a and releases its read-only part to its pool (accepts NULL). */
void run_assets_free(run_assets *a);
/* Hits, misses and evictions of the condition-number cache of a (zeros for NULL or before
 * a cond = used run), for benchmarks. */
run_cache_stats run_assets_cond_stats(const run_assets *a);

/* All rows of one run, owning their strings. */
typedef struct run_result {
  res_run_row run;
  res_layer_row *layers;
  size_t n_layers;
  res_worker_row *workers;
  size_t n_workers;
  res_event_row *events;
  size_t n_events;
  char **owned;             /* every string the rows point to (cod_free each) */
  size_t n_owned, cap_owned;
  uint64_t events_fired;    /* engine events of the run (not stored; for benchmarks) */
  res_data_row data;        /* top-1 over the [data] images (runner/run_data.h) */
  int has_data;             /* 1 if `data` is filled (a run with [data] source) */
  double *logits;           /* coded final output (model output size) of the image, or of
                               every [data] image in order (NaN rows: undecodable); NULL if
                               the image was undecodable or compute = model (not stored) */
  int has_load;             /* 1 for a run under load ([load] arrivals, run_load.h): */
  res_load_row load;        /* its aggregates, */
  res_load_worker_row *load_workers; /* its per-worker rows (n_load_workers = workers), */
  size_t n_load_workers;
  FILE *requests_spool;     /* and its requests rows, spooled by run_load.c (fclose) */
  uint64_t n_requests;
  char error_msg[COD_ERR_MSG_LEN]; /* why run.status is error ("layer conv2: worker 3
                               returned non-finite values ..."; not stored), else "" */
} run_result;

void run_result_fini(run_result *r);

/* A copy of s owned by r (freed by run_result_fini); NULL for NULL. On out of memory
 * *rc = COD_ENOMEM and NULL. */
const char *run_result_own(run_result *r, const char *s, int *rc);

/* Where a run sits in its sweep. */
typedef struct run_ident {
  const char *scenario_path, *scenario_hash, *params_json;
  size_t point, trial;
} run_ident;

/* Execute one run. *cache may be NULL (then created) and is reused across calls with the
 * same model/weights/input. Outcomes (undecodable, infeasible) are rows, not errors;
 * errors (I/O, bad model file, out of memory) return a status with a message. */
int run_execute(const run_config *cfg, const run_ident *id, run_assets **cache,
                run_result *out, cod_err *err);

/* The seam between the protocol's bookkeeping and where a coded layer really runs.
 * run_execute uses the simulator (run_layer_execute); the MPI backend (mpi/) supplies an
 * executor that ships the same coded pieces to real processes. An executor runs one coded
 * conv layer described by *in (code chosen, filters already encoded, x/k/y NULL in
 * model-only mode), fills *out exactly as run_layer_execute documents (status, phase times,
 * workers, used set, cond), and leaves in->engine's clock at the layer's end time, so the
 * master's own layers are timed after it. */
typedef struct run_backend {
  const char *name;    /* the runs.backend column: "sim" or "mpi" */
  int (*layer)(void *ctx, const run_layer_in *in, run_layer_out *out, cod_err *err);
  void *ctx;
} run_backend;

/* The code run_execute plans for a conv layer of geometry g under cfg: the configured
 * (ka, kb), or for `auto` and storage repartitioning the divisor pair of delta with the
 * least per-worker upload that fits storage (repartitioning keeps a configured pair that
 * fits). COD_OK with *out owned by the caller
 * (cod_code_free), or cod_code_new's status and message for the pair that fails. */
int run_code_choose(const run_config *cfg, const cod_conv_geom *g, cod_code **out,
                    cod_err *err);
/* run_code_choose for a worker that already holds held_filter_bytes of coded filters and a
 * largest coded input slab of held_slab_bytes (storage = whole-model, runner/run_storage.h):
 * a pair fits when held_filter_bytes + its filters + max(held_slab_bytes, its slab) is
 * within every worker's storage. With both 0 it is run_code_choose. */
int run_code_choose_held(const run_config *cfg, const cod_conv_geom *g,
                         double held_filter_bytes, double held_slab_bytes, cod_code **out,
                         cod_err *err);

/* The analytic model's view (analytic/an_model.h) of cfg's default worker, network,
 * latency law, worker classes and master (a trace law's path borrows cfg's). Returns 1
 * if its latency model can cover cfg (no scheduled failures, modelled master timing or no
 * numbers; closed form or numerical integration is an_latency_expected's choice), 0 if
 * only its byte and flop counts apply. */
int run_config_an_cluster(const run_config *cfg, an_cluster *out);

/* The run key of (scenario hash, backend, point, trial): res_run_key_format's
 * "<hash>/p<point>/t<trial>" for the simulator (backend NULL or "sim"), and
 * "<hash>/<backend>/p<point>/t<trial>" otherwise, so that the real and the simulated runs
 * of one scenario can share a database. COD_EINVAL if it does not fit in cap bytes. */
int run_key_format(char *buf, size_t cap, const char *scenario_hash, const char *backend,
                   size_t point, size_t trial);

/* run_execute with the layers run by `be` (NULL = the simulator). */
int run_execute_backend(const run_config *cfg, const run_ident *id, const run_backend *be,
                        run_assets **cache, run_result *out, cod_err *err);

/* One request's real numbers under load (runner/run_load.c, compute = real): the coded
 * forward pass of the run's input in which coded conv layer s (selected convs in order)
 * encodes with codes[s], has the workers avail[s][0 .. n_avail[s]-1] (arrival order)
 * compute their coded pieces (fp64, or fp32 for [run] precision = fp32) and decodes from
 * them; the other convs run uncoded. *e2e_rel: relative error of the output against the
 * uncoded pipeline, *max_layer_rel: the worst relative error of a decoded layer. COD_OK,
 * or the decoder's status (COD_ENUMERIC: singular) / COD_ENOMEM with a message. */
int run_assets_coded_forward(run_assets *a, const run_config *cfg, cod_code *const *codes,
                             const size_t *const *avail, const size_t *n_avail,
                             double *e2e_rel, double *max_layer_rel, cod_err *err);

/* Write the run and its rows in one transaction. */
int run_result_write(res_db *db, const run_result *r, cod_err *err);

#endif
