/* cod_wino.c: Winograd F(2x2, 3x3) convolution and the per-layer algorithm choice.
 *
 * After Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks" (CVPR 2016).
 * With the transforms B^T (4x4), G (4x3) and A^T (2x4) of F(2, 3), a 2x2 output tile is
 * Y = A^T [ sum_c (G g_c G^T) .* (B^T d_c B) ] A, where d_c is the 4x4 input tile of
 * channel c and g_c the 3x3 filter. Gathering the 16 positions xi of the element-wise
 * product over all (filter, channel, tile) turns the channel sum into 16 GEMMs:
 * M_xi (N x P) = U_xi (N x C) * V_xi (C x P), P tiles. Tiles overlap by 2 input rows and
 * columns; tiles past the output's edge (odd H' or W') are computed and clipped.
 *
 * Workspace: U (16 N C) for the whole layer, then V (16 C Pb) and M (16 N Pb) for one band
 * of tile rows, Pb = band rows x tiles per row, sized so V + M stay within
 * COD_WINO_BAND_BYTES (one tile row at least). All loops are allocation-free.
 */
#include "cod_wino.h"

#include <assert.h>
#include <string.h>

#include <gsl/gsl_cblas.h>

#define COD_WINO_BAND_BYTES ((size_t)2 << 20)

/* Elements between the 16 planes of U, V and M. Without it a plane's size is often a
 * multiple of 4 KiB (VGG-16 conv3_1: 256 x 784 floats), so the 16 streams a transform
 * reads or writes map to one L1 set and evict each other: the transforms took longer than
 * the GEMMs. 16 elements move each plane by one or two cache lines. */
#define PLANE_PAD 16

/* The 4x4 tile loops must be unrolled into registers: left as loops over small stack
 * arrays, scalar stores followed by vector loads of the same array defeat store-to-load
 * forwarding and the filter transform alone took more time than the 16 GEMMs. */
#define UNROLL _Pragma("GCC unroll 16")


static const char *const algo_names[COD_CONV_ALGO_COUNT] = {"im2col", "winograd-2x2",
                                                              "winograd-4x4", "im2col-l2"};

const char *cod_conv_algo_name(cod_conv_algo a) {
  return (unsigned)a < COD_CONV_ALGO_COUNT ? algo_names[a] : NULL;
}

static int wino_applies(const cod_conv_geom *g) {
  return g->kh == 3 && g->kw == 3 && g->stride == 1;
}

int cod_conv_algo_applies(const cod_conv_geom *g, cod_conv_algo a) {
  if (!cod_conv_geom_valid(g)) return 0;
  if (a == COD_CONV_IM2COL || a == COD_CONV_IM2COL_L2) return 1;
  if (a == COD_CONV_WINO2 || a == COD_CONV_WINO4) return wino_applies(g);
  return 0;
}

/* Geometry of F(m x m, 3x3), m = 2 or 4: output tiles of m x m, (m+2)^2 transform planes. */
static size_t tiles_h(const cod_conv_geom *g, size_t m) { return (cod_conv_out_h(g) + m - 1) / m; }
static size_t tiles_w(const cod_conv_geom *g, size_t m) { return (cod_conv_out_w(g) + m - 1) / m; }
static size_t planes(size_t m) { return (m + 2) * (m + 2); }
/* Row stride of V and M for a band of pb tiles: a multiple of PB_ALIGN, so the SIMD
 * kernel below runs whole vectors; the extra columns of V are zero, those of M unread. */
#define PB_ALIGN 8
static size_t pb_ld(size_t pb) { return (pb + PB_ALIGN - 1) / PB_ALIGN * PB_ALIGN; }
/* Where V_xi[c][p] lives inside its plane. The SIMD kernel reads V in blocks of bw tiles
 * (two vectors), each block stored C x bw so that one channel's bw values are one cache
 * line; a last block narrower than bw (pb - b0 = 8 in fp32) is C x (pb - b0). bw = pb is
 * the plain C x pb row-major matrix the BLAS fallback multiplies. */
static inline size_t vcol(size_t c, size_t p, size_t C, size_t pb, size_t bw) {
  /* bw is 16 or 8 (a power of two: no division per tile) or pb (one block) */
  size_t b0 = bw == pb ? 0 : p & ~(bw - 1), w = b0 + bw <= pb ? bw : pb - b0;
  return b0 * C + c * w + (p - b0);
}
/* V's block width for element type size el (see vcol). */
static int wk_simd(void);
static size_t v_bw(size_t pb, size_t el) { return wk_simd() ? (el == 4 ? 16 : 8) : pb; }

/* Tile rows per band. */
static size_t band_tile_rows(const cod_conv_geom *g, size_t el, size_t m) {
  size_t per_row = planes(m) * (g->c + g->n_filters) * tiles_w(g, m) * el;
  size_t rows = COD_WINO_BAND_BYTES / per_row;
  if (rows < 1) rows = 1;
  return rows < tiles_h(g, m) ? rows : tiles_h(g, m);
}

/* Elements of the transformed filters, and bytes of the rest of the workspace. */
static size_t filters_len(const cod_conv_geom *g, size_t m) {
  return planes(m) * (g->n_filters * g->c + PLANE_PAD);
}
static size_t pre_bytes(const cod_conv_geom *g, size_t el, size_t m) {
  size_t pb = pb_ld(band_tile_rows(g, el, m) * tiles_w(g, m));
  return (planes(m) * (g->c * pb + PLANE_PAD) + planes(m) * (g->n_filters * pb + PLANE_PAD)) *
         el;
}

cod_conv_algo cod_conv_algo_choose(const cod_conv_geom *g, cod_dtype dt) {
  (void)dt;
  if (cod_conv_algo_applies(g, COD_CONV_WINO2) && g->c >= COD_WINO_MIN_CHANNELS &&
      g->n_filters >= COD_WINO_MIN_CHANNELS && tiles_h(g, 2) * tiles_w(g, 2) >= COD_WINO_MIN_TILES)
    return COD_CONV_WINO2;
  if (g->kh * g->kw >= COD_L2_MIN_TAPS &&
      cod_conv_banded_workspace_bytes(g, dt, COD_CONV_L2_BAND_BYTES) <
          cod_conv_workspace_bytes(g, dt))
    return COD_CONV_IM2COL_L2;
  return COD_CONV_IM2COL;
}


size_t cod_wino_filters_len(const cod_conv_geom *g) { return filters_len(g, 2); }

size_t cod_conv_algo_filters_len(const cod_conv_geom *g, cod_conv_algo a) {
  assert(cod_conv_algo_applies(g, a) && (a == COD_CONV_WINO2 || a == COD_CONV_WINO4));
  return filters_len(g, a == COD_CONV_WINO2 ? 2 : 4);
}

size_t cod_conv_algo_pre_workspace_bytes(const cod_conv_geom *g, cod_conv_algo a,
                                         cod_dtype dt) {
  assert(cod_conv_algo_applies(g, a) && (a == COD_CONV_WINO2 || a == COD_CONV_WINO4));
  return pre_bytes(g, cod_dtype_size(dt), a == COD_CONV_WINO2 ? 2 : 4);
}

size_t cod_wino_pre_workspace_bytes(const cod_conv_geom *g, cod_dtype dt) {
  assert(cod_conv_algo_applies(g, COD_CONV_WINO2));
  return pre_bytes(g, cod_dtype_size(dt), 2);
}

size_t cod_conv_algo_workspace_bytes(const cod_conv_geom *g, cod_conv_algo a, cod_dtype dt) {
  assert(cod_conv_algo_applies(g, a));
  if (a == COD_CONV_IM2COL) return cod_conv_workspace_bytes(g, dt);
  if (a == COD_CONV_IM2COL_L2) return cod_conv_banded_workspace_bytes(g, dt, COD_CONV_L2_BAND_BYTES);
  if (a == COD_CONV_WINO4)
    return filters_len(g, 4) * cod_dtype_size(dt) + pre_bytes(g, cod_dtype_size(dt), 4);
  return cod_wino_filters_len(g) * cod_dtype_size(dt) + cod_wino_pre_workspace_bytes(g, dt);
}

/* ---- the per-plane products --------------------------------------------------------
 * M (N x pb, row stride pb) = U (N x C, row stride C) * V (C x pb, row stride pb), pb a
 * multiple of PB_ALIGN. OpenBLAS repacks U for every one of these calls: with the few
 * tiles of a 13x13 or 14x14 layer (pb = 56 or 16) the packing cost as much as the
 * products (AlexNet conv3: 23% of the Winograd time in sgemm_oncopy, 40% in the kernel).
 * U and V are read in place here: six rows of U are broadcast against 16 (fp32) or 8
 * (fp64) columns of V, twelve FMA accumulators, one pass over C; the six U rows (6 C
 * values) stay in L1 while V (C pb) is swept from L2. The AVX2 + FMA kernel is chosen
 * once at run time (as cod_kernel.c does); other CPUs call the BLAS. */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <stdatomic.h>
#define WK_TARGET __attribute__((target("avx2,fma")))
/* the transforms' loops over FB entries need the vectoriser's full cost model (-O2 only
 * vectorises loops without an epilogue) */
#define WV_TARGET __attribute__((target("avx2,fma"), optimize("O3")))

static int wk_simd(void) {
  static atomic_int have = -1; /* every thread that races here stores the same value */
  int h = atomic_load_explicit(&have, memory_order_relaxed);
  if (h < 0) {
    __builtin_cpu_init();
    h = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    atomic_store_explicit(&have, h, memory_order_relaxed);
  }
  return h;
}

/* rows (1..6) rows of M from rows of U; missing rows repeat row 0 and are not stored.
 * VW: vectors of V per row (2 or 1). */
#define WK_BLOCK(NAME, T, VT, LANES, LOAD, STORE, BCAST, FMA, ZERO)                        \
  WK_TARGET static inline void NAME(size_t rows, int vw, size_t C, const T *U, const T *V,  \
                                    size_t ld, T *M, size_t ldm) {                          \
    const T *u[6];                                                                          \
    for (size_t r = 0; r < 6; r++) u[r] = U + (r < rows ? r : 0) * C;                       \
    VT a00 = ZERO(), a01 = ZERO(), a10 = ZERO(), a11 = ZERO(), a20 = ZERO(), a21 = ZERO();  \
    VT a30 = ZERO(), a31 = ZERO(), a40 = ZERO(), a41 = ZERO(), a50 = ZERO(), a51 = ZERO();  \
    if (vw == 2) {                                                                          \
      for (size_t c = 0; c < C; c++) {                                                      \
        VT v0 = LOAD(V + c * ld), v1 = LOAD(V + c * ld + LANES), b;                         \
        b = BCAST(u[0] + c), a00 = FMA(b, v0, a00), a01 = FMA(b, v1, a01);                  \
        b = BCAST(u[1] + c), a10 = FMA(b, v0, a10), a11 = FMA(b, v1, a11);                  \
        b = BCAST(u[2] + c), a20 = FMA(b, v0, a20), a21 = FMA(b, v1, a21);                  \
        b = BCAST(u[3] + c), a30 = FMA(b, v0, a30), a31 = FMA(b, v1, a31);                  \
        b = BCAST(u[4] + c), a40 = FMA(b, v0, a40), a41 = FMA(b, v1, a41);                  \
        b = BCAST(u[5] + c), a50 = FMA(b, v0, a50), a51 = FMA(b, v1, a51);                  \
      }                                                                                     \
    } else {                                                                                \
      for (size_t c = 0; c < C; c++) {                                                      \
        VT v0 = LOAD(V + c * ld);                                                           \
        a00 = FMA(BCAST(u[0] + c), v0, a00), a10 = FMA(BCAST(u[1] + c), v0, a10);           \
        a20 = FMA(BCAST(u[2] + c), v0, a20), a30 = FMA(BCAST(u[3] + c), v0, a30);           \
        a40 = FMA(BCAST(u[4] + c), v0, a40), a50 = FMA(BCAST(u[5] + c), v0, a50);           \
      }                                                                                     \
    }                                                                                       \
    VT acc[6][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}, {a40, a41}, {a50, a51}}; \
    for (size_t r = 0; r < rows; r++) {                                                     \
      STORE(M + r * ldm, acc[r][0]);                                                        \
      if (vw == 2) STORE(M + r * ldm + LANES, acc[r][1]);                                   \
    }                                                                                       \
  }

WK_BLOCK(wk_block_f32, float, __m256, 8, _mm256_loadu_ps, _mm256_storeu_ps,
         _mm256_broadcast_ss, _mm256_fmadd_ps, _mm256_setzero_ps)
WK_BLOCK(wk_block_f64, double, __m256d, 4, _mm256_loadu_pd, _mm256_storeu_pd,
         _mm256_broadcast_sd, _mm256_fmadd_pd, _mm256_setzero_pd)

/* Columns in blocks of 2 LANES vectors, then (pb a multiple of PB_ALIGN) whole vectors. */
#define WK_GEMM(NAME, T, BLOCK, LANES)                                                      \
  WK_TARGET static void NAME(size_t N, size_t pb, size_t C, const T *U, const T *V, T *M) { \
    for (size_t p = 0; p < pb;) {                                                           \
      int vw = p + 2 * LANES <= pb ? 2 : 1;                                                 \
      for (size_t n0 = 0; n0 < N; n0 += 6)                                                  \
        BLOCK(N - n0 < 6 ? N - n0 : 6, vw, C, U + n0 * C, V + p * C, (size_t)vw * LANES,    \
              M + n0 * pb + p, pb);                                                         \
      p += (size_t)vw * LANES;                                                              \
    }                                                                                       \
  }
WK_GEMM(wk_gemm_f32, float, wk_block_f32, 8)
WK_GEMM(wk_gemm_f64, double, wk_block_f64, 4)
#else
static int wk_simd(void) { return 0; }
static void wk_gemm_f32(size_t N, size_t pb, size_t C, const float *U, const float *V,
                        float *M) { (void)N, (void)pb, (void)C, (void)U, (void)V, (void)M; }
static void wk_gemm_f64(size_t N, size_t pb, size_t C, const double *U, const double *V,
                        double *M) { (void)N, (void)pb, (void)C, (void)U, (void)V, (void)M; }
#endif

static void plane_gemm_f32(size_t N, size_t pb, size_t C, const float *U, const float *V,
                           float *M) {
  if (wk_simd()) wk_gemm_f32(N, pb, C, U, V, M);
  else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)pb, (int)C, 1.0f,
                   U, (int)C, V, (int)pb, 0.0f, M, (int)pb);
}
static void plane_gemm_f64(size_t N, size_t pb, size_t C, const double *U, const double *V,
                           double *M) {
  if (wk_simd()) wk_gemm_f64(N, pb, C, U, V, M);
  else cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)pb, (int)C, 1.0,
                   U, (int)C, V, (int)pb, 0.0, M, (int)pb);
}

/* ---- F(4x4, 3x3) ---------------------------------------------------------------------
 * Points 0, +-1, +-2 and infinity (Lavin and Gray's choice): 6x6 input tiles, 36 GEMMs,
 * 36 multiplies per 4x4 outputs and channel pair instead of 144 (4x fewer). The transform
 * entries reach 5 (B^T), 1/24 (G) and 8 (A^T), so its round-off grows: tests state the
 * bounds in fp64 and fp32. The automatic rule never takes it: see cod_wino.h. */
static const double BT4[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0},
                                 {0, 4, -4, -1, 1, 0}, {0, -2, -1, 2, 1, 0},
                                 {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
static const double AT4[4][6] = {
    {1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};


/* ---- F(4x4, 3x3)'s filter transform ---------------------------------------------------
 * U_xi[n][c] = (G g_nc G^T)_xi over FB consecutive (n, c) at a time: the taps of FB filters
 * are deinterleaved (stride 9; AVX2 gathers) into nine rows, then both products run along
 * those rows, so the vectoriser works across filters and each of the 36 planes receives FB
 * contiguous values. Measured on AlexNet conv3 (fp32): 3.8-4.0 ms against 4.6-5.7 ms for
 * the per-(n, c) form, which F(2x2, 3x3) keeps (filt_* below: there the per-(n, c) form
 * measured faster, 0.6-0.9 against 1.5-2.2 ms, on a loaded machine). */
#define FB 64
/* o = G (a, b, c)^T for F(4, 3)'s G (Lavin and Gray's points: rows (1/4, 0, 0),
 * -(1, 1, 1)/6, -(1, -1, 1)/6, (1/24, 1/12, 1/6), (1/24, -1/12, 1/6), (0, 0, 1)), written
 * out so that it is a few vector operations. */
#define G4_APPLY(o, a, b, c)                                                                \
  do {                                                                                      \
    typedef __typeof__(o[0]) t_;                                                            \
    t_ a_ = (a), b_ = (b), c_ = (c), s_ = a_ + c_;                                          \
    t_ p_ = (t_)(1.0 / 24) * a_ + (t_)(1.0 / 6) * c_, q_ = (t_)(1.0 / 12) * b_;             \
    o[0] = (t_)0.25 * a_, o[1] = (t_)(-1.0 / 6) * (s_ + b_), o[2] = (t_)(-1.0 / 6) * (s_ - b_); \
    o[3] = p_ + q_, o[4] = p_ - q_, o[5] = c_;                                              \
  } while (0)
#define DEFINE_FILT(T, SUFFIX, ATTR, GATHER)                                                      \
  ATTR static void filt_rows_##SUFFIX(const T *restrict k, size_t nj, T *restrict U, size_t us) {   \
    T tap[9][FB];                                                                           \
    for (size_t j0 = 0; j0 < nj; j0 += FB) {                                                \
      size_t b = nj - j0 < FB ? nj - j0 : FB;                                               \
      const T *f = k + j0 * 9;                                                              \
      size_t jg = GATHER(tap, f, b);                                                        \
      for (size_t jj = jg; jj < b; jj++)                                                    \
        UNROLL for (int q = 0; q < 9; q++) tap[q][jj] = f[jj * 9 + (size_t)q];              \
      for (size_t jj = b; jj < FB; jj++)                                                    \
        UNROLL for (int q = 0; q < 9; q++) tap[q][jj] = 0;                                  \
      {                                                                                     \
        T *restrict u = U + j0;                                                             \
        for (size_t jj = 0; jj < b; jj++) {                                                 \
          T t[6][3], o[6];                                                                  \
          UNROLL for (int l = 0; l < 3; l++) {                                              \
            G4_APPLY(o, tap[l][jj], tap[3 + l][jj], tap[6 + l][jj]);                        \
            UNROLL for (int i = 0; i < 6; i++) t[i][l] = o[i];                              \
          }                                                                                 \
          UNROLL for (int i = 0; i < 6; i++) {                                              \
            G4_APPLY(o, t[i][0], t[i][1], t[i][2]);                                         \
            UNROLL for (int q = 0; q < 6; q++) u[(size_t)(i * 6 + q) * us + jj] = o[q];                     \
          }                                                                                 \
        }                                                                                   \
      }                                                                                     \
    }                                                                                       \
  }

/* The deinterleave: the portable build leaves it to the scalar loop (returns 0 entries
 * done); the AVX2 one gathers 8 (fp32) or 4 (fp64) filters' tap q per instruction. */
#define NO_GATHER(tap, f, b) ((void)(tap), (void)(f), (size_t)0)
#if defined(__x86_64__) && defined(__GNUC__)
WK_TARGET static inline size_t gather_f32(float tap[9][FB], const float *f, size_t b) {
  const __m256i idx = _mm256_setr_epi32(0, 9, 18, 27, 36, 45, 54, 63);
  size_t jj = 0;
  for (; jj + 8 <= b; jj += 8)
    for (int q = 0; q < 9; q++)
      _mm256_storeu_ps(&tap[q][jj], _mm256_i32gather_ps(f + jj * 9 + (size_t)q, idx, 4));
  return jj;
}
WK_TARGET static inline size_t gather_f64(double tap[9][FB], const double *f, size_t b) {
  const __m128i idx = _mm_setr_epi32(0, 9, 18, 27);
  size_t jj = 0;
  for (; jj + 4 <= b; jj += 4)
    for (int q = 0; q < 9; q++)
      _mm256_storeu_pd(&tap[q][jj], _mm256_i32gather_pd(f + jj * 9 + (size_t)q, idx, 8));
  return jj;
}
DEFINE_FILT(float, f32_simd, WV_TARGET, gather_f32)
DEFINE_FILT(double, f64_simd, WV_TARGET, gather_f64)
#endif
DEFINE_FILT(float, f32_port, , NO_GATHER)
DEFINE_FILT(double, f64_port, , NO_GATHER)
static void filt4_f32(const cod_conv_geom *g, const float *k, float *U) {
  size_t nj = g->n_filters * g->c, us = nj + PLANE_PAD;
#if defined(__x86_64__) && defined(__GNUC__)
  if (wk_simd()) {
    filt_rows_f32_simd(k, nj, U, us);
    return;
  }
#endif
  filt_rows_f32_port(k, nj, U, us);
}
static void filt4_f64(const cod_conv_geom *g, const double *k, double *U) {
  size_t nj = g->n_filters * g->c, us = nj + PLANE_PAD;
#if defined(__x86_64__) && defined(__GNUC__)
  if (wk_simd()) {
    filt_rows_f64_simd(k, nj, U, us);
    return;
  }
#endif
  filt_rows_f64_port(k, nj, U, us);
}

#define DEFINE_WINO4(T, SUFFIX, GEMM)                                                       \
  static void input4_##SUFFIX(const cod_conv_geom *g, const T *x, size_t tr0, size_t ntr,  \
                              T *V) {                                                       \
    const size_t C = g->c, H = g->h, W = g->w, TW = tiles_w(g, 4), pb = pb_ld(ntr * TW);            \
    const long p = (long)g->pad;                                                            \
    const size_t bw = v_bw(pb, sizeof(T));                                                  \
    for (size_t c = 0; c < C; c++) {                                                        \
      const T *xc = x + c * H * W;                                                          \
      for (size_t ti = 0; ti < ntr; ti++)                                                   \
        for (size_t tj = 0; tj < TW; tj++) {                                                \
          long r0 = (long)(4 * (tr0 + ti)) - p, c0 = (long)(4 * tj) - p;                    \
          T d[6][6], t[6][6];                                                               \
          if (r0 >= 0 && c0 >= 0 && r0 + 6 <= (long)H && c0 + 6 <= (long)W) {              \
            UNROLL for (int i = 0; i < 6; i++)                                              \
              memcpy(d[i], xc + (size_t)(r0 + i) * W + (size_t)c0, 6 * sizeof(T));          \
          } else {                                                                          \
            for (int i = 0; i < 6; i++)                                                     \
              for (int j = 0; j < 6; j++) {                                                 \
                long r = r0 + i, s = c0 + j;                                                \
                d[i][j] = (r >= 0 && s >= 0 && r < (long)H && s < (long)W)                  \
                              ? xc[(size_t)r * W + (size_t)s]                               \
                              : (T)0;                                                       \
              }                                                                             \
          }                                                                                 \
          UNROLL for (int i = 0; i < 6; i++) UNROLL for (int j = 0; j < 6; j++) {           \
            T a = 0;                                                                        \
            UNROLL for (int l = 0; l < 6; l++) a += (T)BT4[i][l] * d[l][j];                 \
            t[i][j] = a;                                                                    \
          }                                                                                 \
          size_t col = vcol(c, ti * TW + tj, C, pb, bw), cs = C * pb + PLANE_PAD;           \
          UNROLL for (int i = 0; i < 6; i++) UNROLL for (int j = 0; j < 6; j++) {           \
            T a = 0;                                                                        \
            UNROLL for (int l = 0; l < 6; l++) a += t[i][l] * (T)BT4[j][l];                 \
            V[(size_t)(i * 6 + j) * cs + col] = a;                                          \
          }                                                                                 \
        }                                                                                   \
    }                                                                                       \
  }                                                                                         \
  static void output4_##SUFFIX(const cod_conv_geom *g, const T *M, size_t tr0, size_t ntr, \
                               T *y) {                                                      \
    const size_t N = g->n_filters, OH = cod_conv_out_h(g), OW = cod_conv_out_w(g);          \
    const size_t TW = tiles_w(g, 4), pb = pb_ld(ntr * TW), ns = N * pb + PLANE_PAD;                  \
    for (size_t n = 0; n < N; n++)                                                          \
      for (size_t ti = 0; ti < ntr; ti++)                                                   \
        for (size_t tj = 0; tj < TW; tj++) {                                                \
          size_t col = n * pb + ti * TW + tj;                                               \
          T m[6][6], t[4][6];                                                               \
          UNROLL for (int i = 0; i < 36; i++) m[i / 6][i % 6] = M[(size_t)i * ns + col];    \
          UNROLL for (int i = 0; i < 4; i++) UNROLL for (int j = 0; j < 6; j++) {           \
            T a = 0;                                                                        \
            UNROLL for (int l = 0; l < 6; l++) a += (T)AT4[i][l] * m[l][j];                 \
            t[i][j] = a;                                                                    \
          }                                                                                 \
          size_t oh = 4 * (tr0 + ti), ow = 4 * tj;                                          \
          for (size_t i = 0; i < 4 && oh + i < OH; i++) {                                   \
            T *row = y + (n * OH + oh + i) * OW + ow;                                       \
            for (size_t j = 0; j < 4 && ow + j < OW; j++) {                                 \
              T a = 0;                                                                      \
              UNROLL for (int l = 0; l < 6; l++) a += t[i][l] * (T)AT4[j][l];               \
              row[j] = a;                                                                   \
            }                                                                               \
          }                                                                                 \
        }                                                                                   \
  }

DEFINE_WINO4(double, f64, cblas_dgemm)
DEFINE_WINO4(float, f32, cblas_sgemm)

/* The three transforms, written out (entries 0, +-1/2, +-1). Each helper is for one
 * element type T; DEFINE_WINO instantiates them with the GEMM of that type. */
#define DEFINE_WINO(T, SUFFIX, GEMM)                                                        \
  /* U_xi[n][c] = (G g G^T)_xi for every filter n and channel c, one (n, c) at a
   * time: for F(2, 3) this measured faster than filt_rows_* (0.6-0.9 against 1.5-2.2 ms on
   * AlexNet conv3), for F(4, 3) slower (4.6 against 3.9 ms). */                         \
  static void filt_##SUFFIX(const cod_conv_geom *g, const T *k, T *U) {                     \
    const size_t N = g->n_filters, C = g->c, NC = N * C + PLANE_PAD;                        \
    for (size_t n = 0; n < N; n++)                                                          \
      for (size_t c = 0; c < C; c++) {                                                      \
        const T *f = k + (n * C + c) * 9;                                                   \
        T t[4][3], u[4][4];                                                                 \
        UNROLL for (int j = 0; j < 3; j++) {                                                       \
          t[0][j] = f[j];                                                                   \
          t[1][j] = (T)0.5 * (f[j] + f[3 + j] + f[6 + j]);                                  \
          t[2][j] = (T)0.5 * (f[j] - f[3 + j] + f[6 + j]);                                  \
          t[3][j] = f[6 + j];                                                               \
        }                                                                                   \
        UNROLL for (int i = 0; i < 4; i++) {                                                       \
          u[i][0] = t[i][0];                                                                \
          u[i][1] = (T)0.5 * (t[i][0] + t[i][1] + t[i][2]);                                 \
          u[i][2] = (T)0.5 * (t[i][0] - t[i][1] + t[i][2]);                                 \
          u[i][3] = t[i][2];                                                                \
        }                                                                                   \
        UNROLL for (int i = 0; i < 4; i++)                                                         \
          UNROLL for (int j = 0; j < 4; j++) U[(size_t)(i * 4 + j) * NC + n * C + c] = u[i][j];    \
      }                                                                                     \
  }                                                                                         \
  /* V_xi[c][p] = (B^T d B)_xi for the tiles of tile rows [tr0, tr0 + ntr). */              \
  static void input_##SUFFIX(const cod_conv_geom *g, const T *x, size_t tr0, size_t ntr,   \
                             T *V) {                                                        \
    const size_t C = g->c, H = g->h, W = g->w, TW = tiles_w(g, 2), pb = pb_ld(ntr * TW);             \
    const long p = (long)g->pad;                                                            \
    const size_t bw = v_bw(pb, sizeof(T));                                                  \
    for (size_t c = 0; c < C; c++) {                                                        \
      const T *xc = x + c * H * W;                                                          \
      for (size_t ti = 0; ti < ntr; ti++)                                                   \
        for (size_t tj = 0; tj < TW; tj++) {                                                \
          long r0 = (long)(2 * (tr0 + ti)) - p, c0 = (long)(2 * tj) - p;                    \
          T d[4][4], t[4][4];                                                               \
          if (r0 >= 0 && c0 >= 0 && r0 + 4 <= (long)H && c0 + 4 <= (long)W) {              \
            UNROLL for (int i = 0; i < 4; i++)                                                     \
              memcpy(d[i], xc + (size_t)(r0 + i) * W + (size_t)c0, 4 * sizeof(T));          \
          } else {                                                                          \
            UNROLL for (int i = 0; i < 4; i++)                                                     \
              UNROLL for (int j = 0; j < 4; j++) {                                                 \
                long r = r0 + i, s = c0 + j;                                                \
                d[i][j] = (r >= 0 && s >= 0 && r < (long)H && s < (long)W)                  \
                              ? xc[(size_t)r * W + (size_t)s]                               \
                              : (T)0;                                                       \
              }                                                                             \
          }                                                                                 \
          UNROLL for (int j = 0; j < 4; j++) {                                                     \
            t[0][j] = d[0][j] - d[2][j];                                                    \
            t[1][j] = d[1][j] + d[2][j];                                                    \
            t[2][j] = d[2][j] - d[1][j];                                                    \
            t[3][j] = d[1][j] - d[3][j];                                                    \
          }                                                                                 \
          size_t col = vcol(c, ti * TW + tj, C, pb, bw), cs = C * pb + PLANE_PAD;           \
          UNROLL for (int i = 0; i < 4; i++) {                                                     \
            V[(size_t)(i * 4 + 0) * cs + col] = t[i][0] - t[i][2];                          \
            V[(size_t)(i * 4 + 1) * cs + col] = t[i][1] + t[i][2];                          \
            V[(size_t)(i * 4 + 2) * cs + col] = t[i][2] - t[i][1];                          \
            V[(size_t)(i * 4 + 3) * cs + col] = t[i][1] - t[i][3];                          \
          }                                                                                 \
        }                                                                                   \
    }                                                                                       \
  }                                                                                         \
  /* y's 2x2 tiles of tile rows [tr0, tr0 + ntr) = A^T m A, clipped to H' x W'. */          \
  static void output_##SUFFIX(const cod_conv_geom *g, const T *M, size_t tr0, size_t ntr,  \
                              T *y) {                                                       \
    const size_t N = g->n_filters, OH = cod_conv_out_h(g), OW = cod_conv_out_w(g);          \
    const size_t TW = tiles_w(g, 2), pb = pb_ld(ntr * TW), ns = N * pb + PLANE_PAD;                   \
    for (size_t n = 0; n < N; n++)                                                          \
      for (size_t ti = 0; ti < ntr; ti++)                                                   \
        for (size_t tj = 0; tj < TW; tj++) {                                                \
          size_t col = n * pb + ti * TW + tj;                                               \
          T m[4][4], t[2][4];                                                               \
          UNROLL for (int i = 0; i < 16; i++) m[i / 4][i % 4] = M[(size_t)i * ns + col];           \
          UNROLL for (int j = 0; j < 4; j++) {                                                     \
            t[0][j] = m[0][j] + m[1][j] + m[2][j];                                          \
            t[1][j] = m[1][j] - m[2][j] - m[3][j];                                          \
          }                                                                                 \
          size_t oh = 2 * (tr0 + ti), ow = 2 * tj;                                          \
          for (int i = 0; i < 2 && oh + (size_t)i < OH; i++) {                              \
            T *row = y + (n * OH + oh + (size_t)i) * OW + ow;                               \
            row[0] = t[i][0] + t[i][1] + t[i][2];                                           \
            if (ow + 1 < OW) row[1] = t[i][1] - t[i][2] - t[i][3];                          \
          }                                                                                 \
        }                                                                                   \
  }                                                                                         \
  /* The bands of tiles of F(m x m, 3x3), given the transformed filters U ((m+2)^2 planes   \
   * of N x C): per band, the input transform, one GEMM per plane, the output transform. */ \
  static void wino_bands_##SUFFIX(const cod_conv_geom *g, const T *x, const T *U, T *y,    \
                                  T *V, size_t m) {                                         \
    const size_t N = g->n_filters, C = g->c, TH = tiles_h(g, m), TW = tiles_w(g, m);        \
    const size_t band = band_tile_rows(g, sizeof(T), m), np = planes(m);                    \
    const size_t us = N * C + PLANE_PAD, vs = C * pb_ld(band * TW) + PLANE_PAD;                    \
    T *M = V + np * vs;                                                                     \
    for (size_t tr0 = 0; tr0 < TH; tr0 += band) {                                           \
      size_t ntr = TH - tr0 < band ? TH - tr0 : band, np_ = ntr * TW, pb = pb_ld(np_);       \
      if (m == 2) input_##SUFFIX(g, x, tr0, ntr, V);                                        \
      else input4_##SUFFIX(g, x, tr0, ntr, V);                                              \
      for (size_t xi = 0; xi < np; xi++) {                                                  \
        T *vx = V + xi * (C * pb + PLANE_PAD);                                              \
        for (size_t c = 0; c < C; c++)                                                      \
          for (size_t q = np_; q < pb; q++) vx[vcol(c, q, C, pb, v_bw(pb, sizeof(T)))] = 0;  \
        plane_gemm_##SUFFIX(N, pb, C, U + xi * us, vx, M + xi * (N * pb + PLANE_PAD));      \
      }                                                                                     \
      if (m == 2) output_##SUFFIX(g, M, tr0, ntr, y);                                       \
      else output4_##SUFFIX(g, M, tr0, ntr, y);                                             \
    }                                                                                       \
  }                                                                                         \
  void cod_wino_filters_##SUFFIX(const cod_conv_geom *g, const T *k, T *U) {               \
    cod_conv_algo_filters_##SUFFIX(g, COD_CONV_WINO2, k, U);                                \
  }                                                                                         \
  void cod_conv2d_wino_pre_##SUFFIX(const cod_conv_geom *g, const T *x, const T *U, T *y,  \
                                    void *work) {                                           \
    cod_conv2d_algo_pre_##SUFFIX(g, COD_CONV_WINO2, x, U, y, work);                         \
  }                                                                                         \
  void cod_conv_algo_filters_##SUFFIX(const cod_conv_geom *g, cod_conv_algo a, const T *k,  \
                                      T *U) {                                               \
    assert(cod_conv_algo_applies(g, a) && (a == COD_CONV_WINO2 || a == COD_CONV_WINO4));    \
    if (a == COD_CONV_WINO2) filt_##SUFFIX(g, k, U);                                        \
    else filt4_##SUFFIX(g, k, U);                                                           \
  }                                                                                         \
  void cod_conv2d_algo_pre_##SUFFIX(const cod_conv_geom *g, cod_conv_algo a, const T *x,    \
                                    const T *U, T *y, void *work) {                         \
    assert(cod_conv_algo_applies(g, a) && (a == COD_CONV_WINO2 || a == COD_CONV_WINO4));    \
    wino_bands_##SUFFIX(g, x, U, y, work, a == COD_CONV_WINO2 ? 2 : 4);                     \
  }                                                                                         \
  static void wino_##SUFFIX(const cod_conv_geom *g, const T *x, const T *k, T *y,          \
                            T *work) {                                                      \
    T *U = work;                                                                            \
    filt_##SUFFIX(g, k, U);                                                                 \
    wino_bands_##SUFFIX(g, x, U, y, U + filters_len(g, 2), 2);                           \
  }                                                                                         \
  void cod_conv2d_algo_##SUFFIX(const cod_conv_geom *g, cod_conv_algo a, const T *x,       \
                                const T *k, T *y, void *work) {                             \
    assert(cod_conv_algo_applies(g, a));                                                    \
    if (a == COD_CONV_WINO2) {                                                              \
      wino_##SUFFIX(g, x, k, y, work);                                                      \
    } else if (a == COD_CONV_WINO4) {                                                       \
      T *U = work;                                                                          \
      filt4_##SUFFIX(g, k, U);                                                              \
      wino_bands_##SUFFIX(g, x, U, y, U + filters_len(g, 4), 4);                           \
    } else if (a == COD_CONV_IM2COL_L2) {                                                   \
      cod_conv2d_banded_##SUFFIX(g, COD_CONV_L2_BAND_BYTES, x, k, y, work);                 \
    } else {                                                                                \
      cod_conv2d_##SUFFIX(g, x, k, y, work);                                                \
    }                                                                                       \
  }

DEFINE_WINO(double, f64, cblas_dgemm)
DEFINE_WINO(float, f32, cblas_sgemm)
