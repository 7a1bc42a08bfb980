/* cod_tensor.c: tensors and the .npy reader/writer.
 *
 * The .npy format: magic "\x93NUMPY", major, minor, a header length (2 bytes in v1, 4 in
 * v2/v3), then a Python dict literal {'descr': '<f8', 'fortran_order': False, 'shape':
 * (a, b, ...), } padded with spaces and a newline. We parse that dict with a small strict
 * scanner rather than pattern matching, so that keys may come in any order but anything
 * unexpected is a format error (a control character such as NUL inside a string, a
 * version other than 1.0, 2.0, 3.0). Every size from the header is checked for overflow
 * and against the file's size (fstat) before the data are read or allocated. Saving goes
 * through a temporary file renamed into place (cod_file_out), so a failed save leaves
 * the path as it was.
 */
#include "cod_tensor.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cod_alloc.h"
#include "cod_file.h"

size_t cod_dtype_size(cod_dtype dt) { return dt == COD_F32 ? 4 : 8; }

static int shape_bytes(size_t n, size_t c, size_t h, size_t w, cod_dtype dt, size_t *out) {
  size_t dims[4] = {n, c, h, w}, total = cod_dtype_size(dt);
  for (int i = 0; i < 4; i++) {
    if (dims[i] && total > SIZE_MAX / dims[i]) return -1;
    total *= dims[i];
  }
  *out = total;
  return 0;
}

int cod_tensor_init(cod_tensor *t, size_t n, size_t c, size_t h, size_t w, cod_dtype dt,
                    cod_err *err) {
  size_t bytes;
  memset(t, 0, sizeof *t);
  if (shape_bytes(n, c, h, w, dt, &bytes) != 0)
    return cod_err_set(err, COD_EINVAL, "tensor shape (%zu,%zu,%zu,%zu) is too large", n, c,
                       h, w);
  void *data = cod_calloc(1, bytes);
  if (!data)
    return cod_err_set(err, COD_ENOMEM, "out of memory allocating a %zu-byte tensor", bytes);
  t->ndim = 4;
  t->n = n;
  t->c = c;
  t->h = h;
  t->w = w;
  t->dtype = dt;
  t->data = data;
  return COD_OK;
}

void cod_tensor_fini(cod_tensor *t) {
  if (!t) return;
  cod_free(t->data);
  memset(t, 0, sizeof *t);
}

size_t cod_tensor_numel(const cod_tensor *t) { return t->n * t->c * t->h * t->w; }

double *cod_tensor_f64(const cod_tensor *t) {
  assert(t->dtype == COD_F64);
  return t->data;
}

float *cod_tensor_f32(const cod_tensor *t) {
  assert(t->dtype == COD_F32);
  return t->data;
}

int cod_tensor_convert(const cod_tensor *src, cod_dtype dt, cod_tensor *out, cod_err *err) {
  cod_tensor t;
  int rc = cod_tensor_init(&t, src->n, src->c, src->h, src->w, dt, err);
  if (rc) return rc;
  t.ndim = src->ndim;
  size_t len = cod_tensor_numel(src);
  if (src->dtype == dt) {
    memcpy(t.data, src->data, len * cod_dtype_size(dt));
  } else if (dt == COD_F32) {
    const double *s = src->data;
    float *d = t.data;
    for (size_t i = 0; i < len; i++) d[i] = (float)s[i];
  } else {
    const float *s = src->data;
    double *d = t.data;
    for (size_t i = 0; i < len; i++) d[i] = s[i];
  }
  *out = t;
  return COD_OK;
}

int cod_tensor_all_finite(const cod_tensor *t, size_t *first_bad) {
  size_t len = cod_tensor_numel(t);
  for (size_t i = 0; i < len; i++) {
    double v = t->dtype == COD_F64 ? ((const double *)t->data)[i]
                                   : (double)((const float *)t->data)[i];
    if (!isfinite(v)) {
      if (first_bad) *first_bad = i;
      return 0;
    }
  }
  return 1;
}

int cod_array_all_finite(const double *v, size_t n) {
  double acc = 0.0;
  for (size_t i = 0; i < n; i++) acc += v[i] * 0.0;
  return acc == 0.0;
}

cod_error_stats cod_array_compare(const double *y, const double *ref, size_t len) {
  double num = 0, den = 0, mx = 0;
  for (size_t i = 0; i < len; i++) {
    double d = y[i] - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
    if (!(fabs(d) <= mx)) mx = fabs(d); /* also propagates NaN */
  }
  cod_error_stats st = {len ? num / (double)len : 0.0, den > 0 ? sqrt(num / den) : sqrt(num), mx};
  return st;
}

/* ---- .npy header scanner ------------------------------------------------------------ */

typedef struct scan {
  const char *p, *end;
} scan;

static void skip_ws(scan *s) {
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n')) s->p++;
}

static int eat(scan *s, char ch) {
  skip_ws(s);
  if (s->p < s->end && *s->p == ch) {
    s->p++;
    return 1;
  }
  return 0;
}

/* A quoted Python string ('...' or "...") without escapes, copied into out. */
static int scan_string(scan *s, char *out, size_t cap) {
  skip_ws(s);
  if (s->p >= s->end || (*s->p != '\'' && *s->p != '"')) return -1;
  char q = *s->p++;
  size_t n = 0;
  while (s->p < s->end && *s->p != q) {
    if (*s->p == '\\' || (unsigned char)*s->p < 0x20 || n + 1 >= cap) return -1;
    out[n++] = *s->p++;
  }
  if (s->p >= s->end) return -1;
  s->p++;
  out[n] = 0;
  return 0;
}

static int scan_word(scan *s, const char *word) {
  skip_ws(s);
  size_t len = strlen(word);
  if ((size_t)(s->end - s->p) < len || memcmp(s->p, word, len) != 0) return 0;
  s->p += len;
  return 1;
}

/* A shape tuple: "()", "(3,)", "(3, 4)", ... at most 4 entries. */
static int scan_shape(scan *s, size_t *dims, size_t *ndim) {
  if (!eat(s, '(')) return -1;
  *ndim = 0;
  for (;;) {
    skip_ws(s);
    if (eat(s, ')')) return 0;
    if (s->p >= s->end || !isdigit((unsigned char)*s->p)) return -1;
    size_t v = 0;
    while (s->p < s->end && isdigit((unsigned char)*s->p)) {
      size_t d = (size_t)(*s->p - '0');
      if (v > (SIZE_MAX - d) / 10) return -1;
      v = v * 10 + d;
      s->p++;
    }
    if (s->p < s->end && *s->p == 'L') s->p++; /* Python 2 longs */
    if (*ndim >= 4) return -2;
    dims[(*ndim)++] = v;
    if (!eat(s, ',')) {
      if (eat(s, ')')) return 0;
      return -1;
    }
  }
}

static int parse_header(const char *h, size_t len, const char *name, cod_dtype *dt,
                        size_t *dims, size_t *ndim, cod_err *err) {
  scan s = {h, h + len};
  int have_descr = 0, have_order = 0, have_shape = 0;
  if (!eat(&s, '{')) return cod_err_set(err, COD_EFORMAT, "%s: .npy header is not a dict", name);
  for (;;) {
    char key[32], val[32];
    if (eat(&s, '}')) break;
    if (scan_string(&s, key, sizeof key) != 0 || !eat(&s, ':'))
      return cod_err_set(err, COD_EFORMAT, "%s: malformed .npy header dict", name);
    if (strcmp(key, "descr") == 0) {
      if (scan_string(&s, val, sizeof val) != 0)
        return cod_err_set(err, COD_EFORMAT, "%s: malformed 'descr' in .npy header", name);
      if (strcmp(val, "<f8") == 0) *dt = COD_F64;
      else if (strcmp(val, "<f4") == 0) *dt = COD_F32;
      else
        return cod_err_set(err, COD_EFORMAT,
                           "%s: unsupported dtype '%s' (only little-endian float64 '<f8' "
                           "and float32 '<f4')", name, val);
      have_descr = 1;
    } else if (strcmp(key, "fortran_order") == 0) {
      if (scan_word(&s, "True"))
        return cod_err_set(err, COD_EFORMAT,
                           "%s: Fortran-order arrays are not supported; save with "
                           "np.ascontiguousarray", name);
      if (!scan_word(&s, "False"))
        return cod_err_set(err, COD_EFORMAT, "%s: malformed 'fortran_order' in .npy header",
                           name);
      have_order = 1;
    } else if (strcmp(key, "shape") == 0) {
      int rc = scan_shape(&s, dims, ndim);
      if (rc == -2)
        return cod_err_set(err, COD_EFORMAT, "%s: arrays of more than 4 dimensions are not "
                           "supported", name);
      if (rc != 0) return cod_err_set(err, COD_EFORMAT, "%s: malformed 'shape' in .npy header", name);
      have_shape = 1;
    } else {
      return cod_err_set(err, COD_EFORMAT, "%s: unknown key '%s' in .npy header", name, key);
    }
    if (!eat(&s, ',')) {
      if (eat(&s, '}')) break;
      return cod_err_set(err, COD_EFORMAT, "%s: malformed .npy header dict", name);
    }
  }
  skip_ws(&s);
  if (s.p != s.end)
    return cod_err_set(err, COD_EFORMAT, "%s: unexpected text after the .npy header dict", name);
  if (!have_descr || !have_order || !have_shape)
    return cod_err_set(err, COD_EFORMAT, "%s: .npy header lacks %s", name,
                       !have_descr ? "'descr'" : !have_order ? "'fortran_order'" : "'shape'");
  if (*ndim == 0)
    return cod_err_set(err, COD_EFORMAT, "%s: 0-dimensional arrays are not supported", name);
  return COD_OK;
}

/* What the fixed prefix (magic, version, header length) says; buf holds the first len
 * bytes of a file of file_len bytes. */
static int npy_prefix(const unsigned char *buf, size_t len, size_t file_len, const char *name,
                      size_t *hoff, size_t *hlen, cod_err *err) {
  static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (len < 10 || memcmp(buf, magic, 6) != 0)
    return cod_err_set(err, COD_EFORMAT, "%s: not an .npy file (bad magic)", name);
  unsigned major = buf[6], minor = buf[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0)
    return cod_err_set(err, COD_EFORMAT, "%s: unsupported .npy version %u.%u (this "
                       "build reads 1.0, 2.0 and 3.0)", name, major, minor);
  if (major == 1) {
    *hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
    *hoff = 10;
  } else {
    if (len < 12) return cod_err_set(err, COD_EFORMAT, "%s: truncated .npy header", name);
    *hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
    *hoff = 12;
  }
  if (*hlen > file_len - *hoff)
    return cod_err_set(err, COD_EFORMAT, "%s: truncated .npy header", name);
  if (*hlen > COD_NPY_MAX_HEADER_BYTES)
    return cod_err_set(err, COD_EFORMAT, "%s: .npy header of %zu bytes is larger than the "
                       "%d this build reads", name, *hlen, COD_NPY_MAX_HEADER_BYTES);
  return COD_OK;
}

/* Parse the header dict of an image whose first hoff + hlen bytes are in buf, for a file
 * of file_len bytes in all: the shape's data must be exactly the rest of the file. */
static int npy_header(const unsigned char *buf, size_t hoff, size_t hlen, size_t file_len,
                      const char *name, cod_dtype *dt, size_t *d4, size_t *ndim_out,
                      size_t *bytes_out, cod_err *err) {
  if (hlen > file_len - hoff) return cod_err_set(err, COD_EFORMAT, "%s: truncated .npy header", name);
  size_t dims[4] = {1, 1, 1, 1}, ndim = 0;
  int rc = parse_header((const char *)buf + hoff, hlen, name, dt, dims, &ndim, err);
  if (rc) return rc;
  for (size_t i = 0; i < 4; i++) d4[i] = 1;
  for (size_t i = 0; i < ndim; i++) d4[4 - ndim + i] = dims[i];
  size_t bytes;
  if (shape_bytes(d4[0], d4[1], d4[2], d4[3], *dt, &bytes) != 0)
    return cod_err_set(err, COD_EFORMAT, "%s: shape in .npy header overflows", name);
  size_t avail = file_len - hoff - hlen;
  if (avail != bytes)
    return cod_err_set(err, COD_EFORMAT,
                       "%s: the header's shape needs %zu data bytes but the file has %zu%s",
                       name, bytes, avail, avail < bytes ? " (truncated)" : "");
  *ndim_out = ndim;
  *bytes_out = bytes;
  return COD_OK;
}

int cod_npy_parse(const unsigned char *buf, size_t len, const char *name, cod_tensor *out,
                  cod_err *err) {
  size_t hoff, hlen, d4[4], ndim, bytes;
  cod_dtype dt = COD_F64;
  int rc = npy_prefix(buf, len, len, name, &hoff, &hlen, err);
  if (!rc) rc = npy_header(buf, hoff, hlen, len, name, &dt, d4, &ndim, &bytes, err);
  if (rc) return rc;
  cod_tensor t;
  rc = cod_tensor_init(&t, d4[0], d4[1], d4[2], d4[3], dt, err);
  if (rc) return rc;
  t.ndim = ndim;
  memcpy(t.data, buf + hoff + hlen, bytes); /* x86-64 and aarch64 Linux are little-endian */
  *out = t;
  return COD_OK;
}

/* Read exactly n bytes at offset off of fd. */
static int read_exact(int fd, void *buf, size_t n, size_t off, const char *path, cod_err *err) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return cod_err_set(err, COD_EIO, "%s: read error: %s", path, strerror(errno));
    if (r == 0) return cod_err_set(err, COD_EFORMAT, "%s: file shrank while being read", path);
    got += (size_t)r;
  }
  return COD_OK;
}

/* The header is read and checked against the file's size (fstat) before the data are
 * allocated, so a header that claims gigabytes costs nothing. */
int cod_npy_load(const char *path, cod_tensor *out, cod_err *err) {
  int fd;
  size_t size;
  int rc = cod_file_open_regular(path, ".npy input", 0, &fd, &size, err);
  if (rc) return rc;
  unsigned char pre[12], *head = NULL;
  size_t plen = size < sizeof pre ? size : sizeof pre;
  size_t hoff = 0, hlen = 0, d4[4], ndim = 0, bytes = 0;
  cod_dtype dt = COD_F64;
  rc = read_exact(fd, pre, plen, 0, path, err);
  if (!rc) rc = npy_prefix(pre, plen, size, path, &hoff, &hlen, err);
  if (!rc && !(head = cod_malloc(hoff + hlen)))
    rc = cod_err_set(err, COD_ENOMEM, "%s: out of memory reading the .npy header", path);
  if (!rc) rc = read_exact(fd, head, hoff + hlen, 0, path, err);
  if (!rc) rc = npy_header(head, hoff, hlen, size, path, &dt, d4, &ndim, &bytes, err);
  cod_free(head);
  cod_tensor t;
  memset(&t, 0, sizeof t);
  if (!rc) rc = cod_tensor_init(&t, d4[0], d4[1], d4[2], d4[3], dt, err);
  if (!rc) {
    t.ndim = ndim;
    rc = read_exact(fd, t.data, bytes, hoff + hlen, path, err); /* little-endian hosts */
  }
  close(fd);
  if (rc) {
    cod_tensor_fini(&t);
    return rc;
  }
  *out = t;
  return COD_OK;
}

int cod_npy_save(const char *path, const cod_tensor *t, cod_err *err) {
  assert(t->ndim >= 1 && t->ndim <= 4);
  size_t d4[4] = {t->n, t->c, t->h, t->w};
  char shape[160];
  int pos = snprintf(shape, sizeof shape, "(");
  for (size_t i = 4 - t->ndim; i < 4; i++)
    pos += snprintf(shape + pos, sizeof shape - (size_t)pos, "%zu,%s", d4[i],
                    i + 1 < 4 ? " " : "");
  snprintf(shape + pos, sizeof shape - (size_t)pos, ")");
  char header[256];
  int hl = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                    t->dtype == COD_F64 ? "<f8" : "<f4", shape);
  /* Pad so that magic(6)+version(2)+len(2)+header is a multiple of 64, ending in '\n'. */
  size_t total = 10 + (size_t)hl + 1;
  size_t padded = (total + 63) / 64 * 64;
  size_t hlen = padded - 10;
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                           (unsigned char)(hlen >> 8)};
  cod_file_out o;
  int rc = cod_file_out_open(&o, path, err);
  if (rc) return rc;
  FILE *f = o.f;
  int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(header, 1, (size_t)hl, f) == (size_t)hl;
  for (size_t i = 10 + (size_t)hl; ok && i + 1 < padded; i++) ok = fputc(' ', f) != EOF;
  ok = ok && fputc('\n', f) != EOF;
  size_t bytes = cod_tensor_numel(t) * cod_dtype_size(t->dtype);
  ok = ok && fwrite(t->data, 1, bytes, f) == bytes;
  if (!ok) {
    cod_file_out_abort(&o); /* only our temporary file goes; path is untouched */
    return cod_err_set(err, COD_EIO, "%s: write error", path);
  }
  return cod_file_out_commit(&o, err);
}
