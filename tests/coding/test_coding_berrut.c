/* test_coding_berrut.c: the Berrut approximate code (cod_scheme_berrut.c).
 *
 * What is asserted follows from the mathematics, not from the implementation:
 *   - Berrut's weights are a partition of unity, so equal slabs are reproduced EXACTLY
 *     from any non-empty set (a constant is interpolated exactly);
 *   - the interpolant takes the node values at the nodes, so when every data point is a
 *     worker point (k = 2, n = 5: alpha_0 = z_1, alpha_1 = z_3) a set holding those two
 *     workers decodes exactly, and a single worker's decode is that worker's result;
 *   - otherwise the decode is NOT exact, even from all n results (different point
 *     families), and its error falls as more results are used: checked statistically
 *     (means over seeded random sets) on a smooth function fed to the decoder and on a
 *     real coded convolution layer;
 *   - the amplification max_i sum_j |v_j(alpha_i)| is >= 1 (the weights sum to 1), = 1
 *     for one result; the error paths (k_B != 1, n < 2, no result) refuse.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cod_code.h"
#include "tc_util.h"

/* Mean max-norm relative error of decodes from `trials` random sets of s workers. */
static double mean_err_conv(const tc_run *r, size_t s, size_t trials, uint64_t seed) {
  tc_lcg g;
  tc_lcg_seed(&g, seed);
  size_t perm[256];
  double *y = malloc(r->out_len * sizeof *y), sum = 0;
  for (size_t t = 0; t < trials; t++) {
    for (size_t i = 0; i < r->n; i++) perm[i] = i;
    tc_shuffle(perm, r->n, &g);
    cr_assert_eq(tc_run_decode(r, perm, s, COD_DECODE_FAST, y, NULL, NULL), COD_OK);
    sum += tc_rel_err(y, r->yref, r->out_len);
  }
  free(y);
  return sum / (double)trials;
}

Test(berrut, error_falls_with_results_on_a_conv_layer) {
  cod_conv_geom g = tc_geom(8, 24, 11, 6, 3, 3, 1, 1);
  cod_code_params p = tc_params("berrut", 20, 4, 1);
  tc_run r;
  tc_run_init(&r, &p, &g, 11, COD_F64);
  const size_t sizes[5] = {2, 4, 8, 14, 20};
  double e[5];
  for (int i = 0; i < 5; i++) e[i] = mean_err_conv(&r, sizes[i], sizes[i] == 20 ? 1 : 40, 3);
  for (int i = 1; i < 5; i++)
    cr_expect_lt(e[i], e[i - 1], "mean error with %zu results (%.3g) is not below %zu (%.3g)",
                 sizes[i], e[i], sizes[i - 1], e[i - 1]);
  cr_expect_lt(e[4], e[0] / 10, "20 results (%.3g) vs 2 (%.3g)", e[4], e[0]);
  cr_expect_gt(e[4], 1e-8, "berrut is approximate: all 20 results gave %.3g", e[4]);
  tc_run_fini(&r);
}

/* The decoder on a smooth function of the worker point: results[j] = f(z_j) (1x1 identity
 * layer with one output per slab), estimate_i must approach f(alpha_i). */
static double smooth_f(double z) { return sin(3 * z) + exp(z) / (2 + z); }

Test(berrut, error_falls_with_results_on_a_smooth_function) {
  const size_t k = 5, n = 40;
  cod_conv_geom g = tc_geom(1, k, 1, 1, 1, 1, 1, 0);
  cod_code_params p = tc_params("berrut", n, k, 1);
  cod_code *c = NULL;
  cr_assert_eq(cod_code_new(&p, &g, &c, NULL), COD_OK);
  cr_assert_eq(cod_code_worker_output_len(c), 1);
  double fz[64], want[8], y[8];
  const double *res[64];
  for (size_t j = 0; j < n; j++) fz[j] = smooth_f(cos((double)j * M_PI / (double)(n - 1)));
  for (size_t i = 0; i < k; i++)
    want[i] = smooth_f(cos((2.0 * (double)i + 1.0) * M_PI / (2.0 * (double)k)));
  const size_t sizes[4] = {3, 8, 20, 40};
  double prev = INFINITY;
  tc_lcg rng;
  tc_lcg_seed(&rng, 5);
  for (int si = 0; si < 4; si++) {
    double sum = 0;
    size_t trials = sizes[si] == n ? 1 : 60;
    for (size_t t = 0; t < trials; t++) {
      size_t perm[64];
      for (size_t j = 0; j < n; j++) perm[j] = j;
      tc_shuffle(perm, n, &rng);
      for (size_t s = 0; s < sizes[si]; s++) res[s] = &fz[perm[s]];
      cr_assert_eq(cod_code_decode(c, perm, sizes[si], res, COD_DECODE_FAST, y, NULL, NULL),
                   COD_OK);
      double e = 0;
      for (size_t i = 0; i < k; i++) e = fmax(e, fabs(y[i] - want[i]));
      sum += e;
    }
    double mean = sum / (double)trials;
    cr_expect_lt(mean, prev, "%zu results: mean error %.3g, not below %.3g", sizes[si], mean,
                 prev);
    prev = mean;
  }
  cr_expect_lt(prev, 0.05, "all 40 points: error %.3g", prev);
  cod_code_free(c);
}

/* Equal slabs: u(z) = X for every z (partition of unity), every decode is exact. */
Test(berrut, equal_slabs_decode_exactly_from_any_set) {
  cod_conv_geom g = tc_geom(3, 8, 9, 4, 3, 3, 1, 0); /* H' = 6: two rows per slab, k = 3 */
  cod_code_params p = tc_params("berrut", 9, 3, 1);
  cod_code *c = NULL;
  cr_assert_eq(cod_code_new(&p, &g, &c, NULL), COD_OK);
  /* an input whose three APCP slabs are equal: rows repeat with period 2 (stride 1, the
   * slab a covers rows 2a .. 2a+3) */
  double x[3 * 8 * 9], k[4 * 3 * 9], yref[4 * 6 * 7], y[4 * 6 * 7];
  double base[3 * 2 * 9];
  tc_fill(base, sizeof base / sizeof *base, 21);
  tc_fill(k, sizeof k / sizeof *k, 22);
  for (size_t ch = 0; ch < 3; ch++)
    for (size_t h = 0; h < 8; h++)
      for (size_t w = 0; w < 9; w++) x[(ch * 8 + h) * 9 + w] = base[(ch * 2 + h % 2) * 9 + w];
  cod_conv2d_direct_f64(&g, x, k, yref);
  size_t il = cod_code_worker_input_len(c), fl = cod_code_worker_filter_len(c),
         ol = cod_code_worker_output_len(c);
  double *cx = malloc(9 * il * 8), *ck = malloc(9 * fl * 8), *out = malloc(9 * ol * 8);
  void *w = malloc(cod_code_worker_workspace_bytes(c, COD_F64) + 1);
  cr_assert_eq(cod_code_encode_input(c, x, cx, NULL), COD_OK);
  cr_assert_eq(cod_code_encode_filters(c, k, ck, NULL), COD_OK);
  const double *res[9];
  for (size_t j = 0; j < 9; j++) {
    cod_code_worker_compute(c, COD_F64, cx + j * il, ck + j * fl, out + j * ol, w);
    res[j] = out + j * ol;
  }
  size_t sets[3][4] = {{4, 0, 0, 0}, {8, 2, 0, 0}, {7, 1, 3, 5}}, lens[3] = {1, 2, 4};
  for (int s = 0; s < 3; s++) {
    const double *rs[4];
    for (size_t i = 0; i < lens[s]; i++) rs[i] = res[sets[s][i]];
    cr_assert_eq(cod_code_decode(c, sets[s], lens[s], rs, COD_DECODE_FAST, y, NULL, NULL), COD_OK);
    double e = tc_rel_err(y, yref, sizeof y / sizeof *y);
    cr_expect_leq(e, 64 * 2.2e-16 * 27, "set %d: equal slabs not exact (%.3g)", s, e);
  }
  free(cx), free(ck), free(out), free(w);
  cod_code_free(c);
}

/* k = 2, n = 5: alpha_0 = cos(pi/4) = z_1 and alpha_1 = cos(3 pi/4) = z_3. Worker 1 holds
 * slab 0, worker 3 slab 1; any set with both decodes exactly, any other set does not. */
Test(berrut, data_points_on_worker_points_decode_exactly) {
  cod_conv_geom g = tc_geom(4, 10, 8, 5, 3, 3, 1, 1);
  cod_code_params p = tc_params("berrut", 5, 2, 1);
  tc_run r;
  tc_run_init(&r, &p, &g, 13, COD_F64);
  double *y = malloc(r.out_len * sizeof *y);
  size_t with[4] = {0, 3, 1, 4}, without[3] = {0, 2, 4};
  cr_assert_eq(tc_run_decode(&r, with, 4, COD_DECODE_FAST, y, NULL, NULL), COD_OK);
  double e = tc_rel_err(y, r.yref, r.out_len);
  cr_expect_leq(e, 1e-13, "set holding both data points: error %.3g", e);
  cr_assert_eq(tc_run_decode(&r, without, 3, COD_DECODE_FAST, y, NULL, NULL), COD_OK);
  e = tc_rel_err(y, r.yref, r.out_len);
  cr_expect_gt(e, 1e-6, "a set missing the data points cannot be exact (%.3g)", e);
  /* generic is not a second decoder for an approximate code: same numbers */
  double *y2 = malloc(r.out_len * sizeof *y2);
  cod_decode_info info;
  cr_assert_eq(tc_run_decode(&r, without, 3, COD_DECODE_GENERIC, y2, &info, NULL), COD_OK);
  cr_expect(memcmp(y, y2, r.out_len * sizeof *y) == 0);
  cr_expect_eq(info.method, COD_DECODE_FAST);
  cr_expect_eq(info.n_used, 3);
  cr_expect_geq(info.cond, 1.0);
  free(y), free(y2);
  tc_run_fini(&r);
}

Test(berrut, trait_threshold_amplification_and_errors) {
  cod_conv_geom g = tc_geom(2, 12, 6, 3, 3, 3, 1, 0);
  cod_code_params p = tc_params("berrut", 8, 4, 1);
  cod_code *c = NULL;
  cr_assert_eq(cod_code_new(&p, &g, &c, NULL), COD_OK);
  cr_expect_eq(cod_code_approximate(c), 1);
  cr_expect_eq(cod_code_threshold(c), 1);
  size_t one = 6, all[8] = {7, 6, 5, 4, 3, 2, 1, 0};
  double k1 = 0, k8 = 0;
  cr_assert_eq(cod_code_cond(c, &one, 1, &k1, NULL), COD_OK);
  cr_expect_eq(k1, 1.0, "one result: amplification %.17g", k1);
  cr_assert_eq(cod_code_cond(c, all, 8, &k8, NULL), COD_OK);
  cr_expect_geq(k8, 1.0);
  cr_expect_eq(cod_code_decodable(c, all, 0), 0);
  cr_expect_eq(cod_code_decodable(c, all, 1), 1);
  cod_err err = {0};
  double y[64];
  cr_expect_eq(cod_code_decode(c, all, 0, NULL, COD_DECODE_FAST, y, NULL, &err),
               COD_EUNDECODABLE);
  cod_code_free(c);
  cod_code *e = NULL;
  p = tc_params("berrut", 8, 2, 2);
  cr_expect_eq(cod_code_new(&p, &g, &e, &err), COD_EINVAL);
  cr_expect(strstr(err.msg, "k_B must be 1") != NULL, "%s", err.msg);
  p = tc_params("berrut", 1, 2, 1);
  cr_expect_eq(cod_code_new(&p, &g, &e, &err), COD_EINVAL);
  cr_expect(strstr(err.msg, "at least 2 workers") != NULL, "%s", err.msg);
  p = tc_params("nsctc-rot", 8, 2, 2);
  cr_assert_eq(cod_code_new(&p, &g, &e, NULL), COD_OK);
  cr_expect_eq(cod_code_approximate(e), 0);
  cod_code_free(e);
}
