/* mpi_backend.h: fcdcc's coded layers on real processes over MPI (prefix mpi_).
 *
 * `mpirun -np N+1 fcdcc run X.ini --backend mpi`: rank 0 is the master and runs the normal
 * sweep (code choice, filter encoding, the model's forward pass, error measurement, rows
 * with backend = 'mpi'); only the coded conv layers go through mpi_master's layer executor
 * (the run_backend seam of run_exec.h), which encodes the input, ships each worker its coded
 * slabs (and its coded filters once per layer and code: workers cache them) with
 * nonblocking sends, and decodes as soon as the results that arrived are decodable. Ranks
 * 1..N run mpi_worker_serve(): rebuild the code from a small header, compute for real, sleep
 * the injected straggling delay, answer. Straggling and fail-stop are drawn on the master
 * from the scenario's latency models with the simulator's streams keyed by (seed, trial,
 * worker), one draw per worker and layer: delay = max(0, sampled - nominal) seconds, where
 * nominal = the worker's flops / its compute_rate_flops; a failed worker never answers and
 * a bounded wait (mpi_opts.wait_s) turns a layer that cannot be decoded into an
 * `undecodable` outcome. Phase times in the rows are WALL-CLOCK seconds measured on the
 * master (see docs/mpi.md for exactly what each one covers); the run's engine clock is
 * advanced by the layer's wall time so that the rows mean what the simulator's mean.
 *
 * mpi_share_sweep() is the other use of MPI: every rank runs its share of the sweep points
 * on the simulator into one database.
 *
 * Costs: one header and two or three messages per worker and layer; the master polls with
 * short sleeps (mpi_opts.poll_s) rather than spinning, so that oversubscribed ranks on one
 * host leave the CPU to the ones computing.
 */
#ifndef FCDCC_MPI_BACKEND_H
#define FCDCC_MPI_BACKEND_H

#include <stddef.h>

#include "cod_status.h"
#include "run_scenario.h"
#include "run_sweep.h"

#define MPI_BACKEND_WAIT_S 30.0     /* default bounded wait per layer, s */
#define MPI_BACKEND_POLL_S 50e-6    /* default sleep between polls, s */

/* Options of the MPI backend. */
typedef struct mpi_opts {
  double wait_s;   /* give up on a layer this many seconds after its data went out; > 0 */
  double poll_s;   /* sleep between two polls of pending messages, s; >= 0 */
  int cache_filters; /* 1: a worker keeps coded filters and gets them once per layer and
                        code; 0: they travel with every layer, as the simulator assumes */
} mpi_opts;

/* Defaults: wait MPI_BACKEND_WAIT_S, poll MPI_BACKEND_POLL_S, cache_filters 1. */
mpi_opts mpi_opts_default(void);

/* Start MPI (MPI_Init_thread, MPI_THREAD_SERIALIZED: one thread at a time talks MPI; on
 * rank 0 that is run_sweep's task thread while a sweep runs) and report this
 * process's rank and the world size. COD_EINVAL with a message if MPI cannot start. Call
 * once per process, before anything else of this module. */
int mpi_world_start(int *argc, char ***argv, int *rank, int *size, cod_err *err);

/* Stop MPI (MPI_Finalize). Call once, after the last call of this module. */
void mpi_world_stop(void);

/* Abort every rank (MPI_Abort) with `code`: for a master that cannot tell its workers to
 * stop. Does not return. Only main()-level code may call it. */
void mpi_world_abort(int code);

/* Rank 0 of a world of N+1 ranks: run every point x trial of sc (sequentially: jobs is
 * ignored) with coded layers on ranks 1..N, into o->db_path, through run_sweep (resume,
 * progress, stats, one transaction per run, rows in (point, trial) order). Every point must
 * have cluster.workers = N and run.compute = real (COD_EINVAL otherwise, before anything
 * runs). Does NOT stop the workers: call mpi_master_shutdown() afterwards, also on error.
 * Errors as run_sweep, plus COD_EIO for an MPI failure or a worker that reports one or
 * stops taking data: then sends may still be pending on buffers this module keeps, and
 * the caller must end the job with mpi_world_abort(), not mpi_master_shutdown(). */
int mpi_master_sweep(const run_scenario *sc, const run_sweep_opts *o, const mpi_opts *mo,
                     run_sweep_stats *st, cod_err *err);

/* Rank 0: tell every worker to exit and wait (bounded by mo->wait_s) until each has
 * answered, draining results still in flight. COD_OK, or COD_EIO if a worker did not
 * answer in time (then the caller should mpi_world_abort). */
int mpi_master_shutdown(const mpi_opts *mo, cod_err *err);

/* Ranks 1..N: serve layers until the master says exit. COD_OK on exit; COD_ENOMEM,
 * COD_EIO (MPI failure, protocol violation) otherwise. A layer whose code cannot be
 * rebuilt is answered with an error status (the master reports it) and serving goes on. */
int mpi_worker_serve(const mpi_opts *mo, cod_err *err);

/* Every rank: run_sweep of sc on the SIMULATOR over this rank's share of the tasks
 * (share_index = rank, share_count = size) into the one database o->db_path (WAL + busy
 * timeout make concurrent writers safe). Stats are summed over the ranks into *st on rank
 * 0 (each rank's own on the others). The first failing rank's status is returned on every
 * rank, its message on that rank only. */
int mpi_share_sweep(const run_scenario *sc, const run_sweep_opts *o, run_sweep_stats *st,
                    cod_err *err);

#endif
