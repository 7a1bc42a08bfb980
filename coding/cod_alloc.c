/* cod_alloc.c: allocation wrapper with failure injection (see cod_alloc.h).
 * The injection state is thread-local: it is test instrumentation, not shared state. */
#include "cod_alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local long fail_at = -1;
static _Thread_local long count;

void cod_alloc_fail_at(long n) {
  fail_at = n;
  count = 0;
}

long cod_alloc_count(void) { return count; }

static int should_fail(void) {
  long k = count++;
  return fail_at >= 0 && k == fail_at;
}

void *cod_malloc(size_t nbytes) {
  if (should_fail()) return NULL;
  return malloc(nbytes ? nbytes : 1);
}

void *cod_malloc_array(size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return NULL;
  return cod_malloc(n * size);
}

void *cod_calloc(size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return NULL;
  if (should_fail()) return NULL;
  return calloc(n ? n : 1, size ? size : 1);
}

void *cod_realloc(void *ptr, size_t nbytes) {
  if (should_fail()) return NULL;
  return realloc(ptr, nbytes ? nbytes : 1);
}

void *cod_aligned_alloc(size_t nbytes) {
  if (should_fail()) return NULL;
  void *p = NULL;
  if (posix_memalign(&p, 64, nbytes ? nbytes : 64) != 0) return NULL;
  return p;
}

char *cod_strdup(const char *s) {
  size_t len = strlen(s) + 1;
  char *d = cod_malloc(len);
  if (d) memcpy(d, s, len);
  return d;
}

void cod_free(void *ptr) { free(ptr); }
