/* test_res_analysis.c: analysis a researcher can trust: reports and figures never pool
 * sweep points, intervals cover the true mean, CSV export round-trips, every column is
 * explained, and no -wal/-shm stays behind.
 *
 * The sweep DB is made through the library's writer with seeded random latencies whose
 * per-point means differ by construction; the expected groups and means are computed here
 * from the inserted values, independently of the code under test.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "res_db.h"
#include "res_export.h"
#include "res_figures.h"
#include "res_plot.h"
#include "res_report.h"
#include "res_schema.h"
#include "res_stats.h"
#include "test_res_util.h"

static tmp_place tp;

static void setup(void) { tmp_place_make(&tp, "sweep.db"); }
static void teardown(void) { tmp_place_remove(&tp); }

TestSuite(res_analysis, .init = setup, .fini = teardown);

/* splitmix64 + Box-Muller: the tests' own seeded generator */
static uint64_t rng_state;
static double unif(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}
static double normal(void) {
  return sqrt(-2 * log(unif())) * cos(2 * 3.14159265358979323846 * unif());
}

/* ---- a two-key sweep: [class slow] count in {1, 2} x [coding] delta in {20, 22}, two
 * schemes, TRIALS trials, run name "stragglers" (so the latency figure uses it) -------- */

enum { TRIALS = 5, NSCHEME = 2, NCOUNT = 2, NDELTA = 2 };
static const char *const schemes[NSCHEME] = {"nsctc-rot", "poly-real"};
static const int counts[NCOUNT] = {1, 2}, deltas[NDELTA] = {20, 22};
static double lat[NSCHEME][NCOUNT][NDELTA][TRIALS];

static void build_sweep(void) {
  res_db *db = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(tp.path, 0, &db, &e), COD_OK, "%s", e.msg);
  rng_state = 20261201;
  int64_t point = 0;
  for (int s = 0; s < NSCHEME; s++)
    for (int c = 0; c < NCOUNT; c++)
      for (int d = 0; d < NDELTA; d++, point++)
        for (int t = 0; t < TRIALS; t++) {
          char json[512];
          snprintf(json, sizeof json,
                   "{\"run\":{\"name\":\"stragglers\",\"trials\":%d},\"model\":{\"name\":"
                   "\"alexnet\"},\"coding\":{\"scheme\":\"%s\",\"delta\":%d},\"cluster\":"
                   "{\"workers\":24},\"classes\":[{\"name\":\"slow\",\"count\":%d}]}",
                   TRIALS, schemes[s], deltas[d], counts[c]);
          /* means 1 + count + delta/10 (+ 0.5 for poly-real): every point apart */
          lat[s][c][d][t] = 1 + counts[c] + deltas[d] / 10.0 + 0.5 * s + 0.1 * normal();
          res_run_row r;
          res_run_row_init(&r);
          r.scenario_hash = "00000000000000aa";
          r.point_index = point;
          r.trial = t;
          r.seed = 1;
          r.backend = "sim";
          r.params_json = json;
          r.scheme = schemes[s];
          r.model = "alexnet";
          r.workers = 24;
          r.ka = 4;
          r.kb = 5;
          r.delta = deltas[d];
          r.precision = "fp64";
          r.status = RES_STATUS_OK;
          r.latency_s = lat[s][c][d][t];
          int64_t id;
          cr_assert_eq(res_db_begin_run(db, &r, &id, &e), COD_OK, "%s", e.msg);
          res_layer_row l;
          res_layer_row_init(&l);
          l.layer_index = 0;
          l.layer_name = "conv2";
          l.ka = 4, l.kb = 5, l.delta = deltas[d];
          l.status = RES_STATUS_OK;
          l.t_total_s = lat[s][c][d][t];
          l.cond = 10;
          cr_assert_eq(res_db_insert_layer(db, id, &l, &e), COD_OK, "%s", e.msg);
          cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "%s", e.msg);
        }
  res_db_close(db);
}

static char *capture_report(const res_report_opts *o) {
  res_db *db = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(tp.path, RES_DB_READONLY, &db, &e), COD_OK, "%s", e.msg);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  cr_assert_eq(res_report_write(db, o, f, &e), COD_OK, "%s", e.msg);
  fclose(f);
  res_db_close(db);
  return buf;
}

static size_t count_lines(const char *s) {
  size_t n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
}

static double mean_of(const double *x, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += x[i];
  return s / (double)n;
}

Test(res_analysis, two_key_sweep_gives_one_report_row_per_combination) {
  build_sweep();
  char *out = capture_report(NULL);
  /* header + rule + one row per (scheme, count, delta) */
  cr_assert_eq(count_lines(out), 2 + NSCHEME * NCOUNT * NDELTA, "%s", out);
  cr_assert(strstr(out, "point"), "no point column:\n%s", out);
  for (int s = 0; s < NSCHEME; s++)
    for (int c = 0; c < NCOUNT; c++)
      for (int d = 0; d < NDELTA; d++) {
        char label[80], line[400], mean[32];
        snprintf(label, sizeof label, "delta=%d, slow.count=%d", deltas[d], counts[c]);
        snprintf(mean, sizeof mean, "%.6g", mean_of(lat[s][c][d], TRIALS));
        const char *p = out;
        int found = 0;
        while ((p = strstr(p, schemes[s]))) { /* the row of this scheme and label */
          const char *eol = strchr(p, '\n');
          snprintf(line, sizeof line, "%.*s", (int)(eol - p), p);
          if (strstr(line, label)) {
            found = 1;
            cr_assert(strstr(line, mean), "row '%s' lacks the mean %s", line, mean);
          }
          p = eol;
        }
        cr_assert(found, "no row for %s %s:\n%s", schemes[s], label, out);
      }
  free(out);
}

Test(res_analysis, by_names_the_grouping_and_pools_the_rest) {
  build_sweep();
  const char *by[] = {"scheme", "slow.count", NULL};
  res_report_opts o = {0};
  o.by = by;
  char *out = capture_report(&o);
  cr_assert_eq(count_lines(out), 2 + NSCHEME * NCOUNT, "%s", out);
  cr_assert(!strstr(out, "point"), "--by prints no point column:\n%s", out);
  double pooled[NDELTA * TRIALS];
  for (int d = 0; d < NDELTA; d++) memcpy(pooled + d * TRIALS, lat[1][1][d], sizeof lat[1][1][d]);
  char mean[32];
  snprintf(mean, sizeof mean, "%.6g", mean_of(pooled, NDELTA * TRIALS));
  cr_assert(strstr(out, mean), "pooled mean %s of poly-real slow.count=2 missing:\n%s", mean, out);
  free(out);
  const char *bad[] = {"slwo.count", NULL};
  o.by = bad;
  res_db *db = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(tp.path, RES_DB_READONLY, &db, &e), COD_OK);
  FILE *f = fopen("/dev/null", "w");
  cr_assert_eq(res_report_write(db, &o, f, &e), COD_EINVAL);
  cr_assert(strstr(e.msg, "slwo.count"), "%s", e.msg);
  fclose(f);
  res_db_close(db);
}

/* One value of the JSON document json, read by SQLite's JSON functions (an independent
 * parser): the integer of sql with ?1 bound to json. */
static int64_t json_int(sqlite3 *c, const char *json, const char *sql) {
  sqlite3_stmt *st = NULL;
  cr_assert_eq(sqlite3_prepare_v2(c, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(c));
  sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
  cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sql);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

/* The JSON report is one valid document that holds what the table shows: every row (one
 * per scheme, count and delta, with its point label naming both keys and the mean of
 * that combination's latencies drawn here), the intervals, every column documented as
 * --explain documents it, and the data report (empty here); --per-scheme says so and
 * has no data member. */
Test(res_analysis, json_report_has_every_row_and_the_intervals) {
  build_sweep();
  res_report_opts o = {0};
  o.json = 1;
  char *out = capture_report(&o);
  sqlite3 *c = NULL;
  cr_assert_eq(sqlite3_open(":memory:", &c), SQLITE_OK);
  cr_assert_eq(json_int(c, out, "SELECT json_valid(?1)"), 1, "not JSON:\n%s", out);
  cr_assert_eq(json_int(c, out, "SELECT json_extract(?1, '$.report') = 'summary'"), 1);
  cr_assert_eq(json_int(c, out, "SELECT json_array_length(?1, '$.rows')"),
               NSCHEME * NCOUNT * NDELTA, "%s", out);
  cr_expect_eq(json_int(c, out, "SELECT json_array_length(?1, '$.data')"), 0);
  cr_expect_eq(json_int(c, out, "SELECT COUNT(*) FROM json_each(?1, '$.rows[0]')"),
               json_int(c, out, "SELECT json_array_length(?1, '$.columns')"),
               "a column without its documentation, or the reverse");
  cr_expect_eq(json_int(c, out, "SELECT COUNT(*) FROM json_each(?1, '$.columns') WHERE "
                                "json_extract(value, '$.meaning') = ''"), 0);
  cr_expect_eq(json_int(c, out, "SELECT COUNT(*) FROM json_each(?1, '$.columns') WHERE "
                                "json_extract(value, '$.name') = 'lat_mean_s' AND "
                                "json_extract(value, '$.unit') = 's'"), 1);
  size_t seen = 0;
  for (int s = 0; s < NSCHEME; s++)
    for (int k = 0; k < NCOUNT; k++)
      for (int d = 0; d < NDELTA; d++) {
        char sql[512];
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM json_each(?1, '$.rows') WHERE "
                 "json_extract(value, '$.scheme') = '%s' AND json_extract(value, '$.point') "
                 "LIKE '%%count=%d%%' AND json_extract(value, '$.point') LIKE '%%delta=%d%%' "
                 "AND abs(json_extract(value, '$.lat_mean_s') - %.17g) <= 1e-12 AND "
                 "json_extract(value, '$.lat_mean_lo_s') < json_extract(value, '$.lat_mean_s')",
                 schemes[s], counts[k], deltas[d], mean_of(lat[s][k][d], TRIALS));
        seen += (size_t)json_int(c, out, sql);
      }
  cr_expect_eq(seen, NSCHEME * NCOUNT * NDELTA, "rows found by scheme, point and mean:\n%s", out);
  free(out);
  o.per_scheme = 1;
  out = capture_report(&o);
  cr_assert_eq(json_int(c, out, "SELECT json_valid(?1)"), 1, "not JSON:\n%s", out);
  cr_expect_eq(json_int(c, out, "SELECT json_extract(?1, '$.report') = 'per_scheme'"), 1);
  cr_expect_eq(json_int(c, out, "SELECT json_type(?1, '$.data') IS NULL"), 1);
  cr_expect_eq(json_int(c, out, "SELECT json_array_length(?1, '$.rows')"),
               NSCHEME * NCOUNT * NDELTA, "per scheme, split by count and delta:\n%s", out);
  free(out);
  sqlite3_close(c);
}

static size_t series_with(const fig *f, const char *a, const char *b) {
  size_t n = 0;
  for (size_t i = 0; i < f->ns; i++)
    n += strstr(f->s[i].title, a) && strstr(f->s[i].title, b) && f->s[i].style == FIG_MEASURED;
  return n;
}

Test(res_analysis, two_key_sweep_figure_splits_series_and_has_intervals) {
  build_sweep();
  res_db *db = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(tp.path, RES_DB_READONLY, &db, &e), COD_OK);
  fig f;
  memset(&f, 0, sizeof f);
  cr_assert_eq(res_fig_build_named(db, "latency-vs-stragglers", &f, &e), COD_OK, "%s", e.msg);
  /* x = slow count; one series per (scheme, delta): delta differs inside an x cell */
  cr_assert_eq(f.ns, NSCHEME * NDELTA, "%zu series", f.ns);
  for (int s = 0; s < NSCHEME; s++)
    for (int d = 0; d < NDELTA; d++) {
      char label[32];
      snprintf(label, sizeof label, "delta=%d", deltas[d]);
      cr_assert_eq(series_with(&f, schemes[s], label), 1, "%s %s", schemes[s], label);
    }
  for (size_t i = 0; i < f.ns; i++) {
    cr_assert_eq(f.s[i].n, NCOUNT);
    cr_assert(f.s[i].band, "series %s has no interval", f.s[i].title);
    for (size_t k = 0; k < f.s[i].n; k++)
      cr_assert(f.s[i].lo[k] < f.s[i].y[k] && f.s[i].y[k] < f.s[i].hi[k]);
  }
  cr_assert(strstr(f.note, "delta"), "the note should say what split: %s", f.note);
  res_fig_fini(&f);
  /* the general plot: the same split without --by; --by scheme pools delta */
  res_gplot_spec sp = {0};
  sp.x = "slow.count";
  sp.y = "latency_s";
  res_plot_figure_info info;
  memset(&f, 0, sizeof f);
  cr_assert_eq(res_gplot_build(db, &sp, &f, &info, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(f.ns, NSCHEME * NDELTA);
  for (size_t i = 0; i < f.ns; i++) { /* the mean at each x is the mean of that point */
    int s = strstr(f.s[i].title, "poly-real") != NULL, d = strstr(f.s[i].title, "delta=22") != NULL;
    for (size_t k = 0; k < f.s[i].n; k++) {
      int c = f.s[i].x[k] == 2;
      cr_assert_float_eq(f.s[i].y[k], mean_of(lat[s][c][d], TRIALS), 1e-12, "%s", f.s[i].title);
    }
  }
  res_fig_fini(&f);
  const char *by[] = {"scheme", NULL};
  sp.by = by;
  memset(&f, 0, sizeof f);
  cr_assert_eq(res_gplot_build(db, &sp, &f, &info, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(f.ns, NSCHEME);
  res_fig_fini(&f);
  /* a non-numeric x and an unknown metric are user errors naming them */
  sp.by = NULL;
  sp.x = "scheme";
  memset(&f, 0, sizeof f);
  cr_assert_eq(res_gplot_build(db, &sp, &f, &info, &e), COD_EINVAL);
  cr_assert(strstr(e.msg, "scheme"), "%s", e.msg);
  res_fig_fini(&f);
  sp.x = "slow.count";
  sp.y = "latency";
  memset(&f, 0, sizeof f);
  cr_assert_eq(res_gplot_build(db, &sp, &f, &info, &e), COD_EINVAL);
  cr_assert(strstr(e.msg, "latency"), "%s", e.msg);
  res_fig_fini(&f);
  res_db_close(db);
}

/* ---- intervals ----------------------------------------------------------------------- */

Test(res_analysis, t_quantiles_match_tables) {
  static const struct { size_t df; double t; } ref[] = {
      {1, 12.706}, {5, 2.571}, {30, 2.042}, {40, 2.021}, {60, 2.000}, {120, 1.980},
      {1000, 1.962}};
  for (size_t i = 0; i < sizeof ref / sizeof *ref; i++)
    cr_assert_float_eq(res_stats_t975(ref[i].df), ref[i].t, 1.5e-3, "df %zu: %g", ref[i].df,
                       res_stats_t975(ref[i].df));
}

Test(res_analysis, ci95_of_the_mean_covers_the_true_mean) {
  /* 4000 seeded samples of m = 8 normals: the t-interval covers the true mean in 95% of
   * them; the binomial sd of the share is 0.0034, so [0.935, 0.965] is about 4.4 sd */
  rng_state = 7;
  size_t covered = 0, reps = 4000;
  for (size_t r = 0; r < reps; r++) {
    double x[8];
    for (int i = 0; i < 8; i++) x[i] = 3.0 + 2.0 * normal();
    res_estimate e = res_stats_estimate(x, 8, RES_STAT_MEAN);
    covered += e.lo <= 3.0 && 3.0 <= e.hi;
  }
  double share = (double)covered / (double)reps;
  cr_assert(share > 0.935 && share < 0.965, "coverage %g", share);
}

Test(res_analysis, ci95_of_a_percentile_covers_the_true_percentile) {
  /* the median of Exp(1) is ln 2; order-statistic intervals are conservative (>= 95%) */
  rng_state = 11;
  size_t covered = 0, reps = 2000;
  for (size_t r = 0; r < reps; r++) {
    double x[60];
    for (int i = 0; i < 60; i++) x[i] = -log(unif());
    res_estimate e = res_stats_estimate(x, 60, RES_STAT_P50);
    covered += e.lo <= log(2.0) && log(2.0) <= e.hi;
  }
  double share = (double)covered / (double)reps;
  cr_assert(share > 0.93 && share < 0.995, "coverage %g", share);
}

/* ---- export ------------------------------------------------------------------------- */

/* Parse one RFC 4180 record from *p into fields (text, quoted flag); returns the number
 * of fields, advances *p past the CRLF. An independent reader, not the writer's code. */
static int csv_record(const char **p, char fields[][2048], int *quoted, int max) {
  int n = 0;
  const char *s = *p;
  for (;;) {
    char *o = fields[n];
    quoted[n] = 0;
    if (*s == '"') {
      quoted[n] = 1;
      s++;
      for (;;) {
        if (*s == '"' && s[1] == '"') *o++ = '"', s += 2;
        else if (*s == '"') {
          s++;
          break;
        } else *o++ = *s++;
      }
    } else {
      while (*s && *s != ',' && *s != '\r') *o++ = *s++;
    }
    *o = 0;
    n++;
    if (*s == ',' && n < max) {
      s++;
      continue;
    }
    cr_assert(s[0] == '\r' && s[1] == '\n', "record not ended by CRLF");
    *p = s + 2;
    return n;
  }
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "%s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  rewind(f);
  char *b = malloc((size_t)n + 1);
  cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
  b[n] = 0;
  fclose(f);
  return b;
}

Test(res_analysis, export_round_trips_and_refuses_to_overwrite) {
  build_sweep();
  { /* a text with a quote, a comma and a newline, and an empty string */
    res_db *db = NULL;
    cod_err e = {0};
    cr_assert_eq(res_db_open(tp.path, 0, &db, &e), COD_OK);
    res_run_row r;
    res_run_row_init(&r);
    r.scenario_hash = "00000000000000bb";
    r.scenario_path = "odd \"name\",\nwith newline";
    r.point_index = 0, r.trial = 0, r.seed = 2, r.backend = "sim";
    r.scheme = "", r.model = "m", r.status = RES_STATUS_OK, r.latency_s = 0.1 + 1e-17;
    int64_t id;
    cr_assert_eq(res_db_begin_run(db, &r, &id, &e), COD_OK, "%s", e.msg);
    cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "%s", e.msg);
    res_db_close(db);
  }
  res_db *db = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(tp.path, RES_DB_READONLY, &db, &e), COD_OK);
  size_t files = 0;
  cr_assert_eq(res_export_csv(db, tp.dir, 0, &files, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(files, RES_TABLE_COUNT);
  cr_assert_eq(res_export_csv(db, tp.dir, 0, &files, &e), COD_EINVAL, "overwrote");
  cr_assert(strstr(e.msg, ".csv"), "%s", e.msg);
  cr_assert_eq(res_export_csv(db, tp.dir, RES_EXPORT_OVERWRITE, &files, &e), COD_OK, "%s", e.msg);
  res_db_close(db);
  /* every cell of runs.csv against the database read with plain SQLite */
  char path[400];
  snprintf(path, sizeof path, "%s/runs.csv", tp.dir);
  char *csv = slurp(path);
  static char fields[40][2048];
  int quoted[40];
  const char *p = csv;
  const res_table *t = res_schema_table(RES_TABLE_RUNS);
  cr_assert_eq(csv_record(&p, fields, quoted, 40), (int)t->n_cols);
  for (size_t i = 0; i < t->n_cols; i++) cr_assert_str_eq(fields[i], t->cols[i].name);
  sqlite3 *c = raw_open(tp.path);
  sqlite3_stmt *st;
  cr_assert_eq(sqlite3_prepare_v2(c, "SELECT * FROM runs ORDER BY run_id", -1, &st, NULL), SQLITE_OK);
  size_t rows = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    cr_assert_eq(csv_record(&p, fields, quoted, 40), (int)t->n_cols);
    for (int i = 0; i < (int)t->n_cols; i++) {
      int ty = sqlite3_column_type(st, i);
      if (ty == SQLITE_NULL) cr_assert(!quoted[i] && !fields[i][0], "NULL as '%s'", fields[i]);
      else if (ty == SQLITE_TEXT) {
        cr_assert(quoted[i]);
        cr_assert_str_eq(fields[i], (const char *)sqlite3_column_text(st, i));
      } else if (ty == SQLITE_INTEGER)
        cr_assert_eq(strtoll(fields[i], NULL, 10), sqlite3_column_int64(st, i));
      else {
        double v = strtod(fields[i], NULL), w = sqlite3_column_double(st, i);
        cr_assert(memcmp(&v, &w, sizeof v) == 0, "real %s read back as %.17g", fields[i], v);
      }
    }
    rows++;
  }
  sqlite3_finalize(st);
  sqlite3_close(c);
  cr_assert_eq(rows, NSCHEME * NCOUNT * NDELTA * TRIALS + 1);
  cr_assert_eq(*p, 0, "trailing bytes");
  free(csv);
}

/* ---- explain ------------------------------------------------------------------------ */

Test(res_analysis, explain_lists_every_column) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  cod_err e = {0};
  cr_assert_eq(res_report_explain(f, &e), COD_OK);
  fclose(f);
  for (size_t t = 0; t < RES_TABLE_COUNT; t++) {
    const res_table *tb = res_schema_table(t);
    for (size_t c = 0; c < tb->n_cols; c++) {
      char needle[80];
      snprintf(needle, sizeof needle, "    %s ", tb->cols[c].name);
      cr_assert(strstr(buf, needle), "explain misses %s.%s", tb->name, tb->cols[c].name);
      cr_assert_not_null(res_explain_meaning(tb->cols[c].name, tb->cols[c].comment),
                         "%s.%s has no meaning", tb->name, tb->cols[c].name);
    }
  }
  free(buf);
  /* every column a report prints (with every optional column on) is described */
  build_sweep();
  res_report_opts o = {0};
  o.ci = 1;
  for (int mode = 0; mode < 2; mode++) {
    o.per_scheme = mode;
    char *out = capture_report(&o);
    char *save = NULL, *line = strtok_r(out, "\n", &save);
    for (char *tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
      int known = 0;
      for (size_t i = 0; i < res_explain_report_count(); i++)
        known |= strcmp(res_explain_report_name(i), tok) == 0;
      cr_assert(known, "report column %s is not explained", tok);
    }
    free(out);
  }
}

/* ---- no side files -------------------------------------------------------------------- */

static int exists_sfx(const char *sfx) {
  char p[400];
  struct stat sb;
  snprintf(p, sizeof p, "%s%s", tp.path, sfx);
  return stat(p, &sb) == 0;
}

Test(res_analysis, no_wal_or_shm_after_clean_closes) {
  build_sweep();
  cr_assert(!exists_sfx("-wal") && !exists_sfx("-shm"), "after writing");
  res_db *a = NULL, *b = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(tp.path, 0, &a, &e), COD_OK); /* two writers, closed in turn */
  cr_assert_eq(res_db_open(tp.path, 0, &b, &e), COD_OK);
  res_db_close(a);
  res_db_close(b);
  cr_assert(!exists_sfx("-wal") && !exists_sfx("-shm"), "after two writers");
  cr_assert_eq(res_db_open(tp.path, RES_DB_READONLY, &a, &e), COD_OK);
  FILE *f = fopen("/dev/null", "w");
  cr_assert_eq(res_report_write(a, NULL, f, &e), COD_OK);
  cr_assert_eq(res_export_csv(a, tp.dir, RES_EXPORT_OVERWRITE, NULL, &e), COD_OK, "%s", e.msg);
  fclose(f);
  res_db_close(a);
  cr_assert(!exists_sfx("-wal") && !exists_sfx("-shm"), "after a report and an export");
}

/* ---- per-layer splits ------------------------------------------------------------------ */

Test(res_analysis, per_layer_splits_are_shown_as_what_they_are) {
  res_db *db = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(tp.path, 0, &db, &e), COD_OK);
  static const int split[3][2] = {{8, 2}, {2, 8}, {1, 16}};
  for (int t = 0; t < 2; t++) {
    res_run_row r;
    res_run_row_init(&r);
    r.scenario_hash = "00000000000000cc";
    r.point_index = 0, r.trial = t, r.seed = 3, r.backend = "sim";
    r.params_json = "{\"coding\":{\"scheme\":\"nsctc-rot\",\"ka\":\"auto\",\"kb\":\"auto\","
                    "\"delta\":16}}";
    r.scheme = "nsctc-rot", r.model = "alexnet", r.workers = 20;
    r.ka = 8, r.kb = 2, r.delta = 16; /* the runs row holds conv1's split */
    r.precision = "fp64", r.status = RES_STATUS_OK, r.latency_s = 1 + t;
    int64_t id;
    cr_assert_eq(res_db_begin_run(db, &r, &id, &e), COD_OK, "%s", e.msg);
    for (int li = 0; li < 3; li++) {
      res_layer_row l;
      res_layer_row_init(&l);
      l.layer_index = li;
      l.ka = split[li][0], l.kb = split[li][1], l.delta = 16;
      l.status = RES_STATUS_OK;
      cr_assert_eq(res_db_insert_layer(db, id, &l, &e), COD_OK, "%s", e.msg);
    }
    cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "%s", e.msg);
  }
  res_db_close(db);
  char *out = capture_report(NULL);
  cr_assert(strstr(out, "auto(d=16)"), "%s", out);
  cr_assert(strstr(out, "layer_splits"), "%s", out);
  cr_assert(strstr(out, "8x2,2x8,1x16"), "%s", out);
  cr_assert_eq(count_lines(out), 3, "%s", out);
  free(out);
}

/* The summary's JSON carries the data report too: two trials of one point over a data
 * set give one data row, with the images summed and the top-1 averaged as written here. */
Test(res_analysis, json_report_has_the_data_rows) {
  res_db *db = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(tp.path, 0, &db, &e), COD_OK, "%s", e.msg);
  rng_state = 7;
  double top1[2], want_images = 0;
  for (int k = 0; k < 2; k++) {
    res_run_row r;
    res_run_row_init(&r);
    r.scenario_hash = "00000000000000bb", r.point_index = 0, r.trial = k, r.seed = 1;
    r.backend = "sim", r.scheme = "nsctc-rot", r.model = "lenet5", r.precision = "fp64";
    r.workers = 6, r.ka = 2, r.kb = 2, r.status = RES_STATUS_OK, r.latency_s = 1.0;
    r.params_json = "{\"model\":{\"name\":\"lenet5\"}}";
    int64_t id;
    cr_assert_eq(res_db_begin_run(db, &r, &id, &e), COD_OK, "%s", e.msg);
    top1[k] = 0.8 + 0.1 * fabs(normal()) / 4;
    res_data_row d = {"fashion-mnist:test", 100 + 50 * k, top1[k], 0.9, 0.99, 0, 1e-12};
    want_images += (double)d.images;
    cr_assert_eq(res_db_insert_data_run(db, id, &d, &e), COD_OK, "%s", e.msg);
    cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "%s", e.msg);
  }
  res_db_close(db);
  res_report_opts o = {0};
  o.json = 1;
  char *out = capture_report(&o);
  sqlite3 *c = NULL;
  cr_assert_eq(sqlite3_open(":memory:", &c), SQLITE_OK);
  cr_assert_eq(json_int(c, out, "SELECT json_valid(?1)"), 1, "not JSON:\n%s", out);
  cr_assert_eq(json_int(c, out, "SELECT json_array_length(?1, '$.data')"), 1, "%s", out);
  char sql[256];
  snprintf(sql, sizeof sql, "SELECT json_extract(?1, '$.data[0].images') = %.0f AND "
           "abs(json_extract(?1, '$.data[0].top1_coded') - %.17g) <= 1e-15 AND "
           "json_extract(?1, '$.data[0].source') = 'fashion-mnist:test'", want_images,
           (top1[0] + top1[1]) / 2);
  cr_expect_eq(json_int(c, out, sql), 1, "%s", out);
  sqlite3_close(c);
  free(out);
}
