/* test_res_query.c: res_query_calib_samples. Runs are written with res_db_* for both
 * backends; the expected samples (which layers, MAX flops of used workers, SUM of all
 * workers' bytes, NULL -> NaN) are written out by hand from the rows inserted. Foreign,
 * newer and missing files are refused; allocation failures are clean. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cod_alloc.h"
#include "res_db.h"
#include "res_query.h"
#include "test_res_util.h"

static tmp_place tp;

static void setup(void) { tmp_place_make(&tp, "q.db"); }
static void teardown(void) {
  cod_alloc_fail_at(-1);
  tmp_place_remove(&tp);
}

TestSuite(res_query, .init = setup, .fini = teardown);

static res_db *db_create(void) {
  res_db *db = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(tp.path, 0, &db, &e), COD_OK, "%s", e.msg);
  return db;
}

static int64_t run_begin(res_db *db, const char *hash, const char *backend, const char *status) {
  res_run_row r;
  res_run_row_init(&r);
  r.scenario_hash = hash;
  r.point_index = 0;
  r.trial = 0;
  r.seed = 7;
  r.backend = backend;
  r.scheme = "nsctc-rot";
  r.model = "lenet";
  r.status = status;
  int64_t id = -1;
  cod_err e = {0};
  cr_assert_eq(res_db_begin_run(db, &r, &id, &e), COD_OK, "%s", e.msg);
  return id;
}

static void layer_add(res_db *db, int64_t id, int64_t index, const char *status, double tc,
                      double tu, double td, double tt) {
  res_layer_row l;
  res_layer_row_init(&l);
  l.layer_index = index;
  l.status = status;
  l.t_compute_s = tc;
  l.t_upload_s = tu;
  l.t_download_s = td;
  l.t_total_s = tt;
  cod_err e = {0};
  cr_assert_eq(res_db_insert_layer(db, id, &l, &e), COD_OK, "%s", e.msg);
}

static void worker_add(res_db *db, int64_t id, int64_t layer, int64_t worker, const char *status,
                       double flops, int64_t up, int64_t down) {
  res_worker_row w;
  res_worker_row_init(&w);
  w.layer_index = layer;
  w.worker = worker;
  w.status = status;
  w.flops = flops;
  w.bytes_up = up;
  w.bytes_down = down;
  cod_err e = {0};
  cr_assert_eq(res_db_insert_worker(db, id, &w, &e), COD_OK, "%s", e.msg);
}

static void run_commit(res_db *db, int64_t id) {
  cod_err e = {0};
  cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "%s", e.msg);
}

/* Three runs: mpi A (layers 0 ok, 1 undecodable, 2 ok with NULLs, 3 ok without workers),
 * sim B (layers 0, 1 ok), mpi C (an undecodable run whose layer 0 decoded). */
static void fixture_write(int64_t ids[3]) {
  res_db *db = db_create();
  int64_t a = ids[0] = run_begin(db, "a", "mpi", RES_STATUS_OK);
  layer_add(db, a, 0, RES_STATUS_OK, 0.5, 0.125, 0.25, 1.0);
  worker_add(db, a, 0, 0, RES_WORKER_USED, 1e9, 100, 10);
  worker_add(db, a, 0, 1, RES_WORKER_USED, 3e9, 200, 20);
  worker_add(db, a, 0, 2, RES_WORKER_CANCELLED, 9e9, 300, 0); /* larger, not used */
  layer_add(db, a, 1, RES_STATUS_UNDECODABLE, 0.7, 0.1, 0.1, 2.0);
  worker_add(db, a, 1, 0, RES_WORKER_USED, 8e9, 1, 1);
  layer_add(db, a, 2, RES_STATUS_OK, NAN, 0.4, NAN, 3.0);
  worker_add(db, a, 2, 0, RES_WORKER_CANCELLED, 5e9, 50, 0);
  layer_add(db, a, 3, RES_STATUS_OK, 0.25, 0.5, 0.5, NAN);
  run_commit(db, a);
  int64_t b = ids[1] = run_begin(db, "b", "sim", RES_STATUS_OK);
  for (int64_t i = 0; i < 2; i++) {
    layer_add(db, b, i, RES_STATUS_OK, 1.5 + (double)i, 0.5, 0.5, 4.0);
    worker_add(db, b, i, 0, RES_WORKER_USED, 7e9, 1000, 1000 * (i + 1));
  }
  run_commit(db, b);
  int64_t c = ids[2] = run_begin(db, "c", "mpi", RES_STATUS_UNDECODABLE);
  layer_add(db, c, 0, RES_STATUS_OK, 2.0, 0.0, 1.0, 5.0);
  worker_add(db, c, 0, 0, RES_WORKER_USED, 4e9, 1, 2);
  worker_add(db, c, 0, 1, RES_WORKER_USED, 4e9, 3, 4);
  worker_add(db, c, 0, 2, RES_WORKER_STRAGGLER, 4e9, 5, 0);
  layer_add(db, c, 1, RES_STATUS_SKIPPED, NAN, NAN, NAN, NAN);
  run_commit(db, c);
  res_db_close(db);
}

static void sample_check(const res_calib_sample *s, int64_t run, int64_t layer, double tc,
                         double comm, double flops, double bytes, double tt) {
  cr_assert_eq(s->run_id, run);
  cr_assert_eq(s->layer_index, layer);
  double got[5] = {s->t_compute_s, s->t_comm_s, s->flops, s->bytes, s->t_total_s};
  double want[5] = {tc, comm, flops, bytes, tt};
  static const char *const name[5] = {"t_compute", "t_comm", "flops", "bytes", "t_total"};
  for (int i = 0; i < 5; i++) {
    if (isnan(want[i]))
      cr_assert(isnan(got[i]), "run %lld layer %lld %s: %g, expected NULL", (long long)run,
                (long long)layer, name[i], got[i]);
    else
      cr_assert_eq(got[i], want[i], "run %lld layer %lld %s: %g, expected %g", (long long)run,
                   (long long)layer, name[i], got[i], want[i]);
  }
}

Test(res_query, mpi_ok_layers_with_their_sums) {
  int64_t ids[3];
  fixture_write(ids);
  res_calib_sample *s = NULL;
  size_t n = 0;
  cod_err e = {0};
  cr_assert_eq(res_query_calib_samples(tp.path, "mpi", &s, &n, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(n, 4);
  sample_check(&s[0], ids[0], 0, 0.5, 0.375, 3e9, 630, 1.0);
  sample_check(&s[1], ids[0], 2, NAN, NAN, NAN, 50, 3.0);
  sample_check(&s[2], ids[0], 3, 0.25, 1.0, NAN, NAN, NAN);
  sample_check(&s[3], ids[2], 0, 2.0, 1.0, 4e9, 15, 5.0);
  cod_free(s);
}

Test(res_query, sim_backend_is_separate) {
  int64_t ids[3];
  fixture_write(ids);
  res_calib_sample *s = NULL;
  size_t n = 0;
  cod_err e = {0};
  cr_assert_eq(res_query_calib_samples(tp.path, "sim", &s, &n, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(n, 2);
  sample_check(&s[0], ids[1], 0, 1.5, 1.0, 7e9, 2000, 4.0);
  sample_check(&s[1], ids[1], 1, 2.5, 1.0, 7e9, 3000, 4.0);
  cod_free(s);
}

Test(res_query, no_matching_rows_is_an_empty_array) {
  res_db *db = db_create();
  int64_t b = run_begin(db, "b", "sim", RES_STATUS_OK);
  layer_add(db, b, 0, RES_STATUS_OK, 1, 1, 1, 3);
  run_commit(db, b);
  res_db_close(db);
  long live = cod_alloc_live();
  res_calib_sample *s = NULL;
  size_t n = 99;
  cod_err e = {0};
  /* a backend name that is SQL is just a string that matches nothing */
  cr_assert_eq(res_query_calib_samples(tp.path, "mpi' OR 1=1 --", &s, &n, &e), COD_OK);
  cr_assert_eq(n, 0);
  cr_assert_not_null(s);
  cod_free(s);
  cr_assert_eq(res_query_calib_samples(tp.path, "mpi", &s, &n, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(n, 0);
  cod_free(s);
  cr_assert_eq(cod_alloc_live(), live);
}

/* Many layers: the array grows several times; allocation failures are clean. */
Test(res_query, growth_and_allocation_failures) {
  enum { LAYERS = 300 };
  res_db *db = db_create();
  int64_t a = run_begin(db, "a", "mpi", RES_STATUS_OK);
  for (int64_t i = 0; i < LAYERS; i++) {
    layer_add(db, a, i, RES_STATUS_OK, 0.001 * (double)(i + 1), 0.5, 0.25, 1.0);
    worker_add(db, a, i, 0, RES_WORKER_USED, 1e6 * (double)(i + 1), i, 2 * i);
  }
  run_commit(db, a);
  res_db_close(db);

  long n_fail = 0;
  for (;; n_fail++) {
    res_calib_sample *s = (res_calib_sample *)&tp;
    size_t n = 12345;
    cod_err e = {0};
    long live = cod_alloc_live();
    cod_alloc_fail_at(n_fail);
    int st = res_query_calib_samples(tp.path, "mpi", &s, &n, &e);
    cod_alloc_fail_at(-1);
    if (st == COD_OK) {
      cr_assert_eq(n, LAYERS);
      for (int64_t i = 0; i < LAYERS; i++)
        sample_check(&s[i], a, i, 0.001 * (double)(i + 1), 0.75, 1e6 * (double)(i + 1),
                     (double)(3 * i), 1.0);
      cod_free(s);
      cr_assert_eq(cod_alloc_live(), live);
      break;
    }
    cr_assert_eq(st, COD_ENOMEM, "fail at %ld: %s", n_fail, e.msg);
    cr_assert_not_null(strstr(e.msg, tp.path), "%s", e.msg);
    cr_assert_eq((void *)s, (void *)&tp, "out-parameter touched on failure");
    cr_assert_eq(n, 12345);
    cr_assert_eq(cod_alloc_live(), live, "leak when allocation %ld fails", n_fail);
  }
  /* open: handle + path; rows: 64, 128, 256, 512 */
  cr_assert_geq(n_fail, 6, "only %ld allocations", n_fail);
}

/* Expect the query to fail with status and a message naming the file and `needle`. */
static void query_fails(const char *path, int status, const char *needle) {
  res_calib_sample *s = (res_calib_sample *)&tp;
  size_t n = 12345;
  cod_err e = {0};
  int st = res_query_calib_samples(path, "mpi", &s, &n, &e);
  cr_assert_eq(st, status, "status %d (%s), expected %d", st, e.msg, status);
  cr_assert_eq((void *)s, (void *)&tp);
  cr_assert_eq(n, 12345);
  cr_assert_not_null(strstr(e.msg, path), "message does not name the file: %s", e.msg);
  cr_assert_not_null(strstr(e.msg, needle), "message lacks '%s': %s", needle, e.msg);
}

Test(res_query, foreign_files_are_refused) {
  /* an SQLite file that has a layers table but is not an fcdcc database */
  sqlite3 *c = NULL;
  cr_assert_eq(sqlite3_open(tp.path, &c), SQLITE_OK);
  raw_exec(c, "CREATE TABLE layers (run_id, layer_index, status);"
              "CREATE TABLE runs (run_id, backend);"
              "INSERT INTO runs VALUES (1, 'mpi'); INSERT INTO layers VALUES (1, 0, 'ok');");
  sqlite3_close(c);
  query_fails(tp.path, COD_EFORMAT, "not an fcdcc results database");
  /* not SQLite at all */
  FILE *f = fopen(tp.path, "w");
  cr_assert_not_null(f);
  fputs("layer,t_compute_s\n0,0.5\n", f);
  fclose(f);
  query_fails(tp.path, COD_EFORMAT, "not an SQLite database");
  /* missing */
  remove(tp.path);
  query_fails(tp.path, COD_EIO, "no such file");
}

Test(res_query, newer_schema_is_refused) {
  res_db_close(db_create());
  sqlite3 *c = raw_open(tp.path);
  char newer[64];
  snprintf(newer, sizeof newer, "PRAGMA user_version = %d", RES_DB_SCHEMA_VERSION + 1);
  raw_exec(c, newer);
  sqlite3_close(c);
  query_fails(tp.path, COD_EFORMAT, "newer fcdcc");
}

Test(res_query, null_arguments) {
  res_calib_sample *s = NULL;
  size_t n = 0;
  cod_err e = {0};
  cr_assert_eq(res_query_calib_samples(NULL, "mpi", &s, &n, &e), COD_EINVAL);
  cr_assert_eq(res_query_calib_samples(tp.path, NULL, &s, &n, &e), COD_EINVAL);
  cr_assert_eq(res_query_calib_samples(tp.path, "mpi", NULL, &n, &e), COD_EINVAL);
  cr_assert_eq(res_query_calib_samples(tp.path, "mpi", &s, NULL, &e), COD_EINVAL);
}

/* A committed mpi run of scenario `hash`, trial `trial`, [run] name `name`, one ok layer
 * per index 0..layers-1 with one used worker. */
static int64_t named_run(res_db *db, const char *hash, int64_t trial, const char *name,
                         int layers) {
  char json[128];
  snprintf(json, sizeof json, "{\"run\":{\"name\":\"%s\"}}", name);
  res_run_row r;
  res_run_row_init(&r);
  r.scenario_hash = hash;
  r.point_index = 0;
  r.trial = trial;
  r.seed = 7;
  r.backend = "mpi";
  r.scheme = "nsctc-rot";
  r.model = "lenet";
  r.params_json = json;
  r.status = RES_STATUS_OK;
  int64_t id = -1;
  cod_err e = {0};
  cr_assert_eq(res_db_begin_run(db, &r, &id, &e), COD_OK, "%s", e.msg);
  for (int l = 0; l < layers; l++) {
    layer_add(db, id, l, RES_STATUS_OK, 0.5, 0.25, 0.125, 1.0);
    worker_add(db, id, l, 0, RES_WORKER_USED, 1e9, 10, 20);
  }
  run_commit(db, id);
  return id;
}

/* The split: held_out follows the [run] name (a substring, bound as a parameter), trial is
 * the run's, and repeat_group is equal exactly for the same layer of the same scenario
 * point (the trials of one real run). */
Test(res_query, calib_split_marks_held_out_runs_and_repeats) {
  res_db *db = db_create();
  int64_t f0 = named_run(db, "fit", 0, "mpi-calib", 2);
  int64_t f1 = named_run(db, "fit", 1, "mpi-calib", 2);
  int64_t h1 = named_run(db, "held", 1, "mpi-calib-holdout-n3", 2);
  int64_t h2 = named_run(db, "held", 2, "mpi-calib-holdout-n3", 2);
  res_db_close(db);
  res_calib_sample *s = NULL;
  size_t n = 0;
  cod_err e = {0};
  cr_assert_eq(res_query_calib_split(tp.path, "mpi", "holdout", &s, &n, &e), COD_OK, "%s",
               e.msg);
  cr_assert_eq(n, 8);
  const int64_t run[8] = {f0, f0, f1, f1, h1, h1, h2, h2};
  for (size_t i = 0; i < 8; i++) {
    cr_expect_eq(s[i].run_id, run[i]);
    cr_expect_eq(s[i].held_out, i >= 4, "sample %zu", i);
    cr_expect_eq(s[i].trial, i < 2 ? 0 : i < 6 ? 1 : 2, "sample %zu", i);
    cr_expect_geq(s[i].repeat_group, 1);
  }
  /* layer l of the same scenario: one group per (scenario, layer), four in all */
  cr_expect_eq(s[0].repeat_group, s[2].repeat_group);
  cr_expect_eq(s[1].repeat_group, s[3].repeat_group);
  cr_expect_eq(s[4].repeat_group, s[6].repeat_group);
  cr_expect_neq(s[0].repeat_group, s[1].repeat_group);
  cr_expect_neq(s[0].repeat_group, s[4].repeat_group);
  cr_expect_neq(s[1].repeat_group, s[5].repeat_group);
  cod_free(s);
  /* no holdout: nothing held out; a text no name contains: nothing either */
  cr_assert_eq(res_query_calib_split(tp.path, "mpi", NULL, &s, &n, &e), COD_OK, "%s", e.msg);
  for (size_t i = 0; i < n; i++) cr_expect_eq(s[i].held_out, 0);
  cod_free(s);
  cr_assert_eq(res_query_calib_split(tp.path, "mpi", "n4", &s, &n, &e), COD_OK, "%s", e.msg);
  for (size_t i = 0; i < n; i++) cr_expect_eq(s[i].held_out, 0);
  cod_free(s);
  s = NULL;
  cr_expect_eq(res_query_calib_split(tp.path, "mpi", "", &s, &n, &e), COD_EINVAL);
  cr_expect_null(s);
}
