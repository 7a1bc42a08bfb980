/* test_coding_conv.c: im2col convolution against the direct reference, the reference
 * against hand-computed examples, and APCP/KCCP partitioning against the whole layer.
 *
 * The unit sweep covers every (kernel, stride, padding) of {1,3,5,11} x {1,2,4} x {0,1,2}
 * with odd and prime sizes cycled through; test_coding_slow.c runs the full product.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cod_conv.h"
#include "cod_part.h"
#include "tc_conv_check.h"
#include "tc_util.h"

/* ---- the reference itself ------------------------------------------------------------ */

Test(conv_direct, hand_example_2x2_kernel) {
  /* x = [[1,2,3],[4,5,6],[7,8,9]], k = [[1,2],[3,4]]: y[0][0] = 1+4+12+20 = 37, etc. */
  const double x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, k[4] = {1, 2, 3, 4};
  const double want[4] = {37, 47, 67, 77};
  cod_conv_geom g = tc_geom(1, 3, 3, 1, 2, 2, 1, 0);
  double y[4];
  cod_conv2d_direct_f64(&g, x, k, y);
  for (int i = 0; i < 4; i++) cr_expect_eq(y[i], want[i], "y[%d] = %g", i, y[i]);
  float xf[9], kf[4], yf[4];
  for (int i = 0; i < 9; i++) xf[i] = (float)x[i];
  for (int i = 0; i < 4; i++) kf[i] = (float)k[i];
  cod_conv2d_direct_f32(&g, xf, kf, yf);
  for (int i = 0; i < 4; i++) cr_expect_eq(yf[i], (float)want[i]);
}

Test(conv_direct, hand_example_pad_stride_two_filters) {
  /* pad 1, stride 2, 3x3 kernels on the same 3x3 input (H' = W' = 2).
   * Filter 0, the Laplacian [[0,1,0],[1,-4,1],[0,1,0]] centred on x(0,0), x(0,2), x(2,0),
   * x(2,2): 2+4-4 = 2, 2+6-12 = -4, 4+8-28 = -16, 6+8-36 = -22.
   * Filter 1 has a single 1 at (0,0): it reads padded (2h, 2w) = x(2h-1, 2w-1), so it
   * gives 0, 0, 0, x(1,1) = 5; a flipped (true) convolution would give x(1,1)... at
   * (0,0) instead: this pins cross-correlation. */
  const double x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const double k[18] = {0, 1, 0, 1, -4, 1, 0, 1, 0, /**/ 1, 0, 0, 0, 0, 0, 0, 0, 0};
  const double want[8] = {2, -4, -16, -22, 0, 0, 0, 5};
  cod_conv_geom g = tc_geom(1, 3, 3, 2, 3, 3, 2, 1);
  cr_assert_eq(cod_conv_out_h(&g), 2);
  cr_assert_eq(cod_conv_out_w(&g), 2);
  double y[8];
  cod_conv2d_direct_f64(&g, x, k, y);
  for (int i = 0; i < 8; i++) cr_expect_eq(y[i], want[i], "y[%d] = %g want %g", i, y[i], want[i]);
}

Test(conv_direct, hand_example_channel_sum_rect_kernel) {
  /* 2 channels, 1x1 kernel weights (2, -1): y = 2*x0 - x1. */
  const double x[8] = {1, 2, 3, 4, 10, 20, 30, 40}, k[2] = {2, -1};
  const double want[4] = {-8, -16, -24, -32};
  cod_conv_geom g = tc_geom(2, 2, 2, 1, 1, 1, 1, 0);
  double y[4];
  cod_conv2d_direct_f64(&g, x, k, y);
  for (int i = 0; i < 4; i++) cr_expect_eq(y[i], want[i]);
  /* 1x3 kernel [1, 0, -1] on a 1x4 row with pad 1: y[w] = x[w-1] - x[w+1] */
  const double r[4] = {1, 4, 9, 16}, kr[3] = {1, 0, -1}, wr[4] = {-4, -8, -12, 9};
  cod_conv_geom h = tc_geom(1, 1, 4, 1, 1, 3, 1, 1); /* pad also adds rows: H' = 3 */
  cr_assert_eq(cod_conv_out_h(&h), 3);
  cr_assert_eq(cod_conv_out_w(&h), 4);
  double yr[12];
  cod_conv2d_direct_f64(&h, r, kr, yr);
  for (int i = 0; i < 4; i++) {
    cr_expect_eq(yr[i], 0.0, "padding row");
    cr_expect_eq(yr[4 + i], wr[i], "yr[%d] = %g", i, yr[4 + i]);
    cr_expect_eq(yr[8 + i], 0.0, "padding row");
  }
}

Test(conv_geom, sizes_and_validity) {
  cod_conv_geom g = tc_geom(3, 13, 17, 5, 5, 3, 2, 1);
  cr_expect_eq(cod_conv_out_h(&g), 6);   /* (13+2-5)/2+1 */
  cr_expect_eq(cod_conv_out_w(&g), 9);   /* (17+2-3)/2+1 */
  cr_expect_eq(cod_conv_input_len(&g), 3 * 13 * 17);
  cr_expect_eq(cod_conv_filter_len(&g), 5 * 3 * 5 * 3);
  cr_expect_eq(cod_conv_output_len(&g), 5 * 6 * 9);
  cr_expect_eq(cod_conv_macs(&g), 5.0 * 6 * 9 * 3 * 5 * 3);
  cr_expect(cod_conv_geom_valid(&g));
  cod_conv_geom bad = tc_geom(3, 7, 7, 5, 11, 11, 1, 1); /* 11 > 7+2 */
  cr_expect_not(cod_conv_geom_valid(&bad));
  bad = tc_geom(3, 7, 7, 5, 3, 3, 0, 1);
  cr_expect_not(cod_conv_geom_valid(&bad), "stride 0");
  bad = tc_geom(0, 7, 7, 5, 3, 3, 1, 1);
  cr_expect_not(cod_conv_geom_valid(&bad), "no channels");
  bad = tc_geom(3, 7, 7, 0, 3, 3, 1, 1);
  cr_expect_not(cod_conv_geom_valid(&bad), "no filters");
  cod_conv_geom edge = tc_geom(1, 7, 7, 1, 11, 11, 1, 2); /* exactly fits */
  cr_expect(cod_conv_geom_valid(&edge));
  cr_expect_eq(cod_conv_out_h(&edge), 1);
}

/* ---- im2col vs reference --------------------------------------------------------------- */

Test(conv_im2col, sweep_kernel_stride_pad) {
  const size_t ks[4] = {1, 3, 5, 11}, ss[3] = {1, 2, 4}, ps[3] = {0, 1, 2};
  const size_t cs[3] = {1, 3, 7}, hs[4] = {7, 13, 17, 31}, ns[3] = {1, 5, 8};
  size_t run = 0, skipped = 0, t = 0;
  double worst = 0;
  for (size_t a = 0; a < 4; a++)
    for (size_t b = 0; b < 3; b++)
      for (size_t c = 0; c < 3; c++)
        for (size_t v = 0; v < 2; v++, t++) { /* two size variants per (k, s, p) */
          size_t C = cs[(t + v) % 3], H = hs[t % 4], W = hs[(t + 1 + v) % 4], N = ns[(t / 2) % 3];
          if (ks[a] == 11 && C == 7) C = 3; /* keep the unit suite fast */
          cod_conv_geom g = tc_geom(C, H, W, N, ks[a], ks[a], ss[b], ps[c]);
          if (!cod_conv_geom_valid(&g)) {
            skipped++;
            continue;
          }
          double e = tc_conv_check(&g, 1000 + t);
          if (e > worst) worst = e;
          run++;
        }
  cr_log_info("conv sweep: %zu geometries, %zu skipped (kernel does not fit), worst %.3g x tol",
              run, skipped, worst);
  cr_expect_geq(run, 50);
}

Test(conv_im2col, rectangular_kernels) {
  const size_t kk[][2] = {{1, 3}, {3, 1}, {5, 2}, {2, 7}, {11, 1}};
  for (size_t i = 0; i < 5; i++)
    for (size_t s = 1; s <= 3; s++) {
      cod_conv_geom g = tc_geom(3, 13, 11, 4, kk[i][0], kk[i][1], s, i % 3);
      tc_conv_check(&g, 50 + i * 3 + s);
    }
}

Test(conv_im2col, pointwise_path_needs_no_workspace) {
  cod_conv_geom g = tc_geom(7, 13, 17, 5, 1, 1, 1, 0);
  cr_expect_eq(cod_conv_workspace_bytes(&g, COD_F64), 0);
  cr_expect_eq(cod_conv_workspace_bytes(&g, COD_F32), 0);
  tc_conv_check(&g, 9);
  /* 1x1 but strided or padded is not the pointwise path: it needs a workspace */
  cod_conv_geom s2 = tc_geom(7, 13, 17, 5, 1, 1, 2, 0), p1 = tc_geom(7, 13, 17, 5, 1, 1, 1, 1);
  cr_expect_gt(cod_conv_workspace_bytes(&s2, COD_F64), 0);
  cr_expect_gt(cod_conv_workspace_bytes(&p1, COD_F64), 0);
  tc_conv_check(&s2, 10);
  tc_conv_check(&p1, 11);
}

Test(conv_im2col, several_bands) {
  /* C*KH*KW = 576, W' = 70: one output row of columns is 576*70*8 = 322560 bytes, so an
   * 8 MiB band holds 26 rows and the 70 output rows take 3 bands (2 in fp32). */
  cod_conv_geom g = tc_geom(64, 70, 70, 8, 3, 3, 1, 1);
  size_t full64 = 576 * 70 * 70 * 8, full32 = 576 * 70 * 70 * 4;
  size_t w64 = cod_conv_workspace_bytes(&g, COD_F64), w32 = cod_conv_workspace_bytes(&g, COD_F32);
  cr_expect_lt(w64, full64, "fp64 workspace %zu is the full im2col matrix", w64);
  cr_expect_lt(w32, full32, "fp32 workspace %zu is the full im2col matrix", w32);
  cr_expect_leq(w64, (size_t)8 << 20);
  cr_expect_eq(w64 % (576 * 70 * 8), 0, "workspace is a whole number of output rows");
  tc_conv_check(&g, 4242);
  /* a band count that does not divide H' and a stride */
  cod_conv_geom h = tc_geom(64, 71, 69, 5, 3, 3, 2, 1);
  tc_conv_check(&h, 4343);
}

/* ---- partitioning ---------------------------------------------------------------------- */

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

/* Convolve every slab with every group (direct reference, piece geometry), stitch, and
 * compare with the whole layer. The piece sums contain the same nonzero products in the
 * same order plus exact zeros from materialised padding, so equality is exact. */
static void check_partition(const cod_conv_geom *g, cod_axis axis, size_t m_in,
                            size_t m_filt, uint64_t seed) {
  cod_partition p;
  cod_err err = {0};
  cr_assert_eq(cod_partition_init(&p, g, axis, m_in, m_filt, &err), COD_OK, "%s", err.msg);
  size_t OH = cod_conv_out_h(g), OW = cod_conv_out_w(g), KA = axis == COD_AXIS_ROWS ? g->kh : g->kw;
  size_t out_axis = axis == COD_AXIS_ROWS ? OH : OW;
  cr_expect_eq(p.out_per_slab, ceil_div(out_axis, m_in));
  cr_expect_eq(p.filt_per_group, ceil_div(g->n_filters, m_filt));
  cr_expect_eq(p.piece.pad, 0);
  cr_expect_eq(p.piece.stride, g->stride);
  cr_expect_eq(p.piece.n_filters, p.filt_per_group);
  size_t span = (p.out_per_slab - 1) * g->stride + KA;
  cr_expect_eq(axis == COD_AXIS_ROWS ? p.piece.h : p.piece.w, span);
  cr_expect_eq(axis == COD_AXIS_ROWS ? p.piece.w : p.piece.h,
               (axis == COD_AXIS_ROWS ? g->w : g->h) + 2 * g->pad);
  cr_expect_eq(p.in_piece_len, g->c * p.piece.h * p.piece.w);
  cr_expect_eq(p.filt_piece_len, p.filt_per_group * g->c * g->kh * g->kw);
  cr_expect_eq(p.out_block_len, cod_conv_output_len(&p.piece));

  size_t xl = cod_conv_input_len(g), kl = cod_conv_filter_len(g), yl = cod_conv_output_len(g);
  double *x = malloc(xl * 8), *k = malloc(kl * 8), *yr = malloc(yl * 8), *y = malloc(yl * 8);
  double *slabs = malloc(m_in * p.in_piece_len * 8), *groups = malloc(m_filt * p.filt_piece_len * 8);
  double *blocks = malloc(m_in * m_filt * p.out_block_len * 8);
  cr_assert(x && k && yr && y && slabs && groups && blocks);
  tc_fill(x, xl, seed);
  tc_fill(k, kl, seed + 1);
  for (size_t i = 0; i < m_in * p.in_piece_len; i++) slabs[i] = NAN; /* must be overwritten */
  for (size_t i = 0; i < m_filt * p.filt_piece_len; i++) groups[i] = NAN;
  cod_partition_split_input(&p, x, slabs);
  cod_partition_split_filters(&p, k, groups);
  for (size_t a = 0; a < m_in; a++)
    for (size_t b = 0; b < m_filt; b++)
      cod_conv2d_direct_f64(&p.piece, slabs + a * p.in_piece_len, groups + b * p.filt_piece_len,
                            blocks + (a * m_filt + b) * p.out_block_len);
  for (size_t i = 0; i < yl; i++) y[i] = NAN; /* every output entry must be written */
  cod_partition_stitch(&p, blocks, y);
  cod_conv2d_direct_f64(g, x, k, yr);
  size_t bad = 0;
  for (size_t i = 0; i < yl; i++)
    if (!(y[i] == yr[i])) bad++;
  cr_expect_eq(bad, 0, "%zu of %zu entries differ: %s C%zu H%zu W%zu N%zu k%zux%zu s%zu p%zu "
               "m_in %zu m_filt %zu", bad, yl, axis == COD_AXIS_ROWS ? "rows" : "cols", g->c,
               g->h, g->w, g->n_filters, g->kh, g->kw, g->stride, g->pad, m_in, m_filt);
  /* the same blocks emitted in seeded random chunks through cod_partition_scatter */
  double *y2 = malloc(yl * 8);
  cr_assert(y2);
  for (size_t i = 0; i < yl; i++) y2[i] = NAN;
  tc_lcg rng;
  tc_lcg_seed(&rng, seed + 7);
  for (size_t blk = 0; blk < m_in * m_filt; blk++)
    for (size_t e0 = 0; e0 < p.out_block_len;) {
      size_t n = 1 + tc_lcg_below(&rng, 40);
      if (n > p.out_block_len - e0) n = p.out_block_len - e0;
      cod_partition_scatter(&p, blk, e0, n, blocks + blk * p.out_block_len + e0, y2);
      e0 += n;
    }
  bad = 0;
  for (size_t i = 0; i < yl; i++)
    if (!(y2[i] == yr[i])) bad++;
  cr_expect_eq(bad, 0, "chunked scatter: %zu of %zu entries differ", bad, yl);
  free(y2);
  /* zero filters fill the last group */
  for (size_t i = kl; i < m_filt * p.filt_piece_len; i++) cr_expect_eq(groups[i], 0.0);
  free(x), free(k), free(yr), free(y), free(slabs), free(groups), free(blocks);
}

Test(partition, stitch_reproduces_layer) {
  const cod_conv_geom layers[] = {
      tc_geom(3, 13, 11, 7, 3, 3, 2, 1),  /* H' = 7, W' = 6 */
      tc_geom(2, 9, 10, 5, 5, 3, 1, 2),   /* H' = 9, W' = 12, rectangular kernel */
      tc_geom(1, 7, 7, 3, 1, 1, 1, 0),    /* pointwise: no overlap */
      tc_geom(2, 17, 13, 6, 3, 3, 4, 0),  /* stride > kernel: gaps between slabs */
      tc_geom(3, 31, 17, 8, 11, 5, 2, 2), /* large kernel, big overlap */
  };
  const size_t mins[] = {1, 2, 3, 4, 5, 8, 11}, mfs[] = {1, 2, 3, 4, 7, 8};
  for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++)
    for (int axis = 0; axis < 2; axis++)
      for (size_t a = 0; a < 7; a++)
        for (size_t b = 0; b < 6; b++)
          check_partition(&layers[l], (cod_axis)axis, mins[a], mfs[b], 300 + l * 100 + a * 10 + b);
}

Test(partition, init_errors) {
  cod_partition p;
  memset(&p, 0x3C, sizeof p);
  cod_partition before = p;
  cod_err err = {0};
  cod_conv_geom bad = tc_geom(3, 5, 5, 4, 9, 9, 1, 1);
  cr_expect_eq(cod_partition_init(&p, &bad, COD_AXIS_ROWS, 2, 2, &err), COD_EINVAL);
  cr_expect(strstr(err.msg, "invalid layer geometry") != NULL, "%s", err.msg);
  cod_conv_geom g = tc_geom(3, 5, 5, 4, 3, 3, 1, 1);
  cr_expect_eq(cod_partition_init(&p, &g, COD_AXIS_ROWS, 0, 2, &err), COD_EINVAL);
  cr_expect(strstr(err.msg, "at least one") != NULL, "%s", err.msg);
  cr_expect_eq(cod_partition_init(&p, &g, COD_AXIS_COLS, 2, 0, &err), COD_EINVAL);
  cr_expect(memcmp(&p, &before, sizeof p) == 0, "partition modified on failure");
}

/* The batched convolution (one GEMM over several images) equals the direct reference image
 * by image, for small batches that take the one-GEMM path and a large one that falls back
 * to per-image convolutions; the workspace is exactly what it announces (canary after). */
Test(conv_im2col, batch_matches_direct) {
  const cod_conv_geom gs[] = {tc_geom(3, 9, 11, 5, 3, 3, 1, 1), tc_geom(2, 35, 40, 4, 11, 11, 4, 2),
                              tc_geom(4, 7, 7, 6, 1, 1, 1, 0), tc_geom(64, 70, 70, 8, 3, 3, 1, 1)};
  for (size_t gi = 0; gi < sizeof gs / sizeof gs[0]; gi++)
    for (size_t nimg = 1; nimg <= 3; nimg++) {
      const cod_conv_geom *g = &gs[gi];
      size_t il = cod_conv_input_len(g), ol = cod_conv_output_len(g), kl = cod_conv_filter_len(g);
      size_t wb = cod_conv_batch_workspace_bytes(g, nimg, COD_F64);
      double *x = malloc(nimg * il * 8), *k = malloc(kl * 8), *y = malloc(nimg * ol * 8);
      double *yr = malloc(ol * 8);
      unsigned char *w = malloc(wb + 64);
      cr_assert(x && k && y && yr && w);
      tc_fill(x, nimg * il, 900 + gi);
      tc_fill(k, kl, 950 + gi);
      memset(w + wb, 0xA5, 64);
      cod_conv2d_batch_f64(g, nimg, x, k, y, w);
      for (size_t b = 0; b < 64; b++) cr_expect_eq(w[wb + b], 0xA5, "workspace overrun");
      for (size_t i = 0; i < nimg; i++) {
        cod_conv2d_direct_f64(g, x + i * il, k, yr);
        double tol = 8.0 * sqrt((double)(g->c * g->kh * g->kw)) * DBL_EPSILON;
        cr_expect_leq(tc_rel_err(y + i * ol, yr, ol), tol, "geometry %zu image %zu of %zu", gi, i, nimg);
      }
      free(x), free(k), free(y), free(yr), free(w);
    }
}

/* Stacked filter banks (cod_conv2d_batch_gemm_sets_*) give each bank the bits of its own
 * cod_conv2d_batch_gemm_* for every count 1..20, fp64 and fp32, on worker shapes of the
 * runner's tests and AlexNet's layers, including 2 filters x 66 columns x 54, which
 * OpenBLAS's AVX-512 dgemm sums differently when stacked (the group size then falls to
 * what its probe found exact). The group is a power of two no larger than what is left. */
static void check_sets(const cod_conv_geom *g, size_t nimg, cod_dtype dt, size_t *stacked) {
  const size_t il = cod_conv_input_len(g), ol = cod_conv_output_len(g), kl = cod_conv_filter_len(g);
  const size_t NS = 20, esz = dt == COD_F64 ? 8 : 4;
  double *xd = malloc(nimg * il * 8), *kd = malloc(NS * kl * 8);
  cr_assert(xd && kd);
  tc_fill(xd, nimg * il, 1200 + g->c), tc_fill(kd, NS * kl, 1300 + g->n_filters);
  void *x = malloc(nimg * il * esz), *k = malloc(NS * kl * esz);
  void *col = malloc(cod_conv_batch_sets_workspace_bytes(g, nimg, NS, dt));
  void *one = malloc(cod_conv_batch_sets_workspace_bytes(g, nimg, 1, dt) + cod_conv_batch_cols_len(g, nimg, dt) * esz);
  unsigned char *y = malloc(NS * nimg * ol * esz), *y1 = malloc(nimg * ol * esz);
  cr_assert(x && k && col && one && y && y1);
  for (size_t i = 0; i < nimg * il; i++)
    if (dt == COD_F64) ((double *)x)[i] = xd[i];
    else ((float *)x)[i] = (float)xd[i];
  for (size_t i = 0; i < NS * kl; i++)
    if (dt == COD_F64) ((double *)k)[i] = kd[i];
    else ((float *)k)[i] = (float)kd[i];
  cod_err e = {0};
  cr_assert_eq(cod_conv_sets_probe(g, nimg, NS, dt, &e), COD_OK, "%s", e.msg);
  for (size_t ns = 1; ns <= NS; ns++) {
    size_t grp = cod_conv_sets_group(g, nimg, ns, dt);
    cr_assert(grp >= 1 && grp <= ns && (grp & (grp - 1)) == 0, "group %zu of %zu", grp, ns);
    *stacked += grp > 1;
    void *ys[20];
    for (size_t s = 0; s < ns; s++) ys[s] = y + s * nimg * ol * esz;
    if (dt == COD_F64) {
      cod_conv2d_batch_cols_f64(g, nimg, x, col);
      cod_conv2d_batch_gemm_sets_f64(g, nimg, col, ns, k, (double *const *)ys, col);
    } else {
      cod_conv2d_batch_cols_f32(g, nimg, x, col);
      cod_conv2d_batch_gemm_sets_f32(g, nimg, col, ns, k, (float *const *)ys, col);
    }
    for (size_t s = 0; s < ns; s++) {
      if (dt == COD_F64) {
        cod_conv2d_batch_cols_f64(g, nimg, x, one);
        cod_conv2d_batch_gemm_f64(g, nimg, one, (const double *)k + s * kl, (double *)y1, one);
      } else {
        cod_conv2d_batch_cols_f32(g, nimg, x, one);
        cod_conv2d_batch_gemm_f32(g, nimg, one, (const float *)k + s * kl, (float *)y1, one);
      }
      cr_assert(memcmp(ys[s], y1, nimg * ol * esz) == 0,
                "%s geometry C=%zu N=%zu %zux%zu, %zu images: bank %zu of %zu differs from its own GEMM",
                dt == COD_F64 ? "fp64" : "fp32", g->c, g->n_filters, g->h, g->w, nimg, s, ns);
    }
  }
  free(xd), free(kd), free(x), free(k), free(col), free(one), free(y), free(y1);
}

Test(conv_im2col, stacked_banks_give_each_bank_its_own_gemm_bits) {
  /* workers of two slabs each (the batched columns need two images or more): runner_encode's
   * 6 x 18 x 11 layer at 4x4 (2 filters, 66 columns), AlexNet conv3's shape at 1x16 (24
   * filters of 192 x 3 x 3 on 13 x 13), conv2's at 4x4 (48 of 64 x 5 x 5) */
  const cod_conv_geom gs[] = {tc_geom(6, 5, 11, 2, 3, 3, 1, 0), tc_geom(192, 15, 15, 24, 3, 3, 1, 0),
                              tc_geom(64, 12, 31, 48, 5, 5, 1, 0)};
  const size_t imgs[] = {2, 2, 2};
  size_t stacked = 0;
  for (size_t gi = 0; gi < sizeof gs / sizeof gs[0]; gi++) {
    check_sets(&gs[gi], imgs[gi], COD_F64, &stacked);
    check_sets(&gs[gi], imgs[gi], COD_F32, &stacked);
  }
  cr_log_info("stacked GEMMs of 2 or more banks in %zu of 120 cases on this BLAS", stacked);
}
