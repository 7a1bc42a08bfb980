/* test_coding_kernel.c: the small-by-wide product (cod_kernel) and the row inverse.
 *
 * cod_gemm_small is checked against cblas_dgemm and against its own portable loop over
 * shapes that exercise every block and remainder path (rows 1..9 around the 4-row blocks,
 * widths around the 12- and 4-entry blocks, inner sizes 0..33) with padded row strides,
 * so an off-by-one in a remainder or a stride mix-up shows as a wrong entry or a write
 * into the padding (which is checked to stay untouched); the folded product
 * (cod_gemm_small_fold) the same way against butterflies formed here from the definition,
 * and the gathered product (cod_gemm_small_rows) against the rows copied out here.
 * cod_la_complex_inverse_rows is
 * checked against the full inverse of the same seeded matrices and, independently,
 * against the identity: rows of inv(m) times m.
 */
#include <criterion/criterion.h>
#include <gsl/gsl_cblas.h>
#include <math.h>
#include <string.h>

#include "cod_alloc.h"
#include "cod_kernel.h"
#include "cod_scheme.h"
#include "tc_util.h"

#define PAD 3
#define SENTINEL 12345.678

static void check_shape(size_t M, size_t K, size_t W, uint64_t seed) {
  size_t lda = K + PAD, ldb = W + PAD, ldc = W + PAD;
  double *A = cod_malloc_array(M * lda + 1, sizeof *A);
  double *B = cod_malloc_array(K * ldb + 1, sizeof *B);
  double *C = cod_malloc_array(M * ldc + 1, sizeof *C);
  double *P = cod_malloc_array(M * ldc + 1, sizeof *P);
  double *R = cod_malloc_array(M * ldc + 1, sizeof *R);
  cr_assert(A && B && C && P && R);
  tc_fill(A, M * lda + 1, seed), tc_fill(B, K * ldb + 1, seed + 1);
  for (size_t i = 0; i < M * ldc + 1; i++) C[i] = P[i] = R[i] = SENTINEL;
  cod_gemm_small(M, K, W, A, lda, B, ldb, C, ldc);
  cod_gemm_small_portable(M, K, W, A, lda, B, ldb, P, ldc);
  if (M && W)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)W, (int)K, 1.0, A,
                (int)lda, B, (int)ldb, 0.0, R, (int)ldc);
  for (size_t m = 0; m < M; m++)
    for (size_t e = 0; e < ldc; e++) {
      size_t i = m * ldc + e;
      if (e >= W) {
        cr_assert(C[i] == SENTINEL && P[i] == SENTINEL,
                  "M=%zu K=%zu W=%zu: padding entry (%zu, %zu) was written", M, K, W, m, e);
        continue;
      }
      double ref = K ? R[i] : 0.0, tol = 4.0 * (double)(K + 1) * 2.3e-16 * (double)(K + 1);
      cr_assert(fabs(C[i] - ref) <= tol, "M=%zu K=%zu W=%zu (%zu, %zu): %.17g vs BLAS %.17g", M,
                K, W, m, e, C[i], ref);
      cr_assert(fabs(P[i] - ref) <= tol, "M=%zu K=%zu W=%zu (%zu, %zu): portable %.17g vs %.17g",
                M, K, W, m, e, P[i], ref);
    }
  cr_assert(C[M * ldc] == SENTINEL, "M=%zu K=%zu W=%zu: wrote past C", M, K, W);
  cod_free(A), cod_free(B), cod_free(C), cod_free(P), cod_free(R);
}

Test(kernel, every_block_and_remainder_path) {
  static const size_t Ms[] = {1, 2, 3, 4, 5, 7, 8, 9, 18};
  static const size_t Ks[] = {0, 1, 2, 11, 12, 32, 33};
  static const size_t Ws[] = {0, 1, 3, 4, 5, 11, 12, 13, 16, 24, 25, 338};
  uint64_t seed = 100;
  for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
    for (size_t b = 0; b < sizeof Ks / sizeof *Ks; b++)
      for (size_t c = 0; c < sizeof Ws / sizeof *Ws; c++) check_shape(Ms[a], Ks[b], Ws[c], seed++);
  cr_log_info("cod_gemm_small runs the %s kernel here",
              cod_gemm_small_simd() ? "AVX2+FMA" : "portable");
}

/* The folded product against cblas_dgemm on the butterflies formed here explicitly from
 * the definition (sums x[0], x[t] + x[q-t]; differences x[t] - x[q-t], q = 2h+1), for both
 * the AVX2 and the portable path, with padded strides whose padding must stay untouched. */
static void check_fold(int sign, size_t M, size_t h, size_t W, uint64_t seed) {
  size_t q = 2 * h + 1, K = sign > 0 ? h + 1 : h, lda = K + PAD, ldx = W + PAD, ldc = W + PAD;
  double *A = cod_malloc_array(M * lda + 1, sizeof *A);
  double *X = cod_malloc_array(q * ldx + 1, sizeof *X);
  double *B = cod_malloc_array(K * W + 1, sizeof *B);
  double *C = cod_malloc_array(M * ldc + 1, sizeof *C);
  double *P = cod_malloc_array(M * ldc + 1, sizeof *P);
  double *R = cod_malloc_array(M * W + 1, sizeof *R);
  cr_assert(A && X && B && C && P && R);
  tc_fill(A, M * lda + 1, seed), tc_fill(X, q * ldx + 1, seed + 1);
  for (size_t t = 0; t < K; t++)
    for (size_t e = 0; e < W; e++) {
      if (sign > 0)
        B[t * W + e] = t == 0 ? X[e] : X[t * ldx + e] + X[(q - t) * ldx + e];
      else
        B[t * W + e] = X[(t + 1) * ldx + e] - X[(q - t - 1) * ldx + e];
    }
  for (size_t i = 0; i < M * ldc + 1; i++) C[i] = P[i] = SENTINEL;
  cod_gemm_small_fold(sign, M, K, W, A, lda, X, ldx, C, ldc);
  cod_gemm_small_fold_portable(sign, M, K, W, A, lda, X, ldx, P, ldc);
  if (M && W && K)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)W, (int)K, 1.0, A,
                (int)lda, B, (int)W, 0.0, R, (int)W);
  for (size_t m = 0; m < M; m++)
    for (size_t e = 0; e < ldc; e++) {
      size_t i = m * ldc + e;
      if (e >= W) {
        cr_assert(C[i] == SENTINEL && P[i] == SENTINEL,
                  "fold %+d M=%zu h=%zu W=%zu: padding entry (%zu, %zu) was written", sign, M,
                  h, W, m, e);
        continue;
      }
      double ref = K ? R[m * W + e] : 0.0, tol = 8.0 * (double)(K + 1) * 2.3e-16 * (double)(K + 1);
      cr_assert(fabs(C[i] - ref) <= tol, "fold %+d M=%zu h=%zu W=%zu (%zu, %zu): %.17g vs %.17g",
                sign, M, h, W, m, e, C[i], ref);
      cr_assert(fabs(P[i] - ref) <= tol,
                "fold %+d M=%zu h=%zu W=%zu (%zu, %zu): portable %.17g vs %.17g", sign, M, h, W,
                m, e, P[i], ref);
    }
  cr_assert(C[M * ldc] == SENTINEL, "fold %+d M=%zu h=%zu W=%zu: wrote past C", sign, M, h, W);
  cod_free(A), cod_free(X), cod_free(B), cod_free(C), cod_free(P), cod_free(R);
}

Test(kernel, fold_sums_and_differences) {
  static const size_t Ms[] = {1, 2, 3, 4, 5, 11, 13};
  static const size_t hs[] = {1, 2, 6, 11, 14};
  static const size_t Ws[] = {1, 2, 3, 4, 7, 12, 13, 15, 48, 50};
  uint64_t seed = 500;
  for (int sg = -1; sg <= 1; sg += 2)
    for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
      for (size_t b = 0; b < sizeof hs / sizeof *hs; b++)
        for (size_t c = 0; c < sizeof Ws / sizeof *Ws; c++)
          check_fold(sg, Ms[a], hs[b], Ws[c], seed++);
}

/* The gathered product: row t of B named by a pointer into a larger matrix, the rows
 * taken in a scrambled order with repeats, against cblas_dgemm on the rows copied out here,
 * for both paths, with padding that must stay untouched. */
static void check_rows(size_t M, size_t K, size_t W, uint64_t seed) {
  size_t lda = K + PAD, ldx = W + PAD, ldc = W + PAD, NX = 2 * K + 3;
  double *A = cod_malloc_array(M * lda + 1, sizeof *A);
  double *X = cod_malloc_array(NX * ldx + 1, sizeof *X);
  double *B = cod_malloc_array(K * W + 1, sizeof *B);
  double *C = cod_malloc_array(M * ldc + 1, sizeof *C);
  double *P = cod_malloc_array(M * ldc + 1, sizeof *P);
  double *R = cod_malloc_array(M * W + 1, sizeof *R);
  const double **rows = cod_malloc_array(K + 1, sizeof *rows);
  cr_assert(A && X && B && C && P && R && rows);
  tc_fill(A, M * lda + 1, seed), tc_fill(X, NX * ldx + 1, seed + 1);
  for (size_t t = 0; t < K; t++) {
    size_t src = (7 * t + 3 + (size_t)seed) % NX; /* scrambled, and repeats once K > NX/2 */
    rows[t] = X + src * ldx;
    memcpy(B + t * W, rows[t], W * sizeof *B);
  }
  for (size_t i = 0; i < M * ldc + 1; i++) C[i] = P[i] = SENTINEL;
  cod_gemm_small_rows(M, K, W, A, lda, rows, C, ldc);
  cod_gemm_small_rows_portable(M, K, W, A, lda, rows, P, ldc);
  if (M && W && K)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)W, (int)K, 1.0, A,
                (int)lda, B, (int)W, 0.0, R, (int)W);
  for (size_t m = 0; m < M; m++)
    for (size_t e = 0; e < ldc; e++) {
      size_t i = m * ldc + e;
      if (e >= W) {
        cr_assert(C[i] == SENTINEL && P[i] == SENTINEL,
                  "rows M=%zu K=%zu W=%zu: padding entry (%zu, %zu) was written", M, K, W, m, e);
        continue;
      }
      double ref = K ? R[m * W + e] : 0.0, tol = 4.0 * (double)(K + 1) * 2.3e-16 * (double)(K + 1);
      cr_assert(fabs(C[i] - ref) <= tol, "rows M=%zu K=%zu W=%zu (%zu, %zu): %.17g vs %.17g", M, K,
                W, m, e, C[i], ref);
      cr_assert(fabs(P[i] - ref) <= tol,
                "rows M=%zu K=%zu W=%zu (%zu, %zu): portable %.17g vs %.17g", M, K, W, m, e, P[i],
                ref);
    }
  cr_assert(C[M * ldc] == SENTINEL, "rows M=%zu K=%zu W=%zu: wrote past C", M, K, W);
  cod_free(A), cod_free(X), cod_free(B), cod_free(C), cod_free(P), cod_free(R), cod_free(rows);
}

Test(kernel, gathered_rows_every_block_and_remainder_path) {
  static const size_t Ms[] = {1, 2, 3, 4, 5, 9, 18};
  static const size_t Ks[] = {0, 1, 2, 11, 18, 32};
  static const size_t Ws[] = {0, 1, 3, 4, 5, 12, 13, 25, 48};
  uint64_t seed = 900;
  for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
    for (size_t b = 0; b < sizeof Ks / sizeof *Ks; b++)
      for (size_t c = 0; c < sizeof Ws / sizeof *Ws; c++) check_rows(Ms[a], Ks[b], Ws[c], seed++);
}

/* The recombination helper: exact sums and differences (one rounding each, so equal to the
 * definition bit for bit) for every tail length, nothing written past n. */
Test(kernel, vec_add_sub_every_tail) {
  for (int sg = -1; sg <= 1; sg += 2)
    for (size_t n = 0; n <= 13; n++) {
      double a[14], b[14], d[15];
      tc_fill(a, 14, 700 + n), tc_fill(b, 14, 800 + n);
      for (size_t e = 0; e < 15; e++) d[e] = SENTINEL;
      cod_vec_add_sub(sg, n, a, b, d);
      for (size_t e = 0; e < n; e++)
        cr_assert(d[e] == (sg > 0 ? a[e] + b[e] : a[e] - b[e]), "sign %+d n=%zu entry %zu", sg,
                  n, e);
      for (size_t e = n; e < 15; e++) cr_assert(d[e] == SENTINEL, "sign %+d n=%zu wrote %zu", sg, n, e);
    }
}

/* rows of a complex g x n times the n x n m: the first g rows of the identity */
static double row_identity_err(const double *inv, const double *m, size_t g, size_t n) {
  double worst = 0;
  for (size_t i = 0; i < g; i++)
    for (size_t j = 0; j < n; j++) {
      double re = 0, im = 0;
      for (size_t l = 0; l < n; l++) {
        double ar = inv[2 * (i * n + l)], ai = inv[2 * (i * n + l) + 1];
        double br = m[2 * (l * n + j)], bi = m[2 * (l * n + j) + 1];
        re += ar * br - ai * bi, im += ar * bi + ai * br;
      }
      worst = fmax(worst, hypot(re - (i == j), im));
    }
  return worst;
}

Test(kernel, complex_inverse_rows_match_the_full_inverse) {
  for (size_t n = 1; n <= 17; n += 4)
    for (size_t g = 1; g <= n; g += (n > 4 ? 3 : 1)) {
      double *m = cod_malloc_array(2 * n * n, sizeof *m);
      double *full = cod_malloc_array(2 * n * n, sizeof *full);
      double *rows = cod_malloc_array(2 * g * n, sizeof *rows);
      double *w = cod_malloc_array(cod_la_complex_inverse_rows_work_doubles(n), sizeof *w);
      cr_assert(m && full && rows && w);
      tc_fill(m, 2 * n * n, 7 * n + g);
      cod_err e = {0};
      cr_assert_eq(cod_la_complex_inverse(m, n, full, &e), COD_OK, "%s", e.msg);
      cr_assert_eq(cod_la_complex_inverse_rows(m, n, g, rows, w, &e), COD_OK, "%s", e.msg);
      double scale = 0, diff = 0;
      for (size_t i = 0; i < 2 * g * n; i++)
        scale = fmax(scale, fabs(full[i])), diff = fmax(diff, fabs(rows[i] - full[i]));
      cr_assert(diff <= 1e-12 * scale, "n=%zu g=%zu: rows differ from the inverse by %g", n, g,
                diff);
      double id = row_identity_err(rows, m, g, n);
      cr_assert(id <= 1e-11, "n=%zu g=%zu: rows of inv(m) m miss the identity by %g", n, g, id);
      cod_free(m), cod_free(full), cod_free(rows), cod_free(w);
    }
}

Test(kernel, complex_inverse_rows_refuses_a_singular_matrix) {
  size_t n = 5;
  double m[2 * 25], rows[2 * 10], w[128];
  cr_assert(cod_la_complex_inverse_rows_work_doubles(n) <= 128);
  tc_fill(m, 50, 3);
  for (size_t i = 0; i < n; i++) m[2 * (i * n + 2)] = m[2 * (i * n + 2) + 1] = 0.0; /* column 2 */
  cod_err e = {0};
  cr_assert_eq(cod_la_complex_inverse_rows(m, n, 2, rows, w, &e), COD_ENUMERIC);
  cr_assert(strstr(e.msg, "singular"), "message: %s", e.msg);
  memset(m, 0, sizeof m);
  e = (cod_err){0};
  cr_assert_eq(cod_la_complex_inverse_rows(m, n, 2, rows, w, &e), COD_ENUMERIC);
}
