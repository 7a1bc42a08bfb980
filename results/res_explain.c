/* res_explain.c: `fcdcc report --explain`: every column of the reports and of the stored
 * tables, with its unit and meaning (see res_report.h).
 *
 * Design. The stored columns come from the column tables of res_schema.c (name, SQL type,
 * unit, schema comment), so a new column appears here without an edit. The schema
 * comments are terse and some columns have none (their names were thought to speak for
 * themselves); `meanings` below supplies a sentence for those, and the results tests fail
 * when a column has neither, so the list cannot silently fall behind the schema. The
 * report columns are described in `report_cols`; the tests check that every column a
 * report prints is described here.
 */
#include "res_report.h"

#include <string.h>

#include "res_schema.h"

typedef struct col_doc {
  const char *name, *unit, *meaning;
} col_doc;

static const col_doc report_cols[] = {
  {"model", "", "runs.model: the CNN (built-in name or model file)"},
  {"scheme", "", "runs.scheme: the coding scheme"},
  {"n", "workers", "runs.workers: number of workers"},
  {"ka", "", "input partitions k_A: the runs' split when every layer uses it, else "
             "auto(d=DELTA) for [coding] ka or kb = auto, or per-layer (see layer_splits)"},
  {"kb", "", "filter partitions k_B, as ka"},
  {"prec", "", "runs.precision: the workers' arithmetic (fp64, fp32, bf16, fp16)"},
  {"point", "", "the scenario keys whose values differ between runs that the other columns "
                "would put in one row, as key=value (printed only when some key does)"},
  {"runs", "runs", "number of runs in the row (points x trials)"},
  {"ok", "runs", "runs with status ok (every layer decoded)"},
  {"undec", "runs", "runs with status undecodable (too few results before the deadline)"},
  {"infeas", "runs", "runs with status infeasible: * (e.g. storage)"},
  {"lat_mean_s", "s", "mean of runs.latency_s (simulated end-to-end latency of one "
                      "inference: all its layers) over the ok runs"},
  {"lat_mean_lo_s", "s", "lower end of the 95% Student t-interval of lat_mean_s (--ci, JSON)"},
  {"lat_mean_hi_s", "s", "upper end of that interval"},
  {"lat_p95_s", "s", "nearest-rank 95th percentile of latency_s over the ok runs (rank "
                     "ceil(0.95 m) of the m sorted values)"},
  {"lat_p95_lo_s", "s", "lower end of its 95% order-statistic interval (--ci, JSON)"},
  {"lat_p95_hi_s", "s", "upper end of that interval"},
  {"to_worker_B_w", "bytes", "per worker and run: bytes sent master -> worker "
                             "(workers.bytes_to_worker) summed over the run's layers; mean over "
                             "(run, worker) pairs"},
  {"to_master_B_w", "bytes", "the same for bytes sent worker -> master (workers.bytes_to_master)"},
  {"store_B_w", "bytes", "the same for coded bytes stored on the worker (workers.bytes_stored)"},
  {"max_mse", "", "largest runs.e2e_mse: end-to-end output mean squared error against the "
                  "uncoded fp64 pipeline, absolute (squared output units)"},
  {"max_rel", "", "largest runs.e2e_rel_error = ||y - y_ref|| / ||y_ref||"},
  {"mean_cond", "", "mean of layers.cond (2-norm condition number of the decoding system) "
                    "over the row's layers"},
  {"layer_splits", "", "k_A x k_B of each conv layer in layer order (when they differ)"},
  {"comm_bytes_per_run", "bytes", "--per-scheme: mean over runs of SUM(bytes_to_worker + "
                                  "bytes_to_master) over the run's workers rows (both directions)"},
  {"storage_bytes_per_run", "bytes", "--per-scheme: mean over runs of SUM(bytes_stored)"},
  {"max_rel_error", "", "--per-scheme: largest runs.e2e_rel_error"},
};

/* Sentences for stored columns whose schema comment is missing or is only a note. */
static const col_doc meanings[] = {
  {"run_id", "", "row id of the run; layers, workers, events and data_runs refer to it"},
  {"run_key", "", "unique key scenario_hash/p<point>/t<trial> (--resume skips these)"},
  {"scenario_path", "", "the scenario file as given on the command line"},
  {"scenario_hash", "", "FNV-1a hash of the scenario file and its --set overrides"},
  {"point_index", "", "index of the sweep point in its scenario"},
  {"trial", "", "trial number within the point"},
  {"seed", "", "the run's RNG seed"},
  {"backend", "", "sim (discrete-event simulator) or mpi (real processes)"},
  {"program_version", "", "fcdcc version that wrote the run"},
  {"params_json", "", "every scenario key of the point, as JSON (one object per section; "
                      "[class NAME] sections in the array classes)"},
  {"scheme", "", "coding scheme"},
  {"model", "", "CNN model"},
  {"workers", "", "number of workers n"},
  {"ka", "", "input partitions k_A (runs: of the first conv layer)"},
  {"kb", "", "filter partitions k_B (runs: of the first conv layer)"},
  {"delta", "", "recovery threshold: results needed to decode"},
  {"precision", "", "workers' arithmetic"},
  {"status", "", "ok, undecodable, error, skipped (layers) or infeasible: <reason>"},
  {"e2e_mse", "", "end-to-end output MSE against the uncoded fp64 pipeline (absolute)"},
  {"e2e_rel_error", "", "end-to-end ||y - y_ref|| / ||y_ref||"},
  {"e2e_max_abs_error", "", "end-to-end max |y - y_ref|"},
  {"layer_index", "", "position of the conv layer in the model"},
  {"layer_name", "", "name of the layer, e.g. conv3_1"},
  {"mse", "", "layer output MSE against the uncoded pipeline at the same layer (absolute)"},
  {"rel_error", "", "layer ||y - y_ref|| / ||y_ref||"},
  {"max_abs_error", "", "layer max |y - y_ref|"},
  {"cond", "", "2-norm condition number of the layer's decoding system"},
  {"cond_flagged", "", "1 if cond exceeded [run] cond_bound"},
  {"worker", "", "worker id (0-based)"},
  {"class", "", "the worker's latency class ([class NAME]), NULL for the default"},
  {"bytes_to_worker", "bytes", "bytes sent master -> worker (to_worker) in this layer"},
  {"bytes_to_master", "bytes", "bytes sent worker -> master (to_master) in this layer"},
  {"bytes_stored", "bytes", "coded bytes stored on the worker for this layer"},
  {"flops", "flops", "floating-point operations the worker executed"},
  {"seq", "", "event sequence number within the run"},
  {"kind", "", "event kind: to_worker_done (a master -> worker transfer arrived; "
               "'upload_done' before version 11), compute_done, result (worker -> master), "
               "encode_done, decode_start, decode_done, worker_failed, ..."},
  {"t_to_worker_s", "s", "simulated seconds of the layer's master -> worker transfers"},
  {"t_to_master_s", "s", "simulated seconds of the layer's worker -> master transfers"},
  {"an_to_worker_bytes", "bytes", "analytic model: bytes sent master -> worker, per worker"},
  {"an_to_master_bytes", "bytes", "analytic model: bytes sent worker -> master, per worker"},
};

int res_explain_report_doc(const char *name, const char **unit, const char **meaning) {
  for (size_t i = 0; name && i < sizeof report_cols / sizeof *report_cols; i++)
    if (strcmp(report_cols[i].name, name) == 0) {
      *unit = report_cols[i].unit, *meaning = report_cols[i].meaning;
      return 1;
    }
  return 0;
}

size_t res_explain_report_count(void) { return sizeof report_cols / sizeof *report_cols; }
const char *res_explain_report_name(size_t i) { return report_cols[i].name; }

/* The sentence for a stored column: the schema comment if there is one, then ours. */
const char *res_explain_meaning(const char *name, const char *comment) {
  for (size_t i = 0; i < sizeof meanings / sizeof *meanings; i++)
    if (strcmp(meanings[i].name, name) == 0) return meanings[i].meaning;
  return comment;
}

int res_report_explain(FILE *out, cod_err *err) {
  fputs("Report columns (fcdcc report; --per-scheme; --json uses the same names):\n", out);
  for (size_t i = 0; i < sizeof report_cols / sizeof *report_cols; i++)
    fprintf(out, "  %-22s %-7s %s\n", report_cols[i].name,
            report_cols[i].unit[0] ? report_cols[i].unit : "-", report_cols[i].meaning);
  fputs("\nStored columns (fcdcc export; SQL on the file). Direction, in every name: "
        "to_worker = master -> worker, to_master = worker -> master ([network] "
        "to_worker_bps, to_master_bps).\n", out);
  for (size_t t = 0; t < RES_TABLE_COUNT; t++) {
    const res_table *tb = res_schema_table(t);
    fprintf(out, "\n  table %s\n", tb->name);
    for (size_t c = 0; c < tb->n_cols; c++) {
      const res_column *col = &tb->cols[c];
      const char *m = res_explain_meaning(col->name, col->comment);
      fprintf(out, "    %-20s %-8s %-6s %s", col->name, res_ctype_sql(col->ctype),
              col->unit[0] ? col->unit : "-", m ? m : "(undocumented)");
      if (col->comment && m != col->comment) fprintf(out, " (%s)", col->comment);
      fputc('\n', out);
    }
  }
  if (fflush(out) != 0 || ferror(out))
    return cod_err_set(err, COD_EIO, "report --explain: write error");
  return COD_OK;
}
