/* cli_bench_mem.c: `fcdcc bench memory`, peak memory of coded runs against the uncoded
 * forward pass.
 *
 * Each measurement runs in a forked child, so peak resident sets do not mix: the parent
 * reads the child's ru_maxrss from wait4(). One child per model makes one uncoded forward
 * pass (He weights, a seeded input: what a user of the model alone pays); one child per
 * (model, n) executes one simulated run with real computation (nsctc-rot, k_A = k_B = 4,
 * the default cluster otherwise), which builds the runner's assets (weights, uncoded
 * reference) and encodes, computes and decodes every conv layer. The ratio of the two is
 * printed side by side; the target is VGG-16 at n = 255 <= 3x.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "cod_alloc.h"
#include "cod_blas.h"
#include "model.h"
#include "model_forward.h"
#include "model_weights.h"
#include "run_config.h"
#include "run_exec.h"

/* The uncoded forward pass of `name`, in the child. 0 on success. */
static int child_uncoded(const char *name) {
  model *m = NULL;
  model_weights *w = NULL;
  model_plan *p = NULL;
  cod_err e = {0};
  int rc = model_lookup(name, &m, &e);
  if (!rc) rc = model_weights_he(m, 1, &w, &e);
  if (!rc) rc = model_plan_new(m, &p, &e);
  double *in = NULL, *out = NULL;
  if (!rc) {
    model_shape is = model_input_shape(m), os = model_output_shape(m);
    in = cod_malloc_array(is.c * is.h * is.w, sizeof *in);
    out = cod_malloc_array(os.c * os.h * os.w, sizeof *out);
    if (!in || !out) rc = cod_err_set(&e, COD_ENOMEM, "out of memory");
    if (!rc) cli_bench_fill(in, is.c * is.h * is.w, COD_F64, 9);
    if (!rc) rc = model_forward(p, w, in, out, NULL, NULL, &e);
  }
  if (rc) fprintf(stderr, "fcdcc bench memory: %s: %s\n", name, e.msg);
  cod_free(in), cod_free(out);
  model_plan_free(p), model_weights_free(w), model_free(m);
  return rc;
}

/* One coded run of `name` at n workers, in the child. 0 on success. */
static int child_coded(const char *name, size_t n) {
  run_config cfg;
  run_config_defaults(&cfg);
  cod_err e = {0};
  char workers[32];
  snprintf(workers, sizeof workers, "%zu", n);
  const char *set[][2] = {{"model.name", name}, {"cluster.workers", workers},
                          {"coding.scheme", "nsctc-rot"}, {"coding.ka", "4"},
                          {"coding.kb", "4"}, {"run.compute", "real"}};
  int rc = 0;
  for (size_t i = 0; !rc && i < sizeof set / sizeof set[0]; i++)
    rc = run_config_set(&cfg, set[i][0], set[i][1], &e);
  if (!rc) rc = run_config_validate(&cfg, &e);
  run_assets *cache = NULL;
  run_ident id = {"bench", "bench", "{}", 0, 0};
  run_result r;
  if (!rc && !(rc = run_execute(&cfg, &id, &cache, &r, &e))) run_result_fini(&r);
  run_assets_free(cache);
  if (rc) fprintf(stderr, "fcdcc bench memory: %s, n = %zu: %s\n", name, n, e.msg);
  return rc;
}

/* Fork, run one child, return its peak resident set in bytes (0 on failure). */
static double peak_rss_bytes(const char *name, size_t n) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return 0;
  if (pid == 0) _exit((n ? child_coded(name, n) : child_uncoded(name)) ? 1 : 0);
  int st = 0;
  struct rusage ru;
  if (wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return 0;
  return (double)ru.ru_maxrss * 1024.0; /* Linux: kilobytes */
}

static const char mem_help[] =
    "Usage: fcdcc bench memory [--models M,M...] [--workers N,N...]\n"
    "Peak resident memory (ru_maxrss of a forked child) of one simulated run with real\n"
    "computation (nsctc-rot, k_A = k_B = 4) against one uncoded forward pass of the same\n"
    "model, side by side. Target: VGG-16 at n = 255 <= 3x.\n\n"
    "  --models LIST   built-in models (default vgg16,resnet18)\n"
    "  --workers LIST  worker counts (default 20,64,255,1024)\n"
    "  -h, --help      this help\n";

int cli_bench_memory(int argc, char **argv) {
  static const struct option longopts[] = {
      {"models", 1, 0, 'm'}, {"workers", 1, 0, 'n'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
  char models[256] = "vgg16,resnet18", workers[256] = "20,64,255,1024";
  int ch;
  opterr = 0;
  optind = 1;
  while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    if (ch == 'm' || ch == 'n') {
      char *dst = ch == 'm' ? models : workers;
      if (strlen(optarg) >= sizeof models)
        return cli_usage_error("bench memory", "--%s: list too long", ch == 'm' ? "models" : "workers");
      strcpy(dst, optarg);
    } else if (ch == 'h') {
      fputs(mem_help, stdout);
      return 0;
    } else {
      return cli_usage_error("bench memory", "unknown or incomplete option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc) return cli_usage_error("bench memory", "unexpected argument '%s'", argv[optind]);
  size_t ns[16], nn = 0;
  for (char *save = NULL, *t = strtok_r(workers, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    if (nn == sizeof ns / sizeof ns[0])
      return cli_usage_error("bench memory", "--workers: at most 16 values");
    int rc = cli_parse_size("bench memory", "--workers", t, 1, 4096, &ns[nn++]);
    if (rc) return rc;
  }
  cod_blas_set_threads(1);
  printf("peak RSS (forked child, ru_maxrss): one coded run (nsctc-rot 4x4, real computation)\n"
         "against one uncoded forward pass of the same model\n");
  printf("%-10s %6s %12s %12s %8s\n", "model", "n", "coded MB", "uncoded MB", "ratio");
  int fails = 0;
  for (char *save = NULL, *t = strtok_r(models, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    double base = peak_rss_bytes(t, 0);
    if (!base) return cli_fail("bench memory", "%s: the uncoded forward pass failed", t);
    for (size_t i = 0; i < nn; i++) {
      double peak = peak_rss_bytes(t, ns[i]);
      if (!peak) {
        printf("%-10s %6zu %12s %12.1f %8s\n", t, ns[i], "failed", base / 1e6, "-");
        fails++;
        continue;
      }
      int target = strcmp(t, "vgg16") == 0 && ns[i] == 255;
      printf("%-10s %6zu %12.1f %12.1f %8.2f%s\n", t, ns[i], peak / 1e6, base / 1e6,
             peak / base, target ? (peak / base <= 3.0 ? "  (target <= 3: ok)" : "  (target <= 3: MISSED)") : "");
    }
  }
  return fails ? cli_fail("bench memory", "%d coded run(s) failed (message above)", fails) : 0;
}
