/* test_runner_hostile.c: hostile numbers in whole sweeps (issue 11), suite unit.
 *
 * Two families. (1) Inputs a run can only meet while it runs: a random draw, a measured
 * wall time times speed_factor or a trace entry beyond the simulation horizon, and worker
 * results that overflow fp32. Each must end as a stored outcome (runs.status and
 * layers.status 'error', the reason in the sweep's stats), never an assertion or an `ok`
 * row; a control run beside each (the same scenario with a sane value) must stay `ok`, so
 * the check cannot pass by failing everything. (2) Point constraints that only a later
 * point breaks: run_sweep must refuse the whole sweep before the first run, so no
 * database file appears, and the message must name the file, line, key and point.
 * lenet5 on 4 workers keeps every run tiny.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "cod_status.h"
#include "cod_tensor.h"
#include "run_scenario.h"
#include "run_sweep.h"
#include "tr_tmpdir.h"

static char g_dir[256];

static void make_dir(void) {
  cr_assert_eq(tr_tmpdir_make(g_dir, sizeof g_dir, "hostile"), 0, "mkdtemp failed");
}

static void remove_dir(void) { tr_tmpdir_remove(g_dir); }

TestSuite(hostile, .init = make_dir, .fini = remove_dir);

#define HEAD "[model]\nname = lenet5\n[coding]\nka = 2\nkb = 2\n[cluster]\nworkers = 4\n"

static int sweep_text(const char *text, const char *db, run_sweep_stats *st, cod_err *e) {
  run_scenario *sc = NULL;
  int rc = run_scenario_parse(text, strlen(text), "h.ini", &sc, e);
  cr_assert_eq(rc, COD_OK, "parse: %s\n%s", e->msg, text);
  run_sweep_opts o;
  memset(&o, 0, sizeof o);
  o.db_path = db;
  o.jobs = 1;
  memset(st, 0, sizeof *st);
  rc = run_sweep(sc, &o, st, e);
  run_scenario_free(sc);
  return rc;
}

static char *q_text(const char *db, const char *sql) {
  sqlite3 *h = NULL;
  cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_stmt *st = NULL;
  cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(h));
  static char out[2048];
  size_t len = 0;
  out[0] = '\0';
  while (sqlite3_step(st) == SQLITE_ROW)
    for (int c = 0; c < sqlite3_column_count(st); c++) {
      const unsigned char *t = sqlite3_column_text(st, c);
      len += (size_t)snprintf(out + len, sizeof out - len, "%s%c", t ? (const char *)t : "NULL",
                              c + 1 < sqlite3_column_count(st) ? '|' : '\n');
    }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return out;
}

/* The sweep succeeds and its one run is an `error` outcome for `reason`; or, with
 * want_ok, a plain `ok` run (the control). */
static void expect_outcome(const char *name, const char *text, int want_ok, const char *reason) {
  char db[400];
  snprintf(db, sizeof db, "%s/%s.db", g_dir, name);
  run_sweep_stats st;
  cod_err e = {0};
  int rc = sweep_text(text, db, &st, &e);
  cr_assert_eq(rc, COD_OK, "%s: %s", name, e.msg);
  cr_assert_eq(st.committed, 1, "%s", name);
  const char *runs = q_text(db, "SELECT status FROM runs");
  if (want_ok) {
    cr_expect_str_eq(runs, "ok\n", "%s", name);
    cr_expect_eq(st.failed_runs, 0, "%s: %s", name, st.first_failure);
    return;
  }
  cr_expect_str_eq(runs, "error\n", "%s", name);
  cr_expect_eq(st.failed_runs, 1, "%s", name);
  cr_expect(strstr(st.first_failure, reason) != NULL, "%s: reason '%s' lacks '%s'", name,
            st.first_failure, reason);
  cr_expect(strncmp(st.first_failure, "point 0 trial 0: layer conv", 27) == 0, "%s: %s", name,
            st.first_failure);
  /* the failing layer is the last one stored, and it is not ok */
  const char *last = q_text(db, "SELECT status FROM layers ORDER BY layer_index DESC LIMIT 1");
  cr_expect_str_eq(last, "error\n", "%s", name);
}

Test(hostile, random_draw_beyond_the_horizon_is_an_outcome) {
  /* Exp(rate = 1e-300) has mean 1e300 nominal times: every draw passes 2^62 ns */
  expect_outcome("rate", "[run]\ncompute = model\n" HEAD "[latency]\nrate = 1e-300\n", 0,
                 "simulated time beyond horizon");
  expect_outcome("rate_ok", "[run]\ncompute = model\n" HEAD "[latency]\nrate = 1e-3\n", 1, NULL);
  /* Pareto with a tiny tail index: xm = 1 passes the dry run, the draws do not fit */
  expect_outcome("pareto", "[run]\ncompute = model\n" HEAD
                 "[latency]\nmodel = pareto\npareto_shape = 1e-30\n", 0,
                 "simulated time beyond horizon");
}

Test(hostile, measured_time_times_speed_factor_beyond_the_horizon) {
  expect_outcome("speed", "[run]\ncompute = real\n" HEAD
                 "[master]\ntiming = measured\nspeed_factor = 1e300\n", 0,
                 "simulated time beyond horizon");
  expect_outcome("speed_ok", "[run]\ncompute = real\n" HEAD
                 "[master]\ntiming = measured\nspeed_factor = 2\n", 1, NULL);
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs(text, f);
  cr_assert_eq(fclose(f), 0);
}

Test(hostile, trace_entry_beyond_the_horizon) {
  char trace[400], text[1200];
  snprintf(trace, sizeof trace, "%s/t.csv", g_dir);
  /* ka * kb = 4 of 4 workers: worker 0's 1e10 s is needed */
  write_file(trace, "worker,duration_s\n0,1e10\n1,0.001\n2,0.001\n3,0.001\n");
  snprintf(text, sizeof text, "[run]\ncompute = model\n" HEAD
           "[latency]\nmodel = trace\ntrace_file = %s\n", trace);
  expect_outcome("trace", text, 0, "simulated time beyond horizon");
  write_file(trace, "worker,duration_s\n0,1e3\n1,0.001\n2,0.001\n3,0.001\n");
  expect_outcome("trace_ok", text, 1, NULL);
}

/* lenet5's input (1x1x32x32) of seeded Gaussians times `scale`, as a .npy file. */
static void write_input(const char *path, double scale) {
  cod_tensor t = {0};
  cod_err e = {0};
  cr_assert_eq(cod_tensor_init(&t, 1, 1, 32, 32, COD_F64, &e), COD_OK);
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 11);
  double *v = t.data;
  for (size_t i = 0; i < 32 * 32; i++) v[i] = scale * gsl_ran_gaussian(r, 1.0);
  gsl_rng_free(r);
  cr_assert_eq(cod_npy_save(path, &t, &e), COD_OK, "%s", e.msg);
  cod_tensor_fini(&t);
}

Test(hostile, fp32_overflow_is_a_numeric_failure_not_ok) {
  char x[400], text[1200], db[400];
  snprintf(x, sizeof x, "%s/big.npy", g_dir);
  /* |x| ~ 3e38: a 5x5 filter sum of He weights passes FLT_MAX (3.4e38) in fp32 */
  write_input(x, 3e38);
  snprintf(text, sizeof text, "[run]\ncompute = real\nprecision = fp32\n[model]\nname = lenet5\n"
           "input = %s\n[coding]\nka = 2\nkb = 2\n[cluster]\nworkers = 4\n", x);
  expect_outcome("fp32", text, 0, "returned non-finite values (fp32 overflow?)");
  snprintf(db, sizeof db, "%s/fp32.db", g_dir);
  const char *w = q_text(db, "SELECT COUNT(*) FROM workers WHERE status = 'failed'");
  cr_expect_str_eq(w, "1\n", "the first worker to return the overflow is marked");
  cr_expect_str_eq(q_text(db, "SELECT layer_index, mse IS NULL FROM layers"), "0|1\n",
                   "no error statistics of an overflowed layer");
  /* control: the same data in fp64 fit (sums near 1e40 << 1.8e308) */
  snprintf(text, sizeof text, "[run]\ncompute = real\nprecision = fp64\n[model]\nname = lenet5\n"
           "input = %s\n[coding]\nka = 2\nkb = 2\n[cluster]\nworkers = 4\n", x);
  expect_outcome("fp64", text, 1, NULL);
}

/* run_sweep refuses the sweep before its first run: no file, and the message. */
static void expect_refused(const char *name, const char *text, const char *msg) {
  char db[400];
  snprintf(db, sizeof db, "%s/%s.db", g_dir, name);
  run_sweep_stats st;
  cod_err e = {0};
  int rc = sweep_text(text, db, &st, &e);
  cr_expect_neq(rc, COD_OK, "%s", name);
  cr_expect_eq(st.committed, 0, "%s", name);
  cr_expect_neq(access(db, F_OK), 0, "%s: a database was created", name);
  cr_expect(strstr(e.msg, msg) != NULL, "%s: message\n  %s\nlacks\n  %s", name, e.msg, msg);
}

Test(hostile, every_point_is_checked_before_the_first_run) {
  expect_refused("workers", "[run]\ncompute = model\n[model]\nname = lenet5\n[coding]\n"
                 "scheme = nsctc-cir\nka = 1\nkb = 2\n[cluster]\nworkers = 250..300\n",
                 "h.ini:10: [cluster] workers: point 6 (workers=256): [cluster] workers = 256: "
                 "nsctc-cir supports at most 255 workers");
  expect_refused("cir", "[run]\ncompute = model\n" HEAD "[coding]\nscheme = nsctc-rot, nsctc-cir\n",
                 "h.ini:11: [coding] scheme: point 1 (scheme=nsctc-cir): [coding] scheme = "
                 "nsctc-cir, ka = 2, kb = 2: nsctc-cir is one-sided");
  expect_refused("q", "[run]\ncompute = model\n" HEAD "[coding]\nq = 5, 3\n",
                 "h.ini:11: [coding] q: point 1 (q=3): [coding] scheme = nsctc-rot, ka = 2, kb = 2: "
                 "nsctc-rot: q = 3 must be >= n = 4");
  expect_refused("layers", "[run]\ncompute = model\n" HEAD "[model]\nlayers = 1, 9\n",
                 "h.ini:11: [model] layers: point 1 (layers=9): conv layer 9 selected, but "
                 "model lenet5 has 3 conv layers");
  expect_refused("model", "[run]\ncompute = model\n[model]\nname = lenet5, a/b\n[coding]\n"
                 "ka = 2\nkb = 2\n[cluster]\nworkers = 4\n",
                 "h.ini:4: [model] name: point 1 (name=a/b): a/b: cannot open");
  char trace[400], text[1200];
  snprintf(trace, sizeof trace, "%s/two.csv", g_dir);
  write_file(trace, "worker,factor\n0,1\n1,2\n2,1\n3,1\n");
  snprintf(text, sizeof text, "[run]\ncompute = model\n[model]\nname = lenet5\n[coding]\n"
           "ka = 2\nkb = 2\n[cluster]\nworkers = 4, 6\n[latency]\nmodel = trace\n"
           "trace_file = %s\n", trace);
  /* the key that changed is blamed, the message names the file at fault */
  expect_refused("trace", text, "h.ini:9: [cluster] workers: point 1 (workers=6): ");
  expect_refused("trace", text, "two.csv has no row for worker 5");
  cr_expect(strstr(text, trace) != NULL);
}

Test(hostile, deterministic_durations_beyond_the_horizon_name_their_key) {
  expect_refused("latency", "[run]\ncompute = model\n" HEAD "[network]\nlatency_s = 1, 5e9\n",
                 "h.ini:11: [network] latency_s: point 1 (latency_s=5e+09): the message "
                 "latencies: at least 3e+10 s");
  expect_refused("vgg", "[run]\ncompute = model\n[model]\nname = vgg16\n[coding]\nka = 2\n"
                 "kb = 2\n[cluster]\nworkers = 4\ncompute_rate_flops = 1\n",
                 "h.ini:10: [cluster] compute_rate_flops: point 0 (no key varies): the workers' "
                 "nominal compute times");
  expect_refused("master", "[run]\ncompute = model\n" HEAD "[master]\nmaster_flops = 1e-9\n",
                 "h.ini:11: [master] master_flops: point 0");
  expect_refused("nic", "[run]\ncompute = model\n" HEAD "[network]\nmaster_bps = 1e-9\n",
                 "h.ini:11: [network] master_bps: point 0");
  expect_refused("up", "[run]\ncompute = model\n" HEAD "[network]\nto_master_bps = 1e-9\n",
                 "h.ini:11: [network] to_master_bps: point 0");
  expect_refused("down", "[run]\ncompute = model\n" HEAD "[network]\nto_worker_bps = 1e-9\n",
                 "h.ini:11: [network] to_worker_bps: point 0");
  expect_refused("shift", "[run]\ncompute = model\n" HEAD "[latency]\nshift = 1e18\n",
                 "h.ini:11: [latency] shift: point 0");
  expect_refused("scale", "[run]\ncompute = model\n" HEAD
                 "[latency]\nmodel = pareto\npareto_scale = 1e18\n",
                 "h.ini:12: [latency] pareto_scale: point 0");
  expect_refused("class", "[run]\ncompute = model\n" HEAD
                 "[class slow]\ncount = 1\ncompute_rate_flops = 1e-9\n",
                 "h.ini:12: [class slow] compute_rate_flops: point 0");
  expect_refused("trials", "[run]\ncompute = model\ntrials = 600000\nseed = 1, 2\n" HEAD,
                 "h.ini:3: [run] trials: point 1 (seed=2): the sweep has more than 1000000 "
                 "runs (points x trials)");
  expect_refused("trials1e9", "[run]\ncompute = model\ntrials = 1000000000\n" HEAD,
                 "h.ini:3: [run] trials: point 0 (no key varies): the sweep has more than");
}

Test(hostile, master_nic_past_the_horizon_at_run_time) {
  /* at 1.5e-3 bit/s one upload per layer fits the dry run's lower bound, but the four
   * workers' uploads of conv3 (lenet5's largest filters) end past 2^62 ns: the NIC's
   * sticky status becomes the layer's outcome, after two layers that were fine */
  expect_outcome("nic", "[run]\ncompute = model\n" HEAD
                 "[network]\nmaster_bps = 1.5e-3\n[latency]\nmodel = deterministic\n", 0,
                 "layer conv3: simulated time beyond horizon");
  char db[400];
  snprintf(db, sizeof db, "%s/nic.db", g_dir);
  cr_expect_str_eq(q_text(db, "SELECT layer_index, status, t_total_s IS NULL FROM layers"),
                   "0|ok|0\n1|ok|0\n2|error|1\n");
  cr_expect_str_eq(q_text(db, "SELECT status_time_s IS NULL, latency_s IS NULL FROM runs"),
                   "1|1\n", "no time past the horizon is stored");
  expect_outcome("nic_ok", "[run]\ncompute = model\n" HEAD
                 "[network]\nmaster_bps = 1.5e3\n[latency]\nmodel = deterministic\n", 1, NULL);
}
