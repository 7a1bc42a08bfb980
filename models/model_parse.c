/* model_parse.c: the model text format parser and shape inference.
 *
 * The input is treated as hostile: it is walked in place as (pointer, length) spans,
 * never NUL-terminated or modified, every integer is range-checked before any
 * arithmetic, every product of sizes is overflow-checked and capped (MODEL_MAX_ELEMS),
 * and every message names the source, the line and the offending attribute. Shapes are
 * inferred while parsing, layer by layer, so the first layer that does not fit is the
 * one reported. The grammar is documented in docs/model-format.md.
 */
#include "model_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cod_alloc.h"

#define MAX_ATTRS 16
#define KEY_LEN 16
#define VAL_LEN 64

typedef struct span {
  const char *p;
  size_t n;
} span;

typedef struct attr {
  char key[KEY_LEN];
  span val;
  int used;
} attr;

/* Everything the parser tracks while walking the text. */
typedef struct parser {
  const char *src;  /* name for messages */
  size_t line;
  cod_err *err;
  model *m;
  size_t cap;       /* allocated layer records */
  model_shape cur;
  int have_input;
  int slot_valid[MODEL_MAX_SLOTS];
  model_shape slot_shape[MODEL_MAX_SLOTS];
  size_t kind_count[MODEL_ADD + 1];
  /* the line being parsed */
  const char *kind_word;
  attr attrs[MAX_ATTRS];
  size_t n_attrs;
  const char *layer_name;
} parser;

typedef struct kind_spec {
  const char *word;
  model_kind kind;
  const char *keys; /* allowed attribute keys, space separated with a trailing space */
} kind_spec;

static const kind_spec kinds[] = {
  {"conv", MODEL_CONV, "name out k kh kw stride pad bias on "},
  {"relu", MODEL_RELU, "name on "},
  {"maxpool", MODEL_MAXPOOL, "name k stride pad "},
  {"avgpool", MODEL_AVGPOOL, "name k stride pad "},
  {"globalavgpool", MODEL_GLOBALAVGPOOL, "name "},
  {"batchnorm", MODEL_BATCHNORM, "name eps on "},
  {"fc", MODEL_FC, "name out in bias "},
  {"softmax", MODEL_SOFTMAX, "name "},
  {"save", MODEL_SAVE, "name to "},
  {"add", MODEL_ADD, "name from "},
};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

const char *model_kind_name(model_kind k) {
  for (size_t i = 0; i < N_KINDS; i++)
    if (kinds[i].kind == k) return kinds[i].word;
  return "unknown";
}

/* Prefix every message with "SRC:LINE: " (and the layer, once it is known). */
static int perr(parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(parser *ps, const char *fmt, ...) {
  char body[COD_ERR_MSG_LEN];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(body, sizeof body, fmt, ap);
  va_end(ap);
  if (ps->layer_name)
    return cod_err_set(ps->err, COD_EFORMAT, "%s:%zu: %s '%s': %s", ps->src, ps->line,
                       ps->kind_word, ps->layer_name, body);
  if (ps->kind_word)
    return cod_err_set(ps->err, COD_EFORMAT, "%s:%zu: %s: %s", ps->src, ps->line,
                       ps->kind_word, body);
  return cod_err_set(ps->err, COD_EFORMAT, "%s:%zu: %s", ps->src, ps->line, body);
}

static int mul_ok(size_t a, size_t b, size_t *r) {
  if (a && b > SIZE_MAX / a) return 0;
  *r = a * b;
  return 1;
}

/* Copy a span into buf (for messages and number parsing), truncating visibly. */
static const char *span_str(span s, char *buf, size_t cap) {
  size_t n = s.n < cap - 1 ? s.n : cap - 1;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s.p[i];
    buf[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
  }
  buf[n] = 0;
  if (s.n > n && cap > 4) memcpy(buf + cap - 4, "...", 4);
  return buf;
}

static attr *attr_find(parser *ps, const char *key) {
  for (size_t i = 0; i < ps->n_attrs; i++)
    if (!strcmp(ps->attrs[i].key, key)) {
      ps->attrs[i].used = 1;
      return &ps->attrs[i];
    }
  return NULL;
}

/* Unsigned integer attribute in [lo, MODEL_MAX_INT]; def if absent and not required. */
static int attr_uint(parser *ps, const char *key, int required, size_t def, size_t lo,
                     size_t *out) {
  attr *a = attr_find(ps, key);
  if (!a) {
    if (required) return perr(ps, "missing attribute '%s'", key);
    *out = def;
    return COD_OK;
  }
  char buf[VAL_LEN];
  size_t v = 0;
  int ok = a->val.n > 0 && a->val.n <= 7;
  for (size_t i = 0; ok && i < a->val.n; i++) {
    char ch = a->val.p[i];
    if (ch < '0' || ch > '9') ok = 0;
    else v = v * 10 + (size_t)(ch - '0');
  }
  if (!ok || v < lo || v > MODEL_MAX_INT)
    return perr(ps, "attribute '%s' must be an integer in %zu..%u, got '%s'", key, lo,
                MODEL_MAX_INT, span_str(a->val, buf, sizeof buf));
  *out = v;
  return COD_OK;
}

static int span_eq(span s, const char *w) { return s.n == strlen(w) && !memcmp(s.p, w, s.n); }

static int attr_bool(parser *ps, const char *key, int def, int *out) {
  attr *a = attr_find(ps, key);
  if (!a) {
    *out = def;
    return COD_OK;
  }
  if (span_eq(a->val, "1") || span_eq(a->val, "yes") || span_eq(a->val, "true")) *out = 1;
  else if (span_eq(a->val, "0") || span_eq(a->val, "no") || span_eq(a->val, "false")) *out = 0;
  else {
    char buf[VAL_LEN];
    return perr(ps, "attribute '%s' must be 1/0, yes/no or true/false, got '%s'", key,
                span_str(a->val, buf, sizeof buf));
  }
  return COD_OK;
}

static int attr_eps(parser *ps, double *out) {
  attr *a = attr_find(ps, "eps");
  if (!a) {
    *out = 1e-5;
    return COD_OK;
  }
  char buf[VAL_LEN];
  span_str(a->val, buf, sizeof buf);
  char *end = NULL;
  errno = 0;
  double v = a->val.n && a->val.n < VAL_LEN ? strtod(buf, &end) : NAN;
  if (!end || *end || errno || !isfinite(v) || v <= 0 || v >= 1)
    return perr(ps, "attribute 'eps' must be a number in (0, 1), got '%s'", buf);
  *out = v;
  return COD_OK;
}

/* A layer or slot name: 1..63 of [A-Za-z0-9_.-], not starting with '.' or '-' (names
 * become file names, so no '/' and no "..", ever). */
static int name_valid(span s) {
  if (s.n == 0 || s.n >= MODEL_NAME_LEN || s.p[0] == '.' || s.p[0] == '-') return 0;
  for (size_t i = 0; i < s.n; i++) {
    char ch = s.p[i];
    int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
             || ch == '_' || ch == '.' || ch == '-';
    if (!ok) return 0;
  }
  return 1;
}

static int attr_name(parser *ps, const char *key, char out[MODEL_NAME_LEN], int *present) {
  attr *a = attr_find(ps, key);
  *present = a != NULL;
  if (!a) return COD_OK;
  char buf[VAL_LEN];
  if (!name_valid(a->val))
    return perr(ps, "attribute '%s' must be 1..%d characters of [A-Za-z0-9_.-] not starting "
                "with '.' or '-', got '%s'", key, MODEL_NAME_LEN - 1,
                span_str(a->val, buf, sizeof buf));
  memcpy(out, a->val.p, a->val.n);
  out[a->val.n] = 0;
  return COD_OK;
}

/* Resolve a slot attribute. create: `save to=` may define a new slot. */
static int attr_slot(parser *ps, const char *key, int required, int create, int *slot) {
  char nm[MODEL_NAME_LEN];
  int present;
  int rc = attr_name(ps, key, nm, &present);
  if (rc) return rc;
  *slot = -1;
  if (!present) return required ? perr(ps, "missing attribute '%s'", key) : COD_OK;
  model *m = ps->m;
  for (size_t s = 0; s < m->n_slots; s++)
    if (!strcmp(m->slot_names[s], nm)) {
      *slot = (int)s;
      break;
    }
  if (*slot < 0 && create) {
    if (m->n_slots == MODEL_MAX_SLOTS)
      return perr(ps, "attribute '%s': too many slots (at most %u)", key, MODEL_MAX_SLOTS);
    memcpy(m->slot_names[m->n_slots], nm, MODEL_NAME_LEN);
    *slot = (int)m->n_slots++;
  }
  if (*slot < 0 || (!create && !ps->slot_valid[*slot]))
    return perr(ps, "attribute '%s': slot '%s' was never saved (use 'save to=%s' first)", key,
                nm, nm);
  return COD_OK;
}

/* Split one line (comment already removed) into the kind word and key=value pairs.
 * Returns COD_OK with kind.n == 0 for a blank line. */
static int tokenize(parser *ps, span line, span *kind) {
  size_t i = 0;
  kind->n = 0;
  ps->n_attrs = 0;
  for (;;) {
    while (i < line.n && (line.p[i] == ' ' || line.p[i] == '\t' || line.p[i] == '\r')) i++;
    if (i == line.n) return COD_OK;
    size_t st = i;
    while (i < line.n && line.p[i] != ' ' && line.p[i] != '\t' && line.p[i] != '\r') i++;
    span tok = {line.p + st, i - st};
    char buf[VAL_LEN];
    if (!kind->n) {
      *kind = tok;
      continue;
    }
    const char *eq = memchr(tok.p, '=', tok.n);
    if (!eq || eq == tok.p)
      return perr(ps, "expected key=value, got '%s'", span_str(tok, buf, sizeof buf));
    size_t kn = (size_t)(eq - tok.p);
    if (kn >= KEY_LEN)
      return perr(ps, "unknown attribute '%s'", span_str((span){tok.p, kn}, buf, sizeof buf));
    if (ps->n_attrs == MAX_ATTRS) return perr(ps, "too many attributes (at most %d)", MAX_ATTRS);
    attr *a = &ps->attrs[ps->n_attrs];
    memcpy(a->key, tok.p, kn);
    a->key[kn] = 0;
    a->val = (span){eq + 1, tok.n - kn - 1};
    a->used = 0;
    for (size_t j = 0; j < ps->n_attrs; j++)
      if (!strcmp(ps->attrs[j].key, a->key))
        return perr(ps, "attribute '%s' given twice", a->key);
    ps->n_attrs++;
  }
}

/* Reject attributes the kind does not know before interpreting any. */
static int check_keys(parser *ps, const char *allowed) {
  for (size_t i = 0; i < ps->n_attrs; i++) {
    const char *k = ps->attrs[i].key;
    size_t kn = strlen(k);
    const char *p = allowed;
    int found = 0;
    while (!found && (p = strstr(p, k)) != NULL) {
      found = (p == allowed || p[-1] == ' ') && p[kn] == ' ';
      p += kn;
    }
    if (!found) {
      char buf[VAL_LEN];
      for (size_t j = 0; j < kn; j++)
        buf[j] = (unsigned char)k[j] >= 0x20 && (unsigned char)k[j] < 0x7f ? k[j] : '?';
      buf[kn] = 0;
      return perr(ps, "unknown attribute '%s' (allowed: %.*s)", buf,
                  (int)strlen(allowed) - 1, allowed);
    }
  }
  return COD_OK;
}

static int parse_input(parser *ps) {
  int rc = check_keys(ps, "c h w ");
  if (rc) return rc;
  model_shape s;
  if ((rc = attr_uint(ps, "c", 1, 0, 1, &s.c)) || (rc = attr_uint(ps, "h", 1, 0, 1, &s.h))
      || (rc = attr_uint(ps, "w", 1, 0, 1, &s.w)))
    return rc;
  size_t hw, chw;
  if (!mul_ok(s.h, s.w, &hw) || !mul_ok(hw, s.c, &chw) || chw > MODEL_MAX_ELEMS)
    return perr(ps, "input %zux%zux%zu has more than %zu elements", s.c, s.h, s.w,
                (size_t)MODEL_MAX_ELEMS);
  ps->m->input = s;
  ps->cur = s;
  ps->m->max_elems = chw;
  ps->have_input = 1;
  return COD_OK;
}

static int shape_fits(parser *ps, model_shape s, const char *what) {
  size_t hw, chw;
  if (!mul_ok(s.h, s.w, &hw) || !mul_ok(hw, s.c, &chw) || chw > MODEL_MAX_ELEMS)
    return perr(ps, "%s %zux%zux%zu has more than %zu elements", what, s.c, s.h, s.w,
                (size_t)MODEL_MAX_ELEMS);
  return COD_OK;
}

/* Window (kernel or pool) of size kh x kw with pad p and stride s on input h x w. */
static int window_out(parser *ps, model_shape in, size_t kh, size_t kw, size_t s, size_t p,
                      size_t *oh, size_t *ow) {
  if (kh > in.h + 2 * p || kw > in.w + 2 * p)
    return perr(ps, "window %zux%zu larger than the padded input %zux%zu (input %zux%zu, "
                "pad %zu)", kh, kw, in.h + 2 * p, in.w + 2 * p, in.h, in.w, p);
  *oh = (in.h + 2 * p - kh) / s + 1;
  *ow = (in.w + 2 * p - kw) / s + 1;
  return COD_OK;
}

static int parse_conv(parser *ps, model_layer *L, model_shape in) {
  size_t k, kh, kw;
  int rc, has_k = attr_find(ps, "k") != NULL;
  int has_khw = attr_find(ps, "kh") || attr_find(ps, "kw");
  if (has_k && has_khw) return perr(ps, "give either attribute 'k' or 'kh'/'kw', not both");
  if ((rc = attr_uint(ps, "out", 1, 0, 1, &L->out_c))) return rc;
  if (has_khw) {
    if ((rc = attr_uint(ps, "kh", 1, 0, 1, &kh)) || (rc = attr_uint(ps, "kw", 1, 0, 1, &kw)))
      return rc;
  } else {
    if ((rc = attr_uint(ps, "k", 1, 0, 1, &k))) return rc;
    kh = kw = k;
  }
  L->kh = kh;
  L->kw = kw;
  if ((rc = attr_uint(ps, "stride", 0, 1, 1, &L->stride))
      || (rc = attr_uint(ps, "pad", 0, 0, 0, &L->pad)) || (rc = attr_bool(ps, "bias", 1, &L->bias)))
    return rc;
  size_t oh = 0, ow = 0;
  if ((rc = window_out(ps, in, kh, kw, L->stride, L->pad, &oh, &ow))) return rc;
  L->out = (model_shape){L->out_c, oh, ow};
  size_t a, b;
  if (!mul_ok(L->out_c, in.c, &a) || !mul_ok(a, kh, &b) || !mul_ok(b, kw, &L->n_weights)
      || L->n_weights > MODEL_MAX_ELEMS)
    return perr(ps, "%zu filters of %zux%zux%zu are more than %zu weights", L->out_c, in.c, kh,
                kw, (size_t)MODEL_MAX_ELEMS);
  L->n_bias = L->bias ? L->out_c : 0;
  L->conv_index = ps->m->n_convs;
  cod_conv_geom g = {in.c, in.h, in.w, L->out_c, kh, kw, L->stride, L->pad};
  if ((rc = shape_fits(ps, L->out, "output"))) return rc;
  L->macs = cod_conv_macs(&g);
  return COD_OK;
}

static int parse_pool(parser *ps, model_layer *L, model_shape in) {
  size_t k;
  int rc;
  if ((rc = attr_uint(ps, "k", 1, 0, 1, &k)) || (rc = attr_uint(ps, "stride", 0, k, 1, &L->stride))
      || (rc = attr_uint(ps, "pad", 0, 0, 0, &L->pad)))
    return rc;
  if (2 * L->pad > k)
    return perr(ps, "attribute 'pad' (%zu) must be at most half the window (k=%zu)", L->pad, k);
  L->kh = L->kw = k;
  size_t oh = 0, ow = 0;
  if ((rc = window_out(ps, in, k, k, L->stride, L->pad, &oh, &ow))) return rc;
  L->out = (model_shape){in.c, oh, ow};
  return COD_OK;
}

static int parse_fc(parser *ps, model_layer *L, model_shape in) {
  int rc;
  size_t nin = in.c * in.h * in.w, declared;
  if ((rc = attr_uint(ps, "out", 1, 0, 1, &L->out_c)) || (rc = attr_bool(ps, "bias", 1, &L->bias))
      || (rc = attr_uint(ps, "in", 0, nin, 1, &declared)))
    return rc;
  if (declared != nin)
    return perr(ps, "attribute 'in' is %zu but the input %zux%zux%zu has %zu features",
                declared, in.c, in.h, in.w, nin);
  if (!mul_ok(L->out_c, nin, &L->n_weights) || L->n_weights > MODEL_MAX_ELEMS)
    return perr(ps, "%zu x %zu are more than %zu weights", L->out_c, nin,
                (size_t)MODEL_MAX_ELEMS);
  L->n_bias = L->bias ? L->out_c : 0;
  L->out = (model_shape){L->out_c, 1, 1};
  L->macs = (double)L->n_weights;
  return COD_OK;
}

/* Interpret the attributes of one layer line and infer its shapes. */
static int parse_layer(parser *ps, const kind_spec *ks) {
  model *m = ps->m;
  int rc = check_keys(ps, ks->keys);
  if (rc) return rc;
  if (m->n_layers == MODEL_MAX_LAYERS) return perr(ps, "more than %u layers", MODEL_MAX_LAYERS);
  if (m->n_layers == ps->cap) {
    size_t cap = ps->cap ? 2 * ps->cap : 32;
    model_layer *nl = cod_realloc(m->layers, cap * sizeof *nl);
    if (!nl) return cod_err_set(ps->err, COD_ENOMEM, "%s: out of memory", ps->src);
    m->layers = nl;
    ps->cap = cap;
  }
  model_layer *L = &m->layers[m->n_layers];
  memset(L, 0, sizeof *L);
  L->kind = ks->kind;
  L->line = ps->line;
  L->slot = -1;
  L->conv_index = (size_t)-1;
  int present;
  if ((rc = attr_name(ps, "name", L->name, &present))) return rc;
  size_t nth = ++ps->kind_count[ks->kind];
  if (!present) {
    const char *base = ks->kind == MODEL_BATCHNORM ? "bn" : ks->word;
    snprintf(L->name, sizeof L->name, "%s%zu", base, nth);
  }
  ps->layer_name = L->name;
  for (size_t i = 0; i < m->n_layers; i++)
    if (!strcmp(m->layers[i].name, L->name))
      return perr(ps, "duplicate layer name (first used on line %zu)", m->layers[i].line);

  /* The tensor this layer reads: the current one, or a slot (on=). */
  if (strstr(ks->keys, "on ") && (rc = attr_slot(ps, "on", 0, 0, &L->slot))) return rc;
  model_shape in = L->slot >= 0 ? ps->slot_shape[L->slot] : ps->cur;
  L->in = in;
  L->out = in;
  switch (ks->kind) {
  case MODEL_CONV: rc = parse_conv(ps, L, in); break;
  case MODEL_MAXPOOL:
  case MODEL_AVGPOOL: rc = parse_pool(ps, L, in); break;
  case MODEL_GLOBALAVGPOOL: L->out = (model_shape){in.c, 1, 1}; break;
  case MODEL_BATCHNORM:
    rc = attr_eps(ps, &L->eps);
    L->n_weights = L->n_bias = in.c;
    break;
  case MODEL_FC: rc = parse_fc(ps, L, in); break;
  case MODEL_SAVE:
    if ((rc = attr_slot(ps, "to", 1, 1, &L->slot))) break;
    ps->slot_valid[L->slot] = 1;
    ps->slot_shape[L->slot] = in;
    break;
  case MODEL_ADD: {
    if ((rc = attr_slot(ps, "from", 1, 0, &L->slot))) break;
    model_shape s = ps->slot_shape[L->slot];
    if (s.c != in.c || s.h != in.h || s.w != in.w)
      rc = perr(ps, "slot '%s' holds %zux%zux%zu but the current tensor is %zux%zux%zu",
                m->slot_names[L->slot], s.c, s.h, s.w, in.c, in.h, in.w);
    break;
  }
  case MODEL_RELU:
  case MODEL_SOFTMAX: break;
  }
  if (rc) return rc;
  size_t oe = model_shape_elems(L->out);
  if (oe > m->max_elems) m->max_elems = oe;
  int writes_slot = L->kind == MODEL_SAVE
                    || (L->slot >= 0 && L->kind != MODEL_ADD);
  if (writes_slot) {
    ps->slot_shape[L->slot] = L->out;
    if (oe > m->slot_max_elems[L->slot]) m->slot_max_elems[L->slot] = oe;
  } else {
    ps->cur = L->out;
  }
  if (L->kind == MODEL_CONV) m->n_convs++;
  m->n_layers++;
  return COD_OK;
}

static int parse_line(parser *ps, span line) {
  span kind;
  ps->kind_word = NULL;
  ps->layer_name = NULL;
  int rc = tokenize(ps, line, &kind);
  if (rc || !kind.n) return rc;
  char kbuf[VAL_LEN];
  span_str(kind, kbuf, sizeof kbuf);
  if (span_eq(kind, "input")) {
    if (ps->have_input) return perr(ps, "'input' given twice");
    ps->kind_word = "input";
    return parse_input(ps);
  }
  for (size_t i = 0; i < N_KINDS; i++)
    if (span_eq(kind, kinds[i].word)) {
      ps->kind_word = kinds[i].word;
      if (!ps->have_input) return perr(ps, "expected the 'input c=.. h=.. w=..' line first");
      return parse_layer(ps, &kinds[i]);
    }
  return perr(ps, "unknown layer kind '%s' (known: input conv relu maxpool avgpool "
              "globalavgpool batchnorm fc softmax save add)", kbuf);
}

void model_free(model *m) {
  if (!m) return;
  cod_free(m->name);
  cod_free(m->layers);
  cod_free(m->conv_layers);
  cod_free(m);
}

int model_parse_buf(const char *buf, size_t len, const char *name, model **out,
                    cod_err *err) {
  const char *src = name ? name : "<model>";
  model *m = cod_calloc(1, sizeof *m);
  if (!m || !(m->name = cod_strdup(src))) {
    cod_free(m);
    return cod_err_set(err, COD_ENOMEM, "%s: out of memory", src);
  }
  parser ps = {.src = src, .err = err, .m = m};
  int rc = COD_OK;
  size_t pos = 0;
  while (pos < len && !rc) {
    ps.line++;
    const char *nl = memchr(buf + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - buf) : len;
    span line = {buf + pos, end - pos};
    if (memchr(line.p, '\0', line.n)) {
      rc = perr(&ps, "NUL byte in the text");
      break;
    }
    const char *hash = memchr(line.p, '#', line.n);
    if (hash) line.n = (size_t)(hash - line.p);
    rc = parse_line(&ps, line);
    pos = end + 1;
  }
  ps.kind_word = NULL;
  ps.layer_name = NULL;
  if (!rc && !ps.have_input)
    rc = cod_err_set(err, COD_EFORMAT, "%s: no 'input c=.. h=.. w=..' line", src);
  else if (!rc && m->n_layers == 0)
    rc = cod_err_set(err, COD_EFORMAT, "%s: the model has no layers", src);
  if (!rc && m->n_convs) {
    m->conv_layers = cod_malloc_array(m->n_convs, sizeof *m->conv_layers);
    if (!m->conv_layers) rc = cod_err_set(err, COD_ENOMEM, "%s: out of memory", src);
    else
      for (size_t i = 0; i < m->n_layers; i++)
        if (m->layers[i].kind == MODEL_CONV) m->conv_layers[m->layers[i].conv_index] = i;
  }
  if (rc) {
    model_free(m);
    return rc;
  }
  *out = m;
  return COD_OK;
}

int model_parse(const char *text, const char *name, model **out, cod_err *err) {
  return model_parse_buf(text, strlen(text), name, out, err);
}
