/* test_sim_engine.c: the event heap, cancellation, finalizers, run/stop, determinism and
 * allocation failure of sim_engine. Expected firing orders are computed independently
 * (a stable sort of the schedule) rather than by re-running the engine. */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "cod_alloc.h"
#include "sim_engine.h"
#include "sim_rng.h"

/* A log of fired events: each payload is an int label. */
typedef struct fire_log {
  int label[4096];
  sim_time_ns t[4096];
  size_t n;
} fire_log;

static fire_log LOG;
static int FINI_COUNT[4096];

static void log_fn(sim_engine *e, void *payload) {
  int lab = *(int *)payload;
  cr_assert(LOG.n < 4096);
  LOG.label[LOG.n] = lab;
  LOG.t[LOG.n] = sim_engine_now(e);
  LOG.n++;
}
static void count_fini(void *payload) { FINI_COUNT[*(int *)payload]++; }

static int LABELS[4096];
static void reset(void) {
  memset(&LOG, 0, sizeof LOG);
  memset(FINI_COUNT, 0, sizeof FINI_COUNT);
  for (int i = 0; i < 4096; i++) LABELS[i] = i;
}

static sim_engine *mk(size_t cap) {
  sim_engine *e = NULL;
  cod_err err = {0};
  cr_assert_eq(sim_engine_new(cap, &e, &err), COD_OK, "%s", err.msg);
  cr_assert_not_null(e);
  return e;
}

typedef struct keyed {
  sim_time_ns t;
  int idx;
} keyed;
static int keyed_cmp(const void *a, const void *b) {
  const keyed *x = a, *y = b;
  if (x->t != y->t) return x->t < y->t ? -1 : 1;
  return (x->idx > y->idx) - (x->idx < y->idx);
}

Test(unit_engine, heap_order_with_many_equal_times) {
  reset();
  sim_engine *e = mk(4); /* small: forces several growths */
  gsl_rng *r = NULL;
  cr_assert_eq(sim_rng_new(7, 0, &r, NULL), COD_OK);
  enum { N = 3000 };
  static keyed ref[N];
  for (int i = 0; i < N; i++) {
    sim_time_ns t = (sim_time_ns)gsl_rng_uniform_int(r, 60); /* ~50 events per time */
    ref[i] = (keyed){t, i};
    cr_assert_eq(sim_engine_schedule_at(e, t, log_fn, &LABELS[i], count_fini, NULL), COD_OK);
  }
  cr_assert_eq(sim_engine_pending(e), N);
  qsort(ref, N, sizeof ref[0], keyed_cmp);
  cr_assert_eq(sim_engine_run(e, SIM_TIME_NEVER), SIM_RUN_EMPTY);
  cr_assert_eq(LOG.n, N);
  for (int i = 0; i < N; i++) {
    cr_assert_eq(LOG.label[i], ref[i].idx, "position %d", i);
    cr_assert_eq(LOG.t[i], ref[i].t);
    cr_assert_eq(FINI_COUNT[i], 1);
  }
  cr_assert_eq(sim_engine_events_fired(e), N);
  cr_assert_eq(sim_engine_pending(e), 0);
  cr_assert_eq(sim_engine_step(e), 0);
  sim_rng_free(r);
  sim_engine_free(e);
}

/* A callback that schedules label 99 at the current time: it must fire after the events
 * already pending at that time (they have smaller sequence numbers). */
static void sched_now_fn(sim_engine *e, void *payload) {
  log_fn(e, payload);
  cr_assert_eq(sim_engine_schedule_after(e, 0, log_fn, &LABELS[99], count_fini, NULL),
               COD_OK);
}

Test(unit_engine, equal_times_fire_in_schedule_order) {
  reset();
  sim_engine *e = mk(0);
  cr_assert_eq(sim_engine_schedule_at(e, 5, log_fn, &LABELS[3], NULL, NULL), COD_OK);
  cr_assert_eq(sim_engine_schedule_at(e, 5, sched_now_fn, &LABELS[1], NULL, NULL), COD_OK);
  cr_assert_eq(sim_engine_schedule_at(e, 5, log_fn, &LABELS[2], NULL, NULL), COD_OK);
  cr_assert_eq(sim_engine_schedule_at(e, 4, log_fn, &LABELS[0], NULL, NULL), COD_OK);
  cr_assert_eq(sim_engine_next_time(e), 4);
  sim_engine_run(e, SIM_TIME_NEVER);
  int want[] = {0, 3, 1, 2, 99};
  cr_assert_eq(LOG.n, 5);
  for (int i = 0; i < 5; i++) cr_assert_eq(LOG.label[i], want[i], "position %d", i);
  cr_assert_eq(LOG.t[4], 5);
  cr_assert_eq(FINI_COUNT[99], 1);
  cr_assert_eq(sim_engine_next_time(e), SIM_TIME_NEVER);
  sim_engine_free(e);
}

Test(unit_engine, cancel_paths_and_finalizers) {
  reset();
  sim_engine *e = mk(0);
  sim_event_id id[4];
  for (int i = 0; i < 4; i++)
    cr_assert_eq(sim_engine_schedule_at(e, 10 * (i + 1), log_fn, &LABELS[i], count_fini,
                                        &id[i]),
                 COD_OK);
  for (int i = 0; i < 4; i++) cr_assert_neq(id[i], SIM_EVENT_NONE);
  cr_assert(sim_engine_is_pending(e, id[1]));
  cr_assert_eq(sim_engine_cancel(e, id[1]), 1);
  cr_assert_eq(FINI_COUNT[1], 1, "cancel runs the finalizer at once");
  cr_assert(!sim_engine_is_pending(e, id[1]));
  cr_assert_eq(sim_engine_cancel(e, id[1]), 0, "second cancel is a no-op");
  cr_assert_eq(sim_engine_pending(e), 3);
  cr_assert_eq(sim_engine_step(e), 1); /* fires label 0 */
  cr_assert_eq(sim_engine_cancel(e, id[0]), 0, "cancel of a fired id is a no-op");
  cr_assert_eq(sim_engine_cancel(e, SIM_EVENT_NONE), 0);
  cr_assert_eq(sim_engine_cancel(e, ((uint64_t)1 << 32) | 0xfffffu), 0, "slot out of range");
  /* A new event reuses label 0's slot: the stale id must still not cancel it. */
  sim_event_id id_new;
  cr_assert_eq(sim_engine_schedule_at(e, 15, log_fn, &LABELS[10], count_fini, &id_new),
               COD_OK);
  cr_assert_eq(sim_engine_cancel(e, id[0]), 0);
  cr_assert(sim_engine_is_pending(e, id_new));
  cr_assert_eq(sim_engine_cancel(e, id[3]), 1); /* cancel the tail */
  sim_engine_run(e, SIM_TIME_NEVER);
  cr_assert_eq(LOG.n, 3);
  cr_assert_eq(LOG.label[0], 0);
  cr_assert_eq(LOG.label[1], 10);
  cr_assert_eq(LOG.label[2], 2);
  for (int i = 0; i < 4; i++) cr_assert_eq(FINI_COUNT[i], 1, "label %d", i);
  cr_assert_eq(FINI_COUNT[10], 1);
  cr_assert_eq(sim_engine_events_fired(e), 3, "cancelled events do not count");
  sim_engine_free(e);
  for (int i = 0; i < 4; i++) cr_assert_eq(FINI_COUNT[i], 1, "free must not re-finalize");
}

Test(unit_engine, free_finalizes_pending_exactly_once) {
  reset();
  sim_engine *e = mk(0);
  for (int i = 0; i < 200; i++)
    cr_assert_eq(sim_engine_schedule_at(e, i % 7, log_fn, &LABELS[i], count_fini, NULL),
                 COD_OK);
  sim_engine_run(e, 2); /* fires those at 0, 1, 2 */
  cr_assert_eq(sim_engine_now(e), 2);
  size_t fired = LOG.n;
  cr_assert_eq(fired, 200 / 7 * 3 + 3);
  sim_engine_free(e);
  for (int i = 0; i < 200; i++) cr_assert_eq(FINI_COUNT[i], 1, "label %d", i);
  cr_assert_eq(LOG.n, fired, "free must not fire");
  sim_engine_free(NULL);
}

/* Callback context for self-cancel and cross-cancel. */
typedef struct canceller {
  sim_event_id self, other;
  int self_rc, other_rc;
} canceller;
static void cancel_fn(sim_engine *e, void *payload) {
  canceller *c = payload;
  c->self_rc = sim_engine_cancel(e, c->self);
  c->other_rc = sim_engine_cancel(e, c->other);
}

Test(unit_engine, callbacks_cancel_self_and_others) {
  reset();
  sim_engine *e = mk(0);
  canceller c = {0};
  cr_assert_eq(sim_engine_schedule_at(e, 1, cancel_fn, &c, NULL, &c.self), COD_OK);
  cr_assert_eq(sim_engine_schedule_at(e, 2, log_fn, &LABELS[5], count_fini, &c.other),
               COD_OK);
  sim_engine_run(e, SIM_TIME_NEVER);
  cr_assert_eq(c.self_rc, 0, "cancelling the firing event is a no-op");
  cr_assert_eq(c.other_rc, 1);
  cr_assert_eq(LOG.n, 0);
  cr_assert_eq(FINI_COUNT[5], 1);
  sim_engine_free(e);
}

static void stop_fn(sim_engine *e, void *payload) {
  log_fn(e, payload);
  sim_engine_stop(e);
}

Test(unit_engine, run_until_and_stop) {
  reset();
  sim_engine *e = mk(0);
  sim_engine_schedule_at(e, 10, log_fn, &LABELS[0], NULL, NULL);
  sim_engine_schedule_at(e, 20, stop_fn, &LABELS[1], NULL, NULL);
  sim_engine_schedule_at(e, 30, log_fn, &LABELS[2], NULL, NULL);
  sim_engine_schedule_at(e, 40, log_fn, &LABELS[3], NULL, NULL);
  cr_assert_eq(sim_engine_run(e, 15), SIM_RUN_UNTIL);
  cr_assert_eq(sim_engine_now(e), 15, "the clock advances to until");
  cr_assert_eq(LOG.n, 1);
  cr_assert_eq(sim_engine_run(e, 100), SIM_RUN_STOPPED);
  cr_assert_eq(sim_engine_now(e), 20, "a stopped run leaves the clock at the stopper");
  cr_assert_eq(sim_engine_pending(e), 2);
  cr_assert_eq(sim_engine_run(e, 30), SIM_RUN_UNTIL, "events at exactly until fire");
  cr_assert_eq(LOG.n, 3);
  cr_assert_eq(sim_engine_run(e, SIM_TIME_NEVER), SIM_RUN_EMPTY);
  cr_assert_eq(sim_engine_now(e), 40, "draining does not move the clock to NEVER");
  cr_assert_eq(sim_engine_run(e, 50), SIM_RUN_EMPTY);
  cr_assert_eq(sim_engine_now(e), 50);
  cr_assert_eq(sim_engine_events_fired(e), 4);
  sim_engine_free(e);
}

/* Determinism: a random process of events that schedule random follow-ups and cancel
 * random pending events, driven by a seeded stream, logged by (time, label). */
typedef struct chaos {
  gsl_rng *r;
  sim_event_id ids[512];
  int labels[512];
  int next_label;
  sim_time_ns log_t[20000];
  int log_l[20000];
  size_t n;
} chaos;
static void chaos_fn(sim_engine *e, void *payload);
static void chaos_spawn(sim_engine *e, chaos *c) {
  if (c->next_label >= 512) return;
  int lab = c->next_label++;
  c->labels[lab] = lab;
  sim_time_ns d = (sim_time_ns)gsl_rng_uniform_int(c->r, 5); /* many ties */
  cr_assert_eq(sim_engine_schedule_after(e, d, chaos_fn, c, NULL, &c->ids[lab]), COD_OK);
}
static void chaos_fn(sim_engine *e, void *payload) {
  chaos *c = payload;
  c->log_t[c->n] = sim_engine_now(e);
  c->log_l[c->n] = (int)sim_engine_pending(e); /* a fingerprint of the queue state */
  c->n++;
  unsigned k = (unsigned)gsl_rng_uniform_int(c->r, 4); /* supercritical until 512 */
  for (unsigned i = 0; i < k; i++) chaos_spawn(e, c);
  if (c->next_label > 0 && gsl_rng_uniform(c->r) < 0.3)
    sim_engine_cancel(e, c->ids[gsl_rng_uniform_int(c->r, (unsigned long)c->next_label)]);
}
static void chaos_run(chaos *c, uint64_t seed) {
  memset(c, 0, sizeof *c);
  cr_assert_eq(sim_rng_new(seed, 3, &c->r, NULL), COD_OK);
  sim_engine *e = mk(0);
  for (int i = 0; i < 8; i++) chaos_spawn(e, c);
  sim_engine_run(e, SIM_TIME_NEVER);
  sim_engine_free(e);
  sim_rng_free(c->r);
}

Test(unit_engine, same_seed_same_firing_sequence) {
  static chaos a, b, c;
  chaos_run(&a, 42);
  chaos_run(&b, 42);
  chaos_run(&c, 43);
  cr_assert_gt(a.n, 100, "the process should be non-trivial (%zu events)", a.n);
  cr_assert_eq(a.n, b.n);
  for (size_t i = 0; i < a.n; i++) {
    cr_assert_eq(a.log_t[i], b.log_t[i]);
    cr_assert_eq(a.log_l[i], b.log_l[i]);
  }
  int differ = c.n != a.n;
  for (size_t i = 0; !differ && i < a.n; i++)
    differ = a.log_t[i] != c.log_t[i] || a.log_l[i] != c.log_l[i];
  cr_assert(differ, "another seed should give another history");
}

Test(unit_engine, allocation_failure_paths) {
  reset();
  sim_engine *e = NULL;
  cod_err err = {0};
  for (long k = 0; k < 3; k++) { /* engine struct, heap, nodes */
    cod_alloc_fail_at(k);
    cr_assert_eq(sim_engine_new(8, &e, &err), COD_ENOMEM, "failure at allocation %ld", k);
    cr_assert_null(e);
    cr_assert_eq(err.status, COD_ENOMEM);
  }
  cod_alloc_fail_at(-1);
  cr_assert_eq(sim_engine_new(SIZE_MAX, &e, &err), COD_EINVAL);
  cr_assert_null(e);
  e = mk(2);
  sim_event_id id = 777;
  cr_assert_eq(sim_engine_schedule_at(e, 1, log_fn, &LABELS[0], count_fini, NULL), COD_OK);
  cr_assert_eq(sim_engine_schedule_at(e, 2, log_fn, &LABELS[1], count_fini, NULL), COD_OK);
  for (long k = 0; k < 2; k++) { /* growth: heap realloc, then nodes realloc */
    cod_alloc_fail_at(k);
    cr_assert_eq(sim_engine_schedule_at(e, 3, log_fn, &LABELS[2], count_fini, &id),
                 COD_ENOMEM);
    cr_assert_eq(id, 777, "id untouched on failure");
    cr_assert_eq(sim_engine_pending(e), 2);
    cr_assert_eq(FINI_COUNT[2], 0, "a payload that was not scheduled is not finalized");
  }
  cod_alloc_fail_at(-1);
  cr_assert_eq(sim_engine_schedule_at(e, 3, log_fn, &LABELS[2], count_fini, &id), COD_OK);
  sim_engine_run(e, SIM_TIME_NEVER);
  cr_assert_eq(LOG.n, 3);
  for (int i = 0; i < 3; i++) cr_assert_eq(LOG.label[i], i);
  sim_engine_free(e);
}

Test(unit_engine, time_conversion) {
  cr_assert_eq(sim_time_from_s(0.0), 0);
  cr_assert_eq(sim_time_from_s(1.0), 1000000000);
  cr_assert_eq(sim_time_from_s(1.5e-9), 2, "ceil");
  cr_assert_eq(sim_time_from_s(0.25), 250000000);
  cr_assert_eq(sim_time_from_s(INFINITY), SIM_TIME_NEVER);
  cr_assert_eq(sim_time_from_s(1e10), SIM_TIME_NEVER, "beyond int64 ns");
  cr_assert_eq(sim_time_to_s(SIM_TIME_NEVER), INFINITY);
  cr_assert_float_eq(sim_time_to_s(2500000000), 2.5, 1e-15);
}

Test(unit_engine, scheduling_in_the_past_asserts, .signal = SIGABRT) {
  sim_engine *e = mk(0);
  sim_engine_run(e, 100);
  sim_engine_schedule_at(e, 99, log_fn, &LABELS[0], NULL, NULL);
}

/* ---- the horizon (issue 11): checked conversions and additions, never an overflow ----- */

Test(unit_engine, checked_time_conversion_refuses_beyond_the_horizon) {
  sim_time_ns t = -7;
  cr_assert_eq(sim_time_from_s_checked(1.0, &t), COD_OK);
  cr_assert_eq(t, 1000000000);
  cr_assert_eq(sim_time_from_s_checked(1.5e-9, &t), COD_OK);
  cr_assert_eq(t, 2, "rounds up like sim_time_from_s");
  /* 2^62 ns exactly is the last representable time; the horizon in seconds agrees */
  cr_assert_eq((double)SIM_TIME_HORIZON_NS, ldexp(1.0, 62));
  cr_assert_float_eq(SIM_TIME_HORIZON_S * 1e9, ldexp(1.0, 62), 1e3);
  cr_assert_eq(sim_time_from_s_checked(ldexp(1.0, 62) * 1e-9 * (1 - 1e-12), &t), COD_OK);
  cr_assert_leq(t, SIM_TIME_HORIZON_NS);
  const double bad[] = {ldexp(1.0, 62) * 1e-9 * (1 + 1e-12), 5e9, 1e300, INFINITY, NAN, -1.0,
                        -0.5e-9};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    t = -7;
    cr_expect_eq(sim_time_from_s_checked(bad[i], &t), COD_EINVAL, "case %zu (%g)", i, bad[i]);
    cr_expect_eq(t, -7, "case %zu: out untouched", i);
  }
}

Test(unit_engine, checked_time_addition) {
  sim_time_ns t = -7;
  cr_assert_eq(sim_time_add_checked(SIM_TIME_HORIZON_NS - 5, 5, &t), COD_OK);
  cr_assert_eq(t, SIM_TIME_HORIZON_NS);
  t = -7;
  cr_expect_eq(sim_time_add_checked(SIM_TIME_HORIZON_NS, 1, &t), COD_EINVAL);
  cr_expect_eq(sim_time_add_checked(SIM_TIME_NEVER, SIM_TIME_NEVER, &t), COD_EINVAL, "overflow");
  cr_expect_eq(sim_time_add_checked(SIM_TIME_NEVER, 1, &t), COD_EINVAL, "overflow");
  cr_expect_eq(sim_time_add_checked(-1, 5, &t), COD_EINVAL);
  cr_expect_eq(sim_time_add_checked(5, -1, &t), COD_EINVAL);
  cr_expect_eq(t, -7, "out untouched");
}

Test(unit_engine, schedule_after_beyond_the_horizon_is_a_status) {
  sim_engine *e = mk(0);
  sim_engine_run(e, 1000);
  cr_assert_eq(sim_engine_schedule_after(e, SIM_TIME_HORIZON_NS, log_fn, &LABELS[0], NULL, NULL),
               COD_EINVAL, "now + delay passes the horizon");
  cr_assert_eq(sim_engine_schedule_after(e, SIM_TIME_NEVER, log_fn, &LABELS[0], NULL, NULL),
               COD_EINVAL, "now + delay would overflow");
  cr_assert_eq(sim_engine_pending(e), 0, "nothing scheduled");
  cr_assert_eq(sim_engine_schedule_after(e, SIM_TIME_HORIZON_NS - 1000, log_fn, &LABELS[0],
                                         NULL, NULL), COD_OK, "exactly at the horizon");
  cr_assert_eq(sim_engine_next_time(e), SIM_TIME_HORIZON_NS);
  sim_engine_free(e);
}
