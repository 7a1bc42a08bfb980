/* test_coding_wino.c: Winograd F(2x2, 3x3) against an extended-precision direct reference,
 * with its error stated as a multiple of the im2col path's error on the same data.
 *
 * Reference: the six-loop convolution accumulated in long double (64-bit mantissa on
 * x86-64), so it is ~2^11 more accurate than either fp64 path. For each geometry we
 * measure the RMS and the maximum of |y - ref| / s, s = (|k| conv |x|) per element, for
 * im2col and for Winograd. Bounds checked:
 *   - Winograd's RMS relative error <= WINO_RMS_FACTOR x im2col's (the transforms have
 *     entries 0, +-1/2, +-1: the extra error comes from the larger intermediate values and
 *     the 16-term output sum; a wrong index or sign gives an error of order 1, 1e13 above);
 *   - every element within WINO_MAX_FACTOR x 8 sqrt(C*9) eps s (tc_conv_check's bound).
 * fp32 the same with the fp32 paths. Geometries cover odd and even output sizes (clipped
 * edge tiles), padding 0/1/2, single-tile-row outputs and bands of several tile rows.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cod_kernel.h"
#include "cod_wino.h"
#include "tc_util.h"

#define WINO_RMS_FACTOR 8.0
#define WINO_MAX_FACTOR 16.0
/* F(4x4, 3x3): transform entries up to 5 (B^T), 8 (A^T) and 1/24 (G), so its error is a
 * larger multiple of im2col's; these are the bounds it is held to (fp64 and fp32). */
#define WINO4_RMS_FACTOR 64.0
#define WINO4_MAX_FACTOR 256.0

static void ref_ld(const cod_conv_geom *g, const double *x, const double *k, double *y,
                   int absval) {
  const size_t OH = cod_conv_out_h(g), OW = cod_conv_out_w(g);
  for (size_t o = 0; o < g->n_filters; o++)
    for (size_t oh = 0; oh < OH; oh++)
      for (size_t ow = 0; ow < OW; ow++) {
        long double acc = 0;
        for (size_t c = 0; c < g->c; c++)
          for (size_t u = 0; u < 3; u++)
            for (size_t v = 0; v < 3; v++) {
              long ih = (long)(oh + u) - (long)g->pad, iw = (long)(ow + v) - (long)g->pad;
              if (ih < 0 || iw < 0 || ih >= (long)g->h || iw >= (long)g->w) continue;
              long double a = k[((o * g->c + c) * 3 + u) * 3 + v];
              long double b = x[(c * g->h + (size_t)ih) * g->w + (size_t)iw];
              acc += absval ? fabsl(a) * fabsl(b) : a * b;
            }
        y[(o * OH + oh) * OW + ow] = (double)acc;
      }
}

typedef struct errs { double rms, max; } errs;

static errs err_of(const double *y, const double *ref, const double *s, size_t len) {
  errs e = {0, 0};
  for (size_t i = 0; i < len; i++) {
    double r = fabs(y[i] - ref[i]) / (s[i] + DBL_MIN);
    e.rms += r * r;
    if (!(r <= e.max)) e.max = r;
  }
  e.rms = sqrt(e.rms / (double)len);
  return e;
}

static void check_algo(size_t c, size_t h, size_t w, size_t n, size_t pad, uint64_t seed,
                       cod_conv_algo wino, double rms_factor, double max_factor) {
  cod_conv_geom g = tc_geom(c, h, w, n, 3, 3, 1, pad);
  cr_assert(cod_conv_algo_applies(&g, wino));
  size_t xl = cod_conv_input_len(&g), kl = cod_conv_filter_len(&g), yl = cod_conv_output_len(&g);
  double *x = malloc(xl * 8), *k = malloc(kl * 8), *ref = malloc(yl * 8), *s = malloc(yl * 8);
  double *yi = malloc(yl * 8), *yw = malloc(yl * 8), *y32 = malloc(yl * 8);
  float *xf = malloc(xl * 4), *kf = malloc(kl * 4), *yf = malloc(yl * 4);
  cr_assert(x && k && ref && s && yi && yw && y32 && xf && kf && yf);
  tc_fill(x, xl, seed);
  tc_fill(k, kl, seed + 11);
  ref_ld(&g, x, k, ref, 0);
  ref_ld(&g, x, k, s, 1);
  size_t n_dot = c * 9;
  for (int prec = 0; prec < 2; prec++) {
    double eps = prec ? FLT_EPSILON : DBL_EPSILON;
    errs ea[2];
    for (int a = 0; a < 2; a++) {
      cod_conv_algo algo = a ? wino : COD_CONV_IM2COL;
      size_t wb = cod_conv_algo_workspace_bytes(&g, algo, prec ? COD_F32 : COD_F64);
      unsigned char *work = malloc(wb + 64);
      cr_assert(work);
      memset(work, 0xFF, wb + 64);
      if (!prec) {
        cod_conv2d_algo_f64(&g, algo, x, k, a ? yw : yi, work);
      } else {
        /* fp32 data are the fp64 data rounded; the reference is of the rounded data. */
        for (size_t i = 0; i < xl; i++) xf[i] = (float)x[i];
        for (size_t i = 0; i < kl; i++) kf[i] = (float)k[i];
        cod_conv2d_algo_f32(&g, algo, xf, kf, yf, work);
        for (size_t i = 0; i < yl; i++) (a ? yw : yi)[i] = yf[i];
      }
      for (int i = 0; i < 64; i++) cr_assert_eq(work[wb + i], 0xFF, "workspace overrun");
      if (a && cod_kernel_isa() == COD_KERNEL_AVX512) {
        /* the AVX-512 products and transforms against the AVX2 ones: the same bits */
        int cap = cod_kernel_cap_isa(COD_KERNEL_AVX2);
        if (!prec) cod_conv2d_algo_f64(&g, algo, x, k, y32, work);
        else {
          cod_conv2d_algo_f32(&g, algo, xf, kf, yf, work);
          for (size_t i = 0; i < yl; i++) y32[i] = yf[i];
        }
        cod_kernel_cap_isa(cap);
        cr_assert(memcmp(y32, yw, yl * sizeof *yw) == 0, "%s %s C%zu H%zu W%zu N%zu p%zu: "
                  "AVX-512 and AVX2 kernels differ", cod_conv_algo_name(wino),
                  prec ? "fp32" : "fp64", c, h, w, n, pad);
      }
      free(work);
    }
    if (prec) {
      double *xd = malloc(xl * 8), *kd = malloc(kl * 8);
      cr_assert(xd && kd);
      for (size_t i = 0; i < xl; i++) xd[i] = xf[i];
      for (size_t i = 0; i < kl; i++) kd[i] = kf[i];
      ref_ld(&g, xd, kd, ref, 0);
      free(xd), free(kd);
    }
    ea[0] = err_of(yi, ref, s, yl);
    ea[1] = err_of(yw, ref, s, yl);
    /* im2col may be exact on a tiny output (C1 H3 W3 is one 9-term dot, and whether its
     * one rounding lands on the true value depends on the BLAS kernel's order): the floor
     * is one rounding of the result, eps/2 of s, as an RMS over the yl outputs. */
    double floor_rms = eps / 2 / sqrt((double)yl);
    double base = ea[0].rms > floor_rms ? ea[0].rms : floor_rms;
    const char *an = cod_conv_algo_name(wino);
    cr_expect_leq(ea[1].rms, rms_factor * base,
                  "%s %s C%zu H%zu W%zu N%zu p%zu: rms %.3g vs im2col %.3g", an,
                  prec ? "fp32" : "fp64", c, h, w, n, pad, ea[1].rms, ea[0].rms);
    cr_expect_leq(ea[1].max, max_factor * 8.0 * sqrt((double)n_dot) * eps,
                  "%s %s C%zu H%zu W%zu N%zu p%zu: max %.3g", an, prec ? "fp32" : "fp64",
                  c, h, w, n, pad, ea[1].max);
    cr_log_info("%s %s C%zu H%zu W%zu N%zu p%zu: rms im2col %.3g winograd %.3g (x%.2f)", an,
                prec ? "fp32" : "fp64", c, h, w, n, pad, ea[0].rms, ea[1].rms,
                ea[1].rms / (ea[0].rms > 0 ? ea[0].rms : floor_rms));
  }
  free(x), free(k), free(ref), free(s), free(yi), free(yw), free(y32);
  free(xf), free(kf), free(yf);
}

static void check(size_t c, size_t h, size_t w, size_t n, size_t pad, uint64_t seed) {
  check_algo(c, h, w, n, pad, seed, COD_CONV_WINO2, WINO_RMS_FACTOR, WINO_MAX_FACTOR);
  check_algo(c, h, w, n, pad, seed, COD_CONV_WINO4, WINO4_RMS_FACTOR, WINO4_MAX_FACTOR);
}

Test(wino, matches_reference_small_shapes) {
  check(1, 3, 3, 1, 0, 1);   /* one output: a single clipped tile */
  check(1, 4, 4, 1, 0, 2);   /* exactly one full tile */
  check(3, 5, 7, 2, 1, 3);   /* odd outputs, pad 1 */
  check(2, 6, 5, 3, 2, 4);   /* pad 2, even x odd */
  check(5, 9, 9, 4, 0, 5);
}

Test(wino, matches_reference_layer_shapes) {
  check(64, 13, 13, 32, 1, 6);  /* AlexNet conv3-5 spatial size */
  check(16, 28, 28, 16, 1, 7);
  check(32, 56, 20, 8, 1, 8);
  /* the SIMD products' edges: filters not a multiple of 6 (13, 11), tile counts whose
   * padded row holds 16 + 8 (fp32) or 8-wide blocks plus zero columns */
  check(7, 31, 29, 13, 1, 12);
  check(40, 15, 23, 11, 2, 13);
  check(96, 14, 14, 50, 1, 14); /* VGG-16 conv5's size: 49 tiles (2x2), 16 tiles (4x4) */
  /* the line-wide transform blocks' tails: 20 channels (16 + 4 in fp32, 8 + 8 + 4 in
   * fp64), 17 filters (a second panel with 15 zero filters), 13 x 13 tiles in blocks of
   * 6 and 5 */
  check(20, 26, 26, 17, 1, 15);
}

Test(wino, bands_of_tile_rows) {
  /* Enough channels and rows that a band (sized for L2) holds fewer tile rows than the
   * layer, and bands of several tile rows with a shorter last band. */
  cod_conv_geom g = tc_geom(256, 96, 96, 256, 3, 3, 1, 1);
  size_t wb = cod_conv_algo_workspace_bytes(&g, COD_CONV_WINO2, COD_F64);
  size_t full = (16 * 256 * 256 + 16 * 512 * 48 * 48) * sizeof(double);
  cr_assert_lt(wb, full, "the workspace must be banded (%zu >= %zu)", wb, full);
  check(256, 20, 20, 8, 1, 9);
  cod_conv_geom g2 = tc_geom(600, 40, 40, 600, 3, 3, 1, 1);
  cr_assert_lt(cod_conv_algo_workspace_bytes(&g2, COD_CONV_WINO2, COD_F64),
               (16 * 600 * 600 + 16 * 1200 * 400) * sizeof(double));
  check(600, 40, 40, 4, 1, 10); /* several bands, many channels */
}

Test(wino, row_buffer_for_large_outputs) {
  /* Outputs beyond 4 MB go through a band-sized row buffer (fp64 here; fp32 too in the
   * second): bands of two tile rows, an odd last output row, a partial last band. */
  check_algo(16, 161, 157, 24, 1, 16, COD_CONV_WINO2, WINO_RMS_FACTOR, WINO_MAX_FACTOR);
  check_algo(8, 161, 153, 48, 1, 17, COD_CONV_WINO2, WINO_RMS_FACTOR, WINO_MAX_FACTOR);
}

Test(wino, applicability_and_choice) {
  cod_conv_geom g3 = tc_geom(64, 13, 13, 64, 3, 3, 1, 1);
  cr_expect(cod_conv_algo_applies(&g3, COD_CONV_WINO2));
  cr_expect_eq(cod_conv_algo_choose(&g3, COD_F64), COD_CONV_WINO2, "7x7 tiles: winograd");
  cod_conv_geom tiny = tc_geom(64, 6, 6, 64, 3, 3, 1, 1); /* 3 x 3 = 9 tiles */
  cr_expect_eq(cod_conv_algo_choose(&tiny, COD_F64), COD_CONV_IM2COL, "9 tiles: im2col");
  cod_conv_geom big = tc_geom(64, 28, 28, 64, 3, 3, 1, 1);
  cr_expect_eq(cod_conv_algo_choose(&big, COD_F64), COD_CONV_WINO2, "14x14 tiles: winograd");
  cr_expect_eq(cod_conv_algo_choose(&big, COD_F32), COD_CONV_WINO2, "fp32 too");
  cod_conv_geom edge = tc_geom(512, 7, 7, 512, 3, 3, 1, 1); /* 4 x 4 = 16 tiles */
  cr_expect_eq(cod_conv_algo_choose(&edge, COD_F64), COD_CONV_IM2COL);
  cod_conv_geom s2 = tc_geom(64, 13, 13, 64, 3, 3, 2, 1);
  cr_expect(!cod_conv_algo_applies(&s2, COD_CONV_WINO2));
  cr_expect_eq(cod_conv_algo_choose(&s2, COD_F64), COD_CONV_IM2COL);
  cod_conv_geom k5 = tc_geom(64, 13, 13, 64, 5, 5, 1, 2);
  cr_expect(!cod_conv_algo_applies(&k5, COD_CONV_WINO2));
  cod_conv_geom few = tc_geom(3, 32, 32, 64, 3, 3, 1, 1);
  cr_expect(cod_conv_algo_applies(&few, COD_CONV_WINO2));
  cr_expect_eq(cod_conv_algo_choose(&few, COD_F64), COD_CONV_IM2COL, "3 input channels: im2col");
  cr_expect(cod_conv_algo_applies(&few, COD_CONV_IM2COL));
  cr_expect_str_eq(cod_conv_algo_name(COD_CONV_WINO2), "winograd-2x2");
  cr_expect_str_eq(cod_conv_algo_name(COD_CONV_IM2COL), "im2col");
  cr_expect_null(cod_conv_algo_name((cod_conv_algo)7));
  cr_expect(!cod_conv_algo_applies(&g3, (cod_conv_algo)7));
}

Test(wino, pretransformed_filters_same_bits) {
  /* Transforming the filters once must give exactly the per-call result. */
  cod_conv_geom g = tc_geom(24, 17, 14, 20, 3, 3, 1, 1);
  size_t xl = cod_conv_input_len(&g), kl = cod_conv_filter_len(&g), yl = cod_conv_output_len(&g);
  double *x = malloc(xl * 8), *k = malloc(kl * 8), *y1 = malloc(yl * 8), *y2 = malloc(yl * 8);
  double *U = malloc(cod_wino_filters_len(&g) * 8);
  void *w1 = malloc(cod_conv_algo_workspace_bytes(&g, COD_CONV_WINO2, COD_F64));
  void *w2 = malloc(cod_wino_pre_workspace_bytes(&g, COD_F64));
  cr_assert(x && k && y1 && y2 && U && w1 && w2);
  tc_fill(x, xl, 21);
  tc_fill(k, kl, 22);
  cod_conv2d_algo_f64(&g, COD_CONV_WINO2, x, k, y1, w1);
  cod_wino_filters_f64(&g, k, U);
  for (int rep = 0; rep < 2; rep++) { /* U is read-only: a second input reuses it */
    cod_conv2d_wino_pre_f64(&g, x, U, y2, w2);
    cr_assert_eq(memcmp(y1, y2, yl * 8), 0, "pretransformed result differs (rep %d)", rep);
  }
  float *xf = malloc(xl * 4), *kf = malloc(kl * 4), *yf1 = malloc(yl * 4), *yf2 = malloc(yl * 4);
  float *Uf = malloc(cod_wino_filters_len(&g) * 4);
  cr_assert(xf && kf && yf1 && yf2 && Uf);
  for (size_t i = 0; i < xl; i++) xf[i] = (float)x[i];
  for (size_t i = 0; i < kl; i++) kf[i] = (float)k[i];
  cod_conv2d_algo_f32(&g, COD_CONV_WINO2, xf, kf, yf1, w1);
  cod_wino_filters_f32(&g, kf, Uf);
  cod_conv2d_wino_pre_f32(&g, xf, Uf, yf2, w2);
  cr_assert_eq(memcmp(yf1, yf2, yl * 4), 0, "fp32 pretransformed result differs");
  free(x), free(k), free(y1), free(y2), free(U), free(w1), free(w2);
  free(xf), free(kf), free(yf1), free(yf2), free(Uf);
}

Test(wino, pretransformed_filters_same_bits_any_winograd) {
  /* The algorithm-generic form, for both tile sizes and both types. */
  cod_conv_geom g = tc_geom(19, 15, 21, 23, 3, 3, 1, 1);
  size_t xl = cod_conv_input_len(&g), kl = cod_conv_filter_len(&g), yl = cod_conv_output_len(&g);
  const cod_conv_algo as[2] = {COD_CONV_WINO2, COD_CONV_WINO4};
  for (int ai = 0; ai < 2; ai++) {
    cod_conv_algo a = as[ai];
    double *x = malloc(xl * 8), *k = malloc(kl * 8), *y1 = malloc(yl * 8), *y2 = malloc(yl * 8);
    double *U = malloc(cod_conv_algo_filters_len(&g, a) * 8);
    void *w1 = malloc(cod_conv_algo_workspace_bytes(&g, a, COD_F64));
    void *w2 = malloc(cod_conv_algo_pre_workspace_bytes(&g, a, COD_F64));
    float *xf = malloc(xl * 4), *kf = malloc(kl * 4), *yf1 = malloc(yl * 4), *yf2 = malloc(yl * 4);
    float *Uf = malloc(cod_conv_algo_filters_len(&g, a) * 4);
    cr_assert(x && k && y1 && y2 && U && w1 && w2 && xf && kf && yf1 && yf2 && Uf);
    tc_fill(x, xl, 31 + (uint64_t)ai);
    tc_fill(k, kl, 41 + (uint64_t)ai);
    cod_conv2d_algo_f64(&g, a, x, k, y1, w1);
    cod_conv_algo_filters_f64(&g, a, k, U);
    cod_conv2d_algo_pre_f64(&g, a, x, U, y2, w2);
    cr_assert_eq(memcmp(y1, y2, yl * 8), 0, "%s fp64: pretransformed result differs",
                 cod_conv_algo_name(a));
    for (size_t i = 0; i < xl; i++) xf[i] = (float)x[i];
    for (size_t i = 0; i < kl; i++) kf[i] = (float)k[i];
    cod_conv2d_algo_f32(&g, a, xf, kf, yf1, w1);
    cod_conv_algo_filters_f32(&g, a, kf, Uf);
    cod_conv2d_algo_pre_f32(&g, a, xf, Uf, yf2, w2);
    cr_assert_eq(memcmp(yf1, yf2, yl * 4), 0, "%s fp32: pretransformed result differs",
                 cod_conv_algo_name(a));
    /* and it is a convolution: against the long-double reference */
    double *ref = malloc(yl * 8), *sc = malloc(yl * 8);
    cr_assert(ref && sc);
    ref_ld(&g, x, k, ref, 0);
    ref_ld(&g, x, k, sc, 1);
    errs e = err_of(y2, ref, sc, yl);
    cr_expect_leq(e.max, WINO4_MAX_FACTOR * 8.0 * sqrt(19.0 * 9) * DBL_EPSILON, "%s: max %.3g",
                  cod_conv_algo_name(a), e.max);
    free(ref), free(sc);
    free(x), free(k), free(y1), free(y2), free(U), free(w1), free(w2);
    free(xf), free(kf), free(yf1), free(yf2), free(Uf);
  }
}

/* Several images against several filter groups in one band (a coded worker's slabs and
 * groups) give, bit for bit, each (image, group) convolved alone with its own U: fp64 and
 * fp32, at each kernel width, on shapes with odd sizes (partial tiles), one image or one
 * group, and the applicability limits. */
static void check_multi(cod_conv_geom g, size_t ni, size_t ng, int isa) {
  cr_assert(cod_wino2_multi_applies(&g, ni, ng));
  size_t xl = cod_conv_input_len(&g), kl = cod_conv_filter_len(&g), yl = cod_conv_output_len(&g);
  size_t ul = cod_wino_filters_len(&g), xs = xl + 5, ys = ng * yl + 3;
  double *x = malloc(ni * xs * 8), *k = malloc(ng * kl * 8), *U = calloc(ng * ul, 8);
  double *y1 = malloc(ni * ys * 8), *y2 = malloc(ni * ys * 8);
  void *w1 = malloc(cod_wino_pre_workspace_bytes(&g, COD_F64));
  void *w2 = malloc(cod_wino2_multi_workspace_bytes(&g, ni, ng, COD_F64));
  float *xf = malloc(ni * xs * 4), *Uf = calloc(ng * ul, 4), *kf = malloc(ng * kl * 4);
  float *yf1 = malloc(ni * ys * 4), *yf2 = malloc(ni * ys * 4);
  void *wf1 = malloc(cod_wino_pre_workspace_bytes(&g, COD_F32));
  void *wf2 = malloc(cod_wino2_multi_workspace_bytes(&g, ni, ng, COD_F32));
  cr_assert(x && k && U && y1 && y2 && w1 && w2 && xf && Uf && kf && yf1 && yf2 && wf1 && wf2);
  tc_fill(x, ni * xs, 31 + ni);
  tc_fill(k, ng * kl, 32 + ng);
  for (size_t i = 0; i < ni * xs; i++) xf[i] = (float)x[i];
  for (size_t i = 0; i < ng * kl; i++) kf[i] = (float)k[i];
  for (size_t q = 0; q < ng; q++) {
    cod_wino_filters_f64(&g, k + q * kl, U + q * ul);
    cod_wino_filters_f32(&g, kf + q * kl, Uf + q * ul);
  }
  int cap = cod_kernel_cap_isa(isa);
  memset(y1, 0, ni * ys * 8), memset(y2, 0, ni * ys * 8);
  memset(yf1, 0, ni * ys * 4), memset(yf2, 0, ni * ys * 4);
  for (size_t s = 0; s < ni; s++)
    for (size_t q = 0; q < ng; q++) {
      cod_conv2d_wino_pre_f64(&g, x + s * xs, U + q * ul, y1 + s * ys + q * yl, w1);
      cod_conv2d_wino_pre_f32(&g, xf + s * xs, Uf + q * ul, yf1 + s * ys + q * yl, wf1);
    }
  cod_conv2d_wino2_multi_f64(&g, ni, x, xs, ng, U, ul, y2, ys, w2);
  cod_conv2d_wino2_multi_f32(&g, ni, xf, xs, ng, Uf, ul, yf2, ys, wf2);
  cod_kernel_cap_isa(cap);
  cr_assert_eq(memcmp(y1, y2, ni * ys * 8), 0, "fp64 %zu images x %zu groups differ (isa %d)", ni, ng, isa);
  cr_assert_eq(memcmp(yf1, yf2, ni * ys * 4), 0, "fp32 %zu images x %zu groups differ (isa %d)", ni, ng, isa);
  free(x), free(k), free(U), free(y1), free(y2), free(w1), free(w2);
  free(xf), free(Uf), free(kf), free(yf1), free(yf2), free(wf1), free(wf2);
}

Test(wino, images_and_groups_in_one_band_same_bits) {
  const int isas[] = {COD_KERNEL_PORTABLE, COD_KERNEL_AVX2, COD_KERNEL_AVX512};
  for (int i = 0; i < 3; i++) {
    check_multi(tc_geom(24, 4, 15, 16, 3, 3, 1, 0), 2, 2, isas[i]);  /* a 4x4 worker's slab */
    check_multi(tc_geom(17, 7, 9, 32, 3, 3, 1, 0), 3, 2, isas[i]);   /* odd: partial tiles */
    check_multi(tc_geom(16, 6, 6, 16, 3, 3, 1, 1), 1, 3, isas[i]);
    check_multi(tc_geom(16, 6, 6, 48, 3, 3, 1, 1), 4, 1, isas[i]);
  }
  cr_assert(!cod_wino2_multi_applies(&(cod_conv_geom){16, 6, 6, 24, 3, 3, 1, 0}, 2, 2),
            "24 filters a group: not a multiple of 16");
  cr_assert(!cod_wino2_multi_applies(&(cod_conv_geom){16, 26, 26, 16, 3, 3, 1, 0}, 1, 2),
            "144 tiles: beyond one band");
  cr_assert(!cod_wino2_multi_applies(&(cod_conv_geom){16, 6, 6, 16, 3, 3, 2, 0}, 1, 2),
            "stride 2: no Winograd");
}
