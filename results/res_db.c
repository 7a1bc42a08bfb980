/* res_db.c: opening, validating and writing the fcdcc results database (see res_db.h).
 *
 * Design. One res_db wraps one SQLite connection and the statements it will ever run,
 * all prepared (SQLITE_PREPARE_PERSISTENT) in res_db_open and reused with reset +
 * clear_bindings; strings are bound SQLITE_STATIC because bindings are cleared before
 * every return, so the caller's borrowed pointers are never kept. No SQL text is built at
 * run time: the schema, pragmas and queries are compile-time string constants.
 *
 * Validation on open reads the header (application_id, user_version) and the number of
 * schema objects: an empty file (application_id 0, no objects) is new and gets the schema;
 * fcdcc's application_id with our user_version must hold the four tables; anything else is
 * COD_EFORMAT naming the file. Creation re-checks inside BEGIN IMMEDIATE, so two processes
 * opening the same new file race safely: exactly one creates the schema.
 *
 * A run is one BEGIN IMMEDIATE ... COMMIT. IMMEDIATE takes the write lock up front, so a
 * writer waits in the busy handler at the start instead of failing half way with a
 * snapshot conflict (which WAL cannot retry). Workers reference layers through a DEFERRED
 * foreign key, which this module checks itself at each run's commit (SQLite's foreign_keys
 * is off: its per-row seek was a sixth of writing a run; docs/decisions/021); a failed
 * COMMIT is rolled back here. A run's workers rows go in several rows a statement.
 */
#include "res_internal.h"
#include "res_schema.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cod_alloc.h"
#include "cod_file.h"
#include "fcdcc_config.h"

#define RES_STR2(x) #x
#define RES_STR(x) RES_STR2(x)

static const char *const stmt_sql[RES_ST_COUNT_] = {
  [RES_ST_BEGIN] = "BEGIN IMMEDIATE",
  [RES_ST_COMMIT] = "COMMIT",
  [RES_ST_ROLLBACK] = "ROLLBACK",
  [RES_ST_SAVEPOINT] = "SAVEPOINT fcdcc_run",
  [RES_ST_RELEASE] = "RELEASE fcdcc_run",
  [RES_ST_ROLLBACK_TO] = "ROLLBACK TO fcdcc_run",
  /* RES_ST_INSERT_RUN, _SET_OUTCOME, _INSERT_LAYER, _INSERT_WORKER, _INSERT_EVENT are
   * made from the column tables of res_schema.c (statement_sql below). */
  [RES_ST_RUN_EXISTS] = "SELECT EXISTS (SELECT 1 FROM runs WHERE run_key = ?1)",
  [RES_ST_COUNT_RUNS] = "SELECT COUNT(*) FROM runs",
  /* the summary reports (res_summary.c): per-run rows, grouped in C */
  [RES_ST_REPORT_RUNS] =
    "SELECT run_id, model, scheme, workers, ka, kb, precision, status, latency_s, e2e_mse,\n"
    "       e2e_rel_error, delta, (json_extract(params_json, '$.coding.ka') = 'auto' OR\n"
    "       json_extract(params_json, '$.coding.kb') = 'auto')\n"
    "FROM runs ORDER BY run_id",
  /* per (run, worker): bytes summed over the run's layers; then summed per run, with the
   * number of non-NULL (run, worker) sums, so a group's mean is over (run, worker) pairs */
  [RES_ST_REPORT_WORKERS] =
    "SELECT run_id, SUM(up), COUNT(up), SUM(down), COUNT(down), SUM(st), COUNT(st),\n"
    "       SUM(comm), SUM(st)\n"
    "FROM (SELECT run_id, worker, SUM(bytes_to_worker) AS up, SUM(bytes_to_master) AS down,\n"
    "             SUM(bytes_stored) AS st, SUM(bytes_to_worker + bytes_to_master) AS comm\n"
    "      FROM workers GROUP BY run_id, worker)\n"
    "GROUP BY run_id ORDER BY run_id",
  [RES_ST_REPORT_LAYERS] =
    "SELECT run_id, SUM(cond), COUNT(cond), group_concat(ka || 'x' || kb, ','),\n"
    "       COUNT(DISTINCT ka || 'x' || kb)\n"
    "FROM (SELECT * FROM layers ORDER BY run_id, layer_index)\n"
    "GROUP BY run_id ORDER BY run_id",
  [RES_ST_DATA_REPORT] =
    "SELECT r.model, d.source, r.scheme, r.workers AS n, r.ka, r.kb, r.precision AS prec,\n"
    "       COALESCE(json_extract(r.params_json, '$.run.snr_db'), 'none') AS snr_db,\n"
    "       COUNT(*) AS runs, SUM(d.images) AS images, AVG(d.top1_uncoded) AS top1_uncoded,\n"
    "       AVG(d.top1_coded) AS top1_coded, AVG(d.agreement) AS agreement,\n"
    "       SUM(d.undecodable) AS undec, MAX(d.max_logit_error) AS max_logit_err\n"
    "FROM data_runs d JOIN runs r ON r.run_id = d.run_id\n"
    "GROUP BY r.model, d.source, r.scheme, r.workers, r.ka, r.kb, r.precision, 8\n"
    "ORDER BY r.model, d.source, r.scheme, r.workers, r.ka, r.kb, r.precision, 8",
};

/* ---- error helpers ------------------------------------------------------------------ */

int res_status_from_sqlite(int rc) {
  switch (rc & 0xff) {
  case SQLITE_NOMEM: return COD_ENOMEM;
  case SQLITE_CONSTRAINT:
  case SQLITE_MISMATCH:
  case SQLITE_RANGE: return COD_EINVAL;
  case SQLITE_NOTADB:
  case SQLITE_CORRUPT: return COD_EFORMAT;
  default: return COD_EIO;
  }
}

int res_fail_sqlite(const res_db *db, int rc, const char *what, cod_err *err) {
  const char *msg = db->conn ? sqlite3_errmsg(db->conn) : sqlite3_errstr(rc);
  /* The sweep checks run keys before it starts, so a duplicate here is a second process
   * writing the same sweep at the same time: say so instead of SQLite's raw words. */
  if (db->conn && sqlite3_extended_errcode(db->conn) == SQLITE_CONSTRAINT_UNIQUE &&
      strstr(msg, "runs.run_key"))
    return cod_err_set(err, COD_EINVAL, "results db '%s': %s: another process is running or "
                       "has written the same sweep (this run key is already in the file); "
                       "use --resume to run only the missing runs, or another --db (%s)",
                       db->path, what, msg);
  return cod_err_set(err, res_status_from_sqlite(rc), "results db '%s': %s: %s", db->path,
                     what, msg);
}

/* Step a statement that returns no row (or whose rows we ignore), then reset it and clear
 * its bindings whatever happened. The error message is captured before the reset. */
static int step_done(res_db *db, sqlite3_stmt *st, const char *what, cod_err *err) {
  int rc = sqlite3_step(st);
  int status = COD_OK;
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    if ((rc & 0xff) == SQLITE_BUSY)
      status = cod_err_set(err, COD_EIO, "results db '%s': %s: database still locked by "
                           "another writer after the busy timeout", db->path, what);
    else
      status = res_fail_sqlite(db, rc, what, err);
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return status;
}

/* step_done of a statement whose bindings (OR-ed sqlite3_bind_* results in bind_rc) may
 * have failed: a failed bind (out of memory) is reported without stepping. */
static int bound_step_done(res_db *db, sqlite3_stmt *st, int bind_rc, const char *what,
                           cod_err *err) {
  if (bind_rc != SQLITE_OK) {
    sqlite3_clear_bindings(st);
    return cod_err_set(err, COD_ENOMEM, "results db '%s': %s: binding the values", db->path,
                       what);
  }
  return step_done(db, st, what, err);
}

/* ---- binding a row from its table description: NULL markers become SQL NULL ------- */

/* Bind every column of a row of t to st, parameters numbered in column order as
 * res_schema_insert_sql (or, outcome_only, res_schema_outcome_sql) numbers them: the
 * RUN_ID column gets run_id, except in the runs INSERT where SQLite assigns it. Text is
 * bound SQLITE_STATIC: bindings are cleared before the caller returns. Returns the OR of
 * the sqlite3_bind_* results. */
static int bind_row_at(sqlite3_stmt *st, const res_table *t, const void *row, int64_t run_id,
                       int outcome_only, int first) {
  const unsigned char *base = row;
  int rc = SQLITE_OK, n = first;
  for (size_t i = 0; i < t->n_cols; i++) {
    const res_column *c = &t->cols[i];
    const void *p = base + c->offset;
    if (c->ctype == RES_CT_RUN_ID) {
      if (t != res_schema_table(RES_TABLE_RUNS) || outcome_only)
        rc |= sqlite3_bind_int64(st, ++n, run_id);
      continue;
    }
    if (outcome_only && !(c->flags & RES_COL_OUTCOME)) continue;
    n++;
    switch (c->ctype) {
    case RES_CT_TEXT: {
      const char *s = *(const char *const *)p;
      rc |= s ? sqlite3_bind_text(st, n, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, n);
      break;
    }
    case RES_CT_I64: {
      int64_t v = *(const int64_t *)p;
      rc |= v == RES_NULL_INT ? sqlite3_bind_null(st, n) : sqlite3_bind_int64(st, n, v);
      break;
    }
    case RES_CT_INT: {
      int v = *(const int *)p;
      rc |= v == RES_NULL_INT ? sqlite3_bind_null(st, n) : sqlite3_bind_int64(st, n, v);
      break;
    }
    case RES_CT_U64: {
      int64_t v;
      memcpy(&v, p, sizeof v); /* the same 64 bits; read back as uint64_t */
      rc |= sqlite3_bind_int64(st, n, v);
      break;
    }
    case RES_CT_REAL: {
      double v = *(const double *)p;
      rc |= isnan(v) ? sqlite3_bind_null(st, n) : sqlite3_bind_double(st, n, v);
      break;
    }
    case RES_CT_RUN_ID: break;
    }
  }
  return rc;
}

static int bind_row(sqlite3_stmt *st, const res_table *t, const void *row, int64_t run_id,
                    int outcome_only) {
  return bind_row_at(st, t, row, run_id, outcome_only, 0);
}

static int bind_text(sqlite3_stmt *st, int i, const char *s) {
  return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* ---- row initialisers --------------------------------------------------------------- */

void res_run_row_init(res_run_row *row) {
  res_schema_row_init(res_schema_table(RES_TABLE_RUNS), row);
}

void res_layer_row_init(res_layer_row *row) {
  res_schema_row_init(res_schema_table(RES_TABLE_LAYERS), row);
}

void res_worker_row_init(res_worker_row *row) {
  res_schema_row_init(res_schema_table(RES_TABLE_WORKERS), row);
}

void res_event_row_init(res_event_row *row) {
  res_schema_row_init(res_schema_table(RES_TABLE_EVENTS), row);
}

void res_request_row_init(res_request_row *row) {
  res_schema_row_init(res_schema_table(RES_TABLE_REQUESTS), row);
}

void res_load_row_init(res_load_row *row) {
  res_schema_row_init(res_schema_table(RES_TABLE_LOAD_RUNS), row);
}

void res_load_worker_row_init(res_load_worker_row *row) {
  res_schema_row_init(res_schema_table(RES_TABLE_LOAD_WORKERS), row);
}

int res_run_key_format(char *buf, size_t cap, const char *scenario_hash, int64_t point_index,
                       int64_t trial, cod_err *err) {
  if (!scenario_hash || point_index < 0 || trial < 0)
    return cod_err_set(err, COD_EINVAL, "run key: scenario_hash, point_index >= 0 and "
                       "trial >= 0 are required");
  int n = snprintf(buf, cap, "%s/p%lld/t%lld", scenario_hash, (long long)point_index,
                   (long long)trial);
  if (n < 0 || (size_t)n >= cap)
    return cod_err_set(err, COD_EINVAL, "run key: buffer of %zu bytes too small", cap);
  return COD_OK;
}

/* ---- open and validate -------------------------------------------------------------- */

/* Run a one-row, one-integer query (pragmas, counts) prepared for this call only. */
static int query_int(sqlite3 *conn, const char *sql, int64_t *out) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(conn, sql, -1, &st, NULL);
  if (rc != SQLITE_OK) return rc;
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *out = sqlite3_column_int64(st, 0);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  return rc;
}

static int exec_sql(res_db *db, const char *sql, const char *what, cod_err *err) {
  int rc = sqlite3_exec(db->conn, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? COD_OK : res_fail_sqlite(db, rc, what, err);
}

/* What the header and schema say about the file. */
typedef struct file_state {
  int64_t app_id, version, objects, tables;
} file_state;

/* The four reads happen in ONE read transaction (one snapshot): read one by one, another
 * process creating the schema in between made a new file look like a foreign one
 * (application_id 0 with tables), which failed concurrent openers, e.g. MPI ranks. */
static int read_state(res_db *db, file_state *fs, cod_err *err) {
  int own = sqlite3_get_autocommit(db->conn);
  int rc = own ? sqlite3_exec(db->conn, "BEGIN", NULL, NULL, NULL) : SQLITE_OK;
  if (rc == SQLITE_OK) rc = query_int(db->conn, "PRAGMA application_id", &fs->app_id);
  if (rc == SQLITE_OK) rc = query_int(db->conn, "PRAGMA user_version", &fs->version);
  if (rc == SQLITE_OK) rc = query_int(db->conn, "SELECT COUNT(*) FROM sqlite_master", &fs->objects);
  if (rc == SQLITE_OK)
    rc = query_int(db->conn, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND "
                   "name IN ('runs', 'layers', 'workers', 'events')", &fs->tables);
  if (own && !sqlite3_get_autocommit(db->conn)) sqlite3_exec(db->conn, "COMMIT", NULL, NULL, NULL);
  if (rc == SQLITE_OK) return COD_OK;
  if ((rc & 0xff) == SQLITE_NOTADB)
    return cod_err_set(err, COD_EFORMAT, "results db '%s': not an SQLite database "
                       "(fcdcc results files are SQLite files)", db->path);
  return res_fail_sqlite(db, rc, "reading the file header", err);
}

static int is_new(const file_state *fs) {
  return fs->app_id == 0 && fs->version == 0 && fs->objects == 0;
}

/* 1 if fs is an fcdcc file of an older version that the steps of res_schema.c take to
 * ours. */
static int upgradable(const file_state *fs) {
  if (fs->app_id != RES_DB_APPLICATION_ID || fs->version < 1 ||
      fs->version >= RES_DB_SCHEMA_VERSION || fs->tables != 4)
    return 0;
  for (int64_t v = fs->version + 1; v <= RES_DB_SCHEMA_VERSION; v++)
    if (!res_schema_step_to(v)) return 0;
  return 1;
}

/* Upgrade an older file in place (res_db.h), inside BEGIN IMMEDIATE with the state read
 * again under the lock, so that two processes opening the same old file upgrade it once. */
static int upgrade_schema(res_db *db, cod_err *err) {
  int status = exec_sql(db, "BEGIN IMMEDIATE", "locking the file for its upgrade", err);
  if (status) return status;
  file_state fs;
  status = read_state(db, &fs, err);
  for (int64_t v = fs.version + 1; !status && upgradable(&fs) && v <= RES_DB_SCHEMA_VERSION; v++)
    status = exec_sql(db, res_schema_step_to(v)->sql, "upgrading the schema", err);
  if (!status && upgradable(&fs))
    status = exec_sql(db, "PRAGMA user_version = " RES_STR(RES_DB_SCHEMA_VERSION) ";",
                      "stamping the upgraded header", err);
  if (!status) status = exec_sql(db, "COMMIT", "committing the upgrade", err);
  if (status) sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
  return status;
}

/* COD_OK if fs describes a valid fcdcc file of our version; COD_EFORMAT otherwise. */
static int check_state(const res_db *db, const file_state *fs, cod_err *err) {
  if (fs->app_id != RES_DB_APPLICATION_ID) {
    if (is_new(fs))
      return cod_err_set(err, COD_EFORMAT, "results db '%s': empty SQLite file, not an "
                         "fcdcc results database", db->path);
    return cod_err_set(err, COD_EFORMAT, "results db '%s': an SQLite database from another "
                       "application (application_id %lld, fcdcc uses %d), not an fcdcc "
                       "results database", db->path, (long long)fs->app_id,
                       RES_DB_APPLICATION_ID);
  }
  if (fs->version > RES_DB_SCHEMA_VERSION)
    return cod_err_set(err, COD_EFORMAT, "results db '%s': schema version %lld was written "
                       "by a newer fcdcc; this build reads version %d", db->path,
                       (long long)fs->version, RES_DB_SCHEMA_VERSION);
  if (upgradable(fs)) { /* only a read-only open gets here: it never writes */
    /* what every step from the file's version up to ours changes, in order */
    char what[COD_ERR_MSG_LEN];
    size_t used = 0;
    what[0] = '\0';
    for (int64_t v = fs->version + 1; v <= RES_DB_SCHEMA_VERSION && used < sizeof what; v++) {
      int w = snprintf(what + used, sizeof what - used, "%s%s", used ? "; " : "",
                       res_schema_step_to(v)->what);
      used += w > 0 ? (size_t)w : 0;
    }
    return cod_err_set(err, COD_EFORMAT, "results db '%s': schema version %lld was written "
                       "by an older fcdcc; this build reads version %d, and a read-only open "
                       "does not upgrade it: `fcdcc upgrade %s` does, in place (%s; no value "
                       "changes)", db->path, (long long)fs->version, RES_DB_SCHEMA_VERSION,
                       db->path, what);
  }
  if (fs->version >= 1 && fs->version < RES_DB_SCHEMA_VERSION)
    return cod_err_set(err, COD_EFORMAT, "results db '%s': schema version %lld was written "
                       "by an older fcdcc; this build reads version %d only (its columns "
                       "differ): write the runs into a new file", db->path,
                       (long long)fs->version, RES_DB_SCHEMA_VERSION);
  if (fs->version < 1 || fs->tables != 4)
    return cod_err_set(err, COD_EFORMAT, "results db '%s': fcdcc file with a damaged schema "
                       "(version %lld, %lld of the 4 tables)", db->path,
                       (long long)fs->version, (long long)fs->tables);
  return COD_OK;
}

/* Create the schema if the file is still new, inside BEGIN IMMEDIATE (race-safe). */
static int create_schema(res_db *db, cod_err *err) {
  int status = exec_sql(db, "BEGIN IMMEDIATE", "locking the new file", err);
  if (status) return status;
  file_state fs;
  status = read_state(db, &fs, err);
  if (!status && is_new(&fs)) {
    char *schema = NULL;
    if (res_schema_create_sql(&schema, NULL))
      status = cod_err_set(err, COD_ENOMEM, "results db '%s': out of memory for the schema",
                           db->path);
    if (!status) status = exec_sql(db, schema, "creating the schema", err);
    cod_free(schema);
    if (!status)
      status = exec_sql(db, "PRAGMA application_id = " RES_STR(RES_DB_APPLICATION_ID) ";"
                        "PRAGMA user_version = " RES_STR(RES_DB_SCHEMA_VERSION) ";",
                        "stamping the header", err);
  }
  if (!status) status = exec_sql(db, "COMMIT", "committing the schema", err);
  if (status) sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
  return status;
}

/* Switch the file to WAL (persistent in the file, so only its first openers do it). The
 * switch needs an exclusive lock and SQLite may answer BUSY without calling the busy
 * handler (when waiting could deadlock), e.g. while other processes open the new file at
 * the same moment: retry for up to the busy timeout. */
static int set_wal(res_db *db, cod_err *err) {
  const struct timespec nap = {0, 10 * 1000 * 1000};
  for (int waited_ms = 0;; waited_ms += 10) {
    int rc = sqlite3_exec(db->conn, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
    if (rc == SQLITE_OK) return COD_OK;
    if (((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) ||
        waited_ms >= RES_DB_BUSY_TIMEOUT_MS)
      return res_fail_sqlite(db, rc, "setting WAL mode", err);
    nanosleep(&nap, NULL);
  }
}

static int configure(res_db *db, cod_err *err) {
  int status = set_wal(db, err);
  if (!status) status = exec_sql(db, "PRAGMA synchronous = NORMAL", "setting synchronous", err);
  /* Every foreign key of the schema is kept true by this module instead (res_db_commit_run
   * checks workers -> layers; the others point at the open run, by construction), which
   * costs nothing per row: docs/decisions/021-writer-cost.md. Stated, not left to a
   * compile-time default. */
  if (!status) status = exec_sql(db, "PRAGMA foreign_keys = OFF", "setting foreign keys", err);
  return status;
}

/* The text of statement i: the static table's, or one made from the column tables
 * (*owned then holds it, for the caller to free). */
static int statement_sql(int i, const char **sql, char **owned, cod_err *err) {
  *owned = NULL;
  switch (i) {
  case RES_ST_INSERT_RUN:
    return res_schema_insert_sql(res_schema_table(RES_TABLE_RUNS), owned, err);
  case RES_ST_INSERT_LAYER:
    return res_schema_insert_sql(res_schema_table(RES_TABLE_LAYERS), owned, err);
  case RES_ST_INSERT_WORKER:
    return res_schema_insert_sql(res_schema_table(RES_TABLE_WORKERS), owned, err);
  case RES_ST_INSERT_WORKERS_BIG:
    return res_schema_insert_rows_sql(res_schema_table(RES_TABLE_WORKERS), RES_DB_WORKERS_BIG,
                                      owned, err);
  case RES_ST_INSERT_WORKERS_SMALL:
    return res_schema_insert_rows_sql(res_schema_table(RES_TABLE_WORKERS),
                                      RES_DB_WORKERS_SMALL, owned, err);
  case RES_ST_INSERT_EVENT:
    return res_schema_insert_sql(res_schema_table(RES_TABLE_EVENTS), owned, err);
  case RES_ST_INSERT_DATA_RUN:
    return res_schema_insert_sql(res_schema_table(RES_TABLE_DATA_RUNS), owned, err);
  case RES_ST_INSERT_REQUEST:
    return res_schema_insert_sql(res_schema_table(RES_TABLE_REQUESTS), owned, err);
  case RES_ST_INSERT_LOAD_RUN:
    return res_schema_insert_sql(res_schema_table(RES_TABLE_LOAD_RUNS), owned, err);
  case RES_ST_INSERT_LOAD_WORKER:
    return res_schema_insert_sql(res_schema_table(RES_TABLE_LOAD_WORKERS), owned, err);
  case RES_ST_INSERT_SKIPPED:
    return res_schema_insert_sql(res_schema_table(RES_TABLE_SKIPPED), owned, err);
  case RES_ST_SET_OUTCOME:
    return res_schema_outcome_sql(owned, err);
  default:
    *sql = stmt_sql[i];
    return COD_OK;
  }
}

static int prepare_all(res_db *db, cod_err *err) {
  for (int i = 0; i < RES_ST_COUNT_; i++) {
    const char *sql = NULL;
    char *owned = NULL;
    if (statement_sql(i, &sql, &owned, NULL))
      return cod_err_set(err, COD_ENOMEM, "results db '%s': out of memory for the "
                         "statements", db->path);
    if (owned) sql = owned;
    int rc = sqlite3_prepare_v3(db->conn, sql, -1, SQLITE_PREPARE_PERSISTENT, &db->st[i], NULL);
    cod_free(owned);
    if (rc != SQLITE_OK) {
      if ((rc & 0xff) == SQLITE_ERROR)
        return cod_err_set(err, COD_EFORMAT, "results db '%s': schema does not match this "
                           "fcdcc: %s", db->path, sqlite3_errmsg(db->conn));
      return res_fail_sqlite(db, rc, "preparing statements", err);
    }
  }
  return COD_OK;
}

/* "file:" + path percent-encoded + query, for an immutable read-only open. */
static char *uri_of(const char *path, const char *query) {
  size_t n = strlen(path);
  char *u = cod_malloc(5 + 3 * n + strlen(query) + 1);
  if (!u) return NULL;
  char *w = u + sprintf(u, "file:");
  for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
        strchr("/-._~", *p))
      *w++ = (char)*p;
    else
      w += sprintf(w, "%%%02X", *p);
  }
  strcpy(w, query);
  return u;
}

static int exists(const char *path, const char *suffix) {
  char buf[4200];
  if (snprintf(buf, sizeof buf, "%s%s", path, suffix) >= (int)sizeof buf) return 1;
  return access(buf, F_OK) == 0;
}

/* 0 if the directory of path is writable or its state is not "read-only" (a missing
 * directory is left to the open's own message); else the errno (EACCES, EROFS, EPERM). */
static int dir_readonly(const char *path) {
  char dir[4096] = ".";
  const char *slash = strrchr(path, '/');
  if (slash) {
    size_t n = slash == path ? 1 : (size_t)(slash - path); /* "/x.db" */
    if (n >= sizeof dir) return 0;
    memcpy(dir, path, n);
    dir[n] = 0;
  }
  if (access(dir, W_OK) == 0) return 0;
  return errno == EACCES || errno == EROFS || errno == EPERM ? errno : 0;
}

static int open_conn(res_db *db, int flags, cod_err *err) {
  int oflags = (flags & RES_DB_READONLY) ? SQLITE_OPEN_READONLY
               : (flags & RES_DB_NOCREATE) ? SQLITE_OPEN_READWRITE
               : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  /* A read-only open must leave no -wal/-shm beside the file. With no -wal present no
   * writer is active (a WAL writer always has one) and every committed page is in the
   * main file, so it is opened immutable: no locks, no side files, and it works in a
   * read-only directory. With a -wal present (a writer running, or one that crashed) its
   * pages are needed, so the open is an ordinary read-only one. URIs are parsed only for
   * the name built here; user names that look like URIs were refused before. */
  char *uri = NULL;
  if ((flags & RES_DB_READONLY) && !exists(db->path, "-wal")) {
    uri = uri_of(db->path, "?immutable=1");
    if (!uri) return cod_err_set(err, COD_ENOMEM, "results db '%s': out of memory", db->path);
    oflags |= SQLITE_OPEN_URI;
  }
  int rc = sqlite3_open_v2(uri ? uri : db->path, &db->conn, oflags | SQLITE_OPEN_NOMUTEX, NULL);
  cod_free(uri);
  if (rc != SQLITE_OK) {
    int status = (rc & 0xff) == SQLITE_NOMEM ? COD_ENOMEM : COD_EIO;
    cod_err_set(err, status, "results db '%s': cannot open%s: %s", db->path,
                (flags & (RES_DB_READONLY | RES_DB_NOCREATE)) ? " an existing file" : "",
                db->conn ? sqlite3_errmsg(db->conn) : sqlite3_errstr(rc));
    sqlite3_close(db->conn);
    db->conn = NULL;
    return status;
  }
  sqlite3_busy_timeout(db->conn, RES_DB_BUSY_TIMEOUT_MS);
  return COD_OK;
}

/* Refuse files that are certainly not ours from their first 100 bytes, read BEFORE
 * SQLite opens them: SQLite opening a WAL-mode file creates its -wal and -shm
 * companions, so refusing a newer fcdcc file after opening it would still write to the
 * directory. Only what the main file's header proves is refused here (not SQLite, another
 * application_id, a newer user_version); the header can be stale while a writer's WAL holds
 * page 1, so everything else is left to check_state after the open. A missing, empty or
 * short file passes (SQLite decides). The read goes through cod_file_open_regular, so a
 * FIFO or device named as the database is refused instead of blocking or being read. */
static int precheck_header(const char *path, cod_err *err) {
  unsigned char h[100];
  struct stat sb;
  if (stat(path, &sb) != 0) return COD_OK;
  if (!S_ISREG(sb.st_mode))
    return cod_err_set(err, COD_EIO, "results db '%s': is %s, not a results database file",
                       path, cod_file_kind((unsigned)sb.st_mode));
  int fd;
  if (cod_file_open_regular(path, "results db", 0, &fd, NULL, err)) return COD_EIO;
  ssize_t r = read(fd, h, sizeof h);
  close(fd);
  size_t n = r > 0 ? (size_t)r : 0;
  if (n == 0) return COD_OK;
  if (n < 16 || memcmp(h, "SQLite format 3", 16) != 0)
    return cod_err_set(err, COD_EFORMAT, "results db '%s': not an SQLite database "
                       "(fcdcc results files are SQLite files)", path);
  if (n < sizeof h) return COD_OK;
  uint32_t version = (uint32_t)h[60] << 24 | (uint32_t)h[61] << 16 | (uint32_t)h[62] << 8 | h[63];
  uint32_t app = (uint32_t)h[68] << 24 | (uint32_t)h[69] << 16 | (uint32_t)h[70] << 8 | h[71];
  if (app != 0 && app != (uint32_t)RES_DB_APPLICATION_ID)
    return cod_err_set(err, COD_EFORMAT, "results db '%s': an SQLite database from another "
                       "application (application_id %lld, fcdcc uses %d), not an fcdcc "
                       "results database", path, (long long)(int32_t)app, RES_DB_APPLICATION_ID);
  if (app == (uint32_t)RES_DB_APPLICATION_ID && version > RES_DB_SCHEMA_VERSION)
    return cod_err_set(err, COD_EFORMAT, "results db '%s': schema version %lld was written "
                       "by a newer fcdcc; this build reads version %d", path,
                       (long long)version, RES_DB_SCHEMA_VERSION);
  return COD_OK;
}

int res_db_check_name(const char *path, cod_err *err) {
  if (!path || !*path)
    return cod_err_set(err, COD_EINVAL, "results db: empty file name (an unnamed temporary "
                       "database would save nothing)");
  if (strncmp(path, ":memory:", 8) == 0)
    return cod_err_set(err, COD_EINVAL, "results db '%s': an in-memory database would save "
                       "nothing; name a file", path);
  if (strncmp(path, "file:", 5) == 0)
    return cod_err_set(err, COD_EINVAL, "results db '%s': SQLite URI names are not accepted "
                       "(write ./%s for a file of that name)", path, path);
  return COD_OK;
}

/* Remove the file this handle created (and its companions): nothing was kept in it. */
static void remove_created(const char *path) {
  static const char *const suffix[4] = {"-wal", "-shm", "-journal", ""};
  for (int i = 0; i < 4; i++) {
    char buf[4200];
    if (snprintf(buf, sizeof buf, "%s%s", path, suffix[i]) < (int)sizeof buf) unlink(buf);
  }
}

int res_db_open(const char *path, int flags, res_db **out, cod_err *err) {
  if (!out) return cod_err_set(err, COD_EINVAL, "res_db_open: NULL out");
  int pre = res_db_check_name(path, err);
  if (pre) return pre;
  struct stat sb;
  if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
    return cod_err_set(err, COD_EIO, "results db '%s': cannot open: is a directory", path);
  int absent = stat(path, &sb) != 0 && errno == ENOENT;
  if ((flags & (RES_DB_READONLY | RES_DB_NOCREATE)) && absent)
    return cod_err_set(err, COD_EIO, "results db '%s': cannot open: no such file", path);
  int ro = (flags & RES_DB_READONLY) ? 0 : dir_readonly(path);
  if (ro)
    return cod_err_set(err, COD_EIO, "results db '%s': the directory is read-only (%s); "
                       "writing results needs the file and its -wal/-shm companions there",
                       path, strerror(ro));
  pre = precheck_header(path, err);
  if (pre) return pre;
  res_db *db = cod_calloc(1, sizeof *db);
  if (!db) return cod_err_set(err, COD_ENOMEM, "results db '%s': out of memory", path);
  db->path = cod_strdup(path);
  if (!db->path) {
    cod_free(db);
    return cod_err_set(err, COD_ENOMEM, "results db '%s': out of memory", path);
  }
  db->readonly = (flags & RES_DB_READONLY) != 0;
  db->created = absent && !db->readonly;
  db->drop_empty = db->created && (flags & RES_DB_DROP_EMPTY);
  int status = open_conn(db, flags, err);
  file_state fs;
  if (!status) status = read_state(db, &fs, err);
  if (!status && is_new(&fs) && !db->readonly) {
    status = create_schema(db, err);
    if (!status) status = read_state(db, &fs, err);
  }
  if (!status && !db->readonly && upgradable(&fs)) {
    status = upgrade_schema(db, err);
    if (!status) status = read_state(db, &fs, err);
  }
  if (!status) status = check_state(db, &fs, err);
  if (!status && !db->readonly) status = configure(db, err);
  if (!status) status = prepare_all(db, err);
  if (status) {
    if (db->created) db->drop_empty = 1; /* e.g. a full disk: leave no 0-byte file */
    res_db_close(db);
    return status;
  }
  *out = db;
  return COD_OK;
}

/* 1 if the file on conn holds no run (the schema may be there); 0 if it holds some or
 * the read failed. */
static int count_runs_zero(sqlite3 *conn) {
  int64_t n = -1, objects = -1;
  int rc = query_int(conn, "SELECT COUNT(*) FROM sqlite_master", &objects);
  if (rc == SQLITE_OK && objects > 0) rc = query_int(conn, "SELECT COUNT(*) FROM runs", &n);
  else if (rc == SQLITE_OK) n = 0;
  return rc == SQLITE_OK && n == 0;
}

/* 1 if the handle's file holds no run; 0 otherwise or if unsure (then the file is kept).
 * Checked under the write lock where it can be taken (kept, so that no other writer can
 * add a run before the file is removed); after an I/O error (a full disk) the handle may
 * be unable even to read, and a fresh read-only connection decides. */
static int empty_now(res_db *db) {
  if (!db->conn) return 1; /* never opened: nothing can be in it */
  if (!sqlite3_get_autocommit(db->conn)) sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
  if (sqlite3_exec(db->conn, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK &&
      count_runs_zero(db->conn))
    return 1;
  sqlite3 *ro = NULL;
  int empty = sqlite3_open_v2(db->path, &ro, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                              NULL) == SQLITE_OK && count_runs_zero(ro);
  sqlite3_close(ro);
  if (empty) return 1;
  /* Even that needs the -shm (32 KiB), which a full disk may refuse. A -wal shorter than
   * its header plus one frame holds no commit, so then the main file alone tells. */
  char wal[4200];
  struct stat sb;
  snprintf(wal, sizeof wal, "%s-wal", db->path);
  if (stat(wal, &sb) == 0 && sb.st_size >= 32 + 24 + 512) return 0;
  char *uri = uri_of(db->path, "?immutable=1");
  ro = NULL;
  empty = uri && sqlite3_open_v2(uri, &ro, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI |
                                 SQLITE_OPEN_NOMUTEX, NULL) == SQLITE_OK && count_runs_zero(ro);
  sqlite3_close(ro);
  cod_free(uri);
  return empty;
}

void res_db_close(res_db *db) {
  if (!db) return;
  for (int i = 0; i < RES_ST_COUNT_; i++) sqlite3_finalize(db->st[i]);
  /* A file this handle created and that holds no run is removed: a database exists only
   * once its first run committed (a full disk or a failed first run leaves nothing). */
  struct stat sb;
  int drop = db->drop_empty && (empty_now(db) || /* unlockable: e.g. nothing written */
                                (stat(db->path, &sb) == 0 && sb.st_size == 0));
  if (drop) remove_created(db->path); /* still holding the write lock */
  /* A clean close leaves no -wal/-shm: SQLite checkpoints the log into the file and
   * deletes both when the last connection closes. A handle that committed runs
   * checkpoints first anyway (TRUNCATE, no busy wait: it fails harmlessly while another
   * connection reads), so even a reader that keeps the file open meanwhile finds the log
   * empty. The journal mode stays WAL: switching it back at close would make every later
   * read-write open rewrite the header, and a refused run must leave the file unchanged. */
  if (db->conn && !db->readonly && !drop && db->committed) {
    if (!sqlite3_get_autocommit(db->conn)) sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_busy_timeout(db->conn, 0);
    sqlite3_exec(db->conn, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
  }
  /* Closing with an open transaction rolls it back: a half-written run never survives. */
  if (db->conn) sqlite3_close(db->conn);
  cod_free(db->fk_layers);
  cod_free(db->fk_refs);
  cod_free(db->path);
  cod_free(db);
}

void res_db_set_busy_timeout(res_db *db, int timeout_ms) {
  sqlite3_busy_timeout(db->conn, timeout_ms < 0 ? 0 : timeout_ms);
}

const char *res_db_path(const res_db *db) { return db->path; }

/* ---- writing runs ------------------------------------------------------------------- */

static int check_open_run(const res_db *db, int64_t run_id, const char *what, cod_err *err) {
  if (!db->run_open || db->run_id != run_id)
    return cod_err_set(err, COD_EINVAL, "results db '%s': %s: run %lld is not the open run",
                       db->path, what, (long long)run_id);
  return COD_OK;
}

/* Append v to the list *a (n, cap), unless it equals the last value. 0 or -1 (memory). */
static int fk_push(int64_t **a, size_t *n, size_t *cap, int64_t v) {
  if (*n && (*a)[*n - 1] == v) return 0;
  if (*n == *cap) {
    size_t c = *cap ? 2 * *cap : 32;
    int64_t *p = cod_realloc(*a, c * sizeof *p);
    if (!p) return -1;
    *a = p, *cap = c;
  }
  (*a)[(*n)++] = v;
  return 0;
}

static int fk_note_layer(res_db *db, int64_t layer_index, cod_err *err) {
  if (fk_push(&db->fk_layers, &db->n_fk_layers, &db->cap_fk_layers, layer_index))
    return cod_err_set(err, COD_ENOMEM, "results db '%s': out of memory", db->path);
  return COD_OK;
}

static int fk_note_worker(res_db *db, int64_t layer_index, cod_err *err) {
  if (fk_push(&db->fk_refs, &db->n_fk_refs, &db->cap_fk_refs, layer_index))
    return cod_err_set(err, COD_ENOMEM, "results db '%s': out of memory", db->path);
  return COD_OK;
}

/* The deferred foreign key workers(run_id, layer_index) -> layers of the open run: every
 * workers row's layer has a layers row. COD_OK or COD_EINVAL naming the first orphan. */
static int fk_check(const res_db *db, cod_err *err) {
  for (size_t i = 0; i < db->n_fk_refs; i++) {
    size_t j = 0;
    while (j < db->n_fk_layers && db->fk_layers[j] != db->fk_refs[i]) j++;
    if (j == db->n_fk_layers)
      return cod_err_set(err, COD_EINVAL, "results db '%s': committing the run: FOREIGN KEY "
                         "constraint failed: a workers row of layer %lld has no layers row in "
                         "run %lld", db->path, (long long)db->fk_refs[i], (long long)db->run_id);
  }
  return COD_OK;
}

/* Inside a batch: undo the open run's savepoint and leave it (the batch stays open). */
static void savepoint_undo(res_db *db) {
  sqlite3_step(db->st[RES_ST_ROLLBACK_TO]);
  sqlite3_reset(db->st[RES_ST_ROLLBACK_TO]);
  sqlite3_step(db->st[RES_ST_RELEASE]);
  sqlite3_reset(db->st[RES_ST_RELEASE]);
}

static void rollback_quietly(res_db *db) {
  if (db->batch_open) {
    if (!sqlite3_get_autocommit(db->conn)) savepoint_undo(db);
    else db->batch_open = 0; /* SQLite ended the batch itself (an I/O error) */
    db->run_open = 0;
    return;
  }
  if (!sqlite3_get_autocommit(db->conn)) {
    sqlite3_step(db->st[RES_ST_ROLLBACK]);
    sqlite3_reset(db->st[RES_ST_ROLLBACK]);
  }
  db->run_open = 0;
}

int res_db_begin_run(res_db *db, const res_run_row *row, int64_t *run_id, cod_err *err) {
  if (db->readonly)
    return cod_err_set(err, COD_EINVAL, "results db '%s': opened read-only", db->path);
  if (db->run_open)
    return cod_err_set(err, COD_EINVAL, "results db '%s': run %lld is still open", db->path,
                       (long long)db->run_id);
  char *key = NULL;
  if (!row->run_key) {
    if (!row->scenario_hash)
      return cod_err_set(err, COD_EINVAL, "results db '%s': run without run_key nor "
                         "scenario_hash", db->path);
    size_t cap = strlen(row->scenario_hash) + 48;
    key = cod_malloc(cap);
    if (!key) return cod_err_set(err, COD_ENOMEM, "results db '%s': out of memory", db->path);
    int status = res_run_key_format(key, cap, row->scenario_hash, row->point_index,
                                    row->trial, err);
    if (status) {
      cod_free(key);
      return status;
    }
  }
  int status = step_done(db, db->st[db->batch_open ? RES_ST_SAVEPOINT : RES_ST_BEGIN],
                         "starting a run", err);
  if (!status) {
    sqlite3_stmt *st = db->st[RES_ST_INSERT_RUN];
    res_run_row keyed = *row;
    if (key) keyed.run_key = key;
    status = bound_step_done(db, st, bind_row(st, res_schema_table(RES_TABLE_RUNS), &keyed, 0, 0),
                             "inserting the run", err);
    if (status) {
      rollback_quietly(db);
    } else {
      db->run_open = 1;
      db->n_fk_layers = db->n_fk_refs = 0;
      db->run_id = sqlite3_last_insert_rowid(db->conn);
      *run_id = db->run_id;
    }
  }
  cod_free(key);
  return status;
}

int res_db_set_run_outcome(res_db *db, int64_t run_id, const res_run_row *r, cod_err *err) {
  int status = check_open_run(db, run_id, "setting the outcome", err);
  if (status) return status;
  sqlite3_stmt *st = db->st[RES_ST_SET_OUTCOME];
  int rc = bind_row(st, res_schema_table(RES_TABLE_RUNS), r, run_id, 1);
  return bound_step_done(db, st, rc, "setting the run outcome", err);
}

/* Insert row (of table `table`) into the open run through statement `sid`. */
static int insert_row(res_db *db, int64_t run_id, int sid, size_t table, const void *row,
                      const char *what, cod_err *err) {
  int status = check_open_run(db, run_id, what, err);
  if (status) return status;
  sqlite3_stmt *st = db->st[sid];
  return bound_step_done(db, st, bind_row(st, res_schema_table(table), row, run_id, 0), what,
                         err);
}

int res_db_insert_layer(res_db *db, int64_t run_id, const res_layer_row *r, cod_err *err) {
  int status = insert_row(db, run_id, RES_ST_INSERT_LAYER, RES_TABLE_LAYERS, r,
                          "inserting a layer", err);
  return status ? status : fk_note_layer(db, r->layer_index, err);
}

int res_db_insert_worker(res_db *db, int64_t run_id, const res_worker_row *r, cod_err *err) {
  int status = insert_row(db, run_id, RES_ST_INSERT_WORKER, RES_TABLE_WORKERS, r,
                          "inserting a worker", err);
  return status ? status : fk_note_worker(db, r->layer_index, err);
}

int res_db_insert_workers(res_db *db, int64_t run_id, const res_worker_row *rows, size_t n,
                          cod_err *err) {
  int status = check_open_run(db, run_id, "inserting workers", err);
  const res_table *t = res_schema_table(RES_TABLE_WORKERS);
  const int per_row = (int)t->n_cols; /* run_id is a parameter of a workers row */
  size_t i = 0;
  while (!status && i < n) {
    size_t k = n - i >= RES_DB_WORKERS_BIG ? RES_DB_WORKERS_BIG
               : n - i >= RES_DB_WORKERS_SMALL ? RES_DB_WORKERS_SMALL : 1;
    if (k == 1) {
      status = res_db_insert_worker(db, run_id, &rows[i++], err);
      continue;
    }
    sqlite3_stmt *st = db->st[k == RES_DB_WORKERS_BIG ? RES_ST_INSERT_WORKERS_BIG
                                                      : RES_ST_INSERT_WORKERS_SMALL];
    int rc = SQLITE_OK;
    for (size_t r = 0; r < k; r++) rc |= bind_row_at(st, t, &rows[i + r], run_id, 0, (int)r * per_row);
    /* A failed statement is undone whole (SQLite aborts the statement): the rows again
     * one by one then name the culprit, with the rows before it in, as one by one would. */
    if (bound_step_done(db, st, rc, "inserting workers", NULL) == COD_OK) {
      for (size_t r = 0; !status && r < k; r++) status = fk_note_worker(db, rows[i + r].layer_index, err);
      i += k;
      continue;
    }
    for (size_t r = 0; !status && r < k; r++) status = res_db_insert_worker(db, run_id, &rows[i + r], err);
    if (!status) /* they all went in alone: the failure was the statement's, e.g. memory */
      status = cod_err_set(err, COD_EIO, "results db '%s': inserting workers: a %zu-row "
                           "INSERT failed where its rows alone did not", db->path, k);
    i += k;
  }
  return status;
}

int res_db_insert_event(res_db *db, int64_t run_id, const res_event_row *r, cod_err *err) {
  return insert_row(db, run_id, RES_ST_INSERT_EVENT, RES_TABLE_EVENTS, r,
                    "inserting an event", err);
}

int res_db_insert_data_run(res_db *db, int64_t run_id, const res_data_row *r, cod_err *err) {
  return insert_row(db, run_id, RES_ST_INSERT_DATA_RUN, RES_TABLE_DATA_RUNS, r,
                    "inserting a data_runs row", err);
}

int res_db_insert_request(res_db *db, int64_t run_id, const res_request_row *r, cod_err *err) {
  return insert_row(db, run_id, RES_ST_INSERT_REQUEST, RES_TABLE_REQUESTS, r,
                    "inserting a requests row", err);
}

int res_db_insert_load_run(res_db *db, int64_t run_id, const res_load_row *r, cod_err *err) {
  return insert_row(db, run_id, RES_ST_INSERT_LOAD_RUN, RES_TABLE_LOAD_RUNS, r,
                    "inserting a load_runs row", err);
}

int res_db_insert_load_worker(res_db *db, int64_t run_id, const res_load_worker_row *r,
                              cod_err *err) {
  return insert_row(db, run_id, RES_ST_INSERT_LOAD_WORKER, RES_TABLE_LOAD_WORKERS, r,
                    "inserting a load_workers row", err);
}

int res_db_insert_skipped(res_db *db, const res_skipped_row *r, cod_err *err) {
  if (db->run_id)
    return cod_err_set(err, COD_EINVAL, "results db '%s': a skipped point is recorded "
                       "outside a run (run %lld is open)", db->path, (long long)db->run_id);
  sqlite3_stmt *st = db->st[RES_ST_INSERT_SKIPPED];
  return bound_step_done(db, st, bind_row(st, res_schema_table(RES_TABLE_SKIPPED), r, 0, 0),
                         "recording a skipped point", err);
}

int res_db_commit_run(res_db *db, int64_t run_id, cod_err *err) {
  int status = check_open_run(db, run_id, "commit", err);
  if (status) return status;
  if ((status = fk_check(db, err))) { /* as a failed COMMIT of a deferred key: undone */
    rollback_quietly(db);
    db->run_open = 0;
    return status;
  }
  if (db->batch_open) { /* its deferred foreign keys are checked when the batch commits */
    status = step_done(db, db->st[RES_ST_RELEASE], "committing the run into its batch", err);
    if (status) rollback_quietly(db);
    db->run_open = 0;
    return status;
  }
  status = step_done(db, db->st[RES_ST_COMMIT], "committing the run", err);
  if (!status) db->committed = 1;
  /* A failed COMMIT (deferred foreign key, I/O) leaves the transaction open: end it. */
  rollback_quietly(db);
  return status;
}

int res_db_rollback_run(res_db *db, int64_t run_id, cod_err *err) {
  int status = check_open_run(db, run_id, "rollback", err);
  if (status) return status;
  if (db->batch_open) {
    status = step_done(db, db->st[RES_ST_ROLLBACK_TO], "rolling back the run", err);
    if (!status) status = step_done(db, db->st[RES_ST_RELEASE], "rolling back the run", err);
  } else {
    status = step_done(db, db->st[RES_ST_ROLLBACK], "rolling back the run", err);
  }
  db->run_open = 0;
  return status;
}

int res_db_begin_batch(res_db *db, cod_err *err) {
  if (db->readonly)
    return cod_err_set(err, COD_EINVAL, "results db '%s': opened read-only", db->path);
  if (db->run_open || db->batch_open)
    return cod_err_set(err, COD_EINVAL, "results db '%s': a %s is still open", db->path,
                       db->run_open ? "run" : "batch");
  int status = step_done(db, db->st[RES_ST_BEGIN], "starting a batch of runs", err);
  if (!status) db->batch_open = 1;
  return status;
}

int res_db_commit_batch(res_db *db, cod_err *err) {
  if (!db->batch_open || db->run_open)
    return cod_err_set(err, COD_EINVAL, "results db '%s': commit batch: %s", db->path,
                       db->run_open ? "a run is still open" : "no batch is open");
  int status = step_done(db, db->st[RES_ST_COMMIT], "committing a batch of runs", err);
  if (!status) db->committed = 1;
  db->batch_open = 0;
  /* A failed COMMIT (deferred foreign key, I/O) leaves the transaction open: end it. */
  rollback_quietly(db);
  return status;
}

int res_db_rollback_batch(res_db *db, cod_err *err) {
  if (!db->batch_open)
    return cod_err_set(err, COD_EINVAL, "results db '%s': rollback batch: no batch is open",
                       db->path);
  db->batch_open = 0, db->run_open = 0;
  if (sqlite3_get_autocommit(db->conn)) return COD_OK; /* SQLite ended it already */
  return step_done(db, db->st[RES_ST_ROLLBACK], "rolling back a batch of runs", err);
}

/* ---- queries ------------------------------------------------------------------------ */

static int query_count(res_db *db, sqlite3_stmt *st, int64_t *out, const char *what,
                       cod_err *err) {
  int rc = sqlite3_step(st);
  int status = COD_OK;
  if (rc == SQLITE_ROW)
    *out = sqlite3_column_int64(st, 0);
  else
    status = res_fail_sqlite(db, rc, what, err);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return status;
}

int res_db_run_exists(res_db *db, const char *run_key, int *exists, cod_err *err) {
  if (!run_key) return cod_err_set(err, COD_EINVAL, "res_db_run_exists: NULL run_key");
  sqlite3_stmt *st = db->st[RES_ST_RUN_EXISTS];
  if (bind_text(st, 1, run_key) != SQLITE_OK)
    return res_fail_sqlite(db, SQLITE_NOMEM, "binding the run key", err);
  int64_t n = 0;
  int status = query_count(db, st, &n, "looking up a run", err);
  if (!status) *exists = n != 0;
  return status;
}

int res_db_count_runs(res_db *db, int64_t *count, cod_err *err) {
  return query_count(db, db->st[RES_ST_COUNT_RUNS], count, "counting runs", err);
}
