/* res_recommend.c: rank stored configurations (see res_recommend.h).
 *
 * Design. One read of the runs (ordered by params_json, so each configuration's runs are
 * consecutive) fills per-configuration arrays of latency, bytes, storage and MSE; the
 * statistics and the bootstrap are plain C over those arrays. The labels come from one
 * json_tree query that finds the keys whose value differs between configurations. Every
 * statement is a literal macro with bound parameters. The bootstrap's generator is a local
 * xorshift64* with a fixed seed (no global RNG, no wall clock): a file always gets the
 * same ranking and the same confidences. Cost: O(runs log runs) for the statistics and
 * RES_REC_BOOT resamples of every configuration, each sorted for its quantile.
 */
#include "res_recommend.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cod_alloc.h"
#include "res_internal.h"

/* The code of a configuration (res_recommend.h): the keys that decide a decode's numbers. */
#define REC_CODE(p)                                                                       \
  "json_array(json_extract(" p ", '$.model'), json_extract(" p ", '$.coding'), "            \
  "json_extract(" p ", '$.cluster.workers'), json_extract(" p ", '$.run.precision'), "     \
  "json_extract(" p ", '$.run.decode'), json_extract(" p ", '$.run.snr_db'), "             \
  "json_extract(" p ", '$.run.conv_algo'))"
#define REC_SQL_MSE_FROM                                                                  \
  "SELECT max(r.e2e_mse), count(r.e2e_mse) FROM runs r WHERE r.status = 'ok' AND "         \
  REC_CODE("r.params_json") " = " REC_CODE("?1")

#define REC_SQL_RUNS                                                                      \
  "SELECT r.params_json, r.status = 'ok', r.latency_s, r.e2e_mse, "                       \
  "(SELECT SUM(w.bytes_to_worker + w.bytes_to_master) FROM workers w WHERE w.run_id = r.run_id), "     \
  "(SELECT MAX(w.bytes_stored) FROM workers w WHERE w.run_id = r.run_id) "                 \
  "FROM runs r WHERE r.params_json IS NOT NULL ORDER BY r.params_json, r.run_id"
#define REC_SQL_HAS_ENERGY                                                                \
  "SELECT COUNT(*) FROM pragma_table_info('runs') WHERE name = 'energy_j'"
#define REC_SQL_ENERGY                                                                    \
  "SELECT energy_j FROM runs WHERE params_json IS NOT NULL ORDER BY params_json, run_id"
/* the keys (JSON paths) whose value is not the same in every configuration; arrays are
 * one value (their elements are skipped), the classes array is covered by its members */
#define REC_SQL_VARYING                                                                   \
  "SELECT j.fullkey FROM (SELECT DISTINCT params_json AS p FROM runs "                     \
  "WHERE params_json IS NOT NULL) AS d, json_tree(d.p) AS j "                              \
  "WHERE j.type <> 'object' AND j.fullkey NOT LIKE '%]' AND j.fullkey <> '$.classes' "    \
  "GROUP BY j.fullkey HAVING COUNT(DISTINCT j.value) > 1 OR COUNT(*) < "                   \
  "(SELECT COUNT(DISTINCT params_json) FROM runs WHERE params_json IS NOT NULL) "          \
  "ORDER BY MIN(j.id), j.fullkey"
#define REC_SQL_EXTRACT "SELECT json_extract(?1, ?2)"

static const char *const objective_names[] = {"p95", "mean", "bytes", "energy", NULL};

int res_rec_objective_find(const char *name) {
  for (int i = 0; objective_names[i]; i++)
    if (name && strcmp(name, objective_names[i]) == 0) return i;
  return -1;
}

const char *res_rec_objective_name(int o) {
  return o >= 0 && o <= RES_REC_ENERGY ? objective_names[o] : "?";
}

/* One configuration's samples while reading. */
typedef struct group {
  double *lat, *bytes, *energy;
  size_t n, cap;
} group;

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Quantile q of sorted v[0..n) (type 7); +inf entries take part as +inf. */
static double quantile_sorted(const double *v, size_t n, double q) {
  if (n == 0) return NAN;
  double h = (double)(n - 1) * q;
  size_t lo = (size_t)floor(h);
  if (lo + 1 >= n) return v[n - 1];
  double a = v[lo], b = v[lo + 1], f = h - (double)lo;
  if (isinf(a) || isinf(b)) return f > 0 ? b : a;
  return a + f * (b - a);
}

static double mean_of(const double *v, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += v[i];
  return n ? s / (double)n : NAN;
}

/* The objective's statistic of samples v[0..n) (sorted in place for p95). */
static double statistic(int objective, double *v, size_t n) {
  if (objective == RES_REC_P95) {
    qsort(v, n, sizeof *v, cmp_double);
    return quantile_sorted(v, n, 0.95);
  }
  return mean_of(v, n);
}

static uint64_t xorshift(uint64_t *s) {
  uint64_t x = *s;
  x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
  *s = x;
  return x * 2685821657736338717ull;
}

static const double *samples(const group *g, int objective) {
  return objective == RES_REC_BYTES ? g->bytes : objective == RES_REC_ENERGY ? g->energy : g->lat;
}

/* B bootstrap statistics of group g into out[0..B) (work: g->n doubles). */
static void bootstrap(const group *g, int objective, uint64_t *rng, double *work, double *out) {
  const double *v = samples(g, objective);
  for (size_t b = 0; b < RES_REC_BOOT; b++) {
    for (size_t i = 0; i < g->n; i++) work[i] = v[xorshift(rng) % g->n];
    out[b] = statistic(objective, work, g->n);
  }
}

static int push_sample(group *g, double lat, double bytes, double energy) {
  if (g->n == g->cap) {
    size_t cap = g->cap ? 2 * g->cap : 16;
    double *a = cod_realloc(g->lat, cap * sizeof *a);
    if (!a) return COD_ENOMEM;
    g->lat = a;
    double *b = cod_realloc(g->bytes, cap * sizeof *b);
    if (!b) return COD_ENOMEM;
    g->bytes = b;
    double *c = cod_realloc(g->energy, cap * sizeof *c);
    if (!c) return COD_ENOMEM;
    g->energy = c;
    g->cap = cap;
  }
  g->lat[g->n] = lat, g->bytes[g->n] = bytes, g->energy[g->n] = energy;
  g->n++;
  return COD_OK;
}

static double column_or_nan(sqlite3_stmt *st, int i) {
  return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

/* Read every run into rows (params_json, counts, worst storage and MSE) and groups. */
static int read_runs(res_db *db, int energy, res_rec_result *r, group **groups, cod_err *err) {
  sqlite3_stmt *st = NULL, *se = NULL;
  int rc = sqlite3_prepare_v2(db->conn, REC_SQL_RUNS, -1, &st, NULL);
  if (rc == SQLITE_OK && energy) rc = sqlite3_prepare_v2(db->conn, REC_SQL_ENERGY, -1, &se, NULL);
  if (rc != SQLITE_OK) {
    int s = res_fail_sqlite(db, rc, "reading the runs", err);
    sqlite3_finalize(st);
    return s;
  }
  size_t cap = 0;
  int status = COD_OK;
  while (!status && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    double e = NAN;
    if (se && sqlite3_step(se) == SQLITE_ROW) e = column_or_nan(se, 0);
    const char *p = (const char *)sqlite3_column_text(st, 0);
    res_rec_row *row = r->n_rows ? &r->rows[r->n_rows - 1] : NULL;
    if (!row || strcmp(row->params_json, p) != 0) {
      if (r->n_rows == cap) {
        cap = cap ? 2 * cap : 16;
        res_rec_row *nr = cod_realloc(r->rows, cap * sizeof *nr);
        group *ng = cod_realloc(*groups, cap * sizeof *ng);
        if (nr) r->rows = nr;
        if (ng) *groups = ng;
        if (!nr || !ng) {
          status = cod_err_set(err, COD_ENOMEM, "out of memory");
          break;
        }
      }
      row = &r->rows[r->n_rows];
      memset(row, 0, sizeof *row);
      memset(&(*groups)[r->n_rows], 0, sizeof(group));
      row->storage_bytes = NAN, row->mse = NAN;
      r->n_rows++;
      if (!(row->params_json = cod_strdup(p))) {
        status = cod_err_set(err, COD_ENOMEM, "out of memory");
        break;
      }
    }
    int ok = sqlite3_column_int(st, 1);
    double lat = ok ? column_or_nan(st, 2) : INFINITY, mse = column_or_nan(st, 3);
    double bytes = column_or_nan(st, 4), stored = column_or_nan(st, 5);
    if (isnan(lat)) lat = INFINITY; /* an ok run without a latency never finished either */
    row->runs++, row->ok += ok != 0;
    if (ok && !isnan(mse) && !(mse <= row->mse)) row->mse = mse;
    if (ok && !isnan(mse)) row->mse_runs++;
    if (!isnan(stored) && !(stored <= row->storage_bytes)) row->storage_bytes = stored;
    if (push_sample(&(*groups)[r->n_rows - 1], lat, isnan(bytes) ? 0 : bytes, e))
      status = cod_err_set(err, COD_ENOMEM, "out of memory");
  }
  if (!status && rc != SQLITE_DONE && rc != SQLITE_ROW)
    status = res_fail_sqlite(db, rc, "reading the runs", err);
  sqlite3_finalize(st);
  sqlite3_finalize(se);
  return status;
}

/* opts.mse_from: every row's MSE becomes the worst over that file's ok runs of its code. */
static int mse_from(res_db *acc, res_rec_result *r, cod_err *err) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(acc->conn, REC_SQL_MSE_FROM, -1, &st, NULL);
  if (rc != SQLITE_OK) return res_fail_sqlite(acc, rc, "reading the accuracy runs", err);
  int status = COD_OK;
  for (size_t i = 0; i < r->n_rows && !status; i++) {
    res_rec_row *w = &r->rows[i];
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, w->params_json, -1, SQLITE_STATIC);
    if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
      status = res_fail_sqlite(acc, rc, "reading the accuracy runs", err);
      break;
    }
    w->mse = column_or_nan(st, 0);
    w->mse_runs = (size_t)sqlite3_column_int64(st, 1);
  }
  sqlite3_finalize(st);
  return status;
}

/* Append "key=value" to *s (len, cap), growing it. */
static int append(char **s, size_t *len, size_t *cap, const char *key, const char *value) {
  size_t need = *len + strlen(key) + strlen(value) + 3;
  if (need > *cap) {
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    char *p = cod_realloc(*s, c);
    if (!p) return COD_ENOMEM;
    *s = p, *cap = c;
  }
  *len += (size_t)snprintf(*s + *len, *cap - *len, "%s%s=%s", *len ? " " : "", key, value);
  return COD_OK;
}

/* The text of key in json (a copy, cod_free; NULL if absent or out of memory). */
static char *rec_extract_text(sqlite3_stmt *sx, const char *json, const char *key) {
  sqlite3_bind_text(sx, 1, json, -1, SQLITE_STATIC);
  sqlite3_bind_text(sx, 2, key, -1, SQLITE_STATIC);
  char *v = NULL;
  if (sqlite3_step(sx) == SQLITE_ROW && sqlite3_column_type(sx, 0) == SQLITE_TEXT)
    v = cod_strdup((const char *)sqlite3_column_text(sx, 0));
  sqlite3_reset(sx);
  sqlite3_clear_bindings(sx);
  return v;
}

/* Each row's label: the varying keys that the row's configuration does not ignore
 * (o->key_ignored), by their last path component unless two share it. */
static int make_labels(res_db *db, const res_rec_opts *o, res_rec_result *r, cod_err *err) {
  sqlite3_stmt *sv = NULL, *sx = NULL;
  char **keys = NULL;
  size_t nk = 0;
  int rc = sqlite3_prepare_v2(db->conn, REC_SQL_VARYING, -1, &sv, NULL), status = COD_OK;
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db->conn, REC_SQL_EXTRACT, -1, &sx, NULL);
  while (rc == SQLITE_OK && !status && sqlite3_step(sv) == SQLITE_ROW) {
    char **nkeys = cod_realloc(keys, (nk + 1) * sizeof *nkeys);
    if (!nkeys || !(nkeys[nk] = cod_strdup((const char *)sqlite3_column_text(sv, 0)))) {
      if (nkeys) keys = nkeys;
      status = cod_err_set(err, COD_ENOMEM, "out of memory");
      break;
    }
    keys = nkeys, nk++;
  }
  if (rc != SQLITE_OK && !status) status = res_fail_sqlite(db, rc, "finding the varying keys", err);
  /* json_tree quotes a key with characters other than letters and digits
   * ($.cluster."worst_sets"): the quoted path is what json_extract takes, the plain one
   * what labels show and o->key_ignored is asked about */
  char **plain = status ? NULL : cod_calloc(nk + 1, sizeof *plain);
  if (!status && !plain) status = cod_err_set(err, COD_ENOMEM, "out of memory");
  for (size_t k = 0; k < nk && !status; k++) {
    if (!(plain[k] = cod_strdup(keys[k]))) {
      status = cod_err_set(err, COD_ENOMEM, "out of memory");
      break;
    }
    char *w = plain[k];
    for (const char *q = keys[k]; *q; q++)
      if (*q != '"') *w++ = *q;
    *w = '\0';
  }
  for (size_t i = 0; i < r->n_rows && !status; i++) {
    size_t len = 0, cap = 0;
    char *s = NULL;
    char *scheme = rec_extract_text(sx, r->rows[i].params_json, "$.coding.scheme");
    char *strag = rec_extract_text(sx, r->rows[i].params_json, "$.cluster.stragglers");
    for (size_t k = 0; k < nk && !status; k++) {
      if (o->key_ignored && plain[k][0] == '$' && plain[k][1] == '.' &&
          o->key_ignored(scheme, strag, plain[k] + 2))
        continue;
      const char *last = strrchr(plain[k], '.'), *name = last ? last + 1 : plain[k];
      int clash = 0;
      for (size_t m = 0; m < nk; m++) {
        const char *l2 = strrchr(plain[m], '.');
        clash |= m != k && strcmp(l2 ? l2 + 1 : plain[m], name) == 0;
      }
      if (clash) name = plain[k][0] == '$' && plain[k][1] == '.' ? plain[k] + 2 : plain[k];
      sqlite3_bind_text(sx, 1, r->rows[i].params_json, -1, SQLITE_STATIC);
      sqlite3_bind_text(sx, 2, keys[k], -1, SQLITE_STATIC);
      const char *v = "(none)";
      char num[64];
      if (sqlite3_step(sx) == SQLITE_ROW && sqlite3_column_type(sx, 0) != SQLITE_NULL) {
        if (sqlite3_column_type(sx, 0) == SQLITE_FLOAT) {
          snprintf(num, sizeof num, "%.6g", sqlite3_column_double(sx, 0));
          v = num;
        } else {
          v = (const char *)sqlite3_column_text(sx, 0);
        }
      }
      if (append(&s, &len, &cap, name, v)) status = cod_err_set(err, COD_ENOMEM, "out of memory");
      sqlite3_reset(sx);
      sqlite3_clear_bindings(sx);
    }
    cod_free(scheme), cod_free(strag);
    if (!status && !s && !(s = cod_strdup(""))) status = cod_err_set(err, COD_ENOMEM, "out of memory");
    r->rows[i].label = s;
  }
  for (size_t k = 0; k < nk; k++) cod_free(keys[k]), cod_free(plain ? plain[k] : NULL);
  cod_free(keys), cod_free(plain);
  sqlite3_finalize(sv);
  sqlite3_finalize(sx);
  return status;
}

static void check_constraints(res_rec_row *w, const res_rec_opts *o) {
  w->meets = 1, w->fails = NULL;
  if (o->objective == RES_REC_ENERGY && isnan(w->energy_j)) { /* energy keys all 0 */
    w->meets = 0, w->fails = "energy (not modelled in these runs)";
    return;
  }
  if (!isnan(o->max_mse) && !(w->mse <= o->max_mse))
    w->meets = 0, w->fails = !isnan(w->mse) ? "max-mse"
                             : o->mse_from ? "mse (no accuracy runs of this code)"
                                           : "mse (no ok run)";
  else if (!isnan(o->max_storage_bytes) && !(w->storage_bytes <= o->max_storage_bytes))
    w->meets = 0, w->fails = "max-storage";
  else if (!isnan(o->max_p99_s) && !(w->p99_s <= o->max_p99_s))
    w->meets = 0, w->fails = "max-p99";
}

typedef struct order_item {
  size_t row;
  int meets;
  double objective;
} order_item;

static int by_rank(const void *a, const void *b) {
  const order_item *x = a, *y = b;
  if (x->meets != y->meets) return y->meets - x->meets;
  if (x->objective != y->objective) return x->objective < y->objective ? -1 : 1;
  return x->row < y->row ? -1 : x->row > y->row;
}

void res_rec_result_fini(res_rec_result *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n_rows; i++) cod_free(r->rows[i].label), cod_free(r->rows[i].params_json);
  cod_free(r->rows);
  memset(r, 0, sizeof *r);
}

static void groups_free(group *g, size_t n) {
  for (size_t i = 0; g && i < n; i++) cod_free(g[i].lat), cod_free(g[i].bytes), cod_free(g[i].energy);
  cod_free(g);
}

/* The statistics, constraints and bootstrap intervals of every row, then the ranking. */
static int rank_rows(res_rec_result *r, group *g, cod_err *err) {
  const res_rec_opts *o = &r->opts;
  size_t maxn = 1;
  for (size_t i = 0; i < r->n_rows; i++) maxn = g[i].n > maxn ? g[i].n : maxn;
  double *work = cod_malloc_array(maxn, sizeof *work);
  double *boot = cod_malloc_array(2 * (size_t)RES_REC_BOOT, sizeof *boot);
  order_item *ord = cod_malloc_array(r->n_rows ? r->n_rows : 1, sizeof *ord);
  res_rec_row *sorted = cod_malloc_array(r->n_rows ? r->n_rows : 1, sizeof *sorted);
  group *gs = cod_malloc_array(r->n_rows ? r->n_rows : 1, sizeof *gs);
  int status = work && boot && ord && sorted && gs ? COD_OK
                                                   : cod_err_set(err, COD_ENOMEM, "out of memory");
  uint64_t rng = RES_REC_SEED;
  for (size_t i = 0; i < r->n_rows && !status; i++) {
    res_rec_row *w = &r->rows[i];
    memcpy(work, g[i].lat, g[i].n * sizeof *work);
    qsort(work, g[i].n, sizeof *work, cmp_double);
    w->mean_s = mean_of(work, g[i].n);
    w->p95_s = quantile_sorted(work, g[i].n, 0.95);
    w->p99_s = quantile_sorted(work, g[i].n, 0.99);
    w->bytes = mean_of(g[i].bytes, g[i].n);
    w->energy_j = mean_of(g[i].energy, g[i].n);
    memcpy(work, samples(&g[i], o->objective), g[i].n * sizeof *work);
    w->objective = statistic(o->objective, work, g[i].n);
    bootstrap(&g[i], o->objective, &rng, work, boot);
    qsort(boot, RES_REC_BOOT, sizeof *boot, cmp_double);
    w->ci_lo = quantile_sorted(boot, RES_REC_BOOT, 0.025);
    w->ci_hi = quantile_sorted(boot, RES_REC_BOOT, 0.975);
    check_constraints(w, o);
    ord[i] = (order_item){i, w->meets, isnan(w->objective) ? INFINITY : w->objective};
  }
  if (!status) {
    qsort(ord, r->n_rows, sizeof *ord, by_rank);
    for (size_t i = 0; i < r->n_rows; i++) sorted[i] = r->rows[ord[i].row], gs[i] = g[ord[i].row];
    memcpy(r->rows, sorted, r->n_rows * sizeof *sorted);
    memcpy(g, gs, r->n_rows * sizeof *gs);
    r->n_ranked = 0;
    while (r->n_ranked < r->n_rows && r->rows[r->n_ranked].meets) r->n_ranked++;
    /* P(rank i beats rank i + 1): paired draws of independent resamples of each */
    for (size_t i = 0; i < r->n_rows; i++) r->rows[i].p_beats_next = NAN;
    for (size_t i = 0; i + 1 < r->n_ranked; i++) {
      bootstrap(&g[i], o->objective, &rng, work, boot);
      bootstrap(&g[i + 1], o->objective, &rng, work, boot + RES_REC_BOOT);
      double wins = 0;
      for (size_t b = 0; b < RES_REC_BOOT; b++)
        wins += boot[b] < boot[RES_REC_BOOT + b] ? 1.0 : boot[b] == boot[RES_REC_BOOT + b] ? 0.5 : 0;
      r->rows[i].p_beats_next = wins / RES_REC_BOOT;
    }
  }
  cod_free(gs);
  cod_free(sorted);
  cod_free(ord);
  cod_free(boot);
  cod_free(work);
  return status;
}

int res_recommend(res_db *db, const res_rec_opts *o, res_rec_result *out, cod_err *err) {
  memset(out, 0, sizeof *out);
  out->opts = *o;
  sqlite3_stmt *st = NULL;
  int has_energy = 0;
  int rc = sqlite3_prepare_v2(db->conn, REC_SQL_HAS_ENERGY, -1, &st, NULL);
  if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) has_energy = sqlite3_column_int(st, 0) > 0;
  sqlite3_finalize(st);
  if (rc != SQLITE_OK) return res_fail_sqlite(db, rc, "reading the schema", err);
  if (o->objective == RES_REC_ENERGY && !has_energy)
    return cod_err_set(err, COD_ENODATA, "results db '%s' has no energy measurements (no "
                       "column runs.energy_j): choose --objective p95, mean or bytes", db->path);
  group *g = NULL;
  int status = read_runs(db, has_energy, out, &g, err);
  if (!status && out->n_rows == 0)
    status = cod_err_set(err, COD_ENODATA, "results db '%s' holds no runs to rank", db->path);
  if (!status && o->mse_from) status = mse_from(o->mse_from, out, err);
  if (!status) status = make_labels(db, o, out, err);
  if (!status) status = rank_rows(out, g, err);
  groups_free(g, out->n_rows);
  if (status) res_rec_result_fini(out);
  return status;
}

/* ---- output -------------------------------------------------------------------------- */

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

static void json_num(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, "%.9g", v);
  else fputs("null", f);
}

static void write_json_row(FILE *f, const res_rec_row *w, const res_rec_opts *o, size_t rank) {
  fprintf(f, "{\"rank\": ");
  if (rank) fprintf(f, "%zu", rank);
  else fputs("null", f);
  fputs(", \"label\": ", f);
  json_str(f, w->label);
  fprintf(f, ", \"runs\": %zu, \"ok\": %zu, \"objective\": ", w->runs, w->ok);
  json_num(f, w->objective);
  fputs(", \"ci95\": [", f);
  json_num(f, w->ci_lo);
  fputs(", ", f);
  json_num(f, w->ci_hi);
  fputs("], \"p_beats_next\": ", f);
  json_num(f, w->p_beats_next);
  struct { const char *k; double v; } m[] = {{"mean_s", w->mean_s}, {"p95_s", w->p95_s},
      {"p99_s", w->p99_s}, {"bytes", w->bytes}, {"storage_bytes", w->storage_bytes},
      {"mse", w->mse}, {"energy_j", w->energy_j}};
  for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
    fprintf(f, ", \"%s\": ", m[i].k);
    json_num(f, m[i].v);
  }
  fprintf(f, ", \"mse_runs\": %zu", w->mse_runs);
  fputs(", \"margins\": {", f);
  int first = 1;
  if (!isnan(o->max_mse)) {
    fputs("\"mse_factor\": ", f), json_num(f, o->max_mse / w->mse), first = 0;
  }
  if (!isnan(o->max_storage_bytes)) {
    fputs(first ? "" : ", ", f), first = 0;
    fputs("\"storage_bytes\": ", f), json_num(f, o->max_storage_bytes - w->storage_bytes);
  }
  if (!isnan(o->max_p99_s)) {
    fputs(first ? "" : ", ", f);
    fputs("\"p99_s\": ", f), json_num(f, o->max_p99_s - w->p99_s);
  }
  fputs("}, \"fails\": ", f);
  if (w->fails) json_str(f, w->fails);
  else fputs("null", f);
  fputs(", \"params\": ", f);
  fputs(w->params_json, f);
  fputc('}', f);
}

static int write_json(const res_rec_result *r, FILE *f) {
  const res_rec_opts *o = &r->opts;
  fprintf(f, "{\"objective\": \"%s\", \"constraints\": {\"max_mse\": ",
          res_rec_objective_name(o->objective));
  json_num(f, o->max_mse);
  fputs(", \"max_storage_bytes\": ", f);
  json_num(f, o->max_storage_bytes);
  fputs(", \"max_p99_s\": ", f);
  json_num(f, o->max_p99_s);
  fprintf(f, "}, \"confidence_method\": \"bootstrap over runs, %d resamples, seed %u: "
             "p_beats_next = share of resamples in which a configuration's objective is "
             "below the next one's (ties half); ci95 = percentile interval\", \"ranked\": [",
          RES_REC_BOOT, RES_REC_SEED);
  for (size_t i = 0; i < r->n_ranked; i++) {
    fputs(i ? ",\n  " : "\n  ", f);
    write_json_row(f, &r->rows[i], o, i + 1);
  }
  fputs("], \"rejected\": [", f);
  for (size_t i = r->n_ranked; i < r->n_rows; i++) {
    fputs(i > r->n_ranked ? ",\n  " : "\n  ", f);
    write_json_row(f, &r->rows[i], o, 0);
  }
  fputs("]}\n", f);
  return COD_OK;
}

static void fmt(char *buf, size_t len, double v) {
  if (isnan(v)) snprintf(buf, len, "-");
  else if (isinf(v)) snprintf(buf, len, "inf");
  else snprintf(buf, len, "%.4g", v);
}

static int write_table(const res_rec_result *r, FILE *f) {
  const res_rec_opts *o = &r->opts;
  const char *unit = o->objective == RES_REC_BYTES ? "bytes" : o->objective == RES_REC_ENERGY ? "J" : "s";
  fprintf(f, "objective: %s%s, %s (smaller is better); %zu of %zu configurations meet "
             "every constraint\n", res_rec_objective_name(o->objective),
          o->objective == RES_REC_P95 || o->objective == RES_REC_MEAN ? " latency" : "", unit,
          r->n_ranked, r->n_rows);
  if (o->mse_from)
    fprintf(f, "mse_max: the worst end-to-end MSE over %s's ok runs of the same code (model, "
               "coding, workers, precision, decode, snr, conv_algo); runs(ok) are this "
               "file's\n", o->mse_from->path);
  if (o->objective == RES_REC_BYTES || o->objective == RES_REC_ENERGY)
    fprintf(f, "(objective: mean %s per run)\n", o->objective == RES_REC_BYTES ? "bytes moved"
                                                                                : "energy");
  fprintf(f, "%-4s %-12s %-25s %-8s %-10s %-10s %-10s %-14s %s\n", "rank", "objective",
          "ci95", "P(>next)", "mse_max", "storage_B", "p99_s", "runs(ok)", "configuration");
  for (size_t i = 0; i < r->n_rows; i++) {
    const res_rec_row *w = &r->rows[i];
    if (i == r->n_ranked && i < r->n_rows)
      fprintf(f, "-- configurations that break a constraint (not ranked):\n");
    char ob[32], lo[32], hi[32], pb[32], ms[32], sb[32], p99[32], ci[80], rank[16], runs[48];
    fmt(ob, sizeof ob, w->objective), fmt(lo, sizeof lo, w->ci_lo), fmt(hi, sizeof hi, w->ci_hi);
    fmt(ms, sizeof ms, w->mse), fmt(sb, sizeof sb, w->storage_bytes), fmt(p99, sizeof p99, w->p99_s);
    if (isnan(w->p_beats_next)) snprintf(pb, sizeof pb, "-");
    else snprintf(pb, sizeof pb, "%.3f", w->p_beats_next);
    snprintf(ci, sizeof ci, "[%s, %s]", lo, hi);
    snprintf(rank, sizeof rank, i < r->n_ranked ? "%zu" : "x", i + 1);
    snprintf(runs, sizeof runs, "%zu(%zu)", w->runs, w->ok);
    fprintf(f, "%-4s %-12s %-25s %-8s %-10s %-10s %-10s %-14s %s%s%s\n", rank, ob, ci, pb, ms,
            sb, p99, runs, w->label[0] ? w->label : "(the only configuration)",
            w->fails ? "  breaks " : "", w->fails ? w->fails : "");
  }
  if (r->n_ranked && (!isnan(o->max_mse) || !isnan(o->max_storage_bytes) || !isnan(o->max_p99_s))) {
    fprintf(f, "margins (ranked):");
    for (size_t i = 0; i < r->n_ranked; i++) {
      const res_rec_row *w = &r->rows[i];
      fprintf(f, "%s #%zu", i ? ";" : "", i + 1);
      if (!isnan(o->max_mse) && w->mse == 0) fprintf(f, " mse 0 (exact)");
      else if (!isnan(o->max_mse)) fprintf(f, " mse %.3gx below the bound", o->max_mse / w->mse);
      if (!isnan(o->max_storage_bytes))
        fprintf(f, " storage %.4g B under", o->max_storage_bytes - w->storage_bytes);
      if (!isnan(o->max_p99_s)) fprintf(f, " p99 %.4g s under", o->max_p99_s - w->p99_s);
    }
    fputc('\n', f);
  }
  fprintf(f, "confidence: P(>next) = share of %d bootstrap resamples of the runs (seed %u) in "
             "which the row's objective is below the next ranked row's (ties half); ci95: "
             "their percentile interval; failed runs count as infinite latency\n",
          RES_REC_BOOT, RES_REC_SEED);
  return COD_OK;
}

int res_recommend_write(const res_rec_result *r, FILE *f, int json, cod_err *err) {
  int rc = json ? write_json(r, f) : write_table(r, f);
  if (!rc && (fflush(f) != 0 || ferror(f)))
    rc = cod_err_set(err, COD_EIO, "writing the recommendation failed");
  return rc;
}
