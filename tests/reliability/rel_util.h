/* rel_util.h: helpers shared by the reliability tests (temp directories, scenario
 * parsing, and independent checks of a results database with plain sqlite3 queries). */
#ifndef FCDCC_REL_UTIL_H
#define FCDCC_REL_UTIL_H

#include <stddef.h>

/* Make a fresh directory fcdcc_rel_<tag>_XXXXXX in /dev/shm (else /tmp); path into buf (cap bytes). 0 on
 * success. Remove it (recursively, no shell) with rel_rmtree. */
int rel_mkdtemp(char *buf, size_t cap, const char *tag);
void rel_rmtree(const char *path);
/* Remove a database file and its -wal/-shm companions (missing files are fine). */
void rel_db_unlink(const char *path);

/* Check the structure of a results database independently of results/:
 *  - PRAGMA integrity_check answers "ok";
 *  - every run has exactly `layers_per_run` layers rows and `workers_per_layer` workers
 *    rows per layer (0 = do not check the workers count);
 *  - no layers or workers row belongs to a missing run or layer.
 * Returns 0 if all hold; otherwise 1 with a description in msg. *n_runs = committed runs.
 * A path that does not exist counts as an empty database (0 runs, returns 0). */
int rel_db_check(const char *path, long layers_per_run, long workers_per_layer,
                 long *n_runs, char *msg, size_t cap);

#endif
