/* test_coding_encode.c: the encoder's sparse product (cod_encode_is_sparse). Suite unit.
 *
 * - The rule's boundary: a quarter non-zero is sparse, one entry more is dense.
 * - nsctc-cir's coded pieces, recomputed here from the construction (NSCTC-MATH.md
 *   section 4: piece t of worker j is sum_i X'_{i,(t+i*j) mod q}, the last piece of group i
 *   minus the sum of its q-1 data pieces), on both sides (filters coded, input coded); the
 *   sparse product must match to round-off, and its non-zero count and flops must be the
 *   construction's (2 k (q-1) a worker, 2 nnz len flops).
 * - uncoded and replication: the coded pieces are the plain pieces, bit for bit.
 * - q = 7 stays on the GEMM (2/7 > 1/4) and is counted dense.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "cod_alloc.h"
#include "cod_blas.h"
#include "cod_code.h"
#include "tc_util.h"

static void one_thread(void) { cod_blas_set_threads(1); }
TestSuite(encode, .init = one_thread);

static double *filled(size_t n, uint64_t seed) {
  double *v = cod_malloc_array(n, sizeof *v);
  cr_assert_not_null(v);
  tc_fill(v, n, seed);
  return v;
}

Test(encode, the_rule_boundary) {
  cr_expect(cod_encode_is_sparse(8, 4, 8), "a quarter non-zero is sparse");
  cr_expect(!cod_encode_is_sparse(8, 4, 9), "one more entry is dense");
  cr_expect(cod_encode_is_sparse(3, 5, 0), "an all-zero matrix is sparse");
  cr_expect_eq(cod_encode_product_flops(8, 4, 8, 10.0), 2.0 * 8 * 10);
  cr_expect_eq(cod_encode_product_flops(8, 4, 9, 10.0), 2.0 * 8 * 4 * 10);
}

/* X' (k groups of q pieces of len): the q-1 data pieces of each group, then minus their
 * sum, summed in long double so the reference has its own rounding */
static double *extended(const double *data, size_t k, size_t q, size_t len) {
  double *x = cod_malloc_array(k * q * len, sizeof *x);
  cr_assert_not_null(x);
  for (size_t i = 0; i < k; i++)
    for (size_t e = 0; e < len; e++) {
      long double sum = 0;
      for (size_t s = 0; s + 1 < q; s++) {
        double v = data[(i * (q - 1) + s) * len + e];
        x[(i * q + s) * len + e] = v;
        sum += v;
      }
      x[(i * q + q - 1) * len + e] = (double)-sum;
    }
  return x;
}

/* coded: n workers x q pieces x len against the construction; returns the worst error
 * relative to the largest |X'| (one data piece's worth) */
static double cir_error(const double *coded, const double *xe, size_t n, size_t k, size_t q,
                        size_t len) {
  double worst = 0, scale = 0;
  for (size_t i = 0; i < k * q * len; i++) scale = fmax(scale, fabs(xe[i]));
  for (size_t j = 0; j < n; j++)
    for (size_t t = 0; t < q; t++)
      for (size_t e = 0; e < len; e++) {
        long double ref = 0;
        for (size_t i = 0; i < k; i++) ref += xe[(i * q + (t + i * j) % q) * len + e];
        double got = coded[(j * q + t) * len + e];
        worst = fmax(worst, fabs(got - (double)ref));
      }
  return worst / scale;
}

static cod_code *make(const char *scheme, size_t n, size_t ka, size_t kb,
                      const cod_conv_geom *g) {
  cod_code_params p = tc_params(scheme, n, ka, kb);
  cod_code *c = NULL;
  cod_err e = {0};
  cr_assert_eq(cod_code_new(&p, g, &c, &e), COD_OK, "%s", e.msg);
  return c;
}

/* nsctc-cir with k groups on the coded side (the filters when k_A = 1, else the input):
 * the coded pieces against the construction, the non-zeros, the flops, and (input side)
 * the chunked encoding against the whole */
static void cir_side(size_t n, size_t ka, size_t kb, const cod_conv_geom *g, size_t q_want) {
  cod_code *c = make("nsctc-cir", n, ka, kb, g);
  const int filters = ka == 1;
  const size_t k = ka * kb, q = filters ? cod_code_groups_per_worker(c)
                                        : cod_code_slabs_per_worker(c);
  cr_assert_eq(q, q_want);
  const cod_partition *pt = cod_code_partition(c);
  const size_t len = filters ? pt->filt_piece_len : pt->in_piece_len;
  const size_t coded_nnz = filters ? cod_code_filter_nnz(c) : cod_code_input_nnz(c);
  cr_assert_eq(coded_nnz, n * 2 * k * (q - 1));
  cr_assert_eq(filters ? cod_code_input_nnz(c) : cod_code_filter_nnz(c), n);
  cr_assert(cod_encode_is_sparse(n * q, k * (q - 1), coded_nnz));
  double *x = filled(cod_conv_input_len(g), 3), *kf = filled(cod_conv_filter_len(g), 4);
  const size_t pieces_len = filters ? cod_code_filter_groups_len(c)
                                    : cod_code_encode_workspace_bytes(c) / sizeof(double);
  double *pieces = cod_malloc_array(pieces_len, sizeof *pieces);
  double *coded = cod_malloc_array(n * q * len, sizeof *coded);
  cr_assert(pieces && coded);
  cod_err e = {0};
  if (filters) {
    cod_code_split_filters(c, kf, pieces);
    cr_assert_eq(cod_code_encode_filters(c, kf, coded, &e), COD_OK, "%s", e.msg);
  } else {
    cod_code_split_input(c, x, pieces);
    cr_assert_eq(cod_code_encode_input(c, x, coded, &e), COD_OK, "%s", e.msg);
  }
  double *xe = extended(pieces, k, q, len);
  double err = cir_error(coded, xe, n, k, q, len);
  cr_expect_leq(err, 4 * (double)q * 0x1p-52, "coded %s off by %.3g",
                filters ? "filters" : "input", err);
  double want = 2.0 * (double)coded_nnz * (double)len +
                2.0 * (double)n * (double)(filters ? pt->in_piece_len : pt->filt_piece_len);
  cr_expect_eq(cod_code_encode_flops(c), want, "encode flops %.17g, the sparse count %.17g",
               cod_code_encode_flops(c), want);
  if (!filters) {
    size_t W = cod_code_input_chunk_workers(c), il = q * len;
    double *ci = cod_malloc_array(W * il, sizeof *ci);
    cr_assert_not_null(ci);
    for (size_t a = 0; a * W < n; a++) {
      size_t w = n - a * W < W ? n - a * W : W;
      memset(ci, 0xff, W * il * sizeof *ci);
      cod_code_encode_input_chunk(c, pieces, a, ci);
      cr_expect(memcmp(ci, coded + a * W * il, w * il * sizeof *ci) == 0, "chunk %zu", a);
    }
    cod_free(ci);
  }
  cod_free(x), cod_free(kf), cod_free(pieces), cod_free(coded), cod_free(xe);
  cod_code_free(c);
}

/* filters coded: n = 13, k_B = 5, q = 13; 60 groups of 2 real filters (a zero group would
 * hide a dropped term) */
Test(encode, cir_filters_are_the_construction) {
  const cod_conv_geom g = {3, 9, 8, 120, 3, 3, 1, 1};
  cir_side(13, 1, 5, &g, 13);
}

/* input coded: n = 11, k_A = 4, q = 11 */
Test(encode, cir_input_is_the_construction) {
  const cod_conv_geom g = {2, 75, 9, 4, 3, 3, 1, 1};
  cir_side(11, 4, 1, &g, 11);
}

/* 0/1 matrices: every coded piece is its plain piece, bit for bit */
static void copies(const char *scheme, size_t n, size_t ka, size_t kb) {
  const cod_conv_geom g = {3, 30, 7, 24, 3, 3, 1, 1};
  cod_code *c = make(scheme, n, ka, kb, &g);
  const cod_partition *pt = cod_code_partition(c);
  cr_assert_eq(cod_code_input_nnz(c), n);
  cr_assert_eq(cod_code_filter_nnz(c), n);
  double *x = filled(cod_conv_input_len(&g), 5), *kf = filled(cod_conv_filter_len(&g), 6);
  double *pieces = cod_malloc(cod_code_encode_workspace_bytes(c));
  double *groups = cod_malloc_array(cod_code_filter_groups_len(c), sizeof *groups);
  double *cx = cod_malloc_array(n * pt->in_piece_len, sizeof *cx);
  double *ck = cod_malloc_array(n * pt->filt_piece_len, sizeof *ck);
  cr_assert(pieces && groups && cx && ck);
  cod_code_split_input(c, x, pieces);
  cod_code_split_filters(c, kf, groups);
  cod_err e = {0};
  cr_assert_eq(cod_code_encode_input(c, x, cx, &e), COD_OK);
  cr_assert_eq(cod_code_encode_filters(c, kf, ck, &e), COD_OK);
  const size_t d = ka * kb;
  for (size_t j = 0; j < n; j++) {
    size_t p = j % d;
    cr_expect(memcmp(cx + j * pt->in_piece_len, pieces + p / kb * pt->in_piece_len,
                     pt->in_piece_len * sizeof *cx) == 0, "%s worker %zu: slab", scheme, j);
    cr_expect(memcmp(ck + j * pt->filt_piece_len, groups + p % kb * pt->filt_piece_len,
                     pt->filt_piece_len * sizeof *ck) == 0, "%s worker %zu: group", scheme, j);
  }
  double want = cod_encode_product_flops(n, ka, n, (double)pt->in_piece_len) +
                cod_encode_product_flops(n, kb, n, (double)pt->filt_piece_len);
  cr_expect_eq(cod_code_encode_flops(c), want);
  cod_free(x), cod_free(kf), cod_free(pieces), cod_free(groups), cod_free(cx), cod_free(ck);
  cod_code_free(c);
}

Test(encode, uncoded_sparse_input_dense_filters) { copies("uncoded", 8, 4, 2); }
Test(encode, replication_sparse_both) { copies("replication", 24, 4, 6); }

/* q = 7: 2/7 of the entries are non-zero, above the quarter: the GEMM and the dense count */
Test(encode, cir_q7_stays_dense) {
  const cod_conv_geom g = {3, 9, 8, 40, 3, 3, 1, 1};
  cod_code *c = make("nsctc-cir", 7, 1, 3, &g);
  const size_t q = 7, k = 3, n = 7;
  cr_assert_eq(cod_code_groups_per_worker(c), q);
  cr_assert(!cod_encode_is_sparse(n * q, k * (q - 1), cod_code_filter_nnz(c)));
  const cod_partition *pt = cod_code_partition(c);
  double want = 2.0 * (double)(n * q * k * (q - 1)) * (double)pt->filt_piece_len +
                2.0 * (double)n * (double)pt->in_piece_len;
  cr_expect_eq(cod_code_encode_flops(c), want);
  cod_code_free(c);
}
