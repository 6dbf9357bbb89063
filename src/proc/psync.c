/* src/proc/psync.c — process-shared semaphore, event and barrier: the
 * algorithms of src/sync/sem.c and event.c on futex words that live in
 * shared memory, so every sleep and wake uses the shared (non-private)
 * futex calls, which the kernel keys by the physical page, not by the
 * address space. Nothing here holds a pointer: every field is a plain
 * integer, valid at any mapping address. */
#include <limits.h>
#include <stdint.h>
#include "core/internal.h"
#include "weft/proc.h"

/* ---- semaphore (see src/sync/sem.c for the Dekker reasoning) ---- */

int weft_psem_init(weft_psem *s, unsigned value) {
  if (!s || value > INT32_MAX) return WEFT_EINVAL;
  s->value = value;
  s->waiters = 0;
  return 0;
}

/* Acquire: pairs with post's release, so what the poster wrote before
 * posting is visible to the process that takes the unit. */
static bool sem_take(weft_psem *s) {
  uint32_t v = weft_load_relaxed(&s->value);
  while (v > 0)
    if (__atomic_compare_exchange_n(&s->value, &v, v - 1, true, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED))
      return true;
  return false;
}

static int sem_wait_until(weft_psem *s, uint64_t deadline_ns) {
  /* seq_cst: "count myself, then read value" against post's "raise value,
   * then read waiters": one of the two sides sees the other. */
  __atomic_fetch_add(&s->waiters, 1, __ATOMIC_SEQ_CST);
  int rc = 0;
  for (;;) {
    if (__atomic_load_n(&s->value, __ATOMIC_SEQ_CST) != 0) {
      if (sem_take(s)) break;
      continue;
    }
    if (weft__futex_wait_shared(&s->value, 0, deadline_ns) == WEFT_ETIMEDOUT) {
      rc = sem_take(s) ? 0 : WEFT_ETIMEDOUT; /* a post may have raced the timeout */
      break;
    }
  }
  __atomic_fetch_sub(&s->waiters, 1, __ATOMIC_RELAXED);
  return rc;
}

int weft_psem_wait(weft_psem *s) {
  if (!s) return WEFT_EINVAL;
  return sem_take(s) ? 0 : sem_wait_until(s, WEFT_FOREVER);
}

int weft_psem_wait_timed(weft_psem *s, uint64_t timeout_ns) {
  if (!s) return WEFT_EINVAL;
  return sem_take(s) ? 0 : sem_wait_until(s, weft_deadline_after(timeout_ns));
}

int weft_psem_trywait(weft_psem *s) {
  if (!s) return WEFT_EINVAL;
  return sem_take(s) ? 0 : WEFT_EAGAIN;
}

int weft_psem_post(weft_psem *s) {
  if (!s) return WEFT_EINVAL;
  uint32_t v = weft_load_relaxed(&s->value);
  do {
    if (v >= INT32_MAX) return WEFT_ERANGE;
  } while (!__atomic_compare_exchange_n(&s->value, &v, v + 1, true, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED));
  if (__atomic_load_n(&s->waiters, __ATOMIC_SEQ_CST) != 0) weft__futex_wake_shared(&s->value, 1);
  return 0;
}

unsigned weft_psem_value(const weft_psem *s) {
  return s ? weft_load_relaxed(&s->value) : 0;
}

/* ---- event: bit 0 set, bit 1 sleepers, bits 2.. set count (event.c) ---- */

enum { SET_BIT = 1u, SLEEPER_BIT = 2u, GEN_ONE = 4u };

void weft_pevent_init(weft_pevent *e) {
  if (e) e->state = 0;
}

void weft_pevent_set(weft_pevent *e) {
  if (!e) return;
  uint32_t s = weft_load_relaxed(&e->state), next;
  do {
    if (s & SET_BIT) return;
    next = ((s & ~(SET_BIT | SLEEPER_BIT)) + GEN_ONE) | SET_BIT;
    /* Release: the setter's writes are visible to waiters that see it. */
  } while (!__atomic_compare_exchange_n(&e->state, &s, next, true, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED));
  if (s & SLEEPER_BIT) weft__futex_wake_shared(&e->state, INT_MAX);
}

void weft_pevent_clear(weft_pevent *e) {
  if (e) __atomic_fetch_and(&e->state, ~SET_BIT, __ATOMIC_RELAXED);
}

bool weft_pevent_is_set(const weft_pevent *e) {
  return e && (weft_load_acquire(&e->state) & SET_BIT);
}

/* A waiter woken by a set succeeds even if the event was cleared again
 * before it ran: it compares the set count, not only the flag. */
static bool set_since(uint32_t seen, uint32_t now) {
  return (now & SET_BIT) || (now & ~(SET_BIT | SLEEPER_BIT)) != (seen & ~(SET_BIT | SLEEPER_BIT));
}

static int event_wait_until(weft_pevent *e, uint64_t deadline_ns) {
  uint32_t seen = weft_load_acquire(&e->state);
  if (seen & SET_BIT) return 0;
  for (;;) {
    uint32_t want = seen | SLEEPER_BIT;
    if (seen != want && !__atomic_compare_exchange_n(&e->state, &seen, want, false,
                                                     __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
      if (set_since(want, seen)) return 0;
      continue;
    }
    int rc = weft__futex_wait_shared(&e->state, want, deadline_ns);
    uint32_t now = weft_load_acquire(&e->state);
    if (set_since(want, now)) return 0;
    if (rc == WEFT_ETIMEDOUT) return WEFT_ETIMEDOUT;
    seen = now;
  }
}

int weft_pevent_wait(weft_pevent *e) {
  if (!e) return WEFT_EINVAL;
  return event_wait_until(e, WEFT_FOREVER);
}

int weft_pevent_wait_timed(weft_pevent *e, uint64_t timeout_ns) {
  if (!e) return WEFT_EINVAL;
  return event_wait_until(e, weft_deadline_after(timeout_ns));
}

/* ---- barrier: state = generation << 16 | arrivals ----
 * Arrival, completion and withdrawal are CASes on one word, so a timed-out
 * waiter can take its arrival back only while its generation is still
 * open: it never undoes an arrival that already completed a generation.
 * Waiters sleep on the word they saw; any arrival changes it, which costs a
 * spurious wake-up at most, and they re-check the generation. A generation
 * cannot wrap round (65536 completions) while one of its waiters sleeps,
 * because none can complete without that waiter. */

enum { ARRIVE_MASK = 0xffffu, GEN_SHIFT = 16 };

int weft_pbarrier_init(weft_pbarrier *b, unsigned parties) {
  if (!b || parties == 0 || parties > ARRIVE_MASK) return WEFT_EINVAL;
  b->state = 0;
  b->parties = parties;
  return 0;
}

/* Takes back our arrival if the generation is still `gen`: true if taken
 * back, false if the generation completed meanwhile (then we passed). */
static bool withdraw(weft_pbarrier *b, uint32_t gen) {
  uint32_t s = weft_load_acquire(&b->state);
  while ((s >> GEN_SHIFT) == gen)
    if (__atomic_compare_exchange_n(&b->state, &s, s - 1, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
      return true;
  return false;
}

static int barrier_wait_until(weft_pbarrier *b, uint64_t deadline_ns) {
  uint32_t parties = weft_load_relaxed(&b->parties);
  uint32_t s = weft_load_relaxed(&b->state), next;
  do {
    next = (s & ARRIVE_MASK) + 1 == parties ? ((s >> GEN_SHIFT) + 1) << GEN_SHIFT : s + 1;
    /* acq_rel: arrivals publish what each party wrote before the barrier,
     * and the completing party passes all of it on to the waiters. */
  } while (!__atomic_compare_exchange_n(&b->state, &s, next, true, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED));
  uint32_t gen = s >> GEN_SHIFT;
  if ((next >> GEN_SHIFT) != gen) {
    weft__futex_wake_shared(&b->state, INT_MAX);
    return 1;
  }
  for (uint32_t seen = next;;) {
    int rc = weft__futex_wait_shared(&b->state, seen, deadline_ns);
    seen = weft_load_acquire(&b->state);
    if ((seen >> GEN_SHIFT) != gen) return 0;
    if (rc == WEFT_ETIMEDOUT) return withdraw(b, gen) ? WEFT_ETIMEDOUT : 0;
  }
}

int weft_pbarrier_wait(weft_pbarrier *b) {
  if (!b) return WEFT_EINVAL;
  return barrier_wait_until(b, WEFT_FOREVER);
}

int weft_pbarrier_wait_timed(weft_pbarrier *b, uint64_t timeout_ns) {
  if (!b) return WEFT_EINVAL;
  return barrier_wait_until(b, weft_deadline_after(timeout_ns));
}
