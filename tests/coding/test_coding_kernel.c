/* test_coding_kernel.c: the small-by-wide product (cod_kernel) and the row inverse.
 *
 * cod_gemm_small is checked against cblas_dgemm and against its own portable loop over
 * shapes that exercise every block and remainder path (rows 1..9 around the 4-row blocks,
 * widths around the 12- and 4-entry blocks, inner sizes 0..33) with padded row strides,
 * so an off-by-one in a remainder or a stride mix-up shows as a wrong entry or a write
 * into the padding (which is checked to stay untouched); the folded product
 * (cod_gemm_small_fold) the same way against butterflies formed here from the definition,
 * the gathered product (cod_gemm_small_rows) against the rows copied out here, and the
 * fused inverse half DFT (cod_idft_half) against its two products and recombination.
 * The packed products (cod_gemm_packed_*, Winograd's) are checked in fp64 and fp32, AVX-512
 * (its bits against AVX2's), AVX2 and portable, against a double-precision loop over the
 * unpacked matrix, over row counts around the 5-, 6- and 12-row blocks, inner sizes around
 * the chunks of the inner dimension (128 and 256) and
 * several panels, with a padded C whose padding must stay untouched (bound: 2 (K+1) eps
 * sum |a b|). cod_la_complex_inverse_rows is checked against the full inverse of the same
 * seeded matrices and, independently, against the identity: rows of inv(m) times m; its
 * row-choosing form on tall matrices against the identity on the rows it chose, its first
 * pivot and its threshold preference. Last, the advice on OpenBLAS's core (cod_blas.h).
 */
#include <criterion/criterion.h>
#include <float.h>
#include <gsl/gsl_cblas.h>
#include <math.h>
#include <string.h>

#include "cod_alloc.h"
#include "cod_blas.h"
#include "cod_kernel.h"
#include "cod_scheme.h"
#include "tc_util.h"

#define PAD 3
#define SENTINEL 12345.678

/* C (AVX2 path) and P (portable path), M x W at row stride ldc, against the reference R
 * (row stride ldr) to tol_k (K + 1)^2 eps, their padding columns untouched. */
static void expect_product(const char *what, size_t M, size_t K, size_t W, const double *C,
                           const double *P, size_t ldc, const double *R, size_t ldr,
                           double tol_k) {
  for (size_t m = 0; m < M; m++)
    for (size_t e = 0; e < ldc; e++) {
      size_t i = m * ldc + e;
      if (e >= W) {
        cr_assert(C[i] == SENTINEL && P[i] == SENTINEL,
                  "%s M=%zu K=%zu W=%zu: padding entry (%zu, %zu) was written", what, M, K, W, m,
                  e);
        continue;
      }
      double ref = K ? R[m * ldr + e] : 0.0;
      double tol = tol_k * (double)(K + 1) * 2.3e-16 * (double)(K + 1);
      cr_assert(fabs(C[i] - ref) <= tol, "%s M=%zu K=%zu W=%zu (%zu, %zu): %.17g vs %.17g", what,
                M, K, W, m, e, C[i], ref);
      cr_assert(fabs(P[i] - ref) <= tol,
                "%s M=%zu K=%zu W=%zu (%zu, %zu): portable %.17g vs %.17g", what, M, K, W, m, e,
                P[i], ref);
    }
}

static void check_shape(size_t M, size_t K, size_t W, uint64_t seed) {
  size_t lda = K + PAD, ldb = W + PAD, ldc = W + PAD;
  double *A = cod_malloc_array(M * lda + 1, sizeof *A);
  double *B = cod_malloc_array(K * ldb + 1, sizeof *B);
  double *C = cod_malloc_array(M * ldc + 1, sizeof *C);
  double *P = cod_malloc_array(M * ldc + 1, sizeof *P);
  double *R = cod_malloc_array(M * ldc + 1, sizeof *R);
  cr_assert(A && B && C && P && R);
  tc_fill(A, M * lda + 1, seed), tc_fill(B, K * ldb + 1, seed + 1);
  for (size_t i = 0; i < M * ldc + 1; i++) C[i] = P[i] = R[i] = SENTINEL;
  cod_gemm_small(M, K, W, A, lda, B, ldb, C, ldc);
  cod_gemm_small_portable(M, K, W, A, lda, B, ldb, P, ldc);
  if (M && W)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)W, (int)K, 1.0, A,
                (int)lda, B, (int)ldb, 0.0, R, (int)ldc);
  expect_product("product", M, K, W, C, P, ldc, R, ldc, 4.0);
  cr_assert(C[M * ldc] == SENTINEL, "M=%zu K=%zu W=%zu: wrote past C", M, K, W);
  cod_free(A), cod_free(B), cod_free(C), cod_free(P), cod_free(R);
}

Test(kernel, every_block_and_remainder_path) {
  static const size_t Ms[] = {1, 2, 3, 4, 5, 7, 8, 9, 18};
  static const size_t Ks[] = {0, 1, 2, 11, 12, 32, 33};
  static const size_t Ws[] = {0, 1, 3, 4, 5, 11, 12, 13, 16, 24, 25, 338};
  uint64_t seed = 100;
  for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
    for (size_t b = 0; b < sizeof Ks / sizeof *Ks; b++)
      for (size_t c = 0; c < sizeof Ws / sizeof *Ws; c++) check_shape(Ms[a], Ks[b], Ws[c], seed++);
  cr_log_info("cod_gemm_small runs the %s kernel here",
              cod_kernel_isa() == COD_KERNEL_AVX512 ? "AVX-512"
              : cod_kernel_isa() == COD_KERNEL_AVX2 ? "AVX2+FMA"
                                                    : "portable");
}

/* The folded product against cblas_dgemm on the butterflies formed here explicitly from
 * the definition (sums x[0], x[t] + x[q-t]; differences x[t] - x[q-t], q = 2h+1), for both
 * the AVX2 and the portable path, with padded strides whose padding must stay untouched. */
static void check_fold(int sign, size_t M, size_t h, size_t W, uint64_t seed) {
  size_t q = 2 * h + 1, K = sign > 0 ? h + 1 : h, lda = K + PAD, ldx = W + PAD, ldc = W + PAD;
  double *A = cod_malloc_array(M * lda + 1, sizeof *A);
  double *X = cod_malloc_array(q * ldx + 1, sizeof *X);
  double *B = cod_malloc_array(K * W + 1, sizeof *B);
  double *C = cod_malloc_array(M * ldc + 1, sizeof *C);
  double *P = cod_malloc_array(M * ldc + 1, sizeof *P);
  double *R = cod_malloc_array(M * W + 1, sizeof *R);
  cr_assert(A && X && B && C && P && R);
  tc_fill(A, M * lda + 1, seed), tc_fill(X, q * ldx + 1, seed + 1);
  for (size_t t = 0; t < K; t++)
    for (size_t e = 0; e < W; e++) {
      if (sign > 0)
        B[t * W + e] = t == 0 ? X[e] : X[t * ldx + e] + X[(q - t) * ldx + e];
      else
        B[t * W + e] = X[(t + 1) * ldx + e] - X[(q - t - 1) * ldx + e];
    }
  for (size_t i = 0; i < M * ldc + 1; i++) C[i] = P[i] = SENTINEL;
  cod_gemm_small_fold(sign, M, K, W, A, lda, X, ldx, C, ldc);
  cod_gemm_small_fold_portable(sign, M, K, W, A, lda, X, ldx, P, ldc);
  if (M && W && K)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)W, (int)K, 1.0, A,
                (int)lda, B, (int)W, 0.0, R, (int)W);
  expect_product(sign > 0 ? "fold +1" : "fold -1", M, K, W, C, P, ldc, R, W, 8.0);
  cr_assert(C[M * ldc] == SENTINEL, "fold %+d M=%zu h=%zu W=%zu: wrote past C", sign, M, h, W);
  cod_free(A), cod_free(X), cod_free(B), cod_free(C), cod_free(P), cod_free(R);
}

Test(kernel, fold_sums_and_differences) {
  static const size_t Ms[] = {1, 2, 3, 4, 5, 11, 13};
  static const size_t hs[] = {1, 2, 6, 11, 14};
  static const size_t Ws[] = {1, 2, 3, 4, 7, 12, 13, 15, 48, 50};
  uint64_t seed = 500;
  for (int sg = -1; sg <= 1; sg += 2)
    for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
      for (size_t b = 0; b < sizeof hs / sizeof *hs; b++)
        for (size_t c = 0; c < sizeof Ws / sizeof *Ws; c++)
          check_fold(sg, Ms[a], hs[b], Ws[c], seed++);
}

/* The gathered product: row t of B named by a pointer into a larger matrix, the rows
 * taken in a scrambled order with repeats, against cblas_dgemm on the rows copied out here,
 * for both paths, with padding that must stay untouched. */
static void check_rows(size_t M, size_t K, size_t W, uint64_t seed) {
  size_t lda = K + PAD, ldx = W + PAD, ldc = W + PAD, NX = 2 * K + 3;
  double *A = cod_malloc_array(M * lda + 1, sizeof *A);
  double *X = cod_malloc_array(NX * ldx + 1, sizeof *X);
  double *B = cod_malloc_array(K * W + 1, sizeof *B);
  double *C = cod_malloc_array(M * ldc + 1, sizeof *C);
  double *P = cod_malloc_array(M * ldc + 1, sizeof *P);
  double *R = cod_malloc_array(M * W + 1, sizeof *R);
  const double **rows = cod_malloc_array(K + 1, sizeof *rows);
  cr_assert(A && X && B && C && P && R && rows);
  tc_fill(A, M * lda + 1, seed), tc_fill(X, NX * ldx + 1, seed + 1);
  for (size_t t = 0; t < K; t++) {
    size_t src = (7 * t + 3 + (size_t)seed) % NX; /* scrambled, and repeats once K > NX/2 */
    rows[t] = X + src * ldx;
    memcpy(B + t * W, rows[t], W * sizeof *B);
  }
  for (size_t i = 0; i < M * ldc + 1; i++) C[i] = P[i] = SENTINEL;
  cod_gemm_small_rows(M, K, W, A, lda, rows, C, ldc);
  cod_gemm_small_rows_portable(M, K, W, A, lda, rows, P, ldc);
  if (M && W && K)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)W, (int)K, 1.0, A,
                (int)lda, B, (int)W, 0.0, R, (int)W);
  expect_product("rows", M, K, W, C, P, ldc, R, W, 4.0);
  cr_assert(C[M * ldc] == SENTINEL, "rows M=%zu K=%zu W=%zu: wrote past C", M, K, W);
  cod_free(A), cod_free(X), cod_free(B), cod_free(C), cod_free(P), cod_free(R), cod_free(rows);
}

Test(kernel, gathered_rows_every_block_and_remainder_path) {
  static const size_t Ms[] = {1, 2, 3, 4, 5, 9, 18};
  static const size_t Ks[] = {0, 1, 2, 11, 18, 32};
  static const size_t Ws[] = {0, 1, 3, 4, 5, 12, 13, 25, 48};
  uint64_t seed = 900;
  for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
    for (size_t b = 0; b < sizeof Ks / sizeof *Ks; b++)
      for (size_t c = 0; c < sizeof Ws / sizeof *Ws; c++) check_rows(Ms[a], Ks[b], Ws[c], seed++);
}

/* The fused inverse half DFT against its definition computed here (the two half products by
 * cblas_dgemm, then C + S and C - S), for both paths, with padded strides: the parity row
 * q-1 and the padding must stay untouched. */
static void check_idft(size_t h, size_t W, uint64_t seed) {
  size_t q = 2 * h + 1, ld = W + PAD, ldo = W + PAD;
  double *hc = cod_malloc_array((h + 1) * h, sizeof *hc), *hs = cod_malloc_array(h * h, sizeof *hs);
  double *re = cod_malloc_array(h * ld + 1, sizeof *re);
  double *im = cod_malloc_array(h * ld + 1, sizeof *im);
  double *C = cod_malloc_array((h + 1) * W + 1, sizeof *C);
  double *S = cod_malloc_array(h * W + 1, sizeof *S);
  double *o1 = cod_malloc_array(q * ldo, sizeof *o1), *o2 = cod_malloc_array(q * ldo, sizeof *o2);
  cr_assert(hc && hs && re && im && C && S && o1 && o2);
  tc_fill(hc, (h + 1) * h, seed), tc_fill(hs, h * h, seed + 1);
  tc_fill(re, h * ld + 1, seed + 2), tc_fill(im, h * ld + 1, seed + 3);
  for (size_t i = 0; i < q * ldo; i++) o1[i] = o2[i] = SENTINEL;
  cod_idft_half(h, W, hc, hs, re, im, ld, o1, ldo);
  cod_idft_half_portable(h, W, hc, hs, re, im, ld, o2, ldo);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(h + 1), (int)W, (int)h, 1.0, hc,
              (int)h, re, (int)ld, 0.0, C, (int)W);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)h, (int)W, (int)h, 1.0, hs, (int)h,
              im, (int)ld, 0.0, S, (int)W);
  double tol = 8.0 * (double)(h + 1) * 2.3e-16 * (double)(h + 1);
  for (size_t r = 0; r < q; r++)
    for (size_t e = 0; e < ldo; e++) {
      double a = o1[r * ldo + e], b = o2[r * ldo + e];
      if (e >= W || r == q - 1) {
        cr_assert(a == SENTINEL && b == SENTINEL, "idft h=%zu W=%zu: (%zu, %zu) was written", h, W,
                  r, e);
        continue;
      }
      size_t t = r <= h ? r : q - r; /* row r = C[t] + S[t] (r <= h) or C[t] - S[t] */
      double ref = C[t * W + e] + (t == 0 ? 0.0 : (r <= h ? 1.0 : -1.0) * S[(t - 1) * W + e]);
      cr_assert(fabs(a - ref) <= tol, "idft h=%zu W=%zu (%zu, %zu): %.17g vs %.17g", h, W, r, e, a,
                ref);
      cr_assert(fabs(b - ref) <= tol, "idft h=%zu W=%zu (%zu, %zu): portable %.17g vs %.17g", h, W,
                r, e, b, ref);
    }
  cod_free(hc), cod_free(hs), cod_free(re), cod_free(im), cod_free(C), cod_free(S);
  cod_free(o1), cod_free(o2);
}

Test(kernel, inverse_half_dft_recombined_every_path) {
  static const size_t hs[] = {1, 2, 3, 5, 11, 14};
  static const size_t Ws[] = {1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 48, 50};
  uint64_t seed = 1300;
  for (size_t a = 0; a < sizeof hs / sizeof *hs; a++)
    for (size_t b = 0; b < sizeof Ws / sizeof *Ws; b++) check_idft(hs[a], Ws[b], seed++);
}

/* The eight-lane kernels against the four-lane ones, bit for bit (padding included), on
 * every kernel over widths 0..75 (every 24-, 16-, 8- and 4-entry block and every remainder
 * of both widths), rows around the 4-row blocks and the inner sizes the decoders use. The
 * same thread runs both, capped at AVX2 for the second; the checks above compare whichever
 * runs by default with the references, so on an AVX-512 CPU this is what covers AVX2. */
static void run_all(int isa, size_t M, size_t K, size_t W, const double *A, const double *X,
                    const double *const *rows, double *out) {
  size_t lda = K + PAD, ld = W + PAD, h = K, sz = (M > 2 * h + 1 ? M : 2 * h + 1) * ld;
  int old = cod_kernel_cap_isa(isa);
  for (size_t i = 0; i < 5 * sz; i++) out[i] = SENTINEL;
  cod_gemm_small(M, K, W, A, lda, X, ld, out, ld);
  cod_gemm_small_fold(1, M, K, W, A, lda, X, ld, out + sz, ld);
  cod_gemm_small_fold(-1, M, K, W, A, lda, X, ld, out + 2 * sz, ld);
  cod_gemm_small_rows(M, K, W, A, lda, rows, out + 3 * sz, ld);
  if (h) cod_idft_half(h, W, A, A + (h + 1) * h, X, X + h * ld, ld, out + 4 * sz, ld);
  cod_kernel_cap_isa(old);
}

Test(kernel, wide_kernels_give_the_avx2_bits) {
  if (cod_kernel_isa() != COD_KERNEL_AVX512)
    cr_skip_test("this CPU runs the %s kernels: no AVX-512 instance to compare",
                 cod_kernel_isa() == COD_KERNEL_AVX2 ? "AVX2" : "portable");
  static const size_t Ms[] = {1, 3, 4, 5, 9, 18};
  static const size_t Ks[] = {1, 2, 11, 12, 18};
  uint64_t seed = 7000;
  size_t compared = 0;
  for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
    for (size_t b = 0; b < sizeof Ks / sizeof *Ks; b++)
      for (size_t W = 0; W <= 75; W++) {
        size_t M = Ms[a], K = Ks[b], lda = K + PAD, ld = W + PAD;
        size_t sz = (M > 2 * K + 1 ? M : 2 * K + 1) * ld;
        size_t na = (M > 2 * K + 1 ? M : 2 * K + 1) * lda, nx = (2 * K + 2) * ld + 1;
        double *A = cod_malloc_array(na, sizeof *A), *X = cod_malloc_array(nx, sizeof *X);
        double *o4 = cod_malloc_array(5 * sz, sizeof *o4), *o8 = cod_malloc_array(5 * sz, sizeof *o8);
        const double **rows = cod_malloc_array(K, sizeof *rows);
        cr_assert(A && X && o4 && o8 && rows);
        tc_fill(A, na, seed), tc_fill(X, nx, seed + 1), seed += 2;
        for (size_t t = 0; t < K; t++) rows[t] = X + (5 * t + 2) % (2 * K + 1) * ld;
        run_all(COD_KERNEL_AVX512, M, K, W, A, X, rows, o8);
        run_all(COD_KERNEL_AVX2, M, K, W, A, X, rows, o4);
        for (size_t i = 0; i < 5 * sz; i++)
          cr_assert(memcmp(&o8[i], &o4[i], sizeof *o8) == 0,
                    "M=%zu K=%zu W=%zu: kernel %zu entry %zu: AVX-512 %.17g, AVX2 %.17g", M, K, W,
                    i / sz, i % sz, o8[i], o4[i]);
        compared += 5 * sz;
        cod_free(A), cod_free(X), cod_free(o4), cod_free(o8), cod_free(rows);
      }
  cr_log_info("AVX-512 and AVX2 kernels: %zu entries, the same bits", compared);
}

/* rows of a complex g x n times the n x n m: the first g rows of the identity */
static double row_identity_err(const double *inv, const double *m, size_t g, size_t n) {
  double worst = 0;
  for (size_t i = 0; i < g; i++)
    for (size_t j = 0; j < n; j++) {
      double re = 0, im = 0;
      for (size_t l = 0; l < n; l++) {
        double ar = inv[2 * (i * n + l)], ai = inv[2 * (i * n + l) + 1];
        double br = m[2 * (l * n + j)], bi = m[2 * (l * n + j) + 1];
        re += ar * br - ai * bi, im += ar * bi + ai * br;
      }
      worst = fmax(worst, hypot(re - (i == j), im));
    }
  return worst;
}

Test(kernel, complex_inverse_rows_match_the_full_inverse) {
  for (size_t n = 1; n <= 17; n += 4)
    for (size_t g = 1; g <= n; g += (n > 4 ? 3 : 1)) {
      double *m = cod_malloc_array(2 * n * n, sizeof *m);
      double *full = cod_malloc_array(2 * n * n, sizeof *full);
      double *rows = cod_malloc_array(2 * g * n, sizeof *rows);
      double *w = cod_malloc_array(cod_la_complex_inverse_rows_work_doubles(n), sizeof *w);
      cr_assert(m && full && rows && w);
      tc_fill(m, 2 * n * n, 7 * n + g);
      cod_err e = {0};
      cr_assert_eq(cod_la_complex_inverse(m, n, full, &e), COD_OK, "%s", e.msg);
      cr_assert_eq(cod_la_complex_inverse_rows(m, n, g, rows, w, &e), COD_OK, "%s", e.msg);
      double scale = 0, diff = 0;
      for (size_t i = 0; i < 2 * g * n; i++)
        scale = fmax(scale, fabs(full[i])), diff = fmax(diff, fabs(rows[i] - full[i]));
      cr_assert(diff <= 1e-12 * scale, "n=%zu g=%zu: rows differ from the inverse by %g", n, g,
                diff);
      double id = row_identity_err(rows, m, g, n);
      cr_assert(id <= 1e-11, "n=%zu g=%zu: rows of inv(m) m miss the identity by %g", n, g, id);
      cod_free(m), cod_free(full), cod_free(rows), cod_free(w);
    }
}

Test(kernel, complex_inverse_rows_refuses_a_singular_matrix) {
  size_t n = 5;
  double m[2 * 25], rows[2 * 10], w[128];
  cr_assert(cod_la_complex_inverse_rows_work_doubles(n) <= 128);
  tc_fill(m, 50, 3);
  for (size_t i = 0; i < n; i++) m[2 * (i * n + 2)] = m[2 * (i * n + 2) + 1] = 0.0; /* column 2 */
  cod_err e = {0};
  cr_assert_eq(cod_la_complex_inverse_rows(m, n, 2, rows, w, &e), COD_ENUMERIC);
  cr_assert(strstr(e.msg, "singular"), "message: %s", e.msg);
  memset(m, 0, sizeof m);
  e = (cod_err){0};
  cr_assert_eq(cod_la_complex_inverse_rows(m, n, 2, rows, w, &e), COD_ENUMERIC);
}

/* The row-choosing form on tall seeded matrices: sel names n distinct rows; the returned
 * rows times those rows of m (in sel order) give the identity; without preferences the
 * first pivot is the row of largest modulus in column 0, found here independently; a
 * preferred row is taken when within the 0.1 threshold and refused when below it. */
static void gather_rows(const double *m, size_t n, const size_t *sel, double *sq) {
  for (size_t r = 0; r < n; r++) memcpy(sq + 2 * r * n, m + 2 * sel[r] * n, 2 * n * sizeof *sq);
}

Test(kernel, select_inverse_rows_on_tall_matrices) {
  for (size_t n = 1; n <= 13; n += 4)
    for (size_t rows = n; rows <= n + 7; rows += 7) {
      size_t g = n > 2 ? n - 2 : n;
      double *m = cod_malloc_array(2 * rows * n, sizeof *m);
      double *sq = cod_malloc_array(2 * n * n, sizeof *sq);
      double *inv = cod_malloc_array(2 * g * n, sizeof *inv);
      double *w = cod_malloc_array(cod_la_complex_select_inverse_rows_work_doubles(rows, n),
                                   sizeof *w);
      size_t *sel = cod_malloc_array(n, sizeof *sel);
      cr_assert(m && sq && inv && w && sel);
      tc_fill(m, 2 * rows * n, 31 * n + rows);
      cod_err e = {0};
      cr_assert_eq(cod_la_complex_select_inverse_rows(m, rows, n, g, NULL, sel, inv, w, &e),
                   COD_OK, "%s", e.msg);
      size_t big = 0; /* column 0's largest modulus: the first pivot */
      for (size_t r = 1; r < rows; r++)
        if (hypot(m[2 * r * n], m[2 * r * n + 1]) > hypot(m[2 * big * n], m[2 * big * n + 1]))
          big = r;
      cr_assert_eq(sel[0], big, "n=%zu rows=%zu: first pivot row %zu, largest %zu", n, rows,
                   sel[0], big);
      char seen[32] = {0};
      for (size_t r = 0; r < n; r++) {
        cr_assert(sel[r] < rows && !seen[sel[r]], "n=%zu rows=%zu: bad selection", n, rows);
        seen[sel[r]] = 1;
      }
      gather_rows(m, n, sel, sq);
      double id = row_identity_err(inv, sq, g, n);
      cr_assert(id <= 1e-11, "n=%zu rows=%zu: inverse rows miss the identity by %g", n, rows, id);
      cod_free(m), cod_free(sq), cod_free(inv), cod_free(w), cod_free(sel);
    }
}

Test(kernel, select_inverse_rows_prefers_within_the_threshold_only) {
  /* 3 x 1: moduli 1, 0.5, 0.05 in column 0; preferring row 1 (0.5 >= 0.1) takes it,
   * preferring only row 2 (0.05 < 0.1) keeps the largest, row 0 */
  double m[6] = {1.0, 0.0, 0.0, 0.5, 0.05, 0.0}, inv[2], w[64];
  size_t sel[1];
  cr_assert(cod_la_complex_select_inverse_rows_work_doubles(3, 1) <= 64);
  unsigned char p1[3] = {0, 1, 0}, p2[3] = {0, 0, 1};
  cod_err e = {0};
  cr_assert_eq(cod_la_complex_select_inverse_rows(m, 3, 1, 1, p1, sel, inv, w, &e), COD_OK);
  cr_assert_eq(sel[0], 1);
  cr_assert(fabs(inv[0]) < 1e-15 && fabs(inv[1] + 2.0) < 1e-15, "1/(0.5i) = %g%+gi", inv[0],
            inv[1]);
  cr_assert_eq(cod_la_complex_select_inverse_rows(m, 3, 1, 1, p2, sel, inv, w, &e), COD_OK);
  cr_assert_eq(sel[0], 0);
  cr_assert_eq(cod_la_complex_select_inverse_rows(m, 3, 1, 1, NULL, sel, inv, w, &e), COD_OK);
  cr_assert_eq(sel[0], 0);
  e = (cod_err){0};
  cr_assert_eq(cod_la_complex_select_inverse_rows(m, 1, 2, 1, NULL, sel, inv, w, &e),
               COD_EINVAL);
  cr_assert(strstr(e.msg, "rows"), "message: %s", e.msg);
}

/* Entry (t, n) of the matrix a packed B stands for (panels of pw columns). */
static size_t packed_at(size_t K, size_t pw, size_t t, size_t n) {
  return (n / pw * K + t) * pw + n % pw;
}

#define DEFINE_CHECK_PACKED(T, SUFFIX, PW, EPS, FILL)                                      \
  static void check_packed_##SUFFIX(size_t P, size_t K, size_t np, uint64_t seed) {        \
    size_t W = np * (PW), lda = K + PAD, ldc = W + PAD;                                    \
    T *A = cod_malloc_array(P * lda + 1, sizeof *A);                                       \
    T *B = cod_malloc_array(K * W + 1, sizeof *B);                                         \
    T *C[3] = {cod_malloc_array(P * ldc + 1, sizeof(T)),                                   \
               cod_malloc_array(P * ldc + 1, sizeof(T)),                                   \
               cod_malloc_array(P * ldc + 1, sizeof(T))};                                  \
    cr_assert(A && B && C[0] && C[1] && C[2]);                                             \
    FILL(A, P * lda + 1, seed), FILL(B, K * W + 1, seed + 1);                              \
    for (size_t i = 0; i < P * ldc + 1; i++) C[0][i] = C[1][i] = C[2][i] = (T)SENTINEL;    \
    cod_gemm_packed_##SUFFIX(P, K, np, A, lda, B, C[0], ldc);                              \
    cod_gemm_packed_portable_##SUFFIX(P, K, np, A, lda, B, C[1], ldc);                     \
    int cap = cod_kernel_cap_isa(COD_KERNEL_AVX2);                                         \
    cod_gemm_packed_##SUFFIX(P, K, np, A, lda, B, C[2], ldc);                              \
    cod_kernel_cap_isa(cap);                                                               \
    /* the AVX-512 blocks (12 rows of one vector) against the AVX2 ones (6 of two): the    \
     * same chain of FMAs for every entry, so the same bits */                             \
    cr_assert(memcmp(C[0], C[2], (P * ldc + 1) * sizeof(T)) == 0,                          \
              "P=%zu K=%zu np=%zu: the %s kernel's bits differ from AVX2's", P, K, np,      \
              cod_kernel_isa_name(cod_kernel_isa()));                                      \
    for (int v = 0; v < 2; v++)                                                            \
      for (size_t p = 0; p < P; p++)                                                       \
        for (size_t e = 0; e < ldc; e++) {                                                 \
          T got = C[v][p * ldc + e];                                                       \
          if (e >= W) {                                                                    \
            cr_assert(got == (T)SENTINEL, "P=%zu K=%zu np=%zu: padding (%zu, %zu) written", \
                      P, K, np, p, e);                                                     \
            continue;                                                                      \
          }                                                                                \
          double ref = 0, mag = 0;                                                         \
          for (size_t t = 0; t < K; t++) {                                                 \
            double ab = (double)A[p * lda + t] * (double)B[packed_at(K, PW, t, e)];        \
            ref += ab, mag += fabs(ab);                                                    \
          }                                                                                \
          cr_assert(fabs((double)got - ref) <= 2.0 * (double)(K + 1) * (EPS) * mag,        \
                    "%s P=%zu K=%zu np=%zu (%zu, %zu): %.9g vs %.9g", v ? "portable" : "auto", \
                    P, K, np, p, e, (double)got, ref);                                     \
        }                                                                                  \
    cr_assert(C[0][P * ldc] == (T)SENTINEL && C[1][P * ldc] == (T)SENTINEL,                \
              "P=%zu K=%zu np=%zu: wrote past C", P, K, np);                               \
    cod_free(A), cod_free(B), cod_free(C[0]), cod_free(C[1]), cod_free(C[2]);             \
  }

DEFINE_CHECK_PACKED(double, f64, COD_GEMM_PANEL_F64, DBL_EPSILON, tc_fill)
DEFINE_CHECK_PACKED(float, f32, COD_GEMM_PANEL_F32, FLT_EPSILON, tc_fill_f32)

Test(kernel, packed_every_block_chunk_and_panel) {
  static const size_t Ps[] = {0, 1, 2, 4, 5, 6, 7, 11, 12, 13, 23, 24, 25, 49};
  static const size_t Ks[] = {0, 1, 3, 127, 128, 129, 191, 192, 193, 255, 256, 257, 385};
  static const size_t Ns[] = {0, 1, 3};
  uint64_t seed = 500;
  for (size_t a = 0; a < sizeof Ps / sizeof *Ps; a++)
    for (size_t b = 0; b < sizeof Ks / sizeof *Ks; b++)
      for (size_t c = 0; c < sizeof Ns / sizeof *Ns; c++) {
        check_packed_f64(Ps[a], Ks[b], Ns[c], seed++);
        check_packed_f32(Ps[a], Ks[b], Ns[c], seed++);
      }
  cr_log_info("cod_gemm_packed runs the %s kernel here", cod_kernel_isa_name(cod_kernel_isa()));
}

/* cod_blas_core_advice_for: which OpenBLAS core to ask for when OpenBLAS's own pick has no
 * AVX2 kernels on a CPU that has them (cod_blas.h). Each rule's condition is flipped once. */
Test(kernel, blas_core_advice_only_for_a_core_below_the_cpu) {
  /* The case seen: 0.3.21 on an Emerald Rapids Xeon picked Prescott. */
  cr_assert_str_eq(cod_blas_core_advice_for("Prescott", NULL, 1, 1), "SkylakeX");
  cr_assert_str_eq(cod_blas_core_advice_for("prescott", NULL, 1, 1), "SkylakeX");
  cr_assert_str_eq(cod_blas_core_advice_for("Sandybridge", NULL, 1, 0), "Haswell");
  cr_assert_str_eq(cod_blas_core_advice_for("Nehalem", NULL, 1, 0), "Haswell");
  /* The user set OPENBLAS_CORETYPE (to anything, the core in use included): no advice. */
  cr_assert_null(cod_blas_core_advice_for("Prescott", "Prescott", 1, 1));
  cr_assert_null(cod_blas_core_advice_for("Prescott", "", 1, 1));
  /* A CPU without AVX2 and FMA: Prescott may be the best there is. */
  cr_assert_null(cod_blas_core_advice_for("Prescott", NULL, 0, 0));
  /* Cores with AVX2 or wider, and names this list does not know, are left alone. */
  const char *fine[] = {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids", "Zen4"};
  for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++)
    cr_assert_null(cod_blas_core_advice_for(fine[i], NULL, 1, 1), "%s", fine[i]);
  cr_assert_null(cod_blas_core_advice_for(NULL, NULL, 1, 1));
  /* This process: whatever the answer, it is one of the two names or none. */
  const char *now = cod_blas_core_advice();
  cr_assert(!now || !strcmp(now, "SkylakeX") || !strcmp(now, "Haswell"));
  cr_assert_not_null(cod_blas_core());
}
