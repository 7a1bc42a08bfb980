/* test_coding_reference.c: the worst condition numbers the project quotes (suite 'numeric').
 *
 * Each reference is computed HERE from the scheme's definition in NSCTC-MATH (sections 3
 * and 5), not from fcdcc's matrices: the real recovery matrix of every worker set of the
 * threshold size is built from the definition (rotation blocks R^{k_B i j} and R^{l j}
 * for nsctc-rot, Chebyshev polynomials at Chebyshev nodes for poly-cheb, monomials at
 * -1 + 2(j+1)/n for poly-real), its condition number taken with GSL's SVD, and the worst
 * over all C(n, delta) sets compared with the documented figure (two significant digits:
 * 5%) and with the library's exhaustive cod_code_cond_search. The figures:
 *   nsctc-rot  n = 20 4x4  about 4.6e2     poly-cheb  n = 20 4x4  about 5.3e5
 *   nsctc-rot  n = 24 4x5  about 8.9e2     poly-real  n = 20 4x4  about 3.4e8
 *   nsctc-rot  n = 31 4x7  about 4.0e2
 * The issue quotes 1.2e8 for poly-real: that is the worst case with the nodes
 * linspace(-1, 1, n) = -1 + 2j/(n-1) (1.17e8), which NSCTC-MATH section 5 names beside the
 * formula -1 + 2(j+1)/n that fcdcc implements (3.44e8, numpy agrees); both are pinned.
 * Every set of each case is enumerated (4845, 10626, 4495 sets): tens of seconds in all.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cod_code.h"
#include "tc_util.h"

/* Rows (worker j in set, result (c, d)) by columns (2i+a, 2l+b): G_A[2i+a][2j+c] *
 * G_B[2l+b][2j+d] with G_A's block (i, j) = R^{kb*i*j}, G_B's block (l, j) = R^{l*j}. */
static double rot_entry(size_t p, size_t n, size_t a, size_t b) {
  double t = 2 * M_PI * (double)(p % n) / (double)n;
  return a == b ? cos(t) : a == 0 ? -sin(t) : sin(t);
}

static void rot_matrix(const size_t *set, size_t n, size_t ka, size_t kb, double *g) {
  size_t d = ka * kb, cols = 4 * d;
  for (size_t w = 0; w < d; w++)
    for (size_t c = 0; c < 2; c++)
      for (size_t dd = 0; dd < 2; dd++) {
        double *row = g + (4 * w + 2 * c + dd) * cols;
        for (size_t i = 0; i < ka; i++)
          for (size_t a = 0; a < 2; a++)
            for (size_t l = 0; l < kb; l++)
              for (size_t b = 0; b < 2; b++)
                row[(2 * i + a) * 2 * kb + 2 * l + b] =
                    rot_entry(kb * i * set[w], n, a, c) * rot_entry(l * set[w], n, b, dd);
      }
}

/* One row per worker: T_{kb*i}(x_j) T_l(x_j) (cheb > 0) or x_j^{kb*i + l} (real; cheb < 0:
 * at linspace(-1, 1, n) instead of fcdcc's nodes). */
static void poly_matrix(const size_t *set, size_t n, size_t ka, size_t kb, int cheb, double *g) {
  size_t d = ka * kb;
  for (size_t w = 0; w < d; w++)
    for (size_t i = 0; i < ka; i++)
      for (size_t l = 0; l < kb; l++) {
        double v;
        if (cheb > 0) {
          double t = (2.0 * (double)set[w] + 1.0) * M_PI / (2.0 * (double)n);
          v = cos((double)(kb * i) * t) * cos((double)l * t);
        } else if (cheb < 0) { /* linspace(-1, 1, n) */
          double x = -1.0 + 2.0 * (double)set[w] / (double)(n - 1);
          v = pow(x, (double)(kb * i + l));
        } else {
          double x = -1.0 + 2.0 * (double)(set[w] + 1) / (double)n;
          v = pow(x, (double)(kb * i + l));
        }
        g[w * d + i * kb + l] = v;
      }
}

typedef enum ref_kind { REF_ROT, REF_CHEB, REF_REAL, REF_REAL_LINSPACE } ref_kind;

static double worst_over_sets(ref_kind kind, size_t n, size_t ka, size_t kb, size_t *count) {
  size_t d = ka * kb, dim = kind == REF_ROT ? 4 * d : d, set[64];
  double *g = malloc(dim * dim * sizeof *g), worst = 0;
  cr_assert_not_null(g);
  *count = 0;
  tc_comb_init(set, d);
  do {
    if (kind == REF_ROT) rot_matrix(set, n, ka, kb, g);
    else poly_matrix(set, n, ka, kb, kind == REF_CHEB ? 1 : kind == REF_REAL ? 0 : -1, g);
    double k = tc_cond_real(g, dim, dim);
    if (!(k <= worst)) worst = k;
    (*count)++;
  } while (tc_comb_next(set, d, n));
  free(g);
  return worst;
}

static void check_reference(const char *scheme, ref_kind kind, size_t n, size_t ka, size_t kb,
                            double documented, double lib_rtol) {
  size_t count;
  double ref = worst_over_sets(kind, n, ka, kb, &count);
  cr_expect_eq((double)count, tc_binomial(n, ka * kb));
  cod_conv_geom g = tc_geom(2, 40, 9, 2 * kb + 1, 3, 3, 1, 1);
  cod_code_params p = tc_params(scheme, n, ka, kb);
  cod_code *c;
  cod_err err = {0};
  cr_assert_eq(cod_code_new(&p, &g, &c, &err), COD_OK, "%s", err.msg);
  cod_cond_search_result st;
  cr_assert_eq(tc_cond_search(c, INFINITY, 1, 1, &st, &err), COD_OK, "%s", err.msg);
  cr_log_info("%s n=%zu %zux%zu: worst cond over all %zu sets: independent %.4g, library %.4g, "
              "documented about %.2g", scheme, n, ka, kb, count, ref, st.worst, documented);
  cr_expect_eq(st.exhaustive, 1);
  cr_expect_eq(st.sets_tried, count);
  cr_expect_leq(fabs(ref - documented), 0.05 * documented,
                "%s n=%zu %zux%zu: worst cond %.4g, documented about %.2g", scheme, n, ka, kb,
                ref, documented);
  cr_expect_leq(fabs(st.worst - ref), lib_rtol * ref, "%s: library %.17g, independent %.17g",
                scheme, st.worst, ref);
  cod_cond_search_result_fini(&st);
  cod_code_free(c);
}

/* The library's nsctc-rot condition number comes from the complex Vandermonde, the
 * reference from the real 4delta x 4delta matrix: equal up to SVD rounding, ~cond*eps. */
Test(reference, rot_n20_4x4, .timeout = 120) { check_reference("nsctc-rot", REF_ROT, 20, 4, 4, 4.6e2, 1e-9); }
Test(reference, rot_n24_4x5, .timeout = 240) { check_reference("nsctc-rot", REF_ROT, 24, 4, 5, 8.9e2, 1e-9); }
Test(reference, rot_n31_4x7, .timeout = 240) { check_reference("nsctc-rot", REF_ROT, 31, 4, 7, 4.0e2, 1e-9); }
/* The poly codes' worst sets have sigma_min far below sigma_max: two SVDs of the same
 * matrix agree to ~cond*eps relative (1e-8 at cond 1e8). */
Test(reference, cheb_n20_4x4, .timeout = 120) { check_reference("poly-cheb", REF_CHEB, 20, 4, 4, 5.3e5, 1e-8); }
Test(reference, real_n20_4x4, .timeout = 120) { check_reference("poly-real", REF_REAL, 20, 4, 4, 3.4e8, 1e-6); }
/* The figure, with the nodes linspace(-1, 1, n): reference only, no library code. */
Test(reference, real_linspace_n20_4x4, .timeout = 120) {
  size_t count;
  double ref = worst_over_sets(REF_REAL_LINSPACE, 20, 4, 4, &count);
  cr_log_info("real Vandermonde at linspace(-1, 1, 20), 4x4: worst cond over %zu sets %.4g", count, ref);
  cr_expect_leq(fabs(ref - 1.2e8), 0.05 * 1.2e8, "worst cond %.4g, quoted about 1.2e8", ref);
}
