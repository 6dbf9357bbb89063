/* weft/executor.h — one interface for anything that runs work.
 *
 * Map, submit, a task graph: each takes a weft_executor *. Changing where
 * work runs is one argument, like Dask's scheduler= or concurrent.futures'
 * executors. Kinds: inline (serial, in the calling thread — for debugging
 * and as the baseline), threads (a weft_pool) and processes (a weft_ppool).
 *
 * What crosses to a process must be bytes: weft_executor_map (a weft_map is
 * bytes in, bytes out) and weft_executor_submit_bytes work on every kind, so
 * code written with them moves from threads to processes by changing the
 * executor. weft_executor_submit passes a plain pointer, which only threads
 * and inline can honour. */
#ifndef WEFT_EXECUTOR_H
#define WEFT_EXECUTOR_H

#include "weft/core.h"
#include "weft/future.h"
#include "weft/pool.h"
#include "weft/proc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_executor weft_executor;

/* Serial executor: submit runs the task at once in the caller and returns a
 * finished future. Errors: WEFT_EINVAL, WEFT_ENOMEM. */
int weft_executor_inline(weft_executor **out);

/* Threads executor over pool p (NULL: the default pool; not owned, must
 * outlive the executor). Errors: WEFT_EINVAL, WEFT_ENOMEM. */
int weft_executor_threads(weft_executor **out, weft_pool *p);

/* Threads executor that owns a new pool of `threads` workers (0 = usable
 * CPUs), destroyed with the executor. Errors: as weft_pool_create. */
int weft_executor_threads_new(weft_executor **out, unsigned threads);

/* Processes executor over process pool p (not owned, must outlive the
 * executor). Errors: WEFT_EINVAL, WEFT_ENOMEM. */
int weft_executor_processes(weft_executor **out, weft_ppool *p);

/* Processes executor that owns a new pool of `processes` workers (0 =
 * usable CPUs, default options), destroyed with the executor.
 * Errors: as weft_ppool_create. */
int weft_executor_processes_new(weft_executor **out, unsigned processes);

/* Makes an executor from a name: "inline", "threads", "threads:N",
 * "processes", "processes:N" (N workers; 0 or none = usable CPUs). A NULL
 * or empty spec reads WEFT_EXECUTOR from the environment, and means
 * "threads" when that is unset too: a program switches where its work runs
 * without recompiling (WEFT_EXECUTOR=processes:4 ./app).
 * Errors: WEFT_EINVAL (unknown name, bad count; *out = NULL), and those of
 * the kind's constructor. */
int weft_executor_create(weft_executor **out, const char *spec);

/* Stops taking work: later submits and maps return WEFT_ESHUTDOWN. A pool
 * the executor owns is shut down with `mode` (enum weft_shutdown_mode:
 * DRAIN runs what is queued, CANCEL cancels it); a borrowed pool is left
 * running for its owner. Futures already handed out finish as usual: wait
 * for them, or use weft_as_completed (future.h) to take results in the
 * order they finish, on every kind. WEFT_EINVAL for a bad mode. */
int weft_executor_shutdown(weft_executor *ex, int mode);

/* Frees the executor (and its pool, if it owns one, after draining). */
void weft_executor_destroy(weft_executor *ex);

/* "inline", "threads", ... Static string. */
const char *weft_executor_kind(const weft_executor *ex);
/* How many tasks may run at once (1 for inline). */
unsigned weft_executor_workers(const weft_executor *ex);

/* Runs fn(arg); *out gets a future. Errors as weft_submit; on a processes
 * executor WEFT_EINVAL (a pointer cannot cross: use submit_bytes). */
int weft_executor_submit(weft_executor *ex, weft_task_fn fn, void *arg, weft_future **out);
/* Runs fn(arg, size) on any kind; the bytes are copied before the call
 * returns (a thread gets a pointer to the copy, a process its own copy).
 * The future's value is what the task set with weft_task_set_result.
 * Errors as weft_ppool_submit. */
int weft_executor_submit_bytes(weft_executor *ex, weft_proc_fn fn, const void *arg, size_t size,
                               weft_future **out);
/* Pool.map through the executor (see weft_map_run). */
int weft_executor_map(weft_executor *ex, weft_map *m);
/* Pool.map_async through the executor. */
int weft_executor_map_async(weft_executor *ex, weft_map *m, weft_future **out);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_EXECUTOR_H */
