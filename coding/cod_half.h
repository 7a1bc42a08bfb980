/* cod_half.h: IEEE binary16 (fp16) and bfloat16 (bf16) numbers, bit-exact.
 *
 * Low-precision workers (docs/decisions/010-low-precision-workers.md) round their
 * operands to one of these 16-bit formats and accumulate in fp32, as tensor units do.
 * The conversions here are the only place the formats are defined: every rounding is
 * round-to-nearest, ties-to-even, done on the integer bit pattern (no reliance on the
 * floating-point environment), with IEEE gradual underflow (subnormals) and overflow to
 * infinity. A NaN converts to the format's canonical quiet NaN with the same sign (the
 * payload is not kept).
 *
 *   format  sign  exponent  fraction  bias  max finite         smallest subnormal
 *   fp16    1     5         10        15    65504              2^-24
 *   bf16    1     8         7         127   (2 - 2^-7) 2^127   2^-133
 */
#ifndef FCDCC_COD_HALF_H
#define FCDCC_COD_HALF_H

#include <stddef.h>
#include <stdint.h>

typedef enum cod_half_format { COD_HALF_BF16 = 0, COD_HALF_FP16 = 1 } cod_half_format;

/* The nearest fp16 / bf16 bit pattern to x (RNE; |x| beyond the range rounds to inf). */
uint16_t cod_fp16_from_f32(float x);
uint16_t cod_bf16_from_f32(float x);
/* The same from a double, rounded ONCE (not via fp32, which could round twice). */
uint16_t cod_fp16_from_f64(double x);
uint16_t cod_bf16_from_f64(double x);
/* The exact value of a bit pattern (every fp16 and bf16 value is an fp32 value). */
float cod_fp16_to_f32(uint16_t h);
float cod_bf16_to_f32(uint16_t h);

/* dst[i] = x[i] rounded to `fmt` (as an fp32 value), i < len. Returns the number of
 * FINITE inputs that overflowed to infinity: such an operand is not a number the format
 * can hold, and the caller must treat the computation as a numeric failure. */
size_t cod_half_round_f64(cod_half_format fmt, const double *x, size_t len, float *dst);

/* "bf16" / "fp16". */
const char *cod_half_name(cod_half_format fmt);

#endif
