/* res_figures.h: the figure description shared by res_plot.c (drawing) and res_figures.c
 * (queries). Private to results/.
 *
 * A figure is either a set of XY series (one gnuplot data block each) or a labelled table
 * drawn as a row-stacked percentage histogram. The query side fills a `fig`; the drawing
 * side turns it into a data file and a gnuplot script, and never sees SQL.
 */
#ifndef FCDCC_RES_FIGURES_H
#define FCDCC_RES_FIGURES_H

#include <stddef.h>

#include "res_internal.h"
#include "res_plot.h"

enum fig_style {
  FIG_MEASURED, /* solid line with points */
  FIG_ANALYTIC, /* dashed line, same colour as the measured series with the same key */
  FIG_MARK,     /* large points only (an optimum) */
  FIG_POINTS    /* points only */
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
} fig;

/* Build figure f->info->name from db into f (f zero-initialised apart from info).
 * RES_PLOT_ENODATA with a message when nothing usable is found. */
int res_fig_build(res_db *db, fig *f, cod_err *err);

/* Append a series (colour from its key) and return it, or NULL when out of memory. */
fig_series *res_fig_series_add(fig *f, const char *key, const char *title, int style);
/* Append a point; COD_OK or COD_ENOMEM. */
int res_fig_point_add(fig_series *s, double x, double y);
/* Total number of points over the series. */
size_t res_fig_points(const fig *f);
/* Free everything f owns (not f itself). */
void res_fig_fini(fig *f);

/* Copy src into dst (cap bytes) keeping only characters that are safe inside a gnuplot
 * double-quoted string and a data-file label: letters, digits, space and -+.,=()%:/_ ;
 * anything else becomes '?'. Always NUL-terminates. */
void res_fig_text_clean(char *dst, size_t cap, const char *src);

#endif
