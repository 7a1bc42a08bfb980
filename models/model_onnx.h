/* model_onnx.h: ONNX files as fcdcc models (prefix model_onnx_).
 *
 * An .onnx file (a protobuf ModelProto, read with protobuf-c from the onnx.proto that
 * Debian's libonnx-dev installs; the C bindings are generated at build time) becomes an
 * ordinary model plus its weights. The importer walks the graph in node order, turns every
 * node into zero or more layers of the model text format (docs/model-format.md), parses that
 * text with model_parse, so the model's own validation and shape inference still hold, and
 * copies the initializers into a model_weights object. docs/onnx.md lists the operators:
 * Conv (group 1; dilations are expanded into a zero-filled kernel), Relu, MaxPool,
 * AveragePool, GlobalAveragePool, BatchNormalization (folded into the preceding conv when
 * that conv's output feeds only it), Gemm, MatMul (+ Add of a constant as its bias), Add of
 * two activations (a residual connection, through a slot), Flatten / Reshape to 2-D,
 * Dropout, Identity, Softmax, a Pad by zero (a no-op), plus Constant and a 2-D Transpose of
 * a constant. The leading
 * (batch) dimension of the graph input is ignored: a model is one image.
 *
 * Every refusal (an unsupported operator or attribute, a dangling input, a node that reads
 * a later node's output, a shape that does not fit, a graph that is not a chain with
 * residual side branches) is COD_EFORMAT with a message "FILE: node I 'NAME' (OP): ...".
 */
#ifndef FCDCC_MODEL_ONNX_H
#define FCDCC_MODEL_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "cod_status.h"
#include "model.h"
#include "model_weights.h"

/* Largest .onnx file model_onnx_load reads, bytes. */
#define MODEL_ONNX_MAX_FILE_BYTES ((size_t)256 << 20)
/* Largest rank of a tensor read by model_onnx_tensor_parse. */
#define MODEL_ONNX_MAX_RANK 8

/* A graph input given a value from outside the file (the ONNX node tests feed weights as
 * inputs): `pb` holds `len` bytes of a serialized TensorProto. */
typedef struct model_onnx_binding {
  const char *name; /* graph input name; NULL = the TensorProto's own name */
  const void *pb;
  size_t len;
} model_onnx_binding;

/* 1 if `name` ends in ".onnx" (how every place that takes a model name recognises one). */
int model_onnx_is_path(const char *name);

/* Import the ONNX model in buf[0..len). `name` is used in messages and becomes the model's
 * name. `bind` (n_bind entries, may be NULL) gives values to graph inputs; exactly one graph
 * input must remain unbound and without initializer: the image. On success *m_out and
 * *w_out own a new model and its weights (free the weights first); on failure both are
 * untouched and COD_EFORMAT (a refusal, see above) or COD_ENOMEM is returned. */
int model_onnx_parse_buf(const void *buf, size_t len, const char *name,
                         const model_onnx_binding *bind, size_t n_bind, model **m_out,
                         model_weights **w_out, cod_err *err);

/* Read the regular file `path` (at most MODEL_ONNX_MAX_FILE_BYTES) and import it
 * (COD_EIO if it cannot be opened or read, or is not a regular file). */
int model_onnx_load(const char *path, model **m_out, model_weights **w_out, cod_err *err);

/* Read a model FILE the way every place that takes a model name does: an .onnx path through
 * model_onnx_load, anything else through model_load (the text format). `w_out` may be NULL
 * (the weights of an .onnx file are then dropped); for a text model *w_out is set to NULL,
 * its weights come from elsewhere ([model] weights). Errors as those two functions. */
int model_load_any(const char *path, model **m_out, model_weights **w_out, cod_err *err);

/* A float32 or float64 TensorProto (e.g. the input_0.pb / output_0.pb files of ONNX's test
 * data) as float64: *data (cod_malloc'd, *n values, C order) and dims[0..*rank). COD_EFORMAT
 * for another element type, external data, a rank above MODEL_ONNX_MAX_RANK or a data
 * length that does not match the dims; out-parameters untouched on failure. */
int model_onnx_tensor_parse(const void *buf, size_t len, const char *name, double **data,
                            size_t *n, int64_t dims[MODEL_ONNX_MAX_RANK], size_t *rank,
                            cod_err *err);

#endif
