/* res_report.c: fixed-width text reports over the results database (see res_report.h).
 *
 * Design. A report is a prepared SELECT; res_print_table() formats every cell of the
 * result into a string first (two passes: the column widths must be known before the
 * first line is printed), then writes the table. Memory is O(cells) and goes through
 * cod_malloc, so a failed allocation is a clean COD_ENOMEM with nothing printed. The
 * statistics themselves are computed by SQL (see the summary query in res_db.c), which
 * keeps the arithmetic in one place and the output ordered (ORDER BY on the group keys).
 */
#include "res_internal.h"
#include "res_report.h"
#include "res_figures.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cod_alloc.h"

typedef struct cell_table {
  char **cells;  /* (rows + 1) x ncol strings, row 0 = the header; row-major */
  size_t ncells, cap;
  int ncol;
  size_t *width; /* per column */
  int *text;     /* per column: 1 if any cell is TEXT (left-aligned), else right-aligned */
} cell_table;

static void table_fini(cell_table *t) {
  for (size_t i = 0; i < t->ncells; i++) cod_free(t->cells[i]);
  cod_free(t->cells);
  cod_free(t->width);
  cod_free(t->text);
}

/* Append a copy of s; on failure the table is unchanged. */
static int table_push(cell_table *t, const char *s) {
  if (t->ncells == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 64;
    char **p = cod_realloc(t->cells, cap * sizeof *p);
    if (!p) return COD_ENOMEM;
    t->cells = p;
    t->cap = cap;
  }
  char *d = cod_strdup(s);
  if (!d) return COD_ENOMEM;
  size_t col = t->ncells % (size_t)t->ncol;
  size_t len = strlen(d);
  if (len > t->width[col]) t->width[col] = len;
  t->cells[t->ncells++] = d;
  return COD_OK;
}

/* Format column i of the current row; "-" for NULL. */
static int push_value(cell_table *t, sqlite3_stmt *st, int i) {
  char buf[64];
  switch (sqlite3_column_type(st, i)) {
  case SQLITE_NULL:
    return table_push(t, "-");
  case SQLITE_INTEGER:
    snprintf(buf, sizeof buf, "%lld", (long long)sqlite3_column_int64(st, i));
    return table_push(t, buf);
  case SQLITE_FLOAT:
    snprintf(buf, sizeof buf, "%.6g", sqlite3_column_double(st, i));
    return table_push(t, buf);
  default: {
    t->text[i] = 1;
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? table_push(t, (const char *)s) : COD_ENOMEM;
  }
  }
}

static int collect(res_db *db, sqlite3_stmt *st, cell_table *t, cod_err *err) {
  for (int i = 0; i < t->ncol; i++)
    if (table_push(t, sqlite3_column_name(st, i)))
      return cod_err_set(err, COD_ENOMEM, "results db '%s': report: out of memory", db->path);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    for (int i = 0; i < t->ncol; i++)
      if (push_value(t, st, i))
        return cod_err_set(err, COD_ENOMEM, "results db '%s': report: out of memory",
                           db->path);
  if (rc != SQLITE_DONE) return res_fail_sqlite(db, rc, "report query", err);
  return COD_OK;
}

int res_print_cells(const res_db *db, const char *const *cells, size_t nrows, size_t ncol,
                    const int *text, FILE *out, cod_err *err) {
  size_t width[64] = {0};
  assert(ncol <= 64);
  for (size_t i = 0; i < nrows * ncol; i++) {
    size_t len = strlen(cells[i]);
    if (len > width[i % ncol]) width[i % ncol] = len;
  }
  for (size_t r = 0; r < nrows; r++) {
    for (size_t i = 0; i < ncol; i++) {
      const char *s = cells[r * ncol + i];
      if (i + 1 == ncol && text[i]) fputs(s, out); /* no trailing blanks */
      else fprintf(out, text[i] ? "%-*s" : "%*s", (int)width[i], s);
      fputs(i + 1 == ncol ? "\n" : "  ", out);
    }
    if (r == 0)
      for (size_t i = 0; i < ncol; i++) {
        for (size_t k = 0; k < width[i]; k++) fputc('-', out);
        fputs(i + 1 == ncol ? "\n" : "  ", out);
      }
  }
  if (fflush(out) != 0 || ferror(out))
    return cod_err_set(err, COD_EIO, "results db '%s': report: write error", db->path);
  return COD_OK;
}

int res_print_table(res_db *db, sqlite3_stmt *st, FILE *out, cod_err *err) {
  cell_table t = {0};
  t.ncol = sqlite3_column_count(st);
  t.width = cod_calloc((size_t)t.ncol, sizeof *t.width);
  t.text = cod_calloc((size_t)t.ncol, sizeof *t.text);
  int status = (t.width && t.text)
                   ? collect(db, st, &t, err)
                   : cod_err_set(err, COD_ENOMEM, "results db '%s': report: out of memory",
                                 db->path);
  sqlite3_reset(st);
  if (!status)
    status = res_print_cells(db, (const char *const *)t.cells, t.ncells / (size_t)t.ncol,
                             (size_t)t.ncol, t.text, out, err);
  table_fini(&t);
  return status;
}

int res_report_summary(res_db *db, FILE *out, cod_err *err) {
  return res_report_write(db, NULL, out, err);
}

int res_report_per_scheme(res_db *db, FILE *out, cod_err *err) {
  res_report_opts o = {0};
  o.per_scheme = 1;
  return res_report_write(db, &o, out, err);
}

/* The data report with the point column: the same groups, split by the scenario keys
 * that differ inside one (res_points.h); used only when some key does, so the table of a
 * database without such runs is unchanged. */
static const char DATA_POINT_SQL[] =
    "SELECT r.model, d.source, r.scheme, r.workers AS n, r.ka, r.kb, r.precision AS prec,\n"
    "       COALESCE(json_extract(r.params_json, '$.run.snr_db'), 'none') AS snr_db,\n"
    "       res_point(r.run_id) AS point,\n"
    "       COUNT(*) AS runs, SUM(d.images) AS images, AVG(d.top1_uncoded) AS top1_uncoded,\n"
    "       AVG(d.top1_coded) AS top1_coded, AVG(d.agreement) AS agreement,\n"
    "       SUM(d.undecodable) AS undec, MAX(d.max_logit_error) AS max_logit_err\n"
    "FROM data_runs d JOIN runs r ON r.run_id = d.run_id\n"
    "GROUP BY r.model, d.source, r.scheme, r.workers, r.ka, r.kb, r.precision, 8, 9\n"
    "ORDER BY r.model, d.source, r.scheme, r.workers, r.ka, r.kb, r.precision, 8, 9";

int res_report_data(res_db *db, FILE *out, cod_err *err) {
  sqlite3_stmt *st = db->st[RES_ST_DATA_REPORT];
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc == SQLITE_DONE) return COD_OK; /* no data runs: nothing to print */
  if (rc != SQLITE_ROW) return res_fail_sqlite(db, rc, "data report", err);
  split_ctx *sx = NULL;
  int splits = 0, status = res_split_begin(db, &sx, err);
  if (!status) status = res_split_probe_point(db, sx, DATA_POINT_SQL, NULL, &splits, err);
  sqlite3_stmt *pst = NULL;
  if (!status && splits && (rc = sqlite3_prepare_v2(db->conn, DATA_POINT_SQL, -1, &pst, NULL)))
    status = res_fail_sqlite(db, rc, "data report", err);
  if (!status) {
    fputs("\ntop-1 over data sets (one coded inference per image):\n", out);
    status = res_print_table(db, pst ? pst : st, out, err);
  }
  sqlite3_finalize(pst);
  res_split_end(db, sx);
  return status;
}

/* An append-only text of cod_realloc'd memory; on the first failure it stays failed. */
typedef struct jbuf {
  char *s;
  size_t len, cap;
  int ok;
} jbuf;

static void jb_put(jbuf *b, const char *text, size_t n) {
  if (!b->ok) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n + 1) cap *= 2;
    char *p = cod_realloc(b->s, cap);
    if (!p) {
      b->ok = 0;
      return;
    }
    b->s = p, b->cap = cap;
  }
  memcpy(b->s + b->len, text, n);
  b->len += n;
  b->s[b->len] = 0;
}

static void jb_str(jbuf *b, const char *text) { jb_put(b, text, strlen(text)); }

/* A JSON string (RFC 8259 escapes). */
static void jb_json_text(jbuf *b, const char *s) {
  jb_str(b, "\"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    char esc[8];
    if (*p == '"' || *p == '\\') snprintf(esc, sizeof esc, "\\%c", *p);
    else if (*p < 0x20) snprintf(esc, sizeof esc, "\\u%04x", *p);
    else esc[0] = (char)*p, esc[1] = 0;
    jb_str(b, esc);
  }
  jb_str(b, "\"");
}

/* The rows of st as JSON objects named by its columns. */
static int data_rows_json(res_db *db, sqlite3_stmt *st, jbuf *b, cod_err *err) {
  int rc, n = sqlite3_column_count(st);
  size_t row = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    jb_str(b, row++ ? ",\n  {" : "\n  {");
    for (int i = 0; i < n; i++) {
      char num[40];
      jb_str(b, i ? ", " : "");
      jb_json_text(b, sqlite3_column_name(st, i));
      jb_str(b, ": ");
      switch (sqlite3_column_type(st, i)) {
      case SQLITE_INTEGER:
        snprintf(num, sizeof num, "%lld", (long long)sqlite3_column_int64(st, i));
        jb_str(b, num);
        break;
      case SQLITE_FLOAT: {
        double d = sqlite3_column_double(st, i);
        if (isfinite(d)) snprintf(num, sizeof num, "%.17g", d);
        else snprintf(num, sizeof num, "null");
        jb_str(b, num);
        break;
      }
      case SQLITE_NULL: jb_str(b, "null"); break;
      default: {
        const unsigned char *t = sqlite3_column_text(st, i);
        if (!t) b->ok = 0;
        else jb_json_text(b, (const char *)t);
      }
      }
    }
    jb_str(b, "}");
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return res_fail_sqlite(db, rc, "data report", err);
  jb_str(b, row ? "\n ]" : "]");
  return COD_OK;
}

int res_report_data_json(res_db *db, char **out, cod_err *err) {
  sqlite3_stmt *st = db->st[RES_ST_DATA_REPORT];
  jbuf b = {NULL, 0, 0, 1};
  jb_str(&b, "\"data\": [");
  int rc = sqlite3_step(st), status = COD_OK;
  sqlite3_reset(st);
  if (rc == SQLITE_DONE) {
    jb_str(&b, "]");
  } else if (rc != SQLITE_ROW) {
    status = res_fail_sqlite(db, rc, "data report", err);
  } else {
    split_ctx *sx = NULL;
    int splits = 0;
    status = res_split_begin(db, &sx, err);
    if (!status) status = res_split_probe_point(db, sx, DATA_POINT_SQL, NULL, &splits, err);
    sqlite3_stmt *pst = NULL;
    if (!status && splits && (rc = sqlite3_prepare_v2(db->conn, DATA_POINT_SQL, -1, &pst, NULL)))
      status = res_fail_sqlite(db, rc, "data report", err);
    if (!status) status = data_rows_json(db, pst ? pst : st, &b, err);
    sqlite3_finalize(pst);
    res_split_end(db, sx);
  }
  if (!status && !b.ok)
    status = cod_err_set(err, COD_ENOMEM, "results db '%s': report: out of memory", db->path);
  if (status) {
    cod_free(b.s);
    return status;
  }
  *out = b.s;
  return COD_OK;
}
