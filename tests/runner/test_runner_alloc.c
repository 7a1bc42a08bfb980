/* test_runner_alloc.c: [cluster] allocation, tasks and returns (runner/run_alloc.h).
 *
 * References are independent of run_alloc.c: the rounding against a sort-based Hamilton
 * apportionment written here; decodability by decoding every threshold-sized subset of the
 * N coded tasks against the direct convolution; per-task against per-worker returns on the
 * same draws (the same trial's streams); the rows' task counts against the scenario's
 * tasks and the code's threshold; equal allocation with per-task returns (one task, one
 * message) against run_layer.c's protocol, row for row; the simulated mean layer time
 * against analytic/an_alloc.h within a stated number of standard errors; and every
 * refusal of the keys. lenet5's first conv keeps every run small.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>

#include "cod_alloc.h"
#include "cod_code.h"
#include "cod_conv.h"
#include "cod_status.h"
#include "run_alloc.h"
#include "run_config.h"
#include "run_layer.h"
#include "run_scenario.h"
#include "run_sweep.h"
#include "tr_db.h"
#include "tr_tmpdir.h"
#include "sim_engine.h"

static char g_dir[256];

static void make_dir(void) {
  cr_assert_eq(tr_tmpdir_make(g_dir, sizeof g_dir, "alloctest"), 0, "mkdtemp failed");
}

static void remove_dir(void) { tr_tmpdir_remove(g_dir); }

TestSuite(alloc, .init = make_dir, .fini = remove_dir);

static void sweep_text(const char *text, const char *name, char *path, size_t cap) {
  snprintf(path, cap, "%s/%s", g_dir, name);
  run_scenario *sc = NULL;
  cod_err e = {0};
  cr_assert_eq(run_scenario_parse(text, strlen(text), "alloc.ini", &sc, &e), COD_OK,
               "parse: %s\n%s", e.msg, text);
  run_sweep_opts o;
  memset(&o, 0, sizeof o);
  o.db_path = path;
  o.jobs = 1;
  run_sweep_stats st;
  memset(&st, 0, sizeof st);
  int rc = run_sweep(sc, &o, &st, &e);
  run_scenario_free(sc);
  cr_assert_eq(rc, COD_OK, "sweep (%d): %s\n%s", rc, e.msg, text);
}

static double q_real(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st = NULL;
  cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
               sqlite3_errmsg(db));
  double v = NAN;
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
    v = sqlite3_column_double(st, 0);
  sqlite3_finalize(st);
  return v;
}

/* ---- rounding ------------------------------------------------------------------------ */

/* Hamilton apportionment by sorting the fractional parts (the reference). */
static void hamilton(const double *s, size_t n, size_t total, size_t *out) {
  double sum = 0;
  for (size_t j = 0; j < n; j++) sum += s[j];
  size_t given = 0, order[64];
  double frac[64];
  for (size_t j = 0; j < n; j++) {
    double q = (double)total * s[j] / sum;
    out[j] = (size_t)floor(q), frac[j] = q - floor(q), given += out[j], order[j] = j;
  }
  /* insertion sort of the indices by fractional part, descending, stable (index) */
  for (size_t j = 0; j < n; j++) order[j] = j;
  for (size_t a = 1; a < n; a++) {
    size_t v = order[a], b = a;
    while (b > 0 && frac[order[b - 1]] < frac[v]) order[b] = order[b - 1], b--;
    order[b] = v;
  }
  for (size_t i = 0; given < total; i++) out[order[i]]++, given++;
}

Test(alloc, rounding_sums_to_total_and_is_proportional) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 20190416);
  for (int trial = 0; trial < 500; trial++) {
    size_t n = 1 + gsl_rng_uniform_int(r, 40), total = n + gsl_rng_uniform_int(r, 400);
    double s[64], sum = 0;
    size_t got[64], want[64], added = 0;
    for (size_t j = 0; j < n; j++) s[j] = 0.1 + 10.0 * gsl_rng_uniform(r), sum += s[j];
    run_alloc_round(s, n, total, got);
    hamilton(s, n, total, want);
    for (size_t j = 0; j < n; j++) {
      added += got[j];
      double share = (double)total * s[j] / sum;
      cr_assert_lt(fabs((double)got[j] - share), 1.0, "worker %zu: %zu tasks, share %g", j,
                   got[j], share);
      cr_assert_eq(got[j], want[j], "trial %d worker %zu: %zu, Hamilton %zu", trial, j, got[j],
                   want[j]);
      for (size_t i = 0; i < j; i++)
        if (s[i] > s[j]) cr_assert_geq(got[i], got[j], "faster worker got fewer tasks");
    }
    cr_assert_eq(added, total, "counts sum to %zu, not %zu", added, total);
  }
  gsl_rng_free(r);
}

Test(alloc, counts_follow_class_speed) {
  run_config c;
  run_config_defaults(&c);
  cod_err e = {0};
  const char *kv[][2] = {{"cluster.workers", "6"}, {"cluster.allocation", "proportional"},
                         {"cluster.tasks", "20"}, {"coding.ka", "2"}, {"coding.kb", "2"}};
  for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
    cr_assert_eq(run_config_set(&c, kv[i][0], kv[i][1], &e), COD_OK, "%s", e.msg);
  /* a class of 2 workers 4x faster (compute rate), the same law: shares 4:4:1:1:1:1 */
  c.n_classes = 1;
  snprintf(c.classes[0].name, sizeof c.classes[0].name, "fast");
  c.classes[0].count = 2;
  run_config_worker(&c, 5, &c.classes[0].worker);
  c.classes[0].worker.compute_rate_flops = 4.0 * c.cluster.compute_rate_flops;
  cr_assert_eq(run_config_validate(&c, &e), COD_OK, "%s", e.msg);
  size_t m[6];
  cr_assert_eq(run_alloc_counts(&c, m, &e), COD_OK, "%s", e.msg);
  /* 20 * 4/12 = 6.67 -> 6 or 7, 20/12 = 1.67 -> 1 or 2; Hamilton: 7, 7, 2, 2, 1, 1 */
  size_t want[6] = {7, 7, 2, 2, 1, 1};
  for (size_t j = 0; j < 6; j++) cr_expect_eq(m[j], want[j], "worker %zu: %zu", j, m[j]);
  cr_expect_eq(run_alloc_coded_workers(&c), 20);
}

/* ---- decodable from any threshold-many tasks ----------------------------------------- */

static void all_subsets_decode(const char *scheme) {
  run_config c;
  run_config_defaults(&c);
  cod_err e = {0};
  const char *kv[][2] = {{"cluster.workers", "3"}, {"cluster.allocation", "proportional"},
                         {"cluster.tasks", "7"}, {"coding.ka", "2"}, {"coding.kb", "2"},
                         {"coding.scheme", scheme}};
  for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
    cr_assert_eq(run_config_set(&c, kv[i][0], kv[i][1], &e), COD_OK, "%s", e.msg);
  cr_assert_eq(run_config_validate(&c, &e), COD_OK, "%s", e.msg);
  cod_conv_geom g = {3, 9, 8, 4, 3, 3, 1, 1};
  cod_code_params p = run_config_code_params(&c, 2, 2);
  cr_assert_eq(p.n_workers, 7, "the code is planned for the 7 tasks");
  cod_code *code = NULL;
  cr_assert_eq(cod_code_new(&p, &g, &code, &e), COD_OK, "%s", e.msg);
  const size_t N = 7, d = cod_code_threshold(code);
  cr_assert_eq(d, 4);
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 7);
  size_t xl = cod_conv_input_len(&g), kl = cod_conv_filter_len(&g), yl = cod_conv_output_len(&g);
  double *x = malloc(xl * sizeof *x), *k = malloc(kl * sizeof *k), *ref = malloc(yl * sizeof *ref);
  double *y = malloc(yl * sizeof *y);
  for (size_t i = 0; i < xl; i++) x[i] = 2 * gsl_rng_uniform(r) - 1;
  for (size_t i = 0; i < kl; i++) k[i] = 2 * gsl_rng_uniform(r) - 1;
  void *cw = malloc(cod_conv_workspace_bytes(&g, COD_F64) + 1);
  cod_conv2d_f64(&g, x, k, ref, cw);
  size_t il = cod_code_worker_input_len(code), fl = cod_code_worker_filter_len(code);
  size_t ol = cod_code_worker_output_len(code);
  double *cx = malloc(N * il * sizeof *cx), *ck = malloc(N * fl * sizeof *ck);
  double *res = malloc(N * ol * sizeof *res);
  void *work = malloc(cod_code_worker_workspace_bytes(code, COD_F64) + 1);
  cr_assert_eq(cod_code_encode_input(code, x, cx, &e), COD_OK);
  cr_assert_eq(cod_code_encode_filters(code, k, ck, &e), COD_OK);
  for (size_t t = 0; t < N; t++)
    cod_code_worker_compute(code, COD_F64, cx + t * il, ck + t * fl, res + t * ol, work);
  double scale = 0;
  for (size_t i = 0; i < yl; i++) scale = fmax(scale, fabs(ref[i]));
  size_t sets = 0;
  for (unsigned mask = 0; mask < (1u << N); mask++) {
    if ((size_t)__builtin_popcount(mask) != d) continue;
    size_t avail[7], na = 0;
    const double *rp[7];
    for (size_t t = 0; t < N; t++)
      if (mask & (1u << t)) avail[na] = t, rp[na] = res + t * ol, na++;
    cr_assert(cod_code_decodable(code, avail, na), "%s: set %#x not decodable", scheme, mask);
    cod_decode_info info;
    cr_assert_eq(cod_code_decode(code, avail, na, rp, COD_DECODE_GENERIC, y, &info, &e), COD_OK,
                 "%s set %#x: %s", scheme, mask, e.msg);
    double err = 0;
    for (size_t i = 0; i < yl; i++) err = fmax(err, fabs(y[i] - ref[i]));
    /* bound: the condition number times a few hundred ulps of the output's scale */
    cr_assert_leq(err, info.cond * 512 * 2.2e-16 * scale, "%s set %#x: error %g, cond %g",
                  scheme, mask, err, info.cond);
    /* one fewer task never suffices */
    cr_assert_not(cod_code_decodable(code, avail, na - 1), "%s: %zu tasks decode", scheme, na - 1);
    sets++;
  }
  cr_assert_eq(sets, 35, "C(7, 4) = 35 sets");
  free(x), free(k), free(ref), free(y), free(cw), free(cx), free(ck), free(res), free(work);
  gsl_rng_free(r);
  cod_code_free(code);
}

Test(alloc, any_threshold_tasks_decode_nsctc_rot) { all_subsets_decode("nsctc-rot"); }
Test(alloc, any_threshold_tasks_decode_poly_real) { all_subsets_decode("poly-real"); }
Test(alloc, any_threshold_tasks_decode_rkr) { all_subsets_decode("rkr"); }

/* ---- runs ---------------------------------------------------------------------------- */

#define HET(extra)                                                                       \
  "[run]\nseed = 11\ntrials = 6\ncompute = model\n"                                      \
  "[model]\nname = lenet5\nlayers = 1\n"                                                  \
  "[coding]\nscheme = nsctc-rot\nka = 2\nkb = 3\n"                                        \
  "[cluster]\nworkers = 6\ncompute_rate_flops = 1e8\n" extra                             \
  "[network]\nlatency_s = 1e-4\nmaster_bps = unlimited\n"                                \
  "[class fast]\ncount = 2\ncompute_rate_flops = 4e8\n"

/* Same trial, same draws: the per-task run of each trial is never later than its
 * per-worker run (checked per trial, for a deterministic and a random law). */
static void never_slower(const char *law, const char *name) {
  char text[2048], path[400];
  snprintf(text, sizeof text,
           HET("allocation = proportional\ntasks = 18\nreturns = per-worker, per-task\n")
           "[latency]\n%s\n", law);
  sweep_text(text, name, path, sizeof path);
  sqlite3 *db = tr_open_ro(path);
  double n = q_real(db, "SELECT COUNT(*) FROM runs");
  cr_assert_eq(n, 12.0);
  double worse = q_real(db,
      "SELECT COUNT(*) FROM runs a JOIN runs b ON a.trial = b.trial "
      "WHERE json_extract(a.params_json, '$.cluster.returns') = 'per-task' "
      "AND json_extract(b.params_json, '$.cluster.returns') = 'per-worker' "
      "AND a.latency_s > b.latency_s");
  cr_expect_eq(worse, 0.0, "%s: per-task slower in %g trials:\n%s", law, worse,
               tr_q_dump(db, "SELECT trial, json_extract(params_json, '$.cluster.returns'), "
                          "latency_s FROM runs ORDER BY trial"));
  double faster = q_real(db,
      "SELECT COUNT(*) FROM runs a JOIN runs b ON a.trial = b.trial "
      "WHERE json_extract(a.params_json, '$.cluster.returns') = 'per-task' "
      "AND json_extract(b.params_json, '$.cluster.returns') = 'per-worker' "
      "AND a.latency_s < b.latency_s");
  cr_expect_gt(faster, 0.0, "%s: per-task never faster (the test would not see a change)", law);
  sqlite3_close(db);
}

Test(alloc, per_task_never_slower_deterministic) {
  never_slower("model = deterministic", "det.db");
}
Test(alloc, per_task_never_slower_same_draws) {
  never_slower("model = shifted-exp\nshift = 1\nrate = 2", "shexp.db");
}

Test(alloc, rows_task_counts_add_up) {
  char path[400];
  sweep_text(HET("allocation = proportional\ntasks = 18\nreturns = per-worker, per-task\n")
             "[latency]\nmodel = shifted-exp\n", "rows.db", path, sizeof path);
  sqlite3 *db = tr_open_ro(path);
  double layers = q_real(db, "SELECT COUNT(*) FROM layers WHERE status = 'ok'");
  cr_assert_eq(layers, 12.0, "every layer decodes");
  /* per layer: the tasks add up to [cluster] tasks, the used ones to the threshold */
  cr_expect_eq(q_real(db, "SELECT COUNT(*) FROM (SELECT run_id, layer_index, SUM(tasks) AS t, "
                          "SUM(tasks_used) AS u FROM workers GROUP BY 1, 2) x JOIN layers l "
                          "USING (run_id, layer_index) WHERE x.t = 18 AND x.u = l.delta"), 12.0,
               "%s", tr_q_dump(db, "SELECT run_id, worker, class, tasks, tasks_used, status "
                                "FROM workers"));
  cr_expect_eq(q_real(db, "SELECT COUNT(*) FROM workers WHERE (tasks_used > 0) != "
                          "(status = 'used') OR tasks_used > tasks"), 0.0);
  /* shares 18 * 4/12 = 6 for each fast worker, 1.5 for each of the four others */
  cr_expect_eq(q_real(db, "SELECT MIN(tasks) FROM workers WHERE class = 'fast'"), 6.0);
  cr_expect_eq(q_real(db, "SELECT MAX(tasks) FROM workers WHERE class = 'default'"), 2.0);
  /* bytes follow the tasks: upload of m tasks is m times one task's */
  cr_expect_eq(q_real(db, "SELECT COUNT(DISTINCT bytes_to_worker / tasks) FROM workers"), 1.0);
  /* workers_used lists exactly the workers with a used task */
  cr_expect_eq(q_real(db, "SELECT COUNT(*) FROM layers l WHERE (SELECT COUNT(*) FROM workers w "
                          "WHERE w.run_id = l.run_id AND w.tasks_used > 0 AND (',' || "
                          "l.workers_used || ',') LIKE ('%,' || w.worker || ',%')) != "
                          "length(l.workers_used) - length(replace(l.workers_used, ',', '')) + 1 "
                          "OR (SELECT COUNT(*) FROM workers w WHERE w.run_id = l.run_id AND "
                          "w.tasks_used > 0) != length(l.workers_used) - "
                          "length(replace(l.workers_used, ',', '')) + 1"), 0.0);
  sqlite3_close(db);
}

/* Equal allocation with per-task returns is one task and one message per worker: the
 * rows of run_alloc.c's executor equal those of run_layer.c's, bit for bit. */
Test(alloc, equal_per_task_is_run_layer_protocol) {
  char path[400];
  sweep_text(HET("returns = per-worker, per-task\nbusy_w = 2\nidle_w = 0.5\nj_per_flop = 1e-9\n")
             "[latency]\nmodel = shifted-exp\n", "eq.db", path, sizeof path);
  sqlite3 *db = tr_open_ro(path);
  const char *cols = "l.t_encode_s, l.t_to_worker_s, l.t_compute_s, l.t_to_master_s, "
                     "l.t_decode_s, l.t_total_s, l.cond, l.workers_used, l.status, "
                     "l.energy_workers_j, l.energy_master_j";
  char sql[1024];
  snprintf(sql, sizeof sql, "SELECT r.trial, %s FROM layers l JOIN runs r USING (run_id) WHERE "
           "json_extract(r.params_json, '$.cluster.returns') = '%%s' ORDER BY r.trial", cols);
  char q1[1100], q2[1100];
  snprintf(q1, sizeof q1, sql, "per-worker");
  snprintf(q2, sizeof q2, sql, "per-task");
  char *a = tr_q_dump(db, q1), *b = tr_q_dump(db, q2);
  cr_expect(strlen(a) > 100);
  cr_expect_str_eq(a, b);
  free(a), free(b);
  const char *wq = "SELECT r.trial, w.worker, w.bytes_to_worker, w.bytes_to_master, w.flops, w.status, "
                   "w.t_finish_s, w.t_busy_s, w.energy_j, w.tasks, w.tasks_used FROM workers w "
                   "JOIN runs r USING (run_id) "
                   "WHERE json_extract(r.params_json, '$.cluster.returns') = '%s' "
                   "ORDER BY r.trial, w.worker";
  snprintf(q1, sizeof q1, wq, "per-worker");
  snprintf(q2, sizeof q2, wq, "per-task");
  a = tr_q_dump(db, q1), b = tr_q_dump(db, q2);
  cr_expect_str_eq(a, b);
  free(a), free(b);
  sqlite3_close(db);
}

/* compute = real: the decode uses only the task results that arrived, and is exact. A
 * failed worker's tasks never arrive; the layer still decodes from the others. */
Test(alloc, real_decode_from_arrived_tasks) {
  char path[400];
  sweep_text("[run]\nseed = 5\ntrials = 3\n[model]\nname = lenet5\nlayers = 1-2\n"
             "[coding]\nscheme = nsctc-rot\nka = 2\nkb = 2\n"
             "[cluster]\nworkers = 4\nallocation = proportional\ntasks = 9\n"
             "returns = per-worker, per-task\n"
             "[latency]\nfail_workers = 3\n"
             "[class fast]\ncount = 1\ncompute_rate_flops = 3e10\n", "real.db", path, sizeof path);
  sqlite3 *db = tr_open_ro(path);
  cr_expect_eq(q_real(db, "SELECT COUNT(*) FROM layers WHERE status = 'ok' AND rel_error < 1e-10"),
               12.0, "%s", tr_q_dump(db, "SELECT run_id, layer_index, status, rel_error FROM layers"));
  cr_expect_eq(q_real(db, "SELECT COUNT(*) FROM workers WHERE worker = 3 AND "
                          "status != 'failed'"), 0.0);
  cr_expect_eq(q_real(db, "SELECT COUNT(*) FROM runs WHERE e2e_rel_error < 1e-10"), 6.0);
  sqlite3_close(db);
}

/* The simulated mean layer time within 4 standard errors of the analytic expectation. */
Test(alloc, simulated_mean_matches_analytic) {
  char path[400];
  sweep_text("[run]\nseed = 3\ntrials = 300\ncompute = model\n[model]\nname = lenet5\nlayers = 1\n"
             "[coding]\nscheme = nsctc-rot\nka = 2\nkb = 3\n"
             "[cluster]\nworkers = 6\ncompute_rate_flops = 1e7\nallocation = equal, proportional\n"
             "tasks = 18\nreturns = per-worker, per-task\n"
             "[latency]\nmodel = shifted-exp\nshift = 0.5\nrate = 1.5\n"
             "[network]\nlatency_s = 1e-3\nmaster_bps = unlimited\n"
             "[class fast]\ncount = 2\ncompute_rate_flops = 4e7\nrate = 3\n", "an.db", path,
             sizeof path);
  sqlite3 *db = tr_open_ro(path);
  /* equal allocation with per-worker returns is run_layer.c's own protocol: its prediction
   * is an_latency_expected's numerical order statistic over the classes (it was NULL
   * before that path existed) */
  const char *groups[][2] = {{"equal", "per-task"}, {"proportional", "per-worker"},
                             {"proportional", "per-task"}, {"equal", "per-worker"}};
  for (size_t i = 0; i < 4; i++) {
    char w[256], sql[768];
    snprintf(w, sizeof w, "FROM layers l JOIN runs r USING (run_id) WHERE json_extract("
             "r.params_json, '$.cluster.allocation') = '%s' AND json_extract(r.params_json, "
             "'$.cluster.returns') = '%s'", groups[i][0], groups[i][1]);
    snprintf(sql, sizeof sql, "SELECT AVG(l.t_total_s) %s", w);
    double mean = q_real(db, sql);
    snprintf(sql, sizeof sql, "SELECT SQRT((AVG(l.t_total_s * l.t_total_s) - "
             "AVG(l.t_total_s) * AVG(l.t_total_s)) / COUNT(*)) %s", w);
    double se = q_real(db, sql);
    snprintf(sql, sizeof sql, "SELECT MIN(l.an_latency_s) %s", w);
    double an = q_real(db, sql);
    snprintf(sql, sizeof sql, "SELECT MAX(l.an_latency_s) %s", w);
    cr_assert(isfinite(an) && an == q_real(db, sql), "%s/%s: one analytic value", groups[i][0],
              groups[i][1]);
    cr_expect_leq(fabs(mean - an), 4.0 * se, "%s/%s: simulated %g +- %g, analytic %g",
                  groups[i][0], groups[i][1], mean, se, an);
  }
  sqlite3_close(db);
}

/* ---- refusals ------------------------------------------------------------------------ */

static void refused(const char *kv, const char *needle) {
  run_config c;
  run_config_defaults(&c);
  cod_err e = {0};
  cr_assert_eq(run_config_set(&c, "coding.ka", "2", &e), COD_OK);
  cr_assert_eq(run_config_set(&c, "coding.kb", "2", &e), COD_OK);
  cr_assert_eq(run_config_set(&c, "cluster.workers", "5", &e), COD_OK);
  char buf[512];
  snprintf(buf, sizeof buf, "%s", kv);
  for (char *tok = strtok(buf, ";"); tok; tok = strtok(NULL, ";")) {
    char *eq = strchr(tok, '=');
    cr_assert_not_null(eq);
    *eq = 0;
    cr_assert_eq(run_config_set(&c, tok, eq + 1, &e), COD_OK, "%s: %s", tok, e.msg);
  }
  memset(&e, 0, sizeof e);
  cr_assert_eq(run_config_validate(&c, &e), COD_EINVAL, "%s accepted", kv);
  cr_expect_not_null(strstr(e.msg, needle), "%s: message '%s' lacks '%s'", kv, e.msg, needle);
}

Test(alloc, refusals) {
  refused("cluster.allocation=proportional", "needs [cluster] tasks");
  refused("cluster.allocation=proportional;cluster.tasks=5", "must exceed [cluster] workers");
  refused("cluster.allocation=proportional;cluster.tasks=300;coding.scheme=nsctc-cir",
          "[cluster] tasks = 300");
  refused("cluster.allocation=proportional;cluster.tasks=9;cluster.stragglers=worst",
          "stragglers = worst");
  refused("cluster.returns=per-task;cluster.stragglers=worst", "stragglers = worst");
  refused("cluster.returns=per-task;coding.scheme=berrut;coding.kb=1;coding.approx_wait=2",
          "needs an exact code");
  refused("cluster.allocation=proportional;cluster.tasks=9;latency.model=pareto;"
          "latency.pareto_shape=0.5", "no finite positive mean");
  refused("cluster.allocation=proportional;cluster.tasks=9;coding.ka=4;coding.kb=3",
          "exceeds [cluster] tasks = 9");
}

/* A slow class whose share rounds to no task is refused, naming the worker. */
Test(alloc, worker_without_a_task_is_refused) {
  run_config c;
  run_config_defaults(&c);
  cod_err e = {0};
  const char *kv[][2] = {{"cluster.workers", "4"}, {"cluster.allocation", "proportional"},
                         {"cluster.tasks", "6"}, {"coding.ka", "2"}, {"coding.kb", "2"}};
  for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
    cr_assert_eq(run_config_set(&c, kv[i][0], kv[i][1], &e), COD_OK, "%s", e.msg);
  c.n_classes = 1;
  snprintf(c.classes[0].name, sizeof c.classes[0].name, "slow");
  c.classes[0].count = 1;
  run_config_worker(&c, 3, &c.classes[0].worker);
  c.classes[0].worker.compute_rate_flops = c.cluster.compute_rate_flops / 100.0;
  cr_assert_eq(run_config_validate(&c, &e), COD_EINVAL);
  cr_expect_not_null(strstr(e.msg, "worker 0 (class slow) would get no task"), "%s", e.msg);
}

/* ---- allocation failures ------------------------------------------------------------- */

/* Every allocation of one proportional, per-task layer (real arithmetic) made to fail in
 * turn: the layer returns COD_ENOMEM with a message or succeeds, and frees all it took. */
Test(alloc, layer_out_of_memory_walk) {
  run_config c;
  run_config_defaults(&c);
  cod_err e = {0};
  const char *kv[][2] = {{"cluster.workers", "3"}, {"cluster.allocation", "proportional"},
                         {"cluster.tasks", "7"}, {"cluster.returns", "per-task"},
                         {"coding.ka", "2"}, {"coding.kb", "2"}, {"run.trace", "true"}};
  for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
    cr_assert_eq(run_config_set(&c, kv[i][0], kv[i][1], &e), COD_OK, "%s", e.msg);
  cr_assert_eq(run_config_validate(&c, &e), COD_OK, "%s", e.msg);
  cod_conv_geom g = {2, 8, 8, 3, 3, 3, 1, 1};
  cod_code_params p = run_config_code_params(&c, 2, 2);
  cod_code *code = NULL;
  cr_assert_eq(cod_code_new(&p, &g, &code, &e), COD_OK, "%s", e.msg);
  size_t xl = cod_conv_input_len(&g), kl = cod_conv_filter_len(&g), yl = cod_conv_output_len(&g);
  double *x = malloc(xl * sizeof *x), *k = malloc(kl * sizeof *k), *y = malloc(yl * sizeof *y);
  for (size_t i = 0; i < xl; i++) x[i] = sin(1.0 + (double)i);
  for (size_t i = 0; i < kl; i++) k[i] = cos(2.0 + (double)i);
  long ok = 0, enomem = 0;
  for (long n = 0; n < 400; n++) {
    sim_engine *eng = NULL;
    run_cluster *cl = NULL;
    cr_assert_eq(sim_engine_new(64, &eng, &e), COD_OK);
    cr_assert_eq(run_cluster_new(&c, eng, 0, &cl, &e), COD_OK, "%s", e.msg);
    long live0 = cod_alloc_live();
    run_layer_in in = {&c, code, eng, cl, x, k, y, 1, NULL, 0.0, NULL, NULL, 0, 0.0, 0, COD_CONV_IM2COL};
    run_layer_out out;
    cod_err le = {0};
    cod_alloc_fail_at(n);
    int rc = run_layer_execute(&in, &out, &le);
    cod_alloc_fail_at(-1);
    if (rc == COD_OK) {
      cr_assert_str_eq(out.status, "ok", "N=%ld", n);
      ok++;
      run_layer_out_fini(&out);
    } else {
      cr_assert_eq(rc, COD_ENOMEM, "N=%ld: %s (%s)", n, cod_status_name(rc), le.msg);
      cr_assert(le.msg[0], "N=%ld: no message", n);
      enomem++;
    }
    cr_assert_eq(cod_alloc_live(), live0, "N=%ld: %ld blocks leaked", n, cod_alloc_live() - live0);
    run_cluster_free(cl);
    sim_engine_free(eng);
    if (rc == COD_OK && ok > 3) break; /* past the last allocation */
  }
  cr_expect_gt(enomem, 5, "the walk reached only %ld allocation sites", enomem);
  free(x), free(k), free(y);
  cod_code_free(code);
}
