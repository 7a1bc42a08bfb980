/* cli_parse.c: strict command-line number parsers (see cli_parse.h). strtoull and strtod
 * accept leading blanks and signs and stop at the first bad character; each parser here
 * refuses what the C functions would skip, so "-1" never wraps to SIZE_MAX and "4x" is
 * not 4. */
#include "cli_parse.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int all_digits(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (*s < '0' || *s > '9') return 0;
  return 1;
}

int cli_parse_size_msg(const char *opt, const char *s, size_t min, size_t max, size_t *out,
                       char *msg, size_t cap) {
  if (!s || !all_digits(s)) {
    snprintf(msg, cap, "%s: expected a whole number, got '%s'", opt, s ? s : "");
    return -1;
  }
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v > (unsigned long long)(size_t)-1) {
    snprintf(msg, cap, "%s: expected a whole number, got '%s'", opt, s);
    return -1;
  }
  if (v < min || v > max) {
    snprintf(msg, cap, "%s: %llu is out of range [%zu, %zu]", opt, v, min, max);
    return -1;
  }
  *out = (size_t)v;
  return 0;
}

int cli_parse_double_msg(const char *opt, const char *s, double *out, char *msg, size_t cap) {
  char *end;
  errno = 0;
  double v = s && *s ? strtod(s, &end) : 0.0;
  if (!s || !*s || errno || *end || isnan(v)) {
    snprintf(msg, cap, "%s: expected a number, got '%s'", opt, s ? s : "");
    return -1;
  }
  *out = v;
  return 0;
}

int cli_parse_size_list_msg(const char *opt, const char *s, size_t bound, size_t *out,
                            size_t n_cap, size_t *n, char *msg, size_t cap) {
  size_t count = 0;
  if (!*s) {
    *n = 0;
    return 0;
  }
  if (bound == 0) {
    snprintf(msg, cap, "%s: no value is allowed here, got '%s'", opt, s);
    return -1;
  }
  const char *p = s;
  for (;;) {
    char item[32];
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (len == 0 || len >= sizeof item) {
      snprintf(msg, cap, "%s: malformed list '%s'", opt, s);
      return -1;
    }
    memcpy(item, p, len);
    item[len] = 0;
    if (count >= n_cap) {
      snprintf(msg, cap, "%s: more than %zu entries", opt, n_cap);
      return -1;
    }
    if (cli_parse_size_msg(opt, item, 0, bound - 1, &out[count], msg, cap)) return -1;
    for (size_t i = 0; i < count; i++)
      if (out[i] == out[count]) {
        snprintf(msg, cap, "%s: %zu listed twice", opt, out[i]);
        return -1;
      }
    count++;
    if (!comma) break;
    p = comma + 1;
  }
  *n = count;
  return 0;
}

int cli_parse_shape_msg(const char *opt, const char *s, size_t v[5], char *msg, size_t cap) {
  size_t got[5], n = 0;
  const char *p = s;
  for (;;) {
    size_t len = strcspn(p, ",");
    char item[32];
    if (n == 5 || len == 0 || len >= sizeof item) break;
    memcpy(item, p, len);
    item[len] = 0;
    char sub[64];
    if (cli_parse_size_msg(opt, item, 1, CLI_SHAPE_MAX, &got[n], sub, sizeof sub)) break;
    n++;
    if (!p[len]) {
      if (n != 5) break;
      memcpy(v, got, sizeof got);
      return 0;
    }
    p += len + 1;
  }
  snprintf(msg, cap, "%s: expected C,H,W,N,K (positive), got '%s'", opt, s);
  return -1;
}
