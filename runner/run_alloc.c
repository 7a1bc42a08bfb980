/* run_alloc.c: proportional allocation of coded tasks and per-task returns (see
 * run_alloc.h for the policy, the speed of a class and the rounding rule).
 *
 * The layer executor mirrors run_layer.c's protocol with tasks in place of workers: the
 * master encodes N coded tasks (real), uploads each worker's m_j tasks in one transfer
 * (master NIC, then the worker's downlink), the worker computes its tasks in order (one
 * latency draw each, from the worker's own stream, so a worker's draws are the same
 * whatever the return policy), and its results come back in one message (per-worker) or
 * one message per task (per-task). A message's transfer crosses the master's receiving
 * NIC and the worker's uplink; the uplink carries one message at a time, so a message
 * starts on it when both its task is done and the previous message has left, and arrives
 * at max(NIC completion, link completion) + the propagation latency. With one task per
 * worker this is exactly run_layer.c's transfer model. The REAL convolution of a task is
 * evaluated when its result reaches the master; the decoder is handed the arrived task
 * results only (cod_code_decode_work sees the arrived set, nothing else).
 *
 * Records: one per worker (its upload and the compute event of its current task) and one
 * per task (its result message); events carry pointers into these arrays, nothing is
 * allocated per event. A worker that fails (fail-stop draw, fail_workers) loses the
 * tasks it has not yet sent; messages already on the wire still arrive.
 */
#include "run_alloc.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "an_alloc.h"
#include "cod_alloc.h"
#include "cod_clock.h"
#include "cod_registry.h"
#include "cod_tensor.h"
#include "sim_latency.h"
#include "sim_link.h"

/* ---- the allocation ---------------------------------------------------------------- */

size_t run_alloc_coded_workers(const run_config *cfg) {
  return cfg->cluster.allocation == RUN_ALLOC_PROPORTIONAL ? cfg->cluster.tasks
                                                           : cfg->cluster.workers;
}

int run_alloc_applies(const run_config *cfg) {
  return cfg->cluster.allocation == RUN_ALLOC_PROPORTIONAL ||
         cfg->cluster.returns == RUN_RETURNS_PER_TASK;
}

void run_alloc_round(const double *speed, size_t n, size_t total, size_t *counts) {
  double sum = 0.0;
  for (size_t j = 0; j < n; j++) sum += speed[j];
  size_t given = 0;
  for (size_t j = 0; j < n; j++) {
    double share = (double)total * speed[j] / sum;
    counts[j] = (size_t)floor(share);
    if (counts[j] > total) counts[j] = total; /* rounding of a share of total */
    given += counts[j];
  }
  /* The rest, one each, to the largest fractional parts (lowest index on ties). Fewer
   * than n remain; n passes of a linear scan keep this simple and exact. */
  while (given < total) {
    size_t best = n;
    double best_frac = -1.0;
    for (size_t j = 0; j < n; j++) {
      double share = (double)total * speed[j] / sum;
      double frac = share - (double)counts[j];
      if (frac > best_frac) best = j, best_frac = frac;
    }
    assert(best < n);
    counts[best]++, given++;
  }
  while (given > total) { /* only if floating rounding overshot: take from the largest */
    size_t big = 0;
    for (size_t j = 1; j < n; j++)
      if (counts[j] > counts[big]) big = j;
    counts[big]--, given--;
  }
}

int run_alloc_speed(const run_config *cfg, size_t j, double *speed, cod_err *err) {
  run_worker rw;
  int klass = run_config_worker(cfg, j, &rw);
  sim_latency_params p;
  run_latency_sim_params(cfg, &rw.latency, &p);
  const sim_latency_law *law = sim_latency_law_get((size_t)rw.latency.model);
  const char *where = klass < 0 ? "[latency]" : "[class]";
  if (law->traits & SIM_LAT_READS_TRACE)
    return cod_err_set(err, COD_EINVAL, "[cluster] allocation = proportional: %s%s%s model = "
                       "%s has no closed-form mean, so no speed to share tasks by", where,
                       klass < 0 ? "" : " ", klass < 0 ? "" : cfg->classes[klass].name,
                       law->ops->name);
  sim_latency *m = NULL;
  int rc = sim_latency_new_from_params(&p, &m, err);
  if (rc) return rc;
  double mean_s = NAN;
  rc = sim_latency_mean(m, 1.0, &mean_s);
  sim_latency_free(m);
  if (rc || !isfinite(mean_s) || !(mean_s > 0))
    return cod_err_set(err, COD_EINVAL, "[cluster] allocation = proportional: the latency law "
                       "%s of %s%s%s has no finite positive mean, so no speed to share tasks by",
                       law->ops->name, where, klass < 0 ? "" : " ",
                       klass < 0 ? "" : cfg->classes[klass].name);
  *speed = rw.compute_rate_flops / mean_s;
  return COD_OK;
}

int run_alloc_counts(const run_config *cfg, size_t *counts, cod_err *err) {
  const size_t n = cfg->cluster.workers;
  if (cfg->cluster.allocation != RUN_ALLOC_PROPORTIONAL) {
    for (size_t j = 0; j < n; j++) counts[j] = 1;
    return COD_OK;
  }
  double *speed = cod_malloc_array(n, sizeof *speed);
  if (!speed) return cod_err_set(err, COD_ENOMEM, "out of memory");
  int rc = COD_OK;
  for (size_t j = 0; !rc && j < n; j++) rc = run_alloc_speed(cfg, j, &speed[j], err);
  if (!rc) run_alloc_round(speed, n, cfg->cluster.tasks, counts);
  double sum = 0.0;
  for (size_t j = 0; !rc && j < n; j++) sum += speed[j];
  for (size_t j = 0; !rc && j < n; j++)
    if (counts[j] == 0) {
      run_worker rw;
      rc = cod_err_set(err, COD_EINVAL, "[cluster] tasks = %zu: worker %zu (class %s) would get "
                       "no task (its share is %.3g tasks); raise tasks", cfg->cluster.tasks, j,
                       run_class_name(cfg, run_config_worker(cfg, j, &rw)),
                       (double)cfg->cluster.tasks * speed[j] / sum);
    }
  cod_free(speed);
  return rc;
}

int run_alloc_task_storage_bytes(const run_config *cfg, double *out, cod_err *err) {
  const size_t n = cfg->cluster.workers;
  size_t *counts = cod_malloc_array(n ? n : 1, sizeof *counts);
  if (!counts) return cod_err_set(err, COD_ENOMEM, "out of memory");
  int rc = run_alloc_counts(cfg, counts, err);
  double least = INFINITY;
  for (size_t j = 0; !rc && j < n; j++) {
    run_worker rw;
    run_config_worker(cfg, j, &rw);
    least = fmin(least, rw.storage_bytes / (double)counts[j]);
  }
  cod_free(counts);
  if (!rc) *out = least;
  return rc;
}

int run_alloc_validate(const run_config *cfg, cod_err *err) {
  const size_t n = cfg->cluster.workers, N = cfg->cluster.tasks;
  if (cfg->cluster.allocation != RUN_ALLOC_PROPORTIONAL) {
    /* tasks is read by proportional only (as exact codes ignore approx_wait), so one file
     * can sweep allocation = equal, proportional with tasks set */
    if (cfg->cluster.returns != RUN_RETURNS_PER_TASK) return COD_OK;
  } else {
    if (N == 0)
      return cod_err_set(err, COD_EINVAL, "[cluster] allocation = proportional needs [cluster] "
                         "tasks (the coded tasks in all, > workers = %zu)", n);
    if (N <= n)
      return cod_err_set(err, COD_EINVAL, "[cluster] tasks = %zu must exceed [cluster] "
                         "workers = %zu under allocation = proportional", N, n);
    cod_err lim = {0};
    if (cod_scheme_check_workers(cfg->coding.scheme, N, &lim))
      return cod_err_set(err, COD_EINVAL, "[cluster] tasks = %zu: the code is planned for %zu "
                         "coded tasks: %s", N, N, lim.msg);
  }
  const char *what = cfg->cluster.allocation == RUN_ALLOC_PROPORTIONAL
                         ? "allocation = proportional" : "returns = per-task";
  if (cfg->cluster.stragglers == RUN_STRAGGLERS_WORST)
    return cod_err_set(err, COD_EINVAL, "[cluster] %s and stragglers = worst: the worst set "
                       "is a set of workers, not of tasks; use stragglers = random", what);
  const cod_scheme_info *sch = cod_scheme_find(cfg->coding.scheme, NULL);
  if (sch && sch->approximate)
    return cod_err_set(err, COD_EINVAL, "[cluster] %s needs an exact code: scheme %s is "
                       "approximate (its approx_wait counts workers)", what, sch->name);
  if (cfg->cluster.allocation != RUN_ALLOC_PROPORTIONAL) return COD_OK;
  size_t *counts = cod_malloc_array(n, sizeof *counts);
  if (!counts) return cod_err_set(err, COD_ENOMEM, "out of memory");
  int rc = run_alloc_counts(cfg, counts, err);
  cod_free(counts);
  return rc;
}

/* ---- the analytic prediction ------------------------------------------------------ */

/* The cached prediction of scratch: the inputs (n workers, threshold, per_task) then
 * the result. 1 and *t if they are the same inputs. */
typedef struct an_cache_head {
  size_t n, threshold;
  int per_task;
  double t;
} an_cache_head;

static int an_cache_get(const run_scratch *s, const an_alloc_worker *w, const an_cache_head *h,
                        double *t) {
  if (!s || !s->alloc_an || s->alloc_an_bytes != sizeof *h + h->n * sizeof *w) return 0;
  const an_cache_head *c = s->alloc_an;
  if (c->n != h->n || c->threshold != h->threshold || c->per_task != h->per_task ||
      memcmp(c + 1, w, h->n * sizeof *w) != 0)
    return 0;
  *t = c->t;
  return 1;
}

static void an_cache_put(run_scratch *s, const an_alloc_worker *w, const an_cache_head *h) {
  if (!s) return;
  size_t bytes = sizeof *h + h->n * sizeof *w;
  an_cache_head *c = cod_malloc(bytes);
  if (!c) return; /* no cache: the next call integrates again */
  *c = *h;
  memcpy(c + 1, w, h->n * sizeof *w);
  cod_free(s->alloc_an);
  s->alloc_an = c, s->alloc_an_bytes = bytes;
}

int run_alloc_an_latency(const run_config *cfg, const cod_code *code, run_scratch *scratch,
                         double *out_s) {
  const size_t n = cfg->cluster.workers;
  if (isfinite(cfg->network.master_bps) || cfg->failures.n_fail_workers ||
      !(cfg->master.timing == RUN_TIMING_MODEL || cfg->run.compute == RUN_COMPUTE_MODEL))
    return 0;
  /* MDS: the scheme's own threshold is its only rule (uncoded waits for all, replication
   * for one copy of each part: not any-threshold-many) */
  const cod_scheme_info *sch = cod_scheme_find(cod_code_scheme(code), NULL);
  if (!sch || sch->pair != COD_PAIR_FREE || sch->approximate) return 0;
  an_alloc_worker *w = cod_calloc(n, sizeof *w); /* zeroed: compared bytewise */
  size_t *counts = cod_malloc_array(n, sizeof *counts);
  int ok = w && counts && run_alloc_counts(cfg, counts, NULL) == COD_OK;
  const size_t el_up = run_precision_operand_bytes(cfg->run.precision);
  const size_t el_down = run_precision_result_bytes(cfg->run.precision);
  const double up_bytes =
      (double)((cod_code_worker_input_len(code) + cod_code_worker_filter_len(code)) * el_up);
  const double down_bytes = (double)(cod_code_worker_output_len(code) * el_down);
  const double encode_s = cod_code_encode_flops(code) / cfg->master.master_flops;
  for (size_t j = 0; ok && j < n; j++) {
    run_worker rw;
    run_config_worker(cfg, j, &rw);
    sim_latency_params p;
    run_latency_sim_params(cfg, &rw.latency, &p);
    if (strcmp(sim_latency_law_name(p.kind), "shifted-exp") != 0) ok = 0;
    double m = (double)counts[j];
    double up = isfinite(rw.downlink_bps) ? 8.0 * up_bytes * m / rw.downlink_bps : 0.0;
    double ser = isfinite(rw.uplink_bps) ? 8.0 * down_bytes / rw.uplink_bps : 0.0;
    w[j] = (an_alloc_worker){counts[j], encode_s + up + cfg->network.latency_s,
                             2.0 * cod_code_worker_macs(code) / rw.compute_rate_flops, p.shift,
                             p.rate, ser, cfg->network.latency_s};
  }
  double t = NAN;
  an_alloc_opts o = an_alloc_opts_default();
  an_cache_head h = {n, cod_code_threshold(code), cfg->cluster.returns == RUN_RETURNS_PER_TASK,
                     NAN};
  if (ok && !an_cache_get(scratch, w, &h, &t)) {
    ok = an_alloc_expected(w, n, h.threshold, h.per_task, &o, &t, NULL) == COD_OK;
    if (ok) h.t = t, an_cache_put(scratch, w, &h);
  }
  cod_free(w);
  cod_free(counts);
  if (!ok) return 0;
  *out_s = t + cod_code_decode_flops(code) / cfg->master.master_flops;
  return 1;
}

/* ---- the layer ----------------------------------------------------------------------- */

enum { A_IDLE, A_UPLOADING, A_COMPUTING, A_DONE, A_FAILED, A_REFUSED };
enum { T_PENDING, T_COMPUTED, T_SENDING, T_ARRIVED, T_LOST };

typedef struct actx actx;

typedef struct awrk {          /* one physical worker */
  actx *A;
  size_t j, first, m, next;    /* its tasks first .. first + m - 1; next to compute */
  int state;
  run_worker w;
  gsl_rng *rng_noise;
  sim_event_id ev;             /* arrival, compute or failure event */
  sim_xfer_id xfer;            /* its upload on the NIC */
  double t_up0, t_arrive, link_free_s;
  double busy_s;               /* simulated seconds spent computing so far */
} awrk;

typedef struct atask {         /* one coded task; the last task of a message carries it */
  actx *A;
  size_t t, j;                 /* task id, its worker */
  size_t msg_first, msg_count; /* the tasks this message carries (when it carries one) */
  int state;
  sim_event_id ev;             /* arrival of the message after its NIC part */
  sim_xfer_id xfer;            /* the message on the NIC */
  double t_comp0, t_comp_end, t_down0, t_link_done, t_result;
} atask;

struct actx {
  const run_layer_in *in;
  run_layer_out *out;
  const cod_code *code;
  sim_engine *e;
  sim_nic *nic_up, *nic_down;
  awrk *ws;
  atask *ts;
  size_t n, N, delta;
  size_t *arrived, n_arrived;  /* task ids in arrival order */
  size_t *alive;               /* scratch for still_possible */
  int done, rc, real, per_task;
  cod_err *err;
  double *cx, *res;
  double *ck_own;
  const double *ck;
  void *work;
  size_t il, fl, ol, el_up, el_down;
};

static double a_now(const actx *A) { return sim_time_to_s(sim_engine_now(A->e)); }

static void a_trace(actx *A, const char *kind, long worker) {
  run_layer_out *o = A->out;
  if (!A->in->trace || A->rc) return;
  if (o->n_trace == o->cap_trace) {
    size_t cap = o->cap_trace ? 2 * o->cap_trace : 64;
    run_trace_ev *t = cod_realloc(o->trace, cap * sizeof *t);
    if (!t) {
      A->rc = cod_err_set(A->err, COD_ENOMEM, "out of memory for the event trace");
      sim_engine_stop(A->e);
      return;
    }
    o->trace = t, o->cap_trace = cap;
  }
  o->trace[o->n_trace++] = (run_trace_ev){sim_engine_now(A->e), kind, worker};
}

static void a_fail(actx *A, int rc) {
  if (!A->rc) A->rc = rc;
  sim_engine_stop(A->e);
}

static double a_master_time(const actx *A, double flops, double wall_s) {
  const run_config *c = A->in->cfg;
  if (c->master.timing == RUN_TIMING_MEASURED && A->real) return wall_s * c->master.speed_factor;
  return flops / c->master.master_flops;
}

static void a_cancel_rest(actx *A) {
  for (size_t j = 0; j < A->n; j++) {
    awrk *w = &A->ws[j];
    if (w->state == A_COMPUTING && w->ev) { /* its current task is cut short */
      w->busy_s += a_now(A) - A->ts[w->first + w->next].t_comp0;
      w->state = A_DONE;
    }
    if (w->ev) sim_engine_cancel(A->e, w->ev), w->ev = 0;
    if (w->xfer) sim_nic_cancel(A->nic_up, w->xfer), w->xfer = 0;
  }
  for (size_t t = 0; t < A->N; t++) {
    atask *k = &A->ts[t];
    if (k->ev) sim_engine_cancel(A->e, k->ev), k->ev = 0;
    if (k->xfer) sim_nic_cancel(A->nic_down, k->xfer), k->xfer = 0;
  }
}

static void a_finish(actx *A, const char *status) {
  A->done = 1;
  A->out->status = status;
  A->out->t_end_s = a_now(A);
}

/* The worker rows once the layer ended: used if any of its task results was used. */
static void a_rows_close(actx *A) {
  run_layer_out *o = A->out;
  for (size_t j = 0; j < A->n; j++) {
    awrk *w = &A->ws[j];
    res_worker_row *r = &o->workers[j];
    if (w->state == A_REFUSED) continue;
    if (!isnan(w->t_arrive)) r->t_busy_s = w->busy_s; /* NaN while its data never arrived */
    int arrived = 0;
    for (size_t t = w->first; t < w->first + w->m; t++) arrived |= A->ts[t].state == T_ARRIVED;
    if (r->tasks_used > 0) r->status = RES_WORKER_USED;
    else if (w->state == A_FAILED) r->status = RES_WORKER_FAILED;
    else if (arrived) r->status = RES_WORKER_STRAGGLER;
    else r->status = RES_WORKER_CANCELLED;
  }
}

static void a_outcome(actx *A, const char *status, const char *msg) {
  if (A->done) return;
  a_cancel_rest(A);
  a_finish(A, status);
  if (msg) {
    snprintf(A->out->error_msg, sizeof A->out->error_msg, "%s", msg);
    if (sim_engine_now(A->e) > SIM_TIME_HORIZON_NS) A->out->t_end_s = NAN;
  }
  a_rows_close(A);
  sim_engine_stop(A->e);
}

static int a_schedule_at(actx *A, double t_s, sim_event_fn fn, void *p, sim_event_id *id) {
  sim_time_ns t, now = sim_engine_now(A->e);
  if (sim_time_from_s_checked(t_s, &t) != COD_OK || now > SIM_TIME_HORIZON_NS) {
    a_outcome(A, RES_STATUS_ERROR, RUN_MSG_HORIZON);
    return 1;
  }
  if (t < now) t = now;
  if (sim_engine_schedule_at(A->e, t, fn, p, NULL, id) != COD_OK) {
    a_fail(A, cod_err_set(A->err, COD_ENOMEM, "out of memory scheduling an event"));
    return 1;
  }
  return 0;
}

static int a_schedule_after(actx *A, double delay_s, sim_event_fn fn, void *p) {
  sim_time_ns d, t;
  if (sim_time_from_s_checked(delay_s, &d) != COD_OK ||
      sim_time_add_checked(sim_engine_now(A->e), d, &t) != COD_OK) {
    a_outcome(A, RES_STATUS_ERROR, RUN_MSG_HORIZON);
    return 1;
  }
  if (sim_engine_schedule_at(A->e, t, fn, p, NULL, NULL) != COD_OK) {
    a_fail(A, cod_err_set(A->err, COD_ENOMEM, "out of memory scheduling an event"));
    return 1;
  }
  return 0;
}

static int a_nic_submit(actx *A, sim_nic *nic, uint64_t bytes, sim_event_fn done, void *p,
                        sim_xfer_id *id) {
  int rc = sim_nic_submit(nic, bytes, 0, done, p, NULL, id);
  if (!rc) return 0;
  if (rc == COD_EINVAL || sim_nic_status(nic) == COD_EINVAL)
    a_outcome(A, RES_STATUS_ERROR, RUN_MSG_HORIZON);
  else
    a_fail(A, cod_err_set(A->err, COD_ENOMEM, "out of memory"));
  return 1;
}

static int a_decodable(const actx *A) {
  return cod_code_decodable(A->code, A->arrived, A->n_arrived);
}

/* Could the tasks not lost (arrived, in flight, or still to be computed by a live
 * worker) still decode? */
static int a_still_possible(actx *A) {
  size_t na = 0;
  for (size_t t = 0; t < A->N; t++)
    if (A->ts[t].state != T_LOST && A->ws[A->ts[t].j].state != A_REFUSED) A->alive[na++] = t;
  return cod_code_decodable(A->code, A->alive, na);
}

static cod_dtype a_dtype(int precision) { return precision == RUN_FP64 ? COD_F64 : COD_F32; }

/* The real convolution of task t on its worker's arithmetic (and the worker's noise). */
static int a_task_numbers(actx *A, atask *k) {
  double c0 = cod_clock_thread_cpu_s();
  double *res = A->res + k->t * A->ol;
  const double *xin = A->cx + k->t * A->il, *kin = A->ck + k->t * A->fl;
  int prec = A->in->cfg->run.precision, rc = COD_OK;
  if (prec == RUN_BF16 || prec == RUN_FP16)
    rc = cod_code_worker_compute_half(A->code, prec == RUN_BF16 ? COD_HALF_BF16 : COD_HALF_FP16,
                                      xin, kin, res, A->work, NULL);
  else
    cod_code_worker_compute(A->code, a_dtype(prec), xin, kin, res, A->work);
  if (!rc && isfinite(A->in->cfg->run.snr_db))
    cod_noise_add(res, A->ol, A->in->cfg->run.snr_db, A->ws[k->j].rng_noise);
  A->out->cpu_compute_s += cod_clock_thread_cpu_s() - c0;
  if (!rc && !cod_array_all_finite(res, A->ol)) rc = COD_ENUMERIC;
  return rc;
}

static void ev_decoded(sim_engine *e, void *p) {
  actx *A = p;
  (void)e;
  a_trace(A, "decode_done", -1);
  a_finish(A, RES_STATUS_OK);
}

static void a_decode(actx *A, atask *critical) {
  run_layer_out *o = A->out;
  /* model mode: only condition numbers cost CPU, timed by the cache (run_layer.c) */
  const int timed = A->real || A->in->cfg->run.cond == RUN_COND_WORST;
  double wall = 0, c0 = timed ? cod_clock_thread_cpu_s() : 0.0, cond_cpu = 0.0;
  size_t used_t[COD_WORKERS_MAX], n_used_t = 0;
  int rc;
  if (A->real) {
    const double **res = cod_malloc_array(A->n_arrived, sizeof *res);
    if (!res) return a_fail(A, cod_err_set(A->err, COD_ENOMEM, "out of memory"));
    cod_decode_info info;
    for (size_t i = 0; i < A->n_arrived; i++) res[i] = A->res + A->arrived[i] * A->ol;
    double w0 = cod_clock_wall_s();
    rc = cod_code_decode_work(A->code, A->arrived, A->n_arrived, res,
                              A->in->cfg->run.decode == RUN_DECODE_GENERIC ? COD_DECODE_GENERIC
                                                                            : COD_DECODE_AUTO,
                              A->in->y, &info, A->in->scratch ? A->in->scratch->dwork : NULL,
                              A->err);
    wall = cod_clock_wall_s() - w0;
    cod_free(res);
    if (!rc || rc == COD_ENUMERIC) o->cond = info.cond;
    if (!rc) n_used_t = info.n_used, memcpy(used_t, info.used, info.n_used * sizeof *used_t);
  } else {
    rc = cod_code_select(A->code, A->arrived, A->n_arrived, used_t, &n_used_t, A->err);
    if (!rc && A->in->cfg->run.cond == RUN_COND_USED) { /* run_cache.h: once per set */
      run_scratch *s = A->in->scratch;
      rc = run_cond_cache_get(s ? &s->cond_cache : NULL, A->code, used_t, n_used_t, &o->cond,
                              &cond_cpu, A->err);
      if (!rc && !(o->cond * cod_code_params_get(A->code)->rank_rtol < 1.0)) rc = COD_ENUMERIC;
    }
  }
  /* [run] cond (run_config.h): NULL, or the code's worst set instead of the used one */
  if ((!rc || rc == COD_ENUMERIC) && A->in->cfg->run.cond == RUN_COND_NONE) o->cond = NAN;
  if (!rc && A->in->cfg->run.cond == RUN_COND_WORST)
    rc = run_worst_cond(A->in->cfg, A->code, A->in->scratch, &o->cond, A->err);
  o->cpu_decode_s += timed ? cod_clock_thread_cpu_s() - c0 : cond_cpu;
  if (rc == COD_ENUMERIC) return a_outcome(A, RES_STATUS_ERROR, NULL);
  if (rc) return a_fail(A, rc);
  for (size_t u = 0; u < n_used_t; u++) o->workers[A->ts[used_t[u]].j].tasks_used++;
  /* the workers in the order the decoder first used one of their tasks, as run_layer.c
   * lists the decoder's workers */
  o->n_used = 0;
  for (size_t u = 0; u < n_used_t; u++) {
    size_t j = A->ts[used_t[u]].j, seen = 0;
    for (size_t i = 0; i < o->n_used; i++) seen |= o->used[i] == j;
    if (!seen) o->used[o->n_used++] = j;
  }
  a_cancel_rest(A);
  a_rows_close(A);
  awrk *cw = &A->ws[critical->j];
  o->t_upload_s = cw->t_arrive - cw->t_up0;
  o->t_compute_s = critical->t_comp_end - cw->t_arrive;
  o->t_download_s = critical->t_result - critical->t_down0;
  o->t_decode_s = a_master_time(A, cod_code_decode_flops(A->code), wall);
  a_trace(A, "decode_start", -1);
  a_schedule_after(A, o->t_decode_s, ev_decoded, A);
}

/* A message (tasks msg_first .. +msg_count) reached the master. */
static void ev_message(sim_engine *e, void *p) {
  atask *k = p;
  actx *A = k->A;
  (void)e;
  k->ev = 0;
  res_worker_row *r = &A->out->workers[k->j];
  r->t_finish_s = a_now(A);
  for (size_t t = k->msg_first; t < k->msg_first + k->msg_count; t++) {
    atask *x = &A->ts[t];
    x->t_result = a_now(A), x->t_down0 = k->t_down0;
    if (A->real && a_task_numbers(A, x)) { /* a numeric failure loses this task only */
      x->state = T_LOST;
      A->out->n_numeric++;
      a_trace(A, "worker_numeric_failure", (long)k->j);
      continue;
    }
    x->state = T_ARRIVED;
    A->arrived[A->n_arrived++] = t;
  }
  a_trace(A, "result", (long)k->j);
  if (A->done) return;
  if (a_decodable(A)) return a_decode(A, k);
  if (!a_still_possible(A)) {
    char msg[160];
    snprintf(msg, sizeof msg, "worker %zu returned non-finite values (%s overflow?)", k->j,
             run_config_enum_name("run.precision", A->in->cfg->run.precision));
    if (A->out->n_numeric) a_outcome(A, RES_STATUS_ERROR, msg);
    else a_outcome(A, RES_STATUS_UNDECODABLE, NULL);
  }
}

static void msg_nic_done(sim_engine *e, void *p) {
  atask *k = p;
  actx *A = k->A;
  (void)e;
  k->xfer = 0;
  a_schedule_at(A, fmax(a_now(A), k->t_link_done) + A->in->cfg->network.latency_s, ev_message,
                k, &k->ev);
}

/* Send tasks first .. first + count - 1 of worker w as one message. */
static void a_send(actx *A, awrk *w, size_t first, size_t count) {
  atask *k = &A->ts[first + count - 1];
  k->msg_first = first, k->msg_count = count;
  for (size_t t = first; t < first + count; t++) A->ts[t].state = T_SENDING;
  uint64_t bytes = (uint64_t)(count * A->ol * A->el_down);
  double t0 = fmax(a_now(A), w->link_free_s);
  double ser = isfinite(w->w.uplink_bps) ? (double)bytes * 8.0 / w->w.uplink_bps : 0.0;
  k->t_down0 = a_now(A);
  k->t_link_done = t0 + ser;
  w->link_free_s = k->t_link_done;
  a_nic_submit(A, A->nic_down, bytes, msg_nic_done, k, &k->xfer);
}

static void a_start_task(actx *A, awrk *w);

static void ev_task_done(sim_engine *e, void *p) {
  awrk *w = p;
  actx *A = w->A;
  (void)e;
  w->ev = 0;
  atask *k = &A->ts[w->first + w->next];
  k->t_comp_end = a_now(A);
  w->busy_s += k->t_comp_end - k->t_comp0;
  k->state = T_COMPUTED;
  A->out->workers[w->j].flops += 2.0 * cod_code_worker_macs(A->code);
  a_trace(A, "compute_done", (long)w->j);
  w->next++;
  if (A->per_task) a_send(A, w, k->t, 1);
  else if (w->next == w->m) a_send(A, w, w->first, w->m);
  if (A->done || A->rc) return;
  if (w->next < w->m) a_start_task(A, w);
  else w->state = A_DONE;
}

static void ev_worker_failed(sim_engine *e, void *p) {
  awrk *w = p;
  actx *A = w->A;
  (void)e;
  w->ev = 0;
  if (w->next < w->m) w->busy_s += a_now(A) - A->ts[w->first + w->next].t_comp0;
  w->state = A_FAILED;
  for (size_t t = w->first; t < w->first + w->m; t++)
    if (A->ts[t].state == T_PENDING || A->ts[t].state == T_COMPUTED) A->ts[t].state = T_LOST;
  A->out->workers[w->j].status = RES_WORKER_FAILED;
  a_trace(A, "worker_failed", (long)w->j);
  if (!A->done && !a_still_possible(A)) a_outcome(A, RES_STATUS_UNDECODABLE, NULL);
}

/* Draw the duration of w's next task and schedule its end (or the worker's failure). */
static void a_start_task(actx *A, awrk *w) {
  const run_config *c = A->in->cfg;
  double nominal = 2.0 * cod_code_worker_macs(A->code) / w->w.compute_rate_flops, d, t_fail;
  double t0 = a_now(A);
  A->ts[w->first + w->next].t_comp0 = t0;
  int rc = run_cluster_draw(A->in->cluster, c, w->j, t0, nominal, &d, &t_fail, A->err);
  if (rc) return a_fail(A, rc);
  w->state = A_COMPUTING;
  if (isfinite(t_fail)) a_schedule_at(A, t_fail, ev_worker_failed, w, &w->ev);
  else a_schedule_at(A, t0 + d, ev_task_done, w, &w->ev);
}

static void ev_arrive(sim_engine *e, void *p) {
  awrk *w = p;
  actx *A = w->A;
  (void)e;
  w->ev = 0;
  w->t_arrive = a_now(A);
  a_trace(A, "to_worker_done", (long)w->j);
  a_start_task(A, w);
}

static void up_nic_done(sim_engine *e, void *p) {
  awrk *w = p;
  actx *A = w->A;
  (void)e;
  w->xfer = 0;
  double t = a_now(A);
  uint64_t bytes = (uint64_t)A->out->workers[w->j].bytes_up;
  if (isfinite(w->w.downlink_bps)) t = fmax(t, w->t_up0 + (double)bytes * 8.0 / w->w.downlink_bps);
  a_schedule_at(A, t + A->in->cfg->network.latency_s, ev_arrive, w, &w->ev);
}

static void ev_encoded(sim_engine *e, void *p) {
  actx *A = p;
  (void)e;
  a_trace(A, "encode_done", -1);
  for (size_t j = 0; j < A->n && !A->done && !A->rc; j++) {
    awrk *w = &A->ws[j];
    if (w->state == A_REFUSED) continue;
    w->state = A_UPLOADING;
    w->t_up0 = a_now(A);
    if (a_nic_submit(A, A->nic_up, (uint64_t)A->out->workers[j].bytes_up, up_nic_done, w,
                     &w->xfer))
      return;
  }
}

static void a_ctx_free(actx *A) {
  cod_free(A->ws);
  cod_free(A->ts);
  cod_free(A->arrived);
  cod_free(A->alive);
  cod_free(A->cx);
  cod_free(A->res);
  cod_free(A->work);
  cod_free(A->ck_own);
}

static int a_ctx_init(actx *A, const run_layer_in *in, run_layer_out *out, cod_err *err) {
  const run_config *c = in->cfg;
  A->in = in, A->out = out, A->code = in->code, A->e = in->engine, A->err = err;
  A->n = c->cluster.workers;
  A->N = cod_code_workers(in->code);
  assert(A->N == run_alloc_coded_workers(c));
  A->delta = cod_code_threshold(in->code);
  A->real = c->run.compute == RUN_COMPUTE_REAL;
  A->per_task = c->cluster.returns == RUN_RETURNS_PER_TASK;
  A->el_up = run_precision_operand_bytes(c->run.precision);
  A->el_down = run_precision_result_bytes(c->run.precision);
  A->il = cod_code_worker_input_len(in->code);
  A->fl = cod_code_worker_filter_len(in->code);
  A->ol = cod_code_worker_output_len(in->code);
  run_cluster_nics(in->cluster, &A->nic_up, &A->nic_down);
  A->ws = cod_calloc(A->n, sizeof *A->ws);
  A->ts = cod_calloc(A->N, sizeof *A->ts);
  A->arrived = cod_malloc_array(A->N, sizeof *A->arrived);
  A->alive = cod_malloc_array(A->N, sizeof *A->alive);
  out->workers = cod_calloc(A->n, sizeof *out->workers);
  size_t *counts = cod_malloc_array(A->n, sizeof *counts);
  int rc = COD_OK;
  if (!A->ws || !A->ts || !A->arrived || !A->alive || !out->workers || !counts)
    rc = cod_err_set(err, COD_ENOMEM, "out of memory for %zu tasks", A->N);
  if (!rc) rc = run_alloc_counts(c, counts, err);
  size_t first = 0;
  for (size_t j = 0; !rc && j < A->n; j++) {
    awrk *w = &A->ws[j];
    w->A = A, w->j = j, w->first = first, w->m = counts[j];
    w->t_arrive = NAN;
    first += counts[j];
    int klass = run_config_worker(c, j, &w->w);
    w->rng_noise = run_cluster_noise_rng(in->cluster, j);
    for (size_t t = w->first; t < w->first + w->m; t++)
      A->ts[t] = (atask){A, t, j, t, 1, T_PENDING, 0, 0, NAN, NAN, NAN, NAN, NAN};
    res_worker_row *o = &out->workers[j];
    res_worker_row_init(o);
    o->worker = (int64_t)j;
    o->worker_class = run_class_name(c, klass);
    o->status = RES_WORKER_CANCELLED;
    o->flops = 0.0;
    o->tasks = (int64_t)w->m, o->tasks_used = 0;
    o->bytes_up = (int64_t)(w->m * (A->il + A->fl) * A->el_up);
    o->bytes_down = (int64_t)(w->m * A->ol * A->el_down);
    o->bytes_stored = o->bytes_up;
    /* the whole-model check of runner/run_storage.h when the caller made one (it counts
     * the worker's m_j tasks of every layer), else this layer's m_j tasks against its
     * storage_bytes */
    if (in->storage_refuse ? in->storage_refuse[j] != 0
                           : (double)o->bytes_stored > w->w.storage_bytes) {
      w->state = A_REFUSED;
      o->status = RES_WORKER_REFUSED;
      o->bytes_up = o->bytes_down = o->bytes_stored = 0;
    }
  }
  cod_free(counts);
  if (rc) return rc;
  assert(first == A->N);
  if (A->real) {
    A->cx = cod_malloc_array(A->N * A->il, sizeof *A->cx);
    A->res = cod_malloc_array(A->N * A->ol, sizeof *A->res);
    A->work =
        cod_aligned_alloc(cod_code_worker_workspace_bytes(in->code, a_dtype(c->run.precision)));
    if (!in->coded_filters) A->ck_own = cod_malloc_array(A->N * A->fl, sizeof *A->ck_own);
    A->ck = in->coded_filters ? in->coded_filters : A->ck_own;
    if (!A->cx || !A->res || !A->work || !A->ck)
      return cod_err_set(err, COD_ENOMEM, "out of memory for the coded buffers of %zu tasks", A->N);
    /* a result that never arrived is NaN: a decode that read one could not end `ok` (the
     * runner checks the decoded output is finite), so "decoded from what arrived" is
     * checked by every real run, not only promised */
    for (size_t i = 0; i < A->N * A->ol; i++) A->res[i] = NAN;
  }
  return COD_OK;
}

int run_alloc_layer_execute(const run_layer_in *in, run_layer_out *out, cod_err *err) {
  actx A;
  memset(&A, 0, sizeof A);
  memset(out, 0, sizeof *out);
  out->cond = NAN;
  out->status = RES_STATUS_ERROR;
  out->t_start_s = sim_time_to_s(sim_engine_now(in->engine));
  int rc = a_ctx_init(&A, in, out, err);
  if (rc) goto done;
  a_trace(&A, "layer_start", -1);
  if (!a_still_possible(&A)) { /* storage refusals alone make it impossible */
    a_finish(&A, RES_STATUS_INFEASIBLE_STORAGE);
    goto done;
  }
  double wall = 0, c0 = A.real ? cod_clock_thread_cpu_s() : 0.0; /* model mode: no encoding */
  if (A.real) {
    double w0 = cod_clock_wall_s();
    if ((rc = cod_code_encode_input(A.code, in->x, A.cx, err))) goto done;
    if (A.ck_own && (rc = cod_code_encode_filters(A.code, in->k, A.ck_own, err))) goto done;
    wall = cod_clock_wall_s() - w0 + (A.ck_own ? 0.0 : in->coded_filters_wall_s);
  }
  out->cpu_encode_s = A.real ? cod_clock_thread_cpu_s() - c0 : 0.0;
  out->t_encode_s = a_master_time(&A, cod_code_encode_flops(A.code), wall);
  a_schedule_after(&A, out->t_encode_s, ev_encoded, &A);
  while (!A.done && !A.rc && sim_engine_step(A.e)) {
    if (sim_nic_status(A.nic_up) == COD_EINVAL || sim_nic_status(A.nic_down) == COD_EINVAL)
      a_outcome(&A, RES_STATUS_ERROR, RUN_MSG_HORIZON);
  }
  if (A.rc) {
    rc = A.rc;
    goto done;
  }
  if (!A.done) a_outcome(&A, RES_STATUS_UNDECODABLE, NULL);
done:
  if (A.ws && A.ts) a_cancel_rest(&A);
  a_ctx_free(&A);
  if (rc) run_layer_out_fini(out);
  return rc;
}
