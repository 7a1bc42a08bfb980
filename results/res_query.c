/* res_query.c: read-only queries returning rows as plain structs (see res_query.h).
 *
 * Design. Each query opens its own read-only handle with res_db_open, so the application_id
 * and schema-version checks are the same as for reports and figures, prepares one
 * statement per call (sqlite3_prepare_v2; the query runs once), binds its parameters and
 * grows the output array geometrically through cod_realloc. The per-layer worker aggregates
 * are correlated subqueries over the workers primary key (run_id, layer_index, worker), so
 * each costs one index range scan. Nothing is returned until every row has been read: a
 * failure half way frees the partial array and leaves the out-parameters untouched.
 */
#include "res_query.h"

#include <math.h>

#include "cod_alloc.h"
#include "res_internal.h"

static const char CALIB_SQL[] =
    "SELECT l.run_id, l.layer_index, l.t_compute_s, l.t_to_worker_s + l.t_to_master_s,\n"
    "  (SELECT MAX(w.flops) FROM workers w WHERE w.run_id = l.run_id\n"
    "     AND w.layer_index = l.layer_index AND w.status = 'used'),\n"
    "  (SELECT SUM(w.bytes_to_worker + w.bytes_to_master) FROM workers w WHERE w.run_id = l.run_id\n"
    "     AND w.layer_index = l.layer_index),\n"
    "  l.t_total_s, r.trial,\n"
    "  DENSE_RANK() OVER (ORDER BY r.scenario_hash, r.point_index, l.layer_index),\n"
    "  ?2 IS NOT NULL AND instr(COALESCE(json_extract(r.params_json, '$.run.name'), ''), ?2) > 0\n"
    "FROM layers l JOIN runs r ON r.run_id = l.run_id\n"
    "WHERE r.backend = ?1 AND l.status = 'ok'\n"
    "ORDER BY l.run_id, l.layer_index;";

static double column_real(sqlite3_stmt *st, int i) {
  return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

/* Step st to the end, appending one sample per row to *arr (capacity *cap, *n used). */
static int read_rows(res_db *db, sqlite3_stmt *st, res_calib_sample **arr, size_t *cap,
                     size_t *n, cod_err *err) {
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == *cap) {
      size_t ncap = *cap ? 2 * *cap : 64;
      if (ncap > SIZE_MAX / sizeof **arr)
        return cod_err_set(err, COD_ENOMEM, "results db '%s': calibration samples: out of "
                           "memory", res_db_path(db));
      res_calib_sample *grown = cod_realloc(*arr, ncap * sizeof **arr);
      if (!grown)
        return cod_err_set(err, COD_ENOMEM, "results db '%s': calibration samples: out of "
                           "memory", res_db_path(db));
      *arr = grown;
      *cap = ncap;
    }
    res_calib_sample *s = &(*arr)[(*n)++];
    s->run_id = sqlite3_column_int64(st, 0);
    s->layer_index = sqlite3_column_int64(st, 1);
    s->t_compute_s = column_real(st, 2);
    s->t_comm_s = column_real(st, 3);
    s->flops = column_real(st, 4);
    s->bytes = column_real(st, 5);
    s->t_total_s = column_real(st, 6);
    s->trial = sqlite3_column_int64(st, 7);
    s->repeat_group = sqlite3_column_int64(st, 8);
    s->held_out = sqlite3_column_int(st, 9) != 0;
  }
  if (rc != SQLITE_DONE) return res_fail_sqlite(db, rc, "calibration samples", err);
  return COD_OK;
}

int res_query_calib_samples(const char *path, const char *backend, res_calib_sample **samples,
                            size_t *n, cod_err *err) {
  return res_query_calib_split(path, backend, NULL, samples, n, err);
}

int res_query_calib_split(const char *path, const char *backend, const char *holdout,
                          res_calib_sample **samples, size_t *n, cod_err *err) {
  if (!path || !backend || !samples || !n)
    return cod_err_set(err, COD_EINVAL, "res_query_calib_samples: NULL argument");
  if (holdout && !*holdout)
    return cod_err_set(err, COD_EINVAL, "calibration: an empty holdout name would hold out "
                       "every run");
  res_db *db = NULL;
  int status = res_db_open(path, RES_DB_READONLY, &db, err);
  if (status) return status;
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db->conn, CALIB_SQL, -1, &st, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, backend, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK && holdout) rc = sqlite3_bind_text(st, 2, holdout, -1, SQLITE_STATIC);
  res_calib_sample *arr = NULL;
  size_t cap = 0, count = 0;
  if (rc != SQLITE_OK)
    status = res_fail_sqlite(db, rc, "preparing the calibration query", err);
  else
    status = read_rows(db, st, &arr, &cap, &count, err);
  if (!status && !arr) { /* no rows: still a valid, unique pointer */
    arr = cod_malloc(0);
    if (!arr)
      status = cod_err_set(err, COD_ENOMEM, "results db '%s': calibration samples: out of "
                           "memory", path);
  }
  sqlite3_finalize(st);
  res_db_close(db);
  if (status) {
    cod_free(arr);
    return status;
  }
  *samples = arr;
  *n = count;
  return COD_OK;
}
