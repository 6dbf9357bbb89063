/* src/pool/task.c — task records (allocation, recycling), running one task,
 * and the functions a task calls about itself (weft_task_*). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "pool/pool_internal.h"
#include "trace/trace_internal.h"

__thread struct weft__tls weft__tls __attribute__((tls_model("initial-exec")));

#define SLAB_TASKS 256

/* Recycled tasks shared between threads: a Treiber stack of chains that is
 * only ever emptied whole (exchange with NULL), so it has no ABA problem. */
static weft__task *spare;
/* Every slab ever allocated, so that task memory stays reachable (leak
 * checkers see it as such) and is never returned while a task may use it. */
static void *slabs;

static void spare_push(weft__task *first, weft__task *last) {
  weft__task *head = weft_load_relaxed(&spare);
  do {
    last->next = head;
    /* release: the chain's links are visible to whoever takes it. */
  } while (!__atomic_compare_exchange_n(&spare, &head, first, true, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED));
}

static weft__task *new_slab(void) {
  /* One slab: a link word, then the tasks. */
  size_t stride = sizeof(weft__task);
  char *mem = malloc(WEFT_CACHELINE + SLAB_TASKS * stride);
  if (!mem) return NULL;
  void *head = weft_load_relaxed(&slabs);
  do {
    *(void **)mem = head;
  } while (!__atomic_compare_exchange_n(&slabs, &head, mem, true, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED));
  weft__task *first = (weft__task *)(mem + WEFT_CACHELINE);
  for (size_t i = 0; i + 1 < SLAB_TASKS; i++) first[i].next = &first[i + 1];
  first[SLAB_TASKS - 1].next = NULL;
  return first;
}

weft__task *weft__task_alloc_slow(void) {
  /* acquire: pairs with spare_push's release. */
  weft__task *chain = __atomic_exchange_n(&spare, NULL, __ATOMIC_ACQUIRE);
  if (!chain) chain = new_slab();
  if (!chain) return NULL;
  weft__tls.reserve = chain->next;
  return chain;
}

void weft__task_free_slow(void) {
  /* Hand the whole list on, in O(1) thanks to its tail: a worker that only
   * consumes tasks from outside frees one per task and would otherwise
   * hoard them, while the producer runs dry. */
  spare_push(weft__tls.free_head, weft__tls.free_tail);
  weft__tls.free_head = weft__tls.free_tail = NULL;
  weft__tls.free_n = 0;
}

void weft__task_cache_flush(void) {
  if (weft__tls.free_head) weft__task_free_slow();
  weft__task *first = weft__tls.reserve;
  if (!first) return;
  weft__task *last = first;
  while (last->next) last = last->next; /* once, at worker exit */
  weft__tls.reserve = NULL;
  spare_push(first, last);
}

/* ---- running ---- */

/* Calls t's function. Traced, it records the task (runs of tiny ones
 * merged, see weft/trace.h) before anyone can see it finished: a waiter
 * that stops the trace when its tasks are done must find every record.
 * chained: t follows this worker's previous task back to back. */
static inline int call_fn(weft__task *t, bool chained) {
  if (weft_likely(!weft__trace_active())) return t->fn(t->arg);
  weft__ttask tt;
  if (chained) weft__trace_task_begin_chained(&tt);
  else weft__trace_task_begin(&tt);
  int rc = t->fn(t->arg);
  weft__trace_task_end(&tt, (const void *)t->fn, (uint64_t)(uintptr_t)t);
  return rc;
}

static void run_submitted(weft__worker *w, weft__task *t, bool chained) {
  weft_future *f = t->future;
  int rc;
  if (w && (weft_load_relaxed(&w->pool->state) & POOL_CANCEL)) {
    rc = WEFT_ECANCELED;
  } else if (weft_future_start(f) != 0) {
    rc = 1; /* cancelled while queued (or finished by someone else): skip */
  } else {
    rc = call_fn(t, chained);
    if (rc > 0) rc = WEFT_ETASK; /* tasks return 0 or a negative code */
  }
  if (rc <= 0) {
    if (weft_future_finish(f, rc, t->value, t->size, t->value_free, rc ? t->msg : NULL) != 0 &&
        t->value && t->value_free)
      t->value_free(t->value);
  } else if (t->value && t->value_free) {
    t->value_free(t->value);
  }
  free(t->msg);
  weft_future_release(f);
}

/* chained: t is a worker's top-level task (see call_fn). */
static void task_run(weft__worker *w, weft__task *t, bool chained) {
  /* Counted before the task finishes, so that whoever sees it finished
   * also sees it counted (the finish is a release). */
  if (w) weft__stat_add(&w->tasks_run, 1);
  weft__task *outer = weft__tls.task;
  weft__tls.task = t;
  weft_group *g = t->group;
  if (weft_likely(g != NULL)) {
    int rc = 0;
    if (weft_likely(!weft__group_skip(g))) rc = call_fn(t, chained);
    weft__group_finish(g, rc, t->msg);
  } else {
    run_submitted(w, t, chained);
  }
  weft__tls.task = outer;
  weft__task_free(t);
}

void weft__task_run(weft__worker *w, weft__task *t) {
  task_run(w, t, false);
}

void weft__task_flush_deferred(weft__worker *w) {
  if (w->defer_n == 0) return;
  weft__trace_unchain(); /* the flush may wake a waiter: not the next task's time */
  weft__group_finish_many(w->defer_group, w->defer_n);
  w->defer_group = NULL;
  w->defer_n = 0;
}

static inline void run_top(weft__worker *w, weft__task *t) {
  weft_group *g = t->group;
  if (w->defer_n != 0 && g != w->defer_group) weft__task_flush_deferred(w);
  if (!g) {
    task_run(w, t, true);
    return;
  }
  weft__stat_add(&w->tasks_run, 1);
  weft__tls.task = t; /* top level: no outer task to restore */
  int rc = weft_likely(!weft__group_skip(g)) ? call_fn(t, true) : 0;
  weft__tls.task = NULL;
  if (weft_likely(rc == 0 && t->msg == NULL && w->defer_n < UINT32_MAX)) {
    w->defer_group = g;
    w->defer_n++;
  } else {
    weft__group_finish(g, rc, t->msg);
  }
  weft__task_free(t);
}

void weft__task_run_top(weft__worker *w, weft__task *t) {
  /* The stall watchdog's stamps: off, one predictable branch per task. */
  if (weft_likely(!WEFT__STALL_ON)) {
    run_top(w, t);
    return;
  }
  weft__stall_begin(&w->stall, (const void *)t->fn); /* before t is freed */
  run_top(w, t);
  weft__stall_end(&w->stall);
}

int weft__task_run_here(weft_task_fn fn, void *arg, weft_future *f) {
  weft__task *t = weft__task_alloc();
  if (!t) return WEFT_ENOMEM;
  *t = (weft__task){.fn = fn, .arg = arg, .future = f};
  weft_future_retain(f); /* the task's reference, dropped by run_submitted */
  weft__task_run(NULL, t);
  return 0;
}

/* ---- inside a task ---- */

bool weft_task_cancelled(void) {
  weft__task *t = weft__tls.task;
  if (!t) return false;
  if (t->group) {
    weft_group *g = t->group;
    return weft__group_skip(g) || (g->future && weft_future_cancel_requested(g->future));
  }
  weft__worker *w = weft__tls.worker;
  return weft_future_cancel_requested(t->future) ||
         (w && (weft_load_relaxed(&w->pool->state) & POOL_CANCEL));
}

int weft_task_fail(int code, const char *fmt, ...) {
  weft__task *t = weft__tls.task;
  if (!t || !fmt) return code;
  va_list ap;
  va_start(ap, fmt);
  char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0) msg = NULL;
  va_end(ap);
  free(t->msg);
  t->msg = msg;
  return code;
}

void weft_task_set_result(void *value, size_t size, void (*value_free)(void *)) {
  weft__task *t = weft__tls.task;
  if (!t || t->group) {
    /* No future to own it: honour the ownership transfer by freeing. */
    if (value && value_free) value_free(value);
    return;
  }
  if (t->value && t->value_free) t->value_free(t->value);
  t->value = value;
  t->size = size;
  t->value_free = value_free;
}
