/* run_scenario.c: scenario files (INI, via libinih) and sweep expansion.
 *
 * Reading happens in two passes. Pass one feeds libinih through our own line reader
 * (ini_parse_stream), which counts physical lines, tracks section headers and marks
 * indented continuation lines, because the system libinih is built without line numbers
 * in the handler and with a fixed 200-byte line buffer; the handler only records raw
 * (section, key, value, line) entries. Pass two checks headers and entries against the
 * key registry (run_config.h) and expands lists and ranges into canonical value texts.
 * Of all errors found, the one on the smallest line is reported, so messages point at the
 * first problem in the file. The reader mirrors inih's own rules for what is a comment,
 * a section header or a continuation (see scenarios/README.md, "Syntax").
 *
 * Point i of the sweep is decoded in mixed radix over the multi-valued entries in order,
 * the last one varying fastest (entry.stride). Values are kept as canonical strings and
 * re-applied per point, which costs microseconds and keeps one code path for checking.
 */
#include "run_scenario.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cod_alloc.h"
#include "cod_file.h"
#include "run_units.h"

typedef struct entry {
  size_t key_id;   /* registry id */
  size_t cls;      /* class index for class keys */
  size_t line;     /* 0 = command line */
  char **values;   /* canonical alternatives, n_values >= 1 */
  size_t n_values;
  size_t stride;   /* product of n_values of the entries after this one */
  int paired;      /* 1: a follower of a [sweep] pair: varies with entry `lead` */
  size_t lead;     /* paired: index of the pair's first entry (same n_values) */
} entry;

typedef struct class_def {
  char name[RUN_CLASS_NAME_MAX];
  size_t line;
} class_def;

struct run_scenario {
  char *source;
  uint64_t fnv;          /* FNV-1a state: the file's bytes, then every override */
  char hash[17];
  char default_name[RUN_NAME_MAX];
  entry *entries;
  size_t n_entries;
  class_def classes[RUN_CLASSES_MAX];
  size_t n_classes;
  size_t n_points;
  int skip_infeasible;   /* [sweep] skip = infeasible */
  size_t sweep_line;     /* line of [sweep] skip, 0 = not set */
};

/* Fold bytes into the scenario's FNV-1a hash and refresh its text form. */
static void hash_add(run_scenario *sc, const char *p, size_t len) {
  for (size_t i = 0; i < len; i++) sc->fnv = (sc->fnv ^ (unsigned char)p[i]) * 1099511628211ull;
  snprintf(sc->hash, sizeof sc->hash, "%016llx", (unsigned long long)sc->fnv);
}


/* ---- small helpers ---------------------------------------------------------------------- */

static const char *const main_sections[] = {"run", "cluster", "model", "coding", "latency",
                                            "network", "master", "data", "load", NULL};

static char *trim(char *s) {
  while (*s && isspace((unsigned char)*s)) s++;
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
  return s;
}


static void free_values(char **v, size_t n) {
  if (!v) return;
  for (size_t i = 0; i < n; i++) cod_free(v[i]);
  cod_free(v);
}

static int is_class_name(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n >= RUN_CLASS_NAME_MAX) return 0;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-') return 0;
  return 1;
}

/* "class NAME" -> NAME (pointer into s), else NULL. */
static const char *class_of(const char *section) {
  if (strncmp(section, "class", 5) != 0 || !isspace((unsigned char)section[5])) return NULL;
  const char *p = section + 5;
  while (isspace((unsigned char)*p)) p++;
  return p;
}

/* Display form of a key's section for messages: "cluster" or "class fast". */
static void section_label(const run_scenario *sc, const entry *e, char *buf, size_t len) {
  const run_key_info *k = run_config_key(e->key_id);
  if (strcmp(k->section, "class") == 0)
    snprintf(buf, len, "class %s", sc->classes[e->cls].name);
  else
    snprintf(buf, len, "%s", k->section);
}

static int is_range_kind(int kind) {
  return kind == RUN_KEY_INT || kind == RUN_KEY_REAL || kind == RUN_KEY_LAYERS ||
         kind == RUN_KEY_WORKER_SET;
}

/* ---- lists and ranges ----------------------------------------------------------------- */

typedef struct vlist {
  char **v;
  size_t n, cap;
} vlist;

static int vlist_push(vlist *l, const char *s) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 8;
    char **p = cod_realloc(l->v, cap * sizeof *p);
    if (!p) return COD_ENOMEM;
    l->v = p;
    l->cap = cap;
  }
  if (!(l->v[l->n] = cod_strdup(s))) return COD_ENOMEM;
  l->n++;
  return COD_OK;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Expand one range element "A..B [step S]" of key id into l. */
static int expand_range(size_t id, const char *elem, vlist *l, cod_err *err) {
  const run_key_info *k = run_config_key(id);
  int integer = k->kind != RUN_KEY_REAL;
  char buf[256], *a, *b, *s = NULL;
  if (strlen(elem) >= sizeof buf)
    return cod_err_set(err, COD_EINVAL, "malformed range: too long");
  snprintf(buf, sizeof buf, "%s", elem);
  char *dots = strstr(buf, "..");
  *dots = '\0';
  a = trim(buf);
  b = dots + 2;
  char *st = strstr(b, "step");
  if (st) {
    *st = '\0';
    s = trim(st + 4);
    if (st > b && !isspace((unsigned char)st[-1]))
      return cod_err_set(err, COD_EINVAL, "malformed range '%.80s': expected 'a..b step s'",
                         elem);
  }
  b = trim(b);
  double va, vb, vs = 1.0;
  long long ia = 0, ib = 0, is = 1;
  char *end;
  int ok = 1;
  if (integer) {
    errno = 0;
    ia = strtoll(a, &end, 10);
    ok = ok && *a && !*end;
    ib = strtoll(b, &end, 10);
    ok = ok && *b && !*end;
    if (s) {
      is = strtoll(s, &end, 10);
      ok = ok && *s && !*end;
    }
    ok = ok && errno == 0;
    va = (double)ia, vb = (double)ib, vs = (double)is;
  } else {
    /* the ends and step take the key's prefixes and unit: 1G..4G step 1G (run_units.h) */
    int unit = run_units_of_key(k->key);
    char why[COD_ERR_MSG_LEN / 2];
    int ra = run_units_parse(a, unit, &va, why, sizeof why);
    int rb = ra < 0 ? ra : run_units_parse(b, unit, &vb, why, sizeof why);
    int rs = rb < 0 || !s ? 1 : run_units_parse(s, unit, &vs, why, sizeof why);
    if (ra < 0 || rb < 0 || rs < 0)
      return cod_err_set(err, COD_EINVAL, "malformed range '%.80s': %s", elem, why);
    ok = ra == 1 && rb == 1 && rs == 1;
  }
  if (!ok)
    return cod_err_set(err, COD_EINVAL, "malformed range '%.80s': expected %s 'a..b step s'",
                       elem, integer ? "integers" : "numbers");
  if (!(vs > 0))
    return cod_err_set(err, COD_EINVAL, "malformed range '%.80s': step must be > 0", elem);
  if (vb < va)
    return cod_err_set(err, COD_EINVAL, "malformed range '%.80s': end < start", elem);
  /* Reals: the end counts as reached within 1e-9 of a step (documented in README). */
  double span = (vb - va) / vs;
  if (span + 1 > RUN_SCENARIO_MAX_POINTS)
    return cod_err_set(err, COD_EINVAL, "malformed range '%.80s': too many points (more than %d)",
                       elem, RUN_SCENARIO_MAX_POINTS);
  /* integers: ib >= ia, so ib - ia fits in 64 unsigned bits whatever their signs; each
   * value stays in [ia, ib], and the additions are checked all the same */
  size_t count = integer ? (size_t)(((unsigned long long)ib - (unsigned long long)ia) /
                                    (unsigned long long)is) + 1
                         : (size_t)floor(span + 1e-9) + 1;
  long long iv = ia;
  for (size_t i = 0; i < count; i++) {
    char num[64], canon[RUN_VALUE_MAX];
    if (integer) {
      if (i > 0 && __builtin_add_overflow(iv, is, &iv))
        return cod_err_set(err, COD_EINVAL, "malformed range '%.80s': out of range", elem);
      snprintf(num, sizeof num, "%lld", iv);
    } else {
      double v = va + (double)i * vs;
      if (i + 1 == count && fabs(v - vb) <= 1e-9 * vs) v = vb;
      run_config_format_real(v == 0.0 ? 0.0 : v, num, sizeof num);
    }
    int r = run_config_key_parse(id, num, canon, sizeof canon, err);
    if (r) {
      char inner[COD_ERR_MSG_LEN];
      snprintf(inner, sizeof inner, "%s", err ? err->msg : "");
      return cod_err_set(err, r, "in range '%.80s': %s", elem, inner);
    }
    if ((r = vlist_push(l, canon))) return cod_err_set(err, r, "out of memory");
  }
  return COD_OK;
}

/* Expand a raw value into canonical alternatives. Errors carry no location. */
static int expand_value(size_t id, const char *raw, char ***values, size_t *n, cod_err *err) {
  const run_key_info *k = run_config_key(id);
  vlist l = {0};
  int st = COD_OK;
  char *copy = cod_strdup(raw);
  if (!copy) return cod_err_set(err, COD_ENOMEM, "out of memory");
  char *text = trim(copy);
  if (!*text) {
    st = cod_err_set(err, COD_EINVAL, "empty value: expected %s", k->expect);
    goto done;
  }
  size_t elem_no = 0;
  for (char *p = text;;) {
    char *comma = strchr(p, ',');
    if (comma) *comma = '\0';
    char *elem = trim(p);
    elem_no++;
    if (!*elem) {
      st = cod_err_set(err, COD_EINVAL, "empty list element (element %zu): expected %s",
                       elem_no, k->expect);
      goto done;
    }
    if (is_range_kind(k->kind) && strstr(elem, "..")) {
      if ((st = expand_range(id, elem, &l, err))) goto done;
    } else if (strstr(elem, "..") && k->kind != RUN_KEY_STRING) {
      st = cod_err_set(err, COD_EINVAL, "ranges need a numeric key: expected %s", k->expect);
      goto done;
    } else {
      char canon[RUN_VALUE_MAX];
      if ((st = run_config_key_parse(id, elem, canon, sizeof canon, err))) goto done;
      if ((st = vlist_push(&l, canon))) {
        cod_err_set(err, st, "out of memory");
        goto done;
      }
    }
    if (l.n > RUN_SCENARIO_MAX_POINTS) {
      st = cod_err_set(err, COD_EINVAL, "too many values (more than %d)",
                       RUN_SCENARIO_MAX_POINTS);
      goto done;
    }
    if (!comma) break;
    p = comma + 1;
  }
  if (l.n > 1) { /* the same value twice would run the same point twice */
    char **sorted = cod_malloc_array(l.n, sizeof *sorted);
    if (!sorted) {
      st = cod_err_set(err, COD_ENOMEM, "out of memory");
      goto done;
    }
    memcpy(sorted, l.v, l.n * sizeof *sorted);
    qsort(sorted, l.n, sizeof *sorted, cmp_str);
    for (size_t i = 1; i < l.n && !st; i++)
      if (strcmp(sorted[i - 1], sorted[i]) == 0)
        st = cod_err_set(err, COD_EINVAL, "value '%.80s' appears twice in the list", sorted[i]);
    cod_free(sorted);
    if (st) goto done;
  }
done:
  cod_free(copy);
  if (st) {
    free_values(l.v, l.n);
    return st;
  }
  *values = l.v;
  *n = l.n;
  return COD_OK;
}

/* Number of points with entry `skip` (or none: SIZE_MAX) counted as having n_alt values;
 * 0 if above the cap. */
static size_t count_points(const run_scenario *sc, size_t skip, size_t n_alt) {
  size_t total = 1;
  for (size_t i = 0; i < sc->n_entries; i++) {
    if (sc->entries[i].paired) continue; /* varies with its lead */
    size_t n = i == skip ? n_alt : sc->entries[i].n_values;
    if (n > RUN_SCENARIO_MAX_POINTS || total * n > RUN_SCENARIO_MAX_POINTS) return 0;
    total *= n;
  }
  if (skip == sc->n_entries) {
    if (total * n_alt > RUN_SCENARIO_MAX_POINTS) return 0;
    total *= n_alt;
  }
  return total;
}

static void update_strides(run_scenario *sc) {
  size_t stride = 1;
  for (size_t i = sc->n_entries; i-- > 0;) {
    if (sc->entries[i].paired) continue;
    sc->entries[i].stride = stride;
    stride *= sc->entries[i].n_values;
  }
  for (size_t i = 0; i < sc->n_entries; i++) /* a pair's keys move together */
    if (sc->entries[i].paired) sc->entries[i].stride = sc->entries[sc->entries[i].lead].stride;
  sc->n_points = stride;
}

/* ---- pass one: libinih with our line reader --------------------------------------------- */

typedef struct raw_entry {
  char *section; /* our own section text, "" before any header */
  size_t header; /* header counter at the time, to tell continuations apart */
  char *key;
  char *value;   /* grows with continuation lines */
  size_t line;
} raw_entry;

typedef struct header {
  char *name;
  size_t line;
} header;

typedef struct pstate {
  const char *text;
  size_t len, pos;
  size_t line;        /* physical line last handed to inih */
  int cont;           /* that line is a continuation of the previous key */
  int key_seen;       /* inih has a previous key name in this section */
  size_t long_line;   /* first line that did not fit inih's buffer; 0 = none */
  size_t indent_line; /* first indented line that looks like `key = value`; 0 = none */
  size_t indent_owner; /* line of the key whose value it joined */
  size_t junk_line;   /* first line with bytes inih would drop silently; 0 = none */
  char junk_what[80]; /* what they are */
  int max_line;       /* inih's buffer size */
  char *section;
  size_t n_headers;
  header *headers;
  size_t hcap;
  raw_entry *raw;
  size_t n_raw, rcap;
  int oom;
} pstate;

static int push_header(pstate *ps, const char *s, size_t n) {
  if (ps->n_headers == ps->hcap) {
    size_t cap = ps->hcap ? 2 * ps->hcap : 8;
    header *h = cod_realloc(ps->headers, cap * sizeof *h);
    if (!h) return 0;
    ps->headers = h;
    ps->hcap = cap;
  }
  char *name = cod_malloc(n + 1);
  if (!name) return 0;
  memcpy(name, s, n);
  name[n] = '\0';
  char *t = trim(name);
  memmove(name, t, strlen(t) + 1);
  ps->headers[ps->n_headers].name = name;
  ps->headers[ps->n_headers].line = ps->line;
  ps->n_headers++;
  ps->section = name;
  return 1;
}

static void junk(pstate *ps, const char *what) {
  if (ps->junk_line) return;
  ps->junk_line = ps->line;
  snprintf(ps->junk_what, sizeof ps->junk_what, "%s", what);
}

/* Bytes of a physical line that inih would take as whitespace or drop: a carriage return
 * that does not end the line (CRLF line ends are accepted; a lone CR, old Mac style, would
 * make the whole file one line), and control characters other than tab. */
static void check_bytes(pstate *ps, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\r' && !(i + 1 < n && s[i + 1] == '\n'))
      return junk(ps, "carriage return without a line feed (line ends must be LF or CRLF)");
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
      char what[80];
      snprintf(what, sizeof what, "control character 0x%02x", c);
      return junk(ps, what);
    }
  }
}

/* Classify the line in `str` the way inih will: comment, continuation, header, key. */
static void classify(pstate *ps, char *str) {
  char *start = str;
  if (ps->line == 1 && (unsigned char)start[0] == 0xEF && (unsigned char)start[1] == 0xBB &&
      (unsigned char)start[2] == 0xBF)
    start += 3;
  while (*start && isspace((unsigned char)*start)) start++;
  ps->cont = 0;
  if (!*start || *start == ';' || *start == '#') return;
  if (ps->key_seen && start > str) {
    ps->cont = 1;
    /* An indented `key = value` would silently become part of the previous value. */
    const char *p = start;
    while (isalnum((unsigned char)*p) || *p == '_') p++;
    while (*p == ' ' || *p == '\t') p++;
    if (p > start && (*p == '=' || *p == ':') && !ps->indent_line) ps->indent_line = ps->line;
    return;
  }
  if (*start != '[') return;
  int was_space = 0;
  char *p = start + 1;
  while (*p && *p != ']' && !(was_space && *p == ';')) {
    was_space = isspace((unsigned char)*p);
    p++;
  }
  if (*p != ']') return; /* inih reports it as a syntax error */
  /* inih ignores whatever follows the ']': `[cluster] workers = 0` would vanish */
  const char *rest = p + 1;
  while (*rest && isspace((unsigned char)*rest)) rest++;
  if (*rest && *rest != ';' && *rest != '#')
    junk(ps, "text after ']' on a section line (put keys on their own lines)");
  if (!push_header(ps, start + 1, (size_t)(p - start - 1))) ps->oom = 1;
  ps->key_seen = 0;
}

static char *reader(char *str, int num, void *stream) {
  pstate *ps = stream;
  if (ps->pos >= ps->len || ps->oom) return NULL;
  const char *s = ps->text + ps->pos;
  const char *nl = memchr(s, '\n', ps->len - ps->pos);
  size_t n = nl ? (size_t)(nl - s) + 1 : ps->len - ps->pos;
  ps->line++;
  ps->pos += n;
  ps->max_line = num;
  check_bytes(ps, s, n);
  if (n + 1 > (size_t)num || (n + 2 > (size_t)num && !nl)) {
    if (!ps->long_line) ps->long_line = ps->line;
    str[0] = '\n';
    str[1] = '\0';
    ps->cont = 0;
    return str;
  }
  memcpy(str, s, n);
  str[n] = '\0';
  classify(ps, str);
  return str;
}

static int handler(void *user, const char *section, const char *name, const char *value) {
  (void)section; /* inih truncates long section names; we track our own */
  pstate *ps = user;
  if (ps->oom) return 0;
  if (ps->cont && ps->n_raw) {
    raw_entry *r = &ps->raw[ps->n_raw - 1];
    if (ps->line == ps->indent_line) ps->indent_owner = r->line;
    /* this libinih keeps inline comments on continuation lines: drop them as on others */
    size_t b = strlen(value);
    for (size_t k = 1; k < b; k++)
      if (value[k] == ';' && isspace((unsigned char)value[k - 1])) {
        b = k;
        break;
      }
    while (b && isspace((unsigned char)value[b - 1])) b--;
    size_t a = strlen(r->value);
    char *v = cod_realloc(r->value, a + b + 2);
    if (!v) {
      ps->oom = 1;
      return 0;
    }
    v[a] = ' ';
    memcpy(v + a + 1, value, b);
    v[a + 1 + b] = '\0';
    r->value = v;
    return 1;
  }
  if (ps->n_raw == ps->rcap) {
    size_t cap = ps->rcap ? 2 * ps->rcap : 16;
    raw_entry *r = cod_realloc(ps->raw, cap * sizeof *r);
    if (!r) {
      ps->oom = 1;
      return 0;
    }
    ps->raw = r;
    ps->rcap = cap;
  }
  raw_entry *r = &ps->raw[ps->n_raw];
  r->section = cod_strdup(ps->section ? ps->section : "");
  r->key = cod_strdup(name);
  r->value = cod_strdup(value);
  r->header = ps->n_headers;
  r->line = ps->line;
  ps->n_raw++;
  if (!r->section || !r->key || !r->value) {
    ps->oom = 1;
    return 0;
  }
  ps->key_seen = name[0] != '\0';
  return 1;
}

static void pstate_fini(pstate *ps) {
  for (size_t i = 0; i < ps->n_headers; i++) cod_free(ps->headers[i].name);
  cod_free(ps->headers);
  for (size_t i = 0; i < ps->n_raw; i++) {
    cod_free(ps->raw[i].section);
    cod_free(ps->raw[i].key);
    cod_free(ps->raw[i].value);
  }
  cod_free(ps->raw);
}

/* ---- pass two: checking ---------------------------------------------------------------- */

/* The first error by line number wins. */
typedef struct firsterr {
  size_t line; /* 0 = none yet */
  cod_err e;
} firsterr;

static void keep_first(firsterr *f, size_t line, const cod_err *e) {
  if (!f->line || line < f->line) {
    f->line = line;
    f->e = *e;
  }
}

static void known_keys(const char *section, char *buf, size_t len) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < run_config_key_count(); i++) {
    const run_key_info *k = run_config_key(i);
    if (strcmp(k->section, section) != 0) continue;
    int w = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", k->key);
    if (w < 0 || (size_t)w >= len - used) break;
    used += (size_t)w;
  }
}

/* Edit distance of a and b (both short key names), capped at 9. */
static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b), row[65];
  if (la > 64 || lb > 64) return 9;
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      diag = up;
      row[j] = best;
    }
  }
  return row[lb] > 9 ? 9 : row[lb];
}

/* " (known: ...; did you mean 'workers'?)" for an unknown key of section, the nearest known
 * key suggested when it is within a third of the name's length (at least 1 edit), so a
 * file and a --set typo get the same help. */
static void unknown_key_help(const char *section, const char *key, char *buf, size_t len) {
  char list[400];
  known_keys(section, list, sizeof list);
  const char *best = NULL;
  size_t best_d = 9, limit = strlen(key) / 3 > 1 ? strlen(key) / 3 : 1;
  for (size_t i = 0; i < run_config_key_count(); i++) {
    const run_key_info *k = run_config_key(i);
    if (strcmp(k->section, section) != 0) continue;
    size_t d = edit_distance(key, k->key);
    if (d < best_d) best_d = d, best = k->key;
  }
  if (best && best_d <= limit)
    snprintf(buf, len, " (known: %s; did you mean '%s'?)", list, best);
  else
    snprintf(buf, len, " (known: %s)", list);
}

static int check_headers(run_scenario *sc, const pstate *ps, const char *src, firsterr *fe) {
  cod_err e = {0};
  for (size_t h = 0; h < ps->n_headers; h++) {
    const char *name = ps->headers[h].name;
    size_t line = ps->headers[h].line;
    const char *cls = class_of(name);
    int known = 0;
    for (size_t i = 0; main_sections[i]; i++) known |= strcmp(name, main_sections[i]) == 0;
    if (known || strcmp(name, "sweep") == 0) continue;
    if (!cls) {
      cod_err_set(&e, COD_EFORMAT,
                  "%.200s:%zu: [%.60s]: unknown section (expected run, model, coding, cluster, "
                  "latency, network, master, data, sweep or class NAME)", src, line, name);
      keep_first(fe, line, &e);
      return 1;
    }
    if (!is_class_name(cls)) {
      cod_err_set(&e, COD_EFORMAT,
                  "%.200s:%zu: [%.60s]: bad class name (expected letters, digits, '_' or '-', "
                  "at most %d)", src, line, name, RUN_CLASS_NAME_MAX - 1);
      keep_first(fe, line, &e);
      return 1;
    }
    for (size_t c = 0; c < sc->n_classes; c++)
      if (strcmp(sc->classes[c].name, cls) == 0) {
        cod_err_set(&e, COD_EFORMAT, "%.200s:%zu: [class %s]: duplicate class (first at line %zu)",
                    src, line, cls, sc->classes[c].line);
        keep_first(fe, line, &e);
        return 1;
      }
    if (sc->n_classes == RUN_CLASSES_MAX) {
      cod_err_set(&e, COD_EFORMAT, "%.200s:%zu: [class %s]: too many classes (at most %d)",
                  src, line, cls, RUN_CLASSES_MAX);
      keep_first(fe, line, &e);
      return 1;
    }
    snprintf(sc->classes[sc->n_classes].name, RUN_CLASS_NAME_MAX, "%s", cls);
    sc->classes[sc->n_classes].line = line;
    sc->n_classes++;
  }
  return 0;
}

/* ---- [sweep]: skip = infeasible, pair = KEY,KEY: AxB, ... ----------------------------- */

#define PAIR_KEYS_MAX 4 /* keys one pair line may tie together */

static int section_error(firsterr *fe, size_t line, const char *src, const char *section,
                         const char *key, const char *fmt, const char *a, const char *b) {
  cod_err e = {0}, m = {0};
  cod_err_set(&m, COD_EFORMAT, fmt, a, b);
  cod_err_set(&e, COD_EFORMAT, "%.200s:%zu: [%.60s] %s: %s", src, line, section, key, m.msg);
  keep_first(fe, line, &e);
  return 1;
}

static int sweep_error(firsterr *fe, size_t line, const char *src, const char *key,
                       const char *fmt, const char *a, const char *b) {
  return section_error(fe, line, src, "sweep", key, fmt, a, b);
}

/* The registry id and class of a pair's key name: "section.key", "class.NAME.key", or a bare
 * key that names exactly one key outside [class]. 0, or 1 with msg. */
static int pair_key(const run_scenario *sc, const char *home, size_t home_cls,
                    const char *name, size_t *id, size_t *cls, char *msg, size_t cap) {
  const char *dot = strchr(name, '.'), *last = strrchr(name, '.');
  *cls = 0;
  int own = home && !dot ? run_config_key_find(home, name) : -1;
  if (own >= 0) { /* a bare key of the section the pair is written in */
    *id = (size_t)own, *cls = strcmp(home, "class") == 0 ? home_cls : 0;
    return 0;
  }
  if (!dot) {
    int found = -1, twice = 0;
    for (size_t i = 0; i < run_config_key_count(); i++) {
      const run_key_info *k = run_config_key(i);
      if (strcmp(k->section, "class") == 0 || strcmp(k->key, name) != 0) continue;
      twice |= found >= 0;
      found = (int)i;
    }
    if (found < 0 || twice) {
      snprintf(msg, cap, "'%.60s' %s: write section.key", name,
               found < 0 ? "is no key" : "is a key of several sections");
      return 1;
    }
    *id = (size_t)found;
    return 0;
  }
  char sec[32];
  if ((size_t)(dot - name) >= sizeof sec) {
    snprintf(msg, cap, "'%.60s' is no section.key", name);
    return 1;
  }
  memcpy(sec, name, (size_t)(dot - name));
  sec[dot - name] = '\0';
  if (strcmp(sec, "class") == 0) {
    size_t n = (size_t)(last - dot - 1), c = 0;
    while (c < sc->n_classes && !(strlen(sc->classes[c].name) == n &&
                                  strncmp(sc->classes[c].name, dot + 1, n) == 0))
      c++;
    if (last == dot || c == sc->n_classes) {
      snprintf(msg, cap, "'%.60s': no such class (write class.NAME.key)", name);
      return 1;
    }
    *cls = c;
  } else if (last != dot) {
    snprintf(msg, cap, "'%.60s' is no section.key", name);
    return 1;
  }
  int k = run_config_key_find(sec, last + 1);
  if (k < 0) {
    snprintf(msg, cap, "'%.60s' is no key", name);
    return 1;
  }
  *id = (size_t)k;
  return 0;
}

/* `pair = K1,K2[,...]: a1xb1, a2xb2, ...`: one sweep axis whose values are tuples, the keys
 * taking the tuple's elements together (entries of the keys, the first leading). */
/* The pair written in section `label` ("sweep", "coding", "class slow"); bare key names
 * are first looked up in section `home` (NULL for [sweep]; "class" with class home_cls). */
#define sweep_error(fe, line, src, key, fmt, a, b) section_error(fe, line, src, label, key, fmt, a, b)
static int sweep_pair(run_scenario *sc, const raw_entry *re, const char *src, firsterr *fe,
                      const char *label, const char *home, size_t home_cls) {
  size_t line = re->line, nk = 0, ids[PAIR_KEYS_MAX], cls[PAIR_KEYS_MAX];
  char *copy = cod_strdup(re->value), msg[256];
  if (!copy) return -1;
  char *colon = strchr(copy, ':');
  int st = 0;
  if (!colon) {
    st = sweep_error(fe, line, src, "pair", "expected 'KEY,KEY: AxB, ...' (e.g. pair = ka,kb: "
                     "4x5, 5x4)%s%s", "", "");
    goto done;
  }
  *colon = '\0';
  for (char *k = copy, *next; k && !st; k = next) {
    next = strchr(k, ',');
    if (next) *next++ = '\0';
    char *name = trim(k);
    if (nk == PAIR_KEYS_MAX) {
      st = sweep_error(fe, line, src, "pair", "more than 4 keys%s%s", "", "");
    } else if (pair_key(sc, home, home_cls, name, &ids[nk], &cls[nk], msg, sizeof msg)) {
      st = sweep_error(fe, line, src, "pair", "%s%s", msg, "");
    } else {
      for (size_t j = 0; j < nk && !st; j++)
        if (ids[j] == ids[nk] && cls[j] == cls[nk])
          st = sweep_error(fe, line, src, "pair", "key '%s' named twice%s", name, "");
      int kind = run_config_key(ids[nk])->kind;
      if (!st && (kind == RUN_KEY_LAYERS || kind == RUN_KEY_WORKER_SET))
        st = sweep_error(fe, line, src, "pair", "'%s' holds a set: it cannot be paired%s",
                         name, "");
      nk++;
    }
  }
  if (!st && nk < 2) st = sweep_error(fe, line, src, "pair", "name at least two keys%s%s", "", "");
  for (size_t j = 0; j < sc->n_entries && !st; j++)
    for (size_t k = 0; k < nk && !st; k++)
      if (sc->entries[j].key_id == ids[k] && sc->entries[j].cls == cls[k]) {
        char first[32];
        snprintf(first, sizeof first, "%zu", sc->entries[j].line);
        st = sweep_error(fe, line, src, "pair", "%s is already set at line %s",
                         run_config_key(ids[k])->key, first);
      }
  vlist col[PAIR_KEYS_MAX];
  memset(col, 0, sizeof col);
  size_t tuples = 0;
  for (char *t = colon + 1, *next; t && !st; t = next) {
    next = strchr(t, ',');
    if (next) *next++ = '\0';
    char *tuple = trim(t), *v = tuple;
    for (size_t k = 0; k < nk && !st; k++) {
      char *x = k + 1 < nk ? strchr(v, 'x') : NULL;
      if (k + 1 < nk && !x) {
        st = sweep_error(fe, line, src, "pair", "'%s': expected one value per key joined by "
                         "'x' (e.g. 4x5)%s", tuple, "");
        break;
      }
      if (x) *x = '\0';
      char canon[RUN_VALUE_MAX];
      cod_err ie = {0};
      if (run_config_key_parse(ids[k], trim(v), canon, sizeof canon, &ie)) {
        st = sweep_error(fe, line, src, "pair", "%s: %s", run_config_key(ids[k])->key, ie.msg);
      } else if (vlist_push(&col[k], canon)) {
        st = -1;
      }
      v = x ? x + 1 : NULL;
    }
    tuples++;
  }
  for (size_t a = 0; a < tuples && !st; a++) /* the same tuple twice runs a point twice */
    for (size_t b = a + 1; b < tuples && !st; b++) {
      size_t same = 0;
      for (size_t k = 0; k < nk; k++) same += strcmp(col[k].v[a], col[k].v[b]) == 0;
      if (same == nk) {
        char nb[32];
        snprintf(nb, sizeof nb, "%zu", b + 1);
        st = sweep_error(fe, line, src, "pair", "tuple %s repeats an earlier one%s", nb, "");
      }
    }
  if (!st && !count_points(sc, sc->n_entries, tuples))
    st = sweep_error(fe, line, src, "pair", "the sweep has too many points%s%s", "", "");
  for (size_t k = 0; k < nk; k++) {
    if (st) {
      free_values(col[k].v, col[k].n);
      continue;
    }
    entry ent = {ids[k], cls[k], line, col[k].v, col[k].n, 1, k > 0, sc->n_entries - k};
    sc->entries[sc->n_entries++] = ent; /* capacity: PAIR_KEYS_MAX per raw entry */
  }
done:
  cod_free(copy);
  return st;
}
#undef sweep_error

/* A [sweep] line: skip or pair. 0, 1 (error kept in fe) or -1 (out of memory). */
static int sweep_entry(run_scenario *sc, const raw_entry *re, const char *src, firsterr *fe) {
  if (strcmp(re->key, "pair") == 0) return sweep_pair(sc, re, src, fe, "sweep", NULL, 0);
  if (strcmp(re->key, "skip") == 0) {
    char *v = cod_strdup(re->value);
    if (!v) return -1;
    char *t = trim(v);
    int st = 0;
    if (sc->sweep_line)
      st = sweep_error(fe, re->line, src, "skip", "duplicate key%s%s", "", "");
    else if (strcmp(t, "infeasible") == 0 || strcmp(t, "none") == 0)
      sc->skip_infeasible = strcmp(t, "infeasible") == 0, sc->sweep_line = re->line;
    else
      st = sweep_error(fe, re->line, src, "skip", "bad value '%.60s': expected none or "
                       "infeasible (run the feasible points, record the others)%s", t, "");
    cod_free(v);
    return st;
  }
  return sweep_error(fe, re->line, src, re->key, "unknown key (known: skip, pair)%s%s", "", "");
}

/* Turn raw entries into checked entries; stops at the first error. */
static int check_entries(run_scenario *sc, const pstate *ps, const char *src, firsterr *fe) {
  cod_err e = {0};
  for (size_t r = 0; r < ps->n_raw; r++) {
    const raw_entry *re = &ps->raw[r];
    size_t line = re->line;
    if (fe->line && line > fe->line) return 0; /* an earlier error is already known */
    const char *cls = class_of(re->section);
    const char *sec_kind = cls ? "class" : re->section;
    size_t ci = 0;
    if (!re->section[0]) {
      cod_err_set(&e, COD_EFORMAT, "%.200s:%zu: %.60s: key outside any section (put it under "
                  "a [section] header)", src, line, re->key);
      keep_first(fe, line, &e);
      return 1;
    }
    if (strcmp(re->section, "sweep") == 0) {
      int st = sweep_entry(sc, re, src, fe);
      if (st) return st;
      continue;
    }
    if (cls) {
      while (ci < sc->n_classes && strcmp(sc->classes[ci].name, cls) != 0) ci++;
      if (ci == sc->n_classes) sec_kind = "?";
    }
    int known = cls && ci < sc->n_classes;
    for (size_t i = 0; main_sections[i]; i++) known |= strcmp(re->section, main_sections[i]) == 0;
    if (!known) {
      cod_err_set(&e, COD_EFORMAT, "%.200s:%zu: [%.60s] %.60s: unknown section", src, line,
                  re->section, re->key);
      keep_first(fe, line, &e);
      return 1;
    }
    int id = run_config_key_find(sec_kind, re->key);
    if (id < 0 && strcmp(re->key, "pair") == 0) { /* `pair = ka, kb: 4x5` in [coding] */
      int st = sweep_pair(sc, re, src, fe, re->section, sec_kind, ci);
      if (st) return st;
      continue;
    }
    if (id < 0) {
      char help[480];
      unknown_key_help(sec_kind, re->key, help, sizeof help);
      cod_err_set(&e, COD_EFORMAT, "%.200s:%zu: [%.60s] %.60s: unknown key%s", src,
                  line, re->section, re->key, help);
      keep_first(fe, line, &e);
      return 1;
    }
    for (size_t j = 0; j < sc->n_entries; j++)
      if (sc->entries[j].key_id == (size_t)id && sc->entries[j].cls == ci) {
        cod_err_set(&e, COD_EFORMAT, "%.200s:%zu: [%.60s] %s: duplicate key (first set at "
                    "line %zu)", src, line, re->section, re->key, sc->entries[j].line);
        keep_first(fe, line, &e);
        return 1;
      }
    entry ent = {(size_t)id, ci, line, NULL, 0, 1, 0, 0};
    cod_err inner = {0};
    int st = expand_value((size_t)id, re->value, &ent.values, &ent.n_values, &inner);
    if (st == COD_ENOMEM) return -1;
    if (st) {
      cod_err_set(&e, COD_EFORMAT, "%.200s:%zu: [%.60s] %s: %s", src, line, re->section,
                  re->key, inner.msg);
      keep_first(fe, line, &e);
      return 1;
    }
    if (!count_points(sc, sc->n_entries, ent.n_values)) {
      free_values(ent.values, ent.n_values);
      cod_err_set(&e, COD_EFORMAT, "%.200s:%zu: [%.60s] %s: the sweep has too many points "
                  "(more than %d)", src, line, re->section, re->key, RUN_SCENARIO_MAX_POINTS);
      keep_first(fe, line, &e);
      return 1;
    }
    sc->entries[sc->n_entries++] = ent; /* capacity reserved by the caller */
  }
  /* every class needs its count (an end-of-file check: any other error comes first) */
  for (size_t c = 0; c < sc->n_classes && !fe->line; c++) {
    int id = run_config_key_find("class", "count");
    size_t j = 0;
    while (j < sc->n_entries && !(sc->entries[j].key_id == (size_t)id && sc->entries[j].cls == c))
      j++;
    if (j == sc->n_entries) {
      cod_err_set(&e, COD_EFORMAT, "%.200s:%zu: [class %s]: missing key 'count' (workers in "
                  "the class)", src, sc->classes[c].line, sc->classes[c].name);
      keep_first(fe, sc->classes[c].line, &e);
      return 1;
    }
  }
  return 0;
}

static void default_name_of(const char *name, char *out, size_t len) {
  const char *base = strrchr(name, '/');
  base = base ? base + 1 : name;
  size_t n = strlen(base);
  const char *dot = strrchr(base, '.');
  if (dot && dot != base) n = (size_t)(dot - base);
  if (n >= len) n = len - 1;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) /* keep it plain ASCII so it is always a valid value */
    if (isalnum((unsigned char)base[i]) || strchr("_-.+", base[i])) out[k++] = base[i];
  out[k] = '\0';
  if (!k) snprintf(out, len, "scenario");
}

void run_scenario_free(run_scenario *sc) {
  if (!sc) return;
  for (size_t i = 0; i < sc->n_entries; i++)
    free_values(sc->entries[i].values, sc->entries[i].n_values);
  cod_free(sc->entries);
  cod_free(sc->source);
  cod_free(sc);
}

int run_scenario_parse(const char *text, size_t len, const char *name, run_scenario **out,
                       cod_err *err) {
  assert((text || len == 0) && out);
  const char *src = name ? name : "(scenario)";
  if (len > RUN_SCENARIO_MAX_BYTES)
    return cod_err_set(err, COD_EFORMAT, "%.200s: file too large (%zu bytes, at most %d)", src,
                       len, RUN_SCENARIO_MAX_BYTES);
  const char *nul = len ? memchr(text, '\0', len) : NULL;
  if (nul) {
    size_t line = 1;
    for (const char *p = text; p < nul; p++) line += *p == '\n';
    return cod_err_set(err, COD_EFORMAT, "%.200s:%zu: NUL byte in a text file", src, line);
  }
  run_scenario *sc = cod_calloc(1, sizeof *sc);
  if (!sc || !(sc->source = cod_strdup(src))) {
    cod_free(sc);
    return cod_err_set(err, COD_ENOMEM, "out of memory reading %.200s", src);
  }
  sc->fnv = 14695981039346656037ull;
  hash_add(sc, text, len);
  default_name_of(src, sc->default_name, sizeof sc->default_name);

  pstate ps = {0};
  ps.text = text;
  ps.len = len;
  int r = ini_parse_stream(reader, &ps, handler, &ps);
  int st = COD_OK;
  firsterr fe = {0};
  if (ps.oom || r == -2) {
    st = cod_err_set(err, COD_ENOMEM, "out of memory reading %.200s", src);
    goto fail;
  }
  cod_err e = {0};
  if (r > 0) {
    cod_err_set(&e, COD_EFORMAT, "%.200s:%d: syntax error: expected '[section]', "
                "'key = value' or a comment", src, r);
    keep_first(&fe, (size_t)r, &e);
  }
  if (ps.long_line) {
    cod_err_set(&e, COD_EFORMAT, "%.200s:%zu: line longer than %d characters (continue a long "
                "value on indented lines)", src, ps.long_line, ps.max_line - 3);
    keep_first(&fe, ps.long_line, &e);
  }
  if (ps.indent_line) {
    cod_err_set(&e, COD_EFORMAT, "%.200s:%zu: indented 'key = value' line would continue the "
                "previous value: keys must start in column 1", src, ps.indent_line);
    /* reported in place of any error in the value it was glued to */
    keep_first(&fe, ps.indent_owner ? ps.indent_owner : ps.indent_line, &e);
  }
  check_headers(sc, &ps, src, &fe);
  if (ps.n_raw && !(sc->entries = cod_calloc(ps.n_raw * PAIR_KEYS_MAX, sizeof *sc->entries))) {
    st = cod_err_set(err, COD_ENOMEM, "out of memory reading %.200s", src);
    goto fail;
  }
  if (check_entries(sc, &ps, src, &fe) < 0) {
    st = cod_err_set(err, COD_ENOMEM, "out of memory reading %.200s", src);
    goto fail;
  }
  if (ps.junk_line) { /* after the entries: on the same line, a value's own error names the key */
    cod_err_set(&e, COD_EFORMAT, "%.200s:%zu: %s", src, ps.junk_line, ps.junk_what);
    keep_first(&fe, ps.junk_line, &e);
  }
  if (fe.line) {
    st = fe.e.status;
    if (err) *err = fe.e;
    goto fail;
  }
  pstate_fini(&ps);
  update_strides(sc);
  *out = sc;
  return COD_OK;
fail:
  pstate_fini(&ps);
  run_scenario_free(sc);
  return st;
}

int run_scenario_load(const char *path, run_scenario **out, cod_err *err) {
  assert(path && out);
  char *buf = NULL;
  size_t n = 0;
  /* a regular file only (a FIFO would block the open), its size checked before reading,
   * and no NUL byte (the INI reader would stop at it) */
  int st = cod_file_read_all(path, "scenario", RUN_SCENARIO_MAX_BYTES, 1, &buf, &n, err);
  if (st) return st;
  st = run_scenario_parse(buf, n, path, out, err);
  cod_free(buf);
  return st;
}

/* ---- accessors and points -------------------------------------------------------------- */

const char *run_scenario_source(const run_scenario *sc) { return sc->source; }
int run_scenario_skip_infeasible(const run_scenario *sc) { return sc->skip_infeasible; }
const char *run_scenario_hash(const run_scenario *sc) { return sc->hash; }
size_t run_scenario_points(const run_scenario *sc) { return sc->n_points; }

static const char *value_at(const entry *e, size_t i) {
  return e->values[(i / e->stride) % e->n_values];
}

int run_scenario_label(const run_scenario *sc, size_t i, char **out, cod_err *err) {
  assert(sc && out && i < sc->n_points);
  size_t cap = 64, used = 0;
  char *s = cod_malloc(cap);
  if (!s) return cod_err_set(err, COD_ENOMEM, "out of memory");
  s[0] = '\0';
  for (size_t j = 0; j < sc->n_entries; j++) {
    const entry *e = &sc->entries[j];
    if (e->n_values < 2) continue;
    const run_key_info *k = run_config_key(e->key_id);
    char name[RUN_CLASS_NAME_MAX + 80];
    int clash = 0;
    for (size_t o = 0; o < sc->n_entries; o++)
      clash |= o != j && sc->entries[o].n_values > 1 &&
               strcmp(run_config_key(sc->entries[o].key_id)->key, k->key) == 0;
    if (strcmp(k->section, "class") == 0)
      snprintf(name, sizeof name, "%s.%s", sc->classes[e->cls].name, k->key);
    else if (clash)
      snprintf(name, sizeof name, "%s.%s", k->section, k->key);
    else
      snprintf(name, sizeof name, "%s", k->key);
    const char *v = value_at(e, i);
    size_t need = used + strlen(name) + strlen(v) + 3;
    if (need > cap) {
      while (cap < need) cap *= 2;
      char *p = cod_realloc(s, cap);
      if (!p) {
        cod_free(s);
        return cod_err_set(err, COD_ENOMEM, "out of memory");
      }
      s = p;
    }
    used += (size_t)sprintf(s + used, "%s%s=%s", used ? " " : "", name, v);
  }
  *out = s;
  return COD_OK;
}

static const char *where(const entry *e, char *buf, size_t len) {
  if (e->line)
    snprintf(buf, len, "line %zu", e->line);
  else
    snprintf(buf, len, "command line");
  return buf;
}

int run_scenario_point(const run_scenario *sc, size_t i, run_config *out, cod_err *err) {
  assert(sc && out && i < sc->n_points);
  cod_err e = {0};
  int st = COD_OK;
  const entry *bad_entry = NULL;
  run_config_defaults(out);
  snprintf(out->run.name, sizeof out->run.name, "%s", sc->default_name);
  for (size_t j = 0; j < sc->n_entries && !st; j++) {
    const entry *en = &sc->entries[j];
    if (strcmp(run_config_key(en->key_id)->section, "class") == 0) continue;
    st = run_config_key_apply(out, en->key_id, 0, value_at(en, i), &e);
    if (st) bad_entry = en;
  }
  out->n_classes = sc->n_classes;
  for (size_t c = 0; c < sc->n_classes && !st; c++) {
    run_class *cl = &out->classes[c];
    snprintf(cl->name, sizeof cl->name, "%s", sc->classes[c].name);
    cl->count = 0;
    cl->worker.compute_rate_flops = out->cluster.compute_rate_flops;
    cl->worker.uplink_bps = out->network.uplink_bps;
    cl->worker.downlink_bps = out->network.downlink_bps;
    cl->worker.storage_bytes = out->cluster.storage_bytes;
    cl->worker.latency = out->latency;
    cl->worker.energy = out->cluster.energy;
  }
  for (size_t j = 0; j < sc->n_entries && !st; j++) {
    const entry *en = &sc->entries[j];
    if (strcmp(run_config_key(en->key_id)->section, "class") != 0) continue;
    st = run_config_key_apply(out, en->key_id, en->cls, value_at(en, i), &e);
    if (st) bad_entry = en;
  }
  const char *const *blame = NULL;
  int klass = -1;
  if (!st) st = run_config_validate_blame(out, &blame, &klass, &e);
  if (!st) return COD_OK;
  if (!bad_entry && blame) return run_scenario_point_blame(sc, i, blame, klass, st, e.msg, err);
  char *label = NULL;
  if (run_scenario_label(sc, i, &label, NULL)) label = NULL;
  char sec[RUN_CLASS_NAME_MAX + 16], wb[32];
  if (bad_entry) {
    section_label(sc, bad_entry, sec, sizeof sec);
    cod_err_set(err, st, "%.200s: point %zu (%.100s): [%s] %s (%s): %s", sc->source, i,
                label ? label : "", sec, run_config_key(bad_entry->key_id)->key,
                where(bad_entry, wb, sizeof wb), e.msg);
  } else {
    cod_err_set(err, st, "%.200s: point %zu of %zu (%.100s): %s", sc->source, i, sc->n_points,
                label ? label : "", e.msg);
  }
  cod_free(label);
  return st;
}

/* The entry of "section.key" (class keys: "class.key" of class klass), or NULL. */
static const entry *entry_of(const run_scenario *sc, const char *dotted, int klass) {
  char sec[32];
  const char *dot = strchr(dotted, '.');
  if (!dot || (size_t)(dot - dotted) >= sizeof sec) return NULL;
  memcpy(sec, dotted, (size_t)(dot - dotted));
  sec[dot - dotted] = '\0';
  int id = run_config_key_find(sec, dot + 1);
  int is_class = strcmp(sec, "class") == 0;
  if (id < 0 || (is_class && klass < 0)) return NULL;
  for (size_t j = 0; j < sc->n_entries; j++)
    if (sc->entries[j].key_id == (size_t)id && (!is_class || sc->entries[j].cls == (size_t)klass))
      return &sc->entries[j];
  return NULL;
}

int run_scenario_point_blame(const run_scenario *sc, size_t i, const char *const *keys,
                             int klass, int status, const char *msg, cod_err *err) {
  assert(sc && keys && keys[0] && i < sc->n_points);
  const char *key = keys[0];
  const entry *en = NULL;
  for (size_t k = 0; keys[k] && !en; k++) { /* a key that varies is what changed */
    const entry *c = entry_of(sc, keys[k], klass);
    if (c && c->n_values > 1) en = c, key = keys[k];
  }
  for (size_t k = 0; keys[k] && !en; k++) { /* else one the user wrote */
    const entry *c = entry_of(sc, keys[k], klass);
    if (c) en = c, key = keys[k];
  }
  char sec[RUN_CLASS_NAME_MAX + 16], where_s[400];
  const char *dot = strchr(key, '.');
  if (strncmp(key, "class.", 6) == 0 && klass >= 0 && (size_t)klass < sc->n_classes)
    snprintf(sec, sizeof sec, "class %s", sc->classes[klass].name);
  else
    snprintf(sec, sizeof sec, "%.*s", (int)(dot ? dot - key : 0), key);
  if (en && en->line)
    snprintf(where_s, sizeof where_s, "%.200s:%zu: [%s] %s", sc->source, en->line, sec, dot + 1);
  else if (en)
    snprintf(where_s, sizeof where_s, "command line: [%s] %s", sec, dot + 1);
  else
    snprintf(where_s, sizeof where_s, "%.200s: [%s] %s (default)", sc->source, sec, dot + 1);
  char *label = NULL;
  if (run_scenario_label(sc, i, &label, NULL)) label = NULL;
  cod_err_set(err, status, "%s: point %zu (%.100s): %s", where_s, i,
              label && label[0] ? label : "no key varies", msg);
  cod_free(label);
  return status;
}

int run_scenario_point_json(const run_scenario *sc, size_t i, char **out, cod_err *err) {
  run_config *cfg = cod_malloc(sizeof *cfg);
  if (!cfg) return cod_err_set(err, COD_ENOMEM, "out of memory");
  int st = run_scenario_point(sc, i, cfg, err);
  if (!st) st = run_config_to_json(cfg, out, err);
  cod_free(cfg);
  return st;
}

int run_scenario_validate(const run_scenario *sc, size_t *bad_point, cod_err *err) {
  run_config *cfg = cod_malloc(sizeof *cfg);
  if (!cfg) return cod_err_set(err, COD_ENOMEM, "out of memory");
  int st = COD_OK;
  for (size_t i = 0; i < sc->n_points && !st; i++) {
    st = run_scenario_point(sc, i, cfg, err);
    if (st && bad_point) *bad_point = i;
  }
  cod_free(cfg);
  return st;
}

/* ---- overrides ------------------------------------------------------------------------- */

int run_scenario_set(run_scenario *sc, const char *dotted_key, const char *value,
                     cod_err *err) {
  assert(sc && dotted_key && value);
  char sec[32], key[64], label[RUN_CLASS_NAME_MAX + 16];
  size_t ci = 0;
  const char *dot = strchr(dotted_key, '.');
  const char *last = strrchr(dotted_key, '.');
  if (!dot || (size_t)(dot - dotted_key) >= sizeof sec || strlen(last + 1) >= sizeof key)
    return cod_err_set(err, COD_EINVAL, "command line: bad key '%.80s': expected section.key "
                       "or class.NAME.key", dotted_key);
  memcpy(sec, dotted_key, (size_t)(dot - dotted_key));
  sec[dot - dotted_key] = '\0';
  snprintf(key, sizeof key, "%s", last + 1);
  snprintf(label, sizeof label, "%s", sec);
  if (strcmp(sec, "sweep") == 0) { /* the sweep's own keys: skip (pairs belong in the file) */
    if (strcmp(dotted_key, "sweep.skip") != 0)
      return cod_err_set(err, COD_EINVAL, "command line: [sweep] %s: only sweep.skip can be "
                         "set here (a pair is written in the file)", key);
    if (strcmp(value, "infeasible") != 0 && strcmp(value, "none") != 0)
      return cod_err_set(err, COD_EINVAL, "command line: [sweep] skip: bad value '%.60s': "
                         "expected none or infeasible", value);
    sc->skip_infeasible = strcmp(value, "infeasible") == 0;
    return COD_OK; /* which points run is no part of a run's identity: its key stays */
  }
  if (strcmp(sec, "class") == 0) {
    size_t n = (size_t)(last - dot - 1);
    while (ci < sc->n_classes && !(strlen(sc->classes[ci].name) == n &&
                                   strncmp(sc->classes[ci].name, dot + 1, n) == 0))
      ci++;
    if (last == dot || ci == sc->n_classes)
      return cod_err_set(err, COD_EINVAL, "command line: %.80s: no such class in %.200s",
                         dotted_key, sc->source);
    snprintf(label, sizeof label, "class %s", sc->classes[ci].name);
  } else if (last != dot) {
    return cod_err_set(err, COD_EINVAL, "command line: bad key '%.80s': expected section.key",
                       dotted_key);
  }
  int id = run_config_key_find(sec, key);
  int known_section = strcmp(sec, "class") == 0;
  for (size_t i = 0; main_sections[i]; i++) known_section |= strcmp(sec, main_sections[i]) == 0;
  if (id < 0 && !known_section)
    return cod_err_set(err, COD_EINVAL, "command line: [%s] %s: unknown key: no section "
                       "[%s] (sections: run, model, coding, cluster, latency, network, "
                       "master, data, class.NAME)", label, key, sec);
  if (id < 0) {
    char help[480];
    unknown_key_help(sec, key, help, sizeof help);
    return cod_err_set(err, COD_EINVAL, "command line: [%s] %s: unknown key%s", label, key,
                       help);
  }
  entry ent = {(size_t)id, ci, 0, NULL, 0, 1, 0, 0};
  cod_err inner = {0};
  int st = expand_value((size_t)id, value, &ent.values, &ent.n_values, &inner);
  if (st) return cod_err_set(err, st, "command line: [%s] %s: %s", label, key, inner.msg);
  size_t j = 0;
  while (j < sc->n_entries && !(sc->entries[j].key_id == (size_t)id && sc->entries[j].cls == ci))
    j++;
  int in_pair = j < sc->n_entries && (sc->entries[j].paired ||
                                      (j + 1 < sc->n_entries && sc->entries[j + 1].paired &&
                                       sc->entries[j + 1].lead == j));
  if (in_pair) {
    free_values(ent.values, ent.n_values);
    return cod_err_set(err, COD_EINVAL, "command line: [%s] %s: the key is paired in [sweep] "
                       "pair (line %zu); change the pair in the file", label, key,
                       sc->entries[j].line);
  }
  if (!count_points(sc, j, ent.n_values)) {
    free_values(ent.values, ent.n_values);
    return cod_err_set(err, COD_EINVAL, "command line: [%s] %s: the sweep has too many points "
                       "(more than %d)", label, key, RUN_SCENARIO_MAX_POINTS);
  }
  if (j == sc->n_entries) {
    entry *p = cod_realloc(sc->entries, (sc->n_entries + 1) * sizeof *p);
    if (!p) {
      free_values(ent.values, ent.n_values);
      return cod_err_set(err, COD_ENOMEM, "out of memory");
    }
    sc->entries = p;
    sc->entries[sc->n_entries++] = ent;
  } else {
    free_values(sc->entries[j].values, sc->entries[j].n_values);
    sc->entries[j] = ent;
  }
  update_strides(sc);
  /* the override is part of the experiment's identity: runs of X.ini with different
   * --set values must not share run keys (--resume would skip the wrong runs) */
  hash_add(sc, "\n--set ", 7);
  hash_add(sc, dotted_key, strlen(dotted_key));
  hash_add(sc, "=", 1);
  hash_add(sc, value, strlen(value));
  return COD_OK;
}
