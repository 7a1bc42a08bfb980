/* cli_conv.c: `fcdcc conv` (one coded convolution with chosen stragglers, checked against
 * the direct convolution) and `fcdcc cond` (condition numbers over worker sets).
 * Both are thin: the work is in coding/. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "cli.h"
#include "cli_parse.h"
#include "cod_clock.h"
#include "cod_alloc.h"
#include "cod_code.h"
#include "cod_conv.h"
#include "cod_registry.h"
#include "cod_tensor.h"
#include "run_config.h"


static const char conv_help[] =
    "Usage: fcdcc conv [--input X.npy --filter K.npy | --shape C,H,W,N,K] [options]\n"
    "Run one coded convolution: encode, every non-straggling worker computes, decode from\n"
    "the results that arrive, and compare with the direct (uncoded) convolution.\n"
    "Prints one JSON object.\n\n"
    "  --input X.npy        input, shape (C,H,W) or (1,C,H,W), float64 or float32\n"
    "  --filter K.npy       filters, shape (N,C,KH,KW)\n"
    "  --shape C,H,W,N,K    instead of files: seeded random data, square K x K kernel\n"
    "  --seed S             seed of --shape data and of worker noise (default 1)\n"
    "  --stride S           stride (default 1)\n"
    "  --pad P              zero padding (default 0)\n"
    "  --scheme NAME        a scheme listed below (default nsctc-rot)\n"
    "  --workers n          number of workers (required; the scheme's limit below)\n"
    "  --ka A, --kb B       input slabs and filter groups parameters (default 1)\n"
    "  --q Q                rotation denominator / circulant prime (default: from n)\n"
    "  --code-seed S        seed of a seeded scheme's coefficients (rkr; default 1)\n"
    "  --axis rows|cols     APCP axis (default rows)\n"
    "  --stragglers i,j,..  0-based workers that never answer (default none)\n"
    "  --stragglers worst   only the worst-conditioned set of delta workers answers (the\n"
    "                       search of fcdcc cond: exhaustive up to 100000 sets, else 2000\n"
    "                       sets sampled with --seed)\n"
    "  --precision P        worker arithmetic: fp64 (default), fp32, or bf16/fp16 (operands\n"
    "                       rounded to 16 bits, fp32 accumulation); decoding is always fp64\n"
    "  --snr DB             add worker noise at this SNR in dB, in [-100, 300] (default none)\n"
    "  --decode fast|generic  decoder; fast is refused for a scheme without a structured\n"
    "                       decoder (poly-real, poly-cheb). Default: fast where the scheme\n"
    "                       has one, else generic; the JSON's \"decode\" says which ran\n"
    "  --algo im2col|auto   the workers' slab convolutions: im2col + GEMM (default) or\n"
    "                       cod_conv_algo_choose's pick for the worker geometry (Winograd\n"
    "                       F(2x2,3x3) where it pays; fp64/fp32 workers only). The JSON's\n"
    "                       \"conv_algo\" says which ran; the reference stays im2col\n"
    "  --out Y.npy          write the decoded output\n"
    "  -h, --help           this help\n"
    "Schemes (coding/'s registry):\n";

/* --shape through the shared strict parser (cli_parse.h; fuzzed in tests/fuzz). */
static int parse_shape(const char *s, cod_conv_geom *g, char *msg, size_t cap) {
  size_t v[5];
  if (cli_parse_shape_msg("--shape", s, v, msg, cap)) return -1;
  g->c = v[0], g->h = v[1], g->w = v[2], g->n_filters = v[3], g->kh = g->kw = v[4];
  return 0;
}

static void fill_random(double *a, size_t len, gsl_rng *r) {
  for (size_t i = 0; i < len; i++) a[i] = gsl_ran_gaussian(r, 1.0);
}

typedef struct conv_opts {
  const char *input, *filter, *shape, *out;
  cod_code_params prm;
  size_t stride, pad, stragglers[COD_WORKERS_MAX], n_strag;
  unsigned long seed;
  cod_dtype prec;
  int half;                  /* -1, or the cod_half_format of bf16/fp16 workers */
  int worst;                 /* --stragglers worst */
  double snr_db;
  cod_decode_method method;
  int algo_auto;             /* --algo auto */
} conv_opts;

static int conv_parse(int argc, char **argv, conv_opts *o) {
  static const struct option longopts[] = {
      {"input", 1, 0, 'i'},   {"filter", 1, 0, 'f'},     {"shape", 1, 0, 'S'},
      {"seed", 1, 0, 'r'},    {"stride", 1, 0, 's'},     {"pad", 1, 0, 'p'},
      {"scheme", 1, 0, 'c'},  {"workers", 1, 0, 'n'},    {"ka", 1, 0, 'a'},
      {"kb", 1, 0, 'b'},      {"q", 1, 0, 'q'},          {"axis", 1, 0, 'x'},
      {"stragglers", 1, 0, 'g'}, {"precision", 1, 0, 'P'}, {"snr", 1, 0, 'N'},
      {"decode", 1, 0, 'd'},  {"out", 1, 0, 'o'},        {"help", 0, 0, 'h'},
      {"code-seed", 1, 0, 'C'}, {"algo", 1, 0, 'A'}, {0, 0, 0, 0}};
  const char *strag = NULL;
  size_t seed = 1, code_seed = 1;
  int ch, rc = 0;
  opterr = 0;
  while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (ch) {
    case 'i': o->input = optarg; break;
    case 'f': o->filter = optarg; break;
    case 'S': o->shape = optarg; break;
    case 'o': o->out = optarg; break;
    case 'c': o->prm.scheme = optarg; break;
    case 'g': strag = optarg; break;
    case 'r': rc = cli_parse_size("conv", "--seed", optarg, 0, (size_t)-1, &seed); break;
    case 's': rc = cli_parse_size("conv", "--stride", optarg, 1, 1000, &o->stride); break;
    case 'p': rc = cli_parse_size("conv", "--pad", optarg, 0, 1000, &o->pad); break;
    case 'n': rc = cli_parse_size("conv", "--workers", optarg, 1, CLI_COUNT_MAX, &o->prm.n_workers); break;
    case 'a': rc = cli_parse_size("conv", "--ka", optarg, 1, CLI_COUNT_MAX, &o->prm.ka); break;
    case 'b': rc = cli_parse_size("conv", "--kb", optarg, 1, CLI_COUNT_MAX, &o->prm.kb); break;
    case 'q': rc = cli_parse_size("conv", "--q", optarg, 0, 100000, &o->prm.q); break;
    case 'C': rc = cli_parse_size("conv", "--code-seed", optarg, 0, (size_t)-1, &code_seed); break;
    case 'N':
      rc = cli_parse_double("conv", "--snr", optarg, &o->snr_db);
      if (!rc && !(o->snr_db >= RUN_SNR_DB_MIN && o->snr_db <= RUN_SNR_DB_MAX))
        rc = cli_usage_error("conv", "--snr: %s is outside [%g, %g] dB", optarg, RUN_SNR_DB_MIN,
                             RUN_SNR_DB_MAX);
      break;
    case 'x':
      if (strcmp(optarg, "rows") == 0) o->prm.axis = COD_AXIS_ROWS;
      else if (strcmp(optarg, "cols") == 0) o->prm.axis = COD_AXIS_COLS;
      else rc = cli_usage_error("conv", "--axis: expected rows or cols, got '%s'", optarg);
      break;
    case 'P':
      o->half = -1;
      if (strcmp(optarg, "fp64") == 0) o->prec = COD_F64;
      else if (strcmp(optarg, "fp32") == 0) o->prec = COD_F32;
      else if (strcmp(optarg, "bf16") == 0) o->prec = COD_F32, o->half = COD_HALF_BF16;
      else if (strcmp(optarg, "fp16") == 0) o->prec = COD_F32, o->half = COD_HALF_FP16;
      else
        rc = cli_usage_error("conv", "--precision: expected fp64, fp32, bf16 or fp16, got '%s'",
                             optarg);
      break;
    case 'A':
      if (strcmp(optarg, "im2col") == 0) o->algo_auto = 0;
      else if (strcmp(optarg, "auto") == 0) o->algo_auto = 1;
      else rc = cli_usage_error("conv", "--algo: expected im2col or auto, got '%s'", optarg);
      break;
    case 'd':
      if (strcmp(optarg, "fast") == 0) o->method = COD_DECODE_FAST;
      else if (strcmp(optarg, "generic") == 0) o->method = COD_DECODE_GENERIC;
      else rc = cli_usage_error("conv", "--decode: expected fast or generic, got '%s'", optarg);
      break;
    case 'h':
      fputs(conv_help, stdout);
      cli_print_schemes(stdout, "  ");
      return -1;
    default:
      return cli_usage_error("conv", "unknown or incomplete option '%s'", argv[optind - 1]);
    }
    if (rc) return rc;
  }
  if (optind < argc) return cli_usage_error("conv", "unexpected argument '%s'", argv[optind]);
  if (o->prm.n_workers == 0) return cli_usage_error("conv", "--workers is required");
  if ((rc = cli_check_workers("conv", o->prm.scheme, o->prm.n_workers))) return rc;
  if (!o->shape && (!o->input || !o->filter))
    return cli_usage_error("conv", "give --input and --filter, or --shape");
  if (o->shape && (o->input || o->filter))
    return cli_usage_error("conv", "--shape excludes --input and --filter");
  if (strag && strcmp(strag, "worst") == 0) o->worst = 1, strag = NULL;
  if (strag &&
      (rc = cli_parse_size_list("conv", "--stragglers", strag, o->prm.n_workers, o->stragglers,
                                COD_WORKERS_MAX, &o->n_strag)))
    return rc;
  if (o->out && (rc = cli_check_out_path("conv", "--out", o->out))) return rc;
  o->seed = (unsigned long)seed;
  o->prm.seed = (unsigned long)code_seed;
  return 0;
}

/* Load or generate x and k; fills g (except stride/pad). */
static int conv_data(const conv_opts *o, cod_conv_geom *g, cod_tensor *x, cod_tensor *k,
                     gsl_rng *r) {
  cod_err e = {0};
  if (o->shape) {
    char msg[512];
    if (parse_shape(o->shape, g, msg, sizeof msg)) return cli_usage_error("conv", "%s", msg);
    if (cod_tensor_init(x, 1, g->c, g->h, g->w, COD_F64, &e) ||
        cod_tensor_init(k, g->n_filters, g->c, g->kh, g->kw, COD_F64, &e))
      return cli_fail("conv", "%s", e.msg);
    x->ndim = 3;
    fill_random(x->data, cod_tensor_numel(x), r);
    fill_random(k->data, cod_tensor_numel(k), r);
    return 0;
  }
  cod_tensor xr = {0}, kr = {0};
  if (cod_npy_load(o->input, &xr, &e) || cod_npy_load(o->filter, &kr, &e)) {
    cod_tensor_fini(&xr);
    return cli_usage_error("conv", "%s", e.msg);
  }
  int rc = 0;
  if (xr.n != 1 || xr.ndim < 3)
    rc = cli_usage_error("conv", "%s: input must have shape (C,H,W) or (1,C,H,W)", o->input);
  else if (kr.ndim != 4 || kr.c != xr.c)
    rc = cli_usage_error("conv", "%s: filters must have shape (N,%zu,KH,KW)", o->filter, xr.c);
  else if (!cod_tensor_all_finite(&xr, NULL) || !cod_tensor_all_finite(&kr, NULL))
    rc = cli_usage_error("conv", "%s: non-finite values (NaN or Inf)",
                         cod_tensor_all_finite(&xr, NULL) ? o->filter : o->input);
  if (!rc && (cod_tensor_convert(&xr, COD_F64, x, &e) || cod_tensor_convert(&kr, COD_F64, k, &e)))
    rc = cli_fail("conv", "%s", e.msg);
  if (!rc) {
    g->c = xr.c, g->h = xr.h, g->w = xr.w;
    g->n_filters = kr.n, g->kh = kr.h, g->kw = kr.w;
  }
  cod_tensor_fini(&xr);
  cod_tensor_fini(&kr);
  return rc;
}

typedef struct conv_report {
  double t_enc, t_comp, t_dec, rel, mse, maxabs;
  cod_decode_info info;
  cod_cond_search_result worst; /* --stragglers worst: the search's result (owned) */
  size_t numeric[COD_WORKERS_MAX], n_numeric; /* workers whose 16-bit operands overflowed */
} conv_report;

static const char *conv_prec_name(const conv_opts *o) {
  if (o->half >= 0) return cod_half_name((cod_half_format)o->half);
  return o->prec == COD_F32 ? "fp32" : "fp64";
}

static void print_ids(FILE *f, const size_t *ids, size_t n) {
  for (size_t i = 0; i < n; i++) fprintf(f, "%s%zu", i ? ", " : "", ids[i]);
}

/* The workers' slab algorithm under o (16-bit workers stay im2col, as in the runner). */
static cod_conv_algo conv_algo_of(const conv_opts *o, const cod_code *c) {
  if (!o->algo_auto || o->half >= 0) return COD_CONV_IM2COL;
  return cod_conv_algo_choose(cod_code_worker_geom(c), o->prec);
}

static void conv_print(const conv_opts *o, const cod_code *c, const conv_report *r) {
  FILE *f = stdout;
  fputs("{\"scheme\": ", f);
  cli_json_string(f, cod_code_scheme(c));
  fprintf(f, ", \"workers\": %zu, \"ka\": %zu, \"kb\": %zu, \"delta\": %zu, \"stragglers\": [",
          cod_code_workers(c), o->prm.ka, o->prm.kb, cod_code_threshold(c));
  print_ids(f, o->stragglers, o->n_strag);
  fputs("], \"used\": [", f);
  print_ids(f, r->info.used, r->info.n_used);
  fputs("]", f);
  if (o->worst) {
    fputs(", \"worst_set\": {\"set\": [", f);
    print_ids(f, r->worst.worst_set, cod_code_threshold(c));
    fputs("], \"cond\": ", f);
    cli_json_number(f, r->worst.worst);
    fprintf(f, ", \"sets_tried\": %zu, \"exhaustive\": %s}", r->worst.sets_tried,
            r->worst.exhaustive ? "true" : "false");
  }
  if (o->half >= 0) {
    fputs(", \"numeric_failures\": [", f);
    print_ids(f, r->numeric, r->n_numeric);
    fputs("]", f);
  }
  fprintf(f, ", \"precision\": \"%s\", \"decode\": \"%s\", \"conv_algo\": \"%s\", \"snr_db\": ",
          conv_prec_name(o),
          r->info.method == COD_DECODE_FAST ? "fast" : "generic",
          cod_conv_algo_name(conv_algo_of(o, c)));
  cli_json_number(f, o->snr_db);
  fputs(", \"cond\": ", f);
  cli_json_number(f, r->info.cond);
  fputs(", \"rel_error\": ", f);
  cli_json_number(f, r->rel);
  fputs(", \"mse\": ", f);
  cli_json_number(f, r->mse);
  fputs(", \"max_abs_error\": ", f);
  cli_json_number(f, r->maxabs);
  fprintf(f, ", \"t_encode_s\": %.6g, \"t_compute_s\": %.6g, \"t_decode_s\": %.6g}\n",
          r->t_enc, r->t_comp, r->t_dec);
}

/* Encode, compute on every live worker, decode; fills y and the report. */
static int conv_execute(const conv_opts *o, const cod_code *c, const cod_tensor *x,
                        const cod_tensor *k, double *y, gsl_rng *r, conv_report *rep) {
  size_t n = cod_code_workers(c), il = cod_code_worker_input_len(c),
         fl = cod_code_worker_filter_len(c), ol = cod_code_worker_output_len(c);
  double *cx = cod_malloc_array(n * il, sizeof *cx), *ck = cod_malloc_array(n * fl, sizeof *ck);
  double *out = cod_malloc_array(n * ol, sizeof *out);
  cod_conv_algo algo = conv_algo_of(o, c);
  void *work = cod_aligned_alloc(cod_code_worker_workspace_bytes_algo(c, o->prec, algo));
  cod_err e = {0};
  int rc = 0;
  if (!cx || !ck || !out || !work) {
    rc = cli_fail("conv", "out of memory for %zu workers' buffers", n);
    goto done;
  }
  double t0 = cod_clock_wall_s();
  if (cod_code_encode_input(c, x->data, cx, &e) || cod_code_encode_filters(c, k->data, ck, &e)) {
    rc = cli_fail("conv", "%s", e.msg);
    goto done;
  }
  rep->t_enc = cod_clock_wall_s() - t0;
  size_t avail[COD_WORKERS_MAX], na = 0;
  const double *res[COD_WORKERS_MAX];
  t0 = cod_clock_wall_s();
  for (size_t j = 0; j < n; j++) {
    int strag = 0;
    for (size_t s = 0; s < o->n_strag; s++) strag |= o->stragglers[s] == j;
    if (strag) continue;
    if (o->half >= 0) {
      if (cod_code_worker_compute_half(c, (cod_half_format)o->half, cx + j * il, ck + j * fl,
                                       out + j * ol, work, NULL) != COD_OK) {
        rep->numeric[rep->n_numeric++] = j; /* overflowed: no result from this worker */
        continue;
      }
    } else
      cod_code_worker_compute_algo(c, o->prec, algo, cx + j * il, ck + j * fl, out + j * ol, work);
    if (!isinf(o->snr_db)) cod_noise_add(out + j * ol, ol, o->snr_db, r);
    for (size_t i = 0; o->half < 0 && i < ol; i++) /* 16-bit overflow is counted above */
      if (!isfinite(out[j * ol + i])) {
        rc = cli_fail("conv", "worker %zu returned non-finite values (%s overflow: the data "
                      "are too large for this precision)", j, o->prec == COD_F32 ? "fp32" : "fp64");
        goto done;
      }
    avail[na] = j;
    res[na++] = out + j * ol;
  }
  rep->t_comp = cod_clock_wall_s() - t0;
  t0 = cod_clock_wall_s();
  if (cod_code_decode(c, avail, na, res, o->method, y, &rep->info, &e)) {
    if (rep->n_numeric)
      rc = cli_fail("conv", "%s (%zu workers overflowed %s)", e.msg, rep->n_numeric,
                    conv_prec_name(o));
    else
      rc = cli_fail("conv", "%s", e.msg);
    goto done;
  }
  rep->t_dec = cod_clock_wall_s() - t0;
done:
  cod_free(cx);
  cod_free(ck);
  cod_free(out);
  cod_free(work);
  return rc;
}

int cli_conv(int argc, char **argv) {
  conv_report rep; /* before the first goto done, which releases rep.worst */
  memset(&rep, 0, sizeof rep);
  conv_opts o;
  memset(&o, 0, sizeof o);
  o.prm = cod_code_params_default();
  o.prm.n_workers = 0;
  o.stride = 1;
  o.snr_db = INFINITY;
  o.half = -1;
  o.method = COD_DECODE_AUTO; /* an explicit --decode fast is strict */
  int rc = conv_parse(argc, argv, &o);
  if (rc) return rc < 0 ? 0 : rc;
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  if (!r) return cli_fail("conv", "out of memory");
  gsl_rng_set(r, o.seed);
  cod_conv_geom g = {0};
  cod_tensor x = {0}, k = {0}, y = {0}, yref = {0};
  cod_code *c = NULL;
  cod_err e = {0};
  if ((rc = conv_data(&o, &g, &x, &k, r))) goto done;
  g.stride = o.stride;
  g.pad = o.pad;
  if (!cod_conv_geom_valid(&g)) {
    rc = cli_usage_error("conv", "the %zux%zu kernel does not fit the %zux%zu input with pad %zu",
                         g.kh, g.kw, g.h, g.w, g.pad);
    goto done;
  }
  if (cod_code_new(&o.prm, &g, &c, &e)) {
    rc = cli_usage_error("conv", "%s", e.msg);
    goto done;
  }
  if (o.method == COD_DECODE_FAST && !cod_code_has_fast_decoder(c)) {
    rc = cli_usage_error("conv", "--decode fast: %s has no fast decoder (use --decode generic, "
                         "or leave --decode out)", cod_code_scheme(c));
    goto done;
  }
  size_t oh = cod_conv_out_h(&g), ow = cod_conv_out_w(&g);
  if (cod_tensor_init(&y, 1, g.n_filters, oh, ow, COD_F64, &e) ||
      cod_tensor_init(&yref, 1, g.n_filters, oh, ow, COD_F64, &e)) {
    rc = cli_fail("conv", "%s", e.msg);
    goto done;
  }
  y.ndim = 3;
  if (o.worst) { /* every worker outside the worst set is a straggler */
    /* deterministic: a count cap instead of a time budget, so the set depends on the seed
     * only (exhaustive up to 100000 sets, else 2000 sampled) */
    cod_cond_search_opts so = cod_cond_search_opts_default();
    so.budget_s = INFINITY, so.max_exhaustive = 100000, so.samples = 2000, so.seed = o.seed;
    if (cod_code_cond_search(c, &so, &rep.worst, &e)) {
      rc = cli_fail("conv", "%s", e.msg);
      goto done;
    }
    size_t d = cod_code_threshold(c);
    o.n_strag = 0;
    for (size_t j = 0; j < cod_code_workers(c); j++) {
      int in = 0;
      for (size_t i = 0; i < d; i++) in |= rep.worst.worst_set[i] == j;
      if (!in) o.stragglers[o.n_strag++] = j;
    }
  }
  if ((rc = conv_execute(&o, c, &x, &k, y.data, r, &rep))) goto done;
  if (!cod_tensor_all_finite(&y, NULL)) {
    rc = cli_fail("conv", "the decoded output is not finite (overflow in the decode)");
    goto done;
  }
  /* reference: the same im2col+GEMM kernel, uncoded, on the whole layer */
  void *work = cod_aligned_alloc(cod_conv_workspace_bytes(&g, COD_F64));
  if (!work) {
    rc = cli_fail("conv", "out of memory");
    goto done;
  }
  cod_conv2d_f64(&g, x.data, k.data, yref.data, work);
  cod_free(work);
  cod_error_stats es = cod_array_compare(y.data, yref.data, cod_tensor_numel(&y));
  rep.mse = es.mse, rep.rel = es.rel, rep.maxabs = es.max_abs;
  if (o.out && cod_npy_save(o.out, &y, &e)) {
    rc = cli_fail("conv", "%s", e.msg);
    goto done;
  }
  conv_print(&o, c, &rep);
done:
  cod_cond_search_result_fini(&rep.worst);
  cod_code_free(c);
  cod_tensor_fini(&x);
  cod_tensor_fini(&k);
  cod_tensor_fini(&y);
  cod_tensor_fini(&yref);
  gsl_rng_free(r);
  return rc;
}

static const char cond_help[] =
    "Usage: fcdcc cond --scheme NAME --workers n --ka A --kb B [options]\n"
    "Condition number of the recovery matrix over worker sets of size delta: all C(n,delta)\n"
    "sets while that many fit the time budget (at the cost measured on the first sets) and\n"
    "--max-exhaustive, else a seeded sample, which also stops when the budget is spent.\n"
    "Prints JSON: worst, mean, the worst set, and how the sets were chosen (\"search\":\n"
    "\"all M sets\" or \"sampled N of M sets, seed S\"). Progress goes to stderr on a terminal.\n\n"
    "  --budget-s T         thread-CPU seconds the search may take (default 3; inf = no bound,\n"
    "                       then the answer depends on the options and seed only)\n"
    "  --max-exhaustive M   exhaustive only if C(n,delta) <= M as well (default: no cap)\n"
    "  --samples S          sets to sample otherwise (default 2000)\n"
    "  --seed S             sampling seed (default 1)\n"
    "  --q Q                rotation denominator / circulant prime\n"
    "  --code-seed S        seed of a seeded scheme's coefficients (rkr; default 1)\n"
    "  -h, --help           this help\n"
    "Schemes (coding/'s registry):\n";

/* Draws "cond: done/planned" on stderr at most every 0.2 s (only when stderr is a tty). */
typedef struct cond_progress {
  double last_wall_s;
  int drawn;
} cond_progress;

static void cond_progress_draw(void *ctx, size_t done, double planned, int exhaustive) {
  cond_progress *p = ctx;
  double now = cod_clock_wall_s();
  if (now - p->last_wall_s < 0.2 && (double)done < planned) return;
  p->last_wall_s = now;
  p->drawn = 1;
  fprintf(stderr, "\rcond: %s %zu of %.0f sets (%.0f%%)   ", exhaustive ? "all:" : "sampled",
          done, planned, 100.0 * (double)done / planned);
  fflush(stderr);
}

int cli_cond(int argc, char **argv) {
  static const struct option longopts[] = {
      {"scheme", 1, 0, 'c'}, {"workers", 1, 0, 'n'}, {"ka", 1, 0, 'a'},
      {"kb", 1, 0, 'b'},     {"q", 1, 0, 'q'},       {"max-exhaustive", 1, 0, 'm'},
      {"samples", 1, 0, 's'}, {"seed", 1, 0, 'r'},   {"budget-s", 1, 0, 'B'},
      {"help", 0, 0, 'h'},   {"code-seed", 1, 0, 'C'}, {0, 0, 0, 0}};
  cod_code_params prm = cod_code_params_default();
  prm.n_workers = 0;
  cod_cond_search_opts so = cod_cond_search_opts_default();
  size_t seed = so.seed, code_seed = 1;
  int ch, rc = 0;
  opterr = 0;
  while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (ch) {
    case 'c': prm.scheme = optarg; break;
    case 'n': rc = cli_parse_size("cond", "--workers", optarg, 1, CLI_COUNT_MAX, &prm.n_workers); break;
    case 'a': rc = cli_parse_size("cond", "--ka", optarg, 1, CLI_COUNT_MAX, &prm.ka); break;
    case 'b': rc = cli_parse_size("cond", "--kb", optarg, 1, CLI_COUNT_MAX, &prm.kb); break;
    case 'C': rc = cli_parse_size("cond", "--code-seed", optarg, 0, (size_t)-1, &code_seed); break;
    case 'q': rc = cli_parse_size("cond", "--q", optarg, 0, 100000, &prm.q); break;
    case 'm': rc = cli_parse_double("cond", "--max-exhaustive", optarg, &so.max_exhaustive); break;
    case 's': rc = cli_parse_size("cond", "--samples", optarg, 1, 10000000, &so.samples); break;
    case 'r': rc = cli_parse_size("cond", "--seed", optarg, 0, (size_t)-1, &seed); break;
    case 'B': rc = cli_parse_double("cond", "--budget-s", optarg, &so.budget_s); break;
    case 'h':
      fputs(cond_help, stdout);
      cli_print_schemes(stdout, "  ");
      return 0;
    default: return cli_usage_error("cond", "unknown or incomplete option '%s'", argv[optind - 1]);
    }
    if (rc) return rc;
  }
  if (optind < argc) return cli_usage_error("cond", "unexpected argument '%s'", argv[optind]);
  if (prm.n_workers == 0) return cli_usage_error("cond", "--workers is required");
  if ((rc = cli_check_workers("cond", prm.scheme, prm.n_workers))) return rc;
  prm.seed = (unsigned long)code_seed;
  if (!(so.max_exhaustive >= 0))
    return cli_usage_error("cond", "--max-exhaustive: expected a count >= 0, got %g",
                           so.max_exhaustive);
  if (!(so.budget_s > 0))
    return cli_usage_error("cond", "--budget-s: expected seconds > 0 (or inf), got %g",
                           so.budget_s);
  so.seed = (unsigned long)seed;
  cond_progress prog = {0, 0};
  if (isatty(fileno(stderr))) so.progress = cond_progress_draw, so.progress_ctx = &prog;
  /* The recovery matrix does not depend on the layer: any valid geometry will do. */
  cod_conv_geom g = {.c = 1, .h = 4, .w = 4, .n_filters = 1, .kh = 1, .kw = 1, .stride = 1};
  cod_code *c = NULL;
  cod_err e = {0};
  if (cod_code_new(&prm, &g, &c, &e)) return cli_usage_error("cond", "%s", e.msg);
  cod_cond_search_result st;
  rc = cod_code_cond_search(c, &so, &st, &e);
  if (prog.drawn) fputs("\n", stderr);
  if (rc) {
    cod_code_free(c);
    return cli_fail("cond", "%s", e.msg);
  }
  printf("{\"scheme\": \"%s\", \"workers\": %zu, \"ka\": %zu, \"kb\": %zu, \"delta\": %zu, "
         "\"worst\": ", cod_code_scheme(c), prm.n_workers, prm.ka, prm.kb, cod_code_threshold(c));
  cli_json_number(stdout, st.worst);
  fputs(", \"mean\": ", stdout);
  cli_json_number(stdout, st.mean);
  fputs(", \"worst_set\": [", stdout);
  for (size_t i = 0; i < st.n_worst_set; i++) printf("%s%zu", i ? ", " : "", st.worst_set[i]);
  printf("], \"sets\": %zu, \"sets_total\": %.0f, \"exhaustive\": %s, ", st.sets_tried,
         st.sets_total, st.exhaustive ? "true" : "false");
  if (st.exhaustive) printf("\"search\": \"all %.0f sets\"", st.sets_total);
  else
    printf("\"seed\": %lu, \"search\": \"sampled %zu of %.0f sets, seed %lu%s\"", st.seed,
           st.sets_tried, st.sets_total, st.seed,
           st.sets_tried < so.samples ? " (stopped by the time budget)"
           : st.budget_hit ? " (all of them would exceed the time budget)" : "");
  fputs("}\n", stdout);
  cod_cond_search_result_fini(&st);
  cod_code_free(c);
  return 0;
}
