/* test_res_db_open.c: the open path of res_db (issue 11): names that would save nothing,
 * paths that are not files, read-only opens that leave no side files, and a created file
 * that disappears again when no run was committed (RES_DB_DROP_EMPTY). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "res_db.h"
#include "test_res_util.h"

static int exists(const char *path, const char *suffix) {
  char p[400];
  snprintf(p, sizeof p, "%s%s", path, suffix);
  return access(p, F_OK) == 0;
}

static void one_run(res_db *db, const char *hash) {
  res_run_row r;
  res_run_row_init(&r);
  r.scenario_hash = hash;
  r.scenario_path = "scenarios/test.ini";
  r.point_index = 0;
  r.trial = 0;
  r.seed = 7;
  r.backend = "sim";
  r.scheme = "fcdcc";
  r.model = "lenet";
  r.status = RES_STATUS_OK;
  int64_t id = 0;
  cod_err e = {0};
  cr_assert_eq(res_db_begin_run(db, &r, &id, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "%s", e.msg);
}

Test(res_db_open, names_that_save_nothing) {
  static const char *const bad[] = {"", ":memory:", ":memory:x", "file:x.db",
                                    "file:x.db?mode=memory", "file::memory:"};
  cod_err e = {0};
  cr_expect_eq(res_db_check_name(NULL, &e), COD_EINVAL);
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    res_db *db = (res_db *)0x1;
    cr_expect_eq(res_db_check_name(bad[i], &e), COD_EINVAL, "'%s' accepted", bad[i]);
    cr_expect_eq(res_db_open(bad[i], 0, &db, &e), COD_EINVAL, "'%s' opened", bad[i]);
    cr_expect(db == (res_db *)0x1, "out touched on failure");
    cr_expect(strstr(e.msg, "nothing") || strstr(e.msg, "URI"), "%s", e.msg);
  }
  cr_expect_eq(res_db_check_name("./file:x.db", &e), COD_OK, "a plain file name");
  cr_expect_eq(res_db_check_name("results/:memory:.db", &e), COD_OK);
}

Test(res_db_open, a_fifo_is_refused_without_blocking) {
  tmp_place tp;
  tmp_place_make(&tp, "fifo.db");
  cr_assert_eq(mkfifo(tp.path, 0600), 0);
  res_db *db = NULL;
  cod_err e = {0};
  for (int flags = 0; flags <= RES_DB_READONLY; flags++) {
    cr_expect_eq(res_db_open(tp.path, flags, &db, &e), COD_EIO);
    cr_expect(strstr(e.msg, "is a FIFO, not a results database file"), "%s", e.msg);
  }
  tmp_place_remove(&tp);
}

Test(res_db_open, read_only_leaves_no_side_files) {
  tmp_place tp;
  tmp_place_make(&tp, "r.db");
  res_db *db = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(tp.path, 0, &db, &e), COD_OK, "%s", e.msg);
  one_run(db, "h1");
  res_db_close(db);
  cr_expect(!exists(tp.path, "-wal") && !exists(tp.path, "-shm"),
            "a closed read-write handle left -wal/-shm");
  struct stat before, after;
  cr_assert_eq(stat(tp.path, &before), 0);
  cr_assert_eq(res_db_open(tp.path, RES_DB_READONLY, &db, &e), COD_OK, "%s", e.msg);
  cr_expect(!exists(tp.path, "-wal") && !exists(tp.path, "-shm"), "side files while open");
  res_db_close(db);
  cr_expect(!exists(tp.path, "-wal") && !exists(tp.path, "-shm"), "side files after close");
  cr_assert_eq(stat(tp.path, &after), 0);
  cr_expect(before.st_mtim.tv_nsec == after.st_mtim.tv_nsec && before.st_size == after.st_size,
            "a read-only open changed the file");
  /* with a writer open (its -wal present) a reader still sees the committed runs */
  res_db *w = NULL;
  cr_assert_eq(res_db_open(tp.path, 0, &w, &e), COD_OK, "%s", e.msg);
  one_run(w, "h2");
  cr_expect(exists(tp.path, "-wal"), "expected the writer's -wal");
  cr_assert_eq(res_db_open(tp.path, RES_DB_READONLY, &db, &e), COD_OK, "%s", e.msg);
  sqlite3 *raw = raw_open(tp.path);
  cr_expect_eq(raw_int(raw, "SELECT COUNT(*) FROM runs"), 2);
  sqlite3_close(raw);
  res_db_close(db);
  res_db_close(w);
  cr_expect(!exists(tp.path, "-wal") && !exists(tp.path, "-shm"));
  tmp_place_remove(&tp);
}

Test(res_db_open, a_created_file_without_runs_is_removed) {
  tmp_place tp;
  tmp_place_make(&tp, "new.db");
  res_db *db = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(tp.path, RES_DB_DROP_EMPTY, &db, &e), COD_OK, "%s", e.msg);
  cr_expect(exists(tp.path, ""), "the file exists while open");
  res_db_close(db);
  cr_expect(!exists(tp.path, "") && !exists(tp.path, "-wal") && !exists(tp.path, "-shm"),
            "an empty created file stayed");
  /* with a committed run it stays */
  cr_assert_eq(res_db_open(tp.path, RES_DB_DROP_EMPTY, &db, &e), COD_OK, "%s", e.msg);
  one_run(db, "h1");
  res_db_close(db);
  cr_expect(exists(tp.path, ""), "a file with a run was removed");
  /* a file that existed before is never removed, even with no run added */
  cr_assert_eq(res_db_open(tp.path, RES_DB_DROP_EMPTY, &db, &e), COD_OK, "%s", e.msg);
  res_db_close(db);
  cr_expect(exists(tp.path, ""), "an existing file was removed");
  /* without the flag an empty created file stays (library users that create on purpose) */
  char other[400];
  snprintf(other, sizeof other, "%s/plain.db", tp.dir);
  cr_assert_eq(res_db_open(other, 0, &db, &e), COD_OK, "%s", e.msg);
  res_db_close(db);
  cr_expect(exists(other, ""));
  unlink(other);
  tmp_place_remove(&tp);
}
