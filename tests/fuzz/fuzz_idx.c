/* fuzz_idx.c: fuzz target for the data-set readers (models/model_data.h): the IDX parser
 * model_idx_parse and the uint8 .npy parser model_npy_u8_parse, both on every input.
 *
 * Contracts checked for each: the status set (COD_OK, COD_EFORMAT, COD_ENOMEM), the error
 * record, *out untouched on failure, and on success an array of rank 1..4 whose dimensions
 * are within bounds and multiply to n, with n equal to the bytes after the header (the
 * header is never trusted) and the data exactly those trailing bytes. The status returned
 * is the IDX parser's for an input starting with a zero byte (IDX magic), else the .npy
 * parser's, so the corpus names one expected outcome per seed.
 */
#include <string.h>

#include "cod_status.h"
#include "fuzz_harness.h"
#include "model_data.h"

static int check_one(int (*parse)(const void *, size_t, const char *, model_u8array *, cod_err *),
                     const uint8_t *data, size_t size) {
  model_u8array a, before;
  memset(&a, 0xa5, sizeof a);
  memcpy(&before, &a, sizeof a);
  cod_err err = {0};
  int rc = parse(data, size, "fuzz", &a, &err);
  FUZZ_CHECK(rc == COD_OK || rc == COD_EFORMAT || rc == COD_ENOMEM);
  if (rc != COD_OK) {
    FUZZ_CHECK(err.status == rc && err.msg[0] != '\0');
    FUZZ_CHECK(memcmp(&a, &before, sizeof a) == 0);
    return rc;
  }
  FUZZ_CHECK(a.rank >= 1 && a.rank <= MODEL_DATA_MAX_RANK);
  size_t n = 1;
  for (size_t i = 0; i < a.rank; i++) {
    FUZZ_CHECK(a.dims[i] >= 1 && a.dims[i] <= MODEL_DATA_MAX_DIM);
    n *= a.dims[i];
  }
  FUZZ_CHECK(n == a.n && n <= MODEL_DATA_MAX_BYTES && n < size && a.data != NULL);
  FUZZ_CHECK(memcmp(a.data, data + size - n, n) == 0);
  model_u8array_fini(&a);
  FUZZ_CHECK(a.data == NULL);
  return rc;
}

int fuzz_idx_one(const uint8_t *data, size_t size) {
  int idx = check_one(model_idx_parse, data, size);
  int npy = check_one(model_npy_u8_parse, data, size);
  return size && data[0] == 0 ? idx : npy;
}

#ifdef FCDCC_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_idx_one(data, size);
  return 0;
}
#endif
