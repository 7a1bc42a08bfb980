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
 * double-quoted string and a data-file label: letters, digits, space and -+.,=()%:/_[]';
 * a double quote becomes a single quote; anything else becomes '?'. Always
 * NUL-terminates. */
void res_fig_text_clean(char *dst, size_t cap, const char *src);

/* The point-split state of res_figures.c (the SQL functions res_point, res_point_tag and
 * res_ci95 registered on db's connection while it lives), for other tables of results/. */
typedef struct split_ctx split_ctx;
int res_split_begin(res_db *db, split_ctx **out, cod_err *err);
void res_split_end(res_db *db, split_ctx *ctx); /* unregisters; accepts NULL */
/* Probe sql (prefix bound to ?1 when non-NULL): its rows are cells of the columns before
 * the one named `point` (which holds res_point(run_id)); *splits = 1 if some scenario key
 * differs inside a cell, and the labels res_point returns afterwards name those keys. */
int res_split_probe_point(res_db *db, split_ctx *ctx, const char *sql, const char *prefix,
                          int *splits, cod_err *err);

/* Fill f (zero-initialised) as res_plot_figure would draw figure `name`, without
 * drawing: the series, points, intervals, labels and note. For the tests. Statuses as
 * res_plot_figure (no gnuplot needed). Free with res_fig_fini. */
int res_fig_build_named(res_db *db, const char *name, fig *f, cod_err *err);

/* The same for the general plot (res_plot_general without drawing); f->info points into
 * storage that *info_out provides (the caller's). */
int res_gplot_build(res_db *db, const res_gplot_spec *sp, fig *f, res_plot_figure_info *info,
                    cod_err *err);

#endif
