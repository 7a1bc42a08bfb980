/* an_energy.h: the expected energy of a coded layer from its geometry alone (an_).
 *
 * The device model of runner/run_energy.h: a device with idle power idle_w, busy power
 * busy_w (W, its whole draw in that state) and dynamic energies j_per_flop, j_per_byte_sent,
 * j_per_byte_recv (J) uses over a window of T s in which it computes B s, executes F flops,
 * sends S and receives R bytes
 *     E = busy_w B + idle_w (T - B) + j_per_flop F + j_per_byte_sent S + j_per_byte_recv R.
 * For one layer of costs c (an_costs_compute) on a homogeneous cluster whose workers are
 * deterministic and share a fair master NIC, every worker receives its upload, computes
 * for B = worker_flops / compute_rate_flops and sends its result, all n of them, and the
 * window is the layer's latency lat->total_s (an_latency_expected, exact for this case up
 * to the engine's nanosecond rounding):
 *     worker  E_w = busy_w B + idle_w (T - B) + j_per_flop worker_flops
 *                   + j_per_byte_recv upload_bytes + j_per_byte_sent download_bytes
 *     master  E_m = busy_w (encode_s + decode_s) + idle_w (T - encode_s - decode_s)
 *                   + j_per_flop (encode_flops + decode_flops)
 *                   + j_per_byte_sent n upload_bytes + j_per_byte_recv n download_bytes
 * Any other law, a FIFO master NIC: no prediction (COD_ENODATA), since who is cancelled
 * when is then a random or ordered race this model does not follow.
 *
 * Pure functions, no allocation.
 */
#ifndef FCDCC_AN_ENERGY_H
#define FCDCC_AN_ENERGY_H

#include <stddef.h>

#include "an_model.h"
#include "cod_status.h"

/* One device's energy parameters (J, W; all >= 0). Plain data. */
typedef struct an_power {
  double j_per_flop, j_per_byte_sent, j_per_byte_recv, idle_w, busy_w;
} an_power;

/* The expected energy of one layer. Joules. */
typedef struct an_energy {
  double worker_j;   /* one worker over the layer */
  double workers_j;  /* n workers */
  double master_j;   /* the master over the layer */
  double total_j;    /* workers_j + master_j */
} an_energy;

/* Energy of a layer of costs c under code p (n = p->n_workers) on cluster cl, whose
 * expected latency is lat (an_latency_expected of the same c, p, cl), with worker and
 * master parameters w and m. COD_OK with *out filled; COD_ENODATA when cl's law is not
 * deterministic or its master NIC is not fair (no prediction, by design); COD_EINVAL for
 * a negative or non-finite parameter. *out untouched on error. */
int an_energy_layer(const an_costs *c, const an_code_params *p, const an_cluster *cl,
                    const an_latency *lat, const an_power *w, const an_power *m,
                    an_energy *out, cod_err *err);

/* Energy of the master's own work of own_flops flops at master_flops (busy) while n
 * workers idle: m->busy_w s + m->j_per_flop own_flops + n w->idle_w s, s = own_flops /
 * master_flops. Joules. */
double an_energy_master_own_j(double own_flops, double master_flops, size_t n,
                              const an_power *w, const an_power *m);

#endif
