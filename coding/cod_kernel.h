/* cod_kernel.h: products of a small matrix by a wide one, without BLAS's packing.
 *
 * The nsctc-cir decoder's stages multiply an 11 to 32 column matrix (a half DFT, one
 * frequency's embedded inverse) by planes a few hundred entries wide. OpenBLAS packs both
 * operands for every such call, and at these inner sizes the packing costs as much as the
 * arithmetic (9-17 GFLOP/s measured on AlexNet conv3, against 38 for the layer's own GEMM).
 * Here the small matrix is read in place (it stays in L1) and the wide one streams through
 * once per block of four output rows, twelve entries (24 with AVX-512) at a time in FMA
 * registers. The AVX2 or AVX-512 path is chosen at run time; any other CPU runs the portable
 * loop, which the tests compare with them and with cblas_dgemm.
 *
 * The packed products (cod_gemm_packed_*) are Winograd's: a band of tiles (49 on the
 * 13x13 and 14x14 layers) times a plane of transformed filters that was packed once, when
 * the filters were transformed. Measured alone (one thread, 16 planes of 49 x 256 x 256):
 * 36-41 GFLOP/s fp64 against cblas_dgemm's 28-32, 75-86 fp32 against sgemm's 52-63, and
 * 90 / 46 with everything in cache; the rest of the gap is U streaming from L3 or memory.
 */
#ifndef FCDCC_COD_KERNEL_H
#define FCDCC_COD_KERNEL_H

#include <stddef.h>

/* C (M x W, row stride ldc) = A (M x K, row stride lda) * B (K x W, row stride ldb), all
 * row-major fp64, C not aliasing A or B. Any sizes (M, K or W may be 0). */
void cod_gemm_small(size_t M, size_t K, size_t W, const double *A, size_t lda, const double *B,
                    size_t ldb, double *C, size_t ldc);
/* The same, always the portable loop (for tests and for CPUs without AVX2 and FMA). */
void cod_gemm_small_portable(size_t M, size_t K, size_t W, const double *A, size_t lda,
                             const double *B, size_t ldb, double *C, size_t ldc);
/* C (M x W) = A (M x K) * B for the B (K x W) that folds the rows of X (row stride ldx):
 * sign > 0, X with 2K-1 rows: B[0] = X[0], B[t] = X[t] + X[2K-1-t] (t = 1..K-1);
 * sign < 0, X with 2K+1 rows: B[t] = X[t+1] - X[2K-t] (t = 0..K-1). These are the
 * butterflies of a real DFT of odd length along X's rows (cos half and sin half), formed in
 * registers as the product goes instead of in a buffer. C must not alias A or X. */
void cod_gemm_small_fold(int sign, size_t M, size_t K, size_t W, const double *A, size_t lda,
                         const double *X, size_t ldx, double *C, size_t ldc);
/* The same, always the portable loop. */
void cod_gemm_small_fold_portable(int sign, size_t M, size_t K, size_t W, const double *A,
                                  size_t lda, const double *X, size_t ldx, double *C,
                                  size_t ldc);
/* C (M x W) = A (M x K) * B where row t of B (W entries) starts at B[t]: a product over
 * rows gathered from anywhere (a decoder's selected workers) without copying them. */
void cod_gemm_small_rows(size_t M, size_t K, size_t W, const double *A, size_t lda,
                         const double *const *B, double *C, size_t ldc);
/* The same, always the portable loop. */
void cod_gemm_small_rows_portable(size_t M, size_t K, size_t W, const double *A, size_t lda,
                                  const double *const *B, double *C, size_t ldc);
/* The inverse real DFT of odd length q = 2h+1 from a half spectrum, recombined as it goes
 * (no planes of the halves): over W entries, C[s] = sum_m hc[s h + m] re[m ld + e]
 * (s = 0..h) and S[s] = sum_m hs[(s-1) h + m] im[m ld + e] (s = 1..h); out row 0 = C[0],
 * row s = C[s] + S[s] and row q-s = C[s] - S[s] (rows at stride ldo), except row q-1 (the
 * parity piece of nsctc-cir), which is not written. out must not alias the inputs. */
void cod_idft_half(size_t h, size_t W, const double *hc, const double *hs, const double *re,
                   const double *im, size_t ld, double *out, size_t ldo);
/* The same, always the portable loop. */
void cod_idft_half_portable(size_t h, size_t W, const double *hc, const double *hs,
                            const double *re, const double *im, size_t ld, double *out,
                            size_t ldo);
/* Products against a matrix packed once in panels of one 64-byte line per row (16 fp32
 * or 8 fp64 columns): Winograd's transformed filters, packed when they are transformed
 * (a layer's weights are fixed, so no product packs anything). B is K x (npanels * PW),
 * PW = COD_GEMM_PANEL_F32 or _F64, stored panel after panel, each panel K rows of PW
 * contiguous entries (row t of panel j at B + (j * K + t) * PW).
 * C (P x npanels*PW, row stride ldc) = A (P x K, row stride lda) * B. A is the short side
 * (a band of tiles: 49 on 13x13 and 14x14 layers), broadcast in blocks of 5 or 6 rows
 * against a panel that stays in L1, so P is not padded. Each entry is one dot product
 * summed in index order from 0. C must not alias A or B; P, K or npanels may be 0. */
#define COD_GEMM_PANEL_F32 16
#define COD_GEMM_PANEL_F64 8
void cod_gemm_packed_f64(size_t P, size_t K, size_t npanels, const double *A, size_t lda,
                         const double *B, double *C, size_t ldc);
void cod_gemm_packed_f32(size_t P, size_t K, size_t npanels, const float *A, size_t lda,
                         const float *B, float *C, size_t ldc);
/* The same, always the portable loop (for tests and for CPUs without AVX2 and FMA). */
void cod_gemm_packed_portable_f64(size_t P, size_t K, size_t npanels, const double *A,
                                  size_t lda, const double *B, double *C, size_t ldc);
void cod_gemm_packed_portable_f32(size_t P, size_t K, size_t npanels, const float *A,
                                  size_t lda, const float *B, float *C, size_t ldc);
/* Which kernels run: the portable loops, AVX2+FMA, or the same eight lanes wide on AVX-512F
 * (chosen once from the CPU). The AVX2 and AVX-512 kernels give the same bits: each entry is
 * the same chain of FMAs at either width (cod_kernel_simd.h). The packed products have an
 * AVX-512 kernel too, the same bits (12-row blocks of one vector, cod_kernel.c); Winograd's
 * transforms have an AVX2 kernel only. */
enum { COD_KERNEL_PORTABLE = 0, COD_KERNEL_AVX2 = 1, COD_KERNEL_AVX512 = 2 };
/* The kernels the calling thread runs: the CPU's best, at most its cap. */
int cod_kernel_isa(void);
/* Caps the calling thread's kernels at `max` (a COD_KERNEL_* value; the default cap is
 * COD_KERNEL_AVX512, i.e. none) and returns the previous cap: for tests and benchmarks that
 * run one width beside the other. Other threads are not affected. */
int cod_kernel_cap_isa(int max);
/* "portable", "AVX2" or "AVX-512" for a COD_KERNEL_* value. */
const char *cod_kernel_isa_name(int isa);
/* 1 if the calling thread runs the AVX2+FMA kernels or wider, else 0. */
int cod_gemm_small_simd(void);

#endif
