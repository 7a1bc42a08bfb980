/* res_figures.h: the figure table's helpers for filling a `fig` (res_draw.h) from queries.
 * Private to results/; included by res_figures.c, where every figure is one entry.
 */
#ifndef FCDCC_RES_FIGURES_H
#define FCDCC_RES_FIGURES_H

#include <stddef.h>

#include "res_draw.h"
#include "res_internal.h"

/* Append a series (colour from its key) and return it, or NULL when out of memory. */
fig_series *res_fig_series_add(fig *f, const char *key, const char *title, int style);
/* Append a point (without an interval); COD_OK or COD_ENOMEM. */
int res_fig_point_add(fig_series *s, double x, double y);
/* Append a point with its interval [lo, hi] (NaN: none); COD_OK or COD_ENOMEM. */
int res_fig_point_add_ci(fig_series *s, double x, double y, double lo, double hi);
/* Total number of points over the series (and rows of a stacked table). */
size_t res_fig_points(const fig *f);
/* Free everything f owns (not f itself). */
void res_fig_fini(fig *f);

/* Copy src into dst (cap bytes) keeping only characters that are safe inside a gnuplot
 * double-quoted string and a data-file label: letters, digits, space and -+.,=()%:/_ ;
 * anything else becomes '?'. Always NUL-terminates. */
void res_fig_text_clean(char *dst, size_t cap, const char *src);

/* Fill f (zero-initialised) as res_plot_figure would draw figure `name`, without
 * drawing: the series, points, intervals, labels and note. For the tests. Statuses as
 * res_plot_figure (no gnuplot needed). Free with res_fig_fini. */
int res_fig_build_named(res_db *db, const char *name, fig *f, cod_err *err);

/* The same for the general plot (res_plot_general without drawing); f->info points into
 * storage that *info_out provides (the caller's). */
int res_gplot_build(res_db *db, const res_gplot_spec *sp, fig *f, res_plot_figure_info *info,
                    cod_err *err);

#endif
