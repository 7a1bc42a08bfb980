/* sim_link.c: link timing and the shared NIC (sequential and processor sharing).
 *
 * Fluid model with a virtual clock. V is the number of bits each active transfer has been
 * served since the active set was last empty; while k transfers are active V grows at
 * rate/k bits per ns. A transfer activated when the clock reads V0 with b bits gets the
 * finish tag V0 + b, so the next transfer to finish is always the one with the smallest
 * tag, and its exact finishing time is last + (tag - V) * k / rate. This is the standard
 * virtual-time formulation of processor sharing (as in fair queueing: Demers, Keshav,
 * Shenker, SIGCOMM 1989). SEQUENTIAL is the same machinery with at most one transfer
 * active and the rest in a FIFO queue, so both disciplines share one code path.
 *
 * catch_up(now) advances the fluid state to `now`, completing, at their exact times, all
 * transfers whose tags are reached on the way. The min-tag search is a linear scan of the
 * active set: O(k) per NIC event, fine for the tens to hundreds of workers of a cluster.
 * Transfers live in fixed-size chunks so their addresses are stable (delivery events carry
 * a pointer) while the pool grows; ids are (generation << 32 | slot), as in the engine.
 */
#include "sim_link.h"

#include <assert.h>
#include <math.h>

#include "cod_alloc.h"

/* Transfer slots come in chunks of 32 (about 3 KB): a run makes two NICs, and a chunk of 256
 * cost a 25 KB calloc and its free-list loop per NIC per run (7% of a model-only quickstart
 * run); a run with more transfers in flight grows by further chunks. */
#define CHUNK_BITS 5u
#define CHUNK_SIZE (1u << CHUNK_BITS)
#define NO_IDX UINT32_MAX

enum { XF_FREE = 0, XF_QUEUED, XF_ACTIVE, XF_PROPAGATING };

typedef struct nic_xfer {
  sim_nic *nic;
  double bits;
  double tag;              /* ACTIVE: V at which the last bit is served */
  uint64_t bytes;
  uint64_t seq;            /* submission order, breaks ties */
  sim_time_ns latency_ns;
  sim_event_fn done;
  void *payload;
  sim_fini_fn fini;
  sim_event_id deliver_ev; /* PROPAGATING */
  uint32_t gen, index;
  uint32_t next, prev;     /* QUEUED: FIFO links; FREE: next = free-list link */
  uint32_t active_pos;     /* ACTIVE: slot in active[] */
  int state;
} nic_xfer;

struct sim_nic {
  sim_engine *e;
  double rate_ns;          /* bits per ns */
  sim_nic_discipline disc;
  nic_xfer **chunks;
  uint32_t n_chunks, cap, free_head;
  uint32_t *active;        /* cap entries, first n_active used */
  uint32_t n_active;
  uint32_t q_head, q_tail; /* SEQUENTIAL FIFO */
  size_t in_flight;
  double v, last;          /* virtual clock (bits) and exact time (ns) it refers to */
  uint64_t next_seq, bytes_delivered;
  sim_event_id service_ev;
  int status;
};

sim_time_ns sim_link_serialize_ns(double bandwidth_bps, uint64_t bytes) {
  assert(bandwidth_bps > 0.0);
  return sim_time_from_s((double)bytes * 8.0 / bandwidth_bps);
}

sim_time_ns sim_link_transfer_ns(const sim_link *l, uint64_t bytes) {
  assert(l && l->bandwidth_bps > 0.0 && l->latency_s >= 0.0);
  return sim_time_from_s(l->latency_s + (double)bytes * 8.0 / l->bandwidth_bps);
}

static inline nic_xfer *xf_at(const sim_nic *n, uint32_t idx) {
  return &n->chunks[idx >> CHUNK_BITS][idx & (CHUNK_SIZE - 1)];
}

static int nic_grow(sim_nic *n) {
  if (n->cap > UINT32_MAX / 2 - CHUNK_SIZE) return COD_ENOMEM;
  uint32_t cap = n->cap + CHUNK_SIZE;
  uint32_t *active = cod_realloc(n->active, (size_t)cap * sizeof *active);
  if (!active) return COD_ENOMEM;
  n->active = active;
  nic_xfer **chunks = cod_realloc(n->chunks, (size_t)(n->n_chunks + 1) * sizeof *chunks);
  if (!chunks) return COD_ENOMEM;
  n->chunks = chunks;
  nic_xfer *c = cod_calloc(CHUNK_SIZE, sizeof *c);
  if (!c) return COD_ENOMEM;
  n->chunks[n->n_chunks++] = c;
  for (uint32_t i = CHUNK_SIZE; i-- > 0;) {
    c[i] = (nic_xfer){.nic = n, .gen = 1u, .index = n->cap + i, .next = n->free_head,
                      .state = XF_FREE};
    n->free_head = n->cap + i;
  }
  n->cap = cap;
  return COD_OK;
}

int sim_nic_new(sim_engine *e, double rate_bps, sim_nic_discipline discipline,
                sim_nic **out, cod_err *err) {
  assert(e && out);
  if (!(rate_bps > 0.0 && isfinite(rate_bps)))
    return cod_err_set(err, COD_EINVAL, "NIC rate %g bps must be finite and > 0", rate_bps);
  if (discipline != SIM_NIC_SEQUENTIAL && discipline != SIM_NIC_FAIR)
    return cod_err_set(err, COD_EINVAL, "unknown NIC discipline %d", (int)discipline);
  sim_nic *n = cod_calloc(1, sizeof *n);
  if (!n) return cod_err_set(err, COD_ENOMEM, "out of memory allocating a NIC");
  n->e = e;
  n->rate_ns = rate_bps / 1e9; /* division by an exact 1e9: integral Gbps stay exact */
  n->disc = discipline;
  n->free_head = n->q_head = n->q_tail = NO_IDX;
  n->last = (double)sim_engine_now(e);
  if (nic_grow(n) != COD_OK) {
    sim_nic_free(n);
    return cod_err_set(err, COD_ENOMEM, "out of memory allocating NIC transfer slots");
  }
  *out = n;
  return COD_OK;
}

static void xf_release(sim_nic *n, nic_xfer *x) {
  x->state = XF_FREE;
  x->gen = x->gen == UINT32_MAX ? 1u : x->gen + 1u;
  x->done = NULL;
  x->payload = NULL;
  x->fini = NULL;
  x->deliver_ev = SIM_EVENT_NONE;
  x->next = n->free_head;
  n->free_head = x->index;
  n->in_flight--;
}

void sim_nic_free(sim_nic *n) {
  if (!n) return;
  if (n->service_ev) sim_engine_cancel(n->e, n->service_ev);
  for (uint32_t i = 0; i < n->cap; i++) {
    nic_xfer *x = xf_at(n, i);
    if (x->state == XF_FREE) continue;
    if (x->state == XF_PROPAGATING) sim_engine_cancel(n->e, x->deliver_ev);
    if (x->fini) x->fini(x->payload);
  }
  for (uint32_t c = 0; c < n->n_chunks; c++) cod_free(n->chunks[c]);
  cod_free(n->chunks);
  cod_free(n->active);
  cod_free(n);
}

static void set_error(sim_nic *n, int status) {
  if (n->status == COD_OK) n->status = status;
  sim_engine_stop(n->e);
}

static void activate(sim_nic *n, nic_xfer *x) {
  x->state = XF_ACTIVE;
  x->tag = n->v + x->bits;
  x->active_pos = n->n_active;
  n->active[n->n_active++] = x->index;
}

static void active_remove(sim_nic *n, nic_xfer *x) {
  uint32_t pos = x->active_pos, last = --n->n_active;
  if (pos != last) {
    n->active[pos] = n->active[last];
    xf_at(n, n->active[pos])->active_pos = pos;
  }
  if (n->n_active == 0) n->v = 0.0; /* keep tags small: precision is relative to V */
}

/* SEQUENTIAL: start the head of the queue if the NIC is idle. */
static void seq_start_next(sim_nic *n) {
  if (n->disc != SIM_NIC_SEQUENTIAL || n->n_active > 0 || n->q_head == NO_IDX) return;
  nic_xfer *x = xf_at(n, n->q_head);
  n->q_head = x->next;
  if (n->q_head == NO_IDX) n->q_tail = NO_IDX;
  else xf_at(n, n->q_head)->prev = NO_IDX;
  activate(n, x);
}

static void on_deliver(sim_engine *e, void *payload) {
  nic_xfer *x = payload;
  sim_nic *n = x->nic;
  sim_event_fn done = x->done;
  void *user = x->payload;
  sim_fini_fn fini = x->fini;
  n->bytes_delivered += x->bytes;
  xf_release(n, x); /* before the callback: it may submit, or cancel its own id (no-op) */
  done(e, user);
  if (fini) fini(user);
}

/* The last bit of x was served at exact time t_exact (ns): start its propagation. */
static void finish_serialization(sim_nic *n, nic_xfer *x, double t_exact) {
  active_remove(n, x);
  x->state = XF_PROPAGATING;
  x->deliver_ev = SIM_EVENT_NONE;
  sim_time_ns now = sim_engine_now(n->e), end, at;
  double ce = ceil(t_exact);
  /* A rate so low (or a clock so late) that the transfer ends beyond the horizon: it
   * stays undelivered and the sticky status tells the caller why. */
  if (!(ce <= (double)SIM_TIME_HORIZON_NS)) {
    set_error(n, COD_EINVAL);
    return;
  }
  end = (sim_time_ns)ce;
  if (end < now) end = now;
  if (sim_time_add_checked(end, x->latency_ns, &at) != COD_OK) {
    set_error(n, COD_EINVAL);
    return;
  }
  if (sim_engine_schedule_at(n->e, at, on_deliver, x, NULL, &x->deliver_ev) != COD_OK)
    set_error(n, COD_ENOMEM);
}

/* Smallest finish tag among active transfers (n_active > 0). */
static double min_tag(const sim_nic *n) {
  double m = INFINITY;
  for (uint32_t i = 0; i < n->n_active; i++) {
    double t = xf_at(n, n->active[i])->tag;
    if (t < m) m = t;
  }
  return m;
}

/* Exact time (ns) at which the virtual clock reaches tag with the current k. */
static double time_of_tag(const sim_nic *n, double tag) {
  return tag <= n->v ? n->last : n->last + (tag - n->v) * (double)n->n_active / n->rate_ns;
}

/* Advance the fluid state to the engine's now. With force set, the min-tag group finishes
 * even if floating point puts its exact time a hair after now (the service event was
 * scheduled for exactly that group). */
static void catch_up(sim_nic *n, int force) {
  double now = (double)sim_engine_now(n->e);
  for (;;) {
    if (n->n_active == 0) {
      n->last = now;
      return;
    }
    double tag = min_tag(n), t = time_of_tag(n, tag);
    if (!(t <= now || force)) {
      n->v += (now - n->last) * n->rate_ns / (double)n->n_active;
      n->last = now;
      return;
    }
    force = 0;
    if (t > now) t = now;
    /* Collect the group finishing at this tag in submission order (insertion sort on
     * seq, groups are tiny), then finish them. */
    n->v = tag;
    n->last = t;
    for (;;) {
      nic_xfer *first = NULL;
      for (uint32_t i = 0; i < n->n_active; i++) {
        nic_xfer *x = xf_at(n, n->active[i]);
        if (x->tag <= tag && (!first || x->seq < first->seq)) first = x;
      }
      if (!first) break;
      finish_serialization(n, first, t);
    }
    /* V was reset to 0 if the set emptied; the next sequential transfer starts at t. */
    seq_start_next(n);
  }
}

static void on_service(sim_engine *e, void *payload);

/* Cancel the stale completion event and schedule the next one. */
static int reschedule(sim_nic *n) {
  if (n->service_ev) {
    sim_engine_cancel(n->e, n->service_ev);
    n->service_ev = SIM_EVENT_NONE;
  }
  if (n->n_active == 0) return COD_OK;
  double t = ceil(time_of_tag(n, min_tag(n)));
  sim_time_ns now = sim_engine_now(n->e);
  sim_time_ns at = t >= 9.2233720368547758e18 ? SIM_TIME_NEVER : (sim_time_ns)t;
  if (at < now) at = now;
  if (sim_engine_schedule_at(n->e, at, on_service, n, NULL, &n->service_ev) != COD_OK) {
    set_error(n, COD_ENOMEM);
    return COD_ENOMEM;
  }
  return COD_OK;
}

static void on_service(sim_engine *e, void *payload) {
  sim_nic *n = payload;
  n->service_ev = SIM_EVENT_NONE;
  catch_up(n, 1);
  reschedule(n);
}

int sim_nic_submit(sim_nic *n, uint64_t bytes, sim_time_ns latency_ns, sim_event_fn done,
                   void *payload, sim_fini_fn fini, sim_xfer_id *id_out) {
  assert(n && done && latency_ns >= 0);
  if (n->free_head == NO_IDX && nic_grow(n) != COD_OK) {
    if (n->status == COD_OK) n->status = COD_ENOMEM;
    return COD_ENOMEM;
  }
  catch_up(n, 0);
  nic_xfer *x = xf_at(n, n->free_head);
  n->free_head = x->next;
  n->in_flight++;
  x->bytes = bytes;
  x->bits = (double)bytes * 8.0;
  x->seq = n->next_seq++;
  x->latency_ns = latency_ns;
  x->done = done;
  x->payload = payload;
  x->fini = fini;
  x->next = x->prev = NO_IDX;
  if (n->disc == SIM_NIC_FAIR || n->n_active == 0) {
    activate(n, x);
  } else {
    x->state = XF_QUEUED;
    x->prev = n->q_tail;
    if (n->q_tail == NO_IDX) n->q_head = x->index;
    else xf_at(n, n->q_tail)->next = x->index;
    n->q_tail = x->index;
  }
  if (reschedule(n) != COD_OK) {
    /* Undo: x was only added (catch_up's progress is legitimate and stays). */
    if (x->state == XF_ACTIVE) active_remove(n, x);
    else {
      n->q_tail = x->prev;
      if (x->prev == NO_IDX) n->q_head = NO_IDX;
      else xf_at(n, x->prev)->next = NO_IDX;
    }
    x->fini = NULL;
    xf_release(n, x);
    return COD_ENOMEM;
  }
  if (id_out) *id_out = ((uint64_t)x->gen << 32) | x->index;
  return COD_OK;
}

int sim_nic_cancel(sim_nic *n, sim_xfer_id id) {
  assert(n);
  uint32_t idx = (uint32_t)(id & 0xffffffffu), gen = (uint32_t)(id >> 32);
  if (id == SIM_XFER_NONE || idx >= n->cap) return 0;
  nic_xfer *x = xf_at(n, idx);
  if (x->gen != gen || x->state == XF_FREE) return 0;
  int was_active = x->state == XF_ACTIVE;
  if (was_active) catch_up(n, 0); /* may move x (and others) on to propagation */
  switch (x->state) {
  case XF_QUEUED:
    if (x->prev == NO_IDX) n->q_head = x->next;
    else xf_at(n, x->prev)->next = x->next;
    if (x->next == NO_IDX) n->q_tail = x->prev;
    else xf_at(n, x->next)->prev = x->prev;
    break;
  case XF_ACTIVE:
    active_remove(n, x);
    seq_start_next(n);
    break;
  case XF_PROPAGATING:
    sim_engine_cancel(n->e, x->deliver_ev);
    break;
  default:
    assert(0);
  }
  /* The active set changed (or catch_up moved on): the pending service event is stale. A
   * failure here is recorded in the sticky status by reschedule(). */
  if (was_active) reschedule(n);
  void *payload = x->payload;
  sim_fini_fn fini = x->fini;
  xf_release(n, x);
  if (fini) fini(payload);
  return 1;
}

size_t sim_nic_active(const sim_nic *n) { return n->n_active; }
size_t sim_nic_in_flight(const sim_nic *n) { return n->in_flight; }
uint64_t sim_nic_bytes_delivered(const sim_nic *n) { return n->bytes_delivered; }
int sim_nic_status(const sim_nic *n) { return n->status; }
