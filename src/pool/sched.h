/* src/pool/sched.h — what the scheduler core (pool.c, deque, workers, groups)
 * offers the rest of src/pool (parallel_for, reduce, maps) and src/executor.
 * Internal: not installed. */
#ifndef WEFT_POOL_SCHED_H
#define WEFT_POOL_SCHED_H

#include "weft/pool.h"

/* Resolves the "NULL pool" rule: p itself, else the calling worker's pool,
 * else the process-wide default pool. NULL only if the default pool cannot
 * be created. */
weft_pool *weft__pool_resolve(weft_pool *p);

/* True when splitting work further is worth it for a task running on a
 * worker of p: the calling worker's own deque is empty (nothing stealable
 * left) and some worker of p is idle or looking for work. Used by the
 * adaptive (grain 0) partitioner. Cheap: two relaxed loads. False when the
 * caller is not a worker of p. */
bool weft__pool_wants_work(weft_pool *p);

/* 0 if the pool accepts work, else WEFT_ESHUTDOWN or WEFT_EFORKED. */
int weft__pool_check(const weft_pool *p);

/* Runs fn(arg) at once in the calling thread as a submitted task would run:
 * weft_task_fail, weft_task_set_result and weft_task_cancelled work inside
 * it, and f (pending, created by the caller, who keeps its reference) is
 * started and finished with the task's code, message and value — or
 * cancelled without running if it was cancelled already. The serial
 * executor runs everything through this. Errors: WEFT_ENOMEM. */
int weft__task_run_here(weft_task_fn fn, void *arg, weft_future *f);

#endif /* WEFT_POOL_SCHED_H */
