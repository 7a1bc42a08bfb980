/* cod_conv.c: 2-D convolution by im2col + GEMM (OpenBLAS), and the naive reference.
 *
 * im2col is done in bands of output rows so that the column buffer stays bounded
 * (COD_CONV_BAND_BYTES, or four times the filters where that is larger, conv_band_bytes)
 * whatever the layer: VGG-16's first layers would otherwise need a 230 MB column matrix
 * in fp64. Each band is one GEMM of N x (C*KH*KW) by
 * (C*KH*KW) x (band rows * W'), written straight into the band's columns of y through
 * ldc = H'*W', so no copy-out is needed. A band is at least one output row; the GEMM's
 * inner dimension C*KH*KW is what keeps OpenBLAS near its peak, and band widths of a few
 * thousand columns lose little against one full-width call.
 */
#include "cod_conv.h"

#include <assert.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <gsl/gsl_cblas.h>

#include "cod_alloc.h"
#include "cod_blas.h"

#define COD_CONV_BAND_BYTES ((size_t)8 << 20)

/* The band of cod_conv2d_*: 8 MB, or four times the filters' bytes when that is larger.
 * OpenBLAS packs the filter matrix again for every band. With VGG-16's 28x28 layers (19 MB
 * of fp64 filters, a 29 MB column matrix) 8 MB bands packed it four times: 54 GF/s against
 * 64.5 in one band (conv4_2's shape, fp64, thread CPU, best of 8, session 11); conv3's
 * 56x56 (4.7 MB of filters, 58 MB of columns) 56 GF/s at 8 MB, 60-62 at 32-256 MB. Layers
 * whose filters are small keep 8 MB: 128 filters at 112x112 ran 54 GF/s at 8 MB against
 * 51-49 at 32-256 MB. */
static size_t conv_band_bytes(const cod_conv_geom *g, size_t elsize) {
  size_t filt = cod_conv_filter_len(g) * elsize;
  return filt > COD_CONV_BAND_BYTES / 4 ? 4 * filt : COD_CONV_BAND_BYTES;
}

int cod_conv_geom_valid(const cod_conv_geom *g) {
  if (!g->c || !g->h || !g->w || !g->n_filters || !g->kh || !g->kw || !g->stride) return 0;
  return g->kh <= g->h + 2 * g->pad && g->kw <= g->w + 2 * g->pad;
}

size_t cod_conv_out_h(const cod_conv_geom *g) { return (g->h + 2 * g->pad - g->kh) / g->stride + 1; }
size_t cod_conv_out_w(const cod_conv_geom *g) { return (g->w + 2 * g->pad - g->kw) / g->stride + 1; }
size_t cod_conv_input_len(const cod_conv_geom *g) { return g->c * g->h * g->w; }
size_t cod_conv_filter_len(const cod_conv_geom *g) { return g->n_filters * g->c * g->kh * g->kw; }
size_t cod_conv_output_len(const cod_conv_geom *g) {
  return g->n_filters * cod_conv_out_h(g) * cod_conv_out_w(g);
}
double cod_conv_macs(const cod_conv_geom *g) {
  return (double)cod_conv_output_len(g) * (double)(g->c * g->kh * g->kw);
}

static int is_pointwise(const cod_conv_geom *g) {
  return g->kh == 1 && g->kw == 1 && g->stride == 1 && g->pad == 0;
}

/* Output rows per im2col band of at most band_bytes. */
static size_t band_rows_of(const cod_conv_geom *g, size_t elsize, size_t band_bytes) {
  size_t ckk = g->c * g->kh * g->kw, ow = cod_conv_out_w(g), oh = cod_conv_out_h(g);
  size_t per_row = ckk * ow * elsize;
  size_t rows = per_row ? band_bytes / per_row : oh;
  if (rows < 1) rows = 1;
  return rows < oh ? rows : oh;
}

size_t cod_conv_banded_workspace_bytes(const cod_conv_geom *g, cod_dtype dt, size_t band_bytes) {
  assert(cod_conv_geom_valid(g));
  if (g->kh == 1 && g->kw == 1 && g->stride == 1 && g->pad == 0) return 0;
  size_t el = cod_dtype_size(dt);
  return g->c * g->kh * g->kw * band_rows_of(g, el, band_bytes) * cod_conv_out_w(g) * el;
}

size_t cod_conv_workspace_bytes(const cod_conv_geom *g, cod_dtype dt) {
  return cod_conv_banded_workspace_bytes(g, dt, conv_band_bytes(g, cod_dtype_size(dt)));
}

/* im2col of output rows [oh0, oh0+nrows) into col ((C*KH*KW) x (nrows*W')).
 * The valid output-column range of each (v) is computed once so the inner loop is a
 * branch-free copy (a memcpy when the stride is 1). */
#define DEFINE_IM2COL(NAME, T)                                                              \
  static void NAME(const cod_conv_geom *g, const T *x, size_t oh0, size_t nrows, T *col,    \
                   size_t ld) {                                                             \
    const size_t s = g->stride, p = g->pad, H = g->h, W = g->w;                             \
    const size_t OW = cod_conv_out_w(g);                                                    \
    for (size_t c = 0; c < g->c; c++)                                                       \
      for (size_t u = 0; u < g->kh; u++)                                                    \
        for (size_t v = 0; v < g->kw; v++) {                                                \
          T *dst = col + ((c * g->kh + u) * g->kw + v) * ld;                                \
          /* valid ow: 0 <= ow*s + v - p < W */                                             \
          size_t lo = v >= p ? 0 : (p - v + s - 1) / s;                                     \
          size_t hi = W + p > v ? (W + p - v - 1) / s + 1 : 0;                              \
          if (hi > OW) hi = OW;                                                             \
          if (lo > hi) lo = hi;                                                             \
          for (size_t r = 0; r < nrows; r++) {                                              \
            T *d = dst + r * OW;                                                            \
            size_t ih = (oh0 + r) * s + u;                                                  \
            if (ih < p || ih - p >= H) {                                                    \
              memset(d, 0, OW * sizeof(T));                                                 \
              continue;                                                                     \
            }                                                                               \
            const T *srow = x + (c * H + (ih - p)) * W;                                     \
            for (size_t ow = 0; ow < lo; ow++) d[ow] = 0;                                   \
            if (s == 1) {                                                                   \
              if (hi > lo) memcpy(d + lo, srow + lo + v - p, (hi - lo) * sizeof(T));        \
            } else {                                                                        \
              for (size_t ow = lo; ow < hi; ow++) d[ow] = srow[ow * s + v - p];             \
            }                                                                               \
            for (size_t ow = hi; ow < OW; ow++) d[ow] = 0;                                  \
          }                                                                                 \
        }                                                                                   \
  }

DEFINE_IM2COL(im2col_f64, double)
DEFINE_IM2COL(im2col_f32, float)

static void gemm_f64(int M, int N, int K, const double *A, const double *B, int ldb, double *C,
                     int ldc) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0, A, K, B, ldb, 0.0, C, ldc);
}

static void gemm_f32(int M, int N, int K, const float *A, const float *B, int ldb, float *C,
                     int ldc) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, ldb, 0.0f, C,
              ldc);
}

/* Bytes of the batched path's column matrix and product for nimg images, or 0 if the
 * batch is too large for one GEMM (then images are convolved one by one). */
static size_t batch_bytes(const cod_conv_geom *g, size_t nimg, size_t el) {
  size_t cols = nimg * cod_conv_out_h(g) * cod_conv_out_w(g);
  size_t bytes = (g->c * g->kh * g->kw + g->n_filters) * cols * el;
  return nimg > 1 && bytes <= COD_CONV_BAND_BYTES ? bytes : 0;
}

size_t cod_conv_batch_workspace_bytes(const cod_conv_geom *g, size_t nimg, cod_dtype dt) {
  size_t b = batch_bytes(g, nimg, cod_dtype_size(dt)), one = cod_conv_workspace_bytes(g, dt);
  return b > one ? b : one;
}

size_t cod_conv_batch_cols_len(const cod_conv_geom *g, size_t nimg, cod_dtype dt) {
  if (!batch_bytes(g, nimg, cod_dtype_size(dt))) return 0;
  return g->c * g->kh * g->kw * nimg * cod_conv_out_h(g) * cod_conv_out_w(g);
}

/* conv (banded im2col + GEMM), and the batch: every image's columns side by side in one
 * column matrix, one GEMM (the filters are packed once instead of once per image), then
 * each image's rows copied out of the product. The batch is its two halves (columns,
 * then GEMM and copy-out), so a caller whose images recur can build the columns once. */
#define DEFINE_CONV(T, SUFFIX)                                                              \
  void cod_conv2d_##SUFFIX(const cod_conv_geom *g, const T *x, const T *k, T *y,           \
                           void *work) {                                                    \
    cod_conv2d_banded_##SUFFIX(g, conv_band_bytes(g, sizeof(T)), x, k, y, work);            \
  }                                                                                         \
  void cod_conv2d_banded_##SUFFIX(const cod_conv_geom *g, size_t band_bytes, const T *x,    \
                                  const T *k, T *y, void *work) {                           \
    assert(cod_conv_geom_valid(g));                                                         \
    const int N = (int)g->n_filters, CKK = (int)(g->c * g->kh * g->kw);                     \
    const size_t OH = cod_conv_out_h(g), OW = cod_conv_out_w(g);                            \
    if (is_pointwise(g)) {                                                                  \
      gemm_##SUFFIX(N, (int)(OH * OW), CKK, k, x, (int)(OH * OW), y, (int)(OH * OW));       \
      return;                                                                               \
    }                                                                                       \
    assert(work);                                                                           \
    const size_t band = band_rows_of(g, sizeof(T), band_bytes);                             \
    for (size_t oh0 = 0; oh0 < OH; oh0 += band) {                                           \
      size_t nr = OH - oh0 < band ? OH - oh0 : band;                                        \
      im2col_##SUFFIX(g, x, oh0, nr, work, nr * OW);                                        \
      gemm_##SUFFIX(N, (int)(nr * OW), CKK, k, work, (int)(nr * OW), y + oh0 * OW,          \
                    (int)(OH * OW));                                                        \
    }                                                                                       \
  }                                                                                         \
  void cod_conv2d_batch_##SUFFIX(const cod_conv_geom *g, size_t nimg, const T *x,           \
                                 const T *k, T *y, void *work) {                            \
    const size_t in_len = cod_conv_input_len(g), out_len = cod_conv_output_len(g);          \
    if (!batch_bytes(g, nimg, sizeof(T))) {                                                 \
      for (size_t i = 0; i < nimg; i++)                                                     \
        cod_conv2d_##SUFFIX(g, x + i * in_len, k, y + i * out_len, work);                   \
      return;                                                                               \
    }                                                                                       \
    cod_conv2d_batch_cols_##SUFFIX(g, nimg, x, work);                                     \
    cod_conv2d_batch_gemm_##SUFFIX(g, nimg, work, k, y, work);                              \
  }                                                                                         \
  void cod_conv2d_batch_cols_##SUFFIX(const cod_conv_geom *g, size_t nimg, const T *x,      \
                                      T *col) {                                             \
    assert(cod_conv_batch_cols_len(g, nimg, sizeof(T) == 8 ? COD_F64 : COD_F32));           \
    const size_t in_len = cod_conv_input_len(g);                                            \
    const size_t cols = cod_conv_out_h(g) * cod_conv_out_w(g), ld = nimg * cols;            \
    for (size_t i = 0; i < nimg; i++)                                                       \
      im2col_##SUFFIX(g, x + i * in_len, 0, cod_conv_out_h(g), col + i * cols, ld);         \
  }                                                                                         \
  void cod_conv2d_batch_gemm_##SUFFIX(const cod_conv_geom *g, size_t nimg, const T *col,    \
                                      const T *k, T *y, void *work) {                       \
    const size_t out_len = cod_conv_output_len(g);                                          \
    const size_t cols = cod_conv_out_h(g) * cod_conv_out_w(g), ld = nimg * cols;            \
    const size_t CKK = g->c * g->kh * g->kw, N = g->n_filters;                              \
    T *prod = (T *)work + CKK * ld; /* after the columns, wherever these come from */       \
    gemm_##SUFFIX((int)N, (int)ld, (int)CKK, k, col, (int)ld, prod, (int)ld);               \
    for (size_t i = 0; i < nimg; i++)                                                       \
      for (size_t f = 0; f < N; f++)                                                        \
        memcpy(y + i * out_len + f * cols, prod + f * ld + i * cols, cols * sizeof(T));     \
  }

/* Filter sets that share the column matrix: one GEMM of all sets' filters stacked (each
 * output entry is the same K-long dot product as in the set's own GEMM), then each set's
 * image blocks copied to its own destination. */
size_t cod_conv_batch_sets_workspace_bytes(const cod_conv_geom *g, size_t nimg, size_t nsets,
                                           cod_dtype dt) {
  size_t ld = nimg * cod_conv_out_h(g) * cod_conv_out_w(g);
  return (g->c * g->kh * g->kw + nsets * g->n_filters) * ld * cod_dtype_size(dt);
}

/* ---- the stacked GEMM only where it keeps each set's bits ----------------------------
 * Stacking nsets filter banks makes one GEMM of nsets*N rows in which each entry is the same
 * K-long dot product as in its set's own GEMM, but a BLAS need not sum it in the same order
 * at another row count: OpenBLAS 0.3.21's AVX-512 dgemm (SkylakeX and Cooperlake cores) does
 * not at some widths (2 filters x 66 columns x 54 inner changes for every stack of 2..20,
 * 2 x 132 x 54 does not), where its Haswell kernels always did. So stacks are cut into
 * groups of a power-of-two size s that a probe found exact for the shape: one GEMM of s
 * banks of generated full-mantissa values against the GEMM of each bank alone, compared bit
 * for bit (the order of a BLAS's sums follows the shapes and the threads, not the values;
 * real data would not do: zero filters and ReLU zeros hide an order). Each stack is cut
 * into the largest groups known exact; s = 1 is the set's own GEMM. cod_conv_sets_probe
 * (which allocates) records the answers per (rows, columns, inner size, s, type, BLAS
 * threads) for the process, in a table of SETS_MEMO entries (the oldest is replaced); the
 * GEMMs only read it, and a size not in it is taken as not exact (the per-set GEMMs: the
 * same bits, slower). Stacks whose banks exceed SETS_PROBE_BYTES are not probed, so the
 * probe's operands stay within about twice that (VGG-16's 128-filter workers at n = 1024
 * would otherwise stack 256 banks, 1.2 GB); such stacks go as groups within it, where one
 * GEMM's packing of the columns is long amortised. */
#define SETS_MEMO 256
#define SETS_PROBE_BYTES ((size_t)32 << 20)
typedef struct sets_memo {
  size_t rows, cols, inner, s;
  int f32, threads, exact;
} sets_memo;
static sets_memo memo_tab[SETS_MEMO];
static size_t memo_len, memo_next;
static pthread_mutex_t memo_lock = PTHREAD_MUTEX_INITIALIZER;

/* full-mantissa values in [-1, 1) from a xorshift64* stream */
static double probe_value(uint64_t *st) {
  *st ^= *st >> 12, *st ^= *st << 25, *st ^= *st >> 27;
  return (double)((*st * 2685821657736338717ull) >> 11) * 0x1p-52 - 1.0;
}

#define DEFINE_PROBE(T, SUFFIX)                                                             \
  /* 1 if s stacked banks of rows x inner against inner x cols give each bank its own       \
   * GEMM's bits, 0 if not, -1 if out of memory */                                          \
  static int sets_probe_##SUFFIX(size_t rows, size_t cols, size_t inner, size_t s) {        \
    T *a = cod_malloc_array(s * rows * inner, sizeof *a);                                   \
    T *b = cod_malloc_array(inner * cols, sizeof *b);                                       \
    T *c = cod_malloc_array((s + 1) * rows * cols, sizeof *c);                              \
    int exact = -1;                                                                         \
    if (a && b && c) {                                                                      \
      uint64_t st = 0x9e3779b97f4a7c15ull ^ (rows * 31 + cols * 17 + inner * 7 + s);        \
      for (size_t i = 0; i < s * rows * inner; i++) a[i] = (T)probe_value(&st);             \
      for (size_t i = 0; i < inner * cols; i++) b[i] = (T)probe_value(&st);                 \
      T *one = c + s * rows * cols;                                                         \
      gemm_##SUFFIX((int)(s * rows), (int)cols, (int)inner, a, b, (int)cols, c, (int)cols);  \
      exact = 1;                                                                            \
      for (size_t j = 0; j < s && exact; j++) {                                             \
        gemm_##SUFFIX((int)rows, (int)cols, (int)inner, a + j * rows * inner, b, (int)cols,  \
                      one, (int)cols);                                                      \
        exact = memcmp(one, c + j * rows * cols, rows * cols * sizeof *c) == 0;             \
      }                                                                                     \
    }                                                                                       \
    cod_free(a), cod_free(b), cod_free(c);                                                  \
    return exact;                                                                           \
  }
DEFINE_PROBE(double, f64)
DEFINE_PROBE(float, f32)

/* the memo's answer for the shape: 1 exact, 0 not, -1 not probed */
static int memo_find(size_t rows, size_t cols, size_t inner, size_t s, int f32, int threads) {
  int e = -1;
  pthread_mutex_lock(&memo_lock);
  for (size_t i = 0; i < memo_len && e < 0; i++) {
    const sets_memo *m = &memo_tab[i];
    if (m->rows == rows && m->cols == cols && m->inner == inner && m->s == s && m->f32 == f32 &&
        m->threads == threads)
      e = m->exact;
  }
  pthread_mutex_unlock(&memo_lock);
  return e;
}

int cod_conv_sets_probe(const cod_conv_geom *g, size_t nimg, size_t max_sets, cod_dtype dt,
                        cod_err *err) {
  const size_t rows = g->n_filters, cols = nimg * cod_conv_out_h(g) * cod_conv_out_w(g);
  const size_t inner = g->c * g->kh * g->kw;
  const int f32 = dt == COD_F32, threads = cod_blas_threads();
  const size_t bank_bytes = rows * inner * cod_dtype_size(dt);
  for (size_t s = 2; s <= max_sets && s * bank_bytes <= SETS_PROBE_BYTES; s *= 2) {
    if (memo_find(rows, cols, inner, s, f32, threads) >= 0) continue;
    /* probed unlocked: two threads may probe one shape, and record the same answer */
    int e = f32 ? sets_probe_f32(rows, cols, inner, s) : sets_probe_f64(rows, cols, inner, s);
    if (e < 0)
      return cod_err_set(err, COD_ENOMEM, "out of memory probing the BLAS for %zu stacked banks",
                         s);
    pthread_mutex_lock(&memo_lock);
    sets_memo *m = memo_len < SETS_MEMO ? &memo_tab[memo_len++] : &memo_tab[memo_next++ % SETS_MEMO];
    *m = (sets_memo){rows, cols, inner, s, f32, threads, e};
    pthread_mutex_unlock(&memo_lock);
  }
  return COD_OK;
}

size_t cod_conv_sets_group(const cod_conv_geom *g, size_t nimg, size_t nsets, cod_dtype dt) {
  const size_t rows = g->n_filters, cols = nimg * cod_conv_out_h(g) * cod_conv_out_w(g);
  const size_t inner = g->c * g->kh * g->kw;
  const int f32 = dt == COD_F32, threads = cod_blas_threads();
  size_t s = 1;
  while (s * 2 <= nsets) s *= 2;
  for (; s > 1; s /= 2)
    if (memo_find(rows, cols, inner, s, f32, threads) == 1) break;
  return s;
}

#define DEFINE_SETS(T, SUFFIX, DT)                                                          \
  void cod_conv2d_batch_gemm_sets_##SUFFIX(const cod_conv_geom *g, size_t nimg,             \
                                           const T *col, size_t nsets, const T *k,          \
                                           T *const *y, void *work) {                       \
    const size_t out_len = cod_conv_output_len(g);                                          \
    const size_t cols = cod_conv_out_h(g) * cod_conv_out_w(g), ld = nimg * cols;            \
    const size_t CKK = g->c * g->kh * g->kw, N = g->n_filters;                              \
    T *prod = (T *)work + CKK * ld;                                                         \
    for (size_t s0 = 0; s0 < nsets;) {                                                      \
      const size_t ns = cod_conv_sets_group(g, nimg, nsets - s0, DT);                       \
      gemm_##SUFFIX((int)(ns * N), (int)ld, (int)CKK, k + s0 * N * CKK, col, (int)ld, prod,  \
                    (int)ld);                                                               \
      for (size_t s = 0; s < ns; s++)                                                       \
        for (size_t i = 0; i < nimg; i++)                                                   \
          for (size_t f = 0; f < N; f++)                                                    \
            memcpy(y[s0 + s] + i * out_len + f * cols, prod + (s * N + f) * ld + i * cols,  \
                   cols * sizeof(T));                                                       \
      s0 += ns;                                                                             \
    }                                                                                       \
  }

DEFINE_CONV(double, f64)
DEFINE_CONV(float, f32)
DEFINE_SETS(double, f64, COD_F64)
DEFINE_SETS(float, f32, COD_F32)

#define DEFINE_DIRECT(NAME, T)                                                              \
  void NAME(const cod_conv_geom *g, const T *x, const T *k, T *y) {                         \
    const size_t OH = cod_conv_out_h(g), OW = cod_conv_out_w(g);                            \
    for (size_t o = 0; o < g->n_filters; o++)                                               \
      for (size_t oh = 0; oh < OH; oh++)                                                    \
        for (size_t ow = 0; ow < OW; ow++) {                                                \
          double acc = 0.0;                                                                 \
          for (size_t c = 0; c < g->c; c++)                                                 \
            for (size_t u = 0; u < g->kh; u++)                                              \
              for (size_t v = 0; v < g->kw; v++) {                                          \
                long ih = (long)(oh * g->stride + u) - (long)g->pad;                        \
                long iw = (long)(ow * g->stride + v) - (long)g->pad;                        \
                if (ih < 0 || iw < 0 || ih >= (long)g->h || iw >= (long)g->w) continue;     \
                acc += (double)k[((o * g->c + c) * g->kh + u) * g->kw + v] *                \
                       (double)x[(c * g->h + (size_t)ih) * g->w + (size_t)iw];              \
              }                                                                             \
          y[(o * OH + oh) * OW + ow] = (T)acc;                                              \
        }                                                                                   \
  }

DEFINE_DIRECT(cod_conv2d_direct_f64, double)
DEFINE_DIRECT(cod_conv2d_direct_f32, float)
