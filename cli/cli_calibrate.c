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

/* The fit and, with a holdout text, its scores on its own and on the held-out samples. */
typedef struct calib_result {
  an_calib fit;
  int have_holdout;
  an_calib_eval own, held; /* on the fitted samples; on the held-out ones */
  int held_all_trials;     /* 1: the held-out runs have no trial >= 1, all trials scored */
} calib_result;

/* The samples of the backend='mpi' runs of db not held out, fitted; with holdout, the
 * runs whose [run] name contains it are scored instead (trials >= 1 when there are any:
 * trial 0 runs with cold caches; the fit itself uses every trial, its median is robust to
 * them). COD_ENODATA if a set is empty. */
static int calib_fit(const char *db, const char *holdout, calib_result *res, cod_err *err) {
  res_calib_sample *rows = NULL;
  size_t n = 0;
  int status = res_query_calib_split(db, "mpi", holdout, &rows, &n, err);
  if (status) return status;
  an_calib_sample *fit_s = cod_malloc_array(n, sizeof *fit_s);
  an_calib_sample *held_s = cod_malloc_array(n, sizeof *held_s);
  an_calib_sample *own_s = cod_malloc_array(n, sizeof *own_s);
  if (!fit_s || !held_s || !own_s) {
    cod_free(rows);
    cod_free(fit_s);
    cod_free(held_s);
    cod_free(own_s);
    return cod_err_set(err, COD_ENOMEM, "%s: out of memory", db);
  }
  size_t nf = 0, nh = 0, no = 0, later = 0, own_later = 0;
  for (size_t i = 0; i < n; i++) later += rows[i].held_out && rows[i].trial >= 1;
  for (size_t i = 0; i < n; i++) own_later += !rows[i].held_out && rows[i].trial >= 1;
  for (size_t i = 0; i < n; i++) {
    an_calib_sample x = {.run_id = rows[i].run_id, .t_compute_s = rows[i].t_compute_s,
                         .t_comm_s = rows[i].t_comm_s, .flops = rows[i].flops,
                         .bytes = rows[i].bytes, .group = rows[i].repeat_group};
    if (!rows[i].held_out) fit_s[nf++] = x;
    if (!rows[i].held_out && (!own_later || rows[i].trial >= 1)) own_s[no++] = x;
    else if (rows[i].held_out && (!later || rows[i].trial >= 1)) held_s[nh++] = x;
  }
  cod_free(rows);
  memset(res, 0, sizeof *res);
  res->have_holdout = holdout != NULL;
  res->held_all_trials = later == 0;
  status = an_calib_compute(fit_s, nf, AN_CALIB_DET_RTOL, &res->fit, err);
  if (!status && holdout) status = an_calib_predict(&res->fit, own_s, no, &res->own, err);
  if (!status && holdout) {
    status = an_calib_predict(&res->fit, held_s, nh, &res->held, err);
    if (status == COD_ENODATA)
      status = cod_err_set(err, COD_ENODATA, "%s: no decoded layer of a backend='mpi' run "
                           "whose [run] name contains '%s' to hold out", db, holdout);
  }
  cod_free(fit_s);
  cod_free(held_s);
  cod_free(own_s);
  return status;
}

static void print_eval(const char *what, const an_calib_eval *e) {
  printf("# %s: %zu layers of %zu runs: rms error %.1f%% (mean %+.1f%%, max %.1f%%; compute "
         "%.1f%%, transfers %.1f%%)\n", what, e->n_layers, e->n_runs, 100 * e->rms,
         100 * e->mean, 100 * e->max_abs, 100 * e->compute_rms, 100 * e->comm_rms);
  if (e->n_groups)
    printf("#   repeats of the same real run (%zu layers seen >= 2 times): noise %.1f%% rms; "
           "error against the repeats' mean %.1f%% rms; noise explains %.0f%% of the mean "
           "squared error\n", e->n_groups, 100 * e->noise_rms, 100 * e->rms_of_means,
           100 * e->noise_share);
  else
    printf("#   no layer was measured twice: the noise is not separated (run trials >= 2)\n");
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
  fprintf(f, "[network]\nto_master_bps = unlimited\nto_worker_bps = unlimited\nmaster_bps = ");
  write_bps(f, fit->bps);
  fprintf(f, "\nmaster_sharing = fair\nlatency_s = %.6g\n", fit->latency_s);
  fprintf(f, "[master]\ntiming = measured\nspeed_factor = 1\n");
}

static const char USAGE[] =
    "Usage: fcdcc calibrate DB [--holdout TEXT] [--out FRAGMENT.ini]\n"
    "Fit the simulator's cluster.compute_rate_flops, network.master_bps and latency_s to\n"
    "the layers measured by the MPI backend (runs.backend = 'mpi') in DB and print them\n"
    "with the equivalent --set options.\n"
    "  --holdout TEXT  fit only the runs whose [run] name does not contain TEXT, and score\n"
    "            the fit on those that do (trials >= 1): the held-out error, its bias,\n"
    "            and the run-to-run noise of repeated layers beside it; the sim-vs-real\n"
    "            figure marks MPI runs whose name contains 'holdout'\n"
    "  --out F   also write them as a scenario fragment ([cluster], [network], [master])\n"
    "Calibrate from runs with [latency] model = deterministic: injected straggling counts\n"
    "as compute time. See docs/mpi.md.\n";

int cli_calibrate(int argc, char **argv) {
  static const struct option opts[] = {{"out", 1, 0, 'o'}, {"holdout", 1, 0, 'H'},
                                       {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
  const char *out = NULL, *holdout = NULL;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
    switch (c) {
    case 'o': out = optarg; break;
    case 'H':
      if (!*optarg) return cli_usage_error("calibrate", "--holdout: expected a non-empty text");
      holdout = optarg;
      break;
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
  calib_result res;
  cod_err err = {0};
  status = calib_fit(db, holdout, &res, &err);
  const an_calib fit = res.fit;
  if (status == COD_EIO || status == COD_EFORMAT) /* not a readable fcdcc results file */
    return cli_usage_error("calibrate", "%s", err.msg);
  if (status == COD_ENODATA && holdout && res.fit.n_layers)
    return cli_fail("calibrate", "%s", err.msg);
  if (status == COD_ENODATA)
    return cli_fail("calibrate", "%s holds no decoded layer of a backend='mpi' run%s "
                    "(run mpirun -np N+1 fcdcc run X.ini --backend mpi first)", db,
                    holdout ? " to fit (all are held out)" : "");
  if (status) return cli_fail("calibrate", "%s", err.msg);
  if (!isfinite(fit.rate_flops))
    return cli_fail("calibrate", "%s: the measured compute times do not grow with flops", db);
  write_fragment(stdout, db, &fit);
  printf("# as options: --set cluster.compute_rate_flops=%.6g --set network.to_master_bps=unlimited"
         " --set network.to_worker_bps=unlimited --set network.master_bps=", fit.rate_flops);
  write_bps(stdout, fit.bps);
  printf(" --set network.master_sharing=fair --set network.latency_s=%.6g"
         " --set master.timing=measured --set master.speed_factor=1\n", fit.latency_s);
  if (res.have_holdout) {
    print_eval("fitted runs (trials >= 1), scored on themselves", &res.own);
    print_eval(res.held_all_trials ? "held-out runs (all trials)" : "held-out runs (trials >= 1)",
               &res.held);
  }
  if (out) { /* a temporary file renamed into place: a failure leaves out as it was */
    cod_file_out o;
    if (cod_file_out_open(&o, out, &err)) return cli_fail("calibrate", "%s", err.msg);
    write_fragment(o.f, db, &fit);
    if (cod_file_out_commit(&o, &err)) return cli_fail("calibrate", "%s", err.msg);
  }
  return 0;
}
