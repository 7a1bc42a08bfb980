/* run_energy.h: the joules of a run, from the simulated times, flops and bytes.
 *
 * Every device (each worker, by its class, and the master) has the five parameters of
 * run_energy_params: idle_w and busy_w, its whole power draw while not computing and
 * while computing, and j_per_flop, j_per_byte_sent, j_per_byte_recv, dynamic energy on
 * top. Over a window of T seconds in which it computed for B seconds, executed F flops,
 * sent S and received R bytes, a device uses
 *     E = busy_w B + idle_w (T - B) + j_per_flop F + j_per_byte_sent S + j_per_byte_recv R   [J]
 * A worker's window is a coded layer (t_start .. t_end of its layers row); B is its
 * workers.t_busy_s (from its data's arrival until its compute ended, failed or was
 * cancelled), F its workers.flops (the flops of a finished task: a cancelled task's partial
 * work costs power only), R its upload (to_worker) unless it refused the task, S its result
 * (to_master) once it finished computing. A transfer is counted whole once it is started,
 * also when the master cancels it on the way: an upper bound by at most one message per
 * worker and layer. The master computes while it encodes and decodes (layers.t_encode_s +
 * t_decode_s, flops of cod_code_encode_flops and, when it decoded, cod_code_decode_flops)
 * and while it runs the model's other layers itself; it sends every started upload and
 * receives every started result. Per inference, the run's window is 0 .. status_time_s
 * (the first image of a [data] run): workers are idle outside the coded layers.
 *
 * Energy is modelled when some parameter of the master, the default worker or a class is
 * non-zero; otherwise (the defaults) every energy column is NULL. Only the simulator's
 * rows carry the busy times, so runs of another backend (mpi) get NULL energy too.
 * analytic/an_energy.h is the same model from the geometry alone (deterministic workers,
 * fair NIC), and a test holds the two equal.
 */
#ifndef FCDCC_RUN_ENERGY_H
#define FCDCC_RUN_ENERGY_H

#include <stddef.h>

#include "an_model.h"
#include "cod_code.h"
#include "res_db.h"
#include "run_config.h"
#include "run_layer.h"

/* 1 if cfg models energy (some energy parameter of the master, the [cluster] default
 * worker or a class is non-zero), else 0. */
int run_energy_modelled(const run_config *cfg);

/* The energy columns of one simulated layer run with `code`: workers[j].energy_j for its n
 * rows (the backend's rows, in worker order) and L->energy_workers_j, L->energy_master_j.
 * Left NULL when energy is not modelled or the layer's window is not finite. */
void run_energy_layer(const run_config *cfg, const cod_code *code, const run_layer_out *lo,
                      res_worker_row *workers, size_t n, res_layer_row *L);

/* The analytic energy of the layer (L->an_energy_j) beside the measured one, from its
 * costs c, code p, cluster cl and expected latency lat (analytic/an_energy.h); left NULL
 * when energy is not modelled or the analytic model does not cover cl. */
void run_energy_an_layer(const run_config *cfg, const an_costs *c, const an_code_params *p,
                         const an_cluster *cl, const an_latency *lat, res_layer_row *L);

/* The runs row's energy columns (energy_j, energy_workers_j, energy_master_j) over the
 * window 0 .. t_run_s, from its layers rows (energy columns filled) and the seconds
 * master_own_s the master spent on layers it ran itself (at master_flops). NULL when not
 * modelled or some layer's energy is NULL. */
void run_energy_run(const run_config *cfg, const res_layer_row *layers, size_t n_layers,
                    double master_own_s, double t_run_s, res_run_row *R);

/* One device's energy over a window of window_s s in which it computed busy_s s, executed
 * flops, sent sent_bytes and received recv_bytes: E of the formula above, in J. With
 * window_s = busy_s it is the energy that work alone causes (busy power and dynamic
 * energy, no idle share): runner/run_load.c charges a request that way. */
double run_energy_device_j(const run_energy_params *p, double window_s, double busy_s,
                           double flops, double sent_bytes, double recv_bytes);

/* The idle part of E alone: idle_w x (window_s - busy_s), 0 when busy_s >= window_s. */
double run_energy_idle_j(const run_energy_params *p, double window_s, double busy_s);

#endif
