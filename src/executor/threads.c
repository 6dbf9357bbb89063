/* src/executor/threads.c — the threads executor: a weft_pool, borrowed or
 * owned. Every call maps straight onto the pool's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "executor/executor_internal.h"

typedef struct threads_executor {
  weft_executor base; /* first: the public handle */
  weft_pool *pool;
  bool owned;
} threads_executor;

static weft_pool *pool_of(const weft_executor *ex) {
  return ((const threads_executor *)ex)->pool;
}

static unsigned threads_workers(const weft_executor *ex) {
  return weft_pool_size(pool_of(ex));
}

static int threads_submit(weft_executor *ex, weft_task_fn fn, void *arg, weft_future **out) {
  return weft_submit(pool_of(ex), fn, arg, out);
}

/* submit_bytes: the copy of the bytes lives until the future is finished
 * (run, failed or cancelled before it ran), and is freed by a done-callback
 * so that a cancelled task does not leak it. */
static void free_call(weft_future *f, void *arg) {
  (void)f;
  free(arg);
}

static int threads_submit_bytes(weft_executor *ex, weft_proc_fn fn, const void *arg, size_t size,
                                weft_future **out) {
  weft__bytes_call *c = weft__bytes_call_new(fn, arg, size);
  if (!c) return WEFT_ENOMEM;
  weft_future *f;
  int rc = weft_submit(pool_of(ex), weft__bytes_call_run, c, &f);
  if (rc) {
    free(c);
    return rc;
  }
  if (weft_future_on_done(f, free_call, c) != 0) { /* no memory for the callback */
    weft_future_wait(f);
    free(c);
  }
  *out = f;
  return 0;
}

static int threads_map(weft_executor *ex, weft_map *m) {
  return weft_map_run(pool_of(ex), m);
}

static int threads_map_async(weft_executor *ex, weft_map *m, weft_future **out) {
  return weft_map_async(pool_of(ex), m, out);
}

/* A borrowed pool belongs to someone else (often the default pool): only
 * an owned one is stopped. */
static int threads_shutdown(weft_executor *ex, int mode) {
  threads_executor *t = (threads_executor *)ex;
  return t->owned ? weft_pool_shutdown(t->pool, mode) : 0;
}

static void threads_destroy(weft_executor *ex) {
  threads_executor *t = (threads_executor *)ex;
  if (t->owned) weft_pool_destroy(t->pool);
  free(t);
}

static const weft__executor_ops threads_ops = {
  .kind = "threads",
  .workers = threads_workers,
  .submit = threads_submit,
  .submit_bytes = threads_submit_bytes,
  .map = threads_map,
  .map_async = threads_map_async,
  .shutdown = threads_shutdown,
  .destroy = threads_destroy,
};

static int make(weft_executor **out, weft_pool *p, bool owned) {
  threads_executor *t = malloc(sizeof *t);
  if (!t) return WEFT_ENOMEM;
  weft__executor_init(&t->base, &threads_ops);
  t->pool = p;
  t->owned = owned;
  *out = &t->base;
  return 0;
}

int weft_executor_threads(weft_executor **out, weft_pool *p) {
  if (!out) return WEFT_EINVAL;
  if (!p) p = weft_pool_default();
  if (!p) return WEFT_ENOMEM;
  return make(out, p, false);
}

int weft_executor_threads_new(weft_executor **out, unsigned threads) {
  if (!out) return WEFT_EINVAL;
  weft_pool *p;
  int rc = weft_pool_create(&p, &(weft_pool_options){.threads = threads});
  if (rc) return rc;
  rc = make(out, p, true);
  if (rc) weft_pool_destroy(p);
  return rc;
}
