/* mpi_util.c: small helpers of both sides of the MPI backend (see mpi_proto.h). */
#include <math.h>
#include <time.h>

#include "cod_alloc.h"
#include "mpi_proto.h"

void mpib_nap(double s) {
  if (!(s > 0)) return;
  struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
  nanosleep(&ts, NULL);
}

int mpib_grow(void **p, size_t *have, size_t need) {
  if (*p && *have >= need) return 0;
  void *q = cod_aligned_alloc(need ? need : 1);
  if (!q) return -1;
  cod_free(*p);
  *p = q, *have = need;
  return 0;
}
