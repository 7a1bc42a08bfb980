/* res_schema.c: the column tables of the results database and the SQL made from them
 * (see res_schema.h).
 *
 * Design. One static res_column array per SQL table, next to nothing else: this file is
 * where a new column goes. The CREATE TABLE, INSERT and UPDATE texts are assembled from
 * the arrays by a small append-only string builder at open (a few hundred bytes each,
 * once per handle), so no column list is ever written twice. The texts depend on the
 * arrays only, never on input. CHECK constraints and comments are kept as the schema
 * of record had them, except that a status check lists its values as `status = 'a' OR
 * ...` rather than `status IN ('a', ...)`: the same rule, but SQLite evaluates an IN list
 * of more than two values by building a temporary b-tree on every INSERT, which was most
 * of the cost of writing a workers row. The generated CREATE TABLE puts one column on each
 * line.
 */
#include "res_schema.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cod_alloc.h"
#include "fcdcc_config.h"
#include "res_db.h"

#define COL(st, field, name, ctype, cons, unit, comment)                                 \
  {name, ctype, offsetof(st, field), cons, unit, comment, NULL, 0}

/* ---- runs ---------------------------------------------------------------------------- */

#define RUN(field, ctype, cons, unit, comment)                                            \
  COL(res_run_row, field, #field, ctype, cons, unit, comment)
#define RUN_OUTCOME(field, ctype, cons, unit, comment)                                    \
  {#field, ctype, offsetof(res_run_row, field), cons, unit, comment, NULL, RES_COL_OUTCOME}

static const res_column runs_cols[] = {
  {"run_id", RES_CT_RUN_ID, 0, "PRIMARY KEY", "", NULL, NULL, 0},
  RUN(run_key, RES_CT_TEXT, "NOT NULL UNIQUE", "", "scenario_hash/p<point>/t<trial>"),
  RUN(scenario_path, RES_CT_TEXT, "", "", NULL),
  RUN(scenario_hash, RES_CT_TEXT, "NOT NULL", "", NULL),
  RUN(point_index, RES_CT_I64, "NOT NULL CHECK (point_index >= 0)", "", NULL),
  RUN(trial, RES_CT_I64, "NOT NULL CHECK (trial >= 0)", "", NULL),
  RUN(seed, RES_CT_U64, "NOT NULL", "", "uint64 stored as its int64 bit pattern"),
  RUN(backend, RES_CT_TEXT, "NOT NULL CHECK (backend IN ('sim','mpi'))", "", NULL),
  {"program_version", RES_CT_TEXT, offsetof(res_run_row, program_version), "NOT NULL", "",
   NULL, "'" FCDCC_VERSION "'", 0},
  {"started_at", RES_CT_TEXT, offsetof(res_run_row, started_at), "NOT NULL", "",
   "wall clock, ISO-8601 UTC", "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')", 0},
  RUN_OUTCOME(wall_s, RES_CT_REAL, "", "s", "wall-clock duration of the run"),
  RUN(params_json, RES_CT_TEXT, "CHECK (params_json IS NULL OR json_valid(params_json))", "",
      NULL),
  RUN(scheme, RES_CT_TEXT, "NOT NULL", "", NULL),
  RUN(model, RES_CT_TEXT, "NOT NULL", "", NULL),
  RUN(workers, RES_CT_I64, "", "", "n"),
  RUN(ka, RES_CT_I64, "", "", NULL),
  RUN(kb, RES_CT_I64, "", "", NULL),
  RUN(delta, RES_CT_I64, "", "", NULL),
  RUN(precision, RES_CT_TEXT, "", "", NULL),
  {"status", RES_CT_TEXT, offsetof(res_run_row, status),
   "NOT NULL CHECK (status = 'ok' OR status = 'undecodable' OR status = 'error' OR "
   "status LIKE 'infeasible: %')",
   "", NULL, "'error'", RES_COL_OUTCOME},
  RUN_OUTCOME(status_time_s, RES_CT_REAL, "", "s", "simulated time the status was known"),
  RUN_OUTCOME(latency_s, RES_CT_REAL, "", "s", "end-to-end simulated latency"),
  RUN_OUTCOME(e2e_mse, RES_CT_REAL, "", "", NULL),
  RUN_OUTCOME(e2e_rel_error, RES_CT_REAL, "", "", NULL),
  RUN_OUTCOME(e2e_max_abs_error, RES_CT_REAL, "", "", NULL),
  RUN(storage_model_bytes, RES_CT_REAL, "", "bytes",
      "storage = whole-model: per-worker coded filters of every served layer + largest slab"),
  RUN(an_storage_model_bytes, RES_CT_REAL, "", "bytes", "the same, analytic model"),
  RUN(storage_overflow_layer, RES_CT_I64, "", "", "first conv layer whose storage overflowed"),
  RUN(storage_overflow_bytes, RES_CT_REAL, "", "bytes", "its need - smallest worker storage"),
  RUN_OUTCOME(energy_j, RES_CT_REAL, "", "J", "workers + master per inference; NULL: not modelled"),
  RUN_OUTCOME(energy_workers_j, RES_CT_REAL, "", "J", "all workers per inference"),
  RUN_OUTCOME(energy_master_j, RES_CT_REAL, "", "J", "the master per inference"),
};

/* ---- layers -------------------------------------------------------------------------- */

#define LAYER(field, ctype, cons, unit, comment)                                          \
  COL(res_layer_row, field, #field, ctype, cons, unit, comment)
#define SIM_S "simulated seconds"
#define CPU_S "real CPU seconds"
#define AN "analytic model, NULL if not computed"

static const res_column layers_cols[] = {
  {"run_id", RES_CT_RUN_ID, 0, "NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE", "", NULL,
   NULL, 0},
  LAYER(layer_index, RES_CT_I64, "NOT NULL CHECK (layer_index >= 0)", "", NULL),
  LAYER(layer_name, RES_CT_TEXT, "", "", NULL),
  LAYER(ka, RES_CT_I64, "", "", NULL),
  LAYER(kb, RES_CT_I64, "", "", NULL),
  LAYER(delta, RES_CT_I64, "", "", NULL),
  LAYER(workers_used, RES_CT_TEXT, "", "", "comma-separated worker ids"),
  LAYER(t_encode_s, RES_CT_REAL, "", "s", SIM_S),
  COL(res_layer_row, t_upload_s, "t_to_worker_s", RES_CT_REAL, "", "s", SIM_S),
  LAYER(t_compute_s, RES_CT_REAL, "", "s", SIM_S),
  COL(res_layer_row, t_download_s, "t_to_master_s", RES_CT_REAL, "", "s", SIM_S),
  LAYER(t_decode_s, RES_CT_REAL, "", "s", SIM_S),
  LAYER(t_total_s, RES_CT_REAL, "", "s", SIM_S),
  LAYER(cpu_encode_s, RES_CT_REAL, "", "s", CPU_S),
  LAYER(cpu_compute_s, RES_CT_REAL, "", "s", CPU_S),
  LAYER(cpu_decode_s, RES_CT_REAL, "", "s", CPU_S),
  LAYER(mse, RES_CT_REAL, "", "", NULL),
  LAYER(rel_error, RES_CT_REAL, "", "", NULL),
  LAYER(max_abs_error, RES_CT_REAL, "", "", NULL),
  LAYER(cond, RES_CT_REAL, "", "", NULL),
  LAYER(cond_flagged, RES_CT_INT, "CHECK (cond_flagged IN (0,1))", "", NULL),
  LAYER(worst_sets_tried, RES_CT_I64, "CHECK (worst_sets_tried >= 1)", "",
        "stragglers = worst: sets searched; NULL for random stragglers"),
  LAYER(worst_exhaustive, RES_CT_INT, "CHECK (worst_exhaustive IN (0,1))", "",
        "stragglers = worst: 1 if all C(n, delta) sets were searched"),
  LAYER(status, RES_CT_TEXT, "NOT NULL CHECK (status = 'ok' OR status = 'undecodable' OR "
        "status = 'error' OR status = 'skipped' OR status LIKE 'infeasible: %')", "", NULL),
  COL(res_layer_row, an_upload_bytes, "an_to_worker_bytes", RES_CT_REAL, "", "bytes", AN),
  COL(res_layer_row, an_download_bytes, "an_to_master_bytes", RES_CT_REAL, "", "bytes", AN),
  LAYER(an_storage_bytes, RES_CT_REAL, "", "bytes", AN),
  LAYER(an_compute_flops, RES_CT_REAL, "", "flops", AN),
  LAYER(an_latency_s, RES_CT_REAL, "", "s", AN),
  LAYER(storage_need_bytes, RES_CT_REAL, "", "bytes",
        "per-worker need checked (whole-model: cumulative); NULL per-layer"),
  LAYER(storage_overflow_bytes, RES_CT_REAL, "", "bytes", "need - smallest worker storage, if > 0"),
  LAYER(energy_workers_j, RES_CT_REAL, "", "J", "all workers over the layer; NULL: not modelled"),
  LAYER(energy_master_j, RES_CT_REAL, "", "J", "the master over the layer"),
  LAYER(an_energy_j, RES_CT_REAL, "", "J", AN),
  LAYER(conv_algo, RES_CT_TEXT, "", "",
        "the workers' slab convolution (im2col, winograd-2x2, ...); NULL in model-only runs"),
};

/* ---- workers ------------------------------------------------------------------------- */

#define WORKER(field, ctype, cons, unit, comment)                                         \
  COL(res_worker_row, field, #field, ctype, cons, unit, comment)

static const res_column workers_cols[] = {
  {"run_id", RES_CT_RUN_ID, 0, "NOT NULL", "", NULL, NULL, 0},
  WORKER(layer_index, RES_CT_I64, "NOT NULL", "", NULL),
  WORKER(worker, RES_CT_I64, "NOT NULL CHECK (worker >= 0)", "", NULL),
  COL(res_worker_row, worker_class, "class", RES_CT_TEXT, "", "", NULL),
  /* no comments: an upgraded file's CREATE text (ALTER ... RENAME COLUMN) is then the
   * same as a new file's */
  COL(res_worker_row, bytes_up, "bytes_to_worker", RES_CT_I64, "", "bytes", NULL),
  COL(res_worker_row, bytes_down, "bytes_to_master", RES_CT_I64, "", "bytes", NULL),
  WORKER(bytes_stored, RES_CT_I64, "", "bytes", NULL),
  WORKER(flops, RES_CT_REAL, "", "flops", NULL),
  WORKER(status, RES_CT_TEXT, "NOT NULL CHECK (status = 'used' OR status = 'cancelled' OR "
         "status = 'failed' OR status = 'straggler' OR status = 'refused')", "", NULL),
  WORKER(t_finish_s, RES_CT_REAL, "", "s", "simulated; NULL if it never finished"),
  WORKER(t_busy_s, RES_CT_REAL, "", "s", "simulated computing time; NULL if no data arrived"),
  WORKER(energy_j, RES_CT_REAL, "", "J", "over the layer; NULL: energy not modelled"),
  WORKER(tasks, RES_CT_I64, "CHECK (tasks IS NULL OR tasks >= 0)", "",
         "coded tasks assigned ([cluster] allocation)"),
  WORKER(tasks_used, RES_CT_I64, "CHECK (tasks_used IS NULL OR tasks_used BETWEEN 0 AND tasks)",
         "", "task results the decoder used"),
};

/* ---- events -------------------------------------------------------------------------- */

#define EVENT(field, ctype, cons, unit, comment)                                          \
  COL(res_event_row, field, #field, ctype, cons, unit, comment)

static const res_column events_cols[] = {
  {"run_id", RES_CT_RUN_ID, 0, "NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE", "", NULL,
   NULL, 0},
  EVENT(seq, RES_CT_I64, "NOT NULL", "", NULL),
  EVENT(t_ns, RES_CT_I64, "NOT NULL", "ns", "simulated nanoseconds"),
  EVENT(kind, RES_CT_TEXT, "NOT NULL", "", NULL),
  EVENT(worker, RES_CT_I64, "", "", NULL),
  EVENT(layer_index, RES_CT_I64, "", "", NULL),
};

/* ---- data_runs (version 2): one row per run over a data set ([data] source); its runs,
 * layers and workers rows describe the first image. Its own table, so the columns of
 * `runs` stay those of every run. */

#define DATA(field, ctype, cons, unit, comment)                                           \
  COL(res_data_row, field, #field, ctype, cons, unit, comment)

static const res_column data_runs_cols[] = {
  {"run_id", RES_CT_RUN_ID, 0, "PRIMARY KEY REFERENCES runs(run_id) ON DELETE CASCADE", "",
   NULL, NULL, 0},
  DATA(source, RES_CT_TEXT, "NOT NULL", "", "[data] source (and split)"),
  DATA(images, RES_CT_I64, "NOT NULL CHECK (images >= 1)", "", "images, one coded inference each"),
  DATA(top1_coded, RES_CT_REAL, "", "", "share of labelled images right, coded; NULL without labels"),
  DATA(top1_uncoded, RES_CT_REAL, "", "", "the same, uncoded pipeline"),
  DATA(agreement, RES_CT_REAL, "NOT NULL", "", "share with coded argmax = uncoded argmax"),
  DATA(undecodable, RES_CT_I64, "NOT NULL", "", "images with an undecodable layer"),
  DATA(max_logit_error, RES_CT_REAL, "", "", "max |coded - uncoded| logit over decoded images"),
};

/* ---- requests, load_runs, load_workers (version 4): a run under load ([load] arrivals,
 * runner/run_load.h). Their own tables, so a single-inference run's rows are unchanged. */

#define REQ(field, ctype, cons, unit, comment)                                            \
  COL(res_request_row, field, #field, ctype, cons, unit, comment)

static const res_column requests_cols[] = {
  {"run_id", RES_CT_RUN_ID, 0, "NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE", "", NULL,
   NULL, 0},
  REQ(request_id, RES_CT_I64, "NOT NULL CHECK (request_id >= 0)", "", "issue order from 0"),
  REQ(arrival_s, RES_CT_REAL, "NOT NULL", "s", SIM_S),
  REQ(start_s, RES_CT_REAL, "", "s", "master begins its first layer; NULL if never"),
  REQ(finish_s, RES_CT_REAL, "", "s", "decoded or undecodable; NULL if dropped"),
  REQ(status, RES_CT_TEXT, "NOT NULL CHECK (status IN ('done','undecodable','dropped'))", "",
      "done, undecodable (a layer could not decode) or dropped (saturated stop)"),
  REQ(latency_s, RES_CT_REAL, "", "s", "finish_s - arrival_s of a done request"),
  REQ(e2e_rel_error, RES_CT_REAL, "", "", "compute = real: output vs uncoded pipeline"),
  REQ(max_layer_rel_error, RES_CT_REAL, "", "", "compute = real: worst decoded layer"),
  /* version 10 (ALTER TABLE ADD COLUMN: the last columns) */
  REQ(energy_j, RES_CT_REAL, "", "J",
      "busy power x busy time, J/FLOP x FLOPs and J/byte x bytes of its own tasks and master "
      "work, at both ends; no idle share (load_runs.energy_idle_j); a batch's split evenly; "
      "NULL: energy not modelled"),
};

#define LOAD(field, ctype, cons, unit, comment)                                           \
  COL(res_load_row, field, #field, ctype, cons, unit, comment)
#define CI95 "half-width of the 95 % CI, batch means"

static const res_column load_runs_cols[] = {
  {"run_id", RES_CT_RUN_ID, 0, "PRIMARY KEY REFERENCES runs(run_id) ON DELETE CASCADE", "",
   NULL, NULL, 0},
  LOAD(arrivals, RES_CT_TEXT, "NOT NULL", "", "[load] arrivals"),
  LOAD(cancel, RES_CT_TEXT, "NOT NULL", "", "[load] cancel"),
  LOAD(service, RES_CT_TEXT, "NOT NULL", "", "[load] service"),
  LOAD(offered_per_s, RES_CT_REAL, "", "1/s", "offered load; NULL for closed loops"),
  LOAD(requests, RES_CT_I64, "NOT NULL CHECK (requests >= 1)", "", "[load] requests issued"),
  LOAD(warmup, RES_CT_I64, "NOT NULL CHECK (warmup >= 0)", "",
       "[load] warmup: first requests left out of the statistics"),
  LOAD(completed, RES_CT_I64, "NOT NULL", "", "done requests, warm-up included"),
  LOAD(undecodable, RES_CT_I64, "NOT NULL", "", "requests with a layer that could not decode"),
  LOAD(dropped, RES_CT_I64, "NOT NULL", "", "in flight when a saturated run stopped"),
  LOAD(measured, RES_CT_I64, "NOT NULL", "", "done requests with id >= warmup"),
  LOAD(throughput_per_s, RES_CT_REAL, "", "1/s", "measured / measured window"),
  LOAD(lat_mean_s, RES_CT_REAL, "", "s", "mean latency of the measured requests"),
  LOAD(lat_mean_ci_s, RES_CT_REAL, "", "s", CI95),
  LOAD(lat_p50_s, RES_CT_REAL, "", "s", "histogram, 0.5 % relative"),
  LOAD(lat_p50_ci_s, RES_CT_REAL, "", "s", CI95),
  LOAD(lat_p95_s, RES_CT_REAL, "", "s", "95th percentile latency, histogram"),
  LOAD(lat_p95_ci_s, RES_CT_REAL, "", "s", CI95),
  LOAD(lat_p99_s, RES_CT_REAL, "", "s", "99th percentile latency, histogram"),
  LOAD(lat_p99_ci_s, RES_CT_REAL, "", "s", CI95),
  LOAD(ci_batches, RES_CT_I64, "", "", "non-empty batches behind the CIs"),
  LOAD(saturated, RES_CT_INT, "NOT NULL CHECK (saturated IN (0,1))", "",
       "1: stopped at [load] queue_limit or time_limit_s"),
  LOAD(saturated_at_s, RES_CT_REAL, "", "s", "when it stopped there"),
  LOAD(max_in_flight, RES_CT_I64, "", "", "most requests in flight at once"),
  LOAD(sim_time_s, RES_CT_REAL, "", "s", "simulated length of the run"),
  LOAD(events, RES_CT_I64, "", "", "engine events fired"),
  LOAD(compute, RES_CT_TEXT, "NOT NULL CHECK (compute IN ('real','model'))", "",
       "real: every done request's numbers computed"),
  LOAD(max_e2e_rel_error, RES_CT_REAL, "", "", "compute = real: worst request output error"),
  LOAD(max_layer_rel_error, RES_CT_REAL, "", "", "compute = real: worst decoded layer"),
  LOAD(singular, RES_CT_I64, "", "", "compute = real: done requests with a singular decode"),
  /* version 10 (ALTER TABLE ADD COLUMN: the last columns) */
  LOAD(energy_j, RES_CT_REAL, "", "J",
       "workers + master over 0 .. sim_time_s: sum of requests.energy_j + "
       "energy_unattributed_j + energy_idle_j; NULL: not modelled"),
  LOAD(energy_idle_j, RES_CT_REAL, "", "J",
       "idle_w x (sim_time_s - busy time) of every worker and the master, in no request's "
       "energy_j"),
  LOAD(energy_unattributed_j, RES_CT_REAL, "", "J",
       "work of tasks that ran on after their request ended (cancel = never)"),
  LOAD(energy_req_mean_j, RES_CT_REAL, "", "J",
       "mean requests.energy_j of the measured requests (no idle share)"),
  LOAD(energy_req_mean_ci_j, RES_CT_REAL, "", "J", CI95),
};

#define LWORKER(field, ctype, cons, unit, comment)                                        \
  COL(res_load_worker_row, field, #field, ctype, cons, unit, comment)

static const res_column load_workers_cols[] = {
  {"run_id", RES_CT_RUN_ID, 0, "NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE", "", NULL,
   NULL, 0},
  LWORKER(worker, RES_CT_I64, "NOT NULL CHECK (worker >= 0)", "", "worker id"),
  COL(res_load_worker_row, worker_class, "class", RES_CT_TEXT, "", "",
      "the worker's [class NAME], or default"),
  LWORKER(utilisation, RES_CT_REAL, "", "", "busy time / sim_time_s"),
  LWORKER(queue_mean, RES_CT_REAL, "", "", "time-average tasks queued or in service"),
  LWORKER(queue_max, RES_CT_I64, "", "", "most tasks at the worker at once"),
  LWORKER(tasks_done, RES_CT_I64, "", "", "tasks that ran to completion"),
  LWORKER(tasks_cancelled, RES_CT_I64, "", "", "dropped by a decode, queued or running"),
};

/* ---- skipped_points (version 7): the points of a sweep that did not run: infeasible ones
 * under [sweep] skip = infeasible, and duplicates (the same configuration as an earlier
 * point once the keys the scheme ignores are set aside). No runs rows of their own, so no
 * summary counts them twice; this table says they were asked for and why they did not run. */

#define SKIP(field, ctype, cons, unit, comment)                                           \
  COL(res_skipped_row, field, #field, ctype, cons, unit, comment)

static const res_column skipped_cols[] = {
  SKIP(scenario_hash, RES_CT_TEXT, "NOT NULL", "", "runs.scenario_hash of the sweep"),
  SKIP(scenario_path, RES_CT_TEXT, "", "", NULL),
  SKIP(point_index, RES_CT_I64, "NOT NULL CHECK (point_index >= 0)", "", NULL),
  SKIP(label, RES_CT_TEXT, "", "", "the point's varying values"),
  SKIP(kind, RES_CT_TEXT, "NOT NULL CHECK (kind IN ('infeasible','duplicate'))", "", NULL),
  SKIP(same_as, RES_CT_I64, "", "", "duplicate: the point that ran in its place"),
  SKIP(reason, RES_CT_TEXT, "NOT NULL", "", "why it did not run"),
};

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

static const res_table tables[RES_TABLE_COUNT] = {
  [RES_TABLE_RUNS] = {"runs", runs_cols, NCOLS(runs_cols), NULL, NULL, sizeof(res_run_row)},
  [RES_TABLE_LAYERS] = {"layers", layers_cols, NCOLS(layers_cols),
                        "PRIMARY KEY (run_id, layer_index)", "WITHOUT ROWID",
                        sizeof(res_layer_row)},
  [RES_TABLE_WORKERS] = {"workers", workers_cols, NCOLS(workers_cols),
                         "PRIMARY KEY (run_id, layer_index, worker),\n"
                         "  FOREIGN KEY (run_id, layer_index) REFERENCES layers(run_id, "
                         "layer_index)\n    ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED",
                         "WITHOUT ROWID", sizeof(res_worker_row)},
  [RES_TABLE_EVENTS] = {"events", events_cols, NCOLS(events_cols),
                        "PRIMARY KEY (run_id, seq)", "WITHOUT ROWID", sizeof(res_event_row)},
  [RES_TABLE_DATA_RUNS] = {"data_runs", data_runs_cols, NCOLS(data_runs_cols), NULL, NULL,
                           sizeof(res_data_row)},
  [RES_TABLE_REQUESTS] = {"requests", requests_cols, NCOLS(requests_cols),
                          "PRIMARY KEY (run_id, request_id)", "WITHOUT ROWID",
                          sizeof(res_request_row)},
  [RES_TABLE_LOAD_RUNS] = {"load_runs", load_runs_cols, NCOLS(load_runs_cols), NULL, NULL,
                           sizeof(res_load_row)},
  [RES_TABLE_LOAD_WORKERS] = {"load_workers", load_workers_cols, NCOLS(load_workers_cols),
                              "PRIMARY KEY (run_id, worker)", "WITHOUT ROWID",
                              sizeof(res_load_worker_row)},
  [RES_TABLE_SKIPPED] = {"skipped_points", skipped_cols, NCOLS(skipped_cols),
                         "PRIMARY KEY (scenario_hash, point_index) ON CONFLICT IGNORE",
                         "WITHOUT ROWID", sizeof(res_skipped_row)},
};

/* Indexes, after the tables. */
static const char schema_indexes[] =
    "CREATE INDEX runs_group ON runs(model, scheme, workers, ka, kb, precision);\n";

/* Upgrades of older files in place, one per version step (res_schema.h): append a step
 * with every schema change that an existing file can take without losing a value. */
static const res_schema_step steps[] = {
  /* 9: one direction convention (to_worker = master -> worker, to_master = worker ->
   * master); bytes_up / bytes_down and upload / download (the master's view) read as
   * the opposite of uplink_bps / downlink_bps (the worker's view) */
  {9, "ALTER TABLE workers RENAME COLUMN bytes_up TO bytes_to_worker;\n"
      "ALTER TABLE workers RENAME COLUMN bytes_down TO bytes_to_master;\n"
      "ALTER TABLE layers RENAME COLUMN t_upload_s TO t_to_worker_s;\n"
      "ALTER TABLE layers RENAME COLUMN t_download_s TO t_to_master_s;\n"
      "ALTER TABLE layers RENAME COLUMN an_upload_bytes TO an_to_worker_bytes;\n"
      "ALTER TABLE layers RENAME COLUMN an_download_bytes TO an_to_master_bytes;\n"
      /* the link keys in each run's parameters, in place (their order is the key table's,
       * unchanged, so an old run's text equals a new run's of the same point) */
      "UPDATE runs SET params_json = replace(replace(params_json, '\"uplink_bps\":', "
      "'\"to_master_bps\":'), '\"downlink_bps\":', '\"to_worker_bps\":') WHERE "
      "params_json IS NOT NULL;\n",
   "workers.bytes_up, bytes_down -> bytes_to_worker, bytes_to_master; layers.t_upload_s, "
   "t_download_s, an_upload_bytes, an_download_bytes -> t_to_worker_s, t_to_master_s, "
   "an_to_worker_bytes, an_to_master_bytes; runs.params_json keys uplink_bps, downlink_bps "
   "-> to_master_bps, to_worker_bps"},
  /* 10: energy under load, columns appended (a new file has them last too) */
  {10, "ALTER TABLE requests ADD COLUMN energy_j REAL;\n"
       "ALTER TABLE load_runs ADD COLUMN energy_j REAL;\n"
       "ALTER TABLE load_runs ADD COLUMN energy_idle_j REAL;\n"
       "ALTER TABLE load_runs ADD COLUMN energy_unattributed_j REAL;\n"
       "ALTER TABLE load_runs ADD COLUMN energy_req_mean_j REAL;\n"
       "ALTER TABLE load_runs ADD COLUMN energy_req_mean_ci_j REAL;\n",
   "requests.energy_j and load_runs.energy_j, energy_idle_j, energy_unattributed_j, "
   "energy_req_mean_j, energy_req_mean_ci_j added (NULL in the existing rows)"},
  /* 11: the event of a finished master -> worker transfer, named by the one direction
   * convention like the columns of step 9 */
  {11, "UPDATE events SET kind = 'to_worker_done' WHERE kind = 'upload_done';\n",
   "events.kind 'upload_done' -> 'to_worker_done'"},
};

const res_schema_step *res_schema_step_to(int64_t version) {
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
    if (steps[i].version == version) return &steps[i];
  return NULL;
}

const res_table *res_schema_table(size_t i) { return i < RES_TABLE_COUNT ? &tables[i] : NULL; }

const char *res_ctype_sql(res_ctype t) {
  return t == RES_CT_TEXT ? "TEXT" : t == RES_CT_REAL ? "REAL" : "INTEGER";
}

/* ---- text assembly ------------------------------------------------------------------- */

/* An append-only string; on the first failed allocation it stays failed (ok = 0). */
typedef struct sbuf {
  char *s;
  size_t len, cap;
  int ok;
} sbuf;

static void sb_put(sbuf *b, const char *text) {
  if (!b->ok) return;
  size_t n = strlen(text);
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    char *s = cod_realloc(b->s, cap);
    if (!s) {
      b->ok = 0;
      return;
    }
    b->s = s, b->cap = cap;
  }
  memcpy(b->s + b->len, text, n + 1);
  b->len += n;
}

static void sb_param(sbuf *b, size_t i) {
  char num[32];
  snprintf(num, sizeof num, "?%zu", i);
  sb_put(b, num);
}

static int sb_finish(sbuf *b, char **out, const char *what, cod_err *err) {
  if (!b->ok || !b->s) {
    cod_free(b->s);
    return cod_err_set(err, COD_ENOMEM, "results db: out of memory for the %s", what);
  }
  *out = b->s;
  return COD_OK;
}

static void sb_create_table(sbuf *b, const res_table *t) {
  sb_put(b, "CREATE TABLE "), sb_put(b, t->name), sb_put(b, " (\n");
  for (size_t i = 0; i < t->n_cols; i++) {
    const res_column *c = &t->cols[i];
    sb_put(b, "  "), sb_put(b, c->name), sb_put(b, " "), sb_put(b, res_ctype_sql(c->ctype));
    if (c->constraints[0]) sb_put(b, " "), sb_put(b, c->constraints);
    if (i + 1 < t->n_cols || t->constraints) sb_put(b, ",");
    if (c->comment) sb_put(b, " -- "), sb_put(b, c->comment);
    sb_put(b, "\n");
  }
  if (t->constraints) sb_put(b, "  "), sb_put(b, t->constraints), sb_put(b, "\n");
  sb_put(b, ")");
  if (t->options) sb_put(b, " "), sb_put(b, t->options);
  sb_put(b, ";\n");
}

int res_schema_create_sql(char **out, cod_err *err) {
  sbuf b = {NULL, 0, 0, 1};
  for (size_t i = 0; i < RES_TABLE_COUNT; i++) sb_create_table(&b, &tables[i]);
  sb_put(&b, schema_indexes);
  return sb_finish(&b, out, "schema", err);
}

int res_schema_insert_sql(const res_table *t, char **out, cod_err *err) {
  return res_schema_insert_rows_sql(t, 1, out, err);
}

int res_schema_insert_rows_sql(const res_table *t, size_t rows, char **out, cod_err *err) {
  if (rows < 1) return cod_err_set(err, COD_EINVAL, "insert statement: rows >= 1");
  sbuf b = {NULL, 0, 0, 1};
  sb_put(&b, "INSERT INTO "), sb_put(&b, t->name), sb_put(&b, " (");
  size_t n = 0;
  for (size_t i = 0; i < t->n_cols; i++) {
    if (t == &tables[RES_TABLE_RUNS] && t->cols[i].ctype == RES_CT_RUN_ID) continue;
    sb_put(&b, n++ ? ", " : ""), sb_put(&b, t->cols[i].name);
  }
  sb_put(&b, ") VALUES ");
  n = 0; /* parameters are numbered on across the rows: row r starts at r x columns + 1 */
  for (size_t r = 0; r < rows; r++) {
    sb_put(&b, r ? ", (" : "(");
    size_t k = 0;
    for (size_t i = 0; i < t->n_cols; i++) {
      const res_column *c = &t->cols[i];
      if (t == &tables[RES_TABLE_RUNS] && c->ctype == RES_CT_RUN_ID) continue;
      sb_put(&b, k++ ? ", " : "");
      if (c->if_null) sb_put(&b, "COALESCE(");
      sb_param(&b, ++n);
      if (c->if_null) sb_put(&b, ", "), sb_put(&b, c->if_null), sb_put(&b, ")");
    }
    sb_put(&b, ")");
  }
  return sb_finish(&b, out, "insert statement", err);
}

static int own_table(const res_table *t) {
  for (size_t i = 0; i < RES_TABLE_COUNT; i++)
    if (t == &tables[i]) return 1;
  return 0;
}

int res_schema_export_sql(const res_table *t, char **out, cod_err *err) {
  if (!own_table(t)) return cod_err_set(err, COD_EINVAL, "export: not a table of the schema");
  sbuf b = {NULL, 0, 0, 1};
  sb_put(&b, "SELECT ");
  for (size_t i = 0; i < t->n_cols; i++) sb_put(&b, i ? ", " : ""), sb_put(&b, t->cols[i].name);
  sb_put(&b, " FROM "), sb_put(&b, t->name), sb_put(&b, " ORDER BY ");
  /* the primary keys lead every table: (run_id[, layer_index[, worker | seq]]) */
  size_t nkey = t->n_cols < 3 ? t->n_cols : 3;
  static const char *const ord[3] = {"1", ", 2", ", 3"};
  for (size_t i = 0; i < nkey; i++) sb_put(&b, ord[i]);
  return sb_finish(&b, out, "export query", err);
}

int res_schema_sample_sql(const res_table *t, const res_column *c, char **out, cod_err *err) {
  if (!own_table(t) || c < t->cols || c >= t->cols + t->n_cols)
    return cod_err_set(err, COD_EINVAL, "plot: not a column of the schema");
  sbuf b = {NULL, 0, 0, 1};
  if (t == &tables[RES_TABLE_LAYERS]) {
    sb_put(&b, "SELECT run_id, layer_name, "), sb_put(&b, c->name);
    sb_put(&b, " FROM layers WHERE "), sb_put(&b, c->name);
    sb_put(&b, " IS NOT NULL ORDER BY run_id, layer_index");
  } else if (t == &tables[RES_TABLE_WORKERS]) {
    sb_put(&b, "SELECT w.run_id, l.layer_name, w."), sb_put(&b, c->name);
    sb_put(&b, " FROM workers w JOIN layers l ON l.run_id = w.run_id AND l.layer_index = "
               "w.layer_index WHERE w."), sb_put(&b, c->name);
    sb_put(&b, " IS NOT NULL ORDER BY w.run_id, w.layer_index, w.worker");
  } else {
    sb_put(&b, "SELECT run_id, NULL, "), sb_put(&b, c->name), sb_put(&b, " FROM ");
    sb_put(&b, t->name), sb_put(&b, " WHERE "), sb_put(&b, c->name);
    sb_put(&b, " IS NOT NULL ORDER BY run_id");
  }
  return sb_finish(&b, out, "plot query", err);
}

int res_schema_outcome_sql(char **out, cod_err *err) {
  const res_table *t = &tables[RES_TABLE_RUNS];
  sbuf b = {NULL, 0, 0, 1};
  sb_put(&b, "UPDATE runs SET ");
  size_t n = 1;
  for (size_t i = 0; i < t->n_cols; i++) {
    const res_column *c = &t->cols[i];
    if (!(c->flags & RES_COL_OUTCOME)) continue;
    sb_put(&b, n > 1 ? ", " : ""), sb_put(&b, c->name), sb_put(&b, " = ");
    if (c->if_null) sb_put(&b, "COALESCE(");
    sb_param(&b, ++n);
    if (c->if_null) sb_put(&b, ", "), sb_put(&b, c->if_null), sb_put(&b, ")");
  }
  sb_put(&b, " WHERE run_id = ?1");
  return sb_finish(&b, out, "outcome statement", err);
}

void res_schema_row_init(const res_table *t, void *row) {
  memset(row, 0, t->row_size);
  unsigned char *base = row;
  for (size_t i = 0; i < t->n_cols; i++) {
    const res_column *c = &t->cols[i];
    void *p = base + c->offset;
    switch (c->ctype) {
    case RES_CT_I64: *(int64_t *)p = RES_NULL_INT; break;
    case RES_CT_INT: *(int *)p = RES_NULL_INT; break;
    case RES_CT_REAL: *(double *)p = NAN; break;
    case RES_CT_TEXT: *(const char **)p = NULL; break;
    case RES_CT_U64:
    case RES_CT_RUN_ID: break;
    }
  }
}
