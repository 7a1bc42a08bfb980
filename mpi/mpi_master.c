/* mpi_master.c: rank 0 of the MPI backend: the layer executor behind the run_backend seam
 * behind run_sweep (see mpi_backend.h, mpi_proto.h, docs/decisions/008).
 *
 * Straggling is drawn from the run's own cluster (run_cluster_draw): the same latency
 * models and (seed, trial, worker) streams as the simulator, one draw per worker and layer.
 *
 * One layer: encode the input (wall time = t_encode_s), draw every worker's delay/failure,
 * post one header + coded slabs (+ coded filters when the worker has not cached them) per
 * worker with MPI_Isend and one MPI_Irecv per worker for its result, then poll both sets
 * with MPI_Testsome, sleeping poll_s between polls, until the arrived results are
 * decodable (decode: t_decode_s), or wait_s has passed (undecodable). Pending receives are
 * cancelled and the unfinished workers are told to CANCEL; results that still arrive later
 * carry an older tag and are drained and dropped by every later poll. Times of the
 * critical worker (the arrival that made the layer decodable): upload = until the master's
 * sends to it completed (MPI semantics: buffered for small messages), compute = the
 * worker's own wall time including the injected delay, download = the rest of the time
 * until its result arrived. So upload + download is the communication time of the
 * critical worker, which is what `fcdcc calibrate` fits.
 */
#include "mpi_backend.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mpi.h>

#include "cod_alloc.h"
#include "cod_clock.h"
#include "cod_code.h"
#include "cod_registry.h"
#include "mpi_proto.h"
#include "res_db.h"
#include "run_alloc.h"
#include "run_exec.h"
#include "sim_engine.h"
#include "sim_latency.h"
#include "sim_rng.h"

typedef struct mirror {           /* what a worker has in its filter cache */
  uint64_t keys[MPIB_CACHE];
  int valid[MPIB_CACHE];
  size_t next;
} mirror;

typedef struct master {
  mpi_opts mo;
  size_t n;                        /* workers = world size - 1 */
  int64_t seq;                     /* next layer sequence number */
  /* per worker */
  mirror *mir;
  mpi_hdr *hdr;
  MPI_Request *sreq, *rreq;        /* 3 per worker (hdr, x, k); 1 per worker */
  int *sleft;                      /* sends of a worker not yet complete */
  double *t_up, *t_arr, *w_wall, *w_cpu, *delay;
  int *fail, *got, *refused;
  int *idx;
  /* buffers (grow-only) */
  double *cx, *res, *trash;
  float *f32x, *f32k;
  void *ework, *dwork;
  size_t cx_b, res_b, trash_b, f32x_b, f32k_b, ework_b, dwork_b;
  /* 1 once a send could not complete within the wait: its buffer may still be read by
   * MPI, so no send buffer is freed any more and the caller aborts the job */
  int stuck;
} master;


mpi_opts mpi_opts_default(void) {
  mpi_opts o = {MPI_BACKEND_WAIT_S, MPI_BACKEND_POLL_S, 1};
  return o;
}

/* ---- MPI start and stop ----------------------------------------------------------- */

int mpi_world_start(int *argc, char ***argv, int *rank, int *size, cod_err *err) {
  int provided = 0;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
    return cod_err_set(err, COD_EINVAL, "MPI_Init failed (run the program under mpirun)");
  if (provided < MPI_THREAD_SERIALIZED) {
    MPI_Finalize();
    return cod_err_set(err, COD_EINVAL, "this MPI library does not allow MPI calls from a "
                       "thread other than main (MPI_THREAD_SERIALIZED); the sweep needs it");
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, rank);
  MPI_Comm_size(MPI_COMM_WORLD, size);
  return COD_OK;
}

void mpi_world_stop(void) { MPI_Finalize(); }

void mpi_world_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }


/* ---- messages ------------------------------------------------------------------------ */

/* Receive and drop every result of an earlier layer that has arrived (their receives were
 * cancelled), so that a worker blocked sending one can go on. */
static int drain_stale(master *M, int keep_tag, cod_err *err) {
  for (;;) {
    int flag = 0, count = 0;
    MPI_Status st;
    if (MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st) != MPI_SUCCESS)
      return cod_err_set(err, COD_EIO, "MPI probe failed");
    if (!flag || st.MPI_TAG < MPIB_TAG_RES0 || st.MPI_TAG == keep_tag) return COD_OK;
    MPI_Get_count(&st, MPI_DOUBLE, &count);
    if (mpib_grow((void **)&M->trash, &M->trash_b, (size_t)count * sizeof(double)))
      return cod_err_set(err, COD_ENOMEM, "out of memory");
    if (MPI_Recv(M->trash, count, MPI_DOUBLE, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE) != MPI_SUCCESS)
      return cod_err_set(err, COD_EIO, "MPI receive failed");
  }
}

static uint64_t fnv1a(const void *p, size_t len) {
  const unsigned char *b = p;
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < len; i++) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

/* Cache slot of key on worker j's mirror; *send = 1 if the filters must travel. */
static int64_t cache_slot(master *M, size_t j, uint64_t key, int *send) {
  mirror *m = &M->mir[j];
  if (!M->mo.cache_filters) return *send = 1, 0;
  for (size_t s = 0; s < MPIB_CACHE; s++)
    if (m->valid[s] && m->keys[s] == key) return *send = 0, (int64_t)s;
  size_t s = m->next++ % MPIB_CACHE;
  m->keys[s] = key, m->valid[s] = 1;
  *send = 1;
  return (int64_t)s;
}

static void fill_header(master *M, const run_layer_in *in, size_t j, int64_t seq, mpi_hdr *h) {
  const cod_code_params *p = cod_code_params_get(in->code);
  const cod_conv_geom *g = &cod_code_partition(in->code)->layer;
  memset(h, 0, sizeof *h);
  h->cmd = MPIB_CMD_LAYER, h->seq = seq;
  strncpy(h->scheme, p->scheme, sizeof h->scheme - 1);
  h->n_workers = (int64_t)p->n_workers, h->ka = (int64_t)p->ka, h->kb = (int64_t)p->kb;
  h->q = (int64_t)p->q, h->axis = (int64_t)p->axis, h->rank_rtol = p->rank_rtol;
  int64_t geom[8] = {(int64_t)g->c, (int64_t)g->h, (int64_t)g->w, (int64_t)g->n_filters,
                     (int64_t)g->kh, (int64_t)g->kw, (int64_t)g->stride, (int64_t)g->pad};
  memcpy(h->geom, geom, sizeof geom);
  h->precision = in->cfg->run.precision == RUN_FP32;
  h->delay_s = M->delay[j], h->fail = M->fail[j];
  h->snr_db = in->cfg->run.snr_db;
  h->seed = in->cfg->run.seed, h->trial = run_cluster_trial(in->cluster);
  h->run_serial = run_cluster_serial(in->cluster);
}

/* ---- one layer ----------------------------------------------------------------------- */

static void ev_noop(sim_engine *e, void *p) { (void)e, (void)p; }


static int still_possible(const master *M, const cod_code *code) {
  size_t alive[COD_WORKERS_MAX], na = 0;
  for (size_t j = 0; j < M->n; j++)
    if (!M->refused[j]) alive[na++] = j;
  return cod_code_decodable(code, alive, na);
}

typedef struct layer_geo {
  size_t il, fl, ol, rl;           /* input, filter, output lengths; result message length */
  int f32;
} layer_geo;

/* Post the header, data and result receive of every worker that takes part. */
static int post_all(master *M, const run_layer_in *in, const double *ck, const layer_geo *G,
                    int64_t seq, cod_err *err) {
  for (size_t j = 0; j < M->n; j++) {
    M->sreq[3 * j] = M->sreq[3 * j + 1] = M->sreq[3 * j + 2] = MPI_REQUEST_NULL;
    M->rreq[j] = MPI_REQUEST_NULL;
    M->sleft[j] = 0;
    M->t_up[j] = M->t_arr[j] = M->w_wall[j] = M->w_cpu[j] = 0;
    if (M->refused[j]) continue;
    mpi_hdr *h = &M->hdr[j];
    fill_header(M, in, j, seq, h);
    const double *kj = ck + j * G->fl;
    int send = 0;
    h->filt_key = fnv1a(kj, G->fl * sizeof *kj) ^ (uint64_t)G->fl;
    h->cache_slot = cache_slot(M, j, h->filt_key, &send);
    h->send_filters = send;
    int dest = (int)j + 1, ok = MPI_SUCCESS;
    ok |= MPI_Isend(h, (int)sizeof *h, MPI_BYTE, dest, MPIB_TAG_CTRL, MPI_COMM_WORLD, &M->sreq[3 * j]);
    if (G->f32) {
      float *fx = M->f32x + j * G->il, *fk = M->f32k + j * G->fl;
      for (size_t i = 0; i < G->il; i++) fx[i] = (float)M->cx[j * G->il + i];
      ok |= MPI_Isend(fx, (int)G->il, MPI_FLOAT, dest, MPIB_TAG_X, MPI_COMM_WORLD, &M->sreq[3 * j + 1]);
      if (send) {
        for (size_t i = 0; i < G->fl; i++) fk[i] = (float)kj[i];
        ok |= MPI_Isend(fk, (int)G->fl, MPI_FLOAT, dest, MPIB_TAG_K, MPI_COMM_WORLD, &M->sreq[3 * j + 2]);
      }
    } else {
      ok |= MPI_Isend(M->cx + j * G->il, (int)G->il, MPI_DOUBLE, dest, MPIB_TAG_X, MPI_COMM_WORLD,
                      &M->sreq[3 * j + 1]);
      if (send)
        ok |= MPI_Isend((void *)kj, (int)G->fl, MPI_DOUBLE, dest, MPIB_TAG_K, MPI_COMM_WORLD,
                        &M->sreq[3 * j + 2]);
    }
    ok |= MPI_Irecv(M->res + j * G->rl, (int)G->rl, MPI_DOUBLE, dest, mpi_res_tag(seq),
                    MPI_COMM_WORLD, &M->rreq[j]);
    if (ok != MPI_SUCCESS) return cod_err_set(err, COD_EIO, "MPI send to worker %zu failed", j);
    M->sleft[j] = 2 + send;
  }
  return COD_OK;
}

/* Pending sends: note completions. */
static int poll_sends(master *M, double t0, cod_err *err) {
  int outc = 0;
  if (MPI_Testsome((int)(3 * M->n), M->sreq, &outc, M->idx, MPI_STATUSES_IGNORE) != MPI_SUCCESS)
    return cod_err_set(err, COD_EIO, "MPI send failed");
  for (int i = 0; outc != MPI_UNDEFINED && i < outc; i++) {
    size_t j = (size_t)M->idx[i] / 3;
    if (--M->sleft[j] == 0) M->t_up[j] = cod_clock_wall_s() - t0;
  }
  return COD_OK;
}

/* Stop the layer: cancel pending receives, tell unfinished workers to CANCEL, and wait
 * (bounded) until every send has left. */
static int layer_cleanup(master *M, int64_t seq, cod_err *err) {
  int rc = COD_OK;
  for (size_t j = 0; j < M->n; j++) {
    if (M->rreq[j] == MPI_REQUEST_NULL) continue;
    MPI_Cancel(&M->rreq[j]);
    MPI_Wait(&M->rreq[j], MPI_STATUS_IGNORE);
    mpi_hdr c;
    memset(&c, 0, sizeof c);
    c.cmd = MPIB_CMD_CANCEL, c.seq = seq;
    if (MPI_Send(&c, (int)sizeof c, MPI_BYTE, (int)j + 1, MPIB_TAG_CTRL, MPI_COMM_WORLD) != MPI_SUCCESS)
      rc = cod_err_set(err, COD_EIO, "MPI send to worker %zu failed", j);
  }
  double t0 = cod_clock_wall_s();
  for (;;) {
    int done = 0;
    if (MPI_Testall((int)(3 * M->n), M->sreq, &done, MPI_STATUSES_IGNORE) != MPI_SUCCESS)
      return cod_err_set(err, COD_EIO, "MPI send failed");
    if (done) break;
    if (cod_clock_wall_s() - t0 > M->mo.wait_s) {
      for (size_t i = 0; i < 3 * M->n; i++)
        if (M->sreq[i] != MPI_REQUEST_NULL) MPI_Cancel(&M->sreq[i]);
      M->stuck = 1;
      return cod_err_set(err, COD_EIO, "a worker did not take its data within %g s",
                         M->mo.wait_s);
    }
    if ((rc = drain_stale(M, -1, err))) return rc;
    mpib_nap(M->mo.poll_s);
  }
  return rc;
}

static int grow_buffers(master *M, const cod_code *code, const layer_geo *G, cod_err *err) {
  size_t n = M->n;
  if (mpib_grow((void **)&M->cx, &M->cx_b, n * G->il * sizeof(double)) ||
      mpib_grow((void **)&M->res, &M->res_b, n * G->rl * sizeof(double)) ||
      mpib_grow(&M->ework, &M->ework_b, cod_code_encode_workspace_bytes(code)) ||
      mpib_grow(&M->dwork, &M->dwork_b, cod_code_decode_workspace_bytes(code)) ||
      (G->f32 && (mpib_grow((void **)&M->f32x, &M->f32x_b, n * G->il * sizeof(float)) ||
                  mpib_grow((void **)&M->f32k, &M->f32k_b, n * G->fl * sizeof(float)))))
    return cod_err_set(err, COD_ENOMEM, "out of memory for the coded buffers of %zu workers", n);
  return COD_OK;
}

/* Draw each worker's straggling delay and failure for this layer at simulated time t_s.
 * *beyond is set when a returning worker's draw ends beyond the simulation horizon (the
 * simulator's outcome RUN_MSG_HORIZON; no process is asked to sleep that long). */
static int draw_delays(master *M, const run_layer_in *in, double t_s, int *beyond, cod_err *err) {
  const run_config *c = in->cfg;
  double flops = 2.0 * cod_code_worker_macs(in->code);
  for (size_t j = 0; j < M->n; j++) {
    M->fail[j] = 0, M->delay[j] = 0;
    if (M->refused[j]) continue;
    run_worker rw;
    run_config_worker(c, j, &rw);
    double nominal = flops / rw.compute_rate_flops, d, t_fail;
    int rc = run_cluster_draw(in->cluster, c, j, t_s, nominal, &d, &t_fail, err);
    if (rc) return rc;
    M->fail[j] = isfinite(t_fail); /* lost at any time: it never answers here */
    M->delay[j] = M->fail[j] ? 0.0 : fmax(0.0, d - nominal);
    if (!M->fail[j] && !(t_s + d <= SIM_TIME_HORIZON_S)) *beyond = 1;
  }
  return COD_OK;
}

static int decode_now(master *M, const run_layer_in *in, const layer_geo *G, const size_t *arr,
                      size_t na, run_layer_out *out, double *wall, cod_err *err) {
  const double *res[COD_WORKERS_MAX];
  cod_decode_info info;
  for (size_t i = 0; i < na; i++) res[i] = M->res + arr[i] * G->rl + MPIB_RES_HEAD;
  double w0 = cod_clock_wall_s(), c0 = cod_clock_thread_cpu_s();
  int rc = cod_code_decode_work(in->code, arr, na, res,
                                in->cfg->run.decode == RUN_DECODE_GENERIC ? COD_DECODE_GENERIC
                                                                          : COD_DECODE_AUTO,
                                in->y, &info, M->dwork, err);
  *wall = cod_clock_wall_s() - w0;
  out->cpu_decode_s = cod_clock_thread_cpu_s() - c0;
  if (rc == COD_ENUMERIC) out->cond = info.cond; /* singular: the caller stores an outcome */
  if (rc) return rc;
  out->n_used = info.n_used;
  memcpy(out->used, info.used, info.n_used * sizeof *info.used);
  out->cond = info.cond;
  return COD_OK;
}

/* Advance the run's engine by wall_s seconds from the layer's start; set t_end_s. A clock
 * that would pass the horizon makes the layer's outcome error (RUN_MSG_HORIZON). */
static int advance_clock(const run_layer_in *in, run_layer_out *out, double wall_s, cod_err *err) {
  sim_time_ns d, t;
  if (sim_time_from_s_checked(wall_s, &d) ||
      sim_time_add_checked(sim_engine_now(in->engine), d, &t)) {
    out->status = RES_STATUS_ERROR;
    snprintf(out->error_msg, sizeof out->error_msg, "%s", RUN_MSG_HORIZON);
    out->t_end_s = NAN;
    return COD_OK;
  }
  if (sim_engine_schedule_at(in->engine, t, ev_noop, NULL, NULL, NULL))
    return cod_err_set(err, COD_ENOMEM, "out of memory");
  sim_engine_run(in->engine, t);
  out->t_end_s = sim_time_to_s(t);
  return COD_OK;
}

/* One layer between its steps (master_layer). */
typedef struct layer_run {
  const run_layer_in *in;
  run_layer_out *out;
  layer_geo G;
  size_t el;               /* bytes of a worker-side element */
  double L0, t0;           /* wall clock at the layer's start and at its first send */
  int64_t seq;             /* this layer's sequence number (its result tag) */
  int tag;
  int posted;              /* receives into our buffers are posted */
  double *ck_own;          /* filters encoded here when the runner did not */
  const double *ck;        /* the coded filters sent */
  size_t arrived[COD_WORKERS_MAX], na, critical;
  int decoded, singular;
  double dec_wall;         /* wall time of the decode, s */
  double filt_s;           /* filter encoding time charged to this layer, s */
  int beyond;              /* a returning worker's draw ends past the simulation horizon */
  size_t nonfinite;        /* first worker whose result was not finite; SIZE_MAX if none */
} layer_run;

/* Step 1: every worker's row (refused when its assignment exceeds its storage), then the
 * input encoding (and the filters' when the runner has not encoded them). *feasible = 0
 * when too few workers can take the task. */
static int layer_prepare(master *M, layer_run *L, int *feasible, cod_err *err) {
  const run_layer_in *in = L->in;
  run_layer_out *out = L->out;
  const cod_code *code = in->code;
  const run_config *c = in->cfg;
  for (size_t j = 0; j < M->n; j++) {
    run_worker rw;
    res_worker_row *o = &out->workers[j];
    res_worker_row_init(o);
    o->worker = (int64_t)j;
    o->worker_class = run_class_name(c, run_config_worker(c, j, &rw));
    o->status = RES_WORKER_CANCELLED;
    o->flops = 0.0; /* until its result arrives */
    o->bytes_up = o->bytes_down = 0;
    o->bytes_stored = (int64_t)((L->G.il + L->G.fl) * L->el);
    M->refused[j] = in->storage_refuse ? in->storage_refuse[j] != 0
                                       : (double)o->bytes_stored > rw.storage_bytes;
    M->got[j] = 0;
    if (M->refused[j]) o->status = RES_WORKER_REFUSED, o->bytes_stored = 0;
  }
  *feasible = still_possible(M, code);
  if (!*feasible) return COD_OK;
  /* encode the input (the filters were encoded once by the runner: weights stay put) */
  double c0 = cod_clock_thread_cpu_s(), w0 = cod_clock_wall_s();
  cod_code_encode_input_work(code, in->x, M->cx, M->ework);
  L->ck = in->coded_filters;
  if (!L->ck) {
    L->ck_own = cod_malloc_array(M->n * L->G.fl, sizeof *L->ck_own);
    if (!L->ck_own) return cod_err_set(err, COD_ENOMEM, "out of memory for coded filters");
    int rc = cod_code_encode_filters(code, in->k, L->ck_own, err);
    if (rc) return rc;
    L->ck = L->ck_own;
  }
  out->t_encode_s = cod_clock_wall_s() - w0;
  out->cpu_encode_s = cod_clock_thread_cpu_s() - c0;
  return COD_OK;
}

/* Step 2: draw the delays, drop stale results, post every worker's sends and receive. */
static int layer_send(master *M, layer_run *L, cod_err *err) {
  int rc = draw_delays(M, L->in, L->out->t_start_s + L->out->t_encode_s, &L->beyond, err);
  if (rc || L->beyond) return rc; /* past the horizon: no rank is asked to sleep that long */
  L->seq = M->seq++;
  L->tag = mpi_res_tag(L->seq);
  if ((rc = drain_stale(M, L->tag, err))) return rc;
  L->t0 = cod_clock_wall_s();
  L->posted = 1;
  return post_all(M, L->in, L->ck, &L->G, L->seq, err);
}

/* Step 3, one poll: take the results that have arrived; decode as soon as they are
 * decodable (a singular system is an outcome, as in the simulator). */
static int layer_take_arrivals(master *M, layer_run *L, cod_err *err) {
  const cod_code *code = L->in->code;
  run_layer_out *out = L->out;
  int outc = 0;
  if (MPI_Testsome((int)M->n, M->rreq, &outc, M->idx, MPI_STATUSES_IGNORE) != MPI_SUCCESS)
    return cod_err_set(err, COD_EIO, "MPI receive failed");
  for (int i = 0; outc != MPI_UNDEFINED && i < outc; i++) {
    size_t j = (size_t)M->idx[i];
    const double *r = M->res + j * L->G.rl;
    if (r[1] != 0)
      return cod_err_set(err, COD_EIO, "worker %zu could not run its task (%s)", j,
                         cod_status_name((int)r[1]));
    int finite = 1; /* one pass: an overflowed (fp32) result must not decode into `ok` */
    for (size_t v = 0; v < L->G.ol && finite; v++) finite = isfinite(r[MPIB_RES_HEAD + v]);
    if (!finite) {
      if (L->nonfinite == SIZE_MAX) L->nonfinite = j;
      M->fail[j] = 1;
      continue;
    }
    M->got[j] = 1;
    M->t_arr[j] = cod_clock_wall_s() - L->t0;
    M->w_wall[j] = r[2], M->w_cpu[j] = r[3];
    L->arrived[L->na++] = j;
    res_worker_row *o = &out->workers[j];
    o->status = RES_WORKER_STRAGGLER;
    o->flops = 2.0 * cod_code_worker_macs(code);
    o->t_finish_s = out->t_start_s + (L->t0 - L->L0) + M->t_arr[j];
    out->cpu_compute_s += r[3];
    if (!L->decoded && cod_code_decodable(code, L->arrived, L->na)) {
      int rc = decode_now(M, L->in, &L->G, L->arrived, L->na, out, &L->dec_wall, err);
      if (rc == COD_ENUMERIC) L->singular = 1, rc = COD_OK;
      if (rc) return rc;
      L->decoded = 1, L->critical = j;
    }
  }
  return COD_OK;
}

/* Step 3: poll sends and receives, sleeping poll_s between polls, until decoded or wait_s
 * has passed. */
static int layer_poll(master *M, layer_run *L, cod_err *err) {
  int rc;
  while (!L->decoded) {
    if ((rc = poll_sends(M, L->t0, err))) return rc;
    if ((rc = layer_take_arrivals(M, L, err))) return rc;
    if (L->decoded || L->nonfinite != SIZE_MAX || cod_clock_wall_s() - L->t0 > M->mo.wait_s)
      break;
    if ((rc = drain_stale(M, L->tag, err))) return rc;
    /* large messages move only while we call into MPI: sleep only once they are out */
    int sending = 0;
    for (size_t j = 0; j < M->n; j++) sending |= M->sleft[j] > 0;
    if (!sending) mpib_nap(M->mo.poll_s);
  }
  return COD_OK;
}

/* Step 4: finish the sends, cancel what is still pending, and account each worker's bytes
 * and status. Filters that travelled this layer count as encoded for it, the simulator's
 * convention (run_exec.h): the runner encoded them once, in in->coded_filters_wall_s. */
static int layer_drain(master *M, layer_run *L, cod_err *err) {
  run_layer_out *out = L->out;
  int shipped = 0;
  for (size_t j = 0; j < M->n; j++) shipped |= !M->refused[j] && M->hdr[j].send_filters;
  L->filt_s = shipped && L->in->coded_filters ? L->in->coded_filters_wall_s : 0.0;
  out->t_encode_s += L->filt_s;
  int rc = poll_sends(M, L->t0, err);
  if (rc) return rc;
  L->posted = 0;
  if ((rc = layer_cleanup(M, L->seq, err))) return rc;
  for (size_t j = 0; j < M->n; j++) {
    res_worker_row *o = &out->workers[j];
    if (M->refused[j]) continue;
    o->bytes_up = (int64_t)((L->G.il + (M->hdr[j].send_filters ? L->G.fl : 0)) * L->el);
    o->bytes_down = M->got[j] ? (int64_t)(L->G.ol * sizeof(double)) : 0;
    if (M->fail[j]) o->status = RES_WORKER_FAILED;
    if (M->got[j]) o->t_finish_s += L->filt_s;
  }
  return COD_OK;
}

/* The layer's outcome and the phases of its critical worker. */
static void layer_outcome(const master *M, const layer_run *L) {
  run_layer_out *out = L->out;
  if (L->singular) {
    out->t_decode_s = L->dec_wall;
    out->status = RES_STATUS_ERROR;
  } else if (L->decoded) {
    for (size_t u = 0; u < out->n_used; u++) out->workers[out->used[u]].status = RES_WORKER_USED;
    size_t cj = L->critical;
    /* a send's completion is only seen at the next poll: cap it so the phases add up */
    double up = fmax(0.0, fmin(M->t_up[cj], M->t_arr[cj] - M->w_wall[cj]));
    out->t_upload_s = up;
    out->t_compute_s = M->w_wall[cj];
    out->t_download_s = fmax(0.0, M->t_arr[cj] - up - M->w_wall[cj]);
    out->t_decode_s = L->dec_wall;
    out->status = RES_STATUS_OK;
  } else {
    out->status = RES_STATUS_UNDECODABLE;
  }
  if (L->nonfinite != SIZE_MAX) {
    out->status = RES_STATUS_ERROR;
    snprintf(out->error_msg, sizeof out->error_msg, "worker %zu returned non-finite values "
             "(%s overflow?)", L->nonfinite, L->G.f32 ? "fp32" : "fp64");
  }
}

static int master_layer(void *ctx, const run_layer_in *in, run_layer_out *out, cod_err *err) {
  master *M = ctx;
  const cod_code *code = in->code;
  memset(out, 0, sizeof *out);
  out->cond = NAN;
  out->status = RES_STATUS_ERROR;
  out->t_start_s = sim_time_to_s(sim_engine_now(in->engine));
  if (!in->x || !in->k || !in->y)
    return cod_err_set(err, COD_EINVAL, "the mpi backend computes for real: set run.compute = real");
  if (run_alloc_applies(in->cfg)) /* one coded task per rank, one message each */
    return cod_err_set(err, COD_EINVAL, "the mpi backend runs [cluster] allocation = equal "
                       "with returns = per-worker only (runner/run_alloc.h is simulated)");
  assert(cod_code_workers(code) == M->n);
  layer_run L;
  memset(&L, 0, sizeof L);
  L.in = in, L.out = out;
  L.nonfinite = SIZE_MAX;
  L.L0 = cod_clock_wall_s();
  L.G = (layer_geo){cod_code_worker_input_len(code), cod_code_worker_filter_len(code),
                    cod_code_worker_output_len(code), 0, in->cfg->run.precision == RUN_FP32};
  L.G.rl = MPIB_RES_HEAD + L.G.ol;
  L.el = L.G.f32 ? 4 : 8;
  out->workers = cod_calloc(M->n, sizeof *out->workers);
  if (!out->workers) return cod_err_set(err, COD_ENOMEM, "out of memory");
  int feasible = 0;
  int rc = grow_buffers(M, code, &L.G, err);
  if (!rc) rc = layer_prepare(M, &L, &feasible, err);
  if (!rc && !feasible) {
    out->status = RES_STATUS_INFEASIBLE_STORAGE;
    return advance_clock(in, out, 0.0, err);
  }
  if (!rc) rc = layer_send(M, &L, err);
  if (!rc && L.beyond) { /* nothing was posted: the simulator's RUN_MSG_HORIZON outcome */
    cod_free(L.ck_own);
    rc = advance_clock(in, out, cod_clock_wall_s() - L.L0, err);
    out->status = RES_STATUS_ERROR;
    snprintf(out->error_msg, sizeof out->error_msg, "%s", RUN_MSG_HORIZON);
    return rc;
  }
  if (!rc) rc = layer_poll(M, &L, err);
  double end = cod_clock_wall_s();
  if (!rc) rc = layer_drain(M, &L, err);
  if (rc) {
    if (L.posted) layer_cleanup(M, L.seq, NULL); /* leave no receive posted into our buffers */
    if (!M->stuck) cod_free(L.ck_own);           /* else MPI may still read it: leave it */
    run_layer_out_fini(out);
    return rc;
  }
  layer_outcome(M, &L);
  cod_free(L.ck_own);
  return advance_clock(in, out, end - L.L0 + L.filt_s, err);
}

/* ---- the master's objects and sweep --------------------------------------------------- */

static void master_fini(master *M) {
  if (M->stuck) return; /* pending sends may still read hdr, cx, f32x, f32k: the job aborts */
  cod_free(M->mir), cod_free(M->hdr), cod_free(M->sreq), cod_free(M->rreq), cod_free(M->sleft);
  cod_free(M->t_up), cod_free(M->t_arr), cod_free(M->w_wall), cod_free(M->w_cpu);
  cod_free(M->delay), cod_free(M->fail), cod_free(M->got), cod_free(M->refused), cod_free(M->idx);
  cod_free(M->cx), cod_free(M->res), cod_free(M->trash), cod_free(M->f32x), cod_free(M->f32k);
  cod_free(M->ework), cod_free(M->dwork);
}

static int master_init(master *M, size_t n, const mpi_opts *mo, cod_err *err) {
  memset(M, 0, sizeof *M);
  M->mo = *mo, M->n = n;
  M->mir = cod_calloc(n, sizeof *M->mir);
  M->hdr = cod_calloc(n, sizeof *M->hdr);
  M->sreq = cod_calloc(3 * n, sizeof *M->sreq);
  M->rreq = cod_calloc(n, sizeof *M->rreq);
  M->sleft = cod_calloc(n, sizeof *M->sleft);
  M->t_up = cod_calloc(n, sizeof(double)), M->t_arr = cod_calloc(n, sizeof(double));
  M->w_wall = cod_calloc(n, sizeof(double)), M->w_cpu = cod_calloc(n, sizeof(double));
  M->delay = cod_calloc(n, sizeof(double));
  M->fail = cod_calloc(n, sizeof(int)), M->got = cod_calloc(n, sizeof(int));
  M->refused = cod_calloc(n, sizeof(int)), M->idx = cod_calloc(3 * n, sizeof(int));
  if (!M->mir || !M->hdr || !M->sreq || !M->rreq || !M->sleft || !M->t_up ||
      !M->t_arr || !M->w_wall || !M->w_cpu || !M->delay || !M->fail || !M->got || !M->refused ||
      !M->idx) {
    master_fini(M);
    return cod_err_set(err, COD_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < 3 * n; i++) M->sreq[i] = MPI_REQUEST_NULL;
  for (size_t i = 0; i < n; i++) M->rreq[i] = MPI_REQUEST_NULL;
  return COD_OK;
}

/* Every point must fit the world before anything runs. */
static int check_points(const run_scenario *sc, size_t n, cod_err *err) {
  for (size_t p = 0; p < run_scenario_points(sc); p++) {
    run_config cfg;
    int rc = run_scenario_point(sc, p, &cfg, err);
    if (rc) return rc;
    if (cfg.cluster.workers != n)
      return cod_err_set(err, COD_EINVAL,
                         "point %zu has cluster.workers = %zu but mpirun started %zu worker "
                         "rank(s): use mpirun -np %zu", p, cfg.cluster.workers, n,
                         cfg.cluster.workers + 1);
    if (cfg.run.compute != RUN_COMPUTE_REAL)
      return cod_err_set(err, COD_EINVAL, "point %zu: the mpi backend needs run.compute = real", p);
    /* simulator-only so far: 16-bit workers, worst-set stragglers, approximate codes */
    if (cfg.run.precision != RUN_FP64 && cfg.run.precision != RUN_FP32)
      return cod_err_set(err, COD_EINVAL,
                         "point %zu: the mpi backend runs run.precision = fp64 or fp32 only", p);
    if (cfg.cluster.stragglers != RUN_STRAGGLERS_RANDOM)
      return cod_err_set(err, COD_EINVAL,
                         "point %zu: the mpi backend needs cluster.stragglers = random", p);
    if (cod_scheme_find(cfg.coding.scheme, NULL)->approximate)
      return cod_err_set(err, COD_EINVAL,
                         "point %zu: the mpi backend has no approximate-code decode policy "
                         "(scheme %s)", p, cfg.coding.scheme);
  }
  return COD_OK;
}


int mpi_master_sweep(const run_scenario *sc, const run_sweep_opts *o, const mpi_opts *mo,
                     run_sweep_stats *stats, cod_err *err) {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size < 2) return cod_err_set(err, COD_EINVAL, "the mpi backend needs at least 2 ranks (mpirun -np N+1)");
  size_t n = (size_t)size - 1;
  int rc = run_scenario_validate(sc, NULL, err);
  if (!rc) rc = check_points(sc, n, err);
  master M;
  if (rc || (rc = master_init(&M, n, mo, err))) return rc;
  /* run_sweep runs the tasks on one thread of its own while the calling thread commits;
   * only that thread talks MPI until run_sweep returns (MPI_THREAD_SERIALIZED). */
  run_backend be = {"mpi", master_layer, &M};
  run_sweep_opts so = *o;
  so.backend = &be, so.jobs = 1, so.share_count = 0;
  rc = run_sweep(sc, &so, stats, err);
  master_fini(&M);
  return rc;
}

int mpi_master_shutdown(const mpi_opts *mo, cod_err *err) {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  mpi_hdr h;
  memset(&h, 0, sizeof h);
  h.cmd = MPIB_CMD_EXIT;
  int rc = COD_OK;
  for (int r = 1; r < size; r++)
    if (MPI_Send(&h, (int)sizeof h, MPI_BYTE, r, MPIB_TAG_CTRL, MPI_COMM_WORLD) != MPI_SUCCESS)
      rc = cod_err_set(err, COD_EIO, "MPI send to rank %d failed", r);
  if (rc) return rc;
  master M; /* only for the drain buffer */
  memset(&M, 0, sizeof M);
  int acks = 0;
  double t0 = cod_clock_wall_s();
  while (acks < size - 1) {
    int flag = 0;
    MPI_Status st;
    if (MPI_Iprobe(MPI_ANY_SOURCE, MPIB_TAG_ACK, MPI_COMM_WORLD, &flag, &st) != MPI_SUCCESS) {
      rc = cod_err_set(err, COD_EIO, "MPI probe failed");
      break;
    }
    if (flag) {
      mpi_hdr a;
      MPI_Recv(&a, (int)sizeof a, MPI_BYTE, st.MPI_SOURCE, MPIB_TAG_ACK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      acks++;
      continue;
    }
    if ((rc = drain_stale(&M, -1, err))) break;
    if (cod_clock_wall_s() - t0 > mo->wait_s) {
      rc = cod_err_set(err, COD_EIO, "%d worker(s) did not acknowledge exit within %g s",
                       size - 1 - acks, mo->wait_s);
      break;
    }
    mpib_nap(mo->poll_s);
  }
  cod_free(M.trash);
  return rc;
}

/* ---- the sweep spread over ranks, on the simulator -------------------------------------- */

int mpi_share_sweep(const run_scenario *sc, const run_sweep_opts *o, run_sweep_stats *stats,
                    cod_err *err) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  run_sweep_opts mine = *o;
  mine.backend = NULL;
  mine.share_index = (size_t)rank, mine.share_count = (size_t)size;
  run_sweep_stats st;
  memset(&st, 0, sizeof st);
  int rc = run_sweep(sc, &mine, &st, err);
  unsigned long loc[6] = {st.total, st.skipped, st.committed, st.ok, st.not_ok, st.cond_flagged},
                sum[6] = {0};
  int worst = rc, any = 0;
  if (MPI_Reduce(loc, sum, 6, MPI_UNSIGNED_LONG, MPI_SUM, 0, MPI_COMM_WORLD) != MPI_SUCCESS ||
      MPI_Allreduce(&worst, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS)
    return cod_err_set(err, COD_EIO, "MPI reduction failed");
  if (rank == 0) {
    st.total = sum[0], st.skipped = sum[1], st.committed = sum[2];
    st.ok = sum[3], st.not_ok = sum[4], st.cond_flagged = sum[5];
  }
  if (stats) *stats = st;
  if (!rc && any) rc = cod_err_set(err, any, "another rank failed (its message is on its stderr)");
  return rc;
}
