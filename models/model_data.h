/* model_data.h: image data sets as uint8 arrays: IDX files (gzipped or not) and uint8 .npy.
 *
 * IDX is the format of MNIST and Fashion-MNIST (LeCun et al.; Xiao, Rasul, Vollgraf,
 * "Fashion-MNIST", arXiv:1708.07747, 2017): a 4-byte magic 0x00 0x00 TYPE RANK, RANK
 * big-endian uint32 dimensions, then the data in C order. Only TYPE 0x08 (unsigned byte) is
 * read. Files are read through zlib, which also passes plain files through, so a `.gz` and
 * an uncompressed file are read alike. The input is hostile: the rank is 1..4, every
 * dimension is 1..MODEL_DATA_MAX_DIM, the product is checked for overflow and against
 * MODEL_DATA_MAX_BYTES, and the header's size is compared with the bytes actually present
 * before the array is handed out (the decompressed stream itself is read in growing chunks,
 * so a header can never make the reader allocate what the file does not contain).
 *
 * The uint8 .npy reader takes NumPy version 1/2 files of dtype '|u1' (or '<u1'), C order,
 * rank 1..4, with the same bounds.
 */
#ifndef FCDCC_MODEL_DATA_H
#define FCDCC_MODEL_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "cod_status.h"

#define MODEL_DATA_MAX_DIM 10000000u           /* largest single dimension */
#define MODEL_DATA_MAX_BYTES ((size_t)1 << 28) /* largest array, bytes (256 MiB) */
#define MODEL_DATA_MAX_RANK 4

/* A uint8 array of rank 1..4. */
typedef struct model_u8array {
  size_t rank;
  size_t dims[MODEL_DATA_MAX_RANK];
  size_t n;       /* product of dims */
  uint8_t *data;  /* owned (cod_malloc), n bytes */
} model_u8array;

/* Release the data; accepts a zeroed struct. Leaves *a zeroed. */
void model_u8array_fini(model_u8array *a);

/* Parse an (uncompressed) IDX image of buf[0..len). `name` is used in messages. On success
 * *out holds a copy of the data; COD_EFORMAT (bad magic, type other than ubyte, rank or
 * dimension out of bounds, size not matching the header, naming both) or COD_ENOMEM, *out
 * untouched. */
int model_idx_parse(const void *buf, size_t len, const char *name, model_u8array *out,
                    cod_err *err);

/* Read the IDX file `path`, gzip-compressed or not. COD_EIO if it cannot be opened or read
 * or is not a regular file; otherwise as model_idx_parse. */
int model_idx_load(const char *path, model_u8array *out, cod_err *err);

/* Parse a uint8 .npy of buf[0..len) (see above); errors as model_idx_parse. */
int model_npy_u8_parse(const void *buf, size_t len, const char *name, model_u8array *out,
                       cod_err *err);

/* Read the uint8 .npy file `path` (COD_EIO as model_idx_load). */
int model_npy_u8_load(const char *path, model_u8array *out, cod_err *err);

#endif
