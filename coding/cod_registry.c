/* cod_registry.c: the table of coding schemes and the checks every caller shares.
 *
 * The table below is the only list of schemes in fcdcc: each row is a cod_scheme_def
 * defined beside its scheme's ops (cod_schemes.c for the original six, one file per
 * scheme after that). cod_scheme_check runs the same integer checks as cod_code_new, in
 * the same order, through the scheme's own plan on a code that has only its parameters
 * set, so "is this combination valid" has one answer and one message.
 */
#include "cod_registry.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cod_scheme.h"

static const cod_scheme_def *const table[] = {
    &cod_def_rot,       &cod_def_cir,       &cod_def_uncoded, &cod_def_replication,
    &cod_def_poly_real, &cod_def_poly_cheb, &cod_def_berrut, &cod_def_rkr};
#define N_SCHEMES (sizeof table / sizeof table[0])

size_t cod_scheme_count(void) { return N_SCHEMES; }

const cod_scheme_info *cod_scheme_at(size_t i) {
  assert(i < N_SCHEMES);
  return &table[i]->info;
}

const cod_scheme_def *cod_scheme_def_find(const char *name) {
  for (size_t i = 0; name && i < N_SCHEMES; i++)
    if (strcmp(name, table[i]->info.name) == 0) return table[i];
  return NULL;
}

size_t cod_scheme_list(char *buf, size_t len, const char *sep) {
  size_t need = 0;
  for (size_t i = 0; i < N_SCHEMES; i++) {
    const char *parts[2] = {i ? sep : "", table[i]->info.name};
    for (size_t k = 0; k < 2; k++)
      for (const char *c = parts[k]; *c; c++, need++)
        if (need + 1 < len) buf[need] = *c;
  }
  if (len) buf[need < len ? need : len - 1] = '\0';
  return need;
}

const cod_scheme_info *cod_scheme_find(const char *name, cod_err *err) {
  const cod_scheme_def *d = cod_scheme_def_find(name);
  if (d) return &d->info;
  char known[COD_ERR_MSG_LEN];
  cod_scheme_list(known, sizeof known, ", ");
  cod_err_set(err, COD_EINVAL, "unknown scheme '%.64s' (known: %s)", name ? name : "", known);
  return NULL;
}

int cod_scheme_check_workers(const char *name, size_t n, cod_err *err) {
  const cod_scheme_info *s = cod_scheme_find(name, err);
  if (!s) return COD_EINVAL;
  if (n < 1) return cod_err_set(err, COD_EINVAL, "%s: workers must be >= 1", s->name);
  if (n > s->max_workers)
    return cod_err_set(err, COD_EINVAL, "%s supports at most %zu workers (got %zu)", s->name,
                       s->max_workers, n);
  return COD_OK;
}

int cod_scheme_check(const cod_code_params *prm, cod_err *err) {
  int rc = cod_scheme_check_workers(prm->scheme, prm->n_workers, err);
  if (rc) return rc;
  if (prm->ka < 1 || prm->kb < 1)
    return cod_err_set(err, COD_EINVAL, "workers, ka and kb must all be >= 1");
  if (prm->ka > SIZE_MAX / prm->kb)
    return cod_err_set(err, COD_EINVAL, "%s: k_A*k_B = %zu*%zu overflows", prm->scheme,
                       prm->ka, prm->kb);
  /* the scheme's plan on a dry code: integers only, nothing allocated */
  cod_code c;
  memset(&c, 0, sizeof c);
  c.def = cod_scheme_def_find(prm->scheme);
  c.ops = c.def->ops;
  c.prm = *prm;
  c.prm.scheme = c.def->info.name;
  c.n = prm->n_workers, c.ka = prm->ka, c.kb = prm->kb, c.q = prm->q;
  return c.ops->plan(&c, err);
}

size_t cod_scheme_fixed_threshold(const cod_scheme_info *s, size_t n, size_t r) {
  switch (s->pair) {
  case COD_PAIR_ALL: return n;
  case COD_PAIR_COPIES: return r == 0 || r > n ? 0 : n / r;
  default: return 0;
  }
}
