/* cod_registry.h: the registry of coding schemes, the one description of the CODING-SCHEME
 * axis.
 *
 * coding/ owns the list of its schemes. Every other module (the runner's scenario key, the
 * help texts of `fcdcc conv`, `cond` and `optimum`, the analytic model's feasibility
 * rules) reads the names, traits and limits from here and validates a parameter set with
 * cod_scheme_check, which runs the very checks cod_code_new runs (the scheme's own `plan`
 * on a dry code, no allocation), so a refusal reads the same wherever it happens. Nobody
 * keeps a parallel list, enum or switch of scheme names; an unknown name is an error that
 * lists the known ones, generated from this table.
 *
 * Adding a scheme: one file coding/cod_scheme_NAME.c defining its ops and its
 * cod_scheme_def (cod_scheme.h), one row in cod_registry.c, one line in coding/meson.build;
 * analytic/an_cost.c adds its cost formulas in its one table (or leaves the scheme without
 * analytic columns).
 *
 * Limits. Worker sets are held in arrays of COD_WORKERS_MAX entries (cod_decode_info,
 * cod_cond_stats, the runner's layer records), so no scheme takes more workers than that;
 * each scheme states its own limit in max_workers (<= COD_WORKERS_MAX), and cod_scheme_check
 * refuses n beyond it with one message used by `fcdcc run`, `conv`, `cond` and `optimum`.
 */
#ifndef FCDCC_COD_REGISTRY_H
#define FCDCC_COD_REGISTRY_H

#include <stddef.h>

#include "cod_code.h"
#include "cod_status.h"

/* How a scheme's (k_A, k_B) relate to n. */
typedef enum cod_pair_rule {
  COD_PAIR_FREE = 0,   /* chosen freely with k_A*k_B <= n (the scheme may restrict more) */
  COD_PAIR_ALL = 1,    /* k_A*k_B = n: one block per worker (uncoded) */
  COD_PAIR_COPIES = 2  /* k_A*k_B = n / r for r copies of every block (replication) */
} cod_pair_rule;

/* One parameter of cod_code_params a scheme reads besides n, k_A, k_B and the axis. */
typedef struct cod_scheme_param {
  const char *name;    /* the cod_code_params field and the scenario's [coding] key */
  const char *meaning; /* one line: what it is, its bounds and its default */
} cod_scheme_param;

#define COD_SCHEME_PARAMS_MAX 2

/* The public description of one scheme. Plain constant data. */
typedef struct cod_scheme_info {
  const char *name;        /* the one spelling: cod_code_params.scheme, [coding] scheme */
  const char *summary;     /* one line, for help texts and docs */
  const char *pairs;       /* one line: which (k_A, k_B) it accepts and its worker limit */
  const char *reference;   /* the paper it comes from, or "" */
  int coded;               /* 1: any k_A*k_B of the n results decode (stragglers are
                              tolerated); 0: a fixed block assignment */
  int sides;               /* operands that are coded: 2 (input and filters), 1, or 0 */
  cod_pair_rule pair;      /* fixed pair rules (uncoded, replication) */
  int takes_seed;          /* 1: its coefficients are drawn from cod_code_params.seed */
  size_t max_workers;      /* largest n it plans (<= COD_WORKERS_MAX) */
  cod_scheme_param params[COD_SCHEME_PARAMS_MAX]; /* extra parameters; name NULL = none */
  int approximate;         /* 1: decodes APPROXIMATELY from any non-empty set (berrut;
                              cod_code_approximate); 0: exact from k_A*k_B results */
} cod_scheme_info;

/* Number of schemes, and scheme i (0 <= i < count, asserted) in registry order. */
size_t cod_scheme_count(void);
const cod_scheme_info *cod_scheme_at(size_t i);

/* The scheme called name, or NULL with COD_EINVAL in err: "unknown scheme 'NAME' (known:
 * nsctc-rot, ...)" (name NULL reads as ""). */
const cod_scheme_info *cod_scheme_find(const char *name, cod_err *err);

/* Write the known names joined by sep ("nsctc-rot, nsctc-cir, ...") into buf (len bytes,
 * always NUL-terminated, truncated if too small). Returns the length the whole list needs
 * (excluding the NUL), like snprintf. */
size_t cod_scheme_list(char *buf, size_t len, const char *sep);

/* Dry-run validation of prm for any layer: unknown scheme, n, k_A or k_B < 1, n above the
 * scheme's max_workers, and the scheme's own rules (delta > n, one-sided circulant, q,
 * uncoded n != k_A*k_B, ...). COD_OK, or COD_EINVAL with exactly the message cod_code_new
 * gives for the same parameters. Allocates nothing. */
int cod_scheme_check(const cod_code_params *prm, cod_err *err);

/* The part of cod_scheme_check that needs only the name and n (what a command can check
 * before it knows k_A and k_B): unknown scheme, n < 1, n above max_workers. */
int cod_scheme_check_workers(const char *name, size_t n, cod_err *err);

/* The recovery threshold k_A*k_B the pair rule of s fixes for n workers and r copies:
 * n (COD_PAIR_ALL), n / r (COD_PAIR_COPIES; 0 when r is 0 or exceeds n), or 0 when the
 * pair is free. */
size_t cod_scheme_fixed_threshold(const cod_scheme_info *s, size_t n, size_t r);

#endif
