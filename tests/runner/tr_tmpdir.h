/* tr_tmpdir.h: a private temporary directory per runner test suite (not part of any
 * library): made with mkdtemp under /tmp, removed with everything in it by nftw (no shell).
 */
#ifndef FCDCC_TR_TMPDIR_H
#define FCDCC_TR_TMPDIR_H

#include <stddef.h>

/* Make /tmp/fcdcc_TAG_XXXXXX into dir (cap >= 32 + strlen(tag)); 0 or -1 with errno. */
int tr_tmpdir_make(char *dir, size_t cap, const char *tag);
/* Remove dir and everything below it (best effort: a test's teardown). */
void tr_tmpdir_remove(const char *dir);

#endif
