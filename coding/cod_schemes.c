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

#include <gsl/gsl_cblas.h>

#include "cod_alloc.h"
#include "cod_cond_rot.h"
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
 * channels of one chunk stay in L2, so the decoder streams every worker result once and
 * writes y once. 256 measured best of 128..512 (AlexNet conv2, n = 20, 4 x 4: 0.42 ms
 * against 0.46 ms at 512, with a reused workspace). */
#define ROT_CHUNK 256

/* The complex solve Vinv * z is done in its real embedding [[Re, -Im], [Im, Re]] on split
 * real/imaginary planes: the same flops as ZGEMM, but DGEMM kernels are faster at these
 * small sizes and the transforms around it become plain vectorisable loops. The phase of
 * the second channel is folded into its matrix: E2 = embed(Vinv * diag(w^{(kb-1) j})) / 2. */
static void rot_embed(const double *vinv, const double *ph, size_t d, double *e) {
  const size_t d2 = 2 * d;
  for (size_t r = 0; r < d; r++)
    for (size_t k = 0; k < d; k++) {
      double re = vinv[2 * (r * d + k)], im = vinv[2 * (r * d + k) + 1];
      if (ph) {
        double pr = ph[2 * k], pi = ph[2 * k + 1], t = re * pr - im * pi;
        im = re * pi + im * pr;
        re = t;
      }
      re *= 0.5, im *= 0.5; /* the 1/2 of the map back to real blocks */
      e[r * d2 + k] = re;
      e[r * d2 + d + k] = -im;
      e[(d + r) * d2 + k] = im;
      e[(d + r) * d2 + d + k] = re;
    }
}

/* The two bilinear forms v+^T Z v+ (pp) and v+^T Z v- (pm) of each worker's 2x2 result,
 * on split real/imaginary planes. `restrict` lets GCC vectorise without alias checks. */
static void rot_to_channels(size_t n, const double *restrict z00, const double *restrict z01,
                            const double *restrict z10, const double *restrict z11,
                            double *restrict ppr, double *restrict ppi, double *restrict pmr,
                            double *restrict pmi) {
  for (size_t e = 0; e < n; e++) {
    ppr[e] = z00[e] - z11[e];
    ppi[e] = -(z01[e] + z10[e]);
    pmr[e] = z00[e] + z11[e];
    pmi[e] = z01[e] - z10[e];
  }
}

/* Back from the solved forms A = v+^T u v+, B = v+^T u v- to the real 2x2 block u (the
 * factor 1/2 of V^{-T} T V^{-1} is folded into the embedded inverses). */
static void rot_from_channels(size_t n, const double *restrict ar, const double *restrict ai,
                              const double *restrict br, const double *restrict bi,
                              double *restrict u00, double *restrict u01,
                              double *restrict u10, double *restrict u11) {
  for (size_t e = 0; e < n; e++) {
    u00[e] = ar[e] + br[e];
    u01[e] = bi[e] - ai[e];
    u10[e] = -(ai[e] + bi[e]);
    u11[e] = br[e] - ar[e];
  }
}

/* Doubles of the fast decoder's workspace for threshold d: V and its inverse, the phases,
 * the two embedded inverses, the transformed and solved chunk planes, one output chunk. */
static size_t rot_work_doubles(size_t d) {
  size_t d2 = 2 * d;
  return 4 * d * d + 2 * d + 2 * d2 * d2 + 4 * d2 * ROT_CHUNK + 4 * ROT_CHUNK;
}

static int rot_decode(const cod_code *c, const size_t *ids, size_t d,
                      const double *const *results, double *y, double *cond, void *work,
                      cod_err *err) {
  const size_t L = c->part.out_block_len, kb = c->kb, mf = c->m_filt, d2 = 2 * d;
  const size_t W = ROT_CHUNK;
  double *own = work ? NULL : cod_malloc(rot_work_doubles(d) * sizeof(double));
  if (!work && !own) return cod_err_set(err, COD_ENOMEM, "out of memory in the nsctc-rot decoder");
  double *v = work ? work : own;
  double *vinv = v + 2 * d * d, *ph = vinv + 2 * d * d, *e1 = ph + 2 * d, *e2 = e1 + d2 * d2;
  double *zt = e2 + d2 * d2; /* [pp re; pp im; pm re; pm im] */
  double *ut = zt + 2 * d2 * W, *u = ut + 2 * d2 * W; /* u: one chunk of a pair's 4 blocks */
  int rc = COD_OK;
  rot_vandermonde(c, ids, d, v);
  if ((rc = cod_la_complex_inverse(v, d, vinv, err))) goto done;
  if (cond && (rc = cod_rot_cond(c, ids, d, cond, err))) goto done;
  for (size_t i = 0; i < d; i++) {
    double t = unit_angle((kb - 1) * ids[i], c->q);
    ph[2 * i] = cos(t), ph[2 * i + 1] = sin(t);
  }
  rot_embed(vinv, NULL, d, e1);
  rot_embed(vinv, ph, d, e2);
  double *zpp = zt, *zpm = zt + d2 * W, *upp = ut, *upm = ut + d2 * W;
  for (size_t e0 = 0; e0 < L; e0 += W) {
    const size_t n = L - e0 < W ? L - e0 : W;
    for (size_t i = 0; i < d; i++) {
      const double *z00 = results[i] + e0;
      rot_to_channels(n, z00, z00 + L, z00 + 2 * L, z00 + 3 * L, zpp + i * W,
                      zpp + (d + i) * W, zpm + i * W, zpm + (d + i) * W);
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d2, (int)n, (int)d2, 1.0, e1,
                (int)d2, zpp, (int)W, 0.0, upp, (int)W);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d2, (int)n, (int)d2, 1.0, e2,
                (int)d2, zpm, (int)W, 0.0, upm, (int)W);
    for (size_t i = 0; i < c->ka; i++)
      for (size_t l = 0; l < kb; l++) {
        const size_t ea = kb * i + l, eb = kb * i + kb - 1 - l;
        const double *ar = upp + ea * W, *ai = upp + (d + ea) * W;
        const double *br = upm + eb * W, *bi = upm + (d + eb) * W;
        double *u00 = u, *u01 = u + W, *u10 = u + 2 * W, *u11 = u + 3 * W;
        rot_from_channels(n, ar, ai, br, bi, u00, u01, u10, u11);
        const size_t b00 = (2 * i) * mf + 2 * l, b10 = (2 * i + 1) * mf + 2 * l;
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

/* Two real GEMMs of (2 delta)^2 by out_block_len: half the generic decoder's product. */
static double rot_decode_flops(const cod_code *c) {
  return 2.0 * 2.0 * (double)(4 * c->delta * c->delta) * (double)c->part.out_block_len;
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
