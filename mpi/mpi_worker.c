/* mpi_worker.c: ranks 1..N of the MPI backend (see mpi_backend.h, mpi_proto.h).
 *
 * A worker is a loop over control headers. For a layer it rebuilds the cod_code from the
 * header (planning is cheap next to the convolution), receives its coded input and,
 * unless it has them cached, its coded filters, computes its e_A x e_B convolutions for
 * real, sleeps the injected straggling delay while watching for the master's CANCEL, and
 * sends its result. Data messages are received whatever happens (Probe + Get_count) so
 * that the stream from the master never falls out of step, even when the code cannot be
 * rebuilt. Buffers grow and are kept for the life of the loop. The worker waits with
 * short sleeps rather than inside a blocking MPI call, which in Open MPI spins and would
 * steal the CPU from the ranks that compute when the host is oversubscribed.
 */
#include "mpi_backend.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include <mpi.h>

#include "cod_alloc.h"
#include "cod_clock.h"
#include "cod_code.h"
#include "mpi_proto.h"
#include "run_layer.h"
#include "sim_rng.h"

typedef struct filt_slot {
  uint64_t key;
  size_t len;
  double *data;
} filt_slot;

typedef struct wstate {
  const mpi_opts *mo;
  size_t id;                       /* worker index = rank - 1 */
  filt_slot cache[MPIB_CACHE];
  double *x, *res;
  float *f32;
  void *work;
  size_t x_len, res_len, f32_len, work_bytes;
  gsl_rng *noise;
  uint64_t noise_run;              /* run_serial + 1 of the noise stream, 0 = none */
  mpi_hdr stash;                   /* a header that arrived while busy */
  int stashed;
} wstate;


/* Receive the next data message on `tag` (fp32 or fp64 as announced) into doubles. */
static int recv_values(wstate *w, int tag, int f32, double **dst, size_t *dst_bytes,
                       size_t *n_out, cod_err *err) {
  MPI_Status st;
  int count = 0;
  MPI_Datatype dt = f32 ? MPI_FLOAT : MPI_DOUBLE;
  if (MPI_Probe(0, tag, MPI_COMM_WORLD, &st) != MPI_SUCCESS || MPI_Get_count(&st, dt, &count) != MPI_SUCCESS)
    return cod_err_set(err, COD_EIO, "worker %zu: MPI probe failed", w->id);
  size_t n = (size_t)count;
  if (mpib_grow((void **)dst, dst_bytes, n * sizeof(double)))
    return cod_err_set(err, COD_ENOMEM, "worker %zu: out of memory for %zu values", w->id, n);
  if (f32) {
    size_t b = w->f32_len * sizeof(float);
    if (mpib_grow((void **)&w->f32, &b, n * sizeof(float)))
      return cod_err_set(err, COD_ENOMEM, "worker %zu: out of memory", w->id);
    w->f32_len = b / sizeof(float);
    if (MPI_Recv(w->f32, count, MPI_FLOAT, 0, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE) != MPI_SUCCESS)
      return cod_err_set(err, COD_EIO, "worker %zu: MPI receive failed", w->id);
    for (size_t i = 0; i < n; i++) (*dst)[i] = w->f32[i];
  } else if (MPI_Recv(*dst, count, MPI_DOUBLE, 0, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE) != MPI_SUCCESS) {
    return cod_err_set(err, COD_EIO, "worker %zu: MPI receive failed", w->id);
  }
  *n_out = n;
  return COD_OK;
}

/* Wait (sleeping between polls) for the next control header. */
static int next_header(wstate *w, mpi_hdr *h, cod_err *err) {
  if (w->stashed) {
    *h = w->stash;
    w->stashed = 0;
    return COD_OK;
  }
  for (;;) {
    int flag = 0;
    if (MPI_Iprobe(0, MPIB_TAG_CTRL, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE) != MPI_SUCCESS)
      return cod_err_set(err, COD_EIO, "worker %zu: MPI probe failed", w->id);
    if (flag) break;
    mpib_nap(w->mo->poll_s);
  }
  if (MPI_Recv(h, (int)sizeof *h, MPI_BYTE, 0, MPIB_TAG_CTRL, MPI_COMM_WORLD, MPI_STATUS_IGNORE) != MPI_SUCCESS)
    return cod_err_set(err, COD_EIO, "worker %zu: MPI receive failed", w->id);
  return COD_OK;
}

/* Sleep delay_s, polling for the master's CANCEL of layer seq. 1 if cancelled. */
static int straggle(wstate *w, int64_t seq, double delay_s, cod_err *err, int *rc) {
  double t_end = cod_clock_wall_s() + delay_s;
  while (cod_clock_wall_s() < t_end) {
    int flag = 0;
    if (!w->stashed) {
      if (MPI_Iprobe(0, MPIB_TAG_CTRL, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE) != MPI_SUCCESS) {
        *rc = cod_err_set(err, COD_EIO, "worker %zu: MPI probe failed", w->id);
        return 1;
      }
    }
    if (flag) {
      mpi_hdr h;
      if (MPI_Recv(&h, (int)sizeof h, MPI_BYTE, 0, MPIB_TAG_CTRL, MPI_COMM_WORLD, MPI_STATUS_IGNORE) != MPI_SUCCESS) {
        *rc = cod_err_set(err, COD_EIO, "worker %zu: MPI receive failed", w->id);
        return 1;
      }
      if (h.cmd == MPIB_CMD_CANCEL && h.seq == seq) return 1;
      if (h.cmd != MPIB_CMD_CANCEL) w->stash = h, w->stashed = 1; /* keep it for later */
    }
    double left = t_end - cod_clock_wall_s();
    mpib_nap(fmin(left, fmax(w->mo->poll_s, 1e-4)));
  }
  return 0;
}

static int send_result(wstate *w, const mpi_hdr *h, double status, double wall, double cpu,
                       size_t n_values, cod_err *err) {
  w->res[0] = (double)h->seq, w->res[1] = status, w->res[2] = wall, w->res[3] = cpu;
  w->res[4] = h->delay_s;
  if (MPI_Send(w->res, (int)(MPIB_RES_HEAD + n_values), MPI_DOUBLE, 0, mpi_res_tag(h->seq),
               MPI_COMM_WORLD) != MPI_SUCCESS)
    return cod_err_set(err, COD_EIO, "worker %zu: MPI send failed", w->id);
  return COD_OK;
}

static int do_layer(wstate *w, const mpi_hdr *h, cod_err *err) {
  int f32 = h->precision == 1, rc;
  size_t nx = 0, nk = 0;
  size_t xb = w->x_len * sizeof(double);
  if ((rc = recv_values(w, MPIB_TAG_X, f32, &w->x, &xb, &nx, err))) return rc;
  w->x_len = xb / sizeof(double);
  const double *k = NULL;
  int bad = 0;
  if (h->cache_slot < 0 || h->cache_slot >= MPIB_CACHE) return cod_err_set(err, COD_EIO, "bad cache slot");
  filt_slot *slot = &w->cache[h->cache_slot];
  if (h->send_filters) {
    size_t kb = slot->len * sizeof(double);
    if ((rc = recv_values(w, MPIB_TAG_K, f32, &slot->data, &kb, &nk, err))) return rc;
    slot->len = nk, slot->key = h->filt_key;
  } else if (!slot->data || slot->key != h->filt_key) {
    bad = COD_EIO; /* the master's mirror of the cache disagrees: a protocol error */
  }
  k = slot->data, nk = slot->len;
  if (h->fail) return COD_OK; /* fail-stop: never answers this layer */
  cod_conv_geom g = {(size_t)h->geom[0], (size_t)h->geom[1], (size_t)h->geom[2], (size_t)h->geom[3],
                     (size_t)h->geom[4], (size_t)h->geom[5], (size_t)h->geom[6], (size_t)h->geom[7]};
  cod_code_params p = cod_code_params_default();
  char scheme[MPIB_SCHEME_MAX];
  memcpy(scheme, h->scheme, sizeof scheme);
  scheme[sizeof scheme - 1] = 0;
  p.scheme = scheme;
  p.n_workers = (size_t)h->n_workers, p.ka = (size_t)h->ka, p.kb = (size_t)h->kb;
  p.q = (size_t)h->q, p.axis = (cod_axis)h->axis, p.rank_rtol = h->rank_rtol;
  cod_code *code = NULL;
  if (!bad && cod_code_new(&p, &g, &code, NULL) != COD_OK) bad = COD_EINVAL;
  if (!bad && (nx != cod_code_worker_input_len(code) || nk != cod_code_worker_filter_len(code)))
    bad = COD_EIO;
  cod_dtype dt = f32 ? COD_F32 : COD_F64;
  size_t ol = code ? cod_code_worker_output_len(code) : 0;
  size_t rb = w->res_len * sizeof(double);
  if (mpib_grow((void **)&w->res, &rb, (MPIB_RES_HEAD + ol) * sizeof(double)) ||
      (code && mpib_grow(&w->work, &w->work_bytes, cod_code_worker_workspace_bytes(code, dt)))) {
    cod_code_free(code);
    return cod_err_set(err, COD_ENOMEM, "worker %zu: out of memory", w->id);
  }
  w->res_len = rb / sizeof(double);
  if (bad) {
    cod_code_free(code);
    return send_result(w, h, bad, 0, 0, 0, err);
  }
  double t0 = cod_clock_wall_s(), c0 = cod_clock_thread_cpu_s();
  cod_code_worker_compute(code, dt, w->x, k, w->res + MPIB_RES_HEAD, w->work);
  cod_code_free(code);
  if (isfinite(h->snr_db)) {
    if (w->noise_run != h->run_serial + 1) {
      sim_rng_free(w->noise);
      w->noise = NULL, w->noise_run = 0;
      /* the simulator's noise stream of (trial, worker) */
      if ((rc = sim_rng_new(h->seed, run_stream_id(h->trial, w->id, RUN_STREAM_NOISE), &w->noise, err)))
        return rc;
      w->noise_run = h->run_serial + 1;
    }
    cod_noise_add(w->res + MPIB_RES_HEAD, ol, h->snr_db, w->noise);
  }
  double cpu = cod_clock_thread_cpu_s() - c0;
  rc = COD_OK;
  if (h->delay_s > 0 && straggle(w, h->seq, h->delay_s, err, &rc)) return rc; /* cancelled */
  return send_result(w, h, 0, cod_clock_wall_s() - t0, cpu, ol, err);
}

int mpi_worker_serve(const mpi_opts *mo, cod_err *err) {
  wstate w;
  memset(&w, 0, sizeof w);
  w.mo = mo;
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  w.id = (size_t)(rank - 1);
  int rc = COD_OK;
  for (;;) {
    mpi_hdr h;
    if ((rc = next_header(&w, &h, err))) break;
    if (h.cmd == MPIB_CMD_EXIT) {
      mpi_hdr ack;
      memset(&ack, 0, sizeof ack);
      ack.cmd = MPIB_CMD_ACK;
      if (MPI_Send(&ack, (int)sizeof ack, MPI_BYTE, 0, MPIB_TAG_ACK, MPI_COMM_WORLD) != MPI_SUCCESS)
        rc = cod_err_set(err, COD_EIO, "worker %zu: MPI send failed", w.id);
      break;
    }
    if (h.cmd == MPIB_CMD_CANCEL) continue; /* for a layer this worker already answered */
    if (h.cmd != MPIB_CMD_LAYER) {
      rc = cod_err_set(err, COD_EIO, "worker %zu: unknown command %lld", w.id, (long long)h.cmd);
      break;
    }
    if ((rc = do_layer(&w, &h, err))) break;
  }
  for (size_t i = 0; i < MPIB_CACHE; i++) cod_free(w.cache[i].data);
  cod_free(w.x);
  cod_free(w.res);
  cod_free(w.f32);
  cod_free(w.work);
  sim_rng_free(w.noise);
  return rc;
}
