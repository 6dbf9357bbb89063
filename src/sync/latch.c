/* src/sync/latch.c — countdown latch / wait group on a futex.
 *
 * Waiters sleep on "count still has the value I saw". As in sem.c, the
 * `waiters` count lets the final count_down skip the syscall, and the
 * waiter's "count myself, then read count" against the counter's "lower
 * count, then read waiters" is a Dekker pair; all four accesses are seq_cst
 * so one side always sees the other (see cond.c). Every change of count is
 * a read-modify-write with release (seq_cst includes it), so they
 * form one release sequence: a waiter that reads 0 with acquire sees the work
 * of every thread that counted down, not only the last one. */
#include <limits.h>
#include <stdint.h>
#include "core/internal.h"
#include "weft/sync.h"

int weft_latch_init(weft_latch *l, unsigned count) {
  if (!l || count > INT32_MAX) return WEFT_EINVAL;
  l->count = count;
  l->waiters = 0;
  return 0;
}

void weft_latch_destroy(weft_latch *l) {
  (void)l;
}

int weft_latch_add(weft_latch *l, unsigned n) {
  if (!l) return WEFT_EINVAL;
  uint32_t c = weft_load_relaxed(&l->count);
  do {
    if (n > INT32_MAX || c > INT32_MAX - n) return WEFT_ERANGE;
  } while (!__atomic_compare_exchange_n(&l->count, &c, c + n, true, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED));
  return 0;
}

int weft_latch_count_down(weft_latch *l) {
  if (!l) return WEFT_EINVAL;
  uint32_t c = weft_load_relaxed(&l->count);
  do {
    if (c == 0) return WEFT_ERANGE;
  } while (!__atomic_compare_exchange_n(&l->count, &c, c - 1, true, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED));
  /* seq_cst CAS above and load here: the Dekker pair with wait_until. */
  if (c == 1 && __atomic_load_n(&l->waiters, __ATOMIC_SEQ_CST) != 0)
    weft__futex_wake(&l->count, INT_MAX);
  return 0;
}

bool weft_latch_try_wait(const weft_latch *l) {
  return !l || weft_load_acquire(&l->count) == 0;
}

static int wait_until(weft_latch *l, uint64_t deadline_ns) {
  __atomic_fetch_add(&l->waiters, 1, __ATOMIC_SEQ_CST); /* Dekker, see top */
  int rc = 0;
  for (;;) {
    uint32_t c = __atomic_load_n(&l->count, __ATOMIC_SEQ_CST);
    if (c == 0) break;
    if (weft__futex_wait(&l->count, c, deadline_ns) == WEFT_ETIMEDOUT) {
      rc = weft_load_acquire(&l->count) == 0 ? 0 : WEFT_ETIMEDOUT;
      break;
    }
  }
  __atomic_fetch_sub(&l->waiters, 1, __ATOMIC_RELAXED);
  return rc;
}

void weft_latch_wait(weft_latch *l) {
  if (l && !weft_latch_try_wait(l)) wait_until(l, WEFT_FOREVER);
}

int weft_latch_wait_timed(weft_latch *l, uint64_t timeout_ns) {
  if (!l) return WEFT_EINVAL;
  if (weft_latch_try_wait(l)) return 0;
  return wait_until(l, weft_deadline_after(timeout_ns));
}
