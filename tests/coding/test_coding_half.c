/* test_coding_half.c: the fp16 and bf16 conversions of cod_half.h.
 *
 * The reference is the definition of the formats, not the code under test: a pattern's
 * value is (-1)^s 2^(e - bias) (1 + f 2^-t) (or 2^(1 - bias) f 2^-t when e = 0), built
 * with ldexp; rounding is checked against a nearest-value search in the sorted table of
 * all finite non-negative values, ties to the even pattern, and overflow against the
 * IEEE threshold max finite + half an ulp of the top binade. All 65536 patterns of both
 * formats are decoded and round-tripped, every tie between neighbours is rounded, and
 * seeded random doubles over the whole range are rounded.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <gsl/gsl_rng.h>

#include "cod_half.h"

typedef struct fmtdef {
  unsigned ebits, mbits;
  uint16_t (*from64)(double);
  uint16_t (*from32)(float);
  float (*to32)(uint16_t);
} fmtdef;

static const fmtdef F16 = {5, 10, cod_fp16_from_f64, cod_fp16_from_f32, cod_fp16_to_f32};
static const fmtdef B16 = {8, 7, cod_bf16_from_f64, cod_bf16_from_f32, cod_bf16_to_f32};

static int ref_is_nan(const fmtdef *f, unsigned h) {
  unsigned e = (h >> f->mbits) & ((1u << f->ebits) - 1), m = h & ((1u << f->mbits) - 1);
  return e == (1u << f->ebits) - 1 && m != 0;
}

/* The value of pattern h by the format's definition. */
static double ref_value(const fmtdef *f, unsigned h) {
  int bias = (1 << (f->ebits - 1)) - 1;
  unsigned e = (h >> f->mbits) & ((1u << f->ebits) - 1), m = h & ((1u << f->mbits) - 1);
  double s = (h & 0x8000u) ? -1.0 : 1.0;
  if (e == (1u << f->ebits) - 1) return m ? NAN : s * INFINITY;
  if (e == 0) return s * ldexp((double)m, 1 - bias - (int)f->mbits);
  return s * ldexp(1.0 + ldexp((double)m, -(int)f->mbits), (int)e - bias);
}

/* Largest finite positive pattern and its value. */
static unsigned max_pattern(const fmtdef *f) {
  return (((1u << f->ebits) - 1) << f->mbits) - 1;
}

/* The correctly rounded pattern of x: nearest finite value, ties to even, overflow at
 * max + ulp/2 (the tie with the next binade goes to inf because max's fraction is odd). */
static unsigned ref_round(const fmtdef *f, double x) {
  unsigned sign = signbit(x) ? 0x8000u : 0, top = max_pattern(f);
  double a = fabs(x), maxv = ref_value(f, top), ulp = maxv - ref_value(f, top - 1);
  if (a >= maxv + ulp / 2) return sign | (top + 1);
  unsigned lo = 0, hi = top; /* positive finite patterns are ordered like their values */
  while (hi - lo > 1) {
    unsigned mid = (lo + hi) / 2;
    if (ref_value(f, mid) <= a) lo = mid;
    else hi = mid;
  }
  if (ref_value(f, hi) <= a) lo = hi;
  if (lo == top) return sign | top;
  double dlo = a - ref_value(f, lo), dhi = ref_value(f, lo + 1) - a;
  unsigned r = dlo < dhi ? lo : dhi < dlo ? lo + 1 : ((lo & 1u) ? lo + 1 : lo);
  return sign | r;
}

static void check_all_patterns(const fmtdef *f, const char *name) {
  for (unsigned h = 0; h < 65536; h++) {
    float v = f->to32((uint16_t)h);
    if (ref_is_nan(f, h)) {
      cr_assert(isnan(v), "%s %04x must decode to NaN", name, h);
      uint16_t back = f->from32(v);
      cr_assert(ref_is_nan(f, back), "%s NaN %04x came back as %04x", name, h, back);
      cr_assert_eq(back & 0x8000u, h & 0x8000u, "%s NaN sign lost", name);
      continue;
    }
    double want = ref_value(f, h);
    cr_assert((double)v == want && !signbit(v) == !signbit(want),
              "%s %04x decodes to %a, the definition gives %a", name, h, (double)v, want);
    cr_assert_eq(f->from32(v), h, "%s %04x does not round-trip via fp32", name, h);
    cr_assert_eq(f->from64((double)v), h, "%s %04x does not round-trip via fp64", name, h);
  }
}

Test(half, fp16_all_patterns_decode_and_round_trip) { check_all_patterns(&F16, "fp16"); }
Test(half, bf16_all_patterns_decode_and_round_trip) { check_all_patterns(&B16, "bf16"); }

/* Every midpoint between neighbouring finite values, and a double on either side. */
static void check_all_ties(const fmtdef *f, const char *name) {
  unsigned top = max_pattern(f);
  for (unsigned s = 0; s < 2; s++)
    for (unsigned h = 0; h < top; h++) {
      double sg = s ? -1.0 : 1.0, a = ref_value(f, h), b = ref_value(f, h + 1);
      double mid = sg * (a + (b - a) / 2); /* exact: both have far fewer than 53 bits */
      unsigned even = (h & 1u) ? h + 1 : h, sb = s ? 0x8000u : 0;
      cr_assert_eq(f->from64(mid), sb | even, "%s tie %a between %04x and %04x", name, mid, h,
                   h + 1);
      cr_assert_eq(f->from32((float)mid), sb | even, "%s fp32 tie %a", name, mid);
      double below = nextafter(mid, 0.0), above = nextafter(mid, sg * INFINITY);
      cr_assert_eq(f->from64(below), sb | h, "%s just below the tie %a", name, mid);
      cr_assert_eq(f->from64(above), sb | (h + 1), "%s just above the tie %a", name, mid);
    }
}

Test(half, fp16_every_tie_rounds_to_even) { check_all_ties(&F16, "fp16"); }
Test(half, bf16_every_tie_rounds_to_even) { check_all_ties(&B16, "bf16"); }

/* Seeded doubles spread over every binade of the format and beyond. */
static void check_random(const fmtdef *f, const char *name, int lo_exp, int hi_exp) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 2026);
  for (int i = 0; i < 200000; i++) {
    double x = ldexp(1.0 + gsl_rng_uniform(r),
                     lo_exp + (int)gsl_rng_uniform_int(r, (unsigned long)(hi_exp - lo_exp)));
    if (gsl_rng_uniform(r) < 0.5) x = -x;
    unsigned want = ref_round(f, x);
    cr_assert_eq(f->from64(x), want, "%s rounds %a to %04x, want %04x", name, x,
                 f->from64(x), want);
    float xf = (float)x; /* the fp32 path rounds the fp32 value once */
    cr_assert_eq(f->from32(xf), ref_round(f, (double)xf), "%s fp32 %a", name, (double)xf);
  }
  gsl_rng_free(r);
}

Test(half, fp16_random_doubles_round_to_nearest) { check_random(&F16, "fp16", -30, 20); }
Test(half, bf16_random_doubles_round_to_nearest) { check_random(&B16, "bf16", -140, 130); }

/* Boundary cases derived by hand from the format parameters. */
Test(half, fp16_boundaries) {
  cr_assert_eq(cod_fp16_from_f64(65504.0), 0x7BFF);          /* max finite (2 - 2^-10) 2^15 */
  cr_assert_eq(cod_fp16_from_f64(nextafter(65520.0, 0)), 0x7BFF);
  cr_assert_eq(cod_fp16_from_f64(65520.0), 0x7C00);          /* max + ulp/2 (ulp 32): to inf */
  cr_assert_eq(cod_fp16_from_f64(-1e300), 0xFC00);
  cr_assert_eq(cod_fp16_from_f64(ldexp(1, -24)), 0x0001);    /* smallest subnormal */
  cr_assert_eq(cod_fp16_from_f64(ldexp(1, -25)), 0x0000);    /* half of it: tie to even 0 */
  cr_assert_eq(cod_fp16_from_f64(nextafter(ldexp(1, -25), 1)), 0x0001);
  cr_assert_eq(cod_fp16_from_f64(3 * ldexp(1, -25)), 0x0002); /* tie 1|2 -> even 2 */
  cr_assert_eq(cod_fp16_from_f64(-ldexp(1, -26)), 0x8000);   /* signed zero */
  cr_assert_eq(cod_fp16_from_f64(ldexp(1, -14)), 0x0400);    /* smallest normal */
  cr_assert_eq(cod_fp16_from_f64(ldexp(1023, -24)), 0x03FF); /* largest subnormal */
  cr_assert_eq(cod_fp16_from_f64(ldexp(2047, -25)), 0x0400); /* its tie up to the normal */
  cr_assert_eq(cod_fp16_from_f64(1.0 + ldexp(1, -11)), 0x3C00); /* tie 1|1+2^-10 -> 1 */
  cr_assert_eq(cod_fp16_from_f64(INFINITY), 0x7C00);
  cr_assert((cod_fp16_from_f64(NAN) & 0x7FFF) > 0x7C00);
  cr_assert_eq(cod_fp16_to_f32(0x0001), ldexpf(1, -24));
}

Test(half, bf16_boundaries) {
  double maxv = ldexp(2.0 - ldexp(1, -7), 127), ulp = ldexp(1, 120);
  cr_assert_eq(cod_bf16_from_f64(maxv), 0x7F7F);
  cr_assert_eq(cod_bf16_from_f64(nextafter(maxv + ulp / 2, 0)), 0x7F7F);
  cr_assert_eq(cod_bf16_from_f64(maxv + ulp / 2), 0x7F80);
  cr_assert_eq(cod_bf16_from_f32(FLT_MAX), 0x7F80); /* above max + ulp/2 */
  cr_assert_eq(cod_bf16_from_f64(ldexp(1, -133)), 0x0001);
  cr_assert_eq(cod_bf16_from_f64(ldexp(1, -134)), 0x0000);
  cr_assert_eq(cod_bf16_from_f64(3 * ldexp(1, -134)), 0x0002);
  cr_assert_eq(cod_bf16_from_f64(1.0 + ldexp(1, -8)), 0x3F80);      /* tie -> even 1 */
  cr_assert_eq(cod_bf16_from_f64(1.0 + 3 * ldexp(1, -8)), 0x3F82);  /* tie -> even 1+2^-6 */
}

/* A double just above a bf16 tie that fp32 rounds onto the tie: rounding via fp32 would
 * round twice and go to even (down); rounding once must go up. */
Test(half, from_f64_rounds_once) {
  double x = 1.0 + ldexp(1, -8) + ldexp(1, -40);
  cr_assert_eq((double)(float)x, 1.0 + ldexp(1, -8), "premise: fp32 lands on the tie");
  cr_assert_eq(cod_bf16_from_f64(x), 0x3F81);
  cr_assert_eq(cod_bf16_from_f32((float)x), 0x3F80);
  double y = 1.0 + ldexp(1, -11) + ldexp(1, -40);
  cr_assert_eq(cod_fp16_from_f64(y), 0x3C01);
}

Test(half, round_array_counts_overflow) {
  double x[6] = {1.5, 7e4, -1e5, INFINITY, NAN, -3.0};
  float y[6];
  cr_assert_eq(cod_half_round_f64(COD_HALF_FP16, x, 6, y), 2); /* inf/NaN inputs not counted */
  cr_assert_eq(y[0], 1.5f);
  cr_assert(isinf(y[1]) && y[1] > 0 && isinf(y[2]) && y[2] < 0);
  cr_assert(isnan(y[4]));
  cr_assert_eq(y[5], -3.0f);
  cr_assert_eq(cod_half_round_f64(COD_HALF_BF16, x, 6, y), 0);
  cr_assert_eq((double)y[1], ref_value(&B16, ref_round(&B16, 7e4)));
  double big[2] = {1e39, -3.5e38};
  cr_assert_eq(cod_half_round_f64(COD_HALF_BF16, big, 2, y), 2);
  cr_assert_str_eq(cod_half_name(COD_HALF_BF16), "bf16");
  cr_assert_str_eq(cod_half_name(COD_HALF_FP16), "fp16");
}

/* The array path (a fast path for normal results) gives exactly the scalar conversion's
 * bits on every tie, its neighbours and seeded doubles over and beyond the range. */
static void check_array(const fmtdef *f, cod_half_format fmt, int lo_exp, int hi_exp) {
  size_t top = max_pattern(f), n = 0, cap = 8 * top + 200000;
  double *x = malloc(cap * sizeof *x);
  float *y = malloc(cap * sizeof *y);
  for (unsigned h = 0; h < top; h++) {
    double a = ref_value(f, h), b = ref_value(f, h + 1), mid = a + (b - a) / 2;
    x[n++] = mid, x[n++] = -mid, x[n++] = nextafter(mid, 0), x[n++] = nextafter(mid, 1e300);
    x[n++] = a, x[n++] = -b;
  }
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 7);
  while (n < cap)
    x[n++] = (gsl_rng_uniform(r) < 0.5 ? -1 : 1) *
             ldexp(1.0 + gsl_rng_uniform(r),
                   lo_exp + (int)gsl_rng_uniform_int(r, (unsigned long)(hi_exp - lo_exp)));
  size_t over = cod_half_round_f64(fmt, x, n, y), want_over = 0;
  for (size_t i = 0; i < n; i++) {
    uint16_t h = f->from64(x[i]);
    float v = f->to32(h);
    want_over += isinf(v) != 0;
    cr_assert(memcmp(&v, &y[i], sizeof v) == 0, "%a: array %a, scalar %a", x[i], (double)y[i],
              (double)v);
  }
  cr_assert_eq(over, want_over, "overflow count %zu, want %zu", over, want_over);
  cr_assert_gt(want_over, 0, "the sample must reach overflow");
  gsl_rng_free(r);
  free(x), free(y);
}

Test(half, fp16_array_path_matches_scalar) { check_array(&F16, COD_HALF_FP16, -30, 20); }
Test(half, bf16_array_path_matches_scalar) { check_array(&B16, COD_HALF_BF16, -140, 130); }
