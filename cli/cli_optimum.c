/* cli_optimum.c: `fcdcc optimum`, the analytic model of analytic/an_model.h per layer.
 *
 * For each selected conv layer of a model: the per-worker costs at the optimal split, the
 * enumerated communication-storage trade-off at delta with its exact argmin and the
 * closed form beside it, the expected layer latency, and the latency-optimal delta. With
 * no --delta, each layer is shown at its own latency-optimal delta. All numbers come from
 * the library; this file only parses, validates and prints (text or JSON).
 */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "an_model.h"
#include "cli.h"
#include "run_exec.h"

#define CMD "optimum"
#define MAX_CONVS 256
#define NAME_LEN 64

static const char optimum_help[] =
    "Usage: fcdcc optimum --model NAME --workers N [--layer L] [--delta D] [--scheme S]\n"
    "                     [--precision fp64|fp32] [--axis rows|cols] [--json] [cluster options]\n"
    "Analytical costs of coded conv layers: per-worker to-worker, storage and to-master bytes,\n"
    "worker and master flops; the optimal (k_A, k_B) at delta by enumerating the feasible\n"
    "divisor pairs, with the closed form k_A* = sqrt(delta*a/b) beside it; the expected\n"
    "layer latency under the cluster's straggler law (closed forms for shifted-exp and\n"
    "deterministic, numerical integration of the order statistic for every other law);\n"
    "the latency-optimal delta; and the end-to-end totals over the selected layers.\n\n"
    "  --model NAME       lenet5, alexnet, vgg16, resnet18 or a model file\n"
    "  --workers N        n (required; at most the scheme's limit below)\n"
    "  --layer L          one conv layer: 1-based index or name (conv2); default all\n"
    "  --delta D          recovery threshold k_A*k_B (default: each layer's latency-optimal)\n"
    "  --scheme S         a scheme listed below (default nsctc-rot)\n"
    "  --precision P      fp64 (default, 8-byte values) or fp32 (4-byte)\n"
    "  --axis A           APCP axis: rows (default) or cols\n"
    "  --json             one JSON object on stdout\n"
    "Cluster options (defaults = the scenario defaults, scenarios/README.md):\n"
    "  --compute-rate F   worker FLOP/s (1e10)      --master-flops F  master FLOP/s (1e11)\n"
    "  --to-master-bps B  worker->master link (1e9) --to-worker-bps B master->worker (1e9)\n"
    "                     (--uplink-bps and --downlink-bps: the same options, older names)\n"
    "  --master-bps B     master NIC (1e10)         --sharing fair|sequential (fair)\n"
    "  --latency-s S      per-message delay (0)     --law LAW  a latency law (shifted-exp)\n"
    "  --shift A          shifted-exp a (1)         --rate MU         shifted-exp mu (1)\n"
    "  --param KEY=VALUE  any law parameter by its scenario key (pareto_shape=3, ...;\n"
    "                     scenarios/README.md [latency]); repeatable\n"
    "  Rates accept 'unlimited'.\n"
    "  -h, --help         this help\n"
    "Formulas and their exactness: docs/analytic.md. A scheme without analytic formulas is\n"
    "refused. Schemes (coding/'s registry):\n";

typedef struct opts {
  const char *model, *layer, *scheme;
  size_t n, delta;
  an_code_params prm;
  an_cluster cl;
  int json;
} opts;

static int parse_rate(const char *opt, const char *s, double *out) {
  if (strcmp(s, "unlimited") == 0) {
    *out = INFINITY;
    return 0;
  }
  int rc = cli_parse_double(CMD, opt, s, out);
  if (!rc && !(*out > 0)) return cli_usage_error(CMD, "%s: must be > 0, got '%s'", opt, s);
  return rc;
}

static int parse_opts(int argc, char **argv, opts *o) {
  static const struct option longopts[] = {
      {"model", 1, 0, 'm'},        {"workers", 1, 0, 'n'},      {"layer", 1, 0, 'l'},
      {"delta", 1, 0, 'd'},        {"scheme", 1, 0, 's'},       {"precision", 1, 0, 'p'},
      {"axis", 1, 0, 'a'},         {"json", 0, 0, 'j'},         {"compute-rate", 1, 0, 'C'},
      {"master-flops", 1, 0, 'M'}, {"to-master-bps", 1, 0, 'U'}, {"to-worker-bps", 1, 0, 'D'},
      {"uplink-bps", 1, 0, 'u'},   {"downlink-bps", 1, 0, 'w'},
      {"master-bps", 1, 0, 'B'},   {"sharing", 1, 0, 'S'},      {"latency-s", 1, 0, 'L'},
      {"law", 1, 0, 'W'},          {"shift", 1, 0, 'A'},        {"rate", 1, 0, 'R'},
      {"param", 1, 0, 'P'},        {"help", 0, 0, 'h'},         {0, 0, 0, 0}};
  int ch, rc = 0;
  opterr = 0;
  optind = 1;
  while (!rc && (ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (ch) {
    case 'm': o->model = optarg; break;
    case 'n': rc = cli_parse_size(CMD, "--workers", optarg, 1, CLI_COUNT_MAX, &o->n); break;
    case 'l': o->layer = optarg; break;
    case 'd': rc = cli_parse_size(CMD, "--delta", optarg, 1, CLI_COUNT_MAX, &o->delta); break;
    case 's': o->scheme = optarg; break;
    case 'p':
      if (strcmp(optarg, "fp64") == 0) o->prm.elsize = 8;
      else if (strcmp(optarg, "fp32") == 0) o->prm.elsize = 4;
      else rc = cli_usage_error(CMD, "--precision: expected fp64 or fp32, got '%s'", optarg);
      break;
    case 'a':
      if (strcmp(optarg, "rows") == 0) o->prm.axis = COD_AXIS_ROWS;
      else if (strcmp(optarg, "cols") == 0) o->prm.axis = COD_AXIS_COLS;
      else rc = cli_usage_error(CMD, "--axis: expected rows or cols, got '%s'", optarg);
      break;
    case 'j': o->json = 1; break;
    case 'C': rc = parse_rate("--compute-rate", optarg, &o->cl.compute_rate_flops); break;
    case 'M': rc = parse_rate("--master-flops", optarg, &o->cl.master_flops); break;
    case 'U': rc = parse_rate("--to-master-bps", optarg, &o->cl.uplink_bps); break;
    case 'D': rc = parse_rate("--to-worker-bps", optarg, &o->cl.downlink_bps); break;
    case 'u': rc = parse_rate("--uplink-bps", optarg, &o->cl.uplink_bps); break;
    case 'w': rc = parse_rate("--downlink-bps", optarg, &o->cl.downlink_bps); break;
    case 'B': rc = parse_rate("--master-bps", optarg, &o->cl.master_bps); break;
    case 'S':
      if (strcmp(optarg, "fair") == 0) o->cl.master_fair = 1;
      else if (strcmp(optarg, "sequential") == 0) o->cl.master_fair = 0;
      else rc = cli_usage_error(CMD, "--sharing: expected fair or sequential, got '%s'", optarg);
      break;
    case 'L':
      rc = cli_parse_double(CMD, "--latency-s", optarg, &o->cl.latency_s);
      if (!rc && !(o->cl.latency_s >= 0 && isfinite(o->cl.latency_s)))
        rc = cli_usage_error(CMD, "--latency-s: must be a finite value >= 0");
      break;
    case 'W':
    { /* by sim/'s registry name; a law that reads a trace needs a file optimum has not */
      size_t kind;
      cod_err le = {0};
      if (sim_latency_law_find(optarg, &kind, &le) != COD_OK)
        rc = cli_usage_error(CMD, "--law: %s", le.msg);
      else if (sim_latency_law_get(kind)->traits & SIM_LAT_READS_TRACE)
        rc = cli_usage_error(CMD, "--law: %s reads a trace file; run a scenario instead", optarg);
      else o->cl.lat.kind = (sim_latency_kind)kind;
      break;
    }
    case 'P':
    { /* KEY=VALUE through sim/'s parameter registry */
      char key[64];
      const char *eq = strchr(optarg, '=');
      size_t kl = eq ? (size_t)(eq - optarg) : 0;
      int id = -1;
      if (eq && kl < sizeof key) {
        memcpy(key, optarg, kl);
        key[kl] = '\0';
        id = sim_latency_param_find(key);
      }
      double v = 0.0;
      if (id < 0)
        rc = cli_usage_error(CMD, "--param: expected KEY=VALUE with a latency-law key "
                             "(scenarios/README.md [latency]), got '%s'", optarg);
      else if (!(rc = cli_parse_double(CMD, "--param", eq + 1, &v)) &&
               !sim_latency_param_accepts((size_t)id, v))
        rc = cli_usage_error(CMD, "--param %s: expected %s, got '%s'", key,
                             sim_latency_param_get((size_t)id)->expect, eq + 1);
      else if (!rc) sim_latency_params_set(&o->cl.lat, (size_t)id, v);
      break;
    }
    case 'A':
      rc = cli_parse_double(CMD, "--shift", optarg, &o->cl.lat.shift);
      if (!rc && !(o->cl.lat.shift >= 0 && isfinite(o->cl.lat.shift)))
        rc = cli_usage_error(CMD, "--shift: must be a finite value >= 0");
      break;
    case 'R':
      rc = cli_parse_double(CMD, "--rate", optarg, &o->cl.lat.rate);
      if (!rc && !(o->cl.lat.rate > 0 && isfinite(o->cl.lat.rate)))
        rc = cli_usage_error(CMD, "--rate: must be a finite value > 0");
      break;
    case 'h':
      fputs(optimum_help, stdout);
      cli_print_schemes(stdout, "  ");
      return -1;
    default:
      return cli_usage_error(CMD, "unknown or incomplete option '%s'", argv[optind - 1]);
    }
  }
  if (rc) return rc;
  if (optind < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
  if (!o->model) return cli_usage_error(CMD, "--model is required");
  if (!o->n) return cli_usage_error(CMD, "--workers is required");
  if ((rc = cli_check_workers(CMD, o->scheme, o->n))) return rc;
  if (!an_scheme_has_formulas(o->scheme))
    return cli_usage_error(CMD, "--scheme: %s has no analytic cost formulas", o->scheme);
  if (o->delta > o->n)
    return cli_usage_error(CMD, "--delta %zu exceeds --workers %zu (delta = k_A*k_B <= n)",
                           o->delta, o->n);
  o->prm.scheme = o->scheme, o->prm.n_workers = o->n;
  return 0;
}

/* Everything shown for one layer. */
typedef struct layer_report {
  an_optimum opt;
  an_costs costs;          /* at opt.best */
  an_costs cf_costs;       /* at opt.rounded */
  an_latency lat;          /* at opt.best */
  an_delta_row rows[AN_WORKERS_MAX];
  size_t n_rows, best_row;
} layer_report;

static int analyse(const opts *o, const cod_conv_geom *g, layer_report *r, cod_err *err) {
  int rc = an_delta_optimum(g, &o->prm, &o->cl, r->rows, &r->n_rows, &r->best_row, err);
  if (rc) return rc;
  size_t delta = o->delta ? o->delta : r->rows[r->best_row].delta;
  if ((rc = an_optimum_find(g, &o->prm, delta, &r->opt, err))) return rc;
  an_code_params p = o->prm;
  p.ka = r->opt.best.ka, p.kb = r->opt.best.kb;
  if ((rc = an_costs_compute(g, &p, &r->costs, err))) return rc;
  if ((rc = an_latency_expected(&r->costs, &p, &o->cl, &r->lat, err))) return rc;
  p.ka = r->opt.rounded.ka, p.kb = r->opt.rounded.kb;
  return an_costs_compute(g, &p, &r->cf_costs, err);
}

static void json_kv(FILE *f, const char *k, double v, int last) {
  fprintf(f, "\"%s\": ", k);
  cli_json_number(f, v);
  if (!last) fputs(", ", f);
}

static void json_bytes(FILE *f, const char *k, double v) { fprintf(f, "\"%s\": %.0f, ", k, v); }

static void json_latency(FILE *f, const an_latency *L) {
  fputc('{', f);
  json_kv(f, "encode_s", L->encode_s, 0);
  json_kv(f, "to_worker_s", L->upload_s, 0);
  json_kv(f, "compute_s", L->compute_s, 0);
  json_kv(f, "to_master_s", L->download_s, 0);
  json_kv(f, "decode_s", L->decode_s, 0);
  json_kv(f, "total_s", L->total_s, 1);
  fputc('}', f);
}

static void print_json(FILE *f, size_t idx, const char *name, const cod_conv_geom *g,
                       const layer_report *r, int first) {
  const an_optimum *o = &r->opt;
  const an_costs *c = &r->costs;
  if (!first) fputs(",\n    ", f);
  fprintf(f, "{\"index\": %zu, \"name\": ", idx + 1);
  cli_json_string(f, name);
  fprintf(f, ", \"geometry\": {\"c\": %zu, \"h\": %zu, \"w\": %zu, \"n\": %zu, \"kh\": %zu, "
             "\"kw\": %zu, \"stride\": %zu, \"pad\": %zu},\n     \"delta\": %zu, \"pairs\": [",
          g->c, g->h, g->w, g->n_filters, g->kh, g->kw, g->stride, g->pad, o->delta);
  for (size_t i = 0; i < o->n_pairs; i++)
    fprintf(f, "%s{\"ka\": %zu, \"kb\": %zu, \"cost_bytes\": %.0f}", i ? ", " : "",
            o->pairs[i].ka, o->pairs[i].kb, o->pairs[i].cost_bytes);
  fprintf(f, "],\n     \"optimum\": {\"ka\": %zu, \"kb\": %zu, \"cost_bytes\": %.0f},\n",
          o->best.ka, o->best.kb, o->best.cost_bytes);
  fputs("     \"closed_form\": {", f);
  json_kv(f, "a", o->a, 0);
  json_kv(f, "b", o->b, 0);
  json_kv(f, "ka_star", o->ka_star, 0);
  fprintf(f, "\"ka\": %zu, \"kb\": %zu, \"cost_bytes\": %.0f, \"is_optimum\": %s},\n",
          o->rounded.ka, o->rounded.kb, o->rounded.cost_bytes,
          o->rounded.ka == o->best.ka ? "true" : "false");
  fputs("     \"costs\": {", f);
  json_bytes(f, "to_worker_bytes", c->upload_bytes);
  json_bytes(f, "storage_bytes", c->storage_bytes);
  json_bytes(f, "to_master_bytes", c->download_bytes);
  json_kv(f, "worker_flops", c->worker_flops, 0);
  json_kv(f, "encode_flops", c->encode_flops, 0);
  json_kv(f, "decode_flops", c->decode_flops, 1);
  fputs("},\n     \"latency\": ", f);
  json_latency(f, &r->lat);
  const an_delta_row *b = &r->rows[r->best_row];
  fprintf(f, ",\n     \"latency_optimal\": {\"delta\": %zu, \"ka\": %zu, \"kb\": %zu, "
             "\"latency\": ", b->delta, b->ka, b->kb);
  json_latency(f, &b->lat);
  fputs("},\n     \"latency_by_delta\": [", f);
  for (size_t i = 0; i < r->n_rows; i++) {
    fprintf(f, "%s{\"delta\": %zu, \"ka\": %zu, \"kb\": %zu, \"total_s\": ", i ? ", " : "",
            r->rows[i].delta, r->rows[i].ka, r->rows[i].kb);
    cli_json_number(f, r->rows[i].lat.total_s);
    fputc('}', f);
  }
  fputs("]}", f);
}

static void print_text(FILE *f, const char *name, const cod_conv_geom *g, const layer_report *r) {
  const an_optimum *o = &r->opt;
  const an_costs *c = &r->costs;
  fprintf(f, "%s: %zux%zux%zu -> %zu filters %zux%zu, stride %zu, pad %zu\n", name, g->c, g->h,
          g->w, g->n_filters, g->kh, g->kw, g->stride, g->pad);
  fprintf(f, "  delta = %zu, to-worker + storage bytes per worker by (k_A x k_B):\n   ", o->delta);
  for (size_t i = 0; i < o->n_pairs; i++)
    fprintf(f, " %zux%zu %.0f%s", o->pairs[i].ka, o->pairs[i].kb, o->pairs[i].cost_bytes,
            o->pairs[i].ka == o->best.ka ? "*" : "");
  fprintf(f, "\n  optimum (enumerated)  k_A x k_B = %zu x %zu, %.0f bytes\n", o->best.ka,
          o->best.kb, o->best.cost_bytes);
  fprintf(f, "  closed form           k_A* = sqrt(%zu*%.4g/%.4g) = %.3f -> %zu x %zu, %.0f bytes%s\n",
          o->delta, o->a, o->b, o->ka_star, o->rounded.ka, o->rounded.kb, o->rounded.cost_bytes,
          o->rounded.ka == o->best.ka ? " (= optimum)" : "");
  fprintf(f, "  per worker at optimum to worker %.0f B, storage %.0f B, to master %.0f B, "
             "compute %.4g flop\n", c->upload_bytes, c->storage_bytes, c->download_bytes,
          c->worker_flops);
  fprintf(f, "  master                encode %.4g flop, decode %.4g flop\n", c->encode_flops,
          c->decode_flops);
  const an_latency *L = &r->lat;
  fprintf(f, "  expected latency      %.6g s (encode %.3g, to worker %.3g, compute %.3g, "
             "to master %.3g, decode %.3g)\n", L->total_s, L->encode_s, L->upload_s,
          L->compute_s, L->download_s, L->decode_s);
  const an_delta_row *b = &r->rows[r->best_row];
  fprintf(f, "  latency-optimal delta %zu (%zu x %zu): %.6g s\n", b->delta, b->ka, b->kb,
          b->lat.total_s);
}

/* Index of --layer among the convs: a 1-based number or a name. */
static int find_layer(const char *sel, const char *names, size_t count, size_t *idx) {
  char *end;
  unsigned long v = strtoul(sel, &end, 10);
  if (*sel && !*end && *sel != '-' && v >= 1 && v <= count) {
    *idx = v - 1;
    return 0;
  }
  for (size_t i = 0; i < count; i++)
    if (strcmp(names + i * NAME_LEN, sel) == 0) {
      *idx = i;
      return 0;
    }
  return cli_usage_error(CMD, "--layer: no conv layer '%s' (1..%zu or a layer name)", sel, count);
}

int cli_optimum(int argc, char **argv) {
  opts o;
  memset(&o, 0, sizeof o);
  o.scheme = "nsctc-rot";
  o.prm.elsize = 8;
  o.prm.axis = COD_AXIS_ROWS;
  run_config dflt; /* the scenario defaults, so optimum and run agree */
  run_config_defaults(&dflt);
  run_config_an_cluster(&dflt, &o.cl);
  int rc = parse_opts(argc, argv, &o);
  if (rc) return rc < 0 ? 0 : rc;
  static cod_conv_geom geoms[MAX_CONVS];
  static char names[MAX_CONVS * NAME_LEN];
  size_t count = 0, first = 0, last;
  cod_err e = {0};
  rc = an_model_convs(o.model, geoms, names, NAME_LEN, MAX_CONVS, &count, &e);
  if (rc == COD_EINVAL || rc == COD_EFORMAT) return cli_usage_error(CMD, "--model: %s", e.msg);
  if (rc) return cli_fail(CMD, "%s", e.msg);
  if (count > MAX_CONVS) return cli_fail(CMD, "model has %zu conv layers; at most %d", count, MAX_CONVS);
  if (count == 0) return cli_usage_error(CMD, "--model: %s has no conv layers", o.model);
  last = count;
  if (o.layer) {
    if ((rc = find_layer(o.layer, names, count, &first))) return rc;
    last = first + 1;
  }
  if (o.delta) { /* feasibility of a pair does not depend on the layer: check it up front */
    an_optimum probe;
    if (an_optimum_find(&geoms[first], &o.prm, o.delta, &probe, &e))
      return cli_usage_error(CMD, "%s", e.msg);
  }
  layer_report *r = malloc(sizeof *r);
  if (!r) return cli_fail(CMD, "out of memory");
  if (o.json) {
    fprintf(stdout, "{\"model\": ");
    cli_json_string(stdout, o.model);
    fputs(", \"scheme\": ", stdout);
    cli_json_string(stdout, o.scheme);
    fprintf(stdout, ", \"workers\": %zu, \"precision\": \"%s\", \"axis\": \"%s\", ", o.n,
            o.prm.elsize == 4 ? "fp32" : "fp64", o.prm.axis == COD_AXIS_COLS ? "cols" : "rows");
    fputs("\"cluster\": {", stdout);
    json_kv(stdout, "compute_rate_flops", o.cl.compute_rate_flops, 0);
    json_kv(stdout, "to_master_bps", o.cl.uplink_bps, 0);
    json_kv(stdout, "to_worker_bps", o.cl.downlink_bps, 0);
    json_kv(stdout, "master_bps", o.cl.master_bps, 0);
    fprintf(stdout, "\"sharing\": \"%s\", \"law\": \"%s\", ", o.cl.master_fair ? "fair" : "sequential",
            sim_latency_law_name(o.cl.lat.kind));
    json_kv(stdout, "latency_s", o.cl.latency_s, 0);
    json_kv(stdout, "master_flops", o.cl.master_flops, 0);
    json_kv(stdout, "shift", o.cl.lat.shift, 0);
    json_kv(stdout, "rate", o.cl.lat.rate, 1);
    fputs("},\n  \"layers\": [", stdout);
  } else {
    printf("model %s, scheme %s, n = %zu, %s, %s axis%s\n", o.model, o.scheme, o.n,
           o.prm.elsize == 4 ? "fp32" : "fp64", o.prm.axis == COD_AXIS_COLS ? "cols" : "rows",
           o.delta ? "" : ", each layer at its latency-optimal delta");
  }
  double tot_s = 0.0, tot_opt_s = 0.0; /* the end-to-end sums over the selected layers */
  for (size_t i = first; i < last; i++) {
    if ((rc = analyse(&o, &geoms[i], r, &e))) {
      if (o.json) fputs("]}\n", stdout);
      free(r);
      return cli_usage_error(CMD, "%s: %s", names + i * NAME_LEN, e.msg);
    }
    tot_s += r->lat.total_s, tot_opt_s += r->rows[r->best_row].lat.total_s;
    if (o.json) print_json(stdout, i, names + i * NAME_LEN, &geoms[i], r, i == first);
    else print_text(stdout, names + i * NAME_LEN, &geoms[i], r);
  }
  if (o.json) {
    fputs("],\n  \"totals\": {", stdout);
    json_kv(stdout, "latency_s", tot_s, 0);
    json_kv(stdout, "latency_optimal_s", tot_opt_s, 1);
    fputs("}}\n", stdout);
  } else {
    printf("end-to-end over %zu conv layer%s: expected %.6g s at %s, %.6g s with each "
           "layer at its latency-optimal delta (conv layers only)\n", last - first,
           last - first == 1 ? "" : "s", tot_s, o.delta ? "the given delta" : "the chosen deltas",
           tot_opt_s);
  }
  free(r);
  return 0;
}
