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
  /* Releases what the kind owns, then the object itself. */
  void (*destroy)(weft_executor *ex);
} weft__executor_ops;

struct weft_executor {
  const weft__executor_ops *ops;
};

#endif /* WEFT_EXECUTOR_INTERNAL_H */
