/* fuzz_cli.c: fuzz target for the command line's number parsers (cli/cli_parse.h), the
 * functions behind --workers, --jobs, --seed, --reps, --snr, --stragglers and --shape.
 *
 * Input: byte 0 picks the parser (mod 4: size, double, size list, shape), byte 1 the
 * bounds, the rest up to the first NUL (at most 255 bytes) is the option's text.
 * Contracts checked: on failure a message naming the option and outputs untouched; on
 * success the text really is what was parsed: a size is digits only, within its bounds
 * and prints back to the text without leading zeros; a double is what strtod reads from
 * the whole text and not NaN; a list has one distinct in-bound entry per comma-separated
 * item; a shape has exactly five elements in [1, CLI_SHAPE_MAX] and only digits and
 * commas. Returns COD_OK when the text was accepted and COD_EFORMAT when it was refused,
 * so the seed names (ok-*, bad-*) state the expected outcome.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_parse.h"
#include "cod_status.h"
#include "fuzz_harness.h"

static const size_t max_of[8] = {0, 1, 4, 64, 255, 1000, 100000, (size_t)-1};

static int check_size(const char *s, unsigned b) {
  size_t min = b & 3, max = max_of[(b >> 2) & 7], v = 0xa5a5a5a5u;
  char msg[512] = "";
  int rc = cli_parse_size_msg("--n", s, min, max, &v, msg, sizeof msg);
  if (rc) {
    FUZZ_CHECK(rc == -1 && strncmp(msg, "--n: ", 5) == 0 && v == 0xa5a5a5a5u);
    return COD_EFORMAT;
  }
  FUZZ_CHECK(v >= min && v <= max);
  FUZZ_CHECK(*s && strspn(s, "0123456789") == strlen(s));
  const char *digits = s + strspn(s, "0");
  char back[32];
  snprintf(back, sizeof back, "%zu", v);
  FUZZ_CHECK(strcmp(back, *digits ? digits : "0") == 0);
  return COD_OK;
}

static int check_double(const char *s) {
  double v = 12345.5;
  char msg[512] = "";
  int rc = cli_parse_double_msg("--x", s, &v, msg, sizeof msg);
  if (rc) {
    FUZZ_CHECK(rc == -1 && strncmp(msg, "--x: ", 5) == 0 && v == 12345.5);
    return COD_EFORMAT;
  }
  FUZZ_CHECK(!isnan(v));
  char *end;
  double w = strtod(s, &end);
  FUZZ_CHECK(*end == 0 && memcmp(&v, &w, sizeof v) == 0);
  return COD_OK;
}

static int check_list(const char *s, unsigned b) {
  size_t bound = max_of[b & 7] < 4096 ? max_of[b & 7] : 4096, out[8], n = 99;
  size_t n_cap = 1 + ((b >> 3) & 7);
  char msg[512] = "";
  int rc = cli_parse_size_list_msg("--l", s, bound, out, n_cap, &n, msg, sizeof msg);
  if (rc) {
    FUZZ_CHECK(rc == -1 && strncmp(msg, "--l: ", 5) == 0 && n == 99);
    return COD_EFORMAT;
  }
  size_t items = *s ? 1 : 0;
  for (const char *p = s; *p; p++) items += *p == ',';
  FUZZ_CHECK(n == items && n <= n_cap);
  for (size_t i = 0; i < n; i++) {
    FUZZ_CHECK(out[i] < bound);
    for (size_t j = 0; j < i; j++) FUZZ_CHECK(out[i] != out[j]);
  }
  return COD_OK;
}

static int check_shape(const char *s) {
  size_t v[5] = {7, 7, 7, 7, 7};
  char msg[512] = "";
  int rc = cli_parse_shape_msg("--shape", s, v, msg, sizeof msg);
  if (rc) {
    FUZZ_CHECK(rc == -1 && strncmp(msg, "--shape: ", 9) == 0);
    for (int i = 0; i < 5; i++) FUZZ_CHECK(v[i] == 7);
    return COD_EFORMAT;
  }
  size_t commas = 0;
  for (const char *p = s; *p; p++) {
    FUZZ_CHECK((*p >= '0' && *p <= '9') || *p == ',');
    commas += *p == ',';
  }
  FUZZ_CHECK(commas == 4);
  for (int i = 0; i < 5; i++) FUZZ_CHECK(v[i] >= 1 && v[i] <= CLI_SHAPE_MAX);
  return COD_OK;
}

int fuzz_cli_one(const uint8_t *data, size_t size) {
  if (size < 2) return COD_EFORMAT; /* no parser picked */
  char s[256];
  size_t n = 0;
  while (n < sizeof s - 1 && 2 + n < size && data[2 + n]) {
    s[n] = (char)data[2 + n];
    n++;
  }
  s[n] = 0;
  switch (data[0] & 3) {
  case 0: return check_size(s, data[1]);
  case 1: return check_double(s);
  case 2: return check_list(s, data[1]);
  default: return check_shape(s);
  }
}

#ifdef FCDCC_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_cli_one(data, size);
  return 0;
}
#endif
