/* test_models.c: tests for models/ (parser, shapes, zoo, weights, forward pass).
 *
 * Expectations are computed independently here: layer sizes and MAC counts from the
 * published architectures, forward passes of hand-made models from naive loops written
 * in this file (not the library's conv or pool code), He statistics from the formula.
 * Suites: "unit" (fast) and "numeric" (full-size forward passes), selected with
 * Criterion's --filter by meson.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>

#include "cod_alloc.h"
#include "cod_tensor.h"
#include "cod_wino.h"
#include "fcdcc_config.h"
#include "model.h"
#include "model_forward.h"
#include "model_weights.h"

/* ------------------------------------------------------------------ helpers */

static model *parse_ok(const char *text) {
  model *m = NULL;
  cod_err e = {0};
  int rc = model_parse(text, "t", &m, &e);
  cr_assert_eq(rc, COD_OK, "parse failed: %s", e.msg);
  return m;
}

static model *lookup_ok(const char *name) {
  model *m = NULL;
  cod_err e = {0};
  cr_assert_eq(model_lookup(name, &m, &e), COD_OK, "%s", e.msg);
  return m;
}

/* Conv MACs from the definition: N * H' * W' * C * KH * KW. */
static double macs(double n, double oh, double ow, double c, double k) {
  return n * oh * ow * c * k * k;
}

static int close_rel(double a, double b, double tol) {
  return fabs(a - b) <= tol * (fabs(a) + fabs(b) + 1e-300);
}

/* Naive convolution (cross-correlation) with optional bias, written for the tests. */
static void ref_conv(const double *x, size_t C, size_t H, size_t W, const double *k,
                     size_t N, size_t KH, size_t KW, size_t s, size_t p, const double *b,
                     double *y) {
  size_t OH = (H + 2 * p - KH) / s + 1, OW = (W + 2 * p - KW) / s + 1;
  for (size_t n = 0; n < N; n++)
    for (size_t i = 0; i < OH; i++)
      for (size_t j = 0; j < OW; j++) {
        double acc = b ? b[n] : 0.0;
        for (size_t c = 0; c < C; c++)
          for (size_t u = 0; u < KH; u++)
            for (size_t v = 0; v < KW; v++) {
              long r = (long)(i * s + u) - (long)p, q = (long)(j * s + v) - (long)p;
              if (r < 0 || q < 0 || r >= (long)H || q >= (long)W) continue;
              acc += k[((n * C + c) * KH + u) * KW + v] * x[(c * H + (size_t)r) * W + (size_t)q];
            }
        y[(n * OH + i) * OW + j] = acc;
      }
}

static void ref_pool(int is_max, const double *x, size_t C, size_t H, size_t W, size_t k,
                     size_t s, size_t p, double *y) {
  size_t OH = (H + 2 * p - k) / s + 1, OW = (W + 2 * p - k) / s + 1;
  for (size_t c = 0; c < C; c++)
    for (size_t i = 0; i < OH; i++)
      for (size_t j = 0; j < OW; j++) {
        double acc = is_max ? -1e300 : 0;
        for (size_t u = 0; u < k; u++)
          for (size_t v = 0; v < k; v++) {
            long r = (long)(i * s + u) - (long)p, q = (long)(j * s + v) - (long)p;
            int inside = r >= 0 && q >= 0 && r < (long)H && q < (long)W;
            double val = inside ? x[(c * H + (size_t)r) * W + (size_t)q] : 0.0;
            if (is_max) {
              if (inside && val > acc) acc = val;
            } else {
              acc += val; /* zero padding counts in the divisor */
            }
          }
        y[(c * OH + i) * OW + j] = is_max ? acc : acc / (double)(k * k);
      }
}

static void fill_uniform(gsl_rng *r, double *v, size_t n, double lo, double hi) {
  for (size_t i = 0; i < n; i++) v[i] = lo + (hi - lo) * gsl_rng_uniform(r);
}

/* fill_uniform from a generator of its own, seeded with seed. */
static void fill_seeded(double *v, size_t n, unsigned long seed, double lo, double hi) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, seed);
  fill_uniform(r, v, n, lo, hi);
  gsl_rng_free(r);
}

/* Give every parameter of every layer a seeded random value in [-1, 1] (bn scale in
 * [0.5, 1.5]) so that no path is hidden by zeros or ones. */
static void randomize_weights(const model *m, model_weights *w, unsigned long seed) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, seed);
  for (size_t i = 0; i < model_layer_count(m); i++) {
    const model_layer *L = model_layer_get(m, i);
    if (L->n_weights)
      fill_uniform(r, model_weights_get_mut(w, i), L->n_weights,
                   L->kind == MODEL_BATCHNORM ? 0.5 : -1, L->kind == MODEL_BATCHNORM ? 1.5 : 1);
    if (L->n_bias) fill_uniform(r, model_weights_bias_mut(w, i), L->n_bias, -1, 1);
  }
  gsl_rng_free(r);
}

static char *make_tmpdir(void) {
  char *d = strdup("/tmp/fcdcc-models-XXXXXX");
  cr_assert(d && mkdtemp(d), "mkdtemp");
  return d;
}

/* Remove a flat directory made by make_tmpdir. */
static void rm_tree(const char *dir) {
  char path[4300];
  DIR *dh = opendir(dir);
  if (dh) {
    struct dirent *de;
    while ((de = readdir(dh)) != NULL) {
      if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
      snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
      unlink(path);
    }
    closedir(dh);
  }
  rmdir(dir);
}

/* ------------------------------------------------------------------ the zoo */

Test(unit, builtin_names) {
  const char *const *n = model_builtin_names();
  const char *want[] = {"lenet5", "alexnet", "vgg16", "resnet18"};
  size_t k = 0;
  for (; n[k]; k++) {
    cr_assert(k < 4);
    cr_assert_str_eq(n[k], want[k]);
    cr_assert_not_null(model_builtin_text(n[k]));
  }
  cr_assert_eq(k, 4);
  cr_assert_null(model_builtin_text("lenet"));
  model *m = (model *)0x1;
  cod_err e = {0};
  cr_assert_eq(model_lookup("googlenet", &m, &e), COD_EINVAL);
  cr_assert_eq(m, (model *)0x1, "out-parameter touched on failure");
  cr_assert(strstr(e.msg, "googlenet") && strstr(e.msg, "resnet18"), "%s", e.msg);
}

static void check_geom(const model *m, size_t i, size_t c, size_t h, size_t w, size_t n,
                       size_t k, size_t s, size_t p) {
  cod_conv_geom g = model_conv_geom(m, i);
  cr_assert(g.c == c && g.h == h && g.w == w && g.n_filters == n && g.kh == k && g.kw == k
                && g.stride == s && g.pad == p,
            "conv %zu: got c=%zu h=%zu w=%zu n=%zu k=%zux%zu s=%zu p=%zu", i, g.c, g.h, g.w,
            g.n_filters, g.kh, g.kw, g.stride, g.pad);
}

Test(unit, lenet5_shapes) {
  model *m = lookup_ok("lenet5");
  cr_assert_str_eq(model_name(m), "lenet5");
  cr_assert_eq(model_conv_count(m), 3);
  check_geom(m, 0, 1, 32, 32, 6, 5, 1, 0);
  check_geom(m, 1, 6, 14, 14, 16, 5, 1, 0);
  check_geom(m, 2, 16, 5, 5, 120, 5, 1, 0);
  model_shape o = model_output_shape(m);
  cr_assert(o.c == 10 && o.h == 1 && o.w == 1);
  double conv = macs(6, 28, 28, 1, 5) + macs(16, 10, 10, 6, 5) + macs(120, 1, 1, 16, 5);
  cr_assert_eq(model_conv_macs_total(m), conv);
  cr_assert_eq(model_macs_total(m), conv + 120 * 84 + 84 * 10);
  cr_assert_str_eq(model_conv_layer(m, 1)->name, "conv2");
  model_free(m);
}

Test(unit, alexnet_shapes) {
  model *m = lookup_ok("alexnet");
  cr_assert_eq(model_conv_count(m), 5);
  check_geom(m, 0, 3, 224, 224, 64, 11, 4, 2);
  cr_assert_eq(model_conv_layer(m, 0)->out.h, 55);
  check_geom(m, 1, 64, 27, 27, 192, 5, 1, 2); /* the "64 to 192, 5x5, pad 2, 27x27" */
  check_geom(m, 2, 192, 13, 13, 384, 3, 1, 1);
  check_geom(m, 3, 384, 13, 13, 256, 3, 1, 1);
  check_geom(m, 4, 256, 13, 13, 256, 3, 1, 1);
  double want = macs(64, 55, 55, 3, 11) + macs(192, 27, 27, 64, 5) + macs(384, 13, 13, 192, 3)
                + macs(256, 13, 13, 384, 3) + macs(256, 13, 13, 256, 3);
  cr_assert_eq(model_conv_macs_total(m), want);
  long fc6 = model_layer_find(m, "fc6");
  cr_assert(fc6 >= 0);
  cr_assert_eq(model_layer_get(m, (size_t)fc6)->n_weights, (size_t)4096 * 9216);
  cr_assert_eq(model_output_shape(m).c, 1000);
  model_free(m);
}

Test(unit, vgg16_shapes) {
  model *m = lookup_ok("vgg16");
  cr_assert_eq(model_conv_count(m), 13);
  const size_t cfg[] = {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0,
                        512, 512, 512, 0};
  size_t c = 3, hw = 224, ci = 0;
  double want = 0;
  for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
    if (!cfg[i]) {
      hw /= 2;
      continue;
    }
    check_geom(m, ci++, c, hw, hw, cfg[i], 3, 1, 1);
    want += macs((double)cfg[i], (double)hw, (double)hw, (double)c, 3);
    c = cfg[i];
  }
  cr_assert_eq(model_conv_macs_total(m), want);
  cr_assert(want > 15.3e9 && want < 15.6e9, "VGG-16 conv GMACs %g", want / 1e9);
  cr_assert_eq(model_output_shape(m).c, 1000);
  model_free(m);
}

Test(unit, resnet18_shapes) {
  model *m = lookup_ok("resnet18");
  cr_assert_eq(model_conv_count(m), 20); /* 1 + 8 blocks x 2 + 3 projections */
  check_geom(m, 0, 3, 224, 224, 64, 7, 2, 3);
  double want = macs(64, 112, 112, 3, 7) + 4 * macs(64, 56, 56, 64, 3);
  size_t cin = 64, hw = 56;
  for (size_t ch = 128; ch <= 512; ch *= 2) {
    want += macs((double)ch, hw / 2.0, hw / 2.0, (double)cin, 3)
            + 3 * macs((double)ch, hw / 2.0, hw / 2.0, (double)ch, 3)
            + macs((double)ch, hw / 2.0, hw / 2.0, (double)cin, 1);
    cin = ch;
    hw /= 2;
  }
  cr_assert(close_rel(model_conv_macs_total(m), want, 1e-15), "%g vs %g",
            model_conv_macs_total(m), want);
  cr_assert(want > 1.80e9 && want < 1.83e9, "ResNet-18 GMACs %g", want / 1e9);
  long ds = model_layer_find(m, "layer2.0.downsample.0");
  cr_assert(ds >= 0);
  const model_layer *L = model_layer_get(m, (size_t)ds);
  cr_assert_eq(L->kind, MODEL_CONV);
  cr_assert_str_eq(model_slot_name(m, (size_t)L->slot), "shortcut");
  check_geom(m, L->conv_index, 64, 56, 56, 128, 1, 2, 0);
  cr_assert(L->out.c == 128 && L->out.h == 28 && L->out.w == 28);
  model_shape o = model_output_shape(m);
  cr_assert(o.c == 1000 && o.h == 1 && o.w == 1);
  cr_assert_eq(model_layer_get(m, model_layer_count(m) - 2)->kind, MODEL_GLOBALAVGPOOL);
  model_free(m);
}

Test(unit, load_file_matches_builtin) {
  const char *names[] = {"lenet5", "alexnet", "vgg16", "resnet18"};
  for (size_t i = 0; i < 4; i++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/models/zoo/%s.model", FCDCC_SOURCE_ROOT, names[i]);
    model *a = lookup_ok(names[i]), *b = NULL;
    cod_err e = {0};
    cr_assert_eq(model_load(path, &b, &e), COD_OK, "%s", e.msg);
    cr_assert_eq(model_layer_count(a), model_layer_count(b));
    cr_assert_eq(model_macs_total(a), model_macs_total(b));
    cr_assert_str_eq(model_name(b), path);
    model_free(a);
    model_free(b);
  }
  model *m = NULL;
  cod_err e = {0};
  cr_assert_eq(model_load("/nonexistent/x.model", &m, &e), COD_EIO);
  cr_assert(strstr(e.msg, "/nonexistent/x.model"), "%s", e.msg);
  cr_assert_null(m);
}

Test(unit, describe_lists_layers) {
  model *m = lookup_ok("alexnet");
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  cr_assert_not_null(f);
  cod_err e = {0};
  cr_assert_eq(model_describe(m, f, &e), COD_OK);
  fclose(f);
  cr_assert(strstr(text, "conv2") && strstr(text, "64x27x27") && strstr(text, "192x27x27"),
            "%s", text);
  cr_assert(strstr(text, "223948800"), "conv2 MACs missing:\n%s", text);
  cr_assert(strstr(text, "total:"), "%s", text);
  free(text);
  model_free(m);
}

/* ------------------------------------------------------------------ hostile input */

typedef struct bad_case {
  const char *text;
  size_t line; /* 0: a whole-file error without a line number */
  const char *needle;
} bad_case;

#define IN8 "input c=1 h=8 w=8\n"
static const bad_case bad_cases[] = {
  {"", 0, "no 'input"},
  {"# only a comment\n", 0, "no 'input"},
  {IN8, 0, "no layers"},
  {IN8 "foo k=3\n", 2, "unknown layer kind 'foo'"},
  {IN8 "conv out=4 k=3 bogus=1\n", 2, "unknown attribute 'bogus'"},
  {IN8 "conv out=4\n", 2, "missing attribute 'k'"},
  {IN8 "conv k=3\n", 2, "missing attribute 'out'"},
  {IN8 "conv out=-4 k=3\n", 2, "attribute 'out' must be an integer"},
  {IN8 "conv out=0 k=3\n", 2, "attribute 'out' must be an integer"},
  {IN8 "conv out=4 k=99999999999999999999\n", 2, "attribute 'k' must be an integer"},
  {IN8 "conv out=4 k=3x\n", 2, "attribute 'k'"},
  {IN8 "conv out=4 k=\n", 2, "attribute 'k'"},
  {IN8 "conv out=4 k=3 stride=0\n", 2, "attribute 'stride'"},
  {IN8 "conv out=4 k=11\n", 2, "larger than the padded input"},
  {IN8 "conv out=4 kh=3 kw=20 pad=1\n", 2, "larger than the padded input"},
  {IN8 "conv out=4 k=3 k=3\n", 2, "attribute 'k' given twice"},
  {IN8 "conv out=4 k=3 kh=3\n", 2, "either attribute 'k'"},
  {IN8 "conv out=4 k=3 bias=maybe\n", 2, "attribute 'bias'"},
  {IN8 "conv out=4 3\n", 2, "expected key=value"},
  {IN8 "conv out=4 =3\n", 2, "expected key=value"},
  {IN8 "conv name=../etc out=4 k=3\n", 2, "attribute 'name'"},
  {IN8 "conv name=a/b out=4 k=3\n", 2, "attribute 'name'"},
  {IN8 "conv name=a out=4 k=3\nconv name=a out=4 k=3\n", 3, "duplicate layer name"},
  {IN8 "maxpool k=2 pad=2\n", 2, "attribute 'pad'"},
  {IN8 "maxpool k=9\n", 2, "larger than the padded input"},
  {IN8 "avgpool stride=2\n", 2, "missing attribute 'k'"},
  {IN8 "batchnorm eps=abc\n", 2, "attribute 'eps'"},
  {IN8 "batchnorm eps=-1\n", 2, "attribute 'eps'"},
  {IN8 "batchnorm eps=1e-5 eps=1e-5\n", 2, "given twice"},
  {"input c=2 h=3 w=3\nfc out=5 in=17\n", 2, "attribute 'in' is 17"},
  {"input c=1000 h=1000 w=1\nfc out=1000000\n", 2, "weights"},
  {"input c=1000000 h=1000000 w=1000000\n", 1, "more than"},
  {"input c=1 h=1000 w=1000\nconv out=1000000 k=1\n", 2, "output"},
  {"conv out=4 k=3\n", 1, "expected the 'input"},
  {IN8 IN8, 2, "'input' given twice"},
  {"input c=1 h=8\n", 1, "missing attribute 'w'"},
  {"input c=1 h=8 w=8 d=3\n", 1, "unknown attribute 'd'"},
  {IN8 "add from=x\n", 2, "never saved"},
  {IN8 "save to=s\nconv out=2 k=3\nadd from=s\n", 4, "holds 1x8x8"},
  {IN8 "save\n", 2, "missing attribute 'to'"},
  {IN8 "\n# comment\n  relu on=nope\n", 4, "never saved"},
  {IN8 "relu\nmaxpool k=2 on=s\n", 3, "unknown attribute 'on'"},
  {IN8 "fc out=3 k=3\n", 2, "unknown attribute 'k'"},
  {IN8 "relu a=1 b=2 c=3 d=4 e=5 f=6 g=7 h=8 i=9 j=10 k=11 l=12 m=13 n=14 o=15 p=16 q=17\n",
   2, "too many attributes"},
  {IN8 "relu averyveryverylongattributekey=1\n", 2, "unknown attribute"},
};

Test(unit, parse_errors_table) {
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
    const bad_case *bc = &bad_cases[i];
    model *m = (model *)0x1;
    cod_err e = {0};
    int rc = model_parse(bc->text, "bad.model", &m, &e);
    cr_assert_eq(rc, COD_EFORMAT, "case %zu: rc %d (%s)", i, rc, e.msg);
    cr_assert_eq(e.status, COD_EFORMAT);
    cr_assert_eq(m, (model *)0x1, "case %zu: out-parameter touched", i);
    char prefix[64];
    if (bc->line) snprintf(prefix, sizeof prefix, "bad.model:%zu: ", bc->line);
    else snprintf(prefix, sizeof prefix, "bad.model: ");
    cr_assert(!strncmp(e.msg, prefix, strlen(prefix)), "case %zu: '%s' does not start with '%s'",
              i, e.msg, prefix);
    cr_assert(strstr(e.msg, bc->needle), "case %zu: '%s' lacks '%s'", i, e.msg, bc->needle);
  }
}

Test(unit, parse_nul_byte_and_buffer) {
  const char text[] = "input c=1 h=4 w=4\nrelu\0\nrelu\n";
  model *m = NULL;
  cod_err e = {0};
  cr_assert_eq(model_parse_buf(text, sizeof text - 1, "nul", &m, &e), COD_EFORMAT);
  cr_assert(strstr(e.msg, "nul:2: ") && strstr(e.msg, "NUL"), "%s", e.msg);
  /* not NUL-terminated: only the first len bytes count */
  const char *t2 = "input c=1 h=4 w=4\nrelu\ngarbage here";
  cr_assert_eq(model_parse_buf(t2, 23, "buf", &m, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(model_layer_count(m), 1);
  model_free(m);
  /* CRLF line ends and comments everywhere are fine */
  m = parse_ok("# hi\r\ninput c=1 h=4 w=4 # x\r\n\r\nrelu   # y\r\n");
  cr_assert_eq(model_layer_count(m), 1);
  model_free(m);
}

Test(unit, default_names_and_attributes) {
  model *m = parse_ok("input c=3 h=9 w=7\n"
                      "conv out=4 kh=3 kw=1 stride=2 pad=1 bias=no\n"
                      "batchnorm\nrelu\nconv out=2 k=1 bias=yes\nfc out=5\n");
  cr_assert_str_eq(model_layer_get(m, 0)->name, "conv1");
  cr_assert_str_eq(model_layer_get(m, 1)->name, "bn1");
  cr_assert_str_eq(model_layer_get(m, 3)->name, "conv2");
  cr_assert_str_eq(model_layer_get(m, 4)->name, "fc1");
  const model_layer *L = model_layer_get(m, 0);
  cr_assert_eq(L->bias, 0);
  cr_assert_eq(L->n_bias, 0);
  /* h: (9 + 2 - 3) / 2 + 1 = 5, w: (7 + 2 - 1) / 2 + 1 = 5 */
  cr_assert(L->out.c == 4 && L->out.h == 5 && L->out.w == 5);
  cr_assert_eq(model_layer_get(m, 1)->eps, 1e-5);
  cr_assert_eq(model_layer_get(m, 4)->n_weights, 5 * 2 * 25);
  cr_assert_eq(model_layer_get(m, 4)->n_bias, 5);
  model_free(m);
}

/* Seeded mutations of a valid model: the parser must answer OK or EFORMAT, never crash,
 * and every model it accepts must have valid conv geometries. */
Test(unit, parse_mutation_fuzz) {
  const char *base = model_builtin_text("resnet18");
  size_t n = strlen(base);
  char *buf = malloc(n);
  cr_assert_not_null(buf);
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 20240611);
  const char alphabet[] = "0123456789=# \n\t-xkaonsvz.\0\377";
  size_t accepted = 0;
  for (int it = 0; it < 1500; it++) {
    memcpy(buf, base, n);
    size_t len = n;
    unsigned nmut = 1 + (unsigned)gsl_rng_uniform_int(r, 4);
    for (unsigned j = 0; j < nmut; j++)
      buf[gsl_rng_uniform_int(r, n)] = alphabet[gsl_rng_uniform_int(r, sizeof alphabet - 1)];
    if (gsl_rng_uniform(r) < 0.2) len = gsl_rng_uniform_int(r, n);
    model *m = NULL;
    cod_err e = {0};
    int rc = model_parse_buf(buf, len, "fuzz", &m, &e);
    cr_assert(rc == COD_OK || rc == COD_EFORMAT, "rc %d", rc);
    if (rc == COD_OK) {
      accepted++;
      for (size_t c = 0; c < model_conv_count(m); c++) {
        cod_conv_geom g = model_conv_geom(m, c);
        cr_assert(cod_conv_geom_valid(&g));
      }
      model_free(m);
    } else {
      cr_assert(!strncmp(e.msg, "fuzz", 4), "%s", e.msg);
    }
  }
  cr_assert(accepted > 0 && accepted < 1500, "accepted %zu", accepted);
  gsl_rng_free(r);
  free(buf);
}

/* Make allocation k fail for k = 0, 1, ... until `step` succeeds: every failure must be
 * COD_ENOMEM with the out-parameters untouched. */
static void lenet_chain(long k, int *rc_out, cod_err *e) {
  model *m = NULL;
  model_weights *w = NULL;
  model_plan *p = NULL;
  cod_alloc_fail_at(k);
  int rc = model_lookup("lenet5", &m, e);
  if (!rc) rc = model_weights_he(m, 1, &w, e);
  if (!rc) rc = model_plan_new(m, &p, e);
  cod_alloc_fail_at(-1);
  *rc_out = rc;
  model_plan_free(p);
  model_weights_free(w);
  model_free(m);
}

Test(unit, allocation_failures) {
  for (long k = 0;; k++) {
    model *m = NULL;
    cod_err e = {0};
    cod_alloc_fail_at(k);
    int rc = model_lookup("resnet18", &m, &e);
    cod_alloc_fail_at(-1);
    if (!rc) {
      cr_assert(k > 0);
      model_free(m);
      break;
    }
    cr_assert_eq(rc, COD_ENOMEM, "k=%ld rc=%d %s", k, rc, e.msg);
    cr_assert_null(m);
  }
  for (long k = 0;; k++) {
    int rc;
    cod_err e = {0};
    lenet_chain(k, &rc, &e);
    if (!rc) break;
    cr_assert_eq(rc, COD_ENOMEM, "k=%ld rc=%d %s", k, rc, e.msg);
    cr_assert(k < 10000);
  }
}

/* ------------------------------------------------------------------ forward pass */

static const char *model_a =
    "input c=2 h=6 w=5\n"
    "conv name=c1 out=3 k=3 stride=2 pad=1\n" /* 3x3x3 */
    "relu\n"
    "maxpool k=2 stride=1 pad=1\n"            /* 3x4x4 */
    "fc name=f1 out=4\n"                      /* 48 -> 4 */
    "softmax\n";

static const char *model_b =
    "input c=2 h=6 w=6\n"
    "save to=s\n"
    "conv name=a out=4 k=3 stride=2 pad=1 bias=0\n" /* 4x3x3 */
    "batchnorm name=bn\n"
    "relu\n"
    "conv name=p on=s out=4 k=1 stride=2\n"          /* slot s: 4x3x3 */
    "relu on=s\n"
    "add from=s\n"
    "avgpool k=2 stride=1 pad=1\n"                   /* 4x4x4 */
    "globalavgpool\n"                                /* 4x1x1 */
    "fc name=f out=3 bias=0\n";

static const double *W(const model *m, const model_weights *w, const char *name) {
  long i = model_layer_find(m, name);
  cr_assert(i >= 0, "no layer %s", name);
  return model_weights_get(w, (size_t)i);
}

static const double *B(const model *m, const model_weights *w, const char *name) {
  long i = model_layer_find(m, name);
  cr_assert(i >= 0, "no layer %s", name);
  return model_weights_bias(w, (size_t)i);
}

/* Model A by hand. out: 4 values. */
static void ref_model_a(const model *m, const model_weights *w, const double *x, double *out) {
  double y1[27], y2[48];
  ref_conv(x, 2, 6, 5, W(m, w, "c1"), 3, 3, 3, 2, 1, B(m, w, "c1"), y1);
  for (int i = 0; i < 27; i++) y1[i] = y1[i] > 0 ? y1[i] : 0;
  ref_pool(1, y1, 3, 3, 3, 2, 1, 1, y2);
  const double *fw = W(m, w, "f1"), *fb = B(m, w, "f1");
  double mx = -1e300, sum = 0;
  for (int o = 0; o < 4; o++) {
    out[o] = fb[o];
    for (int i = 0; i < 48; i++) out[o] += fw[o * 48 + i] * y2[i];
    if (out[o] > mx) mx = out[o];
  }
  for (int o = 0; o < 4; o++) sum += exp(out[o] - mx);
  for (int o = 0; o < 4; o++) out[o] = exp(out[o] - mx) / sum;
}

/* Model B by hand. out: 3 values. */
static void ref_model_b(const model *m, const model_weights *w, const double *x, double *out) {
  double main_[36], sc[36], pooled[64], g[4];
  ref_conv(x, 2, 6, 6, W(m, w, "a"), 4, 3, 3, 2, 1, NULL, main_);
  const double *s = W(m, w, "bn"), *t = B(m, w, "bn");
  for (int c = 0; c < 4; c++)
    for (int j = 0; j < 9; j++) {
      double v = s[c] * main_[c * 9 + j] + t[c];
      main_[c * 9 + j] = v > 0 ? v : 0;
    }
  ref_conv(x, 2, 6, 6, W(m, w, "p"), 4, 1, 1, 2, 0, B(m, w, "p"), sc);
  for (int i = 0; i < 36; i++) main_[i] += sc[i] > 0 ? sc[i] : 0;
  ref_pool(0, main_, 4, 3, 3, 2, 1, 1, pooled);
  for (int c = 0; c < 4; c++) {
    g[c] = 0;
    for (int j = 0; j < 16; j++) g[c] += pooled[c * 16 + j] / 16.0;
  }
  const double *fw = W(m, w, "f");
  for (int o = 0; o < 3; o++) {
    out[o] = 0;
    for (int c = 0; c < 4; c++) out[o] += fw[o * 4 + c] * g[c];
  }
}

static void run_vs_ref(const char *text, size_t out_n,
                       void (*ref)(const model *, const model_weights *, const double *,
                                   double *)) {
  model *m = parse_ok(text);
  model_weights *w = NULL;
  cod_err e = {0};
  cr_assert_eq(model_weights_he(m, 3, &w, &e), COD_OK);
  randomize_weights(m, w, 11);
  model_shape in = model_input_shape(m);
  size_t in_n = in.c * in.h * in.w;
  double x[128], got[8], want[8];
  cr_assert(in_n <= 128);
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 5);
  model_plan *p = NULL;
  cr_assert_eq(model_plan_new(m, &p, &e), COD_OK);
  for (int rep = 0; rep < 3; rep++) { /* the plan is reusable */
    fill_uniform(r, x, in_n, -1, 1);
    cr_assert_eq(model_forward(p, w, x, got, NULL, NULL, &e), COD_OK, "%s", e.msg);
    ref(m, w, x, want);
    for (size_t i = 0; i < out_n; i++)
      cr_assert(fabs(got[i] - want[i]) <= 1e-13 * (1 + fabs(want[i])),
                "rep %d out[%zu]: %.17g vs %.17g", rep, i, got[i], want[i]);
  }
  cr_assert_eq(model_output_shape(m).c, out_n);
  model_plan_free(p);
  gsl_rng_free(r);
  model_weights_free(w);
  model_free(m);
}

Test(unit, forward_conv_pool_fc_softmax) { run_vs_ref(model_a, 4, ref_model_a); }
Test(unit, forward_residual_projection) { run_vs_ref(model_b, 3, ref_model_b); }

typedef struct hook_log {
  size_t calls;
  size_t idx[8];
  cod_conv_geom g[8];
  int fail_at; /* conv index that fails, or -1 */
} hook_log;

static int test_hook(void *ctx, size_t conv_index, const cod_conv_geom *g, const double *x,
                     const double *k, double *y, cod_err *err) {
  hook_log *lg = ctx;
  if ((int)conv_index == lg->fail_at) return cod_err_set(err, COD_EUNDECODABLE, "boom");
  if (lg->calls < 8) {
    lg->idx[lg->calls] = conv_index;
    lg->g[lg->calls] = *g;
  }
  lg->calls++;
  ref_conv(x, g->c, g->h, g->w, k, g->n_filters, g->kh, g->kw, g->stride, g->pad, NULL, y);
  return COD_OK;
}

Test(unit, forward_hook_called_per_conv) {
  model *m = parse_ok(model_b);
  model_weights *w = NULL;
  cod_err e = {0};
  cr_assert_eq(model_weights_he(m, 9, &w, &e), COD_OK);
  randomize_weights(m, w, 12);
  double x[72], plain[3], hooked[3];
  fill_seeded(x, 72, 6, -1, 1);
  cr_assert_eq(model_forward_once(w, x, plain, NULL, NULL, &e), COD_OK, "%s", e.msg);
  hook_log lg = {.fail_at = -1};
  cr_assert_eq(model_forward_once(w, x, hooked, test_hook, &lg, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(lg.calls, 2);
  const cod_conv_geom want[2] = {{2, 6, 6, 4, 3, 3, 2, 1}, {2, 6, 6, 4, 1, 1, 2, 0}};
  for (size_t i = 0; i < 2; i++) {
    cr_assert_eq(lg.idx[i], i);
    cr_assert(!memcmp(&lg.g[i], &want[i], sizeof want[i]), "geometry of conv %zu", i);
    cod_conv_geom mg = model_conv_geom(m, i);
    cr_assert(!memcmp(&mg, &want[i], sizeof mg));
  }
  for (int i = 0; i < 3; i++)
    cr_assert(fabs(plain[i] - hooked[i]) <= 1e-13 * (1 + fabs(plain[i])), "%g %g", plain[i],
              hooked[i]);
  /* a failing hook: its status and message come back, naming the conv */
  double untouched[3] = {42, 42, 42};
  hook_log bad = {.fail_at = 1};
  int rc = model_forward_once(w, x, untouched, test_hook, &bad, &e);
  cr_assert_eq(rc, COD_EUNDECODABLE);
  cr_assert(strstr(e.msg, "boom") && strstr(e.msg, "'p'"), "%s", e.msg);
  cr_assert(untouched[0] == 42 && untouched[2] == 42);
  model_weights_free(w);
  model_free(m);
}

/* Two 3x3 convs that cod_conv_algo_choose runs by Winograd (16 channels, 6 x 6 tiles of
 * 2 x 2) around a 1x1 one that it does not: kept filters must give the per-call result bit
 * for bit, be the ones used (checked by changing the weights behind the plan's back), be
 * counted in the plan's bytes, and survive an allocation failure at every step. */
static const char *model_w =
    "input c=16 h=12 w=12\n"
    "conv name=a out=16 k=3 stride=1 pad=1\n"
    "relu\n"
    "conv name=b out=16 k=1 stride=1\n"
    "conv name=c out=16 k=3 stride=1 pad=1\n";

Test(unit, forward_kept_winograd_filters) {
  model *m = parse_ok(model_w);
  model_weights *w = NULL;
  cod_err e = {0};
  cr_assert_eq(model_weights_he(m, 3, &w, &e), COD_OK);
  randomize_weights(m, w, 5);
  size_t nin = 16 * 12 * 12, nout = nin, wino = 0;
  double *x = malloc(nin * sizeof *x), *y0 = malloc(nout * sizeof *y0);
  double *y1 = malloc(nout * sizeof *y1), *y2 = malloc(nout * sizeof *y2);
  cr_assert(x && y0 && y1 && y2);
  fill_seeded(x, nin, 8, -1, 1);
  model_plan *p = NULL;
  cr_assert_eq(model_plan_new_algo(m, 1, &p, &e), COD_OK, "%s", e.msg);
  for (size_t i = 0; i < model_conv_count(m); i++) {
    cod_conv_algo a = model_plan_conv_algo(p, i);
    wino += a == COD_CONV_WINO2 || a == COD_CONV_WINO4;
  }
  cr_assert_eq(wino, 2, "the rule should pick Winograd for the two 3x3 convs");
  cr_assert_eq(model_forward(p, w, x, y0, NULL, NULL, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(model_plan_kept_filters(p), 0);
  size_t bytes0 = model_plan_bytes(p);
  /* out of memory at each allocation of the keeping: COD_ENOMEM, the plan still right */
  for (long k = 0;; k++) {
    cod_alloc_fail_at(k);
    int rc = model_plan_keep_filters(p, w, &e);
    cod_alloc_fail_at(-1);
    if (!rc) break;
    cr_assert_eq(rc, COD_ENOMEM, "k=%ld: %s", k, e.msg);
    cr_assert(k < 10);
    cr_assert_eq(model_forward(p, w, x, y1, NULL, NULL, &e), COD_OK, "%s", e.msg);
    cr_assert(!memcmp(y0, y1, nout * sizeof *y1), "k=%ld: output changed", k);
  }
  cr_assert_eq(model_plan_kept_filters(p), 2);
  size_t want = 0;
  for (size_t i = 0; i < model_conv_count(m); i++) {
    cod_conv_geom g = model_conv_geom(m, i);
    cod_conv_algo a = model_plan_conv_algo(p, i);
    if (a == COD_CONV_WINO2 || a == COD_CONV_WINO4)
      want += cod_conv_algo_filters_len(&g, a) * sizeof(double);
  }
  cr_assert(model_plan_bytes(p) >= bytes0 + want, "%zu < %zu + %zu", model_plan_bytes(p),
            bytes0, want);
  cr_assert_eq(model_forward(p, w, x, y1, NULL, NULL, &e), COD_OK, "%s", e.msg);
  cr_assert(!memcmp(y0, y1, nout * sizeof *y1), "kept filters changed the output");
  /* the kept transform is what runs: weights changed behind the plan's back (which the
   * contract forbids) leave the Winograd convs' output as it was, but not a fresh plan's */
  double *ka = (double *)(uintptr_t)W(m, w, "a");
  ka[0] += 1.0;
  cr_assert_eq(model_forward(p, w, x, y1, NULL, NULL, &e), COD_OK, "%s", e.msg);
  model_plan *q = NULL;
  cr_assert_eq(model_plan_new_algo(m, 1, &q, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(model_forward(q, w, x, y2, NULL, NULL, &e), COD_OK, "%s", e.msg);
  cr_assert(!memcmp(y0, y1, nout * sizeof *y1), "the kept transform was not used");
  cr_assert(memcmp(y0, y2, nout * sizeof *y2), "changing the weights changed nothing");
  /* keeping again re-transforms the (changed) filters: the fresh plan's result */
  cr_assert_eq(model_plan_keep_filters(p, w, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(model_forward(p, w, x, y1, NULL, NULL, &e), COD_OK, "%s", e.msg);
  cr_assert(memcmp(y0, y1, nout * sizeof *y1), "re-keeping kept the old transform");
  model_plan_free(q);
  model_plan_free(p);
  free(x), free(y0), free(y1), free(y2);
  model_weights_free(w);
  model_free(m);
}

Test(unit, lenet5_forward_deterministic) {
  model *m = lookup_ok("lenet5");
  model_weights *w1 = NULL, *w2 = NULL, *w3 = NULL;
  cod_err e = {0};
  cr_assert_eq(model_weights_he(m, 2024, &w1, &e), COD_OK);
  cr_assert_eq(model_weights_he(m, 2024, &w2, &e), COD_OK);
  cr_assert_eq(model_weights_he(m, 2025, &w3, &e), COD_OK);
  double x[1024], o1[10], o2[10], o3[10];
  fill_seeded(x, 1024, 77, 0, 1);
  cr_assert_eq(model_forward_once(w1, x, o1, NULL, NULL, &e), COD_OK);
  cr_assert_eq(model_forward_once(w2, x, o2, NULL, NULL, &e), COD_OK);
  cr_assert_eq(model_forward_once(w3, x, o3, NULL, NULL, &e), COD_OK);
  cr_assert(!memcmp(o1, o2, sizeof o1), "same seed, different output");
  cr_assert(memcmp(o1, o3, sizeof o1), "different seeds, same output");
  double sum = 0;
  for (int i = 0; i < 10; i++) {
    cr_assert(o1[i] > 0 && o1[i] < 1);
    sum += o1[i];
  }
  cr_assert(fabs(sum - 1) < 1e-14, "softmax sum %g", sum);
  /* with a plan, a forward pass makes no allocation through cod_alloc */
  model_plan *p = NULL;
  cr_assert_eq(model_plan_new(m, &p, &e), COD_OK);
  cod_alloc_fail_at(-1); /* resets the allocation counter */
  cr_assert_eq(model_forward(p, w1, x, o2, NULL, NULL, &e), COD_OK);
  cr_assert_eq(cod_alloc_count(), 0);
  cr_assert(!memcmp(o1, o2, sizeof o1), "plan reuse changed the output");
  model_plan_free(p);
  model_weights_free(w1);
  model_weights_free(w2);
  model_weights_free(w3);
  model_free(m);
}

/* ------------------------------------------------------------------ weights */

Test(unit, he_statistics) {
  model *m = parse_ok("input c=64 h=4 w=4\nconv name=c out=512 k=3 pad=1\nbatchnorm name=n\n"
                      "fc name=f out=100\n");
  model_weights *w = NULL, *w2 = NULL;
  cod_err e = {0};
  cr_assert_eq(model_weights_he(m, 99, &w, &e), COD_OK);
  cr_assert_eq(model_weights_he(m, 99, &w2, &e), COD_OK);
  for (size_t li = 0; li < model_layer_count(m); li++) {
    const model_layer *L = model_layer_get(m, li);
    const double *v = model_weights_get(w, li), *b = model_weights_bias(w, li);
    cr_assert(!memcmp(v, model_weights_get(w2, li), L->n_weights * sizeof *v), "seeded");
    if (L->kind == MODEL_BATCHNORM) {
      for (size_t j = 0; j < L->n_weights; j++) cr_assert(v[j] == 1.0 && b[j] == 0.0);
      continue;
    }
    double fan_in = L->kind == MODEL_CONV ? 64.0 * 9 : 512.0 * 16;
    double s1 = 0, s2 = 0;
    for (size_t j = 0; j < L->n_weights; j++) {
      s1 += v[j];
      s2 += v[j] * v[j];
    }
    double n = (double)L->n_weights, mean = s1 / n, sd = sqrt(s2 / n - mean * mean);
    double want = sqrt(2.0 / fan_in);
    /* the sample sd has relative standard error 1/sqrt(2n): 0.13% (conv), 0.08% (fc) */
    cr_assert(fabs(sd / want - 1) < 0.01, "%s: sd %g want %g", L->name, sd, want);
    cr_assert(fabs(mean) < 5 * want / sqrt(n), "%s: mean %g", L->name, mean);
    double b2 = 0;
    for (size_t j = 0; j < L->n_bias; j++) b2 += b[j] * b[j];
    double bsd = sqrt(b2 / (double)L->n_bias); /* n_bias 512 / 100: within 25% */
    cr_assert(fabs(bsd / MODEL_HE_BIAS_STD - 1) < 0.25, "%s: bias sd %g", L->name, bsd);
  }
  model_weights *w3 = NULL;
  cr_assert_eq(model_weights_he(m, 100, &w3, &e), COD_OK);
  cr_assert(memcmp(model_weights_conv_kernel(w, 0), model_weights_conv_kernel(w3, 0),
                   64 * sizeof(double)), "seed ignored");
  model_weights_free(w);
  model_weights_free(w2);
  model_weights_free(w3);
  model_free(m);
}

static void save_npy(const char *dir, const char *file, size_t ndim, const size_t *d,
                     const double *v, cod_dtype dt) {
  cod_tensor t = {0}, t32 = {0};
  size_t f[4] = {1, 1, 1, 1};
  for (size_t i = 0; i < ndim; i++) f[4 - ndim + i] = d[i];
  cod_err e = {0};
  cr_assert_eq(cod_tensor_init(&t, f[0], f[1], f[2], f[3], COD_F64, &e), COD_OK);
  t.ndim = ndim;
  memcpy(t.data, v, cod_tensor_numel(&t) * sizeof(double));
  const cod_tensor *src = &t;
  if (dt == COD_F32) {
    cr_assert_eq(cod_tensor_convert(&t, COD_F32, &t32, &e), COD_OK);
    src = &t32;
  }
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  cr_assert_eq(cod_npy_save(path, src, &e), COD_OK, "%s", e.msg);
  cod_tensor_fini(&t);
  cod_tensor_fini(&t32);
}

static int load_expect(const model *m, const char *dir, int status, const char *n1,
                       const char *n2) {
  model_weights *w = (model_weights *)0x1;
  cod_err e = {0};
  int rc = model_weights_load_dir(m, dir, &w, &e);
  cr_assert_eq(rc, status, "rc %d: %s", rc, e.msg);
  cr_assert_eq(w, (model_weights *)0x1, "out-parameter touched on failure");
  cr_assert(strstr(e.msg, n1), "'%s' lacks '%s'", e.msg, n1);
  if (n2) cr_assert(strstr(e.msg, n2), "'%s' lacks '%s'", e.msg, n2);
  return rc;
}

Test(unit, weights_dir_roundtrip_and_errors) {
  model *m = parse_ok(model_b);
  model_weights *w = NULL, *w2 = NULL;
  cod_err e = {0};
  cr_assert_eq(model_weights_he(m, 4, &w, &e), COD_OK);
  randomize_weights(m, w, 13);
  char *dir = make_tmpdir();
  cr_assert_eq(model_weights_save_dir(w, dir, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(model_weights_load_dir(m, dir, &w2, &e), COD_OK, "%s", e.msg);
  for (size_t li = 0; li < model_layer_count(m); li++) {
    const model_layer *L = model_layer_get(m, li);
    for (size_t j = 0; j < L->n_weights; j++)
      cr_assert(close_rel(model_weights_get(w, li)[j], model_weights_get(w2, li)[j], 1e-15));
    for (size_t j = 0; j < L->n_bias; j++)
      cr_assert(fabs(model_weights_bias(w, li)[j] - model_weights_bias(w2, li)[j]) < 1e-15);
  }
  model_weights_free(w2);
  w2 = NULL;

  /* batchnorm folding from real statistics */
  double st[16] = {1, 2, 0.5, -1, 0.1, 0.2, 0.3, 0.4, 1, -1, 0, 2, 4, 0.25, 1, 9};
  save_npy(dir, "bn.npy", 2, (size_t[]){4, 4}, st, COD_F64);
  cr_assert_eq(model_weights_load_dir(m, dir, &w2, &e), COD_OK, "%s", e.msg);
  long bi = model_layer_find(m, "bn");
  for (int c = 0; c < 4; c++) {
    double sc = st[c] / sqrt(st[12 + c] + 1e-5), sh = st[4 + c] - st[8 + c] * sc;
    cr_assert(close_rel(model_weights_get(w2, (size_t)bi)[c], sc, 1e-15));
    cr_assert(close_rel(model_weights_bias(w2, (size_t)bi)[c], sh, 1e-15));
  }
  model_weights_free(w2);

  /* float32 files are accepted */
  const double *ka = model_weights_conv_kernel(w, 0);
  save_npy(dir, "a.npy", 4, (size_t[]){4, 2, 3, 3}, ka, COD_F32);
  cr_assert_eq(model_weights_load_dir(m, dir, &w2, &e), COD_OK, "%s", e.msg);
  for (size_t j = 0; j < 72; j++)
    cr_assert(fabs(model_weights_conv_kernel(w2, 0)[j] - ka[j]) <= 1e-7 * fabs(ka[j]) + 1e-30);
  model_weights_free(w2);

  /* errors */
  load_expect(m, "/nonexistent-dir", COD_EIO, "/nonexistent-dir", NULL);
  save_npy(dir, "a.npy", 4, (size_t[]){4, 2, 3, 2}, ka, COD_F64);
  load_expect(m, dir, COD_EFORMAT, "a.npy", "expected shape (4, 2, 3, 3), got (4, 2, 3, 2)");
  save_npy(dir, "a.npy", 2, (size_t[]){4, 18}, ka, COD_F64);
  load_expect(m, dir, COD_EFORMAT, "a.npy", "got (4, 18)");
  double bad[72];
  memcpy(bad, ka, sizeof bad);
  bad[17] = NAN;
  save_npy(dir, "a.npy", 4, (size_t[]){4, 2, 3, 3}, bad, COD_F64);
  load_expect(m, dir, COD_ENUMERIC, "a.npy", "17");
  save_npy(dir, "a.npy", 4, (size_t[]){4, 2, 3, 3}, ka, COD_F64);
  char path[4200];
  snprintf(path, sizeof path, "%s/p_bias.npy", dir);
  cr_assert_eq(unlink(path), 0);
  load_expect(m, dir, COD_EIO, "p_bias.npy", NULL);
  save_npy(dir, "p_bias.npy", 1, (size_t[]){3}, ka, COD_F64);
  load_expect(m, dir, COD_EFORMAT, "p_bias.npy", "expected shape (4), got (3)");
  save_npy(dir, "p_bias.npy", 1, (size_t[]){4}, ka, COD_F64);
  st[13] = -0.5;
  save_npy(dir, "bn.npy", 2, (size_t[]){4, 4}, st, COD_F64);
  load_expect(m, dir, COD_EFORMAT, "bn.npy", "negative");
  snprintf(path, sizeof path, "%s/bn.npy", dir);
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  fputs("not an npy file", f);
  fclose(f);
  load_expect(m, dir, COD_EFORMAT, "bn.npy", NULL);
  cr_assert_eq(unlink(path), 0);
  load_expect(m, dir, COD_EIO, "bn.npy", NULL);
  rm_tree(dir);
  free(dir);
  model_weights_free(w);
  model_free(m);
}

/* ------------------------------------------------------------------ numeric suite */

static double seconds_since(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0->tv_nsec);
}

static int direct_hook(void *ctx, size_t conv_index, const cod_conv_geom *g, const double *x,
                       const double *k, double *y, cod_err *err) {
  (*(size_t *)ctx)++;
  cod_conv2d_direct_f64(g, x, k, y);
  return COD_OK;
}

/* Full-size pass of a built-in: im2col path vs the naive conv through the hook. */
static void full_forward(const char *name) {
  model *m = lookup_ok(name);
  model_weights *w = NULL;
  model_plan *p = NULL;
  cod_err e = {0};
  cr_assert_eq(model_weights_he(m, 1, &w, &e), COD_OK);
  cr_assert_eq(model_plan_new(m, &p, &e), COD_OK);
  model_shape in = model_input_shape(m);
  size_t n = in.c * in.h * in.w, on = model_output_shape(m).c;
  double *x = malloc(n * sizeof *x), *a = malloc(on * sizeof *a), *b = malloc(on * sizeof *b);
  cr_assert(x && a && b);
  fill_seeded(x, n, 3, 0, 1);
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  cr_assert_eq(model_forward(p, w, x, a, NULL, NULL, &e), COD_OK, "%s", e.msg);
  double t_fast = seconds_since(&t0);
  size_t calls = 0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  cr_assert_eq(model_forward(p, w, x, b, direct_hook, &calls, &e), COD_OK, "%s", e.msg);
  double t_direct = seconds_since(&t0);
  cr_assert_eq(calls, model_conv_count(m));
  double mx = 0, diff = 0;
  for (size_t i = 0; i < on; i++) {
    cr_assert(isfinite(a[i]));
    mx = fmax(mx, fabs(a[i]));
    diff = fmax(diff, fabs(a[i] - b[i]));
  }
  cr_assert(mx > 0);
  cr_assert(diff <= 1e-10 * mx, "%s: max diff %g of max %g", name, diff, mx);
  cr_log_info("%s: forward %.3f s (im2col), %.3f s (direct), plan %.1f MB, max|y| %g", name,
              t_fast, t_direct, (double)model_plan_bytes(p) / 1e6, mx);
  free(x);
  free(a);
  free(b);
  model_plan_free(p);
  model_weights_free(w);
  model_free(m);
}

Test(numeric, resnet18_forward_im2col_vs_direct, .timeout = 300) { full_forward("resnet18"); }
Test(numeric, alexnet_forward_im2col_vs_direct, .timeout = 300) { full_forward("alexnet"); }
