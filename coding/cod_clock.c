/* cod_clock.c: host clocks (see cod_clock.h). */
#include "cod_clock.h"

#include <time.h>

static double read_clock(clockid_t id) {
  struct timespec t;
  clock_gettime(id, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

double cod_clock_wall_s(void) { return read_clock(CLOCK_MONOTONIC); }
double cod_clock_thread_cpu_s(void) { return read_clock(CLOCK_THREAD_CPUTIME_ID); }
double cod_clock_process_cpu_s(void) { return read_clock(CLOCK_PROCESS_CPUTIME_ID); }
