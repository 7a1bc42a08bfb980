/* tr_tmpdir.c: see tr_tmpdir.h. Depth-first removal (FTW_DEPTH) without following
 * symbolic links (FTW_PHYS), so a link a test planted is removed, not its target. */
#define _XOPEN_SOURCE 700
#include "tr_tmpdir.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

int tr_tmpdir_make(char *dir, size_t cap, const char *tag) {
  int n = snprintf(dir, cap, "/tmp/fcdcc_%s_XXXXXX", tag);
  if (n < 0 || (size_t)n >= cap) return -1;
  return mkdtemp(dir) ? 0 : -1;
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  remove(path);
  return 0;
}

void tr_tmpdir_remove(const char *dir) {
  if (dir && dir[0]) nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}
