/* an_energy.c: the energy of a coded layer from its costs and expected latency
 * (an_energy.h).
 *
 * Design. The runner's energy (runner/run_energy.c) is summed from the simulated rows; this
 * file writes the same device model as closed forms of the layer's analytic costs and
 * latency, so the test that compares them checks two implementations. Only the case where
 * the protocol is a fixed chain is covered (deterministic workers, fair NIC: every worker
 * computes its whole task and sends its result); the others answer COD_ENODATA.
 */
#include "an_energy.h"

#include <math.h>
#include <string.h>

#include "sim_latency.h"

static int power_ok(const an_power *p) {
  const double v[5] = {p->j_per_flop, p->j_per_byte_sent, p->j_per_byte_recv, p->idle_w,
                       p->busy_w};
  for (size_t i = 0; i < 5; i++)
    if (!(v[i] >= 0) || !isfinite(v[i])) return 0;
  return 1;
}

/* busy_w B + idle_w (T - B) + dynamic */
static double device_j(const an_power *p, double window_s, double busy_s, double flops,
                       double sent, double recv) {
  return p->busy_w * busy_s + p->idle_w * (window_s - busy_s) + p->j_per_flop * flops +
         p->j_per_byte_sent * sent + p->j_per_byte_recv * recv;
}

int an_energy_layer(const an_costs *c, const an_code_params *p, const an_cluster *cl,
                    const an_latency *lat, const an_power *w, const an_power *m,
                    an_energy *out, cod_err *err) {
  if (!power_ok(w) || !power_ok(m))
    return cod_err_set(err, COD_EINVAL, "energy parameters must be finite and >= 0");
  const char *law = sim_latency_law_name(cl->lat.kind);
  if (!law || strcmp(law, "deterministic") != 0 || !cl->master_fair)
    return cod_err_set(err, COD_ENODATA, "no energy prediction for law %s with a %s master "
                       "NIC (deterministic workers and a fair NIC only)", law ? law : "?",
                       cl->master_fair ? "fair" : "sequential");
  if (!(cl->compute_rate_flops > 0) || !isfinite(lat->total_s))
    return cod_err_set(err, COD_EINVAL, "energy: compute rate and latency must be finite, > 0");
  const double n = (double)p->n_workers, T = lat->total_s;
  const double busy = c->worker_flops / cl->compute_rate_flops;
  an_energy e;
  e.worker_j = device_j(w, T, busy, c->worker_flops, c->download_bytes, c->upload_bytes);
  e.workers_j = n * e.worker_j;
  e.master_j = device_j(m, T, lat->encode_s + lat->decode_s, c->encode_flops + c->decode_flops,
                        n * c->upload_bytes, n * c->download_bytes);
  e.total_j = e.workers_j + e.master_j;
  *out = e;
  return COD_OK;
}

double an_energy_master_own_j(double own_flops, double master_flops, size_t n,
                              const an_power *w, const an_power *m) {
  const double s = own_flops / master_flops;
  return m->busy_w * s + m->j_per_flop * own_flops + (double)n * w->idle_w * s;
}
