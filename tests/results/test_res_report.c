/* test_res_report.c: the text reports on small hand-made databases, compared with
 * expected tables worked out by hand (the arithmetic is in the comments). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cod_alloc.h"
#include "res_db.h"
#include "res_report.h"
#include "test_res_util.h"

static tmp_place tp;

static void setup(void) { tmp_place_make(&tp, "rep.db"); }
static void teardown(void) {
  cod_alloc_fail_at(-1);
  tmp_place_remove(&tp);
}

TestSuite(res_report, .init = setup, .fini = teardown);

/* One worker's bytes in one layer. */
typedef struct wspec {
  int layer, worker;
  int64_t up, down, stored;
} wspec;

/* A run of the fixture: group keys, outcome, layer conds and worker bytes. */
typedef struct rspec {
  const char *model, *scheme;
  int64_t n, ka, kb;
  const char *prec, *status;
  double latency, mse, rel;
  int nlayers;
  double cond[2];
  int nworkers;
  wspec w[4];
} rspec;

static void write_run(res_db *db, const rspec *s, int64_t point) {
  res_run_row r;
  res_run_row_init(&r);
  r.scenario_hash = "golden";
  r.point_index = point;
  r.trial = 0;
  r.seed = 1;
  r.backend = "sim";
  r.model = s->model;
  r.scheme = s->scheme;
  r.workers = s->n;
  r.ka = s->ka;
  r.kb = s->kb;
  r.precision = s->prec;
  r.status = s->status;
  r.latency_s = s->latency;
  r.e2e_mse = s->mse;
  r.e2e_rel_error = s->rel;
  r.wall_s = 100.0 + (double)point; /* wall clock: must not show in reports */
  int64_t id = 0;
  cod_err e = {0};
  cr_assert_eq(res_db_begin_run(db, &r, &id, &e), COD_OK, "%s", e.msg);
  for (int l = 0; l < s->nlayers; l++) {
    res_layer_row lr;
    res_layer_row_init(&lr);
    lr.layer_index = l;
    lr.status = s->status;
    lr.cond = s->cond[l];
    lr.cpu_compute_s = 3.0 + l; /* real CPU time: must not show either */
    cr_assert_eq(res_db_insert_layer(db, id, &lr, &e), COD_OK, "%s", e.msg);
  }
  for (int k = 0; k < s->nworkers; k++) {
    res_worker_row w;
    res_worker_row_init(&w);
    w.layer_index = s->w[k].layer;
    w.worker = s->w[k].worker;
    w.bytes_up = s->w[k].up;
    w.bytes_down = s->w[k].down;
    w.bytes_stored = s->w[k].stored;
    w.status = RES_WORKER_USED;
    cr_assert_eq(res_db_insert_worker(db, id, &w, &e), COD_OK, "%s", e.msg);
  }
  cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "%s", e.msg);
}

/* The golden fixture.
 * lenet/fcdcc/4/2/2/fp64: 3 runs.
 *   r1 ok, latency 1.5, mse 0.125, rel 0.0625, conds 10 and 20,
 *      per (run, worker) bytes: w0 up 100+300 = 400, down 40, stored 4000;
 *                               w1 up 200+400 = 600, down 60, stored 6000
 *   r2 ok, latency 2.5, mse 0.5, rel 0.25, cond 30, w0 50/5/500, w1 150/15/1500
 *   r3 undecodable, no latency, one layer with NULL cond, no workers rows
 *   -> runs 3, ok 2, undec 1, lat mean (1.5+2.5)/2 = 2, p95 rank ceil(0.95*2) = 2 -> 2.5,
 *      up (400+600+50+150)/4 = 300, down (40+60+5+15)/4 = 30,
 *      stored (4000+6000+500+1500)/4 = 3000, max mse 0.5, max rel 0.25,
 *      mean cond (10+20+30)/3 = 20.
 * lenet/nsctc/4/2/2/fp64: one ok run, latency 0.75, mse 0.001, rel 0.01, no layers.
 * lenet/uncoded/1/-/-/fp64: one "infeasible: storage" run, nothing else.
 * alexnet/fcdcc/8/2/4/fp32: 3 ok runs, latencies 3, 1, 2 -> mean 2, p95 rank 3 -> 3;
 *   mse 1e-6, 4e-6, 2e-6 -> max 4e-06; rel 0.001; one layer cond 1; w0 8/8/8 each. */
static const rspec fixture[] = {
  {"lenet", "fcdcc", 4, 2, 2, "fp64", "ok", 1.5, 0.125, 0.0625, 2, {10, 20}, 4,
   {{0, 0, 100, 10, 1000}, {0, 1, 200, 20, 2000}, {1, 0, 300, 30, 3000}, {1, 1, 400, 40, 4000}}},
  {"lenet", "fcdcc", 4, 2, 2, "fp64", "ok", 2.5, 0.5, 0.25, 1, {30, 0}, 2,
   {{0, 0, 50, 5, 500}, {0, 1, 150, 15, 1500}}},
  {"lenet", "fcdcc", 4, 2, 2, "fp64", "undecodable", NAN, NAN, NAN, 1, {NAN, 0}, 0, {{0}}},
  {"lenet", "nsctc", 4, 2, 2, "fp64", "ok", 0.75, 0.001, 0.01, 0, {0, 0}, 0, {{0}}},
  {"lenet", "uncoded", 1, -1, -1, "fp64", "infeasible: storage", NAN, NAN, NAN, 0, {0, 0}, 0,
   {{0}}},
  {"alexnet", "fcdcc", 8, 2, 4, "fp32", "ok", 3, 1e-6, 0.001, 1, {1, 0}, 1, {{0, 0, 8, 8, 8}}},
  {"alexnet", "fcdcc", 8, 2, 4, "fp32", "ok", 1, 4e-6, 0.001, 1, {1, 0}, 1, {{0, 0, 8, 8, 8}}},
  {"alexnet", "fcdcc", 8, 2, 4, "fp32", "ok", 2, 2e-6, 0.001, 1, {1, 0}, 1, {{0, 0, 8, 8, 8}}},
};
enum { NFIX = sizeof fixture / sizeof *fixture };

/* Column widths: model 7, scheme 7, n 1, ka 2, kb 2, prec 4, runs 4, ok 2, undec 5,
 * infeas 6, lat_mean_s 10, lat_p95_s 9, to_worker_B_w 13, to_master_B_w 13, store_B_w 9, max_mse 7,
 * max_rel 7, mean_cond 9; text left-aligned, numbers right-aligned, two blanks between. */
static const char expected_summary[] =
  "model    scheme   n  ka  kb  prec  runs  ok  undec  infeas  lat_mean_s  lat_p95_s  "
  "to_worker_B_w  to_master_B_w  store_B_w  max_mse  max_rel  mean_cond\n"
  "-------  -------  -  --  --  ----  ----  --  -----  ------  ----------  ---------  "
  "-------------  -------------  ---------  -------  -------  ---------\n"
  "alexnet  " "fcdcc    " "8  " " 2  " " 4  " "fp32  " "   3  " " 3  " "    0  " "     0  "
  "         2  " "        3  " "            8  " "            8  " "        8  " "  4e-06  " "  0.001  "
  "        1\n"
  "lenet    " "fcdcc    " "4  " " 2  " " 2  " "fp64  " "   3  " " 2  " "    1  " "     0  "
  "         2  " "      2.5  " "          300  " "           30  " "     3000  " "    0.5  " "   0.25  "
  "       20\n"
  "lenet    " "nsctc    " "4  " " 2  " " 2  " "fp64  " "   1  " " 1  " "    0  " "     0  "
  "      0.75  " "     0.75  " "            -  " "            -  " "        -  " "  0.001  " "   0.01  "
  "        -\n"
  "lenet    " "uncoded  " "1  " " -  " " -  " "fp64  " "   1  " " 0  " "    0  " "     1  "
  "         -  " "        -  " "            -  " "            -  " "        -  " "      -  " "      -  "
  "        -\n";

/* Per scheme. fcdcc: 6 runs, 5 ok; communication per run (workers' up + down):
 * r1 1100, r2 220, alexnet 16 x 3, r3 has no workers rows (NULL, not averaged):
 * (1100 + 220 + 48) / 5 = 273.6; storage (10000 + 2000 + 24) / 5 = 2404.8;
 * max mse 0.5, max rel 0.25. nsctc: 1 run, 1 ok, no workers. uncoded: 1 run, 0 ok.
 * Widths: scheme 7, runs 4, ok 2, comm 18, storage 21, max_mse 7, max_rel_error 13. */
static const char expected_per_scheme[] =
  "scheme   runs  ok  comm_bytes_per_run  storage_bytes_per_run  max_mse  max_rel_error\n"
  "-------  ----  --  ------------------  ---------------------  -------  -------------\n"
  "fcdcc    " "   6  " " 5  " "             273.6  " "               2404.8  " "    0.5  "
  "         0.25\n"
  "nsctc    " "   1  " " 1  " "                 -  " "                    -  " "  0.001  "
  "         0.01\n"
  "uncoded  " "   1  " " 0  " "                 -  " "                    -  " "      -  "
  "            -\n";

static res_db *open_db(int flags) {
  res_db *db = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(tp.path, flags, &db, &e), COD_OK, "%s", e.msg);
  return db;
}

static void build_fixture(int reverse) {
  res_db *db = open_db(0);
  for (int i = 0; i < NFIX; i++) {
    int k = reverse ? NFIX - 1 - i : i;
    write_run(db, &fixture[k], k);
  }
  res_db_close(db);
}

typedef int (*report_fn)(res_db *, FILE *, cod_err *);

/* Run a report into memory; returns a malloc'd string (free with free()). */
static char *capture(res_db *db, report_fn fn, int *status, cod_err *e) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  cr_assert_not_null(f);
  *status = fn(db, f, e);
  fclose(f);
  return buf;
}

static void assert_report(report_fn fn, const char *expected) {
  res_db *db = open_db(RES_DB_READONLY);
  int st = -1;
  cod_err e = {0};
  char *got = capture(db, fn, &st, &e);
  cr_assert_eq(st, COD_OK, "%s", e.msg);
  cr_assert_str_eq(got, expected, "got:\n%s\nexpected:\n%s", got, expected);
  free(got);
  res_db_close(db);
}

Test(res_report, summary_matches_hand_computed_table) {
  build_fixture(0);
  assert_report(res_report_summary, expected_summary);
}

Test(res_report, per_scheme_matches_hand_computed_table) {
  build_fixture(0);
  assert_report(res_report_per_scheme, expected_per_scheme);
}

Test(res_report, output_does_not_depend_on_insertion_order) {
  build_fixture(1);
  assert_report(res_report_summary, expected_summary);
  assert_report(res_report_per_scheme, expected_per_scheme);
}

Test(res_report, empty_database_prints_header_only) {
  res_db_close(open_db(0));
  assert_report(res_report_per_scheme,
                "scheme  runs  ok  comm_bytes_per_run  storage_bytes_per_run  max_mse  "
                "max_rel_error\n"
                "------  ----  --  ------------------  ---------------------  -------  "
                "-------------\n");
}

Test(res_report, p95_is_nearest_rank) {
  /* latencies 1..20 inserted in a scrambled order (7k mod 20 is a permutation): mean
   * 10.5, nearest-rank 95th percentile = the ceil(0.95 * 20) = 19th smallest = 19. */
  res_db *db = open_db(0);
  for (int k = 0; k < 20; k++) {
    rspec s = {"m", "s", 2, 1, 1, "fp64", "ok", (double)((7 * k) % 20 + 1), 0, 0, 0, {0, 0},
               0, {{0}}};
    write_run(db, &s, k);
  }
  res_db_close(db);
  assert_report(res_report_summary,
                "model  scheme  n  ka  kb  prec  runs  ok  undec  infeas  lat_mean_s  "
                "lat_p95_s  to_worker_B_w  to_master_B_w  store_B_w  max_mse  max_rel  mean_cond\n"
                "-----  ------  -  --  --  ----  ----  --  -----  ------  ----------  "
                "---------  -------------  -------------  ---------  -------  -------  ---------\n"
                "m      s       2   1   1  fp64    20  20      0       0        10.5  "
                "       19              -              -          -        0        0          -\n");
}

Test(res_report, allocation_failures_are_clean) {
  build_fixture(0);
  res_db *db = open_db(RES_DB_READONLY);
  long n = 0;
  for (;; n++) {
    int st = -1;
    cod_err e = {0};
    cod_alloc_fail_at(n);
    char *got = capture(db, res_report_summary, &st, &e);
    cod_alloc_fail_at(-1);
    if (st == COD_OK) {
      cr_assert_str_eq(got, expected_summary);
      free(got);
      break;
    }
    cr_assert_eq(st, COD_ENOMEM, "fail at %ld: %s", n, e.msg);
    cr_assert_str_eq(got, "", "fail at %ld printed something", n);
    free(got);
  }
  /* header (18) + 4 rows x 18 cells, plus the realloc of the cell array and 2 arrays */
  cr_assert_geq(n, 90, "only %ld allocations", n);
  res_db_close(db);
}

Test(res_report, write_error_is_reported) {
  build_fixture(0);
  res_db *db = open_db(RES_DB_READONLY);
  FILE *f = fopen(tp.path, "r"); /* a stream that cannot be written */
  cr_assert_not_null(f);
  cod_err e = {0};
  cr_assert_eq(res_report_summary(db, f, &e), COD_EIO);
  cr_assert_not_null(strstr(e.msg, "write error"), "%s", e.msg);
  fclose(f);
  res_db_close(db);
}

/* The data report: nothing at all without data runs (so every other report is unchanged),
 * else one row per group with the means computed here by hand. */
Test(res_report, data_report_empty_without_data_runs) {
  build_fixture(0);
  assert_report(res_report_data, "");
}

Test(res_report, data_report_means_per_group) {
  res_db *db = open_db(0);
  /* run 3 is nsctc-rot like runs 0-1 but at SNR 40 dB: a group of its own, never pooled */
  const double top1c[4] = {0.80, 0.90, 0.50, 0.70}, agree[4] = {0.95, 0.85, 1.0, 0.75};
  for (int k = 0; k < 4; k++) {
    res_run_row r;
    res_run_row_init(&r);
    r.scenario_hash = "data";
    r.point_index = k;
    r.trial = 0;
    r.seed = 1;
    r.backend = "sim";
    r.model = "net.onnx";
    r.scheme = k == 2 ? "uncoded" : "nsctc-rot";
    r.params_json = k == 3 ? "{\"run\":{\"snr_db\":40}}" : NULL;
    r.workers = 20, r.ka = 2, r.kb = 2, r.precision = "fp64", r.status = RES_STATUS_OK;
    int64_t id = 0;
    cod_err e = {0};
    cr_assert_eq(res_db_begin_run(db, &r, &id, &e), COD_OK, "%s", e.msg);
    res_data_row d = {"fashion-mnist:test", 100, top1c[k], 0.875, agree[k], k, 1e-13 * (k + 1)};
    cr_assert_eq(res_db_insert_data_run(db, id, &d, &e), COD_OK, "%s", e.msg);
    cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "%s", e.msg);
  }
  res_db_close(db);
  db = open_db(RES_DB_READONLY);
  int st = -1;
  cod_err e = {0};
  char *got = capture(db, res_report_data, &st, &e);
  cr_assert_eq(st, COD_OK, "%s", e.msg);
  /* nsctc-rot: 2 runs, 200 images, top-1 (0.8 + 0.9) / 2, agreement (0.95 + 0.85) / 2,
   * 0 + 1 undecodable, max logit error 2e-13; uncoded: the third run alone */
  cr_expect(strstr(got, "nsctc-rot  20   2   2  fp64  none       2     200         0.875        0.85        0.9      1          2e-13"),
            "got:\n%s", got);
  cr_expect(strstr(got, "nsctc-rot  20   2   2  fp64  40         1     100         0.875         0.7       0.75      3          4e-13"),
            "got:\n%s", got);
  cr_expect(strstr(got, "uncoded    20   2   2  fp64  none       1     100         0.875         0.5          1      2          3e-13"),
            "got:\n%s", got);
  cr_expect(strstr(got, "top1_uncoded  top1_coded  agreement  undec  max_logit_err"), "got:\n%s", got);
  free(got);
  res_db_close(db);
}
