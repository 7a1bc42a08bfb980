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
  /* the expected list, from the registry: every [cluster] key in registry order */
  char tail[1024];
  size_t used = (size_t)snprintf(tail, sizeof tail, "unknown key (known: ");
  for (size_t i = 0, n = 0; i < run_config_key_count(); i++)
    if (strcmp(run_config_key(i)->section, "cluster") == 0)
      used += (size_t)snprintf(tail + used, sizeof tail - used, "%s%s", n++ ? ", " : "",
                               run_config_key(i)->key);
  snprintf(tail + used, sizeof tail - used, "; did you mean 'workers'?)");
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

/* ---- the plan of a sweep (run_plan.h) ------------------------------------------------ */

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include "fcdcc_config.h"
#include "run_plan.h"
#include "run_sweep.h"

/* nsctc-cir is one-sided: with ka = 1..4, kb = 1..6 a point is feasible iff ka = 1 or
 * kb = 1, which this test counts itself. */
Test(plan, every_infeasible_point_is_listed) {
  cod_err e = {0};
  run_scenario *sc = parse("[run]\ncompute = model\n[model]\nname = lenet5\n[cluster]\nworkers = 24\n"
                           "[coding]\nscheme = nsctc-cir\nka = 1..4\nkb = 1..6\n", &e);
  cr_assert_not_null(sc, "%s", e.msg);
  run_sweep_plan pl;
  cr_assert_eq(run_plan_sweep(sc, &pl, &e), COD_OK, "%s", e.msg);
  size_t want = 0, k = 0;
  for (size_t ka = 1; ka <= 4; ka++)
    for (size_t kb = 1; kb <= 6; kb++) {
      int feasible = ka == 1 || kb == 1;
      size_t p = (ka - 1) * 6 + (kb - 1);
      cr_expect_eq(pl.state[p], feasible ? RUN_POINT_RUN : RUN_POINT_INFEASIBLE, "point %zu", p);
      if (feasible) continue;
      want++;
      cr_assert_lt(k, pl.n_skips);
      char label[64];
      snprintf(label, sizeof label, "point %zu (ka=%zu kb=%zu)", p, ka, kb);
      cr_expect_eq(pl.skips[k].point, p);
      cr_expect(strstr(pl.skips[k].reason, label) && strstr(pl.skips[k].reason, "one-sided"),
                "%s", pl.skips[k].reason);
      k++;
    }
  cr_expect_eq(pl.n_infeasible, want);
  cr_expect_eq(pl.n_duplicate, 0);
  cr_expect_eq(run_plan_sweep_refusal(&pl, &e), COD_EINVAL);
  char tail[160];
  snprintf(tail, sizeof tail, "and %zu more of the 24 points are infeasible", want - 1);
  cr_expect(strstr(e.msg, tail) && strstr(e.msg, "u.ini:9: [coding] ka: point 7 (ka=2 kb=2)"),
            "%s", e.msg);
  run_plan_sweep_fini(&pl);
  /* skip = infeasible: the same plan may run */
  cr_assert_eq(run_scenario_set(sc, "sweep.skip", "infeasible", &e), COD_OK, "%s", e.msg);
  cr_assert_eq(run_plan_sweep(sc, &pl, &e), COD_OK, "%s", e.msg);
  cr_expect_eq(run_plan_sweep_refusal(&pl, &e), COD_OK, "%s", e.msg);
  run_plan_sweep_fini(&pl);
  cr_expect_eq(run_scenario_set(sc, "sweep.skip", "maybe", &e), COD_EINVAL);
  cr_expect_eq(run_scenario_set(sc, "sweep.pair", "ka,kb: 1x2", &e), COD_EINVAL);
  run_scenario_free(sc);
}

Test(plan, all_infeasible_is_refused_even_with_skip) {
  cod_err e = {0};
  run_scenario *sc = parse("[sweep]\nskip = infeasible\n[run]\ncompute = model\n[model]\n"
                           "name = lenet5\n[cluster]\nworkers = 24\n[coding]\nscheme = nsctc-cir\n"
                           "ka = 2, 3\nkb = 2\n", &e);
  cr_assert_not_null(sc, "%s", e.msg);
  run_sweep_plan pl;
  cr_assert_eq(run_plan_sweep(sc, &pl, &e), COD_OK, "%s", e.msg);
  cr_expect_eq(run_plan_sweep_refusal(&pl, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "every one of the 2 points is infeasible") != NULL, "%s", e.msg);
  run_plan_sweep_fini(&pl);
  run_scenario_free(sc);
}

/* uncoded on n = 6 uses (ka, kb) only when ka * kb = 6; otherwise its pair is derived, so
 * points differing only there are one configuration. The expected classes are computed
 * here from that rule; nsctc-rot uses every pair. */
Test(plan, points_that_differ_only_in_ignored_keys_run_once) {
  cod_err e = {0};
  run_scenario *sc = parse("[run]\ncompute = model\n[model]\nname = lenet5\n[cluster]\nworkers = 6\n"
                           "[coding]\nscheme = uncoded, nsctc-rot\nka = 1, 2, 3\nkb = 1, 2\n"
                           "replication = 2, 3\n", &e);
  cr_assert_not_null(sc, "%s", e.msg);
  run_sweep_plan pl;
  cr_assert_eq(run_plan_sweep(sc, &pl, &e), COD_OK, "%s", e.msg);
  size_t dup = 0, first_derived = (size_t)-1;
  for (size_t s = 0; s < 2; s++)
    for (size_t a = 0; a < 3; a++)
      for (size_t b = 0; b < 2; b++)
        for (size_t r = 0; r < 2; r++) {
          size_t p = ((s * 3 + a) * 2 + b) * 2 + r, ka = a + 1, kb = b + 1;
          int want_dup;
          if (s == 1) want_dup = r == 1; /* nsctc-rot ignores replication only */
          else if (ka * kb == 6) want_dup = r == 1;
          else {
            want_dup = first_derived != (size_t)-1;
            if (!want_dup) first_derived = p;
          }
          dup += (size_t)want_dup;
          cr_expect_eq(pl.state[p], want_dup ? RUN_POINT_DUPLICATE : RUN_POINT_RUN, "point %zu", p);
        }
  cr_expect_eq(pl.n_duplicate, dup);
  cr_expect_eq(run_plan_sweep_refusal(&pl, &e), COD_OK); /* duplicates are no error */
  for (size_t i = 0; i < pl.n_skips; i++) {
    cr_expect_lt(pl.skips[i].same_as, pl.skips[i].point);
    cr_expect(strstr(pl.skips[i].reason, "same configuration as point") != NULL);
    cr_expect_eq(pl.state[pl.skips[i].same_as], RUN_POINT_RUN);
  }
  run_plan_sweep_fini(&pl);
  run_scenario_free(sc);
}

/* Rows of shipped scenarios must not change: none of them has a point that is skipped. */
Test(plan, shipped_scenarios_skip_nothing, .timeout = 60) {
  static const char *const dirs[] = {"scenarios", "scenarios/paper", "tests/golden"};
  size_t files = 0;
  for (size_t d = 0; d < 3; d++) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", FCDCC_SOURCE_ROOT, dirs[d]);
    DIR *dp = opendir(dir);
    cr_assert_not_null(dp, "%s", dir);
    struct dirent *de;
    while ((de = readdir(dp))) {
      size_t n = strlen(de->d_name);
      if (n < 5 || strcmp(de->d_name + n - 4, ".ini") != 0) continue;
      char path[2048];
      snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
      run_scenario *sc = NULL;
      cod_err e = {0};
      cr_assert_eq(run_scenario_load(path, &sc, &e), COD_OK, "%s", e.msg);
      run_sweep_plan pl;
      int rc = run_plan_sweep(sc, &pl, &e);
      /* a model file missing on this machine is no skip; the plan stops then */
      if (rc == COD_OK) {
        cr_expect_eq(pl.n_skips, 0, "%s: %zu points skipped, e.g. %s", path, pl.n_skips,
                     pl.n_skips ? pl.skips[0].reason : "");
        files++;
      }
      run_plan_sweep_fini(&pl);
      run_scenario_free(sc);
    }
    closedir(dp);
  }
  cr_expect_gt(files, 10);
}

/* ---- [sweep] pair ----------------------------------------------------------------------- */

Test(pair, tuples_vary_together_in_file_order) {
  cod_err e = {0};
  run_scenario *sc = parse("[cluster]\nworkers = 20\n[coding]\nscheme = nsctc-rot, poly-real\n"
                           "[sweep]\npair = ka, coding.kb: 4x5, 5x4, 2x10\n", &e);
  cr_assert_not_null(sc, "%s", e.msg);
  static const size_t want[3][2] = {{4, 5}, {5, 4}, {2, 10}};
  cr_assert_eq(run_scenario_points(sc), 6);
  for (size_t s = 0; s < 2; s++)
    for (size_t t = 0; t < 3; t++) {
      run_config c;
      size_t p = s * 3 + t;
      cr_assert_eq(run_scenario_point(sc, p, &c, &e), COD_OK, "%s", e.msg);
      cr_expect_str_eq(c.coding.scheme, s ? "poly-real" : "nsctc-rot");
      cr_expect_eq(c.coding.ka, want[t][0], "point %zu", p);
      cr_expect_eq(c.coding.kb, want[t][1], "point %zu", p);
      char *l = NULL;
      char lw[96];
      cr_assert_eq(run_scenario_label(sc, p, &l, NULL), COD_OK);
      snprintf(lw, sizeof lw, "scheme=%s ka=%zu kb=%zu", c.coding.scheme, want[t][0], want[t][1]);
      cr_expect_str_eq(l, lw);
      free(l);
    }
  /* a paired key cannot be overridden alone */
  cr_expect_eq(run_scenario_set(sc, "coding.kb", "2", &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "paired in [sweep] pair (line 6)") != NULL, "%s", e.msg);
  cr_expect_eq(run_scenario_set(sc, "coding.ka", "2", &e), COD_EINVAL);
  cr_expect_eq(run_scenario_set(sc, "cluster.workers", "24, 30", &e), COD_OK, "%s", e.msg);
  cr_expect_eq(run_scenario_points(sc), 12);
  run_scenario_free(sc);
}

Test(pair, class_keys_pair_and_blame_the_pair_line) {
  cod_err e = {0};
  run_scenario *sc = parse("[cluster]\nworkers = 6\n[class slow]\ncount = 1\n[sweep]\n"
                           "pair = class.slow.count, coding.ka: 1x2, 2x3\n", &e);
  cr_assert_null(sc); /* class count twice */
  cr_expect(strstr(e.msg, "u.ini:6: [sweep] pair: count is already set at line 4") != NULL,
            "%s", e.msg);
  sc = parse("[class slow]\nshift = 2\n[sweep]\npair = class.slow.count, coding.ka: 1x2, 9x3\n"
             "[cluster]\nworkers = 6\n[coding]\nkb = 2\n", &e);
  cr_assert_not_null(sc, "%s", e.msg);
  run_config c;
  cr_expect_eq(run_scenario_point(sc, 0, &c, &e), COD_OK, "%s", e.msg);
  cr_expect_eq(c.classes[0].count, 1);
  cr_expect_eq(run_scenario_point(sc, 1, &c, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "u.ini:4: [class slow] count: point 1 (slow.count=9 ka=3)") != NULL,
            "%s", e.msg);
  run_scenario_free(sc);
}

Test(pair, malformed_pairs_name_line_and_problem) {
  static const struct { const char *text, *want; } cases[] = {
    {"[sweep]\npair = ka, kb 4x5\n", "u.ini:2: [sweep] pair: expected 'KEY,KEY: AxB, ...'"},
    {"[sweep]\npair = ka: 4, 5\n", "name at least two keys"},
    {"[sweep]\npair = ka, nokey: 4x5\n", "'nokey' is no key"},
    {"[sweep]\npair = ka, name: 4xa\n", "'name' is a key of several sections"},
    {"[sweep]\npair = ka, ka: 4x5\n", "key 'ka' named twice"},
    {"[sweep]\npair = ka, layers: 4x5\n", "'layers' holds a set"},
    {"[sweep]\npair = ka, kb: 4x5, 6\n", "'6': expected one value per key joined by 'x'"},
    {"[sweep]\npair = ka, kb: 4x5x6\n", "kb: bad value '5x6'"},
    {"[sweep]\npair = ka, kb: 4x0\n", "kb: bad value '0'"},
    {"[sweep]\npair = ka, kb: 4x5, 4x5\n", "tuple 2 repeats an earlier one"},
    {"[sweep]\npair = ka, class.x.count: 4x5\n", "no such class"},
    {"[sweep]\npair = a.b.c, ka: 4x5\n", "is no section.key"},
    {"[coding]\nka = 2\n[sweep]\npair = ka, kb: 4x5\n", "ka is already set at line 2"},
    {"[sweep]\npair = ka, kb: 4x5\n[coding]\nkb = 2\n", "u.ini:4: [coding] kb: duplicate key (first set at line 2)"},
    {"[sweep]\nskip = sometimes\n", "u.ini:2: [sweep] skip: bad value 'sometimes'"},
    {"[sweep]\nskip = none\nskip = infeasible\n", "u.ini:3: [sweep] skip: duplicate key"},
    {"[sweep]\nrepeat = 2\n", "u.ini:2: [sweep] repeat: unknown key (known: skip, pair)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cod_err e = {0};
    run_scenario *sc = parse(cases[i].text, &e);
    cr_expect_null(sc, "case %zu parsed", i);
    run_scenario_free(sc);
    cr_expect(strstr(e.msg, cases[i].want) != NULL, "case %zu: '%s' not in '%s'", i,
              cases[i].want, e.msg);
  }
}

/* ---- a stop flag set before the sweep: nothing runs, nothing is written -------------- */

Test(stop, a_stop_before_the_first_run_commits_nothing) {
  cod_err e = {0};
  run_scenario *sc = parse("[run]\ncompute = model\ntrials = 50\n[model]\nname = lenet5\n"
                           "[cluster]\nworkers = 6\n[coding]\nka = 2\nkb = 2\n", &e);
  cr_assert_not_null(sc, "%s", e.msg);
  char db[] = "/tmp/fcdcc_stop_XXXXXX";
  int fd = mkstemp(db);
  cr_assert_geq(fd, 0);
  close(fd);
  unlink(db);
  volatile sig_atomic_t stop = 1;
  run_sweep_opts o;
  memset(&o, 0, sizeof o);
  o.db_path = db, o.jobs = 2, o.stop = &stop;
  run_sweep_stats st;
  cr_expect_eq(run_sweep(sc, &o, &st, &e), COD_OK, "%s", e.msg);
  cr_expect_eq(st.stopped, 1);
  cr_expect_eq(st.committed, 0);
  cr_expect_eq(st.total, 50);
  cr_expect_neq(access(db, F_OK), 0, "a stopped sweep with no run wrote %s", db);
  run_scenario_free(sc);
}

/* The issue's own spelling: `pair = ka,kb: ...` inside [coding] (and a class's keys in its
 * section), bare names taken from that section first. */
Test(pair, a_pair_in_the_keys_own_section) {
  cod_err e = {0};
  run_scenario *sc = parse("[cluster]\nworkers = 20\n[coding]\npair = ka,kb: 4x5, 5x4, 2x10\n"
                           "[class slow]\npair = count, shift: 1x2, 3x4\n", &e);
  cr_assert_not_null(sc, "%s", e.msg);
  cr_assert_eq(run_scenario_points(sc), 6);
  static const size_t ab[3][2] = {{4, 5}, {5, 4}, {2, 10}}, cs[2][2] = {{1, 2}, {3, 4}};
  for (size_t p = 0; p < 6; p++) {
    run_config c;
    cr_assert_eq(run_scenario_point(sc, p, &c, &e), COD_OK, "%s", e.msg);
    cr_expect_eq(c.coding.ka, ab[p / 2][0]);
    cr_expect_eq(c.coding.kb, ab[p / 2][1]);
    cr_expect_eq(c.classes[0].count, cs[p % 2][0]);
    cr_expect(c.classes[0].worker.latency.param[sim_latency_param_find("shift")] ==
              (double)cs[p % 2][1]);
  }
  run_scenario_free(sc);
  cr_expect_null(parse("[coding]\npair = ka, kx: 4x5\n", &e));
  cr_expect(strstr(e.msg, "u.ini:2: [coding] pair: 'kx' is no key") != NULL, "%s", e.msg);
  cr_expect_null(parse("[class a]\ncount = 1\npair = count, shift: 1x2\n", &e));
  cr_expect(strstr(e.msg, "u.ini:3: [class a] pair: count is already set at line 2") != NULL,
            "%s", e.msg);
}

/* recommend's per-key rule (run_plan_key_ignored) is the sweep's duplicate rule: for each
 * (scheme, key) below, a two-point sweep over the key plans its second point as a
 * duplicate exactly when the rule says the scheme ignores the key. Both sides are
 * observed, neither is written down here, so the test fails when they drift apart. */
Test(plan, key_rule_agrees_with_the_duplicates) {
  static const struct {
    const char *scheme, *stragglers, *key, *section, *name, *values;
  } cases[] = {
    {"uncoded", "random", "coding.ka", "coding", "ka", "1, 2"},
    {"nsctc-rot", "random", "coding.ka", "coding", "ka", "1, 2"},
    {"nsctc-rot", "random", "coding.seed", "coding", "seed", "1, 2"},
    {"poly-real", "random", "coding.seed", "coding", "seed", "1, 2"},
    {"nsctc-rot", "random", "coding.q", "coding", "q", "7, 11"},
    {"poly-real", "random", "coding.q", "coding", "q", "7, 11"},
    {"replication", "random", "coding.replication", "coding", "replication", "2, 3"},
    {"nsctc-rot", "random", "coding.replication", "coding", "replication", "2, 3"},
    {"nsctc-rot", "random", "cluster.worst_sets", "cluster", "worst_sets", "10, 20"},
    {"nsctc-rot", "worst", "cluster.worst_sets", "cluster", "worst_sets", "10, 20"},
  };
  size_t dup_seen = 0, run_seen = 0;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char text[512];
    if (strcmp(cases[i].section, "coding") == 0)
      snprintf(text, sizeof text, "[run]\ncompute = model\n[model]\nname = lenet5\n"
               "[cluster]\nworkers = 6\nstragglers = %s\n[coding]\nscheme = %s\nkb = 1\n"
               "%s = %s\n", cases[i].stragglers, cases[i].scheme, cases[i].name,
               cases[i].values);
    else
      snprintf(text, sizeof text, "[run]\ncompute = model\n[model]\nname = lenet5\n"
               "[cluster]\nworkers = 6\nstragglers = %s\n%s = %s\n[coding]\nscheme = %s\nka = 2\n"
               "kb = 1\n",
               cases[i].stragglers, cases[i].name, cases[i].values, cases[i].scheme);
    cod_err e = {0};
    run_scenario *sc = parse(text, &e);
    cr_assert_not_null(sc, "%s\n%s", e.msg, text);
    run_sweep_plan pl;
    cr_assert_eq(run_plan_sweep(sc, &pl, &e), COD_OK, "%s\n%s", e.msg, text);
    cr_assert_eq(pl.n_points, 2);
    cr_assert_eq(pl.n_infeasible, 0, "%s: %s", text, pl.n_skips ? pl.skips[0].reason : "");
    int dup = pl.state[1] == RUN_POINT_DUPLICATE;
    dup_seen += (size_t)dup, run_seen += (size_t)!dup;
    cr_expect_eq(run_plan_key_ignored(cases[i].scheme, cases[i].stragglers, cases[i].key), dup,
                 "%s %s (stragglers %s): the sweep says %s", cases[i].scheme, cases[i].key,
                 cases[i].stragglers, dup ? "duplicate" : "distinct");
    run_plan_sweep_fini(&pl);
    run_scenario_free(sc);
  }
  cr_expect(dup_seen > 0 && run_seen > 0, "both outcomes must occur (%zu, %zu)", dup_seen,
            run_seen);
  cr_expect_eq(run_plan_key_ignored("no-such-scheme", NULL, "coding.ka"), 0);
  cr_expect_eq(run_plan_key_ignored("uncoded", NULL, "model.name"), 0);
}
