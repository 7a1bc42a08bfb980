/* cod_code.c: the scheme-independent half of every code (see cod_code.h).
 *
 * Costs. Encoding is two products (A_all * slabs, B_all * groups): a GEMM,
 * O(n*e_A*m_in*slab) flops, for the dense matrices, and a sparse product, O(nnz*slab), for
 * those at most a quarter non-zero (cod_encode_is_sparse: nsctc-cir, uncoded,
 * replication; decision 025). The generic decoder forms
 * the recovery matrix M of the selected workers (rows = results, columns = unknown
 * blocks), takes its LU/QR left inverse (O(rows*cols^2), independent of the layer size)
 * and applies it to all output entries with one GEMM: 2*cols*rows*out_block_len flops.
 */
#include <assert.h>
#include <math.h>
#include <string.h>

#include <gsl/gsl_cblas.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "cod_alloc.h"
#include "cod_cond_rot.h"
#include "cod_clock.h"
#include "cod_kernel.h"
#include "cod_scheme.h"

cod_code_params cod_code_params_default(void) {
  cod_code_params p;
  memset(&p, 0, sizeof p);
  p.scheme = "nsctc-rot";
  p.n_workers = 1;
  p.ka = p.kb = 1;
  p.axis = COD_AXIS_ROWS;
  p.rank_rtol = 1e-13;
  p.seed = 1;
  return p;
}

int cod_encode_is_sparse(size_t rows, size_t m, size_t nnz) {
  return (double)nnz * 4.0 <= (double)rows * (double)m;
}

double cod_encode_product_flops(size_t rows, size_t m, size_t nnz, double len) {
  return cod_encode_is_sparse(rows, m, nnz) ? 2.0 * (double)nnz * len
                                            : 2.0 * (double)rows * (double)m * len;
}

/* Count coef's non-zeros and, when the rule (or `force`: 1 sparse, 0 dense, -1 the rule)
 * says sparse, compress its rows. */
static int coef_op_init(cod_coef_op *op, const double *coef, size_t rows, size_t m,
                        int force) {
  memset(op, 0, sizeof *op);
  op->dense = coef, op->m = m;
  for (size_t i = 0; i < rows * m; i++) op->nnz += coef[i] != 0.0;
  op->sparse = force >= 0 ? force : cod_encode_is_sparse(rows, m, op->nnz);
  if (!op->sparse) return COD_OK;
  /* one block: the values, then the row starts and the columns (8 bytes each) */
  _Static_assert(sizeof(size_t) == sizeof(double), "CSR block slots are 8 bytes");
  op->val = cod_malloc_array(op->nnz + rows + 1 + op->nnz, sizeof(double));
  if (!op->val) return COD_ENOMEM;
  op->rp = (size_t *)(op->val + op->nnz), op->col = op->rp + rows + 1;
  size_t e = 0;
  for (size_t r = 0; r < rows; r++) {
    op->rp[r] = e;
    for (size_t j = 0; j < m; j++)
      if (coef[r * m + j] != 0.0) op->col[e] = j, op->val[e++] = coef[r * m + j];
  }
  op->rp[rows] = e;
  return COD_OK;
}

static void coef_op_free(cod_coef_op *op) {
  cod_free(op->val);
  memset(op, 0, sizeof *op);
}

/* Group the workers by their rows of A (exact comparison): nsctc-rot's R^{k_B*i*j} repeats
 * with period q/gcd(k_B, q) in j, so at n = q = 20, k_B = 4 workers j and j+5 hold the same
 * coded slabs, and with k_A = 1 every worker holds the plain input. O(n * classes). */
static int input_classes_find(cod_code *c, cod_err *err) {
  const size_t row = c->ea * c->m_in;
  c->in_class = cod_malloc_array(c->n, sizeof *c->in_class);
  size_t *first = cod_malloc_array(c->n, sizeof *first);
  if (!c->in_class || !first) {
    cod_free(first);
    return cod_err_set(err, COD_ENOMEM, "out of memory grouping the coded inputs");
  }
  size_t k = 0;
  for (size_t j = 0; j < c->n; j++) {
    size_t cl = 0;
    while (cl < k && memcmp(c->A + first[cl] * row, c->A + j * row, row * sizeof *c->A)) cl++;
    if (cl == k) first[k++] = j;
    c->in_class[j] = cl;
  }
  c->n_in_classes = k;
  c->A_cls = cod_malloc_array(k * row, sizeof *c->A_cls);
  c->cm_worker = cod_malloc_array(c->n, sizeof *c->cm_worker);
  c->cm_slot = cod_malloc_array(c->n, sizeof *c->cm_slot);
  int ok = c->A_cls && c->cm_worker && c->cm_slot;
  if (ok) {
    for (size_t cl = 0; cl < k; cl++)
      memcpy(c->A_cls + cl * row, c->A + first[cl] * row, row * sizeof *c->A);
    /* class-major order, a counting sort: first[cl] becomes the class's first position */
    memset(first, 0, k * sizeof *first);
    for (size_t j = 0; j < c->n; j++) first[c->in_class[j]]++;
    for (size_t cl = 0, at = 0; cl < k; cl++) {
      size_t m = first[cl];
      first[cl] = at, at += m;
    }
    for (size_t j = 0; j < c->n; j++) {
      size_t p = first[c->in_class[j]]++;
      c->cm_worker[p] = j, c->cm_slot[j] = p;
    }
  }
  cod_free(first);
  return ok ? COD_OK : cod_err_set(err, COD_ENOMEM, "out of memory grouping the coded inputs");
}

int cod_code_new(const cod_code_params *prm, const cod_conv_geom *layer, cod_code **out,
                 cod_err *err) {
  int rc = cod_scheme_check(prm, err); /* the registry's dry run: one set of rules */
  if (rc) return rc;
  const cod_scheme_def *def = cod_scheme_def_find(prm->scheme);
  const cod_scheme_ops *ops = def->ops;
  assert(strcmp(ops->name, def->info.name) == 0); /* one spelling per scheme */
  assert(ops->approximate == def->info.approximate);
  if (!cod_conv_geom_valid(layer))
    return cod_err_set(err, COD_EINVAL, "invalid layer geometry");
  cod_code *c = cod_calloc(1, sizeof *c);
  if (!c) return cod_err_set(err, COD_ENOMEM, "out of memory planning a code");
  c->prm = *prm;
  c->prm.scheme = def->info.name;
  c->def = def;
  c->ops = ops;
  c->n = prm->n_workers;
  c->ka = prm->ka;
  c->kb = prm->kb;
  c->q = prm->q;
  rc = ops->plan(c, err);
  if (rc) goto fail;
  rc = cod_partition_init(&c->part, layer, prm->axis, c->m_in, c->m_filt, err);
  if (rc) goto fail;
  c->wgeom = c->part.piece;
  c->wgeom.n_filters = c->eb * c->part.filt_per_group;
  c->A = cod_calloc(c->n * c->ea * c->m_in, sizeof *c->A);
  c->B = cod_calloc(c->n * c->eb * c->m_filt, sizeof *c->B);
  if (!c->A || !c->B) {
    rc = cod_err_set(err, COD_ENOMEM, "out of memory for the encoding matrices");
    goto fail;
  }
  if (def->info.takes_seed) {
    if (!(c->rng = gsl_rng_alloc(gsl_rng_mt19937))) {
      rc = cod_err_set(err, COD_ENOMEM, "out of memory for the %s coefficient generator",
                       def->info.name);
      goto fail;
    }
    gsl_rng_set(c->rng, prm->seed);
  }
  ops->fill(c);
  gsl_rng_free(c->rng);
  c->rng = NULL;
  if ((rc = input_classes_find(c, err))) goto fail;
  if (coef_op_init(&c->opA, c->A, c->n * c->ea, c->m_in, -1) ||
      coef_op_init(&c->opA_cls, c->A_cls, c->n_in_classes * c->ea, c->m_in, c->opA.sparse) ||
      coef_op_init(&c->opB, c->B, c->n * c->eb, c->m_filt, -1)) {
    rc = cod_err_set(err, COD_ENOMEM, "out of memory compressing the encoding matrices");
    goto fail;
  }
  *out = c;
  return COD_OK;
fail:
  cod_code_free(c);
  return rc;
}

void cod_code_free(cod_code *c) {
  if (!c) return;
  cod_free(c->A);
  cod_free(c->B);
  cod_free(c->in_class);
  cod_free(c->A_cls);
  cod_free(c->cm_worker);
  cod_free(c->cm_slot);
  coef_op_free(&c->opA), coef_op_free(&c->opA_cls), coef_op_free(&c->opB);
  cod_free(c);
}

const char *cod_code_scheme(const cod_code *c) { return c->def->info.name; }
int cod_code_approximate(const cod_code *c) { return c->ops->approximate; }
const cod_code_params *cod_code_params_get(const cod_code *c) { return &c->prm; }
const cod_partition *cod_code_partition(const cod_code *c) { return &c->part; }
size_t cod_code_workers(const cod_code *c) { return c->n; }
size_t cod_code_ka(const cod_code *c) { return c->ka; }
size_t cod_code_kb(const cod_code *c) { return c->kb; }
size_t cod_code_threshold(const cod_code *c) { return c->delta; }
size_t cod_code_slabs_per_worker(const cod_code *c) { return c->ea; }
size_t cod_code_groups_per_worker(const cod_code *c) { return c->eb; }
size_t cod_code_results_per_worker(const cod_code *c) { return c->ea * c->eb; }
const cod_conv_geom *cod_code_worker_geom(const cod_code *c) { return &c->wgeom; }
size_t cod_code_worker_input_len(const cod_code *c) { return c->ea * c->part.in_piece_len; }
size_t cod_code_worker_filter_len(const cod_code *c) { return c->eb * c->part.filt_piece_len; }
size_t cod_code_worker_output_len(const cod_code *c) {
  return c->ea * c->eb * c->part.out_block_len;
}
double cod_code_worker_macs(const cod_code *c) {
  return (double)c->ea * cod_conv_macs(&c->wgeom);
}

/* Values of a piece per pass of the encoding product: the m pieces' stretches (nsctc-cir's
 * 352 filter groups: 704 KB) stay in L2 across the rows. */
#define COD_ENCODE_STRETCH 256
/* A coded piece's values are summed 8 at a time in registers (four 2-lane vectors of GCC's
 * vector extension, element-wise IEEE arithmetic on any target): each value's terms are
 * added in column order, the first multiplied in, so the bits are those of the plain
 * loop; the coded piece is stored once instead of once per term. */
typedef double cod_v2d __attribute__((vector_size(16)));

static inline cod_v2d v2_load(const double *p) {
  cod_v2d v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* o[0..w) = sum over the row's terms e0..e1 (e1 > e0) of val[e] * pieces[col[e]][b + i] */
static void sparse_row(const cod_coef_op *op, size_t e0, size_t e1, const double *pieces,
                       size_t len, size_t b, size_t w, double *restrict o) {
  size_t i = 0;
  for (; i + 8 <= w; i += 8) {
    const double *p0 = pieces + op->col[e0] * len + b + i;
    const cod_v2d v0 = {op->val[e0], op->val[e0]};
    cod_v2d a0 = v0 * v2_load(p0), a1 = v0 * v2_load(p0 + 2), a2 = v0 * v2_load(p0 + 4),
            a3 = v0 * v2_load(p0 + 6);
    for (size_t e = e0 + 1; e < e1; e++) {
      const double *p = pieces + op->col[e] * len + b + i;
      const cod_v2d v = {op->val[e], op->val[e]};
      a0 += v * v2_load(p), a1 += v * v2_load(p + 2), a2 += v * v2_load(p + 4),
          a3 += v * v2_load(p + 6);
    }
    memcpy(o + i, &a0, sizeof a0), memcpy(o + i + 2, &a1, sizeof a1);
    memcpy(o + i + 4, &a2, sizeof a2), memcpy(o + i + 6, &a3, sizeof a3);
  }
  for (; i < w; i++) {
    double acc = op->val[e0] * pieces[op->col[e0] * len + b + i];
    for (size_t e = e0 + 1; e < e1; e++) acc += op->val[e] * pieces[op->col[e] * len + b + i];
    o[i] = acc;
  }
}

/* coded (rows r0..r1 of op, x len) = op * pieces (m x len), a stretch of
 * COD_ENCODE_STRETCH values at a time. Dense: cod_gemm_small, each coded value one sum over
 * the m pieces in column order; a BLAS GEMM does not promise that whichever rows are asked
 * for (OpenBLAS's AVX-512 kernels change an entry's sum with the row count at some widths),
 * and chunked encoding, the input classes and the workers' own bytes rest on it. Sparse:
 * each coded value the sum of its row's terms, in column order. Either way the same bits
 * whatever rows are asked for. */
static void apply_coef(const cod_coef_op *op, size_t r0, size_t r1, const double *pieces,
                       size_t len, double *coded) {
  for (size_t b = 0; b < len; b += COD_ENCODE_STRETCH) {
    const size_t w = len - b < COD_ENCODE_STRETCH ? len - b : COD_ENCODE_STRETCH;
    if (!op->sparse) {
      cod_gemm_small(r1 - r0, op->m, w, op->dense + r0 * op->m, op->m, pieces + b, len,
                     coded + b, len);
      continue;
    }
    for (size_t r = r0; r < r1; r++) {
      double *o = coded + (r - r0) * len + b;
      if (op->rp[r] == op->rp[r + 1]) memset(o, 0, w * sizeof *o);
      else sparse_row(op, op->rp[r], op->rp[r + 1], pieces, len, b, w, o);
    }
  }
}

size_t cod_code_input_nnz(const cod_code *c) { return c->opA.nnz; }
size_t cod_code_filter_nnz(const cod_code *c) { return c->opB.nnz; }

size_t cod_code_encode_workspace_bytes(const cod_code *c) {
  return c->m_in * c->part.in_piece_len * sizeof(double);
}

void cod_code_encode_input_work(const cod_code *c, const double *x, double *coded, void *work) {
  cod_partition_split_input(&c->part, x, work);
  apply_coef(&c->opA, 0, c->n * c->ea, work, c->part.in_piece_len, coded);
}

size_t cod_code_input_classes(const cod_code *c) { return c->n_in_classes; }
size_t cod_code_input_class(const cod_code *c, size_t j) {
  assert(j < c->n);
  return c->in_class[j];
}

size_t cod_code_class_major_slot(const cod_code *c, size_t j) {
  assert(j < c->n);
  return c->cm_slot[j];
}

size_t cod_code_class_major_worker(const cod_code *c, size_t p) {
  assert(p < c->n);
  return c->cm_worker[p];
}

/* In place, one cycle at a time: a cycle is moved from its smallest position only (the
 * walk that checks it is index arithmetic), so no visited flags are needed; and a stripe
 * of COD_PERMUTE_STRIPE values of every block at a time, so the one block in hand is a
 * small stack buffer, not a worker's whole filters (which would raise the peak of the
 * layer in flight by that much). Values are moved, never recomputed. */
#define COD_PERMUTE_STRIPE 512

void cod_code_permute_class_major(const cod_code *c, double *data, size_t len_each) {
  double tmp[COD_PERMUTE_STRIPE];
  for (size_t o = 0; o < len_each; o += COD_PERMUTE_STRIPE) {
    size_t w = len_each - o < COD_PERMUTE_STRIPE ? len_each - o : COD_PERMUTE_STRIPE;
    double *d = data + o;
    for (size_t p0 = 0; p0 < c->n; p0++) {
      size_t p = c->cm_worker[p0];
      while (p > p0) p = c->cm_worker[p];
      if (p < p0 || c->cm_worker[p0] == p0) continue; /* moved already, or in place */
      memcpy(tmp, d + p0 * len_each, w * sizeof *d);
      for (p = p0;;) {
        size_t src = c->cm_worker[p];
        if (src == p0) {
          memcpy(d + p * len_each, tmp, w * sizeof *d);
          break;
        }
        memcpy(d + p * len_each, d + src * len_each, w * sizeof *d);
        p = src;
      }
    }
  }
}

void cod_code_encode_input_classes_work(const cod_code *c, const double *x, double *coded,
                                        void *work) {
  cod_partition_split_input(&c->part, x, work);
  apply_coef(&c->opA_cls, 0, c->n_in_classes * c->ea, work, c->part.in_piece_len, coded);
}

int cod_code_encode_input(const cod_code *c, const double *x, double *coded, cod_err *err) {
  void *slabs = cod_malloc(cod_code_encode_workspace_bytes(c));
  if (!slabs) return cod_err_set(err, COD_ENOMEM, "out of memory splitting the input");
  cod_code_encode_input_work(c, x, coded, slabs);
  cod_free(slabs);
  return COD_OK;
}

int cod_code_encode_filters(const cod_code *c, const double *k, double *coded,
                            cod_err *err) {
  double *groups = cod_malloc_array(c->m_filt * c->part.filt_piece_len, sizeof *groups);
  if (!groups) return cod_err_set(err, COD_ENOMEM, "out of memory splitting the filters");
  cod_partition_split_filters(&c->part, k, groups);
  apply_coef(&c->opB, 0, c->n * c->eb, groups, c->part.filt_piece_len, coded);
  cod_free(groups);
  return COD_OK;
}

/* Workers per chunk when each has `per` rows: the fewest whose rows are a multiple of
 * COD_ENCODE_CHUNK_ROWS (any chunk gives the all-worker bytes, apply_coef; the unit keeps
 * chunks of whole workers of a useful size). */
static size_t chunk_workers(size_t per) {
  size_t a = per, b = COD_ENCODE_CHUNK_ROWS;
  while (b) {
    size_t t = a % b;
    a = b, b = t;
  }
  return COD_ENCODE_CHUNK_ROWS / a; /* lcm(per, ROWS) / per */
}

size_t cod_code_input_chunk_workers(const cod_code *c) { return chunk_workers(c->ea); }
size_t cod_code_filter_chunk_workers(const cod_code *c) { return chunk_workers(c->eb); }
size_t cod_code_filter_groups_len(const cod_code *c) {
  return c->m_filt * c->part.filt_piece_len;
}

void cod_code_split_input(const cod_code *c, const double *x, double *pieces) {
  cod_partition_split_input(&c->part, x, pieces);
}

void cod_code_split_filters(const cod_code *c, const double *k, double *groups) {
  cod_partition_split_filters(&c->part, k, groups);
}

/* rows [w0*per, w1*per) of the op times pieces */
static void encode_chunk(const cod_coef_op *op, size_t per, size_t n, size_t W, size_t chunk,
                         const double *pieces, size_t len, double *coded) {
  size_t w0 = chunk * W, w1 = w0 + W < n ? w0 + W : n;
  assert(w0 < n);
  apply_coef(op, w0 * per, w1 * per, pieces, len, coded);
}

void cod_code_encode_input_chunk(const cod_code *c, const double *pieces, size_t chunk,
                                 double *coded) {
  encode_chunk(&c->opA, c->ea, c->n, chunk_workers(c->ea), chunk, pieces,
               c->part.in_piece_len, coded);
}

void cod_code_encode_filters_chunk(const cod_code *c, const double *groups, size_t chunk,
                                   double *coded) {
  encode_chunk(&c->opB, c->eb, c->n, chunk_workers(c->eb), chunk, groups,
               c->part.filt_piece_len, coded);
}

size_t cod_code_worker_workspace_bytes(const cod_code *c, cod_dtype prec) {
  size_t conv = cod_conv_batch_workspace_bytes(&c->wgeom, c->ea, prec);
  if (prec == COD_F64) return conv;
  /* fp32 copies of the worker's coded slabs, filters and outputs */
  size_t extra = (cod_code_worker_input_len(c) + cod_code_worker_filter_len(c) +
                  cod_code_worker_output_len(c)) * sizeof(float);
  return (conv + 63) / 64 * 64 + extra;
}

/* The fp32 worker's workspace: the batched convolution's own bytes, then fp32 copies of
 * the coded slab (xf), of the coded filters (kf, converted here) and the product (yf). */
static void worker_f32_layout(const cod_code *c, void *work, const double *kin, float **xf,
                              float **kf, float **yf) {
  size_t conv = (cod_conv_batch_workspace_bytes(&c->wgeom, c->ea, COD_F32) + 63) / 64 * 64;
  size_t il = cod_code_worker_input_len(c), fl = cod_code_worker_filter_len(c);
  *xf = (float *)((char *)work + conv);
  *kf = *xf + il;
  *yf = *kf + fl;
  for (size_t i = 0; i < fl; i++) (*kf)[i] = (float)kin[i];
}

void cod_code_worker_compute(const cod_code *c, cod_dtype prec, const double *xin,
                             const double *kin, double *out, void *work) {
  /* The e_B coded groups are contiguous, so a convolution with e_B*F filters computes the
   * blocks (slab s, group 0..e_B-1) at once, in exactly the output order; the e_A slabs
   * go through one batched convolution so the filters are packed once. */
  if (prec == COD_F64) {
    cod_conv2d_batch_f64(&c->wgeom, c->ea, xin, kin, out, work);
    return;
  }
  float *xf, *kf, *yf;
  worker_f32_layout(c, work, kin, &xf, &kf, &yf);
  size_t il = cod_code_worker_input_len(c), ol = cod_code_worker_output_len(c);
  for (size_t i = 0; i < il; i++) xf[i] = (float)xin[i];
  cod_conv2d_batch_f32(&c->wgeom, c->ea, xf, kf, yf, work);
  for (size_t i = 0; i < ol; i++) out[i] = yf[i];
}

/* The worker convolution in two halves (cod_conv2d_batch_cols / _gemm): the columns of the
 * coded slabs, then the GEMM with the worker's filters. The fp32 columns come from fp32
 * copies of the slabs, as in cod_code_worker_compute, so both halves together are it. */
size_t cod_code_worker_cols_bytes(const cod_code *c, cod_dtype prec) {
  size_t len = cod_conv_batch_cols_len(&c->wgeom, c->ea, prec);
  if (!len) return 0;
  if (prec == COD_F64) return len * sizeof(double);
  return (len + cod_code_worker_input_len(c)) * sizeof(float);
}

void cod_code_worker_cols(const cod_code *c, cod_dtype prec, const double *xin, void *cols) {
  assert(cod_code_worker_cols_bytes(c, prec));
  if (prec == COD_F64) {
    cod_conv2d_batch_cols_f64(&c->wgeom, c->ea, xin, cols);
    return;
  }
  size_t len = cod_conv_batch_cols_len(&c->wgeom, c->ea, prec), il = cod_code_worker_input_len(c);
  float *xf = (float *)cols + len;
  for (size_t i = 0; i < il; i++) xf[i] = (float)xin[i];
  cod_conv2d_batch_cols_f32(&c->wgeom, c->ea, xf, cols);
}

void cod_code_worker_compute_cols(const cod_code *c, cod_dtype prec, const void *cols,
                                  const double *kin, double *out, void *work) {
  assert(cod_code_worker_cols_bytes(c, prec));
  if (prec == COD_F64) {
    cod_conv2d_batch_gemm_f64(&c->wgeom, c->ea, cols, kin, out, work);
    return;
  }
  /* the workspace laid out as cod_code_worker_compute's: product, then the fp32 copies */
  float *xf, *kf, *yf;
  worker_f32_layout(c, work, kin, &xf, &kf, &yf);
  size_t ol = cod_code_worker_output_len(c);
  cod_conv2d_batch_gemm_f32(&c->wgeom, c->ea, cols, kf, yf, work);
  for (size_t i = 0; i < ol; i++) out[i] = yf[i];
}

/* Workers of one class at once: their filters gathered side by side (fp32: converted) after
 * the product region, one GEMM, each worker's blocks to its own output. */
size_t cod_code_workers_cols_workspace_bytes(const cod_code *c, cod_dtype prec, size_t nw) {
  size_t el = prec == COD_F64 ? sizeof(double) : sizeof(float);
  size_t conv = (cod_conv_batch_sets_workspace_bytes(&c->wgeom, c->ea, nw, prec) + 63) / 64 * 64;
  size_t extra = nw * cod_code_worker_filter_len(c) * el;
  if (prec != COD_F64) extra += nw * cod_code_worker_output_len(c) * el;
  return conv + extra;
}

int cod_code_workers_cols_probe(const cod_code *c, cod_dtype prec, size_t nw, cod_err *err) {
  return cod_conv_sets_probe(&c->wgeom, c->ea, nw, prec, err);
}

void cod_code_workers_compute_cols(const cod_code *c, cod_dtype prec, const void *cols,
                                   size_t nw, const double *const *kin, double *const *out,
                                   void *work) {
  assert(cod_code_worker_cols_bytes(c, prec) && nw >= 1 && nw <= COD_WORKERS_MAX);
  size_t conv = (cod_conv_batch_sets_workspace_bytes(&c->wgeom, c->ea, nw, prec) + 63) / 64 * 64;
  size_t fl = cod_code_worker_filter_len(c), ol = cod_code_worker_output_len(c);
  if (prec == COD_F64) {
    /* filters stored side by side already (class-major): no gathering */
    size_t w = 1;
    while (w < nw && kin[w] == kin[0] + w * fl) w++;
    const double *k = kin[0];
    if (w < nw) {
      double *g = (double *)((char *)work + conv);
      for (w = 0; w < nw; w++) memcpy(g + w * fl, kin[w], fl * sizeof *g);
      k = g;
    }
    cod_conv2d_batch_gemm_sets_f64(&c->wgeom, c->ea, cols, nw, k, out, work);
    return;
  }
  float *k = (float *)((char *)work + conv), *y = k + nw * fl, *ys[COD_WORKERS_MAX];
  for (size_t w = 0; w < nw; w++) {
    for (size_t i = 0; i < fl; i++) k[w * fl + i] = (float)kin[w][i];
    ys[w] = y + w * ol;
  }
  cod_conv2d_batch_gemm_sets_f32(&c->wgeom, c->ea, cols, nw, k, ys, work);
  for (size_t w = 0; w < nw; w++)
    for (size_t i = 0; i < ol; i++) out[w][i] = ys[w][i];
}

double cod_code_input_gain(const cod_code *c) {
  return cod_la_max_abs_row_sum(c->A, c->n * c->ea, c->m_in);
}

double cod_code_filter_gain(const cod_code *c) {
  return cod_la_max_abs_row_sum(c->B, c->n * c->eb, c->m_filt);
}

/* Bytes of the slab convolutions alone under algo (before the fp32 copies). */
static size_t slab_conv_bytes(const cod_code *c, cod_dtype prec, cod_conv_algo algo) {
  if (algo == COD_CONV_IM2COL) return cod_conv_batch_workspace_bytes(&c->wgeom, c->ea, prec);
  return cod_conv_algo_workspace_bytes(&c->wgeom, algo, prec);
}

size_t cod_code_worker_workspace_bytes_algo(const cod_code *c, cod_dtype prec,
                                            cod_conv_algo algo) {
  assert(cod_conv_algo_applies(&c->wgeom, algo));
  if (algo == COD_CONV_IM2COL) return cod_code_worker_workspace_bytes(c, prec);
  size_t conv = slab_conv_bytes(c, prec, algo);
  if (prec == COD_F64) return conv;
  size_t extra = (cod_code_worker_input_len(c) + cod_code_worker_filter_len(c) +
                  cod_code_worker_output_len(c)) * sizeof(float);
  return (conv + 63) / 64 * 64 + extra;
}

void cod_code_worker_compute_algo(const cod_code *c, cod_dtype prec, cod_conv_algo algo,
                                  const double *xin, const double *kin, double *out,
                                  void *work) {
  assert(cod_conv_algo_applies(&c->wgeom, algo));
  if (algo == COD_CONV_IM2COL) {
    cod_code_worker_compute(c, prec, xin, kin, out, work);
    return;
  }
  /* slab s's e_B groups are one convolution with e_B*F filters, as in the batched form */
  const size_t pin = c->part.in_piece_len, pout = cod_conv_output_len(&c->wgeom);
  if (prec == COD_F64) {
    for (size_t s = 0; s < c->ea; s++)
      cod_conv2d_algo_f64(&c->wgeom, algo, xin + s * pin, kin, out + s * pout, work);
    return;
  }
  size_t conv = (slab_conv_bytes(c, COD_F32, algo) + 63) / 64 * 64;
  size_t il = cod_code_worker_input_len(c), fl = cod_code_worker_filter_len(c),
         ol = cod_code_worker_output_len(c);
  float *xf = (float *)((char *)work + conv), *kf = xf + il, *yf = kf + fl;
  for (size_t i = 0; i < fl; i++) kf[i] = (float)kin[i];
  for (size_t i = 0; i < il; i++) xf[i] = (float)xin[i];
  for (size_t s = 0; s < c->ea; s++)
    cod_conv2d_algo_f32(&c->wgeom, algo, xf + s * pin, kf, yf + s * pout, work);
  for (size_t i = 0; i < ol; i++) out[i] = yf[i];
}

/* ---- coded filters kept transformed (cod_code_worker_compute_form) ------------------- */

static size_t group_len_form(const cod_code *c, cod_conv_algo form) {
  return form == COD_CONV_IM2COL ? c->part.filt_piece_len
                                 : cod_conv_algo_filters_len(&c->part.piece, form);
}

size_t cod_code_worker_filter_len_form(const cod_code *c, cod_conv_algo form) {
  return c->eb * group_len_form(c, form);
}

size_t cod_code_filter_groups_len_form(const cod_code *c, cod_conv_algo form) {
  /* transformed: one plain group more at the end, where a last group that runs past the
   * N filters is zero-padded before its transform */
  return c->m_filt * group_len_form(c, form) + (form == COD_CONV_IM2COL ? 0 : c->part.filt_piece_len);
}

void cod_code_split_filters_form(const cod_code *c, cod_conv_algo form, const double *k,
                                 double *groups) {
  if (form == COD_CONV_IM2COL) {
    cod_partition_split_filters(&c->part, k, groups);
    return;
  }
  /* the plain groups are k's filters in order, F to a group, zero past the N filters */
  const size_t pl = c->part.filt_piece_len, ul = group_len_form(c, form);
  const size_t total = cod_conv_filter_len(&c->part.layer);
  double *pad = groups + c->m_filt * ul;
  for (size_t g = 0; g < c->m_filt; g++) {
    const double *src = k + g * pl;
    if ((g + 1) * pl > total) {
      size_t have = g * pl < total ? total - g * pl : 0;
      if (have) memcpy(pad, src, have * sizeof *pad);
      memset(pad + have, 0, (pl - have) * sizeof *pad);
      src = pad;
    }
    /* the planes' padding is not the transform's: zero, so the groups are all defined */
    memset(groups + g * ul, 0, ul * sizeof *groups);
    cod_conv_algo_filters_f64(&c->part.piece, form, src, groups + g * ul);
  }
}

int cod_code_encode_filters_form(const cod_code *c, cod_conv_algo form, const double *k,
                                 double *coded, cod_err *err) {
  if (form == COD_CONV_IM2COL) return cod_code_encode_filters(c, k, coded, err);
  double *groups = cod_malloc_array(cod_code_filter_groups_len_form(c, form), sizeof *groups);
  if (!groups) return cod_err_set(err, COD_ENOMEM, "out of memory transforming the filters");
  cod_code_split_filters_form(c, form, k, groups);
  apply_coef(&c->opB, 0, c->n * c->eb, groups, group_len_form(c, form), coded);
  cod_free(groups);
  return COD_OK;
}

void cod_code_encode_filters_chunk_form(const cod_code *c, cod_conv_algo form,
                                        const double *groups, size_t chunk, double *coded) {
  encode_chunk(&c->opB, c->eb, c->n, chunk_workers(c->eb), chunk, groups,
               group_len_form(c, form), coded);
}

size_t cod_code_worker_workspace_bytes_form(const cod_code *c, cod_conv_algo form) {
  if (form == COD_CONV_IM2COL) return cod_code_worker_workspace_bytes(c, COD_F64);
  if (form == COD_CONV_WINO2 && cod_wino2_multi_applies(&c->part.piece, c->ea, c->eb))
    return cod_wino2_multi_workspace_bytes(&c->part.piece, c->ea, c->eb, COD_F64);
  return cod_conv_algo_pre_workspace_bytes(&c->part.piece, form, COD_F64);
}

void cod_code_worker_compute_form(const cod_code *c, cod_conv_algo form, const double *xin,
                                  const double *kin, double *out, void *work) {
  if (form == COD_CONV_IM2COL) {
    cod_code_worker_compute(c, COD_F64, xin, kin, out, work);
    return;
  }
  /* slab s with group g: F filters' planes at g*F of the slab's e_B*F (the worker's
   * output layout) */
  const cod_conv_geom *pg = &c->part.piece;
  const size_t pin = c->part.in_piece_len, pout = cod_conv_output_len(&c->wgeom);
  const size_t ul = group_len_form(c, form), gout = cod_conv_output_len(pg);
  if (form == COD_CONV_WINO2 && cod_wino2_multi_applies(pg, c->ea, c->eb)) {
    /* every slab and group in one band: each group's U streams once, not once per slab
     * (the same bits) */
    cod_conv2d_wino2_multi_f64(pg, c->ea, xin, pin, c->eb, kin, ul, out, pout, work);
    return;
  }
  for (size_t g = 0; g < c->eb; g++)
    for (size_t s = 0; s < c->ea; s++)
      cod_conv2d_algo_pre_f64(pg, form, xin + s * pin, kin + g * ul, out + s * pout + g * gout,
                              work);
}

cod_conv_algo cod_code_filter_form_choose(const cod_code *c, cod_dtype prec) {
  const cod_conv_geom *pg = &c->part.piece;
  if (prec == COD_F64 && cod_conv_algo_applies(pg, COD_CONV_WINO2) &&
      pg->c >= COD_WINO_MIN_CHANNELS && pg->n_filters >= 8)
    return COD_CONV_WINO2;
  return COD_CONV_IM2COL;
}

int cod_code_worker_compute_half(const cod_code *c, cod_half_format fmt, const double *xin,
                                 const double *kin, double *out, void *work,
                                 size_t *n_overflow) {
  size_t conv = (cod_conv_batch_workspace_bytes(&c->wgeom, c->ea, COD_F32) + 63) / 64 * 64;
  size_t il = cod_code_worker_input_len(c), fl = cod_code_worker_filter_len(c),
         ol = cod_code_worker_output_len(c);
  float *xf = (float *)((char *)work + conv), *kf = xf + il, *yf = kf + fl;
  size_t over = cod_half_round_f64(fmt, kin, fl, kf) + cod_half_round_f64(fmt, xin, il, xf);
  if (n_overflow) *n_overflow = over;
  if (over) {
    for (size_t i = 0; i < ol; i++) out[i] = NAN;
    return COD_ENUMERIC;
  }
  cod_conv2d_batch_f32(&c->wgeom, c->ea, xf, kf, yf, work);
  for (size_t i = 0; i < ol; i++) out[i] = yf[i];
  return COD_OK;
}

int cod_select_first_delta(const cod_code *c, const size_t *avail, size_t n_avail,
                           size_t *sel, size_t *n_sel) {
  (void)avail;
  if (n_avail < c->delta) return COD_EUNDECODABLE;
  for (size_t i = 0; i < c->delta; i++) sel[i] = i;
  *n_sel = c->delta;
  return COD_OK;
}

/* The recovery matrix of the selected workers: row (worker i, c, d), column (r, r'),
 * entry A_j[c][r] * B_j[d][r']. */
static double *recovery_matrix(const cod_code *c, const size_t *ids, size_t n_sel,
                               size_t *rows_out, size_t *cols_out) {
  size_t per = c->ea * c->eb, rows = n_sel * per, cols = c->m_in * c->m_filt;
  double *m = cod_malloc_array(rows * cols, sizeof *m);
  if (!m) return NULL;
  for (size_t i = 0; i < n_sel; i++) {
    const double *A = c->A + ids[i] * c->ea * c->m_in;
    const double *B = c->B + ids[i] * c->eb * c->m_filt;
    for (size_t a = 0; a < c->ea; a++)
      for (size_t b = 0; b < c->eb; b++) {
        double *row = m + (i * per + a * c->eb + b) * cols;
        for (size_t r = 0; r < c->m_in; r++)
          for (size_t s = 0; s < c->m_filt; s++)
            row[r * c->m_filt + s] = A[a * c->m_in + r] * B[b * c->m_filt + s];
      }
  }
  *rows_out = rows;
  *cols_out = cols;
  return m;
}

static int decode_generic(const cod_code *c, const size_t *ids, size_t n_sel,
                          const double *const *results, double *y, double *cond,
                          cod_err *err) {
  /* recovery_matrix sets rows and cols only on success; 0 keeps the sizes below defined */
  size_t rows = 0, cols = 0, L = c->part.out_block_len, per = c->ea * c->eb;
  double *m = recovery_matrix(c, ids, n_sel, &rows, &cols);
  double *pinv = cod_malloc_array(rows * cols, sizeof *pinv);
  double *z = cod_malloc_array(rows * L, sizeof *z);
  double *blocks = cod_malloc_array(cols * L, sizeof *blocks);
  int rc = COD_OK;
  if (!m || !pinv || !z || !blocks) {
    rc = cod_err_set(err, COD_ENOMEM, "out of memory in the generic decoder");
    goto done;
  }
  rc = cod_la_pinv(m, rows, cols, c->prm.rank_rtol, pinv, cond, err);
  if (rc) goto done;
  for (size_t i = 0; i < n_sel; i++) memcpy(z + i * per * L, results[i], per * L * sizeof *z);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)cols, (int)L, (int)rows, 1.0,
              pinv, (int)rows, z, (int)L, 0.0, blocks, (int)L);
  cod_partition_stitch(&c->part, blocks, y);
done:
  cod_free(m);
  cod_free(pinv);
  cod_free(z);
  cod_free(blocks);
  return rc;
}

static int select_workers(const cod_code *c, const size_t *avail, size_t n_avail,
                          size_t *sel, size_t *n_sel, cod_err *err) {
  for (size_t i = 0; i < n_avail; i++) {
    if (avail[i] >= c->n)
      return cod_err_set(err, COD_EINVAL, "worker id %zu out of range (n = %zu)", avail[i], c->n);
    for (size_t j = 0; j < i; j++)
      if (avail[j] == avail[i])
        return cod_err_set(err, COD_EINVAL, "worker %zu listed twice", avail[i]);
  }
  if (c->ops->select(c, avail, n_avail, sel, n_sel) != COD_OK)
    return cod_err_set(err, COD_EUNDECODABLE,
                       "undecodable: %zu usable results, %s needs %zu", n_avail,
                       c->def->info.name, c->delta);
  return COD_OK;
}

size_t cod_code_decode_workspace_bytes(const cod_code *c) {
  return c->ops->decode_work_bytes ? c->ops->decode_work_bytes(c) : 0;
}

int cod_code_decode(const cod_code *c, const size_t *avail, size_t n_avail,
                    const double *const *results, cod_decode_method method, double *y,
                    cod_decode_info *info, cod_err *err) {
  return cod_code_decode_work(c, avail, n_avail, results, method, y, info, NULL, err);
}

int cod_code_decode_work(const cod_code *c, const size_t *avail, size_t n_avail,
                         const double *const *results, cod_decode_method method, double *y,
                         cod_decode_info *info, void *work, cod_err *err) {
  size_t sel[COD_WORKERS_MAX], ids[COD_WORKERS_MAX], n_sel = 0;
  const double *res[COD_WORKERS_MAX];
  int rc = select_workers(c, avail, n_avail, sel, &n_sel, err);
  if (rc) return rc;
  for (size_t i = 0; i < n_sel; i++) {
    ids[i] = avail[sel[i]];
    res[i] = results[sel[i]];
  }
  double cond = NAN;
  if (method == COD_DECODE_FAST && !c->ops->decode_fast)
    return cod_err_set(err, COD_EINVAL,
                       "%s has no fast decoder: ask for the generic decoder (or auto, which "
                       "uses the generic one for this scheme)", c->def->info.name);
  /* an approximate code has one decoder: its own (the generic inverse is not its decode) */
  int fast = (method != COD_DECODE_GENERIC || c->ops->approximate) && c->ops->decode_fast;
  /* the fast path's condition number is a diagnostic: computed only when asked for */
  rc = fast ? c->ops->decode_fast(c, ids, n_sel, res, y, info ? &cond : NULL, work, err)
            : decode_generic(c, ids, n_sel, res, y, &cond, err);
  if ((rc == COD_OK || rc == COD_ENUMERIC) && info) {
    info->n_used = n_sel;
    memcpy(info->used, ids, n_sel * sizeof *ids);
    info->cond = cond;
    info->method = fast ? COD_DECODE_FAST : COD_DECODE_GENERIC;
  }
  return rc;
}

int cod_code_select(const cod_code *c, const size_t *avail, size_t n_avail, size_t *used,
                    size_t *n_used, cod_err *err) {
  size_t sel[COD_WORKERS_MAX], n_sel = 0;
  int rc = select_workers(c, avail, n_avail, sel, &n_sel, err);
  if (rc) return rc;
  for (size_t i = 0; i < n_sel; i++) used[i] = avail[sel[i]];
  *n_used = n_sel;
  return COD_OK;
}

int cod_code_has_fast_decoder(const cod_code *c) { return c->ops->decode_fast != NULL; }

int cod_code_decodable(const cod_code *c, const size_t *avail, size_t n_avail) {
  size_t sel[COD_WORKERS_MAX], n_sel = 0;
  assert(n_avail <= c->n); /* valid, distinct ids: at most n of them */
  return c->ops->select(c, avail, n_avail, sel, &n_sel) == COD_OK;
}

double cod_code_encode_flops(const cod_code *c) {
  return cod_encode_product_flops(c->n * c->ea, c->m_in, c->opA.nnz,
                                  (double)c->part.in_piece_len) +
         cod_encode_product_flops(c->n * c->eb, c->m_filt, c->opB.nnz,
                                  (double)c->part.filt_piece_len);
}

double cod_code_decode_flops(const cod_code *c) {
  if (c->ops->decode_flops) return c->ops->decode_flops(c);
  return 2.0 * (double)(c->m_in * c->m_filt) * (double)(c->delta * c->ea * c->eb) *
         (double)c->part.out_block_len;
}

static int cond_of_ids(const cod_code *c, const size_t *ids, size_t n_sel, double *cond,
                       cod_err *err) {
  if (c->ops->cond_fast) return c->ops->cond_fast(c, ids, n_sel, cond, err);
  size_t rows, cols;
  double *m = recovery_matrix(c, ids, n_sel, &rows, &cols);
  if (!m) return cod_err_set(err, COD_ENOMEM, "out of memory forming a recovery matrix");
  int rc = cod_la_cond_real(m, rows, cols, cond);
  cod_free(m);
  if (rc) return cod_err_set(err, rc, "out of memory in the condition-number SVD");
  return COD_OK;
}

int cod_code_cond(const cod_code *c, const size_t *avail, size_t n_avail, double *cond,
                  cod_err *err) {
  size_t ids[COD_WORKERS_MAX], n_sel = 0;
  int rc = cod_code_select(c, avail, n_avail, ids, &n_sel, err);
  return rc ? rc : cond_of_ids(c, ids, n_sel, cond, err);
}

int cod_code_cond_key(const cod_code *c, const size_t *avail, size_t n_avail, size_t *key,
                      size_t *n_key, cod_err *err) {
  size_t ids[COD_WORKERS_MAX], n_sel = 0;
  int rc = cod_code_select(c, avail, n_avail, ids, &n_sel, err);
  if (rc) return rc;
  /* the one scheme whose cond hook canonicalises the set itself (cod_cond_rot.c) */
  if (c->ops->cond_fast == cod_rot_cond) {
    if ((rc = cod_rot_cond_key(c, ids, n_sel, key, err))) return rc;
  } else {
    memcpy(key, ids, n_sel * sizeof *key);
    for (size_t i = 1; i < n_sel; i++) { /* insertion sort: sets are short or sorted */
      size_t x = key[i], j = i;
      for (; j > 0 && key[j - 1] > x; j--) key[j] = key[j - 1];
      key[j] = x;
    }
  }
  *n_key = n_sel;
  return COD_OK;
}

static double binomial(size_t n, size_t k) {
  double r = 1;
  for (size_t i = 1; i <= k; i++) r = r * (double)(n - k + i) / (double)i;
  return r;
}

cod_cond_search_opts cod_cond_search_opts_default(void) {
  cod_cond_search_opts o;
  memset(&o, 0, sizeof o);
  o.budget_s = 3.0;
  o.max_exhaustive = INFINITY;
  o.samples = 2000;
  o.seed = 1;
  return o;
}

void cod_cond_search_result_fini(cod_cond_search_result *r) {
  if (!r) return;
  cod_free(r->worst_set);
  r->worst_set = NULL;
  r->n_worst_set = 0;
}

/* Running state of one search. */
typedef struct search_acc {
  double worst, sum;
  size_t n;
  size_t *worst_set;
} search_acc;

static void acc_reset(search_acc *a) { a->worst = NAN, a->sum = 0, a->n = 0; }

static int acc_add(const cod_code *c, const size_t *set, search_acc *a, cod_err *err) {
  double k;
  int rc = cod_code_cond(c, set, c->delta, &k, err);
  if (rc == COD_EUNDECODABLE) k = INFINITY, rc = COD_OK; /* e.g. replication missing a block */
  if (rc) return rc;
  if (a->n == 0 || k > a->worst || (isnan(a->worst) && !isnan(k))) {
    a->worst = k;
    memcpy(a->worst_set, set, c->delta * sizeof *set);
  }
  a->sum += k;
  a->n++;
  return COD_OK;
}

/* Spent thread CPU exceeds the budget, or the projection of `done` sets at the measured
 * rate to `planned` sets does. */
static int over_budget(double budget_s, double spent_s, size_t done, double planned) {
  if (isinf(budget_s)) return 0;
  return spent_s / (double)done * planned > budget_s;
}

/* Every C(n, d) set in lexicographic order; *dropped = 1 if the budget overtook it. */
static int search_exhaustive(const cod_code *c, const cod_cond_search_opts *o, double total,
                             search_acc *a, int *dropped, cod_err *err) {
  size_t n = c->n, d = c->delta;
  size_t *set = cod_malloc_array(d ? d : 1, sizeof *set);
  if (!set) return cod_err_set(err, COD_ENOMEM, "out of memory for a worker set");
  double t0 = cod_clock_thread_cpu_s();
  int rc = COD_OK;
  *dropped = 0;
  for (size_t i = 0; i < d; i++) set[i] = i;
  for (;;) {
    if ((rc = acc_add(c, set, a, err))) break;
    if (o->progress) o->progress(o->progress_ctx, a->n, total, 1);
    if (over_budget(o->budget_s, cod_clock_thread_cpu_s() - t0, a->n, total)) {
      *dropped = 1;
      break;
    }
    size_t i = d;
    while (i > 0 && set[i - 1] == n - d + i - 1) i--;
    if (i == 0) break;
    set[i - 1]++;
    for (size_t j = i; j < d; j++) set[j] = set[j - 1] + 1;
  }
  cod_free(set);
  return rc;
}

/* o->samples uniform sets from MT19937(seed); stops early when the budget is spent. */
static int search_sampled(const cod_code *c, const cod_cond_search_opts *o, search_acc *a,
                          int *cut, cod_err *err) {
  size_t n = c->n, d = c->delta;
  size_t *perm = cod_malloc_array(n, sizeof *perm);
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  int rc = COD_OK;
  *cut = 0;
  if (!perm || !r) {
    rc = cod_err_set(err, COD_ENOMEM, "out of memory for the sampling generator");
    goto done;
  }
  gsl_rng_set(r, o->seed);
  double t0 = cod_clock_thread_cpu_s();
  for (size_t s = 0; s < o->samples; s++) {
    for (size_t i = 0; i < n; i++) perm[i] = i;
    for (size_t i = 0; i < d; i++) { /* partial Fisher-Yates */
      size_t j = i + gsl_rng_uniform_int(r, n - i), t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    if ((rc = acc_add(c, perm, a, err))) break;
    if (o->progress) o->progress(o->progress_ctx, a->n, (double)o->samples, 0);
    if (s + 1 < o->samples && !isinf(o->budget_s) &&
        cod_clock_thread_cpu_s() - t0 > o->budget_s) {
      *cut = 1;
      break;
    }
  }
done:
  gsl_rng_free(r);
  cod_free(perm);
  return rc;
}

int cod_code_cond_search(const cod_code *c, const cod_cond_search_opts *opts,
                         cod_cond_search_result *res, cod_err *err) {
  cod_cond_search_opts o = opts ? *opts : cod_cond_search_opts_default();
  size_t d = c->delta;
  if (d > c->n) return cod_err_set(err, COD_EUNDECODABLE, "threshold exceeds the workers");
  if (o.samples == 0)
    return cod_err_set(err, COD_EINVAL, "condition-number search: samples must be >= 1");
  if (!(o.budget_s > 0))
    return cod_err_set(err, COD_EINVAL, "condition-number search: budget_s must be > 0 (got %g)",
                       o.budget_s);
  search_acc a = {0};
  a.worst_set = cod_malloc_array(d ? d : 1, sizeof *a.worst_set);
  if (!a.worst_set) return cod_err_set(err, COD_ENOMEM, "out of memory for a worker set");
  acc_reset(&a);
  double total = binomial(c->n, d);
  int rc = COD_OK, exhaustive = 0, cut = 0;
  if (total <= o.max_exhaustive) {
    rc = search_exhaustive(c, &o, total, &a, &cut, err);
    if (!rc && (double)a.n == total) exhaustive = 1, cut = 0;
  }
  if (!rc && !exhaustive) {
    acc_reset(&a); /* a sampled result depends on the seed only, not on a dropped pass */
    int cut2 = 0;
    rc = search_sampled(c, &o, &a, &cut2, err);
    cut |= cut2;
  }
  if (rc) {
    cod_free(a.worst_set);
    return rc;
  }
  res->worst = a.worst;
  res->mean = a.n ? a.sum / (double)a.n : NAN;
  res->worst_set = a.worst_set;
  res->n_worst_set = d;
  res->sets_tried = a.n;
  res->sets_total = total;
  res->exhaustive = exhaustive;
  res->budget_hit = cut;
  res->seed = o.seed;
  return COD_OK;
}

void cod_noise_add(double *buf, size_t len, double snr_db, gsl_rng *rng) {
  if (!len || isinf(snr_db)) return;
  double ms = 0;
  for (size_t i = 0; i < len; i++) ms += buf[i] * buf[i];
  ms /= (double)len;
  double sigma = sqrt(ms / pow(10.0, snr_db / 10.0));
  for (size_t i = 0; i < len; i++) buf[i] += gsl_ran_gaussian_ziggurat(rng, sigma);
}
