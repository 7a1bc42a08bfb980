/* res_internal.h: the res_db struct and helpers shared by res_db.c and res_report.c.
 * Private to results/: no other module includes this (nor sqlite3.h). */
#ifndef FCDCC_RES_INTERNAL_H
#define FCDCC_RES_INTERNAL_H

#include <sqlite3.h>
#include <stdint.h>

#include "res_db.h"

/* The workers rows of a run go in as INSERTs of this many rows, then of the small count,
 * then one by one (res_db_insert_workers; docs/decisions/021-writer-cost.md): beyond about
 * 20 rows a statement, SQLite's per-statement cost no longer shows (callgrind). */
#define RES_DB_WORKERS_BIG 20
#define RES_DB_WORKERS_SMALL 5

/* Every statement the module runs after open, prepared once in res_db_open. */
enum res_stmt_id {
  RES_ST_BEGIN,
  RES_ST_COMMIT,
  RES_ST_ROLLBACK,
  RES_ST_INSERT_RUN,
  RES_ST_SET_OUTCOME,
  RES_ST_INSERT_LAYER,
  RES_ST_INSERT_WORKER,
  RES_ST_INSERT_EVENT,
  RES_ST_RUN_EXISTS,
  RES_ST_COUNT_RUNS,
  RES_ST_REPORT_RUNS,    /* the summary reports' per-run rows (res_summary.c) */
  RES_ST_REPORT_WORKERS, /* ... their per-run sums over workers */
  RES_ST_REPORT_LAYERS,  /* ... and over layers */
  RES_ST_INSERT_DATA_RUN,
  RES_ST_DATA_REPORT,
  RES_ST_INSERT_REQUEST,
  RES_ST_INSERT_LOAD_RUN,
  RES_ST_INSERT_LOAD_WORKER,
  RES_ST_INSERT_SKIPPED,
  RES_ST_SAVEPOINT,    /* a run inside a batch (res_db_begin_batch) */
  RES_ST_RELEASE,
  RES_ST_ROLLBACK_TO,
  RES_ST_INSERT_WORKERS_BIG,   /* RES_DB_WORKERS_BIG workers rows in one INSERT */
  RES_ST_INSERT_WORKERS_SMALL, /* RES_DB_WORKERS_SMALL of them */
  RES_ST_COUNT_ /* number of statements */
};

struct res_db {
  sqlite3 *conn;
  char *path;          /* copy of the path given to res_db_open, for messages */
  int readonly;        /* opened with RES_DB_READONLY */
  int created;         /* this open created the file */
  int drop_empty;      /* remove the file at close if it holds no run (RES_DB_DROP_EMPTY) */
  int committed;       /* this handle committed a run (checkpoint at close) */
  int run_open;        /* a run transaction is open ... */
  int64_t run_id;      /* ... and this is its run_id */
  int batch_open;      /* a batch transaction is open: runs are savepoints inside it */
  /* The workers -> layers foreign key of the open run, checked here at its commit rather
   * than by SQLite on every row (docs/decisions/021-writer-cost.md): the layer_index of
   * every layers row inserted, and of every workers row (runs of equal values once). */
  int64_t *fk_layers, *fk_refs;
  size_t n_fk_layers, n_fk_refs, cap_fk_layers, cap_fk_refs;
  sqlite3_stmt *st[RES_ST_COUNT_];
};

/* Map an SQLite result code to a cod status: NOMEM -> COD_ENOMEM, CONSTRAINT/MISMATCH/
 * RANGE -> COD_EINVAL, NOTADB/CORRUPT -> COD_EFORMAT, anything else -> COD_EIO. */
int res_status_from_sqlite(int rc);

/* Record "results db '<path>': <what>: <sqlite message>" with the status mapped from rc;
 * returns that status. */
int res_fail_sqlite(const res_db *db, int rc, const char *what, cod_err *err);

/* Print a fixed-width table of preformatted cells (res_report.h): nrows rows of ncol
 * strings, row 0 the header; text[i] = 1 left-aligns column i. COD_OK or COD_EIO. */
int res_print_cells(const res_db *db, const char *const *cells, size_t nrows, size_t ncol,
                    const int *text, FILE *out, cod_err *err);

/* Run a prepared SELECT and print its result as the fixed-width table described in
 * res_report.h. The statement is reset before returning. */
int res_print_table(res_db *db, sqlite3_stmt *st, FILE *out, cod_err *err);

#endif
