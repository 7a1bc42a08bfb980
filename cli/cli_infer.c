/* cli_infer.c: `fcdcc infer`, forward passes with the logits (and one layer's activations)
 * written out, so a user can check fcdcc against their own framework.
 *
 * Images come from one .npy (--input, float32/float64, one image) or from a data set
 * (--data, the [data] keys as options). Without --scheme the passes are uncoded (models/
 * only). With --scheme the images are one coded run of the runner (run_execute over the
 * [data] selection: each image one coded inference with fresh straggler draws), and the
 * summary adds the agreement with the uncoded argmax. Options become scenario keys through
 * run_config_set, so their syntax, bounds and messages are those of a scenario file.
 * Output: a JSON summary on stdout; --out writes the logits as an (images x classes)
 * float64 .npy, --dump-out the uncoded activations after --dump-layer of the first image.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cod_alloc.h"
#include "cod_tensor.h"
#include "model.h"
#include "model_forward.h"
#include "model_onnx.h"
#include "model_weights.h"
#include "run_config.h"
#include "run_data.h"
#include "run_exec.h"

#define CMD "infer"

static const char infer_help[] =
    "Usage: fcdcc infer --model M (--input X.npy | --data SRC [data options]) [coding options]\n"
    "                   [--out LOGITS.npy] [--dump-layer L --dump-out A.npy]\n"
    "One forward pass per image, uncoded, or coded with --scheme; prints a JSON summary.\n\n"
    "  --model M        built-in name, model file or .onnx file ([model] name)\n"
    "  --weights W      he or a weights directory (text models; [model] weights)\n"
    "  --input X.npy    one image (float32/float64, the model's input size)\n"
    "  --data SRC       fashion-mnist, IDX images or a uint8 .npy ([data] source), with\n"
    "  --split S --images N --first I --mean M --std S --labels L   (the [data] keys)\n"
    "  --scheme S       run each image as a coded inference ([coding] scheme), with\n"
    "  --workers N --ka A --kb B --precision P --seed S   (scenario keys of the same name)\n"
    "  --out F.npy      write the logits, images x outputs, float64\n"
    "  --dump-layer L   layer name or 0-based index whose uncoded output to dump (image 0)\n"
    "  --dump-out F.npy where to write it (float64, the layer's C x H x W)\n"
    "  -h, --help       this help\n";

typedef struct infer_opts {
  run_config cfg;
  int coded;
  const char *input, *out, *dump_layer, *dump_out;
} infer_opts;

static int set_key(infer_opts *o, const char *key, const char *val) {
  cod_err e = {0};
  if (run_config_set(&o->cfg, key, val, &e)) return cli_usage_error(CMD, "%s", e.msg);
  return 0;
}

static int parse(int argc, char **argv, infer_opts *o) {
  static const struct option lo[] = {
      {"model", 1, 0, 'm'},  {"weights", 1, 0, 'W'}, {"input", 1, 0, 'i'},
      {"data", 1, 0, 'd'},   {"split", 1, 0, 1},     {"images", 1, 0, 2},
      {"first", 1, 0, 3},    {"mean", 1, 0, 4},      {"std", 1, 0, 5},
      {"labels", 1, 0, 6},   {"scheme", 1, 0, 's'},  {"workers", 1, 0, 'n'},
      {"ka", 1, 0, 7},       {"kb", 1, 0, 8},        {"precision", 1, 0, 9},
      {"seed", 1, 0, 10},    {"out", 1, 0, 'o'},     {"dump-layer", 1, 0, 11},
      {"dump-out", 1, 0, 12}, {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
  static const char *const keys[] = {[1] = "data.split", [2] = "data.images", [3] = "data.first",
                                     [4] = "data.mean", [5] = "data.std", [6] = "data.labels",
                                     [7] = "coding.ka", [8] = "coding.kb",
                                     [9] = "run.precision", [10] = "run.seed"};
  memset(o, 0, sizeof *o);
  run_config_defaults(&o->cfg);
  int ch, rc = 0, have_model = 0;
  opterr = 0;
  optind = 1;
  while (!rc && (ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    switch (ch) {
    case 'h': fputs(infer_help, stdout); return -1;
    case 'm': rc = set_key(o, "model.name", optarg), have_model = 1; break;
    case 'W': rc = set_key(o, "model.weights", optarg); break;
    case 'i': o->input = optarg; break;
    case 'd': rc = set_key(o, "data.source", optarg); break;
    case 's': rc = set_key(o, "coding.scheme", optarg), o->coded = 1; break;
    case 'n': rc = set_key(o, "cluster.workers", optarg); break;
    case 'o': o->out = optarg; break;
    case 11: o->dump_layer = optarg; break;
    case 12: o->dump_out = optarg; break;
    default:
      if (ch >= 1 && ch <= 10) rc = set_key(o, keys[ch], optarg);
      else return cli_usage_error(CMD, "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (rc) return rc;
  if (optind != argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
  if (!have_model) return cli_usage_error(CMD, "--model is required");
  int data = strcmp(o->cfg.data.source, "none") != 0;
  if (!!o->input == data) return cli_usage_error(CMD, "give exactly one of --input and --data");
  if (!o->dump_layer != !o->dump_out)
    return cli_usage_error(CMD, "--dump-layer and --dump-out go together");
  if (o->input && (rc = set_key(o, "model.input", o->input))) return rc;
  if (!data && (rc = set_key(o, "data.images", "1"))) return rc;
  cod_err e = {0};
  if (run_config_validate(&o->cfg, &e)) return cli_usage_error(CMD, "%s", e.msg);
  return 0;
}

/* The model, its weights and the images (as the runner would build them). */
static int load_all(const infer_opts *o, model **m, model_weights **w, run_data *d, cod_err *e) {
  const run_config *c = &o->cfg;
  model_weights *ow = NULL;
  int rc = model_lookup(c->model.name, m, e);
  if (rc && rc != COD_ENOMEM) rc = model_load_any(c->model.name, m, &ow, e);
  if (rc) return rc;
  *w = ow;
  if (!ow)
    rc = strcmp(c->model.weights, "he") == 0 ? model_weights_he(*m, c->model.weights_seed, w, e)
                                             : model_weights_load_dir(*m, c->model.weights, w, e);
  if (rc) return rc;
  model_shape in = model_input_shape(*m);
  if (strcmp(c->data.source, "none") != 0) return run_data_load(c, in, d, e);
  cod_tensor t = {0}, t64 = {0};
  if ((rc = cod_npy_load(o->input, &t, e))) return rc;
  size_t n = in.c * in.h * in.w;
  if (cod_tensor_numel(&t) != n) {
    cod_tensor_fini(&t);
    return cod_err_set(e, COD_EINVAL, "%s: %zu values, model %s takes %zux%zux%zu", o->input,
                       cod_tensor_numel(&t), c->model.name, in.c, in.h, in.w);
  }
  rc = cod_tensor_convert(&t, COD_F64, &t64, e);
  cod_tensor_fini(&t);
  if (rc) return rc;
  memset(d, 0, sizeof *d);
  d->n = 1, d->elems = n;
  d->x = cod_malloc_array(n, sizeof *d->x);
  if (!d->x) rc = cod_err_set(e, COD_ENOMEM, "out of memory");
  else memcpy(d->x, t64.data, n * sizeof(double));
  cod_tensor_fini(&t64);
  snprintf(d->source, sizeof d->source, "%s", o->input);
  return rc;
}

static int save_2d(const char *path, const double *v, size_t rows, size_t cols, cod_err *e) {
  cod_tensor t = {0};
  int rc = cod_tensor_init(&t, 1, 1, rows, cols, COD_F64, e);
  if (rc) return rc;
  t.ndim = 2;
  memcpy(t.data, v, rows * cols * sizeof(double));
  rc = cod_npy_save(path, &t, e);
  cod_tensor_fini(&t);
  return rc;
}

int cli_infer(int argc, char **argv) {
  infer_opts o;
  int rc = parse(argc, argv, &o);
  if (rc) return rc < 0 ? 0 : rc;
  if ((o.out && (rc = cli_check_out_path(CMD, "--out", o.out))) ||
      (o.dump_out && (rc = cli_check_out_path(CMD, "--dump-out", o.dump_out))))
    return rc;
  model *m = NULL;
  model_weights *w = NULL;
  run_data d;
  memset(&d, 0, sizeof d);
  model_plan *plan = NULL;
  double *ref = NULL, *logits = NULL, *act = NULL;
  run_assets *cache = NULL;
  cod_err e = {0};
  size_t nout = 0, right_u = 0, right_c = 0, agree = 0, undec = 0;
  double max_err = 0;
  if ((rc = load_all(&o, &m, &w, &d, &e)) || (rc = model_plan_new(m, &plan, &e))) goto done;
  model_shape os = model_output_shape(m);
  nout = os.c * os.h * os.w;
  ref = cod_malloc_array(nout, sizeof *ref);
  logits = cod_malloc_array(d.n * nout, sizeof *logits);
  if (!ref || !logits) {
    rc = cod_err_set(&e, COD_ENOMEM, "out of memory");
    goto done;
  }
  if (o.coded) { /* one coded run over every image: fresh straggler draws per image */
    run_ident id = {"infer", "infer", "{}", 0, 0};
    run_result r;
    if ((rc = run_execute(&o.cfg, &id, &cache, &r, &e))) goto done;
    for (size_t k = 0; k < d.n * nout; k++) logits[k] = r.logits ? r.logits[k] : NAN;
    run_result_fini(&r);
  }
  for (size_t i = 0; i < d.n; i++) {
    const double *x = d.x + i * d.elems;
    if ((rc = model_forward(plan, w, x, ref, NULL, NULL, &e))) goto done;
    size_t u = run_data_argmax(ref, nout);
    if (d.label) right_u += u == (size_t)d.label[i];
    double *y = logits + i * nout;
    if (!o.coded) {
      memcpy(y, ref, nout * sizeof *y);
      continue;
    }
    if (isnan(y[0])) {
      undec++;
      continue;
    }
    size_t c = run_data_argmax(y, nout);
    agree += c == u;
    if (d.label) right_c += c == (size_t)d.label[i];
    for (size_t k = 0; k < nout; k++) max_err = fmax(max_err, fabs(y[k] - ref[k]));
  }
  if (o.out && (rc = save_2d(o.out, logits, d.n, nout, &e))) goto done;
  if (o.dump_layer) {
    char *end;
    long li = strtol(o.dump_layer, &end, 10);
    if (*end || end == o.dump_layer) li = model_layer_find(m, o.dump_layer);
    if (li < 0 || (size_t)li >= model_layer_count(m)) {
      rc = cli_usage_error(CMD, "--dump-layer: model %s has no layer '%s' (0..%zu or a name; "
                           "fcdcc models lists them)", o.cfg.model.name, o.dump_layer,
                           model_layer_count(m) - 1);
      goto done_quiet;
    }
    model_shape s = model_layer_get(m, (size_t)li)->out;
    act = cod_malloc_array(s.c * s.h * s.w, sizeof *act);
    if (!act) rc = cod_err_set(&e, COD_ENOMEM, "out of memory");
    if (!rc) rc = model_forward_dump(plan, w, d.x, (size_t)li, act, &e);
    cod_tensor t = {0};
    if (!rc && !(rc = cod_tensor_init(&t, 1, s.c, s.h, s.w, COD_F64, &e))) {
      t.ndim = 3;
      memcpy(t.data, act, s.c * s.h * s.w * sizeof(double));
      rc = cod_npy_save(o.dump_out, &t, &e);
      cod_tensor_fini(&t);
    }
    if (rc) goto done;
  }
  printf("{\"model\": ");
  cli_json_string(stdout, o.cfg.model.name);
  printf(", \"source\": ");
  cli_json_string(stdout, d.source);
  printf(", \"images\": %zu, \"outputs\": %zu, \"scheme\": ", d.n, nout);
  cli_json_string(stdout, o.coded ? o.cfg.coding.scheme : "none");
  printf(", \"top1_uncoded\": ");
  cli_json_number(stdout, d.label ? (double)right_u / (double)d.n : NAN);
  printf(", \"top1\": ");
  cli_json_number(stdout, d.label ? (double)(o.coded ? right_c : right_u) / (double)d.n : NAN);
  if (o.coded) {
    printf(", \"agreement\": ");
    cli_json_number(stdout, (double)agree / (double)d.n);
    printf(", \"undecodable\": %zu, \"max_logit_error\": ", undec);
    cli_json_number(stdout, max_err);
  }
  printf(", \"argmax_0\": %zu}\n", run_data_argmax(logits, nout));
done:
  if (rc) rc = cli_fail(CMD, "%s", e.msg);
done_quiet:
  run_assets_free(cache);
  cod_free(act);
  cod_free(ref);
  cod_free(logits);
  model_plan_free(plan);
  run_data_fini(&d);
  model_weights_free(w);
  model_free(m);
  return rc;
}
