/* cod_cond_rot.h: the condition number of an nsctc-rot worker set, structured and dense
 * (cod_cond_rot.c has the derivation).
 *
 * The structured path is the scheme's cond hook (cod_code_cond calls it): a d x d REAL
 * matrix with the singular values of the d x d complex Vandermonde V_S, bidiagonalised
 * once (O(d^3), no vectors kept), its extreme singular values by bisection. The dense
 * path is the one it replaced, kept as the reference for tests and `fcdcc bench sweep`:
 * eigenvalues of the 2d x 2d real embedding of V_S^H V_S, an SVD of the embedding of V_S
 * when that estimate exceeds 1e6.
 */
#ifndef FCDCC_COD_COND_ROT_H
#define FCDCC_COD_COND_ROT_H

#include <stddef.h>

#include "cod_code.h"

/* The canonical form of a set of d distinct worker ids (d = the code's threshold) under the
 * symmetries of its nodes w^j in Z_q: j -> j + c and j -> c - j (mod q) multiply the
 * columns of V_S by unimodular numbers or conjugate it, so the whole orbit (up to 2q sets)
 * has one condition number. key[0..d) = the ascending image with the lexicographically
 * smallest ids (it starts with 0; its ids are < q, not necessarily < n). O(d^2) at worst,
 * O(d) typically. COD_OK, COD_EINVAL as cod_rot_cond, COD_ENOMEM (d > 64 only). */
int cod_rot_cond_key(const cod_code *code, const size_t *ids, size_t d, size_t *key,
                     cod_err *err);

/* 2-norm condition number of the recovery matrix G_S of nsctc-rot for the d distinct worker
 * ids `ids` (any order; d = the code's threshold), structured path, computed on the
 * canonical form of the set (cod_rot_cond_key): every set of one orbit gets the same
 * double, which is what lets a cache keyed by that form return exactly what this function
 * would. COD_OK and *cond
 * (INFINITY if the set is singular to working precision), COD_EINVAL if code is not
 * nsctc-rot or d is not its threshold, COD_ENOMEM; *cond untouched on failure. */
int cod_rot_cond(const cod_code *code, const size_t *ids, size_t d, double *cond,
                 cod_err *err);

/* The same number by the dense reference path (see above): about 8x the flops of the
 * structured path at a given d, and accurate only to ~eps*cond^2 relative below 1e6. Same
 * statuses as cod_rot_cond. */
int cod_rot_cond_dense(const cod_code *code, const size_t *ids, size_t d, double *cond,
                       cod_err *err);

#endif
