/* cod_linalg.c: the small dense linear algebra the decoders need, on GSL.
 *
 * Recovery matrices are small (at most a few hundred rows), so an SVD per worker set is
 * cheap next to the GEMM that applies the result to every output entry. We use GSL's
 * one-sided Jacobi SVD: it computes small singular values to high relative accuracy,
 * which matters when we report condition numbers of 1e13 for real-Vandermonde codes.
 */
#include <math.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>

#include "cod_alloc.h"
#include "cod_scheme.h"

/* Jacobi SVD of a copy of m: fills s (cols) and optionally u (rows x cols) and v. */
static int svd(const double *m, size_t rows, size_t cols, double *s, double *u, double *v) {
  double *a = cod_malloc_array(rows * cols, sizeof *a);
  double *vv = cod_malloc_array(cols * cols, sizeof *vv);
  if (!a || !vv) {
    cod_free(a);
    cod_free(vv);
    return COD_ENOMEM;
  }
  memcpy(a, m, rows * cols * sizeof *a);
  gsl_matrix_view A = gsl_matrix_view_array(a, rows, cols);
  gsl_matrix_view V = gsl_matrix_view_array(vv, cols, cols);
  gsl_vector_view S = gsl_vector_view_array(s, cols);
  int rc = gsl_linalg_SV_decomp_jacobi(&A.matrix, &V.matrix, &S.vector);
  if (rc == GSL_SUCCESS) {
    if (u) memcpy(u, a, rows * cols * sizeof *u);
    if (v) memcpy(v, vv, cols * cols * sizeof *v);
  }
  cod_free(a);
  cod_free(vv);
  return rc == GSL_SUCCESS ? COD_OK : COD_ENUMERIC;
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
  int rc = svd(m, rows, cols, s, NULL, NULL);
  if (rc == COD_OK) *cond = smax_over_smin(s, cols);
  else if (rc == COD_ENUMERIC) *cond = INFINITY, rc = COD_OK;
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
    gsl_matrix_view I = gsl_matrix_view_array(out, cols, cols);
    int sign;
    gsl_permutation_init(&p);
    if (gsl_linalg_LU_decomp(&A.matrix, &p, &sign) != GSL_SUCCESS ||
        gsl_linalg_LU_invert(&A.matrix, &p, &I.matrix) != GSL_SUCCESS)
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
  if (!(1.0 / c >= rtol))
    return cod_err_set(err, COD_ENUMERIC,
                       "recovery matrix is singular to working precision (cond %.3g, "
                       "rank_rtol %.3g)", c, rtol);
  int rc = left_inverse(m, rows, cols, pinv);
  if (rc == COD_ENOMEM) return cod_err_set(err, rc, "out of memory in the decoder");
  if (rc) return cod_err_set(err, rc, "recovery matrix could not be inverted (cond %.3g)", c);
  *cond = c;
  return COD_OK;
}

int cod_la_complex_inverse(const double *m, size_t n, double *inv, cod_err *err) {
  double *lu = cod_malloc_array(2 * n * n, sizeof *lu);
  size_t *perm = cod_malloc_array(n, sizeof *perm);
  int rc = COD_OK, sign;
  if (!lu || !perm) {
    rc = cod_err_set(err, COD_ENOMEM, "out of memory inverting a %zux%zu complex matrix", n, n);
    goto done;
  }
  memcpy(lu, m, 2 * n * n * sizeof *lu);
  gsl_matrix_complex_view A = gsl_matrix_complex_view_array(lu, n, n);
  gsl_matrix_complex_view Ai = gsl_matrix_complex_view_array(inv, n, n);
  gsl_permutation p = {n, perm};
  gsl_permutation_init(&p);
  if (gsl_linalg_complex_LU_decomp(&A.matrix, &p, &sign) != GSL_SUCCESS ||
      gsl_linalg_complex_LU_invert(&A.matrix, &p, &Ai.matrix) != GSL_SUCCESS) {
    rc = cod_err_set(err, COD_ENUMERIC, "complex Vandermonde system is singular");
    goto done;
  }
  for (size_t i = 0; i < 2 * n * n; i++)
    if (!isfinite(inv[i])) {
      rc = cod_err_set(err, COD_ENUMERIC, "complex Vandermonde system is singular");
      goto done;
    }
done:
  cod_free(lu);
  cod_free(perm);
  return rc;
}

int cod_la_cond_complex(const double *m, size_t n, double *cond) {
  size_t n2 = 2 * n;
  double *r = cod_malloc_array(n2 * n2, sizeof *r);
  if (!r) return COD_ENOMEM;
  /* [[Re, -Im], [Im, Re]] has the singular values of m, each twice. */
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) {
      double re = m[2 * (i * n + j)], im = m[2 * (i * n + j) + 1];
      r[i * n2 + j] = re;
      r[i * n2 + n + j] = -im;
      r[(n + i) * n2 + j] = im;
      r[(n + i) * n2 + n + j] = re;
    }
  int rc = cod_la_cond_real(r, n2, n2, cond);
  cod_free(r);
  return rc;
}
