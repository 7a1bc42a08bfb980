/* sim_rng.c: MT19937 streams keyed by (seed, stream) through splitmix64.
 *
 * We fill the 624 state words of GSL's MT19937 with splitmix64 output and set its position
 * index to "state exhausted" (what a fresh gsl_rng_set leaves), so the first draw twists
 * the keyed state. This depends on GSL's MT19937 state being `unsigned long mt[624]; int
 * mti;`, which has been its layout since GSL 1.0; we check the size at run time and
 * refuse, rather than corrupt memory, if a future GSL changes it. sim_rng_rekey writes the
 * same state into an existing generator, so a run can reuse its generators (no allocation,
 * and no gsl_rng_set pass that the keyed state would overwrite anyway).
 */
#include "sim_rng.h"

#include <assert.h>

#define MT_N 624

typedef struct mt_state_mirror {
  unsigned long mt[MT_N];
  int mti;
} mt_state_mirror;

static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t sim_splitmix64(uint64_t *state) {
  *state += 0x9e3779b97f4a7c15ULL;
  return mix64(*state);
}

uint64_t sim_rng_derive_key(uint64_t seed, uint64_t stream_id) {
  /* Two rounds so that the key is not linear in either argument. */
  uint64_t h = mix64(seed ^ 0x6a09e667f3bcc909ULL);
  return mix64(h + 0x9e3779b97f4a7c15ULL * (stream_id + 1));
}

/* The state of (seed, stream_id), written into r's MT19937 state in place. gsl_rng_set
 * is not needed: every word of the state, and the position index, is overwritten. */
static void fill_state(gsl_rng *r, uint64_t seed, uint64_t stream_id) {
  uint64_t key = sim_rng_derive_key(seed, stream_id);
  mt_state_mirror *st = gsl_rng_state(r);
  uint64_t sm = key;
  unsigned long any = 0;
  for (int i = 0; i < MT_N; i += 2) {
    uint64_t x = sim_splitmix64(&sm);
    st->mt[i] = (unsigned long)(x & 0xffffffffu);
    st->mt[i + 1] = (unsigned long)(x >> 32);
    any |= st->mt[i] | st->mt[i + 1];
  }
  if (!any) st->mt[0] = 0x80000000UL; /* the all-zero state is MT's one fixed point */
  st->mti = MT_N;
}

int sim_rng_new(uint64_t seed, uint64_t stream_id, gsl_rng **out, cod_err *err) {
  assert(out);
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  if (!r) return cod_err_set(err, COD_ENOMEM, "out of memory allocating an MT19937 stream");
  size_t state_bytes = gsl_rng_size(r);
  if (state_bytes != sizeof(mt_state_mirror)) {
    gsl_rng_free(r);
    return cod_err_set(err, COD_EINVAL,
                       "GSL's MT19937 state is %zu bytes, expected %zu: cannot seed streams",
                       state_bytes, sizeof(mt_state_mirror));
  }
  fill_state(r, seed, stream_id);
  *out = r;
  return COD_OK;
}

int sim_rng_rekey(gsl_rng *r, uint64_t seed, uint64_t stream_id, cod_err *err) {
  assert(r);
  if (r->type != gsl_rng_mt19937 || gsl_rng_size(r) != sizeof(mt_state_mirror))
    return cod_err_set(err, COD_EINVAL, "sim_rng_rekey: not a generator made by sim_rng_new");
  fill_state(r, seed, stream_id);
  return COD_OK;
}

void sim_rng_free(gsl_rng *r) {
  if (r) gsl_rng_free(r);
}
