/* src/executor/executor_internal.h — the executor vtable. Each kind
 * (inline, threads; later processes, cluster) is one file that fills a
 * weft__executor_ops and embeds struct weft_executor first in its object. */
#ifndef WEFT_EXECUTOR_INTERNAL_H
#define WEFT_EXECUTOR_INTERNAL_H

#include "weft/executor.h"

typedef struct weft__executor_ops {
  const char *kind;
  unsigned (*workers)(const weft_executor *ex);
  int (*submit)(weft_executor *ex, weft_task_fn fn, void *arg, weft_future **out);
  int (*submit_bytes)(weft_executor *ex, weft_proc_fn fn, const void *arg, size_t size,
                      weft_future **out);
  int (*map)(weft_executor *ex, weft_map *m);
  int (*map_async)(weft_executor *ex, weft_map *m, weft_future **out);
  /* Stops the pool the kind owns (mode: enum weft_shutdown_mode); NULL
   * when there is nothing to stop. */
  int (*shutdown)(weft_executor *ex, int mode);
  /* Releases what the kind owns, then the object itself. */
  void (*destroy)(weft_executor *ex);
} weft__executor_ops;

struct weft_executor {
  const weft__executor_ops *ops;
  int shut; /* after weft_executor_shutdown: new work is refused */
};

/* Fills the common part of a new executor. */
static inline void weft__executor_init(weft_executor *ex, const weft__executor_ops *ops) {
  ex->ops = ops;
  ex->shut = 0;
}

/* submit_bytes on the in-process kinds: the task sees a private copy of
 * the bytes, as a worker process would, so a task that writes into its
 * argument behaves the same on every executor. */
typedef struct weft__bytes_call {
  weft_proc_fn fn;
  size_t size;
  unsigned char data[];
} weft__bytes_call;

/* A malloc'ed call holding a copy of the bytes (free() it); NULL when out
 * of memory. */
weft__bytes_call *weft__bytes_call_new(weft_proc_fn fn, const void *arg, size_t size);
/* A weft_task_fn running the call. */
int weft__bytes_call_run(void *call);

#endif /* WEFT_EXECUTOR_INTERNAL_H */
