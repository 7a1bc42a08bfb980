/* run_filt.c: the bounded cache of coded filters (see run_filt.h).
 *
 * One slot per conv layer, so a lookup is an index and a parameter comparison. The
 * retained set is decided at release time, first come first kept: a layer is kept when
 * the bytes already retained plus its own fit the budget. Runs visit the layers in the
 * same order, so the same layers stay retained from run to run and the others are
 * re-encoded each time: no thrashing, and the cost of the budget is predictable (the
 * encoding flops of the layers that do not fit).
 */
#include "run_filt.h"

#include <assert.h>
#include <string.h>

#include "cod_alloc.h"
#include "cod_clock.h"

typedef struct filt_slot {
  cod_code_params prm;  /* the code the data was encoded for (scheme name is static) */
  double *data;         /* n x worker_filter_len, or NULL */
  size_t bytes;
  double wall_s;        /* how long the encoding took */
  int class_major;      /* blocks in class-major order (else by worker) */
  cod_conv_algo form;   /* the filters' form (cod_code_encode_filters_form) */
  int in_use;           /* acquired and not yet released */
} filt_slot;

struct run_filt_cache {
  filt_slot *slot;
  size_t n_conv, budget_bytes, bytes, encodings;
};

int run_filt_cache_new(size_t n_conv, size_t budget_bytes, run_filt_cache **out, cod_err *err) {
  run_filt_cache *fc = cod_calloc(1, sizeof *fc);
  if (fc) fc->slot = cod_calloc(n_conv ? n_conv : 1, sizeof *fc->slot);
  if (!fc || !fc->slot) {
    cod_free(fc);
    return cod_err_set(err, COD_ENOMEM, "out of memory for the coded-filter cache");
  }
  fc->n_conv = n_conv, fc->budget_bytes = budget_bytes;
  *out = fc;
  return COD_OK;
}

static void slot_clear(run_filt_cache *fc, filt_slot *s) {
  fc->bytes -= s->bytes;
  cod_free(s->data);
  s->data = NULL, s->bytes = 0;
}

void run_filt_cache_free(run_filt_cache *fc) {
  if (!fc) return;
  for (size_t i = 0; i < fc->n_conv; i++) cod_free(fc->slot[i].data);
  cod_free(fc->slot);
  cod_free(fc);
}

static int same_code(const cod_code_params *a, const cod_code_params *b) {
  return strcmp(a->scheme, b->scheme) == 0 && a->n_workers == b->n_workers && a->ka == b->ka &&
         a->kb == b->kb && a->q == b->q && a->axis == b->axis && a->seed == b->seed;
}

int run_filt_cache_acquire(run_filt_cache *fc, size_t ci, const cod_code *code,
                           int class_major, cod_conv_algo form, const double *k,
                           const double **data, double *wall_s, cod_err *err) {
  assert(ci < fc->n_conv);
  filt_slot *s = &fc->slot[ci];
  assert(!s->in_use);
  const cod_code_params *p = cod_code_params_get(code);
  class_major = class_major != 0;
  if (!s->data || !same_code(&s->prm, p) || s->class_major != class_major || s->form != form) {
    slot_clear(fc, s);
    size_t fl = cod_code_worker_filter_len_form(code, form), len = cod_code_workers(code) * fl;
    double *d = cod_malloc_array(len, sizeof *d);
    if (!d) return cod_err_set(err, COD_ENOMEM, "out of memory for coded filters");
    double w0 = cod_clock_wall_s();
    int rc = cod_code_encode_filters_form(code, form, k, d, err);
    if (rc) {
      cod_free(d);
      return rc;
    }
    s->wall_s = cod_clock_wall_s() - w0;
    /* the master would encode in this order; the simulator reorders the same values */
    if (class_major) cod_code_permute_class_major(code, d, fl);
    s->class_major = class_major, s->form = form;
    s->data = d, s->bytes = len * sizeof *d, s->prm = *p;
    fc->bytes += s->bytes;
    fc->encodings++;
  }
  s->in_use = 1;
  *data = s->data, *wall_s = s->wall_s;
  return COD_OK;
}

void run_filt_cache_release(run_filt_cache *fc, size_t ci) {
  assert(ci < fc->n_conv);
  filt_slot *s = &fc->slot[ci];
  s->in_use = 0;
  /* fc->bytes counts this slot: keep it only if everything retained fits */
  if (fc->bytes > fc->budget_bytes) slot_clear(fc, s);
}

size_t run_filt_cache_bytes(const run_filt_cache *fc) { return fc->bytes; }
size_t run_filt_cache_encodings(const run_filt_cache *fc) { return fc->encodings; }
