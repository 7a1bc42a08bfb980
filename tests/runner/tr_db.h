/* tr_db.h: reading a results file in the runner test suites (not part of any library):
 * a read-only handle and a query's rows as text, so that two sweeps' rows compare as
 * strings and any difference in the bits of a real shows.
 */
#ifndef FCDCC_TR_DB_H
#define FCDCC_TR_DB_H

#include <sqlite3.h>

/* A read-only connection to path; the test fails if it cannot be opened. */
sqlite3 *tr_open_ro(const char *path);
/* Every row of sql as text: cells separated by '|', each row ending in '\n', NULL as
 * "NULL", reals with %.17g, everything else as SQLite's text of it, in full. The test
 * fails if sql does not prepare. The caller frees the string with free(). */
char *tr_q_dump(sqlite3 *db, const char *sql);

#endif
