/* run_cache.c: per-thread caches of condition numbers, codes and generators (see
 * run_cache.h). Lookups are linear over at most a few dozen codes (a sweep thread meets
 * few distinct codes) and O(1) over worker sets (FNV-1a of the set's key, one bucket of
 * RUN_COND_CACHE_WAYS slots). */
#include "run_cache.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cod_alloc.h"
#include "cod_clock.h"
#include "cod_registry.h"
#include "run_exec.h"
#include "run_layer.h"
#include "sim_rng.h"

/* ---- condition numbers ----------------------------------------------------------- */

typedef struct cond_slot {
  uint64_t hash;           /* 0 = empty (a key whose hash is 0 is stored as 1) */
  uint64_t last_use;       /* the code's tick at the last hit or fill: LRU within a bucket */
  double cond;
} cond_slot;

typedef struct cond_code {
  const char *scheme;      /* registry name (static) */
  size_t n, ka, kb, q, delta;
  unsigned long seed;
  uint64_t last_use;
  size_t n_slots;          /* a power of two, >= RUN_COND_CACHE_WAYS (slots_for) */
  cond_slot *slots;        /* n_slots, in buckets of RUN_COND_CACHE_WAYS */
  uint32_t *ids;           /* n_slots x delta: the key of each slot */
} cond_code;

/* Slots of a code whose keys have delta ids: as many as fit in RUN_COND_CACHE_BYTES. */
static size_t slots_for(size_t delta) {
  size_t per = sizeof(cond_slot) + delta * sizeof(uint32_t), n = 64;
  while (2 * n <= RUN_COND_CACHE_SLOTS_MAX && 2 * n * per <= RUN_COND_CACHE_BYTES) n *= 2;
  return n;
}

struct run_cond_cache {
  cond_code codes[RUN_COND_CACHE_CODES];
  size_t n_codes;
  uint64_t tick;
  run_cache_stats st;
};

static uint64_t set_hash(const size_t *ids, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++) {
    h ^= (uint64_t)ids[i];
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 29; /* FNV's low bits mix poorly: the bucket index takes them */
  return h ? h : 1;
}

static void code_fini(cond_code *c) {
  cod_free(c->slots);
  cod_free(c->ids);
  memset(c, 0, sizeof *c);
}

void run_cond_cache_free(run_cond_cache *c) {
  if (!c) return;
  for (size_t i = 0; i < c->n_codes; i++) code_fini(&c->codes[i]);
  cod_free(c);
}

run_cache_stats run_cond_cache_stats(const run_cond_cache *c) {
  run_cache_stats z = {0, 0, 0};
  return c ? c->st : z;
}

/* The entry of `code` (made, evicting the least recently used, if absent); NULL when out
 * of memory. */
static cond_code *cond_code_find(run_cond_cache *c, const cod_code *code, size_t delta) {
  const cod_code_params *p = cod_code_params_get(code);
  const char *scheme = cod_code_scheme(code);
  unsigned long seed = cod_scheme_find(scheme, NULL)->takes_seed ? p->seed : 0;
  size_t lru = 0;
  for (size_t i = 0; i < c->n_codes; i++) {
    cond_code *e = &c->codes[i];
    if (strcmp(e->scheme, scheme) == 0 && e->n == p->n_workers && e->ka == cod_code_ka(code) &&
        e->kb == cod_code_kb(code) && e->q == p->q && e->seed == seed && e->delta == delta) {
      e->last_use = ++c->tick;
      return e;
    }
    if (e->last_use < c->codes[lru].last_use) lru = i;
  }
  cond_code *e;
  if (c->n_codes < RUN_COND_CACHE_CODES) {
    e = &c->codes[c->n_codes];
  } else {
    e = &c->codes[lru];
    code_fini(e);
    c->st.evictions++;
  }
  size_t n_slots = slots_for(delta);
  cond_slot *slots = cod_calloc(n_slots, sizeof *slots);
  uint32_t *ids = cod_malloc_array(n_slots * delta, sizeof *ids);
  if (!slots || !ids) {
    cod_free(slots);
    cod_free(ids);
    if (e == &c->codes[lru] && c->n_codes == RUN_COND_CACHE_CODES) { /* keep the array dense */
      c->codes[lru] = c->codes[--c->n_codes];
      memset(&c->codes[c->n_codes], 0, sizeof *e);
    }
    return NULL;
  }
  if (e == &c->codes[c->n_codes]) c->n_codes++;
  e->scheme = scheme, e->n = p->n_workers, e->ka = cod_code_ka(code), e->kb = cod_code_kb(code);
  e->q = p->q, e->seed = seed, e->delta = delta, e->last_use = ++c->tick;
  e->n_slots = n_slots, e->slots = slots, e->ids = ids;
  return e;
}

/* The condition number of a set computed on its key, as a hit must equal recomputation: the
 * sorted set for most schemes; nsctc-rot's canonical image may hold ids >= n, but its cond
 * of any set of the orbit is already the cond of that image (cod_cond_rot.h), so the set
 * itself is asked then. */
static int key_cond(const cod_code *code, const size_t *key, size_t n_key, const size_t *used,
                    size_t n_used, double *cond, cod_err *err) {
  int in_range = 1;
  for (size_t i = 0; i < n_key; i++) in_range &= key[i] < cod_code_workers(code);
  return in_range ? cod_code_cond(code, key, n_key, cond, err)
                  : cod_code_cond(code, used, n_used, cond, err);
}

static int key_fits(const size_t *key, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (key[i] > UINT32_MAX) return 0;
  return 1;
}

/* key_cond with its thread CPU added to *cpu_s (if not NULL) */
static int key_cond_timed(const cod_code *code, const size_t *key, size_t n_key,
                          const size_t *used, size_t n_used, double *cond, double *cpu_s,
                          cod_err *err) {
  double c0 = cpu_s ? cod_clock_thread_cpu_s() : 0.0;
  int rc = key_cond(code, key, n_key, used, n_used, cond, err);
  if (cpu_s) *cpu_s += cod_clock_thread_cpu_s() - c0;
  return rc;
}

int run_cond_cache_get(run_cond_cache **cache, const cod_code *code, const size_t *used,
                       size_t n_used, double *cond, double *cpu_s, cod_err *err) {
  size_t key[COD_WORKERS_MAX], n_key = 0;
  if (cpu_s) *cpu_s = 0.0;
  if (n_used == 0 || n_used > COD_WORKERS_MAX)
    return cod_code_cond(code, used, n_used, cond, err); /* its own refusal */
  int rc = cod_code_cond_key(code, used, n_used, key, &n_key, err);
  if (rc) return rc;
  if (!cache || !key_fits(key, n_key))
    return key_cond_timed(code, key, n_key, used, n_used, cond, cpu_s, err);
  if (!*cache && !(*cache = cod_calloc(1, sizeof **cache)))
    return cod_err_set(err, COD_ENOMEM, "out of memory for the condition-number cache");
  run_cond_cache *c = *cache;
  cond_code *e = cond_code_find(c, code, n_key);
  if (!e) return cod_err_set(err, COD_ENOMEM, "out of memory for the condition-number cache");
  uint64_t h = set_hash(key, n_key);
  size_t b = (size_t)(h & (e->n_slots / RUN_COND_CACHE_WAYS - 1)) * RUN_COND_CACHE_WAYS;
  size_t victim = b;
  for (size_t s = b; s < b + RUN_COND_CACHE_WAYS; s++) {
    const uint32_t *ids = e->ids + s * n_key;
    if (e->slots[s].hash == h) {
      size_t i = 0;
      while (i < n_key && ids[i] == key[i]) i++;
      if (i == n_key) {
        c->st.hits++;
        e->slots[s].last_use = ++c->tick;
        *cond = e->slots[s].cond;
        return COD_OK;
      }
    }
    if (e->slots[s].last_use < e->slots[victim].last_use) victim = s; /* empty: 0 */
  }
  double k;
  if ((rc = key_cond_timed(code, key, n_key, used, n_used, &k, cpu_s, err))) return rc;
  c->st.misses++;
  if (e->slots[victim].hash) c->st.evictions++;
  e->slots[victim].hash = h, e->slots[victim].cond = k, e->slots[victim].last_use = ++c->tick;
  uint32_t *ids = e->ids + victim * n_key;
  for (size_t i = 0; i < n_key; i++) ids[i] = (uint32_t)key[i];
  *cond = k;
  return COD_OK;
}

/* ---- codes ------------------------------------------------------------------------ */

/* Everything run_code_choose reads from its arguments. */
typedef struct code_key {
  cod_conv_geom g;
  char scheme[RUN_SCHEME_NAME_MAX];
  size_t n, q, ka, kb, delta, el;
  unsigned long seed;
  int axis;
  size_t raw_ka, raw_kb, raw_delta, replication; /* the keys as set (repartition reads them) */
  int on_storage;
  double min_storage;      /* smallest worker storage (bytes), when the pair is chosen */
  double held_f, held_s;   /* storage = whole-model: bytes a worker already holds */
} code_key;

typedef struct code_entry {
  code_key key;
  cod_code *code;
  uint64_t last_use;
} code_entry;

struct run_code_cache {
  code_entry e[RUN_CODE_CACHE_MAX];
  size_t n;
  uint64_t tick;
  run_cache_stats st;
};

static void key_make(const run_config *c, const cod_conv_geom *g, double held_f,
                     double held_s, code_key *k) {
  memset(k, 0, sizeof *k);
  k->g = *g;
  k->raw_ka = c->coding.ka, k->raw_kb = c->coding.kb, k->raw_delta = c->coding.delta;
  k->replication = c->coding.replication, k->on_storage = c->cluster.on_storage;
  k->held_f = held_f, k->held_s = held_s;
  run_pairs pr;
  run_config_pairs(c, &pr);
  cod_code_params p = run_config_code_params(c, pr.ka, pr.kb);
  snprintf(k->scheme, sizeof k->scheme, "%s", p.scheme);
  k->n = p.n_workers, k->q = p.q, k->ka = pr.ka, k->kb = pr.kb, k->delta = pr.delta;
  k->seed = p.seed, k->axis = (int)p.axis;
  k->el = run_precision_operand_bytes(c->run.precision);
  k->min_storage = 0;
  if (pr.delta) {
    double m = INFINITY;
    for (size_t w = 0; w < c->cluster.workers; w++) {
      run_worker rw;
      run_config_worker(c, w, &rw);
      if (rw.storage_bytes < m) m = rw.storage_bytes;
    }
    k->min_storage = m;
  }
}

static int key_eq(const code_key *a, const code_key *b) {
  return memcmp(&a->g, &b->g, sizeof a->g) == 0 && strcmp(a->scheme, b->scheme) == 0 &&
         a->n == b->n && a->q == b->q && a->ka == b->ka && a->kb == b->kb &&
         a->delta == b->delta && a->el == b->el && a->seed == b->seed && a->axis == b->axis &&
         a->raw_ka == b->raw_ka && a->raw_kb == b->raw_kb && a->raw_delta == b->raw_delta &&
         a->replication == b->replication && a->on_storage == b->on_storage &&
         a->held_f == b->held_f && a->held_s == b->held_s &&
         (a->min_storage == b->min_storage ||
          (a->min_storage != a->min_storage && b->min_storage != b->min_storage));
}

int run_code_cache_get(run_code_cache **cache, const run_config *cfg, const cod_conv_geom *g,
                       double held_f, double held_s, const cod_code **out, cod_err *err) {
  if (!*cache && !(*cache = cod_calloc(1, sizeof **cache)))
    return cod_err_set(err, COD_ENOMEM, "out of memory for the code cache");
  run_code_cache *c = *cache;
  code_key k;
  key_make(cfg, g, held_f, held_s, &k);
  size_t lru = 0;
  for (size_t i = 0; i < c->n; i++) {
    if (key_eq(&c->e[i].key, &k)) {
      c->e[i].last_use = ++c->tick;
      c->st.hits++;
      *out = c->e[i].code;
      return COD_OK;
    }
    if (c->e[i].last_use < c->e[lru].last_use) lru = i;
  }
  cod_code *code = NULL;
  int rc = run_code_choose_held(cfg, g, held_f, held_s, &code, err);
  if (rc) return rc;
  c->st.misses++;
  code_entry *e;
  if (c->n < RUN_CODE_CACHE_MAX) {
    e = &c->e[c->n++];
  } else {
    e = &c->e[lru];
    cod_code_free(e->code);
    c->st.evictions++;
  }
  e->key = k, e->code = code, e->last_use = ++c->tick;
  *out = code;
  return COD_OK;
}

void run_code_cache_free(run_code_cache *c) {
  if (!c) return;
  for (size_t i = 0; i < c->n; i++) cod_code_free(c->e[i].code);
  cod_free(c);
}

run_cache_stats run_code_cache_stats(const run_code_cache *c) {
  run_cache_stats z = {0, 0, 0};
  return c ? c->st : z;
}

/* ---- generators -------------------------------------------------------------------- */

static int pool_grow(run_rng_pool *p, size_t n, cod_err *err) {
  if (n <= p->cap) return COD_OK;
  gsl_rng **lat = cod_realloc(p->lat, n * sizeof *lat);
  if (!lat) return cod_err_set(err, COD_ENOMEM, "out of memory");
  p->lat = lat;
  gsl_rng **noise = cod_realloc(p->noise, n * sizeof *noise);
  if (!noise) return cod_err_set(err, COD_ENOMEM, "out of memory");
  p->noise = noise;
  gsl_rng **none = cod_realloc(p->none, n * sizeof *none);
  if (!none) return cod_err_set(err, COD_ENOMEM, "out of memory");
  p->none = none;
  for (size_t j = p->cap; j < n; j++) p->lat[j] = p->noise[j] = p->none[j] = NULL;
  p->cap = n;
  return COD_OK;
}

int run_rng_pool_take(run_rng_pool *p, size_t n, int noise, uint64_t seed, uint64_t trial,
                      gsl_rng ***lat, gsl_rng ***noise_out, cod_err *err) {
  int rc = pool_grow(p, n, err);
  for (size_t j = 0; !rc && j < n; j++) {
    uint64_t sl = run_stream_id(trial, j, RUN_STREAM_LATENCY);
    rc = p->lat[j] ? sim_rng_rekey(p->lat[j], seed, sl, err) : sim_rng_new(seed, sl, &p->lat[j], err);
    if (!rc && noise) {
      uint64_t sn = run_stream_id(trial, j, RUN_STREAM_NOISE);
      rc = p->noise[j] ? sim_rng_rekey(p->noise[j], seed, sn, err)
                       : sim_rng_new(seed, sn, &p->noise[j], err);
    }
  }
  if (rc) return rc;
  *lat = p->lat;
  *noise_out = noise ? p->noise : p->none;
  return COD_OK;
}

void run_rng_pool_fini(run_rng_pool *p) {
  if (!p) return;
  for (size_t j = 0; j < p->cap; j++) sim_rng_free(p->lat[j]), sim_rng_free(p->noise[j]);
  cod_free(p->lat);
  cod_free(p->noise);
  cod_free(p->none);
  memset(p, 0, sizeof *p);
}
