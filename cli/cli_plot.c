/* cli_plot.c: `fcdcc plot DB FIGURE|all [--out DIR]` and `fcdcc plot --list`.
 *
 * The figures themselves (queries, gnuplot script, the child process) are in
 * results/res_plot.c; this file parses options, creates the output directory, passes
 * PATH and TMPDIR to the library (which reads no environment) and maps statuses to exit
 * codes: 0 all requested figures written, 1 a figure without data or a failure,
 * 2 usage, 77 gnuplot missing (CLI_EXIT_SKIP).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "res_db.h"
#include "res_plot.h"

static const char plot_help[] =
    "Usage: fcdcc plot DB FIGURE [--out DIR]\n"
    "       fcdcc plot DB all [--out DIR]\n"
    "       fcdcc plot --list\n"
    "Draw a figure of a results database with gnuplot, as DIR/FIGURE.png and DIR/FIGURE.svg\n"
    "(default DIR results/figures). `all` draws every figure that has data.\n\n"
    "  --out DIR   output directory (created if missing)\n"
    "  --list      the figures and the runs each one needs\n"
    "  -h, --help  this help\n"
    "Exit status: 0 written, 1 no data for a figure or a failure, 2 usage or a missing or\n"
    "foreign DB, 77 gnuplot not found. How to read each figure: docs/figures.md.\n";

static void list_figures(FILE *f) {
  for (size_t i = 0; i < res_plot_figure_count(); i++) {
    const res_plot_figure_info *fi = res_plot_figure_at(i);
    fprintf(f, "%-22s %s\n%-22s   needs: %s\n", fi->name, fi->title, "", fi->needs);
  }
}

/* Draw one figure; print what happened; return the library status. */
static int plot_one(res_db *db, const char *name, const char *out, const res_plot_opts *o) {
  cod_err e = {0};
  int rc = res_plot_figure(db, name, out, o, &e);
  if (rc == COD_OK) fprintf(stderr, "fcdcc plot: wrote %s/%s.png and %s/%s.svg\n", out, name,
                            out, name);
  else fprintf(stderr, "fcdcc plot: %s\n", e.msg);
  return rc;
}

int cli_plot(int argc, char **argv) {
  static const struct option longopts[] = {
      {"out", 1, 0, 'o'}, {"list", 0, 0, 'l'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
  const char *out = "results/figures";
  int list = 0, ch;
  opterr = 0;
  while ((ch = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
    switch (ch) {
    case 'o': out = optarg; break;
    case 'l': list = 1; break;
    case 'h': fputs(plot_help, stdout); return 0;
    default: return cli_usage_error("plot", "unknown or incomplete option '%s'", argv[optind - 1]);
    }
  }
  if (list) {
    if (optind != argc) return cli_usage_error("plot", "--list takes no other argument");
    list_figures(stdout);
    return 0;
  }
  if (optind != argc - 2) return cli_usage_error("plot", "expected DB and FIGURE (or all)");
  const char *dbpath = argv[optind], *name = argv[optind + 1];
  int all = strcmp(name, "all") == 0;
  if (!all && !res_plot_figure_find(name))
    return cli_usage_error("plot", "unknown figure '%s' (fcdcc plot --list)", name);
  res_db *db = NULL;
  cod_err e = {0};
  if (res_db_open(dbpath, RES_DB_READONLY, &db, &e))
    return e.status == COD_ENOMEM ? cli_fail("plot", "%s", e.msg)
                                  : cli_usage_error("plot", "%s", e.msg);
  int mk = cli_make_dirs(out);
  if (mk) {
    res_db_close(db);
    return cli_fail("plot", "cannot create output directory '%s': %s", out, strerror(mk));
  }
  const char *tmp = getenv("TMPDIR");
  res_plot_opts o = {NULL, getenv("PATH"), tmp && *tmp ? tmp : "/tmp"};
  int exit_code = 0;
  for (size_t i = 0; i < res_plot_figure_count(); i++) {
    const char *fname = all ? res_plot_figure_at(i)->name : name;
    int rc = plot_one(db, fname, out, &o);
    if (rc == RES_PLOT_ENOGNUPLOT) {
      exit_code = CLI_EXIT_SKIP;
      break;
    }
    if (rc) exit_code = CLI_EXIT_FAIL;
    if (!all) break;
  }
  res_db_close(db);
  return exit_code;
}
