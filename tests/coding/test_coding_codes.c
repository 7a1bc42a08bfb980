/* test_coding_codes.c: every coding scheme decodes the direct convolution.
 *
 * Each test plans a code on a small layer with uneven shapes (H' not divisible by the
 * slab count, N not divisible by the group count), encodes seeded data, lets every worker
 * compute, and decodes from worker subsets: every delta-subset for the MDS codes, in a
 * shuffled arrival order, with longer lists, with both decoders; every subset of any size
 * for replication. Decoded outputs are compared with the direct convolution of the whole
 * layer. Also: the encoding matrices against NSCTC-MATH's formulas, condition numbers
 * against an independent SVD, parameter and decode errors, noise, and allocation failure.
 *
 * Tolerances. The fp64 workers' results carry ~sqrt(C*KH*KW)*eps relative error; decoding
 * amplifies it by at most the condition number of the recovery matrix (< 1e2 for the
 * small codes here), so 1e-12 leaves a factor >10 of headroom while any mis-indexed block
 * gives O(1) error.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "cod_alloc.h"
#include "cod_code.h"
#include "cod_kernel.h"
#include "tc_util.h"

static const double SENTINEL = -12345.678;

static double *sentinel_buf(size_t n) {
  double *y = malloc(n * sizeof *y);
  cr_assert_not_null(y);
  for (size_t i = 0; i < n; i++) y[i] = SENTINEL;
  return y;
}

static int untouched(const double *y, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (y[i] != SENTINEL) return 0;
  return 1;
}

/* Decode from every delta-subset of the workers, each in a shuffled order, with the
 * given method(s); returns the worst relative error. If both methods are run, also checks
 * that they agree to agree_tol. */
static double every_subset(const tc_run *r, double tol, int both, double agree_tol,
                           uint64_t seed) {
  const cod_code *c = r->code;
  size_t n = r->n, d = cod_code_threshold(c), set[256], order[256];
  double *y1 = malloc(r->out_len * sizeof *y1), *y2 = malloc(r->out_len * sizeof *y2);
  cr_assert(y1 && y2);
  tc_lcg rng;
  tc_lcg_seed(&rng, seed);
  double worst = 0, worst_agree = 0;
  size_t count = 0;
  tc_comb_init(set, d);
  do {
    memcpy(order, set, d * sizeof *set);
    tc_shuffle(order, d, &rng);
    cod_decode_info info;
    cod_err err = {0};
    int rc = tc_run_decode(r, order, d, COD_DECODE_AUTO, y1, &info, &err);
    cr_assert_eq(rc, COD_OK, "%s n=%zu: subset #%zu: %s", cod_code_scheme(c), n, count, err.msg);
    cr_expect_eq(info.method, cod_code_has_fast_decoder(c) ? COD_DECODE_FAST : COD_DECODE_GENERIC,
                 "%s: auto did not report the decoder that ran", cod_code_scheme(c));
    cr_expect_eq(info.n_used, d);
    cr_expect(memcmp(info.used, order, d * sizeof *order) == 0, "info.used is not the order given");
    cr_expect(isfinite(info.cond) && info.cond >= 1.0, "cond %g", info.cond);
    double e = tc_rel_err(y1, r->yref, r->out_len);
    if (!(e <= worst)) worst = e;
    if (both) {
      cod_decode_info info2;
      rc = tc_run_decode(r, order, d, COD_DECODE_GENERIC, y2, &info2, &err);
      cr_assert_eq(rc, COD_OK, "generic: %s", err.msg);
      cr_expect_eq(info2.method, COD_DECODE_GENERIC);
      e = tc_rel_err(y2, r->yref, r->out_len);
      if (!(e <= worst)) worst = e;
      double a = tc_rel_err(y1, y2, r->out_len);
      if (!(a <= worst_agree)) worst_agree = a;
      /* both report the 2-norm condition number of the same recovery problem */
      cr_expect_leq(fabs(info.cond - info2.cond), 1e-8 * info2.cond, "cond fast %.17g generic %.17g",
                    info.cond, info2.cond);
    }
    count++;
  } while (tc_comb_next(set, d, n));
  cr_expect_eq((double)count, tc_binomial(n, d));
  cr_expect_leq(worst, tol, "%s n=%zu ka=%zu kb=%zu: worst relative error %.3g over %zu subsets",
                cod_code_scheme(c), n, cod_code_partition(c)->m_in, cod_code_partition(c)->m_filt,
                worst, count);
  if (both)
    cr_expect_leq(worst_agree, agree_tol, "%s n=%zu: fast and generic differ by %.3g",
                  cod_code_scheme(c), n, worst_agree);
  free(y1);
  free(y2);
  return worst;
}

/* A layer with odd sizes; stride 2 variant; column-axis variant. */
static const cod_conv_geom *geoms(size_t *count) {
  static cod_conv_geom g[3];
  g[0] = tc_geom(2, 11, 7, 5, 3, 3, 1, 1);   /* H' = 11, N = 5 */
  g[1] = tc_geom(3, 15, 9, 7, 3, 3, 2, 1);   /* H' = 8, stride 2, N = 7 */
  g[2] = tc_geom(2, 7, 13, 3, 3, 5, 1, 2);   /* rectangular kernel, W' = 13 */
  *count = 3;
  return g;
}

Test(codes_rot, every_subset_both_decoders) {
  const size_t cfg[][3] = {{4, 2, 2}, {6, 2, 2}, {8, 2, 3}, {9, 3, 2}, {12, 3, 3}, {12, 2, 4}};
  size_t ng;
  const cod_conv_geom *g = geoms(&ng);
  for (size_t i = 0; i < 6; i++)
    for (size_t k = 0; k < ng; k++) {
      cod_code_params p = tc_params("nsctc-rot", cfg[i][0], cfg[i][1], cfg[i][2]);
      p.axis = k == 2 ? COD_AXIS_COLS : COD_AXIS_ROWS;
      tc_run r;
      tc_run_init(&r, &p, &g[k], 10 * i + k, COD_F64);
      double w = every_subset(&r, 1e-12, 1, 1e-13, 77 + i);
      cr_log_info("nsctc-rot (%zu,%zu,%zu) geom %zu: worst rel err %.3g", cfg[i][0], cfg[i][1],
                  cfg[i][2], k, w);
      tc_run_fini(&r);
    }
}

/* The fast decoder's passes (to the two channels and back) are compiled for AVX2 and
 * AVX-512 and only add, subtract and negate, so the two widths give the same bits; block
 * lengths around the 4- and 8-lane remainders and across ROT_CHUNK. Skipped (with a
 * message) below AVX-512, where only one width runs. */
Test(codes_rot, fast_decode_same_bits_at_both_widths) {
  if (cod_kernel_isa() != COD_KERNEL_AVX512) {
    cr_log_warn("no AVX-512 on this CPU: one kernel width only, nothing to compare");
    return;
  }
  const cod_conv_geom g[] = {tc_geom(3, 9, 7, 8, 3, 3, 1, 1), tc_geom(2, 37, 11, 16, 3, 3, 1, 0),
                             tc_geom(4, 30, 29, 12, 1, 1, 1, 0)};
  for (size_t k = 0; k < sizeof g / sizeof g[0]; k++) {
    cod_code_params p = tc_params("nsctc-rot", 7, 2, 2);
    tc_run r;
    tc_run_init(&r, &p, &g[k], 500 + k, COD_F64);
    const size_t avail[] = {6, 1, 4, 2, 0, 5, 3};
    double *y8 = sentinel_buf(r.out_len), *y4 = sentinel_buf(r.out_len);
    cod_err e = {0};
    cr_assert_eq(tc_run_decode(&r, avail, 7, COD_DECODE_FAST, y8, NULL, &e), COD_OK, "%s", e.msg);
    int cap = cod_kernel_cap_isa(COD_KERNEL_AVX2);
    int rc = tc_run_decode(&r, avail, 7, COD_DECODE_FAST, y4, NULL, &e);
    cod_kernel_cap_isa(cap);
    cr_assert_eq(rc, COD_OK, "%s", e.msg);
    cr_assert(memcmp(y8, y4, r.out_len * sizeof *y8) == 0, "geom %zu: AVX-512 and AVX2 decodes differ", k);
    cr_assert_lt(tc_rel_err(y8, r.yref, r.out_len), 1e-12, "geom %zu", k);
    free(y8), free(y4);
    tc_run_fini(&r);
  }
}

Test(codes_rot, larger_q_and_longer_avail_lists) {
  size_t ng;
  const cod_conv_geom *g = geoms(&ng);
  cod_code_params p = tc_params("nsctc-rot", 6, 2, 2);
  p.q = 11; /* any q >= n gives distinct nodes */
  tc_run r;
  tc_run_init(&r, &p, &g[1], 5, COD_F64);
  every_subset(&r, 1e-12, 1, 1e-13, 3);
  /* longer lists: the first delta listed are used, the rest ignored */
  size_t avail[6] = {5, 0, 3, 2, 4, 1};
  double *y = malloc(r.out_len * sizeof *y);
  for (size_t len = 4; len <= 6; len++) {
    cod_decode_info info;
    cod_err err = {0};
    cr_assert_eq(tc_run_decode(&r, avail, len, COD_DECODE_FAST, y, &info, &err), COD_OK, "%s", err.msg);
    cr_expect_eq(info.n_used, 4);
    cr_expect(memcmp(info.used, avail, 4 * sizeof *avail) == 0);
    cr_expect_leq(tc_rel_err(y, r.yref, r.out_len), 1e-12);
  }
  /* a garbage result beyond the first delta must not matter */
  const double *res[6];
  double *junk = malloc(cod_code_worker_output_len(r.code) * sizeof *junk);
  for (size_t i = 0; i < cod_code_worker_output_len(r.code); i++) junk[i] = NAN;
  for (size_t i = 0; i < 6; i++) res[i] = i < 4 ? r.res[avail[i]] : junk;
  cr_assert_eq(cod_code_decode(r.code, avail, 6, res, COD_DECODE_GENERIC, y, NULL, NULL), COD_OK);
  cr_expect_leq(tc_rel_err(y, r.yref, r.out_len), 1e-12);
  free(junk);
  free(y);
  tc_run_fini(&r);
}

Test(codes_cir, every_subset_both_sides) {
  /* (n, ka, kb): ka > 1 codes the input, kb > 1 the filters; q = smallest prime >= n */
  const size_t cfg[][3] = {{5, 3, 1}, {5, 1, 3}, {6, 2, 1}, {7, 1, 4}, {4, 1, 1}, {8, 1, 5}};
  size_t ng;
  const cod_conv_geom *g = geoms(&ng);
  for (size_t i = 0; i < 6; i++) {
    cod_code_params p = tc_params("nsctc-cir", cfg[i][0], cfg[i][1], cfg[i][2]);
    tc_run r;
    tc_run_init(&r, &p, &g[i % 2], 40 + i, COD_F64);
    double w = every_subset(&r, 1e-12, 1, 1e-12, 9 + i);
    cr_log_info("nsctc-cir (%zu,%zu,%zu): worst rel err %.3g", cfg[i][0], cfg[i][1], cfg[i][2], w);
    /* one-sided: e_A*e_B = q results per worker, on the coded side only */
    const cod_partition *pt = cod_code_partition(r.code);
    size_t q = cfg[i][0] < 5 ? 5 : cfg[i][0] == 6 ? 7 : cfg[i][0] == 8 ? 11 : cfg[i][0];
    cr_expect_eq(cod_code_results_per_worker(r.code), q, "q for n = %zu", cfg[i][0]);
    cr_expect_eq(cfg[i][2] > 1 ? pt->m_filt : pt->m_in, cod_code_threshold(r.code) * (q - 1));
    cr_expect_eq(cfg[i][2] > 1 ? pt->m_in : pt->m_filt, 1);
    tc_run_fini(&r);
  }
}

/* The FFT decoder against the generic one on every subset, where it is hardest: few real
 * blocks among many coded slots (KCCP zero filters and APCP slabs past the output, so
 * only the first groups are inverse-transformed), the column axis, q larger than n, and
 * the smallest primes q = 2 (a Nyquist bin) and q = 3. */
Test(codes_cir, fft_matches_generic_uneven_shapes) {
  const struct {
    size_t n, ka, kb, q;
    cod_conv_geom g;
    cod_axis axis;
  } cfg[] = {
      {7, 1, 4, 0, tc_geom(2, 11, 7, 5, 3, 3, 1, 1), COD_AXIS_ROWS},  /* 5 of 24 groups real */
      {6, 3, 1, 0, tc_geom(3, 15, 9, 7, 3, 3, 2, 1), COD_AXIS_ROWS},  /* 8 of 18 slabs real */
      {5, 2, 1, 11, tc_geom(2, 7, 13, 3, 3, 5, 1, 2), COD_AXIS_COLS}, /* 13 of 20, q > n */
      {2, 1, 2, 0, tc_geom(2, 9, 8, 3, 3, 3, 1, 1), COD_AXIS_ROWS},   /* q = 2 */
      {3, 3, 1, 0, tc_geom(1, 10, 6, 4, 3, 2, 1, 0), COD_AXIS_ROWS},  /* q = 3 */
      {9, 1, 6, 13, tc_geom(2, 6, 5, 40, 3, 3, 1, 1), COD_AXIS_ROWS}, /* 40 filters, 72 slots */
      /* 25 filters in blocks of 3: blocks written in place in y, then a partial one */
      {5, 1, 3, 0, tc_geom(2, 7, 6, 25, 3, 3, 1, 1), COD_AXIS_ROWS},
  };
  for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
    cod_code_params p = tc_params("nsctc-cir", cfg[i].n, cfg[i].ka, cfg[i].kb);
    p.q = cfg[i].q;
    p.axis = cfg[i].axis;
    tc_run r;
    tc_run_init(&r, &p, &cfg[i].g, 90 + i, COD_F64);
    cr_assert(cod_code_has_fast_decoder(r.code));
    double w = every_subset(&r, 1e-12, 1, 1e-12, 31 + i);
    cr_log_info("nsctc-cir (%zu,%zu,%zu) q=%zu: worst rel err %.3g", cfg[i].n, cfg[i].ka,
                cfg[i].kb, cfg[i].q, w);
    tc_run_fini(&r);
  }
}

/* The recovery matrix of NSCTC-MATH section 4, built here from the definition: worker j's
 * piece t is sum_i X'_{i,(t+i*j) mod q}, X'_{i,s} data piece i*(q-1)+s for s < q-1 and
 * minus the sum of the group's data pieces for s = q-1. */
static double *cir_definition_matrix(const size_t *set, size_t k, size_t q) {
  size_t rows = k * q, cols = k * (q - 1);
  double *m = calloc(rows * cols, sizeof *m);
  cr_assert_not_null(m);
  for (size_t w = 0; w < k; w++)
    for (size_t t = 0; t < q; t++)
      for (size_t i = 0; i < k; i++) {
        size_t s = (t + i * set[w]) % q;
        for (size_t u = 0; u < q - 1; u++)
          m[(w * q + t) * cols + i * (q - 1) + u] += s == q - 1 ? -1.0 : (double)(s == u);
      }
  return m;
}

/* The structured condition number (per-frequency SVDs and an inertia bisection) equals the
 * SVD of the dense recovery matrix on every worker set, both coding directions. */
Test(codes_cir, structured_cond_equals_dense_svd) {
  const size_t cfg[][4] = {{8, 1, 5, 0}, {7, 3, 1, 13}, {6, 1, 4, 0}, {4, 2, 1, 0}, {2, 1, 2, 0}};
  for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
    cod_code_params p = tc_params("nsctc-cir", cfg[c][0], cfg[c][1], cfg[c][2]);
    p.q = cfg[c][3];
    cod_conv_geom g = tc_geom(2, 11, 7, 5, 3, 3, 1, 1);
    cod_code *code;
    cr_assert_eq(cod_code_new(&p, &g, &code, NULL), COD_OK);
    size_t n = cfg[c][0], k = cod_code_threshold(code), q = cod_code_results_per_worker(code);
    size_t set[16], count = 0;
    double worst = 0, worst_rel = 0;
    tc_comb_init(set, k);
    do {
      double *m = cir_definition_matrix(set, k, q), ks;
      double kd = tc_cond_real(m, k * q, k * (q - 1));
      free(m);
      cr_assert_eq(cod_code_cond(code, set, k, &ks, NULL), COD_OK);
      double rel = fabs(ks - kd) / kd;
      if (!(rel <= worst_rel)) worst_rel = rel;
      if (kd > worst) worst = kd;
      count++;
    } while (tc_comb_next(set, k, n));
    cr_log_info("nsctc-cir (%zu,%zu,%zu) q=%zu: %zu sets, worst cond %.4g, structured vs dense "
                "SVD within %.2g relative", n, cfg[c][1], cfg[c][2], q, count, worst, worst_rel);
    cr_expect_leq(worst_rel, 1e-8, "(%zu,%zu,%zu): structured cond off by %.3g", n, cfg[c][1],
                  cfg[c][2], worst_rel);
    cod_code_free(code);
  }
}

Test(codes_poly, every_subset_cheb_and_real) {
  const size_t cfg[][3] = {{6, 2, 2}, {8, 2, 3}, {7, 3, 2}, {5, 1, 4}};
  size_t ng;
  const cod_conv_geom *g = geoms(&ng);
  for (size_t i = 0; i < 4; i++) {
    cod_code_params p = tc_params("poly-cheb", cfg[i][0], cfg[i][1], cfg[i][2]);
    tc_run r;
    tc_run_init(&r, &p, &g[i % 3], 60 + i, COD_F64);
    double w = every_subset(&r, 1e-12, 1, 1e-13, 1 + i);
    cr_log_info("poly-cheb (%zu,%zu,%zu): worst rel err %.3g", cfg[i][0], cfg[i][1], cfg[i][2], w);
    tc_run_fini(&r);
    p.scheme = "poly-real"; /* small n: still accurate (cond < 1e3) */
    tc_run_init(&r, &p, &g[i % 3], 70 + i, COD_F64);
    w = every_subset(&r, 1e-11, 0, 0, 1 + i);
    cr_log_info("poly-real (%zu,%zu,%zu): worst rel err %.3g", cfg[i][0], cfg[i][1], cfg[i][2], w);
    tc_run_fini(&r);
  }
}

/* An explicit fast request on a scheme without a structured decoder is refused with a
 * message naming the scheme, and y is left alone: never a silent generic decode. */
Test(codes_poly, fast_request_refused_without_fast_decoder) {
  const char *schemes[2] = {"poly-real", "poly-cheb"};
  size_t ng;
  const cod_conv_geom *g = geoms(&ng);
  for (int s = 0; s < 2; s++) {
    cod_code_params p = tc_params(schemes[s], 6, 2, 2);
    tc_run r;
    tc_run_init(&r, &p, &g[0], 80 + s, COD_F64);
    cr_expect_eq(cod_code_has_fast_decoder(r.code), 0);
    size_t avail[4] = {5, 2, 0, 3};
    double *y = sentinel_buf(r.out_len);
    cod_decode_info info;
    cod_err err = {0};
    cr_expect_eq(tc_run_decode(&r, avail, 4, COD_DECODE_FAST, y, &info, &err), COD_EINVAL);
    cr_expect(strstr(err.msg, schemes[s]) != NULL, "message does not name %s: %s", schemes[s],
              err.msg);
    cr_expect(untouched(y, r.out_len), "%s: refused fast decode wrote y", schemes[s]);
    free(y);
    tc_run_fini(&r);
  }
}

/* Every subset of any size, in a shuffled order: decodable iff every block p < ka*kb has a
 * listed worker j with j mod (ka*kb) == p. */
static void replication_all_subsets(const char *scheme, size_t n, size_t ka, size_t kb) {
  size_t ng;
  const cod_conv_geom *g = geoms(&ng);
  cod_code_params p = tc_params(scheme, n, ka, kb);
  tc_run r;
  tc_run_init(&r, &p, &g[1], n * 7 + ka, COD_F64);
  size_t d = ka * kb, ok = 0, fail = 0;
  cr_expect_eq(cod_code_threshold(r.code), d);
  tc_lcg rng;
  tc_lcg_seed(&rng, 99);
  double *y = sentinel_buf(r.out_len);
  for (unsigned long mask = 0; mask < (1ul << n); mask++) {
    size_t avail[32], m = 0, covered = 0;
    int have[32] = {0};
    for (size_t j = 0; j < n; j++)
      if (mask >> j & 1) {
        avail[m++] = j;
        if (!have[j % d]) covered++, have[j % d] = 1;
      }
    tc_shuffle(avail, m, &rng);
    for (size_t i = 0; i < r.out_len; i++) y[i] = SENTINEL;
    cod_decode_info info;
    cod_err err = {0};
    int rc = tc_run_decode(&r, avail, m, COD_DECODE_FAST, y, &info, &err);
    if (covered == d) {
      cr_expect_eq(rc, COD_OK, "%s mask %lx: %s", scheme, mask, err.msg);
      /* one worker's own convolution per block: exact up to the GEMM's rounding */
      cr_expect_leq(tc_rel_err(y, r.yref, r.out_len), 1e-13, "%s mask %lx", scheme, mask);
      cr_expect_eq(info.n_used, d);
      cr_expect_eq(info.cond, 1.0);
      for (size_t i = 0; i < d; i++) { /* the first listed holder of each block */
        size_t first = 0;
        while (avail[first] % d != info.used[i] % d) first++;
        cr_expect_eq(avail[first], info.used[i]);
      }
      ok++;
    } else {
      cr_expect_eq(rc, COD_EUNDECODABLE, "%s mask %lx: rc %d", scheme, mask, rc);
      cr_expect(untouched(y, r.out_len), "%s mask %lx: output written on failure", scheme, mask);
      cr_expect(strstr(err.msg, "undecodable") != NULL, "%s", err.msg);
      fail++;
    }
  }
  cr_log_info("%s n=%zu %zux%zu: %zu decodable subsets, %zu not", scheme, n, ka, kb, ok, fail);
  cr_expect_gt(ok, 0);
  cr_expect_gt(fail, 0);
  free(y);
  tc_run_fini(&r);
}

Test(codes_blocks, replication_any_covering_subset) {
  replication_all_subsets("replication", 6, 3, 1);
  replication_all_subsets("replication", 8, 2, 2);
  replication_all_subsets("replication", 9, 1, 3);
}

Test(codes_blocks, uncoded_needs_all) {
  replication_all_subsets("uncoded", 4, 2, 2);
  replication_all_subsets("uncoded", 6, 3, 2);
}

Test(codes_errors, fewer_than_delta_is_undecodable_and_output_untouched) {
  const char *schemes[] = {"nsctc-rot", "nsctc-cir", "poly-real", "poly-cheb", "replication", "uncoded"};
  const size_t cfg[][3] = {{6, 2, 2}, {5, 3, 1}, {6, 2, 2}, {6, 2, 2}, {8, 2, 2}, {4, 2, 2}};
  size_t ng;
  const cod_conv_geom *g = geoms(&ng);
  for (size_t s = 0; s < 6; s++) {
    cod_code_params p = tc_params(schemes[s], cfg[s][0], cfg[s][1], cfg[s][2]);
    tc_run r;
    tc_run_init(&r, &p, &g[0], s, COD_F64);
    size_t d = cod_code_threshold(r.code);
    size_t avail[16] = {0, 1, 2, 3, 4, 5, 6, 7};
    double *y = sentinel_buf(r.out_len);
    for (size_t m = 0; m < d; m++)
      for (int method = 0; method < 2; method++) {
        cod_err err = {0};
        cod_decode_info info;
        memset(&info, 0x77, sizeof info);
        cod_decode_info before = info;
        int rc = tc_run_decode(&r, avail, m, (cod_decode_method)method, y, &info, &err);
        cr_expect_eq(rc, COD_EUNDECODABLE, "%s with %zu < %zu results: rc %d", schemes[s], m, d, rc);
        cr_expect(strstr(err.msg, "undecodable") != NULL, "%s", err.msg);
        cr_expect(untouched(y, r.out_len), "%s: output written on failure", schemes[s]);
        cr_expect(memcmp(&info, &before, sizeof info) == 0, "%s: info written on failure", schemes[s]);
        double cond = SENTINEL;
        cr_expect_eq(cod_code_cond(r.code, avail, m, &cond, &err), COD_EUNDECODABLE);
        cr_expect_eq(cond, SENTINEL);
      }
    free(y);
    tc_run_fini(&r);
  }
}

Test(codes_errors, bad_worker_ids) {
  size_t ng;
  const cod_conv_geom *g = geoms(&ng);
  cod_code_params p = tc_params("nsctc-rot", 6, 2, 2);
  tc_run r;
  tc_run_init(&r, &p, &g[0], 1, COD_F64);
  double *y = sentinel_buf(r.out_len);
  const size_t dup[5] = {0, 3, 1, 3, 2}, out[4] = {0, 1, 6, 2}, late_dup[6] = {0, 1, 2, 3, 4, 0};
  const size_t *lists[3] = {dup, out, late_dup};
  const size_t lens[3] = {5, 4, 6};
  const char *frag[3] = {"worker 3 listed twice", "worker id 6 out of range", "worker 0 listed twice"};
  for (int i = 0; i < 3; i++) {
    cod_err err = {0};
    cr_expect_eq(tc_run_decode(&r, lists[i], lens[i], COD_DECODE_FAST, y, NULL, &err), COD_EINVAL);
    cr_expect(strstr(err.msg, frag[i]) != NULL, "'%s' lacks '%s'", err.msg, frag[i]);
    cr_expect(untouched(y, r.out_len));
    double cond = SENTINEL;
    cr_expect_eq(cod_code_cond(r.code, lists[i], lens[i], &cond, &err), COD_EINVAL);
    cr_expect(strstr(err.msg, frag[i]) != NULL, "cond: '%s'", err.msg);
    cr_expect_eq(cond, SENTINEL);
  }
  free(y);
  tc_run_fini(&r);
}

static void expect_new_einval(const cod_code_params *p, const cod_conv_geom *g, const char *frag) {
  cod_code *c = (cod_code *)0x1;
  cod_err err = {0};
  int rc = cod_code_new(p, g, &c, &err);
  cr_expect_eq(rc, COD_EINVAL, "%s n=%zu %zux%zu q=%zu: rc %d", p->scheme ? p->scheme : "(null)",
               p->n_workers, p->ka, p->kb, p->q, rc);
  cr_expect(strstr(err.msg, frag) != NULL, "message '%s' lacks '%s'", err.msg, frag);
  cr_expect_eq(c, (cod_code *)0x1, "out-parameter written on failure");
  if (rc == COD_OK && c != (cod_code *)0x1) cod_code_free(c);
}

Test(codes_errors, parameter_errors) {
  cod_conv_geom g = tc_geom(2, 11, 7, 5, 3, 3, 1, 1);
  cod_code_params p = tc_params("nsctc-rotation", 6, 2, 2);
  expect_new_einval(&p, &g, "unknown scheme 'nsctc-rotation'");
  p.scheme = NULL;
  expect_new_einval(&p, &g, "unknown scheme");
  p = tc_params("nsctc-rot", 6, 3, 3);
  expect_new_einval(&p, &g, "exceeds the 6 workers");
  p = tc_params("poly-real", 5, 2, 3);
  expect_new_einval(&p, &g, "exceeds the 5 workers");
  p = tc_params("nsctc-cir", 8, 2, 2);
  expect_new_einval(&p, &g, "one-sided");
  p = tc_params("uncoded", 5, 2, 2);
  expect_new_einval(&p, &g, "uncoded: needs k_A*k_B = n");
  p = tc_params("uncoded", 3, 2, 2);
  expect_new_einval(&p, &g, "uncoded");
  p = tc_params("replication", 6, 2, 2);
  expect_new_einval(&p, &g, "multiple");
  p = tc_params("nsctc-rot", 6, 2, 2);
  p.q = 5;
  expect_new_einval(&p, &g, "q = 5 must be >= n = 6");
  p = tc_params("nsctc-cir", 6, 3, 1);
  p.q = 9;
  expect_new_einval(&p, &g, "q = 9 must be a prime");
  p.q = 5; /* prime but < n */
  expect_new_einval(&p, &g, "q = 5 must be a prime >= n = 6");
  p = tc_params("nsctc-rot", 0, 1, 1);
  expect_new_einval(&p, &g, ">= 1");
  p = tc_params("nsctc-rot", 4, 0, 1);
  expect_new_einval(&p, &g, ">= 1");
  p = tc_params("nsctc-rot", COD_WORKERS_MAX + 1, 2, 2);
  expect_new_einval(&p, &g, "nsctc-rot supports at most 4096 workers (got 4097)");
  p = tc_params("nsctc-cir", 256, 2, 1);
  expect_new_einval(&p, &g, "nsctc-cir supports at most 255 workers (got 256)");
  cod_conv_geom bad = tc_geom(2, 3, 3, 5, 7, 7, 1, 1);
  p = tc_params("nsctc-rot", 4, 2, 2);
  expect_new_einval(&p, &bad, "invalid layer geometry");
  /* every registry entry planning: tests/coding/test_coding_registry.c */
  cod_code_free(NULL);
}

/* ---- structure: sizes, the cost model, the encoding matrices ------------------------- */

Test(codes_structure, rot_sizes_match_cost_model) {
  /* NSCTC-MATH section 6: worker input 2*C*((h^-1)*s+KH)*(W+2p), filters N*C*KH*KW/k_B
   * (with zero filters: 2*ceil(N/2k_B)*C*KH*KW), output 4*ceil(N/2k_B)*h^*W'. */
  cod_conv_geom g = tc_geom(3, 15, 9, 7, 3, 3, 2, 1);
  cod_code_params p = tc_params("nsctc-rot", 12, 3, 2);
  cod_code *c;
  cr_assert_eq(cod_code_new(&p, &g, &c, NULL), COD_OK);
  size_t OH = 8, OW = 5, hh = (OH + 5) / 6, F = (7 + 3) / 4;
  cr_expect_eq(cod_code_threshold(c), 6);
  cr_expect_eq(cod_code_workers(c), 12);
  cr_expect_eq(cod_code_slabs_per_worker(c), 2);
  cr_expect_eq(cod_code_groups_per_worker(c), 2);
  cr_expect_eq(cod_code_results_per_worker(c), 4);
  cr_expect_eq(cod_code_worker_input_len(c), 2 * 3 * ((hh - 1) * 2 + 3) * (9 + 2));
  cr_expect_eq(cod_code_worker_filter_len(c), 2 * F * 3 * 3 * 3);
  cr_expect_eq(cod_code_worker_output_len(c), 4 * F * hh * OW);
  cr_expect_eq(cod_code_worker_macs(c), 4.0 * F * hh * OW * 3 * 3 * 3);
  const cod_conv_geom *wg = cod_code_worker_geom(c);
  cr_expect(wg->pad == 0 && wg->stride == 2 && wg->n_filters == 2 * F && wg->h == (hh - 1) * 2 + 3);
  cr_expect_str_eq(cod_code_scheme(c), "nsctc-rot");
  cod_code_free(c);
}

/* Recover the encoding matrices by encoding probes. Layer: C = max(m_in, m_filt) channels,
 * H = m_in rows, W = C columns, N = m_filt filters, 1x1 kernel, so slab a is input row a
 * and filter group b is filter b. Input probe: x[0][a][a] = 1, so coded slab (j, c) at
 * position t of its row 0 is A_j[c][t]; filter probe: filter b has weight 1 on channel b. */
typedef struct probe {
  size_t n, ea, eb, m_in, m_filt;
  double *A, *B; /* n*ea x m_in, n*eb x m_filt */
} probe;

static void probe_encoding(const cod_code_params *prm, size_t m_in, size_t m_filt, probe *pr) {
  size_t C = m_in > m_filt ? m_in : m_filt;
  cod_conv_geom g = tc_geom(C, m_in, C, m_filt, 1, 1, 1, 0);
  cod_code *c;
  cod_err err = {0};
  cr_assert_eq(cod_code_new(prm, &g, &c, &err), COD_OK, "%s", err.msg);
  cr_assert_eq(cod_code_partition(c)->m_in, m_in);
  cr_assert_eq(cod_code_partition(c)->m_filt, m_filt);
  pr->n = cod_code_workers(c);
  pr->ea = cod_code_slabs_per_worker(c);
  pr->eb = cod_code_groups_per_worker(c);
  pr->m_in = m_in;
  pr->m_filt = m_filt;
  size_t wi = cod_code_worker_input_len(c), wf = cod_code_worker_filter_len(c);
  size_t sl = wi / pr->ea, gl = wf / pr->eb;
  cr_assert_eq(sl, C * C);
  cr_assert_eq(gl, C);
  double *x = calloc(C * m_in * C, 8), *k = calloc(m_filt * C, 8);
  double *cx = malloc(pr->n * wi * 8), *ck = malloc(pr->n * wf * 8);
  pr->A = malloc(pr->n * pr->ea * m_in * 8);
  pr->B = malloc(pr->n * pr->eb * m_filt * 8);
  for (size_t a = 0; a < m_in; a++) x[a * C + a] = 1.0;
  for (size_t b = 0; b < m_filt; b++) k[b * C + b] = 1.0;
  cr_assert_eq(cod_code_encode_input(c, x, cx, &err), COD_OK);
  cr_assert_eq(cod_code_encode_filters(c, k, ck, &err), COD_OK);
  for (size_t r = 0; r < pr->n * pr->ea; r++)
    for (size_t t = 0; t < m_in; t++) pr->A[r * m_in + t] = cx[r * sl + t];
  for (size_t r = 0; r < pr->n * pr->eb; r++)
    for (size_t t = 0; t < m_filt; t++) pr->B[r * m_filt + t] = ck[r * gl + t];
  free(x), free(k), free(cx), free(ck);
  cod_code_free(c);
}

static void probe_fini(probe *pr) {
  free(pr->A);
  free(pr->B);
}

/* The real generator of a worker set: row (worker i, c, d), column (r, r'). */
static double *generator(const probe *pr, const size_t *ids, size_t d, size_t *rows, size_t *cols) {
  size_t per = pr->ea * pr->eb;
  *rows = d * per;
  *cols = pr->m_in * pr->m_filt;
  double *m = malloc(*rows * *cols * 8);
  for (size_t i = 0; i < d; i++)
    for (size_t a = 0; a < pr->ea; a++)
      for (size_t b = 0; b < pr->eb; b++)
        for (size_t r = 0; r < pr->m_in; r++)
          for (size_t s = 0; s < pr->m_filt; s++)
            m[((i * per + a * pr->eb + b) * *cols) + r * pr->m_filt + s] =
                pr->A[(ids[i] * pr->ea + a) * pr->m_in + r] * pr->B[(ids[i] * pr->eb + b) * pr->m_filt + s];
  return m;
}

static double rot_R(size_t p, size_t q, size_t a, size_t b) {
  double t = 2.0 * M_PI * (double)(p % q) / (double)q;
  double R[2][2] = {{cos(t), -sin(t)}, {sin(t), cos(t)}};
  return R[a][b];
}

Test(codes_structure, encoding_matrices_follow_the_math) {
  /* nsctc-rot: worker j's coded slab x is column 2j+x of G_A, block (i,j) = R^{kB*i*j};
   * coded group y is column 2j+y of G_B, block (l,j) = R^{l*j}. Entries are cos/sin of
   * reduced angles: equal to ~1 ulp. */
  const size_t n = 7, ka = 2, kb = 3, q = 7;
  cod_code_params p = tc_params("nsctc-rot", n, ka, kb);
  probe pr;
  probe_encoding(&p, 2 * ka, 2 * kb, &pr);
  cr_assert(pr.ea == 2 && pr.eb == 2);
  for (size_t j = 0; j < n; j++)
    for (size_t x = 0; x < 2; x++) {
      for (size_t i = 0; i < ka; i++)
        for (size_t a = 0; a < 2; a++)
          cr_expect_leq(fabs(pr.A[(2 * j + x) * 2 * ka + 2 * i + a] - rot_R(kb * i * j, q, a, x)),
                        4 * DBL_EPSILON, "G_A[%zu][%zu]", 2 * i + a, 2 * j + x);
      for (size_t l = 0; l < kb; l++)
        for (size_t b = 0; b < 2; b++)
          cr_expect_leq(fabs(pr.B[(2 * j + x) * 2 * kb + 2 * l + b] - rot_R(l * j, q, b, x)),
                        4 * DBL_EPSILON, "G_B[%zu][%zu]", 2 * l + b, 2 * j + x);
    }
  probe_fini(&pr);
  /* poly-real: x_j = -1 + 2(j+1)/n, input x^{kB*i}, filters x^l */
  p = tc_params("poly-real", n, ka, kb);
  probe_encoding(&p, ka, kb, &pr);
  for (size_t j = 0; j < n; j++) {
    double xj = -1.0 + 2.0 * (double)(j + 1) / (double)n;
    for (size_t i = 0; i < ka; i++)
      cr_expect_leq(fabs(pr.A[j * ka + i] - pow(xj, (double)(kb * i))), 4 * DBL_EPSILON);
    for (size_t l = 0; l < kb; l++)
      cr_expect_leq(fabs(pr.B[j * kb + l] - pow(xj, (double)l)), 4 * DBL_EPSILON);
  }
  probe_fini(&pr);
  /* poly-cheb: T_{kB*i}(x_j), T_l(x_j) at x_j = cos((2j+1)pi/(2n)), by the recurrence */
  p = tc_params("poly-cheb", n, ka, kb);
  probe_encoding(&p, ka, kb, &pr);
  for (size_t j = 0; j < n; j++) {
    double xj = cos((2.0 * j + 1.0) * M_PI / (2.0 * n)), T[16] = {1.0, xj};
    for (size_t e = 2; e < 16; e++) T[e] = 2 * xj * T[e - 1] - T[e - 2];
    for (size_t i = 0; i < ka; i++)
      cr_expect_leq(fabs(pr.A[j * ka + i] - T[kb * i]), 64 * DBL_EPSILON, "cheb A j=%zu i=%zu", j, i);
    for (size_t l = 0; l < kb; l++)
      cr_expect_leq(fabs(pr.B[j * kb + l] - T[l]), 64 * DBL_EPSILON);
  }
  probe_fini(&pr);
  /* nsctc-cir coding the input (k = 2, q = 5): every coded piece of every worker is a
   * sum of k data pieces or minus-sums, entries in {-1, 0, 1}, and each group's pieces sum
   * to zero over the q coded pieces of a worker (the zero DFT bin). */
  p = tc_params("nsctc-cir", 5, 2, 1);
  probe_encoding(&p, 2 * 4, 1, &pr);
  cr_expect_eq(pr.ea, 5);
  for (size_t j = 0; j < 5; j++)
    for (size_t col = 0; col < 8; col++) {
      double sum = 0;
      for (size_t t = 0; t < 5; t++) {
        double v = pr.A[(j * 5 + t) * 8 + col];
        cr_expect(v == 0 || v == 1 || v == -1);
        sum += v;
      }
      cr_expect_eq(sum, 0.0, "worker %zu data piece %zu: coded pieces sum to %g", j, col, sum);
    }
  probe_fini(&pr);
}

/* ---- condition numbers ----------------------------------------------------------------- */

Test(codes_cond, rot_equals_unit_circle_vandermonde_and_generator) {
  /* cond(G_S) = cond(V_S), V[i][e] = exp(2 pi i j_i e / q), e < delta (NSCTC-MATH 3).
   * Both sides are computed to ~cond*eps relative; 1e-8 is ample. */
  const size_t cfg[][3] = {{8, 2, 3}, {9, 3, 2}, {10, 2, 2}};
  for (size_t c = 0; c < 3; c++) {
    size_t n = cfg[c][0], ka = cfg[c][1], kb = cfg[c][2], d = ka * kb;
    cod_code_params p = tc_params("nsctc-rot", n, ka, kb);
    probe pr;
    probe_encoding(&p, 2 * ka, 2 * kb, &pr);
    cod_conv_geom g = tc_geom(2, 11, 7, 5, 3, 3, 1, 1);
    tc_run r;
    tc_run_init(&r, &p, &g, c, COD_F64);
    double *v = malloc(2 * d * d * 8), *y = malloc(r.out_len * 8);
    size_t set[64];
    tc_comb_init(set, d);
    double worst = 0;
    do {
      for (size_t i = 0; i < d; i++)
        for (size_t e = 0; e < d; e++) {
          double t = 2 * M_PI * (double)((set[i] * e) % n) / (double)n;
          v[2 * (i * d + e)] = cos(t);
          v[2 * (i * d + e) + 1] = sin(t);
        }
      double kv = tc_cond_complex(v, d), klib;
      cr_assert_eq(cod_code_cond(r.code, set, d, &klib, NULL), COD_OK);
      cr_expect_leq(fabs(klib - kv), 1e-8 * kv, "cod_code_cond %.17g vs Vandermonde %.17g", klib, kv);
      size_t rows, cols;
      double *G = generator(&pr, set, d, &rows, &cols);
      cr_assert_eq(rows, 4 * d);
      double kg = tc_cond_real(G, rows, cols);
      cr_expect_leq(fabs(kg - kv), 1e-8 * kv, "generator %.17g vs Vandermonde %.17g", kg, kv);
      free(G);
      cod_decode_info info;
      cr_assert_eq(tc_run_decode(&r, set, d, COD_DECODE_GENERIC, y, &info, NULL), COD_OK);
      cr_expect_leq(fabs(info.cond - kv), 1e-8 * kv, "generic decode cond %.17g", info.cond);
      cr_assert_eq(tc_run_decode(&r, set, d, COD_DECODE_FAST, y, &info, NULL), COD_OK);
      cr_expect_leq(fabs(info.cond - kv), 1e-8 * kv, "fast decode cond %.17g", info.cond);
      if (kv > worst) worst = kv;
    } while (tc_comb_next(set, d, n));
    cr_log_info("nsctc-rot (%zu,%zu,%zu): worst cond over all subsets %.4g", n, ka, kb, worst);
    free(v), free(y);
    probe_fini(&pr);
    tc_run_fini(&r);
  }
}

Test(codes_cond, generic_schemes_match_generator) {
  /* Schemes without a structured cond: cod_code_cond is the SVD of the generator. */
  const char *schemes[] = {"poly-real", "poly-cheb", "nsctc-cir"};
  const size_t cfg[][3] = {{7, 2, 2}, {7, 3, 2}, {5, 1, 3}};
  for (size_t s = 0; s < 3; s++) {
    cod_code_params p = tc_params(schemes[s], cfg[s][0], cfg[s][1], cfg[s][2]);
    size_t q = 5, d = cfg[s][1] * cfg[s][2];
    probe pr;
    if (s == 2) probe_encoding(&p, 1, d * (q - 1), &pr);
    else probe_encoding(&p, cfg[s][1], cfg[s][2], &pr);
    cod_conv_geom g = tc_geom(2, 11, 7, 5, 3, 3, 1, 1);
    cod_code *c;
    cr_assert_eq(cod_code_new(&p, &g, &c, NULL), COD_OK);
    size_t set[16];
    tc_comb_init(set, d);
    do {
      size_t rows, cols;
      double *G = generator(&pr, set, d, &rows, &cols), k;
      double kg = tc_cond_real(G, rows, cols);
      cr_assert_eq(cod_code_cond(c, set, d, &k, NULL), COD_OK);
      cr_expect_leq(fabs(k - kg), 1e-8 * kg, "%s: %.17g vs %.17g", schemes[s], k, kg);
      free(G);
    } while (tc_comb_next(set, d, cfg[s][0]));
    cod_code_free(c);
    probe_fini(&pr);
  }
}

Test(codes_cond, search_exhaustive_flag_and_determinism) {
  cod_conv_geom g = tc_geom(2, 11, 7, 5, 3, 3, 1, 1);
  cod_code_params p = tc_params("nsctc-rot", 8, 2, 3);
  cod_code *c;
  cr_assert_eq(cod_code_new(&p, &g, &c, NULL), COD_OK);
  size_t d = 6, set[8];
  double worst = 0, sum = 0, cnt = 0;
  tc_comb_init(set, d);
  do {
    double k;
    cr_assert_eq(cod_code_cond(c, set, d, &k, NULL), COD_OK);
    if (k > worst) worst = k;
    sum += k, cnt++;
  } while (tc_comb_next(set, d, 8));
  cr_assert_eq(cnt, 28);
  cod_cond_search_result st;
  cod_err err = {0};
  cr_assert_eq(tc_cond_search(c, 28, 5, 1, &st, &err), COD_OK, "%s", err.msg);
  cr_expect_eq(st.exhaustive, 1);
  cr_expect_eq(st.sets_tried, 28);
  cr_expect_eq(st.worst, worst);
  cr_expect_leq(fabs(st.mean - sum / cnt), 1e-12 * st.mean);
  double kw;
  cr_assert_eq(cod_code_cond(c, st.worst_set, d, &kw, NULL), COD_OK);
  cr_expect_eq(kw, worst, "worst_set does not have the worst condition number");
  /* one fewer allowed: sampling, exactly `samples` sets */
  cod_cond_search_result s1, s2, s3;
  cr_assert_eq(tc_cond_search(c, 27, 40, 12345, &s1, NULL), COD_OK);
  cr_assert_eq(tc_cond_search(c, 27, 40, 12345, &s2, NULL), COD_OK);
  cr_assert_eq(tc_cond_search(c, 0, 40, 999, &s3, NULL), COD_OK);
  cr_expect_eq(s1.exhaustive, 0);
  cr_expect_eq(s1.sets_tried, 40);
  /* row order changes the SVD's rounding only: equal to ~cond*eps */
  cr_expect_leq(s1.worst, worst * (1 + 1e-12), "sampled %.17g > exhaustive %.17g", s1.worst, worst);
  cr_expect_geq(s1.worst, 1.0);
  cr_expect(s1.worst == s2.worst && s1.mean == s2.mean, "same seed, different result");
  cr_expect(memcmp(s1.worst_set, s2.worst_set, d * sizeof(size_t)) == 0);
  int distinct = 1;
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < i; j++)
      if (s3.worst_set[i] == s3.worst_set[j] || s3.worst_set[i] >= 8) distinct = 0;
  cr_expect(distinct, "sampled worst set is not a set of workers");
  cr_assert_eq(cod_code_cond(c, s3.worst_set, d, &kw, NULL), COD_OK);
  cr_expect_eq(kw, s3.worst);
  cod_cond_search_result_fini(&st);
  cod_cond_search_result_fini(&s1);
  cod_cond_search_result_fini(&s2);
  cod_cond_search_result_fini(&s3);
  cod_code_free(c);
}

/* Progress: called once per set, `done` counting up to the planned number, with the
 * exhaustive flag of the pass. */
typedef struct progress_log {
  size_t calls, last_done, bad;
  double planned;
  int exhaustive;
} progress_log;

static void progress_record(void *ctx, size_t done, double planned, int exhaustive) {
  progress_log *l = ctx;
  if (done != l->last_done + 1 || (l->calls && planned != l->planned)) l->bad++;
  l->calls++, l->last_done = done, l->planned = planned, l->exhaustive = exhaustive;
}

Test(codes_cond, search_budget_progress_and_errors) {
  cod_conv_geom g = tc_geom(2, 11, 7, 5, 3, 3, 1, 1);
  cod_code_params p = tc_params("nsctc-rot", 8, 2, 3);
  cod_code *c;
  cr_assert_eq(cod_code_new(&p, &g, &c, NULL), COD_OK);
  /* no time bound: all 28 sets, each reported */
  cod_cond_search_opts o = tc_search_opts(INFINITY, 5, 1);
  progress_log log = {0};
  o.progress = progress_record, o.progress_ctx = &log;
  cod_cond_search_result st;
  cr_assert_eq(cod_code_cond_search(c, &o, &st, NULL), COD_OK);
  cr_expect(st.exhaustive && !st.budget_hit && st.sets_tried == 28 && st.sets_total == 28);
  cr_expect(log.calls == 28 && log.bad == 0 && log.planned == 28 && log.exhaustive == 1);
  cr_expect_eq(st.n_worst_set, 6);
  cod_cond_search_result_fini(&st);
  cr_expect_null(st.worst_set);
  /* a budget no set fits: the exhaustive pass is dropped after its first set, and
   * sampling stops after its first set too; both say so */
  o.budget_s = 1e-12;
  log = (progress_log){0};
  cr_assert_eq(cod_code_cond_search(c, &o, &st, NULL), COD_OK);
  cr_expect(!st.exhaustive && st.budget_hit && st.sets_tried == 1 && st.seed == 1,
            "exhaustive %d budget_hit %d tried %zu", st.exhaustive, st.budget_hit, st.sets_tried);
  cr_expect(isfinite(st.worst) && st.worst >= 1.0);
  cod_cond_search_result_fini(&st);
  /* a sampled result depends on the seed only, not on how long the dropped pass ran */
  cod_cond_search_result a, b;
  o = tc_search_opts(0, 7, 99);
  cr_assert_eq(cod_code_cond_search(c, &o, &a, NULL), COD_OK);
  o.max_exhaustive = INFINITY, o.budget_s = 1e-12;
  o.samples = 1;
  cr_assert_eq(cod_code_cond_search(c, &o, &b, NULL), COD_OK);
  cr_expect(b.sets_tried == 1 && a.sets_tried == 7);
  cod_cond_search_result_fini(&a);
  cod_cond_search_result_fini(&b);
  /* bad options are refused, the result untouched */
  cod_err err = {0};
  memset(&st, 0x5A, sizeof st);
  cod_cond_search_result before = st;
  o = tc_search_opts(INFINITY, 5, 1);
  o.samples = 0;
  cr_expect_eq(cod_code_cond_search(c, &o, &st, &err), COD_EINVAL);
  cr_expect(strstr(err.msg, "samples") != NULL, "%s", err.msg);
  o = tc_search_opts(INFINITY, 5, 1);
  o.budget_s = 0;
  cr_expect_eq(cod_code_cond_search(c, &o, &st, &err), COD_EINVAL);
  cr_expect(strstr(err.msg, "budget") != NULL, "%s", err.msg);
  cr_expect(memcmp(&st, &before, sizeof st) == 0, "result written on error");
  /* NULL options are the defaults (3 s budget: 28 sets fit easily) */
  cr_assert_eq(cod_code_cond_search(c, NULL, &st, NULL), COD_OK);
  cr_expect(st.exhaustive && st.sets_tried == 28);
  cod_cond_search_result_fini(&st);
  cod_code_free(c);
}

/* ---- precision, noise -------------------------------------------------------------------- */

Test(codes_worker, fp32_compute_is_single_precision) {
  cod_conv_geom g = tc_geom(4, 13, 9, 6, 3, 3, 1, 1);
  cod_code_params p = tc_params("nsctc-rot", 6, 2, 2);
  tc_run r64, r32;
  tc_run_init(&r64, &p, &g, 3, COD_F64);
  tc_run_init(&r32, &p, &g, 3, COD_F32);
  size_t wo = cod_code_worker_output_len(r64.code), ckk = 4 * 9;
  double worst = 0, mx = 0;
  for (size_t j = 0; j < 6; j++) {
    double e = tc_rel_err(r32.res[j], r64.res[j], wo);
    if (e > worst) worst = e;
    for (size_t i = 0; i < wo; i++) mx = fmax(mx, fabs(r64.res[j][i]));
  }
  /* inputs rounded to fp32 and fp32 accumulation: ~sqrt(CKK)*FLT_EPSILON relative to the
   * largest output; coded operands are O(1) sums, so allow 16x that. But it must not be
   * fp64-accurate either. */
  cr_expect_leq(worst, 16 * sqrt((double)ckk) * FLT_EPSILON, "fp32 worker error %.3g", worst);
  cr_expect_geq(worst, 1e3 * DBL_EPSILON, "fp32 workers look like fp64 (%.3g)", worst);
  tc_run_fini(&r64);
  tc_run_fini(&r32);
}

/* bf16/fp16 workers: the result equals the fp64 convolution of the ROUNDED operands to
 * fp32-accumulation accuracy (so the operands were rounded once and nothing else), and
 * differs from the unrounded fp64 result by the format's unit roundoff, not less. */
Test(codes_worker, half_compute_rounds_operands_and_accumulates_in_fp32) {
  cod_conv_geom g = tc_geom(4, 13, 9, 6, 3, 3, 1, 1);
  cod_code_params p = tc_params("nsctc-rot", 6, 2, 2);
  tc_run r;
  tc_run_init(&r, &p, &g, 5, COD_F64);
  size_t wi = cod_code_worker_input_len(r.code), wf = cod_code_worker_filter_len(r.code);
  size_t wo = cod_code_worker_output_len(r.code), ckk = 4 * 9;
  void *work = malloc(cod_code_worker_workspace_bytes(r.code, COD_F32));
  void *w64 = malloc(cod_code_worker_workspace_bytes(r.code, COD_F64) + 1);
  double *out = malloc(wo * 8), *ref = malloc(wo * 8), *xr = malloc(wi * 8), *kr = malloc(wf * 8);
  float *tmp = malloc((wi > wf ? wi : wf) * 4);
  const cod_half_format fmts[2] = {COD_HALF_BF16, COD_HALF_FP16};
  const double unit[2] = {ldexp(1, -8), ldexp(1, -11)}; /* 2^-p: twice the unit roundoff */
  for (int f = 0; f < 2; f++) {
    double worst_ref = 0, worst_64 = 0;
    for (size_t j = 0; j < r.n; j++) {
      size_t over = 99;
      cr_assert_eq(cod_code_worker_compute_half(r.code, fmts[f], r.cx + j * wi, r.ck + j * wf,
                                                out, work, &over), COD_OK);
      cr_assert_eq(over, 0);
      cr_assert_eq(cod_half_round_f64(fmts[f], r.cx + j * wi, wi, tmp), 0);
      for (size_t i = 0; i < wi; i++) xr[i] = tmp[i];
      cr_assert_eq(cod_half_round_f64(fmts[f], r.ck + j * wf, wf, tmp), 0);
      for (size_t i = 0; i < wf; i++) kr[i] = tmp[i];
      cod_code_worker_compute(r.code, COD_F64, xr, kr, ref, w64);
      worst_ref = fmax(worst_ref, tc_rel_err(out, ref, wo));
      worst_64 = fmax(worst_64, tc_rel_err(out, r.res[j], wo));
    }
    cr_expect_leq(worst_ref, 16 * sqrt((double)ckk) * FLT_EPSILON, "%s: not fp32 accumulation "
                  "of the rounded operands (%.3g)", cod_half_name(fmts[f]), worst_ref);
    cr_expect_leq(worst_64, 16 * sqrt((double)ckk) * unit[f], "%s error %.3g",
                  cod_half_name(fmts[f]), worst_64);
    cr_expect_geq(worst_64, unit[f] / 64, "%s workers look more accurate than the format (%.3g)",
                  cod_half_name(fmts[f]), worst_64);
  }
  free(work), free(w64), free(out), free(ref), free(xr), free(kr), free(tmp);
  tc_run_fini(&r);
}

/* An fp16 operand beyond 65504 is a numeric failure of the worker, never a number. */
Test(codes_worker, fp16_overflow_is_a_numeric_failure) {
  cod_conv_geom g = tc_geom(3, 8, 7, 4, 3, 3, 1, 0);
  cod_code_params p = tc_params("nsctc-rot", 4, 1, 2);
  tc_run r;
  tc_run_init(&r, &p, &g, 6, COD_F64);
  size_t wi = cod_code_worker_input_len(r.code);
  size_t wo = cod_code_worker_output_len(r.code);
  double *x = malloc(wi * 8), *out = malloc(wo * 8);
  void *work = malloc(cod_code_worker_workspace_bytes(r.code, COD_F32));
  memcpy(x, r.cx, wi * 8);
  x[wi / 2] = 7e4, x[1] = -1e6;
  size_t over = 0;
  cr_expect_eq(cod_code_worker_compute_half(r.code, COD_HALF_FP16, x, r.ck, out, work, &over),
               COD_ENUMERIC);
  cr_expect_eq(over, 2);
  for (size_t i = 0; i < wo; i++) cr_assert(isnan(out[i]), "overflowed worker stored a number");
  /* bf16 has fp32's range: the same operands are fine */
  cr_expect_eq(cod_code_worker_compute_half(r.code, COD_HALF_BF16, x, r.ck, out, work, &over),
               COD_OK);
  cr_expect_eq(over, 0);
  free(x), free(out), free(work);
  tc_run_fini(&r);
}

/* The worker workspace is exactly what cod_code_worker_workspace_bytes says: a canary
 * after it survives, and garbage in it does not change the results. */
Test(codes_worker, workspace_is_sufficient) {
  const cod_conv_geom gs[2] = {tc_geom(4, 13, 9, 6, 3, 3, 1, 1), tc_geom(5, 9, 8, 4, 1, 1, 1, 0)};
  for (int gi = 0; gi < 2; gi++)
    for (int prec = 0; prec < 2; prec++) {
      cod_code_params p = tc_params("nsctc-rot", 6, 2, 2);
      tc_run r;
      tc_run_init(&r, &p, &gs[gi], 4, (cod_dtype)prec);
      size_t wb = cod_code_worker_workspace_bytes(r.code, (cod_dtype)prec);
      size_t wi = cod_code_worker_input_len(r.code), wf = cod_code_worker_filter_len(r.code);
      size_t wo = cod_code_worker_output_len(r.code);
      unsigned char *w = malloc(wb + 256);
      double *out = malloc(wo * 8);
      memset(w, 0xFF, wb);
      memset(w + wb, 0xC5, 256);
      for (size_t j = 0; j < r.n; j++) {
        cod_code_worker_compute(r.code, (cod_dtype)prec, r.cx + j * wi, r.ck + j * wf, out, w);
        cr_expect(memcmp(out, r.res[j], wo * 8) == 0, "worker %zu: result depends on workspace", j);
      }
      size_t over = 0;
      for (size_t i = 0; i < 256; i++) over += w[wb + i] != 0xC5;
      cr_expect_eq(over, 0, "geom %d prec %d: worker workspace overrun", gi, prec);
      free(w);
      free(out);
      tc_run_fini(&r);
    }
}

/* Input classes: nsctc-rot's coefficients R^{k_B*i*j mod q} repeat every q/gcd(k_B, q)
 * workers (n = q = 20, k_B = 4: period 5), k_A = 1 gives every worker the plain slabs, and
 * poly-real's input coefficients x_j^{k_B*i} with even k_B are equal for the nodes +x and -x
 * (n = 8: nodes -0.75..1 in steps of 0.25, squares 0.5625, 0.25, 0.0625, 0, 1: 5 classes). Workers of a class get equal coded
 * inputs (checked on the all-worker encoding, bit for bit), and the per-class encoding
 * gives each class exactly those values. */
Test(codes_worker, input_classes_are_equal_coded_inputs) {
  cod_conv_geom g = tc_geom(3, 17, 9, 8, 3, 3, 1, 1);
  const struct { const char *scheme; size_t n, ka, kb, classes; } cases[] = {
      {"nsctc-rot", 20, 4, 2, 10}, {"nsctc-rot", 20, 2, 4, 5}, {"nsctc-rot", 20, 1, 4, 1},
      {"nsctc-rot", 7, 2, 2, 7}, {"poly-real", 8, 2, 2, 5}, {"poly-real", 8, 2, 1, 8}};
  for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
    cod_code_params p = tc_params(cases[t].scheme, cases[t].n, cases[t].ka, cases[t].kb);
    tc_run r;
    tc_run_init(&r, &p, &g, 21 + t, COD_F64);
    size_t ncl = cod_code_input_classes(r.code), il = cod_code_worker_input_len(r.code);
    cr_expect_eq(ncl, cases[t].classes, "%s n=%zu %zux%zu: %zu classes", cases[t].scheme,
                 cases[t].n, cases[t].ka, cases[t].kb, ncl);
    double *cls = malloc(ncl * il * sizeof *cls);
    void *work = malloc(cod_code_encode_workspace_bytes(r.code));
    cod_code_encode_input_classes_work(r.code, r.x, cls, work);
    size_t seen = 0;
    for (size_t j = 0; j < r.n; j++) {
      size_t cl = cod_code_input_class(r.code, j);
      cr_assert_lt(cl, ncl);
      seen = cl + 1 > seen ? cl + 1 : seen;
      cr_expect_leq(cl, seen - 1, "classes are numbered by first worker");
      for (size_t i = 0; i < r.n; i++) /* same class iff same coded input */
        cr_expect_eq(cod_code_input_class(r.code, i) == cl,
                     memcmp(r.cx + i * il, r.cx + j * il, il * sizeof *r.cx) == 0,
                     "workers %zu and %zu", i, j);
      cr_expect(memcmp(cls + cl * il, r.cx + j * il, il * sizeof *cls) == 0,
                "worker %zu: the per-class encoding differs", j);
    }
    cr_expect_eq(seen, ncl);
    free(cls), free(work);
    tc_run_fini(&r);
  }
}

/* The worker convolution in halves (the columns once, then each worker's GEMM) and a
 * class's workers in one GEMM give cod_code_worker_compute's result bit for bit (fp64;
 * fp32 halves too), and the workspaces are what the sizes say (canaries survive). */
Test(codes_worker, shared_columns_and_class_gemm_match_the_worker) {
  cod_conv_geom g = tc_geom(4, 21, 12, 8, 3, 3, 1, 1);
  cod_code_params p = tc_params("nsctc-rot", 20, 2, 4); /* 5 classes of 4 */
  for (int prec = 0; prec < 2; prec++) {
    tc_run r;
    tc_run_init(&r, &p, &g, 31 + prec, (cod_dtype)prec);
    const cod_code *c = r.code;
    size_t il = cod_code_worker_input_len(c), fl = cod_code_worker_filter_len(c);
    size_t wo = cod_code_worker_output_len(c), cb = cod_code_worker_cols_bytes(c, prec);
    cr_assert_gt(cb, 0);
    size_t wb = cod_code_worker_workspace_bytes(c, prec);
    unsigned char *cols = malloc(cb + 64), *w = malloc(wb + 64);
    double *out = malloc(wo * sizeof *out);
    memset(cols + cb, 0xC5, 64), memset(w + wb, 0xC5, 64);
    for (size_t j = 0; j < r.n; j++) {
      cod_code_worker_cols(c, prec, r.cx + j * il, cols);
      cod_code_worker_compute_cols(c, prec, cols, r.ck + j * fl, out, w);
      cr_expect(memcmp(out, r.res[j], wo * sizeof *out) == 0, "prec %d worker %zu", prec, j);
    }
    if (prec == COD_F64) {
      size_t nw = 0;
      const double *kin[4];
      double *outs[4];
      for (size_t j = 0; j < r.n; j++)
        if (cod_code_input_class(c, j) == 1) kin[nw] = r.ck + j * fl, outs[nw] = malloc(wo * 8), nw++;
      cr_assert_eq(nw, 4);
      size_t sb = cod_code_workers_cols_workspace_bytes(c, COD_F64, nw);
      unsigned char *ws = malloc(sb + 64);
      memset(ws + sb, 0xC5, 64);
      for (size_t j = 0; j < r.n; j++)
        if (cod_code_input_class(c, j) == 1) {
          cod_code_worker_cols(c, COD_F64, r.cx + j * il, cols);
          break;
        }
      cod_code_workers_compute_cols(c, COD_F64, cols, nw, kin, outs, ws);
      for (size_t i = 0, m = 0; i < r.n; i++)
        if (cod_code_input_class(c, i) == 1) {
          cr_expect(memcmp(outs[m], r.res[i], wo * 8) == 0, "class GEMM: worker %zu", i);
          free(outs[m++]);
        }
      size_t over = 0;
      for (size_t i = 0; i < 64; i++) over += ws[sb + i] != 0xC5;
      cr_expect_eq(over, 0, "class workspace overrun");
      free(ws);
    }
    size_t over = 0;
    for (size_t i = 0; i < 64; i++) over += (cols[cb + i] != 0xC5) + (w[wb + i] != 0xC5);
    cr_expect_eq(over, 0, "prec %d: columns or workspace overrun", prec);
    free(cols), free(w), free(out);
    tc_run_fini(&r);
  }
}

/* Class-major order: a permutation whose positions run through the classes in order and,
 * within a class, through its workers by index (checked against the classes themselves,
 * for several class structures: 5 classes of 4, pairs, one class, and n classes), with
 * cod_code_class_major_worker its inverse; cod_code_permute_class_major moves each
 * worker's block, bit for bit, to its position (seeded blocks, compared with a copy). */
Test(codes_worker, class_major_order_permutes_the_blocks) {
  cod_conv_geom g = tc_geom(4, 21, 12, 8, 3, 3, 1, 1);
  struct { const char *scheme; size_t n, ka, kb, classes; } cs[] = {
      {"nsctc-rot", 20, 2, 4, 5}, {"nsctc-rot", 20, 4, 2, 10}, {"nsctc-rot", 12, 1, 4, 1},
      {"nsctc-rot", 7, 2, 3, 7}};
  for (size_t t = 0; t < sizeof cs / sizeof *cs; t++) {
    cod_code_params p = tc_params(cs[t].scheme, cs[t].n, cs[t].ka, cs[t].kb);
    cod_code *c = NULL;
    cod_err e = {0};
    cr_assert_eq(cod_code_new(&p, &g, &c, &e), COD_OK, "%s", e.msg);
    size_t n = cod_code_workers(c);
    cr_expect_eq(cod_code_input_classes(c), cs[t].classes, "case %zu", t);
    unsigned char seen[32] = {0};
    for (size_t pos = 0; pos < n; pos++) {
      size_t j = cod_code_class_major_worker(c, pos);
      cr_assert_lt(j, n);
      cr_expect_eq(cod_code_class_major_slot(c, j), pos, "case %zu: inverse at %zu", t, pos);
      seen[j]++;
      if (pos) { /* classes in order, and within one by worker index */
        size_t i = cod_code_class_major_worker(c, pos - 1);
        size_t ci = cod_code_input_class(c, i), cj = cod_code_input_class(c, j);
        cr_expect(ci < cj || (ci == cj && i < j), "case %zu: position %zu out of order", t, pos);
      }
    }
    for (size_t j = 0; j < n; j++) cr_expect_eq(seen[j], 1, "case %zu: worker %zu", t, j);
    /* blocks shorter than, equal to and longer than a stripe (the last one partial) */
    size_t lens[] = {37, 512, 1300};
    for (size_t li = 0; li < 3; li++) {
      size_t len = lens[li];
      gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
      gsl_rng_set(r, 71 + t);
      double *d = malloc((n * len + 8) * sizeof *d), *ref = malloc(n * len * sizeof *ref);
      for (size_t i = 0; i < n * len; i++) d[i] = ref[i] = gsl_ran_gaussian(r, 1.0);
      for (size_t i = 0; i < 8; i++) d[n * len + i] = 12345.0;
      cod_code_permute_class_major(c, d, len);
      for (size_t j = 0; j < n; j++)
        cr_expect(memcmp(d + cod_code_class_major_slot(c, j) * len, ref + j * len,
                         len * sizeof *d) == 0, "case %zu, length %zu: worker %zu's block", t,
                  len, j);
      for (size_t i = 0; i < 8; i++) cr_expect_eq(d[n * len + i], 12345.0, "overrun");
      free(d), free(ref);
      gsl_rng_free(r);
    }
    cod_code_free(c);
  }
}

/* A class's filters stored side by side (class-major) are read in place by the class
 * GEMM: the same numbers as each worker's own convolution, for the whole class and for
 * a run of two inside it, and no workspace byte beyond the stated size is touched. */
Test(codes_worker, class_gemm_reads_adjacent_filters_in_place) {
  cod_conv_geom g = tc_geom(4, 21, 12, 8, 3, 3, 1, 1);
  cod_code_params p = tc_params("nsctc-rot", 20, 2, 4); /* 5 classes of 4 */
  tc_run r;
  tc_run_init(&r, &p, &g, 33, COD_F64);
  const cod_code *c = r.code;
  size_t il = cod_code_worker_input_len(c), fl = cod_code_worker_filter_len(c);
  size_t wo = cod_code_worker_output_len(c), cb = cod_code_worker_cols_bytes(c, COD_F64);
  double *cm = malloc(r.n * fl * sizeof *cm);
  memcpy(cm, r.ck, r.n * fl * sizeof *cm);
  cod_code_permute_class_major(c, cm, fl);
  unsigned char *cols = malloc(cb);
  for (size_t cl = 0; cl < cod_code_input_classes(c); cl++) {
    size_t ws[4], nw = 0; /* the class's workers, in class-major order */
    for (size_t pos = 0; pos < r.n; pos++)
      if (cod_code_input_class(c, cod_code_class_major_worker(c, pos)) == cl)
        ws[nw++] = cod_code_class_major_worker(c, pos);
    cr_assert_eq(nw, 4);
    cod_code_worker_cols(c, COD_F64, r.cx + ws[0] * il, cols);
    for (size_t first = 0; first < 2; first++) { /* all four, then the run ws[1..2] */
      size_t m = first ? 2 : 4, a = first;
      const double *kin[4];
      double *outs[4];
      for (size_t i = 0; i < m; i++) {
        kin[i] = cm + cod_code_class_major_slot(c, ws[a + i]) * fl;
        outs[i] = malloc(wo * sizeof **outs);
      }
      cr_assert_eq(kin[m - 1], kin[0] + (m - 1) * fl, "class-major: adjacent");
      size_t sb = cod_code_workers_cols_workspace_bytes(c, COD_F64, m);
      unsigned char *w = malloc(sb + 64);
      memset(w + sb, 0xC5, 64);
      cod_code_workers_compute_cols(c, COD_F64, cols, m, kin, outs, w);
      for (size_t i = 0; i < m; i++) {
        cr_expect(memcmp(outs[i], r.res[ws[a + i]], wo * sizeof **outs) == 0,
                  "class %zu worker %zu (of %zu)", cl, ws[a + i], m);
        free(outs[i]);
      }
      size_t over = 0;
      for (size_t i = 0; i < 64; i++) over += w[sb + i] != 0xC5;
      cr_expect_eq(over, 0, "class workspace overrun");
      free(w);
    }
  }
  free(cm), free(cols);
  tc_run_fini(&r);
}

/* The gains bound the coded values: |coded| <= gain * max |plain|, attained within 1e-12
 * on this code (cos + sin sums), and equal to 1 for the identity rows of k_A = 1. */
Test(codes_worker, gains_bound_the_coded_operands) {
  cod_conv_geom g = tc_geom(3, 17, 9, 8, 3, 3, 1, 1);
  cod_code_params p = tc_params("nsctc-rot", 20, 2, 4);
  tc_run r;
  tc_run_init(&r, &p, &g, 41, COD_F64);
  double xm = 0, km = 0, cxm = 0, ckm = 0;
  for (size_t i = 0; i < cod_conv_input_len(&g); i++) xm = fmax(xm, fabs(r.x[i]));
  for (size_t i = 0; i < cod_conv_filter_len(&g); i++) km = fmax(km, fabs(r.k[i]));
  for (size_t i = 0; i < r.n * cod_code_worker_input_len(r.code); i++) cxm = fmax(cxm, fabs(r.cx[i]));
  for (size_t i = 0; i < r.n * cod_code_worker_filter_len(r.code); i++) ckm = fmax(ckm, fabs(r.ck[i]));
  double ga = cod_code_input_gain(r.code), gb = cod_code_filter_gain(r.code);
  cr_expect_leq(cxm, ga * xm * (1 + 1e-15));
  cr_expect_leq(ckm, gb * km * (1 + 1e-15));
  cr_expect_gt(ga, 1.0);
  cr_expect_leq(ga, 4.0 * sqrt(2.0));
  tc_run_fini(&r);
  cod_code_params p1 = tc_params("nsctc-rot", 20, 1, 4);
  tc_run_init(&r, &p1, &g, 42, COD_F64);
  cr_expect_eq(cod_code_input_gain(r.code), 1.0);
  tc_run_fini(&r);
}

/* cod_code_cond_search promises the worst condition number over all C(n, delta) sets.
 * For replication most delta-sets miss a block: their recovery matrix is singular, so
 * the worst case is infinite; the search must still report (not fail with
 * COD_EUNDECODABLE), or replication cannot be put in the same stability table. */
Test(codes_cond, search_on_replication) {
  cod_conv_geom g = tc_geom(2, 11, 7, 5, 3, 3, 1, 1);
  cod_code_params p = tc_params("replication", 8, 2, 2);
  cod_code *c;
  cr_assert_eq(cod_code_new(&p, &g, &c, NULL), COD_OK);
  cod_cond_search_result st;
  cod_err err = {0};
  int rc = tc_cond_search(c, 1e4, 0, 1, &st, &err);
  cr_expect_eq(rc, COD_OK, "cond_search on replication: rc %d (%s)", rc, err.msg);
  if (rc == COD_OK) cr_expect(st.worst >= 1.0 && st.sets_tried == 70);
  if (rc == COD_OK) cod_cond_search_result_fini(&st);
  cod_code_free(c);
}

Test(codes_noise, measured_snr_matches_request) {
  const size_t len = 1u << 20;
  double *a = malloc(len * 8), *b = malloc(len * 8);
  tc_fill(a, len, 31);
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 2024);
  const double snrs[4] = {0, 20, 45.5, 100};
  for (int s = 0; s < 4; s++) {
    memcpy(b, a, len * 8);
    cod_noise_add(b, len, snrs[s], rng);
    double ps = 0, pn = 0;
    for (size_t i = 0; i < len; i++) ps += a[i] * a[i], pn += (b[i] - a[i]) * (b[i] - a[i]);
    double measured = 10 * log10(ps / pn);
    /* 2^20 samples: the noise power estimate has relative sd sqrt(2/len) ~ 1.4e-3, i.e.
     * 0.006 dB; 0.2 dB is > 30 sd. */
    cr_expect_leq(fabs(measured - snrs[s]), 0.2, "asked %.1f dB, measured %.3f dB", snrs[s], measured);
  }
  memcpy(b, a, len * 8);
  cod_noise_add(b, len, INFINITY, rng);
  cr_expect(memcmp(a, b, len * 8) == 0, "infinite SNR changed the buffer");
  cod_noise_add(b, 0, 10, rng); /* empty buffer: nothing to do */
  gsl_rng_free(rng);
  free(a);
  free(b);
}

/* Normalized MSE of nsctc-rot decoding with noise of the given SNR on every worker result. */
static double noisy_nmse(const tc_run *r, const size_t *set, size_t d, double snr, gsl_rng *rng,
                         int trials) {
  size_t wo = cod_code_worker_output_len(r->code);
  double *y = malloc(r->out_len * 8), sum = 0;
  double **noisy = malloc(d * sizeof *noisy);
  for (size_t i = 0; i < d; i++) noisy[i] = malloc(wo * 8);
  for (int t = 0; t < trials; t++) {
    for (size_t i = 0; i < d; i++) {
      memcpy(noisy[i], r->res[set[i]], wo * 8);
      cod_noise_add(noisy[i], wo, snr, rng);
    }
    cr_assert_eq(cod_code_decode(r->code, set, d, (const double *const *)noisy, COD_DECODE_FAST, y,
                                 NULL, NULL), COD_OK);
    sum += tc_nmse(y, r->yref, r->out_len);
  }
  for (size_t i = 0; i < d; i++) free(noisy[i]);
  free(noisy);
  free(y);
  return sum / trials;
}

Test(codes_noise, rot_mse_falls_tenfold_per_10db) {
  cod_conv_geom g = tc_geom(3, 17, 13, 8, 3, 3, 1, 1);
  cod_code_params p = tc_params("nsctc-rot", 12, 3, 3);
  tc_run r;
  tc_run_init(&r, &p, &g, 8, COD_F64);
  cod_cond_search_result st;
  cr_assert_eq(tc_cond_search(r.code, 1e4, 0, 1, &st, NULL), COD_OK);
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 7);
  double m80 = noisy_nmse(&r, st.worst_set, 9, 80, rng, 8);
  double m90 = noisy_nmse(&r, st.worst_set, 9, 90, rng, 8);
  double m100 = noisy_nmse(&r, st.worst_set, 9, 100, rng, 8);
  cr_log_info("nsctc-rot (12,3,3) worst set (cond %.3g): NMSE %.3g @80dB %.3g @90dB %.3g @100dB",
              st.worst, m80, m90, m100);
  /* noise power scales by 10 per 10 dB and decoding is linear: ratio 100 over 20 dB, up to
   * the sampling spread of 8 trials */
  cr_expect(m80 / m100 >= 30 && m80 / m100 <= 300, "80/100 dB ratio %.3g", m80 / m100);
  cr_expect(m80 / m90 >= 3 && m80 / m90 <= 30, "80/90 dB ratio %.3g", m80 / m90);
  /* amplification bounded by cond^2: NMSE <= cond^2 * 10^(-snr/10) (with slack 10) */
  cr_expect_leq(m80, 10 * st.worst * st.worst * 1e-8);
  cod_cond_search_result_fini(&st);
  gsl_rng_free(rng);
  tc_run_fini(&r);
}

/* ---- allocation failure ------------------------------------------------------------------ */

Test(codes_alloc, every_allocation_failure_is_enomem) {
  cod_conv_geom g = tc_geom(2, 11, 7, 5, 3, 3, 2, 1);
  const char *schemes[] = {"nsctc-rot", "nsctc-cir", "poly-cheb", "uncoded"};
  const size_t cfg[][3] = {{6, 2, 2}, {5, 3, 1}, {6, 2, 2}, {4, 2, 2}};
  for (size_t s = 0; s < 4; s++) {
    cod_code_params p = tc_params(schemes[s], cfg[s][0], cfg[s][1], cfg[s][2]);
    /* cod_code_new */
    cod_code *c = NULL;
    long k;
    int rc = COD_ENOMEM;
    for (k = 0; k < 1000 && rc == COD_ENOMEM; k++) {
      cod_err err = {0};
      cod_alloc_fail_at(k);
      rc = cod_code_new(&p, &g, &c, &err);
      cod_alloc_fail_at(-1);
      if (rc == COD_ENOMEM) {
        cr_expect(err.msg[0] != 0, "no message for ENOMEM at %ld", k);
        cr_expect_null(c);
      }
    }
    cr_expect_eq(rc, COD_OK, "%s: cod_code_new never succeeded", schemes[s]);
    cr_expect_gt(k, 1, "no allocation failure was exercised");
    cod_code_free(c);
    /* decode, both methods, and cond / cond_search */
    tc_run r;
    tc_run_init(&r, &p, &g, s, COD_F64);
    size_t avail[8] = {7, 1, 4, 2, 0, 3, 5, 6}, n = r.n, d = cod_code_threshold(r.code);
    if (n < 8)
      for (size_t i = 0; i < n; i++) avail[i] = n - 1 - i; /* reversed arrival */
    for (int method = 0; method < 2; method++) {
      double *y = sentinel_buf(r.out_len);
      size_t fails = 0;
      rc = COD_ENOMEM;
      for (k = 0; k < 1000 && rc == COD_ENOMEM; k++) {
        cod_err err = {0};
        cod_alloc_fail_at(k);
        rc = tc_run_decode(&r, avail, n, method ? COD_DECODE_GENERIC : COD_DECODE_AUTO, y, NULL,
                           &err);
        cod_alloc_fail_at(-1);
        if (rc == COD_ENOMEM) {
          fails++;
          cr_expect(untouched(y, r.out_len), "%s: output written on ENOMEM", schemes[s]);
          cr_expect(err.msg[0] != 0);
        }
      }
      cr_expect_eq(rc, COD_OK, "%s method %d: rc %d", schemes[s], method, rc);
      if (method == COD_DECODE_FAST && strcmp(schemes[s], "uncoded") == 0)
        /* block copies go straight into y: the fast path must not allocate at all */
        cr_expect_eq(fails, 0, "uncoded fast decode allocated");
      else
        cr_expect_gt(fails, 0, "%s: decode allocated nothing?", schemes[s]);
      cr_expect_leq(tc_rel_err(y, r.yref, r.out_len), 1e-12);
      free(y);
    }
    double cond = SENTINEL;
    rc = COD_ENOMEM;
    for (k = 0; k < 1000 && rc == COD_ENOMEM; k++) {
      cod_alloc_fail_at(k);
      rc = cod_code_cond(r.code, avail, d, &cond, NULL);
      cod_alloc_fail_at(-1);
      if (rc == COD_ENOMEM) cr_expect_eq(cond, SENTINEL);
    }
    cr_expect_eq(rc, COD_OK);
    cod_cond_search_result st;
    rc = COD_ENOMEM;
    for (k = 0; k < 1000 && rc == COD_ENOMEM; k++) {
      cod_alloc_fail_at(k);
      rc = tc_cond_search(r.code, 100, 5, 1, &st, NULL);
      cod_alloc_fail_at(-1);
    }
    cr_expect_eq(rc, COD_OK, "%s: cond_search rc %d", schemes[s], rc);
    if (rc == COD_OK) cod_cond_search_result_fini(&st);
    /* encoders */
    double *cx = malloc(r.n * cod_code_worker_input_len(r.code) * 8);
    double *ck = malloc(r.n * cod_code_worker_filter_len(r.code) * 8);
    cod_alloc_fail_at(0);
    cr_expect_eq(cod_code_encode_input(r.code, r.x, cx, NULL), COD_ENOMEM);
    cod_alloc_fail_at(0);
    cr_expect_eq(cod_code_encode_filters(r.code, r.k, ck, NULL), COD_ENOMEM);
    cod_alloc_fail_at(-1);
    cr_expect_eq(cod_code_encode_input(r.code, r.x, cx, NULL), COD_OK);
    cr_expect(memcmp(cx, r.cx, r.n * cod_code_worker_input_len(r.code) * 8) == 0);
    free(cx), free(ck);
    tc_run_fini(&r);
  }
}

/* rank_rtol is the generic decoder's singularity threshold: above it, COD_ENUMERIC with a
 * message, and the output untouched. */
Test(codes_errors, singular_to_rank_rtol_is_enumeric) {
  cod_conv_geom g = tc_geom(2, 11, 7, 5, 3, 3, 1, 1);
  const char *schemes[2] = {"poly-real", "nsctc-rot"};
  for (int s = 0; s < 2; s++) {
    cod_code_params p = tc_params(schemes[s], 6, 2, 2);
    p.rank_rtol = 2.0; /* every matrix has sigma_min/sigma_max <= 1 < 2 */
    tc_run r;
    tc_run_init(&r, &p, &g, 17, COD_F64);
    const size_t set[4] = {0, 2, 3, 5};
    double *y = sentinel_buf(r.out_len);
    cod_err err = {0};
    cr_expect_eq(tc_run_decode(&r, set, 4, COD_DECODE_GENERIC, y, NULL, &err), COD_ENUMERIC);
    cr_expect(strstr(err.msg, "singular") != NULL, "%s", err.msg);
    cr_expect(untouched(y, r.out_len));
    free(y);
    tc_run_fini(&r);
  }
}
