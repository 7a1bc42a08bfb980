/* cod_kernel.c: the small-by-wide product of cod_kernel.h.
 *
 * Blocking: four rows of C by twelve entries (three 4-wide vectors) are twelve
 * accumulators; per step of the inner dimension that is three loads of B, four broadcasts
 * of A and twelve FMAs. Entries left over after the 12-blocks go four at a time, then one
 * at a time; rows left over after the 4-blocks go one at a time. The kernel is compiled
 * for AVX2+FMA with a function attribute and chosen once by __builtin_cpu_supports, so the
 * build needs no -march flag and the program still runs on an older CPU.
 */
#include "cod_kernel.h"

#include <stdatomic.h>

void cod_gemm_small_portable(size_t M, size_t K, size_t W, const double *A, size_t lda,
                             const double *B, size_t ldb, double *C, size_t ldc) {
  for (size_t m = 0; m < M; m++) {
    double *restrict c = C + m * ldc;
    for (size_t e = 0; e < W; e++) c[e] = 0.0;
    for (size_t t = 0; t < K; t++) {
      const double a = A[m * lda + t], *restrict b = B + t * ldb;
      for (size_t e = 0; e < W; e++) c[e] += a * b[e];
    }
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define GS_TARGET __attribute__((target("avx2,fma")))

/* rows [m, m+4) of C, entries [e, e+12) */
GS_TARGET static void gs_block_4x12(size_t K, const double *A, size_t lda, const double *B,
                                    size_t ldb, double *C, size_t ldc) {
  __m256d c00 = _mm256_setzero_pd(), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
  __m256d c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
  for (size_t t = 0; t < K; t++) {
    const double *b = B + t * ldb;
    __m256d b0 = _mm256_loadu_pd(b), b1 = _mm256_loadu_pd(b + 4), b2 = _mm256_loadu_pd(b + 8);
    __m256d a = _mm256_broadcast_sd(A + t);
    c00 = _mm256_fmadd_pd(a, b0, c00), c01 = _mm256_fmadd_pd(a, b1, c01);
    c02 = _mm256_fmadd_pd(a, b2, c02);
    a = _mm256_broadcast_sd(A + lda + t);
    c10 = _mm256_fmadd_pd(a, b0, c10), c11 = _mm256_fmadd_pd(a, b1, c11);
    c12 = _mm256_fmadd_pd(a, b2, c12);
    a = _mm256_broadcast_sd(A + 2 * lda + t);
    c20 = _mm256_fmadd_pd(a, b0, c20), c21 = _mm256_fmadd_pd(a, b1, c21);
    c22 = _mm256_fmadd_pd(a, b2, c22);
    a = _mm256_broadcast_sd(A + 3 * lda + t);
    c30 = _mm256_fmadd_pd(a, b0, c30), c31 = _mm256_fmadd_pd(a, b1, c31);
    c32 = _mm256_fmadd_pd(a, b2, c32);
  }
  _mm256_storeu_pd(C, c00), _mm256_storeu_pd(C + 4, c01), _mm256_storeu_pd(C + 8, c02);
  C += ldc;
  _mm256_storeu_pd(C, c10), _mm256_storeu_pd(C + 4, c11), _mm256_storeu_pd(C + 8, c12);
  C += ldc;
  _mm256_storeu_pd(C, c20), _mm256_storeu_pd(C + 4, c21), _mm256_storeu_pd(C + 8, c22);
  C += ldc;
  _mm256_storeu_pd(C, c30), _mm256_storeu_pd(C + 4, c31), _mm256_storeu_pd(C + 8, c32);
}

/* rows [m, m+r) (r <= 4) of C, entries [e, e+4) */
GS_TARGET static void gs_block_rx4(size_t r, size_t K, const double *A, size_t lda,
                                   const double *B, size_t ldb, double *C, size_t ldc) {
  __m256d c[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(),
                  _mm256_setzero_pd()};
  for (size_t t = 0; t < K; t++) {
    __m256d b = _mm256_loadu_pd(B + t * ldb);
    for (size_t i = 0; i < r; i++)
      c[i] = _mm256_fmadd_pd(_mm256_broadcast_sd(A + i * lda + t), b, c[i]);
  }
  for (size_t i = 0; i < r; i++) _mm256_storeu_pd(C + i * ldc, c[i]);
}

/* one row of C, entries [e, e+12) */
GS_TARGET static void gs_block_1x12(size_t K, const double *A, const double *B, size_t ldb,
                                    double *C) {
  __m256d c0 = _mm256_setzero_pd(), c1 = c0, c2 = c0;
  for (size_t t = 0; t < K; t++) {
    const double *b = B + t * ldb;
    __m256d a = _mm256_broadcast_sd(A + t);
    c0 = _mm256_fmadd_pd(a, _mm256_loadu_pd(b), c0);
    c1 = _mm256_fmadd_pd(a, _mm256_loadu_pd(b + 4), c1);
    c2 = _mm256_fmadd_pd(a, _mm256_loadu_pd(b + 8), c2);
  }
  _mm256_storeu_pd(C, c0), _mm256_storeu_pd(C + 4, c1), _mm256_storeu_pd(C + 8, c2);
}

GS_TARGET static void gs_avx2(size_t M, size_t K, size_t W, const double *A, size_t lda,
                              const double *B, size_t ldb, double *C, size_t ldc) {
  size_t W12 = W - W % 12, W4 = W - W % 4, m = 0;
  for (; m + 4 <= M; m += 4) {
    const double *a = A + m * lda;
    double *c = C + m * ldc;
    for (size_t e = 0; e < W12; e += 12) gs_block_4x12(K, a, lda, B + e, ldb, c + e, ldc);
    for (size_t e = W12; e < W4; e += 4) gs_block_rx4(4, K, a, lda, B + e, ldb, c + e, ldc);
    if (W4 < W) cod_gemm_small_portable(4, K, W - W4, a, lda, B + W4, ldb, c + W4, ldc);
  }
  for (; m < M; m++) {
    const double *a = A + m * lda;
    double *c = C + m * ldc;
    for (size_t e = 0; e < W12; e += 12) gs_block_1x12(K, a, B + e, ldb, c + e);
    for (size_t e = W12; e < W4; e += 4) gs_block_rx4(1, K, a, lda, B + e, ldb, c + e, ldc);
    if (W4 < W) cod_gemm_small_portable(1, K, W - W4, a, lda, B + W4, ldb, c + W4, ldc);
  }
}

int cod_gemm_small_simd(void) {
  static atomic_int have = -1; /* every thread that races here stores the same value */
  int h = atomic_load_explicit(&have, memory_order_relaxed);
  if (h < 0) {
    __builtin_cpu_init();
    h = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    atomic_store_explicit(&have, h, memory_order_relaxed);
  }
  return h;
}

void cod_gemm_small(size_t M, size_t K, size_t W, const double *A, size_t lda, const double *B,
                    size_t ldb, double *C, size_t ldc) {
  if (cod_gemm_small_simd()) gs_avx2(M, K, W, A, lda, B, ldb, C, ldc);
  else cod_gemm_small_portable(M, K, W, A, lda, B, ldb, C, ldc);
}

#else

int cod_gemm_small_simd(void) { return 0; }

void cod_gemm_small(size_t M, size_t K, size_t W, const double *A, size_t lda, const double *B,
                    size_t ldb, double *C, size_t ldc) {
  cod_gemm_small_portable(M, K, W, A, lda, B, ldb, C, ldc);
}

#endif
