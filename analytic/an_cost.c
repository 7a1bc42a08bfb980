/* an_cost.c: per-worker bytes and flops of a coded layer, and the k_A/k_B trade-off.
 *
 * Design. The scheme table below gives, for each scheme, the four integers that decide
 * every cost: m_in data slabs, m_filt filter groups, e_A coded slabs and e_B coded groups
 * per worker (NSCTC-MATH.md sections 3-5):
 *   nsctc-rot    m_in = 2k_A, m_filt = 2k_B, e_A = e_B = 2 (2x2 rotation blocks)
 *   nsctc-cir    one-sided, q prime >= n: coding the input (k_B = 1) m_in = k(q-1), e_A = q,
 *                m_filt = e_B = 1; coding the filters (k_B > 1) the mirror image
 *   poly-*, uncoded, replication: m_in = k_A, m_filt = k_B, e_A = e_B = 1
 * The APCP/KCCP partition then fixes the slab and group shapes (an_model.h), from which
 * upload, storage, download and flops follow. Costs are exact integers held in doubles
 * (all below 2^53 for any layer that fits in memory). The closed form of section 6 is
 * kept apart from the exact costs and only ever reported beside them.
 */
#include "an_model.h"

#include <math.h>
#include <string.h>

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

static int is_prime(size_t v) {
  if (v < 2) return 0;
  for (size_t d = 2; d * d <= v; d++)
    if (v % d == 0) return 0;
  return 1;
}

enum scheme_id { S_ROT, S_CIR, S_UNCODED, S_REPL, S_POLY_REAL, S_POLY_CHEB, S_NONE };

static int scheme_of(const char *name) {
  static const char *const names[] = {"nsctc-rot", "nsctc-cir", "uncoded",
                                      "replication", "poly-real", "poly-cheb"};
  for (int i = 0; name && i < S_NONE; i++)
    if (strcmp(name, names[i]) == 0) return i;
  return S_NONE;
}

static int geom_ok(const cod_conv_geom *g) {
  if (!g->c || !g->h || !g->w || !g->n_filters || !g->kh || !g->kw || !g->stride) return 0;
  return g->kh <= g->h + 2 * g->pad && g->kw <= g->w + 2 * g->pad;
}

/* The scheme's structure, with the feasibility rules of its planner. */
static int plan(int s, const an_code_params *p, an_costs *c, cod_err *err) {
  size_t n = p->n_workers, ka = p->ka, kb = p->kb, d = ka * kb;
  c->delta = d;
  c->q = 0;
  switch (s) {
  case S_ROT:
    if (d > n) break;
    c->q = p->q ? p->q : n;
    if (c->q < n)
      return cod_err_set(err, COD_EINVAL, "nsctc-rot: q = %zu must be >= n = %zu", c->q, n);
    c->m_in = 2 * ka, c->m_filt = 2 * kb, c->ea = c->eb = 2;
    return COD_OK;
  case S_CIR: {
    if (ka > 1 && kb > 1)
      return cod_err_set(err, COD_EINVAL, "nsctc-cir is one-sided: k_A = 1 or k_B = 1; got "
                         "k_A = %zu, k_B = %zu", ka, kb);
    if (d > n) break;
    size_t q = p->q;
    if (!q)
      for (q = n < 2 ? 2 : n; !is_prime(q); q++) {
      }
    if (!is_prime(q) || q < n)
      return cod_err_set(err, COD_EINVAL, "nsctc-cir: q = %zu must be a prime >= n = %zu", q, n);
    int filters = kb > 1;
    c->q = q;
    c->m_in = filters ? 1 : d * (q - 1), c->m_filt = filters ? d * (q - 1) : 1;
    c->ea = filters ? 1 : q, c->eb = filters ? q : 1;
    return COD_OK;
  }
  case S_UNCODED:
    if (d != n)
      return cod_err_set(err, COD_EINVAL, "uncoded needs k_A*k_B = n; got %zu*%zu != %zu", ka,
                         kb, n);
    c->m_in = ka, c->m_filt = kb, c->ea = c->eb = 1;
    return COD_OK;
  case S_REPL:
    if (d > n || n % d)
      return cod_err_set(err, COD_EINVAL, "replication: n = %zu must be a multiple of "
                         "k_A*k_B = %zu", n, d);
    c->m_in = ka, c->m_filt = kb, c->ea = c->eb = 1;
    return COD_OK;
  default: /* the polynomial codes */
    if (d > n) break;
    c->m_in = ka, c->m_filt = kb, c->ea = c->eb = 1;
    return COD_OK;
  }
  return cod_err_set(err, COD_EINVAL, "%s: k_A*k_B = %zu exceeds the %zu workers", p->scheme,
                     d, n);
}

int an_costs_compute(const cod_conv_geom *g, const an_code_params *p, an_costs *out,
                     cod_err *err) {
  int s = scheme_of(p->scheme);
  if (s == S_NONE)
    return cod_err_set(err, COD_EINVAL, "unknown scheme '%s' (known: nsctc-rot, nsctc-cir, "
                       "uncoded, replication, poly-real, poly-cheb)", p->scheme ? p->scheme : "");
  if (p->n_workers < 1 || p->ka < 1 || p->kb < 1)
    return cod_err_set(err, COD_EINVAL, "workers, k_A and k_B must all be >= 1");
  if (p->n_workers > AN_WORKERS_MAX)
    return cod_err_set(err, COD_EINVAL, "at most %d workers are supported (got %zu)",
                       AN_WORKERS_MAX, p->n_workers);
  if (p->elsize != 4 && p->elsize != 8)
    return cod_err_set(err, COD_EINVAL, "element size must be 4 or 8 bytes (got %zu)", p->elsize);
  if (!geom_ok(g)) return cod_err_set(err, COD_EINVAL, "invalid layer geometry");
  an_costs c;
  memset(&c, 0, sizeof c);
  int rc = plan(s, p, &c, err);
  if (rc) return rc;
  if (c.delta > AN_WORKERS_MAX)
    return cod_err_set(err, COD_EINVAL, "recovery threshold %zu exceeds 255", c.delta);
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
  const double n = (double)p->n_workers;
  c.encode_flops = 2.0 * n * ((double)(c.ea * c.m_in) * (double)slab +
                              (double)(c.eb * c.m_filt) * (double)group);
  switch (s) {
  case S_ROT: /* two real GEMMs of (2 delta)^2 by the block length */
    c.decode_flops = 2.0 * 2.0 * 4.0 * (double)c.delta * (double)c.delta * (double)block;
    break;
  case S_CIR: { /* the FFT decoder: cod_cir_decode_flops (coding/cod_cir_fft.c) */
    const double k = (double)c.delta, q = (double)c.q;
    const int filters = c.m_in == 1 && c.ea == 1;
    const size_t nreal = filters ? ceil_div(g->n_filters, c.filt_per_group)
                                 : ceil_div(out_axis, c.out_per_slab);
    size_t ng = ceil_div(nreal, c.q - 1);
    if (ng > c.delta) ng = c.delta;
    c.decode_flops = 2.5 * q * log2(q) * (k + (double)ng) * (double)block +
                     (double)(c.q / 2) * 2.0 * (2.0 * (double)ng) * (2.0 * k) * (double)block;
    break;
  }
  case S_UNCODED:
  case S_REPL:
    c.decode_flops = 0.0; /* copies */
    break;
  default: /* the generic decoder: unknowns x observations x block */
    c.decode_flops = 2.0 * (double)(c.m_in * c.m_filt) * (double)(c.delta * c.ea * c.eb) *
                     (double)block;
  }
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
