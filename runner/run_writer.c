/* run_writer.c: the batching writer thread (see run_writer.h).
 *
 * A bounded ring of (run, point, trial) between the sweep and the writer, under one mutex
 * with two condition variables (not empty, not full). The writer takes a batch out of the
 * ring (up to batch_max_runs, waiting at most until batch_max_s after the batch's first
 * run), releases the lock, writes it in one transaction and only then frees the runs, so
 * the sweep threads never wait for SQLite unless the ring is full. Runs leave the ring in
 * the order they entered, which is the sweep's (point, trial) order.
 */
#include "run_writer.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cod_alloc.h"
#include "cod_clock.h"

typedef struct slot {
  run_result *res;
  size_t point, trial;
} slot;

struct run_writer {
  run_writer_opts o;
  res_db *db;
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t not_empty, not_full;
  slot *ring, *batch;
  size_t cap, head, count;   /* ring: cap slots, count from head */
  int closing;               /* no more runs will come */
  int failed;                /* the first failure is in fail_err (under mu) */
  cod_err fail_err;
  int first_done;            /* the first batch was taken (first_write called) */
  run_sweep_stats st;        /* committed runs (writer thread; read after join) */
  double cpu_s;              /* the writer thread's CPU seconds (read after join) */
  size_t done;
};

static void result_free(run_result *r) {
  run_result_fini(r);
  cod_free(r);
}

static void count_run(run_writer *w, const slot *s) {
  run_sweep_stats *st = &w->st;
  const run_result *res = s->res;
  st->committed++;
  if (strcmp(res->run.status, RES_STATUS_OK) == 0) st->ok++;
  else st->not_ok++;
  for (size_t l = 0; l < res->n_layers; l++) st->cond_flagged += res->layers[l].cond_flagged == 1;
  if (res->error_msg[0] && st->failed_runs++ == 0)
    snprintf(st->first_failure, sizeof st->first_failure, "point %zu trial %zu: %.400s",
             s->point, s->trial, res->error_msg);
  if (w->o.progress) w->o.progress(w->o.progress_ctx, w->o.done0 + ++w->done, w->o.total);
}

/* The runs of the batch one transaction each (after a failed batch commit): every run
 * before the first failing one is kept. */
static int write_singly(run_writer *w, slot *b, size_t n, cod_err *err) {
  for (size_t i = 0; i < n; i++) {
    int rc = run_result_write(w->db, b[i].res, err);
    if (rc) return rc;
    count_run(w, &b[i]);
  }
  return COD_OK;
}

/* Write b[0..n) as one batch. Returns COD_OK or the first failure (err). */
static int write_batch(run_writer *w, slot *b, size_t n, cod_err *err) {
  int rc = COD_OK;
  /* the first run to keep creates the file; if it fails to commit, no file is left */
  if (!w->db) rc = res_db_open(w->o.db_path, RES_DB_DROP_EMPTY, &w->db, err);
  if (!rc && w->o.first_write && !w->first_done) rc = w->o.first_write(w->o.first_ctx, w->db, err);
  w->first_done = 1;
  if (!rc) rc = res_db_begin_batch(w->db, err);
  if (rc) return rc;
  size_t k = 0;
  cod_err run_err = {0};
  int run_rc = COD_OK;
  for (; k < n; k++) {
    if ((run_rc = run_result_write(w->db, b[k].res, &run_err))) break; /* undone alone */
    if (w->o.after_insert) w->o.after_insert(w->o.hook_ctx, k + 1);
  }
  cod_err ce = {0};
  if ((rc = res_db_commit_batch(w->db, &ce))) {
    /* a deferred foreign key or I/O: nothing of the batch is in; find the culprit */
    rc = write_singly(w, b, k, err);
  } else {
    for (size_t i = 0; i < k; i++) count_run(w, &b[i]);
  }
  if (!rc && run_rc) {
    rc = run_rc;
    if (err) *err = run_err;
  }
  return rc;
}

/* Absolute CLOCK_REALTIME time `s` seconds from now, for pthread_cond_timedwait. */
static struct timespec deadline_after(double s) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  double whole = floor(s);
  t.tv_sec += (time_t)whole;
  t.tv_nsec += (long)((s - whole) * 1e9);
  if (t.tv_nsec >= 1000000000L) t.tv_sec++, t.tv_nsec -= 1000000000L;
  return t;
}

static void *writer_main(void *arg) {
  run_writer *w = arg;
  double cpu0 = cod_clock_thread_cpu_s();
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (w->count == 0 && !w->closing) pthread_cond_wait(&w->not_empty, &w->mu);
    if (w->count == 0) break; /* closing and drained */
    struct timespec until = deadline_after(w->o.batch_max_s);
    size_t n = 0;
    while (n < w->o.batch_max_runs) {
      if (w->count) {
        w->batch[n++] = w->ring[w->head];
        w->head = (w->head + 1) % w->cap, w->count--;
        pthread_cond_signal(&w->not_full);
        continue;
      }
      /* the first batch does not wait: the file appears with the first run, as before */
      if (w->closing || !w->first_done) break;
      if (pthread_cond_timedwait(&w->not_empty, &w->mu, &until) == ETIMEDOUT && !w->count) break;
    }
    pthread_mutex_unlock(&w->mu);
    cod_err e = {0};
    int rc = write_batch(w, w->batch, n, &e);
    for (size_t i = 0; i < n; i++) result_free(w->batch[i].res);
    pthread_mutex_lock(&w->mu);
    if (rc) {
      w->failed = 1;
      w->fail_err = e;
      if (!w->fail_err.status) w->fail_err.status = rc;
      pthread_cond_broadcast(&w->not_full); /* a blocked put learns of it */
      break;
    }
  }
  pthread_mutex_unlock(&w->mu);
  w->cpu_s = cod_clock_thread_cpu_s() - cpu0;
  return NULL;
}

int run_writer_start(const run_writer_opts *o, run_writer **out, cod_err *err) {
  if (!o->db_path || o->batch_max_s < 0 || !(o->batch_max_s == o->batch_max_s))
    return cod_err_set(err, COD_EINVAL, "run writer: a database path and a batch time >= 0");
  run_writer *w = cod_calloc(1, sizeof *w);
  if (!w) return cod_err_set(err, COD_ENOMEM, "out of memory");
  w->o = *o;
  if (!w->o.batch_max_runs) w->o.batch_max_runs = RUN_WRITER_BATCH_RUNS;
  if (!(w->o.batch_max_s > 0)) w->o.batch_max_s = RUN_WRITER_BATCH_S;
  w->cap = 2 * w->o.batch_max_runs;
  w->ring = cod_malloc_array(w->cap, sizeof *w->ring);
  w->batch = cod_malloc_array(w->o.batch_max_runs, sizeof *w->batch);
  if (!w->ring || !w->batch) {
    cod_free(w->ring), cod_free(w->batch), cod_free(w);
    return cod_err_set(err, COD_ENOMEM, "out of memory");
  }
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->not_empty, NULL);
  pthread_cond_init(&w->not_full, NULL);
  if (pthread_create(&w->th, NULL, writer_main, w) != 0) {
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->not_empty);
    pthread_cond_destroy(&w->not_full);
    cod_free(w->ring), cod_free(w->batch), cod_free(w);
    return cod_err_set(err, COD_ENOMEM, "cannot start the writer thread");
  }
  w->db = o->db;
  *out = w;
  return COD_OK;
}

int run_writer_put(run_writer *w, run_result *res, size_t point, size_t trial) {
  pthread_mutex_lock(&w->mu);
  while (w->count == w->cap && !w->failed) pthread_cond_wait(&w->not_full, &w->mu);
  if (w->failed) {
    int rc = w->fail_err.status;
    pthread_mutex_unlock(&w->mu);
    result_free(res);
    return rc;
  }
  w->ring[(w->head + w->count) % w->cap] = (slot){res, point, trial};
  w->count++;
  pthread_cond_signal(&w->not_empty);
  pthread_mutex_unlock(&w->mu);
  return COD_OK;
}

int run_writer_finish(run_writer *w, run_sweep_stats *st, cod_err *err) {
  pthread_mutex_lock(&w->mu);
  w->closing = 1;
  pthread_cond_signal(&w->not_empty);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->th, NULL);
  for (size_t i = 0; i < w->count; i++) result_free(w->ring[(w->head + i) % w->cap].res);
  int rc = w->failed ? w->fail_err.status : COD_OK;
  if (rc && err) *err = w->fail_err;
  if (st) {
    st->committed += w->st.committed, st->ok += w->st.ok, st->not_ok += w->st.not_ok;
    st->cond_flagged += w->st.cond_flagged;
    st->writer_cpu_s += w->cpu_s;
    if (w->st.failed_runs && st->failed_runs == 0)
      memcpy(st->first_failure, w->st.first_failure, sizeof st->first_failure);
    st->failed_runs += w->st.failed_runs;
  }
  res_db_close(w->db);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->not_empty);
  pthread_cond_destroy(&w->not_full);
  cod_free(w->ring);
  cod_free(w->batch);
  cod_free(w);
  return rc;
}
