/* run_storage.h: what a worker's storage must hold, and which layer overflows it.
 *
 * `[cluster] storage` chooses the check. per-layer (the parsing default, so that every
 * scenario written before the key keeps its rows): a worker holds one layer's assignment
 * at a time, its coded input slab plus its coded filters, and refuses a layer whose
 * assignment exceeds its storage_bytes. whole-model (the setting new scenarios should use,
 * docs/decisions/014-storage-energy.md): a worker that serves a whole network keeps the
 * coded filters of every layer it serves, and one coded input slab at a time, so before
 * conv layer l (in model order, selected layers only) it needs
 *     need(l) = sum over served layers i <= l of filter_bytes(i) + max over i <= l of slab_bytes(i)
 * bytes, where filter_bytes and slab_bytes are the per-worker coded filter and input bytes
 * of that layer's code (elements x operand bytes of the run's precision), for one coded
 * task; a worker that holds m_j tasks of each layer (allocation = proportional,
 * runner/run_alloc.h) needs m_j need(l). The whole-model storage of a worker is
 * need(last selected layer), the storage cost as the FCDCC paper counts it. A worker whose storage is below need(l) refuses layer l and every later layer
 * (it keeps the filters of the layers before l). Codes are chosen in model order with what
 * the earlier layers hold (run_code_choose_held), so `auto` and `on_storage = repartition`
 * pick a pair that fits the cumulative need when one exists.
 *
 * The plan is made once per run from the model's geometry and the configuration alone (the
 * same codes the layers will plan), before the first layer, so every layer's need and the
 * first overflowing layer are known even when the run stops earlier.
 */
#ifndef FCDCC_RUN_STORAGE_H
#define FCDCC_RUN_STORAGE_H

#include <stddef.h>

#include "cod_code.h"
#include "model.h"
#include "res_db.h"
#include "run_cache.h"
#include "run_config.h"

typedef struct run_storage_plan run_storage_plan;

/* The whole-model plan of cfg on model m: each selected conv layer's code (as
 * run_code_choose_held picks it), need and overflow, and each worker's first refused layer.
 * For storage = per-layer *out = NULL (nothing to plan) and COD_OK. Errors: COD_ENOMEM, or
 * the code planner's status and message for a layer no pair plans; *out untouched. */
int run_storage_plan_new(const run_config *cfg, const model *m, run_storage_plan **out,
                         cod_err *err);
/* The same, with each layer's code taken from (and kept in) a sweep thread's code cache
 * (runner/run_cache.h), so a run does not re-plan the codes its point's earlier runs
 * planned. codes NULL = run_storage_plan_new. */
int run_storage_plan_new_cached(const run_config *cfg, const model *m, run_code_cache **codes,
                                run_storage_plan **out, cod_err *err);
void run_storage_plan_free(run_storage_plan *p); /* accepts NULL */

/* The coded filter bytes and the largest coded slab a worker already holds before conv
 * layer ci (0 and 0 without a plan). */
void run_storage_held(const run_storage_plan *p, size_t ci, double *held_filter_bytes,
                      double *held_slab_bytes);

/* One byte per worker, 1 = it refuses conv layer ci for storage (the whole-model check), or
 * NULL without a plan (the layer applies the per-layer check itself). Owned by p. */
const unsigned char *run_storage_refusals(const run_storage_plan *p, size_t ci);

/* The storage columns of the layers row of conv ci run with `code`: storage_need_bytes
 * (whole-model: the largest worker need, m_j times one task's share for the worker with
 * the most tasks) and storage_overflow_bytes (the largest need_j - storage_j over the
 * workers, when some worker refused), for either check. COD_OK, or COD_ENOMEM / the
 * allocation's status (per-layer check under allocation = proportional, which counts each
 * worker's tasks); L untouched on error. */
int run_storage_layer_row(const run_config *cfg, const run_storage_plan *p, size_t ci,
                          const cod_code *code, res_layer_row *L, cod_err *err);

/* The storage columns of the runs row: storage_model_bytes and an_storage_model_bytes
 * (whole-model), and the first overflowing layer with its overflow: from the plan for
 * whole-model (every selected layer, run or not), else from the layers rows written. */
void run_storage_run_row(const run_storage_plan *p, const res_layer_row *layers,
                         size_t n_layers, res_run_row *R);

#endif
