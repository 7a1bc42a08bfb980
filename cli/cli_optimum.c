/* cli_optimum.c: `fcdcc optimum`. Placeholder until its issue lands. */
#include "cli.h"

int cli_optimum(int argc, char **argv) {
  (void)argc, (void)argv;
  return cli_fail("optimum", "not built yet");
}
