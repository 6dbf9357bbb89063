/* src/executor/inline.c — the serial executor: everything runs at once in
 * the calling thread. The baseline for debugging a parallel program: same
 * calls, same results, one thread.
 *
 * Limitation: the task runs outside any pool task, so a message recorded
 * with weft_task_fail has nowhere to go; codes propagate, messages are "". */
#include <stdlib.h>

#include "executor/executor_internal.h"
#include "pool/map_internal.h"

static unsigned inline_workers(const weft_executor *ex) {
  (void)ex;
  return 1;
}

/* A finished future carrying code (and an optional message). */
static int finished_future(int code, const char *message, weft_future **out) {
  weft_future *f;
  int rc = weft_future_create(&f);
  if (rc) return rc;
  weft_future_start(f);
  weft_future_finish(f, code, NULL, 0, NULL, message);
  *out = f;
  return 0;
}

static int inline_submit(weft_executor *ex, weft_task_fn fn, void *arg, weft_future **out) {
  (void)ex;
  weft_future *f;
  int rc = weft_future_create(&f);
  if (rc) return rc;
  weft_future_start(f);
  rc = fn(arg);
  if (rc > 0) rc = WEFT_ETASK; /* as the pool: tasks return negative codes */
  weft_future_finish(f, rc, NULL, 0, NULL, NULL);
  *out = f;
  return 0;
}

/* Items in order; the first failure stops the map (it is also the lowest). */
static int inline_map(weft_executor *ex, weft_map *m) {
  (void)ex;
  m->failed_index = SIZE_MAX;
  m->message[0] = '\0';
  int rc = weft__map_check(m);
  if (rc) return rc;
  const char *in = m->in;
  char *out = m->out;
  for (size_t i = 0; i < m->n; i++) {
    rc = m->fn(in + i * m->in_size, out ? out + i * m->out_size : NULL, m->ctx);
    if (rc) {
      m->failed_index = i;
      return rc > 0 ? WEFT_ETASK : rc;
    }
  }
  return 0;
}

static int inline_map_async(weft_executor *ex, weft_map *m, weft_future **out) {
  if (weft__map_check(m)) return WEFT_EINVAL; /* bad arguments fail the call */
  return finished_future(inline_map(ex, m), m->message, out);
}

static void inline_destroy(weft_executor *ex) {
  free(ex);
}

static const weft__executor_ops inline_ops = {
  .kind = "inline",
  .workers = inline_workers,
  .submit = inline_submit,
  .map = inline_map,
  .map_async = inline_map_async,
  .destroy = inline_destroy,
};

int weft_executor_inline(weft_executor **out) {
  if (!out) return WEFT_EINVAL;
  weft_executor *ex = malloc(sizeof *ex);
  if (!ex) return WEFT_ENOMEM;
  ex->ops = &inline_ops;
  *out = ex;
  return 0;
}
