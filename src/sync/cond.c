/* src/sync/cond.c — condition variable on a sequence counter.
 *
 * A waiter reads `seq` while it still holds the mutex, then sleeps on "seq
 * still has that value". A signaller bumps seq before waking, so a signal
 * that lands between the waiter's unlock and its sleep makes the kernel's
 * compare fail and the waiter returns at once: no lost wake-up.
 *
 * `waiters` only lets signal skip the syscall when nobody waits. The waiter
 * increments it and then reads seq; the signaller bumps seq and then reads
 * waiters. That is a store-then-load on both sides (Dekker): with all four
 * accesses seq_cst, they fall into one total order, so at least one side
 * sees the other's store — either the signaller sees the waiter and wakes
 * it, or the waiter sees the new seq and does not sleep. (seq_cst accesses
 * rather than fences: same guarantee, no mfence on x86, and ThreadSanitizer
 * models them, which it does not do for fences.) With the usual discipline —
 * predicate changed under the mutex — the mutex alone would already order
 * this; the seq_cst pair keeps signals sent without the mutex safe too. */
#include <limits.h>
#include "core/internal.h"
#include "debug/debug_internal.h"
#include "sync/sync_internal.h"

void weft_cond_init(weft_cond *c) {
  if (c) c->seq = c->waiters = 0;
}

void weft_cond_destroy(weft_cond *c) {
  (void)c;
}

int weft__cond_wait_until(weft_cond *c, weft_mutex *m, uint64_t deadline_ns) {
  /* Relaxed: we hold m, and any signaller that changed the predicate did so
   * under m after we release it, so its bump comes later in seq's order. */
  uint32_t seq = weft_load_relaxed(&c->seq);
  __atomic_fetch_add(&c->waiters, 1, __ATOMIC_SEQ_CST); /* Dekker, see top */
  weft__mutex_unlock_raw(m);
  int rc = 0;
  if (__atomic_load_n(&c->seq, __ATOMIC_SEQ_CST) == seq) {
    weft__waitmark *wm = weft__wait_begin("weft_cond_wait", c); /* for stall reports */
    rc = weft__futex_wait(&c->seq, seq, deadline_ns);
    weft__wait_end(wm);
  }
  /* Relaxed: a stale higher count only costs a signaller a spare syscall. */
  __atomic_fetch_sub(&c->waiters, 1, __ATOMIC_RELAXED);
  weft__mutex_lock_until(m, WEFT_FOREVER);
  return rc;
}

void weft_cond_wait(weft_cond *c, weft_mutex *m) {
  if (c && m) weft__cond_wait_until(c, m, WEFT_FOREVER);
}

int weft_cond_wait_timed(weft_cond *c, weft_mutex *m, uint64_t timeout_ns) {
  if (!c || !m) return WEFT_EINVAL;
  return weft__cond_wait_until(c, m, weft_deadline_after(timeout_ns));
}

static void bump_and_wake(weft_cond *c, int n) {
  __atomic_fetch_add(&c->seq, 1, __ATOMIC_SEQ_CST); /* Dekker, see top */
  if (__atomic_load_n(&c->waiters, __ATOMIC_SEQ_CST) != 0) weft__futex_wake(&c->seq, n);
}

void weft_cond_signal(weft_cond *c) {
  if (c) bump_and_wake(c, 1);
}

void weft_cond_broadcast(weft_cond *c) {
  /* Wakes all rather than requeueing onto the mutex: simpler, and the woken
   * threads mostly find the mutex free in turn after spinning. */
  if (c) bump_and_wake(c, INT_MAX);
}
