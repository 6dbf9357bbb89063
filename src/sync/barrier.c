/* src/sync/barrier.c — reusable barrier with Python's semantics
 * (threading.Barrier): a waiter that times out breaks it, the others get
 * WEFT_EBROKEN, and reset makes it usable again.
 *
 * Each waiter parks on a node on its own stack, linked into the current
 * generation's list under `lock`. The last arriver (or a breaker, or reset)
 * writes every node's outcome while holding the lock and unlinks the list;
 * the barrier is immediately free for the next generation. Because each
 * outcome lives in the waiter's own node, a slow waiter can never be confused
 * by what later generations did — the problem a shared generation counter
 * has — and nobody has to wait for the previous generation to drain.
 *
 * A waiter spins briefly on its node before sleeping on it (waking a CPU
 * costs microseconds here): when the generation fills quickly, releasing it
 * costs no system call at all. */
#include "core/internal.h"
#include "sync/sync_internal.h"

enum { WAITING = 0, SLEEPING = 1, RELEASED = 2, BROKEN = 3 };
#define SPIN_TRIES 200

struct waiter {
  uint32_t state; /* atomic: WAITING/SLEEPING until an outcome is written */
  struct waiter *next;
};

int weft_barrier_init(weft_barrier *b, unsigned parties) {
  if (!b || parties == 0 || parties > INT32_MAX) return WEFT_EINVAL;
  weft_mutex_init(&b->lock);
  b->parties = parties;
  b->count = 0;
  b->broken = 0;
  b->waiters = NULL;
  return 0;
}

void weft_barrier_destroy(weft_barrier *b) {
  (void)b;
}

/* Hands every waiter of the current generation its outcome (lock held). */
static void finish_generation(weft_barrier *b, uint32_t outcome) {
  struct waiter *w = b->waiters;
  b->waiters = NULL;
  b->count = 0;
  while (w) {
    /* Read next first: once the outcome is visible the waiter may return
     * and its node (on its stack) is gone. A wake that then lands on a
     * reused address is only a spurious wake-up, which every futex user in
     * weft tolerates. Release: the waiter's acquire load then sees
     * everything every party wrote before arriving (they all passed through
     * `lock`, which we hold). */
    struct waiter *next = w->next;
    if (weft_exchange(&w->state, outcome) == SLEEPING) weft__futex_wake(&w->state, 1);
    w = next;
  }
}

static uint32_t outcome_code(uint32_t state) {
  return state == RELEASED ? 0 : WEFT_EBROKEN;
}

/* Spins, then sleeps, until an outcome arrives or the deadline passes. */
static int await_outcome(struct waiter *w, uint64_t deadline_ns) {
  for (int i = 0; i < SPIN_TRIES; i++) {
    if (weft_load_acquire(&w->state) >= RELEASED) return 0;
    weft_cpu_relax();
  }
  uint32_t expected = WAITING;
  /* The sleeper flag shares the word with the outcome, so the releaser's
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

/* After a timeout: break the generation unless an outcome won the race. */
static int time_out(weft_barrier *b, struct waiter *w) {
  weft_mutex_lock(&b->lock);
  int rc = WEFT_ETIMEDOUT;
  if (weft_load_acquire(&w->state) >= RELEASED) {
    rc = outcome_code(w->state);
  } else {
    b->broken = 1;
    finish_generation(b, BROKEN); /* our own node too: it leaves the list */
  }
  weft_mutex_unlock(&b->lock);
  return rc;
}

static int wait_until(weft_barrier *b, uint64_t deadline_ns) {
  struct waiter w = {WAITING, NULL};
  weft_mutex_lock(&b->lock);
  if (b->broken) {
    weft_mutex_unlock(&b->lock);
    return WEFT_EBROKEN;
  }
  if (++b->count == b->parties) {
    finish_generation(b, RELEASED);
    weft_mutex_unlock(&b->lock);
    return WEFT_BARRIER_SERIAL;
  }
  w.next = b->waiters;
  b->waiters = &w;
  weft_mutex_unlock(&b->lock);
  if (await_outcome(&w, deadline_ns) == WEFT_ETIMEDOUT) return time_out(b, &w);
  return outcome_code(weft_load_acquire(&w.state));
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
  finish_generation(b, BROKEN); /* current waiters get WEFT_EBROKEN */
  b->broken = 0;
  weft_mutex_unlock(&b->lock);
}
