/* cod_clock.h: the host clocks fcdcc reads, in one place.
 *
 * Wall time is used only to MEASURE real work (encode/decode times when a scenario asks
 * for measured timing, benchmark ratios, wall_s columns), never as simulated time.
 * Thread CPU time gives the per-phase CPU columns; it is per thread so that --jobs runs
 * do not count each other's work; process CPU time is for benchmarks that compare a whole
 * --jobs run's CPU with its wall time.
 */
#ifndef FCDCC_COD_CLOCK_H
#define FCDCC_COD_CLOCK_H

/* Monotonic wall clock, seconds from an arbitrary origin. */
double cod_clock_wall_s(void);
/* CPU time consumed by the calling thread, seconds. */
double cod_clock_thread_cpu_s(void);
/* CPU time consumed by every thread of the process, seconds. */
double cod_clock_process_cpu_s(void);

#endif
