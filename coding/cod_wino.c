/* cod_wino.c: Winograd F(2x2, 3x3) convolution and the per-layer algorithm choice.
 *
 * After Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks" (CVPR 2016).
 * With the transforms B^T (4x4), G (4x3) and A^T (2x4) of F(2, 3), a 2x2 output tile is
 * Y = A^T [ sum_c (G g_c G^T) .* (B^T d_c B) ] A, where d_c is the 4x4 input tile of
 * channel c and g_c the 3x3 filter. Gathering the 16 positions xi of the element-wise
 * product over all (filter, channel, tile) turns the channel sum into 16 products:
 * M_xi (P x N) = V_xi (P x C) * U_xi (C x N), P tiles. Tiles overlap by 2 input rows and
 * columns; tiles past the output's edge (odd H' or W') are computed and clipped.
 *
 * The products run on cod_kernel's packed-panel kernel, not BLAS: with 49 tiles (13x13 and
 * 14x14 layers) OpenBLAS packed each 384 x 256 plane of U on every call, which cost about
 * as much as the arithmetic. The filter transform writes U in the kernel's panels (16 fp32
 * or 8 fp64 filters per 64-byte row, filters padded to a multiple of 16 with zeros), once
 * per layer for a caller that keeps it (fixed inference weights); tiles are the short,
 * broadcast side, so 49 is not padded to a vector width. The input transform reads a
 * channels-last copy of the band's input and writes V tile-major; the output transform
 * reads M tile-major; both run a cache line of channels or filters at a time in vectors.
 *
 * Workspace: U (16 C N') for the whole layer (N' = N rounded up to 16), then V (16 P_b C),
 * M (16 P_b N') and the channels-last input for one band of P_b tiles: whole tile rows, as
 * many as keep V + M within COD_WINO_BAND_BYTES (the core's L2) but at least
 * COD_WINO_MIN_BAND tiles, since every band streams all of U once. All loops are
 * allocation-free.
 */
#include "cod_wino.h"

#include <assert.h>
#include <string.h>

#include "cod_kernel.h"

#define COD_WINO_BAND_BYTES ((size_t)512 << 10)
#define COD_WINO_MIN_BAND 48

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
/* Filters rounded up to a multiple of 16, whole panels of the packed product in fp32 and
 * fp64 (cod_kernel.h), so U's length does not depend on the type. */
#define N_ALIGN 16
static size_t n_padded(const cod_conv_geom *g) {
  return (g->n_filters + N_ALIGN - 1) / N_ALIGN * N_ALIGN;
}
/* Panel width (one 64-byte line) of type T. */
#define PANEL_OF(T) (sizeof(T) == 4 ? (size_t)COD_GEMM_PANEL_F32 : (size_t)COD_GEMM_PANEL_F64)
/* Elements between U's planes, and filter n's channel c within a plane for panels of pw:
 * panel n / pw, row c, column n % pw (the layout cod_gemm_packed_* reads, written by the
 * filter transform so no product packs anything). */
static size_t u_stride(const cod_conv_geom *g) { return n_padded(g) * g->c + PLANE_PAD; }
static size_t u_at(const cod_conv_geom *g, size_t n, size_t c, size_t pw) {
  return (n / pw * g->c + c) * pw + n % pw;
}

/* F(2x2)'s input band channels last: (2 rows + 2) x (2 TW + 2) positions of C channels,
 * zero where the padded input has no value, so the input transform reads each tile
 * position as C contiguous channels and runs across channels in vectors. */
static size_t hwc_wp(const cod_conv_geom *g) { return 2 * tiles_w(g, 2) + 2; }
static size_t hwc_len(const cod_conv_geom *g, size_t rows) {
  return (2 * rows + 2) * hwc_wp(g) * g->c;
}

/* Tiles per band: as many as fit COD_WINO_BAND_BYTES of V and M (the core's L2, so the
 * products read V and the output transform M from it) but at least COD_WINO_MIN_BAND, as
 * every band streams all of U once and U's entries are used once per tile of the band;
 * rounded up to whole tile rows, so the channels-last copy of the input covers only the
 * band's own rows (a band that started inside a row would copy whole rows it does not
 * use). The transforms and products take any range of tiles. */
static size_t band_tiles(const cod_conv_geom *g, size_t el, size_t m) {
  size_t per_tile = planes(m) * (g->c + n_padded(g)) * el, tw = tiles_w(g, m);
  size_t pb = COD_WINO_BAND_BYTES / per_tile;
  if (pb < COD_WINO_MIN_BAND) pb = COD_WINO_MIN_BAND;
  size_t rows = (pb + tw - 1) / tw;
  return (rows < tiles_h(g, m) ? rows : tiles_h(g, m)) * tw;
}
/* Tile rows a band of pb tiles can touch (it may start anywhere in a row). */
static size_t band_rows_max(const cod_conv_geom *g, size_t pb, size_t m) {
  size_t tw = tiles_w(g, m), rows = (pb + tw - 2) / tw + 1;
  return rows < tiles_h(g, m) ? rows : tiles_h(g, m);
}

/* Elements of the transformed filters, and bytes of the rest of the workspace. */
static size_t filters_len(const cod_conv_geom *g, size_t m) {
  return planes(m) * u_stride(g);
}
/* F(2x2) on outputs beyond this many bytes writes each band's outputs to a buffer (the
 * band's rows of every filter, in the core's L2) and copies them to y row by row: the
 * transform's 2x2 stores, N filter planes apart, are 2N write streams into memory, more
 * than the write-combining and prefetch hardware follows (VGG-16 conv1_2: 128). */
#define COD_WINO_ROWBUF_MIN_BYTES ((size_t)4 << 20)
static int rowbuf_used(const cod_conv_geom *g, size_t el) {
  return cod_conv_output_len(g) * el > COD_WINO_ROWBUF_MIN_BYTES;
}
static size_t rowbuf_len(const cod_conv_geom *g, size_t el, size_t pb) {
  return rowbuf_used(g, el) ? g->n_filters * 2 * band_rows_max(g, pb, 2) * cod_conv_out_w(g) : 0;
}
static size_t pre_bytes(const cod_conv_geom *g, size_t el, size_t m) {
  size_t pb = band_tiles(g, el, m);
  size_t xt = m == 2 ? hwc_len(g, band_rows_max(g, pb, m)) + rowbuf_len(g, el, pb) : 0;
  return (planes(m) * (g->c * pb + PLANE_PAD) + planes(m) * (n_padded(g) * pb + PLANE_PAD) + xt) *
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

/* Images and filter groups in one band (cod_conv2d_wino2_multi_*): all the tiles of the
 * ni images at most COD_WINO_MULTI_MAX_TILES (small worker slabs; larger inputs take
 * their own bands), and F a multiple of N_ALIGN, so that the groups' padded filters lie
 * side by side as one N = ng F layer's would for the output transform. */
#define COD_WINO_MULTI_MAX_TILES 96
int cod_wino2_multi_applies(const cod_conv_geom *g, size_t ni, size_t ng) {
  return cod_conv_algo_applies(g, COD_CONV_WINO2) && ni >= 1 && ng >= 1 &&
         g->n_filters % N_ALIGN == 0 &&
         ni * tiles_h(g, 2) * tiles_w(g, 2) <= COD_WINO_MULTI_MAX_TILES;
}

size_t cod_wino2_multi_workspace_bytes(const cod_conv_geom *g, size_t ni, size_t ng,
                                       cod_dtype dt) {
  assert(cod_wino2_multi_applies(g, ni, ng));
  size_t nt = ni * tiles_h(g, 2) * tiles_w(g, 2);
  return (planes(2) * (g->c * nt + PLANE_PAD) + planes(2) * (ng * n_padded(g) * nt + PLANE_PAD) +
          hwc_len(g, tiles_h(g, 2))) * cod_dtype_size(dt);
}

/* ---- F(4x4, 3x3) ---------------------------------------------------------------------
 * Points 0, +-1, +-2 and infinity (Lavin and Gray's choice): 6x6 input tiles, 36 GEMMs,
 * 36 multiplies per 4x4 outputs and channel pair instead of 144 (4x fewer). The transform
 * entries reach 5 (B^T), 1/24 (G) and 8 (A^T), so its round-off grows: tests state the
 * bounds in fp64 and fp32. The automatic rule never takes it: see cod_wino.h. */
static const double BT4[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0},
                                 {0, 4, -4, -1, 1, 0}, {0, -2, -1, 2, 1, 0},
                                 {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
static const double G4[6][3] = {{1.0 / 4, 0, 0},
                                {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                {0, 0, 1}};
static const double AT4[4][6] = {
    {1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};

#define DEFINE_WINO4(T, SUFFIX, GEMM)                                                       \
  static void filt4_##SUFFIX(const cod_conv_geom *g, const T *k, T *U) {                    \
    const size_t N = g->n_filters, C = g->c, NC = u_stride(g), PW = PANEL_OF(T);            \
    static const T zero9[9];                                                                \
    for (size_t n0 = 0; n0 < n_padded(g); n0 += PW)                                         \
      for (size_t c = 0; c < C; c++)                                                        \
        for (size_t n = n0; n < n0 + PW; n++) {                                             \
        const T *f = n < N ? k + (n * C + c) * 9 : zero9;                                   \
        T t[6][3];                                                                          \
        UNROLL for (int i = 0; i < 6; i++) UNROLL for (int j = 0; j < 3; j++) t[i][j] =     \
            (T)(G4[i][0] * f[j] + G4[i][1] * f[3 + j] + G4[i][2] * f[6 + j]);               \
        UNROLL for (int i = 0; i < 6; i++) UNROLL for (int j = 0; j < 6; j++)               \
            U[(size_t)(i * 6 + j) * NC + u_at(g, n, c, PW)] =                                   \
            (T)(G4[j][0] * t[i][0] + G4[j][1] * t[i][1] + G4[j][2] * t[i][2]);              \
      }                                                                                     \
  }                                                                                         \
  static void input4_##SUFFIX(const cod_conv_geom *g, const T *x, size_t p0, size_t pb,    \
                              T *V) {                                                       \
    const size_t C = g->c, H = g->h, W = g->w, TW = tiles_w(g, 4);                          \
    const long p = (long)g->pad;                                                            \
    for (size_t q = 0; q < pb; q++)                                                         \
      for (size_t c = 0; c < C; c++) {                                                      \
          const size_t ti = (p0 + q) / TW, tj = (p0 + q) % TW;                              \
          const T *xc = x + c * H * W;                                                      \
          long r0 = (long)(4 * ti) - p, c0 = (long)(4 * tj) - p;                            \
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
          size_t col = q * C + c, cs = C * pb + PLANE_PAD;                                  \
          UNROLL for (int i = 0; i < 6; i++) UNROLL for (int j = 0; j < 6; j++) {           \
            T a = 0;                                                                        \
            UNROLL for (int l = 0; l < 6; l++) a += t[i][l] * (T)BT4[j][l];                 \
            V[(size_t)(i * 6 + j) * cs + col] = a;                                          \
          }                                                                                 \
        }                                                                                   \
  }                                                                                         \
  static void output4_##SUFFIX(const cod_conv_geom *g, const T *M, size_t p0, size_t pb,   \
                               T *y) {                                                      \
    const size_t N = g->n_filters, OH = cod_conv_out_h(g), OW = cod_conv_out_w(g);          \
    const size_t TW = tiles_w(g, 4), NP = n_padded(g), ns = NP * pb + PLANE_PAD;            \
    for (size_t q = 0; q < pb; q++)                                                         \
      for (size_t n = 0; n < N; n++) {                                                      \
          const size_t ti = (p0 + q) / TW, tj = (p0 + q) % TW;                              \
          size_t col = q * NP + n;                                                          \
          T m[6][6], t[4][6];                                                               \
          UNROLL for (int i = 0; i < 36; i++) m[i / 6][i % 6] = M[(size_t)i * ns + col];    \
          UNROLL for (int i = 0; i < 4; i++) UNROLL for (int j = 0; j < 6; j++) {           \
            T a = 0;                                                                        \
            UNROLL for (int l = 0; l < 6; l++) a += (T)AT4[i][l] * m[l][j];                 \
            t[i][j] = a;                                                                    \
          }                                                                                 \
          size_t oh = 4 * ti, ow = 4 * tj;                                                  \
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

/* F(2x2)'s input and output transforms, across channels (input) or filters (output) in
 * blocks of one 64-byte line: the inner loops over a block have a constant trip count, so
 * the compiler turns them into vector code (AVX2 in the _avx2 copy, AVX-512 in _avx512,
 * chosen at run time by cod_kernel_isa like cod_kernel's products; the _gen copy is the
 * same source for any CPU).
 * V_xi[p][c] = (B^T d B)_xi for tile p of the band and channel c, from the band's
 * channels-last input xt; d is the tile's 4x4 positions, rows WP*C apart, columns C. */
#define WINO2_TILE_IN(T, d, RS, v, cs, l)                                                    \
  do {                                                                                      \
    T t_[4][4];                                                                             \
    UNROLL for (int j = 0; j < 4; j++) {                                                    \
      T d0 = d[0 * (RS) + (size_t)j * C + (l)], d1 = d[1 * (RS) + (size_t)j * C + (l)];     \
      T d2 = d[2 * (RS) + (size_t)j * C + (l)], d3 = d[3 * (RS) + (size_t)j * C + (l)];     \
      t_[0][j] = d0 - d2, t_[1][j] = d1 + d2, t_[2][j] = d2 - d1, t_[3][j] = d1 - d3;       \
    }                                                                                       \
    UNROLL for (int i = 0; i < 4; i++) {                                                    \
      v[(size_t)(i * 4 + 0) * (cs) + (l)] = t_[i][0] - t_[i][2];                            \
      v[(size_t)(i * 4 + 1) * (cs) + (l)] = t_[i][1] + t_[i][2];                            \
      v[(size_t)(i * 4 + 2) * (cs) + (l)] = t_[i][2] - t_[i][1];                            \
      v[(size_t)(i * 4 + 3) * (cs) + (l)] = t_[i][1] - t_[i][3];                            \
    }                                                                                       \
  } while (0)

#define DEFINE_WINO2_XFORM(T, SUFFIX, ISA, ATTR)                                             \
  ATTR static void in2_##SUFFIX##_##ISA(const cod_conv_geom *g, const T *restrict xt,       \
                                        size_t p0, size_t pb, size_t pbs, T *restrict V) {  \
    const size_t C = g->c, TW = tiles_w(g, 2), WP = hwc_wp(g), tr0 = p0 / TW;               \
    const size_t cs = C * pbs + PLANE_PAD, RS = WP * C, CB = PANEL_OF(T);                   \
    for (size_t q = 0; q < pb; q++) {                                                       \
        const size_t ti = (p0 + q) / TW - tr0, tj = (p0 + q) % TW;                          \
        const T *d = xt + (2 * ti * WP + 2 * tj) * C;                                       \
        T *v = V + q * C;                                                                   \
        size_t c0 = 0;                                                                      \
        for (; c0 + CB <= C; c0 += CB) {                                                    \
          /* through a local block: 16 store streams cs apart defeat the vectoriser */     \
          T vb[16][PANEL_OF(T)];                                                            \
          const T *dc = d + c0;                                                             \
          T *vp = &vb[0][0];                                                                \
          for (size_t l = 0; l < CB; l++) WINO2_TILE_IN(T, dc, RS, vp, CB, l);              \
          UNROLL for (int i = 0; i < 16; i++)                                               \
            memcpy(v + (size_t)i * cs + c0, vb[i], sizeof vb[i]);                           \
        }                                                                                   \
        for (size_t l = c0; l < C; l++) WINO2_TILE_IN(T, d, RS, v, cs, l);                  \
      }                                                                                     \
  }                                                                                         \
  /* y's 2x2 tiles p0 .. p0 + pb - 1 = A^T m A, clipped to H' x W': a block of             \
   * filters in vectors, then its four outputs stored filter by filter (y is N x H' x W'). \
   * M's padded filters (up to n_padded) are finite, so a block may run past N. */         \
  ATTR static void out2_##SUFFIX##_##ISA(const cod_conv_geom *g, const T *restrict M,       \
                                         size_t p0, size_t pb, size_t pbs, T *restrict y) { \
    const size_t N = g->n_filters, OH = cod_conv_out_h(g), OW = cod_conv_out_w(g);          \
    const size_t TW = tiles_w(g, 2), NP = n_padded(g);                                      \
    const size_t ns = NP * pbs + PLANE_PAD, CB = PANEL_OF(T), OHW = OH * OW;                \
    for (size_t q = 0; q < pb; q++) {                                                       \
        const T *m = M + q * NP;                                                            \
        size_t oh = 2 * ((p0 + q) / TW), ow = 2 * ((p0 + q) % TW);                          \
        int r1 = oh + 1 < OH, c1 = ow + 1 < OW;                                             \
        T *yt = y + oh * OW + ow;                                                           \
        for (size_t n0 = 0; n0 < N; n0 += CB) {                                             \
          T o[4][PANEL_OF(T)];                                                              \
          for (size_t l = 0; l < CB; l++) {                                                 \
            T e[4][4], t[2][4];                                                             \
            UNROLL for (int i = 0; i < 16; i++) e[i / 4][i % 4] = m[(size_t)i * ns + n0 + l]; \
            UNROLL for (int j = 0; j < 4; j++) {                                            \
              t[0][j] = e[0][j] + e[1][j] + e[2][j];                                        \
              t[1][j] = e[1][j] - e[2][j] - e[3][j];                                        \
            }                                                                               \
            UNROLL for (int i = 0; i < 2; i++) {                                            \
              o[2 * i][l] = t[i][0] + t[i][1] + t[i][2];                                    \
              o[2 * i + 1][l] = t[i][1] - t[i][2] - t[i][3];                                \
            }                                                                               \
          }                                                                                 \
          size_t len = N - n0 < CB ? N - n0 : CB;                                           \
          for (size_t l = 0; l < len; l++) {                                                \
            T *yn = yt + (n0 + l) * OHW;                                                    \
            yn[0] = o[0][l];                                                                \
            if (c1) yn[1] = o[1][l];                                                        \
            if (r1) {                                                                       \
              yn[OW] = o[2][l];                                                             \
              if (c1) yn[OW + 1] = o[3][l];                                                 \
            }                                                                               \
          }                                                                                 \
        }                                                                                   \
      }                                                                                     \
  }

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define WINO_AVX2 __attribute__((target("avx2,fma")))
/* a block of one 64-byte line is one AVX-512 vector; the transforms only add and subtract,
 * so every width gives the same bits */
#define WINO_AVX512 __attribute__((target("avx512f,avx2,fma,prefer-vector-width=512")))
/* Under AddressSanitizer the _avx512 copy of the transforms is compiled for AVX2 (the same
 * source, the same bits): with detect_stack_use_after_return, ASan's fake stack frames do
 * not keep the 64-byte alignment GCC gives in2's local block, and its aligned AVX-512 loads
 * fault (ci-sanitize, session 11). The packed products keep no such local block. */
#if defined(__SANITIZE_ADDRESS__)
#undef WINO_AVX512
#define WINO_AVX512 WINO_AVX2
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#undef WINO_AVX512
#define WINO_AVX512 WINO_AVX2
#endif
#endif
#else
#define WINO_AVX2
#define WINO_AVX512
#endif
DEFINE_WINO2_XFORM(double, f64, avx2, WINO_AVX2)
DEFINE_WINO2_XFORM(float, f32, avx2, WINO_AVX2)
DEFINE_WINO2_XFORM(double, f64, avx512, WINO_AVX512)
DEFINE_WINO2_XFORM(float, f32, avx512, WINO_AVX512)
DEFINE_WINO2_XFORM(double, f64, gen, )
DEFINE_WINO2_XFORM(float, f32, gen, )

/* The three transforms, written out (entries 0, +-1/2, +-1). Each helper is for one
 * element type T; DEFINE_WINO instantiates them with the GEMM of that type. */
#define DEFINE_WINO(T, SUFFIX, GEMM)                                                        \
  /* U_xi[n][c] = (G g G^T)_xi for every filter n and channel c. */                         \
  static void filt_##SUFFIX(const cod_conv_geom *g, const T *k, T *U) {                     \
    const size_t N = g->n_filters, C = g->c, NC = u_stride(g), PW = PANEL_OF(T);            \
    static const T zero9[9];                                                                \
    for (size_t n0 = 0; n0 < n_padded(g); n0 += PW)                                         \
      for (size_t c = 0; c < C; c++)                                                        \
        for (size_t n = n0; n < n0 + PW; n++) {                                             \
        const T *f = n < N ? k + (n * C + c) * 9 : zero9;                                   \
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
          UNROLL for (int j = 0; j < 4; j++)                                                \
            U[(size_t)(i * 4 + j) * NC + u_at(g, n, c, PW)] = u[i][j];                      \
      }                                                                                     \
  }                                                                                         \
  /* The band's input channels last (hwc_len), zero outside the input: eight channels at   \
   * a time, so each write fills part of one line of xt while eight rows of x stream. The  \
   * first `keep` rows are there already (the previous band's last two). */                \
  static void hwc_##SUFFIX(const cod_conv_geom *g, const T *x, size_t tr0, size_t nrows,   \
                           size_t keep, T *xt) {                                            \
    const size_t C = g->c, H = g->h, W = g->w, RW = 2 * nrows + 2, WP = hwc_wp(g);         \
    const size_t p = g->pad, s1 = W + p < WP ? W + p : WP;                                  \
    const long r0 = (long)(2 * tr0) - (long)p;                                              \
    for (size_t r = keep; r < RW; r++) {                                                    \
      long ih = r0 + (long)r;                                                               \
      T *dst = xt + r * WP * C;                                                             \
      if (ih < 0 || ih >= (long)H) {                                                        \
        memset(dst, 0, WP * C * sizeof(T));                                                 \
        continue;                                                                           \
      }                                                                                     \
      memset(dst, 0, p * C * sizeof(T));                                                    \
      memset(dst + s1 * C, 0, (WP - s1) * C * sizeof(T));                                   \
      for (size_t c0 = 0; c0 < C; c0 += 8) {                                                \
        const size_t nc = C - c0 < 8 ? C - c0 : 8;                                          \
        const T *src = x + (c0 * H + (size_t)ih) * W;                                       \
        for (size_t s = p; s < s1; s++)                                                     \
          for (size_t cc = 0; cc < nc; cc++) dst[s * C + c0 + cc] = src[cc * H * W + s - p]; \
      }                                                                                     \
    }                                                                                       \
  }                                                                                         \
  /* tiles p0 .. p0 + pb - 1 into V, whose planes are pbs tiles apart */                   \
  static void input_##SUFFIX(const cod_conv_geom *g, const T *x, size_t p0, size_t pb,     \
                             size_t pbs, size_t keep, T *V, T *xt) {                        \
    const size_t TW = tiles_w(g, 2), tr0 = p0 / TW;                                         \
    hwc_##SUFFIX(g, x, tr0, (p0 + pb - 1) / TW - tr0 + 1, keep, xt);                        \
    int isa_ = cod_kernel_isa();                                                            \
    if (isa_ >= COD_KERNEL_AVX512) in2_##SUFFIX##_avx512(g, xt, p0, pb, pbs, V);             \
    else if (isa_ >= COD_KERNEL_AVX2) in2_##SUFFIX##_avx2(g, xt, p0, pb, pbs, V);            \
    else in2_##SUFFIX##_gen(g, xt, p0, pb, pbs, V);                                         \
  }                                                                                         \
  static void output_##SUFFIX(const cod_conv_geom *g, const T *M, size_t p0, size_t pb,    \
                              size_t pbs, T *y, T *rb) {                                    \
    int isa_ = cod_kernel_isa();                                                            \
    if (rb) { /* the band's whole tile rows into rb, then each filter's rows into y */     \
      const size_t TW = tiles_w(g, 2), tr0 = p0 / TW, OH = cod_conv_out_h(g);               \
      const size_t OW = cod_conv_out_w(g), oh0 = 2 * tr0;                                   \
      size_t rows = 2 * ((p0 + pb - 1) / TW - tr0 + 1);                                     \
      if (rows > OH - oh0) rows = OH - oh0;                                                 \
      cod_conv_geom gb = *g; /* the band's rows alone: out_h(gb) = rows */                  \
      gb.h = rows + g->kh - 1 - 2 * g->pad;                                                 \
      assert(p0 % TW == 0 && cod_conv_out_h(&gb) == rows);                                  \
      if (isa_ >= COD_KERNEL_AVX512) out2_##SUFFIX##_avx512(&gb, M, 0, pb, pbs, rb);         \
      else if (isa_ >= COD_KERNEL_AVX2) out2_##SUFFIX##_avx2(&gb, M, 0, pb, pbs, rb);        \
      else out2_##SUFFIX##_gen(&gb, M, 0, pb, pbs, rb);                                     \
      for (size_t n = 0; n < g->n_filters; n++)                                             \
        memcpy(y + (n * OH + oh0) * OW, rb + n * rows * OW, rows * OW * sizeof(T));         \
      return;                                                                               \
    }                                                                                       \
    if (isa_ >= COD_KERNEL_AVX512) out2_##SUFFIX##_avx512(g, M, p0, pb, pbs, y);             \
    else if (isa_ >= COD_KERNEL_AVX2) out2_##SUFFIX##_avx2(g, M, p0, pb, pbs, y);            \
    else out2_##SUFFIX##_gen(g, M, p0, pb, pbs, y);                                         \
  }                                                                                         \
  /* The bands of tiles of F(m x m, 3x3), given the transformed filters U ((m+2)^2 planes   \
   * of N x C): per band, the input transform, one GEMM per plane, the output transform. */ \
  static void wino_bands_##SUFFIX(const cod_conv_geom *g, const T *x, const T *U, T *y,    \
                                  T *V, size_t m) {                                         \
    const size_t C = g->c, TH = tiles_h(g, m), TW = tiles_w(g, m);        \
    const size_t band = band_tiles(g, sizeof(T), m), np = planes(m), P = TH * TW;           \
    const size_t us = u_stride(g), vs = C * band + PLANE_PAD, NP = n_padded(g);             \
    T *M = V + np * vs, *xt = M + np * (NP * band + PLANE_PAD);                             \
    const size_t RS2 = hwc_wp(g) * C; /* one row of xt (F(2x2)) */                          \
    T *rb = m == 2 && rowbuf_used(g, sizeof(T))                                             \
                ? xt + hwc_len(g, band_rows_max(g, band, m)) : NULL;                        \
    size_t next_tr = (size_t)-1, prev_rows = 0;                                             \
    for (size_t p0 = 0; p0 < P; p0 += band) {                                               \
      size_t pb = P - p0 < band ? P - p0 : band;                                            \
      if (m == 2) {                                                                         \
        /* a band that starts where the last one ended shares its two edge rows (bands    \
         * are whole tile rows): moved, not transposed again (VGG-16 conv1_2's bands are    \
         * one tile row, so this is half of the input's transposition) */                  \
        size_t tr0 = p0 / TW, keep = 0;                                                     \
        if (tr0 == next_tr) {                                                               \
          memmove(xt, xt + 2 * prev_rows * RS2, 2 * RS2 * sizeof(T));                       \
          keep = 2;                                                                         \
        }                                                                                   \
        prev_rows = (p0 + pb - 1) / TW - tr0 + 1, next_tr = tr0 + prev_rows;                \
        input_##SUFFIX(g, x, p0, pb, pb, keep, V, xt);                                      \
      } else {                                                                              \
        input4_##SUFFIX(g, x, p0, pb, V);                                                   \
      }                                                                                     \
      for (size_t xi = 0; xi < np; xi++)                                                    \
        cod_gemm_packed_##SUFFIX(pb, C, NP / PANEL_OF(T), V + xi * (C * pb + PLANE_PAD), C, \
                                 U + xi * us, M + xi * (NP * pb + PLANE_PAD), NP);         \
      if (m == 2) output_##SUFFIX(g, M, p0, pb, pb, y, rb);                                 \
      else output4_##SUFFIX(g, M, p0, pb, y);                                               \
    }                                                                                       \
  }                                                                                         \
  void cod_wino_filters_##SUFFIX(const cod_conv_geom *g, const T *k, T *U) {               \
    assert(cod_conv_algo_applies(g, COD_CONV_WINO2));                                       \
    filt_##SUFFIX(g, k, U);                                                                 \
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
  void cod_conv2d_wino_pre_##SUFFIX(const cod_conv_geom *g, const T *x, const T *U, T *y,  \
                                    void *work) {                                           \
    assert(cod_conv_algo_applies(g, COD_CONV_WINO2));                                       \
    wino_bands_##SUFFIX(g, x, U, y, work, 2);                                       \
  }                                                                                         \
  void cod_conv2d_wino2_multi_##SUFFIX(const cod_conv_geom *g, size_t ni, const T *x,       \
                                       size_t xs, size_t ng, const T *U, size_t ul, T *y,   \
                                       size_t ys, void *work) {                             \
    assert(cod_wino2_multi_applies(g, ni, ng));                                             \
    const size_t C = g->c, P = tiles_h(g, 2) * tiles_w(g, 2), NT = ni * P;                  \
    const size_t NPg = n_padded(g), NPt = ng * NPg, us = u_stride(g);                       \
    const size_t vs = C * NT + PLANE_PAD, ms = NPt * NT + PLANE_PAD;                        \
    T *V = work, *M = V + planes(2) * vs, *xt = M + planes(2) * ms;                         \
    cod_conv_geom g2 = *g; /* the ng groups' filters side by side (F a multiple of 16) */   \
    g2.n_filters = ng * g->n_filters;                                                       \
    for (size_t s = 0; s < ni; s++)                                                         \
      input_##SUFFIX(g, x + s * xs, 0, P, NT, 0, V + s * P * C, xt);                        \
    for (size_t xi = 0; xi < planes(2); xi++)                                               \
      for (size_t q = 0; q < ng; q++)                                                       \
        cod_gemm_packed_##SUFFIX(NT, C, NPg / PANEL_OF(T), V + xi * vs, C,                  \
                                 U + q * ul + xi * us, M + xi * ms + q * NPg, NPt);         \
    for (size_t s = 0; s < ni; s++)                                                         \
      output_##SUFFIX(&g2, M + s * P * NPt, 0, P, NT, y + s * ys, NULL);                    \
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
