/* cli_bench_load.c: the request-stream benchmark of `fcdcc bench` ([load], runner/run_load.h).
 *
 * Two numbers, each measured side by side in one run:
 *   - events per second of a compute = model Poisson stream through AlexNet at n = 20
 *     (nsctc-rot 4 x 4, 10^6 requests; --quick: 10^5) beside the engine's bare rate, the
 *     hold model of bench/bench_sim.c (each fired event schedules one successor, about as
 *     many pending events as the stream keeps), measured just before it in the same
 *     process; target >= 50 %;
 *   - the peak RSS of 10^5 and of 10^6 requests (--quick: 10^4 and 10^5), each run in a
 *     forked child whose ru_maxrss its parent reads from wait4, so one run's pages do not
 *     hide the other's: memory must follow the requests in flight, not those served.
 * Both rates are events over thread CPU seconds (the machine is shared: CPU time is what
 * one core gave each, whatever else ran). The child writes its measurements to a pipe;
 * the parent prints. Clocks are read here, in the program, never in the library.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "cod_clock.h"
#include "run_config.h"
#include "run_exec.h"
#include "sim_engine.h"

typedef struct hold { sim_time_ns step; uint64_t k; int failed; } hold;

static void hold_fn(sim_engine *e, void *p) {
  hold *h = p;
  /* a deterministic spread of delays (an LCG), so no RNG is measured */
  h->k = h->k * 6364136223846793005ull + 1442695040888963407ull;
  sim_time_ns d = 1 + (sim_time_ns)((h->k >> 33) % (uint64_t)(2 * h->step));
  if (sim_engine_schedule_after(e, d, hold_fn, h, NULL, NULL)) h->failed = 1, sim_engine_stop(e);
}

/* Events/s of the bare engine with `pending` events held. */
static double bare_rate(size_t pending, uint64_t events) {
  sim_engine *e = NULL;
  if (sim_engine_new(pending + 2, &e, NULL)) return NAN;
  hold h = {1000000, 1, 0};
  for (size_t i = 0; i < pending; i++)
    if (sim_engine_schedule_at(e, (sim_time_ns)(i + 1), hold_fn, &h, NULL, NULL)) break;
  for (int i = 0; i < 100000; i++) sim_engine_step(e);
  double w0 = cod_clock_thread_cpu_s();
  for (uint64_t i = 0; i < events && !h.failed; i++) sim_engine_step(e);
  double w = cod_clock_thread_cpu_s() - w0;
  sim_engine_free(e);
  return h.failed ? NAN : (double)events / w;
}

typedef struct load_meas { double events, cpu_s, bare_eps, mean_s, p99_s; int ok, saturated; } load_meas;

/* One stream of `requests` in this process. */
static void load_once(size_t requests, load_meas *m) {
  memset(m, 0, sizeof *m);
  run_config cfg;
  run_config_defaults(&cfg);
  cod_err e = {0};
  char req[32];
  snprintf(req, sizeof req, "%zu", requests);
  const char *set[][2] = {{"run.compute", "model"},      {"model.name", "alexnet"},
                          {"coding.scheme", "nsctc-rot"}, {"coding.ka", "4"},
                          {"coding.kb", "4"},             {"cluster.workers", "20"},
                          {"network.master_bps", "1e11"}, {"load.arrivals", "poisson"},
                          {"load.rate_per_s", "20"},      {"load.requests", req},
                          {"load.warmup", "1000"}};
  int rc = 0;
  for (size_t i = 0; !rc && i < sizeof set / sizeof set[0]; i++)
    rc = run_config_set(&cfg, set[i][0], set[i][1], &e);
  if (!rc) rc = run_config_validate(&cfg, &e);
  if (rc) return;
  m->bare_eps = bare_rate(1000, 20000000);
  run_assets *cache = NULL;
  run_ident id = {"bench", "bench", "{}", 0, 0};
  run_result r;
  double w0 = cod_clock_thread_cpu_s();
  rc = run_execute(&cfg, &id, &cache, &r, &e);
  m->cpu_s = cod_clock_thread_cpu_s() - w0;
  run_assets_free(cache);
  if (rc) return;
  m->events = (double)r.events_fired;
  m->mean_s = r.load.lat_mean_s, m->p99_s = r.load.lat_p99_s, m->saturated = r.load.saturated;
  m->ok = 1;
  run_result_fini(&r);
}

/* load_once in a forked child; *maxrss_kib from wait4. Returns 0 or -1. */
static int load_child(size_t requests, load_meas *m, long *maxrss_kib) {
  int fd[2];
  if (pipe(fd)) return -1;
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return close(fd[0]), close(fd[1]), -1;
  if (pid == 0) {
    close(fd[0]);
    load_meas me;
    load_once(requests, &me);
    ssize_t k = write(fd[1], &me, sizeof me);
    _exit(k == (ssize_t)sizeof me ? 0 : 1);
  }
  close(fd[1]);
  ssize_t k;
  do k = read(fd[0], m, sizeof *m); while (k < 0 && errno == EINTR);
  close(fd[0]);
  int status = 0;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) ||
      k != (ssize_t)sizeof *m)
    return -1;
  *maxrss_kib = ru.ru_maxrss;
  return 0;
}

int cli_bench_load(int quick) {
  size_t small = quick ? 10000 : 100000, big = quick ? 100000 : 1000000;
  load_meas ms, mb;
  long rss_s = 0, rss_b = 0;
  printf("\nrequest stream: AlexNet, n=20, nsctc-rot 4x4, compute = model, Poisson 20/s, "
         "each size in a forked child\n");
  fflush(stdout);
  if (load_child(small, &ms, &rss_s) || load_child(big, &mb, &rss_b) || !ms.ok || !mb.ok)
    return cli_fail("bench", "request-stream benchmark: a child run failed");
  double eps = mb.events / mb.cpu_s;
  printf("  %zu requests: %.3g events in %.1f CPU s = %.2f M events/s; bare engine (hold, "
         "1000 pending) %.2f M events/s; ratio %.2f (target >= 0.50) %s\n", big, mb.events,
         mb.cpu_s, eps / 1e6, mb.bare_eps / 1e6, eps / mb.bare_eps,
         eps / mb.bare_eps >= 0.5 ? "ok" : "MISSED");
  printf("  latency mean %.4f s, p99 %.4f s%s\n", mb.mean_s, mb.p99_s,
         mb.saturated ? " (saturated)" : "");
  printf("  peak RSS: %zu requests %.1f MiB, %zu requests %.1f MiB (ratio %.2f; memory "
         "follows the requests in flight)\n", small, (double)rss_s / 1024.0, big,
         (double)rss_b / 1024.0, (double)rss_b / (double)rss_s);
  return 0;
}
