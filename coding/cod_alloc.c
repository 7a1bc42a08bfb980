/* cod_alloc.c: allocation wrapper with failure injection (see cod_alloc.h).
 *
 * The thread-local injection is test instrumentation private to a thread. The process-wide
 * injection and the live-block counter are C11 atomics (relaxed: they are counters, not
 * synchronisation). The one allocation selected by the process-wide counter is the one
 * whose fetch_add returned exactly fail_at_all, so exactly one allocation fails even when
 * several threads race past it. */
#include "cod_alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local long fail_at = -1;
static _Thread_local long count;

static atomic_long fail_at_all = -1;
static atomic_long count_all;
static atomic_int failed_all;
static atomic_long live;

void cod_alloc_fail_at(long n) {
  fail_at = n;
  count = 0;
}

long cod_alloc_count(void) { return count; }

void cod_alloc_fail_at_all(long n) {
  atomic_store(&fail_at_all, -1);
  atomic_store(&count_all, 0);
  atomic_store(&failed_all, 0);
  atomic_store(&fail_at_all, n);
}

long cod_alloc_count_all(void) { return atomic_load_explicit(&count_all, memory_order_relaxed); }

int cod_alloc_failed_all(void) { return atomic_load(&failed_all); }

long cod_alloc_live(void) { return atomic_load_explicit(&live, memory_order_relaxed); }

static int should_fail(void) {
  long k = count++;
  if (fail_at >= 0 && k == fail_at) return 1;
  long g = atomic_fetch_add_explicit(&count_all, 1, memory_order_relaxed);
  if (g == atomic_load_explicit(&fail_at_all, memory_order_relaxed)) {
    atomic_store(&failed_all, 1);
    return 1;
  }
  return 0;
}

static void *counted(void *p) {
  if (p) atomic_fetch_add_explicit(&live, 1, memory_order_relaxed);
  return p;
}

void *cod_malloc(size_t nbytes) {
  if (should_fail()) return NULL;
  return counted(malloc(nbytes ? nbytes : 1));
}

void *cod_malloc_array(size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return NULL;
  return cod_malloc(n * size);
}

void *cod_calloc(size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return NULL;
  if (should_fail()) return NULL;
  return counted(calloc(n ? n : 1, size ? size : 1));
}

void *cod_realloc(void *ptr, size_t nbytes) {
  if (should_fail()) return NULL;
  void *p = realloc(ptr, nbytes ? nbytes : 1);
  return ptr ? p : counted(p); /* resizing keeps the block count */
}

void *cod_aligned_alloc(size_t nbytes) {
  if (should_fail()) return NULL;
  void *p = NULL;
  if (posix_memalign(&p, 64, nbytes ? nbytes : 64) != 0) return NULL;
  return counted(p);
}

char *cod_strdup(const char *s) {
  size_t len = strlen(s) + 1;
  char *d = cod_malloc(len);
  if (d) memcpy(d, s, len);
  return d;
}

void cod_free(void *ptr) {
  if (!ptr) return;
  atomic_fetch_sub_explicit(&live, 1, memory_order_relaxed);
  free(ptr);
}
