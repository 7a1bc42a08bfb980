/* fuzz_trace.c: fuzz target for the latency trace reader (sim/sim_latency.h, model TRACE).
 *
 * A scenario's `[latency] trace_file` names a CSV that comes with the scenario, so it is
 * hostile input like the scenario itself. The reader only takes a path, so the input is
 * written to an anonymous in-memory file (memfd) and read through /proc/self/fd/N; no
 * file is left behind. Contracts checked: the status set, the error record, *out
 * untouched on failure; on success every worker 0..W-1 samples a duration that is >= 0
 * or +inf (never NaN), in both factor and duration mode, the first unknown worker is
 * COD_EINVAL with the output untouched, and sampling cycles through each worker's rows.
 */
#define _GNU_SOURCE /* memfd_create */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>

#include "cod_status.h"
#include "fuzz_harness.h"
#include "sim_latency.h"

#define FUZZ_TRACE_WORKERS 64u /* workers probed after a successful parse */

static int write_all(int fd, const uint8_t *data, size_t size) {
  if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0) return -1;
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n <= 0) return -1;
    data += n;
    size -= (size_t)n;
  }
  return 0;
}

int fuzz_trace_one(const uint8_t *data, size_t size) {
  static int fd = -1;
  static char path[64];
  if (fd < 0) {
    fd = memfd_create("fcdcc-fuzz-trace", 0);
    FUZZ_CHECK(fd >= 0);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  }
  FUZZ_CHECK(write_all(fd, data, size) == 0);
  sim_latency_params prm;
  sim_latency_params_default(&prm);
  prm.kind = SIM_LAT_TRACE;
  prm.trace_path = path;
  sim_latency *const sentinel = (sim_latency *)&sentinel;
  sim_latency *m = sentinel;
  cod_err err = {0};
  int rc = sim_latency_new_from_params(&prm, &m, &err);
  FUZZ_CHECK(rc == COD_OK || rc == COD_EFORMAT || rc == COD_ENOMEM);
  if (rc != COD_OK) {
    FUZZ_CHECK(err.status == rc && err.msg[0] != '\0');
    FUZZ_CHECK(m == sentinel);
    return rc;
  }
  FUZZ_CHECK(m != NULL && m != sentinel);
  FUZZ_CHECK(strcmp(sim_latency_name(m), "trace") == 0);
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  FUZZ_CHECK(r != NULL);
  gsl_rng_set(r, 1);
  size_t w = 0;
  for (; w < FUZZ_TRACE_WORKERS; w++) {
    double first = -1.0, again = -1.0;
    int s = sim_latency_sample(m, r, w, 2.0, &first);
    if (s == COD_EINVAL) {
      FUZZ_CHECK(w > 0 && first == -1.0); /* worker 0 always exists; out untouched */
      break;
    }
    FUZZ_CHECK(s == COD_OK);
    FUZZ_CHECK(!isnan(first) && first >= 0.0);
    /* a few more draws: each stays a duration, and the cursor cycles */
    for (int k = 0; k < 3; k++) {
      FUZZ_CHECK(sim_latency_sample(m, r, w, 2.0, &again) == COD_OK);
      FUZZ_CHECK(!isnan(again) && again >= 0.0);
    }
  }
  if (w == FUZZ_TRACE_WORKERS) {
    double x = -1.0;
    int s = sim_latency_sample(m, r, (size_t)-1, 1.0, &x);
    FUZZ_CHECK(s == COD_EINVAL && x == -1.0);
  }
  gsl_rng_free(r);
  sim_latency_free(m);
  return rc;
}

#ifdef FCDCC_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_trace_one(data, size);
  return 0;
}
#endif
