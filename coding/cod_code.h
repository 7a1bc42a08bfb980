/* cod_code.h: one interface for every coded-convolution scheme.
 *
 * Every scheme fcdcc offers is a LINEAR code over APCP input slabs and KCCP filter
 * groups: worker j receives e_A coded slabs, each a real combination of the m_in slabs
 * (rows of an e_A x m_in matrix A_j), and e_B coded filter groups (rows of B_j, e_B x
 * m_filt); it returns the e_A*e_B convolutions of every coded slab with every coded group.
 * By bilinearity, worker j's result (c, d) equals sum_{r,r'} A_j[c,r] B_j[d,r'] U_{r,r'}
 * where U_{r,r'} = conv(slab r, group r') are the unknown output blocks. So:
 *   - encoding is one product per operand for all workers at once (A_all * slabs): a
 *     GEMM, or a sparse product for a matrix at most a quarter non-zero (decision 025);
 *   - the GENERIC decoder stacks kron(A_j, B_j) for the selected workers into a real
 *     matrix M (observations x unknowns), inverts it once per worker set (LU when square,
 *     Householder QR when tall; the 2-norm condition number comes from its singular
 *     values), and recovers every output entry with one GEMM;
 *   - schemes with structure add a FAST decoder (nsctc-rot: two complex unit-circle
 *     Vandermonde systems; uncoded/replication: copies), checked against the generic one
 *     in the tests (nsctc-cir: FFT along the piece index, then one small Vandermonde
 *     solve per frequency; cod_cir_fft.c).
 * A scheme is a `const cod_scheme_ops *` (cod_scheme.h) that fills in the matrices.
 *
 * Schemes: the names accepted by cod_code_new, their traits and limits are the registry
 * of cod_registry.h (nsctc-rot, nsctc-cir, uncoded, replication, poly-real, poly-cheb,
 * berrut (approximate: cod_code_approximate), rkr at the time of writing; `fcdcc cond --help` prints the live list).
 *
 * Decoders only ever see the coded results they are given; nothing recomputes the
 * convolution. Fewer usable results than needed is COD_EUNDECODABLE, never a tensor.
 */
#ifndef FCDCC_COD_CODE_H
#define FCDCC_COD_CODE_H

#include <stddef.h>

#include <gsl/gsl_rng.h>

#include "cod_conv.h"
#include "cod_wino.h"
#include "cod_half.h"
#include "cod_part.h"
#include "cod_status.h"

/* The most workers any code takes: worker sets are held in arrays of this many entries
 * (cod_decode_info.used, cod_cond_stats.worst_set). Each scheme's own limit is its
 * registry max_workers (<= this); cod_code_new refuses more with a message. */
#define COD_WORKERS_MAX 4096

typedef struct cod_code_params {
  const char *scheme;  /* a registry name (cod_registry.h) */
  size_t n_workers;    /* n */
  size_t ka, kb;       /* k_A, k_B */
  size_t q;            /* rotation angle denominator (>= n) or circulant prime (>= n);
                          0 = default (n, or the smallest prime >= n) */
  cod_axis axis;       /* APCP axis */
  double rank_rtol;    /* generic decoder: sigma_min/sigma_max below this = singular */
  unsigned long seed;  /* seeded schemes (registry takes_seed, e.g. rkr): the seed of the
                          coefficients; other schemes ignore it. Default 1 */
} cod_code_params;

typedef enum cod_decode_method {
  COD_DECODE_FAST = 0,    /* the scheme's structured decoder; refused (COD_EINVAL, naming
                             the scheme) when it has none: never a silent fallback */
  COD_DECODE_GENERIC = 1, /* LU/QR inverse of the stacked real generator */
  COD_DECODE_AUTO = 2     /* FAST where the scheme has a structured decoder, else GENERIC
                             (poly-real, poly-cheb); cod_decode_info.method says which ran */
} cod_decode_method;

/* Sensible defaults: nsctc-rot, rows, q = 0, rank_rtol = 1e-13, seed = 1. */
cod_code_params cod_code_params_default(void);

typedef struct cod_code cod_code;

/* Plan a code for one layer. Validates the combination exactly as cod_scheme_check does
 * (unknown scheme, n above the scheme's limit, delta > n, one-sided circulant, uncoded
 * n != k_A*k_B, ...), then the geometry, and returns COD_EINVAL with a message. */
int cod_code_new(const cod_code_params *prm, const cod_conv_geom *layer, cod_code **out,
                 cod_err *err);
void cod_code_free(cod_code *code);

const char *cod_code_scheme(const cod_code *code);
/* 1 if the code is approximate (berrut): cod_code_threshold is then 1 (any single result
 * decodes), the decode uses every result given and is not exact, method GENERIC still
 * applies the code's own decoder, and cod_code_cond reports the decoder's amplification
 * max_i sum_j |D_ij| instead of a 2-norm condition number. 0 for the exact codes. */
int cod_code_approximate(const cod_code *code);
/* The parameters the code was planned with (scheme points to a static name). */
const cod_code_params *cod_code_params_get(const cod_code *code);
const cod_partition *cod_code_partition(const cod_code *code);
size_t cod_code_workers(const cod_code *code);      /* n */
size_t cod_code_ka(const cod_code *code);           /* k_A as planned */
size_t cod_code_kb(const cod_code *code);           /* k_B as planned */
size_t cod_code_threshold(const cod_code *code);    /* results needed (delta) */
size_t cod_code_slabs_per_worker(const cod_code *code);   /* e_A */
size_t cod_code_groups_per_worker(const cod_code *code);  /* e_B */
size_t cod_code_results_per_worker(const cod_code *code); /* e_A*e_B blocks */
/* Geometry of one worker sub-convolution (a coded slab with a coded filter group). */
const cod_conv_geom *cod_code_worker_geom(const cod_code *code);
/* Lengths (elements) of worker j's coded input, coded filters and results. */
size_t cod_code_worker_input_len(const cod_code *code);
size_t cod_code_worker_filter_len(const cod_code *code);
size_t cod_code_worker_output_len(const cod_code *code);
/* Multiply-adds one worker performs (e_A*e_B sub-convolutions). */
double cod_code_worker_macs(const cod_code *code);

/* Encode the input x (C x H x W) for all workers: coded is n x worker_input_len,
 * worker-major. Allocates one temporary of m_in slabs; COD_ENOMEM if it cannot. */
int cod_code_encode_input(const cod_code *code, const double *x, double *coded,
                          cod_err *err);
/* The same with a caller-provided workspace of cod_code_encode_workspace_bytes(code)
 * bytes (the APCP slabs): never allocates, never fails. */
size_t cod_code_encode_workspace_bytes(const cod_code *code);
void cod_code_encode_input_work(const cod_code *code, const double *x, double *coded,
                                void *work);
/* Encode the filters k (N x C x KH x KW) for all workers: n x worker_filter_len. */
int cod_code_encode_filters(const cod_code *code, const double *k, double *coded,
                            cod_err *err);

/* Encoding by chunks of workers, for callers that need only some workers' operands (the
 * simulator computes the workers whose results reach the master) and cannot hold all n:
 * split once (cod_code_split_input into cod_code_encode_workspace_bytes, or
 * cod_code_split_filters into cod_code_filter_groups_len doubles), then encode chunk i,
 * workers [i*W, min(n, (i+1)*W)) with W = cod_code_*_chunk_workers, into `coded`
 * (W x worker_input_len or W x worker_filter_len). Each chunk is the same product as the
 * all-worker encoding restricted to a block of COD_ENCODE_CHUNK_ROWS-aligned rows, and gives
 * its bytes bit for bit: neither the dense product (cod_gemm_small, one sum per value in
 * column order) nor the sparse one makes a row depend on the others (tests/coding checks
 * it). Never allocate or fail. */
#define COD_ENCODE_CHUNK_ROWS 16
size_t cod_code_input_chunk_workers(const cod_code *code);
size_t cod_code_filter_chunk_workers(const cod_code *code);
size_t cod_code_filter_groups_len(const cod_code *code);
void cod_code_split_input(const cod_code *code, const double *x, double *pieces);
void cod_code_split_filters(const cod_code *code, const double *k, double *groups);
void cod_code_encode_input_chunk(const cod_code *code, const double *pieces, size_t chunk,
                                 double *coded);
void cod_code_encode_filters_chunk(const cod_code *code, const double *groups, size_t chunk,
                                   double *coded);

/* A worker's computation: the e_A*e_B convolutions of its coded slabs (xin) with its coded
 * filter groups (kin), written to out (worker_output_len, block c*e_B + d). prec selects
 * fp64 or fp32 arithmetic (inputs are converted; results come back as double). `work` must
 * hold cod_code_worker_workspace_bytes(code, prec) bytes. Never allocates or fails. */
size_t cod_code_worker_workspace_bytes(const cod_code *code, cod_dtype prec);
void cod_code_worker_compute(const cod_code *code, cod_dtype prec, const double *xin,
                             const double *kin, double *out, void *work);

/* Workers whose coded inputs are the same combination of the slabs (equal rows of the
 * input encoding matrix, compared exactly: their coded slabs are equal bit for bit).
 * cod_code_input_classes is how many distinct coded inputs the n workers hold (n when none
 * repeats; 5 for nsctc-rot at n = 20, k_A = k_B = 4; 1 with k_A = 1), and
 * cod_code_input_class(code, j) worker j's class, numbered in order of first worker.
 * cod_code_encode_input_classes_work encodes each class once: coded holds
 * input_classes x worker_input_len values (class c at c * worker_input_len), each equal to
 * what cod_code_encode_input_work gives the class's workers; work as there. */
size_t cod_code_input_classes(const cod_code *code);
size_t cod_code_input_class(const cod_code *code, size_t j);
void cod_code_encode_input_classes_work(const cod_code *code, const double *x, double *coded,
                                        void *work);

/* The workers in class-major order: by input class, then by index (at n = 20, 4x4:
 * 0 5 10 15 1 6 ...), so that a class's workers are adjacent and their coded filters,
 * stored in this order, are one matrix a class GEMM reads in place.
 * cod_code_class_major_slot(code, j) is worker j's position (j < n),
 * cod_code_class_major_worker(code, p) the worker at position p (its inverse).
 * cod_code_permute_class_major reorders data, n blocks of len_each doubles in worker order,
 * in place into class-major order (block of worker j to position slot(j)), with a few KB
 * of stack and no other memory. Values are moved, never recomputed. Never allocates or
 * fails. */
size_t cod_code_class_major_slot(const cod_code *code, size_t j);
size_t cod_code_class_major_worker(const cod_code *code, size_t p);
void cod_code_permute_class_major(const cod_code *code, double *data, size_t len_each);

/* cod_code_worker_compute in two halves, for workers that share coded inputs: the column
 * matrix of a worker's coded slabs (cod_code_worker_cols, into cols of
 * cod_code_worker_cols_bytes(code, prec) bytes), then the GEMM with one worker's filters
 * (cod_code_worker_compute_cols; work as for cod_code_worker_compute). Both together give
 * cod_code_worker_compute's result bit for bit, so a class's columns can be built once for
 * all its workers. cod_code_worker_cols_bytes is 0 where the worker convolution is not one
 * batched GEMM (then only cod_code_worker_compute applies). Never allocate or fail. */
size_t cod_code_worker_cols_bytes(const cod_code *code, cod_dtype prec);
void cod_code_worker_cols(const cod_code *code, cod_dtype prec, const double *xin, void *cols);
void cod_code_worker_compute_cols(const cod_code *code, cod_dtype prec, const void *cols,
                                  const double *kin, double *out, void *work);

/* nw workers of one input class at once: cols as from cod_code_worker_cols for the class,
 * worker w's filters kin[w] and result out[w] (as cod_code_worker_compute_cols); work holds
 * cod_code_workers_cols_workspace_bytes(code, prec, nw) bytes. GEMMs over the workers'
 * filters stacked, each worker getting the bits of its own GEMM: as many workers per GEMM
 * as cod_code_workers_cols_probe found the BLAS to keep every entry's sum for (one per GEMM
 * where it found otherwise, or was not called: cod_conv2d_batch_gemm_sets_*).
 * 1 <= nw <= COD_WORKERS_MAX. At fp64, filters stored side by side
 * (kin[w] = kin[0] + w * worker_filter_len, as class-major storage gives) are read in
 * place; others are gathered into work first. Never allocates or fails. */
size_t cod_code_workers_cols_workspace_bytes(const cod_code *code, cod_dtype prec, size_t nw);
/* Probes the BLAS once per worker shape (cod_conv_sets_probe) for stacks of up to nw
 * workers, so that cod_code_workers_compute_cols can stack them. Allocates; COD_ENOMEM. */
int cod_code_workers_cols_probe(const cod_code *code, cod_dtype prec, size_t nw, cod_err *err);
void cod_code_workers_compute_cols(const cod_code *code, cod_dtype prec, const void *cols,
                                   size_t nw, const double *const *kin, double *const *out,
                                   void *work);

/* The largest sum of absolute coefficients over a coded slab (input gain) or a coded
 * filter group (filter gain): |coded value| <= gain * max |plain value|. */
double cod_code_input_gain(const cod_code *code);
double cod_code_filter_gain(const cod_code *code);

/* The same computation with the slab convolutions done by algorithm `algo` (cod_wino.h),
 * which must apply to cod_code_worker_geom(code) (cod_conv_algo_applies). COD_CONV_IM2COL
 * is exactly cod_code_worker_compute (one batched GEMM over the e_A slabs); another
 * algorithm convolves the slabs one by one. `work` must hold
 * cod_code_worker_workspace_bytes_algo(code, prec, algo) bytes. Never allocates or fails. */
size_t cod_code_worker_workspace_bytes_algo(const cod_code *code, cod_dtype prec,
                                            cod_conv_algo algo);
void cod_code_worker_compute_algo(const cod_code *code, cod_dtype prec, cod_conv_algo algo,
                                  const double *xin, const double *kin, double *out,
                                  void *work);

/* Coded filters kept transformed. A Winograd filter transform (cod_conv_algo_filters_*)
 * is linear and acts filter by filter, so it commutes with the encoding: transforming the
 * m_filt groups once and encoding the transforms gives every worker its coded groups
 * already transformed, and a worker convolves with no transform per call (Winograd on a
 * worker's slab pays from a few tiles on, where transforming its coded filters on every
 * call does not: docs/decisions/022). The "form" is the algorithm the filters are kept
 * for: COD_CONV_IM2COL is the plain layout of cod_code_encode_filters; COD_CONV_WINO2 and
 * COD_CONV_WINO4 (applying to the group geometry, cod_code_partition(code)->piece) store
 * group g as the U of cod_conv_algo_filters_f64 on that geometry, worker j's block then
 * its e_B coded groups' U one after the other, cod_code_worker_filter_len_form doubles.
 * The values are the plain form's transformed up to rounding (transform and encoding
 * round in the other order), not bit for bit. Encoding by chunks works on the transformed
 * groups exactly as on the plain ones (the same bytes as the all-worker product). */
size_t cod_code_worker_filter_len_form(const cod_code *code, cod_conv_algo form);
size_t cod_code_filter_groups_len_form(const cod_code *code, cod_conv_algo form);
void cod_code_split_filters_form(const cod_code *code, cod_conv_algo form, const double *k,
                                 double *groups);
int cod_code_encode_filters_form(const cod_code *code, cod_conv_algo form, const double *k,
                                 double *coded, cod_err *err);
void cod_code_encode_filters_chunk_form(const cod_code *code, cod_conv_algo form,
                                        const double *groups, size_t chunk, double *coded);
/* A worker's fp64 convolution from its filters in `form` (kin:
 * cod_code_worker_filter_len_form doubles): each of the e_A slabs with each of the e_B
 * groups, into the layout of cod_code_worker_compute. work holds
 * cod_code_worker_workspace_bytes_form bytes. Never allocates or fails. */
size_t cod_code_worker_workspace_bytes_form(const cod_code *code, cod_conv_algo form);
void cod_code_worker_compute_form(const cod_code *code, cod_conv_algo form, const double *xin,
                                  const double *kin, double *out, void *work);
/* The form worth keeping a code's filters in for workers at precision prec that may take
 * any algorithm (conv_algo = auto): COD_CONV_WINO2 for fp64 workers on 3x3 stride-1 groups
 * of at least COD_WINO_MIN_CHANNELS input channels and 8 filters, else COD_CONV_IM2COL
 * (fp32 workers would convert U on every call; 16-bit ones stay im2col). */
cod_conv_algo cod_code_filter_form_choose(const cod_code *code, cod_dtype prec);

/* A low-precision worker (docs/decisions/010-low-precision-workers.md): its coded slabs
 * and filters are rounded once to bf16 or fp16 (RNE, cod_half.h) and convolved by the fp32
 * path, i.e. 16-bit operands with fp32 accumulation, as tensor units compute. `work` must
 * hold cod_code_worker_workspace_bytes(code, COD_F32) bytes. Returns COD_OK, or
 * COD_ENUMERIC when an operand overflowed the format (fp16 beyond 65504): that worker
 * has no numeric result, out is filled with NaN and *n_overflow (if not NULL) counts the
 * overflowed operands. Never allocates. */
int cod_code_worker_compute_half(const cod_code *code, cod_half_format fmt, const double *xin,
                                 const double *kin, double *out, void *work,
                                 size_t *n_overflow);

typedef struct cod_decode_info {
  size_t n_used;        /* workers whose results were used */
  size_t used[COD_WORKERS_MAX]; /* their ids, in the order given (first n_used) */
  double cond;          /* 2-norm condition number of the recovery matrix used */
  cod_decode_method method;  /* the method actually applied */
} cod_decode_info;

/* Decode y (N x H' x W') from the results of the workers listed in `avail` (in arrival
 * order; results[i] is worker avail[i]'s output). The scheme selects which of them to use
 * (MDS codes: the first delta). COD_EUNDECODABLE if they do not suffice; COD_ENUMERIC if
 * the selected system is singular to rank_rtol (y is then undefined, and info, if given,
 * still describes the selected set and its condition number, NaN if the fast path failed
 * before knowing it); COD_ENOMEM. info may be NULL; then the fast decoders skip the
 * condition number, which only info reports. */
int cod_code_decode(const cod_code *code, const size_t *avail, size_t n_avail,
                    const double *const *results, cod_decode_method method, double *y,
                    cod_decode_info *info, cod_err *err);

/* 1 if the scheme has a structured (fast) decoder, else 0 (then COD_DECODE_FAST is refused). */
int cod_code_has_fast_decoder(const cod_code *code);

/* 1 if the results of the listed workers suffice to decode (the scheme's selection rule
 * succeeds), else 0. Ids must be valid and distinct. */
int cod_code_decodable(const cod_code *code, const size_t *avail, size_t n_avail);
/* The workers the decoder would use from `avail` (in arrival order): their ids into
 * used[] (room for threshold entries) and their count into *n_used. COD_OK,
 * COD_EUNDECODABLE or COD_EINVAL (bad or repeated id), as cod_code_decode. */
int cod_code_select(const cod_code *code, const size_t *avail, size_t n_avail, size_t *used,
                    size_t *n_used, cod_err *err);

/* Floating-point operations of encoding (both operands, all workers) and of the generic
 * decoder's final product; cost models for master timing. Encoding counts what the
 * encoder does with each coefficient matrix (cod_encode_product_flops). */
double cod_code_encode_flops(const cod_code *code);

/* THE rule for applying a rows x m coefficient matrix with nnz non-zeros to m pieces of
 * len values, shared by the encoder and analytic/'s cost model: a sparse product (each
 * coded piece the sum of its non-zero terms, in column order: 2 nnz len flops) when at
 * most a quarter of the entries are non-zero, else one dense GEMM (2 rows m len flops,
 * zeros included, since the GEMM multiplies them). The quarter keeps every dense code
 * (nsctc-rot, poly-*, rkr, berrut: at least half non-zero) on the GEMM and puts
 * nsctc-cir (2/q non-zero for q >= 11) and the 0/1 matrices of uncoded and replication
 * (one non-zero a row, k >= 4 columns) on the sparse product. */
int cod_encode_is_sparse(size_t rows, size_t m, size_t nnz);
double cod_encode_product_flops(size_t rows, size_t m, size_t nnz, double len);
/* The non-zeros of the code's A (n e_A x m_in) and B (n e_B x m_filt), for tests and
 * cost cross-checks. */
size_t cod_code_input_nnz(const cod_code *code);
size_t cod_code_filter_nnz(const cod_code *code);
double cod_code_decode_flops(const cod_code *code);

/* The same with a caller-provided workspace of cod_code_decode_workspace_bytes(code)
 * bytes for the fast path, so that a decoder called once per layer does not map and fault
 * fresh memory each time (the generic path still allocates). work may be NULL. */
size_t cod_code_decode_workspace_bytes(const cod_code *code);
int cod_code_decode_work(const cod_code *code, const size_t *avail, size_t n_avail,
                         const double *const *results, cod_decode_method method, double *y,
                         cod_decode_info *info, void *work, cod_err *err);

/* 2-norm condition number of the recovery matrix for a worker set (the set the decoder
 * would select from `avail`). COD_EUNDECODABLE if the set does not suffice. */
int cod_code_cond(const cod_code *code, const size_t *avail, size_t n_avail, double *cond,
                  cod_err *err);

/* The key of a worker set for caching its condition number: the set the decoder would
 * select from `avail`, in a canonical form written to key[0..*n_key) (room for the
 * threshold), such that two sets with equal keys get bit-identical cod_code_cond. nsctc-rot:
 * the canonical image under the rotations and reflections of its nodes (cod_cond_rot.h),
 * up to 2q sets per key; every other scheme: the selected ids ascending (the condition
 * number is computed on them in that order). Statuses as cod_code_cond. */
int cod_code_cond_key(const cod_code *code, const size_t *avail, size_t n_avail, size_t *key,
                      size_t *n_key, cod_err *err);

/* Progress of a condition-number search: `done` sets examined of `planned` (C(n, delta)
 * when exhaustive, else the samples asked for); called after every set, from the calling
 * thread. The library never prints: a terminal front end throttles and draws it. */
typedef void (*cod_cond_progress_fn)(void *ctx, size_t done, double planned, int exhaustive);

typedef struct cod_cond_search_opts {
  double budget_s;       /* thread-CPU seconds: exhaustive only while C(n, delta) times the
                            measured cost of one set fits; sampling stops there too (after
                            at least one set). INFINITY = no time bound, so the result
                            depends on the options and seed only (what the runner uses) */
  double max_exhaustive; /* exhaustive only if C(n, delta) <= this as well (a
                            machine-independent cap); INFINITY = no cap, 0 = always sample */
  size_t samples;        /* sets to draw when not exhaustive (>= 1) */
  unsigned long seed;    /* seed of the sampling generator (MT19937) */
  cod_cond_progress_fn progress; /* may be NULL */
  void *progress_ctx;
} cod_cond_search_opts;

/* Defaults: budget 3 s, no count cap, 2000 samples, seed 1, no progress callback. */
cod_cond_search_opts cod_cond_search_opts_default(void);

typedef struct cod_cond_search_result {
  double worst, mean;    /* over the sets examined; a set that cannot decode counts as +inf */
  size_t *worst_set;     /* heap, cod_code_threshold(code) ids of a worst set; owned by the
                            result, released by cod_cond_search_result_fini */
  size_t n_worst_set;    /* entries of worst_set (the threshold) */
  size_t sets_tried;     /* sets examined (sampled sets may repeat) */
  double sets_total;     /* C(n, delta), a double because it can exceed size_t */
  int exhaustive;        /* 1 if every one of the sets_total sets was examined */
  int budget_hit;        /* 1 if the time budget cut the search short (exhaustive abandoned
                            for sampling, or fewer than `samples` samples drawn) */
  unsigned long seed;    /* the sampling seed (meaningful when !exhaustive) */
} cod_cond_search_result;

void cod_cond_search_result_fini(cod_cond_search_result *res);

/* Worst and mean 2-norm condition number of the recovery matrix over worker sets of the
 * threshold size (cod_code_cond on each set): every C(n, delta) set in lexicographic order
 * when opts allow it (max_exhaustive, and budget_s against the cost measured on the sets
 * done so far; an exhaustive pass that the budget overtakes is dropped and replaced by
 * sampling), else opts->samples sets drawn uniformly (partial Fisher-Yates) from MT19937
 * seeded with opts->seed, stopped early when the budget runs out. opts NULL = defaults.
 * On success *res is filled (call cod_cond_search_result_fini); on error (COD_ENOMEM, a
 * failing SVD, COD_EINVAL for samples = 0) *res is untouched. */
int cod_code_cond_search(const cod_code *code, const cod_cond_search_opts *opts,
                         cod_cond_search_result *res, cod_err *err);

/* Add white Gaussian noise to buf at the given SNR (dB) relative to buf's own mean square:
 * variance = mean(buf^2) / 10^(snr_db/10), drawn from the caller's generator. An infinite
 * SNR adds nothing. This is how the CRME authors model worker noise. */
void cod_noise_add(double *buf, size_t len, double snr_db, gsl_rng *rng);

#endif
