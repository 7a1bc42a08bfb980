/* res_export.h: a results database as plain CSV files, for pandas, R and spreadsheets.
 *
 * One file per table of the schema (res_schema.h), DIR/<table>.csv, every column in
 * schema order, a header row of the column names, rows in primary-key order. RFC 4180:
 * fields separated by commas, records ended by CRLF; every TEXT value is double-quoted
 * (quotes inside doubled), so an empty string ("") and SQL NULL (an empty field) stay
 * apart; integers are printed exactly, reals with 17 significant digits (they read back
 * bit for bit). Reading them: pandas.read_csv(path) (NULL -> NaN), R read.csv(path).
 */
#ifndef FCDCC_RES_EXPORT_H
#define FCDCC_RES_EXPORT_H

#include "cod_status.h"
#include "res_db.h"

enum { RES_EXPORT_OVERWRITE = 1 /* replace existing DIR/<table>.csv files */ };

/* Write every table of db into dir (which must exist). Without RES_EXPORT_OVERWRITE an
 * existing DIR/<table>.csv is refused before anything is written (COD_EINVAL naming it).
 * Each file is written through a temporary file and renamed into place, so a failure
 * leaves any older file as it was. *files (if non-NULL) receives the number written.
 * Returns COD_OK, COD_EINVAL, COD_EIO (SQLite, a path too long, writing), COD_ENOMEM. */
int res_export_csv(res_db *db, const char *dir, int flags, size_t *files, cod_err *err);

#endif
