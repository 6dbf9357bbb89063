/* src/cli/bench.h — `weft bench`: what the benchmark files share.
 *
 * bench.c         the command: options, sizes, the table of benchmarks, results
 * bench_peer.c    running the peers (child processes printing JSON lines)
 * bench_report.c  the table, the cross-checks, the targets
 * bench_pool.c    B1–B4: fork-join, many tasks, data parallel, coarse scaling
 * bench_sync.c    B5: channels, mutex, semaphore
 * bench_proc.c    P4 (`weft bench proc`): many short subprocesses; the
 *                 proc suite's targets
 * bench_proc_pool.c     P1 map, P3 coarse tasks on the process pool
 * bench_proc_latency.c  P2 one task's round trip; pipe and futex floors
 * bench_proc_start.c    P5 process start (spawn, fork server, fork) and
 *                       pool worker recycling (max_tasks_per_child = 1)
 * bench_aio*.c    A1-A3 (`weft bench aio`): servers, load, tasks and queues
 *                 (bench_aio.h)
 *
 * Every weft measurement and every peer runs the loop bodies of
 * bench/common.h, so only the scheduling differs between rows. */
#ifndef WEFT_CLI_BENCH_H
#define WEFT_CLI_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../bench/common.h"

/* Problem sizes; --quick and --smoke shrink them. */
typedef struct bench_sizes {
  int fib_n;             /* B1: fib(n) */
  size_t tasks;          /* B2: tiny tasks for weft, OpenMP, oneTBB */
  size_t py_tasks;       /* B2: through ThreadPoolExecutor (dask gets a tenth) */
  size_t elems;          /* B3: array length */
  unsigned task_us;      /* B4: compute per task, microseconds (64 tasks) */
  size_t chan_items;     /* B5: items through a channel */
  size_t lock_ops;       /* B5: lock/unlock pairs, sem post/wait pairs */
  size_t procs;          /* P4: runs of /bin/true */
  size_t p1_items;       /* P1: items at chunksize 10,000 (a tenth at 1) */
  size_t p2_trips;       /* P2: round trips per run, weft and the C floors */
  size_t p2_py_trips;    /* P2: round trips per run, Python */
  size_t p5_tasks;       /* P5: tasks per recycling run (a tenth: starts per run) */
  size_t p5_py_tasks;    /* P5: the same for Python (a fifth: starts per run) */
  unsigned aio_ms;       /* A1: milliseconds of load per run (A2: rounded up to s) */
  int aio_runs;          /* A1, A2: runs per server and connection count */
  size_t a3_tasks;       /* A3: tasks spawned and gathered per run */
  size_t a3_trips;       /* A3: queue round trips per run */
  size_t a3_switches;    /* A3: coroutine resume+yield pairs per run */
} bench_sizes;

typedef struct bench_ctx {
  const char *suite;     /* "pool" or "proc": the table's title */
  bench_sizes size;
  int reps;              /* runs per measurement; the median is reported */
  unsigned threads;      /* the "many threads" count (default 2) */
  bool json;
  bool markdown;         /* the table as Markdown */
  uint64_t start_ns;     /* for the elapsed time in progress lines */
  char peer_dir[4200];   /* where peer_omp, peer_tbb, peer_python.py live */
  char skipped[512];     /* peers that could not run, for the table's footer */
  wb_result *results;    /* everything measured, in order */
  size_t nresults, cap;
} bench_ctx;

/* Records a measurement (and prints it at once in --json mode). */
void bench_add(bench_ctx *c, wb_result r);
/* Shorthand for bench_add of a weft-side measurement. */
void bench_emit(bench_ctx *c, const char *bench, const char *kase, const char *impl,
                int threads, double value, const char *unit, bool higher_better,
                const char *check);
/* "which benchmark is running" on stderr. */
void bench_progress(const bench_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Runs a peer (peer_omp, peer_tbb, peer_python.py) for one benchmark and
 * records its JSON lines. A missing or failing peer is reported on stderr
 * as skipped; returns 0 either way so the run goes on. */
int bench_peer(bench_ctx *c, const char *peer, const char *bench, uint64_t size,
               unsigned threads);
/* Adds a "speedup" row (time on 1 thread / time on c->threads) for each
 * implementation that has both rows of bench/kase. */
void bench_add_speedups(bench_ctx *c, const char *bench, const char *kase);
/* Median over c->reps runs of fn(arg), after `warmup` untimed runs. */
double bench_median(const bench_ctx *c, wb_run_fn fn, void *arg, int warmup);

/* The first row of bench/kase/impl with `threads` threads (any when < 0). */
const wb_result *bench_find_row(const bench_ctx *c, const char *bench, const char *kase,
                                const char *impl, int threads);
/* Sets c->peer_dir (see bench_peer.c). */
void bench_find_peer_dir(bench_ctx *c);
/* Output (bench_report.c): the table, the targets; mismatching checks are
 * reported on stderr and counted. */
void bench_print_table(const bench_ctx *c);
void bench_print_targets(const bench_ctx *c);
int bench_count_mismatches(const bench_ctx *c);

/* One function per benchmark; 0 or 1 (failure of weft itself). */
int bench_b1_forkjoin(bench_ctx *c);
int bench_b2_tasks(bench_ctx *c);
int bench_b3_data(bench_ctx *c);
int bench_b4_scaling(bench_ctx *c);
int bench_b5_sync(bench_ctx *c);
int bench_p1_map(bench_ctx *c);
int bench_p2_latency(bench_ctx *c);
int bench_p3_coarse(bench_ctx *c);
int bench_p4_proc(bench_ctx *c);
int bench_p5_start(bench_ctx *c);
/* The tiny process-pool task of P2 and P5: an int64 in, the same plus one
 * back as its result. */
int bench_proc_tiny(const void *arg, size_t size);
/* The `proc` suite's targets (P1-P3 against Python and the floors, P4 >=
 * Python's best), checked against this run. */
void bench_print_proc_targets(const bench_ctx *c);
/* P5 has no target: its recycling cost and ratios, printed with them. */
void bench_print_p5_notes(const bench_ctx *c);
/* The aio suite (bench_aio.c): A1 echo, A2 HTTP, A3 tasks and queues; its
 * ratio tables and targets; the hidden `weft bench aio --serve KIND PORT`
 * that runs weft's own servers in a process of their own. */
int bench_a1_echo(bench_ctx *c);
int bench_a2_http(bench_ctx *c);
int bench_a3_tasks(bench_ctx *c);
void bench_print_aio_targets(const bench_ctx *c);
int bench_aio_serve_main(int argc, char **argv);

#endif /* WEFT_CLI_BENCH_H */
