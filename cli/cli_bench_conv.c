/* cli_bench_conv.c: the convolution algorithms' benchmarks.
 *
 * `fcdcc bench conv --shape C,H,W,N,K ...` times one convolution (warm, single thread,
 * best of R, thread CPU time) with the algorithm the automatic rule picks, or a forced
 * one, and prints the time, GFLOP/s (of the direct algorithm's 2*MACs, so algorithms and
 * frameworks compare on one scale) and the algorithm, as text or JSON: an outside
 * framework can be timed on the same shape and compared.
 *
 * cli_bench_wino_target() is the Winograd line of `fcdcc bench`: on AlexNet conv3-5 and
 * every 3x3 layer of VGG-16, fp32 and fp64, the im2col time over the Winograd time of the
 * same build (F(2x2) and F(4x4), per call and with pre-transformed filters), interleaved
 * repetition by repetition (target >= 1.5, gated on the per-call time of the auto pick).
 */
#include <getopt.h>
#include <math.h>
#include <string.h>

#include "cli.h"
#include "cod_alloc.h"
#include "cod_clock.h"
#include "cod_blas.h"
#include "cod_wino.h"
#include "model.h"


typedef struct conv_bufs {
  void *x, *k, *y, *work[COD_CONV_ALGO_COUNT];
} conv_bufs;

static void conv_bufs_free(conv_bufs *b) {
  cod_free(b->x), cod_free(b->k), cod_free(b->y);
  for (int a = 0; a < COD_CONV_ALGO_COUNT; a++) cod_free(b->work[a]);
}

/* Buffers for g in dt with a workspace for every algorithm in `algos` (n of them). */
static int conv_bufs_init(conv_bufs *b, const cod_conv_geom *g, cod_dtype dt,
                          const cod_conv_algo *algos, int n) {
  size_t el = cod_dtype_size(dt);
  memset(b, 0, sizeof *b);
  b->x = cod_aligned_alloc(cod_conv_input_len(g) * el);
  b->k = cod_aligned_alloc(cod_conv_filter_len(g) * el);
  b->y = cod_aligned_alloc(cod_conv_output_len(g) * el);
  int ok = b->x && b->k && b->y;
  for (int i = 0; i < n && ok; i++) {
    size_t wb = cod_conv_algo_workspace_bytes(g, algos[i], dt);
    b->work[algos[i]] = cod_aligned_alloc(wb ? wb : 1);
    ok = b->work[algos[i]] != NULL;
  }
  if (!ok) {
    conv_bufs_free(b);
    return COD_ENOMEM;
  }
  cli_bench_fill(b->x, cod_conv_input_len(g), dt, 1);
  cli_bench_fill(b->k, cod_conv_filter_len(g), dt, 2);
  return COD_OK;
}

static double time_once(const cod_conv_geom *g, cod_conv_algo a, cod_dtype dt, conv_bufs *b) {
  double t0 = cod_clock_thread_cpu_s();
  if (dt == COD_F64) cod_conv2d_algo_f64(g, a, b->x, b->k, b->y, b->work[a]);
  else cod_conv2d_algo_f32(g, a, b->x, b->k, b->y, b->work[a]);
  return cod_clock_thread_cpu_s() - t0;
}

/* Best-of-reps seconds of each of the n algorithms, interleaved, after one warm-up call. */
static int time_algos(const cod_conv_geom *g, cod_dtype dt, const cod_conv_algo *algos, int n,
                      int reps, double *best) {
  conv_bufs b;
  if (conv_bufs_init(&b, g, dt, algos, n)) return COD_ENOMEM;
  for (int i = 0; i < n; i++) {
    (void)time_once(g, algos[i], dt, &b);
    best[i] = INFINITY;
  }
  for (int r = 0; r < reps; r++)
    for (int i = 0; i < n; i++) {
      double t = time_once(g, algos[i], dt, &b);
      if (t < best[i]) best[i] = t;
    }
  conv_bufs_free(&b);
  return COD_OK;
}

/* Best-of-reps seconds of Winograd algorithm a with the filters transformed once
 * beforehand (what a caller that keeps cod_conv_algo_filters_*'s U pays per input). */
static int time_wino_pre(const cod_conv_geom *g, cod_dtype dt, cod_conv_algo a, int reps,
                         double *best) {
  size_t el = cod_dtype_size(dt), xl = cod_conv_input_len(g), kl = cod_conv_filter_len(g);
  void *x = cod_aligned_alloc(xl * el), *k = cod_aligned_alloc(kl * el);
  void *U = cod_aligned_alloc(cod_conv_algo_filters_len(g, a) * el);
  void *y = cod_aligned_alloc(cod_conv_output_len(g) * el);
  void *w = cod_aligned_alloc(cod_conv_algo_pre_workspace_bytes(g, a, dt));
  int rc = x && k && U && y && w ? COD_OK : COD_ENOMEM;
  if (!rc) {
    cli_bench_fill(x, xl, dt, 1);
    cli_bench_fill(k, kl, dt, 2);
    if (dt == COD_F64) cod_conv_algo_filters_f64(g, a, k, U);
    else cod_conv_algo_filters_f32(g, a, k, U);
    *best = INFINITY;
    for (int r = 0; r <= reps; r++) { /* r = 0 warms up */
      double t0 = cod_clock_thread_cpu_s();
      if (dt == COD_F64) cod_conv2d_algo_pre_f64(g, a, x, U, y, w);
      else cod_conv2d_algo_pre_f32(g, a, x, U, y, w);
      double t = cod_clock_thread_cpu_s() - t0;
      if (r && t < *best) *best = t;
    }
  }
  cod_free(x), cod_free(k), cod_free(U), cod_free(y), cod_free(w);
  return rc;
}

/* One line per (3x3 stride-1 layer, dtype): GFLOP/s of im2col, F(2x2) and F(4x4) per call
 * and with pre-transformed filters; `ratio` is im2col's time over the per-call time of the
 * Winograd algorithm the automatic rule picks (the gated number), `pre` the same with that
 * algorithm's filters transformed beforehand, `best-pre` im2col over the faster of the two
 * pre-transformed times. */
static int wino_model(const char *name, const size_t *only, size_t n_only, int reps,
                      double *worst, double *worst_pre) {
  model *m = NULL;
  cod_err e = {0};
  if (model_lookup(name, &m, &e)) return cli_fail("bench", "%s", e.msg);
  const cod_conv_algo algos[3] = {COD_CONV_IM2COL, COD_CONV_WINO2, COD_CONV_WINO4};
  for (size_t i = 0; i < model_conv_count(m); i++) {
    int take = n_only == 0;
    for (size_t j = 0; j < n_only; j++) take |= only[j] == i;
    cod_conv_geom g = model_conv_geom(m, i);
    if (!take || !cod_conv_algo_applies(&g, COD_CONV_WINO2)) continue;
    for (int d = 0; d < 2; d++) {
      cod_dtype dt = d ? COD_F64 : COD_F32;
      double t[3], tp[3] = {0, 0, 0};
      if (time_algos(&g, dt, algos, 3, reps, t) ||
          time_wino_pre(&g, dt, COD_CONV_WINO2, reps, &tp[1]) ||
          time_wino_pre(&g, dt, COD_CONV_WINO4, reps, &tp[2])) {
        const char *ln = model_conv_layer(m, i)->name;
        model_free(m);
        return cli_fail("bench", "out of memory for %s/%s", name, ln);
      }
      cod_conv_algo pick = cod_conv_algo_choose(&g, dt);
      int pi = pick == COD_CONV_WINO4 ? 2 : pick == COD_CONV_WINO2 ? 1 : 0;
      double ratio = t[0] / t[pi], pre = pi ? t[0] / tp[pi] : ratio;
      double best_pre = t[0] / fmin(tp[1], tp[2]), gf = 2.0 * cod_conv_macs(&g) / 1e9;
      /* a layer the rule leaves to im2col (VGG-16 conv1_1: 3 input channels) is shown,
       * not gated: Winograd is not its algorithm */
      if (pi && ratio < *worst) *worst = ratio;
      if (pi && best_pre < *worst_pre) *worst_pre = best_pre;
      printf("%-7s %-8s %-4s %7.1f %7.1f %7.1f %7.1f %7.1f %6.2f %6.2f %8.2f %-12s %s\n", name,
             model_conv_layer(m, i)->name, d ? "fp64" : "fp32", gf / t[0], gf / t[1],
             gf / t[2], gf / tp[1], gf / tp[2], ratio, pre, best_pre,
             !pi ? "n/a" : ratio >= 1.5 ? ">=1.5 ok" : ">=1.5 MISSED", cod_conv_algo_name(pick));
    }
  }
  model_free(m);
  return 0;
}

int cli_bench_wino_target(int quick, int reps) {
  printf("Winograd F(2x2,3x3) and F(4x4,3x3) against im2col + GEMM of the same build, 3x3\n"
         "stride-1 layers, 1 thread, thread CPU time, best of %d, interleaved (GFLOP/s of\n"
         "2*MACs); w2/w4: filters transformed in every call, as the runner's and `fcdcc\n"
         "conv`'s workers call them; w2pre/w4pre: filters transformed once beforehand\n"
         "(cod_conv_algo_filters_*), which no caller in fcdcc does yet, so not gated\n", reps);
  printf("ratio: im2col time / per-call time of the auto pick (gated; n/a where the rule\n"
         "keeps im2col); pre: the same pick pre-transformed; best-pre: im2col / the faster\n"
         "pre-transformed Winograd\n");
  printf("%-7s %-8s %-4s %7s %7s %7s %7s %7s %6s %6s %8s %-12s %s\n", "model", "layer", "type",
         "im2col", "w2", "w4", "w2pre", "w4pre", "ratio", "pre", "best-pre", "target",
         "auto picks");
  double worst = INFINITY, worst_pre = INFINITY;
  const size_t alex[] = {2, 3, 4}, vgg_quick[] = {1, 4, 8, 12};
  int rc = wino_model("alexnet", alex, 3, reps, &worst, &worst_pre);
  if (!rc)
    rc = wino_model("vgg16", quick ? vgg_quick : NULL, quick ? 4 : 0, reps, &worst, &worst_pre);
  if (!rc)
    printf("worst winograd/im2col speed-up: %.2f per call (target >= 1.5: %s), %.2f with "
           "pre-transformed filters\n\n", worst, worst >= 1.5 ? "met" : "MISSED", worst_pre);
  return rc;
}

static const char bench_conv_help[] =
    "Usage: fcdcc bench conv --shape C,H,W,N,K [--stride S] [--pad P]\n"
    "                        [--precision fp32|fp64]\n"
    "                        [--algo auto|im2col|winograd-2x2|winograd-4x4|im2col-l2]\n"
    "                        [--repeat R] [--json]\n"
    "Time one convolution of a C x H x W input with N filters of K x K, warm, on one\n"
    "thread (thread CPU time, best of R after one warm-up call), and print the time,\n"
    "GFLOP/s (2 * N*H'*W'*C*K*K flops, whatever the algorithm) and the algorithm used.\n"
    "`auto` (default) is the rule fcdcc applies to every layer; a forced algorithm that\n"
    "does not apply to the shape is refused.\n\n"
    "  --shape C,H,W,N,K   input channels, rows, columns, filters, kernel size\n"
    "  --stride S          default 1          --pad P    default 0\n"
    "  --precision         fp64 (default) or fp32\n"
    "  --repeat R          timed repetitions (default 10)\n"
    "  --json              one JSON object instead of text\n"
    "  -h, --help          this help\n";

/* "C,H,W,N,K": exactly five sizes in [1, 2^20]; an extra or missing element is refused. */
static int parse_shape(const char *s, size_t *shape) {
  char buf[128];
  if (strlen(s) >= sizeof buf)
    return cli_usage_error("bench conv", "--shape: '%.20s...' is too long", s);
  strcpy(buf, s);
  size_t n = 0;
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (n == 5) return cli_usage_error("bench conv", "--shape needs exactly C,H,W,N,K (5 "
                                       "numbers): '%s' has more", s);
    int rc = cli_parse_size("bench conv", "--shape", tok, 1, (size_t)1 << 20, &shape[n++]);
    if (rc) return rc;
  }
  if (n != 5 || s[strlen(s) - 1] == ',' || s[0] == ',' || strstr(s, ",,"))
    return cli_usage_error("bench conv", "--shape needs exactly C,H,W,N,K (5 numbers), got '%s'",
                           s);
  return 0;
}

static int parse_algo(const char *s, int *algo) {
  if (!strcmp(s, "auto")) {
    *algo = -1;
    return 0;
  }
  for (int a = 0; a < COD_CONV_ALGO_COUNT; a++)
    if (!strcmp(s, cod_conv_algo_name((cod_conv_algo)a))) {
      *algo = a;
      return 0;
    }
  return cli_usage_error("bench conv", "--algo: unknown algorithm '%s' (known: auto, im2col, "
                         "winograd-2x2, winograd-4x4, im2col-l2)", s);
}

int cli_bench_conv(int argc, char **argv) {
  static const struct option longopts[] = {
      {"shape", 1, 0, 's'}, {"stride", 1, 0, 't'}, {"pad", 1, 0, 'p'},
      {"precision", 1, 0, 'P'}, {"algo", 1, 0, 'a'}, {"repeat", 1, 0, 'r'},
      {"json", 0, 0, 'j'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
  size_t shape[5], n_shape = 0, stride = 1, pad = 0, reps = 10;
  int json = 0, algo = -1, ch, rc;
  cod_dtype dt = COD_F64;
  opterr = 0;
  optind = 1;
  while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    rc = 0;
    if (ch == 's') {
      rc = parse_shape(optarg, shape);
      n_shape = 5;
    }
    else if (ch == 't') rc = cli_parse_size("bench conv", "--stride", optarg, 1, 64, &stride);
    else if (ch == 'p') rc = cli_parse_size("bench conv", "--pad", optarg, 0, 64, &pad);
    else if (ch == 'r') rc = cli_parse_size("bench conv", "--repeat", optarg, 1, 100000, &reps);
    else if (ch == 'a') rc = parse_algo(optarg, &algo);
    else if (ch == 'j') json = 1;
    else if (ch == 'P') {
      if (!strcmp(optarg, "fp64")) dt = COD_F64;
      else if (!strcmp(optarg, "fp32")) dt = COD_F32;
      else rc = cli_usage_error("bench conv", "--precision: '%s' is not fp32 or fp64", optarg);
    } else if (ch == 'h') {
      fputs(bench_conv_help, stdout);
      return 0;
    } else {
      return cli_usage_error("bench conv", "unknown or incomplete option '%s'",
                             argv[optind - 1]);
    }
    if (rc) return rc;
  }
  if (optind < argc) return cli_usage_error("bench conv", "unexpected argument '%s'", argv[optind]);
  if (n_shape != 5) return cli_usage_error("bench conv", "--shape C,H,W,N,K is required");
  cod_conv_geom g = {shape[0], shape[1], shape[2], shape[3], shape[4], shape[4], stride, pad};
  if (!cod_conv_geom_valid(&g))
    return cli_usage_error("bench conv", "the %zux%zu kernel does not fit the padded %zux%zu "
                           "input", g.kh, g.kw, g.h + 2 * pad, g.w + 2 * pad);
  double bytes = (double)(cod_conv_input_len(&g) + cod_conv_filter_len(&g) +
                          cod_conv_output_len(&g)) * (double)cod_dtype_size(dt);
  if (bytes > 4e9)
    return cli_usage_error("bench conv", "the shape needs %.1f GB of tensors (limit 4 GB)",
                           bytes / 1e9);
  cod_conv_algo a = algo < 0 ? cod_conv_algo_choose(&g, dt) : (cod_conv_algo)algo;
  if (!cod_conv_algo_applies(&g, a))
    return cli_usage_error("bench conv", "--algo %s does not apply to this shape (%s)",
                           cod_conv_algo_name(a),
                           "it needs a 3x3 kernel and stride 1");
  cod_blas_set_threads(1);
  double t;
  if (time_algos(&g, dt, &a, 1, (int)reps, &t)) return cli_fail("bench conv", "out of memory");
  double gflop = 2.0 * cod_conv_macs(&g) / 1e9;
  if (json)
    printf("{\"shape\":[%zu,%zu,%zu,%zu,%zu],\"stride\":%zu,\"pad\":%zu,\"precision\":\"%s\","
           "\"algorithm\":\"%s\",\"chosen\":\"%s\",\"repeat\":%zu,\"best_s\":%.9g,"
           "\"gflop\":%.6g,\"gflops\":%.6g,\"clock\":\"thread-cpu\",\"threads\":1}\n",
           g.c, g.h, g.w, g.n_filters, g.kh, stride, pad, dt == COD_F64 ? "fp64" : "fp32",
           cod_conv_algo_name(a), algo < 0 ? "auto" : "forced", reps, t, gflop, gflop / t);
  else
    printf("conv C%zu H%zu W%zu N%zu K%zu stride %zu pad %zu %s: %s (%s), best %.6f s of %zu,"
           " %.2f GFLOP/s\n", g.c, g.h, g.w, g.n_filters, g.kh, stride, pad,
           dt == COD_F64 ? "fp64" : "fp32", cod_conv_algo_name(a), algo < 0 ? "auto" : "forced",
           t, reps, gflop / t);
  return 0;
}
