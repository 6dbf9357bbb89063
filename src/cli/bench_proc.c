/* src/cli/bench_proc.c — P4 (`weft bench proc`): many short subprocesses,
 * a bounded number at a time, and the peers a programmer would use instead.
 *
 *   weft            weft_subprocess_run_many(n x /bin/true, parallel = threads)
 *   python-threads  ThreadPoolExecutor(threads) + subprocess.run  (peer_python.py)
 *   python-asyncio  Semaphore(threads) + create_subprocess_exec   (peer_python.py)
 *   gnu-parallel    sh -c 'seq n | parallel --will-cite -j2 /bin/true'
 *   xargs           sh -c 'seq n | xargs -P2 -n1 /bin/true'
 *
 * Every figure is jobs/s over the whole batch (the shell commands are timed
 * from start to exit, their own startup included, as a user would see them).
 * All children inherit stdin/stdout/stderr, as they do under the peers: no
 * pipes to serve, so only starting and reaping is measured.
 *
 * The suite's targets (P1-P4) are checked here too, at the end, followed by
 * P5's figures (bench_proc_start.c), which have no target. */
#include <unistd.h>

#include "weft/proc.h"
#include "cli/bench.h"

static const char *const true_argv[] = {"/bin/true", NULL};

/* ---- weft: one batch through weft_subprocess_run_many ---- */

typedef struct p4_weft {
  weft_subprocess_opts *cmds;
  weft_subprocess_result *res;
  size_t n, parallel;
  int err;
} p4_weft;

static double run_weft(void *arg) {
  p4_weft *w = arg;
  uint64_t t0 = wb_now_ns();
  int e = weft_subprocess_run_many(w->cmds, w->n, w->parallel, w->res, NULL, NULL);
  double secs = (double)(wb_now_ns() - t0) / 1e9;
  /* /bin/true exits 0: anything else means a child did not really run */
  for (size_t i = 0; i < w->n; i++) {
    if (!e && w->res[i].exit_code != 0) e = WEFT_ESYSTEM;
    weft_subprocess_result_free(&w->res[i]);
  }
  if (!w->err) w->err = e;
  return (double)w->n / secs;
}

static int measure_weft(bench_ctx *c) {
  p4_weft w = {.n = c->size.procs, .parallel = c->threads};
  w.cmds = calloc(w.n, sizeof *w.cmds);
  w.res = calloc(w.n, sizeof *w.res);
  if (!w.cmds || !w.res) w.err = WEFT_ENOMEM;
  for (size_t i = 0; !w.err && i < w.n; i++) w.cmds[i].argv = true_argv;
  double v = w.err ? 0 : bench_median(c, run_weft, &w, 1);
  free(w.cmds);
  free(w.res);
  if (w.err) {
    fprintf(stderr, "weft bench: P4 weft_subprocess_run_many: %s\n", weft_strerror(w.err));
    return 1;
  }
  bench_emit(c, "P4", "true", "weft", (int)c->threads, v, "jobs/s", true, NULL);
  return 0;
}

/* ---- GNU parallel and xargs: one shell pipeline per batch ---- */

typedef struct p4_cmd {
  const char *line;  /* for /bin/sh -c */
  size_t n;
  int err;           /* start failure, or the pipeline's non-zero exit */
} p4_cmd;

static double run_cmd(void *arg) {
  p4_cmd *p = arg;
  const char *argv[] = {p->line, NULL};
  /* stdout discarded: nothing may mix into --json output */
  weft_subprocess_opts o = {.argv = argv, .shell = true,
                            .stdout_mode = WEFT_SUBPROCESS_DISCARD};
  weft_subprocess_result r;
  uint64_t t0 = wb_now_ns();
  int e = weft_subprocess_run(&o, &r);
  double secs = (double)(wb_now_ns() - t0) / 1e9;
  if (!e && r.exit_code != 0) e = WEFT_ESYSTEM;
  weft_subprocess_result_free(&r);
  if (!p->err) p->err = e;
  return (double)p->n / secs;
}

/* Whether `tool` is an executable somewhere in PATH (as the shell finds it). */
static bool in_path(const char *tool) {
  const char *path = getenv("PATH");
  if (!path) path = "/usr/bin:/bin";
  while (*path) {
    size_t len = strcspn(path, ":");
    char file[4200];
    snprintf(file, sizeof file, "%.*s/%s", (int)len, len ? path : ".", tool);
    if (access(file, X_OK) == 0) return true;
    path += len + (path[len] == ':');
  }
  return false;
}

static void note_skip(bench_ctx *c, const char *impl, const char *why) {
  bench_progress(c, "P4 %s: skipped (%s)", impl, why);
  size_t len = strlen(c->skipped);
  /* the table's footer names the peer directory: say why this one is missing */
  snprintf(c->skipped + len, sizeof c->skipped - len, "%s%s (%s)", len ? ", " : "", impl,
           why);
}

/* Times `fmt` (with the batch size and the parallelism put in) as impl. The
 * untimed first run also checks that the tool works: a failing one is
 * skipped, like a missing one. */
static void measure_cmd(bench_ctx *c, const char *impl, const char *tool, const char *fmt) {
  if (!in_path(tool)) {
    note_skip(c, impl, "not in PATH");
    return;
  }
  char line[256];
  snprintf(line, sizeof line, fmt, c->size.procs, c->threads);
  bench_progress(c, "P4 %s: %s", impl, line);
  p4_cmd p = {.line = line, .n = c->size.procs};
  run_cmd(&p);
  if (p.err) {
    note_skip(c, impl, p.err == WEFT_ESYSTEM ? "the command failed" : weft_strerror(p.err));
    return;
  }
  double v = bench_median(c, run_cmd, &p, 0);
  if (p.err) {
    note_skip(c, impl, "the command failed");
    return;
  }
  bench_emit(c, "P4", "true", impl, (int)c->threads, v, "jobs/s", true, NULL);
}

int bench_p4_proc(bench_ctx *c) {
  int failed = measure_weft(c);
  bench_peer(c, "peer_python.py", "P4", c->size.procs, c->threads);
  /* --will-cite: otherwise GNU parallel prints its citation notice */
  measure_cmd(c, "gnu-parallel", "parallel",
              "seq %zu | parallel --will-cite -j%u /bin/true");
  measure_cmd(c, "xargs", "xargs", "seq %zu | xargs -P%u -n1 /bin/true");
  return failed;
}

/* ---- the suite's targets, checked against this run ---- */

/* P1-P3: ratio = peer's value / weft's (both lower-better), or weft's own
 * value when peer is NULL; met when >= goal. */
typedef struct proc_target {
  const char *what;
  const char *bench, *kase;        /* weft's row */
  const char *peer, *peer_kase;    /* the row compared with (peer_kase NULL: kase) */
  int peer_threads;                /* its threads (CPUs for the floors); 0: any */
  double goal;
} proc_target;

static const proc_target proc_targets[] = {
  {"P1 chunksize 1: python-pool / weft >= 50", "P1", "map_cs1", "python-pool", NULL, 0, 50},
  {"P1 chunksize 10,000: python-pool / weft >= 10", "P1", "map_cs10000", "python-pool", NULL,
   0, 10},
  /* the floor: both processes on one CPU (the cross-CPU row is a VM's wake-up) */
  {"P2 submit+wait within 2x of the futex floor: c-futex / weft >= 0.5", "P2", "submit",
   "c-futex", "pingpong", 1, 0.5},
  {"P2 apply within 2x of the futex floor: c-futex / weft >= 0.5", "P2", "apply", "c-futex",
   "pingpong", 1, 0.5},
  {"P2 submit: python-executor / weft >= 20", "P2", "submit", "python-executor", NULL, 0, 20},
  {"P2 apply: python-pool / weft >= 20", "P2", "apply", "python-pool", NULL, 0, 20},
  {"P3 weft parallel efficiency >= 95%", "P3", "efficiency", NULL, NULL, 0, 95},
};

static void print_pool_targets(const bench_ctx *c) {
  for (size_t i = 0; i < sizeof proc_targets / sizeof proc_targets[0]; i++) {
    const proc_target *t = &proc_targets[i];
    const wb_result *w = bench_find_row(c, t->bench, t->kase, "weft", -1), *p = NULL;
    if (t->peer) p = bench_find_row(c, t->bench, t->peer_kase ? t->peer_kase : t->kase,
                                    t->peer, t->peer_threads ? t->peer_threads : -1);
    if (!w || (t->peer && !p) || w->value <= 0) {
      printf("  %-66s  n/a (no rows)\n", t->what);
      continue;
    }
    double v = p ? p->value / w->value : w->value;
    printf("  %-66s  %8.4g  %s\n", t->what, v, v >= t->goal ? "met" : "MISSED");
  }
}

/* P4: weft's jobs/s >= the better of the two Python rows. */
static void print_p4_target(const bench_ctx *c) {
  static const char *const pythons[] = {"python-threads", "python-asyncio"};
  const wb_result *w = bench_find_row(c, "P4", "true", "weft", (int)c->threads), *best = NULL;
  for (size_t i = 0; i < sizeof pythons / sizeof pythons[0]; i++) {
    const wb_result *p = bench_find_row(c, "P4", "true", pythons[i], (int)c->threads);
    if (p && (!best || p->value > best->value)) best = p;
  }
  const char *what = "P4 jobs/s: weft / Python's best >= 1";
  if (!w || !best || best->value <= 0) {
    printf("  %-66s  n/a (no rows)\n", what);
    return;
  }
  double v = w->value / best->value;
  printf("  %-66s  %8.3g  %s (best: %s)\n", what, v, v >= 1 ? "met" : "MISSED", best->impl);
}

void bench_print_proc_targets(const bench_ctx *c) {
  printf("\nIssue targets (this run; ratios > 1: weft is faster):\n");
  print_pool_targets(c);
  print_p4_target(c);
  bench_print_p5_notes(c);
}
