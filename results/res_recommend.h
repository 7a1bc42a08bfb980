/* res_recommend.h: rank the configurations stored in a results database for one objective
 * under constraints, with the margin of every constraint and the confidence of the order.
 *
 * A CONFIGURATION is one distinct runs.params_json (every parameter of a point: the runs of
 * one point are its trials). Runs are never pooled across configurations: two points that
 * differ in any key are two rows. A row's label names the keys that vary among the
 * configurations of the file ("scheme=uncoded workers=20"), found by json_tree over the
 * distinct parameter objects.
 *
 * Metrics per run: latency_s (a run whose status is not ok counts as +inf latency: the
 * inference never completed), bytes = the sum of bytes_up + bytes_down over its workers rows
 * (every layer), storage = the largest bytes_stored of one worker in one layer (the sense of
 * [cluster] storage_bytes), mse = e2e_mse of its ok runs. Per configuration: mean, p95 and
 * p99 latency (quantiles with linear interpolation between order statistics, Hyndman-Fan
 * type 7), the mean bytes, the worst storage and the worst MSE.
 *
 * Confidence: a seeded bootstrap (RES_REC_BOOT resamples of each configuration's runs with
 * replacement, xorshift64* seeded with RES_REC_SEED, so the same file gives the same
 * numbers) gives the 95% percentile interval of the objective and, for each ranked
 * configuration, the share of resamples in which it beats the next one (ties count half):
 * p_beats_next. A configuration with one run has no spread: its interval is its value.
 *
 * Constraints are checked on the stored values (no bootstrap): max_mse on the worst MSE,
 * max_storage_bytes on the worst storage, max_p99_s on the p99 latency. Margins: bound -
 * value for storage and p99, bound / value for the MSE (it spans orders of magnitude).
 * MSE from another file (opts.mse_from): latency is best estimated from many cheap
 * model-only runs and the MSE from a few real ones (often under worst-case stragglers), two
 * sweeps that differ in keys such as run.compute, run.trials or cluster.stragglers. Their
 * runs are matched by the CODE of a configuration: every [model] and [coding] key,
 * cluster.workers and run.precision, decode, snr_db and conv_algo, the keys that decide
 * the numbers a decode produces; latency laws, links, compute rates, trials and the
 * straggler choice decide only which workers return and when. The MSE of a configuration is
 * then the worst e2e_mse over the other file's ok runs of its code (NaN, and the MSE bound
 * broken as "no accuracy runs", if there are none).
 * Energy: runs.energy_j (version 4 files; NULL where a run's energy keys are all 0: such a
 * configuration is listed as not rankable by energy); a file without the column is
 * COD_ENODATA.
 */
#ifndef FCDCC_RES_RECOMMEND_H
#define FCDCC_RES_RECOMMEND_H

#include <stddef.h>
#include <stdio.h>

#include "cod_status.h"
#include "res_db.h"

#define RES_REC_BOOT 2000
#define RES_REC_SEED 20261201u

enum res_rec_objective { RES_REC_P95 = 0, RES_REC_MEAN, RES_REC_BYTES, RES_REC_ENERGY };

/* The objective called name ("p95", "mean", "bytes", "energy"), or -1. */
int res_rec_objective_find(const char *name);
const char *res_rec_objective_name(int objective);

typedef struct res_rec_opts {
  int objective;           /* enum res_rec_objective: smaller is better */
  double max_mse;          /* NaN = no constraint */
  double max_storage_bytes;/* NaN = no constraint */
  double max_p99_s;        /* NaN = no constraint */
  res_db *mse_from;        /* NULL: the MSE of each configuration's own ok runs; else the
                              worst e2e_mse of this file's ok runs of the same CODE (below) */
  /* NULL: a label names every varying key. Else 1 if a configuration of scheme (and
   * stragglers, each NULL when absent) ignores key ("coding.ka", "cluster.worst_sets"):
   * its label leaves the key out (the runner's rule: run_plan_key_ignored). */
  int (*key_ignored)(const char *scheme, const char *stragglers, const char *key);
} res_rec_opts;

typedef struct res_rec_row {
  char *label;             /* varying keys of this configuration ("" if one configuration) */
  char *params_json;       /* the configuration */
  size_t runs, ok;         /* runs stored, and those with status ok */
  double mean_s, p95_s, p99_s; /* latency over the runs (failed runs +inf) */
  double bytes;            /* mean bytes moved per run (all layers, all workers) */
  double storage_bytes;    /* worst per-worker, per-layer storage */
  double mse;              /* worst e2e_mse over ok runs; NaN if none */
  size_t mse_runs;         /* runs the MSE was taken over (with mse_from: that file's) */
  double energy_j;         /* mean energy_j, NaN without the column */
  double objective, ci_lo, ci_hi; /* the objective and its 95% bootstrap interval */
  int meets;               /* 1: every constraint holds */
  const char *fails;       /* the first constraint it breaks (static text), or NULL */
  double p_beats_next;     /* ranked rows: P(this beats the next ranked); NaN for the last */
} res_rec_row;

typedef struct res_rec_result {
  res_rec_row *rows;       /* ranked rows first (meets = 1, objective ascending), then the
                              others in the same order */
  size_t n_rows, n_ranked;
  res_rec_opts opts;
} res_rec_result;

/* Rank the configurations of db. COD_OK with *out filled (free with res_rec_result_fini),
 * COD_ENODATA when the file holds no run or (energy) no energy column, COD_ENOMEM, or an
 * SQLite failure's status. *out is zeroed first. */
int res_recommend(res_db *db, const res_rec_opts *o, res_rec_result *out, cod_err *err);
void res_rec_result_fini(res_rec_result *r);

/* Write r as a table (json = 0) or one JSON object (json = 1) to f. COD_OK or COD_EIO. */
int res_recommend_write(const res_rec_result *r, FILE *f, int json, cod_err *err);

#endif
