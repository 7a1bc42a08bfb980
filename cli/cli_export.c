/* cli_export.c: `fcdcc export DB --csv DIR [--force]`: every table of a results database
 * as one CSV file (results/res_export.h). Exit 0 written, 1 a failure, 2 usage (also: a
 * CSV file that exists without --force, nothing written). */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "res_db.h"
#include "res_export.h"

static const char export_help[] =
    "Usage: fcdcc export DB --csv DIR [--force]\n"
    "Write every table of a results database as DIR/<table>.csv (runs, layers, workers,\n"
    "events, data_runs): RFC 4180, a header row, text quoted, NULL an empty field, reals\n"
    "with 17 digits. For pandas: pd.read_csv('DIR/runs.csv'); R: read.csv('DIR/runs.csv').\n"
    "Column meanings and units: fcdcc report --explain.\n\n"
    "  --csv DIR   output directory (created if missing)\n"
    "  --force     replace existing CSV files (default: refuse, write nothing)\n"
    "  -h, --help  this help\n";

int cli_export(int argc, char **argv) {
  static const struct option longopts[] = {
      {"csv", 1, 0, 'c'}, {"force", 0, 0, 'f'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
  const char *dir = NULL;
  int force = 0, ch;
  opterr = 0;
  while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    if (ch == 'c') dir = optarg;
    else if (ch == 'f') force = 1;
    else if (ch == 'h') return fputs(export_help, stdout), 0;
    else return cli_usage_error("export", "unknown or incomplete option '%s'", argv[optind - 1]);
  }
  if (optind != argc - 1) return cli_usage_error("export", "expected exactly one DB");
  if (!dir) return cli_usage_error("export", "--csv DIR is required");
  res_db *db = NULL;
  cod_err e = {0};
  if (res_db_open(argv[optind], RES_DB_READONLY, &db, &e))
    return cli_usage_error("export", "%s", e.msg);
  int mk = cli_make_dirs(dir);
  if (mk) {
    res_db_close(db);
    return cli_fail("export", "cannot create directory '%s': %s", dir, strerror(mk));
  }
  size_t n = 0;
  int rc = res_export_csv(db, dir, force ? RES_EXPORT_OVERWRITE : 0, &n, &e);
  res_db_close(db);
  if (rc == COD_EINVAL) return cli_usage_error("export", "%s", e.msg);
  if (rc) return cli_fail("export", "%s", e.msg);
  fprintf(stderr, "fcdcc export: wrote %zu CSV files into %s\n", n, dir);
  return 0;
}
