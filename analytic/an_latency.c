/* an_latency.c: expected layer latency and the latency-optimal recovery threshold.
 *
 * Design. The simulator's protocol for one layer (runner/run_layer.c) is a fixed chain:
 * the master encodes (encode_flops / master_flops), submits all n uploads at once to its
 * NIC, each worker computes for nominal * (a + Exp(mu)) seconds after its data arrives,
 * its result travels back over its uplink and the master's receiving NIC, and the master
 * decodes (decode_flops / master_flops) as soon as the arrived results suffice. A
 * transfer through the shared NIC and a dedicated link ends at max(NIC completion, start +
 * 8 bytes / link rate) + propagation delay.
 *
 * Under a FAIR master NIC the n equal uploads finish together, at n * 8U / master_bps,
 * so every worker starts computing at the same instant and the decodable moment is an
 * order statistic of n iid compute times (Lee et al. 2018; sim_shexp_order_stat_mean):
 *   MDS codes        the delta-th of n:  a + (H_n - H_{n-delta}) / mu
 *   uncoded          the n-th of n:      a + H_n / mu
 *   replication      max over delta blocks of the min over r = n/delta copies, i.e. the
 *                    delta-th of delta iid a + Exp(r mu):  a + H_delta / (r mu)
 * per unit of nominal time. Equal transfers under processor sharing finish in the order
 * they started, so the result that makes the set decodable is that of the critical
 * compute finisher. Its download is modelled as uncontended (the other results are spread
 * out in time by the exponential part) for the shifted-exponential law, and as sharing the
 * NIC with all n for the deterministic law (all results leave together): the latter makes
 * the model exact up to the engine's nanosecond rounding. docs/analytic.md lists the
 * approximations (download contention, FIFO NIC, heterogeneous or failing workers).
 *
 * The laws with a closed form are rows of `forms`, found by sim/'s law name. Any other
 * law of sim's registry (pareto, bimodal, lognormal, markov, fail-stop, trace, any law
 * added later), and every heterogeneous cluster, takes the numerical path: worker j's
 * completion is T_j = upload_j + X_j + download_j, X_j its class's law at its class's
 * nominal time (the runner's worker-to-class rule), and the decodable moment's
 * expectation is integrated from the laws' CDFs (an_orderstat.h). Its download is
 * modelled uncontended, as for shifted-exp; upload_s and download_s report the workers'
 * means and compute_s the rest of the expected critical time. The markov law enters with
 * its stationary mixture: a layer's workers are each in the stationary state, independent
 * of one another (exact for the marginal law of a layer; the correlation across layers
 * moves tails, not means). A closed form for a new law is one row of `forms` (and a test
 * against the simulator).
 */
#include "an_model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "an_orderstat.h"
#include "cod_alloc.h"
#include "sim_latency.h"

/* A transfer of `bytes` sharing the NIC with `sharers` equal transfers started with it. */
static double xfer_s(double bytes, double link_bps, double nic_bps, double sharers,
                     double latency_s) {
  double t = 0.0;
  if (isfinite(nic_bps)) t = 8.0 * bytes * sharers / nic_bps;
  if (isfinite(link_bps)) t = fmax(t, 8.0 * bytes / link_bps);
  return t + latency_s;
}

/* Expected k-th smallest of n iid compute times per unit of nominal time, each the
 * minimum over `copies` iid draws of the law (replication). */
typedef double (*unit_fn)(const sim_latency_params *q, size_t n, size_t k, double copies);

static double shexp_unit(const sim_latency_params *q, size_t n, size_t k, double copies) {
  /* the minimum of r iid a + Exp(mu) is a + Exp(r mu) */
  return sim_shexp_order_stat_mean(q->shift, copies * q->rate, n, k);
}
static double det_unit(const sim_latency_params *q, size_t n, size_t k, double copies) {
  return 1.0;
}

/* The closed forms by law name. download_sharers_n: 1 when the needed results leave the
 * workers together and share the master NIC with all n (deterministic), 0 when the law
 * spreads them out (the critical download is modelled uncontended). */
static const struct {
  const char *law;
  unit_fn unit;
  int download_sharers_n;
} forms[] = {
  {"shifted-exp", shexp_unit, 0},
  {"deterministic", det_unit, 1},
};

static int form_find(const char *law) {
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
    if (strcmp(law, forms[i].law) == 0) return (int)i;
  return -1;
}

int an_latency_has_law(const char *law) { return law && form_find(law) >= 0; }

/* The resources of worker j of cl (the runner's rule: classes first, in order). */
static void worker_of(const an_cluster *cl, size_t j, double *rate, double *up, double *down,
                      size_t *model) {
  size_t first = 0;
  for (size_t i = 0; i < cl->n_classes; i++) {
    if (j < first + cl->classes[i].count) {
      *rate = cl->classes[i].compute_rate_flops, *up = cl->classes[i].uplink_bps;
      *down = cl->classes[i].downlink_bps, *model = i + 1;
      return;
    }
    first += cl->classes[i].count;
  }
  *rate = cl->compute_rate_flops, *up = cl->uplink_bps, *down = cl->downlink_bps, *model = 0;
}

/* The numerical path: see the file comment. L has encode_s and decode_s set. */
static int numeric_latency(const an_costs *c, const an_code_params *p, const an_cluster *cl,
                           an_latency *L, cod_err *err) {
  const size_t n = p->n_workers, d = c->delta;
  sim_latency *models[AN_CLASSES_MAX + 1] = {NULL};
  an_orderstat_worker *w = cod_calloc(n, sizeof *w);
  int rc = w ? COD_OK : cod_err_set(err, COD_ENOMEM, "out of memory (%zu workers)", n);
  for (size_t i = 0; rc == COD_OK && i <= cl->n_classes; i++)
    rc = sim_latency_new_from_params(i ? &cl->classes[i - 1].lat : &cl->lat, &models[i], err);
  double up_sum = 0.0, down_sum = 0.0, t = 0.0;
  for (size_t j = 0; rc == COD_OK && j < n; j++) {
    double rate, upl, downl;
    size_t m;
    worker_of(cl, j, &rate, &upl, &downl, &m);
    double up = xfer_s(c->upload_bytes, downl, cl->master_bps, (double)n, cl->latency_s);
    double down = xfer_s(c->download_bytes, upl, cl->master_bps, 1.0, cl->latency_s);
    w[j] = (an_orderstat_worker){models[m], j, c->worker_flops / rate, up + down};
    up_sum += up, down_sum += down;
  }
  if (rc == COD_OK) {
    an_orderstat_tol tol = an_orderstat_tol_default();
    rc = an_orderstat_mean(w, n, c->wait, c->wait == AN_WAIT_ALL ? n : d, &tol, &t, err);
  }
  if (rc == COD_OK) {
    L->wait_for = c->wait == AN_WAIT_ALL ? n : d;
    L->upload_s = up_sum / (double)n, L->download_s = down_sum / (double)n;
    L->compute_s = t - L->upload_s - L->download_s;
    L->total_s = L->encode_s + t + L->decode_s;
  }
  for (size_t i = 0; i <= AN_CLASSES_MAX; i++) sim_latency_free(models[i]);
  cod_free(w);
  return rc;
}

/* The cluster's rates, delay, classes and laws are usable. */
static int check_cluster(const an_cluster *cl, size_t n, cod_err *err) {
  if (!(cl->compute_rate_flops > 0) || !(cl->master_flops > 0) || !(cl->uplink_bps > 0) ||
      !(cl->downlink_bps > 0) || !(cl->master_bps > 0))
    return cod_err_set(err, COD_EINVAL, "rates and bandwidths must be > 0");
  if (!(cl->latency_s >= 0) || !isfinite(cl->latency_s))
    return cod_err_set(err, COD_EINVAL, "propagation delay must be a finite value >= 0");
  int rc = sim_latency_params_check(&cl->lat, err);
  if (rc != COD_OK) return rc;
  if (cl->n_classes > AN_CLASSES_MAX)
    return cod_err_set(err, COD_EINVAL, "%zu worker classes: at most %d", cl->n_classes,
                       AN_CLASSES_MAX);
  size_t covered = 0;
  for (size_t i = 0; i < cl->n_classes; i++) {
    const an_class *k = &cl->classes[i];
    if (k->count < 1 || !(k->compute_rate_flops > 0) || !(k->uplink_bps > 0) ||
        !(k->downlink_bps > 0))
      return cod_err_set(err, COD_EINVAL, "worker class %zu: count >= 1 and rates > 0 "
                         "required", i);
    if ((rc = sim_latency_params_check(&k->lat, err)) != COD_OK) return rc;
    covered += k->count;
  }
  if (covered > n)
    return cod_err_set(err, COD_EINVAL, "worker classes cover %zu workers, the code has %zu",
                       covered, n);
  return COD_OK;
}

int an_latency_expected(const an_costs *c, const an_code_params *p, const an_cluster *cl,
                        an_latency *out, cod_err *err) {
  const size_t n = p->n_workers, d = c->delta;
  int rc = check_cluster(cl, n, err);
  if (rc != COD_OK) return rc;
  if (d < 1 || d > n) return cod_err_set(err, COD_EINVAL, "threshold %zu not in 1..n", d);
  const int f = cl->n_classes ? -1 : form_find(sim_latency_law_name(cl->lat.kind));
  if (f < 0) {
    an_latency L;
    memset(&L, 0, sizeof L);
    L.encode_s = c->encode_flops / cl->master_flops;
    L.decode_s = c->decode_flops / cl->master_flops;
    if ((rc = numeric_latency(c, p, cl, &L, err)) == COD_OK) *out = L;
    return rc;
  }
  an_latency L;
  memset(&L, 0, sizeof L);
  const unit_fn unit_of = forms[f].unit;
  L.encode_s = c->encode_flops / cl->master_flops;
  L.decode_s = c->decode_flops / cl->master_flops;
  L.upload_s = xfer_s(c->upload_bytes, cl->downlink_bps, cl->master_bps, (double)n, cl->latency_s);
  const double nominal = c->worker_flops / cl->compute_rate_flops;
  double unit; /* expected critical compute time per unit of nominal time */
  if (c->wait == AN_WAIT_ALL) {
    L.wait_for = n;
    unit = unit_of(&cl->lat, n, n, 1.0);
  } else if (c->wait == AN_WAIT_COPIES) {
    L.wait_for = d;
    double r = (double)(n / d);
    unit = unit_of(&cl->lat, d, d, r);
  } else {
    L.wait_for = d;
    unit = unit_of(&cl->lat, n, d, 1.0);
  }
  L.compute_s = nominal * unit;
  L.download_s = xfer_s(c->download_bytes, cl->uplink_bps, cl->master_bps,
                        forms[f].download_sharers_n ? (double)n : 1.0, cl->latency_s);
  L.total_s = L.encode_s + L.upload_s + L.compute_s + L.download_s + L.decode_s;
  *out = L;
  return COD_OK;
}

int an_delta_optimum(const cod_conv_geom *g, const an_code_params *p, const an_cluster *cl,
                     an_delta_row *rows, size_t *n_rows, size_t *best, cod_err *err) {
  size_t count = 0, ibest = 0;
  cod_err last = {0};
  for (size_t d = 1; d <= p->n_workers; d++) {
    an_optimum o;
    if (an_optimum_find(g, p, d, &o, &last) != COD_OK) continue;
    an_delta_row row;
    memset(&row, 0, sizeof row);
    int have = 0;
    for (size_t i = 0; i < o.n_pairs; i++) {
      an_code_params q = *p;
      q.ka = o.pairs[i].ka, q.kb = o.pairs[i].kb;
      an_costs c;
      an_latency L;
      int rc = an_costs_compute(g, &q, &c, err);
      if (!rc) rc = an_latency_expected(&c, &q, cl, &L, err);
      if (rc) return rc;
      if (!have || L.total_s < row.lat.total_s) {
        row.delta = d, row.ka = q.ka, row.kb = q.kb, row.lat = L;
        have = 1;
      }
    }
    if (count == 0 || row.lat.total_s < rows[ibest].lat.total_s) ibest = count;
    rows[count++] = row;
  }
  if (count == 0)
    return cod_err_set(err, COD_EINVAL, "no feasible delta for %s on %zu workers: %s",
                       p->scheme ? p->scheme : "", p->n_workers, last.msg);
  *n_rows = count;
  *best = ibest;
  return COD_OK;
}
