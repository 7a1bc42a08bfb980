/* test_res_recommend.c: the recommender (results/res_recommend.h), on databases written
 * here run by run with seeded random latencies.
 *
 * References are independent of the code under test: quantiles from GSL
 * (gsl_stats_quantile_from_sorted_data, the same type-7 definition the header states) over
 * the latencies this test drew, byte sums and worst storage from the rows it wrote, and the
 * expected order and constraint outcomes from the distributions it chose (well separated
 * means: the order is certain and its bootstrap confidence near 1; identical laws: near
 * one half).
 */
#include <criterion/criterion.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "res_db.h"
#include "res_recommend.h"

#define RUNS 40

typedef struct cfg {
  const char *json;
  double shift, mse, stored;
  int64_t bytes_up;
  int fail_every; /* every k-th run undecodable (0 = none) */
  double lat[RUNS];
} cfg;

static char path[64];

static void write_db(cfg *c, size_t n) {
  snprintf(path, sizeof path, "/tmp/fcdcc_rec_XXXXXX");
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  close(fd);
  unlink(path);
  res_db *db = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(path, 0, &db, &e), COD_OK, "%s", e.msg);
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 99);
  for (size_t k = 0; k < n; k++)
    for (int t = 0; t < RUNS; t++) {
      int failed = c[k].fail_every && t % c[k].fail_every == 0;
      c[k].lat[t] = failed ? INFINITY : c[k].shift + gsl_ran_exponential(r, 0.5);
      res_run_row row;
      res_run_row_init(&row);
      row.scenario_hash = "h", row.point_index = (int64_t)k, row.trial = t, row.seed = 1;
      row.backend = "sim", row.scheme = "x", row.model = "m", row.params_json = c[k].json;
      row.status = failed ? RES_STATUS_UNDECODABLE : RES_STATUS_OK;
      row.latency_s = failed ? NAN : c[k].lat[t];
      row.e2e_mse = failed ? NAN : c[k].mse * (1 + 0.1 * gsl_rng_uniform(r));
      int64_t id;
      cr_assert_eq(res_db_begin_run(db, &row, &id, &e), COD_OK, "%s", e.msg);
      res_layer_row L;
      res_layer_row_init(&L);
      L.layer_index = 0, L.status = RES_STATUS_OK;
      cr_assert_eq(res_db_insert_layer(db, id, &L, &e), COD_OK, "%s", e.msg);
      for (int w = 0; w < 2; w++) {
        res_worker_row W;
        res_worker_row_init(&W);
        W.layer_index = 0, W.worker = w, W.status = RES_WORKER_USED;
        W.bytes_up = c[k].bytes_up, W.bytes_down = 10;
        W.bytes_stored = (int64_t)(w ? c[k].stored : c[k].stored / 2);
        cr_assert_eq(res_db_insert_worker(db, id, &W, &e), COD_OK, "%s", e.msg);
      }
      cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "%s", e.msg);
    }
  gsl_rng_free(r);
  res_db_close(db);
}

static double p95_of(const cfg *c) {
  double v[RUNS];
  memcpy(v, c->lat, sizeof v);
  gsl_sort(v, 1, RUNS);
  return gsl_stats_quantile_from_sorted_data(v, 1, RUNS, 0.95);
}

static void rank(res_rec_opts o, res_rec_result *out) {
  res_db *db = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(path, RES_DB_READONLY, &db, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_recommend(db, &o, out, &e), COD_OK, "%s", e.msg);
  res_db_close(db);
}

static const res_rec_row *row_of(const res_rec_result *r, const char *label) {
  for (size_t i = 0; i < r->n_rows; i++)
    if (strcmp(r->rows[i].label, label) == 0) return &r->rows[i];
  char all[1024] = "";
  for (size_t i = 0, used = 0; i < r->n_rows && used < sizeof all; i++)
    used += (size_t)snprintf(all + used, sizeof all - used, " [%s]", r->rows[i].label);
  cr_assert_fail("no row labelled %s; rows:%s", label, all);
  return NULL;
}

static res_rec_opts opts(int objective) {
  res_rec_opts o = {objective, NAN, NAN, NAN, NULL, NULL};
  return o;
}

Test(recommend, ranks_never_pool_and_check_constraints) {
  cfg c[3] = {
      {"{\"coding\":{\"scheme\":\"a\",\"ka\":2}}", 1.0, 1e-25, 1000, 300, 0, {0}},
      {"{\"coding\":{\"scheme\":\"b\",\"ka\":2}}", 3.0, 1e-25, 500, 100, 40, {0}},
      {"{\"coding\":{\"scheme\":\"c\",\"ka\":2}}", 0.2, 1e-10, 100, 50, 0, {0}},
  };
  write_db(c, 3);
  res_rec_result r;
  res_rec_opts o = opts(RES_REC_P95);
  o.max_mse = 1e-15;
  rank(o, &r);
  cr_assert_eq(r.n_rows, 3, "one row per configuration");
  cr_assert_eq(r.n_ranked, 2);
  cr_expect_str_eq(r.rows[0].label, "scheme=a");
  cr_expect_str_eq(r.rows[1].label, "scheme=b");
  cr_expect_str_eq(r.rows[2].label, "scheme=c");
  cr_expect_str_eq(r.rows[2].fails, "max-mse");
  for (size_t k = 0; k < 3; k++) {
    char l[16];
    snprintf(l, sizeof l, "scheme=%c", 'a' + (int)k);
    const res_rec_row *w = row_of(&r, l);
    double want = p95_of(&c[k]);
    cr_expect(fabs(w->objective - want) <= 1e-12 * want, "%s: p95 %.17g, GSL %.17g", l,
              w->objective, want);
    cr_expect(w->ci_lo <= w->objective && w->objective <= w->ci_hi, "%s ci", l);
    cr_expect_eq(w->runs, RUNS);
    cr_expect_eq(w->ok, c[k].fail_every ? RUNS - RUNS / c[k].fail_every : RUNS);
    cr_expect(w->storage_bytes == c[k].stored, "%s storage %g", l, w->storage_bytes);
    cr_expect(w->bytes == 2.0 * (double)(c[k].bytes_up + 10), "%s bytes %g", l, w->bytes);
    cr_expect(w->mse >= c[k].mse && w->mse <= 1.1 * c[k].mse);
  }
  cr_expect_gt(r.rows[0].p_beats_next, 0.99, "%g", r.rows[0].p_beats_next);
  cr_expect(isnan(r.rows[1].p_beats_next), "the last ranked has no next");
  res_rec_result_fini(&r);
  /* storage: a breaks it, b alone is ranked; mean ranks c first without constraints */
  o = opts(RES_REC_P95);
  o.max_storage_bytes = 600;
  rank(o, &r);
  cr_expect_eq(r.n_ranked, 2);
  cr_expect_str_eq(r.rows[0].label, "scheme=c");
  cr_expect_str_eq(row_of(&r, "scheme=a")->fails, "max-storage");
  res_rec_result_fini(&r);
  o = opts(RES_REC_BYTES);
  rank(o, &r);
  cr_expect_str_eq(r.rows[0].label, "scheme=c");
  cr_expect_str_eq(r.rows[2].label, "scheme=a");
  cr_expect_eq(r.rows[0].p_beats_next, 1.0, "bytes are constant per configuration");
  res_rec_result_fini(&r);
  /* b's one failed run of 40 is its largest latency (+inf): p99 interpolates into it */
  o = opts(RES_REC_MEAN);
  o.max_p99_s = 1e6;
  rank(o, &r);
  cr_expect_str_eq(row_of(&r, "scheme=b")->fails, "max-p99");
  cr_expect(isinf(row_of(&r, "scheme=b")->mean_s));
  res_rec_result_fini(&r);
  unlink(path);
}

Test(recommend, equal_laws_have_no_confident_order) {
  cfg c[2] = {
      {"{\"run\":{\"name\":\"x\"},\"coding\":{\"scheme\":\"a\"}}", 1.0, 0, 10, 10, 0, {0}},
      {"{\"run\":{\"name\":\"y\"},\"coding\":{\"scheme\":\"a\"}}", 1.0, 0, 10, 10, 0, {0}},
  };
  write_db(c, 2);
  res_rec_result r;
  rank(opts(RES_REC_MEAN), &r);
  cr_assert_eq(r.n_ranked, 2);
  cr_expect_str_eq(r.rows[0].label, strstr(r.rows[0].params_json, "\"x\"") ? "name=x" : "name=y");
  cr_expect(r.rows[0].p_beats_next > 0.5 && r.rows[0].p_beats_next < 0.97,
            "the better of two equal laws wins only by its sample: %g", r.rows[0].p_beats_next);
  /* the same numbers twice: the seeded bootstrap is deterministic */
  double p = r.rows[0].p_beats_next;
  res_rec_result_fini(&r);
  rank(opts(RES_REC_MEAN), &r);
  cr_expect_eq(r.rows[0].p_beats_next, p);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  cod_err e = {0};
  cr_assert_eq(res_recommend_write(&r, f, 1, &e), COD_OK);
  fclose(f);
  cr_expect(strstr(buf, "\"ranked\": [") && strstr(buf, "\"rejected\": []") &&
            strstr(buf, "\"confidence_method\": \"bootstrap"), "%s", buf);
  free(buf);
  res_rec_result_fini(&r);
  unlink(path);
}

Test(recommend, empty_file_and_unmodelled_energy) {
  cfg c[1] = {{"{\"coding\":{\"scheme\":\"a\"}}", 1.0, 0, 10, 10, 0, {0}}};
  write_db(c, 1);
  res_db *db = NULL;
  cod_err e = {0};
  res_rec_result r;
  cr_assert_eq(res_db_open(path, RES_DB_READONLY, &db, &e), COD_OK);
  res_rec_opts o = opts(RES_REC_ENERGY); /* energy_j NULL in every run: not rankable */
  cr_expect_eq(res_recommend(db, &o, &r, &e), COD_OK, "%s", e.msg);
  cr_expect_eq(r.n_ranked, 0);
  cr_expect(r.rows[0].fails && strstr(r.rows[0].fails, "not modelled"));
  res_rec_result_fini(&r);
  o = opts(RES_REC_P95);
  cr_expect_eq(res_recommend(db, &o, &r, &e), COD_OK, "%s", e.msg);
  cr_expect_str_eq(r.rows[0].label, "", "one configuration: nothing varies");
  res_rec_result_fini(&r);
  res_db_close(db);
  unlink(path);
  cr_assert_eq(res_db_open(path, 0, &db, &e), COD_OK);
  cr_expect_eq(res_recommend(db, &o, &r, &e), COD_ENODATA);
  cr_expect(strstr(e.msg, "holds no runs") != NULL, "%s", e.msg);
  res_db_close(db);
  unlink(path);
  cr_expect_eq(res_rec_objective_find("p95"), RES_REC_P95);
  cr_expect_eq(res_rec_objective_find("p50"), -1);
  cr_expect_eq(res_rec_objective_find(NULL), -1);
}

/* --mse-from: the MSE bound is checked on another file's runs of the same code, matched on
 * model, coding, workers and precision but not on compute or the straggler choice; runs of
 * another worker count or precision must not be taken. */
Test(recommend, mse_from_matches_the_code_not_the_timing) {
  cfg lat[3] = {
      {"{\"run\":{\"precision\":\"fp64\",\"compute\":\"model\"},\"coding\":{\"scheme\":\"a\"},"
       "\"cluster\":{\"workers\":8,\"stragglers\":\"random\"}}", 1.0, NAN, 10, 10, 0, {0}},
      {"{\"run\":{\"precision\":\"fp64\",\"compute\":\"model\"},\"coding\":{\"scheme\":\"b\"},"
       "\"cluster\":{\"workers\":8,\"stragglers\":\"random\"}}", 0.5, NAN, 10, 10, 0, {0}},
      {"{\"run\":{\"precision\":\"fp64\",\"compute\":\"model\"},\"coding\":{\"scheme\":\"c\"},"
       "\"cluster\":{\"workers\":8,\"stragglers\":\"random\"}}", 0.2, NAN, 10, 10, 0, {0}},
  };
  write_db(lat, 3);
  char lat_path[64];
  snprintf(lat_path, sizeof lat_path, "%s", path);
  cfg acc[4] = {
      {"{\"run\":{\"precision\":\"fp64\",\"compute\":\"real\"},\"coding\":{\"scheme\":\"a\"},"
       "\"cluster\":{\"workers\":8,\"stragglers\":\"worst\"}}", 9.0, 1e-25, 10, 10, 0, {0}},
      {"{\"run\":{\"precision\":\"fp64\",\"compute\":\"real\"},\"coding\":{\"scheme\":\"b\"},"
       "\"cluster\":{\"workers\":8,\"stragglers\":\"worst\"}}", 9.0, 1e-10, 10, 10, 0, {0}},
      {"{\"run\":{\"precision\":\"fp64\",\"compute\":\"real\"},\"coding\":{\"scheme\":\"a\"},"
       "\"cluster\":{\"workers\":9,\"stragglers\":\"worst\"}}", 9.0, 1e-5, 10, 10, 0, {0}},
      {"{\"run\":{\"precision\":\"fp32\",\"compute\":\"real\"},\"coding\":{\"scheme\":\"a\"},"
       "\"cluster\":{\"workers\":8,\"stragglers\":\"worst\"}}", 9.0, 1e-3, 10, 10, 0, {0}},
  };
  write_db(acc, 4);
  res_db *db = NULL, *adb = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(lat_path, RES_DB_READONLY, &db, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_open(path, RES_DB_READONLY, &adb, &e), COD_OK, "%s", e.msg);
  res_rec_opts o = opts(RES_REC_MEAN);
  o.max_mse = 1e-20, o.mse_from = adb;
  res_rec_result r;
  cr_assert_eq(res_recommend(db, &o, &r, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(r.n_rows, 3);
  cr_assert_eq(r.n_ranked, 1, "only scheme a meets the bound (got %zu)", r.n_ranked);
  cr_assert(strstr(r.rows[0].label, "scheme=a"), "ranked: %s", r.rows[0].label);
  cr_assert(r.rows[0].mse >= 1e-25 && r.rows[0].mse <= 1.1e-25, "a's mse %g", r.rows[0].mse);
  cr_assert_eq(r.rows[0].mse_runs, RUNS);
  cr_assert_eq(r.rows[0].runs, RUNS); /* latency runs are this file's */
  int saw_b = 0, saw_c = 0;
  for (size_t i = 1; i < r.n_rows; i++) {
    if (strstr(r.rows[i].label, "scheme=b")) {
      saw_b = 1;
      cr_assert_str_eq(r.rows[i].fails, "max-mse");
    }
    if (strstr(r.rows[i].label, "scheme=c")) {
      saw_c = 1;
      cr_assert(isnan(r.rows[i].mse) && strstr(r.rows[i].fails, "no accuracy runs"),
                "c: mse %g, fails %s", r.rows[i].mse, r.rows[i].fails);
    }
  }
  cr_assert(saw_b && saw_c);
  res_rec_result_fini(&r);
  res_db_close(adb);
  res_db_close(db);
  unlink(lat_path), unlink(path);
}

/* The caller's rule of ignored keys (here: uncoded ignores ka, worst_sets only counts
 * with stragglers = worst), asked per configuration with the key's plain name. */
static int stub_ignored(const char *scheme, const char *stragglers, const char *key) {
  if (strcmp(key, "cluster.worst_sets") == 0) return !stragglers || strcmp(stragglers, "worst");
  return scheme && strcmp(scheme, "uncoded") == 0 && strcmp(key, "coding.ka") == 0;
}

/* Labels leave out the keys the rule says a configuration ignores, row by row, and name
 * keys with underscores unquoted (json_tree quotes them); without a rule every varying key
 * shows. */
Test(recommend, labels_leave_out_keys_the_scheme_ignores) {
#define REC_J(s, ka, st, ws)                                                              \
  "{\"coding\":{\"scheme\":\"" s "\",\"ka\":" #ka "},\"cluster\":{\"stragglers\":\"" st      \
  "\",\"worst_sets\":" #ws "}}"
  cfg c[4] = {
      {REC_J("nsctc-rot", 2, "random", 10), 1.0, 1e-25, 100, 10, 0, {0}},
      {REC_J("nsctc-rot", 4, "random", 20), 2.0, 1e-25, 100, 10, 0, {0}},
      {REC_J("uncoded", 4, "random", 30), 3.0, 1e-25, 100, 10, 0, {0}},
      {REC_J("uncoded", 2, "worst", 40), 4.0, 1e-25, 100, 10, 0, {0}},
  };
#undef REC_J
  write_db(c, 4);
  res_rec_result r;
  res_rec_opts o = opts(RES_REC_MEAN);
  o.key_ignored = stub_ignored;
  rank(o, &r);
  cr_assert_eq(r.n_rows, 4);
  row_of(&r, "scheme=nsctc-rot ka=2 stragglers=random");
  row_of(&r, "scheme=nsctc-rot ka=4 stragglers=random");
  row_of(&r, "scheme=uncoded stragglers=random");
  row_of(&r, "scheme=uncoded stragglers=worst worst_sets=40");
  res_rec_result_fini(&r);
  rank(opts(RES_REC_MEAN), &r);
  row_of(&r, "scheme=uncoded ka=4 stragglers=random worst_sets=30");
  res_rec_result_fini(&r);
  unlink(path);
}
