/* fuzz_model.c: fuzz target for the model-file reader (models/model.h model_parse_buf).
 *
 * A model that parses promises to be well formed (model.h): every conv has a valid
 * geometry, names are unique, conv indices run 0..n-1 in file order. The target checks
 * those promises through the public accessors, prints the model to /dev/null, and plans
 * a coded computation (cod_code_new) for up to FUZZ_PLANS conv layers with a scheme and
 * (n, k_A, k_B) picked from a hash of the input, so that planning meets the odd
 * geometries only hostile files produce. Contracts on failure: the status set, the
 * error record, *out untouched.
 */
#include <stdio.h>
#include <string.h>

#include "cod_code.h"
#include "cod_status.h"
#include "fuzz_harness.h"
#include "model.h"

#define FUZZ_PLANS 3u

static uint64_t fnv1a(const uint8_t *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

static void check_plan(const cod_conv_geom *g, uint64_t h) {
  static const char *const schemes[] = {"nsctc-rot", "nsctc-cir", "uncoded", "replication",
                                        "poly-real", "poly-cheb"};
  cod_code_params prm = cod_code_params_default();
  prm.scheme = schemes[h % 6];
  prm.n_workers = 1 + (h >> 8) % 24;
  prm.ka = 1 + (h >> 16) % 5;
  prm.kb = 1 + (h >> 24) % 5;
  prm.axis = (h >> 32) & 1 ? COD_AXIS_COLS : COD_AXIS_ROWS;
  cod_code *const sentinel = (cod_code *)&sentinel;
  cod_code *code = sentinel;
  cod_err err = {0};
  int rc = cod_code_new(&prm, g, &code, &err);
  FUZZ_CHECK(rc == COD_OK || rc == COD_EINVAL || rc == COD_ENOMEM);
  if (rc != COD_OK) {
    FUZZ_CHECK(err.status == rc && err.msg[0] != '\0');
    FUZZ_CHECK(code == sentinel);
    return;
  }
  FUZZ_CHECK(cod_code_workers(code) == prm.n_workers);
  FUZZ_CHECK(cod_code_threshold(code) >= 1 && cod_code_threshold(code) <= prm.n_workers);
  FUZZ_CHECK(cod_conv_geom_valid(cod_code_worker_geom(code)));
  cod_code_free(code);
}

static void check_model(const model *m, uint64_t h) {
  size_t nl = model_layer_count(m), nconv = 0;
  for (size_t i = 0; i < nl; i++) {
    const model_layer *L = model_layer_get(m, i);
    FUZZ_CHECK(L->line >= 1);
    FUZZ_CHECK(memchr(L->name, '\0', sizeof L->name) != NULL && L->name[0] != '\0');
    FUZZ_CHECK(model_layer_find(m, L->name) == (long)i);
    FUZZ_CHECK(L->slot < (int)model_slot_count(m));
    if (L->kind == MODEL_CONV) {
      FUZZ_CHECK(L->conv_index == nconv);
      FUZZ_CHECK(model_conv_layer(m, nconv) == L);
      cod_conv_geom g = model_conv_geom(m, nconv);
      FUZZ_CHECK(cod_conv_geom_valid(&g));
      FUZZ_CHECK(g.n_filters == L->out_c && g.c == L->in.c);
      if (nconv < FUZZ_PLANS) check_plan(&g, h + nconv);
      nconv++;
    } else {
      FUZZ_CHECK(L->conv_index == (size_t)-1);
    }
  }
  FUZZ_CHECK(nconv == model_conv_count(m));
  FUZZ_CHECK(model_conv_macs_total(m) <= model_macs_total(m));
  static FILE *devnull;
  if (!devnull) devnull = fopen("/dev/null", "w");
  if (devnull) {
    cod_err err = {0};
    FUZZ_CHECK(model_describe(m, devnull, &err) == COD_OK);
  }
}

int fuzz_model_one(const uint8_t *data, size_t size) {
  model *const sentinel = (model *)&sentinel;
  model *m = sentinel;
  cod_err err = {0};
  int rc = model_parse_buf((const char *)data, size, "fuzz.model", &m, &err);
  FUZZ_CHECK(rc == COD_OK || rc == COD_EFORMAT || rc == COD_ENOMEM);
  if (rc != COD_OK) {
    FUZZ_CHECK(err.status == rc && err.msg[0] != '\0');
    FUZZ_CHECK(m == sentinel);
    return rc;
  }
  FUZZ_CHECK(m != NULL && m != sentinel);
  FUZZ_CHECK(strcmp(model_name(m), "fuzz.model") == 0);
  check_model(m, fnv1a(data, size));
  model_free(m);
  return rc;
}

#ifdef FCDCC_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_model_one(data, size);
  return 0;
}
#endif
