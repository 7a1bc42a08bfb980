/* res_db.h: the fcdcc results database (SQLite), one row per simulated or measured run.
 *
 * A "run" is one point of a scenario sweep times one trial: a CNN model's conv layers, each
 * executed with a coded scheme on n (simulated) workers. A run is stored as one row of
 * `runs`, one row of `layers` per conv layer, one row of `workers` per (layer, worker) and,
 * optionally, a trace of `events`. A run is written inside ONE transaction
 * (res_db_begin_run ... res_db_commit_run), so a crash or a rollback never leaves a partial
 * run visible, and a resumed sweep can ask res_db_run_exists() to skip finished runs.
 *
 * The file is identified by PRAGMA application_id = RES_DB_APPLICATION_ID and versioned by
 * PRAGMA user_version = RES_DB_SCHEMA_VERSION; opening anything else fails with COD_EFORMAT
 * and a message naming the file. The schema is the column tables of res_schema.c (the
 * reference for column meanings and units; res_schema.h). Every statement is prepared
 * once at open and reused; statement texts are made from those compile-time tables only,
 * never from input, and every value is a bound parameter.
 *
 * Concurrency: the file is in WAL mode with a busy timeout (RES_DB_BUSY_TIMEOUT_MS by
 * default), so several processes or threads may write runs to the same file: writers queue
 * on BEGIN IMMEDIATE instead of failing. A res_db handle itself is NOT shared between
 * threads: open one handle per thread.
 *
 * NULL conventions in the row structs below: a real (double) field that is NaN is stored as
 * SQL NULL (and read back as NaN); a nullable integer field equal to -1 (RES_NULL_INT) is
 * stored as NULL; a NULL string pointer is stored as NULL. The res_*_row_init() functions
 * set every nullable field to its NULL marker, so callers fill only what they know. String
 * pointers in rows are borrowed: the library copies what it needs during the call.
 */
#ifndef FCDCC_RES_DB_H
#define FCDCC_RES_DB_H

#include <stdint.h>
#include <stdio.h>

#include "cod_status.h"

/* PRAGMA application_id of every fcdcc results file: 0x46434443, "FCDC" in ASCII. Written
 * in decimal because it is pasted into a PRAGMA at compile time. */
#define RES_DB_APPLICATION_ID 1178813507
/* PRAGMA user_version written by this build; bump it with every change of a column
 * table in res_schema.c. A file of a larger version is refused (written by a newer fcdcc);
 * one of a smaller version is upgraded in place on a read-write open when every step up
 * to this version exists (res_schema_step_to; values unchanged), and refused otherwise
 * (and on a read-only open, which never writes: the message says how to upgrade it). */
#define RES_DB_SCHEMA_VERSION 11 /* 2: the data_runs table; 3: layers.worst_sets_tried and
                                  * layers.worst_exhaustive; 4: storage (whole-model need,
                                  * overflow) and energy columns of runs, layers, workers;
                                  * 5: workers.tasks and workers.tasks_used (allocation,
                                  * returns); 6: the requests, load_runs and load_workers tables of
                                  * runs under load; 7: the skipped_points table; 8:
                                  * layers.conv_algo; 9: workers.bytes_up, bytes_down
                                  * renamed bytes_to_worker, bytes_to_master;
                                  * 10: energy of requests and load_runs; 11: events.kind
                                  * 'upload_done' renamed 'to_worker_done' */
/* Default busy timeout: how long a writer waits for another writer's lock, in ms. */
#define RES_DB_BUSY_TIMEOUT_MS 30000
/* The NULL marker of nullable integer fields. */
#define RES_NULL_INT (-1)

/* Open flags (bitwise OR). 0 = read-write, create the file and schema if missing. */
enum {
  RES_DB_READONLY = 1, /* read-only (reports): the file must exist and be an fcdcc db */
  RES_DB_NOCREATE = 2, /* read-write, but the file must already exist */
  RES_DB_DROP_EMPTY = 4 /* if this open creates the file, remove it again at close unless a
                         * run was committed (so a failed first run leaves no file) */
};

/* Run and layer status strings (the CHECK constraints accept exactly these, plus any
 * "infeasible: <reason>" string, and "skipped" for layers after a failed layer). */
#define RES_STATUS_OK "ok"
#define RES_STATUS_UNDECODABLE "undecodable"
#define RES_STATUS_INFEASIBLE_STORAGE "infeasible: storage"
#define RES_STATUS_ERROR "error"   /* layer: decoding system singular to working precision */
#define RES_STATUS_SKIPPED "skipped"
/* Worker status strings. */
#define RES_WORKER_USED "used"             /* its result went into the decode */
#define RES_WORKER_CANCELLED "cancelled"   /* still computing when the decode started */
#define RES_WORKER_FAILED "failed"         /* crashed / returned nothing */
#define RES_WORKER_STRAGGLER "straggler"   /* finished, but after the decode started */
#define RES_WORKER_REFUSED "refused"       /* could not take the task (e.g. storage) */

/* The schema is made from the column tables of res_schema.c (res_schema.h), the
 * reference for column meanings and units: one entry per column, which the CREATE TABLE
 * text, the INSERT statements and the bindings of the row structs below are made from. */

typedef struct res_db res_db; /* opaque: one connection + its prepared statements */

/* One row of `runs`. Fields marked (req) must be set; the others may hold NULL markers. */
typedef struct res_run_row {
  const char *run_key;         /* unique key; NULL = derived by res_run_key_format() */
  const char *scenario_path;   /* scenario file as given on the command line */
  const char *scenario_hash;   /* (req) hash of the scenario file contents */
  int64_t point_index;         /* (req, >= 0) index of the sweep point */
  int64_t trial;               /* (req, >= 0) trial number within the point */
  uint64_t seed;               /* (req) the run's RNG seed */
  const char *backend;         /* (req) "sim" or "mpi" */
  const char *program_version; /* NULL = this build's FCDCC_VERSION */
  const char *started_at;      /* ISO-8601 UTC wall clock; NULL = now */
  double wall_s;               /* wall-clock duration, s */
  const char *params_json;     /* every parameter of the point, a JSON object text */
  const char *scheme;          /* (req) coding scheme name */
  const char *model;           /* (req) CNN model name */
  int64_t workers;             /* n, number of workers */
  int64_t ka, kb, delta;       /* code parameters (input / filter partitions, delta) */
  const char *precision;       /* e.g. "fp64", "fp32" */
  const char *status;          /* RES_STATUS_*; NULL = "error" until set */
  double status_time_s;        /* simulated time at which the status was known, s */
  double latency_s;            /* end-to-end simulated latency, s */
  double e2e_mse;              /* end-to-end output mean squared error vs. direct conv */
  double e2e_rel_error;        /* ||y - y_ref|| / ||y_ref|| end to end */
  double e2e_max_abs_error;    /* max |y - y_ref| end to end */
  /* storage (runner/run_storage.h): NaN / -1 = NULL */
  double storage_model_bytes;  /* [cluster] storage = whole-model: per-worker storage of the
                                  whole model (coded filters of every served layer + the
                                  largest coded input slab), bytes */
  double an_storage_model_bytes; /* the same from the analytic model, bytes */
  int64_t storage_overflow_layer; /* conv index of the first layer whose storage check
                                  failed for some worker; -1 (NULL) if none */
  double storage_overflow_bytes; /* by how much that layer's need exceeded the smallest
                                  worker storage, bytes */
  /* energy of the inference (runner/run_energy.h); NaN (NULL) if not modelled */
  double energy_j;             /* workers + master over the run, J */
  double energy_workers_j;     /* all workers over the run, J */
  double energy_master_j;      /* the master over the run, J */
} res_run_row;

/* One row of `data_runs`: top-1 under coding over a data set (runner/run_data.h). */
typedef struct res_data_row {
  const char *source;          /* (req) e.g. "fashion-mnist:test" */
  int64_t images;              /* (req, >= 1) images evaluated, one coded inference each */
  double top1_coded;           /* share of images whose coded argmax is the label; NAN: none */
  double top1_uncoded;         /* the same for the uncoded pipeline */
  double agreement;            /* share of images whose coded argmax = uncoded argmax */
  int64_t undecodable;         /* images with an undecodable layer (count as disagreeing) */
  double max_logit_error;      /* max |coded - uncoded| over the logits of decoded images */
} res_data_row;

/* Request status strings (requests.status). */
#define RES_REQUEST_DONE "done"               /* every layer decoded */
#define RES_REQUEST_UNDECODABLE "undecodable" /* a layer could not be decoded */
#define RES_REQUEST_DROPPED "dropped"         /* still in flight when a saturated run stopped */

/* One row of `requests` (version 4): one request of a run under load (runner/run_load.h). */
typedef struct res_request_row {
  int64_t request_id;          /* (req, >= 0) issue order, from 0 */
  double arrival_s;            /* simulated arrival time, s */
  double start_s;              /* when the master began its first layer, s; NaN: never */
  double finish_s;             /* when it ended (decoded, undecodable), s; NaN: dropped */
  const char *status;          /* (req) RES_REQUEST_* */
  double latency_s;            /* finish_s - arrival_s; NaN unless done */
  double e2e_rel_error;        /* compute = real: output error vs uncoded; NaN otherwise */
  double max_layer_rel_error;  /* compute = real: worst decoded layer's relative error */
  double energy_j;             /* the work its tasks caused, no idle share, J; NaN: energy
                                * not modelled (runner/run_load.c) */
} res_request_row;

/* One row of `load_runs` (version 4): the aggregates of a run under load. */
typedef struct res_load_row {
  const char *arrivals;        /* (req) [load] arrivals */
  const char *cancel;          /* (req) [load] cancel */
  const char *service;         /* (req) [load] service */
  double offered_per_s;        /* offered load, requests/s (NaN for closed loops) */
  int64_t requests, warmup;    /* (req) as configured */
  int64_t completed;           /* requests done (all, warm-up included) */
  int64_t undecodable, dropped;
  int64_t measured;            /* done requests in the statistics (id >= warmup) */
  double throughput_per_s;     /* measured / (last finish - first measured arrival) */
  double lat_mean_s, lat_mean_ci_s; /* mean latency of measured requests, 95 % CI half-width */
  double lat_p50_s, lat_p50_ci_s, lat_p95_s, lat_p95_ci_s, lat_p99_s, lat_p99_ci_s;
  int64_t ci_batches;          /* non-empty batches of the batch-means CIs */
  int saturated;               /* (req) 1 if the run stopped at a saturation bound */
  double saturated_at_s;       /* simulated time it stopped there, s; NaN if not */
  int64_t max_in_flight;       /* most requests in flight at once */
  double sim_time_s;           /* simulated time of the whole run, s */
  int64_t events;              /* engine events fired */
  const char *compute;         /* (req) [run] compute: real (numbers per request) or model */
  double max_e2e_rel_error;    /* compute = real: worst request output error; NaN otherwise */
  double max_layer_rel_error;  /* compute = real: worst decoded layer over the requests */
  int64_t singular;            /* compute = real: done requests with a singular decode */
  /* energy (NaN: not modelled): the run's total over 0 .. sim_time_s, its idle part, the
   * dynamic energy of tasks that ran on after their request ended (cancel = never), and
   * the mean energy_j of the measured requests with its 95 % CI half-width */
  double energy_j, energy_idle_j, energy_unattributed_j;
  double energy_req_mean_j, energy_req_mean_ci_j;
} res_load_row;

/* One row of `load_workers` (version 4): one worker over a run under load. */
typedef struct res_load_worker_row {
  int64_t worker;              /* (req, >= 0) */
  const char *worker_class;    /* column `class` */
  double utilisation;          /* busy time / sim_time_s */
  double queue_mean;           /* time-average tasks at the worker (queued + in service) */
  int64_t queue_max;           /* most tasks at once */
  int64_t tasks_done;          /* tasks that ran to completion */
  int64_t tasks_cancelled;     /* tasks dropped queued or running by a decode */
} res_load_worker_row;

/* One row of `skipped_points` (version 7): a sweep point that was not run, and why. */
typedef struct res_skipped_row {
  const char *scenario_hash;   /* (req) the scenario's identity (runs.scenario_hash) */
  const char *scenario_path;   /* the scenario file as given */
  int64_t point_index;         /* (req, >= 0) the point (runs.point_index of its runs) */
  const char *label;           /* the point's label of varying values ("" if none) */
  const char *kind;            /* (req) "infeasible" or "duplicate" */
  int64_t same_as;             /* duplicate: the point that ran in its place; else -1 */
  const char *reason;          /* (req) the check's message, or which keys the scheme ignores */
} res_skipped_row;

/* One row of `layers` (a conv layer of a run). */
typedef struct res_layer_row {
  int64_t layer_index;        /* (req, >= 0) position of the conv layer in the model */
  const char *layer_name;     /* e.g. "conv3_1" */
  int64_t ka, kb, delta;      /* code parameters used for this layer */
  const char *workers_used;   /* comma-separated worker ids whose results were decoded */
  double t_encode_s, t_upload_s, t_compute_s, t_download_s, t_decode_s; /* simulated, s */
  double t_total_s;           /* simulated layer latency, s */
  double cpu_encode_s, cpu_compute_s, cpu_decode_s; /* real CPU time spent, s */
  double mse, rel_error, max_abs_error; /* layer output error vs. direct convolution */
  double cond;                /* condition number of the decoding system */
  int cond_flagged;           /* 1 if cond exceeded the scenario's threshold, 0 if not, -1 NULL */
  int64_t worst_sets_tried;   /* stragglers = worst: worker sets the worst-set search examined;
                                 -1 (NULL) for random stragglers */
  int worst_exhaustive;       /* stragglers = worst: 1 if those were all C(n, delta) sets, 0 if
                                 sampled; -1 (NULL) for random stragglers */
  const char *status;         /* (req) RES_STATUS_* or RES_STATUS_SKIPPED */
  double an_upload_bytes, an_download_bytes, an_storage_bytes; /* analytic model, bytes */
  double an_compute_flops;    /* analytic model, flops */
  double an_latency_s;        /* analytic model, s */
  double storage_need_bytes;  /* per-worker storage this layer's check compared with each
                                 worker's: whole-model, the filters held so far plus the
                                 largest slab so far; NaN (NULL) for per-layer runs */
  double storage_overflow_bytes; /* need minus the smallest worker storage when > 0 (some
                                 worker refused for storage); NaN (NULL) otherwise */
  double energy_workers_j;    /* every worker over the layer's window, J; NaN = not modelled */
  double energy_master_j;     /* the master over the layer's window, J; NaN = not modelled */
  double an_energy_j;         /* analytic: workers + master, J (deterministic law only) */
  const char *conv_algo;      /* workers' convolution algorithm (cod_conv_algo_name); NULL:
                                 not computed (model-only runs, backends that do not say) */
} res_layer_row;

/* One row of `workers` (one worker's part in one layer). */
typedef struct res_worker_row {
  int64_t layer_index;        /* (req) the layer (a layers row of the same run, at commit) */
  int64_t worker;             /* (req, >= 0) worker id */
  const char *worker_class;   /* column `class`: the worker's latency class, e.g. "fast" */
  int64_t bytes_up;           /* bytes sent master -> worker: column bytes_to_worker */
  int64_t bytes_down;         /* bytes sent worker -> master: column bytes_to_master */
  int64_t bytes_stored;       /* bytes of coded data stored on the worker */
  double flops;               /* floating-point operations executed */
  const char *status;         /* (req) RES_WORKER_* */
  double t_finish_s;          /* simulated finish time, s; NaN = never finished */
  double t_busy_s;            /* simulated seconds spent computing (until done, failed or
                                 cancelled); NaN = its data never arrived */
  double energy_j;            /* the worker over the layer's window, J; NaN = not modelled */
  int64_t tasks;              /* coded tasks assigned to the worker (1 under allocation =
                                 equal); -1 = NULL (backends that do not say) */
  int64_t tasks_used;         /* of those, the task results the decoder used; -1 = NULL */
} res_worker_row;

/* One row of `events` (optional trace). */
typedef struct res_event_row {
  int64_t seq;                /* (req) sequence number, unique within the run */
  int64_t t_ns;               /* (req) simulated time, ns */
  const char *kind;           /* (req) event kind, e.g. "to_worker_done" */
  int64_t worker;             /* -1 = not about a worker */
  int64_t layer_index;        /* -1 = not about a layer */
} res_event_row;

/* Set every field of a row to its NULL marker (NaN, -1, NULL); required integer fields
 * become -1 too, so forgetting one is reported as COD_EINVAL by the insert. */
void res_run_row_init(res_run_row *row);
void res_layer_row_init(res_layer_row *row);
void res_worker_row_init(res_worker_row *row);
void res_event_row_init(res_event_row *row);
void res_request_row_init(res_request_row *row);
void res_load_row_init(res_load_row *row);
void res_load_worker_row_init(res_load_worker_row *row);

/* Write the canonical run key "<scenario_hash>/p<point_index>/t<trial>" into buf (cap
 * bytes, NUL-terminated). Returns COD_OK, or COD_EINVAL if it does not fit. */
int res_run_key_format(char *buf, size_t cap, const char *scenario_hash, int64_t point_index,
                       int64_t trial, cod_err *err);

/* COD_OK if path names a file SQLite would store: refuses (COD_EINVAL, with a message)
 * NULL or "" (SQLite's private temporary database), names starting ":memory:" (in memory)
 * and "file:" (URIs, e.g. file:x.db?mode=memory): each would "commit" and save nothing. */
int res_db_check_name(const char *path, cod_err *err);

/* Open (and create, unless flags say otherwise) the results file at path.
 *   flags: 0, RES_DB_READONLY or RES_DB_NOCREATE, optionally | RES_DB_DROP_EMPTY.
 * The name is checked with res_db_check_name; a path that exists and is not a regular
 * file (directory, FIFO, device) is COD_EIO, never opened. A read-write open of a file in
 * a directory that is not writable is COD_EIO saying so. A read-only open creates nothing
 * beside the file (no -wal/-shm; with no -wal present it is opened immutable) and works in
 * a read-only directory. If a read-write open that created the file fails, the file is
 * removed again (a full disk leaves no 0-byte database). Closing the last handle of a
 * file leaves no -wal/-shm (SQLite checkpoints and removes them).
 * A new file gets the schema, application_id and user_version in one transaction; every
 * read-write open sets journal_mode=WAL, foreign_keys=ON, synchronous=NORMAL and a busy
 * timeout of RES_DB_BUSY_TIMEOUT_MS. Returns COD_OK and *out = a new handle (free with
 * res_db_close), or: COD_EIO (cannot open/create), COD_EFORMAT (not SQLite, not an fcdcc
 * file, written by a newer fcdcc, damaged schema), COD_ENOMEM. *out untouched on failure. */
int res_db_open(const char *path, int flags, res_db **out, cod_err *err);

/* Close the handle; an open run is rolled back. Accepts NULL. */
void res_db_close(res_db *db);

/* Change the busy timeout (ms, >= 0) of this handle. */
void res_db_set_busy_timeout(res_db *db, int timeout_ms);

/* The path given to res_db_open (owned by db). */
const char *res_db_path(const res_db *db);

/* Start a run: BEGIN IMMEDIATE (waits up to the busy timeout for other writers), then
 * insert the runs row. *run_id receives its id. Fails with COD_EINVAL if a run is already
 * open on this handle, the handle is read-only, a required field is missing, or the row
 * violates a constraint (including a duplicate run_key); COD_EIO if the lock could not be
 * obtained. On failure nothing stays open and *run_id is untouched. */
int res_db_begin_run(res_db *db, const res_run_row *row, int64_t *run_id, cod_err *err);

/* Update the outcome columns of the open run (status, status_time_s, latency_s, e2e_mse,
 * e2e_rel_error, e2e_max_abs_error, wall_s) from row; other fields of row are ignored.
 * For runners that learn the outcome only after writing the layers. */
int res_db_set_run_outcome(res_db *db, int64_t run_id, const res_run_row *row, cod_err *err);

/* Insert one row into the open run run_id. COD_EINVAL if run_id is not the open run, a
 * required field is missing or a constraint fails (duplicate key, bad status). A failed
 * insert leaves the run open; the caller decides (usually res_db_rollback_run). Workers
 * rows may come before their layer row: that foreign key is checked at commit. */
int res_db_insert_layer(res_db *db, int64_t run_id, const res_layer_row *row, cod_err *err);
int res_db_insert_worker(res_db *db, int64_t run_id, const res_worker_row *row, cod_err *err);
/* Insert rows[0..n) into the open run run_id, in order, several rows a statement (the
 * cheaper path for a run's many workers rows). The same result as n res_db_insert_worker
 * calls: on a failure, the rows before the failing one are in, the failing one's message
 * is in err, and the run stays open. */
int res_db_insert_workers(res_db *db, int64_t run_id, const res_worker_row *rows, size_t n,
                          cod_err *err);
int res_db_insert_event(res_db *db, int64_t run_id, const res_event_row *row, cod_err *err);
/* The data_runs row of the open run (at most one per run); errors as above. */
int res_db_insert_data_run(res_db *db, int64_t run_id, const res_data_row *row, cod_err *err);
/* Rows of a run under load: its requests, its one load_runs row, its load_workers rows. */
int res_db_insert_request(res_db *db, int64_t run_id, const res_request_row *row, cod_err *err);
int res_db_insert_load_run(res_db *db, int64_t run_id, const res_load_row *row, cod_err *err);
int res_db_insert_load_worker(res_db *db, int64_t run_id, const res_load_worker_row *row,
                              cod_err *err);

/* COMMIT the open run run_id. On failure (e.g. a workers row without its layer row:
 * COD_EINVAL; I/O: COD_EIO) the run is rolled back, so nothing of it is visible. */
int res_db_commit_run(res_db *db, int64_t run_id, cod_err *err);

/* ROLLBACK the open run run_id (nothing of it stays). COD_EINVAL if it is not open. */
int res_db_rollback_run(res_db *db, int64_t run_id, cod_err *err);

/* Record a point the sweep did not run (one autocommitted INSERT; a point already recorded
 * for the same scenario_hash is left as it is, so a resumed sweep may record it again).
 * Not inside an open run: COD_EINVAL then. Errors as res_db_insert_layer. */
int res_db_insert_skipped(res_db *db, const res_skipped_row *row, cod_err *err);

/* Batches: several runs in ONE transaction, so that a sweep pays one commit (and one
 * write-ahead-log sync point) per batch instead of per run. res_db_begin_batch takes the
 * write lock (BEGIN IMMEDIATE); until res_db_commit_batch, each res_db_begin_run ...
 * res_db_commit_run is a savepoint inside it: a run that fails to insert or commit is
 * undone alone and the batch goes on, but nothing of the batch is visible (or survives a
 * crash) before the batch commits, and a run's deferred foreign keys are checked only
 * then: a failed batch commit is rolled back whole (the caller may retry its runs one
 * transaction each to find the culprit). A crash leaves whole batches, hence whole runs.
 * Errors: COD_EINVAL (read-only, a run or batch already open / none open), COD_EIO (lock,
 * I/O), COD_EINVAL for a constraint at commit; after a failed commit no batch is open. */
int res_db_begin_batch(res_db *db, cod_err *err);
int res_db_commit_batch(res_db *db, cod_err *err);
/* Undo the open batch and every run in it (an open run included). */
int res_db_rollback_batch(res_db *db, cod_err *err);

/* *exists = 1 if a committed run with this run_key is in the file, else 0. */
int res_db_run_exists(res_db *db, const char *run_key, int *exists, cod_err *err);

/* Number of committed runs in the file. */
int res_db_count_runs(res_db *db, int64_t *count, cod_err *err);

#endif
