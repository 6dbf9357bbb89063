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
  weft__task *free_head;   /* recycled tasks */
  uint32_t free_n;
};
extern __thread struct weft__tls weft__tls __attribute__((tls_model("initial-exec")));

weft__task *weft__task_alloc_slow(void);
void weft__task_free_slow(void);
/* Hands this thread's whole free list to the shared stack (worker exit). */
void weft__task_cache_flush(void);

static inline weft__task *weft__task_alloc(void) {
  weft__task *t = weft__tls.free_head;
  if (weft_likely(t)) {
    weft__tls.free_head = t->next;
    weft__tls.free_n--;
    return t;
  }
  return weft__task_alloc_slow();
}

static inline void weft__task_free(weft__task *t) {
  t->next = weft__tls.free_head;
  weft__tls.free_head = t;
  if (weft_unlikely(++weft__tls.free_n > 1024)) weft__task_free_slow();
}

/* Runs one task on worker w (or on a helping thread when w is NULL): sets
 * the thread's current task, runs or skips it, finishes its group or future,
 * frees it. */
void weft__task_run(weft__worker *w, weft__task *t);

#endif /* WEFT_POOL_TASK_H */
