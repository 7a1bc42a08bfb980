/* cli_bench_sweep.c: `fcdcc bench sweep`, the runner's speed targets (issue 12), each a
 * ratio of two things measured side by side in this process:
 *   - model-only runs of the quickstart cluster (scenarios/quickstart.ini, nsctc-rot, the
 *     file's network and latency, compute = model) through run_execute, in events per
 *     thread-CPU second, with cond = used (cold caches, and after 10,000 runs: a long
 *     sweep's steady state) and cond = none; beside them the bare engine's
 *     rate on the same number of pending events (the hold model of bench/bench_sim.c, 20
 *     pending: one per worker). Target: the runner >= 5 M events/s;
 *   - the same scenario as a 10,000-run sweep into a temporary database, --jobs 2 against
 *     --jobs 1, wall time (target >= 1.8x); each sweep prints its process-CPU / wall ratio,
 *     which says how much of the two cores this process really got (a busy machine shows
 *     up as a ratio well below 2 for --jobs 2), and the CPU per run of the writer thread (w)
 *     and of the rest (c) with the ceiling they set on 2 cores (jobs_ceiling);
 *   - n = 1024, k_A = k_B = 16 (delta = 256) model-only runs with cond = none, runs per
 *     thread-CPU second (target >= 50), and beside it the cost of ONE condition number of
 *     a 256-worker set of that code (cod_code_cond: the structured path of cod_cond_rot.c)
 *     and of a cache hit, and one condition number structured against the dense reference
 *     (eigenvalues of the 512 x 512 real embedding of V^H V, falling back to an SVD) at
 *     256-of-1024 and at the quickstart's 16-of-20, with their largest relative difference;
 *   - the hit rate of the condition-number cache over the timed cond = used runs.
 * Thread-CPU time is this thread's own work, so a shared machine slows it less than wall
 * time; the sweep ratio needs wall time and says so.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cod_alloc.h"
#include "cod_clock.h"
#include "cod_code.h"
#include "cod_cond_rot.h"
#include "fcdcc_config.h"
#include "model.h"
#include "run_cache.h"
#include "run_exec.h"
#include "run_scenario.h"
#include "run_sweep.h"
#include "sim_engine.h"

#define QUICKSTART FCDCC_SOURCE_ROOT "/scenarios/quickstart.ini"

/* The quickstart scenario, nsctc-rot only, with the given overrides (key, value pairs). */
static int quickstart(const char *const *set, size_t n_set, run_scenario **out, cod_err *e) {
  run_scenario *sc = NULL;
  int rc = run_scenario_load(QUICKSTART, &sc, e);
  if (!rc) rc = run_scenario_set(sc, "coding.scheme", "nsctc-rot", e);
  if (!rc) rc = run_scenario_set(sc, "run.compute", "model", e);
  for (size_t i = 0; !rc && i < n_set; i++) rc = run_scenario_set(sc, set[2 * i], set[2 * i + 1], e);
  if (rc) {
    run_scenario_free(sc);
    return rc;
  }
  *out = sc;
  return COD_OK;
}

/* ---- the bare engine: hold model ---------------------------------------------------- */

typedef struct hold {
  sim_engine *e;
  uint64_t s;      /* an LCG: the delays are not what we measure */
  uint64_t left;
} hold;

static void hold_ev(sim_engine *e, void *p) {
  hold *h = p;
  if (!h->left) return;
  h->left--;
  h->s = h->s * 6364136223846793005ULL + 1442695040888963407ULL;
  sim_engine_schedule_after(e, (sim_time_ns)(1 + (h->s >> 44)), hold_ev, h, NULL, NULL);
}

/* Events per thread-CPU second of the engine alone with `pending` events in the heap. */
static double engine_rate(size_t pending, uint64_t events) {
  hold h = {NULL, 1, events};
  if (sim_engine_new(pending + 8, &h.e, NULL)) return NAN;
  for (size_t i = 0; i < pending; i++)
    sim_engine_schedule_after(h.e, (sim_time_ns)(i + 1), hold_ev, &h, NULL, NULL);
  double c0 = cod_clock_thread_cpu_s();
  uint64_t fired0 = sim_engine_events_fired(h.e);
  while (sim_engine_step(h.e)) {}
  double dt = cod_clock_thread_cpu_s() - c0;
  double n = (double)(sim_engine_events_fired(h.e) - fired0);
  sim_engine_free(h.e);
  return n / dt;
}

/* ---- model-only runs through run_execute ------------------------------------------- */

typedef struct run_rate {
  double events_per_s, runs_per_s, events_per_run; /* thread CPU */
  run_cache_stats cond;  /* the condition-number cache over the timed runs */
} run_rate;

/* `runs` runs of point 0 of sc (trials 1..runs), after `warm` untimed runs (trials
 * runs+1.., at least one: it builds the thread's assets) on the same thread caches. */
static int runs_rate(const run_scenario *sc, size_t runs, size_t warm, run_rate *out,
                     cod_err *e) {
  run_config cfg;
  int rc = run_scenario_point(sc, 0, &cfg, e);
  if (rc) return rc;
  run_assets *cache = NULL;
  run_ident id = {"bench", "bench", "{}", 0, 0};
  run_result r;
  for (size_t k = 0; k < (warm ? warm : 1); k++) {
    id.trial = runs + 1 + k;
    if ((rc = run_execute(&cfg, &id, &cache, &r, e))) goto done;
    run_result_fini(&r);
  }
  uint64_t events = 0;
  run_cache_stats st0 = run_assets_cond_stats(cache);
  double c0 = cod_clock_thread_cpu_s();
  for (size_t k = 0; k < runs; k++) {
    id.trial = k + 1;
    if ((rc = run_execute(&cfg, &id, &cache, &r, e))) goto done;
    events += r.events_fired;
    run_result_fini(&r);
  }
  double dt = cod_clock_thread_cpu_s() - c0;
  out->events_per_s = (double)events / dt;
  out->runs_per_s = (double)runs / dt;
  out->events_per_run = (double)events / (double)runs;
  run_cache_stats st1 = run_assets_cond_stats(cache);
  out->cond.hits = st1.hits - st0.hits, out->cond.misses = st1.misses - st0.misses;
  out->cond.evictions = st1.evictions - st0.evictions;
done:
  run_assets_free(cache);
  return rc;
}

static const char *verdict(double v, double goal) { return v >= goal ? "ok" : "MISSED"; }

static int bench_events(int reps, size_t runs, size_t warm) {
  static const char *const used[] = {"run.cond", "used"}, *const none[] = {"run.cond", "none"};
  run_scenario *su = NULL, *sn = NULL;
  cod_err e = {0};
  int rc = quickstart(used, 1, &su, &e);
  if (!rc) rc = quickstart(none, 1, &sn, &e);
  run_rate best_u = {0, 0, 0, {0, 0, 0}}, best_n = best_u, best_w = best_u;
  double best_eng = 0;
  for (int k = 0; !rc && k < reps; k++) { /* interleaved, best of reps */
    run_rate u, n, w;
    if ((rc = runs_rate(su, runs, 0, &u, &e)) || (rc = runs_rate(sn, runs, 0, &n, &e)) ||
        (rc = runs_rate(su, runs, warm, &w, &e)))
      break;
    double eng = engine_rate(20, (uint64_t)(u.events_per_run * (double)runs));
    if (w.events_per_s > best_w.events_per_s) best_w = w;
    if (u.events_per_s > best_u.events_per_s) best_u = u;
    if (n.events_per_s > best_n.events_per_s) best_n = n;
    if (eng > best_eng) best_eng = eng;
  }
  run_scenario_free(su);
  run_scenario_free(sn);
  if (rc) return cli_fail("bench", "%s", e.msg);
  printf("model-only runner, quickstart cluster (AlexNet, n = 20, nsctc-rot 4x4), %zu runs, "
         "best of %d (thread CPU)\n", runs, reps);
  printf("  bare engine (hold, 20 pending) %7.2f M events/s\n", best_eng / 1e6);
  printf("  runner, cond = used            %7.2f M events/s  %8.0f runs/s  %.0f events/run  "
         "(%.2f of the engine; target >= 5 M/s) %s\n", best_u.events_per_s / 1e6,
         best_u.runs_per_s, best_u.events_per_run, best_u.events_per_s / best_eng,
         verdict(best_u.events_per_s, 5e6));
  printf("  runner, cond = used, after %zu runs on the thread's caches (a long sweep's "
         "steady state)\n                                 %7.2f M events/s  %8.0f runs/s  "
         "(%.2f of the engine; target >= 5 M/s) %s\n", warm, best_w.events_per_s / 1e6,
         best_w.runs_per_s, best_w.events_per_s / best_eng, verdict(best_w.events_per_s, 5e6));
  printf("  runner, cond = none            %7.2f M events/s  %8.0f runs/s  "
         "(%.2f of the engine; target >= 5 M/s) %s\n", best_n.events_per_s / 1e6,
         best_n.runs_per_s, best_n.events_per_s / best_eng, verdict(best_n.events_per_s, 5e6));
  printf("  cond = used / cond = none      %7.2f cold, %.2f after %zu runs\n",
         best_u.events_per_s / best_n.events_per_s, best_w.events_per_s / best_n.events_per_s,
         warm);
  printf("  condition-number cache, timed runs: cold %.1f%% hits (%llu misses), after %zu runs "
         "%.1f%% hits (%llu misses, %llu evictions)\n",
         100.0 * (double)best_u.cond.hits / (double)(best_u.cond.hits + best_u.cond.misses),
         (unsigned long long)best_u.cond.misses, warm,
         100.0 * (double)best_w.cond.hits / (double)(best_w.cond.hits + best_w.cond.misses),
         (unsigned long long)best_w.cond.misses, (unsigned long long)best_w.cond.evictions);
  return 0;
}

/* ---- --jobs 2 against --jobs 1 ------------------------------------------------------ */

/* One sweep of sc into a fresh database in dir; wall, process-CPU and writer-thread CPU
 * seconds. */
static int sweep_once(const run_scenario *sc, const char *dir, size_t jobs, double *wall,
                      double *cpu, double *writer_cpu, cod_err *e) {
  char db[4096];
  snprintf(db, sizeof db, "%s/sweep-j%zu.db", dir, jobs);
  unlink(db);
  run_sweep_opts o;
  memset(&o, 0, sizeof o);
  o.db_path = db, o.jobs = jobs;
  run_sweep_stats st;
  double w0 = cod_clock_wall_s(), c0 = cod_clock_process_cpu_s();
  int rc = run_sweep(sc, &o, &st, e);
  *wall = cod_clock_wall_s() - w0, *cpu = cod_clock_process_cpu_s() - c0;
  *writer_cpu = st.writer_cpu_s;
  unlink(db);
  return rc;
}

/* What the writer allows, from CPU per run measured in the sweeps: c = the rest of the
 * process (the sweep threads, mostly computing), w = the writer thread (thread CPU, so a
 * busy machine moves them less than wall time). With --jobs 1 the computing thread and
 * the writer run side by side on the two cores, a run every max(c, w); with --jobs 2 the
 * two cores share c + w per run and the writer is still one thread, a run every
 * max((c + w) / 2, w). So on 2 cores --jobs 2 / --jobs 1 <= max(c, w) / max((c + w) / 2, w)
 * = 2c / (c + w) while w <= c, and 1 once w >= c; 1.8x needs w <= c / 9. */
static void jobs_ceiling(double c1, double w1, double c2, double w2, double ratio) {
  double c = c1, w = w1; /* --jobs 1: no second computing thread competing */
  double ceiling = fmax(c, w) / fmax((c + w) / 2, w);
  printf("  CPU per run (thread CPU): --jobs 1 computing %.1f us, writer %.1f us (w/c %.2f); "
         "--jobs 2 computing %.1f us, writer %.1f us\n", c1 * 1e6, w1 * 1e6, w1 / c1, c2 * 1e6,
         w2 * 1e6);
  printf("  ceiling on 2 cores: max(c, w) / max((c + w) / 2, w) = %.2fx; the 1.8x target needs "
         "the writer <= c / 9 = %.1f us per run%s\n", ceiling, c / 9 * 1e6,
         ceiling < 1.8 ? ": bound by the writer (SQLite rows per run), not by the sweep threads"
         : ratio < 0.9 * ceiling ? ": the writer allows it; the shortfall is elsewhere" : "");
}

static int bench_jobs(int reps, size_t runs) {
  char trials[32];
  snprintf(trials, sizeof trials, "%zu", runs);
  const char *const set[] = {"run.trials", trials};
  run_scenario *sc = NULL;
  cod_err e = {0};
  if (quickstart(set, 1, &sc, &e)) return cli_fail("bench", "%s", e.msg);
  const char *tmp = getenv("TMPDIR");
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/fcdcc-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    run_scenario_free(sc);
    return cli_fail("bench", "cannot make a temporary directory under %s", tmp && *tmp ? tmp : "/tmp");
  }
  double w1 = INFINITY, w2 = INFINITY, c1 = 0, c2 = 0, wr1 = 0, wr2 = 0;
  int rc = 0;
  for (int k = 0; !rc && k < reps; k++) {
    double w, c, wr;
    if ((rc = sweep_once(sc, dir, 1, &w, &c, &wr, &e))) break;
    if (w < w1) w1 = w, c1 = c, wr1 = wr;
    if ((rc = sweep_once(sc, dir, 2, &w, &c, &wr, &e))) break;
    if (w < w2) w2 = w, c2 = c, wr2 = wr;
  }
  rmdir(dir);
  run_scenario_free(sc);
  if (rc) return cli_fail("bench", "%s", e.msg);
  double ratio = w1 / w2;
  printf("\nmodel-only sweep, %zu runs of the quickstart cluster into SQLite, best of %d (wall)\n",
         runs, reps);
  printf("  --jobs 1  %7.2f s  %8.0f runs/s  process CPU / wall %.2f\n", w1, (double)runs / w1,
         c1 / w1);
  printf("  --jobs 2  %7.2f s  %8.0f runs/s  process CPU / wall %.2f\n", w2, (double)runs / w2,
         c2 / w2);
  printf("  --jobs 2 / --jobs 1: %.2fx (target >= 1.8x) %s%s\n", ratio, verdict(ratio, 1.8),
         c2 / w2 < 1.6 ? "  (this process got less than 1.6 cores: the machine is busy)" : "");
  jobs_ceiling((c1 - wr1) / (double)runs, wr1 / (double)runs, (c2 - wr2) / (double)runs,
               wr2 / (double)runs, ratio);
  return 0;
}

/* ---- n = 1024, delta = 256 ------------------------------------------------------------ */

static int cmp_size(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return (x > y) - (x < y);
}

/* One condition number of nsctc-rot worker sets of `code`, structured (cod_code_cond, the
 * scheme's hook) against the dense reference (cod_rot_cond_dense): thread-CPU seconds per
 * set of each, averaged over `sets` seeded random threshold-size sets, and the largest
 * relative difference and condition number met; with `fixed`, that one set instead. */
typedef struct cond_cost {
  double struct_s, dense_s, max_rel, max_cond;
} cond_cost;

static int cond_cost_measure(const cod_code *code, size_t sets, const size_t *fixed,
                             cond_cost *out, cod_err *e) {
  size_t n = cod_code_workers(code), d = cod_code_threshold(code);
  size_t *ids = cod_malloc_array(n, sizeof *ids);
  if (!ids) return cod_err_set(e, COD_ENOMEM, "out of memory");
  cond_cost c = {0, 0, 0, 0};
  uint64_t s = 777;
  int rc = COD_OK;
  for (size_t k = 0; !rc && k < sets; k++) {
    for (size_t i = 0; i < n; i++) ids[i] = i;
    for (size_t i = 0; i < d; i++) { /* partial Fisher-Yates */
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      size_t j = i + (size_t)((s >> 33) % (n - i)), t = ids[i];
      ids[i] = ids[j], ids[j] = t;
    }
    const size_t *set = fixed ? fixed : ids;
    double ks = NAN, kd = NAN, c0 = cod_clock_thread_cpu_s();
    rc = cod_code_cond(code, set, d, &ks, e);
    double c1 = cod_clock_thread_cpu_s();
    if (!rc) rc = cod_rot_cond_dense(code, set, d, &kd, e);
    double c2 = cod_clock_thread_cpu_s();
    c.struct_s += c1 - c0, c.dense_s += c2 - c1;
    c.max_rel = fmax(c.max_rel, fabs(ks - kd) / kd), c.max_cond = fmax(c.max_cond, kd);
  }
  cod_free(ids);
  if (rc) return rc;
  c.struct_s /= (double)sets, c.dense_s /= (double)sets;
  *out = c;
  return COD_OK;
}

static void cond_cost_print(const char *what, const cond_cost *c) {
  printf("  one condition number of %s: structured %.3f ms, dense %.3f ms (%.1fx); largest "
         "relative difference %.2g at conditions up to %.3g\n", what, c->struct_s * 1e3,
         c->dense_s * 1e3, c->dense_s / c->struct_s, c->max_rel, c->max_cond);
}

/* The quickstart code (n = 20, 4 x 4) on AlexNet's first conv layer. */
static int bench_cond_small(void) {
  run_scenario *sc = NULL;
  cod_err e = {0};
  run_config cfg;
  model *m = NULL;
  cod_code *code = NULL;
  int rc = quickstart(NULL, 0, &sc, &e);
  if (!rc) rc = run_scenario_point(sc, 0, &cfg, &e);
  run_scenario_free(sc);
  if (!rc) rc = model_lookup(cfg.model.name, &m, &e);
  if (!rc) {
    cod_conv_geom g = model_conv_geom(m, 0);
    rc = run_code_choose(&cfg, &g, &code, &e);
  }
  model_free(m);
  cond_cost c;
  if (!rc) rc = cond_cost_measure(code, 500, NULL, &c, &e);
  cod_code_free(code);
  if (rc) return cli_fail("bench", "%s", e.msg);
  cond_cost_print("a 16-of-20 set (500 random sets; the dense path: eigenvalues of the "
                  "32 x 32 embedding of V^H V)", &c);
  return 0;
}

static int bench_large(int reps, size_t runs) {
  static const char *const set[] = {"cluster.workers", "1024", "coding.ka", "16",
                                    "coding.kb", "16", "run.cond", "none"};
  run_scenario *sc = NULL;
  cod_err e = {0};
  int rc = quickstart(set, 4, &sc, &e);
  run_rate best = {0, 0, 0, {0, 0, 0}};
  for (int k = 0; !rc && k < reps; k++) {
    run_rate r;
    if ((rc = runs_rate(sc, runs, 0, &r, &e))) break;
    if (r.runs_per_s > best.runs_per_s) best = r;
  }
  run_config cfg;
  if (!rc) rc = run_scenario_point(sc, 0, &cfg, &e);
  run_scenario_free(sc);
  model *m = NULL;
  cod_code *code = NULL;
  if (!rc) rc = model_lookup(cfg.model.name, &m, &e);
  if (!rc) {
    cod_conv_geom g = model_conv_geom(m, 0);
    rc = run_code_choose(&cfg, &g, &code, &e);
  }
  model_free(m);
  if (rc) return cli_fail("bench", "%s", e.msg);
  /* a seeded random 256-set of the 1024 workers (partial Fisher-Yates) */
  size_t n = cod_code_workers(code), d = cod_code_threshold(code);
  size_t *ids = cod_malloc_array(n, sizeof *ids);
  if (!ids) {
    cod_code_free(code);
    return cli_fail("bench", "out of memory");
  }
  for (size_t i = 0; i < n; i++) ids[i] = i;
  uint64_t s = 12345;
  for (size_t i = 0; i < d; i++) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    size_t j = i + (size_t)((s >> 33) % (n - i));
    size_t t = ids[i];
    ids[i] = ids[j], ids[j] = t;
  }
  qsort(ids, d, sizeof *ids, cmp_size);
  double t_cond = INFINITY, t_hit = INFINITY, k = NAN;
  run_cond_cache *cc = NULL;
  /* best of reps, but one repetition is enough once a repetition takes seconds */
  for (int r = 0; !rc && r < reps && (r == 0 || t_cond <= 1.0); r++) {
    double c0 = cod_clock_thread_cpu_s();
    rc = cod_code_cond(code, ids, d, &k, &e);
    double c1 = cod_clock_thread_cpu_s();
    if (!rc) rc = run_cond_cache_get(&cc, code, ids, d, &k, NULL, &e); /* a miss the first time */
    double c2 = cod_clock_thread_cpu_s();
    if (!rc) rc = run_cond_cache_get(&cc, code, ids, d, &k, NULL, &e); /* a hit */
    double c3 = cod_clock_thread_cpu_s();
    t_cond = fmin(t_cond, c1 - c0);
    t_hit = fmin(t_hit, c3 - c2);
  }
  run_cond_cache_free(cc);
  cond_cost cl; /* the same set once: the dense path takes seconds */
  if (!rc) rc = cond_cost_measure(code, 1, ids, &cl, &e);
  cod_free(ids);
  cod_code_free(code);
  if (rc) return cli_fail("bench", "%s", e.msg);
  printf("\nn = 1024, nsctc-rot 16x16 (delta = 256), model-only, cond = none, %zu runs, best of "
         "%d (thread CPU)\n", runs, reps);
  printf("  %8.1f runs/s  %.0f events/run (target >= 50 runs/s) %s\n", best.runs_per_s,
         best.events_per_run, verdict(best.runs_per_s, 50));
  printf("  one condition number of a 256-worker set (structured, cod_cond_rot.c): %.1f ms = "
         "%.2f runs' time (cond %.4g)\n", t_cond * 1e3, t_cond * best.runs_per_s, k);
  printf("  the same set from the per-thread cache (cond = used, a set seen before): %.3f ms\n",
         t_hit * 1e3);
  cond_cost_print("that 256-of-1024 set (the dense path: eigenvalues of the 512 x 512 "
                  "embedding of V^H V, then its SVD)", &cl);
  printf("  (eps x cond = %.2g: the relative round-off of either path at this condition; "
         "below 1e6 the dense one carries eps x cond^2, tests/coding/test_coding_condrot.c)\n",
         2.2e-16 * cl.max_cond);
  return bench_cond_small();
}

int cli_bench_sweep_targets(int quick, int reps) {
  int rc = bench_events(reps, quick ? 200 : 1000, quick ? 2000 : 10000);
  if (!rc) rc = bench_jobs(quick ? 1 : reps < 3 ? reps : 3, quick ? 2000 : 10000);
  if (!rc) rc = bench_large(reps, quick ? 5 : 20);
  if (!rc) rc = cli_bench_reproduce(quick, 1); /* cli_bench_repro.c; a minute a side */
  return rc;
}

static const char sweep_help[] =
    "Usage: fcdcc bench sweep [--quick] [--reps R]\n"
    "The runner's speed targets, as ratios measured side by side in this process:\n"
    "model-only events/s of the quickstart cluster (cond = used and none) beside the bare\n"
    "engine's; a 10,000-run model-only sweep with --jobs 2 against --jobs 1 (wall time,\n"
    "with each sweep's process-CPU / wall ratio, the writer thread's CPU per run beside the\n"
    "computing threads' and the ceiling that sets on 2 cores); n = 1024, delta = 256 runs/s\n"
    "with cond = none beside the cost of one condition number of a 256-worker set\n"
    "(structured against the dense reference, also at the quickstart's 16 of 20); the\n"
    "--quick runs of six real-compute files of scenarios/paper/ (two with --quick) chained\n"
    "as `fcdcc reproduce` runs them, --jobs 2 against --jobs 1 (wall, CPU/wall, CPU ratio).\n\n"
    "  --quick      fewer runs (2,000-run sweep) and one repetition of the sweep\n"
    "  --reps R     repetitions per measurement (default 3)\n"
    "  -h, --help   this help\n";

int cli_bench_sweep(int argc, char **argv) {
  static const struct option longopts[] = {
      {"quick", 0, 0, 'q'}, {"reps", 1, 0, 'r'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
  int quick = 0, ch;
  size_t reps = 3;
  optind = 1;
  opterr = 0;
  while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    if (ch == 'q') quick = 1;
    else if (ch == 'r') {
      int rc = cli_parse_size("bench sweep", "--reps", optarg, 1, 100, &reps);
      if (rc) return rc;
    } else if (ch == 'h') {
      fputs(sweep_help, stdout);
      return 0;
    } else return cli_usage_error("bench sweep", "unknown or incomplete option '%s'", argv[optind - 1]);
  }
  if (optind < argc) return cli_usage_error("bench sweep", "unexpected argument '%s'", argv[optind]);
  return cli_bench_sweep_targets(quick, (int)reps);
}
