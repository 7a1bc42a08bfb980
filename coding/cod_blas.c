/* cod_blas.c: OpenBLAS thread control and identification (see cod_blas.h).
 * OpenBLAS's own cblas.h cannot be included next to GSL's gsl_cblas.h (their enums clash),
 * so the three OpenBLAS extension functions are declared here by hand. */
#define _GNU_SOURCE
#include "cod_blas.h"
#include "cod_kernel.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

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

const char *cod_blas_core(void) { return openblas_get_corename(); }

/* OpenBLAS 0.3.21's x86-64 cores whose kernels stop short of AVX2 (its dynamic.c list). */
static const char *const pre_avx2_cores[] = {
    "Unknown",   "Katmai",     "Coppermine", "Northwood",  "Prescott",     "Banias",
    "Atom",      "Core2",      "Penryn",     "Dunnington", "Nehalem",      "Athlon",
    "Opteron",   "Opteron_SSE3", "Barcelona", "Nano",      "Sandybridge",  "Bobcat",
    "Bulldozer", "Piledriver", "Steamroller",
};

const char *cod_blas_core_advice_for(const char *core, const char *env, int avx2_fma,
                                     int avx512f) {
  if (env || !core || !avx2_fma) return NULL;
  int old = 0;
  for (size_t i = 0; i < sizeof pre_avx2_cores / sizeof pre_avx2_cores[0]; i++)
    if (strcasecmp(core, pre_avx2_cores[i]) == 0) old = 1;
  if (!old) return NULL;
  return avx512f ? "SkylakeX" : "Haswell";
}

/* The CPU's features as cod_kernel detected them (the calling thread's cap is the default,
 * none, wherever this is asked: main() and test drivers). */
const char *cod_blas_core_advice(void) {
  int isa = cod_kernel_isa();
  return cod_blas_core_advice_for(openblas_get_corename(), getenv("OPENBLAS_CORETYPE"),
                                  isa >= COD_KERNEL_AVX2, isa >= COD_KERNEL_AVX512);
}
