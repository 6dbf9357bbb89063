/* weft/pool.h — the thread pool: work stealing, futures, task groups
 * (fork-join), parallel_for / parallel_reduce and the Pool.map family.
 *
 * N workers (default: weft_cpu_count()) each own a work-stealing deque; tasks
 * from outside go through a shared injection queue. Idle workers spin briefly,
 * then park: an idle pool uses no CPU.
 *
 * One thread budget: wherever a function below takes a `weft_pool *`, NULL
 * means "the pool of the calling worker, or else the process-wide default
 * pool" (created on first use with weft_cpu_count() workers). A parallel call
 * made inside a worker runs through the same workers (or inline when they are
 * all busy): nesting never creates threads.
 *
 * Waiting inside a worker (on a group, a future of the same pool, a map)
 * never deadlocks: the waiting worker runs other tasks meanwhile. */
#ifndef WEFT_POOL_H
#define WEFT_POOL_H

#include "weft/core.h"
#include "weft/future.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_pool weft_pool;

/* A task: returns 0, or a negative error code (use weft_task_fail to attach
 * a message). */
typedef int (*weft_task_fn)(void *arg);

typedef struct weft_pool_options {
  unsigned threads;          /* workers; 0 = weft_cpu_count(); at most 1024 */
  const char *name;          /* thread-name prefix ("weft" -> "weft-0", ...) */
  /* Per-worker initializer, run in each worker before it takes work (like
   * Pool(initializer=...)). A non-zero return fails weft_pool_create with
   * that code. May be NULL. */
  int (*init)(void *ctx, unsigned worker);
  /* Per-worker finalizer, run in each worker as it exits. May be NULL. */
  void (*fini)(void *ctx, unsigned worker);
  void *ctx;
  /* How long an idle worker spins before parking, in ns; 0 = default
   * (about 50 µs: waking a parked CPU costs ~5 µs each way). */
  uint64_t spin_ns;
} weft_pool_options;

/* Starts a pool. opts may be NULL for defaults. *out is owned by the caller
 * until weft_pool_destroy. Errors: WEFT_EINVAL (absurd thread count),
 * WEFT_ENOMEM, WEFT_EAGAIN (no threads), or the init callback's code. */
int weft_pool_create(weft_pool **out, const weft_pool_options *opts);

enum weft_shutdown_mode {
  WEFT_SHUTDOWN_DRAIN = 0,  /* run everything queued, then stop */
  WEFT_SHUTDOWN_CANCEL = 1  /* cancel everything queued; running tasks see
                               weft_task_cancelled() and are waited for */
};
/* Stops accepting work (later submits get WEFT_ESHUTDOWN), finishes or
 * cancels queued work per mode, and joins the workers. Idempotent.
 * Must not be called from one of the pool's own workers: WEFT_EDEADLK. */
int weft_pool_shutdown(weft_pool *p, int mode);

/* Shuts down (DRAIN) if not yet, then frees everything. Errors: WEFT_EINVAL
 * (NULL, the process-wide default pool, or a pool destroyed already — a
 * double destroy is detected, not undefined), WEFT_EDEADLK (from a worker of p).
 * A pool created before fork() is unusable in the child: its functions return
 * WEFT_EFORKED there; destroy then only frees memory. */
int weft_pool_destroy(weft_pool *p);

/* The process-wide default pool (created on first call; lives until exit).
 * NULL only when it cannot be created. In a forked child a new one is made. */
weft_pool *weft_pool_default(void);

unsigned weft_pool_size(const weft_pool *p);

/* The calling thread's worker index in its pool, or -1 outside any pool. */
int weft_pool_worker_index(void);
/* The pool the calling thread works for, or NULL. */
weft_pool *weft_pool_current(void);

/* ---- single tasks and futures (concurrent.futures submit, Pool.apply) ---- */

/* Queues fn(arg); *out gets a future (one reference, the caller's).
 * Errors: WEFT_EINVAL (NULL fn or out), WEFT_ENOMEM, WEFT_ESHUTDOWN,
 * WEFT_EFORKED. */
int weft_submit(weft_pool *p, weft_task_fn fn, void *arg, weft_future **out);
/* Pool.apply_async: the same as weft_submit. */
#define weft_apply_async weft_submit
/* Pool.apply: runs fn(arg) on the pool and waits; returns its code. */
int weft_apply(weft_pool *p, weft_task_fn fn, void *arg);

/* ---- inside a task ---- */

/* True when the running task (its future, its group or any enclosing group)
 * was cancelled, or the pool is shutting down with CANCEL. False outside
 * tasks. Cheap: poll it in long loops. */
bool weft_task_cancelled(void);
/* Records a message for the running task's failure and returns code, so a
 * task can `return weft_task_fail(WEFT_EINVAL, "bad row %zu", i);`. Outside a
 * task it only returns code. */
int weft_task_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets the running submitted task's result value (see weft_future_result);
 * the future takes ownership and frees it with value_free (may be NULL). */
void weft_task_set_result(void *value, size_t size, void (*value_free)(void *));

/* ---- task groups: fork-join ---- */

/* Storage for a group, embedded by the caller (usually on the stack) so that
 * fork-join needs no allocation. Fields are private. */
typedef struct weft_group {
  weft_pool *pool;
  struct weft_group *parent;
  uint64_t pending;          /* low 32 bits: unfinished children; high: waiters */
  int error;
  uint32_t cancelled;
  char *message;
  weft_future *future;       /* the enclosing submitted task's, for cancellation */
  uint32_t cache;            /* cancellation state cached per cancel epoch */
  uint32_t reserved;
} weft_group;

/* Prepares a group on pool p (NULL: see top). A group made inside a task is
 * a child of that task's group: cancelling the parent cancels it too. */
void weft_group_init(weft_group *g, weft_pool *p);
/* Runs fn(arg) as a child of the group. If the group has failed or was
 * cancelled, the child is skipped. Errors: WEFT_EINVAL, WEFT_ENOMEM,
 * WEFT_ESHUTDOWN, WEFT_EFORKED. */
int weft_group_spawn(weft_group *g, weft_task_fn fn, void *arg);
/* Waits for every child; a worker runs other tasks meanwhile. Returns 0, or
 * the first child error (the rest of the group was cancelled when it
 * happened), or WEFT_ECANCELED. The group may be reused after wait. */
int weft_group_wait(weft_group *g);
/* Cancels the group: children not yet started are skipped; running ones see
 * weft_task_cancelled(). */
void weft_group_cancel(weft_group *g);
/* Message of the first failure ("" if none). Valid until destroy. */
const char *weft_group_message(const weft_group *g);
/* Frees the message, if any. The group must have been waited for. */
void weft_group_destroy(weft_group *g);

/* ---- data parallelism ---- */

/* Body of a parallel_for over [begin, end): called with sub-ranges. */
typedef int (*weft_range_fn)(size_t begin, size_t end, void *ctx);

/* Runs body over [begin, end) split into chunks of about `grain` indices;
 * grain 0 = automatic (splits adaptively, on demand from idle workers, like
 * TBB's auto partitioner). Every index is covered exactly once. Returns 0 or
 * the first body error (the remaining chunks are skipped). */
int weft_parallel_for(weft_pool *p, size_t begin, size_t end, size_t grain,
                      weft_range_fn body, void *ctx);

/* parallel_reduce: each chunk folds its range into an accumulator of
 * acc_size bytes that starts as a copy of *identity; `join` merges `right`
 * into `left` (it must be associative); the final value lands in *result.
 * Chunk results are joined in index order, so non-commutative joins work.
 * body may be called several times on one accumulator with consecutive
 * ranges: it must fold into *acc, not overwrite it. identity may alias
 * result. Errors: WEFT_EINVAL (NULL body, join, identity or result,
 * acc_size 0, begin > end), WEFT_ENOMEM, or the first body error. */
typedef int (*weft_reduce_fn)(size_t begin, size_t end, void *acc, void *ctx);
typedef void (*weft_join_fn)(void *left, const void *right, void *ctx);
int weft_parallel_reduce(weft_pool *p, size_t begin, size_t end, size_t grain,
                         const void *identity, size_t acc_size,
                         weft_reduce_fn body, weft_join_fn join, void *ctx,
                         void *result);

/* ---- the Pool.map family ---- */

/* Maps one item: reads *in, writes *out (out is NULL when the map has no
 * output array). Returns 0 or an error code (use weft_task_fail). */
typedef int (*weft_map_fn)(const void *in, void *out, void *ctx);

/* A map over n items: item i is at in + i*in_size, its result at
 * out + i*out_size. Pool.starmap is a map whose items are argument structs.
 * On failure, failed_index and message say which item failed and why. */
typedef struct weft_map {
  weft_map_fn fn;
  void *ctx;
  size_t ctx_size;     /* process pool only: bytes at ctx copied to the
                          workers (0 = fn gets NULL); threads pass ctx as is */
  const void *in;
  size_t in_size;
  void *out;           /* may be NULL */
  size_t out_size;
  size_t n;
  size_t chunksize;    /* items per task; 0 = automatic */
  /* filled in by the map: */
  size_t failed_index; /* SIZE_MAX when nothing failed; else the first item
                          to fail in time (not always the lowest index) */
  char message[160];
} weft_map;

/* Pool.map: runs the map and waits; results are in item order. Returns 0 or
 * the first failing item's code (the rest are cancelled). Errors also:
 * WEFT_EINVAL (NULL fn, in_size 0, out_size 0 with out). */
int weft_map_run(weft_pool *p, weft_map *m);
/* Pool.map_async: starts the map; the future finishes when it does, with its
 * code and message. *m must stay alive until then. */
int weft_map_async(weft_pool *p, weft_map *m, weft_future **out);
/* imap_unordered: runs the map and calls on_chunk(begin, end, arg) for each
 * finished chunk, in completion order, always in the calling thread (so the
 * callback needs no locking). A non-zero return from on_chunk stops the map
 * and is returned. */
typedef int (*weft_chunk_fn)(size_t begin, size_t end, void *arg);
int weft_map_stream(weft_pool *p, weft_map *m, weft_chunk_fn on_chunk, void *arg);

/* ---- statistics ---- */

typedef struct weft_worker_stats {
  uint64_t tasks_run;     /* tasks executed by this worker */
  uint64_t tasks_stolen;  /* of those, taken from another worker's deque */
  uint64_t parks;         /* times it went to sleep */
  uint64_t busy_ns;       /* time not idle (running or looking for work) */
  uint64_t idle_ns;       /* time spinning or parked without work */
} weft_worker_stats;

/* Copies up to n workers' statistics into out; returns how many were written
 * via *written. Counters are approximate while the pool runs.
 * Errors: WEFT_EINVAL. */
int weft_pool_stats(const weft_pool *p, weft_worker_stats *out, size_t n, size_t *written);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_POOL_H */
