/* run_filt.h: the coded filters of a thread's conv layers, bounded in n.
 *
 * Weights stay put during a sweep, so the filters a code ships to its n workers (n x
 * worker_filter_len doubles, about n / k_B times the layer's filter bytes) can be encoded
 * once and uploaded by every later run. Keeping them for every layer made memory grow
 * linearly in n (VGG-16 at n = 255: 9x its uncoded forward pass). This cache keeps the
 * coded filters of the layer in flight, plus, between runs, those of earlier layers only
 * while the retained total stays within a byte budget the caller states (the runner
 * passes half the model's weight bytes: docs/decisions/019-coded-filter-cache.md). A layer
 * that does not fit is encoded again when it next runs and released after it. The bytes
 * are identical either way (the same encoding of the same weights), so results never
 * depend on the budget; only the CPU spent encoding does.
 *
 * The simulator's layers store a code's coded filters class-major
 * (cod_code_class_major_slot: the workers of an input class adjacent), so that the arrived
 * workers of a class are one filter matrix their class GEMM reads in place
 * (docs/decisions/023-coded-workers-share-equal-inputs.md); the allocation executor and
 * the MPI backend index them by worker. The layout is part of an entry's key, and so is
 * the form: conv_algo = auto keeps fp64 workers' filters Winograd-transformed
 * (run_layer_filter_form, docs/decisions/022).
 *
 * One cache per thread (it lives in the thread's run_assets): entries are immutable
 * while acquired and are never shared between threads.
 */
#ifndef FCDCC_RUN_FILT_H
#define FCDCC_RUN_FILT_H

#include <stddef.h>

#include "cod_code.h"
#include "cod_status.h"

typedef struct run_filt_cache run_filt_cache;

/* A cache for n_conv conv layers that retains at most budget_bytes of coded filters
 * between layers (the layer in flight may exceed it). *out is set on success; COD_ENOMEM
 * otherwise, *out untouched. */
int run_filt_cache_new(size_t n_conv, size_t budget_bytes, run_filt_cache **out, cod_err *err);
void run_filt_cache_free(run_filt_cache *fc); /* accepts NULL */

/* The coded filters of conv ci under `code` (k: the layer's N x C x KH x KW weights) in
 * `form` (cod_code_encode_filters_form: COD_CONV_IM2COL is the plain layout, a Winograd
 * algorithm keeps them transformed): the retained encoding when it was made for the same
 * code parameters (scheme, n, k_A, k_B, q, axis, seed), layout and form, else a fresh one.
 * *data (cod_code_workers(code) x cod_code_worker_filter_len_form(code, form) doubles;
 * worker j's block at j, or with class_major at cod_code_class_major_slot(code, j): the
 * same values) and *wall_s (the wall seconds the encoding took when it was made, the
 * reordering not included) stay valid until run_filt_cache_release(fc, ci). On error
 * (COD_ENOMEM, or the encoder's) the outputs are untouched and nothing is retained. */
int run_filt_cache_acquire(run_filt_cache *fc, size_t ci, const cod_code *code,
                           int class_major, cod_conv_algo form, const double *k,
                           const double **data, double *wall_s, cod_err *err);

/* The layer is over: its encoding stays if the retained total fits the budget, else it
 * is freed. */
void run_filt_cache_release(run_filt_cache *fc, size_t ci);

/* Bytes of coded filters held now, and encodings made since the cache was created. */
size_t run_filt_cache_bytes(const run_filt_cache *fc);
size_t run_filt_cache_encodings(const run_filt_cache *fc);

#endif
