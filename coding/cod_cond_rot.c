/* cod_cond_rot.c: nsctc-rot's condition number without a dense SVD of its recovery matrix.
 *
 * The rotation embedding (CRME: Ramamoorthy & Tang, arXiv 1910.06515; NSCTC-MATH section
 * 3) makes the 4d x 4d real recovery matrix G_S of a worker set S (d = k_A*k_B ids j_i)
 * unitarily equivalent, up to scale, to blocks of the d x d complex Vandermonde matrix
 * V[i][e] = w^{j_i e}, w = e^{2 pi i / q}, e < d: cond(G_S) = cond(V) (cod_schemes.c).
 * V has one more structure: scale row i by the unimodular w^{-j_i (d-1)/2}; the exponents
 * become symmetric about the middle column, so the scaled V' satisfies V' J = conj(V')
 * (J the exchange matrix). With the unitary Q = (I + iJ)/sqrt(2),
 *     V' Q = (V' + i conj(V')) / sqrt(2) = ((1+i)/sqrt(2)) (Re V' + Im V'),
 * a unimodular scalar times a REAL matrix. Hence V has the singular values of
 *     M[i][e] = cos(t) + sin(t) = sqrt(2) cos(t - pi/4),  t = pi j_i (2e + 1 - d) / q,
 * and we drop the sqrt(2). The argument is reduced exactly in integers:
 * t - pi/4 = pi r / (4q) with r = 4 j_i (2e + 1 - d) - q taken mod 8q, so every entry is
 * one cos of an exactly reduced angle (from a table of the 4q + 1 values when that is
 * fewer cos calls than the d^2 entries: the same doubles either way).
 * M is then bidiagonalised by Householder reflections (GSL, no vectors accumulated:
 * 8/3 d^3 flops against the dense path's 2d x 2d embedding, 8x that, plus its V^H V), and
 * the extreme singular values of the bidiagonal B come from bisection on its Golub-Kahan
 * matrix (2d x 2d, zero diagonal, eigenvalues +-sigma): Sturm counts of a zero-diagonal
 * tridiagonal determine its eigenvalues to high RELATIVE accuracy (Demmel & Kahan, "Accurate
 * singular values of bidiagonal matrices", SIAM J. Sci. Stat. Comput. 11, 1990), so the only
 * error left is the backward error of the Householder step: cond to ~ d eps cond relative,
 * where the dense path's eigenvalues of V^H V carry ~eps cond^2 (that is why it switches
 * to an SVD above 1e6). V^H V being Hermitian Toeplitz (entries sum_j w^{j(f-e)}) gives an
 * O(d^2) Gram matrix, but its eigenvalues have the same eps cond^2 error: not used.
 * Costs: d = 16 (AlexNet quickstart) a few microseconds; d = 256 (256-of-1024) ~0.1 s
 * where the dense path takes seconds (`fcdcc bench sweep` prints both).
 */
#include "cod_cond_rot.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>

#include "cod_alloc.h"
#include "cod_scheme.h"

static int check(const cod_code *c, size_t d, cod_err *err) {
  if (c->ops != &cod_scheme_rot)
    return cod_err_set(err, COD_EINVAL, "nsctc-rot condition number asked of a %s code",
                       c->ops->name);
  if (d != c->delta || d == 0)
    return cod_err_set(err, COD_EINVAL,
                       "nsctc-rot condition number: %zu ids given, the threshold is %zu", d,
                       c->delta);
  return COD_OK;
}

/* M (d x d, row-major) as in the header comment; tab has 4q + 1 doubles or is NULL. */
static void real_matrix(size_t q, const size_t *ids, size_t d, const double *tab,
                        double *m) {
  const long long q8 = 8 * (long long)q, q4 = 4 * (long long)q;
  for (size_t i = 0; i < d; i++)
    for (size_t e = 0; e < d; e++) {
      long long r = (4 * (long long)ids[i] * (2 * (long long)e + 1 - (long long)d) -
                     (long long)q) % q8;
      if (r < 0) r += q8;
      if (r > q4) r = q8 - r; /* cos is even about 0 and 2 pi */
      m[i * d + e] = tab ? tab[r] : cos(M_PI * (double)r / (double)q4);
    }
}

/* Eigenvalues of the Golub-Kahan matrix (zero diagonal, off-diagonal b[0..k-2]) below x. */
static size_t sturm_below(const double *b2, size_t k, double x, double pivmin) {
  size_t below = 0;
  double t = -x;
  if (t < 0) below++;
  for (size_t i = 1; i < k; i++) {
    if (fabs(t) < pivmin) t = -pivmin;
    t = -x - b2[i - 1] / t;
    if (t < 0) below++;
  }
  return below;
}

/* Smallest x in (lo, hi] (to a relative 2 eps) with at least `want` eigenvalues below it,
 * given fewer than `want` below lo and at least `want` below hi. */
static double bisect(const double *b2, size_t k, size_t want, double lo, double hi,
                     double pivmin) {
  while (hi - lo > 2 * DBL_EPSILON * hi) {
    double mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    if (sturm_below(b2, k, mid, pivmin) >= want) hi = mid;
    else lo = mid;
  }
  return 0.5 * (lo + hi);
}

/* cond of the d x d bidiagonal with diagonal a(i,i) and superdiagonal a(i,i+1) of m. */
static double bidiag_cond(const double *m, size_t d, double *b2) {
  const size_t k = 2 * d; /* Golub-Kahan order */
  double bmax = 0, ub = 0;
  for (size_t i = 0; i + 1 < k; i++) {
    double b = (i % 2 == 0) ? m[(i / 2) * d + i / 2] : m[(i / 2) * d + i / 2 + 1];
    b2[i] = b * b;
    bmax = fmax(bmax, fabs(b));
  }
  for (size_t i = 0; i < k; i++) /* Gershgorin: |b_{i-1}| + |b_i| */
    ub = fmax(ub, (i ? sqrt(b2[i - 1]) : 0) + (i + 1 < k ? sqrt(b2[i]) : 0));
  if (!(bmax > 0) || !isfinite(ub)) return INFINITY;
  double pivmin = DBL_MIN * fmax(1.0, bmax * bmax);
  double hi = ub * (1 + 4 * DBL_EPSILON) + DBL_MIN;
  double smax = bisect(b2, k, k, 0.0, hi, pivmin); /* all 2d below: sigma_max */
  /* sigma_min: the (d+1)-th eigenvalue from below; halve down to it, then bisect */
  double top = smax * (1 + 4 * DBL_EPSILON);
  while (top > DBL_MIN && sturm_below(b2, k, 0.5 * top, pivmin) >= d + 1) top *= 0.5;
  if (!(top > DBL_MIN) || sturm_below(b2, k, 0.5 * top, pivmin) > d) return INFINITY;
  double smin = bisect(b2, k, d + 1, 0.5 * top, top, pivmin);
  return smin > 0 ? smax / smin : INFINITY;
}

static void sort_ids(size_t *v, size_t n) { /* insertion sort: d is small, or sorted already */
  for (size_t i = 1; i < n; i++) {
    size_t x = v[i], j = i;
    for (; j > 0 && v[j - 1] > x; j--) v[j] = v[j - 1];
    v[j] = x;
  }
}

/* Candidate image number t of the sorted set s (d ids in Z_q): t < d maps x -> x - s[t],
 * t >= d maps x -> s[t - d] - x (mod q); element r of the image in ascending order. */
static size_t image_at(const size_t *s, size_t d, size_t q, size_t t, size_t r) {
  if (t < d) {
    size_t a = s[t], x = s[(t + r) % d];
    return x >= a ? x - a : x + q - a;
  }
  size_t a = s[t - d], x = s[(t - d + d - r) % d];
  return a >= x ? a - x : a + q - x;
}

/* The same canonical form for q <= 64 on bit masks (bit j = id j): an image is smaller in
 * the order of sorted id lists exactly when the lowest bit where the masks differ is its
 * own. The 2q images are q rotations of the set and of its reflection j -> -j. */
static void key_mask(const size_t *ids, size_t d, size_t q, size_t *key) {
  const uint64_t full = q == 64 ? ~0ULL : (1ULL << q) - 1;
  uint64_t a = 0, r = 0, best = 0;
  for (size_t i = 0; i < d; i++) {
    a |= 1ULL << ids[i];
    r |= 1ULL << ((q - ids[i]) % q);
  }
  for (int refl = 0; refl < 2; refl++) {
    uint64_t m = refl ? r : a;
    for (size_t t = 0; t < q; t++) {
      uint64_t img = t ? ((m >> t) | (m << (q - t))) & full : m; /* ids j - t */
      uint64_t x = img ^ best;
      if (!best || (img & x & (~x + 1))) best = img;
    }
  }
  for (size_t i = 0; best; i++, best &= best - 1) key[i] = (size_t)__builtin_ctzll(best);
}

int cod_rot_cond_key(const cod_code *c, const size_t *ids, size_t d, size_t *key,
                     cod_err *err) {
  int rc = check(c, d, err);
  if (rc) return rc;
  if (c->q <= 64) {
    key_mask(ids, d, c->q, key);
    return COD_OK;
  }
  memcpy(key, ids, d * sizeof *key);
  sort_ids(key, d);
  /* the smallest image contains 0, so it is one of the 2d images taking an id to 0 */
  size_t best = 0;
  for (size_t t = 1; t < 2 * d; t++)
    for (size_t r = 1; r < d; r++) {
      size_t a = image_at(key, d, c->q, t, r), b = image_at(key, d, c->q, best, r);
      if (a != b) {
        if (a < b) best = t;
        break;
      }
    }
  size_t tmp[64], *out = d <= 64 ? tmp : cod_malloc_array(d, sizeof *out);
  if (!out) return cod_err_set(err, COD_ENOMEM, "out of memory for an nsctc-rot set key");
  for (size_t r = 0; r < d; r++) out[r] = image_at(key, d, c->q, best, r);
  memcpy(key, out, d * sizeof *key);
  if (out != tmp) cod_free(out);
  return COD_OK;
}

int cod_rot_cond(const cod_code *c, const size_t *ids, size_t d, double *cond,
                 cod_err *err) {
  int rc = check(c, d, err);
  if (rc) return rc;
  if (d == 1) { /* one entry of modulus 1 */
    *cond = 1.0;
    return COD_OK;
  }
  const size_t n_tab = 4 * c->q + 1;
  const int use_tab = n_tab < d * d;
  size_t *key = cod_malloc_array(d, sizeof *key);
  double *m = cod_malloc_array(d * d + 2 * d + (use_tab ? n_tab : 0), sizeof *m);
  if (!m || !key) {
    cod_free(m);
    cod_free(key);
    return cod_err_set(err, COD_ENOMEM, "out of memory for an nsctc-rot condition number");
  }
  if ((rc = cod_rot_cond_key(c, ids, d, key, err))) {
    cod_free(m);
    cod_free(key);
    return rc;
  }
  double *tau = m + d * d, *tab = use_tab ? tau + 2 * d : NULL;
  for (size_t r = 0; use_tab && r < n_tab; r++)
    tab[r] = cos(M_PI * (double)r / (4.0 * (double)c->q));
  real_matrix(c->q, key, d, tab, m);
  cod_free(key);
  gsl_matrix_view A = gsl_matrix_view_array(m, d, d);
  gsl_vector_view tu = gsl_vector_view_array(tau, d), tv = gsl_vector_view_array(tau + d, d - 1);
  if (gsl_linalg_bidiag_decomp(&A.matrix, &tu.vector, &tv.vector) != GSL_SUCCESS) {
    cod_free(m);
    return cod_err_set(err, COD_ENUMERIC, "nsctc-rot condition number: bidiagonalisation failed");
  }
  *cond = bidiag_cond(m, d, tau); /* tau is free again: 2d - 1 squared off-diagonals */
  cod_free(m);
  return COD_OK;
}

int cod_rot_cond_dense(const cod_code *c, const size_t *ids, size_t d, double *cond,
                       cod_err *err) {
  int rc = check(c, d, err);
  if (rc) return rc;
  double *v = cod_malloc_array(2 * d * d, sizeof *v);
  if (!v) return cod_err_set(err, COD_ENOMEM, "out of memory for a Vandermonde matrix");
  for (size_t i = 0; i < d; i++) /* V[i][e] = w^{ids[i] e}, interleaved complex */
    for (size_t e = 0; e < d; e++) {
      double t = 2.0 * M_PI * (double)((ids[i] * e) % c->q) / (double)c->q;
      v[2 * (i * d + e)] = cos(t);
      v[2 * (i * d + e) + 1] = sin(t);
    }
  double k;
  rc = cod_la_cond_complex(v, d, &k);
  cod_free(v);
  if (rc) return cod_err_set(err, rc, "out of memory in the condition-number SVD");
  *cond = k;
  return COD_OK;
}
