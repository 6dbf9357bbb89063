/* src/executor/executor.c — the public executor calls: argument checks, then
 * dispatch through the kind's operations. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "executor/executor_internal.h"

void weft_executor_destroy(weft_executor *ex) {
  if (ex) ex->ops->destroy(ex);
}

const char *weft_executor_kind(const weft_executor *ex) {
  return ex ? ex->ops->kind : "";
}

unsigned weft_executor_workers(const weft_executor *ex) {
  return ex ? ex->ops->workers(ex) : 0;
}

int weft_executor_submit(weft_executor *ex, weft_task_fn fn, void *arg, weft_future **out) {
  if (!ex || !fn || !out) return WEFT_EINVAL;
  return ex->ops->submit(ex, fn, arg, out);
}

int weft_executor_submit_bytes(weft_executor *ex, weft_proc_fn fn, const void *arg, size_t size,
                               weft_future **out) {
  if (!ex || !fn || !out || (!arg && size > 0)) return WEFT_EINVAL;
  return ex->ops->submit_bytes(ex, fn, arg, size, out);
}

int weft_executor_map(weft_executor *ex, weft_map *m) {
  if (!ex || !m) return WEFT_EINVAL;
  return ex->ops->map(ex, m);
}

int weft_executor_map_async(weft_executor *ex, weft_map *m, weft_future **out) {
  if (!ex || !m || !out) return WEFT_EINVAL;
  return ex->ops->map_async(ex, m, out);
}

weft__bytes_call *weft__bytes_call_new(weft_proc_fn fn, const void *arg, size_t size) {
  if (size > SIZE_MAX - sizeof(weft__bytes_call)) return NULL;
  weft__bytes_call *c = malloc(sizeof *c + size);
  if (!c) return NULL;
  c->fn = fn;
  c->size = size;
  if (size) memcpy(c->data, arg, size);
  return c;
}

int weft__bytes_call_run(void *call) {
  weft__bytes_call *c = call;
  return c->fn(c->size ? c->data : NULL, c->size);
}
