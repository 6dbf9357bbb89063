/* src/executor/executor.c — the public executor calls: argument checks, then
 * dispatch through the kind's operations. */
#include <errno.h>
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

static bool is_shut(const weft_executor *ex) {
  return __atomic_load_n(&ex->shut, __ATOMIC_ACQUIRE) != 0;
}

int weft_executor_shutdown(weft_executor *ex, int mode) {
  if (!ex || (mode != WEFT_SHUTDOWN_DRAIN && mode != WEFT_SHUTDOWN_CANCEL)) return WEFT_EINVAL;
  __atomic_store_n(&ex->shut, 1, __ATOMIC_RELEASE);
  return ex->ops->shutdown ? ex->ops->shutdown(ex, mode) : 0;
}

int weft_executor_submit(weft_executor *ex, weft_task_fn fn, void *arg, weft_future **out) {
  if (!ex || !fn || !out) return WEFT_EINVAL;
  if (is_shut(ex)) return WEFT_ESHUTDOWN;
  return ex->ops->submit(ex, fn, arg, out);
}

int weft_executor_submit_bytes(weft_executor *ex, weft_proc_fn fn, const void *arg, size_t size,
                               weft_future **out) {
  if (!ex || !fn || !out || (!arg && size > 0)) return WEFT_EINVAL;
  if (is_shut(ex)) return WEFT_ESHUTDOWN;
  return ex->ops->submit_bytes(ex, fn, arg, size, out);
}

int weft_executor_map(weft_executor *ex, weft_map *m) {
  if (!ex || !m) return WEFT_EINVAL;
  if (is_shut(ex)) return WEFT_ESHUTDOWN;
  return ex->ops->map(ex, m);
}

int weft_executor_map_async(weft_executor *ex, weft_map *m, weft_future **out) {
  if (!ex || !m || !out) return WEFT_EINVAL;
  if (is_shut(ex)) return WEFT_ESHUTDOWN;
  return ex->ops->map_async(ex, m, out);
}

/* ---- choosing the kind by name: "threads:4", WEFT_EXECUTOR ---- */

static int parse_workers(const char *s, unsigned *workers) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || end == s || *end || v > 4096 || s[0] == '-') return WEFT_EINVAL;
  *workers = (unsigned)v;
  return 0;
}

int weft_executor_create(weft_executor **out, const char *spec) {
  if (!out) return WEFT_EINVAL;
  *out = NULL;
  if (!spec || !*spec) spec = getenv("WEFT_EXECUTOR");
  if (!spec || !*spec) spec = "threads";
  const char *colon = strchr(spec, ':');
  size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
  unsigned workers = 0;
  if (colon && parse_workers(colon + 1, &workers) != 0) return WEFT_EINVAL;
  if (len == 6 && strncmp(spec, "inline", 6) == 0) return colon ? WEFT_EINVAL : weft_executor_inline(out);
  if (len == 7 && strncmp(spec, "threads", 7) == 0) return weft_executor_threads_new(out, workers);
  if (len == 9 && strncmp(spec, "processes", 9) == 0)
    return weft_executor_processes_new(out, workers);
  return WEFT_EINVAL;
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
