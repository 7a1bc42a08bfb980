/* res_figures.c: the queries behind every figure and the reproduction report (res_plot.h).
 *
 * Design. Every figure is one entry of `figures[]` below: its name, what it shows, which
 * runs it needs, its title, axes and labels, and its builder, which runs one or a few
 * SELECTs and fills a `fig` (res_draw.h) through the helpers of res_figures.h (defined
 * here). res_plot.c only draws a filled `fig` and knows no figure; cli/ lists and draws
 * figures through res_plot.h, so a new figure is one entry and its builder in this file. The queries aggregate in SQL (MAX/AVG grouped by the series and the x
 * value), so the C side only copies numbers. A figure's runs are chosen by the prefix of
 * their [run] name (bound as ?1, never pasted into SQL): the SEL common table expression
 * below. Statements are prepared per call (a figure runs each once) with
 * sqlite3_prepare_v2 and bound parameters; no SQL is built from data.
 *
 * Analytic columns (layers.an_*) may be NULL (files written before the analytic model was
 * stored): such points are skipped, so an analytic curve is simply absent. A figure with no
 * measured point at all is RES_PLOT_ENODATA, with a message naming what it needs.
 *
 * The report (res_plot_report_write) prints the same selections as Markdown tables; every
 * number is formatted from a query result.
 */
#include "res_figures.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cod_alloc.h"
#include "res_points.h"
#include "res_stats.h"

/* The runs of one experiment: simulator runs whose [run] name starts with ?1. */
#define SEL                                                                                \
  "WITH sel AS (SELECT * FROM runs WHERE backend = 'sim' AND "                             \
  "substr(json_extract(params_json, '$.run.name'), 1, length(?1)) = ?1) "

/* Number of workers in the class named 'slow' of a run (0 when it has none). */
#define SLOW_COUNT                                                                         \
  "COALESCE((SELECT SUM(json_extract(c.value, '$.count')) FROM "                          \
  "json_each(r.params_json, '$.classes') c WHERE json_extract(c.value, '$.name') = 'slow'), 0)"

/* " (worst set)" for runs with [cluster] stragglers = worst, else "": a series key suffix
 * (the random-draw series keep their names). */
#define WORST_SUFFIX                                                                       \
  "(CASE WHEN json_extract(r.params_json, '$.cluster.stragglers') = 'worst' THEN "         \
  "' (worst set)' ELSE '' END)"

static int prepare(res_db *db, const char *sql, const char *prefix, sqlite3_stmt **st,
                   cod_err *err) {
  *st = NULL;
  int rc = sqlite3_prepare_v2(db->conn, sql, -1, st, NULL);
  if (rc == SQLITE_OK && prefix && sqlite3_bind_parameter_count(*st) >= 1)
    rc = sqlite3_bind_text(*st, 1, prefix, -1, SQLITE_STATIC);
  if (rc != SQLITE_OK) {
    int s = res_fail_sqlite(db, rc, "figure query", err);
    sqlite3_finalize(*st);
    *st = NULL;
    return s;
  }
  return COD_OK;
}

/* ---- never pooling points: the SQL functions res_point / res_point_tag ----------------
 *
 * A figure's query puts res_point_tag(r.run_id) at the end of its series key (and a report
 * table res_point(r.run_id) AS point among its group columns). The query runs twice. In
 * the probe pass both return "\x1f<point>", so every row is one (cell, point); the keys
 * whose values differ inside a cell are found (res_points_split) and OR-ed into the mask.
 * In the drawing pass res_point_tag returns " (key=value, ...)" of the masked keys, or ""
 * when none splits, and res_point the bare "key=value, ..." (the point column). */

typedef struct split_ctx {
  res_points *pts;
  unsigned char *mask;  /* nkeys: the keys that split some cell of this figure */
  unsigned char *pmask; /* npts x nkeys: per point, the keys that split its own cells */
  int per_point;        /* labels from pmask (tables: a row names only what tells it
                           apart) instead of mask (figures: one label per line) */
  int probe;            /* 1 in the probe pass */
} split_ctx;

#define PT_TAG " || res_point_tag(r.run_id)"
#define PT_COL "res_point(r.run_id) AS point"

static void sql_point_fn(sqlite3_context *c, sqlite3_value **v, int tag) {
  split_ctx *x = sqlite3_user_data(c);
  size_t pt;
  if (sqlite3_value_type(v[0]) == SQLITE_NULL ||
      res_points_of_run(x->pts, sqlite3_value_int64(v[0]), &pt)) {
    sqlite3_result_text(c, "", 0, SQLITE_STATIC);
    return;
  }
  if (x->probe) {
    char buf[32];
    snprintf(buf, sizeof buf, "\x1f%zu", pt);
    sqlite3_result_text(c, buf, -1, SQLITE_TRANSIENT);
    return;
  }
  char *label = NULL;
  const unsigned char *m = x->per_point ? x->pmask + pt * res_points_nkeys(x->pts) : x->mask;
  if (res_points_label(x->pts, pt, m, &label, NULL)) {
    sqlite3_result_error_nomem(c);
    return;
  }
  if (tag && label[0]) {
    size_t n = strlen(label) + 4;
    char *t = cod_malloc(n);
    if (!t) {
      cod_free(label);
      sqlite3_result_error_nomem(c);
      return;
    }
    snprintf(t, n, " (%s)", label);
    cod_free(label);
    label = t;
  }
  sqlite3_result_text(c, label, -1, SQLITE_TRANSIENT);
  cod_free(label);
}

static void sql_point(sqlite3_context *c, int argc, sqlite3_value **v) {
  (void)argc;
  sql_point_fn(c, v, 0);
}

static void sql_point_tag(sqlite3_context *c, int argc, sqlite3_value **v) {
  (void)argc;
  sql_point_fn(c, v, 1);
}

/* res_ci95(y): half-width of the 95% t-interval of the mean of the non-NULL y (NULL for
 * fewer than two), Welford's running mean and sum of squared deviations. */
typedef struct ci_acc {
  double n, mean, m2;
} ci_acc;

static void sql_ci_step(sqlite3_context *c, int argc, sqlite3_value **v) {
  (void)argc;
  if (sqlite3_value_type(v[0]) == SQLITE_NULL) return;
  ci_acc *a = sqlite3_aggregate_context(c, sizeof *a);
  if (!a) {
    sqlite3_result_error_nomem(c);
    return;
  }
  double y = sqlite3_value_double(v[0]), d = y - a->mean;
  a->n += 1;
  a->mean += d / a->n;
  a->m2 += d * (y - a->mean);
}

static void sql_ci_final(sqlite3_context *c) {
  ci_acc *a = sqlite3_aggregate_context(c, 0);
  if (!a || a->n < 2) {
    sqlite3_result_null(c);
    return;
  }
  double sd = sqrt(a->m2 / (a->n - 1));
  sqlite3_result_double(c, res_stats_t975((size_t)a->n - 1) * sd / sqrt(a->n));
}

/* Register the functions on db's connection with ctx (NULL ctx: remove them). */
static int split_register(res_db *db, split_ctx *ctx, cod_err *err) {
  int fl = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
  int rc = sqlite3_create_function_v2(db->conn, "res_point", 1, fl, ctx,
                                      ctx ? sql_point : NULL, NULL, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function_v2(db->conn, "res_point_tag", 1, fl, ctx,
                                    ctx ? sql_point_tag : NULL, NULL, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function_v2(db->conn, "res_ci95", 1, fl, ctx, NULL,
                                    ctx ? sql_ci_step : NULL, ctx ? sql_ci_final : NULL, NULL);
  return rc == SQLITE_OK ? COD_OK : res_fail_sqlite(db, rc, "registering figure functions", err);
}

static int split_begin(res_db *db, split_ctx *ctx, cod_err *err) {
  memset(ctx, 0, sizeof *ctx);
  int rc = res_points_load(db, &ctx->pts, err);
  if (rc) return rc;
  ctx->mask = cod_calloc(res_points_nkeys(ctx->pts) + 1, 1);
  ctx->pmask = cod_calloc(res_points_nkeys(ctx->pts) * res_points_count(ctx->pts) + 1, 1);
  if (!ctx->mask || !ctx->pmask) {
    cod_free(ctx->mask), cod_free(ctx->pmask);
    res_points_free(ctx->pts);
    return cod_err_set(err, COD_ENOMEM, "figure: out of memory");
  }
  return split_register(db, ctx, err);
}

static void split_end(res_db *db, split_ctx *ctx) {
  split_register(db, NULL, NULL);
  res_points_free(ctx->pts);
  cod_free(ctx->mask);
  cod_free(ctx->pmask);
}

/* The probe pass of sql: cells are the first ncell columns (the point tag stripped off);
 * the point is the "\x1f<n>" tag found in any column. OR the splitting keys into the mask. */
static int split_probe(res_db *db, split_ctx *x, const char *sql, const char *prefix,
                       int ncell, cod_err *err) {
  sqlite3_stmt *st;
  x->probe = 1;
  int rc = prepare(db, sql, prefix, &st, err);
  if (rc) {
    x->probe = 0;
    return rc;
  }
  char **cells = NULL;
  size_t *cell = NULL, *pt = NULL, n = 0, cap = 0;
  int status = COD_OK;
  while (!status && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    char buf[1024] = "";
    size_t point = (size_t)-1, used = 0;
    int ncol = sqlite3_column_count(st);
    for (int i = 0; i < ncol; i++) {
      const char *t = (const char *)sqlite3_column_text(st, i);
      const char *tag = t ? strchr(t, '\x1f') : NULL;
      if (tag) point = (size_t)strtoull(tag + 1, NULL, 10);
      if (i < ncell && used < sizeof buf)
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%.*s\x1e",
                                 tag ? (int)(tag - t) : (int)strlen(t ? t : ""), t ? t : "");
    }
    if (point == (size_t)-1) continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      char **c2 = cod_realloc(cells, cap * sizeof *c2);
      if (c2) cells = c2;
      size_t *a = c2 ? cod_realloc(cell, cap * sizeof *a) : NULL;
      if (a) cell = a;
      size_t *b = a ? cod_realloc(pt, cap * sizeof *b) : NULL;
      if (b) pt = b;
      if (!b) {
        status = COD_ENOMEM;
        break;
      }
    }
    size_t id = n;
    for (size_t j = 0; j < n && id == n; j++)
      if (strcmp(cells[cell[j]], buf) == 0) id = cell[j];
    cells[n] = NULL;
    if (id == n && !(cells[n] = cod_strdup(buf))) {
      status = COD_ENOMEM;
      break;
    }
    cell[n] = id, pt[n] = point, n++;
  }
  sqlite3_finalize(st);
  x->probe = 0;
  if (status) status = cod_err_set(err, COD_ENOMEM, "figure: out of memory");
  else if (rc != SQLITE_DONE) status = res_fail_sqlite(db, rc, "figure query", err);
  if (!status)
    status = res_points_split_cells(x->pts, cell, pt, n, x->mask, x->per_point ? x->pmask : NULL,
                                    err);
  for (size_t j = 0; j < n; j++) cod_free(cells[j]);
  cod_free(cells), cod_free(cell), cod_free(pt);
  return status;
}

int res_split_begin(res_db *db, split_ctx **out, cod_err *err) {
  split_ctx *x = cod_malloc(sizeof *x);
  if (!x) return cod_err_set(err, COD_ENOMEM, "out of memory");
  int rc = split_begin(db, x, err);
  if (rc) {
    cod_free(x);
    return rc;
  }
  *out = x;
  return COD_OK;
}

void res_split_end(res_db *db, split_ctx *ctx) {
  if (!ctx) return;
  split_end(db, ctx);
  cod_free(ctx);
}

/* Forget the last table's masks and switch to per-point labels. */
static void split_reset_table(split_ctx *x) {
  size_t nk = res_points_nkeys(x->pts);
  memset(x->mask, 0, nk + 1);
  memset(x->pmask, 0, nk * res_points_count(x->pts) + 1);
  x->per_point = 1;
}

/* Never split by key `canon` (a table that has it as columns, e.g. one per precision). */
static void split_exempt(split_ctx *x, const char *canon) {
  size_t k, nk = res_points_nkeys(x->pts);
  if (!canon || res_points_key_find(x->pts, canon, &k, NULL)) return;
  x->mask[k] = 0;
  for (size_t i = 0; i < res_points_count(x->pts); i++) x->pmask[i * nk + k] = 0;
}

int res_split_probe_point(res_db *db, split_ctx *x, const char *sql, const char *prefix,
                          int *splits, cod_err *err) {
  sqlite3_stmt *st;
  int rc = prepare(db, sql, prefix, &st, err), ncell = 0;
  if (rc) return rc;
  for (int i = 0; i < sqlite3_column_count(st); i++)
    if (strcmp(sqlite3_column_name(st, i), "point") == 0) ncell = i;
  sqlite3_finalize(st);
  split_reset_table(x);
  *splits = 0;
  if (ncell == 0) return COD_OK;
  rc = split_probe(db, x, sql, prefix, ncell, err);
  for (size_t k = 0; !rc && k < res_points_nkeys(x->pts); k++) *splits |= x->mask[k];
  return rc;
}

/* Rows (key TEXT, x, y[, ci95 half-width]) ordered by key: one series per key, titled
 * key + suffix. Rows with a NULL or non-finite x or y are skipped. A query that tags its
 * key with res_point_tag is probed first, so its series split wherever points differ. */
static int add_series(res_db *db, fig *f, const char *sql, const char *prefix, int style,
                      const char *suffix, cod_err *err) {
  split_ctx *sx = f->split;
  if (sx && strstr(sql, "res_point")) {
    int rc = split_probe(db, sx, sql, prefix, 2, err);
    if (rc) return rc;
  }
  sqlite3_stmt *st;
  int rc = prepare(db, sql, prefix, &st, err);
  if (rc) return rc;
  int has_ci = sqlite3_column_count(st) >= 4;
  fig_series *cur = NULL;
  char last[FIG_TEXT] = "", key[FIG_TEXT], title[FIG_TEXT];
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_type(st, 1) == SQLITE_NULL || sqlite3_column_type(st, 2) == SQLITE_NULL)
      continue;
    double x = sqlite3_column_double(st, 1), y = sqlite3_column_double(st, 2);
    if (!isfinite(x) || !isfinite(y)) continue;
    double h = has_ci && sqlite3_column_type(st, 3) != SQLITE_NULL ? sqlite3_column_double(st, 3)
                                                                   : NAN;
    const unsigned char *k = sqlite3_column_text(st, 0);
    res_fig_text_clean(key, sizeof key, k ? (const char *)k : "?");
    if (!cur || strcmp(key, last) != 0) {
      snprintf(title, sizeof title, "%s%s", key, suffix);
      if (!(cur = res_fig_series_add(f, key, title, style))) break;
      memcpy(last, key, sizeof last);
    }
    if (res_fig_point_add_ci(cur, x, y, y - h, y + h)) {
      cur = NULL;
      break;
    }
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_ROW) return cod_err_set(err, COD_ENOMEM, "figure %s: out of memory",
                                           f->info->name);
  if (rc != SQLITE_DONE) return res_fail_sqlite(db, rc, "figure query", err);
  return COD_OK;
}

static int no_data(const fig *f, cod_err *err) {
  return cod_err_set(err, RES_PLOT_ENODATA, "figure %s: no data in this database; it needs %s",
                     f->info->name, f->info->needs);
}

/* ---- the fig object ------------------------------------------------------------------ */

fig_series *res_fig_series_add(fig *f, const char *key, const char *title, int style) {
  if (f->ns == f->cap) {
    size_t cap = f->cap ? 2 * f->cap : 8;
    fig_series *p = cod_realloc(f->s, cap * sizeof *p);
    if (!p) return NULL;
    f->s = p;
    f->cap = cap;
  }
  fig_series *s = &f->s[f->ns];
  memset(s, 0, sizeof *s);
  res_fig_text_clean(s->key, sizeof s->key, key);
  res_fig_text_clean(s->title, sizeof s->title, title);
  s->style = style;
  s->color = 0;
  for (size_t i = 0; i < f->ns; i++)
    if (strcmp(f->s[i].key, s->key) == 0) s->color = f->s[i].color;
  if (!s->color) s->color = (int)++f->ncolors;
  f->ns++;
  return s;
}

int res_fig_point_add_ci(fig_series *s, double x, double y, double lo, double hi) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 16;
    double **arr[4] = {&s->x, &s->y, &s->lo, &s->hi};
    for (int i = 0; i < 4; i++) {
      double *p = cod_realloc(*arr[i], cap * sizeof *p);
      if (!p) return COD_ENOMEM;
      *arr[i] = p;
    }
    s->cap = cap;
  }
  s->x[s->n] = x;
  s->y[s->n] = y;
  s->lo[s->n] = lo;
  s->hi[s->n] = hi;
  if (isfinite(lo) && isfinite(hi)) s->band = 1;
  s->n++;
  return COD_OK;
}

int res_fig_point_add(fig_series *s, double x, double y) {
  return res_fig_point_add_ci(s, x, y, NAN, NAN);
}

size_t res_fig_points(const fig *f) {
  size_t n = 0;
  for (size_t i = 0; i < f->ns; i++) n += f->s[i].n;
  return n + f->nrows;
}

void res_fig_fini(fig *f) {
  for (size_t i = 0; i < f->ns; i++) {
    cod_free(f->s[i].x);
    cod_free(f->s[i].y);
    cod_free(f->s[i].lo);
    cod_free(f->s[i].hi);
  }
  cod_free(f->s);
  for (size_t i = 0; i < f->nrows; i++) cod_free(f->rows[i]);
  cod_free(f->rows);
  cod_free(f->cells);
  memset(f, 0, sizeof *f);
}

void res_fig_text_clean(char *dst, size_t cap, const char *src) {
  /* brackets, quotes and ';' are inert inside a double-quoted gnuplot string (a layer set
   * or list value reads as itself); a double quote would end the string, so it becomes a
   * single quote, which reads the same. Backslash, backquote, '@', '$' and '#' stay out. */
  static const char ok[] = " -+.,=()%:/_[]';";
  size_t j = 0;
  for (; src && *src && j + 1 < cap; src++) {
    unsigned char c = (unsigned char)*src;
    int safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               (c != 0 && strchr(ok, c) != NULL);
    dst[j++] = c == '"' ? '\'' : safe ? (char)c : '?';
  }
  if (cap) dst[j] = 0;
}

/* ---- the figures ---------------------------------------------------------------------- */

/* Runs under load (the load_runs table of schema version 4): one series per combination of
 * model, n, scheme, (k_A, k_B), cancel policy and worker service, so that nothing is pooled;
 * saturated points (stopped at a bound, their latency meaningless) are left out. */
#define LOAD_KEY                                                                           \
  "r.model || ' n=' || r.workers || ' ' || r.scheme || ' ' || r.ka || 'x' || r.kb || "     \
  "' cancel ' || l.cancel || (CASE WHEN l.service = 'fcfs' THEN '' ELSE ' ' || l.service " \
  "END)"

static int fig_load(res_db *db, fig *f, const char *col, cod_err *err) {
  char sql[1024];
  snprintf(sql, sizeof sql,
           SEL "SELECT " LOAD_KEY PT_TAG ", l.offered_per_s, AVG(l.%s), res_ci95(l.%s) FROM sel "
               "r JOIN load_runs l ON l.run_id = r.run_id WHERE l.saturated = 0 AND "
               "l.offered_per_s IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2", col, col);
  return add_series(db, f, sql, "load-", FIG_MEASURED, "", err);
}

static int fig_load_p99(res_db *db, fig *f, cod_err *err) {
  return fig_load(db, f, "lat_p99_s", err);
}

static int fig_load_mean(res_db *db, fig *f, cod_err *err) {
  return fig_load(db, f, "lat_mean_s", err);
}

static int fig_mse_vs_n(res_db *db, fig *f, cod_err *err) {
  return add_series(db, f,
                    SEL "SELECT r.model || ' ' || r.scheme || " WORST_SUFFIX PT_TAG ", r.workers, "
                        "MAX(l.mse) FROM sel r JOIN layers l ON l.run_id = r.run_id WHERE "
                        "l.status = 'ok' AND l.mse > 0 AND r.precision = 'fp64' GROUP BY 1, "
                        "r.workers ORDER BY 1, 2",
                    "mse-vs-n", FIG_MEASURED, "", err);
}

static int fig_cond_vs_n(res_db *db, fig *f, cod_err *err) {
  return add_series(db, f,
                    SEL "SELECT r.scheme || " WORST_SUFFIX PT_TAG ", r.workers, MAX(l.cond) FROM sel "
                        "r JOIN layers l ON l.run_id = r.run_id WHERE l.cond > 0 GROUP BY 1, 2 "
                        "ORDER BY 1, 2",
                    "mse-vs-n", FIG_MEASURED, "", err);
}

static int fig_stragglers(res_db *db, fig *f, cod_err *err) {
  int rc = add_series(db, f,
                      SEL "SELECT r.scheme" PT_TAG ", " SLOW_COUNT ", AVG(r.latency_s), "
                          "res_ci95(r.latency_s) FROM sel r WHERE "
                          "r.status = 'ok' GROUP BY 1, 2 ORDER BY 1, 2",
                      "stragglers", FIG_MEASURED, " (simulated)", err);
  if (rc || !res_fig_points(f)) return rc ? rc : no_data(f, err);
  return add_series(db, f,
                    SEL "SELECT r.scheme" PT_TAG ", " SLOW_COUNT ", AVG((SELECT SUM(l.an_latency_s) FROM "
                        "layers l WHERE l.run_id = r.run_id)) FROM sel r WHERE r.status = 'ok' "
                        "GROUP BY 1, 2 ORDER BY 1, 2",
                    "stragglers", FIG_ANALYTIC, " (analytic)", err);
}

/* "<allocation> allocation, <returns> returns" of a run ([cluster] allocation, returns). */
#define ALLOC_KEY                                                                          \
  "(COALESCE(json_extract(r.params_json, '$.cluster.allocation'), 'equal') || "            \
  "' allocation, ' || COALESCE(json_extract(r.params_json, '$.cluster.returns'), "         \
  "'per-worker') || ' returns')"

/* hetero-alloc: the coded-layer latency (layers.t_total_s summed per run, the quantity
 * the analytic an_latency_s predicts) quantile curve of each (allocation, returns) pair, one series
 * per pair (never pooled), and its analytic mean as a dashed level where one is stored. */
static int fig_hetero_alloc(res_db *db, fig *f, cod_err *err) {
  int rc = add_series(db, f,
                      SEL ", k AS (SELECT " ALLOC_KEY " AS key, (SELECT SUM(l.t_total_s) FROM "
                          "layers l WHERE l.run_id = r.run_id) AS y FROM sel r "
                          "WHERE r.status = 'ok') SELECT key, "
                          "cume_dist() OVER (PARTITION BY key ORDER BY y), y FROM k "
                          "ORDER BY key, y",
                      "hetero", FIG_MEASURED, " (simulated)", err);
  if (rc || !res_fig_points(f)) return rc ? rc : no_data(f, err);
  return add_series(db, f,
                    SEL ", m AS (SELECT " ALLOC_KEY " AS key, AVG((SELECT SUM(l.an_latency_s) "
                        "FROM layers l WHERE l.run_id = r.run_id)) AS y FROM sel r WHERE "
                        "r.status = 'ok' GROUP BY 1), x(v) AS (VALUES (0.0), (1.0)) "
                        "SELECT key, v, y FROM m, x ORDER BY key, v",
                    "hetero", FIG_ANALYTIC, " (analytic mean)", err);
}

/* Mark the minimum of every series of `style` with a FIG_MARK series of the same key. */
static int mark_minima(fig *f, int style, const char *what, cod_err *err) {
  size_t ns = f->ns;
  for (size_t i = 0; i < ns; i++) {
    if (f->s[i].style != style || !f->s[i].n) continue;
    size_t best = 0;
    for (size_t k = 1; k < f->s[i].n; k++)
      if (f->s[i].y[k] < f->s[i].y[best]) best = k;
    char title[FIG_TEXT];
    snprintf(title, sizeof title, "%.90s %s optimum: k_A = %g", f->s[i].key, what,
             f->s[i].x[best]);
    char key[FIG_TEXT];
    memcpy(key, f->s[i].key, sizeof key);
    double x = f->s[i].x[best], y = f->s[i].y[best];
    fig_series *m = res_fig_series_add(f, key, title, FIG_MARK); /* may move f->s */
    if (!m || res_fig_point_add(m, x, y))
      return cod_err_set(err, COD_ENOMEM, "figure %s: out of memory", f->info->name);
  }
  return COD_OK;
}

static int fig_upload_storage(res_db *db, fig *f, cod_err *err) {
  int rc = add_series(db, f,
                      SEL ", lw AS (SELECT w.run_id, w.layer_index, AVG(w.bytes_to_worker + "
                          "w.bytes_stored) AS b FROM workers w JOIN sel r ON r.run_id = "
                          "w.run_id GROUP BY w.run_id, w.layer_index) "
                          "SELECT r.scheme || ' ' || l.layer_name || ' delta=' || l.delta" PT_TAG ", "
                          "l.ka, AVG(lw.b) / 1e6, res_ci95(lw.b) / 1e6 FROM sel r JOIN layers l ON l.run_id = "
                          "r.run_id JOIN lw ON lw.run_id = l.run_id AND lw.layer_index = "
                          "l.layer_index WHERE l.status NOT LIKE 'infeasible%' AND "
                          "l.ka IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2",
                      "upload-storage", FIG_POINTS, " simulated", err);
  if (rc || !res_fig_points(f)) return rc ? rc : no_data(f, err);
  size_t measured = f->ns;
  rc = add_series(db, f,
                  SEL "SELECT r.scheme || ' ' || l.layer_name || ' delta=' || l.delta" PT_TAG ", l.ka, "
                      "AVG(l.an_to_worker_bytes + l.an_storage_bytes) / 1e6 FROM sel r JOIN "
                      "layers l ON l.run_id = r.run_id WHERE l.ka IS NOT NULL GROUP BY 1, 2 "
                      "ORDER BY 1, 2",
                  "upload-storage", FIG_ANALYTIC, " analytic", err);
  if (rc) return rc;
  return f->ns > measured ? mark_minima(f, FIG_ANALYTIC, "analytic", err)
                          : mark_minima(f, FIG_POINTS, "simulated", err);
}

/* to worker / to master: the one direction convention (not "upload", which reads
 * as the opposite of uplink_bps) */
static const char *const phase_names[5] = {"encode", "to worker", "compute", "to master",
                                           "decode"};

#define PHASES_SQL                                                                         \
  SEL ", per AS (SELECT r.model AS model, r.scheme AS scheme, res_point_tag(r.run_id) AS pt, " \
      "SUM(l.t_encode_s) AS e, SUM(l.t_to_worker_s) AS u, SUM(l.t_compute_s) "                 \
      "AS c, SUM(l.t_to_master_s) AS d, SUM(l.t_decode_s) AS x FROM sel r "                  \
      "JOIN layers l ON l.run_id = r.run_id WHERE r.status = 'ok' GROUP BY "                \
      "r.run_id) SELECT model || ' ' || scheme || pt, AVG(e), AVG(u), AVG(c), "             \
      "AVG(d), AVG(x) FROM per GROUP BY model, scheme, pt "                                 \
      "ORDER BY AVG(e + u + c + d + x), 1"

static int fig_phases(res_db *db, fig *f, cod_err *err) {
  if (f->split) {
    int prc = split_probe(db, f->split, PHASES_SQL, "phases", 1, err);
    if (prc) return prc;
  }
  f->ncols = 5;
  for (size_t c = 0; c < 5; c++)
    snprintf(f->coltitle[c], sizeof f->coltitle[c], "%s", phase_names[c]);
  sqlite3_stmt *st;
  int rc = prepare(db,
                   PHASES_SQL, "phases", &st, err);
  if (rc) return rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    double v[5], tot = 0;
    for (int c = 0; c < 5; c++) {
      v[c] = sqlite3_column_double(st, c + 1);
      if (!isfinite(v[c]) || v[c] < 0) v[c] = 0;
      tot += v[c];
    }
    if (!(tot > 0)) continue;
    char label[FIG_TEXT + 40], clean[FIG_TEXT];
    const unsigned char *k = sqlite3_column_text(st, 0);
    res_fig_text_clean(clean, sizeof clean, k ? (const char *)k : "?");
    char *sp = strchr(clean, ' '); /* "model scheme" -> "model\nscheme" (two tic lines) */
    if (sp) *sp = 0;
    snprintf(label, sizeof label, "%s\\n%s\\n(%.3g s)", clean, sp ? sp + 1 : "", tot);
    char **rows = cod_realloc(f->rows, (f->nrows + 1) * sizeof *rows);
    if (!rows) break;
    f->rows = rows;
    double *cells = cod_realloc(f->cells, (f->nrows + 1) * 5 * sizeof *cells);
    if (!cells) break;
    f->cells = cells;
    if (!(f->rows[f->nrows] = cod_strdup(label))) break;
    for (int c = 0; c < 5; c++) f->cells[f->nrows * 5 + (size_t)c] = 100.0 * v[c] / tot;
    f->nrows++;
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_ROW) return cod_err_set(err, COD_ENOMEM, "figure phases: out of memory");
  if (rc != SQLITE_DONE) return res_fail_sqlite(db, rc, "figure query", err);
  return COD_OK;
}

static int fig_e2e(res_db *db, fig *f, cod_err *err) {
  int rc = add_series(db, f,
                      SEL "SELECT r.model || ' ' || r.scheme" PT_TAG ", r.workers, AVG(r.latency_s), "
                          "res_ci95(r.latency_s) FROM sel r WHERE r.status = 'ok' GROUP BY 1, 2 ORDER BY 1, 2",
                      "e2e", FIG_MEASURED, " (simulated)", err);
  if (rc || !res_fig_points(f)) return rc ? rc : no_data(f, err);
  return add_series(db, f,
                    SEL "SELECT r.model || ' ' || r.scheme" PT_TAG ", r.workers, AVG((SELECT "
                        "SUM(l.an_latency_s) FROM layers l WHERE l.run_id = r.run_id)) FROM "
                        "sel r WHERE r.status = 'ok' GROUP BY 1, 2 ORDER BY 1, 2",
                    "e2e", FIG_ANALYTIC, " (analytic)", err);
}

/* Bursty stragglers (scenarios/paper/bursty-*.ini): per scheme and markov chain (both
 * mean stays, so no two chains pool), the nearest-rank 95th percentile of the run latency
 * (solid) and its mean (points), against the mean slow stay. The series key carries the
 * model, n and the stationary slow share, so runs that differ in any of them never share
 * a curve. */
#define BURSTY_RANKED_TAGGED(TAG)                                                          \
  SEL ", b AS (SELECT r.model || ' ' || r.scheme || ' n=' || r.workers || "                 \
  "' (slow share ' || printf('%.3g', "                                                     \
  "1.0 * json_extract(r.params_json, '$.latency.markov_slow_sojourn_s') / "                \
  "(json_extract(r.params_json, '$.latency.markov_slow_sojourn_s') + "                     \
  "json_extract(r.params_json, '$.latency.markov_fast_sojourn_s'))) || ')'" TAG " AS k, "     \
  PT_COL ", "                                                                              \
  "json_extract(r.params_json, '$.latency.markov_slow_sojourn_s') AS x, "                  \
  "json_extract(r.params_json, '$.latency.markov_fast_sojourn_s') AS xf, "                 \
  "r.latency_s AS y FROM sel r WHERE r.status = 'ok' AND "                                 \
  "json_extract(r.params_json, '$.latency.model') = 'markov'), "                           \
  "t AS (SELECT k, point, x, xf, y, ROW_NUMBER() OVER (PARTITION BY k, point, x, xf "      \
  "ORDER BY y) AS rk, COUNT(*) OVER (PARTITION BY k, point, x, xf) AS n FROM b) "
/* Figures tag the series key with the splitting sweep keys; tables show them in `point`. */
#define BURSTY_RANKED BURSTY_RANKED_TAGGED(PT_TAG)

static int fig_bursty(res_db *db, fig *f, cod_err *err) {
  int rc = add_series(db, f,
                      BURSTY_RANKED "SELECT k, x, MIN(y) FROM t WHERE rk >= 0.95 * n "
                                    "GROUP BY k, point, x, xf ORDER BY 1, 2",
                      "bursty", FIG_MEASURED, " p95", err);
  if (rc || !res_fig_points(f)) return rc ? rc : no_data(f, err);
  return add_series(db, f,
                    BURSTY_RANKED "SELECT k, x, AVG(y), res_ci95(y) FROM t GROUP BY k, point, x, "
                                  "xf ORDER BY 1, 2",
                    "bursty", FIG_POINTS, " mean", err);
}

static int fig_snr(res_db *db, fig *f, cod_err *err) {
  return add_series(db, f,
                    SEL "SELECT r.scheme || " WORST_SUFFIX PT_TAG ", json_extract(r.params_json, "
                        "'$.run.snr_db') AS snr, "
                        "MAX(l.rel_error * l.rel_error) FROM sel r JOIN layers l ON l.run_id "
                        "= r.run_id WHERE l.status = 'ok' AND l.rel_error > 0 AND "
                        "typeof(json_extract(r.params_json, '$.run.snr_db')) IN "
                        "('integer', 'real') GROUP BY 1, 2 ORDER BY 1, 2",
                    "snr", FIG_MEASURED, "", err);
}

/* The precision figures, one per straggler choice (random draws; the worst set): with
 * four schemes and four worker formats each is 16 series, both together were 32 and the
 * legend left the data a strip. */
#define IS_WORST "json_extract(r.params_json, '$.cluster.stragglers') = 'worst'"

static int precision_series(res_db *db, fig *f, int worst, cod_err *err) {
  return add_series(db, f,
                    worst ? SEL "SELECT r.scheme || ' ' || r.precision" PT_TAG ", r.workers, "
                                "MAX(l.rel_error) FROM sel r JOIN layers l ON l.run_id = "
                                "r.run_id WHERE l.status = 'ok' AND l.rel_error > 0 AND "
                                IS_WORST " GROUP BY 1, 2 ORDER BY 1, 2"
                          : SEL "SELECT r.scheme || ' ' || r.precision" PT_TAG ", r.workers, "
                                "MAX(l.rel_error) FROM sel r JOIN layers l ON l.run_id = "
                                "r.run_id WHERE l.status = 'ok' AND l.rel_error > 0 AND NOT "
                                "COALESCE(" IS_WORST ", 0) GROUP BY 1, 2 ORDER BY 1, 2",
                    "precision", FIG_MEASURED, "", err);
}

static int fig_precision(res_db *db, fig *f, cod_err *err) {
  return precision_series(db, f, 0, err);
}

static int fig_precision_worst(res_db *db, fig *f, cod_err *err) {
  return precision_series(db, f, 1, err);
}

/* One point per layer and pair of experiments (scenario hashes): runs of different
 * simulated clusters are never averaged together, and trial 0 (cold caches) is left out
 * when there are later ones. m.ho: the MPI experiment's [run] name contains "holdout" (not
 * fitted by `fcdcc calibrate --holdout holdout`). Ends in a WHERE clause to extend. */
#define SIM_VS_REAL                                                                        \
  "WITH t AS (SELECT r.backend AS b, r.scenario_hash AS h, r.model AS model, "             \
  "r.scheme AS scheme, r.workers AS n, r.precision AS p, l.layer_index AS li, "            \
  "l.ka AS ka, l.kb AS kb, AVG(l.t_total_s) AS t, MAX(instr(COALESCE("                     \
  "json_extract(r.params_json, '$.run.name'), ''), 'holdout') > 0) AS ho "                 \
  "FROM runs r JOIN layers l "                                                             \
  "ON l.run_id = r.run_id WHERE l.status = 'ok' AND l.t_total_s > 0 AND "                  \
  "(r.trial >= 1 OR NOT EXISTS (SELECT 1 FROM runs q WHERE q.scenario_hash "               \
  "= r.scenario_hash AND q.backend = r.backend AND q.trial >= 1)) "                        \
  "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9) "                                                   \
  "SELECT s.model || ' ' || s.scheme || ' n=' || s.n || ' (sim ' || "                      \
  "substr(s.h, 1, 6) || ', mpi ' || substr(m.h, 1, 6) || ')', s.t, m.t "                   \
  "FROM t s JOIN t m ON m.model = s.model AND m.scheme = s.scheme AND "                    \
  "m.n = s.n AND m.p = s.p AND m.li = s.li AND m.ka = s.ka AND m.kb = s.kb "               \
  "WHERE s.b = 'sim' AND m.b = 'mpi' "

static int fig_sim_vs_real(res_db *db, fig *f, cod_err *err) {
  sqlite3_stmt *st;
  int rc = prepare(db, "SELECT COUNT(*) FROM runs WHERE backend = 'mpi'", NULL, &st, err);
  if (rc) return rc;
  rc = sqlite3_step(st);
  long long n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW) return res_fail_sqlite(db, rc, "figure query", err);
  if (n == 0)
    return cod_err_set(err, RES_PLOT_ENODATA, "figure sim-vs-real: no runs with backend "
                       "'mpi' in this database; it needs %s", f->info->needs);
  /* fitted experiments as points, held-out ones as large marks */
  rc = add_series(db, f, SIM_VS_REAL "AND NOT m.ho ORDER BY 1, 2", NULL, FIG_POINTS, "", err);
  if (rc) return rc;
  return add_series(db, f, SIM_VS_REAL "AND m.ho ORDER BY 1, 2", NULL, FIG_MARK, " held out",
                    err);
}

/* Fashion-MNIST: share of images whose coded argmax equals the uncoded argmax against n,
 * per network, scheme and worker precision (data_runs rows, one per run over the images). */
static int fig_fashion(res_db *db, fig *f, cod_err *err) {
  return add_series(db, f,
                    SEL "SELECT replace(replace(r.model, 'models/trained/', ''), '.onnx', '') "
                        "|| ' ' || r.scheme || ' ' || r.precision" PT_TAG ", r.workers, "
                        "AVG(d.agreement), res_ci95(d.agreement) FROM sel r JOIN data_runs d ON d.run_id = r.run_id "
                        "GROUP BY 1, 2 ORDER BY 1, 2",
                    "fashion-n", FIG_MEASURED, "", err);
}

/* The approximate Berrut code: mean layer error against the number of results it decoded
 * from (the rows' workers_used), beside nsctc-rot, which decodes exactly from its
 * threshold delta = k_A k_B results (its points sit at x = delta). */
#define N_USED "(length(l.workers_used) - length(replace(l.workers_used, ',', '')) + 1)"

static int fig_berrut(res_db *db, fig *f, cod_err *err) {
  return add_series(db, f,
                    SEL "SELECT r.scheme || ' n=' || r.workers || ' k=' || (l.ka * l.kb)" PT_TAG ", "
                        N_USED ", AVG(l.rel_error), res_ci95(l.rel_error) FROM sel r JOIN layers l ON l.run_id = "
                        "r.run_id WHERE l.status = 'ok' AND l.rel_error > 0 AND "
                        "l.workers_used IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2",
                    "berrut-error", FIG_MEASURED, "", err);
}

static int fig_berrut_latency(res_db *db, fig *f, cod_err *err) {
  return add_series(db, f,
                    SEL "SELECT r.scheme || ' n=' || r.workers || ' k=' || (l.ka * l.kb)" PT_TAG ", "
                        "AVG(l.t_total_s), AVG(l.rel_error), res_ci95(l.rel_error) FROM sel r JOIN layers l ON "
                        "l.run_id = r.run_id WHERE l.status = 'ok' AND l.rel_error > 0 AND "
                        "l.workers_used IS NOT NULL GROUP BY 1, " N_USED " ORDER BY 1, 2",
                    "berrut-error", FIG_MEASURED, "", err);
}

/* Energy against latency (runs named energy*): one point per configuration, the mean over
 * the trials of one sweep point (scenario hash, point index), so swept keys are never
 * pooled; ENERGY_FRONT keeps the points no other point beats in both latency and energy
 * (the Pareto front over every scheme). */
#define ENERGY_PTS                                                                         \
  SEL ", pts AS (SELECT r.scheme AS scheme, r.ka AS ka, r.kb AS kb, r.delta AS delta, "   \
  "AVG(r.latency_s) AS latency_s, AVG(r.energy_j) AS energy_j, COUNT(*) AS runs FROM sel " \
  "r WHERE r.status = 'ok' AND r.energy_j IS NOT NULL AND r.latency_s IS NOT NULL GROUP "  \
  "BY r.scenario_hash, r.point_index) "
#define ENERGY_FRONT                                                                       \
  "FROM pts p WHERE NOT EXISTS (SELECT 1 FROM pts q WHERE q.latency_s <= p.latency_s AND " \
  "q.energy_j <= p.energy_j AND (q.latency_s < p.latency_s OR q.energy_j < p.energy_j)) "

static int fig_energy(res_db *db, fig *f, cod_err *err) {
  int rc = add_series(db, f, ENERGY_PTS "SELECT scheme, latency_s, energy_j FROM pts "
                      "ORDER BY 1, 2", "energy", FIG_POINTS, "", err);
  if (rc || !res_fig_points(f)) return rc ? rc : no_data(f, err);
  return add_series(db, f, ENERGY_PTS "SELECT 'Pareto front', latency_s, energy_j "
                    ENERGY_FRONT "ORDER BY 2", "energy", FIG_MARK, "", err);
}

/* [coding] delta = auto against a fixed split (runs named delta-auto*): per model, scheme
 * and split ("delta = auto", or the fixed k_A x k_B), the mean end-to-end latency against
 * n, and the analytic conv-layer sum beside it (with delta = auto: the optimum the
 * runner chose each layer's delta by). */
#define DELTA_AUTO_KEY                                                                     \
  "r.model || ' ' || r.scheme || (CASE WHEN json_extract(r.params_json, '$.coding.delta') " \
  "= 'auto' THEN ' delta = auto' ELSE ' ' || r.ka || 'x' || r.kb END)"

static int fig_delta_auto(res_db *db, fig *f, cod_err *err) {
  int rc = add_series(db, f,
                      SEL "SELECT " DELTA_AUTO_KEY PT_TAG ", r.workers, AVG(r.latency_s), "
                          "res_ci95(r.latency_s) FROM sel r WHERE r.status = 'ok' GROUP BY 1, 2 "
                          "ORDER BY 1, 2",
                      "delta-auto", FIG_MEASURED, " (simulated)", err);
  if (rc || !res_fig_points(f)) return rc ? rc : no_data(f, err);
  return add_series(db, f,
                    SEL "SELECT " DELTA_AUTO_KEY PT_TAG ", r.workers, AVG((SELECT "
                        "SUM(l.an_latency_s) FROM layers l WHERE l.run_id = r.run_id)) FROM "
                        "sel r WHERE r.status = 'ok' GROUP BY 1, 2 ORDER BY 1, 2",
                    "delta-auto", FIG_ANALYTIC, " (analytic, conv layers)", err);
}

/* Storage against the worker limit (runs named storage-limit*): per check ([cluster]
 * storage) and policy (on_storage), the per-worker storage the run needed against the
 * [cluster] storage_bytes it had, feasible runs only: whole-model, the runs row's
 * storage_model_bytes (every served layer's coded filters + the largest slab); per-layer,
 * the largest bytes_stored the simulator counted on a worker in one layer. Beside it the
 * paper's storage cost (layers.an_storage_bytes: the largest layer's for per-layer, the
 * runs row's an_storage_model_bytes for whole-model), and the limit itself (y = x): a
 * point sits on or below it, and a policy's curve ends where no split fits. */
#define STORAGE_KEY                                                                        \
  "json_extract(r.params_json, '$.cluster.storage') || ', on_storage = ' || "              \
  "json_extract(r.params_json, '$.cluster.on_storage')"
#define STORAGE_LIMIT "json_extract(r.params_json, '$.cluster.storage_bytes')"
#define STORAGE_WHOLE "json_extract(r.params_json, '$.cluster.storage') = 'whole-model'"

static int fig_storage_limit(res_db *db, fig *f, cod_err *err) {
  int rc = add_series(db, f,
                      SEL "SELECT " STORAGE_KEY PT_TAG ", " STORAGE_LIMIT " / 1e6, AVG(CASE WHEN "
                          STORAGE_WHOLE " THEN r.storage_model_bytes ELSE (SELECT "
                          "MAX(w.bytes_stored) FROM workers w WHERE w.run_id = r.run_id) END) "
                          "/ 1e6 FROM sel r WHERE r.status = 'ok' AND typeof(" STORAGE_LIMIT
                          ") IN ('integer', 'real') GROUP BY 1, 2 ORDER BY 1, 2",
                      "storage-limit", FIG_MEASURED, " (simulated)", err);
  if (rc || !res_fig_points(f)) return rc ? rc : no_data(f, err);
  rc = add_series(db, f,
                  SEL "SELECT " STORAGE_KEY PT_TAG ", " STORAGE_LIMIT " / 1e6, AVG(CASE WHEN "
                      STORAGE_WHOLE " THEN r.an_storage_model_bytes ELSE (SELECT "
                      "MAX(l.an_storage_bytes) FROM layers l WHERE l.run_id = r.run_id) END) "
                      "/ 1e6 FROM sel r WHERE r.status = 'ok' AND typeof(" STORAGE_LIMIT
                      ") IN ('integer', 'real') GROUP BY 1, 2 ORDER BY 1, 2",
                  "storage-limit", FIG_ANALYTIC, " (analytic storage cost)", err);
  if (rc) return rc;
  return add_series(db, f,
                    SEL "SELECT 'worker storage limit (y = x)', " STORAGE_LIMIT " / 1e6, "
                        STORAGE_LIMIT " / 1e6 FROM sel r WHERE typeof(" STORAGE_LIMIT ") IN "
                        "('integer', 'real') GROUP BY 2 ORDER BY 2",
                    "storage-limit", FIG_POINTS, "", err);
}

/* ---- the figure table: one entry per figure ------------------------------------------ */

typedef struct fig_def {
  res_plot_figure_info info; /* name (file and command-line name), what it shows, what runs
                                it needs: what `fcdcc plot --list` prints */
  const char *prefix;        /* the [run] name prefix of its runs (NULL: any run), for the
                                line under the plot saying what was run */
  const char *title, *xlabel, *ylabel; /* the plot's title and axis labels */
  int kind;                  /* enum fig_kind; FIG_XY (0) unless set */
  int logx, logy;            /* 0 linear, else the log base of the axis */
  double xstep;              /* > 0: major x tics every xstep; 0 = gnuplot's choice */
  int diag;                  /* draw y = x */
  int (*build)(res_db *db, fig *f, cod_err *err); /* its queries: fill f's series/rows */
} fig_def;

static const fig_def figures[] = {
    {.info = {"mse-vs-n",
              "decoding MSE against the number of workers n, per model and scheme",
              "runs named mse-vs-n* (scenarios/paper/mse-vs-n.ini), compute=real, fp64",
              "checks the paper's abstract: maximum MSE about 1e-27 for AlexNet's conv layers at n = 20 (NSCTC, fp64): the n = 20 points of the alexnet nsctc-rot series and REPORT.md's first table. The about 1e-17 of a real-Vandermonde code (NSCTC-MATH.md section 8) is not in the abstract: we could not check that it is the paper's"},
     .prefix = "mse-vs-n",
     .title = "Decoding MSE against n (fp64 workers; max over layers, trials; random draws, "
              "worst set)",
     .xlabel = "number of workers n",
     .ylabel = "max layer MSE vs uncoded output (absolute)",
     .logy = 10, .xstep = 4, .build = fig_mse_vs_n},
    {.info = {"cond-vs-n",
              "worst condition number of the decoding system against n, per scheme",
              "runs named mse-vs-n* (scenarios/paper/mse-vs-n.ini) whose layers have cond"},
     .prefix = "mse-vs-n",
     .title = "Worst condition number of the decoding system against n",
     .xlabel = "number of workers n",
     .ylabel = "worst condition number (2-norm)",
     .logy = 10, .xstep = 4, .build = fig_cond_vs_n},
    {.info = {"latency-vs-stragglers",
              "mean latency against the number of slow workers, per scheme",
              "runs named stragglers* (scenarios/paper/stragglers*.ini), slow workers in [class slow]"},
     .prefix = "stragglers",
     .title = "Layer latency against stragglers (mean over trials, simulated and analytic)",
     .xlabel = "number of slow workers (stragglers)",
     .ylabel = "mean simulated latency (s)",
     .xstep = 1, .build = fig_stragglers},
    {.info = {"hetero-alloc",
              "latency quantiles of equal against proportional allocation, per-worker "
              "against per-task returns, on a heterogeneous cluster",
              "runs named hetero* (scenarios/paper/hetero-*.ini), [cluster] allocation and "
              "returns swept"},
     .prefix = "hetero",
     .title = "Allocation and returns on a heterogeneous cluster",
     .xlabel = "share of trials (empirical CDF)",
     .ylabel = "coded-layer latency (s), summed over the run's coded layers",
     .build = fig_hetero_alloc},
    {.info = {"upload-storage-vs-ka",
              "upload + storage bytes per worker against k_A at fixed delta",
              "runs named upload-storage* (scenarios/paper/upload-storage.ini), ka swept at fixed delta"},
     .prefix = "upload-storage",
     .title = "Upload + storage per worker against k_A at fixed {/Symbol d} = k_A k_B",
     .xlabel = "k_A (input partitions)",
     .ylabel = "upload + storage per worker (MB)",
     .logx = 2, .build = fig_upload_storage},
    {.info = {"phases",
              "share of each phase (encode, to worker, compute, to master, decode) per model",
              "runs named phases* (scenarios/paper/phases.ini)"},
     .prefix = "phases",
     .title = "Share of each phase in the summed conv-layer time (mean over runs)",
     .xlabel = "model, scheme (total of the phase times per inference)",
     .ylabel = "share of summed phase time (%)",
     .kind = FIG_STACKED_PCT, .build = fig_phases},
    {.info = {"latency-vs-burst",
              "95th percentile and mean of end-to-end latency against the mean slow stay of "
              "bursty (markov) stragglers at a fixed stationary slow share, per scheme",
              "runs named bursty* (scenarios/paper/bursty-*.ini), latency model markov"},
     .title = "End-to-end latency under bursty stragglers (same slow share; points: mean)",
     .xlabel = "mean stay in the slow state (s); left: independent limit",
     .ylabel = "95th percentile of simulated latency (s)",
     .logx = 10, .build = fig_bursty},
    {.info = {"e2e-vs-n",
              "end-to-end latency against n for each model",
              "runs named e2e* (scenarios/paper/e2e.ini)"},
     .prefix = "e2e",
     .title = "End-to-end latency per inference against n (mean over trials; analytic: conv "
              "layers only)",
     .xlabel = "number of workers n",
     .ylabel = "latency per inference (s)",
     .logy = 10, .xstep = 4, .build = fig_e2e},
    {.info = {"mse-vs-snr",
              "normalized MSE against worker SNR, per scheme",
              "runs named snr* (scenarios/paper/snr.ini) with a numeric [run] snr_db, compute=real",
              "fcdcc's own experiment: NSCTC-MATH.md section 8 quotes published numbers of another scheme (CRME, matrix-matrix products: 2.5e-8 at 80 dB, 2.4e-12 at 120 dB) that this convolution figure does not reproduce one to one"},
     .prefix = "snr",
     .title = "Normalized MSE against worker SNR (max over layers and trials)",
     .xlabel = "worker signal-to-noise ratio (dB)",
     .ylabel = "normalized MSE  ||y - y_{ref}||^2 / ||y_{ref}||^2",
     .logy = 10, .xstep = 10, .build = fig_snr},
    {.info = {"fp32-vs-fp64",
              "relative error with fp32, bf16 and fp16 against fp64 workers, per "
              "scheme, random straggler draws",
              "runs named precision* (scenarios/paper/precision*.ini), compute=real",
              "fcdcc's own experiment: the fp32 numbers of NSCTC-MATH.md section 8 (about 1e-5 for rotation embedding, about 1 for poly-real at n = 20) come from our own independent numpy model, not from a publication"},
     .prefix = "precision",
     .title = "fp32, bf16, fp16 against fp64 workers, random draws (decoding in fp64; max "
              "over layers, trials)",
     .xlabel = "number of workers n",
     .ylabel = "max layer relative error",
     .logy = 10, .build = fig_precision},
    {.info = {"precision-worst-set",
              "the same with the worst-conditioned set of returning workers",
              "runs named precision*-worst (scenarios/paper/precision-n*-worst.ini), "
              "[cluster] stragglers = worst, compute=real",
              "fcdcc's own experiment (the same remark as fp32-vs-fp64)"},
     .prefix = "precision",
     .title = "fp32, bf16, fp16 against fp64 workers, worst set (decoding in fp64; max over "
              "layers)",
     .xlabel = "number of workers n",
     .ylabel = "max layer relative error",
     .logy = 10, .build = fig_precision_worst},
    {.info = {"sim-vs-real",
              "layer latency: simulator against MPI runs of the same layer",
              "backend='sim' and backend='mpi' runs of the same model, scheme, n, layer, k_A, k_B "
              "and precision; one series per (simulated, MPI) pair of experiments, marked "
              "'held out' when the MPI run's [run] name contains holdout "
              "(scripts/sim-vs-real.sh)"},
     .title = "Layer latency: simulator against MPI processes",
     .xlabel = "simulated layer latency (s)",
     .ylabel = "measured MPI layer latency (s)",
     .logx = 10, .logy = 10, .diag = 1, .build = fig_sim_vs_real},
    {.info = {"fashion-agreement-vs-n",
              "Fashion-MNIST: share of test images where the coded pipeline's class equals "
              "the uncoded one, against n, per trained network, scheme and precision",
              "runs named fashion-n* with a [data] section (scenarios/paper/fashion-n.ini)"},
     .prefix = "fashion-n",
     .title = "Fashion-MNIST: coded argmax = uncoded argmax (trained LeNet-5 and ResNet-8)",
     .xlabel = "number of workers n",
     .ylabel = "agreement with the uncoded class (share of images)",
     .xstep = 4, .build = fig_fashion},
    {.info = {"berrut-error",
              "Berrut approximate code: error against the number of results used, "
              "beside nsctc-rot's exact threshold",
              "runs named berrut-error* (scenarios/paper/berrut-error.ini), compute=real"},
     .prefix = "berrut-error",
     .title = "Berrut approximate code: error against results used (nsctc-rot: exact at its "
              "threshold)",
     .xlabel = "results the decoder used",
     .ylabel = "mean layer relative error",
     .logy = 10, .build = fig_berrut},
    {.info = {"berrut-latency",
              "Berrut approximate code: error against layer latency, beside nsctc-rot",
              "runs named berrut-error* (scenarios/paper/berrut-error.ini), compute=real"},
     .prefix = "berrut-error",
     .title = "Berrut approximate code: error against layer latency (nsctc-rot: exact)",
     .xlabel = "mean simulated layer latency (s)",
     .ylabel = "mean layer relative error",
     .logy = 10, .build = fig_berrut_latency},
    {.info = {"energy-vs-latency",
              "energy per inference against latency, one point per configuration, per "
              "scheme, with the Pareto front over all schemes",
              "runs named energy* with energy modelled (scenarios/paper/energy-*.ini)"},
     .prefix = "energy",
     .title = "Energy against latency per inference (one point per configuration; large: "
              "Pareto front)",
     .xlabel = "mean simulated latency per inference (s)",
     .ylabel = "mean energy per inference, workers + master (J)",
     .build = fig_energy},
    {.info = {"load-p99",
              "p99 latency of a request stream against the offered load, per scheme, "
              "(k_A, k_B) and cancel policy (unsaturated points)",
              "runs named load-* with [load] arrivals (scenarios/paper/load-*.ini)"},
     .title = "Under load: p99 latency against offered Poisson load (unsaturated)",
     .xlabel = "offered load (requests/s)",
     .ylabel = "p99 request latency (s)",
     .logy = 10, .build = fig_load_p99},
    {.info = {"load-mean",
              "mean latency of a request stream against the offered load, per scheme, "
              "(k_A, k_B) and cancel policy (unsaturated points)",
              "runs named load-* with [load] arrivals (scenarios/paper/load-*.ini)"},
     .title = "Under load: mean latency against offered Poisson load (unsaturated)",
     .xlabel = "offered load (requests/s)",
     .ylabel = "mean request latency (s)",
     .logy = 10, .build = fig_load_mean},
    {.info = {"e2e-delta-auto",
              "end-to-end latency against n with [coding] delta = auto (each coded layer's "
              "latency-optimal delta and pair from the analytic model) against a fixed split, "
              "beside the analytic conv-layer latency",
              "runs named delta-auto* (scenarios/paper/delta-auto.ini, delta-auto-fixed.ini)"},
     .prefix = "delta-auto",
     .title = "{/Symbol d} = auto against a fixed split: latency per inference (analytic: conv "
              "layers)",
     .xlabel = "number of workers n",
     .ylabel = "latency per inference (s)",
     .xstep = 4, .build = fig_delta_auto},
    {.info = {"storage-vs-limit",
              "per-worker storage needed under the whole-model and per-layer checks against "
              "the worker storage limit, with on_storage = fail and repartition (feasible runs; "
              "a curve ends where no split fits), beside the paper's storage cost",
              "runs named storage-limit* (scenarios/paper/storage-limit.ini), [cluster] "
              "storage, on_storage and storage_bytes swept"},
     .prefix = "storage-limit",
     .title = "Storage a worker needs against its storage limit (feasible runs)",
     .xlabel = "worker storage limit (MB)",
     .ylabel = "per-worker storage needed (MB)",
     .logx = 10, .logy = 10, .build = fig_storage_limit},
};

#define N_FIGURES (sizeof figures / sizeof figures[0])

size_t res_plot_figure_count(void) { return N_FIGURES; }

const char *res_plot_figure_provenance(const res_plot_figure_info *fi) {
  return fi && fi->claim ? fi->claim
                         : "fcdcc's own experiment (our reading of the scheme; no published "
                           "number to compare with)";
}

const res_plot_figure_info *res_plot_figure_at(size_t i) {
  return i < N_FIGURES ? &figures[i].info : NULL;
}

static const fig_def *figure_def(const char *name) {
  for (size_t i = 0; name && i < N_FIGURES; i++)
    if (strcmp(figures[i].info.name, name) == 0) return &figures[i];
  return NULL;
}

const res_plot_figure_info *res_plot_figure_find(const char *name) {
  const fig_def *d = figure_def(name);
  return d ? &d->info : NULL;
}

/* The line under the plot: which keys split series (so the reader knows the legend's
 * parentheses are sweep points, not pooled), and how the error bars were made. */
static void note_splits(fig *f, const split_ctx *sx, const char *ran) {
  char keys[FIG_TEXT] = "";
  size_t used = 0;
  for (size_t k = 0; k < res_points_nkeys(sx->pts) && used < sizeof keys; k++)
    if (sx->mask[k]) {
      char name[96];
      res_points_display(sx->pts, k, sx->mask, name, sizeof name);
      used += (size_t)snprintf(keys + used, sizeof keys - used, "%s%s", used ? ", " : "", name);
    }
  int bars = 0;
  for (size_t i = 0; i < f->ns; i++) bars |= f->s[i].band;
  char note[3 * FIG_TEXT];
  snprintf(note, sizeof note, "%s%s%s%s%s%s", ran, ran[0] && (bars || keys[0]) ? " - " : "",
           bars ? "error bars: 95% t-interval of the mean" : "", bars && keys[0] ? " - " : "",
           keys[0] ? "series split by sweep keys: " : "", keys);
  res_fig_text_clean(f->note, sizeof f->note, note);
}

/* "what was run" of the figure's runs: models, n, layers, number of runs (no prefix: "") */
static int what_ran(res_db *db, const fig_def *d, char *buf, size_t cap, cod_err *err) {
  buf[0] = 0;
  if (!d->prefix) return COD_OK;
  sqlite3_stmt *st;
  int rc = prepare(db, SEL "SELECT group_concat(DISTINCT replace(replace(model, "
                           "'models/trained/', ''), '.onnx', '')), group_concat(DISTINCT "
                           "workers), group_concat(DISTINCT json_extract(params_json, "
                           "'$.model.layers')), COUNT(*) FROM sel",
                   d->prefix, &st, err);
  if (rc) return rc;
  if ((rc = sqlite3_step(st)) == SQLITE_ROW && sqlite3_column_int64(st, 3) > 0) {
    const char *m = (const char *)sqlite3_column_text(st, 0);
    const char *n = (const char *)sqlite3_column_text(st, 1);
    const char *l = (const char *)sqlite3_column_text(st, 2);
    snprintf(buf, cap, "runs: %s, n = %s, conv layers %s, %lld runs", m ? m : "?", n ? n : "?",
             l ? l : "all", (long long)sqlite3_column_int64(st, 3));
  }
  sqlite3_finalize(st);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? COD_OK : res_fail_sqlite(db, rc, "figure query", err);
}

/* Fill f from its entry: the labels and axes, then the queries. */
static int fig_build(res_db *db, const fig_def *d, fig *f, cod_err *err) {
  f->info = &d->info;
  f->kind = d->kind;
  snprintf(f->title, sizeof f->title, "%s", d->title);
  snprintf(f->xlabel, sizeof f->xlabel, "%s", d->xlabel);
  snprintf(f->ylabel, sizeof f->ylabel, "%s", d->ylabel);
  f->logx = d->logx, f->logy = d->logy, f->xstep = d->xstep, f->diag = d->diag;
  char ran[FIG_TEXT];
  int rc = what_ran(db, d, ran, sizeof ran, err);
  if (rc) return rc;
  split_ctx sx;
  rc = split_begin(db, &sx, err);
  if (rc) return rc;
  f->split = &sx;
  rc = d->build(db, f, err);
  if (!rc) note_splits(f, &sx, ran);
  f->split = NULL;
  split_end(db, &sx);
  if (rc) return rc;
  return res_fig_points(f) ? COD_OK : no_data(f, err);
}

int res_fig_build_named(res_db *db, const char *name, fig *f, cod_err *err) {
  const fig_def *d = figure_def(name);
  if (!d) return cod_err_set(err, COD_EINVAL, "plot: unknown figure '%s' (see --list)",
                             name ? name : "(null)");
  return fig_build(db, d, f, err);
}

int res_plot_figure(res_db *db, const char *name, const char *out_dir,
                    const res_plot_opts *opts, cod_err *err) {
  const fig_def *d = figure_def(name);
  if (!d) return cod_err_set(err, COD_EINVAL, "plot: unknown figure '%s' (see --list)",
                             name ? name : "(null)");
  fig g;
  memset(&g, 0, sizeof g);
  int rc = fig_build(db, d, &g, err);
  if (!rc) rc = res_draw_figure(&g, out_dir, opts, err);
  res_fig_fini(&g);
  return rc;
}

/* ---- the reproduction report ------------------------------------------------------------ */

static void md_cell(FILE *out, sqlite3_stmt *st, int i) {
  switch (sqlite3_column_type(st, i)) {
  case SQLITE_NULL: fputs(" - |", out); break;
  case SQLITE_INTEGER: fprintf(out, " %lld |", (long long)sqlite3_column_int64(st, i)); break;
  case SQLITE_FLOAT: fprintf(out, " %.3g |", sqlite3_column_double(st, i)); break;
  default: {
    char clean[FIG_TEXT];
    const unsigned char *s = sqlite3_column_text(st, i);
    res_fig_text_clean(clean, sizeof clean, s ? (const char *)s : "");
    fprintf(out, " %s |", clean);
  }
  }
}

/* One Markdown section: heading, a sentence, then the table of sql (prefix bound to ?1),
 * or a line saying which runs are missing. */
static int md_table(res_db *db, FILE *out, const char *heading, const char *text,
                    const char *sql, const char *prefix, const char *needs,
                    const char *unsplit, split_ctx *sx, cod_err *err) {
  sqlite3_stmt *st;
  int rc = prepare(db, sql, prefix, &st, err), ncell = 0;
  if (rc) return rc;
  for (int i = 0; i < sqlite3_column_count(st); i++) /* the group columns: before `point` */
    if (strcmp(sqlite3_column_name(st, i), "point") == 0) ncell = i;
  sqlite3_finalize(st);
  int split = sx && ncell > 0;
  if (split) { /* the keys that differ inside a row of the first ncell columns */
    split_reset_table(sx);
    if ((rc = split_probe(db, sx, sql, prefix, ncell, err))) return rc;
    split_exempt(sx, unsplit);
  }
  int show_point = 0;
  for (size_t k = 0; split && k < res_points_nkeys(sx->pts); k++) show_point |= sx->mask[k];
  rc = prepare(db, sql, prefix, &st, err);
  if (rc) return rc;
  fprintf(out, "## %s\n\n%s\n\n", heading, text);
  int ncol = sqlite3_column_count(st);
  size_t rows = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (rows++ == 0) { /* text columns left-aligned, numbers right-aligned */
      fputc('|', out);
      for (int i = 0; i < ncol; i++)
        if (show_point || strcmp(sqlite3_column_name(st, i), "point") != 0)
          fprintf(out, " %s |", sqlite3_column_name(st, i));
      fputs("\n|", out);
      for (int i = 0; i < ncol; i++)
        if (show_point || strcmp(sqlite3_column_name(st, i), "point") != 0)
          fputs(sqlite3_column_type(st, i) == SQLITE_TEXT ? " :--- |" : " ---: |", out);
      fputc('\n', out);
    }
    fputc('|', out);
    for (int i = 0; i < ncol; i++)
      if (show_point || strcmp(sqlite3_column_name(st, i), "point") != 0) md_cell(out, st, i);
    fputc('\n', out);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return res_fail_sqlite(db, rc, "report query", err);
  if (!rows) fprintf(out, "_No data in this database: needs %s._\n", needs);
  fputc('\n', out);
  return COD_OK;
}

#define STRAGGLERS_OF                                                                      \
  "COALESCE(json_extract(r.params_json, '$.cluster.stragglers'), 'random')"

#define MSE_N20                                                                            \
  SEL "SELECT r.scheme AS scheme, " STRAGGLERS_OF " AS stragglers, " PT_COL ", COUNT(*) AS " \
      "conv_decodes, MAX(l.mse) AS max_mse, "                                              \
      "AVG(l.mse) AS mean_mse, MAX(l.rel_error) AS max_rel_error FROM sel r JOIN layers l " \
      "ON l.run_id = r.run_id WHERE r.model = 'alexnet' AND r.workers = 20 AND "          \
      "r.precision = 'fp64' AND l.status = 'ok' AND l.mse IS NOT NULL GROUP BY 1, 2, 3 "  \
      "ORDER BY 1, 2, 3"

#define MSE_N20_LAYERS                                                                     \
  SEL "SELECT l.layer_name AS layer, r.scheme AS scheme, l.ka AS ka, l.kb AS kb, "          \
      STRAGGLERS_OF " AS stragglers, "                                                      \
      "MAX(l.mse) AS max_mse, MAX(l.cond) AS worst_cond FROM sel r JOIN layers l ON "       \
      "l.run_id = r.run_id WHERE r.model = 'alexnet' AND r.workers = 20 AND r.precision = " \
      "'fp64' AND l.status = 'ok' AND l.mse IS NOT NULL AND r.scheme IN ('nsctc-rot', "      \
      "'poly-real') GROUP BY l.layer_index, r.scheme, l.ka, l.kb, 5 ORDER BY l.layer_index, " \
      "r.scheme, 5"

#define COND_N                                                                             \
  SEL "SELECT r.workers AS n, r.scheme AS scheme, " STRAGGLERS_OF " AS stragglers, "      \
      PT_COL ", COUNT(*) AS decodes, MAX(l.cond) AS worst_cond, SUM(l.cond_flagged) AS flagged "     \
      "FROM sel r JOIN layers l ON l.run_id = r.run_id WHERE l.cond IS NOT NULL GROUP BY "  \
      "1, 2, 3, 4 ORDER BY 1, 2, 3, 4"

#define STRAGGLERS                                                                         \
  SEL "SELECT r.scheme AS scheme, " SLOW_COUNT " AS slow_workers, " PT_COL ", COUNT(*) AS runs, " \
      "SUM(r.status = 'ok') AS ok, AVG(CASE WHEN r.status = 'ok' THEN r.latency_s END) AS " \
      "mean_latency_s, AVG(CASE WHEN r.status = 'ok' THEN (SELECT SUM(l.an_latency_s) FROM " \
      "layers l WHERE l.run_id = r.run_id) END) AS analytic_latency_s FROM sel r "          \
      "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"

#define HETERO                                                                             \
  SEL ", k AS (SELECT json_extract(r.params_json, '$.run.name') AS name, " ALLOC_KEY " AS "  \
      "policy, (SELECT SUM(l.t_total_s) FROM layers l WHERE l.run_id = r.run_id) AS lat, "  \
      "(SELECT SUM(l.an_latency_s) FROM layers l WHERE "                                    \
      "l.run_id = r.run_id) AS an FROM sel r WHERE r.status = 'ok'), "                      \
      "o AS (SELECT name, policy, lat, an, ROW_NUMBER() OVER (PARTITION BY name, policy "   \
      "ORDER BY lat) AS rn, COUNT(*) OVER (PARTITION BY name, policy) AS m FROM k) "       \
      "SELECT name, policy, COUNT(*) AS runs, AVG(lat) AS mean_latency_s, "                 \
      "MAX(CASE WHEN rn = (95 * m + 99) / 100 THEN lat END) AS p95_latency_s, "            \
      "AVG(an) AS analytic_latency_s FROM o GROUP BY 1, 2 ORDER BY 1, 2"

#define E2E                                                                                \
  SEL "SELECT r.model AS model, r.scheme AS scheme, r.workers AS n, " PT_COL ", COUNT(*) AS runs, "     \
      "SUM(r.status = 'ok') AS ok, AVG(CASE WHEN r.status = 'ok' THEN r.latency_s END) AS " \
      "mean_latency_s, MAX(CASE WHEN r.status = 'ok' THEN r.latency_s END) AS "             \
      "max_latency_s, AVG(CASE WHEN r.status = 'ok' THEN (SELECT SUM(l.an_latency_s) FROM " \
      "layers l WHERE l.run_id = r.run_id) END) AS analytic_conv_s FROM sel r GROUP BY 1, " \
      "2, 3, 4 ORDER BY 1, 2, 3, 4"

/* Runs with one coded task per worker and one message each (no [cluster] allocation or
 * per-task returns; files written before those keys count as such): the an_* byte columns
 * of the other runs describe one task, not a worker's share. */
#define ONE_TASK_EACH                                                                      \
  "COALESCE(json_extract(r.params_json, '$.cluster.allocation'), 'equal') = 'equal' AND "  \
  "COALESCE(json_extract(r.params_json, '$.cluster.returns'), 'per-worker') = 'per-worker'"

#define BURSTY                                                                             \
  BURSTY_RANKED_TAGGED("") "SELECT k AS series, point, MAX(n) AS runs, AVG(y) AS "          \
  "mean_latency_s, MIN(CASE WHEN rk >= 0.95 * n THEN y END) AS p95_latency_s FROM t "        \
  "GROUP BY k, point, x, xf ORDER BY 1, x, xf"

#define ANALYTIC                                                                           \
  "WITH lw AS (SELECT run_id, layer_index, AVG(bytes_to_worker) AS up, AVG(NULLIF(bytes_to_master, "   \
  "0)) AS down, AVG(bytes_stored) AS st FROM workers GROUP BY run_id, layer_index) "        \
  "SELECT r.scheme AS scheme, json_extract(r.params_json, '$.run.name') AS experiment, "   \
  "r.model AS model, r.workers AS n, " PT_COL ", COUNT(*) AS layers, AVG(lw.up) AS to_worker_B, "                    \
  "AVG(l.an_to_worker_bytes) AS an_to_worker_B, AVG(lw.down) AS to_master_B, AVG(l.an_to_master_bytes) AS " \
  "an_to_master_B, AVG(lw.st) AS stored_B, AVG(l.an_storage_bytes) AS an_stored_B, "            \
  "AVG(CASE WHEN l.an_latency_s IS NOT NULL THEN l.t_total_s END) AS layer_s, "           \
  "AVG(l.an_latency_s) AS an_layer_s FROM runs r JOIN "                                    \
  "layers l ON l.run_id = r.run_id JOIN lw ON lw.run_id = l.run_id AND lw.layer_index = "  \
  "l.layer_index WHERE r.backend = 'sim' AND l.status = 'ok' AND l.an_to_worker_bytes IS NOT " \
  "NULL AND " ONE_TASK_EACH " GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5"

#define PREC_MAX(p)                                                                        \
  "MAX(CASE WHEN r.precision = '" p "' AND l.status = 'ok' THEN l.rel_error END) AS " p     \
  "_max_rel, "

#define PRECISION                                                                          \
  SEL "SELECT r.scheme AS scheme, r.workers AS n, l.ka AS ka, l.kb AS kb, " STRAGGLERS_OF  \
      " AS stragglers, " PT_COL ", " PREC_MAX("fp64") PREC_MAX("fp32") PREC_MAX("bf16") PREC_MAX("fp16") \
      "SUM(l.status = 'error') AS numeric_failures FROM sel r JOIN layers l ON "            \
      "l.run_id = r.run_id WHERE l.status IN ('ok', 'error') GROUP BY 1, 2, 3, 4, 5, 6 "    \
      "ORDER BY 1, 2, 5, 6"

#define BERRUT                                                                             \
  SEL "SELECT r.scheme AS scheme, r.workers AS n, l.ka * l.kb AS k, " N_USED " AS "         \
      "results_used, " PT_COL ", COUNT(*) AS decodes, AVG(l.rel_error) AS mean_rel_error, "             \
      "MAX(l.rel_error) AS max_rel_error, MAX(l.mse) AS max_mse, AVG(l.t_total_s) AS "     \
      "mean_layer_s FROM sel r JOIN layers l ON l.run_id = r.run_id WHERE l.status = 'ok' " \
      "AND l.workers_used IS NOT NULL GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5"

#define SNR                                                                                \
  SEL "SELECT r.scheme AS scheme, " STRAGGLERS_OF " AS stragglers, json_extract("          \
      "r.params_json, '$.run.snr_db') AS snr_db, " PT_COL ", "                             \
      "COUNT(*) AS decodes, MAX(l.rel_error * l.rel_error) AS max_nmse FROM sel r JOIN "    \
      "layers l ON l.run_id = r.run_id WHERE l.status = 'ok' AND typeof(json_extract("     \
      "r.params_json, '$.run.snr_db')) IN ('integer', 'real') GROUP BY 1, 2, 3, 4 ORDER BY " \
      "1, 2, 3, 4"

/* Top-1 under coding over a data set (the data_runs table of schema version 2). */
#define FASHION                                                                            \
  SEL "SELECT r.model AS model, r.scheme AS scheme, r.workers AS n, r.ka AS ka, r.kb AS kb, " \
      "r.precision AS prec, COALESCE(json_extract(r.params_json, '$.run.snr_db'), 'none') "  \
      "AS snr_db, " PT_COL ", SUM(d.images) AS images, AVG(d.top1_uncoded) AS top1_uncoded, "            \
      "AVG(d.top1_coded) AS top1_coded, AVG(d.agreement) AS agreement, SUM(d.undecodable) "  \
      "AS undecodable, MAX(d.max_logit_error) AS max_logit_err FROM sel r JOIN data_runs d " \
      "ON d.run_id = r.run_id GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8"

/* The largest offered load each combination sustains (unsaturated, p99 at or under the
 * target) and the largest it serves unsaturated, over the load-* runs. */
#define LOAD_MAX(target)                                                                    \
  "MAX(CASE WHEN l.saturated = 0 AND l.lat_p99_s <= " target " THEN l.offered_per_s END) " \
  "AS max_load_p99_le_" target "s, "
#define LOAD_TABLE                                                                          \
  SEL "SELECT r.model AS model, r.workers AS n, r.scheme AS scheme, r.ka AS ka, r.kb AS kb, " \
      "l.cancel AS cancel, l.service AS service, " PT_COL ", " LOAD_MAX("3") LOAD_MAX("10") \
      "MAX(CASE WHEN l.saturated = 0 THEN l.offered_per_s END) AS max_unsaturated, "         \
      "MIN(CASE WHEN l.saturated = 1 THEN l.offered_per_s END) AS first_saturated, "         \
      "MIN(l.lat_p99_s) AS best_p99_s FROM sel r JOIN load_runs l ON l.run_id = r.run_id "   \
      "WHERE l.offered_per_s IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1, 2, 3, " \
      "4, 5, 6, 7, 8"

/* Energy per request under load (load_runs energy columns, schema version 10): per scheme,
 * split, cancel policy and offered load, the mean request energy (its own work, no idle
 * share) with its batch-means CI, and the run's total per done request with the shares of
 * idle power and of orphaned tasks in it. */
#define LOAD_ENERGY                                                                         \
  SEL "SELECT r.scheme AS scheme, r.workers AS n, r.ka AS ka, r.kb AS kb, l.cancel AS "     \
      "cancel, l.offered_per_s AS offered_per_s, " PT_COL ", COUNT(*) AS runs, "            \
      "AVG(l.energy_req_mean_j) AS request_j, AVG(l.energy_req_mean_ci_j) AS ci95_j, "      \
      "AVG(l.energy_j / l.completed) AS total_per_done_j, AVG(l.energy_idle_j / l.energy_j) " \
      "AS idle_share, AVG(l.energy_unattributed_j / l.energy_j) AS orphan_share, "           \
      "MAX(l.saturated) AS saturated FROM sel r JOIN load_runs l ON l.run_id = r.run_id "   \
      "WHERE l.energy_j IS NOT NULL AND l.completed > 0 GROUP BY 1, 2, 3, 4, 5, 6, 7 "      \
      "ORDER BY 1, 2, 3, 4, 5, 6, 7"

#define DELTA_AUTO                                                                         \
  SEL "SELECT " DELTA_AUTO_KEY " AS series, r.workers AS n, " PT_COL ", COUNT(*) AS runs, "  \
      "AVG(r.latency_s) AS mean_latency_s, res_ci95(r.latency_s) AS ci95_s, AVG((SELECT "    \
      "SUM(l.an_latency_s) FROM layers l WHERE l.run_id = r.run_id)) AS analytic_conv_s, "    \
      "(SELECT group_concat(DISTINCT l.delta) FROM layers l WHERE l.run_id = r.run_id) "     \
      "AS deltas FROM sel r WHERE r.status = 'ok' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"

#define STORAGE_TABLE                                                                      \
  SEL "SELECT json_extract(r.params_json, '$.cluster.storage') AS storage, "              \
      "json_extract(r.params_json, '$.cluster.on_storage') AS on_storage, " STORAGE_LIMIT    \
      " AS limit_B, " PT_COL ", r.status AS status, CASE WHEN " STORAGE_WHOLE " THEN "      \
      "r.storage_model_bytes WHEN r.status = 'ok' THEN (SELECT MAX(w.bytes_stored) FROM "   \
      "workers w WHERE w.run_id = r.run_id) END AS need_B, CASE WHEN " STORAGE_WHOLE " THEN "              \
      "r.an_storage_model_bytes WHEN r.status = 'ok' THEN (SELECT MAX(l.an_storage_bytes) "  \
      "FROM layers l WHERE l.run_id = r.run_id) END AS an_need_B, r.storage_overflow_layer AS overflow_layer, "  \
      "r.storage_overflow_bytes AS overflow_B, (SELECT group_concat(l.ka || 'x' || l.kb, "   \
      "' ') FROM layers l WHERE l.run_id = r.run_id) AS splits FROM sel r WHERE r.trial = 0 ORDER BY 1, 2, 3, 4"

#define RUNS_BY_NAME                                                                       \
  "SELECT json_extract(params_json, '$.run.name') AS experiment, backend, COUNT(*) AS "    \
  "runs, SUM(status = 'ok') AS ok, SUM(status = 'undecodable') AS undecodable, "           \
  "SUM(status LIKE 'infeasible%') AS infeasible, SUM(status = 'error') AS singular FROM "   \
  "runs GROUP BY 1, 2 ORDER BY 1, 2"

int res_plot_report_write(res_db *db, FILE *out, const char *preamble, cod_err *err) {
  static const struct {
    const char *heading, *text, *sql, *prefix, *needs;
    const char *unsplit; /* a key the table shows as columns: never a point (NULL: none) */
  } t[] = {
      {"Max MSE on AlexNet's conv layers, n = 20 (NSCTC against poly-real)",
       "Absolute mean squared error of each decoded conv output against the uncoded fp64 "
       "pipeline, fp64 workers, over all trials (the paper's abstract reports about 1e-27 for "
       "NSCTC: the one published number we check; NSCTC-MATH.md section 8 adds about 1e-17 "
       "for a real-Vandermonde code, which we could not trace to the paper). stragglers = "
       "random: each trial's latency draws pick the decoding set; worst: the decoder used "
       "the worst-conditioned set of the code (scenarios mse-vs-n-worst*), so max_mse is "
       "the code's worst case, to set beside the paper's 1e-27.",
       MSE_N20, "mse-vs-n", "runs named mse-vs-n* with model alexnet, n = 20, compute=real", NULL},
      {"The same, per conv layer", "Worst MSE and condition number per layer.",
       MSE_N20_LAYERS, "mse-vs-n", "runs named mse-vs-n* with model alexnet, n = 20", NULL},
      {"Worst condition number per n", "Largest condition number of a decoding system seen "
       "per (n, scheme); flagged = decodes above the scenario's cond_bound.",
       COND_N, "mse-vs-n", "runs named mse-vs-n*", NULL},
      {"Latency per scheme against stragglers", "Slow workers are the [class slow] workers; "
       "latency is the simulated time of the selected layers (mean over ok runs), beside the "
       "analytic expectation summed over those layers (NULL = not stored).",
       STRAGGLERS, "stragglers", "runs named stragglers*", NULL},
      {"Allocation and returns on a heterogeneous cluster", "Equal allocation (one coded "
       "task per worker) against proportional allocation ([cluster] tasks shared by class "
       "speed), with one message per worker or one per task; mean and nearest-rank p95 of "
       "the simulated coded-layer latency (layers.t_total_s summed per run) over ok runs, "
       "beside the analytic expectation (an_alloc for task allocation and per-task "
       "returns; equal allocation with per-worker returns by the numerical order statistic "
       "over the classes).", HETERO, "hetero", "runs named hetero*", NULL},
      {"End-to-end latency under bursty stragglers", "Per model, scheme, n and markov chain "
       "(point: the mean stays in the slow and fast state, s): mean and nearest-rank 95th "
       "percentile of "
       "the simulated latency of one inference. Every bursty-*.ini has the same stationary "
       "slow share, so the per-layer marginal law is the same and the means should agree; "
       "burstiness moves the tail.", BURSTY, "bursty", "runs named bursty* with latency model markov", NULL},
      {"End-to-end latency per model", "Simulated latency of one inference (all layers, master "
       "layers included); analytic_conv_s sums the analytic conv-layer latencies.",
       E2E, "e2e", "runs named e2e*", NULL},
      {"Analytic against simulated bytes and latency", "Per scheme over every simulated layer "
       "that stored analytic values: mean per-worker bytes counted by the simulator (to_master "
       "over workers that returned a result) against the analytic model, and the layer latency "
       "of the layers with an analytic latency (every law and worker classes; none with "
       "scheduled failures); runs with [cluster] allocation or per-task returns are in the "
       "allocation table.",
       ANALYTIC, NULL, "layers with an_* columns (written by the current runner)", NULL},
      {"fp32, bf16 and fp16 against fp64 workers", "Max relative error of a decoded layer "
       "output; decoding is always fp64. bf16/fp16 workers round their operands to 16 bits "
       "and accumulate in fp32 (decision 010). stragglers = worst: the worst-conditioned "
       "set. numeric_failures = layers stored as status 'error': a system singular to "
       "working precision (cond above 1/rank_rtol = 1e13), or fp16 operands that "
       "overflowed on enough workers to leave the layer undecodable; no output.",
       PRECISION, "precision", "runs named precision*", "run.precision"},
      {"Berrut approximate code: error against results used", "Per number of results the "
       "decoder used (workers_used): berrut decodes from any number (approx_wait), "
       "nsctc-rot exactly from its threshold delta = k_A k_B; relative error against the "
       "uncoded pipeline (NSCTC-MATH.md section 9).", BERRUT, "berrut-error",
       "runs named berrut-error* (scenarios/paper/berrut-error.ini)", NULL},
      {"Error against worker SNR", "Max normalized MSE (rel_error squared) over layers and "
       "trials.", SNR, "snr", "runs named snr*", NULL},
      {"Top-1 on Fashion-MNIST under coding", "The shipped LeNet-5 and ResNet-8 "
       "(models/trained) on Fashion-MNIST test images, each image one coded inference with "
       "fresh straggler draws: top-1 of the uncoded and of the coded pipeline, agreement (share "
       "of images whose coded argmax equals the uncoded one; an undecodable image disagrees) "
       "and the largest logit error, per network, scheme, n, split, precision and worker SNR "
       "(fashion-n, fashion-precision with fp64/fp32/bf16/fp16, fashion-snr).", FASHION,
       "fashion", "runs named fashion* with [data]", NULL},
      {"Energy against latency: the Pareto front", "Configurations (sweep points, mean over "
       "their trials) that no other configuration beats in both latency and energy per "
       "inference (workers + master, runner/run_energy.h); ka, kb, delta of the first coded "
       "layer.", ENERGY_PTS "SELECT scheme, ka, kb, delta, runs, latency_s, energy_j "
       ENERGY_FRONT "ORDER BY latency_s", "energy",
       "runs named energy* with energy modelled (scenarios/paper/energy-*.ini)", NULL},
      {"Serving under load: the largest load sustained at a p99 target",
       "AlexNet on 20 workers under a Poisson stream (scenarios/paper/load-*.ini, "
       "docs/load.md): per scheme, (k_A, k_B) and cancel policy, the largest offered load "
       "(requests/s) of the sweep whose p99 latency is at most 3 s and 10 s without "
       "saturating, the largest unsaturated load, the first saturated one (more than "
       "[load] queue_limit requests in flight), and the best p99 of the sweep. A coarse "
       "grid: the sweep's step (0.25 requests/s) bounds each number.", LOAD_TABLE, "load-",
       "runs named load-* with [load] arrivals", "load.rate_per_s"},
      {"Energy per request under load", "AlexNet on 20 edge workers under a Poisson stream "
       "with energy modelled (scenarios/paper/serve-energy.ini): per scheme, (k_A, k_B), "
       "cancel policy and offered load (requests/s), the mean energy of a measured request "
       "(J: busy power, FLOPs and bytes of its own tasks and master jobs; no idle share) with "
       "its 95% batch-means half-width; the run's total energy per done request (idle power "
       "of every worker and the master over the run included), and the shares of that total "
       "that are idle power and work of tasks that ran on after their request ended "
       "(cancel = never).", LOAD_ENERGY, "serve-energy",
       "runs named serve-energy* with [load] arrivals and energy modelled", "load.rate_per_s"},
      {"delta = auto against a fixed split", "VGG-16 end to end (scenarios/paper/"
       "delta-auto*.ini): mean simulated latency per inference over ok runs with its 95% "
       "t-interval half-width, beside the analytic conv-layer sum, and the deltas the coded "
       "layers ran with (distinct values, in layer order of first use).", DELTA_AUTO,
       "delta-auto", "runs named delta-auto*", NULL},
      {"Storage against the worker limit", "Per check ([cluster] storage), policy "
       "(on_storage) and worker storage limit (scenarios/paper/storage-limit.ini): the "
       "run's status, the per-worker storage it needed (whole-model: storage_model_bytes; "
       "per-layer: the largest bytes_stored of a worker in one layer, for runs that ran "
       "every layer) beside the paper's storage cost (an_*; whole-model: the plan of every "
       "layer, also when an earlier one overflowed), the first overflowing layer and its overflow, and the split "
       "(k_A x k_B) each conv layer ran with: repartition changes a split only when it does "
       "not fit.", STORAGE_TABLE, "storage-limit", "runs named storage-limit*", NULL},
      {"Runs in this database", "Per experiment ([run] name) and backend; singular = runs "
       "stopped by a decoding system singular to working precision.", RUNS_BY_NAME, NULL,
       "any run", NULL},
  };
  fputs("# fcdcc: reproduction report\n\n", out);
  if (preamble) fprintf(out, "%s\n\n", preamble);
  fputs("## What is the paper's and what is ours\n\nThe paper's full text is not available "
        "to us; its abstract gives one number (maximum MSE about 1e-27 for AlexNet's conv "
        "layers at n = 20). Per figure: the claim it checks, or that it is fcdcc's own "
        "experiment on our reading of the scheme. Tables below: a column `point` appears "
        "when runs that the other columns would pool differ in some scenario key, and holds "
        "those keys' values.\n\n| figure | provenance |\n| :--- | :--- |\n", out);
  for (size_t i = 0; i < res_plot_figure_count(); i++) {
    const res_plot_figure_info *fi = res_plot_figure_at(i);
    fprintf(out, "| %s | %s |\n", fi->name, res_plot_figure_provenance(fi));
  }
  fputc('\n', out);
  split_ctx sx;
  int src = split_begin(db, &sx, err);
  if (src) return src;
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    int rc = md_table(db, out, t[i].heading, t[i].text, t[i].sql, t[i].prefix, t[i].needs,
                      t[i].unsplit, &sx, err);
    if (rc) {
      split_end(db, &sx);
      return rc;
    }
  }
  split_end(db, &sx);
  if (fflush(out) != 0 || ferror(out))
    return cod_err_set(err, COD_EIO, "report: write error");
  return COD_OK;
}
