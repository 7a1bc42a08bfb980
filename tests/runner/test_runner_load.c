/* test_runner_load.c: the request-stream simulator ([load], runner/run_load.h) against
 * queueing theory and its own invariants (suite unit, seconds).
 *
 * The references are independent of the simulator: the Pollaczek-Khinchine M/D/1 and the
 * M/M/1 mean response times of analytic/an_queue.h on an uncoded single-worker cluster
 * whose master and links take no time (lenet5's conv1 on the worker, every other layer on
 * a master of 1e30 FLOP/s), and the bottleneck bound of an_queue_max_throughput_per_s.
 * "Within k standard errors": the standard error is the batch-means one the run reports
 * (CI half-width / t_{0.975, B-1}), and each comparison holds over several seeds. The
 * other tests check what must hold whatever the numbers: saturation stops the run and
 * drops the requests in flight, cancel = never keeps every task (and more load) while
 * on-decode cancels some, and the allocations of a run do not grow with its requests.
 */
#include <criterion/criterion.h>
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "an_queue.h"
#include "cod_alloc.h"
#include "run_exec.h"
#include "run_scenario.h"
#include "run_sweep.h"

/* lenet5 conv1: 6 x 28 x 28 outputs of 25 MACs = 235200 flops; at 2.352e7 FLOP/s the
 * worker's nominal service time is exactly 10 ms. */
#define D_S 0.01
#define MM1_HEAD                                                                          \
  "[run]\ncompute = model\n"                                                              \
  "[model]\nname = lenet5\nlayers = 1\n"                                                  \
  "[coding]\nscheme = uncoded\n"                                                          \
  "[cluster]\nworkers = 1\ncompute_rate_flops = 2.352e7\n"                                \
  "[network]\nuplink_bps = unlimited\ndownlink_bps = unlimited\nmaster_bps = unlimited\n" \
  "latency_s = 0\n"                                                                       \
  "[master]\nmaster_flops = 1e30\n"

static run_scenario *parse_ok(const char *text) {
  run_scenario *sc = NULL;
  cod_err e = {0};
  int st = run_scenario_parse(text, strlen(text), "loadtest.ini", &sc, &e);
  cr_assert_eq(st, COD_OK, "parse failed: %s\n--- text:\n%s", e.msg, text);
  return sc;
}

/* Run point `point` of the scenario text (one trial) into *r. */
static void run_point(const char *text, size_t point, run_result *r) {
  run_scenario *sc = parse_ok(text);
  run_config cfg;
  cod_err e = {0};
  cr_assert_eq(run_scenario_point(sc, point, &cfg, &e), COD_OK, "point: %s", e.msg);
  run_ident id = {"loadtest.ini", "0123456789abcdef", NULL, point, 0};
  run_assets *cache = NULL;
  int rc = run_execute(&cfg, &id, &cache, r, &e);
  run_assets_free(cache);
  run_scenario_free(sc);
  cr_assert_eq(rc, COD_OK, "run failed: %s", e.msg);
  cr_assert(r->has_load);
}

static double std_err(const res_load_row *L) {
  return L->lat_mean_ci_s / gsl_cdf_tdist_Pinv(0.975, (double)(L->ci_batches - 1));
}

/* Mean response time of seeds 1..4 against the formula, each within 4 standard errors. */
static void check_mean(const char *law, double rho, double expect_s) {
  for (int seed = 1; seed <= 4; seed++) {
    char text[2048];
    snprintf(text, sizeof text, MM1_HEAD "%s[run]\nseed = %d\n"
             "[load]\narrivals = poisson\nrate_per_s = %.17g\nrequests = 40000\nwarmup = 2000\n",
             law, seed, rho / D_S);
    run_result r;
    run_point(text, 0, &r);
    const res_load_row *L = &r.load;
    cr_assert_eq(L->saturated, 0);
    cr_assert_eq(L->measured, 38000);
    cr_assert_eq(L->ci_batches, 20);
    double se = std_err(L);
    cr_assert(se > 0 && se < 0.1 * expect_s, "standard error %g s", se);
    cr_expect(fabs(L->lat_mean_s - expect_s) <= 4.0 * se,
              "%s rho %.2f seed %d: simulated mean %.6g s, theory %.6g s, SE %.3g s", law,
              rho, seed, L->lat_mean_s, expect_s, se);
    /* the quantiles are ordered and the throughput is the offered load */
    cr_expect(L->lat_p50_s <= L->lat_p95_s && L->lat_p95_s <= L->lat_p99_s);
    cr_expect(fabs(L->throughput_per_s - rho / D_S) < 0.05 * rho / D_S, "throughput %g",
              L->throughput_per_s);
    /* utilisation of the one worker is rho */
    cr_expect(fabs(r.load_workers[0].utilisation - rho) < 0.05, "utilisation %g",
              r.load_workers[0].utilisation);
    run_result_fini(&r);
  }
}

Test(load, md1_pollaczek_khinchine) {
  const char *law = "[latency]\nmodel = deterministic\n";
  check_mean(law, 0.5, an_queue_md1_response_s(0.5 / D_S, D_S));
  check_mean(law, 0.8, an_queue_md1_response_s(0.8 / D_S, D_S));
}

Test(load, mm1) {
  const char *law = "[latency]\nmodel = shifted-exp\nshift = 0\nrate = 1\n";
  check_mean(law, 0.5, an_queue_mm1_response_s(0.5 / D_S, D_S));
  check_mean(law, 0.7, an_queue_mm1_response_s(0.7 / D_S, D_S));
}

/* The M/M/1 FCFS response time is exponential with rate mu - lambda (Kleinrock vol. 1,
 * 3.2), so its p99 is ln(100) / (mu - lambda): the histogram quantile and its batch-means
 * interval against it, within 4 standard errors plus the histogram's half-bin (0.5 %). */
Test(load, mm1_p99) {
  const double rho = 0.6, expect = log(100.0) * D_S / (1.0 - rho);
  for (int seed = 1; seed <= 4; seed++) {
    char text[2048];
    snprintf(text, sizeof text, MM1_HEAD "[latency]\nmodel = shifted-exp\nshift = 0\n"
             "rate = 1\n[run]\nseed = %d\n[load]\narrivals = poisson\nrate_per_s = %.17g\n"
             "requests = 40000\nwarmup = 2000\n", seed, rho / D_S);
    run_result r;
    run_point(text, 0, &r);
    const res_load_row *L = &r.load;
    double se = L->lat_p99_ci_s / gsl_cdf_tdist_Pinv(0.975, (double)(L->ci_batches - 1));
    cr_assert(se > 0 && se < 0.2 * expect, "p99 standard error %g s", se);
    cr_expect(fabs(L->lat_p99_s - expect) <= 4.0 * se + 0.005 * expect,
              "seed %d: simulated p99 %.6g s, theory %.6g s, SE %.3g s", seed, L->lat_p99_s,
              expect, se);
    run_result_fini(&r);
  }
}

/* The formulas themselves, from their textbook values, and their refusals. */
Test(load, queue_formulas) {
  cr_expect_float_eq(an_queue_md1_response_s(50, 0.01), 0.01 + 0.5 * 0.01 / (2 * 0.5), 1e-15);
  cr_expect_float_eq(an_queue_mm1_response_s(50, 0.01), 0.02, 1e-15);
  cr_expect(isnan(an_queue_mm1_response_s(100, 0.01)), "rho = 1 is unstable");
  cr_expect(isnan(an_queue_md1_response_s(-1, 0.01)));
  cr_expect(isnan(an_queue_mg1_response_s(1, 0.01, 1e-5)), "E[S^2] < s^2 is impossible");
  an_queue_work w = {0.001, 0.002, 0.0005, 0.03, 10};
  cr_expect_float_eq(an_queue_max_throughput_per_s(&w), 1.0 / 0.003, 1e-12);
  an_queue_work z = {0, 0, 0, 0, 1};
  cr_expect(isinf(an_queue_max_throughput_per_s(&z)));
  z.n_workers = 0;
  cr_expect(isnan(an_queue_max_throughput_per_s(&z)));
}

/* Offered twice what the worker can serve: the served throughput stays under the bound
 * (the worker's 10 ms per request is the bottleneck; master and links take no time). */
Test(load, throughput_bound_respected) {
  run_result r;
  run_point(MM1_HEAD "[latency]\nmodel = deterministic\n"
            "[load]\narrivals = poisson\nrate_per_s = 200\nrequests = 5000\n", 0, &r);
  an_queue_work w = {0, 0, 0, D_S, 1};
  double bound = an_queue_max_throughput_per_s(&w);
  cr_expect_eq(r.load.saturated, 0, "queue_limit 10000 is not reached by 5000 requests");
  cr_expect(r.load.throughput_per_s <= bound * (1 + 1e-9), "throughput %g > bound %g",
            r.load.throughput_per_s, bound);
  cr_expect(r.load.throughput_per_s > 0.95 * bound, "a saturated server runs near its bound");
  run_result_fini(&r);
}

/* Beyond the bound with a small queue limit: the run stops, says so, drops the rest. */
Test(load, saturation_detected) {
  run_result r;
  run_point(MM1_HEAD "[latency]\nmodel = deterministic\n"
            "[load]\narrivals = poisson\nrate_per_s = 300\nrequests = 100000\nqueue_limit = 50\n",
            0, &r);
  const res_load_row *L = &r.load;
  cr_assert_eq(L->saturated, 1);
  cr_expect(L->saturated_at_s > 0 && L->saturated_at_s < 100000 / 300.0);
  cr_expect_eq(L->dropped, 50, "the 50 requests in flight are dropped");
  cr_expect_eq(L->max_in_flight, 50);
  cr_expect_eq((int64_t)r.n_requests, L->completed + L->undecodable + L->dropped);
  cr_expect_float_eq(L->offered_per_s, 300.0, 1e-12);
  run_result_fini(&r);
  /* a time limit saturates too */
  run_point(MM1_HEAD "[latency]\nmodel = deterministic\n"
            "[load]\narrivals = poisson\nrate_per_s = 300\nrequests = 100000\n"
            "time_limit_s = 5\n", 0, &r);
  cr_expect_eq(r.load.saturated, 1);
  cr_expect_float_eq(r.load.saturated_at_s, 5.0, 1e-12);
  run_result_fini(&r);
}

#define CODED_HEAD                                                                        \
  "[run]\ncompute = model\nseed = 5\n"                                                    \
  "[model]\nname = lenet5\n"                                                              \
  "[coding]\nscheme = nsctc-rot\nka = 2\nkb = 2\n"                                        \
  "[cluster]\nworkers = 6\ncompute_rate_flops = 1e8\n"                                    \
  "[latency]\nmodel = shifted-exp\nshift = 1\nrate = 0.5\n"                               \
  "[load]\narrivals = poisson\nrate_per_s = 80\nwarmup = 200\n"

/* cancel = never keeps every task and loads the workers more: higher utilisation and
 * latency; on-decode cancels tasks and never loses a request. */
Test(load, cancel_policies_differ) {
  run_result on, nv;
  run_point(CODED_HEAD "requests = 4000\ncancel = on-decode\n", 0, &on);
  run_point(CODED_HEAD "requests = 4000\ncancel = never\n", 0, &nv);
  int64_t cancelled = 0, done_on = 0, done_nv = 0;
  double u_on = 0, u_nv = 0;
  for (size_t j = 0; j < 6; j++) {
    cancelled += on.load_workers[j].tasks_cancelled;
    cr_expect_eq(nv.load_workers[j].tasks_cancelled, 0, "never cancels nothing");
    done_on += on.load_workers[j].tasks_done, done_nv += nv.load_workers[j].tasks_done;
    u_on += on.load_workers[j].utilisation, u_nv += nv.load_workers[j].utilisation;
  }
  cr_expect_gt(cancelled, 0);
  cr_expect_eq(done_nv, 4000 * 3 * 6, "never: every task of every coded layer runs");
  cr_expect_lt(done_on, done_nv);
  cr_expect_gt(u_nv, u_on, "utilisation summed over workers: never %g, on-decode %g", u_nv, u_on);
  cr_expect_eq(on.load.completed, 4000);
  cr_expect_eq(nv.load.completed, 4000);
  cr_expect_gt(nv.load.lat_mean_s, on.load.lat_mean_s);
  cr_expect_gt(nv.load.lat_p99_s, on.load.lat_p99_s);
  run_result_fini(&on);
  run_result_fini(&nv);
}

/* Allocations follow the requests in flight, not the requests served: ten times the
 * requests at the same light load allocate (almost) the same number of blocks, and the
 * result holds the same number of live blocks. */
Test(load, memory_bounded_by_requests_in_flight) {
  long counts[2], live[2];
  for (int i = 0; i < 2; i++) {
    char text[2048];
    snprintf(text, sizeof text, CODED_HEAD "requests = %d\n", i ? 20000 : 2000);
    long a0 = cod_alloc_count(), l0 = cod_alloc_live();
    run_result r;
    run_point(text, 0, &r);
    counts[i] = cod_alloc_count() - a0, live[i] = cod_alloc_live() - l0;
    cr_expect_eq(r.load.completed, i ? 20000 : 2000);
    run_result_fini(&r);
  }
  cr_expect_eq(live[0], live[1], "result blocks: %ld vs %ld", live[0], live[1]);
  cr_expect(counts[1] <= counts[0] + 16, "allocations: %ld for 2000 requests, %ld for 20000",
            counts[0], counts[1]);
}

/* The same scenario and seed give the same aggregates; the requests rows stream to the
 * database through a sweep, one per request, and every done row's latency is
 * finish - arrival. */
Test(load, rows_and_determinism) {
  char dir[] = "/tmp/fcdcc_loadtest_XXXXXX", path[128];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/l.db", dir);
  const char *text = CODED_HEAD "requests = 4000\n[run]\nname = l\n";
  run_scenario *sc = parse_ok(text);
  run_sweep_opts o;
  memset(&o, 0, sizeof o);
  o.db_path = path, o.jobs = 1;
  run_sweep_stats st;
  cod_err e = {0};
  cr_assert_eq(run_sweep(sc, &o, &st, &e), COD_OK, "%s", e.msg);
  run_scenario_free(sc);
  sqlite3 *db = NULL;
  cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_stmt *q = NULL;
  cr_assert_eq(sqlite3_prepare_v2(db, "SELECT (SELECT COUNT(*) FROM requests), "
               "(SELECT COUNT(*) FROM requests WHERE status = 'done' AND "
               "abs(latency_s - (finish_s - arrival_s)) > 1e-12), "
               "(SELECT COUNT(*) FROM load_workers), (SELECT completed FROM load_runs), "
               "(SELECT lat_mean_s FROM load_runs)", -1, &q, NULL), SQLITE_OK);
  cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
  cr_expect_eq(sqlite3_column_int64(q, 0), 4000);
  cr_expect_eq(sqlite3_column_int64(q, 1), 0);
  cr_expect_eq(sqlite3_column_int64(q, 2), 6);
  cr_expect_eq(sqlite3_column_int64(q, 3), 4000);
  double mean_db = sqlite3_column_double(q, 4);
  sqlite3_finalize(q);
  sqlite3_close(db);
  unlink(path);
  rmdir(dir);
  run_result r;
  run_point(text, 0, &r);
  cr_expect_eq(r.load.lat_mean_s, mean_db, "same scenario and seed, same mean");
  run_result_fini(&r);
}

/* What is refused up front, by key. */
Test(load, refusals) {
  static const char *const bad[][2] = {
    {"[run]\ncompute = real\nprecision = bf16\n[load]\narrivals = poisson\n", "compute = real"},
    {"[run]\ncompute = real\nsnr_db = 40\n[load]\narrivals = poisson\n", "no worker noise"},
    {"[run]\ncompute = model\n[coding]\nscheme = berrut\n[load]\narrivals = poisson\n",
     "approximate"},
    {"[run]\ncompute = model\n[load]\narrivals = poisson\nrequests = 5\nwarmup = 5\n", "warmup"},
    {"[run]\ncompute = model\n[load]\narrivals = trace\n", "needs [load] trace"},
    {"[run]\ncompute = model\n[load]\narrivals = poisson\ntrace = t.txt\n", "reads no file"},
    {"[run]\ncompute = model\n[load]\narrivals = poisson\nclients = 3\n", "closed"},
    {"[run]\ncompute = model\n[cluster]\nstragglers = worst\n[load]\narrivals = poisson\n",
     "stragglers"},
    {"[run]\ncompute = model\ntrace = true\n[load]\narrivals = poisson\n", "trace"},
    {"[run]\ncompute = model\n[cluster]\nstorage = whole-model\n[load]\narrivals = poisson\n",
     "whole-model"},
    {"[run]\ncompute = model\n[cluster]\nallocation = proportional\n[load]\narrivals = poisson\n",
     "one coded task per layer"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    run_scenario *sc = parse_ok(bad[i][0]);
    run_config cfg;
    cod_err e = {0};
    cr_expect_eq(run_scenario_point(sc, 0, &cfg, &e), COD_EINVAL, "%s", bad[i][0]);
    cr_expect(strstr(e.msg, bad[i][1]) != NULL, "'%s' lacks '%s'", e.msg, bad[i][1]);
    cr_expect(strstr(e.msg, "loadtest.ini:") != NULL, "no FILE:LINE in '%s'", e.msg);
    run_scenario_free(sc);
  }
}

/* Arrivals that never overlap on a deterministic worker wait for nothing: every latency
 * is the 10 ms service (plus the master's nanosecond-rounded layers). Periodic, trace and
 * a closed loop of one client with no think time, whose throughput is then 1 / D. */
Test(load, periodic_trace_closed) {
  const char *law = "[latency]\nmodel = deterministic\n";
  char text[2048], dir[] = "/tmp/fcdcc_loadtrace_XXXXXX", path[128];
  run_result r;
  snprintf(text, sizeof text, MM1_HEAD "%s[load]\narrivals = periodic\nrate_per_s = 50\n"
           "requests = 100\n", law);
  run_point(text, 0, &r);
  cr_expect(fabs(r.load.lat_mean_s - D_S) < 1e-7 && fabs(r.load.lat_p99_s - D_S) < 0.01 * D_S,
            "periodic: mean %.9g p99 %.9g", r.load.lat_mean_s, r.load.lat_p99_s);
  run_result_fini(&r);

  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/arrivals.txt", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs("# arrival times, s\n0\n0.5\n\n1.25\n3\n", f);
  fclose(f);
  snprintf(text, sizeof text, MM1_HEAD "%s[load]\narrivals = trace\ntrace = %s\nrequests = 10\n",
           law, path);
  run_point(text, 0, &r);
  cr_expect_eq(r.load.completed, 4, "the trace ends after 4 arrivals");
  cr_expect(fabs(r.load.lat_mean_s - D_S) < 1e-7);
  cr_expect_float_eq(r.load.offered_per_s, 4 / 3.0, 1e-12);
  run_result_fini(&r);
  /* a malformed line and a decreasing time are errors naming the file and line */
  static const char *const bad[][2] = {{"0\n0.5\nsoon\n", ":3: expected an arrival time"},
                                       {"0\n2\n1\n", ":3: arrival time 1 s is before"}};
  for (int i = 0; i < 2; i++) {
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(bad[i][0], f);
    fclose(f);
    run_scenario *sc = parse_ok(text);
    run_config cfg;
    cod_err e = {0};
    cr_assert_eq(run_scenario_point(sc, 0, &cfg, &e), COD_OK, "%s", e.msg);
    run_ident id = {"loadtest.ini", "0123456789abcdef", NULL, 0, 0};
    run_assets *cache = NULL;
    run_result rr;
    cr_expect_eq(run_execute(&cfg, &id, &cache, &rr, &e), COD_EFORMAT);
    cr_expect(strstr(e.msg, path) && strstr(e.msg, bad[i][1]), "message '%s'", e.msg);
    run_assets_free(cache);
    /* a sweep refuses the file before its first run, naming the key's line too */
    char dbp[160];
    snprintf(dbp, sizeof dbp, "%s/never.db", dir);
    run_sweep_opts o;
    memset(&o, 0, sizeof o);
    o.db_path = dbp, o.jobs = 1;
    run_sweep_stats st;
    cod_err e2 = {0};
    cr_expect_neq(run_sweep(sc, &o, &st, &e2), COD_OK);
    cr_expect(strstr(e2.msg, "loadtest.ini:") && strstr(e2.msg, "[load] trace") &&
              strstr(e2.msg, bad[i][1]), "sweep message '%s'", e2.msg);
    cr_expect_neq(access(dbp, F_OK), 0, "no database for a refused sweep");
    run_scenario_free(sc);
  }
  unlink(path);
  rmdir(dir);

  snprintf(text, sizeof text, MM1_HEAD "%s[load]\narrivals = closed\nclients = 1\n"
           "requests = 200\n", law);
  run_point(text, 0, &r);
  cr_expect_eq(r.load.completed, 200);
  cr_expect(fabs(r.load.lat_mean_s - D_S) < 1e-7);
  cr_expect(fabs(r.load.throughput_per_s - 1 / D_S) < 1e-3 / D_S, "closed: %g /s",
            r.load.throughput_per_s);
  cr_expect(isnan(r.load.offered_per_s));
  cr_expect_eq(r.load.max_in_flight, 1);
  run_result_fini(&r);
}

/* Processor sharing on one worker with exponential service is M/M/1-PS: the same mean
 * response time as FCFS M/M/1 (Kleinrock 1976, vol. 2, 4.4). Deterministic arrivals at a
 * lightly used PS worker see no queue. */
Test(load, processor_sharing_mm1) {
  const char *law = "[latency]\nmodel = shifted-exp\nshift = 0\nrate = 1\n";
  double rho = 0.6, expect = an_queue_mm1_response_s(rho / D_S, D_S);
  for (int seed = 1; seed <= 3; seed++) {
    char text[2048];
    snprintf(text, sizeof text, MM1_HEAD "%s[run]\nseed = %d\n[load]\narrivals = poisson\n"
             "rate_per_s = %.17g\nrequests = 40000\nwarmup = 2000\nservice = ps\n", law, seed,
             rho / D_S);
    run_result r;
    run_point(text, 0, &r);
    double se = std_err(&r.load);
    cr_expect(fabs(r.load.lat_mean_s - expect) <= 4.0 * se,
              "PS seed %d: simulated %.6g s, M/M/1 %.6g s, SE %.3g s", seed, r.load.lat_mean_s,
              expect, se);
    run_result_fini(&r);
  }
}

/* compute = real: every done request's numbers are computed from the set its layers
 * decoded from. fp64 nsctc-rot decodes to round-off, fp32 workers to about 1e-6: the
 * errors are measured, not assumed; the run's maximum is the maximum of its rows. */
Test(load, real_numbers_per_request) {
  double worst[2];
  for (int p = 0; p < 2; p++) {
    char text[2048];
    snprintf(text, sizeof text, "[run]\ncompute = real\nprecision = %s\nseed = 2\n"
             "[model]\nname = lenet5\n[coding]\nscheme = nsctc-rot\nka = 2\nkb = 2\n"
             "[cluster]\nworkers = 6\ncompute_rate_flops = 1e8\n"
             "[latency]\nmodel = shifted-exp\nshift = 1\nrate = 0.5\n"
             "[load]\narrivals = poisson\nrate_per_s = 80\nrequests = 40\n",
             p ? "fp32" : "fp64");
    run_result r;
    run_point(text, 0, &r);
    cr_assert_eq(r.load.completed, 40);
    cr_expect_str_eq(r.load.compute, "real");
    cr_expect_eq(r.load.singular, 0);
    /* the spooled rows: every request has its error, the maximum is the run's */
    cr_assert_eq(fseek(r.requests_spool, 0, SEEK_SET), 0);
    double mx = 0;
    size_t n = 0;
    struct { int64_t id; double a, s, f, l, e2e, lay; int32_t st; double en; } rec;
    while (fread(&rec, sizeof rec, 1, r.requests_spool) == 1) {
      cr_expect(isfinite(rec.e2e) && rec.e2e > 0, "request %lld: e2e %g", (long long)rec.id,
                rec.e2e);
      cr_expect(rec.lay >= 0 && isfinite(rec.lay));
      mx = fmax(mx, rec.e2e), n++;
    }
    cr_expect_eq(n, 40);
    cr_expect_eq(mx, r.load.max_e2e_rel_error);
    worst[p] = r.load.max_layer_rel_error;
    run_result_fini(&r);
  }
  cr_expect_lt(worst[0], 1e-10, "fp64 nsctc-rot: %g", worst[0]);
  cr_expect(worst[1] > 1e-9 && worst[1] < 1e-3, "fp32 workers: %g", worst[1]);
}

/* Batching: B requests coded together cost B times one request's work on every server
 * and finish together. Periodic arrivals at 10/s on the deterministic single worker
 * (D = 10 ms a request), B = 4 with a long timeout: a batch fills in 0.3 s and is served
 * in 4 D, so member i of a batch waits (3 - i) / 10 s + 4 D, mean 0.15 s + 0.04 s. With a
 * timeout (0.05 s) shorter than the gap between arrivals every batch leaves alone after
 * the timeout: latency 0.05 s + D. */
Test(load, batching) {
  const char *law = "[latency]\nmodel = deterministic\n";
  char text[2048];
  run_result r;
  snprintf(text, sizeof text, MM1_HEAD "%s[load]\narrivals = periodic\nrate_per_s = 10\n"
           "requests = 400\nbatch = 4\nbatch_timeout_s = 10\n", law);
  run_point(text, 0, &r);
  cr_expect_eq(r.load.completed, 400);
  cr_expect(fabs(r.load.lat_mean_s - (0.15 + 4 * D_S)) < 1e-6, "batch of 4: mean %.9g s",
            r.load.lat_mean_s);
  cr_expect_eq(r.load_workers[0].tasks_done, 100, "one task per batch");
  cr_expect(fabs(r.load_workers[0].utilisation * r.load.sim_time_s - 400 * D_S) < 1e-6,
            "busy time is the requests' work");
  run_result_fini(&r);
  snprintf(text, sizeof text, MM1_HEAD "%s[load]\narrivals = periodic\nrate_per_s = 10\n"
           "requests = 50\nbatch = 4\nbatch_timeout_s = 0.05\n", law);
  run_point(text, 0, &r);
  cr_expect_eq(r.load.completed, 50);
  cr_expect(fabs(r.load.lat_mean_s - (0.05 + D_S)) < 1e-6, "timeout: mean %.9g s",
            r.load.lat_mean_s);
  cr_expect_eq(r.load_workers[0].tasks_done, 50);
  run_result_fini(&r);
}

/* Allocation-failure walk: for N = 0, 1, ... the N-th allocation of the run fails. The run
 * either succeeds (a tolerated failure) or returns COD_ENOMEM with a message, and every
 * block comes back (no leak), in model and real mode, FCFS and PS, with batches. */
static void alloc_walk(const char *text) {
  run_scenario *sc = parse_ok(text);
  run_config cfg;
  cod_err e = {0};
  cr_assert_eq(run_scenario_point(sc, 0, &cfg, &e), COD_OK, "%s", e.msg);
  run_ident id = {"loadtest.ini", "0123456789abcdef", NULL, 0, 0};
  long enomem = 0;
  /* the clean run's allocation count: every N up to 150, then about 100 more across it */
  cod_alloc_fail_at(-1);
  {
    run_assets *cache = NULL;
    run_result r;
    cr_assert_eq(run_execute(&cfg, &id, &cache, &r, &e), COD_OK, "%s", e.msg);
    run_result_fini(&r);
    run_assets_free(cache);
  }
  long total = cod_alloc_count();
  for (long n = 0;; n += n < 150 ? 1 : 1 + total / 100) {
    long live0 = cod_alloc_live();
    run_assets *cache = NULL;
    run_result r;
    cod_err ee = {0};
    cod_alloc_fail_at(n);
    int rc = run_execute(&cfg, &id, &cache, &r, &ee);
    int fired = cod_alloc_count() > n; /* the counter passed N: the injection was reached */
    cod_alloc_fail_at(-1);
    if (rc == COD_OK) run_result_fini(&r);
    run_assets_free(cache);
    cr_assert_eq(cod_alloc_live() - live0, 0, "N=%ld: leaked (rc %d: %s)", n, rc, ee.msg);
    if (rc) {
      cr_assert_eq(rc, COD_ENOMEM, "N=%ld: status %d: %s", n, rc, ee.msg);
      cr_assert(ee.msg[0], "N=%ld: no message", n);
      enomem++;
    } else if (!fired) {
      break;
    }
    cr_assert_lt(n, 100000, "walk does not terminate");
  }
  cr_expect_gt(enomem, 5);
  run_scenario_free(sc);
}

#define WALK_HEAD                                                                         \
  "[model]\nname = lenet5\n[coding]\nscheme = nsctc-rot\nka = 2\nkb = 2\n"                \
  "[cluster]\nworkers = 4\ncompute_rate_flops = 1e8\n"                                    \
  "[load]\narrivals = poisson\nrate_per_s = 100\n"

Test(load, alloc_walk_model) { alloc_walk("[run]\ncompute = model\n" WALK_HEAD "requests = 60\n"); }
Test(load, alloc_walk_real) { alloc_walk("[run]\ncompute = real\n" WALK_HEAD "requests = 8\n"); }
Test(load, alloc_walk_ps_batch_closed) {
  alloc_walk("[run]\ncompute = model\n" WALK_HEAD
             "requests = 60\nservice = ps\nbatch = 3\nbatch_timeout_s = 0.02\ncancel = never\n");
  alloc_walk("[run]\ncompute = model\n[model]\nname = lenet5\n[coding]\nscheme = uncoded\n"
             "[cluster]\nworkers = 4\n[load]\narrivals = closed\nclients = 3\nthink_s = 0.01\n"
             "requests = 40\n");
}

/* ---- energy under load (requests.energy_j, load_runs.energy_*) ------------------------ */

/* The spooled rows of r: sum of their energy_j, how many there are and how many are NaN. */
static double spool_energy(const run_result *r, size_t *n, size_t *n_nan) {
  struct { int64_t id; double a, s, f, l, e2e, lay; int32_t st; double en; } rec;
  cr_assert_eq(fseek(r->requests_spool, 0, SEEK_SET), 0);
  double sum = 0;
  *n = 0, *n_nan = 0;
  while (fread(&rec, sizeof rec, 1, r->requests_spool) == 1) {
    (*n)++;
    if (isnan(rec.en)) (*n_nan)++;
    else sum += rec.en;
  }
  return sum;
}

/* Device numbers: distinct powers of two and of ten, so a term attributed to the wrong
 * device or direction changes the sum. */
#define ENERGY_WORKERS_TEXT                                                               \
  "[cluster]\nbusy_w = 2\nidle_w = 0.25\nj_per_flop = 1e-9\nj_per_byte_sent = 3e-8\n"      \
  "j_per_byte_recv = 5e-8\n"
#define ENERGY_MASTER_TEXT                                                                \
  "[master]\nbusy_w = 7\nidle_w = 1.5\nj_per_byte_sent = 11e-8\nj_per_byte_recv = 13e-8\n"
#define ENERGY_KEYS_TEXT ENERGY_WORKERS_TEXT ENERGY_MASTER_TEXT "j_per_flop = 1e-10\n"

/* One uncoded worker, deterministic 10 ms tasks, periodic arrivals every 40 ms (no
 * queueing), a master of 1e30 FLOP/s (its work takes ~1e-24 s): each request's energy is
 * computed here from lenet5's conv1 by hand: input 1 x 32 x 32 fp64 = 8192 bytes to the
 * worker, output 6 x 28 x 28 fp64 = 37632 bytes back, 2 x 25 x 4704 = 235200 FLOPs. The run's
 * total is the sum over the requests plus idle power over the idle time of the worker (its
 * busy time is 10 ms per request) and of the master (never measurably busy). The master's
 * J/FLOP is 0 here: the FLOPs of the layers it runs itself follow run_master_macs's count
 * of pooling and activations (energy_total_is_requests_plus_idle charges them). */
static void energy_by_hand(const char *extra) {
  const size_t N = 20;
  char text[2048];
  snprintf(text, sizeof text, MM1_HEAD "[latency]\nmodel = deterministic\n"
           ENERGY_WORKERS_TEXT ENERGY_MASTER_TEXT
           "[load]\narrivals = periodic\nrate_per_s = 25\nrequests = %zu\nwarmup = 2\n%s", N,
           extra);
  run_result r;
  run_point(text, 0, &r);
  const double up = 1.0 * 32 * 32 * 8, down = 6.0 * 28 * 28 * 8, flops = 2.0 * 25 * 6 * 28 * 28;
  const double worker = 2 * D_S + 1e-9 * flops + 5e-8 * up + 3e-8 * down;
  const double master = 11e-8 * up + 13e-8 * down; /* its busy time is ~1e-24 s */
  const double per_req = worker + master;
  size_t n, n_nan;
  double sum = spool_energy(&r, &n, &n_nan);
  cr_assert_eq(n, N);
  cr_assert_eq(n_nan, 0);
  cr_expect(fabs(sum - N * per_req) <= 1e-9 * N * per_req, "sum %.12g J, by hand %.12g J", sum,
            N * per_req);
  const res_load_row *L = &r.load;
  cr_expect(fabs(L->energy_req_mean_j - per_req) <= 1e-9 * per_req, "mean %.12g J, hand %.12g J",
            L->energy_req_mean_j, per_req);
  cr_expect(L->energy_req_mean_ci_j >= 0 && L->energy_req_mean_ci_j <= 1e-9 * per_req,
            "equal requests: CI %g J", L->energy_req_mean_ci_j);
  const double T = L->sim_time_s;
  cr_assert(T > (double)(N - 1) / 25 + D_S - 1e-9, "run length %g s", T);
  const double idle = 0.25 * (T - N * D_S) + 1.5 * T;
  cr_expect(fabs(L->energy_idle_j - idle) <= 1e-9 * idle, "idle %.12g J, hand %.12g J",
            L->energy_idle_j, idle);
  cr_expect_eq(L->energy_unattributed_j, 0.0);
  cr_expect(fabs(L->energy_j - (N * per_req + idle)) <= 1e-9 * L->energy_j,
            "total %.12g J, hand %.12g J", L->energy_j, N * per_req + idle);
  run_result_fini(&r);
}

/* FCFS; processor sharing (one task at a time here: the same busy time); batches of 4
 * (one task of 4 times the bytes and FLOPs, split evenly over its members: each still one
 * request's work). */
Test(load, energy_per_request_by_hand) {
  energy_by_hand("");
  energy_by_hand("service = ps\n");
  energy_by_hand("batch = 4\nbatch_timeout_s = 10\n");
}

/* Whatever the law and the policy, the run's total is the requests' energies plus the
 * work of orphaned tasks plus idle power over the time each device was not busy (the
 * worker's busy time from its utilisation row, kept apart from the energy's), under FCFS
 * and processor sharing. On-decode leaves no orphan and cancels tasks; never leaves
 * orphans, and its requests cost more (every task of theirs runs to the end). */
Test(load, energy_total_is_requests_plus_idle) {
  double mean[3];
  for (int v = 0; v < 3; v++) { /* on-decode, never, on-decode under processor sharing */
    const int never = v == 1;
    char text[2048];
    snprintf(text, sizeof text, CODED_HEAD ENERGY_KEYS_TEXT "[master]\nmaster_flops = 1e30\n"
             "[load]\nrequests = 600\ncancel = %s\nservice = %s\n",
             never ? "never" : "on-decode", v == 2 ? "ps" : "fcfs");
    run_result r;
    run_point(text, 0, &r);
    size_t n, n_nan;
    double sum = spool_energy(&r, &n, &n_nan);
    cr_assert_eq(n, 600);
    cr_assert_eq(n_nan, 0);
    const res_load_row *L = &r.load;
    const double T = L->sim_time_s;
    double idle = 1.5 * T;
    int64_t cancelled = 0;
    for (size_t j = 0; j < r.n_load_workers; j++) {
      idle += 0.25 * (T - r.load_workers[j].utilisation * T);
      cancelled += r.load_workers[j].tasks_cancelled;
    }
    cr_expect(fabs(L->energy_idle_j - idle) <= 1e-6 * idle, "idle %.12g J, from rows %.12g J",
              L->energy_idle_j, idle);
    double total = sum + L->energy_unattributed_j + L->energy_idle_j;
    cr_expect(fabs(L->energy_j - total) <= 1e-9 * total, "total %.12g J, parts %.12g J",
              L->energy_j, total);
    if (never) {
      cr_expect_gt(L->energy_unattributed_j, 0.0, "never: orphaned tasks cost energy");
    } else {
      cr_expect_eq(L->energy_unattributed_j, 0.0);
      cr_expect_gt(cancelled, 0);
    }
    cr_expect(L->energy_req_mean_ci_j > 0 && L->energy_req_mean_ci_j < L->energy_req_mean_j);
    mean[v] = L->energy_req_mean_j;
    run_result_fini(&r);
  }
  cr_expect_gt(mean[1], mean[0], "per request: never %g J, on-decode %g J", mean[1], mean[0]);
}

/* Energy not modelled (every energy key 0, the defaults): NULL per request and per run. */
Test(load, energy_not_modelled_is_null) {
  run_result r;
  run_point(CODED_HEAD "requests = 300\n", 0, &r);
  size_t n, n_nan;
  spool_energy(&r, &n, &n_nan);
  cr_expect_eq(n, 300);
  cr_expect_eq(n_nan, 300, "every request's energy_j is NULL");
  const res_load_row *L = &r.load;
  cr_expect(isnan(L->energy_j) && isnan(L->energy_idle_j) && isnan(L->energy_unattributed_j) &&
            isnan(L->energy_req_mean_j) && isnan(L->energy_req_mean_ci_j));
  run_result_fini(&r);
}
