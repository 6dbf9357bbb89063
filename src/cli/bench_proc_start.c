/* src/cli/bench_proc_start.c — P5 (`weft bench proc`): what it costs to
 * start a process that runs a function, and to recycle pool workers.
 *
 *   start     one process at a time runs an empty function; us per process
 *             (start + join + destroy, over p5_tasks / 10 processes a run):
 *               weft    weft_process_start + weft_process_join, cases
 *                       start_spawn, start_forkserver, start_fork
 *               python  multiprocessing.Process(target=f).start() + join()
 *                       with the same three start methods
 *                       (peer_python_start.py)
 *               c-fork  the floor under start_fork: fork() + _exit(0) +
 *                       waitpid in this process
 *   recycle   p5_tasks tiny tasks (an int64 in, plus one back, checked)
 *             submitted at once to a pool of THREADS processes, then all
 *             waited; us per task:
 *               case recycle     max_tasks_per_child = 1: every task ends
 *                                its worker and a new one replaces it
 *               case no_recycle  max_tasks_per_child = 0: the same workers
 *               case recycle_cost  recycle / no_recycle (x, lower better)
 *               weft    weft_ppool_submit + weft_future_wait_all, the
 *                       pool's default start (the fork server)
 *               python-fork, python-forksrv  Pool(THREADS,
 *                       maxtasksperchild=1 or None).apply_async + get
 *                       (p5_py_tasks tasks: a Python worker start costs
 *                       milliseconds)
 *
 * The claim is that a recycled worker is a fork of a small
 * single-threaded template, not a program start, so maxtasksperchild=1 stays
 * cheap; the pool's counters are checked to be sure recycling happened. */
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft/future.h"
#include "weft/proc.h"
#include "cli/bench.h"

static int p5_empty(const void *arg, size_t size) {
  (void)arg;
  (void)size;
  return 0;
}

/* The first failure of a measurement, reported once. */
static void p5_fail(int *err, int e, const char *what, const char *msg) {
  if (*err) return;
  *err = e ? e : WEFT_ESYSTEM;
  fprintf(stderr, "weft bench: P5 %s: %s%s%s\n", what, weft_strerror(*err),
          msg && *msg ? ": " : "", msg ? msg : "");
}

/* ---- start: one process at a time ---- */

typedef struct p5_start {
  int method;            /* enum weft_start_method */
  const char *what;
  size_t n;              /* processes per run */
  int err;
} p5_start;

static double start_once(void *arg) {
  p5_start *r = arg;
  weft_process_opts o = {.start_method = r->method};
  uint64_t t0 = wb_now_ns();
  for (size_t i = 0; i < r->n && !r->err; i++) {
    weft_process *p = NULL;
    int code = -1, e = weft_process_start(&p, p5_empty, NULL, 0, &o);
    if (!e) e = weft_process_join(p, WEFT_FOREVER);
    if (!e) e = weft_process_exitcode(p, &code, NULL);
    /* the empty function returns 0: anything else means it did not run */
    if (!e && code != 0) e = WEFT_ESYSTEM;
    if (e) p5_fail(&r->err, e, r->what, p ? weft_process_message(p) : "");
    weft_process_destroy(p);
  }
  return (double)(wb_now_ns() - t0) / 1e3 / (double)r->n;
}

/* The floor under start_fork: fork() + _exit(0) + waitpid, nothing else. */
static double c_fork_once(void *arg) {
  p5_start *r = arg;
  uint64_t t0 = wb_now_ns();
  for (size_t i = 0; i < r->n && !r->err; i++) {
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    int status = 0;
    if (pid < 0) p5_fail(&r->err, -errno, r->what, "fork");
    while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (pid > 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
      p5_fail(&r->err, WEFT_ESYSTEM, r->what, "the child failed");
  }
  return (double)(wb_now_ns() - t0) / 1e3 / (double)r->n;
}

static int p5_starts(bench_ctx *c) {
  static const struct { int method; const char *kase; } methods[] = {
    {WEFT_START_SPAWN, "start_spawn"},
    {WEFT_START_FORKSERVER, "start_forkserver"},
    {WEFT_START_FORK, "start_fork"},
  };
  size_t n = c->size.p5_tasks / 10 ? c->size.p5_tasks / 10 : 1;
  int failed = 0;
  for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
    p5_start r = {.method = methods[i].method, .what = methods[i].kase, .n = n};
    bench_progress(c, "P5 weft: %zu x weft_process_start + join, %s", n, methods[i].kase);
    /* the warm-up run also starts the fork server (once per program) */
    double v = bench_median(c, start_once, &r, 1);
    if (r.err) failed = 1;
    else bench_emit(c, "P5", methods[i].kase, "weft", 1, v, "us", false, NULL);
  }
  p5_start r = {.what = "c-fork", .n = n};
  bench_progress(c, "P5 c-fork: %zu x fork + _exit + waitpid", n);
  double v = bench_median(c, c_fork_once, &r, 1);
  if (!r.err) bench_emit(c, "P5", "start_fork", "c-fork", 1, v, "us", false, NULL);
  return failed | (r.err != 0);
}

/* ---- recycle: many tiny tasks on a pool, with and without recycling ---- */

typedef struct p5_pool {
  weft_ppool *pool;
  unsigned max_tasks;    /* the pool's max_tasks_per_child */
  size_t n;
  weft_future **fs;
  int err;
} p5_pool;

/* Checks every result (i + 1) and releases the futures. */
static void pool_collect(p5_pool *r, size_t submitted) {
  for (size_t i = 0; i < submitted; i++) {
    void *val = NULL;
    size_t size = 0;
    int64_t got = -1;
    int e = weft_future_result(r->fs[i], &val, &size);
    if (e) p5_fail(&r->err, e, "task", weft_future_message(r->fs[i]));
    else if (size == sizeof got) memcpy(&got, val, sizeof got);
    if (!e && got != (int64_t)i + 1) p5_fail(&r->err, WEFT_ESYSTEM, "task", "wrong result");
    weft_future_release(r->fs[i]);
  }
}

static uint64_t workers_started(const p5_pool *r) {
  weft_ppool_stats s = {0};
  weft_ppool_stats_get(r->pool, &s);
  return s.workers_started;
}

static double pool_once(void *arg) {
  p5_pool *r = arg;
  uint64_t started = workers_started(r);
  size_t submitted = 0;
  uint64_t t0 = wb_now_ns();
  for (; submitted < r->n && !r->err; submitted++) {
    int64_t v = (int64_t)submitted;
    int e = weft_ppool_submit(r->pool, bench_proc_tiny, &v, sizeof v, NULL, &r->fs[submitted]);
    if (e) {
      p5_fail(&r->err, e, "weft_ppool_submit", "");
      break;
    }
  }
  int e = weft_future_wait_all(r->fs, submitted, WEFT_FOREVER);
  double us = (double)(wb_now_ns() - t0) / 1e3 / (double)r->n;
  if (e) p5_fail(&r->err, e, "weft_future_wait_all", "");
  pool_collect(r, submitted);
  /* recycling must really have happened (n tasks need n workers, two of
   * which were already up), and must not happen without it */
  uint64_t fresh = workers_started(r) - started;
  if (r->max_tasks == 1 && fresh + weft_ppool_size(r->pool) < r->n)
    p5_fail(&r->err, WEFT_ESYSTEM, "recycle", "fewer workers started than tasks");
  if (r->max_tasks == 0 && fresh != 0)
    p5_fail(&r->err, WEFT_ESYSTEM, "no_recycle", "workers were replaced");
  return us;
}

/* Measures one pool; 0 or 1. *out gets us per task. */
static int p5_pool_case(bench_ctx *c, unsigned max_tasks, double *out) {
  p5_pool r = {.max_tasks = max_tasks, .n = c->size.p5_tasks};
  weft_ppool_options o = {.processes = c->threads, .max_tasks_per_child = max_tasks,
                          .name = "weft-bench"};
  r.fs = calloc(r.n, sizeof *r.fs);
  int e = r.fs ? weft_ppool_create(&r.pool, &o) : WEFT_ENOMEM;
  if (e) p5_fail(&r.err, e, "weft_ppool_create", "");
  if (!r.err) {
    bench_progress(c, "P5 weft: %zu x weft_ppool_submit + wait all, max_tasks_per_child %u",
                   r.n, max_tasks);
    *out = bench_median(c, pool_once, &r, 1);
    weft_ppool_stats s = {0};
    weft_ppool_stats_get(r.pool, &s);
    bench_progress(c, "P5 weft: the pool started %" PRIu64 " workers in all",
                   s.workers_started);
  }
  weft_ppool_destroy(r.pool);
  free(r.fs);
  return r.err != 0;
}

static int p5_recycle(bench_ctx *c) {
  double recycled = 0, plain = 0;
  int th = (int)c->threads;
  int failed = p5_pool_case(c, 1, &recycled);
  if (!failed) bench_emit(c, "P5", "recycle", "weft", th, recycled, "us", false, NULL);
  failed |= p5_pool_case(c, 0, &plain);
  if (!failed) {
    bench_emit(c, "P5", "no_recycle", "weft", th, plain, "us", false, NULL);
    bench_emit(c, "P5", "recycle_cost", "weft", th, recycled / plain, "x", false, NULL);
  }
  return failed;
}

int bench_p5_start(bench_ctx *c) {
  /* starts first: WEFT_START_FORK wants no other threads in this process,
   * and each pool has a manager thread while it lives */
  int failed = p5_starts(c);
  failed |= p5_recycle(c);
  bench_peer(c, "peer_python_start.py", "P5", c->size.p5_py_tasks, c->threads);
  return failed;
}

/* No target for P5 beyond "cheap": the figures that say how cheap. A row
 * with a peer is peer / weft (> 1: weft is faster); without, weft's own. */
void bench_print_p5_notes(const bench_ctx *c) {
  static const char *const rows[][3] = {
    {"P5 recycling cost, weft: recycle / no_recycle", "recycle_cost", NULL},
    {"P5 recycle: python-fork / weft", "recycle", "python-fork"},
    {"P5 recycle: python-forksrv / weft", "recycle", "python-forksrv"},
    {"P5 start_forkserver: python / weft", "start_forkserver", "python"},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    const wb_result *w = bench_find_row(c, "P5", rows[i][1], "weft", -1), *p = NULL;
    if (rows[i][2]) p = bench_find_row(c, "P5", rows[i][1], rows[i][2], -1);
    if (!w || (rows[i][2] && !p) || w->value <= 0) continue;
    printf("  %-66s  %8.4g  (no target)\n", rows[i][0], p ? p->value / w->value : w->value);
  }
}
