/* res_report.h: readable, deterministic text reports over a results database.
 *
 * Each report is one prepared query (prepared once when the db was opened) printed as a
 * fixed-width table: column names from the query, a dashed rule, then one line per row.
 * Columns holding any text are left-aligned, all others (numbers, all-NULL) right-aligned;
 * integers print as %lld, reals as %.6g, SQL NULL as "-". Rows are ORDER BY'd and no
 * wall-clock column appears, so the output of a given database is byte-for-byte
 * reproducible (golden tests compare it).
 * Output goes to the FILE* the caller passes (main's stream); the library opens nothing.
 */
#ifndef FCDCC_RES_REPORT_H
#define FCDCC_RES_REPORT_H

#include <stdio.h>

#include "cod_status.h"
#include "res_db.h"

/* No summary pools runs of different sweep points. The rows of a report are cells (the
 * summary: model, scheme, n, ka, kb, precision; per scheme: the scheme); a scenario key
 * whose values differ between two runs of one cell (res_points.h) splits it, and the
 * column `point` (shown only when some key splits) holds those keys' values, "a=1, b=x".
 * With opts->by, the rows are exactly the values of the named scenario keys instead (the
 * user chose what to pool). Every column, with units: res_report_explain / docs/figures.md.
 *
 * The summary columns:
 *   model scheme n ka kb prec   the cell (n = workers). ka, kb: the runs' split when every
 *                               layer uses it, else "auto(d=DELTA)" (ka or kb = auto) or
 *                               "per-layer", and the column layer_splits lists the splits
 *                               (KAxKB per conv layer, in layer order)
 *   point                       the splitting keys' values (only when some key splits)
 *   runs ok undec infeas        number of runs; runs with status ok / undecodable /
 *                               "infeasible: *"
 *   lat_mean_s lat_p95_s        mean and nearest-rank 95th percentile (rank ceil(0.95 m)
 *                               of the m sorted values) of latency_s over the ok runs;
 *                               with opts->ci (and in JSON) each followed by its 95%
 *                               interval, *_lo_s and *_hi_s (res_stats.h: t-interval,
 *                               order-statistic interval)
 *   to_worker_B_w to_master_B_w store_B_w
 *                               mean over (run, worker) pairs of that worker's bytes sent
 *                               master -> worker (workers.bytes_up) / worker -> master
 *                               (workers.bytes_down) / stored (bytes_stored), each summed
 *                               over the run's layers
 *   max_mse max_rel             max e2e_mse / e2e_rel_error over the group's runs
 *   mean_cond                   mean of layers.cond over the group's layers
 * Per scheme: scheme [point] runs ok comm_bytes_per_run (mean over runs with workers rows
 * of the run's SUM(bytes_up + bytes_down)) storage_bytes_per_run (of SUM(bytes_stored))
 * max_mse max_rel_error (over the runs' e2e_mse / e2e_rel_error).
 * Rows are ordered by the cell columns (NULL first), then by the splitting keys' values
 * (numbers as numbers), so the output of a given database is byte-for-byte reproducible. */
typedef struct res_report_opts {
  int per_scheme;          /* the per-scheme table instead of the summary */
  const char *const *by;   /* NULL, or a NULL-terminated list of scenario keys (as
                              res_points_key_find accepts: "cluster.workers", "workers",
                              "slow.count", "n"): rows are their values, nothing else */
  int ci;                  /* text: add the interval columns */
  int json;                /* one JSON object: {"report": "summary" | "per_scheme" | "by",
                              "columns": [{"name", "unit", "meaning"}, ...] (the columns
                              of the rows, as --explain documents them), "rows": [{...}]
                              (intervals and point included), and for the summary
                              "data": [{...}] (the data report's rows, res_report_data)} */
} res_report_opts;

/* Write the report o describes (NULL = the summary as text) to out. Returns COD_OK,
 * COD_EINVAL (a --by key that is unknown or ambiguous, with the candidates), COD_EIO
 * (SQLite or write error), COD_ENOMEM. On failure nothing has been printed. */
int res_report_write(res_db *db, const res_report_opts *o, FILE *out, cod_err *err);

/* res_report_write(db, NULL, ...) and with per_scheme = 1. */
int res_report_summary(res_db *db, FILE *out, cod_err *err);
int res_report_per_scheme(res_db *db, FILE *out, cod_err *err);

/* Print every column of the reports (name, unit, meaning) and then every stored column of
 * every table of the schema (res_schema.h: name, SQL type, unit, meaning) to out.
 * COD_OK or COD_EIO (write error). */
int res_report_explain(FILE *out, cod_err *err);

/* Top-1 under coding: per (model, data source, scheme, workers, ka, kb, precision) the runs,
 * images, mean uncoded and coded top-1, mean agreement, undecodable images and the largest
 * logit error, from the data_runs table. Prints nothing (and returns COD_OK) when the file
 * holds no data runs, so reports of other runs are unchanged. */
int res_report_data(res_db *db, FILE *out, cod_err *err);

/* For the tests: the report columns res_report_explain describes, and the meaning it
 * prints for a stored column (its own sentence, else the schema comment; NULL if none). */
/* The unit and meaning of report column name (borrowed, static): 1, or 0 if it is not a
 * documented report column (then *unit and *meaning are untouched). */
int res_explain_report_doc(const char *name, const char **unit, const char **meaning);
/* The data report (res_report_data's rows, with its point column when some key splits)
 * as the JSON member text `"data": [{...}, ...]` (an empty array without data runs), in
 * *out (cod_free; untouched on failure). COD_OK, COD_EIO (SQLite) or COD_ENOMEM. */
int res_report_data_json(res_db *db, char **out, cod_err *err);
size_t res_explain_report_count(void);
const char *res_explain_report_name(size_t i);
const char *res_explain_meaning(const char *name, const char *comment);

#endif
