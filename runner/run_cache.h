/* run_cache.h: what a sweep thread keeps from one run to the next (prefix run_*_cache,
 * run_rng_pool).
 *
 * A model-only run of AlexNet at n = 20 fires about 600 events; before these caches half
 * of its time went to work whose result did not change from run to run: the condition
 * number of a worker set that an earlier run had already used, the plan and coefficient
 * matrices of the same code, and allocating and seeding a generator per worker. Each
 * cache is owned by one thread (no locks) and bounded:
 *   - run_cond_cache: the 2-norm condition number of a used worker set, per code
 *     (scheme, n, k_A, k_B, q, seed: what the coefficient matrices depend on), for at most
 *     RUN_COND_CACHE_CODES codes (least recently used code evicted), each a table of
 *     buckets of RUN_COND_CACHE_WAYS slots (least recently used slot replaced) of as many
 *     slots as fit in RUN_COND_CACHE_BYTES, a power of two, at most
 *     RUN_COND_CACHE_SLOTS_MAX. A set is looked up by its key (cod_code_cond_key): its ids
 *     ascending, or for nsctc-rot the canonical image under the rotations and reflections
 *     of the nodes, one key per orbit of up to 2q sets (C(20, 16) = 4845 sets at n = 20,
 *     4 x 4, fall into 145 orbits). The condition number is computed on the key, so a hit
 *     returns exactly what recomputation (cod_code_cond of any set with that key) would;
 *     arrival order only permutes the rows of the matrix (the same number up to rounding).
 *   - run_code_cache: the code run_code_choose plans for (layer geometry, the [coding]
 *     keys, n, precision and the smallest worker storage), at most RUN_CODE_CACHE_MAX per
 *     thread (least recently used evicted). Codes are immutable once planned.
 *   - run_rng_pool: the MT19937 generators of a run's workers, allocated once and re-keyed
 *     (sim_rng_rekey) per run: the same streams as fresh sim_rng_new generators.
 * Memory: a cond slot is 24 bytes plus 4 bytes per id, at most RUN_COND_CACHE_BYTES per
 * code, so at most 16 MB per thread; a cached code is one cod_code.
 */
#ifndef FCDCC_RUN_CACHE_H
#define FCDCC_RUN_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "cod_code.h"
#include "run_config.h"

#define RUN_COND_CACHE_CODES 16
#define RUN_COND_CACHE_BYTES (1u << 20) /* per code: its slots fill at most this */
#define RUN_COND_CACHE_SLOTS_MAX 65536
#define RUN_COND_CACHE_WAYS 4 /* slots per bucket */
#define RUN_CODE_CACHE_MAX 64

typedef struct run_cond_cache run_cond_cache;

/* Counters of a cache, for tests and benchmarks. */
typedef struct run_cache_stats {
  uint64_t hits, misses, evictions;
} run_cache_stats;

/* The 2-norm condition number of the recovery matrix of the worker set `used` (n_used
 * distinct ids, any order, as cod_code_select returns them) of `code`, computed with
 * cod_code_cond on the ids sorted ascending. *cache may be NULL on entry (a cache is then
 * made) and is kept by the caller (run_cond_cache_free); with cache == NULL nothing is
 * cached. COD_OK and *cond, or cod_code_cond's status (COD_EUNDECODABLE, COD_ENOMEM), or
 * COD_ENOMEM making the cache, with a message; *cond untouched on failure. cpu_s (may be
 * NULL): the thread CPU seconds spent computing a number (0 on a hit; the thread-CPU clock
 * is read only around a computation, since one reading costs about a microsecond, far
 * more than a hit). */
int run_cond_cache_get(run_cond_cache **cache, const cod_code *code, const size_t *used,
                       size_t n_used, double *cond, double *cpu_s, cod_err *err);
void run_cond_cache_free(run_cond_cache *c); /* accepts NULL */
run_cache_stats run_cond_cache_stats(const run_cond_cache *c); /* zeros for NULL */

typedef struct run_code_cache run_code_cache;

/* The code run_code_choose_held(cfg, g, held_filter_bytes, held_slab_bytes) would plan,
 * borrowed from the cache (valid until run_code_cache_free, or until RUN_CODE_CACHE_MAX
 * other codes were asked for after its last use: callers hold it for one layer only).
 * *cache may be NULL on entry (then made). COD_OK, or the planner's status and message
 * (nothing is cached then), or COD_ENOMEM. The key is every input the planner reads: the
 * geometry, the [coding] keys, the coded workers, the precision, [cluster] storage
 * handling, the smallest worker storage and the held bytes. */
int run_code_cache_get(run_code_cache **cache, const run_config *cfg, const cod_conv_geom *g,
                       double held_filter_bytes, double held_slab_bytes,
                       const cod_code **out, cod_err *err);
void run_code_cache_free(run_code_cache *c); /* accepts NULL */
run_cache_stats run_code_cache_stats(const run_code_cache *c);

/* Generators for the workers of a run, reused from run to run. Zero-initialise. */
typedef struct run_rng_pool {
  gsl_rng **lat, **noise;  /* cap entries each; noise entries made on first need */
  gsl_rng **none;          /* cap NULL entries: the noise streams of a noiseless run */
  size_t cap;
} run_rng_pool;

/* At least n latency generators (and n noise generators if `noise`), each re-keyed to
 * (seed, run_stream_id(trial, j, purpose)), into *lat and *noise (borrowed from the pool;
 * *noise entries are NULL when !noise). COD_OK, or COD_ENOMEM / sim_rng's status. */
int run_rng_pool_take(run_rng_pool *p, size_t n, int noise, uint64_t seed, uint64_t trial,
                      gsl_rng ***lat, gsl_rng ***noise_out, cod_err *err);
void run_rng_pool_fini(run_rng_pool *p);

#endif
