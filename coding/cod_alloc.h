/* cod_alloc.h: the one allocation wrapper that every fcdcc library allocates through.
 *
 * It exists so that a test build can make the N-th allocation fail and check that every
 * caller cleans up and reports COD_ENOMEM. The failure counter is thread-local, so tests
 * running in parallel threads do not disturb each other. Zero-byte requests return a
 * unique non-NULL pointer (malloc(1)) so that callers need not special-case empty shapes.
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

#endif
