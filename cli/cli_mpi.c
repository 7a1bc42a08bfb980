/* cli_mpi.c: `fcdcc run --backend mpi|mpi-sweep` (cli_run_backend, declared in cli.h).
 *
 *   mpi        rank 0 runs the sweep as master, ranks 1..N are the workers of every coded
 *              layer (mpirun -np N+1, N = cluster.workers);
 *   mpi-sweep  every rank runs its share of the sweep points on the simulator, all into one
 *              database (mpirun -np R, any R).
 * Options after a colon, comma-separated: `wait=SECONDS` (the bounded wait per layer,
 * default 30 s; also the environment variable FCDCC_MPI_WAIT_S, which the option
 * overrides) and `cache=on|off` (workers keep coded filters; off = resend them with every
 * layer, as the simulator assumes), e.g. `--backend mpi:wait=5,cache=off`. Built without MPI, both are a clear usage error.
 * Only rank 0 reports; a master that cannot stop its workers aborts the whole job rather
 * than leave them hanging.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fcdcc_config.h"

#if FCDCC_HAVE_MPI
#include "mpi_backend.h"
#endif

/* Options of the backend: "mpi[:wait=S][,cache=on|off]" (and FCDCC_MPI_WAIT_S). */
typedef struct be_opts {
  int sweep;
  double wait_s;
  int cache;
} be_opts;

static int parse_wait(const char *txt, const char *what, double *out, cod_err *err) {
  char *end = NULL;
  double v = strtod(txt, &end);
  if (end == txt || *end || !(v > 0) || v > 1e6)
    return cod_err_set(err, COD_EINVAL, "bad wait '%s' (%s): expected seconds > 0", txt, what);
  *out = v;
  return COD_OK;
}

static int parse_backend(const char *backend, be_opts *b, cod_err *err) {
  const char *colon = strchr(backend, ':');
  size_t len = colon ? (size_t)(colon - backend) : strlen(backend);
  if (len == 3 && strncmp(backend, "mpi", 3) == 0) b->sweep = 0;
  else if (len == 9 && strncmp(backend, "mpi-sweep", 9) == 0) b->sweep = 1;
  else return cod_err_set(err, COD_EINVAL, "unknown backend '%s' (expected sim, mpi or mpi-sweep)", backend);
  const char *env = getenv("FCDCC_MPI_WAIT_S");
  int rc = env ? parse_wait(env, "FCDCC_MPI_WAIT_S", &b->wait_s, err) : COD_OK;
  for (const char *p = colon ? colon + 1 : NULL; !rc && p && *p;) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    char opt[64];
    if (n >= sizeof opt) return cod_err_set(err, COD_EINVAL, "backend option too long: '%s'", p);
    memcpy(opt, p, n);
    opt[n] = 0;
    if (strncmp(opt, "wait=", 5) == 0) rc = parse_wait(opt + 5, "--backend mpi:wait=", &b->wait_s, err);
    else if (strcmp(opt, "cache=on") == 0) b->cache = 1;
    else if (strcmp(opt, "cache=off") == 0) b->cache = 0;
    else rc = cod_err_set(err, COD_EINVAL, "backend option '%s': expected wait=SECONDS, "
                          "cache=on or cache=off", opt);
    p = comma ? comma + 1 : NULL;
  }
  return rc;
}

int cli_run_backend(const char *backend, run_scenario *sc, run_sweep_opts *o,
                    run_sweep_stats *st, int *report, cod_err *err) {
  be_opts b = {0, 30.0, 1};
  int rc = parse_backend(backend, &b, err);
  if (rc) return rc;
#if !FCDCC_HAVE_MPI
  (void)sc, (void)o, (void)st, (void)report;
  return cod_err_set(err, COD_EINVAL, "--backend %s: fcdcc was built without MPI (install "
                     "libopenmpi-dev, then reconfigure: meson setup --reconfigure BUILD -Dmpi=enabled)",
                     backend);
#else
  mpi_opts mo = mpi_opts_default();
  mo.wait_s = b.wait_s, mo.cache_filters = b.cache;
  int rank = 0, size = 1;
  if ((rc = mpi_world_start(NULL, NULL, &rank, &size, err))) return rc;
  *report = rank == 0;
  if (rank != 0) o->progress = NULL;
  if (b.sweep) {
    if (rank == 0)
      fprintf(stderr, "fcdcc run: %s: %zu point(s) over %d rank(s) -> %s\n",
              run_scenario_source(sc), run_scenario_points(sc), size, o->db_path);
    rc = mpi_share_sweep(sc, o, st, err);
    mpi_world_stop();
    return rc;
  }
  if (rank == 0) {
    if (o->jobs > 1) fprintf(stderr, "fcdcc run: --jobs is ignored by the mpi backend\n");
    fprintf(stderr, "fcdcc run: %s: %zu point(s), master + %d worker rank(s) -> %s\n",
            run_scenario_source(sc), run_scenario_points(sc), size - 1, o->db_path);
    rc = mpi_master_sweep(sc, o, &mo, st, err);
    if (rc == COD_EIO) { /* an MPI failure or a worker that stopped taking data */
      fprintf(stderr, "fcdcc run: %s (%zu finished runs are saved in %s); aborting the MPI "
              "job\n", err->msg, st->committed, o->db_path);
      mpi_world_abort(CLI_EXIT_FAIL);
    }
    cod_err e2 = {0};
    if (size > 1 && mpi_master_shutdown(&mo, &e2)) {
      fprintf(stderr, "fcdcc run: %s; aborting the MPI job\n", e2.msg);
      mpi_world_abort(CLI_EXIT_FAIL);
    }
  } else {
    rc = mpi_worker_serve(&mo, err);
  }
  mpi_world_stop();
  return rc;
#endif
}
