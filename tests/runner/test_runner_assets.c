/* test_runner_assets.c: the shared asset pool (runner/run_assets.h): one build per key
 * however many threads ask at once, a failed build's error for the builder and its
 * waiters (never a hang), a retry after it, the idle bound, and out of memory at every
 * allocation. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "cod_alloc.h"
#include "run_assets.h"

/* A build that counts itself, holds the build open until `go` (so that the other threads
 * arrive while it runs), then fails or makes an array of `n` seeded values. */
typedef struct build_ctx {
  atomic_int calls, entered, go;
  int fail;       /* status to fail with, 0 to succeed */
  size_t n;
  unsigned seed;
} build_ctx;

static int build_values(void *ctx, void **out, cod_err *err) {
  build_ctx *b = ctx;
  atomic_fetch_add(&b->calls, 1);
  atomic_store(&b->entered, 1);
  while (!atomic_load(&b->go)) usleep(1000);
  if (b->fail) return cod_err_set(err, b->fail, "model m.onnx: broken on purpose");
  double *v = cod_malloc_array(b->n, sizeof *v);
  if (!v) return cod_err_set(err, COD_ENOMEM, "out of memory for the values");
  unsigned s = b->seed;
  for (size_t i = 0; i < b->n; i++) s = s * 1103515245u + 12345u, v[i] = (double)(s >> 8);
  *out = v;
  return COD_OK;
}
static void free_values(void *obj) { cod_free(obj); }
static const run_asset_ops values_ops = {build_values, free_values};

typedef struct asker {
  run_asset_pool *pool;
  const char *key;
  build_ctx *b;
  void *got;
  int rc;
  cod_err err;
} asker;

static void *ask(void *arg) {
  asker *a = arg;
  a->rc = run_asset_pool_acquire(a->pool, a->key, &values_ops, a->b, &a->got, &a->err);
  return NULL;
}

/* Wait (bounded) until the pool counts `n` waiters: the threads are inside acquire. */
static void wait_for_waiters(run_asset_pool *p, size_t n) {
  for (int i = 0; i < 5000 && run_asset_pool_stats_get(p).waits < n; i++) usleep(1000);
  cr_assert_geq(run_asset_pool_stats_get(p).waits, n, "the other threads never waited");
}

#define ASKERS 4

Test(assets, threads_asking_for_one_key_at_once_share_one_build) {
  run_asset_pool *p = NULL;
  cod_err e = {0};
  cr_assert_eq(run_asset_pool_new(1, &p, &e), COD_OK, "%s", e.msg);
  build_ctx b = {.n = 1000, .seed = 77u};
  asker a[ASKERS];
  pthread_t th[ASKERS];
  for (int i = 0; i < ASKERS; i++) {
    memset(&a[i], 0, sizeof a[i]);
    a[i].pool = p, a[i].key = "alexnet|he|1", a[i].b = &b;
    cr_assert_eq(pthread_create(&th[i], NULL, ask, &a[i]), 0);
  }
  while (!atomic_load(&b.entered)) usleep(1000);
  wait_for_waiters(p, ASKERS - 1);
  atomic_store(&b.go, 1);
  for (int i = 0; i < ASKERS; i++) pthread_join(th[i], NULL);
  cr_expect_eq(atomic_load(&b.calls), 1, "built %d times", atomic_load(&b.calls));
  /* the independent reference: the same seeded values computed here */
  unsigned s = 77u;
  for (int i = 0; i < ASKERS; i++) {
    cr_assert_eq(a[i].rc, COD_OK, "%s", a[i].err.msg);
    cr_expect_eq(a[i].got, a[0].got, "thread %d got another copy", i);
  }
  const double *v = a[0].got;
  for (size_t i = 0; i < 1000; i++) {
    s = s * 1103515245u + 12345u;
    cr_assert_eq(v[i], (double)(s >> 8), "value %zu", i);
  }
  run_asset_pool_stats st = run_asset_pool_stats_get(p);
  cr_expect_eq(st.builds, 1);
  cr_expect_eq(st.waits, ASKERS - 1);
  cr_expect_eq(st.live, 1);
  for (int i = 0; i < ASKERS; i++) run_asset_pool_release(p, a[i].got);
  cr_expect_eq(run_asset_pool_stats_get(p).live, 1, "idle_max = 1 keeps it");
  run_asset_pool_free(p);
}

Test(assets, a_failed_build_reaches_every_waiter_and_a_later_request_retries) {
  run_asset_pool *p = NULL;
  cod_err e = {0};
  long live0 = cod_alloc_live();
  cr_assert_eq(run_asset_pool_new(1, &p, &e), COD_OK, "%s", e.msg);
  build_ctx b = {.n = 10, .seed = 3u, .fail = COD_EFORMAT};
  asker a[ASKERS];
  pthread_t th[ASKERS];
  for (int i = 0; i < ASKERS; i++) {
    memset(&a[i], 0, sizeof a[i]);
    a[i].pool = p, a[i].key = "m.onnx", a[i].b = &b, a[i].got = &b; /* untouched on failure */
    cr_assert_eq(pthread_create(&th[i], NULL, ask, &a[i]), 0);
  }
  while (!atomic_load(&b.entered)) usleep(1000);
  wait_for_waiters(p, ASKERS - 1);
  atomic_store(&b.go, 1);
  for (int i = 0; i < ASKERS; i++) pthread_join(th[i], NULL);
  cr_expect_eq(atomic_load(&b.calls), 1, "a failing key built %d times at once",
               atomic_load(&b.calls));
  for (int i = 0; i < ASKERS; i++) {
    cr_expect_eq(a[i].rc, COD_EFORMAT, "thread %d: %s", i, cod_status_name(a[i].rc));
    cr_expect(strstr(a[i].err.msg, "broken on purpose") != NULL, "thread %d: '%s'", i,
              a[i].err.msg);
    cr_expect_eq(a[i].got, &b, "thread %d: out written on failure", i);
  }
  run_asset_pool_stats st = run_asset_pool_stats_get(p);
  cr_expect_eq(st.failures, 1);
  cr_expect_eq(st.live, 0, "the failed entry outlived its waiters");
  cr_expect_eq(cod_alloc_live(), live0 + 1, "%ld blocks leaked", cod_alloc_live() - live0 - 1);
  /* the cause gone, the same key builds again */
  b.fail = 0;
  void *v = NULL;
  cr_assert_eq(run_asset_pool_acquire(p, "m.onnx", &values_ops, &b, &v, &e), COD_OK, "%s", e.msg);
  cr_expect_eq(atomic_load(&b.calls), 2);
  run_asset_pool_release(p, v);
  run_asset_pool_free(p);
  cr_expect_eq(cod_alloc_live(), live0, "%ld blocks leaked", cod_alloc_live() - live0);
}

Test(assets, idle_entries_stay_within_the_bound_least_recently_released_first) {
  for (size_t idle_max = 0; idle_max <= 2; idle_max++) {
    run_asset_pool *p = NULL;
    cod_err e = {0};
    long live0 = cod_alloc_live();
    cr_assert_eq(run_asset_pool_new(idle_max, &p, &e), COD_OK, "%s", e.msg);
    build_ctx b = {.n = 4, .seed = 9u, .go = 1};
    const char *keys[4] = {"a", "b", "c", "d"};
    void *held[4];
    for (size_t k = 0; k < 4; k++)
      cr_assert_eq(run_asset_pool_acquire(p, keys[k], &values_ops, &b, &held[k], &e), COD_OK);
    cr_expect_eq(run_asset_pool_stats_get(p).live, 4, "held entries are never evicted");
    for (size_t k = 0; k < 4; k++) {
      run_asset_pool_release(p, held[k]);
      size_t idle = k + 1 < idle_max ? k + 1 : idle_max;
      cr_expect_eq(run_asset_pool_stats_get(p).live, (4 - k - 1) + idle,
                   "idle_max %zu after %zu releases", idle_max, k + 1);
    }
    /* the most recently released stay: "d" (and "c") are hits, "a" is built again */
    size_t calls = (size_t)atomic_load(&b.calls);
    void *v = NULL;
    if (idle_max > 0) {
      cr_assert_eq(run_asset_pool_acquire(p, "d", &values_ops, &b, &v, &e), COD_OK);
      cr_expect_eq((size_t)atomic_load(&b.calls), calls, "idle_max %zu: d rebuilt", idle_max);
      run_asset_pool_release(p, v);
    }
    cr_assert_eq(run_asset_pool_acquire(p, "a", &values_ops, &b, &v, &e), COD_OK);
    cr_expect_eq((size_t)atomic_load(&b.calls), calls + 1, "idle_max %zu: a was kept", idle_max);
    run_asset_pool_release(p, v);
    cr_expect_eq(run_asset_pool_stats_get(p).live, idle_max);
    run_asset_pool_free(p);
    cr_expect_eq(cod_alloc_live(), live0, "idle_max %zu: %ld blocks leaked", idle_max,
                 cod_alloc_live() - live0);
  }
}

/* One thread going A -> B -> A with one idle place: the exchange finds A idle (2 builds,
 * not 3); moving to a key that must be built releases first, so the pool never holds more
 * than before (a third key C idle is evicted for A, as a release then an acquire would);
 * a failed build still gives the dropped reference back. */
Test(assets, an_exchange_back_to_an_idle_set_does_not_rebuild_it) {
  run_asset_pool *p = NULL;
  cod_err e = {0};
  long live0 = cod_alloc_live();
  cr_assert_eq(run_asset_pool_new(1, &p, &e), COD_OK, "%s", e.msg);
  build_ctx b = {.n = 4, .seed = 3u, .go = 1};
  void *a = NULL, *bb = NULL, *a2 = NULL, *c = NULL;
  cr_assert_eq(run_asset_pool_exchange(p, NULL, "a", &values_ops, &b, &a, &e), COD_OK);
  cr_assert_eq(run_asset_pool_exchange(p, a, "b", &values_ops, &b, &bb, &e), COD_OK);
  cr_expect_eq(run_asset_pool_stats_get(p).live, 2, "b held, a idle");
  cr_assert_eq(run_asset_pool_exchange(p, bb, "a", &values_ops, &b, &a2, &e), COD_OK);
  cr_expect_eq(a2, a, "a came back from the idle list");
  cr_expect_eq(atomic_load(&b.calls), 2, "built %d times", atomic_load(&b.calls));
  cr_expect_eq(run_asset_pool_stats_get(p).live, 2, "a held, b idle");
  /* a miss: a is released before c is built, so b (idle) is evicted for it */
  cr_assert_eq(run_asset_pool_exchange(p, a2, "c", &values_ops, &b, &c, &e), COD_OK);
  cr_expect_eq(run_asset_pool_stats_get(p).live, 2, "c held, a idle, b evicted");
  cr_expect_eq(run_asset_pool_stats_get(p).evictions, 1);
  /* a failed build: the dropped reference is given back all the same */
  build_ctx bad = {.n = 4, .go = 1, .fail = COD_EIO};
  void *d = NULL;
  cr_expect_eq(run_asset_pool_exchange(p, c, "d", &values_ops, &bad, &d, &e), COD_EIO);
  cr_expect(strstr(e.msg, "broken on purpose") != NULL, "%s", e.msg);
  cr_expect_eq(run_asset_pool_stats_get(p).live, 1, "only one idle set left");
  run_asset_pool_free(p); /* asserts that no entry is still held */
  cr_expect_eq(cod_alloc_live(), live0, "%ld blocks leaked", cod_alloc_live() - live0);
}

/* Out of memory at every allocation of new + acquire + a build: COD_ENOMEM with a
 * message, nothing leaked, nothing left in the pool; then it works. */
Test(assets, out_of_memory_at_every_allocation_fails_cleanly) {
  build_ctx b = {.n = 16, .seed = 5u, .go = 1};
  long total = -1;
  for (long n = 0;; n++) {
    long live0 = cod_alloc_live();
    run_asset_pool *p = NULL;
    void *v = NULL;
    cod_err e = {0};
    cod_alloc_fail_at(n);
    int rc = run_asset_pool_new(0, &p, &e);
    if (!rc) rc = run_asset_pool_acquire(p, "k", &values_ops, &b, &v, &e);
    long made = cod_alloc_count();
    cod_alloc_fail_at(-1);
    if (rc == COD_OK) {
      cr_expect_eq(((double *)v)[0], (double)((5u * 1103515245u + 12345u) >> 8));
      run_asset_pool_release(p, v);
      run_asset_pool_free(p);
      cr_expect_eq(cod_alloc_live(), live0);
      total = made;
      break;
    }
    cr_assert_eq(rc, COD_ENOMEM, "N=%ld: %s (%s)", n, cod_status_name(rc), e.msg);
    cr_assert(e.msg[0], "N=%ld: no message", n);
    if (p) {
      cr_expect_eq(run_asset_pool_stats_get(p).live, 0, "N=%ld: an entry stayed", n);
      run_asset_pool_free(p);
    }
    cr_assert_eq(cod_alloc_live(), live0, "N=%ld: %ld blocks leaked", n, cod_alloc_live() - live0);
  }
  cr_expect_eq(total, 4, "pool, entry, key, values: %ld allocations", total);
}

/* ---- the pool under run_execute: two threads, one build, the rows of a private cache ---- */

#include "run_exec.h"
#include "run_scenario.h"

static const char *const LENET =
    "[model]\nname = lenet5\n[cluster]\nworkers = 6\n[coding]\nscheme = nsctc-rot\n"
    "ka = 1\nkb = 2\n[run]\ncompute = real\nseed = 11\ntrials = 1\n";

typedef struct runner {
  const run_config *cfg;
  run_asset_pool *pool;
  run_result r;
  int rc;
  cod_err err;
} runner;

/* LENET's point 0 (sc freed by the caller). */
static void lenet_point(run_scenario **sc, run_config *cfg) {
  cod_err e = {0};
  cr_assert_eq(run_scenario_parse(LENET, strlen(LENET), "lenet.ini", sc, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(run_scenario_point(*sc, 0, cfg, &e), COD_OK, "%s", e.msg);
}

static void *run_one(void *arg) {
  runner *R = arg;
  run_assets *cache = NULL;
  run_ident id = {"lenet.ini", "h", "{}", 0, 0};
  R->rc = run_assets_new_shared(R->pool, &cache, &R->err);
  if (!R->rc) R->rc = run_execute(R->cfg, &id, &cache, &R->r, &R->err);
  run_assets_free(cache);
  return NULL;
}

Test(assets, two_threads_running_one_model_build_its_assets_once_with_the_same_rows) {
  run_scenario *sc = NULL;
  cod_err e = {0};
  run_config cfg;
  lenet_point(&sc, &cfg);
  /* the reference: a cache of its own, no pool */
  run_assets *own = NULL;
  run_ident id = {"lenet.ini", "h", "{}", 0, 0};
  run_result ref;
  cr_assert_eq(run_execute(&cfg, &id, &own, &ref, &e), COD_OK, "%s", e.msg);
  run_assets_free(own);
  run_asset_pool *p = NULL;
  cr_assert_eq(run_asset_pool_new(0, &p, &e), COD_OK, "%s", e.msg);
  runner R[2];
  pthread_t th[2];
  for (int i = 0; i < 2; i++) {
    memset(&R[i], 0, sizeof R[i]);
    R[i].cfg = &cfg, R[i].pool = p;
    cr_assert_eq(pthread_create(&th[i], NULL, run_one, &R[i]), 0);
  }
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  run_asset_pool_stats st = run_asset_pool_stats_get(p);
  cr_expect_eq(st.builds, 1, "the assets were built %zu times", st.builds);
  cr_expect_eq(st.hits + st.waits, 1);
  cr_expect_eq(st.live, 0, "idle_max 0: freed with its last holder");
  for (int i = 0; i < 2; i++) {
    cr_assert_eq(R[i].rc, COD_OK, "thread %d: %s", i, R[i].err.msg);
    cr_expect_eq(R[i].r.n_layers, ref.n_layers);
    cr_expect_eq(R[i].r.run.e2e_rel_error, ref.run.e2e_rel_error, "thread %d", i);
    cr_expect_eq(R[i].r.run.latency_s, ref.run.latency_s, "thread %d", i);
    for (size_t l = 0; l < ref.n_layers && l < R[i].r.n_layers; l++) {
      cr_expect_eq(R[i].r.layers[l].mse, ref.layers[l].mse, "thread %d layer %zu", i, l);
      cr_expect_eq(R[i].r.layers[l].t_total_s, ref.layers[l].t_total_s, "thread %d layer %zu", i,
                   l);
    }
    run_result_fini(&R[i].r);
  }
  cr_expect_gt(ref.run.e2e_rel_error, 0.0, "the error compares two different passes");
  run_result_fini(&ref);
  run_asset_pool_free(p);
  run_scenario_free(sc);
}

/* Out of memory at every allocation of a run through a pool: COD_ENOMEM with a message,
 * the pool left empty, nothing leaked. */
Test(assets, a_run_through_a_pool_out_of_memory_anywhere_fails_cleanly) {
  run_scenario *sc = NULL;
  cod_err e = {0};
  run_config cfg;
  lenet_point(&sc, &cfg);
  run_ident id = {"lenet.ini", "h", "{}", 0, 0};
  long enomem = 0, n = 0;
  for (;; n++) {
    long live0 = cod_alloc_live();
    run_asset_pool *p = NULL;
    cr_assert_eq(run_asset_pool_new(0, &p, &e), COD_OK);
    run_assets *cache = NULL;
    run_result r;
    cod_err en = {0};
    cod_alloc_fail_at(n);
    int rc = run_assets_new_shared(p, &cache, &en);
    if (!rc) rc = run_execute(&cfg, &id, &cache, &r, &en);
    cod_alloc_fail_at(-1);
    if (!rc) run_result_fini(&r);
    run_assets_free(cache);
    cr_expect_eq(run_asset_pool_stats_get(p).live, 0, "N=%ld: an entry stayed", n);
    run_asset_pool_free(p);
    cr_assert_eq(cod_alloc_live(), live0, "N=%ld: %ld blocks leaked", n, cod_alloc_live() - live0);
    if (rc == COD_OK) break;
    cr_assert_eq(rc, COD_ENOMEM, "N=%ld: %s (%s)", n, cod_status_name(rc), en.msg);
    cr_assert(en.msg[0], "N=%ld: no message", n);
    enomem++;
  }
  cr_expect_gt(n, 20, "only %ld allocations", n);
  cr_expect_gt(enomem, n / 2, "only %ld of %ld allocations fail the run", enomem, n);
  run_scenario_free(sc);
}
