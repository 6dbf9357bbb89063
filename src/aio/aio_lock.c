/* src/aio/aio_lock.c — asyncio.Lock, Semaphore/BoundedSemaphore, Event and
 * Condition for weft tasks. A waiter suspends its task, never the thread.
 *
 * Fairness by hand-off: release gives the lock (or the semaphore's unit)
 * straight to the first waiter in FIFO order — ownership changes at release
 * time, so a task that arrives between the release and the waiter's resume
 * cannot barge in. A waiter woken with 0 owns what it was handed even if it
 * is cancelled before it runs: the core returns the wake's 0 and the
 * cancellation shows at its next await. So cancelling waiters never loses a
 * unit and never leaves a lock owned by nobody. Cancelled waiters still on a
 * list are unlinked by weft__wl_abort (aio_wlist.h).
 *
 * Awaiting calls (acquire, event wait, cond wait) honour a pending
 * cancellation even when they could finish at once, and return WEFT_EPERM
 * outside a task. Releases, set, notify work from callbacks too (except
 * lock release, which checks the owner task).
 *
 * destroy with waiters present wakes each of them with WEFT_ECLOSED before
 * freeing (they do not touch the object afterwards). A condition's waiters
 * then re-acquire the condition's lock as usual.
 *
 * Loop thread only, like everything in aio.
 */
#include <limits.h>
#include <stdlib.h>
#include "aio/aio_wlist.h"

struct weft_aio_lock {
  weft_aio_task *owner; /* NULL = free */
  weft__wlist waiters;
};

struct weft_aio_sem {
  unsigned value, bound; /* bound 0 = unbounded */
  weft__wlist waiters;
};

struct weft_aio_event {
  bool set;
  weft__wlist waiters;
};

struct weft_aio_cond {
  weft_aio_lock *lock;
  weft__wlist waiters;
};

/* Registers w on l and sleeps; returns the wake's code. */
static int wait_on(weft__wlist *l, const char *op) {
  weft__aio_wait w;
  weft__aio_wait_init(&w, weft__wl_abort);
  w.op = op; /* for traces */
  weft__wl_push(l, &w);
  return weft__aio_suspend(&w);
}

/* ---- lock ---- */

int weft_aio_lock_create(weft_aio_lock **out) {
  if (!out) return WEFT_EINVAL;
  *out = calloc(1, sizeof **out);
  return *out ? 0 : WEFT_ENOMEM;
}

void weft_aio_lock_destroy(weft_aio_lock *l) {
  if (!l) return;
  weft__wl_wake_all(&l->waiters, WEFT_ECLOSED);
  free(l);
}

int weft_aio_lock_acquire(weft_aio_lock *l) {
  if (!l) return WEFT_EINVAL;
  int rc = weft__aio_check();
  if (rc) return rc;
  weft_aio_task *me = weft_aio_current();
  if (l->owner == me) return WEFT_EDEADLK;
  if (!l->owner) { /* free means nobody waits: waiters are handed the lock */
    l->owner = me;
    return 0;
  }
  return wait_on(&l->waiters, "lock"); /* 0: release made us the owner */
}

int weft_aio_lock_release(weft_aio_lock *l) {
  if (!l) return WEFT_EINVAL;
  if (!l->owner || l->owner != weft_aio_current()) return WEFT_EPERM;
  weft__aio_wait *w = weft__wl_pop(&l->waiters);
  l->owner = w ? w->task : NULL; /* hand-off: the waiter owns it from now */
  if (w) weft__aio_wake(w, 0);
  return 0;
}

/* ---- semaphore ---- */

int weft_aio_sem_create(weft_aio_sem **out, unsigned value, unsigned bound) {
  if (!out) return WEFT_EINVAL;
  *out = NULL;
  if (bound && value > bound) return WEFT_EINVAL;
  weft_aio_sem *s = calloc(1, sizeof *s);
  if (!s) return WEFT_ENOMEM;
  s->value = value;
  s->bound = bound;
  *out = s;
  return 0;
}

void weft_aio_sem_destroy(weft_aio_sem *s) {
  if (!s) return;
  weft__wl_wake_all(&s->waiters, WEFT_ECLOSED);
  free(s);
}

int weft_aio_sem_acquire(weft_aio_sem *s) {
  if (!s) return WEFT_EINVAL;
  int rc = weft__aio_check();
  if (rc) return rc;
  if (s->value > 0) { /* value > 0 means nobody waits (hand-off below) */
    s->value--;
    return 0;
  }
  return wait_on(&s->waiters, "semaphore"); /* 0: a release handed us its unit */
}

int weft_aio_sem_release(weft_aio_sem *s) {
  if (!s) return WEFT_EINVAL;
  weft__aio_wait *w = weft__wl_pop(&s->waiters);
  if (w) {
    weft__aio_wake(w, 0);
    return 0;
  }
  if (s->bound ? s->value >= s->bound : s->value == UINT_MAX) return WEFT_ERANGE;
  s->value++;
  return 0;
}

unsigned weft_aio_sem_value(const weft_aio_sem *s) { return s ? s->value : 0; }

/* ---- event ---- */

int weft_aio_event_create(weft_aio_event **out) {
  if (!out) return WEFT_EINVAL;
  *out = calloc(1, sizeof **out);
  return *out ? 0 : WEFT_ENOMEM;
}

void weft_aio_event_destroy(weft_aio_event *e) {
  if (!e) return;
  weft__wl_wake_all(&e->waiters, WEFT_ECLOSED);
  free(e);
}

void weft_aio_event_set(weft_aio_event *e) {
  if (!e) return;
  e->set = true;
  weft__wl_wake_all(&e->waiters, 0);
}

void weft_aio_event_clear(weft_aio_event *e) {
  if (e) e->set = false;
}

bool weft_aio_event_is_set(const weft_aio_event *e) { return e && e->set; }

int weft_aio_event_wait(weft_aio_event *e) {
  if (!e) return WEFT_EINVAL;
  int rc = weft__aio_check();
  if (rc) return rc;
  return e->set ? 0 : wait_on(&e->waiters, "event");
}

/* ---- condition ---- */

int weft_aio_cond_create(weft_aio_cond **out, weft_aio_lock *lock) {
  if (!out) return WEFT_EINVAL;
  *out = NULL;
  if (!lock) return WEFT_EINVAL;
  weft_aio_cond *c = calloc(1, sizeof *c);
  if (!c) return WEFT_ENOMEM;
  c->lock = lock;
  *out = c;
  return 0;
}

void weft_aio_cond_destroy(weft_aio_cond *c) {
  if (!c) return;
  weft__wl_wake_all(&c->waiters, WEFT_ECLOSED);
  free(c);
}

/* The lock must come back whatever happened while we waited: the
 * re-acquire runs in a shield scope, which hides cancellation and
 * deadlines, so it can only end by getting the lock (or WEFT_ECLOSED if the
 * lock itself was destroyed meanwhile: a caller bug). */
static int reacquire(weft_aio_lock *l) {
  weft_aio_scope shield;
  weft_aio_shield_scope(&shield);
  int rc = weft_aio_lock_acquire(l);
  weft_aio_scope_exit(&shield);
  return rc;
}

int weft_aio_cond_wait(weft_aio_cond *c) {
  if (!c) return WEFT_EINVAL;
  weft_aio_task *me = weft_aio_current();
  if (!me || c->lock->owner != me) return WEFT_EPERM;
  int rc = weft__aio_check(); /* cancelled already: keep the lock, fail */
  if (rc) return rc;
  weft_aio_lock *lock = c->lock; /* c may be destroyed while we wait */
  weft__aio_wait w;
  weft__aio_wait_init(&w, weft__wl_abort);
  w.op = "condition";
  weft__wl_push(&c->waiters, &w);
  weft_aio_lock_release(lock);
  rc = weft__aio_suspend(&w);
  int rc2 = reacquire(lock);
  return rc ? rc : rc2;
}

/* Wakes up to n waiters, oldest first. A woken waiter then queues for the
 * lock behind anyone already waiting for it (asyncio does the same). */
void weft_aio_cond_notify(weft_aio_cond *c, size_t n) {
  if (!c) return;
  for (weft__aio_wait *w; n && (w = weft__wl_pop(&c->waiters)); n--) weft__aio_wake(w, 0);
}

void weft_aio_cond_notify_all(weft_aio_cond *c) {
  if (c) weft__wl_wake_all(&c->waiters, 0);
}
