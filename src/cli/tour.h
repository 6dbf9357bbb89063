/* src/cli/tour.h — what the steps of `weft tour` share (internal to the CLI).
 *
 * A step runs one seed concept on built-in data, checks its own result and
 * fills a tour_out; tour.c prints the table. Steps live in tour_sync.c
 * (threads and sync), tour_pool.c (channels, the Pool.map family),
 * tour_futures.c (futures, executors) and tour_parallel.c (fork-join,
 * parallel_for, parallel_reduce), tour_proc.c (subprocesses), tour_procpool.c
 * (process objects and the process pool) and tour_aio.c (asyncio: tasks,
 * timeouts, groups, queues, streams, subprocesses, to_thread, serve). */
#ifndef WEFT_CLI_TOUR_H
#define WEFT_CLI_TOUR_H

#include <stddef.h>
#include <stdint.h>
#include "weft/weft.h"

#define TOUR_MAX_NOTES 3

typedef struct tour_out {
  char result[64];                 /* what came out, short */
  uint64_t ns;                     /* the weft run */
  uint64_t serial_ns;              /* the serial baseline; 0 = not meaningful */
  char notes[TOUR_MAX_NOTES][160]; /* extra lines under the row */
  int nnotes;
} tour_out;

/* A step returns 0 when its result is right, else non-zero (a WEFT_E* code
 * or 1), having said what went wrong in out->result. */
typedef int (*tour_fn)(tour_out *out);

typedef struct tour_step {
  const char *concept;   /* the seeds' (Python) name for it */
  const char *api;       /* the weft calls that do it */
  tour_fn run;
} tour_step;

/* ---- helpers (tour.c) ---- */

void tour_result(tour_out *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tour_note(tour_out *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Starts n threads running fn(args + i * arg_size) (arg_size 0: all get
 * args itself), joins them all. Returns 0,
 * the first creation error, or the first non-zero thread result. */
int tour_run_threads(unsigned n, weft_thread_fn fn, void *args, size_t arg_size);

/* Runs fn(ctx) `reps` times; the fastest run in *best_ns (machines here are
 * shared, so the minimum is the least noisy figure). Returns the first
 * non-zero fn result, else 0. */
int tour_time_best(int (*fn)(void *ctx), void *ctx, int reps, uint64_t *best_ns);

/* Worker count for thread steps: the usable CPUs, but at least 2 so that
 * every step really runs concurrently. */
unsigned tour_threads(void);

/* ---- the steps ---- */

int tour_threads_lock(tour_out *out);
int tour_thread_objects(tour_out *out);
int tour_semaphore(tour_out *out);
int tour_barrier(tour_out *out);
int tour_event(tour_out *out);
int tour_condition(tour_out *out);

int tour_channel(tour_out *out);
int tour_pool_map(tour_out *out);
int tour_pool_initializer(tour_out *out);
int tour_starmap_apply(tour_out *out);
int tour_async_family(tour_out *out);
int tour_futures(tour_out *out);
int tour_executor(tour_out *out);

int tour_fork_join(tour_out *out);
int tour_parallel_for(tour_out *out);
int tour_parallel_reduce(tour_out *out);

int tour_subprocess(tour_out *out);
int tour_process_objects(tour_out *out);
int tour_process_pool_map(tour_out *out);
int tour_crash_proof_pool(tour_out *out);

int tour_aio_gather(tour_out *out);
int tour_aio_timeouts(tour_out *out);
int tour_aio_group(tour_out *out);
int tour_aio_queue(tour_out *out);
int tour_aio_streams(tour_out *out);
int tour_aio_subprocess(tour_out *out);
int tour_aio_to_thread(tour_out *out);
int tour_aio_serve(tour_out *out);
int tour_graph(tour_out *out);

#endif /* WEFT_CLI_TOUR_H */
