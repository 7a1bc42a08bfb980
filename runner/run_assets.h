/* run_assets.h: read-only run assets shared by the threads of one sweep, built once per key.
 *
 * A sweep thread's real-compute assets (the parsed model, its He weights, the input, the
 * uncoded reference pass) are immutable once built, and with --jobs 2 each thread used to
 * build its own copy: AlexNet's cost 1.68 s per thread, and two copies of the weights
 * (docs/decisions/024). This pool holds one copy per key for all threads. The first thread
 * that asks for a key builds it outside the lock; a thread asking for the same key while
 * it is built waits on a condition variable (it never builds it twice). A failed build
 * (out of memory, a bad model file) reaches the builder and every thread that waited for
 * it, with the same status and message; the failed entry goes once its last waiter has
 * left, so a later request builds again. Never a hang: every waiter is woken when the
 * build ends, whichever way.
 *
 * Entries are reference-counted. Bound: the live entries are the keys some thread holds
 * (or builds) plus at most `idle_max` entries no thread holds, kept most recently
 * released first in case a thread comes back to them; releasing one more frees the least
 * recently released idle entry. With idle_max = 0 an entry is freed with its last holder.
 *
 * The pool knows nothing of models: a key is a string, an entry an opaque object built
 * and freed through a run_asset_ops table. Objects must not be written after their build
 * returns (threads read them without the lock).
 */
#ifndef FCDCC_RUN_ASSETS_H
#define FCDCC_RUN_ASSETS_H

#include <stddef.h>

#include "cod_status.h"

typedef struct run_asset_pool run_asset_pool;

/* How to make and free one entry. build: *out set on COD_OK; on failure a status and a
 * message in err (*out ignored). free: accepts what build made. */
typedef struct run_asset_ops {
  int (*build)(void *ctx, void **out, cod_err *err);
  void (*free)(void *obj);
} run_asset_ops;

/* Counters, for tests and benchmarks. */
typedef struct run_asset_pool_stats {
  size_t builds;    /* builds started (failed ones included) */
  size_t failures;  /* builds that failed */
  size_t hits;      /* acquires served by a ready entry */
  size_t waits;     /* acquires that waited for another thread's build */
  size_t evictions; /* idle entries freed to stay within idle_max */
  size_t live;      /* entries now alive (held, building or idle) */
} run_asset_pool_stats;

/* A pool keeping at most idle_max entries that no thread holds. COD_ENOMEM (or the
 * mutex's failure) with a message; *out untouched on failure. */
int run_asset_pool_new(size_t idle_max, run_asset_pool **out, cod_err *err);
/* Frees the pool and its idle entries (accepts NULL). No entry may still be held. */
void run_asset_pool_free(run_asset_pool *p);

/* The entry of `key` (a NUL-terminated string, copied), built with ops->build(ctx) if no
 * entry of that key is alive, with one reference taken for the caller: *out is the object,
 * valid until run_asset_pool_release. Blocks while another thread builds the same key.
 * Errors: COD_ENOMEM for the pool's own entry, or the build's status and message (for the
 * builder and for every thread that waited for that build); *out untouched. The ops of
 * a key must be the same on every call. */
int run_asset_pool_acquire(run_asset_pool *p, const char *key, const run_asset_ops *ops,
                           void *ctx, void **out, cod_err *err);
/* The same for a thread moving from the object `drop` (from this pool, or NULL) to `key`,
 * whose reference it gives back in every case, success or failure. When `key` is alive,
 * drop is released after the new reference is taken, so an exchange A -> B -> A with one
 * idle place finds A idle instead of pushing it out with B; when `key` must be built, drop
 * is released first, so the build adds no more to the pool's live entries than a release
 * followed by an acquire. */
int run_asset_pool_exchange(run_asset_pool *p, const void *drop, const char *key,
                            const run_asset_ops *ops, void *ctx, void **out, cod_err *err);
/* Drops the caller's reference to obj (from run_asset_pool_acquire; NULL is a no-op).
 * The entry becomes idle when no one holds it; idle entries beyond idle_max are freed,
 * least recently released first. */
void run_asset_pool_release(run_asset_pool *p, const void *obj);

run_asset_pool_stats run_asset_pool_stats_get(run_asset_pool *p);

#endif
