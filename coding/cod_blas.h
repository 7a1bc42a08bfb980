/* cod_blas.h: the BLAS fcdcc runs on, made visible.
 *
 * fcdcc links OpenBLAS explicitly (meson.build checks at configure time that cblas_dgemm
 * resolves to it). These helpers let programs pin the thread count (the simulator runs its
 * own parallel jobs and benchmarks are single-threaded) and report which library and
 * kernel actually answered, at run time, since the alternatives system can change it.
 */
#ifndef FCDCC_COD_BLAS_H
#define FCDCC_COD_BLAS_H

#include <stddef.h>

/* Set the number of BLAS threads (>= 1). */
void cod_blas_set_threads(int n);
/* The threads OpenBLAS's level-3 calls use now. */
int cod_blas_threads(void);
/* Write "PATH (OpenBLAS config; core NAME)" of the library cblas_dgemm resolved to. */
void cod_blas_describe(char *buf, size_t len);

/* The OPENBLAS_CORETYPE to ask for, or NULL. OpenBLAS picks its kernels by the CPU it
 * recognises; one it does not know (Debian 12's 0.3.21 on an Emerald Rapids Xeon, model
 * 207) gets its Prescott kernels, SSE3 only, and every GEMM runs several times slower
 * (3.6x in fp64, 4.3x in fp32 on that host's AlexNet conv3 im2col GEMM) without a word.
 * Advice is given only when all of these hold: OPENBLAS_CORETYPE is unset (`env` NULL:
 * whoever set it chose), OpenBLAS's core is one of its cores without AVX2 kernels (a
 * name it did not know when this was written is never second-guessed), and the CPU has
 * AVX2 and FMA. The answer: "SkylakeX" with AVX-512F, else "Haswell", names 0.3.21
 * takes as they are (its "Cooperlake" adds only bf16 GEMMs, which fcdcc does not call, and
 * gave the quickstart the same bytes as "SkylakeX" on that host). Pure, for tests;
 * cod_blas_core_advice() asks this process's OpenBLAS and CPU. OpenBLAS reads the
 * variable when it loads, so it must be set before the program starts (scripts/blas-env.sh
 * does, from `fcdcc --blas-core`). */
const char *cod_blas_core_advice_for(const char *core, const char *env, int avx2_fma,
                                     int avx512f);
const char *cod_blas_core_advice(void);
/* OpenBLAS's core name in use now ("Prescott", "Cooperlake", ...). */
const char *cod_blas_core(void);

#endif
