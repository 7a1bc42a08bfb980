/* rel_crash.c: crash safety of `fcdcc run` sweeps (issue 5, part 4). Not a Criterion
 * test: it drives the real program, so it is a plain driver registered with meson.
 *
 *   rel_crash FCDCC [KILLS] [SEED]
 *
 * 1. An uninterrupted reference sweep (model-only lenet5, 600 short runs, --jobs 2) into
 *    ref.db; its wall time T bounds the kill moments.
 * 2. KILLS times (default 6): a fresh sweep into crash.db is SIGKILLed after a delay drawn
 *    uniformly from [0, 1.1 T) by a seeded gsl_rng (SEED, default 5). Then:
 *    - the file passes integrity_check and holds only whole runs (rel_db_check);
 *    - every run present equals the reference run of the same key, column by column
 *      (wall-clock and CPU-time columns and run_id excepted), while the reverse
 *      comparison does see the missing runs (so the comparison can fail);
 *    - `fcdcc run --resume` reports exactly total - present runs committed and present
 *      already present, and exits 0;
 *    - afterwards the file holds exactly the reference rows (both EXCEPT directions empty).
 * Exit 0 when all hold, 1 with a message on the first violation, 77 (skip) if the program
 * cannot be run. Prints one line per kill with the numbers.
 */
#include <errno.h>
#include <fcntl.h>
#include <gsl/gsl_rng.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rel_util.h"

#define TOTAL_RUNS 600L
#define LENET_CONVS 3

static const char scenario[] =
    "; crash-safety sweep: 30 points x 20 trials, model-only\n"
    "[run]\ntrials = 20\ncompute = model\n"
    "[model]\nname = lenet5\n"
    "[coding]\nscheme = nsctc-rot, poly-real, uncoded\nka = 2\nkb = 2\n"
    "[cluster]\nworkers = 4..13\n";

static char g_dir[256], g_ini[512], g_out[512];
static const char *g_fcdcc;

static int fail(const char *fmt, const char *a, const char *b) {
  fprintf(stderr, "rel_crash: FAIL: ");
  fprintf(stderr, fmt, a, b);
  fputc('\n', stderr);
  return 1;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Start `fcdcc run INI --db DB --jobs 2 -q [--resume]`, stdout and stderr to g_out. */
static pid_t start(const char *db, int resume) {
  char *argv[] = {(char *)g_fcdcc, "run", g_ini, "--db", (char *)db, "--jobs", "2", "-q",
                  resume ? "--resume" : NULL, NULL};
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(g_out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) dup2(fd, 1), dup2(fd, 2), close(fd);
    execv(g_fcdcc, argv);
    _exit(127);
  }
  return pid;
}

static int finish(pid_t pid) {
  int ws = 0;
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {}
  return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + (WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
}

static char *slurp(const char *path) {
  static char buf[8192];
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = 0;
  return buf;
}

/* The compared columns: everything except run_id, started_at, wall_s and cpu_*_s. */
#define RUN_COLS                                                                          \
  "run_key, scenario_path, scenario_hash, point_index, trial, seed, backend,"             \
  " program_version, params_json, scheme, model, workers, ka, kb, delta, precision,"      \
  " status, status_time_s, latency_s, e2e_mse, e2e_rel_error, e2e_max_abs_error"
#define LAYER_COLS                                                                        \
  "r.run_key, l.layer_index, l.layer_name, l.ka, l.kb, l.delta, l.workers_used,"          \
  " l.t_encode_s, l.t_to_worker_s, l.t_compute_s, l.t_to_master_s, l.t_decode_s,"             \
  " l.t_total_s, l.mse, l.rel_error, l.max_abs_error, l.cond, l.cond_flagged, l.status,"  \
  " l.an_to_worker_bytes, l.an_to_master_bytes, l.an_storage_bytes, l.an_compute_flops,"      \
  " l.an_latency_s"
#define WORKER_COLS                                                                       \
  "r.run_key, w.layer_index, w.worker, w.class, w.bytes_to_worker, w.bytes_to_master,"                \
  " w.bytes_stored, w.flops, w.status, w.t_finish_s"
#define SEL_RUNS(s) "SELECT " RUN_COLS " FROM " s "runs"
#define SEL_LAYERS(s) "SELECT " LAYER_COLS " FROM " s "layers l JOIN " s "runs r USING (run_id)"
#define SEL_WORKERS(s) "SELECT " WORKER_COLS " FROM " s "workers w JOIN " s "runs r USING (run_id)"

static long count(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st = NULL;
  long v = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
    fprintf(stderr, "rel_crash: %s\n  %s\n", sqlite3_errmsg(db), sql);
    return -1;
  }
  if (sqlite3_step(st) == SQLITE_ROW) v = (long)sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

/* Rows of db not in ref (and, if both_ways, rows of ref not in db), over the 3 tables. */
static long diff_rows(const char *db_path, const char *ref_path, int both_ways) {
  static const char *const q[] = {
      "SELECT COUNT(*) FROM (" SEL_RUNS("main.") " EXCEPT " SEL_RUNS("ref.") ")",
      "SELECT COUNT(*) FROM (" SEL_LAYERS("main.") " EXCEPT " SEL_LAYERS("ref.") ")",
      "SELECT COUNT(*) FROM (" SEL_WORKERS("main.") " EXCEPT " SEL_WORKERS("ref.") ")",
      "SELECT COUNT(*) FROM (" SEL_RUNS("ref.") " EXCEPT " SEL_RUNS("main.") ")",
      "SELECT COUNT(*) FROM (" SEL_LAYERS("ref.") " EXCEPT " SEL_LAYERS("main.") ")",
      "SELECT COUNT(*) FROM (" SEL_WORKERS("ref.") " EXCEPT " SEL_WORKERS("main.") ")"};
  sqlite3 *db = NULL;
  sqlite3_stmt *at = NULL;
  long total = 0;
  if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "ATTACH DATABASE ?1 AS ref", -1, &at, NULL) != SQLITE_OK) {
    sqlite3_close(db);
    return -1;
  }
  sqlite3_bind_text(at, 1, ref_path, -1, SQLITE_STATIC);
  int rc = sqlite3_step(at);
  sqlite3_finalize(at);
  for (int i = 0; rc == SQLITE_DONE && i < (both_ways ? 6 : 3); i++) {
    long c = count(db, q[i]);
    if (c < 0) {
      total = -1;
      break;
    }
    total += c;
  }
  sqlite3_close(db);
  return rc == SQLITE_DONE ? total : -1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: rel_crash FCDCC [KILLS] [SEED]\n");
    return 2;
  }
  g_fcdcc = argv[1];
  int kills = argc > 2 ? atoi(argv[2]) : 6;
  unsigned long seed = argc > 3 ? strtoul(argv[3], NULL, 10) : 5;
  if (access(g_fcdcc, X_OK) != 0) return fprintf(stderr, "rel_crash: %s not executable\n", g_fcdcc), 77;
  if (rel_mkdtemp(g_dir, sizeof g_dir, "crash")) return fprintf(stderr, "rel_crash: mkdtemp\n"), 1;
  char ref[600], crash[600], msg[700];
  snprintf(g_ini, sizeof g_ini, "%s/crash.ini", g_dir);
  snprintf(g_out, sizeof g_out, "%s/out.txt", g_dir);
  snprintf(ref, sizeof ref, "%s/ref.db", g_dir);
  snprintf(crash, sizeof crash, "%s/crash.db", g_dir);
  FILE *f = fopen(g_ini, "w");
  if (!f || fputs(scenario, f) < 0 || fclose(f)) return fail("cannot write %s%s", g_ini, ""), 1;

  int status = 1;
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  if (!rng) goto out;
  gsl_rng_set(rng, seed);
  double t0 = now_s();
  int rc = finish(start(ref, 0));
  double t_ref = now_s() - t0;
  long n_ref = 0;
  if (rc != 0) {
    fail("reference sweep exited %s: %s", rc == 127 ? "127" : "non-zero", slurp(g_out));
    goto out;
  }
  if (rel_db_check(ref, LENET_CONVS, 0, &n_ref, msg, sizeof msg) || n_ref != TOTAL_RUNS) {
    fail("reference database: %s (%s runs)", msg, n_ref == TOTAL_RUNS ? "all" : "not all");
    goto out;
  }
  printf("rel_crash: reference sweep of %ld runs took %.3f s\n", n_ref, t_ref);
  for (int k = 0; k < kills; k++) {
    rel_db_unlink(crash);
    double delay = gsl_rng_uniform(rng) * 1.1 * t_ref;
    pid_t pid = start(crash, 0);
    struct timespec ts = {(time_t)delay, (long)((delay - (double)(time_t)delay) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
    kill(pid, SIGKILL);
    int ws = finish(pid);
    long present = 0;
    if (rel_db_check(crash, LENET_CONVS, 0, &present, msg, sizeof msg)) {
      fail("after the kill: %s%s", msg, "");
      goto out;
    }
    long extra = present ? diff_rows(crash, ref, 0) : 0;
    if (extra != 0) {
      fail("after the kill, %s rows differ from the reference%s", extra < 0 ? "(query failed)" : "some", "");
      goto out;
    }
    /* the comparison must be able to see a difference: runs still missing show up */
    if (present > 0 && present < TOTAL_RUNS && diff_rows(crash, ref, 1) <= 0) {
      fail("the row comparison does not see %s missing runs%s", "the", "");
      goto out;
    }
    rc = finish(start(crash, 1));
    const char *out = slurp(g_out);
    long committed = -1, already = -1;
    const char *p = strstr(out, "runs committed");
    const char *line = p;
    while (line && line > out && line[-1] != '\n') line--;
    if (rc != 0 || !p || sscanf(line, "fcdcc run: %ld runs committed", &committed) != 1 ||
        !(p = strstr(p, "ok, ")) || !(p = strstr(p, "), ")) || sscanf(p, "), %ld already present", &already) != 1) {
      fail("--resume failed or printed no count: %s%s", out, "");
      goto out;
    }
    if (committed != TOTAL_RUNS - present || already != present) {
      fprintf(stderr, "rel_crash: FAIL: kill %d: %ld present, --resume committed %ld and "
              "skipped %ld (want %ld and %ld)\n", k, present, committed, already,
              TOTAL_RUNS - present, present);
      goto out;
    }
    long final_runs = 0;
    if (rel_db_check(crash, LENET_CONVS, 0, &final_runs, msg, sizeof msg) || final_runs != TOTAL_RUNS) {
      fail("after --resume: %s %s", msg, "(or not every run)");
      goto out;
    }
    long d = diff_rows(crash, ref, 1);
    if (d != 0) {
      fail("after --resume the rows differ from the uninterrupted run (%s)%s", d < 0 ? "query failed" : "rows", "");
      goto out;
    }
    printf("rel_crash: kill %d at %.3f s (child status %d): %ld whole runs present, --resume "
           "ran %ld, final rows equal the reference\n", k, delay, ws, present, committed);
  }
  status = 0;
out:
  gsl_rng_free(rng);
  rel_rmtree(g_dir);
  return status;
}
