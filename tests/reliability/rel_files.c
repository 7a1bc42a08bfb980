/* rel_files.c: what fcdcc does to the files around it (issue 11, files and databases). A
 * plain driver that runs the real program, registered with meson in suite unit.
 *
 *   rel_files FCDCC
 *
 * What the bad-input table (rel_badinputs) cannot say, because it needs good inputs, a
 * second process, a device node, a resource limit or another user:
 *   1. every command of the CLI on good inputs creates or changes only its named outputs:
 *      the work directory is snapshotted (names, sizes, mtimes, inodes, modes, content
 *      hashes) before and
 *      after each command and every difference must be one of the outputs it was given;
 *      in particular no -wal/-shm stays beside a database after run, report, plot or
 *      calibrate;
 *   2. a device node, another program's SQLite file, a directory and an existing backup
 *      survive every command pointed at them (same inode, same bytes);
 *   3. a full disk (RLIMIT_FSIZE in the child, SIGXFSZ ignored) before the first commit
 *      leaves no database file at all;
 *   4. a read-only directory: `run` says so, and `report` works there and changes nothing
 *      (as root the child drops to uid/gid 65534, since root ignores directory modes);
 *   5. `--db ''` is refused;
 *   6. two `fcdcc run` of one sweep into one database at once: the loser exits 2 with a
 *      message pointing at --resume, never SQLite's bare words.
 * A part that cannot run here (mknod not permitted, no gnuplot) prints why and is skipped.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "rel_util.h"

static const char *g_fcdcc;
static char g_top[300], g_W[400];
static int g_failed;

#define FAIL(...) (fprintf(stderr, "rel_files: " __VA_ARGS__), fputc('\n', stderr), g_failed++)

/* ---- running the program --------------------------------------------------------------- */

typedef struct child_opts {
  long fsize_bytes; /* >= 0: RLIMIT_FSIZE of the child (SIGXFSZ ignored) */
  int as_nobody;    /* drop to uid/gid 65534 when root */
} child_opts;

static char g_err[8192];

/* Run fcdcc with args (NULL-terminated) in g_W; stdout to /dev/null, stderr kept in g_err
 * (through a pipe, so that a file-size limit does not touch it). Returns the exit status. */
static int run_opts(const child_opts *o, const char *const *args) {
  char *argv[64];
  int n = 0;
  argv[n++] = (char *)g_fcdcc;
  for (; args[n - 1] && n < 63; n++) argv[n] = (char *)args[n - 1];
  argv[n] = NULL;
  int pfd[2];
  if (pipe(pfd)) return -1;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int dn = open("/dev/null", O_RDWR);
    if (dn < 0 || chdir(g_W) != 0) _exit(126);
    dup2(dn, 0), dup2(dn, 1), dup2(pfd[1], 2);
    close(pfd[0]);
    if (o && o->fsize_bytes >= 0) {
      struct rlimit rl = {(rlim_t)o->fsize_bytes, (rlim_t)o->fsize_bytes};
      signal(SIGXFSZ, SIG_IGN); /* write() then fails with EFBIG instead of killing */
      if (setrlimit(RLIMIT_FSIZE, &rl)) _exit(125);
    }
    if (o && o->as_nobody && geteuid() == 0 && (setgroups(0, NULL) || setgid(65534) || setuid(65534)))
      _exit(124);
    alarm(60); /* a blocked child fails instead of hanging the suite */
    execv(argv[0], argv);
    _exit(127);
  }
  close(pfd[1]);
  size_t len = 0;
  ssize_t r;
  while ((r = read(pfd[0], g_err + len, sizeof g_err - 1 - len)) > 0) len += (size_t)r;
  g_err[len] = 0;
  close(pfd[0]);
  int ws = 0;
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {}
  return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static int run(const char *const *args) { return run_opts(NULL, args); }

/* ---- snapshots --------------------------------------------------------------------------- */

typedef struct entry {
  char name[512]; /* relative to g_W */
  char line[700]; /* name, size, mtime, inode, mode, rdev */
} entry;

typedef struct snap {
  entry *e;
  size_t n, cap;
} snap;

static void snap_dir(snap *s, const char *rel) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s%s%s", g_W, *rel ? "/" : "", rel);
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    char name[512], path[1600];
    snprintf(name, sizeof name, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
    snprintf(path, sizeof path, "%s/%s", g_W, name);
    struct stat sb;
    if (lstat(path, &sb)) continue;
    if (s->n == s->cap) {
      s->cap = s->cap ? 2 * s->cap : 64;
      s->e = realloc(s->e, s->cap * sizeof *s->e);
      if (!s->e) abort();
    }
    unsigned long long h = 1469598103934665603ULL; /* FNV-1a of a regular file's bytes */
    if (S_ISREG(sb.st_mode) && sb.st_size < (1 << 24)) {
      FILE *f = fopen(path, "rb");
      int c;
      while (f && (c = getc(f)) != EOF) h = (h ^ (unsigned)c) * 1099511628211ULL;
      if (f) fclose(f);
    }
    entry *e = &s->e[s->n++];
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->line, sizeof e->line, "%s size %lld mtime %lld.%09ld inode %llu mode %o rdev "
             "%llu fnv %016llx", name, (long long)sb.st_size, (long long)sb.st_mtim.tv_sec,
             sb.st_mtim.tv_nsec, (unsigned long long)sb.st_ino, (unsigned)sb.st_mode,
             (unsigned long long)sb.st_rdev, h);
    if (S_ISDIR(sb.st_mode)) snap_dir(s, name);
  }
  closedir(d);
}

static snap snapshot(void) {
  snap s = {0};
  snap_dir(&s, "");
  return s;
}

static const entry *find(const snap *s, const char *name) {
  for (size_t i = 0; i < s->n; i++)
    if (!strcmp(s->e[i].name, name)) return &s->e[i];
  return NULL;
}

/* name is one of the allowed outputs, or inside one (allowed "figs" covers "figs/x.png"). */
static int allowed(const char *name, const char *const *outs) {
  for (; outs && *outs; outs++) {
    size_t n = strlen(*outs);
    if (!strncmp(name, *outs, n) && (name[n] == 0 || name[n] == '/')) return 1;
  }
  return 0;
}

/* Every difference between a and b must be an allowed output; returns the number of bad. */
static int compare(const char *what, const snap *a, const snap *b, const char *const *outs) {
  int bad = 0;
  for (size_t i = 0; i < a->n; i++) {
    const entry *o = find(b, a->e[i].name);
    if ((!o || strcmp(o->line, a->e[i].line)) && !allowed(a->e[i].name, outs))
      bad += FAIL("%s: %s %s (was: %s)", what, o ? "changed" : "removed", a->e[i].name,
                  a->e[i].line);
  }
  for (size_t i = 0; i < b->n; i++)
    if (!find(a, b->e[i].name) && !allowed(b->e[i].name, outs))
      bad += FAIL("%s: created %s", what, b->e[i].name);
  return bad;
}

/* Run args; every file change must be in outs; the exit status must be want (or, when
 * want2 >= 0, want2). */
static void check_cmd(const char *what, const char *const *args, const char *const *outs,
                      int want, int want2) {
  snap a = snapshot();
  int rc = run(args);
  snap b = snapshot();
  if (rc != want && rc != want2) FAIL("%s: exit %d, want %d\n%s", what, rc, want, g_err);
  compare(what, &a, &b, outs);
  free(a.e), free(b.e);
}

/* ---- fixtures -------------------------------------------------------------------------- */

static int write_file(const char *name, const char *text) {
  char p[600];
  snprintf(p, sizeof p, "%s/%s", g_W, name);
  FILE *f = fopen(p, "w");
  if (!f) return 1;
  fputs(text, f);
  return fclose(f) != 0;
}

static int have_gnuplot(void) {
  const char *path = getenv("PATH");
  char buf[4096];
  for (const char *p = path ? path : ""; *p;) {
    size_t n = strcspn(p, ":");
    snprintf(buf, sizeof buf, "%.*s/gnuplot", (int)n, p);
    if (access(buf, X_OK) == 0) return 1;
    p += n + (p[n] == ':');
  }
  return 0;
}

static const char SCEN[] = "[run]\ncompute = model\n[model]\nname = lenet5\n[coding]\nka = 2\n"
                           "kb = 2\n[cluster]\nworkers = 4\n";

/* ---- the parts ----------------------------------------------------------------------------- */

/* 1. good inputs: only the named outputs change. */
static void part_outputs(void) {
  if (write_file("s.ini", SCEN)) return (void)FAIL("fixtures");
  char sc[600];
  snprintf(sc, sizeof sc, "%s/sc", g_W);
  if (mkdir(sc, 0700) || write_file("sc/a.ini", SCEN)) return (void)FAIL("fixtures");
  const char *const none[] = {NULL};
  check_cmd("run (new db)", (const char *const[]){"run", "s.ini", "--db", "r.db", "-q", NULL},
            (const char *const[]){"r.db", NULL}, 0, -1);
  check_cmd("run --resume", (const char *const[]){"run", "s.ini", "--db", "r.db", "--resume", NULL},
            (const char *const[]){"r.db", NULL}, 0, -1);
  check_cmd("run into an existing db (refused: keys present)",
            (const char *const[]){"run", "s.ini", "--db", "r.db", NULL}, none, 2, -1);
  check_cmd("report", (const char *const[]){"report", "r.db", NULL}, none, 0, -1);
  check_cmd("report --per-scheme", (const char *const[]){"report", "r.db", "--per-scheme", NULL},
            none, 0, -1);
  /* no mpi runs: calibrate refuses, writing nothing, not even its --out */
  check_cmd("calibrate", (const char *const[]){"calibrate", "r.db", "--out", "f.ini", NULL},
            none, 1, -1);
  check_cmd("plot", (const char *const[]){"plot", "r.db", "all", "-o", "figs", NULL},
            (const char *const[]){"figs", NULL}, 1, 77);
  /* a copy relabelled as MPI runs: calibrate fits it and writes only its --out */
  char from[600], to[600];
  snprintf(from, sizeof from, "%s/r.db", g_W);
  snprintf(to, sizeof to, "%s/mpi.db", g_W);
  sqlite3 *db = NULL;
  int src = sqlite3_open_v2(from, &db, SQLITE_OPEN_READONLY, NULL);
  if (src == SQLITE_OK) {
    sqlite3 *dst = NULL;
    src = sqlite3_open(to, &dst);
    sqlite3_backup *b = src == SQLITE_OK ? sqlite3_backup_init(dst, "main", db, "main") : NULL;
    if (b) sqlite3_backup_step(b, -1), sqlite3_backup_finish(b);
    if (src == SQLITE_OK) src = sqlite3_exec(dst, "UPDATE runs SET backend = 'mpi'", NULL, NULL, NULL);
    sqlite3_close(dst);
  }
  sqlite3_close(db);
  if (src != SQLITE_OK) return (void)FAIL("fixture mpi.db");
  check_cmd("calibrate --out", (const char *const[]){"calibrate", "mpi.db", "--out", "f.ini", NULL},
            (const char *const[]){"f.ini", NULL}, 0, -1);
  check_cmd("calibrate --out (replace)",
            (const char *const[]){"calibrate", "mpi.db", "--out", "f.ini", NULL},
            (const char *const[]){"f.ini", NULL}, 0, -1);
  check_cmd("cond", (const char *const[]){"cond", "--workers", "4", "--ka", "2", "--kb", "2", NULL},
            none, 0, -1);
  check_cmd("models", (const char *const[]){"models", "lenet5", NULL}, none, 0, -1);
  check_cmd("optimum", (const char *const[]){"optimum", "--model", "lenet5", "--workers", "4", NULL},
            none, 0, -1);
  check_cmd("conv --out", (const char *const[]){"conv", "--shape", "2,8,8,3,3", "--workers", "4",
                                               "--out", "y.npy", NULL},
            (const char *const[]){"y.npy", NULL}, 0, -1);
  check_cmd("conv --out (replace)", (const char *const[]){"conv", "--shape", "2,8,8,3,3",
                                                         "--workers", "4", "--out", "y.npy", NULL},
            (const char *const[]){"y.npy", NULL}, 0, -1);
  /* sc/ holds no paper scenario, so most figures have no data: exit 1 (77 without gnuplot) */
  check_cmd("reproduce (new)", (const char *const[]){"reproduce", "--scenarios", "sc", "--db",
                                                    "p.db", "--out", "pf", "--report", "R.md", NULL},
            (const char *const[]){"p.db", "pf", "R.md", NULL}, 1, 77);
  check_cmd("reproduce (again: p.db moved to p.db.old)",
            (const char *const[]){"reproduce", "--scenarios", "sc", "--db", "p.db", "--out", "pf",
                                  "--report", "R.md", NULL},
            (const char *const[]){"p.db", "p.db.old", "pf", "R.md", NULL}, 1, 77);
  /* the existing backup survives: the next one is p.db.old.1 */
  check_cmd("reproduce (third: p.db.old kept, p.db.old.1 new)",
            (const char *const[]){"reproduce", "--scenarios", "sc", "--db", "p.db", "--out", "pf",
                                  "--report", "R.md", NULL},
            (const char *const[]){"p.db", "p.db.old.1", "pf", "R.md", NULL}, 1, 77);
  check_cmd("reproduce --resume", (const char *const[]){"reproduce", "--scenarios", "sc", "--db",
                                                       "p.db", "--resume", "--out", "pf",
                                                       "--report", "R.md", NULL},
            (const char *const[]){"p.db", "pf", "R.md", NULL}, 1, 77);
  check_cmd("run --db ''", (const char *const[]){"run", "s.ini", "--db", "", NULL}, none, 2, -1);
  if (!strstr(g_err, "empty file name")) FAIL("run --db '': message lacks 'empty file name': %s", g_err);
}

/* 2. a device node, a foreign SQLite file, a directory and a backup survive. */
static void part_survivors(void) {
  char p[600];
  snprintf(p, sizeof p, "%s/dev", g_W);
  int have_dev = mknod(p, S_IFCHR | 0600, makedev(1, 3)) == 0; /* like /dev/null */
  if (!have_dev)
    printf("rel_files: mknod not permitted here (%s): the device-node cases are skipped\n",
           strerror(errno));
  if (write_file("text.db", "a text file\n")) return (void)FAIL("fixtures");
  /* another program's SQLite file, in WAL mode as many are */
  snprintf(p, sizeof p, "%s/other.db", g_W);
  sqlite3 *db = NULL;
  int src = sqlite3_open(p, &db);
  if (src == SQLITE_OK)
    src = sqlite3_exec(db, "PRAGMA journal_mode = WAL; CREATE TABLE notes (body TEXT);"
                           "INSERT INTO notes VALUES ('not fcdcc')", NULL, NULL, NULL);
  sqlite3_close(db);
  if (src != SQLITE_OK) return (void)FAIL("fixture other.db");
  snprintf(p, sizeof p, "%s/adir", g_W);
  if (mkdir(p, 0700)) return (void)FAIL("fixtures");
  if (run((const char *const[]){"run", "s.ini", "--db", "own.db", "-q", NULL}) != 0)
    return (void)FAIL("fixture own.db: %s", g_err);
  const char *const none[] = {NULL};
  const char *targets[] = {"dev", "adir", NULL};
  for (int i = have_dev ? 0 : 1; targets[i]; i++) {
    const char *t = targets[i];
    char what[200];
    snprintf(what, sizeof what, "conv --out %s", t);
    check_cmd(what, (const char *const[]){"conv", "--shape", "2,8,8,3,3", "--workers", "4",
                                         "--out", t, NULL}, none, 2, -1);
    snprintf(what, sizeof what, "run --db %s", t);
    check_cmd(what, (const char *const[]){"run", "s.ini", "--db", t, NULL}, none, 2, -1);
    snprintf(what, sizeof what, "report %s", t);
    check_cmd(what, (const char *const[]){"report", t, NULL}, none, 2, -1);
    snprintf(what, sizeof what, "calibrate own.db --out %s", t);
    check_cmd(what, (const char *const[]){"calibrate", "own.db", "--out", t, NULL}, none, 2, -1);
  }
  const char *dbs[] = {"dev", "text.db", "adir", "other.db", NULL};
  for (int i = have_dev ? 0 : 1; dbs[i]; i++) {
    char what[200];
    snprintf(what, sizeof what, "reproduce --db %s", dbs[i]);
    check_cmd(what, (const char *const[]){"reproduce", "--scenarios", "sc", "--db", dbs[i],
                                         "--out", "pf", "--report", "R.md", NULL}, none, 2, -1);
    snprintf(what, sizeof what, "plot %s", dbs[i]);
    check_cmd(what, (const char *const[]){"plot", dbs[i], "mse-vs-n", "-o", "pf", NULL}, none, 2, -1);
  }
  if (have_dev) {
    check_cmd("reproduce --report dev", (const char *const[]){"reproduce", "--scenarios", "sc",
                                                              "--db", "q.db", "--out", "pf",
                                                              "--report", "dev", NULL},
              (const char *const[]){"q.db", "pf", NULL}, 1, -1);
    if (!strstr(g_err, "refusing to replace it")) FAIL("reproduce --report dev: %s", g_err);
  }
}

/* 3. a full disk before the first commit leaves no file. */
static void part_full_disk(void) {
  static const long limits[] = {0, 4096, 12000, 28672};
  for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
    child_opts o = {limits[i], 0};
    snap a = snapshot();
    int rc = run_opts(&o, (const char *const[]){"run", "s.ini", "--db", "full.db", "-q", NULL});
    snap b = snapshot();
    char what[100];
    snprintf(what, sizeof what, "run with RLIMIT_FSIZE %ld", limits[i]);
    if (rc == 0) FAIL("%s: exit 0", what);
    else if (!strstr(g_err, "full.db")) FAIL("%s: message does not name the file: %s", what, g_err);
    compare(what, &a, &b, (const char *const[]){NULL});
    free(a.e), free(b.e);
  }
}

/* 4. a read-only directory. */
static void part_readonly(void) {
  char ro[sizeof g_W];
  if (strlen(g_W) + 4 > sizeof ro) return (void)FAIL("path too long");
  snprintf(ro, sizeof ro, "%s/ro", g_W);
  if (mkdir(ro, 0755) || write_file("ro/s.ini", SCEN)) return (void)FAIL("fixtures");
  char saved[400];
  snprintf(saved, sizeof saved, "%s", g_W);
  snprintf(g_W, sizeof g_W, "%s", ro);
  if (run((const char *const[]){"run", "s.ini", "--db", "r.db", "-q", NULL}) != 0)
    FAIL("fixture ro/r.db: %s", g_err);
  if (chmod(ro, 0555)) FAIL("chmod");
  child_opts o = {-1, 1};
  snap a = snapshot();
  int rc = run_opts(&o, (const char *const[]){"run", "s.ini", "--db", "r.db", "--resume", NULL});
  if (rc == 124 || rc == 126 || rc == 127) {
    printf("rel_files: cannot run fcdcc as uid 65534 here (exit %d): read-only part skipped\n", rc);
    chmod(ro, 0755);
    snprintf(g_W, sizeof g_W, "%s", saved);
    free(a.e);
    return;
  }
  if (rc != 2 || !strstr(g_err, "the directory is read-only"))
    FAIL("run in a read-only directory: exit %d: %s", rc, g_err);
  rc = run_opts(&o, (const char *const[]){"report", "r.db", NULL});
  if (rc != 0) FAIL("report in a read-only directory: exit %d: %s", rc, g_err);
  rc = run_opts(&o, (const char *const[]){"calibrate", "r.db", NULL});
  if (rc != 1 || !strstr(g_err, "holds no decoded layer"))
    FAIL("calibrate in a read-only directory: exit %d: %s", rc, g_err);
  snap b = snapshot();
  compare("read-only directory", &a, &b, (const char *const[]){NULL});
  free(a.e), free(b.e);
  chmod(ro, 0755);
  snprintf(g_W, sizeof g_W, "%s", saved);
}

/* 6. two runs of one sweep at once. */
static void part_race(void) {
  if (write_file("race.ini", "[run]\ncompute = model\ntrials = 30\n[model]\nname = lenet5\n"
                             "[coding]\nka = 2\nkb = 2\n[cluster]\nworkers = 4\n"))
    return (void)FAIL("fixtures");
  int losers = 0;
  for (int round = 0; round < 3; round++) {
    char db[64];
    snprintf(db, sizeof db, "race%d.db", round);
    pid_t pid = fork();
    if (pid == 0) {
      int rc = run((const char *const[]){"run", "race.ini", "--db", db, "-q", NULL});
      if (rc) fputs(g_err, stderr);
      _exit(rc == 2 && !strstr(g_err, "--resume") ? 99 : rc);
    }
    int rc = run((const char *const[]){"run", "race.ini", "--db", db, "-q", NULL});
    int ws = 0;
    waitpid(pid, &ws, 0);
    int rc2 = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128;
    if (rc2 == 99 || (rc == 2 && !strstr(g_err, "--resume")))
      FAIL("race: the loser's message does not point at --resume: %s", g_err);
    if ((rc != 0 && rc != 2) || (rc2 != 0 && rc2 != 2) || rc == rc2)
      FAIL("race: exits %d and %d (want one 0, and 0 or 2)", rc, rc2);
    losers += (rc == 2) + (rc2 == 2);
    if (strstr(g_err, "UNIQUE") && !strstr(g_err, "another process"))
      FAIL("race: SQLite's bare constraint message: %s", g_err);
  }
  printf("rel_files: race: %d of 3 rounds had a loser\n", losers);
}

int main(int argc, char **argv) {
  if (argc != 2) return fprintf(stderr, "usage: rel_files FCDCC\n"), 2;
  static char exe[4096];
  if (!realpath(argv[1], exe) || access(exe, X_OK))
    return fprintf(stderr, "%s: not executable\n", argv[1]), 77;
  g_fcdcc = exe;
  if (rel_mkdtemp(g_top, sizeof g_top, "files")) return 1;
  snprintf(g_W, sizeof g_W, "%s/w", g_top);
  if (mkdir(g_W, 0755) || chmod(g_top, 0755)) return 1;
  if (!have_gnuplot()) printf("rel_files: no gnuplot: figures are not drawn (exit 77 accepted)\n");
  part_outputs();
  part_survivors();
  part_full_disk();
  part_readonly();
  part_race();
  printf("rel_files: %d failures\n", g_failed);
  rel_rmtree(g_top);
  return g_failed ? 1 : 0;
}
