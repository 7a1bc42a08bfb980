/* test_res_util.h: helpers shared by the results tests (temporary files, direct SQLite
 * reads that do not go through the library under test). */
#ifndef FCDCC_TEST_RES_UTIL_H
#define FCDCC_TEST_RES_UTIL_H

#include <sqlite3.h>
#include <stdint.h>

/* A fresh private directory under /tmp and a path inside it. */
typedef struct tmp_place {
  char dir[256];
  char path[300]; /* dir/<name> */
} tmp_place;

void tmp_place_make(tmp_place *tp, const char *name);
void tmp_place_remove(tmp_place *tp); /* removes dir and everything directly inside */

/* Open the file with plain SQLite (read-write, no create) and run one-integer queries. */
sqlite3 *raw_open(const char *path);
int64_t raw_int(sqlite3 *conn, const char *sql);
/* Same for a real result; NaN for NULL. */
double raw_real(sqlite3 *conn, const char *sql);
/* Same for a text result; returns a static buffer ("<NULL>" for NULL). */
const char *raw_text(sqlite3 *conn, const char *sql);
void raw_exec(sqlite3 *conn, const char *sql);

#endif
