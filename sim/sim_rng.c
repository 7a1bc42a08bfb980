/* sim_rng.c: MT19937 streams keyed by (seed, stream) through splitmix64.
 *
 * A stream is MT19937 (Matsumoto and Nishimura, ACM TOMACS 1998) whose 624-word state is
 * the splitmix64 sequence started at key = sim_rng_derive_key(seed, stream) (word 2i the
 * low, word 2i+1 the high half of output i), with the position index at "exhausted", so
 * the first draw twists the keyed state: exactly what gsl_rng_mt19937 gives once its state
 * is overwritten that way (how streams were made before, and what tests/sim checks draw
 * for draw). The generator is our own gsl_rng_type, so every gsl_ran_* function works on
 * it unchanged, and it makes that first block LAZILY: splitmix64 output i is a function of
 * key + (i + 1) * golden alone, and twisted word k needs only old words k, k + 1 and
 * k + 397 (or twisted word k - 227), so the j-th draw of a fresh stream costs a few
 * mix64s instead of 312 splitmix64 outputs plus a 624-word twist. A run draws a handful of
 * numbers per worker, so keying is O(1) and sim_rng_rekey re-keys a generator in place
 * (no allocation). From the second block on it is the plain MT19937 twist. MT's one fixed
 * point, the all-zero state, cannot be keyed: mix64 is a bijection and the 312 inputs are
 * distinct, so at most one output is zero.
 */
#include "sim_rng.h"

#include <assert.h>

#define MT_N 624
#define MT_M 397
#define MT_UPPER 0x80000000UL
#define MT_LOWER 0x7fffffffUL
#define MT_MAGIC(y) (((y) & 0x1) ? 0x9908b0dfUL : 0UL)
#define GOLDEN 0x9e3779b97f4a7c15ULL

typedef struct keyed_mt {
  unsigned long mt[MT_N];  /* the current block (while lazy: its words [0, mti) only) */
  int mti;                 /* next word of the block to draw */
  int lazy;                /* 1: block 0, made word by word from key */
  uint64_t key;
} keyed_mt;

static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t sim_splitmix64(uint64_t *state) {
  *state += GOLDEN;
  return mix64(*state);
}

uint64_t sim_rng_derive_key(uint64_t seed, uint64_t stream_id) {
  /* Two rounds so that the key is not linear in either argument. */
  uint64_t h = mix64(seed ^ 0x6a09e667f3bcc909ULL);
  return mix64(h + 0x9e3779b97f4a7c15ULL * (stream_id + 1));
}

/* Word j of the keyed (untwisted) state. */
static unsigned long keyed_word(uint64_t key, size_t j) {
  uint64_t x = mix64(key + GOLDEN * (uint64_t)(j / 2 + 1));
  return (unsigned long)(j & 1 ? x >> 32 : x & 0xffffffffu);
}

/* Twisted word k of block 0, once words [0, k) are made (GSL's mt_get loop, unrolled by
 * what each word reads). */
static unsigned long lazy_word(const keyed_mt *s, size_t k) {
  unsigned long nxt = k + 1 < MT_N ? keyed_word(s->key, k + 1) : s->mt[0];
  unsigned long y = (keyed_word(s->key, k) & MT_UPPER) | (nxt & MT_LOWER);
  unsigned long base = k < MT_N - MT_M ? keyed_word(s->key, k + MT_M) : s->mt[k + MT_M - MT_N];
  return base ^ (y >> 1) ^ MT_MAGIC(y);
}

static void twist(keyed_mt *s) {
  unsigned long *mt = s->mt, y;
  int kk;
  for (kk = 0; kk < MT_N - MT_M; kk++) {
    y = (mt[kk] & MT_UPPER) | (mt[kk + 1] & MT_LOWER);
    mt[kk] = mt[kk + MT_M] ^ (y >> 1) ^ MT_MAGIC(y);
  }
  for (; kk < MT_N - 1; kk++) {
    y = (mt[kk] & MT_UPPER) | (mt[kk + 1] & MT_LOWER);
    mt[kk] = mt[kk + (MT_M - MT_N)] ^ (y >> 1) ^ MT_MAGIC(y);
  }
  y = (mt[MT_N - 1] & MT_UPPER) | (mt[0] & MT_LOWER);
  mt[MT_N - 1] = mt[MT_M - 1] ^ (y >> 1) ^ MT_MAGIC(y);
  s->mti = 0;
}

static unsigned long keyed_get(void *vs) {
  keyed_mt *s = vs;
  unsigned long k;
  if (s->lazy) {
    k = s->mt[s->mti] = lazy_word(s, (size_t)s->mti);
    if (++s->mti == MT_N) s->lazy = 0;
  } else {
    if (s->mti >= MT_N) twist(s);
    k = s->mt[s->mti++];
  }
  k ^= (k >> 11);
  k ^= (k << 7) & 0x9d2c5680UL;
  k ^= (k << 15) & 0xefc60000UL;
  k ^= (k >> 18);
  return k;
}

static double keyed_get_double(void *vs) { return (double)keyed_get(vs) / 4294967296.0; }

static void keyed_set_key(keyed_mt *s, uint64_t key) {
  s->key = key, s->mti = 0, s->lazy = 1;
}

/* gsl_rng_set on one of our generators (fcdcc never calls it): the value is the key. */
static void keyed_set(void *vs, unsigned long seed) { keyed_set_key(vs, (uint64_t)seed); }

static const gsl_rng_type keyed_type = {"fcdcc-keyed-mt19937", 0xffffffffUL, 0,
                                        sizeof(keyed_mt), keyed_set, keyed_get,
                                        keyed_get_double};

int sim_rng_new(uint64_t seed, uint64_t stream_id, gsl_rng **out, cod_err *err) {
  assert(out);
  gsl_rng *r = gsl_rng_alloc(&keyed_type);
  if (!r) return cod_err_set(err, COD_ENOMEM, "out of memory allocating an MT19937 stream");
  keyed_set_key(gsl_rng_state(r), sim_rng_derive_key(seed, stream_id));
  *out = r;
  return COD_OK;
}

int sim_rng_rekey(gsl_rng *r, uint64_t seed, uint64_t stream_id, cod_err *err) {
  assert(r);
  if (r->type != &keyed_type)
    return cod_err_set(err, COD_EINVAL, "sim_rng_rekey: not a generator made by sim_rng_new");
  keyed_set_key(gsl_rng_state(r), sim_rng_derive_key(seed, stream_id));
  return COD_OK;
}

void sim_rng_free(gsl_rng *r) {
  if (r) gsl_rng_free(r);
}
