/* proto.c: measured prototype for issue 12 (not linked into fcdcc).
 *
 * Question: if a layer's workers rows were one row of `worker_sets(run_id, layer_index, n,
 * rows TEXT)` (`rows` a JSON array of per-worker arrays) and `workers` a VIEW over it with
 * today's columns, what would the writer, the computing side (formatting the JSON), exactness
 * and readers cost? The program replays the rows of a real quickstart database (runs, layers,
 * workers of its runs, cycled with new run ids) into two fresh databases side by side in one
 * process: "today" (schema-today.sql as fcdcc creates it, workers by INSERTs of 20 rows) and
 * "packed" (the same schema with workers replaced by worker_sets + the view). Both use WAL,
 * synchronous = NORMAL, foreign_keys = OFF, a SAVEPOINT per run and a transaction per 256
 * runs, as res_db does. Timings are thread CPU (CLOCK_THREAD_CPUTIME_ID), medians of the
 * repetitions; under callgrind, toggle-collect the functions named bench_*.
 *
 * Usage: proto write SRC.db OUTDIR RUNS REPS   writer cost, both schemas, side by side
 *        proto exact COUNT SEED                %.17g -> json ->> round trip of doubles
 *        proto read OUTDIR REPS                reader queries on the two databases
 * A prototype: errors print and exit (it is not library code). */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH_RUNS 256
#define MULTI_ROWS 20
#define W_COLS 14 /* columns of workers in today's schema */

static void die(const char *what, sqlite3 *db) {
  fprintf(stderr, "proto: %s: %s\n", what, db ? sqlite3_errmsg(db) : "");
  exit(1);
}

static void exec(sqlite3 *db, const char *sql) {
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    fprintf(stderr, "proto: %s\n  in: %.200s\n", msg, sql);
    exit(1);
  }
}

static double thread_cpu_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static char *read_text_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) die(path, NULL);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  if (!s || fread(s, 1, (size_t)n, f) != (size_t)n) die("reading schema", NULL);
  s[n] = 0;
  fclose(f);
  return s;
}

/* ---- source rows, kept as sqlite3_value copies ---- */
typedef struct {
  int n_cols;
  int n_rows;
  sqlite3_value **v; /* n_rows x n_cols */
  int64_t *run_id;   /* source run of each row */
  int64_t *layer;    /* layer_index (layers, workers) */
} rowset;

static void rowset_load(sqlite3 *db, const char *sql, rowset *rs, int run_col, int layer_col) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) die(sql, db);
  rs->n_cols = sqlite3_column_count(st);
  int cap = 1024;
  rs->n_rows = 0;
  rs->v = malloc(sizeof *rs->v * (size_t)cap * (size_t)rs->n_cols);
  rs->run_id = malloc(sizeof(int64_t) * (size_t)cap);
  rs->layer = malloc(sizeof(int64_t) * (size_t)cap);
  while (sqlite3_step(st) == SQLITE_ROW) {
    if (rs->n_rows == cap) {
      cap *= 2;
      rs->v = realloc(rs->v, sizeof *rs->v * (size_t)cap * (size_t)rs->n_cols);
      rs->run_id = realloc(rs->run_id, sizeof(int64_t) * (size_t)cap);
      rs->layer = realloc(rs->layer, sizeof(int64_t) * (size_t)cap);
    }
    for (int c = 0; c < rs->n_cols; c++)
      rs->v[(size_t)rs->n_rows * (size_t)rs->n_cols + (size_t)c] = sqlite3_value_dup(sqlite3_column_value(st, c));
    rs->run_id[rs->n_rows] = sqlite3_column_int64(st, run_col);
    rs->layer[rs->n_rows] = layer_col >= 0 ? sqlite3_column_int64(st, layer_col) : 0;
    rs->n_rows++;
  }
  sqlite3_finalize(st);
}

/* A source run: index ranges into the three row sets (rows are ordered by run). */
typedef struct {
  int run_row;
  int layer_first, layer_n;
  int worker_first, worker_n;
} src_run;

static sqlite3 *db_open(const char *path, const char *schema) {
  sqlite3 *db;
  remove(path);
  char wal[1024];
  snprintf(wal, sizeof wal, "%s-wal", path), remove(wal);
  snprintf(wal, sizeof wal, "%s-shm", path), remove(wal);
  if (sqlite3_open(path, &db) != SQLITE_OK) die(path, db);
  exec(db, "PRAGMA journal_mode = WAL");
  exec(db, "PRAGMA synchronous = NORMAL");
  exec(db, "PRAGMA foreign_keys = OFF");
  exec(db, schema);
  return db;
}

static char *insert_sql(const char *table, int cols, int rows) {
  size_t cap = 64 + (size_t)rows * (size_t)cols * 8;
  char *s = malloc(cap);
  size_t n = (size_t)snprintf(s, cap, "INSERT INTO %s VALUES ", table);
  int p = 0;
  for (int r = 0; r < rows; r++) {
    n += (size_t)snprintf(s + n, cap - n, r ? ", (" : "(");
    for (int c = 0; c < cols; c++) n += (size_t)snprintf(s + n, cap - n, c ? ", ?%d" : "?%d", ++p);
    n += (size_t)snprintf(s + n, cap - n, ")");
  }
  return s;
}

typedef struct {
  sqlite3 *db;
  sqlite3_stmt *runs, *layers, *w20, *w5, *w1, *sets, *sp, *rel;
  int packed;
} writer;

static sqlite3_stmt *prep(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) die(sql, db);
  return st;
}

static void writer_init(writer *w, sqlite3 *db, int packed, int run_cols, int layer_cols) {
  memset(w, 0, sizeof *w);
  w->db = db, w->packed = packed;
  char *s = insert_sql("runs", run_cols, 1);
  w->runs = prep(db, s), free(s);
  s = insert_sql("layers", layer_cols, 1);
  w->layers = prep(db, s), free(s);
  if (packed) {
    w->sets = prep(db, "INSERT INTO worker_sets VALUES (?1, ?2, ?3, ?4)");
  } else {
    s = insert_sql("workers", W_COLS, MULTI_ROWS), w->w20 = prep(db, s), free(s);
    s = insert_sql("workers", W_COLS, 5), w->w5 = prep(db, s), free(s);
    s = insert_sql("workers", W_COLS, 1), w->w1 = prep(db, s), free(s);
  }
  w->sp = prep(db, "SAVEPOINT run");
  w->rel = prep(db, "RELEASE run");
}

static void step_reset(writer *w, sqlite3_stmt *st) {
  if (sqlite3_step(st) != SQLITE_DONE) die("step", w->db);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
}

/* ---- JSON formatting of a layer's workers (the computing side's cost) ---- */
typedef struct {
  char *s;
  size_t n, cap;
} sbuf;

static void sb_reserve(sbuf *b, size_t more) {
  if (b->n + more + 1 > b->cap) {
    while (b->n + more + 1 > b->cap) b->cap = b->cap ? 2 * b->cap : 4096;
    b->s = realloc(b->s, b->cap);
    if (!b->s) die("out of memory", NULL);
  }
}

/* Appends one value as JSON: integers %lld, reals %.17g, text quoted (fcdcc's text
 * columns here are class names and status words: no character needs escaping, which the
 * prototype checks rather than escapes), NULL as null. */
static void json_value(sbuf *b, sqlite3_value *v) {
  sb_reserve(b, 32);
  switch (sqlite3_value_type(v)) {
  case SQLITE_INTEGER:
    b->n += (size_t)sprintf(b->s + b->n, "%lld", (long long)sqlite3_value_int64(v));
    break;
  case SQLITE_FLOAT:
    b->n += (size_t)sprintf(b->s + b->n, "%.17g", sqlite3_value_double(v));
    break;
  case SQLITE_NULL:
    memcpy(b->s + b->n, "null", 4), b->n += 4;
    break;
  default: {
    const char *t = (const char *)sqlite3_value_text(v);
    size_t len = strlen(t);
    for (size_t i = 0; i < len; i++)
      if (t[i] == '"' || t[i] == '\\' || (unsigned char)t[i] < 0x20) die("text needs escaping", NULL);
    sb_reserve(b, len + 2);
    b->s[b->n++] = '"', memcpy(b->s + b->n, t, len), b->n += len, b->s[b->n++] = '"';
  }
  }
}

/* The per-worker array holds columns 2.. of workers (worker .. tasks_used). */
__attribute__((noinline)) void bench_format_layer(sbuf *b, sqlite3_value **rows, int n) {
  b->n = 0;
  sb_reserve(b, 2);
  b->s[b->n++] = '[';
  for (int r = 0; r < n; r++) {
    sb_reserve(b, 2);
    if (r) b->s[b->n++] = ',';
    b->s[b->n++] = '[';
    for (int c = 2; c < W_COLS; c++) {
      if (c > 2) sb_reserve(b, 1), b->s[b->n++] = ',';
      json_value(b, rows[(size_t)r * W_COLS + (size_t)c]);
    }
    sb_reserve(b, 1);
    b->s[b->n++] = ']';
  }
  sb_reserve(b, 1);
  b->s[b->n++] = ']';
  b->s[b->n] = 0;
}

/* ---- writing one run ---- */
static int runs_key_col = -1; /* runs.run_key: UNIQUE, so made per replayed run */

static void bind_row(sqlite3_stmt *st, int first, sqlite3_value **v, int cols, int64_t run_id, int run_col) {
  for (int c = 0; c < cols; c++) {
    if (c == run_col) sqlite3_bind_int64(st, first + c, run_id);
    else sqlite3_bind_value(st, first + c, v[c]);
  }
}

static void bind_runs_row(sqlite3_stmt *st, sqlite3_value **v, int cols, int64_t run_id) {
  bind_row(st, 1, v, cols, run_id, 0);
  char key[128];
  int n = snprintf(key, sizeof key, "b016ccc54106fb11/p%d/t%d", (int)(run_id % 7), (int)run_id);
  sqlite3_bind_text(st, 1 + runs_key_col, key, n, SQLITE_TRANSIENT);
}

typedef struct {
  const src_run *src;
  const rowset *runs, *layers, *workers;
} source;

/* Today: runs row, layers rows, workers rows by INSERTs of 20 (then 5, then 1). */
__attribute__((noinline)) void bench_write_today(writer *w, const source *s, int si, int64_t run_id) {
  const src_run *r = &s->src[si];
  step_reset(w, w->sp);
  bind_runs_row(w->runs, s->runs->v + (size_t)r->run_row * (size_t)s->runs->n_cols, s->runs->n_cols, run_id);
  step_reset(w, w->runs);
  for (int l = 0; l < r->layer_n; l++) {
    bind_row(w->layers, 1, s->layers->v + (size_t)(r->layer_first + l) * (size_t)s->layers->n_cols,
             s->layers->n_cols, run_id, 0);
    step_reset(w, w->layers);
  }
  int i = 0;
  while (i < r->worker_n) {
    int left = r->worker_n - i;
    int k = left >= MULTI_ROWS ? MULTI_ROWS : left >= 5 ? 5 : 1;
    sqlite3_stmt *st = k == MULTI_ROWS ? w->w20 : k == 5 ? w->w5 : w->w1;
    for (int j = 0; j < k; j++)
      bind_row(st, 1 + j * W_COLS, s->workers->v + (size_t)(r->worker_first + i + j) * W_COLS, W_COLS, run_id, 0);
    step_reset(w, st);
    i += k;
  }
  step_reset(w, w->rel);
}

/* Packed: the JSON of each layer is made by the caller (computing side) and passed in. */
__attribute__((noinline)) void bench_write_packed(writer *w, const source *s, int si, int64_t run_id,
                                                  sbuf *json, const int *layer_n) {
  const src_run *r = &s->src[si];
  step_reset(w, w->sp);
  bind_runs_row(w->runs, s->runs->v + (size_t)r->run_row * (size_t)s->runs->n_cols, s->runs->n_cols, run_id);
  step_reset(w, w->runs);
  for (int l = 0; l < r->layer_n; l++) {
    const sqlite3_value *const *lv =
        (const sqlite3_value *const *)(s->layers->v + (size_t)(r->layer_first + l) * (size_t)s->layers->n_cols);
    bind_row(w->layers, 1, (sqlite3_value **)lv, s->layers->n_cols, run_id, 0);
    step_reset(w, w->layers);
    if (!layer_n[l]) continue;
    sqlite3_bind_int64(w->sets, 1, run_id);
    sqlite3_bind_int64(w->sets, 2, s->layers->layer[r->layer_first + l]);
    sqlite3_bind_int(w->sets, 3, layer_n[l]);
    sqlite3_bind_text(w->sets, 4, json[l].s, (int)json[l].n, SQLITE_STATIC);
    step_reset(w, w->sets);
  }
  step_reset(w, w->rel);
}

static char *packed_schema(const char *today) {
  /* today's schema with the workers table replaced by worker_sets and the view */
  const char *a = strstr(today, "CREATE TABLE workers (");
  const char *e = a ? strstr(a, ") WITHOUT ROWID;") : NULL;
  if (!a || !e) die("workers table not found in schema", NULL);
  e += strlen(") WITHOUT ROWID;");
  static const char *repl =
      "CREATE TABLE worker_sets (\n"
      "  run_id INTEGER NOT NULL,\n"
      "  layer_index INTEGER NOT NULL,\n"
      "  n INTEGER NOT NULL CHECK (n >= 1),\n"
      "  rows TEXT NOT NULL, -- JSON: [[worker, class, bytes_to_worker, ...tasks_used], ...]\n"
      "  PRIMARY KEY (run_id, layer_index),\n"
      "  FOREIGN KEY (run_id, layer_index) REFERENCES layers(run_id, layer_index)\n"
      "    ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED\n"
      ") WITHOUT ROWID;\n"
      "CREATE VIEW workers AS SELECT s.run_id AS run_id, s.layer_index AS layer_index,\n"
      "  j.value->>0 AS worker, j.value->>1 AS class, j.value->>2 AS bytes_to_worker,\n"
      "  j.value->>3 AS bytes_to_master, j.value->>4 AS bytes_stored,\n"
      "  CAST(j.value->>5 AS REAL) AS flops, j.value->>6 AS status,\n"
      "  CAST(j.value->>7 AS REAL) AS t_finish_s, CAST(j.value->>8 AS REAL) AS t_busy_s,\n"
      "  CAST(j.value->>9 AS REAL) AS energy_j, j.value->>10 AS tasks, j.value->>11 AS tasks_used\n"
      "  FROM worker_sets s, json_each(s.rows) j;";
  size_t n = (size_t)(a - today) + strlen(repl) + strlen(e) + 1;
  char *out = malloc(n);
  snprintf(out, n, "%.*s%s%s", (int)(a - today), today, repl, e);
  return out;
}

__attribute__((noinline)) void bench_commit_today(sqlite3 *db) { exec(db, "COMMIT"); }
__attribute__((noinline)) void bench_commit_packed(sqlite3 *db) { exec(db, "COMMIT"); }

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}
static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_d);
  return v[n / 2];
}

static int cmd_write(const char *src_path, const char *outdir, int runs, int reps) {
  sqlite3 *src;
  if (sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) die(src_path, src);
  rowset R, L, W;
  rowset_load(src, "SELECT * FROM runs ORDER BY run_id", &R, 0, -1);
  {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(src, "SELECT cid FROM pragma_table_info('runs') WHERE name = 'run_key'", -1, &st, NULL) !=
            SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
      die("runs.run_key not found", src);
    runs_key_col = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
  }
  rowset_load(src, "SELECT * FROM layers ORDER BY run_id, layer_index", &L, 0, 1);
  rowset_load(src, "SELECT * FROM workers ORDER BY run_id, layer_index, worker", &W, 0, 1);
  if (W.n_cols != W_COLS) die("workers has not 14 columns", NULL);
  src_run *sr = calloc((size_t)R.n_rows, sizeof *sr);
  for (int i = 0, li = 0, wi = 0; i < R.n_rows; i++) {
    sr[i].run_row = i;
    sr[i].layer_first = li;
    while (li < L.n_rows && L.run_id[li] == R.run_id[i]) li++;
    sr[i].layer_n = li - sr[i].layer_first;
    sr[i].worker_first = wi;
    while (wi < W.n_rows && W.run_id[wi] == R.run_id[i]) wi++;
    sr[i].worker_n = wi - sr[i].worker_first;
  }
  source s = {sr, &R, &L, &W};
  printf("source: %d runs, %d layers rows, %d workers rows (replayed cyclically)\n", R.n_rows, L.n_rows, W.n_rows);

  char *schema = read_text_file("schema-today.sql");
  char *pschema = packed_schema(schema);
  if (getenv("PACKED_ROWID")) { /* worker_sets as a rowid table: rows up to ~4 KB stay on their page */
    char *p = strstr(pschema, ") WITHOUT ROWID;\nCREATE VIEW workers");
    if (!p) die("packed schema", NULL);
    memcpy(p, ");              ", 16);
    printf("worker_sets: rowid table\n");
  }
  double *t_today = calloc((size_t)reps, sizeof(double)), *t_packed = calloc((size_t)reps, sizeof(double)),
         *t_fmt = calloc((size_t)reps, sizeof(double));
  sbuf json[64] = {0};
  int layer_n[64];
  size_t json_bytes = 0;
  for (int rep = 0; rep < reps; rep++) {
    char p1[1024], p2[1024];
    snprintf(p1, sizeof p1, "%s/today.db", outdir);
    snprintf(p2, sizeof p2, "%s/packed.db", outdir);
    sqlite3 *d1 = db_open(p1, schema), *d2 = db_open(p2, pschema);
    writer w1, w2;
    writer_init(&w1, d1, 0, R.n_cols, L.n_cols);
    writer_init(&w2, d2, 1, R.n_cols, L.n_cols);
    double tt = 0, tp = 0, tf = 0;
    json_bytes = 0;
    for (int b = 0; b < runs; b += BATCH_RUNS) {
      int end = b + BATCH_RUNS < runs ? b + BATCH_RUNS : runs;
      /* today, one batch */
      double t0 = thread_cpu_s();
      exec(d1, "BEGIN");
      for (int i = b; i < end; i++) bench_write_today(&w1, &s, i % R.n_rows, i + 1);
      bench_commit_today(d1);
      double t1 = thread_cpu_s();
      tt += t1 - t0;
      /* packed, one batch: formatting (computing side) timed apart from writing */
      for (int i = b; i < end; i++) {
        const src_run *r = &sr[i % R.n_rows];
        if (r->layer_n > 64) die("more than 64 layers", NULL);
        double f0 = thread_cpu_s();
        for (int l = 0, wi = r->worker_first; l < r->layer_n; l++) {
          int n = 0;
          while (wi + n < r->worker_first + r->worker_n && W.layer[wi + n] == L.layer[r->layer_first + l]) n++;
          layer_n[l] = n;
          if (n) bench_format_layer(&json[l], W.v + (size_t)wi * W_COLS, n), json_bytes += json[l].n;
          wi += n;
        }
        double f1 = thread_cpu_s();
        tf += f1 - f0;
        if (i == b) exec(d2, "BEGIN");
        bench_write_packed(&w2, &s, i % R.n_rows, i + 1, json, layer_n);
        tp += thread_cpu_s() - f1;
      }
      double c0 = thread_cpu_s();
      bench_commit_packed(d2);
      tp += thread_cpu_s() - c0;
    }
    t_today[rep] = tt, t_packed[rep] = tp, t_fmt[rep] = tf;
    printf("rep %d: today %.1f us/run, packed %.1f us/run, format %.1f us/run\n", rep, 1e6 * tt / runs,
           1e6 * tp / runs, 1e6 * tf / runs);
    sqlite3_stmt *all[] = {w1.runs, w1.layers, w1.w20, w1.w5, w1.w1, w1.sp, w1.rel,
                           w2.runs, w2.layers, w2.sets, w2.sp, w2.rel};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++) sqlite3_finalize(all[k]);
    exec(d1, "PRAGMA wal_checkpoint(TRUNCATE)");
    exec(d2, "PRAGMA wal_checkpoint(TRUNCATE)");
    sqlite3_close(d1), sqlite3_close(d2);
  }
  double mt = median(t_today, reps), mp = median(t_packed, reps), mf = median(t_fmt, reps);
  printf("median of %d, %d runs: writer today %.1f us/run, writer packed %.1f us/run (%.3f of today), "
         "JSON format %.1f us/run (%.0f bytes/run)\n",
         reps, runs, 1e6 * mt / runs, 1e6 * mp / runs, mp / mt, 1e6 * mf / runs, (double)json_bytes / runs);
  return 0;
}

/* ---- exactness ---- */
static uint64_t rng_state;
static uint64_t rng_next(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static double rng_unit(void) { return (double)(rng_next() >> 11) * 0x1.0p-53; }
static double log_uniform(double lo, double hi) { return lo * pow(hi / lo, rng_unit()); }

/* kind 0: times 1e-6..1e3 s; 1: energies 1e-6..1e6 J; 2: flops 1..1e12 (integral values
 * too, as flop counts are); 3: any finite double by its bits; 4: NULL. */
static double draw(int kind, int *is_null) {
  *is_null = 0;
  switch (kind) {
  case 0: return log_uniform(1e-6, 1e3);
  case 1: return log_uniform(1e-6, 1e6);
  case 2: return rng_next() & 1 ? floor(log_uniform(1.0, 1e12)) : log_uniform(1.0, 1e12);
  case 3: {
    double d;
    do {
      uint64_t u = rng_next();
      memcpy(&d, &u, sizeof d);
    } while (!isfinite(d));
    return d;
  }
  default: *is_null = 1; return 0;
  }
}

static int cmd_exact(long count, uint64_t seed) {
  rng_state = seed;
  sqlite3 *db;
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) die("open", db);
  sqlite3_stmt *st;
  /* one JSON array of 100 values per statement, read back element by element through
   * ->> and json_extract, as the view does, and through the view's CAST AS REAL */
  const char *sql = "SELECT j.value->>0, json_extract(j.value, '$[0]'), CAST(j.value->>0 AS REAL), "
                    "typeof(CAST(j.value->>0 AS REAL)) FROM json_each(?1) j ORDER BY j.key";
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) die(sql, db);
  enum { PER = 100 };
  double v[PER];
  int nul[PER], kind[PER];
  long mism_arrow[5] = {0}, mism_extract[5] = {0}, mism_cast[5] = {0}, drawn[5] = {0}, bad_type[5] = {0};
  sbuf b = {0};
  double t_fmt = 0;
  for (long done = 0; done < count; done += PER) {
    b.n = 0;
    sb_reserve(&b, 2);
    b.s[b.n++] = '[';
    double f0 = thread_cpu_s();
    for (int i = 0; i < PER; i++) {
      kind[i] = (int)(rng_next() % 5);
      v[i] = draw(kind[i], &nul[i]);
      drawn[kind[i]]++;
      sb_reserve(&b, 40);
      if (i) b.s[b.n++] = ',';
      if (nul[i]) memcpy(b.s + b.n, "[null]", 6), b.n += 6;
      else b.n += (size_t)sprintf(b.s + b.n, "[%.17g]", v[i]);
    }
    t_fmt += thread_cpu_s() - f0;
    b.s[b.n++] = ']', b.s[b.n] = 0;
    sqlite3_bind_text(st, 1, b.s, (int)b.n, SQLITE_STATIC);
    for (int i = 0; i < PER; i++) {
      if (sqlite3_step(st) != SQLITE_ROW) die("json_each", db);
      int k = kind[i];
      for (int c = 0; c < 3; c++) {
        sqlite3_value *x = sqlite3_column_value(st, c);
        int ok;
        if (nul[i]) ok = sqlite3_value_type(x) == SQLITE_NULL;
        else if (sqlite3_value_type(x) == SQLITE_NULL || sqlite3_value_type(x) == SQLITE_TEXT) ok = 0;
        else {
          double y = sqlite3_value_double(x);
          /* an INTEGER result (a %.17g text without '.' or 'e') must equal v exactly too */
          ok = memcmp(&y, &v[i], sizeof y) == 0;
          if (sqlite3_value_type(x) == SQLITE_INTEGER && (double)sqlite3_value_int64(x) != v[i]) ok = 0;
        }
        if (!ok) (c == 0 ? mism_arrow : c == 1 ? mism_extract : mism_cast)[k]++;
        if (!ok && c == 0 && mism_arrow[k] <= 3)
          printf("  mismatch kind %d: %.17g -> %.17g (%s)\n", k, v[i], sqlite3_value_double(x),
                 sqlite3_value_type(x) == SQLITE_INTEGER ? "integer" : "real");
      }
      const char *ty = (const char *)sqlite3_column_text(st, 3);
      if (strcmp(ty, nul[i] ? "null" : "real")) bad_type[k]++;
    }
    if (sqlite3_step(st) != SQLITE_DONE) die("json_each end", db);
    sqlite3_reset(st);
  }
  static const char *names[] = {"times 1e-6..1e3 s", "energies 1e-6..1e6 J", "flops 1..1e12",
                                "any finite double (bits)", "NULL"};
  printf("doubles: %%.17g text -> json_each -> (->>, json_extract, CAST(->> AS REAL)), seed %" PRIu64 "\n", seed);
  for (int k = 0; k < 5; k++)
    printf("  %-26s drawn %8ld  mismatches ->> %ld, json_extract %ld, cast %ld; typeof(cast) wrong %ld\n",
           names[k], drawn[k], mism_arrow[k], mism_extract[k], mism_cast[k], bad_type[k]);
  printf("  formatting %%.17g: %.3f us per value\n", 1e6 * t_fmt / (double)count);
  sqlite3_finalize(st);

  /* integers: up to 2^53 and beyond it to 2^63-1, negative too */
  if (sqlite3_prepare_v2(db, "SELECT ?1->>0, typeof(?1->>0)", -1, &st, NULL) != SQLITE_OK) die("int", db);
  long int_bad = 0, int_n = 0;
  char txt[64];
  for (long i = 0; i < count / 10; i++) {
    int64_t x;
    switch (i % 4) {
    case 0: x = (int64_t)(rng_next() >> 11); break;               /* 0 .. 2^53 */
    case 1: x = (int64_t)(rng_next() % 1000000); break;           /* small counts */
    case 2: x = (int64_t)(rng_next() >> 1); break;                /* up to 2^63-1 */
    default: x = -(int64_t)(rng_next() >> 11); break;             /* negative */
    }
    if (i == 0) x = INT64_C(9007199254740992);                   /* 2^53 */
    if (i == 1) x = INT64_MAX;
    if (i == 2) x = INT64_MIN;
    snprintf(txt, sizeof txt, "[%" PRId64 "]", x);
    sqlite3_bind_text(st, 1, txt, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_ROW) die("int step", db);
    if (sqlite3_column_int64(st, 0) != x || strcmp((const char *)sqlite3_column_text(st, 1), "integer")) {
      if (int_bad < 3) printf("  integer mismatch: %s -> %s\n", txt, (const char *)sqlite3_column_text(st, 0));
      int_bad++;
    }
    int_n++;
    sqlite3_reset(st);
  }
  printf("integers (0..2^53, small, up to 2^63-1, negative, INT64_MIN/MAX): %ld checked, %ld mismatches\n", int_n,
         int_bad);
  sqlite3_finalize(st);
  sqlite3_close(db);
  free(b.s);
  return 0;
}

/* ---- readers ---- */
static const char *read_queries[][2] = {
    {"per-layer aggregates (res_figures.c:1299 kind)",
     "SELECT COUNT(*), SUM(x) FROM (SELECT run_id, layer_index, MAX(t_finish_s) AS x, "
     "SUM(COALESCE(bytes_to_worker, 0) + COALESCE(bytes_to_master, 0)) AS down, AVG(bytes_stored) AS st "
     "FROM workers GROUP BY run_id, layer_index)"},
    {"per-layer correlated subquery (res_query.c:20 kind)",
     "SELECT COUNT(*), SUM(m) FROM (SELECT (SELECT MAX(w.flops) FROM workers w WHERE w.run_id = l.run_id "
     "AND w.layer_index = l.layer_index) AS m FROM layers l)"},
    {"per-run correlated subquery (res_recommend.c:34 kind)",
     "SELECT COUNT(*), SUM(b) FROM (SELECT (SELECT SUM(w.bytes_to_worker + w.bytes_to_master) FROM workers w "
     "WHERE w.run_id = r.run_id) AS b FROM runs r)"},
    {"per-worker status counts (filter on a text column)",
     "SELECT status, COUNT(*), SUM(tasks_used) FROM workers WHERE status <> 'refused' GROUP BY status"},
};

static int cmd_read(const char *outdir, int reps) {
  const char *names[2] = {"today", "packed"};
  sqlite3 *db[2];
  for (int d = 0; d < 2; d++) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s.db", outdir, names[d]);
    if (sqlite3_open_v2(p, &db[d], SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) die(p, db[d]);
  }
  for (size_t q = 0; q < sizeof read_queries / sizeof *read_queries; q++) {
    double t[2][16];
    char res[2][256];
    for (int r = 0; r < reps && r < 16; r++)
      for (int d = 0; d < 2; d++) {
        sqlite3_stmt *st;
        double t0 = thread_cpu_s();
        if (sqlite3_prepare_v2(db[d], read_queries[q][1], -1, &st, NULL) != SQLITE_OK) die("read", db[d]);
        size_t n = 0;
        res[d][0] = 0;
        while (sqlite3_step(st) == SQLITE_ROW)
          for (int c = 0; c < sqlite3_column_count(st); c++) {
            const unsigned char *x = sqlite3_column_text(st, c);
            n += (size_t)snprintf(res[d] + n, n < 256 ? 256 - n : 0, "%s|", x ? (const char *)x : "NULL");
            if (n >= 256) n = 255;
          }
        sqlite3_finalize(st);
        t[d][r] = thread_cpu_s() - t0;
      }
    int nr = reps < 16 ? reps : 16;
    double a = median(t[0], nr), b = median(t[1], nr);
    printf("%-52s today %8.1f ms, packed view %8.1f ms, ratio %.2fx; results %s\n", read_queries[q][0], 1e3 * a,
           1e3 * b, b / a, strcmp(res[0], res[1]) ? "DIFFER" : "equal");
    if (strcmp(res[0], res[1])) printf("    today %s\n    packed %s\n", res[0], res[1]);
  }
  /* the view against the table, every column, both ways; and the view's column types */
  char p[1024];
  snprintf(p, sizeof p, "ATTACH '%s/today.db' AS t", outdir);
  exec(db[1], p);
  const char *checks[] = {
      "SELECT COUNT(*) FROM (SELECT * FROM workers EXCEPT SELECT * FROM t.workers)",
      "SELECT COUNT(*) FROM (SELECT * FROM t.workers EXCEPT SELECT * FROM workers)",
      "SELECT COUNT(*) FROM workers v JOIN t.workers w USING (run_id, layer_index, worker) WHERE "
      "typeof(v.class) <> typeof(w.class) OR typeof(v.bytes_to_worker) <> typeof(w.bytes_to_worker) OR "
      "typeof(v.bytes_to_master) <> typeof(w.bytes_to_master) OR typeof(v.bytes_stored) <> typeof(w.bytes_stored) "
      "OR typeof(v.flops) <> typeof(w.flops) OR typeof(v.status) <> typeof(w.status) OR "
      "typeof(v.t_finish_s) <> typeof(w.t_finish_s) OR typeof(v.t_busy_s) <> typeof(w.t_busy_s) OR "
      "typeof(v.energy_j) <> typeof(w.energy_j) OR typeof(v.tasks) <> typeof(w.tasks) OR "
      "typeof(v.tasks_used) <> typeof(w.tasks_used) OR typeof(v.worker) <> typeof(w.worker)",
      "SELECT COUNT(*) FROM workers v JOIN t.workers w USING (run_id, layer_index, worker) WHERE "
      "v.flops IS NOT w.flops OR v.t_finish_s IS NOT w.t_finish_s OR v.t_busy_s IS NOT w.t_busy_s OR "
      "v.energy_j IS NOT w.energy_j",
      "SELECT group_concat(name || ':' || type, ' ') FROM pragma_table_info('workers')",
      "SELECT group_concat(name || ':' || type, ' ') FROM pragma_table_info('workers', 't')",
  };
  const char *labels[] = {"view rows not in table", "table rows not in view", "rows with a typeof() differing",
                          "rows with a REAL differing (IS NOT)", "view declared types", "table declared types"};
  for (size_t k = 0; k < sizeof checks / sizeof *checks; k++) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db[1], checks[k], -1, &st, NULL) != SQLITE_OK) die(checks[k], db[1]);
    if (sqlite3_step(st) != SQLITE_ROW) die("check", db[1]);
    printf("%-36s %s\n", labels[k], (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
  }
  sqlite3_close(db[0]), sqlite3_close(db[1]);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 6 && !strcmp(argv[1], "write")) return cmd_write(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
  if (argc == 4 && !strcmp(argv[1], "exact")) return cmd_exact(atol(argv[2]), strtoull(argv[3], NULL, 10));
  if (argc == 4 && !strcmp(argv[1], "read")) return cmd_read(argv[2], atoi(argv[3]));
  fprintf(stderr, "usage: proto write SRC.db OUTDIR RUNS REPS | exact COUNT SEED | read OUTDIR REPS\n");
  return 2;
}
