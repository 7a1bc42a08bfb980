/* cli_parse.h: the command line's number parsers, without any printing.
 *
 * Every numeric option of fcdcc (--workers, --jobs, --seed, --reps, --stride, --snr,
 * --stragglers, --shape, ...) goes through these functions, so that one strict grammar
 * holds everywhere: the whole string must be the number (no sign on sizes, no trailing
 * text, no NaN), in range. They write a one-line message into msg (cap bytes, naming the
 * option) and leave the outputs untouched on failure; cli_util.c wraps them with the
 * usage-error printing, and tests/fuzz/fuzz_cli.c fuzzes them directly (they are test-
 * able because they neither print nor exit).
 */
#ifndef FCDCC_CLI_PARSE_H
#define FCDCC_CLI_PARSE_H

#include <stddef.h>

/* The largest value of each --shape element (C, H, W, N, K). */
#define CLI_SHAPE_MAX 100000

/* A whole number in [min, max]: decimal digits only. 0 and *out set, or -1 with msg. */
int cli_parse_size_msg(const char *opt, const char *s, size_t min, size_t max, size_t *out,
                       char *msg, size_t cap);

/* A real number (strtod syntax, the whole string, not NaN, no overflow). 0 or -1. */
int cli_parse_double_msg(const char *opt, const char *s, double *out, char *msg, size_t cap);

/* A comma-separated list of distinct sizes each < bound, at most n_cap of them ("" is the
 * empty list). 0 with out[0..*n) set, or -1 with msg (out may be partly written). */
int cli_parse_size_list_msg(const char *opt, const char *s, size_t bound, size_t *out,
                            size_t n_cap, size_t *n, char *msg, size_t cap);

/* --shape C,H,W,N,K: exactly five whole numbers in [1, CLI_SHAPE_MAX] separated by single
 * commas. 0 with v[0..5) set, or -1 with msg (v untouched). */
int cli_parse_shape_msg(const char *opt, const char *s, size_t v[5], char *msg, size_t cap);

#endif
