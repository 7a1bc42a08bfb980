/* cod_schemes.c: the coefficient matrices of every scheme, and the structured decoders.
 *
 * nsctc-rot: the rotation-matrix embedding of CRME (Ramamoorthy & Tang, arXiv 1910.06515)
 *   as used by NSCTC in FCDCC (arXiv 2411.01579). With R the rotation by theta = 2*pi/q,
 *   worker j's coded slabs are the columns 2j, 2j+1 of G_A (2x2 block (i,j) =
 *   R^{k_B*i*j}) and its coded groups those of G_B (block (l,j) = R^{l*j}).
 *   Fast decoding: R = V diag(w, conj w) V^{-1} with V = [[1,1],[-i,i]], w = e^{i theta}.
 *   The bilinear forms v+^T Z_j v+ and v+^T Z_j v- of a worker's 2x2 result decouple into
 *   two complex Vandermonde systems in the nodes w^j with consecutive exponents
 *   (k_B*i + l, and k_B*i - l shifted by k_B - 1); the second is the first with rows
 *   scaled by unimodular numbers, so ONE delta x delta inverse serves both, applied to all
 *   output entries by GEMMs on the real embedding, in cache-sized chunks. The other two forms are complex conjugates and are not
 *   computed. cond(G_S) = cond(V_S) because the change of basis is unitary up to scale;
 *   cod_cond_rot.c computes it from a real d x d matrix with the same singular values.
 * nsctc-cir: the circulant-permutation embedding, one-sided (CRME section on circulant
 *   permutations): k groups of q slabs, the last slab of each group minus the sum of the
 *   others, worker j holds sum_i P^{i*j} group_i. Decoded by FFT (cod_cir_fft.c).
 * poly-real: polynomial code with real nodes x_j = -1 + 2(j+1)/n (Yu et al.'s polynomial
 *   codes), input coefficients x^{k_B*i}, filter coefficients x^l.
 * poly-cheb: Fahim & Cadambe (arXiv 1903.08326): Chebyshev polynomials T_{k_B*i} and T_l
 *   at the Chebyshev nodes cos((2j+1)pi/(2n)); T_a*T_b = (T_{a+b} + T_{|a-b|})/2 keeps the
 *   system triangular in the Chebyshev basis, hence invertible for any delta nodes.
 * uncoded / replication: block p = (input slab p / k_B, filter group p % k_B) on worker
 *   j with j mod (k_A*k_B) == p.
 */
#include <math.h>
#include <string.h>


#include "cod_alloc.h"
#include "cod_cond_rot.h"
#include "cod_kernel.h"
#include "cod_scheme.h"

static int is_prime(size_t v) {
  if (v < 2) return 0;
  for (size_t d = 2; d * d <= v; d++)
    if (v % d == 0) return 0;
  return 1;
}

/* Angle of w^p with w = e^{2 pi i / q}, reduced exactly in integers first. */
static double unit_angle(size_t p, size_t q) { return 2.0 * M_PI * (double)(p % q) / (double)q; }

static int plan_mds_common(cod_code *c, cod_err *err) {
  c->delta = c->ka * c->kb;
  if (c->delta > c->n)
    return cod_err_set(err, COD_EINVAL,
                       "%s: k_A*k_B = %zu exceeds the %zu workers (the recovery threshold "
                       "must be <= n)", c->prm.scheme, c->delta, c->n);
  return COD_OK;
}

/* ---- nsctc-rot ----------------------------------------------------------------------- */

static int rot_plan(cod_code *c, cod_err *err) {
  int rc = plan_mds_common(c, err);
  if (rc) return rc;
  if (c->q == 0) c->q = c->n;
  if (c->q < c->n)
    return cod_err_set(err, COD_EINVAL, "nsctc-rot: q = %zu must be >= n = %zu", c->q, c->n);
  c->m_in = 2 * c->ka;
  c->m_filt = 2 * c->kb;
  c->ea = c->eb = 2;
  return COD_OK;
}

/* R^p[a][b] */
static double rot_entry(size_t p, size_t q, size_t a, size_t b) {
  double t = unit_angle(p, q);
  if (a == b) return cos(t);
  return a == 0 ? -sin(t) : sin(t);
}

static void rot_fill(cod_code *c) {
  for (size_t j = 0; j < c->n; j++)
    for (size_t x = 0; x < 2; x++) {
      for (size_t i = 0; i < c->ka; i++)
        for (size_t a = 0; a < 2; a++)
          c->A[(j * 2 + x) * c->m_in + 2 * i + a] = rot_entry(c->kb * i * j, c->q, a, x);
      for (size_t l = 0; l < c->kb; l++)
        for (size_t b = 0; b < 2; b++)
          c->B[(j * 2 + x) * c->m_filt + 2 * l + b] = rot_entry(l * j, c->q, b, x);
    }
}

/* V[i][e] = w^{ids[i]*e}, interleaved complex */
static void rot_vandermonde(const cod_code *c, const size_t *ids, size_t d, double *v) {
  for (size_t i = 0; i < d; i++)
    for (size_t e = 0; e < d; e++) {
      double t = unit_angle(ids[i] * e, c->q);
      v[2 * (i * d + e)] = cos(t);
      v[2 * (i * d + e) + 1] = sin(t);
    }
}

/* Output entries per pass of the fast decoder: the transformed results and the solved
 * channels of one chunk (12 planes of d rows: 295 KB at d = 16) stay in L2, so the decoder
 * streams every worker result once and writes y once. 192 measured best of 128, 192 and
 * 256 with the three-product solve (AlexNet conv2, n = 20, 4 x 4: 0.37 ms warm against
 * 0.39 and 0.41; 256 was best of 128..512 with the four-product one). */
#define ROT_CHUNK 192

/* The complex solve Vinv * z is done on split real/imaginary planes with three real
 * products instead of the four of its real embedding [[Re, -Im], [Im, Re]] (Gauss's
 * product: with A = Ar + i Ai and Z = Zr + i Zi, T1 = Ar Zr, T2 = Ai Zi and
 * T3 = (Ar + Ai)(Zr + Zi) give Re(AZ) = T1 - T2 and Im(AZ) = T3 - T1 - T2): a quarter of
 * the decoder's multiply-adds, at the price of a sum plane formed with the transform and
 * two subtractions formed with the map back. Its rounding error is that of the plain
 * product with |Ar| + |Ai| in place of |A| (Higham, Accuracy and Stability, 23.2.4): a
 * factor at most 2 on a bound already at eps * cond. The products go through
 * cod_kernel.h's kernel, which reads the 16 x 16 matrices in place (OpenBLAS's packing
 * cost as much as the arithmetic at these sizes). The phase of the second channel is
 * folded into its matrices: E2 = Vinv * diag(w^{(kb-1) j}) / 2. */
static void rot_split(const double *vinv, const double *ph, size_t d, double *e) {
  double *er = e, *ei = e + d * d, *es = e + 2 * d * d;
  for (size_t r = 0; r < d; r++)
    for (size_t k = 0; k < d; k++) {
      double re = vinv[2 * (r * d + k)], im = vinv[2 * (r * d + k) + 1];
      if (ph) {
        double pr = ph[2 * k], pi = ph[2 * k + 1], t = re * pr - im * pi;
        im = re * pi + im * pr;
        re = t;
      }
      re *= 0.5, im *= 0.5; /* the 1/2 of the map back to real blocks */
      er[r * d + k] = re, ei[r * d + k] = im, es[r * d + k] = re + im;
    }
}

/* The two bilinear forms v+^T Z v+ (pp) and v+^T Z v- (pm) of each worker's 2x2 result,
 * on split planes: real part, imaginary part and their sum (the third factor of Gauss's
 * product); and back from the three products of the solved forms A = v+^T u v+ (a1, a2, a3)
 * and B = v+^T u v- (b1, b2, b3) to the real 2x2 block u: Re = T1 - T2, Im = T3 - T1 - T2
 * (the factor 1/2 of V^{-T} T V^{-1} is folded into the matrices). Both passes only add,
 * subtract and negate, entry by entry, so every vector width gives the same bits; they are
 * compiled for AVX2 and AVX-512 with a function attribute (GCC's vectoriser, as for
 * Winograd's transforms) and chosen with the kernels: at -O2 without them the passes ran
 * two lanes wide and cost 2.3x the six products (AlexNet conv2, n = 20, 4 x 4, perf).
 * `restrict` lets GCC vectorise without alias checks. */
#define DEFINE_ROT_PASSES(SUF, TARGET)                                                      \
  TARGET static void rot_to_channels_##SUF(                                                 \
      size_t n, const double *restrict z00, const double *restrict z01,                     \
      const double *restrict z10, const double *restrict z11, double *restrict ppr,         \
      double *restrict ppi, double *restrict pps, double *restrict pmr,                     \
      double *restrict pmi, double *restrict pms) {                                         \
    for (size_t e = 0; e < n; e++) {                                                        \
      double a = z00[e] - z11[e], b = -(z01[e] + z10[e]);                                   \
      double c = z00[e] + z11[e], f = z01[e] - z10[e];                                      \
      ppr[e] = a, ppi[e] = b, pps[e] = a + b;                                               \
      pmr[e] = c, pmi[e] = f, pms[e] = c + f;                                               \
    }                                                                                       \
  }                                                                                         \
  TARGET static void rot_from_channels_##SUF(                                               \
      size_t n, const double *restrict a1, const double *restrict a2,                       \
      const double *restrict a3, const double *restrict b1, const double *restrict b2,      \
      const double *restrict b3, double *restrict u00, double *restrict u01,                \
      double *restrict u10, double *restrict u11) {                                         \
    for (size_t e = 0; e < n; e++) {                                                        \
      double ar = a1[e] - a2[e], ai = a3[e] - a1[e] - a2[e];                                \
      double br = b1[e] - b2[e], bi = b3[e] - b1[e] - b2[e];                                \
      u00[e] = ar + br;                                                                     \
      u01[e] = bi - ai;                                                                     \
      u10[e] = -(ai + bi);                                                                  \
      u11[e] = br - ar;                                                                     \
    }                                                                                       \
  }

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ROT_AVX2 __attribute__((target("avx2,fma")))
#define ROT_AVX512 __attribute__((target("avx512f,avx2,fma,prefer-vector-width=512")))
DEFINE_ROT_PASSES(avx2, ROT_AVX2)
DEFINE_ROT_PASSES(avx512, ROT_AVX512)
#define ROT_HAVE_SIMD 1
#endif
DEFINE_ROT_PASSES(gen, )

typedef void (*rot_to_fn)(size_t, const double *restrict, const double *restrict,
                          const double *restrict, const double *restrict, double *restrict,
                          double *restrict, double *restrict, double *restrict,
                          double *restrict, double *restrict);
typedef void (*rot_from_fn)(size_t, const double *restrict, const double *restrict,
                            const double *restrict, const double *restrict,
                            const double *restrict, const double *restrict, double *restrict,
                            double *restrict, double *restrict, double *restrict);

/* The passes for the kernels the calling thread runs (cod_kernel_isa, with its cap). */
static void rot_passes(rot_to_fn *to, rot_from_fn *from) {
  *to = rot_to_channels_gen, *from = rot_from_channels_gen;
#ifdef ROT_HAVE_SIMD
  const int isa = cod_kernel_isa();
  if (isa == COD_KERNEL_AVX512)
    *to = rot_to_channels_avx512, *from = rot_from_channels_avx512;
  else if (isa == COD_KERNEL_AVX2)
    *to = rot_to_channels_avx2, *from = rot_from_channels_avx2;
#endif
}

/* Doubles of the fast decoder's workspace for threshold d: V and its inverse, the phases,
 * the two channels' three matrices, their three transformed and three product planes of d
 * rows per chunk, one output chunk. */
static size_t rot_work_doubles(size_t d) {
  return 4 * d * d + 2 * d + 6 * d * d + 12 * d * ROT_CHUNK + 4 * ROT_CHUNK;
}

static int rot_decode(const cod_code *c, const size_t *ids, size_t d,
                      const double *const *results, double *y, double *cond, void *work,
                      cod_err *err) {
  const size_t L = c->part.out_block_len, kb = c->kb, mf = c->m_filt, dd = d * d;
  const size_t W = ROT_CHUNK;
  double *own = work ? NULL : cod_malloc(rot_work_doubles(d) * sizeof(double));
  if (!work && !own) return cod_err_set(err, COD_ENOMEM, "out of memory in the nsctc-rot decoder");
  double *v = work ? work : own;
  double *vinv = v + 2 * dd, *ph = vinv + 2 * dd, *e1 = ph + 2 * d, *e2 = e1 + 3 * dd;
  /* planes of d rows of W: zt[0..3) the pp channel's (re, im, sum), zt[3..6) pm's; pt the
   * products in the same order */
  double *zt = e2 + 3 * dd, *pt = zt + 6 * d * W, *u = pt + 6 * d * W;
  int rc = COD_OK;
  rot_vandermonde(c, ids, d, v);
  if ((rc = cod_la_complex_inverse(v, d, vinv, err))) goto done;
  if (cond && (rc = cod_rot_cond(c, ids, d, cond, err))) goto done;
  for (size_t i = 0; i < d; i++) {
    double t = unit_angle((kb - 1) * ids[i], c->q);
    ph[2 * i] = cos(t), ph[2 * i + 1] = sin(t);
  }
  rot_split(vinv, NULL, d, e1);
  rot_split(vinv, ph, d, e2);
  rot_to_fn rot_to_channels;
  rot_from_fn rot_from_channels;
  rot_passes(&rot_to_channels, &rot_from_channels);
  const size_t P = d * W; /* one plane */
  for (size_t e0 = 0; e0 < L; e0 += W) {
    const size_t n = L - e0 < W ? L - e0 : W;
    for (size_t i = 0; i < d; i++) {
      const double *z00 = results[i] + e0;
      double *z = zt + i * W;
      rot_to_channels(n, z00, z00 + L, z00 + 2 * L, z00 + 3 * L, z, z + P, z + 2 * P,
                      z + 3 * P, z + 4 * P, z + 5 * P);
    }
    for (size_t f = 0; f < 6; f++) /* T1, T2, T3 of pp (e1), then of pm (e2) */
      cod_gemm_small(d, d, n, (f < 3 ? e1 : e2) + (f % 3) * dd, d, zt + f * P, W, pt + f * P,
                     W);
    for (size_t i = 0; i < c->ka; i++)
      for (size_t l = 0; l < kb; l++) {
        const size_t ea = kb * i + l, eb = kb * i + kb - 1 - l;
        const double *a = pt + ea * W, *b = pt + 3 * P + eb * W;
        const size_t b00 = (2 * i) * mf + 2 * l, b10 = (2 * i + 1) * mf + 2 * l;
        double *u00 = u, *u01 = u + W, *u10 = u + 2 * W, *u11 = u + 3 * W;
        rot_from_channels(n, a, a + P, a + 2 * P, b, b + P, b + 2 * P, u00, u01, u10, u11);
        cod_partition_scatter(&c->part, b00, e0, n, u00, y);
        cod_partition_scatter(&c->part, b00 + 1, e0, n, u01, y);
        cod_partition_scatter(&c->part, b10, e0, n, u10, y);
        cod_partition_scatter(&c->part, b10 + 1, e0, n, u11, y);
      }
  }
done:
  cod_free(own);
  return rc;
}

static size_t rot_decode_work_bytes(const cod_code *c) {
  return rot_work_doubles(c->delta) * sizeof(double);
}

/* Six real products of delta x delta by out_block_len (two complex ones by Gauss's
 * product): 3/8 of the generic decoder's product. */
static double rot_decode_flops(const cod_code *c) {
  return 6.0 * 2.0 * (double)(c->delta * c->delta) * (double)c->part.out_block_len;
}

const cod_scheme_ops cod_scheme_rot = {"nsctc-rot", rot_plan, rot_fill, cod_select_first_delta,
                                       rot_decode, cod_rot_cond, rot_decode_flops,
                                       rot_decode_work_bytes, 0};

/* ---- nsctc-cir ----------------------------------------------------------------------- */

static int cir_plan(cod_code *c, cod_err *err) {
  if (c->ka > 1 && c->kb > 1)
    return cod_err_set(err, COD_EINVAL,
                       "nsctc-cir is one-sided: k_A = 1 (code the filters) or k_B = 1 (code "
                       "the input); got k_A = %zu, k_B = %zu", c->ka, c->kb);
  int rc = plan_mds_common(c, err);
  if (rc) return rc;
  if (c->q == 0) {
    c->q = c->n < 2 ? 2 : c->n;
    while (!is_prime(c->q)) c->q++;
  }
  if (!is_prime(c->q) || c->q < c->n)
    return cod_err_set(err, COD_EINVAL, "nsctc-cir: q = %zu must be a prime >= n = %zu",
                       c->q, c->n);
  size_t k = c->delta, q = c->q;
  c->code_filters = c->kb > 1;
  c->m_in = c->code_filters ? 1 : k * (q - 1);
  c->m_filt = c->code_filters ? k * (q - 1) : 1;
  c->ea = c->code_filters ? 1 : q;
  c->eb = c->code_filters ? q : 1;
  return COD_OK;
}

/* Worker j's q x k(q-1) matrix: coded piece t = sum_i X'_{i,(t+i*j) mod q}, where the
 * last piece of group i is minus the sum of its q-1 data pieces. */
static void cir_fill_side(const cod_code *c, double *m, size_t cols) {
  size_t q = c->q, k = c->delta;
  for (size_t j = 0; j < c->n; j++)
    for (size_t t = 0; t < q; t++) {
      double *row = m + (j * q + t) * cols;
      for (size_t i = 0; i < k; i++) {
        size_t s = (t + i * j) % q;
        if (s < q - 1) row[i * (q - 1) + s] += 1.0;
        else
          for (size_t u = 0; u < q - 1; u++) row[i * (q - 1) + u] -= 1.0;
      }
    }
}

static void cir_fill(cod_code *c) {
  if (c->code_filters) {
    for (size_t j = 0; j < c->n; j++) c->A[j] = 1.0;
    cir_fill_side(c, c->B, c->m_filt);
  } else {
    for (size_t j = 0; j < c->n; j++) c->B[j] = 1.0;
    cir_fill_side(c, c->A, c->m_in);
  }
}

const cod_scheme_ops cod_scheme_cir = {"nsctc-cir", cir_plan, cir_fill, cod_select_first_delta,
                                       cod_cir_decode, cod_cir_cond, cod_cir_decode_flops,
                                       cod_cir_decode_work_bytes, 0};

/* ---- uncoded and replication --------------------------------------------------------- */

static void block_fill(cod_code *c) {
  for (size_t j = 0; j < c->n; j++) {
    size_t p = j % c->delta;
    c->A[j * c->m_in + p / c->kb] = 1.0;
    c->B[j * c->m_filt + p % c->kb] = 1.0;
  }
}

static int block_plan_common(cod_code *c) {
  c->delta = c->ka * c->kb;
  c->m_in = c->ka;
  c->m_filt = c->kb;
  c->ea = c->eb = 1;
  return COD_OK;
}

static int uncoded_plan(cod_code *c, cod_err *err) {
  block_plan_common(c);
  if (c->delta != c->n)
    return cod_err_set(err, COD_EINVAL,
                       "uncoded: needs k_A*k_B = n (one block per worker); got %zu*%zu != %zu",
                       c->ka, c->kb, c->n);
  return COD_OK;
}

static int replication_plan(cod_code *c, cod_err *err) {
  block_plan_common(c);
  if (c->delta > c->n || c->n % c->delta != 0)
    return cod_err_set(err, COD_EINVAL,
                       "replication: n = %zu must be a multiple r*k_A*k_B of the %zu blocks",
                       c->n, c->delta);
  return COD_OK;
}

/* For every block, the first listed worker holding it. */
static int block_select(const cod_code *c, const size_t *avail, size_t n_avail, size_t *sel,
                        size_t *n_sel) {
  for (size_t p = 0; p < c->delta; p++) {
    size_t i = 0;
    while (i < n_avail && avail[i] % c->delta != p) i++;
    if (i == n_avail) return COD_EUNDECODABLE;
    sel[p] = i;
  }
  *n_sel = c->delta;
  return COD_OK;
}

/* Selected worker p holds block p: decoding is a copy. */
static int block_decode(const cod_code *c, const size_t *ids, size_t n_sel,
                        const double *const *results, double *y, double *cond, void *work,
                        cod_err *err) {
  (void)err, (void)work;
  for (size_t p = 0; p < n_sel; p++)
    cod_partition_scatter(&c->part, ids[p] % c->delta, 0, c->part.out_block_len, results[p], y);
  if (cond) *cond = 1.0;
  return COD_OK;
}

static int block_cond(const cod_code *c, const size_t *ids, size_t n_sel, double *cond,
                      cod_err *err) {
  (void)c, (void)ids, (void)n_sel, (void)err;
  *cond = 1.0;
  return COD_OK;
}

static double block_decode_flops(const cod_code *c) {
  (void)c;
  return 0.0; /* copies */
}

const cod_scheme_ops cod_scheme_uncoded = {"uncoded", uncoded_plan, block_fill, block_select,
                                           block_decode, block_cond, block_decode_flops, NULL, 0};
const cod_scheme_ops cod_scheme_replication = {"replication", replication_plan, block_fill,
                                               block_select, block_decode, block_cond,
                                               block_decode_flops, NULL, 0};

/* ---- polynomial codes ---------------------------------------------------------------- */

static int poly_plan(cod_code *c, cod_err *err) {
  int rc = plan_mds_common(c, err);
  if (rc) return rc;
  c->m_in = c->ka;
  c->m_filt = c->kb;
  c->ea = c->eb = 1;
  return COD_OK;
}

static void poly_real_fill(cod_code *c) {
  for (size_t j = 0; j < c->n; j++) {
    double x = -1.0 + 2.0 * (double)(j + 1) / (double)c->n;
    for (size_t i = 0; i < c->ka; i++) c->A[j * c->m_in + i] = pow(x, (double)(c->kb * i));
    for (size_t l = 0; l < c->kb; l++) c->B[j * c->m_filt + l] = pow(x, (double)l);
  }
}

static void poly_cheb_fill(cod_code *c) {
  for (size_t j = 0; j < c->n; j++) {
    double t = (2.0 * (double)j + 1.0) * M_PI / (2.0 * (double)c->n); /* x_j = cos t */
    for (size_t i = 0; i < c->ka; i++) c->A[j * c->m_in + i] = cos((double)(c->kb * i) * t);
    for (size_t l = 0; l < c->kb; l++) c->B[j * c->m_filt + l] = cos((double)l * t);
  }
}

const cod_scheme_ops cod_scheme_poly_real = {"poly-real", poly_plan, poly_real_fill,
                                             cod_select_first_delta, NULL, NULL, NULL, NULL, 0};
const cod_scheme_ops cod_scheme_poly_cheb = {"poly-cheb", poly_plan, poly_cheb_fill,
                                             cod_select_first_delta, NULL, NULL, NULL, NULL, 0};

/* ---- registry rows (cod_registry.h) -------------------------------------------------- */

#define Q_PARAM(what) {{"q", what}}
#define CIR_WORKERS_MAX 255 /* the dense circulant generator grows as n^3 */

const cod_scheme_def cod_def_rot = {
    {"nsctc-rot", "NSCTC with the rotation-matrix embedding: both operands coded, 2x2 blocks",
     "any k_A, k_B with k_A*k_B <= n; q >= n distinct rotation nodes",
     "FCDCC/NSCTC, arXiv 2411.01579; CRME, Ramamoorthy & Tang, arXiv 1910.06515", 1, 2,
     COD_PAIR_FREE, 0, COD_WORKERS_MAX,
     Q_PARAM("rotation angle 2*pi/q: an integer >= n; 0 = n"), 0},
    &cod_scheme_rot};

const cod_scheme_def cod_def_cir = {
    {"nsctc-cir", "NSCTC with the circulant-permutation embedding: one operand coded",
     "k_A = 1 or k_B = 1, k_A*k_B <= n; q a prime >= n; its dense generator is n*q x "
     "k(q-1), O(n^3) memory (0.13 GB per k at n = 255), hence the lower limit",
     "FCDCC/NSCTC, arXiv 2411.01579; CRME, Ramamoorthy & Tang, arXiv 1910.06515", 1, 1,
     COD_PAIR_FREE, 0, CIR_WORKERS_MAX,
     Q_PARAM("circulant size: a prime >= n; 0 = the smallest prime >= n"), 0},
    &cod_scheme_cir};

const cod_scheme_def cod_def_uncoded = {
    {"uncoded", "no code: n blocks, one per worker, the master waits for all of them",
     "k_A*k_B = n (the runner derives the pair)", "", 0, 0, COD_PAIR_ALL, 0,
     COD_WORKERS_MAX, {{NULL, NULL}}, 0},
    &cod_scheme_uncoded};

const cod_scheme_def cod_def_replication = {
    {"replication", "r copies of k_A*k_B blocks: worker j holds block j mod k_A*k_B",
     "n = r*k_A*k_B (the runner derives the pair from [coding] replication = r)",
     "", 0, 0, COD_PAIR_COPIES, 0, COD_WORKERS_MAX, {{NULL, NULL}}, 0},
    &cod_scheme_replication};

const cod_scheme_def cod_def_poly_real = {
    {"poly-real", "polynomial code at the real nodes -1 + 2(j+1)/n",
     "any k_A, k_B with k_A*k_B <= n (ill-conditioned beyond a few tens)",
     "polynomial codes, Yu, Maddah-Ali & Avestimehr, arXiv 1705.10464", 1, 2, COD_PAIR_FREE,
     0, COD_WORKERS_MAX, {{NULL, NULL}}, 0},
    &cod_scheme_poly_real};

const cod_scheme_def cod_def_poly_cheb = {
    {"poly-cheb", "polynomial code in the Chebyshev basis at the Chebyshev nodes",
     "any k_A, k_B with k_A*k_B <= n", "Fahim & Cadambe, arXiv 1903.08326", 1, 2,
     COD_PAIR_FREE, 0, COD_WORKERS_MAX, {{NULL, NULL}}, 0},
    &cod_scheme_poly_cheb};
