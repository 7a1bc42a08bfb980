/* cli_run.c: `fcdcc run` (simulate a scenario into SQLite), `fcdcc report` (summary of a
 * results database) and `fcdcc models` (list the built-in CNNs or describe one). */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cod_clock.h"
#include "cod_alloc.h"
#include "model.h"
#include "model_onnx.h"
#include "res_db.h"
#include "res_report.h"
#include "run_plan.h"
#include "run_scenario.h"
#include "run_sweep.h"

static const char run_help[] =
    "Usage: fcdcc run SCENARIO.ini [--db PATH | --out DIR] [--seed N] [--jobs J] [--trace]\n"
    "                 [--resume] [--set section.key=value ...] [--backend sim|mpi]\n"
    "Simulate every point x trial of a scenario (real encode, worker convolutions and decode\n"
    "on every event) and store the runs in SQLite; then print the summary table.\n\n"
    "  --db PATH       results database (default DIR/NAME.db, NAME = scenario base name)\n"
    "  --out DIR       directory of the default database (default: the current directory)\n"
    "  --seed N        override [run] seed\n"
    "  --jobs J        parallel runs (default 1); rows are identical whatever J is\n"
    "  --trace         record every event in the events table\n"
    "  --resume        skip runs already in the database (after an interrupted sweep)\n"
    "  --set K=V       override any scenario key, e.g. --set cluster.workers=8..32 step 8\n"
    "  --backend B     sim (default): the discrete-event simulator; mpi: real processes,\n"
    "                  mpirun -np N+1 fcdcc run X.ini --backend mpi (docs/mpi.md)\n"
    "  -q, --quiet     no summary table\n"
    "  -h, --help      this help\n"
    "Every point is checked before the first run; on a terminal, the points, those that\n"
    "will not run and the runs are printed before the first run, and a sweep expected to\n"
    "take over a minute prints its expected time after its first runs (the pilots: the\n"
    "runs after the first, for 2 s and at least 3 of them).\n"
    "Ctrl-C (SIGINT) or SIGTERM: no new run starts, the running ones finish and are\n"
    "committed, and the command to continue (--resume) is printed; a second signal kills.\n"
    "Exit status: 0 done, 1 a run-time failure, 2 a user error, 130 stopped by SIGINT,\n"
    "143 stopped by SIGTERM (the committed runs are kept).\n"
    "Scenario keys: scenarios/README.md.\n";

typedef struct progress_state {
  double t0;
  int tty;
  size_t jobs;
  size_t first_done;   /* `done` of the first call minus one: runs present before */
  int called, estimated;
  double first_s;      /* wall seconds from t0 to the first finished run (setup included) */
} progress_state;

/* The pilots: at least PILOT_RUNS runs after the first over at least PILOT_MIN_S wall
 * seconds (the first runs of a fast sweep are several times slower than its steady pace:
 * measured 61 ms against 2.7 ms per lenet5 run over runs 2 to 4), or whatever finished
 * by PILOT_MAX_S; and the expected time above which the estimate is printed. */
#define PILOT_RUNS 3
#define PILOT_MIN_S 2.0
#define PILOT_MAX_S 10.0
#define ESTIMATE_ABOVE_S 60.0

/* The cost estimate: the sweep's own first runs are its pilots (they are committed like
 * every other run, so the estimate never changes a row), timed on the wall clock; printed
 * once, on a terminal only, when the rest of the sweep is expected to take over a minute.
 * The pace is that of the PILOT_RUNS runs after the first: the first also pays the
 * planning, the database and the model's weights, which the later runs reuse. */
static void estimate(progress_state *p, size_t done, size_t total, double el) {
  size_t timed = done - p->first_done;
  if (timed == 1) p->first_s = el;
  int ready = el >= PILOT_MAX_S || done == total ||
              (timed > PILOT_RUNS && el - p->first_s >= PILOT_MIN_S);
  if (p->estimated || timed == 0 || !ready) return;
  p->estimated = 1;
  double pace = timed > 1 ? (el - p->first_s) / (double)(timed - 1) : el;
  double rest = pace * (double)(total - done);
  if (rest + el <= ESTIMATE_ABOVE_S) return;
  fprintf(stderr, "\r  estimate: %zu runs to go, about %.0f s (%.1f min) at the pace of runs "
                  "2 to %zu (%.3g s each with --jobs %zu; the first took %.1f s with the setup); "
                  "Ctrl-C stops after the current runs, --resume continues\n",
          total - done, rest, rest / 60.0, timed, pace, p->jobs, p->first_s);
}

/* What the plan says before any run: points, those that will not run, and runs. */
typedef struct plan_counts {
  size_t points, infeasible, duplicate, runs;
} plan_counts;

/* Before the first run, on a terminal: what will run (the estimate follows the pilots).
 * No estimate is made from the model alone: the wall time of a run is the host's real
 * convolutions and decodes (or none with compute = model), which the simulated times do
 * not predict, so a prior would be a guess stated as a number. */
static void print_counts(const char *path, const char *db, const plan_counts *pc) {
  size_t skipped = pc->infeasible + pc->duplicate;
  fprintf(stderr, "fcdcc run: %s: %zu point%s", path, pc->points, pc->points == 1 ? "" : "s");
  if (skipped)
    fprintf(stderr, " (%zu not run: %zu infeasible, %zu duplicate%s)", skipped, pc->infeasible,
            pc->duplicate, pc->duplicate == 1 ? "" : "s");
  fprintf(stderr, ", %zu run%s -> %s\n", pc->runs, pc->runs == 1 ? "" : "s", db);
  if (pc->runs > PILOT_RUNS + 1)
    fprintf(stderr, "  the runs after the first are timed for %.0f s (at least %d of them); "
                    "if the rest would take over %.0f s, the expected time is printed then\n",
            PILOT_MIN_S, PILOT_RUNS, ESTIMATE_ABOVE_S);
}

static void progress(void *ctx, size_t done, size_t total) {
  progress_state *p = ctx;
  if (!p->tty) return;
  if (!p->called) p->called = 1, p->first_done = done - 1; /* runs stored before (resume) */
  double el = cod_clock_wall_s() - p->t0;
  double rate = (double)(done - p->first_done) / (el > 0 ? el : 1e-9);
  double eta = rate > 0 ? (double)(total - done) / rate : 0;
  estimate(p, done, total, el);
  fprintf(stderr, "\r  runs %zu/%zu  %.2f runs/s  ETA %.0f s   ", done, total, rate, eta);
  if (done == total) fputc('\n', stderr);
}

static int default_db(const char *out, const char *scenario, char *buf, size_t len) {
  const char *base = strrchr(scenario, '/');
  base = base ? base + 1 : scenario;
  size_t n = strcspn(base, ".");
  return snprintf(buf, len, "%s/%.*s.db", out, (int)n, base) >= (int)len;
}

/* SIGINT / SIGTERM: the first asks the sweep to stop after the running runs commit (the
 * flag run_sweep polls); a second one kills with the default action. */
static volatile sig_atomic_t stop_signal;

const volatile sig_atomic_t *cli_stop_flag(void) { return &stop_signal; }

static void on_stop_signal(int sig) {
  if (stop_signal) {
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  stop_signal = sig;
  static const char msg[] = "\nfcdcc: stopping after the current runs (again to kill)\n";
  ssize_t w = write(2, msg, sizeof msg - 1);
  (void)w;
}

void cli_catch_stop_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

/* An argument as the shell would need it: as is, or in single quotes. */
static void print_arg(const char *a) {
  if (*a && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                      "_-./=:,+@%") == strlen(a)) {
    fprintf(stderr, " %s", a);
    return;
  }
  fputs(" '", stderr);
  for (; *a; a++)
    if (*a == '\'') fputs("'\\''", stderr);
    else fputc(*a, stderr);
  fputc('\'', stderr);
}

/* After a stop: what is saved, and the command that continues (this one plus --resume). */
static void print_resume(int argc, char **argv, const char *db, const run_sweep_stats *st,
                         int resume) {
  fprintf(stderr, "fcdcc run: stopped by %s: %zu runs committed to %s, %zu not run; "
                  "continue with:\n  fcdcc", stop_signal == SIGTERM ? "SIGTERM" : "SIGINT",
          st->committed, db, st->total - st->committed - st->skipped);
  for (int i = 0; i < argc; i++) print_arg(argv[i]);
  fprintf(stderr, "%s\n", resume ? "" : " --resume");
}

/* A database that does not exist yet must have a directory to be created in: say so
 * plainly instead of SQLite's "unable to open database file". */
static int check_db_dir(const char *db) {
  struct stat sb;
  cod_err e = {0};
  if (res_db_check_name(db, &e)) return cli_usage_error("run", "%s", e.msg); /* :memory: ... */
  if (stat(db, &sb) == 0 && !S_ISDIR(sb.st_mode)) return 0;
  return cli_check_out_path("run", "--db", db);
}

/* Points listed in full before the rest are counted. */
#define PLAN_LIST_MAX 40

/* The skipped points of pl of the given state (-1: any), one indented line each. */
static void print_skips(const run_sweep_plan *pl, int state) {
  size_t shown = 0, n = state < 0 ? pl->n_skips : pl->n_infeasible;
  for (size_t i = 0; i < pl->n_skips; i++) {
    const run_point_skip *k = &pl->skips[i];
    if (state >= 0 && k->state != state) continue;
    if (shown++ == PLAN_LIST_MAX) {
      fprintf(stderr, "  ... and %zu more (all in the table skipped_points once it runs)\n",
              n - PLAN_LIST_MAX);
      return;
    }
    if (k->state == RUN_POINT_DUPLICATE) fprintf(stderr, "  point %zu: %s\n", k->point, k->reason);
    else fprintf(stderr, "  %s\n", k->reason);
  }
}

/* Plan the sweep (run_plan.h) before anything runs: refuse it with ONE message that lists
 * EVERY infeasible point (its first line says how many and shows the first; each point
 * follows on an indented line), or say which points will not run and why. 0 or an exit
 * status (printed). */
static int print_plan(const run_scenario *sc, plan_counts *pc) {
  run_sweep_plan pl;
  cod_err e = {0};
  int rc = run_plan_sweep(sc, &pl, &e);
  if (rc) {
    run_plan_sweep_fini(&pl);
    return rc == COD_ENOMEM ? cli_fail("run", "%s", e.msg) : cli_usage_error("run", "%s", e.msg);
  }
  if (run_plan_sweep_refusal(&pl, &e) != COD_OK) {
    fprintf(stderr, "fcdcc run: %s\n", e.msg);
    if (pl.n_infeasible > 1) print_skips(&pl, RUN_POINT_INFEASIBLE);
    run_plan_sweep_fini(&pl);
    fputs("Try 'fcdcc run --help'.\n", stderr);
    return CLI_EXIT_USAGE;
  }
  if (pl.n_skips) {
    fprintf(stderr, "fcdcc run: %zu of the %zu points will not run (recorded in the table "
                    "skipped_points): %zu infeasible ([sweep] skip = infeasible), %zu the same "
                    "as an earlier point once the keys the scheme ignores are set aside\n",
            pl.n_skips, pl.n_points, pl.n_infeasible, pl.n_duplicate);
    print_skips(&pl, -1);
  }
  *pc = (plan_counts){pl.n_points, pl.n_infeasible, pl.n_duplicate, pl.n_runs};
  run_plan_sweep_fini(&pl);
  return 0;
}

int cli_run(int argc, char **argv) {
  static const struct option longopts[] = {
      {"db", 1, 0, 'd'},     {"seed", 1, 0, 's'},   {"jobs", 1, 0, 'j'}, {"trace", 0, 0, 't'},
      {"resume", 0, 0, 'r'}, {"set", 1, 0, 'S'},    {"quiet", 0, 0, 'q'}, {"help", 0, 0, 'h'},
      {"backend", 1, 0, 'b'}, {"out", 1, 0, 'o'},
      {0, 0, 0, 0}};
  const char *db = NULL, *seed = NULL, *sets[64], *backend = "sim", *out = NULL;
  size_t n_sets = 0, jobs = 1;
  int trace = 0, resume = 0, quiet = 0, ch, rc;
  opterr = 0;
  while ((ch = getopt_long(argc, argv, "hq", longopts, NULL)) != -1) {
    switch (ch) {
    case 'd': db = optarg; break;
    case 's': seed = optarg; break;
    case 'j':
      if ((rc = cli_parse_size("run", "--jobs", optarg, 1, 64, &jobs))) return rc;
      break;
    case 't': trace = 1; break;
    case 'r': resume = 1; break;
    case 'q': quiet = 1; break;
    case 'b': backend = optarg; break;
    case 'o': out = optarg; break;
    case 'S':
      if (n_sets == 64) return cli_usage_error("run", "too many --set options");
      sets[n_sets++] = optarg;
      break;
    case 'h': fputs(run_help, stdout); return 0;
    default: return cli_usage_error("run", "unknown or incomplete option '%s'", argv[optind - 1]);
    }
  }
  if (optind != argc - 1) return cli_usage_error("run", "expected exactly one SCENARIO.ini");
  const char *path = argv[optind];
  char dbbuf[1024];
  if (db && out) return cli_usage_error("run", "--db and --out: give one (--out DIR means "
                                        "--db DIR/NAME.db)");
  if (out) {
    struct stat sb;
    if (!*out || stat(out, &sb) != 0 || !S_ISDIR(sb.st_mode))
      return cli_usage_error("run", "--out %s: not a directory (create it first)", out);
  }
  if (!db) {
    if (default_db(out ? out : ".", path, dbbuf, sizeof dbbuf))
      return cli_usage_error("run", "scenario path too long");
    db = dbbuf;
  }
  run_scenario *sc = NULL;
  cod_err e = {0};
  if (run_scenario_load(path, &sc, &e))
    return e.status == COD_ENOMEM ? cli_fail("run", "%s", e.msg) : cli_usage_error("run", "%s", e.msg);
  rc = 0;
  if (seed && run_scenario_set(sc, "run.seed", seed, &e)) rc = cli_usage_error("run", "--seed: %s", e.msg);
  if (trace && !rc && run_scenario_set(sc, "run.trace", "true", &e)) rc = cli_usage_error("run", "%s", e.msg);
  for (size_t i = 0; !rc && i < n_sets; i++) {
    char key[256];
    const char *eq = strchr(sets[i], '=');
    if (!eq || eq == sets[i] || (size_t)(eq - sets[i]) >= sizeof key) {
      rc = cli_usage_error("run", "--set: expected section.key=value, got '%s'", sets[i]);
      break;
    }
    memcpy(key, sets[i], (size_t)(eq - sets[i]));
    key[eq - sets[i]] = 0;
    if (run_scenario_set(sc, key, eq + 1, &e)) rc = cli_usage_error("run", "%s", e.msg);
  }
  size_t bad;
  int sim = strcmp(backend, "sim") == 0;
  /* the simulator plans every point itself (every infeasible point listed at once) */
  if (!rc && !sim && !run_scenario_skip_infeasible(sc) && run_scenario_validate(sc, &bad, &e))
    rc = cli_usage_error("run", "%s", e.msg);
  plan_counts pc = {run_scenario_points(sc), 0, 0, 0};
  if (!rc && sim) rc = print_plan(sc, &pc);
  if (rc) {
    run_scenario_free(sc);
    return rc;
  }
  if (!rc) rc = check_db_dir(db);
  if (rc) {
    run_scenario_free(sc);
    return rc;
  }
  cli_catch_stop_signals();
  progress_state ps = {cod_clock_wall_s(), isatty(2), jobs, 0, 0, 0, 0}; /* t0: planning included */
  run_sweep_opts o = {db, jobs, resume, progress, &ps, NULL, 0, 0, &stop_signal, 0, 0, NULL, NULL,
                      NULL};
  run_sweep_stats st;
  memset(&st, 0, sizeof st);
  int report = 1;
  if (sim) {
    if (ps.tty) print_counts(path, db, &pc);
    rc = run_sweep(sc, &o, &st, &e);
  } else {
    rc = cli_run_backend(backend, sc, &o, &st, &report, &e);
  }
  if (st.cond_flagged && report) { /* MPI ranks other than 0 hold partial counts */
    run_config c0;
    double bound = run_scenario_point(sc, 0, &c0, NULL) ? 1e10 : c0.run.cond_bound;
    fprintf(stderr, "fcdcc run: warning: %zu decoded layer(s) had a condition number above "
                    "run.cond_bound = %g (layers.cond_flagged = 1); their outputs may be "
                    "inaccurate\n", st.cond_flagged, bound);
  }
  if (st.failed_runs && report)
    fprintf(stderr, "fcdcc run: warning: %zu run(s) ended with status error; first: %s\n",
            st.failed_runs, st.first_failure);
  run_scenario_free(sc);
  if (rc) {
    if (ps.tty) fputc('\n', stderr);
    /* User errors: a bad value, a malformed file (scenario, model, weights, database), or
     * a path that could not be opened before any run finished. */
    if (rc == COD_EINVAL || rc == COD_EFORMAT || (rc == COD_EIO && st.committed == 0))
      return cli_usage_error("run", "%s", e.msg);
    if (st.committed == 0) return cli_fail("run", "%s", e.msg);
    return cli_fail("run", "%s (%zu finished runs are saved in %s)", e.msg, st.committed, db);
  }
  if (st.stopped) {
    if (report) print_resume(argc, argv, db, &st, resume);
    return 128 + (stop_signal ? (int)stop_signal : SIGINT);
  }
  if (!report) return 0;
  fprintf(stderr, "fcdcc run: %zu runs committed (%zu ok, %zu undecodable, infeasible or singular), "
                  "%zu already present, %.1f s -> %s\n",
          st.committed, st.ok, st.not_ok, st.skipped, cod_clock_wall_s() - ps.t0, db);
  if (st.infeasible || st.duplicates)
    fprintf(stderr, "fcdcc run: %zu point(s) not run (%zu infeasible, %zu the same as an "
                    "earlier point): rows of the table skipped_points in %s\n",
            st.infeasible + st.duplicates, st.infeasible, st.duplicates, db);
  if (quiet) return 0;
  res_db *d = NULL;
  if (res_db_open(db, RES_DB_READONLY, &d, &e) || res_report_summary(d, stdout, &e) ||
      res_report_data(d, stdout, &e)) {
    res_db_close(d);
    return cli_fail("run", "%s", e.msg);
  }
  res_db_close(d);
  return 0;
}

static const char report_help[] =
    "Usage: fcdcc report DB [--per-scheme] [--by KEY[,KEY...]] [--ci] [--json]\n"
    "       fcdcc report --explain\n"
    "Print the summary table of a results database: per (model, scheme, workers, ka, kb,\n"
    "precision) the runs, outcomes, latency, bytes per worker, worst errors and mean cond;\n"
    "then, if the file holds runs over a data set ([data]), their top-1 (uncoded, coded),\n"
    "agreement, undecodable images and largest logit error.\n"
    "No row pools runs of different sweep points: a scenario key whose values differ\n"
    "between runs of one row splits it, and the column `point` shows those keys' values.\n\n"
    "  --per-scheme   communication, storage and accuracy per scheme (split the same way)\n"
    "  --by KEYS      rows are exactly the values of these scenario keys (comma-separated,\n"
    "                 e.g. --by scheme,slow.count): you choose what is pooled\n"
    "  --ci           add the 95% intervals of the mean and p95 latency\n"
    "  --json         the report as one JSON object instead of the table: \"report\" (its\n"
    "                 kind), \"columns\" (name, unit, meaning), \"rows\" (intervals and\n"
    "                 point included) and, for the summary, \"data\" (the data-set rows)\n"
    "  --explain      every column of the reports and of the stored tables, with units\n"
    "  -h, --help     this help\n";

int cli_report(int argc, char **argv) {
  static const struct option longopts[] = {
      {"per-scheme", 0, 0, 'p'}, {"by", 1, 0, 'b'}, {"ci", 0, 0, 'c'}, {"json", 0, 0, 'j'},
      {"explain", 0, 0, 'x'},    {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
  res_report_opts o = {0};
  int ch, explain = 0;
  char *by_text = NULL;
  const char *by[33];
  opterr = 0;
  while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    if (ch == 'p') o.per_scheme = 1;
    else if (ch == 'b') by_text = optarg;
    else if (ch == 'c') o.ci = 1;
    else if (ch == 'j') o.json = 1;
    else if (ch == 'x') explain = 1;
    else if (ch == 'h') return fputs(report_help, stdout), 0;
    else return cli_usage_error("report", "unknown option '%s'", argv[optind - 1]);
  }
  cod_err e = {0};
  if (explain) {
    if (optind != argc) return cli_usage_error("report", "--explain takes no DB");
    return res_report_explain(stdout, &e) ? cli_fail("report", "%s", e.msg) : 0;
  }
  if (optind != argc - 1) return cli_usage_error("report", "expected exactly one DB");
  if (by_text && o.per_scheme) return cli_usage_error("report", "--by and --per-scheme exclude each other");
  size_t nby = 0;
  if (by_text) { /* split in place: optarg points into argv, which we may modify */
    char *save = NULL;
    for (char *tok = strtok_r(by_text, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
      if (nby == 32) return cli_usage_error("report", "--by: at most 32 keys");
      by[nby++] = tok;
    }
    if (!nby) return cli_usage_error("report", "--by: expected KEY[,KEY...]");
    by[nby] = NULL;
    o.by = by;
  }
  res_db *d = NULL;
  if (res_db_open(argv[optind], RES_DB_READONLY, &d, &e))
    return cli_usage_error("report", "%s", e.msg);
  int rc = res_report_write(d, &o, stdout, &e);
  if (!rc && !o.per_scheme && !o.json && !o.by) rc = res_report_data(d, stdout, &e);
  res_db_close(d);
  if (rc == COD_EINVAL) return cli_usage_error("report", "--by: %s", e.msg);
  return rc ? cli_fail("report", "%s", e.msg) : 0;
}

static const char models_help[] =
    "Usage: fcdcc models [NAME | FILE.model | FILE.onnx]\n"
    "Without an argument, list the built-in models with their conv layers and MACs;\n"
    "with one, describe every layer (shapes, MACs, parameters). Format: docs/model-format.md\n";

int cli_models(int argc, char **argv) {
  if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
    return fputs(models_help, stdout), 0;
  if (argc > 2) return cli_usage_error("models", "expected at most one model");
  cod_err e = {0};
  if (argc == 2) {
    model *m = NULL;
    int rc = model_lookup(argv[1], &m, &e);
    struct stat sb;
    if (rc == COD_ENOMEM) return cli_fail("models", "%s", e.msg);
    /* a bare word that is no file was meant as a built-in name */
    if (rc && !strchr(argv[1], '/') && !strstr(argv[1], ".model") &&
        !model_onnx_is_path(argv[1]) && stat(argv[1], &sb) != 0)
      return cli_usage_error("models", "%s, and no model file '%s'", e.msg, argv[1]);
    if (rc && (rc = model_load_any(argv[1], &m, NULL, &e)))
      return rc == COD_ENOMEM ? cli_fail("models", "%s", e.msg)
                              : cli_usage_error("models", "%s", e.msg);
    rc = model_describe(m, stdout, &e);
    model_free(m);
    return rc ? cli_fail("models", "%s", e.msg) : 0;
  }
  printf("%-10s %6s %6s %14s %14s\n", "model", "layers", "convs", "conv GMACs", "total GMACs");
  for (const char *const *n = model_builtin_names(); *n; n++) {
    model *m = NULL;
    if (model_lookup(*n, &m, &e)) return cli_fail("models", "%s", e.msg);
    printf("%-10s %6zu %6zu %14.4f %14.4f\n", *n, model_layer_count(m), model_conv_count(m),
           model_conv_macs_total(m) / 1e9, model_macs_total(m) / 1e9);
    model_free(m);
  }
  return 0;
}
