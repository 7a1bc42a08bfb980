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

/* The summary, one line per (model, scheme, workers, ka, kb, precision), ordered by them:
 *   model scheme n ka kb prec   group keys (n = workers)
 *   runs ok undec infeas        number of runs; runs with status ok / undecodable /
 *                               "infeasible: *"
 *   lat_mean_s lat_p95_s        mean and nearest-rank 95th percentile (rank ceil(0.95 m)
 *                               of the m sorted values) of latency_s over the ok runs
 *   up_B_w down_B_w store_B_w   mean over (run, worker) pairs of that worker's bytes_up /
 *                               bytes_down / bytes_stored summed over the run's layers
 *   max_mse max_rel             max e2e_mse / e2e_rel_error over the group's runs
 *   mean_cond                   mean of layers.cond over the group's layers
 * Returns COD_OK, COD_EIO (SQLite or write error), COD_ENOMEM. */
int res_report_summary(res_db *db, FILE *out, cod_err *err);

/* The RES_SQL_PER_SCHEME query printed as a table (see res_db.h for its columns). */
int res_report_per_scheme(res_db *db, FILE *out, cod_err *err);

/* Top-1 under coding: per (model, data source, scheme, workers, ka, kb, precision) the runs,
 * images, mean uncoded and coded top-1, mean agreement, undecodable images and the largest
 * logit error, from the data_runs table. Prints nothing (and returns COD_OK) when the file
 * holds no data runs, so reports of other runs are unchanged. */
int res_report_data(res_db *db, FILE *out, cod_err *err);

#endif
