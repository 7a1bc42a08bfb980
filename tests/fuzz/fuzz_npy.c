/* fuzz_npy.c: fuzz target for the .npy reader (coding/cod_tensor.h cod_npy_parse).
 *
 * Contracts checked: the status set (COD_OK, COD_EFORMAT, COD_ENOMEM, and COD_EINVAL
 * that cod_tensor_init may pass through), the error record, *out untouched on failure,
 * and on success a tensor of rank 1..4 whose shape is right-aligned, whose byte size
 * equals the bytes that follow the header (the reader promises not to trust the header),
 * and whose data are exactly those trailing bytes. Every element is read, so a short
 * allocation shows up under AddressSanitizer.
 */
#include <string.h>

#include "cod_status.h"
#include "cod_tensor.h"
#include "fuzz_harness.h"

int fuzz_npy_one(const uint8_t *data, size_t size) {
  cod_tensor t, before;
  memset(&t, 0xa5, sizeof t);
  memcpy(&before, &t, sizeof t);
  cod_err err = {0};
  int rc = cod_npy_parse(data, size, "fuzz.npy", &t, &err);
  FUZZ_CHECK(rc == COD_OK || rc == COD_EFORMAT || rc == COD_ENOMEM || rc == COD_EINVAL);
  if (rc != COD_OK) {
    FUZZ_CHECK(err.status == rc && err.msg[0] != '\0');
    FUZZ_CHECK(memcmp(&t, &before, sizeof t) == 0);
    return rc;
  }
  FUZZ_CHECK(t.ndim >= 1 && t.ndim <= 4);
  FUZZ_CHECK(t.dtype == COD_F64 || t.dtype == COD_F32);
  size_t d4[4] = {t.n, t.c, t.h, t.w};
  for (size_t i = 0; i < 4 - t.ndim; i++) FUZZ_CHECK(d4[i] == 1);
  size_t numel = cod_tensor_numel(&t);
  size_t bytes = numel * cod_dtype_size(t.dtype);
  FUZZ_CHECK(numel == 0 || bytes / numel == cod_dtype_size(t.dtype));
  FUZZ_CHECK(bytes + 10 <= size);
  FUZZ_CHECK(t.data != NULL);
  FUZZ_CHECK(memcmp(t.data, data + size - bytes, bytes) == 0);
  size_t first_bad = 0;
  if (!cod_tensor_all_finite(&t, &first_bad)) FUZZ_CHECK(first_bad < numel);
  cod_tensor_fini(&t);
  FUZZ_CHECK(t.data == NULL);
  return rc;
}

#ifdef FCDCC_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_npy_one(data, size);
  return 0;
}
#endif
