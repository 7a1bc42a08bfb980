/* model_internal.h: the model struct, shared by the files of models/ only. */
#ifndef FCDCC_MODEL_INTERNAL_H
#define FCDCC_MODEL_INTERNAL_H

#include "model.h"

struct model {
  char *name;                      /* owned */
  model_shape input;
  model_layer *layers;             /* owned, n_layers records */
  size_t n_layers;
  size_t *conv_layers;             /* owned: layer index of conv i */
  size_t n_convs;
  size_t n_slots;
  char slot_names[MODEL_MAX_SLOTS][MODEL_NAME_LEN];
  size_t slot_max_elems[MODEL_MAX_SLOTS]; /* largest tensor each slot ever holds */
  size_t max_elems;                /* largest tensor (input, any layer output) */
};

/* The built-in models, generated into model_zoo.c from models/zoo/NAME.model:
 * NULL-terminated parallel arrays of names and texts. */
extern const char *const model_zoo_names[];
extern const char *const model_zoo_texts[];

static inline size_t model_shape_elems(model_shape s) { return s.c * s.h * s.w; }

#endif
