/* test_coding_rkr.c: the random Khatri-Rao-product code (coding/cod_scheme_rkr.c).
 *
 * The coefficient matrices are read back by encoding probes (a 1x1-kernel layer whose
 * slab a is input row a and whose group b is filter b), then checked against what the
 * scheme promises: N(0, 1) entries (moments over 8000 draws, 5-sigma bands), a function of
 * the seed only, and worker j's coefficients independent of n. Decoding is checked
 * against the direct six-loop convolution from random delta-subsets in random arrival
 * order, with AUTO and GENERIC (rkr has only the generic decoder, so they must agree
 * exactly, and FAST is refused). Condition numbers are checked against an independent GSL SVD of the
 * Khatri-Rao generator built from the probed coefficients, and compared with poly-cheb:
 * at n = 20, 4 x 4 the two are of the same order (measured, logged, not asserted), at
 * n = 30, 5 x 5 rkr is more than 10x below poly-cheb for every seed tried (asserted on
 * seeds 1..5; the exponential growth of polynomial codes against the polynomial growth
 * of random codes is the point of the paper).
 *
 * Tolerance 1e-10 relative: fp64 workers, recovery matrices with condition numbers of at
 * most ~1e4 for the (n, k) used here, times ~sqrt(C*KH*KW)*eps per result.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cod_code.h"
#include "cod_registry.h"
#include "tc_util.h"

typedef struct coefs {
  size_t n, ka, kb;
  double *A, *B; /* n x ka, n x kb */
} coefs;

static void probe(size_t n, size_t ka, size_t kb, unsigned long seed, coefs *o) {
  cod_code_params p = tc_params("rkr", n, ka, kb);
  p.seed = seed;
  size_t C = ka > kb ? ka : kb;
  cod_conv_geom g = tc_geom(C, ka, C, kb, 1, 1, 1, 0);
  cod_code *c;
  cod_err err = {0};
  cr_assert_eq(cod_code_new(&p, &g, &c, &err), COD_OK, "%s", err.msg);
  cr_assert_eq(cod_code_slabs_per_worker(c), 1);
  cr_assert_eq(cod_code_groups_per_worker(c), 1);
  size_t wi = cod_code_worker_input_len(c), wf = cod_code_worker_filter_len(c);
  cr_assert_eq(wi, C * C);
  cr_assert_eq(wf, C);
  double *x = calloc(C * ka * C, sizeof *x), *k = calloc(kb * C, sizeof *k);
  double *cx = malloc(n * wi * sizeof *cx), *ck = malloc(n * wf * sizeof *ck);
  o->n = n, o->ka = ka, o->kb = kb;
  o->A = malloc(n * ka * sizeof *o->A);
  o->B = malloc(n * kb * sizeof *o->B);
  cr_assert(x && k && cx && ck && o->A && o->B);
  for (size_t a = 0; a < ka; a++) x[a * C + a] = 1.0;
  for (size_t b = 0; b < kb; b++) k[b * C + b] = 1.0;
  cr_assert_eq(cod_code_encode_input(c, x, cx, &err), COD_OK);
  cr_assert_eq(cod_code_encode_filters(c, k, ck, &err), COD_OK);
  for (size_t j = 0; j < n; j++) {
    for (size_t t = 0; t < ka; t++) o->A[j * ka + t] = cx[j * wi + t];
    for (size_t t = 0; t < kb; t++) o->B[j * kb + t] = ck[j * wf + t];
  }
  free(x), free(k), free(cx), free(ck);
  cod_code_free(c);
}

static void coefs_fini(coefs *o) {
  free(o->A);
  free(o->B);
}

Test(rkr, registry_entry) {
  const cod_scheme_info *s = cod_scheme_find("rkr", NULL);
  cr_assert_not_null(s);
  cr_expect_eq(s->coded, 1);
  cr_expect_eq(s->sides, 2);
  cr_expect_eq(s->pair, COD_PAIR_FREE);
  cr_expect_eq(s->takes_seed, 1);
  cr_expect_eq(s->max_workers, COD_WORKERS_MAX);
  cr_expect(strstr(s->reference, "1907.05965") != NULL);
}

Test(rkr, coefficients_are_standard_normal_from_the_seed) {
  coefs a, b, c, d;
  probe(2000, 2, 2, 7, &a);
  double sum = 0, sq = 0, inside = 0;
  const size_t m = 2 * 2000 * 2;
  for (size_t i = 0; i < 4000; i++) {
    double v[2] = {a.A[i], a.B[i]};
    for (int t = 0; t < 2; t++) sum += v[t], sq += v[t] * v[t], inside += fabs(v[t]) < 1.0;
  }
  double mean = sum / (double)m, var = sq / (double)m - mean * mean, frac = inside / (double)m;
  cr_log_info("rkr coefficients: mean %.4f, variance %.4f, P(|x|<1) %.4f over %zu", mean, var,
              frac, m);
  cr_expect_leq(fabs(mean), 5.0 / sqrt((double)m), "mean %g", mean);
  cr_expect_leq(fabs(var - 1.0), 5.0 * sqrt(2.0 / (double)m), "variance %g", var);
  cr_expect_leq(fabs(frac - 0.682689492), 5.0 * sqrt(0.6827 * 0.3173 / (double)m), "P(|x|<1) %g", frac);
  /* a function of the seed only, and worker j's coefficients do not depend on n */
  probe(2000, 2, 2, 7, &b);
  probe(50, 2, 2, 7, &c);
  probe(2000, 2, 2, 8, &d);
  cr_expect(memcmp(a.A, b.A, 4000 * sizeof(double)) == 0 && memcmp(a.B, b.B, 4000 * sizeof(double)) == 0);
  cr_expect(memcmp(a.A, c.A, 100 * sizeof(double)) == 0 && memcmp(a.B, c.B, 100 * sizeof(double)) == 0,
            "the first 50 workers changed with n");
  size_t same = 0;
  for (size_t i = 0; i < 4000; i++) same += a.A[i] == d.A[i];
  cr_expect_eq(same, 0, "seeds 7 and 8 share %zu coefficients", same);
  coefs_fini(&a), coefs_fini(&b), coefs_fini(&c), coefs_fini(&d);
}

static void random_subsets(size_t n, size_t ka, size_t kb, unsigned long seed, size_t trials) {
  static const cod_conv_geom geoms[2] = {{2, 11, 7, 5, 3, 3, 1, 1}, {3, 15, 9, 7, 3, 3, 2, 1}};
  for (size_t gi = 0; gi < 2; gi++) {
    cod_code_params p = tc_params("rkr", n, ka, kb);
    p.seed = seed;
    p.axis = gi ? COD_AXIS_COLS : COD_AXIS_ROWS;
    tc_run r;
    tc_run_init(&r, &p, &geoms[gi], 100 * seed + gi, COD_F64);
    const size_t d = ka * kb;
    double *y1 = malloc(r.out_len * sizeof *y1), *y2 = malloc(r.out_len * sizeof *y2);
    size_t perm[64];
    cr_assert(y1 && y2 && n <= 64);
    tc_lcg rng;
    tc_lcg_seed(&rng, seed * 31 + gi);
    double worst = 0, worst_cond = 0;
    for (size_t t = 0; t < trials; t++) {
      for (size_t i = 0; i < n; i++) perm[i] = i;
      tc_shuffle(perm, n, &rng); /* a random delta-subset in a random arrival order */
      cod_decode_info i1, i2;
      cod_err e = {0};
      cr_assert_eq(tc_run_decode(&r, perm, d, COD_DECODE_AUTO, y1, &i1, &e), COD_OK, "%s", e.msg);
      cr_assert_eq(tc_run_decode(&r, perm, d, COD_DECODE_GENERIC, y2, &i2, &e), COD_OK, "%s", e.msg);
      cr_expect_eq(i1.method, COD_DECODE_GENERIC, "rkr has no structured decoder");
      cr_expect_eq(tc_run_decode(&r, perm, d, COD_DECODE_FAST, y2, NULL, NULL), COD_EINVAL);
      cr_expect(memcmp(y1, y2, r.out_len * sizeof *y1) == 0);
      cr_expect(memcmp(i1.used, perm, d * sizeof *perm) == 0);
      double err = tc_rel_err(y1, r.yref, r.out_len);
      if (!(err <= worst)) worst = err;
      if (i1.cond > worst_cond) worst_cond = i1.cond;
    }
    cr_log_info("rkr n=%zu %zux%zu seed %lu geom %zu: worst rel error %.3g over %zu subsets "
                "(worst cond %.3g)", n, ka, kb, seed, gi, worst, trials, worst_cond);
    cr_expect_leq(worst, 1e-10, "rkr n=%zu %zux%zu seed %lu: relative error %.3g (cond %.3g)", n,
                  ka, kb, seed, worst, worst_cond);
    free(y1);
    free(y2);
    tc_run_fini(&r);
  }
}

Test(rkr, decodes_from_random_subsets) {
  for (unsigned long s = 1; s <= 3; s++) {
    random_subsets(12, 3, 3, s, 40);
    random_subsets(16, 4, 3, s, 40);
    random_subsets(10, 1, 7, s, 20);
  }
}

Test(rkr, cond_matches_an_independent_svd) {
  coefs o;
  probe(14, 3, 3, 5, &o);
  cod_code_params p = tc_params("rkr", 14, 3, 3);
  p.seed = 5;
  cod_conv_geom g = tc_geom(2, 11, 7, 5, 3, 3, 1, 1); /* the generator ignores the layer */
  cod_code *c;
  cr_assert_eq(cod_code_new(&p, &g, &c, NULL), COD_OK);
  size_t set[9];
  double m[81];
  tc_comb_init(set, 9);
  size_t count = 0;
  do {
    for (size_t i = 0; i < 9; i++)
      for (size_t r = 0; r < 3; r++)
        for (size_t s = 0; s < 3; s++) m[i * 9 + r * 3 + s] = o.A[set[i] * 3 + r] * o.B[set[i] * 3 + s];
    double want = tc_cond_real(m, 9, 9), got;
    cr_assert_eq(cod_code_cond(c, set, 9, &got, NULL), COD_OK);
    cr_expect_leq(fabs(got - want), 1e-8 * want, "set #%zu: cond %.17g, GSL %.17g", count, got, want);
    count++;
  } while (tc_comb_next(set, 9, 14) && count < 300);
  cod_code_free(c);
  coefs_fini(&o);
}

static void stats(const char *scheme, size_t n, size_t ka, size_t kb, unsigned long code_seed,
                  double max_exhaustive, cod_cond_search_result *st) {
  cod_code_params p = tc_params(scheme, n, ka, kb);
  p.seed = code_seed;
  cod_conv_geom g = tc_geom(1, 4 * ka, 4, 4 * kb, 1, 1, 1, 0);
  cod_code *c;
  cod_err e = {0};
  cr_assert_eq(cod_code_new(&p, &g, &c, &e), COD_OK, "%s", e.msg);
  /* the same sampling seed: the same worker sets for every scheme and code seed; no time
   * budget, so the sets do not depend on the machine */
  cod_cond_search_opts o = cod_cond_search_opts_default();
  o.budget_s = INFINITY, o.max_exhaustive = max_exhaustive, o.samples = 500, o.seed = 11;
  cr_assert_eq(cod_code_cond_search(c, &o, st, &e), COD_OK, "%s", e.msg);
  cod_code_free(c);
}

Test(rkr, cond_against_poly_cheb) {
  cod_cond_search_result cheb, r;
  /* n = 20, 4 x 4: all 4845 sets */
  stats("poly-cheb", 20, 4, 4, 1, 1e5, &cheb);
  cr_assert(cheb.exhaustive);
  cr_log_info("n=20 4x4 poly-cheb: worst %.3g mean %.3g", cheb.worst, cheb.mean);
  for (unsigned long s = 1; s <= 5; s++) {
    stats("rkr", 20, 4, 4, s, 1e5, &r);
    cr_expect(r.exhaustive && r.sets_tried == 4845);
    cr_expect(isfinite(r.worst) && isfinite(r.mean) && r.mean >= 1.0 && r.worst >= r.mean,
              "seed %lu: worst %g mean %g", s, r.worst, r.mean);
    cr_log_info("n=20 4x4 rkr seed %lu: worst %.3g (%.2fx poly-cheb) mean %.3g (%.2fx)", s,
                r.worst, r.worst / cheb.worst, r.mean, r.mean / cheb.mean);
    cod_cond_search_result_fini(&r);
  }
  cod_cond_search_result_fini(&cheb);
  /* n = 30, 5 x 5: the same 500 sampled sets */
  stats("poly-cheb", 30, 5, 5, 1, 0, &cheb);
  cr_log_info("n=30 5x5 poly-cheb: worst %.3g mean %.3g", cheb.worst, cheb.mean);
  for (unsigned long s = 1; s <= 5; s++) {
    stats("rkr", 30, 5, 5, s, 0, &r);
    cr_log_info("n=30 5x5 rkr seed %lu: worst %.3g (%.3gx poly-cheb) mean %.3g (%.3gx)", s,
                r.worst, r.worst / cheb.worst, r.mean, r.mean / cheb.mean);
    cr_expect(isfinite(r.worst));
    cr_expect_leq(r.worst, cheb.worst / 10, "seed %lu: worst %.3g, poly-cheb %.3g", s, r.worst, cheb.worst);
    cr_expect_leq(r.mean, cheb.mean / 10, "seed %lu: mean %.3g, poly-cheb %.3g", s, r.mean, cheb.mean);
    cod_cond_search_result_fini(&r);
  }
  cod_cond_search_result_fini(&cheb);
}
