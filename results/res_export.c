/* res_export.c: `fcdcc export DB --csv DIR` (see res_export.h).
 *
 * Design. The SELECT of each table is assembled from its column table (names as the
 * schema spells them: compile-time strings, decision 011), ordered by its leading
 * primary-key columns, and streamed row by row into a cod_file_out, so memory does not
 * grow with the file. Every target is checked before the first byte is written, so a
 * refusal to overwrite leaves the directory as it was.
 */
#include "res_export.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cod_alloc.h"
#include "cod_file.h"
#include "res_internal.h"
#include "res_schema.h"

static void csv_text(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

static int write_table(res_db *db, const res_table *t, const char *path, cod_err *err) {
  char *sql = NULL;
  int status = res_schema_export_sql(t, &sql, err);
  if (status) return status;
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db->conn, sql, -1, &st, NULL);
  cod_free(sql);
  if (rc != SQLITE_OK) return res_fail_sqlite(db, rc, "export query", err);
  cod_file_out o;
  status = cod_file_out_open(&o, path, err);
  if (status) {
    sqlite3_finalize(st);
    return status;
  }
  for (size_t i = 0; i < t->n_cols; i++) fprintf(o.f, "%s%s", i ? "," : "", t->cols[i].name);
  fputs("\r\n", o.f);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    for (int i = 0; i < (int)t->n_cols; i++) {
      if (i) fputc(',', o.f);
      switch (sqlite3_column_type(st, i)) {
      case SQLITE_NULL: break;
      case SQLITE_INTEGER: fprintf(o.f, "%lld", (long long)sqlite3_column_int64(st, i)); break;
      case SQLITE_FLOAT: {
        double v = sqlite3_column_double(st, i);
        if (isfinite(v)) fprintf(o.f, "%.17g", v);
        else fputs(isnan(v) ? "NaN" : v > 0 ? "inf" : "-inf", o.f);
        break;
      }
      default: {
        const unsigned char *s = sqlite3_column_text(st, i);
        if (!s) {
          rc = SQLITE_NOMEM;
          break;
        }
        csv_text(o.f, (const char *)s);
      }
      }
    }
    if (rc == SQLITE_NOMEM) break;
    fputs("\r\n", o.f);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    cod_file_out_abort(&o);
    return rc == SQLITE_NOMEM ? cod_err_set(err, COD_ENOMEM, "export: out of memory")
                              : res_fail_sqlite(db, rc, "export query", err);
  }
  return cod_file_out_commit(&o, err);
}

int res_export_csv(res_db *db, const char *dir, int flags, size_t *files, cod_err *err) {
  char path[RES_TABLE_COUNT][4200];
  struct stat sb;
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return cod_err_set(err, COD_EINVAL, "export: '%s' is not a directory", dir);
  for (size_t t = 0; t < RES_TABLE_COUNT; t++) {
    const res_table *tb = res_schema_table(t);
    if (snprintf(path[t], sizeof path[t], "%s/%s.csv", dir, tb->name) >= (int)sizeof path[t])
      return cod_err_set(err, COD_EIO, "export: directory path too long");
    if (!(flags & RES_EXPORT_OVERWRITE) && lstat(path[t], &sb) == 0)
      return cod_err_set(err, COD_EINVAL, "export: '%s' exists; nothing was written (--force "
                         "replaces the CSV files)", path[t]);
  }
  size_t n = 0;
  for (size_t t = 0; t < RES_TABLE_COUNT; t++) {
    int rc = write_table(db, res_schema_table(t), path[t], err);
    if (rc) return rc;
    n++;
  }
  if (files) *files = n;
  return COD_OK;
}
