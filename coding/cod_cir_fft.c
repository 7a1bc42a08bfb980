/* cod_cir_fft.c: the structured decoder and condition number of nsctc-cir.
 *
 * The circulant-permutation embedding (CRME, Ramamoorthy & Tang, arXiv 1910.06515; as a
 * convolution code in FCDCC, arXiv 2411.01579; NSCTC-MATH section 4): the coded side is k
 * groups of q pieces (q prime), the last piece of group i minus the sum of its q-1 data
 * pieces, and worker j's piece t is sum_i U'_{i,(t+i*j) mod q}. Its result pieces, as a
 * sequence in t, therefore obey Z_j[m] = sum_i w^{m*i*j} U'_i[m] after a DFT along t
 * (w = e^{2 pi i/q}, FFTW's forward sign). Bin 0 of every group is zero by construction,
 * so decoding is: FFT each selected worker's q pieces (for every output entry at once),
 * solve one k x k complex Vandermonde system in the nodes w^{m*j} per frequency
 * m = 1..floor(q/2) (the others are complex conjugates: the data are real), inverse FFT,
 * and drop the parity piece s = q-1. The k x k inverses are formed once per worker set
 * and applied to all output entries of a chunk as one real GEMM on split planes
 * ([[Re, -Im], [Im, Re]], as the nsctc-rot decoder does), so the cost per output entry is
 * about one length-q real FFT per worker and per needed group and 8k^2 flops per
 * frequency pair, instead of the generic decoder's 2*k^2*q^2. Two real sequences share
 * one complex FFT (forward: two workers, split by conjugate symmetry; inverse: two
 * groups), because FFTW runs a prime length as an O(q^2) generic loop either way.
 *
 * FFTW's planner is one global object and not thread-safe: every plan is made and
 * destroyed under plan_lock (only fftw_execute_* is thread-safe). Plans are made per
 * decode with FFTW_ESTIMATE (microseconds, no measurement) and FFTW_UNALIGNED, because
 * worker results come at any 8-byte alignment; FFTW's own allocations bypass cod_malloc,
 * and a NULL plan is reported as COD_ENOMEM.
 *
 * Condition number (docs/decisions/012-cir-fft-decoder.md derives it). With the unitary
 * DFT, the recovery matrix M (kq x k(q-1): worker pieces against data pieces) is
 * M = Q * B * (I_k (x) G), Q with orthonormal columns, B = blockdiag_m V_m (V_m[j][i] =
 * w^{m i j}), G = (rows 1..q-1 of the unitary DFT) * E, E = [I; -1^T] the parity map. G is
 * not unitary (G G^H = I + phi phi^H, |phi_m| = 1), so cond(M) is not
 * max sigma_max(V_m) / min sigma_min(V_m) (it lies within a factor sqrt(q) of it). Exactly:
 * sigma(M)^2 are the eigenvalues of H = D + C C^H with D = blockdiag(V_m V_m^H) and
 * C = stack_m(phi_m V_m), a rank-k update; by Sylvester's inertia on the Schur complement,
 * the number of eigenvalues of H below lambda is
 *   N(lambda) = #{sigma_{m,r}^2 < lambda} - #neg K(lambda),
 *   K(lambda) = q I_k - lambda sum_m (lambda I - V_m^H V_m)^{-1}   (real symmetric, k x k),
 * so bisection on N gives sigma_min(M) and sigma_max(M) from the q-1 small SVDs and k x k
 * eigenvalue counts: O(q k^3) per step instead of the O(q^3 k^3) dense SVD.
 */
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#include <fftw3.h>
#include <gsl/gsl_cblas.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>

#include "cod_alloc.h"
#include "cod_scheme.h"

/* Output entries per pass: the forward planes, the solved planes (each (q/2+1) x 2k x W)
 * and one inverse output (q x W) stay in L1/L2. 16 measured best of 8..512 on AlexNet
 * conv3 at n = 20, 1 x 16 (1.54 ms against 1.71 ms at 64 and 2.8 ms at 512). */
#define CIR_CHUNK 16

static pthread_mutex_t plan_lock = PTHREAD_MUTEX_INITIALIZER;

/* Frequencies kept by the real FFT: 0..q/2. */
static size_t cir_nfreq(const cod_code *c) { return c->q / 2 + 1; }

/* Groups (of q-1 data pieces) holding at least one block that reaches y: KCCP's zero
 * filters and APCP's slabs past the output are known zeros, so only the first groups'
 * rows of each inverse are applied and only their inverse FFTs are taken. The other
 * unknowns are still part of every solve (the systems are square); they are just not
 * formed, so the decoded entries are the same numbers either way. */
static size_t cir_groups_needed(const cod_code *c) {
  const cod_partition *p = &c->part;
  size_t nreal;
  if (c->code_filters) nreal = (p->layer.n_filters + p->filt_per_group - 1) / p->filt_per_group;
  else {
    size_t ext = p->axis == COD_AXIS_ROWS ? cod_conv_out_h(&p->layer) : cod_conv_out_w(&p->layer);
    nreal = (ext + p->out_per_slab - 1) / p->out_per_slab;
  }
  size_t g = (nreal + c->q - 2) / (c->q - 1);
  return g < c->delta ? g : c->delta;
}

static size_t cir_work_doubles(const cod_code *c) {
  size_t k = c->delta, q = c->q, nf = cir_nfreq(c), k2 = 2 * k;
  return 2 * nf * k2 * CIR_CHUNK   /* forward and solved planes (at most 2k rows each) */
         + 4 * q * CIR_CHUNK       /* one pair's packed spectrum in and out (split) */
         + nf * k2 * k2            /* embedded inverses, one per frequency */
         + 4 * k * k;              /* one V_m and its inverse (interleaved complex) */
}

size_t cod_cir_decode_work_bytes(const cod_code *c) {
  return cir_work_doubles(c) * sizeof(double);
}

double cod_cir_decode_flops(const cod_code *c) {
  double k = (double)c->delta, q = (double)c->q, L = (double)c->part.out_block_len;
  double nf = (double)(c->q / 2);
  double g = (double)cir_groups_needed(c);
  /* a real FFT of length q (about 2.5 q log2 q flops) per worker and entry and one per
   * needed group and entry, and one 2g x 2k real GEMM per kept frequency */
  return 2.5 * q * log2(q) * (k + g) * L + nf * 2.0 * (2 * g) * (2 * k) * L;
}

/* V_m[j][i] = w^{m*i*ids[j]}, interleaved complex; exponents reduced in integers. */
static void cir_vandermonde(const cod_code *c, const size_t *ids, size_t m, double *v) {
  size_t k = c->delta, q = c->q;
  for (size_t j = 0; j < k; j++)
    for (size_t i = 0; i < k; i++) {
      double t = 2.0 * M_PI * (double)((m * i % q) * ids[j] % q) / (double)q;
      v[2 * (j * k + i)] = cos(t);
      v[2 * (j * k + i) + 1] = sin(t);
    }
}

/* e (2g x 2k) = [[Re, -Im], [Im, Re]] of the first g rows of inv (k x k), times s. */
static void cir_embed(const double *inv, size_t k, size_t g, double s, double *e) {
  size_t k2 = 2 * k;
  for (size_t r = 0; r < g; r++)
    for (size_t j = 0; j < k; j++) {
      double re = s * inv[2 * (r * k + j)], im = s * inv[2 * (r * k + j) + 1];
      e[r * k2 + j] = re;
      e[r * k2 + k + j] = -im;
      e[(g + r) * k2 + j] = im;
      e[(g + r) * k2 + k + j] = re;
    }
}

typedef struct cir_plans {
  fftw_plan fwd, inv;
} cir_plans;

/* Forward: two workers' q samples at stride L as the real and imaginary parts of one
 * complex transform -> their packed spectrum (q x W, split); inverse: the same shape on
 * unit-stride planes (two groups at a time). Both over n entries at unit stride. FFTW's
 * split interface only transforms forward; the inverse swaps real and imaginary parts of
 * input and output. */
static int cir_plans_make(const cod_code *c, size_t g, size_t n, double *zs, double *pk,
                          double *ys, cir_plans *p) {
  size_t k = c->delta, L = c->part.out_block_len, W = CIR_CHUNK;
  fftw_iodim fd = {(int)c->q, (int)L, (int)W}, fv = {(int)n, 1, 1};
  fftw_iodim id = {(int)c->q, (int)W, (int)W}, iv = {(int)n, 1, 1};
  unsigned flags = FFTW_ESTIMATE | FFTW_UNALIGNED;
  pthread_mutex_lock(&plan_lock);
  /* planning with FFTW_ESTIMATE reads nor writes the arrays; ys stands in for the input */
  (void)k, (void)g;
  p->fwd = fftw_plan_guru_split_dft(1, &fd, 1, &fv, zs, zs + 1, ys, ys + c->q * W, flags);
  p->inv = fftw_plan_guru_split_dft(1, &id, 1, &iv, pk + c->q * W, pk, ys + c->q * W, ys,
                                    flags | FFTW_DESTROY_INPUT);
  pthread_mutex_unlock(&plan_lock);
  return p->fwd && p->inv ? COD_OK : COD_ENOMEM;
}

static void cir_plans_free(cir_plans *p) {
  pthread_mutex_lock(&plan_lock);
  if (p->fwd) fftw_destroy_plan(p->fwd);
  if (p->inv) fftw_destroy_plan(p->inv);
  pthread_mutex_unlock(&plan_lock);
  p->fwd = p->inv = NULL;
}

/* One chunk [e0, e0+n): forward FFTs, per-frequency solves, inverse FFTs, scatter. */
static void cir_chunk(const cod_code *c, size_t g, const cir_plans *p,
                      const double *const *results, size_t e0, size_t n, const double *emb,
                      double *zs, double *us, double *ys, double *pk, double *y) {
  size_t k = c->delta, q = c->q, nf = cir_nfreq(c), k2 = 2 * k, g2 = 2 * g, W = CIR_CHUNK;
  /* Workers a, b in one complex FFT, Z = FFT(x_a + i x_b); then by conjugate symmetry
   * 2 X_a[m] = Z[m] + conj Z[q-m] and 2 X_b[m] = -i (Z[m] - conj Z[q-m]) (the 1/2 is in
   * the inverses). An odd last worker pairs with itself: its X_a is still right. */
  double *pr = ys, *pi = ys + q * W;
  for (size_t a = 0; a < k; a += 2) {
    size_t b = a + 1 < k ? a + 1 : a;
    fftw_execute_split_dft(p->fwd, (double *)results[a] + e0, (double *)results[b] + e0, pr,
                           pi);
    for (size_t m = 1; m < nf; m++) {
      const double *restrict zr = pr + m * W, *restrict zi = pi + m * W;
      const double *restrict wr = pr + (q - m) * W, *restrict wi = pi + (q - m) * W;
      double *restrict ar = zs + m * k2 * W + a * W, *restrict ai = ar + k * W;
      for (size_t e = 0; e < n; e++) ar[e] = zr[e] + wr[e], ai[e] = zi[e] - wi[e];
      if (b == a) continue;
      double *restrict br = zs + m * k2 * W + b * W, *restrict bi = br + k * W;
      for (size_t e = 0; e < n; e++) br[e] = zi[e] + wi[e], bi[e] = wr[e] - zr[e];
    }
  }
  for (size_t m = 1; m < nf; m++)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g2, (int)n, (int)k2, 1.0,
                emb + m * g2 * k2, (int)k2, zs + m * k2 * W, (int)W, 0.0, us + m * g2 * W,
                (int)W);
  /* Groups a, b through one complex inverse: C = U_a + i U_b over all q bins (bin 0 is
   * zero by construction, bins q-m conjugate), so the output is u_a + i u_b. A Nyquist
   * bin (q = 2) keeps its real part only, as a c2r transform would. */
  double *cr = pk, *ci = pk + q * W, *yr = ys, *yi = ys + q * W;
  for (size_t a = 0; a < g; a += 2) {
    size_t b = a + 1 < g ? a + 1 : a;
    memset(cr, 0, n * sizeof *cr);
    memset(ci, 0, n * sizeof *ci);
    for (size_t m = 1; m < nf; m++) {
      const double *restrict uar = us + m * g2 * W + a * W, *restrict uai = uar + g * W;
      const double *restrict ubr = us + m * g2 * W + b * W, *restrict ubi = ubr + g * W;
      double *restrict c1r = cr + m * W, *restrict c1i = ci + m * W;
      double *restrict c2r = cr + (q - m) * W, *restrict c2i = ci + (q - m) * W;
      if (2 * m == q) {
        memcpy(c1r, uar, n * sizeof *c1r);
        memcpy(c1i, ubr, n * sizeof *c1i);
        continue;
      }
      for (size_t e = 0; e < n; e++) {
        c1r[e] = uar[e] - ubi[e], c1i[e] = uai[e] + ubr[e];
        c2r[e] = uar[e] + ubi[e], c2i[e] = ubr[e] - uai[e];
      }
    }
    fftw_execute_split_dft(p->inv, ci, cr, yi, yr);
    for (size_t s = 0; s + 1 < q; s++) {
      cod_partition_scatter(&c->part, a * (q - 1) + s, e0, n, yr + s * W, y);
      if (b != a) cod_partition_scatter(&c->part, b * (q - 1) + s, e0, n, yi + s * W, y);
    }
  }
}

int cod_cir_decode(const cod_code *c, const size_t *ids, size_t n_sel,
                   const double *const *results, double *y, double *cond, void *work,
                   cod_err *err) {
  size_t k = c->delta, q = c->q, nf = cir_nfreq(c), k2 = 2 * k, W = CIR_CHUNK;
  size_t L = c->part.out_block_len, g = cir_groups_needed(c);
  if (n_sel != k)
    return cod_err_set(err, COD_EINVAL, "nsctc-cir decoder: %zu results for threshold %zu",
                       n_sel, k);
  double *own = work ? NULL : cod_malloc(cod_cir_decode_work_bytes(c));
  if (!work && !own) return cod_err_set(err, COD_ENOMEM, "out of memory in the nsctc-cir decoder");
  double *zs = work ? work : own, *us = zs + nf * k2 * W, *ys = us + nf * k2 * W;
  double *pk = ys + 2 * q * W, *emb = pk + 2 * q * W, *v = emb + nf * k2 * k2;
  double *vinv = v + 2 * k * k;
  cir_plans full = {0}, tail = {0};
  int rc = COD_OK;
  for (size_t m = 1; m < nf; m++) {
    cir_vandermonde(c, ids, m, v);
    if ((rc = cod_la_complex_inverse(v, k, vinv, err))) goto done;
    /* 1/q: the inverse FFT is unnormalised; 1/2: the packed forward doubles the spectra */
    cir_embed(vinv, k, g, 0.5 / (double)q, emb + m * 2 * g * k2);
  }
  if (cond && (rc = cod_cir_cond(c, ids, n_sel, cond, err))) goto done;
  size_t n_full = L / W, rem = L % W;
  if ((n_full && cir_plans_make(c, g, W, zs, pk, ys, &full)) ||
      (rem && cir_plans_make(c, g, rem, zs, pk, ys, &tail))) {
    rc = cod_err_set(err, COD_ENOMEM, "FFTW could not plan the nsctc-cir transforms (q = %zu)", q);
    goto done;
  }
  for (size_t b = 0; b < n_full; b++)
    cir_chunk(c, g, &full, results, b * W, W, emb, zs, us, ys, pk, y);
  if (rem) cir_chunk(c, g, &tail, results, n_full * W, rem, emb, zs, us, ys, pk, y);
done:
  cir_plans_free(&full);
  cir_plans_free(&tail);
  cod_free(own);
  return rc;
}

/* ---- the exact condition number ------------------------------------------------------ */

typedef struct cir_spec {
  size_t k, q, nm;   /* unknowns per frequency, prime, kept frequencies 1..nm */
  double *sig2;      /* nm x 2k squared singular values of the real embedding of V_m */
  double *a;         /* nm x 2k x k: Re parts of the right singular vectors */
  double *wgt;       /* nm: 2 for a conjugate pair m, q-m; 1 for m = q/2 */
  double *kmat, *coef, *scaled, *eval; /* K(lambda) and its scratch */
  gsl_eigen_symm_workspace *ews;
} cir_spec;

/* Eigenvalues of H below lambda, N(lambda) = #{sigma^2 < lambda} - #neg K(lambda);
 * -1 if GSL's eigen solver fails. */
static long cir_count_below(cir_spec *s, double lambda) {
  size_t k = s->k, k2 = 2 * k, T = s->nm * k2;
  double below = 0;
  for (size_t m = 0; m < s->nm; m++)
    for (size_t t = 0; t < k2; t++) {
      double d = s->sig2[m * k2 + t];
      if (d < lambda) below += s->wgt[m] / 2; /* each complex value appears twice in t */
      s->coef[m * k2 + t] = lambda * s->wgt[m] / (lambda - d);
    }
  /* K = q I - A^T diag(coef) A with A = the T x k stack of the vectors a */
  for (size_t r = 0; r < T; r++)
    for (size_t i = 0; i < k; i++) s->scaled[r * k + i] = s->coef[r] * s->a[r * k + i];
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)k, (int)T, -1.0, s->a,
              (int)k, s->scaled, (int)k, 0.0, s->kmat, (int)k);
  for (size_t i = 0; i < k; i++) s->kmat[i * k + i] += (double)s->q;
  gsl_matrix_view K = gsl_matrix_view_array(s->kmat, k, k);
  gsl_vector_view E = gsl_vector_view_array(s->eval, k);
  if (gsl_eigen_symm(&K.matrix, &E.vector, s->ews) != GSL_SUCCESS) return -1;
  long neg = 0;
  for (size_t i = 0; i < k; i++) neg += s->eval[i] < 0;
  return (long)lround(below) - neg;
}

/* Smallest lambda in (lo, hi] with N(lambda) >= target, given N(lo) < target <= N(hi),
 * to relative precision 1e-11 (the condition number to ~1e-11: a diagnostic, compared
 * with SVDs good to ~cond*eps) by bisection in the logarithm, ~36 steps. */
static int cir_bisect(cir_spec *s, double lo, double hi, long target, double *out) {
  for (int it = 0; it < 200 && hi > lo * (1 + 1e-11); it++) {
    double mid = sqrt(lo * hi);
    if (!(mid > lo && mid < hi)) break;
    long nb = cir_count_below(s, mid);
    if (nb < 0) return COD_ENUMERIC;
    if (nb >= target) hi = mid;
    else lo = mid;
  }
  *out = hi;
  return COD_OK;
}

static int cir_spec_fill(const cod_code *c, const size_t *ids, cir_spec *s) {
  size_t k = s->k, k2 = 2 * k;
  double *v = cod_malloc_array(2 * k * k, sizeof *v);
  double *g = cod_malloc_array(k2 * k2, sizeof *g), *rv = cod_malloc_array(k2 * k2, sizeof *rv);
  double *sv = cod_malloc_array(k2, sizeof *sv), *wk = cod_malloc_array(k2, sizeof *wk);
  int rc = v && g && rv && sv && wk ? COD_OK : COD_ENOMEM;
  for (size_t m = 1; m <= s->nm && rc == COD_OK; m++) {
    cir_vandermonde(c, ids, m, v);
    for (size_t r = 0; r < k; r++)
      for (size_t i = 0; i < k; i++) {
        double re = v[2 * (r * k + i)], im = v[2 * (r * k + i) + 1];
        g[r * k2 + i] = re, g[r * k2 + k + i] = -im;
        g[(k + r) * k2 + i] = im, g[(k + r) * k2 + k + i] = re;
      }
    gsl_matrix_view G = gsl_matrix_view_array(g, k2, k2), R = gsl_matrix_view_array(rv, k2, k2);
    gsl_vector_view S = gsl_vector_view_array(sv, k2), Wk = gsl_vector_view_array(wk, k2);
    /* Golub-Reinsch: sigma to ~eps*sigma_max, i.e. cond to ~cond*eps relative, several
     * times faster than one-sided Jacobi (which took two thirds of a search's time) */
    if (gsl_linalg_SV_decomp(&G.matrix, &R.matrix, &S.vector, &Wk.vector) != GSL_SUCCESS) {
      rc = COD_ENUMERIC;
      break;
    }
    s->wgt[m - 1] = 2 * m == s->q ? 1.0 : 2.0;
    for (size_t t = 0; t < k2; t++) {
      s->sig2[(m - 1) * k2 + t] = sv[t] * sv[t];
      for (size_t i = 0; i < k; i++) s->a[((m - 1) * k2 + t) * k + i] = rv[i * k2 + t];
    }
  }
  cod_free(v), cod_free(g), cod_free(rv), cod_free(sv), cod_free(wk);
  return rc;
}

int cod_cir_cond(const cod_code *c, const size_t *ids, size_t n_sel, double *cond,
                 cod_err *err) {
  cir_spec s;
  memset(&s, 0, sizeof s);
  s.k = c->delta, s.q = c->q, s.nm = c->q / 2;
  if (n_sel != s.k)
    return cod_err_set(err, COD_EINVAL, "nsctc-cir condition number: %zu workers for threshold %zu",
                       n_sel, s.k);
  size_t k = s.k, T = s.nm * 2 * k;
  s.sig2 = cod_malloc_array(T, sizeof *s.sig2);
  s.a = cod_malloc_array(T * k, sizeof *s.a);
  s.wgt = cod_malloc_array(s.nm, sizeof *s.wgt);
  s.kmat = cod_malloc_array(k * k, sizeof *s.kmat);
  s.coef = cod_malloc_array(T, sizeof *s.coef);
  s.scaled = cod_malloc_array(T * k, sizeof *s.scaled);
  s.eval = cod_malloc_array(k, sizeof *s.eval);
  int rc = COD_OK;
  if (!s.sig2 || !s.a || !s.wgt || !s.kmat || !s.coef || !s.scaled || !s.eval) {
    rc = cod_err_set(err, COD_ENOMEM, "out of memory for the nsctc-cir condition number");
    goto done;
  }
  s.ews = gsl_eigen_symm_alloc(k);
  if (!s.ews) {
    rc = cod_err_set(err, COD_ENOMEM, "out of memory for an eigenvalue workspace");
    goto done;
  }
  if ((rc = cir_spec_fill(c, ids, &s))) {
    rc = cod_err_set(err, rc, rc == COD_ENOMEM ? "out of memory in the nsctc-cir condition number"
                                               : "nsctc-cir condition number: SVD failed");
    goto done;
  }
  double dmin = INFINITY, dmax = 0;
  for (size_t t = 0; t < T; t++) dmin = fmin(dmin, s.sig2[t]), dmax = fmax(dmax, s.sig2[t]);
  long total = (long)(k * (c->q - 1));
  double lmin = 0, lmax = 0;
  if (!(dmin > 0)) {
    *cond = INFINITY; /* a singular V_m: distinct nodes make this impossible for prime q */
    goto done;
  }
  /* H >= D, and ||C||^2 <= (q-1) dmax: lambda_min(H) in [dmin, ...], lambda_max in
   * [dmax, q dmax]; open the upper end of the first bracket until it holds an eigenvalue */
  double hi = dmin * 2;
  while (cir_count_below(&s, hi) < 1 && hi < (double)c->q * dmax * 4) hi *= 2;
  if ((rc = cir_bisect(&s, dmin * (1 - 4 * DBL_EPSILON), hi, 1, &lmin)) ||
      (rc = cir_bisect(&s, dmax * (1 - 4 * DBL_EPSILON), (double)c->q * dmax * (1 + 1e-12),
                       total, &lmax))) {
    rc = cod_err_set(err, COD_ENUMERIC, "nsctc-cir condition number: eigenvalue count failed");
    goto done;
  }
  /* both ends carry the bisection's 1e-11; a perfectly conditioned set must not read < 1 */
  *cond = fmax(1.0, sqrt(lmax / lmin));
done:
  if (s.ews) gsl_eigen_symm_free(s.ews);
  cod_free(s.sig2), cod_free(s.a), cod_free(s.wgt), cod_free(s.kmat);
  cod_free(s.coef), cod_free(s.scaled), cod_free(s.eval);
  return rc;
}
