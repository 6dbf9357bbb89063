/* src/executor/inline.c — the serial executor: everything runs at once in
 * the calling thread. The baseline for debugging a parallel program: same
 * calls, same results, one thread.
 * Tasks run as pool tasks would (src/pool/sched.h: weft__task_run_here), so
 * weft_task_fail messages and weft_task_set_result values arrive as with
 * the threads executor. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "executor/executor_internal.h"
#include "pool/map_internal.h"
#include "pool/sched.h"

static unsigned inline_workers(const weft_executor *ex) {
  (void)ex;
  return 1;
}

static int inline_submit(weft_executor *ex, weft_task_fn fn, void *arg, weft_future **out) {
  (void)ex;
  if (!fn || !out) return WEFT_EINVAL;
  weft_future *f;
  int rc = weft_future_create(&f);
  if (rc) return rc;
  if ((rc = weft__task_run_here(fn, arg, f)) != 0) {
    weft_future_release(f);
    return rc;
  }
  *out = f;
  return 0;
}

static int inline_submit_bytes(weft_executor *ex, weft_proc_fn fn, const void *arg, size_t size,
                               weft_future **out) {
  (void)ex;
  weft__bytes_call *c = weft__bytes_call_new(fn, arg, size);
  if (!c) return WEFT_ENOMEM;
  weft_future *f;
  int rc = weft_future_create(&f);
  if (!rc && (rc = weft__task_run_here(weft__bytes_call_run, c, f)) != 0) weft_future_release(f);
  free(c);
  if (!rc) *out = f;
  return rc;
}

/* The whole map is one task, so an item's weft_task_fail message lands on
 * that task and from there in m->message. Items run in order; the first
 * failure stops the map (it is also the lowest index). */
static int map_items(void *arg) {
  weft_map *m = arg;
  const char *in = m->in;
  char *out = m->out;
  for (size_t i = 0; i < m->n; i++) {
    int rc = m->fn(in + i * m->in_size, out ? out + i * m->out_size : NULL, m->ctx);
    if (rc) {
      m->failed_index = i;
      return rc > 0 ? WEFT_ETASK : rc;
    }
  }
  return 0;
}

/* Runs the map as a task finishing *f; copies its message into m. */
static int map_into_future(weft_map *m, weft_future *f) {
  m->failed_index = SIZE_MAX;
  m->message[0] = '\0';
  int rc = weft__map_check(m);
  if (rc) return rc;
  if ((rc = weft__task_run_here(map_items, m, f)) != 0) return rc;
  snprintf(m->message, sizeof m->message, "%s", weft_future_message(f));
  return weft_future_error(f);
}

static int inline_map(weft_executor *ex, weft_map *m) {
  (void)ex;
  weft_future *f;
  int rc = weft_future_create(&f);
  if (rc) return rc;
  rc = map_into_future(m, f);
  weft_future_release(f);
  return rc;
}

static int inline_map_async(weft_executor *ex, weft_map *m, weft_future **out) {
  (void)ex;
  if (!out) return WEFT_EINVAL;
  weft_future *f;
  int rc = weft_future_create(&f);
  if (rc) return rc;
  rc = map_into_future(m, f);
  if (rc == WEFT_EINVAL && !weft_future_is_finished(f)) { /* bad arguments fail the call */
    weft_future_release(f);
    return rc;
  }
  *out = f;
  return 0;
}

static void inline_destroy(weft_executor *ex) {
  free(ex);
}

static const weft__executor_ops inline_ops = {
  .kind = "inline",
  .workers = inline_workers,
  .submit = inline_submit,
  .submit_bytes = inline_submit_bytes,
  .map = inline_map,
  .map_async = inline_map_async,
  .destroy = inline_destroy,
};

int weft_executor_inline(weft_executor **out) {
  if (!out) return WEFT_EINVAL;
  weft_executor *ex = malloc(sizeof *ex);
  if (!ex) return WEFT_ENOMEM;
  weft__executor_init(ex, &inline_ops);
  *out = ex;
  return 0;
}
