/* model_forward.c: the plan (buffers sized once) and the uncoded forward pass.
 *
 * Two ping-pong buffers hold the current tensor and the next one; a layer that changes
 * shape reads one and writes the other, element-wise layers work in place. Each slot has
 * its own buffer of the largest tensor it ever holds. A layer applied to a slot (on=S)
 * that changes shape writes into the free ping-pong buffer and is copied back into the
 * slot: one copy of a shortcut tensor, negligible next to the conv that produced it.
 * fc layers are one cblas_dgemv each (OpenBLAS); convs are the hook or the plan's
 * algorithm per conv (im2col, or cod_conv_algo_choose's) with the plan's workspace. No
 * allocation happens after model_plan_new and model_plan_keep_filters. A plan can keep
 * the Winograd convs' filters transformed (model_plan_keep_filters): the weights of an
 * inference do not change, so transforming them on every call is work a forward pass
 * repeats per image; the kept transform gives the same bits (cod_wino.h).
 */
#include "model_forward.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include <gsl/gsl_cblas.h>

#include "cod_alloc.h"
#include "model_internal.h"

struct model_plan {
  const model *m;
  double *buf[2];                     /* ping-pong, max_elems each */
  double *slot[MODEL_MAX_SLOTS];      /* slot_max_elems[s] each */
  void *work;                         /* conv workspace, work_bytes */
  size_t work_bytes;
  cod_conv_algo *algo;                /* per conv: the algorithm it runs with */
  double **U;                         /* per conv: its filters transformed once, or NULL */
  const double **U_of;                /* per conv: the filters U was made from */
  size_t bytes;
};

void model_plan_free(model_plan *p) {
  if (!p) return;
  cod_free(p->buf[0]);
  cod_free(p->buf[1]);
  for (size_t s = 0; s < MODEL_MAX_SLOTS; s++) cod_free(p->slot[s]);
  cod_free(p->work);
  for (size_t i = 0; p->U && i < p->m->n_convs; i++) cod_free(p->U[i]);
  cod_free(p->U);
  cod_free(p->U_of);
  cod_free(p->algo);
  cod_free(p);
}

int model_plan_new(const model *m, model_plan **out, cod_err *err) {
  return model_plan_new_algo(m, 0, out, err);
}

int model_plan_new_algo(const model *m, int auto_algo, model_plan **out, cod_err *err) {
  model_plan *p = cod_calloc(1, sizeof *p);
  size_t nc = m->n_convs ? m->n_convs : 1;
  if (p) {
    p->m = m;
    p->algo = cod_calloc(nc, sizeof *p->algo);
    p->U = cod_calloc(nc, sizeof *p->U);
    p->U_of = cod_calloc(nc, sizeof *p->U_of);
  }
  if (!p || !p->algo || !p->U || !p->U_of) {
    model_plan_free(p);
    return cod_err_set(err, COD_ENOMEM, "model %s: out of memory for the plan", m->name);
  }
  for (size_t i = 0; i < m->n_convs; i++) {
    cod_conv_geom g = model_conv_geom(m, i);
    p->algo[i] = auto_algo ? cod_conv_algo_choose(&g, COD_F64) : COD_CONV_IM2COL;
    size_t b = cod_conv_algo_workspace_bytes(&g, p->algo[i], COD_F64);
    if (b > p->work_bytes) p->work_bytes = b;
  }
  int ok = (p->buf[0] = cod_aligned_alloc(m->max_elems * sizeof(double)))
           && (p->buf[1] = cod_aligned_alloc(m->max_elems * sizeof(double)));
  p->bytes = 2 * m->max_elems * sizeof(double) + p->work_bytes;
  for (size_t s = 0; ok && s < m->n_slots; s++) {
    ok = (p->slot[s] = cod_aligned_alloc(m->slot_max_elems[s] * sizeof(double))) != NULL;
    p->bytes += m->slot_max_elems[s] * sizeof(double);
  }
  if (ok && p->work_bytes) ok = (p->work = cod_aligned_alloc(p->work_bytes)) != NULL;
  if (!ok) {
    model_plan_free(p);
    return cod_err_set(err, COD_ENOMEM, "model %s: out of memory for the plan", m->name);
  }
  *out = p;
  return COD_OK;
}

size_t model_plan_bytes(const model_plan *p) { return p->bytes; }

cod_conv_algo model_plan_conv_algo(const model_plan *p, size_t conv_index) {
  assert(conv_index < p->m->n_convs);
  return p->algo[conv_index];
}

int model_plan_keep_filters(model_plan *p, const model_weights *w, cod_err *err) {
  const model *m = p->m;
  assert(model_weights_model(w) == m);
  for (size_t i = 0; i < m->n_convs; i++) {
    cod_conv_algo a = p->algo[i];
    if (a != COD_CONV_WINO2 && a != COD_CONV_WINO4) continue;
    cod_conv_geom g = model_conv_geom(m, i);
    size_t need = cod_conv_algo_pre_workspace_bytes(&g, a, COD_F64);
    if (need > p->work_bytes) { /* the pre-transformed path's workspace, once */
      void *nw = cod_aligned_alloc(need);
      if (!nw) return cod_err_set(err, COD_ENOMEM, "model %s: out of memory for the "
                                  "conv workspace", m->name);
      cod_free(p->work);
      p->bytes += need - p->work_bytes;
      p->work = nw, p->work_bytes = need;
    }
    const double *k = model_weights_get(w, m->conv_layers[i]);
    size_t len = cod_conv_algo_filters_len(&g, a);
    double *U = cod_aligned_alloc(len * sizeof *U);
    if (!U) return cod_err_set(err, COD_ENOMEM, "model %s: out of memory for conv %zu's "
                               "transformed filters", m->name, i);
    cod_conv_algo_filters_f64(&g, a, k, U);
    if (!p->U[i]) p->bytes += len * sizeof *U; /* a re-kept conv replaces its own U */
    cod_free(p->U[i]);
    p->U[i] = U, p->U_of[i] = k;
  }
  return COD_OK;
}

size_t model_plan_kept_filters(const model_plan *p) {
  size_t n = 0;
  for (size_t i = 0; i < p->m->n_convs; i++) n += p->U[i] != NULL;
  return n;
}

void model_plan_conv(model_plan *p, size_t conv_index, const double *x, const double *k,
                     double *y) {
  cod_conv_geom g = model_conv_geom(p->m, conv_index);
  cod_conv_algo a = model_plan_conv_algo(p, conv_index);
  if (p->U[conv_index] && p->U_of[conv_index] == k)
    cod_conv2d_algo_pre_f64(&g, a, x, p->U[conv_index], y, p->work);
  else cod_conv2d_algo_f64(&g, a, x, k, y, p->work);
}

/* Max or average pooling of x (in) into y (L->out). */
static void pool(const model_layer *L, const double *x, double *y) {
  const size_t k = L->kh, s = L->stride, p = L->pad, H = L->in.h, W = L->in.w;
  const size_t OH = L->out.h, OW = L->out.w;
  const int is_max = L->kind == MODEL_MAXPOOL;
  for (size_t c = 0; c < L->in.c; c++) {
    const double *xc = x + c * H * W;
    for (size_t oh = 0; oh < OH; oh++)
      for (size_t ow = 0; ow < OW; ow++) {
        double acc = is_max ? -INFINITY : 0.0;
        for (size_t u = 0; u < k; u++) {
          size_t ih = oh * s + u;
          if (ih < p || ih - p >= H) continue;
          for (size_t v = 0; v < k; v++) {
            size_t iw = ow * s + v;
            if (iw < p || iw - p >= W) continue;
            double val = xc[(ih - p) * W + (iw - p)];
            if (is_max) acc = val > acc ? val : acc;
            else acc += val;
          }
        }
        y[(c * OH + oh) * OW + ow] = is_max ? acc : acc / (double)(k * k);
      }
  }
}

static void softmax(double *x, size_t n) {
  double mx = x[0], sum = 0;
  for (size_t i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
  for (size_t i = 0; i < n; i++) sum += (x[i] = exp(x[i] - mx));
  for (size_t i = 0; i < n; i++) x[i] /= sum;
}

/* Add the per-channel bias of a C x (HW) tensor. */
static void add_bias(double *y, const double *b, size_t c, size_t hw) {
  for (size_t i = 0; i < c; i++)
    for (size_t j = 0; j < hw; j++) y[i * hw + j] += b[i];
}

/* Layers 0..last; the tensor layer `last` wrote goes to output (dump: of that layer's
 * shape, from its slot if it acted on one). */
static int forward_range(model_plan *p, const model_weights *w, const double *input,
                         double *output, model_conv_hook hook, void *hook_ctx, size_t last,
                         int dump, cod_err *err) {
  const model *m = p->m;
  assert(model_weights_model(w) == m);
  int cur = 0;
  memcpy(p->buf[0], input, model_shape_elems(m->input) * sizeof(double));
  for (size_t i = 0; i <= last; i++) {
    const model_layer *L = &m->layers[i];
    double *x = L->slot >= 0 && L->kind != MODEL_SAVE && L->kind != MODEL_ADD
                    ? p->slot[L->slot] : p->buf[cur];
    double *y = p->buf[!cur]; /* free buffer for shape-changing layers */
    size_t in_n = model_shape_elems(L->in), out_n = model_shape_elems(L->out);
    size_t out_hw = L->out.h * L->out.w;
    int swaps = 0; /* 1 if the result is in y */
    switch (L->kind) {
    case MODEL_CONV: {
      cod_conv_geom g = model_conv_geom(m, L->conv_index);
      const double *k = model_weights_get(w, i);
      if (hook) {
        cod_err herr = {0};
        int rc = hook(hook_ctx, L->conv_index, &g, x, k, y, &herr);
        if (rc)
          return cod_err_set(err, rc, "model %s: conv %zu '%s': %s", m->name, L->conv_index,
                             L->name, herr.msg[0] ? herr.msg : cod_status_name(rc));
      } else {
        model_plan_conv(p, L->conv_index, x, k, y);
      }
      if (L->bias) add_bias(y, model_weights_bias(w, i), L->out.c, out_hw);
      swaps = 1;
      break;
    }
    case MODEL_RELU:
      for (size_t j = 0; j < in_n; j++) x[j] = x[j] > 0 ? x[j] : 0.0;
      break;
    case MODEL_BATCHNORM: {
      const double *sc = model_weights_get(w, i), *sh = model_weights_bias(w, i);
      size_t hw = L->in.h * L->in.w;
      for (size_t c = 0; c < L->in.c; c++)
        for (size_t j = 0; j < hw; j++) x[c * hw + j] = sc[c] * x[c * hw + j] + sh[c];
      break;
    }
    case MODEL_MAXPOOL:
    case MODEL_AVGPOOL:
      pool(L, x, y);
      swaps = 1;
      break;
    case MODEL_GLOBALAVGPOOL: {
      size_t hw = L->in.h * L->in.w;
      for (size_t c = 0; c < L->in.c; c++) {
        double s = 0;
        for (size_t j = 0; j < hw; j++) s += x[c * hw + j];
        y[c] = s / (double)hw;
      }
      swaps = 1;
      break;
    }
    case MODEL_FC: {
      const double *b = model_weights_bias(w, i);
      if (b) memcpy(y, b, L->out_c * sizeof(double));
      cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)L->out_c, (int)in_n, 1.0,
                  model_weights_get(w, i), (int)in_n, x, 1, b ? 1.0 : 0.0, y, 1);
      swaps = 1;
      break;
    }
    case MODEL_SOFTMAX: softmax(x, in_n); break;
    case MODEL_SAVE: memcpy(p->slot[L->slot], x, in_n * sizeof(double)); break;
    case MODEL_ADD: {
      const double *s = p->slot[L->slot];
      for (size_t j = 0; j < in_n; j++) x[j] += s[j];
      break;
    }
    }
    if (swaps) {
      if (L->slot >= 0) memcpy(p->slot[L->slot], y, out_n * sizeof(double));
      else cur = !cur;
    }
  }
  const model_layer *E = &m->layers[last];
  if (!dump) { /* the model's output: the current tensor, as it always was */
    memcpy(output, p->buf[cur], model_shape_elems(model_output_shape(m)) * sizeof(double));
    return COD_OK;
  }
  const double *src = E->slot >= 0 && E->kind != MODEL_SAVE && E->kind != MODEL_ADD
                          ? p->slot[E->slot] : p->buf[cur];
  memcpy(output, src, model_shape_elems(E->out) * sizeof(double));
  return COD_OK;
}

int model_forward(model_plan *p, const model_weights *w, const double *input,
                  double *output, model_conv_hook hook, void *hook_ctx, cod_err *err) {
  return forward_range(p, w, input, output, hook, hook_ctx, p->m->n_layers - 1, 0, err);
}

int model_forward_dump(model_plan *p, const model_weights *w, const double *input,
                       size_t layer, double *act, cod_err *err) {
  assert(layer < p->m->n_layers);
  return forward_range(p, w, input, act, NULL, NULL, layer, 1, err);
}

int model_forward_once(const model_weights *w, const double *input, double *output,
                       model_conv_hook hook, void *hook_ctx, cod_err *err) {
  model_plan *p;
  int rc = model_plan_new(model_weights_model(w), &p, err);
  if (rc) return rc;
  rc = model_forward(p, w, input, output, hook, hook_ctx, err);
  model_plan_free(p);
  return rc;
}
