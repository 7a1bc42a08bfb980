/* cod_part.c: APCP/KCCP partitioning (see cod_part.h for the geometry). */
#include "cod_part.h"

#include <assert.h>
#include <string.h>

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

int cod_partition_init(cod_partition *p, const cod_conv_geom *g, cod_axis axis, size_t m_in,
                       size_t m_filt, cod_err *err) {
  if (!cod_conv_geom_valid(g))
    return cod_err_set(err, COD_EINVAL,
                       "invalid layer geometry: C=%zu H=%zu W=%zu N=%zu kernel %zux%zu "
                       "stride %zu pad %zu", g->c, g->h, g->w, g->n_filters, g->kh, g->kw,
                       g->stride, g->pad);
  if (m_in == 0 || m_filt == 0)
    return cod_err_set(err, COD_EINVAL, "partition needs at least one slab and one group");
  cod_partition q;
  memset(&q, 0, sizeof q);
  q.layer = *g;
  q.axis = axis;
  q.m_in = m_in;
  q.m_filt = m_filt;
  size_t s = g->stride;
  size_t out_axis = axis == COD_AXIS_ROWS ? cod_conv_out_h(g) : cod_conv_out_w(g);
  q.out_per_slab = ceil_div(out_axis, m_in);
  q.filt_per_group = ceil_div(g->n_filters, m_filt);
  size_t span = (q.out_per_slab - 1) * s + (axis == COD_AXIS_ROWS ? g->kh : g->kw);
  q.piece = *g;
  q.piece.pad = 0;
  q.piece.n_filters = q.filt_per_group;
  if (axis == COD_AXIS_ROWS) {
    q.piece.h = span;
    q.piece.w = g->w + 2 * g->pad;
  } else {
    q.piece.h = g->h + 2 * g->pad;
    q.piece.w = span;
  }
  q.in_piece_len = cod_conv_input_len(&q.piece);
  q.filt_piece_len = cod_conv_filter_len(&q.piece);
  q.out_block_len = cod_conv_output_len(&q.piece);
  *p = q;
  return COD_OK;
}

void cod_partition_split_input(const cod_partition *p, const double *x, double *slabs) {
  const cod_conv_geom *g = &p->layer;
  const size_t H = g->h, W = g->w, P = g->pad, ph = p->piece.h, pw = p->piece.w;
  const size_t step = p->out_per_slab * g->stride;
  /* each value written once: the image's part copied, only the padding zeroed */
  for (size_t a = 0; a < p->m_in; a++) {
    double *dst = slabs + a * p->in_piece_len;
    size_t r0 = p->axis == COD_AXIS_ROWS ? a * step : 0; /* first padded row */
    size_t c0 = p->axis == COD_AXIS_COLS ? a * step : 0; /* first padded column */
    /* padded columns [c0, c0+pw) intersect real columns [P, P+W) in [lo, hi) */
    size_t lo = c0 > P ? c0 : P, hi = c0 + pw < P + W ? c0 + pw : P + W;
    if (hi < lo) hi = lo;
    for (size_t c = 0; c < g->c; c++)
      for (size_t i = 0; i < ph; i++) {
        size_t pr = r0 + i; /* padded row */
        double *drow = dst + (c * ph + i) * pw;
        if (pr < P || pr - P >= H || hi == lo) {
          memset(drow, 0, pw * sizeof *drow);
          continue;
        }
        const double *srow = x + (c * H + (pr - P)) * W;
        memset(drow, 0, (lo - c0) * sizeof *drow);
        memcpy(drow + (lo - c0), srow + (lo - P), (hi - lo) * sizeof *srow);
        memset(drow + (hi - c0), 0, (c0 + pw - hi) * sizeof *drow);
      }
  }
}

void cod_partition_split_filters(const cod_partition *p, const double *k, double *groups) {
  const size_t per = cod_conv_filter_len(&p->layer) / p->layer.n_filters;
  const size_t total = p->layer.n_filters * per;
  const size_t want = p->m_filt * p->filt_piece_len;
  memcpy(groups, k, total * sizeof *k);
  if (want > total) memset(groups + total, 0, (want - total) * sizeof *k);
}

void cod_partition_scatter(const cod_partition *p, size_t block, size_t e0, size_t n,
                           const double *src, double *y) {
  const size_t OH = cod_conv_out_h(&p->layer), OW = cod_conv_out_w(&p->layer);
  const size_t bh = cod_conv_out_h(&p->piece), bw = cod_conv_out_w(&p->piece);
  const size_t a = block / p->m_filt, b = block % p->m_filt, o0 = a * p->out_per_slab;
  const int rows = p->axis == COD_AXIS_ROWS;
  assert(rows ? bh == p->out_per_slab && bw == OW : bw == p->out_per_slab && bh == OH);
  /* valid columns of a block row: all of them (rows axis) or those left of W' */
  const size_t cols = rows ? bw : (o0 < OW ? (OW - o0 < bw ? OW - o0 : bw) : 0);
  size_t e = e0, end = e0 + n;
  if (rows) {
    /* one filter's part of a row slab is one contiguous run of y: rows o0.. of channel o */
    const size_t plane = bh * bw, valid = o0 < OH ? (OH - o0 < bh ? OH - o0 : bh) * bw : 0;
    while (e < end) {
      size_t f = e / plane, q = e % plane, o = b * p->filt_per_group + f;
      size_t seg = plane - q < end - e ? plane - q : end - e; /* to the end of this filter */
      if (o < p->layer.n_filters && q < valid) {
        size_t len = valid - q < seg ? valid - q : seg;
        memcpy(y + (o * OH + o0) * OW + q, src + (e - e0), len * sizeof *y);
      }
      e += seg;
    }
    return;
  }
  while (e < end) {
    size_t f = e / (bh * bw), r = e / bw % bh, c = e % bw;
    size_t seg = bw - c < end - e ? bw - c : end - e; /* to the end of this block row */
    size_t o = b * p->filt_per_group + f;
    if (o < p->layer.n_filters && c < cols) {
      size_t len = cols - c < seg ? cols - c : seg;
      memcpy(y + (o * OH + r) * OW + o0 + c, src + (e - e0), len * sizeof *y);
    }
    e += seg;
  }
}

void cod_partition_stitch(const cod_partition *p, const double *blocks, double *y) {
  for (size_t blk = 0; blk < p->m_in * p->m_filt; blk++)
    cod_partition_scatter(p, blk, 0, p->out_block_len, blocks + blk * p->out_block_len, y);
}
