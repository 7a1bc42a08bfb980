/* test_coding_condrot.c: nsctc-rot's structured condition number (cod_cond_rot.c) against
 * independent references: GSL's Golub-Reinsch SVD of the real embedding of the complex
 * Vandermonde V_S built here from its definition (tc_cond_complex), on every worker set of
 * small codes and on seeded random sets of larger ones; the dense reference path
 * (cod_rot_cond_dense) within its own error; the canonical set key against a brute-force
 * minimum over all 2q rotations and reflections; and every refusal.
 * Tolerances: both SVDs are backward stable, so sigma_min carries an absolute error of a
 * small multiple of eps sigma_max and cond a relative one of ~eps cond: we allow
 * 16 d eps cond relative (d the threshold). The dense path's eigenvalues of V^H V carry
 * eps cond^2 relative.
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cod_alloc.h"
#include "cod_cond_rot.h"
#include "tc_util.h"

static cod_code *rot_code(size_t n, size_t ka, size_t kb, size_t q) {
  cod_code_params p = tc_params("nsctc-rot", n, ka, kb);
  p.q = q;
  cod_conv_geom g = tc_geom(2, 4 * ka + 3, 5, 2 * kb, 3, 3, 1, 1);
  cod_code *c = NULL;
  cod_err e = {0};
  cr_assert_eq(cod_code_new(&p, &g, &c, &e), COD_OK, "%s", e.msg);
  return c;
}

/* cond of V[i][e] = w^{ids[i] e}, w = e^{2 pi i / q}, by the test's own SVD */
static double vandermonde_cond(const size_t *ids, size_t d, size_t q) {
  double *v = malloc(2 * d * d * sizeof *v);
  cr_assert(v);
  for (size_t i = 0; i < d; i++)
    for (size_t e = 0; e < d; e++) {
      long double t = 2.0L * 3.14159265358979323846264338327950288L *
                      (long double)((ids[i] * e) % q) / (long double)q;
      v[2 * (i * d + e)] = (double)cosl(t);
      v[2 * (i * d + e) + 1] = (double)sinl(t);
    }
  double k = tc_cond_complex(v, d);
  free(v);
  return k;
}

/* absolute tolerance on a condition number `cond` with relative error ~ d eps cond */
static double tol(size_t d, double cond) { return 16.0 * (double)d * DBL_EPSILON * cond * cond; }

Test(condrot, every_set_of_small_codes_matches_the_vandermonde_svd) {
  const size_t cfg[][4] = {{8, 2, 2, 0}, {10, 2, 3, 0}, {12, 3, 3, 0}, {9, 1, 4, 0},
                           {6, 1, 1, 0}, {8, 2, 2, 13}, {7, 3, 2, 0}, {5, 1, 2, 0}};
  for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
    size_t n = cfg[c][0], ka = cfg[c][1], kb = cfg[c][2], q = cfg[c][3] ? cfg[c][3] : n;
    size_t d = ka * kb, set[16], count = 0;
    cod_code *code = rot_code(n, ka, kb, cfg[c][3]);
    double worst_rel = 0;
    tc_comb_init(set, d);
    do {
      double ref = vandermonde_cond(set, d, q), ks, kd;
      cr_assert_eq(cod_rot_cond(code, set, d, &ks, NULL), COD_OK);
      cr_assert_eq(cod_code_cond(code, set, d, &kd, NULL), COD_OK);
      cr_expect_eq(ks, kd, "cod_code_cond is the structured hook");
      cr_expect_leq(fabs(ks - ref), tol(d, ref), "(%zu,%zu,%zu,q %zu) set %zu: %.17g vs %.17g",
                    n, ka, kb, q, count, ks, ref);
      cr_assert_eq(cod_rot_cond_dense(code, set, d, &kd, NULL), COD_OK);
      cr_expect_leq(fabs(kd - ref), tol(d, ref) + 16 * DBL_EPSILON * ref * ref * ref,
                    "dense %.17g vs %.17g", kd, ref);
      worst_rel = fmax(worst_rel, fabs(ks - ref) / ref);
      count++;
    } while (tc_comb_next(set, d, n));
    cr_log_info("nsctc-rot (%zu,%zu,%zu,q %zu): %zu sets, structured vs SVD max rel %.3g", n,
                ka, kb, q, count, worst_rel);
    cod_code_free(code);
  }
}

/* Larger thresholds and condition numbers up to ~1e9: seeded random sets, ids in any order. */
Test(condrot, random_sets_of_larger_codes_match_the_vandermonde_svd) {
  const size_t cfg[][3] = {{20, 4, 4}, {31, 4, 7}, {64, 4, 8}, {48, 5, 6}};
  tc_lcg r;
  tc_lcg_seed(&r, 2024);
  for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
    size_t n = cfg[c][0], d = cfg[c][1] * cfg[c][2], perm[64];
    cod_code *code = rot_code(n, cfg[c][1], cfg[c][2], 0);
    double worst = 0, kmax = 0;
    for (int k = 0; k < 12; k++) {
      for (size_t i = 0; i < n; i++) perm[i] = i;
      tc_shuffle(perm, n, &r);
      double ref = vandermonde_cond(perm, d, n), ks;
      cr_assert_eq(cod_rot_cond(code, perm, d, &ks, NULL), COD_OK);
      cr_expect_leq(fabs(ks - ref), tol(d, ref), "(%zu, d %zu): %.17g vs %.17g", n, d, ks, ref);
      worst = fmax(worst, fabs(ks - ref) / ref), kmax = fmax(kmax, ref);
    }
    cr_log_info("n %zu d %zu: max rel %.3g, cond up to %.3g", n, d, worst, kmax);
    cod_code_free(code);
  }
}

/* The key by brute force: every image j -> s j + c (mod q), sorted, the smallest list. */
static void brute_key(const size_t *ids, size_t d, size_t q, size_t *best) {
  size_t img[64];
  int have = 0;
  for (int s = 0; s < 2; s++)
    for (size_t c = 0; c < q; c++) {
      for (size_t i = 0; i < d; i++) img[i] = (s ? (c + q - ids[i]) : (ids[i] + c)) % q;
      for (size_t i = 1; i < d; i++) /* insertion sort */
        for (size_t j = i; j > 0 && img[j - 1] > img[j]; j--) {
          size_t t = img[j];
          img[j] = img[j - 1], img[j - 1] = t;
        }
      int smaller = !have;
      for (size_t i = 0; !smaller && i < d; i++) {
        if (img[i] != best[i]) {
          smaller = img[i] < best[i];
          break;
        }
      }
      if (smaller) memcpy(best, img, d * sizeof *img), have = 1;
    }
}

/* Both implementations of the key (bit masks for q <= 64, lists above) against the brute
 * force, and one double for the whole orbit: every rotation and reflection of a set that
 * stays within the n workers gets exactly the same condition number. */
Test(condrot, key_is_the_orbit_minimum_and_the_orbit_shares_one_number) {
  const size_t cfg[][4] = {{20, 4, 4, 0}, {12, 2, 3, 0}, {64, 4, 8, 0}, {70, 4, 6, 0},
                           {40, 3, 5, 101}, {9, 2, 2, 16}};
  tc_lcg r;
  tc_lcg_seed(&r, 77);
  for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
    size_t n = cfg[c][0], d = cfg[c][1] * cfg[c][2], q = cfg[c][3] ? cfg[c][3] : n;
    cod_code *code = rot_code(n, cfg[c][1], cfg[c][2], cfg[c][3]);
    size_t perm[128], key[64], ref[64], img[64], n_key;
    for (int k = 0; k < 10; k++) {
      for (size_t i = 0; i < n; i++) perm[i] = i;
      tc_shuffle(perm, n, &r);
      cr_assert_eq(cod_rot_cond_key(code, perm, d, key, NULL), COD_OK);
      brute_key(perm, d, q, ref);
      for (size_t i = 0; i < d; i++)
        cr_assert_eq(key[i], ref[i], "(%zu,q %zu) id %zu: %zu vs %zu", n, q, i, key[i], ref[i]);
      cr_assert_eq(cod_code_cond_key(code, perm, d, img, &n_key, NULL), COD_OK);
      cr_assert_eq(n_key, d);
      cr_assert_eq(memcmp(img, key, d * sizeof *key), 0);
      double k0, ki;
      cr_assert_eq(cod_code_cond(code, perm, d, &k0, NULL), COD_OK);
      size_t tested = 0;
      for (int s = 0; s < 2; s++)
        for (size_t sh = 0; sh < q; sh++) {
          int ok = 1;
          for (size_t i = 0; i < d; i++) {
            img[i] = (s ? (sh + q - perm[i]) : (perm[i] + sh)) % q;
            ok &= img[i] < n;
          }
          if (!ok) continue;
          cr_assert_eq(cod_code_cond(code, img, d, &ki, NULL), COD_OK);
          cr_assert_eq(ki, k0, "(%zu) image s %d c %zu: %.17g vs %.17g", n, s, sh, ki, k0);
          tested++;
        }
      cr_expect_geq(tested, 2, "the identity and at least one reflection or rotation");
    }
    cod_code_free(code);
  }
  /* schemes without symmetry: the selected ids ascending */
  cod_code_params p = tc_params("poly-real", 9, 2, 2);
  cod_conv_geom g = tc_geom(2, 11, 5, 4, 3, 3, 1, 1);
  cod_code *pr = NULL;
  cr_assert_eq(cod_code_new(&p, &g, &pr, NULL), COD_OK);
  size_t avail[] = {7, 2, 8, 0, 5}, key[4], n_key = 0;
  cr_assert_eq(cod_code_cond_key(pr, avail, 5, key, &n_key, NULL), COD_OK);
  cr_assert_eq(n_key, 4);
  size_t want[] = {0, 2, 7, 8}; /* the first delta given, ascending */
  for (size_t i = 0; i < 4; i++) cr_expect_eq(key[i], want[i]);
  cod_err e = {0};
  cr_expect_eq(cod_code_cond_key(pr, avail, 3, key, &n_key, &e), COD_EUNDECODABLE, "%s", e.msg);
  cr_expect_eq(cod_rot_cond_key(pr, avail, 4, key, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "poly-real") != NULL, "%s", e.msg);
  cod_code_free(pr);
}

Test(condrot, refusals_and_out_of_memory) {
  cod_code *code = rot_code(20, 4, 4, 0);
  size_t ids[20];
  for (size_t i = 0; i < 20; i++) ids[i] = i;
  double k = -1;
  cod_err e = {0};
  cr_expect_eq(cod_rot_cond(code, ids, 15, &k, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "threshold is 16") != NULL, "%s", e.msg);
  cr_expect_eq(cod_rot_cond_dense(code, ids, 17, &k, &e), COD_EINVAL);
  cr_expect_eq(k, -1, "untouched on failure");
  for (long n = 0; n < 2; n++) { /* the key buffer, then the matrix */
    cod_alloc_fail_at(n);
    e.msg[0] = 0;
    int rc = cod_rot_cond(code, ids, 16, &k, &e);
    cod_alloc_fail_at(-1);
    cr_expect_eq(rc, COD_ENOMEM, "allocation %ld", n);
    cr_expect(strstr(e.msg, "out of memory") != NULL, "%s", e.msg);
    cr_expect_eq(k, -1);
  }
  cod_alloc_fail_at(0);
  int rc = cod_rot_cond_dense(code, ids, 16, &k, &e);
  cod_alloc_fail_at(-1);
  cr_expect_eq(rc, COD_ENOMEM);
  cr_expect_eq(k, -1);
  /* a key longer than the stack buffer allocates, and can fail */
  cod_code *big = rot_code(130, 9, 8, 0);
  size_t many[72], key[72];
  for (size_t i = 0; i < 72; i++) many[i] = 2 * i;
  cod_alloc_fail_at(0);
  rc = cod_rot_cond_key(big, many, 72, key, &e);
  cod_alloc_fail_at(-1);
  cr_expect_eq(rc, COD_ENOMEM, "%s", e.msg);
  cr_expect_eq(cod_rot_cond_key(big, many, 72, key, &e), COD_OK);
  cr_expect_eq(key[0], 0);
  cod_code_free(big);
  cod_code_free(code);
}
