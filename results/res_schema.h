/* res_schema.h: the one description of every table of the results database.
 *
 * Each SQL table is one res_table: its columns in order, each with its name, SQL
 * constraints, unit, schema comment and where its value sits in the row struct of
 * res_db.h (offsetof + a C type tag). Everything that used to be written per column in
 * several places is made from it: the CREATE TABLE text, the INSERT statements, the
 * bindings, the row initialisers (every field to its NULL marker) and the UPDATE of a
 * run's outcome columns. A new column is one line in res_schema.c plus its field in the
 * row struct (and the code that measures it); RES_DB_SCHEMA_VERSION is bumped with it.
 *
 * The texts are made from these compile-time tables only (never from input), and every
 * statement is still prepared once with bound parameters.
 */
#ifndef FCDCC_RES_SCHEMA_H
#define FCDCC_RES_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "cod_status.h"

/* How a column's value is held in its row struct, which also gives its SQL type. */
typedef enum res_ctype {
  RES_CT_TEXT,   /* const char * (borrowed); NULL = SQL NULL. SQL TEXT */
  RES_CT_I64,    /* int64_t; RES_NULL_INT = SQL NULL. SQL INTEGER */
  RES_CT_INT,    /* int; RES_NULL_INT = SQL NULL. SQL INTEGER */
  RES_CT_U64,    /* uint64_t stored as its int64 bit pattern; never NULL. SQL INTEGER */
  RES_CT_REAL,   /* double; NaN = SQL NULL. SQL REAL */
  RES_CT_RUN_ID  /* not in the struct: runs.run_id (assigned by SQLite) or, in the other
                    tables, the open run's id. SQL INTEGER */
} res_ctype;

/* Column flags. */
enum {
  RES_COL_OUTCOME = 1 /* runs: also written by res_db_set_run_outcome */
};

/* One column. */
typedef struct res_column {
  const char *name;    /* SQL name, e.g. "t_finish_s" */
  res_ctype ctype;     /* C type in the row struct (and so the SQL type) */
  size_t offset;       /* offsetof(row struct, field); 0 for RES_CT_RUN_ID */
  const char *constraints; /* SQL after the type ("NOT NULL CHECK (worker >= 0)"), or "" */
  const char *unit;    /* "s", "ns", "bytes", "flops" or "" (a count, a name, a ratio) */
  const char *comment; /* the schema comment, or NULL */
  const char *if_null; /* SQL expression stored when the value is NULL, or NULL */
  unsigned flags;      /* RES_COL_* */
} res_column;

/* One table. */
typedef struct res_table {
  const char *name;        /* "runs", "layers", "workers", "events", "data_runs" */
  const res_column *cols;  /* n_cols columns, in CREATE TABLE order */
  size_t n_cols;
  const char *constraints; /* table constraints after the columns, or NULL */
  const char *options;     /* after the closing parenthesis ("WITHOUT ROWID"), or NULL */
  size_t row_size;         /* sizeof the row struct */
} res_table;

/* The tables, in creation order: RES_TABLE_RUNS .. RES_TABLE_DATA_RUNS. */
enum { RES_TABLE_RUNS, RES_TABLE_LAYERS, RES_TABLE_WORKERS, RES_TABLE_EVENTS,
       RES_TABLE_DATA_RUNS, RES_TABLE_REQUESTS, RES_TABLE_LOAD_RUNS, RES_TABLE_LOAD_WORKERS,
       RES_TABLE_SKIPPED, RES_TABLE_COUNT };
const res_table *res_schema_table(size_t i); /* i < RES_TABLE_COUNT */

/* One upgrade step of an existing file: the SQL that takes a file of version - 1 to
 * version (run inside the caller's transaction, followed by PRAGMA user_version), and one
 * line saying what it changes. Steps only rename or add (columns, or keys inside
 * runs.params_json), so no stored value changes. */
typedef struct res_schema_step {
  int64_t version;
  const char *sql;
  const char *what;
} res_schema_step;

/* The step that produces `version` from version - 1, or NULL if there is none (a file
 * older than the first step cannot be upgraded and is refused). */
const res_schema_step *res_schema_step_to(int64_t version);

/* The SQL type of a column: "TEXT", "INTEGER" or "REAL". */
const char *res_ctype_sql(res_ctype t);

/* Every CREATE TABLE of the schema (one column a line, its comment after it) followed by
 * the schema's indexes, as one script. *out: a new NUL-terminated string the caller frees
 * with cod_free. COD_OK or COD_ENOMEM (*out untouched). */
int res_schema_create_sql(char **out, cod_err *err);

/* The INSERT of one row of t: every column but runs.run_id, in order, as ?1, ?2, ...
 * (COALESCE(?i, if_null) where the column has one). Same ownership and errors. */
int res_schema_insert_sql(const res_table *t, char **out, cod_err *err);

/* The same INSERT for `rows` >= 1 rows in one statement: VALUES (?1, ..., ?m), (?m+1, ...),
 * m parameters a row numbered on across the rows. One statement of many rows pays
 * SQLite's per-statement cost (step, halt, reset) once (docs/decisions/021-writer-cost.md).
 * rows = 1 is res_schema_insert_sql's text. Same ownership; COD_EINVAL for rows = 0. */
int res_schema_insert_rows_sql(const res_table *t, size_t rows, char **out, cod_err *err);

/* "SELECT <every column> FROM t ORDER BY 1[, 2[, 3]]" (the leading primary-key columns):
 * one table as `fcdcc export` writes it. t must be one of res_schema_table's. Same
 * ownership and errors as res_schema_insert_sql; COD_EINVAL for a foreign table. */
int res_schema_export_sql(const res_table *t, char **out, cod_err *err);

/* The samples of column c of t for a plot: (run_id, layer_name or NULL, c) where c is not
 * NULL, ordered by run (then layer and worker); workers rows take their layer's name by a
 * join. c must be a column of t, t one of res_schema_table's (COD_EINVAL otherwise), so
 * only the tables' own names ever reach the text. */
int res_schema_sample_sql(const res_table *t, const res_column *c, char **out, cod_err *err);

/* "UPDATE runs SET <outcome column> = ?2, ... WHERE run_id = ?1", in column order. */
int res_schema_outcome_sql(char **out, cod_err *err);

/* Set every field of a row of t to its NULL marker (NaN, RES_NULL_INT, NULL; 0 for
 * RES_CT_U64); row points to the table's row struct. */
void res_schema_row_init(const res_table *t, void *row);

#endif
