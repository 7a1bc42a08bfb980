/* cli_plot.c: `fcdcc plot DB FIGURE|all [--out DIR]`, the general plot
 * `fcdcc plot DB --x KEY --y METRIC [...]`, `fcdcc plot --list` and `--metrics`.
 *
 * The figures themselves (queries, gnuplot script, the child process) are in results/;
 * this file parses options, creates the output directory, passes PATH and TMPDIR to the
 * library (which reads no environment) and maps statuses to exit codes:
 *   FIGURE or the general plot: 0 written, 1 no data or a failure, 2 usage, 77 no gnuplot;
 *   all: 0 if at least one figure was drawn (the others are listed as skipped, with why),
 *        1 if none could be drawn or one failed for another reason than missing runs,
 *        77 gnuplot missing.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "res_db.h"
#include "res_plot.h"
#include "res_stats.h"

static const char plot_help[] =
    "Usage: fcdcc plot DB FIGURE [--out DIR]\n"
    "       fcdcc plot DB all [--out DIR]\n"
    "       fcdcc plot DB --x KEY --y METRIC [--by KEY[,KEY]] [--where KEY=VALUE ...]\n"
    "                 [--stat mean|p50|p95|p99|max] [--band ci95|p5-p95|none]\n"
    "                 [--logx] [--logy] [--cdf] [--out FILE]\n"
    "       fcdcc plot --list | --metrics\n"
    "Draw a figure of a results database with gnuplot, as PNG and SVG.\n"
    "A named FIGURE (fcdcc plot --list) is written to DIR/FIGURE.png and .svg (default DIR\n"
    "./figures); `all` draws every figure whose runs are in DB and says why the\n"
    "others were skipped. The general plot draws any stored METRIC (fcdcc plot --metrics)\n"
    "against any scenario KEY (section.key, a unique bare key, NAME.key for [class NAME],\n"
    "n for cluster.workers), one series per value of every key that differs inside an x\n"
    "position unless --by names the series; to FILE.png and FILE.svg (default ./plot).\n\n"
    "  --out DIR|FILE   output directory (figures) or file base name (general plot)\n"
    "  --x KEY          the x axis (numbers)\n"
    "  --y METRIC       a numeric column: latency_s, t_compute_s, bytes_to_worker, mse, cond, ...\n"
    "  --by KEYS        series keys, comma-separated (and `layer` for per-layer metrics)\n"
    "  --where K=V      keep only samples whose key K has value V (repeatable; layer=NAME)\n"
    "  --stat S         mean (default, 95% t-interval), p50, p95, p99 (95% order-statistic\n"
    "                   interval), max\n"
    "  --band B         ci95 (default), p5-p95 (spread of the samples) or none\n"
    "  --logx, --logy   log10 axes\n"
    "  --cdf            the empirical distribution of METRIC per series instead\n"
    "  --list           the figures, the runs each one needs, and whether it checks a\n"
    "                   published claim or is fcdcc's own experiment\n"
    "  --metrics        the metrics of --y, with units\n"
    "  -h, --help       this help\n"
    "Exit status: 0 written (all: at least one figure), 1 no data or a failure, 2 usage or a\n"
    "missing or foreign DB, 77 gnuplot not found. How to read each figure: docs/figures.md.\n";

static void list_figures(FILE *f) {
  for (size_t i = 0; i < res_plot_figure_count(); i++) {
    const res_plot_figure_info *fi = res_plot_figure_at(i);
    fprintf(f, "%-22s %s\n%-22s   needs: %s\n%-22s   %s\n", fi->name, fi->title, "", fi->needs,
            "", res_plot_figure_provenance(fi));
  }
}

static void list_metrics(FILE *f) {
  for (size_t i = 0; i < res_plot_metric_count(); i++) {
    const char *t, *c, *u;
    res_plot_metric_at(i, &t, &c, &u);
    fprintf(f, "%-10s %-22s %s\n", t, c, u && u[0] ? u : "-");
  }
}

/* Draw one figure; print what happened; return the library status. */
static int plot_one(res_db *db, const char *name, const char *out, const res_plot_opts *o,
                    int all) {
  cod_err e = {0};
  int rc = res_plot_figure(db, name, out, o, &e);
  if (rc == COD_OK) fprintf(stderr, "fcdcc plot: wrote %s/%s.png and %s/%s.svg\n", out, name,
                            out, name);
  else if (all && rc == RES_PLOT_ENODATA) fprintf(stderr, "fcdcc plot: skipped %s\n", e.msg);
  else fprintf(stderr, "fcdcc plot: %s\n", e.msg);
  return rc;
}

static int split_list(char *text, const char **out, size_t cap, size_t *n) {
  char *save = NULL;
  *n = 0;
  for (char *tok = strtok_r(text, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (*n + 1 >= cap) return -1;
    out[(*n)++] = tok;
  }
  out[*n] = NULL;
  return *n ? 0 : -1;
}

typedef struct plot_args {
  const char *out, *x, *y;
  const char *by[18], *where[18];
  size_t nby, nwhere;
  int stat, band, logx, logy, cdf, list, metrics, general;
} plot_args;

static int parse(int argc, char **argv, plot_args *a) {
  static const struct option longopts[] = {
      {"out", 1, 0, 'o'},   {"list", 0, 0, 'l'}, {"metrics", 0, 0, 'M'}, {"help", 0, 0, 'h'},
      {"x", 1, 0, 'x'},     {"y", 1, 0, 'y'},    {"by", 1, 0, 'b'},      {"where", 1, 0, 'w'},
      {"stat", 1, 0, 's'},  {"band", 1, 0, 'B'}, {"logx", 0, 0, 'X'},    {"logy", 0, 0, 'Y'},
      {"cdf", 0, 0, 'c'},   {0, 0, 0, 0}};
  int ch;
  opterr = 0;
  while ((ch = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
    cod_err e = {0};
    res_stat st;
    switch (ch) {
    case 'o': a->out = optarg; break;
    case 'l': a->list = 1; break;
    case 'M': a->metrics = 1; break;
    case 'x': a->x = optarg, a->general = 1; break;
    case 'y': a->y = optarg, a->general = 1; break;
    case 'b':
      if (split_list(optarg, a->by, 18, &a->nby))
        return cli_usage_error("plot", "--by: expected KEY[,KEY...] (at most 16)");
      a->general = 1;
      break;
    case 'w':
      if (a->nwhere == 16) return cli_usage_error("plot", "--where: at most 16 filters");
      a->where[a->nwhere++] = optarg, a->where[a->nwhere] = NULL, a->general = 1;
      break;
    case 's':
      if (res_stat_parse(optarg, &st, &e)) return cli_usage_error("plot", "--stat: %s", e.msg);
      a->stat = (int)st, a->general = 1;
      break;
    case 'B':
      if (strcmp(optarg, "ci95") == 0) a->band = RES_BAND_CI95;
      else if (strcmp(optarg, "p5-p95") == 0) a->band = RES_BAND_P5_P95;
      else if (strcmp(optarg, "none") == 0) a->band = RES_BAND_NONE;
      else return cli_usage_error("plot", "--band: unknown '%s' (known: ci95, p5-p95, none)", optarg);
      a->general = 1;
      break;
    case 'X': a->logx = 1, a->general = 1; break;
    case 'Y': a->logy = 1, a->general = 1; break;
    case 'c': a->cdf = 1, a->general = 1; break;
    case 'h': fputs(plot_help, stdout); return -1;
    default: return cli_usage_error("plot", "unknown or incomplete option '%s'", argv[optind - 1]);
    }
  }
  return 0;
}

/* The general plot: --out FILE is split into its directory and base name (a .png or .svg
 * suffix is dropped: both are written). */
static int plot_general(res_db *db, const plot_args *a, const res_plot_opts *o) {
  if (!a->y) return cli_usage_error("plot", "the general plot needs --y METRIC (fcdcc plot --metrics)");
  if (!a->x && !a->cdf) return cli_usage_error("plot", "the general plot needs --x KEY (or --cdf)");
  char dir[4096], base[256];
  const char *out = a->out ? a->out : "plot";
  const char *slash = strrchr(out, '/');
  snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - out) : 1, slash ? out : ".");
  if (slash && slash == out) snprintf(dir, sizeof dir, "/");
  snprintf(base, sizeof base, "%s", slash ? slash + 1 : out);
  size_t bl = strlen(base);
  if (bl > 4 && (strcmp(base + bl - 4, ".png") == 0 || strcmp(base + bl - 4, ".svg") == 0))
    base[bl - 4] = 0;
  if (!base[0]) return cli_usage_error("plot", "--out: '%s' names no file", out);
  int mk = cli_make_dirs(dir);
  if (mk) return cli_fail("plot", "cannot create output directory '%s': %s", dir, strerror(mk));
  res_gplot_spec sp = {a->x, a->y, a->nby ? a->by : NULL, a->nwhere ? a->where : NULL,
                       a->stat, a->band, a->logx, a->logy, a->cdf, base};
  cod_err e = {0};
  int rc = res_plot_general(db, &sp, dir, o, &e);
  if (rc == COD_OK) {
    fprintf(stderr, "fcdcc plot: wrote %s/%s.png and %s/%s.svg\n", dir, base, dir, base);
    return 0;
  }
  if (rc == COD_EINVAL) return cli_usage_error("plot", "%s", e.msg);
  fprintf(stderr, "fcdcc plot: %s\n", e.msg);
  return rc == RES_PLOT_ENOGNUPLOT ? CLI_EXIT_SKIP : CLI_EXIT_FAIL;
}

int cli_plot(int argc, char **argv) {
  plot_args a;
  memset(&a, 0, sizeof a);
  int rc = parse(argc, argv, &a);
  if (rc) return rc < 0 ? 0 : rc;
  if (a.list || a.metrics) {
    if (optind != argc) return cli_usage_error("plot", "--list and --metrics take no other argument");
    if (a.list) list_figures(stdout);
    else list_metrics(stdout);
    return 0;
  }
  const char *name = NULL;
  if (a.general) {
    if (optind != argc - 1) return cli_usage_error("plot", "expected DB (and no FIGURE with --x/--y)");
  } else {
    if (optind != argc - 2) return cli_usage_error("plot", "expected DB and FIGURE (or all); or DB --x KEY --y METRIC");
    name = argv[optind + 1];
    if (strcmp(name, "all") != 0 && !res_plot_figure_find(name))
      return cli_usage_error("plot", "unknown figure '%s' (fcdcc plot --list)", name);
  }
  const char *dbpath = argv[optind];
  res_db *db = NULL;
  cod_err e = {0};
  if (res_db_open(dbpath, RES_DB_READONLY, &db, &e))
    return e.status == COD_ENOMEM ? cli_fail("plot", "%s", e.msg)
                                  : cli_usage_error("plot", "%s", e.msg);
  const char *tmp = getenv("TMPDIR");
  res_plot_opts o = {NULL, getenv("PATH"), tmp && *tmp ? tmp : "/tmp"};
  if (a.general) {
    rc = plot_general(db, &a, &o);
    res_db_close(db);
    return rc;
  }
  const char *out = a.out ? a.out : "figures"; /* the current directory, never the sources */
  int mk = cli_make_dirs(out);
  if (mk) {
    res_db_close(db);
    return cli_fail("plot", "cannot create output directory '%s': %s", out, strerror(mk));
  }
  int all = strcmp(name, "all") == 0, exit_code = 0;
  size_t drawn = 0, skipped = 0;
  for (size_t i = 0; i < res_plot_figure_count(); i++) {
    const char *fname = all ? res_plot_figure_at(i)->name : name;
    rc = plot_one(db, fname, out, &o, all);
    if (rc == RES_PLOT_ENOGNUPLOT) {
      exit_code = CLI_EXIT_SKIP;
      break;
    }
    if (rc == COD_OK) drawn++;
    else if (all && rc == RES_PLOT_ENODATA) skipped++;
    else exit_code = CLI_EXIT_FAIL;
    if (!all) break;
  }
  if (all && exit_code != CLI_EXIT_SKIP) {
    fprintf(stderr, "fcdcc plot: %zu figure(s) drawn, %zu skipped (their runs are not in %s)%s\n",
            drawn, skipped, dbpath,
            drawn ? "" : "; for your own sweep, draw any metric against any key: fcdcc plot DB "
                         "--x KEY --y METRIC");
    if (!drawn) exit_code = CLI_EXIT_FAIL;
  }
  res_db_close(db);
  return exit_code;
}
