/* rel_badinputs.c: the table of bad inputs (issue 5, part 6). A plain driver (it runs the
 * real program), registered with meson in suite unit.
 *
 *   rel_badinputs FCDCC TABLE FIXTURES
 *
 * TABLE (bad_inputs.tsv) has one malformed input per line, fields separated by TABs:
 *   EXIT  SUBSTRING  ARGS  [SCENARIO]
 * EXIT is the expected exit status; SUBSTRING must occur in the first line of stderr;
 * ARGS are the arguments after `fcdcc`, separated by single spaces; SCENARIO, if present,
 * is scenario text with "\n" (and "\t", "\r") escapes that is written to @T@/s.ini first. In ARGS and
 * SCENARIO, @T@ is a fresh working directory (also the child's cwd), @G@ a directory of
 * generated fixtures (below) and @F@ the checked-in fixtures folder. '#' lines and blank
 * lines are ignored.
 *
 * Each entry must: exit with EXIT; print nothing on stdout; print exactly one message line
 * on stderr starting "fcdcc " (plus, for usage errors, the "Try 'fcdcc CMD --help'." hint);
 * and write nothing: every file under @T@, @G@ and @F@ keeps its size and mtime, and no
 * file appears or disappears.
 *
 * Generated fixtures (@G@): gen.ini and fcdcc.db (a valid results file of gen.ini),
 * newer.db (fcdcc.db with user_version 99), other.db (an SQLite file of another
 * application), text.db (a text file), x.npy (1x1x32x32, lenet5's input), x3.npy
 * (3x8x8), k.npy (4x3x3x3), nan.npy (x.npy with a NaN), knan.npy (k.npy with an Inf),
 * x30.npy and k30.npy (x3.npy and k.npy times 1e30),
 * wnan/ (lenet5 weights with a NaN in conv2), wshape/ (lenet5 weights, conv1 of the wrong
 * shape), adir/ (a directory where a file is expected).
 * Files and databases (issue 11, make_file_fixtures): fifo and fifo.npy (FIFOs: every
 * reader must refuse them without blocking), wfifo/ (lenet5 weights with conv1.npy a FIFO), nul.ini
 * and nul.csv (a scenario and a trace with a NUL byte), sparse.npy (a 4x1x3x3 header on
 * a sparse 3 GiB file), descr0.npy (descr '<f8\0'), v9.npy and v15.npy (format versions
 * 9.0 and 1.5), walother.db (another application's WAL-mode SQLite file), calhuge.db
 * (fcdcc.db as backend='mpi' runs with transfer times of 1e308 s).
 *
 * Every child runs with a 60 s alarm, so an input that blocks fails its line instead of
 * hanging the suite. Snapshots also record inodes: a file replaced by another of the same
 * size and mtime is a change.
 */
#define _GNU_SOURCE /* memmem */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cod_blas.h"
#include "cod_tensor.h"
#include "model.h"
#include "model_weights.h"
#include "rel_util.h"

static const char *g_fcdcc;
static char g_top[300], g_T[400], g_G[400], g_F[1024];

/* ---- snapshots: every file under a directory with its size and mtime ----------------- */

typedef struct snap {
  char *text;
  size_t len, cap;
} snap;

static void snap_add(snap *s, const char *line) {
  size_t n = strlen(line);
  if (s->len + n + 1 > s->cap) {
    s->cap = (s->cap + n + 1) * 2;
    s->text = realloc(s->text, s->cap);
    if (!s->text) abort();
  }
  memcpy(s->text + s->len, line, n + 1);
  s->len += n;
}

static void snap_dir(snap *s, const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  char **names = NULL;
  size_t n = 0;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    names = realloc(names, (n + 1) * sizeof *names);
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  for (size_t i = 0; i < n; i++) /* readdir order is not stable: sort */
    for (size_t j = i + 1; j < n; j++)
      if (strcmp(names[j], names[i]) < 0) {
        char *t = names[i];
        names[i] = names[j], names[j] = t;
      }
  for (size_t i = 0; i < n; i++) {
    char path[4096], line[4300];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    if (lstat(path, &sb) == 0) {
      snprintf(line, sizeof line, "%s %lld %lld.%09ld %o %llu\n", path, (long long)sb.st_size,
               (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec, (unsigned)sb.st_mode,
               (unsigned long long)sb.st_ino);
      snap_add(s, line);
      if (S_ISDIR(sb.st_mode)) snap_dir(s, path);
    }
    free(names[i]);
  }
  free(names);
}

static char *snapshot(void) {
  snap s = {0};
  snap_add(&s, "");
  snap_dir(&s, g_T);
  snap_dir(&s, g_G);
  snap_dir(&s, g_F);
  return s.text;
}

/* ---- fixtures ------------------------------------------------------------------------ */

static double g_scale = 1.0; /* multiplies every generated value (x30.npy, k30.npy) */

/* A float64 .npy of rank ndim in @G@ with seeded values; if poisoned, the middle element
 * is `poison`. */
static int npy(const char *name, size_t ndim, size_t n, size_t c, size_t h, size_t w,
               int poisoned, double poison) {
  char path[600];
  cod_tensor t = {0};
  cod_err e = {0};
  snprintf(path, sizeof path, "%s/%s", g_G, name);
  if (cod_tensor_init(&t, n, c, h, w, COD_F64, &e)) return 1;
  t.ndim = ndim;
  double *v = t.data;
  for (size_t i = 0; i < n * c * h * w; i++) v[i] = g_scale * cos(0.71 * (double)i);
  if (poisoned) v[(n * c * h * w) / 2] = poison;
  int rc = cod_npy_save(path, &t, &e);
  cod_tensor_fini(&t);
  if (rc) fprintf(stderr, "rel_badinputs: %s\n", e.msg);
  return rc;
}

static int weights(const char *dir, const char *layer, size_t ndim, size_t n, size_t c,
                   size_t h, size_t w, int poisoned, double poison) {
  char path[600];
  model *m = NULL;
  model_weights *wt = NULL;
  cod_err e = {0};
  snprintf(path, sizeof path, "%s/%s", g_G, dir);
  if (mkdir(path, 0700) || model_lookup("lenet5", &m, &e) || model_weights_he(m, 3, &wt, &e) ||
      model_weights_save_dir(wt, path, &e))
    return fprintf(stderr, "rel_badinputs: weights: %s\n", e.msg), model_free(m), model_weights_free(wt), 1;
  model_weights_free(wt);
  model_free(m);
  char file[700];
  snprintf(file, sizeof file, "%s/%s.npy", dir, layer);
  return npy(file, ndim, n, c, h, w, poisoned, poison);
}

static int write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f) return 1;
  fputs(text, f);
  return fclose(f) != 0;
}

static int sql(const char *path, const char *stmt) {
  sqlite3 *db = NULL;
  int rc = sqlite3_open(path, &db);
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, stmt, NULL, NULL, NULL);
  if (rc != SQLITE_OK) fprintf(stderr, "rel_badinputs: %s: %s\n", path, sqlite3_errmsg(db));
  sqlite3_close(db);
  return rc != SQLITE_OK;
}

static int run_child(char **argv, const char *out, const char *errf);

/* A copy of @G@/.npy file `src` with byte `at` set to `v` (at < 0: no change) and the
 * text `from` replaced by `to` (same length), written to @G@/dst; if sparse_bytes, the
 * file is then extended (sparse) to that size. */
static int npy_variant(const char *src, const char *dst, long at, int v, const char *from,
                       const char *to, size_t to_len, long long sparse_bytes) {
  char p[600], q[600];
  unsigned char buf[4096];
  snprintf(p, sizeof p, "%s/%s", g_G, src);
  snprintf(q, sizeof q, "%s/%s", g_G, dst);
  FILE *f = fopen(p, "rb");
  if (!f) return 1;
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  if (at >= 0) buf[at] = (unsigned char)v;
  if (from) {
    unsigned char *m = memmem(buf, n, from, strlen(from));
    if (!m) return fprintf(stderr, "rel_badinputs: '%s' not in %s\n", from, src), 1;
    memcpy(m, to, to_len);
  }
  f = fopen(q, "wb");
  if (!f || fwrite(buf, 1, n, f) != n || fclose(f)) return 1;
  return sparse_bytes ? truncate(q, (off_t)sparse_bytes) != 0 : 0;
}

static int make_file_fixtures(void) {
  char p[600], q[700];
  for (int i = 0; i < 2; i++) {
    snprintf(p, sizeof p, "%s/%s", g_G, i ? "fifo.npy" : "fifo");
    if (mkfifo(p, 0600)) return fprintf(stderr, "rel_badinputs: mkfifo: %s\n", strerror(errno)), 1;
  }
  snprintf(p, sizeof p, "%s/wfifo", g_G);
  model *m = NULL;
  model_weights *wt = NULL;
  cod_err e = {0};
  if (mkdir(p, 0700) || model_lookup("lenet5", &m, &e) || model_weights_he(m, 3, &wt, &e) ||
      model_weights_save_dir(wt, p, &e))
    return fprintf(stderr, "rel_badinputs: wfifo: %s\n", e.msg), model_free(m), model_weights_free(wt), 1;
  model_weights_free(wt);
  model_free(m);
  snprintf(q, sizeof q, "%s/conv1.npy", p);
  if (unlink(q) || mkfifo(q, 0600)) return 1;
  static const char nul_ini[] = "[run]\ncompute = model\n[model]\nname = lenet5\0\n";
  snprintf(p, sizeof p, "%s/nul.ini", g_G);
  FILE *f = fopen(p, "wb");
  if (!f || fwrite(nul_ini, 1, sizeof nul_ini - 1, f) != sizeof nul_ini - 1 || fclose(f)) return 1;
  static const char nul_csv[] = "worker,factor\n0,1\n\0\n";
  snprintf(p, sizeof p, "%s/nul.csv", g_G);
  f = fopen(p, "wb");
  if (!f || fwrite(nul_csv, 1, sizeof nul_csv - 1, f) != sizeof nul_csv - 1 || fclose(f)) return 1;
  if (npy_variant("k.npy", "sparse.npy", -1, 0, NULL, NULL, 0, 3LL << 30) ||
      npy_variant("k.npy", "descr0.npy", -1, 0, "'<f8', ", "'<f8\0',", 7, 0) ||
      npy_variant("k.npy", "v9.npy", 6, 9, NULL, NULL, 0, 0) ||
      npy_variant("k.npy", "v15.npy", 7, 5, NULL, NULL, 0, 0))
    return 1;
  snprintf(p, sizeof p, "%s/walother.db", g_G);
  if (sql(p, "PRAGMA journal_mode = WAL; CREATE TABLE notes (body TEXT);")) return 1;
  snprintf(p, sizeof p, "%s/calhuge.db", g_G);
  snprintf(q, sizeof q, "%s/fcdcc.db", g_G);
  char *cp[] = {"/bin/cp", q, p, NULL};
  char o[600];
  snprintf(o, sizeof o, "%s/gen.out", g_top);
  if (run_child(cp, o, o) != 0 ||
      sql(p, "UPDATE runs SET backend = 'mpi'; UPDATE layers SET t_to_worker_s = 1e308, "
             "t_to_master_s = 1e308"))
    return 1;
  return 0;
}

static int make_fixtures(void) {
  char p[600], q[600];
  snprintf(p, sizeof p, "%s/gen.ini", g_G);
  if (write_text(p, "[run]\ncompute = model\n[model]\nname = lenet5\n[coding]\nka = 2\n"
                    "kb = 2\n[cluster]\nworkers = 4\n")) return 1;
  snprintf(q, sizeof q, "%s/fcdcc.db", g_G);
  char *argv[] = {(char *)g_fcdcc, "run", p, "--db", q, "-q", NULL};
  char o[600];
  snprintf(o, sizeof o, "%s/gen.out", g_top);
  if (run_child(argv, o, o) != 0) return fprintf(stderr, "rel_badinputs: cannot make fcdcc.db\n"), 1;
  /* newer.db: the same file, its schema version bumped (written by a "newer fcdcc") */
  snprintf(p, sizeof p, "%s/newer.db", g_G);
  char *cp[] = {"/bin/cp", q, p, NULL};
  if (run_child(cp, o, o) != 0 || sql(p, "PRAGMA user_version = 99")) return 1;
  snprintf(p, sizeof p, "%s/other.db", g_G);
  if (sql(p, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);"
             "INSERT INTO notes (body) VALUES ('not fcdcc')")) return 1;
  snprintf(p, sizeof p, "%s/text.db", g_G);
  if (write_text(p, "this is a text file, not a database\n")) return 1;
  snprintf(p, sizeof p, "%s/adir", g_G);
  if (mkdir(p, 0700)) return 1;
  if (npy("x.npy", 4, 1, 1, 32, 32, 0, 0) || npy("x3.npy", 3, 1, 3, 8, 8, 0, 0) ||
      npy("k.npy", 4, 4, 3, 3, 3, 0, 0) || npy("nan.npy", 4, 1, 1, 32, 32, 1, NAN) ||
      npy("knan.npy", 4, 4, 3, 3, 3, 1, INFINITY))
    return 1;
  g_scale = 1e30; /* finite, but their products overflow fp32 (and nearly fp64: 1e60) */
  int big = npy("x30.npy", 3, 1, 3, 8, 8, 0, 0) || npy("k30.npy", 4, 4, 3, 3, 3, 0, 0);
  g_scale = 1.0;
  if (big) return 1;
  if (weights("wnan", "conv2", 4, 16, 6, 5, 5, 1, NAN) ||
      weights("wshape", "conv1", 4, 6, 1, 3, 3, 0, 0))
    return 1;
  return make_file_fixtures();
}

/* ---- running one entry --------------------------------------------------------------- */

static int run_child(char **argv, const char *out, const char *errf) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fe = strcmp(out, errf) ? open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0600) : fo;
    if (fo < 0 || fe < 0 || chdir(g_T) != 0) _exit(126);
    dup2(fo, 1), dup2(fe, 2);
    alarm(60); /* kept across exec: a child blocked on an input dies with SIGALRM */
    execv(argv[0], argv);
    _exit(127);
  }
  int ws = 0;
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {}
  return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/* Replace @T@, @G@, @F@ and the two-character escapes "\n", "\t", "\r"; result in a
 * static buffer. */
static const char *expand(const char *in) {
  static char buf[8192];
  size_t n = 0;
  for (const char *p = in; *p && n + 1100 < sizeof buf; p++) {
    const char *rep = NULL;
    if (!strncmp(p, "@T@", 3)) rep = g_T;
    else if (!strncmp(p, "@G@", 3)) rep = g_G;
    else if (!strncmp(p, "@F@", 3)) rep = g_F;
    if (rep) {
      n += (size_t)sprintf(buf + n, "%s", rep);
      p += 2;
    } else if (p[0] == '\\' && p[1] == 'n') {
      buf[n++] = '\n';
      p++;
    } else if (p[0] == '\\' && p[1] == 't') {
      buf[n++] = '\t';
      p++;
    } else if (p[0] == '\\' && p[1] == 'r') {
      buf[n++] = '\r';
      p++;
    } else {
      buf[n++] = *p;
    }
  }
  buf[n] = 0;
  return buf;
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *b = calloc(1, 65536);
  *len = f ? fread(b, 1, 65535, f) : 0;
  if (f) fclose(f);
  return b;
}

/* 0 if the entry behaves; else 1 with a line on stderr. */
static int check_entry(int lineno, int want_exit, const char *want_msg, const char *args,
                       const char *scen) {
  char path[600], out[600], errf[600];
  rel_rmtree(g_T);
  if (mkdir(g_T, 0700)) return fprintf(stderr, "line %d: cannot make %s\n", lineno, g_T), 1;
  if (scen) {
    snprintf(path, sizeof path, "%s/s.ini", g_T);
    if (write_text(path, expand(scen))) return 1;
  }
  char argbuf[8192], *argv[64];
  int argc = 0;
  snprintf(argbuf, sizeof argbuf, "%s", expand(args));
  argv[argc++] = (char *)g_fcdcc;
  for (char *tok = argbuf; tok && argc < 63;) {
    char *sp = strchr(tok, ' ');
    if (sp) *sp = 0;
    if (*tok) argv[argc++] = tok;
    tok = sp ? sp + 1 : NULL;
  }
  argv[argc] = NULL;
  snprintf(out, sizeof out, "%s/stdout", g_top);
  snprintf(errf, sizeof errf, "%s/stderr", g_top);
  char *before = snapshot();
  int rc = run_child(argv, out, errf);
  char *after = snapshot();
  size_t lo, le;
  char *so = slurp(out, &lo), *se = slurp(errf, &le);
  int bad = 0;
  char first[1024] = "";
  sscanf(se, "%1023[^\n]", first);
  int lines = 0, hint = 0;
  /* one message: its first line, and the indented lines of a list it announces (every
   * infeasible point of a sweep, issue 17) */
  for (char *p = se; *p; p++)
    if (*p == '\n' && !(p[1] == ' ' && p[2] == ' ')) lines++;
  if (le && se[le - 1] != '\n') lines++;
  char *h = strstr(se, "\nTry 'fcdcc ");
  if (h && !strchr(h + 1, '\n')[1]) hint = 1;
  if (rc != want_exit)
    bad = fprintf(stderr, "line %d: exit %d, want %d\n", lineno, rc, want_exit);
  if (!strstr(first, want_msg))
    bad = fprintf(stderr, "line %d: first stderr line lacks '%s'\n", lineno, want_msg);
  if (strncmp(first, "fcdcc ", 6) != 0)
    bad = fprintf(stderr, "line %d: message does not start with 'fcdcc '\n", lineno);
  if (lines - hint != 1)
    bad = fprintf(stderr, "line %d: %d message lines on stderr, want 1\n", lineno, lines - hint);
  if (lo) bad = fprintf(stderr, "line %d: %zu bytes on stdout\n", lineno, lo);
  if (strcmp(before, after) != 0)
    bad = fprintf(stderr, "line %d: files changed\n--- before\n%s--- after\n%s", lineno,
                  before, after);
  if (bad) fprintf(stderr, "  command: fcdcc %s\n  stderr:\n%s\n", expand(args), se);
  else if (getenv("REL_VERBOSE")) printf("line %d: %s\n", lineno, first);
  free(before), free(after), free(so), free(se);
  return bad != 0;
}

int main(int argc, char **argv) {
  if (argc != 4) return fprintf(stderr, "usage: rel_badinputs FCDCC TABLE FIXTURES\n"), 2;
  static char exe[4096];
  if (!realpath(argv[1], exe) || access(exe, X_OK))
    return fprintf(stderr, "%s: not executable\n", argv[1]), 77;
  g_fcdcc = exe; /* absolute: children run in @T@ */
  /* On a CPU OpenBLAS does not know, fcdcc warns first (cod_blas.h); the table is about
   * fcdcc's own message, so the children get the core the warning would name. */
  const char *core = cod_blas_core_advice();
  if (core) setenv("OPENBLAS_CORETYPE", core, 0);
  FILE *t = fopen(argv[2], "r");
  if (!t) return fprintf(stderr, "cannot open %s\n", argv[2]), 1;
  if (!realpath(argv[3], g_F)) return fprintf(stderr, "no fixtures folder %s\n", argv[3]), 1;
  if (rel_mkdtemp(g_top, sizeof g_top, "bad")) return 1;
  snprintf(g_T, sizeof g_T, "%s/work", g_top);
  snprintf(g_G, sizeof g_G, "%s/gen", g_top);
  int status = 1;
  if (mkdir(g_T, 0700) || mkdir(g_G, 0700) || make_fixtures()) goto out;
  char line[8192];
  int lineno = 0, entries = 0, failed = 0;
  while (fgets(line, sizeof line, t)) {
    lineno++;
    line[strcspn(line, "\r\n")] = 0;
    if (!line[0] || line[0] == '#') continue;
    char *f[4] = {0};
    int nf = 0;
    for (char *p = line; p && nf < 4;) {
      f[nf++] = p;
      p = strchr(p, '\t');
      if (p) *p++ = 0;
    }
    if (nf < 3) {
      fprintf(stderr, "%s:%d: malformed table line\n", argv[2], lineno);
      failed++;
      continue;
    }
    entries++;
    failed += check_entry(lineno, atoi(f[0]), f[1], f[2], nf > 3 ? f[3] : NULL);
  }
  printf("rel_badinputs: %d entries, %d failed\n", entries, failed);
  status = failed ? 1 : 0;
out:
  fclose(t);
  rel_rmtree(g_top);
  return status;
}
