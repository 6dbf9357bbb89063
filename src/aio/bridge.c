/* src/aio/bridge.c — between the loop and threads: awaiting a weft_future,
 * to_thread, and starting tasks from other threads.
 *
 * A future finishes in whatever thread finishes it; its callback posts the
 * wake-up to the loop (weft__aio_post), and the loop is held meanwhile so
 * that it is not declared deadlocked while a thread is still working. */
#include <stdlib.h>
#include "aio/loop_internal.h"
#include "core/internal.h"
#include "weft/pool.h"

/* ---- awaiting a future ---- */

struct fut_wait {
  weft__aio_wait wait;
  weft_loop *loop;
  weft_future *f;
  int why;
};

static void fut_wake_on_loop(void *arg) {
  struct fut_wait *c = arg;
  weft__aio_unhold(c->loop);
  weft__aio_wake(&c->wait, c->why);
}

static void fut_done(weft_future *f, void *arg) {
  (void)f;
  struct fut_wait *c = arg;
  if (weft__aio_post(c->loop, fut_wake_on_loop, c) != 0) {
    /* cannot happen while the loop runs a task awaiting this; keep the
     * task asleep rather than touching the loop from a foreign thread */
  }
}

/* Interrupted: cancel the future; a pending one finishes (cancelled) at
 * once, a running one when its task returns. Either way fut_done wakes us. */
static void fut_abort(weft__aio_wait *w, int why) {
  struct fut_wait *c = w->data;
  c->why = why;
  weft_future_cancel(c->f);
}

int weft_aio_await_future(weft_future *f) {
  if (!f) return WEFT_EINVAL;
  weft_loop *l = weft__aio_loop();
  if (!l || !weft_aio_current()) return WEFT_EPERM;
  if (weft_future_is_finished(f)) return weft_future_wait(f);
  struct fut_wait c = {.loop = l, .f = f};
  weft__aio_wait_init(&c.wait, fut_abort);
  c.wait.op = "future";
  c.wait.data = &c;
  weft__aio_hold(l);
  int rc = weft_future_on_done(f, fut_done, &c);
  if (rc) {
    weft__aio_unhold(l);
    return rc;
  }
  rc = weft__aio_suspend(&c.wait);
  if (rc) return rc;
  return weft_future_wait(f); /* finished: returns its code at once */
}

int weft_aio_to_thread(int (*fn)(void *), void *arg) {
  if (!fn) return WEFT_EINVAL;
  if (!weft_aio_current()) return WEFT_EPERM;
  weft_future *f;
  int rc = weft_submit(weft_pool_default(), fn, arg, &f);
  if (rc) return rc;
  rc = weft_aio_await_future(f);
  weft_future_release(f);
  return rc;
}

/* ---- tasks started from other threads ----
 *
 * The record has two owners: the loop side (until the task ended) and, when
 * a future was asked for, the future's done-callback (which fires once,
 * in any thread). The last of the two frees it. */

struct remote {
  weft_loop *loop;
  weft_aio_fn fn;
  void *arg;
  weft_future *f;      /* the caller's future (we hold a reference), or NULL */
  weft_aio_task *task; /* once started (loop thread only) */
  weft__aio_watch watch;
  bool ended;          /* loop thread only */
  int refs;
};

static void remote_unref(struct remote *r) {
  if (__atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
  if (r->task) weft_aio_task_release(r->task);
  if (r->f) weft_future_release(r->f);
  free(r);
}

static void remote_ended(weft__aio_watch *w, weft_aio_task *t) {
  struct remote *r = w->ctx;
  r->ended = true;
  if (r->f) weft_future_finish(r->f, t->code, t->result, 0, NULL, NULL);
  remote_unref(r);
}

/* On the loop: the caller cancelled the future. */
static void remote_cancel(void *arg) {
  struct remote *r = arg;
  if (r->task && !r->ended) weft_aio_cancel(r->task);
  remote_unref(r);
}

/* In any thread, once: the future finished. A cancellation by the caller
 * is handed to the loop. */
static void remote_future_done(weft_future *f, void *arg) {
  struct remote *r = arg;
  if (weft_future_status(f) == WEFT_FUTURE_CANCELLED && weft__aio_post(r->loop, remote_cancel, r) == 0)
    return;
  remote_unref(r);
}

static void remote_start(void *arg) {
  struct remote *r = arg;
  weft_loop *l = r->loop;
  int rc = l->running && l->main && !l->main_done
               ? weft__aio_task_new(l, NULL, r->fn, r->arg, &r->task)
               : WEFT_ESHUTDOWN;
  if (rc) {
    if (r->f) weft_future_finish(r->f, rc, NULL, 0, NULL, "the loop was not running");
    remote_unref(r);
    return;
  }
  r->watch = (weft__aio_watch){.fire = remote_ended, .ctx = r};
  weft__aio_watch_add(r->task, &r->watch);
  if (r->f && weft_future_is_finished(r->f)) weft_aio_cancel(r->task); /* cancelled early */
}

int weft_loop_spawn_threadsafe(weft_loop *l, weft_aio_fn fn, void *arg, weft_future **out) {
  if (!l || !fn) return WEFT_EINVAL;
  struct remote *r = calloc(1, sizeof *r);
  if (!r) return WEFT_ENOMEM;
  *r = (struct remote){.loop = l, .fn = fn, .arg = arg, .refs = 1};
  if (out) {
    int rc = weft_future_create(&r->f);
    if (rc) {
      free(r);
      return rc;
    }
    weft_future_retain(r->f); /* one for the caller, one for us */
    r->refs = 2;
    rc = weft_future_on_done(r->f, remote_future_done, r);
    if (rc) {
      weft_future_release(r->f);
      weft_future_release(r->f);
      free(r);
      return rc;
    }
  }
  weft_future *f = r->f; /* once posted, the loop may end the task and free r */
  int rc = weft__aio_post(l, remote_start, r);
  if (rc) {
    if (r->f) {
      weft_future_retain(r->f); /* keep it alive through the callbacks */
      weft_future_finish(r->f, rc, NULL, 0, NULL, "the loop was not running");
      weft_future_release(r->f);
      weft_future_release(r->f); /* the caller's: never handed out */
    }
    remote_unref(r);
    return rc;
  }
  if (out) *out = f; /* the caller's reference, taken above */
  return 0;
}
