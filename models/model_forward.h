/* model_forward.h: uncoded single-image inference, with a hook for coded convolutions.
 *
 * A model_plan is sized once from the model's shapes: two ping-pong activation buffers
 * of the largest tensor, one buffer per residual slot, and the largest im2col workspace
 * any conv needs. model_forward() then runs the layers without allocating. Every conv
 * goes through the hook if one is given (the simulator passes one that runs a coded,
 * distributed convolution) or through cod_conv2d_f64; the hook computes the bias-free
 * convolution and model_forward adds the bias afterwards. All arithmetic is float64.
 *
 * Layer semantics (also in docs/model-format.md): maxpool pads with -infinity;
 * avgpool pads with zeros that count in the divisor (PyTorch count_include_pad); no
 * ceil mode; softmax runs over the whole C*H*W tensor, shifted by its maximum.
 */
#ifndef FCDCC_MODEL_FORWARD_H
#define FCDCC_MODEL_FORWARD_H

#include <stddef.h>

#include "cod_wino.h"
#include "model.h"
#include "model_weights.h"

/* Computes y = conv(x, k) (no bias) for conv `conv_index` of geometry g: x is
 * C x H x W, k is N x C x KH x KW, y (N x H' x W') is written completely. Returns 0 or
 * a COD_* status, with a message in err. */
typedef int (*model_conv_hook)(void *ctx, size_t conv_index, const cod_conv_geom *g,
                               const double *x, const double *k, double *y, cod_err *err);

typedef struct model_plan model_plan;

/* Allocate the buffers for running `m` (which must outlive the plan). Every conv runs by
 * im2col + GEMM (cod_conv2d_f64). */
int model_plan_new(const model *m, model_plan **out, cod_err *err);
/* The same with auto_algo = 1: each conv runs by cod_conv_algo_choose(its geometry, fp64)
 * (Winograd F(2x2,3x3) where that rule says so: results differ from im2col's in the last
 * bits); auto_algo = 0 is model_plan_new. */
int model_plan_new_algo(const model *m, int auto_algo, model_plan **out, cod_err *err);
/* The algorithm conv conv_index runs with under this plan. */
cod_conv_algo model_plan_conv_algo(const model_plan *p, size_t conv_index);
/* Transform once the filters of w's convs that run by Winograd under this plan and keep
 * them (cod_conv_algo_filters_f64): every later conv with those filters (same addresses)
 * runs on the kept transform, with the same result bit for bit and none of the per-call
 * transform. w's filters must not change while the plan keeps them; calling it again
 * transforms them again (after a change, or for other weights of the same model). Counts
 * in model_plan_bytes. Returns COD_OK, or COD_ENOMEM (err) with what was kept before still
 * usable. */
int model_plan_keep_filters(model_plan *p, const model_weights *w, cod_err *err);
/* Convs whose filters the plan keeps transformed. */
size_t model_plan_kept_filters(const model_plan *p);
/* y = conv(x, k) for conv conv_index by the plan's algorithm in the plan's workspace
 * (bias-free, layouts as in the hook); on the kept transform when k is the filters it was
 * kept for. For a hook that computes some convs itself; not reentrant with another
 * model_plan_conv on the same plan. Never fails. */
void model_plan_conv(model_plan *p, size_t conv_index, const double *x, const double *k,
                     double *y);
void model_plan_free(model_plan *p);
/* Bytes the plan holds (activations, slots, conv workspace, kept filters). */
size_t model_plan_bytes(const model_plan *p);

/* Run one image. `input` holds model_input_shape() C*H*W doubles, `output` receives
 * model_output_shape() C*H*W doubles (it may alias nothing in the plan). `w` must
 * belong to the plan's model. hook may be NULL. If the hook fails its status is
 * returned, with its message prefixed by the conv's name; output is then untouched. */
int model_forward(model_plan *p, const model_weights *w, const double *input,
                  double *output, model_conv_hook hook, void *hook_ctx, cod_err *err);

/* Run layers 0..layer of one image, uncoded, and write the tensor layer `layer` produced
 * (model_layer_get(m, layer)->out, C*H*W doubles; for a layer on a slot, the slot) to act:
 * the activations a user compares with their own framework's. */
int model_forward_dump(model_plan *p, const model_weights *w, const double *input,
                       size_t layer, double *act, cod_err *err);

/* Convenience: plan, run once, free. */
int model_forward_once(const model_weights *w, const double *input, double *output,
                       model_conv_hook hook, void *hook_ctx, cod_err *err);

#endif
