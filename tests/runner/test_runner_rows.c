/* test_runner_rows.c: the rows a threaded sweep commits are the rows of a serial sweep,
 * byte for byte (suite unit; also the test run under ASan and ThreadSanitizer/helgrind).
 *
 * Why: a finished run's rows once pointed into the worker thread's run_config (the class
 * name), which that thread overwrote with its next task before the main thread wrote the
 * row, so workers.class came out as '' or NUL bytes, with --jobs 2 and even --jobs 1.
 * Every string a row carries must be owned by the row until it is committed.
 *
 * The test sweeps a two-class scenario with jobs = 1 and jobs = 2 and compares EVERY
 * column of every table (read through sqlite3's own table_info, not the results library's
 * description), except the documented host columns (started_at, wall_s, cpu_*_s), as the
 * exact bytes SQLite stores: text and blobs as their bytes in hex, reals as their 64 bits,
 * integers in decimal. It also checks each worker's class against the scenario's file
 * order (workers 0..1 "fast", 2..4 "slow", 5 "default"), which a corrupted but equal pair
 * of dumps would not pass; and, deterministically, that overwriting the run_config after
 * run_execute changes none of the run's strings.
 *
 * Under the thread checkers: `meson test -C build --setup helgrind runner_rows` (valgrind
 * helgrind; it reports the old bug as a race in bind_row), and in an ASan build
 * (`meson setup build-asan -Db_sanitize=address,undefined`, run with
 * ASAN_OPTIONS=detect_stack_use_after_return=1: the old bug read a finished thread's
 * stack). ThreadSanitizer cannot run Criterion executables here (Criterion's arena
 * mapping fails under TSan), hence helgrind.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cod_status.h"
#include "run_exec.h"
#include "run_scenario.h"
#include "run_sweep.h"
#include "tr_tmpdir.h"

static char g_dir[256];

static void make_dir(void) {
  cr_assert_eq(tr_tmpdir_make(g_dir, sizeof g_dir, "rowstest"), 0, "mkdtemp failed");
}

/* The databases (and their WAL companions) and the directory, without a shell. */
static void remove_dir(void) { tr_tmpdir_remove(g_dir); }

TestSuite(rows, .init = make_dir, .fini = remove_dir);

/* Two classes that do not cover every worker (so "default" appears too), two schemes and
 * several trials, so that each thread runs several tasks one after the other. */
static const char *const SCENARIO =
    "[run]\nseed = 11\ntrials = 4\n"
    "[model]\nname = lenet5\nlayers = all\n"
    "[coding]\nscheme = nsctc-rot, poly-real\nka = 2\nkb = 2\n"
    "[cluster]\nworkers = 6\n"
    "[class fast]\ncount = 2\n"
    "[class slow]\ncount = 3\nshift = 4.0\n";

static void sweep_into(const char *path, size_t jobs) {
  run_scenario *sc = NULL;
  cod_err e = {0};
  cr_assert_eq(run_scenario_parse(SCENARIO, strlen(SCENARIO), "rows.ini", &sc, &e), COD_OK,
               "%s", e.msg);
  run_sweep_opts o;
  memset(&o, 0, sizeof o);
  o.db_path = path;
  o.jobs = jobs;
  run_sweep_stats st;
  int rc = run_sweep(sc, &o, &st, &e);
  run_scenario_free(sc);
  cr_assert_eq(rc, COD_OK, "sweep (jobs %zu) failed: %s", jobs, e.msg);
  cr_assert_eq(st.committed, 8, "jobs %zu: %zu of 8 runs committed", jobs, st.committed);
}

/* Growing text buffer of a dump. */
typedef struct dump {
  char *s;
  size_t len, cap;
} dump;

static void put(dump *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(dump *d, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(d->s + d->len, d->cap - d->len, fmt, ap);
    va_end(ap);
    cr_assert(n >= 0);
    if ((size_t)n < d->cap - d->len) {
      d->len += (size_t)n;
      return;
    }
    d->cap = 2 * d->cap + (size_t)n + 1;
    d->s = realloc(d->s, d->cap);
    cr_assert_not_null(d->s);
  }
}

/* Host columns: wall clock and CPU time differ from one execution to the next. */
static int is_host_column(const char *name) {
  return strcmp(name, "started_at") == 0 || strcmp(name, "wall_s") == 0 ||
         strncmp(name, "cpu_", 4) == 0;
}

/* The names of table's columns, from SQLite's own description, host columns left out;
 * joined with ", " into cols. Returns how many. */
static int table_columns(sqlite3 *db, const char *table, char *cols, size_t cap) {
  sqlite3_stmt *st = NULL;
  cr_assert_eq(sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info(?1) ORDER BY cid",
                                  -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
  int n = 0;
  cols[0] = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(st, 0);
    if (is_host_column(name)) continue;
    size_t len = strlen(cols);
    snprintf(cols + len, cap - len, "%s\"%s\"", n ? ", " : "", name);
    n++;
  }
  sqlite3_finalize(st);
  return n;
}

/* Every non-host column of table, every row in key order, as stored bytes. */
static void dump_table(sqlite3 *db, const char *table, const char *order, dump *d) {
  char cols[2048], sql[2400];
  int nc = table_columns(db, table, cols, sizeof cols);
  cr_assert_gt(nc, 0, "table %s has no columns", table);
  snprintf(sql, sizeof sql, "SELECT %s FROM %s ORDER BY %s", cols, table, order);
  sqlite3_stmt *st = NULL;
  cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
               sqlite3_errmsg(db));
  put(d, "[%s] %s\n", table, cols);
  while (sqlite3_step(st) == SQLITE_ROW) {
    for (int c = 0; c < nc; c++) {
      int type = sqlite3_column_type(st, c);
      if (type == SQLITE_NULL) {
        put(d, "N");
      } else if (type == SQLITE_INTEGER) {
        put(d, "i%lld", (long long)sqlite3_column_int64(st, c));
      } else if (type == SQLITE_FLOAT) {
        double v = sqlite3_column_double(st, c);
        uint64_t bits;
        memcpy(&bits, &v, sizeof bits);
        put(d, "r%016llx", (unsigned long long)bits);
      } else {
        const unsigned char *p = type == SQLITE_TEXT ? sqlite3_column_text(st, c)
                                                     : sqlite3_column_blob(st, c);
        int len = sqlite3_column_bytes(st, c);
        put(d, "%c%d:", type == SQLITE_TEXT ? 't' : 'b', len);
        for (int i = 0; i < len; i++) put(d, "%02x", p[i]);
      }
      put(d, c + 1 < nc ? "|" : "\n");
    }
  }
  sqlite3_finalize(st);
}

static char *dump_db(const char *path) {
  sqlite3 *db = NULL;
  cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  dump d = {malloc(4096), 0, 4096};
  cr_assert_not_null(d.s);
  d.s[0] = 0;
  dump_table(db, "runs", "run_key", &d);
  dump_table(db, "layers", "run_id, layer_index", &d);
  dump_table(db, "workers", "run_id, layer_index, worker", &d);
  dump_table(db, "events", "run_id, seq", &d);
  sqlite3_close(db);
  return d.s;
}

static long long q_int(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_stmt *st = NULL;
  cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s", sql);
  long long v = -1;
  if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

/* Every workers row's class is the one the scenario gives its worker. */
static void expect_classes(const char *path) {
  long long rows = q_int(path, "SELECT COUNT(*) FROM workers");
  cr_assert_gt(rows, 0);
  long long right = q_int(path, "SELECT COUNT(*) FROM workers WHERE class = CASE "
                                "WHEN worker < 2 THEN 'fast' WHEN worker < 5 THEN 'slow' "
                                "ELSE 'default' END");
  cr_expect_eq(right, rows, "%s: %lld of %lld workers rows carry their class", path, right,
               rows);
}

Test(rows, threaded_sweep_commits_the_serial_rows_byte_for_byte) {
  char p1[400], p2[400];
  snprintf(p1, sizeof p1, "%s/j1.db", g_dir);
  snprintf(p2, sizeof p2, "%s/j2.db", g_dir);
  sweep_into(p1, 1);
  sweep_into(p2, 2);
  expect_classes(p1);
  expect_classes(p2);
  char *a = dump_db(p1), *b = dump_db(p2);
  cr_expect(strstr(a, "[workers]") && strlen(a) > 1000, "a dump with rows");
  cr_expect_str_eq(a, b, "jobs = 1 and jobs = 2 committed different rows");
  free(a);
  free(b);
}

/* The ownership rule itself, deterministically: once run_execute returned, overwriting
 * the run_config it ran with (as a sweep thread does with its next task) changes no
 * string of the run's rows. */
Test(rows, rows_own_their_strings_after_the_config_changes) {
  run_scenario *sc = NULL;
  cod_err e = {0};
  cr_assert_eq(run_scenario_parse(SCENARIO, strlen(SCENARIO), "rows.ini", &sc, &e), COD_OK,
               "%s", e.msg);
  run_config *cfg = malloc(sizeof *cfg);
  cr_assert_not_null(cfg);
  cr_assert_eq(run_scenario_point(sc, 0, cfg, &e), COD_OK, "%s", e.msg);
  run_ident id = {"rows.ini", run_scenario_hash(sc), "{}", 0, 0};
  run_assets *cache = NULL;
  run_result r;
  cr_assert_eq(run_execute(cfg, &id, &cache, &r, &e), COD_OK, "%s", e.msg);
  memset(cfg, 'X', sizeof *cfg); /* cfg is freed after the checks: a dead store otherwise */
  cr_assert_gt(r.n_workers, 0);
  for (size_t i = 0; i < r.n_workers; i++) {
    const res_worker_row *w = &r.workers[i];
    const char *want = w->worker < 2 ? "fast" : w->worker < 5 ? "slow" : "default";
    cr_expect_str_eq(w->worker_class, want, "workers row %zu (worker %lld)", i,
                     (long long)w->worker);
  }
  for (size_t i = 0; i < r.n_layers; i++)
    cr_expect(r.layers[i].layer_name && r.layers[i].layer_name[0] == 'c', "layer %zu's name",
              i);
  cr_expect_str_eq(r.run.model, "lenet5");
  cr_expect_str_eq(r.run.scheme, "nsctc-rot");
  run_result_fini(&r);
  run_assets_free(cache);
  run_scenario_free(sc);
  free(cfg);
}
