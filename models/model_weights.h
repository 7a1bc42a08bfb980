/* model_weights.h: the parameters of a model, initialised or loaded from .npy files.
 *
 * A model_weights object holds, for each layer that has parameters, one float64 array
 * of weights and one of biases, with the sizes the model's layer records announce
 * (n_weights, n_bias). Layouts: conv N x C x KH x KW (the cod_conv2d layout), fc
 * out x in (row-major, applied to the C*H*W input flattened in C order), batchnorm a
 * per-channel affine y = scale[c] * x + shift[c] (weights = scale, bias = shift), so
 * running statistics are folded at load time and the forward pass never sees them.
 *
 * He initialisation (He et al., "Delving Deep into Rectifiers", ICCV 2015): weights are
 * N(0, 2 / fan_in) with fan_in = C*KH*KW (conv) or in-features (fc), drawn from one
 * seeded gsl_rng_mt19937 in layer order, weights before bias; biases N(0, 0.01^2);
 * batchnorm scale 1, shift 0. Same model + seed = bit-identical weights.
 *
 * The object keeps a pointer to its model, which must outlive it.
 */
#ifndef FCDCC_MODEL_WEIGHTS_H
#define FCDCC_MODEL_WEIGHTS_H

#include <stddef.h>

#include "model.h"

typedef struct model_weights model_weights;

/* Standard deviation of the He-initialised biases. */
#define MODEL_HE_BIAS_STD 0.01

/* He-normal initialisation (see above). On success *out owns new weights (free with
 * model_weights_free); COD_ENOMEM on allocation failure, *out untouched. */
int model_weights_he(const model *m, unsigned long seed, model_weights **out, cod_err *err);

/* Load weights from directory `dir`: for each conv / fc layer NAME.npy (rank 4
 * N,C,KH,KW resp. rank 2 out,in) and, if the layer has a bias, NAME_bias.npy (rank 1);
 * for each batchnorm NAME.npy of shape (4, C) holding gamma, beta, running_mean,
 * running_var rows, folded with the layer's eps into scale = gamma / sqrt(var + eps),
 * shift = beta - mean * scale. Files may be '<f8' or '<f4'. Errors: COD_EIO (missing
 * file), COD_EFORMAT (bad .npy, wrong rank or shape, naming the file, the expected
 * and the actual shape; negative variance), COD_ENUMERIC (non-finite value). */
int model_weights_load_dir(const model *m, const char *dir, model_weights **out,
                           cod_err *err);

/* Write the weights as model_weights_load_dir reads them (conv/fc NAME.npy and
 * NAME_bias.npy; batchnorm as gamma = scale, beta = shift, mean 0, var 1 - eps so that
 * loading reproduces scale and shift up to rounding). The directory must exist. */
int model_weights_save_dir(const model_weights *w, const char *dir, cod_err *err);

void model_weights_free(model_weights *w);

const model *model_weights_model(const model_weights *w);
/* Weights / bias of layer `layer` (NULL if the layer has none); lengths are the
 * layer's n_weights / n_bias. The mutable variants let callers (tests, importers)
 * set values; the layout is fixed by the layer record. */
const double *model_weights_get(const model_weights *w, size_t layer);
const double *model_weights_bias(const model_weights *w, size_t layer);
double *model_weights_get_mut(model_weights *w, size_t layer);
double *model_weights_bias_mut(model_weights *w, size_t layer);
/* Kernel of conv `conv_index`: N x C x KH x KW. */
const double *model_weights_conv_kernel(const model_weights *w, size_t conv_index);

#endif
