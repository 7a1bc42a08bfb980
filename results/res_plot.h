/* res_plot.h: the paper's figures (gnuplot) and the reproduction report, from a results db.
 *
 * Each figure is one or a few prepared SELECTs over the runs/layers/workers tables, turned
 * into gnuplot data blocks and a script, drawn by gnuplot as a CHILD PROCESS started with an
 * argument vector (posix_spawn; never a shell, system() or popen()). The data and the script
 * go through files in a private temporary directory (mkdtemp) that is removed afterwards.
 * Every figure is written twice: NAME.png (pngcairo) and NAME.svg (svg).
 *
 * Which runs a figure uses: the runs whose [run] name (params_json $.run.name) starts with
 * the figure's prefix (res_plot_figure_info.runs), so that several experiments can share one
 * database without mixing (the files in scenarios/paper/ set those names). sim-vs-real pairs
 * backend 'sim' runs with backend 'mpi' runs of the same model, scheme, n and layer, whatever
 * their names. Analytic columns (layers.an_*) that are NULL are simply not drawn.
 *
 * The library reads no environment variable: the caller passes the search path for gnuplot
 * (normally getenv("PATH")) and the temporary directory. It prints nothing.
 */
#ifndef FCDCC_RES_PLOT_H
#define FCDCC_RES_PLOT_H

#include <stddef.h>
#include <stdio.h>

#include "cod_status.h"
#include "res_db.h"

/* The two statuses of this module, named for what they mean here (cod_status.h values). */
enum {
  RES_PLOT_ENOGNUPLOT = COD_ENOTOOL, /* gnuplot is not on the search path: skipped */
  RES_PLOT_ENODATA = COD_ENODATA     /* the database holds no runs this figure can use */
};

/* One figure of the catalogue (static storage). */
typedef struct res_plot_figure_info {
  const char *name;  /* e.g. "mse-vs-n": the file base name and the command-line name */
  const char *title; /* one line: what it shows */
  const char *needs; /* one line: which runs it needs (scenario, run name, compute mode) */
  const char *claim; /* the published claim it checks (the paper's abstract is all we have
                        of the paper), or NULL: fcdcc's own experiment on our reading of
                        the scheme */
} res_plot_figure_info;

/* The line REPORT.md, docs/figures.md and `fcdcc plot --list` print for fi's provenance:
 * "checks the paper's claim: ..." or "fcdcc's own experiment (our reading of the scheme;
 * no published number to compare with)". Static storage. */
const char *res_plot_figure_provenance(const res_plot_figure_info *fi);

/* Options of a plot call; zero-initialise then set what you need. */
typedef struct res_plot_opts {
  const char *gnuplot;     /* program: a path containing '/', or a name looked up in
                              search_path; NULL = "gnuplot" */
  const char *search_path; /* PATH-style list of directories; NULL or "" = none (then only
                              a gnuplot given with a '/' can be found) */
  const char *tmp_dir;     /* where the private temp directory is made; NULL = "/tmp" */
} res_plot_opts;

/* Number of figures in the catalogue, and figure i (< count) of it. */
size_t res_plot_figure_count(void);
const res_plot_figure_info *res_plot_figure_at(size_t i);
/* The catalogue entry named name, or NULL. */
const res_plot_figure_info *res_plot_figure_find(const char *name);

/* Resolve the gnuplot program of opts into buf (cap bytes): COD_OK if an executable file
 * was found, RES_PLOT_ENOGNUPLOT ("gnuplot not found ...") if not, COD_EINVAL if it does
 * not fit in buf. buf untouched on failure. */
int res_plot_gnuplot_find(const res_plot_opts *opts, char *buf, size_t cap, cod_err *err);

/* Draw figure `name` from db into out_dir/NAME.png and out_dir/NAME.svg (out_dir must
 * exist; files are replaced). Returns COD_OK, or:
 *   COD_EINVAL           unknown figure, or an out_dir that cannot be quoted for gnuplot
 *   RES_PLOT_ENODATA     no usable runs; the message names the figure and what it needs
 *   RES_PLOT_ENOGNUPLOT  gnuplot not found (checked after the data, so a missing-data
 *                        figure is reported as such even without gnuplot)
 *   COD_EIO              temp files, spawning, gnuplot failing (its first stderr line is
 *                        in the message) or an empty output file; SQLite errors
 *   COD_ENOMEM
 * On failure no temporary file is left behind; output files may be partial. */
int res_plot_figure(res_db *db, const char *name, const char *out_dir,
                    const res_plot_opts *opts, cod_err *err);

/* ---- the general plot: any metric against any scenario key --------------------------- */

enum { RES_BAND_CI95, RES_BAND_P5_P95, RES_BAND_NONE };

/* What `fcdcc plot DB --x KEY --y METRIC ...` draws. Zero-initialise, then set. */
typedef struct res_gplot_spec {
  const char *x;            /* scenario key of the x axis (res_points_key_find names:
                               "cluster.workers", "workers", "slow.count", "n"); NULL with
                               cdf. Its values must be numbers. */
  const char *y;            /* metric: a numeric stored column, "column" when one table has
                               it, else "table.column" (runs, layers, workers, data_runs);
                               one sample per row of that table (res_plot_metric_*) */
  const char *const *by;    /* NULL-terminated series keys (scenario keys, or "layer");
                               NULL or empty = every key whose values differ inside an x
                               position, and "layer" for per-layer metrics of several
                               layers: nothing is pooled */
  const char *const *where; /* NULL-terminated "KEY=VALUE" filters (all must hold; numbers
                               compare as numbers; "layer" names a layer), or NULL */
  int stat;                 /* res_stat (res_stats.h): mean (0) unless set */
  int band;                 /* RES_BAND_*: ci95 (0) unless set */
  int logx, logy;           /* log10 axes */
  int cdf;                  /* the empirical CDF of the metric per series (x is unused) */
  const char *name;         /* output base name; NULL = "plot" */
} res_gplot_spec;

/* Draw sp from db into out_dir/NAME.png and .svg. Returns COD_OK, or COD_EINVAL (unknown
 * or ambiguous key or metric, a non-numeric x, a malformed --where: the message names it
 * and the candidates), RES_PLOT_ENODATA (no sample passes the filters), and the statuses
 * of res_plot_figure. */
int res_plot_general(res_db *db, const res_gplot_spec *sp, const char *out_dir,
                     const res_plot_opts *opts, cod_err *err);

/* The metrics res_plot_general accepts, for --help and docs: i < count gives the table and
 * column name and unit of metric i (every numeric column of runs, layers, workers and
 * data_runs but ids and indexes), made from the column tables. */
size_t res_plot_metric_count(void);
void res_plot_metric_at(size_t i, const char **table, const char **column, const char **unit);

/* Write the reproduction report (Markdown) of db to out: the key tables of the paper
 * scenarios (max MSE of NSCTC vs poly-real on AlexNet's convs at n = 20, worst condition
 * number per n, latency per scheme against stragglers, end-to-end latency per model,
 * analytic against simulated bytes and latency, fp32 against fp64, error against SNR).
 * Every number comes from a query on db; a table without data says so in one line.
 * `preamble` (may be NULL) is copied verbatim after the title (e.g. how it was produced).
 * Returns COD_OK, COD_EIO (SQLite or write error) or COD_ENOMEM. */
int res_plot_report_write(res_db *db, FILE *out, const char *preamble, cod_err *err);

#endif
