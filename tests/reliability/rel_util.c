/* rel_util.c: helpers shared by the reliability tests (see rel_util.h).
 * The database checks use raw sqlite3 queries so that they do not trust results/. */
#define _XOPEN_SOURCE 700
#include "rel_util.h"

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rel_mkdtemp(char *buf, size_t cap, const char *tag) {
  struct stat sb;
  /* tmpfs when there is one: the walks create hundreds of databases, each with fsyncs */
  const char *root = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) && access("/dev/shm", W_OK) == 0
                         ? "/dev/shm" : "/tmp";
  if (snprintf(buf, cap, "%s/fcdcc_rel_%s_XXXXXX", root, tag) >= (int)cap) return 1;
  return mkdtemp(buf) ? 0 : 1;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(p);
}

void rel_rmtree(const char *path) { nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

void rel_db_unlink(const char *path) {
  char b[4096];
  unlink(path);
  snprintf(b, sizeof b, "%s-wal", path);
  unlink(b);
  snprintf(b, sizeof b, "%s-shm", path);
  unlink(b);
}

static long q_long(sqlite3 *db, const char *sql, int *ok) {
  sqlite3_stmt *st = NULL;
  long v = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
    *ok = 0;
    return -1;
  }
  if (sqlite3_step(st) == SQLITE_ROW) v = (long)sqlite3_column_int64(st, 0);
  else *ok = 0;
  sqlite3_finalize(st);
  return v;
}

int rel_db_check(const char *path, long layers_per_run, long workers_per_layer,
                 long *n_runs, char *msg, size_t cap) {
  struct stat sb;
  *n_runs = 0;
  msg[0] = 0;
  if (stat(path, &sb) != 0) return 0;
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
    snprintf(msg, cap, "%s: cannot open: %s", path, db ? sqlite3_errmsg(db) : "?");
    sqlite3_close(db);
    return 1;
  }
  int ok = 1, bad = 0;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK ||
      sqlite3_step(st) != SQLITE_ROW ||
      strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
    snprintf(msg, cap, "%s: integrity_check failed", path);
    bad = 1;
  }
  sqlite3_finalize(st);
  long tables = q_long(db, "SELECT COUNT(*) FROM sqlite_master WHERE type='table'", &ok);
  if (!bad && tables == 0) { /* created but never given a schema: no run can be in it */
    sqlite3_close(db);
    return 0;
  }
  if (!bad) *n_runs = q_long(db, "SELECT COUNT(*) FROM runs", &ok);
  long orphan_l = q_long(db, "SELECT COUNT(*) FROM layers WHERE run_id NOT IN "
                             "(SELECT run_id FROM runs)", &ok);
  long orphan_w = q_long(db, "SELECT COUNT(*) FROM workers w WHERE NOT EXISTS (SELECT 1 "
                             "FROM layers l WHERE l.run_id = w.run_id AND "
                             "l.layer_index = w.layer_index)", &ok);
  sqlite3_stmt *q = NULL;
  char sql[512];
  snprintf(sql, sizeof sql,
           "SELECT r.run_key, (SELECT COUNT(*) FROM layers l WHERE l.run_id = r.run_id), "
           "(SELECT COUNT(*) FROM workers w WHERE w.run_id = r.run_id) FROM runs r");
  if (!bad && sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK) {
    while (!bad && sqlite3_step(q) == SQLITE_ROW) {
      long nl = (long)sqlite3_column_int64(q, 1), nw = (long)sqlite3_column_int64(q, 2);
      if (nl != layers_per_run || (workers_per_layer && nw != nl * workers_per_layer)) {
        snprintf(msg, cap, "%s: run %s is partial: %ld layers rows (want %ld), %ld workers "
                 "rows (want %ld)", path, (const char *)sqlite3_column_text(q, 0), nl,
                 layers_per_run, nw, layers_per_run * workers_per_layer);
        bad = 1;
      }
    }
  }
  sqlite3_finalize(q);
  if (!bad && !ok) snprintf(msg, cap, "%s: a check query failed: %s", path, sqlite3_errmsg(db)), bad = 1;
  if (!bad && (orphan_l || orphan_w))
    snprintf(msg, cap, "%s: %ld layers rows and %ld workers rows without their run/layer", path,
             orphan_l, orphan_w), bad = 1;
  sqlite3_close(db);
  return bad;
}
