/* tr_db.c: tr_db.h (the runner suites' copies of these two helpers, made one). */
#include "tr_db.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sqlite3 *tr_open_ro(const char *path) {
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
  cr_assert_eq(rc, SQLITE_OK, "cannot open %s", path);
  return db;
}

/* s (cap bytes, len used) with text appended, grown as needed */
static char *append(char *s, size_t *cap, size_t *len, const char *text, char sep) {
  size_t n = strlen(text);
  if (*len + n + 2 > *cap) {
    while (*len + n + 2 > *cap) *cap *= 2;
    s = realloc(s, *cap);
    cr_assert_not_null(s);
  }
  memcpy(s + *len, text, n);
  *len += n;
  s[(*len)++] = sep;
  s[*len] = '\0';
  return s;
}

char *tr_q_dump(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st = NULL;
  cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s",
               sqlite3_errmsg(db), sql);
  size_t cap = 4096, len = 0;
  char *s = malloc(cap);
  cr_assert_not_null(s);
  s[0] = '\0';
  while (sqlite3_step(st) == SQLITE_ROW) {
    int nc = sqlite3_column_count(st);
    for (int c = 0; c < nc; c++) {
      char num[32];
      const char *cell = num;
      int t = sqlite3_column_type(st, c);
      if (t == SQLITE_NULL) cell = "NULL";
      else if (t == SQLITE_FLOAT) snprintf(num, sizeof num, "%.17g", sqlite3_column_double(st, c));
      else cell = (const char *)sqlite3_column_text(st, c);
      s = append(s, &cap, &len, cell ? cell : "", c + 1 < nc ? '|' : '\n');
    }
  }
  sqlite3_finalize(st);
  return s;
}
