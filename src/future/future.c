/* src/future/future.c — one future: lifetime, state transitions, waiting,
 * cancellation and callbacks. See future_impl.h for the state word. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "future/future_impl.h"
#include "future/future_internal.h"

/* Spins before sleeping on an unfinished future: a short task finishing
 * within a microsecond or so saves the waiter a futex round trip. Kept small
 * because the machines are often oversubscribed. */
#define FUT_SPIN 32

static weft__future_wait_helper wait_helper;

static weft__future_wait_until_helper wait_until_helper;

void weft__future_set_wait_until_helper(weft__future_wait_until_helper h) {
  __atomic_store_n(&wait_until_helper, h, __ATOMIC_RELEASE);
}

weft__future_wait_until_helper weft__future_get_wait_until_helper(void) {
  return __atomic_load_n(&wait_until_helper, __ATOMIC_ACQUIRE);
}

void weft__future_set_wait_helper(weft__future_wait_helper h) {
  __atomic_store_n(&wait_helper, h, __ATOMIC_RELEASE);
}

/* ---- lifetime ---- */

int weft_future_create(weft_future **out) {
  if (!out) return WEFT_EINVAL;
  weft_future *f = calloc(1, sizeof *f);
  if (!f) return WEFT_ENOMEM;
  if (pthread_mutex_init(&f->lock, NULL) != 0) {
    free(f);
    return WEFT_ENOMEM;
  }
  f->state = WEFT_FUTURE_PENDING;
  f->refs = 1;
  *out = f;
  return 0;
}

void weft_future_retain(weft_future *f) {
  if (f) __atomic_fetch_add(&f->refs, 1, __ATOMIC_RELAXED); /* caller already holds one */
}

static void future_free(weft_future *f) {
  if (f->value_free && f->value) f->value_free(f->value);
  free(f->message);
  /* Callbacks of a future freed while unfinished never run. */
  for (struct fut_callback *c = f->cb_head, *next; c; c = next) {
    next = c->next;
    free(c);
  }
  pthread_mutex_destroy(&f->lock);
  free(f);
}

void weft_future_release(weft_future *f) {
  if (!f) return;
  /* acq_rel: the last releaser must see every other holder's writes. */
  if (weft_fetch_sub(&f->refs, 1) == 1) future_free(f);
}

/* ---- finishing ---- */

/* Makes the caller the only thread allowed to write the result fields. */
static int claim(weft_future *f) {
  uint32_t s = weft_load_acquire(&f->state);
  for (;;) {
    if (fut_status_final(s) || (s & FUT_CLAIMED)) return WEFT_EALREADY;
    if (weft_cas(&f->state, &s, s | FUT_CLAIMED)) return 0;
  }
}

/* Stores the final status (dropping all flags) and returns the old word.
 * The CAS is a release: the result fields written before it are visible to
 * every thread that acquire-loads a final status. Waiters and registrants
 * may still add flags concurrently, hence the loop. */
static uint32_t publish(weft_future *f, uint32_t status) {
  uint32_t s = weft_load_relaxed(&f->state);
  while (!weft_cas(&f->state, &s, status)) {
  }
  return s;
}

static void signal_waiter(struct fut_link *l) {
  struct fut_waiter *w = l->waiter;
  struct fut_link *head = __atomic_load_n(&w->done, __ATOMIC_RELAXED);
  do {
    l->done_next = head;
  } while (!__atomic_compare_exchange_n(&w->done, &head, l, true, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED));
  /* seq_cst pairs with the owner's store of `sleeping` then load of `done`
   * (Dekker): either it sees our push or we see it sleeping and wake it. */
  __atomic_fetch_add(&w->seq, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&w->sleeping, __ATOMIC_SEQ_CST)) weft__futex_wake(&w->seq, 1);
}

/* Detaches the watchers (signalled under the lock, so that a waiter's
 * unwatch cannot return, and free its links, while we still touch them)
 * and runs callbacks outside it, looping while new ones get appended, so
 * that callbacks run in registration order even when registered mid-run. */
static void dispatch_listeners(weft_future *f) {
  pthread_mutex_lock(&f->lock);
  for (struct fut_link *l = f->listeners, *next; l; l = next) {
    next = l->next;
    l->registered = false;
    signal_waiter(l);
  }
  f->listeners = NULL;
  for (;;) {
    struct fut_callback *c = f->cb_head;
    f->cb_head = f->cb_tail = NULL;
    f->dispatching = c != NULL;
    pthread_mutex_unlock(&f->lock);
    if (!c) return;
    while (c) {
      struct fut_callback *next = c->next;
      c->cb(f, c->arg);
      free(c);
      c = next;
    }
    pthread_mutex_lock(&f->lock);
  }
}

static void complete(weft_future *f, int code, void *value, size_t size,
                     void (*value_free)(void *), const char *message) {
  f->code = code;
  f->value = value;
  f->size = size;
  f->value_free = value_free;
  f->message = message && *message ? strdup(message) : NULL; /* NULL reads as "" */
  uint32_t status = code == 0                ? WEFT_FUTURE_DONE
                    : code == WEFT_ECANCELED ? WEFT_FUTURE_CANCELLED
                                             : WEFT_FUTURE_FAILED;
  uint32_t old = publish(f, status);
  if (old & FUT_SLEEPERS) weft__futex_wake(&f->state, INT_MAX);
  if (old & FUT_LISTENERS) {
    /* A callback may drop the reference our caller lent us: keep f alive. */
    weft_future_retain(f);
    dispatch_listeners(f);
    weft_future_release(f);
  }
}

int weft_future_finish(weft_future *f, int code, void *value, size_t size,
                       void (*value_free)(void *), const char *message) {
  if (!f || code > 0) return WEFT_EINVAL;
  int rc = claim(f);
  if (rc) return rc;
  complete(f, code, value, size, value_free, message);
  return 0;
}

int weft_future_start(weft_future *f) {
  if (!f) return WEFT_EINVAL;
  uint32_t s = weft_load_acquire(&f->state);
  for (;;) {
    uint32_t status = s & FUT_STATUS_MASK;
    if (status == WEFT_FUTURE_CANCELLED) return WEFT_ECANCELED;
    /* Pending but claimed: a cancel is completing it; do not run the task. */
    if (status == WEFT_FUTURE_PENDING && (s & FUT_CLAIMED)) return WEFT_ECANCELED;
    if (status != WEFT_FUTURE_PENDING) return WEFT_EALREADY;
    uint32_t next = (s & ~FUT_STATUS_MASK) | WEFT_FUTURE_RUNNING;
    if (weft_cas(&f->state, &s, next)) return 0;
  }
}

int weft_future_cancel(weft_future *f) {
  if (!f) return WEFT_EINVAL;
  uint32_t s = weft_load_acquire(&f->state);
  for (;;) {
    if (fut_status_final(s) || (s & FUT_CLAIMED)) return WEFT_EALREADY;
    if ((s & FUT_STATUS_MASK) == WEFT_FUTURE_RUNNING) {
      /* The task polls this through weft_task_cancelled(). */
      __atomic_store_n(&f->cancel_requested, 1, __ATOMIC_RELEASE);
      return WEFT_EBUSY;
    }
    if (weft_cas(&f->state, &s, s | FUT_CLAIMED)) break; /* pending: ours now */
  }
  __atomic_store_n(&f->cancel_requested, 1, __ATOMIC_RELEASE);
  complete(f, WEFT_ECANCELED, NULL, 0, NULL, NULL);
  return 0;
}

bool weft_future_cancel_requested(const weft_future *f) {
  if (!f) return false;
  return __atomic_load_n(&f->cancel_requested, __ATOMIC_ACQUIRE) != 0 ||
         weft_future_status(f) == WEFT_FUTURE_CANCELLED;
}

/* ---- observing ---- */

int weft_future_status(const weft_future *f) {
  if (!f) return WEFT_EINVAL;
  return (int)(weft_load_acquire(&f->state) & FUT_STATUS_MASK);
}

bool weft_future_is_finished(const weft_future *f) {
  return f && fut_status_final(weft_load_acquire(&f->state));
}

int weft_future_error(const weft_future *f) {
  if (!f) return WEFT_EINVAL;
  return weft_future_is_finished(f) ? f->code : 0; /* acquire above orders the read */
}

const char *weft_future_message(const weft_future *f) {
  if (!weft_future_is_finished(f) || !f->message) return "";
  return f->message;
}

/* ---- waiting ---- */

int weft__future_wait_until(weft_future *f, uint64_t deadline_ns) {
  uint32_t s = weft_load_acquire(&f->state);
  for (int i = 0; i < FUT_SPIN && !fut_status_final(s); i++) {
    weft_cpu_relax();
    s = weft_load_acquire(&f->state);
  }
  while (!fut_status_final(s)) {
    /* The flag is set by an RMW on the same word the finisher's publish
     * CAS reads, so either it sees the flag and wakes us, or our CAS fails
     * and we re-read the final status: no lost wake-up. */
    if (!(s & FUT_SLEEPERS)) {
      if (!weft_cas(&f->state, &s, s | FUT_SLEEPERS)) continue;
      s |= FUT_SLEEPERS;
    }
    int rc = weft__futex_wait(&f->state, s, deadline_ns);
    s = weft_load_acquire(&f->state);
    if (rc == WEFT_ETIMEDOUT && !fut_status_final(s)) return WEFT_ETIMEDOUT;
  }
  return f->code;
}

int weft__future_wait_deadline(weft_future *f, uint64_t deadline) {
  if (fut_status_final(weft_load_acquire(&f->state))) return f->code;
  weft__future_wait_helper helper = __atomic_load_n(&wait_helper, __ATOMIC_ACQUIRE);
  if (helper) {
    int rc = helper(f, deadline);
    if (rc == 0) return weft__future_wait_until(f, deadline); /* finished: acquire + code */
    if (rc != WEFT_EAGAIN) return rc;
  }
  return weft__future_wait_until(f, deadline);
}

int weft_future_wait_timed(weft_future *f, uint64_t timeout_ns) {
  if (!f) return WEFT_EINVAL;
  return weft__future_wait_deadline(f, weft_deadline_after(timeout_ns));
}

int weft_future_wait(weft_future *f) {
  return weft_future_wait_timed(f, WEFT_FOREVER);
}

int weft_future_result(weft_future *f, void **value, size_t *size) {
  if (!f) return WEFT_EINVAL;
  int rc = weft_future_wait(f);
  if (value) *value = f->value;
  if (size) *size = f->size;
  return rc;
}

/* ---- registration of callbacks and watchers ---- */

/* Sets LISTENERS unless the future is final. Called under f->lock, so a
 * finisher that sees the flag blocks on the lock until we have linked our
 * node; one that published first makes our CAS fail. */
static bool mark_listeners(weft_future *f) {
  uint32_t s = weft_load_acquire(&f->state);
  for (;;) {
    if (fut_status_final(s)) return false;
    if (s & FUT_LISTENERS) return true;
    if (weft_cas(&f->state, &s, s | FUT_LISTENERS)) return true;
  }
}

int weft_future_on_done(weft_future *f, weft_future_cb cb, void *arg) {
  if (!f || !cb) return WEFT_EINVAL;
  struct fut_callback *node = malloc(sizeof *node);
  if (!node) return WEFT_ENOMEM;
  node->next = NULL;
  node->cb = cb;
  node->arg = arg;
  pthread_mutex_lock(&f->lock);
  /* While a finisher is still running earlier callbacks, queue behind them
   * so that registration order holds. */
  if (!f->dispatching && !mark_listeners(f)) {
    pthread_mutex_unlock(&f->lock);
    free(node);
    cb(f, arg); /* may release f: touch nothing afterwards */
    return 0;
  }
  if (f->cb_tail) f->cb_tail->next = node;
  else f->cb_head = node;
  f->cb_tail = node;
  pthread_mutex_unlock(&f->lock);
  return 0;
}

bool weft__future_watch(struct fut_link *link) {
  weft_future *f = link->f;
  link->registered = false;
  pthread_mutex_lock(&f->lock);
  /* A local copy: once unlocked, a finisher may clear link->registered. */
  bool watching = mark_listeners(f);
  if (watching) {
    link->prev = NULL;
    link->next = f->listeners;
    if (f->listeners) f->listeners->prev = link;
    f->listeners = link;
    link->registered = true;
  }
  pthread_mutex_unlock(&f->lock);
  return watching;
}

void weft__future_unwatch(struct fut_link *link) {
  weft_future *f = link->f;
  pthread_mutex_lock(&f->lock);
  if (link->registered) {
    if (link->prev) link->prev->next = link->next;
    else f->listeners = link->next;
    if (link->next) link->next->prev = link->prev;
    link->registered = false;
  }
  pthread_mutex_unlock(&f->lock);
}
