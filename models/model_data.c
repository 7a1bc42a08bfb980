/* model_data.c: the IDX and uint8 .npy readers (see model_data.h).
 *
 * Both readers first bring the whole (decompressed) file into memory through one bounded
 * reader, then parse the buffer, so the parsers are pure functions of (buffer, length) that
 * the fuzzer drives directly. The bounded reader grows its buffer by doubling and stops at
 * MODEL_DATA_MAX_BYTES plus the largest header: a hostile header cannot make it allocate more
 * than the file holds. The file is opened through cod_file_open_regular (non-blocking, a
 * regular file only) before zlib sees it, so a FIFO or a device never blocks or streams
 * forever.
 */
#include "model_data.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "cod_alloc.h"
#include "cod_file.h"

#define NPY_MAX_HEADER 65536u

void model_u8array_fini(model_u8array *a) {
  if (!a) return;
  cod_free(a->data);
  memset(a, 0, sizeof *a);
}

/* dims[0..rank) are within bounds and their product fits; *n receives it. */
static int dims_check(const size_t *dims, size_t rank, const char *name, size_t *n, cod_err *err) {
  size_t p = 1;
  for (size_t i = 0; i < rank; i++) {
    if (dims[i] < 1 || dims[i] > MODEL_DATA_MAX_DIM)
      return cod_err_set(err, COD_EFORMAT, "%s: dimension %zu is %zu (must be 1..%u)", name, i,
                         dims[i], MODEL_DATA_MAX_DIM);
    if (p > MODEL_DATA_MAX_BYTES / dims[i])
      return cod_err_set(err, COD_EFORMAT, "%s: the array is larger than %zu bytes", name,
                         MODEL_DATA_MAX_BYTES);
    p *= dims[i];
  }
  *n = p;
  return COD_OK;
}

static int finish(const uint8_t *data, size_t n, const size_t *dims, size_t rank,
                  const char *name, model_u8array *out, cod_err *err) {
  uint8_t *d = cod_malloc(n);
  if (!d) return cod_err_set(err, COD_ENOMEM, "%s: out of memory", name);
  memcpy(d, data, n);
  memset(out, 0, sizeof *out);
  out->rank = rank, out->n = n, out->data = d;
  for (size_t i = 0; i < rank; i++) out->dims[i] = dims[i];
  return COD_OK;
}

int model_idx_parse(const void *buf, size_t len, const char *name, model_u8array *out,
                    cod_err *err) {
  const uint8_t *b = buf;
  if (len < 4 || b[0] != 0 || b[1] != 0)
    return cod_err_set(err, COD_EFORMAT, "%s: not an IDX file (bad magic number)", name);
  if (b[2] != 0x08)
    return cod_err_set(err, COD_EFORMAT, "%s: IDX element type 0x%02x; only unsigned bytes (0x08) "
                       "are read", name, b[2]);
  size_t rank = b[3];
  if (rank < 1 || rank > MODEL_DATA_MAX_RANK)
    return cod_err_set(err, COD_EFORMAT, "%s: IDX rank %zu (must be 1..%d)", name, rank,
                       MODEL_DATA_MAX_RANK);
  size_t head = 4 + 4 * rank;
  if (len < head) return cod_err_set(err, COD_EFORMAT, "%s: truncated IDX header", name);
  size_t dims[MODEL_DATA_MAX_RANK], n;
  for (size_t i = 0; i < rank; i++) {
    const uint8_t *p = b + 4 + 4 * i;
    dims[i] = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
  }
  int rc = dims_check(dims, rank, name, &n, err);
  if (rc) return rc;
  if (len - head != n)
    return cod_err_set(err, COD_EFORMAT, "%s: the IDX header announces %zu data bytes, the file "
                       "holds %zu", name, n, len - head);
  return finish(b + head, n, dims, rank, name, out, err);
}

/* Parse the NumPy header dict: descr, fortran_order, shape. */
static int npy_header(const char *h, size_t hl, const char *name, size_t *dims, size_t *rank,
                      cod_err *err) {
  char d[NPY_MAX_HEADER + 1];
  memcpy(d, h, hl);
  d[hl] = 0;
  if (strlen(d) != hl) return cod_err_set(err, COD_EFORMAT, "%s: NUL byte in the .npy header", name);
  const char *p = strstr(d, "'descr':");
  if (p) {
    p += 8;
    while (*p == ' ') p++;
  }
  if (!p || (strncmp(p, "'|u1'", 5) != 0 && strncmp(p, "'<u1'", 5) != 0))
    return cod_err_set(err, COD_EFORMAT, "%s: .npy dtype is not uint8 ('|u1')", name);
  p = strstr(d, "'fortran_order':");
  if (!p || strncmp(p + 16 + (p[16] == ' '), "False", 5) != 0)
    return cod_err_set(err, COD_EFORMAT, "%s: .npy array is not in C order", name);
  p = strstr(d, "'shape':");
  const char *q = p ? strchr(p, '(') : NULL, *e = q ? strchr(q, ')') : NULL;
  if (!q || !e) return cod_err_set(err, COD_EFORMAT, "%s: .npy header has no shape", name);
  size_t r = 0;
  for (const char *s = q + 1; s < e;) {
    while (s < e && (*s == ' ' || *s == ',')) s++;
    if (s >= e) break;
    if (*s < '0' || *s > '9' || r == MODEL_DATA_MAX_RANK)
      return cod_err_set(err, COD_EFORMAT, "%s: .npy shape must be 1 to %d integers", name,
                         MODEL_DATA_MAX_RANK);
    size_t v = 0;
    while (s < e && *s >= '0' && *s <= '9') {
      if (v > MODEL_DATA_MAX_DIM) break;
      v = v * 10 + (size_t)(*s++ - '0');
    }
    if (s < e && *s >= '0' && *s <= '9')
      return cod_err_set(err, COD_EFORMAT, "%s: .npy dimension too large", name);
    dims[r++] = v;
  }
  if (r == 0) return cod_err_set(err, COD_EFORMAT, "%s: .npy array is a scalar", name);
  *rank = r;
  return COD_OK;
}

int model_npy_u8_parse(const void *buf, size_t len, const char *name, model_u8array *out,
                       cod_err *err) {
  const uint8_t *b = buf;
  if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
    return cod_err_set(err, COD_EFORMAT, "%s: not a .npy file (bad magic)", name);
  size_t hl, off;
  if (b[6] == 1) hl = (size_t)b[8] | (size_t)b[9] << 8, off = 10;
  else if (b[6] == 2 || b[6] == 3) {
    if (len < 12) return cod_err_set(err, COD_EFORMAT, "%s: truncated .npy header", name);
    hl = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24, off = 12;
  } else
    return cod_err_set(err, COD_EFORMAT, "%s: .npy version %u is not supported", name, b[6]);
  if (hl > NPY_MAX_HEADER || len - off < hl)
    return cod_err_set(err, COD_EFORMAT, "%s: truncated or oversized .npy header", name);
  size_t dims[MODEL_DATA_MAX_RANK], rank, n;
  int rc = npy_header((const char *)b + off, hl, name, dims, &rank, err);
  if (!rc) rc = dims_check(dims, rank, name, &n, err);
  if (rc) return rc;
  if (len - off - hl != n)
    return cod_err_set(err, COD_EFORMAT, "%s: the .npy header announces %zu data bytes, the file "
                       "holds %zu", name, n, len - off - hl);
  return finish(b + off + hl, n, dims, rank, name, out, err);
}

/* The whole (decompressed) content of the regular file `path`, at most `cap` bytes. */
static int read_bounded(const char *path, size_t cap, uint8_t **out, size_t *len, cod_err *err) {
  int fd = -1; /* cod_file: non-blocking open, regular files only (a FIFO never blocks) */
  int rc0 = cod_file_open_regular(path, "data set", 0, &fd, NULL, err);
  if (rc0) return rc0;
  gzFile z = gzdopen(fd, "rb");
  if (!z) {
    close(fd);
    return cod_err_set(err, COD_ENOMEM, "%s: out of memory for the decompressor", path);
  }
  uint8_t *buf = NULL;
  size_t n = 0, size = 0;
  int rc = COD_OK;
  for (;;) {
    if (n == size) {
      if (size >= cap) {
        rc = cod_err_set(err, COD_EFORMAT, "%s: more than %zu bytes (decompressed)", path, cap);
        break;
      }
      size_t ns = size ? 2 * size : 1 << 16;
      if (ns > cap) ns = cap;
      uint8_t *nb = cod_realloc(buf, ns);
      if (!nb) {
        rc = cod_err_set(err, COD_ENOMEM, "%s: out of memory", path);
        break;
      }
      buf = nb, size = ns;
    }
    size_t want = size - n > (1u << 30) ? 1u << 30 : size - n;
    int k = gzread(z, buf + n, (unsigned)want);
    if (k < 0) {
      int zerr;
      const char *m = gzerror(z, &zerr);
      rc = cod_err_set(err, zerr == Z_DATA_ERROR ? COD_EFORMAT : COD_EIO,
                       "%s: read error: %s", path, m ? m : "zlib");
      break;
    }
    if (k == 0) break;
    n += (size_t)k;
  }
  gzclose(z); /* closes fd */
  if (rc) {
    cod_free(buf);
    return rc;
  }
  *out = buf, *len = n;
  return COD_OK;
}

int model_idx_load(const char *path, model_u8array *out, cod_err *err) {
  uint8_t *buf = NULL;
  size_t len = 0;
  int rc = read_bounded(path, MODEL_DATA_MAX_BYTES + 4 + 4 * MODEL_DATA_MAX_RANK, &buf, &len, err);
  if (rc) return rc;
  rc = model_idx_parse(buf, len, path, out, err);
  cod_free(buf);
  return rc;
}

int model_npy_u8_load(const char *path, model_u8array *out, cod_err *err) {
  uint8_t *buf = NULL;
  size_t len = 0;
  int rc = read_bounded(path, MODEL_DATA_MAX_BYTES + 12 + NPY_MAX_HEADER, &buf, &len, err);
  if (rc) return rc;
  rc = model_npy_u8_parse(buf, len, path, out, err);
  cod_free(buf);
  return rc;
}
