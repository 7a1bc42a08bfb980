/* cli_recommend.c: `fcdcc recommend DB --objective ... [constraints] [--json]` ranks the
 * configurations stored in a results database (results/res_recommend.h), and
 * `fcdcc recommend --scenario X.ini ...` answers from the analytic model alone, before any
 * run: for each point of the scenario, the code every selected conv layer would plan
 * (run_code_choose, as the run would), its expected latency, bytes and storage
 * (analytic/an_model.h) and energy (run_energy_an_layer, the layers.an_energy_j of a run),
 * summed over the coded layers. The analytic model has no MSE and
 * no latency quantiles: --max-mse is reported as not checked, and --objective p95 or
 * --max-p99 are refused with the reason (use mean). Points the model does not cover (a
 * latency law without a closed form, heterogeneous classes, stragglers = worst, a scheme
 * without formulas) are listed as such, never ranked with a guessed number.
 */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "an_model.h"
#include "cli.h"
#include "cod_alloc.h"
#include "cod_code.h"
#include "model.h"
#include "model_onnx.h"
#include "res_db.h"
#include "res_recommend.h"
#include "run_energy.h"
#include "run_exec.h"
#include "run_plan.h"
#include "run_scenario.h"
#include "run_units.h"

static const char recommend_help[] =
    "Usage: fcdcc recommend DB --objective p95|mean|bytes|energy [--max-mse X]\n"
    "                       [--max-storage B] [--max-p99 S] [--mse-from ACC.db] [--json]\n"
    "       fcdcc recommend --scenario X.ini --objective mean|bytes|energy [--max-mse X]\n"
    "                       [--max-storage B] [--set K=V ...] [--json]\n"
    "Rank the configurations of a results database (one per distinct set of parameters:\n"
    "runs of different configurations are never pooled) that meet every constraint, by\n"
    "the objective (smaller is better), with each constraint's margin and the confidence\n"
    "of the order; configurations that break a constraint are listed after, unranked.\n\n"
    "  --objective O    p95 or mean latency (s; failed runs count as infinite), bytes (mean\n"
    "                   bytes moved per run, every layer and worker), energy (runs.energy_j)\n"
    "  --max-mse X      worst end-to-end MSE of the ok runs <= X\n"
    "  --max-storage B  worst per-worker, per-layer storage <= B bytes (5M, 1GiB, 2e6)\n"
    "  --max-p99 S      p99 latency <= S seconds\n"
    "  --mse-from ACC   take the MSE of --max-mse from ACC.db instead: the worst of its ok\n"
    "                   runs with the same code (model, coding, workers, precision, decode,\n"
    "                   snr, conv_algo), e.g. real runs under stragglers = worst beside a\n"
    "                   model-only latency sweep\n"
    "  --scenario X.ini no database: the analytic model for each point of X.ini (expected\n"
    "                   latency and energy of the coded layers, bytes, storage; no MSE, no\n"
    "                   quantiles)\n"
    "  --set K=V        override a scenario key (with --scenario)\n"
    "  --json           one JSON object instead of the table\n"
    "Confidence: 2000 bootstrap resamples of each configuration's runs (fixed seed): the\n"
    "95% percentile interval of the objective and P(>next), the share of resamples in which\n"
    "a ranked configuration beats the next one. Margins: bound / value for the MSE, bound -\n"
    "value for storage and p99. Exit: 0, 1 a failure, 2 usage or nothing to rank.\n";

typedef struct rec_args {
  const char *db, *scenario, *mse_from, *sets[64];
  size_t n_sets;
  int objective, json;
  res_rec_opts o;
} rec_args;

static int parse_bound(const char *opt, const char *s, int unit, double *out) {
  char msg[256];
  double v;
  int r = run_units_parse(s, unit, &v, msg, sizeof msg);
  if (r < 0) return cli_usage_error("recommend", "%s: bad value '%s': %s", opt, s, msg);
  if (r == 0 || !(v >= 0))
    return cli_usage_error("recommend", "%s: expected a number >= 0%s, got '%s'", opt,
                           unit == RUN_UNIT_BYTES ? " of bytes (5M, 1GiB)" : "", s);
  *out = v;
  return 0;
}

static int parse_args(int argc, char **argv, rec_args *a, int *done) {
  static const struct option longopts[] = {
      {"objective", 1, 0, 'O'}, {"max-mse", 1, 0, 'M'}, {"max-storage", 1, 0, 'S'},
      {"max-p99", 1, 0, 'P'},   {"json", 0, 0, 'j'},    {"scenario", 1, 0, 'c'},
      {"set", 1, 0, 's'},       {"help", 0, 0, 'h'},    {"mse-from", 1, 0, 'F'},
      {0, 0, 0, 0}};
  int ch, rc = 0;
  const char *objective = NULL;
  opterr = 0;
  while (!rc && (ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (ch) {
    case 'O': objective = optarg; break;
    case 'M': rc = parse_bound("--max-mse", optarg, RUN_UNIT_NONE, &a->o.max_mse); break;
    case 'S': rc = parse_bound("--max-storage", optarg, RUN_UNIT_BYTES, &a->o.max_storage_bytes); break;
    case 'P': rc = parse_bound("--max-p99", optarg, RUN_UNIT_NONE, &a->o.max_p99_s); break;
    case 'j': a->json = 1; break;
    case 'c': a->scenario = optarg; break;
    case 'F': a->mse_from = optarg; break;
    case 's':
      if (a->n_sets == 64) return cli_usage_error("recommend", "too many --set options");
      a->sets[a->n_sets++] = optarg;
      break;
    case 'h': fputs(recommend_help, stdout); *done = 1; return 0;
    default:
      return cli_usage_error("recommend", "unknown or incomplete option '%s'", argv[optind - 1]);
    }
  }
  if (rc) return rc;
  if (!objective) return cli_usage_error("recommend", "--objective is required (p95, mean, "
                                         "bytes or energy)");
  if ((a->o.objective = res_rec_objective_find(objective)) < 0)
    return cli_usage_error("recommend", "--objective: unknown '%s' (known: p95, mean, bytes, "
                           "energy)", objective);
  if (a->scenario && optind != argc)
    return cli_usage_error("recommend", "--scenario answers without a database: drop '%s'",
                           argv[optind]);
  if (!a->scenario && optind != argc - 1)
    return cli_usage_error("recommend", "expected exactly one DB (or --scenario X.ini)");
  if (!a->scenario && a->n_sets)
    return cli_usage_error("recommend", "--set goes with --scenario");
  if (a->mse_from && a->scenario)
    return cli_usage_error("recommend", "--mse-from goes with a DB, not --scenario");
  if (a->mse_from && isnan(a->o.max_mse))
    return cli_usage_error("recommend", "--mse-from needs --max-mse (it only supplies the MSE)");
  if (!a->scenario) a->db = argv[optind];
  return 0;
}

static int recommend_db(const rec_args *a) {
  res_db *db = NULL;
  cod_err e = {0};
  if (res_db_open(a->db, RES_DB_READONLY, &db, &e)) return cli_usage_error("recommend", "%s", e.msg);
  res_db *acc = NULL;
  if (a->mse_from && res_db_open(a->mse_from, RES_DB_READONLY, &acc, &e)) {
    res_db_close(db);
    return cli_usage_error("recommend", "--mse-from: %s", e.msg);
  }
  res_rec_opts o = a->o;
  o.mse_from = acc;
  o.key_ignored = run_plan_key_ignored; /* labels: only the keys a configuration reads */
  res_rec_result r;
  int rc = res_recommend(db, &o, &r, &e);
  if (rc) {
    res_db_close(acc);
    res_db_close(db);
    return rc == COD_ENODATA ? cli_usage_error("recommend", "%s", e.msg)
                             : cli_fail("recommend", "%s", e.msg);
  }
  rc = res_recommend_write(&r, stdout, a->json, &e);
  res_rec_result_fini(&r);
  res_db_close(acc);
  res_db_close(db);
  return rc ? cli_fail("recommend", "%s", e.msg) : 0;
}

/* ---- the analytic answer ---------------------------------------------------------------- */

typedef struct an_point {
  size_t point;
  char *label;
  double latency_s, bytes, storage_bytes; /* NaN where the model does not apply */
  double energy_j;                        /* run_energy_an_layer summed; NaN: not modelled */
  const char *why;                        /* no prediction: the reason (static) */
  char note[200];                         /* the same, with detail */
  int meets;
} an_point;

static int selected(const run_config *c, size_t ci) {
  if (!c->model.n_layers) return 1;
  for (size_t i = 0; i < c->model.n_layers; i++)
    if (c->model.layers[i] == ci + 1) return 1;
  return 0;
}

/* The analytic costs of point cfg on model m, summed over its selected conv layers. */
static void analytic_point(const run_config *c, const model *m, an_point *ap) {
  an_cluster cl;
  int lat_ok = run_config_an_cluster(c, &cl);
  ap->latency_s = lat_ok ? 0 : NAN, ap->bytes = 0, ap->storage_bytes = 0;
  ap->energy_j = lat_ok && run_energy_modelled(c) ? 0 : NAN;
  if (!lat_ok) snprintf(ap->note, sizeof ap->note, "latency: no analytic model for this "
                        "cluster (classes, failures, worst-set or measured timing)");
  for (size_t ci = 0; ci < model_conv_count(m); ci++) {
    if (!selected(c, ci)) continue;
    cod_conv_geom g = model_conv_geom(m, ci);
    cod_code *code = NULL;
    cod_err ce = {0};
    if (run_code_choose(c, &g, &code, &ce)) {
      ap->latency_s = ap->bytes = ap->storage_bytes = ap->energy_j = NAN;
      snprintf(ap->note, sizeof ap->note, "conv %zu: %.140s", ci + 1, ce.msg);
      return;
    }
    const cod_code_params *cp = cod_code_params_get(code);
    an_code_params p = {cp->scheme, cp->n_workers, cp->ka, cp->kb, cp->q, cp->axis,
                        run_precision_operand_bytes(c->run.precision)};
    an_costs ac;
    an_latency al;
    if (an_costs_compute(&g, &p, &ac, &ce)) {
      ap->latency_s = ap->bytes = ap->storage_bytes = ap->energy_j = NAN;
      snprintf(ap->note, sizeof ap->note, "conv %zu: %.140s", ci + 1, ce.msg);
    } else {
      ap->bytes += (double)cp->n_workers * (ac.upload_bytes + ac.download_bytes);
      if (ac.storage_bytes > ap->storage_bytes) ap->storage_bytes = ac.storage_bytes;
      if (!isnan(ap->latency_s)) {
        if (an_latency_expected(&ac, &p, &cl, &al, &ce) == COD_OK) {
          ap->latency_s += al.total_s;
          res_layer_row L; /* the same analytic energy a run stores in layers.an_energy_j */
          res_layer_row_init(&L);
          run_energy_an_layer(c, &ac, &p, &cl, &al, &L);
          ap->energy_j += L.an_energy_j; /* NaN stays NaN: not covered */
        } else {
          ap->latency_s = ap->energy_j = NAN;
          snprintf(ap->note, sizeof ap->note, "latency: %.140s", ce.msg);
        }
      }
    }
    cod_code_free(code);
    if (isnan(ap->bytes)) return;
  }
}

static double an_objective(const an_point *a, int objective) {
  return objective == RES_REC_BYTES ? a->bytes : objective == RES_REC_ENERGY ? a->energy_j
                                                                              : a->latency_s;
}

static int by_objective(const void *x, const void *y, int objective) {
  const an_point *a = x, *b = y;
  if (a->meets != b->meets) return b->meets - a->meets;
  double va = an_objective(a, objective), vb = an_objective(b, objective);
  if (isnan(va) != isnan(vb)) return isnan(va) ? 1 : -1;
  if (va != vb && !isnan(va)) return va < vb ? -1 : 1;
  return a->point < b->point ? -1 : a->point > b->point;
}
static int g_objective;
static int cmp_points(const void *x, const void *y) { return by_objective(x, y, g_objective); }

static void print_analytic(const rec_args *a, an_point *pts, size_t n, size_t ranked) {
  const res_rec_opts *o = &a->o;
  if (a->json) {
    printf("{\"source\": \"analytic\", \"objective\": \"%s\", \"mse\": \"not checked: no "
           "analytic model of the MSE\", \"latency\": \"expected latency of the coded layers "
           "(analytic/an_model.h), no quantiles\", \"ranked\": %zu, \"points\": [",
           res_rec_objective_name(o->objective), ranked);
    for (size_t i = 0; i < n; i++) {
      printf("%s\n  {\"rank\": ", i ? "," : "");
      if (i < ranked) printf("%zu", i + 1);
      else fputs("null", stdout);
      printf(", \"point\": %zu, \"label\": ", pts[i].point);
      cli_json_string(stdout, pts[i].label);
      fputs(", \"latency_s\": ", stdout), cli_json_number(stdout, pts[i].latency_s);
      fputs(", \"bytes\": ", stdout), cli_json_number(stdout, pts[i].bytes);
      fputs(", \"storage_bytes\": ", stdout), cli_json_number(stdout, pts[i].storage_bytes);
      fputs(", \"energy_j\": ", stdout), cli_json_number(stdout, pts[i].energy_j);
      fputs(", \"storage_margin_bytes\": ", stdout);
      cli_json_number(stdout, isnan(o->max_storage_bytes) ? NAN
                                                          : o->max_storage_bytes - pts[i].storage_bytes);
      fputs(", \"note\": ", stdout);
      cli_json_string(stdout, pts[i].note);
      fputc('}', stdout);
    }
    printf("]}\n");
    return;
  }
  printf("analytic model, before any run: %zu of %zu points ranked by %s (%s)\n", ranked, n,
         o->objective == RES_REC_BYTES    ? "bytes moved per inference"
         : o->objective == RES_REC_ENERGY ? "expected energy"
                                          : "expected latency",
         o->objective == RES_REC_BYTES    ? "bytes"
         : o->objective == RES_REC_ENERGY ? "J, coded layers"
                                          : "s, coded layers");
  if (!isnan(o->max_mse))
    printf("--max-mse %g: NOT checked: the MSE has no analytic model (run the sweep, then "
           "fcdcc recommend DB)\n", o->max_mse);
  printf("%-4s %-12s %-12s %-12s %-12s %-14s %s\n", "rank", "latency_s", "energy_J", "bytes",
         "storage_B", "storage_margin", "point");
  for (size_t i = 0; i < n; i++) {
    char rank[16], lat[32], by[32], sb[32], sm[32], en[32];
    snprintf(en, sizeof en, isnan(pts[i].energy_j) ? "-" : "%.4g", pts[i].energy_j);
    snprintf(rank, sizeof rank, i < ranked ? "%zu" : "x", i + 1);
    snprintf(lat, sizeof lat, isnan(pts[i].latency_s) ? "-" : "%.4g", pts[i].latency_s);
    snprintf(by, sizeof by, isnan(pts[i].bytes) ? "-" : "%.4g", pts[i].bytes);
    snprintf(sb, sizeof sb, isnan(pts[i].storage_bytes) ? "-" : "%.4g", pts[i].storage_bytes);
    if (isnan(o->max_storage_bytes) || isnan(pts[i].storage_bytes)) snprintf(sm, sizeof sm, "-");
    else snprintf(sm, sizeof sm, "%.4g", o->max_storage_bytes - pts[i].storage_bytes);
    printf("%-4s %-12s %-12s %-12s %-12s %-14s %zu %s%s%s\n", rank, lat, en, by, sb, sm, pts[i].point,
           pts[i].label[0] ? pts[i].label : "(one point)", pts[i].note[0] ? "  -- " : "",
           pts[i].note);
  }
}

static int recommend_scenario(const rec_args *a) {
  if (a->o.objective == RES_REC_P95 || !isnan(a->o.max_p99_s))
    return cli_usage_error("recommend", "--scenario: the analytic model gives expected "
                           "latencies, not quantiles: use --objective mean and no --max-p99 "
                           "(or run the sweep and rank its database)");
  run_scenario *sc = NULL;
  cod_err e = {0};
  if (run_scenario_load(a->scenario, &sc, &e))
    return e.status == COD_ENOMEM ? cli_fail("recommend", "%s", e.msg)
                                  : cli_usage_error("recommend", "%s", e.msg);
  int rc = 0;
  for (size_t i = 0; !rc && i < a->n_sets; i++) {
    char key[256];
    const char *eq = strchr(a->sets[i], '=');
    if (!eq || eq == a->sets[i] || (size_t)(eq - a->sets[i]) >= sizeof key) {
      rc = cli_usage_error("recommend", "--set: expected section.key=value, got '%s'", a->sets[i]);
      break;
    }
    memcpy(key, a->sets[i], (size_t)(eq - a->sets[i]));
    key[eq - a->sets[i]] = 0;
    if (run_scenario_set(sc, key, eq + 1, &e)) rc = cli_usage_error("recommend", "%s", e.msg);
  }
  size_t n = run_scenario_points(sc), ranked = 0;
  /* the sweep's own plan: infeasible points and duplicates are said, never ranked */
  run_sweep_plan pl;
  memset(&pl, 0, sizeof pl);
  if (!rc && run_plan_sweep(sc, &pl, &e))
    rc = e.status == COD_ENOMEM ? cli_fail("recommend", "%s", e.msg)
                                : cli_usage_error("recommend", "%s", e.msg);
  an_point *pts = rc ? NULL : cod_calloc(n, sizeof *pts);
  if (!rc && !pts) rc = cli_fail("recommend", "out of memory");
  model *m = NULL;
  char last[RUN_PATH_MAX] = "";
  run_config cfg;
  for (size_t p = 0; !rc && p < n; p++) {
    an_point *ap = &pts[p];
    ap->point = p;
    if (run_scenario_label(sc, p, &ap->label, &e)) {
      rc = cli_fail("recommend", "%s", e.msg);
      break;
    }
    if (pl.state[p] != RUN_POINT_RUN) { /* infeasible or a duplicate: said, not ranked */
      ap->latency_s = ap->bytes = ap->storage_bytes = ap->energy_j = NAN;
      for (size_t k = 0; k < pl.n_skips; k++)
        if (pl.skips[k].point == p)
          snprintf(ap->note, sizeof ap->note, "%s: %.170s",
                   pl.skips[k].state == RUN_POINT_DUPLICATE ? "duplicate" : "infeasible",
                   pl.skips[k].reason);
      continue;
    }
    if (run_scenario_point(sc, p, &cfg, &e)) {
      rc = cli_fail("recommend", "%s", e.msg);
      break;
    }
    if (strcmp(last, cfg.model.name) != 0) {
      model_free(m), m = NULL, last[0] = '\0';
      cod_err me = {0};
      if (model_lookup(cfg.model.name, &m, &me) && model_load_any(cfg.model.name, &m, NULL, &me)) {
        rc = cli_usage_error("recommend", "%s: model %s: %s", a->scenario, cfg.model.name, me.msg);
        break;
      }
      snprintf(last, sizeof last, "%s", cfg.model.name);
    }
    analytic_point(&cfg, m, ap);
    double v = an_objective(ap, a->o.objective);
    if (isnan(v) && a->o.objective == RES_REC_ENERGY && !ap->note[0])
      snprintf(ap->note, sizeof ap->note, "energy not modelled (every energy key is 0) or not "
               "covered by the analytic model");
    ap->meets = !isnan(v) && (isnan(a->o.max_storage_bytes) ||
                              ap->storage_bytes <= a->o.max_storage_bytes);
    if (!isnan(v) && !ap->meets && !ap->note[0]) snprintf(ap->note, sizeof ap->note, "breaks max-storage");
    ranked += ap->meets != 0;
  }
  model_free(m);
  run_plan_sweep_fini(&pl);
  run_scenario_free(sc);
  if (!rc) {
    g_objective = a->o.objective;
    qsort(pts, n, sizeof *pts, cmp_points);
    print_analytic(a, pts, n, ranked);
  }
  for (size_t p = 0; pts && p < n; p++) cod_free(pts[p].label);
  cod_free(pts);
  return rc;
}

int cli_recommend(int argc, char **argv) {
  rec_args a;
  memset(&a, 0, sizeof a);
  a.o.max_mse = a.o.max_storage_bytes = a.o.max_p99_s = NAN;
  int done = 0, rc = parse_args(argc, argv, &a, &done);
  if (rc || done) return rc;
  return a.scenario ? recommend_scenario(&a) : recommend_db(&a);
}
