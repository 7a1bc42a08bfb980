/* test_runner_scenario.c: scenario files, sweeps, JSON and overrides (suite unit).
 *
 * Expectations are computed independently of the parser: sweep orders by nested loops,
 * range values by hand, FNV-1a hashes from the published test vectors, canonical JSON
 * fragments written out literally. Bad files come from a table of (text, line, fragment);
 * a seeded gsl_rng drives the hostile-input smoke test and allocation failures are
 * injected at every allocation of a parse.
 */
#include <criterion/criterion.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cod_alloc.h"
#include "fcdcc_config.h"
#include "run_config.h"
#include "run_scenario.h"

static run_scenario *parse_ok(const char *text) {
  run_scenario *sc = NULL;
  cod_err e = {0};
  int st = run_scenario_parse(text, strlen(text), "t.ini", &sc, &e);
  cr_assert_eq(st, COD_OK, "parse failed: %s\n--- text:\n%s", e.msg, text);
  cr_assert_not_null(sc);
  return sc;
}

static void point_ok(const run_scenario *sc, size_t i, run_config *cfg) {
  cod_err e = {0};
  int st = run_scenario_point(sc, i, cfg, &e);
  cr_assert_eq(st, COD_OK, "point %zu failed: %s", i, e.msg);
}

static char *label_of(const run_scenario *sc, size_t i) {
  char *l = NULL;
  cr_assert_eq(run_scenario_label(sc, i, &l, NULL), COD_OK);
  return l;
}

static char *json_of(const run_scenario *sc, size_t i) {
  char *j = NULL;
  cod_err e = {0};
  cr_assert_eq(run_scenario_point_json(sc, i, &j, &e), COD_OK, "%s", e.msg);
  return j;
}

/* The law of a run_latency by its sim/ registry name, and one of its parameters by key
 * (the runner holds both by registry index). */
static const char *law_name(int law) {
  cr_assert(law >= 0 && (size_t)law < sim_latency_law_count(), "law index %d", law);
  return sim_latency_law_name((size_t)law);
}

static double lat_param(const run_latency *l, const char *key) {
  int i = sim_latency_param_find(key);
  cr_assert_geq(i, 0, "no latency parameter '%s'", key);
  return l->param[i];
}

/* ---- defaults ---------------------------------------------------------------------- */

Test(defaults, documented_values) {
  run_config c;
  memset(&c, 0xA5, sizeof c);
  run_config_defaults(&c);
  cr_expect_eq(c.run.trials, 1);
  cr_expect_eq(c.run.seed, 1);
  cr_expect_eq(c.run.precision, RUN_FP64);
  cr_expect_eq(c.run.decode, RUN_DECODE_FAST);
  cr_expect(isinf(c.run.snr_db) && c.run.snr_db > 0);
  cr_expect_eq(c.run.trace, 0);
  cr_expect_eq(c.run.cond_bound, 1e10);
  cr_expect_eq(c.run.compute, RUN_COMPUTE_REAL);
  cr_expect_str_eq(c.model.name, "alexnet");
  cr_expect_eq(c.model.n_layers, 0);
  cr_expect_str_eq(c.model.weights, "he");
  cr_expect_str_eq(c.model.input, "random");
  cr_expect_str_eq(c.coding.scheme, "nsctc-rot");
  cr_expect_eq(c.coding.ka, 4);
  cr_expect_eq(c.coding.kb, 4);
  cr_expect_eq(c.coding.delta, 0);
  cr_expect_eq(c.coding.replication, 2);
  cr_expect_eq(c.coding.q, 0);
  cr_expect_eq(c.coding.axis, RUN_AXIS_ROWS);
  cr_expect_eq(c.cluster.workers, 20);
  cr_expect_eq(c.cluster.compute_rate_flops, 1e10);
  cr_expect(isinf(c.cluster.storage_bytes));
  cr_expect_eq(c.cluster.on_storage, RUN_STORAGE_FAIL);
  cr_expect_str_eq(law_name(c.latency.model), "shifted-exp");
  cr_expect_eq(lat_param(&c.latency, "shift"), 1.0);
  cr_expect_eq(lat_param(&c.latency, "rate"), 1.0);
  cr_expect_eq(lat_param(&c.latency, "pareto_shape"), 2.0);
  cr_expect_eq(lat_param(&c.latency, "bimodal_factor"), 5.0);
  cr_expect_eq(lat_param(&c.latency, "fail_p"), 0.0);
  cr_expect_str_eq(law_name(c.latency.base), "shifted-exp");
  cr_expect_eq(c.failures.n_fail_workers, 0);
  cr_expect_str_eq(c.failures.trace_file, "");
  cr_expect_eq(c.network.uplink_bps, 1e9);
  cr_expect_eq(c.network.downlink_bps, 1e9);
  cr_expect_eq(c.network.latency_s, 0.0);
  cr_expect_eq(c.network.master_bps, 1e10);
  cr_expect_eq(c.network.master_sharing, RUN_SHARING_FAIR);
  cr_expect_eq(c.master.speed_factor, 1.0);
  cr_expect_eq(c.master.timing, RUN_TIMING_MODEL);
  cr_expect_eq(c.master.master_flops, 1e11);
  cr_expect_eq(c.n_classes, 0);
  cod_err e = {0};
  cr_expect_eq(run_config_validate(&c, &e), COD_OK, "%s", e.msg);
}

/* The registry's documented defaults (what --help and scenarios/README.md show) and
 * run_config_defaults() are two spellings of the same facts: applying every registry
 * default to a zeroed config must give the same canonical JSON. run.name is the one
 * exception: its default is described ("the file's base name"), set by the parser. */
Test(defaults, registry_defaults_match_the_struct) {
  run_config a, b;
  run_config_defaults(&a);
  memset(&b, 0, sizeof b);
  for (size_t id = 0; id < run_config_key_count(); id++) {
    const run_key_info *k = run_config_key(id);
    if (strcmp(k->section, "class") == 0 || (strcmp(k->section, "run") == 0 && strcmp(k->key, "name") == 0))
      continue;
    char canon[RUN_VALUE_MAX];
    cod_err e = {0};
    cr_assert_eq(run_config_key_parse(id, k->dflt, canon, sizeof canon, &e), COD_OK,
                 "[%s] %s: default '%s' does not parse: %s", k->section, k->key, k->dflt, e.msg);
    cr_assert_eq(run_config_key_apply(&b, id, 0, canon, &e), COD_OK, "%s", e.msg);
  }
  memcpy(b.run.name, a.run.name, sizeof a.run.name);
  char *ja = NULL, *jb = NULL;
  cr_assert_eq(run_config_to_json(&a, &ja, NULL), COD_OK);
  cr_assert_eq(run_config_to_json(&b, &jb, NULL), COD_OK);
  cr_expect_str_eq(jb, ja, "registry defaults differ from run_config_defaults()");
  cod_free(ja);
  cod_free(jb);
}

Test(defaults, empty_file_is_one_default_point_named_after_the_file) {
  run_scenario *sc = NULL;
  cr_assert_eq(run_scenario_parse("", 0, "/some/dir/my-sweep.ini", &sc, NULL), COD_OK);
  cr_expect_eq(run_scenario_points(sc), 1);
  run_config c, d;
  point_ok(sc, 0, &c);
  run_config_defaults(&d);
  cr_expect_str_eq(c.run.name, "my-sweep");
  snprintf(d.run.name, sizeof d.run.name, "my-sweep");
  cr_expect_eq(memcmp(&c, &d, sizeof c), 0, "empty scenario differs from defaults");
  char *l = label_of(sc, 0);
  cr_expect_str_eq(l, "");
  cod_free(l);
  /* FNV-1a 64 test vectors: "" -> cbf29ce484222325, "a" -> af63dc4c8601ec8c */
  cr_expect_str_eq(run_scenario_hash(sc), "cbf29ce484222325");
  run_scenario_free(sc);
  cr_assert_eq(run_scenario_parse("a", 1, "x", &sc, NULL), COD_EFORMAT); /* not INI */
  run_scenario_free(NULL);
}

Test(defaults, hash_is_of_the_bytes) {
  run_scenario *a = parse_ok("[run]\ntrials = 2\n");
  run_scenario *b = parse_ok("[run]\ntrials = 2 \n");
  cr_expect_str_neq(run_scenario_hash(a), run_scenario_hash(b));
  cr_expect_eq(strlen(run_scenario_hash(a)), 16);
  run_scenario_free(a);
  run_scenario_free(b);
}

/* ---- every key --------------------------------------------------------------------- */

typedef struct key_case {
  const char *section, *key, *text, *json; /* json: the value as the JSON shows it */
} key_case;

static const key_case key_cases[] = {
  {"run", "name", "exp-1", "\"exp-1\""},
  {"run", "trials", "7", "7"},
  {"run", "seed", "9007199254740991", "9007199254740991"},
  {"run", "precision", "fp32", "\"fp32\""},
  {"run", "decode", "generic", "\"generic\""},
  {"run", "snr_db", "95.5", "95.5"},
  {"run", "trace", "yes", "true"},
  {"run", "cond_bound", "1e12", "1e+12"},
  {"run", "compute", "model", "\"model\""},
  {"run", "conv_algo", "auto", "\"auto\""},
  {"run", "cond", "none", "\"none\""},
  {"model", "name", "models/net.txt", "\"models/net.txt\""},
  {"model", "layers", "conv1-conv3+5", "[1,2,3,5]"},
  {"model", "weights", "/data/weights", "\"/data/weights\""},
  {"model", "weights_seed", "42", "42"},
  {"model", "input", "in/x.npy", "\"in/x.npy\""},
  {"model", "input_seed", "0", "0"},
  {"coding", "scheme", "poly-cheb", "\"poly-cheb\""},
  {"coding", "ka", "2", "2"},
  {"coding", "kb", "auto", "\"auto\""},
  {"coding", "delta", "6", "6"},
  {"coding", "replication", "3", "3"},
  {"coding", "q", "5", "5"},
  {"coding", "seed", "9007199254740991", "9007199254740991"},
  {"coding", "axis", "cols", "\"cols\""},
  {"coding", "approx_wait", "7", "7"},
  {"coding", "approx_deadline_s", "0.25", "0.25"},
  {"cluster", "workers", "12", "12"},
  {"cluster", "compute_rate_flops", "2.5e9", "2.5e+09"},
  {"cluster", "storage_bytes", "64e6", "6.4e+07"},
  {"cluster", "on_storage", "repartition", "\"repartition\""},
  {"cluster", "stragglers", "worst", "\"worst\""},
  {"cluster", "worst_sets", "500", "500"},
  {"cluster", "allocation", "proportional", "\"proportional\""},
  {"cluster", "tasks", "40", "40"},
  {"cluster", "returns", "per-task", "\"per-task\""},
  {"latency", "model", "pareto", "\"pareto\""},
  {"latency", "model", "lognormal", "\"lognormal\""},
  {"latency", "shift", "0.25", "0.25"},
  {"latency", "rate", "4", "4"},
  {"latency", "pareto_scale", "1.5", "1.5"},
  {"latency", "pareto_shape", "3", "3"},
  {"latency", "bimodal_p", "0.2", "0.2"},
  {"latency", "bimodal_factor", "8", "8"},
  {"latency", "fail_p", "0.05", "0.05"},
  {"latency", "lognormal_shift", "0.5", "0.5"},
  {"latency", "lognormal_mu", "-1.25", "-1.25"},
  {"latency", "lognormal_sigma", "0.75", "0.75"},
  {"latency", "model", "markov", "\"markov\""},
  {"latency", "markov_fast_shift", "0.5", "0.5"},
  {"latency", "markov_fast_rate", "3", "3"},
  {"latency", "markov_slow_shift", "4", "4"},
  {"latency", "markov_slow_rate", "0.25", "0.25"},
  {"latency", "markov_fast_sojourn_s", "0.02", "0.02"},
  {"latency", "markov_slow_sojourn_s", "5e-3", "0.005"},
  {"latency", "fail_at_s", "1.5e-3", "0.0015"},
  {"latency", "base", "deterministic", "\"deterministic\""},
  {"latency", "fail_workers", "7 0 3-4", "[0,3,4,7]"},
  {"latency", "trace_file", "t.csv", "\"t.csv\""},
  {"network", "to_master_bps", "unlimited", "\"unlimited\""},
  {"network", "to_worker_bps", "1e8", "1e+08"},
  {"network", "latency_s", "2e-4", "0.0002"},
  {"network", "master_bps", "4e10", "4e+10"},
  {"network", "master_sharing", "sequential", "\"sequential\""},
  {"master", "speed_factor", "0.5", "0.5"},
  {"master", "timing", "measured", "\"measured\""},
  {"master", "master_flops", "3e9", "3e+09"},
  {"data", "source", "fashion-mnist", "\"fashion-mnist\""},
  {"data", "split", "train", "\"train\""},
  {"data", "images", "1000", "1000"},
  {"data", "first", "17", "17"},
  {"data", "mean", "0.286", "0.286"},
  {"data", "std", "0.353", "0.353"},
  {"data", "labels", "l.npy", "\"l.npy\""},
  {"load", "arrivals", "poisson", "\"poisson\""},
  {"load", "arrivals", "closed", "\"closed\""},
  {"load", "rate_per_s", "25", "25"},
  {"load", "requests", "1000000", "1000000"},
  {"load", "warmup", "100", "100"},
  {"load", "trace", "arrivals.txt", "\"arrivals.txt\""},
  {"load", "clients", "8", "8"},
  {"load", "think_s", "0.5", "0.5"},
  {"load", "cancel", "never", "\"never\""},
  {"load", "queue_limit", "500", "500"},
  {"load", "time_limit_s", "3600", "3600"},
  {"load", "batch", "4", "4"},
  {"load", "batch_timeout_s", "0.01", "0.01"},
  {"load", "service", "ps", "\"ps\""},
  {"class", "count", "3", "3"},
  {"class", "compute_rate_flops", "5e9", "5e+09"},
  {"class", "to_master_bps", "2e8", "2e+08"},
  {"class", "to_worker_bps", "3e8", "3e+08"},
  {"class", "storage_bytes", "unlimited", "\"unlimited\""},
  {"class", "model", "bimodal", "\"bimodal\""},
  {"class", "shift", "2", "2"},
  {"class", "rate", "0.5", "0.5"},
  {"class", "pareto_scale", "2", "2"},
  {"class", "pareto_shape", "1.5", "1.5"},
  {"class", "bimodal_p", "1", "1"},
  {"class", "bimodal_factor", "0", "0"},
  {"class", "fail_p", "1", "1"},
  {"class", "lognormal_shift", "0", "0"},
  {"class", "lognormal_mu", "100", "100"},
  {"class", "lognormal_sigma", "10", "10"},
  {"class", "markov_fast_shift", "0", "0"},
  {"class", "markov_fast_rate", "2", "2"},
  {"class", "markov_slow_shift", "8", "8"},
  {"class", "markov_slow_rate", "1", "1"},
  {"class", "markov_fast_sojourn_s", "1", "1"},
  {"class", "markov_slow_sojourn_s", "2", "2"},
  {"class", "fail_at_s", "3", "3"},
  {"class", "base", "pareto", "\"pareto\""},
  {"cluster", "storage", "whole-model", "\"whole-model\""},
  {"cluster", "j_per_flop", "1.5e-10", "1.5e-10"},
  {"cluster", "j_per_byte_sent", "2e-8", "2e-08"},
  {"cluster", "j_per_byte_recv", "1e-8", "1e-08"},
  {"cluster", "idle_w", "0.5", "0.5"},
  {"cluster", "busy_w", "4", "4"},
  {"master", "j_per_flop", "5e-11", "5e-11"},
  {"master", "j_per_byte_sent", "3e-9", "3e-09"},
  {"master", "j_per_byte_recv", "0", "0"},
  {"master", "idle_w", "10", "10"},
  {"master", "busy_w", "65", "65"},
  {"class", "j_per_flop", "1e12", "1e+12"},
  {"class", "j_per_byte_sent", "0.125", "0.125"},
  {"class", "j_per_byte_recv", "7e-9", "7e-09"},
  {"class", "idle_w", "0.25", "0.25"},
  {"class", "busy_w", "2.5", "2.5"},
};
#define N_CASES (sizeof key_cases / sizeof key_cases[0])

Test(keys, every_registered_key_has_a_case) {
  for (size_t id = 0; id < run_config_key_count(); id++) {
    const run_key_info *k = run_config_key(id);
    int found = 0;
    for (size_t i = 0; i < N_CASES; i++)
      found |= strcmp(key_cases[i].section, k->section) == 0 &&
               strcmp(key_cases[i].key, k->key) == 0;
    cr_expect(found, "no test case for [%s] %s", k->section, k->key);
    cr_expect(k->expect && *k->expect && k->dflt, "undocumented key %s", k->key);
    cr_expect_eq(run_config_key_find(k->section, k->key), (int)id);
  }
  cr_expect_eq(run_config_key_find("cluster", "nope"), -1);
  cr_expect_eq(run_config_key_find("nope", "workers"), -1);
}

/* The text of section `heading` of doc (up to the next heading of level 2 or 3). */
static char *doc_section(const char *doc, const char *heading) {
  const char *a = strstr(doc, heading);
  cr_assert_not_null(a, "scenarios/README.md has no '%s'", heading);
  a += strlen(heading);
  const char *b3 = strstr(a, "\n### "), *b2 = strstr(a, "\n## ");
  const char *b = b3 && (!b2 || b3 < b2) ? b3 : b2 ? b2 : a + strlen(a);
  char *out = malloc((size_t)(b - a) + 1);
  cr_assert_not_null(out);
  memcpy(out, a, (size_t)(b - a));
  out[b - a] = '\0';
  return out;
}

/* `word` is one item of a table cell of text: "| word |", "| word," ", word," ", word |". */
static int in_a_cell(const char *text, const char *word) {
  static const char *const pre[] = {"| ", ", "}, *const post[] = {" |", ","};
  char pat[128];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) {
      snprintf(pat, sizeof pat, "%s%s%s", pre[i], word, post[j]);
      if (strstr(text, pat)) return 1;
    }
  return 0;
}

/* scenarios/README.md documents every registered key in its section's table and every
 * latency law of sim/'s registry in the [latency] table: the docs are checked against the
 * registries, so a key or a law added without its documentation fails here. */
Test(keys, readme_documents_every_key) {
  FILE *f = fopen(FCDCC_SOURCE_ROOT "/scenarios/README.md", "rb");
  cr_assert_not_null(f);
  static char doc[1 << 17];
  size_t n = fread(doc, 1, sizeof doc - 1, f);
  fclose(f);
  cr_assert_lt(n, sizeof doc - 1, "README larger than the test's buffer");
  doc[n] = '\0';
  for (size_t id = 0; id < run_config_key_count(); id++) {
    const run_key_info *k = run_config_key(id);
    char heading[64];
    snprintf(heading, sizeof heading, "### [%s%s]", k->section,
             strcmp(k->section, "class") == 0 ? " NAME" : "");
    char *sec = doc_section(doc, heading);
    cr_expect(in_a_cell(sec, k->key), "%s lacks key %s", heading, k->key);
    free(sec);
  }
  char *lat = doc_section(doc, "### [latency]");
  for (size_t i = 0; i < sim_latency_law_count(); i++)
    cr_expect(in_a_cell(lat, sim_latency_law_name(i)), "[latency] lacks law %s",
              sim_latency_law_name(i));
  free(lat);
}

Test(keys, every_key_parses_and_shows_in_json) {
  for (size_t i = 0; i < N_CASES; i++) {
    const key_case *kc = &key_cases[i];
    int is_class = strcmp(kc->section, "class") == 0;
    char text[512], frag[256];
    /* the file path: the key alone in its section parses */
    snprintf(text, sizeof text, "[%s]\n%s = %s\n%s", is_class ? "class c1" : kc->section,
             kc->key, kc->text, is_class && strcmp(kc->key, "count") ? "count = 1\n" : "");
    run_scenario *sc = parse_ok(text);
    run_scenario_free(sc);
    /* the config path: canonical text -> field -> JSON */
    char canon[RUN_VALUE_MAX], canon2[RUN_VALUE_MAX];
    int id = run_config_key_find(kc->section, kc->key);
    cr_assert_geq(id, 0);
    cr_assert_eq(run_config_key_parse((size_t)id, kc->text, canon, sizeof canon, NULL), COD_OK);
    cr_expect_eq(run_config_key_parse((size_t)id, canon, canon2, sizeof canon2, NULL), COD_OK);
    cr_expect_str_eq(canon, canon2, "canonical text of %s is not a fixed point", kc->key);
    run_config c;
    run_config_defaults(&c);
    c.n_classes = 1;
    snprintf(c.classes[0].name, sizeof c.classes[0].name, "c1");
    cr_assert_eq(run_config_key_apply(&c, (size_t)id, 0, canon, NULL), COD_OK);
    char *j = NULL;
    cr_assert_eq(run_config_to_json(&c, &j, NULL), COD_OK);
    snprintf(frag, sizeof frag, "\"%s\":%s", kc->key, kc->json);
    const char *from = strstr(j, is_class ? "\"classes\"" : kc->section);
    cr_assert_not_null(from);
    cr_expect(strstr(from, frag) != NULL, "[%s] %s = %s: '%s' not in %s", kc->section, kc->key,
              kc->text, frag, j);
    cod_free(j);
  }
}

Test(keys, fields_hold_the_values_with_units) {
  run_scenario *sc = parse_ok(
      "[run]\nsnr_db = -3.5\nprecision = fp32\n"
      "[model]\nlayers = 2-4\n"
      "[coding]\nscheme = nsctc-cir\nka = auto\nkb = 3\ndelta = 3\n"
      "[cluster]\nworkers = 20\nstorage_bytes = 1e9\n"
      "[latency]\nfail_workers = 19 2\n"
      "[network]\nuplink_bps = unlimited\n"
      "[class big]\ncount = 4\ncompute_rate_flops = 4e10\n"
      "[class slow]\ncount = 2\nmodel = deterministic\n");
  run_config c;
  point_ok(sc, 0, &c);
  cr_expect_eq(c.run.snr_db, -3.5);
  cr_expect_eq(c.run.precision, RUN_FP32);
  cr_expect_eq(c.model.n_layers, 3);
  cr_expect_eq(c.model.layers[0], 2);
  cr_expect_eq(c.model.layers[2], 4);
  cr_expect_str_eq(c.coding.scheme, "nsctc-cir");
  cr_expect_eq(c.coding.ka, RUN_AUTO);
  cr_expect_eq(c.coding.kb, 3);
  cr_expect_eq(c.coding.delta, 3); /* one-sided: 1 x 3 (12 = 4 x 3 cannot plan) */
  cr_expect_eq(c.cluster.storage_bytes, 1e9);
  cr_expect_eq(c.failures.n_fail_workers, 2);
  cr_expect_eq(c.failures.fail_workers[0], 2);
  cr_expect_eq(c.failures.fail_workers[1], 19);
  cr_expect(isinf(c.network.uplink_bps));
  cr_expect_eq(c.n_classes, 2);
  cr_expect_str_eq(c.classes[1].name, "slow");
  cr_expect_eq(c.classes[1].first_worker, 4);
  /* class overrides on top of the point's defaults */
  run_worker w;
  cr_expect_eq(run_config_worker(&c, 3, &w), 0);
  cr_expect_eq(w.compute_rate_flops, 4e10);
  cr_expect_eq(w.storage_bytes, 1e9);
  cr_expect_eq(run_config_worker(&c, 5, &w), 1);
  cr_expect_str_eq(law_name(w.latency.model), "deterministic");
  cr_expect_eq(w.compute_rate_flops, 1e10);
  cr_expect_eq(run_config_worker(&c, 6, &w), -1);
  cr_expect(isinf(w.uplink_bps));
  cr_expect_str_eq(run_config_enum_name("latency.model", SIM_LAT_FAIL_STOP), "fail-stop");
  /* the scheme is held by name, not as an enumeration */
  cr_expect_null(run_config_enum_name("coding.scheme", 0));
  cr_expect_null(run_config_enum_name("latency.model", 99));
  cr_expect_null(run_config_enum_name("cluster.workers", 0));
  run_scenario_free(sc);
}

/* A law index that is not sim's is an error listing the laws, never a default law; a
 * class is checked as the [latency] section is. */
Test(keys, unknown_law_index_is_an_error) {
  static const int bad[][2] = {{99, 0}, {-1, 0}, {0, 99}, {0, -3}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    run_config c;
    run_config_defaults(&c);
    c.latency.model = bad[i][0];
    c.latency.base = bad[i][1];
    cod_err e = {0};
    cr_expect_eq(run_config_validate(&c, &e), COD_EINVAL, "model %d base %d", bad[i][0],
                 bad[i][1]);
    cr_expect(strstr(e.msg, "[latency]") && strstr(e.msg, "not a latency law") &&
              strstr(e.msg, "shifted-exp") && strstr(e.msg, sim_latency_law_name(
                  sim_latency_law_count() - 1)), "%s", e.msg);
  }
  run_config c;
  run_config_defaults(&c);
  c.n_classes = 1;
  c.classes[0].count = 1;
  snprintf(c.classes[0].name, sizeof c.classes[0].name, "odd");
  c.classes[0].worker.latency = c.latency;
  c.classes[0].worker.latency.model = (int)sim_latency_law_count();
  cod_err e = {0};
  cr_expect_eq(run_config_validate(&c, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "[class odd] model = "), "%s", e.msg);
  /* and sim's constructor refuses it too, listing the laws */
  sim_latency_params p;
  run_latency_sim_params(&c, &c.classes[0].worker.latency, &p);
  sim_latency *m = NULL;
  cr_expect_eq(sim_latency_new_from_params(&p, &m, &e), COD_EINVAL);
  cr_expect_null(m);
  cr_expect(strstr(e.msg, "unknown latency law kind") && strstr(e.msg, "shifted-exp"), "%s",
            e.msg);
}

Test(keys, run_config_set_direct) {
  run_config c;
  run_config_defaults(&c);
  cod_err e = {0};
  cr_expect_eq(run_config_set(&c, "cluster.workers", "33", &e), COD_OK);
  cr_expect_eq(c.cluster.workers, 33);
  cr_expect_eq(run_config_set(&c, "cluster.workers", "8, 9", &e), COD_EINVAL);
  cr_expect_eq(c.cluster.workers, 33);
  cr_expect_eq(run_config_set(&c, "cluster.nope", "1", &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "unknown key") != NULL, "%s", e.msg);
  cr_expect_eq(run_config_set(&c, "workers", "1", &e), COD_EINVAL);
  cr_expect_eq(run_config_set(&c, "class.x.count", "1", &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "unknown class") != NULL, "%s", e.msg);
}

/* ---- lists and ranges ----------------------------------------------------------------- */

static void expect_values(const char *text, const char *key, const char *const *want,
                          size_t n) {
  run_scenario *sc = parse_ok(text);
  cr_assert_eq(run_scenario_points(sc), n, "%s: %zu points, want %zu", text,
               run_scenario_points(sc), n);
  for (size_t i = 0; i < n; i++) {
    char *l = label_of(sc, i), want_l[128];
    snprintf(want_l, sizeof want_l, "%s=%s", key, want[i]);
    cr_expect_str_eq(l, want_l, "%s: point %zu", text, i);
    cod_free(l);
  }
  run_scenario_free(sc);
}

Test(sweeps, integer_range_end_inclusive_and_step) {
  const char *a[] = {"8", "12", "16", "20", "24", "28", "32"};
  expect_values("[cluster]\nworkers = 8..32 step 4\n", "workers", a, 7);
  const char *b[] = {"8", "12", "16", "20", "24", "28"}; /* 30 is not on the grid */
  expect_values("[cluster]\nworkers = 8..30 step 4\n", "workers", b, 6);
  const char *c[] = {"3", "4", "5"}; /* default step 1 */
  expect_values("[run]\ntrials = 3..5\n", "trials", c, 3);
  const char *d[] = {"7"};
  expect_values("[run]\ntrials = 7..7 step 3, 2\n", "trials", (const char *[]){"7", "2"}, 2);
  (void)d;
}

Test(sweeps, real_ranges) {
  const char *a[] = {"80", "90", "100", "110", "120"};
  expect_values("[run]\nsnr_db = 80..120 step 10\n", "snr_db", a, 5);
  /* 0.3 / 0.1 = 2.9999999999999996 in binary: the end is still included, exactly */
  const char *b[] = {"0", "0.1", "0.2", "0.3"};
  expect_values("[latency]\nfail_p = 0..0.3 step 0.1\n", "fail_p", b, 4);
  const char *c[] = {"none", "-10", "-5", "0"};
  expect_values("[run]\nsnr_db = none, -10..0 step 5\n", "snr_db", c, 4);
}

Test(sweeps, lists_of_every_kind) {
  const char *a[] = {"nsctc-rot", "poly-real", "uncoded"};
  expect_values("[coding]\nscheme = nsctc-rot, poly-real ,uncoded\n", "scheme", a, 3);
  const char *b[] = {"1-3", "5", "2+4"};
  expect_values("[model]\nlayers = 1-3, conv5, 2+4\n", "layers", b, 3);
  const char *c[] = {"1", "2", "3"}; /* a range of layers sweeps single layers */
  expect_values("[model]\nlayers = 1..3\n", "layers", c, 3);
  const char *d[] = {"0 3 7", "1-2"};
  expect_values("[latency]\nfail_workers = 0 3 7, 1 2\n", "fail_workers", d, 2);
  const char *e[] = {"a b", "c"};
  expect_values("[run]\nname = a b, c\n", "name", e, 2);
  const char *f[] = {"true", "false"};
  expect_values("[run]\ntrace = on, off\n", "trace", f, 2);
  const char *g[] = {"x", "y.npy"};
  expect_values("[model]\nname = x, y.npy\n", "name", g, 2);
}

Test(sweeps, continuation_lines_extend_a_list) {
  const char *a[] = {"nsctc-rot", "nsctc-cir", "uncoded"};
  expect_values("[coding]\nscheme = nsctc-rot,\n   nsctc-cir,\n\tuncoded ; comment\n"
                "[cluster]\n", "scheme", a, 3);
}

Test(sweeps, cartesian_order_last_key_fastest) {
  run_scenario *sc = parse_ok("[coding]\nscheme = uncoded, poly-real\nka = 2\n"
                              "[cluster]\nworkers = 8..16 step 4\n"
                              "[run]\nseed = 1, 2\ntrials = 1\n");
  cr_assert_eq(run_scenario_points(sc), 2 * 3 * 2);
  const char *schemes[] = {"uncoded", "poly-real"};
  size_t i = 0;
  for (size_t s = 0; s < 2; s++)
    for (size_t w = 8; w <= 16; w += 4)
      for (size_t seed = 1; seed <= 2; seed++, i++) {
        char want[128];
        snprintf(want, sizeof want, "scheme=%s workers=%zu seed=%zu", schemes[s], w, seed);
        char *l = label_of(sc, i);
        cr_expect_str_eq(l, want, "point %zu", i);
        cod_free(l);
        run_config c;
        point_ok(sc, i, &c);
        cr_expect_eq(c.cluster.workers, w);
        cr_expect_eq(c.run.seed, seed);
        cr_expect_str_eq(c.coding.scheme, s ? "poly-real" : "uncoded");
        cr_expect_eq(c.coding.ka, 2);
      }
  run_scenario_free(sc);
}

Test(sweeps, label_disambiguates_shared_key_names_and_classes) {
  run_scenario *sc = parse_ok("[run]\nname = a, b\n[model]\nname = lenet5, vgg16\n"
                              "[class fast]\ncount = 1, 2\n");
  char *l = label_of(sc, 6); /* 6 = (1, 1, 0) in radix (2, 2, 2) */
  cr_expect_str_eq(l, "run.name=b model.name=vgg16 fast.count=1");
  cod_free(l);
  cr_expect_eq(run_scenario_points(sc), 8);
  run_scenario_free(sc);
}

Test(sweeps, cap_on_points) {
  run_scenario *sc = NULL;
  cod_err e = {0};
  const char *t = "[run]\nseed = 1..1000\n[model]\ninput_seed = 1..1000\n"
                  "weights_seed = 1..2\n";
  cr_expect_eq(run_scenario_parse(t, strlen(t), "t.ini", &sc, &e), COD_EFORMAT);
  cr_expect(strstr(e.msg, "t.ini:5: [model] weights_seed: the sweep has too many points") !=
            NULL, "%s", e.msg);
  t = "[run]\nseed = 1..1000\n[model]\ninput_seed = 1..1000\n";
  sc = parse_ok(t);
  cr_expect_eq(run_scenario_points(sc), 1000000);
  char *l = label_of(sc, 999999);
  cr_expect_str_eq(l, "seed=1000 input_seed=1000");
  cod_free(l);
  run_scenario_free(sc);
}

/* ---- JSON ------------------------------------------------------------------------------ */

Test(json, stable_and_independent_of_file_key_order) {
  run_scenario *a = parse_ok("[cluster]\nworkers = 16\n[run]\nname = x\nseed = 5\n");
  run_scenario *b = parse_ok("[run]\nseed = 5\nname = x\n[cluster]\nworkers = 16\n");
  char *ja = json_of(a, 0), *ja2 = json_of(a, 0), *jb = json_of(b, 0);
  cr_expect_str_eq(ja, ja2);
  cr_expect_str_eq(ja, jb);
  const char *head = "{\"run\":{\"name\":\"x\",\"trials\":1,\"seed\":5,\"precision\":\"fp64\","
                     "\"decode\":\"fast\",\"snr_db\":\"none\",\"trace\":false,"
                     "\"cond_bound\":1e+10,\"compute\":\"real\",\"conv_algo\":\"im2col\",\"cond\":\"used\"},"
                     "\"model\":{";
  cr_expect_eq(strncmp(ja, head, strlen(head)), 0, "%s", ja);
  const char *order[] = {"\"run\":", "\"model\":", "\"coding\":", "\"cluster\":",
                         "\"latency\":", "\"network\":", "\"master\":", "\"classes\":[]}"};
  const char *p = ja;
  for (size_t i = 0; i < 8; i++) {
    const char *q = strstr(p, order[i]);
    cr_expect_not_null(q, "%s missing or out of order", order[i]);
    if (q) p = q;
  }
  cod_free(ja);
  cod_free(ja2);
  cod_free(jb);
  run_scenario_free(a);
  run_scenario_free(b);
}

Test(json, escapes_strings) {
  run_scenario *sc = parse_ok("[run]\nname = a\"b\\c\n");
  char *j = json_of(sc, 0);
  cr_expect(strstr(j, "\"name\":\"a\\\"b\\\\c\"") != NULL, "%s", j);
  cod_free(j);
  run_scenario_free(sc);
}

/* ---- overrides ------------------------------------------------------------------------- */

Test(overrides, set_replaces_in_place_and_appends_new_keys) {
  run_scenario *sc = parse_ok("[run]\nseed = 1, 2\n[cluster]\nworkers = 8\n[class f]\ncount = 1\n");
  cod_err e = {0};
  const char *h = run_scenario_hash(sc);
  char hash[17];
  snprintf(hash, sizeof hash, "%s", h);
  cr_assert_eq(run_scenario_set(sc, "cluster.workers", "10..12", &e), COD_OK, "%s", e.msg);
  cr_assert_eq(run_scenario_set(sc, "coding.scheme", "uncoded, replication", &e), COD_OK);
  cr_assert_eq(run_scenario_set(sc, "run.seed", "7", &e), COD_OK);
  cr_assert_eq(run_scenario_set(sc, "class.f.count", "2", &e), COD_OK, "%s", e.msg);
  /* overrides are part of the identity: the hash continues FNV-1a over "\n--set K=V" */
  uint64_t f = strtoull(hash, NULL, 16);
  const char *sets = "\n--set cluster.workers=10..12\n--set coding.scheme=uncoded, replication"
                     "\n--set run.seed=7\n--set class.f.count=2";
  for (const char *q = sets; *q; q++) f = (f ^ (unsigned char)*q) * 1099511628211ull;
  char want[17];
  snprintf(want, sizeof want, "%016llx", (unsigned long long)f);
  cr_expect_str_eq(run_scenario_hash(sc), want);
  cr_expect_str_neq(run_scenario_hash(sc), hash);
  /* a failed override leaves it alone */
  cr_assert_neq(run_scenario_set(sc, "cluster.nokey", "1", &e), COD_OK);
  cr_expect_str_eq(run_scenario_hash(sc), want);
  cr_assert_eq(run_scenario_points(sc), 3 * 2);
  char *l = label_of(sc, 1);
  cr_expect_str_eq(l, "workers=10 scheme=replication");
  cod_free(l);
  run_config c;
  point_ok(sc, 5, &c);
  cr_expect_eq(c.run.seed, 7);
  cr_expect_eq(c.cluster.workers, 12);
  cr_expect_eq(c.classes[0].count, 2);
  /* errors leave the scenario unchanged */
  cr_expect_eq(run_scenario_set(sc, "cluster.workers", "0", &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "command line: [cluster] workers: bad value '0'") != NULL, "%s",
            e.msg);
  cr_expect_eq(run_scenario_set(sc, "cluster.wrkrs", "3", &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "unknown key") != NULL, "%s", e.msg);
  cr_expect_eq(run_scenario_set(sc, "class.g.count", "3", &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "no such class") != NULL, "%s", e.msg);
  cr_expect_eq(run_scenario_set(sc, "seed", "3", &e), COD_EINVAL);
  cr_expect_eq(run_scenario_set(sc, "run.x.seed", "3", &e), COD_EINVAL);
  cr_expect_eq(run_scenario_set(sc, "run.seed", "1..2000000", &e), COD_EINVAL);
  cr_expect_eq(run_scenario_set(sc, "run.trials", "1..1000", &e), COD_OK);
  cr_expect_eq(run_scenario_set(sc, "model.input_seed", "1..1000", &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "too many points") != NULL, "%s", e.msg);
  cr_expect_eq(run_scenario_points(sc), 6000);
  point_ok(sc, 5999, &c);
  cr_expect_eq(c.run.trials, 1000);
  run_scenario_free(sc);
}

/* ---- errors ---------------------------------------------------------------------------- */

typedef struct bad_case {
  const char *text;
  const char *fragment; /* expected in the message, with file, line and key */
} bad_case;

static const bad_case bad_cases[] = {
  {"[run]\ntrials = 1\n[clustr]\nworkers = 3\n", "t.ini:3: [clustr]: unknown section"},
  {"trials = 1\n", "t.ini:1: trials: key outside any section"},
  {"[run]\n\ntrial = 1\n", "t.ini:3: [run] trial: unknown key (known: name, trials"},
  {"[run]\ntrials = 1\nseed = 2\ntrials = 3\n", "t.ini:4: [run] trials: duplicate key (first "
   "set at line 2)"},
  {"[network]\nto_master_bps = 1e9\nuplink_bps = 2e9\n", "t.ini:3: [network] uplink_bps: "
   "duplicate key (first set at line 2)"},
  {"[class a]\ncount = 1\ndownlink_bps = 1e9\nto_worker_bps = 2e9\n", "t.ini:4: [class a] "
   "to_worker_bps: duplicate key (first set at line 3)"},
  {"[class a]\ncount = 1\n[class a]\ncount = 2\n", "t.ini:3: [class a]: duplicate class"},
  {"[class a b]\ncount = 1\n", "t.ini:1: [class a b]: bad class name"},
  {"[class a]\nrate = 2\n", "t.ini:1: [class a]: missing key 'count'"},
  {"[class a]\ncount = 1\nworkers = 3\n", "t.ini:3: [class a] workers: unknown key"},
  {"[cluster]\nworkers = many\n", "t.ini:2: [cluster] workers: bad value 'many': expected an "
   "integer >= 1 (number of workers)"},
  {"[cluster]\nworkers = 0\n", "t.ini:2: [cluster] workers: bad value '0'"},
  {"[cluster]\nworkers = 2.5\n", "t.ini:2: [cluster] workers: bad value '2.5'"},
  {"[cluster]\nworkers = 1, 1\n", "t.ini:2: [cluster] workers: value '1' appears twice"},
  {"[cluster]\nworkers =\n", "t.ini:2: [cluster] workers: empty value"},
  {"[coding]\nscheme = uncoded, ,poly-real\n", "t.ini:2: [coding] scheme: empty list element "
   "(element 2)"},
  {"[cluster]\nworkers = 8..32 step 0\n", "t.ini:2: [cluster] workers: malformed range "
   "'8..32 step 0': step must be > 0"},
  {"[cluster]\nworkers = 8..32 step -4\n", "step must be > 0"},
  {"[cluster]\nworkers = 32..8 step 4\n", "t.ini:2: [cluster] workers: malformed range "
   "'32..8 step 4': end < start"},
  {"[cluster]\nworkers = 8..\n", "t.ini:2: [cluster] workers: malformed range"},
  {"[cluster]\nworkers = 1..3 step 0.5\n", "malformed range '1..3 step 0.5': expected "
   "integers"},
  {"[cluster]\nworkers = 0..3\n", "t.ini:2: [cluster] workers: in range '0..3': bad value '0'"},
  {"[run]\nsnr_db = 0..1e9 step 1e-3\n", "t.ini:2: [run] snr_db: malformed range "
   "'0..1e9 step 1e-3': too many points"},
  {"[coding]\nscheme = a..b\n", "t.ini:2: [coding] scheme: ranges need a numeric key"},
  {"[run]\nprecision = fp8\n", "t.ini:2: [run] precision: bad value 'fp8': expected fp64, "
   "fp32, bf16 or fp16"},
  {"[network]\nuplink_bps = -1e9\n", "t.ini:2: [network] uplink_bps: bad value '-1e9': "
   "expected unlimited or a real > 0 in bit/s"},
  {"[network]\nuplink_bps = 0\n", "[network] uplink_bps: bad value '0'"},
  {"[network]\nlatency_s = 1e400\n", "[network] latency_s: bad value '1e400'"},
  {"[network]\nlatency_s = nan\n", "[network] latency_s: bad value 'nan'"},
  {"[latency]\nbimodal_p = 1.5\n", "t.ini:2: [latency] bimodal_p: bad value '1.5': expected a "
   "probability in [0, 1]"},
  {"[latency]\nbase = fail-stop\n", "[latency] base: bad value 'fail-stop'"},
  /* the law keys come from sim/'s registry: every law listed, one spelling, bounds there */
  {"[latency]\nmodel = shifted_exp\n", "t.ini:2: [latency] model: bad value 'shifted_exp': "
   "expected shifted-exp, pareto, bimodal, fail-stop, deterministic, trace, lognormal or markov"},
  {"[class c]\ncount = 1\nbase = trace\n", "t.ini:3: [class c] base: bad value 'trace': expected "
   "shifted-exp, pareto, bimodal, deterministic, lognormal or markov"},
  {"[latency]\nlognormal_sigma = 0\n", "t.ini:2: [latency] lognormal_sigma: bad value '0': "
   "expected a real in (0, 10]"},
  {"[latency]\nlognormal_mu = -101\n", "[latency] lognormal_mu: bad value '-101'"},
  {"[latency]\nlognormal_shift = -0.5\n", "[latency] lognormal_shift: bad value '-0.5'"},
  {"[latency]\nfail_workers = 1,\n", "[latency] fail_workers: empty list element"},
  {"[latency]\nfail_workers = 3-1\n", "[latency] fail_workers: bad value '3-1'"},
  {"[latency]\nfail_workers = 0-300\n", "[latency] fail_workers: too many indices"},
  {"[model]\nlayers = 0\n", "t.ini:2: [model] layers: bad value '0'"},
  {"[model]\nlayers = 65\n", "[model] layers: bad value '65'"},
  {"[model]\nlayers = 1+\n", "[model] layers: bad value '1+'"},
  {"[model]\nlayers = 1 3\n", "[model] layers: bad value '1 3'"},
  {"[model]\ninput = x.txt\n", "t.ini:2: [model] input: bad value 'x.txt': expected random or "
   "a path ending in .npy"},
  {"[coding]\nka = -1\n", "[coding] ka: bad value '-1'"},
  {"[run]\nseed = 9007199254740992\n", "[run] seed: bad value '9007199254740992'"},
  {"[run]\ntrace = maybe\n", "[run] trace: bad value 'maybe': expected true or false"},
  {"[run]\nname = a\001b\n", "[run] name: bad value: control characters"},
  {"[run]\nname = \xff\xfe\n", "[run] name: bad value: control characters or invalid UTF-8"},
  {"[run]\ntrials = 1\nthis is not ini\n", "t.ini:3: syntax error"},
  {"[run\ntrials = 1\n", "t.ini:1: syntax error"},
  {"[run]\ntrials = 3\n  seed = 4\n", "t.ini:3: indented 'key = value' line"},
  {"[run]\ntrials = 1\n[cluster]\nworkers = x\n[clustr]\n", "t.ini:4: [cluster] workers: bad"},
  {"[run]\ntrials = 1\0\n", "t.ini:2: NUL byte"},
};

Test(errors, table_of_bad_files) {
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
    const bad_case *bc = &bad_cases[i];
    size_t len = strlen(bc->text);
    if (strstr(bc->fragment, "NUL")) len += 2; /* the text continues after the NUL */
    run_scenario *sc = (run_scenario *)0x1;
    cod_err e = {0};
    int st = run_scenario_parse(bc->text, len, "t.ini", &sc, &e);
    cr_expect_eq(st, COD_EFORMAT, "case %zu: status %d for:\n%s", i, st, bc->text);
    cr_expect_eq(e.status, COD_EFORMAT, "case %zu", i);
    cr_expect(strstr(e.msg, bc->fragment) != NULL, "case %zu: message\n  %s\nlacks\n  %s", i,
              e.msg, bc->fragment);
    cr_expect_eq(sc, (run_scenario *)0x1, "case %zu: out-parameter touched on error", i);
  }
}

Test(errors, long_lines_are_reported_not_split) {
  char text[600];
  int n = snprintf(text, sizeof text, "[run]\nname = ");
  memset(text + n, 'x', 300);
  snprintf(text + n + 300, sizeof text - (size_t)n - 300, "\n[cluster]\nworkers = 3\n");
  run_scenario *sc = NULL;
  cod_err e = {0};
  cr_expect_eq(run_scenario_parse(text, strlen(text), "t.ini", &sc, &e), COD_EFORMAT);
  cr_expect(strstr(e.msg, "t.ini:2: line longer than") != NULL, "%s", e.msg);
}

typedef struct point_case {
  const char *text;
  size_t point;
  const char *fragment;
} point_case;

static const point_case point_cases[] = {
  {"[coding]\nka = 4\nkb = 4, 6\n[cluster]\nworkers = 20\n", 1,
   "t.ini:3: [coding] kb: point 1 (kb=6): [coding] ka * kb = 4 * 6 = 24 exceeds [cluster] "
   "workers = 20"},
  {"[coding]\nka = auto\n", 0, "[coding] ka or kb = auto needs [coding] delta >= 1"},
  {"[coding]\nka = auto\ndelta = 30\n", 0, "[coding] delta = 30 exceeds [cluster] workers = 20"},
  {"[coding]\nka = auto\nkb = 3\ndelta = 8\n", 0, "[coding] kb = 3 does not divide [coding] "
   "delta = 8"},
  {"[coding]\nscheme = replication\nreplication = 21\n", 0, "[coding] replication = 21 exceeds "
   "[cluster] workers = 20"},
  {"[coding]\nscheme = uncoded\n[cluster]\nworkers = 4, 8\n[class a]\ncount = 3\n"
   "[class b]\ncount = 3\n", 0,
   "(workers=4): the [class] counts add up to 6 workers, more than [cluster] workers = 4"},
  {"[latency]\nfail_workers = 2 20\n", 0, "[latency] fail_workers names worker 20, but workers "
   "are 0..19"},
  {"[latency]\nmodel = trace\n", 0, "[latency] model = trace needs [latency] trace_file"},
  {"[class s]\ncount = 2\nmodel = trace\n", 0, "[class s] model = trace needs [latency] "
   "trace_file"},
};

Test(errors, cross_key_rules_per_point) {
  for (size_t i = 0; i < sizeof point_cases / sizeof point_cases[0]; i++) {
    const point_case *pc = &point_cases[i];
    run_scenario *sc = parse_ok(pc->text);
    run_config c;
    cod_err e = {0};
    cr_expect_eq(run_scenario_point(sc, pc->point, &c, &e), COD_EINVAL, "case %zu", i);
    cr_expect(strstr(e.msg, pc->fragment) != NULL, "case %zu: message\n  %s\nlacks\n  %s", i,
              e.msg, pc->fragment);
    size_t bad = 99;
    cr_expect_eq(run_scenario_validate(sc, &bad, &e), COD_EINVAL);
    cr_expect_leq(bad, pc->point, "case %zu", i);
    run_scenario_free(sc);
  }
  /* the valid point of the first case passes */
  run_scenario *sc = parse_ok(point_cases[0].text);
  run_config c;
  point_ok(sc, 0, &c);
  run_scenario_free(sc);
}

Test(errors, load_missing_file) {
  run_scenario *sc = NULL;
  cod_err e = {0};
  cr_expect_eq(run_scenario_load("/nonexistent/dir/x.ini", &sc, &e), COD_EIO);
  cr_expect(strstr(e.msg, "/nonexistent/dir/x.ini: cannot open") != NULL, "%s", e.msg);
  cr_expect_null(sc);
}

Test(errors, load_reports_path_and_line) {
  char path[] = "/tmp/fcdcc_run_test_XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  const char *t = "[run]\n; comment\n# comment\ntrials = 0\n";
  cr_assert_eq(write(fd, t, strlen(t)), (ssize_t)strlen(t));
  close(fd);
  run_scenario *sc = NULL;
  cod_err e = {0};
  int st = run_scenario_load(path, &sc, &e);
  unlink(path);
  cr_expect_eq(st, COD_EFORMAT);
  char want[128];
  snprintf(want, sizeof want, "%s:4: [run] trials: bad value '0'", path);
  cr_expect(strstr(e.msg, want) != NULL, "%s", e.msg);
}

/* ---- the shipped scenario ---------------------------------------------------------------- */

Test(files, quickstart_is_valid) {
  run_scenario *sc = NULL;
  cod_err e = {0};
  cr_assert_eq(run_scenario_load(FCDCC_SOURCE_ROOT "/scenarios/quickstart.ini", &sc, &e),
               COD_OK, "%s", e.msg);
  cr_expect_eq(run_scenario_points(sc), 3);
  size_t bad = 0;
  cr_expect_eq(run_scenario_validate(sc, &bad, &e), COD_OK, "point %zu: %s", bad, e.msg);
  run_config c;
  const char *const schemes[] = {"nsctc-rot", "uncoded", "poly-real"};
  for (size_t i = 0; i < 3; i++) {
    point_ok(sc, i, &c);
    cr_expect_str_eq(c.coding.scheme, schemes[i]);
    cr_expect_eq(c.cluster.workers, 20);
    cr_expect_eq(c.run.trials, 3);
    cr_expect_str_eq(c.model.name, "alexnet");
    cr_expect_str_eq(law_name(c.latency.model), "shifted-exp");
    if (strcmp(c.coding.scheme, "uncoded") != 0) {
      cr_expect_eq(c.coding.ka, 4);
      cr_expect_eq(c.coding.kb, 4);
    }
  }
  run_scenario_free(sc);
}

/* ---- robustness -------------------------------------------------------------------------- */

static const char *seed_text =
    "[run]\nname = fuzz\ntrials = 1, 2\nsnr_db = none, 10..30 step 10\n"
    "[model]\nlayers = 1-3+5, conv2\n[coding]\nscheme = nsctc-rot,\n  uncoded\nka = 2\n"
    "[cluster]\nworkers = 8..12 step 2\n[latency]\nfail_workers = 0 3\n"
    "[class fast]\ncount = 2\nrate = 2\n";

static void exercise(const char *buf, size_t len) {
  run_scenario *sc = NULL;
  cod_err e = {0};
  int st = run_scenario_parse(buf, len, "fuzz.ini", &sc, &e);
  if (st != COD_OK) {
    cr_assert(st == COD_EFORMAT, "status %d: %s", st, e.msg);
    cr_assert(strlen(e.msg) > 0);
    return;
  }
  size_t n = run_scenario_points(sc);
  cr_assert(n >= 1 && n <= RUN_SCENARIO_MAX_POINTS);
  for (size_t i = 0; i < n && i < 3; i++) {
    char *j = NULL, *l = NULL;
    if (run_scenario_point_json(sc, i, &j, &e) == COD_OK) cr_assert(j[0] == '{');
    cr_assert_eq(run_scenario_label(sc, i, &l, NULL), COD_OK);
    cod_free(j);
    cod_free(l);
  }
  run_scenario_free(sc);
}

Test(robustness, hostile_input_does_not_crash) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 20240611);
  size_t base_len = strlen(seed_text);
  char buf[1024];
  static const char alphabet[] = "[]=,.;#: \t\n-+0123456789abcdefgkstx\r\"\\";
  for (int iter = 0; iter < 3000; iter++) {
    size_t len;
    int mode = iter % 3;
    if (mode == 0) { /* random bytes */
      len = gsl_rng_uniform_int(r, sizeof buf);
      for (size_t i = 0; i < len; i++) buf[i] = (char)gsl_rng_uniform_int(r, 256);
    } else if (mode == 1) { /* random INI-ish characters */
      len = gsl_rng_uniform_int(r, 400);
      for (size_t i = 0; i < len; i++)
        buf[i] = alphabet[gsl_rng_uniform_int(r, sizeof alphabet - 1)];
    } else { /* mutations of a valid file */
      len = base_len;
      memcpy(buf, seed_text, len);
      size_t k = 1 + gsl_rng_uniform_int(r, 4);
      for (size_t m = 0; m < k; m++)
        buf[gsl_rng_uniform_int(r, len)] = alphabet[gsl_rng_uniform_int(r, sizeof alphabet - 1)];
    }
    exercise(buf, len);
  }
  gsl_rng_free(r);
}

Test(robustness, every_allocation_failure_is_reported) {
  size_t len = strlen(seed_text);
  int reached_ok = 0;
  for (long n = 0; n < 5000 && !reached_ok; n++) {
    run_scenario *sc = NULL;
    cod_err e = {0};
    cod_alloc_fail_at(n);
    int st = run_scenario_parse(seed_text, len, "t.ini", &sc, &e);
    cod_alloc_fail_at(-1);
    if (st == COD_OK) {
      reached_ok = 1;
      cr_expect_eq(run_scenario_points(sc), 2 * 4 * 2 * 2 * 3);
      run_scenario_free(sc);
    } else {
      cr_expect_eq(st, COD_ENOMEM, "failing allocation %ld gave %d: %s", n, st, e.msg);
      cr_expect_null(sc);
    }
  }
  cr_expect(reached_ok);
}

/* ---- issue 11: a strict reader, overflow-checked ranges, blame on the key ----------------- */

static void expect_format_error(const char *text, size_t len, const char *fragment) {
  run_scenario *sc = (run_scenario *)0x1;
  cod_err e = {0};
  cr_expect_eq(run_scenario_parse(text, len, "t.ini", &sc, &e), COD_EFORMAT, "for %s", fragment);
  cr_expect(strstr(e.msg, fragment) != NULL, "message\n  %s\nlacks\n  %s", e.msg, fragment);
  cr_expect_eq(sc, (run_scenario *)0x1, "out-parameter touched on error");
}

Test(strict, nothing_is_dropped_silently) {
  /* inih keeps the header and drops the rest of its line: the key would vanish */
  const char *t1 = "[run]\ntrials = 1\n[cluster] workers = 0\n";
  expect_format_error(t1, strlen(t1), "t.ini:3: text after ']' on a section line");
  /* a comment after a header is fine (both comment characters) */
  run_scenario_free(parse_ok("[run] ; the run\ntrials = 2\n[cluster] # n\nworkers = 3\n"));
  /* old Mac line ends: the file would be one line, [run] and nothing else */
  const char *t2 = "[run]\rtrials = 2\r[cluster]\rworkers = 0\r";
  expect_format_error(t2, strlen(t2), "t.ini:1: carriage return without a line feed");
  /* inih would read "3" and take the rest for a comment */
  const char *t3 = "[run]\ntrials = 2\r\n[cluster]\nworkers = 3\r; workers = 4\n";
  expect_format_error(t3, strlen(t3), "t.ini:4: carriage return without a line feed");
  /* control characters that isspace() would have trimmed away */
  const char *t4 = "[run]\ntrials = 2\n[cluster]\nworkers = 3\v\n";
  expect_format_error(t4, strlen(t4), "t.ini:4: control character 0x0b");
  const char *t5 = "[run]\n; a comment with a form feed \f\ntrials = 2\n";
  expect_format_error(t5, strlen(t5), "t.ini:2: control character 0x0c");
}

Test(strict, crlf_line_ends_stay_accepted) {
  run_scenario *sc = parse_ok("[run]\r\ntrials = 3\r\n[cluster]\r\nworkers = 16, 20\r\n");
  run_config c;
  cr_assert_eq(run_scenario_points(sc), 2);
  point_ok(sc, 1, &c);
  cr_expect_eq(c.run.trials, 3);
  cr_expect_eq(c.cluster.workers, 20);
  run_scenario_free(sc);
}

Test(strict, integer_ranges_cannot_overflow) {
  /* the span is INT64_MAX - INT64_MIN: it overflowed a signed subtraction (UBSan) */
  const char *t = "[run]\nseed = -9223372036854775808..9223372036854775807 step "
                  "9223372036854775807\n";
  expect_format_error(t, strlen(t), "t.ini:2: [run] seed: in range '-9223372036854775808.."
                                    "9223372036854775807 step 9223372036854775807': bad value "
                                    "'-9223372036854775808'");
  const char *u = "[run]\nseed = 0..9223372036854775807 step 4611686018427387904\n";
  expect_format_error(u, strlen(u), "bad value '4611686018427387904'");
  /* large values near the bounds still expand exactly */
  const char *w[] = {"999999990", "999999995", "1000000000"};
  expect_values("[run]\ntrials = 999999990..1000000000 step 5\n", "trials", w, 3);
}

Test(strict, workers_and_snr_bounds) {
  run_scenario *sc = parse_ok("[cluster]\nworkers = 250..300\n[coding]\nscheme = nsctc-cir\n"
                              "ka = 1\nkb = 2\n");
  run_config c;
  cod_err e = {0};
  point_ok(sc, 5, &c); /* 255 */
  cr_expect_eq(c.cluster.workers, 255);
  size_t bad = 99;
  cr_expect_eq(run_scenario_validate(sc, &bad, &e), COD_EINVAL);
  cr_expect_eq(bad, 6);
  cr_expect_str_eq(e.msg, "t.ini:2: [cluster] workers: point 6 (workers=256): [cluster] workers "
                          "= 256: nsctc-cir supports at most 255 workers (got 256)");
  run_scenario_free(sc);
  const char *s1 = "[run]\nsnr_db = -1e308\n";
  expect_format_error(s1, strlen(s1), "t.ini:2: [run] snr_db: bad value '-1e308': expected none "
                                      "or a real SNR in dB in [-100, 300]");
  const char *s2 = "[run]\nsnr_db = 300.5\n";
  expect_format_error(s2, strlen(s2), "bad value '300.5'");
  sc = parse_ok("[run]\nsnr_db = -100, 300\n");
  point_ok(sc, 0, &c);
  cr_expect_eq(c.run.snr_db, -100.0);
  run_scenario_free(sc);
}

Test(strict, blame_names_the_varying_key_else_the_written_one) {
  run_scenario *sc = parse_ok("[coding]\nka = 4\nkb = 4\n[cluster]\nworkers = 20, 10\n");
  run_config c;
  cod_err e = {0};
  cr_expect_eq(run_scenario_point(sc, 1, &c, &e), COD_EINVAL);
  cr_expect(strncmp(e.msg, "t.ini:5: [cluster] workers: point 1 (workers=10): ", 50) == 0,
            "%s", e.msg);
  run_scenario_free(sc);
  sc = parse_ok("[cluster]\nworkers = 10\n[coding]\nkb = 4\nka = 4\n");
  cr_expect_eq(run_scenario_point(sc, 0, &c, &e), COD_EINVAL);
  cr_expect(strncmp(e.msg, "t.ini:5: [coding] ka: point 0 (no key varies): ", 47) == 0, "%s",
            e.msg);
  /* the same rule from an override, and a key left at its default */
  cr_assert_eq(run_scenario_set(sc, "coding.ka", "4", &e), COD_OK);
  cr_expect_eq(run_scenario_point(sc, 0, &c, &e), COD_EINVAL);
  cr_expect(strncmp(e.msg, "command line: [coding] ka: point 0", 34) == 0, "%s", e.msg);
  run_scenario_free(sc);
  sc = parse_ok("[latency]\nmodel = trace\n");
  const char *const keys[] = {"latency.trace_file", NULL};
  cr_expect_eq(run_scenario_point_blame(sc, 0, keys, -1, COD_EINVAL, "why", &e), COD_EINVAL);
  cr_expect_str_eq(e.msg, "t.ini: [latency] trace_file (default): point 0 (no key varies): why");
  run_scenario_free(sc);
  sc = parse_ok("[cluster]\nworkers = 8\n[class slow]\ncount = 2\ncompute_rate_flops = 1, 2\n");
  const char *const ck[] = {"class.compute_rate_flops", NULL};
  run_scenario_point_blame(sc, 1, ck, 0, COD_EINVAL, "why", &e);
  cr_expect_str_eq(e.msg, "t.ini:5: [class slow] compute_rate_flops: point 1 "
                          "(slow.compute_rate_flops=2): why");
  run_scenario_free(sc);
}

/* The older link names are aliases of the direction keys (uplink = worker -> master =
 * to_master), in [network] and in classes, by the file and by --set: the same fields, and
 * the JSON names the key, never the alias; no other name is an alias. */
Test(keys, old_link_names_are_aliases) {
  cr_expect_str_eq(run_config_key_alias("network", "uplink_bps"), "to_master_bps");
  cr_expect_str_eq(run_config_key_alias("class", "downlink_bps"), "to_worker_bps");
  cr_expect_null(run_config_key_alias("network", "master_bps"));
  cr_expect_null(run_config_key_alias("cluster", "uplink_bps"));
  cr_expect_eq(run_config_key_find("network", "uplink_bps"),
               run_config_key_find("network", "to_master_bps"));
  cr_expect_eq(run_config_key_find("cluster", "uplink_bps"), -1);
  run_scenario *sc = parse_ok("[network]\nuplink_bps = 5e8\ndownlink_bps = 7e8\n"
                              "[class slow]\ncount = 1\nuplink_bps = 2e8\n");
  cod_err e = {0};
  cr_assert_eq(run_scenario_set(sc, "class.slow.downlink_bps", "3e8", &e), COD_OK, "%s", e.msg);
  run_config c;
  point_ok(sc, 0, &c);
  cr_expect_eq(c.network.uplink_bps, 5e8);
  cr_expect_eq(c.network.downlink_bps, 7e8);
  cr_expect_eq(c.classes[0].worker.uplink_bps, 2e8);
  cr_expect_eq(c.classes[0].worker.downlink_bps, 3e8);
  char *j = NULL;
  cr_assert_eq(run_config_to_json(&c, &j, NULL), COD_OK);
  cr_expect(strstr(j, "\"to_master_bps\":5e+08,\"to_worker_bps\":7e+08"), "%s", j);
  cr_expect(strstr(j, "\"to_master_bps\":2e+08,\"to_worker_bps\":3e+08"), "%s", j);
  cr_expect_null(strstr(j, "uplink"), "%s", j);
  cod_free(j);
  run_scenario_free(sc);
}
