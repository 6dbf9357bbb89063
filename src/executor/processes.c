/* src/executor/processes.c — the processes executor: a weft_ppool, borrowed
 * or owned. Only bytes cross to a worker process, so submit (a plain
 * pointer) is refused and submit_bytes / map carry the work. */
#include <stdlib.h>

#include "executor/executor_internal.h"

typedef struct processes_executor {
  weft_executor base; /* first: the public handle */
  weft_ppool *pool;
  bool owned;
} processes_executor;

static weft_ppool *pool_of(const weft_executor *ex) {
  return ((const processes_executor *)ex)->pool;
}

static unsigned processes_workers(const weft_executor *ex) {
  return weft_ppool_size(pool_of(ex));
}

/* A pointer means nothing in another address space. */
static int processes_submit(weft_executor *ex, weft_task_fn fn, void *arg, weft_future **out) {
  (void)ex, (void)fn, (void)arg, (void)out;
  return WEFT_EINVAL;
}

static int processes_submit_bytes(weft_executor *ex, weft_proc_fn fn, const void *arg,
                                  size_t size, weft_future **out) {
  return weft_ppool_submit(pool_of(ex), fn, arg, size, NULL, out);
}

static int processes_map(weft_executor *ex, weft_map *m) {
  return weft_ppool_map(pool_of(ex), m);
}

static int processes_map_async(weft_executor *ex, weft_map *m, weft_future **out) {
  return weft_ppool_map_async(pool_of(ex), m, out);
}

static int processes_shutdown(weft_executor *ex, int mode) {
  processes_executor *t = (processes_executor *)ex;
  return t->owned ? weft_ppool_shutdown(t->pool, mode) : 0;
}

static void processes_destroy(weft_executor *ex) {
  processes_executor *t = (processes_executor *)ex;
  if (t->owned) weft_ppool_destroy(t->pool); /* drains first */
  free(t);
}

static const weft__executor_ops processes_ops = {
  .kind = "processes",
  .workers = processes_workers,
  .submit = processes_submit,
  .submit_bytes = processes_submit_bytes,
  .map = processes_map,
  .map_async = processes_map_async,
  .shutdown = processes_shutdown,
  .destroy = processes_destroy,
};

static int make(weft_executor **out, weft_ppool *p, bool owned) {
  processes_executor *t = malloc(sizeof *t);
  if (!t) return WEFT_ENOMEM;
  weft__executor_init(&t->base, &processes_ops);
  t->pool = p;
  t->owned = owned;
  *out = &t->base;
  return 0;
}

int weft_executor_processes(weft_executor **out, weft_ppool *p) {
  if (!out || !p) return WEFT_EINVAL;
  return make(out, p, false);
}

int weft_executor_processes_new(weft_executor **out, unsigned processes) {
  if (!out) return WEFT_EINVAL;
  weft_ppool *p;
  int rc = weft_ppool_create(&p, &(weft_ppool_options){.processes = processes});
  if (rc) return rc;
  rc = make(out, p, true);
  if (rc) weft_ppool_destroy(p);
  return rc;
}
