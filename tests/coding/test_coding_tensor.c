/* test_coding_tensor.c: tensors and .npy I/O of the coding library.
 *
 * Round trips through real files for both dtypes and ranks 1..4; hand-built byte images
 * through cod_npy_parse for every accepted header variant and every malformed case the
 * reader promises to reject (each must give COD_EFORMAT, a message naming the file and
 * the defect, and leave the output tensor untouched); dtype conversion; finiteness scan.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "cod_alloc.h"
#include "cod_tensor.h"
#include "tc_util.h"

/* ---- hand-built .npy images ---------------------------------------------------------- */

typedef struct img {
  unsigned char buf[4096];
  size_t len;
} img;

/* magic, version (major, minor), header length field (2 or 4 bytes), the header dict
 * padded with spaces to a multiple of 64 and a newline, then `data_len` bytes of data. */
static void npy_image(img *im, unsigned major, const char *dict, const void *data,
                      size_t data_len) {
  size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
  size_t total = (pre + dl + 1 + 63) / 64 * 64, hlen = total - pre;
  cr_assert_leq(total + data_len, sizeof im->buf);
  memcpy(im->buf, "\x93NUMPY", 6);
  im->buf[6] = (unsigned char)major;
  im->buf[7] = 0;
  for (size_t i = 0; i < pre - 8; i++) im->buf[8 + i] = (unsigned char)(hlen >> (8 * i));
  memcpy(im->buf + pre, dict, dl);
  memset(im->buf + pre + dl, ' ', hlen - dl - 1);
  im->buf[total - 1] = '\n';
  if (data_len) memcpy(im->buf + total, data, data_len);
  im->len = total + data_len;
}

static double sample6[6] = {1.5, -2.25, 3.0, 0.125, -7.5, 1e-300};

static void expect_format_error(const img *im, const char *fragment) {
  cod_tensor t;
  memset(&t, 0xA5, sizeof t);
  cod_tensor before = t;
  cod_err err = {0};
  int rc = cod_npy_parse(im->buf, im->len, "probe.npy", &t, &err);
  cr_expect_eq(rc, COD_EFORMAT, "expected COD_EFORMAT (%s), got %d: %s", fragment, rc, err.msg);
  cr_expect(strstr(err.msg, fragment) != NULL, "message '%s' lacks '%s'", err.msg, fragment);
  cr_expect(strstr(err.msg, "probe.npy") != NULL, "message '%s' does not name the file",
            err.msg);
  cr_expect(memcmp(&t, &before, sizeof t) == 0, "output tensor modified on failure");
  if (rc == COD_OK) cod_tensor_fini(&t);
}

#define F8_2x3 "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"

Test(npy_parse, v1_header, .description = "v1.0 '<f8' (2,3)") {
  img im;
  npy_image(&im, 1, F8_2x3, sample6, sizeof sample6);
  cod_tensor t;
  cod_err err = {0};
  cr_assert_eq(cod_npy_parse(im.buf, im.len, "v1", &t, &err), COD_OK, "%s", err.msg);
  cr_expect_eq(t.ndim, 2);
  cr_expect(t.n == 1 && t.c == 1 && t.h == 2 && t.w == 3);
  cr_expect_eq(t.dtype, COD_F64);
  cr_expect(memcmp(t.data, sample6, sizeof sample6) == 0);
  cod_tensor_fini(&t);
  cr_expect_null(t.data);
}

Test(npy_parse, v2_and_v3_headers) {
  float f[4] = {1.0f, -0.5f, 3.25f, 1e-30f};
  for (unsigned major = 2; major <= 3; major++) {
    img im;
    npy_image(&im, major, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", f,
              sizeof f);
    cod_tensor t;
    cod_err err = {0};
    cr_assert_eq(cod_npy_parse(im.buf, im.len, "v2", &t, &err), COD_OK, "v%u: %s", major,
                 err.msg);
    cr_expect_eq(t.ndim, 1);
    cr_expect(t.n == 1 && t.c == 1 && t.h == 1 && t.w == 4);
    cr_expect_eq(t.dtype, COD_F32);
    cr_expect(memcmp(t.data, f, sizeof f) == 0);
    cod_tensor_fini(&t);
  }
}

Test(npy_parse, keys_in_any_order) {
  const char *dicts[] = {
      "{'shape': (1, 2, 3), 'fortran_order': False, 'descr': '<f8'}",
      "{\"fortran_order\": False, \"shape\": (1,2,3,), \"descr\": \"<f8\", }",
      "{ 'descr' : '<f8' , 'shape' : ( 1 , 2 , 3 ) , 'fortran_order' : False }"};
  for (size_t i = 0; i < 3; i++) {
    img im;
    npy_image(&im, 1, dicts[i], sample6, sizeof sample6);
    cod_tensor t;
    cod_err err = {0};
    cr_assert_eq(cod_npy_parse(im.buf, im.len, "order", &t, &err), COD_OK, "dict %zu: %s", i,
                 err.msg);
    cr_expect(t.ndim == 3 && t.c == 1 && t.h == 2 && t.w == 3, "dict %zu shape", i);
    cr_expect(memcmp(t.data, sample6, sizeof sample6) == 0);
    cod_tensor_fini(&t);
  }
}

Test(npy_parse, four_d_shape) {
  double d[2 * 1 * 3 * 1];
  tc_fill(d, 6, 11);
  img im;
  npy_image(&im, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1, 3, 1), }", d,
            sizeof d);
  cod_tensor t;
  cr_assert_eq(cod_npy_parse(im.buf, im.len, "4d", &t, NULL), COD_OK);
  cr_expect(t.ndim == 4 && t.n == 2 && t.c == 1 && t.h == 3 && t.w == 1);
  cod_tensor_fini(&t);
}

Test(npy_parse, bad_magic) {
  img im;
  npy_image(&im, 1, F8_2x3, sample6, sizeof sample6);
  im.buf[1] = 'n';
  expect_format_error(&im, "bad magic");
  im.len = 5; /* shorter than any header */
  expect_format_error(&im, "bad magic");
}

Test(npy_parse, unsupported_version) {
  img im;
  npy_image(&im, 1, F8_2x3, sample6, sizeof sample6);
  im.buf[6] = 4;
  expect_format_error(&im, "unsupported .npy version 4");
  im.buf[6] = 0;
  expect_format_error(&im, "unsupported .npy version 0");
  im.buf[6] = 9;
  expect_format_error(&im, "unsupported .npy version 9.0");
  im.buf[6] = 1, im.buf[7] = 5; /* only the minor version 0 exists */
  expect_format_error(&im, "unsupported .npy version 1.5");
}

Test(npy_parse, control_characters_in_strings) {
  /* '<f8\0' was read as '<f8' by strcmp: a NUL (or any control character) inside a
   * header string is a format error */
  img im;
  npy_image(&im, 1, "{'descr': '<f8#', 'fortran_order': False, 'shape': (2, 3), }", sample6,
            sizeof sample6);
  unsigned char *hash = memchr(im.buf, '#', im.len);
  cr_assert_not_null(hash);
  *hash = 0; /* the header now holds '<f8\0' */
  expect_format_error(&im, "malformed 'descr'");
  npy_image(&im, 1, "{'descr': '<f8\t', 'fortran_order': False, 'shape': (2, 3), }", sample6,
            sizeof sample6);
  expect_format_error(&im, "malformed 'descr'");
  npy_image(&im, 1, "{'sha\x01pe': (2, 3), 'descr': '<f8', 'fortran_order': False, }", sample6,
            sizeof sample6);
  expect_format_error(&im, "malformed .npy header dict");
}

Test(npy_parse, fortran_order_true) {
  img im;
  npy_image(&im, 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", sample6,
            sizeof sample6);
  expect_format_error(&im, "Fortran");
}

Test(npy_parse, unsupported_dtypes) {
  const char *dt[] = {">f8", "<i4", "|u1", "<f2", "<c16"};
  for (size_t i = 0; i < 5; i++) {
    char dict[128], frag[32];
    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (6,), }",
             dt[i]);
    snprintf(frag, sizeof frag, "unsupported dtype '%s'", dt[i]);
    img im;
    npy_image(&im, 1, dict, sample6, sizeof sample6);
    expect_format_error(&im, frag);
  }
}

Test(npy_parse, missing_keys) {
  img im;
  npy_image(&im, 1, "{'descr': '<f8', 'fortran_order': False, }", sample6, sizeof sample6);
  expect_format_error(&im, "lacks 'shape'");
  npy_image(&im, 1, "{'fortran_order': False, 'shape': (6,), }", sample6, sizeof sample6);
  expect_format_error(&im, "lacks 'descr'");
  npy_image(&im, 1, "{'descr': '<f8', 'shape': (6,), }", sample6, sizeof sample6);
  expect_format_error(&im, "lacks 'fortran_order'");
}

Test(npy_parse, malformed_dicts) {
  img im;
  npy_image(&im, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (6,), 'x': 1}",
            sample6, sizeof sample6);
  expect_format_error(&im, "unknown key 'x'");
  npy_image(&im, 1, "['descr', '<f8']", sample6, sizeof sample6);
  expect_format_error(&im, "not a dict");
  npy_image(&im, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2 3), }", sample6,
            sizeof sample6);
  expect_format_error(&im, "malformed 'shape'");
  npy_image(&im, 1, "{'descr': '<f8', 'fortran_order': Maybe, 'shape': (6,), }", sample6,
            sizeof sample6);
  expect_format_error(&im, "malformed 'fortran_order'");
  npy_image(&im, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", sample6, 0);
  expect_format_error(&im, "0-dimensional");
}

/* The reader's contract (cod_tensor.c header): "anything unexpected is a format error".
 * Text after the closing brace of the dict (other than the space/newline padding) is
 * unexpected; numpy's own reader (ast.literal_eval of the whole header) rejects it. */
Test(npy_parse, junk_after_dict) {
  img im;
  npy_image(&im, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (6,), } junk", sample6,
            sizeof sample6);
  expect_format_error(&im, "probe.npy");
}

Test(npy_parse, five_d_shape) {
  img im;
  npy_image(&im, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 1, 2, 3), }",
            sample6, sizeof sample6);
  expect_format_error(&im, "more than 4 dimensions");
}

Test(npy_parse, truncated_and_trailing_data) {
  img im;
  npy_image(&im, 1, F8_2x3, sample6, sizeof sample6 - 3);
  expect_format_error(&im, "needs 48 data bytes but the file has 45 (truncated)");
  double seven[7] = {0};
  npy_image(&im, 1, F8_2x3, seven, sizeof seven);
  expect_format_error(&im, "needs 48 data bytes but the file has 56");
}

Test(npy_parse, header_length_past_eof) {
  img im;
  npy_image(&im, 1, F8_2x3, sample6, sizeof sample6);
  im.buf[8] = 0xff;
  im.buf[9] = 0xff; /* 65535 header bytes announced, ~100 present */
  expect_format_error(&im, "truncated .npy header");
  npy_image(&im, 2, F8_2x3, sample6, sizeof sample6);
  im.buf[11] = 0x80; /* 2 GiB header */
  expect_format_error(&im, "truncated .npy header");
  npy_image(&im, 2, F8_2x3, NULL, 0);
  im.len = 11; /* v2 needs 12 bytes of preamble */
  expect_format_error(&im, "truncated .npy header");
}

Test(npy_parse, shape_overflow) {
  img im;
  npy_image(&im, 1,
            "{'descr': '<f8', 'fortran_order': False, "
            "'shape': (4611686018427387904, 4611686018427387904), }",
            sample6, sizeof sample6);
  expect_format_error(&im, "overflows");
  /* a single dimension beyond SIZE_MAX is rejected by the number scanner */
  npy_image(&im, 1,
            "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,), }",
            sample6, sizeof sample6);
  expect_format_error(&im, "malformed 'shape'");
  /* (2**61,) * 8 bytes overflows only in the byte count */
  npy_image(&im, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,), }",
            sample6, sizeof sample6);
  expect_format_error(&im, "overflows");
}

/* ---- files ----------------------------------------------------------------------------- */

static char tmpdir[64];

static void make_tmpdir(void) {
  strcpy(tmpdir, "/tmp/fcdcc-npy-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
}

static void remove_tmpdir(void) { rmdir(tmpdir); }

Test(npy_file, round_trip_all_ranks_and_dtypes, .init = make_tmpdir, .fini = remove_tmpdir) {
  const size_t shapes[4][4] = {{1, 1, 1, 7}, {1, 1, 3, 5}, {1, 2, 3, 5}, {2, 3, 4, 5}};
  const char *shape_txt[4] = {"'shape': (7,)", "'shape': (3, 5,)", "'shape': (2, 3, 5,)",
                              "'shape': (2, 3, 4, 5,)"};
  for (int dt = 0; dt < 2; dt++)
    for (size_t rank = 1; rank <= 4; rank++) {
      const size_t *s = shapes[rank - 1];
      cod_tensor t, u;
      cod_err err = {0};
      cr_assert_eq(cod_tensor_init(&t, s[0], s[1], s[2], s[3], (cod_dtype)dt, &err), COD_OK);
      t.ndim = rank;
      size_t ne = cod_tensor_numel(&t);
      if (dt == COD_F64) tc_fill(t.data, ne, 100 + rank);
      else tc_fill_f32(t.data, ne, 200 + rank);
      char path[128];
      snprintf(path, sizeof path, "%s/t%d_%zu.npy", tmpdir, dt, rank);
      cr_assert_eq(cod_npy_save(path, &t, &err), COD_OK, "%s", err.msg);
      /* the raw file: v1.0, 64-byte aligned header ending in '\n', numpy's shape syntax */
      FILE *f = fopen(path, "rb");
      cr_assert_not_null(f);
      unsigned char raw[512];
      size_t got = fread(raw, 1, sizeof raw, f);
      fseek(f, 0, SEEK_END);
      long fsize = ftell(f);
      fclose(f);
      cr_assert_geq(got, 64);
      cr_expect(memcmp(raw, "\x93NUMPY\x01\x00", 8) == 0);
      size_t hlen = raw[8] | (size_t)raw[9] << 8;
      cr_expect_eq((10 + hlen) % 64, 0, "header not 64-byte aligned");
      cr_expect_eq(raw[10 + hlen - 1], '\n');
      cr_expect_eq((size_t)fsize, 10 + hlen + ne * cod_dtype_size((cod_dtype)dt));
      char header[256] = {0};
      memcpy(header, raw + 10, hlen < 255 ? hlen : 255);
      cr_expect(strstr(header, shape_txt[rank - 1]) != NULL, "header %s", header);
      cr_expect(strstr(header, dt == COD_F64 ? "'<f8'" : "'<f4'") != NULL, "header %s", header);
      /* read back */
      cr_assert_eq(cod_npy_load(path, &u, &err), COD_OK, "%s", err.msg);
      cr_expect_eq(u.ndim, rank);
      cr_expect(u.n == t.n && u.c == t.c && u.h == t.h && u.w == t.w, "rank %zu shape", rank);
      cr_expect_eq(u.dtype, t.dtype);
      cr_expect(memcmp(u.data, t.data, ne * cod_dtype_size(t.dtype)) == 0, "data differ");
      cod_tensor_fini(&t);
      cod_tensor_fini(&u);
      cr_assert_eq(unlink(path), 0);
    }
}

Test(npy_file, missing_file_is_eio_naming_path) {
  cod_tensor t;
  memset(&t, 0x5A, sizeof t);
  cod_tensor before = t;
  cod_err err = {0};
  const char *path = "/nonexistent-dir-fcdcc/no-such-file.npy";
  cr_assert_eq(cod_npy_load(path, &t, &err), COD_EIO);
  cr_expect(strstr(err.msg, path) != NULL, "message '%s' does not name the path", err.msg);
  cr_expect_eq(err.status, COD_EIO);
  cr_expect(memcmp(&t, &before, sizeof t) == 0);
}

Test(npy_file, unwritable_path_is_eio) {
  cod_tensor t;
  cr_assert_eq(cod_tensor_init(&t, 1, 1, 1, 3, COD_F64, NULL), COD_OK);
  t.ndim = 1;
  cod_err err = {0};
  const char *path = "/nonexistent-dir-fcdcc/out.npy";
  cr_expect_eq(cod_npy_save(path, &t, &err), COD_EIO);
  cr_expect(strstr(err.msg, path) != NULL, "%s", err.msg);
  cod_tensor_fini(&t);
}

Test(npy_file, malformed_file_names_path, .init = make_tmpdir, .fini = remove_tmpdir) {
  char path[128];
  snprintf(path, sizeof path, "%s/bad.npy", tmpdir);
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  fputs("this is not numpy at all", f);
  fclose(f);
  cod_tensor t;
  cod_err err = {0};
  cr_expect_eq(cod_npy_load(path, &t, &err), COD_EFORMAT);
  cr_expect(strstr(err.msg, path) != NULL && strstr(err.msg, "bad magic") != NULL, "%s",
            err.msg);
  unlink(path);
}

/* ---- tensors --------------------------------------------------------------------------- */

Test(tensor, init_shape_overflow_and_nomem) {
  cod_tensor t;
  cod_err err = {0};
  cr_expect_eq(cod_tensor_init(&t, (size_t)1 << 40, (size_t)1 << 40, 1, 1, COD_F64, &err),
               COD_EINVAL);
  cr_expect(strstr(err.msg, "too large") != NULL, "%s", err.msg);
  cr_expect(t.data == NULL && t.ndim == 0, "tensor not zeroed on failure");
  cod_alloc_fail_at(0);
  cr_expect_eq(cod_tensor_init(&t, 2, 2, 2, 2, COD_F32, &err), COD_ENOMEM);
  cod_alloc_fail_at(-1);
  cr_expect(t.data == NULL);
  cod_tensor_fini(&t); /* accepts a zeroed tensor */
  cod_tensor_fini(NULL);
}

Test(tensor, convert_round_trip) {
  cod_tensor a, b, c, d;
  cod_err err = {0};
  cr_assert_eq(cod_tensor_init(&a, 2, 3, 4, 5, COD_F64, &err), COD_OK);
  a.ndim = 3; /* a rank that is not 4: convert must keep it */
  size_t ne = cod_tensor_numel(&a);
  double *ad = cod_tensor_f64(&a);
  tc_fill(ad, ne, 77);
  ad[5] = 1e300; /* overflows to +inf in fp32 */
  ad[6] = 1e-50; /* underflows to 0 */
  cr_assert_eq(cod_tensor_convert(&a, COD_F32, &b, &err), COD_OK);
  cr_expect(b.ndim == 3 && b.n == 2 && b.c == 3 && b.h == 4 && b.w == 5 && b.dtype == COD_F32);
  float *bf = cod_tensor_f32(&b);
  for (size_t i = 0; i < ne; i++)
    cr_expect(bf[i] == (float)ad[i] || (isnan(bf[i]) && isnan(ad[i])), "f32[%zu]", i);
  cr_expect(isinf(bf[5]) && bf[6] == 0.0f);
  cr_assert_eq(cod_tensor_convert(&b, COD_F64, &c, &err), COD_OK);
  double *cd = cod_tensor_f64(&c);
  for (size_t i = 0; i < ne; i++) {
    cr_expect_eq(cd[i], (double)bf[i]);
    /* round to nearest: |x - fl32(x)| <= FLT_EPSILON/2 * |x| for normal results */
    if (i != 5 && i != 6)
      cr_expect_leq(fabs(cd[i] - ad[i]), 0.5 * FLT_EPSILON * fabs(ad[i]), "elt %zu", i);
  }
  cr_assert_eq(cod_tensor_convert(&a, COD_F64, &d, &err), COD_OK); /* same dtype: copy */
  cr_expect(d.data != a.data && memcmp(d.data, a.data, ne * 8) == 0 && d.ndim == 3);
  cod_tensor e;
  cod_alloc_fail_at(0);
  cr_expect_eq(cod_tensor_convert(&a, COD_F32, &e, &err), COD_ENOMEM);
  cod_alloc_fail_at(-1);
  cod_tensor_fini(&a);
  cod_tensor_fini(&b);
  cod_tensor_fini(&c);
  cod_tensor_fini(&d);
}

Test(tensor, all_finite) {
  for (int dt = 0; dt < 2; dt++) {
    cod_tensor t;
    cr_assert_eq(cod_tensor_init(&t, 1, 2, 5, 4, (cod_dtype)dt, NULL), COD_OK);
    size_t ne = cod_tensor_numel(&t), bad = 12345;
    if (dt == COD_F64) tc_fill(t.data, ne, 5);
    else tc_fill_f32(t.data, ne, 5);
    cr_expect_eq(cod_tensor_all_finite(&t, &bad), 1);
    cr_expect_eq(bad, 12345, "first_bad written although all finite");
    const double specials[3] = {NAN, INFINITY, -INFINITY};
    const size_t where[3] = {17, 3, 39};
    for (int s = 0; s < 3; s++) {
      if (dt == COD_F64) ((double *)t.data)[where[s]] = specials[s];
      else ((float *)t.data)[where[s]] = (float)specials[s];
    }
    cr_expect_eq(cod_tensor_all_finite(&t, &bad), 0);
    cr_expect_eq(bad, 3, "first non-finite is the Inf at 3, got %zu", bad);
    cr_expect_eq(cod_tensor_all_finite(&t, NULL), 0);
    if (dt == COD_F64) ((double *)t.data)[3] = 0.5;
    else ((float *)t.data)[3] = 0.5f;
    cr_expect_eq(cod_tensor_all_finite(&t, &bad), 0);
    cr_expect_eq(bad, 17, "NaN at 17, got %zu", bad);
    cod_tensor_fini(&t);
  }
}

Test(tensor, array_all_finite_sees_every_non_finite_value) {
  double v[64];
  for (size_t i = 0; i < 64; i++) v[i] = (i % 2 ? -1.0 : 1.0) * DBL_MAX / (double)(i + 1);
  cr_expect_eq(cod_array_all_finite(v, 64), 1, "finite values up to DBL_MAX");
  cr_expect_eq(cod_array_all_finite(v, 0), 1, "an empty array");
  const double specials[3] = {NAN, INFINITY, -INFINITY};
  for (int s = 0; s < 3; s++)
    for (size_t at = 0; at < 64; at += 21) {
      double keep = v[at];
      v[at] = specials[s];
      cr_expect_eq(cod_array_all_finite(v, 64), 0, "special %d at %zu", s, at);
      cr_expect_eq(cod_array_all_finite(v, at), 1, "the prefix before %zu", at);
      v[at] = keep;
    }
}

Test(tensor, status_names) {
  cr_expect_str_eq(cod_status_name(COD_OK), "ok");
  cr_expect_str_eq(cod_status_name(COD_EFORMAT), "format");
  cr_expect_str_eq(cod_status_name(COD_EUNDECODABLE), "undecodable");
  cr_expect_str_eq(cod_status_name(99), "unknown");
  cod_err e = {0};
  cr_expect_eq(cod_err_set(&e, COD_EIO, "x=%d", 42), COD_EIO);
  cr_expect_str_eq(e.msg, "x=42");
  cr_expect_eq(e.status, COD_EIO);
  cr_expect_eq(cod_err_set(NULL, COD_EINVAL, "ignored"), COD_EINVAL);
}

Test(tensor, array_compare_against_hand_values) {
  const double ref[4] = {1.0, -2.0, 2.0, 0.0}, y[4] = {1.5, -2.0, 1.0, 0.0};
  cod_error_stats st = cod_array_compare(y, ref, 4);
  /* differences 0.5, 0, -1, 0: sum of squares 1.25, ||ref||^2 = 9 */
  cr_expect_float_eq(st.mse, 1.25 / 4.0, 1e-15);
  cr_expect_float_eq(st.rel, sqrt(1.25 / 9.0), 1e-15);
  cr_expect_float_eq(st.max_abs, 1.0, 1e-15);
  const double zero[2] = {0, 0}, z2[2] = {3.0, 4.0};
  st = cod_array_compare(z2, zero, 2); /* all-zero reference: the absolute norm */
  cr_expect_float_eq(st.rel, 5.0, 1e-15);
  const double nan_y[2] = {0.0, NAN};
  st = cod_array_compare(nan_y, zero, 2);
  cr_expect(isnan(st.max_abs), "a NaN must show in max_abs");
}
