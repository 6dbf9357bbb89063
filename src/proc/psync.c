/* src/proc/psync.c — process-shared event and barrier (the semaphore,
 * which tracks its holders, is src/proc/psem.c). The event runs src/sync's
 * own algorithm on an object placed in shared memory, with the shared
 * (non-private) futex calls, which the kernel keys by the physical page,
 * not by the address space. Nothing here holds a pointer: every field is a
 * plain integer, valid at any mapping address. */
#include <limits.h>
#include <stdint.h>
#include "core/internal.h"
#include "sync/sync_internal.h"
#include "weft/proc.h"

/* ---- event: src/sync's algorithm, with shared futexes ---- */

void weft_pevent_init(weft_pevent *e) {
  if (e) weft_event_init(&e->ev);
}

void weft_pevent_set(weft_pevent *e) {
  if (e) weft__event_set(&e->ev, true);
}

void weft_pevent_clear(weft_pevent *e) {
  if (e) weft_event_clear(&e->ev); /* wakes nobody */
}

bool weft_pevent_is_set(const weft_pevent *e) {
  return e && weft_event_is_set(&e->ev);
}

int weft_pevent_wait(weft_pevent *e) {
  return e ? weft__event_wait_timed(&e->ev, WEFT_FOREVER, true) : WEFT_EINVAL;
}

int weft_pevent_wait_timed(weft_pevent *e, uint64_t timeout_ns) {
  return e ? weft__event_wait_timed(&e->ev, timeout_ns, true) : WEFT_EINVAL;
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
