/* test_res_schema.c: the column tables of res_schema.h against the SQL made from them and
 * against what SQLite stores.
 *
 * 1. The generated CREATE TABLE text lists every column of each table description, with
 *    its SQL type, one per line, and nothing else; the file res_db_open creates from it
 *    has exactly those columns in that order (read back with pragma_table_info through
 *    plain SQLite, not through the library).
 * 2. An insert round-trips every column: each row struct is filled through its own
 *    fields (not through the description's offsets) with seeded random values, written
 *    through res_db_*, and every column is read back with plain SQLite by name and
 *    compared bit for bit; a second run with the NULL markers reads back SQL NULL in
 *    every nullable column and the documented default in the others.
 * 3. A file of an older schema version is refused by name (skipped while version 1 is the
 *    only one; checked by hand with the version bumped to 2).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cod_alloc.h"
#include "fcdcc_config.h"
#include "res_db.h"
#include "res_report.h"
#include "res_schema.h"
#include "test_res_util.h"

static tmp_place tp;

static void setup(void) { tmp_place_make(&tp, "schema.db"); }
static void teardown(void) { tmp_place_remove(&tp); }

TestSuite(res_schema, .init = setup, .fini = teardown);

/* The CREATE TABLE block of `table` inside the schema script, copied into buf. */
static void table_block(const char *sql, const char *table, char *buf, size_t cap) {
  char head[64];
  snprintf(head, sizeof head, "CREATE TABLE %s (\n", table);
  const char *a = strstr(sql, head);
  cr_assert_not_null(a, "no '%s' in the schema:\n%s", head, sql);
  const char *b = strstr(a, "\n)");
  cr_assert_not_null(b);
  size_t n = (size_t)(b - a) + 1;
  cr_assert_lt(n, cap);
  memcpy(buf, a, n);
  buf[n] = 0;
}

Test(res_schema, create_text_lists_every_column_of_the_description) {
  char *sql = NULL;
  cod_err e = {0};
  cr_assert_eq(res_schema_create_sql(&sql, &e), COD_OK, "%s", e.msg);
  for (size_t t = 0; t < RES_TABLE_COUNT; t++) {
    const res_table *T = res_schema_table(t);
    char block[8192];
    table_block(sql, T->name, block, sizeof block);
    size_t lines = 0;
    for (const char *p = strchr(block, '\n'); p && p[1]; p = strchr(p + 1, '\n'))
      if (p[1] == ' ' && p[2] == ' ' && p[3] != ' ') lines++;
    size_t want_lines = T->n_cols; /* + the lines of the table constraints */
    for (const char *p = T->constraints; p; p = strstr(p + 1, "\n  "))
      if (p[0] != '\n' || p[3] != ' ') want_lines++;
    cr_expect_eq(lines, want_lines, "%s: %zu column/constraint lines, description has %zu",
                 T->name, lines, want_lines);
    for (size_t i = 0; i < T->n_cols; i++) {
      const res_column *c = &T->cols[i];
      char line[256];
      snprintf(line, sizeof line, "\n  %s %s", c->name, res_ctype_sql(c->ctype));
      cr_expect_not_null(strstr(block, line), "%s.%s: no line starting '%s'", T->name,
                         c->name, line + 1);
      if (c->comment) {
        char com[256];
        snprintf(com, sizeof com, "-- %s\n", c->comment);
        cr_expect_not_null(strstr(strstr(block, line), com), "%s.%s: comment '%s' missing",
                           T->name, c->name, c->comment);
      }
    }
  }
  cod_free(sql);
  /* the file made from it has the same columns, types and NOT NULLs, in order */
  res_db *db = NULL;
  cr_assert_eq(res_db_open(tp.path, 0, &db, &e), COD_OK, "%s", e.msg);
  res_db_close(db);
  sqlite3 *raw = raw_open(tp.path);
  for (size_t t = 0; t < RES_TABLE_COUNT; t++) {
    const res_table *T = res_schema_table(t);
    char q[256];
    snprintf(q, sizeof q, "SELECT COUNT(*) FROM pragma_table_info('%s')", T->name);
    cr_expect_eq(raw_int(raw, q), (int64_t)T->n_cols, "%s: column count", T->name);
    for (size_t i = 0; i < T->n_cols; i++) {
      const res_column *c = &T->cols[i];
      snprintf(q, sizeof q, "SELECT name || ' ' || type || ' ' || \"notnull\" FROM "
               "pragma_table_info('%s') WHERE cid = %zu", T->name, i);
      char want[160];
      snprintf(want, sizeof want, "%s %s %d", c->name, res_ctype_sql(c->ctype),
               strstr(c->constraints, "NOT NULL") != NULL);
      cr_expect_str_eq(raw_text(raw, q), want, "%s column %zu", T->name, i);
    }
  }
  sqlite3_close(raw);
}

/* A seeded xorshift64*: the values only need to differ from column to column. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void) {
  rng_state ^= rng_state >> 12, rng_state ^= rng_state << 25, rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717u;
}
static int64_t rnd_int(void) { return (int64_t)(rnd() % 1000000) + 1; }
static double rnd_real(void) {
  return ((double)(rnd() >> 11) / 9007199254740992.0 - 0.5) * pow(10.0, (double)(rnd() % 20) - 10.0);
}

/* Text values live here until the rows are committed. */
static char texts[64][48];
static size_t n_texts;
static const char *rnd_text(const char *prefix) {
  cr_assert_lt(n_texts, 64);
  snprintf(texts[n_texts], sizeof texts[0], "%s-%016llx", prefix, (unsigned long long)rnd());
  return texts[n_texts++];
}

/* The stored value of column `col` of the row of `table` selected by `where`, as text
 * that tells types apart: "NULL", "i<int>", "r<hex bits>", "t<text>". */
static const char *stored(sqlite3 *raw, const char *table, const char *col, const char *where) {
  static char out[512];
  char q[512];
  snprintf(q, sizeof q, "SELECT \"%s\" FROM %s WHERE %s", col, table, where);
  sqlite3_stmt *st = NULL;
  cr_assert_eq(sqlite3_prepare_v2(raw, q, -1, &st, NULL), SQLITE_OK, "%s", q);
  cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s: no row", q);
  switch (sqlite3_column_type(st, 0)) {
  case SQLITE_NULL: snprintf(out, sizeof out, "NULL"); break;
  case SQLITE_INTEGER: snprintf(out, sizeof out, "i%lld", (long long)sqlite3_column_int64(st, 0)); break;
  case SQLITE_FLOAT: {
    double v = sqlite3_column_double(st, 0);
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    snprintf(out, sizeof out, "r%016llx", (unsigned long long)b);
    break;
  }
  default: snprintf(out, sizeof out, "t%s", (const char *)sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  return out;
}

/* The expected stored form of one field of a row (same encoding as stored()). */
static const char *expect_of(const res_column *c, const void *row) {
  static char out[512];
  const unsigned char *p = (const unsigned char *)row + c->offset;
  switch (c->ctype) {
  case RES_CT_TEXT: {
    const char *s = *(const char *const *)p;
    snprintf(out, sizeof out, s ? "t%s" : "NULL", s);
    break;
  }
  case RES_CT_I64: {
    int64_t v = *(const int64_t *)p;
    if (v == RES_NULL_INT) snprintf(out, sizeof out, "NULL");
    else snprintf(out, sizeof out, "i%lld", (long long)v);
    break;
  }
  case RES_CT_INT: {
    int v = *(const int *)p;
    if (v == RES_NULL_INT) snprintf(out, sizeof out, "NULL");
    else snprintf(out, sizeof out, "i%d", v);
    break;
  }
  case RES_CT_U64: {
    int64_t v;
    memcpy(&v, p, sizeof v);
    snprintf(out, sizeof out, "i%lld", (long long)v);
    break;
  }
  case RES_CT_REAL: {
    double v = *(const double *)p;
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    if (isnan(v)) snprintf(out, sizeof out, "NULL");
    else snprintf(out, sizeof out, "r%016llx", (unsigned long long)b);
    break;
  }
  case RES_CT_RUN_ID: snprintf(out, sizeof out, "(run id)"); break;
  }
  return out;
}

static void fill_run(res_run_row *r) {
  res_run_row_init(r);
  r->run_key = rnd_text("key");
  r->scenario_path = rnd_text("path");
  r->scenario_hash = rnd_text("hash");
  r->point_index = rnd_int(), r->trial = rnd_int();
  r->seed = rnd() | (1ull << 63); /* above INT64_MAX: the bit pattern must survive */
  r->backend = "mpi";
  r->program_version = rnd_text("v");
  r->started_at = rnd_text("2026");
  r->wall_s = rnd_real();
  r->params_json = "{\"a\": [1, 2]}";
  r->scheme = rnd_text("scheme"), r->model = rnd_text("model");
  r->workers = rnd_int(), r->ka = rnd_int(), r->kb = rnd_int(), r->delta = rnd_int();
  r->precision = rnd_text("fp");
  r->status = "infeasible: storage";
  r->status_time_s = rnd_real(), r->latency_s = rnd_real();
  r->e2e_mse = rnd_real(), r->e2e_rel_error = rnd_real(), r->e2e_max_abs_error = rnd_real();
}

static void fill_layer(res_layer_row *l, int64_t index) {
  res_layer_row_init(l);
  l->layer_index = index;
  l->layer_name = rnd_text("conv");
  l->ka = rnd_int(), l->kb = rnd_int(), l->delta = rnd_int();
  l->workers_used = rnd_text("0,1");
  l->t_encode_s = rnd_real(), l->t_upload_s = rnd_real(), l->t_compute_s = rnd_real();
  l->t_download_s = rnd_real(), l->t_decode_s = rnd_real(), l->t_total_s = rnd_real();
  l->cpu_encode_s = rnd_real(), l->cpu_compute_s = rnd_real(), l->cpu_decode_s = rnd_real();
  l->mse = rnd_real(), l->rel_error = rnd_real(), l->max_abs_error = rnd_real();
  l->cond = rnd_real();
  l->cond_flagged = (int)(rnd() & 1);
  /* the other 0/1 column: distinct values, so a swap of the two would show */
  l->worst_sets_tried = rnd_int(), l->worst_exhaustive = 1 - l->cond_flagged;
  l->status = RES_STATUS_SKIPPED;
  l->an_upload_bytes = rnd_real(), l->an_download_bytes = rnd_real();
  l->an_storage_bytes = rnd_real(), l->an_compute_flops = rnd_real();
  l->an_latency_s = rnd_real();
}

static void fill_worker(res_worker_row *w, int64_t layer) {
  res_worker_row_init(w);
  w->layer_index = layer, w->worker = rnd_int();
  w->worker_class = rnd_text("class");
  w->bytes_up = rnd_int(), w->bytes_down = rnd_int(), w->bytes_stored = rnd_int();
  w->flops = rnd_real();
  w->status = RES_WORKER_STRAGGLER;
  w->t_finish_s = rnd_real();
}

static void fill_event(res_event_row *v) {
  res_event_row_init(v);
  v->seq = rnd_int(), v->t_ns = rnd_int();
  v->kind = rnd_text("kind");
  v->worker = rnd_int(), v->layer_index = rnd_int();
}

/* Compare every column of the stored row of table t with the row struct. With distinct
 * set (every field was given its own random value), also check that no two columns hold
 * the same value: two description entries reading one field would. */
static void expect_row(sqlite3 *raw, size_t t, const void *row, const char *where,
                       int distinct) {
  const res_table *T = res_schema_table(t);
  static char seen[64][512];
  cr_assert_leq(T->n_cols, 64);
  for (size_t i = 0; distinct && i < T->n_cols; i++) {
    if (T->cols[i].ctype == RES_CT_RUN_ID) {
      seen[i][0] = 0;
      continue;
    }
    snprintf(seen[i], sizeof seen[i], "%s", stored(raw, T->name, T->cols[i].name, where));
    for (size_t k = 0; strcmp(seen[i], "NULL") != 0 && k < i; k++)
      cr_expect_str_neq(seen[i], seen[k], "%s: columns %s and %s hold the same value",
                        T->name, T->cols[i].name, T->cols[k].name);
  }
  for (size_t i = 0; i < T->n_cols; i++) {
    const res_column *c = &T->cols[i];
    if (c->ctype == RES_CT_RUN_ID) continue;
    char want[512];
    snprintf(want, sizeof want, "%s", expect_of(c, row));
    const char *got = stored(raw, T->name, c->name, where);
    if (strcmp(want, "NULL") == 0 && c->if_null) {
      cr_expect_str_neq(got, "NULL", "%s.%s: its default replaces NULL", T->name, c->name);
      continue;
    }
    cr_expect_str_eq(got, want, "%s.%s (%s)", T->name, c->name, where);
  }
}

Test(res_schema, insert_round_trips_every_column) {
  res_db *db = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(tp.path, 0, &db, &e), COD_OK, "%s", e.msg);
  res_run_row run;
  res_layer_row layer;
  res_worker_row worker;
  res_event_row event;
  fill_run(&run);
  fill_layer(&layer, 3);
  fill_worker(&worker, 3);
  fill_event(&event);
  int64_t id = -1;
  cr_assert_eq(res_db_begin_run(db, &run, &id, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_insert_layer(db, id, &layer, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_insert_worker(db, id, &worker, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_insert_event(db, id, &event, &e), COD_OK, "%s", e.msg);
  /* the outcome columns written afterwards replace the begin-time ones */
  res_run_row outcome = run;
  outcome.status = RES_STATUS_UNDECODABLE;
  outcome.status_time_s = rnd_real(), outcome.latency_s = NAN, outcome.wall_s = rnd_real();
  outcome.e2e_mse = rnd_real(), outcome.e2e_rel_error = NAN;
  outcome.e2e_max_abs_error = rnd_real();
  cr_assert_eq(res_db_set_run_outcome(db, id, &outcome, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "%s", e.msg);

  /* a second run of NULL markers (required fields only) */
  res_run_row run2;
  res_run_row_init(&run2);
  run2.scenario_hash = "h2", run2.point_index = 0, run2.trial = 0, run2.seed = 5;
  run2.backend = "sim", run2.scheme = "s", run2.model = "m";
  res_layer_row layer2;
  res_layer_row_init(&layer2);
  layer2.layer_index = 0, layer2.status = RES_STATUS_OK;
  res_worker_row worker2;
  res_worker_row_init(&worker2);
  worker2.layer_index = 0, worker2.worker = 0, worker2.status = RES_WORKER_USED;
  res_event_row event2;
  res_event_row_init(&event2);
  event2.seq = 0, event2.t_ns = 0, event2.kind = "k";
  int64_t id2 = -1;
  cr_assert_eq(res_db_begin_run(db, &run2, &id2, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_insert_layer(db, id2, &layer2, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_insert_worker(db, id2, &worker2, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_insert_event(db, id2, &event2, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_commit_run(db, id2, &e), COD_OK, "%s", e.msg);
  res_db_close(db);

  sqlite3 *raw = raw_open(tp.path);
  char where[64];
  snprintf(where, sizeof where, "run_id = %lld", (long long)id);
  expect_row(raw, RES_TABLE_RUNS, &outcome, where, 1);
  expect_row(raw, RES_TABLE_LAYERS, &layer, where, 1);
  expect_row(raw, RES_TABLE_WORKERS, &worker, where, 1);
  expect_row(raw, RES_TABLE_EVENTS, &event, where, 1);
  snprintf(where, sizeof where, "run_id = %lld", (long long)id2);
  char key2[64]; /* a NULL run_key is derived (res_run_key_format) */
  cr_assert_eq(res_run_key_format(key2, sizeof key2, "h2", 0, 0, &e), COD_OK);
  run2.run_key = key2;
  expect_row(raw, RES_TABLE_RUNS, &run2, where, 0);
  expect_row(raw, RES_TABLE_LAYERS, &layer2, where, 0);
  expect_row(raw, RES_TABLE_WORKERS, &worker2, where, 0);
  expect_row(raw, RES_TABLE_EVENTS, &event2, where, 0);
  /* the defaults themselves */
  char q[128];
  snprintf(q, sizeof q, "SELECT status FROM runs WHERE run_id = %lld", (long long)id2);
  cr_expect_str_eq(raw_text(raw, q), "error", "a run without status is 'error'");
  snprintf(q, sizeof q, "SELECT program_version = '%s' FROM runs WHERE run_id = %lld",
           FCDCC_VERSION, (long long)id2);
  cr_expect_eq(raw_int(raw, q), 1, "program_version defaults to this build's");
  sqlite3_close(raw);
}

/* A file of an older schema version (other columns) is refused by name. Version 1 is the
 * first, so this runs from the first bump of RES_DB_SCHEMA_VERSION on. */
Test(res_schema, older_schema_version_is_refused_by_name) {
  if (RES_DB_SCHEMA_VERSION < 2) cr_skip_test("no older schema version than %d yet",
                                              RES_DB_SCHEMA_VERSION);
  res_db *db = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(tp.path, 0, &db, &e), COD_OK, "%s", e.msg);
  res_db_close(db);
  sqlite3 *raw = raw_open(tp.path);
  char q[64];
  snprintf(q, sizeof q, "PRAGMA user_version = %d", RES_DB_SCHEMA_VERSION - 1);
  raw_exec(raw, q);
  sqlite3_close(raw);
  db = NULL;
  cr_assert_eq(res_db_open(tp.path, RES_DB_READONLY, &db, &e), COD_EFORMAT);
  cr_expect_null(db);
  cr_expect_not_null(strstr(e.msg, "older fcdcc"), "%s", e.msg);
  cr_expect_not_null(strstr(e.msg, tp.path), "%s", e.msg);
}

/* The columns version 9 renamed, old name first (the names of schema version 8). */
static const char *const renamed9[][3] = {
  {"workers", "bytes_up", "bytes_to_worker"},
  {"workers", "bytes_down", "bytes_to_master"},
  {"layers", "t_upload_s", "t_to_worker_s"},
  {"layers", "t_download_s", "t_to_master_s"},
  {"layers", "an_upload_bytes", "an_to_worker_bytes"},
  {"layers", "an_download_bytes", "an_to_master_bytes"},
};

/* The columns version 10 added (ALTER TABLE ADD COLUMN, the last of their tables). */
static const char *const added10[][2] = {
  {"requests", "energy_j"},
  {"load_runs", "energy_j"},
  {"load_runs", "energy_idle_j"},
  {"load_runs", "energy_unattributed_j"},
  {"load_runs", "energy_req_mean_j"},
  {"load_runs", "energy_req_mean_ci_j"},
};

/* Back to version 9's columns: drop what version 10 added. */
static void drop_added10(sqlite3 *raw) {
  char q[256];
  for (size_t i = 0; i < sizeof added10 / sizeof *added10; i++) {
    snprintf(q, sizeof q, "ALTER TABLE %s DROP COLUMN %s", added10[i][0], added10[i][1]);
    raw_exec(raw, q);
  }
}

/* The CREATE text of every table of the file at path, in name order (cod_free), but for
 * the tables version 10 added columns to: ALTER TABLE ADD COLUMN writes its own text
 * (no comment, on the closing line), so for them schema_columns compares the columns. */
static char *schema_text(const char *path) {
  sqlite3 *raw = raw_open(path);
  sqlite3_stmt *st = NULL;
  cr_assert_eq(sqlite3_prepare_v2(raw, "SELECT group_concat(sql, ';') FROM (SELECT sql FROM "
                                       "sqlite_master WHERE type = 'table' AND name NOT IN "
                                       "('requests', 'load_runs') ORDER BY name)",
                                  -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(raw));
  cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
  char *copy = cod_strdup((const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(raw);
  cr_assert_not_null(copy);
  return copy;
}

/* Every column of every table of the file at path, in order: table, position, name, type,
 * NOT NULL, default and key (cod_free). */
static char *schema_columns(const char *path) {
  sqlite3 *raw = raw_open(path);
  sqlite3_stmt *st = NULL;
  const char *sql = "SELECT group_concat(c, ';') FROM (SELECT m.name || '.' || p.cid || ' ' || "
                    "p.name || ' ' || p.type || ' ' || p.\"notnull\" || ' ' || "
                    "ifnull(p.dflt_value, '-') || ' ' || p.pk AS c FROM sqlite_master m, "
                    "pragma_table_info(m.name) p WHERE m.type = 'table' ORDER BY m.name, p.cid)";
  cr_assert_eq(sqlite3_prepare_v2(raw, sql, -1, &st, NULL), SQLITE_OK, "%s",
               sqlite3_errmsg(raw));
  cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
  char *copy = cod_strdup((const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(raw);
  cr_assert_not_null(copy);
  return copy;
}

/* The run row the upgrade tests store before taking their file back a version. */
static void upgrade_run_row(res_run_row *run) {
  res_run_row_init(run);
  run->scenario_hash = "h", run->point_index = 0, run->trial = 0, run->seed = 1;
  run->backend = "sim", run->scheme = "nsctc-rot", run->model = "m";
  run->status = RES_STATUS_OK;
}

/* A read-only open of tp.path (a file of `version`) is refused naming the version, the
 * command that upgrades it and, if given, one name the upgrade changes. */
static void expect_readonly_refusal(int version, const char *changed) {
  res_db *db = NULL;
  cod_err e = {0};
  char want[32];
  snprintf(want, sizeof want, "schema version %d", version);
  cr_assert_eq(res_db_open(tp.path, RES_DB_READONLY, &db, &e), COD_EFORMAT);
  cr_expect_null(db);
  cr_expect_not_null(strstr(e.msg, want), "%s", e.msg);
  cr_expect_not_null(strstr(e.msg, "fcdcc upgrade"), "%s", e.msg);
  if (changed) cr_expect_not_null(strstr(e.msg, changed), "%s", e.msg);
}

/* A version-8 file (made from a new file by renaming its columns back with SQLite's own
 * ALTER TABLE, so the old schema is exactly what version 8 created) with seeded values in
 * the renamed columns and version 8's link key names in params_json: a read-only open
 * refuses it naming `fcdcc upgrade`; a read-write open upgrades it in place: version 9,
 * the same CREATE text as a new file, every value unchanged under its new name (the JSON
 * keys renamed in place, their order and values kept), and the readers (the report) work
 * on it. A file of version 7 has no step chain to 9 and stays refused. Since version 10
 * the file is also taken through step 10 (energy columns added): the tables it does not
 * touch keep the CREATE text of a new file, the two it touches the same columns. */
Test(res_schema, version_8_file_is_upgraded_in_place) {
  cr_assert_eq(RES_DB_SCHEMA_VERSION, 11, "this test is the steps to version 11");
  res_db *db = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(tp.path, 0, &db, &e), COD_OK, "%s", e.msg);
  res_run_row run;
  upgrade_run_row(&run);
  run.latency_s = 0.25;
  /* version 8's link key names, in [network] and in a class */
  run.params_json = "{\"network\":{\"uplink_bps\":1000000000.0,\"downlink_bps\":\"unlimited\"},"
                    "\"classes\":[{\"name\":\"slow\",\"uplink_bps\":2e8,\"downlink_bps\":3e8}]}";
  int64_t id;
  cr_assert_eq(res_db_begin_run(db, &run, &id, &e), COD_OK, "%s", e.msg);
  res_layer_row L;
  res_layer_row_init(&L);
  L.layer_index = 0, L.status = RES_STATUS_OK;
  cr_assert_eq(res_db_insert_layer(db, id, &L, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "%s", e.msg);
  res_db_close(db);
  char *fresh = schema_text(tp.path), *fresh_cols = schema_columns(tp.path);
  /* back to version 8, then seeded values written under the old names */
  sqlite3 *raw = raw_open(tp.path);
  char q[512];
  drop_added10(raw);
  for (size_t i = 0; i < sizeof renamed9 / sizeof *renamed9; i++) {
    snprintf(q, sizeof q, "ALTER TABLE %s RENAME COLUMN %s TO %s", renamed9[i][0],
             renamed9[i][2], renamed9[i][1]);
    raw_exec(raw, q);
  }
  raw_exec(raw, "PRAGMA user_version = 8");
  uint64_t x = 0x9e3779b97f4a7c15ull ^ (uint64_t)id; /* seeded values, distinct per column */
  int64_t up[4], down[4];
  double tu, td, au, ad;
  for (int w = 0; w < 4; w++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    /* multiples of 4 below 1e6: the report's mean over the 4 workers is an integer that
     * prints exactly */
    up[w] = 4 * (int64_t)(x % 249989), down[w] = 4 * (int64_t)((x >> 20) % 249973);
    snprintf(q, sizeof q, "INSERT INTO workers (run_id, layer_index, worker, bytes_up, "
             "bytes_down, bytes_stored, status) VALUES (%lld, 0, %d, %lld, %lld, %lld, 'used')",
             (long long)id, w, (long long)up[w], (long long)down[w], (long long)up[w]);
    raw_exec(raw, q);
  }
  x ^= x << 13, x ^= x >> 7, x ^= x << 17;
  tu = (double)(x % 1000) / 1024.0, td = (double)((x >> 10) % 1000) / 512.0;
  au = (double)((x >> 20) % 100000), ad = (double)((x >> 40) % 100000);
  snprintf(q, sizeof q, "UPDATE layers SET t_upload_s = %.17g, t_download_s = %.17g, "
           "an_upload_bytes = %.17g, an_download_bytes = %.17g", tu, td, au, ad);
  raw_exec(raw, q);
  sqlite3_close(raw);
  /* read-only: refused, naming the command that upgrades it; the file is untouched */
  db = NULL;
  expect_readonly_refusal(8, NULL);
  raw = raw_open(tp.path);
  cr_expect_eq(raw_int(raw, "PRAGMA user_version"), 8, "a read-only open wrote the file");
  sqlite3_close(raw);
  /* read-write: upgraded */
  cr_assert_eq(res_db_open(tp.path, RES_DB_NOCREATE, &db, &e), COD_OK, "%s", e.msg);
  res_db_close(db);
  char *upgraded = schema_text(tp.path);
  cr_expect_str_eq(upgraded, fresh, "an upgraded file's schema differs from a new file's");
  cod_free(upgraded), cod_free(fresh);
  char *upgraded_cols = schema_columns(tp.path);
  cr_expect_str_eq(upgraded_cols, fresh_cols, "an upgraded file's columns differ from a new "
                   "file's");
  cod_free(upgraded_cols), cod_free(fresh_cols);
  raw = raw_open(tp.path);
  cr_expect_eq(raw_int(raw, "PRAGMA user_version"), 11);
  for (int w = 0; w < 4; w++) {
    snprintf(q, sizeof q, "SELECT bytes_to_worker = %lld AND bytes_to_master = %lld FROM "
             "workers WHERE worker = %d", (long long)up[w], (long long)down[w], w);
    cr_expect_eq(raw_int(raw, q), 1, "worker %d: values changed by the upgrade", w);
  }
  snprintf(q, sizeof q, "SELECT t_to_worker_s = %.17g AND t_to_master_s = %.17g AND "
           "an_to_worker_bytes = %.17g AND an_to_master_bytes = %.17g FROM layers", tu, td, au, ad);
  cr_expect_eq(raw_int(raw, q), 1, "layer values changed by the upgrade");
  cr_expect_str_eq(raw_text(raw, "SELECT params_json FROM runs"),
                   "{\"network\":{\"to_master_bps\":1000000000.0,\"to_worker_bps\":\"unlimited\"},"
                   "\"classes\":[{\"name\":\"slow\",\"to_master_bps\":2e8,\"to_worker_bps\":3e8}]}");
  sqlite3_close(raw);
  /* the readers: the report's byte columns are the sums of the values written above */
  cr_assert_eq(res_db_open(tp.path, RES_DB_READONLY, &db, &e), COD_OK, "%s", e.msg);
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  cr_assert_eq(res_report_summary(db, mem, &e), COD_OK, "%s", e.msg);
  fclose(mem);
  res_db_close(db);
  int64_t su = 0, sd = 0;
  for (int w = 0; w < 4; w++) su += up[w], sd += down[w];
  char want[128];
  snprintf(want, sizeof want, "%.6g", (double)su / 4.0);
  cr_expect_not_null(strstr(text, want), "mean to_worker bytes %s not in:\n%s", want, text);
  snprintf(want, sizeof want, "%.6g", (double)sd / 4.0);
  cr_expect_not_null(strstr(text, want), "mean to_master bytes %s not in:\n%s", want, text);
  free(text);
  /* version 7: no step from 7 to 8, refused read-write too (nothing written) */
  raw = raw_open(tp.path);
  raw_exec(raw, "PRAGMA user_version = 7");
  sqlite3_close(raw);
  db = NULL;
  cr_assert_eq(res_db_open(tp.path, RES_DB_NOCREATE, &db, &e), COD_EFORMAT);
  cr_expect_null(db);
  cr_expect_not_null(strstr(e.msg, "schema version 7"), "%s", e.msg);
  raw = raw_open(tp.path);
  cr_expect_eq(raw_int(raw, "PRAGMA user_version"), 7);
  sqlite3_close(raw);
}

/* A version-9 file with a run under load (made from a new file by dropping the columns
 * version 10 added) and seeded values in its requests and load_runs rows: a read-only open
 * refuses it naming `fcdcc upgrade` and the energy columns; a read-write open upgrades it
 * in place: version 10, the columns of a new file in the same order, every old value
 * unchanged, the new columns NULL (energy was not measured), and a run written after the
 * upgrade stores its energy values there. */
Test(res_schema, version_9_file_gets_the_energy_columns) {
  cr_assert_eq(RES_DB_SCHEMA_VERSION, 11, "this test is the steps to version 11");
  res_db *db = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(tp.path, 0, &db, &e), COD_OK, "%s", e.msg);
  res_run_row run;
  upgrade_run_row(&run);
  int64_t id;
  cr_assert_eq(res_db_begin_run(db, &run, &id, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "%s", e.msg);
  res_db_close(db);
  char *fresh_cols = schema_columns(tp.path), *fresh = schema_text(tp.path);
  sqlite3 *raw = raw_open(tp.path);
  drop_added10(raw);
  raw_exec(raw, "PRAGMA user_version = 9");
  uint64_t x = 0x2545f4914f6cdd1dull ^ (uint64_t)id;
  double lat[3], mean;
  char q[512];
  for (int i = 0; i < 3; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    lat[i] = (double)(x % 100000) / 4096.0;
    snprintf(q, sizeof q, "INSERT INTO requests (run_id, request_id, arrival_s, status, "
             "latency_s) VALUES (%lld, %d, 0, 'done', %.17g)", (long long)id, i, lat[i]);
    raw_exec(raw, q);
  }
  x ^= x << 13, x ^= x >> 7, x ^= x << 17;
  mean = (double)(x % 100000) / 2048.0;
  snprintf(q, sizeof q, "INSERT INTO load_runs (run_id, arrivals, cancel, service, requests, "
           "warmup, completed, undecodable, dropped, measured, saturated, compute, lat_mean_s) "
           "VALUES (%lld, 'poisson', 'on-decode', 'fcfs', 3, 0, 3, 0, 0, 3, 0, 'model', %.17g)",
           (long long)id, mean);
  raw_exec(raw, q);
  sqlite3_close(raw);
  db = NULL;
  expect_readonly_refusal(9, "energy_req_mean_j");
  cr_assert_eq(res_db_open(tp.path, RES_DB_NOCREATE, &db, &e), COD_OK, "%s", e.msg);
  char *cols = schema_columns(tp.path), *text = schema_text(tp.path);
  cr_expect_str_eq(cols, fresh_cols, "an upgraded file's columns differ from a new file's");
  cr_expect_str_eq(text, fresh, "step 10 changed a table it does not touch");
  cod_free(cols), cod_free(fresh_cols), cod_free(text), cod_free(fresh);
  /* a run under load written after the upgrade: its energy lands in the new columns */
  run.scenario_hash = "h2";
  int64_t id2;
  cr_assert_eq(res_db_begin_run(db, &run, &id2, &e), COD_OK, "%s", e.msg);
  res_request_row rq;
  res_request_row_init(&rq);
  x ^= x << 13, x ^= x >> 7, x ^= x << 17;
  rq.request_id = 0, rq.arrival_s = 0, rq.status = RES_REQUEST_DONE;
  rq.energy_j = (double)(x % 100000) / 8192.0;
  cr_assert_eq(res_db_insert_request(db, id2, &rq, &e), COD_OK, "%s", e.msg);
  res_load_row L;
  res_load_row_init(&L);
  L.arrivals = "poisson", L.cancel = "on-decode", L.service = "fcfs", L.compute = "model";
  L.requests = 1, L.measured = L.completed = 1, L.warmup = L.undecodable = L.dropped = 0;
  L.saturated = 0;
  L.energy_j = 3.5 * rq.energy_j, L.energy_idle_j = 2.5 * rq.energy_j;
  L.energy_unattributed_j = 0, L.energy_req_mean_j = rq.energy_j, L.energy_req_mean_ci_j = 0.25;
  cr_assert_eq(res_db_insert_load_run(db, id2, &L, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_commit_run(db, id2, &e), COD_OK, "%s", e.msg);
  res_db_close(db);
  raw = raw_open(tp.path);
  cr_expect_eq(raw_int(raw, "PRAGMA user_version"), 11);
  for (int i = 0; i < 3; i++) {
    snprintf(q, sizeof q, "SELECT latency_s = %.17g AND energy_j IS NULL FROM requests WHERE "
             "run_id = %lld AND request_id = %d", lat[i], (long long)id, i);
    cr_expect_eq(raw_int(raw, q), 1, "request %d: value changed or energy not NULL", i);
  }
  snprintf(q, sizeof q, "SELECT lat_mean_s = %.17g AND energy_j IS NULL AND energy_idle_j IS "
           "NULL AND energy_unattributed_j IS NULL AND energy_req_mean_j IS NULL AND "
           "energy_req_mean_ci_j IS NULL FROM load_runs WHERE run_id = %lld", mean, (long long)id);
  cr_expect_eq(raw_int(raw, q), 1, "the old load run changed or has energy");
  snprintf(q, sizeof q, "SELECT r.energy_j = %.17g AND l.energy_j = %.17g AND l.energy_idle_j = "
           "%.17g AND l.energy_unattributed_j = 0 AND l.energy_req_mean_j = %.17g AND "
           "l.energy_req_mean_ci_j = 0.25 FROM requests r JOIN load_runs l USING (run_id) WHERE "
           "run_id = %lld", rq.energy_j, L.energy_j, L.energy_idle_j, rq.energy_j, (long long)id2);
  cr_expect_eq(raw_int(raw, q), 1, "the new run's energy values did not round-trip");
  sqlite3_close(raw);
}

/* A version-10 file whose trace holds the old name of a finished master -> worker
 * transfer ('upload_done') among other kinds: a read-only open refuses it naming
 * `fcdcc upgrade` and the renamed kind; a read-write open takes it to version 11 in place:
 * every 'upload_done' is now 'to_worker_done', every other event (kind, time, worker,
 * layer) unchanged, and the CREATE text of every table still that of a new file. */
Test(res_schema, version_10_file_gets_the_to_worker_event_name) {
  cr_assert_eq(RES_DB_SCHEMA_VERSION, 11, "this test is the step to version 11");
  res_db *db = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(tp.path, 0, &db, &e), COD_OK, "%s", e.msg);
  res_run_row run;
  upgrade_run_row(&run);
  int64_t id;
  cr_assert_eq(res_db_begin_run(db, &run, &id, &e), COD_OK, "%s", e.msg);
  /* seeded kinds and times: about a third are the old name */
  static const char *const kinds[] = {"upload_done", "compute_done", "result", "decode_done"};
  uint64_t x = 0x9e3779b97f4a7c15ull ^ (uint64_t)id;
  int64_t t[12];
  int k[12], n_old = 0;
  for (int i = 0; i < 12; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    k[i] = (int)(x % 4), t[i] = (int64_t)(x >> 20);
    n_old += k[i] == 0;
    res_event_row ev;
    res_event_row_init(&ev);
    ev.seq = i, ev.t_ns = t[i], ev.kind = kinds[k[i]], ev.worker = i % 5, ev.layer_index = i / 5;
    cr_assert_eq(res_db_insert_event(db, id, &ev, &e), COD_OK, "%s", e.msg);
  }
  cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "%s", e.msg);
  res_db_close(db);
  char *fresh = schema_text(tp.path);
  sqlite3 *raw = raw_open(tp.path);
  raw_exec(raw, "PRAGMA user_version = 10");
  sqlite3_close(raw);
  db = NULL;
  expect_readonly_refusal(10, "to_worker_done");
  cr_assert_eq(res_db_open(tp.path, RES_DB_NOCREATE, &db, &e), COD_OK, "%s", e.msg);
  res_db_close(db);
  char *text = schema_text(tp.path);
  cr_expect_str_eq(text, fresh, "step 11 changed a table's definition");
  cod_free(text), cod_free(fresh);
  raw = raw_open(tp.path);
  cr_expect_eq(raw_int(raw, "PRAGMA user_version"), 11);
  cr_expect_eq(raw_int(raw, "SELECT count(*) FROM events WHERE kind = 'upload_done'"), 0);
  cr_expect_eq(raw_int(raw, "SELECT count(*) FROM events WHERE kind = 'to_worker_done'"), n_old);
  char q[256];
  for (int i = 0; i < 12; i++) {
    snprintf(q, sizeof q, "SELECT kind = '%s' AND t_ns = %lld AND worker = %d AND "
             "layer_index = %d FROM events WHERE run_id = %lld AND seq = %d",
             k[i] == 0 ? "to_worker_done" : kinds[k[i]], (long long)t[i], i % 5, i / 5,
             (long long)id, i);
    cr_expect_eq(raw_int(raw, q), 1, "event %d changed", i);
  }
  sqlite3_close(raw);
}
