/* cli_calibrate.c: `fcdcc calibrate`. Placeholder until its issue lands. */
#include "cli.h"

int cli_calibrate(int argc, char **argv) {
  (void)argc, (void)argv;
  return cli_fail("calibrate", "not built yet");
}
