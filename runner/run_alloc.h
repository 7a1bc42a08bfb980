/* run_alloc.h: heterogeneity-aware load allocation and per-task returns (issue 16, items 1
 * and 2).
 *
 * With [cluster] allocation = proportional the layer is coded for `tasks` = N "virtual
 * workers" of the scheme (the code is planned through coding/'s registry with N in place
 * of n, so any threshold-many of the N coded tasks decode), and worker j gets m_j of them,
 * in proportion to its class's speed, after Reisizadeh, Prakash, Pedarsani, Avestimehr,
 * "Coded computation over heterogeneous clusters", IEEE Trans. IT 2019 (HCMM). The speed
 * of a class is the inverse of the mean of its per-FLOP service time: compute_rate_flops /
 * E[latency law at nominal 1 s], from sim/'s closed-form mean (sim_latency_mean), so a
 * class twice as fast or with half the mean straggling gets twice the tasks. The real
 * shares N s_j / sum(s) are rounded to integers by the largest-remainder (Hamilton)
 * rule: floors first, then one more task to the workers with the largest fractional
 * parts (ties to the lower worker index), so the counts sum to N and each is within one
 * task of its share. Worker j holds the consecutive tasks first_j .. first_j + m_j - 1.
 *
 * A worker runs its tasks one after another, each with its own draw of its latency law
 * (nominal = one task's flops / its compute rate). With [cluster] returns = per-worker it
 * sends one message after its last task (today's protocol, m_j results in one message);
 * with per-task each finished task's result is sent at once, one message each, each
 * paying the link's propagation latency, the messages of one worker queued on its uplink.
 * The master decodes as soon as the arrived task results are decodable, from those results
 * only. allocation = equal with returns = per-worker is the protocol of run_layer.c, which
 * keeps running it (so every existing scenario's rows stay as they were); every other
 * combination runs here.
 *
 * Costs: a layer allocates its task records and coded buffers (N tasks) once.
 */
#ifndef FCDCC_RUN_ALLOC_H
#define FCDCC_RUN_ALLOC_H

#include <stddef.h>

#include "cod_status.h"
#include "run_config.h"
#include "run_layer.h"

/* The number of coded workers the layer's code is planned for: [cluster] tasks under
 * allocation = proportional, else [cluster] workers. */
size_t run_alloc_coded_workers(const run_config *cfg);

/* 1 if a layer of cfg runs through run_alloc_layer_execute (allocation = proportional, or
 * returns = per-task), 0 if through run_layer.c's one-task-per-worker protocol. */
int run_alloc_applies(const run_config *cfg);

/* Largest-remainder rounding of n shares proportional to speed[0..n) (each > 0, finite)
 * into counts[0..n) that sum to total: counts[j] is floor(total s_j / S) or one more, the
 * extra tasks going to the largest fractional parts, ties to the lower index. Pure. */
void run_alloc_round(const double *speed, size_t n, size_t total, size_t *counts);

/* The speed of worker j of cfg (see the header comment): compute_rate_flops / mean of its
 * law at nominal 1 s, in effective FLOP/s, into *speed. COD_EINVAL with a message naming
 * the class when its law has no finite closed-form mean (trace, Pareto alpha <= 1, ...). */
int run_alloc_speed(const run_config *cfg, size_t j, double *speed, cod_err *err);

/* The task counts of cfg's workers into counts[0..workers): 1 each under allocation =
 * equal, else the rounded proportional shares of [cluster] tasks. COD_EINVAL (a message
 * naming the key) when a worker's speed is undefined or a worker would get no task. */
int run_alloc_counts(const run_config *cfg, size_t *counts, cod_err *err);

/* The per-task storage every worker of cfg can hold, min over workers j of
 * storage_bytes_j / m_j (m_j from run_alloc_counts: 1 each under allocation = equal), into
 * *out (bytes; INFINITY when every storage is unlimited): a worker holding m_j tasks of a
 * layer holds m_j coded slabs and m_j coded filter shares, so a per-task need fits every
 * worker if and only if it is at most *out. Errors as run_alloc_counts; *out untouched. */
int run_alloc_task_storage_bytes(const run_config *cfg, double *out, cod_err *err);

/* The cross-key rules of allocation, tasks and returns, for run_config_validate: tasks
 * set with proportional (equal ignores it, so a file can sweep both policies), > workers
 * and within the scheme's max_workers
 * (coding/'s registry message), no stragglers = worst or approximate code with either
 * policy, every worker at least one task. COD_OK or COD_EINVAL with the message. */
int run_alloc_validate(const run_config *cfg, cod_err *err);

/* The analytic expected latency (s) of one layer of cfg under code (analytic/an_alloc.h)
 * into *out_s: encode + the time threshold-many task results have arrived + decode. 1 if
 * the model covers the run (every worker's law shifted-exp, an MDS code (any threshold
 * tasks decode), unlimited master NIC, no fail_workers, modelled master timing), else 0
 * and *out_s untouched. scratch (optional) keeps the last prediction and its inputs: the
 * trials of one point integrate once. */
int run_alloc_an_latency(const run_config *cfg, const cod_code *code, run_scratch *scratch,
                         double *out_s);

/* One layer under cfg's allocation and returns, with run_layer_execute's contract (the
 * same inputs, outcomes, rows and errors). The code in `in` must be planned for
 * run_alloc_coded_workers(cfg) workers; out->workers has one row per physical worker,
 * with `tasks` and `tasks_used` set, and out->used lists the physical workers of which at
 * least one task result was used, in the order the decoder first used one of them. */
int run_alloc_layer_execute(const run_layer_in *in, run_layer_out *out, cod_err *err);

#endif
