/* test_runner_fast.c: the runner's speed machinery changes no row (issue 12).
 *
 *  - the condition-number cache: every lookup (miss, hit, another arrival order, after
 *    evictions) equals cod_code_cond on the set's ids in ascending order, computed here
 *    without the cache; and whole runs with a warm per-thread cache equal runs that each
 *    start from a fresh one, row by row;
 *  - [run] cond = none gives the rows of cond = used except cond and cond_flagged (NULL),
 *    model-only and real; cond = worst stores the worst set's number, found here by
 *    enumerating every set with cod_code_cond;
 *  - the writer thread: runs are committed in (point, trial) order (run_id order), in
 *    batches of the configured size, with --jobs 1 and 2, and the rows equal a sweep with
 *    one run per batch;
 *  - a SIGKILL inside a batch: a child process runs the sweep and kills itself after the
 *    third run of its second batch is inserted (before that batch commits); the file then
 *    holds exactly the first batch (the runs waiting when the writer started: 1 to 5),
 *    whole and in order, and --resume runs exactly the missing runs,
 *    after which the rows equal an uninterrupted sweep's.
 * Scenarios are small seeded LeNet-5 sweeps; random sets come from a seeded gsl_rng.
 */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cod_alloc.h"
#include "cod_code.h"
#include "model.h"
#include "run_cache.h"
#include "run_exec.h"
#include "run_scenario.h"
#include "run_sweep.h"
#include "tr_db.h"
#include "tr_tmpdir.h"

static char g_dir[256];

static void make_dir(void) {
  gsl_set_error_handler_off();
  cr_assert_eq(tr_tmpdir_make(g_dir, sizeof g_dir, "fasttest"), 0, "mkdtemp failed");
}

static void remove_dir(void) { tr_tmpdir_remove(g_dir); }

TestSuite(fast, .init = make_dir, .fini = remove_dir);

static void db_path(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "%s/%s", g_dir, name);
}

/* ---- helpers ------------------------------------------------------------------------ */

static run_scenario *parse(const char *text) {
  run_scenario *sc = NULL;
  cod_err e = {0};
  cr_assert_eq(run_scenario_parse(text, strlen(text), "fast.ini", &sc, &e), COD_OK, "%s", e.msg);
  return sc;
}

static void sweep(const char *text, const char *path, size_t jobs, size_t batch,
                  run_sweep_stats *st) {
  run_scenario *sc = parse(text);
  run_sweep_opts o;
  memset(&o, 0, sizeof o);
  o.db_path = path, o.jobs = jobs, o.batch_max_runs = batch, o.batch_max_s = 60;
  cod_err e = {0};
  int rc = run_sweep(sc, &o, st, &e);
  run_scenario_free(sc);
  cr_assert_eq(rc, COD_OK, "%s", e.msg);
}

static long q_long(sqlite3 *db, const char *sql) {
  char *d = tr_q_dump(db, sql);
  long v = strtol(d, NULL, 10);
  free(d);
  return v;
}

/* Columns that do not describe the host (wall clock, CPU times, run_id) nor the scenario
 * text (run_key and scenario_hash: two scenarios that differ in one key are compared by
 * (point, trial)). */
#define RUN_COLS "point_index, trial, seed, scheme, workers, ka, kb, delta, status, " \
                 "status_time_s, latency_s, e2e_mse, e2e_rel_error, e2e_max_abs_error"
#define LAYER_COLS "r.point_index, r.trial, l.layer_index, l.ka, l.kb, l.delta, l.workers_used, "          \
                   "l.t_encode_s, l.t_to_worker_s, l.t_compute_s, l.t_to_master_s, l.t_decode_s, " \
                   "l.t_total_s, l.mse, l.rel_error, l.max_abs_error, l.status"
#define WORKER_COLS "r.point_index, r.trial, w.layer_index, w.worker, w.class, w.bytes_to_worker, w.bytes_to_master, " \
                    "w.bytes_stored, w.flops, w.status, w.t_finish_s"

static char *dump_all(const char *path, const char *extra_layer_cols) {
  sqlite3 *db = tr_open_ro(path);
  char sql[1024];
  char *a = tr_q_dump(db, "SELECT " RUN_COLS " FROM runs ORDER BY 1, 2");
  snprintf(sql, sizeof sql, "SELECT " LAYER_COLS "%s FROM layers l JOIN runs r USING (run_id) "
           "ORDER BY 1, 2, 3", extra_layer_cols);
  char *b = tr_q_dump(db, sql);
  char *c = tr_q_dump(db, "SELECT " WORKER_COLS " FROM workers w JOIN runs r USING (run_id) "
                       "ORDER BY 1, 2, 3, 4");
  sqlite3_close(db);
  size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
  char *all = malloc(n);
  cr_assert_not_null(all);
  snprintf(all, n, "%s%s%s", a, b, c);
  free(a), free(b), free(c);
  return all;
}

/* ---- the condition-number cache ---------------------------------------------------- */

static int cmp_size(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return (x > y) - (x < y);
}

/* A seeded random delta-subset of 0..n-1 in random order. */
static void random_set(gsl_rng *r, size_t n, size_t delta, size_t *out) {
  size_t all[COD_WORKERS_MAX];
  for (size_t i = 0; i < n; i++) all[i] = i;
  for (size_t i = 0; i < delta; i++) {
    size_t j = i + gsl_rng_uniform_int(r, n - i), t = all[i];
    all[i] = all[j], all[j] = t;
  }
  memcpy(out, all, delta * sizeof *out);
}

static cod_code *code_of(const char *scheme, size_t n, size_t ka, size_t kb) {
  cod_conv_geom g = {2, 12, 12, 8, 3, 3, 1, 1};
  cod_code_params p = cod_code_params_default();
  p.scheme = scheme, p.n_workers = n, p.ka = ka, p.kb = kb;
  cod_code *c = NULL;
  cod_err e = {0};
  cr_assert_eq(cod_code_new(&p, &g, &c, &e), COD_OK, "%s", e.msg);
  return c;
}

Test(fast, cond_cache_lookups_equal_recomputation_on_the_sorted_set) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 99);
  /* more codes than the cache holds, so the least recently used ones are evicted */
  cod_code *codes[RUN_COND_CACHE_CODES + 4];
  size_t nc = sizeof codes / sizeof codes[0];
  for (size_t i = 0; i < nc; i++)
    codes[i] = code_of(i % 2 ? "poly-real" : "nsctc-rot", 8 + i, 2, 2);
  run_cond_cache *cache = NULL;
  uint64_t lookups = 0;
  for (int round = 0; round < 3; round++)
    for (size_t i = 0; i < nc; i++) {
      size_t n = cod_code_workers(codes[i]), d = cod_code_threshold(codes[i]);
      size_t set[COD_WORKERS_MAX], sorted[COD_WORKERS_MAX];
      for (int k = 0; k < 6; k++) {
        random_set(r, n, d, set);
        memcpy(sorted, set, d * sizeof *set);
        qsort(sorted, d, sizeof *sorted, cmp_size);
        double ref, got, again;
        cr_assert_eq(cod_code_cond(codes[i], sorted, d, &ref, NULL), COD_OK);
        cr_assert_eq(run_cond_cache_get(&cache, codes[i], set, d, &got, NULL, NULL), COD_OK);
        /* the same set in another order: a hit with the same number */
        size_t rev[COD_WORKERS_MAX];
        for (size_t j = 0; j < d; j++) rev[j] = set[d - 1 - j];
        cr_assert_eq(run_cond_cache_get(&cache, codes[i], rev, d, &again, NULL, NULL), COD_OK);
        lookups += 2;
        cr_assert_eq(got, ref, "code %zu: cache %.17g, recomputed %.17g", i, got, ref);
        cr_assert_eq(again, ref, "code %zu: second order %.17g, recomputed %.17g", i, again, ref);
      }
    }
  run_cache_stats st = run_cond_cache_stats(cache);
  cr_expect_eq(st.hits + st.misses, lookups);
  cr_expect_geq(st.hits, lookups / 2, "every reversed lookup hits: %lu of %lu",
                (unsigned long)st.hits, (unsigned long)lookups);
  cr_expect_gt(st.evictions, 0, "more codes than RUN_COND_CACHE_CODES evict");
  /* without a cache: the same numbers */
  size_t set[COD_WORKERS_MAX], sorted[COD_WORKERS_MAX];
  random_set(r, 9, 4, set);
  memcpy(sorted, set, 4 * sizeof *set);
  qsort(sorted, 4, sizeof *sorted, cmp_size);
  double ref, got;
  cr_assert_eq(cod_code_cond(codes[1], sorted, 4, &ref, NULL), COD_OK);
  cr_assert_eq(run_cond_cache_get(NULL, codes[1], set, 4, &got, NULL, NULL), COD_OK);
  cr_expect_eq(got, ref);
  /* an undecodable set is cod_code_cond's refusal, not a cached number */
  cod_err e = {0};
  cr_expect_eq(run_cond_cache_get(&cache, codes[1], set, 3, &got, NULL, &e), COD_EUNDECODABLE, "%s", e.msg);
  run_cond_cache_free(cache);
  for (size_t i = 0; i < nc; i++) cod_code_free(codes[i]);
  gsl_rng_free(r);
}

/* Every threshold-size set of a code, twice, in a scrambled order: each lookup equals
 * cod_code_cond of the set (bit for bit), the first pass misses exactly once per distinct
 * key (nsctc-rot: one per orbit of its rotations and reflections; others: one per set) and
 * the second pass never misses: the table's buckets hold every key of these codes. */
static int comb_next(size_t *set, size_t k, size_t n) {
  size_t i = k;
  while (i > 0 && set[i - 1] == n - k + i - 1) i--;
  if (i == 0) return 0;
  set[i - 1]++;
  for (size_t j = i; j < k; j++) set[j] = set[j - 1] + 1;
  return 1;
}

#define KEY_STRIDE 16 /* keys stored zero-padded to 16 ids */
static int cmp_key(const void *a, const void *b) {
  return memcmp(a, b, KEY_STRIDE * sizeof(size_t));
}

Test(fast, cond_cache_holds_every_set_and_shares_orbits) {
  const char *schemes[] = {"nsctc-rot", "poly-real"};
  const size_t cfg[][3] = {{20, 4, 4}, {14, 3, 3}};
  for (size_t c = 0; c < 2; c++) {
    cod_code *code = code_of(schemes[c], cfg[c][0], cfg[c][1], cfg[c][2]);
    size_t n = cfg[c][0], d = cfg[c][1] * cfg[c][2], set[16], rev[16], n_sets = 0;
    size_t *keys = calloc(5000 * KEY_STRIDE, sizeof *keys);
    cr_assert(keys);
    run_cond_cache *cache = NULL;
    run_cache_stats prev = {0, 0, 0};
    for (int pass = 0; pass < 2; pass++) {
      for (size_t i = 0; i < d; i++) set[i] = i;
      do {
        for (size_t j = 0; j < d; j++) rev[j] = set[(j * 7 + pass) % d]; /* 7 is prime to d */
        double ref, got;
        cr_assert_eq(cod_code_cond(code, set, d, &ref, NULL), COD_OK);
        cr_assert_eq(run_cond_cache_get(&cache, code, rev, d, &got, NULL, NULL), COD_OK);
        cr_assert_eq(got, ref, "%s: cache %.17g, recomputed %.17g", schemes[c], got, ref);
        if (pass == 0) {
          size_t nk;
          cr_assert_eq(cod_code_cond_key(code, set, d, keys + n_sets * KEY_STRIDE, &nk, NULL), COD_OK);
          n_sets++;
        }
      } while (comb_next(set, d, n));
      run_cache_stats st = run_cond_cache_stats(cache);
      if (pass == 1) cr_expect_eq(st.misses, prev.misses, "%s: second pass misses", schemes[c]);
      cr_expect_eq(st.evictions, 0, "%s", schemes[c]);
      prev = st;
    }
    qsort(keys, n_sets, KEY_STRIDE * sizeof *keys, cmp_key);
    size_t distinct = n_sets ? 1 : 0;
    for (size_t i = 1; i < n_sets; i++) distinct += cmp_key(keys + (i - 1) * KEY_STRIDE, keys + i * KEY_STRIDE) != 0;
    cr_expect_eq(prev.misses, distinct, "%s: %lu misses, %zu distinct keys of %zu sets",
                 schemes[c], (unsigned long)prev.misses, distinct, n_sets);
    if (c == 0) cr_expect_lt(distinct * 20, n_sets, "orbits of up to 40 sets: %zu", distinct);
    else cr_expect_eq(distinct, n_sets);
    free(keys);
    run_cond_cache_free(cache);
    cod_code_free(code);
  }
}

/* n = 6, 2 x 2: only C(6, 4) = 15 sets, so 40 runs of 3 layers must repeat sets. */
#define SMALL_MODEL                                                                      \
  "[run]\nseed = 3\ntrials = 40\ncompute = model\n[model]\nname = lenet5\n"              \
  "[coding]\nscheme = nsctc-rot\nka = 2\nkb = 2\n[cluster]\nworkers = 6\n"

Test(fast, warm_caches_give_the_rows_of_fresh_ones) {
  run_scenario *sc = parse(SMALL_MODEL);
  run_config cfg;
  cod_err e = {0};
  cr_assert_eq(run_scenario_point(sc, 0, &cfg, &e), COD_OK, "%s", e.msg);
  run_assets *warm = NULL;
  size_t repeats = 0, decoded = 0;
  char seen[64][32];
  size_t n_seen = 0;
  for (size_t t = 0; t < 40; t++) {
    run_ident id = {"fast.ini", "h", "{}", 0, t};
    run_result a, b;
    run_assets *fresh = NULL;
    cr_assert_eq(run_execute(&cfg, &id, &warm, &a, &e), COD_OK, "%s", e.msg);
    cr_assert_eq(run_execute(&cfg, &id, &fresh, &b, &e), COD_OK, "%s", e.msg);
    run_assets_free(fresh);
    cr_assert_eq(a.n_layers, b.n_layers);
    cr_assert_eq(a.run.latency_s, b.run.latency_s);
    for (size_t l = 0; l < a.n_layers; l++) {
      const res_layer_row *x = &a.layers[l], *y = &b.layers[l];
      cr_assert_str_eq(x->workers_used, y->workers_used);
      cr_assert_eq(x->cond, y->cond, "trial %zu layer %zu: warm %.17g, fresh %.17g", t, l,
                   x->cond, y->cond);
      cr_assert_eq(x->t_total_s, y->t_total_s);
      cr_assert_eq(x->ka, y->ka);
      /* the set, sorted, as a key: repeats prove the warm cache was hit */
      size_t ids[8], k = 0;
      char *p = (char *)x->workers_used;
      while (*p && k < 8) ids[k++] = strtoul(p, &p, 10), p += *p == ',';
      qsort(ids, k, sizeof *ids, cmp_size);
      char key[32];
      int off = 0;
      for (size_t i = 0; i < k; i++) off += snprintf(key + off, sizeof key - (size_t)off, "%zu,", ids[i]);
      int hit = 0;
      for (size_t i = 0; i < n_seen && !hit; i++) hit = strcmp(seen[i], key) == 0;
      /* model mode computes no numbers: no encode or compute CPU; decode CPU is only the
       * condition numbers computed, so a set the warm cache holds costs none, and a fresh
       * cache computes its first one */
      cr_assert(x->cpu_encode_s == 0.0 && y->cpu_encode_s == 0.0 && x->cpu_compute_s == 0.0,
                "trial %zu layer %zu: model-mode encode/compute CPU %g %g", t, l,
                x->cpu_encode_s, x->cpu_compute_s);
      if (hit)
        cr_assert(x->cpu_decode_s == 0.0, "trial %zu layer %zu: a cached set cost %g s", t, l,
                  x->cpu_decode_s);
      if (l == 0)
        cr_assert(y->cpu_decode_s > 0.0, "trial %zu: a computed cond cost no CPU", t);
      if (hit) repeats++;
      else if (n_seen < 64) snprintf(seen[n_seen++], sizeof seen[0], "%s", key);
      decoded++;
    }
    for (size_t w = 0; w < a.n_workers; w++) {
      cr_assert_str_eq(a.workers[w].status, b.workers[w].status);
      cr_assert(a.workers[w].t_finish_s == b.workers[w].t_finish_s ||
                (isnan(a.workers[w].t_finish_s) && isnan(b.workers[w].t_finish_s)));
    }
    run_result_fini(&a);
    run_result_fini(&b);
  }
  cr_expect_gt(repeats, decoded / 2, "sets repeat (%zu of %zu decodes), so the warm cache hit",
               repeats, decoded);
  run_assets_free(warm);
  run_scenario_free(sc);
}

/* ---- [run] cond ---------------------------------------------------------------------- */

#define COND_SCENARIO                                                                    \
  "[run]\nseed = 5\ntrials = 6\ncompute = %s\ncond = %s\n[model]\nname = lenet5\n"       \
  "[coding]\nscheme = nsctc-rot, poly-real\nka = 2\nkb = 2\n[cluster]\nworkers = 7\n"

static void cond_none_check(const char *compute) {
  char text[512], pa[400], pb[400];
  db_path(pa, sizeof pa, "a.db"), db_path(pb, sizeof pb, "b.db");
  snprintf(text, sizeof text, COND_SCENARIO, compute, "used");
  sweep(text, pa, 2, 0, NULL);
  snprintf(text, sizeof text, COND_SCENARIO, compute, "none");
  sweep(text, pb, 2, 0, NULL);
  char *a = dump_all(pa, ""), *b = dump_all(pb, "");
  cr_expect_str_eq(a, b, "cond = none changed rows other than cond");
  free(a), free(b);
  sqlite3 *da = tr_open_ro(pa), *db = tr_open_ro(pb);
  cr_expect_eq(q_long(db, "SELECT COUNT(*) FROM layers WHERE cond IS NOT NULL OR "
                          "cond_flagged IS NOT NULL"), 0, "cond = none stores NULL");
  cr_expect_eq(q_long(da, "SELECT COUNT(*) FROM layers WHERE cond IS NULL"), 0,
               "cond = used stores every decode's number");
  cr_expect_gt(q_long(da, "SELECT COUNT(*) FROM layers"), 30);
  sqlite3_close(da), sqlite3_close(db);
}

Test(fast, cond_none_rows_equal_cond_used_rows_but_cond_model_only) { cond_none_check("model"); }
Test(fast, cond_none_rows_equal_cond_used_rows_but_cond_real) { cond_none_check("real"); }

Test(fast, cond_worst_stores_the_worst_set_of_the_code) {
  char text[512], pa[400];
  db_path(pa, sizeof pa, "c.db");
  snprintf(text, sizeof text, COND_SCENARIO, "model", "worst");
  sweep(text, pa, 1, 0, NULL);
  /* independent: every C(7, 4) set of each code through cod_code_cond */
  const char *schemes[] = {"nsctc-rot", "poly-real"};
  sqlite3 *db = tr_open_ro(pa);
  for (int s = 0; s < 2; s++) {
    cod_code *c = code_of(schemes[s], 7, 2, 2);
    double worst = 0;
    size_t set[4];
    for (set[0] = 0; set[0] < 7; set[0]++)
      for (set[1] = set[0] + 1; set[1] < 7; set[1]++)
        for (set[2] = set[1] + 1; set[2] < 7; set[2]++)
          for (set[3] = set[2] + 1; set[3] < 7; set[3]++) {
            double k;
            cr_assert_eq(cod_code_cond(c, set, 4, &k, NULL), COD_OK);
            worst = fmax(worst, k);
          }
    cod_code_free(c);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT DISTINCT printf('%%.17g', l.cond) FROM layers l JOIN runs r "
             "USING (run_id) WHERE r.scheme = '%s'", schemes[s]);
    char *d = tr_q_dump(db, sql);
    double got = strtod(d, NULL);
    cr_expect(strchr(d, '\n') == d + strlen(d) - 1, "%s: one number for every layer: %s",
              schemes[s], d);
    cr_expect_leq(fabs(got - worst), 1e-9 * worst, "%s: stored %.17g, worst %.17g", schemes[s],
                  got, worst);
    free(d);
  }
  sqlite3_close(db);
}

Test(fast, cond_worst_is_refused_for_an_approximate_code) {
  const char *text = "[run]\ncond = worst\n[model]\nname = lenet5\n[coding]\nscheme = berrut\n"
                     "ka = 2\nkb = 1\napprox_wait = 3\n[cluster]\nworkers = 6\n";
  run_scenario *sc = parse(text);
  run_config cfg;
  cod_err e = {0};
  cr_assert_eq(run_scenario_point(sc, 0, &cfg, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "cond") && strstr(e.msg, "approximate"), "%s", e.msg);
  run_scenario_free(sc);
}

/* ---- the writer thread ------------------------------------------------------------- */

#define WRITER_SCENARIO                                                                  \
  "[run]\nseed = 9\ntrials = 7\ncompute = model\n[model]\nname = lenet5\n"               \
  "[coding]\nscheme = nsctc-rot, uncoded, poly-real\nka = 2\nkb = 2\n[cluster]\nworkers = 6\n"

typedef struct batch_log {
  size_t k[64], n;
} batch_log;

static void log_insert(void *ctx, size_t k) {
  batch_log *l = ctx;
  if (l->n < 64) l->k[l->n++] = k;
}

static void writer_check(size_t jobs) {
  char pa[400], pb[400];
  db_path(pa, sizeof pa, "a.db"), db_path(pb, sizeof pb, "b.db");
  sweep(WRITER_SCENARIO, pb, 1, 1, NULL); /* one run per batch: the reference */
  run_scenario *sc = parse(WRITER_SCENARIO);
  run_sweep_opts o;
  memset(&o, 0, sizeof o);
  batch_log lg = {{0}, 0};
  o.db_path = pa, o.jobs = jobs, o.batch_max_runs = 4, o.batch_max_s = 60;
  o.after_insert = log_insert, o.hook_ctx = &lg;
  run_sweep_stats st;
  cod_err e = {0};
  cr_assert_eq(run_sweep(sc, &o, &st, &e), COD_OK, "%s", e.msg);
  run_scenario_free(sc);
  cr_assert_eq(st.committed, 21);
  /* the first batch takes the runs already waiting (1 to 4); then batches of 4 (the time
   * slice never ends one here), the last one partial */
  cr_assert_eq(lg.n, 21);
  size_t first = 0;
  while (first < lg.n && lg.k[first] == first + 1) first++;
  cr_assert(first >= 1 && first <= 4, "first batch of %zu runs", first);
  for (size_t i = first; i < lg.n; i++)
    cr_expect_eq(lg.k[i], (i - first) % 4 + 1, "insert %zu was run %zu of its batch", i, lg.k[i]);
  cr_expect(lg.n - first > 8, "at least two full batches after the first");
  sqlite3 *db = tr_open_ro(pa);
  char *order = tr_q_dump(db, "SELECT point_index, trial FROM runs ORDER BY run_id");
  char expect[512] = "";
  for (int p = 0; p < 3; p++)
    for (int t = 0; t < 7; t++) snprintf(expect + strlen(expect), sizeof expect - strlen(expect), "%d|%d\n", p, t);
  cr_expect_str_eq(order, expect, "commit order is (point, trial) order");
  free(order);
  sqlite3_close(db);
  char *a = dump_all(pa, ", l.cond"), *b = dump_all(pb, ", l.cond");
  cr_expect_str_eq(a, b, "batched rows differ from one run per batch");
  free(a), free(b);
}

Test(fast, writer_commits_in_sweep_order_in_batches_jobs_1) { writer_check(1); }
Test(fast, writer_commits_in_sweep_order_in_batches_jobs_2) { writer_check(2); }

/* The child: the sweep, killed by itself inside its second batch, after its third run is
 * in (batches start at k = 1). */
static void killer(void *ctx, size_t k) {
  size_t *batches = ctx;
  if (k == 1) ++*batches;
  if (*batches == 2 && k == 3) raise(SIGKILL);
}

Test(fast, sigkill_inside_a_batch_leaves_whole_batches_and_resume_completes) {
  char pa[400], pd[400];
  db_path(pa, sizeof pa, "a.db"), db_path(pd, sizeof pd, "d.db");
  sweep(WRITER_SCENARIO, pd, 2, 0, NULL); /* the uninterrupted reference */
  fflush(NULL);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    run_scenario *sc = parse(WRITER_SCENARIO);
    run_sweep_opts o;
    memset(&o, 0, sizeof o);
    size_t inserts = 0;
    o.db_path = pa, o.jobs = 2, o.batch_max_runs = 5, o.batch_max_s = 60;
    o.after_insert = killer, o.hook_ctx = &inserts;
    run_sweep(sc, &o, NULL, NULL);
    _exit(3); /* not reached if the hook fired */
  }
  int status = 0;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %d", status);
  sqlite3 *db = tr_open_ro(pa);
  char *integrity = tr_q_dump(db, "PRAGMA integrity_check");
  cr_expect_str_eq(integrity, "ok\n");
  free(integrity);
  long first = q_long(db, "SELECT COUNT(*) FROM runs");
  cr_assert(first >= 1 && first <= 5, "only the first batch is in: %ld runs", first);
  cr_expect_eq(q_long(db, "SELECT COUNT(*) FROM runs r WHERE (SELECT COUNT(*) FROM layers l "
                          "WHERE l.run_id = r.run_id) != 3"), 0, "every run has its 3 layers");
  cr_expect_eq(q_long(db, "SELECT COUNT(*) FROM layers l WHERE (SELECT COUNT(*) FROM workers w "
                          "WHERE w.run_id = l.run_id AND w.layer_index = l.layer_index) != 6"),
               0, "every layer has its 6 workers");
  char *order = tr_q_dump(db, "SELECT point_index, trial FROM runs ORDER BY run_id");
  char expect[128] = "";
  for (long t = 0; t < first; t++)
    snprintf(expect + strlen(expect), sizeof expect - strlen(expect), "0|%ld\n", t);
  cr_expect_str_eq(order, expect, "the first runs, in order");
  free(order);
  sqlite3_close(db);
  /* --resume runs exactly the missing 16 */
  run_scenario *sc = parse(WRITER_SCENARIO);
  run_sweep_opts o;
  memset(&o, 0, sizeof o);
  o.db_path = pa, o.jobs = 2, o.resume = 1;
  run_sweep_stats st;
  cod_err e = {0};
  cr_assert_eq(run_sweep(sc, &o, &st, &e), COD_OK, "%s", e.msg);
  run_scenario_free(sc);
  cr_expect_eq((long)st.skipped, first);
  cr_expect_eq((long)st.committed, 21 - first, "--resume runs exactly the missing runs");
  char *a = dump_all(pa, ", l.cond"), *d = dump_all(pd, ", l.cond");
  cr_expect_str_eq(a, d, "after --resume the rows equal the uninterrupted sweep's");
  free(a), free(d);
}

