/* sim_engine.c: binary min-heap of events keyed by (time, sequence number).
 *
 * Design. Events live in a node pool (an array grown by doubling, with a LIFO free list),
 * so the steady state allocates nothing per event. The heap is a separate array of
 * entries that carry their own key (time, seq) next to the node index, so sifting compares
 * keys within one contiguous array instead of chasing node pointers.
 *
 * Cancellation is exact, not lazy: every node records its current heap slot (updated on
 * every move), so cancel removes the entry at that slot and re-sifts in O(log n). We chose
 * this over lazy deletion (mark dead, skip on pop) because (a) the finalizer contract says
 * a cancelled payload is released at cancel time, which lazy deletion can only honour by
 * separating payload from node anyway; (b) the master cancels every straggler of every
 * round, and lazy tombstones would keep the heap large and make pending() a second
 * counter to keep honest; (c) the extra cost is one store per sift step.
 *
 * Ids are (generation << 32 | slot). A slot's generation is bumped whenever the slot is
 * released (fired or cancelled), so stale ids of fired events are recognised and cancel
 * of them is a clean no-op. Generations start at 1, so no id is ever 0 (SIM_EVENT_NONE).
 *
 * Invariants: heap[0..n) is a min-heap on (t, seq); nodes[heap[i].node].heap_pos == i for
 * every i < n; a node is free iff its heap_pos == NO_POS; seq strictly increases with
 * each schedule, so (t, seq) keys are unique and the order is total.
 */
#include "sim_engine.h"

#include <assert.h>
#include <math.h>

#include "cod_alloc.h"

#define NO_POS UINT32_MAX
#define DEFAULT_CAPACITY 64u

typedef struct sim_node {
  sim_event_fn fn;
  void *payload;
  sim_fini_fn fini;
  uint32_t gen;       /* bumped on release; part of the id */
  uint32_t heap_pos;  /* slot in heap[], NO_POS when free */
  uint32_t next_free; /* free-list link, meaningful only when free */
} sim_node;

typedef struct sim_heap_entry {
  sim_time_ns t;
  uint64_t seq;
  uint32_t node;
} sim_heap_entry;

struct sim_engine {
  sim_heap_entry *heap;
  sim_node *nodes;
  uint32_t n;         /* pending events == heap entries in use */
  uint32_t cap;       /* entries in both heap[] and nodes[] */
  uint32_t free_head; /* first free node or NO_POS */
  uint64_t next_seq;
  uint64_t fired;
  sim_time_ns now;
  int stop;
};

static inline int entry_less(const sim_heap_entry *a, const sim_heap_entry *b) {
  return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static inline void heap_place(sim_engine *e, uint32_t pos, sim_heap_entry ent) {
  e->heap[pos] = ent;
  e->nodes[ent.node].heap_pos = pos;
}

static void sift_up(sim_engine *e, uint32_t pos) {
  sim_heap_entry ent = e->heap[pos];
  while (pos > 0) {
    uint32_t parent = (pos - 1) / 2;
    if (!entry_less(&ent, &e->heap[parent])) break;
    heap_place(e, pos, e->heap[parent]);
    pos = parent;
  }
  heap_place(e, pos, ent);
}

static void sift_down(sim_engine *e, uint32_t pos) {
  sim_heap_entry ent = e->heap[pos];
  uint32_t n = e->n;
  for (;;) {
    uint32_t child = 2 * pos + 1;
    if (child >= n) break;
    if (child + 1 < n && entry_less(&e->heap[child + 1], &e->heap[child])) child++;
    if (!entry_less(&e->heap[child], &ent)) break;
    heap_place(e, pos, e->heap[child]);
    pos = child;
  }
  heap_place(e, pos, ent);
}

/* Remove the heap entry at pos, keeping the heap property. */
static void heap_remove_at(sim_engine *e, uint32_t pos) {
  uint32_t last = --e->n;
  if (pos == last) return;
  sim_heap_entry moved = e->heap[last];
  heap_place(e, pos, moved);
  if (pos > 0 && entry_less(&moved, &e->heap[(pos - 1) / 2]))
    sift_up(e, pos);
  else
    sift_down(e, pos);
}

static void node_release(sim_engine *e, uint32_t idx) {
  sim_node *nd = &e->nodes[idx];
  nd->heap_pos = NO_POS;
  nd->gen = nd->gen == UINT32_MAX ? 1u : nd->gen + 1u;
  nd->fn = NULL;
  nd->payload = NULL;
  nd->fini = NULL;
  nd->next_free = e->free_head;
  e->free_head = idx;
}

/* Grow both arrays to new_cap and thread the new nodes onto the free list. */
static int engine_grow(sim_engine *e, uint32_t new_cap) {
  sim_heap_entry *heap = cod_realloc(e->heap, (size_t)new_cap * sizeof *heap);
  if (!heap) return COD_ENOMEM;
  e->heap = heap;
  sim_node *nodes = cod_realloc(e->nodes, (size_t)new_cap * sizeof *nodes);
  if (!nodes) return COD_ENOMEM; /* heap[] is merely larger than needed: harmless */
  e->nodes = nodes;
  for (uint32_t i = new_cap; i-- > e->cap;) {
    nodes[i] = (sim_node){.gen = 1u, .heap_pos = NO_POS, .next_free = e->free_head};
    e->free_head = i;
  }
  e->cap = new_cap;
  return COD_OK;
}

int sim_engine_new(size_t capacity_hint, sim_engine **out, cod_err *err) {
  assert(out);
  if (capacity_hint == 0) capacity_hint = DEFAULT_CAPACITY;
  if (capacity_hint > (size_t)(UINT32_MAX / 2))
    return cod_err_set(err, COD_EINVAL, "engine capacity %zu exceeds %u events",
                       capacity_hint, UINT32_MAX / 2);
  sim_engine *e = cod_calloc(1, sizeof *e);
  if (!e) return cod_err_set(err, COD_ENOMEM, "out of memory allocating the event engine");
  e->free_head = NO_POS;
  e->next_seq = 0;
  if (engine_grow(e, (uint32_t)capacity_hint) != COD_OK) {
    sim_engine_free(e);
    return cod_err_set(err, COD_ENOMEM, "out of memory allocating %zu event slots",
                       capacity_hint);
  }
  *out = e;
  return COD_OK;
}

void sim_engine_free(sim_engine *e) {
  if (!e) return;
  for (uint32_t i = 0; i < e->n; i++) {
    sim_node *nd = &e->nodes[e->heap[i].node];
    if (nd->fini) nd->fini(nd->payload);
  }
  cod_free(e->heap);
  cod_free(e->nodes);
  cod_free(e);
}

sim_time_ns sim_engine_now(const sim_engine *e) { return e->now; }

int sim_engine_schedule_at(sim_engine *e, sim_time_ns t_ns, sim_event_fn fn, void *payload,
                           sim_fini_fn fini, sim_event_id *id_out) {
  assert(e && fn);
  assert(t_ns >= e->now && "scheduling in the past");
  if (e->free_head == NO_POS) {
    assert(e->cap <= UINT32_MAX / 2);
    if (engine_grow(e, e->cap * 2) != COD_OK) return COD_ENOMEM;
  }
  uint32_t idx = e->free_head;
  sim_node *nd = &e->nodes[idx];
  e->free_head = nd->next_free;
  nd->fn = fn;
  nd->payload = payload;
  nd->fini = fini;
  uint32_t pos = e->n++;
  heap_place(e, pos, (sim_heap_entry){.t = t_ns, .seq = e->next_seq++, .node = idx});
  sift_up(e, pos);
  if (id_out) *id_out = ((uint64_t)nd->gen << 32) | idx;
  return COD_OK;
}

int sim_engine_schedule_after(sim_engine *e, sim_time_ns delay_ns, sim_event_fn fn,
                              void *payload, sim_fini_fn fini, sim_event_id *id_out) {
  assert(delay_ns >= 0);
  sim_time_ns t;
  if (sim_time_add_checked(e->now, delay_ns, &t) != COD_OK) return COD_EINVAL;
  return sim_engine_schedule_at(e, t, fn, payload, fini, id_out);
}

/* The node index of a pending event, or NO_POS. */
static uint32_t pending_node(const sim_engine *e, sim_event_id id) {
  uint32_t idx = (uint32_t)(id & 0xffffffffu), gen = (uint32_t)(id >> 32);
  if (id == SIM_EVENT_NONE || idx >= e->cap) return NO_POS;
  const sim_node *nd = &e->nodes[idx];
  if (nd->gen != gen || nd->heap_pos == NO_POS) return NO_POS;
  return idx;
}

int sim_engine_cancel(sim_engine *e, sim_event_id id) {
  assert(e);
  uint32_t idx = pending_node(e, id);
  if (idx == NO_POS) return 0;
  sim_node *nd = &e->nodes[idx];
  void *payload = nd->payload;
  sim_fini_fn fini = nd->fini;
  heap_remove_at(e, nd->heap_pos);
  node_release(e, idx);
  if (fini) fini(payload);
  return 1;
}

int sim_engine_is_pending(const sim_engine *e, sim_event_id id) {
  return pending_node(e, id) != NO_POS;
}

sim_time_ns sim_engine_next_time(const sim_engine *e) {
  return e->n ? e->heap[0].t : SIM_TIME_NEVER;
}

int sim_engine_step(sim_engine *e) {
  assert(e);
  if (e->n == 0) return 0;
  sim_heap_entry top = e->heap[0];
  heap_remove_at(e, 0);
  sim_node *nd = &e->nodes[top.node];
  sim_event_fn fn = nd->fn;
  void *payload = nd->payload;
  sim_fini_fn fini = nd->fini;
  /* Release before the callback: the callback may schedule (reusing this slot with a new
   * generation, possibly reallocating nodes[]) and cancelling its own id is a no-op. */
  node_release(e, top.node);
  e->now = top.t;
  e->fired++;
  fn(e, payload);
  if (fini) fini(payload);
  return 1;
}

sim_run_reason sim_engine_run(sim_engine *e, sim_time_ns until_ns) {
  assert(e && until_ns >= e->now);
  e->stop = 0;
  for (;;) {
    if (e->n == 0 || e->heap[0].t > until_ns) {
      if (until_ns != SIM_TIME_NEVER) e->now = until_ns;
      return e->n == 0 ? SIM_RUN_EMPTY : SIM_RUN_UNTIL;
    }
    sim_engine_step(e);
    if (e->stop) {
      e->stop = 0;
      return SIM_RUN_STOPPED;
    }
  }
}

void sim_engine_stop(sim_engine *e) { e->stop = 1; }

size_t sim_engine_pending(const sim_engine *e) { return e->n; }

uint64_t sim_engine_events_fired(const sim_engine *e) { return e->fired; }

sim_time_ns sim_time_from_s(double s) {
  assert(!isnan(s) && s >= 0.0);
  double ns = ceil(s * 1e9);
  if (!(ns < 9.2233720368547758e18)) return SIM_TIME_NEVER; /* 2^63, exact in double */
  return (sim_time_ns)ns;
}

int sim_time_from_s_checked(double s, sim_time_ns *out) {
  if (!(s >= 0.0)) return COD_EINVAL; /* NaN or negative */
  double ns = ceil(s * 1e9);
  if (!(ns <= (double)SIM_TIME_HORIZON_NS)) return COD_EINVAL; /* 2^62 is exact in double */
  *out = (sim_time_ns)ns;
  return COD_OK;
}

int sim_time_add_checked(sim_time_ns a, sim_time_ns b, sim_time_ns *out) {
  sim_time_ns t;
  if (a < 0 || b < 0 || __builtin_add_overflow(a, b, &t) || t > SIM_TIME_HORIZON_NS)
    return COD_EINVAL;
  *out = t;
  return COD_OK;
}

double sim_time_to_s(sim_time_ns t) {
  return t == SIM_TIME_NEVER ? INFINITY : (double)t * 1e-9;
}
