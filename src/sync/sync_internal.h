/* src/sync/sync_internal.h — what the files of src/sync share, and what
 * src/proc reuses.
 *
 * Deadline-based waits: the public calls take relative timeouts; composing
 * primitives need absolute deadlines so that retries do not stretch them.
 *
 * The semaphore and event algorithms with the futex flavour as a parameter:
 * src/proc's process-shared weft_psem / weft_pevent embed a weft_sem /
 * weft_event placed in shared memory and run the very same code with
 * shared futexes. */
#ifndef WEFT_SYNC_INTERNAL_H
#define WEFT_SYNC_INTERNAL_H

#include "weft/sync.h"

/* 0 or WEFT_ETIMEDOUT once the absolute monotonic deadline has passed. */
int weft__mutex_lock_until(weft_mutex *m, uint64_t deadline_ns);
/* Unlocks without telling the lock checker: a condition wait gives the
 * mutex up only to take it back, so it stays on the holder's stack. */
void weft__mutex_unlock_raw(weft_mutex *m);
/* As weft_cond_wait_timed, with an absolute deadline; m is held on return. */
int weft__cond_wait_until(weft_cond *c, weft_mutex *m, uint64_t deadline_ns);

/* As weft_sem_wait_timed / weft_sem_post / weft_event_set /
 * weft_event_wait_timed; `shared` selects process-shared futexes. */
int  weft__sem_wait_timed(weft_sem *s, uint64_t timeout_ns, bool shared);
int  weft__sem_post(weft_sem *s, bool shared);
void weft__event_set(weft_event *e, bool shared);
int  weft__event_wait_timed(weft_event *e, uint64_t timeout_ns, bool shared);

/* Lock-order checking (lockdep.c), on with WEFT_DEBUG=locks. check runs
 * before a thread may block on `lock` (reports an order cycle), push once it
 * holds it, pop when it lets go; `site` is the caller's return address. */
extern bool weft__lockdep_on;
void weft__lockdep_check(const void *lock, const void *site);
void weft__lockdep_push(const void *lock, const void *site);
void weft__lockdep_pop(const void *lock);
void weft__lockdep_forget(const void *lock);
#define WEFT__LOCKDEP (__builtin_expect(__atomic_load_n(&weft__lockdep_on, __ATOMIC_RELAXED), 0))

#endif /* WEFT_SYNC_INTERNAL_H */
