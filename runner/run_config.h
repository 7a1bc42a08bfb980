/* run_config.h: the parameters of one simulated experiment, and the key registry.
 *
 * A run_config is a plain, self-contained struct (no pointers, fixed-size strings and
 * arrays) holding every parameter of one point of a scenario sweep, so it can be copied,
 * compared and handed to worker threads freely. Its fields mirror the sections of a
 * scenario file ([run], [model], [coding], [cluster], [latency], [network], [master] and
 * zero or more [class NAME]); units are in the field names (_s seconds, _bps bits per
 * second, _bytes, _flops floating-point operations per second, _db decibels).
 *
 * Infinity is the one "no limit" value: snr_db = INFINITY is a noiseless run, and
 * storage_bytes / *_bps = INFINITY mean unlimited storage / instantaneous links. Scenario
 * files spell these `none` (snr_db) and `unlimited` (the others); the JSON description
 * uses the same words as strings.
 *
 * The key registry below is the single source of truth for the accepted keys: their
 * section, type, bounds, default and the canonical text of a value. Its latency-law rows
 * ([latency] and [class NAME]: model, the laws' parameters, fail_at_s, base) are generated
 * from sim/'s law registry (sim_latency.h), which owns names, units, defaults and bounds.
 * run_scenario.c builds sweeps on top of it; a CLI can list it for --help. Cross-key
 * rules (ka*kb <= workers, class counts, ...) live in run_config_validate().
 */
#ifndef FCDCC_RUN_CONFIG_H
#define FCDCC_RUN_CONFIG_H

#include <stddef.h>

#include "cod_code.h"
#include "cod_status.h"
#include "sim_latency.h"

#define RUN_NAME_MAX 128         /* bytes of a name field, including the NUL */
#define RUN_PATH_MAX 512         /* bytes of a path field, including the NUL */
#define RUN_LAYERS_MAX 64        /* conv layer indices are 1..RUN_LAYERS_MAX */
#define RUN_FAIL_WORKERS_MAX 256 /* at most this many explicitly failed workers */
#define RUN_CLASSES_MAX 16       /* at most this many [class NAME] sections */
#define RUN_CLASS_NAME_MAX 64    /* bytes of a class name, including the NUL */
#define RUN_AUTO 0               /* value of coding.ka / coding.kb for `auto` */
#define RUN_DELTA_AUTO ((size_t)-1) /* coding.delta = auto: each layer's latency-optimal delta */
#define RUN_VALUE_MAX 4096       /* bytes that always hold a canonical value text */
#define RUN_SCHEME_NAME_MAX 32   /* bytes of a coding scheme name, including the NUL */
/* Accepted SNR of worker noise, dB: beyond these the noise is 10^5 times the signal or
 * 10^-15 of it (below double rounding), and 10^(-snr/20) would overflow long before. */
#define RUN_SNR_DB_MIN (-100.0)
#define RUN_SNR_DB_MAX 300.0

/* Enumerations: the numeric values are the positions of the names in the scenario
 * syntax, which run_config_enum_name() returns. */
enum run_precision { RUN_FP64 = 0, RUN_FP32 = 1, RUN_BF16 = 2, RUN_FP16 = 3 };
enum run_stragglers { RUN_STRAGGLERS_RANDOM = 0, RUN_STRAGGLERS_WORST = 1 };
enum run_decode { RUN_DECODE_FAST = 0, RUN_DECODE_GENERIC = 1 };
/* The algorithm of the real convolutions (workers' slabs, the master's uncoded layers and
 * the reference): im2col + GEMM everywhere, or cod_conv_algo_choose per geometry. */
enum run_conv_algo { RUN_CONV_IM2COL = 0, RUN_CONV_AUTO = 1 };
/* [run] cond: what layers.cond holds. used = the condition number of the worker set the
 * decode used; worst = the worst set's of the code (the search of stragglers = worst);
 * none = NULL, never computed (model-only runs then also skip the singular-system test). */
enum run_cond { RUN_COND_USED = 0, RUN_COND_WORST = 1, RUN_COND_NONE = 2 };
enum run_compute { RUN_COMPUTE_REAL = 0, RUN_COMPUTE_MODEL = 1 };
enum run_axis { RUN_AXIS_ROWS = 0, RUN_AXIS_COLS = 1 };
enum run_on_storage { RUN_STORAGE_FAIL = 0, RUN_STORAGE_REPARTITION = 1 };
/* What a worker's storage must hold ([cluster] storage, runner/run_storage.h): one layer's
 * assignment at a time, or the coded filters of every layer it serves plus the largest
 * coded input slab. */
enum run_storage_mode { RUN_STORAGE_PER_LAYER = 0, RUN_STORAGE_WHOLE_MODEL = 1 };
enum run_sharing { RUN_SHARING_SEQUENTIAL = 0, RUN_SHARING_FAIR = 1 };
enum run_timing { RUN_TIMING_MEASURED = 0, RUN_TIMING_MODEL = 1 };
/* [cluster] allocation and returns (runner/run_alloc.h). */
enum run_allocation { RUN_ALLOC_EQUAL = 0, RUN_ALLOC_PROPORTIONAL = 1 };
enum run_returns { RUN_RETURNS_PER_WORKER = 0, RUN_RETURNS_PER_TASK = 1 };
/* [load] (runner/run_load.h): how requests arrive, what a decode cancels, worker service. */
enum run_arrivals { RUN_ARRIVALS_NONE = 0, RUN_ARRIVALS_POISSON, RUN_ARRIVALS_PERIODIC,
                    RUN_ARRIVALS_TRACE, RUN_ARRIVALS_CLOSED };
enum run_cancel { RUN_CANCEL_ON_DECODE = 0, RUN_CANCEL_NEVER = 1 };
enum run_service { RUN_SERVICE_FCFS = 0, RUN_SERVICE_PS = 1 };

/* Straggler model of a worker. A task whose nominal compute time is
 * t = flops / compute_rate_flops takes a time drawn from one of the laws of sim/'s
 * registry (sim/sim_latency.h: shifted-exp, pareto, bimodal, fail-stop, deterministic,
 * trace, ...; scenarios/README.md). The runner names no law: it holds the law
 * by its registry index and its real parameters by sim's parameter index, and the
 * [latency] / [class NAME] keys are generated from that registry (run_config.c). Beside
 * the law's own, two keys are the runner's: fail_at_s (when the workers of [latency]
 * fail_workers stop returning results) and base (the survivors' law of a law that wraps
 * one, i.e. fail-stop). */
typedef struct run_latency {
  int model;    /* the law: index in sim_latency_law_get(); default sim's (shifted-exp) */
  double param[SIM_LATENCY_PARAMS_MAX]; /* param[i]: the value of sim_latency_param_get(i)
                                           (key, units, bounds there); default sim's */
  double fail_at_s; /* when fail_workers stop, simulated s >= 0; 0 = from the start */
  int base;     /* survivors' law (fail-stop), registry index of a law that wraps none and
                   reads no trace; default shifted-exp */
} run_latency;

/* The energy model of one device (a worker class, the default worker, or the master;
 * runner/run_energy.h). All zero (the default) = energy not modelled. The powers are the
 * device's whole draw in that state; the per-FLOP and per-byte energies come on top. */
typedef struct run_energy_params {
  double j_per_flop;      /* J per floating-point operation executed, >= 0 */
  double j_per_byte_sent; /* J per byte the device sends, >= 0 */
  double j_per_byte_recv; /* J per byte the device receives, >= 0 */
  double idle_w;          /* W while not computing, >= 0 */
  double busy_w;          /* W while computing, >= 0 */
} run_energy_params;

/* The resources of one worker: [cluster]/[network]/[latency] defaults or a class. */
typedef struct run_worker {
  double compute_rate_flops; /* worker speed, FLOP/s, > 0 */
  double uplink_bps;         /* worker -> master link, bit/s, > 0 or INFINITY */
  double downlink_bps;       /* master -> worker link, bit/s, > 0 or INFINITY */
  double storage_bytes;      /* worker memory for encoded data, bytes, or INFINITY */
  run_latency latency;       /* straggler model */
  run_energy_params energy;  /* joules and watts ([cluster] / [class NAME] energy keys) */
} run_worker;

/* One [class NAME] section, resolved: `worker` starts from the defaults of the same
 * point and the class's keys override it. Classes take worker indices in file order. */
typedef struct run_class {
  char name[RUN_CLASS_NAME_MAX]; /* [A-Za-z0-9_-]+ */
  size_t count;                  /* workers in this class, >= 1 (required key) */
  size_t first_worker;           /* index of its first worker (sum of earlier counts) */
  run_worker worker;             /* resources of each worker of the class */
} run_class;

/* Split of a bundled data set ([data] split). */
enum run_split { RUN_SPLIT_TEST = 0, RUN_SPLIT_TRAIN };

typedef struct run_config {
  struct {
    char name[RUN_NAME_MAX];   /* label of the run; default: scenario file base name */
    size_t trials;             /* independent repetitions, >= 1; default 1 */
    unsigned long seed;        /* root seed of every gsl_rng stream; default 1 */
    int precision;             /* enum run_precision of the workers; default fp64. bf16 and
                                  fp16 round the operands, accumulate in fp32 */
    int decode;                /* enum run_decode; default fast */
    double snr_db;             /* worker noise SNR in dB; INFINITY (= none) by default */
    int trace;                 /* 1 = record the event trace; default 0 */
    double cond_bound;         /* decodes with condition number above are flagged; 1e10 */
    int compute;               /* enum run_compute: real numbers or model-only; real */
    int conv_algo;             /* enum run_conv_algo; default im2col */
    int cond;                  /* enum run_cond: what layers.cond holds; default used */
  } run;
  struct {
    char name[RUN_PATH_MAX];    /* lenet5|alexnet|vgg16|resnet18 or a model file; alexnet */
    size_t layers[RUN_LAYERS_MAX]; /* selected conv layers, 1-based, ascending */
    size_t n_layers;            /* number of entries in layers; 0 = all layers (default) */
    char weights[RUN_PATH_MAX]; /* "he" (He-normal init) or a directory; default he */
    unsigned long weights_seed; /* seed of the He initialisation; default 1 */
    char input[RUN_PATH_MAX];   /* "random" or a path ending in .npy; default random */
    unsigned long input_seed;   /* seed of the random input; default 1 */
  } model;
  struct {
    char scheme[RUN_SCHEME_NAME_MAX]; /* a coding/ registry name (cod_registry.h), checked
                                   when set; default nsctc-rot */
    size_t ka;                  /* input partitions, >= 1, or RUN_AUTO; default 4 */
    size_t kb;                  /* filter partitions, >= 1, or RUN_AUTO; default 4 */
    size_t delta;               /* recovery threshold for auto ka/kb; 0 = unset;
                                   RUN_DELTA_AUTO: per layer, from analytic/ */
    size_t replication;         /* copies per partition (scheme replication); default 2 */
    size_t q;                   /* code-specific parameter; 0 = the scheme's default */
    unsigned long seed;         /* coefficients of seeded schemes (rkr); default 1 */
    int axis;                   /* enum run_axis: input partitioned along rows or cols */
    /* Decode policy of an APPROXIMATE code (berrut; exact codes ignore both): wait for
     * approx_wait results (>= 1; 0 = unset), or decode at approx_deadline_s simulated
     * seconds after the layer's encode ends with whatever arrived (at least one;
     * INFINITY = unset). An approximate scheme needs exactly one of them. */
    size_t approx_wait;
    double approx_deadline_s;
  } coding;
  struct {
    size_t workers;             /* n, >= 1; default 20 */
    double compute_rate_flops;  /* default worker speed, FLOP/s; default 1e10 */
    double storage_bytes;       /* default worker storage, bytes; INFINITY (unlimited) */
    int on_storage;             /* enum run_on_storage: what to do when it does not fit */
    int stragglers;             /* enum run_stragglers: random (the latency draws decide)
                                   or worst (only the worst-conditioned set returns) */
    size_t worst_sets;          /* worst: exhaustive if C(n, delta) <= this, else this
                                   many sets sampled (seed run.seed); default 20000 */
    int storage;                /* enum run_storage_mode of the storage check; per-layer */
    run_energy_params energy;   /* default worker's energy model; all 0 (not modelled) */
    int allocation;             /* enum run_allocation: one coded task per worker (equal,
                                   default) or `tasks` tasks shared by speed (proportional) */
    size_t tasks;               /* proportional: coded tasks in all, > workers; 0 = unset */
    int returns;                /* enum run_returns: a worker sends once after all of its
                                   tasks (per-worker, default) or each task's result at
                                   once (per-task) */
  } cluster;
  run_latency latency;          /* default straggler model ([latency] section) */
  struct {
    size_t fail_workers[RUN_FAIL_WORKERS_MAX]; /* workers that never answer, ascending */
    size_t n_fail_workers;      /* default 0 */
    char trace_file[RUN_PATH_MAX]; /* per-worker times for model = trace; default "" */
  } failures;                   /* the [latency] keys that no class can override */
  struct {
    double uplink_bps;          /* default worker -> master link, bit/s; 1e9 */
    double downlink_bps;        /* default master -> worker link, bit/s; 1e9 */
    double latency_s;           /* per-message propagation delay, s; 0 */
    double master_bps;          /* the master's NIC, bit/s; 1e10 */
    int master_sharing;         /* enum run_sharing of the master NIC; fair */
  } network;
  struct {
    double speed_factor;        /* measured wall time is multiplied by it; 1 */
    int timing;                 /* enum run_timing; default model (deterministic) */
    double master_flops;        /* master speed for timing = model, FLOP/s; 1e11 */
    run_energy_params energy;   /* the master's energy model; all 0 (not modelled) */
  } master;
  struct {                      /* [data]: a run over a data set (runner/run_data.h) */
    char source[RUN_PATH_MAX];  /* none, fashion-mnist, or an IDX (.gz) / uint8 .npy path */
    int split;                  /* enum run_split of fashion-mnist; default test */
    size_t images;              /* images evaluated, >= 1; default 100 */
    size_t first;               /* index of the first image; default 0 */
    double mean, std;           /* x = (pixel / 255 - mean) / std; defaults 0 and 1 */
    char labels[RUN_PATH_MAX];  /* labels of a path source (IDX or .npy), or none */
  } data;
  struct {                      /* [load]: a stream of requests (runner/run_load.h) */
    int arrivals;               /* enum run_arrivals; none = one inference (default) */
    double rate_per_s;          /* poisson / periodic arrival rate, requests/s; 10 */
    size_t requests;            /* requests issued, >= 1; 1000 */
    size_t warmup;              /* first requests left out of the statistics; 0 */
    char trace[RUN_PATH_MAX];   /* arrivals = trace: file of arrival times (s); "" */
    size_t clients;             /* arrivals = closed: clients, >= 1; 1 */
    double think_s;             /* closed: mean exponential think time, s; 0 */
    int cancel;                 /* enum run_cancel; on-decode */
    size_t queue_limit;         /* saturated when more requests are in flight; 10000 */
    double time_limit_s;        /* saturated past this simulated time; INFINITY = none */
    size_t batch;               /* requests coded together; 1 */
    double batch_timeout_s;     /* wait for a batch to fill, s; 0 */
    int service;                /* enum run_service of every worker; fcfs */
  } load;
  run_class classes[RUN_CLASSES_MAX]; /* heterogeneous worker classes, file order */
  size_t n_classes;
} run_config;

/* Bytes of one worker operand element (upload, storage) and of one result element
 * (download) in the given enum run_precision: 8/8 fp64, 4/4 fp32, 2/4 bf16 and fp16
 * (16-bit operands, fp32 accumulators). */
size_t run_precision_operand_bytes(int precision);
size_t run_precision_result_bytes(int precision);

/* Fill *cfg with the documented defaults (every field; no classes). */
void run_config_defaults(run_config *cfg);

/* The resources of worker w (0 <= w < cfg->cluster.workers): those of the class whose
 * index range holds w, else the [cluster]/[network]/[latency] defaults. Returns the class
 * index, or -1 for a default worker. */
int run_config_worker(const run_config *cfg, size_t w, run_worker *out);

/* The sim/ parameters of law l for cfg: kind, base_kind and every real parameter from l,
 * trace_path from cfg->failures.trace_file (owned by cfg; valid while cfg is), no
 * scheduled failure times (the runner applies fail_workers / fail_at_s itself). */
void run_latency_sim_params(const run_config *cfg, const run_latency *l,
                            sim_latency_params *out);

/* Check the rules that span several keys (ka*kb <= workers for schemes whose pair is
 * free, auto ka/kb needs 1 <= delta <= workers, replication <= workers, class counts sum
 * to at most workers, failed workers exist, model = trace needs trace_file, ...), and the
 * code itself through coding/'s registry (cod_scheme_check: the worker limit of the
 * scheme and its own rules, for the pair or at least one of the pairs a layer may use).
 * Returns COD_OK or COD_EINVAL with a message naming the keys ("[coding] ka * kb = 25
 * exceeds [cluster] workers = 20"). Also sets classes[].first_worker. */
int run_config_validate(run_config *cfg, cod_err *err);

/* The (k_A, k_B) a coded layer of cfg may use, after the scheme's fixed pair rule
 * (registry: uncoded k_A*k_B = n, replication n / r) and storage repartitioning: either a
 * fixed pair (delta == 0), or the divisor pairs of delta, restricted to those with the
 * factor ka (or kb) when it is not RUN_AUTO. */
typedef struct run_pairs {
  size_t ka, kb;
  size_t delta;
} run_pairs;

void run_config_pairs(const run_config *cfg, run_pairs *out);
/* 1 if (a, b) with a*b = p->delta is one of the pairs p allows. */
int run_pairs_allow(const run_pairs *p, size_t a, size_t b);
/* The code parameters of a layer of cfg with the pair (ka, kb). */
cod_code_params run_config_code_params(const run_config *cfg, size_t ka, size_t kb);

/* run_config_validate, also naming the keys the broken rule involves: on error *blame (if
 * non-NULL) is a static NULL-terminated list of "section.key" names, the most specific
 * first ("class.KEY" for a class key, whose class index is then *klass; else *klass =
 * -1), so a scenario can point at the line to fix. The workers limit of the scheme is
 * checked first, before anything sized per worker is built. */
int run_config_validate_blame(run_config *cfg, const char *const **blame, int *klass,
                              cod_err *err);

/* Set one scalar parameter by "section.key" (e.g. "cluster.workers") or
 * "class.NAME.key" (the class named NAME must exist in cfg) from its text, with
 * the same syntax and checks as a scenario value (no lists or ranges here). Returns
 * COD_OK or COD_EINVAL; cfg is unchanged on error. */
int run_config_set(run_config *cfg, const char *dotted_key, const char *value, cod_err *err);

/* The canonical JSON object of every parameter of cfg, with keys in a fixed order
 * (sections in the order above, keys in registry order, then "classes": [...]); the same
 * config always gives the same bytes. *out is a NUL-terminated string owned by the
 * caller (cod_free). Returns COD_OK or COD_ENOMEM (*out untouched). */
int run_config_to_json(const run_config *cfg, char **out, cod_err *err);

/* The shortest "%.*g" text that reads back to exactly x ("10", not "1e+01", for whole
 * numbers below 1e15): the canonical spelling of a real value. */
void run_config_format_real(double x, char *buf, size_t len);

/* Name of an enumerated value as written in scenario files ("pareto", "fp32", ...), for
 * the field named by "section.key" (e.g. "latency.model"); NULL if unknown. The scheme is
 * not an enumeration: coding.scheme holds its name. */
const char *run_config_enum_name(const char *dotted_key, int value);

/* ---- Key registry --------------------------------------------------------------- */

enum run_key_kind {
  RUN_KEY_INT,        /* integer; numeric ranges allowed */
  RUN_KEY_REAL,       /* real number; numeric ranges allowed */
  RUN_KEY_BOOL,       /* true/false, yes/no, on/off, 1/0 */
  RUN_KEY_ENUM,       /* one of a list of names */
  RUN_KEY_STRING,     /* name or path; `..` is literal, commas still separate a list */
  RUN_KEY_LAYERS,     /* layer subset `all` | `2` | `conv2` | `1-3+5`; ranges sweep */
  RUN_KEY_WORKER_SET  /* space-separated worker indices `0 3 7`, `none`; ranges sweep */
};

typedef struct run_key_info {
  const char *section;  /* "run", "model", ..., or "class" for [class NAME] keys */
  const char *key;      /* key name */
  int kind;             /* enum run_key_kind */
  const char *expect;   /* accepted values with unit, for messages and --help */
  const char *dflt;     /* default, as scenario text */
} run_key_info;

/* Number of registered keys; ids are 0..count-1, in documentation order. */
size_t run_config_key_count(void);
/* Description of key id (asserts id < count). */
const run_key_info *run_config_key(size_t id);
/* The key an older name stands for in section ("uplink_bps" -> "to_master_bps",
 * "downlink_bps" -> "to_worker_bps", in [network] and [class NAME]), or NULL if key is no
 * alias there. */
const char *run_config_key_alias(const char *section, const char *key);
/* Id of key `key` in section `section` ("class" for class keys), an alias included (the id
 * of the key it stands for); -1 if unknown. */
int run_config_key_find(const char *section, const char *key);
/* Parse one scalar value of key id (no lists or ranges), check type and bounds and
 * write its canonical text (e.g. "1e+10" for "10e9", "true" for "yes", "1-3+5" for
 * "conv1-conv3+5") into canon (RUN_VALUE_MAX bytes always suffice). Reals are written
 * with the fewest digits that read back exactly, plain when that is not longer.
 * Returns COD_OK or COD_EINVAL with a message such as
 * "bad value 'x': expected an integer >= 1 (number of workers)"; canon untouched then. */
int run_config_key_parse(size_t id, const char *text, char *canon, size_t canon_len,
                         cod_err *err);
/* Store a canonical value (from run_config_key_parse) of key id into cfg; for a class
 * key, into cfg->classes[class_index]. Returns COD_OK or COD_EINVAL. */
int run_config_key_apply(run_config *cfg, size_t id, size_t class_index, const char *canon,
                         cod_err *err);

#endif
