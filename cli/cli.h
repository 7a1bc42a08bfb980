/* cli.h: the fcdcc program's subcommands and their shared helpers.
 *
 * Only this folder prints or exits. Exit statuses: 0 success, 1 a run-time failure (I/O,
 * undecodable, numerical), 2 a user error (bad option or value), 77 a missing optional
 * tool (gnuplot). Every subcommand answers --help on stdout with status 0.
 */
#ifndef FCDCC_CLI_H
#define FCDCC_CLI_H

#include <stddef.h>
#include <stdio.h>

#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

int cli_conv(int argc, char **argv);
int cli_cond(int argc, char **argv);
int cli_bench(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_report(int argc, char **argv);
int cli_models(int argc, char **argv);

/* Print "fcdcc CMD: message" and a hint to stderr; return CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "fcdcc CMD: message" to stderr; return CLI_EXIT_FAIL. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Strict number parsers: the whole string must be a number in range. 0 on success, else
 * they print a usage error naming the option and return CLI_EXIT_USAGE. */
int cli_parse_size(const char *cmd, const char *opt, const char *s, size_t min, size_t max,
                   size_t *out);
int cli_parse_double(const char *cmd, const char *opt, const char *s, double *out);
/* Comma-separated list of sizes (each < bound), at most cap entries. */
int cli_parse_size_list(const char *cmd, const char *opt, const char *s, size_t bound,
                        size_t *out, size_t cap, size_t *n);


/* JSON helpers writing to f. */
void cli_json_string(FILE *f, const char *s);
void cli_json_number(FILE *f, double v); /* NaN/Inf become null */

#endif
