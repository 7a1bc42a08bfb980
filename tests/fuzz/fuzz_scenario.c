/* fuzz_scenario.c: fuzz target for the scenario reader (runner/run_scenario.h).
 *
 * The input is a scenario file, optionally followed by a NUL byte and one command-line
 * override "section.key=value" (the parser rejects NUL bytes, so the split loses no
 * file the parser could accept). The target parses the file, applies the override,
 * validates the sweep, and materialises a handful of points (first, last, middle, and
 * the first bad one) as a run_config, a JSON object and a label. A sweep may hold up to
 * RUN_SCENARIO_MAX_POINTS points; validating every one of a million-point sweep would
 * make one input take seconds, so run_scenario_validate() is called only for sweeps of
 * at most FUZZ_VALIDATE_MAX points and larger ones are sampled. Contracts checked: the
 * status set, the error record, *out untouched on failure, the hash format, a failed
 * override leaving the scenario unchanged, and point/JSON/label agreeing on success and
 * JSON being deterministic.
 */
#include <string.h>

#include "cod_alloc.h"
#include "cod_status.h"
#include "fuzz_harness.h"
#include "run_config.h"
#include "run_scenario.h"

#define FUZZ_VALIDATE_MAX 4096u

/* A failing call must have recorded its own status and a message. */
static void check_err(int rc, const cod_err *err) {
  if (rc == COD_OK) return;
  FUZZ_CHECK(err->status == rc);
  FUZZ_CHECK(err->msg[0] != '\0');
  FUZZ_CHECK(memchr(err->msg, '\0', sizeof err->msg) != NULL);
}

static void check_hash(const char *h) {
  FUZZ_CHECK(h != NULL && strlen(h) == 16);
  for (size_t i = 0; i < 16; i++)
    FUZZ_CHECK((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f'));
}

/* Point i through the three per-point entry points; they must agree on the status. */
static void check_point(const run_scenario *sc, size_t i) {
  static run_config cfg; /* large; static keeps the fuzzer's stack small */
  cod_err e1 = {0}, e2 = {0}, e3 = {0};
  int rc = run_scenario_point(sc, i, &cfg, &e1);
  FUZZ_CHECK(rc == COD_OK || rc == COD_EINVAL || rc == COD_ENOMEM);
  check_err(rc, &e1);
  char *json = NULL, *json2 = NULL, *label = NULL;
  int rj = run_scenario_point_json(sc, i, &json, &e2);
  check_err(rj, &e2);
  FUZZ_CHECK(rj == rc);
  FUZZ_CHECK((rj == COD_OK) == (json != NULL));
  if (json) {
    FUZZ_CHECK(json[0] == '{');
    FUZZ_CHECK(run_scenario_point_json(sc, i, &json2, &e2) == COD_OK);
    FUZZ_CHECK(strcmp(json, json2) == 0);
  }
  int rl = run_scenario_label(sc, i, &label, &e3);
  FUZZ_CHECK(rl == COD_OK || rl == COD_ENOMEM);
  check_err(rl, &e3);
  FUZZ_CHECK((rl == COD_OK) == (label != NULL));
  cod_free(json);
  cod_free(json2);
  cod_free(label);
}

/* Apply the override "key=value" in text[0..len); a failure must change nothing. */
static void apply_override(run_scenario *sc, const uint8_t *text, size_t len) {
  char *buf = cod_malloc(len + 1);
  if (!buf) return;
  memcpy(buf, text, len);
  buf[len] = '\0';
  char *eq = strchr(buf, '=');
  if (eq && strlen(buf) == len) {
    *eq = '\0';
    size_t before = run_scenario_points(sc);
    char hash[17];
    memcpy(hash, run_scenario_hash(sc), sizeof hash);
    cod_err err = {0};
    int rc = run_scenario_set(sc, buf, eq + 1, &err);
    FUZZ_CHECK(rc == COD_OK || rc == COD_EFORMAT || rc == COD_EINVAL || rc == COD_ENOMEM);
    check_err(rc, &err);
    check_hash(run_scenario_hash(sc));
    /* an accepted override is part of the identity; a refused one changes nothing */
    if (rc != COD_OK) FUZZ_CHECK(strcmp(hash, run_scenario_hash(sc)) == 0);
    if (rc != COD_OK) FUZZ_CHECK(run_scenario_points(sc) == before);
  }
  cod_free(buf);
}

int fuzz_scenario_one(const uint8_t *data, size_t size) {
  const uint8_t *nul = memchr(data, '\0', size);
  size_t file_len = nul ? (size_t)(nul - data) : size;
  run_scenario *const sentinel = (run_scenario *)&sentinel;
  run_scenario *sc = sentinel;
  cod_err err = {0};
  int rc = run_scenario_parse((const char *)data, file_len, "fuzz.ini", &sc, &err);
  FUZZ_CHECK(rc == COD_OK || rc == COD_EFORMAT || rc == COD_ENOMEM);
  check_err(rc, &err);
  if (rc != COD_OK) {
    FUZZ_CHECK(sc == sentinel);
    return rc;
  }
  FUZZ_CHECK(sc != NULL && sc != sentinel);
  FUZZ_CHECK(strcmp(run_scenario_source(sc), "fuzz.ini") == 0);
  check_hash(run_scenario_hash(sc));
  if (nul) apply_override(sc, nul + 1, size - file_len - 1);

  size_t n = run_scenario_points(sc);
  FUZZ_CHECK(n >= 1 && n <= RUN_SCENARIO_MAX_POINTS);
  size_t bad = (size_t)-1;
  int rv = COD_OK;
  if (n <= FUZZ_VALIDATE_MAX) {
    cod_err verr = {0};
    rv = run_scenario_validate(sc, &bad, &verr);
    FUZZ_CHECK(rv == COD_OK || rv == COD_EINVAL || rv == COD_ENOMEM);
    check_err(rv, &verr);
    if (rv == COD_EINVAL) FUZZ_CHECK(bad < n);
  }
  size_t picks[5] = {0, n - 1, n / 2, n / 3, bad};
  for (size_t k = 0; k < 5; k++)
    if (picks[k] < n) check_point(sc, picks[k]);
  run_scenario_free(sc);
  return rv;
}

#ifdef FCDCC_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_scenario_one(data, size);
  return 0;
}
#endif
