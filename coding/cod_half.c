/* cod_half.c: fp16 and bf16 conversions on bit patterns (see cod_half.h).
 *
 * One rounding core serves both formats and both source types: the source is widened to
 * a double (exact for fp32), its 53-bit significand is shifted right to the target's
 * precision and rounded to nearest even by inspecting the discarded bits. The target
 * pattern is formed as (biased exponent << fraction bits) + significand, so a carry out
 * of the significand increments the exponent, and a carry out of the largest finite
 * binade lands exactly on the infinity pattern: overflow needs no special case beyond the
 * exponent test. Subnormal targets use the fixed quantum 2^(1 - bias - fraction bits).
 */
#include "cod_half.h"

#include <string.h>

typedef struct half_fmt {
  unsigned ebits, mbits; /* exponent and fraction widths */
} half_fmt;

static const half_fmt FP16 = {5, 10}, BF16 = {8, 7};

static uint16_t round_core(double x, half_fmt f) {
  uint64_t b;
  memcpy(&b, &x, sizeof b);
  const uint16_t sign = (uint16_t)((b >> 48) & 0x8000u);
  const unsigned E = (unsigned)((b >> 52) & 0x7FFu);
  const uint64_t M = b & ((UINT64_C(1) << 52) - 1);
  const int bias = (1 << (f.ebits - 1)) - 1;
  const uint16_t inf = (uint16_t)(((1u << f.ebits) - 1) << f.mbits);
  if (E == 0x7FF) /* inf or NaN */
    return (uint16_t)(sign | inf | (M ? 1u << (f.mbits - 1) : 0u));
  if (E == 0) return sign; /* zero or a double subnormal: far below half a target quantum */
  const int e = (int)E - 1023;
  if (e > bias) return (uint16_t)(sign | inf);
  const uint64_t sig = (UINT64_C(1) << 52) | M;
  /* discarded low bits: the normal target keeps mbits fraction bits; a subnormal target
   * loses (1 - bias - e) more */
  unsigned shift = 52 - f.mbits;
  uint32_t base = 0; /* biased exponent field, already shifted, minus the hidden bit */
  if (e >= 1 - bias) {
    base = ((uint32_t)(e + bias) << f.mbits) - (1u << f.mbits);
  } else {
    unsigned extra = (unsigned)(1 - bias - e);
    if (shift + extra > 53) return sign; /* below half the smallest subnormal */
    shift += extra;
  }
  uint64_t keep = sig >> shift, rem = sig & ((UINT64_C(1) << shift) - 1),
           half = UINT64_C(1) << (shift - 1);
  if (rem > half || (rem == half && (keep & 1u))) keep++;
  uint32_t h = base + (uint32_t)keep; /* a carry moves into the exponent, up to inf */
  if (h > inf) h = inf;                /* cannot happen for e <= bias; kept as a guard */
  return (uint16_t)(sign | h);
}

uint16_t cod_fp16_from_f64(double x) { return round_core(x, FP16); }
uint16_t cod_bf16_from_f64(double x) { return round_core(x, BF16); }
uint16_t cod_fp16_from_f32(float x) { return round_core((double)x, FP16); }
uint16_t cod_bf16_from_f32(float x) { return round_core((double)x, BF16); }

static float bits_f32(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

float cod_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

float cod_fp16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1Fu, m = h & 0x3FFu;
  if (e == 0x1F) return bits_f32(sign | 0x7F800000u | (m << 13));
  if (e == 0) {
    if (m == 0) return bits_f32(sign);
    /* subnormal m * 2^-24: normalise so the leading one becomes the hidden bit */
    int ex = -14;
    while (!(m & 0x400u)) m <<= 1, ex--;
    return bits_f32(sign | ((uint32_t)(ex + 127) << 23) | ((m & 0x3FFu) << 13));
  }
  return bits_f32(sign | ((e - 15 + 127) << 23) | (m << 13));
}

/* Round many doubles: the common case (the result is a normal number of the format) is
 * RNE on the double's own bit pattern, a carry-propagating add and a mask, with no
 * branches a vectoriser must keep; subnormal results, zeros, overflow, inf and NaN take
 * round_core. Both give the same bits (tested element by element). */
static size_t round_many(half_fmt f, const double *x, size_t len, float *dst,
                         float (*to32)(uint16_t)) {
  const int bias = (1 << (f.ebits - 1)) - 1;
  const unsigned shift = 52 - f.mbits;
  const uint64_t lo = (uint64_t)(1023 + 1 - bias) << 52; /* smallest normal of the format */
  const uint64_t maxf = ((uint64_t)(1023 + bias) << 52) |
                        ((((uint64_t)1 << f.mbits) - 1) << shift);
  const uint64_t hi = maxf + ((uint64_t)1 << (shift - 1)); /* from here on: inf */
  const uint64_t half_m1 = ((uint64_t)1 << (shift - 1)) - 1, mask = ~(((uint64_t)1 << shift) - 1);
  const uint16_t inf = (uint16_t)(((1u << f.ebits) - 1) << f.mbits);
  size_t over = 0;
  for (size_t i = 0; i < len; i++) {
    uint64_t b;
    memcpy(&b, &x[i], sizeof b);
    uint64_t a = b & ~((uint64_t)1 << 63);
    if (a >= lo && a < hi) {
      uint64_t r = ((a + half_m1 + ((a >> shift) & 1u)) & mask) | (b & ((uint64_t)1 << 63));
      double v;
      memcpy(&v, &r, sizeof v);
      dst[i] = (float)v; /* exact: v has at most 11 significant bits and a float exponent */
    } else {
      uint16_t h = round_core(x[i], f);
      over += (h & 0x7FFFu) == inf && a < ((uint64_t)0x7FF << 52); /* finite -> inf */
      dst[i] = to32(h);
    }
  }
  return over;
}

size_t cod_half_round_f64(cod_half_format fmt, const double *x, size_t len, float *dst) {
  return fmt == COD_HALF_FP16 ? round_many(FP16, x, len, dst, cod_fp16_to_f32)
                              : round_many(BF16, x, len, dst, cod_bf16_to_f32);
}

const char *cod_half_name(cod_half_format fmt) { return fmt == COD_HALF_FP16 ? "fp16" : "bf16"; }
