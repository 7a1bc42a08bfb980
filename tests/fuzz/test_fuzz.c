/* test_fuzz.c: replay every seed of tests/fuzz/corpus/ through the fuzz targets.
 *
 * This runs in every build (gcc, ASan, valgrind), so the harnesses cannot rot and every
 * input the fuzzers ever found is replayed for ever. The file name prefix states the
 * expected outcome: ok-* must be accepted (scenarios: parsed and every point valid),
 * bad-* rejected by the parser with COD_EFORMAT, invalid-* (scenarios) parsed but a
 * point rejected by validation with COD_EINVAL. A harness contract violation aborts,
 * which fails the test; each folder must hold seeds of both kinds. The libraries must
 * not print (STYLE.md): stdout is captured and must stay empty. stderr is left alone, so
 * that sanitizer and valgrind reports still reach tests/fuzz/sanitizer-wrap.sh.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "cod_status.h"
#include "fuzz_harness.h"

typedef int (*fuzz_fn)(const uint8_t *, size_t);

static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "cannot open %s", path);
  size_t cap = 1 << 16, n = 0;
  unsigned char *buf = malloc(cap);
  cr_assert_not_null(buf);
  for (;;) {
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (n < cap) break;
    cap *= 2;
    buf = realloc(buf, cap);
    cr_assert_not_null(buf);
  }
  fclose(f);
  *len = n;
  return buf;
}

static int expected_status(const char *name) {
  if (strncmp(name, "ok-", 3) == 0) return COD_OK;
  if (strncmp(name, "bad-", 4) == 0) return COD_EFORMAT;
  if (strncmp(name, "invalid-", 8) == 0) return COD_EINVAL;
  return -1;
}

/* Replay one corpus folder; returns the number of ok-* seeds in *n_ok. */
static void replay(const char *sub, fuzz_fn fn, size_t *n_ok, size_t *n_bad) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/%s", FUZZ_CORPUS_DIR, sub);
  DIR *d = opendir(dir);
  cr_assert_not_null(d, "cannot open corpus folder %s", dir);
  *n_ok = *n_bad = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.') continue;
    int want = expected_status(de->d_name);
    cr_assert(want >= 0, "%s/%s: seed name must start with ok-, bad- or invalid-", sub,
              de->d_name);
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    size_t len = 0;
    unsigned char *buf = slurp(path, &len);
    int got = fn(buf, len);
    free(buf);
    cr_expect_eq(got, want, "%s/%s: status %s, expected %s", sub, de->d_name,
                 cod_status_name(got), cod_status_name(want));
    if (want == COD_OK) (*n_ok)++;
    else (*n_bad)++;
  }
  closedir(d);
}

static void quiet_check(void) {
  fflush(stdout);
  cr_expect_stdout_eq_str("", "a library printed to stdout");
}

Test(fuzz_corpus, scenario, .init = cr_redirect_stdout) {
  size_t ok, bad;
  replay("scenario", fuzz_scenario_one, &ok, &bad);
  cr_expect_geq(ok, 3);
  cr_expect_geq(bad, 5);
  quiet_check();
}

Test(fuzz_corpus, npy, .init = cr_redirect_stdout) {
  size_t ok, bad;
  replay("npy", fuzz_npy_one, &ok, &bad);
  cr_expect_geq(ok, 4);
  cr_expect_geq(bad, 5);
  quiet_check();
}

Test(fuzz_corpus, model, .init = cr_redirect_stdout) {
  size_t ok, bad;
  replay("model", fuzz_model_one, &ok, &bad);
  cr_expect_geq(ok, 4);
  cr_expect_geq(bad, 5);
  quiet_check();
}

Test(fuzz_corpus, trace, .init = cr_redirect_stdout) {
  size_t ok, bad;
  replay("trace", fuzz_trace_one, &ok, &bad);
  cr_expect_geq(ok, 2);
  cr_expect_geq(bad, 5);
  quiet_check();
}

Test(fuzz_corpus, cli, .init = cr_redirect_stdout) {
  size_t ok, bad;
  replay("cli", fuzz_cli_one, &ok, &bad);
  cr_expect_geq(ok, 5);
  cr_expect_geq(bad, 10);
  quiet_check();
}

Test(fuzz_corpus, idx, .init = cr_redirect_stdout) {
  size_t ok, bad;
  replay("idx", fuzz_idx_one, &ok, &bad);
  cr_expect_geq(ok, 3);
  cr_expect_geq(bad, 5);
  quiet_check();
}

/* The harnesses themselves must reject what they should: a truncated copy of a good
 * seed is a format error, and an empty input is handled by every target. */
Test(fuzz_corpus, edge_inputs) {
  static const uint8_t empty[1] = {0};
  cr_expect_eq(fuzz_npy_one(empty, 0), COD_EFORMAT);
  cr_expect_eq(fuzz_model_one(empty, 0), COD_EFORMAT);
  cr_expect_eq(fuzz_trace_one(empty, 0), COD_EFORMAT);
  cr_expect_eq(fuzz_cli_one(empty, 0), COD_EFORMAT);
  cr_expect_eq(fuzz_idx_one(empty, 0), COD_EFORMAT);
  /* an empty scenario is all defaults: alexnet, nsctc-rot 4x4 on 20 workers, valid */
  cr_expect_eq(fuzz_scenario_one(empty, 0), COD_OK);
  static const char over[] = "[cluster]\nworkers = 8\n\0cluster.workers=2..4";
  cr_expect_eq(fuzz_scenario_one((const uint8_t *)over, sizeof over - 1), COD_EINVAL,
               "the override makes ka*kb = 16 > n invalid");
  static const char over_bad[] = "[cluster]\nworkers = 20\n\0cluster.nosuch=1";
  cr_expect_eq(fuzz_scenario_one((const uint8_t *)over_bad, sizeof over_bad - 1), COD_OK);
}
