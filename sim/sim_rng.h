/* sim_rng.h: seeded, independent random streams for simulations (prefix sim_rng_).
 *
 * Every random draw in a run comes from a gsl_rng that the run owns; there is no global
 * RNG and nothing is seeded from the wall clock. A run has one 64-bit seed and asks for
 * as many streams as it has independent sources of randomness (one per worker, one for
 * the network, ...), each named by a 64-bit stream id. The generator is MT19937, and its
 * whole 624-word state is filled from a splitmix64 sequence keyed by a hash of (seed,
 * stream). Seeding the full state, instead of calling gsl_rng_set() with a 32-bit seed,
 * matters: 32-bit seeds would make two of ~65,000 streams collide with probability 1/2
 * (birthday bound), while distinct (seed, stream) keys here collide only if two 64-bit
 * hashes do. splitmix64 is Steele, Lea and Flood, "Fast splittable pseudorandom number
 * generators", OOPSLA 2014; its finalizer is the standard way to seed MT from a key.
 */
#ifndef FCDCC_SIM_RNG_H
#define FCDCC_SIM_RNG_H

#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "cod_status.h"

/* The splitmix64 generator: advances *state and returns the next 64-bit output. */
uint64_t sim_splitmix64(uint64_t *state);

/* A 64-bit key for stream `stream_id` of a run seeded with `seed`: distinct pairs give
 * (with overwhelming probability) distinct keys, and nearby pairs give unrelated keys. */
uint64_t sim_rng_derive_key(uint64_t seed, uint64_t stream_id);

/* Allocate an MT19937 gsl_rng whose state is a pure function of (seed, stream_id): the
 * draws of gsl_rng_mt19937 with its 624 state words set to the splitmix64 sequence from
 * sim_rng_derive_key(seed, stream_id) (sim_rng.c; its type is our own, named
 * "fcdcc-keyed-mt19937", and makes that state lazily). On success *out owns it (free with
 * sim_rng_free or gsl_rng_free) and COD_OK is returned. Errors: COD_ENOMEM if GSL cannot
 * allocate (GSL's error handler is invoked first, so main() must have turned the aborting
 * default off). *out untouched on failure. */
int sim_rng_new(uint64_t seed, uint64_t stream_id, gsl_rng **out, cod_err *err);

/* Put r (made by sim_rng_new) in exactly the state sim_rng_new(seed, stream_id) gives, in
 * place, in O(1) and without allocating: a run re-keys its generators instead of making
 * new ones, and draws the same numbers. COD_EINVAL (r untouched) if r was not made by
 * sim_rng_new. */
int sim_rng_rekey(gsl_rng *r, uint64_t seed, uint64_t stream_id, cod_err *err);

/* Free a generator from sim_rng_new. Accepts NULL. */
void sim_rng_free(gsl_rng *r);

#endif
