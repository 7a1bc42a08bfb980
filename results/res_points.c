/* res_points.c: flattened scenario keys of the stored runs (see res_points.h).
 *
 * Design. Two queries: the run -> point map (one point per distinct params_json, named by
 * its smallest run_id, from a window function, so O(runs log runs)), and the flattened keys
 * of one representative run per point through SQLite's json_each (no JSON parser here).
 * The keys arrive in params_json order (the key table's order), which is the order labels
 * use; a key seen for the first time is appended. Values are a points x keys matrix of
 * strings. Splitting sorts the (cell, point) pairs once and compares each point of a cell
 * with the first one, key by key: O(pairs log pairs + pairs x keys).
 */
#include "res_points.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cod_alloc.h"
#include "res_internal.h"

struct res_points {
  size_t nruns;
  int64_t *run_id;  /* ascending */
  size_t *run_pt;   /* point of run_id[i] */
  size_t npts, nkeys, cap_keys;
  int64_t *pt_rep;  /* representative run_id of each point, ascending */
  char **keys;      /* nkeys canonical names */
  char ***val;      /* val[point][key], arrays of cap_keys entries */
};

static const char MAP_SQL[] =
    "SELECT run_id, MIN(run_id) OVER (PARTITION BY params_json) FROM runs ORDER BY run_id";

static const char FLAT_SQL[] =
    "WITH rep AS (SELECT DISTINCT MIN(run_id) OVER (PARTITION BY params_json) AS id FROM "
    "runs) "
    "SELECT r.run_id, 0, s.id, k.id, s.key || '.' || k.key, k.type, k.value FROM rep JOIN "
    "runs r ON r.run_id = rep.id, json_each(r.params_json) s, json_each(s.value) k WHERE "
    "r.params_json IS NOT NULL AND s.type = 'object' "
    "UNION ALL "
    "SELECT r.run_id, 1, c.id, k.id, 'class.' || json_extract(c.value, '$.name') || '.' || "
    "k.key, k.type, k.value FROM rep JOIN runs r ON r.run_id = rep.id, "
    "json_each(r.params_json, '$.classes') c, json_each(c.value) k WHERE r.params_json IS "
    "NOT NULL AND c.type = 'object' AND k.key <> 'name' "
    "ORDER BY 1, 2, 3, 4";

void res_points_free(res_points *p) {
  if (!p) return;
  for (size_t i = 0; i < p->npts; i++) {
    for (size_t k = 0; p->val && p->val[i] && k < p->nkeys; k++) cod_free(p->val[i][k]);
    if (p->val) cod_free(p->val[i]);
  }
  for (size_t k = 0; k < p->nkeys; k++) cod_free(p->keys[k]);
  cod_free(p->keys);
  cod_free(p->val);
  cod_free(p->pt_rep);
  cod_free(p->run_id);
  cod_free(p->run_pt);
  cod_free(p);
}

static int find_rep(const res_points *p, int64_t rep, size_t *i) {
  size_t lo = 0, hi = p->npts;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (p->pt_rep[mid] < rep) lo = mid + 1;
    else hi = mid;
  }
  if (lo < p->npts && p->pt_rep[lo] == rep) {
    *i = lo;
    return 1;
  }
  return 0;
}

static int load_map(res_db *db, res_points *p, cod_err *err) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db->conn, MAP_SQL, -1, &st, NULL);
  if (rc != SQLITE_OK) return res_fail_sqlite(db, rc, "reading the runs' points", err);
  size_t cap = 0;
  int status = COD_OK;
  int64_t *reps = NULL;
  while (!status && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (p->nruns == cap) {
      cap = cap ? 2 * cap : 64;
      int64_t *a = cod_realloc(p->run_id, cap * sizeof *a);
      if (a) p->run_id = a;
      int64_t *b = a ? cod_realloc(reps, cap * sizeof *b) : NULL;
      if (b) reps = b;
      if (!a || !b) status = COD_ENOMEM;
      if (status) break;
    }
    p->run_id[p->nruns] = sqlite3_column_int64(st, 0);
    reps[p->nruns++] = sqlite3_column_int64(st, 1);
  }
  sqlite3_finalize(st);
  if (!status && rc != SQLITE_DONE) status = res_fail_sqlite(db, rc, "reading the runs' points", err);
  else if (status) status = cod_err_set(err, COD_ENOMEM, "results db '%s': out of memory", db->path);
  if (!status) {
    /* the representatives, ascending and distinct: they are run ids, so the ones that are
     * their own representative, in run order */
    p->pt_rep = cod_malloc((p->nruns ? p->nruns : 1) * sizeof *p->pt_rep);
    p->run_pt = cod_malloc((p->nruns ? p->nruns : 1) * sizeof *p->run_pt);
    if (!p->pt_rep || !p->run_pt)
      status = cod_err_set(err, COD_ENOMEM, "results db '%s': out of memory", db->path);
    for (size_t i = 0; !status && i < p->nruns; i++)
      if (reps[i] == p->run_id[i]) p->pt_rep[p->npts++] = reps[i];
    for (size_t i = 0; !status && i < p->nruns; i++) find_rep(p, reps[i], &p->run_pt[i]);
  }
  cod_free(reps);
  return status;
}

static int key_index(res_points *p, const char *name, size_t hint, size_t *k) {
  if (hint < p->nkeys && strcmp(p->keys[hint], name) == 0) return *k = hint, COD_OK;
  for (size_t i = 0; i < p->nkeys; i++)
    if (strcmp(p->keys[i], name) == 0) return *k = i, COD_OK;
  if (p->nkeys == p->cap_keys) {
    size_t cap = p->cap_keys ? 2 * p->cap_keys : 64;
    char **keys = cod_realloc(p->keys, cap * sizeof *keys);
    if (!keys) return COD_ENOMEM;
    p->keys = keys;
    for (size_t i = 0; i < p->npts; i++) {
      if (!p->val[i]) continue; /* allocated at cap_keys when its first key arrives */
      char **v = cod_realloc(p->val[i], cap * sizeof *v);
      if (!v) return COD_ENOMEM;
      memset(v + p->cap_keys, 0, (cap - p->cap_keys) * sizeof *v);
      p->val[i] = v;
    }
    p->cap_keys = cap;
  }
  if (!(p->keys[p->nkeys] = cod_strdup(name))) return COD_ENOMEM;
  *k = p->nkeys++;
  return COD_OK;
}

static int value_text(sqlite3_stmt *st, char **out) {
  const char *type = (const char *)sqlite3_column_text(st, 5);
  char buf[64];
  const char *s;
  if (!type) type = "null";
  if (strcmp(type, "true") == 0 || strcmp(type, "false") == 0 || strcmp(type, "null") == 0) {
    s = type;
  } else if (strcmp(type, "real") == 0) {
    snprintf(buf, sizeof buf, "%.15g", sqlite3_column_double(st, 6));
    s = buf;
  } else if (strcmp(type, "integer") == 0) {
    snprintf(buf, sizeof buf, "%lld", (long long)sqlite3_column_int64(st, 6));
    s = buf;
  } else {
    s = (const char *)sqlite3_column_text(st, 6);
    if (!s) s = "";
  }
  return (*out = cod_strdup(s)) ? COD_OK : COD_ENOMEM;
}

static int load_keys(res_db *db, res_points *p, cod_err *err) {
  p->val = cod_calloc(p->npts ? p->npts : 1, sizeof *p->val);
  if (!p->val) return cod_err_set(err, COD_ENOMEM, "results db '%s': out of memory", db->path);
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db->conn, FLAT_SQL, -1, &st, NULL);
  if (rc != SQLITE_OK) return res_fail_sqlite(db, rc, "reading the runs' scenario keys", err);
  int status = COD_OK;
  size_t hint = 0, pt = 0;
  while (!status && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(st, 4);
    size_t k = 0;
    if (!name || !find_rep(p, sqlite3_column_int64(st, 0), &pt)) continue;
    status = key_index(p, name, hint, &k);
    if (!status && !p->val[pt]) {
      p->val[pt] = cod_calloc(p->cap_keys, sizeof *p->val[pt]);
      if (!p->val[pt]) status = COD_ENOMEM;
    }
    if (!status && !p->val[pt][k]) status = value_text(st, &p->val[pt][k]);
    hint = k + 1;
  }
  sqlite3_finalize(st);
  if (status) return cod_err_set(err, COD_ENOMEM, "results db '%s': out of memory", db->path);
  if (rc != SQLITE_DONE) return res_fail_sqlite(db, rc, "reading the runs' scenario keys", err);
  for (size_t i = 0; i < p->npts; i++) /* points without params_json: all keys NULL */
    if (!p->val[i] && !(p->val[i] = cod_calloc(p->cap_keys ? p->cap_keys : 1, sizeof *p->val[i])))
      return cod_err_set(err, COD_ENOMEM, "results db '%s': out of memory", db->path);
  return COD_OK;
}

int res_points_load(res_db *db, res_points **out, cod_err *err) {
  res_points *p = cod_calloc(1, sizeof *p);
  if (!p) return cod_err_set(err, COD_ENOMEM, "results db '%s': out of memory", db->path);
  int status = load_map(db, p, err);
  if (!status) status = load_keys(db, p, err);
  if (status) {
    res_points_free(p);
    return status;
  }
  *out = p;
  return COD_OK;
}

size_t res_points_count(const res_points *p) { return p->npts; }
size_t res_points_nkeys(const res_points *p) { return p->nkeys; }
const char *res_points_key(const res_points *p, size_t k) { return p->keys[k]; }

const char *res_points_value(const res_points *p, size_t i, size_t k) {
  return i < p->npts && k < p->nkeys ? p->val[i][k] : NULL;
}

int res_points_of_run(const res_points *p, int64_t run_id, size_t *point) {
  size_t lo = 0, hi = p->nruns;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (p->run_id[mid] < run_id) lo = mid + 1;
    else hi = mid;
  }
  if (lo < p->nruns && p->run_id[lo] == run_id) {
    *point = p->run_pt[lo];
    return COD_OK;
  }
  return COD_ENODATA;
}

/* The short name of a canonical key: after "class." the rest, else after the first dot. */
static const char *short_name(const char *key) {
  if (strncmp(key, "class.", 6) == 0) return key + 6;
  const char *dot = strchr(key, '.');
  return dot ? dot + 1 : key;
}

int res_points_key_find(const res_points *p, const char *name, size_t *k, cod_err *err) {
  if (strcmp(name, "n") == 0) name = "cluster.workers";
  size_t hits = 0, hit = 0;
  for (size_t i = 0; i < p->nkeys; i++)
    if (strcmp(p->keys[i], name) == 0) return *k = i, COD_OK;
  char cand[400] = "";
  for (size_t i = 0; i < p->nkeys; i++)
    if (strcmp(short_name(p->keys[i]), name) == 0) {
      if (hits++) strncat(cand, ", ", sizeof cand - strlen(cand) - 1);
      strncat(cand, p->keys[i], sizeof cand - strlen(cand) - 1);
      hit = i;
    }
  if (hits == 1) return *k = hit, COD_OK;
  if (hits > 1)
    return cod_err_set(err, COD_EINVAL, "key '%s' is ambiguous: %s", name, cand);
  /* keys that contain the name or are contained in it: likely typos of a section */
  for (size_t i = 0; i < p->nkeys; i++) {
    const char *s = short_name(p->keys[i]);
    if (strstr(p->keys[i], name) || (strlen(s) > 2 && strstr(name, s))) {
      if (cand[0]) strncat(cand, ", ", sizeof cand - strlen(cand) - 1);
      strncat(cand, p->keys[i], sizeof cand - strlen(cand) - 1);
    }
  }
  if (cand[0])
    return cod_err_set(err, COD_EINVAL, "no scenario key '%s' in the runs of this database "
                       "(did you mean: %s?)", name, cand);
  return cod_err_set(err, COD_EINVAL, "no scenario key '%s' in the runs of this database "
                     "(keys are section.key, e.g. cluster.workers, or class.NAME.key: see "
                     "scenarios/README.md)", name);
}

typedef struct pair {
  size_t cell, point;
} pair;

static int cmp_pair(const void *a, const void *b) {
  const pair *x = a, *y = b;
  if (x->cell != y->cell) return x->cell < y->cell ? -1 : 1;
  return (x->point > y->point) - (x->point < y->point);
}

static int same(const char *a, const char *b) {
  return a == b || (a && b && strcmp(a, b) == 0);
}

int res_points_split(const res_points *p, const size_t *cell, const size_t *point, size_t n,
                     unsigned char *mask, cod_err *err) {
  pair *v = cod_malloc((n ? n : 1) * sizeof *v);
  if (!v) return cod_err_set(err, COD_ENOMEM, "splitting points: out of memory");
  for (size_t j = 0; j < n; j++) v[j].cell = cell[j], v[j].point = point[j];
  qsort(v, n, sizeof *v, cmp_pair);
  for (size_t j = 0; j < n;) {
    size_t e = j + 1;
    while (e < n && v[e].cell == v[j].cell) e++;
    for (size_t q = j + 1; q < e; q++) {
      if (v[q].point == v[j].point || v[q].point >= p->npts || v[j].point >= p->npts) continue;
      for (size_t k = 0; k < p->nkeys; k++)
        if (!mask[k] && !same(p->val[v[j].point][k], p->val[v[q].point][k])) mask[k] = 1;
    }
    j = e;
  }
  cod_free(v);
  return COD_OK;
}

int res_points_split_cells(const res_points *p, const size_t *cell, const size_t *point,
                           size_t n, unsigned char *gmask, unsigned char *pmask, cod_err *err) {
  pair *v = cod_malloc((n ? n : 1) * sizeof *v);
  unsigned char *local = cod_malloc(p->nkeys + 1);
  if (!v || !local) {
    cod_free(v), cod_free(local);
    return cod_err_set(err, COD_ENOMEM, "splitting points: out of memory");
  }
  for (size_t j = 0; j < n; j++) v[j].cell = cell[j], v[j].point = point[j];
  qsort(v, n, sizeof *v, cmp_pair);
  for (size_t j = 0; j < n;) {
    size_t e = j + 1;
    while (e < n && v[e].cell == v[j].cell) e++;
    memset(local, 0, p->nkeys + 1);
    for (size_t q = j + 1; q < e; q++) {
      if (v[q].point == v[j].point || v[q].point >= p->npts || v[j].point >= p->npts) continue;
      for (size_t k = 0; k < p->nkeys; k++)
        if (!local[k] && !same(p->val[v[j].point][k], p->val[v[q].point][k])) local[k] = 1;
    }
    for (size_t k = 0; k < p->nkeys; k++) {
      if (!local[k]) continue;
      if (gmask) gmask[k] = 1;
      for (size_t q = j; pmask && q < e; q++)
        if (v[q].point < p->npts) pmask[v[q].point * p->nkeys + k] = 1;
    }
    j = e;
  }
  cod_free(v), cod_free(local);
  return COD_OK;
}

void res_points_display(const res_points *p, size_t k, const unsigned char *mask, char *buf,
                        size_t cap) {
  (void)mask;
  const char *s = short_name(p->keys[k]);
  for (size_t j = 0; j < p->nkeys; j++)
    if (j != k && strcmp(short_name(p->keys[j]), s) == 0) {
      s = p->keys[k];
      break;
    }
  snprintf(buf, cap, "%s", s);
}

int res_points_label(const res_points *p, size_t i, const unsigned char *mask, char **out,
                     cod_err *err) {
  size_t len = 1;
  char name[256];
  for (size_t k = 0; k < p->nkeys; k++)
    if (mask[k]) {
      const char *v = res_points_value(p, i, k);
      len += strlen(p->keys[k]) + (v ? strlen(v) : 4) + 3;
    }
  char *s = cod_malloc(len);
  if (!s) return cod_err_set(err, COD_ENOMEM, "point label: out of memory");
  s[0] = 0;
  size_t used = 0;
  for (size_t k = 0; k < p->nkeys; k++) {
    if (!mask[k]) continue;
    const char *v = res_points_value(p, i, k);
    res_points_display(p, k, mask, name, sizeof name);
    used += (size_t)snprintf(s + used, len - used, "%s%s=%s", used ? ", " : "", name,
                             v ? v : "none");
  }
  *out = s;
  return COD_OK;
}
