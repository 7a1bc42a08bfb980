/* an_layers.c: the conv-layer geometries of a model, for the analytic commands.
 *
 * A thin bridge to models/: a built-in name is looked up first, anything else is read as a
 * model file, exactly as the runner resolves [model] name, so `fcdcc optimum` and a
 * simulated run see the same layers. The model is freed before returning: callers keep
 * only plain geometries and names.
 */
#include <stdio.h>
#include <string.h>

#include <unistd.h>

#include "an_model.h"
#include "model.h"
#include "model_onnx.h"

int an_model_convs(const char *model_name, cod_conv_geom *geoms, char *names, size_t name_len,
                   size_t cap, size_t *n, cod_err *err) {
  model *m = NULL;
  if (!model_name || !*model_name) return cod_err_set(err, COD_EINVAL, "no model name given");
  int rc = model_lookup(model_name, &m, err);
  if (rc == COD_ENOMEM) return rc; /* a built-in that could not be parsed, not a file */
  if (rc != COD_OK) {
    if (access(model_name, F_OK) != 0) { /* a probe that cannot block on a FIFO */
      const char *const *known = model_builtin_names();
      char list[256] = "";
      for (size_t i = 0; known[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", known[i]);
      return cod_err_set(err, COD_EINVAL, "unknown model '%s' (built-in: %s; or a model file)",
                         model_name, list);
    }
    rc = model_load_any(model_name, &m, NULL, err);
    if (rc) return rc;
  }
  size_t count = model_conv_count(m);
  for (size_t i = 0; i < count && i < cap; i++) {
    geoms[i] = model_conv_geom(m, i);
    if (names && name_len) snprintf(names + i * name_len, name_len, "%s", model_conv_layer(m, i)->name);
  }
  model_free(m);
  *n = count;
  return COD_OK;
}
