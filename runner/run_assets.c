/* run_assets.c: the shared asset pool (see run_assets.h).
 *
 * A short linked list under one mutex (a sweep holds a handful of keys at once); one
 * condition variable wakes every waiter when any build ends, and each waiter rechecks its
 * own entry. The build runs without the lock, so other keys are served meanwhile.
 */
#include "run_assets.h"

#include <assert.h>
#include <pthread.h>
#include <string.h>

#include "cod_alloc.h"

typedef struct entry {
  struct entry *next;
  char *key;
  const run_asset_ops *ops;
  void *obj;          /* when state is READY */
  int state;          /* BUILDING, READY, FAILED */
  size_t refs;        /* holders, the builder and the waiters included */
  unsigned long released; /* when it last became idle (the pool's tick) */
  cod_err err;        /* when state is FAILED: the build's status and message */
} entry;

enum { BUILDING, READY, FAILED };

struct run_asset_pool {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  entry *head;
  size_t idle_max;
  unsigned long tick;
  run_asset_pool_stats st;
};

int run_asset_pool_new(size_t idle_max, run_asset_pool **out, cod_err *err) {
  run_asset_pool *p = cod_calloc(1, sizeof *p);
  if (!p) return cod_err_set(err, COD_ENOMEM, "out of memory for the shared asset pool");
  if (pthread_mutex_init(&p->mu, NULL) != 0) {
    cod_free(p);
    return cod_err_set(err, COD_ENOMEM, "cannot create the shared asset pool's mutex");
  }
  if (pthread_cond_init(&p->cv, NULL) != 0) {
    pthread_mutex_destroy(&p->mu);
    cod_free(p);
    return cod_err_set(err, COD_ENOMEM, "cannot create the shared asset pool's condition");
  }
  p->idle_max = idle_max;
  *out = p;
  return COD_OK;
}

static void entry_free(entry *e) {
  if (e->state == READY) e->ops->free(e->obj);
  cod_free(e->key);
  cod_free(e);
}

/* Unlink e (under mu). */
static void unlink_entry(run_asset_pool *p, entry *e) {
  for (entry **pp = &p->head; *pp; pp = &(*pp)->next)
    if (*pp == e) {
      *pp = e->next;
      p->st.live--;
      return;
    }
}

void run_asset_pool_free(run_asset_pool *p) {
  if (!p) return;
  for (entry *e = p->head, *n; e; e = n) {
    n = e->next;
    assert(e->refs == 0 && "an asset is still held");
    entry_free(e);
  }
  pthread_cond_destroy(&p->cv);
  pthread_mutex_destroy(&p->mu);
  cod_free(p);
}

/* Free idle entries beyond idle_max, least recently released first (under mu). */
static void trim_idle(run_asset_pool *p) {
  for (;;) {
    size_t idle = 0;
    entry *oldest = NULL;
    for (entry *e = p->head; e; e = e->next)
      if (e->refs == 0 && e->state == READY) {
        idle++;
        if (!oldest || e->released < oldest->released) oldest = e;
      }
    if (idle <= p->idle_max) return;
    unlink_entry(p, oldest);
    entry_free(oldest); /* under the lock: a free is short beside a build */
    p->st.evictions++;
  }
}

/* Drop the reference to obj (under mu; NULL is a no-op). */
static void release_locked(run_asset_pool *p, const void *obj) {
  if (!obj) return;
  entry *e = p->head;
  while (e && !(e->state == READY && e->obj == obj)) e = e->next;
  assert(e && e->refs > 0 && "release of an asset the pool did not hand out");
  if (e && --e->refs == 0) {
    e->released = ++p->tick;
    trim_idle(p);
  }
}

int run_asset_pool_acquire(run_asset_pool *p, const char *key, const run_asset_ops *ops,
                           void *ctx, void **out, cod_err *err) {
  return run_asset_pool_exchange(p, NULL, key, ops, ctx, out, err);
}

int run_asset_pool_exchange(run_asset_pool *p, const void *drop, const char *key,
                            const run_asset_ops *ops, void *ctx, void **out, cod_err *err) {
  pthread_mutex_lock(&p->mu);
  entry *e = p->head;
  while (e && (e->state == FAILED || strcmp(e->key, key) != 0)) e = e->next;
  if (e) {
    e->refs++;
    release_locked(p, drop); /* after: drop's release cannot push e out of the idle list */
    if (e->state == BUILDING) p->st.waits++;
    else p->st.hits++;
    while (e->state == BUILDING) pthread_cond_wait(&p->cv, &p->mu);
    int rc = COD_OK;
    if (e->state == READY) {
      *out = e->obj;
    } else { /* the build this thread waited for failed: the same error */
      rc = e->err.status ? e->err.status : COD_ENOMEM;
      if (err) *err = e->err;
      if (--e->refs == 0) unlink_entry(p, e), entry_free(e);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
  }
  release_locked(p, drop); /* before the build: the old set idles (or goes) as it would */
  e = cod_calloc(1, sizeof *e);
  char *k = cod_strdup(key);
  if (!e || !k) {
    cod_free(e), cod_free(k);
    pthread_mutex_unlock(&p->mu);
    return cod_err_set(err, COD_ENOMEM, "out of memory for a shared asset entry");
  }
  e->key = k, e->ops = ops, e->state = BUILDING, e->refs = 1;
  e->next = p->head, p->head = e;
  p->st.builds++, p->st.live++;
  pthread_mutex_unlock(&p->mu);

  void *obj = NULL;
  cod_err be = {0};
  int rc = ops->build(ctx, &obj, &be);
  if (rc && !be.msg[0]) cod_err_set(&be, rc, "building a shared asset failed");
  if (rc && !be.status) be.status = rc;

  pthread_mutex_lock(&p->mu);
  if (rc) {
    e->state = FAILED, e->err = be;
    p->st.failures++;
    if (--e->refs == 0) unlink_entry(p, e), entry_free(e);
  } else {
    e->state = READY, e->obj = obj;
    *out = obj;
  }
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  if (rc && err) *err = be;
  return rc;
}

void run_asset_pool_release(run_asset_pool *p, const void *obj) {
  if (!obj) return;
  pthread_mutex_lock(&p->mu);
  release_locked(p, obj);
  pthread_mutex_unlock(&p->mu);
}

run_asset_pool_stats run_asset_pool_stats_get(run_asset_pool *p) {
  pthread_mutex_lock(&p->mu);
  run_asset_pool_stats s = p->st;
  pthread_mutex_unlock(&p->mu);
  return s;
}
