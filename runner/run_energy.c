/* run_energy.c: joules from the simulated rows (run_energy.h).
 *
 * Design. Energy is a function of what the rows already hold (busy times, flops, bytes,
 * windows), so it is computed after a layer ran and never changes an event: a run with
 * energy modelled has the same times and numbers as one without. The analytic layer
 * energy is handed to analytic/an_energy.c; this file only maps run_config to its
 * parameters.
 */
#include "run_energy.h"

#include <math.h>
#include <string.h>

#include "an_energy.h"

static int params_set(const run_energy_params *e) {
  return e->j_per_flop != 0 || e->j_per_byte_sent != 0 || e->j_per_byte_recv != 0 ||
         e->idle_w != 0 || e->busy_w != 0;
}

int run_energy_modelled(const run_config *c) {
  if (params_set(&c->master.energy) || params_set(&c->cluster.energy)) return 1;
  for (size_t i = 0; i < c->n_classes; i++)
    if (params_set(&c->classes[i].worker.energy)) return 1;
  return 0;
}

double run_energy_idle_j(const run_energy_params *p, double window_s, double busy_s) {
  double idle = window_s - busy_s;
  return p->idle_w * (idle > 0 ? idle : 0.0);
}

/* E = busy_w B + idle_w (T - B) + dynamic (run_energy.h) */
double run_energy_device_j(const run_energy_params *p, double window_s, double busy_s,
                           double flops, double sent, double recv) {
  return p->busy_w * busy_s + run_energy_idle_j(p, window_s, busy_s) + p->j_per_flop * flops +
         p->j_per_byte_sent * sent + p->j_per_byte_recv * recv;
}


void run_energy_layer(const run_config *c, const cod_code *code, const run_layer_out *lo,
                      res_worker_row *workers, size_t n, res_layer_row *L) {
  const double T = lo->t_end_s - lo->t_start_s;
  if (!run_energy_modelled(c) || !isfinite(T)) return;
  double sum_w = 0, sent_m = 0, recv_m = 0;
  for (size_t j = 0; j < n; j++) {
    res_worker_row *o = &workers[j];
    run_worker rw;
    run_config_worker(c, (size_t)o->worker, &rw);
    const int refused = strcmp(o->status, RES_WORKER_REFUSED) == 0;
    const double recv = refused ? 0.0 : (double)o->bytes_up;
    const double flops = isnan(o->flops) ? 0.0 : o->flops;
    const double sent = flops > 0 ? (double)o->bytes_down : 0.0; /* it finished computing */
    const double busy = isnan(o->t_busy_s) ? 0.0 : o->t_busy_s;
    o->energy_j = run_energy_device_j(&rw.energy, T, busy, flops, sent, recv);
    sum_w += o->energy_j, sent_m += recv, recv_m += sent;
  }
  const double dec = lo->t_decode_s > 0 ? cod_code_decode_flops(code) : 0.0;
  L->energy_workers_j = sum_w;
  L->energy_master_j = run_energy_device_j(&c->master.energy, T,
                                           lo->t_encode_s + lo->t_decode_s,
                                           cod_code_encode_flops(code) + dec, sent_m, recv_m);
}

static an_power power_of(const run_energy_params *e) {
  return (an_power){e->j_per_flop, e->j_per_byte_sent, e->j_per_byte_recv, e->idle_w,
                    e->busy_w};
}

void run_energy_an_layer(const run_config *c, const an_costs *ac, const an_code_params *p,
                         const an_cluster *cl, const an_latency *lat, res_layer_row *L) {
  if (!run_energy_modelled(c) || c->n_classes) return;
  an_power w = power_of(&c->cluster.energy), m = power_of(&c->master.energy);
  an_energy e;
  if (an_energy_layer(ac, p, cl, lat, &w, &m, &e, NULL) == COD_OK) L->an_energy_j = e.total_j;
}

void run_energy_run(const run_config *c, const res_layer_row *layers, size_t n_layers,
                    double master_own_s, double t_run_s, res_run_row *R) {
  if (!run_energy_modelled(c) || !isfinite(t_run_s)) return;
  double win = 0, ew = 0, em = 0;
  for (size_t i = 0; i < n_layers; i++) {
    const res_layer_row *L = &layers[i];
    if (isnan(L->energy_workers_j) || isnan(L->energy_master_j)) return;
    win += L->t_total_s, ew += L->energy_workers_j, em += L->energy_master_j;
  }
  /* outside the coded layers every worker idles and the master runs its own layers */
  double outside = t_run_s - win;
  if (outside < 0) outside = 0;
  for (size_t j = 0; j < c->cluster.workers; j++) {
    run_worker rw;
    run_config_worker(c, j, &rw);
    ew += rw.energy.idle_w * outside;
  }
  em += run_energy_device_j(&c->master.energy, outside, master_own_s,
                            master_own_s * c->master.master_flops, 0.0, 0.0);
  R->energy_workers_j = ew, R->energy_master_j = em, R->energy_j = ew + em;
}
