/* cli_bench_conv.c: the convolution algorithms' benchmarks.
 *
 * `fcdcc bench conv --shape C,H,W,N,K ...` times one convolution (warm, single thread,
 * best of R, thread CPU time) with the algorithm the automatic rule picks, or a forced
 * one, and prints the time, GFLOP/s (of the direct algorithm's 2*MACs, so algorithms and
 * frameworks compare on one scale) and the algorithm, as text or JSON: an outside
 * framework can be timed on the same shape and compared.
 *
 * cli_bench_wino_target() is the Winograd line of `fcdcc bench`: on AlexNet conv3-5 (the
 * zoo's and the original paper's channel counts) and every 3x3 layer of VGG-16, fp32 and
 * fp64, the im2col time over the Winograd time of the same build (F(2x2) and F(4x4), per
 * call and with pre-transformed filters) all five interleaved call by call; the gated
 * number (target >= 1.5) is the auto pick with its filters transformed once, as a forward
 * pass over fixed weights can, alternating with im2col by itself (warm), the median of
 * three rounds with their spread.
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
#include "model_forward.h"
#include "model_weights.h"


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

/* The five timings of a Winograd line: im2col, F(2x2) and F(4x4) transforming the filters
 * in the call, and both with the filters transformed once beforehand. */
enum { W_IM2COL, W_W2, W_W4, W_W2PRE, W_W4PRE, W_COUNT };
#define WINO_ROUNDS 3

typedef struct wino_bufs {
  conv_bufs c;           /* x, k, y and the workspaces of im2col, F(2x2) and F(4x4) */
  void *U[2], *pre[2];   /* F(2x2) and F(4x4): the filters transformed once, workspaces */
} wino_bufs;

static void wino_bufs_free(wino_bufs *b) {
  conv_bufs_free(&b->c);
  for (int i = 0; i < 2; i++) cod_free(b->U[i]), cod_free(b->pre[i]);
}

/* Every buffer of the five, the data filled and both U transformed (the once-per-model
 * step a caller that keeps U pays outside the timed calls). */
static int wino_bufs_init(wino_bufs *b, const cod_conv_geom *g, cod_dtype dt) {
  static const cod_conv_algo algos[3] = {COD_CONV_IM2COL, COD_CONV_WINO2, COD_CONV_WINO4};
  size_t el = cod_dtype_size(dt);
  memset(b, 0, sizeof *b);
  if (conv_bufs_init(&b->c, g, dt, algos, 3)) return COD_ENOMEM;
  int ok = 1;
  for (int i = 0; i < 2 && ok; i++) {
    b->U[i] = cod_aligned_alloc(cod_conv_algo_filters_len(g, algos[i + 1]) * el);
    b->pre[i] = cod_aligned_alloc(cod_conv_algo_pre_workspace_bytes(g, algos[i + 1], dt));
    ok = b->U[i] && b->pre[i];
  }
  if (!ok) {
    wino_bufs_free(b);
    return COD_ENOMEM;
  }
  for (int i = 0; i < 2; i++) {
    if (dt == COD_F64) cod_conv_algo_filters_f64(g, algos[i + 1], b->c.k, b->U[i]);
    else cod_conv_algo_filters_f32(g, algos[i + 1], b->c.k, b->U[i]);
  }
  return COD_OK;
}

static double wino_time_one(const cod_conv_geom *g, cod_dtype dt, int w, wino_bufs *b) {
  static const cod_conv_algo algos[W_COUNT] = {COD_CONV_IM2COL, COD_CONV_WINO2, COD_CONV_WINO4,
                                               COD_CONV_WINO2, COD_CONV_WINO4};
  double t0 = cod_clock_thread_cpu_s();
  const conv_bufs *c = &b->c;
  if (w < W_W2PRE) {
    void *work = c->work[algos[w]];
    if (dt == COD_F64) cod_conv2d_algo_f64(g, algos[w], c->x, c->k, c->y, work);
    else cod_conv2d_algo_f32(g, algos[w], c->x, c->k, c->y, work);
  } else {
    int i = w - W_W2PRE;
    if (dt == COD_F64) cod_conv2d_algo_pre_f64(g, algos[w], c->x, b->U[i], c->y, b->pre[i]);
    else cod_conv2d_algo_pre_f32(g, algos[w], c->x, b->U[i], c->y, b->pre[i]);
  }
  return cod_clock_thread_cpu_s() - t0;
}

/* Best-of-reps seconds of the n timings ws[], interleaved call by call: best[i]. */
static void wino_interleave(const cod_conv_geom *g, cod_dtype dt, wino_bufs *b, const int *ws,
                            int n, int reps, double *best) {
  for (int i = 0; i < n; i++) best[i] = INFINITY;
  for (int r = 0; r < reps; r++)
    for (int i = 0; i < n; i++) best[i] = fmin(best[i], wino_time_one(g, dt, ws[i], b));
}

/* all5: the five interleaved call by call, once (each call finds the caches as the other
 * four left them: U of F(4x4) alone is 36 planes of filters); pair[r]: im2col and the
 * gated timing alternating by themselves, WINO_ROUNDS rounds (warm: each finds its own
 * data in cache as far as it fits, as a forward pass repeating the layer does). One
 * warm-up call of each first; gated == W_IM2COL skips the pairs (ratio 1). */
static int wino_time_layer(const cod_conv_geom *g, cod_dtype dt, int reps, int gated,
                           double all5[W_COUNT], double pair[WINO_ROUNDS][2]) {
  static const int five[W_COUNT] = {W_IM2COL, W_W2, W_W4, W_W2PRE, W_W4PRE};
  const int two[2] = {W_IM2COL, gated};
  wino_bufs b;
  if (wino_bufs_init(&b, g, dt)) return COD_ENOMEM;
  for (int w = 0; w < W_COUNT; w++) (void)wino_time_one(g, dt, w, &b);
  wino_interleave(g, dt, &b, five, W_COUNT, reps, all5);
  for (int r = 0; r < WINO_ROUNDS; r++) {
    if (gated == W_IM2COL) pair[r][0] = pair[r][1] = 1.0;
    else wino_interleave(g, dt, &b, two, 2, reps, pair[r]);
  }
  wino_bufs_free(&b);
  return COD_OK;
}

/* The worst ratios so far: per call and pre-transformed in the five-way run, and the
 * gated one (pre-transformed alternating with im2col, median of the rounds). */
typedef struct wino_worst {
  double per_call, pre5, pre;
} wino_worst;

/* One line per dtype for layer g: GFLOP/s of the five interleaved; `call` and `pre5` are
 * im2col's time over the auto pick's per call and pre-transformed in that same five-way
 * run; `pre` (the gated number) is im2col's over the pick pre-transformed when the two
 * alternate by themselves, the median of WINO_ROUNDS rounds, its min-max beside it. A
 * layer the rule leaves to im2col (VGG-16 conv1_1, 3 input channels) is shown, not gated:
 * Winograd is not its algorithm. */
static int wino_layer(const char *model_name, const char *layer, const cod_conv_geom *g,
                      int reps, wino_worst *worst) {
  for (int d = 0; d < 2; d++) {
    cod_dtype dt = d ? COD_F64 : COD_F32;
    cod_conv_algo pick = cod_conv_algo_choose(g, dt);
    int pc = pick == COD_CONV_WINO4 ? W_W4 : pick == COD_CONV_WINO2 ? W_W2 : W_IM2COL;
    int pp = pc == W_W4 ? W_W4PRE : pc == W_W2 ? W_W2PRE : W_IM2COL;
    double t[W_COUNT], pair[WINO_ROUNDS][2], pre[WINO_ROUNDS], gf = 2.0 * cod_conv_macs(g) / 1e9;
    if (wino_time_layer(g, dt, reps, pp, t, pair))
      return cli_fail("bench", "out of memory for %s/%s", model_name, layer);
    for (int r = 0; r < WINO_ROUNDS; r++) pre[r] = pair[r][0] / pair[r][1];
    cli_sort_doubles(pre, WINO_ROUNDS);
    double call = t[W_IM2COL] / t[pc], pre5 = t[W_IM2COL] / t[pp], mp = pre[WINO_ROUNDS / 2];
    if (pc != W_IM2COL) {
      worst->per_call = fmin(worst->per_call, call);
      worst->pre5 = fmin(worst->pre5, pre5);
      worst->pre = fmin(worst->pre, mp);
    }
    printf("%-7s %-8s %-4s %7.1f %7.1f %7.1f %7.1f %7.1f %5.2f %5.2f %5.2f %4.2f-%-4.2f %-12s "
           "%s\n", model_name, layer, d ? "fp64" : "fp32", gf / t[W_IM2COL], gf / t[W_W2],
           gf / t[W_W4], gf / t[W_W2PRE], gf / t[W_W4PRE], call, pre5, mp, pre[0],
           pre[WINO_ROUNDS - 1], pc == W_IM2COL ? "n/a" : mp >= 1.5 ? ">=1.5 ok" : ">=1.5 MISSED",
           cod_conv_algo_name(pick));
  }
  return 0;
}

static int wino_model(const char *name, const size_t *only, size_t n_only, int reps,
                      wino_worst *worst) {
  model *m = NULL;
  cod_err e = {0};
  if (model_lookup(name, &m, &e)) return cli_fail("bench", "%s", e.msg);
  int rc = 0;
  for (size_t i = 0; i < model_conv_count(m) && !rc; i++) {
    int take = n_only == 0;
    for (size_t j = 0; j < n_only; j++) take |= only[j] == i;
    cod_conv_geom g = model_conv_geom(m, i);
    if (take && cod_conv_algo_applies(&g, COD_CONV_WINO2))
      rc = wino_layer(name, model_conv_layer(m, i)->name, &g, reps, worst);
  }
  model_free(m);
  return rc;
}

/* One uncoded AlexNet forward pass (He weights, a random image, fp64) with every conv by
 * im2col, by the automatic rule transforming the Winograd filters in every call, and by
 * the rule on filters a plan keeps transformed (model_plan_keep_filters, what the runner's
 * data runs use): the gated kernel number above, in a caller. Interleaved, best of reps. */
static int wino_forward(int reps) {
  model *m = NULL;
  model_weights *w = NULL;
  model_plan *p[3] = {NULL, NULL, NULL};
  cod_err e = {0};
  double *x = NULL, *y = NULL, t[3] = {INFINITY, INFINITY, INFINITY};
  int rc = model_lookup("alexnet", &m, &e);
  if (!rc) rc = model_weights_he(m, 1, &w, &e);
  for (int i = 0; i < 3 && !rc; i++) rc = model_plan_new_algo(m, i > 0, &p[i], &e);
  if (!rc) rc = model_plan_keep_filters(p[2], w, &e);
  if (!rc) {
    model_shape in = model_input_shape(m), out = model_output_shape(m);
    x = cod_malloc_array(in.c * in.h * in.w, sizeof *x);
    y = cod_malloc_array(out.c * out.h * out.w, sizeof *y);
    if (!x || !y) rc = cod_err_set(&e, COD_ENOMEM, "out of memory");
    else cli_bench_fill(x, in.c * in.h * in.w, COD_F64, 7);
  }
  for (int r = 0; r < reps && !rc; r++)
    for (int i = 0; i < 3 && !rc; i++) {
      double t0 = cod_clock_thread_cpu_s();
      rc = model_forward(p[i], w, x, y, NULL, NULL, &e);
      t[i] = fmin(t[i], cod_clock_thread_cpu_s() - t0);
    }
  if (!rc)
    printf("AlexNet uncoded forward pass, one image, fp64, best of %d (thread CPU): im2col "
           "%.1f ms; conv_algo = auto transforming the Winograd filters in every call %.1f ms, "
           "on filters kept transformed (%zu convs; the runner's data runs) %.1f ms: %.2fx "
           "the per-call pass, %.2fx im2col's\n\n", reps, t[0] * 1e3, t[1] * 1e3,
           model_plan_kept_filters(p[2]), t[2] * 1e3, t[1] / t[2], t[0] / t[2]);
  cod_free(x), cod_free(y);
  for (int i = 0; i < 3; i++) model_plan_free(p[i]);
  model_weights_free(w);
  model_free(m);
  return rc ? cli_fail("bench", "%s", e.msg) : 0;
}

int cli_bench_wino_target(int quick, int reps) {
  printf("Winograd F(2x2,3x3) and F(4x4,3x3) against im2col + GEMM of the same build, 3x3\n"
         "stride-1 layers, 1 thread, thread CPU time, best of %d (GFLOP/s of 2*MACs); w2/w4:\n"
         "filters transformed in every call; w2pre/w4pre: filters transformed once\n"
         "beforehand (cod_conv_algo_filters_*). Inference weights are fixed, so transforming\n"
         "them once per model is what a forward pass needs: the target is gated on `pre`.\n",
         reps);
  printf("GFLOP/s, call and pre5: the five interleaved call by call (each call finds the\n"
         "caches as the other four left them), im2col time / the auto pick's per call and\n"
         "pre-transformed; pre: im2col / the pick pre-transformed, the two alternating call\n"
         "by call by themselves (warm), median of %d rounds, spread = min-max of the rounds\n"
         "(n/a where the rule keeps im2col). alexnet is the zoo's (torchvision) net; alex-k\n"
         "the original paper's conv3-5 (256->384, 384->384, 384->256 at 13x13)\n", WINO_ROUNDS);
  printf("%-7s %-8s %-4s %7s %7s %7s %7s %7s %5s %5s %5s %-9s %-12s %s\n", "model", "layer",
         "type", "im2col", "w2", "w4", "w2pre", "w4pre", "call", "pre5", "pre", "spread",
         "target", "auto picks");
  wino_worst worst = {INFINITY, INFINITY, INFINITY};
  const size_t alex[] = {2, 3, 4}, vgg_quick[] = {1, 4, 8, 12};
  int rc = wino_model("alexnet", alex, 3, reps, &worst);
  static const struct { const char *name; size_t c, n; } orig[] = {
      {"conv3", 256, 384}, {"conv4", 384, 384}, {"conv5", 384, 256}};
  for (size_t i = 0; i < 3 && !rc; i++) {
    cod_conv_geom g = {orig[i].c, 13, 13, orig[i].n, 3, 3, 1, 1};
    rc = wino_layer("alex-k", orig[i].name, &g, reps, &worst);
  }
  if (!rc)
    rc = wino_model("vgg16", quick ? vgg_quick : NULL, quick ? 4 : 0, reps, &worst);
  if (!rc)
    printf("worst winograd/im2col speed-up: %.2f with filters transformed once (target >= 1.5: "
           "%s); in the five-way run %.2f pre-transformed, %.2f transforming them in every "
           "call\n", worst.pre, worst.pre >= 1.5 ? "met" : "MISSED", worst.pre5,
           worst.per_call);
  if (!rc) rc = wino_forward(reps);
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
