/* model.c: model accessors, built-in lookup, file loading and the human listing.
 *
 * The built-in texts come from model_zoo.c, which the build generates from
 * the models/zoo model files (model_embed.c), so the listing in the repository and the model in
 * the binary cannot drift apart. Built-ins go through the same parser as user files.
 */
#include "model_internal.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "cod_alloc.h"
#include "cod_file.h"

/* Files larger than this are rejected before reading (a model is a few KB of text). */
#define MODEL_MAX_FILE_BYTES ((long)16 << 20)

const char *const *model_builtin_names(void) { return model_zoo_names; }

const char *model_builtin_text(const char *name) {
  for (size_t i = 0; model_zoo_names[i]; i++)
    if (!strcmp(model_zoo_names[i], name)) return model_zoo_texts[i];
  return NULL;
}

int model_lookup(const char *name, model **out, cod_err *err) {
  const char *text = model_builtin_text(name);
  if (!text) {
    char known[256] = "";
    for (size_t i = 0; model_zoo_names[i]; i++) {
      if (i) strncat(known, ", ", sizeof known - strlen(known) - 1);
      strncat(known, model_zoo_names[i], sizeof known - strlen(known) - 1);
    }
    return cod_err_set(err, COD_EINVAL, "no built-in model '%.64s' (known: %s)", name, known);
  }
  return model_parse(text, name, out, err);
}

int model_load(const char *path, model **out, cod_err *err) {
  char *buf = NULL;
  size_t size = 0;
  /* a regular file only (a FIFO would block the open), its size checked before reading */
  int rc = cod_file_read_all(path, "model", (size_t)MODEL_MAX_FILE_BYTES, 0, &buf, &size, err);
  if (rc) return rc;
  rc = model_parse_buf(buf, size, path, out, err);
  cod_free(buf);
  return rc;
}

const char *model_name(const model *m) { return m->name; }
model_shape model_input_shape(const model *m) { return m->input; }
model_shape model_output_shape(const model *m) { return m->layers[m->n_layers - 1].out; }
size_t model_layer_count(const model *m) { return m->n_layers; }

const model_layer *model_layer_get(const model *m, size_t i) {
  assert(i < m->n_layers);
  return &m->layers[i];
}

long model_layer_find(const model *m, const char *name) {
  for (size_t i = 0; i < m->n_layers; i++)
    if (!strcmp(m->layers[i].name, name)) return (long)i;
  return -1;
}

size_t model_slot_count(const model *m) { return m->n_slots; }

const char *model_slot_name(const model *m, size_t s) {
  assert(s < m->n_slots);
  return m->slot_names[s];
}

size_t model_conv_count(const model *m) { return m->n_convs; }

const model_layer *model_conv_layer(const model *m, size_t conv_index) {
  assert(conv_index < m->n_convs);
  return &m->layers[m->conv_layers[conv_index]];
}

cod_conv_geom model_conv_geom(const model *m, size_t conv_index) {
  const model_layer *L = model_conv_layer(m, conv_index);
  cod_conv_geom g = {L->in.c, L->in.h, L->in.w, L->out_c, L->kh, L->kw, L->stride, L->pad};
  assert(cod_conv_geom_valid(&g));
  return g;
}

double model_conv_macs_total(const model *m) {
  double s = 0;
  for (size_t i = 0; i < m->n_layers; i++)
    if (m->layers[i].kind == MODEL_CONV) s += m->layers[i].macs;
  return s;
}

double model_macs_total(const model *m) {
  double s = 0;
  for (size_t i = 0; i < m->n_layers; i++) s += m->layers[i].macs;
  return s;
}

/* The attributes column of the listing. */
static void layer_attrs(const model *m, const model_layer *L, char *buf, size_t cap) {
  buf[0] = 0;
  switch (L->kind) {
  case MODEL_CONV:
    snprintf(buf, cap, "out=%zu k=%zux%zu s=%zu p=%zu%s", L->out_c, L->kh, L->kw, L->stride,
             L->pad, L->bias ? "" : " nobias");
    break;
  case MODEL_MAXPOOL:
  case MODEL_AVGPOOL:
    snprintf(buf, cap, "k=%zu s=%zu p=%zu", L->kh, L->stride, L->pad);
    break;
  case MODEL_FC: snprintf(buf, cap, "out=%zu%s", L->out_c, L->bias ? "" : " nobias"); break;
  case MODEL_BATCHNORM: snprintf(buf, cap, "eps=%g", L->eps); break;
  case MODEL_SAVE: snprintf(buf, cap, "to=%s", m->slot_names[L->slot]); break;
  case MODEL_ADD: snprintf(buf, cap, "from=%s", m->slot_names[L->slot]); break;
  default: break;
  }
  if (L->slot >= 0 && L->kind != MODEL_SAVE && L->kind != MODEL_ADD) {
    size_t n = strlen(buf);
    snprintf(buf + n, cap - n, "%son=%s", n ? " " : "", m->slot_names[L->slot]);
  }
}

int model_describe(const model *m, FILE *out, cod_err *err) {
  model_shape in = m->input, o = model_output_shape(m);
  double conv = model_conv_macs_total(m), all = model_macs_total(m);
  size_t params = 0;
  for (size_t i = 0; i < m->n_layers; i++) params += m->layers[i].n_weights + m->layers[i].n_bias;
  fprintf(out, "model %s: input %zux%zux%zu, output %zux%zux%zu, %zu layers, %zu conv\n",
          m->name, in.c, in.h, in.w, o.c, o.h, o.w, m->n_layers, m->n_convs);
  fprintf(out, "%4s %-24s %-13s %-36s %-14s %-14s %14s %11s\n", "#", "name", "kind",
          "attributes", "input", "output", "MACs", "params");
  for (size_t i = 0; i < m->n_layers; i++) {
    const model_layer *L = &m->layers[i];
    char attrs[96], sin[40], sout[40];
    layer_attrs(m, L, attrs, sizeof attrs);
    snprintf(sin, sizeof sin, "%zux%zux%zu", L->in.c, L->in.h, L->in.w);
    snprintf(sout, sizeof sout, "%zux%zux%zu", L->out.c, L->out.h, L->out.w);
    fprintf(out, "%4zu %-24s %-13s %-36s %-14s %-14s %14.0f %11zu\n", i, L->name,
            model_kind_name(L->kind), attrs, sin, sout, L->macs, L->n_weights + L->n_bias);
  }
  fprintf(out, "total: %.4f GMACs in conv layers, %.4f GMACs in all, %zu parameters\n",
          conv / 1e9, all / 1e9, params);
  if (ferror(out)) return cod_err_set(err, COD_EIO, "model %s: write error in the listing", m->name);
  return COD_OK;
}
