/* run_data.c: loading a run's data set and counting top-1 (see run_data.h).
 *
 * The readers are models/model_data.h (hardened IDX and uint8 .npy); this file only picks
 * the files, checks the selection against the model's input, normalises the pixels and
 * keeps the tallies. A run's images are loaded once per thread (run_exec.c caches them with
 * the other assets), so a sweep over schemes reads the set once.
 */
#include "run_data.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cod_alloc.h"
#include "model_data.h"

void run_data_fini(run_data *d) {
  if (!d) return;
  cod_free(d->x);
  cod_free(d->label);
  memset(d, 0, sizeof *d);
}

static int load_any(const char *path, model_u8array *a, cod_err *err) {
  size_t n = strlen(path);
  return n > 4 && strcmp(path + n - 4, ".npy") == 0 ? model_npy_u8_load(path, a, err)
                                                     : model_idx_load(path, a, err);
}

int run_data_load(const run_config *cfg, model_shape in, run_data *out, cod_err *err) {
  const char *src = cfg->data.source;
  char img[RUN_PATH_MAX + 64], lab[RUN_PATH_MAX + 64], name[sizeof out->source];
  int fashion = strcmp(src, "fashion-mnist") == 0;
  if (fashion) {
    struct stat sb;
    if (stat(RUN_FASHION_MNIST_DIR, &sb) != 0)
      return cod_err_set(err, COD_EIO, "[data] source = fashion-mnist: %s not found "
                         "(apt-get install dataset-fashion-mnist)", RUN_FASHION_MNIST_DIR);
    const char *pre = cfg->data.split == RUN_SPLIT_TRAIN ? "train" : "t10k";
    snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte.gz", RUN_FASHION_MNIST_DIR, pre);
    snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte.gz", RUN_FASHION_MNIST_DIR, pre);
    snprintf(name, sizeof name, "fashion-mnist:%s", cfg->data.split == RUN_SPLIT_TRAIN ? "train" : "test");
  } else {
    snprintf(img, sizeof img, "%s", src);
    snprintf(lab, sizeof lab, "%s", cfg->data.labels);
    snprintf(name, sizeof name, "%s", src);
  }
  int has_labels = fashion || strcmp(cfg->data.labels, "none") != 0;
  model_u8array a = {0}, l = {0};
  int rc = load_any(img, &a, err);
  if (rc) return rc;
  if (has_labels && (rc = load_any(lab, &l, err))) {
    model_u8array_fini(&a);
    return rc;
  }
  size_t c = a.rank == 4 ? a.dims[1] : 1, h = a.rank >= 3 ? a.dims[a.rank - 2] : 0,
         w = a.rank >= 3 ? a.dims[a.rank - 1] : 0;
  size_t total = a.dims[0], first = cfg->data.first, count = cfg->data.images;
  if (a.rank < 3 || c != in.c || h != in.h || w != in.w)
    rc = cod_err_set(err, COD_EINVAL, "[data] %s: images are %zux%zux%zu (rank %zu), the model "
                     "takes %zux%zux%zu", img, c, h, w, a.rank, in.c, in.h, in.w);
  else if (first >= total || count > total - first)
    rc = cod_err_set(err, COD_EINVAL, "[data] first = %zu, images = %zu: %s holds %zu images",
                     first, count, img, total);
  else if (has_labels && (l.rank != 1 || l.dims[0] != total))
    rc = cod_err_set(err, COD_EINVAL, "[data] %s: %zu labels (rank %zu) for %zu images", lab,
                     l.rank == 1 ? l.dims[0] : l.n, l.rank, total);
  size_t elems = c * h * w;
  double *x = rc ? NULL : cod_malloc_array(count * elems, sizeof *x);
  int *lb = rc || !has_labels ? NULL : cod_malloc_array(count, sizeof *lb);
  if (!rc && (!x || (has_labels && !lb)))
    rc = cod_err_set(err, COD_ENOMEM, "[data] %s: out of memory", img);
  if (!rc) {
    const double mean = cfg->data.mean, sd = cfg->data.std;
    for (size_t i = 0; i < count * elems; i++)
      x[i] = ((double)a.data[first * elems + i] / 255.0 - mean) / sd;
    for (size_t i = 0; lb && i < count; i++) lb[i] = l.data[first + i];
    memset(out, 0, sizeof *out);
    out->n = count, out->elems = elems, out->x = x, out->label = lb;
    snprintf(out->source, sizeof out->source, "%s", name);
  } else {
    cod_free(x);
    cod_free(lb);
  }
  model_u8array_fini(&a);
  model_u8array_fini(&l);
  return rc;
}

size_t run_data_argmax(const double *y, size_t n) {
  size_t best = 0;
  for (size_t i = 1; i < n; i++)
    if (y[i] > y[best]) best = i;
  return best;
}

void run_data_tally_add(run_data_tally *t, const double *coded, const double *uncoded,
                        size_t n_logits, int label) {
  size_t u = run_data_argmax(uncoded, n_logits);
  t->images++;
  if (label >= 0) {
    t->labelled++;
    t->right_uncoded += u == (size_t)label;
  }
  if (!coded) {
    t->undecodable++;
    return;
  }
  size_t c = run_data_argmax(coded, n_logits);
  t->agree += c == u;
  if (label >= 0) t->right_coded += c == (size_t)label;
  for (size_t i = 0; i < n_logits; i++) {
    double e = fabs(coded[i] - uncoded[i]);
    if (e > t->max_logit_error || isnan(e)) t->max_logit_error = e;
  }
}
