/* src/aio/task.c — tasks: spawn, the suspend/wake pair, cancellation,
 * cancel scopes, sleep and yield, await and shield.
 *
 * A task's coroutine (and its stack) exists only while the task runs:
 * it is made at the first slice and destroyed when the body returns, so
 * 100,000 spawned-then-gathered tasks need one pooled stack, not 100,000.
 *
 * One uv timer per task (made on first need) serves both sleeps and
 * deadlines: a suspension arms it for the earlier of its wake-up time and
 * the innermost scopes' deadline; its callback tells the two apart. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aio/loop_internal.h"
#include "core/internal.h"
#include "trace/trace_internal.h"

__thread weft_loop *weft__aio_tls_loop;

static weft_aio_task *current_task(void) {
  weft_loop *l = weft__aio_tls_loop;
  return l ? l->current : NULL;
}

weft_aio_task *weft_aio_current(void) {
  return current_task();
}

/* ---- the ready queue ---- */

void weft__aio_make_ready(weft_aio_task *t) {
  if (t->in_ready) return;
  weft_loop *l = t->loop;
  t->in_ready = true;
  t->next_ready = NULL;
  if (t->state != TASK_NEW) t->state = TASK_READY;
  if (l->ready_tail) l->ready_tail->next_ready = t;
  else l->ready_head = t;
  l->ready_tail = t;
  /* Made ready from a libuv callback (a timer, say) inside UV_RUN_ONCE: stop
   * libuv before it blocks in its poll with a task waiting to run. */
  if (l->in_uv) uv_stop(&l->uv);
}

weft_aio_task *weft__aio_ready_pop(weft_loop *l) {
  weft_aio_task *t = l->ready_head;
  l->ready_head = t->next_ready;
  if (!l->ready_head) l->ready_tail = NULL;
  t->in_ready = false;
  return t;
}

/* ---- tracing (WEFT_TRACE): a CORO span per slice, an IO span per wait ----
 * Off, each hook is one predictable branch. A named task's spans carry its
 * name (interned once: names are freed with their task, spans outlive it),
 * an unnamed one's its function. */

static inline void slice_begin(weft_loop *l) {
  l->slice_t0 = weft__trace_active() ? weft__trace_now() : 0;
}

static void trace_slice(weft_aio_task *t, uint64_t t0) {
  if (t->name && !t->trace_name) t->trace_name = weft__trace_intern(t->name);
  if (t->trace_name)
    weft__trace_span(WEFT__TK_CORO, t->trace_name, WEFT__TN_STR, t0, weft__trace_now(), t->id,
                     0, 0);
  else
    weft__trace_span(WEFT__TK_CORO, (const void *)t->fn, WEFT__TN_FN, t0, weft__trace_now(),
                     t->id, 0, 0);
}

static inline void slice_end(weft_loop *l, weft_aio_task *t) {
  if (weft_unlikely(l->slice_t0)) {
    if (weft__trace_active()) trace_slice(t, l->slice_t0);
    l->slice_t0 = 0;
  }
}

/* ---- creation and lifetime ---- */

int weft__aio_task_new(weft_loop *l, const char *name, weft_aio_fn fn, void *arg,
                       weft_aio_task **out) {
  weft_aio_task *t = calloc(1, sizeof *t);
  if (!t) return WEFT_ENOMEM;
  if (name && !(t->name = strdup(name))) {
    free(t);
    return WEFT_ENOMEM;
  }
  t->loop = l;
  t->fn = fn;
  t->arg = arg;
  t->refs = 1 + (out != NULL);
  t->state = TASK_NEW;
  t->wake_at = WEFT_FOREVER;
  t->id = ++l->next_id;
  t->all_next = l->all;
  if (l->all) l->all->all_prev = t;
  l->all = t;
  l->live++;
  weft__aio_make_ready(t);
  if (out) *out = t;
  return 0;
}

static void task_free(weft_aio_task *t) {
  free(t->name);
  free(t);
}

void weft_aio_task_retain(weft_aio_task *t) {
  if (t) t->refs++;
}

void weft_aio_task_release(weft_aio_task *t) {
  if (t && --t->refs == 0) task_free(t);
}

int weft_aio_spawn_named(const char *name, weft_aio_fn fn, void *arg, weft_aio_task **out) {
  weft_loop *l = weft__aio_tls_loop;
  if (!fn) return WEFT_EINVAL;
  if (!l || !l->running) return WEFT_EPERM;
  return weft__aio_task_new(l, name, fn, arg, out);
}

int weft_aio_spawn(weft_aio_fn fn, void *arg, weft_aio_task **out) {
  return weft_aio_spawn_named(NULL, fn, arg, out);
}

const char *weft__aio_task_label(weft_aio_task *t, char *buf, size_t cap) {
  if (t->name) return t->name;
  snprintf(buf, cap, "task %llu", (unsigned long long)t->id);
  return buf;
}

const char *weft_aio_task_name(const weft_aio_task *t) {
  return t && t->name ? t->name : "";
}

bool weft_aio_task_done(const weft_aio_task *t) {
  return t && t->state == TASK_DONE;
}

int weft_aio_task_code(const weft_aio_task *t) {
  return t && t->state == TASK_DONE ? t->code : 0;
}

void *weft_aio_task_result(const weft_aio_task *t) {
  return t ? t->result : NULL;
}

void weft_aio_set_result(void *value) {
  weft_aio_task *t = current_task();
  if (t) t->result = value;
}

/* ---- finishing ---- */

static void close_timer(weft_aio_task *t) {
  if (!t->timer) return;
  t->timer->data = NULL;
  uv_close((uv_handle_t *)t->timer, (uv_close_cb)free);
  t->timer = NULL;
}

static void finish(weft_aio_task *t, int code) {
  weft_loop *l = t->loop;
  t->code = code;
  t->state = TASK_DONE;
  if (t->co) {
    weft__coro_destroy(t->co);
    t->co = NULL;
  }
  if (t->all_prev) t->all_prev->all_next = t->all_next;
  else l->all = t->all_next;
  if (t->all_next) t->all_next->all_prev = t->all_prev;
  l->live--;
  close_timer(t);
  if (t == l->main) l->main_done = true;
  /* A failure nobody can ever look at would vanish: say it. */
  if (t->refs == 1 && !t->watches && code < 0 && code != WEFT_ECANCELED) {
    char buf[32];
    fprintf(stderr, "weft: %s failed with %s (%s) and nobody awaited it\n",
            weft__aio_task_label(t, buf, sizeof buf), weft_err_name(code), weft_strerror(code));
  }
  while (t->watches) {
    weft__aio_watch *w = t->watches;
    weft__aio_watch_remove(t, w);
    w->fire(w, t);
  }
  weft_aio_task_release(t);
}

static void *task_body(void *arg) {
  weft_aio_task *t = arg;
  t->code = t->fn(t->arg);
  return NULL;
}

/* One slice: runs t until it suspends, yields or returns. */
void weft__aio_task_run(weft_aio_task *t) {
  weft_loop *l = t->loop;
  if (t->state == TASK_NEW) {
    if (t->cancelled) { /* cancelled before it ever ran: the body never runs */
      finish(t, WEFT_ECANCELED);
      return;
    }
    int rc = weft__coro_create_ex(&t->co, task_body, t, l->opt.stack_size,
                                  l->opt.ucontext_switch ? WEFT__CORO_UCONTEXT : WEFT__CORO_DEFAULT);
    if (rc) {
      finish(t, rc);
      return;
    }
  }
  t->state = TASK_RUNNING;
  l->current = t;
  if (l->watchdog) weft__aio_watchdog_slice(l, t);
  slice_begin(l);
  weft__coro_resume(t->co, NULL, NULL);
  t = l->current; /* the slice may have moved on to other tasks (switch_away) */
  slice_end(l, t); /* a task that died; one that suspended ended its slice itself */
  if (l->watchdog) weft__aio_watchdog_slice(l, NULL);
  l->current = NULL;
  if (weft__coro_get_status(t->co) == WEFT__CORO_DEAD) finish(t, t->code);
}

/* The running task t stops (suspended or yielding): when the next ready
 * task has a coroutine and the pass has budget left, it runs in t's place
 * with one switch instead of two through the scheduler — a queue ping-pong
 * between two tasks never goes back to the scheduler within a pass. Not
 * with the lag watchdog, which times each slice from the scheduler. */
static void switch_away(weft_aio_task *t) {
  weft_loop *l = t->loop;
  slice_end(l, t);
  weft_aio_task *n = l->ready_head;
  if (n && n != t && n->co && l->pass_left > 0 && !l->watchdog) {
    weft__aio_ready_pop(l);
    l->pass_left--;
    n->state = TASK_RUNNING;
    l->current = n;
    slice_begin(l);
    if (weft__coro_transfer(t->co, n->co, NULL) == 0)
      return; /* t runs again: whoever resumed it set l->current back to t */
    /* not transferable (the ucontext backend): n goes back to the front */
    l->current = t;
    n->state = TASK_READY;
    n->in_ready = true;
    n->next_ready = l->ready_head;
    if (!l->ready_head) l->ready_tail = n;
    l->ready_head = n;
  }
  weft__coro_yield(NULL, NULL);
}

/* Deadlocked at the end of a loop: the coroutine is dropped unwound. */
void weft__aio_abandon(weft_aio_task *t) {
  weft__aio_wait *w = t->wait;
  t->wait = NULL; /* so that a wake from the abort does not make t ready */
  if (w && !w->woken) {
    /* the abort unlinks w from whatever waiter list holds it: that memory
     * (on the coroutine's stack) is about to go */
    if (!w->aborted && w->abort) {
      w->aborted = true;
      w->abort(w, WEFT_EDEADLK);
    }
    w->woken = true;
  }
  finish(t, WEFT_EDEADLK);
}

/* ---- watches ---- */

void weft__aio_watch_add(weft_aio_task *t, weft__aio_watch *w) {
  w->prev = NULL;
  w->next = t->watches;
  if (t->watches) t->watches->prev = w;
  t->watches = w;
}

void weft__aio_watch_remove(weft_aio_task *t, weft__aio_watch *w) {
  if (w->prev) w->prev->next = w->next;
  else if (t->watches == w) t->watches = w->next;
  else return; /* not linked */
  if (w->next) w->next->prev = w->prev;
  w->next = w->prev = NULL;
}

/* ---- interruptions: cancellation and deadlines ---- */

/* The earliest deadline that applies to t's awaits now (scopes up to the
 * first shield). */
static inline uint64_t effective_deadline(const weft_aio_task *t) {
  if (weft_likely(!t->scope)) return WEFT_FOREVER;
  uint64_t d = WEFT_FOREVER;
  for (const weft_aio_scope *s = t->scope; s; s = s->outer) {
    if (s->deadline_ns < d) d = s->deadline_ns;
    if (s->shield) break;
  }
  return d;
}

/* What an await of t would be interrupted by now: 0, WEFT_ETIMEDOUT (an
 * active scope's deadline passed: the scope is marked) or WEFT_ECANCELED. */
static int scoped_interrupt(weft_aio_task *t);

static inline int pending_interrupt(weft_aio_task *t) {
  if (weft_likely(!t->scope)) return t->cancelled ? WEFT_ECANCELED : 0;
  return scoped_interrupt(t);
}

static int scoped_interrupt(weft_aio_task *t) {
  uint64_t now = 0;
  for (weft_aio_scope *s = t->scope; s; s = s->outer) {
    if (s->expired) return WEFT_ETIMEDOUT;
    if (s->deadline_ns != WEFT_FOREVER) {
      if (!now) now = weft_now_ns();
      if (now >= s->deadline_ns) {
        s->expired = true;
        return WEFT_ETIMEDOUT;
      }
    }
    if (s->shield) return 0;
  }
  return t->cancelled ? WEFT_ECANCELED : 0;
}

/* Hands an interruption to t's pending wait, once. */
static void deliver(weft_aio_task *t, int why) {
  weft__aio_wait *w = t->wait;
  if (!w || w->woken || w->aborted) return;
  w->aborted = true; /* at most once */
  if (w->abort) w->abort(w, why);
  else weft__aio_wake(w, why);
}

int weft_aio_cancel(weft_aio_task *t) {
  if (!t) return WEFT_EINVAL;
  if (t->state == TASK_DONE) return WEFT_EALREADY;
  t->cancelled = true;
  if (t->state == TASK_WAITING) {
    int why = pending_interrupt(t);
    if (why) deliver(t, why);
  }
  return 0;
}

bool weft_aio_cancelled(void) {
  weft_aio_task *t = current_task();
  return t && t->cancelled;
}

int weft__aio_check(void) {
  weft_aio_task *t = current_task();
  return t ? pending_interrupt(t) : WEFT_EPERM;
}

/* ---- the task timer ---- */

static void timer_fired(uv_timer_t *h);

static void arm(weft_aio_task *t, uint64_t at) {
  weft_loop *l = t->loop;
  if (!t->timer) {
    t->timer = malloc(sizeof *t->timer);
    if (!t->timer) return; /* no timer: the wait just lasts until woken */
    uv_timer_init(&l->uv, t->timer);
  }
  t->timer->data = t;
  uv_update_time(&l->uv);
  uint64_t now = weft_now_ns();
  uint64_t ms = at > now ? (at - now + 999999) / 1000000 : 0;
  uv_timer_start(t->timer, timer_fired, ms, 0);
}

static void timer_fired(uv_timer_t *h) {
  weft_aio_task *t = h->data;
  if (!t || !t->wait || t->wait->woken) return;
  uint64_t now = weft_now_ns(), deadline = effective_deadline(t);
  if (now >= deadline) {
    deliver(t, pending_interrupt(t));
    return;
  }
  if (now >= t->wake_at) {
    weft__aio_wake(t->wait, 0);
    return;
  }
  arm(t, deadline < t->wake_at ? deadline : t->wake_at); /* libuv's clock ran early */
}

/* ---- suspend and wake ---- */

void weft__aio_wait_init(weft__aio_wait *w, weft__aio_abort_fn abort) {
  memset(w, 0, sizeof *w);
  w->abort = abort;
}

void weft__aio_wake(weft__aio_wait *w, int code) {
  if (w->woken) return;
  w->woken = true;
  w->code = code;
  weft_aio_task *t = w->task;
  if (t && t->state == TASK_WAITING && t->wait == w) weft__aio_make_ready(t);
}

int weft__aio_suspend_until(weft__aio_wait *w, uint64_t wake_at_ns) {
  weft_aio_task *t = current_task();
  if (!t) return WEFT_EPERM;
  w->task = t;
  w->pending = true;
  t->wait = w;
  int why = pending_interrupt(t);
  if (why) deliver(t, why);
  if (!w->woken) {
    uint64_t deadline = effective_deadline(t);
    t->wake_at = wake_at_ns;
    uint64_t at = deadline < wake_at_ns ? deadline : wake_at_ns;
    if (at != WEFT_FOREVER) arm(t, at);
    t->state = TASK_WAITING;
    uint64_t w0 = weft__trace_active() ? weft__trace_now() : 0;
    switch_away(t);
    if (weft_unlikely(w0) && weft__trace_active())
      weft__trace_span(WEFT__TK_IO, w->op ? w->op : "wait", WEFT__TN_STR, w0, weft__trace_now(),
                       t->id, 0, 0);
    if (at != WEFT_FOREVER && t->timer) uv_timer_stop(t->timer);
    t->wake_at = WEFT_FOREVER;
  }
  t->wait = NULL;
  w->pending = false;
  return w->code;
}

int weft__aio_suspend(weft__aio_wait *w) {
  return weft__aio_suspend_until(w, WEFT_FOREVER);
}

/* ---- sleep and yield ---- */

int weft_aio_sleep(uint64_t ns) {
  if (ns == 0) return weft_aio_yield();
  weft__aio_wait w;
  weft__aio_wait_init(&w, NULL);
  w.op = "sleep";
  return weft__aio_suspend_until(&w, weft_deadline_after(ns));
}

int weft_aio_yield(void) {
  weft_aio_task *t = current_task();
  if (!t) return WEFT_EPERM;
  int why = pending_interrupt(t);
  if (why) return why;
  weft__aio_make_ready(t);
  switch_away(t);
  return 0;
}

/* ---- cancel scopes ---- */

static void scope_push(weft_aio_scope *s, uint64_t deadline, bool shield) {
  weft_aio_task *t = current_task();
  s->deadline_ns = deadline;
  s->shield = shield;
  s->expired = false;
  s->task = t;
  s->outer = t ? t->scope : NULL;
  if (t) t->scope = s;
}

void weft_aio_scope_enter(weft_aio_scope *s, uint64_t timeout_ns) {
  scope_push(s, weft_deadline_after(timeout_ns), false);
}

void weft_aio_shield_scope(weft_aio_scope *s) {
  scope_push(s, WEFT_FOREVER, true);
}

int weft_aio_scope_exit(weft_aio_scope *s) {
  if (s->task && s->task->scope == s) s->task->scope = s->outer;
  if (!s->expired && s->deadline_ns != WEFT_FOREVER && weft_now_ns() >= s->deadline_ns)
    s->expired = true;
  return s->expired ? WEFT_ETIMEDOUT : 0;
}

/* ---- await and shield ---- */

struct await_ctx {
  weft__aio_wait wait;
  weft__aio_watch watch;
  weft_aio_task *target;
  int why; /* the interruption, once one came */
};

static void await_fired(weft__aio_watch *watch, weft_aio_task *done) {
  (void)done;
  struct await_ctx *c = watch->ctx;
  weft__aio_wake(&c->wait, c->why);
}

/* Cancelled or timed out while awaiting: the target is cancelled too and
 * awaited to its end (await_fired then wakes us with `why`). */
static void await_abort(weft__aio_wait *w, int why) {
  struct await_ctx *c = w->data;
  c->why = why;
  weft_aio_cancel(c->target);
}

/* shield: the interruption wakes us at once; the target runs on. */
static void shield_abort(weft__aio_wait *w, int why) {
  struct await_ctx *c = w->data;
  weft__aio_watch_remove(c->target, &c->watch);
  weft__aio_wake(w, why);
}

static int await_with(weft_aio_task *t, weft__aio_abort_fn abort) {
  if (!t) return WEFT_EINVAL;
  if (t == current_task()) return WEFT_EDEADLK;
  if (t->state == TASK_DONE) return t->code;
  struct await_ctx c = {.target = t};
  weft__aio_wait_init(&c.wait, abort);
  c.wait.op = "await";
  c.wait.data = &c;
  c.watch.fire = await_fired;
  c.watch.ctx = &c;
  weft__aio_watch_add(t, &c.watch);
  int rc = weft__aio_suspend(&c.wait);
  if (rc == WEFT_EPERM) weft__aio_watch_remove(t, &c.watch);
  return c.why ? c.why : rc == 0 ? t->code : rc;
}

int weft_aio_await(weft_aio_task *t) {
  return await_with(t, await_abort);
}

int weft_aio_shield(weft_aio_task *t) {
  return await_with(t, shield_abort);
}

int weft_aio_await_timed(weft_aio_task *t, uint64_t timeout_ns) {
  weft_aio_scope s;
  weft_aio_scope_enter(&s, timeout_ns);
  int rc = weft_aio_await(t);
  weft_aio_scope_exit(&s);
  return rc;
}
