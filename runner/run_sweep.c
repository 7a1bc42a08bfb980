/* run_sweep.c: the sweep runner (see run_sweep.h).
 *
 * Tasks are (file, point, trial) triples in chain order: the files in the order given,
 * each file's points and trials in sweep order (run_sweep is a chain of one file). Worker
 * threads claim tasks under a mutex, execute them with their own mutable caches and
 * the read-only assets (model, weights, reference pass) of one pool shared by all threads
 * (run_assets.h: built once per key, a second thread waits for it), and park
 * each finished result in its slot; the calling thread hands slots strictly in task order,
 * as they fill, to the writer thread of the task's file (run_writer.h), which commits them
 * in batches. So what is committed, and in which order, does not depend on the order in
 * which tasks are claimed, nor on `jobs`.
 *
 * Claim order: among the waiting tasks of the first file that has one, within
 * RUN_SWEEP_AHEAD of the last task handed to a writer, the one with the largest cost
 * estimate (run_cost.h), the lowest index among equals; a thread takes the runs of the
 * model whose real-compute assets it holds first (building them, He weights and the
 * reference pass, costs AlexNet about one run's time per thread), and keeps model-only
 * assets apart, so that the model-only runs between two real-compute files do not evict
 * them. Longest-first keeps the last runs
 * of a file short, so a file does not end on one long run while the other threads idle;
 * sweeps whose points all cost the same are claimed in index order, as before. Files are
 * not barriers: once a file has no task left to start, the next file's runs start while
 * its last runs finish (one file at a time, so a thread changes model assets only where
 * the files change); the next file's writer starts only once the previous file's writer
 * has committed everything and closed, so every file is written exactly as a sweep of its
 * own would write it.
 *
 * Failures: once task j failed, only tasks before j are still claimed; every one of them
 * runs and is committed (as with in-order claims, where they were all claimed already),
 * nothing from j on. A stop request ends the claims at once; the hand-over stops at the
 * first task that never started, so what is committed is a prefix of the chain and
 * `resume` continues it (results of later tasks that finished are dropped and rerun).
 *
 * Nothing is written before there is something to keep: a database that does not exist yet
 * is created when the first run is committed, so a sweep that fails on its first run (bad
 * model, input or weights file) leaves no file behind. Every file of a chain is planned
 * (run_plan.h) and its task list built before any run starts.
 */
#include "run_sweep.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cod_alloc.h"
#include "model.h"
#include "model_onnx.h"
#include "res_db.h"
#include "run_assets.h"
#include "run_cost.h"
#include "run_exec.h"
#include "run_plan.h"
#include "run_writer.h"

/* Read-only asset sets (model, weights, reference pass) kept when no thread holds them, in
 * case a later file comes back to their key: beyond them, the pool holds only the keys
 * in use, at most two per thread (real-compute and model-only). */
#define RUN_SWEEP_IDLE_ASSETS 1

/* Tasks a worker may claim beyond the last one handed to the writer. */
#define RUN_SWEEP_AHEAD 256

/* One (file, point, trial). Kept small (40 bytes): the list holds every run of the chain
 * before the first starts, and its result exists only from the end of the run to its
 * commit. */
typedef struct task {
  size_t point, trial;
  float cost;       /* run_cost_estimate of the point: claims go largest first */
  unsigned file;    /* index in the chain */
  unsigned model;   /* real numbers: 1 + the index of its model name in the chain's list
                       (the asset class a thread keeps warm); 0 model-only */
  int state;        /* 0 waiting, 1 running, 2 done, 3 failed */
  run_result *res;  /* when done: owned until committed */
} task;

/* One scenario file of the chain. */
typedef struct sweep_file {
  const run_scenario *sc;
  void *progress_ctx;
  run_sweep_plan plan;  /* which points run; the others are recorded with the first run */
  run_sweep_stats st;
  size_t begin, end;    /* its tasks: [begin, end) */
} sweep_file;

typedef struct sweep {
  sweep_file *files;
  size_t n_files;
  char **models;      /* the distinct model names of the real-compute points (task.model) */
  size_t n_models;
  const run_backend *be;
  task *tasks;
  size_t n_tasks;
  size_t waiting;     /* no task below this index is waiting (under mu) */
  size_t handed;      /* tasks handed to the writers (under mu): claims stay within
                         RUN_SWEEP_AHEAD of it, so parked results are bounded and a stop
                         request leaves few runs to commit */
  int abort;
  const volatile sig_atomic_t *stop; /* opts->stop: claim no task once it is set */
  void (*on_claim)(void *ctx, size_t file, size_t point, size_t trial); /* opts' test hook */
  void *hook_ctx;
  size_t fail_index;  /* the earliest failed task, SIZE_MAX if none (under mu) */
  cod_err fail_err;   /* its message */
  run_asset_pool *assets; /* read-only assets shared by the threads (run_assets.h) */
  pthread_mutex_t mu;
  pthread_cond_t cv;
} sweep;

/* The points the plan skips, into skipped_points (idempotent: a resumed sweep repeats it). */
static int record_skips(const sweep_file *f, res_db *db, cod_err *err) {
  for (size_t i = 0; i < f->plan.n_skips; i++) {
    const run_point_skip *k = &f->plan.skips[i];
    char *label = NULL;
    int rc = run_scenario_label(f->sc, k->point, &label, err);
    res_skipped_row row = {run_scenario_hash(f->sc), run_scenario_source(f->sc),
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

/* The task to claim next for a thread whose real-compute assets are of model `warm` (0:
 * none yet) (under mu), SIZE_MAX if none may be claimed now; *none_left = 1 when no task
 * will ever be claimable again. */
static size_t claim_pick(sweep *s, unsigned warm, int *none_left) {
  size_t lo = s->waiting, hi = s->handed + RUN_SWEEP_AHEAD;
  while (lo < s->n_tasks && s->tasks[lo].state != 0) lo++;
  s->waiting = lo;
  if (hi > s->n_tasks) hi = s->n_tasks;
  if (hi > s->fail_index) hi = s->fail_index; /* after a failure: only tasks before it */
  *none_left = lo >= s->n_tasks || lo >= s->fail_index;
  /* within the first file that has a waiting task: a thread moves to the next file (and
   * its model's assets) only when this one has nothing left to start */
  if (lo < s->n_tasks && hi > s->files[s->tasks[lo].file].end)
    hi = s->files[s->tasks[lo].file].end;
  /* the longest run of the thread's warm model if there is one: building a model's assets
   * (weights, reference pass) costs as much as a run of it, and each thread builds its own */
  size_t best = SIZE_MAX, any = SIZE_MAX;
  for (size_t i = lo; i < hi; i++) {
    const task *t = &s->tasks[i];
    if (t->state != 0) continue;
    if (any == SIZE_MAX || t->cost > s->tasks[any].cost) any = i;
    if (warm && t->model == warm && (best == SIZE_MAX || t->cost > s->tasks[best].cost)) best = i;
  }
  return best != SIZE_MAX ? best : any;
}

static void *worker_main(void *arg) {
  sweep *s = arg;
  /* two asset caches: model-only runs (a parsed model, cheap) do not evict the weights and
   * reference pass of the real-compute runs around them */
  run_assets *cache_real = NULL, *cache_model = NULL;
  unsigned warm = 0; /* task.model of cache_real's runs */
  /* the point's config and JSON, kept while this thread's tasks stay on one point (the
   * JSON of a point cost a fifth of a model-only run); rows copy what they keep */
  run_config cfg;
  char *json = NULL;
  size_t have_point = SIZE_MAX, have_file = SIZE_MAX;
  for (;;) {
    pthread_mutex_lock(&s->mu);
    size_t i = SIZE_MAX;
    int none_left = 0;
    while (!s->abort && !(s->stop && *s->stop) &&
           (i = claim_pick(s, warm, &none_left)) == SIZE_MAX && !none_left)
      pthread_cond_wait(&s->cv, &s->mu);
    if (i == SIZE_MAX || s->abort || (s->stop && *s->stop)) {
      pthread_cond_broadcast(&s->cv); /* the committer may wait for a task none will run */
      pthread_mutex_unlock(&s->mu);
      break;
    }
    s->tasks[i].state = 1;
    if (s->on_claim)
      s->on_claim(s->hook_ctx, s->tasks[i].file, s->tasks[i].point, s->tasks[i].trial);
    pthread_mutex_unlock(&s->mu);
    task *t = &s->tasks[i];
    const run_scenario *sc = s->files[t->file].sc;
    cod_err e = {0};
    run_result *res = cod_calloc(1, sizeof *res);
    int rc = res ? COD_OK : cod_err_set(&e, COD_ENOMEM, "out of memory");
    if (!rc && (have_point != t->point || have_file != t->file)) {
      cod_free(json), json = NULL, have_point = SIZE_MAX;
      rc = run_scenario_point(sc, t->point, &cfg, &e);
      if (!rc) rc = run_scenario_point_json(sc, t->point, &json, &e);
      if (!rc) have_point = t->point, have_file = t->file;
    }
    if (!rc) {
      run_ident id = {run_scenario_source(sc), run_scenario_hash(sc), json, t->point, t->trial};
      run_assets **cache = t->model ? &cache_real : &cache_model;
      if (!*cache) rc = run_assets_new_shared(s->assets, cache, &e);
      if (!rc) rc = run_execute_backend(&cfg, &id, s->be, cache, res, &e);
      if (t->model) warm = t->model;
    }
    if (rc) cod_free(res), res = NULL;
    pthread_mutex_lock(&s->mu);
    t->state = rc ? 3 : 2;
    t->res = res;
    if (rc && i < s->fail_index) {
      s->fail_index = i;
      s->fail_err = e;
      if (!s->fail_err.status) s->fail_err.status = rc;
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
  }
  cod_free(json);
  run_assets_free(cache_real);
  run_assets_free(cache_model);
  return NULL;
}

/* 1 + the index of cfg's model in s->models (added if new) for a real-compute point, 0 for
 * a model-only one; 0 with COD_ENOMEM in *rc when the list cannot grow. */
static unsigned model_class(sweep *s, const run_config *cfg, int *rc) {
  if (cfg->run.compute == RUN_COMPUTE_MODEL) return 0;
  for (size_t i = 0; i < s->n_models; i++)
    if (strcmp(s->models[i], cfg->model.name) == 0) return (unsigned)(i + 1);
  char **v = cod_realloc(s->models, (s->n_models + 1) * sizeof *v);
  if (v) s->models = v;
  if (!v || !(v[s->n_models] = cod_strdup(cfg->model.name))) return *rc = COD_ENOMEM, 0;
  return (unsigned)++s->n_models;
}

/* 1 if an earlier file of the chain has f's scenario hash: its runs have f's keys, so they
 * are in the database by the time f is written, as if stored before. */
static int repeats_earlier(const sweep *s, size_t f) {
  for (size_t g = 0; g < f; g++)
    if (strcmp(run_scenario_hash(s->files[g].sc), run_scenario_hash(s->files[f].sc)) == 0)
      return 1;
  return 0;
}

/* File f's tasks: every (point, trial), minus those already stored when resuming (db NULL:
 * no database yet, so nothing is stored), appended to s->tasks. */
static int build_tasks(sweep *s, size_t f, res_db *db, const run_sweep_opts *o, size_t *cap,
                       run_cost_models *cm, cod_err *err) {
  sweep_file *sf = &s->files[f];
  const run_scenario *sc = sf->sc;
  run_sweep_stats *st = &sf->st;
  size_t np = run_scenario_points(sc), index = 0;
  int earlier = repeats_earlier(s, f);
  sf->begin = s->n_tasks;
  for (size_t p = 0; p < np; p++) {
    run_config cfg;
    if (sf->plan.state[p] != RUN_POINT_RUN) continue; /* skipped: recorded, never run */
    int rc = run_scenario_point(sc, p, &cfg, err);
    double cost = 0;
    if (!rc) rc = run_cost_estimate(cm, &cfg, &cost, err);
    unsigned mc = rc ? 0 : model_class(s, &cfg, &rc);
    if (rc == COD_ENOMEM && err && !err->status) cod_err_set(err, rc, "out of memory");
    if (rc) return rc;
    for (size_t t = 0; t < cfg.run.trials; t++) {
      char key[256];
      int exists = earlier;
      if (o->share_count > 1 && index++ % o->share_count != o->share_index) continue;
      st->total++;
      run_key_format(key, sizeof key, run_scenario_hash(sc),
                     o->backend ? o->backend->name : NULL, p, t);
      if (!exists && db && (rc = res_db_run_exists(db, key, &exists, err))) return rc;
      if (exists && !o->resume)
        return cod_err_set(err, COD_EINVAL,
                           "%s already holds run %s of this scenario; use --resume to run "
                           "only the missing runs, or another --db", o->db_path, key);
      if (exists) {
        st->skipped++;
        continue;
      }
      if (s->n_tasks == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        task *nt = cod_realloc(s->tasks, *cap * sizeof *nt);
        if (!nt) return cod_err_set(err, COD_ENOMEM, "out of memory");
        s->tasks = nt;
      }
      task *tk = &s->tasks[s->n_tasks++];
      memset(tk, 0, sizeof *tk);
      tk->point = p, tk->trial = t, tk->file = (unsigned)f, tk->cost = (float)cost;
      tk->model = mc;
    }
  }
  sf->end = s->n_tasks;
  return COD_OK;
}

/* Plan every file and build the task list (nothing runs yet). On failure *at is the file. */
static int prepare(sweep *s, res_db *db, const run_sweep_opts *o, size_t *at, cod_err *err) {
  size_t cap = 0;
  run_cost_models *cm = NULL;
  int rc = run_cost_models_new(&cm, err);
  for (size_t f = 0; !rc && f < s->n_files; f++) {
    sweep_file *sf = &s->files[f];
    *at = f;
    rc = run_plan_sweep(sf->sc, &sf->plan, err);
    if (!rc) rc = run_plan_sweep_refusal(&sf->plan, err);
    sf->st.infeasible = sf->plan.n_infeasible, sf->st.duplicates = sf->plan.n_duplicate;
    if (!rc) rc = build_tasks(s, f, db, o, &cap, cm, err);
  }
  run_cost_models_free(cm);
  return rc;
}

/* Wait for task i, hand it to wr. Returns 0 handed, 1 stopped (a task that never started),
 * 2 it failed (*rc, err), 3 the writer refused it (its status comes with finish). */
static int hand_over(sweep *s, size_t i, run_writer *wr, int *rc, cod_err *err) {
  pthread_mutex_lock(&s->mu);
  while (s->tasks[i].state < 2 && !((s->abort || (s->stop && *s->stop)) && s->tasks[i].state == 0))
    pthread_cond_wait(&s->cv, &s->mu);
  int state = s->tasks[i].state;
  run_result *res = s->tasks[i].res;
  s->tasks[i].res = NULL;
  if (state == 3) { /* every earlier task is handed over: it is the earliest failure */
    *rc = s->fail_err.status ? s->fail_err.status : COD_EINVAL;
    if (err) *err = s->fail_err;
  } else if (state == 2) {
    s->handed = i + 1;
    pthread_cond_broadcast(&s->cv); /* a worker waiting to run ahead may claim again */
  }
  pthread_mutex_unlock(&s->mu);
  if (state == 0) return 1; /* stopped (or no worker thread): every started run is handed */
  if (state == 3) return 2;
  /* the writer's failure (an earlier run's) comes back from run_writer_finish */
  return run_writer_put(wr, res, s->tasks[i].point, s->tasks[i].trial) ? 3 : 0;
}

/* Commit file f's tasks through its own writer: started once the previous file's writer
 * has closed, finished before the next one starts. *db: an open handle for the first file
 * (taken over), else NULL. Returns COD_OK or the failure; *stopped on a stop request. */
static int write_file(sweep *s, size_t f, const run_sweep_opts *o, res_db **db, int *stopped,
                      cod_err *err) {
  sweep_file *sf = &s->files[f];
  struct stat sb;
  int rc = COD_OK;
  if (!*db && stat(o->db_path, &sb) == 0) rc = res_db_open(o->db_path, 0, db, err);
  run_writer *wr = NULL;
  run_writer_opts wo = {o->db_path, *db, o->batch_max_runs, o->batch_max_s, o->progress,
                        sf->progress_ctx, sf->st.skipped, sf->st.total, o->after_insert,
                        o->hook_ctx, first_write, sf};
  if (!rc && (rc = run_writer_start(&wo, &wr, err)) == COD_OK) *db = NULL; /* the writer's */
  for (size_t i = sf->begin; !rc && i < sf->end; i++) {
    int h = hand_over(s, i, wr, &rc, err);
    if (h == 1) *stopped = 1;
    if (h) break;
  }
  if (wr) { /* commit what was handed over; a writer failure concerns an earlier run */
    cod_err we = {0};
    int wrc = run_writer_finish(wr, &sf->st, &we);
    if (wrc) {
      rc = wrc;
      if (err) *err = we;
    }
  }
  return rc;
}

int run_sweep_chain(const run_scenario *const *scs, void *const *progress_ctx, size_t n,
                    const run_sweep_opts *o, run_sweep_stats *stats, size_t *at,
                    cod_err *err) {
  sweep s;
  memset(&s, 0, sizeof s);
  size_t at_f = 0;
  s.be = o->backend;
  s.stop = o->stop;
  s.on_claim = o->on_claim, s.hook_ctx = o->hook_ctx;
  s.fail_index = SIZE_MAX;
  s.n_files = n;
  s.files = cod_calloc(n ? n : 1, sizeof *s.files);
  if (!s.files) return cod_err_set(err, COD_ENOMEM, "out of memory");
  for (size_t f = 0; f < n; f++)
    s.files[f].sc = scs[f], s.files[f].progress_ctx = progress_ctx ? progress_ctx[f] : NULL;
  res_db *db = NULL;
  struct stat sb;
  int rc = n > UINT32_MAX ? cod_err_set(err, COD_EINVAL, "too many scenario files") : COD_OK;
  if (!rc) rc = res_db_check_name(o->db_path, err); /* before any run is computed */
  if (!rc && stat(o->db_path, &sb) == 0) rc = res_db_open(o->db_path, 0, &db, err);
  if (!rc) rc = prepare(&s, db, o, &at_f, err);
  if (!rc) rc = run_asset_pool_new(RUN_SWEEP_IDLE_ASSETS, &s.assets, err);
  size_t jobs = o->jobs < 1 ? 1 : o->jobs, started = 0;
  pthread_t th[64];
  if (!rc) {
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    if (jobs > s.n_tasks) jobs = s.n_tasks ? s.n_tasks : 1;
    if (jobs > 64) jobs = 64;
    for (; started < jobs && s.n_tasks; started++)
      if (pthread_create(&th[started], NULL, worker_main, &s) != 0) break;
    if (started == 0 && s.n_tasks)
      rc = cod_err_set(err, COD_ENOMEM, "cannot start a worker thread");
    /* the files in order, each through its own writer; the workers run ahead across */
    int stopped = 0;
    for (size_t f = 0; !rc && !stopped && f < n; f++) {
      at_f = f;
      rc = write_file(&s, f, o, &db, &stopped, err);
      if (stopped) s.files[f].st.stopped = 1;
    }
    /* nothing more is handed over (done, stopped or failed): no task is claimed any more,
     * and a worker waiting to run ahead is woken to leave */
    pthread_mutex_lock(&s.mu);
    s.abort = 1;
    pthread_cond_broadcast(&s.cv);
    pthread_mutex_unlock(&s.mu);
    for (size_t t = 0; t < started; t++) pthread_join(th[t], NULL);
    /* a later task may have failed while a stop request ended the hand-over first */
    if (!rc && s.fail_index != SIZE_MAX) {
      rc = s.fail_err.status ? s.fail_err.status : COD_EINVAL;
      if (err) *err = s.fail_err;
      at_f = s.tasks[s.fail_index].file;
    }
    pthread_mutex_destroy(&s.mu);
    pthread_cond_destroy(&s.cv);
  }
  for (size_t i = 0; i < s.n_tasks; i++)
    if (s.tasks[i].res) run_result_fini(s.tasks[i].res), cod_free(s.tasks[i].res);
  for (size_t f = 0; f < n; f++) {
    if (stats) stats[f] = s.files[f].st;
    run_plan_sweep_fini(&s.files[f].plan);
  }
  if (at) *at = at_f;
  run_asset_pool_free(s.assets); /* after the workers: they released theirs */
  for (size_t i = 0; i < s.n_models; i++) cod_free(s.models[i]);
  cod_free(s.models);
  cod_free(s.tasks);
  cod_free(s.files);
  res_db_close(db);
  return rc;
}

int run_sweep(const run_scenario *sc, const run_sweep_opts *o, run_sweep_stats *stats,
              cod_err *err) {
  void *ctx = o->progress_ctx;
  run_sweep_stats st;
  memset(&st, 0, sizeof st);
  int rc = run_sweep_chain(&sc, &ctx, 1, o, &st, NULL, err);
  if (stats) *stats = st;
  return rc;
}
