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
 * arrived). The master's encode
 * and decode are not fitted: the fragment sets [master] timing = measured, so the
 * simulator times the same real encode and decode on the machine that runs it.
 * master_flops is left alone (the database holds no flop counts for the master's work).
 *
 * The results database is read with one prepared statement here; see the note in
 * docs/mpi.md (a results/ query function would be the house-style home for it).
 */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "cli.h"
#include "cod_alloc.h"

static const char CAL_SQL[] =
    "SELECT l.t_compute_s, l.t_upload_s + l.t_download_s,\n"
    "  (SELECT MAX(w.flops) FROM workers w WHERE w.run_id = l.run_id\n"
    "     AND w.layer_index = l.layer_index AND w.status = 'used'),\n"
    "  (SELECT SUM(w.bytes_up + w.bytes_down) FROM workers w WHERE w.run_id = l.run_id\n"
    "     AND w.layer_index = l.layer_index),\n"
    "  r.run_id\n"
    "FROM layers l JOIN runs r ON r.run_id = l.run_id\n"
    "WHERE r.backend = 'mpi' AND l.status = 'ok'\n"
    "ORDER BY r.run_id, l.layer_index;";

typedef struct cal_fit {
  size_t n_layers, n_runs;
  double rate_flops, rate_rms;          /* fitted rate; rms relative residual */
  double latency_s, bps, comm_rms;      /* bps INFINITY = unlimited */
} cal_fit;

typedef struct cal_sums {
  size_t n;
  double *rates;                        /* compute: f / t of every layer */
  double b, b2, c, bc;                  /* transfers: sums of B, B^2, C, B C */
} cal_sums;

static void sums_add(cal_sums *s, double t, double f, double c, double bytes) {
  s->n++;
  s->rates[s->n - 1] = f / t;
  s->b += bytes, s->b2 += bytes * bytes, s->c += c, s->bc += bytes * c;
}

/* Solve the two fits from the sums. */
static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void fit_solve(cal_sums *s, cal_fit *fit) {
  qsort(s->rates, s->n, sizeof *s->rates, cmp_double);
  fit->rate_flops = s->n % 2 ? s->rates[s->n / 2]
                             : 0.5 * (s->rates[s->n / 2 - 1] + s->rates[s->n / 2]);
  double n = (double)s->n, det = n * s->b2 - s->b * s->b, a, b;
  if (det > 1e-12 * n * s->b2) {
    b = (n * s->bc - s->b * s->c) / det;
    a = (s->c - b * s->b) / n;
  } else { /* every layer moved the same bytes: only the intercept is identifiable */
    b = 0, a = s->c / n;
  }
  if (a < 0) a = 0, b = s->b2 > 0 ? s->bc / s->b2 : 0; /* through the origin */
  if (b <= 0) b = 0, a = s->c / n;
  fit->latency_s = a / 2;
  fit->bps = b > 0 ? 8.0 / b : INFINITY;
}

/* msg: 512 bytes. */
static int read_samples(const char *path, cal_fit *fit, char *msg, size_t cap) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db, CAL_SQL, -1, &st, NULL);
  if (rc != SQLITE_OK) {
    snprintf(msg, cap, "%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
    sqlite3_close(db);
    return -1;
  }
  /* two passes over the rows: sums, then residuals */
  cal_sums s;
  memset(&s, 0, sizeof s);
  size_t rcap = 0;
  long last_run = -1;
  for (int pass = 0; pass < 2; pass++) {
    double r_rate = 0, r_comm = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      if (sqlite3_column_type(st, 0) == SQLITE_NULL || sqlite3_column_type(st, 2) == SQLITE_NULL ||
          sqlite3_column_type(st, 3) == SQLITE_NULL)
        continue;
      double t = sqlite3_column_double(st, 0), c = sqlite3_column_double(st, 1);
      double f = sqlite3_column_double(st, 2), bytes = sqlite3_column_double(st, 3);
      if (!(t > 0) || !(f > 0)) continue;
      if (pass == 0) {
        if (s.n == rcap) {
          rcap = rcap ? 2 * rcap : 256;
          double *r = cod_realloc(s.rates, rcap * sizeof *r);
          if (!r) {
            break; /* reported below as out of memory */
          }
          s.rates = r;
        }
        sums_add(&s, t, f, c, bytes);
        long run = (long)sqlite3_column_int64(st, 4);
        if (run != last_run) fit->n_runs++, last_run = run;
      } else {
        double pt = f / fit->rate_flops;
        double pc = 2 * fit->latency_s + (isfinite(fit->bps) ? 8 * bytes / fit->bps : 0);
        r_rate += (pt - t) * (pt - t) / (t * t);
        r_comm += c > 0 ? (pc - c) * (pc - c) / (c * c) : 0;
      }
    }
    if (rc != SQLITE_DONE) {
      snprintf(msg, 512, "%s: %s", path, rc == SQLITE_ROW ? "out of memory" : sqlite3_errmsg(db));
      cod_free(s.rates);
      sqlite3_finalize(st);
      sqlite3_close(db);
      return -1;
    }
    if (pass == 0) {
      if (s.n == 0) break;
      fit->n_layers = s.n;
      fit_solve(&s, fit);
      sqlite3_reset(st);
    } else {
      fit->rate_rms = sqrt(r_rate / (double)s.n);
      fit->comm_rms = sqrt(r_comm / (double)s.n);
    }
  }
  cod_free(s.rates);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return 0;
}

static void write_bps(FILE *f, double bps) {
  if (isfinite(bps)) fprintf(f, "%.6g", bps);
  else fputs("unlimited", f);
}

static void write_fragment(FILE *f, const char *db, const cal_fit *fit) {
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
  const char *db = argv[optind];
  cal_fit fit;
  memset(&fit, 0, sizeof fit);
  char msg[512];
  FILE *probe = fopen(db, "rb");
  if (!probe) return cli_fail("calibrate", "%s: cannot open", db);
  fclose(probe);
  if (read_samples(db, &fit, msg, sizeof msg)) return cli_fail("calibrate", "%s", msg);
  if (fit.n_layers == 0)
    return cli_fail("calibrate", "%s holds no decoded layer of a backend='mpi' run "
                    "(run mpirun -np N+1 fcdcc run X.ini --backend mpi first)", db);
  if (!isfinite(fit.rate_flops))
    return cli_fail("calibrate", "%s: the measured compute times do not grow with flops", db);
  write_fragment(stdout, db, &fit);
  printf("# as options: --set cluster.compute_rate_flops=%.6g --set network.uplink_bps=unlimited"
         " --set network.downlink_bps=unlimited --set network.master_bps=", fit.rate_flops);
  write_bps(stdout, fit.bps);
  printf(" --set network.master_sharing=fair --set network.latency_s=%.6g"
         " --set master.timing=measured --set master.speed_factor=1\n", fit.latency_s);
  if (out) {
    FILE *f = fopen(out, "w");
    if (!f) return cli_fail("calibrate", "%s: cannot write", out);
    write_fragment(f, db, &fit);
    if (fclose(f) != 0) return cli_fail("calibrate", "%s: write error", out);
  }
  return 0;
}
