/* an_model.h: the analytical cost and latency model of a coded convolution layer (an_).
 *
 * Everything here is a closed form of the layer geometry and the code parameters; nothing
 * is simulated and no cod_code is planned. The formulas are re-derived independently from
 * the partition rules (APCP/KCCP, coding/cod_part.c) and each scheme's structure
 * (NSCTC-MATH.md sections 2-6), so that the tests comparing them with the bytes the
 * simulator counted check two implementations against each other. Feasibility (which
 * (n, k_A, k_B, q) a scheme accepts) is coding/'s registry check (cod_scheme_check), the
 * same rules and messages as cod_code_new. The formulas of every scheme sit in one table
 * in an_cost.c, keyed by the registry name.
 *
 * Per worker of scheme S with m_in input slabs, m_filt filter groups, e_A coded slabs and
 * e_B coded groups per worker (rows axis; columns swap the roles of H and W):
 *   h^ = ceil(H'/m_in), f = ceil(N/m_filt), span = (h^-1)*s + KH
 *   upload = storage = (e_A*C*span*(W+2p) + e_B*f*C*KH*KW) * elsize     [bytes]
 *   download = e_A*e_B*f*h^*W' * elsize                                 [bytes]
 *   worker flops = 2*e_A*(e_B*f)*h^*W'*C*KH*KW
 * The expected layer latency (an_latency_expected) follows the simulator's protocol:
 * encode, upload through the master NIC and each worker's downlink, compute under the
 * cluster's straggler law via order statistics (shifted-exponential: Lee et al., IEEE
 * Trans. Inf. Theory 64(3), 2018), download, decode. The law is one of sim/'s registry
 * (sim_latency.h); an_latency.c has closed forms for some laws, found by law name, and
 * integrates the order statistic numerically from the laws' CDFs for the others and for
 * heterogeneous classes (an_orderstat.h). docs/analytic.md lists what is exact and what
 * is approximate.
 *
 * All functions are pure and thread-safe; only the numerical latency path allocates (and
 * frees before returning).
 */
#ifndef FCDCC_AN_MODEL_H
#define FCDCC_AN_MODEL_H

#include <stddef.h>

#include "cod_code.h"
#include "cod_conv.h"
#include "cod_part.h"
#include "cod_status.h"
#include "sim_latency.h"

#define AN_PAIRS_MAX 64   /* more than the divisors of any delta <= 4096 (at most 48) */
#define AN_WORKERS_MAX COD_WORKERS_MAX /* the most workers of any scheme (cod_code.h) */

/* A code for one layer, as the simulator would plan it. Plain data. */
typedef struct an_code_params {
  const char *scheme;  /* a coding/ registry name (cod_registry.h) */
  size_t n_workers;    /* n, 1..the scheme's max_workers */
  size_t ka, kb;       /* k_A, k_B >= 1 */
  size_t q;            /* 0 = the scheme's default (n; nsctc-cir: smallest prime >= n) */
  cod_axis axis;       /* APCP axis */
  size_t elsize;       /* bytes of one worker value: 8 (fp64) or 4 (fp32) */
} an_code_params;

/* The compute order statistic the master of a scheme waits for (an_latency_expected). */
typedef enum an_wait {
  AN_WAIT_DELTA_OF_N = 0, /* MDS-like codes: the delta-th of n finishers */
  AN_WAIT_ALL = 1,        /* uncoded: all n */
  AN_WAIT_COPIES = 2      /* replication: max over delta blocks of the min over n/delta */
} an_wait;

/* The analytical costs of one (layer, code). Plain data. */
typedef struct an_costs {
  size_t delta;            /* results the master needs (recovery threshold) */
  size_t m_in, m_filt;     /* data slabs and filter groups */
  size_t ea, eb;           /* coded slabs and groups per worker */
  size_t q;                /* the q in use (nsctc-rot, nsctc-cir), else 0 */
  size_t out_per_slab;     /* h^ (or w^ for the columns axis) */
  size_t filt_per_group;   /* f = ceil(N / m_filt) */
  double input_bytes;      /* per worker: coded slabs */
  double filter_bytes;     /* per worker: coded filter groups */
  double upload_bytes;     /* input + filters, per worker, per layer */
  double storage_bytes;    /* = upload_bytes: a worker keeps what it received */
  double download_bytes;   /* per worker result */
  double worker_flops;     /* 2 * multiply-adds of one worker */
  double encode_flops;     /* master: both operands for all n workers */
  double decode_flops;     /* master: the decoder's product (0 for copies) */
  an_wait wait;            /* the scheme's waiting law, for the latency model */
} an_costs;

/* Compute the costs of layer g under code p. COD_OK with *out filled, or COD_EINVAL with a
 * message when cod_code_new would reject the combination (cod_scheme_check's message:
 * unknown scheme, n above the scheme's limit, k out of range, delta > n, nsctc-cir
 * two-sided or q not a prime >= n, uncoded n != k_A*k_B, replication n not a multiple of
 * k_A*k_B), for an invalid geometry or elsize not 4 or 8, or when the scheme has no
 * analytic formulas (an_scheme_has_formulas). *out untouched on error. */
int an_costs_compute(const cod_conv_geom *g, const an_code_params *p, an_costs *out,
                     cod_err *err);

/* The per-worker storage of a whole network served layer after layer ([cluster] storage =
 * whole-model, runner/run_storage.h): the coded filters of every layer plus the largest
 * coded input slab, sum_i c[i].filter_bytes + max_i c[i].input_bytes, over the n layers'
 * costs c (in model order; 0 for n = 0). Bytes, exact below 2^53. */
double an_storage_whole_model_bytes(const an_costs *c, size_t n);

/* 1 if the analytic model has cost formulas for the registry scheme called name, else 0
 * (then a run stores NULL analytic columns for it). */
int an_scheme_has_formulas(const char *name);

/* One feasible divisor pair and its cost. */
typedef struct an_pair {
  size_t ka, kb;
  double cost_bytes;       /* per-worker upload + storage */
} an_pair;

/* The communication-storage trade-off at one delta. Plain data. */
typedef struct an_optimum {
  size_t delta;
  an_pair pairs[AN_PAIRS_MAX]; /* every feasible (k_A, k_B), k_A ascending */
  size_t n_pairs;
  an_pair best;            /* exact argmin of cost (first = smallest k_A on ties) */
  double a, b;             /* closed-form coefficients (reals): cost ~ a/k_A + b/k_B */
  double ka_star;          /* sqrt(delta * a / b), the continuous minimiser */
  an_pair rounded;         /* the closed form rounded: of the feasible divisors bracketing
                              ka_star, the one with the smaller a/k_A + b/k_B */
} an_optimum;

/* Enumerate every divisor pair (k_A, k_B) of delta that p's scheme accepts for layer g
 * (p->ka and p->kb are ignored), with cost = upload + storage bytes per worker; the exact
 * argmin; and beside it the closed form of NSCTC-MATH.md section 6 (rows axis: a =
 * C*(W+2p)*H'*s, b = N*C*KH*KW; columns axis: H and W swap). COD_EINVAL when delta is 0 or
 * exceeds n, or when no pair is feasible (the message says why the last one failed).
 * This is also the pair the simulator's `auto` k_A/k_B chooses with unlimited storage. */
int an_optimum_find(const cod_conv_geom *g, const an_code_params *p, size_t delta,
                    an_optimum *out, cod_err *err);

#define AN_CLASSES_MAX 16 /* as runner's RUN_CLASSES_MAX */

/* One class of workers ([class NAME]): `count` workers with their own speed, links and
 * straggler law. Plain data. */
typedef struct an_class {
  size_t count;              /* >= 1 */
  double compute_rate_flops; /* FLOP/s > 0 */
  double uplink_bps;         /* worker -> master, > 0 or INFINITY */
  double downlink_bps;       /* master -> worker, > 0 or INFINITY */
  sim_latency_params lat;    /* its law, as sim/ would build it */
} an_class;

/* A cluster as the simulator models it (run_config's [cluster], [network], [latency],
 * [master] and [class NAME] keys). Rates may be INFINITY (unlimited). Workers 0 ..
 * classes[0].count - 1 are class 0, the next classes[1].count class 1, and so on (the
 * runner's run_config_worker); the remaining workers have the fields below. Plain data. */
typedef struct an_cluster {
  double compute_rate_flops; /* worker speed, FLOP/s */
  double uplink_bps;         /* worker -> master link */
  double downlink_bps;       /* master -> worker link */
  double master_bps;         /* the master's NIC (one per direction) */
  int master_fair;           /* 1: processor sharing; 0: FIFO (approximated, see docs) */
  double latency_s;          /* per-message propagation delay */
  double master_flops;       /* master encode/decode speed, FLOP/s */
  sim_latency_params lat;    /* the workers' straggler law (kind) and its parameters, as
                                sim/ would build it; only lat.kind's own fields are read
                                (and lat.trace_path for a trace, borrowed) */
  size_t n_classes;          /* 0 = homogeneous */
  an_class classes[AN_CLASSES_MAX];
} an_cluster;

/* The expected phases of one layer. Seconds. */
typedef struct an_latency {
  double encode_s;   /* encode_flops / master_flops */
  double upload_s;   /* until every worker holds its data */
  double compute_s;  /* expected time until the master's needed set has finished computing */
  double download_s; /* the last needed result's transfer */
  double decode_s;   /* decode_flops / master_flops */
  double total_s;    /* the sum: expected layer latency */
  size_t wait_for;   /* order statistic used: delta (MDS), n (uncoded), or the replication
                        law (max over delta blocks of the min over n/delta copies) */
} an_latency;

/* Expected latency of a layer with costs c (from an_costs_compute for code p) on cluster
 * cl. A homogeneous cluster whose law has a closed form (an_latency_has_law) uses it; any
 * other law of sim's registry, and any heterogeneous cluster, integrates the order
 * statistic of the workers' completion times numerically (an_orderstat.h, tolerances
 * an_orderstat_tol_default; this path allocates). COD_EINVAL for non-positive rates, an
 * unknown law, parameters out of sim's bounds (sim_latency_params_check), classes that
 * cover more than n workers or a trace without its file; COD_EUNDECODABLE when the layer
 * never decodes; COD_ENUMERIC when the expectation is infinite or does not converge;
 * COD_ENOMEM; COD_EIO / COD_EFORMAT from reading a trace. *out untouched on error. */
int an_latency_expected(const an_costs *c, const an_code_params *p, const an_cluster *cl,
                        an_latency *out, cod_err *err);

/* 1 if an_latency_expected has a closed form for the law named `law` (sim's spelling:
 * "shifted-exp", "deterministic"), else 0 (then it integrates numerically). */
int an_latency_has_law(const char *law);

/* One row of the latency-versus-delta table. */
typedef struct an_delta_row {
  size_t delta, ka, kb;    /* the pair with the least expected latency at this delta */
  an_latency lat;
} an_delta_row;

/* Expected latency of every feasible delta = 1..n (each with its best feasible pair by
 * latency) into rows (room for n entries; *n_rows gets the count) and the index of the
 * latency-optimal delta in *best. COD_EINVAL when no delta is feasible. */
int an_delta_optimum(const cod_conv_geom *g, const an_code_params *p, const an_cluster *cl,
                     an_delta_row *rows, size_t *n_rows, size_t *best, cod_err *err);

/* The conv layers of a model: a built-in name (lenet5, alexnet, vgg16, resnet18) or a
 * model file (docs/model-format.md). Writes at most cap geometries to geoms (conv_index
 * order, projection convs included) and, when names is non-NULL, each layer's name
 * (at most name_len bytes with the NUL, truncated) to names[i*name_len]; *n gets the
 * model's conv count (which may exceed cap: then only cap were written). COD_EINVAL for
 * an unknown built-in name that is not a readable file, else model_load's COD_EIO /
 * COD_EFORMAT / COD_ENOMEM, with the message. */
int an_model_convs(const char *model_name, cod_conv_geom *geoms, char *names, size_t name_len,
                   size_t cap, size_t *n, cod_err *err);

#endif
