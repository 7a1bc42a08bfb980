/* cli_reproduce.c: `fcdcc reproduce [--quick] [--jobs J] [--db PATH] [--out DIR] ...`.
 *
 * Runs every scenarios/paper/ *.ini (sorted by name) into one results database through
 * run_sweep (no shell, no child fcdcc), then draws every figure (results/res_plot.h) and
 * writes REPORT.md from the same database. Every output goes under --out DIR (default: the
 * current directory: paper.db, figures/, REPORT.md), never into the source tree.
 *
 * Fresh database: unless --resume is given, an existing DB (and its -wal/-shm files) is
 * renamed to the first free one of DB.old, DB.old.1, DB.old.2, ... first, so the report
 * only ever describes this invocation's runs; no backup is ever overwritten, and a DB that
 * is not an fcdcc results database (a text file, another program's SQLite file, a
 * directory) is refused before anything moves. REPORT.md is written to a temporary file
 * renamed into place.
 * With --resume the runs already stored are skipped (run_sweep's resume), so an
 * interrupted reproduction continues where it stopped.
 *
 * --quick: a scenario file may carry lines `; quick: section.key=value` (applied with
 * run_scenario_set, e.g. fewer trials or sweep points) and `; quick: skip` (the file is not
 * run). They are comments to every other reader of the file.
 *
 * Exit: 0 everything ran and every figure with data was drawn; 1 a scenario failed or a
 * figure other than sim-vs-real had no data; 2 usage; 77 gnuplot missing (the runs and
 * REPORT.md are still written, figures skipped).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cod_alloc.h"
#include "cod_clock.h"
#include "cod_file.h"
#include "fcdcc_config.h"
#include "res_db.h"
#include "res_plot.h"
#include "run_scenario.h"
#include "run_sweep.h"

static const char reproduce_help[] =
    "Usage: fcdcc reproduce [--quick] [--jobs J] [--db PATH] [--out DIR] [--report PATH]\n"
    "                       [--scenarios DIR] [--resume]\n"
    "Run every scenarios/paper/*.ini into one database, draw every figure and write the\n"
    "report with the key tables (every number from the database).\n\n"
    "  --quick          apply each file's `; quick:` overrides (fewer trials and points)\n"
    "  --jobs J         parallel runs (default 2)\n"
    "  --out DIR        output directory (default: the current directory): DIR/paper.db,\n"
    "                   DIR/figures/ and DIR/REPORT.md unless --db or --report say otherwise\n"
    "  --db PATH        results database (default DIR/paper.db; an old one is renamed\n"
    "                   PATH.old, or PATH.old.N if that exists, unless --resume)\n"
    "  --resume         keep the database and skip runs already in it\n"
    "  --report PATH    report file (default DIR/REPORT.md)\n"
    "  --scenarios DIR  scenario directory (default FCDCC_SOURCE_ROOT/scenarios/paper, else\n"
    "                   ./scenarios/paper)\n"
    "Relative paths inside the files (the fashion-*.ini models, models/trained/*.onnx)\n"
    "are taken from the current directory, as in `fcdcc run`: run it from the source tree.\n"
    "Ctrl-C (SIGINT) or SIGTERM: the running runs commit, then the command to continue\n"
    "(--resume) is printed; exit 130 (SIGINT) or 143 (SIGTERM).\n"
    "Exit status: 0 done, 1 a failure, 2 usage, 77 gnuplot missing (report still written).\n";

typedef struct repro_opts {
  int quick, resume;
  size_t jobs;
  const char *db, *out, *report, *dir;
} repro_opts;

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.ini names of dir, sorted; *out is a cod_malloc'd array of cod_strdup'd names. */
static int list_scenarios(const char *dir, char ***out, size_t *n) {
  DIR *d = opendir(dir);
  if (!d) return cli_usage_error("reproduce", "cannot open scenario directory '%s': %s", dir,
                          strerror(errno));
  char **v = NULL;
  size_t cnt = 0;
  struct dirent *e;
  int rc = 0;
  while (!rc && (e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len < 5 || strcmp(e->d_name + len - 4, ".ini") != 0 || e->d_name[0] == '.') continue;
    char **p = cod_realloc(v, (cnt + 1) * sizeof *p);
    if (!p || !(p[cnt] = cod_strdup(e->d_name))) {
      if (p) v = p;
      rc = cli_fail("reproduce", "out of memory");
      break;
    }
    v = p;
    cnt++;
  }
  closedir(d);
  if (!rc && cnt == 0) rc = cli_fail("reproduce", "no *.ini file in '%s'", dir);
  if (rc) {
    for (size_t i = 0; i < cnt; i++) cod_free(v[i]);
    cod_free(v);
    return rc;
  }
  qsort(v, cnt, sizeof *v, by_name);
  *out = v;
  *n = cnt;
  return 0;
}

/* Apply the file's `; quick:` lines to sc; *skip = 1 for `; quick: skip`. */
static int apply_quick(const char *path, run_scenario *sc, int *skip) {
  FILE *f = NULL;
  cod_err e = {0};
  if (cod_file_fopen_regular(path, "scenario", 0, &f, NULL, &e))
    return cli_fail("reproduce", "%s", e.msg);
  char line[512];
  int rc = 0;
  while (!rc && fgets(line, sizeof line, f)) {
    if (strncmp(line, "; quick:", 8) != 0) continue;
    char *s = line + 8;
    s += strspn(s, " \t");
    s[strcspn(s, "\r\n")] = 0;
    if (strcmp(s, "skip") == 0) {
      *skip = 1;
      continue;
    }
    char *eq = strchr(s, '=');
    if (!eq || eq == s) {
      rc = cli_fail("reproduce", "%s: bad quick line '%s' (expected key=value)", path, s);
      break;
    }
    *eq = 0;
    if (run_scenario_set(sc, s, eq + 1, &e))
      rc = cli_fail("reproduce", "%s: quick override %s: %s", path, s, e.msg);
  }
  fclose(f);
  return rc;
}

static void progress(void *ctx, size_t done, size_t total) {
  const char *name = ctx;
  if (done == total) fprintf(stderr, "  %-22s runs %zu/%zu\n", name, done, total);
}

/* reproduce's status when a signal stopped the sweep (not an exit status: main maps it). */
#define STOPPED (-1)

/* The scenario files to run, loaded, with their --quick overrides applied and validated:
 * every file is checked before the first run starts. */
typedef struct repro_set {
  run_scenario **sc;  /* the files to run, in name order */
  void **names;       /* their names (borrowed from files), the progress context */
  size_t n;
} repro_set;

static void set_free(repro_set *set) {
  for (size_t i = 0; i < set->n; i++) run_scenario_free(set->sc[i]);
  cod_free(set->sc);
  cod_free(set->names);
}

/* Load file `name` of dir into *out (NULL when --quick skips it). */
static int load_one(const repro_opts *o, const char *dir, const char *name, run_scenario **out) {
  char path[4096];
  if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
    return cli_fail("reproduce", "path too long");
  run_scenario *sc = NULL;
  cod_err e = {0};
  if (run_scenario_load(path, &sc, &e)) return cli_fail("reproduce", "%s", e.msg);
  int skip = 0, rc = o->quick ? apply_quick(path, sc, &skip) : 0;
  size_t bad;
  /* under [sweep] skip = infeasible, run_sweep runs the feasible points and records the rest */
  if (!rc && !skip && !run_scenario_skip_infeasible(sc) && run_scenario_validate(sc, &bad, &e))
    rc = cli_fail("reproduce", "%s", e.msg);
  if (!rc && skip) fprintf(stderr, "  %-22s skipped (--quick)\n", name);
  if (rc || skip) run_scenario_free(sc), sc = NULL;
  *out = sc;
  return rc;
}

static int load_all(const repro_opts *o, const char *dir, char **files, size_t n,
                    repro_set *set) {
  memset(set, 0, sizeof *set);
  set->sc = cod_calloc(n, sizeof *set->sc);
  set->names = cod_calloc(n, sizeof *set->names);
  if (!set->sc || !set->names) return cli_fail("reproduce", "out of memory");
  for (size_t i = 0; i < n; i++) {
    run_scenario *sc = NULL;
    int rc = load_one(o, dir, files[i], &sc);
    if (rc) return rc;
    if (!sc) continue;
    set->sc[set->n] = sc, set->names[set->n] = files[i];
    set->n++;
  }
  return 0;
}

/* Run every file of set into the db, as one chain of sweeps (run_sweep_chain: no barrier
 * between files; each file's rows as a sweep of its own). */
static int run_all(const repro_opts *o, const char *dir, const repro_set *set, int verbose,
                   size_t *runs) {
  run_sweep_opts so = {o->db, o->jobs, 1, verbose ? progress : NULL, NULL, NULL, 0, 0,
                       cli_stop_flag(), 0, 0, NULL, NULL, NULL};
  run_sweep_stats *st = cod_calloc(set->n ? set->n : 1, sizeof *st);
  if (!st) return cli_fail("reproduce", "out of memory");
  cod_err e = {0};
  size_t at = 0;
  int rc = 0;
  if (run_sweep_chain((const run_scenario *const *)set->sc, set->names, set->n, &so, st, &at,
                      &e))
    rc = at < set->n ? cli_fail("reproduce", "%s/%s: %s", dir, (const char *)set->names[at], e.msg)
                     : cli_fail("reproduce", "%s", e.msg);
  for (size_t i = 0; i < set->n; i++) {
    *runs += st[i].committed;
    if (!rc && st[i].stopped) rc = STOPPED;
  }
  cod_free(st);
  return rc;
}

int cli_reproduce_runs(const char *dir, char *const *files, size_t n, int quick, size_t jobs,
                       const char *db, size_t *runs) {
  repro_opts o = {quick, 0, jobs, db, NULL, NULL, dir};
  repro_set set;
  memset(&set, 0, sizeof set);
  *runs = 0;
  int rc = load_all(&o, dir, (char **)files, n, &set);
  if (!rc) rc = run_all(&o, dir, &set, 0, runs);
  set_free(&set);
  return rc == STOPPED ? CLI_EXIT_FAIL : rc;
}

/* Refuse a --db that exists and is not an fcdcc results database before anything is
 * moved or written: the read-only open checks the header, application_id and version and
 * creates nothing beside the file. */
static int check_db(const char *db) {
  cod_err e = {0};
  if (res_db_check_name(db, &e)) return cli_usage_error("reproduce", "--db: %s", e.msg);
  struct stat sb;
  if (lstat(db, &sb) != 0) return 0; /* a new file */
  res_db *d = NULL;
  if (res_db_open(db, RES_DB_READONLY, &d, &e))
    return cli_usage_error("reproduce", "--db: %s; refusing to move it aside", e.msg);
  res_db_close(d);
  return 0;
}

/* Move DB, DB-wal, DB-shm aside together to the first free backup name: DB.old, else
 * DB.old.1, DB.old.2, ... (with the same -wal/-shm suffixes). An existing backup is never
 * replaced or removed. */
static int move_aside(const char *db) {
  static const char *const suffix[3] = {"", "-wal", "-shm"};
  struct stat sb;
  if (lstat(db, &sb) != 0) return 0;
  char base[4200];
  int found = 0;
  for (unsigned k = 0; !found && k < 1000; k++) {
    if (k == 0) snprintf(base, sizeof base, "%s.old", db);
    else snprintf(base, sizeof base, "%s.old.%u", db, k);
    found = 1;
    for (int i = 0; found && i < 3; i++) {
      char to[4300];
      snprintf(to, sizeof to, "%s%s", base, suffix[i]);
      if (lstat(to, &sb) == 0 || errno != ENOENT) found = 0;
    }
  }
  if (!found)
    return cli_fail("reproduce", "no free backup name for '%s' (%s.old to %s.old.999 exist); "
                    "move them or use --resume or another --db", db, db, db);
  for (int i = 0; i < 3; i++) {
    char from[4096], to[4300];
    snprintf(from, sizeof from, "%s%s", db, suffix[i]);
    snprintf(to, sizeof to, "%s%s", base, suffix[i]);
    if (lstat(from, &sb) != 0) continue;
    if (rename(from, to) != 0)
      return cli_fail("reproduce", "cannot move '%s' aside: %s", from, strerror(errno));
    if (i == 0) fprintf(stderr, "fcdcc reproduce: moved the old %s to %s\n", from, to);
  }
  return 0;
}

/* The figures are drawn by `jobs` threads, each through its own read-only handle (a
 * figure is a few queries and one gnuplot child: the children of two threads overlap),
 * while the calling thread writes the report; what each figure gives is printed
 * afterwards, in figure order, exactly as a serial loop would print it. */
typedef struct figure_job {
  const char *db_path, *out;
  res_plot_opts po;
  size_t next, n;          /* next figure to draw (under mu) */
  int *status;             /* per figure */
  cod_err *msg;            /* per figure */
  pthread_mutex_t mu;
} figure_job;

static void *figure_main(void *arg) {
  figure_job *j = arg;
  res_db *db = NULL;
  cod_err oe = {0};
  int orc = res_db_open(j->db_path, RES_DB_READONLY, &db, &oe);
  for (;;) {
    pthread_mutex_lock(&j->mu);
    size_t i = j->next++;
    pthread_mutex_unlock(&j->mu);
    if (i >= j->n) break;
    if (orc) { /* the figure cannot be drawn: say why, as a serial open would have */
      j->status[i] = orc, j->msg[i] = oe;
      continue;
    }
    j->status[i] = res_plot_figure(db, res_plot_figure_at(i)->name, j->out, &j->po, &j->msg[i]);
  }
  res_db_close(db);
  return NULL;
}

/* Start drawing every figure of db_path into out on up to `jobs` threads. */
static int draw_start(figure_job *j, const char *db_path, const char *out, size_t jobs,
                      pthread_t *th, size_t *started) {
  const char *tmp = getenv("TMPDIR");
  memset(j, 0, sizeof *j);
  j->db_path = db_path, j->out = out;
  j->po = (res_plot_opts){NULL, getenv("PATH"), tmp && *tmp ? tmp : "/tmp"};
  j->n = res_plot_figure_count();
  j->status = cod_calloc(j->n ? j->n : 1, sizeof *j->status);
  j->msg = cod_calloc(j->n ? j->n : 1, sizeof *j->msg);
  *started = 0;
  if (!j->status || !j->msg) {
    cod_free(j->status), cod_free(j->msg);
    return cli_fail("reproduce", "out of memory");
  }
  pthread_mutex_init(&j->mu, NULL);
  for (; *started < jobs; ++*started)
    if (pthread_create(&th[*started], NULL, figure_main, j) != 0) break;
  if (*started == 0) figure_main(j); /* no thread: draw them here */
  return 0;
}

/* Wait for the figures, print what each gave; *gnuplot_missing set when gnuplot is absent. */
static int draw_finish(figure_job *j, pthread_t *th, size_t started, int *gnuplot_missing) {
  for (size_t t = 0; t < started; t++) pthread_join(th[t], NULL);
  pthread_mutex_destroy(&j->mu);
  int rc = 0;
  for (size_t i = 0; i < j->n; i++) {
    const char *name = res_plot_figure_at(i)->name;
    int s = j->status[i];
    if (s == RES_PLOT_ENOGNUPLOT) {
      fprintf(stderr, "fcdcc reproduce: %s; figures skipped\n", j->msg[i].msg);
      *gnuplot_missing = 1;
      break;
    }
    if (s == COD_OK) {
      fprintf(stderr, "  figure %-22s %s/%s.png, .svg\n", name, j->out, name);
    } else if (s == RES_PLOT_ENODATA && strcmp(name, "sim-vs-real") == 0) {
      fprintf(stderr, "  figure %-22s skipped: no MPI runs (the paper scenarios are "
                      "simulated only)\n", name);
    } else {
      fprintf(stderr, "fcdcc reproduce: %s\n", j->msg[i].msg);
      rc = CLI_EXIT_FAIL;
    }
  }
  cod_free(j->status);
  cod_free(j->msg);
  return rc;
}

static int write_report(res_db *db, const repro_opts *o, char **files, size_t n) {
  if (cli_make_parent(o->report))
    return cli_fail("reproduce", "cannot create the directory of '%s'", o->report);
  cod_file_out fo; /* a temporary file renamed into place: a failure leaves the old one */
  cod_err e = {0};
  if (cod_file_out_open(&fo, o->report, &e)) return cli_fail("reproduce", "%s", e.msg);
  FILE *f = fo.f;
  char pre[4096];
  int len = snprintf(pre, sizeof pre,
                     "Written by `fcdcc reproduce%s` (fcdcc %s) from the results database "
                     "`%s`, which holds the runs of these scenario files (scenarios/paper/): ",
                     o->quick ? " --quick" : "", FCDCC_VERSION, o->db);
  for (size_t i = 0; i < n && len > 0 && (size_t)len < sizeof pre; i++)
    len += snprintf(pre + len, sizeof pre - (size_t)len, "%s`%s`", i ? ", " : "", files[i]);
  if (len > 0 && (size_t)len < sizeof pre)
    snprintf(pre + len, sizeof pre - (size_t)len,
             ".%s Every number below is the result of a query on that database; figures "
             "are in `%s/` and docs/figures.md tells how to read them. Simulated times are "
             "in seconds of simulated time, bytes per worker.",
             o->quick ? " Quick mode: fewer trials and sweep points (the files' `; quick:` "
                        "lines)." : "", o->out);
  int rc = res_plot_report_write(db, f, pre, &e);
  if (rc) {
    cod_file_out_abort(&fo);
    return cli_fail("reproduce", "%s", e.msg);
  }
  return cod_file_out_commit(&fo, &e) ? cli_fail("reproduce", "%s", e.msg) : 0;
}

static int parse(int argc, char **argv, repro_opts *o, int *done) {
  static const struct option longopts[] = {
      {"quick", 0, 0, 'q'}, {"jobs", 1, 0, 'j'},   {"db", 1, 0, 'd'},
      {"out", 1, 0, 'o'},   {"report", 1, 0, 'r'}, {"scenarios", 1, 0, 's'},
      {"resume", 0, 0, 'R'}, {"help", 0, 0, 'h'},  {0, 0, 0, 0}};
  int ch, rc;
  opterr = 0;
  while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (ch) {
    case 'q': o->quick = 1; break;
    case 'R': o->resume = 1; break;
    case 'j':
      if ((rc = cli_parse_size("reproduce", "--jobs", optarg, 1, 64, &o->jobs))) return rc;
      break;
    case 'd': o->db = optarg; break;
    case 'o': o->out = optarg; break;
    case 'r': o->report = optarg; break;
    case 's': o->dir = optarg; break;
    case 'h': fputs(reproduce_help, stdout); *done = 1; return 0;
    default:
      return cli_usage_error("reproduce", "unknown or incomplete option '%s'", argv[optind - 1]);
    }
  }
  if (optind != argc) return cli_usage_error("reproduce", "unexpected argument '%s'", argv[optind]);
  return 0;
}

int cli_reproduce(int argc, char **argv) {
  repro_opts o = {0, 0, 2, NULL, ".", NULL, NULL};
  int done = 0, rc = parse(argc, argv, &o, &done);
  if (rc || done) return rc;
  /* every output under --out (default: the current directory), never the source tree */
  char dbdef[4096], figdir[4096], repdef[4096];
  if (!*o.out) return cli_usage_error("reproduce", "--out: empty directory name");
  const char *pre = strcmp(o.out, ".") == 0 ? "" : o.out, *sep = *pre ? "/" : "";
  if (snprintf(dbdef, sizeof dbdef, "%s%spaper.db", pre, sep) >= (int)sizeof dbdef ||
      snprintf(figdir, sizeof figdir, "%s%sfigures", pre, sep) >= (int)sizeof figdir ||
      snprintf(repdef, sizeof repdef, "%s%sREPORT.md", pre, sep) >= (int)sizeof repdef)
    return cli_usage_error("reproduce", "--out: path too long");
  if (!o.db) o.db = dbdef;
  if (!o.report) o.report = repdef;
  o.out = figdir;
  char dirbuf[4096];
  if (!o.dir) {
    snprintf(dirbuf, sizeof dirbuf, "%s/scenarios/paper", FCDCC_SOURCE_ROOT);
    o.dir = access(dirbuf, R_OK) == 0 ? dirbuf : "scenarios/paper";
  }
  char **files = NULL;
  size_t n = 0;
  if ((rc = list_scenarios(o.dir, &files, &n))) return rc;
  if ((rc = check_db(o.db))) {
    for (size_t i = 0; i < n; i++) cod_free(files[i]);
    cod_free(files);
    return rc;
  }
  double t0 = cod_clock_wall_s();
  if (cli_make_parent(o.db) || cli_make_dirs(o.out))
    rc = cli_fail("reproduce", "cannot create the directories of '%s' and '%s'", o.db, o.out);
  if (!rc && !o.resume) rc = move_aside(o.db);
  fprintf(stderr, "fcdcc reproduce%s: %zu scenario files from %s -> %s (jobs %zu)\n",
          o.quick ? " --quick" : "", n, o.dir, o.db, o.jobs);
  size_t runs = 0;
  cli_catch_stop_signals();
  repro_set set;
  memset(&set, 0, sizeof set);
  if (!rc) rc = load_all(&o, o.dir, files, n, &set);
  if (!rc) rc = run_all(&o, o.dir, &set, 1, &runs);
  set_free(&set);
  if (rc == STOPPED) { /* every finished run is in the database: --resume continues */
    int sig = *cli_stop_flag() ? (int)*cli_stop_flag() : SIGINT;
    fprintf(stderr, "fcdcc reproduce: stopped by %s: %zu runs committed to %s; continue with:\n"
                    "  fcdcc", sig == SIGTERM ? "SIGTERM" : "SIGINT", runs, o.db);
    for (int i = 0; i < argc; i++) fprintf(stderr, " %s", argv[i]);
    fprintf(stderr, "%s\n", o.resume ? "" : " --resume");
    for (size_t i = 0; i < n; i++) cod_free(files[i]);
    cod_free(files);
    return 128 + sig;
  }
  double t_runs = cod_clock_wall_s() - t0;
  int missing = 0;
  if (!rc) {
    res_db *db = NULL;
    cod_err e = {0};
    pthread_t th[64];
    size_t started = 0;
    figure_job fj;
    if (res_db_open(o.db, RES_DB_READONLY, &db, &e)) {
      rc = cli_fail("reproduce", "%s", e.msg);
    } else if (!(rc = draw_start(&fj, o.db, o.out, o.jobs, th, &started))) {
      int rr = write_report(db, &o, files, n); /* while the figures are drawn */
      rc = draw_finish(&fj, th, started, &missing);
      if (!rc) rc = rr;
      if (!rr) fprintf(stderr, "  report %s\n", o.report);
    }
    res_db_close(db);
  }
  for (size_t i = 0; i < n; i++) cod_free(files[i]);
  cod_free(files);
  fprintf(stderr, "fcdcc reproduce: %zu runs in %.1f s, total %.1f s wall\n", runs, t_runs,
          cod_clock_wall_s() - t0);
  if (!rc && missing) return CLI_EXIT_SKIP;
  return rc;
}
