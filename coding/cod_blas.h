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

#endif
