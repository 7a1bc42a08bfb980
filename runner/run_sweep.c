/* run_sweep.c: the sweep runner (see run_sweep.h).
 *
 * Tasks are (point, trial) pairs in sweep order. Worker threads claim the next task index
 * under a mutex, execute it with their own asset cache, and park the finished result in
 * its slot; the calling thread hands slots strictly in task order, as they fill, to the
 * writer thread (run_writer.h), which commits them in batches. On the first error no new
 * task is claimed; every task before the failed one is still committed, so no finished
 * result is lost. The loop that hands runs over is the one place a "stop after the runs
 * in flight" request would be checked, between two runs.
 *
 * Nothing is written before there is something to keep: a database that does not exist yet
 * is created when the first run is committed, so a sweep that fails on its first run (bad
 * model, input or weights file) leaves no file behind. Checks that need the model (it
 * exists, the selected conv layers are in it) run for every point before any run starts.
 */
#include "run_sweep.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cod_alloc.h"
#include "model.h"
#include "model_onnx.h"
#include "res_db.h"
#include "run_exec.h"
#include "run_plan.h"
#include "run_writer.h"

/* Tasks a worker may claim beyond the last one handed to the writer. */
#define RUN_SWEEP_AHEAD 256

/* One (point, trial). Kept small (32 bytes): the list holds every run of the sweep before
 * the first starts, and its result exists only from the end of the run to its commit. */
typedef struct task {
  size_t point, trial;
  int state;        /* 0 waiting, 1 running, 2 done, 3 failed */
  run_result *res;  /* when done: owned until committed */
} task;

typedef struct sweep {
  const run_scenario *sc;
  const run_backend *be;
  task *tasks;
  size_t n_tasks, next;
  size_t handed;      /* tasks handed to the writer (under mu): claims stay within
                         RUN_SWEEP_AHEAD of it, so parked results are bounded and a stop
                         request leaves few runs to commit */
  int abort;
  const volatile sig_atomic_t *stop; /* opts->stop: claim no task once it is set */
  size_t fail_index;  /* the earliest failed task, SIZE_MAX if none (under mu) */
  cod_err fail_err;   /* its message */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  run_sweep_plan plan; /* which points run; the others are recorded with the first run */
} sweep;

/* The points the plan skips, into skipped_points (idempotent: a resumed sweep repeats it). */
static int record_skips(const sweep *s, res_db *db, cod_err *err) {
  for (size_t i = 0; i < s->plan.n_skips; i++) {
    const run_point_skip *k = &s->plan.skips[i];
    char *label = NULL;
    int rc = run_scenario_label(s->sc, k->point, &label, err);
    res_skipped_row row = {run_scenario_hash(s->sc), run_scenario_source(s->sc),
                           (int64_t)k->point, label,
                           k->state == RUN_POINT_DUPLICATE ? "duplicate" : "infeasible",
                           k->state == RUN_POINT_DUPLICATE ? (int64_t)k->same_as : RES_NULL_INT,
                           k->reason};
    if (!rc) rc = res_db_insert_skipped(db, &row, err);
    cod_free(label);
    if (rc) return rc;
  }
  return COD_OK;
}

/* The writer's hook before its first batch: the skipped points, with the first run. */
static int first_write(void *ctx, res_db *db, cod_err *err) {
  return record_skips(ctx, db, err);
}

static void *worker_main(void *arg) {
  sweep *s = arg;
  run_assets *cache = NULL;
  /* the point's config and JSON, kept while this thread's tasks stay on one point (the
   * JSON of a point cost a fifth of a model-only run); rows copy what they keep */
  run_config cfg;
  char *json = NULL;
  size_t have_point = SIZE_MAX;
  for (;;) {
    pthread_mutex_lock(&s->mu);
    while (!s->abort && !(s->stop && *s->stop) && s->next < s->n_tasks &&
           s->next >= s->handed + RUN_SWEEP_AHEAD)
      pthread_cond_wait(&s->cv, &s->mu);
    size_t i = s->next;
    if (s->abort || i >= s->n_tasks || (s->stop && *s->stop)) {
      pthread_cond_broadcast(&s->cv); /* the committer may wait for a task none will run */
      pthread_mutex_unlock(&s->mu);
      break;
    }
    s->next++;
    s->tasks[i].state = 1;
    pthread_mutex_unlock(&s->mu);
    task *t = &s->tasks[i];
    cod_err e = {0};
    run_result *res = cod_calloc(1, sizeof *res);
    int rc = res ? COD_OK : cod_err_set(&e, COD_ENOMEM, "out of memory");
    if (!rc && have_point != t->point) {
      cod_free(json), json = NULL, have_point = SIZE_MAX;
      rc = run_scenario_point(s->sc, t->point, &cfg, &e);
      if (!rc) rc = run_scenario_point_json(s->sc, t->point, &json, &e);
      if (!rc) have_point = t->point;
    }
    if (!rc) {
      run_ident id = {run_scenario_source(s->sc), run_scenario_hash(s->sc), json, t->point, t->trial};
      rc = run_execute_backend(&cfg, &id, s->be, &cache, res, &e);
    }
    if (rc) cod_free(res), res = NULL;
    pthread_mutex_lock(&s->mu);
    t->state = rc ? 3 : 2;
    t->res = res;
    if (rc) s->abort = 1;
    if (rc && i < s->fail_index) {
      s->fail_index = i;
      s->fail_err = e;
      if (!s->fail_err.status) s->fail_err.status = rc;
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
  }
  cod_free(json);
  run_assets_free(cache);
  return NULL;
}

/* The task list: every (point, trial), minus those already stored when resuming (db NULL:
 * no database yet, so nothing is stored). */
static int build_tasks(sweep *s, res_db *db, const run_sweep_opts *o, run_sweep_stats *st,
                       cod_err *err) {
  size_t np = run_scenario_points(s->sc), cap = 0, index = 0;
  for (size_t p = 0; p < np; p++) {
    run_config cfg;
    if (s->plan.state[p] != RUN_POINT_RUN) continue; /* skipped: recorded, never run */
    int rc = run_scenario_point(s->sc, p, &cfg, err);
    if (rc) return rc;
    for (size_t t = 0; t < cfg.run.trials; t++) {
      char key[256];
      int exists = 0;
      if (o->share_count > 1 && index++ % o->share_count != o->share_index) continue;
      st->total++;
      run_key_format(key, sizeof key, run_scenario_hash(s->sc),
                     o->backend ? o->backend->name : NULL, p, t);
      if (db && (rc = res_db_run_exists(db, key, &exists, err))) return rc;
      if (exists && !o->resume)
        return cod_err_set(err, COD_EINVAL,
                           "%s already holds run %s of this scenario; use --resume to run "
                           "only the missing runs, or another --db", o->db_path, key);
      if (exists) {
        st->skipped++;
        continue;
      }
      if (s->n_tasks == cap) {
        cap = cap ? 2 * cap : 64;
        task *nt = cod_realloc(s->tasks, cap * sizeof *nt);
        if (!nt) return cod_err_set(err, COD_ENOMEM, "out of memory");
        s->tasks = nt;
      }
      memset(&s->tasks[s->n_tasks], 0, sizeof(task));
      s->tasks[s->n_tasks].point = p, s->tasks[s->n_tasks].trial = t;
      s->n_tasks++;
    }
  }
  return COD_OK;
}

int run_sweep(const run_scenario *sc, const run_sweep_opts *o, run_sweep_stats *stats,
              cod_err *err) {
  sweep s;
  memset(&s, 0, sizeof s);
  s.sc = sc;
  s.be = o->backend;
  s.stop = o->stop;
  run_sweep_stats st;
  memset(&st, 0, sizeof st);
  res_db *db = NULL;
  struct stat sb;
  s.fail_index = SIZE_MAX;
  int rc = run_plan_sweep(sc, &s.plan, err);
  if (!rc) rc = run_plan_sweep_refusal(&s.plan, err);
  st.infeasible = s.plan.n_infeasible, st.duplicates = s.plan.n_duplicate;
  if (!rc) rc = res_db_check_name(o->db_path, err); /* before any run is computed */
  if (!rc && stat(o->db_path, &sb) == 0) rc = res_db_open(o->db_path, 0, &db, err);
  if (!rc) rc = build_tasks(&s, db, o, &st, err);
  if (rc) {
    res_db_close(db);
    cod_free(s.tasks);
    run_plan_sweep_fini(&s.plan);
    if (stats) *stats = st;
    return rc;
  }
  pthread_mutex_init(&s.mu, NULL);
  pthread_cond_init(&s.cv, NULL);
  size_t jobs = o->jobs < 1 ? 1 : o->jobs, started = 0;
  if (jobs > s.n_tasks) jobs = s.n_tasks ? s.n_tasks : 1;
  pthread_t th[64];
  if (jobs > 64) jobs = 64;
  for (; started < jobs && s.n_tasks; started++)
    if (pthread_create(&th[started], NULL, worker_main, &s) != 0) break;
  if (started == 0 && s.n_tasks) rc = cod_err_set(err, COD_ENOMEM, "cannot start a worker thread");
  /* finished runs go, in task order, to the writer thread, which commits them in batches */
  run_writer *wr = NULL;
  run_writer_opts wo = {o->db_path, db, o->batch_max_runs, o->batch_max_s, o->progress,
                        o->progress_ctx, st.skipped, st.total, o->after_insert, o->hook_ctx,
                        first_write, &s};
  if (!rc && (rc = run_writer_start(&wo, &wr, err)) == COD_OK) db = NULL; /* the writer's now */
  for (size_t i = 0; !rc && i < s.n_tasks; i++) {
    pthread_mutex_lock(&s.mu);
    while (s.tasks[i].state < 2 && !((s.abort || (s.stop && *s.stop)) && s.tasks[i].state == 0))
      pthread_cond_wait(&s.cv, &s.mu);
    int state = s.tasks[i].state;
    run_result *res = s.tasks[i].res;
    s.tasks[i].res = NULL;
    pthread_mutex_unlock(&s.mu);
    if (state == 0 && !s.abort) { /* stopped: every run that started is handed over */
      st.stopped = 1;
      break;
    }
    if (state == 0) break; /* never started: a later task failed */
    if (state == 3) { /* every earlier task is handed over: it is the earliest failure */
      pthread_mutex_lock(&s.mu);
      rc = s.fail_err.status ? s.fail_err.status : COD_EINVAL;
      if (err) *err = s.fail_err;
      pthread_mutex_unlock(&s.mu);
      break;
    }
    pthread_mutex_lock(&s.mu);
    s.handed = i + 1;
    pthread_cond_broadcast(&s.cv); /* a worker waiting to run ahead may claim again */
    pthread_mutex_unlock(&s.mu);
    /* the writer's failure (an earlier run's) comes back from run_writer_finish below */
    if (run_writer_put(wr, res, s.tasks[i].point, s.tasks[i].trial)) {
      rc = -1; /* stop handing over; the status is the writer's */
      break;
    }
  }
  /* nothing more is handed over (done, stopped or failed): no task is claimed any more,
   * and a worker waiting to run ahead is woken to leave */
  pthread_mutex_lock(&s.mu);
  s.abort = 1;
  pthread_cond_broadcast(&s.cv);
  pthread_mutex_unlock(&s.mu);
  if (rc == -1) rc = COD_OK; /* the writer's own failure, reported by run_writer_finish */
  if (wr) { /* commit what was handed over; a writer failure concerns an earlier run */
    cod_err we = {0};
    int wrc = run_writer_finish(wr, &st, &we);
    if (wrc) {
      rc = wrc;
      if (err) *err = we;
    }
  }
  /* a later task may have failed first: report it once the earlier ones are in */
  for (size_t t = 0; t < started; t++) pthread_join(th[t], NULL);
  if (!rc && s.fail_index != SIZE_MAX) {
    rc = s.fail_err.status ? s.fail_err.status : COD_EINVAL;
    if (err) *err = s.fail_err;
  }
  for (size_t i = 0; i < s.n_tasks; i++)
    if (s.tasks[i].res) run_result_fini(s.tasks[i].res), cod_free(s.tasks[i].res);
  pthread_mutex_destroy(&s.mu);
  pthread_cond_destroy(&s.cv);
  cod_free(s.tasks);
  run_plan_sweep_fini(&s.plan);
  res_db_close(db);
  if (stats) *stats = st;
  return rc;
}
