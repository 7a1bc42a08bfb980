/* res_gplot.c: the general plot, any stored metric against any scenario key (res_plot.h).
 *
 * Design. A sample is one row of the metric's table (a run, a layer, a worker's part in a
 * layer, a data run); its run gives its sweep point, and the point its scenario keys
 * (res_points.h), so x, series and filters all name scenario keys and nothing here knows
 * a key. The metric must be a numeric column of the column tables (res_schema.h), so a
 * column added there is plottable at once; the one SELECT is assembled from the table's
 * and column's names as the tables spell them (compile-time strings, never the user's
 * text), the same rule as decision 011. Samples are grouped by (series, x) in C and
 * reduced with res_stats, so the figure and `fcdcc report` agree to the digit.
 * Unless the user names the series (--by), every key whose values differ inside one x
 * position splits the series (and so does the layer, for per-layer metrics): a line never
 * averages two sweep points.
 */
#include "res_draw.h"
#include "res_figures.h"
#include "res_plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cod_alloc.h"
#include "res_points.h"
#include "res_schema.h"
#include "res_stats.h"

/* ---- metrics: every numeric column but ids and indexes --------------------------------- */

static const size_t metric_tables[4] = {RES_TABLE_RUNS, RES_TABLE_LAYERS, RES_TABLE_WORKERS,
                                        RES_TABLE_DATA_RUNS};

static int is_metric(const res_column *c) {
  static const char *const not_metrics[] = {"point_index", "trial", "seed", "layer_index",
                                            "worker", "cond_flagged", "worst_exhaustive"};
  if (c->ctype == RES_CT_TEXT || c->ctype == RES_CT_RUN_ID || c->ctype == RES_CT_U64) return 0;
  for (size_t i = 0; i < sizeof not_metrics / sizeof *not_metrics; i++)
    if (strcmp(c->name, not_metrics[i]) == 0) return 0;
  return 1;
}

size_t res_plot_metric_count(void) {
  size_t n = 0;
  for (size_t t = 0; t < 4; t++) {
    const res_table *tb = res_schema_table(metric_tables[t]);
    for (size_t c = 0; c < tb->n_cols; c++) n += is_metric(&tb->cols[c]);
  }
  return n;
}

void res_plot_metric_at(size_t i, const char **table, const char **column, const char **unit) {
  for (size_t t = 0; t < 4; t++) {
    const res_table *tb = res_schema_table(metric_tables[t]);
    for (size_t c = 0; c < tb->n_cols; c++)
      if (is_metric(&tb->cols[c]) && i-- == 0) {
        *table = tb->name, *column = tb->cols[c].name, *unit = tb->cols[c].unit;
        return;
      }
  }
  *table = *column = *unit = NULL;
}

static int metric_find(const char *name, const res_table **tb, const res_column **col,
                       cod_err *err) {
  const char *dot = strchr(name, '.');
  size_t hits = 0;
  char cand[300] = "";
  for (size_t t = 0; t < 4; t++) {
    const res_table *x = res_schema_table(metric_tables[t]);
    if (dot && (strlen(x->name) != (size_t)(dot - name) || strncmp(x->name, name, (size_t)(dot - name))))
      continue;
    for (size_t c = 0; c < x->n_cols; c++)
      if (is_metric(&x->cols[c]) && strcmp(x->cols[c].name, dot ? dot + 1 : name) == 0) {
        if (hits++) strncat(cand, ", ", sizeof cand - strlen(cand) - 1);
        size_t l = strlen(cand);
        snprintf(cand + l, sizeof cand - l, "%s.%s", x->name, x->cols[c].name);
        *tb = x, *col = &x->cols[c];
      }
  }
  if (hits == 1) return COD_OK;
  if (hits > 1)
    return cod_err_set(err, COD_EINVAL, "--y: metric '%s' is in several tables: %s", name, cand);
  return cod_err_set(err, COD_EINVAL, "--y: no metric '%s' (fcdcc plot --metrics lists them: "
                     "every numeric column of runs, layers, workers and data_runs)", name);
}

/* ---- samples ------------------------------------------------------------------------- */

typedef struct sample {
  size_t point, series, xcell;
  double x, y;
  char layer[64];
} sample;

typedef struct gp {
  const res_gplot_spec *sp;
  res_points *pts;
  const res_table *tb;
  const res_column *col;
  size_t xkey, nby, by[16], nwhere, wkey[16];
  int by_layer, where_layer[16];
  const char *wval[16];
  char wbuf[16][200];
  sample *s;
  size_t n, cap;
} gp;

static int num_of(const char *s, double *v) {
  if (!s) return 0;
  char *e;
  *v = strtod(s, &e);
  return e != s && !*e;
}

static int value_eq(const char *a, const char *b) {
  double x, y;
  if (!a || !b) return a == b || (!a && b && strcmp(b, "none") == 0);
  if (num_of(a, &x) && num_of(b, &y)) return x == y;
  return strcmp(a, b) == 0;
}

/* Put `opt: ` before the message err holds (copied first: err->msg is the output). */
static int prefixed(cod_err *err, int rc, const char *opt) {
  if (!err) return rc;
  char msg[COD_ERR_MSG_LEN];
  snprintf(msg, sizeof msg, "%s", err->msg);
  return cod_err_set(err, rc, "%s: %s", opt, msg);
}

static int resolve(gp *g, res_db *db, cod_err *err) {
  const res_gplot_spec *sp = g->sp;
  int rc = metric_find(sp->y ? sp->y : "", &g->tb, &g->col, err);
  if (rc) return rc;
  int per_layer = g->tb == res_schema_table(RES_TABLE_LAYERS) ||
                  g->tb == res_schema_table(RES_TABLE_WORKERS);
  if (!sp->cdf) {
    if (!sp->x) return cod_err_set(err, COD_EINVAL, "--x KEY is required (or --cdf)");
    if ((rc = res_points_key_find(g->pts, sp->x, &g->xkey, err)))
      return prefixed(err, rc, "--x");
  }
  for (size_t i = 0; sp->by && sp->by[i]; i++) {
    if (strcmp(sp->by[i], "layer") == 0) {
      if (!per_layer)
        return cod_err_set(err, COD_EINVAL, "--by layer: %s.%s is not a per-layer metric",
                           g->tb->name, g->col->name);
      g->by_layer = 1;
      continue;
    }
    if (g->nby == 16) return cod_err_set(err, COD_EINVAL, "--by: at most 16 keys");
    if ((rc = res_points_key_find(g->pts, sp->by[i], &g->by[g->nby++], err)))
      return prefixed(err, rc, "--by");
  }
  for (size_t i = 0; sp->where && sp->where[i]; i++) {
    const char *w = sp->where[i], *eq = strchr(w, '=');
    if (g->nwhere == 16) return cod_err_set(err, COD_EINVAL, "--where: at most 16 filters");
    if (!eq || eq == w || (size_t)(eq - w) >= sizeof g->wbuf[0])
      return cod_err_set(err, COD_EINVAL, "--where: expected KEY=VALUE, got '%s'", w);
    memcpy(g->wbuf[g->nwhere], w, (size_t)(eq - w));
    g->wbuf[g->nwhere][eq - w] = 0;
    g->wval[g->nwhere] = eq + 1;
    if (strcmp(g->wbuf[g->nwhere], "layer") == 0) {
      if (!per_layer)
        return cod_err_set(err, COD_EINVAL, "--where layer=...: %s.%s is not a per-layer "
                           "metric", g->tb->name, g->col->name);
      g->where_layer[g->nwhere++] = 1;
      continue;
    }
    if ((rc = res_points_key_find(g->pts, g->wbuf[g->nwhere], &g->wkey[g->nwhere], err)))
      return prefixed(err, rc, "--where");
    g->nwhere++;
  }
  (void)db;
  return COD_OK;
}

static int keep(const gp *g, size_t point, const char *layer) {
  for (size_t i = 0; i < g->nwhere; i++) {
    const char *v = g->where_layer[i] ? layer : res_points_value(g->pts, point, g->wkey[i]);
    if (!value_eq(v, g->wval[i])) return 0;
  }
  return 1;
}

static int read_samples(gp *g, res_db *db, cod_err *err) {
  char *sql = NULL; /* made by res_schema from the column tables' own names */
  int status = res_schema_sample_sql(g->tb, g->col, &sql, err);
  if (status) return status;
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db->conn, sql, -1, &st, NULL);
  cod_free(sql);
  if (rc != SQLITE_OK) return res_fail_sqlite(db, rc, "plot query", err);
  size_t nonnum = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    size_t pt;
    if (res_points_of_run(g->pts, sqlite3_column_int64(st, 0), &pt)) continue;
    const char *layer = (const char *)sqlite3_column_text(st, 1);
    if (!keep(g, pt, layer)) continue;
    double x = 0;
    if (!g->sp->cdf && !num_of(res_points_value(g->pts, pt, g->xkey), &x)) {
      nonnum++;
      continue;
    }
    if (g->n == g->cap) {
      size_t cap = g->cap ? 2 * g->cap : 256;
      sample *p = cod_realloc(g->s, cap * sizeof *p);
      if (!p) {
        status = cod_err_set(err, COD_ENOMEM, "plot: out of memory");
        break;
      }
      g->s = p, g->cap = cap;
    }
    sample *s = &g->s[g->n++];
    memset(s, 0, sizeof *s);
    s->point = pt, s->x = x, s->y = sqlite3_column_double(st, 2);
    snprintf(s->layer, sizeof s->layer, "%s", layer ? layer : "");
  }
  sqlite3_finalize(st);
  if (status) return status;
  if (rc != SQLITE_DONE) return res_fail_sqlite(db, rc, "plot query", err);
  if (g->n == 0 && nonnum)
    return cod_err_set(err, COD_EINVAL, "--x %s: its values are not numbers (e.g. '%s'); "
                       "use it in --by or --where instead", g->sp->x,
                       res_points_value(g->pts, 0, g->xkey) ? res_points_value(g->pts, 0, g->xkey)
                                                            : "none");
  if (g->n == 0)
    return cod_err_set(err, RES_PLOT_ENODATA, "plot: no %s.%s values%s", g->tb->name,
                       g->col->name, g->nwhere ? " pass the --where filters" : " in this database");
  return COD_OK;
}

/* ---- series ------------------------------------------------------------------------- */

typedef struct gkey {
  char label[FIG_TEXT];
} gkey;

static int cmp_sample(const void *a, const void *b) {
  const sample *x = a, *y = b;
  if (x->series != y->series) return x->series < y->series ? -1 : 1;
  return (x->x > y->x) - (x->x < y->x);
}

/* Series label of sample s: the --by values, or the splitting keys (mask) and layer. */
static int label_of(const gp *g, const sample *s, const unsigned char *mask, int layer,
                    char *buf, size_t cap, cod_err *err) {
  size_t used = 0;
  buf[0] = 0;
  if (g->nby) {
    for (size_t i = 0; i < g->nby; i++) {
      char name[96];
      const char *v = res_points_value(g->pts, s->point, g->by[i]);
      res_points_display(g->pts, g->by[i], mask, name, sizeof name);
      used += (size_t)snprintf(buf + used, used < cap ? cap - used : 0, "%s%s=%s",
                               used ? ", " : "", name, v ? v : "none");
    }
  } else {
    char *l = NULL;
    if (res_points_label(g->pts, s->point, mask, &l, err)) return COD_ENOMEM;
    used = (size_t)snprintf(buf, cap, "%s", l);
    cod_free(l);
  }
  if (layer && used < cap)
    snprintf(buf + used, cap - used, "%slayer=%s", used ? ", " : "", s->layer);
  if (!buf[0]) snprintf(buf, cap, "all runs");
  return COD_OK;
}

typedef struct xrank {
  double x;
  size_t i;
} xrank;

static int cmp_xrank(const void *a, const void *b) {
  const xrank *p = a, *q = b;
  return (p->x > q->x) - (p->x < q->x);
}

static int make_series(gp *g, unsigned char *mask, int *layer, cod_err *err) {
  size_t nk = res_points_nkeys(g->pts);
  *layer = g->by_layer;
  if (!g->nby && !g->by_layer) { /* never pool: split by what differs inside an x cell */
    size_t *cell = cod_malloc((g->n + 1) * sizeof *cell), *pt = cod_malloc((g->n + 1) * sizeof *pt);
    if (!cell || !pt) {
      cod_free(cell), cod_free(pt);
      return cod_err_set(err, COD_ENOMEM, "plot: out of memory");
    }
    /* cell = rank of the sample's x among the distinct x values (one sort, not a search
     * per sample: a workers metric has a sample per worker and layer) */
    xrank *xr = cod_malloc((g->n + 1) * sizeof *xr);
    if (!xr) {
      cod_free(cell), cod_free(pt);
      return cod_err_set(err, COD_ENOMEM, "plot: out of memory");
    }
    for (size_t i = 0; i < g->n; i++) xr[i].x = g->sp->cdf ? 0 : g->s[i].x, xr[i].i = i;
    qsort(xr, g->n, sizeof *xr, cmp_xrank);
    for (size_t j = 0, c = 0; j < g->n; j++) {
      if (j && xr[j].x != xr[j - 1].x) c++;
      cell[xr[j].i] = c;
    }
    cod_free(xr);
    for (size_t i = 0; i < g->n; i++) {
      pt[i] = g->s[i].point;
      if (strcmp(g->s[i].layer, g->s[0].layer) != 0) *layer = 1;
    }
    int rc = res_points_split(g->pts, cell, pt, g->n, mask, err);
    cod_free(cell), cod_free(pt);
    if (rc) return rc;
    if (!g->sp->cdf) mask[g->xkey] = 0; /* never differs inside a cell; for clarity */
  }
  for (size_t k = 0; k < g->nby; k++) mask[g->by[k]] = 1;
  (void)nk;
  /* series ids: by label, first appearance order, then sorted by label for the legend */
  gkey *keys = NULL;
  size_t nkeys = 0, capk = 0;
  for (size_t i = 0; i < g->n; i++) {
    char lab[FIG_TEXT];
    int rc = label_of(g, &g->s[i], mask, *layer, lab, sizeof lab, err);
    if (rc) {
      cod_free(keys);
      return rc;
    }
    size_t id = nkeys;
    for (size_t j = 0; j < nkeys && id == nkeys; j++)
      if (strcmp(keys[j].label, lab) == 0) id = j;
    if (id == nkeys) {
      if (nkeys == capk) {
        capk = capk ? 2 * capk : 16;
        gkey *p = cod_realloc(keys, capk * sizeof *p);
        if (!p) {
          cod_free(keys);
          return cod_err_set(err, COD_ENOMEM, "plot: out of memory");
        }
        keys = p;
      }
      snprintf(keys[nkeys++].label, FIG_TEXT, "%s", lab);
    }
    g->s[i].series = id;
  }
  cod_free(keys);
  qsort(g->s, g->n, sizeof *g->s, cmp_sample);
  return COD_OK;
}

/* ---- building the figure ------------------------------------------------------------- */

static int fill_fig(gp *g, fig *f, const unsigned char *mask, int layer, cod_err *err) {
  double *buf = cod_malloc((g->n + 1) * sizeof *buf), *tmp = cod_malloc((g->n + 1) * sizeof *tmp);
  if (!buf || !tmp) {
    cod_free(buf), cod_free(tmp);
    return cod_err_set(err, COD_ENOMEM, "plot: out of memory");
  }
  int status = COD_OK;
  for (size_t i = 0; !status && i < g->n;) {
    size_t e = i;
    while (e < g->n && g->s[e].series == g->s[i].series) e++;
    char lab[FIG_TEXT];
    status = label_of(g, &g->s[i], mask, layer, lab, sizeof lab, err);
    fig_series *fs = status ? NULL : res_fig_series_add(f, lab, lab, g->sp->cdf ? FIG_STEPS : FIG_MEASURED);
    if (!status && !fs) status = cod_err_set(err, COD_ENOMEM, "plot: out of memory");
    if (!status && g->sp->cdf) {
      size_t m = 0;
      for (size_t k = i; k < e; k++) buf[m++] = g->s[k].y;
      res_stats_estimate(buf, m, RES_STAT_MAX); /* sorts */
      for (size_t k = 0; !status && k < m; k++)
        if (res_fig_point_add(fs, buf[k], (double)(k + 1) / (double)m))
          status = cod_err_set(err, COD_ENOMEM, "plot: out of memory");
    }
    for (size_t a = i; !status && !g->sp->cdf && a < e;) {
      size_t b = a, m = 0;
      while (b < e && g->s[b].x == g->s[a].x) buf[m++] = g->s[b++].y;
      memcpy(tmp, buf, m * sizeof *tmp);
      res_estimate est = res_stats_estimate(buf, m, (res_stat)g->sp->stat);
      double lo = NAN, hi = NAN;
      if (g->sp->band == RES_BAND_CI95 && g->sp->stat != RES_STAT_MAX) lo = est.lo, hi = est.hi;
      else if (g->sp->band == RES_BAND_P5_P95) res_stats_p5_p95(tmp, m, &lo, &hi);
      if (isfinite(est.value) && res_fig_point_add_ci(fs, g->s[a].x, est.value, lo, hi))
        status = cod_err_set(err, COD_ENOMEM, "plot: out of memory");
      a = b;
    }
    i = e;
  }
  cod_free(buf), cod_free(tmp);
  return status;
}

/* Title, labels and the line saying what was run. */
static void label_fig(gp *g, fig *f, const unsigned char *mask) {
  const res_gplot_spec *sp = g->sp;
  const char *unit = g->col->unit[0] ? g->col->unit : "";
  int per_layer = g->tb == res_schema_table(RES_TABLE_LAYERS);
  int per_worker = g->tb == res_schema_table(RES_TABLE_WORKERS);
  const char *what = per_worker ? "per worker and layer"
                     : per_layer ? "per conv layer"
                     : g->tb == res_schema_table(RES_TABLE_DATA_RUNS) ? "per run over a data set"
                                                                      : "per run, end to end";
  char t[2 * FIG_TEXT];
  if (sp->cdf)
    snprintf(t, sizeof t, "Distribution of %s.%s (%s)", g->tb->name, g->col->name, what);
  else
    snprintf(t, sizeof t, "%s of %s.%s against %s (%s)", res_stat_name((res_stat)sp->stat),
             g->tb->name, g->col->name, sp->x, what);
  res_fig_text_clean(f->title, sizeof f->title, t);
  snprintf(t, sizeof t, "%s%s%s%s", sp->cdf ? g->col->name : sp->x, sp->cdf && unit[0] ? " (" : "",
           sp->cdf ? unit : "", sp->cdf && unit[0] ? ")" : "");
  res_fig_text_clean(f->xlabel, sizeof f->xlabel, t);
  if (sp->cdf) snprintf(t, sizeof t, "share of samples at or below the value");
  else snprintf(t, sizeof t, "%s %s%s%s%s", res_stat_name((res_stat)sp->stat), g->col->name,
                unit[0] ? " (" : "", unit, unit[0] ? ")" : "");
  res_fig_text_clean(f->ylabel, sizeof f->ylabel, t);
  /* constants of the plotted runs: model and n when they are single-valued */
  char note[400] = "";
  size_t used = 0;
  const char *const show[] = {"model.name", "cluster.workers", "model.layers"};
  for (size_t q = 0; q < 3; q++) {
    size_t k;
    if (res_points_key_find(g->pts, show[q], &k, NULL)) continue;
    const char *v0 = res_points_value(g->pts, g->s[0].point, k);
    int one = 1;
    for (size_t i = 1; i < g->n && one; i++)
      one = value_eq(res_points_value(g->pts, g->s[i].point, k), v0);
    if (one && v0)
      used += (size_t)snprintf(note + used, sizeof note - used, "%s%s = %s", used ? ", " : "",
                               show[q], v0);
  }
  used += (size_t)snprintf(note + used, used < sizeof note ? sizeof note - used : 0,
                           "%s%zu samples", used ? ", " : "", g->n);
  if (!sp->cdf && used < sizeof note) {
    const char *band = sp->band == RES_BAND_P5_P95 ? "error bars: 5th to 95th percentile of the samples"
                       : sp->band == RES_BAND_NONE || sp->stat == RES_STAT_MAX ? ""
                       : sp->stat == RES_STAT_MEAN ? "error bars: 95% t-interval of the mean"
                                                   : "error bars: 95% order-statistic interval";
    if (band[0]) used += (size_t)snprintf(note + used, sizeof note - used, " - %s", band);
  }
  (void)mask;
  res_fig_text_clean(f->note, sizeof f->note, note);
  f->logx = sp->logx ? 10 : 0;
  f->logy = sp->logy ? 10 : 0;
  f->plain = 1;
  if (!sp->cdf && !sp->logx) { /* a few integer x values (counts, n): a tic at each */
    double lo = INFINITY, hi = -INFINITY;
    int ints = 1;
    for (size_t i = 0; i < g->n; i++) {
      ints &= g->s[i].x == floor(g->s[i].x);
      lo = fmin(lo, g->s[i].x), hi = fmax(hi, g->s[i].x);
    }
    if (ints && hi - lo <= 12) f->xstep = 1;
  }
}

int res_gplot_build(res_db *db, const res_gplot_spec *sp, fig *f, res_plot_figure_info *info,
                    cod_err *err) {
  gp g;
  memset(&g, 0, sizeof g);
  g.sp = sp;
  if ((unsigned)sp->stat >= RES_STAT_COUNT_ || sp->band < RES_BAND_CI95 || sp->band > RES_BAND_NONE)
    return cod_err_set(err, COD_EINVAL, "plot: bad --stat or --band");
  int rc = res_points_load(db, &g.pts, err);
  if (!rc) rc = resolve(&g, db, err);
  if (!rc) rc = read_samples(&g, db, err);
  unsigned char *mask = NULL;
  *info = (res_plot_figure_info){sp->name ? sp->name : "plot", "general plot", "any runs", NULL};
  f->info = info;
  f->kind = FIG_XY;
  int layer = 0;
  if (!rc && !(mask = cod_calloc(res_points_nkeys(g.pts) + 1, 1)))
    rc = cod_err_set(err, COD_ENOMEM, "plot: out of memory");
  if (!rc) rc = make_series(&g, mask, &layer, err);
  if (!rc) rc = fill_fig(&g, f, mask, layer, err);
  if (!rc) label_fig(&g, f, mask);
  if (!rc && !res_fig_points(f)) rc = cod_err_set(err, RES_PLOT_ENODATA, "plot: nothing to draw");
  cod_free(mask);
  cod_free(g.s);
  res_points_free(g.pts);
  return rc;
}

int res_plot_general(res_db *db, const res_gplot_spec *sp, const char *out_dir,
                     const res_plot_opts *opts, cod_err *err) {
  fig f;
  memset(&f, 0, sizeof f);
  res_plot_figure_info info;
  int rc = res_gplot_build(db, sp, &f, &info, err);
  if (!rc) rc = res_draw_figure(&f, out_dir, opts, err);
  res_fig_fini(&f);
  return rc;
}
