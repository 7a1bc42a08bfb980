CREATE TABLE runs (
  run_id INTEGER PRIMARY KEY,
  run_key TEXT NOT NULL UNIQUE, -- scenario_hash/p<point>/t<trial>
  scenario_path TEXT,
  scenario_hash TEXT NOT NULL,
  point_index INTEGER NOT NULL CHECK (point_index >= 0),
  trial INTEGER NOT NULL CHECK (trial >= 0),
  seed INTEGER NOT NULL, -- uint64 stored as its int64 bit pattern
  backend TEXT NOT NULL CHECK (backend IN ('sim','mpi')),
  program_version TEXT NOT NULL,
  started_at TEXT NOT NULL, -- wall clock, ISO-8601 UTC
  wall_s REAL, -- wall-clock duration of the run
  params_json TEXT CHECK (params_json IS NULL OR json_valid(params_json)),
  scheme TEXT NOT NULL,
  model TEXT NOT NULL,
  workers INTEGER, -- n
  ka INTEGER,
  kb INTEGER,
  delta INTEGER,
  precision TEXT,
  status TEXT NOT NULL CHECK (status = 'ok' OR status = 'undecodable' OR status = 'error' OR status LIKE 'infeasible: %'),
  status_time_s REAL, -- simulated time the status was known
  latency_s REAL, -- end-to-end simulated latency
  e2e_mse REAL,
  e2e_rel_error REAL,
  e2e_max_abs_error REAL,
  storage_model_bytes REAL, -- storage = whole-model: per-worker coded filters of every served layer + largest slab
  an_storage_model_bytes REAL, -- the same, analytic model
  storage_overflow_layer INTEGER, -- first conv layer whose storage overflowed
  storage_overflow_bytes REAL, -- its need - smallest worker storage
  energy_j REAL, -- workers + master per inference; NULL: not modelled
  energy_workers_j REAL, -- all workers per inference
  energy_master_j REAL -- the master per inference
);
CREATE TABLE layers (
  run_id INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  layer_index INTEGER NOT NULL CHECK (layer_index >= 0),
  layer_name TEXT,
  ka INTEGER,
  kb INTEGER,
  delta INTEGER,
  workers_used TEXT, -- comma-separated worker ids
  t_encode_s REAL, -- simulated seconds
  t_to_worker_s REAL, -- simulated seconds
  t_compute_s REAL, -- simulated seconds
  t_to_master_s REAL, -- simulated seconds
  t_decode_s REAL, -- simulated seconds
  t_total_s REAL, -- simulated seconds
  cpu_encode_s REAL, -- real CPU seconds
  cpu_compute_s REAL, -- real CPU seconds
  cpu_decode_s REAL, -- real CPU seconds
  mse REAL,
  rel_error REAL,
  max_abs_error REAL,
  cond REAL,
  cond_flagged INTEGER CHECK (cond_flagged IN (0,1)),
  worst_sets_tried INTEGER CHECK (worst_sets_tried >= 1), -- stragglers = worst: sets searched; NULL for random stragglers
  worst_exhaustive INTEGER CHECK (worst_exhaustive IN (0,1)), -- stragglers = worst: 1 if all C(n, delta) sets were searched
  status TEXT NOT NULL CHECK (status = 'ok' OR status = 'undecodable' OR status = 'error' OR status = 'skipped' OR status LIKE 'infeasible: %'),
  an_to_worker_bytes REAL, -- analytic model, NULL if not computed
  an_to_master_bytes REAL, -- analytic model, NULL if not computed
  an_storage_bytes REAL, -- analytic model, NULL if not computed
  an_compute_flops REAL, -- analytic model, NULL if not computed
  an_latency_s REAL, -- analytic model, NULL if not computed
  storage_need_bytes REAL, -- per-worker need checked (whole-model: cumulative); NULL per-layer
  storage_overflow_bytes REAL, -- need - smallest worker storage, if > 0
  energy_workers_j REAL, -- all workers over the layer; NULL: not modelled
  energy_master_j REAL, -- the master over the layer
  an_energy_j REAL, -- analytic model, NULL if not computed
  conv_algo TEXT, -- the workers' slab convolution (im2col, winograd-2x2, ...); NULL in model-only runs
  PRIMARY KEY (run_id, layer_index)
) WITHOUT ROWID;
CREATE TABLE workers (
  run_id INTEGER NOT NULL,
  layer_index INTEGER NOT NULL,
  worker INTEGER NOT NULL CHECK (worker >= 0),
  class TEXT,
  bytes_to_worker INTEGER,
  bytes_to_master INTEGER,
  bytes_stored INTEGER,
  flops REAL,
  status TEXT NOT NULL CHECK (status = 'used' OR status = 'cancelled' OR status = 'failed' OR status = 'straggler' OR status = 'refused'),
  t_finish_s REAL, -- simulated; NULL if it never finished
  t_busy_s REAL, -- simulated computing time; NULL if no data arrived
  energy_j REAL, -- over the layer; NULL: energy not modelled
  tasks INTEGER CHECK (tasks IS NULL OR tasks >= 0), -- coded tasks assigned ([cluster] allocation)
  tasks_used INTEGER CHECK (tasks_used IS NULL OR tasks_used BETWEEN 0 AND tasks), -- task results the decoder used
  PRIMARY KEY (run_id, layer_index, worker),
  FOREIGN KEY (run_id, layer_index) REFERENCES layers(run_id, layer_index)
    ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED
) WITHOUT ROWID;
CREATE TABLE events (
  run_id INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  t_ns INTEGER NOT NULL, -- simulated nanoseconds
  kind TEXT NOT NULL,
  worker INTEGER,
  layer_index INTEGER,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE data_runs (
  run_id INTEGER PRIMARY KEY REFERENCES runs(run_id) ON DELETE CASCADE,
  source TEXT NOT NULL, -- [data] source (and split)
  images INTEGER NOT NULL CHECK (images >= 1), -- images, one coded inference each
  top1_coded REAL, -- share of labelled images right, coded; NULL without labels
  top1_uncoded REAL, -- the same, uncoded pipeline
  agreement REAL NOT NULL, -- share with coded argmax = uncoded argmax
  undecodable INTEGER NOT NULL, -- images with an undecodable layer
  max_logit_error REAL -- max |coded - uncoded| logit over decoded images
);
CREATE TABLE requests (
  run_id INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  request_id INTEGER NOT NULL CHECK (request_id >= 0), -- issue order from 0
  arrival_s REAL NOT NULL, -- simulated seconds
  start_s REAL, -- master begins its first layer; NULL if never
  finish_s REAL, -- decoded or undecodable; NULL if dropped
  status TEXT NOT NULL CHECK (status IN ('done','undecodable','dropped')), -- done, undecodable (a layer could not decode) or dropped (saturated stop)
  latency_s REAL, -- finish_s - arrival_s of a done request
  e2e_rel_error REAL, -- compute = real: output vs uncoded pipeline
  max_layer_rel_error REAL, -- compute = real: worst decoded layer
  energy_j REAL, -- busy power x busy time, J/FLOP x FLOPs and J/byte x bytes of its own tasks and master work, at both ends; no idle share (load_runs.energy_idle_j); a batch's split evenly; NULL: energy not modelled
  PRIMARY KEY (run_id, request_id)
) WITHOUT ROWID;
CREATE TABLE load_runs (
  run_id INTEGER PRIMARY KEY REFERENCES runs(run_id) ON DELETE CASCADE,
  arrivals TEXT NOT NULL, -- [load] arrivals
  cancel TEXT NOT NULL, -- [load] cancel
  service TEXT NOT NULL, -- [load] service
  offered_per_s REAL, -- offered load; NULL for closed loops
  requests INTEGER NOT NULL CHECK (requests >= 1), -- [load] requests issued
  warmup INTEGER NOT NULL CHECK (warmup >= 0), -- [load] warmup: first requests left out of the statistics
  completed INTEGER NOT NULL, -- done requests, warm-up included
  undecodable INTEGER NOT NULL, -- requests with a layer that could not decode
  dropped INTEGER NOT NULL, -- in flight when a saturated run stopped
  measured INTEGER NOT NULL, -- done requests with id >= warmup
  throughput_per_s REAL, -- measured / measured window
  lat_mean_s REAL, -- mean latency of the measured requests
  lat_mean_ci_s REAL, -- half-width of the 95 % CI, batch means
  lat_p50_s REAL, -- histogram, 0.5 % relative
  lat_p50_ci_s REAL, -- half-width of the 95 % CI, batch means
  lat_p95_s REAL, -- 95th percentile latency, histogram
  lat_p95_ci_s REAL, -- half-width of the 95 % CI, batch means
  lat_p99_s REAL, -- 99th percentile latency, histogram
  lat_p99_ci_s REAL, -- half-width of the 95 % CI, batch means
  ci_batches INTEGER, -- non-empty batches behind the CIs
  saturated INTEGER NOT NULL CHECK (saturated IN (0,1)), -- 1: stopped at [load] queue_limit or time_limit_s
  saturated_at_s REAL, -- when it stopped there
  max_in_flight INTEGER, -- most requests in flight at once
  sim_time_s REAL, -- simulated length of the run
  events INTEGER, -- engine events fired
  compute TEXT NOT NULL CHECK (compute IN ('real','model')), -- real: every done request's numbers computed
  max_e2e_rel_error REAL, -- compute = real: worst request output error
  max_layer_rel_error REAL, -- compute = real: worst decoded layer
  singular INTEGER, -- compute = real: done requests with a singular decode
  energy_j REAL, -- workers + master over 0 .. sim_time_s: sum of requests.energy_j + energy_unattributed_j + energy_idle_j; NULL: not modelled
  energy_idle_j REAL, -- idle_w x (sim_time_s - busy time) of every worker and the master, in no request's energy_j
  energy_unattributed_j REAL, -- work of tasks that ran on after their request ended (cancel = never)
  energy_req_mean_j REAL, -- mean requests.energy_j of the measured requests (no idle share)
  energy_req_mean_ci_j REAL -- half-width of the 95 % CI, batch means
);
CREATE TABLE load_workers (
  run_id INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  worker INTEGER NOT NULL CHECK (worker >= 0), -- worker id
  class TEXT, -- the worker's [class NAME], or default
  utilisation REAL, -- busy time / sim_time_s
  queue_mean REAL, -- time-average tasks queued or in service
  queue_max INTEGER, -- most tasks at the worker at once
  tasks_done INTEGER, -- tasks that ran to completion
  tasks_cancelled INTEGER, -- dropped by a decode, queued or running
  PRIMARY KEY (run_id, worker)
) WITHOUT ROWID;
CREATE TABLE skipped_points (
  scenario_hash TEXT NOT NULL, -- runs.scenario_hash of the sweep
  scenario_path TEXT,
  point_index INTEGER NOT NULL CHECK (point_index >= 0),
  label TEXT, -- the point's varying values
  kind TEXT NOT NULL CHECK (kind IN ('infeasible','duplicate')),
  same_as INTEGER, -- duplicate: the point that ran in its place
  reason TEXT NOT NULL, -- why it did not run
  PRIMARY KEY (scenario_hash, point_index) ON CONFLICT IGNORE
) WITHOUT ROWID;
CREATE INDEX runs_group ON runs(model, scheme, workers, ka, kb, precision);
