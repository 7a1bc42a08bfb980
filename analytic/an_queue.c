/* an_queue.c: the M/G/1 family and the bottleneck bound (see an_queue.h). Each formula is
 * one line; the checks make an unstable or meaningless queue NaN rather than a negative
 * or infinite time. */
#include "an_queue.h"

#include <math.h>

double an_queue_mg1_response_s(double lambda, double s, double e_s2) {
  if (!(lambda > 0) || !(s > 0) || !(e_s2 >= s * s) || !isfinite(e_s2)) return NAN;
  double rho = lambda * s;
  if (!(rho < 1)) return NAN;
  return s + lambda * e_s2 / (2.0 * (1.0 - rho));
}

double an_queue_md1_response_s(double lambda, double s) {
  return an_queue_mg1_response_s(lambda, s, s * s);
}

double an_queue_mm1_response_s(double lambda, double s) {
  return an_queue_mg1_response_s(lambda, s, 2.0 * s * s);
}

double an_queue_max_throughput_per_s(const an_queue_work *w) {
  if (!w || w->n_workers == 0 || !(w->master_s >= 0) || !(w->nic_up_s >= 0) ||
      !(w->nic_down_s >= 0) || !(w->workers_s >= 0))
    return NAN;
  double b = fmax(fmax(w->master_s, w->nic_up_s),
                  fmax(w->nic_down_s, w->workers_s / (double)w->n_workers));
  return b > 0 ? 1.0 / b : INFINITY;
}
