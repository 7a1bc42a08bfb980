/* cod_file.c: non-blocking regular-file opens and atomic output files (see cod_file.h).
 *
 * Why O_NONBLOCK: open(2) of a FIFO without a writer blocks the caller forever, before
 * any fstat could tell us what the path is. With O_NONBLOCK a FIFO opens at once (a
 * read-only open of a FIFO never fails with ENXIO), fstat then refuses it, and for a
 * regular file the flag is cleared so that reads behave as usual. O_NOCTTY keeps a
 * terminal named as an input from becoming ours.
 *
 * Why a temporary file and rename: writing in place truncates the old output first, and
 * the old code removed the path after a write error, which deleted whatever was there (a
 * device node named as --out). rename(2) within one directory is atomic, so a reader sees
 * either the old or the new complete file, and on failure only our temporary file goes.
 */
#define _GNU_SOURCE /* O_CLOEXEC, O_NOCTTY with -std=c11 */
#include "cod_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cod_alloc.h"

const char *cod_file_kind(unsigned mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "a special file";
}

static const char *label(const char *what) { return what ? what : "input"; }

/* A relative path that is not there is taken from the current directory, which is not
 * the scenario file's: say which directory that was (a scenario run from elsewhere names
 * its files relative to where it is run). */
static int open_failed(const char *path, int e, cod_err *err) {
  char cwd[PATH_MAX];
  if (e == ENOENT && path[0] != '/' && getcwd(cwd, sizeof cwd))
    return cod_err_set(err, COD_EIO,
                       "%s: cannot open: %s (a relative path is taken from the current "
                       "directory, %s)", path, strerror(e), cwd);
  return cod_err_set(err, COD_EIO, "%s: cannot open: %s", path, strerror(e));
}

int cod_file_open_regular(const char *path, const char *what, size_t max_bytes, int *fd_out,
                          size_t *size_out, cod_err *err) {
  if (!path || !fd_out) return cod_err_set(err, COD_EINVAL, "cod_file_open_regular: NULL argument");
  if (!*path) return cod_err_set(err, COD_EIO, "empty %s file name", label(what));
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return open_failed(path, errno, err);
  struct stat sb;
  int status = COD_OK;
  if (fstat(fd, &sb) != 0)
    status = cod_err_set(err, COD_EIO, "%s: cannot stat: %s", path, strerror(errno));
  else if (!S_ISREG(sb.st_mode))
    status = cod_err_set(err, COD_EIO, "%s: is %s, not a regular file (the %s must be a file)",
                         path, cod_file_kind((unsigned)sb.st_mode), label(what));
  else if (sb.st_size < 0 || (uintmax_t)sb.st_size > (uintmax_t)SIZE_MAX - 1 ||
           (max_bytes && (uintmax_t)sb.st_size > (uintmax_t)max_bytes))
    status = cod_err_set(err, COD_EFORMAT, "%s: %jd bytes is too large for a %s file (max %zu)",
                         path, (intmax_t)sb.st_size, label(what), max_bytes ? max_bytes : SIZE_MAX - 1);
  else {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0)
      status = cod_err_set(err, COD_EIO, "%s: fcntl: %s", path, strerror(errno));
  }
  if (status) {
    close(fd);
    return status;
  }
  *fd_out = fd;
  if (size_out) *size_out = (size_t)sb.st_size;
  return COD_OK;
}

int cod_file_fopen_regular(const char *path, const char *what, size_t max_bytes, FILE **out,
                           size_t *size_out, cod_err *err) {
  int fd;
  size_t size;
  int status = cod_file_open_regular(path, what, max_bytes, &fd, &size, err);
  if (status) return status;
  FILE *f = fdopen(fd, "rb");
  if (!f) {
    int e = errno;
    close(fd);
    return cod_err_set(err, e == ENOMEM ? COD_ENOMEM : COD_EIO, "%s: fdopen: %s", path,
                       strerror(e));
  }
  *out = f;
  if (size_out) *size_out = size;
  return COD_OK;
}

int cod_file_read_all(const char *path, const char *what, size_t max_bytes, int text,
                      char **buf_out, size_t *len_out, cod_err *err) {
  int fd;
  size_t size;
  int status = cod_file_open_regular(path, what, max_bytes, &fd, &size, err);
  if (status) return status;
  char *buf = cod_malloc(size + 1);
  if (!buf) {
    close(fd);
    return cod_err_set(err, COD_ENOMEM, "%s: out of memory reading %zu bytes", path, size);
  }
  size_t got = 0;
  /* Read the size fstat reported; a file that grows meanwhile is cut there, one that
   * shrinks ends early. */
  while (got < size) {
    ssize_t r = read(fd, buf + got, size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      status = cod_err_set(err, COD_EIO, "%s: read error: %s", path, strerror(errno));
      break;
    }
    if (r == 0) break;
    got += (size_t)r;
  }
  close(fd);
  if (!status && text) {
    const char *nul = memchr(buf, '\0', got);
    if (nul) {
      size_t line = 1;
      for (const char *p = buf; p < nul; p++) line += *p == '\n';
      status = cod_err_set(err, COD_EFORMAT, "%s:%zu: NUL byte in a text file", path, line);
    }
  }
  if (status) {
    cod_free(buf);
    return status;
  }
  buf[got] = '\0';
  *buf_out = buf;
  if (len_out) *len_out = got;
  return COD_OK;
}

int cod_file_read_line(FILE *f, char *buf, size_t cap) {
  size_t n = 0;
  int c, nul = 0, over = 0;
  while ((c = getc(f)) != EOF) {
    if (c == '\0') {
      nul = 1;
      break; /* the caller refuses the line: stop reading here */
    }
    if (n + 1 < cap) buf[n++] = (char)c;
    else over = 1;
    if (c == '\n' || over) break;
  }
  buf[n] = '\0';
  if (nul) return 3;
  if (over) return 2;
  return n > 0 ? 1 : 0;
}

/* ---- atomic outputs ------------------------------------------------------------------- */

int cod_file_out_open(cod_file_out *o, const char *path, cod_err *err) {
  memset(o, 0, sizeof *o);
  if (!path || !*path) return cod_err_set(err, COD_EIO, "empty output file name");
  struct stat sb;
  char *target = NULL;
  if (stat(path, &sb) == 0) {
    if (!S_ISREG(sb.st_mode))
      return cod_err_set(err, COD_EIO, "%s: is %s; refusing to replace it with an output file",
                         path, cod_file_kind((unsigned)sb.st_mode));
    struct stat lb;
    if (lstat(path, &lb) == 0 && S_ISLNK(lb.st_mode)) { /* write the link's target */
      char *real = realpath(path, NULL);
      if (!real) return cod_err_set(err, COD_EIO, "%s: cannot resolve: %s", path, strerror(errno));
      target = cod_strdup(real);
      free(real);
    }
  } else if (errno != ENOENT) {
    return cod_err_set(err, COD_EIO, "%s: cannot stat: %s", path, strerror(errno));
  }
  if (!target) target = cod_strdup(path);
  if (!target) return cod_err_set(err, COD_ENOMEM, "%s: out of memory", path);
  size_t len = strlen(target);
  const char *slash = strrchr(target, '/');
  size_t dirlen = slash ? (size_t)(slash - target) + 1 : 0;
  char *tmp = cod_malloc(len + 64);
  if (!tmp) {
    cod_free(target);
    return cod_err_set(err, COD_ENOMEM, "%s: out of memory", path);
  }
  static unsigned counter; /* only makes names differ; O_EXCL makes them safe */
  int fd = -1;
  for (int attempt = 0; fd < 0 && attempt < 100; attempt++) {
    snprintf(tmp, len + 64, "%.*s.%s.tmp-%ld-%u", (int)dirlen, target, target + dirlen,
             (long)getpid(), __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    int e = errno;
    cod_free(tmp);
    cod_free(target);
    return cod_err_set(err, COD_EIO, "%s: cannot create: %s", path, strerror(e));
  }
  FILE *f = fdopen(fd, "wb");
  if (!f) {
    close(fd);
    unlink(tmp);
    cod_free(tmp);
    cod_free(target);
    return cod_err_set(err, COD_ENOMEM, "%s: out of memory", path);
  }
  o->f = f;
  o->path = target;
  o->tmp_path = tmp;
  return COD_OK;
}

static void out_fini(cod_file_out *o) {
  cod_free(o->path);
  cod_free(o->tmp_path);
  memset(o, 0, sizeof *o);
}

int cod_file_out_commit(cod_file_out *o, cod_err *err) {
  int ok = o->f && !ferror(o->f) && fflush(o->f) == 0;
  int e = ok ? 0 : errno;
  if (o->f && fclose(o->f) != 0 && ok) ok = 0, e = errno;
  o->f = NULL;
  if (ok && rename(o->tmp_path, o->path) != 0) ok = 0, e = errno;
  if (!ok) {
    if (o->tmp_path) unlink(o->tmp_path);
    int status = cod_err_set(err, COD_EIO, "%s: write error%s%s", o->path ? o->path : "?",
                             e ? ": " : "", e ? strerror(e) : "");
    out_fini(o);
    return status;
  }
  out_fini(o);
  return COD_OK;
}

void cod_file_out_abort(cod_file_out *o) {
  if (o->f) fclose(o->f);
  if (o->tmp_path) unlink(o->tmp_path);
  out_fini(o);
}
