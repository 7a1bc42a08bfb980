/* run_layer.c: one coded layer as events (see run_layer.h for the protocol).
 *
 * Each worker goes through: upload (master NIC, shared; then its own downlink) -> compute
 * (duration sampled from its latency model at the moment its data arrives) -> download
 * (its own uplink; then the master's receiving NIC, shared). A transfer that crosses a
 * shared NIC and a dedicated link finishes when the slower of the two has carried the
 * last bit, plus the propagation latency: max(NIC completion, start + bytes/link rate).
 * Events carry a pointer into a per-layer array of worker records: nothing is allocated
 * per event.
 */
#include "run_layer.h"

#include <assert.h>
#include <float.h>
#include <stddef.h>
#include <math.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "cod_alloc.h"
#include "cod_clock.h"
#include "cod_tensor.h"
#include "res_db.h"
#include "run_alloc.h"
#include "sim_latency.h"
#include "sim_link.h"
#include "sim_rng.h"

enum wstate { W_IDLE, W_UPLOADING, W_COMPUTING, W_DOWNLOADING, W_ARRIVED, W_FAILED, W_REFUSED };

typedef struct layer_ctx layer_ctx;

typedef struct wrec {
  layer_ctx *L;
  size_t j;
  int state;
  run_worker w;            /* resources */
  gsl_rng *rng_noise;      /* borrowed from the cluster; NULL if no noise */
  sim_event_id ev;         /* pending engine event, 0 if none */
  sim_xfer_id xfer;        /* pending NIC transfer, 0 if none */
  sim_nic *xfer_nic;
  double t_up0, t_arrive, t_comp_end, t_down0, t_result; /* seconds */
} wrec;

struct layer_ctx {
  const run_layer_in *in;
  run_layer_out *out;
  const cod_code *code;
  cod_conv_algo algo;      /* the workers' slab convolutions (compute = real) */
  cod_conv_algo form;      /* the coded filters' form (run_layer_filter_form) */
  sim_engine *e;
  sim_nic *nic_up, *nic_down;
  wrec *ws;
  size_t n, delta, n_failed, n_refused;
  size_t n_arrived;        /* entries of arrived[] */
  int done;                /* decoded, undecodable or infeasible */
  int rc;                  /* first error inside a callback */
  cod_err *err;
  double *cx, *res;        /* coded inputs, results (real mode) */
  double *ck_own;          /* coded filters when the caller gave none */
  const double *ck;        /* coded filters in use */
  int ck_cm;               /* ck is class-major (cod_code_class_major_slot), else by worker */
  /* workers with equal coded inputs (cod_code_input_classes < n): by_class = cx holds one
   * coded input per class; cols = one column matrix per class (cols_each bytes), built on
   * the first result of the class that is computed (cols_ready) */
  int by_class;
  unsigned char *cols;
  size_t cols_each;
  unsigned char *cols_ready;
  /* defer: the numbers of arrived workers are computed when the layer decodes, a class's
   * workers in one GEMM (no result can overflow: see defer_applies); pending[j] = 1 for
   * an arrived worker whose numbers are not computed yet */
  int defer;
  int gather;              /* defer: one GEMM per class even where its filters must be gathered */
  unsigned char pending_any;
  unsigned char *pending;
  void *work;
  size_t il, fl, ol, el_up, el_down;
  size_t fk;               /* doubles of a worker's block of ck / ckc (fl in plain form) */
  int real;
  /* lazy_encode: the split operands, one encoded chunk of each, and which (index + 1) */
  int lazy;
  double *pieces, *groups, *cxc, *ckc;
  size_t wi, wf, chunk_in, chunk_filt;
  int approx;              /* approximate code: the [coding] approx_* policy decides */
  int deadline_passed;     /* approx_deadline_s has passed */
  sim_event_id deadline_ev; /* pending deadline event, 0 if none */
  /* Last, and not cleared per layer (36 KB): read only up to n_arrived, and in_worst only
   * when out->n_worst (worst_set_find clears it). */
  size_t arrived[COD_WORKERS_MAX];
  unsigned char in_worst[COD_WORKERS_MAX]; /* stragglers = worst: 1 for the workers that return */
};

static double now_s(const layer_ctx *L) { return sim_time_to_s(sim_engine_now(L->e)); }

/* Worker j's coded filters in ck. */
static const double *filters_of(const layer_ctx *L, size_t j) {
  return L->ck + (L->ck_cm ? cod_code_class_major_slot(L->code, j) : j) * L->fk;
}

static void cancel_rest(layer_ctx *L, const char *unfinished_status);
static void deferred_numbers(layer_ctx *L);
static void finish(layer_ctx *L, const char *status);
static int worst_cond(layer_ctx *L, double *cond, cod_err *err);

static void trace(layer_ctx *L, const char *kind, long worker) {
  run_layer_out *o = L->out;
  if (!L->in->trace) return;
  if (o->n_trace == o->cap_trace) {
    size_t cap = o->cap_trace ? 2 * o->cap_trace : 64;
    run_trace_ev *t = cod_realloc(o->trace, cap * sizeof *t);
    if (!t) {
      if (!L->rc) L->rc = cod_err_set(L->err, COD_ENOMEM, "out of memory for the event trace");
      return;
    }
    o->trace = t;
    o->cap_trace = cap;
  }
  o->trace[o->n_trace++] = (run_trace_ev){sim_engine_now(L->e), kind, worker};
}

static void fail_cb(int rc, layer_ctx *L) {
  if (!L->rc) L->rc = rc;
  sim_engine_stop(L->e);
}

/* Seconds of master time for `flops` of work, or for a measured wall time. */
static double master_time(const layer_ctx *L, double flops, double wall_s) {
  const run_config *c = L->in->cfg;
  if (c->master.timing == RUN_TIMING_MEASURED && L->real) return wall_s * c->master.speed_factor;
  return flops / c->master.master_flops;
}

/* The layer ends with status error and out->error_msg = msg (a numeric failure, or time
 * beyond the horizon): everything pending is cancelled and the engine stops. */
static void fail_outcome(layer_ctx *L, const char *msg) {
  if (L->done) return;
  cancel_rest(L, RES_WORKER_CANCELLED);
  finish(L, RES_STATUS_ERROR);
  snprintf(L->out->error_msg, sizeof L->out->error_msg, "%s", msg);
  if (sim_engine_now(L->e) > SIM_TIME_HORIZON_NS) L->out->t_end_s = NAN;
  sim_engine_stop(L->e);
}

/* Schedule fn(payload) at absolute simulated time t_s (s), at least now. A time beyond
 * the horizon is the layer's outcome (RUN_MSG_HORIZON), never an overflow. Returns 0 if
 * scheduled, 1 if the layer ended (outcome or error recorded). */
static int schedule_s(layer_ctx *L, double t_s, sim_event_fn fn, void *payload,
                      sim_event_id *id) {
  sim_time_ns t, now = sim_engine_now(L->e);
  if (sim_time_from_s_checked(t_s, &t) != COD_OK || now > SIM_TIME_HORIZON_NS) {
    fail_outcome(L, RUN_MSG_HORIZON);
    return 1;
  }
  if (t < now) t = now;
  if (sim_engine_schedule_at(L->e, t, fn, payload, NULL, id) != COD_OK) {
    fail_cb(cod_err_set(L->err, COD_ENOMEM, "out of memory scheduling an event"), L);
    return 1;
  }
  return 0;
}

/* As schedule_s, delay_s (s) after now, rounded as a duration (ceil of the delay alone,
 * so the times are those of a plain sim_engine_schedule_after). */
static int schedule_after_s(layer_ctx *L, double delay_s, sim_event_fn fn, void *payload) {
  sim_time_ns d, t;
  if (sim_time_from_s_checked(delay_s, &d) != COD_OK ||
      sim_time_add_checked(sim_engine_now(L->e), d, &t) != COD_OK) {
    fail_outcome(L, RUN_MSG_HORIZON);
    return 1;
  }
  if (sim_engine_schedule_at(L->e, t, fn, payload, NULL, NULL) != COD_OK) {
    fail_cb(cod_err_set(L->err, COD_ENOMEM, "out of memory scheduling an event"), L);
    return 1;
  }
  return 0;
}

/* Submit a transfer to a master NIC; a NIC whose transfers would end beyond the horizon
 * is the layer's outcome, anything else out of memory. */
static int nic_submit(layer_ctx *L, sim_nic *nic, uint64_t bytes, sim_event_fn done, void *p,
                      sim_xfer_id *id) {
  int rc = sim_nic_submit(nic, bytes, 0, done, p, NULL, id);
  if (!rc) return 0;
  if (rc == COD_EINVAL || sim_nic_status(nic) == COD_EINVAL) fail_outcome(L, RUN_MSG_HORIZON);
  else fail_cb(cod_err_set(L->err, COD_ENOMEM, "out of memory"), L);
  return 1;
}

/* Completion time (s) of a transfer that started at t0 over a shared NIC (done now) and a
 * dedicated link of rate bps. */
static double link_arrival(const layer_ctx *L, double t0, uint64_t bytes, double bps) {
  double t = now_s(L);
  if (isfinite(bps)) t = fmax(t, t0 + (double)bytes * 8.0 / bps);
  return t + L->in->cfg->network.latency_s;
}

/* Cancel everything still pending; mark the unfinished workers. */
static void cancel_rest(layer_ctx *L, const char *unfinished_status) {
  if (L->deadline_ev) sim_engine_cancel(L->e, L->deadline_ev), L->deadline_ev = 0;
  for (size_t j = 0; j < L->n; j++) {
    wrec *w = &L->ws[j];
    if (w->ev) sim_engine_cancel(L->e, w->ev), w->ev = 0;
    if (w->xfer) sim_nic_cancel(w->xfer_nic, w->xfer), w->xfer = 0;
    res_worker_row *o = &L->out->workers[j];
    if (w->state == W_UPLOADING || w->state == W_COMPUTING || w->state == W_DOWNLOADING)
      o->status = unfinished_status;
    if (w->state == W_COMPUTING) o->t_busy_s = now_s(L) - w->t_arrive; /* cut short */
  }
}

static void finish(layer_ctx *L, const char *status) {
  L->done = 1;
  L->out->status = status;
  L->out->t_end_s = now_s(L);
}

/* The worker arithmetic of the run's precision (bf16/fp16 go through the fp32 path). */
static cod_dtype work_dtype(int precision) { return precision == RUN_FP64 ? COD_F64 : COD_F32; }

/* Results an approximate code waits for: approx_wait, or 1 once the deadline passed (the
 * deadline itself triggers the decode when results are already in). */
static size_t approx_needed(const layer_ctx *L) {
  size_t w = L->in->cfg->coding.approx_wait;
  return w ? w : 1;
}

static int decodable_now(const layer_ctx *L) {
  if (L->approx)
    return L->n_arrived >= approx_needed(L) &&
           (L->in->cfg->coding.approx_wait || L->deadline_passed);
  return cod_code_decodable(L->code, L->arrived, L->n_arrived);
}

/* Could the workers that have not failed or refused still make the results decodable? */
static int still_possible(const layer_ctx *L) {
  size_t alive[COD_WORKERS_MAX], na = 0;
  for (size_t j = 0; j < L->n; j++)
    if (L->ws[j].state != W_FAILED && L->ws[j].state != W_REFUSED) alive[na++] = j;
  if (L->approx) return na >= approx_needed(L);
  return cod_code_decodable(L->code, alive, na);
}

static void ev_decode_done(sim_engine *e, void *p) {
  layer_ctx *L = p;
  (void)e;
  trace(L, "decode_done", -1);
  finish(L, RES_STATUS_OK);
}

static void do_decode(layer_ctx *L, size_t critical) {
  if (L->defer) deferred_numbers(L); /* before the decode's clocks start */
  run_layer_out *o = L->out;
  const int cmode = L->in->cfg->run.cond;
  /* model mode computes no numbers: only condition numbers cost CPU there, and the cache
   * times those itself (a thread-CPU reading costs about a microsecond, more than a hit) */
  const int timed = L->real || cmode == RUN_COND_WORST;
  double wall = 0, c0 = timed ? cod_clock_thread_cpu_s() : 0.0, cond_cpu = 0.0;
  int rc;
  if (L->real) {
    const double *res[COD_WORKERS_MAX];
    cod_decode_info info;
    for (size_t i = 0; i < L->n_arrived; i++) res[i] = L->res + L->arrived[i] * L->ol;
    double w0 = cod_clock_wall_s();
    rc = cod_code_decode_work(L->code, L->arrived, L->n_arrived, res,
                              L->in->cfg->run.decode == RUN_DECODE_GENERIC ? COD_DECODE_GENERIC
                                                                            : COD_DECODE_AUTO,
                              L->in->y, &info, L->in->scratch ? L->in->scratch->dwork : NULL,
                              L->err);
    wall = cod_clock_wall_s() - w0;
    if (!rc || rc == COD_ENUMERIC) o->cond = info.cond;
    if (!rc) {
      o->n_used = info.n_used;
      memcpy(o->used, info.used, info.n_used * sizeof *info.used);
    }
  } else { /* model mode: the same selection and condition number, no numbers */
    rc = cod_code_select(L->code, L->arrived, L->n_arrived, o->used, &o->n_used, L->err);
    if (!rc && cmode == RUN_COND_USED) { /* once per distinct set (run_cache.h) */
      run_scratch *s = L->in->scratch;
      rc = run_cond_cache_get(s ? &s->cond_cache : NULL, L->code, o->used, o->n_used,
                              &o->cond, &cond_cpu, L->err);
      /* the generic decoder's singularity test, so both modes give the same outcome */
      if (!rc && !(o->cond * cod_code_params_get(L->code)->rank_rtol < 1.0)) rc = COD_ENUMERIC;
    }
  }
  /* [run] cond: what the row holds instead of the used set's number */
  if ((!rc || rc == COD_ENUMERIC) && cmode == RUN_COND_NONE) o->cond = NAN;
  if (!rc && cmode == RUN_COND_WORST) rc = worst_cond(L, &o->cond, L->err);
  if (rc == COD_ENUMERIC) {
    /* The system the arrived results give is singular to working precision (poly codes at
     * large n): an outcome of the layer, like undecodable, not a failure of the sweep. */
    o->cpu_decode_s += timed ? cod_clock_thread_cpu_s() - c0 : cond_cpu;
    cancel_rest(L, RES_WORKER_CANCELLED);
    for (size_t i = 0; i < L->n_arrived; i++)
      o->workers[L->arrived[i]].status = RES_WORKER_STRAGGLER;
    finish(L, RES_STATUS_ERROR);
    sim_engine_stop(L->e);
    return;
  }
  if (rc) return fail_cb(rc, L);
  o->cpu_decode_s += timed ? cod_clock_thread_cpu_s() - c0 : cond_cpu;
  for (size_t i = 0; i < L->n_arrived; i++) {
    int used = 0;
    for (size_t u = 0; u < o->n_used; u++) used |= o->used[u] == L->arrived[i];
    o->workers[L->arrived[i]].status = used ? RES_WORKER_USED : RES_WORKER_STRAGGLER;
    o->workers[L->arrived[i]].tasks_used = used;
  }
  cancel_rest(L, RES_WORKER_CANCELLED);
  wrec *cw = &L->ws[critical];
  o->t_upload_s = cw->t_arrive - cw->t_up0;
  o->t_compute_s = cw->t_comp_end - cw->t_arrive;
  o->t_download_s = cw->t_result - cw->t_down0;
  o->t_decode_s = master_time(L, cod_code_decode_flops(L->code), wall);
  trace(L, "decode_start", -1);
  schedule_after_s(L, o->t_decode_s, ev_decode_done, L);
}

/* The REAL convolution of worker w's coded pieces (and its noise). Its simulated time was
 * its compute event; the numbers are evaluated when its result reaches the master, so a
 * result that is cancelled in download (it would arrive after the decode) costs no CPU.
 * The numbers do not depend on when they are evaluated: same inputs, same noise stream. */
/* Returns 0, or COD_ENUMERIC when a bf16/fp16 operand overflowed: that worker has no
 * result (its output is NaN and is never used). */
static int worker_numbers(layer_ctx *L, wrec *w) {
  double c0 = cod_clock_thread_cpu_s();
  double *res = L->res + w->j * L->ol;
  const double *xin, *kin;
  if (L->lazy) { /* this worker's chunk of each operand, encoded on first need */
    size_t a = w->j / L->wi, b = w->j / L->wf;
    if (L->chunk_in != a + 1) cod_code_encode_input_chunk(L->code, L->pieces, a, L->cxc);
    if (L->chunk_filt != b + 1)
      cod_code_encode_filters_chunk_form(L->code, L->form, L->groups, b, L->ckc);
    L->chunk_in = a + 1, L->chunk_filt = b + 1;
    xin = L->cxc + (w->j - a * L->wi) * L->il, kin = L->ckc + (w->j - b * L->wf) * L->fk;
    double c1 = cod_clock_thread_cpu_s();
    L->out->cpu_encode_s += c1 - c0;
    c0 = c1;
  } else {
    xin = L->cx + (L->by_class ? cod_code_input_class(L->code, w->j) : w->j) * L->il;
    kin = filters_of(L, w->j);
  }
  int prec = L->in->cfg->run.precision, rc = COD_OK;
  if (L->cols) { /* the class's columns once, then this worker's GEMM: the same numbers */
    size_t cl = cod_code_input_class(L->code, w->j);
    void *cols = L->cols + cl * L->cols_each;
    if (!L->cols_ready[cl]) cod_code_worker_cols(L->code, work_dtype(prec), xin, cols);
    L->cols_ready[cl] = 1;
    cod_code_worker_compute_cols(L->code, work_dtype(prec), cols, kin, res, L->work);
  } else if (prec == RUN_BF16 || prec == RUN_FP16)
    rc = cod_code_worker_compute_half(L->code, prec == RUN_BF16 ? COD_HALF_BF16 : COD_HALF_FP16,
                                      xin, kin, res, L->work, NULL);
  else if (L->form != COD_CONV_IM2COL)
    cod_code_worker_compute_form(L->code, L->form, xin, kin, res, L->work);
  else
    cod_code_worker_compute_algo(L->code, work_dtype(prec), L->algo, xin, kin, res, L->work);
  if (!rc && isfinite(L->in->cfg->run.snr_db))
    cod_noise_add(res, L->ol, L->in->cfg->run.snr_db, w->rng_noise);
  L->out->cpu_compute_s += cod_clock_thread_cpu_s() - c0;
  return rc;
}

/* A worker whose operands overflowed its 16-bit format, or whose result is not finite: a
 * numeric failure. It counts as failed (it gives the master nothing usable); when that
 * leaves the layer undecodable the layer's status is the numeric-failure status `error`
 * (with the reason in error_msg), not `undecodable`. */
static void worker_numeric_failure(layer_ctx *L, wrec *w) {
  w->state = W_FAILED;
  L->out->workers[w->j].status = RES_WORKER_FAILED;
  L->out->n_numeric++;
  L->n_failed++;
  trace(L, "worker_numeric_failure", (long)w->j);
  if (!L->done && !still_possible(L)) {
    char msg[160];
    snprintf(msg, sizeof msg, "worker %zu returned non-finite values (%s overflow?)", w->j,
             run_config_enum_name("run.precision", L->in->cfg->run.precision));
    fail_outcome(L, msg);
  }
}

/* One GEMM for nw pending workers of class cl (their filters kin[], results out[]), the
 * class's columns built first if no result of the class was computed yet. */
static void class_gemm(layer_ctx *L, size_t cl, size_t nw, const double *const *kin,
                       double *const *out) {
  void *cols = L->cols + cl * L->cols_each;
  if (!L->cols_ready[cl]) cod_code_worker_cols(L->code, COD_F64, L->cx + cl * L->il, cols);
  L->cols_ready[cl] = 1;
  cod_code_workers_compute_cols(L->code, COD_F64, cols, nw, kin, out, L->work);
}

/* The numbers of the arrived workers that are pending (the same numbers as
 * worker_numbers: cod_code_workers_compute_cols), then each worker's noise. Class-major
 * filters: the pending workers of a class in class-major order; a wide GEMM (gather set)
 * takes them all in one call, which reads their filters in place when they are adjacent
 * and gathers them otherwise; a narrow one makes a GEMM of each run of adjacent pending
 * workers, filters in place (gathering would cost more than the GEMM saves). By worker:
 * all of a class's pending workers in one GEMM, their filters gathered. */
static void deferred_numbers(layer_ctx *L) {
  if (!L->pending_any) return;
  double c0 = cod_clock_thread_cpu_s();
  const double *kin[COD_WORKERS_MAX];
  double *out[COD_WORKERS_MAX];
  if (L->ck_cm) {
    for (size_t p = 0; p < L->n;) { /* a class's positions are one range */
      size_t cl = cod_code_input_class(L->code, cod_code_class_major_worker(L->code, p));
      size_t nw = 0;
      for (; p < L->n; p++) {
        size_t j = cod_code_class_major_worker(L->code, p);
        if (cod_code_input_class(L->code, j) != cl) break;
        if (!L->pending[j]) { /* a run breaks: narrow GEMMs take it as it is */
          if (nw && !L->gather) class_gemm(L, cl, nw, kin, out), nw = 0;
          continue;
        }
        kin[nw] = filters_of(L, j), out[nw++] = L->res + j * L->ol;
        L->pending[j] = 0;
      }
      if (nw) class_gemm(L, cl, nw, kin, out);
    }
  } else {
    size_t ncl = cod_code_input_classes(L->code);
    for (size_t cl = 0; cl < ncl; cl++) {
      size_t nw = 0;
      for (size_t i = 0; i < L->n_arrived; i++) {
        size_t j = L->arrived[i];
        if (!L->pending[j] || cod_code_input_class(L->code, j) != cl) continue;
        kin[nw] = filters_of(L, j), out[nw++] = L->res + j * L->ol;
        L->pending[j] = 0;
      }
      if (nw) class_gemm(L, cl, nw, kin, out);
    }
  }
  for (size_t i = 0; i < L->n_arrived; i++) { /* noise in arrival order: one stream each */
    size_t j = L->arrived[i];
    if (isfinite(L->in->cfg->run.snr_db))
      cod_noise_add(L->res + j * L->ol, L->ol, L->in->cfg->run.snr_db, L->ws[j].rng_noise);
    assert(cod_array_all_finite(L->res + j * L->ol, L->ol)); /* defer_applies bounds every value */
  }
  L->pending_any = 0;
  L->out->cpu_compute_s += cod_clock_thread_cpu_s() - c0;
}

static void ev_result(sim_engine *e, void *p) {
  wrec *w = p;
  layer_ctx *L = w->L;
  (void)e;
  w->ev = 0;
  w->state = W_ARRIVED;
  w->t_result = now_s(L);
  L->out->workers[w->j].t_finish_s = w->t_result;
  L->out->workers[w->j].status = RES_WORKER_STRAGGLER; /* until the decoder uses it */
  if (L->defer) { /* finite by the bound: computed with its class when the layer decodes */
    L->pending[w->j] = 1, L->pending_any = 1;
  } else if (L->real) { /* a 16-bit overflow, or any result that is not finite (fp32 near 3.4e38) */
    int nrc = worker_numbers(L, w);
    if (nrc || !cod_array_all_finite(L->res + w->j * L->ol, L->ol))
      return worker_numeric_failure(L, w);
  }
  L->arrived[L->n_arrived++] = w->j;
  trace(L, "result", (long)w->j);
  if (!L->done && decodable_now(L)) do_decode(L, w->j);
}

/* The shared-NIC part of a transfer is done: the transfer ends when the worker's own link
 * has carried it too (see link_arrival), then `next` fires. */
static void after_nic(wrec *w, double t0, uint64_t bytes, double link_bps, sim_event_fn next) {
  layer_ctx *L = w->L;
  w->xfer = 0;
  schedule_s(L, link_arrival(L, t0, bytes, link_bps), next, w, &w->ev);
}

static void xfer_down_done(sim_engine *e, void *p) {
  wrec *w = p;
  (void)e;
  after_nic(w, w->t_down0, w->L->out->workers[w->j].bytes_down, w->w.uplink_bps, ev_result);
}

static void ev_compute_done(sim_engine *e, void *p) {
  wrec *w = p;
  layer_ctx *L = w->L;
  (void)e;
  w->ev = 0;
  w->t_comp_end = now_s(L);
  trace(L, "compute_done", (long)w->j);
  res_worker_row *o = &L->out->workers[w->j];
  o->t_busy_s = w->t_comp_end - w->t_arrive;
  o->flops = 2.0 * cod_code_worker_macs(L->code);
  w->state = W_DOWNLOADING;
  w->t_down0 = now_s(L);
  w->xfer_nic = L->nic_down;
  nic_submit(L, L->nic_down, o->bytes_down, xfer_down_done, w, &w->xfer);
}

static void ev_failed(sim_engine *e, void *p) {
  wrec *w = p;
  layer_ctx *L = w->L;
  (void)e;
  w->ev = 0;
  w->state = W_FAILED;
  L->out->workers[w->j].status = RES_WORKER_FAILED;
  L->out->workers[w->j].t_busy_s = now_s(L) - w->t_arrive; /* computed until it was lost */
  L->n_failed++;
  trace(L, "worker_failed", (long)w->j);
  if (!L->done && !still_possible(L)) {
    cancel_rest(L, RES_WORKER_CANCELLED);
    finish(L, RES_STATUS_UNDECODABLE);
    sim_engine_stop(L->e);
  }
}


static void ev_arrive(sim_engine *e, void *p) {
  wrec *w = p;
  layer_ctx *L = w->L;
  const run_config *c = L->in->cfg;
  (void)e;
  w->ev = 0;
  w->t_arrive = now_s(L);
  trace(L, "to_worker_done", (long)w->j);
  double nominal = 2.0 * cod_code_worker_macs(L->code) / w->w.compute_rate_flops, d, t_fail;
  int rc = run_cluster_draw(L->in->cluster, c, w->j, w->t_arrive, nominal, &d, &t_fail, L->err);
  if (rc) return fail_cb(rc, L);
  /* stragglers = worst: the draw above still happens (same streams as a random run), but
   * a worker outside the worst set never returns in time: it fails on arrival */
  if (L->out->n_worst && !L->in_worst[w->j]) t_fail = w->t_arrive;
  w->state = W_COMPUTING;
  if (isfinite(t_fail))
    schedule_s(L, t_fail, ev_failed, w, &w->ev);
  else
    schedule_s(L, w->t_arrive + d, ev_compute_done, w, &w->ev);
}

static void xfer_up_done(sim_engine *e, void *p) {
  wrec *w = p;
  (void)e;
  after_nic(w, w->t_up0, w->L->out->workers[w->j].bytes_up, w->w.downlink_bps, ev_arrive);
}

/* approx_deadline_s: decode now with whatever arrived, or at the first arrival. */
static void ev_deadline(sim_engine *e, void *p) {
  layer_ctx *L = p;
  (void)e;
  L->deadline_ev = 0;
  L->deadline_passed = 1;
  trace(L, "approx_deadline", -1);
  if (!L->done && L->n_arrived && decodable_now(L)) do_decode(L, L->arrived[L->n_arrived - 1]);
}

static void ev_encoded(sim_engine *e, void *p) {
  layer_ctx *L = p;
  (void)e;
  trace(L, "encode_done", -1);
  double dl = L->in->cfg->coding.approx_deadline_s;
  if (L->approx && isfinite(dl) &&
      sim_engine_schedule_after(L->e, sim_time_from_s(dl), ev_deadline, L, NULL, &L->deadline_ev))
    return fail_cb(cod_err_set(L->err, COD_ENOMEM, "out of memory"), L);
  for (size_t j = 0; j < L->n; j++) {
    wrec *w = &L->ws[j];
    res_worker_row *o = &L->out->workers[j];
    if (w->state == W_REFUSED) continue;
    w->state = W_UPLOADING;
    w->t_up0 = now_s(L);
    w->xfer_nic = L->nic_up;
    if (nic_submit(L, L->nic_up, o->bytes_up, xfer_up_done, w, &w->xfer)) return;
  }
}

/* ---- set-up and tear-down -------------------------------------------------------- */

/* The law of rl through sim/'s registry: an unknown law index is sim's error (listing the
 * known laws), never a default. */
static int make_model(const run_config *c, const run_latency *rl, sim_latency **out,
                      cod_err *err) {
  sim_latency_params p;
  run_latency_sim_params(c, rl, &p);
  return sim_latency_new_from_params(&p, out, err);
}

static void ctx_free(layer_ctx *L) {
  cod_free(L->ws);
  cod_free(L->cols_ready);
  cod_free(L->pending);
  cod_free(L->pieces), cod_free(L->groups), cod_free(L->cxc), cod_free(L->ckc);
  if (!L->in->scratch || L->lazy) { /* lazy: cx is NULL, res and work are the layer's own */
    cod_free(L->cx);
    cod_free(L->res);
    cod_free(L->work);
  }
  cod_free(L->ck_own);
}

/* One cached worst-set search (see worst_set_find). */
struct run_worst_entry {
  const char *scheme;     /* static name from cod_code_scheme */
  size_t n, ka, kb, q, budget;
  unsigned long seed;
  cod_cond_search_result st; /* owned: st.worst_set is released by run_scratch_fini */
};

void run_scratch_fini(run_scratch *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n_worst; i++) cod_cond_search_result_fini(&s->worst[i].st);
  cod_free(s->worst);
  cod_free(s->alloc_an);
  run_cond_cache_free(s->cond_cache);
  run_rng_pool_fini(&s->rng);
  cod_free(s->cx);
  cod_free(s->res);
  cod_free(s->work);
  cod_free(s->dwork);
  cod_free(s->ework);
  cod_free(s->cols);
  memset(s, 0, sizeof *s);
}

/* Grow the scratch buffers to at least these sizes; on failure nothing is lost (the old,
 * smaller buffers stay owned by s) and -1 is returned. */
/* Replace *buf by a block of at least `need` bytes unless it is large enough already. */
static int grow_bytes(void **buf, size_t *have, size_t need) {
  if (need <= *have && *buf) return 0;
  void *p = cod_aligned_alloc(need);
  if (!p) return -1;
  cod_free(*buf);
  *buf = p, *have = need;
  return 0;
}

static int scratch_grow(run_scratch *s, size_t cx_len, size_t res_len, size_t work_bytes,
                        size_t dwork_bytes, size_t ework_bytes) {
  size_t cx_bytes = s->cx_len * sizeof(double), res_bytes = s->res_len * sizeof(double);
  void *cx = s->cx, *res = s->res;
  int rc = grow_bytes(&cx, &cx_bytes, cx_len * sizeof(double)) ||
           grow_bytes(&res, &res_bytes, res_len * sizeof(double)) ||
           grow_bytes(&s->work, &s->work_bytes, work_bytes) ||
           grow_bytes(&s->dwork, &s->dwork_bytes, dwork_bytes) ||
           grow_bytes(&s->ework, &s->ework_bytes, ework_bytes);
  s->cx = cx, s->res = res;
  s->cx_len = cx_bytes / sizeof(double), s->res_len = res_bytes / sizeof(double);
  return rc ? -1 : 0;
}

const char *run_class_name(const run_config *c, int klass) {
  return klass < 0 ? "default" : c->classes[klass].name;
}

/* Zero every field of o but the two id arrays (64 KB each, read only up to n_used and
 * n_worst): clearing them was a tenth of a model-only run. */
static void out_clear(run_layer_out *o) {
  _Static_assert(offsetof(run_layer_out, used) < offsetof(run_layer_out, n_used) &&
                 offsetof(run_layer_out, n_used) < offsetof(run_layer_out, worst_set) &&
                 offsetof(run_layer_out, worst_set) < offsetof(run_layer_out, n_worst),
                 "run_layer_out: the id arrays moved; update out_clear");
  memset(o, 0, offsetof(run_layer_out, used));
  o->n_used = 0;
  memset(&o->n_worst, 0, sizeof *o - offsetof(run_layer_out, n_worst));
}

void run_layer_out_fini(run_layer_out *o) {
  if (!o) return;
  cod_free(o->workers);
  cod_free(o->trace);
  out_clear(o);
}

_Static_assert(COD_WORKERS_MAX <= SIM_LATENCY_WORKERS_MAX, "a per-worker law covers every worker");

struct run_cluster {
  size_t n;
  sim_latency *models[RUN_CLASSES_MAX + 1]; /* [0] default, [k+1] class k */
  gsl_rng **rng_lat, **rng_noise;           /* n each; rng_noise entries NULL without noise */
  sim_nic *nic_up, *nic_down;               /* the master's NIC, one per direction */
  uint64_t trial, serial;
  int pooled;                               /* rng_* borrowed from a run_rng_pool */
};

/* Workers below 1024 keep the layout that predates the 4096-worker limit (so every stored
 * run draws the same numbers); the others get a disjoint range from 2^62 on, where ids
 * cannot meet those of any (trial < 2^40, worker < 1024). */
#define RUN_STREAM_LEGACY_WORKERS 1024u
uint64_t run_stream_id(uint64_t trial, size_t worker, unsigned purpose) {
  assert(worker < COD_WORKERS_MAX && purpose < 4u);
  if (worker < RUN_STREAM_LEGACY_WORKERS) return (trial * RUN_STREAM_LEGACY_WORKERS + worker) * 4u + purpose;
  return (UINT64_C(1) << 62) + (trial * COD_WORKERS_MAX + worker) * 4u + purpose;
}

uint64_t run_cluster_trial(const run_cluster *cl) { return cl->trial; }
gsl_rng *run_cluster_noise_rng(run_cluster *cl, size_t j) { return cl->rng_noise[j]; }
void run_cluster_nics(run_cluster *cl, sim_nic **up, sim_nic **down) {
  *up = cl->nic_up, *down = cl->nic_down;
}
uint64_t run_cluster_serial(const run_cluster *cl) { return cl->serial; }

static int is_fail_worker(const run_config *c, size_t j) {
  for (size_t i = 0; i < c->failures.n_fail_workers; i++)
    if (c->failures.fail_workers[i] == j) return 1;
  return 0;
}

int run_cluster_draw(run_cluster *cl, const run_config *c, size_t j, double t_s,
                     double nominal_s, double *dur_s, double *fail_s, cod_err *err) {
  run_worker rw;
  int klass = run_config_worker(c, j, &rw);
  double d;
  int rc = sim_latency_sample_at(cl->models[klass + 1], cl->rng_lat[j], j, t_s, nominal_s, &d);
  if (rc) return cod_err_set(err, rc, "latency model: cannot sample worker %zu", j);
  double t_fail = INFINITY;
  /* Only fail-stop and a trace's `inf` mean "never returns"; any other law's infinite draw
   * is an overflow (Pareto with a tiny tail index), i.e. a time beyond every horizon. */
  if (!isfinite(d) && !(sim_latency_law_get((size_t)rw.latency.model)->traits &
                        (SIM_LAT_WRAPS_BASE | SIM_LAT_READS_TRACE)))
    d = DBL_MAX;
  if (!isfinite(d)) t_fail = t_s;                       /* fail-stop: lost at once */
  if (is_fail_worker(c, j) && t_s + d > c->latency.fail_at_s)
    t_fail = fmax(t_s, c->latency.fail_at_s);           /* scheduled failure */
  *dur_s = d, *fail_s = t_fail;
  return COD_OK;
}

void run_cluster_free(run_cluster *cl) {
  if (!cl) return;
  for (size_t j = 0; !cl->pooled && j < cl->n; j++) {
    if (cl->rng_lat) sim_rng_free(cl->rng_lat[j]);
    if (cl->rng_noise) sim_rng_free(cl->rng_noise[j]);
  }
  if (!cl->pooled) cod_free(cl->rng_lat), cod_free(cl->rng_noise);
  for (size_t i = 0; i <= RUN_CLASSES_MAX; i++) sim_latency_free(cl->models[i]);
  sim_nic_free(cl->nic_up);
  sim_nic_free(cl->nic_down);
  cod_free(cl);
}

int run_cluster_new(const run_config *c, sim_engine *engine, uint64_t trial, run_cluster **out,
                    cod_err *err) {
  return run_cluster_new_pooled(c, engine, trial, NULL, out, err);
}

int run_cluster_new_pooled(const run_config *c, sim_engine *engine, uint64_t trial,
                           run_rng_pool *pool, run_cluster **out, cod_err *err) {
  run_cluster *cl = cod_calloc(1, sizeof *cl);
  if (!cl) return cod_err_set(err, COD_ENOMEM, "out of memory");
  static _Atomic uint64_t next_serial = 1;
  cl->n = c->cluster.workers;
  cl->trial = trial, cl->serial = next_serial++;
  int noise = c->run.compute == RUN_COMPUTE_REAL && isfinite(c->run.snr_db);
  int rc = make_model(c, &c->latency, &cl->models[0], err);
  for (size_t i = 0; !rc && i < c->n_classes; i++)
    rc = make_model(c, &c->classes[i].worker.latency, &cl->models[i + 1], err);
  if (rc) goto fail;
  /* "unlimited" is a very fast NIC */
  double bps = isfinite(c->network.master_bps) ? c->network.master_bps : 1e300;
  sim_nic_discipline disc =
      c->network.master_sharing == RUN_SHARING_FAIR ? SIM_NIC_FAIR : SIM_NIC_SEQUENTIAL;
  if ((rc = sim_nic_new(engine, bps, disc, &cl->nic_up, err)) ||
      (rc = sim_nic_new(engine, bps, disc, &cl->nic_down, err)))
    goto fail;
  if (pool) {
    cl->pooled = 1;
    if ((rc = run_rng_pool_take(pool, cl->n, noise, c->run.seed, trial, &cl->rng_lat,
                                &cl->rng_noise, err)))
      goto fail;
    *out = cl;
    return COD_OK;
  }
  cl->rng_lat = cod_calloc(cl->n, sizeof *cl->rng_lat);
  cl->rng_noise = cod_calloc(cl->n, sizeof *cl->rng_noise);
  if (!cl->rng_lat || !cl->rng_noise) {
    rc = cod_err_set(err, COD_ENOMEM, "out of memory");
    goto fail;
  }
  for (size_t j = 0; j < cl->n; j++)
    if ((rc = sim_rng_new(c->run.seed, run_stream_id(trial, j, RUN_STREAM_LATENCY),
                          &cl->rng_lat[j], err)) ||
        (noise && (rc = sim_rng_new(c->run.seed, run_stream_id(trial, j, RUN_STREAM_NOISE),
                                    &cl->rng_noise[j], err))))
      goto fail;
  *out = cl;
  return COD_OK;
fail:
  run_cluster_free(cl);
  return rc;
}

static int ctx_init(layer_ctx *L, const run_layer_in *in, run_layer_out *out, cod_err *err) {
  const run_config *c = in->cfg;
  const cod_code *code = in->code;
  L->in = in, L->out = out, L->code = code, L->e = in->engine, L->err = err;
  L->n = cod_code_workers(code);
  L->delta = cod_code_threshold(code);
  L->approx = cod_code_approximate(code);
  L->real = c->run.compute == RUN_COMPUTE_REAL;
  L->el_up = run_precision_operand_bytes(c->run.precision);
  L->el_down = run_precision_result_bytes(c->run.precision);
  L->il = cod_code_worker_input_len(code);
  L->fl = cod_code_worker_filter_len(code);
  L->ol = cod_code_worker_output_len(code);
  run_cluster *cl = in->cluster;
  assert(cl->n == L->n);
  L->nic_up = cl->nic_up, L->nic_down = cl->nic_down;
  L->ws = cod_calloc(L->n, sizeof *L->ws);
  out->workers = cod_calloc(L->n, sizeof *out->workers);
  if (!L->ws || !out->workers) return cod_err_set(err, COD_ENOMEM, "out of memory");
  for (size_t j = 0; j < L->n; j++) {
    wrec *w = &L->ws[j];
    w->L = L, w->j = j;
    int klass = run_config_worker(c, j, &w->w);
    w->rng_noise = cl->rng_noise[j];
    res_worker_row *o = &out->workers[j];
    res_worker_row_init(o);
    o->worker = (int64_t)j;
    o->worker_class = run_class_name(c, klass);
    o->status = RES_WORKER_CANCELLED;
    o->flops = 0.0; /* until it computes */
    o->tasks = 1, o->tasks_used = 0; /* one coded task each (allocation = equal) */
    o->bytes_up = (int64_t)((L->il + L->fl) * L->el_up);
    o->bytes_down = (int64_t)(L->ol * L->el_down);
    o->bytes_stored = o->bytes_up;
    if (in->storage_refuse ? in->storage_refuse[j] != 0
                           : (double)o->bytes_stored > w->w.storage_bytes) {
      w->state = W_REFUSED;
      o->status = RES_WORKER_REFUSED;
      o->bytes_up = o->bytes_down = o->bytes_stored = 0;
      L->n_refused++;
    }
  }
  if (L->real) {
    /* 16-bit workers emulate tensor units: their fp32 GEMM stays im2col */
    int half = c->run.precision == RUN_BF16 || c->run.precision == RUN_FP16;
    L->algo = c->run.conv_algo == RUN_CONV_AUTO && !half
                  ? cod_conv_algo_choose(cod_code_worker_geom(code), work_dtype(c->run.precision))
                  : COD_CONV_IM2COL;
    /* filters handed over are in the form they say; its own are in the rule's */
    L->form = in->coded_filters && !in->lazy_encode ? in->coded_filters_form
                                                    : run_layer_filter_form(c, code);
    if (L->form != COD_CONV_IM2COL) L->algo = L->form;
    L->fk = cod_code_worker_filter_len_form(code, L->form);
    out->conv_algo = cod_conv_algo_name(L->algo);
    size_t work = L->form != COD_CONV_IM2COL
                      ? cod_code_worker_workspace_bytes_form(code, L->form)
                      : cod_code_worker_workspace_bytes_algo(code, work_dtype(c->run.precision), L->algo);
    if (in->lazy_encode) {
      /* fresh (not scratch) results: only the pages of workers that compute are touched */
      L->lazy = 1;
      L->wi = cod_code_input_chunk_workers(code), L->wf = cod_code_filter_chunk_workers(code);
      L->pieces = cod_malloc(cod_code_encode_workspace_bytes(code));
      L->groups = cod_malloc_array(cod_code_filter_groups_len_form(code, L->form), sizeof *L->groups);
      L->cxc = cod_malloc_array(L->wi * L->il, sizeof *L->cxc);
      L->ckc = cod_malloc_array(L->wf * L->fk, sizeof *L->ckc);
      L->res = cod_malloc_array(L->n * L->ol, sizeof *L->res);
      L->work = cod_aligned_alloc(work);
      run_scratch *s = in->scratch; /* the decoder's workspace is still the scratch's */
      if (!L->pieces || !L->groups || !L->cxc || !L->ckc || !L->res || !L->work ||
          (s && grow_bytes(&s->dwork, &s->dwork_bytes, cod_code_decode_workspace_bytes(code))))
        return cod_err_set(err, COD_ENOMEM, "out of memory for the coded buffers of %zu workers", L->n);
      return COD_OK;
    }
    if (in->scratch) {
      run_scratch *s = in->scratch;
      size_t ncl = cod_code_input_classes(code);
      L->by_class = ncl < L->n;
      /* shared columns: im2col workers at fp64/fp32 whose convolution is one batched GEMM */
      L->cols_each = L->by_class && L->algo == COD_CONV_IM2COL && !half
                         ? cod_code_worker_cols_bytes(code, work_dtype(c->run.precision)) : 0;
      if (scratch_grow(s, (L->by_class ? ncl : L->n) * L->il, L->n * L->ol, work,
                       cod_code_decode_workspace_bytes(code), cod_code_encode_workspace_bytes(code)) ||
          (L->cols_each && (grow_bytes(&s->cols, &s->cols_bytes, ncl * L->cols_each) ||
                            !(L->cols_ready = cod_calloc(ncl, 1)))))
        return cod_err_set(err, COD_ENOMEM, "out of memory for the coded buffers of %zu workers", L->n);
      L->cx = s->cx, L->res = s->res, L->work = s->work;
      if (L->cols_each) L->cols = s->cols;
    } else {
      L->cx = cod_malloc_array(L->n * L->il, sizeof *L->cx);
      L->res = cod_malloc_array(L->n * L->ol, sizeof *L->res);
      L->work = cod_aligned_alloc(work);
    }
    if (!in->coded_filters) L->ck_own = cod_malloc_array(L->n * L->fk, sizeof *L->ck_own);
    L->ck = in->coded_filters ? in->coded_filters : L->ck_own;
    /* its own encoding is stored class-major where classes share columns */
    L->ck_cm = in->coded_filters ? in->coded_filters_class_major != 0 : L->cols_each != 0;
    if (!L->cx || !L->ck || !L->res || !L->work)
      return cod_err_set(err, COD_ENOMEM, "out of memory for the coded buffers of %zu workers", L->n);
  }
  return COD_OK;
}

/* ---- worst-case stragglers --------------------------------------------------------- */


/* The worst set of this code under the run's search (cached in the scratch when there is
 * one, so a sweep thread searches each code once): *hit points into the scratch, or is
 * tmp, which the caller then releases (cod_cond_search_result_fini(&tmp->st)). */
static int worst_search(const run_config *c, const cod_code *code, run_scratch *s,
                        run_worst_entry *tmp, const run_worst_entry **hit, cod_err *err) {
  const cod_code_params *p = cod_code_params_get(code);
  run_worst_entry key;
  memset(&key, 0, sizeof key);
  key.scheme = cod_code_scheme(code);
  key.n = p->n_workers, key.ka = p->ka, key.kb = p->kb, key.q = p->q;
  key.budget = c->cluster.worst_sets, key.seed = c->run.seed;
  *hit = NULL;
  for (size_t i = 0; s && i < s->n_worst; i++) {
    const run_worst_entry *e = &s->worst[i];
    if (strcmp(e->scheme, key.scheme) == 0 && e->n == key.n && e->ka == key.ka &&
        e->kb == key.kb && e->q == key.q && e->budget == key.budget && e->seed == key.seed)
      return *hit = e, COD_OK;
  }
  /* exhaustive when all C(n, delta) sets fit the count, else `budget` sampled sets; no
   * time budget, so the rows depend on the scenario and seed only */
  cod_cond_search_opts so = cod_cond_search_opts_default();
  so.budget_s = INFINITY, so.max_exhaustive = (double)key.budget, so.samples = key.budget;
  so.seed = key.seed;
  int rc = cod_code_cond_search(code, &so, &key.st, err);
  if (rc) return rc;
  if (!s) {
    *tmp = key;
    return *hit = tmp, COD_OK;
  }
  if (s->n_worst == s->cap_worst) {
    size_t cap = s->cap_worst ? 2 * s->cap_worst : 8;
    run_worst_entry *t = cod_realloc(s->worst, cap * sizeof *t);
    if (!t) {
      cod_cond_search_result_fini(&key.st);
      return cod_err_set(err, COD_ENOMEM, "out of memory caching a worst set");
    }
    s->worst = t, s->cap_worst = cap;
  }
  s->worst[s->n_worst++] = key;
  *hit = &s->worst[s->n_worst - 1];
  return COD_OK;
}

/* stragglers = worst: the worst set into out->worst_* and the workers that return. */
static int worst_set_find(layer_ctx *L, cod_err *err) {
  run_worst_entry tmp;
  const run_worst_entry *hit;
  int rc = worst_search(L->in->cfg, L->code, L->in->scratch, &tmp, &hit, err);
  if (rc) return rc;
  run_layer_out *o = L->out;
  o->n_worst = L->delta;
  memcpy(o->worst_set, hit->st.worst_set, L->delta * sizeof *o->worst_set);
  o->worst_cond = hit->st.worst;
  o->worst_sets_tried = hit->st.sets_tried;
  o->worst_exhaustive = hit->st.exhaustive;
  memset(L->in_worst, 0, sizeof L->in_worst);
  for (size_t i = 0; i < L->delta; i++) L->in_worst[o->worst_set[i]] = 1;
  if (hit == &tmp) cod_cond_search_result_fini(&tmp.st); /* no scratch to keep it */
  return COD_OK;
}

int run_worst_cond(const run_config *c, const cod_code *code, run_scratch *s, double *cond,
                   cod_err *err) {
  run_worst_entry tmp;
  const run_worst_entry *hit;
  int rc = worst_search(c, code, s, &tmp, &hit, err);
  if (rc) return rc;
  *cond = hit->st.worst;
  if (hit == &tmp) cod_cond_search_result_fini(&tmp.st);
  return COD_OK;
}

/* [run] cond = worst: the worst set's condition number of the code, *cond. */
static int worst_cond(layer_ctx *L, double *cond, cod_err *err) {
  if (L->out->n_worst) return *cond = L->out->worst_cond, COD_OK; /* stragglers = worst */
  return run_worst_cond(L->in->cfg, L->code, L->in->scratch, cond, err);
}

/* Columns per worker GEMM below which gathering a class's filters does not pay: the copy
 * costs about 1/columns of its multiply-adds (measured on AlexNet: conv1 and conv2 at 4x4
 * and conv3-5 at 1x16 gain, conv3-5 at 4x4, 52 columns, lose). Class-major filters need no
 * gathering for adjacent workers: below this width their layer takes the class GEMMs by
 * runs of adjacent workers (conv3-5 at 4x4: 1.43-1.52x the layer's convolution against
 * 1.51-1.60 per worker, side by side), and only filters by worker keep the per-result path. */
#define RUN_DEFER_MIN_COLS 128

/* Defer the numbers to the decode (GEMMs per input class: deferred_numbers) where that
 * gives the same numbers and outcome as computing each result on arrival: fp64 im2col
 * workers with shared columns, classes of more than one worker, filters class-major or
 * worker GEMMs of RUN_DEFER_MIN_COLS columns, and a bound on every result far below overflow,
 * so that no worker can be a numeric failure (each |value| <= C*KH*KW * max|coded x| *
 * max|coded k|, and with noise its square summed over a result stays finite). fp32 stays
 * per worker: sgemm's sums change with the number of rows. */
static int defer_setup(layer_ctx *L, cod_err *err) {
  const run_layer_in *in = L->in;
  const cod_conv_geom *wg = cod_code_worker_geom(L->code);
  const cod_conv_geom *g = &cod_code_partition(L->code)->layer;
  size_t ncl = cod_code_input_classes(L->code);
  size_t cols = cod_code_slabs_per_worker(L->code) * cod_conv_out_h(wg) * cod_conv_out_w(wg);
  if (!L->cols || in->cfg->run.precision != RUN_FP64 || !(in->filter_max_abs > 0) ||
      ncl == L->n || (cols < RUN_DEFER_MIN_COLS && !L->ck_cm))
    return COD_OK;
  double xmax = 0;
  const size_t xlen = cod_conv_input_len(g);
  for (size_t i = 0; i < xlen && !isnan(xmax); i++) { /* NaN sticks */
    double v = fabs(in->x[i]);
    if (!(v <= xmax)) xmax = v;
  }
  double bound = (double)(wg->c * wg->kh * wg->kw) * xmax * cod_code_input_gain(L->code) *
                 in->filter_max_abs * cod_code_filter_gain(L->code) *
                 (double)cod_code_worker_output_len(L->code);
  if (!(bound < 1e150)) return COD_OK; /* NaN or Inf in x, or too close to overflow */
  size_t most = 0; /* the largest class */
  for (size_t cl = 0; cl < ncl; cl++) {
    size_t m = 0;
    for (size_t j = 0; j < L->n; j++) m += cod_code_input_class(L->code, j) == cl;
    most = m > most ? m : most;
  }
  run_scratch *s = in->scratch;
  size_t need = cod_code_workers_cols_workspace_bytes(L->code, COD_F64, most);
  if (grow_bytes(&s->work, &s->work_bytes, need) ||
      !(L->pending = cod_calloc(L->n, 1)))
    return cod_err_set(err, COD_ENOMEM, "out of memory for the coded buffers of %zu workers", L->n);
  /* which stacks of a class's workers the BLAS sums as each worker alone (once per shape) */
  int prc = cod_code_workers_cols_probe(L->code, COD_F64, most, err);
  if (prc) return prc;
  L->work = s->work;
  L->defer = 1;
  L->gather = cols >= RUN_DEFER_MIN_COLS;
  return COD_OK;
}

/* The layer's own coded filters (no cache), reordered class-major when ck_cm says so. */
static int encode_own_filters(layer_ctx *L, cod_err *err) {
  int rc = cod_code_encode_filters_form(L->code, L->form, L->in->k, L->ck_own, err);
  if (!rc && L->ck_cm) cod_code_permute_class_major(L->code, L->ck_own, L->fk);
  return rc;
}

cod_conv_algo run_layer_filter_form(const run_config *c, const cod_code *code) {
  if (c->run.conv_algo != RUN_CONV_AUTO || c->run.compute != RUN_COMPUTE_REAL ||
      c->run.precision != RUN_FP64 || run_alloc_applies(c))
    return COD_CONV_IM2COL;
  /* it beats im2col's shared columns too (AlexNet conv3-5 at 4x4, classes of 4 workers:
   * 8.8 against 11.4-12.1 ms for conv4's 16 workers; at 1x16, one class, about even) */
  return cod_code_filter_form_choose(code, COD_F64);
}

int run_layer_execute(const run_layer_in *in, run_layer_out *out, cod_err *err) {
  if (run_alloc_applies(in->cfg)) return run_alloc_layer_execute(in, out, err);
  layer_ctx L;
  memset(&L, 0, offsetof(layer_ctx, arrived));
  out_clear(out);
  out->cond = NAN;
  out->status = RES_STATUS_ERROR;
  out->t_start_s = sim_time_to_s(sim_engine_now(in->engine));
  int rc = ctx_init(&L, in, out, err);
  if (!rc && in->cfg->cluster.stragglers == RUN_STRAGGLERS_WORST) rc = worst_set_find(&L, err);
  if (rc) goto done;
  trace(&L, "layer_start", -1);
  if (!still_possible(&L)) { /* storage refusals alone make it impossible */
    finish(&L, RES_STATUS_INFEASIBLE_STORAGE);
    goto done;
  }
  double wall = 0, c0 = L.real ? cod_clock_thread_cpu_s() : 0.0; /* model mode: no encoding */
  if (L.real) {
    double w0 = cod_clock_wall_s();
    if (L.lazy) {
      cod_code_split_input(L.code, in->x, L.pieces);
      cod_code_split_filters_form(L.code, L.form, in->k, L.groups);
    } else if (in->scratch && L.by_class) /* each distinct coded input once */
      cod_code_encode_input_classes_work(L.code, in->x, L.cx, in->scratch->ework);
    else if (in->scratch)
      cod_code_encode_input_work(L.code, in->x, L.cx, in->scratch->ework);
    else if ((rc = cod_code_encode_input(L.code, in->x, L.cx, err)))
      goto done;
    if (L.ck_own && (rc = encode_own_filters(&L, err))) goto done;
    wall = cod_clock_wall_s() - w0 + (L.ck_own ? 0.0 : in->coded_filters_wall_s);
  }
  out->cpu_encode_s = L.real ? cod_clock_thread_cpu_s() - c0 : 0.0;
  if (L.real && !rc && (rc = defer_setup(&L, err))) goto done;
  out->t_encode_s = master_time(&L, cod_code_encode_flops(L.code), wall);
  schedule_after_s(&L, out->t_encode_s, ev_encoded, &L);
  while (!L.done && !L.rc && sim_engine_step(L.e)) {
    /* a NIC that could not deliver within the horizon stopped the engine */
    if (sim_nic_status(L.nic_up) == COD_EINVAL || sim_nic_status(L.nic_down) == COD_EINVAL)
      fail_outcome(&L, RUN_MSG_HORIZON);
  }
  if (L.rc) {
    rc = L.rc;
    goto done;
  }
  if (!L.done) { /* nothing left to happen and still not decodable */
    cancel_rest(&L, RES_WORKER_CANCELLED);
    finish(&L, RES_STATUS_UNDECODABLE);
  }
done:
  /* a layer that ended without decoding still draws its arrived workers' noise, as when
   * each result was computed on arrival (the streams go on to the next layer) */
  if (!rc && L.defer) deferred_numbers(&L);
  /* drop this layer's leftovers so the next layer starts from a clean engine */
  if (L.deadline_ev) sim_engine_cancel(L.e, L.deadline_ev);
  for (size_t j = 0; L.ws && j < L.n; j++) {
    if (L.ws[j].ev) sim_engine_cancel(L.e, L.ws[j].ev);
    if (L.ws[j].xfer) sim_nic_cancel(L.ws[j].xfer_nic, L.ws[j].xfer);
  }
  ctx_free(&L);
  if (rc) run_layer_out_fini(out);
  return rc;
}
