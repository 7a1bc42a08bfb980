/* model_weights.c: He initialisation and .npy weight directories (see model_weights.h).
 *
 * One allocation per parameter array, sized from the layer records, so a weights object
 * always matches its model: every later access relies on n_weights / n_bias alone.
 * Loading checks rank and every dimension against the model before copying, converts
 * float32 files to float64, refuses non-finite values, and names the file in every
 * message. Path names are built from layer names, which the parser restricts to
 * [A-Za-z0-9_.-] without a leading '.', so a hostile model cannot escape `dir`.
 */
#include "model_weights.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "cod_alloc.h"
#include "cod_tensor.h"
#include "model_internal.h"

struct model_weights {
  const model *m;
  double **w; /* per layer, NULL if the layer has no weights */
  double **b; /* per layer, NULL if the layer has no bias */
};

void model_weights_free(model_weights *w) {
  if (!w) return;
  if (w->w)
    for (size_t i = 0; i < w->m->n_layers; i++) cod_free(w->w[i]);
  if (w->b)
    for (size_t i = 0; i < w->m->n_layers; i++) cod_free(w->b[i]);
  cod_free(w->w);
  cod_free(w->b);
  cod_free(w);
}

/* Allocate (zeroed) arrays for every layer with parameters. */
static int weights_alloc(const model *m, model_weights **out, cod_err *err) {
  model_weights *w = cod_calloc(1, sizeof *w);
  if (!w) return cod_err_set(err, COD_ENOMEM, "model %s: out of memory for weights", m->name);
  w->m = m;
  w->w = cod_calloc(m->n_layers, sizeof *w->w);
  w->b = cod_calloc(m->n_layers, sizeof *w->b);
  int ok = w->w && w->b;
  for (size_t i = 0; ok && i < m->n_layers; i++) {
    const model_layer *L = &m->layers[i];
    if (L->n_weights && !(w->w[i] = cod_calloc(L->n_weights, sizeof(double)))) ok = 0;
    if (ok && L->n_bias && !(w->b[i] = cod_calloc(L->n_bias, sizeof(double)))) ok = 0;
  }
  if (!ok) {
    model_weights_free(w);
    return cod_err_set(err, COD_ENOMEM, "model %s: out of memory for weights", m->name);
  }
  *out = w;
  return COD_OK;
}

int model_weights_he(const model *m, unsigned long seed, model_weights **out, cod_err *err) {
  model_weights *w;
  int rc = weights_alloc(m, &w, err);
  if (rc) return rc;
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  if (!r) {
    model_weights_free(w);
    return cod_err_set(err, COD_ENOMEM, "model %s: out of memory for the rng", m->name);
  }
  gsl_rng_set(r, seed);
  for (size_t i = 0; i < m->n_layers; i++) {
    const model_layer *L = &m->layers[i];
    if (L->kind == MODEL_BATCHNORM) {
      for (size_t j = 0; j < L->n_weights; j++) w->w[i][j] = 1.0;
      continue; /* shift stays 0 */
    }
    if (!L->n_weights) continue;
    double fan_in = (double)(L->n_weights / L->out_c);
    double sd = sqrt(2.0 / fan_in);
    for (size_t j = 0; j < L->n_weights; j++) w->w[i][j] = gsl_ran_gaussian_ziggurat(r, sd);
    for (size_t j = 0; j < L->n_bias; j++) w->b[i][j] = gsl_ran_gaussian_ziggurat(r, MODEL_HE_BIAS_STD);
  }
  gsl_rng_free(r);
  *out = w;
  return COD_OK;
}

/* Expected shape of a parameter file, right-aligned like cod_tensor. */
typedef struct want {
  size_t ndim;
  size_t d[4];
} want;

static void shape_str(size_t ndim, const size_t *d, char *buf, size_t cap) {
  size_t n = 0;
  n += (size_t)snprintf(buf + n, cap - n, "(");
  for (size_t i = 0; i < ndim && n < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, "%s%zu", i ? ", " : "", d[i]);
  if (n < cap) snprintf(buf + n, cap - n, ")");
}

/* Load `path` and check it against `wt`; on success dst[0..numel) holds the values. */
static int load_checked(const char *path, want wt, double *dst, cod_err *err) {
  cod_tensor t = {0}, t64 = {0};
  int rc = cod_npy_load(path, &t, err);
  if (rc) return rc;
  size_t all[4] = {t.n, t.c, t.h, t.w};
  const size_t *got = all + (4 - t.ndim);
  int match = t.ndim == wt.ndim;
  for (size_t i = 0; match && i < wt.ndim; i++) match = got[i] == wt.d[i];
  if (!match) {
    char a[80], b[80];
    shape_str(wt.ndim, wt.d, a, sizeof a);
    shape_str(t.ndim, got, b, sizeof b);
    rc = cod_err_set(err, COD_EFORMAT, "%s: expected shape %s, got %s", path, a, b);
  }
  const cod_tensor *src = &t;
  if (!rc && t.dtype != COD_F64) {
    rc = cod_tensor_convert(&t, COD_F64, &t64, err);
    src = &t64;
  }
  size_t bad;
  if (!rc && !cod_tensor_all_finite(src, &bad))
    rc = cod_err_set(err, COD_ENUMERIC, "%s: element %zu is not finite", path, bad);
  if (!rc) memcpy(dst, cod_tensor_f64(src), cod_tensor_numel(src) * sizeof(double));
  cod_tensor_fini(&t);
  cod_tensor_fini(&t64);
  return rc;
}

static int make_path(char *buf, size_t cap, const char *dir, const char *name,
                     const char *suffix, cod_err *err) {
  int n = snprintf(buf, cap, "%s/%s%s.npy", dir, name, suffix);
  if (n < 0 || (size_t)n >= cap)
    return cod_err_set(err, COD_EINVAL, "%s: path too long for layer %s", dir, name);
  return COD_OK;
}

/* Read a batchnorm (4, C) file and fold it into scale / shift. */
static int load_bn(const char *path, const model_layer *L, double *scale, double *shift,
                   cod_err *err) {
  size_t c = L->in.c;
  double *st = cod_malloc_array(4 * c, sizeof *st);
  if (!st) return cod_err_set(err, COD_ENOMEM, "%s: out of memory", path);
  int rc = load_checked(path, (want){2, {4, c}}, st, err);
  for (size_t j = 0; !rc && j < c; j++) {
    double gamma = st[j], beta = st[c + j], mean = st[2 * c + j], var = st[3 * c + j];
    if (var < 0) {
      rc = cod_err_set(err, COD_EFORMAT, "%s: running_var[%zu] = %g is negative", path, j, var);
      break;
    }
    scale[j] = gamma / sqrt(var + L->eps);
    shift[j] = beta - mean * scale[j];
  }
  cod_free(st);
  return rc;
}

int model_weights_load_dir(const model *m, const char *dir, model_weights **out,
                           cod_err *err) {
  struct stat sb;
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return cod_err_set(err, COD_EIO, "%s: not a readable directory", dir);
  model_weights *w;
  int rc = weights_alloc(m, &w, err);
  if (rc) return rc;
  char path[4096];
  for (size_t i = 0; !rc && i < m->n_layers; i++) {
    const model_layer *L = &m->layers[i];
    if (!L->n_weights) continue;
    if ((rc = make_path(path, sizeof path, dir, L->name, "", err))) break;
    if (L->kind == MODEL_BATCHNORM) {
      rc = load_bn(path, L, w->w[i], w->b[i], err);
      continue;
    }
    want wt = L->kind == MODEL_CONV ? (want){4, {L->out_c, L->in.c, L->kh, L->kw}}
                                    : (want){2, {L->out_c, L->n_weights / L->out_c}};
    rc = load_checked(path, wt, w->w[i], err);
    if (!rc && L->n_bias && !(rc = make_path(path, sizeof path, dir, L->name, "_bias", err)))
      rc = load_checked(path, (want){1, {L->out_c}}, w->b[i], err);
  }
  if (rc) {
    model_weights_free(w);
    return rc;
  }
  *out = w;
  return COD_OK;
}

static int save_array(const char *path, size_t ndim, const size_t *d, const double *v,
                      cod_err *err) {
  cod_tensor t = {0};
  size_t full[4] = {1, 1, 1, 1};
  for (size_t i = 0; i < ndim; i++) full[4 - ndim + i] = d[i];
  int rc = cod_tensor_init(&t, full[0], full[1], full[2], full[3], COD_F64, err);
  if (rc) return rc;
  t.ndim = ndim;
  memcpy(t.data, v, cod_tensor_numel(&t) * sizeof(double));
  rc = cod_npy_save(path, &t, err);
  cod_tensor_fini(&t);
  return rc;
}

int model_weights_save_dir(const model_weights *w, const char *dir, cod_err *err) {
  const model *m = w->m;
  char path[4096];
  int rc = COD_OK;
  for (size_t i = 0; !rc && i < m->n_layers; i++) {
    const model_layer *L = &m->layers[i];
    if (!L->n_weights) continue;
    if ((rc = make_path(path, sizeof path, dir, L->name, "", err))) break;
    if (L->kind == MODEL_BATCHNORM) {
      size_t c = L->in.c;
      double *st = cod_malloc_array(4 * c, sizeof *st);
      if (!st) return cod_err_set(err, COD_ENOMEM, "%s: out of memory", path);
      for (size_t j = 0; j < c; j++) {
        st[j] = w->w[i][j];
        st[c + j] = w->b[i][j];
        st[2 * c + j] = 0.0;
        st[3 * c + j] = 1.0 - L->eps;
      }
      rc = save_array(path, 2, (size_t[]){4, c}, st, err);
      cod_free(st);
      continue;
    }
    if (L->kind == MODEL_CONV)
      rc = save_array(path, 4, (size_t[]){L->out_c, L->in.c, L->kh, L->kw}, w->w[i], err);
    else
      rc = save_array(path, 2, (size_t[]){L->out_c, L->n_weights / L->out_c}, w->w[i], err);
    if (!rc && L->n_bias && !(rc = make_path(path, sizeof path, dir, L->name, "_bias", err)))
      rc = save_array(path, 1, (size_t[]){L->out_c}, w->b[i], err);
  }
  return rc;
}

const model *model_weights_model(const model_weights *w) { return w->m; }

const double *model_weights_get(const model_weights *w, size_t layer) {
  assert(layer < w->m->n_layers);
  return w->w[layer];
}

const double *model_weights_bias(const model_weights *w, size_t layer) {
  assert(layer < w->m->n_layers);
  return w->b[layer];
}

double *model_weights_get_mut(model_weights *w, size_t layer) {
  assert(layer < w->m->n_layers);
  return w->w[layer];
}

double *model_weights_bias_mut(model_weights *w, size_t layer) {
  assert(layer < w->m->n_layers);
  return w->b[layer];
}

const double *model_weights_conv_kernel(const model_weights *w, size_t conv_index) {
  assert(conv_index < w->m->n_convs);
  return w->w[w->m->conv_layers[conv_index]];
}
