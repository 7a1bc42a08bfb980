/* test_rel_guards.c: numerical guards of a sweep (issue 5, part 5).
 *
 * Non-finite values in an input .npy or in a weights directory are refused before any run
 * is stored: the sweep returns COD_EINVAL (input) or COD_ENUMERIC (weights) with a message
 * naming the file, and the database holds no run. Decodes whose condition number exceeds
 * run.cond_bound are counted in run_sweep_stats.cond_flagged and agree with the
 * layers.cond_flagged rows: a poly-real code with n = 31, ka x kb = 4 x 7 (Vandermonde on
 * real points, badly conditioned) is flagged at the default bound 1e10, nsctc-rot with the
 * same shape is not (its rotation-based code stays well conditioned), and a bound of 1e300
 * flags nothing.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cod_status.h"
#include "cod_tensor.h"
#include "model.h"
#include "model_weights.h"
#include "rel_util.h"
#include "run_scenario.h"
#include "run_sweep.h"

static char g_dir[256];
static void setup(void) { cr_assert_eq(rel_mkdtemp(g_dir, sizeof g_dir, "guard"), 0); }
static void teardown(void) { rel_rmtree(g_dir); }
TestSuite(guards, .init = setup, .fini = teardown, .timeout = 60);

static int sweep_text(const char *text, const char *db, run_sweep_stats *st, cod_err *e) {
  run_scenario *sc = NULL;
  cod_err pe = {0};
  cr_assert_eq(run_scenario_parse(text, strlen(text), "guard.ini", &sc, &pe), COD_OK, "%s\n%s",
               pe.msg, text);
  run_sweep_opts o;
  memset(&o, 0, sizeof o);
  o.db_path = db;
  o.jobs = 1;
  memset(st, 0, sizeof *st);
  int rc = run_sweep(sc, &o, st, e);
  run_scenario_free(sc);
  return rc;
}

/* Write a float64 tensor of shape (n,c,h,w) with rank ndim, seeded values, and value
 * `poison` at index `at`. */
static void write_npy(const char *path, size_t ndim, size_t n, size_t c, size_t h, size_t w,
                      size_t at, double poison) {
  cod_tensor t = {0};
  cod_err e = {0};
  cr_assert_eq(cod_tensor_init(&t, n, c, h, w, COD_F64, &e), COD_OK, "%s", e.msg);
  t.ndim = ndim;
  double *v = t.data;
  size_t len = n * c * h * w;
  for (size_t i = 0; i < len; i++) v[i] = sin(0.37 * (double)i + 0.1);
  v[at] = poison;
  cr_assert_eq(cod_npy_save(path, &t, &e), COD_OK, "%s", e.msg);
  cod_tensor_fini(&t);
}

static long runs_in(const char *db) {
  long runs = -1;
  char msg[600];
  cr_assert_eq(rel_db_check(db, 3, 0, &runs, msg, sizeof msg), 0, "%s", msg);
  return runs;
}

static void check_input(double poison) {
  char npy[512], db[512], text[1024];
  snprintf(npy, sizeof npy, "%s/input.npy", g_dir);
  snprintf(db, sizeof db, "%s/in.db", g_dir);
  write_npy(npy, 4, 1, 1, 32, 32, 517, poison);
  snprintf(text, sizeof text, "[model]\nname = lenet5\ninput = %s\n[coding]\nka = 2\nkb = 2\n"
           "[cluster]\nworkers = 4\n", npy);
  run_sweep_stats st;
  cod_err e = {0};
  int rc = sweep_text(text, db, &st, &e);
  cr_assert_eq(rc, COD_EINVAL, "status %s: %s", cod_status_name(rc), e.msg);
  cr_assert_not_null(strstr(e.msg, "non-finite"), "%s", e.msg);
  cr_assert_not_null(strstr(e.msg, "input.npy"), "%s", e.msg);
  cr_assert_eq(runs_in(db), 0);
  cr_assert_eq(st.committed, 0);
}

Test(guards, nan_input_refused) { check_input(NAN); }
Test(guards, inf_input_refused) { check_input(-INFINITY); }

Test(guards, finite_input_accepted) {
  /* the same file without poison runs: the guard is about the values, not the file */
  char npy[512], db[512], text[1024];
  snprintf(npy, sizeof npy, "%s/input.npy", g_dir);
  snprintf(db, sizeof db, "%s/ok.db", g_dir);
  write_npy(npy, 4, 1, 1, 32, 32, 517, 0.5);
  snprintf(text, sizeof text, "[model]\nname = lenet5\ninput = %s\n[coding]\nka = 2\nkb = 2\n"
           "[cluster]\nworkers = 4\n", npy);
  run_sweep_stats st;
  cod_err e = {0};
  cr_assert_eq(sweep_text(text, db, &st, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(st.committed, 1);
  cr_assert_eq(runs_in(db), 1);
}

static void check_weights(const char *layer, double poison) {
  char wdir[512], db[512], text[1024], npy[600];
  snprintf(wdir, sizeof wdir, "%s/weights", g_dir);
  snprintf(db, sizeof db, "%s/w.db", g_dir);
  cr_assert_eq(mkdir(wdir, 0700), 0);
  model *m = NULL;
  model_weights *w = NULL;
  cod_err e = {0};
  cr_assert_eq(model_lookup("lenet5", &m, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(model_weights_he(m, 7, &w, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(model_weights_save_dir(w, wdir, &e), COD_OK, "%s", e.msg);
  model_weights_free(w);
  model_free(m);
  /* conv2: 16 x 6 x 5 x 5; fc1_bias: 84 */
  snprintf(npy, sizeof npy, "%s/%s.npy", wdir, layer);
  if (strcmp(layer, "conv2") == 0) write_npy(npy, 4, 16, 6, 5, 5, 1234, poison);
  else write_npy(npy, 1, 1, 1, 1, 84, 83, poison);
  snprintf(text, sizeof text, "[model]\nname = lenet5\nweights = %s\n[coding]\nka = 2\n"
           "kb = 2\n[cluster]\nworkers = 4\n", wdir);
  run_sweep_stats st;
  int rc = sweep_text(text, db, &st, &e);
  cr_assert_eq(rc, COD_ENUMERIC, "status %s: %s", cod_status_name(rc), e.msg);
  cr_assert_not_null(strstr(e.msg, "not finite"), "%s", e.msg);
  cr_assert_not_null(strstr(e.msg, layer), "%s", e.msg);
  cr_assert_eq(runs_in(db), 0);
}

Test(guards, nan_conv_weight_refused) { check_weights("conv2", NAN); }
Test(guards, inf_fc_bias_refused) { check_weights("fc1_bias", INFINITY); }

/* flagged layers counted by the sweep, and the rows agree */
static long flagged_rows(const char *db) {
  sqlite3 *h = NULL;
  sqlite3_stmt *st = NULL;
  long v = -1;
  cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  cr_assert_eq(sqlite3_prepare_v2(h, "SELECT COUNT(*) FROM layers WHERE cond_flagged = 1", -1,
                                  &st, NULL), SQLITE_OK);
  if (sqlite3_step(st) == SQLITE_ROW) v = (long)sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(h);
  return v;
}

static size_t cond_sweep(const char *scheme, const char *bound, const char *name) {
  char db[512], text[1024];
  snprintf(db, sizeof db, "%s/%s.db", g_dir, name);
  snprintf(text, sizeof text, "[run]\ncompute = real\n%s%s%s[model]\nname = lenet5\n"
           "[coding]\nscheme = %s\nka = 4\nkb = 7\n[cluster]\nworkers = 31\n",
           bound ? "cond_bound = " : "", bound ? bound : "", bound ? "\n" : "", scheme);
  run_sweep_stats st;
  cod_err e = {0};
  cr_assert_eq(sweep_text(text, db, &st, &e), COD_OK, "%s", e.msg);
  cr_assert_eq(st.committed, 1);
  cr_assert_eq((long)st.cond_flagged, flagged_rows(db), "stats and rows disagree");
  return st.cond_flagged;
}

Test(guards, poly_real_flagged) {
  size_t f = cond_sweep("poly-real", NULL, "poly");
  cr_assert_gt(f, 0, "poly-real n=31 4x7 should exceed cond 1e10 on some layer");
  cr_assert_leq(f, 3);
}
Test(guards, nsctc_rot_not_flagged) { cr_assert_eq(cond_sweep("nsctc-rot", NULL, "rot"), 0); }
Test(guards, huge_bound_flags_nothing) {
  cr_assert_eq(cond_sweep("poly-real", "1e300", "polybig"), 0);
}
