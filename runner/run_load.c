/* run_load.c: a stream of requests on the simulated cluster (see run_load.h).
 *
 * Design. The model's forward pass is cut once into stages: a stage is the master's own
 * work since the previous coded layer (non-conv layers and unselected convs, MACs over
 * master_flops) followed by one coded conv layer, and a last stage holds the master's
 * work after the last coded layer. A request walks its stages in order; requests overlap
 * freely. Three kinds of servers hold queues:
 *   - the master CPU (FCFS): a stage's own work plus its encode, then later its decode;
 *   - the master NIC, one sim_nic per direction (the run's master_sharing discipline);
 *   - each worker: its tasks in FCFS order (or processor sharing), duration drawn from
 *     the worker's law when service starts (FCFS) or when the task arrives (PS).
 * Every event carries a pointer to a task or request record from a free-list pool, so
 * memory follows the requests and tasks in flight, never the requests served; a record
 * that is reused gets a new layer sequence number, and an event of an older use (a task
 * of a layer already decoded, under cancel = never) sees the mismatch and is ignored.
 * A task queued at a worker when it is cancelled stays in the worker's ring marked
 * cancelled (O(1) cancel) and is released when the worker reaches it; it no longer counts
 * in the queue length.
 *
 * Time is the engine's integer ns; statistics (sim/sim_stats.h) are over the done requests
 * with id >= warmup, batched by request id for the batch-means CIs. Queueing literature
 * behind the study: Gardner, Harchol-Balter et al., "Redundancy-d" (Oper. Res. 2017);
 * Shah, Lee, Ramchandran, "When do redundant requests reduce latency?" (IEEE Trans. Comm.
 * 2016).
 */
#include "run_load.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "cod_alloc.h"
#include "cod_code.h"
#include "cod_file.h"
#include "cod_registry.h"
#include "run_energy.h"
#include "run_layer.h"
#include "sim_engine.h"
#include "sim_link.h"
#include "sim_rng.h"
#include "sim_stats.h"

/* ---- validation -------------------------------------------------------------------- */

static const char *const B_COMPUTE[] = {"run.compute", "master.timing", "run.precision",
                                        "run.snr_db", NULL};
static const char *const B_WARMUP[] = {"load.warmup", "load.requests", NULL};
static const char *const B_TRACE_FILE[] = {"load.trace", "load.arrivals", NULL};
static const char *const B_CLIENTS[] = {"load.clients", "load.arrivals", NULL};
static const char *const B_WORST[] = {"cluster.stragglers", "load.arrivals", NULL};
static const char *const B_SCHEME[] = {"coding.scheme", "load.arrivals", NULL};
static const char *const B_DATA[] = {"data.source", "load.arrivals", NULL};
static const char *const B_EVENTS[] = {"run.trace", "load.arrivals", NULL};
static const char *const B_STORAGE[] = {"cluster.storage", "load.arrivals", NULL};
static const char *const B_ALLOC[] = {"cluster.allocation", "cluster.returns", "load.arrivals",
                                      NULL};

int run_load_validate(const run_config *c, const char *const **blame, cod_err *err) {
  const char *arr = run_config_enum_name("load.arrivals", c->load.arrivals);
  if (c->run.compute == RUN_COMPUTE_REAL &&
      (c->master.timing == RUN_TIMING_MEASURED || c->run.precision > RUN_FP32 ||
       isfinite(c->run.snr_db)))
    return *blame = B_COMPUTE, cod_err_set(err, COD_EINVAL,
                      "[load] arrivals = %s with [run] compute = real: the stream's numbers "
                      "are computed with modelled master timing, fp64 or fp32 workers and no "
                      "worker noise (use compute = model, or master timing = model, "
                      "precision fp64/fp32, snr_db = none)", arr);
  if (c->load.warmup >= c->load.requests)
    return *blame = B_WARMUP, cod_err_set(err, COD_EINVAL,
                      "[load] warmup = %zu leaves none of [load] requests = %zu measured",
                      c->load.warmup, c->load.requests);
  int is_trace = c->load.arrivals == RUN_ARRIVALS_TRACE;
  if (is_trace != (c->load.trace[0] != '\0'))
    return *blame = B_TRACE_FILE, cod_err_set(err, COD_EINVAL, is_trace
                      ? "[load] arrivals = trace needs [load] trace (a file of arrival times)"
                      : "[load] trace is set but [load] arrivals = %s reads no file", arr);
  if (c->load.arrivals != RUN_ARRIVALS_CLOSED && (c->load.clients != 1 || c->load.think_s != 0))
    return *blame = B_CLIENTS, cod_err_set(err, COD_EINVAL,
                      "[load] clients and think_s are for arrivals = closed (got %s)", arr);
  if (c->cluster.stragglers == RUN_STRAGGLERS_WORST)
    return *blame = B_WORST, cod_err_set(err, COD_EINVAL,
                      "[cluster] stragglers = worst is a single-inference study: use random "
                      "stragglers under [load]");
  const cod_scheme_info *sch = cod_scheme_find(c->coding.scheme, NULL);
  if (sch && sch->approximate)
    return *blame = B_SCHEME, cod_err_set(err, COD_EINVAL,
                      "[coding] scheme %s is approximate: its decode policy is not modelled "
                      "under [load]", sch->name);
  if (strcmp(c->data.source, "none") != 0)
    return *blame = B_DATA, cod_err_set(err, COD_EINVAL,
                      "[data] source and [load] arrivals = %s exclude each other", arr);
  if (c->cluster.allocation != RUN_ALLOC_EQUAL || c->cluster.returns != RUN_RETURNS_PER_WORKER)
    return *blame = B_ALLOC, cod_err_set(err, COD_EINVAL,
                      "[cluster] allocation = %s, returns = %s: under [load] each worker holds "
                      "one coded task per layer (allocation = equal, returns = per-worker)",
                      run_config_enum_name("cluster.allocation", c->cluster.allocation),
                      run_config_enum_name("cluster.returns", c->cluster.returns));
  if (c->cluster.storage == RUN_STORAGE_WHOLE_MODEL)
    return *blame = B_STORAGE, cod_err_set(err, COD_EINVAL,
                      "[cluster] storage = whole-model is a single-inference plan: under "
                      "[load] each layer's coded data is checked against storage_bytes alone "
                      "(use storage = per-layer)");
  if (c->run.trace)
    return *blame = B_EVENTS, cod_err_set(err, COD_EINVAL,
                      "[run] trace = true records every event: not with [load] arrivals");
  return COD_OK;
}

/* ---- records ------------------------------------------------------------------------ */

enum tstate { T_UP, T_LINK_UP, T_QUEUED, T_RUNNING, T_DOWN, T_LINK_DOWN, T_LOST };
enum rstatus { R_DONE = 0, R_UNDECODABLE = 1, R_DROPPED = 2 };
static const char *const rstatus_names[] = {RES_REQUEST_DONE, RES_REQUEST_UNDECODABLE,
                                            RES_REQUEST_DROPPED};

typedef struct load_ctx load_ctx;
typedef struct req req;

typedef struct task {
  load_ctx *X;
  req *r;
  uint64_t seq;            /* the layer sequence number it belongs to */
  size_t j, stage;
  uint64_t nm;             /* requests of its job (a batch's tasks carry all of them) */
  int state, cancelled;    /* cancelled: left in the worker ring, released when reached */
  sim_event_id ev;
  sim_xfer_id xfer;
  double t0;               /* start of the current transfer, s */
  double rem_s;            /* PS: remaining dedicated service, s */
  double t_fail;           /* PS: when it is lost (INFINITY: never) */
  size_t ps_slot;          /* PS: index in the worker's active array */
  uint64_t rid;            /* energy: its job's id (req.id) when it was made */
  double t_serv;           /* FCFS: when its service began, s */
  double busy_s;           /* PS: its share of the worker's busy time so far, s */
  struct task *next_free;
} task;

/* One request of a job (a job is one request, or a batch of [load] batch of them). */
typedef struct member { uint64_t id; double t_arrival; size_t client; } member;

struct req {               /* a job: its members go through the stages together */
  uint64_t id, seq;        /* id: its first member's; seq: the current coded layer's number */
  double t_start;
  size_t stage;
  double energy_j;         /* energy: the work its tasks and master jobs caused, J */
  member *m;               /* batch entries, nm of them */
  size_t nm;
  int launched;            /* a batch still filling at the master: 0 */
  sim_event_id timeout_ev; /* a filling batch's timeout */
  size_t n_arrived, n_lost;
  int decided;             /* the current layer is decoded or undecodable */
  size_t *arrived;         /* n */
  unsigned char *lost;     /* n */
  task **tasks;            /* n: the current layer's tasks (NULL: done or none) */
  size_t *sets;            /* compute = real: n per coded stage, the arrived set at decode */
  size_t *n_sets;          /* compute = real: its length per coded stage */
  req *next_free, *next_live, *prev_live;
  load_ctx *X;
};

typedef struct stage {
  double master_s;         /* master work before the layer (or after the last one), s */
  cod_code *code;          /* NULL for the last stage */
  double encode_s, decode_s;
  uint64_t bytes_up, bytes_down, bytes_stored; /* per worker task */
  double flops;            /* per worker task */
  unsigned char *refused;  /* n: storage refusal */
} stage;

typedef struct wk {
  load_ctx *X;
  run_worker w;
  int klass;
  task **ring;             /* FCFS queue (cancelled entries included) */
  size_t head, len, cap;
  task *running;           /* FCFS: the task in service */
  task **act;              /* PS: tasks in service */
  size_t n_act, cap_act;
  double ps_t;             /* PS: when the remaining times were last brought up to date */
  sim_event_id ps_ev;
  size_t q_now, q_max;     /* tasks at the worker: queued (live) + in service */
  double area, t_last, busy_s, busy_since;
  uint64_t done, cancelled;
  double e_busy_s;         /* energy: busy time charged to tasks, s */
} wk;

typedef struct mjob {
  req *r;
  int decode;              /* 0: the stage's own work + encode; 1: its decode */
} mjob;

/* A file of arrival times being read: one time in s a line, not decreasing. */
typedef struct trace_rd {
  FILE *f;
  const char *path;
  size_t line;
  double last;
} trace_rd;

typedef struct client_ev { load_ctx *X; } client_ev;

struct load_ctx {
  const run_config *c;
  client_ev *clients;      /* closed loops: one record per client */
  sim_engine *e;
  run_cluster *cl;
  sim_nic *nic_up, *nic_down;
  gsl_rng *rng_arr;
  stage *st;
  size_t n_stages, n;
  wk *w;
  /* master CPU */
  mjob *mq;
  size_t mq_head, mq_len, mq_cap;
  int m_busy;
  double m_job_s;          /* the master job in service: its length, s */
  /* energy (run_energy.h), when modelled */
  int energy;
  double m_busy_s;         /* master jobs completed, s */
  double e_req_j, e_orphan_j; /* charged to jobs; to tasks whose job had ended */
  sim_stats *estats;       /* energy_j of the measured done requests */
  /* pools */
  req *req_free, *live;
  task *task_free;
  void **blocks;
  size_t n_blocks, cap_blocks;
  uint64_t seq;
  /* arrivals */
  uint64_t issued, in_flight, max_in_flight;
  trace_rd trace;
  req *open;               /* the batch filling at the master, or NULL */
  size_t *think;           /* [load] batch entries: clients of a finished batch */
  /* compute = real */
  int real;
  run_assets *assets;
  cod_code **codes;        /* of the coded stages, in order */
  double max_e2e_rel, max_layer_rel;
  uint64_t n_numeric;      /* done requests whose decode was singular (no numbers) */
  /* outcome */
  int rc, saturated;
  double saturated_at, t_first_measured, t_last_finish;
  uint64_t n_done, n_undecodable, n_dropped, n_measured;
  sim_stats *stats;
  FILE *spool;
  cod_err *err;
};

static double now_s(const load_ctx *X) { return sim_time_to_s(sim_engine_now(X->e)); }

static void fail(load_ctx *X, int rc) {
  if (!X->rc) X->rc = rc;
  sim_engine_stop(X->e);
}

static void oom(load_ctx *X) { fail(X, cod_err_set(X->err, COD_ENOMEM, "out of memory")); }

/* Schedule fn at absolute t_s (s, at least now); beyond the horizon the run fails. */
static int at(load_ctx *X, double t_s, sim_event_fn fn, void *p, sim_event_id *id) {
  sim_time_ns t, now = sim_engine_now(X->e);
  if (sim_time_from_s_checked(t_s, &t) != COD_OK) {
    fail(X, cod_err_set(X->err, COD_EINVAL, "[load]: %s", RUN_MSG_HORIZON));
    return 1;
  }
  if (t < now) t = now;
  if (sim_engine_schedule_at(X->e, t, fn, p, NULL, id)) return oom(X), 1;
  return 0;
}

static int after(load_ctx *X, double d_s, sim_event_fn fn, void *p, sim_event_id *id) {
  sim_time_ns d, t;
  if (sim_time_from_s_checked(d_s, &d) || sim_time_add_checked(sim_engine_now(X->e), d, &t)) {
    fail(X, cod_err_set(X->err, COD_EINVAL, "[load]: %s", RUN_MSG_HORIZON));
    return 1;
  }
  if (sim_engine_schedule_at(X->e, t, fn, p, NULL, id)) return oom(X), 1;
  return 0;
}

/* A block of pool memory, released at the end of the run. */
static void *block_new(load_ctx *X, size_t bytes) {
  if (X->n_blocks == X->cap_blocks) {
    size_t cap = X->cap_blocks ? 2 * X->cap_blocks : 16;
    void **b = cod_realloc(X->blocks, cap * sizeof *b);
    if (!b) return NULL;
    X->blocks = b, X->cap_blocks = cap;
  }
  void *p = cod_calloc(1, bytes);
  if (p) X->blocks[X->n_blocks++] = p;
  return p;
}

#define POOL_CHUNK 256

static req *req_get(load_ctx *X) {
  if (!X->req_free) {
    size_t n = X->n;
    size_t ns = X->real ? X->n_stages : 0;
    size_t one = sizeof(req) + X->c->load.batch * sizeof(member) +
                 n * (sizeof(size_t) + sizeof(task *)) + ns * (n + 1) * sizeof(size_t) + n;
    one = (one + 15) & ~(size_t)15;
    unsigned char *b = block_new(X, POOL_CHUNK * one);
    if (!b) return NULL;
    for (size_t i = 0; i < POOL_CHUNK; i++) {
      req *r = (req *)(b + i * one);
      r->m = (member *)(r + 1);
      r->arrived = (size_t *)(r->m + X->c->load.batch);
      r->tasks = (task **)(r->arrived + n);
      r->sets = (size_t *)(r->tasks + n);
      r->n_sets = r->sets + ns * n;
      r->lost = (unsigned char *)(r->n_sets + ns);
      r->next_free = X->req_free, X->req_free = r;
    }
  }
  req *r = X->req_free;
  X->req_free = r->next_free;
  r->next_live = X->live, r->prev_live = NULL;
  if (X->live) X->live->prev_live = r;
  X->live = r;
  return r;
}

static void req_put(load_ctx *X, req *r) {
  if (r->prev_live) r->prev_live->next_live = r->next_live;
  else X->live = r->next_live;
  if (r->next_live) r->next_live->prev_live = r->prev_live;
  r->seq = 0; /* no task of an earlier use matches */
  r->id = UINT64_MAX; /* nor is energy charged to it */
  r->next_free = X->req_free, X->req_free = r;
}

static task *task_get(load_ctx *X) {
  if (!X->task_free) {
    task *b = block_new(X, POOL_CHUNK * sizeof *b);
    if (!b) return NULL;
    for (size_t i = 0; i < POOL_CHUNK; i++) b[i].next_free = X->task_free, X->task_free = &b[i];
  }
  task *t = X->task_free;
  X->task_free = t->next_free;
  memset(t, 0, sizeof *t);
  t->X = X;
  return t;
}

static void task_put(load_ctx *X, task *t) {
  t->next_free = X->task_free, X->task_free = t;
}

/* ---- worker accounting -------------------------------------------------------------- */

static void q_change(load_ctx *X, wk *w, int delta) {
  double t = now_s(X);
  w->area += (t - w->t_last) * (double)w->q_now;
  w->t_last = t;
  if (delta < 0) {
    assert(w->q_now >= (size_t)-delta);
    w->q_now -= (size_t)-delta;
  } else {
    w->q_now += (size_t)delta;
  }
  if (w->q_now > w->q_max) w->q_max = w->q_now;
}

static void busy_start(load_ctx *X, wk *w) { w->busy_since = now_s(X); }
static void busy_end(load_ctx *X, wk *w) { w->busy_s += now_s(X) - w->busy_since; }

/* ---- energy (run_energy.h) -----------------------------------------------------------
 * A job is charged, as its work happens, the energy that work causes (busy power x busy
 * time, J/FLOP x FLOPs, J/byte x bytes at both ends): run_energy_device_j over a window
 * equal to the busy time, so no idle share. An upload is charged whole when it starts (as
 * run_energy.c counts a started transfer), a task's compute when it ends or is cancelled
 * (a cancelled task's partial time at busy power, no FLOPs), its result when it is sent;
 * the master's job when it completes (its FLOPs: its time x master_flops). A task of a job
 * that has ended (cancel = never) charges X->e_orphan_j. The idle energy is the run's:
 * rows_fill. */

static void charge(load_ctx *X, const task *t, double j) {
  if (t->r->id == t->rid) t->r->energy_j += j;
  else X->e_orphan_j += j;
}

/* Task t left worker w after busy_s of service; finished: it ran to the end and sends its
 * result now. */
static void task_energy(load_ctx *X, const task *t, double busy_s, int finished) {
  if (!X->energy) return;
  wk *w = &X->w[t->j];
  const stage *s = &X->st[t->stage];
  double flops = finished ? (double)t->nm * s->flops : 0.0;
  double res = finished ? (double)(t->nm * s->bytes_down) : 0.0;
  w->e_busy_s += busy_s;
  charge(X, t, run_energy_device_j(&w->w.energy, busy_s, busy_s, flops, res, 0.0) +
                   run_energy_device_j(&X->c->master.energy, 0, 0, 0, 0, res));
}

/* ---- requests ----------------------------------------------------------------------- */

static void master_submit(load_ctx *X, req *r, int decode);
static void issue_next(load_ctx *X, size_t client);
static void worker_next(load_ctx *X, wk *w);
static void ps_update(load_ctx *X, wk *w);
static void ps_schedule(load_ctx *X, wk *w);

typedef struct spool_rec {
  int64_t id;
  double a, s, f, l, e2e, lay;
  int32_t st;
  double en; /* energy_j */
} spool_rec;

static int spool_write(load_ctx *X, const res_request_row *row, int status) {
  spool_rec rec = {row->request_id, row->arrival_s, row->start_s, row->finish_s,
                   row->latency_s, row->e2e_rel_error, row->max_layer_rel_error, status,
                   row->energy_j};
  if (fwrite(&rec, sizeof rec, 1, X->spool) != 1) {
    fail(X, cod_err_set(X->err, COD_EIO, "writing the requests spool: %s", strerror(errno)));
    return 1;
  }
  return 0;
}

/* compute = real: the request's coded forward pass from the sets its layers decoded from;
 * a singular decode is an outcome (NaN errors, counted), anything else fails the run. */
static int real_numbers(load_ctx *X, req *r, res_request_row *row) {
  const size_t *av[RUN_LAYERS_MAX];
  for (size_t k = 0; k + 1 < X->n_stages; k++) av[k] = r->sets + k * X->n;
  cod_err e = {0};
  double e2e = NAN, lay = NAN;
  int rc = run_assets_coded_forward(X->assets, X->c, X->codes, av, r->n_sets, &e2e, &lay, &e);
  if (rc == COD_ENUMERIC) {
    X->n_numeric++;
    return 0;
  }
  if (rc) {
    fail(X, cod_err_set(X->err, rc, "request %llu: %s", (unsigned long long)r->m[0].id, e.msg));
    return 1;
  }
  row->e2e_rel_error = e2e, row->max_layer_rel_error = lay;
  X->max_e2e_rel = fmax(X->max_e2e_rel, e2e), X->max_layer_rel = fmax(X->max_layer_rel, lay);
  return 0;
}

/* The job ends with status s now (dropped: at a saturated stop): one row per member. */
static void req_finish(load_ctx *X, req *r, int s) {
  double t = now_s(X), e2e = NAN, lay = NAN;
  if (s == R_DONE && X->real) { /* the members share the run's input and the decode sets */
    res_request_row probe;
    probe.e2e_rel_error = probe.max_layer_rel_error = NAN;
    if (real_numbers(X, r, &probe)) return;
    e2e = probe.e2e_rel_error, lay = probe.max_layer_rel_error;
  }
  if (r->timeout_ev) sim_engine_cancel(X->e, r->timeout_ev), r->timeout_ev = 0;
  for (size_t i = 0; i < r->nm; i++) {
    const member *mb = &r->m[i];
    res_request_row row = {(int64_t)mb->id, mb->t_arrival, r->t_start,
                           s == R_DROPPED ? NAN : t, rstatus_names[s],
                           s == R_DONE ? t - mb->t_arrival : NAN, e2e, lay,
                           X->energy ? r->energy_j / (double)r->nm : NAN};
    if (spool_write(X, &row, s)) return;
    if (s == R_DONE) {
      X->n_done++;
      if (mb->id >= X->c->load.warmup) {
        X->n_measured++;
        sim_stats_add(X->stats, mb->id - X->c->load.warmup, t - mb->t_arrival);
        if (X->energy) sim_stats_add(X->estats, mb->id - X->c->load.warmup, row.energy_j);
        if (t > X->t_last_finish) X->t_last_finish = t;
      }
    } else if (s == R_UNDECODABLE) {
      X->n_undecodable++;
    } else {
      X->n_dropped++;
    }
    X->in_flight--;
  }
  /* the members' clients think again: copied out before the record is reused (issue_next
   * only schedules, so X->think is not overwritten meanwhile) */
  size_t nm = r->nm;
  int closed = s != R_DROPPED && X->c->load.arrivals == RUN_ARRIVALS_CLOSED;
  for (size_t i = 0; closed && i < nm; i++) X->think[i] = r->m[i].client;
  if (X->open == r) X->open = NULL;
  X->e_req_j += r->energy_j;
  req_put(X, r);
  for (size_t i = 0; closed && i < nm; i++) issue_next(X, X->think[i]);
}

/* Cancel task t (the policy allows it): it leaves every queue and never runs. */
static void task_cancel(load_ctx *X, task *t) {
  wk *w = &X->w[t->j];
  switch (t->state) {
  case T_UP: sim_nic_cancel(X->nic_up, t->xfer); break;
  case T_DOWN: sim_nic_cancel(X->nic_down, t->xfer); break;
  case T_LINK_UP:
  case T_LINK_DOWN:
  case T_LOST: sim_engine_cancel(X->e, t->ev); break;
  case T_QUEUED:
    t->cancelled = 1; /* released when the worker reaches it */
    q_change(X, w, -1);
    w->cancelled++;
    return;
  case T_RUNNING:
    w->cancelled++;
    q_change(X, w, -1);
    if (X->c->load.service == RUN_SERVICE_PS) {
      ps_update(X, w);
      task_energy(X, t, t->busy_s, 0);
      w->act[t->ps_slot] = w->act[--w->n_act];
      if (t->ps_slot < w->n_act) w->act[t->ps_slot]->ps_slot = t->ps_slot;
      if (w->n_act == 0) busy_end(X, w);
      task_put(X, t);
      ps_schedule(X, w);
      return;
    }
    sim_engine_cancel(X->e, t->ev);
    busy_end(X, w);
    task_energy(X, t, now_s(X) - t->t_serv, 0);
    w->running = NULL;
    task_put(X, t);
    worker_next(X, w);
    return;
  }
  task_put(X, t);
}

/* The current layer of r is decided: drop or orphan its other tasks. */
static void layer_close(load_ctx *X, req *r) {
  r->decided = 1;
  for (size_t j = 0; j < X->n; j++) {
    task *t = r->tasks[j];
    if (!t) continue;
    r->tasks[j] = NULL;
    if (X->c->load.cancel == RUN_CANCEL_ON_DECODE) task_cancel(X, t);
    /* never: the task runs on; its result finds a newer seq and is ignored */
  }
}

/* Could the workers not lost or refused still decode r's current layer? */
static int still_possible(load_ctx *X, req *r) {
  const stage *s = &X->st[r->stage];
  size_t alive[COD_WORKERS_MAX], na = 0;
  for (size_t j = 0; j < X->n; j++)
    if (!r->lost[j] && !s->refused[j]) alive[na++] = j;
  return cod_code_decodable(s->code, alive, na);
}

static task *task_live(load_ctx *X, task *t) {
  (void)X;
  return t->r->seq == t->seq && !t->r->decided ? t : NULL;
}

static void ev_result(sim_engine *e, void *p) {
  task *t = p;
  load_ctx *X = t->X;
  (void)e;
  req *r = t->r;
  if (task_live(X, t)) {
    r->tasks[t->j] = NULL;
    r->arrived[r->n_arrived++] = t->j;
    if (cod_code_decodable(X->st[r->stage].code, r->arrived, r->n_arrived)) {
      if (X->real) { /* the set this layer decodes from, for the request's numbers */
        memcpy(r->sets + r->stage * X->n, r->arrived, r->n_arrived * sizeof *r->arrived);
        r->n_sets[r->stage] = r->n_arrived;
      }
      layer_close(X, r);
      master_submit(X, r, 1);
    }
  }
  task_put(X, t);
}

static double link_end(const load_ctx *X, double t0, uint64_t bytes, double bps) {
  double t = now_s(X);
  if (isfinite(bps)) t = fmax(t, t0 + (double)bytes * 8.0 / bps);
  return t + X->c->network.latency_s;
}

/* Task t's transfer has left the master NIC: it now crosses the worker's own link (state,
 * bytes per task, that link's rate) and `next` fires when it is through. */
static void xfer_nic_done(task *t, enum tstate state, uint64_t bytes, double bps,
                          void (*next)(sim_engine *, void *)) {
  load_ctx *X = t->X;
  t->xfer = 0;
  t->state = state;
  at(X, link_end(X, t->t0, t->nm * bytes, bps), next, t, &t->ev);
}

static void xfer_down_done(sim_engine *e, void *p) {
  task *t = p;
  (void)e;
  xfer_nic_done(t, T_LINK_DOWN, t->X->st[t->stage].bytes_down, t->X->w[t->j].w.uplink_bps,
                ev_result);
}

/* Task t has finished its service at worker w: its result goes back. */
static void task_served(load_ctx *X, task *t) {
  /* a task orphaned by a decode under cancel = never still sends its result: the worker is
   * not told, and the master ignores it (ev_result) */
  X->w[t->j].done++;
  t->state = T_DOWN;
  t->t0 = now_s(X);
  if (sim_nic_submit(X->nic_down, t->nm * X->st[t->stage].bytes_down, 0, xfer_down_done, t, NULL,
                     &t->xfer))
    fail(X, cod_err_set(X->err, COD_ENOMEM, "out of memory (or the master NIC passed the "
                        "horizon)"));
}

/* Task t is lost (fail-stop, a scheduled failure): the layer may become undecodable. */
static void ev_lost(sim_engine *e, void *p) {
  task *t = p;
  load_ctx *X = t->X;
  (void)e;
  req *r = t->r;
  if (task_live(X, t)) {
    r->tasks[t->j] = NULL;
    r->lost[t->j] = 1;
    r->n_lost++;
    if (!still_possible(X, r)) {
      layer_close(X, r);
      req_finish(X, r, R_UNDECODABLE);
    }
  }
  task_put(X, t);
}

static void ev_fcfs_done(sim_engine *e, void *p) {
  task *t = p;
  load_ctx *X = t->X;
  wk *w = &X->w[t->j];
  (void)e;
  t->ev = 0;
  busy_end(X, w);
  q_change(X, w, -1);
  w->running = NULL;
  task_energy(X, t, now_s(X) - t->t_serv, 1);
  task_served(X, t);
  worker_next(X, w);
}

/* Draw task t's service time at worker j now: *d (s) and *t_fail (INFINITY if it returns). */
static int draw(load_ctx *X, task *t, double *d, double *t_fail) {
  const stage *s = &X->st[t->stage];
  double nominal = (double)t->nm * s->flops / X->w[t->j].w.compute_rate_flops;
  int rc = run_cluster_draw(X->cl, X->c, t->j, now_s(X), nominal, d, t_fail, X->err);
  if (rc) fail(X, rc);
  return rc;
}

/* A lost task leaves the worker at once (the worker's law says it never returns). */
static void task_lose(load_ctx *X, task *t, double t_fail) {
  t->state = T_LOST;
  at(X, t_fail, ev_lost, t, &t->ev);
}

/* FCFS: start the next live queued task, if the worker is free. */
static void worker_next(load_ctx *X, wk *w) {
  if (X->c->load.service == RUN_SERVICE_PS || w->running) return;
  while (w->len) {
    task *t = w->ring[w->head];
    w->head = (w->head + 1) % w->cap, w->len--;
    if (t->cancelled) {
      task_put(X, t);
      continue;
    }
    double d, t_fail;
    if (draw(X, t, &d, &t_fail)) return;
    if (isfinite(t_fail)) { /* lost: it does not hold the worker */
      q_change(X, w, -1);
      task_lose(X, t, t_fail);
      continue;
    }
    t->state = T_RUNNING;
    w->running = t;
    t->t_serv = now_s(X);
    busy_start(X, w);
    after(X, d, ev_fcfs_done, t, &t->ev);
    return;
  }
}

/* ---- processor sharing ---------------------------------------------------------------- */

static void ev_ps(sim_engine *e, void *p);

/* Bring the remaining times of w's tasks up to now (each got 1/k of the worker). */
static void ps_update(load_ctx *X, wk *w) {
  double t = now_s(X);
  if (w->n_act) {
    double dt = (t - w->ps_t) / (double)w->n_act;
    for (size_t i = 0; i < w->n_act; i++) w->act[i]->rem_s -= dt, w->act[i]->busy_s += dt;
  }
  w->ps_t = t;
  if (w->ps_ev) sim_engine_cancel(X->e, w->ps_ev), w->ps_ev = 0;
}

/* Schedule the next completion of w (after ps_update). */
static void ps_schedule(load_ctx *X, wk *w) {
  if (!w->n_act) return;
  double m = INFINITY;
  for (size_t i = 0; i < w->n_act; i++) m = fmin(m, w->act[i]->rem_s);
  after(X, fmax(m, 0.0) * (double)w->n_act, ev_ps, w, &w->ps_ev);
}

static void ev_ps(sim_engine *e, void *p) {
  wk *w = p;
  load_ctx *X = w->X;
  (void)e;
  w->ps_ev = 0;
  ps_update(X, w);
  /* every task whose remaining time is gone completes now: the event was rounded up to the
   * ns grid, so what is left of the shortest task is rounding, below one ns of service */
  double tol = 1e-9 / (double)(w->n_act ? w->n_act : 1);
  for (size_t i = 0; i < w->n_act;) {
    task *t = w->act[i];
    if (t->rem_s <= tol) {
      w->act[i] = w->act[--w->n_act];
      if (i < w->n_act) w->act[i]->ps_slot = i;
      q_change(X, w, -1);
      if (w->n_act == 0) busy_end(X, w);
      task_energy(X, t, t->busy_s, 1);
      task_served(X, t);
    } else {
      i++;
    }
  }
  ps_schedule(X, w);
}

static void ps_admit(load_ctx *X, wk *w, task *t) {
  double d, t_fail;
  if (draw(X, t, &d, &t_fail)) return;
  if (isfinite(t_fail)) {
    task_lose(X, t, t_fail);
    return;
  }
  if (w->n_act == w->cap_act) {
    size_t cap = w->cap_act ? 2 * w->cap_act : 8;
    task **a = cod_realloc(w->act, cap * sizeof *a);
    if (!a) return oom(X);
    w->act = a, w->cap_act = cap;
  }
  ps_update(X, w);
  if (w->n_act == 0) busy_start(X, w);
  t->state = T_RUNNING;
  t->rem_s = d;
  t->ps_slot = w->n_act;
  w->act[w->n_act++] = t;
  q_change(X, w, +1);
  ps_schedule(X, w);
}

/* ---- uploads and arrival at a worker ----------------------------------------------- */

static void ev_at_worker(sim_engine *e, void *p) {
  task *t = p;
  load_ctx *X = t->X;
  wk *w = &X->w[t->j];
  (void)e;
  t->ev = 0;
  if (X->c->load.service == RUN_SERVICE_PS) return ps_admit(X, w, t);
  if (w->len == w->cap) {
    size_t cap = w->cap ? 2 * w->cap : 16;
    task **ring = cod_malloc_array(cap, sizeof *ring);
    if (!ring) return oom(X);
    for (size_t i = 0; i < w->len; i++) ring[i] = w->ring[(w->head + i) % w->cap];
    cod_free(w->ring);
    w->ring = ring, w->cap = cap, w->head = 0;
  }
  w->ring[(w->head + w->len) % w->cap] = t;
  w->len++;
  t->state = T_QUEUED;
  q_change(X, w, +1);
  worker_next(X, w);
}

static void xfer_up_done(sim_engine *e, void *p) {
  task *t = p;
  (void)e;
  xfer_nic_done(t, T_LINK_UP, t->X->st[t->stage].bytes_up, t->X->w[t->j].w.downlink_bps,
                ev_at_worker);
}

/* r's current stage is encoded: one task per worker that can store its share. */
static void layer_start(load_ctx *X, req *r) {
  const stage *s = &X->st[r->stage];
  r->seq = ++X->seq;
  r->decided = 0, r->n_arrived = 0, r->n_lost = 0;
  memset(r->lost, 0, X->n);
  for (size_t j = 0; j < X->n; j++) {
    r->tasks[j] = NULL;
    if (s->refused[j]) continue;
    task *t = task_get(X);
    if (!t) return oom(X);
    t->r = r, t->seq = r->seq, t->j = j, t->stage = r->stage, t->nm = r->nm, t->rid = r->id;
    if (X->energy) { /* the upload, whole, at both ends */
      double up = (double)(t->nm * s->bytes_up);
      r->energy_j += run_energy_device_j(&X->c->master.energy, 0, 0, 0, up, 0) +
                     run_energy_device_j(&X->w[j].w.energy, 0, 0, 0, 0, up);
    }
    t->state = T_UP;
    t->t0 = now_s(X);
    r->tasks[j] = t;
    if (sim_nic_submit(X->nic_up, t->nm * s->bytes_up, 0, xfer_up_done, t, NULL, &t->xfer))
      return fail(X, cod_err_set(X->err, COD_ENOMEM, "out of memory (or the master NIC "
                                 "passed the horizon)"));
  }
  if (!still_possible(X, r)) { /* storage alone makes it impossible */
    layer_close(X, r);
    req_finish(X, r, R_UNDECODABLE);
  }
}

/* ---- the master CPU (FCFS) ------------------------------------------------------------ */

static void master_next(load_ctx *X);

static void ev_master_done(sim_engine *e, void *p) {
  load_ctx *X = p;
  (void)e;
  mjob j = X->mq[X->mq_head];
  X->mq_head = (X->mq_head + 1) % X->mq_cap, X->mq_len--;
  X->m_busy = 0;
  req *r = j.r;
  if (X->energy) {
    double d = X->m_job_s;
    X->m_busy_s += d;
    r->energy_j += run_energy_device_j(&X->c->master.energy, d, d, d * X->c->master.master_flops,
                                       0, 0);
  }
  if (!j.decode) {
    if (X->st[r->stage].code) layer_start(X, r);
    else req_finish(X, r, R_DONE);
  } else {
    r->stage++;
    master_submit(X, r, 0);
  }
  master_next(X);
}

static void master_next(load_ctx *X) {
  if (X->m_busy || !X->mq_len || X->rc) return;
  mjob *j = &X->mq[X->mq_head];
  const stage *s = &X->st[j->r->stage];
  if (isnan(j->r->t_start)) j->r->t_start = now_s(X);
  double d = (double)j->r->nm * (j->decode ? s->decode_s : s->master_s + (s->code ? s->encode_s : 0.0));
  X->m_busy = 1;
  X->m_job_s = d;
  after(X, d, ev_master_done, X, NULL);
}

static void master_submit(load_ctx *X, req *r, int decode) {
  if (X->mq_len == X->mq_cap) {
    size_t cap = X->mq_cap ? 2 * X->mq_cap : 64;
    mjob *q = cod_malloc_array(cap, sizeof *q);
    if (!q) return oom(X);
    for (size_t i = 0; i < X->mq_len; i++) q[i] = X->mq[(X->mq_head + i) % X->mq_cap];
    cod_free(X->mq);
    X->mq = q, X->mq_cap = cap, X->mq_head = 0;
  }
  X->mq[(X->mq_head + X->mq_len) % X->mq_cap] = (mjob){r, decode};
  X->mq_len++;
  master_next(X);
}

/* ---- arrivals ------------------------------------------------------------------------- */

static void saturate(load_ctx *X) {
  if (X->saturated) return;
  X->saturated = 1;
  X->saturated_at = now_s(X);
  sim_engine_stop(X->e);
}

static void ev_arrival(sim_engine *e, void *p);

static void launch(load_ctx *X, req *r) {
  if (r->timeout_ev) sim_engine_cancel(X->e, r->timeout_ev), r->timeout_ev = 0;
  if (X->open == r) X->open = NULL;
  r->launched = 1;
  master_submit(X, r, 0);
}

/* batch_timeout_s after a batch's first member: it goes with what it has. */
static void ev_batch_timeout(sim_engine *e, void *p) {
  req *r = p;
  (void)e;
  r->timeout_ev = 0;
  launch(r->X, r);
}

/* A new request now, from `client` (closed loops; 0 otherwise): a job of its own, or a
 * member of the batch filling at the master. */
static void arrive(load_ctx *X, size_t client) {
  if (X->in_flight >= X->c->load.queue_limit) return saturate(X);
  req *r = X->open;
  if (!r) {
    if (!(r = req_get(X))) return oom(X);
    r->X = X;
    r->t_start = NAN, r->stage = 0, r->seq = 0, r->decided = 0, r->nm = 0;
    r->launched = 0, r->timeout_ev = 0;
    r->id = X->issued;
    r->energy_j = 0;
  }
  member *mb = &r->m[r->nm++];
  mb->id = X->issued++, mb->t_arrival = now_s(X), mb->client = client;
  if (mb->id == X->c->load.warmup) X->t_first_measured = mb->t_arrival;
  X->in_flight++;
  if (X->in_flight > X->max_in_flight) X->max_in_flight = X->in_flight;
  const size_t B = X->c->load.batch;
  if (B == 1 || r->nm == B || X->c->load.batch_timeout_s <= 0) return launch(X, r);
  if (r->nm == 1) {
    X->open = r;
    after(X, X->c->load.batch_timeout_s, ev_batch_timeout, r, &r->timeout_ev);
  }
}

/* The next arrival time (s), or INFINITY at the end of the file. COD_OK, or COD_EIO /
 * COD_EFORMAT with "PATH:LINE: ..." */
static int trace_next(trace_rd *tr, double *t_s, cod_err *err) {
  char line[256];
  for (;;) {
    int k = cod_file_read_line(tr->f, line, sizeof line);
    tr->line++;
    if (k == 0) {
      if (ferror(tr->f)) return cod_err_set(err, COD_EIO, "%s: read error", tr->path);
      *t_s = INFINITY;
      return COD_OK;
    }
    if (k != 1)
      return cod_err_set(err, COD_EFORMAT, "%s:%zu: %s", tr->path, tr->line,
                         k == 2 ? "line too long" : "NUL byte in a text file");
    char *s = line;
    while (*s == ' ' || *s == '\t') s++;
    if (*s == '#' || *s == '\n' || *s == '\r' || !*s) continue;
    char *end;
    errno = 0;
    double t = strtod(s, &end);
    while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n') end++;
    if (end == s || *end || errno || !isfinite(t) || t < 0)
      return cod_err_set(err, COD_EFORMAT, "%s:%zu: expected an arrival time >= 0 in s",
                         tr->path, tr->line);
    if (t < tr->last)
      return cod_err_set(err, COD_EFORMAT, "%s:%zu: arrival time %g s is before the "
                         "previous one (%g s): times must not decrease", tr->path, tr->line,
                         t, tr->last);
    tr->last = t;
    *t_s = t;
    return COD_OK;
  }
}

static const char *const B_TRACE_READ[] = {"load.trace", NULL};

int run_load_check_trace(const run_config *c, const char *const **blame, cod_err *err) {
  if (c->load.arrivals != RUN_ARRIVALS_TRACE) return COD_OK;
  trace_rd tr = {NULL, c->load.trace, 0, 0};
  int rc = cod_file_fopen_regular(c->load.trace, "load trace", 0, &tr.f, NULL, err);
  double t = 0;
  size_t n = 0;
  while (!rc && isfinite(t)) {
    rc = trace_next(&tr, &t, err);
    n += !rc && isfinite(t);
  }
  if (tr.f) fclose(tr.f);
  if (!rc && n == 0)
    rc = cod_err_set(err, COD_EFORMAT, "%s: no arrival times", c->load.trace);
  if (rc) *blame = B_TRACE_READ;
  return rc;
}

/* Schedule the open stream's next arrival after the one now (or the first at t = 0). */
static void schedule_open(load_ctx *X) {
  if (X->issued >= X->c->load.requests) return;
  const run_config *c = X->c;
  double t;
  switch (c->load.arrivals) {
  case RUN_ARRIVALS_POISSON:
    t = now_s(X) + gsl_ran_exponential(X->rng_arr, 1.0 / c->load.rate_per_s);
    break;
  case RUN_ARRIVALS_PERIODIC: t = (double)X->issued / c->load.rate_per_s; break;
  default: {
    int rc = trace_next(&X->trace, &t, X->err);
    if (rc) return fail(X, rc);
    if (!isfinite(t)) return; /* the trace ended: fewer requests than [load] requests */
  }
  }
  at(X, t, ev_arrival, X, NULL);
}

static void ev_arrival(sim_engine *e, void *p) {
  load_ctx *X = p;
  (void)e;
  arrive(X, 0);
  if (!X->saturated) schedule_open(X);
}

static void ev_client(sim_engine *e, void *p) {
  client_ev *ce = p;
  (void)e;
  load_ctx *X = ce->X;
  if (X->issued < X->c->load.requests) arrive(X, (size_t)(ce - X->clients));
}

/* Closed loop: client issues its next request after its think time (one pending event
 * per client at most: its record is the event's payload). */
static void issue_next(load_ctx *X, size_t client) {
  if (X->issued >= X->c->load.requests) return;
  client_ev *ce = &X->clients[client];
  ce->X = X;
  double th = X->c->load.think_s > 0 ? gsl_ran_exponential(X->rng_arr, X->c->load.think_s) : 0;
  after(X, th, ev_client, ce, NULL);
}

/* ---- set-up ------------------------------------------------------------------------- */

static int stages_build(load_ctx *X, const model *m, cod_err *err) {
  const run_config *c = X->c;
  size_t n_conv = model_conv_count(m), last = 0;
  X->st = cod_calloc(n_conv + 1, sizeof *X->st);
  if (!X->st) return cod_err_set(err, COD_ENOMEM, "out of memory");
  size_t el_up = run_precision_operand_bytes(c->run.precision);
  size_t el_down = run_precision_result_bytes(c->run.precision);
  double pending = 0;
  for (size_t ci = 0; ci < n_conv; ci++) {
    const model_layer *ml = model_conv_layer(m, ci);
    size_t li = (size_t)model_layer_find(m, ml->name);
    cod_conv_geom g = model_conv_geom(m, ci);
    pending += 2.0 * run_master_macs(m, last, li) / c->master.master_flops;
    last = li + 1;
    if (!run_conv_selected(c, ci)) {
      pending += 2.0 * cod_conv_macs(&g) / c->master.master_flops;
      continue;
    }
    stage *s = &X->st[X->n_stages++]; /* counted at once: ctx_free releases it */
    s->master_s = pending, pending = 0;
    int rc = run_code_choose(c, &g, &s->code, err);
    if (rc) return rc;
    s->encode_s = cod_code_encode_flops(s->code) / c->master.master_flops;
    s->decode_s = cod_code_decode_flops(s->code) / c->master.master_flops;
    /* Weights stay put: a worker keeps its coded filters from one request to the next
     * (they reach it once, before the stream starts), so a task uploads its coded input
     * slab only; storage still holds both. */
    s->bytes_up = (uint64_t)(cod_code_worker_input_len(s->code) * el_up);
    s->bytes_stored = (uint64_t)((cod_code_worker_input_len(s->code) +
                                  cod_code_worker_filter_len(s->code)) * el_up);
    s->bytes_down = (uint64_t)(cod_code_worker_output_len(s->code) * el_down);
    s->flops = 2.0 * cod_code_worker_macs(s->code);
    s->refused = cod_calloc(X->n, 1);
    if (!s->refused) return cod_err_set(err, COD_ENOMEM, "out of memory");
    for (size_t j = 0; j < X->n; j++)
      s->refused[j] = (double)s->bytes_stored > X->w[j].w.storage_bytes;
  }
  pending += 2.0 * run_master_macs(m, last, model_layer_count(m)) / c->master.master_flops;
  X->st[X->n_stages++].master_s = pending;
  return COD_OK;
}

static void ctx_free(load_ctx *X) {
  if (X->nic_up) sim_nic_free(X->nic_up);
  if (X->nic_down) sim_nic_free(X->nic_down);
  run_cluster_free(X->cl);
  if (X->e) sim_engine_free(X->e);
  for (size_t i = 0; X->st && i < X->n_stages; i++) {
    cod_code_free(X->st[i].code);
    cod_free(X->st[i].refused);
  }
  cod_free(X->st);
  for (size_t j = 0; X->w && j < X->n; j++) cod_free(X->w[j].ring), cod_free(X->w[j].act);
  cod_free(X->w);
  cod_free(X->mq);
  cod_free(X->clients);
  cod_free(X->codes);
  cod_free(X->think);
  for (size_t i = 0; i < X->n_blocks; i++) cod_free(X->blocks[i]);
  cod_free(X->blocks);
  sim_rng_free(X->rng_arr);
  sim_stats_free(X->stats);
  sim_stats_free(X->estats);
  if (X->trace.f) fclose(X->trace.f);
}

/* ---- rows ----------------------------------------------------------------------------- */

static double offered(const load_ctx *X) {
  const run_config *c = X->c;
  switch (c->load.arrivals) {
  case RUN_ARRIVALS_POISSON:
  case RUN_ARRIVALS_PERIODIC: return c->load.rate_per_s;
  case RUN_ARRIVALS_TRACE: return X->trace.last > 0 ? (double)X->issued / X->trace.last : NAN;
  default: return NAN;
  }
}

static int rows_fill(load_ctx *X, const run_ident *id, const model *m, run_result *r,
                     cod_err *err) {
  const run_config *c = X->c;
  int rc = 0;
  res_run_row *R = &r->run;
  res_run_row_init(R);
  char key[256];
  run_key_format(key, sizeof key, id->scenario_hash, "sim", id->point, id->trial);
  R->run_key = run_result_own(r, key, &rc);
  R->scenario_path = run_result_own(r, id->scenario_path, &rc);
  R->scenario_hash = run_result_own(r, id->scenario_hash, &rc);
  R->params_json = run_result_own(r, id->params_json, &rc);
  R->model = run_result_own(r, model_name(m), &rc);
  if (rc) return cod_err_set(err, COD_ENOMEM, "out of memory");
  R->point_index = (int64_t)id->point, R->trial = (int64_t)id->trial;
  R->seed = c->run.seed;
  R->backend = "sim";
  R->scheme = cod_scheme_find(c->coding.scheme, NULL)->name;
  R->workers = (int64_t)c->cluster.workers;
  if (X->st[0].code) {
    R->ka = (int64_t)cod_code_ka(X->st[0].code), R->kb = (int64_t)cod_code_kb(X->st[0].code);
    R->delta = (int64_t)cod_code_threshold(X->st[0].code);
  }
  R->precision = run_config_enum_name("run.precision", c->run.precision);
  sim_stats_summary S;
  sim_stats_summarize(X->stats, &S);
  double t_end = now_s(X);
  R->status = RES_STATUS_OK;
  R->status_time_s = t_end;
  R->latency_s = S.mean;
  res_load_row *L = &r->load;
  res_load_row_init(L);
  L->arrivals = run_config_enum_name("load.arrivals", c->load.arrivals);
  L->cancel = run_config_enum_name("load.cancel", c->load.cancel);
  L->service = run_config_enum_name("load.service", c->load.service);
  L->offered_per_s = offered(X);
  L->requests = (int64_t)c->load.requests, L->warmup = (int64_t)c->load.warmup;
  L->completed = (int64_t)X->n_done, L->undecodable = (int64_t)X->n_undecodable;
  L->dropped = (int64_t)X->n_dropped, L->measured = (int64_t)X->n_measured;
  double win = X->t_last_finish - X->t_first_measured;
  L->throughput_per_s = X->n_measured && win > 0 ? (double)X->n_measured / win : NAN;
  L->lat_mean_s = S.mean, L->lat_mean_ci_s = S.mean_ci;
  L->lat_p50_s = S.p50, L->lat_p50_ci_s = S.p50_ci;
  L->lat_p95_s = S.p95, L->lat_p95_ci_s = S.p95_ci;
  L->lat_p99_s = S.p99, L->lat_p99_ci_s = S.p99_ci;
  L->ci_batches = (int64_t)S.batches;
  L->saturated = X->saturated;
  L->saturated_at_s = X->saturated ? X->saturated_at : NAN;
  L->max_in_flight = (int64_t)X->max_in_flight;
  L->sim_time_s = t_end;
  L->events = (int64_t)sim_engine_events_fired(X->e);
  L->compute = run_config_enum_name("run.compute", c->run.compute);
  if (X->real) {
    L->max_e2e_rel_error = X->n_done > X->n_numeric ? X->max_e2e_rel : NAN;
    L->max_layer_rel_error = X->n_done > X->n_numeric ? X->max_layer_rel : NAN;
    L->singular = (int64_t)X->n_numeric;
  }
  r->has_load = 1;
  r->events_fired = sim_engine_events_fired(X->e);
  r->load_workers = cod_calloc(X->n, sizeof *r->load_workers);
  if (!r->load_workers) return cod_err_set(err, COD_ENOMEM, "out of memory");
  r->n_load_workers = X->n;
  for (size_t j = 0; j < X->n; j++) {
    wk *w = &X->w[j];
    res_load_worker_row *o = &r->load_workers[j];
    res_load_worker_row_init(o);
    q_change(X, w, 0);
    if (w->running || w->n_act) busy_end(X, w);
    o->worker = (int64_t)j;
    o->worker_class = run_result_own(r, run_class_name(c, w->klass), &rc);
    o->utilisation = t_end > 0 ? w->busy_s / t_end : NAN;
    o->queue_mean = t_end > 0 ? w->area / t_end : NAN;
    o->queue_max = (int64_t)w->q_max;
    o->tasks_done = (int64_t)w->done, o->tasks_cancelled = (int64_t)w->cancelled;
  }
  if (X->energy) { /* the idle share is the run's: every device over 0 .. t_end */
    double idle = run_energy_idle_j(&c->master.energy, t_end, X->m_busy_s);
    for (size_t j = 0; j < X->n; j++)
      idle += run_energy_idle_j(&X->w[j].w.energy, t_end, X->w[j].e_busy_s);
    sim_stats_summary E;
    sim_stats_summarize(X->estats, &E);
    L->energy_idle_j = idle, L->energy_unattributed_j = X->e_orphan_j;
    L->energy_j = X->e_req_j + X->e_orphan_j + idle;
    L->energy_req_mean_j = E.mean, L->energy_req_mean_ci_j = E.mean_ci;
  }
  return rc ? cod_err_set(err, COD_ENOMEM, "out of memory") : COD_OK;
}

int run_load_execute(const run_config *c, const run_ident *id, run_assets *a,
                     run_result *out, cod_err *err) {
  const model *m = run_assets_model(a);
  load_ctx X;
  memset(&X, 0, sizeof X);
  X.c = c, X.err = err, X.n = c->cluster.workers;
  X.real = c->run.compute == RUN_COMPUTE_REAL, X.assets = a;
  run_result r;
  memset(&r, 0, sizeof r);
  /* an unlimited master NIC is a very fast one, as in run_layer.c's cluster */
  double bps = isfinite(c->network.master_bps) ? c->network.master_bps : 1e300;
  sim_nic_discipline disc = c->network.master_sharing == RUN_SHARING_FAIR ? SIM_NIC_FAIR
                                                                          : SIM_NIC_SEQUENTIAL;
  int rc = sim_engine_new(1024, &X.e, err);
  if (!rc) rc = run_cluster_new(c, X.e, id->trial, &X.cl, err);
  if (!rc) rc = sim_nic_new(X.e, bps, disc, &X.nic_up, err);
  if (!rc) rc = sim_nic_new(X.e, bps, disc, &X.nic_down, err);
  if (!rc && !(X.think = cod_calloc(c->load.batch, sizeof *X.think)))
    rc = cod_err_set(err, COD_ENOMEM, "out of memory");
  if (!rc && c->load.arrivals == RUN_ARRIVALS_CLOSED &&
      !(X.clients = cod_calloc(c->load.clients, sizeof *X.clients)))
    rc = cod_err_set(err, COD_ENOMEM, "out of memory for %zu clients", c->load.clients);
  if (!rc) rc = sim_rng_new(c->run.seed, run_stream_id(id->trial, 0, RUN_STREAM_ARRIVALS),
                            &X.rng_arr, err);
  if (!rc) rc = sim_stats_new(c->load.requests - c->load.warmup, &X.stats, err);
  X.energy = run_energy_modelled(c);
  if (!rc && X.energy) rc = sim_stats_new(c->load.requests - c->load.warmup, &X.estats, err);
  if (!rc && !(X.w = cod_calloc(X.n, sizeof *X.w)))
    rc = cod_err_set(err, COD_ENOMEM, "out of memory");
  for (size_t j = 0; !rc && j < X.n; j++)
    X.w[j].klass = run_config_worker(c, j, &X.w[j].w), X.w[j].X = &X;
  if (!rc) rc = stages_build(&X, m, err);
  if (!rc && X.real && X.n_stages - 1 > RUN_LAYERS_MAX)
    rc = cod_err_set(err, COD_EINVAL, "[load] with compute = real: %zu coded layers, more "
                     "than the %d a request records", X.n_stages - 1, RUN_LAYERS_MAX);
  if (!rc && X.real) {
    if (!(X.codes = cod_calloc(X.n_stages, sizeof *X.codes)))
      rc = cod_err_set(err, COD_ENOMEM, "out of memory");
    for (size_t k = 0; !rc && k + 1 < X.n_stages; k++) X.codes[k] = X.st[k].code;
  }
  if (!rc && !(X.spool = tmpfile()))
    rc = cod_err_set(err, COD_EIO, "cannot create the temporary requests spool: %s",
                     strerror(errno));
  if (!rc && c->load.arrivals == RUN_ARRIVALS_TRACE)
    X.trace.path = c->load.trace;
  if (!rc && c->load.arrivals == RUN_ARRIVALS_TRACE)
    rc = cod_file_fopen_regular(c->load.trace, "load trace", 0, &X.trace.f, NULL, err);
  if (rc) goto done;
  if (c->load.arrivals == RUN_ARRIVALS_CLOSED) {
    for (size_t k = 0; k < c->load.clients && X.issued < c->load.requests; k++) arrive(&X, k);
  } else if (c->load.arrivals == RUN_ARRIVALS_POISSON) {
    schedule_open(&X); /* the first arrival after an exponential gap too */
  } else {
    schedule_open(&X);
  }
  sim_time_ns until = SIM_TIME_NEVER;
  if (isfinite(c->load.time_limit_s) && sim_time_from_s_checked(c->load.time_limit_s, &until))
    until = SIM_TIME_HORIZON_NS;
  while (!X.rc && !X.saturated) {
    sim_run_reason why = sim_engine_run(X.e, until);
    if (why == SIM_RUN_UNTIL) { /* work is left beyond the time limit */
      saturate(&X);
      X.saturated_at = c->load.time_limit_s;
    }
    if (why == SIM_RUN_EMPTY) break;
  }
  if (X.rc) {
    rc = X.rc;
    goto done;
  }
  /* a saturated stop: the requests still in flight are dropped */
  while (X.live && !X.rc) req_finish(&X, X.live, R_DROPPED);
  if ((rc = X.rc)) goto done;
  if ((rc = rows_fill(&X, id, m, &r, err))) goto done;
  if (fflush(X.spool) != 0) {
    rc = cod_err_set(err, COD_EIO, "writing the requests spool: %s", strerror(errno));
    goto done;
  }
  r.requests_spool = X.spool, X.spool = NULL;
  r.n_requests = X.n_done + X.n_undecodable + X.n_dropped;
done:
  if (X.spool) fclose(X.spool);
  ctx_free(&X);
  if (rc) {
    run_result_fini(&r);
    return rc;
  }
  *out = r;
  return COD_OK;
}

int run_load_write_requests(res_db *db, int64_t run_id, const run_result *r, cod_err *err) {
  spool_rec rec;
  FILE *f = r->requests_spool;
  if (fseek(f, 0, SEEK_SET) != 0)
    return cod_err_set(err, COD_EIO, "reading the requests spool: %s", strerror(errno));
  for (uint64_t i = 0; i < r->n_requests; i++) {
    if (fread(&rec, sizeof rec, 1, f) != 1)
      return cod_err_set(err, COD_EIO, "reading the requests spool: short read");
    res_request_row row = {rec.id, rec.a, rec.s, rec.f, rstatus_names[rec.st], rec.l, rec.e2e,
                           rec.lay, rec.en};
    int rc = res_db_insert_request(db, run_id, &row, err);
    if (rc) return rc;
  }
  return COD_OK;
}
