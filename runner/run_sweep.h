/* run_sweep.h: run every point x trial of a scenario into a results database.
 *
 * Runs execute on `jobs` threads (read-only assets shared, mutable caches per thread,
 * BLAS pinned to one thread by the caller), claimed longest-expected-first (run_cost.h);
 * their rows are committed by one writer thread (run_writer.h) in (point, trial) order,
 * several runs per transaction, so the database holds identical rows (wall-clock columns
 * aside) whatever `jobs` is, and a crash leaves only whole runs. With `resume`, runs whose
 * key is already in the database are skipped; without it they are an error.
 * A database that does not exist is created when the first run is committed, so a sweep
 * that fails before (bad model, input or weights file) writes no file. Before any run
 * starts, every point is checked: its values, points x trials within RUN_SWEEP_MAX_RUNS,
 * its model (parsed once per distinct name) and selected conv layers, and its dry run
 * (run_plan.h: every code planned, trace coverage, deterministic times within the
 * simulation horizon); a failure is COD_EINVAL (or the model/trace file's status) with a
 * message "FILE:LINE: [section] key: point P (label): ..." (run_plan_sweep: every
 * infeasible point is found, the message counts them). Under [sweep] skip = infeasible the
 * feasible points run and the infeasible ones are recorded in skipped_points; a point
 * that repeats an earlier one up to keys its scheme ignores never runs and is recorded
 * there too (with the first committed run, so a sweep that writes nothing records nothing).
 */
#ifndef FCDCC_RUN_SWEEP_H
#define FCDCC_RUN_SWEEP_H

#include <signal.h>
#include <stddef.h>

#include "cod_status.h"
#include "run_scenario.h"

/* Most runs (points x trials) of one sweep, refused before anything is allocated: the
 * run list costs 40 bytes a run, and a million runs is days of simulation already. */
#define RUN_SWEEP_MAX_RUNS 1000000

typedef struct run_sweep_opts {
  const char *db_path;
  size_t jobs;             /* >= 1 */
  int resume;              /* skip runs already in the database */
  /* called by the writer thread after each committed run (may be NULL) */
  void (*progress)(void *ctx, size_t done, size_t total);
  void *progress_ctx;
  /* Where coded layers run: NULL = the simulator. A backend that is not thread-safe
   * (MPI) needs jobs = 1. */
  const struct run_backend *backend;
  /* Share of the sweep this process runs: tasks whose index in sweep order (point-major,
   * then trial) satisfies index % share_count == share_index. share_count 0 or 1 = all.
   * Used to spread one sweep over MPI ranks writing into one database. */
  size_t share_index, share_count;
  /* Set asynchronously (a signal handler) to stop the sweep: no run starts once it is
   * nonzero, the runs already running finish and are committed, and run_sweep returns
   * COD_OK with stats->stopped = 1; `resume` then continues it. May be NULL. */
  const volatile sig_atomic_t *stop;
  /* The writer thread's batches (runner/run_writer.h): 0 = its defaults
   * (RUN_WRITER_BATCH_RUNS runs, RUN_WRITER_BATCH_S seconds). */
  size_t batch_max_runs;
  double batch_max_s;
  /* test hook (may be NULL): the writer calls it after each run's rows are in the open
   * batch, before the batch commits (k = runs in the batch so far) */
  void (*after_insert)(void *ctx, size_t k);
  void *hook_ctx;
  /* test hook (may be NULL): called with hook_ctx under the sweep's lock when a worker
   * claims a run, so the calls are in claim order (file: its index in run_sweep_chain's
   * list, 0 for run_sweep) */
  void (*on_claim)(void *ctx, size_t file, size_t point, size_t trial);
} run_sweep_opts;

typedef struct run_sweep_stats {
  size_t total, skipped, committed, ok, not_ok;
  /* layers committed by this call whose decode condition number exceeded
   * run.cond_bound (layers.cond_flagged = 1); the caller decides whether to warn */
  size_t cond_flagged;
  /* runs committed by this call with status error and a reason (a worker result or a
   * decoded output that is not finite, time beyond the horizon); the first one's
   * "point P trial T: reason", for the caller to warn about */
  size_t failed_runs;
  char first_failure[COD_ERR_MSG_LEN];
  int stopped; /* 1: opts->stop ended the sweep before every run was done */
  /* points not run (run_plan.h): infeasible ones under [sweep] skip = infeasible, and
   * duplicates of an earlier point; both are rows of skipped_points */
  size_t infeasible, duplicates;
  /* thread-CPU seconds of the writer thread (binding, inserting, committing, freeing the
   * runs it was handed): what a sweep's SQLite side costs, for `fcdcc bench sweep` */
  double writer_cpu_s;
} run_sweep_stats;

/* Run the sweep of sc into opts->db_path. Returns COD_OK, or the status and message of the
 * first failure: COD_EINVAL (invalid scenario, run already stored without resume),
 * COD_ENOMEM, COD_EIO, COD_EFORMAT (db not an fcdcc file, bad model/weights file),
 * COD_ENUMERIC (non-finite weights). Every run that finished before the failure is
 * committed whole; nothing of a failed run is stored. *stats (may be NULL) is filled on
 * success and on failure. */
int run_sweep(const run_scenario *sc, const run_sweep_opts *opts, run_sweep_stats *stats,
              cod_err *err);

/* run_sweep for n scenario files into one database, as one pipeline: every file is
 * planned and its task list built (the resume check included) before any run starts, then
 * the runs of all files share the `jobs` threads, claimed longest-expected-first
 * (run_cost.h) within a window that crosses file boundaries, so the next file's runs start
 * while the previous file's last runs finish. Each file is committed by a writer of its
 * own, in its (point, trial) order, started once the previous file's writer has closed:
 * the database holds exactly the rows that n run_sweep calls in a row would write, and
 * a file whose scenario hash repeats an earlier one's finds that file's runs stored.
 * All of o applies to every file except progress_ctx: the progress callback gets
 * progress_ctx[f] (progress_ctx may be NULL: then NULL) with file f's counts. stats
 * (n entries, may be NULL) is filled per file on success and on failure. Returns COD_OK or
 * the first failure's status and message, *at (may be NULL) set to its file; the files
 * before it are complete, nothing after it is written. On a stop request the file being
 * written has stats[f].stopped = 1 and the later files are not written. */
int run_sweep_chain(const run_scenario *const *sc, void *const *progress_ctx, size_t n,
                    const run_sweep_opts *o, run_sweep_stats *stats, size_t *at,
                    cod_err *err);

#endif
