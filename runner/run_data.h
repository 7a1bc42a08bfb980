/* run_data.h: the images of a run over a data set ([data] section) and their top-1.
 *
 * A run with [data] source != none evaluates `images` images starting at `first`, each as
 * one coded inference on the same simulated cluster (so every image gets fresh straggler
 * draws from the run's streams) beside the uncoded inference of the same image. The run's
 * runs / layers / workers rows describe the first image, exactly as a run with [model]
 * input would; the data_runs row adds, over all images: top-1 of the coded and of the
 * uncoded pipeline against the labels, the agreement (share of images whose coded argmax
 * equals the uncoded argmax; an image with an undecodable layer disagrees), the number of
 * undecodable images and the largest logit error.
 *
 * Sources: `fashion-mnist` reads Debian's dataset-fashion-mnist (RUN_FASHION_MNIST_DIR,
 * gzipped IDX, with its labels; [data] split chooses t10k or train); a path reads IDX
 * images (gzipped or not) or a uint8 .npy of shape N x H x W or N x C x H x W, with labels
 * from [data] labels (IDX or uint8 .npy, rank 1) or none. Pixels become
 * x = (pixel / 255 - mean) / std.
 */
#ifndef FCDCC_RUN_DATA_H
#define FCDCC_RUN_DATA_H

#include <stddef.h>

#include "cod_status.h"
#include "model.h"
#include "run_config.h"

#define RUN_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

/* The selected images, normalised, and their labels. */
typedef struct run_data {
  size_t n;          /* images */
  size_t elems;      /* values per image (C*H*W of the model input) */
  double *x;         /* n x elems, owned */
  int *label;        /* n labels, or NULL without labels; owned */
  char source[64 + RUN_PATH_MAX]; /* e.g. "fashion-mnist:test", for the data_runs row */
} run_data;

/* Load cfg's [data] images for a model whose input is `in`. Errors (COD_EIO, COD_EFORMAT,
 * COD_EINVAL, COD_ENOMEM) name the file or the key: a missing fashion-mnist package names
 * the package to install; images whose shape is not the model's input, a range
 * first + images beyond the set, labels of another count are COD_EINVAL. *out untouched
 * on failure. */
int run_data_load(const run_config *cfg, model_shape in, run_data *out, cod_err *err);
void run_data_fini(run_data *d);

/* Index of the largest of y[0..n) (the first one on ties). */
size_t run_data_argmax(const double *y, size_t n);

/* Running totals over the images of one run. */
typedef struct run_data_tally {
  size_t images, labelled, right_coded, right_uncoded, agree, undecodable;
  double max_logit_error;
} run_data_tally;

/* Count one image: `coded` NULL if it was undecodable; label < 0 if unknown. */
void run_data_tally_add(run_data_tally *t, const double *coded, const double *uncoded,
                        size_t n_logits, int label);

#endif
