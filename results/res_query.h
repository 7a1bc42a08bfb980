/* res_query.h: read-only queries that hand rows of a results database to other modules.
 *
 * The functions here open a file read-only through res_db_open (so a non-fcdcc file or a
 * newer schema is refused exactly as by every other reader), run one prepared statement
 * with bound parameters, copy the rows into plain structs the caller owns and close the
 * file again. They never write and never interpret the numbers: fitting and printing belong
 * to the caller (e.g. `fcdcc calibrate` = this query + analytic/an_calib.h).
 *
 * NULL convention as in res_db.h: a NULL real column is returned as NaN.
 */
#ifndef FCDCC_RES_QUERY_H
#define FCDCC_RES_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "cod_status.h"

/* One decoded layer (layers.status = 'ok') of a run, as calibration needs it. Plain data. */
typedef struct res_calib_sample {
  int64_t run_id;       /* runs.run_id */
  int64_t layer_index;  /* layers.layer_index */
  double t_compute_s;   /* layers.t_compute_s: the critical worker's compute time, s */
  double t_comm_s;      /* layers.t_upload_s + layers.t_download_s, s (NaN if either is NULL) */
  double flops;         /* MAX(workers.flops) over its workers with status 'used' (NaN: none) */
  double bytes;         /* SUM(bytes_up + bytes_down) over ALL its workers rows (NaN: none) */
  double t_total_s;     /* layers.t_total_s, s */
  int64_t trial;        /* runs.trial (0: the first, cold-cache run of its point) */
  int64_t repeat_group; /* >= 1, equal for the same layer of the same scenario point:
                           the repeats (trials) of one real run */
  int held_out;         /* 1 if the run's [run] name contains the holdout text */
} res_calib_sample;

/* The calibration samples of the file at path for one backend: one entry per layers row
 * with status 'ok' of a run with runs.backend = backend ("mpi" or "sim"; bound, never
 * pasted), ordered by (run_id, layer_index). Rows with NULL columns are returned as they
 * are (NaN fields); the caller decides which to use.
 * On COD_OK, *samples is a new array of *n entries (free with cod_free; a unique non-NULL
 * pointer when *n == 0). Errors, with a message naming the file: COD_EIO (cannot open,
 * query failed), COD_EFORMAT (not an SQLite or not an fcdcc file, written by a newer
 * fcdcc, damaged schema), COD_ENOMEM. *samples and *n are untouched on failure. */
int res_query_calib_samples(const char *path, const char *backend, res_calib_sample **samples,
                            size_t *n, cod_err *err);

/* As res_query_calib_samples, with held_out = 1 for the samples of runs whose [run] name
 * contains `holdout` (bound, never pasted; NULL: none held out). COD_EINVAL also for an
 * empty holdout text. */
int res_query_calib_split(const char *path, const char *backend, const char *holdout,
                          res_calib_sample **samples, size_t *n, cod_err *err);

#endif
