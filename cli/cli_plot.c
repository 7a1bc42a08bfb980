/* cli_plot.c: `fcdcc plot`. Placeholder until its issue lands. */
#include "cli.h"

int cli_plot(int argc, char **argv) {
  (void)argc, (void)argv;
  return cli_fail("plot", "not built yet");
}
