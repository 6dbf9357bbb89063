/* src/pool/task.c — task records (allocation, recycling), running one task,
 * and the functions a task calls about itself (weft_task_*). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "pool/pool_internal.h"

__thread struct weft__tls weft__tls __attribute__((tls_model("initial-exec")));

#define SLAB_TASKS 256
#define GIVE_BACK 512   /* tasks handed to the shared stack at a time */

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

static uint32_t chain_length(weft__task *t) {
  uint32_t n = 0;
  for (; t; t = t->next) n++;
  return n;
}

weft__task *weft__task_alloc_slow(void) {
  /* acquire: pairs with spare_push's release. */
  weft__task *chain = __atomic_exchange_n(&spare, NULL, __ATOMIC_ACQUIRE);
  if (!chain) chain = new_slab();
  if (!chain) return NULL;
  weft__tls.free_head = chain->next;
  weft__tls.free_n = chain_length(chain->next);
  return chain;
}

void weft__task_free_slow(void) {
  /* Keep the newest (cache-warm) half, give the older GIVE_BACK away. */
  weft__task *keep_last = weft__tls.free_head;
  for (uint32_t i = 1; i < weft__tls.free_n - GIVE_BACK; i++) keep_last = keep_last->next;
  weft__task *first = keep_last->next, *last = first;
  while (last->next) last = last->next;
  keep_last->next = NULL;
  weft__tls.free_n -= GIVE_BACK;
  spare_push(first, last);
}

void weft__task_cache_flush(void) {
  weft__task *first = weft__tls.free_head;
  if (!first) return;
  weft__task *last = first;
  while (last->next) last = last->next;
  weft__tls.free_head = NULL;
  weft__tls.free_n = 0;
  spare_push(first, last);
}

/* ---- running ---- */

static void run_submitted(weft__worker *w, weft__task *t) {
  weft_future *f = t->future;
  int rc;
  if (w && (weft_load_relaxed(&w->pool->state) & POOL_CANCEL)) {
    rc = WEFT_ECANCELED;
  } else if (weft_future_start(f) != 0) {
    rc = 1; /* cancelled while queued (or finished by someone else): skip */
  } else {
    rc = t->fn(t->arg);
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

void weft__task_run(weft__worker *w, weft__task *t) {
  /* Counted before the task finishes, so that whoever sees it finished
   * also sees it counted (the finish is a release). */
  if (w) weft__stat_add(&w->tasks_run, 1);
  weft__task *outer = weft__tls.task;
  weft__tls.task = t;
  weft_group *g = t->group;
  if (weft_likely(g != NULL)) {
    int rc = 0;
    if (weft_likely(!weft__group_skip(g))) rc = t->fn(t->arg);
    weft__group_finish(g, rc, t->msg);
  } else {
    run_submitted(w, t);
  }
  weft__tls.task = outer;
  weft__task_free(t);
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
