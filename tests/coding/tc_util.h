/* tc_util.h: helpers shared by the coding/ test executables (not part of any library).
 *
 * Seeded data (a 64-bit LCG, so every run sees the same numbers and no test depends on a
 * global generator), error norms, combination enumeration, and a "coded run": a code
 * planned for one layer, the layer's direct reference output, and every worker's result
 * computed from the encoded operands, so that a test can decode from any worker subset.
 */
#ifndef FCDCC_TC_UTIL_H
#define FCDCC_TC_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "cod_code.h"
#include "cod_conv.h"

typedef struct tc_lcg {
  uint64_t s;
} tc_lcg;

void tc_lcg_seed(tc_lcg *r, uint64_t seed);
/* Uniform in [-1, 1). */
double tc_lcg_uniform(tc_lcg *r);
/* Uniform integer in [0, n). */
size_t tc_lcg_below(tc_lcg *r, size_t n);
/* Fill v[0..len) with uniform [-1,1) values from a generator seeded with seed. */
void tc_fill(double *v, size_t len, uint64_t seed);
void tc_fill_f32(float *v, size_t len, uint64_t seed);
/* Fisher-Yates shuffle of a permutation of 0..n-1. */
void tc_shuffle(size_t *perm, size_t n, tc_lcg *r);

/* max_i |a_i - b_i| / max_i |b_i| (relative error in the max norm; b is the reference). */
double tc_rel_err(const double *a, const double *b, size_t n);
/* ||a - b||_2^2 / ||b||_2^2 (normalized MSE, as in CRME's noise figures). */
double tc_nmse(const double *a, const double *b, size_t n);

/* Combinations of k out of n in lexicographic order: init sets 0..k-1; next returns 0
 * after the last one. */
void tc_comb_init(size_t *set, size_t k);
int tc_comb_next(size_t *set, size_t k, size_t n);
double tc_binomial(size_t n, size_t k);

/* 2-norm condition number of a real rows x cols matrix (rows >= cols) with GSL's
 * Golub-Reinsch SVD (the library uses one-sided Jacobi: this is the independent check). */
double tc_cond_real(const double *m, size_t rows, size_t cols);
/* The same for a complex n x n matrix (interleaved re, im), via the real embedding
 * [[Re, -Im], [Im, Re]] whose singular values are those of m, each twice. */
double tc_cond_complex(const double *m, size_t n);

/* A code, its layer data and every worker's result. */
typedef struct tc_run {
  cod_code *code;
  cod_conv_geom g;
  size_t n, out_len;
  double *x, *k, *yref;  /* input, filters, direct convolution */
  double *cx, *ck;       /* coded operands, worker-major */
  double **res;          /* res[j]: worker j's result (worker_output_len) */
} tc_run;

/* Plan prm on g, fill x and k with seeded data, compute the reference and all n worker
 * results in precision prec. Asserts (Criterion) on any failure. */
void tc_run_init(tc_run *r, const cod_code_params *prm, const cod_conv_geom *g,
                 uint64_t seed, cod_dtype prec);
void tc_run_fini(tc_run *r);
/* Decode from avail (results taken from r->res in the same order) into y. */
int tc_run_decode(const tc_run *r, const size_t *avail, size_t n_avail,
                  cod_decode_method method, double *y, cod_decode_info *info, cod_err *err);

cod_conv_geom tc_geom(size_t c, size_t h, size_t w, size_t n, size_t kh, size_t kw,
                      size_t stride, size_t pad);
cod_code_params tc_params(const char *scheme, size_t n, size_t ka, size_t kb);

/* Search options that depend on the arguments only (no time budget): exhaustive when
 * C(n, delta) <= max_exhaustive, else `samples` sets from `seed`. */
cod_cond_search_opts tc_search_opts(double max_exhaustive, size_t samples, unsigned long seed);
/* cod_code_cond_search with tc_search_opts (samples 0 means 1). */
int tc_cond_search(const cod_code *c, double max_exhaustive, size_t samples, unsigned long seed,
                   cod_cond_search_result *res, cod_err *err);

#endif
