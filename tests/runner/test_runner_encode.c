/* test_runner_encode.c: a layer encoded by chunks of workers (run_layer_in.lazy_encode,
 * the runner's memory bound in n) gives the same simulated layer as the all-worker
 * encoding, bit for bit: decoded output, worker rows and times; and run.conv_algo = auto
 * records the workers' algorithm and stays within a stated multiple of the im2col error
 * against the direct convolution. Suite unit.
 *
 * Inputs and filters are seeded Gaussians. The layer geometries are chosen so that the
 * chunks matter: n = 40 and 70 workers with e_A = 1 (16 workers per chunk: three and five
 * chunks, the last one partial), nsctc-rot and poly-real.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "cod_alloc.h"
#include "cod_blas.h"
#include "cod_code.h"
#include "cod_conv.h"
#include "cod_wino.h"
#include "run_config.h"
#include "run_filt.h"
#include "run_layer.h"
#include "sim_engine.h"

/* The runner's BLAS setting (fcdcc main, sweep threads): one thread. A threaded GEMM splits
 * rows where a thread's share ends, which no chunking can match. */
static void one_thread(void) { cod_blas_set_threads(1); }
TestSuite(runner_encode, .init = one_thread);

static double *gauss(size_t n, unsigned long seed) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, seed);
  double *v = cod_malloc_array(n, sizeof *v);
  cr_assert_not_null(v);
  for (size_t i = 0; i < n; i++) v[i] = gsl_ran_gaussian(r, 1.0);
  gsl_rng_free(r);
  return v;
}

static void cfg_make(run_config *c, const char *scheme, size_t n, const char *algo) {
  run_config_defaults(c);
  cod_err e = {0};
  char nb[16];
  snprintf(nb, sizeof nb, "%zu", n);
  cr_assert_eq(run_config_set(c, "cluster.workers", nb, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(run_config_set(c, "coding.scheme", scheme, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(run_config_set(c, "run.conv_algo", algo, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(run_config_validate(c, &e), COD_OK, "%s", e.msg);
}

typedef struct layer_run {
  double *y;
  run_layer_out out;
  double t_end;
} layer_run;

static void run_one_k(const run_config *c, const cod_code *code, const cod_conv_geom *g,
                      const double *x, const double *k, int lazy, double kmax, layer_run *lr);

/* One layer on a fresh engine and cluster (trial 3): the same draws for every call. */
static void run_one(const run_config *c, const cod_code *code, const cod_conv_geom *g,
                    const double *x, const double *k, int lazy, layer_run *lr) {
  run_one_k(c, code, g, x, k, lazy, 0.0, lr);
}

static void run_one_ck(const run_config *c, const cod_code *code, const cod_conv_geom *g,
                       const double *x, const double *k, int lazy, double kmax,
                       const double *ck, int ck_cm, layer_run *lr);
/* the form of the ck that run_one_ck hands over (cod_code_encode_filters_form) */
static cod_conv_algo ck_form = COD_CONV_IM2COL;

/* run_one with run_layer_in.filter_max_abs = kmax (0: unknown). */
static void run_one_k(const run_config *c, const cod_code *code, const cod_conv_geom *g,
                      const double *x, const double *k, int lazy, double kmax, layer_run *lr) {
  run_one_ck(c, code, g, x, k, lazy, kmax, NULL, 0, lr);
}

/* run_one_k with the coded filters given (ck: NULL = the layer encodes them), stored
 * class-major when ck_cm. */
static void run_one_ck(const run_config *c, const cod_code *code, const cod_conv_geom *g,
                       const double *x, const double *k, int lazy, double kmax,
                       const double *ck, int ck_cm, layer_run *lr) {
  cod_err e = {0};
  sim_engine *eng = NULL;
  run_cluster *cl = NULL;
  cr_assert_eq(sim_engine_new(64, &eng, &e), COD_OK);
  cr_assert_eq(run_cluster_new(c, eng, 3, &cl, &e), COD_OK, "%s", e.msg);
  lr->y = cod_calloc(cod_conv_output_len(g), sizeof *lr->y);
  cr_assert_not_null(lr->y);
  run_scratch s;
  memset(&s, 0, sizeof s);
  run_layer_in in = {c, code, eng, cl, x, k, lr->y, 0, ck, 0.0, &s, NULL, lazy, kmax, ck_cm, ck_form};
  cr_assert_eq(run_layer_execute(&in, &lr->out, &e), COD_OK, "%s", e.msg);
  lr->t_end = lr->out.t_end_s;
  run_scratch_fini(&s);
  run_cluster_free(cl);
  sim_engine_free(eng);
}

/* algo "auto" on a geometry whose workers keep Winograd-transformed filters
 * (run_layer_filter_form): the chunked encoding of the transformed groups, too, gives the
 * all-worker layer bit for bit. */
static void check_same_algo(const char *scheme, size_t n, const char *algo);
static void check_same(const char *scheme, size_t n) { check_same_algo(scheme, n, "im2col"); }

static void check_same_algo(const char *scheme, size_t n, const char *algo) {
  int wino = strcmp(algo, "auto") == 0;
  cod_conv_geom g = wino ? (cod_conv_geom){16, 18, 11, 64, 3, 3, 1, 1}
                         : (cod_conv_geom){6, 18, 11, 8, 3, 3, 1, 1};
  run_config c;
  cfg_make(&c, scheme, n, algo);
  cod_code_params p = run_config_code_params(&c, 4, 2);
  cod_code *code = NULL;
  cod_err e = {0};
  cr_assert_eq(cod_code_new(&p, &g, &code, &e), COD_OK, "%s", e.msg);
  if (wino)
    cr_assert_eq(run_layer_filter_form(&c, code), COD_CONV_WINO2,
                 "the geometry must keep transformed filters");
  double *x = gauss(cod_conv_input_len(&g), 11), *k = gauss(cod_conv_filter_len(&g), 12);
  layer_run a, b;
  run_one(&c, code, &g, x, k, 0, &a);
  run_one(&c, code, &g, x, k, 1, &b);
  if (wino) { /* and the filters handed over transformed (the runner's cache) */
    layer_run d;
    size_t ft = cod_code_worker_filter_len_form(code, COD_CONV_WINO2);
    double *ct = cod_malloc_array(n * ft, sizeof *ct);
    cr_assert_eq(cod_code_encode_filters_form(code, COD_CONV_WINO2, k, ct, &e), COD_OK);
    ck_form = COD_CONV_WINO2;
    run_one_ck(&c, code, &g, x, k, 0, 0.0, ct, 0, &d);
    ck_form = COD_CONV_IM2COL;
    cr_assert_str_eq(d.out.conv_algo, "winograd-2x2");
    cr_assert(memcmp(a.y, d.y, cod_conv_output_len(&g) * sizeof *a.y) == 0,
              "%s n=%zu: filters handed over transformed changed the output", scheme, n);
    cod_free(ct), cod_free(d.y);
    run_layer_out_fini(&d.out);
  }
  cr_assert_str_eq(a.out.status, "ok");
  cr_assert_str_eq(b.out.status, a.out.status);
  cr_assert_str_eq(a.out.conv_algo, wino ? "winograd-2x2" : "im2col");
  cr_assert_str_eq(b.out.conv_algo, a.out.conv_algo);
  cr_assert(memcmp(a.y, b.y, cod_conv_output_len(&g) * sizeof *a.y) == 0,
            "%s n=%zu: chunked encoding changed the decoded output", scheme, n);
  cr_assert_eq(a.t_end, b.t_end);
  cr_assert_eq(a.out.n_used, b.out.n_used);
  for (size_t j = 0; j < n; j++) {
    cr_assert_str_eq(a.out.workers[j].status, b.out.workers[j].status);
    cr_assert(memcmp(&a.out.workers[j].t_finish_s, &b.out.workers[j].t_finish_s,
                     sizeof(double)) == 0, "worker %zu finish time", j); /* NaN: not finished */
  }
  /* and the output is the convolution (an independent check that both are right) */
  double *ref = cod_malloc_array(cod_conv_output_len(&g), sizeof *ref), num = 0, den = 0;
  cod_conv2d_direct_f64(&g, x, k, ref);
  for (size_t i = 0; i < cod_conv_output_len(&g); i++)
    num += (a.y[i] - ref[i]) * (a.y[i] - ref[i]), den += ref[i] * ref[i];
  cr_assert_lt(sqrt(num / den), 1e-6, "%s n=%zu: relative error %g", scheme, n, sqrt(num / den));
  cod_free(ref), cod_free(x), cod_free(k), cod_free(a.y), cod_free(b.y);
  run_layer_out_fini(&a.out), run_layer_out_fini(&b.out);
  cod_code_free(code);
}

Test(runner_encode, chunked_equals_all_workers_rot) { check_same("nsctc-rot", 40); }
Test(runner_encode, chunked_equals_all_workers_rot_70) { check_same("nsctc-rot", 70); }
Test(runner_encode, chunked_equals_all_workers_poly) { check_same("poly-real", 40); }
Test(runner_encode, chunked_equals_all_workers_transformed) {
  check_same_algo("nsctc-rot", 40, "auto");
  check_same_algo("poly-real", 24, "auto");
}

/* conv_algo = auto on a layer whose worker slabs take Winograd: the layer says so, and
 * its error against the direct convolution is at most 8x that of the im2col run. */
Test(runner_encode, conv_algo_auto_recorded_and_bounded) {
  cod_conv_geom g = {32, 58, 30, 64, 3, 3, 1, 1};
  run_config ci, ca;
  cfg_make(&ci, "nsctc-rot", 20, "im2col");
  cfg_make(&ca, "nsctc-rot", 20, "auto");
  cod_code_params p = run_config_code_params(&ci, 4, 4);
  cod_code *code = NULL;
  cod_err e = {0};
  cr_assert_eq(cod_code_new(&p, &g, &code, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(cod_conv_algo_choose(cod_code_worker_geom(code), COD_F64), COD_CONV_WINO2,
               "the test geometry must take winograd-2x2 on the workers");
  double *x = gauss(cod_conv_input_len(&g), 21), *k = gauss(cod_conv_filter_len(&g), 22);
  double *ref = cod_malloc_array(cod_conv_output_len(&g), sizeof *ref);
  cod_conv2d_direct_f64(&g, x, k, ref);
  layer_run a, b;
  run_one(&ci, code, &g, x, k, 0, &a);
  run_one(&ca, code, &g, x, k, 0, &b);
  cr_assert_str_eq(a.out.conv_algo, "im2col");
  cr_assert_str_eq(b.out.conv_algo, "winograd-2x2");
  double ea = 0, eb = 0, den = 0;
  for (size_t i = 0; i < cod_conv_output_len(&g); i++) {
    ea += (a.y[i] - ref[i]) * (a.y[i] - ref[i]), eb += (b.y[i] - ref[i]) * (b.y[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  cr_assert_gt(eb, 0.0);
  cr_assert_leq(sqrt(eb), 8.0 * sqrt(ea) + 64 * 2.2e-16 * sqrt(den),
                "winograd error %g vs im2col %g", sqrt(eb / den), sqrt(ea / den));
  cod_free(ref), cod_free(x), cod_free(k), cod_free(a.y), cod_free(b.y);
  run_layer_out_fini(&a.out), run_layer_out_fini(&b.out);
  cod_code_free(code);
}

/* ---- the bounded coded-filter cache (run_filt.h) ------------------------------------- */

/* Two layers whose codes each need B bytes of coded filters: with a budget of 1.5 B the
 * first stays retained between runs, the second is encoded again every time; a change of
 * the code's seed is a new encoding; the bytes are always the encoder's. */
Test(runner_encode, filter_cache_keeps_within_budget) {
  cod_conv_geom g = {6, 18, 11, 8, 3, 3, 1, 1};
  cod_code_params p = cod_code_params_default();
  p.n_workers = 12, p.ka = 2, p.kb = 2, p.scheme = "rkr";
  cod_code *c = NULL, *c2 = NULL;
  cod_err e = {0};
  cr_assert_eq(cod_code_new(&p, &g, &c, &e), COD_OK, "%s", e.msg);
  p.seed = 2;
  cr_assert_eq(cod_code_new(&p, &g, &c2, &e), COD_OK, "%s", e.msg);
  size_t len = cod_code_workers(c) * cod_code_worker_filter_len(c), B = len * sizeof(double);
  double *k = gauss(cod_conv_filter_len(&g), 41), *ref = cod_malloc_array(len, sizeof *ref);
  double *ref2 = cod_malloc_array(len, sizeof *ref2);
  cr_assert_eq(cod_code_encode_filters(c, k, ref, &e), COD_OK);
  cr_assert_eq(cod_code_encode_filters(c2, k, ref2, &e), COD_OK);
  cr_assert(memcmp(ref, ref2, len * sizeof *ref) != 0, "the seeds must give other filters");
  run_filt_cache *fc = NULL;
  cr_assert_eq(run_filt_cache_new(2, B + B / 2, &fc, &e), COD_OK);
  const double *d = NULL;
  double wall = -1;
  for (int run = 0; run < 3; run++)
    for (size_t ci = 0; ci < 2; ci++) {
      cr_assert_eq(run_filt_cache_acquire(fc, ci, c, 0, COD_CONV_IM2COL, k, &d, &wall, &e), COD_OK, "%s", e.msg);
      cr_assert(memcmp(d, ref, len * sizeof *d) == 0, "run %d layer %zu", run, ci);
      cr_assert_geq(wall, 0.0);
      run_filt_cache_release(fc, ci);
      cr_assert_eq(run_filt_cache_bytes(fc), B, "only layer 0 stays retained");
    }
  cr_assert_eq(run_filt_cache_encodings(fc), 4, "layer 0 once, layer 1 in each of 3 runs");
  cr_assert_eq(run_filt_cache_acquire(fc, 0, c2, 0, COD_CONV_IM2COL, k, &d, &wall, &e), COD_OK);
  cr_assert(memcmp(d, ref2, len * sizeof *d) == 0, "another seed is another encoding");
  run_filt_cache_release(fc, 0);
  cr_assert_eq(run_filt_cache_encodings(fc), 5);
  /* class-major is another layout of the same values (nsctc-rot at 4x4 on 20 workers:
   * 5 classes of 4): each worker's block at its class-major position, encoded once and
   * retained as such; the same code by worker is another encoding */
  cod_code_params pr = cod_code_params_default();
  pr.n_workers = 20, pr.ka = 4, pr.kb = 4;
  cod_code *c3 = NULL;
  cr_assert_eq(cod_code_new(&pr, &g, &c3, &e), COD_OK, "%s", e.msg);
  cr_assert_lt(cod_code_input_classes(c3), cod_code_workers(c3));
  size_t fl = cod_code_worker_filter_len(c3), len3 = cod_code_workers(c3) * fl;
  double *ref3 = cod_malloc_array(len3, sizeof *ref3);
  cr_assert_eq(cod_code_encode_filters(c3, k, ref3, &e), COD_OK);
  run_filt_cache *fcm = NULL;
  cr_assert_eq(run_filt_cache_new(1, len3 * sizeof(double), &fcm, &e), COD_OK);
  for (int again = 0; again < 3; again++) {
    int cm = again < 2;
    cr_assert_eq(run_filt_cache_acquire(fcm, 0, c3, cm, COD_CONV_IM2COL, k, &d, &wall, &e), COD_OK, "%s", e.msg);
    size_t moved = 0;
    for (size_t j = 0; j < cod_code_workers(c3); j++) {
      size_t at = cm ? cod_code_class_major_slot(c3, j) : j;
      moved += at != j;
      cr_assert(memcmp(d + at * fl, ref3 + j * fl, fl * sizeof *d) == 0,
                "layout %d: block of worker %zu", cm, j);
    }
    cr_assert(cm ? moved > 0 : moved == 0);
    run_filt_cache_release(fcm, 0);
    cr_assert_eq(run_filt_cache_encodings(fcm), again < 2 ? 1 : 2, "retained per layout");
  }
  run_filt_cache_free(fcm);
  cod_free(ref3);
  cod_code_free(c3);
  /* out of memory at every allocation of an encoding: an error, nothing retained */
  run_filt_cache *f0 = NULL;
  cr_assert_eq(run_filt_cache_new(1, 0, &f0, &e), COD_OK);
  for (long n = 0, cm = 0; cm < 2; n++) { /* both layouts */
    cod_err ee = {0};
    cod_alloc_fail_at(n);
    int rc = run_filt_cache_acquire(f0, 0, c, (int)cm, COD_CONV_IM2COL, k, &d, &wall, &ee);
    cod_alloc_fail_at(-1);
    if (rc == COD_OK) {
      run_filt_cache_release(f0, 0);
      cr_assert_eq(run_filt_cache_bytes(f0), 0, "a zero budget retains nothing");
      cm++, n = -1; /* the other layout, from the first allocation again */
      continue;
    }
    cr_assert_eq(rc, COD_ENOMEM);
    cr_assert(ee.msg[0], "an out-of-memory error says so");
    cr_assert_eq(run_filt_cache_bytes(f0), 0);
  }
  cod_alloc_fail_at(0);
  run_filt_cache *f1 = NULL;
  cr_assert_eq(run_filt_cache_new(1, 0, &f1, &e), COD_ENOMEM);
  cod_alloc_fail_at(-1);
  cr_assert_null(f1);
  run_filt_cache_free(f0), run_filt_cache_free(fc), run_filt_cache_free(NULL);
  cod_free(k), cod_free(ref), cod_free(ref2);
  cod_code_free(c), cod_code_free(c2);
}

/* Out of memory at every allocation of a chunked layer: COD_ENOMEM with a message, never
 * a crash or a leak the sanitizer builds would see; then the layer succeeds. */
Test(runner_encode, chunked_layer_out_of_memory) {
  cod_conv_geom g = {6, 18, 11, 8, 3, 3, 1, 1};
  run_config c;
  cfg_make(&c, "nsctc-rot", 40, "im2col");
  cod_code_params p = run_config_code_params(&c, 4, 2);
  cod_code *code = NULL;
  cod_err e = {0};
  cr_assert_eq(cod_code_new(&p, &g, &code, &e), COD_OK, "%s", e.msg);
  double *x = gauss(cod_conv_input_len(&g), 51), *k = gauss(cod_conv_filter_len(&g), 52);
  double *y = cod_malloc_array(cod_conv_output_len(&g), sizeof *y);
  int ok = 0;
  for (long n = 0; n < 10000 && !ok; n++) {
    sim_engine *eng = NULL;
    run_cluster *cl = NULL;
    cr_assert_eq(sim_engine_new(64, &eng, &e), COD_OK);
    cr_assert_eq(run_cluster_new(&c, eng, 3, &cl, &e), COD_OK, "%s", e.msg);
    run_scratch s;
    memset(&s, 0, sizeof s);
    run_layer_in in = {&c, code, eng, cl, x, k, y, 0, NULL, 0.0, &s, NULL, 1, 0.0, 0, COD_CONV_IM2COL};
    run_layer_out out;
    cod_err ee = {0};
    cod_alloc_fail_at(n);
    int rc = run_layer_execute(&in, &out, &ee);
    cod_alloc_fail_at(-1);
    if (rc == COD_OK) {
      ok = 1;
      cr_assert_str_eq(out.status, "ok");
      run_layer_out_fini(&out);
    } else {
      cr_assert_eq(rc, COD_ENOMEM, "allocation %ld: %s", n, ee.msg);
      cr_assert(ee.msg[0]);
    }
    run_scratch_fini(&s);
    run_cluster_free(cl);
    sim_engine_free(eng);
  }
  cr_assert(ok, "the layer never succeeded");
  cod_free(x), cod_free(k), cod_free(y);
  cod_code_free(code);
}

/* With the filters' bound given (run_layer_in.filter_max_abs), a layer whose results cannot
 * overflow computes a class's used workers in one GEMM at decode: the decoded output, the
 * statuses and times are those of computing each result on arrival, bit for bit, with and
 * without noise; an input with a NaN (no bound) takes the per-result path, and so does
 * fp32 (sgemm's sums depend on its row count): the same rows again. The geometry gives
 * 240-column worker GEMMs (above the 128 where the class GEMM starts) and, at 4x2 on
 * n = 20, ten classes of two. */
Test(runner_encode, class_gemm_at_decode_is_the_per_result_layer) {
  cod_conv_geom g = {6, 18, 40, 8, 3, 3, 1, 1};
  const char *snr[] = {"none", "40"};
  const char *prec[] = {"fp64", "fp32"};
  for (int t = 0; t < 6; t++) {
    run_config c;
    cfg_make(&c, "nsctc-rot", 20, "im2col");
    cod_err e = {0};
    cr_assert_eq(run_config_set(&c, "run.snr_db", snr[t % 2], &e), COD_OK, "%s", e.msg);
    cr_assert_eq(run_config_set(&c, "run.precision", prec[t / 4], &e), COD_OK, "%s", e.msg);
    cod_code_params p = run_config_code_params(&c, t % 4 < 2 ? 4 : 1, 2);
    cod_code *code = NULL;
    cr_assert_eq(cod_code_new(&p, &g, &code, &e), COD_OK, "%s", e.msg);
    double *x = gauss(cod_conv_input_len(&g), 51 + t), *k = gauss(cod_conv_filter_len(&g), 61);
    if (t == 3) x[7] = NAN;
    double km = 0;
    for (size_t i = 0; i < cod_conv_filter_len(&g); i++) km = fmax(km, fabs(k[i]));
    layer_run a, b;
    run_one_k(&c, code, &g, x, k, 0, 0.0, &a);
    run_one_k(&c, code, &g, x, k, 0, km, &b);
    cr_assert_str_eq(b.out.status, a.out.status, "case %d", t);
    cr_assert_str_eq(a.out.status, t == 3 ? "error" : "ok", "case %d: %s", t, a.out.status);
    if (t != 3)
      cr_assert(memcmp(a.y, b.y, cod_conv_output_len(&g) * sizeof *a.y) == 0,
                "case %d: the class GEMM changed the decoded output", t);
    cr_assert_eq(a.t_end, b.t_end);
    cr_assert_eq(a.out.n_used, b.out.n_used);
    cr_assert_eq(a.out.n_numeric, b.out.n_numeric);
    for (size_t j = 0; j < 20; j++)
      cr_assert_str_eq(a.out.workers[j].status, b.out.workers[j].status, "case %d worker %zu", t, j);
    cod_free(x), cod_free(k), cod_free(a.y), cod_free(b.y);
    run_layer_out_fini(&a.out), run_layer_out_fini(&b.out);
    cod_code_free(code);
  }
}

/* The worker filters the layer would encode, by worker and class-major. */
static void coded_filters_both(const cod_code *code, const double *k, double **by_worker,
                               double **class_major) {
  size_t fl = cod_code_worker_filter_len(code), len = cod_code_workers(code) * fl;
  cod_err e = {0};
  *by_worker = cod_malloc_array(len, sizeof **by_worker);
  *class_major = cod_malloc_array(len, sizeof **class_major);
  cr_assert(*by_worker && *class_major);
  cr_assert_eq(cod_code_encode_filters(code, k, *by_worker, &e), COD_OK, "%s", e.msg);
  memcpy(*class_major, *by_worker, len * sizeof **by_worker);
  cod_code_permute_class_major(code, *class_major, fl);
}

static void expect_same_layer(const layer_run *a, const layer_run *b, const cod_conv_geom *g,
                              size_t n, const char *what, int t) {
  cr_assert_str_eq(b->out.status, a->out.status, "%s, case %d", what, t);
  cr_assert(memcmp(a->y, b->y, cod_conv_output_len(g) * sizeof *a->y) == 0,
            "%s, case %d: the decoded output changed", what, t);
  cr_assert_eq(a->t_end, b->t_end, "%s, case %d", what, t);
  cr_assert_eq(a->out.n_used, b->out.n_used, "%s, case %d", what, t);
  for (size_t j = 0; j < n; j++)
    cr_assert_str_eq(a->out.workers[j].status, b->out.workers[j].status, "%s, case %d worker %zu",
                     what, t, j);
}

/* Narrow worker GEMMs (66 columns, below the width where gathering pays): with the
 * filters class-major the arrived workers of a class are computed at decode by runs of
 * adjacent workers, filters in place; the layer is the per-result one bit for bit (output,
 * statuses, times), whether the layer encodes its filters itself (class-major) or is given
 * them class-major, and filters given by worker keep the per-result path. 5 classes of 4
 * (4x4) and 10 of 2 (4x2), with and without noise; at least one case has a class whose
 * arrived workers are not adjacent, so runs break somewhere. */
Test(runner_encode, class_major_runs_are_the_per_result_layer) {
  cod_conv_geom g = {6, 18, 11, 8, 3, 3, 1, 1};
  const char *snr[] = {"none", "40"};
  int gaps = 0;
  for (int t = 0; t < 8; t++) {
    run_config c;
    cfg_make(&c, "nsctc-rot", 20, "im2col");
    cod_err e = {0};
    char seed[16];
    snprintf(seed, sizeof seed, "%d", 3 + t / 4);
    cr_assert_eq(run_config_set(&c, "run.snr_db", snr[t % 2], &e), COD_OK, "%s", e.msg);
    cr_assert_eq(run_config_set(&c, "run.seed", seed, &e), COD_OK, "%s", e.msg);
    cod_code_params p = run_config_code_params(&c, 4, t % 4 < 2 ? 4 : 2);
    cod_code *code = NULL;
    cr_assert_eq(cod_code_new(&p, &g, &code, &e), COD_OK, "%s", e.msg);
    const cod_conv_geom *wg = cod_code_worker_geom(code);
    cr_assert_lt(cod_code_slabs_per_worker(code) * cod_conv_out_h(wg) * cod_conv_out_w(wg), 128);
    double *x = gauss(cod_conv_input_len(&g), 81 + t), *k = gauss(cod_conv_filter_len(&g), 91 + t);
    double km = 0, *ckw, *ckc;
    for (size_t i = 0; i < cod_conv_filter_len(&g); i++) km = fmax(km, fabs(k[i]));
    coded_filters_both(code, k, &ckw, &ckc);
    layer_run a, b, d, f;
    run_one_ck(&c, code, &g, x, k, 0, 0.0, NULL, 0, &a); /* per result */
    run_one_ck(&c, code, &g, x, k, 0, km, NULL, 0, &b);  /* own filters, class-major */
    run_one_ck(&c, code, &g, x, k, 0, km, ckc, 1, &d);   /* given class-major */
    run_one_ck(&c, code, &g, x, k, 0, km, ckw, 0, &f);   /* given by worker */
    cr_assert_str_eq(a.out.status, "ok", "case %d: %s", t, a.out.status);
    expect_same_layer(&a, &b, &g, 20, "own class-major filters", t);
    expect_same_layer(&a, &d, &g, 20, "given class-major filters", t);
    expect_same_layer(&a, &f, &g, 20, "given filters by worker", t);
    /* did the arrived workers of some class leave a gap in class-major order? */
    for (size_t pos = 1; pos + 1 < 20; pos++) {
      size_t j0 = cod_code_class_major_worker(code, pos - 1);
      size_t j1 = cod_code_class_major_worker(code, pos);
      size_t j2 = cod_code_class_major_worker(code, pos + 1);
      int same = cod_code_input_class(code, j0) == cod_code_input_class(code, j2);
      int in0 = !isnan(a.out.workers[j0].t_finish_s), in1 = !isnan(a.out.workers[j1].t_finish_s);
      int in2 = !isnan(a.out.workers[j2].t_finish_s);
      gaps += same && in0 && !in1 && in2;
    }
    cod_free(x), cod_free(k), cod_free(ckw), cod_free(ckc);
    cod_free(a.y), cod_free(b.y), cod_free(d.y), cod_free(f.y);
    run_layer_out_fini(&a.out), run_layer_out_fini(&b.out);
    run_layer_out_fini(&d.out), run_layer_out_fini(&f.out);
    cod_code_free(code);
  }
  cr_expect_gt(gaps, 0, "no case broke a run: the test does not reach the run boundaries");
}

/* Wide worker GEMMs (240 columns): filters given by worker are gathered per class, filters
 * class-major are read in place where a class's arrived workers are adjacent and gathered
 * where not; every way is the per-result layer bit for bit. */
Test(runner_encode, class_major_wide_gemm_is_the_per_result_layer) {
  cod_conv_geom g = {6, 18, 40, 8, 3, 3, 1, 1};
  for (int t = 0; t < 4; t++) {
    run_config c;
    cfg_make(&c, "nsctc-rot", 20, "im2col");
    cod_err e = {0};
    cr_assert_eq(run_config_set(&c, "run.snr_db", t % 2 ? "40" : "none", &e), COD_OK, "%s", e.msg);
    cod_code_params p = run_config_code_params(&c, 4, t < 2 ? 4 : 2);
    cod_code *code = NULL;
    cr_assert_eq(cod_code_new(&p, &g, &code, &e), COD_OK, "%s", e.msg);
    double *x = gauss(cod_conv_input_len(&g), 101 + t), *k = gauss(cod_conv_filter_len(&g), 111);
    double km = 0, *ckw, *ckc;
    for (size_t i = 0; i < cod_conv_filter_len(&g); i++) km = fmax(km, fabs(k[i]));
    coded_filters_both(code, k, &ckw, &ckc);
    layer_run a, d, f;
    run_one_ck(&c, code, &g, x, k, 0, 0.0, NULL, 0, &a);
    run_one_ck(&c, code, &g, x, k, 0, km, ckc, 1, &d);
    run_one_ck(&c, code, &g, x, k, 0, km, ckw, 0, &f);
    cr_assert_str_eq(a.out.status, "ok", "case %d: %s", t, a.out.status);
    expect_same_layer(&a, &d, &g, 20, "given class-major filters", t);
    expect_same_layer(&a, &f, &g, 20, "given filters by worker", t);
    cod_free(x), cod_free(k), cod_free(ckw), cod_free(ckc);
    cod_free(a.y), cod_free(d.y), cod_free(f.y);
    run_layer_out_fini(&a.out), run_layer_out_fini(&d.out), run_layer_out_fini(&f.out);
    cod_code_free(code);
  }
}
