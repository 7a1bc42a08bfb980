/* cli_reproduce.c: `fcdcc reproduce`. Placeholder until its issue lands. */
#include "cli.h"

int cli_reproduce(int argc, char **argv) {
  (void)argc, (void)argv;
  return cli_fail("reproduce", "not built yet");
}
