/* cod_part.h: APCP and KCCP partitioning, and stitching of decoded blocks.
 *
 * APCP (adaptive-padding coded partitioning, FCDCC arXiv 2411.01579) cuts the zero-padded
 * input into m equal slabs along one spatial axis (rows by default). The OUTPUT rows are
 * split into m groups of h^ = ceil(H'/m) rows; slab a covers padded input rows
 * [a*h^*s, a*h^*s + (h^-1)*s + KH), so adjacent slabs overlap by KH - s rows. Slabs that
 * would run past the padded input are filled with zeros ("adaptive padding") so that all
 * slabs have one shape, which linear coding requires. KCCP cuts the filter bank into m'
 * groups of ceil(N/m') output channels, zero filters filling the last group. Then
 * conv(slab a, group b) with stride s and no padding is exactly block (a, b) of the
 * output, and stitching the m*m' blocks (cropped to H' and N) gives the layer's output.
 *
 * Every function here is pure data movement: no allocation, no failure after init.
 */
#ifndef FCDCC_COD_PART_H
#define FCDCC_COD_PART_H

#include <stddef.h>

#include "cod_conv.h"

typedef enum cod_axis { COD_AXIS_ROWS = 0, COD_AXIS_COLS = 1 } cod_axis;

typedef struct cod_partition {
  cod_conv_geom layer;   /* the whole layer */
  cod_axis axis;         /* APCP axis */
  size_t m_in;           /* number of input slabs (APCP) */
  size_t m_filt;         /* number of filter groups (KCCP) */
  size_t out_per_slab;   /* h^ (rows) or w^ (columns) of output per slab */
  size_t filt_per_group; /* ceil(N / m_filt) */
  cod_conv_geom piece;   /* geometry of one sub-convolution: a slab with one group, pad 0 */
  size_t in_piece_len;   /* elements of one slab */
  size_t filt_piece_len; /* elements of one filter group */
  size_t out_block_len;  /* elements of one output block = conv(slab, group) */
} cod_partition;

/* Plan the partition. Fails with COD_EINVAL (and a message) on an invalid layer geometry or
 * m_in, m_filt == 0. More slabs than output rows is allowed (the extra slabs are zero). */
int cod_partition_init(cod_partition *p, const cod_conv_geom *layer, cod_axis axis,
                       size_t m_in, size_t m_filt, cod_err *err);

/* x (C x H x W) -> slabs (m_in x in_piece_len, slab-major), padding materialised. */
void cod_partition_split_input(const cod_partition *p, const double *x, double *slabs);
/* k (N x C x KH x KW) -> groups (m_filt x filt_piece_len), zero filters appended. */
void cod_partition_split_filters(const cod_partition *p, const double *k, double *groups);
/* blocks ((m_in*m_filt) x out_block_len, ordered slab-major: block a*m_filt + b) -> y
 * (N x H' x W'), cropping the padding rows/columns and zero filters. */
void cod_partition_stitch(const cod_partition *p, const double *blocks, double *y);
/* Write elements [e0, e0+n) of block `block` (src[0..n)) to their places in y, cropping as
 * cod_partition_stitch does. Lets a decoder emit its output in chunks, straight into y. */
void cod_partition_scatter(const cod_partition *p, size_t block, size_t e0, size_t n,
                           const double *src, double *y);

#endif
