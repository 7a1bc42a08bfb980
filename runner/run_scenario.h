/* run_scenario.h: scenario files (INI) and their sweeps.
 *
 * A scenario is an INI file (syntax in scenarios/README.md) read with libinih. Any key
 * may hold a LIST (`scheme = nsctc-rot, uncoded`) or a RANGE (`workers = 8..32 step 4`,
 * end included); a list element may itself be a range. The scenario stands for the
 * cartesian product of its multi-valued keys: point i is decoded in mixed radix with the
 * multi-valued keys in FILE ORDER and the LAST KEY VARYING FASTEST. Keys added later by
 * run_scenario_set() that were not in the file count as coming after every file key.
 * A [sweep] section describes the sweep, not a point (never in a point's JSON): `skip =
 * infeasible` runs only the feasible points, and `pair = ka, kb: 4x5, 5x4` ties keys into
 * one multi-valued axis of tuples (at the pair line's place in the order).
 *
 * Every value is parsed and checked against the key registry (run_config.h) when the
 * file is read, so a type, unit or range error is reported with FILE:LINE and the key;
 * rules that span keys are checked per point by run_scenario_point(). The parser writes
 * nothing and keeps no global state; a scenario is immutable except through
 * run_scenario_set(). Sweeps are capped at RUN_SCENARIO_MAX_POINTS points.
 */
#ifndef FCDCC_RUN_SCENARIO_H
#define FCDCC_RUN_SCENARIO_H

#include <stddef.h>

#include "cod_status.h"
#include "run_config.h"

#define RUN_SCENARIO_MAX_POINTS 1000000 /* largest sweep accepted */
#define RUN_SCENARIO_MAX_BYTES (1 << 20) /* largest scenario file accepted */

typedef struct run_scenario run_scenario;

/* Read and check the scenario file at path. On success *out owns a new scenario (free
 * with run_scenario_free). Errors: COD_EIO (cannot read), COD_EFORMAT (syntax, unknown
 * section or key, duplicate, bad value, malformed range; the message starts with
 * "path:LINE: [section] key: "; also, with "path:LINE: ", anything the INI syntax would
 * drop silently: text after the ']' of a section line, a carriage return that does not
 * end a line (CRLF is accepted), control characters other than tab), COD_ENOMEM. *out
 * untouched on error. */
int run_scenario_load(const char *path, run_scenario **out, cod_err *err);

/* Same from memory: text[0..len) need not be NUL-terminated; `name` (e.g. the path) is
 * used in messages and for the default [run] name (its base name without extension).
 * Any byte sequence is safe to pass (this is the fuzzing entry point). */
int run_scenario_parse(const char *text, size_t len, const char *name, run_scenario **out,
                       cod_err *err);

/* Free a scenario; accepts NULL. */
void run_scenario_free(run_scenario *sc);

/* The source name given to load/parse. */
const char *run_scenario_source(const run_scenario *sc);

/* FNV-1a 64-bit hash, as 16 lower-case hex digits, of the file's bytes followed by every
 * successful override ("\n--set KEY=VALUE", in the order applied). It identifies the
 * experiment: the same file with different overrides gives different run keys, so runs
 * of both can share a database and --resume never mistakes one for the other. */
const char *run_scenario_hash(const run_scenario *sc);

/* 1 if the file's [sweep] skip = infeasible (or --set sweep.skip=infeasible) asks to run
 * the feasible points only and record the others (run_sweep.h), else 0. */
int run_scenario_skip_infeasible(const run_scenario *sc);

/* Number of points of the sweep (>= 1). */
size_t run_scenario_points(const run_scenario *sc);

/* Materialise point i (< run_scenario_points) into *out: defaults, then every key in file
 * order with its i-th combination of values, then the cross-key checks of
 * run_config_validate(). Returns COD_OK, or COD_EINVAL with a message
 * "source:LINE: [section] key: point i (label): ..." (run_scenario_point_blame) naming
 * the key to fix; *out is unspecified on error. */
int run_scenario_point(const run_scenario *sc, size_t i, run_config *out, cod_err *err);

/* Short label of the values that vary at point i, e.g. "scheme=uncoded workers=8"
 * (keys in sweep order, bare key names unless two varying keys share a name, then
 * "section.key"; class keys as "NAME.key"); "" when nothing varies. *out is owned by
 * the caller (cod_free). Returns COD_OK or COD_ENOMEM. */
int run_scenario_label(const run_scenario *sc, size_t i, char **out, cod_err *err);

/* The canonical JSON object of point i (run_config_to_json of the materialised,
 * validated point). *out owned by the caller (cod_free). Errors as run_scenario_point. */
int run_scenario_point_json(const run_scenario *sc, size_t i, char **out, cod_err *err);

/* Report a problem of point i caused by one of `keys` (a NULL-terminated list of
 * "section.key", most specific first; "class.key" names the key of class klass): sets err
 * to status and "FILE:LINE: [section] key: point i (label): msg", blaming the first key
 * that varies in the sweep, else the first set in the file ("command line: [s] k: ..."
 * for an override), else the first ("FILE: [s] k (default): ..."). Returns status. Used
 * for every check of a point, so each message names the file, line, key and point. */
int run_scenario_point_blame(const run_scenario *sc, size_t i, const char *const *keys,
                             int klass, int status, const char *msg, cod_err *err);

/* Check every point; on the first bad one return its status and message, and its index
 * in *bad_point if non-NULL. */
int run_scenario_validate(const run_scenario *sc, size_t *bad_point, cod_err *err);

/* Override a key from the command line: dotted_key is "section.key" or
 * "class.NAME.key" (the class must exist in the file); value uses the file syntax, so
 * lists and ranges are allowed ("--set cluster.workers=8..32 step 8"). A key already in
 * the file keeps its sweep position; a new one varies after all others. Errors (message
 * "command line: [section] key: ...") leave the scenario unchanged. */
int run_scenario_set(run_scenario *sc, const char *dotted_key, const char *value,
                     cod_err *err);

#endif
