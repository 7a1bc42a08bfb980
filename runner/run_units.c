/* run_units.c: quantities with prefixes and units (see run_units.h).
 *
 * The grammar is deliberately small: strtod's number, blanks, one prefix, one unit word.
 * Every unit word of every kind is known here, so a word of the wrong kind is named as
 * such ("is in bit/s") instead of being reported as garbage, and a key's own kind is
 * taken from its name, so no table of units per key can drift from the key table.
 */
#include "run_units.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct unit_word {
  const char *word;
  int unit;
  double factor; /* B/s to bit/s: 8 */
} unit_word;

static const unit_word words[] = {
  {"bit/s", RUN_UNIT_BPS, 1},     {"bps", RUN_UNIT_BPS, 1},    {"b/s", RUN_UNIT_BPS, 1},
  {"B/s", RUN_UNIT_BPS, 8},       {"B", RUN_UNIT_BYTES, 1},    {"byte", RUN_UNIT_BYTES, 1},
  {"bytes", RUN_UNIT_BYTES, 1},   {"FLOP/s", RUN_UNIT_FLOPS, 1}, {"flop/s", RUN_UNIT_FLOPS, 1},
  {"flops", RUN_UNIT_FLOPS, 1},   {"FLOPS", RUN_UNIT_FLOPS, 1},
};

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

int run_units_of_key(const char *key) {
  if (!key) return RUN_UNIT_NONE;
  if (ends_with(key, "_bps")) return RUN_UNIT_BPS;
  if (ends_with(key, "_bytes")) return RUN_UNIT_BYTES;
  if (ends_with(key, "_flops")) return RUN_UNIT_FLOPS;
  return RUN_UNIT_NONE;
}

const char *run_units_name(int unit) {
  switch (unit) {
  case RUN_UNIT_BPS: return "bit/s";
  case RUN_UNIT_BYTES: return "bytes";
  case RUN_UNIT_FLOPS: return "FLOP/s";
  default: return "";
  }
}

/* The multiplier of the prefix at *p (advancing *p past it), 1 if none, 0 if `m`. */
static double prefix_at(const char **p) {
  static const char dec[] = "kMGTPE";
  const char *s = *p;
  char c = *s == 'K' ? 'k' : *s;
  const char *at = c ? strchr(dec, c) : NULL;
  if (*s == 'm') return 0;
  if (!at) return 1;
  int power = (int)(at - dec) + 1;
  if (s[1] == 'i') {
    *p = s + 2;
    return ldexp(1.0, 10 * power);
  }
  *p = s + 1;
  return pow(1000.0, power);
}

int run_units_parse(const char *text, int unit, double *out, char *msg, size_t cap) {
  msg[0] = '\0';
  if (!text || !*text || isspace((unsigned char)*text)) return 0;
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (end == text || errno == ERANGE || !isfinite(v)) return 0;
  const char *p = end;
  while (*p == ' ' || *p == '\t') p++;
  if (!*p) { /* a plain number, blanks after it */
    if (p != end) return 0;
    *out = v == 0.0 ? 0.0 : v;
    return 1;
  }
  if (unit == RUN_UNIT_NONE) return 0; /* no prefixes on counts, times, ratios */
  double mult = prefix_at(&p);
  if (mult == 0) {
    snprintf(msg, cap, "lower-case m (milli) is no prefix of %s; write M for 10^6",
             run_units_name(unit));
    return -1;
  }
  while (*p == ' ' || *p == '\t') p++; /* "5 G bit/s" */
  const unit_word *w = NULL;
  for (size_t i = 0; *p && i < sizeof words / sizeof words[0] && !w; i++)
    if (strcmp(p, words[i].word) == 0) w = &words[i];
  if (!w && *p) {
    snprintf(msg, cap, "unknown unit '%.20s' (the key is in %s: a number with an optional "
             "k, M, G, T, Ki, Mi, Gi, Ti prefix and unit %s)", p,
             run_units_name(unit),
             unit == RUN_UNIT_BPS ? "bit/s, bps or B/s"
             : unit == RUN_UNIT_BYTES ? "B" : "FLOP/s");
    return -1;
  }
  if (w && w->unit != unit) {
    snprintf(msg, cap, "a value in %s, but the key is in %s", run_units_name(w->unit),
             run_units_name(unit));
    return -1;
  }
  double r = v * mult * (w ? w->factor : 1.0);
  if (!isfinite(r)) return 0;
  *out = r == 0.0 ? 0.0 : r;
  return 1;
}
