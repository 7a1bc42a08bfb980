/* test_coding_chunk.c: encoding by chunks of workers (cod_code_encode_*_chunk) gives the
 * all-worker encoding bit for bit, and cod_code_worker_compute_algo agrees with the
 * im2col worker within a stated multiple of its error. Suite unit.
 *
 * Several schemes (dense GEMMs and sparse products), worker counts that leave a partial
 * last chunk, e_A/e_B > 1 (nsctc-rot has 2 coded slabs per worker), seeded Gaussian inputs.
 * Bit-for-bit is what the runner relies on when it encodes lazily (rows must not depend on
 * its memory budget); a dense product through a BLAS GEMM failed it on OpenBLAS's AVX-512
 * kernels (rot_wide), which is why encoding no longer goes through one.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "cod_alloc.h"
#include "cod_blas.h"
#include "cod_code.h"
#include "cod_wino.h"

/* The runner's BLAS setting (fcdcc main, sweep threads): one thread. A threaded GEMM splits
 * rows where a thread's share ends, which no chunking can match. */
static void one_thread(void) { cod_blas_set_threads(1); }
TestSuite(coding_chunk, .init = one_thread);

static double *gauss(size_t n, unsigned long seed) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, seed);
  double *v = cod_malloc_array(n, sizeof *v);
  cr_assert_not_null(v);
  for (size_t i = 0; i < n; i++) v[i] = gsl_ran_gaussian(r, 1.0);
  gsl_rng_free(r);
  return v;
}

static void check(const char *scheme, size_t n, size_t ka, size_t kb, const cod_conv_geom *g) {
  cod_code_params p = cod_code_params_default();
  p.scheme = scheme, p.n_workers = n, p.ka = ka, p.kb = kb;
  cod_code *c = NULL;
  cod_err e = {0};
  cr_assert_eq(cod_code_new(&p, g, &c, &e), COD_OK, "%s", e.msg);
  size_t il = cod_code_worker_input_len(c), fl = cod_code_worker_filter_len(c);
  double *x = gauss(cod_conv_input_len(g), n), *k = gauss(cod_conv_filter_len(g), n + 1);
  double *cx = cod_malloc_array(n * il, sizeof *cx), *ck = cod_malloc_array(n * fl, sizeof *ck);
  cr_assert_eq(cod_code_encode_input(c, x, cx, &e), COD_OK);
  cr_assert_eq(cod_code_encode_filters(c, k, ck, &e), COD_OK);
  double *pieces = cod_malloc(cod_code_encode_workspace_bytes(c));
  double *groups = cod_malloc_array(cod_code_filter_groups_len(c), sizeof *groups);
  size_t wi = cod_code_input_chunk_workers(c), wf = cod_code_filter_chunk_workers(c);
  cr_assert_eq(wi * cod_code_slabs_per_worker(c) % COD_ENCODE_CHUNK_ROWS, 0);
  cr_assert_eq(wf * cod_code_groups_per_worker(c) % COD_ENCODE_CHUNK_ROWS, 0);
  double *ci = cod_malloc_array(wi * il, sizeof *ci), *cf = cod_malloc_array(wf * fl, sizeof *cf);
  cr_assert(pieces && groups && ci && cf);
  cod_code_split_input(c, x, pieces);
  cod_code_split_filters(c, k, groups);
  for (size_t a = 0; a * wi < n; a++) {
    size_t w = n - a * wi < wi ? n - a * wi : wi;
    memset(ci, 0xff, wi * il * sizeof *ci); /* NaN: a row not written would show */
    cod_code_encode_input_chunk(c, pieces, a, ci);
    cr_assert(memcmp(ci, cx + a * wi * il, w * il * sizeof *ci) == 0,
              "%s n=%zu: input chunk %zu differs", scheme, n, a);
  }
  for (size_t b = 0; b * wf < n; b++) {
    size_t w = n - b * wf < wf ? n - b * wf : wf;
    cod_code_encode_filters_chunk(c, groups, b, cf);
    cr_assert(memcmp(cf, ck + b * wf * fl, w * fl * sizeof *cf) == 0,
              "%s n=%zu: filter chunk %zu differs", scheme, n, b);
  }
  cod_free(x), cod_free(k), cod_free(cx), cod_free(ck), cod_free(pieces), cod_free(groups);
  cod_free(ci), cod_free(cf);
  cod_code_free(c);
}

static const cod_conv_geom g_small = {6, 18, 11, 8, 3, 3, 1, 1};
static const cod_conv_geom g_wide = {5, 40, 61, 12, 5, 5, 2, 2};

Test(coding_chunk, rot_partial_last_chunk) { check("nsctc-rot", 70, 4, 2, &g_small); }
Test(coding_chunk, rot_one_chunk) { check("nsctc-rot", 12, 2, 2, &g_small); }
Test(coding_chunk, rot_wide) { check("nsctc-rot", 255, 4, 4, &g_wide); }
Test(coding_chunk, poly_real) { check("poly-real", 40, 4, 2, &g_small); }
Test(coding_chunk, uncoded) { check("uncoded", 24, 6, 4, &g_wide); }
/* the sparse product (cod_encode_is_sparse): nsctc-cir's coded side and the 0/1 matrices */
Test(coding_chunk, cir_filters_sparse) { check("nsctc-cir", 23, 1, 16, &g_wide); }
Test(coding_chunk, cir_input_sparse) { check("nsctc-cir", 13, 3, 1, &g_small); }
Test(coding_chunk, replication_sparse) { check("replication", 40, 4, 5, &g_small); }

/* Winograd worker slabs against the im2col worker: both against the direct convolution
 * of each slab, Winograd's RMS error at most 8x im2col's plus 16 ulp of the output RMS. */
Test(coding_chunk, worker_compute_algo_winograd) {
  cod_conv_geom g = {32, 58, 30, 32, 3, 3, 1, 1};
  cod_code_params p = cod_code_params_default();
  p.n_workers = 20, p.ka = 4, p.kb = 4;
  cod_code *c = NULL;
  cod_err e = {0};
  cr_assert_eq(cod_code_new(&p, &g, &c, &e), COD_OK, "%s", e.msg);
  const cod_conv_geom *wg = cod_code_worker_geom(c);
  cr_assert(cod_conv_algo_applies(wg, COD_CONV_WINO2));
  size_t il = cod_code_worker_input_len(c), fl = cod_code_worker_filter_len(c),
         ol = cod_code_worker_output_len(c), ea = cod_code_slabs_per_worker(c);
  double *x = gauss(il, 5), *k = gauss(fl, 6);
  double *yi = cod_malloc_array(ol, sizeof *yi), *yw = cod_malloc_array(ol, sizeof *yw);
  double *yd = cod_malloc_array(ol, sizeof *yd);
  void *wi = cod_aligned_alloc(cod_code_worker_workspace_bytes_algo(c, COD_F64, COD_CONV_IM2COL));
  void *ww = cod_aligned_alloc(cod_code_worker_workspace_bytes_algo(c, COD_F64, COD_CONV_WINO2));
  cr_assert(yi && yw && yd && wi && ww);
  cod_code_worker_compute_algo(c, COD_F64, COD_CONV_IM2COL, x, k, yi, wi);
  cod_code_worker_compute_algo(c, COD_F64, COD_CONV_WINO2, x, k, yw, ww);
  size_t pout = cod_conv_output_len(wg);
  for (size_t s = 0; s < ea; s++) cod_conv2d_direct_f64(wg, x + s * cod_conv_input_len(wg), k, yd + s * pout);
  double ei = 0, ew = 0, den = 0;
  for (size_t i = 0; i < ol; i++) {
    ei += (yi[i] - yd[i]) * (yi[i] - yd[i]), ew += (yw[i] - yd[i]) * (yw[i] - yd[i]);
    den += yd[i] * yd[i];
  }
  cr_assert_gt(ew, 0.0, "winograd should differ from direct in the last bits");
  cr_assert_leq(sqrt(ew), 8.0 * sqrt(ei) + 16 * 2.2e-16 * sqrt(den), "winograd %g im2col %g",
                sqrt(ew / den), sqrt(ei / den));
  cod_free(x), cod_free(k), cod_free(yi), cod_free(yw), cod_free(yd), cod_free(wi), cod_free(ww);
  cod_code_free(c);
}

/* Coded filters kept in Winograd's transformed form (cod_code_*_form): the transform
 * commutes with the encoding, so (1) every worker's transformed coded groups are the
 * transforms of its plain coded groups up to rounding; (2) the chunked encoding of the
 * transformed groups is the all-worker one bit for bit; (3) a worker computed from them
 * is within 8x the im2col worker's error (plus 16 ulp of the RMS) of the direct
 * convolution of its coded operands; (4) the layer decodes from the results of any
 * delta workers (the first delta after a shuffle) to 1e-12. Geometries: N a multiple of
 * m_filt and not (a zero-padded last group), F below and above one 8-filter panel and 16
 * (the one-band path, cod_conv2d_wino2_multi_f64), both axes, a dense and a sparse
 * scheme. */
static void check_form(const char *scheme, size_t n, size_t ka, size_t kb, cod_conv_geom g,
                       cod_axis axis) {
  cod_code_params p = cod_code_params_default();
  p.scheme = scheme, p.n_workers = n, p.ka = ka, p.kb = kb, p.axis = axis;
  cod_code *c = NULL;
  cod_err e = {0};
  cr_assert_eq(cod_code_new(&p, &g, &c, &e), COD_OK, "%s", e.msg);
  const cod_conv_algo F = COD_CONV_WINO2;
  const cod_conv_geom *pg = &cod_code_partition(c)->piece;
  cr_assert(cod_conv_algo_applies(pg, F));
  size_t il = cod_code_worker_input_len(c), fl = cod_code_worker_filter_len(c),
         ft = cod_code_worker_filter_len_form(c, F), ol = cod_code_worker_output_len(c);
  size_t eb = cod_code_groups_per_worker(c), ul = ft / eb, pl = fl / eb;
  cr_assert_eq(ul, cod_conv_algo_filters_len(pg, F));
  cr_assert_eq(cod_code_worker_filter_len_form(c, COD_CONV_IM2COL), fl);
  double *x = gauss(cod_conv_input_len(&g), n + 7), *k = gauss(cod_conv_filter_len(&g), n + 8);
  double *cx = cod_malloc_array(n * il, sizeof *cx), *ck = cod_malloc_array(n * fl, sizeof *ck);
  double *ct = cod_malloc_array(n * ft, sizeof *ct), *u = cod_malloc_array(ul, sizeof *u);
  cr_assert(cx && ck && ct && u);
  cr_assert_eq(cod_code_encode_input(c, x, cx, &e), COD_OK);
  cr_assert_eq(cod_code_encode_filters(c, k, ck, &e), COD_OK);
  cr_assert_eq(cod_code_encode_filters_form(c, F, k, ct, &e), COD_OK, "%s", e.msg);
  /* (1) */
  double worst = 0;
  for (size_t r = 0; r < n * eb; r++) {
    memset(u, 0, ul * sizeof *u); /* the planes' padding: zero in the transformed groups */
    cod_conv_algo_filters_f64(pg, F, ck + r * pl, u);
    double num = 0, den = 0;
    for (size_t i = 0; i < ul; i++) {
      double d = ct[r * ul + i] - u[i];
      num += d * d, den += u[i] * u[i];
    }
    double rel = den > 0 ? sqrt(num / den) : sqrt(num);
    worst = rel > worst ? rel : worst;
  }
  cr_assert_lt(worst, 1e-14, "%s n=%zu %zux%zu N=%zu: transformed coded groups off by %g", scheme, n, ka, kb, g.n_filters, worst);
  /* (2) */
  double *groups = cod_malloc_array(cod_code_filter_groups_len_form(c, F), sizeof *groups);
  size_t wf = cod_code_filter_chunk_workers(c);
  double *cf = cod_malloc_array(wf * ft, sizeof *cf);
  cr_assert(groups && cf);
  cod_code_split_filters_form(c, F, k, groups);
  for (size_t b = 0; b * wf < n; b++) {
    size_t w = n - b * wf < wf ? n - b * wf : wf;
    cod_code_encode_filters_chunk_form(c, F, groups, b, cf);
    cr_assert(memcmp(cf, ct + b * wf * ft, w * ft * sizeof *cf) == 0,
              "%s: transformed filter chunk %zu differs", scheme, b);
  }
  /* (3) and the results of every worker for (4) */
  const cod_conv_geom *wg = cod_code_worker_geom(c);
  size_t ea = cod_code_slabs_per_worker(c), pout = cod_conv_output_len(wg);
  double *res = cod_malloc_array(n * ol, sizeof *res), *yi = cod_malloc_array(ol, sizeof *yi);
  double *yd = cod_malloc_array(ol, sizeof *yd);
  void *wt = cod_aligned_alloc(cod_code_worker_workspace_bytes_form(c, F));
  void *wi = cod_aligned_alloc(cod_code_worker_workspace_bytes(c, COD_F64));
  cr_assert(res && yi && yd && wt && wi);
  double ei = 0, et = 0, den = 0;
  for (size_t j = 0; j < n; j++) {
    cod_code_worker_compute_form(c, F, cx + j * il, ct + j * ft, res + j * ol, wt);
    cod_code_worker_compute(c, COD_F64, cx + j * il, ck + j * fl, yi, wi);
    for (size_t s = 0; s < ea; s++)
      cod_conv2d_direct_f64(wg, cx + j * il + s * cod_conv_input_len(wg), ck + j * fl, yd + s * pout);
    for (size_t i = 0; i < ol; i++) {
      double a = res[j * ol + i] - yd[i], b = yi[i] - yd[i];
      et += a * a, ei += b * b, den += yd[i] * yd[i];
    }
  }
  cr_assert_gt(et, 0.0, "winograd should differ from direct in the last bits");
  cr_assert_leq(sqrt(et), 8.0 * sqrt(ei) + 16 * 2.2e-16 * sqrt(den), "%s: form %g im2col %g",
                scheme, sqrt(et / den), sqrt(ei / den));
  /* (4) */
  size_t *avail = cod_malloc_array(n, sizeof *avail);
  const double **rp = cod_malloc_array(n, sizeof *rp);
  double *y = cod_malloc_array(cod_conv_output_len(&g), sizeof *y);
  double *ref = cod_malloc_array(cod_conv_output_len(&g), sizeof *ref);
  cr_assert(avail && rp && y && ref);
  for (size_t j = 0; j < n; j++) avail[j] = (j * 7 + 3) % n;
  for (size_t j = 0; j < n; j++) rp[j] = res + avail[j] * ol;
  cr_assert_eq(cod_code_decode(c, avail, n, rp, COD_DECODE_AUTO, y, NULL, &e), COD_OK, "%s", e.msg);
  cod_conv2d_direct_f64(&g, x, k, ref);
  double num = 0, dr = 0;
  for (size_t i = 0; i < cod_conv_output_len(&g); i++)
    num += (y[i] - ref[i]) * (y[i] - ref[i]), dr += ref[i] * ref[i];
  cr_assert_lt(sqrt(num / dr), 1e-12, "%s: decoded from transformed filters, rel err %g", scheme,
               sqrt(num / dr));
  cod_free(x), cod_free(k), cod_free(cx), cod_free(ck), cod_free(ct), cod_free(u);
  cod_free(groups), cod_free(cf), cod_free(res), cod_free(yi), cod_free(yd), cod_free(wt);
  cod_free(wi), cod_free(avail), cod_free(rp), cod_free(y), cod_free(ref);
  cod_code_free(c);
}

Test(coding_chunk, filters_kept_transformed) {
  cod_conv_geom g1 = {16, 26, 13, 64, 3, 3, 1, 1};  /* F = 8, N a multiple of m_filt */
  cod_conv_geom g2 = {17, 21, 15, 90, 3, 3, 1, 1};  /* F = 12: a last group past N */
  cod_conv_geom g3 = {16, 12, 40, 20, 3, 3, 1, 0};  /* no padding, the columns axis */
  cod_conv_geom g4 = {16, 26, 13, 128, 3, 3, 1, 1}; /* F = 16: slabs and groups in one band */
  check_form("nsctc-rot", 20, 4, 4, g1, COD_AXIS_ROWS);
  check_form("nsctc-rot", 20, 4, 4, g4, COD_AXIS_ROWS);
  check_form("nsctc-rot", 40, 2, 4, g2, COD_AXIS_ROWS);
  check_form("nsctc-rot", 12, 2, 2, g3, COD_AXIS_COLS);
  check_form("poly-real", 10, 2, 3, g2, COD_AXIS_ROWS);
  check_form("nsctc-cir", 23, 1, 8, g1, COD_AXIS_ROWS); /* sparse on the filters' side */
}

/* im2col-l2 (cache-sized im2col bands) against the direct convolution, on few-channel and
 * large-stride layers where it is meant to pay and with bands that split the output rows:
 * its RMS error at most 4x im2col's plus 8 ulp of the output RMS, in fp64 and fp32. */
static void check_l2(const cod_conv_geom *g, cod_dtype dt) {
  size_t ni = cod_conv_input_len(g), nk = cod_conv_filter_len(g), no = cod_conv_output_len(g);
  double *x = gauss(ni, 31), *k = gauss(nk, 32), *yd = cod_malloc_array(no, sizeof *yd);
  double *y1 = cod_malloc_array(no, sizeof *y1), *y2 = cod_malloc_array(no, sizeof *y2);
  void *w1 = cod_aligned_alloc(cod_conv_algo_workspace_bytes(g, COD_CONV_IM2COL, dt) + 1);
  void *w2 = cod_aligned_alloc(cod_conv_algo_workspace_bytes(g, COD_CONV_IM2COL_L2, dt) + 1);
  cr_assert(yd && y1 && y2 && w1 && w2);
  cr_assert_lt(cod_conv_algo_workspace_bytes(g, COD_CONV_IM2COL_L2, dt),
               cod_conv_algo_workspace_bytes(g, COD_CONV_IM2COL, dt), "the bands must split");
  cod_conv2d_direct_f64(g, x, k, yd);
  if (dt == COD_F64) {
    cod_conv2d_algo_f64(g, COD_CONV_IM2COL, x, k, y1, w1);
    cod_conv2d_algo_f64(g, COD_CONV_IM2COL_L2, x, k, y2, w2);
  } else {
    float *xf = cod_malloc_array(ni, sizeof *xf), *kf = cod_malloc_array(nk, sizeof *kf);
    float *yf = cod_malloc_array(no, sizeof *yf);
    cr_assert(xf && kf && yf);
    for (size_t i = 0; i < ni; i++) xf[i] = (float)x[i];
    for (size_t i = 0; i < nk; i++) kf[i] = (float)k[i];
    for (size_t i = 0; i < ni; i++) x[i] = xf[i]; /* the reference sees the rounded data */
    for (size_t i = 0; i < nk; i++) k[i] = kf[i];
    cod_conv2d_direct_f64(g, x, k, yd);
    cod_conv2d_algo_f32(g, COD_CONV_IM2COL, xf, kf, yf, w1);
    for (size_t i = 0; i < no; i++) y1[i] = yf[i];
    cod_conv2d_algo_f32(g, COD_CONV_IM2COL_L2, xf, kf, yf, w2);
    for (size_t i = 0; i < no; i++) y2[i] = yf[i];
    cod_free(xf), cod_free(kf), cod_free(yf);
  }
  double e1 = 0, e2 = 0, den = 0;
  for (size_t i = 0; i < no; i++) {
    e1 += (y1[i] - yd[i]) * (y1[i] - yd[i]), e2 += (y2[i] - yd[i]) * (y2[i] - yd[i]);
    den += yd[i] * yd[i];
  }
  double ulp = dt == COD_F64 ? 2.2e-16 : 1.2e-7;
  cr_assert_leq(sqrt(e2), 4.0 * sqrt(e1) + 8 * ulp * sqrt(den), "im2col-l2 %g im2col %g",
                sqrt(e2 / den), sqrt(e1 / den));
  cod_free(x), cod_free(k), cod_free(yd), cod_free(y1), cod_free(y2), cod_free(w1), cod_free(w2);
}

static const cod_conv_geom g_alex1 = {3, 227, 227, 96, 11, 11, 4, 0};
static const cod_conv_geom g_res1 = {3, 112, 112, 16, 7, 7, 2, 3};

Test(coding_chunk, im2col_l2_alexnet_conv1_fp64) { check_l2(&g_alex1, COD_F64); }
Test(coding_chunk, im2col_l2_resnet_conv1_fp32) { check_l2(&g_res1, COD_F32); }

/* The automatic rule's im2col-l2 branch: kernels of 25+ taps whose column matrix needs
 * more than one 1 MB band; small or 3x3 layers keep im2col (or Winograd). */
Test(coding_chunk, choose_im2col_l2) {
  cr_expect_eq(cod_conv_algo_choose(&g_alex1, COD_F64), COD_CONV_IM2COL_L2);
  cr_expect_eq(cod_conv_algo_choose(&g_alex1, COD_F32), COD_CONV_IM2COL_L2);
  cod_conv_geom conv2 = {96, 27, 27, 256, 5, 5, 1, 2};
  cr_expect_eq(cod_conv_algo_choose(&conv2, COD_F64), COD_CONV_IM2COL_L2);
  cod_conv_geom small5 = {4, 12, 12, 8, 5, 5, 1, 2}; /* one band either way */
  cr_expect_eq(cod_conv_algo_choose(&small5, COD_F64), COD_CONV_IM2COL);
  cod_conv_geom vgg11 = {3, 224, 224, 64, 3, 3, 1, 1}; /* 9 taps */
  cr_expect_eq(cod_conv_algo_choose(&vgg11, COD_F64), COD_CONV_IM2COL);
  cr_expect_str_eq(cod_conv_algo_name(COD_CONV_IM2COL_L2), "im2col-l2");
  cr_expect_null(cod_conv_algo_name((cod_conv_algo)COD_CONV_ALGO_COUNT));
}
