/* test_res_db.c: the results database: creation, validation of foreign files, row
 * round trips (read back with plain SQLite, not through the library), transactions,
 * resume lookups, concurrency and allocation failures. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cod_alloc.h"
#include "fcdcc_config.h"
#include "res_db.h"
#include "test_res_util.h"

static tmp_place tp;

static void setup(void) { tmp_place_make(&tp, "r.db"); }
static void teardown(void) {
  cod_alloc_fail_at(-1);
  tmp_place_remove(&tp);
}

TestSuite(res_db, .init = setup, .fini = teardown);

static res_db *open_ok(const char *path, int flags) {
  res_db *db = NULL;
  cod_err e = {0};
  int st = res_db_open(path, flags, &db, &e);
  cr_assert_eq(st, COD_OK, "open %s: %s", path, e.msg);
  cr_assert_not_null(db);
  return db;
}

/* Expect res_db_open to fail with status and a message containing both the path and
 * `needle`; the out-parameter must stay untouched. */
static void open_fails(const char *path, int flags, int status, const char *needle) {
  res_db *db = (res_db *)&tp; /* sentinel: must survive */
  cod_err e = {0};
  int st = res_db_open(path, flags, &db, &e);
  cr_assert_eq(st, status, "status %d (%s), expected %d", st, e.msg, status);
  cr_assert_eq(e.status, status);
  cr_assert_eq((void *)db, (void *)&tp, "out-parameter touched on failure");
  cr_assert_not_null(strstr(e.msg, path), "message does not name the file: %s", e.msg);
  cr_assert_not_null(strstr(e.msg, needle), "message lacks '%s': %s", needle, e.msg);
}

static void fill_run(res_run_row *r, const char *hash, int64_t point, int64_t trial) {
  res_run_row_init(r);
  r->scenario_hash = hash;
  r->scenario_path = "scenarios/test.ini";
  r->point_index = point;
  r->trial = trial;
  r->seed = 42;
  r->backend = "sim";
  r->scheme = "fcdcc";
  r->model = "lenet";
  r->status = RES_STATUS_OK;
}

/* Begin a run of fill_run(hash, point, trial 0); its id. */
static int64_t begin_ok(res_db *db, const char *hash, int64_t point) {
  res_run_row r;
  fill_run(&r, hash, point, 0);
  int64_t id = 0;
  cod_err e = {0};
  cr_assert_eq(res_db_begin_run(db, &r, &id, &e), COD_OK, "%s", e.msg);
  return id;
}

static void fill_layer(res_layer_row *l, int64_t index) {
  res_layer_row_init(l);
  l->layer_index = index;
  l->status = RES_STATUS_OK;
}

static void fill_worker(res_worker_row *w, int64_t layer, int64_t worker) {
  res_worker_row_init(w);
  w->layer_index = layer;
  w->worker = worker;
  w->status = RES_WORKER_USED;
}

/* ---- creation and validation -------------------------------------------------------- */

Test(res_db, creates_schema_and_reopens) {
  res_db *db = open_ok(tp.path, 0);
  cr_assert_str_eq(res_db_path(db), tp.path);
  res_db_close(db);

  sqlite3 *c = raw_open(tp.path);
  cr_assert_eq(raw_int(c, "PRAGMA user_version"), RES_DB_SCHEMA_VERSION);
  cr_assert_eq(raw_int(c, "PRAGMA application_id"), 0x46434443);
  cr_assert_str_eq(raw_text(c, "PRAGMA journal_mode"), "wal");
  cr_assert_eq(raw_int(c, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                          "('runs','layers','workers','events')"), 4);
  int64_t objects = raw_int(c, "SELECT COUNT(*) FROM sqlite_master");
  sqlite3_close(c);

  /* Reopening (read-write, no-create, read-only) validates and changes nothing. */
  res_db_close(open_ok(tp.path, 0));
  res_db_close(open_ok(tp.path, RES_DB_NOCREATE));
  db = open_ok(tp.path, RES_DB_READONLY);
  int64_t n = -5;
  cod_err e = {0};
  cr_assert_eq(res_db_count_runs(db, &n, &e), COD_OK);
  cr_assert_eq(n, 0);
  res_db_close(db);
  c = raw_open(tp.path);
  cr_assert_eq(raw_int(c, "SELECT COUNT(*) FROM sqlite_master"), objects);
  cr_assert_eq(raw_int(c, "PRAGMA user_version"), RES_DB_SCHEMA_VERSION);
  sqlite3_close(c);
}

Test(res_db, empty_existing_file_becomes_a_database) {
  FILE *f = fopen(tp.path, "w");
  cr_assert_not_null(f);
  fclose(f);
  /* read-only cannot create: an empty file is not (yet) an fcdcc database */
  open_fails(tp.path, RES_DB_READONLY, COD_EFORMAT, "not an fcdcc results database");
  res_db_close(open_ok(tp.path, 0));
  res_db_close(open_ok(tp.path, RES_DB_READONLY));
}

Test(res_db, rejects_non_sqlite_file) {
  FILE *f = fopen(tp.path, "w");
  cr_assert_not_null(f);
  fputs("model,scheme,latency\nlenet,fcdcc,1.5\n"
        "this is a CSV file and certainly not an SQLite database at all, padded ...........\n",
        f);
  fclose(f);
  open_fails(tp.path, 0, COD_EFORMAT, "not an SQLite database");
  open_fails(tp.path, RES_DB_READONLY, COD_EFORMAT, "not an SQLite database");
  /* and the file was not modified */
  f = fopen(tp.path, "r");
  char head[16] = {0};
  cr_assert_eq(fread(head, 1, 15, f), 15);
  fclose(f);
  cr_assert_str_eq(head, "model,scheme,la");
}

Test(res_db, rejects_sqlite_file_of_another_app) {
  sqlite3 *c = NULL;
  cr_assert_eq(sqlite3_open(tp.path, &c), SQLITE_OK);
  raw_exec(c, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)");
  sqlite3_close(c);
  open_fails(tp.path, 0, COD_EFORMAT, "another application");
  open_fails(tp.path, RES_DB_READONLY, COD_EFORMAT, "another application");
  c = raw_open(tp.path);
  cr_assert_eq(raw_int(c, "SELECT COUNT(*) FROM sqlite_master"), 1, "schema was touched");
  cr_assert_eq(raw_int(c, "PRAGMA application_id"), 0);
  sqlite3_close(c);
}

Test(res_db, rejects_other_application_id_even_without_tables) {
  sqlite3 *c = NULL;
  cr_assert_eq(sqlite3_open(tp.path, &c), SQLITE_OK);
  raw_exec(c, "PRAGMA application_id = 12345");
  sqlite3_close(c);
  open_fails(tp.path, 0, COD_EFORMAT, "application_id 12345");
}

Test(res_db, rejects_newer_schema_version) {
  res_db_close(open_ok(tp.path, 0));
  sqlite3 *c = raw_open(tp.path);
  char newer[64];
  snprintf(newer, sizeof newer, "PRAGMA user_version = %d", RES_DB_SCHEMA_VERSION + 1);
  raw_exec(c, newer);
  sqlite3_close(c);
  open_fails(tp.path, 0, COD_EFORMAT, "written by a newer fcdcc");
  open_fails(tp.path, RES_DB_READONLY, COD_EFORMAT, "written by a newer fcdcc");
}

Test(res_db, rejects_damaged_schema) {
  res_db_close(open_ok(tp.path, 0));
  sqlite3 *c = raw_open(tp.path);
  raw_exec(c, "DROP TABLE events");
  sqlite3_close(c);
  open_fails(tp.path, 0, COD_EFORMAT, "damaged schema");
}

Test(res_db, rejects_table_with_wrong_columns) {
  res_db_close(open_ok(tp.path, 0));
  sqlite3 *c = raw_open(tp.path);
  raw_exec(c, "PRAGMA foreign_keys = OFF; DROP TABLE events;"
              "CREATE TABLE events (run_id INTEGER, seq INTEGER)");
  sqlite3_close(c);
  open_fails(tp.path, 0, COD_EFORMAT, "schema does not match");
}

Test(res_db, missing_file_without_create_is_io_error) {
  open_fails(tp.path, RES_DB_READONLY, COD_EIO, "cannot open");
  open_fails(tp.path, RES_DB_NOCREATE, COD_EIO, "cannot open");
  char bad[400];
  snprintf(bad, sizeof bad, "%s/no/such/dir/x.db", tp.dir);
  open_fails(bad, 0, COD_EIO, "cannot open");
}

Test(res_db, read_only_handle_refuses_writes) {
  res_db_close(open_ok(tp.path, 0));
  res_db *db = open_ok(tp.path, RES_DB_READONLY);
  res_run_row r;
  fill_run(&r, "h", 0, 0);
  int64_t id = -7;
  cod_err e = {0};
  cr_assert_eq(res_db_begin_run(db, &r, &id, &e), COD_EINVAL);
  cr_assert_not_null(strstr(e.msg, "read-only"));
  cr_assert_eq(id, -7);
  res_db_close(db);
}

/* ---- row round trips ---------------------------------------------------------------- */

Test(res_db, run_row_round_trip) {
  res_db *db = open_ok(tp.path, 0);
  res_run_row r;
  res_run_row_init(&r);
  r.run_key = "custom-key";
  r.scenario_path = "scenarios/sweep.ini";
  r.scenario_hash = "abc123";
  r.point_index = 7;
  r.trial = 3;
  r.seed = UINT64_C(0xfedcba9876543210); /* above INT64_MAX: must survive bit-exactly */
  r.backend = "mpi";
  r.program_version = "9.9.9-test";
  r.started_at = "2024-01-02T03:04:05Z";
  r.wall_s = 12.5;
  r.params_json = "{\"workers\": 8, \"ka\": 2}";
  r.scheme = "nsctc";
  r.model = "vgg16";
  r.workers = 8;
  r.ka = 2;
  r.kb = 3;
  r.delta = 1;
  r.precision = "fp32";
  r.status = RES_STATUS_INFEASIBLE_STORAGE;
  r.status_time_s = 0.25;
  r.latency_s = 1.75;
  r.e2e_mse = 1.5e-9;
  r.e2e_rel_error = 3.0e-7;
  r.e2e_max_abs_error = 2.0e-5;
  int64_t id = 0;
  cod_err e = {0};
  cr_assert_eq(res_db_begin_run(db, &r, &id, &e), COD_OK, "%s", e.msg);
  cr_assert_gt(id, 0);
  cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "%s", e.msg);
  res_db_close(db);

  sqlite3 *c = raw_open(tp.path);
  cr_assert_eq(raw_int(c, "SELECT COUNT(*) FROM runs"), 1);
  cr_assert_str_eq(raw_text(c, "SELECT run_key FROM runs"), "custom-key");
  cr_assert_str_eq(raw_text(c, "SELECT scenario_path FROM runs"), "scenarios/sweep.ini");
  cr_assert_str_eq(raw_text(c, "SELECT scenario_hash FROM runs"), "abc123");
  cr_assert_eq(raw_int(c, "SELECT point_index FROM runs"), 7);
  cr_assert_eq(raw_int(c, "SELECT trial FROM runs"), 3);
  cr_assert_eq((uint64_t)raw_int(c, "SELECT seed FROM runs"), UINT64_C(0xfedcba9876543210));
  cr_assert_str_eq(raw_text(c, "SELECT backend FROM runs"), "mpi");
  cr_assert_str_eq(raw_text(c, "SELECT program_version FROM runs"), "9.9.9-test");
  cr_assert_str_eq(raw_text(c, "SELECT started_at FROM runs"), "2024-01-02T03:04:05Z");
  cr_assert_eq(raw_real(c, "SELECT wall_s FROM runs"), 12.5);
  cr_assert_eq(raw_int(c, "SELECT json_extract(params_json, '$.workers') FROM runs"), 8);
  cr_assert_str_eq(raw_text(c, "SELECT scheme FROM runs"), "nsctc");
  cr_assert_str_eq(raw_text(c, "SELECT model FROM runs"), "vgg16");
  cr_assert_eq(raw_int(c, "SELECT workers FROM runs"), 8);
  cr_assert_eq(raw_int(c, "SELECT ka FROM runs"), 2);
  cr_assert_eq(raw_int(c, "SELECT kb FROM runs"), 3);
  cr_assert_eq(raw_int(c, "SELECT delta FROM runs"), 1);
  cr_assert_str_eq(raw_text(c, "SELECT precision FROM runs"), "fp32");
  cr_assert_str_eq(raw_text(c, "SELECT status FROM runs"), "infeasible: storage");
  cr_assert_eq(raw_real(c, "SELECT status_time_s FROM runs"), 0.25);
  cr_assert_eq(raw_real(c, "SELECT latency_s FROM runs"), 1.75);
  cr_assert_eq(raw_real(c, "SELECT e2e_mse FROM runs"), 1.5e-9);
  cr_assert_eq(raw_real(c, "SELECT e2e_rel_error FROM runs"), 3.0e-7);
  cr_assert_eq(raw_real(c, "SELECT e2e_max_abs_error FROM runs"), 2.0e-5);
  cr_assert_eq(raw_int(c, "SELECT run_id FROM runs"), id);
  sqlite3_close(c);
}

Test(res_db, run_row_defaults_and_nulls) {
  res_db *db = open_ok(tp.path, 0);
  res_run_row r;
  res_run_row_init(&r);
  r.scenario_hash = "h0";
  r.point_index = 4;
  r.trial = 0;
  r.backend = "sim";
  r.scheme = "uncoded";
  r.model = "lenet";
  int64_t id = 0;
  cod_err e = {0};
  cr_assert_eq(res_db_begin_run(db, &r, &id, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "%s", e.msg);
  res_db_close(db);

  sqlite3 *c = raw_open(tp.path);
  cr_assert_str_eq(raw_text(c, "SELECT run_key FROM runs"), "h0/p4/t0");
  cr_assert_str_eq(raw_text(c, "SELECT program_version FROM runs"), FCDCC_VERSION);
  cr_assert_str_eq(raw_text(c, "SELECT status FROM runs"), "error");
  /* started_at: now, ISO-8601 UTC "YYYY-MM-DDTHH:MM:SSZ" */
  cr_assert_eq(raw_int(c, "SELECT started_at GLOB "
                          "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:"
                          "[0-9][0-9]Z' FROM runs"), 1);
  cr_assert_eq(raw_int(c, "SELECT abs(julianday('now') - julianday(started_at)) < 0.01 "
                          "FROM runs"), 1);
  const char *nullable[] = {"scenario_path", "wall_s", "params_json", "workers", "ka", "kb",
                            "delta", "precision", "status_time_s", "latency_s", "e2e_mse",
                            "e2e_rel_error", "e2e_max_abs_error"};
  for (size_t i = 0; i < sizeof nullable / sizeof *nullable; i++) {
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT %s IS NULL FROM runs", nullable[i]);
    cr_assert_eq(raw_int(c, sql), 1, "%s should be NULL", nullable[i]);
  }
  sqlite3_close(c);
}

Test(res_db, layer_worker_event_round_trip) {
  res_db *db = open_ok(tp.path, 0);
  int64_t id = begin_ok(db, "h", 0);
  cod_err e = {0};

  res_layer_row l;
  res_layer_row_init(&l);
  l.layer_index = 2;
  l.layer_name = "conv3";
  l.ka = 2;
  l.kb = 4;
  l.delta = 0;
  l.workers_used = "0,2,3,5";
  l.t_encode_s = 0.5;
  l.t_upload_s = 1.25;
  l.t_compute_s = 2.5;
  l.t_download_s = 0.75;
  l.t_decode_s = 0.125;
  l.t_total_s = 5.125;
  l.cpu_encode_s = 0.01;
  l.cpu_compute_s = 0.02;
  l.cpu_decode_s = 0.03;
  l.mse = 1e-30;
  l.rel_error = 2e-15;
  l.max_abs_error = 3e-14;
  l.cond = 123.5;
  l.cond_flagged = 1;
  l.status = RES_STATUS_OK;
  l.an_upload_bytes = 4096;
  l.an_download_bytes = 2048;
  l.an_storage_bytes = 8192;
  l.an_compute_flops = 1.5e9;
  l.an_latency_s = 4.75;
  cr_assert_eq(res_db_insert_layer(db, id, &l, &e), COD_OK, "%s", e.msg);

  res_worker_row w;
  res_worker_row_init(&w);
  w.layer_index = 2;
  w.worker = 5;
  w.worker_class = "slow";
  w.bytes_up = 1000;
  w.bytes_down = 200;
  w.bytes_stored = INT64_C(30000000000);
  w.flops = 2.5e8;
  w.status = RES_WORKER_STRAGGLER;
  w.t_finish_s = 6.5;
  cr_assert_eq(res_db_insert_worker(db, id, &w, &e), COD_OK, "%s", e.msg);
  res_worker_row w2;
  fill_worker(&w2, 2, 1);
  w2.status = RES_WORKER_CANCELLED; /* never finished: t_finish_s NaN -> NULL */
  cr_assert_eq(res_db_insert_worker(db, id, &w2, &e), COD_OK, "%s", e.msg);

  res_event_row ev;
  res_event_row_init(&ev);
  ev.seq = 0;
  ev.t_ns = 1500000000;
  ev.kind = "to_worker_done";
  ev.worker = 5;
  ev.layer_index = 2;
  cr_assert_eq(res_db_insert_event(db, id, &ev, &e), COD_OK, "%s", e.msg);
  res_event_row ev2;
  res_event_row_init(&ev2);
  ev2.seq = 1;
  ev2.t_ns = 0;
  ev2.kind = "run_start";
  cr_assert_eq(res_db_insert_event(db, id, &ev2, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "%s", e.msg);
  res_db_close(db);

  sqlite3 *c = raw_open(tp.path);
  cr_assert_eq(raw_int(c, "SELECT COUNT(*) FROM layers"), 1);
  cr_assert_eq(raw_int(c, "SELECT run_id FROM layers"), id);
  cr_assert_eq(raw_int(c, "SELECT layer_index FROM layers"), 2);
  cr_assert_str_eq(raw_text(c, "SELECT layer_name FROM layers"), "conv3");
  cr_assert_eq(raw_int(c, "SELECT ka * 100 + kb * 10 + delta FROM layers"), 240);
  cr_assert_str_eq(raw_text(c, "SELECT workers_used FROM layers"), "0,2,3,5");
  cr_assert_eq(raw_real(c, "SELECT t_encode_s FROM layers"), 0.5);
  cr_assert_eq(raw_real(c, "SELECT t_to_worker_s FROM layers"), 1.25);
  cr_assert_eq(raw_real(c, "SELECT t_compute_s FROM layers"), 2.5);
  cr_assert_eq(raw_real(c, "SELECT t_to_master_s FROM layers"), 0.75);
  cr_assert_eq(raw_real(c, "SELECT t_decode_s FROM layers"), 0.125);
  cr_assert_eq(raw_real(c, "SELECT t_total_s FROM layers"), 5.125);
  cr_assert_eq(raw_real(c, "SELECT cpu_encode_s FROM layers"), 0.01);
  cr_assert_eq(raw_real(c, "SELECT cpu_compute_s FROM layers"), 0.02);
  cr_assert_eq(raw_real(c, "SELECT cpu_decode_s FROM layers"), 0.03);
  cr_assert_eq(raw_real(c, "SELECT mse FROM layers"), 1e-30);
  cr_assert_eq(raw_real(c, "SELECT rel_error FROM layers"), 2e-15);
  cr_assert_eq(raw_real(c, "SELECT max_abs_error FROM layers"), 3e-14);
  cr_assert_eq(raw_real(c, "SELECT cond FROM layers"), 123.5);
  cr_assert_eq(raw_int(c, "SELECT cond_flagged FROM layers"), 1);
  cr_assert_str_eq(raw_text(c, "SELECT status FROM layers"), "ok");
  cr_assert_eq(raw_real(c, "SELECT an_to_worker_bytes FROM layers"), 4096);
  cr_assert_eq(raw_real(c, "SELECT an_to_master_bytes FROM layers"), 2048);
  cr_assert_eq(raw_real(c, "SELECT an_storage_bytes FROM layers"), 8192);
  cr_assert_eq(raw_real(c, "SELECT an_compute_flops FROM layers"), 1.5e9);
  cr_assert_eq(raw_real(c, "SELECT an_latency_s FROM layers"), 4.75);

  cr_assert_eq(raw_int(c, "SELECT COUNT(*) FROM workers"), 2);
  cr_assert_eq(raw_int(c, "SELECT run_id FROM workers WHERE worker = 5"), id);
  cr_assert_eq(raw_int(c, "SELECT layer_index FROM workers WHERE worker = 5"), 2);
  cr_assert_str_eq(raw_text(c, "SELECT class FROM workers WHERE worker = 5"), "slow");
  cr_assert_eq(raw_int(c, "SELECT bytes_to_worker FROM workers WHERE worker = 5"), 1000);
  cr_assert_eq(raw_int(c, "SELECT bytes_to_master FROM workers WHERE worker = 5"), 200);
  cr_assert_eq(raw_int(c, "SELECT bytes_stored FROM workers WHERE worker = 5"),
               INT64_C(30000000000));
  cr_assert_eq(raw_real(c, "SELECT flops FROM workers WHERE worker = 5"), 2.5e8);
  cr_assert_str_eq(raw_text(c, "SELECT status FROM workers WHERE worker = 5"), "straggler");
  cr_assert_eq(raw_real(c, "SELECT t_finish_s FROM workers WHERE worker = 5"), 6.5);
  cr_assert_eq(raw_int(c, "SELECT t_finish_s IS NULL AND class IS NULL AND bytes_to_worker IS NULL "
                          "AND flops IS NULL FROM workers WHERE worker = 1"), 1);
  cr_assert_str_eq(raw_text(c, "SELECT status FROM workers WHERE worker = 1"), "cancelled");

  cr_assert_eq(raw_int(c, "SELECT COUNT(*) FROM events"), 2);
  cr_assert_eq(raw_int(c, "SELECT t_ns FROM events WHERE seq = 0"), 1500000000);
  cr_assert_str_eq(raw_text(c, "SELECT kind FROM events WHERE seq = 0"), "to_worker_done");
  cr_assert_eq(raw_int(c, "SELECT worker * 10 + layer_index FROM events WHERE seq = 0"), 52);
  cr_assert_eq(raw_int(c, "SELECT run_id FROM events WHERE seq = 1"), id);
  cr_assert_eq(raw_int(c, "SELECT worker IS NULL AND layer_index IS NULL FROM events "
                          "WHERE seq = 1"), 1);
  sqlite3_close(c);
}

Test(res_db, layer_nullable_columns_are_null) {
  res_db *db = open_ok(tp.path, 0);
  int64_t id = begin_ok(db, "h", 0);
  cod_err e = {0};
  res_layer_row l;
  fill_layer(&l, 0);
  l.status = RES_STATUS_SKIPPED;
  cr_assert_eq(res_db_insert_layer(db, id, &l, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "%s", e.msg);
  res_db_close(db);
  sqlite3 *c = raw_open(tp.path);
  const char *cols[] = {"layer_name", "ka", "kb", "delta", "workers_used", "t_encode_s",
                        "t_to_worker_s", "t_compute_s", "t_to_master_s", "t_decode_s",
                        "t_total_s", "cpu_encode_s", "cpu_compute_s", "cpu_decode_s", "mse",
                        "rel_error", "max_abs_error", "cond", "cond_flagged",
                        "worst_sets_tried", "worst_exhaustive", "an_to_worker_bytes",
                        "an_to_master_bytes", "an_storage_bytes", "an_compute_flops",
                        "an_latency_s"};
  for (size_t i = 0; i < sizeof cols / sizeof *cols; i++) {
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT %s IS NULL FROM layers", cols[i]);
    cr_assert_eq(raw_int(c, sql), 1, "%s should be NULL", cols[i]);
  }
  cr_assert_str_eq(raw_text(c, "SELECT status FROM layers"), "skipped");
  sqlite3_close(c);
}

/* ---- transactions ------------------------------------------------------------------- */

/* Write a run with one layer, two workers and an event; leave it open. */
static int64_t write_open_run(res_db *db, const char *hash, int64_t point) {
  int64_t id = begin_ok(db, hash, point);
  cod_err e = {0};
  res_layer_row l;
  fill_layer(&l, 0);
  cr_assert_eq(res_db_insert_layer(db, id, &l, &e), COD_OK, "%s", e.msg);
  for (int k = 0; k < 2; k++) {
    res_worker_row w;
    fill_worker(&w, 0, k);
    cr_assert_eq(res_db_insert_worker(db, id, &w, &e), COD_OK, "%s", e.msg);
  }
  res_event_row ev;
  res_event_row_init(&ev);
  ev.seq = 0;
  ev.t_ns = 10;
  ev.kind = "k";
  cr_assert_eq(res_db_insert_event(db, id, &ev, &e), COD_OK, "%s", e.msg);
  return id;
}

static void assert_counts(const char *path, int64_t runs, int64_t layers, int64_t workers,
                          int64_t events) {
  sqlite3 *c = raw_open(path);
  cr_assert_eq(raw_int(c, "SELECT COUNT(*) FROM runs"), runs);
  cr_assert_eq(raw_int(c, "SELECT COUNT(*) FROM layers"), layers);
  cr_assert_eq(raw_int(c, "SELECT COUNT(*) FROM workers"), workers);
  cr_assert_eq(raw_int(c, "SELECT COUNT(*) FROM events"), events);
  sqlite3_close(c);
}

Test(res_db, open_run_is_invisible_and_rollback_leaves_nothing) {
  res_db *db = open_ok(tp.path, 0);
  int64_t id = write_open_run(db, "h", 0);
  assert_counts(tp.path, 0, 0, 0, 0); /* another connection sees nothing yet */
  cod_err e = {0};
  cr_assert_eq(res_db_rollback_run(db, id, &e), COD_OK, "%s", e.msg);
  assert_counts(tp.path, 0, 0, 0, 0);
  int exists = -1;
  cr_assert_eq(res_db_run_exists(db, "h/p0/t0", &exists, &e), COD_OK);
  cr_assert_eq(exists, 0);
  /* the handle is reusable, and the same key can now be written */
  id = write_open_run(db, "h", 0);
  cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "%s", e.msg);
  assert_counts(tp.path, 1, 1, 2, 1);
  cr_assert_eq(res_db_rollback_run(db, id, &e), COD_EINVAL, "rollback of a committed run");
  res_db_close(db);
}

Test(res_db, close_with_open_run_rolls_back) {
  res_db *db = open_ok(tp.path, 0);
  write_open_run(db, "h", 0);
  res_db_close(db);
  assert_counts(tp.path, 0, 0, 0, 0);
}

Test(res_db, failed_commit_rolls_back) {
  res_db *db = open_ok(tp.path, 0);
  int64_t id = write_open_run(db, "h", 0);
  res_worker_row w;
  fill_worker(&w, 9, 0); /* layer 9 is never written: deferred foreign key */
  cod_err e = {0};
  cr_assert_eq(res_db_insert_worker(db, id, &w, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_commit_run(db, id, &e), COD_EINVAL);
  cr_assert_not_null(strstr(e.msg, "FOREIGN KEY"), "%s", e.msg);
  assert_counts(tp.path, 0, 0, 0, 0);
  /* handle still usable */
  id = write_open_run(db, "h", 1);
  cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "%s", e.msg);
  assert_counts(tp.path, 1, 1, 2, 1);
  res_db_close(db);
}

Test(res_db, workers_may_precede_their_layer) {
  res_db *db = open_ok(tp.path, 0);
  int64_t id = begin_ok(db, "h", 0);
  cod_err e = {0};
  res_worker_row w;
  fill_worker(&w, 0, 3);
  cr_assert_eq(res_db_insert_worker(db, id, &w, &e), COD_OK, "%s", e.msg);
  res_layer_row l;
  fill_layer(&l, 0);
  cr_assert_eq(res_db_insert_layer(db, id, &l, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "%s", e.msg);
  res_db_close(db);
  assert_counts(tp.path, 1, 1, 1, 0);
}

Test(res_db, misuse_and_constraint_errors) {
  res_db *db = open_ok(tp.path, 0);
  cod_err e = {0};
  res_layer_row l;
  fill_layer(&l, 0);
  cr_assert_eq(res_db_insert_layer(db, 1, &l, &e), COD_EINVAL, "insert without open run");
  cr_assert_eq(res_db_commit_run(db, 1, &e), COD_EINVAL);

  int64_t id = write_open_run(db, "h", 0);
  res_run_row r;
  fill_run(&r, "h", 1, 0);
  int64_t id2 = -3;
  cr_assert_eq(res_db_begin_run(db, &r, &id2, &e), COD_EINVAL, "second open run");
  cr_assert_not_null(strstr(e.msg, "still open"));
  cr_assert_eq(id2, -3);
  cr_assert_eq(res_db_insert_layer(db, id + 1, &l, &e), COD_EINVAL, "wrong run id");

  /* constraint failures leave the run open and usable */
  cr_assert_eq(res_db_insert_layer(db, id, &l, &e), COD_EINVAL, "duplicate layer");
  res_layer_row bad;
  fill_layer(&bad, 1);
  bad.status = "fine";
  cr_assert_eq(res_db_insert_layer(db, id, &bad, &e), COD_EINVAL, "bad layer status");
  cr_assert_not_null(strstr(e.msg, "CHECK"), "%s", e.msg);
  fill_layer(&bad, 1);
  bad.cond_flagged = 2;
  cr_assert_eq(res_db_insert_layer(db, id, &bad, &e), COD_EINVAL, "cond_flagged 2");
  res_worker_row w;
  fill_worker(&w, 0, 7);
  w.status = "busy";
  cr_assert_eq(res_db_insert_worker(db, id, &w, &e), COD_EINVAL, "bad worker status");
  res_event_row ev;
  res_event_row_init(&ev);
  ev.seq = 5;
  ev.t_ns = 1;
  cr_assert_eq(res_db_insert_event(db, id, &ev, &e), COD_EINVAL, "event without kind");
  cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "%s", e.msg);
  assert_counts(tp.path, 1, 1, 2, 1);

  /* run rows: duplicate key, missing required fields, bad status/backend/json */
  fill_run(&r, "h", 0, 0);
  cr_assert_eq(res_db_begin_run(db, &r, &id2, &e), COD_EINVAL, "duplicate run key");
  cr_assert_not_null(strstr(e.msg, "UNIQUE"), "%s", e.msg);
  fill_run(&r, "h", 2, 0);
  r.backend = "cloud";
  cr_assert_eq(res_db_begin_run(db, &r, &id2, &e), COD_EINVAL, "bad backend");
  fill_run(&r, "h", 2, 0);
  r.status = "fine";
  cr_assert_eq(res_db_begin_run(db, &r, &id2, &e), COD_EINVAL, "bad status");
  fill_run(&r, "h", 2, 0);
  r.params_json = "{not json";
  cr_assert_eq(res_db_begin_run(db, &r, &id2, &e), COD_EINVAL, "bad json");
  fill_run(&r, "h", 2, 0);
  r.model = NULL;
  cr_assert_eq(res_db_begin_run(db, &r, &id2, &e), COD_EINVAL, "missing model");
  cr_assert_not_null(strstr(e.msg, "runs.model"), "%s", e.msg);
  fill_run(&r, NULL, 2, 0);
  cr_assert_eq(res_db_begin_run(db, &r, &id2, &e), COD_EINVAL, "no key, no hash");
  fill_run(&r, "h", -1, 0);
  cr_assert_eq(res_db_begin_run(db, &r, &id2, &e), COD_EINVAL, "point_index not set");
  cr_assert_eq(id2, -3, "run_id written on failure");
  /* none of the failures left a transaction open */
  fill_run(&r, "h", 2, 0);
  cr_assert_eq(res_db_begin_run(db, &r, &id2, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_commit_run(db, id2, &e), COD_OK, "%s", e.msg);
  int64_t n = 0;
  cr_assert_eq(res_db_count_runs(db, &n, &e), COD_OK);
  cr_assert_eq(n, 2);
  res_db_close(db);
}

Test(res_db, set_run_outcome_updates_only_outcome) {
  res_db *db = open_ok(tp.path, 0);
  res_run_row r;
  fill_run(&r, "h", 0, 0);
  r.status = NULL; /* unknown yet */
  int64_t id = 0;
  cod_err e = {0};
  cr_assert_eq(res_db_begin_run(db, &r, &id, &e), COD_OK, "%s", e.msg);
  res_run_row o;
  res_run_row_init(&o);
  o.model = "ignored";
  o.status = RES_STATUS_UNDECODABLE;
  o.status_time_s = 3.5;
  o.wall_s = 0.5;
  cr_assert_eq(res_db_set_run_outcome(db, id, &o, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_set_run_outcome(db, id, &o, &e), COD_EINVAL, "run no longer open");
  res_db_close(db);
  sqlite3 *c = raw_open(tp.path);
  cr_assert_str_eq(raw_text(c, "SELECT status FROM runs"), "undecodable");
  cr_assert_eq(raw_real(c, "SELECT status_time_s FROM runs"), 3.5);
  cr_assert_eq(raw_real(c, "SELECT wall_s FROM runs"), 0.5);
  cr_assert_eq(raw_int(c, "SELECT latency_s IS NULL FROM runs"), 1);
  cr_assert_str_eq(raw_text(c, "SELECT model FROM runs"), "lenet");
  sqlite3_close(c);
}

Test(res_db, run_exists_and_run_key_format) {
  char key[64];
  cod_err e = {0};
  cr_assert_eq(res_run_key_format(key, sizeof key, "deadbeef", 12, 3, &e), COD_OK);
  cr_assert_str_eq(key, "deadbeef/p12/t3");
  cr_assert_eq(res_run_key_format(key, 8, "deadbeef", 12, 3, &e), COD_EINVAL);
  cr_assert_eq(res_run_key_format(key, sizeof key, "deadbeef", -1, 3, &e), COD_EINVAL);

  res_db *db = open_ok(tp.path, 0);
  for (int64_t p = 0; p < 3; p++) {
    int64_t id = write_open_run(db, "deadbeef", p);
    cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "%s", e.msg);
  }
  int exists = -1;
  for (int64_t p = 0; p < 4; p++) {
    cr_assert_eq(res_run_key_format(key, sizeof key, "deadbeef", p, 0, &e), COD_OK);
    cr_assert_eq(res_db_run_exists(db, key, &exists, &e), COD_OK, "%s", e.msg);
    cr_assert_eq(exists, p < 3, "point %lld", (long long)p);
  }
  cr_assert_eq(res_db_run_exists(db, "deadbeef/p0/t1", &exists, &e), COD_OK);
  cr_assert_eq(exists, 0);
  cr_assert_eq(res_db_run_exists(db, NULL, &exists, &e), COD_EINVAL);
  res_db_close(db);
  /* resume from a read-only handle works too */
  db = open_ok(tp.path, RES_DB_READONLY);
  cr_assert_eq(res_db_run_exists(db, "deadbeef/p2/t0", &exists, &e), COD_OK);
  cr_assert_eq(exists, 1);
  res_db_close(db);
}

/* ---- concurrency -------------------------------------------------------------------- */

Test(res_db, second_writer_waits_or_times_out) {
  res_db *a = open_ok(tp.path, 0);
  res_db *b = open_ok(tp.path, 0);
  int64_t ida = write_open_run(a, "h", 0);
  res_db_set_busy_timeout(b, 50);
  res_run_row r;
  fill_run(&r, "h", 1, 0);
  int64_t idb = -1;
  cod_err e = {0};
  cr_assert_eq(res_db_begin_run(b, &r, &idb, &e), COD_EIO, "lock should be held by a");
  cr_assert_not_null(strstr(e.msg, "locked"), "%s", e.msg);
  cr_assert_eq(idb, -1);
  cr_assert_eq(res_db_commit_run(a, ida, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_begin_run(b, &r, &idb, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_commit_run(b, idb, &e), COD_OK, "%s", e.msg);
  res_db_close(a);
  res_db_close(b);
  assert_counts(tp.path, 2, 1, 2, 1);
}

enum { THREADS = 3, RUNS_PER_THREAD = 20 };

typedef struct writer_arg {
  const char *path;
  int index;
  int status;
  char msg[COD_ERR_MSG_LEN];
} writer_arg;

/* Each thread opens its own handle and writes RUNS_PER_THREAD runs of 2 layers x 3 workers. */
static void *writer_main(void *p) {
  writer_arg *a = p;
  res_db *db = NULL;
  cod_err e = {0};
  char hash[32];
  snprintf(hash, sizeof hash, "thread%d", a->index);
  a->status = res_db_open(a->path, 0, &db, &e);
  for (int k = 0; !a->status && k < RUNS_PER_THREAD; k++) {
    res_run_row r;
    fill_run(&r, hash, k, 0);
    int64_t id = 0;
    a->status = res_db_begin_run(db, &r, &id, &e);
    for (int li = 0; !a->status && li < 2; li++) {
      res_layer_row l;
      fill_layer(&l, li);
      a->status = res_db_insert_layer(db, id, &l, &e);
      for (int w = 0; !a->status && w < 3; w++) {
        res_worker_row wr;
        fill_worker(&wr, li, w);
        wr.bytes_up = 1000 * a->index + k;
        a->status = res_db_insert_worker(db, id, &wr, &e);
      }
    }
    if (!a->status) a->status = res_db_commit_run(db, id, &e);
  }
  res_db_close(db);
  snprintf(a->msg, sizeof a->msg, "%s", e.msg);
  return NULL;
}

Test(res_db, concurrent_writers_all_land) {
  res_db_close(open_ok(tp.path, 0)); /* create first, so the threads only open */
  pthread_t th[THREADS];
  writer_arg args[THREADS];
  for (int i = 0; i < THREADS; i++) {
    args[i] = (writer_arg){.path = tp.path, .index = i};
    cr_assert_eq(pthread_create(&th[i], NULL, writer_main, &args[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(th[i], NULL);
    cr_assert_eq(args[i].status, COD_OK, "thread %d: %s", i, args[i].msg);
  }
  assert_counts(tp.path, THREADS * RUNS_PER_THREAD, THREADS * RUNS_PER_THREAD * 2,
                THREADS * RUNS_PER_THREAD * 6, 0);
  sqlite3 *c = raw_open(tp.path);
  /* sum of bytes_up: sum over i,k of 6 * (1000 i + k) */
  int64_t expect = 0;
  for (int i = 0; i < THREADS; i++)
    for (int k = 0; k < RUNS_PER_THREAD; k++) expect += 6 * (1000 * i + k);
  cr_assert_eq(raw_int(c, "SELECT SUM(bytes_to_worker) FROM workers"), expect);
  sqlite3_close(c);
}

Test(res_db, concurrent_creation_of_a_new_file) {
  /* the threads race to create the same new file: exactly one schema must result */
  pthread_t th[THREADS];
  writer_arg args[THREADS];
  for (int i = 0; i < THREADS; i++) {
    args[i] = (writer_arg){.path = tp.path, .index = i};
    cr_assert_eq(pthread_create(&th[i], NULL, writer_main, &args[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(th[i], NULL);
    cr_assert_eq(args[i].status, COD_OK, "thread %d: %s", i, args[i].msg);
  }
  assert_counts(tp.path, THREADS * RUNS_PER_THREAD, THREADS * RUNS_PER_THREAD * 2,
                THREADS * RUNS_PER_THREAD * 6, 0);
}

/* ---- allocation failures ------------------------------------------------------------ */

Test(res_db, open_allocation_failures_are_clean) {
  /* every allocation open makes, failed in turn, gives COD_ENOMEM and nothing else */
  long n = 0;
  for (;; n++) {
    res_db *db = (res_db *)&tp;
    cod_err e = {0};
    cod_alloc_fail_at(n);
    int st = res_db_open(tp.path, 0, &db, &e);
    cod_alloc_fail_at(-1);
    if (st == COD_OK) {
      res_db_close(db);
      break;
    }
    cr_assert_eq(st, COD_ENOMEM, "fail at %ld: %s", n, e.msg);
    cr_assert_eq((void *)db, (void *)&tp);
    cr_assert_not_null(strstr(e.msg, "out of memory"));
  }
  cr_assert_geq(n, 2, "open should allocate its handle and its path copy");
}

Test(res_db, begin_run_allocation_failure_is_clean) {
  res_db *db = open_ok(tp.path, 0);
  res_run_row r;
  fill_run(&r, "h", 0, 0); /* no run_key: the derived key is allocated */
  int64_t id = -1;
  cod_err e = {0};
  cod_alloc_fail_at(0);
  cr_assert_eq(res_db_begin_run(db, &r, &id, &e), COD_ENOMEM);
  cod_alloc_fail_at(-1);
  cr_assert_eq(id, -1);
  cr_assert_eq(res_db_begin_run(db, &r, &id, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "%s", e.msg);
  res_db_close(db);
  assert_counts(tp.path, 1, 0, 0, 0);
}

/* Several PROCESSES open one new file at the same moment (MPI ranks writing one sweep):
 * each must see either a new file or a whole fcdcc file, never a half-created one, and
 * the switch to WAL must wait for the others instead of failing with "database is
 * locked". Both happened before the header reads shared one snapshot and set_wal retried. */
Test(res_db, concurrent_processes_create_one_file) {
  enum { ROUNDS = 12, PROCS = 6 };
  for (int round = 0; round < ROUNDS; round++) {
    char path[600];
    snprintf(path, sizeof path, "%s.r%d", tp.path, round);
    int go[2];
    cr_assert_eq(pipe(go), 0);
    pid_t kids[PROCS];
    for (int k = 0; k < PROCS; k++) {
      kids[k] = fork();
      cr_assert_neq(kids[k], -1);
      if (kids[k] == 0) {
        close(go[1]);
        char c;
        if (read(go[0], &c, 1) != 0) _exit(3); /* wait until the parent closes the pipe */
        res_db *db = NULL;
        cod_err e = {0};
        if (res_db_open(path, 0, &db, &e)) {
          fprintf(stderr, "process %d: %s\n", k, e.msg);
          _exit(1);
        }
        res_run_row r;
        fill_run(&r, "cafe", k, 0);
        int64_t id = 0;
        int rc = res_db_begin_run(db, &r, &id, &e);
        if (!rc) rc = res_db_commit_run(db, id, &e);
        if (rc) fprintf(stderr, "process %d: %s\n", k, e.msg);
        res_db_close(db);
        _exit(rc ? 2 : 0);
      }
    }
    close(go[0]);
    close(go[1]); /* start them all */
    for (int k = 0; k < PROCS; k++) {
      int st = -1;
      cr_assert_eq(waitpid(kids[k], &st, 0), kids[k]);
      cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "round %d process %d: status %d", round,
                k, st);
    }
    res_db *db = open_ok(path, RES_DB_READONLY);
    int64_t n = -1;
    cod_err e = {0};
    cr_assert_eq(res_db_count_runs(db, &n, &e), COD_OK, "%s", e.msg);
    cr_expect_eq(n, PROCS, "round %d", round);
    res_db_close(db);
  }
}

/* Version 2 adds data_runs: a row round-trips (read back with plain SQLite); a version-1
 * file (no data_runs) is refused whole, like any file of another version. */
Test(res_db, data_runs_row_and_version_1_files_refused) {
  res_db *db = open_ok(tp.path, 0);
  int64_t id = begin_ok(db, "h", 0);
  res_data_row d = {"fashion-mnist:test", 1000, 0.857, 0.861, 0.996, 3, 2.5e-13};
  cod_err e = {0};
  cr_assert_eq(res_db_insert_data_run(db, id, &d, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_insert_data_run(db, id, &d, &e), COD_EINVAL, "one data row per run");
  cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "%s", e.msg);
  res_db_close(db);
  sqlite3 *c = raw_open(tp.path);
  cr_expect_eq(raw_int(c, "SELECT images FROM data_runs"), 1000);
  cr_expect_eq(raw_int(c, "SELECT undecodable FROM data_runs"), 3);
  cr_expect_eq(raw_int(c, "SELECT top1_coded = 0.857 AND top1_uncoded = 0.861 AND "
                          "agreement = 0.996 AND max_logit_error = 2.5e-13 FROM data_runs"), 1);
  cr_expect_str_eq(raw_text(c, "SELECT source FROM data_runs"), "fashion-mnist:test");
  raw_exec(c, "DROP TABLE data_runs; PRAGMA user_version = 1");
  sqlite3_close(c);
  /* a version-1 file (before data_runs) is refused by name, read-write and read-only:
   * its columns differ, so nothing is written into it */
  open_fails(tp.path, 0, COD_EFORMAT, "schema version 1");
  open_fails(tp.path, RES_DB_READONLY, COD_EFORMAT, "schema version 1");
}

/* ---- several workers rows a statement (res_db_insert_workers) ------------------------ */

/* n seeded random workers rows over layers 0 .. layers-1 (NULLs included), in layer order. */
static void random_workers(res_worker_row *w, size_t n, size_t layers, uint64_t seed) {
  static const char *const status[] = {RES_WORKER_USED, RES_WORKER_CANCELLED,
                                       RES_WORKER_FAILED, RES_WORKER_STRAGGLER,
                                       RES_WORKER_REFUSED};
  uint64_t s = seed;
  for (size_t i = 0; i < n; i++) {
    fill_worker(&w[i], (int64_t)(i * layers / n), (int64_t)i);
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    uint64_t r = s >> 11;
    w[i].status = status[r % 5];
    w[i].worker_class = r & 8 ? "fast" : NULL;
    w[i].bytes_up = r & 16 ? (int64_t)(r % 100000) : RES_NULL_INT;
    w[i].bytes_down = (int64_t)(r % 7777);
    w[i].flops = r & 32 ? (double)(r % 1000003) * 1.25 : NAN;
    w[i].t_finish_s = (double)(r % 65536) / 65536.0;
    w[i].tasks = r & 64 ? (int64_t)(r % 5) + 1 : RES_NULL_INT;
    w[i].tasks_used = w[i].tasks == RES_NULL_INT ? RES_NULL_INT : (int64_t)(r % 2);
  }
}

/* Every column of run id's workers rows as one text, for comparing two runs. */
static char *workers_text(const char *path, int64_t id) {
  char sql[512];
  snprintf(sql, sizeof sql, "SELECT group_concat(quote(layer_index) || quote(worker) || "
           "quote(class) || quote(bytes_to_worker) || quote(bytes_to_master) || "
           "quote(bytes_stored) || "
           "quote(flops) || quote(status) || quote(t_finish_s) || quote(t_busy_s) || "
           "quote(energy_j) || quote(tasks) || quote(tasks_used), ';') FROM (SELECT * FROM "
           "workers WHERE run_id = %lld ORDER BY layer_index, worker)", (long long)id);
  sqlite3 *c = raw_open(path);
  char *t = strdup(raw_text(c, sql));
  sqlite3_close(c);
  return t;
}

static void insert_layers(res_db *db, int64_t id, size_t layers) {
  cod_err e = {0};
  for (size_t l = 0; l < layers; l++) {
    res_layer_row lr;
    fill_layer(&lr, (int64_t)l);
    cr_assert_eq(res_db_insert_layer(db, id, &lr, &e), COD_OK, "%s", e.msg);
  }
}

Test(res_db, insert_workers_stores_what_one_by_one_stores) {
  enum { N = 47, LAYERS = 3 }; /* 2 x 20 + 1 x 5 + 2 single rows */
  res_worker_row w[N];
  random_workers(w, N, LAYERS, 12345);
  res_db *db = open_ok(tp.path, 0);
  cod_err e = {0};
  int64_t a = begin_ok(db, "h", 0);
  insert_layers(db, a, LAYERS);
  cr_assert_eq(res_db_insert_workers(db, a, w, N, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_commit_run(db, a, &e), COD_OK, "%s", e.msg);
  int64_t b = begin_ok(db, "h", 1);
  insert_layers(db, b, LAYERS);
  for (size_t i = 0; i < N; i++) cr_assert_eq(res_db_insert_worker(db, b, &w[i], &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_commit_run(db, b, &e), COD_OK, "%s", e.msg);
  res_db_close(db);
  assert_counts(tp.path, 2, 2 * LAYERS, 2 * N, 0);
  char *ta = workers_text(tp.path, a), *tb = workers_text(tp.path, b);
  cr_assert_str_eq(ta, tb);
  cr_assert_gt(strlen(ta), (size_t)N * 13, "every row and column is in the text");
  free(ta), free(tb);
}

Test(res_db, insert_workers_failure_keeps_the_rows_before_it) {
  enum { N = 25 };
  for (size_t bad = 0; bad < N; bad += 6) { /* in the 20-row, the 5-row statement */
    tmp_place_remove(&tp);
    tmp_place_make(&tp, "r.db");
    res_worker_row w[N];
    random_workers(w, N, 1, 99 + bad);
    w[bad].status = "busy";
    res_db *db = open_ok(tp.path, 0);
    cod_err e = {0};
    int64_t id = begin_ok(db, "h", 0);
    insert_layers(db, id, 1);
    cr_assert_eq(res_db_insert_workers(db, id, w, N, &e), COD_EINVAL, "row %zu", bad);
    cr_assert_not_null(strstr(e.msg, "CHECK"), "%s", e.msg);
    cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "the run stays open: %s", e.msg);
    res_db_close(db);
    assert_counts(tp.path, 1, 1, (int64_t)bad, 0);
  }
}

Test(res_db, orphan_workers_row_fails_its_run_alone_in_a_batch) {
  enum { N = 20 };
  res_worker_row w[N];
  res_db *db = open_ok(tp.path, 0);
  cod_err e = {0};
  cr_assert_eq(res_db_begin_batch(db, &e), COD_OK, "%s", e.msg);
  for (int64_t p = 0; p < 3; p++) {
    random_workers(w, N, 2, 7 + (uint64_t)p);
    if (p == 1) w[N - 1].layer_index = 9; /* layer 9 is never written */
    int64_t id = begin_ok(db, "h", p);
    cr_assert_eq(res_db_insert_workers(db, id, w, N, &e), COD_OK, "%s", e.msg);
    insert_layers(db, id, 2); /* after its workers: the key is checked at commit */
    int rc = res_db_commit_run(db, id, &e);
    if (p == 1) {
      cr_assert_eq(rc, COD_EINVAL);
      cr_assert_not_null(strstr(e.msg, "FOREIGN KEY"), "%s", e.msg);
      cr_assert_not_null(strstr(e.msg, "layer 9"), "%s", e.msg);
    } else {
      cr_assert_eq(rc, COD_OK, "%s", e.msg);
    }
  }
  cr_assert_eq(res_db_commit_batch(db, &e), COD_OK, "%s", e.msg);
  res_db_close(db);
  assert_counts(tp.path, 2, 4, 2 * N, 0);
}
