/* cod_file.h: opening input files safely and writing output files atomically.
 *
 * Every fcdcc reader opens its input through cod_file_open_regular: the open never blocks
 * (a FIFO named as an input would otherwise wait forever for a writer), and anything that
 * is not a regular file (directory, FIFO, device, socket) is refused with a message that
 * names it, before a byte is read. The size from fstat is checked against the reader's
 * limit before anything is allocated. Text readers refuse NUL bytes (file and line).
 *
 * Every output fcdcc writes for the user goes through cod_file_out: the bytes go to a
 * fresh temporary file in the same directory, which is renamed over the output on
 * success and removed on failure; an existing output that is not a regular file (a
 * device node, a directory) is refused before anything is created. So a failed write
 * never removes or truncates what was at the path, and nothing but the temporary file is
 * ever deleted.
 */
#ifndef FCDCC_COD_FILE_H
#define FCDCC_COD_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "cod_status.h"

/* Open path read-only without blocking (O_NONBLOCK, cleared after the open), check with
 * fstat that it is a regular file of at most max_bytes bytes (0: no limit), and return
 * the descriptor in *fd_out (close it with close()) and the size in *size_out (may be
 * NULL). `what` names the input in messages ("scenario", "trace", ...; may be NULL).
 * Returns COD_OK, COD_EIO (cannot open; not a regular file) or COD_EFORMAT (larger than
 * max_bytes); the message names the file. Outputs untouched on failure. */
int cod_file_open_regular(const char *path, const char *what, size_t max_bytes, int *fd_out,
                          size_t *size_out, cod_err *err);

/* cod_file_open_regular, then fdopen(fd, "rb"): *out is a stdio stream to fclose. */
int cod_file_fopen_regular(const char *path, const char *what, size_t max_bytes, FILE **out,
                           size_t *size_out, cod_err *err);

/* Read a whole regular file (cod_file_open_regular rules) into a new buffer of *len_out
 * bytes plus a terminating NUL (free with cod_free). If text is non-zero, a NUL byte in
 * the file is COD_EFORMAT "PATH:LINE: NUL byte in a text file". Returns COD_OK, COD_EIO,
 * COD_EFORMAT or COD_ENOMEM; outputs untouched on failure. */
int cod_file_read_all(const char *path, const char *what, size_t max_bytes, int text,
                      char **buf_out, size_t *len_out, cod_err *err);

/* Read one line (up to and including '\n') from f into buf (cap >= 2 bytes), NUL
 * terminated. Returns 1 for a line, 0 at end of file with nothing read, 2 if the line
 * did not fit (buf holds its first cap-1 bytes; the rest is not read), 3 if a NUL byte
 * was met (reading stops there). Read errors show as 0 with ferror(f) set. Never blocks more
 * than the stream does. */
int cod_file_read_line(FILE *f, char *buf, size_t cap);

/* An output being written: f is the stream to write to (a temporary file). */
typedef struct cod_file_out {
  FILE *f;        /* write here */
  char *path;     /* the final name (owned) */
  char *tmp_path; /* the temporary file in the same directory (owned) */
} cod_file_out;

/* Start writing path: refuse an existing path that is not a regular file (COD_EIO, "is a
 * directory" / "is a device", ...; a symbolic link is followed and its target written),
 * then create a temporary file "DIR/.NAME.tmp-PID-N" (mode 0666 less the umask) in the
 * same directory. Returns COD_OK with o ready, or COD_EIO / COD_ENOMEM with o zeroed. */
int cod_file_out_open(cod_file_out *o, const char *path, cod_err *err);

/* Finish: flush and close the stream and rename the temporary file onto the path.
 * On any failure the temporary file is removed and the path is left as it was
 * (COD_EIO naming the path). o is finished either way. */
int cod_file_out_commit(cod_file_out *o, cod_err *err);

/* Give up: close and remove the temporary file; the path is untouched. Accepts an o that
 * was zeroed or already finished. */
void cod_file_out_abort(cod_file_out *o);

/* The kind of a file mode, for messages: "a directory", "a FIFO", "a character device",
 * "a block device", "a socket", "a symbolic link", "a regular file" or "a special file". */
const char *cod_file_kind(unsigned mode);

#endif
