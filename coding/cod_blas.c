/* cod_blas.c: OpenBLAS thread control and identification (see cod_blas.h).
 * OpenBLAS's own cblas.h cannot be included next to GSL's gsl_cblas.h (their enums clash),
 * so the three OpenBLAS extension functions are declared here by hand. */
#define _GNU_SOURCE
#include "cod_blas.h"

#include <dlfcn.h>
#include <stdio.h>

#include <gsl/gsl_cblas.h>

void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_config(void);
char *openblas_get_corename(void);

void cod_blas_set_threads(int n) { openblas_set_num_threads(n < 1 ? 1 : n); }
int cod_blas_threads(void) { return openblas_get_num_threads(); }

void cod_blas_describe(char *buf, size_t len) {
  Dl_info info;
  const char *path = "?";
  if (dladdr((void *)cblas_dgemm, &info) && info.dli_fname) path = info.dli_fname;
  snprintf(buf, len, "%s (%s; core %s)", path, openblas_get_config(), openblas_get_corename());
}
