/* tc_util.c: shared helpers of the coding/ tests (see tc_util.h). */
#include "tc_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <gsl/gsl_linalg.h>

void tc_lcg_seed(tc_lcg *r, uint64_t seed) { r->s = seed * 0x9E3779B97F4A7C15ull + 1; }

static uint64_t lcg_next(tc_lcg *r) {
  /* Knuth's MMIX constants; the top 53 bits are used, the weak low bits never. */
  r->s = r->s * 6364136223846793005ull + 1442695040888963407ull;
  return r->s;
}

double tc_lcg_uniform(tc_lcg *r) {
  return (double)(lcg_next(r) >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

size_t tc_lcg_below(tc_lcg *r, size_t n) { return (size_t)((lcg_next(r) >> 33) % n); }

void tc_fill(double *v, size_t len, uint64_t seed) {
  tc_lcg r;
  tc_lcg_seed(&r, seed);
  for (size_t i = 0; i < len; i++) v[i] = tc_lcg_uniform(&r);
}

void tc_fill_f32(float *v, size_t len, uint64_t seed) {
  tc_lcg r;
  tc_lcg_seed(&r, seed);
  for (size_t i = 0; i < len; i++) v[i] = (float)tc_lcg_uniform(&r);
}

void tc_shuffle(size_t *perm, size_t n, tc_lcg *r) {
  for (size_t i = n; i > 1; i--) {
    size_t j = tc_lcg_below(r, i), t = perm[i - 1];
    perm[i - 1] = perm[j];
    perm[j] = t;
  }
}

double tc_rel_err(const double *a, const double *b, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs(a[i] - b[i]);
    if (!(d <= num)) num = d; /* NaN propagates as the error */
    if (fabs(b[i]) > den) den = fabs(b[i]);
  }
  return den > 0 ? num / den : num;
}

double tc_nmse(const double *a, const double *b, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return num / den;
}

void tc_comb_init(size_t *set, size_t k) {
  for (size_t i = 0; i < k; i++) set[i] = i;
}

int tc_comb_next(size_t *set, size_t k, size_t n) {
  size_t i = k;
  while (i > 0 && set[i - 1] == n - k + i - 1) i--;
  if (i == 0) return 0;
  set[i - 1]++;
  for (size_t j = i; j < k; j++) set[j] = set[j - 1] + 1;
  return 1;
}

double tc_binomial(size_t n, size_t k) {
  double r = 1;
  for (size_t i = 1; i <= k; i++) r = r * (double)(n - k + i) / (double)i;
  return r;
}

double tc_cond_real(const double *m, size_t rows, size_t cols) {
  gsl_matrix *a = gsl_matrix_alloc(rows, cols);
  gsl_matrix *v = gsl_matrix_alloc(cols, cols);
  gsl_vector *s = gsl_vector_alloc(cols), *w = gsl_vector_alloc(cols);
  cr_assert(a && v && s && w);
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++) gsl_matrix_set(a, i, j, m[i * cols + j]);
  int rc = gsl_linalg_SV_decomp(a, v, s, w);
  cr_assert_eq(rc, 0, "GSL SVD failed");
  double mx = gsl_vector_max(s), mn = gsl_vector_min(s);
  gsl_matrix_free(a);
  gsl_matrix_free(v);
  gsl_vector_free(s);
  gsl_vector_free(w);
  return mn > 0 ? mx / mn : INFINITY;
}

double tc_cond_complex(const double *m, size_t n) {
  size_t n2 = 2 * n;
  double *r = malloc(n2 * n2 * sizeof *r);
  cr_assert(r);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) {
      double re = m[2 * (i * n + j)], im = m[2 * (i * n + j) + 1];
      r[i * n2 + j] = re;
      r[i * n2 + n + j] = -im;
      r[(n + i) * n2 + j] = im;
      r[(n + i) * n2 + n + j] = re;
    }
  double c = tc_cond_real(r, n2, n2);
  free(r);
  return c;
}

cod_conv_geom tc_geom(size_t c, size_t h, size_t w, size_t n, size_t kh, size_t kw,
                      size_t stride, size_t pad) {
  cod_conv_geom g = {c, h, w, n, kh, kw, stride, pad};
  return g;
}

cod_code_params tc_params(const char *scheme, size_t n, size_t ka, size_t kb) {
  cod_code_params p = cod_code_params_default();
  p.scheme = scheme;
  p.n_workers = n;
  p.ka = ka;
  p.kb = kb;
  return p;
}

void tc_run_init(tc_run *r, const cod_code_params *prm, const cod_conv_geom *g,
                 uint64_t seed, cod_dtype prec) {
  memset(r, 0, sizeof *r);
  cod_err err = {0};
  int rc = cod_code_new(prm, g, &r->code, &err);
  cr_assert_eq(rc, COD_OK, "cod_code_new(%s, n=%zu, %zux%zu): %s", prm->scheme,
               prm->n_workers, prm->ka, prm->kb, err.msg);
  const cod_code *c = r->code;
  r->g = *g;
  r->n = cod_code_workers(c);
  r->out_len = cod_conv_output_len(g);
  size_t xl = cod_conv_input_len(g), kl = cod_conv_filter_len(g);
  size_t wi = cod_code_worker_input_len(c), wf = cod_code_worker_filter_len(c);
  size_t wo = cod_code_worker_output_len(c);
  r->x = malloc(xl * sizeof(double));
  r->k = malloc(kl * sizeof(double));
  r->yref = malloc(r->out_len * sizeof(double));
  r->cx = malloc(r->n * wi * sizeof(double));
  r->ck = malloc(r->n * wf * sizeof(double));
  r->res = calloc(r->n, sizeof *r->res);
  cr_assert(r->x && r->k && r->yref && r->cx && r->ck && r->res);
  tc_fill(r->x, xl, seed);
  tc_fill(r->k, kl, seed ^ 0xABCDEFull);
  cod_conv2d_direct_f64(g, r->x, r->k, r->yref);
  cr_assert_eq(cod_code_encode_input(c, r->x, r->cx, &err), COD_OK, "%s", err.msg);
  cr_assert_eq(cod_code_encode_filters(c, r->k, r->ck, &err), COD_OK, "%s", err.msg);
  size_t wsb = cod_code_worker_workspace_bytes(c, prec);
  void *work = malloc(wsb ? wsb : 1);
  cr_assert(work);
  for (size_t j = 0; j < r->n; j++) {
    r->res[j] = malloc(wo * sizeof(double));
    cr_assert(r->res[j]);
    cod_code_worker_compute(c, prec, r->cx + j * wi, r->ck + j * wf, r->res[j], work);
  }
  free(work);
}

void tc_run_fini(tc_run *r) {
  for (size_t j = 0; r->res && j < r->n; j++) free(r->res[j]);
  free(r->res);
  free(r->x);
  free(r->k);
  free(r->yref);
  free(r->cx);
  free(r->ck);
  cod_code_free(r->code);
  memset(r, 0, sizeof *r);
}

int tc_run_decode(const tc_run *r, const size_t *avail, size_t n_avail,
                  cod_decode_method method, double *y, cod_decode_info *info, cod_err *err) {
  const double *res[COD_WORKERS_MAX];
  for (size_t i = 0; i < n_avail && i < COD_WORKERS_MAX; i++)
    res[i] = avail[i] < r->n ? r->res[avail[i]] : r->res[0];
  return cod_code_decode(r->code, avail, n_avail, res, method, y, info, err);
}

cod_cond_search_opts tc_search_opts(double max_exhaustive, size_t samples, unsigned long seed) {
  cod_cond_search_opts o = cod_cond_search_opts_default();
  o.budget_s = INFINITY;
  o.max_exhaustive = max_exhaustive;
  o.samples = samples ? samples : 1;
  o.seed = seed;
  return o;
}

int tc_cond_search(const cod_code *c, double max_exhaustive, size_t samples, unsigned long seed,
                   cod_cond_search_result *res, cod_err *err) {
  cod_cond_search_opts o = tc_search_opts(max_exhaustive, samples, seed);
  return cod_code_cond_search(c, &o, res, err);
}
