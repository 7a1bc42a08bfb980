/* bench_sim.c: throughput of the sim engine core.
 *
 * hold model: the classic priority-queue benchmark (Jones, CACM 1986). The queue is
 *   filled with PENDING events; each fired event schedules one successor at now + a
 *   random delay, so the queue size stays constant and every event costs one pop and one
 *   push. Delays come from a precomputed table of exponential variates so the RNG is not
 *   what we measure. Target: >= 5e6 events/s on one thread with ~1000 pending.
 * hold+cancel: as hold, but each event also schedules a decoy and cancels the previous
 *   one (the master cancelling stragglers), so an event costs 2 pushes, 1 pop, 1 cancel.
 * nic fair: a processor-sharing NIC with CONCURRENT transfers in flight; each delivery
 *   submits a new transfer of random size. Every transfer causes a cancel+reschedule of
 *   the NIC's service event on start and finish, so it stresses the engine and the O(k)
 *   min-tag scan.
 * Wall-clock time is used here, in a benchmark main(), never in the library.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>

#include "sim_engine.h"
#include "sim_link.h"
#include "sim_rng.h"

#define TARGET_EPS 5e6
#define TABLE 4096

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct hold_ctx {
  sim_time_ns delay[TABLE];
  size_t next;
  sim_event_id decoy;
  int cancel;
  int failed;
} hold_ctx;

static void nop_fn(sim_engine *e, void *payload) {}

static void hold_fn(sim_engine *e, void *payload) {
  hold_ctx *c = payload;
  sim_time_ns d = c->delay[c->next++ & (TABLE - 1)];
  if (sim_engine_schedule_after(e, d, hold_fn, c, NULL, NULL) != COD_OK) goto fail;
  if (c->cancel) {
    sim_engine_cancel(e, c->decoy);
    sim_time_ns d2 = c->delay[c->next++ & (TABLE - 1)];
    if (sim_engine_schedule_after(e, d2, nop_fn, NULL, NULL, &c->decoy) != COD_OK) goto fail;
  }
  return;
fail:
  c->failed = 1;
  sim_engine_stop(e);
}

static int run_hold(gsl_rng *r, size_t pending, uint64_t n_events, int cancel, double *eps) {
  static hold_ctx c;
  c.next = 0;
  c.cancel = cancel;
  c.failed = 0;
  c.decoy = SIM_EVENT_NONE;
  for (size_t i = 0; i < TABLE; i++)
    c.delay[i] = (sim_time_ns)(gsl_ran_exponential(r, 1e6) + 1.0);
  sim_engine *e = NULL;
  cod_err err = {0};
  if (sim_engine_new(pending + 2, &e, &err) != COD_OK) {
    fprintf(stderr, "bench_sim: %s\n", err.msg);
    return 1;
  }
  for (size_t i = 0; i < pending; i++)
    if (sim_engine_schedule_at(e, c.delay[i & (TABLE - 1)], hold_fn, &c, NULL, NULL) != COD_OK)
      return 1;
  for (uint64_t i = 0; i < 100000; i++) sim_engine_step(e); /* warm up */
  uint64_t f0 = sim_engine_events_fired(e);
  double t0 = now_s();
  for (uint64_t i = 0; i < n_events; i++) sim_engine_step(e);
  double dt = now_s() - t0;
  uint64_t fired = sim_engine_events_fired(e) - f0;
  /* with decoys, half of the queue is decoys; count only the hold events' rate */
  *eps = (double)fired / dt;
  sim_engine_free(e);
  return c.failed;
}

typedef struct nic_ctx {
  sim_nic *nic;
  gsl_rng *r;
  uint64_t transfers;
  int failed;
} nic_ctx;

static void nic_done(sim_engine *e, void *payload) {
  nic_ctx *c = payload;
  c->transfers++;
  uint64_t bytes = 1000 + gsl_rng_uniform_int(c->r, 100000);
  if (sim_nic_submit(c->nic, bytes, 50000, nic_done, c, NULL, NULL) != COD_OK) {
    c->failed = 1;
    sim_engine_stop(e);
  }
}

static int run_nic(gsl_rng *r, size_t concurrent, uint64_t n_events, double *eps,
                   double *tps) {
  sim_engine *e = NULL;
  nic_ctx c = {0};
  cod_err err = {0};
  c.r = r;
  if (sim_engine_new(0, &e, &err) != COD_OK ||
      sim_nic_new(e, 10e9, SIM_NIC_FAIR, &c.nic, &err) != COD_OK) {
    fprintf(stderr, "bench_sim: %s\n", err.msg);
    return 1;
  }
  for (size_t i = 0; i < concurrent; i++) nic_done(e, &c);
  c.transfers = 0;
  uint64_t f0 = sim_engine_events_fired(e);
  double t0 = now_s();
  for (uint64_t i = 0; i < n_events && !c.failed; i++) sim_engine_step(e);
  double dt = now_s() - t0;
  *eps = (double)(sim_engine_events_fired(e) - f0) / dt;
  *tps = (double)c.transfers / dt;
  sim_nic_free(c.nic);
  sim_engine_free(e);
  return c.failed;
}

int main(void) {
  gsl_set_error_handler_off();
  gsl_rng *r = NULL;
  cod_err err = {0};
  if (sim_rng_new(1, 0, &r, &err) != COD_OK) {
    fprintf(stderr, "bench_sim: %s\n", err.msg);
    return 1;
  }
  int rc = 0;
  double eps = 0.0, tps = 0.0;
  size_t sizes[] = {10, 1000, 100000};
  for (size_t i = 0; i < 3; i++) {
    rc |= run_hold(r, sizes[i], 20000000, 0, &eps);
    printf("hold         pending=%-7zu %8.2f Mevents/s  (%.2fx the 5e6 target)\n", sizes[i],
           eps / 1e6, eps / TARGET_EPS);
  }
  rc |= run_hold(r, 1000, 10000000, 1, &eps);
  printf("hold+cancel  pending=%-7d %8.2f Mevents/s  (%.2fx; each also pushes+cancels)\n",
         2000, eps / 1e6, eps / TARGET_EPS);
  size_t conc[] = {8, 64};
  for (size_t i = 0; i < 2; i++) {
    rc |= run_nic(r, conc[i], 5000000, &eps, &tps);
    printf("nic fair     active=%-8zu %8.2f Mevents/s  %6.2f Mtransfers/s  (%.2fx target)\n",
           conc[i], eps / 1e6, tps / 1e6, eps / TARGET_EPS);
  }
  sim_rng_free(r);
  if (rc) fprintf(stderr, "bench_sim: a workload failed (out of memory)\n");
  return rc;
}
