/* cod_conv.h: single-image 2-D convolution (cross-correlation, as in PyTorch).
 *
 * The fast path is im2col followed by one GEMM on OpenBLAS: the filter bank, viewed as an
 * N x (C*KH*KW) matrix, times the C*KH*KW x (H'*W') column matrix. Pointwise layers
 * (1x1, stride 1, no padding) skip im2col altogether. The caller provides the workspace,
 * so the hot path never allocates; cod_conv_workspace_bytes() says how much. The direct
 * six-loop implementation is kept as the test reference and is deliberately naive.
 *
 * Layouts: x is C x H x W, k is N x C x KH x KW, y is N x H' x W', all row-major.
 */
#ifndef FCDCC_COD_CONV_H
#define FCDCC_COD_CONV_H

#include <stddef.h>

#include "cod_tensor.h"

/* The geometry of one convolution layer applied to one image. Plain data. */
typedef struct cod_conv_geom {
  size_t c, h, w;        /* input channels, rows, columns */
  size_t n_filters;      /* output channels N */
  size_t kh, kw;         /* kernel rows and columns */
  size_t stride;         /* >= 1, same along both axes */
  size_t pad;            /* zero padding on every side */
} cod_conv_geom;

/* 1 if the geometry is usable (all sizes >= 1, kernel fits the padded input). */
int cod_conv_geom_valid(const cod_conv_geom *g);
size_t cod_conv_out_h(const cod_conv_geom *g);
size_t cod_conv_out_w(const cod_conv_geom *g);
size_t cod_conv_input_len(const cod_conv_geom *g);   /* C*H*W */
size_t cod_conv_filter_len(const cod_conv_geom *g);  /* N*C*KH*KW */
size_t cod_conv_output_len(const cod_conv_geom *g);  /* N*H'*W' */
/* Multiply-accumulates of one convolution: N*H'*W'*C*KH*KW. */
double cod_conv_macs(const cod_conv_geom *g);

/* Bytes of workspace cod_conv2d_* needs for this geometry and dtype (may be 0). */
size_t cod_conv_workspace_bytes(const cod_conv_geom *g, cod_dtype dt);

/* y = conv(x, k). `work` must hold cod_conv_workspace_bytes(g, dt) bytes (NULL if 0).
 * Never allocates, never fails for a valid geometry. */
void cod_conv2d_f64(const cod_conv_geom *g, const double *x, const double *k, double *y,
                    void *work);
void cod_conv2d_f32(const cod_conv_geom *g, const float *x, const float *k, float *y,
                    void *work);

/* The same convolution with im2col bands of at most band_bytes (at least one output row
 * each) instead of the default 8 MB: a band that fits the core's cache feeds the GEMM from
 * cache, which pays where im2col dominates (few input channels, large strides). Each band
 * is one GEMM over the same inner dimension, so only the split of output columns between
 * GEMM calls differs. `work` holds cod_conv_banded_workspace_bytes(g, dt, band_bytes). */
size_t cod_conv_banded_workspace_bytes(const cod_conv_geom *g, cod_dtype dt, size_t band_bytes);
void cod_conv2d_banded_f64(const cod_conv_geom *g, size_t band_bytes, const double *x,
                           const double *k, double *y, void *work);
void cod_conv2d_banded_f32(const cod_conv_geom *g, size_t band_bytes, const float *x,
                           const float *k, float *y, void *work);

/* Convolve nimg images (x: nimg x C x H x W) with the same filters into y (nimg x N x H' x
 * W'). Small images share one GEMM, so the filters are packed once: this is what a coded
 * worker does with its e_A slabs. `work` must hold cod_conv_batch_workspace_bytes(g, nimg,
 * dt) bytes. Never allocates. */
size_t cod_conv_batch_workspace_bytes(const cod_conv_geom *g, size_t nimg, cod_dtype dt);
void cod_conv2d_batch_f64(const cod_conv_geom *g, size_t nimg, const double *x,
                          const double *k, double *y, void *work);
void cod_conv2d_batch_f32(const cod_conv_geom *g, size_t nimg, const float *x, const float *k,
                          float *y, void *work);

/* The two halves of the batch, for images that recur (coded workers holding the same
 * coded slabs): cod_conv_batch_cols_len(g, nimg, dt) is the length (elements of dt) of the
 * batch's column matrix, or 0 when the batch is not one GEMM (a single image, or columns
 * beyond the batch bound: cod_conv2d_batch_* then convolves image by image). Where it is not 0,
 * cod_conv2d_batch_cols_* writes the column matrix of x (nimg x C x H x W) to col, and
 * cod_conv2d_batch_gemm_* computes y from it and k; work holds
 * cod_conv_batch_workspace_bytes(g, nimg, dt) bytes (the product lives in its second half,
 * so work may be col itself). cols then gemm is cod_conv2d_batch_*, bit for bit. */
size_t cod_conv_batch_cols_len(const cod_conv_geom *g, size_t nimg, cod_dtype dt);
void cod_conv2d_batch_cols_f64(const cod_conv_geom *g, size_t nimg, const double *x,
                               double *col);
void cod_conv2d_batch_cols_f32(const cod_conv_geom *g, size_t nimg, const float *x, float *col);
void cod_conv2d_batch_gemm_f64(const cod_conv_geom *g, size_t nimg, const double *col,
                               const double *k, double *y, void *work);
void cod_conv2d_batch_gemm_f32(const cod_conv_geom *g, size_t nimg, const float *col,
                               const float *k, float *y, void *work);

/* cod_conv2d_batch_gemm_* for nsets filter banks at once: k holds nsets x N x C x KH x KW
 * (the banks one after the other), set s's output goes to y[s] (nimg x N x H' x W'), and
 * work holds cod_conv_batch_sets_workspace_bytes(g, nimg, nsets, dt) bytes (the product
 * after the column region, so work may be col). Each set gets the bits of its own
 * cod_conv2d_batch_gemm_*: the banks go as GEMMs of cod_conv_sets_group stacked banks
 * (as many as cod_conv_sets_probe found the BLAS to sum as each bank alone; one bank per
 * GEMM where it found otherwise or was not asked). Never allocates. */
size_t cod_conv_batch_sets_workspace_bytes(const cod_conv_geom *g, size_t nimg, size_t nsets,
                                           cod_dtype dt);
/* Probes the BLAS for stacks of 2, 4, 8 ... <= max_sets banks of this shape (nimg images),
 * up to 32 MB of banks, not probed before: whether the stacked GEMM gives each bank its own GEMM's bits, with
 * generated values (cod_conv.c says why not the caller's). Allocates; the answers are kept
 * for the process. COD_ENOMEM with a message if it cannot allocate. */
int cod_conv_sets_probe(const cod_conv_geom *g, size_t nimg, size_t max_sets, cod_dtype dt,
                        cod_err *err);
/* Banks stacked in the next GEMM of cod_conv2d_batch_gemm_sets_* when nsets (>= 1) are left:
 * the largest power of two <= nsets that cod_conv_sets_probe found exact for the shape, 1
 * if none (or never probed). Never allocates. */
size_t cod_conv_sets_group(const cod_conv_geom *g, size_t nimg, size_t nsets, cod_dtype dt);
void cod_conv2d_batch_gemm_sets_f64(const cod_conv_geom *g, size_t nimg, const double *col,
                                    size_t nsets, const double *k, double *const *y, void *work);
void cod_conv2d_batch_gemm_sets_f32(const cod_conv_geom *g, size_t nimg, const float *col,
                                    size_t nsets, const float *k, float *const *y, void *work);

/* The naive reference: six nested loops, accumulation in double. */
void cod_conv2d_direct_f64(const cod_conv_geom *g, const double *x, const double *k,
                           double *y);
void cod_conv2d_direct_f32(const cod_conv_geom *g, const float *x, const float *k,
                           float *y);

#endif
