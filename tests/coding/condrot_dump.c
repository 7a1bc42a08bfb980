/* condrot_dump.c: prints nsctc-rot condition numbers of seeded random worker sets, one line
 * per set ("cond_structured cond_dense id id ..."), for condrot_mpmath.py to check against
 * a high-precision SVD. Usage: condrot_dump n ka kb sets seed. Test helper, not a tool. */
#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cod_cond_rot.h"
#include "tc_util.h"

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: condrot_dump n ka kb sets seed\n");
    return 2;
  }
  gsl_set_error_handler_off();
  size_t n = strtoul(argv[1], NULL, 10), ka = strtoul(argv[2], NULL, 10);
  size_t kb = strtoul(argv[3], NULL, 10), sets = strtoul(argv[4], NULL, 10);
  cod_code_params p = tc_params("nsctc-rot", n, ka, kb);
  cod_conv_geom g = tc_geom(2, 4 * ka + 3, 5, 2 * kb, 3, 3, 1, 1);
  cod_code *c = NULL;
  cod_err e = {0};
  size_t *perm = malloc(n * sizeof *perm);
  if (!perm || cod_code_new(&p, &g, &c, &e)) {
    fprintf(stderr, "condrot_dump: %s\n", perm ? e.msg : "out of memory");
    return 1;
  }
  tc_lcg r;
  tc_lcg_seed(&r, strtoull(argv[5], NULL, 10));
  size_t d = ka * kb;
  for (size_t s = 0; s < sets; s++) {
    for (size_t i = 0; i < n; i++) perm[i] = i;
    tc_shuffle(perm, n, &r);
    double ks, kd;
    if (cod_rot_cond(c, perm, d, &ks, &e) || cod_rot_cond_dense(c, perm, d, &kd, &e)) {
      fprintf(stderr, "condrot_dump: %s\n", e.msg);
      return 1;
    }
    printf("%.17g %.17g", ks, kd);
    for (size_t i = 0; i < d; i++) printf(" %zu", perm[i]);
    printf("\n");
  }
  cod_code_free(c);
  free(perm);
  return 0;
}
