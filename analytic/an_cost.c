/* an_cost.c: per-worker bytes and flops of a coded layer, and the k_A/k_B trade-off.
 *
 * Design. Which (n, k_A, k_B, q) a scheme accepts is coding/'s answer (cod_scheme_check,
 * the registry's dry run of the planner), so the analytic model refuses exactly what the
 * simulator refuses, with the same message. What each accepted code COSTS is re-derived
 * here, independently of the planner, in ONE table `schemes` keyed by the registry name:
 * for each scheme the four integers that decide every cost, m_in data slabs, m_filt
 * filter groups, e_A coded slabs and e_B coded groups per worker (NSCTC-MATH.md sections
 * 3-5), its encoding matrices' non-zeros (which decide, by coding/'s one rule
 * cod_encode_product_flops, whether encoding is a GEMM or a sparse product), its decoder's
 * product and the order statistic its master waits for:
 *   nsctc-rot    m_in = 2k_A, m_filt = 2k_B, e_A = e_B = 2 (2x2 rotation blocks)
 *   nsctc-cir    one-sided, q prime >= n: coding the input (k_B = 1) m_in = k(q-1), e_A = q,
 *                m_filt = e_B = 1; coding the filters (k_B > 1) the mirror image
 *   poly-*, rkr, uncoded, replication: m_in = k_A, m_filt = k_B, e_A = e_B = 1
 * A registered scheme without a row has no analytic model: an_costs_compute says so and
 * the runner leaves its an_* columns NULL, by design rather than by a missed case.
 * The APCP/KCCP partition then fixes the slab and group shapes (an_model.h), from which
 * upload, storage, download and flops follow. Costs are exact integers held in doubles
 * (all below 2^53 for any layer that fits in memory). The closed form of section 6 is
 * kept apart from the exact costs and only ever reported beside them.
 */
#include "an_model.h"

#include <math.h>
#include <string.h>

#include "cod_registry.h"

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

static int is_prime(size_t v) {
  if (v < 2) return 0;
  for (size_t d = 2; d * d <= v; d++)
    if (v % d == 0) return 0;
  return 1;
}

static int geom_ok(const cod_conv_geom *g) {
  if (!g->c || !g->h || !g->w || !g->n_filters || !g->kh || !g->kw || !g->stride) return 0;
  return g->kh <= g->h + 2 * g->pad && g->kw <= g->w + 2 * g->pad;
}

/* ---- the table: each scheme's structure and decoder cost ------------------------------ */

static void shape_rot(const an_code_params *p, an_costs *c) {
  c->q = p->q ? p->q : p->n_workers;
  c->m_in = 2 * p->ka, c->m_filt = 2 * p->kb, c->ea = c->eb = 2;
}

static void shape_cir(const an_code_params *p, an_costs *c) {
  size_t q = p->q;
  if (!q)
    for (q = p->n_workers < 2 ? 2 : p->n_workers; !is_prime(q); q++) {
    }
  const int filters = p->kb > 1;
  c->q = q;
  c->m_in = filters ? 1 : c->delta * (q - 1), c->m_filt = filters ? c->delta * (q - 1) : 1;
  c->ea = filters ? 1 : q, c->eb = filters ? q : 1;
}

/* one coded (or plain) slab and group per worker */
static void shape_single(const an_code_params *p, an_costs *c) {
  c->q = 0;
  c->m_in = p->ka, c->m_filt = p->kb, c->ea = c->eb = 1;
}

/* The decoder's product per scheme; g and out_axis (H' rows, or W' for the columns axis)
 * for the decoders whose count depends on the layer (nsctc-cir's FFT decoder). */
#define DECODE_ARGS const an_costs *c, const cod_conv_geom *g, size_t out_axis, double block

/* six real products of delta x delta by the block length: two complex ones by Gauss's
 * product (rot_decode_flops, coding/cod_schemes.c) */
static double decode_rot(DECODE_ARGS) {
  (void)g, (void)out_axis;
  return 6.0 * 2.0 * (double)c->delta * (double)c->delta * block;
}

static double decode_copies(DECODE_ARGS) {
  (void)c, (void)g, (void)out_axis, (void)block;
  return 0.0;
}

/* the generic decoder: unknowns x observations x block */
static double decode_generic(DECODE_ARGS) {
  (void)g, (void)out_axis;
  return 2.0 * (double)(c->m_in * c->m_filt) * (double)(c->delta * c->ea * c->eb) * block;
}

/* nsctc-cir codes the filters (k_A = 1) when its input side is the single plain slab */
static int cir_codes_filters(const an_costs *c) { return c->m_in == 1 && c->ea == 1; }

/* the structured decoder: cod_cir_decode_flops (coding/cod_cir_fft.c), re-derived */
static double decode_cir(DECODE_ARGS) {
  const double k = (double)c->delta, q = (double)c->q;
  const int filters = cir_codes_filters(c);
  const size_t nreal = filters ? ceil_div(g->n_filters, c->filt_per_group)
                               : ceil_div(out_axis, c->out_per_slab);
  size_t ng = ceil_div(nreal, c->q - 1);
  if (ng > c->delta) ng = c->delta;
  const double gn = (double)ng, rows = 2.0 * (double)(c->q / 2);
  /* odd q: the systems have only the ng real groups as unknowns when the filters are coded
   * (KCCP's zero filters), all k otherwise; the DFTs as matrices: the cos/sin halves
   * (q(q-1) flops per sequence) on u (worker, bin) pairs per bin and on the ng groups;
   * q = 2: the full matrices on all k workers */
  if (c->q % 2) {
    const double u = filters ? gn : k;
    return q * (q - 1) * (u + gn) * block +
           (double)(c->q / 2) * 2.0 * (2.0 * gn) * (2.0 * u) * block;
  }
  const double tr = 2.0 * rows * q * k + 2.0 * (q - 1) * rows * gn;
  return tr * block + (double)(c->q / 2) * 2.0 * (2.0 * gn) * (2.0 * k) * block;
}

/* The non-zeros of A (n e_A x m_in) and B (n e_B x m_filt), which decide with
 * cod_encode_product_flops (coding/'s one rule) what encoding costs. */
#define NNZ_ARGS const an_code_params *p, const an_costs *c, size_t *nnz_a, size_t *nnz_b

/* counted as full: the rule keeps these codes on the GEMM (at least half non-zero) */
static void nnz_dense(NNZ_ARGS) {
  *nnz_a = p->n_workers * c->ea * c->m_in, *nnz_b = p->n_workers * c->eb * c->m_filt;
}

/* one 1 a row: worker j holds slab p / k_B and group p % k_B */
static void nnz_blocks(NNZ_ARGS) {
  (void)c;
  *nnz_a = *nnz_b = p->n_workers;
}

/* the coded side: for each worker and group, q - 1 rows take one data piece and one row
 * minus all q - 1 (NSCTC-MATH.md section 4): 2 k (q - 1) a worker; the other side is the
 * n x 1 column of ones */
static void nnz_cir(NNZ_ARGS) {
  const size_t n = p->n_workers, coded = n * 2 * c->delta * (c->q - 1);
  const int filters = cir_codes_filters(c);
  *nnz_a = filters ? n : coded, *nnz_b = filters ? coded : n;
}

typedef struct an_scheme {
  const char *name; /* a coding/ registry name */
  void (*shape)(const an_code_params *p, an_costs *c);       /* m_in, m_filt, ea, eb, q */
  void (*nnz)(NNZ_ARGS);               /* the encoding matrices' non-zeros */
  double (*decode_flops)(DECODE_ARGS); /* the master's product, flops */
  an_wait wait;     /* the compute order statistic the master waits for */
} an_scheme;

static const an_scheme schemes[] = {
    {"nsctc-rot", shape_rot, nnz_dense, decode_rot, AN_WAIT_DELTA_OF_N},
    {"nsctc-cir", shape_cir, nnz_cir, decode_cir, AN_WAIT_DELTA_OF_N},
    {"uncoded", shape_single, nnz_blocks, decode_copies, AN_WAIT_ALL},
    {"replication", shape_single, nnz_blocks, decode_copies, AN_WAIT_COPIES},
    {"poly-real", shape_single, nnz_dense, decode_generic, AN_WAIT_DELTA_OF_N},
    {"poly-cheb", shape_single, nnz_dense, decode_generic, AN_WAIT_DELTA_OF_N},
    {"rkr", shape_single, nnz_dense, decode_generic, AN_WAIT_DELTA_OF_N},
};

int an_scheme_has_formulas(const char *name) {
  for (size_t i = 0; name && i < sizeof schemes / sizeof *schemes; i++)
    if (strcmp(name, schemes[i].name) == 0) return 1;
  return 0;
}

static const an_scheme *scheme_row(const char *name) {
  for (size_t i = 0; i < sizeof schemes / sizeof *schemes; i++)
    if (strcmp(name, schemes[i].name) == 0) return &schemes[i];
  return NULL;
}

int an_costs_compute(const cod_conv_geom *g, const an_code_params *p, an_costs *out,
                     cod_err *err) {
  cod_code_params cp = cod_code_params_default();
  cp.scheme = p->scheme, cp.n_workers = p->n_workers, cp.ka = p->ka, cp.kb = p->kb;
  cp.q = p->q, cp.axis = p->axis;
  int rc = cod_scheme_check(&cp, err); /* feasibility: the planner's own rules */
  if (rc) return rc;
  if (p->elsize != 4 && p->elsize != 8)
    return cod_err_set(err, COD_EINVAL, "element size must be 4 or 8 bytes (got %zu)", p->elsize);
  if (!geom_ok(g)) return cod_err_set(err, COD_EINVAL, "invalid layer geometry");
  const an_scheme *s = scheme_row(p->scheme);
  if (!s)
    return cod_err_set(err, COD_EINVAL, "scheme %s has no analytic cost formulas "
                       "(analytic/an_cost.c)", p->scheme);
  an_costs c;
  memset(&c, 0, sizeof c);
  c.delta = p->ka * p->kb;
  c.wait = s->wait;
  s->shape(p, &c);
  /* APCP along the chosen axis, KCCP over the output channels */
  const int rows = p->axis == COD_AXIS_ROWS;
  const size_t s_ = g->stride, hp = g->h + 2 * g->pad, wp = g->w + 2 * g->pad;
  const size_t oh = (hp - g->kh) / s_ + 1, ow = (wp - g->kw) / s_ + 1;
  const size_t out_axis = rows ? oh : ow, out_other = rows ? ow : oh;
  c.out_per_slab = ceil_div(out_axis, c.m_in);
  c.filt_per_group = ceil_div(g->n_filters, c.m_filt);
  const size_t span = (c.out_per_slab - 1) * s_ + (rows ? g->kh : g->kw);
  const size_t ckk = g->c * g->kh * g->kw;
  const size_t slab = g->c * span * (rows ? wp : hp);      /* one input slab */
  const size_t group = c.filt_per_group * ckk;               /* one filter group */
  const size_t block = c.filt_per_group * c.out_per_slab * out_other; /* one output block */
  const double el = (double)p->elsize;
  c.input_bytes = (double)(c.ea * slab) * el;
  c.filter_bytes = (double)(c.eb * group) * el;
  c.upload_bytes = c.input_bytes + c.filter_bytes;
  c.storage_bytes = c.upload_bytes;
  c.download_bytes = (double)(c.ea * c.eb * block) * el;
  c.worker_flops = 2.0 * (double)(c.ea * c.eb) * (double)block * (double)ckk;
  size_t nnz_a, nnz_b;
  s->nnz(p, &c, &nnz_a, &nnz_b);
  c.encode_flops = cod_encode_product_flops(p->n_workers * c.ea, c.m_in, nnz_a, (double)slab) +
                   cod_encode_product_flops(p->n_workers * c.eb, c.m_filt, nnz_b, (double)group);
  c.decode_flops = s->decode_flops(&c, g, out_axis, (double)block);
  *out = c;
  return COD_OK;
}

int an_optimum_find(const cod_conv_geom *g, const an_code_params *p, size_t delta,
                    an_optimum *out, cod_err *err) {
  if (delta < 1 || delta > p->n_workers)
    return cod_err_set(err, COD_EINVAL, "delta = %zu must be in 1..n = %zu", delta,
                       p->n_workers);
  if (!geom_ok(g)) return cod_err_set(err, COD_EINVAL, "invalid layer geometry");
  an_optimum o;
  memset(&o, 0, sizeof o);
  o.delta = delta;
  cod_err last = {0};
  for (size_t a = 1; a <= delta; a++) {
    if (delta % a) continue;
    an_code_params q = *p;
    q.ka = a, q.kb = delta / a;
    an_costs c;
    if (an_costs_compute(g, &q, &c, &last) != COD_OK) continue;
    an_pair pr = {a, delta / a, c.upload_bytes + c.storage_bytes};
    if (o.n_pairs == 0 || pr.cost_bytes < o.best.cost_bytes) o.best = pr;
    o.pairs[o.n_pairs++] = pr;
  }
  if (o.n_pairs == 0)
    return cod_err_set(err, COD_EINVAL, "no feasible (k_A, k_B) with k_A*k_B = %zu for %s on "
                       "%zu workers: %s", delta, p->scheme ? p->scheme : "", p->n_workers,
                       last.msg);
  /* section 6: upload ~ a/k_A + b/k_B reals */
  const int rows = p->axis == COD_AXIS_ROWS;
  const size_t hp = g->h + 2 * g->pad, wp = g->w + 2 * g->pad;
  const double out_axis = (double)(((rows ? hp : wp) - (rows ? g->kh : g->kw)) / g->stride + 1);
  o.a = (double)g->c * (double)(rows ? wp : hp) * out_axis * (double)g->stride;
  o.b = (double)g->n_filters * (double)(g->c * g->kh * g->kw);
  o.ka_star = sqrt((double)delta * o.a / o.b);
  /* the feasible divisors bracketing ka_star; the model cost decides between them */
  const an_pair *lo = NULL, *hi = NULL;
  for (size_t i = 0; i < o.n_pairs; i++) {
    if ((double)o.pairs[i].ka <= o.ka_star) lo = &o.pairs[i];
    if ((double)o.pairs[i].ka >= o.ka_star && !hi) hi = &o.pairs[i];
  }
  const an_pair *pick = lo ? lo : hi;
  if (lo && hi) {
    double cl = o.a / (double)lo->ka + o.b / (double)lo->kb;
    double ch = o.a / (double)hi->ka + o.b / (double)hi->kb;
    pick = ch < cl ? hi : lo;
  }
  o.rounded = *pick;
  *out = o;
  return COD_OK;
}

double an_storage_whole_model_bytes(const an_costs *c, size_t n) {
  double filters = 0, slab = 0;
  for (size_t i = 0; i < n; i++) {
    filters += c[i].filter_bytes;
    slab = c[i].input_bytes > slab ? c[i].input_bytes : slab;
  }
  return filters + slab;
}
