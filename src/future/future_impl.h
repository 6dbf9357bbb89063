/* src/future/future_impl.h — the future's private layout, shared by the
 * files of src/future (future.c: one future; future_multi.c: waiting on many).
 *
 * The state word is the heart: one uint32_t holding the status and three
 * flags, so that every transition is a single CAS and waiters can futex-wait
 * on it directly.
 *
 *   bits 0-2  status (enum weft_future_status)
 *   CLAIMED   a finisher owns the result fields (code, value, message) and is
 *             writing them; the status bits still show the old status
 *   SLEEPERS  some thread futex-waits on the word: the finisher must wake it
 *   LISTENERS callbacks or multi-future watchers are registered: the finisher
 *             must take the lock and run/signal them
 *
 * A finish with neither SLEEPERS nor LISTENERS is two CASes and no lock, no
 * syscall (the fast path the pool relies on). */
#ifndef WEFT_FUTURE_IMPL_H
#define WEFT_FUTURE_IMPL_H

#include <pthread.h>
#include "core/internal.h"
#include "weft/future.h"

#define FUT_STATUS_MASK 0x7u
#define FUT_CLAIMED     0x8u
#define FUT_SLEEPERS    0x10u
#define FUT_LISTENERS   0x20u

/* A multi-future waiter (wait_any, wait_first_error, as_completed): one futex
 * word for its single owner thread, plus a lock-free stack of the links whose
 * futures finished, in the order the finishers pushed them. */
struct fut_waiter {
  uint32_t seq;            /* bumped by every signal; the owner futex-waits on it */
  uint32_t sleeping;       /* 1 while the owner may be inside futex_wait */
  struct fut_link *done;   /* Treiber stack, pushed by finishers */
};

/* One future watched by one waiter. Lives in the waiter's storage; linked
 * into the future's listener list under the future's lock. */
struct fut_link {
  struct fut_link *prev, *next;   /* future's listener list (under f->lock) */
  struct fut_link *done_next;     /* waiter's done stack / local ready queue */
  struct fut_waiter *waiter;
  weft_future *f;
  size_t index;
  bool registered;                /* in f's list; written under f->lock */
};

struct fut_callback {
  struct fut_callback *next;
  weft_future_cb cb;
  void *arg;
};

struct weft_future {
  uint32_t state;                 /* status + flags, futex word */
  uint32_t refs;
  uint32_t cancel_requested;
  int code;                       /* valid once the status is final */
  void *value;
  size_t size;
  void (*value_free)(void *);
  char *message;
  /* Only touched when LISTENERS is (about to be) set: registration of
   * callbacks and watchers, and the finisher's hand-off to them. */
  pthread_mutex_t lock;
  struct fut_callback *cb_head, *cb_tail;
  struct fut_link *listeners;
  bool dispatching;               /* a finisher is running callbacks (under lock) */
};

static inline bool fut_status_final(uint32_t state) {
  return (state & FUT_STATUS_MASK) >= WEFT_FUTURE_DONE;
}

/* Registers link on its future; false when the future is already finished
 * (then nothing was registered and the caller treats it as done). */
bool weft__future_watch(struct fut_link *link);
/* Removes link from its future if still there. Safe to call twice. After it
 * returns, no finisher touches link or its waiter any more. */
void weft__future_unwatch(struct fut_link *link);
/* Waits for f until the absolute deadline; returns f's code or WEFT_ETIMEDOUT. */
int weft__future_wait_until(weft_future *f, uint64_t deadline_ns);
/* As wait_until, but first offers the wait to the pool's helper (a worker
 * runs other tasks meanwhile). */
int weft__future_wait_deadline(weft_future *f, uint64_t deadline_ns);

#endif /* WEFT_FUTURE_IMPL_H */
