/* res_draw.h: what the gnuplot drawing layer (res_plot.c) draws: a `fig` of plain numbers
 * and sanitised labels. Private to results/.
 *
 * A figure is either a set of XY series (one gnuplot data block each) or a labelled table
 * drawn as a row-stacked percentage histogram. The figure table (res_figures.c) fills a
 * `fig` from its queries; this layer turns it into a data file and a gnuplot script and
 * knows nothing of individual figures, SQL or the database.
 */
#ifndef FCDCC_RES_DRAW_H
#define FCDCC_RES_DRAW_H

#include <stddef.h>

#include "res_plot.h"

enum fig_style {
  FIG_MEASURED, /* solid line with points */
  FIG_ANALYTIC, /* dashed line, same colour as the measured series with the same key */
  FIG_MARK,     /* large points only (an optimum) */
  FIG_POINTS,   /* points only */
  FIG_STEPS     /* a step function (an empirical CDF) */
};

enum fig_kind { FIG_XY, FIG_STACKED_PCT };

#define FIG_TEXT 160
#define FIG_MAX_COLS 8

typedef struct fig_series {
  char key[FIG_TEXT];   /* what the colour follows (e.g. "alexnet nsctc-rot") */
  char title[FIG_TEXT]; /* legend text */
  int style;            /* enum fig_style */
  int color;            /* gnuplot linetype, 1-based */
  size_t n, cap;
  double *x, *y;
  double *lo, *hi; /* the 95% interval (or band) of each y; NaN = none (not drawn) */
  int band;        /* 1 if some point has an interval: drawn with error bars */
} fig_series;

typedef struct fig {
  const res_plot_figure_info *info;
  int kind; /* enum fig_kind */
  char title[FIG_TEXT], xlabel[FIG_TEXT], ylabel[FIG_TEXT];
  int logx;   /* 0 linear, else the log base of the x axis */
  int logy;   /* 0 linear, else base 10 */
  int diag;   /* draw y = x (sim-vs-real) */
  double xstep; /* > 0: major x tics every xstep (integer axes); 0 = gnuplot's choice */
  fig_series *s;
  size_t ns, cap, ncolors;
  /* FIG_STACKED_PCT: nrows labelled rows of ncols values (row-major in cells) */
  char **rows;
  size_t nrows;
  size_t ncols;
  double *cells;
  char coltitle[FIG_MAX_COLS][48];
  int plain;           /* 1: title and axis labels are plain text (no gnuplot markup) */
  void *split;         /* res_figures.c's point-split state while the figure is built */
  char note[400];      /* a line under the plot (e.g. "error bars: 95% t-interval"), or "" */
} fig;

/* Draw g into out_dir/NAME.png and out_dir/NAME.svg (NAME = g->info->name) with the
 * gnuplot of opts (res_plot_gnuplot_find), through a private temporary directory under
 * opts->tmp_dir ("/tmp" if NULL) that is removed afterwards. Returns COD_OK, or
 * RES_PLOT_ENOGNUPLOT, COD_EINVAL (out_dir too long or not quotable) or COD_EIO as
 * res_plot_figure documents. */
int res_draw_figure(const fig *g, const char *out_dir, const res_plot_opts *opts,
                    cod_err *err);

#endif
