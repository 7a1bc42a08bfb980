/* tc_conv_check.c: see tc_conv_check.h.
 *
 * Tolerance. Each output is a dot product of length n = C*KH*KW. The rounding error of
 * a floating-point sum of n products is at most ~n*eps*sum|k*x| in the worst case and
 * ~sqrt(n)*eps*sum|k*x| for the random-sign errors seen in practice; both the GEMM and
 * the reference round. We allow 8*sqrt(n)*eps*sum|k*x| per element (sum|k*x| is the
 * convolution of |k| with |x|, computed by the reference): a wrong index or a missing term
 * is O(|k*x|) ~ O(1/sqrt(n)) of that scale times 1/eps larger, so it cannot hide.
 */
#include "tc_conv_check.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tc_util.h"

#define GUARD 256
static const unsigned char CANARY = 0xC5;

static void *guarded(size_t bytes) {
  unsigned char *p = malloc(bytes + GUARD);
  cr_assert_not_null(p);
  memset(p, 0xFF, bytes); /* garbage (NaN patterns) in the workspace: results must not read it */
  memset(p + bytes, CANARY, GUARD);
  return p;
}

static void check_guard(const void *p, size_t bytes, const char *what,
                        const cod_conv_geom *g) {
  const unsigned char *c = (const unsigned char *)p + bytes;
  for (size_t i = 0; i < GUARD; i++)
    if (c[i] != CANARY) {
      cr_expect_fail("%s overrun at byte %zu past %zu (C%zu H%zu W%zu N%zu k%zux%zu s%zu p%zu)",
                     what, i, bytes, g->c, g->h, g->w, g->n_filters, g->kh, g->kw, g->stride,
                     g->pad);
      return;
    }
}

double tc_conv_check(const cod_conv_geom *g, uint64_t seed) {
  cr_assert(cod_conv_geom_valid(g));
  size_t xl = cod_conv_input_len(g), kl = cod_conv_filter_len(g), yl = cod_conv_output_len(g);
  size_t n = g->c * g->kh * g->kw;
  double *x = malloc(xl * sizeof *x), *k = malloc(kl * sizeof *k);
  double *xa = malloc(xl * sizeof *x), *ka = malloc(kl * sizeof *k);
  double *yr = malloc(yl * sizeof *yr), *scale = malloc(yl * sizeof *yr);
  float *xf = malloc(xl * sizeof *xf), *kf = malloc(kl * sizeof *kf), *yrf = malloc(yl * sizeof *yrf);
  cr_assert(x && k && xa && ka && yr && scale && xf && kf && yrf);
  tc_fill(x, xl, seed);
  tc_fill(k, kl, seed + 7);
  for (size_t i = 0; i < xl; i++) xa[i] = fabs(x[i]), xf[i] = (float)x[i];
  for (size_t i = 0; i < kl; i++) ka[i] = fabs(k[i]), kf[i] = (float)k[i];
  cod_conv2d_direct_f64(g, x, k, yr);
  cod_conv2d_direct_f64(g, xa, ka, scale);
  cod_conv2d_direct_f32(g, xf, kf, yrf);
  double worst = 0;

  /* fp64 */
  size_t wb = cod_conv_workspace_bytes(g, COD_F64);
  void *w = guarded(wb);
  double *y = guarded(yl * sizeof *y);
  cod_conv2d_f64(g, x, k, y, wb ? w : NULL);
  check_guard(w, wb, "f64 workspace", g);
  check_guard(y, yl * sizeof *y, "f64 output", g);
  for (size_t i = 0; i < yl; i++) {
    double tol = 8.0 * sqrt((double)n) * DBL_EPSILON * scale[i] + DBL_MIN;
    double e = fabs(y[i] - yr[i]) / tol;
    if (!(e <= worst)) worst = e;
  }
  free(w);
  free(y);

  /* fp32: same bound with FLT_EPSILON; the reference accumulates in double and rounds
   * once, which is within the same bound. */
  wb = cod_conv_workspace_bytes(g, COD_F32);
  w = guarded(wb);
  float *yf = guarded(yl * sizeof *yf);
  cod_conv2d_f32(g, xf, kf, yf, wb ? w : NULL);
  check_guard(w, wb, "f32 workspace", g);
  check_guard(yf, yl * sizeof *yf, "f32 output", g);
  double worst32 = 0;
  for (size_t i = 0; i < yl; i++) {
    double tol = 8.0 * sqrt((double)n) * FLT_EPSILON * scale[i] + FLT_MIN;
    double e = fabs((double)yf[i] - (double)yrf[i]) / tol;
    if (!(e <= worst32)) worst32 = e;
  }
  free(w);
  free(yf);
  cr_expect_leq(worst, 1.0, "f64 error %.3g x tolerance: C%zu H%zu W%zu N%zu k%zux%zu s%zu p%zu",
                worst, g->c, g->h, g->w, g->n_filters, g->kh, g->kw, g->stride, g->pad);
  cr_expect_leq(worst32, 1.0,
                "f32 error %.3g x tolerance: C%zu H%zu W%zu N%zu k%zux%zu s%zu p%zu", worst32,
                g->c, g->h, g->w, g->n_filters, g->kh, g->kw, g->stride, g->pad);
  free(x), free(k), free(xa), free(ka), free(yr), free(scale), free(xf), free(kf), free(yrf);
  return worst > worst32 ? worst : worst32;
}
