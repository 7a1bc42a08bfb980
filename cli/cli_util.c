/* cli_util.c: option parsing, timing and JSON helpers for the fcdcc subcommands. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_parse.h"
#include "cod_file.h"
#include "cod_clock.h"
#include "cod_registry.h"

int cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "fcdcc %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'fcdcc %s --help'.\n", cmd);
  return CLI_EXIT_USAGE;
}

int cli_fail(const char *cmd, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "fcdcc %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return CLI_EXIT_FAIL;
}

/* The parsers themselves are in cli_parse.c (no printing, so they can be fuzzed). */
int cli_parse_size(const char *cmd, const char *opt, const char *s, size_t min, size_t max,
                   size_t *out) {
  char msg[512];
  return cli_parse_size_msg(opt, s, min, max, out, msg, sizeof msg)
             ? cli_usage_error(cmd, "%s", msg) : 0;
}

int cli_parse_double(const char *cmd, const char *opt, const char *s, double *out) {
  char msg[512];
  return cli_parse_double_msg(opt, s, out, msg, sizeof msg) ? cli_usage_error(cmd, "%s", msg) : 0;
}

int cli_parse_size_list(const char *cmd, const char *opt, const char *s, size_t bound,
                        size_t *out, size_t cap, size_t *n) {
  char msg[512];
  return cli_parse_size_list_msg(opt, s, bound, out, cap, n, msg, sizeof msg)
             ? cli_usage_error(cmd, "%s", msg) : 0;
}

void cli_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
    else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
    else fputc(ch, f);
  }
  fputc('"', f);
}

void cli_json_number(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, "%.6g", v);
  else fputs("null", f);
}

int cli_make_dirs(const char *path) {
  char buf[4096];
  size_t len = strlen(path);
  if (len == 0 || len >= sizeof buf) return ENAMETOOLONG;
  memcpy(buf, path, len + 1);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) return errno;
    *p = '/';
  }
  if (mkdir(buf, 0777) != 0 && errno != EEXIST) return errno;
  return 0;
}

int cli_make_parent(const char *file) {
  const char *slash = strrchr(file, '/');
  if (!slash || slash == file) return 0;
  char buf[4096];
  size_t n = (size_t)(slash - file);
  if (n >= sizeof buf) return ENAMETOOLONG;
  memcpy(buf, file, n);
  buf[n] = 0;
  return cli_make_dirs(buf);
}

int cli_check_out_path(const char *cmd, const char *opt, const char *path) {
  char dir[4096];
  struct stat sb;
  const char *slash = strrchr(path, '/');
  size_t n = slash ? (size_t)(slash - path) : 1;
  if (n >= sizeof dir) return cli_usage_error(cmd, "%s %s: path too long", opt, path);
  if (!slash) strcpy(dir, ".");
  else if (n == 0) strcpy(dir, "/");
  else memcpy(dir, path, n), dir[n] = 0;
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return cli_usage_error(cmd, "%s %s: directory '%s' does not exist", opt, path, dir);
  if (access(dir, W_OK) != 0)
    return cli_usage_error(cmd, "%s %s: directory '%s' is not writable", opt, path, dir);
  /* an output replaces only a regular file (never a directory, device node or FIFO) */
  if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
    return cli_usage_error(cmd, "%s %s: is %s; refusing to replace it", opt, path,
                           cod_file_kind((unsigned)sb.st_mode));
  return 0;
}

void cli_print_schemes(FILE *f, const char *indent) {
  for (size_t i = 0; i < cod_scheme_count(); i++) {
    const cod_scheme_info *s = cod_scheme_at(i);
    fprintf(f, "%s%-12s %s\n", indent, s->name, s->summary);
    fprintf(f, "%s%-12s %s; n <= %zu\n", indent, "", s->pairs, s->max_workers);
    for (size_t k = 0; k < COD_SCHEME_PARAMS_MAX && s->params[k].name; k++)
      fprintf(f, "%s%-12s %s: %s\n", indent, "", s->params[k].name, s->params[k].meaning);
  }
}

int cli_check_workers(const char *cmd, const char *scheme, size_t n) {
  cod_err e = {0};
  if (!cod_scheme_find(scheme, &e)) return cli_usage_error(cmd, "--scheme: %s", e.msg);
  if (cod_scheme_check_workers(scheme, n, &e)) return cli_usage_error(cmd, "--workers: %s", e.msg);
  return 0;
}
