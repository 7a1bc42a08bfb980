/* cli_upgrade.c: `fcdcc upgrade DB`: take a results database of an older schema version
 * to this build's, in place (res_db.h: the steps of res_schema.c only rename or add
 * columns, so no stored value changes). A read-write open does the upgrade; read-only
 * commands (report, plot, export, recommend) never write and name this command instead.
 * Exit 0 upgraded or already current, 1 a failure, 2 usage or a file that cannot be
 * upgraded (not fcdcc's, newer, or older than the first step). */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "res_db.h"

static const char upgrade_help[] =
    "Usage: fcdcc upgrade DB\n"
    "Upgrade a results database written by an older fcdcc to this build's schema version,\n"
    "in place, in one transaction: columns are renamed or added, no stored value changes\n"
    "(e.g. version 9 renamed workers.bytes_up, bytes_down to bytes_to_worker,\n"
    "bytes_to_master). A file already at this version is left as it is. Runs with --resume\n"
    "into an older file upgrade it the same way.\n\n"
    "  -h, --help  this help\n";

int cli_upgrade(int argc, char **argv) {
  static const struct option longopts[] = {{"help", 0, 0, 'h'}, {0, 0, 0, 0}};
  int ch;
  opterr = 0;
  while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    if (ch == 'h') return fputs(upgrade_help, stdout), 0;
    return cli_usage_error("upgrade", "unknown or incomplete option '%s'", argv[optind - 1]);
  }
  if (optind != argc - 1) return cli_usage_error("upgrade", "expected exactly one DB");
  res_db *db = NULL;
  cod_err e = {0};
  int rc = res_db_open(argv[optind], RES_DB_NOCREATE, &db, &e);
  if (rc == COD_EFORMAT || rc == COD_EIO) return cli_usage_error("upgrade", "%s", e.msg);
  if (rc) return cli_fail("upgrade", "%s", e.msg);
  res_db_close(db);
  fprintf(stderr, "fcdcc upgrade: %s is at schema version %d (this build's)\n", argv[optind],
          RES_DB_SCHEMA_VERSION);
  return 0;
}
