/* model_onnx.c: the ONNX importer (see model_onnx.h).
 *
 * The graph is walked once in node order (ONNX requires a topological order, so a node
 * reading a value that a LATER node produces is reported as a cycle). Every value is either
 * a constant (an initializer, a bound input, a Constant node, or a constant folded from
 * them) held as float64, or an activation. fcdcc's model is a chain with slots, so an
 * activation lives in one place: the current tensor, or a slot (`save to=`). A value that
 * more nodes read later is saved into a slot before the first of them consumes it; a node
 * whose input sits in a slot may act on it there only if it is conv, batchnorm or relu (the
 * model's `on=` layers, i.e. a projection shortcut); an Add of the current tensor and a slot
 * is the model's `add from=`. Any other shape of graph is refused with the node named.
 *
 * The importer emits model text, one line per layer, and remembers which node produced each
 * line, so a message from model_parse is reported against the node. Weights are computed
 * here (batchnorm folding, dilated kernels, Gemm's alpha and beta, MatMul's transposition)
 * and copied into the model_weights object after parsing. Costs: one pass over the graph,
 * O(values) lookups by name per node (graphs are a few hundred nodes), one copy of every
 * initializer as float64. All memory goes through cod_alloc, including protobuf-c's.
 */
#include "model_onnx.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cod_alloc.h"
#include "cod_file.h"
#include "model_internal.h"
#include "onnx.pb-c.h"

/* ---- protobuf-c through cod_alloc --------------------------------------------------- */

/* allocator_data, when set, is an int that records a failed allocation, so a message that
 * protobuf-c could not unpack for lack of memory is COD_ENOMEM, not a format error. */
static void *pb_alloc(void *ctx, size_t n) {
  void *p = cod_malloc(n ? n : 1);
  if (!p && ctx) *(int *)ctx = 1;
  return p;
}
static void pb_free(void *ctx, void *p) {
  (void)ctx;
  cod_free(p);
}

int model_onnx_is_path(const char *name) {
  size_t n = strlen(name);
  return n > 5 && strcmp(name + n - 5, ".onnx") == 0;
}

/* ---- tensors -------------------------------------------------------------------------- */

/* A constant: float64 values in C order. */
typedef struct cval {
  double *v;
  size_t n;
  int64_t dims[MODEL_ONNX_MAX_RANK];
  size_t rank;
} cval;

static int tensor_decode(const Onnx__TensorProto *t, const char *what, cval *out, cod_err *err) {
  if (t->n_external_data || (t->has_data_location &&
                             t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL))
    return cod_err_set(err, COD_EFORMAT, "%s: tensor '%s' keeps its data in an external file, "
                       "which fcdcc does not read (save the model with the weights inside)",
                       what, t->name ? t->name : "");
  if (t->n_dims > MODEL_ONNX_MAX_RANK)
    return cod_err_set(err, COD_EFORMAT, "%s: tensor '%s' has rank %zu (at most %d)", what,
                       t->name ? t->name : "", t->n_dims, MODEL_ONNX_MAX_RANK);
  size_t n = 1;
  for (size_t i = 0; i < t->n_dims; i++) {
    if (t->dims[i] < 0 || (uint64_t)t->dims[i] > MODEL_MAX_ELEMS ||
        (n *= (size_t)t->dims[i]) > MODEL_MAX_ELEMS)
      return cod_err_set(err, COD_EFORMAT, "%s: tensor '%s' has a bad or too large shape", what,
                         t->name ? t->name : "");
  }
  int type = t->has_data_type ? t->data_type : 0;
  size_t el = type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? 4
              : type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE || type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 ? 8
                                                                : 0;
  if (!el)
    return cod_err_set(err, COD_EFORMAT, "%s: tensor '%s' has element type %d; fcdcc reads "
                       "float32, float64 and (for shapes) int64", what, t->name ? t->name : "", type);
  size_t have = t->has_raw_data ? t->raw_data.len / el
                : type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT  ? t->n_float_data
                : type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ? t->n_double_data
                                                               : t->n_int64_data;
  if (have != n || (t->has_raw_data && t->raw_data.len % el))
    return cod_err_set(err, COD_EFORMAT, "%s: tensor '%s' holds %zu values but its shape has %zu",
                       what, t->name ? t->name : "", have, n);
  double *v = cod_malloc_array(n ? n : 1, sizeof *v);
  if (!v) return cod_err_set(err, COD_ENOMEM, "%s: out of memory", what);
  for (size_t i = 0; i < n; i++) {
    if (t->has_raw_data) {
      const uint8_t *p = t->raw_data.data + i * el;
      uint64_t u = 0;
      for (size_t b = 0; b < el; b++) u |= (uint64_t)p[b] << (8 * b); /* little-endian */
      if (el == 4) {
        uint32_t u32 = (uint32_t)u;
        float f;
        memcpy(&f, &u32, 4);
        v[i] = f;
      } else if (type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE) {
        memcpy(&v[i], &u, 8);
      } else {
        v[i] = (double)(int64_t)u;
      }
    } else {
      v[i] = type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT    ? t->float_data[i]
             : type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ? t->double_data[i]
                                                            : (double)t->int64_data[i];
    }
    if (!isfinite(v[i])) {
      cod_free(v);
      return cod_err_set(err, COD_EFORMAT, "%s: tensor '%s' holds a non-finite value at %zu", what,
                         t->name ? t->name : "", i);
    }
  }
  out->v = v, out->n = n, out->rank = t->n_dims;
  for (size_t i = 0; i < t->n_dims; i++) out->dims[i] = t->dims[i];
  return COD_OK;
}

int model_onnx_tensor_parse(const void *buf, size_t len, const char *name, double **data,
                            size_t *n, int64_t dims[MODEL_ONNX_MAX_RANK], size_t *rank,
                            cod_err *err) {
  int oom = 0;
  ProtobufCAllocator alloc = {pb_alloc, pb_free, &oom};
  Onnx__TensorProto *t = onnx__tensor_proto__unpack(&alloc, len, buf);
  if (!t && oom) return cod_err_set(err, COD_ENOMEM, "%s: out of memory", name);
  if (!t) return cod_err_set(err, COD_EFORMAT, "%s: not a serialized ONNX TensorProto", name);
  cval c = {0};
  int rc = tensor_decode(t, name, &c, err);
  if (!rc && t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64) {
    cod_free(c.v);
    rc = cod_err_set(err, COD_EFORMAT, "%s: an int64 tensor, not float32/float64", name);
  }
  onnx__tensor_proto__free_unpacked(t, &alloc);
  if (rc) return rc;
  *data = c.v, *n = c.n, *rank = c.rank;
  for (size_t i = 0; i < c.rank; i++) dims[i] = c.dims[i];
  return COD_OK;
}

/* ---- the importer's state ---------------------------------------------------------------- */

enum { LOC_NONE = 0, LOC_CONST, LOC_ACT };

/* One named value of the graph. */
typedef struct val {
  const char *name;   /* points into the protobuf message */
  int loc;            /* LOC_* */
  cval c;             /* LOC_CONST: owned values */
  model_shape s;      /* LOC_ACT: per-image shape C x H x W */
  size_t rank;        /* LOC_ACT: ONNX rank including the batch dimension (2 or 4) */
  int cur;            /* LOC_ACT: 1 if it is the current tensor */
  int slot;           /* LOC_ACT: slot index holding it, or -1 */
  size_t uses;        /* reads still to come (node inputs after this point, graph outputs) */
  long producer;      /* index of the emitted layer that wrote it, or -1 */
} val;

/* One emitted layer, with the parameters the importer computed. */
typedef struct olayer {
  model_kind kind;
  char name[MODEL_NAME_LEN];
  size_t node;        /* the ONNX node it came from */
  size_t out_c, kh, kw, stride, pad;
  int bias, slot;     /* slot: on=/to=/from=, or -1 */
  double *w, *b;      /* owned; conv N*C*KH*KW + N, fc out*in + out, batchnorm C + C */
  size_t n_w, n_b;
} olayer;

typedef struct imp {
  const char *file;
  cod_err *err;
  const Onnx__GraphProto *g;
  int64_t opset;
  val *vals;
  size_t n_vals, cap_vals;
  olayer *ls;
  size_t n_ls, cap_ls;
  int slot_used[MODEL_MAX_SLOTS];
  size_t node;        /* node being imported */
  model_shape input;
} imp;

static void imp_fini(imp *I) {
  for (size_t i = 0; i < I->n_vals; i++) cod_free(I->vals[i].c.v);
  for (size_t i = 0; i < I->n_ls; i++) cod_free(I->ls[i].w), cod_free(I->ls[i].b);
  cod_free(I->vals);
  cod_free(I->ls);
}

static const char *node_name(const Onnx__NodeProto *nd) {
  return nd->name && nd->name[0] ? nd->name : nd->n_output ? nd->output[0] : "";
}

/* An error about the node being imported. */
__attribute__((format(printf, 3, 4))) static int node_err(imp *I, int status, const char *fmt, ...) {
  char msg[COD_ERR_MSG_LEN];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (status == COD_ENOMEM) return cod_err_set(I->err, status, "%s: out of memory", I->file);
  const Onnx__NodeProto *nd = I->g->node[I->node];
  return cod_err_set(I->err, status, "%s: node %zu '%.80s' (%.40s): %s", I->file, I->node,
                     node_name(nd), nd->op_type ? nd->op_type : "", msg);
}

static val *val_find(imp *I, const char *name) {
  for (size_t i = I->n_vals; i-- > 0;)
    if (strcmp(I->vals[i].name, name) == 0) return &I->vals[i];
  return NULL;
}

static val *val_add(imp *I, const char *name) {
  if (I->n_vals == I->cap_vals) {
    size_t cap = I->cap_vals ? 2 * I->cap_vals : 64;
    val *v = cod_realloc(I->vals, cap * sizeof *v);
    if (!v) return NULL;
    I->vals = v, I->cap_vals = cap;
  }
  val *v = &I->vals[I->n_vals++];
  memset(v, 0, sizeof *v);
  v->name = name, v->slot = -1, v->producer = -1;
  return v;
}

static olayer *layer_add(imp *I, model_kind kind) {
  if (I->n_ls == I->cap_ls) {
    size_t cap = I->cap_ls ? 2 * I->cap_ls : 32;
    olayer *l = cod_realloc(I->ls, cap * sizeof *l);
    if (!l) return NULL;
    I->ls = l, I->cap_ls = cap;
  }
  olayer *L = &I->ls[I->n_ls++];
  memset(L, 0, sizeof *L);
  L->kind = kind, L->node = I->node, L->slot = -1;
  /* a name the model format accepts: [A-Za-z0-9_.-], unique, not starting with . or - */
  const char *src = node_name(I->g->node[I->node]);
  char nm[48];
  size_t k = 0;
  for (const char *p = src; *p && k < sizeof nm - 1; p++) {
    char c = *p;
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '.' || c == '-';
    if (k == 0 && (c == '.' || c == '-' || c == '/')) continue;
    nm[k++] = ok ? c : '_';
  }
  nm[k] = 0;
  snprintf(L->name, sizeof L->name, "%s%s%zu", k ? nm : model_kind_name(kind), k ? "_" : "",
           I->n_ls - 1);
  return L;
}

/* ---- attributes ------------------------------------------------------------------------- */

static const Onnx__AttributeProto *attr_get(const Onnx__NodeProto *nd, const char *name) {
  for (size_t i = 0; i < nd->n_attribute; i++)
    if (nd->attribute[i]->name && strcmp(nd->attribute[i]->name, name) == 0) return nd->attribute[i];
  return NULL;
}

static int64_t attr_int(const Onnx__NodeProto *nd, const char *name, int64_t def) {
  const Onnx__AttributeProto *a = attr_get(nd, name);
  return a && a->has_i ? a->i : def;
}

static double attr_float(const Onnx__NodeProto *nd, const char *name, double def) {
  const Onnx__AttributeProto *a = attr_get(nd, name);
  return a && a->has_f ? a->f : def;
}

/* An INTS attribute of exactly `n` entries into out[], or the default `def` everywhere if
 * absent. Returns 0, or -1 if present with another length. */
static int attr_ints(const Onnx__NodeProto *nd, const char *name, size_t n, int64_t def,
                     int64_t *out) {
  const Onnx__AttributeProto *a = attr_get(nd, name);
  for (size_t i = 0; i < n; i++) out[i] = def;
  if (!a) return 0;
  if (a->n_ints != n) return -1;
  for (size_t i = 0; i < n; i++) out[i] = a->ints[i];
  return 0;
}

/* Refuse attributes outside `allowed` (space separated, trailing space). */
static int attrs_check(imp *I, const Onnx__NodeProto *nd, const char *allowed) {
  for (size_t i = 0; i < nd->n_attribute; i++) {
    const char *n = nd->attribute[i]->name ? nd->attribute[i]->name : "";
    char key[72];
    snprintf(key, sizeof key, "%s ", n);
    if (!strstr(allowed, key) || (allowed != strstr(allowed, key) && strstr(allowed, key)[-1] != ' '))
      return node_err(I, COD_EFORMAT, "attribute '%.40s' is not supported", n);
  }
  return COD_OK;
}

/* ---- inputs and locations ------------------------------------------------------------------ */

/* Input i of the node being imported: a value defined earlier (else a dangling input or a
 * cycle, told apart by whether a later node produces it). */
static int node_input(imp *I, size_t i, val **out) {
  const Onnx__NodeProto *nd = I->g->node[I->node];
  if (i >= nd->n_input || !nd->input[i][0])
    return node_err(I, COD_EFORMAT, "input %zu is missing", i);
  val *v = val_find(I, nd->input[i]);
  if (!v || v->loc == LOC_NONE) {
    for (size_t j = I->node + 1; j < I->g->n_node; j++)
      for (size_t o = 0; o < I->g->node[j]->n_output; o++)
        if (strcmp(I->g->node[j]->output[o], nd->input[i]) == 0)
          return node_err(I, COD_EFORMAT, "input '%.80s' is produced by the later node %zu: the "
                          "graph has a cycle or is not in topological order", nd->input[i], j);
    return node_err(I, COD_EFORMAT, "input '%.80s' is dangling: no initializer, graph input or "
                    "earlier node produces it", nd->input[i]);
  }
  *out = v;
  return COD_OK;
}

static int want_const(imp *I, size_t i, val **out) {
  int rc = node_input(I, i, out);
  if (!rc && (*out)->loc != LOC_CONST)
    return node_err(I, COD_EFORMAT, "input %zu '%.80s' must be a constant (an initializer)", i,
                    (*out)->name);
  return rc;
}

static int want_act(imp *I, size_t i, val **out) {
  int rc = node_input(I, i, out);
  if (!rc && (*out)->loc != LOC_ACT)
    return node_err(I, COD_EFORMAT, "input %zu '%.80s' must be an activation, not a constant", i,
                    (*out)->name);
  return rc;
}

/* Consume one read of every input of the current node. */
static void node_inputs_used(imp *I) {
  const Onnx__NodeProto *nd = I->g->node[I->node];
  for (size_t i = 0; i < nd->n_input; i++) {
    val *v = nd->input[i][0] ? val_find(I, nd->input[i]) : NULL;
    if (v && v->uses) v->uses--;
    if (v && v->loc == LOC_ACT && v->uses == 0 && v->slot >= 0) {
      I->slot_used[v->slot] = 0; /* nobody reads it any more: the slot is free */
      v->slot = -1;
    }
  }
}

static int slot_new(imp *I, int *out) {
  for (int s = 0; s < (int)MODEL_MAX_SLOTS; s++)
    if (!I->slot_used[s]) {
      I->slot_used[s] = 1;
      *out = s;
      return COD_OK;
    }
  return node_err(I, COD_EFORMAT, "more than %u tensors are alive at once", MODEL_MAX_SLOTS);
}

/* Clear the "current" mark of every value (a new current tensor is about to be made). */
static void cur_clear(imp *I) {
  for (size_t i = 0; i < I->n_vals; i++) I->vals[i].cur = 0;
}

/* Where a layer reading activation x runs. For a current x that later nodes read too, x
 * is saved into a slot first. For x in a slot, the layer runs on the slot (on=S) if it is a
 * conv, batchnorm or relu and nothing reads x afterwards. *slot = -1 (current) or S. */
static int place_unary(imp *I, val *x, int can_on_slot, int *slot) {
  if (x->cur) {
    if (x->uses > 1 && x->slot < 0) {
      int s = -1;
      int rc = slot_new(I, &s);
      if (rc) return rc;
      olayer *L = layer_add(I, MODEL_SAVE);
      if (!L) return node_err(I, COD_ENOMEM, "-");
      snprintf(L->name, sizeof L->name, "save%zu", I->n_ls - 1);
      L->slot = s;
      x->slot = s;
    }
    *slot = -1;
    return COD_OK;
  }
  if (x->slot >= 0 && can_on_slot && x->uses == 1) {
    *slot = x->slot;
    return COD_OK;
  }
  if (x->slot >= 0)
    return node_err(I, COD_EFORMAT, "its input '%.80s' is a saved side branch; fcdcc's model runs "
                    "only conv, batchnorm and relu on a side branch, and only on its last use",
                    x->name);
  return node_err(I, COD_EFORMAT, "its input '%.80s' is no longer available: fcdcc's model is a "
                  "chain with residual slots, and this graph is not", x->name);
}

/* Define output 0 of the node as an activation of shape s written at `slot` (-1: the new
 * current tensor). */
static int define_act(imp *I, model_shape s, size_t rank, int slot, long producer) {
  const Onnx__NodeProto *nd = I->g->node[I->node];
  if (nd->n_output < 1 || !nd->output[0][0]) return node_err(I, COD_EFORMAT, "no output");
  for (size_t o = 1; o < nd->n_output; o++)
    if (nd->output[o][0] && val_find(I, nd->output[o]) && val_find(I, nd->output[o])->uses)
      return node_err(I, COD_EFORMAT, "output %zu '%.80s' is used, fcdcc computes only output 0",
                      o, nd->output[o]);
  val *y = val_find(I, nd->output[0]);
  if (y && y->loc != LOC_NONE)
    return node_err(I, COD_EFORMAT, "output '%.80s' is defined twice", nd->output[0]);
  if (!y && !(y = val_add(I, nd->output[0]))) return node_err(I, COD_ENOMEM, "-");
  if (model_shape_elems(s) == 0 || model_shape_elems(s) > MODEL_MAX_ELEMS)
    return node_err(I, COD_EFORMAT, "output shape %zux%zux%zu is empty or too large", s.c, s.h, s.w);
  if (slot < 0) cur_clear(I);
  else I->slot_used[slot] = 1; /* the input that lived there may just have released it */
  y->loc = LOC_ACT, y->s = s, y->rank = rank, y->cur = slot < 0, y->slot = slot;
  y->producer = producer;
  return COD_OK;
}

/* Output 0 of the node is x again, in x's place (Identity, Dropout, Flatten, Reshape, a
 * folded batchnorm or bias). The caller has checked that this node is x's last reader. */
static int define_transfer(imp *I, val *x, model_shape s, size_t rank) {
  if (!x->cur && x->slot < 0)
    return node_err(I, COD_EFORMAT, "its input '%.80s' is no longer available: fcdcc's model is a "
                    "chain with residual slots, and this graph is not", x->name);
  int cur = x->cur, slot = x->slot;
  long prod = x->producer;
  x->cur = 0, x->slot = -1;
  node_inputs_used(I);
  return define_act(I, s, rank, cur ? -1 : slot, prod);
}

static int last_reader(imp *I, val *x) {
  if (x->uses > 1)
    return node_err(I, COD_EFORMAT, "its input '%.80s' is also read by other nodes; fcdcc can "
                    "pass through only a tensor that nothing else reads", x->name);
  return COD_OK;
}

/* ---- pads ---------------------------------------------------------------------------------- */

/* One symmetric pad from `pads` / `auto_pad` for a window of effective size k (kh, kw) and
 * stride s over an H x W input. */
static int resolve_pad(imp *I, const Onnx__NodeProto *nd, model_shape in, size_t kh, size_t kw,
                       size_t s, size_t *pad) {
  const Onnx__AttributeProto *ap = attr_get(nd, "auto_pad");
  char mode[16] = "NOTSET";
  if (ap && ap->has_s) snprintf(mode, sizeof mode, "%.*s", (int)ap->s.len, (const char *)ap->s.data);
  int64_t p[4];
  if (attr_ints(nd, "pads", 4, 0, p)) return node_err(I, COD_EFORMAT, "'pads' must have 4 entries");
  if (strcmp(mode, "NOTSET") == 0 || mode[0] == 0) {
    if (p[0] < 0 || p[0] > (int64_t)MODEL_MAX_INT || p[0] != p[1] || p[0] != p[2] || p[0] != p[3])
      return node_err(I, COD_EFORMAT, "pads [%lld %lld %lld %lld]: fcdcc supports one pad on all "
                      "four sides", (long long)p[0], (long long)p[1], (long long)p[2], (long long)p[3]);
    *pad = (size_t)p[0];
    return COD_OK;
  }
  if (strcmp(mode, "VALID") == 0) return *pad = 0, COD_OK;
  if (strcmp(mode, "SAME_UPPER") && strcmp(mode, "SAME_LOWER"))
    return node_err(I, COD_EFORMAT, "auto_pad '%s' is not supported", mode);
  size_t tot[2], dim[2] = {in.h, in.w}, k[2] = {kh, kw};
  for (int a = 0; a < 2; a++) {
    size_t o = (dim[a] + s - 1) / s, need = (o - 1) * s + k[a];
    tot[a] = need > dim[a] ? need - dim[a] : 0;
  }
  if (tot[0] != tot[1] || tot[0] % 2)
    return node_err(I, COD_EFORMAT, "auto_pad %s needs padding %zu x %zu, which is not one pad on "
                    "all four sides", mode, tot[0], tot[1]);
  *pad = tot[0] / 2;
  return COD_OK;
}

static size_t out_dim(size_t in, size_t pad, size_t k, size_t s) {
  return in + 2 * pad < k ? 0 : (in + 2 * pad - k) / s + 1;
}

/* ---- operators ------------------------------------------------------------------------------ */

static int op_conv(imp *I, const Onnx__NodeProto *nd) {
  int rc = attrs_check(I, nd, "auto_pad dilations group kernel_shape pads strides ");
  val *x, *wv, *bv = NULL;
  if (rc || (rc = want_act(I, 0, &x)) || (rc = want_const(I, 1, &wv))) return rc;
  if (nd->n_input > 2 && nd->input[2][0] && (rc = want_const(I, 2, &bv))) return rc;
  if (x->rank != 4) return node_err(I, COD_EFORMAT, "only 2-D convolutions (4-D tensors) are supported");
  if (attr_int(nd, "group", 1) != 1)
    return node_err(I, COD_EFORMAT, "group = %lld: only group = 1 is supported",
                    (long long)attr_int(nd, "group", 1));
  if (wv->c.rank != 4 || (size_t)wv->c.dims[1] != x->s.c)
    return node_err(I, COD_EFORMAT, "weight '%.80s' must be N x %zu x KH x KW for an input of %zu "
                    "channels", wv->name, x->s.c, x->s.c);
  size_t N = (size_t)wv->c.dims[0], C = x->s.c, kh = (size_t)wv->c.dims[2], kw = (size_t)wv->c.dims[3];
  if (N < 1 || kh < 1 || kw < 1)
    return node_err(I, COD_EFORMAT, "weight '%.80s' has an empty dimension", wv->name);
  int64_t ks[2], st[2], dl[2];
  if (attr_ints(nd, "kernel_shape", 2, 0, ks) || attr_ints(nd, "strides", 2, 1, st) ||
      attr_ints(nd, "dilations", 2, 1, dl))
    return node_err(I, COD_EFORMAT, "kernel_shape, strides and dilations must have 2 entries");
  if (attr_get(nd, "kernel_shape") && ((size_t)ks[0] != kh || (size_t)ks[1] != kw))
    return node_err(I, COD_EFORMAT, "kernel_shape %lldx%lld does not match the weight's %zux%zu",
                    (long long)ks[0], (long long)ks[1], kh, kw);
  if (st[0] != st[1] || st[0] < 1 || st[0] > (int64_t)MODEL_MAX_INT)
    return node_err(I, COD_EFORMAT, "strides [%lld %lld]: fcdcc supports one stride >= 1 along both axes",
                    (long long)st[0], (long long)st[1]);
  if (dl[0] < 1 || dl[1] < 1 || dl[0] > 1024 || dl[1] > 1024)
    return node_err(I, COD_EFORMAT, "dilations must be in 1..1024");
  if (bv && bv->c.n != N)
    return node_err(I, COD_EFORMAT, "bias '%.80s' has %zu values for %zu filters", bv->name, bv->c.n, N);
  /* a dilated kernel is the dense kernel with (d - 1) zeros between taps */
  size_t dh = (size_t)dl[0], dw = (size_t)dl[1];
  size_t ekh = (kh - 1) * dh + 1, ekw = (kw - 1) * dw + 1, s = (size_t)st[0], pad;
  if ((rc = resolve_pad(I, nd, x->s, ekh, ekw, s, &pad))) return rc;
  model_shape o = {N, out_dim(x->s.h, pad, ekh, s), out_dim(x->s.w, pad, ekw, s)};
  if (!o.h || !o.w)
    return node_err(I, COD_EFORMAT, "window %zux%zu larger than the padded input %zux%zu", ekh,
                    ekw, x->s.h + 2 * pad, x->s.w + 2 * pad);
  if (N * C > MODEL_MAX_ELEMS / ekh / ekw)
    return node_err(I, COD_EFORMAT, "the (dilated) kernel %zu x %zu x %zu x %zu is larger than %zu "
                    "elements", N, C, ekh, ekw, MODEL_MAX_ELEMS);
  int slot;
  if ((rc = place_unary(I, x, 1, &slot))) return rc;
  olayer *L = layer_add(I, MODEL_CONV);
  if (!L) return node_err(I, COD_ENOMEM, "-");
  L->out_c = N, L->kh = ekh, L->kw = ekw, L->stride = s, L->pad = pad, L->bias = 1, L->slot = slot;
  L->n_w = N * C * ekh * ekw, L->n_b = N;
  if (!(L->w = cod_calloc(L->n_w, sizeof(double))) || !(L->b = cod_calloc(N, sizeof(double))))
    return node_err(I, COD_ENOMEM, "-");
  for (size_t f = 0; f < N * C; f++)
    for (size_t u = 0; u < kh; u++)
      for (size_t v = 0; v < kw; v++)
        L->w[(f * ekh + u * dh) * ekw + v * dw] = wv->c.v[(f * kh + u) * kw + v];
  if (bv) memcpy(L->b, bv->c.v, N * sizeof(double));
  node_inputs_used(I);
  return define_act(I, o, 4, slot, (long)(I->n_ls - 1));
}

static int op_batchnorm(imp *I, const Onnx__NodeProto *nd) {
  int rc = attrs_check(I, nd, "epsilon momentum is_test spatial training_mode consumed_inputs ");
  val *x, *p[4];
  if (rc || (rc = want_act(I, 0, &x))) return rc;
  for (size_t i = 0; i < 4; i++)
    if ((rc = want_const(I, i + 1, &p[i]))) return rc;
  if (attr_int(nd, "training_mode", 0) || !attr_int(nd, "is_test", 1) || !attr_int(nd, "spatial", 1))
    return node_err(I, COD_EFORMAT, "only inference-mode, spatial batch normalisation is supported");
  size_t C = x->s.c;
  for (size_t i = 0; i < 4; i++)
    if (p[i]->c.n != C)
      return node_err(I, COD_EFORMAT, "'%.80s' has %zu values for %zu channels", p[i]->name, p[i]->c.n, C);
  double eps = attr_float(nd, "epsilon", 1e-5);
  double *sc = cod_malloc_array(C, sizeof *sc), *sh = cod_malloc_array(C, sizeof *sh);
  if (!sc || !sh) {
    cod_free(sc), cod_free(sh);
    return node_err(I, COD_ENOMEM, "-");
  }
  for (size_t c = 0; c < C; c++) {
    if (!(p[3]->c.v[c] + eps > 0)) {
      cod_free(sc), cod_free(sh);
      return node_err(I, COD_EFORMAT, "variance + epsilon of channel %zu is not positive", c);
    }
    sc[c] = p[0]->c.v[c] / sqrt(p[3]->c.v[c] + eps);
    sh[c] = p[1]->c.v[c] - p[2]->c.v[c] * sc[c];
  }
  /* fold into the conv that produced x if only this node reads it */
  olayer *P = x->producer >= 0 ? &I->ls[x->producer] : NULL;
  if (P && P->kind == MODEL_CONV && x->uses == 1 && (size_t)x->producer == I->n_ls - 1) {
    size_t per = P->n_w / P->out_c;
    for (size_t n = 0; n < P->out_c; n++) {
      for (size_t j = 0; j < per; j++) P->w[n * per + j] *= sc[n];
      P->b[n] = P->b[n] * sc[n] + sh[n];
    }
    cod_free(sc), cod_free(sh);
    return define_transfer(I, x, x->s, x->rank);
  }
  int slot;
  if ((rc = place_unary(I, x, 1, &slot))) {
    cod_free(sc), cod_free(sh);
    return rc;
  }
  olayer *L = layer_add(I, MODEL_BATCHNORM);
  if (!L) {
    cod_free(sc), cod_free(sh);
    return node_err(I, COD_ENOMEM, "-");
  }
  L->w = sc, L->b = sh, L->n_w = C, L->n_b = C, L->slot = slot;
  model_shape s = x->s;
  size_t rank = x->rank;
  node_inputs_used(I);
  return define_act(I, s, rank, slot, (long)(I->n_ls - 1));
}

static int op_relu(imp *I, const Onnx__NodeProto *nd) {
  int rc = attrs_check(I, nd, "");
  val *x;
  if (rc || (rc = want_act(I, 0, &x))) return rc;
  int slot;
  if ((rc = place_unary(I, x, 1, &slot))) return rc;
  olayer *L = layer_add(I, MODEL_RELU);
  if (!L) return node_err(I, COD_ENOMEM, "-");
  L->slot = slot;
  model_shape s = x->s;
  size_t rank = x->rank;
  node_inputs_used(I);
  return define_act(I, s, rank, slot, (long)(I->n_ls - 1));
}

static int op_pool(imp *I, const Onnx__NodeProto *nd, int is_max) {
  int rc = attrs_check(I, nd, is_max ? "auto_pad ceil_mode dilations kernel_shape pads storage_order strides "
                                     : "auto_pad ceil_mode count_include_pad kernel_shape pads strides ");
  val *x;
  if (rc || (rc = want_act(I, 0, &x))) return rc;
  if (x->rank != 4) return node_err(I, COD_EFORMAT, "only 2-D pooling (4-D tensors) is supported");
  int64_t ks[2], st[2], dl[2];
  if (!attr_get(nd, "kernel_shape") || attr_ints(nd, "kernel_shape", 2, 0, ks) ||
      attr_ints(nd, "strides", 2, 1, st) || attr_ints(nd, "dilations", 2, 1, dl))
    return node_err(I, COD_EFORMAT, "kernel_shape (required), strides and dilations must have 2 entries");
  if (ks[0] != ks[1] || ks[0] < 1 || ks[0] > (int64_t)MODEL_MAX_INT)
    return node_err(I, COD_EFORMAT, "kernel %lldx%lld: fcdcc pools over square windows only",
                    (long long)ks[0], (long long)ks[1]);
  if (st[0] != st[1] || st[0] < 1 || st[0] > (int64_t)MODEL_MAX_INT)
    return node_err(I, COD_EFORMAT, "strides [%lld %lld]: one stride >= 1 along both axes is supported",
                    (long long)st[0], (long long)st[1]);
  if (dl[0] != 1 || dl[1] != 1) return node_err(I, COD_EFORMAT, "dilated pooling is not supported");
  if (attr_int(nd, "ceil_mode", 0)) return node_err(I, COD_EFORMAT, "ceil_mode = 1 is not supported");
  size_t k = (size_t)ks[0], s = (size_t)st[0], pad;
  if ((rc = resolve_pad(I, nd, x->s, k, k, s, &pad))) return rc;
  if (!is_max && pad && !attr_int(nd, "count_include_pad", 0))
    return node_err(I, COD_EFORMAT, "padded average pooling with count_include_pad = 0 is not "
                    "supported (fcdcc counts the padding, as PyTorch's default does)");
  if (pad > k / 2)
    return node_err(I, COD_EFORMAT, "pad %zu is more than half the window %zu", pad, k);
  model_shape o = {x->s.c, out_dim(x->s.h, pad, k, s), out_dim(x->s.w, pad, k, s)};
  if (!o.h || !o.w) return node_err(I, COD_EFORMAT, "window %zu larger than the padded input", k);
  int slot;
  if ((rc = place_unary(I, x, 0, &slot))) return rc;
  olayer *L = layer_add(I, is_max ? MODEL_MAXPOOL : MODEL_AVGPOOL);
  if (!L) return node_err(I, COD_ENOMEM, "-");
  L->kh = L->kw = k, L->stride = s, L->pad = pad;
  node_inputs_used(I);
  return define_act(I, o, 4, -1, (long)(I->n_ls - 1));
}

static int op_gap(imp *I, const Onnx__NodeProto *nd) {
  int rc = attrs_check(I, nd, "");
  val *x;
  if (rc || (rc = want_act(I, 0, &x))) return rc;
  if (x->rank != 4) return node_err(I, COD_EFORMAT, "the input must be a 4-D tensor");
  int slot;
  if ((rc = place_unary(I, x, 0, &slot))) return rc;
  if (!layer_add(I, MODEL_GLOBALAVGPOOL)) return node_err(I, COD_ENOMEM, "-");
  model_shape o = {x->s.c, 1, 1};
  node_inputs_used(I);
  return define_act(I, o, 4, -1, (long)(I->n_ls - 1));
}

/* Gemm (transB, alpha, beta, C) and MatMul: a fully connected layer. w_kn: the constant
 * is K x M (else M x K). */
static int op_fc(imp *I, const Onnx__NodeProto *nd, int is_gemm) {
  int rc = attrs_check(I, nd, is_gemm ? "alpha beta broadcast transA transB " : "");
  val *x, *bw, *cv = NULL;
  if (rc || (rc = want_act(I, 0, &x)) || (rc = want_const(I, 1, &bw))) return rc;
  if (is_gemm && nd->n_input > 2 && nd->input[2][0] && (rc = want_const(I, 2, &cv))) return rc;
  if (x->rank != 2)
    return node_err(I, COD_EFORMAT, "the input must be 2-D (batch x features); Flatten it first");
  if (is_gemm && attr_int(nd, "transA", 0))
    return node_err(I, COD_EFORMAT, "transA = 1 is not supported (the batch must be the rows)");
  int tb = is_gemm && attr_int(nd, "transB", 0);
  size_t K = model_shape_elems(x->s);
  if (bw->c.rank != 2 || (size_t)bw->c.dims[tb ? 1 : 0] != K)
    return node_err(I, COD_EFORMAT, "weight '%.80s' must be 2-D with %zu %s for %zu input features",
                    bw->name, K, tb ? "columns" : "rows", K);
  size_t M = (size_t)bw->c.dims[tb ? 0 : 1];
  double alpha = is_gemm ? attr_float(nd, "alpha", 1.0) : 1.0;
  double beta = is_gemm ? attr_float(nd, "beta", 1.0) : 1.0;
  if (cv && !(cv->c.n == M || cv->c.n == 1) )
    return node_err(I, COD_EFORMAT, "bias '%.80s' has %zu values; fcdcc needs one per output (%zu) "
                    "or a scalar", cv->name, cv->c.n, M);
  if (cv && cv->c.rank == 2 && cv->c.dims[0] != 1)
    return node_err(I, COD_EFORMAT, "bias '%.80s' differs per batch row", cv->name);
  int slot;
  if ((rc = place_unary(I, x, 0, &slot))) return rc;
  olayer *L = layer_add(I, MODEL_FC);
  if (!L) return node_err(I, COD_ENOMEM, "-");
  L->out_c = M, L->bias = cv != NULL, L->n_w = M * K, L->n_b = M;
  if (!(L->w = cod_malloc_array(M * K, sizeof(double))) || !(L->b = cod_calloc(M, sizeof(double))))
    return node_err(I, COD_ENOMEM, "-");
  for (size_t m = 0; m < M; m++)
    for (size_t k = 0; k < K; k++)
      L->w[m * K + k] = alpha * (tb ? bw->c.v[m * K + k] : bw->c.v[k * M + m]);
  for (size_t m = 0; cv && m < M; m++) L->b[m] = beta * cv->c.v[cv->c.n == 1 ? 0 : m];
  model_shape o = {M, 1, 1};
  node_inputs_used(I);
  return define_act(I, o, 2, -1, (long)(I->n_ls - 1));
}

static int op_add(imp *I, const Onnx__NodeProto *nd) {
  int rc = attrs_check(I, nd, "");
  val *a, *b;
  if (rc || (rc = node_input(I, 0, &a)) || (rc = node_input(I, 1, &b))) return rc;
  if (a->loc == LOC_CONST && b->loc == LOC_CONST)
    return node_err(I, COD_EFORMAT, "adding two constants is not supported");
  if (a->loc == LOC_CONST || b->loc == LOC_CONST) { /* a bias: fold into the layer before */
    val *x = a->loc == LOC_ACT ? a : b, *c = a->loc == LOC_ACT ? b : a;
    olayer *P = x->producer >= 0 ? &I->ls[x->producer] : NULL;
    if (!P || (P->kind != MODEL_FC && P->kind != MODEL_CONV) || x->uses != 1 ||
        (size_t)x->producer != I->n_ls - 1)
      return node_err(I, COD_EFORMAT, "adding a constant is supported only as the bias of the "
                      "Gemm, MatMul or Conv right before it");
    if (c->c.n != P->out_c && c->c.n != 1)
      return node_err(I, COD_EFORMAT, "constant '%.80s' has %zu values for %zu outputs", c->name,
                      c->c.n, P->out_c);
    if (P->kind == MODEL_CONV && c->c.n != 1 && c->c.rank != 1 &&
        !(c->c.rank >= 3 && c->c.dims[c->c.rank - 1] == 1 && c->c.dims[c->c.rank - 2] == 1))
      return node_err(I, COD_EFORMAT, "constant '%.80s' is not a per-channel bias", c->name);
    for (size_t m = 0; m < P->out_c; m++) P->b[m] += c->c.v[c->c.n == 1 ? 0 : m];
    P->bias = 1;
    return define_transfer(I, x, x->s, x->rank);
  }
  if (a->s.c != b->s.c || a->s.h != b->s.h || a->s.w != b->s.w)
    return node_err(I, COD_EFORMAT, "shapes %zux%zux%zu and %zux%zux%zu differ (no broadcasting)",
                    a->s.c, a->s.h, a->s.w, b->s.c, b->s.h, b->s.w);
  val *cur = a->cur ? a : b->cur ? b : NULL, *side = cur == a ? b : a;
  if (!cur || side->slot < 0)
    return node_err(I, COD_EFORMAT, "a residual Add needs the current tensor and a saved one; "
                    "'%.80s' and '%.80s' are not", a->name, b->name);
  if (cur == side) return node_err(I, COD_EFORMAT, "adding a tensor to itself is not supported");
  int slot;
  if ((rc = place_unary(I, cur, 0, &slot))) return rc;
  olayer *L = layer_add(I, MODEL_ADD);
  if (!L) return node_err(I, COD_ENOMEM, "-");
  L->slot = side->slot;
  model_shape s = cur->s;
  size_t rank = cur->rank;
  node_inputs_used(I);
  return define_act(I, s, rank, -1, (long)(I->n_ls - 1));
}

static int op_flatten(imp *I, const Onnx__NodeProto *nd, int is_reshape) {
  int rc = attrs_check(I, nd, is_reshape ? "allowzero " : "axis ");
  val *x, *shp = NULL;
  if (rc || (rc = want_act(I, 0, &x))) return rc;
  if (is_reshape && (rc = want_const(I, 1, &shp))) return rc;
  size_t n = model_shape_elems(x->s);
  if (!is_reshape && attr_int(nd, "axis", 1) != 1)
    return node_err(I, COD_EFORMAT, "axis = %lld: only axis = 1 (keep the batch) is supported",
                    (long long)attr_int(nd, "axis", 1));
  if (shp) {
    if (shp->c.n != 2)
      return node_err(I, COD_EFORMAT, "only a reshape to 2-D (batch x features) is supported");
    double d0 = shp->c.v[0], d1 = shp->c.v[1];
    if (!(d0 == 1 || d0 == -1 || d0 == 0) || !(d1 == -1 || d1 == (double)n))
      return node_err(I, COD_EFORMAT, "reshape to [%g, %g]: only [batch, %zu] is supported", d0, d1, n);
  }
  model_shape o = {n, 1, 1};
  if ((rc = last_reader(I, x))) return rc;
  return define_transfer(I, x, o, 2);
}

static int op_identity(imp *I, const Onnx__NodeProto *nd) {
  int rc = attrs_check(I, nd, "ratio seed is_test ");
  val *x;
  if (rc || (rc = want_act(I, 0, &x))) return rc;
  if (nd->n_input > 1 && nd->input[1][0]) {
    val *r;
    if ((rc = want_const(I, 1, &r))) return rc;
  }
  if (nd->n_input > 2 && nd->input[2][0]) {
    val *t;
    if ((rc = want_const(I, 2, &t))) return rc;
    if (t->c.n != 1 || t->c.v[0] != 0)
      return node_err(I, COD_EFORMAT, "dropout in training mode is not supported");
  }
  if ((rc = last_reader(I, x))) return rc;
  return define_transfer(I, x, x->s, x->rank);
}

/* Pad by zero everywhere (torch.onnx writes one before every avg_pool2d): the identity. */
static int op_pad(imp *I, const Onnx__NodeProto *nd) {
  int rc = attrs_check(I, nd, "mode pads value ");
  val *x, *p = NULL;
  if (rc || (rc = want_act(I, 0, &x))) return rc;
  if (nd->n_input > 1 && nd->input[1][0] && (rc = want_const(I, 1, &p))) return rc;
  const Onnx__AttributeProto *pa = attr_get(nd, "pads");
  int zero = 1;
  for (size_t i = 0; p && i < p->c.n; i++) zero &= p->c.v[i] == 0;
  for (size_t i = 0; pa && i < pa->n_ints; i++) zero &= pa->ints[i] == 0;
  if (!zero || (!p && !pa))
    return node_err(I, COD_EFORMAT, "only a Pad of zero on every side (a no-op) is supported; "
                    "pad inside the Conv or pool instead");
  if ((rc = last_reader(I, x))) return rc;
  return define_transfer(I, x, x->s, x->rank);
}

static int op_softmax(imp *I, const Onnx__NodeProto *nd) {
  int rc = attrs_check(I, nd, "axis ");
  val *x;
  if (rc || (rc = want_act(I, 0, &x))) return rc;
  int64_t axis = attr_int(nd, "axis", I->opset >= 13 ? -1 : 1);
  int whole = (x->rank == 2 && (axis == 1 || axis == -1)) ||
              (x->rank == 4 && I->opset < 13 && axis == 1);
  if (!whole)
    return node_err(I, COD_EFORMAT, "softmax over axis %lld of a rank-%zu tensor: fcdcc takes it "
                    "over the whole image (a 2-D input, or axis 1 before opset 13)",
                    (long long)axis, x->rank);
  int slot;
  if ((rc = place_unary(I, x, 0, &slot))) return rc;
  if (!layer_add(I, MODEL_SOFTMAX)) return node_err(I, COD_ENOMEM, "-");
  model_shape s = x->s;
  size_t rank = x->rank;
  node_inputs_used(I);
  return define_act(I, s, rank, -1, (long)(I->n_ls - 1));
}

/* Constant and constant folding (Transpose of a 2-D constant). */
static int op_const(imp *I, const Onnx__NodeProto *nd, int is_transpose) {
  cval c = {0};
  int rc;
  if (is_transpose) {
    val *a;
    if ((rc = attrs_check(I, nd, "perm ")) || (rc = node_input(I, 0, &a))) return rc;
    if (a->loc != LOC_CONST || a->c.rank != 2)
      return node_err(I, COD_EFORMAT, "Transpose is supported only on a 2-D constant");
    int64_t perm[2];
    if (attr_ints(nd, "perm", 2, 0, perm) || (attr_get(nd, "perm") && (perm[0] != 1 || perm[1] != 0)))
      return node_err(I, COD_EFORMAT, "only perm = [1, 0] is supported");
    size_t r = (size_t)a->c.dims[0], k = (size_t)a->c.dims[1];
    if (!(c.v = cod_malloc_array(r * k > 0 ? r * k : 1, sizeof(double)))) return node_err(I, COD_ENOMEM, "-");
    for (size_t i = 0; i < r; i++)
      for (size_t j = 0; j < k; j++) c.v[j * r + i] = a->c.v[i * k + j];
    c.n = r * k, c.rank = 2, c.dims[0] = (int64_t)k, c.dims[1] = (int64_t)r;
  } else {
    const Onnx__AttributeProto *a = attr_get(nd, "value");
    if (!a || !a->t || nd->n_attribute != 1)
      return node_err(I, COD_EFORMAT, "only a Constant with a tensor 'value' is supported");
    if ((rc = tensor_decode(a->t, I->file, &c, I->err))) return rc;
  }
  node_inputs_used(I);
  val *y = nd->n_output ? val_find(I, nd->output[0]) : NULL;
  if (!nd->n_output || (y && y->loc != LOC_NONE)) {
    cod_free(c.v);
    return node_err(I, COD_EFORMAT, "no output, or an output defined twice");
  }
  if (!y && !(y = val_add(I, nd->output[0]))) {
    cod_free(c.v);
    return node_err(I, COD_ENOMEM, "-");
  }
  y->loc = LOC_CONST, y->c = c;
  return COD_OK;
}

static int import_node(imp *I, const Onnx__NodeProto *nd) {
  const char *op = nd->op_type ? nd->op_type : "";
  if (nd->domain && nd->domain[0] && strcmp(nd->domain, "ai.onnx"))
    return node_err(I, COD_EFORMAT, "operator domain '%.40s' is not supported", nd->domain);
  if (!strcmp(op, "Conv")) return op_conv(I, nd);
  if (!strcmp(op, "Relu")) return op_relu(I, nd);
  if (!strcmp(op, "MaxPool")) return op_pool(I, nd, 1);
  if (!strcmp(op, "AveragePool")) return op_pool(I, nd, 0);
  if (!strcmp(op, "GlobalAveragePool")) return op_gap(I, nd);
  if (!strcmp(op, "BatchNormalization")) return op_batchnorm(I, nd);
  if (!strcmp(op, "Gemm")) return op_fc(I, nd, 1);
  if (!strcmp(op, "MatMul")) return op_fc(I, nd, 0);
  if (!strcmp(op, "Add")) return op_add(I, nd);
  if (!strcmp(op, "Flatten")) return op_flatten(I, nd, 0);
  if (!strcmp(op, "Reshape")) return op_flatten(I, nd, 1);
  if (!strcmp(op, "Dropout") || !strcmp(op, "Identity")) return op_identity(I, nd);
  if (!strcmp(op, "Softmax")) return op_softmax(I, nd);
  if (!strcmp(op, "Pad")) return op_pad(I, nd);
  if (!strcmp(op, "Constant")) return op_const(I, nd, 0);
  if (!strcmp(op, "Transpose")) return op_const(I, nd, 1);
  return node_err(I, COD_EFORMAT, "operator '%.40s' is not supported (docs/onnx.md lists the "
                  "supported ones)", op);
}

/* ---- the graph ------------------------------------------------------------------------------ */

/* Constants (initializers, bindings) and the one image input. */
static int import_inputs(imp *I, const model_onnx_binding *bind, size_t n_bind) {
  const Onnx__GraphProto *g = I->g;
  for (size_t i = 0; i < g->n_initializer; i++) {
    const Onnx__TensorProto *t = g->initializer[i];
    if (!t->name || !t->name[0] || val_find(I, t->name))
      return cod_err_set(I->err, COD_EFORMAT, "%s: initializer %zu has no name or a duplicate name",
                         I->file, i);
    val *v = val_add(I, t->name);
    if (!v) return cod_err_set(I->err, COD_ENOMEM, "%s: out of memory", I->file);
    int rc = tensor_decode(t, I->file, &v->c, I->err);
    if (rc) return rc;
    v->loc = LOC_CONST;
  }
  for (size_t j = 0; j < n_bind; j++) {
    int oom = 0;
    ProtobufCAllocator alloc = {pb_alloc, pb_free, &oom};
    Onnx__TensorProto *t = onnx__tensor_proto__unpack(&alloc, bind[j].len, bind[j].pb);
    if (!t && oom) return cod_err_set(I->err, COD_ENOMEM, "%s: out of memory", I->file);
    if (!t) return cod_err_set(I->err, COD_EFORMAT, "%s: bound value %zu is not a TensorProto",
                               I->file, j);
    const char *nm = bind[j].name ? bind[j].name : t->name ? t->name : "";
    const Onnx__ValueInfoProto *in = NULL;
    for (size_t i = 0; i < g->n_input; i++)
      if (g->input[i]->name && strcmp(g->input[i]->name, nm) == 0) in = g->input[i];
    int rc = COD_OK;
    val *v = NULL;
    if (!in || val_find(I, nm))
      rc = cod_err_set(I->err, COD_EFORMAT, "%s: bound value '%.80s' names no graph input "
                       "without an initializer", I->file, nm);
    else if (!(v = val_add(I, in->name)))
      rc = cod_err_set(I->err, COD_ENOMEM, "%s: out of memory", I->file);
    else
      rc = tensor_decode(t, I->file, &v->c, I->err);
    onnx__tensor_proto__free_unpacked(t, &alloc);
    if (rc) return rc;
    v->loc = LOC_CONST;
  }
  const Onnx__ValueInfoProto *image = NULL;
  for (size_t i = 0; i < g->n_input; i++) {
    const Onnx__ValueInfoProto *in = g->input[i];
    if (!in->name || val_find(I, in->name)) continue; /* has an initializer or a binding */
    if (image)
      return cod_err_set(I->err, COD_EFORMAT, "%s: graph inputs '%.80s' and '%.80s' both lack a "
                         "value; fcdcc models take one image input", I->file, image->name, in->name);
    image = in;
  }
  if (!image) return cod_err_set(I->err, COD_EFORMAT, "%s: the graph has no image input", I->file);
  const Onnx__TypeProto *tp = image->type;
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type->shape ||
      (tp->tensor_type->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT &&
       tp->tensor_type->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE))
    return cod_err_set(I->err, COD_EFORMAT, "%s: input '%.80s' must be a float tensor of known shape",
                       I->file, image->name);
  const Onnx__TensorShapeProto *sh = tp->tensor_type->shape;
  size_t rank = sh->n_dim, d[4] = {1, 1, 1, 1};
  if (rank != 4 && rank != 2)
    return cod_err_set(I->err, COD_EFORMAT, "%s: input '%.80s' has rank %zu; fcdcc reads N x C x H x W "
                       "images or N x F vectors", I->file, image->name, rank);
  for (size_t i = 1; i < rank; i++) {
    const Onnx__TensorShapeProto__Dimension *dm = sh->dim[i];
    if (dm->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE || dm->dim_value < 1 ||
        dm->dim_value > (int64_t)MODEL_MAX_INT)
      return cod_err_set(I->err, COD_EFORMAT, "%s: input '%.80s' dimension %zu must be a fixed "
                         "number in 1..%u", I->file, image->name, i, MODEL_MAX_INT);
    d[i] = (size_t)dm->dim_value;
  }
  val *v = val_add(I, image->name);
  if (!v) return cod_err_set(I->err, COD_ENOMEM, "%s: out of memory", I->file);
  v->loc = LOC_ACT, v->rank = rank, v->cur = 1;
  v->s = rank == 4 ? (model_shape){d[1], d[2], d[3]} : (model_shape){d[1], 1, 1};
  I->input = v->s;
  return COD_OK;
}

/* How often each value is read: by nodes and as a graph output. */
static int count_uses(imp *I) {
  const Onnx__GraphProto *g = I->g;
  for (size_t j = 0; j < g->n_node; j++)
    for (size_t i = 0; i < g->node[j]->n_input; i++) {
      const char *nm = g->node[j]->input[i];
      if (!nm[0]) continue;
      val *v = val_find(I, nm);
      if (!v && !(v = val_add(I, nm))) return cod_err_set(I->err, COD_ENOMEM, "%s: out of memory", I->file);
      v->uses++;
    }
  for (size_t i = 0; i < g->n_output; i++) {
    val *v = val_find(I, g->output[i]->name);
    if (!v && !(v = val_add(I, g->output[i]->name)))
      return cod_err_set(I->err, COD_ENOMEM, "%s: out of memory", I->file);
    v->uses++;
  }
  return COD_OK;
}

/* ---- text, parse, weights --------------------------------------------------------------------- */

typedef struct sbuf {
  char *p;
  size_t n, cap;
  int oom;
} sbuf;

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf *b, const char *fmt, ...) {
  if (b->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
    va_end(ap);
    if (k < 0) { b->oom = 1; return; }
    if (b->p && b->n + (size_t)k < b->cap) { b->n += (size_t)k; return; }
    size_t cap = b->cap ? 2 * b->cap : 4096;
    while (cap < b->n + (size_t)k + 1) cap *= 2;
    char *q = cod_realloc(b->p, cap);
    if (!q) { b->oom = 1; return; }
    b->p = q, b->cap = cap;
  }
}

static void emit_layer(sbuf *b, const olayer *L) {
  char on[24] = "";
  if (L->slot >= 0 && L->kind != MODEL_SAVE && L->kind != MODEL_ADD)
    snprintf(on, sizeof on, " on=s%d", L->slot);
  switch (L->kind) {
  case MODEL_CONV:
    sb_printf(b, "conv name=%s out=%zu kh=%zu kw=%zu stride=%zu pad=%zu bias=%d%s\n", L->name,
              L->out_c, L->kh, L->kw, L->stride, L->pad, L->bias, on);
    break;
  case MODEL_RELU: sb_printf(b, "relu name=%s%s\n", L->name, on); break;
  case MODEL_BATCHNORM: sb_printf(b, "batchnorm name=%s%s\n", L->name, on); break;
  case MODEL_MAXPOOL:
  case MODEL_AVGPOOL:
    sb_printf(b, "%s name=%s k=%zu stride=%zu pad=%zu\n", L->kind == MODEL_MAXPOOL ? "maxpool" : "avgpool",
              L->name, L->kh, L->stride, L->pad);
    break;
  case MODEL_GLOBALAVGPOOL: sb_printf(b, "globalavgpool name=%s\n", L->name); break;
  case MODEL_FC: sb_printf(b, "fc name=%s out=%zu bias=%d\n", L->name, L->out_c, L->bias); break;
  case MODEL_SOFTMAX: sb_printf(b, "softmax name=%s\n", L->name); break;
  case MODEL_SAVE: sb_printf(b, "save name=%s to=s%d\n", L->name, L->slot); break;
  case MODEL_ADD: sb_printf(b, "add name=%s from=s%d\n", L->name, L->slot); break;
  }
}

static int build_model(imp *I, model **m_out, model_weights **w_out) {
  if (I->n_ls == 0)
    return cod_err_set(I->err, COD_EFORMAT, "%s: the graph has no layer fcdcc computes", I->file);
  sbuf b = {0};
  sb_printf(&b, "input c=%zu h=%zu w=%zu\n", I->input.c, I->input.h, I->input.w);
  for (size_t i = 0; i < I->n_ls; i++) emit_layer(&b, &I->ls[i]);
  if (b.oom) {
    cod_free(b.p);
    return cod_err_set(I->err, COD_ENOMEM, "%s: out of memory", I->file);
  }
  model *m = NULL;
  cod_err pe = {0};
  int rc = model_parse(b.p, I->file, &m, &pe);
  cod_free(b.p);
  if (rc == COD_ENOMEM) return cod_err_set(I->err, rc, "%s: out of memory", I->file);
  if (rc) {
    /* "FILE:LINE: ..." from the generated text: report it against the node of that line */
    const char *p = pe.msg + strlen(I->file);
    size_t line = *p == ':' ? strtoul(p + 1, NULL, 10) : 0;
    if (line >= 2 && line - 2 < I->n_ls) {
      I->node = I->ls[line - 2].node;
      const char *rest = strchr(p + 1, ':');
      return node_err(I, COD_EFORMAT, "%s", rest ? rest + 2 : pe.msg);
    }
    return cod_err_set(I->err, COD_EFORMAT, "%s", pe.msg);
  }
  model_weights *w = NULL;
  if ((rc = model_weights_he(m, 1, &w, I->err))) { /* allocation; every value is set below */
    model_free(m);
    return rc;
  }
  for (size_t i = 0; i < I->n_ls; i++) {
    const olayer *L = &I->ls[i];
    const model_layer *ml = model_layer_get(m, i);
    if (ml->n_weights) {
      assert(ml->n_weights == L->n_w);
      memcpy(model_weights_get_mut(w, i), L->w, L->n_w * sizeof(double));
    }
    if (ml->n_bias) {
      assert(ml->n_bias == L->n_b);
      memcpy(model_weights_bias_mut(w, i), L->b, L->n_b * sizeof(double));
    }
  }
  *m_out = m, *w_out = w;
  return COD_OK;
}

int model_onnx_parse_buf(const void *buf, size_t len, const char *name,
                         const model_onnx_binding *bind, size_t n_bind, model **m_out,
                         model_weights **w_out, cod_err *err) {
  int oom = 0;
  ProtobufCAllocator alloc = {pb_alloc, pb_free, &oom};
  Onnx__ModelProto *mp = onnx__model_proto__unpack(&alloc, len, buf);
  if (!mp && oom) return cod_err_set(err, COD_ENOMEM, "%s: out of memory", name);
  if (!mp) return cod_err_set(err, COD_EFORMAT, "%s: not an ONNX model (protobuf decoding failed)", name);
  imp I;
  memset(&I, 0, sizeof I);
  I.file = name, I.err = err, I.g = mp->graph, I.opset = 1;
  for (size_t i = 0; i < mp->n_opset_import; i++)
    if (!mp->opset_import[i]->domain || !mp->opset_import[i]->domain[0] ||
        !strcmp(mp->opset_import[i]->domain, "ai.onnx"))
      I.opset = mp->opset_import[i]->version;
  int rc = COD_OK;
  if (!I.g) rc = cod_err_set(err, COD_EFORMAT, "%s: the model has no graph", name);
  if (!rc) rc = import_inputs(&I, bind, n_bind);
  if (!rc) rc = count_uses(&I);
  for (size_t j = 0; !rc && j < I.g->n_node; j++) {
    I.node = j;
    rc = import_node(&I, I.g->node[j]);
  }
  if (!rc && I.g->n_output != 1)
    rc = cod_err_set(err, COD_EFORMAT, "%s: the graph has %zu outputs; fcdcc models have one",
                     name, I.g->n_output);
  if (!rc) {
    val *o = val_find(&I, I.g->output[0]->name);
    if (!o || o->loc != LOC_ACT || !o->cur)
      rc = cod_err_set(err, COD_EFORMAT, "%s: the graph output '%.80s' is not the result of the "
                       "last layer", name, I.g->output[0]->name);
  }
  if (!rc) rc = build_model(&I, m_out, w_out);
  imp_fini(&I);
  onnx__model_proto__free_unpacked(mp, &alloc);
  return rc;
}

int model_onnx_load(const char *path, model **m_out, model_weights **w_out, cod_err *err) {
  /* cod_file: a non-blocking open of a regular file, its size checked before reading */
  char *buf = NULL;
  size_t size = 0;
  int rc = cod_file_read_all(path, "ONNX model", MODEL_ONNX_MAX_FILE_BYTES, 0, &buf, &size, err);
  if (rc) return rc;
  rc = model_onnx_parse_buf(buf, size, path, NULL, 0, m_out, w_out, err);
  cod_free(buf);
  return rc;
}

int model_load_any(const char *path, model **m_out, model_weights **w_out, cod_err *err) {
  if (!model_onnx_is_path(path)) {
    int rc = model_load(path, m_out, err);
    if (!rc && w_out) *w_out = NULL;
    return rc;
  }
  model *m;
  model_weights *w;
  int rc = model_onnx_load(path, &m, &w, err);
  if (rc) return rc;
  if (w_out) *w_out = w;
  else model_weights_free(w);
  *m_out = m;
  return COD_OK;
}
