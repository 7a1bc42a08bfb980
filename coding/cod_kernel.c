/* cod_kernel.c: the small-by-wide products of cod_kernel.h.
 *
 * Blocking: r <= 4 rows of C by twelve entries (three 4-wide vectors) are up to twelve
 * accumulators; per step of the inner dimension that is three loads of B, r broadcasts
 * of A and 3r FMAs. Rows left over after the 4-blocks go as one 3-, 2- or 1-row block
 * (the same code with r fixed at compile time), so an 11- or 18-row product costs its
 * rows and not a one-row pass per leftover row; entries left over after the 12-blocks go
 * four at a time, then the last one to three under a lane mask. The folded product
 * (cod_gemm_small_fold) forms each row of B as a sum or difference of two rows of X in
 * registers as it goes: the butterflies of a real DFT of odd length cost two loads and
 * an add instead of a pass over memory; cod_gemm_small_rows reads row t of B through the t-th
 * of a table of pointers (the rows a decoder selected, wherever they lie). The packed
 * products (cod_gemm_packed_*, Winograd's) block the other way round: 5 or 6 rows of A
 * broadcast against a panel of B already laid out one cache line per row, two vectors
 * wide, the panel's chunk reused from L1 by every row block. The kernels are
 * compiled for AVX2+FMA with a function attribute and chosen once by __builtin_cpu_supports,
 * so the build needs no -march flag and the program still runs on an older CPU. The small
 * products and the inverse half DFT are written once (cod_kernel_simd.h) and instantiated
 * four lanes wide (AVX2) and eight (AVX-512F), with the same bits: an entry's sum is one
 * FMA per term in index order at either width, and the blocks only group entries.
 */
#include "cod_kernel.h"

#include <stdatomic.h>
#include <string.h>

const char *cod_kernel_isa_name(int isa) {
  return isa == COD_KERNEL_AVX512 ? "AVX-512" : isa == COD_KERNEL_AVX2 ? "AVX2" : "portable";
}

/* Row t (t < K) of the B a fold of X stands for, entry e. */
static inline double gs_fold_at(int sign, size_t K, const void *Xv, size_t ldx, size_t t,
                                size_t e) {
  if (sign == 2) return ((const double *const *)Xv)[t][e];
  const double *X = Xv;
  if (sign == 0) return X[t * ldx + e];
  if (sign > 0) return t == 0 ? X[e] : X[t * ldx + e] + X[(2 * K - 1 - t) * ldx + e];
  return X[(t + 1) * ldx + e] - X[(2 * K - t) * ldx + e];
}

static void gs_portable(int sign, size_t M, size_t K, size_t W, const double *A, size_t lda,
                        const void *X, size_t ldx, double *C, size_t ldc) {
  for (size_t m = 0; m < M; m++) {
    double *restrict c = C + m * ldc;
    for (size_t e = 0; e < W; e++) c[e] = 0.0;
    for (size_t t = 0; t < K; t++) {
      const double a = A[m * lda + t];
      for (size_t e = 0; e < W; e++) c[e] += a * gs_fold_at(sign, K, X, ldx, t, e);
    }
  }
}

void cod_gemm_small_portable(size_t M, size_t K, size_t W, const double *A, size_t lda,
                             const double *B, size_t ldb, double *C, size_t ldc) {
  gs_portable(0, M, K, W, A, lda, B, ldb, C, ldc);
}

void cod_gemm_small_fold_portable(int sign, size_t M, size_t K, size_t W, const double *A,
                                  size_t lda, const double *X, size_t ldx, double *C,
                                  size_t ldc) {
  gs_portable(sign > 0 ? 1 : -1, M, K, W, A, lda, X, ldx, C, ldc);
}

void cod_gemm_small_rows_portable(size_t M, size_t K, size_t W, const double *A, size_t lda,
                                  const double *const *B, double *C, size_t ldc) {
  gs_portable(2, M, K, W, A, lda, (const void *)B, 0, C, ldc);
}

void cod_idft_half_portable(size_t h, size_t W, const double *hc, const double *hs,
                            const double *re, const double *im, size_t ld, double *out,
                            size_t ldo) {
  for (size_t s = 0; s <= h; s++)
    for (size_t e = 0; e < W; e++) {
      double cs = 0.0, sn = 0.0;
      for (size_t m = 0; m < h; m++) cs += hc[s * h + m] * re[m * ld + e];
      if (s == 0) {
        out[e] = cs;
        continue;
      }
      for (size_t m = 0; m < h; m++) sn += hs[(s - 1) * h + m] * im[m * ld + e];
      out[s * ldo + e] = cs + sn;
      if (s > 1) out[(2 * h + 1 - s) * ldo + e] = cs - sn;
    }
}

/* The packed products' row blocks: P rows in ceil(P / 6) blocks of 5 or 6 (49 tiles: four
 * of 6 and five of 5), so every block keeps 10 or 12 accumulators busy and no row is
 * padded; block b starts at pk_block_start(P, 6, b). The inner dimension goes in chunks of
 * PK_CHUNK rows: a chunk of a panel (one 64-byte line per row, 16 KB) and a block's rows
 * of A (6 to 12 KB) share L1; later chunks add to the entries the first one stored, which
 * keeps each entry one sum in index order. */
#define PK_CHUNK 256
#define PK_HINT _MM_HINT_T0
static inline size_t pk_blocks(size_t P, size_t rows) { return (P + rows - 1) / rows; }
static inline size_t pk_block_start(size_t P, size_t rows, size_t b) {
  size_t nb = pk_blocks(P, rows), base = P / nb, extra = P % nb;
  return b * base + (b < extra ? b : extra);
}

#define DEFINE_PACKED_PORTABLE(T, SUFFIX, PW)                                              \
  void cod_gemm_packed_portable_##SUFFIX(size_t P, size_t K, size_t npanels, const T *A,   \
                                         size_t lda, const T *B, T *C, size_t ldc) {       \
    for (size_t j = 0; j < npanels; j++)                                                   \
      for (size_t p = 0; p < P; p++) {                                                     \
        T acc[PW] = {0};                                                                   \
        const T *b = B + j * K * (PW);                                                     \
        for (size_t t = 0; t < K; t++)                                                     \
          for (size_t e = 0; e < (PW); e++) acc[e] += A[p * lda + t] * b[t * (PW) + e];    \
        memcpy(C + p * ldc + j * (PW), acc, sizeof acc);                                   \
      }                                                                                    \
  }

DEFINE_PACKED_PORTABLE(double, f64, COD_GEMM_PANEL_F64)
DEFINE_PACKED_PORTABLE(float, f32, COD_GEMM_PANEL_F32)

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define GS_TARGET __attribute__((target("avx2,fma")))
#define GS_INLINE __attribute__((always_inline)) inline

#define KS(name) name##_avx2
#define KS_TARGET GS_TARGET
#define KS_V __m256d
#define KS_L 4
#define KS_MASK __m256i
#define KS_MASK_OF(rem)                                                                    \
  _mm256_set_epi64x((rem) > 3 ? -1 : 0, (rem) > 2 ? -1 : 0, (rem) > 1 ? -1 : 0, -1)
#define KS_LOADU _mm256_loadu_pd
#define KS_STOREU _mm256_storeu_pd
#define KS_MLOAD(p, m) _mm256_maskload_pd(p, m)
#define KS_MSTORE(p, m, v) _mm256_maskstore_pd(p, m, v)
#define KS_ZERO _mm256_setzero_pd
#define KS_BCAST _mm256_broadcast_sd
#define KS_FMA _mm256_fmadd_pd
#define KS_ADD _mm256_add_pd
#define KS_SUB _mm256_sub_pd
#include "cod_kernel_simd.h"
#undef KS
#undef KS_TARGET
#undef KS_V
#undef KS_L
#undef KS_MASK
#undef KS_MASK_OF
#undef KS_LOADU
#undef KS_STOREU
#undef KS_MLOAD
#undef KS_MSTORE
#undef KS_ZERO
#undef KS_BCAST
#undef KS_FMA
#undef KS_ADD
#undef KS_SUB

/* The same kernels eight lanes wide (AVX-512F, 32 registers), the same bits. */
#define KS(name) name##_avx512
#define KS_TARGET __attribute__((target("avx512f,avx2,fma")))
#define KS_V __m512d
#define KS_L 8
#define KS_MASK __mmask8
#define KS_MASK_OF(rem) ((__mmask8)((1u << (rem)) - 1u))
#define KS_LOADU _mm512_loadu_pd
#define KS_STOREU _mm512_storeu_pd
#define KS_MLOAD(p, m) _mm512_maskz_loadu_pd(m, p)
#define KS_MSTORE(p, m, v) _mm512_mask_storeu_pd(p, m, v)
#define KS_ZERO _mm512_setzero_pd
#define KS_BCAST(p) _mm512_set1_pd(*(p))
#define KS_FMA _mm512_fmadd_pd
#define KS_ADD _mm512_add_pd
#define KS_SUB _mm512_sub_pd
#include "cod_kernel_simd.h"

static _Thread_local int kernel_cap = COD_KERNEL_AVX512;

static int kernel_cpu(void) {
  static atomic_int have = -1; /* every thread that races here stores the same value */
  int h = atomic_load_explicit(&have, memory_order_relaxed);
  if (h < 0) {
    __builtin_cpu_init();
    h = !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? COD_KERNEL_PORTABLE
        : __builtin_cpu_supports("avx512f")                                 ? COD_KERNEL_AVX512
                                                                            : COD_KERNEL_AVX2;
    atomic_store_explicit(&have, h, memory_order_relaxed);
  }
  return h;
}

int cod_kernel_isa(void) {
  int h = kernel_cpu();
  return h < kernel_cap ? h : kernel_cap;
}

int cod_kernel_cap_isa(int max) {
  int old = kernel_cap;
  kernel_cap = max;
  return old;
}

int cod_gemm_small_simd(void) { return cod_kernel_isa() >= COD_KERNEL_AVX2; }

void cod_gemm_small(size_t M, size_t K, size_t W, const double *A, size_t lda, const double *B,
                    size_t ldb, double *C, size_t ldc) {
  switch (cod_kernel_isa()) {
  case COD_KERNEL_AVX512: gs_avx512(M, K, W, A, lda, B, ldb, C, ldc); break;
  case COD_KERNEL_AVX2: gs_avx2(M, K, W, A, lda, B, ldb, C, ldc); break;
  default: cod_gemm_small_portable(M, K, W, A, lda, B, ldb, C, ldc); break;
  }
}

void cod_gemm_small_fold(int sign, size_t M, size_t K, size_t W, const double *A, size_t lda,
                         const double *X, size_t ldx, double *C, size_t ldc) {
  switch (cod_kernel_isa()) {
  case COD_KERNEL_AVX512:
    if (sign > 0) gs_sum_avx512(M, K, W, A, lda, X, ldx, C, ldc);
    else gs_diff_avx512(M, K, W, A, lda, X, ldx, C, ldc);
    break;
  case COD_KERNEL_AVX2:
    if (sign > 0) gs_sum_avx2(M, K, W, A, lda, X, ldx, C, ldc);
    else gs_diff_avx2(M, K, W, A, lda, X, ldx, C, ldc);
    break;
  default: cod_gemm_small_fold_portable(sign, M, K, W, A, lda, X, ldx, C, ldc); break;
  }
}

void cod_gemm_small_rows(size_t M, size_t K, size_t W, const double *A, size_t lda,
                         const double *const *B, double *C, size_t ldc) {
  switch (cod_kernel_isa()) {
  case COD_KERNEL_AVX512: gs_ptr_avx512(M, K, W, A, lda, (const void *)B, 0, C, ldc); break;
  case COD_KERNEL_AVX2: gs_ptr_avx2(M, K, W, A, lda, (const void *)B, 0, C, ldc); break;
  default: cod_gemm_small_rows_portable(M, K, W, A, lda, B, C, ldc); break;
  }
}

void cod_idft_half(size_t h, size_t W, const double *hc, const double *hs, const double *re,
                   const double *im, size_t ld, double *out, size_t ldo) {
  switch (cod_kernel_isa()) {
  case COD_KERNEL_AVX512: idft_avx512(h, W, hc, hs, re, im, ld, out, ldo); break;
  case COD_KERNEL_AVX2: idft_avx2(h, W, hc, hs, re, im, ld, out, ldo); break;
  default: cod_idft_half_portable(h, W, hc, hs, re, im, ld, out, ldo); break;
  }
}

/* r (<= 6, fixed where inlined) rows of C against one panel's chunk of K rows: 2r
 * accumulators (two vectors per row), two loads of B and r broadcasts of A per step of the
 * inner dimension; `add` continues the sums a previous chunk stored in C. */
/* One step t of the inner dimension: two vectors of row t of B against r rows of A. */
#define PK_STEP(V, LANES, LOAD, BCAST, FMA, t)                                             \
  do {                                                                                     \
    V b0 = LOAD(B + (t) * 2 * LANES), b1 = LOAD(B + (t) * 2 * LANES + LANES);              \
    _Pragma("GCC unroll 6") for (size_t i = 0; i < r; i++) {                               \
      V a = BCAST(A + i * lda + (t));                                                      \
      c[i][0] = FMA(a, b0, c[i][0]);                                                       \
      c[i][1] = FMA(a, b1, c[i][1]);                                                       \
    }                                                                                      \
  } while (0)

#define DEFINE_PK_BLOCK(T, SUFFIX, V, LANES, SETZERO, LOAD, STORE, BCAST, FMA)             \
  GS_TARGET static GS_INLINE void pk_block_##SUFFIX(size_t r, size_t K, const T *A,        \
                                                    size_t lda, const T *B, T *C,          \
                                                    size_t ldc, int add, const T *pf,      \
                                                    size_t npf) {                          \
    V c[6][2];                                                                             \
    _Pragma("GCC unroll 6") for (size_t i = 0; i < r; i++) {                               \
      c[i][0] = add ? LOAD(C + i * ldc) : SETZERO();                                       \
      c[i][1] = add ? LOAD(C + i * ldc + LANES) : SETZERO();                               \
    }                                                                                      \
    /* the steps that also fetch a line of the next chunk, then the rest two at a time     \
     * (the loop's own instructions are a third of the block's otherwise) */               \
    size_t t = 0;                                                                          \
    for (; t < npf && t < K; t++) {                                                        \
      _mm_prefetch((const char *)(pf + t * 2 * LANES), PK_HINT);                           \
      PK_STEP(V, LANES, LOAD, BCAST, FMA, t);                                              \
    }                                                                                      \
    for (; t + 2 <= K; t += 2) {                                                           \
      PK_STEP(V, LANES, LOAD, BCAST, FMA, t);                                              \
      PK_STEP(V, LANES, LOAD, BCAST, FMA, t + 1);                                          \
    }                                                                                      \
    if (t < K) PK_STEP(V, LANES, LOAD, BCAST, FMA, t);                                     \
    _Pragma("GCC unroll 6") for (size_t i = 0; i < r; i++) {                               \
      STORE(C + i * ldc, c[i][0]);                                                         \
      STORE(C + i * ldc + LANES, c[i][1]);                                                 \
    }                                                                                      \
  }

DEFINE_PK_BLOCK(float, f32, __m256, 8, _mm256_setzero_ps, _mm256_loadu_ps, _mm256_storeu_ps,
                _mm256_broadcast_ss, _mm256_fmadd_ps)
DEFINE_PK_BLOCK(double, f64, __m256d, 4, _mm256_setzero_pd, _mm256_loadu_pd, _mm256_storeu_pd,
                _mm256_broadcast_sd, _mm256_fmadd_pd)

#define PK_SWITCH(SUFFIX, r, kc, a, lda, b, c, ldc, add, pf, npf)                          \
  switch (r) {                                                                             \
  case 6: pk_block_##SUFFIX(6, kc, a, lda, b, c, ldc, add, pf, npf); break;                     \
  case 5: pk_block_##SUFFIX(5, kc, a, lda, b, c, ldc, add, pf, npf); break;                     \
  case 4: pk_block_##SUFFIX(4, kc, a, lda, b, c, ldc, add, pf, npf); break;                     \
  case 3: pk_block_##SUFFIX(3, kc, a, lda, b, c, ldc, add, pf, npf); break;                     \
  case 2: pk_block_##SUFFIX(2, kc, a, lda, b, c, ldc, add, pf, npf); break;                     \
  default: pk_block_##SUFFIX(1, kc, a, lda, b, c, ldc, add, pf, npf); break;                    \
  }

/* Panel outer, chunks of K, row blocks inner: a panel chunk is read from memory once and
 * from L1 by every block; A's rows come from L2. BLOCK runs block (r rows at a, c) on the
 * chunk; ROWS is its largest row count, CHUNK the rows of the inner dimension per chunk. */
#define DEFINE_PACKED_DRIVER(NAME, TARGET, T, PW, ROWS, CHUNK, BLOCK)                      \
  TARGET static void NAME(size_t P, size_t K, size_t npanels, const T *A, size_t lda,      \
                          const T *B, T *C, size_t ldc) {                                  \
    const size_t nb = pk_blocks(P, ROWS);                                                  \
    for (size_t j = 0; j < npanels; j++)                                                   \
      for (size_t k0 = 0; k0 < K || k0 == 0; k0 += CHUNK) {                                \
        const size_t kc = K - k0 < CHUNK ? K - k0 : CHUNK;                                 \
        const T *b = B + (j * K + k0) * (PW);                                              \
        for (size_t blk = 0; blk < nb; blk++) {                                            \
          size_t p0 = pk_block_start(P, ROWS, blk);                                        \
          size_t r = pk_block_start(P, ROWS, blk + 1) - p0;                                \
          const T *a = A + p0 * lda + k0;                                                  \
          T *c = C + p0 * ldc + j * (PW);                                                  \
          int add = k0 > 0;                                                                \
          /* the blocks share the fetch of the next chunk (the next panel's first after \
           * the last chunk) into cache while they compute, evenly in time: that chunk's \
           * first block would otherwise wait on memory for each of its lines */          \
          size_t f0 = kc * blk / nb, f1 = kc * (blk + 1) / nb;                             \
          const T *pf = b + (kc + f0) * (PW);                                              \
          size_t npf = k0 + kc < K || j + 1 < npanels ? f1 - f0 : 0;                       \
          BLOCK                                                                            \
        }                                                                                  \
        if (K == 0) break;                                                                 \
      }                                                                                    \
  }
#define DEFINE_PACKED_AVX2(T, SUFFIX, PW)                                                  \
  DEFINE_PACKED_DRIVER(pk_avx2_##SUFFIX, GS_TARGET, T, PW, 6, PK_CHUNK,                    \
                       PK_SWITCH(SUFFIX, r, kc, a, lda, b, c, ldc, add, pf, npf);)

DEFINE_PACKED_AVX2(float, f32, COD_GEMM_PANEL_F32)
DEFINE_PACKED_AVX2(double, f64, COD_GEMM_PANEL_F64)

/* AVX-512F: a panel's row is one 64-byte vector, so a block takes up to PK512_ROWS rows of
 * A, one accumulator each: as many FMAs per step as the AVX2 block's 6 x 2, each twice as
 * wide. Every entry is the same chain of FMAs in the same order (chunks continue the sums
 * stored in C exactly), so the bits are the AVX2 kernel's. Blocks of 12 rows (49 tiles:
 * four of 10 and one of 9); chunks of PK512_CHUNK rows keep a block's rows of A (fp64: 12
 * KB) and the panel's chunk (8 KB) in L1. */
#define PK512_ROWS 12
#define PK512_CHUNK 128
#define PK512_TARGET __attribute__((target("avx512f,avx2,fma")))

#define PK512_STEP(V, LANES, LOAD, BCAST, FMA, t)                                          \
  do {                                                                                     \
    V b0 = LOAD(B + (t) * LANES);                                                          \
    _Pragma("GCC unroll 12") for (size_t i = 0; i < r; i++)                                \
        c[i] = FMA(BCAST(A[i * lda + (t)]), b0, c[i]);                                     \
  } while (0)

#define DEFINE_PK512_BLOCK(T, SUFFIX, V, LANES, SETZERO, LOAD, STORE, BCAST, FMA)          \
  PK512_TARGET static GS_INLINE void pk512_block_##SUFFIX(size_t r, size_t K, const T *A,  \
                                                          size_t lda, const T *B, T *C,    \
                                                          size_t ldc, int add, const T *pf, \
                                                          size_t npf) {                    \
    V c[PK512_ROWS];                                                                       \
    _Pragma("GCC unroll 12") for (size_t i = 0; i < r; i++) c[i] =                         \
        add ? LOAD(C + i * ldc) : SETZERO();                                               \
    size_t t = 0;                                                                          \
    for (; t < npf && t < K; t++) {                                                        \
      _mm_prefetch((const char *)(pf + t * LANES), PK_HINT);                               \
      PK512_STEP(V, LANES, LOAD, BCAST, FMA, t);                                           \
    }                                                                                      \
    for (; t + 2 <= K; t += 2) {                                                           \
      PK512_STEP(V, LANES, LOAD, BCAST, FMA, t);                                           \
      PK512_STEP(V, LANES, LOAD, BCAST, FMA, t + 1);                                       \
    }                                                                                      \
    if (t < K) PK512_STEP(V, LANES, LOAD, BCAST, FMA, t);                                  \
    _Pragma("GCC unroll 12") for (size_t i = 0; i < r; i++) STORE(C + i * ldc, c[i]);      \
  }

DEFINE_PK512_BLOCK(float, f32, __m512, 16, _mm512_setzero_ps, _mm512_loadu_ps,
                   _mm512_storeu_ps, _mm512_set1_ps, _mm512_fmadd_ps)
DEFINE_PK512_BLOCK(double, f64, __m512d, 8, _mm512_setzero_pd, _mm512_loadu_pd,
                   _mm512_storeu_pd, _mm512_set1_pd, _mm512_fmadd_pd)

#define PK512_CASE(SUFFIX, R) \
  case R: pk512_block_##SUFFIX(R, kc, a, lda, b, c, ldc, add, pf, npf); break;
#define PK512_SWITCH(SUFFIX)                                                               \
  switch (r) {                                                                             \
    PK512_CASE(SUFFIX, 12) PK512_CASE(SUFFIX, 11) PK512_CASE(SUFFIX, 10)                   \
    PK512_CASE(SUFFIX, 9) PK512_CASE(SUFFIX, 8) PK512_CASE(SUFFIX, 7)                      \
    PK512_CASE(SUFFIX, 6) PK512_CASE(SUFFIX, 5) PK512_CASE(SUFFIX, 4)                      \
    PK512_CASE(SUFFIX, 3) PK512_CASE(SUFFIX, 2)                                            \
  default: pk512_block_##SUFFIX(1, kc, a, lda, b, c, ldc, add, pf, npf); break;            \
  }

/* The AVX2 kernel's loop order and shared fetch of the next chunk, on the wider blocks. */
#define DEFINE_PACKED_AVX512(T, SUFFIX, PW)                                                \
  DEFINE_PACKED_DRIVER(pk_avx512_##SUFFIX, PK512_TARGET, T, PW, PK512_ROWS, PK512_CHUNK,   \
                       PK512_SWITCH(SUFFIX))

DEFINE_PACKED_AVX512(float, f32, COD_GEMM_PANEL_F32)
DEFINE_PACKED_AVX512(double, f64, COD_GEMM_PANEL_F64)

void cod_gemm_packed_f64(size_t P, size_t K, size_t npanels, const double *A, size_t lda,
                         const double *B, double *C, size_t ldc) {
  int isa = cod_kernel_isa();
  if (isa >= COD_KERNEL_AVX512) pk_avx512_f64(P, K, npanels, A, lda, B, C, ldc);
  else if (isa >= COD_KERNEL_AVX2) pk_avx2_f64(P, K, npanels, A, lda, B, C, ldc);
  else cod_gemm_packed_portable_f64(P, K, npanels, A, lda, B, C, ldc);
}

void cod_gemm_packed_f32(size_t P, size_t K, size_t npanels, const float *A, size_t lda,
                         const float *B, float *C, size_t ldc) {
  int isa = cod_kernel_isa();
  if (isa >= COD_KERNEL_AVX512) pk_avx512_f32(P, K, npanels, A, lda, B, C, ldc);
  else if (isa >= COD_KERNEL_AVX2) pk_avx2_f32(P, K, npanels, A, lda, B, C, ldc);
  else cod_gemm_packed_portable_f32(P, K, npanels, A, lda, B, C, ldc);
}

#else

int cod_kernel_isa(void) { return COD_KERNEL_PORTABLE; }
int cod_kernel_cap_isa(int max) { return COD_KERNEL_PORTABLE; }
int cod_gemm_small_simd(void) { return 0; }

void cod_gemm_small(size_t M, size_t K, size_t W, const double *A, size_t lda, const double *B,
                    size_t ldb, double *C, size_t ldc) {
  cod_gemm_small_portable(M, K, W, A, lda, B, ldb, C, ldc);
}

void cod_gemm_small_fold(int sign, size_t M, size_t K, size_t W, const double *A, size_t lda,
                         const double *X, size_t ldx, double *C, size_t ldc) {
  cod_gemm_small_fold_portable(sign, M, K, W, A, lda, X, ldx, C, ldc);
}

void cod_gemm_small_rows(size_t M, size_t K, size_t W, const double *A, size_t lda,
                         const double *const *B, double *C, size_t ldc) {
  cod_gemm_small_rows_portable(M, K, W, A, lda, B, C, ldc);
}

void cod_idft_half(size_t h, size_t W, const double *hc, const double *hs, const double *re,
                   const double *im, size_t ld, double *out, size_t ldo) {
  cod_idft_half_portable(h, W, hc, hs, re, im, ld, out, ldo);
}

void cod_gemm_packed_f64(size_t P, size_t K, size_t npanels, const double *A, size_t lda,
                         const double *B, double *C, size_t ldc) {
  cod_gemm_packed_portable_f64(P, K, npanels, A, lda, B, C, ldc);
}

void cod_gemm_packed_f32(size_t P, size_t K, size_t npanels, const float *A, size_t lda,
                         const float *B, float *C, size_t ldc) {
  cod_gemm_packed_portable_f32(P, K, npanels, A, lda, B, C, ldc);
}

#endif
