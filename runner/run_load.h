/* run_load.h: a stream of requests on the simulated cluster ([load] arrivals != none).
 *
 * A run with [load] arrivals = none is one inference on an idle cluster (run_exec.h). With
 * poisson, periodic, trace or closed arrivals it is a stream of `requests` forward passes
 * of the model that overlap freely: each request's coded conv layers are jobs on the same
 * cluster, each worker serves the tasks that reach it in FCFS order (or by processor
 * sharing), and the master's CPU (its non-conv layers, encodes and decodes, FCFS) and its
 * NIC (sim/sim_link.c, one per direction, as configured) are shared by every request.
 * Straggling is drawn per task from the worker's law through run_cluster_draw, on the
 * run's per-worker latency objects and streams, so stateful laws keep their state across
 * requests. The per-layer costs are those of the single-inference run: bytes and flops of
 * the code run_code_choose plans, encode/decode flops over master_flops, the link model
 * of run_layer.c (a shared NIC and a dedicated link: the slower of the two, plus the
 * propagation latency), decodability through cod_code_decodable.
 *
 * Cancellation: on-decode drops the decoded layer's other tasks wherever they are (upload,
 * queue, service, download), so they never run; never lets every task run to completion
 * and return its result (which the master ignores).
 *
 * Rows: one `requests` row per request (spooled to an anonymous temporary file as the run
 * goes, so memory is bounded by the requests in flight, never by the requests served),
 * one `load_runs` row of aggregates (latency mean and quantiles with 95 % batch-means
 * confidence intervals, sim/sim_stats.h) and one `load_workers` row per worker
 * (utilisation, time-average and maximum tasks at the worker). A run saturates when more
 * than queue_limit requests are in flight or simulated time passes time_limit_s: it stops
 * there, records saturated = 1 and the time, and the requests still in flight are
 * `dropped`.
 *
 * With compute = real every done request's numbers are computed when it ends: the coded
 * forward pass of the run's input in which each coded layer encodes, has the workers whose
 * results had arrived at its decode compute their pieces, and decodes from that set
 * (run_assets_coded_forward), so the request's error against the uncoded pipeline is the
 * one those draws give; timing is the modelled one either way. A real request costs about
 * one coded forward pass of CPU (AlexNet: a second or so), so real streams are for small
 * request counts.
 *
 * Batching: `batch` requests fill a job at the master (launched when full or batch_timeout_s
 * after its first member); the job costs batch times one request on every server and its
 * members finish together, each with its own row.
 *
 * Limits, refused up front by run_load_validate with a message: stragglers = worst, approximate codes, [data] source, [run] trace under load; with compute = real also
 * measured master timing, bf16/fp16 workers and worker noise.
 */
#ifndef FCDCC_RUN_LOAD_H
#define FCDCC_RUN_LOAD_H

#include "model.h"
#include "run_config.h"
#include "run_exec.h"

/* The stream id purpose of the arrival (and think-time) stream: run_stream_id(trial, 0,
 * RUN_STREAM_ARRIVALS), a purpose no worker stream uses. */
enum { RUN_STREAM_ARRIVALS = 3 };

/* The [load] rules that span keys (only when arrivals != none): what is refused (see
 * above), warmup < requests, trace arrivals need a trace file, a trace file only with trace
 * arrivals, clients only with closed arrivals. COD_OK or COD_EINVAL with a message; *blame
 * gets the NULL-terminated "section.key" list of the rule. Called by
 * run_config_validate_blame. */
int run_load_validate(const run_config *cfg, const char *const **blame, cod_err *err);

/* The dry-run check of a trace of arrival times (run_plan_check, before the first run):
 * readable, every line a time >= 0 in s not below the previous one, at least one. COD_OK
 * for other arrivals; else COD_EIO / COD_EFORMAT with "PATH:LINE: ..." and *blame =
 * {"load.trace"}. */
int run_load_check_trace(const run_config *cfg, const char *const **blame, cod_err *err);

/* Simulate the request stream of cfg (arrivals != none) through the model of assets a,
 * as trial id->trial, and fill *out: the runs row (status ok, latency_s = mean latency of
 * the measured requests; ka, kb, delta of the first coded layer), the load row, the
 * load_workers rows and the spooled requests rows. Outcomes (saturation, undecodable
 * requests) are rows; errors (out of memory, an unreadable or malformed trace of arrival
 * times, a latency model's status) return a status with a message, *out untouched. */
int run_load_execute(const run_config *cfg, const run_ident *id, run_assets *a,
                     run_result *out, cod_err *err);

/* The model of a run's assets (borrowed). */
const model *run_assets_model(const run_assets *a);

/* The cost model of the single-inference run (defined in run_exec.c), shared with the
 * request stream: MACs of the non-conv layers in [from, to) the master runs, and whether
 * conv index ci is one of [model] layers (coded on the cluster) or the master's. */
double run_master_macs(const model *m, size_t from, size_t to);
int run_conv_selected(const run_config *c, size_t conv_index);

/* Write the spooled requests rows of r into the open run run_id (run_result_write). */
int run_load_write_requests(res_db *db, int64_t run_id, const run_result *r, cod_err *err);

#endif
