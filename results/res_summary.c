/* res_summary.c: the summary and per-scheme reports, grouped so that no row pools runs of
 * different sweep points (see res_report.h and res_points.h).
 *
 * Design. The statistics are computed here, in C, from one pass over per-run rows (runs,
 * plus per-run sums from workers and layers), because the grouping is data-dependent: a
 * group is its fixed columns plus the values of the scenario keys that split them
 * (res_points_split), or exactly the keys the user named (--by). SQL cannot GROUP BY a
 * column list that is only known at run time without building SQL from data, which the
 * house forbids. Each run is one record; the records are sorted by group, and every group
 * is reduced with res_stats (the same functions the figures use). The result is a small
 * typed table (rtab) printed as the fixed-width text of res_report.h or as JSON.
 * Everything is built before the first byte is printed, so a failure prints nothing.
 */
#include "res_report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cod_alloc.h"
#include "res_internal.h"
#include "res_points.h"
#include "res_schema.h"
#include "res_stats.h"

/* ---- per-run records ------------------------------------------------------------------ */

typedef struct run_rec {
  int64_t run_id;
  char *model, *scheme, *prec, *status, *split_list; /* owned; split_list: "4x4,2x8" */
  int64_t workers, ka, kb, delta;                     /* RES_NULL_INT = NULL */
  int ka_auto;                                        /* params: ka or kb = auto */
  int splits_vary;                                    /* its layers use different splits */
  double latency, mse, rel;
  int64_t up, up_n, down, down_n, st, st_n;           /* sums over (worker) pairs */
  int64_t comm, store;                                /* per-run sums, valid if *_ok */
  int comm_ok, store_ok;
  double cond_sum;
  int64_t cond_n;
  size_t point;
  char **by;                                          /* --by values (borrowed from points) */
} run_rec;

static char *col_dup(sqlite3_stmt *st, int i, int *oom) {
  const unsigned char *s = sqlite3_column_text(st, i);
  if (!s) return NULL;
  char *d = cod_strdup((const char *)s);
  if (!d) *oom = 1;
  return d;
}

static int64_t col_i64(sqlite3_stmt *st, int i) {
  return sqlite3_column_type(st, i) == SQLITE_NULL ? RES_NULL_INT : sqlite3_column_int64(st, i);
}

static double col_real(sqlite3_stmt *st, int i) {
  return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

static void recs_free(run_rec *r, size_t n) {
  for (size_t i = 0; r && i < n; i++) {
    cod_free(r[i].model), cod_free(r[i].scheme), cod_free(r[i].prec);
    cod_free(r[i].status), cod_free(r[i].split_list), cod_free(r[i].by);
  }
  cod_free(r);
}

static run_rec *rec_find(run_rec *r, size_t n, int64_t id) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (r[mid].run_id < id) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && r[lo].run_id == id ? &r[lo] : NULL;
}

static int oom(res_db *db, cod_err *err) {
  return cod_err_set(err, COD_ENOMEM, "results db '%s': report: out of memory", db->path);
}

static int read_runs(res_db *db, run_rec **out, size_t *n_out, cod_err *err) {
  sqlite3_stmt *st = db->st[RES_ST_REPORT_RUNS];
  int rc;
  run_rec *r = NULL;
  size_t n = 0, cap = 0;
  int bad = 0;
  while (!bad && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (n == cap) {
      size_t nc = cap ? 2 * cap : 32;
      run_rec *g = cod_realloc(r, nc * sizeof *g);
      if (!g) {
        bad = 1;
        break;
      }
      r = g, cap = nc;
    }
    run_rec *x = &r[n++];
    memset(x, 0, sizeof *x);
    x->run_id = sqlite3_column_int64(st, 0);
    x->model = col_dup(st, 1, &bad);
    x->scheme = col_dup(st, 2, &bad);
    x->workers = col_i64(st, 3), x->ka = col_i64(st, 4), x->kb = col_i64(st, 5);
    x->prec = col_dup(st, 6, &bad);
    x->status = col_dup(st, 7, &bad);
    x->latency = col_real(st, 8), x->mse = col_real(st, 9), x->rel = col_real(st, 10);
    x->delta = col_i64(st, 11);
    x->ka_auto = sqlite3_column_int(st, 12);
    x->cond_sum = NAN;
  }
  sqlite3_reset(st);
  if (bad) {
    recs_free(r, n);
    return oom(db, err);
  }
  if (rc != SQLITE_DONE) {
    recs_free(r, n);
    return res_fail_sqlite(db, rc, "report query", err);
  }
  *out = r, *n_out = n;
  return COD_OK;
}

static int read_sums(res_db *db, run_rec *r, size_t n, cod_err *err) {
  sqlite3_stmt *st = db->st[RES_ST_REPORT_WORKERS];
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    run_rec *x = rec_find(r, n, sqlite3_column_int64(st, 0));
    if (!x) continue;
    x->up = sqlite3_column_int64(st, 1), x->up_n = sqlite3_column_int64(st, 2);
    x->down = sqlite3_column_int64(st, 3), x->down_n = sqlite3_column_int64(st, 4);
    x->st = sqlite3_column_int64(st, 5), x->st_n = sqlite3_column_int64(st, 6);
    x->comm_ok = sqlite3_column_type(st, 7) != SQLITE_NULL;
    x->comm = sqlite3_column_int64(st, 7);
    x->store_ok = sqlite3_column_type(st, 8) != SQLITE_NULL;
    x->store = sqlite3_column_int64(st, 8);
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return res_fail_sqlite(db, rc, "report query", err);
  st = db->st[RES_ST_REPORT_LAYERS];
  int bad = 0;
  while (!bad && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    run_rec *x = rec_find(r, n, sqlite3_column_int64(st, 0));
    if (!x) continue;
    x->cond_sum = col_real(st, 1);
    x->cond_n = sqlite3_column_int64(st, 2);
    x->splits_vary = sqlite3_column_int64(st, 4) > 1;
    if (x->splits_vary) x->split_list = col_dup(st, 3, &bad);
  }
  sqlite3_reset(st);
  if (bad) return oom(db, err);
  if (rc != SQLITE_DONE) return res_fail_sqlite(db, rc, "report query", err);
  return COD_OK;
}

/* ---- grouping ------------------------------------------------------------------------- */

enum { RES_SUMMARY_ROWS, RES_SUMMARY_PER_SCHEME, RES_SUMMARY_BY };

typedef struct group_ctx {
  const res_points *pts;
  const unsigned char *mask; /* splitting keys */
  int mode;                  /* RES_SUMMARY_* */
  size_t nby;
} group_ctx;

static int cmp_text(const char *a, const char *b) {
  if (!a || !b) return (a != NULL) - (b != NULL); /* NULL first, as SQL's ORDER BY */
  return strcmp(a, b);
}

static int cmp_i64(int64_t a, int64_t b) {
  if (a == RES_NULL_INT || b == RES_NULL_INT) return (a != RES_NULL_INT) - (b != RES_NULL_INT);
  return (a > b) - (a < b);
}

/* Numbers compare as numbers, anything else as text; NULL first. */
static int cmp_value(const char *a, const char *b) {
  if (!a || !b) return (a != NULL) - (b != NULL);
  char *ea, *eb;
  double x = strtod(a, &ea), y = strtod(b, &eb);
  if (ea != a && !*ea && eb != b && !*eb && x != y) return (x > y) - (x < y);
  return strcmp(a, b);
}

static int cmp_points(const group_ctx *g, size_t a, size_t b) {
  if (a == b || !g->pts) return 0;
  for (size_t k = 0; k < res_points_nkeys(g->pts); k++) {
    if (!g->mask[k]) continue;
    int c = cmp_value(res_points_value(g->pts, a, k), res_points_value(g->pts, b, k));
    if (c) return c;
  }
  return 0;
}

/* Compare the fixed columns of a cell (not the splitting keys). */
static int cmp_cell(const group_ctx *g, const run_rec *a, const run_rec *b) {
  int c;
  if (g->mode == RES_SUMMARY_BY) {
    for (size_t i = 0; i < g->nby; i++)
      if ((c = cmp_value(a->by[i], b->by[i]))) return c;
    return 0;
  }
  if (g->mode == RES_SUMMARY_PER_SCHEME) return cmp_text(a->scheme, b->scheme);
  if ((c = cmp_text(a->model, b->model))) return c;
  if ((c = cmp_text(a->scheme, b->scheme))) return c;
  if ((c = cmp_i64(a->workers, b->workers))) return c;
  if ((c = cmp_i64(a->ka, b->ka))) return c;
  if ((c = cmp_i64(a->kb, b->kb))) return c;
  return cmp_text(a->prec, b->prec);
}

static int cmp_rec(const group_ctx *g, const run_rec *a, const run_rec *b) {
  int c = cmp_cell(g, a, b);
  if (!c) c = cmp_points(g, a->point, b->point);
  if (!c) c = (a->run_id > b->run_id) - (a->run_id < b->run_id);
  return c;
}

/* Stable merge sort of the index array ix (n entries) by cmp_rec: qsort has no context
 * argument and the house keeps no mutable globals. tmp holds n entries. */
static void sort_ix(const group_ctx *g, const run_rec *r, size_t *ix, size_t *tmp, size_t n) {
  if (n < 2) return;
  size_t h = n / 2;
  sort_ix(g, r, ix, tmp, h);
  sort_ix(g, r, ix + h, tmp, n - h);
  size_t i = 0, j = h, k = 0;
  while (i < h && j < n) tmp[k++] = cmp_rec(g, &r[ix[j]], &r[ix[i]]) < 0 ? ix[j++] : ix[i++];
  while (i < h) tmp[k++] = ix[i++];
  while (j < n) tmp[k++] = ix[j++];
  memcpy(ix, tmp, n * sizeof *ix);
}

/* ---- the typed result table ----------------------------------------------------------- */

enum { RC_NULL, RC_INT, RC_REAL, RC_TEXT };

typedef struct rcell {
  int type;
  int64_t i;
  double d;
  char *s; /* owned */
} rcell;

typedef struct rtab {
  size_t ncol, ncells, cap;
  const char *names[40];
  char *owned_names[40];
  rcell *cells;
  int oom;
} rtab;

static void rtab_fini(rtab *t) {
  for (size_t i = 0; i < t->ncells; i++) cod_free(t->cells[i].s);
  cod_free(t->cells);
  for (size_t i = 0; i < t->ncol; i++) cod_free(t->owned_names[i]);
}

static void rtab_col(rtab *t, const char *name) {
  if (t->ncol < 40) t->names[t->ncol++] = name;
}

static rcell *rtab_push(rtab *t) {
  if (t->oom) return NULL;
  if (t->ncells == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 64;
    rcell *c = cod_realloc(t->cells, cap * sizeof *c);
    if (!c) {
      t->oom = 1;
      return NULL;
    }
    t->cells = c, t->cap = cap;
  }
  rcell *c = &t->cells[t->ncells++];
  memset(c, 0, sizeof *c);
  return c;
}

static void put_null(rtab *t) { rtab_push(t); }
static void put_int(rtab *t, int64_t v) {
  rcell *c = rtab_push(t);
  if (c && v != RES_NULL_INT) c->type = RC_INT, c->i = v;
}
static void put_count(rtab *t, int64_t v) {
  rcell *c = rtab_push(t);
  if (c) c->type = RC_INT, c->i = v;
}
static void put_real(rtab *t, double v) {
  rcell *c = rtab_push(t);
  if (c && !isnan(v)) c->type = RC_REAL, c->d = v;
}
static void put_text(rtab *t, const char *s) {
  rcell *c = rtab_push(t);
  if (!c || !s) return;
  if (!(c->s = cod_strdup(s))) {
    t->oom = 1;
    return;
  }
  c->type = RC_TEXT;
}

/* ---- reducing one group ---------------------------------------------------------------- */

typedef struct report_cfg {
  int mode, ci, has_point, has_splits;
  size_t nby;
} report_cfg;

static double ratio(int64_t sum, int64_t n) { return n > 0 ? (double)sum / (double)n : NAN; }

static double max_of(double acc, double v) { return isnan(v) ? acc : isnan(acc) || v > acc ? v : acc; }

/* The ka / kb cell of a group: the runs' split when every run uses one split on all its
 * layers, else "auto(d=D)" for ka/kb = auto, else "per-layer" (layer_splits lists them). */
static void put_split(rtab *t, const run_rec *const *g, size_t m, int kb) {
  int vary = 0;
  for (size_t i = 0; i < m; i++) vary |= g[i]->splits_vary;
  if (!vary) {
    put_int(t, kb ? g[0]->kb : g[0]->ka);
    return;
  }
  char buf[64];
  if (g[0]->ka_auto && g[0]->delta != RES_NULL_INT)
    snprintf(buf, sizeof buf, "auto(d=%lld)", (long long)g[0]->delta);
  else
    snprintf(buf, sizeof buf, "%s", g[0]->ka_auto ? "auto" : "per-layer");
  put_text(t, buf);
}

static int reduce(rtab *t, const report_cfg *cfg, const res_points *pts,
                  const unsigned char *mask, const run_rec *const *g, size_t m, double *lat,
                  cod_err *err) {
  const run_rec *f = g[0];
  if (cfg->mode == RES_SUMMARY_ROWS) {
    put_text(t, f->model), put_text(t, f->scheme), put_int(t, f->workers);
    put_split(t, g, m, 0), put_split(t, g, m, 1), put_text(t, f->prec);
  } else if (cfg->mode == RES_SUMMARY_PER_SCHEME) {
    put_text(t, f->scheme);
  } else {
    for (size_t i = 0; i < cfg->nby; i++) put_text(t, f->by[i] ? f->by[i] : "none");
  }
  if (cfg->has_point) {
    char *label = NULL;
    if (pts && res_points_label(pts, f->point, mask, &label, err)) return COD_ENOMEM;
    put_text(t, label && label[0] ? label : "-");
    cod_free(label);
  }
  int64_t ok = 0, undec = 0, infeas = 0, up = 0, up_n = 0, down = 0, down_n = 0, st = 0,
          st_n = 0, comm = 0, comm_n = 0, store = 0, store_n = 0, cond_n = 0;
  double mse = NAN, rel = NAN, cond = 0;
  size_t nl = 0;
  for (size_t i = 0; i < m; i++) {
    const run_rec *x = g[i];
    int is_ok = x->status && strcmp(x->status, "ok") == 0;
    ok += is_ok;
    undec += x->status && strcmp(x->status, "undecodable") == 0;
    infeas += x->status && strncmp(x->status, "infeasible:", 11) == 0;
    if (is_ok && !isnan(x->latency)) lat[nl++] = x->latency;
    up += x->up, up_n += x->up_n, down += x->down, down_n += x->down_n;
    st += x->st, st_n += x->st_n;
    if (x->comm_ok) comm += x->comm, comm_n++;
    if (x->store_ok) store += x->store, store_n++;
    mse = max_of(mse, x->mse), rel = max_of(rel, x->rel);
    if (x->cond_n > 0) cond += x->cond_sum, cond_n += x->cond_n;
  }
  put_count(t, (int64_t)m), put_count(t, ok);
  if (cfg->mode == RES_SUMMARY_PER_SCHEME) {
    put_real(t, ratio(comm, comm_n)), put_real(t, ratio(store, store_n));
    put_real(t, mse), put_real(t, rel);
    return COD_OK;
  }
  put_count(t, undec), put_count(t, infeas);
  res_estimate mean = res_stats_estimate(lat, nl, RES_STAT_MEAN);
  res_estimate p95 = res_stats_estimate(lat, nl, RES_STAT_P95);
  put_real(t, mean.value);
  if (cfg->ci) put_real(t, mean.lo), put_real(t, mean.hi);
  put_real(t, p95.value);
  if (cfg->ci) put_real(t, p95.lo), put_real(t, p95.hi);
  put_real(t, ratio(up, up_n)), put_real(t, ratio(down, down_n)), put_real(t, ratio(st, st_n));
  put_real(t, mse), put_real(t, rel);
  put_real(t, cond_n > 0 ? cond / (double)cond_n : NAN);
  if (cfg->has_splits) {
    const char *list = NULL;
    for (size_t i = 0; i < m && !list; i++) list = g[i]->split_list;
    if (list) put_text(t, list);
    else put_null(t);
  }
  return COD_OK;
}

/* ---- printing ------------------------------------------------------------------------- */

static void fmt_cell(const rcell *c, char *buf, size_t cap) {
  switch (c->type) {
  case RC_INT: snprintf(buf, cap, "%lld", (long long)c->i); break;
  case RC_REAL: snprintf(buf, cap, "%.6g", c->d); break;
  case RC_TEXT: snprintf(buf, cap, "%s", c->s); break;
  default: snprintf(buf, cap, "-");
  }
}

static int print_text(res_db *db, const rtab *t, FILE *out, cod_err *err) {
  size_t nrow = t->ncells / t->ncol;
  const char **cells = cod_malloc((nrow + 1) * t->ncol * sizeof *cells);
  char **own = cod_calloc(nrow * t->ncol + 1, sizeof *own);
  int *text = cod_calloc(t->ncol, sizeof *text);
  int status = COD_OK;
  if (!cells || !own || !text) status = oom(db, err);
  for (size_t i = 0; !status && i < t->ncol; i++) cells[i] = t->names[i];
  for (size_t i = 0; !status && i < t->ncells; i++) {
    char buf[64];
    const rcell *c = &t->cells[i];
    if (c->type == RC_TEXT) {
      cells[t->ncol + i] = c->s;
      text[i % t->ncol] = 1;
      continue;
    }
    fmt_cell(c, buf, sizeof buf);
    if (!(own[i] = cod_strdup(buf))) status = oom(db, err);
    cells[t->ncol + i] = own[i];
  }
  if (!status) status = res_print_cells(db, cells, nrow + 1, t->ncol, text, out, err);
  for (size_t i = 0; own && i < nrow * t->ncol; i++) cod_free(own[i]);
  cod_free(own), cod_free(cells), cod_free(text);
  return status;
}

static void json_str(FILE *out, const char *s) {
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(out, "\\%c", *p);
    else if (*p < 0x20) fprintf(out, "\\u%04x", *p);
    else fputc(*p, out);
  }
  fputc('"', out);
}

/* The JSON object of res_report.h: the report's kind, its columns documented, its rows,
 * and for the summary the data report. The data part is rendered into memory first, so a
 * failure there still prints nothing. */
static int print_json(res_db *db, const rtab *t, int mode, FILE *out, cod_err *err) {
  size_t nrow = t->ncells / t->ncol;
  char *data = NULL;
  if (mode == RES_SUMMARY_ROWS) {
    int st = res_report_data_json(db, &data, err);
    if (st) return st;
  }
  fputs("{\"report\": ", out);
  json_str(out, mode == RES_SUMMARY_ROWS ? "summary" : mode == RES_SUMMARY_PER_SCHEME ? "per_scheme" : "by");
  fputs(",\n \"columns\": [", out);
  for (size_t i = 0; i < t->ncol; i++) {
    const char *unit = "", *meaning = "scenario key (--by): the rows are its values";
    res_explain_report_doc(t->names[i], &unit, &meaning);
    fputs(i ? ",\n  {\"name\": " : "\n  {\"name\": ", out);
    json_str(out, t->names[i]);
    fputs(", \"unit\": ", out);
    json_str(out, unit);
    fputs(", \"meaning\": ", out);
    json_str(out, meaning);
    fputs("}", out);
  }
  fputs(t->ncol ? "\n ],\n \"rows\": [" : "],\n \"rows\": [", out);
  for (size_t r = 0; r < nrow; r++) {
    fputs(r ? ",\n  {" : "\n  {", out);
    for (size_t i = 0; i < t->ncol; i++) {
      const rcell *c = &t->cells[r * t->ncol + i];
      if (i) fputs(", ", out);
      json_str(out, t->names[i]);
      fputs(": ", out);
      switch (c->type) {
      case RC_INT: fprintf(out, "%lld", (long long)c->i); break;
      case RC_REAL:
        if (isfinite(c->d)) fprintf(out, "%.17g", c->d);
        else fputs("null", out);
        break;
      case RC_TEXT: json_str(out, c->s); break;
      default: fputs("null", out);
      }
    }
    fputs("}", out);
  }
  fputs(nrow ? "\n ]" : "]", out);
  if (data) fputs(",\n ", out), fputs(data, out);
  fputs("}\n", out);
  cod_free(data);
  if (fflush(out) != 0 || ferror(out))
    return cod_err_set(err, COD_EIO, "results db '%s': report: write error", db->path);
  return COD_OK;
}

/* ---- the report ------------------------------------------------------------------------ */

static void add_columns(rtab *t, const report_cfg *cfg, const res_points *pts,
                        const size_t *by_keys, const unsigned char *bymask) {
  if (cfg->mode == RES_SUMMARY_ROWS) {
    static const char *const fixed[] = {"model", "scheme", "n", "ka", "kb", "prec"};
    for (size_t i = 0; i < 6; i++) rtab_col(t, fixed[i]);
  } else if (cfg->mode == RES_SUMMARY_PER_SCHEME) {
    rtab_col(t, "scheme");
  } else {
    for (size_t i = 0; i < cfg->nby && t->ncol < 40; i++) { /* short names among --by */
      char buf[200];
      res_points_display(pts, by_keys[i], bymask, buf, sizeof buf);
      t->owned_names[t->ncol] = cod_strdup(buf);
      if (!t->owned_names[t->ncol]) t->oom = 1;
      rtab_col(t, t->owned_names[t->ncol] ? t->owned_names[t->ncol] : "?");
    }
  }
  if (cfg->has_point) rtab_col(t, "point");
  rtab_col(t, "runs"), rtab_col(t, "ok");
  if (cfg->mode == RES_SUMMARY_PER_SCHEME) {
    rtab_col(t, "comm_bytes_per_run"), rtab_col(t, "storage_bytes_per_run");
    rtab_col(t, "max_mse"), rtab_col(t, "max_rel_error");
    return;
  }
  rtab_col(t, "undec"), rtab_col(t, "infeas"), rtab_col(t, "lat_mean_s");
  if (cfg->ci) rtab_col(t, "lat_mean_lo_s"), rtab_col(t, "lat_mean_hi_s");
  rtab_col(t, "lat_p95_s");
  if (cfg->ci) rtab_col(t, "lat_p95_lo_s"), rtab_col(t, "lat_p95_hi_s");
  rtab_col(t, "to_worker_B_w"), rtab_col(t, "to_master_B_w"), rtab_col(t, "store_B_w");
  rtab_col(t, "max_mse"), rtab_col(t, "max_rel"), rtab_col(t, "mean_cond");
  if (cfg->has_splits) rtab_col(t, "layer_splits");
}

static int mask_any(const unsigned char *mask, size_t n) {
  for (size_t k = 0; k < n; k++)
    if (mask[k]) return 1;
  return 0;
}

/* Everything after reading: by-values, split mask, sort, groups, output. */
static int build(res_db *db, const res_report_opts *o, run_rec *r, size_t n,
                 const res_points *pts, FILE *out, cod_err *err) {
  report_cfg cfg = {0};
  cfg.mode = o && o->by && o->by[0] ? RES_SUMMARY_BY
             : o && o->per_scheme  ? RES_SUMMARY_PER_SCHEME
                                   : RES_SUMMARY_ROWS;
  cfg.ci = o && (o->ci || o->json);
  size_t nk = res_points_nkeys(pts), by_keys[32];
  while (cfg.mode == RES_SUMMARY_BY && o->by[cfg.nby]) {
    if (cfg.nby == 32) return cod_err_set(err, COD_EINVAL, "--by: at most 32 keys");
    int st = res_points_key_find(pts, o->by[cfg.nby], &by_keys[cfg.nby], err);
    if (st) return st;
    cfg.nby++;
  }
  unsigned char *mask = cod_calloc(nk + 1, 1), *bymask = cod_calloc(nk + 1, 1), *pmask = NULL;
  size_t *ix = cod_malloc((n + 1) * sizeof *ix), *tmp = cod_malloc((n + 1) * sizeof *tmp);
  size_t *cell = cod_malloc((n + 1) * sizeof *cell), *ptv = cod_malloc((n + 1) * sizeof *ptv);
  const run_rec **grp = cod_malloc((n + 1) * sizeof *grp);
  double *lat = cod_malloc((n + 1) * sizeof *lat);
  rtab t;
  memset(&t, 0, sizeof t);
  int status = COD_OK;
  if (!mask || !bymask || !ix || !tmp || !cell || !ptv || !grp || !lat) status = oom(db, err);
  for (size_t i = 0; !status && i < n; i++) {
    if (res_points_of_run(pts, r[i].run_id, &r[i].point)) r[i].point = (size_t)-1;
    if (cfg.nby) {
      if (!(r[i].by = cod_calloc(cfg.nby, sizeof *r[i].by))) status = oom(db, err);
      for (size_t k = 0; !status && k < cfg.nby; k++)
        r[i].by[k] = (char *)res_points_value(pts, r[i].point, by_keys[k]);
    }
  }
  group_ctx g = {pts, mask, cfg.mode, cfg.nby};
  if (!status && cfg.mode != RES_SUMMARY_BY) { /* the cells, then the keys that split them */
    for (size_t i = 0; i < n; i++) ix[i] = i;
    sort_ix(&g, r, ix, tmp, n);
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
      if (i && cmp_cell(&g, &r[ix[i - 1]], &r[ix[i]])) c++;
      cell[i] = c, ptv[i] = r[ix[i]].point;
    }
    pmask = cod_calloc(nk * res_points_count(pts) + 1, 1);
    status = pmask ? res_points_split_cells(pts, cell, ptv, n, mask, pmask, err) : oom(db, err);
    cfg.has_point = mask_any(mask, nk);
  }
  for (size_t i = 0; !status && i < n; i++) cfg.has_splits |= r[i].splits_vary;
  if (cfg.mode != RES_SUMMARY_ROWS) cfg.has_splits = 0;
  if (!status) {
    for (size_t i = 0; i < n; i++) ix[i] = i;
    sort_ix(&g, r, ix, tmp, n); /* now with the splitting keys */
    for (size_t k = 0; k < cfg.nby; k++) bymask[by_keys[k]] = 1;
    add_columns(&t, &cfg, pts, by_keys, bymask);
    for (size_t i = 0; !status && i < n;) {
      size_t m = 0;
      grp[m++] = &r[ix[i]];
      size_t j = i + 1;
      while (j < n && !cmp_cell(&g, &r[ix[i]], &r[ix[j]]) &&
             !cmp_points(&g, r[ix[i]].point, r[ix[j]].point))
        grp[m++] = &r[ix[j++]];
      /* the label names only the keys that tell this row from its cell's other rows */
      size_t pt = r[ix[i]].point;
      const unsigned char *lm = pmask && pt < res_points_count(pts) ? pmask + pt * nk : mask;
      status = reduce(&t, &cfg, pts, lm, grp, m, lat, err);
      i = j;
    }
    if (!status && t.oom) status = oom(db, err);
  }
  if (!status)
    status = o && o->json ? print_json(db, &t, cfg.mode, out, err) : print_text(db, &t, out, err);
  rtab_fini(&t);
  cod_free(mask), cod_free(bymask), cod_free(pmask), cod_free(ix), cod_free(tmp), cod_free(cell), cod_free(ptv);
  cod_free(grp), cod_free(lat);
  return status;
}

int res_report_write(res_db *db, const res_report_opts *o, FILE *out, cod_err *err) {
  run_rec *r = NULL;
  size_t n = 0;
  res_points *pts = NULL;
  int status = read_runs(db, &r, &n, err);
  if (!status) status = read_sums(db, r, n, err);
  if (!status) status = res_points_load(db, &pts, err);
  if (!status) status = build(db, o, r, n, pts, out, err);
  res_points_free(pts);
  recs_free(r, n);
  return status;
}
