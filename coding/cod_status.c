/* cod_status.c: error records (see cod_status.h). */
#include "cod_status.h"

#include <stdarg.h>
#include <stdio.h>

int cod_err_set(cod_err *err, int status, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->status = status;
  }
  return status;
}

const char *cod_status_name(int status) {
  switch (status) {
  case COD_OK: return "ok";
  case COD_EINVAL: return "invalid";
  case COD_ENOMEM: return "nomem";
  case COD_EIO: return "io";
  case COD_EFORMAT: return "format";
  case COD_EUNDECODABLE: return "undecodable";
  case COD_ENUMERIC: return "numeric";
  case COD_ENOTOOL: return "missing tool";
  case COD_ENODATA: return "no data";
  default: return "unknown";
  }
}
