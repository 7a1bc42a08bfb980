/* run_sweep.c: the sweep runner (see run_sweep.h).
 *
 * Tasks are (point, trial) pairs in sweep order. Worker threads claim the next task index
 * under a mutex, execute it with their own asset cache, and park the finished result in
 * its slot; the calling thread commits slots strictly in task order as they fill. On the
 * first error no new task is claimed; every task before the failed one is still committed,
 * so no finished result is lost.
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

typedef struct task {
  size_t point, trial;
  int state;        /* 0 waiting, 1 running, 2 done, 3 failed */
  run_result res;
  cod_err err;
} task;

typedef struct sweep {
  const run_scenario *sc;
  const run_backend *be;
  task *tasks;
  size_t n_tasks, next;
  int abort;
  pthread_mutex_t mu;
  pthread_cond_t cv;
} sweep;

static void *worker_main(void *arg) {
  sweep *s = arg;
  run_assets *cache = NULL;
  for (;;) {
    pthread_mutex_lock(&s->mu);
    size_t i = s->next;
    if (s->abort || i >= s->n_tasks) {
      pthread_mutex_unlock(&s->mu);
      break;
    }
    s->next++;
    s->tasks[i].state = 1;
    pthread_mutex_unlock(&s->mu);
    task *t = &s->tasks[i];
    run_config cfg;
    char *json = NULL;
    int rc = run_scenario_point(s->sc, t->point, &cfg, &t->err);
    if (!rc) rc = run_scenario_point_json(s->sc, t->point, &json, &t->err);
    if (!rc) {
      run_ident id = {run_scenario_source(s->sc), run_scenario_hash(s->sc), json, t->point, t->trial};
      rc = run_execute_backend(&cfg, &id, s->be, &cache, &t->res, &t->err);
    }
    cod_free(json);
    pthread_mutex_lock(&s->mu);
    t->state = rc ? 3 : 2;
    if (rc) s->abort = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
  }
  run_assets_free(cache);
  return NULL;
}

/* The model of cfg can be built and holds the selected conv layers. *last names the model
 * checked before (with *last_convs conv layers), so consecutive points sharing a model
 * parse it once. A name that is neither built in nor a readable file gets one message
 * naming both possibilities. */
static int check_model(const run_config *cfg, size_t p, char *last, size_t cap,
                       size_t *last_convs, cod_err *err) {
  const char *name = cfg->model.name;
  if (strcmp(last, name) != 0) {
    model *m = NULL;
    cod_err le = {0};
    int rc = model_lookup(name, &m, &le);
    if (rc == COD_EINVAL) {
      /* a bare word that is no file was meant as a built-in name; anything else is a path */
      struct stat sb;
      if (!strchr(name, '/') && !strstr(name, ".model") && !model_onnx_is_path(name) &&
          stat(name, &sb) != 0)
        return cod_err_set(err, COD_EINVAL, "[model] name: %s, and no model file '%s'",
                           le.msg, name);
      rc = model_load_any(name, &m, NULL, err);
    } else if (rc && err) {
      *err = le;
    }
    if (rc) return rc;
    *last_convs = model_conv_count(m);
    model_free(m);
    snprintf(last, cap, "%s", name);
  }
  size_t n = cfg->model.n_layers;
  if (n && cfg->model.layers[n - 1] > *last_convs)
    return cod_err_set(err, COD_EINVAL, "[model] layers: conv layer %zu selected (point %zu), "
                       "but model %s has %zu conv layers", cfg->model.layers[n - 1], p, name,
                       *last_convs);
  return COD_OK;
}

/* The task list: every (point, trial), minus those already stored when resuming (db NULL:
 * no database yet, so nothing is stored). */
static int build_tasks(sweep *s, res_db *db, const run_sweep_opts *o, run_sweep_stats *st,
                       cod_err *err) {
  size_t np = run_scenario_points(s->sc), cap = 0, index = 0, convs = 0;
  char last_model[sizeof(((run_config *)0)->model.name) + 1] = "";
  for (size_t p = 0; p < np; p++) {
    run_config cfg;
    int rc = run_scenario_point(s->sc, p, &cfg, err);
    if (!rc) rc = check_model(&cfg, p, last_model, sizeof last_model, &convs, err);
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
  run_sweep_stats st;
  memset(&st, 0, sizeof st);
  res_db *db = NULL;
  struct stat sb;
  int rc = run_scenario_validate(sc, NULL, err);
  if (!rc) rc = res_db_check_name(o->db_path, err); /* before any run is computed */
  if (!rc && stat(o->db_path, &sb) == 0) rc = res_db_open(o->db_path, 0, &db, err);
  if (!rc) rc = build_tasks(&s, db, o, &st, err);
  if (rc) {
    res_db_close(db);
    cod_free(s.tasks);
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
  size_t done = st.skipped;
  for (size_t i = 0; !rc && i < s.n_tasks; i++) {
    pthread_mutex_lock(&s.mu);
    while (s.tasks[i].state < 2 && !(s.abort && s.tasks[i].state == 0)) pthread_cond_wait(&s.cv, &s.mu);
    int state = s.tasks[i].state;
    pthread_mutex_unlock(&s.mu);
    if (state == 0) break; /* never started: an earlier... later task failed */
    if (state == 3) {
      rc = s.tasks[i].err.status ? s.tasks[i].err.status : COD_EINVAL;
      if (err) *err = s.tasks[i].err;
      break;
    }
    /* the first run to keep creates the file; if it fails to commit, no file is left */
    if (!db) rc = res_db_open(o->db_path, RES_DB_DROP_EMPTY, &db, err);
    if (!rc) rc = run_result_write(db, &s.tasks[i].res, err);
    if (!rc) {
      st.committed++;
      if (strcmp(s.tasks[i].res.run.status, RES_STATUS_OK) == 0) st.ok++;
      else st.not_ok++;
      for (size_t l = 0; l < s.tasks[i].res.n_layers; l++)
        st.cond_flagged += s.tasks[i].res.layers[l].cond_flagged == 1;
      if (s.tasks[i].res.error_msg[0] && st.failed_runs++ == 0)
        snprintf(st.first_failure, sizeof st.first_failure, "point %zu trial %zu: %.400s",
                 s.tasks[i].point, s.tasks[i].trial, s.tasks[i].res.error_msg);
    }
    run_result_fini(&s.tasks[i].res);
    if (o->progress) o->progress(o->progress_ctx, ++done, st.total);
  }
  if (rc) {
    pthread_mutex_lock(&s.mu);
    s.abort = 1;
    pthread_mutex_unlock(&s.mu);
  }
  /* a later task may have failed first: report it once the earlier ones are in */
  for (size_t i = 0; !rc && i < s.n_tasks; i++)
    if (s.tasks[i].state == 3) {
      rc = s.tasks[i].err.status ? s.tasks[i].err.status : COD_EINVAL;
      if (err) *err = s.tasks[i].err;
    }
  for (size_t t = 0; t < started; t++) pthread_join(th[t], NULL);
  for (size_t i = 0; i < s.n_tasks; i++) run_result_fini(&s.tasks[i].res);
  pthread_mutex_destroy(&s.mu);
  pthread_cond_destroy(&s.cv);
  cod_free(s.tasks);
  res_db_close(db);
  if (stats) *stats = st;
  return rc;
}
