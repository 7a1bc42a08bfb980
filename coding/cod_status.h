/* cod_status.h: status codes and the error record shared by every fcdcc library.
 *
 * Library functions never print or exit. A function that can fail at run time returns
 * an int status (COD_OK == 0) and, when the caller passed a non-NULL cod_err, writes one
 * human-readable message into it. Out-parameters are left untouched on failure.
 * Programming errors (NULL where a pointer is required, shapes that violate a documented
 * precondition) are assert()s, not statuses.
 */
#ifndef FCDCC_COD_STATUS_H
#define FCDCC_COD_STATUS_H

#include <stddef.h>

enum {
  COD_OK = 0,
  COD_EINVAL = 1,       /* bad argument or parameter combination (a user error) */
  COD_ENOMEM = 2,       /* an allocation failed */
  COD_EIO = 3,          /* a file could not be opened, read or written */
  COD_EFORMAT = 4,      /* a file was read but its contents are malformed */
  COD_EUNDECODABLE = 5, /* fewer usable worker results than the code needs */
  COD_ENUMERIC = 6,     /* a numerical failure: singular system, non-finite values */
  COD_ENOTOOL = 7,      /* an optional external program (gnuplot) is not installed */
  COD_ENODATA = 8       /* a query found no rows to work on (e.g. a figure's runs) */
};

#define COD_ERR_MSG_LEN 512

/* One error message. Plain struct; zero-initialise it (cod_err e = {0};). */
typedef struct cod_err {
  int status;                 /* the status that was returned with this message */
  char msg[COD_ERR_MSG_LEN];  /* NUL-terminated, no trailing newline */
} cod_err;

/* Record status and a printf-style message in err (if err is non-NULL); returns status
 * so that callers can write `return cod_err_set(err, COD_EINVAL, "...", ...);`. */
int cod_err_set(cod_err *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Short stable name of a status: "ok", "invalid", "nomem", "io", "format",
 * "undecodable", "numeric" or "unknown". */
const char *cod_status_name(int status);

#endif
