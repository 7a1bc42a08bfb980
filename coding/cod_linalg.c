/* cod_linalg.c: the small dense linear algebra the decoders need, on GSL.
 *
 * Recovery matrices are small (at most a few hundred rows), so an SVD per worker set is
 * cheap next to the GEMM that applies the result to every output entry. Inverses come
 * from LU (square) or Householder QR (tall); condition numbers from the singular values.
 * GSL's own allocations (the symmetric eigen workspace) bypass cod_malloc; their failure
 * is still checked and reported. No GSL complex routine is used (see embed_complex).
 */
#include <math.h>
#include <string.h>

#include <gsl/gsl_eigen.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>

#include "cod_alloc.h"
#include "cod_scheme.h"

/* Singular values of m (rows x cols, rows >= cols) into s, by Golub-Reinsch
 * bidiagonalisation: O(rows*cols^2), several times faster than GSL's one-sided Jacobi, with
 * small singular values accurate to ~eps*sigma_max, i.e. condition numbers are resolved up
 * to ~1e15, beyond the 1e13 of the worst real-Vandermonde codes we report. */
static int singular_values(const double *m, size_t rows, size_t cols, double *s) {
  double *a = cod_malloc_array(rows * cols, sizeof *a);
  double *vv = cod_malloc_array(cols * cols, sizeof *vv);
  double *wk = cod_malloc_array(cols, sizeof *wk);
  int rc = COD_ENOMEM;
  if (a && vv && wk) {
    memcpy(a, m, rows * cols * sizeof *a);
    gsl_matrix_view A = gsl_matrix_view_array(a, rows, cols);
    gsl_matrix_view V = gsl_matrix_view_array(vv, cols, cols);
    gsl_vector_view S = gsl_vector_view_array(s, cols);
    gsl_vector_view W = gsl_vector_view_array(wk, cols);
    rc = gsl_linalg_SV_decomp(&A.matrix, &V.matrix, &S.vector, &W.vector) == GSL_SUCCESS
             ? COD_OK : COD_ENUMERIC;
  }
  cod_free(a);
  cod_free(vv);
  cod_free(wk);
  return rc;
}

static double smax_over_smin(const double *s, size_t n) {
  double mx = 0, mn = INFINITY;
  for (size_t i = 0; i < n; i++) {
    if (s[i] > mx) mx = s[i];
    if (s[i] < mn) mn = s[i];
  }
  return mn > 0 ? mx / mn : INFINITY;
}

int cod_la_cond_real(const double *m, size_t rows, size_t cols, double *cond) {
  double *s = cod_malloc_array(cols, sizeof *s);
  if (!s) return COD_ENOMEM;
  int rc = singular_values(m, rows, cols, s);
  if (rc == COD_OK) *cond = smax_over_smin(s, cols);
  else if (rc == COD_ENUMERIC) *cond = INFINITY, rc = COD_OK;
  /* No one-sided Jacobi "refinement" above 1e10 any more (it was here until session 4):
   * GSL's Jacobi stops unconverged on these matrices and still reports success. Checked
   * against a 60-digit SVD (mpmath) of the stored matrices: the n = 31 poly-real worst set
   * has cond 5.6168e13 (Golub-Reinsch 5.6158e13, Jacobi 2.8e11; the 3.2e13 once quoted as
   * the "accurate" value was Jacobi's maximum over other sets), a set at 1.0019e13 got 1.0e12
   * from Jacobi, and nsctc-rot's 256-of-1024 embedding (512 x 512) ~5e11 got 2.7. Golub-
   * Reinsch's sigma_min has an absolute error of ~n eps sigma_max, so up to ~1e13 the
   * condition numbers here keep at least two digits. */
  cod_free(s);
  return rc;
}

/* Left inverse of a full-column-rank m: the inverse by LU when square, else R^{-1} Q^T
 * from a Householder QR (the least-squares solution operator, exact for the consistent
 * systems a decoder sees). Both are backward stable; an SVD-built pseudo-inverse is not
 * as accurate here because Jacobi SVD orthogonalises only to a tolerance of ~rows*eps. */
static int left_inverse(const double *m, size_t rows, size_t cols, double *out) {
  double *a = cod_malloc_array(rows * cols, sizeof *a);
  size_t *perm = cod_malloc_array(cols, sizeof *perm);
  double *tau = cod_malloc_array(cols, sizeof *tau);
  double *col = cod_malloc_array(rows, sizeof *col);
  double *sol = cod_malloc_array(cols, sizeof *sol);
  double *res = cod_malloc_array(rows, sizeof *res);
  int rc = COD_ENOMEM;
  if (!a || !perm || !tau || !col || !sol || !res) goto done;
  memcpy(a, m, rows * cols * sizeof *a);
  gsl_matrix_view A = gsl_matrix_view_array(a, rows, cols);
  rc = COD_ENUMERIC;
  if (rows == cols) {
    gsl_permutation p = {cols, perm};
    gsl_matrix_view Inv = gsl_matrix_view_array(out, cols, cols);
    int sign;
    gsl_permutation_init(&p);
    if (gsl_linalg_LU_decomp(&A.matrix, &p, &sign) != GSL_SUCCESS ||
        gsl_linalg_LU_invert(&A.matrix, &p, &Inv.matrix) != GSL_SUCCESS)
      goto done;
  } else {
    gsl_vector_view T = gsl_vector_view_array(tau, cols);
    gsl_vector_view b = gsl_vector_view_array(col, rows);
    gsl_vector_view x = gsl_vector_view_array(sol, cols);
    if (gsl_linalg_QR_decomp(&A.matrix, &T.vector) != GSL_SUCCESS) goto done;
    /* column k of the left inverse solves min ||A x - e_k|| */
    for (size_t k = 0; k < rows; k++) {
      memset(col, 0, rows * sizeof *col);
      col[k] = 1.0;
      gsl_vector_view R = gsl_vector_view_array(res, rows);
      if (gsl_linalg_QR_lssolve(&A.matrix, &T.vector, &b.vector, &x.vector, &R.vector) !=
          GSL_SUCCESS)
        goto done;
      for (size_t i = 0; i < cols; i++) out[i * rows + k] = sol[i];
    }
  }
  rc = COD_OK;
  for (size_t i = 0; i < rows * cols; i++)
    if (!isfinite(out[i])) rc = COD_ENUMERIC;
done:
  cod_free(a);
  cod_free(perm);
  cod_free(tau);
  cod_free(col);
  cod_free(sol);
  cod_free(res);
  return rc;
}

int cod_la_pinv(const double *m, size_t rows, size_t cols, double rtol, double *pinv,
                double *cond, cod_err *err) {
  double c;
  if (cod_la_cond_real(m, rows, cols, &c) != COD_OK)
    return cod_err_set(err, COD_ENOMEM, "out of memory in the decoder's SVD");
  if (!(1.0 / c >= rtol)) {
    *cond = c; /* the caller reports it beside the refusal */
    return cod_err_set(err, COD_ENUMERIC,
                       "recovery matrix is singular to working precision (cond %.3g, "
                       "rank_rtol %.3g)", c, rtol);
  }
  int rc = left_inverse(m, rows, cols, pinv);
  if (rc == COD_ENOMEM) return cod_err_set(err, rc, "out of memory in the decoder");
  if (rc) return cod_err_set(err, rc, "recovery matrix could not be inverted (cond %.3g)", c);
  *cond = c;
  return COD_OK;
}

/* The real embedding [[Re, -Im], [Im, Re]] (2n x 2n) of a complex n x n matrix. It maps
 * products to products and inverses to inverses, and has the singular values of m, each
 * twice. We use it (and our own complex LU) instead of GSL's complex routines: with this OpenBLAS
 * (0.3.21, Cooperlake kernels) the zdotc/zdotu that gsl_eigen_herm and the complex LU
 * call read 16 bytes past the end of their vectors (valgrind: "Invalid read of size 16"),
 * which crashed model-only sweeps whenever a matrix ended at a page boundary. */
void cod_la_complex_embed(const double *m, size_t g, size_t n, double *r) {
  size_t n2 = 2 * n;
  for (size_t i = 0; i < g; i++)
    for (size_t j = 0; j < n; j++) {
      double re = m[2 * (i * n + j)], im = m[2 * (i * n + j) + 1];
      r[i * n2 + j] = re;
      r[i * n2 + n + j] = -im;
      r[(g + i) * n2 + j] = im;
      r[(g + i) * n2 + n + j] = re;
    }
}

static void embed_complex(const double *m, size_t n, double *r) {
  cod_la_complex_embed(m, n, n, r);
}

/* In place P a = L U of a complex n x n matrix (interleaved re, im; row-major; L unit lower
 * below the diagonal, U on and above it), partial pivoting by the modulus. Pivoting on the
 * real embedding instead lost a factor ~50 in decoding accuracy at n = 24, 4 x 5: pivots
 * must be chosen by complex modulus. by_square compares squared moduli instead of hypot's:
 * the same order in exact arithmetic and no hypot per entry, but the rounded values tie
 * differently on the unit-circle Vandermondes (every entry of modulus 1), so the pivots,
 * hence the last bits, differ; the full inverse keeps hypot so that nsctc-rot's stored
 * errors stay bit-identical with earlier versions. perm[r] = the row of the original
 * matrix now in row r. COD_ENUMERIC if a pivot is zero or not finite. complex_lu_rows does
 * the same on a tall rows x n matrix (rows >= n): the pivots are searched over all rows and
 * every row below is eliminated, so the first n rows of P a, the n rows partial pivoting
 * chose, are L U (the rows below are left partly eliminated and are not used). With prefer
 * (flags by original row), a preferred row is taken instead of the largest whenever its
 * modulus is at least LU_PREFER of the largest: threshold pivoting as sparse LU codes do
 * (multipliers stay below 1/LU_PREFER = 10), used to pick rows a decoder already reads. */
#define LU_PREFER_SQ 0.01 /* LU_PREFER = 0.1, compared on squared moduli */
static double complex_mod(double re, double im, int by_square) {
  return by_square ? re * re + im * im : hypot(re, im);
}

static int complex_lu_rows(double *a, size_t rows, size_t n, size_t *perm, int by_square,
                           const unsigned char *prefer, cod_err *err) {
#define RE(i, j) a[2 * ((i) * n + (j))]
#define IM(i, j) a[2 * ((i) * n + (j)) + 1]
  for (size_t i = 0; i < rows; i++) perm[i] = i;
  for (size_t k = 0; k < n; k++) {
    size_t piv = k;
    double best = complex_mod(RE(k, k), IM(k, k), by_square);
    for (size_t i = k + 1; i < rows; i++) {
      double mod = complex_mod(RE(i, k), IM(i, k), by_square);
      if (mod > best) best = mod, piv = i;
    }
    if (!(best > 0) || !isfinite(best))
      return cod_err_set(err, COD_ENUMERIC, "complex Vandermonde system is singular");
    if (prefer && !prefer[perm[piv]]) { /* threshold pivoting: a preferred row within the bound */
      double pbest = 0.0;
      size_t pp = rows;
      for (size_t i = k; i < rows; i++) {
        double mod = complex_mod(RE(i, k), IM(i, k), by_square);
        if (prefer[perm[i]] && mod >= LU_PREFER_SQ * best && mod > pbest) pbest = mod, pp = i;
      }
      if (pp < rows) piv = pp;
    }
    if (piv != k) {
      for (size_t j = 0; j < 2 * n; j++) {
        double t = a[2 * k * n + j];
        a[2 * k * n + j] = a[2 * piv * n + j], a[2 * piv * n + j] = t;
      }
      size_t t = perm[k];
      perm[k] = perm[piv], perm[piv] = t;
    }
    double pr = RE(k, k), pi = IM(k, k), d = pr * pr + pi * pi;
    for (size_t i = k + 1; i < rows; i++) {
      double fr = (RE(i, k) * pr + IM(i, k) * pi) / d, fi = (IM(i, k) * pr - RE(i, k) * pi) / d;
      RE(i, k) = fr, IM(i, k) = fi;
      for (size_t j = k + 1; j < n; j++) {
        RE(i, j) -= fr * RE(k, j) - fi * IM(k, j);
        IM(i, j) -= fr * IM(k, j) + fi * RE(k, j);
      }
    }
  }
  return COD_OK;
}

static int complex_lu(double *a, size_t n, size_t *perm, int by_square, cod_err *err) {
  return complex_lu_rows(a, n, n, perm, by_square, NULL, err);
}

/* Complex LU (complex_lu), then one solve per column of the
 * identity, written out in real arithmetic (C99 complex products go through __muldc3,
 * twice as slow here): O(n^3) for the delta x delta matrices of the decoders, no BLAS
 * call. Matrices are interleaved (re, im), row-major. */
int cod_la_complex_inverse(const double *m, size_t n, double *inv, cod_err *err) {
  double *a = cod_malloc_array(2 * n * n, sizeof *a);
  double *x = cod_malloc_array(2 * n, sizeof *x);
  size_t *perm = cod_malloc_array(n, sizeof *perm);
  int rc = COD_OK;
  if (!a || !x || !perm) {
    rc = cod_err_set(err, COD_ENOMEM, "out of memory inverting a %zux%zu complex matrix", n, n);
    goto done;
  }
  memcpy(a, m, 2 * n * n * sizeof *a);
  if ((rc = complex_lu(a, n, perm, 0, err))) goto done;
  for (size_t col = 0; col < n; col++) { /* solve L U x = P e_col */
    for (size_t i = 0; i < n; i++) {
      double sr = perm[i] == col ? 1.0 : 0.0, si = 0.0;
      for (size_t j = 0; j < i; j++) {
        sr -= RE(i, j) * x[2 * j] - IM(i, j) * x[2 * j + 1];
        si -= RE(i, j) * x[2 * j + 1] + IM(i, j) * x[2 * j];
      }
      x[2 * i] = sr, x[2 * i + 1] = si;
    }
    for (size_t i = n; i-- > 0;) {
      double sr = x[2 * i], si = x[2 * i + 1];
      for (size_t j = i + 1; j < n; j++) {
        sr -= RE(i, j) * x[2 * j] - IM(i, j) * x[2 * j + 1];
        si -= RE(i, j) * x[2 * j + 1] + IM(i, j) * x[2 * j];
      }
      double pr = RE(i, i), pi = IM(i, i), d = pr * pr + pi * pi;
      x[2 * i] = (sr * pr + si * pi) / d, x[2 * i + 1] = (si * pr - sr * pi) / d;
    }
    for (size_t i = 0; i < n; i++) {
      if (!isfinite(x[2 * i]) || !isfinite(x[2 * i + 1])) {
        rc = cod_err_set(err, COD_ENUMERIC, "complex Vandermonde system is singular");
        goto done;
      }
      inv[2 * (i * n + col)] = x[2 * i];
      inv[2 * (i * n + col) + 1] = x[2 * i + 1];
    }
  }
done:
  cod_free(a);
  cod_free(x);
  cod_free(perm);
  return rc;
}

size_t cod_la_complex_inverse_rows_work_doubles(size_t n) {
  return 2 * n * n + 4 * n + (n * sizeof(size_t) + sizeof(double) - 1) / sizeof(double);
}

/* The first g rows of m^-1 without forming the other rows: P m = L U once (pivots by the
 * squared modulus: the same order as the modulus, without a hypot per entry), then for
 * each wanted row i the row vector r = e_i^T U^-1 L^-1 P by a forward substitution
 * against U (r is zero before column i) and a backward one against the unit L. That is
 * n^3/3 + g n^2 complex multiply-adds instead of the full inverse's n^3; nsctc-cir needs
 * only the rows of the groups that reach the output (9 of 16 on AlexNet conv3). */
/* Rows 0..g-1 of (L U)^-1 from the factors in a (n columns), column r written to perm[r]
 * (perm NULL: to r). */
static int lu_inverse_rows(const double *a, size_t n, size_t g, const size_t *perm, double *inv,
                           double *u, double *v, cod_err *err) {
  for (size_t i = 0; i < g; i++) {
    /* u U = e_i^T: u_j = (delta_ij - sum_{l<j} u_l U_lj) / U_jj, zero for j < i */
    for (size_t j = 0; j < n; j++) {
      double sr = j == i ? 1.0 : 0.0, si = 0.0;
      for (size_t l = i; l < j; l++) {
        sr -= u[2 * l] * RE(l, j) - u[2 * l + 1] * IM(l, j);
        si -= u[2 * l] * IM(l, j) + u[2 * l + 1] * RE(l, j);
      }
      double dr = RE(j, j), di = IM(j, j), d = dr * dr + di * di;
      u[2 * j] = j < i ? 0.0 : (sr * dr + si * di) / d;
      u[2 * j + 1] = j < i ? 0.0 : (si * dr - sr * di) / d;
    }
    /* v L = u (L unit lower): v_j = u_j - sum_{l>j} v_l L_lj, from the last j down */
    for (size_t j = n; j-- > 0;) {
      double sr = u[2 * j], si = u[2 * j + 1];
      for (size_t l = j + 1; l < n; l++) {
        sr -= v[2 * l] * RE(l, j) - v[2 * l + 1] * IM(l, j);
        si -= v[2 * l] * IM(l, j) + v[2 * l + 1] * RE(l, j);
      }
      v[2 * j] = sr, v[2 * j + 1] = si;
    }
    /* row i of the inverse = v P: entry perm[r] is v_r */
    for (size_t r = 0; r < n; r++) {
      if (!isfinite(v[2 * r]) || !isfinite(v[2 * r + 1]))
        return cod_err_set(err, COD_ENUMERIC, "complex Vandermonde system is singular");
      size_t col = perm ? perm[r] : r;
      inv[2 * (i * n + col)] = v[2 * r];
      inv[2 * (i * n + col) + 1] = v[2 * r + 1];
    }
  }
  return COD_OK;
}

/* The first g rows of m^-1 without forming the other rows: P m = L U once (pivots by the
 * squared modulus: the same order as the modulus, without a hypot per entry), then for
 * each wanted row i the row vector r = e_i^T U^-1 L^-1 P by a forward substitution
 * against U (r is zero before column i) and a backward one against the unit L. That is
 * n^3/3 + g n^2 complex multiply-adds instead of the full inverse's n^3. */
int cod_la_complex_inverse_rows(const double *m, size_t n, size_t g, double *inv, double *work,
                                cod_err *err) {
  double *a = work, *u = a + 2 * n * n, *v = u + 2 * n;
  size_t *perm = (size_t *)(void *)(v + 2 * n); /* n slots of a double's size */
  memcpy(a, m, 2 * n * n * sizeof *a);
  int rc = complex_lu(a, n, perm, 1, err);
  if (rc) return rc;
  return lu_inverse_rows(a, n, g, perm, inv, u, v, err);
}

size_t cod_la_complex_select_inverse_rows_work_doubles(size_t rows, size_t n) {
  return 2 * rows * n + 4 * n + (rows * sizeof(size_t) + sizeof(double) - 1) / sizeof(double);
}

/* Partial pivoting on the tall matrix chooses the rows (complex_lu_rows), and the factors
 * of the chosen square matrix are its first n rows: the inverse rows follow as above,
 * their columns in pivot order. */
int cod_la_complex_select_inverse_rows(const double *m, size_t rows, size_t n, size_t g,
                                       const unsigned char *prefer, size_t *sel, double *inv,
                                       double *work, cod_err *err) {
  if (rows < n)
    return cod_err_set(err, COD_EINVAL, "cannot choose %zu rows of %zu", n, rows);
  double *a = work, *u = a + 2 * rows * n, *v = u + 2 * n;
  size_t *perm = (size_t *)(void *)(v + 2 * n); /* rows slots of a double's size */
  memcpy(a, m, 2 * rows * n * sizeof *a);
  int rc = complex_lu_rows(a, rows, n, perm, 1, prefer, err);
  if (rc) return rc;
  memcpy(sel, perm, n * sizeof *sel);
  return lu_inverse_rows(a, n, g, NULL, inv, u, v, err);
}

#undef RE
#undef IM

int cod_la_cond_complex(const double *m, size_t n, double *cond) {
  /* Fast path: eigenvalues of the Hermitian m^H m are the squared singular values (its
   * real symmetric embedding has each twice). Their absolute error is ~eps*sigma_max^2,
   * so the estimate is trusted only while cond^2 stays far below 1/eps; larger values are
   * recomputed by SVD below. */
  size_t n2 = 2 * n;
  double *h = cod_malloc_array(2 * n * n, sizeof *h);
  double *hr = cod_malloc_array(n2 * n2, sizeof *hr);
  double *ev = cod_malloc_array(n2, sizeof *ev);
  gsl_eigen_symm_workspace *w = gsl_eigen_symm_alloc(n2);
  int rc = COD_ENOMEM;
  if (h && hr && ev && w) {
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < n; j++) {
        double re = 0, im = 0; /* (m^H m)[i][j] = sum_k conj(m[k][i]) m[k][j] */
        for (size_t k = 0; k < n; k++) {
          double ar = m[2 * (k * n + i)], ai = -m[2 * (k * n + i) + 1];
          double br = m[2 * (k * n + j)], bi = m[2 * (k * n + j) + 1];
          re += ar * br - ai * bi;
          im += ar * bi + ai * br;
        }
        h[2 * (i * n + j)] = re, h[2 * (i * n + j) + 1] = im;
      }
    embed_complex(h, n, hr);
    gsl_matrix_view H = gsl_matrix_view_array(hr, n2, n2);
    gsl_vector_view E = gsl_vector_view_array(ev, n2);
    rc = COD_ENUMERIC;
    if (gsl_eigen_symm(&H.matrix, &E.vector, w) == GSL_SUCCESS) {
      double mx = 0, mn = INFINITY;
      for (size_t i = 0; i < n2; i++) mx = fmax(mx, ev[i]), mn = fmin(mn, ev[i]);
      if (mn > 0 && mx / mn < 1e12) {
        *cond = sqrt(mx / mn);
        rc = COD_OK;
      }
    }
  }
  cod_free(h);
  cod_free(ev);
  if (w) gsl_eigen_symm_free(w);
  if (rc != COD_ENUMERIC) {
    cod_free(hr);
    return rc;
  }
  embed_complex(m, n, hr); /* same size as the embedding of h */
  rc = cod_la_cond_real(hr, n2, n2, cond);
  cod_free(hr);
  return rc;
}

double cod_la_max_abs_row_sum(const double *m, size_t rows, size_t cols) {
  double g = 0;
  for (size_t r = 0; r < rows; r++) {
    double s = 0;
    for (size_t i = 0; i < cols; i++) s += fabs(m[r * cols + i]);
    g = fmax(g, s);
  }
  return g;
}
