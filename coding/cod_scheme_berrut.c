/* cod_scheme_berrut.c: the Berrut approximate code (berrut).
 *
 * Jahani-Nezhad and Maddah-Ali, "Berrut Approximated Coded Computing: Straggler
 * Resistance Beyond Polynomial Computing", arXiv 2009.08327, in its single-input form
 * (NSCTC-MATH.md section 9): the k = k_A input slabs X_i are attached to the data points
 * alpha_i = cos((2i+1) pi / (2k)), worker j evaluates Berrut's rational interpolant
 *   u(z) = sum_i w_i(z) X_i,  w_i(z) = ((-1)^i / (z - alpha_i)) / sum_m ((-1)^m / (z - alpha_m))
 * at z_j = cos(j pi / (n-1)) and convolves u(z_j) with ALL filters (k_B = 1). The master
 * decodes from ANY non-empty set F of results by interpolating again, through the points
 * z_j, j in F, ranked r_j in the order of the points:
 *   r(z) = sum_{j in F} v_j(z) Y_j,  v_j(z) = ((-1)^{r_j} / (z - z_j)) / sum_{m in F} (...),
 * and takes r(alpha_i) as the estimate of conv(X_i, K). Both maps are linear, so the code is
 * a linear code like every other (decision 001): encoding is the shared GEMM with
 * A[j][i] = w_i(z_j); only the decoder is special.
 *
 * What is exact and what is not. Berrut's interpolant has no poles on the real line and
 * interpolates: w_i(alpha_m) = [i = m] (the limit of the formula at a node). So a worker
 * point that coincides with a data point carries that slab exactly, and a decode
 * evaluated at a returned worker point returns that worker's result. In general neither
 * happens (the points are different Chebyshev families): even with all n results the
 * estimate is r(alpha_i) = sum_j v_j(alpha_i) sum_m w_m(z_j) conv(X_m, K), which is not
 * conv(X_i, K). Its error is that of rational interpolation of the smooth map z -> conv(
 * u(z), K), and it shrinks as |F| grows (the paper's bound is O(1/|F|) for this
 * interpolant on well-spread points). The code is therefore APPROXIMATE (trait): the
 * decoder never refuses a non-empty set, and the runner chooses how many results to wait
 * for (docs/ARCHITECTURE.md, [coding] approx_wait / approx_deadline_s).
 *
 * Coincidences are decided in integers, not by comparing cosines: alpha_i = z_j exactly
 * when (2i+1)(n-1) = 2kj. The "condition number" reported for a set is the decoder's
 * amplification max_i sum_j |v_j(alpha_i)| (the infinity norm of the decoding matrix,
 * the factor by which worker errors can grow), since a tall or wide Berrut system has no
 * inverse to take a 2-norm condition number of.
 *
 * Costs: encoding as every code; decoding one k x |F| weight matrix (O(k |F|)) and one
 * GEMM of k x |F| by |F| x out_block_len.
 */
#include <math.h>
#include <string.h>

#include <gsl/gsl_cblas.h>

#include "cod_alloc.h"
#include "cod_scheme.h"

#define BERRUT_POINTS_MAX 256 /* the point arrays below: k_A and the results of one decode */

static double data_point(size_t i, size_t k) {
  return cos((2.0 * (double)i + 1.0) * M_PI / (2.0 * (double)k));
}

static double worker_point(size_t j, size_t n) { return cos((double)j * M_PI / (double)(n - 1)); }

static int berrut_plan(cod_code *c, cod_err *err) {
  if (c->kb != 1)
    return cod_err_set(err, COD_EINVAL,
                       "berrut codes the input only: k_B must be 1 (every worker holds all "
                       "filters); got k_B = %zu", c->kb);
  if (c->n < 2)
    return cod_err_set(err, COD_EINVAL, "berrut needs at least 2 workers (got %zu)", c->n);
  if (c->ka > BERRUT_POINTS_MAX)
    return cod_err_set(err, COD_EINVAL, "berrut: k_A = %zu exceeds the %d data points its "
                       "decoder holds", c->ka, BERRUT_POINTS_MAX);
  c->m_in = c->ka;
  c->m_filt = 1;
  c->ea = c->eb = 1;
  c->delta = 1; /* any single result decodes (approximately) */
  return COD_OK;
}

/* Berrut weights of the points p[0..m) (ranked by their index in p) evaluated at z into
 * w. `hit` is the index of a point equal to z (decided by the caller), or m if none. */
static void berrut_weights(const double *p, size_t m, double z, size_t hit, double *w) {
  if (hit < m) {
    for (size_t i = 0; i < m; i++) w[i] = i == hit;
    return;
  }
  double sum = 0;
  for (size_t i = 0; i < m; i++) {
    w[i] = ((i & 1u) ? -1.0 : 1.0) / (z - p[i]);
    sum += w[i];
  }
  for (size_t i = 0; i < m; i++) w[i] /= sum;
}

static void berrut_fill(cod_code *c) {
  size_t k = c->m_in, n = c->n;
  double alpha[BERRUT_POINTS_MAX], w[BERRUT_POINTS_MAX];
  for (size_t i = 0; i < k; i++) alpha[i] = data_point(i, k);
  for (size_t j = 0; j < n; j++) {
    size_t hit = k;
    for (size_t i = 0; i < k; i++)
      if ((2 * i + 1) * (n - 1) == 2 * k * j) hit = i;
    berrut_weights(alpha, k, worker_point(j, n), hit, w);
    memcpy(c->A + j * k, w, k * sizeof *w);
  }
  c->B[0] = 1.0; /* B is n x 1: every worker holds the one (whole) filter group */
  for (size_t j = 1; j < n; j++) c->B[j] = 1.0;
}

/* Every result given is used. */
static int berrut_select(const cod_code *c, const size_t *avail, size_t n_avail, size_t *sel,
                         size_t *n_sel) {
  (void)c, (void)avail;
  if (n_avail < 1) return COD_EUNDECODABLE;
  for (size_t i = 0; i < n_avail; i++) sel[i] = i;
  *n_sel = n_avail;
  return COD_OK;
}

/* The k x d decoding matrix D (row-major): estimate_i = sum_s D[i][s] result_s, for the
 * results of workers ids[0..d) in the given order. */
static void berrut_decoder(const cod_code *c, const size_t *ids, size_t d, double *D) {
  size_t k = c->m_in, n = c->n, order[BERRUT_POINTS_MAX];
  double z[BERRUT_POINTS_MAX], v[BERRUT_POINTS_MAX];
  /* rank the returned points along the axis: z_j decreases with j, so sort the ids */
  for (size_t s = 0; s < d; s++) order[s] = s;
  for (size_t a = 1; a < d; a++)
    for (size_t b = a; b > 0 && ids[order[b - 1]] > ids[order[b]]; b--) {
      size_t t = order[b];
      order[b] = order[b - 1], order[b - 1] = t;
    }
  for (size_t r = 0; r < d; r++) z[r] = worker_point(ids[order[r]], n);
  for (size_t i = 0; i < k; i++) {
    size_t hit = d;
    for (size_t r = 0; r < d; r++)
      if ((2 * i + 1) * (n - 1) == 2 * k * ids[order[r]]) hit = r;
    berrut_weights(z, d, data_point(i, k), hit, v);
    for (size_t r = 0; r < d; r++) D[i * d + order[r]] = v[r];
  }
}

static int berrut_decode(const cod_code *c, const size_t *ids, size_t d,
                         const double *const *results, double *y, double *cond, void *work,
                         cod_err *err) {
  (void)work;
  size_t k = c->m_in, L = c->part.out_block_len;
  double *D = cod_malloc_array(k * d, sizeof *D), *z = cod_malloc_array(d * L, sizeof *z);
  double *u = cod_malloc_array(k * L, sizeof *u);
  int rc = COD_OK;
  if (!D || !z || !u) {
    rc = cod_err_set(err, COD_ENOMEM, "out of memory in the berrut decoder");
    goto done;
  }
  berrut_decoder(c, ids, d, D);
  for (size_t s = 0; s < d; s++) memcpy(z + s * L, results[s], L * sizeof *z);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)k, (int)L, (int)d, 1.0, D,
              (int)d, z, (int)L, 0.0, u, (int)L);
  cod_partition_stitch(&c->part, u, y);
  if (cond) *cond = cod_la_max_abs_row_sum(D, k, d);
done:
  cod_free(D), cod_free(z), cod_free(u);
  return rc;
}

static int berrut_cond(const cod_code *c, const size_t *ids, size_t d, double *cond,
                       cod_err *err) {
  double *D = cod_malloc_array(c->m_in * d, sizeof *D);
  if (!D) return cod_err_set(err, COD_ENOMEM, "out of memory for a berrut decoder matrix");
  berrut_decoder(c, ids, d, D);
  *cond = cod_la_max_abs_row_sum(D, c->m_in, d);
  cod_free(D);
  return COD_OK;
}

/* k x |F| times |F| x out_block_len; counted for the largest set, all n results. */
static double berrut_decode_flops(const cod_code *c) {
  return 2.0 * (double)c->m_in * (double)c->n * (double)c->part.out_block_len;
}

const cod_scheme_ops cod_scheme_berrut = {"berrut", berrut_plan, berrut_fill, berrut_select,
                                          berrut_decode, berrut_cond, berrut_decode_flops,
                                          NULL, 1};

const cod_scheme_def cod_def_berrut = {
    {"berrut", "Berrut approximate code: the input coded, APPROXIMATE from any non-empty set",
     "k_B = 1, n >= 2, k_A <= 256; the runner's [coding] approx_wait / approx_deadline_s "
     "decide how many results to wait for; n < 256 (the decoder's point arrays)",
     "Jahani-Nezhad & Maddah-Ali, arXiv 2009.08327", 1, 1, COD_PAIR_FREE, 0,
     BERRUT_POINTS_MAX - 1, {{NULL, NULL}}, 1},
    &cod_scheme_berrut};
