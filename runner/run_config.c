/* run_config.c: defaults, the key registry, value parsing, validation and JSON.
 *
 * Every key is one row of the table of keys: section, name, kind, where it lives in
 * run_config (or in run_class for the keys of [class NAME] sections), its bounds and the
 * human text used in messages. The rows of the latency laws ([latency] and [class NAME]:
 * model, each law parameter, fail_at_s, base) are not written here: they are generated
 * from sim/'s law registry (sim_latency.h) into the table once, on first use (pthread_once),
 * so a law added to sim/ is a scenario key with its bounds, default and help at once, and
 * nothing here names a law. Parsing and printing both go through the table, so the
 * canonical text of a value (run_config_key_parse) and the JSON (run_config_to_json) can
 * never disagree. Reals are printed with the fewest significant digits that read back to
 * the same double, so canonical texts are short and exact.
 */
#include "run_config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "cod_alloc.h"
#include "cod_registry.h"
#include "an_model.h"
#include "run_alloc.h"
#include "run_exec.h"
#include "run_load.h"
#include "run_units.h"
#include "sim_latency.h"

/* ---- the table -------------------------------------------------------------------- */

enum {
  F_LO_OPEN = 1u,  /* lower bound excluded (value > lo) */
  F_ULONG = 2u,    /* integer stored as unsigned long, else size_t */
  F_NPY = 4u,      /* string: keyword or a path ending in .npy */
  F_NONEMPTY = 8u, /* string may not be empty */
  F_CLASS = 16u,   /* offset is into run_class, not run_config */
  F_LAW_KEYS = 32u, /* placeholder row: the law keys generated from sim/ go here */
  F_BASE_LAW = 64u, /* enum of laws: only those that wrap none and read no trace */
  F_SCHEME = 128u,  /* ENUM whose names are coding/'s registry, stored as the name */
  F_KW_MAX = 256u   /* INT: the keyword means SIZE_MAX (RUN_DELTA_AUTO), not 0 */
};

typedef struct key_def {
  run_key_info info;         /* public part; must stay first */
  size_t offset;             /* of the field in run_config (or run_class with F_CLASS) */
  unsigned flags;
  double lo, hi;             /* bounds of reals and integers (integers are < 2^53 here) */
  const char *keyword;       /* REAL: word meaning INFINITY; INT: word meaning 0 (SIZE_MAX
                                with F_KW_MAX);
                                STRING: word accepted besides a path */
  const char *const *names;  /* ENUM: NULL-terminated names, value = position (F_SCHEME:
                                NULL, the registry's names, stored as text) */
  size_t maxlen;             /* STRING: buffer size */
} key_def;

static const char *const precision_names[] = {"fp64", "fp32", "bf16", "fp16", NULL};
static const char *const stragglers_names[] = {"random", "worst", NULL};
static const char *const decode_names[] = {"fast", "generic", NULL};
static const char *const conv_algo_names[] = {"im2col", "auto", NULL};
static const char *const compute_names[] = {"real", "model", NULL};
static const char *const cond_names[] = {"used", "worst", "none", NULL};
static const char *const axis_names[] = {"rows", "cols", NULL};
static const char *const storage_names[] = {"fail", "repartition", NULL};
static const char *const storage_mode_names[] = {"per-layer", "whole-model", NULL};
static const char *const sharing_names[] = {"sequential", "fair", NULL};
static const char *const timing_names[] = {"measured", "model", NULL};
static const char *const split_names[] = {"test", "train", NULL};
static const char *const allocation_names[] = {"equal", "proportional", NULL};
static const char *const returns_names[] = {"per-worker", "per-task", NULL};
static const char *const arrivals_names[] = {"none", "poisson", "periodic", "trace", "closed",
                                             NULL};
static const char *const cancel_names[] = {"on-decode", "never", NULL};
static const char *const service_names[] = {"fcfs", "ps", NULL};

#define SEED_MAX 9007199254740991.0 /* 2^53 - 1: exact in JSON readers and doubles */

/* The accepted values of [coding] scheme, "a, b or c", written from coding/'s registry
 * when the key table is built (key_rows_build, once). */
static char scheme_expect[512];

static void scheme_expect_fill(void) {
  size_t used = 0, n = cod_scheme_count();
  for (size_t i = 0; i < n; i++) {
    const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
    int k = snprintf(scheme_expect + used, sizeof scheme_expect - used, "%s%s", sep,
                     cod_scheme_at(i)->name);
    assert(k > 0 && used + (size_t)k < sizeof scheme_expect);
    used += (size_t)k;
  }
}

#define INT_CAP 1e9                 /* sizes above this are certainly mistakes */

#define OFF(f) offsetof(run_config, f)
#define COFF(f) offsetof(run_class, f)
#define INFO(sec, k, kind, expect, dflt) {sec, k, kind, expect, dflt}

/* The law keys exist twice: in [latency] (offsets into run_config.latency) and in
 * [class NAME] (offsets into run_class.worker.latency); each placeholder row holds the
 * offset of the run_latency the generated rows refer to. */
#define LAW_KEYS(SEC, OFFSET, FL)                                                         \
  {INFO(SEC, NULL, 0, NULL, NULL), OFFSET, (FL) | F_LAW_KEYS, 0, 0, NULL, NULL, 0}

/* The five energy keys of a device (run_energy_params at OFFSET): [cluster] (default
 * worker), [class NAME] and [master]. Joules and watts in [0, 1e12] (so every energy is finite); 0 everywhere = not modelled. */
#define ENERGY_KEY(SEC, K, FIELD, EXPECT, OFFSET, FL, DFLT)                                \
  {INFO(SEC, K, RUN_KEY_REAL, EXPECT, DFLT), (OFFSET) + offsetof(run_energy_params, FIELD), \
   FL, 0, 1e12, NULL, NULL, 0}
#define ENERGY_KEYS(SEC, OFFSET, FL, DFLT)                                                 \
  ENERGY_KEY(SEC, "j_per_flop", j_per_flop, "a real in [0, 1e12], J per FLOP", OFFSET, FL, DFLT), \
  ENERGY_KEY(SEC, "j_per_byte_sent", j_per_byte_sent, "a real in [0, 1e12], J per byte sent",     \
             OFFSET, FL, DFLT),                                                            \
  ENERGY_KEY(SEC, "j_per_byte_recv", j_per_byte_recv, "a real in [0, 1e12], J per byte received", \
             OFFSET, FL, DFLT),                                                            \
  ENERGY_KEY(SEC, "idle_w", idle_w, "a real in [0, 1e12], W while idle", OFFSET, FL, DFLT), \
  ENERGY_KEY(SEC, "busy_w", busy_w, "a real in [0, 1e12], W while computing", OFFSET, FL, \
             DFLT)

/* The survivors' law of fail-stop when the scenario names none (the runner's choice; sim's
 * own default base is deterministic). */
#define RUN_BASE_DEFAULT SIM_LAT_SHIFTED_EXP

static const key_def static_keys[] = {
  /* [run] */
  {INFO("run", "name", RUN_KEY_STRING, "a non-empty name", "the file's base name"),
   OFF(run.name), F_NONEMPTY, 0, 0, NULL, NULL, RUN_NAME_MAX},
  {INFO("run", "trials", RUN_KEY_INT, "an integer >= 1 (repetitions)", "1"),
   OFF(run.trials), 0, 1, INT_CAP, NULL, NULL, 0},
  {INFO("run", "seed", RUN_KEY_INT, "an integer in [0, 2^53-1]", "1"), OFF(run.seed),
   F_ULONG, 0, SEED_MAX, NULL, NULL, 0},
  {INFO("run", "precision", RUN_KEY_ENUM, "fp64, fp32, bf16 or fp16", "fp64"), OFF(run.precision), 0,
   0, 0, NULL, precision_names, 0},
  {INFO("run", "decode", RUN_KEY_ENUM, "fast or generic", "fast"), OFF(run.decode), 0, 0,
   0, NULL, decode_names, 0},
  {INFO("run", "snr_db", RUN_KEY_REAL, "none or a real SNR in dB in [-100, 300]", "none"),
   OFF(run.snr_db), 0, RUN_SNR_DB_MIN, RUN_SNR_DB_MAX, "none", NULL, 0},
  {INFO("run", "trace", RUN_KEY_BOOL, "true or false", "false"), OFF(run.trace), 0, 0, 0,
   NULL, NULL, 0},
  {INFO("run", "cond_bound", RUN_KEY_REAL, "a real > 0 (condition number)", "1e10"),
   OFF(run.cond_bound), F_LO_OPEN, 0, INFINITY, NULL, NULL, 0},
  {INFO("run", "compute", RUN_KEY_ENUM, "real or model", "real"), OFF(run.compute), 0, 0,
   0, NULL, compute_names, 0},
  {INFO("run", "conv_algo", RUN_KEY_ENUM, "im2col or auto (coding/cod_wino.h's per-layer rule)",
        "im2col"), OFF(run.conv_algo), 0, 0, 0, NULL, conv_algo_names, 0},
  {INFO("run", "cond", RUN_KEY_ENUM, "used, worst or none (what layers.cond holds)", "used"),
   OFF(run.cond), 0, 0, 0, NULL, cond_names, 0},
  /* [model] */
  {INFO("model", "name", RUN_KEY_STRING,
        "lenet5, alexnet, vgg16, resnet18 or a model file path", "alexnet"),
   OFF(model.name), F_NONEMPTY, 0, 0, NULL, NULL, RUN_PATH_MAX},
  {INFO("model", "layers", RUN_KEY_LAYERS,
        "all, or conv layer indices 1..64 joined by '+', with a-b spans (e.g. 1-3+5)",
        "all"), OFF(model.layers), 0, 1, RUN_LAYERS_MAX, NULL, NULL, 0},
  {INFO("model", "weights", RUN_KEY_STRING, "he or a directory path", "he"),
   OFF(model.weights), F_NONEMPTY, 0, 0, "he", NULL, RUN_PATH_MAX},
  {INFO("model", "weights_seed", RUN_KEY_INT, "an integer in [0, 2^53-1]", "1"),
   OFF(model.weights_seed), F_ULONG, 0, SEED_MAX, NULL, NULL, 0},
  {INFO("model", "input", RUN_KEY_STRING, "random or a path ending in .npy", "random"),
   OFF(model.input), F_NONEMPTY | F_NPY, 0, 0, "random", NULL, RUN_PATH_MAX},
  {INFO("model", "input_seed", RUN_KEY_INT, "an integer in [0, 2^53-1]", "1"),
   OFF(model.input_seed), F_ULONG, 0, SEED_MAX, NULL, NULL, 0},
  /* [coding] */
  {INFO("coding", "scheme", RUN_KEY_ENUM, scheme_expect, "nsctc-rot"), OFF(coding.scheme),
   F_SCHEME, 0, 0, NULL, NULL, RUN_SCHEME_NAME_MAX},
  {INFO("coding", "ka", RUN_KEY_INT, "auto or an integer >= 1 (input partitions)", "4"),
   OFF(coding.ka), 0, 1, INT_CAP, "auto", NULL, 0},
  {INFO("coding", "kb", RUN_KEY_INT, "auto or an integer >= 1 (filter partitions)", "4"),
   OFF(coding.kb), 0, 1, INT_CAP, "auto", NULL, 0},
  {INFO("coding", "delta", RUN_KEY_INT, "an integer >= 0 (recovery threshold; 0 = unset) "
        "or auto (each layer's latency-optimal delta; needs ka = kb = auto)", "0"),
   OFF(coding.delta), F_KW_MAX, 0, INT_CAP, "auto", NULL, 0},
  {INFO("coding", "replication", RUN_KEY_INT, "an integer >= 1 (copies)", "2"),
   OFF(coding.replication), 0, 1, INT_CAP, NULL, NULL, 0},
  {INFO("coding", "q", RUN_KEY_INT, "an integer >= 0 (0 = scheme default)", "0"),
   OFF(coding.q), 0, 0, INT_CAP, NULL, NULL, 0},
  {INFO("coding", "seed", RUN_KEY_INT,
        "an integer in [0, 2^53-1] (coefficients of seeded schemes)", "1"),
   OFF(coding.seed), F_ULONG, 0, SEED_MAX, NULL, NULL, 0},
  {INFO("coding", "axis", RUN_KEY_ENUM, "rows or cols", "rows"), OFF(coding.axis), 0, 0, 0,
   NULL, axis_names, 0},
  {INFO("coding", "approx_wait", RUN_KEY_INT,
        "an integer >= 0 (results an approximate code waits for; 0 = unset)", "0"),
   OFF(coding.approx_wait), 0, 0, INT_CAP, NULL, NULL, 0},
  {INFO("coding", "approx_deadline_s", RUN_KEY_REAL,
        "none or a time >= 0 in seconds after the encode (approximate codes)", "none"),
   OFF(coding.approx_deadline_s), 0, 0, INFINITY, "none", NULL, 0},
  /* [cluster] */
  {INFO("cluster", "workers", RUN_KEY_INT, "an integer >= 1 (number of workers)", "20"),
   OFF(cluster.workers), 0, 1, 1e6, NULL, NULL, 0},
  {INFO("cluster", "compute_rate_flops", RUN_KEY_REAL, "a real > 0 in FLOP/s", "1e10"),
   OFF(cluster.compute_rate_flops), F_LO_OPEN, 0, INFINITY, NULL, NULL, 0},
  {INFO("cluster", "storage_bytes", RUN_KEY_REAL, "unlimited or a real >= 0 in bytes",
        "unlimited"), OFF(cluster.storage_bytes), 0, 0, INFINITY, "unlimited", NULL, 0},
  {INFO("cluster", "on_storage", RUN_KEY_ENUM, "fail or repartition", "fail"),
   OFF(cluster.on_storage), 0, 0, 0, NULL, storage_names, 0},
  {INFO("cluster", "stragglers", RUN_KEY_ENUM, "random or worst", "random"),
   OFF(cluster.stragglers), 0, 0, 0, NULL, stragglers_names, 0},
  {INFO("cluster", "worst_sets", RUN_KEY_INT,
        "an integer >= 1 (worker sets the worst-set search may examine)", "20000"),
   OFF(cluster.worst_sets), 0, 1, INT_CAP, NULL, NULL, 0},
  {INFO("cluster", "storage", RUN_KEY_ENUM, "per-layer or whole-model", "per-layer"),
   OFF(cluster.storage), 0, 0, 0, NULL, storage_mode_names, 0},
  ENERGY_KEYS("cluster", OFF(cluster.energy), 0, "0"),
  {INFO("cluster", "allocation", RUN_KEY_ENUM, "equal or proportional", "equal"),
   OFF(cluster.allocation), 0, 0, 0, NULL, allocation_names, 0},
  {INFO("cluster", "tasks", RUN_KEY_INT,
        "unset or an integer > workers (coded tasks in all, allocation = proportional)",
        "unset"), OFF(cluster.tasks), 0, 1, INT_CAP, "unset", NULL, 0},
  {INFO("cluster", "returns", RUN_KEY_ENUM, "per-worker or per-task", "per-worker"),
   OFF(cluster.returns), 0, 0, 0, NULL, returns_names, 0},
  /* [latency] */
  LAW_KEYS("latency", OFF(latency), 0),
  {INFO("latency", "fail_workers", RUN_KEY_WORKER_SET,
        "none or worker indices separated by spaces, with a-b spans (e.g. 0 3 7)", "none"),
   OFF(failures.fail_workers), 0, 0, 1e6, NULL, NULL, 0},
  {INFO("latency", "trace_file", RUN_KEY_STRING, "a path (empty = none)", ""),
   OFF(failures.trace_file), 0, 0, 0, NULL, NULL, RUN_PATH_MAX},
  /* [network] */
  {INFO("network", "to_master_bps", RUN_KEY_REAL, "unlimited or a real > 0 in bit/s", "1e9"),
   OFF(network.uplink_bps), F_LO_OPEN, 0, INFINITY, "unlimited", NULL, 0},
  {INFO("network", "to_worker_bps", RUN_KEY_REAL, "unlimited or a real > 0 in bit/s", "1e9"),
   OFF(network.downlink_bps), F_LO_OPEN, 0, INFINITY, "unlimited", NULL, 0},
  {INFO("network", "latency_s", RUN_KEY_REAL, "a real >= 0 in seconds", "0"),
   OFF(network.latency_s), 0, 0, INFINITY, NULL, NULL, 0},
  {INFO("network", "master_bps", RUN_KEY_REAL, "unlimited or a real > 0 in bit/s", "1e10"),
   OFF(network.master_bps), F_LO_OPEN, 0, INFINITY, "unlimited", NULL, 0},
  {INFO("network", "master_sharing", RUN_KEY_ENUM, "sequential or fair", "fair"),
   OFF(network.master_sharing), 0, 0, 0, NULL, sharing_names, 0},
  /* [master] */
  {INFO("master", "speed_factor", RUN_KEY_REAL, "a real > 0 (multiplies wall time)", "1"),
   OFF(master.speed_factor), F_LO_OPEN, 0, INFINITY, NULL, NULL, 0},
  {INFO("master", "timing", RUN_KEY_ENUM, "measured or model", "model"),
   OFF(master.timing), 0, 0, 0, NULL, timing_names, 0},
  {INFO("master", "master_flops", RUN_KEY_REAL, "a real > 0 in FLOP/s", "1e11"),
   OFF(master.master_flops), F_LO_OPEN, 0, INFINITY, NULL, NULL, 0},
  ENERGY_KEYS("master", OFF(master.energy), 0, "0"),
  /* [data] */
  {INFO("data", "source", RUN_KEY_STRING,
        "none, fashion-mnist, or a path to IDX images (.gz or not) or a uint8 .npy", "none"),
   OFF(data.source), F_NONEMPTY, 0, 0, "none", NULL, RUN_PATH_MAX},
  {INFO("data", "split", RUN_KEY_ENUM, "test or train", "test"), OFF(data.split), 0, 0, 0,
   NULL, split_names, 0},
  {INFO("data", "images", RUN_KEY_INT, "an integer >= 1 (images evaluated)", "100"),
   OFF(data.images), 0, 1, 1e7, NULL, NULL, 0},
  {INFO("data", "first", RUN_KEY_INT, "an integer >= 0 (index of the first image)", "0"),
   OFF(data.first), 0, 0, 1e7, NULL, NULL, 0},
  {INFO("data", "mean", RUN_KEY_REAL, "a real (subtracted from pixel / 255)", "0"),
   OFF(data.mean), 0, -INFINITY, INFINITY, NULL, NULL, 0},
  {INFO("data", "std", RUN_KEY_REAL, "a real > 0 (divides pixel / 255 - mean)", "1"),
   OFF(data.std), F_LO_OPEN, 0, INFINITY, NULL, NULL, 0},
  {INFO("data", "labels", RUN_KEY_STRING,
        "none or a path to IDX (.gz or not) or uint8 .npy labels (path sources)", "none"),
   OFF(data.labels), F_NONEMPTY, 0, 0, "none", NULL, RUN_PATH_MAX},
  /* [load] */
  {INFO("load", "arrivals", RUN_KEY_ENUM, "none, poisson, periodic, trace or closed", "none"),
   OFF(load.arrivals), 0, 0, 0, NULL, arrivals_names, 0},
  {INFO("load", "rate_per_s", RUN_KEY_REAL, "a real > 0 in requests/s", "10"),
   OFF(load.rate_per_s), F_LO_OPEN, 0, 1e12, NULL, NULL, 0},
  {INFO("load", "requests", RUN_KEY_INT, "an integer >= 1 (requests issued)", "1000"),
   OFF(load.requests), 0, 1, 1e12, NULL, NULL, 0},
  {INFO("load", "warmup", RUN_KEY_INT,
        "an integer >= 0 (first requests left out of the statistics)", "0"),
   OFF(load.warmup), 0, 0, 1e12, NULL, NULL, 0},
  {INFO("load", "trace", RUN_KEY_STRING, "a path of arrival times in s (empty = none)", ""),
   OFF(load.trace), 0, 0, 0, NULL, NULL, RUN_PATH_MAX},
  {INFO("load", "clients", RUN_KEY_INT, "an integer >= 1 (closed-loop clients)", "1"),
   OFF(load.clients), 0, 1, 1e6, NULL, NULL, 0},
  {INFO("load", "think_s", RUN_KEY_REAL, "a time >= 0 in s (mean exponential think time)",
        "0"), OFF(load.think_s), 0, 0, 1e9, NULL, NULL, 0},
  {INFO("load", "cancel", RUN_KEY_ENUM, "on-decode or never", "on-decode"), OFF(load.cancel),
   0, 0, 0, NULL, cancel_names, 0},
  {INFO("load", "queue_limit", RUN_KEY_INT,
        "an integer >= 1 (requests in flight beyond which the run is saturated)", "10000"),
   OFF(load.queue_limit), 0, 1, 1e8, NULL, NULL, 0},
  {INFO("load", "time_limit_s", RUN_KEY_REAL,
        "none or a time > 0 in s (simulated time beyond which the run is saturated)", "none"),
   OFF(load.time_limit_s), F_LO_OPEN, 0, INFINITY, "none", NULL, 0},
  {INFO("load", "batch", RUN_KEY_INT, "an integer in [1, 1024] (requests coded together)",
        "1"), OFF(load.batch), 0, 1, 1024, NULL, NULL, 0},
  {INFO("load", "batch_timeout_s", RUN_KEY_REAL, "a time >= 0 in s (wait for a batch)", "0"),
   OFF(load.batch_timeout_s), 0, 0, 1e9, NULL, NULL, 0},
  {INFO("load", "service", RUN_KEY_ENUM, "fcfs or ps", "fcfs"), OFF(load.service), 0, 0, 0,
   NULL, service_names, 0},
  /* [class NAME] */
  {INFO("class", "count", RUN_KEY_INT, "an integer >= 1 (workers in the class)",
        "required"), COFF(count), F_CLASS, 1, 1e6, NULL, NULL, 0},
  {INFO("class", "compute_rate_flops", RUN_KEY_REAL, "a real > 0 in FLOP/s",
        "[cluster] value"), COFF(worker.compute_rate_flops), F_CLASS | F_LO_OPEN, 0,
   INFINITY, NULL, NULL, 0},
  {INFO("class", "to_master_bps", RUN_KEY_REAL, "unlimited or a real > 0 in bit/s",
        "[network] value"), COFF(worker.uplink_bps), F_CLASS | F_LO_OPEN, 0, INFINITY,
   "unlimited", NULL, 0},
  {INFO("class", "to_worker_bps", RUN_KEY_REAL, "unlimited or a real > 0 in bit/s",
        "[network] value"), COFF(worker.downlink_bps), F_CLASS | F_LO_OPEN, 0, INFINITY,
   "unlimited", NULL, 0},
  {INFO("class", "storage_bytes", RUN_KEY_REAL, "unlimited or a real >= 0 in bytes",
        "[cluster] value"), COFF(worker.storage_bytes), F_CLASS, 0, INFINITY, "unlimited",
   NULL, 0},
  LAW_KEYS("class", COFF(worker.latency), F_CLASS),
  ENERGY_KEYS("class", COFF(worker.energy), F_CLASS, "[cluster] value"),
};

#define N_STATIC (sizeof static_keys / sizeof static_keys[0])
#define LAW_ROWS_MAX (SIM_LATENCY_PARAMS_MAX + 3) /* model, parameters, fail_at_s, base */

/* The table of keys: static_keys with each placeholder replaced by the law rows. Written
 * once by key_rows_build (under key_rows_once), read-only afterwards. */
static key_def key_rows[N_STATIC + 2 * LAW_ROWS_MAX];
static size_t n_key_rows;
static pthread_once_t key_rows_once = PTHREAD_ONCE_INIT;
static const char *law_names[SIM_LAT_KINDS + 1];   /* registry order, NULL-terminated */
static char model_expect[256], base_expect[256];   /* "shifted-exp, pareto, ... or x" */
static char param_dflt[SIM_LATENCY_PARAMS_MAX][32]; /* canonical texts of sim's defaults */

/* The law rows of one section, at `off` (the run_latency in run_config or run_class). */
static size_t law_rows(const key_def *ph, key_def *out) {
  const char *sec = ph->info.section;
  const unsigned fl = ph->flags & ~F_LAW_KEYS;
  const size_t off = ph->offset;
  sim_latency_params dp;
  sim_latency_params_default(&dp);
  size_t n = 0;
  out[n++] = (key_def){INFO(sec, "model", RUN_KEY_ENUM, model_expect,
                            sim_latency_law_name(dp.kind)),
                       off + offsetof(run_latency, model), fl, 0, 0, NULL, law_names, 0};
  for (size_t i = 0; i < sim_latency_param_count(); i++) {
    const sim_latency_param *q = sim_latency_param_get(i);
    out[n++] = (key_def){INFO(sec, q->key, RUN_KEY_REAL, q->expect, param_dflt[i]),
                         off + offsetof(run_latency, param) + i * sizeof(double),
                         fl | (q->lo_open ? F_LO_OPEN : 0u), q->lo, q->hi, NULL, NULL, 0};
  }
  out[n++] = (key_def){INFO(sec, "fail_at_s", RUN_KEY_REAL, "a time >= 0 in seconds", "0"),
                       off + offsetof(run_latency, fail_at_s), fl, 0, INFINITY, NULL, NULL, 0};
  out[n++] = (key_def){INFO(sec, "base", RUN_KEY_ENUM, base_expect,
                            sim_latency_law_name(RUN_BASE_DEFAULT)),
                       off + offsetof(run_latency, base), fl | F_BASE_LAW, 0, 0, NULL,
                       law_names, 0};
  assert(n <= LAW_ROWS_MAX);
  return n;
}

static void key_rows_build(void) {
  scheme_expect_fill();
  for (size_t k = 0; k < sim_latency_law_count(); k++) law_names[k] = sim_latency_law_name(k);
  law_names[sim_latency_law_count()] = NULL;
  sim_latency_law_names(model_expect, sizeof model_expect, 0);
  sim_latency_law_names(base_expect, sizeof base_expect,
                        SIM_LAT_WRAPS_BASE | SIM_LAT_READS_TRACE);
  for (size_t i = 0; i < sim_latency_param_count(); i++)
    run_config_format_real(sim_latency_param_get(i)->dflt, param_dflt[i], sizeof param_dflt[i]);
  size_t n = 0;
  for (size_t i = 0; i < N_STATIC; i++) {
    if (static_keys[i].flags & F_LAW_KEYS)
      n += law_rows(&static_keys[i], &key_rows[n]);
    else
      key_rows[n++] = static_keys[i];
  }
  n_key_rows = n;
}

/* The table of keys and its length. */
static const key_def *key_table(size_t *n) {
  pthread_once(&key_rows_once, key_rows_build);
  *n = n_key_rows;
  return key_rows;
}

size_t run_config_key_count(void) {
  size_t n;
  key_table(&n);
  return n;
}

const run_key_info *run_config_key(size_t id) {
  size_t n;
  const key_def *keys = key_table(&n);
  assert(id < n);
  return &keys[id].info;
}

/* Older names still accepted, each for one key of the same section: the link keys were
 * named from the worker's view (uplink = worker -> master), the opposite of the stored
 * columns' up = master -> worker; the direction names to_master / to_worker say it one
 * way. An alias finds its key's id, so a file that sets both is refused as a duplicate key
 * (with both lines), and everything else (values, messages, JSON) is the key's. */
static const struct {
  const char *section, *alias, *key;
} key_aliases[] = {
  {"network", "uplink_bps", "to_master_bps"}, {"network", "downlink_bps", "to_worker_bps"},
  {"class", "uplink_bps", "to_master_bps"},   {"class", "downlink_bps", "to_worker_bps"},
};

const char *run_config_key_alias(const char *section, const char *key) {
  for (size_t a = 0; section && key && a < sizeof key_aliases / sizeof *key_aliases; a++)
    if (strcmp(key_aliases[a].section, section) == 0 && strcmp(key_aliases[a].alias, key) == 0)
      return key_aliases[a].key;
  return NULL;
}

int run_config_key_find(const char *section, const char *key) {
  size_t n;
  const key_def *keys = key_table(&n);
  const char *canon = run_config_key_alias(section, key);
  if (canon) key = canon;
  for (size_t i = 0; i < n; i++)
    if (strcmp(keys[i].info.section, section) == 0 && strcmp(keys[i].info.key, key) == 0)
      return (int)i;
  return -1;
}

/* ---- defaults ------------------------------------------------------------------------ */

/* The law and its parameters are sim/'s defaults (one source); the survivors' law of
 * fail-stop is the scenario's own (RUN_BASE_DEFAULT). */
static void latency_defaults(run_latency *l) {
  sim_latency_params p;
  sim_latency_params_default(&p);
  memset(l, 0, sizeof *l);
  l->model = (int)p.kind;
  for (size_t i = 0; i < sim_latency_param_count(); i++)
    l->param[i] = sim_latency_params_get(&p, i);
  l->fail_at_s = 0.0;
  l->base = RUN_BASE_DEFAULT;
}

void run_latency_sim_params(const run_config *cfg, const run_latency *l,
                            sim_latency_params *out) {
  assert(cfg && l && out);
  sim_latency_params_default(out);
  out->kind = (sim_latency_kind)l->model;
  out->base_kind = (sim_latency_kind)l->base;
  for (size_t i = 0; i < sim_latency_param_count(); i++)
    sim_latency_params_set(out, i, l->param[i]);
  out->trace_path = cfg->failures.trace_file;
}

size_t run_precision_operand_bytes(int precision) {
  return precision == RUN_FP64 ? 8 : precision == RUN_FP32 ? 4 : 2;
}

size_t run_precision_result_bytes(int precision) { return precision == RUN_FP64 ? 8 : 4; }

void run_config_defaults(run_config *cfg) {
  assert(cfg);
  memset(cfg, 0, sizeof *cfg);
  snprintf(cfg->run.name, sizeof cfg->run.name, "run");
  cfg->run.trials = 1;
  cfg->run.seed = 1;
  cfg->run.precision = RUN_FP64;
  cfg->run.decode = RUN_DECODE_FAST;
  cfg->run.conv_algo = RUN_CONV_IM2COL;
  cfg->run.snr_db = INFINITY;
  cfg->run.trace = 0;
  cfg->run.cond_bound = 1e10;
  cfg->run.compute = RUN_COMPUTE_REAL;
  cfg->run.cond = RUN_COND_USED;
  snprintf(cfg->model.name, sizeof cfg->model.name, "alexnet");
  cfg->model.n_layers = 0;
  snprintf(cfg->model.weights, sizeof cfg->model.weights, "he");
  cfg->model.weights_seed = 1;
  snprintf(cfg->model.input, sizeof cfg->model.input, "random");
  cfg->model.input_seed = 1;
  snprintf(cfg->coding.scheme, sizeof cfg->coding.scheme, "nsctc-rot");
  cfg->coding.ka = 4;
  cfg->coding.kb = 4;
  cfg->coding.delta = 0;
  cfg->coding.replication = 2;
  cfg->coding.q = 0;
  cfg->coding.seed = 1;
  cfg->coding.axis = RUN_AXIS_ROWS;
  cfg->coding.approx_wait = 0;
  cfg->coding.approx_deadline_s = INFINITY;
  cfg->cluster.workers = 20;
  cfg->cluster.compute_rate_flops = 1e10;
  cfg->cluster.storage_bytes = INFINITY;
  cfg->cluster.on_storage = RUN_STORAGE_FAIL;
  cfg->cluster.stragglers = RUN_STRAGGLERS_RANDOM;
  cfg->cluster.worst_sets = 20000;
  cfg->cluster.storage = RUN_STORAGE_PER_LAYER;
  cfg->cluster.allocation = RUN_ALLOC_EQUAL;
  cfg->cluster.tasks = 0;
  cfg->cluster.returns = RUN_RETURNS_PER_WORKER;
  latency_defaults(&cfg->latency);
  cfg->network.uplink_bps = 1e9;
  cfg->network.downlink_bps = 1e9;
  cfg->network.latency_s = 0.0;
  cfg->network.master_bps = 1e10;
  cfg->network.master_sharing = RUN_SHARING_FAIR;
  cfg->master.speed_factor = 1.0;
  cfg->master.timing = RUN_TIMING_MODEL;
  cfg->master.master_flops = 1e11;
  snprintf(cfg->data.source, sizeof cfg->data.source, "none");
  cfg->data.split = RUN_SPLIT_TEST;
  cfg->data.images = 100;
  cfg->data.first = 0;
  cfg->data.mean = 0.0;
  cfg->data.std = 1.0;
  snprintf(cfg->data.labels, sizeof cfg->data.labels, "none");
  cfg->load.arrivals = RUN_ARRIVALS_NONE;
  cfg->load.rate_per_s = 10.0;
  cfg->load.requests = 1000;
  cfg->load.warmup = 0;
  cfg->load.clients = 1;
  cfg->load.think_s = 0.0;
  cfg->load.cancel = RUN_CANCEL_ON_DECODE;
  cfg->load.queue_limit = 10000;
  cfg->load.time_limit_s = INFINITY;
  cfg->load.batch = 1;
  cfg->load.batch_timeout_s = 0.0;
  cfg->load.service = RUN_SERVICE_FCFS;
  cfg->n_classes = 0;
}

/* ---- scalar parsing ---------------------------------------------------------------- */

void run_config_format_real(double x, char *buf, size_t len) {
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, len, "%.*g", prec, x);
    if (strtod(buf, NULL) == x) break;
  }
  if (x == floor(x) && fabs(x) < 1e15) { /* "10", not "1e+01" */
    char plain[32];
    snprintf(plain, sizeof plain, "%.0f", x);
    if (strlen(plain) <= strlen(buf) && strlen(plain) < len) memcpy(buf, plain, strlen(plain) + 1);
  }
}

static int parse_real(const char *s, double *out) {
  char *end;
  if (!*s || isspace((unsigned char)*s)) return 0;
  errno = 0;
  double v = strtod(s, &end);
  if (*end || errno == ERANGE || !isfinite(v)) return 0;
  *out = v == 0.0 ? 0.0 : v; /* no negative zero in canonical texts */
  return 1;
}

static int parse_int(const char *s, long long *out) {
  char *end;
  if (!*s || isspace((unsigned char)*s)) return 0;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (*end || errno == ERANGE) return 0;
  *out = v;
  return 1;
}

static int bad(cod_err *err, const key_def *d, const char *text) {
  return cod_err_set(err, COD_EINVAL, "bad value '%.80s': expected %s", text, d->info.expect);
}

/* One index `N` (or `convN` when allow_conv) between s and e, whitespace trimmed. */
static int parse_index_item(const char *s, const char *e, int allow_conv, long long *out) {
  while (s < e && isspace((unsigned char)*s)) s++;
  while (e > s && isspace((unsigned char)e[-1])) e--;
  if (allow_conv && e - s > 4 && strncmp(s, "conv", 4) == 0) s += 4;
  if (s == e || e - s > 15) return 0;
  char buf[24];
  memcpy(buf, s, (size_t)(e - s));
  buf[e - s] = '\0';
  for (const char *p = buf; *p; p++)
    if (!isdigit((unsigned char)*p)) return 0;
  return parse_int(buf, out);
}

static int cmp_size(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return x < y ? -1 : x > y;
}

/* An index set: items joined by '+' (layers) or whitespace (workers), each `a` or `a-b`
 * with lo <= a <= b <= hi. Writes the sorted distinct indices (at most cap) to out. */
static int parse_index_set(const key_def *d, const char *text, int layers, size_t *out,
                           size_t cap, size_t *count) {
  const char *p = text;
  size_t n = 0;
  for (;;) {
    while (*p && isspace((unsigned char)*p)) p++;
    if (!*p) break;
    const char *e = p;
    if (layers) {
      while (*e && *e != '+') e++;
    } else {
      while (*e && !isspace((unsigned char)*e)) e++;
    }
    const char *dash = memchr(p, '-', (size_t)(e - p));
    long long a, b;
    if (dash) {
      if (!parse_index_item(p, dash, layers, &a) || !parse_index_item(dash + 1, e, layers, &b))
        return 0;
    } else {
      if (!parse_index_item(p, e, layers, &a)) return 0;
      b = a;
    }
    if ((double)a < d->lo || b < a || (double)b > d->hi) return 0;
    for (long long i = a; i <= b; i++) {
      if (n == cap) return -1;
      out[n++] = (size_t)i;
    }
    if (layers) {
      if (!*e) break;
      p = e + 1;
      if (!*p) return 0; /* trailing '+' */
    } else {
      p = e;
    }
  }
  qsort(out, n, sizeof *out, cmp_size);
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (m == 0 || out[m - 1] != out[i]) out[m++] = out[i];
  *count = m;
  return 1;
}

/* Canonical text of a sorted distinct index set: spans a-b, joined by sep. */
static int format_index_set(const size_t *v, size_t n, char sep, char *canon,
                            size_t canon_len) {
  size_t used = 0;
  canon[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    size_t j = i;
    while (j + 1 < n && v[j + 1] == v[j] + 1) j++;
    char item[48];
    int k = used ? snprintf(item, sizeof item, "%c", sep) : 0;
    if (j == i)
      snprintf(item + k, sizeof item - (size_t)k, "%zu", v[i]);
    else
      snprintf(item + k, sizeof item - (size_t)k, "%zu-%zu", v[i], v[j]);
    size_t il = strlen(item);
    if (used + il + 1 > canon_len) return 0;
    memcpy(canon + used, item, il + 1);
    used += il;
    i = j;
  }
  return 1;
}

static int utf8_valid(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    if (*p < 0x20 || *p == 0x7f) return 0;
    if (*p < 0x80) {
      p++;
      continue;
    }
    int n = (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2 : (*p & 0xF8) == 0xF0 ? 3 : -1;
    if (n < 0 || *p == 0xC0 || *p == 0xC1 || *p > 0xF4) return 0;
    for (int k = 1; k <= n; k++)
      if ((p[k] & 0xC0) != 0x80) return 0;
    p += n + 1;
  }
  return 1;
}

static int put_canon(char *canon, size_t canon_len, const char *s, cod_err *err) {
  if (strlen(s) + 1 > canon_len)
    return cod_err_set(err, COD_EINVAL, "value too long (%zu bytes)", strlen(s));
  memcpy(canon, s, strlen(s) + 1);
  return COD_OK;
}

int run_config_key_parse(size_t id, const char *text, char *canon, size_t canon_len,
                         cod_err *err) {
  size_t n_keys;
  const key_def *d = key_table(&n_keys) + id;
  assert(id < n_keys && text && canon);
  char buf[64];
  switch (d->info.kind) {
  case RUN_KEY_INT: {
    long long v;
    if (d->keyword && strcmp(text, d->keyword) == 0)
      return put_canon(canon, canon_len, d->keyword, err);
    if (!parse_int(text, &v) || (double)v < d->lo || (double)v > d->hi)
      return bad(err, d, text);
    snprintf(buf, sizeof buf, "%lld", v);
    return put_canon(canon, canon_len, buf, err);
  }
  case RUN_KEY_REAL: {
    double v;
    if (d->keyword && strcmp(text, d->keyword) == 0)
      return put_canon(canon, canon_len, d->keyword, err);
    if (!parse_real(text, &v)) { /* 5G, 100Mbit/s, 1GiB for keys with a unit (run_units.h) */
      char why[COD_ERR_MSG_LEN / 2];
      int u = run_units_parse(text, run_units_of_key(d->info.key), &v, why, sizeof why);
      if (u < 0) return cod_err_set(err, COD_EINVAL, "bad value '%.80s': %s (expected %s)",
                                    text, why, d->info.expect);
      if (u == 0) return bad(err, d, text);
    }
    if (v < d->lo || v > d->hi || ((d->flags & F_LO_OPEN) && v <= d->lo))
      return bad(err, d, text);
    run_config_format_real(v, buf, sizeof buf);
    return put_canon(canon, canon_len, buf, err);
  }
  case RUN_KEY_BOOL: {
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
      if (strcmp(text, yes[i]) == 0) return put_canon(canon, canon_len, "true", err);
      if (strcmp(text, no[i]) == 0) return put_canon(canon, canon_len, "false", err);
    }
    return bad(err, d, text);
  }
  case RUN_KEY_ENUM:
    if (d->flags & F_SCHEME) {
      const cod_scheme_info *si = cod_scheme_find(text, NULL);
      return si ? put_canon(canon, canon_len, si->name, err) : bad(err, d, text);
    }
    for (size_t i = 0; d->names[i]; i++) {
      if (strcmp(text, d->names[i]) != 0) continue;
      if ((d->flags & F_BASE_LAW) &&
          (sim_latency_law_get(i)->traits & (SIM_LAT_WRAPS_BASE | SIM_LAT_READS_TRACE)))
        break;
      return put_canon(canon, canon_len, d->names[i], err);
    }
    return bad(err, d, text);
  case RUN_KEY_STRING:
    if ((d->flags & F_NONEMPTY) && !*text) return bad(err, d, text);
    if (!utf8_valid(text))
      return cod_err_set(err, COD_EINVAL, "bad value: control characters or invalid UTF-8");
    if (strlen(text) + 1 > d->maxlen)
      return cod_err_set(err, COD_EINVAL, "value too long (%zu bytes, at most %zu)",
                         strlen(text), d->maxlen - 1);
    if ((d->flags & F_NPY) && strcmp(text, d->keyword) != 0) {
      size_t n = strlen(text);
      if (n < 5 || strcmp(text + n - 4, ".npy") != 0) return bad(err, d, text);
    }
    return put_canon(canon, canon_len, text, err);
  case RUN_KEY_LAYERS:
  case RUN_KEY_WORKER_SET: {
    int layers = d->info.kind == RUN_KEY_LAYERS;
    const char *empty = layers ? "all" : "none";
    size_t cap = layers ? RUN_LAYERS_MAX : RUN_FAIL_WORKERS_MAX, n = 0;
    size_t idx[RUN_FAIL_WORKERS_MAX > RUN_LAYERS_MAX ? RUN_FAIL_WORKERS_MAX : RUN_LAYERS_MAX];
    char out[RUN_FAIL_WORKERS_MAX * 16];
    if (strcmp(text, empty) == 0) return put_canon(canon, canon_len, empty, err);
    int r = parse_index_set(d, text, layers, idx, cap, &n);
    if (r < 0)
      return cod_err_set(err, COD_EINVAL, "too many indices in '%.80s' (at most %zu)", text,
                         cap);
    if (!r || n == 0 || !format_index_set(idx, n, layers ? '+' : ' ', out, sizeof out))
      return bad(err, d, text);
    return put_canon(canon, canon_len, out, err);
  }
  default:
    assert(0);
    return COD_EINVAL;
  }
}

/* Expand a canonical index set into an ascending array. */
static size_t expand_index_set(const char *canon, char sep, size_t *out, size_t cap) {
  size_t n = 0;
  const char *p = canon;
  while (*p) {
    char *e;
    unsigned long long a = strtoull(p, &e, 10), b = a;
    if (*e == '-') b = strtoull(e + 1, &e, 10);
    for (unsigned long long i = a; i <= b && n < cap; i++) out[n++] = (size_t)i;
    p = *e == sep ? e + 1 : e;
  }
  return n;
}

int run_config_key_apply(run_config *cfg, size_t id, size_t class_index, const char *canon,
                         cod_err *err) {
  size_t n_keys;
  const key_def *d = key_table(&n_keys) + id;
  assert(cfg && id < n_keys && canon);
  char *base = (char *)cfg;
  if (d->flags & F_CLASS) {
    assert(class_index < cfg->n_classes);
    base = (char *)&cfg->classes[class_index];
  }
  void *field = base + d->offset;
  switch (d->info.kind) {
  case RUN_KEY_INT: {
    unsigned long long v = (d->flags & F_KW_MAX) ? (unsigned long long)SIZE_MAX : 0;
    if (!(d->keyword && strcmp(canon, d->keyword) == 0)) v = strtoull(canon, NULL, 10);
    if (d->flags & F_ULONG)
      *(unsigned long *)field = (unsigned long)v;
    else
      *(size_t *)field = (size_t)v;
    return COD_OK;
  }
  case RUN_KEY_REAL:
    *(double *)field = (d->keyword && strcmp(canon, d->keyword) == 0) ? INFINITY
                                                                      : strtod(canon, NULL);
    return COD_OK;
  case RUN_KEY_BOOL:
    *(int *)field = strcmp(canon, "true") == 0;
    return COD_OK;
  case RUN_KEY_ENUM:
    if (d->flags & F_SCHEME) {
      if (!cod_scheme_find(canon, NULL) || strlen(canon) + 1 > d->maxlen)
        return cod_err_set(err, COD_EINVAL, "bad value '%.80s': expected %s", canon,
                           d->info.expect);
      memcpy(field, canon, strlen(canon) + 1);
      return COD_OK;
    }
    for (int i = 0; d->names[i]; i++)
      if (strcmp(canon, d->names[i]) == 0) {
        *(int *)field = i;
        return COD_OK;
      }
    return cod_err_set(err, COD_EINVAL, "bad value '%.80s': expected %s", canon,
                       d->info.expect);
  case RUN_KEY_STRING:
    if (strlen(canon) + 1 > d->maxlen)
      return cod_err_set(err, COD_EINVAL, "value too long");
    memcpy(field, canon, strlen(canon) + 1);
    return COD_OK;
  case RUN_KEY_LAYERS:
    cfg->model.n_layers = strcmp(canon, "all") == 0
                              ? 0
                              : expand_index_set(canon, '+', cfg->model.layers, RUN_LAYERS_MAX);
    return COD_OK;
  case RUN_KEY_WORKER_SET:
    cfg->failures.n_fail_workers =
        strcmp(canon, "none") == 0
            ? 0
            : expand_index_set(canon, ' ', cfg->failures.fail_workers, RUN_FAIL_WORKERS_MAX);
    return COD_OK;
  default:
    assert(0);
    return COD_EINVAL;
  }
}

/* Canonical text of the current value of key id in cfg (class_index for class keys). */
static void key_format(const run_config *cfg, size_t id, size_t class_index, char *buf,
                       size_t len) {
  size_t n_keys;
  const key_def *d = key_table(&n_keys) + id;
  const char *base = (d->flags & F_CLASS) ? (const char *)&cfg->classes[class_index]
                                          : (const char *)cfg;
  const void *field = base + d->offset;
  switch (d->info.kind) {
  case RUN_KEY_INT: {
    unsigned long long v = (d->flags & F_ULONG) ? *(const unsigned long *)field
                                                : *(const size_t *)field;
    if (d->keyword && v == ((d->flags & F_KW_MAX) ? (unsigned long long)SIZE_MAX : 0))
      snprintf(buf, len, "%s", d->keyword);
    else
      snprintf(buf, len, "%llu", v);
    return;
  }
  case RUN_KEY_REAL: {
    double v = *(const double *)field;
    if (isinf(v) && d->keyword)
      snprintf(buf, len, "%s", d->keyword);
    else
      run_config_format_real(v, buf, len);
    return;
  }
  case RUN_KEY_BOOL: snprintf(buf, len, "%s", *(const int *)field ? "true" : "false"); return;
  case RUN_KEY_ENUM:
    if (d->flags & F_SCHEME)
      snprintf(buf, len, "%s", (const char *)field);
    else
      snprintf(buf, len, "%s", d->names[*(const int *)field]);
    return;
  case RUN_KEY_STRING: snprintf(buf, len, "%s", (const char *)field); return;
  default: buf[0] = '\0'; return; /* index sets are printed by the JSON writer */
  }
}

/* ---- run_config_set / enum names ---------------------------------------------------- */

int run_config_set(run_config *cfg, const char *dotted_key, const char *value, cod_err *err) {
  assert(cfg && dotted_key && value);
  char sec[32], key[64];
  size_t class_index = 0;
  const char *dot = strchr(dotted_key, '.');
  if (!dot || (size_t)(dot - dotted_key) >= sizeof sec)
    return cod_err_set(err, COD_EINVAL, "bad key '%.80s': expected section.key", dotted_key);
  memcpy(sec, dotted_key, (size_t)(dot - dotted_key));
  sec[dot - dotted_key] = '\0';
  const char *rest = dot + 1;
  if (strcmp(sec, "class") == 0) {
    const char *dot2 = strrchr(rest, '.');
    size_t i;
    for (i = 0; dot2 && i < cfg->n_classes; i++)
      if (strlen(cfg->classes[i].name) == (size_t)(dot2 - rest) &&
          strncmp(cfg->classes[i].name, rest, (size_t)(dot2 - rest)) == 0)
        break;
    if (!dot2 || i == cfg->n_classes)
      return cod_err_set(err, COD_EINVAL, "unknown class in key '%.80s'", dotted_key);
    class_index = i;
    rest = dot2 + 1;
  }
  if (strlen(rest) >= sizeof key)
    return cod_err_set(err, COD_EINVAL, "unknown key '%.80s'", dotted_key);
  snprintf(key, sizeof key, "%s", rest);
  int id = run_config_key_find(sec, key);
  if (id < 0) return cod_err_set(err, COD_EINVAL, "unknown key '%.80s'", dotted_key);
  char canon[RUN_VALUE_MAX];
  int st = run_config_key_parse((size_t)id, value, canon, sizeof canon, err);
  if (st) return st;
  return run_config_key_apply(cfg, (size_t)id, class_index, canon, err);
}

const char *run_config_enum_name(const char *dotted_key, int value) {
  const char *dot = strchr(dotted_key, '.');
  if (!dot || value < 0) return NULL;
  size_t n_keys;
  const key_def *keys = key_table(&n_keys);
  for (size_t i = 0; i < n_keys; i++) {
    const key_def *d = &keys[i];
    if (d->info.kind != RUN_KEY_ENUM || !d->names || strcmp(d->info.key, dot + 1) != 0 ||
        strlen(d->info.section) != (size_t)(dot - dotted_key) ||
        strncmp(d->info.section, dotted_key, (size_t)(dot - dotted_key)) != 0)
      continue;
    for (int k = 0; d->names[k]; k++)
      if (k == value) return d->names[k];
    return NULL;
  }
  return NULL;
}

/* ---- workers and validation --------------------------------------------------------- */

static void worker_defaults(const run_config *cfg, run_worker *w) {
  w->compute_rate_flops = cfg->cluster.compute_rate_flops;
  w->uplink_bps = cfg->network.uplink_bps;
  w->downlink_bps = cfg->network.downlink_bps;
  w->storage_bytes = cfg->cluster.storage_bytes;
  w->latency = cfg->latency;
  w->energy = cfg->cluster.energy;
}

int run_config_worker(const run_config *cfg, size_t w, run_worker *out) {
  assert(cfg && out && w < cfg->cluster.workers);
  size_t first = 0;
  for (size_t i = 0; i < cfg->n_classes; i++) {
    if (w >= first && w < first + cfg->classes[i].count) {
      *out = cfg->classes[i].worker;
      return (int)i;
    }
    first += cfg->classes[i].count;
  }
  worker_defaults(cfg, out);
  return -1;
}

cod_code_params run_config_code_params(const run_config *cfg, size_t ka, size_t kb) {
  cod_code_params p = cod_code_params_default();
  p.scheme = cfg->coding.scheme;
  p.n_workers = run_alloc_coded_workers(cfg);
  p.ka = ka, p.kb = kb;
  p.q = cfg->coding.q;
  p.seed = cfg->coding.seed;
  p.axis = cfg->coding.axis == RUN_AXIS_COLS ? COD_AXIS_COLS : COD_AXIS_ROWS;
  return p;
}

void run_config_pairs(const run_config *cfg, run_pairs *out) {
  run_pairs p = {cfg->coding.ka, cfg->coding.kb, 0};
  const cod_scheme_info *s = cod_scheme_find(cfg->coding.scheme, NULL);
  assert(s); /* the key accepts registry names only */
  /* uncoded splits into n blocks and replication into n / r: their pair is derived */
  size_t fixed =
      cod_scheme_fixed_threshold(s, run_alloc_coded_workers(cfg), cfg->coding.replication);
  if (fixed && p.ka * p.kb != fixed) p.ka = p.kb = RUN_AUTO;
  int repartition = cfg->cluster.on_storage == RUN_STORAGE_REPARTITION;
  if (p.ka != RUN_AUTO && p.kb != RUN_AUTO && !repartition) {
    *out = p;
    return;
  }
  p.delta = fixed ? fixed : p.ka != RUN_AUTO && p.kb != RUN_AUTO ? p.ka * p.kb : cfg->coding.delta;
  if (repartition) p.ka = p.kb = RUN_AUTO; /* storage may pick any pair of delta */
  *out = p;
}

int run_pairs_allow(const run_pairs *p, size_t a, size_t b) {
  return (p->ka == RUN_AUTO || p->ka == a) && (p->kb == RUN_AUTO || p->kb == b);
}

/* The registry's dry run of the code a layer would plan: the fixed pair, or at least one
 * allowed divisor pair of delta (a layer picks among those that plan). */
static int check_code(const run_config *cfg, cod_err *err) {
  run_pairs p;
  run_config_pairs(cfg, &p);
  cod_err last = {0};
  if (p.delta == 0) {
    cod_code_params cp = run_config_code_params(cfg, p.ka, p.kb);
    if (cod_scheme_check(&cp, &last) == COD_OK) return COD_OK;
    return cod_err_set(err, COD_EINVAL, "[coding] scheme = %s, ka = %zu, kb = %zu: %s",
                       cfg->coding.scheme, p.ka, p.kb, last.msg);
  }
  if (p.delta == RUN_DELTA_AUTO) { /* some delta <= n plans (each layer picks its own) */
    size_t nc = run_alloc_coded_workers(cfg);
    for (size_t d = nc; d >= 1; d--)
      for (size_t a = 1; a <= d; a++) {
        if (d % a) continue;
        cod_code_params cp = run_config_code_params(cfg, a, d / a);
        if (cod_scheme_check(&cp, &last) == COD_OK) return COD_OK;
      }
    return cod_err_set(err, COD_EINVAL, "[coding] scheme = %s: no (ka, kb) with ka * kb <= %zu "
                       "plans on [cluster] workers = %zu: %s", cfg->coding.scheme, nc,
                       cfg->cluster.workers, last.msg);
  }
  for (size_t a = 1; a <= p.delta; a++) {
    if (p.delta % a || !run_pairs_allow(&p, a, p.delta / a)) continue;
    cod_code_params cp = run_config_code_params(cfg, a, p.delta / a);
    if (cod_scheme_check(&cp, &last) == COD_OK) return COD_OK;
  }
  return cod_err_set(err, COD_EINVAL,
                     "[coding] scheme = %s: no (ka, kb) with ka * kb = %zu plans on [cluster] "
                     "workers = %zu: %s", cfg->coding.scheme, p.delta, cfg->cluster.workers,
                     last.msg[0] ? last.msg : "no pair matches the fixed ka or kb");
}

/* The law indices are sim's (a config filled in by code, not parsed, may hold anything),
 * and a law that reads a trace has a trace file. */
static int check_latency(const run_config *cfg, const run_latency *l, const char *where,
                         cod_err *err) {
  const size_t n = sim_latency_law_count();
  if (l->model < 0 || (size_t)l->model >= n || l->base < 0 || (size_t)l->base >= n) {
    char known[256];
    sim_latency_law_names(known, sizeof known, 0);
    return cod_err_set(err, COD_EINVAL, "%s model = %d, base = %d: not a latency law "
                       "(laws 0 .. %zu: %s)", where, l->model, l->base, n - 1, known);
  }
  const sim_latency_law *law = sim_latency_law_get((size_t)l->model);
  if ((law->traits & SIM_LAT_READS_TRACE) && !cfg->failures.trace_file[0])
    return cod_err_set(err, COD_EINVAL, "%s model = %s needs [latency] trace_file (a path)",
                       where, law->ops->name);
  return COD_OK;
}

/* The keys each cross-key rule blames, most specific first (run_config_validate_blame). */
static const char *const B_KAKB[] = {"coding.ka", "coding.kb", "cluster.workers", NULL};
static const char *const B_AUTO[] = {"coding.delta", "coding.ka", "coding.kb", NULL};
static const char *const B_DELTA[] = {"coding.delta", "cluster.workers", NULL};
static const char *const B_KA_DELTA[] = {"coding.ka", "coding.delta", NULL};
static const char *const B_KB_DELTA[] = {"coding.kb", "coding.delta", NULL};
static const char *const B_REPL[] = {"coding.replication", "cluster.workers", NULL};
static const char *const B_WORKERS[] = {"cluster.workers", NULL};
static const char *const B_ALLOC[] = {"cluster.tasks", "cluster.allocation",
                                      "cluster.returns", "cluster.workers", NULL};
static const char *const B_COND[] = {"run.cond", "coding.scheme", NULL};
static const char *const B_CLASS_MODEL[] = {"class.model", "latency.trace_file", NULL};
static const char *const B_COUNTS[] = {"class.count", "cluster.workers", NULL};
static const char *const B_FAILW[] = {"latency.fail_workers", "cluster.workers", NULL};
static const char *const B_TRACE[] = {"latency.model", "latency.trace_file", NULL};
static const char *const B_CODE[] = {"coding.scheme", "coding.ka", "coding.kb",
                                     "coding.delta", "cluster.workers", NULL};
static const char *const B_CODE_Q[] = {"coding.q", "coding.scheme", "coding.ka", "coding.kb",
                                       "cluster.workers", NULL};

int run_config_validate(run_config *cfg, cod_err *err) {
  return run_config_validate_blame(cfg, NULL, NULL, err);
}

int run_config_validate_blame(run_config *cfg, const char *const **blame, int *klass,
                              cod_err *err) {
  assert(cfg);
  const size_t n = cfg->cluster.workers;
  const size_t ka = cfg->coding.ka, kb = cfg->coding.kb, delta = cfg->coding.delta;
  const char *const *dummy_b;
  int dummy_k, st;
  if (!blame) blame = &dummy_b;
  if (!klass) klass = &dummy_k;
  *blame = NULL, *klass = -1;
  if (cfg->load.arrivals != RUN_ARRIVALS_NONE && (st = run_load_validate(cfg, blame, err)))
    return st;
  if (strcmp(cfg->data.source, "none") != 0) {
    if (cfg->run.compute == RUN_COMPUTE_MODEL)
      return cod_err_set(err, COD_EINVAL, "[data] source = %s needs [run] compute = real "
                         "(model-only runs compute no logits)", cfg->data.source);
    if (strcmp(cfg->model.input, "random") != 0)
      return cod_err_set(err, COD_EINVAL, "[data] source = %s and [model] input = %s: the "
                         "data set supplies the images, leave input unset", cfg->data.source,
                         cfg->model.input);
  }
  const cod_scheme_info *sch = cod_scheme_find(cfg->coding.scheme, err);
  if (!sch) return COD_EINVAL;
  cod_err lim = {0};
  if (cod_scheme_check_workers(sch->name, n, &lim))
    return *blame = B_WORKERS, cod_err_set(err, COD_EINVAL, "[cluster] workers = %zu: %s", n, lim.msg);
  if ((st = run_alloc_validate(cfg, err))) return *blame = B_ALLOC, st;
  /* the code's own worker count: [cluster] tasks under allocation = proportional */
  const size_t nc = run_alloc_coded_workers(cfg);
  const char *nc_key = nc == n ? "workers" : "tasks";
  if (sch->approximate) { /* berrut: how many results to wait for */
    int wait = cfg->coding.approx_wait > 0, dl = isfinite(cfg->coding.approx_deadline_s);
    if (wait == dl)
      return cod_err_set(err, COD_EINVAL,
                         "[coding] scheme %s is approximate: set exactly one of [coding] "
                         "approx_wait (results to wait for) and approx_deadline_s (decode "
                         "at a deadline)%s", sch->name, wait ? "; both are set" : "");
    if (cfg->coding.approx_wait > n)
      return cod_err_set(err, COD_EINVAL,
                         "[coding] approx_wait = %zu exceeds [cluster] workers = %zu",
                         cfg->coding.approx_wait, n);
    if (ka == RUN_AUTO || kb != 1)
      return cod_err_set(err, COD_EINVAL,
                         "[coding] scheme %s codes the input only: it needs kb = 1 and a "
                         "fixed ka (got ka = %s, kb = %zu)", sch->name,
                         ka == RUN_AUTO ? "auto" : "set", kb);
    if (cfg->run.cond == RUN_COND_WORST)
      return *blame = B_COND, cod_err_set(err, COD_EINVAL,
                         "[run] cond = worst needs an exact code: scheme %s is approximate "
                         "(it has no worst set)", sch->name);
    if (cfg->cluster.stragglers == RUN_STRAGGLERS_WORST)
      return cod_err_set(err, COD_EINVAL,
                         "[cluster] stragglers = worst needs an exact code: scheme %s is "
                         "approximate (its error depends on how many results, not on a set)",
                         sch->name);
  }
  if (sch->pair == COD_PAIR_FREE) {
    if (ka != RUN_AUTO && kb != RUN_AUTO) {
      if (ka * kb > nc)
        return *blame = B_KAKB, cod_err_set(err, COD_EINVAL,
                           "[coding] ka * kb = %zu * %zu = %zu exceeds [cluster] %s = %zu "
                           "(scheme %s needs ka * kb <= %s)", ka, kb, ka * kb, nc_key, nc,
                           sch->name, nc_key);
    } else {
      if (delta == 0)
        return *blame = B_AUTO, cod_err_set(err, COD_EINVAL,
                           "[coding] ka or kb = auto needs [coding] delta >= 1 "
                           "(the recovery threshold ka * kb)");
      if (delta == RUN_DELTA_AUTO) {
        if (ka != RUN_AUTO || kb != RUN_AUTO)
          return *blame = B_AUTO, cod_err_set(err, COD_EINVAL,
                             "[coding] delta = auto picks each layer's pair too: it needs "
                             "ka = auto and kb = auto (got %s = %zu)",
                             ka != RUN_AUTO ? "ka" : "kb", ka != RUN_AUTO ? ka : kb);
        if (cfg->cluster.on_storage == RUN_STORAGE_REPARTITION)
          return *blame = B_AUTO, cod_err_set(err, COD_EINVAL,
                             "[coding] delta = auto chooses splits by latency: it cannot be "
                             "combined with [cluster] on_storage = repartition");
        an_cluster acl;
        if (!an_scheme_has_formulas(sch->name) || !run_config_an_cluster(cfg, &acl))
          return *blame = B_AUTO, cod_err_set(err, COD_EINVAL,
                             "[coding] delta = auto needs the analytic latency model, which "
                             "does not cover %s", !an_scheme_has_formulas(sch->name)
                                 ? "this scheme (no cost formulas in analytic/an_cost.c)"
                                 : "fail_workers or measured master timing with real compute");
      } else {
      if (delta > nc)
        return *blame = B_DELTA, cod_err_set(err, COD_EINVAL,
                           "[coding] delta = %zu exceeds [cluster] %s = %zu", delta, nc_key, nc);
      size_t fixed = ka != RUN_AUTO ? ka : kb;
      if (fixed != RUN_AUTO && delta % fixed != 0)
        return *blame = ka != RUN_AUTO ? B_KA_DELTA : B_KB_DELTA, cod_err_set(err, COD_EINVAL,
                           "[coding] %s = %zu does not divide [coding] delta = %zu "
                           "(the other factor is auto)", ka != RUN_AUTO ? "ka" : "kb",
                           fixed, delta);
      }
    }
  }
  if (sch->pair == COD_PAIR_COPIES && cfg->coding.replication > nc)
    return *blame = B_REPL, cod_err_set(err, COD_EINVAL,
                       "[coding] replication = %zu exceeds [cluster] %s = %zu",
                       cfg->coding.replication, nc_key, nc);
  if ((st = check_code(cfg, err))) return *blame = cfg->coding.q ? B_CODE_Q : B_CODE, st;
  size_t total = 0;
  for (size_t i = 0; i < cfg->n_classes; i++) {
    cfg->classes[i].first_worker = total;
    total += cfg->classes[i].count;
    char where[RUN_CLASS_NAME_MAX + 16];
    snprintf(where, sizeof where, "[class %s]", cfg->classes[i].name);
    if ((st = check_latency(cfg, &cfg->classes[i].worker.latency, where, err)))
      return *blame = B_CLASS_MODEL, *klass = (int)i, st;
  }
  if (total > n)
    return *blame = B_COUNTS, *klass = (int)cfg->n_classes - 1, cod_err_set(err, COD_EINVAL,
                       "the [class] counts add up to %zu workers, more than [cluster] "
                       "workers = %zu", total, n);
  for (size_t i = 0; i < cfg->failures.n_fail_workers; i++)
    if (cfg->failures.fail_workers[i] >= n)
      return *blame = B_FAILW, cod_err_set(err, COD_EINVAL,
                         "[latency] fail_workers names worker %zu, but workers are 0..%zu "
                         "([cluster] workers = %zu)", cfg->failures.fail_workers[i], n - 1, n);
  if ((st = check_latency(cfg, &cfg->latency, "[latency]", err))) return *blame = B_TRACE, st;
  return COD_OK;
}

/* ---- JSON ---------------------------------------------------------------------------- */

typedef struct jbuf {
  char *s;
  size_t len, cap;
  int oom;
} jbuf;

static void jput(jbuf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n + 1) cap *= 2;
    char *p = cod_realloc(b->s, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->s = p;
    b->cap = cap;
  }
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
}

static void jstr(jbuf *b, const char *s) { jput(b, s, strlen(s)); }

static void jquote(jbuf *b, const char *s) {
  jstr(b, "\"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    char esc[8];
    if (*p == '"' || *p == '\\') {
      esc[0] = '\\';
      esc[1] = (char)*p;
      jput(b, esc, 2);
    } else if (*p < 0x20) {
      snprintf(esc, sizeof esc, "\\u%04x", *p);
      jstr(b, esc);
    } else {
      jput(b, (const char *)p, 1);
    }
  }
  jstr(b, "\"");
}

static void jindex_array(jbuf *b, const size_t *v, size_t n) {
  char num[32];
  jstr(b, "[");
  for (size_t i = 0; i < n; i++) {
    snprintf(num, sizeof num, "%s%zu", i ? "," : "", v[i]);
    jstr(b, num);
  }
  jstr(b, "]");
}

static void jvalue(jbuf *b, const run_config *cfg, size_t id, size_t class_index) {
  size_t n_keys;
  const key_def *d = key_table(&n_keys) + id;
  char buf[RUN_PATH_MAX + 16];
  switch (d->info.kind) {
  case RUN_KEY_LAYERS:
    if (cfg->model.n_layers == 0)
      jstr(b, "\"all\"");
    else
      jindex_array(b, cfg->model.layers, cfg->model.n_layers);
    return;
  case RUN_KEY_WORKER_SET:
    jindex_array(b, cfg->failures.fail_workers, cfg->failures.n_fail_workers);
    return;
  default: break;
  }
  key_format(cfg, id, class_index, buf, sizeof buf);
  int numeric = (d->info.kind == RUN_KEY_INT || d->info.kind == RUN_KEY_REAL) &&
                !(d->keyword && strcmp(buf, d->keyword) == 0);
  if (numeric || d->info.kind == RUN_KEY_BOOL)
    jstr(b, buf);
  else
    jquote(b, buf);
}

int run_config_to_json(const run_config *cfg, char **out, cod_err *err) {
  assert(cfg && out);
  jbuf b = {0};
  const char *section = NULL;
  size_t n_keys;
  const key_def *keys = key_table(&n_keys);
  jstr(&b, "{");
  for (size_t i = 0; i < n_keys; i++) {
    const key_def *d = &keys[i];
    if (d->flags & F_CLASS) continue;
    if (!section || strcmp(section, d->info.section) != 0) {
      if (section) jstr(&b, "},");
      jquote(&b, d->info.section);
      jstr(&b, ":{");
      section = d->info.section;
    } else {
      jstr(&b, ",");
    }
    jquote(&b, d->info.key);
    jstr(&b, ":");
    jvalue(&b, cfg, i, 0);
  }
  jstr(&b, "},\"classes\":[");
  for (size_t c = 0; c < cfg->n_classes; c++) {
    jstr(&b, c ? ",{\"name\":" : "{\"name\":");
    jquote(&b, cfg->classes[c].name);
    char num[32];
    snprintf(num, sizeof num, ",\"first_worker\":%zu", cfg->classes[c].first_worker);
    jstr(&b, num);
    for (size_t i = 0; i < n_keys; i++) {
      if (!(keys[i].flags & F_CLASS)) continue;
      jstr(&b, ",");
      jquote(&b, keys[i].info.key);
      jstr(&b, ":");
      jvalue(&b, cfg, i, c);
    }
    jstr(&b, "}");
  }
  jstr(&b, "]}");
  if (b.oom) {
    cod_free(b.s);
    return cod_err_set(err, COD_ENOMEM, "out of memory writing the parameter JSON");
  }
  *out = b.s;
  return COD_OK;
}
