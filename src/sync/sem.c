/* src/sync/sem.c — counting semaphore on a futex.
 *
 * Waiters sleep on "value is still 0". `waiters` lets post skip the syscall
 * when nobody sleeps; as in cond.c, the waiter's "count myself, then read
 * value" and the poster's "raise value, then read waiters" form a Dekker
 * pair, made safe by making all four accesses seq_cst: either the poster
 * sees the waiter and wakes one, or the waiter sees the new value and takes
 * it. The futex compare in the kernel then closes the last gap (a post
 * between our read and our sleep makes the sleep return at once). */
#include <stdint.h>
#include "core/internal.h"
#include "sync/sync_internal.h"

int weft_sem_init(weft_sem *s, unsigned value) {
  if (!s || value > INT32_MAX) return WEFT_EINVAL;
  s->value = value;
  s->waiters = 0;
  return 0;
}

void weft_sem_destroy(weft_sem *s) {
  (void)s;
}

/* Acquire on success: pairs with the release in post, so what the poster
 * wrote before posting is visible to the thread that takes the unit. */
static bool try_take(weft_sem *s) {
  uint32_t v = weft_load_relaxed(&s->value);
  while (v > 0) {
    if (__atomic_compare_exchange_n(&s->value, &v, v - 1, true, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED))
      return true;
  }
  return false;
}

static int wait_until(weft_sem *s, uint64_t deadline_ns, bool shared) {
  __atomic_fetch_add(&s->waiters, 1, __ATOMIC_SEQ_CST); /* Dekker, see top */
  int rc = 0;
  for (;;) {
    if (__atomic_load_n(&s->value, __ATOMIC_SEQ_CST) != 0) {
      if (try_take(s)) break;
      continue; /* another thread took it first: look again */
    }
    if (weft__futex_wait_in(&s->value, 0, deadline_ns, shared) == WEFT_ETIMEDOUT) {
      /* A post may have raced the timeout and woken nobody: take it. */
      rc = try_take(s) ? 0 : WEFT_ETIMEDOUT;
      break;
    }
  }
  /* Relaxed: a stale higher count only costs a poster a spare wake. */
  __atomic_fetch_sub(&s->waiters, 1, __ATOMIC_RELAXED);
  return rc;
}

void weft_sem_wait(weft_sem *s) {
  if (s && !try_take(s)) wait_until(s, WEFT_FOREVER, false);
}

int weft_sem_trywait(weft_sem *s) {
  if (!s) return WEFT_EINVAL;
  return try_take(s) ? 0 : WEFT_EAGAIN;
}

int weft__sem_wait_timed(weft_sem *s, uint64_t timeout_ns, bool shared) {
  if (!s) return WEFT_EINVAL;
  if (try_take(s)) return 0;
  return wait_until(s, weft_deadline_after(timeout_ns), shared);
}

int weft_sem_wait_timed(weft_sem *s, uint64_t timeout_ns) {
  return weft__sem_wait_timed(s, timeout_ns, false);
}

int weft__sem_post(weft_sem *s, bool shared) {
  if (!s) return WEFT_EINVAL;
  uint32_t v = weft_load_relaxed(&s->value);
  do {
    if (v >= INT32_MAX) return WEFT_ERANGE;
    /* seq_cst (which includes release, pairing with try_take's acquire): the
     * Dekker pair with wait_until, see top. */
  } while (!__atomic_compare_exchange_n(&s->value, &v, v + 1, true, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED));
  if (__atomic_load_n(&s->waiters, __ATOMIC_SEQ_CST) != 0) weft__futex_wake_in(&s->value, 1, shared);
  return 0;
}

int weft_sem_post(weft_sem *s) {
  return weft__sem_post(s, false);
}

unsigned weft_sem_value(const weft_sem *s) {
  return s ? weft_load_relaxed(&s->value) : 0;
}
