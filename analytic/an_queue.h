/* an_queue.h: what queueing theory knows exactly about a request stream, beside the
 * simulator's request stream (runner/run_load.h).
 *
 * Single-server queues with Poisson arrivals of rate lambda (1/s) and i.i.d. service times
 * of mean s (s), utilisation rho = lambda * s < 1:
 *   - M/G/1 mean response time, Pollaczek-Khinchine: T = s + lambda * E[S^2] / (2 (1 - rho));
 *   - M/D/1 (deterministic service, E[S^2] = s^2): T = s + rho * s / (2 (1 - rho));
 *   - M/M/1 (exponential service, E[S^2] = 2 s^2): T = s / (1 - rho).
 * (Kleinrock, "Queueing Systems, Vol. 1", 1975, ch. 5.) And the throughput bound of a
 * cluster: every server (the master CPU, the master NIC in each direction, each worker)
 * must do its share of every request's work, so no stream above
 *   lambda_max = 1 / max over servers of (work per request at that server)
 * can be served (the bottleneck law, Denning & Buzen 1978). For a coded layer at least
 * delta tasks must be served per request at the workers (with cancel = on-decode and a
 * decode as soon as delta results are in), so the workers' total work per request is at
 * least delta * (the fastest task time) per coded layer, spread over n workers.
 * Pure functions; NaN for a queue that is not stable (rho >= 1) or bad arguments.
 */
#ifndef FCDCC_AN_QUEUE_H
#define FCDCC_AN_QUEUE_H

#include <stddef.h>

/* M/G/1 mean response time (s) from lambda (1/s), mean service s (s) and the second
 * moment of the service time e_s2 (s^2). */
double an_queue_mg1_response_s(double lambda_per_s, double mean_s, double e_s2);

/* M/D/1 and M/M/1 mean response times (s). */
double an_queue_md1_response_s(double lambda_per_s, double service_s);
double an_queue_mm1_response_s(double lambda_per_s, double mean_service_s);

/* The work one request puts on each server of a cluster (s of that server's time). */
typedef struct an_queue_work {
  double master_s;     /* master CPU: its own layers, encodes and decodes */
  double nic_up_s;     /* master NIC, master -> workers (to_worker) */
  double nic_down_s;   /* master NIC, workers -> master (to_master) */
  double workers_s;    /* the workers' total task time (summed over workers) */
  size_t n_workers;    /* over which workers_s spreads (>= 1) */
} an_queue_work;

/* The throughput bound (requests/s): 1 / max(master_s, nic_up_s, nic_down_s,
 * workers_s / n_workers); INFINITY when every term is 0, NaN for a negative term or
 * n_workers = 0. */
double an_queue_max_throughput_per_s(const an_queue_work *w);

#endif
