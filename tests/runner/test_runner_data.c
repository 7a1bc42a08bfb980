/* test_runner_data.c: runs over a data set ([data], runner/run_data.h), suite unit.
 *
 * A small text model and seeded random uint8 images and labels are written as .npy files
 * in a mkdtemp directory. The expected top-1 is computed here independently: the images are
 * normalised in this file and run through model_forward (no runner), argmax taken here.
 * With fp64 workers the coded pipeline must agree on every image; with three of six workers
 * failed (ka = kb = 2 needs four) every image is undecodable, so agreement and coded top-1
 * are 0. Every error of run_data_load is provoked.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>

#include "cod_alloc.h"
#include "fcdcc_config.h"
#include "model.h"
#include "model_forward.h"
#include "model_weights.h"
#include "run_config.h"
#include "run_data.h"
#include "run_exec.h"

#define N_IMG 12
#define HW 10

static char g_dir[256], g_model[300], g_img[300], g_lab[300];
static unsigned char g_pix[N_IMG * HW * HW], g_label[N_IMG];

static void write_npy_u8(const char *path, const char *shape, const unsigned char *d, size_t n) {
  char hdr[128];
  int k = snprintf(hdr, sizeof hdr, "{'descr': '|u1', 'fortran_order': False, 'shape': %s, }", shape);
  size_t total = 10 + (size_t)k + 1, pad = (64 - total % 64) % 64;
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  unsigned short hl = (unsigned short)(k + pad + 1);
  fwrite("\x93NUMPY\x01\x00", 1, 8, f);
  fputc(hl & 0xff, f), fputc(hl >> 8, f);
  fwrite(hdr, 1, (size_t)k, f);
  for (size_t i = 0; i < pad; i++) fputc(' ', f);
  fputc('\n', f);
  fwrite(d, 1, n, f);
  fclose(f);
}

static void setup(void) {
  snprintf(g_dir, sizeof g_dir, "/tmp/fcdcc_datatest_XXXXXX");
  cr_assert_not_null(mkdtemp(g_dir));
  snprintf(g_model, sizeof g_model, "%s/net.model", g_dir);
  snprintf(g_img, sizeof g_img, "%s/img.npy", g_dir);
  snprintf(g_lab, sizeof g_lab, "%s/lab.npy", g_dir);
  FILE *f = fopen(g_model, "w");
  cr_assert_not_null(f);
  fputs("input c=1 h=10 w=10\nconv name=c1 out=4 k=3\nrelu\nconv name=c2 out=6 k=3 stride=2\n"
        "relu\nfc name=f out=3\n", f);
  fclose(f);
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 99);
  for (size_t i = 0; i < sizeof g_pix; i++) g_pix[i] = (unsigned char)gsl_rng_uniform_int(r, 256);
  for (size_t i = 0; i < N_IMG; i++) g_label[i] = (unsigned char)gsl_rng_uniform_int(r, 3);
  gsl_rng_free(r);
  write_npy_u8(g_img, "(12, 10, 10)", g_pix, sizeof g_pix);
  write_npy_u8(g_lab, "(12,)", g_label, N_IMG);
}

static void teardown(void) {
  unlink(g_model), unlink(g_img), unlink(g_lab);
  rmdir(g_dir);
}

TestSuite(data, .init = setup, .fini = teardown);

static void cfg_make(run_config *c, size_t first, size_t images, const char *extra_key,
                     const char *extra_val) {
  run_config_defaults(c);
  char f[16], n[16];
  snprintf(f, sizeof f, "%zu", first), snprintf(n, sizeof n, "%zu", images);
  const char *kv[][2] = {{"model.name", g_model}, {"data.source", g_img}, {"data.labels", g_lab},
                         {"data.first", f}, {"data.images", n}, {"data.mean", "0.4"},
                         {"data.std", "0.25"}, {"cluster.workers", "6"}, {"coding.ka", "2"},
                         {"coding.kb", "2"}, {extra_key, extra_val}};
  cod_err e = {0};
  for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
    if (kv[i][0]) cr_assert_eq(run_config_set(c, kv[i][0], kv[i][1], &e), COD_OK, "%s", e.msg);
  cr_assert_eq(run_config_validate(c, &e), COD_OK, "%s", e.msg);
}

/* The uncoded top-1 of images [first, first + n), computed without the runner; their
 * logits into logits[n x 3] if not NULL. */
static double expected_top1_logits(size_t first, size_t n, double *logits) {
  model *m = NULL;
  model_weights *w = NULL;
  cod_err e = {0};
  cr_assert_eq(model_load(g_model, &m, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(model_weights_he(m, 1, &w, &e), COD_OK, "%s", e.msg);
  size_t right = 0;
  for (size_t i = first; i < first + n; i++) {
    double x[HW * HW], y[3];
    for (size_t j = 0; j < HW * HW; j++) x[j] = (g_pix[i * HW * HW + j] / 255.0 - 0.4) / 0.25;
    cr_assert_eq(model_forward_once(w, x, y, NULL, NULL, &e), COD_OK, "%s", e.msg);
    if (logits) memcpy(logits + (i - first) * 3, y, sizeof y);
    size_t best = y[1] > y[0] ? 1 : 0;
    if (y[2] > y[best]) best = 2;
    right += best == g_label[i];
  }
  model_weights_free(w);
  model_free(m);
  return (double)right / (double)n;
}

static double expected_top1(size_t first, size_t n) { return expected_top1_logits(first, n, NULL); }

static void run_ok(const run_config *c, size_t trial, run_result *r) {
  run_ident id = {"d.ini", "0123456789abcdef", "{}", 0, trial};
  run_assets *cache = NULL;
  cod_err e = {0};
  cr_assert_eq(run_execute(c, &id, &cache, r, &e), COD_OK, "%s", e.msg);
  run_assets_free(cache);
}

Test(data, coded_agrees_and_top1_matches_independent_forward) {
  run_config c;
  cfg_make(&c, 2, 9, NULL, NULL);
  run_result r;
  run_ok(&c, 0, &r);
  cr_assert(r.has_data);
  cr_expect_eq(r.data.images, 9);
  cr_expect_eq(r.data.undecodable, 0);
  double want = expected_top1(2, 9);
  cr_expect(fabs(r.data.top1_uncoded - want) < 1e-12, "top1 %g, independent %g", r.data.top1_uncoded, want);
  cr_expect(fabs(r.data.top1_coded - want) < 1e-12);
  cr_expect_eq(r.data.agreement, 1.0);
  cr_expect(r.data.max_logit_error < 1e-9 && r.data.max_logit_error >= 0, "%g", r.data.max_logit_error);
  cr_expect_str_eq(r.data.source, g_img);
  cr_expect_str_eq(r.run.status, "ok");
  cr_expect_eq(r.n_layers, 2, "rows describe the first image only");
  double lg[9 * 3];
  expected_top1_logits(2, 9, lg);
  cr_assert_not_null(r.logits, "every image's coded logits");
  for (size_t i = 0; i < 9 * 3; i++)
    cr_expect(fabs(r.logits[i] - lg[i]) <= 1e-9 * (1 + fabs(lg[i])), "logit %zu: %.17g vs %.17g",
              i, r.logits[i], lg[i]);
  run_result_fini(&r);
}

Test(data, undecodable_images_disagree) {
  run_config c;
  cfg_make(&c, 0, 5, "latency.fail_workers", "0 1 2");
  run_result r;
  run_ok(&c, 0, &r);
  cr_assert(r.has_data);
  cr_expect_eq(r.data.undecodable, 5);
  cr_expect_eq(r.data.agreement, 0.0);
  cr_expect_eq(r.data.top1_coded, 0.0);
  cr_expect(fabs(r.data.top1_uncoded - expected_top1(0, 5)) < 1e-12);
  cr_expect(isnan(r.data.max_logit_error));
  cr_expect(r.logits && isnan(r.logits[0]) && isnan(r.logits[5 * 3 - 1]), "undecodable rows are NaN");
  run_result_fini(&r);
}

Test(data, load_errors) {
  run_config c;
  cfg_make(&c, 0, 1, NULL, NULL);
  model_shape in = {1, HW, HW}, wrong = {1, 8, 8};
  run_data d = {0};
  cod_err e = {0};
  cr_expect_eq(run_data_load(&c, wrong, &d, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "the model takes 1x8x8"), "%s", e.msg);
  c.data.first = 10, c.data.images = 3;
  cr_expect_eq(run_data_load(&c, in, &d, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "holds 12 images"), "%s", e.msg);
  c.data.first = 0, c.data.images = 1;
  snprintf(c.data.labels, sizeof c.data.labels, "%s", g_img); /* 12x10x10: not labels */
  cr_expect_eq(run_data_load(&c, in, &d, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "labels"), "%s", e.msg);
  snprintf(c.data.source, sizeof c.data.source, "%s/missing.gz", g_dir);
  cr_expect_eq(run_data_load(&c, in, &d, &e), COD_EIO);
  cr_expect(d.x == NULL);
  /* the cross-key checks */
  run_config v;
  cfg_make(&v, 0, 1, NULL, NULL);
  cr_expect_eq(run_config_set(&v, "run.compute", "model", &e), COD_OK);
  cr_expect_eq(run_config_validate(&v, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "compute = real"), "%s", e.msg);
  cfg_make(&v, 0, 1, NULL, NULL);
  cr_expect_eq(run_config_set(&v, "model.input", "x.npy", &e), COD_OK);
  cr_expect_eq(run_config_validate(&v, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "leave input unset"), "%s", e.msg);
  /* a fashion-mnist source: either the package is there, or the message names it */
  cfg_make(&v, 0, 1, "data.source", "fashion-mnist");
  model_shape fm = {1, 28, 28};
  int rc = run_data_load(&v, fm, &d, &e);
  if (rc) cr_expect(strstr(e.msg, "apt-get install dataset-fashion-mnist"), "%s", e.msg);
  else cr_expect(d.n == 1 && d.label && d.label[0] >= 0 && d.label[0] < 10);
  run_data_fini(&d);
}

Test(data, tally_and_argmax) {
  double u[3] = {0.1, 0.7, 0.2}, c1[3] = {0.1, 0.69, 0.2}, c2[3] = {0.9, 0.1, 0.0};
  cr_expect_eq(run_data_argmax(u, 3), 1);
  double tie[3] = {0.5, 0.5, 0.1};
  cr_expect_eq(run_data_argmax(tie, 3), 0, "first index on ties");
  run_data_tally t;
  memset(&t, 0, sizeof t);
  run_data_tally_add(&t, c1, u, 3, 1);
  run_data_tally_add(&t, c2, u, 3, 1);
  run_data_tally_add(&t, NULL, u, 3, 2);
  cr_expect(t.images == 3 && t.labelled == 3 && t.agree == 1 && t.undecodable == 1);
  cr_expect(t.right_uncoded == 2 && t.right_coded == 1);
  cr_expect(fabs(t.max_logit_error - 0.8) < 1e-15, "%g", t.max_logit_error);
}

/* An .onnx model brings its weights: [model] weights = DIR is refused, naming both. */
Test(data, onnx_model_refuses_a_weights_directory) {
  run_config c;
  run_config_defaults(&c);
  cod_err e = {0};
  cr_assert_eq(run_config_set(&c, "model.name", FCDCC_SOURCE_ROOT "/models/trained/lenet5-fashion.onnx", &e), COD_OK, "%s", e.msg);
  cr_assert_eq(run_config_set(&c, "model.weights", g_dir, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(run_config_set(&c, "cluster.workers", "4", &e), COD_OK);
  cr_assert_eq(run_config_set(&c, "coding.ka", "2", &e), COD_OK);
  cr_assert_eq(run_config_set(&c, "coding.kb", "2", &e), COD_OK);
  run_ident id = {"d.ini", "0123456789abcdef", "{}", 0, 0};
  run_assets *cache = NULL;
  run_result r;
  cr_expect_eq(run_execute(&c, &id, &cache, &r, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "carries its own weights"), "%s", e.msg);
  run_assets_free(cache);
}
