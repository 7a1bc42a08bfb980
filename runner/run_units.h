/* run_units.h: numbers with SI or binary prefixes and a unit, checked against a key's unit.
 *
 * Rates, sizes and bandwidths are written the way people say them: `5G`, `100M`, `1GiB`,
 * `100Mbit/s`, `10 GFLOP/s`, or plainly `1e9`. The unit a key measures comes from its name
 * (the house rule "units in names"): `_bps` is bit/s, `_bytes` is bytes, `_flops` is FLOP/s;
 * any other key takes plain numbers only. A quantity is NUMBER, optional blanks, an optional
 * prefix (k or K = 1e3, M, G, T, P, E = 1e6 .. 1e18; Ki, Mi, Gi, Ti, Pi, Ei = 2^10 .. 2^60)
 * and an optional unit word of the key's kind; a unit of another kind (`Mbit/s` for a byte
 * size) is refused with a message saying which kind the key wants, never converted.
 * Bytes per second (`B/s`) for a bit rate is the one conversion (x 8), being unambiguous.
 * A lower-case `m` is refused: milli- has no meaning for these quantities and is a
 * frequent slip for M.
 *
 * Pure functions: no allocation, no state, nothing printed.
 */
#ifndef FCDCC_RUN_UNITS_H
#define FCDCC_RUN_UNITS_H

#include <stddef.h>

enum run_unit {
  RUN_UNIT_NONE = 0, /* a plain number: no prefix, no unit */
  RUN_UNIT_BPS,      /* bit/s: bit/s, bps, b/s, or B/s (bytes per second, x 8) */
  RUN_UNIT_BYTES,    /* bytes: B, byte, bytes */
  RUN_UNIT_FLOPS     /* FLOP/s: FLOP/s, flop/s, flops, FLOPS */
};

/* The unit of a key from its name: "uplink_bps" RUN_UNIT_BPS, "storage_bytes"
 * RUN_UNIT_BYTES, "master_flops" / "compute_rate_flops" RUN_UNIT_FLOPS, else NONE. */
int run_units_of_key(const char *key);

/* The unit's name for messages ("bit/s", "bytes", "FLOP/s", "" for NONE). */
const char *run_units_name(int unit);

/* Parse text as a quantity of `unit` (enum run_unit) into *out (finite; the prefix and any
 * B/s conversion applied). Returns 1 on success; 0 when text is not a quantity at all
 * (msg set to "" so the caller can print its usual "expected ..." message); -1 when it
 * is a quantity with a prefix or unit this key cannot take (msg: why, e.g. "a value in
 * bit/s, but the key is in bytes"). *out untouched unless 1. msg: cap bytes. */
int run_units_parse(const char *text, int unit, double *out, char *msg, size_t cap);

#endif
