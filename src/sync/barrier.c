/* src/sync/barrier.c — reusable barrier with Python's semantics
 * (threading.Barrier): a waiter that times out breaks it, the others get
 * WEFT_EBROKEN, and reset makes it usable again.
 *
 * Each waiter parks on a node on its own stack, linked into the current
 * generation's list under `lock`. The last arriver (or a breaker, or reset)
 * detaches the list under the lock — the barrier is at once free for the
 * next generation — and then, outside the lock, writes each node's outcome
 * and wakes its owner if it sleeps. Because each outcome lives in the
 * waiter's own node, a slow waiter is never confused by what later
 * generations did (the trouble with a shared generation word), and nobody
 * waits for the previous generation to drain. Wakes happen outside the lock
 * so that a woken thread arriving again does not find the lock held.
 *
 * Waiters sleep at once rather than spinning first: on the shared 2-CPU
 * machines measured (docs/sync.md), a spinning waiter only delayed the
 * thread it waited for; 50 spins cost 20-100% per generation, 400 cost 3x. */
#include "core/internal.h"
#include "sync/sync_internal.h"

enum { WAITING = 0, SLEEPING = 1, RELEASED = 2, BROKEN = 3 };

struct waiter {
  uint32_t state;      /* atomic: WAITING/SLEEPING until an outcome arrives */
  uint32_t generation; /* the barrier's generation when it arrived */
  struct waiter *next;
};

int weft_barrier_init(weft_barrier *b, unsigned parties) {
  if (!b || parties == 0 || parties > INT32_MAX) return WEFT_EINVAL;
  weft_mutex_init(&b->lock);
  b->parties = parties;
  b->count = 0;
  b->broken = 0;
  b->generation = 0;
  b->waiters = NULL;
  return 0;
}

void weft_barrier_destroy(weft_barrier *b) {
  (void)b;
}

/* Ends the current generation (lock held): returns its waiters, whose
 * outcome the caller must deliver after unlocking. */
static struct waiter *detach_generation(weft_barrier *b) {
  struct waiter *list = b->waiters;
  b->waiters = NULL;
  b->count = 0;
  b->generation++;
  return list;
}

static void deliver(struct waiter *w, uint32_t outcome) {
  while (w) {
    /* Read next first: once the outcome is visible the waiter may return
     * and its node (on its stack) is gone. A wake that then lands on a
     * reused address is only a spurious wake-up, which every futex user in
     * weft tolerates. The exchange releases: the waiter's acquire load then
     * sees what every party wrote before arriving (all of it passed through
     * `lock` before the detach). */
    struct waiter *next = w->next;
    if (weft_exchange(&w->state, outcome) == SLEEPING) weft__futex_wake(&w->state, 1);
    w = next;
  }
}

static int outcome_code(const struct waiter *w) {
  return weft_load_acquire(&w->state) == RELEASED ? 0 : WEFT_EBROKEN;
}

/* Sleeps until an outcome arrives or the deadline passes. */
static int await_outcome(struct waiter *w, uint64_t deadline_ns) {
  uint32_t expected = WAITING;
  /* The sleeper flag shares the word with the outcome, so deliver's
   * exchange either sees SLEEPING and wakes us, or we see its outcome. */
  if (!__atomic_compare_exchange_n(&w->state, &expected, SLEEPING, false, __ATOMIC_ACQUIRE,
                                   __ATOMIC_ACQUIRE))
    return 0;
  while (weft_load_acquire(&w->state) == SLEEPING) {
    if (weft__futex_wait(&w->state, SLEEPING, deadline_ns) == WEFT_ETIMEDOUT)
      return WEFT_ETIMEDOUT;
  }
  return 0;
}

/* After a timeout: break the generation, unless it already ended — then
 * our outcome is being delivered and we wait for it. */
static int time_out(weft_barrier *b, struct waiter *w) {
  weft_mutex_lock(&b->lock);
  if (w->generation != b->generation) {
    weft_mutex_unlock(&b->lock);
    await_outcome(w, WEFT_FOREVER);
    return outcome_code(w);
  }
  b->broken = 1;
  struct waiter *list = detach_generation(b); /* our own node is in it */
  weft_mutex_unlock(&b->lock);
  deliver(list, BROKEN);
  return WEFT_ETIMEDOUT;
}

static int wait_until(weft_barrier *b, uint64_t deadline_ns) {
  struct waiter w = {WAITING, 0, NULL};
  weft_mutex_lock(&b->lock);
  if (b->broken) {
    weft_mutex_unlock(&b->lock);
    return WEFT_EBROKEN;
  }
  if (++b->count == b->parties) {
    struct waiter *list = detach_generation(b);
    weft_mutex_unlock(&b->lock);
    deliver(list, RELEASED);
    return WEFT_BARRIER_SERIAL;
  }
  w.generation = b->generation;
  w.next = b->waiters;
  b->waiters = &w;
  weft_mutex_unlock(&b->lock);
  if (await_outcome(&w, deadline_ns) == WEFT_ETIMEDOUT) return time_out(b, &w);
  return outcome_code(&w);
}

int weft_barrier_wait(weft_barrier *b) {
  return b ? wait_until(b, WEFT_FOREVER) : WEFT_EINVAL;
}

int weft_barrier_wait_timed(weft_barrier *b, uint64_t timeout_ns) {
  return b ? wait_until(b, weft_deadline_after(timeout_ns)) : WEFT_EINVAL;
}

void weft_barrier_reset(weft_barrier *b) {
  if (!b) return;
  weft_mutex_lock(&b->lock);
  struct waiter *list = detach_generation(b); /* its waiters get WEFT_EBROKEN */
  b->broken = 0;
  weft_mutex_unlock(&b->lock);
  deliver(list, BROKEN);
}
