/* src/pool/task.h — the task record and its allocator, plus the thread-local
 * state every pool file shares (the calling worker, the running task).
 *
 * Tasks are small records recycled through per-thread free lists: spawning
 * never calls malloc on the hot path. A task freed on another thread simply
 * joins that thread's list; lists that grow too long hand a batch back to a
 * process-wide lock-free stack, where threads that only produce (outside
 * threads feeding a pool) refill from. Task memory comes from slabs that are
 * never returned to the system (it is reused), so a task pointer never
 * dangles, even across pool lifetimes. */
#ifndef WEFT_POOL_TASK_H
#define WEFT_POOL_TASK_H

#include "core/internal.h"
#include "weft/pool.h"

typedef struct weft__task weft__task;
typedef struct weft__worker weft__worker;

struct weft__task {
  weft__task *next;        /* free list / injection overflow list */
  weft_task_fn fn;
  void *arg;
  weft_group *group;       /* NULL: a submitted task, finished through future */
  weft_future *future;
  char *msg;               /* weft_task_fail's message (owned), or NULL */
  void *value;             /* weft_task_set_result (submitted tasks only) */
  size_t size;
  void (*value_free)(void *);
};

/* Thread-local state. initial-exec: the library is built -fPIC, and the
 * default (global-dynamic) model would call __tls_get_addr on every spawn. */
struct weft__tls {
  weft__worker *worker;    /* the worker this thread is, or NULL */
  weft__task *task;        /* the task running on this thread, or NULL */
  weft__task *free_head;   /* recycled tasks, most recently freed first */
  weft__task *free_tail;   /* its last node, so it can be handed on in O(1) */
  uint32_t free_n;         /* its length (at most FREE_MAX + 1) */
  weft__task *reserve;     /* a chain taken from the shared stack or a new
                              slab: used when free_head is empty; not counted,
                              since counting would walk (and miss on) it all */
};
extern __thread struct weft__tls weft__tls __attribute__((tls_model("initial-exec")));

weft__task *weft__task_alloc_slow(void);
void weft__task_free_slow(void);
/* Hands this thread's whole free list to the shared stack (worker exit). */
void weft__task_cache_flush(void);

/* Tasks a thread keeps for reuse before handing the surplus on. */
#define WEFT__FREE_MAX 1024

static inline weft__task *weft__task_alloc(void) {
  weft__task *t = weft__tls.free_head;
  if (weft_likely(t)) {
    weft__tls.free_head = t->next;
    weft__tls.free_n--;
    return t;
  }
  t = weft__tls.reserve;
  if (weft_likely(t)) {
    /* A producer-only thread (outside threads feeding a pool) lives here:
     * its tasks were last touched by the workers that freed them, so start
     * fetching the next one now rather than miss on it at the next spawn. */
    weft__tls.reserve = t->next;
    if (t->next) __builtin_prefetch(t->next, 1);
    return t;
  }
  return weft__task_alloc_slow();
}

static inline void weft__task_free(weft__task *t) {
  t->next = weft__tls.free_head;
  if (!t->next) weft__tls.free_tail = t;
  weft__tls.free_head = t;
  if (weft_unlikely(++weft__tls.free_n > WEFT__FREE_MAX)) weft__task_free_slow();
}

/* Runs one task on worker w (or on a helping thread when w is NULL): sets
 * the thread's current task, runs or skips it, finishes its group or future,
 * frees it. */
void weft__task_run(weft__worker *w, weft__task *t);

/* The worker's main loop runs tasks through this. A group task that
 * succeeds without a message is not counted down at once: the worker
 * collects such completions for one group and counts them down together
 * when it runs a task of another kind, goes idle, or helps in a wait
 * (weft__task_flush_deferred). With one outside thread spawning many tiny
 * tasks into a group, this takes the group's counter out of a cache-line
 * ping-pong between producer and workers. Safe because a group's waiter
 * needs its count at zero, and a worker only holds completions back while
 * it is busy with more tasks of that same group or about to flush. */
void weft__task_run_top(weft__worker *w, weft__task *t);
void weft__task_flush_deferred(weft__worker *w);

#endif /* WEFT_POOL_TASK_H */
