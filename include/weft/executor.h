/* weft/executor.h — one interface for anything that runs work.
 *
 * Map, submit, a task graph: each takes a weft_executor *. Changing where
 * work runs is one argument, like Dask's scheduler= or concurrent.futures'
 * executors. Implemented now: inline (serial, in the calling thread — for
 * debugging and as the baseline) and threads (a weft_pool). Processes and the
 * cluster come with their modules. */
#ifndef WEFT_EXECUTOR_H
#define WEFT_EXECUTOR_H

#include "weft/core.h"
#include "weft/future.h"
#include "weft/pool.h"

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

/* Frees the executor (and its pool, if it owns one, after draining). */
void weft_executor_destroy(weft_executor *ex);

/* "inline", "threads", ... Static string. */
const char *weft_executor_kind(const weft_executor *ex);
/* How many tasks may run at once (1 for inline). */
unsigned weft_executor_workers(const weft_executor *ex);

/* Runs fn(arg); *out gets a future. Errors as weft_submit. */
int weft_executor_submit(weft_executor *ex, weft_task_fn fn, void *arg, weft_future **out);
/* Pool.map through the executor (see weft_map_run). */
int weft_executor_map(weft_executor *ex, weft_map *m);
/* Pool.map_async through the executor. */
int weft_executor_map_async(weft_executor *ex, weft_map *m, weft_future **out);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_EXECUTOR_H */
