/* src/sync/mutex.c — the three-state futex mutex of Drepper's "Futexes Are
 * Tricky" (mutex 3), with a brief spin before sleeping.
 *
 * state: 0 unlocked, 1 locked, 2 locked and maybe someone sleeps on it.
 * Only unlocking a 2 costs a syscall, so the uncontended lock/unlock pair is
 * two atomic instructions. A sleeper that wakes re-locks with 2 (it cannot
 * know whether others still sleep), at worst causing one needless wake. */
#include "core/internal.h"
#include "debug/debug_internal.h"
#include "sync/sync_internal.h"

enum { UNLOCKED = 0, LOCKED = 1, CONTENDED = 2 };

/* Waking a sleeping CPU costs microseconds here (PEERS.md), longer than most
 * critical sections: spinning about that long first usually wins. */
#define SPIN_TRIES 100

/* Acquire on success: the critical section cannot start before the lock is
 * ours, and it sees everything the previous owner wrote before unlocking. */
static bool try_acquire(uint32_t *state) {
  uint32_t expected = UNLOCKED;
  return __atomic_compare_exchange_n(state, &expected, LOCKED, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED);
}

static bool spin_acquire(uint32_t *state) {
  for (int i = 0; i < SPIN_TRIES; i++) {
    /* Relaxed peeks keep the cache line shared while the owner works. */
    if (weft_load_relaxed(state) == UNLOCKED && try_acquire(state)) return true;
    weft_cpu_relax();
  }
  return false;
}

int weft__mutex_lock_until(weft_mutex *m, uint64_t deadline_ns) {
  if (weft_likely(try_acquire(&m->state)) || spin_acquire(&m->state)) return 0;
  /* Announce a sleeper. If the exchange returns UNLOCKED the lock is ours
   * (acquire half of acq_rel); else sleep while it stays CONTENDED. The
   * kernel compares the word under its own lock, so an unlock between the
   * exchange and the sleep makes futex_wait return at once. */
  weft__waitmark *wm = weft__wait_begin("weft_mutex_lock", m); /* for stall reports */
  int rc = 0;
  while (weft_exchange(&m->state, CONTENDED) != UNLOCKED) {
    if (weft__futex_wait(&m->state, CONTENDED, deadline_ns) == WEFT_ETIMEDOUT) {
      rc = WEFT_ETIMEDOUT; /* leaves CONTENDED: costs one spare wake later */
      break;
    }
  }
  weft__wait_end(wm);
  return rc;
}

void weft_mutex_init(weft_mutex *m) {
  if (m) m->state = UNLOCKED;
}

void weft_mutex_destroy(weft_mutex *m) {
  if (m && WEFT__LOCKDEP) weft__lockdep_forget(m);
}

/* noinline: the lock checker's call site is our return address. */
__attribute__((noinline)) void weft_mutex_lock(weft_mutex *m) {
  if (!m) return;
  if (WEFT__LOCKDEP) weft__lockdep_check(m, __builtin_return_address(0));
  weft__mutex_lock_until(m, WEFT_FOREVER);
  if (WEFT__LOCKDEP) weft__lockdep_push(m, __builtin_return_address(0));
}

__attribute__((noinline)) int weft_mutex_trylock(weft_mutex *m) {
  if (!m) return WEFT_EINVAL;
  if (!try_acquire(&m->state)) return WEFT_EBUSY;
  /* a trylock never waits, so it adds no order to check */
  if (WEFT__LOCKDEP) weft__lockdep_push(m, __builtin_return_address(0));
  return 0;
}

__attribute__((noinline)) int weft_mutex_lock_timed(weft_mutex *m, uint64_t timeout_ns) {
  if (!m) return WEFT_EINVAL;
  if (WEFT__LOCKDEP) weft__lockdep_check(m, __builtin_return_address(0));
  int rc = try_acquire(&m->state) ? 0 : weft__mutex_lock_until(m, weft_deadline_after(timeout_ns));
  if (rc == 0 && WEFT__LOCKDEP) weft__lockdep_push(m, __builtin_return_address(0));
  return rc;
}

void weft_mutex_unlock(weft_mutex *m) {
  if (!m) return;
  if (WEFT__LOCKDEP) weft__lockdep_pop(m);
  weft__mutex_unlock_raw(m);
}

void weft__mutex_unlock_raw(weft_mutex *m) {
  /* Release (half of acq_rel): publishes the critical section to the next
   * owner. Only a CONTENDED lock can have sleepers, so only it needs a wake. */
  if (weft_exchange(&m->state, UNLOCKED) == CONTENDED) weft__futex_wake(&m->state, 1);
}
