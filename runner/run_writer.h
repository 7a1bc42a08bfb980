/* run_writer.h: the one thread that commits a sweep's finished runs, in batches.
 *
 * The sweep hands each finished run over in (point, trial) order (run_writer_put); the
 * writer thread commits them in that order, several runs per transaction
 * (res_db_begin_batch): a batch closes when it holds batch_max_runs runs, when
 * batch_max_s seconds have passed since its first run arrived, or when the sweep ends;
 * the very first batch takes only the runs already waiting, so the database appears with
 * the sweep's first run (as it did with one transaction per run).
 * While the writer is busy with one batch the next one fills, so SQLite no longer runs on
 * the critical path of the sweep threads, and one commit serves many runs. A crash (even
 * SIGKILL) leaves whole batches, hence only whole runs, and --resume reruns exactly the
 * runs that are missing (docs/decisions/020-batched-writer-thread.md).
 *
 * Failures stop the writer where today's per-run commits would have stopped: if run i of
 * a batch fails to insert, the runs before it in the batch are committed and nothing
 * after; if the batch COMMIT itself fails (a deferred foreign key, I/O), the batch is
 * rolled back and its runs are retried one transaction each, so every run before the
 * culprit is still kept. run_writer_put then refuses further runs with that status.
 */
#ifndef FCDCC_RUN_WRITER_H
#define FCDCC_RUN_WRITER_H

#include <stddef.h>

#include "res_db.h"
#include "run_exec.h"
#include "run_sweep.h"

#define RUN_WRITER_BATCH_RUNS 256 /* default batch_max_runs */
#define RUN_WRITER_BATCH_S 0.25   /* default batch_max_s: what a crash can cost, at most */

typedef struct run_writer_opts {
  const char *db_path;
  /* an open read-write handle to write through (taken over: run_writer_finish closes it),
   * or NULL: db_path is created (RES_DB_DROP_EMPTY) when the first batch is written, so a
   * sweep that commits nothing leaves no file */
  res_db *db;
  size_t batch_max_runs;  /* 0 = RUN_WRITER_BATCH_RUNS */
  double batch_max_s;     /* 0 = RUN_WRITER_BATCH_S; wall seconds, > 0 */
  /* called by the writer thread after each committed run (may be NULL): done counts from
   * done0 */
  void (*progress)(void *ctx, size_t done, size_t total);
  void *progress_ctx;
  size_t done0, total;
  /* test hook (may be NULL): called by the writer thread after a run's rows are in the
   * open batch, before the batch commits; k = runs of the batch so far (1, 2, ...) */
  void (*after_insert)(void *ctx, size_t k);
  void *hook_ctx;
  /* may be NULL: called once by the writer thread with the database, before its first
   * batch (the sweep records its skipped points there); a failure stops the writer as a
   * failed batch does */
  int (*first_write)(void *ctx, res_db *db, cod_err *err);
  void *first_ctx;
} run_writer_opts;

typedef struct run_writer run_writer;

/* Start the writer thread. COD_OK and *out, or COD_EINVAL (bad options) / COD_ENOMEM
 * (thread or memory) with a message; on failure o->db is NOT taken over. */
int run_writer_start(const run_writer_opts *o, run_writer **out, cod_err *err);

/* Hand over the next run in sweep order (res is owned by the writer from here on, freed
 * with run_result_fini + cod_free; point and trial name it in messages). Blocks while
 * 2 x batch_max_runs runs are waiting. Returns COD_OK, or the status of the writer's
 * first failure (res is freed all the same; the caller stops handing over runs). */
int run_writer_put(run_writer *w, run_result *res, size_t point, size_t trial);

/* Commit every run handed over (up to the first failure), stop the thread, close the
 * database and free w. Adds the committed runs to st (committed, ok, not_ok,
 * cond_flagged, failed_runs, first_failure; may be NULL). Returns COD_OK or the first
 * failure's status with its message in err. */
int run_writer_finish(run_writer *w, run_sweep_stats *st, cod_err *err);

#endif
