/* test_sim_rng.c: the keyed streams of sim_rng against an independent construction.
 *
 * The reference is GSL's own gsl_rng_mt19937 with its 624 state words overwritten by the
 * splitmix64 sequence from sim_rng_derive_key (how streams were made before the lazy
 * generator, written out here from the documented rule, with sim_splitmix64), so every
 * stored run keeps its draws. Draws cross several 624-word blocks; re-keying a used
 * generator gives the fresh stream again; keys come from a seeded generator. */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>

#include "sim_rng.h"

typedef struct mt_mirror {
  unsigned long mt[624];
  int mti;
} mt_mirror;

static gsl_rng *reference(uint64_t seed, uint64_t stream) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  cr_assert_not_null(r);
  cr_assert_eq(gsl_rng_size(r), sizeof(mt_mirror), "GSL's MT19937 layout changed");
  mt_mirror *st = gsl_rng_state(r);
  uint64_t sm = sim_rng_derive_key(seed, stream);
  for (int i = 0; i < 624; i += 2) {
    uint64_t x = sim_splitmix64(&sm);
    st->mt[i] = (unsigned long)(x & 0xffffffffu), st->mt[i + 1] = (unsigned long)(x >> 32);
  }
  st->mti = 624;
  return r;
}

static void same_stream(gsl_rng *a, gsl_rng *ref, size_t draws) {
  for (size_t i = 0; i < draws; i++) {
    unsigned long x = gsl_rng_get(a), y = gsl_rng_get(ref);
    cr_assert_eq(x, y, "draw %zu: %lu, reference %lu", i, x, y);
  }
}

Test(unit_rng, keyed_streams_equal_gsl_mt19937_with_the_keyed_state) {
  gsl_set_error_handler_off();
  gsl_rng *keys = gsl_rng_alloc(gsl_rng_ranlxd1);
  gsl_rng_set(keys, 20261201);
  for (int t = 0; t < 12; t++) {
    uint64_t seed = ((uint64_t)gsl_rng_get(keys) << 24) ^ gsl_rng_get(keys);
    uint64_t stream = t < 2 ? (uint64_t)t : ((uint64_t)gsl_rng_get(keys) << 30) ^ gsl_rng_get(keys);
    gsl_rng *a = NULL, *ref = reference(seed, stream);
    cr_assert_eq(sim_rng_new(seed, stream, &a, NULL), COD_OK);
    same_stream(a, ref, t % 3 == 0 ? 2000 : 7); /* short (one lazy block) and long */
    gsl_rng_free(ref);
    /* re-keyed after use (mid-block or past the first block): the fresh stream again */
    ref = reference(seed ^ 1, stream + 5);
    cr_assert_eq(sim_rng_rekey(a, seed ^ 1, stream + 5, NULL), COD_OK);
    same_stream(a, ref, 1300);
    gsl_rng_free(ref);
    sim_rng_free(a);
  }
  gsl_rng_free(keys);
}

Test(unit_rng, doubles_and_distributions_follow_the_same_draws) {
  gsl_rng *a = NULL, *ref = reference(7, 3);
  cr_assert_eq(sim_rng_new(7, 3, &a, NULL), COD_OK);
  for (int i = 0; i < 500; i++) {
    cr_assert_eq(gsl_rng_uniform(a), gsl_rng_uniform(ref));
    cr_assert_eq(gsl_ran_exponential(a, 2.0), gsl_ran_exponential(ref, 2.0));
    cr_assert_eq(gsl_ran_gaussian_ziggurat(a, 1.0), gsl_ran_gaussian_ziggurat(ref, 1.0));
  }
  cr_expect_eq(gsl_rng_max(a), gsl_rng_max(ref));
  cr_expect_eq(gsl_rng_min(a), gsl_rng_min(ref));
  gsl_rng_free(ref);
  sim_rng_free(a);
}

Test(unit_rng, rekey_refuses_a_foreign_generator) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  cod_err e = {0};
  unsigned long before = gsl_rng_get(r);
  gsl_rng_set(r, 0);
  cr_assert_eq(sim_rng_rekey(r, 1, 2, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "sim_rng_new") != NULL, "%s", e.msg);
  cr_expect_eq(gsl_rng_get(r), before, "left untouched");
  gsl_rng_free(r);
}
