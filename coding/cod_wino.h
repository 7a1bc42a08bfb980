/* cod_wino.h: convolution algorithms beyond im2col, and the per-layer choice between them.
 *
 * cod_conv.h's im2col + GEMM is the general path and the reference of every test. This
 * header adds Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms
 * for Convolutional Neural Networks", CVPR 2016) for 3x3 stride-1 layers: each 4x4 input
 * tile and each 3x3 filter are transformed once, the 16 transformed positions become 16
 * products of tiles x C by C x N (cod_kernel's packed panels: the filter transform writes
 * U in the layout the kernel reads, so no product packs anything), and the products are
 * transformed back into 2x2 output tiles. That is 16 multiplies per 2x2 outputs and
 * channel pair instead of 36 (2.25x fewer), at the cost of three memory-bound transforms,
 * so it pays on layers with many channels.
 *
 * The algorithm is a value (cod_conv_algo); cod_conv_algo_choose() is the automatic rule
 * and its answer is what callers record. A forced algorithm that does not apply to a
 * geometry is refused by cod_conv_algo_applies(), never replaced by another silently.
 *
 * Error: F(2x2, 3x3)'s transforms have entries 0, +-1/2, +-1, so its round-off is a small
 * multiple of im2col's (0.7-4.3x RMS measured, fp32 and fp64; tests/coding states the
 * bounds they check). Workspace is caller-provided and bounded: tiles are processed in
 * bands of tile rows sized for L2. Decision 022 records what was tried against the small
 * layers, what is kept and the measured ratios.
 */
#ifndef FCDCC_COD_WINO_H
#define FCDCC_COD_WINO_H

#include <stddef.h>

#include "cod_conv.h"

typedef enum cod_conv_algo {
  COD_CONV_IM2COL = 0, /* "im2col": im2col + GEMM (pointwise layers: one GEMM) */
  COD_CONV_WINO2 = 1,  /* "winograd-2x2": F(2x2, 3x3), 3x3 stride-1 layers only */
  COD_CONV_WINO4 = 2,  /* "winograd-4x4": F(4x4, 3x3), 3x3 stride-1 layers only; its
                          RMS round-off is 4.8-30x im2col's in fp64 and 4.8-16x in fp32
                          (tests hold it to 64x); per call it pays the transform of 36
                          planes of filters (10.6 MB of fp32 U on AlexNet conv3) and
                          measured 0.67-1.06x winograd-2x2 per call on VGG-16's 28x28
                          layers, slower on the others; pre-transformed it is faster on
                          those 28x28 layers: offered for study (--algo) and
                          pre-transformed use, never chosen automatically (decision 022) */
  COD_CONV_IM2COL_L2 = 3 /* "im2col-l2": im2col in bands of COD_CONV_L2_BAND_BYTES, sized
                          for the core's L2 cache so the GEMM reads its column matrix from
                          cache; any geometry. It pays where im2col dominates: kernels of
                          5x5 and more replicate each input value 25+ times into the
                          column matrix (AlexNet conv1-2, ResNet-18's 7x7) */
} cod_conv_algo;

#define COD_CONV_ALGO_COUNT 4
#define COD_CONV_L2_BAND_BYTES ((size_t)1 << 20)

/* The algorithm's name (as above), or NULL for a value out of range. */
const char *cod_conv_algo_name(cod_conv_algo a);

/* 1 if algorithm a can compute geometry g (valid geometries only). */
int cod_conv_algo_applies(const cod_conv_geom *g, cod_conv_algo a);

/* The automatic choice for g in dt: winograd-2x2 for 3x3 stride-1 layers with at least
 * COD_WINO_MIN_CHANNELS input channels and filters and at least COD_WINO_MIN_TILES 2x2
 * output tiles, im2col-l2 by the rule after these bounds, im2col otherwise. Pure function of the geometry (dt is part of the
 * signature because the balance differs by type; today the same rule wins in both).
 * Measured by `fcdcc bench` (one thread, fp32 and fp64, three runs on a loaded machine):
 * with the filters transformed once, 1.50-1.90x on AlexNet conv3-5 (13x13, 49 tiles) and
 * 1.52-2.36x on VGG-16's 3x3 layers; transforming them in every call 0.90-1.37x and
 * 1.19-2.52x; but 0.6-0.75x per call on ResNet-18's 7x7 layer4 (16 tiles), hence the tile
 * bound. Below 16 channels the transforms cost more than the multiplies they save. */
#define COD_WINO_MIN_CHANNELS 16
#define COD_WINO_MIN_TILES 36
/* Otherwise im2col-l2 for kernels of at least COD_L2_MIN_TAPS taps whose column matrix
 * needs more than one COD_CONV_L2_BAND_BYTES band, im2col for the rest. Measured (one
 * thread, fp64, a loaded machine, best of 10): AlexNet conv1 (11x11, stride 4) 1.10-1.26x,
 * ResNet-18 conv1 (7x7, stride 2) 1.07-1.21x, AlexNet conv2 (5x5) 1.09x; on the coded
 * workers' slabs of AlexNet at n = 20, 4x4 (16 workers, batched im2col against per-slab
 * bands) conv1 9.5 against 11.5 ms and conv2 34.4 against 47.6 ms; 3x3 kernels gained
 * nothing (VGG-16 conv1_1 0.97-1.17x, AlexNet conv3-5 workers slower), hence the bound. */
#define COD_L2_MIN_TAPS 25
cod_conv_algo cod_conv_algo_choose(const cod_conv_geom *g, cod_dtype dt);

/* Bytes of workspace cod_conv2d_algo_* needs for (g, a, dt); a must apply to g. */
size_t cod_conv_algo_workspace_bytes(const cod_conv_geom *g, cod_conv_algo a, cod_dtype dt);

/* y = conv(x, k) by algorithm a (which must apply to g), layouts as in cod_conv.h. `work`
 * holds cod_conv_algo_workspace_bytes(g, a, dt) bytes. Never allocates, never fails. */
void cod_conv2d_algo_f64(const cod_conv_geom *g, cod_conv_algo a, const double *x,
                         const double *k, double *y, void *work);
void cod_conv2d_algo_f32(const cod_conv_geom *g, cod_conv_algo a, const float *x,
                         const float *k, float *y, void *work);

/* Weights are fixed during inference, so a caller that convolves many inputs with the
 * same filters (a model's layer, a worker's coded filters) can transform them once:
 * cod_wino_filters_len(g) elements of U, filled by cod_wino_filters_*, then
 * cod_conv2d_wino_pre_* with cod_wino_pre_workspace_bytes(g, dt) bytes of workspace.
 * Same result, bit for bit, as cod_conv2d_algo_* with COD_CONV_WINO2. g must take
 * winograd-2x2; never allocates. */
size_t cod_wino_filters_len(const cod_conv_geom *g);
size_t cod_wino_pre_workspace_bytes(const cod_conv_geom *g, cod_dtype dt);
void cod_wino_filters_f64(const cod_conv_geom *g, const double *k, double *U);
void cod_wino_filters_f32(const cod_conv_geom *g, const float *k, float *U);
void cod_conv2d_wino_pre_f64(const cod_conv_geom *g, const double *x, const double *U,
                             double *y, void *work);
void cod_conv2d_wino_pre_f32(const cod_conv_geom *g, const float *x, const float *U,
                             float *y, void *work);

/* The same for either Winograd algorithm a (COD_CONV_WINO2 or COD_CONV_WINO4, applying to
 * g): cod_conv_algo_filters_len(g, a) elements of U from cod_conv_algo_filters_*, then
 * cod_conv2d_algo_pre_* with cod_conv_algo_pre_workspace_bytes(g, a, dt) bytes; bit for
 * bit the result of cod_conv2d_algo_* with a. U depends only on the filters: a caller
 * keeps it as long as they do not change. */
size_t cod_conv_algo_filters_len(const cod_conv_geom *g, cod_conv_algo a);
size_t cod_conv_algo_pre_workspace_bytes(const cod_conv_geom *g, cod_conv_algo a, cod_dtype dt);
void cod_conv_algo_filters_f64(const cod_conv_geom *g, cod_conv_algo a, const double *k,
                               double *U);
void cod_conv_algo_filters_f32(const cod_conv_geom *g, cod_conv_algo a, const float *k, float *U);
void cod_conv2d_algo_pre_f64(const cod_conv_geom *g, cod_conv_algo a, const double *x,
                             const double *U, double *y, void *work);
void cod_conv2d_algo_pre_f32(const cod_conv_geom *g, cod_conv_algo a, const float *x,
                             const float *U, float *y, void *work);

/* Several inputs of geometry g against several groups of g->n_filters filters, each group
 * with its own transformed filters, in one band of tiles: a coded worker's e_A slabs with
 * its e_B coded groups (cod_code_worker_compute_form), so that each group's U streams once
 * per worker and not once per slab, and each slab is transformed once and not once per
 * group. Image s is x + s*xs; group q's U (cod_wino_filters_len(g) elements) is U + q*ul;
 * image s's output is y + s*ys, group q's planes at q * g->n_filters planes. Bit for bit
 * the result of cod_conv2d_wino_pre_* on every (image, group): each entry is the same dot
 * product and the same transforms. Applies (cod_wino2_multi_applies) to Winograd-2x2
 * geometries with n_filters a multiple of 16 and at most 96 tiles in all; work holds
 * cod_wino2_multi_workspace_bytes(g, ni, ng, dt) bytes. Never allocates. */
int cod_wino2_multi_applies(const cod_conv_geom *g, size_t ni, size_t ng);
size_t cod_wino2_multi_workspace_bytes(const cod_conv_geom *g, size_t ni, size_t ng,
                                       cod_dtype dt);
void cod_conv2d_wino2_multi_f64(const cod_conv_geom *g, size_t ni, const double *x, size_t xs,
                                size_t ng, const double *U, size_t ul, double *y, size_t ys,
                                void *work);
void cod_conv2d_wino2_multi_f32(const cod_conv_geom *g, size_t ni, const float *x, size_t xs,
                                size_t ng, const float *U, size_t ul, float *y, size_t ys,
                                void *work);

#endif
