/* cod_scheme_rkr.c: the random Khatri-Rao-product code `rkr`.
 *
 * Subramaniam, Heidarzadeh & Narayanan, "Random Khatri-Rao-product codes for
 * numerically-stable distributed matrix multiplication", arXiv 1907.05965 (Allerton 2019).
 * Worker j receives ONE coded input slab sum_i a_{j,i} X_i and ONE coded filter group
 * sum_l b_{j,l} K_l, with every a_{j,i} and b_{j,l} drawn i.i.d. N(0, 1). Its result is
 * sum_{i,l} a_{j,i} b_{j,l} U_{i,l}: the row a_j (x) b_j of the Khatri-Rao product of the
 * two coefficient matrices. Any k_A*k_B such rows are linearly independent with
 * probability one, so the recovery threshold is k_A*k_B like a polynomial code, but the
 * recovery matrix is a random matrix rather than a Vandermonde-like one: its condition
 * number grows polynomially, not exponentially, with k_A*k_B (the paper's point).
 *
 * Coefficients come from the code's seed (cod_code_params.seed; the scenario key
 * [coding] seed) through the MT19937 generator cod_code_new seeds for schemes that take a
 * seed, drawn worker by worker (a_j then b_j), so worker j's coefficients do not depend on
 * n. Decoding and condition numbers are the generic ones (LU/QR of the recovery matrix,
 * decision 004); there is no structure to exploit.
 */
#include <gsl/gsl_randist.h>

#include "cod_scheme.h"

#define RKR_NAME "rkr"

static int rkr_plan(cod_code *c, cod_err *err) {
  c->delta = c->ka * c->kb;
  if (c->delta > c->n)
    return cod_err_set(err, COD_EINVAL,
                       RKR_NAME ": k_A*k_B = %zu exceeds the %zu workers (the recovery "
                       "threshold must be <= n)", c->delta, c->n);
  c->m_in = c->ka;
  c->m_filt = c->kb;
  c->ea = c->eb = 1;
  return COD_OK;
}

static void rkr_fill(cod_code *c) {
  for (size_t j = 0; j < c->n; j++) {
    for (size_t i = 0; i < c->ka; i++) c->A[j * c->m_in + i] = gsl_ran_gaussian(c->rng, 1.0);
    for (size_t l = 0; l < c->kb; l++) c->B[j * c->m_filt + l] = gsl_ran_gaussian(c->rng, 1.0);
  }
}

static const cod_scheme_ops rkr_ops = {RKR_NAME, rkr_plan, rkr_fill, cod_select_first_delta,
                                       NULL, NULL, NULL, NULL, 0};

const cod_scheme_def cod_def_rkr = {
    {RKR_NAME, "random Khatri-Rao-product code: i.i.d. N(0,1) coefficients from the seed",
     "any k_A, k_B with k_A*k_B <= n; every k_A*k_B results decode with probability one",
     "Subramaniam, Heidarzadeh & Narayanan, arXiv 1907.05965", 1, 2, COD_PAIR_FREE, 1,
     COD_WORKERS_MAX,
     {{"seed", "seed of the N(0,1) coefficients: an integer >= 0 (default 1)"}}, 0},
    &rkr_ops};
