/* cli_calibrate.c: `fcdcc calibrate DB [--out FRAGMENT.ini]`.
 *
 * Fits the simulator's worker speed and links to the layers that the MPI backend measured
 * (runs.backend = 'mpi', layers.status = 'ok'), so that the simulator predicts the real
 * cluster. Per layer the MPI backend stores the critical worker's compute time (its own
 * wall time, injected straggling included: calibrate from runs with latency.model =
 * deterministic) and its communication time, upload + download. Two fits:
 *   compute    t_compute = flops / compute_rate_flops: the median over layers of
 *              flops / t_compute (robust to the first run's page faults and warm-up);
 *   transfers  t_upload + t_download = 2 latency_s + 8 bytes / master_bps, least squares,
 *              where bytes = all the layer's traffic (every worker, up + down): the master
 *              moves every byte itself, so its NIC (shared, fair) is the bottleneck, and the
 *              workers' own links are left unlimited.
 * flops are those of a used worker. One rate serves both directions because the master can
 * only time a round trip (a send completes when MPI has buffered it, not when it has
 * arrived). The master's encode and decode are not fitted: the fragment sets [master]
 * timing = measured, so the simulator times the same real encode and decode on the
 * machine that runs it.
 * master_flops is left alone (the database holds no flop counts for the master's work).
 *
 * The work is split by the house rules: results/res_query.h reads the samples (the only
 * module that talks to SQLite; a non-fcdcc file or a newer schema is refused there as by
 * every reader), analytic/an_calib.h fits them (a pure function), and this file parses the
 * options, prints the fit and writes the fragment.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "an_calib.h"
#include "cli.h"
#include "cod_alloc.h"
#include "cod_file.h"
#include "res_query.h"

/* The samples of the backend='mpi' runs of db, fitted. COD_ENODATA if there is none. */
static int calib_fit(const char *db, an_calib *fit, cod_err *err) {
  res_calib_sample *rows = NULL;
  size_t n = 0;
  int status = res_query_calib_samples(db, "mpi", &rows, &n, err);
  if (status) return status;
  an_calib_sample *s = cod_malloc_array(n, sizeof *s);
  if (!s) {
    cod_free(rows);
    return cod_err_set(err, COD_ENOMEM, "%s: out of memory", db);
  }
  for (size_t i = 0; i < n; i++)
    s[i] = (an_calib_sample){.run_id = rows[i].run_id, .t_compute_s = rows[i].t_compute_s,
                             .t_comm_s = rows[i].t_comm_s, .flops = rows[i].flops,
                             .bytes = rows[i].bytes};
  cod_free(rows);
  status = an_calib_compute(s, n, AN_CALIB_DET_RTOL, fit, err);
  cod_free(s);
  return status;
}

static void write_bps(FILE *f, double bps) {
  if (isfinite(bps)) fprintf(f, "%.6g", bps);
  else fputs("unlimited", f);
}

static void write_fragment(FILE *f, const char *db, const an_calib *fit) {
  fprintf(f, "# fcdcc calibrate %s: fitted to %zu decoded layers of %zu backend='mpi' runs.\n",
          db, fit->n_layers, fit->n_runs);
  fprintf(f, "# rms relative residual: compute %.1f%%, transfers %.1f%%\n", 100 * fit->rate_rms,
          100 * fit->comm_rms);
  fprintf(f, "[cluster]\ncompute_rate_flops = %.6g\n", fit->rate_flops);
  fprintf(f, "[network]\nuplink_bps = unlimited\ndownlink_bps = unlimited\nmaster_bps = ");
  write_bps(f, fit->bps);
  fprintf(f, "\nmaster_sharing = fair\nlatency_s = %.6g\n", fit->latency_s);
  fprintf(f, "[master]\ntiming = measured\nspeed_factor = 1\n");
}

static const char USAGE[] =
    "Usage: fcdcc calibrate DB [--out FRAGMENT.ini]\n"
    "Fit the simulator's cluster.compute_rate_flops, network.master_bps and latency_s to\n"
    "the layers measured by the MPI backend (runs.backend = 'mpi') in DB and print them\n"
    "with the equivalent --set options.\n"
    "  --out F   also write them as a scenario fragment ([cluster], [network], [master])\n"
    "Calibrate from runs with [latency] model = deterministic: injected straggling counts\n"
    "as compute time. See docs/mpi.md.\n";

int cli_calibrate(int argc, char **argv) {
  static const struct option opts[] = {{"out", 1, 0, 'o'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
  const char *out = NULL;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
    switch (c) {
    case 'o': out = optarg; break;
    case 'h': fputs(USAGE, stdout); return 0;
    default: return cli_usage_error("calibrate", "unknown option");
    }
  }
  if (optind != argc - 1) return cli_usage_error("calibrate", "expected one database path");
  int status;
  const char *db = argv[optind];
  /* a probe that opens nothing (a FIFO would block); res_db_open checks the rest */
  if (access(db, F_OK) != 0)
    return cli_usage_error("calibrate", "%s: cannot open: %s", db, strerror(errno));
  if (out && (status = cli_check_out_path("calibrate", "--out", out))) return status;
  an_calib fit;
  cod_err err = {0};
  status = calib_fit(db, &fit, &err);
  if (status == COD_EIO || status == COD_EFORMAT) /* not a readable fcdcc results file */
    return cli_usage_error("calibrate", "%s", err.msg);
  if (status == COD_ENODATA)
    return cli_fail("calibrate", "%s holds no decoded layer of a backend='mpi' run "
                    "(run mpirun -np N+1 fcdcc run X.ini --backend mpi first)", db);
  if (status) return cli_fail("calibrate", "%s", err.msg);
  if (!isfinite(fit.rate_flops))
    return cli_fail("calibrate", "%s: the measured compute times do not grow with flops", db);
  write_fragment(stdout, db, &fit);
  printf("# as options: --set cluster.compute_rate_flops=%.6g --set network.uplink_bps=unlimited"
         " --set network.downlink_bps=unlimited --set network.master_bps=", fit.rate_flops);
  write_bps(stdout, fit.bps);
  printf(" --set network.master_sharing=fair --set network.latency_s=%.6g"
         " --set master.timing=measured --set master.speed_factor=1\n", fit.latency_s);
  if (out) { /* a temporary file renamed into place: a failure leaves out as it was */
    cod_file_out o;
    if (cod_file_out_open(&o, out, &err)) return cli_fail("calibrate", "%s", err.msg);
    write_fragment(o.f, db, &fit);
    if (cod_file_out_commit(&o, &err)) return cli_fail("calibrate", "%s", err.msg);
  }
  return 0;
}
