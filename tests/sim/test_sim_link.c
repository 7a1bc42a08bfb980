/* test_sim_link.c: link timing and the shared NIC. The fair-share expectations are worked
 * out by hand in the comments; the random test compares against an independent reference
 * that tracks remaining bits per transfer (no virtual clock). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "cod_alloc.h"
#include "sim_engine.h"
#include "sim_link.h"
#include "sim_rng.h"

typedef struct xfer_rec {
  int label;
  sim_time_ns done_at; /* -1 until delivered */
  int n_done, n_fini;
} xfer_rec;

static void rec_done(sim_engine *e, void *payload) {
  xfer_rec *r = payload;
  r->done_at = sim_engine_now(e);
  r->n_done++;
}
static void rec_fini(void *payload) { ((xfer_rec *)payload)->n_fini++; }

typedef struct submit_ev {
  sim_nic *nic;
  uint64_t bytes;
  sim_time_ns latency_ns;
  xfer_rec *rec;
  sim_xfer_id id;
} submit_ev;

static void do_submit(sim_engine *e, void *payload) {
  submit_ev *s = payload;
  cr_assert_eq(sim_nic_submit(s->nic, s->bytes, s->latency_ns, rec_done, s->rec, rec_fini,
                              &s->id),
               COD_OK);
}

typedef struct cancel_ev {
  sim_nic *nic;
  submit_ev *target;
  int rc;
} cancel_ev;
static void do_cancel(sim_engine *e, void *payload) {
  cancel_ev *c = payload;
  c->rc = sim_nic_cancel(c->nic, c->target->id);
}

static void setup(sim_engine **e, sim_nic **n, double rate_bps, sim_nic_discipline d) {
  cod_err err = {0};
  cr_assert_eq(sim_engine_new(0, e, &err), COD_OK, "%s", err.msg);
  cr_assert_eq(sim_nic_new(*e, rate_bps, d, n, &err), COD_OK, "%s", err.msg);
}

Test(unit_nic, link_times) {
  cr_assert_eq(sim_link_serialize_ns(1e9, 125), 1000);
  cr_assert_eq(sim_link_serialize_ns(3e9, 125), 334, "1000 bits at 3 bit/ns, ceil");
  sim_link l = {.bandwidth_bps = 1e9, .latency_s = 1e-6};
  cr_assert_eq(sim_link_transfer_ns(&l, 125), 2000);
  cr_assert_eq(sim_link_transfer_ns(&l, 0), 1000);
}

/* Hand-worked processor sharing at 1 Gbps = 1 bit/ns, latency 500 ns each:
 *   A: 8000 bits at t=0, B: 3200 bits at t=1000, C: 1600 bits at t=2000.
 *   [0,1000)   A alone: A served 1000 (7000 left)
 *   [1000,2000) A,B at 1/2: A 6500 left, B 2700 left
 *   from 2000  A,B,C at 1/3: C (1600) ends first after 4800 ns -> 6800; A 4900, B 1100
 *   from 6800  A,B at 1/2: B ends after 2200 ns -> 9000; A 3800
 *   from 9000  A alone: ends at 12800 (= 12800 total bits at 1 bit/ns)
 * Deliveries: C 7300, B 9500, A 13300. */
/* The A/B/C workload above on a NIC of discipline d: `active` transfers share the NIC at
 * t = 2500 ns, and A, B, C are delivered at done[0..2]. */
static void abc_workload(sim_nic_discipline d, size_t active, const sim_time_ns done[3]) {
  sim_engine *e;
  sim_nic *n;
  setup(&e, &n, 1e9, d);
  xfer_rec rec[3] = {{0, -1, 0, 0}, {1, -1, 0, 0}, {2, -1, 0, 0}};
  submit_ev s[3] = {{n, 1000, 500, &rec[0], 0}, {n, 400, 500, &rec[1], 0},
                    {n, 200, 500, &rec[2], 0}};
  for (int i = 0; i < 3; i++)
    cr_assert_eq(sim_engine_schedule_at(e, 1000 * i, do_submit, &s[i], NULL, NULL), COD_OK);
  sim_engine_run(e, 2500);
  cr_assert_eq(sim_nic_active(n), active);
  cr_assert_eq(sim_nic_in_flight(n), 3);
  sim_engine_run(e, SIM_TIME_NEVER);
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(rec[i].done_at, done[i], "transfer %d", i);
    cr_assert_eq(rec[i].n_done, 1);
    cr_assert_eq(rec[i].n_fini, 1);
  }
  cr_assert_eq(sim_nic_bytes_delivered(n), 1600);
  cr_assert_eq(sim_nic_in_flight(n), 0);
  cr_assert_eq(sim_nic_status(n), COD_OK);
  sim_nic_free(n);
  sim_engine_free(e);
}

Test(unit_nic, fair_share_hand_worked) {
  static const sim_time_ns done[3] = {13300, 9500, 7300};
  abc_workload(SIM_NIC_FAIR, 3, done);
}

/* Same workload, SEQUENTIAL: A [0,8000), B [8000,11200), C [11200,12800), +500 each. */
Test(unit_nic, sequential_fifo_hand_worked) {
  static const sim_time_ns done[3] = {8500, 11700, 13300};
  abc_workload(SIM_NIC_SEQUENTIAL, 1, done);
}

/* Equal transfers submitted together finish together and deliver in submission order;
 * a non-integral finishing time rounds up: 3 x 1000 bits at 3 bit/ns share for 1000 ns. */
static int ORDER[8], N_ORDER;
static void order_done(sim_engine *e, void *payload) { ORDER[N_ORDER++] = *(int *)payload; }

Test(unit_nic, ties_and_rounding) {
  sim_engine *e;
  sim_nic *n;
  setup(&e, &n, 3e9, SIM_NIC_FAIR);
  static int lab[4] = {0, 1, 2, 3};
  N_ORDER = 0;
  for (int i = 0; i < 3; i++)
    cr_assert_eq(sim_nic_submit(n, 125, 0, order_done, &lab[i], NULL, NULL), COD_OK);
  sim_engine_run(e, SIM_TIME_NEVER);
  cr_assert_eq(N_ORDER, 3);
  for (int i = 0; i < 3; i++) cr_assert_eq(ORDER[i], i);
  cr_assert_eq(sim_engine_now(e), 1000);
  /* Alone, 1000 bits at 3 bit/ns: 333.33 ns -> delivered at 1000 + 334. */
  cr_assert_eq(sim_nic_submit(n, 125, 0, order_done, &lab[3], NULL, NULL), COD_OK);
  sim_engine_run(e, SIM_TIME_NEVER);
  cr_assert_eq(sim_engine_now(e), 1334);
  /* Zero bytes: delivered after the latency only. */
  cr_assert_eq(sim_nic_submit(n, 0, 7, order_done, &lab[0], NULL, NULL), COD_OK);
  sim_engine_run(e, SIM_TIME_NEVER);
  cr_assert_eq(sim_engine_now(e), 1341);
  cr_assert_eq(N_ORDER, 5);
  sim_nic_free(n);
  sim_engine_free(e);
}

/* Cancel in each phase. FAIR, 1 bit/ns: A and B (4000 bits each) at 0; cancel B at 2000
 * (each served 1000) -> A has 3000 left alone -> serialised at 5000, delivered 5100. */
Test(unit_nic, cancel_in_every_phase) {
  sim_engine *e;
  sim_nic *n;
  setup(&e, &n, 1e9, SIM_NIC_FAIR);
  xfer_rec rec[2] = {{0, -1, 0, 0}, {1, -1, 0, 0}};
  submit_ev s[2] = {{n, 500, 100, &rec[0], 0}, {n, 500, 100, &rec[1], 0}};
  do_submit(e, &s[0]);
  do_submit(e, &s[1]);
  cancel_ev c = {n, &s[1], -1};
  sim_engine_schedule_at(e, 2000, do_cancel, &c, NULL, NULL);
  sim_engine_run(e, SIM_TIME_NEVER);
  cr_assert_eq(c.rc, 1);
  cr_assert_eq(rec[1].n_done, 0);
  cr_assert_eq(rec[1].n_fini, 1);
  cr_assert_eq(rec[0].done_at, 5100);
  cr_assert_eq(sim_nic_cancel(n, s[0].id), 0, "already delivered");
  cr_assert_eq(sim_nic_cancel(n, s[1].id), 0, "already cancelled");
  cr_assert_eq(sim_nic_cancel(n, SIM_XFER_NONE), 0);
  cr_assert_eq(rec[0].n_fini, 1);
  /* Propagating: 1000 bits then 1000 ns latency; cancel at 1500. */
  xfer_rec p = {2, -1, 0, 0};
  submit_ev sp = {n, 125, 1000, &p, 0};
  do_submit(e, &sp);
  cancel_ev cp = {n, &sp, -1};
  sim_engine_schedule_after(e, 1500, do_cancel, &cp, NULL, NULL);
  sim_engine_run(e, SIM_TIME_NEVER);
  cr_assert_eq(cp.rc, 1);
  cr_assert_eq(p.n_done, 0);
  cr_assert_eq(p.n_fini, 1);
  cr_assert_eq(sim_engine_pending(e), 0);
  sim_nic_free(n);
  sim_engine_free(e);
}

Test(unit_nic, sequential_cancel_queued_and_active) {
  sim_engine *e;
  sim_nic *n;
  setup(&e, &n, 1e9, SIM_NIC_SEQUENTIAL);
  xfer_rec rec[4];
  submit_ev s[4];
  for (int i = 0; i < 4; i++) {
    rec[i] = (xfer_rec){i, -1, 0, 0};
    s[i] = (submit_ev){n, 125, 0, &rec[i], 0}; /* 1000 ns each */
    do_submit(e, &s[i]);
  }
  cr_assert_eq(sim_nic_cancel(n, s[2].id), 1, "queued, middle");
  cancel_ev c = {n, &s[1], -1};
  sim_engine_schedule_at(e, 1500, do_cancel, &c, NULL, NULL); /* B active since 1000 */
  sim_engine_run(e, SIM_TIME_NEVER);
  cr_assert_eq(c.rc, 1);
  cr_assert_eq(rec[0].done_at, 1000);
  cr_assert_eq(rec[1].n_done, 0);
  cr_assert_eq(rec[2].n_done, 0);
  cr_assert_eq(rec[3].done_at, 2500, "D starts when B is cancelled at 1500");
  for (int i = 0; i < 4; i++) cr_assert_eq(rec[i].n_fini, 1);
  sim_nic_free(n);
  sim_engine_free(e);
}

Test(unit_nic, free_finalizes_unfinished_and_rejects_bad_rate) {
  sim_engine *e;
  sim_nic *n;
  setup(&e, &n, 1e9, SIM_NIC_SEQUENTIAL);
  xfer_rec rec[300];
  for (int i = 0; i < 300; i++) { /* > one chunk of slots */
    rec[i] = (xfer_rec){i, -1, 0, 0};
    cr_assert_eq(sim_nic_submit(n, 125, 10, rec_done, &rec[i], rec_fini, NULL), COD_OK);
  }
  sim_engine_run(e, 1005); /* first delivered at 1010: one propagating, rest queued */
  sim_engine_run(e, 1010);
  cr_assert_eq(rec[0].n_done, 1);
  sim_engine_run(e, 2005); /* rec[1] now propagating */
  sim_nic_free(n);
  for (int i = 0; i < 300; i++) cr_assert_eq(rec[i].n_fini, 1, "transfer %d", i);
  cr_assert_eq(rec[1].n_done, 0);
  cr_assert_eq(sim_engine_pending(e), 0, "the NIC's engine events are gone");
  cod_err err = {0};
  sim_nic *bad = NULL;
  cr_assert_eq(sim_nic_new(e, 0.0, SIM_NIC_FAIR, &bad, &err), COD_EINVAL);
  cr_assert_eq(sim_nic_new(e, NAN, SIM_NIC_FAIR, &bad, &err), COD_EINVAL);
  cr_assert_eq(sim_nic_new(e, 1e9, (sim_nic_discipline)7, &bad, &err), COD_EINVAL);
  cr_assert_null(bad);
  for (long k = 0; k < 4; k++) {
    cod_alloc_fail_at(k);
    cr_assert_eq(sim_nic_new(e, 1e9, SIM_NIC_FAIR, &bad, &err), COD_ENOMEM, "alloc %ld", k);
  }
  cod_alloc_fail_at(-1);
  cr_assert_null(bad);
  sim_nic_free(NULL);
  sim_engine_free(e);
}

Test(unit_nic, submit_failure_keeps_payload) {
  sim_engine *e;
  sim_nic *n;
  cod_err err = {0};
  cr_assert_eq(sim_engine_new(1, &e, &err), COD_OK);
  cr_assert_eq(sim_nic_new(e, 1e9, SIM_NIC_FAIR, &n, &err), COD_OK);
  xfer_rec a = {0, -1, 0, 0}, b = {1, -1, 0, 0};
  cr_assert_eq(sim_nic_submit(n, 125, 0, rec_done, &a, rec_fini, NULL), COD_OK);
  /* The engine is full (1 slot: the service event) and the NIC needs no new slot for the
   * reschedule, so a second submit succeeds; make the delivery of the first fail. */
  cr_assert_eq(sim_nic_submit(n, 125, 0, rec_done, &b, rec_fini, NULL), COD_OK);
  cod_alloc_fail_at(0);
  sim_engine_run(e, SIM_TIME_NEVER);
  cod_alloc_fail_at(-1);
  cr_assert_eq(sim_nic_status(n), COD_ENOMEM, "delivery could not be scheduled");
  sim_nic_free(n);
  cr_assert_eq(a.n_fini, 1);
  cr_assert_eq(b.n_fini, 1);
  sim_engine_free(e);
}

/* ---- random FAIR workload vs an independent remaining-bits reference ---------------- */

enum { RN = 60 };
typedef struct ref_job {
  double submit, bits, cancel; /* ns, bits, ns (INFINITY = none) */
  double finish;               /* exact serialization end, INFINITY if cancelled first */
} ref_job;

/* Processor sharing by brute force: between consecutive events, every active job loses
 * dt * rate / k bits. Events: arrivals, cancels, and the earliest completion. */
static void reference_ps(ref_job *j, int n, double rate) {
  double rem[RN], now = 0.0;
  int state[RN] = {0}; /* 0 not arrived, 1 active, 2 gone */
  for (int i = 0; i < n; i++) j[i].finish = INFINITY;
  for (;;) {
    int k = 0;
    double next_ext = INFINITY, min_rem = INFINITY;
    for (int i = 0; i < n; i++) {
      if (state[i] == 0 && j[i].submit < next_ext) next_ext = j[i].submit;
      if (state[i] == 1) {
        k++;
        if (j[i].cancel < next_ext) next_ext = j[i].cancel;
        if (rem[i] < min_rem) min_rem = rem[i];
      }
    }
    double t_fin = k ? now + min_rem * k / rate : INFINITY;
    double t = fmin(next_ext, t_fin);
    if (isinf(t)) return;
    for (int i = 0; i < n; i++)
      if (state[i] == 1) rem[i] -= (t - now) * rate / k;
    now = t;
    for (int i = 0; i < n; i++) {
      if (state[i] == 1 && t == t_fin && rem[i] <= 1e-7 * j[i].bits) {
        state[i] = 2;
        j[i].finish = now;
      } else if (state[i] == 1 && j[i].cancel <= now) {
        state[i] = 2;
      } else if (state[i] == 0 && j[i].submit <= now) {
        state[i] = 1;
        rem[i] = j[i].bits;
      }
    }
  }
}

Test(unit_nic, fair_random_workload_matches_reference) {
  gsl_rng *r = NULL;
  cr_assert_eq(sim_rng_new(2024, 9, &r, NULL), COD_OK);
  for (int trial = 0; trial < 20; trial++) {
    sim_engine *e;
    sim_nic *n;
    setup(&e, &n, 2.5e9, SIM_NIC_FAIR);
    static ref_job job[RN];
    static xfer_rec rec[RN];
    static submit_ev s[RN];
    static cancel_ev c[RN];
    for (int i = 0; i < RN; i++) {
      sim_time_ns t0 = (sim_time_ns)gsl_rng_uniform_int(r, 20000);
      uint64_t bytes = 1 + gsl_rng_uniform_int(r, 3000);
      int cancel = gsl_rng_uniform(r) < 0.2;
      sim_time_ns tc = t0 + (sim_time_ns)gsl_rng_uniform_int(r, 5000);
      job[i] = (ref_job){(double)t0, 8.0 * (double)bytes, cancel ? (double)tc : INFINITY, 0};
      rec[i] = (xfer_rec){i, -1, 0, 0};
      s[i] = (submit_ev){n, bytes, 0, &rec[i], 0};
      c[i] = (cancel_ev){n, &s[i], -1};
      cr_assert_eq(sim_engine_schedule_at(e, t0, do_submit, &s[i], NULL, NULL), COD_OK);
      if (cancel) sim_engine_schedule_at(e, tc, do_cancel, &c[i], NULL, NULL);
    }
    reference_ps(job, RN, 2.5);
    sim_engine_run(e, SIM_TIME_NEVER);
    for (int i = 0; i < RN; i++) {
      if (fabs(job[i].finish - job[i].cancel) <= 1.0) {
        /* finish and cancel within the same ns: either outcome is legitimate */
      } else if (isinf(job[i].finish)) {
        cr_assert_eq(rec[i].n_done, 0, "trial %d job %d cancelled before finishing", trial, i);
      } else {
        cr_assert_eq(rec[i].n_done, 1, "trial %d job %d", trial, i);
        double d = (double)rec[i].done_at - job[i].finish;
        cr_assert(d > -1e-6 && d < 1.0 + 1e-6,
                  "trial %d job %d: NIC %lld vs reference %.6f", trial, i,
                  (long long)rec[i].done_at, job[i].finish);
      }
      cr_assert_eq(rec[i].n_fini, 1);
    }
    sim_nic_free(n);
    sim_engine_free(e);
  }
  sim_rng_free(r);
}

/* SEQUENTIAL random workload vs the FIFO recurrence start_i = max(submit_i, end_{i-1}),
 * end_i = start_i + bits_i / rate, with exact (fractional ns) chaining. */
Test(unit_nic, sequential_random_workload_matches_recurrence) {
  gsl_rng *r = NULL;
  cr_assert_eq(sim_rng_new(77, 1, &r, NULL), COD_OK);
  sim_engine *e;
  sim_nic *n;
  setup(&e, &n, 2.5e9, SIM_NIC_SEQUENTIAL);
  enum { M = 200 };
  static xfer_rec rec[M];
  static submit_ev s[M];
  double end = 0.0, want[M];
  sim_time_ns t0 = 0;
  for (int i = 0; i < M; i++) {
    t0 += (sim_time_ns)gsl_rng_uniform_int(r, 3000); /* nondecreasing: FIFO = index order */
    uint64_t bytes = gsl_rng_uniform_int(r, 1000);
    rec[i] = (xfer_rec){i, -1, 0, 0};
    s[i] = (submit_ev){n, bytes, 0, &rec[i], 0};
    cr_assert_eq(sim_engine_schedule_at(e, t0, do_submit, &s[i], NULL, NULL), COD_OK);
    double start = fmax((double)t0, end);
    end = start + 8.0 * (double)bytes / 2.5;
    want[i] = end;
  }
  sim_engine_run(e, SIM_TIME_NEVER);
  for (int i = 0; i < M; i++) {
    double d = (double)rec[i].done_at - want[i];
    cr_assert(d > -1e-6 && d < 1.0 + 1e-6, "job %d: NIC %lld vs recurrence %.6f", i,
              (long long)rec[i].done_at, want[i]);
  }
  sim_nic_free(n);
  sim_engine_free(e);
  sim_rng_free(r);
}

/* ---- the horizon (issue 11) ---------------------------------------------------------- */

/* A NIC so slow that a transfer would end beyond the horizon: the transfer is never
 * delivered, the NIC's sticky status says why (COD_EINVAL), and no assertion fires. The
 * time is 8e9 bits / 1 bit per s = 8e9 s > 2^62 ns (4.6e9 s). A fast one of the same
 * size next to it is delivered normally. */
Test(unit_nic, nic_transfer_beyond_the_horizon_is_a_status) {
  sim_engine *e = NULL;
  sim_nic *slow = NULL, *fast = NULL;
  cr_assert_eq(sim_engine_new(0, &e, NULL), COD_OK);
  cr_assert_eq(sim_nic_new(e, 1.0, SIM_NIC_FAIR, &slow, NULL), COD_OK);
  cr_assert_eq(sim_nic_new(e, 8e9, SIM_NIC_SEQUENTIAL, &fast, NULL), COD_OK);
  xfer_rec a = {1, -1, 0, 0}, b = {2, -1, 0, 0};
  cr_assert_eq(sim_nic_submit(slow, 1000000000u, 0, rec_done, &a, rec_fini, NULL), COD_OK);
  cr_assert_eq(sim_nic_submit(fast, 1000000000u, 0, rec_done, &b, rec_fini, NULL), COD_OK);
  sim_engine_run(e, SIM_TIME_NEVER);
  while (sim_engine_step(e)) {
  }
  cr_expect_eq(b.n_done, 1);
  cr_expect_eq(b.done_at, 1000000000, "8e9 bits at 8e9 bit/s: 1 s");
  cr_expect_eq(a.n_done, 0, "never delivered");
  cr_expect_eq(sim_nic_status(slow), COD_EINVAL);
  cr_expect_eq(sim_nic_status(fast), COD_OK);
  sim_nic_free(slow);
  sim_nic_free(fast);
  cr_expect_eq(a.n_fini, 1, "the payload is finalized once, when the NIC is freed");
  sim_engine_free(e);
}
