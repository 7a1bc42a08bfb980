/* cod_tensor.h: dense row-major tensors of up to four dimensions, and .npy file I/O.
 *
 * A tensor is a plain struct describing an (n, c, h, w) C-order array of float64 or
 * float32. Tensors of fewer dimensions keep their true rank in `ndim` and are stored
 * right-aligned (a 3-D (C,H,W) array has n == 1), so that an .npy file round-trips with
 * its original shape. The .npy reader accepts format versions 1.0, 2.0 and 3.0 with
 * little-endian '<f8' or '<f4' data in C order, and rejects everything else (Fortran
 * order, other dtypes, truncated data, inconsistent headers) with COD_EFORMAT and a
 * message that names the file; it never trusts the header's sizes before checking them
 * against the bytes actually present.
 */
#ifndef FCDCC_COD_TENSOR_H
#define FCDCC_COD_TENSOR_H

#include <stddef.h>

#include "cod_status.h"

typedef enum cod_dtype { COD_F64 = 0, COD_F32 = 1 } cod_dtype;

typedef struct cod_tensor {
  size_t ndim;          /* 1..4: rank as stored in files */
  size_t n, c, h, w;    /* shape, right-aligned: missing leading dimensions are 1 */
  cod_dtype dtype;
  void *data;           /* numel * elsize bytes, owned by the tensor */
} cod_tensor;

/* Size in bytes of one element of dtype. */
size_t cod_dtype_size(cod_dtype dt);

/* Allocate a zero-filled 4-D tensor. On failure *t is left zeroed and COD_ENOMEM
 * (or COD_EINVAL for a shape whose byte size overflows) is returned. */
int cod_tensor_init(cod_tensor *t, size_t n, size_t c, size_t h, size_t w, cod_dtype dt,
                    cod_err *err);
/* Release the data; accepts a zeroed tensor. Leaves *t zeroed. */
void cod_tensor_fini(cod_tensor *t);
size_t cod_tensor_numel(const cod_tensor *t);
/* Typed data access; assert on the wrong dtype. */
double *cod_tensor_f64(const cod_tensor *t);
float *cod_tensor_f32(const cod_tensor *t);
/* Convert to another dtype into a new tensor `out` (same shape and ndim). */
int cod_tensor_convert(const cod_tensor *src, cod_dtype dt, cod_tensor *out, cod_err *err);
/* 1 if every element is finite, else 0 (and *first_bad gets the flat index, if non-NULL). */
int cod_tensor_all_finite(const cod_tensor *t, size_t *first_bad);
/* 1 if every v[i] is finite, else 0: one branch-free pass (the sum of v[i] * 0 is NaN iff
 * some v[i] is Inf or NaN), the guard a result passes before it is decoded or kept. */
int cod_array_all_finite(const double *v, size_t n);

/* Errors of y against a reference: mean squared error, relative 2-norm error
 * ||y - ref|| / ||ref|| (the absolute norm when ref is all zero) and max |y - ref|.
 * A NaN anywhere makes max_abs NaN. Plain data. */
typedef struct cod_error_stats {
  double mse, rel, max_abs;
} cod_error_stats;
cod_error_stats cod_array_compare(const double *y, const double *ref, size_t len);

/* The largest .npy header dict read, in bytes (numpy's own np.load limit is 10000). */
#define COD_NPY_MAX_HEADER_BYTES 65536

/* Load an .npy file (rank 1..4, '<f8' or '<f4', C order) into *out. The path must be a
 * regular file (cod_file_open_regular: a FIFO or directory is COD_EIO, never a hang);
 * the header is checked against the file's size before the data are allocated or read.
 * Returns COD_OK, COD_EIO, COD_EFORMAT or COD_ENOMEM; *out untouched on failure. */
int cod_npy_load(const char *path, cod_tensor *out, cod_err *err);
/* Save t as .npy version 1.0 with its own rank (t->ndim) and dtype, through a temporary
 * file in the same directory renamed onto path (cod_file_out): on failure path is left as
 * it was, and an existing path that is not a regular file is refused (COD_EIO). */
int cod_npy_save(const char *path, const cod_tensor *t, cod_err *err);
/* Parse an in-memory .npy image (the fuzzing entry point; cod_npy_load applies the same
 * checks to a file). The `name` is used only in messages. */
int cod_npy_parse(const unsigned char *buf, size_t len, const char *name, cod_tensor *out,
                  cod_err *err);

#endif
