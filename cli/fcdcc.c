/* fcdcc.c: main() of the fcdcc program: global set-up and subcommand dispatch.
 * GSL's aborting error handler is switched off here: every GSL status is checked by the
 * libraries, which must never abort. BLAS runs single-threaded unless FCDCC_BLAS_THREADS
 * says otherwise: the simulator parallelises over runs, and benchmarks are per core. */
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "cli.h"
#include "cod_blas.h"
#include "fcdcc_config.h"

typedef struct cli_cmd {
  const char *name;
  int (*fn)(int argc, char **argv);
  const char *summary;
} cli_cmd;

static const cli_cmd commands[] = {
    {"run", cli_run, "simulate a scenario (sweeps included) into an SQLite database"},
    {"report", cli_report, "summary table of a results database"},
    {"models", cli_models, "list the built-in CNNs or describe one"},
    {"conv", cli_conv, "one coded convolution with chosen stragglers, checked against direct"},
    {"cond", cli_cond, "worst and mean condition numbers of a code over worker sets"},
    {"bench", cli_bench, "speed benchmarks (ratios measured side by side)"},
    {"optimum", cli_optimum, "analytical costs, optimal (k_A, k_B) and latency-optimal delta"},
    {"plot", cli_plot, "draw a figure of a results database with gnuplot (PNG + SVG)"},
    {"reproduce", cli_reproduce, "run the paper's scenarios and write every figure + REPORT.md"},
    {"calibrate", cli_calibrate, "fit the simulator's rates to MPI runs (a scenario fragment)"},
    {"infer", cli_infer, "forward passes (uncoded or coded) with logits and activations out"},
    {"export", cli_export, "every table of a results database as CSV files (pandas, R)"},
    {"recommend", cli_recommend, "rank stored configurations (or a scenario's, analytically) "
                                 "by an objective under constraints"},
    {"upgrade", cli_upgrade, "take a results database of an older fcdcc to this schema version"},
};

static void usage(FILE *f) {
  fprintf(f, "Usage: fcdcc COMMAND [options]   (fcdcc COMMAND --help for details)\n"
             "fcdcc %s: coded distributed convolution toolkit and simulator.\n\nCommands:\n",
          FCDCC_VERSION);
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\nBuilt with BLAS: %s\n", FCDCC_BLAS);
  fprintf(f, "fcdcc --blas-core prints the OPENBLAS_CORETYPE this machine needs, if any "
             "(see README, \"Speed\").\n");
}

/* OpenBLAS on kernels below this CPU's (cod_blas.h): said once, on stderr, before any
 * command; setting OPENBLAS_CORETYPE to anything, the kernel in use included, silences it. */
static void warn_blas_core(void) {
  const char *want = cod_blas_core_advice();
  if (!want) return;
  fprintf(stderr,
          "fcdcc: warning: OpenBLAS runs its %s kernels (no AVX2) on this CPU, which has "
          "AVX2 and FMA: its GEMMs run several times slower. Export OPENBLAS_CORETYPE=%s "
          "before starting fcdcc to use this CPU's kernels (OPENBLAS_CORETYPE=%s keeps these "
          "and silences this).\n",
          cod_blas_core(), want, cod_blas_core());
}

int main(int argc, char **argv) {
  gsl_set_error_handler_off();
  const char *threads = getenv("FCDCC_BLAS_THREADS");
  cod_blas_set_threads(threads ? atoi(threads) : 1);
  if (argc < 2) {
    usage(stderr);
    return CLI_EXIT_USAGE;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("fcdcc %s\n", FCDCC_VERSION);
    return 0;
  }
  if (strcmp(argv[1], "--blas-core") == 0) {
    const char *want = cod_blas_core_advice();
    if (want) printf("%s\n", want);
    return 0;
  }
  warn_blas_core();
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(argv[1], commands[i].name) == 0) return commands[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "fcdcc: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return CLI_EXIT_USAGE;
}
