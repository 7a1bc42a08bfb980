/* cli_mpi.c: `fcdcc run --backend mpi`. Placeholder until the MPI backend lands. */
#include "cli.h"

int cli_run_backend(const char *backend, run_scenario *sc, run_sweep_opts *o,
                    run_sweep_stats *st, int *report, cod_err *err) {
  (void)sc, (void)o, (void)st, (void)report;
  return cod_err_set(err, COD_EINVAL, "unknown backend '%s' (expected sim)", backend);
}
