/* test_res_util.c: see test_res_util.h. */
#include "test_res_util.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void tmp_place_make(tmp_place *tp, const char *name) {
  snprintf(tp->dir, sizeof tp->dir, "/tmp/fcdcc-res-test-XXXXXX");
  cr_assert_not_null(mkdtemp(tp->dir));
  snprintf(tp->path, sizeof tp->path, "%s/%s", tp->dir, name);
}

void tmp_place_remove(tmp_place *tp) {
  DIR *d = opendir(tp->dir);
  if (!d) return;
  struct dirent *e;
  char p[600];
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(p, sizeof p, "%s/%s", tp->dir, e->d_name);
    unlink(p);
  }
  closedir(d);
  rmdir(tp->dir);
}

sqlite3 *raw_open(const char *path) {
  sqlite3 *conn = NULL;
  int rc = sqlite3_open_v2(path, &conn, SQLITE_OPEN_READWRITE, NULL);
  cr_assert_eq(rc, SQLITE_OK, "raw_open(%s): %s", path, sqlite3_errstr(rc));
  return conn;
}

int64_t raw_int(sqlite3 *conn, const char *sql) {
  sqlite3_stmt *st = NULL;
  cr_assert_eq(sqlite3_prepare_v2(conn, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
               sqlite3_errmsg(conn));
  cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s: no row", sql);
  int64_t v = sqlite3_column_type(st, 0) == SQLITE_NULL ? INT64_MIN : sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

double raw_real(sqlite3 *conn, const char *sql) {
  sqlite3_stmt *st = NULL;
  cr_assert_eq(sqlite3_prepare_v2(conn, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
               sqlite3_errmsg(conn));
  cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s: no row", sql);
  double v = sqlite3_column_type(st, 0) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 0);
  sqlite3_finalize(st);
  return v;
}

const char *raw_text(sqlite3 *conn, const char *sql) {
  static char buf[4096];
  sqlite3_stmt *st = NULL;
  cr_assert_eq(sqlite3_prepare_v2(conn, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
               sqlite3_errmsg(conn));
  cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s: no row", sql);
  const unsigned char *s = sqlite3_column_text(st, 0);
  snprintf(buf, sizeof buf, "%s", s ? (const char *)s : "<NULL>");
  sqlite3_finalize(st);
  return buf;
}

void raw_exec(sqlite3 *conn, const char *sql) {
  char *msg = NULL;
  int rc = sqlite3_exec(conn, sql, NULL, NULL, &msg);
  cr_assert_eq(rc, SQLITE_OK, "%s: %s", sql, msg ? msg : "");
}
