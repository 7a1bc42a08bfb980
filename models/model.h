/* model.h: CNN descriptions as data (prefix model_).
 *
 * A model is an ordered list of layers that transform one image tensor C x H x W, read
 * from a line-oriented text format (docs/model-format.md). Parsing validates everything
 * a hostile file could get wrong and infers every layer's input and output shape, so a
 * model that exists is always well formed: every conv has a valid cod_conv_geom, every
 * fc matches its input size, every `add` finds a saved tensor of the same shape. The
 * struct is opaque because of that invariant; its layers are exposed read-only as plain
 * model_layer records.
 *
 * Residual networks use named slots: `save to=S` copies the current tensor into S,
 * `add from=S` adds S back, and conv / batchnorm / relu given `on=S` transform the slot in
 * place of the current tensor (a projection shortcut). Conv layers are numbered in file
 * order (conv_index 0..n-1), projection convs included; that index is what the simulator
 * and the forward-pass hook see.
 *
 * Bundled models ("lenet5", "alexnet" (torchvision variant), "vgg16", "resnet18") are
 * embedded in the library at build time from models/zoo/NAME.model, so model_lookup()
 * needs no file at run time.
 */
#ifndef FCDCC_MODEL_H
#define FCDCC_MODEL_H

#include <stddef.h>
#include <stdio.h>

#include "cod_conv.h"
#include "cod_status.h"

/* Limits that hostile input runs into (documented in docs/model-format.md). */
#define MODEL_MAX_INT 1000000u          /* largest integer attribute value */
#define MODEL_MAX_ELEMS ((size_t)1 << 30) /* largest tensor or weight array, elements */
#define MODEL_MAX_LAYERS 10000u
#define MODEL_MAX_SLOTS 16u
#define MODEL_NAME_LEN 64               /* layer / slot names, including the NUL */

typedef enum model_kind {
  MODEL_CONV = 0,
  MODEL_RELU,
  MODEL_MAXPOOL,
  MODEL_AVGPOOL,
  MODEL_GLOBALAVGPOOL,
  MODEL_BATCHNORM,
  MODEL_FC,
  MODEL_SOFTMAX,
  MODEL_SAVE,
  MODEL_ADD
} model_kind;

/* A C x H x W shape. */
typedef struct model_shape {
  size_t c, h, w;
} model_shape;

/* One layer, as parsed and shape-checked. Plain data, owned by the model. */
typedef struct model_layer {
  model_kind kind;
  char name[MODEL_NAME_LEN]; /* unique; weight files are NAME.npy, NAME_bias.npy */
  size_t line;               /* 1-based line in the source text */
  int slot;                  /* on=/to=/from= slot index, or -1 for the current tensor */
  size_t out_c;              /* conv: filters N; fc: output features */
  size_t kh, kw;             /* conv and pools: window */
  size_t stride, pad;        /* conv and pools */
  int bias;                  /* conv, fc: 1 if the layer has a bias */
  double eps;                /* batchnorm: variance epsilon used when folding stats */
  model_shape in, out;       /* shape of the tensor read and written */
  size_t conv_index;         /* conv: index among conv layers; else (size_t)-1 */
  size_t n_weights;          /* conv: N*C*KH*KW; fc: out*in; batchnorm: C (scale) */
  size_t n_bias;             /* conv, fc with bias: out; batchnorm: C (shift); else 0 */
  double macs;               /* multiply-accumulates (conv, fc only; else 0) */
} model_layer;

typedef struct model model;

/* Parse a model from the NUL-terminated `text`. `name` (e.g. a file path) is used in
 * error messages, which read "NAME:LINE: ..." and name the offending attribute, and is
 * stored as the model's name. On success *out owns a new model (free with model_free);
 * on failure *out is untouched and COD_EFORMAT (bad syntax, bad values, or shapes that
 * do not fit) or COD_ENOMEM is returned. */
int model_parse(const char *text, const char *name, model **out, cod_err *err);
/* As model_parse, for a buffer of `len` bytes that need not be NUL-terminated (the
 * fuzzing entry point). A NUL byte inside the buffer is a format error. */
int model_parse_buf(const char *buf, size_t len, const char *name, model **out,
                    cod_err *err);
/* Read and parse the file at `path` (COD_EIO if it cannot be read). */
int model_load(const char *path, model **out, cod_err *err);
/* Parse the built-in model `name` ("lenet5", "alexnet", "vgg16", "resnet18");
 * COD_EINVAL listing the known names if there is no such model. */
int model_lookup(const char *name, model **out, cod_err *err);
/* NULL-terminated list of the built-in model names (static storage). */
const char *const *model_builtin_names(void);
/* The embedded text of a built-in model, or NULL (static storage). */
const char *model_builtin_text(const char *name);
/* Release a model; accepts NULL. */
void model_free(model *m);

/* The model's name as given to model_parse (or the built-in name). */
const char *model_name(const model *m);
model_shape model_input_shape(const model *m);
model_shape model_output_shape(const model *m);
size_t model_layer_count(const model *m);
/* Layer i (0 <= i < model_layer_count); the pointer lives as long as the model. */
const model_layer *model_layer_get(const model *m, size_t i);
/* Index of the layer called `name`, or -1. */
long model_layer_find(const model *m, const char *name);
/* Name of slot s (0 <= s < model_slot_count). */
size_t model_slot_count(const model *m);
const char *model_slot_name(const model *m, size_t s);

/* Conv layers, in file order. */
size_t model_conv_count(const model *m);
/* The geometry of conv `conv_index` (asserts the index is in range); always valid. */
cod_conv_geom model_conv_geom(const model *m, size_t conv_index);
/* The layer record of conv `conv_index`. */
const model_layer *model_conv_layer(const model *m, size_t conv_index);
/* Sum of MACs over conv layers, and over conv + fc layers. */
double model_conv_macs_total(const model *m);
double model_macs_total(const model *m);

/* Short lower-case name of a layer kind ("conv", "relu", ...). */
const char *model_kind_name(model_kind k);

/* Print the model (one line per layer: name, kind, attributes, input and output
 * shapes, MACs, parameters; then totals) to `out`. Returns COD_EIO on a write error. */
int model_describe(const model *m, FILE *out, cod_err *err);

#endif
