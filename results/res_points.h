/* res_points.h: the scenario keys of the runs of a results database, for summaries that
 * never pool different sweep points. Private to results/ (and its tests).
 *
 * Every run stores the full configuration of its sweep point as runs.params_json
 * (run_config_to_json: one object per section, plus the [class NAME] sections as the
 * array `classes`). A "point" here is one distinct params_json text: the runs of a point
 * differ only by trial and seed. Its keys are flattened to canonical names: "section.key"
 * (e.g. "cluster.workers") and "class.NAME.key" (e.g. "class.slow.count"); a key missing
 * from a point (a class another point does not have) has the value NULL.
 *
 * The rule every report and figure applies (res_points_split): the rows of a summary are
 * cells (a figure: series and x; a report: its group columns). A key SPLITS when two points
 * in one cell have different values for it; splitting every cell by the values of all
 * splitting keys leaves cells whose points agree on every key, so nothing is pooled, and
 * keys that only co-vary with the cell (ka with n in a paired sweep) split nothing.
 */
#ifndef FCDCC_RES_POINTS_H
#define FCDCC_RES_POINTS_H

#include <stddef.h>
#include <stdint.h>

#include "cod_status.h"
#include "res_db.h"

typedef struct res_points res_points;

/* Read every run's point of db. *out: a new object (res_points_free). COD_OK, COD_ENOMEM
 * or COD_EIO (a query failed; the message names the file). *out untouched on failure. */
int res_points_load(res_db *db, res_points **out, cod_err *err);
void res_points_free(res_points *p); /* accepts NULL */

size_t res_points_count(const res_points *p);
size_t res_points_nkeys(const res_points *p);
/* Canonical name of key k (< nkeys). */
const char *res_points_key(const res_points *p, size_t k);
/* Value of key k at point i as text (numbers as %.15g, arrays as JSON), NULL if absent. */
const char *res_points_value(const res_points *p, size_t i, size_t k);
/* The point of run run_id into *point: COD_OK, or COD_ENODATA if the run is unknown. */
int res_points_of_run(const res_points *p, int64_t run_id, size_t *point);

/* Find the key a user named: a canonical name, a bare key name that is unique
 * ("workers"), "NAME.key" for a class key, or "n" for cluster.workers. COD_OK and *k,
 * or COD_EINVAL naming the candidates (ambiguous) or the known keys that look alike. */
int res_points_key_find(const res_points *p, const char *name, size_t *k, cod_err *err);

/* OR into mask (nkeys bytes) the keys that split: cell[j], point[j] for j < n pairs
 * (a run's cell id and point). COD_OK or COD_ENOMEM. */
int res_points_split(const res_points *p, const size_t *cell, const size_t *point, size_t n,
                     unsigned char *mask, cod_err *err);

/* The same per cell: for every cell, the keys that differ among its points are OR-ed into
 * gmask (nkeys bytes, may be NULL) and into pmask[point * nkeys ...] of each of its points
 * (npts x nkeys bytes, may be NULL): a point's own mask holds only the keys that tell it
 * apart from a point it shares a cell with. COD_OK or COD_ENOMEM. */
int res_points_split_cells(const res_points *p, const size_t *cell, const size_t *point,
                           size_t n, unsigned char *gmask, unsigned char *pmask, cod_err *err);

/* "a=1, b=x" of the keys in mask at point i, in key order, into *out (cod_free): key names
 * as res_points_display. "" if mask is empty. COD_OK or COD_ENOMEM. */
int res_points_label(const res_points *p, size_t i, const unsigned char *mask, char **out,
                     cod_err *err);
/* The short name of key k: the bare key ("workers"), "NAME.key" for a class key, or the
 * canonical name when another key of the database has the same short name ("model.name"
 * beside "run.name"). mask is unused (kept for the callers). Written into buf. */
void res_points_display(const res_points *p, size_t k, const unsigned char *mask, char *buf,
                        size_t cap);

#endif
