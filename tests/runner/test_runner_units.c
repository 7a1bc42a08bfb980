/* test_runner_units.c: quantities with prefixes and units (runner/run_units.h) and their
 * use in scenario values (suite unit).
 *
 * Expected values are computed here from the definition (mantissa x 10^(3k) or 2^(10k),
 * bytes per second x 8), over seeded random mantissas, never copied from the parser's
 * output; refusals are checked for the words that tell the user what went wrong.
 */
#include <criterion/criterion.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "run_config.h"
#include "run_scenario.h"
#include "run_units.h"

Test(units, kind_comes_from_the_key_name) {
  cr_expect_eq(run_units_of_key("uplink_bps"), RUN_UNIT_BPS);
  cr_expect_eq(run_units_of_key("storage_bytes"), RUN_UNIT_BYTES);
  cr_expect_eq(run_units_of_key("master_flops"), RUN_UNIT_FLOPS);
  cr_expect_eq(run_units_of_key("compute_rate_flops"), RUN_UNIT_FLOPS);
  cr_expect_eq(run_units_of_key("latency_s"), RUN_UNIT_NONE);
  cr_expect_eq(run_units_of_key("bps"), RUN_UNIT_NONE); /* a suffix, not a whole name */
  cr_expect_eq(run_units_of_key(NULL), RUN_UNIT_NONE);
  cr_expect_str_eq(run_units_name(RUN_UNIT_BYTES), "bytes");
  cr_expect_str_eq(run_units_name(RUN_UNIT_NONE), "");
}

Test(units, random_mantissas_with_every_prefix_and_unit) {
  static const char *const dec[] = {"", "k", "M", "G", "T", "P", "E"};
  static const struct { int unit; const char *word; double factor; } w[] = {
      {RUN_UNIT_BPS, "", 1},        {RUN_UNIT_BPS, "bit/s", 1}, {RUN_UNIT_BPS, "bps", 1},
      {RUN_UNIT_BPS, " b/s", 1},    {RUN_UNIT_BPS, "B/s", 8},   {RUN_UNIT_BYTES, "B", 1},
      {RUN_UNIT_BYTES, " bytes", 1}, {RUN_UNIT_FLOPS, "FLOP/s", 1}, {RUN_UNIT_FLOPS, " flops", 1},
  };
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 17);
  for (int it = 0; it < 400; it++) {
    double m = floor(gsl_rng_uniform(r) * 1e6) / 1e3; /* 0.000 .. 999.999 */
    size_t k = gsl_rng_uniform_int(r, 7), j = gsl_rng_uniform_int(r, 9);
    int binary = k > 0 && gsl_rng_uniform(r) < 0.5;
    char text[64], msg[256];
    snprintf(text, sizeof text, "%.3f%s%s%s", m, dec[k], binary ? "i" : "", w[j].word);
    double want = m * (binary ? ldexp(1.0, 10 * (int)k) : pow(1000.0, (double)k)) * w[j].factor;
    double got = -1;
    cr_assert_eq(run_units_parse(text, w[j].unit, &got, msg, sizeof msg), 1, "%s: %s", text, msg);
    cr_assert(fabs(got - want) <= 4 * 2.2e-16 * want, "%s: got %.17g want %.17g", text, got, want);
  }
  gsl_rng_free(r);
}

Test(units, refusals_name_the_problem) {
  char msg[256];
  double v = 42;
  cr_expect_eq(run_units_parse("100Mbit/s", RUN_UNIT_BYTES, &v, msg, sizeof msg), -1);
  cr_expect(strstr(msg, "in bit/s, but the key is in bytes") != NULL, "%s", msg);
  cr_expect_eq(run_units_parse("1GiB", RUN_UNIT_BPS, &v, msg, sizeof msg), -1);
  cr_expect(strstr(msg, "in bytes, but the key is in bit/s") != NULL, "%s", msg);
  cr_expect_eq(run_units_parse("5 GFLOP/s", RUN_UNIT_BYTES, &v, msg, sizeof msg), -1);
  cr_expect_eq(run_units_parse("5m", RUN_UNIT_BPS, &v, msg, sizeof msg), -1);
  cr_expect(strstr(msg, "milli") != NULL, "%s", msg);
  cr_expect_eq(run_units_parse("5 furlongs", RUN_UNIT_BPS, &v, msg, sizeof msg), -1);
  cr_expect(strstr(msg, "unknown unit 'furlongs'") != NULL, "%s", msg);
  cr_expect_eq(run_units_parse("5G", RUN_UNIT_NONE, &v, msg, sizeof msg), 0); /* no prefix on counts */
  cr_expect_eq(run_units_parse("", RUN_UNIT_BPS, &v, msg, sizeof msg), 0);
  cr_expect_eq(run_units_parse(" 5G", RUN_UNIT_BPS, &v, msg, sizeof msg), 0);
  cr_expect_eq(run_units_parse("G", RUN_UNIT_BPS, &v, msg, sizeof msg), 0);
  cr_expect_eq(run_units_parse("inf", RUN_UNIT_BPS, &v, msg, sizeof msg), 0);
  cr_expect_eq(run_units_parse("1e308 E", RUN_UNIT_BPS, &v, msg, sizeof msg), 0); /* overflow */
  cr_expect_eq(run_units_parse("1e9 ", RUN_UNIT_BPS, &v, msg, sizeof msg), 0);
  cr_expect(v == 42, "untouched on failure");
}

static run_scenario *parse(const char *text, cod_err *e) {
  run_scenario *sc = NULL;
  if (run_scenario_parse(text, strlen(text), "u.ini", &sc, e)) return NULL;
  return sc;
}

Test(units, scenario_values_and_ranges_take_units) {
  cod_err e = {0};
  run_scenario *sc = parse("[cluster]\nstorage_bytes = 1GiB\ncompute_rate_flops = 10 GFLOP/s\n"
                           "[network]\nuplink_bps = 100Mbit/s\ndownlink_bps = 1G..2G step 500M\n",
                           &e);
  cr_assert_not_null(sc, "%s", e.msg);
  cr_assert_eq(run_scenario_points(sc), 3);
  for (size_t i = 0; i < 3; i++) {
    run_config c;
    cr_assert_eq(run_scenario_point(sc, i, &c, &e), COD_OK, "%s", e.msg);
    cr_expect(c.cluster.storage_bytes == ldexp(1.0, 30));
    cr_expect(c.cluster.compute_rate_flops == 1e10);
    cr_expect(c.network.uplink_bps == 1e8);
    cr_expect(c.network.downlink_bps == 1e9 + 5e8 * (double)i);
  }
  run_scenario_free(sc);
}

Test(units, scenario_refusals_name_file_line_and_key) {
  cod_err e = {0};
  cr_expect_null(parse("[cluster]\nworkers = 4\nstorage_bytes = 100Mbit/s\n", &e));
  cr_expect(strstr(e.msg, "u.ini:3: [cluster] storage_bytes: bad value '100Mbit/s': a value in "
                          "bit/s, but the key is in bytes") != NULL, "%s", e.msg);
  cr_expect_null(parse("[network]\nuplink_bps = 1G..2GiB step 1MB\n", &e));
  cr_expect(strstr(e.msg, "u.ini:2: [network] uplink_bps: malformed range") != NULL, "%s", e.msg);
  cr_expect_null(parse("[cluster]\nworkers = 4k\n", &e)); /* counts take no prefix */
  cr_expect(strstr(e.msg, "u.ini:2: [cluster] workers: bad value '4k'") != NULL, "%s", e.msg);
  cr_expect_null(parse("[network]\nlatency_s = 5m\n", &e));
  cr_expect(strstr(e.msg, "[network] latency_s: bad value '5m'") != NULL, "%s", e.msg);
  run_config c;
  run_config_defaults(&c);
  cr_expect_eq(run_config_set(&c, "network.master_bps", "10GB/s", &e), COD_OK, "%s", e.msg);
  cr_expect(c.network.master_bps == 8e10);
  cr_expect_eq(run_config_set(&c, "class.x.storage_bytes", "1G", &e), COD_EINVAL);
}

/* A --set typo gets what a file typo gets: the known keys and the nearest one. */
Test(keys, set_typo_lists_known_keys_and_suggests_like_a_file_typo) {
  cod_err ef = {0}, es = {0};
  cr_assert_null(parse("[cluster]\nworker = 3\n", &ef));
  run_scenario *sc = parse("[cluster]\nworkers = 3\n", &es);
  cr_assert_not_null(sc);
  cr_expect_eq(run_scenario_set(sc, "cluster.worker", "3", &es), COD_EINVAL);
  const char *tail = "unknown key (known: workers, compute_rate_flops, storage_bytes, on_storage, "
                     "stragglers, worst_sets; did you mean 'workers'?)";
  cr_expect(strstr(ef.msg, tail) != NULL, "%s", ef.msg);
  cr_expect(strstr(es.msg, "command line: [cluster] worker: ") == es.msg, "%s", es.msg);
  cr_expect(strstr(es.msg, tail) != NULL, "%s", es.msg);
  /* far from every key: the list, no guess */
  cr_expect_eq(run_scenario_set(sc, "cluster.zzzzzzzz", "3", &es), COD_EINVAL);
  cr_expect(strstr(es.msg, "did you mean") == NULL && strstr(es.msg, "(known: workers,"), "%s",
            es.msg);
  cr_expect_eq(run_scenario_set(sc, "clust.workers", "3", &es), COD_EINVAL);
  cr_expect(strstr(es.msg, "no section [clust] (sections: run, model,") != NULL, "%s", es.msg);
  cr_expect_eq(run_scenario_set(sc, "coding.sceme", "uncoded", &es), COD_EINVAL);
  cr_expect(strstr(es.msg, "did you mean 'scheme'?") != NULL, "%s", es.msg);
  run_scenario_free(sc);
}
