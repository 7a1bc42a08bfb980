/* cod_alloc.h: the one allocation wrapper that every fcdcc library allocates through.
 *
 * It exists so that a test build can make the N-th allocation fail and check that every
 * caller cleans up and reports COD_ENOMEM. Two injection counters exist:
 *  - a thread-local one (cod_alloc_fail_at), so unit tests running in parallel threads
 *    do not disturb each other;
 *  - a process-wide one (cod_alloc_fail_at_all), an atomic counter shared by every
 *    thread, for code that allocates on threads it starts itself (run_sweep's workers).
 *    Only one test at a time may drive it; the reliability tests run it single-threaded.
 * An allocation fails if either counter selects it. The wrapper also keeps a process-wide
 * count of live blocks (cod_alloc_live), so a test can check that a failed call freed
 * everything it allocated, without a sanitizer. Counting costs one relaxed atomic add per
 * allocation and free; the libraries allocate at setup, never in hot kernels.
 * Zero-byte requests return a unique non-NULL pointer (malloc(1)) so that callers need not
 * special-case empty shapes.
 */
#ifndef FCDCC_COD_ALLOC_H
#define FCDCC_COD_ALLOC_H

#include <stddef.h>

void *cod_malloc(size_t nbytes);
void *cod_calloc(size_t count, size_t size);           /* overflow-checked, zeroed */
void *cod_malloc_array(size_t count, size_t size);     /* overflow-checked */
void *cod_realloc(void *ptr, size_t nbytes);
void *cod_aligned_alloc(size_t nbytes);                /* 64-byte aligned; free with cod_free */
char *cod_strdup(const char *s);
void cod_free(void *ptr);                              /* accepts NULL */

/* Test hook: the allocation numbered `n` from now (0 = the very next one) fails, and so
 * does none after it. n < 0 disables injection. Returns nothing; affects this thread. */
void cod_alloc_fail_at(long n);
/* Number of allocations made by this thread since the last cod_alloc_fail_at() call. */
long cod_alloc_count(void);

/* Test hook, process-wide: the allocation numbered `n` from now counted over ALL threads
 * (0 = the very next one anywhere) fails, and none after it. n < 0 disables it. Which
 * allocation that is depends on thread scheduling when several threads allocate; a walk
 * over n = 0, 1, 2, ... still reaches every allocation site that can be reached. */
void cod_alloc_fail_at_all(long n);
/* Number of allocations made by all threads since the last cod_alloc_fail_at_all(). */
long cod_alloc_count_all(void);
/* 1 if the process-wide injection has fired since the last cod_alloc_fail_at_all(). */
int cod_alloc_failed_all(void);

/* Blocks allocated through this wrapper and not yet given to cod_free, process-wide.
 * Compare two readings around a call to detect a leak (blocks, not bytes). */
long cod_alloc_live(void);

#endif
