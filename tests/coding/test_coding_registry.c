/* test_coding_registry.c: the scheme registry (cod_registry.h) and the worker limits.
 *
 * Every registry entry plans a code from its own traits (the pair rule and the number of
 * coded sides decide the parameters), and decodes the direct convolution from all of its
 * workers, so a scheme added to the table is exercised without editing this file. The dry
 * run cod_scheme_check must give exactly the status and message cod_code_new gives, for
 * accepted and refused parameter sets of every scheme. An unknown name lists every known
 * one. n beyond a scheme's max_workers is refused with one message; n = 1024 plans,
 * selects, decodes and searches condition numbers without any clipping of worker sets.
 *
 * Tolerances: fp64 workers, codes with condition numbers below ~1e4 here, so a relative
 * error of 1e-10 leaves orders of magnitude of headroom while a wrong block is O(1).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cod_code.h"
#include "cod_registry.h"
#include "fcdcc_config.h"
#include "tc_util.h"

/* Parameters a scheme accepts, from its traits only. */
static cod_code_params params_for(const cod_scheme_info *s) {
  switch (s->pair) {
  case COD_PAIR_ALL: return tc_params(s->name, 4, 2, 2);
  case COD_PAIR_COPIES: return tc_params(s->name, 8, 2, 2);
  default: return s->sides == 1 ? tc_params(s->name, 6, 3, 1) : tc_params(s->name, 6, 2, 2);
  }
}

Test(registry, every_entry_is_described_and_plans_and_decodes) {
  size_t n = cod_scheme_count();
  cr_assert_geq(n, 7);
  cod_conv_geom g = tc_geom(2, 11, 7, 5, 3, 3, 1, 1);
  for (size_t i = 0; i < n; i++) {
    const cod_scheme_info *s = cod_scheme_at(i);
    cr_assert(s->name && *s->name && s->summary && *s->summary && s->pairs && *s->pairs &&
              s->reference, "entry %zu is not described", i);
    cr_expect(s->max_workers >= 1 && s->max_workers <= COD_WORKERS_MAX, "%s: limit %zu",
              s->name, s->max_workers);
    cr_expect(s->sides >= 0 && s->sides <= 2);
    cr_expect(s->coded == (s->pair == COD_PAIR_FREE), "%s: coded trait vs pair rule", s->name);
    int seed_param = 0;
    for (size_t k = 0; k < COD_SCHEME_PARAMS_MAX && s->params[k].name; k++) {
      cr_expect(s->params[k].meaning && *s->params[k].meaning);
      seed_param |= strcmp(s->params[k].name, "seed") == 0;
    }
    cr_expect_eq(seed_param, s->takes_seed, "%s: takes_seed without a seed parameter", s->name);
    cod_err e = {0};
    cr_expect_eq(cod_scheme_find(s->name, &e), s);
    for (size_t j = 0; j < i; j++) cr_expect_str_neq(cod_scheme_at(j)->name, s->name);
    /* it plans from its traits, and decodes from all of its workers */
    cod_code_params p = params_for(s);
    cr_expect_eq(cod_scheme_check(&p, &e), COD_OK, "%s: %s", s->name, e.msg);
    tc_run r;
    tc_run_init(&r, &p, &g, 40 + i, COD_F64);
    cr_expect_str_eq(cod_code_scheme(r.code), s->name);
    cr_expect_eq(cod_code_approximate(r.code), s->approximate);
    /* an approximate code decodes from any single result; an exact one needs k_A*k_B */
    cr_expect_eq(cod_code_threshold(r.code), s->approximate ? 1 : p.ka * p.kb);
    size_t avail[8];
    for (size_t j = 0; j < r.n; j++) avail[j] = r.n - 1 - j;
    double *y = malloc(r.out_len * sizeof *y);
    cr_assert(y);
    for (int m = 0; m < 2; m++) {
      cod_decode_info info;
      int rc = tc_run_decode(&r, avail, r.n, m ? COD_DECODE_GENERIC : COD_DECODE_AUTO, y, &info, &e);
      cr_assert_eq(rc, COD_OK, "%s: %s", s->name, e.msg);
      double err = tc_rel_err(y, r.yref, r.out_len);
      /* approximate (berrut): finite and below the signal (its accuracy is tested in
       * test_coding_berrut.c); exact: to fp64 rounding */
      double tol = s->approximate ? 1.0 : 1e-10;
      cr_expect_leq(err, tol, "%s (%s decoder): relative error %.3g", s->name,
                    m ? "generic" : "auto", err);
    }
    free(y);
    tc_run_fini(&r);
  }
}

Test(registry, fixed_pair_rules) {
  const cod_scheme_info *u = cod_scheme_find("uncoded", NULL), *r = cod_scheme_find("replication", NULL);
  const cod_scheme_info *rot = cod_scheme_find("nsctc-rot", NULL);
  cr_assert(u && r && rot);
  cr_expect_eq(u->pair, COD_PAIR_ALL);
  cr_expect_eq(r->pair, COD_PAIR_COPIES);
  cr_expect_eq(cod_scheme_fixed_threshold(u, 20, 3), 20);
  cr_expect_eq(cod_scheme_fixed_threshold(r, 20, 2), 10);
  cr_expect_eq(cod_scheme_fixed_threshold(r, 20, 3), 6); /* plans refuse 20 = 3 * 6 + 2 */
  cr_expect_eq(cod_scheme_fixed_threshold(r, 20, 0), 0);
  cr_expect_eq(cod_scheme_fixed_threshold(r, 20, 21), 0);
  cr_expect_eq(cod_scheme_fixed_threshold(rot, 20, 2), 0);
  cod_code_params p = tc_params("replication", 20, 2, 3);
  cod_err e = {0};
  cr_expect_eq(cod_scheme_check(&p, &e), COD_EINVAL);
  cr_expect(strstr(e.msg, "multiple") != NULL, "%s", e.msg);
}

Test(registry, unknown_name_lists_every_known_one) {
  cod_err e = {0};
  cr_expect_null(cod_scheme_find("turbo", &e));
  cr_expect_eq(e.status, COD_EINVAL);
  cr_expect(strstr(e.msg, "unknown scheme 'turbo' (known: ") == e.msg, "%s", e.msg);
  for (size_t i = 0; i < cod_scheme_count(); i++)
    cr_expect(strstr(e.msg, cod_scheme_at(i)->name) != NULL, "'%s' not listed in %s",
              cod_scheme_at(i)->name, e.msg);
  cr_expect_null(cod_scheme_find(NULL, &e));
  cr_expect(strstr(e.msg, "unknown scheme ''") != NULL, "%s", e.msg);
  cr_expect_null(cod_scheme_find("NSCTC-ROT", NULL)); /* one spelling */
  /* the list itself, and its truncation */
  char buf[512], small[8];
  size_t need = cod_scheme_list(buf, sizeof buf, ", ");
  cr_expect_eq(need, strlen(buf));
  cr_expect(strncmp(buf, cod_scheme_at(0)->name, strlen(cod_scheme_at(0)->name)) == 0);
  cr_expect_eq(cod_scheme_list(small, sizeof small, ", "), need);
  cr_expect_eq(strlen(small), sizeof small - 1);
  cr_expect(strncmp(small, buf, sizeof small - 1) == 0);
  cr_expect_eq(cod_scheme_list(NULL, 0, "|"), need - (cod_scheme_count() - 1));
}

/* The dry run and the planner agree on status and message. */
static void same_verdict(const cod_code_params *p, int want_ok) {
  cod_conv_geom g = tc_geom(2, 11, 7, 5, 3, 3, 1, 1);
  cod_err ec = {0}, en = {0};
  int rc = cod_scheme_check(p, &ec);
  cod_code *c = NULL;
  int rn = cod_code_new(p, &g, &c, &en);
  cod_code_free(c);
  cr_expect_eq(rc, rn, "%s n=%zu %zux%zu q=%zu: check %d, planner %d (%s)",
               p->scheme ? p->scheme : "(null)", p->n_workers, p->ka, p->kb, p->q, rc, rn, en.msg);
  cr_expect_eq(rc == COD_OK, want_ok, "%s n=%zu %zux%zu: %s", p->scheme ? p->scheme : "(null)",
               p->n_workers, p->ka, p->kb, ec.msg);
  if (rc) cr_expect_str_eq(ec.msg, en.msg);
}

Test(registry, dry_run_gives_the_planners_message) {
  struct { const char *s; size_t n, ka, kb, q; int ok; } cases[] = {
    {"nsctc-rot", 6, 2, 2, 0, 1},  {"nsctc-rot", 6, 3, 3, 0, 0}, {"nsctc-rot", 6, 2, 2, 5, 0},
    {"nsctc-rot", 6, 2, 2, 7, 1},  {"nsctc-rot", 0, 1, 1, 0, 0}, {"nsctc-rot", 4, 0, 1, 0, 0},
    {"nsctc-rot", COD_WORKERS_MAX + 1, 1, 1, 0, 0},
    {"nsctc-rot", 4, SIZE_MAX / 2, 4, 0, 0}, /* k_A*k_B overflows */
    {"nsctc-cir", 8, 2, 2, 0, 0},  {"nsctc-cir", 6, 3, 1, 9, 0}, {"nsctc-cir", 6, 3, 1, 5, 0},
    {"nsctc-cir", 6, 1, 3, 7, 1},  {"nsctc-cir", 256, 1, 1, 0, 0}, {"nsctc-cir", 4, 1, 5, 0, 0},
    {"uncoded", 4, 2, 2, 0, 1},    {"uncoded", 5, 2, 2, 0, 0},   {"uncoded", 3, 2, 2, 0, 0},
    {"replication", 8, 2, 2, 0, 1}, {"replication", 6, 2, 2, 0, 0},
    {"poly-real", 5, 2, 3, 0, 0},  {"poly-real", 6, 2, 3, 0, 1},  {"poly-cheb", 4, 1, 5, 0, 0},
    {"rkr", 6, 2, 3, 0, 1},        {"rkr", 5, 2, 3, 0, 0},        {"rkr", 0, 1, 1, 0, 0},
    {"berrut", 6, 3, 1, 0, 1},     {"berrut", 6, 3, 2, 0, 0},     {"berrut", 1, 1, 1, 0, 0},
    {"berrut", 6, 257, 1, 0, 0},
    {"nsctc-rotation", 6, 2, 2, 0, 0}, {NULL, 6, 2, 2, 0, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cod_code_params p = tc_params(cases[i].s, cases[i].n, cases[i].ka, cases[i].kb);
    p.q = cases[i].q;
    same_verdict(&p, cases[i].ok);
  }
  /* every scheme at and beyond its own limit, with the limit's one message */
  for (size_t i = 0; i < cod_scheme_count(); i++) {
    const cod_scheme_info *s = cod_scheme_at(i);
    cod_code_params p = tc_params(s->name, s->max_workers + 1, 1, 1);
    same_verdict(&p, 0);
    cod_err e = {0};
    char want[128];
    snprintf(want, sizeof want, "%s supports at most %zu workers (got %zu)", s->name,
             s->max_workers, s->max_workers + 1);
    cr_expect_eq(cod_scheme_check_workers(s->name, s->max_workers + 1, &e), COD_EINVAL);
    cr_expect_str_eq(e.msg, want);
    cr_expect_eq(cod_scheme_check_workers(s->name, s->max_workers, &e), COD_OK, "%s", s->name);
    cr_expect_eq(cod_scheme_check_workers(s->name, 0, &e), COD_EINVAL);
  }
  /* the lifted limit: at least 4096 workers for every scheme but two that say why */
  for (size_t i = 0; i < cod_scheme_count(); i++) {
    const cod_scheme_info *s = cod_scheme_at(i);
    if (strcmp(s->name, "nsctc-cir") == 0 || strcmp(s->name, "berrut") == 0)
      cr_expect_eq(s->max_workers, 255); /* cubic memory; the decoder's point arrays */
    else cr_expect_geq(s->max_workers, 4096, "%s: limit %zu", s->name, s->max_workers);
  }
}

/* ---- n = 1024: no worker set is clipped ---------------------------------------------- */

/* Plan on n = 1024, let every worker compute, and decode with all 1024 results listed:
 * `set` first (an MDS decoder uses the first delta arrivals), then everyone else. */
static void big_decode(const char *scheme, const size_t *set, size_t d, size_t ka, size_t kb,
                       double tol) {
  const size_t n = 1024;
  cod_conv_geom g = tc_geom(2, 19, 7, 9, 3, 3, 1, 1);
  cod_code_params p = tc_params(scheme, n, ka, kb);
  tc_run r;
  tc_run_init(&r, &p, &g, 1024, COD_F64);
  cr_assert_eq(cod_code_threshold(r.code), d);
  /* all 1024 results arrive: the chosen set first, then everyone else */
  size_t *avail = malloc(n * sizeof *avail), na = 0;
  cr_assert(avail);
  for (size_t i = 0; i < d; i++) avail[na++] = set[i];
  for (size_t j = 0; j < n; j++) {
    int in = 0;
    for (size_t i = 0; i < d; i++) in |= set[i] == j;
    if (!in) avail[na++] = j;
  }
  cr_assert_eq(na, n);
  cr_expect(cod_code_decodable(r.code, avail, n));
  cr_expect(cod_code_decodable(r.code, avail, d));
  cr_expect(!cod_code_decodable(r.code, avail, d - 1));
  double *y = malloc(r.out_len * sizeof *y);
  const double **res = malloc(n * sizeof *res);
  cr_assert(y && res);
  for (size_t i = 0; i < n; i++) res[i] = r.res[avail[i]];
  for (int m = 0; m < 2; m++) {
    cod_decode_info info;
    cod_err e = {0};
    int rc = cod_code_decode(r.code, avail, n, res, m ? COD_DECODE_GENERIC : COD_DECODE_AUTO, y,
                             &info, &e);
    cr_assert_eq(rc, COD_OK, "%s n=1024: %s", scheme, e.msg);
    cr_expect_eq(info.n_used, d);
    cr_expect(memcmp(info.used, set, d * sizeof *set) == 0, "%s: not the first arrivals", scheme);
    double err = tc_rel_err(y, r.yref, r.out_len);
    cr_log_info("%s n=1024 %zux%zu (%s): rel error %.3g, cond %.3g", scheme, ka, kb,
                m ? "generic" : "auto", err, info.cond);
    cr_expect_leq(err, tol, "%s n=1024: relative error %.3g (cond %.3g)", scheme, err, info.cond);
  }
  size_t used[64], nu = 0;
  cod_err e = {0};
  cr_expect_eq(cod_code_select(r.code, avail, n, used, &nu, &e), COD_OK, "%s", e.msg);
  cr_expect_eq(nu, d);
  cod_cond_search_result st;
  cod_cond_search_opts o = cod_cond_search_opts_default();
  o.budget_s = INFINITY, o.max_exhaustive = 0, o.samples = 20, o.seed = 3;
  cr_assert_eq(cod_code_cond_search(r.code, &o, &st, &e), COD_OK, "%s", e.msg);
  cr_expect_eq(st.sets_tried, 20);
  cr_expect_eq(st.n_worst_set, d);
  int above = 0;
  for (size_t i = 0; i < d; i++) above |= st.worst_set[i] >= 256;
  cr_expect(above, "no sampled worker id above 255 in a set of %zu of 1024", d);
  cr_expect(isfinite(st.worst) && st.worst >= 1.0);
  cod_cond_search_result_fini(&st);
  free(avail);
  free(res);
  free(y);
  tc_run_fini(&r);
}

Test(registry, coded_layer_on_1024_workers) {
  /* nsctc-rot: 16 evenly spread nodes w^(64 i + 700 mod 1024), a well-conditioned set with
   * most ids above 255 (clustered nodes on the unit circle are ill-conditioned at n=1024) */
  size_t spread[16];
  for (size_t i = 0; i < 16; i++) spread[i] = (64 * i + 700) % 1024;
  big_decode("nsctc-rot", spread, 16, 4, 4, 1e-10);
  /* rkr: any set; take 9 ids scattered above 255 */
  size_t any[9] = {1023, 300, 511, 256, 1000, 777, 640, 901, 333};
  big_decode("rkr", any, 9, 3, 3, 1e-10);
}

/* scenarios/README.md's scheme table is checked against the registry: one row per scheme,
 * stating its worker limit, and no row for a scheme the registry does not have. */
Test(registry, scenario_readme_table_matches) {
  FILE *f = fopen(FCDCC_SOURCE_ROOT "/scenarios/README.md", "r");
  cr_assert_not_null(f);
  static char text[1 << 17];
  size_t len = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[len] = '\0';
  const char *table = strstr(text, "| scheme | what it is |");
  cr_assert_not_null(table, "no scheme table in scenarios/README.md");
  size_t rows = 0;
  for (const char *p = strstr(table, "\n| `"); p && strncmp(p, "\n| `", 4) == 0;
       p = strchr(p + 1, '\n')) {
    char name[64] = "";
    const char *q = p + 4, *e = strchr(q, '`');
    cr_assert(e && e - q < 64);
    memcpy(name, q, (size_t)(e - q));
    const cod_scheme_info *si = cod_scheme_find(name, NULL);
    cr_expect_not_null(si, "README row for unknown scheme '%s'", name);
    const char *eol = strchr(p + 1, '\n');
    char lim[48];
    if (si) {
      snprintf(lim, sizeof lim, "workers <= %zu", si->max_workers);
      const char *hit = strstr(p, lim);
      cr_expect(hit && (!eol || hit < eol), "README row of %s lacks '%s'", name, lim);
    }
    rows++;
  }
  cr_expect_eq(rows, cod_scheme_count(), "README lists %zu schemes, the registry %zu", rows,
               cod_scheme_count());
}
