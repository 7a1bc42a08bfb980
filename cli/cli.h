/* cli.h: the fcdcc program's subcommands and their shared helpers.
 *
 * Only this folder prints or exits. Exit statuses: 0 success, 1 a run-time failure (I/O,
 * undecodable, numerical), 2 a user error (bad option or value), 77 a missing optional
 * tool (gnuplot). Every subcommand answers --help on stdout with status 0.
 */
#ifndef FCDCC_CLI_H
#define FCDCC_CLI_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "cod_status.h"
#include "cod_tensor.h"
#include "run_scenario.h"
#include "run_sweep.h"

#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_SKIP 77 /* an optional tool (gnuplot) is missing */

int cli_conv(int argc, char **argv);
int cli_cond(int argc, char **argv);
int cli_bench(int argc, char **argv);
/* cli_bench_conv.c: `fcdcc bench conv` (argv[0] is "conv"), and the Winograd-vs-im2col
 * target lines of `fcdcc bench` (0, or an exit status after printing the error). */
int cli_bench_conv(int argc, char **argv);
/* Seeded benchmark data in [-0.5, 0.5): len elements of type dt (cli_bench.c). */
void cli_bench_fill(void *a, size_t len, cod_dtype dt, unsigned seed);
/* Sorts v[0..n) ascending (cli_bench.c): medians and spreads of benchmark rounds. */
void cli_sort_doubles(double *v, size_t n);
int cli_bench_wino_target(int quick, int reps);

/* cli_bench_load.c: the request-stream benchmark of `fcdcc bench` (events/s beside the bare
 * engine, peak RSS of two stream lengths in forked children). 0 or an exit code. */
int cli_bench_load(int quick);
/* cli_bench_mem.c: `fcdcc bench memory` (argv[0] is "memory"). */
int cli_bench_memory(int argc, char **argv);
/* cli_bench_sweep.c: `fcdcc bench sweep` (argv[0] is "sweep"), and the runner's targets
 * that `fcdcc bench` prints (model-only events/s, --jobs 2 / --jobs 1, n = 1024 runs/s). */
int cli_bench_sweep(int argc, char **argv);
int cli_bench_sweep_targets(int quick, int reps);
/* cli_bench_repro.c: the --quick reproduce of a subset of scenarios/paper/, --jobs 2 against
 * --jobs 1 (part of the sweep targets). 0 or an exit status (message printed). */
int cli_bench_reproduce(int quick, int reps);
int cli_run(int argc, char **argv);
int cli_report(int argc, char **argv);
int cli_models(int argc, char **argv);
int cli_optimum(int argc, char **argv);
int cli_plot(int argc, char **argv);
int cli_reproduce(int argc, char **argv);
/* The runs of reproduce alone, for `fcdcc bench sweep`: files (names in dir) with their
 * `; quick:` lines if quick, every file checked first, one chain of sweeps into db with
 * `jobs` threads, no progress lines. 0, or an exit status with the message printed;
 * *runs = the runs committed. */
int cli_reproduce_runs(const char *dir, char *const *files, size_t n, int quick, size_t jobs,
                       const char *db, size_t *runs);
int cli_calibrate(int argc, char **argv);
int cli_infer(int argc, char **argv);
int cli_export(int argc, char **argv);
int cli_upgrade(int argc, char **argv);
int cli_recommend(int argc, char **argv);

/* `fcdcc run --backend NAME` for NAME other than "sim" (cli_mpi.c): run the validated
 * scenario sc with the options o (db path, resume, progress) on that backend. Returns a
 * cod status (err set) like run_sweep; *report = 1 on the process that should print the
 * summary (MPI rank 0), 0 on the others. An unknown or unavailable backend is COD_EINVAL. */
int cli_run_backend(const char *backend, run_scenario *sc, run_sweep_opts *o,
                    run_sweep_stats *st, int *report, cod_err *err);

/* SIGINT / SIGTERM for sweeps (cli_run.c): after cli_catch_stop_signals, the first signal
 * sets *cli_stop_flag() to its number (run_sweep_opts.stop: no new run starts, the running
 * ones commit) and a second one kills. A stopped command exits 128 + the signal number
 * (130 SIGINT, 143 SIGTERM) after printing how to resume. */
void cli_catch_stop_signals(void);
const volatile sig_atomic_t *cli_stop_flag(void);

/* Print "fcdcc CMD: message" and a hint to stderr; return CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "fcdcc CMD: message" to stderr; return CLI_EXIT_FAIL. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Strict number parsers: the whole string must be a number in range. 0 on success, else
 * they print a usage error naming the option and return CLI_EXIT_USAGE. */
int cli_parse_size(const char *cmd, const char *opt, const char *s, size_t min, size_t max,
                   size_t *out);
int cli_parse_double(const char *cmd, const char *opt, const char *s, double *out);
/* Comma-separated list of sizes (each < bound), at most cap entries. */
int cli_parse_size_list(const char *cmd, const char *opt, const char *s, size_t bound,
                        size_t *out, size_t cap, size_t *n);


/* Largest number --workers, --ka, --kb and --delta parse to (syntax only, as [cluster]
 * workers): the limit of each scheme is coding/'s registry's, checked afterwards with
 * cod_scheme_check_workers so that conv, cond, optimum and run refuse with one message. */
#define CLI_COUNT_MAX 1000000

/* The schemes of coding/'s registry for a --help text: per scheme its name, summary, the
 * (k_A, k_B) it accepts with its worker limit, and its extra parameters; each line starts
 * with indent. */
void cli_print_schemes(FILE *f, const char *indent);
/* The registry's worker limit: 0 if scheme takes n workers, else a usage error of cmd
 * naming --scheme (unknown scheme, with the known ones) or --workers (printed). */
int cli_check_workers(const char *cmd, const char *scheme, size_t n);

/* mkdir -p of a directory path, and of the directory part of a file path (no shell).
 * 0 on success, else an errno value. */
int cli_make_dirs(const char *path);
int cli_make_parent(const char *file);
/* An output file the command will create or replace: its directory must exist and be
 * writable and the path must not be a directory. Checked before any work, so that a typo
 * costs nothing and writes nothing. 0 if fine, else a usage error naming option `opt`
 * (printed) and CLI_EXIT_USAGE. */
int cli_check_out_path(const char *cmd, const char *opt, const char *path);

/* JSON helpers writing to f. */
void cli_json_string(FILE *f, const char *s);
void cli_json_number(FILE *f, double v); /* NaN/Inf become null */

#endif
