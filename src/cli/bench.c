/* src/cli/bench.c — `weft bench pool|proc|aio`: weft and its peers side by side.
 *
 *   weft bench pool [--json|--markdown] [--quick] [--reps N] [--threads N]
 *                   [--only B1,B3]
 *   weft bench proc [--json|--markdown] [--quick] [--reps N] [--threads N]
 *                   [--only P1,P2]
 *   weft bench aio  [--json|--markdown] [--quick] [--reps N] [--only A1,A3]
 *                   (bench_aio*.c: servers in processes of their own, a load
 *                   generator in another; A3 in this process)
 *
 *   weft bench run|graph|all ...  (`all`: every suite in turn)
 *
 * `pool` runs B1..B5 (the table `benches` below); `proc` runs P1..P5
 * (`proc_benches`: the process pool against multiprocessing and a C floor,
 * bench_proc_pool.c and bench_proc_latency.c; subprocesses against Python,
 * GNU parallel and xargs, bench_proc.c; process start and worker recycling,
 * bench_proc_start.c). weft's side runs in this process
 * (bench_pool.c, bench_sync.c); each peer — OpenMP, oneTBB, Python — is a
 * separate program (bench/peer_*) run as a child that prints JSON lines
 * (bench_peer.c); bench_report.c prints the table.
 * Every figure is the median of --reps runs (5; 3 with --quick). The output
 * is a table with a "weft x" column, or with --json one JSON object per
 * measurement. The hidden --smoke (or WEFT_BENCH_SMOKE=1) shrinks every size
 * so the test suite can check the harness in a few seconds. */
#include <stdarg.h>

#include "cli/bench.h"
#include "cli/cli.h"

typedef struct bench_def {
  const char *id;
  const char *what;
  int (*run)(bench_ctx *c);
} bench_def;

static const bench_def benches[] = {
  {"B1", "fork-join: naive fib, every call spawns", bench_b1_forkjoin},
  {"B2", "many tiny tasks submitted from outside", bench_b2_tasks},
  {"B3", "data parallel: square, sum of sqrt", bench_b3_data},
  {"B4", "64 coarse tasks, 1 vs N workers", bench_b4_scaling},
  {"B5", "channels, mutex, semaphore", bench_b5_sync},
};

static const bench_def aio_benches[] = {
  {"A1", "TCP echo, 64-byte ping-pong, 1/100/1,000 connections", bench_a1_echo},
  {"A2", "HTTP hello world under wrk -c100", bench_a2_http},
  {"A3", "100,000 tasks spawned and gathered; queue ping-pong; coroutine switch",
   bench_a3_tasks},
};

/* `weft bench graph` (bench_graph.c): lazy task graphs vs dask.delayed */
int bench_g1_graph(bench_ctx *c);
int bench_g2_tree(bench_ctx *c);
void bench_print_graph_targets(const bench_ctx *c);

static const bench_def graph_benches[] = {
  {"G1", "100,000 tiny graph nodes, built and computed", bench_g1_graph},
  {"G2", "1,000-leaf tree reduction: per-node overhead, peak results held", bench_g2_tree},
};

/* The run suite (bench_run.c): `weft run` vs GNU parallel, xargs -P, Python. */
int bench_r1_true(bench_ctx *c);
int bench_r2_echo(bench_ctx *c);
int bench_r3_sleep(bench_ctx *c);
void bench_print_run_targets(const bench_ctx *c);

static const bench_def run_benches[] = {
  {"R1", "2,000 x /bin/true at -j2: vs GNU parallel, xargs -P, Python", bench_r1_true},
  {"R2", "2,000 x echo {} with -k (output checked)", bench_r2_echo},
  {"R3", "200 jobs sleeping 50 ms at -j50: vs the ideal 200 ms", bench_r3_sleep},
};

static const bench_def proc_benches[] = {
  {"P1", "process pool map: square, chunksize 10,000 and 1", bench_p1_map},
  {"P2", "one tiny task's round trip; pipe, futex, spin floors", bench_p2_latency},
  {"P3", "64 coarse tasks on the process pool vs serial", bench_p3_coarse},
  {"P4", "many /bin/true, 2 at a time", bench_p4_proc},
  {"P5", "process start (spawn, fork server, fork) and worker recycling", bench_p5_start},
};

/* A suite: what `weft bench <name>` runs, and the targets it checks. */
typedef struct bench_suite {
  const char *name;
  const bench_def *benches;
  size_t n;
  void (*print_targets)(const bench_ctx *c);
} bench_suite;

static const bench_suite suites[] = {
  {"pool", benches, sizeof benches / sizeof benches[0], bench_print_targets},
  {"proc", proc_benches, sizeof proc_benches / sizeof proc_benches[0],
   bench_print_proc_targets},
  {"aio", aio_benches, sizeof aio_benches / sizeof aio_benches[0], bench_print_aio_targets},
  {"run", run_benches, sizeof run_benches / sizeof run_benches[0], bench_print_run_targets},
  {"graph", graph_benches, sizeof graph_benches / sizeof graph_benches[0],
   bench_print_graph_targets},
};
#define NSUITES (sizeof suites / sizeof suites[0])

static const bench_sizes full_sizes = {
  .fib_n = 30, .tasks = 1000000, .py_tasks = 100000, .elems = 100000000,
  .task_us = 10000, .chan_items = 2000000, .lock_ops = 10000000, .procs = 2000,
  .p1_items = 1000000, .p2_trips = 20000, .p2_py_trips = 2000, .p5_tasks = 2000,
  .p5_py_tasks = 200, .aio_ms = 1000, .aio_runs = 5, .a3_tasks = 100000,
  .a3_trips = 100000, .a3_switches = 10000000};
static const bench_sizes quick_sizes = {
  .fib_n = 27, .tasks = 200000, .py_tasks = 20000, .elems = 20000000,
  .task_us = 2000, .chan_items = 400000, .lock_ops = 2000000, .procs = 500,
  .p1_items = 200000, .p2_trips = 5000, .p2_py_trips = 500, .p5_tasks = 500,
  .p5_py_tasks = 50, .aio_ms = 1000, .aio_runs = 1, .a3_tasks = 100000,
  .a3_trips = 50000, .a3_switches = 2000000};
static const bench_sizes smoke_sizes = {
  .fib_n = 15, .tasks = 2000, .py_tasks = 200, .elems = 100000,
  .task_us = 100, .chan_items = 10000, .lock_ops = 10000, .procs = 20,
  .p1_items = 20000, .p2_trips = 200, .p2_py_trips = 20, .p5_tasks = 20,
  .p5_py_tasks = 10, .aio_ms = 200, .aio_runs = 1, .a3_tasks = 2000, .a3_trips = 2000,
  .a3_switches = 20000};

/* ---- recording results ---- */

/* The field a case's suffix stands for: "<name>_cs<N>" (P1's maps) is
 * "chunksize", "<name>_c<N>" (the aio suite's servers) is "conns"; *num
 * points at N. NULL for other cases. */
static const char *suffix_field(const char *kase, const char **num) {
  const char *u = strrchr(kase, '_');
  if (!u || u[1] != 'c') return NULL;
  const char *d = u[2] == 's' ? u + 3 : u + 2;
  if (!*d || strspn(d, "0123456789") != strlen(d)) return NULL;
  *num = d;
  return u[2] == 's' ? "chunksize" : "conns";
}

/* One JSON line; a case with a suffix (suffix_field) also gets it as a
 * field of its own: "chunksize":N or "conns":N. */
static void print_json(const wb_result *r) {
  const char *num = NULL, *field = suffix_field(r->kase, &num);
  char *line = NULL;
  size_t len = 0;
  FILE *m = field ? open_memstream(&line, &len) : NULL;
  if (!m) {
    wb_print_json(stdout, r);
    return;
  }
  wb_print_json(m, r);
  fclose(m);
  /* the line ends in "}\n": the field goes before the brace */
  if (line && len >= 2) printf("%.*s,\"%s\":%s}\n", (int)(len - 2), line, field, num);
  free(line);
}

void bench_add(bench_ctx *c, wb_result r) {
  if (c->nresults == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 64;
    wb_result *v = realloc(c->results, cap * sizeof *v);
    if (!v) return;  /* out of memory: the row is lost, the run goes on */
    c->results = v;
    c->cap = cap;
  }
  c->results[c->nresults++] = r;
  if (c->json) {
    print_json(&r);
    fflush(stdout);
  }
}

void bench_emit(bench_ctx *c, const char *bench, const char *kase, const char *impl,
                int threads, double value, const char *unit, bool higher_better,
                const char *check) {
  bench_add(c, wb_make(bench, kase, impl, threads, value, unit, higher_better, check));
}

void bench_progress(const bench_ctx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "[bench %5.1fs] ", (double)(wb_now_ns() - c->start_ns) / 1e9);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

double bench_median(const bench_ctx *c, wb_run_fn fn, void *arg, int warmup) {
  return wb_measure(fn, arg, c->reps, warmup);
}

const wb_result *bench_find_row(const bench_ctx *c, const char *bench, const char *kase,
                                const char *impl, int threads) {
  for (size_t i = 0; i < c->nresults; i++) {
    const wb_result *r = &c->results[i];
    if (strcmp(r->bench, bench) == 0 && strcmp(r->kase, kase) == 0 &&
        strcmp(r->impl, impl) == 0 && (threads < 0 || r->threads == threads))
      return r;
  }
  return NULL;
}

void bench_add_speedups(bench_ctx *c, const char *bench, const char *kase) {
  static const char *impls[] = {"weft", "openmp", "tbb"};
  for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++) {
    const wb_result *one = bench_find_row(c, bench, kase, impls[i], 1);
    const wb_result *many = bench_find_row(c, bench, kase, impls[i], (int)c->threads);
    if (one && many && many->value > 0)
      bench_emit(c, bench, "speedup", impls[i], (int)c->threads, one->value / many->value,
                 "x", true, NULL);
  }
}

/* ---- the command ---- */

static void usage(FILE *to) {
  fprintf(to,
          "usage: weft bench pool [--json|--markdown] [--quick] [--reps N] [--threads N]\n"
          "                       [--only B1,B2,...]\n"
          "       weft bench proc [--json|--markdown] [--quick] [--reps N] [--threads N]\n"
          "                       [--only P1,P2,...]\n"
          "  B1 fork-join fib    B2 1e6 tiny tasks    B3 data parallel\n"
          "  B4 coarse scaling   B5 channels and sync\n"
          "  proc: process pool vs Python multiprocessing / concurrent.futures:\n"
          "  P1 map of square, chunksize 10,000 (1e6 items) and 1 (1e5 items)\n"
          "  P2 one tiny task's round trip; C pipe, futex, spin ping-pong floors\n"
          "  P3 64 x 10 ms tasks on 2 processes vs serial\n"
          "  P4 2,000 x /bin/true, 2 at a time: vs Python, GNU parallel, xargs\n"
          "  P5 start+join of a process running an empty function (spawn, fork server,\n"
          "     fork; 200 a run), and 2,000 tiny tasks on a pool with\n"
          "     max_tasks_per_child 1 vs 0: vs Python Process and Pool(maxtasksperchild=1)\n"
          "       weft bench aio [--json|--markdown] [--quick] [--reps N] [--only A1,A2,A3]\n"
          "  aio: coroutines on libuv vs a plain libuv server, asyncio and uvloop:\n"
          "  A1 TCP echo, 64-byte ping-pong, 1/100/1,000 connections (load: bench/aio_load)\n"
          "  A2 HTTP hello world under wrk -t1 -c100 (+ weft's server on 2 loops)\n"
          "  A3 100,000 tasks spawned+gathered, queue ping-pong, coroutine switch\n"
          "  (A1, A2: 5 runs of 1 s per server, round-robin; --quick: 1 run)\n"
          "       weft bench graph [--json|--markdown] [--quick] [--reps N] [--only G1,G2]\n"
          "  graph: lazy task graphs vs dask.delayed (threaded scheduler), ns per node:\n"
          "  G1 100,000 tiny nodes (inc, double, add, neg groups)  G2 1,000-leaf tree sum\n"
          "       weft bench run [--json|--markdown] [--quick] [--reps N] [--only R1,R2,R3]\n"
          "  run: `weft run` vs GNU parallel, xargs -P (and Python for R1):\n"
          "  R1 2,000 x /bin/true at -j2   R2 2,000 x echo {} with -k\n"
          "  R3 200 x sleep 50 ms at -j50 (ideal: 200 ms)\n"
          "       weft bench all [--json|--markdown] [--quick] [--reps N]\n"
          "  all: every suite above in turn (pool, proc, aio, run, graph), one table each\n"
          "  --json     one JSON object per measurement on stdout\n"
          "  --markdown the table as Markdown (for docs/performance.md)\n"
          "  --quick    smaller sizes, 3 runs each (under a minute)\n"
          "peers are looked up in WEFT_BENCH_DIR, <weft dir>/bench or "
          "<prefix>/libexec/weft; WEFT_BENCH_PYTHON picks the Python.\n");
}

static bool selected(const char *only, const char *id) {
  if (!only) return true;
  const char *p = strstr(only, id);
  /* whole ids only: "B1" must not match inside "B10" */
  return p && (p[strlen(id)] == '\0' || p[strlen(id)] == ',');
}

static const bench_suite *find_suite(const char *name) {
  for (size_t i = 0; i < NSUITES; i++)
    if (strcmp(name, suites[i].name) == 0) return &suites[i];
  return NULL;
}

/* "all" runs every suite in turn; it stands for no single suite. */
static const bench_suite all_suites = {"all", NULL, 0, NULL};

static int parse_options(bench_ctx *c, int argc, char **argv, const char **only,
                         const bench_suite **suite) {
  bool quick = false, smoke = getenv("WEFT_BENCH_SMOKE") && atoi(getenv("WEFT_BENCH_SMOKE"));
  int reps = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (find_suite(a)) *suite = find_suite(a);
    else if (strcmp(a, "all") == 0) *suite = &all_suites;
    else if (strcmp(a, "--json") == 0) c->json = true;
    else if (strcmp(a, "--markdown") == 0) c->markdown = true;
    else if (strcmp(a, "--quick") == 0) quick = true;
    else if (strcmp(a, "--smoke") == 0) smoke = true;
    else if (strcmp(a, "--reps") == 0 && i + 1 < argc) reps = atoi(argv[++i]);
    else if (strcmp(a, "--threads") == 0 && i + 1 < argc) c->threads = (unsigned)atoi(argv[++i]);
    else if (strcmp(a, "--only") == 0 && i + 1 < argc) *only = argv[++i];
    else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 1;
    } else {
      fprintf(stderr, "weft bench: unknown argument '%s'\n", a);
      return 2;
    }
  }
  if (!*suite || c->threads < 1 || c->threads > 1024 || reps < 0) {
    usage(stderr);
    return 2;
  }
  c->suite = (*suite)->name;
  c->size = smoke ? smoke_sizes : quick ? quick_sizes : full_sizes;
  c->reps = reps ? reps : smoke ? 1 : quick ? 3 : 5;
  if (c->reps > WB_MAX_REPS) c->reps = WB_MAX_REPS;
  return 0;
}

/* Runs one suite's benchmarks (those `only` selects), prints its table and
 * targets unless --json; 1 if a benchmark failed or a peer disagreed. */
static int run_suite(bench_ctx *c, const bench_suite *suite, const char *only) {
  int failed = 0;
  for (size_t i = 0; i < suite->n; i++) {
    const bench_def *b = &suite->benches[i];
    if (!selected(only, b->id)) continue;
    bench_progress(c, "%s: %s", b->id, b->what);
    if (b->run(c) != 0) failed = 1;
  }
  if (!c->json) {
    bench_print_table(c);
    suite->print_targets(c);
  }
  if (bench_count_mismatches(c)) failed = 1;
  free(c->results);
  c->results = NULL;
  c->nresults = c->cap = 0;
  return failed;
}

int weft_cli_bench(int argc, char **argv) {
  /* weft's own aio servers run in a process of their own (bench_aio.c) */
  if (argc >= 3 && strcmp(argv[1], "aio") == 0 && strcmp(argv[2], "--serve") == 0)
    return bench_aio_serve_main(argc - 3, argv + 3);
  bench_ctx c = {.threads = 2, .start_ns = wb_now_ns()};
  const char *only = NULL;
  const bench_suite *suite = NULL;
  int e = parse_options(&c, argc, argv, &only, &suite);
  if (e) return e == 1 ? 0 : e;
  bench_find_peer_dir(&c);

  int failed = 0;
  if (suite != &all_suites) return run_suite(&c, suite, only);
  for (size_t i = 0; i < NSUITES; i++) {
    bench_ctx one = c;
    one.suite = suites[i].name;
    bench_progress(&one, "suite %s (%zu of %zu)", suites[i].name, i + 1, NSUITES);
    failed |= run_suite(&one, &suites[i], only);
  }
  return failed;
}
