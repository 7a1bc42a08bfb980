/* test_runner_claim.c: the order in which a sweep claims its runs changes no row, nor what
 * a crash leaves (issue 12: longest-expected-first claims, no barrier between files).
 *
 *  - claims: a real-compute LeNet-5 sweep whose points grow in n (so in expected cost) is
 *    claimed with the largest n first, every trial of a point before the next point, with
 *    --jobs 1 and 2; the commit order stays (point, trial) and the rows equal a reference
 *    made one run at a time in (point, trial) order (share_count = runs, one share per
 *    call, each resuming into the same file: no claim order at all);
 *  - a SIGKILL inside the second batch of that sweep, whose first committed run is the
 *    last one claimed: the file holds exactly the first batch, whole and in order, and
 *    --resume runs exactly the missing runs, after which the rows equal the reference's;
 *  - run_sweep_chain: two files run as one chain hold exactly the rows (run_id, keys,
 *    hashes, all but the wall clock) of two run_sweep calls in a row; a chain whose second
 *    file has an infeasible point is refused before anything runs (no file); a file
 *    repeating an earlier file's scenario finds its runs stored (skipped under resume,
 *    refused without it, before anything runs); a SIGKILL inside the second file's batch
 *    leaves the first file whole and a prefix of the second, and resuming the chain gives
 *    the uninterrupted chain's rows; out of memory at any allocation of the
 *    calling thread fails the chain with COD_ENOMEM, a message and no leak.
 */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cod_alloc.h"
#include "run_scenario.h"
#include "run_sweep.h"
#include "tr_db.h"
#include "tr_tmpdir.h"

static char g_dir[256];

static void make_dir(void) {
  gsl_set_error_handler_off();
  cr_assert_eq(tr_tmpdir_make(g_dir, sizeof g_dir, "claimtest"), 0, "mkdtemp failed");
}

static void remove_dir(void) { tr_tmpdir_remove(g_dir); }

TestSuite(claim, .init = make_dir, .fini = remove_dir);

static void db_path(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "%s/%s", g_dir, name);
}

/* three points of growing n (the same pair), three trials each: 9 runs */
#define CLAIM_SCENARIO                                                                   \
  "[run]\nseed = 5\ntrials = 3\ncompute = real\n[model]\nname = lenet5\n"                \
  "[coding]\nscheme = nsctc-rot\nka = 2\nkb = 2\n[cluster]\nworkers = 4, 6, 8\n"
#define CLAIM_RUNS 9
/* model-only, another scenario (its own hash) */
#define OTHER_SCENARIO                                                                   \
  "[run]\nseed = 9\ntrials = 4\ncompute = model\n[model]\nname = lenet5\n"               \
  "[coding]\nscheme = nsctc-rot, uncoded\nka = 2\nkb = 2\n[cluster]\nworkers = 6\n"
/* its second point is infeasible (ka kb = 9 > 6 workers) */
#define BAD_SCENARIO                                                                     \
  "[run]\ncompute = model\n[model]\nname = lenet5\n"                                     \
  "[coding]\nscheme = nsctc-rot\nka = 2, 3\nkb = 3\n[cluster]\nworkers = 6\n"

static run_scenario *parse(const char *text, const char *name) {
  run_scenario *sc = NULL;
  cod_err e = {0};
  cr_assert_eq(run_scenario_parse(text, strlen(text), name, &sc, &e), COD_OK, "%s", e.msg);
  return sc;
}

static long q_long(const char *path, const char *sql) {
  sqlite3 *db = tr_open_ro(path);
  char *d = tr_q_dump(db, sql);
  long v = strtol(d, NULL, 10);
  free(d);
  sqlite3_close(db);
  return v;
}

/* The stored rows but the wall clock: runs in run_id order with their keys, layers and
 * workers by (run_id, layer, worker). */
static char *dump_all(const char *path) {
  sqlite3 *db = tr_open_ro(path);
  char *a = tr_q_dump(db, "SELECT run_id, run_key, scenario_hash, point_index, trial, seed, scheme, "
                       "workers, ka, kb, status, status_time_s, latency_s, e2e_mse, "
                       "e2e_rel_error FROM runs ORDER BY run_id");
  char *b = tr_q_dump(db, "SELECT run_id, layer_index, ka, kb, workers_used, t_total_s, mse, "
                       "rel_error, cond, status FROM layers ORDER BY 1, 2");
  char *c = tr_q_dump(db, "SELECT run_id, layer_index, worker, bytes_to_worker, bytes_to_master, "
                       "flops, status, t_finish_s FROM workers ORDER BY 1, 2, 3");
  sqlite3_close(db);
  size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
  char *all = malloc(n);
  cr_assert_not_null(all);
  snprintf(all, n, "%s%s%s", a, b, c);
  free(a), free(b), free(c);
  return all;
}

/* The (point, trial) order of the stored runs. */
static char *stored_order(const char *path) {
  sqlite3 *db = tr_open_ro(path);
  char *o = tr_q_dump(db, "SELECT point_index, trial FROM runs ORDER BY run_id");
  sqlite3_close(db);
  return o;
}

/* "p|t\n" for runs 0 .. n-1 of CLAIM_SCENARIO in (point, trial) order */
static void sweep_order(char *buf, size_t cap, size_t n) {
  buf[0] = '\0';
  for (size_t i = 0; i < n; i++)
    snprintf(buf + strlen(buf), cap - strlen(buf), "%zu|%zu\n", i / 3, i % 3);
}

/* The reference: one run per call, in (point, trial) order, each resuming into path. */
static void reference(const char *path) {
  for (size_t k = 0; k < CLAIM_RUNS; k++) {
    run_scenario *sc = parse(CLAIM_SCENARIO, "claim.ini");
    run_sweep_opts o;
    memset(&o, 0, sizeof o);
    o.db_path = path, o.jobs = 1, o.resume = 1, o.share_index = k, o.share_count = CLAIM_RUNS;
    run_sweep_stats st;
    cod_err e = {0};
    cr_assert_eq(run_sweep(sc, &o, &st, &e), COD_OK, "%s", e.msg);
    cr_assert_eq(st.committed, 1, "share %zu ran one run", k);
    run_scenario_free(sc);
  }
}

typedef struct claim_log {
  size_t file[64], point[64], trial[64], n;
} claim_log;

static void log_claim(void *ctx, size_t file, size_t point, size_t trial) {
  claim_log *l = ctx;
  if (l->n < 64) l->file[l->n] = file, l->point[l->n] = point, l->trial[l->n] = trial;
  l->n++;
}

static void claim_check(size_t jobs) {
  char pa[400], pr[400];
  db_path(pa, sizeof pa, "a.db"), db_path(pr, sizeof pr, "ref.db");
  reference(pr);
  run_scenario *sc = parse(CLAIM_SCENARIO, "claim.ini");
  run_sweep_opts o;
  memset(&o, 0, sizeof o);
  claim_log lg;
  memset(&lg, 0, sizeof lg);
  o.db_path = pa, o.jobs = jobs, o.batch_max_runs = 2, o.batch_max_s = 60;
  o.on_claim = log_claim, o.hook_ctx = &lg;
  run_sweep_stats st;
  cod_err e = {0};
  cr_assert_eq(run_sweep(sc, &o, &st, &e), COD_OK, "%s", e.msg);
  run_scenario_free(sc);
  cr_assert_eq(st.committed, CLAIM_RUNS);
  cr_assert_eq(lg.n, CLAIM_RUNS, "every run claimed once: %zu claims", lg.n);
  /* n = 8 (point 2) first, then 6, then 4; a point's trials in order */
  for (size_t i = 0; i < CLAIM_RUNS; i++) {
    cr_expect_eq(lg.point[i], 2 - i / 3, "claim %zu was point %zu", i, lg.point[i]);
    cr_expect_eq(lg.trial[i], i % 3, "claim %zu was trial %zu", i, lg.trial[i]);
  }
  char expect[256], *order = stored_order(pa);
  sweep_order(expect, sizeof expect, CLAIM_RUNS);
  cr_expect_str_eq(order, expect, "commit order is (point, trial) order");
  free(order);
  char *a = dump_all(pa), *r = dump_all(pr);
  cr_expect_str_eq(a, r, "rows differ from the one-run-at-a-time reference");
  free(a), free(r);
}

Test(claim, longest_first_claims_keep_sweep_order_and_rows_jobs_1) { claim_check(1); }
Test(claim, longest_first_claims_keep_sweep_order_and_rows_jobs_2) { claim_check(2); }

/* The child: killed by itself inside its second batch, after the batch's second run is
 * in (batches start at k = 1). */
static void killer(void *ctx, size_t k) {
  size_t *batches = ctx;
  if (k == 1) ++*batches;
  if (*batches == 2 && k == 2) raise(SIGKILL);
}

static void kill_check(size_t jobs) {
  char pa[400], pr[400];
  db_path(pa, sizeof pa, "k.db"), db_path(pr, sizeof pr, "ref.db");
  reference(pr);
  fflush(NULL);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    run_scenario *sc = parse(CLAIM_SCENARIO, "claim.ini");
    run_sweep_opts o;
    memset(&o, 0, sizeof o);
    size_t batches = 0;
    o.db_path = pa, o.jobs = jobs, o.batch_max_runs = 3, o.batch_max_s = 60;
    o.after_insert = killer, o.hook_ctx = &batches;
    run_sweep(sc, &o, NULL, NULL);
    _exit(3); /* not reached if the hook fired */
  }
  int status = 0;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %d", status);
  sqlite3 *db = tr_open_ro(pa);
  char *integrity = tr_q_dump(db, "PRAGMA integrity_check");
  cr_expect_str_eq(integrity, "ok\n");
  free(integrity);
  sqlite3_close(db);
  long first = q_long(pa, "SELECT COUNT(*) FROM runs");
  cr_assert(first >= 1 && first <= 3, "only the first batch is in: %ld runs", first);
  cr_expect_eq(q_long(pa, "SELECT COUNT(*) FROM runs r WHERE (SELECT COUNT(*) FROM layers l "
                          "WHERE l.run_id = r.run_id) != 3"), 0, "every run has its 3 layers");
  char expect[256], *order = stored_order(pa);
  sweep_order(expect, sizeof expect, (size_t)first);
  cr_expect_str_eq(order, expect, "the first runs in sweep order, whatever was claimed first");
  free(order);
  /* --resume runs exactly the missing runs */
  run_scenario *sc = parse(CLAIM_SCENARIO, "claim.ini");
  run_sweep_opts o;
  memset(&o, 0, sizeof o);
  o.db_path = pa, o.jobs = jobs, o.resume = 1;
  run_sweep_stats st;
  cod_err e = {0};
  cr_assert_eq(run_sweep(sc, &o, &st, &e), COD_OK, "%s", e.msg);
  run_scenario_free(sc);
  cr_expect_eq((long)st.skipped, first);
  cr_expect_eq((long)st.committed, CLAIM_RUNS - first, "--resume runs exactly the missing runs");
  char *a = dump_all(pa), *r = dump_all(pr);
  cr_expect_str_eq(a, r, "after --resume the rows equal the reference's");
  free(a), free(r);
}

Test(claim, sigkill_inside_a_batch_under_longest_first_claims_jobs_1) { kill_check(1); }
Test(claim, sigkill_inside_a_batch_under_longest_first_claims_jobs_2) { kill_check(2); }

/* ---- run_sweep_chain ------------------------------------------------------------------ */

static int chain(const char *const *texts, size_t n, const char *path, size_t jobs, int resume,
                 run_sweep_stats *st, size_t *at, cod_err *e, claim_log *lg) {
  run_scenario *sc[4];
  char name[4][32];
  void *ctx[4];
  for (size_t i = 0; i < n; i++) {
    snprintf(name[i], sizeof name[i], "file%zu.ini", i);
    sc[i] = parse(texts[i], name[i]);
    ctx[i] = name[i];
  }
  run_sweep_opts o;
  memset(&o, 0, sizeof o);
  o.db_path = path, o.jobs = jobs, o.resume = resume, o.batch_max_runs = 4, o.batch_max_s = 60;
  if (lg) o.on_claim = log_claim, o.hook_ctx = lg;
  int rc = run_sweep_chain((const run_scenario *const *)sc, ctx, n, &o, st, at, e);
  for (size_t i = 0; i < n; i++) run_scenario_free(sc[i]);
  return rc;
}

Test(claim, a_chain_writes_the_rows_of_sweeps_in_a_row) {
  char pa[400], pb[400];
  db_path(pa, sizeof pa, "chain.db"), db_path(pb, sizeof pb, "row.db");
  const char *texts[2] = {CLAIM_SCENARIO, OTHER_SCENARIO};
  for (size_t i = 0; i < 2; i++) { /* the reference: one run_sweep after the other */
    char name[32];
    snprintf(name, sizeof name, "file%zu.ini", i);
    run_scenario *sc = parse(texts[i], name);
    run_sweep_opts o;
    memset(&o, 0, sizeof o);
    o.db_path = pb, o.jobs = 1;
    cod_err e = {0};
    cr_assert_eq(run_sweep(sc, &o, NULL, &e), COD_OK, "%s", e.msg);
    run_scenario_free(sc);
  }
  run_sweep_stats st[2];
  claim_log lg;
  memset(&lg, 0, sizeof lg);
  cod_err e = {0};
  size_t at = 99;
  cr_assert_eq(chain(texts, 2, pa, 2, 0, st, &at, &e, &lg), COD_OK, "%s", e.msg);
  cr_expect_eq(st[0].committed, CLAIM_RUNS);
  cr_expect_eq(st[1].committed, 8);
  cr_expect_eq(lg.n, CLAIM_RUNS + 8);
  for (size_t i = 1; i < lg.n && i < 64; i++)
    cr_expect_geq(lg.file[i], lg.file[i - 1], "claim %zu: file %zu after file %zu", i,
                  lg.file[i], lg.file[i - 1]);
  char *a = dump_all(pa), *b = dump_all(pb);
  cr_expect_str_eq(a, b, "a chain's rows differ from sweeps in a row");
  free(a), free(b);
}

Test(claim, a_chain_checks_every_file_before_the_first_run) {
  char pa[400];
  db_path(pa, sizeof pa, "bad.db");
  const char *texts[2] = {OTHER_SCENARIO, BAD_SCENARIO};
  run_sweep_stats st[2];
  claim_log lg;
  memset(&lg, 0, sizeof lg);
  cod_err e = {0};
  size_t at = 99;
  cr_assert_eq(chain(texts, 2, pa, 2, 0, st, &at, &e, &lg), COD_EINVAL);
  cr_expect_eq(at, 1, "the failure is the second file's: %zu", at);
  cr_expect(strstr(e.msg, "point 1") != NULL, "message names the point: %s", e.msg);
  cr_expect_eq(lg.n, 0, "no run started");
  struct stat sb;
  cr_expect(stat(pa, &sb) != 0, "a refused chain wrote its db");
}

Test(claim, a_file_repeating_an_earlier_one_finds_its_runs_stored) {
  char pa[400], pb[400];
  db_path(pa, sizeof pa, "rep.db"), db_path(pb, sizeof pb, "rep2.db");
  const char *texts[2] = {OTHER_SCENARIO, OTHER_SCENARIO};
  run_sweep_stats st[2];
  cod_err e = {0};
  size_t at = 99;
  cr_assert_eq(chain(texts, 2, pa, 2, 1, st, &at, &e, NULL), COD_OK, "%s", e.msg);
  cr_expect_eq(st[0].committed, 8);
  cr_expect_eq(st[1].committed, 0);
  cr_expect_eq(st[1].skipped, 8, "the second file's runs are the first's");
  cr_expect_eq(q_long(pa, "SELECT COUNT(*) FROM runs"), 8);
  cr_assert_eq(chain(texts, 2, pb, 2, 0, st, &at, &e, NULL), COD_EINVAL);
  cr_expect_eq(at, 1);
  cr_expect(strstr(e.msg, "already holds run") != NULL, "%s", e.msg);
  struct stat sb;
  cr_expect(stat(pb, &sb) != 0, "refused before anything ran: no db");
}

/* One chain of the two texts into path (removed first); its status, *allocs = the calling
 * thread's allocations, with allocation fail_at failing (-1: none). */
static int oom_chain(const char *const *texts, const char *path, long fail_at, long *allocs,
                     cod_err *e) {
  char side[420];
  unlink(path);
  snprintf(side, sizeof side, "%s-wal", path), unlink(side);
  snprintf(side, sizeof side, "%s-shm", path), unlink(side);
  run_scenario *sc[2];
  for (size_t i = 0; i < 2; i++) sc[i] = parse(texts[i], i ? "bad.ini" : "other.ini");
  run_sweep_opts o;
  memset(&o, 0, sizeof o);
  o.db_path = path, o.jobs = 2;
  run_sweep_stats st[2];
  cod_alloc_fail_at(fail_at);
  int rc = run_sweep_chain((const run_scenario *const *)sc, NULL, 2, &o, st, NULL, e);
  *allocs = cod_alloc_count();
  cod_alloc_fail_at(-1);
  for (size_t i = 0; i < 2; i++) run_scenario_free(sc[i]);
  return rc;
}

/* Out of memory at every allocation of the calling thread (planning both files, the task
 * list, the cost models, each file's writer and database): COD_ENOMEM with a message or
 * (an allocation the code can do without) success, never a leak; then every run is in. */
Test(claim, a_chain_out_of_memory_anywhere_on_the_calling_thread_fails_cleanly) {
  char pa[400];
  db_path(pa, sizeof pa, "oom.db");
  const char *texts[2] = {OTHER_SCENARIO, BAD_SCENARIO "[sweep]\nskip = infeasible\n"};
  long total = 0, allocs = 0, enomem = 0;
  cod_err e = {0};
  cr_assert_eq(oom_chain(texts, pa, -1, &total, &e), COD_OK, "%s", e.msg);
  cr_assert_gt(total, 20, "the calling thread made only %ld allocations", total);
  for (long n = 0; n < total; n++) {
    long live0 = cod_alloc_live();
    cod_err en = {0};
    int rc = oom_chain(texts, pa, n, &allocs, &en);
    cr_assert_eq(cod_alloc_live(), live0, "N=%ld: %ld blocks leaked", n,
                 cod_alloc_live() - live0);
    if (rc == COD_OK) continue;
    cr_assert_eq(rc, COD_ENOMEM, "N=%ld: %s (%s)", n, cod_status_name(rc), en.msg);
    cr_assert(en.msg[0], "N=%ld: no message", n);
    enomem++;
  }
  cr_expect_gt(enomem, total / 2, "only %ld of %ld allocations fail the chain", enomem, total);
  cr_assert_eq(oom_chain(texts, pa, -1, &allocs, &e), COD_OK, "%s", e.msg);
  cr_expect_eq(q_long(pa, "SELECT COUNT(*) FROM runs"), 8 + 1, "both files' runs");
  cr_expect_eq(q_long(pa, "SELECT COUNT(*) FROM skipped_points"), 1, "the infeasible point");
}

/* The child of the chain kill: progress marks the first file done; the second file's
 * writer then kills the process after the second run of a batch is in (before it commits). */
typedef struct chain_kill {
  int first_done;
} chain_kill;
static chain_kill g_kill;

static void kill_progress(void *ctx, size_t done, size_t total) {
  if (strcmp(ctx, "file0.ini") == 0 && done == total) g_kill.first_done = 1;
}

static void kill_in_second(void *ctx, size_t k) {
  (void)ctx;
  if (g_kill.first_done && k == 2) raise(SIGKILL);
}

Test(claim, sigkill_inside_the_second_file_of_a_chain_and_resume_completes) {
  char pa[400], pr[400];
  db_path(pa, sizeof pa, "ck.db"), db_path(pr, sizeof pr, "ckref.db");
  const char *texts[2] = {CLAIM_SCENARIO, OTHER_SCENARIO};
  run_sweep_stats st[2];
  cod_err e = {0};
  cr_assert_eq(chain(texts, 2, pr, 2, 0, st, NULL, &e, NULL), COD_OK, "%s", e.msg);
  fflush(NULL);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    run_scenario *sc[2] = {parse(texts[0], "file0.ini"), parse(texts[1], "file1.ini")};
    void *ctx[2] = {"file0.ini", "file1.ini"};
    run_sweep_opts o;
    memset(&o, 0, sizeof o);
    o.db_path = pa, o.jobs = 2, o.batch_max_runs = 3, o.batch_max_s = 60;
    o.progress = kill_progress, o.after_insert = kill_in_second;
    run_sweep_chain((const run_scenario *const *)sc, ctx, 2, &o, NULL, NULL, NULL);
    _exit(3); /* not reached if the hook fired */
  }
  int status = 0;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %d", status);
  long in = q_long(pa, "SELECT COUNT(*) FROM runs");
  cr_assert(in >= CLAIM_RUNS && in < CLAIM_RUNS + 8,
            "the first file whole, part of the second: %ld runs", in);
  cr_expect_eq(q_long(pa, "SELECT COUNT(*) FROM runs r WHERE (SELECT COUNT(*) FROM layers l "
                          "WHERE l.run_id = r.run_id) != 3"), 0, "every run has its 3 layers");
  /* what is in is the reference's first runs, in order */
  sqlite3 *db = tr_open_ro(pa);
  char *keys = tr_q_dump(db, "SELECT run_id, run_key FROM runs ORDER BY run_id");
  sqlite3_close(db);
  db = tr_open_ro(pr);
  char *ref = tr_q_dump(db, "SELECT run_id, run_key FROM runs ORDER BY run_id");
  sqlite3_close(db);
  cr_expect(strncmp(keys, ref, strlen(keys)) == 0, "not a prefix of the chain:\n%s", keys);
  free(keys), free(ref);
  /* resuming the chain runs exactly the missing runs; then the rows are the reference's */
  cr_assert_eq(chain(texts, 2, pa, 2, 1, st, NULL, &e, NULL), COD_OK, "%s", e.msg);
  cr_expect_eq((long)(st[0].committed + st[1].committed), CLAIM_RUNS + 8 - in);
  cr_expect_eq((long)(st[0].skipped + st[1].skipped), in);
  char *a = dump_all(pa), *r = dump_all(pr);
  cr_expect_str_eq(a, r, "after --resume the chain's rows equal the uninterrupted chain's");
  free(a), free(r);
}
