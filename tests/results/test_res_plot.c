/* test_res_plot.c: figures and the reproduction report (results/res_plot.h), and the
 * exit codes of `fcdcc plot` (the binary's path comes from FCDCC_BIN, set by meson).
 *
 * A small database is built with res_db_* inserts: for every figure a few runs named with
 * the figure's prefix, with known layer errors, bytes and analytic values (some NULL), and
 * a pair of sim/mpi runs. Each figure must produce a PNG (checked by its signature) and an
 * SVG (containing "<svg"); a missing gnuplot, a figure without data, an unknown figure, a
 * failing gnuplot and an out-of-memory walk must each give their documented status, and
 * no temporary file may be left behind. gnuplot-dependent tests skip when gnuplot is not
 * installed on this machine. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cod_alloc.h"
#include "res_db.h"
#include "res_figures.h"
#include "res_plot.h"

typedef struct place {
  char dir[256], db[300], out[300], tmp[300], empty[300];
} place;

static place P;

static void rm_tree(const char *path) {
  DIR *d = opendir(path);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      char sub[600];
      snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
      rm_tree(sub);
    }
    closedir(d);
    rmdir(path);
  } else {
    unlink(path);
  }
}

static size_t dir_entries(const char *path) {
  DIR *d = opendir(path);
  cr_assert_not_null(d, "opendir %s", path);
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

static void setup(void) {
  snprintf(P.dir, sizeof P.dir, "/tmp/fcdcc-test-plot-XXXXXX");
  cr_assert_not_null(mkdtemp(P.dir));
  snprintf(P.db, sizeof P.db, "%s/r.db", P.dir);
  snprintf(P.out, sizeof P.out, "%s/figs", P.dir);
  snprintf(P.tmp, sizeof P.tmp, "%s/tmp", P.dir);
  snprintf(P.empty, sizeof P.empty, "%s/emptybin", P.dir);
  cr_assert_eq(mkdir(P.out, 0700), 0);
  cr_assert_eq(mkdir(P.tmp, 0700), 0);
  cr_assert_eq(mkdir(P.empty, 0700), 0);
}

static void teardown(void) {
  cod_alloc_fail_at(-1);
  rm_tree(P.dir);
}

TestSuite(res_plot, .init = setup, .fini = teardown);

/* ---- building the database ------------------------------------------------------------- */

typedef struct run_spec {
  const char *name, *scheme, *model, *precision, *backend;
  int workers, ka, kb, slow; /* slow: workers of [class slow] (0 = no class) */
  double snr_db;             /* NaN = none */
  double mse, rel, latency, an_latency; /* an_latency NaN = NULL */
  double an_bytes;           /* an_upload = an_storage = this; NaN = NULL */
  const char *stragglers;    /* [cluster] stragglers, or NULL (random) */
} run_spec;

static int64_t next_point;
static const res_data_row *next_data; /* add_run: a data_runs row for the run, or NULL */
static double next_energy = NAN;      /* add_run: the run's energy_j (NaN = NULL) */
static const char *next_cluster; /* add_run: more [cluster] JSON members (",\"k\":\"v\"") */
static const res_load_row *next_load; /* add_run: a load_runs row for the run, or NULL */
static const char *next_latency;      /* add_run: the [latency] object of params_json */

static void add_run(res_db *db, const run_spec *s) {
  char json[1280], snr[32], classes[128], lat[256] = "";
  if (isnan(s->snr_db)) snprintf(snr, sizeof snr, "\"none\"");
  else snprintf(snr, sizeof snr, "%g", s->snr_db);
  if (s->slow) snprintf(classes, sizeof classes, "[{\"name\":\"slow\",\"count\":%d}]", s->slow);
  else snprintf(classes, sizeof classes, "[]");
  if (next_latency) snprintf(lat, sizeof lat, ",\"latency\":%s", next_latency);
  snprintf(json, sizeof json,
           "{\"run\":{\"name\":\"%s\",\"snr_db\":%s},\"cluster\":{\"stragglers\":\"%s\"%s},"
           "\"classes\":%s%s}", s->name, snr, s->stragglers ? s->stragglers : "random",
           next_cluster ? next_cluster : "", classes, lat);
  res_run_row r;
  res_run_row_init(&r);
  r.scenario_hash = "feedfacefeedface";
  r.point_index = next_point++;
  r.trial = 0;
  r.seed = 1;
  r.backend = s->backend ? s->backend : "sim";
  r.params_json = json;
  r.scheme = s->scheme;
  r.model = s->model ? s->model : "alexnet";
  r.workers = s->workers;
  r.ka = s->ka;
  r.kb = s->kb;
  r.delta = s->ka * s->kb;
  r.precision = s->precision ? s->precision : "fp64";
  r.status = RES_STATUS_OK;
  r.latency_s = s->latency;
  r.energy_j = next_energy;
  int64_t id;
  cod_err e = {0};
  cr_assert_eq(res_db_begin_run(db, &r, &id, &e), COD_OK, "%s", e.msg);
  for (int li = 0; li < 2; li++) {
    res_layer_row l;
    res_layer_row_init(&l);
    l.layer_index = li;
    l.layer_name = li ? "conv2" : "conv1";
    l.ka = s->ka;
    l.kb = s->kb;
    l.delta = s->ka * s->kb;
    l.status = RES_STATUS_OK;
    l.t_encode_s = 0.01 * (li + 1);
    l.t_upload_s = 0.02;
    l.t_compute_s = 0.3;
    l.t_download_s = 0.01;
    l.t_decode_s = 0.005;
    l.t_total_s = s->latency / 2;
    l.mse = s->mse * (li + 1); /* layer 1 holds the maximum: 2 * mse */
    l.rel_error = s->rel * (li + 1);
    l.cond = 10.0 * s->workers;
    l.cond_flagged = 0;
    l.workers_used = "0,1,2"; /* the three worker rows below, all used */
    l.an_latency_s = isnan(s->an_latency) ? NAN : s->an_latency / 2;
    l.an_upload_bytes = s->an_bytes;
    l.an_storage_bytes = s->an_bytes;
    cr_assert_eq(res_db_insert_layer(db, id, &l, &e), COD_OK, "%s", e.msg);
    for (int w = 0; w < 3; w++) {
      res_worker_row wr;
      res_worker_row_init(&wr);
      wr.layer_index = li;
      wr.worker = w;
      wr.bytes_up = (int64_t)(1e6 * (1 + abs(s->ka - 4)));
      wr.bytes_down = 1000;
      wr.bytes_stored = wr.bytes_up;
      wr.status = RES_WORKER_USED;
      cr_assert_eq(res_db_insert_worker(db, id, &wr, &e), COD_OK, "%s", e.msg);
    }
  }
  if (next_data) cr_assert_eq(res_db_insert_data_run(db, id, next_data, &e), COD_OK, "%s", e.msg);
  if (next_load) cr_assert_eq(res_db_insert_load_run(db, id, next_load, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_db_commit_run(db, id, &e), COD_OK, "%s", e.msg);
}

/* A run with a data_runs row of the given agreement (200 images). */
static void add_run_with_data(res_db *db, const run_spec *s, double agreement) {
  res_data_row d = {"fashion-mnist:test", 200, 0.88, 0.88, agreement, 0, 1e-6};
  next_data = &d;
  add_run(db, s);
  next_data = NULL;
}

/* Every figure gets data; analytic values are NULL on some runs. */
static void build_db(int with_mpi) {
  res_db *db = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(P.db, 0, &db, &e), COD_OK, "%s", e.msg);
  const char *schemes[2] = {"nsctc-rot", "poly-real"};
  for (int s = 0; s < 2; s++) {
    double mse = s ? 1e-17 : 1e-27;
    for (int n = 16; n <= 24; n += 4) {
      run_spec r = {"mse-vs-n", schemes[s], "alexnet", "fp64", NULL, n, 4, 4, 0, NAN,
                    mse * n / 20.0, 1e-14, 1.0, NAN, NAN, NULL};
      add_run(db, &r);
      run_spec e2e = {"e2e", schemes[s], "lenet5", NULL, NULL, n, 4, 4, 0, NAN,
                      NAN, NAN, 10.0 / n, n == 20 ? NAN : 9.0 / n, 1e6, NULL};
      add_run(db, &e2e);
    }
    for (int slow = 0; slow <= 3; slow++) {
      run_spec r = {"stragglers", schemes[s], NULL, NULL, NULL, 20, 4, 4, slow, NAN,
                    NAN, NAN, 0.3 + 0.1 * slow, slow ? NAN : 0.29, 1e6, NULL};
      add_run(db, &r);
    }
    for (int snr = 80; snr <= 120; snr += 20) {
      run_spec r = {"snr", schemes[s], NULL, NULL, NULL, 20, 4, 4, 0, (double)snr,
                    1e-10, pow(10.0, -snr / 20.0), 0.5, NAN, NAN, NULL};
      add_run(db, &r);
    }
    for (int p = 0; p < 2; p++)
      for (int w = 0; w < 2; w++) { /* random draws and the worst set */
        run_spec r = {w ? "precision-n20-worst" : "precision-n20", schemes[s], NULL,
                      p ? "fp32" : "fp64", NULL, 20, 4, 4, 0, NAN, 1e-12,
                      (p ? 1e-5 : 1e-14) * (w ? 10 : 1), 0.5, NAN, NAN, w ? "worst" : NULL};
        add_run(db, &r);
      }
  }
  for (int ka = 1; ka <= 16; ka *= 2) {
    run_spec r = {"upload-storage", "nsctc-rot", NULL, NULL, NULL, 20, ka, 16 / ka, 0, NAN,
                  NAN, NAN, 0.4, 0.4, 1e6 * (1 + fabs(ka - 4.0)), NULL};
    add_run(db, &r);
  }
  for (int b = 0; b < 2; b++) { /* berrut-error: berrut beside nsctc-rot */
    run_spec r = {b ? "berrut-error-rot" : "berrut-error", b ? "nsctc-rot" : "berrut", NULL,
                  NULL, NULL, 20, b ? 2 : 4, b ? 2 : 1, 0, NAN, 1e-3, b ? 1e-14 : 1e-2, 0.6,
                  NAN, NAN, NULL};
    add_run(db, &r);
  }
  for (int n = 16; n <= 24; n += 8) { /* fashion-n: one data_runs row per run */
    run_spec r = {"fashion-n", "poly-real", "models/trained/lenet5-fashion.onnx", "fp32", NULL,
                  n, 4, 4, 0, NAN, 1e-10, 1e-6, 0.5, NAN, NAN, NULL};
    add_run_with_data(db, &r, n == 16 ? 1.0 : 0.9);
  }
  for (int s = 0; s < 2; s++) /* load-*: three offered loads, the last one saturated */
    for (int k = 1; k <= 3; k++) {
      res_load_row L;
      res_load_row_init(&L);
      L.arrivals = "poisson", L.cancel = "on-decode", L.service = "fcfs", L.compute = "model";
      L.offered_per_s = 0.5 * k, L.requests = 1000, L.warmup = 100;
      L.completed = L.measured = 900, L.undecodable = L.dropped = 0;
      L.lat_mean_s = 1.0 * k + s, L.lat_p99_s = 3.0 * k + s, L.saturated = k == 3;
      run_spec r = {s ? "load-poly-cheb" : "load-uncoded", s ? "poly-cheb" : "uncoded", NULL,
                    NULL, NULL, 20, 4, 4, 0, NAN, NAN, NAN, L.lat_mean_s, NAN, NAN, NULL};
      next_load = &L;
      add_run(db, &r);
      next_load = NULL;
    }
  for (int c = 0; c < 2; c++) { /* serve-energy: one load, both cancel policies */
    res_load_row L;
    res_load_row_init(&L);
    L.arrivals = "poisson", L.cancel = c ? "never" : "on-decode", L.service = "fcfs";
    L.compute = "model", L.offered_per_s = 0.75, L.requests = 100, L.warmup = 10;
    L.completed = 80, L.measured = 72, L.undecodable = L.dropped = 0, L.saturated = 0;
    L.lat_mean_s = 1.5, L.lat_p99_s = 4.0;
    L.energy_req_mean_j = 30.0 + 5 * c, L.energy_req_mean_ci_j = 0.25;
    L.energy_j = 4000.0 + 800 * c, L.energy_idle_j = 1000.0, L.energy_unattributed_j = 480.0 * c;
    run_spec r = {"serve-energy", "nsctc-rot", NULL, NULL, NULL, 20, 4, 3, 0, NAN, NAN, NAN,
                  L.lat_mean_s, NAN, NAN, NULL};
    next_load = &L;
    add_run(db, &r);
    next_load = NULL;
  }
  /* bursty: two chains of slow share 0.1, 20 runs each with latencies 1..20 s (bursts)
   * and 0.5..10 s (independent limit): nearest-rank p95 19 and 9.5 s, means 10.5, 5.25 */
  for (int b = 0; b < 2; b++)
    for (int i = 1; i <= 20; i++) {
      run_spec r = {"bursty", "nsctc-rot", NULL, NULL, NULL, 20, 4, 4, 0, NAN, NAN, NAN,
                    b ? (double)i : 0.5 * i, NAN, NAN, NULL};
      next_latency = b ? "{\"model\":\"markov\",\"markov_slow_sojourn_s\":10,"
                         "\"markov_fast_sojourn_s\":90}"
                       : "{\"model\":\"markov\",\"markov_slow_sojourn_s\":0.001,"
                         "\"markov_fast_sojourn_s\":0.009}";
      add_run(db, &r);
      next_latency = NULL;
    }
  const char *models[2] = {"lenet5", "alexnet"};
  for (int m = 0; m < 2; m++) {
    run_spec r = {"phases", "nsctc-rot", models[m], NULL, NULL, 20, 4, 4, 0, NAN,
                  NAN, NAN, 0.7, NAN, NAN, NULL};
    add_run(db, &r);
  }
  /* energy-vs-latency: (latency, energy) per configuration; (0.9, 13) is beaten by (0.8,
   * 12), the four others form the Pareto front */
  static const struct { const char *scheme; double lat, energy; } ep[] = {
      {"nsctc-rot", 1.0, 10.0}, {"nsctc-rot", 0.8, 12.0}, {"nsctc-rot", 0.9, 13.0},
      {"uncoded", 1.5, 8.0}, {"uncoded", 0.7, 20.0}};
  for (size_t i = 0; i < sizeof ep / sizeof ep[0]; i++) {
    run_spec r = {"energy-latency", ep[i].scheme, NULL, NULL, NULL, 20, 2, 2, 0, NAN,
                  NAN, NAN, ep[i].lat, NAN, NAN, NULL};
    next_energy = ep[i].energy;
    add_run(db, &r);
    next_energy = NAN;
  }
  for (int a = 0; a < 2; a++) /* hetero-alloc: one series per (allocation, returns) */
    for (int ret = 0; ret < 2; ret++)
      for (int t = 0; t < 3; t++) {
        char extra[128];
        snprintf(extra, sizeof extra, ",\"allocation\":\"%s\",\"returns\":\"%s\"",
                 a ? "proportional" : "equal", ret ? "per-task" : "per-worker");
        run_spec r = {a ? "hetero-proportional" : "hetero-equal", "nsctc-rot", NULL, NULL,
                      NULL, 20, 4, 4, 0, NAN, NAN, NAN, 0.3 - 0.05 * a - 0.02 * ret + 0.01 * t,
                      a || ret ? 0.28 - 0.05 * a : NAN, NAN, NULL};
        next_cluster = extra;
        add_run(db, &r);
        next_cluster = NULL;
      }
  for (int a = 0; a < 2; a++) /* e2e-delta-auto: two splits against n */
    for (int n = 16; n <= 24; n += 8) {
      run_spec r = {a ? "delta-auto" : "delta-auto-fixed", "nsctc-rot", "vgg16", NULL, NULL, n,
                    a ? 2 : 4, a ? 8 : 4, 0, NAN, NAN, NAN, 30.0 - n / 2.0 - 5.0 * a,
                    29.0 - n / 2.0 - 5.0 * a, NAN, NULL};
      add_run(db, &r);
    }
  for (int lim = 1; lim <= 3; lim++) { /* storage-vs-limit: per-layer need 2 MB (bytes_stored) */
    char extra[128];
    snprintf(extra, sizeof extra, ",\"storage\":\"per-layer\",\"on_storage\":\"fail\","
             "\"storage_bytes\":%g", 1.5e6 * lim);
    run_spec r = {"storage-limit", "nsctc-rot", NULL, NULL, NULL, 20, 4, 4, 0, NAN, NAN, NAN,
                  0.5, NAN, 2e6, NULL};
    next_cluster = extra;
    add_run(db, &r);
    next_cluster = NULL;
  }
  if (with_mpi) {
    run_spec r = {"mpi-check", "nsctc-rot", "lenet5", NULL, "mpi", 20, 4, 4, 0, NAN,
                  NAN, NAN, 0.8, NAN, NAN, NULL};
    add_run(db, &r); /* pairs with the lenet5 e2e sim runs at n = 20 */
    run_spec h = {"mpi-calib-holdout", "nsctc-rot", "lenet5", NULL, "mpi", 16, 4, 4, 0, NAN,
                  NAN, NAN, 0.9, NAN, NAN, NULL};
    add_run(db, &h); /* held out of a calibration: marked in sim-vs-real */
  }
  res_db_close(db);
}

static res_db *open_ro(void) {
  res_db *db = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(P.db, RES_DB_READONLY, &db, &e), COD_OK, "%s", e.msg);
  return db;
}

static int have_gnuplot(void) {
  res_plot_opts o = {NULL, getenv("PATH"), NULL};
  char buf[512];
  return res_plot_gnuplot_find(&o, buf, sizeof buf, NULL) == COD_OK;
}

static void check_png(const char *path) {
  static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "no %s", path);
  unsigned char head[8] = {0};
  size_t n = fread(head, 1, 8, f);
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fclose(f);
  cr_assert_eq(n, 8);
  cr_assert_eq(memcmp(head, sig, 8), 0, "%s: not a PNG", path);
  cr_assert_gt(size, 2000, "%s: only %ld bytes", path, size);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "no %s", path);
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)size + 1);
  cr_assert_not_null(buf);
  cr_assert_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
  buf[size] = 0;
  fclose(f);
  return buf;
}

static void check_svg(const char *path, const char *needle) {
  char *s = slurp(path);
  cr_assert_not_null(strstr(s, "<svg"), "%s: no <svg", path);
  if (needle) cr_assert_not_null(strstr(s, needle), "%s: no '%s'", path, needle);
  free(s);
}

/* ---- tests ------------------------------------------------------------------------------ */

Test(res_plot, catalogue_is_complete_and_findable) {
  cr_assert_eq(res_plot_figure_count(), 20);
  for (size_t i = 0; i < res_plot_figure_count(); i++) {
    const res_plot_figure_info *fi = res_plot_figure_at(i);
    cr_assert_not_null(fi);
    cr_assert_eq(res_plot_figure_find(fi->name), fi);
    cr_assert_gt(strlen(fi->needs), 10);
  }
  cr_assert_null(res_plot_figure_at(res_plot_figure_count()));
  cr_assert_null(res_plot_figure_find("nope"));
  cr_assert_null(res_plot_figure_find(NULL));
}

Test(res_plot, every_figure_writes_png_and_svg, .timeout = 60) {
  if (!have_gnuplot()) cr_skip_test("gnuplot not installed");
  build_db(1);
  res_db *db = open_ro();
  res_plot_opts o = {NULL, getenv("PATH"), P.tmp};
  for (size_t i = 0; i < res_plot_figure_count(); i++) {
    const char *name = res_plot_figure_at(i)->name;
    cod_err e = {0};
    cr_assert_eq(res_plot_figure(db, name, P.out, &o, &e), COD_OK, "%s: %s", name, e.msg);
    char png[400], svg[400];
    snprintf(png, sizeof png, "%s/%s.png", P.out, name);
    snprintf(svg, sizeof svg, "%s/%s.svg", P.out, name);
    check_png(png);
    check_svg(svg, NULL);
  }
  res_db_close(db);
  cr_assert_eq(dir_entries(P.tmp), 0, "temporary files left behind");
  cr_assert_eq(dir_entries(P.out), 2 * res_plot_figure_count());
  char svg[400];
  snprintf(svg, sizeof svg, "%s/sim-vs-real.svg", P.out);
  check_svg(svg, "n=16 (sim feedfa, mpi feedfa) held out");
}

Test(res_plot, legends_come_from_the_data, .timeout = 30) {
  if (!have_gnuplot()) cr_skip_test("gnuplot not installed");
  build_db(0);
  res_db *db = open_ro();
  res_plot_opts o = {NULL, getenv("PATH"), P.tmp};
  cod_err e = {0};
  cr_assert_eq(res_plot_figure(db, "mse-vs-n", P.out, &o, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_plot_figure(db, "upload-storage-vs-ka", P.out, &o, &e), COD_OK, "%s",
               e.msg);
  cr_assert_eq(res_plot_figure(db, "energy-vs-latency", P.out, &o, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_plot_figure(db, "latency-vs-burst", P.out, &o, &e), COD_OK, "%s", e.msg);
  res_db_close(db);
  char svg[400];
  snprintf(svg, sizeof svg, "%s/energy-vs-latency.svg", P.out);
  check_svg(svg, "Pareto front");
  snprintf(svg, sizeof svg, "%s/mse-vs-n.svg", P.out);
  check_svg(svg, "alexnet poly-real");
  snprintf(svg, sizeof svg, "%s/latency-vs-burst.svg", P.out);
  check_svg(svg, "alexnet nsctc-rot n=20 (slow share 0.1) p95");
  /* the analytic optimum of 1e6 (1 + |ka - 4|) is at ka = 4 */
  snprintf(svg, sizeof svg, "%s/upload-storage-vs-ka.svg", P.out);
  check_svg(svg, "optimum: k_A = 4");
}

/* The PNG's height from its IHDR chunk (bytes 16..23: width, height, big-endian). */
static unsigned png_height(const char *path) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "no %s", path);
  unsigned char h[24] = {0};
  cr_assert_eq(fread(h, 1, 24, f), 24);
  fclose(f);
  return (unsigned)h[20] << 24 | (unsigned)h[21] << 16 | (unsigned)h[22] << 8 | h[23];
}

/* More than 12 series: the legend goes below the plot and the canvas grows by its rows, and
 * no entry is dropped (gnuplot leaves out entries past maxrows x maxcols); at most 12 the
 * canvas is the usual 720 pixels. */
Test(res_plot, legend_below_grows_the_canvas_and_keeps_every_entry, .timeout = 30) {
  if (!have_gnuplot()) cr_skip_test("gnuplot not installed");
  res_db *db = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(P.db, 0, &db, &e), COD_OK, "%s", e.msg);
  const int policies = 20; /* x 2 (simulated, analytic) + the limit: 41 series */
  for (int k = 0; k < policies; k++)
    for (int lim = 1; lim <= 2; lim++) {
      char extra[160];
      snprintf(extra, sizeof extra, ",\"storage\":\"per-layer\",\"on_storage\":"
               "\"policy-with-a-long-name-%02d\",\"storage_bytes\":%g", k, 3e6 * lim);
      run_spec r = {"storage-limit", "nsctc-rot", NULL, NULL, NULL, 20, 4, 4, 0, NAN, NAN,
                    NAN, 0.5, NAN, 2e6, NULL};
      next_cluster = extra;
      add_run(db, &r);
      next_cluster = NULL;
    }
  run_spec few = {"delta-auto", "nsctc-rot", "vgg16", NULL, NULL, 16, 4, 4, 0, NAN, NAN, NAN,
                  20.0, 19.0, NAN, NULL};
  add_run(db, &few);
  res_db_close(db);
  db = open_ro();
  res_plot_opts o = {NULL, getenv("PATH"), P.tmp};
  cr_assert_eq(res_plot_figure(db, "storage-vs-limit", P.out, &o, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(res_plot_figure(db, "e2e-delta-auto", P.out, &o, &e), COD_OK, "%s", e.msg);
  res_db_close(db);
  char path[400];
  snprintf(path, sizeof path, "%s/e2e-delta-auto.png", P.out);
  cr_expect_eq(png_height(path), 720, "two series: the usual canvas");
  snprintf(path, sizeof path, "%s/storage-vs-limit.png", P.out);
  unsigned h = png_height(path);
  /* 41 entries, at most 3 a row: at least 14 rows of the legend below a full plot */
  cr_expect_geq(h, 720 + 14 * 14, "41 series on a %u-pixel canvas", h);
  snprintf(path, sizeof path, "%s/storage-vs-limit.svg", P.out);
  for (int k = 0; k < policies; k++)
    for (int an = 0; an < 2; an++) {
      char title[160];
      snprintf(title, sizeof title, "per-layer, on_storage = policy-with-a-long-name-%02d (%s)",
               k, an ? "analytic storage cost" : "simulated");
      check_svg(path, title);
    }
  check_svg(path, "worker storage limit (y = x)");
}

Test(res_plot, missing_gnuplot_is_the_skip_status) {
  build_db(0);
  res_db *db = open_ro();
  res_plot_opts o = {NULL, P.empty, P.tmp};
  cod_err e = {0};
  cr_assert_eq(res_plot_figure(db, "mse-vs-n", P.out, &o, &e), RES_PLOT_ENOGNUPLOT);
  cr_assert_not_null(strstr(e.msg, "gnuplot not found"), "%s", e.msg);
  o.search_path = NULL;
  cr_assert_eq(res_plot_figure(db, "phases", P.out, &o, &e), RES_PLOT_ENOGNUPLOT);
  o.gnuplot = "/nonexistent/gnuplot";
  cr_assert_eq(res_plot_figure(db, "phases", P.out, &o, &e), RES_PLOT_ENOGNUPLOT);
  res_db_close(db);
  cr_assert_eq(dir_entries(P.out), 0);
  cr_assert_eq(dir_entries(P.tmp), 0);
}

Test(res_plot, gnuplot_lookup_follows_the_search_path) {
  char fake[400], buf[512];
  snprintf(fake, sizeof fake, "%s/gnuplot", P.empty);
  FILE *f = fopen(fake, "w");
  cr_assert_not_null(f);
  fclose(f);
  char sp[700];
  snprintf(sp, sizeof sp, "/nonexistent:%s", P.empty);
  res_plot_opts o = {NULL, sp, NULL};
  cr_assert_eq(res_plot_gnuplot_find(&o, buf, sizeof buf, NULL), RES_PLOT_ENOGNUPLOT,
               "a file without the execute bit is not a program");
  cr_assert_eq(chmod(fake, 0700), 0);
  strcpy(buf, "untouched");
  cr_assert_eq(res_plot_gnuplot_find(&o, buf, 8, NULL), COD_EINVAL);
  cr_assert_str_eq(buf, "untouched");
  cr_assert_eq(res_plot_gnuplot_find(&o, buf, sizeof buf, NULL), COD_OK);
  cr_assert_str_eq(buf, fake);
}

Test(res_plot, every_figure_without_data_says_what_it_needs) {
  res_db *db = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(P.db, 0, &db, &e), COD_OK, "%s", e.msg);
  res_plot_opts o = {NULL, getenv("PATH"), P.tmp};
  for (size_t i = 0; i < res_plot_figure_count(); i++) {
    const res_plot_figure_info *fi = res_plot_figure_at(i);
    cr_assert_eq(res_plot_figure(db, fi->name, P.out, &o, &e), RES_PLOT_ENODATA, "%s: %s",
                 fi->name, e.msg);
    cr_assert_not_null(strstr(e.msg, fi->name), "%s", e.msg);
    cr_assert_not_null(strstr(e.msg, fi->needs), "%s", e.msg);
  }
  res_db_close(db);
  cr_assert_eq(dir_entries(P.out), 0);
  cr_assert_eq(dir_entries(P.tmp), 0);
}

Test(res_plot, sim_vs_real_without_mpi_rows_names_mpi) {
  build_db(0);
  res_db *db = open_ro();
  res_plot_opts o = {NULL, getenv("PATH"), P.tmp};
  cod_err e = {0};
  cr_assert_eq(res_plot_figure(db, "sim-vs-real", P.out, &o, &e), RES_PLOT_ENODATA);
  cr_assert_not_null(strstr(e.msg, "backend 'mpi'"), "%s", e.msg);
  res_db_close(db);
}

Test(res_plot, bad_arguments_and_failing_gnuplot) {
  build_db(0);
  res_db *db = open_ro();
  res_plot_opts o = {NULL, getenv("PATH"), P.tmp};
  cod_err e = {0};
  cr_assert_eq(res_plot_figure(db, "no-such-figure", P.out, &o, &e), COD_EINVAL);
  cr_assert_not_null(strstr(e.msg, "no-such-figure"));
  if (have_gnuplot()) {
    char bad[400];
    snprintf(bad, sizeof bad, "%s/a\nb", P.out);
    cr_assert_eq(res_plot_figure(db, "mse-vs-n", bad, &o, &e), COD_EINVAL, "%s", e.msg);
  }
  o.gnuplot = "/bin/false"; /* "gnuplot" exits 1 */
  cr_assert_eq(res_plot_figure(db, "mse-vs-n", P.out, &o, &e), COD_EIO);
  cr_assert_not_null(strstr(e.msg, "status 1"), "%s", e.msg);
  o.gnuplot = "/bin/true"; /* exits 0 but writes nothing */
  cr_assert_eq(res_plot_figure(db, "mse-vs-n", P.out, &o, &e), COD_EIO);
  cr_assert_not_null(strstr(e.msg, "mse-vs-n.png"), "%s", e.msg);
  char notdir[400];
  snprintf(notdir, sizeof notdir, "%s/missing", P.dir);
  o.tmp_dir = notdir;
  cr_assert_eq(res_plot_figure(db, "mse-vs-n", P.out, &o, &e), COD_EIO);
  res_db_close(db);
  cr_assert_eq(dir_entries(P.tmp), 0);
}

Test(res_plot, hostile_names_cannot_reach_the_script, .timeout = 30) {
  if (!have_gnuplot()) cr_skip_test("gnuplot not installed");
  char marker[400], scheme[600];
  snprintf(marker, sizeof marker, "%s/pwned", P.dir);
  snprintf(scheme, sizeof scheme, "x\"\nsystem \"touch %s\"\n#'", marker);
  res_db *db = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(P.db, 0, &db, &e), COD_OK);
  run_spec r = {"mse-vs-n", scheme, "alexnet", "fp64", NULL, 20, 4, 4, 0, NAN,
                1e-27, 1e-14, 1.0, NAN, NAN, NULL};
  add_run(db, &r);
  res_plot_opts o = {NULL, getenv("PATH"), P.tmp};
  cr_assert_eq(res_plot_figure(db, "mse-vs-n", P.out, &o, &e), COD_OK, "%s", e.msg);
  res_db_close(db);
  cr_assert_neq(access(marker, F_OK), 0, "a scheme name ran a gnuplot command");
}

Test(res_plot, out_of_memory_is_reported_cleanly, .timeout = 60) {
  build_db(0);
  res_db *db = open_ro();
  res_plot_opts o = {NULL, P.empty, P.tmp}; /* stop before spawning: fast */
  int finished = 0;
  for (long n = 0; n < 500 && !finished; n++) {
    cod_err e = {0};
    cod_alloc_fail_at(n);
    int st = res_plot_figure(db, "upload-storage-vs-ka", P.out, &o, &e);
    cod_alloc_fail_at(-1);
    cr_assert(st == COD_ENOMEM || st == RES_PLOT_ENOGNUPLOT, "n=%ld: %d %s", n, st, e.msg);
    finished = st == RES_PLOT_ENOGNUPLOT;
    if (st == COD_ENOMEM) cr_assert_not_null(strstr(e.msg, "memory"), "%s", e.msg);
  }
  cr_assert(finished, "never got past the allocations");
  res_db_close(db);
  cr_assert_eq(dir_entries(P.tmp), 0);
}

Test(res_plot, report_numbers_come_from_the_db) {
  build_db(0);
  res_db *db = open_ro();
  char path[400];
  snprintf(path, sizeof path, "%s/REPORT.md", P.dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  cod_err e = {0};
  cr_assert_eq(res_plot_report_write(db, f, "preamble-text", &e), COD_OK, "%s", e.msg);
  fclose(f);
  res_db_close(db);
  char *s = slurp(path);
  cr_assert_not_null(strstr(s, "preamble-text"));
  /* alexnet, n = 20: layer mse = mse * 20/20 * (layer + 1), max = 2 * mse */
  cr_assert_not_null(strstr(s, "| nsctc-rot | random | 2 | 2e-27 | 1.5e-27 |"), "%s", s);
  cr_assert_not_null(strstr(s, "| poly-real | random | 2 | 2e-17 | 1.5e-17 |"), "%s", s);
  /* berrut-error: 3 results used per layer (workers_used "0,1,2"), rel 1e-2 and 2e-2 */
  cr_assert_not_null(strstr(s, "| berrut | 20 | 4 | 3 | 2 | 0.015 | 0.02 |"), "%s", s);
  /* stragglers: nsctc-rot with 2 slow workers: latency 0.5, no analytic value */
  cr_assert_not_null(strstr(s, "| nsctc-rot | 2 | 1 | 1 | 0.5 | - |"), "%s", s);
  cr_assert_not_null(strstr(s, "| nsctc-rot | 0 | 1 | 1 | 0.3 | 0.29 |"), "%s", s);
  /* energy: the Pareto front in latency order, without the dominated (0.9 s, 13 J) */
  const char *front = strstr(s, "## Energy against latency: the Pareto front");
  cr_assert_not_null(front);
  const char *p1 = strstr(front, "| uncoded | 2 | 2 | 4 | 1 | 0.7 | 20 |");
  const char *p2 = strstr(front, "| nsctc-rot | 2 | 2 | 4 | 1 | 0.8 | 12 |");
  const char *p3 = strstr(front, "| nsctc-rot | 2 | 2 | 4 | 1 | 1 | 10 |");
  const char *p4 = strstr(front, "| uncoded | 2 | 2 | 4 | 1 | 1.5 | 8 |");
  cr_assert(p1 && p2 && p3 && p4 && p1 < p2 && p2 < p3 && p3 < p4, "%s", front);
  const char *next = strstr(front + 4, "\n## ");
  const char *dom = strstr(front, "| 0.9 | 13 |");
  cr_assert(!dom || (next && dom > next), "the dominated point is not on the front");
  /* energy under load: request energy, total per done request (4000 / 80, 4800 / 80), the
   * idle share (1000 / 4000, 1000 / 4800) and the orphans' (0, 480 / 4800) */
  const char *le = strstr(s, "## Energy per request under load");
  cr_assert_not_null(le, "%s", s);
  cr_assert_not_null(strstr(le, "| nsctc-rot | 20 | 4 | 3 | never | 0.75 | 1 | 35 | 0.25 | 60 | "
                                "0.208 | 0.1 | 0 |"), "%s", le);
  cr_assert_not_null(strstr(le, "| nsctc-rot | 20 | 4 | 3 | on-decode | 0.75 | 1 | 30 | 0.25 | "
                                "50 | 0.25 | 0 | 0 |"), "%s", le);
  /* bursty: latencies 1..20 s (nearest-rank p95 = the 19th) and 0.5..10 s */
  cr_assert_not_null(strstr(s, "| alexnet nsctc-rot n=20 (slow share 0.1) | "
                               "markov_slow_sojourn_s=10, markov_fast_sojourn_s=90 | 20 | 10.5 | 19 |"),
                     "%s", s);
  cr_assert_not_null(strstr(s, "| alexnet nsctc-rot n=20 (slow share 0.1) | "
                               "markov_slow_sojourn_s=0.001, markov_fast_sojourn_s=0.009 | 20 | "
                               "5.25 | 9.5 |"), "%s", s);
  free(s);
}

Test(res_plot, report_of_an_empty_db_says_what_is_missing) {
  res_db *db = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(P.db, 0, &db, &e), COD_OK, "%s", e.msg);
  char path[400];
  snprintf(path, sizeof path, "%s/REPORT.md", P.dir);
  FILE *f = fopen(path, "w");
  cr_assert_eq(res_plot_report_write(db, f, NULL, &e), COD_OK, "%s", e.msg);
  fclose(f);
  res_db_close(db);
  char *s = slurp(path);
  cr_assert_not_null(strstr(s, "_No data in this database: needs runs named mse-vs-n*"));
  cr_assert_null(strstr(s, "| ---"), "no table expected:\n%s", s);
  free(s);
}

/* ---- the CLI ------------------------------------------------------------------------------ */

/* Run FCDCC_BIN with args and PATH=path_env (NULL = inherit); return its exit status. */
static int run_cli(const char *path_env, const char *const *args) {
  const char *bin = getenv("FCDCC_BIN");
  cr_assert_not_null(bin, "FCDCC_BIN is not set (meson sets it)");
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    char *argv[16];
    size_t n = 0;
    argv[n++] = (char *)bin;
    for (; args[n - 1] && n < 15; n++) argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    if (path_env) setenv("PATH", path_env, 1);
    if (!freopen("/dev/null", "w", stderr) || !freopen("/dev/null", "w", stdout)) _exit(126);
    execv(bin, argv);
    _exit(127);
  }
  int ws = 0;
  cr_assert_eq(waitpid(pid, &ws, 0), pid);
  cr_assert(WIFEXITED(ws));
  return WEXITSTATUS(ws);
}

Test(res_plot, cli_exit_codes, .timeout = 60) {
  build_db(0);
  const char *list[] = {"plot", "--list", NULL};
  cr_assert_eq(run_cli(NULL, list), 0);
  const char *unknown[] = {"plot", P.db, "no-such-figure", NULL};
  cr_assert_eq(run_cli(NULL, unknown), 2);
  const char *nodb[] = {"plot", "/nonexistent/x.db", "phases", NULL};
  cr_assert_eq(run_cli(NULL, nodb), 2, "a missing database is a user error");
  const char *ok[] = {"plot", P.db, "phases", "--out", P.out, NULL};
  cr_assert_eq(run_cli(P.empty, ok), 77, "no gnuplot on PATH: skip");
  const char *nodata[] = {"plot", P.db, "sim-vs-real", "--out", P.out, NULL};
  cr_assert_eq(run_cli(NULL, nodata), 1);
  if (!have_gnuplot()) return;
  cr_assert_eq(run_cli(NULL, ok), 0);
  char png[400];
  snprintf(png, sizeof png, "%s/phases.png", P.out);
  check_png(png);
  /* all draws what it can: sim-vs-real has no MPI rows and is skipped, the exit status
   * is still 0 because other figures were drawn */
  const char *all[] = {"plot", P.db, "all", "--out", P.out, NULL};
  cr_assert_eq(run_cli(NULL, all), 0, "all with some figures drawable");
  /* a database whose runs no figure uses: nothing drawn, exit 1 */
  char none[400];
  snprintf(none, sizeof none, "%s/none.db", P.dir);
  res_db *db = NULL;
  cod_err e = {0};
  cr_assert_eq(res_db_open(none, 0, &db, &e), COD_OK, "%s", e.msg);
  run_spec s = {"my-own-sweep", "nsctc-rot", NULL, NULL, NULL, 20, 4, 4, 0, NAN, 1e-27,
                1e-13, 1.0, NAN, NAN, NULL};
  add_run(db, &s);
  res_db_close(db);
  const char *all_none[] = {"plot", none, "all", "--out", P.out, NULL};
  cr_assert_eq(run_cli(NULL, all_none), 1, "all with no figure drawable");
}

/* Labels: a layer set or list value reads as itself (brackets kept, a double quote shown
 * as a single one), and nothing that could end the gnuplot string or start a command
 * (double quote, backslash, backquote, newline, '@', '$', '#') survives. */
Test(res_plot, label_cleaning_keeps_layer_sets_readable) {
  char out[64];
  res_fig_text_clean(out, sizeof out, "model.layers = [2,5]");
  cr_expect_str_eq(out, "model.layers = [2,5]");
  res_fig_text_clean(out, sizeof out, "model.layers = \"2+5\"");
  cr_expect_str_eq(out, "model.layers = '2+5'");
  res_fig_text_clean(out, sizeof out, "a\"\\`\n@$#b");
  cr_expect_str_eq(out, "a'??????b");
  for (const char *p = out; *p; p++) cr_expect(!strchr("\"\\`\n@$#", *p), "'%c' kept", *p);
  res_fig_text_clean(out, 4, "abcdef"); /* truncated, always terminated */
  cr_expect_str_eq(out, "abc");
}
