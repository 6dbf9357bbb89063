/* src/sync/event.c — events (threading.Event) and once-initialisation.
 *
 * Event word: bit 0 = set, bit 1 = someone sleeps, bits 2.. = how many times
 * it went from clear to set. Waiters sleep on the exact word they saw, so
 * any set changes it and wakes them. As in Python, a waiter woken by a set
 * returns success even when the event was cleared again before it ran: it
 * compares the set count, not only the flag. Waiter bit and flag share one
 * word, so no fences are needed: the kernel compares the whole word. */
#include <limits.h>
#include "core/internal.h"
#include "sync/sync_internal.h"

enum { SET_BIT = 1u, SLEEPER_BIT = 2u, GEN_ONE = 4u };

void weft_event_init(weft_event *e) {
  if (e) e->state = 0;
}

void weft_event_destroy(weft_event *e) {
  (void)e;
}

void weft__event_set(weft_event *e, bool shared) {
  if (!e) return;
  uint32_t s = weft_load_relaxed(&e->state);
  uint32_t next;
  do {
    if (s & SET_BIT) return;
    next = ((s & ~(SET_BIT | SLEEPER_BIT)) + GEN_ONE) | SET_BIT;
    /* Release: what the setter wrote before set is visible to waiters that
     * see the new word (they load it with acquire). */
  } while (!__atomic_compare_exchange_n(&e->state, &s, next, true, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED));
  if (s & SLEEPER_BIT) weft__futex_wake_in(&e->state, INT_MAX, shared);
}

void weft_event_set(weft_event *e) {
  weft__event_set(e, false);
}

void weft_event_clear(weft_event *e) {
  if (e) __atomic_fetch_and(&e->state, ~SET_BIT, __ATOMIC_RELAXED);
}

bool weft_event_is_set(const weft_event *e) {
  return e && (weft_load_acquire(&e->state) & SET_BIT);
}

/* True once the word shows a set that happened after `seen` was read. */
static bool was_set_since(uint32_t seen, uint32_t now) {
  return (now & SET_BIT) || (now & ~(SET_BIT | SLEEPER_BIT)) != (seen & ~(SET_BIT | SLEEPER_BIT));
}

static int wait_until(weft_event *e, uint64_t deadline_ns, bool shared) {
  uint32_t seen = weft_load_acquire(&e->state);
  if (seen & SET_BIT) return 0;
  for (;;) {
    uint32_t want = seen | SLEEPER_BIT;
    if (seen != want &&
        !__atomic_compare_exchange_n(&e->state, &seen, want, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_ACQUIRE)) {
      if (was_set_since(want, seen)) return 0;
      continue; /* a clear or another sleeper changed the word: retry */
    }
    int rc = weft__futex_wait_in(&e->state, want, deadline_ns, shared);
    uint32_t now = weft_load_acquire(&e->state);
    if (was_set_since(want, now)) return 0;
    if (rc == WEFT_ETIMEDOUT) return WEFT_ETIMEDOUT;
    seen = now;
  }
}

void weft_event_wait(weft_event *e) {
  if (e) wait_until(e, WEFT_FOREVER, false);
}

int weft__event_wait_timed(weft_event *e, uint64_t timeout_ns, bool shared) {
  if (!e) return WEFT_EINVAL;
  return wait_until(e, weft_deadline_after(timeout_ns), shared);
}

int weft_event_wait_timed(weft_event *e, uint64_t timeout_ns) {
  return weft__event_wait_timed(e, timeout_ns, false);
}

/* ---- once: 0 new, 1 running, 2 running with sleepers, 3 done ---- */
enum { ONCE_NEW = 0, ONCE_RUNNING = 1, ONCE_SLEEPERS = 2, ONCE_DONE = 3 };

static void wait_for_runner(weft_once *o) {
  for (;;) {
    uint32_t s = weft_load_acquire(&o->state);
    if (s == ONCE_DONE) return;
    if (s == ONCE_RUNNING &&
        !__atomic_compare_exchange_n(&o->state, &s, ONCE_SLEEPERS, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_ACQUIRE))
      continue;
    weft__futex_wait(&o->state, ONCE_SLEEPERS, WEFT_FOREVER);
  }
}

void weft_call_once(weft_once *o, void (*fn)(void *arg), void *arg) {
  if (!o || !fn) return;
  /* Acquire: pairs with the release below, so fn's effects are visible to
   * every caller that sees DONE. */
  if (weft_likely(weft_load_acquire(&o->state) == ONCE_DONE)) return;
  uint32_t expected = ONCE_NEW;
  if (__atomic_compare_exchange_n(&o->state, &expected, ONCE_RUNNING, false, __ATOMIC_ACQUIRE,
                                  __ATOMIC_ACQUIRE)) {
    fn(arg);
    if (weft_exchange(&o->state, ONCE_DONE) == ONCE_SLEEPERS)
      weft__futex_wake(&o->state, INT_MAX);
    return;
  }
  wait_for_runner(o);
}
