/* weft/sync.h — locks, conditions, semaphores, barriers, events, once, latches.
 *
 * All objects are plain structs the caller embeds (no allocation): initialise
 * with weft_X_init or the static WEFT_X_INIT, and weft_X_destroy when done
 * (destroy is a no-op for most; it exists so that code stays correct if an
 * implementation needs it). Fields are private.
 *
 * Every blocking call has a `_timed` variant taking a relative timeout in
 * nanoseconds on the monotonic clock (WEFT_FOREVER = no limit), returning
 * WEFT_ETIMEDOUT when it expires. The untimed call is the timed one with
 * WEFT_FOREVER. All functions may be called from any thread.
 *
 * The futex-based objects (mutex, cond, sem, event, once, latch, barrier)
 * are as fast as their pthread equivalents on the measured paths while
 * adding what pthreads lacks (monotonic deadlines everywhere, breakable
 * barriers, events, latches); rwlock wraps pthreads. Semantics and figures:
 * docs/sync.md. */
#ifndef WEFT_SYNC_H
#define WEFT_SYNC_H

#include <pthread.h>
#include "weft/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- mutex: not recursive; unlocking from another thread is undefined. ---- */
typedef struct weft_mutex { uint32_t state; } weft_mutex;
#define WEFT_MUTEX_INIT {0}
void weft_mutex_init(weft_mutex *m);
void weft_mutex_destroy(weft_mutex *m);
void weft_mutex_lock(weft_mutex *m);
/* 0, or WEFT_EBUSY when another thread holds it. */
int  weft_mutex_trylock(weft_mutex *m);
/* 0, or WEFT_ETIMEDOUT. */
int  weft_mutex_lock_timed(weft_mutex *m, uint64_t timeout_ns);
void weft_mutex_unlock(weft_mutex *m);

/* ---- lock-order checking (lockdep) ----
 * With WEFT_DEBUG=locks in the environment (or after weft_lockdep_enable),
 * every weft_mutex records the order in which each thread takes mutexes.
 * Taking B while holding A, when somewhere B was already held while A was
 * taken, is reported on stderr before the thread blocks, with both call
 * sites (function and file:line when addr2line can tell): the AB/BA pattern
 * that deadlocks as soon as two threads interleave badly, found even in
 * runs where they did not. Locking a mutex the thread already holds is
 * reported too. Off (the default), a lock costs one predictable branch. */
void weft_lockdep_enable(bool on);
/* How many problems were reported so far (for tests). */
size_t weft_lockdep_report_count(void);

/* ---- reader/writer lock (pthreads; writers are not starved). ---- */
typedef struct weft_rwlock { pthread_rwlock_t rw; } weft_rwlock;
/* Errors: WEFT_ENOMEM, WEFT_EAGAIN. */
int  weft_rwlock_init(weft_rwlock *l);
void weft_rwlock_destroy(weft_rwlock *l);
void weft_rwlock_rdlock(weft_rwlock *l);
void weft_rwlock_wrlock(weft_rwlock *l);
int  weft_rwlock_tryrdlock(weft_rwlock *l);          /* 0 or WEFT_EBUSY */
int  weft_rwlock_trywrlock(weft_rwlock *l);          /* 0 or WEFT_EBUSY */
int  weft_rwlock_rdlock_timed(weft_rwlock *l, uint64_t timeout_ns); /* 0 or WEFT_ETIMEDOUT */
int  weft_rwlock_wrlock_timed(weft_rwlock *l, uint64_t timeout_ns); /* 0 or WEFT_ETIMEDOUT */
void weft_rwlock_unlock(weft_rwlock *l);

/* ---- condition variable, used with a weft_mutex. Spurious wake-ups may
 * happen, as with pthreads: wait in a loop that re-checks the predicate. ---- */
typedef struct weft_cond { uint32_t seq; uint32_t waiters; } weft_cond;
#define WEFT_COND_INIT {0, 0}
void weft_cond_init(weft_cond *c);
void weft_cond_destroy(weft_cond *c);
/* Atomically unlocks m and waits; m is locked again on return (also on timeout). */
void weft_cond_wait(weft_cond *c, weft_mutex *m);
int  weft_cond_wait_timed(weft_cond *c, weft_mutex *m, uint64_t timeout_ns); /* 0 or WEFT_ETIMEDOUT */
void weft_cond_signal(weft_cond *c);
void weft_cond_broadcast(weft_cond *c);

/* ---- counting semaphore ---- */
typedef struct weft_sem { uint32_t value; uint32_t waiters; } weft_sem;
#define WEFT_SEM_INIT(n) {(n), 0}
/* Errors: WEFT_EINVAL when value > INT32_MAX. */
int  weft_sem_init(weft_sem *s, unsigned value);
void weft_sem_destroy(weft_sem *s);
void weft_sem_wait(weft_sem *s);
int  weft_sem_trywait(weft_sem *s);                      /* 0 or WEFT_EAGAIN */
int  weft_sem_wait_timed(weft_sem *s, uint64_t timeout_ns); /* 0 or WEFT_ETIMEDOUT */
/* Errors: WEFT_ERANGE when the count would exceed INT32_MAX. */
int  weft_sem_post(weft_sem *s);
unsigned weft_sem_value(const weft_sem *s);

/* ---- reusable barrier for a fixed number of parties ---- */
typedef struct weft_barrier {
  weft_mutex lock;
  uint32_t parties, count, broken, generation;
  void *waiters; /* the current generation's sleepers (src/sync/barrier.c) */
} weft_barrier;
/* Return value of a successful wait for exactly one thread per generation
 * (like PTHREAD_BARRIER_SERIAL_THREAD); the others get 0. */
#define WEFT_BARRIER_SERIAL 1
/* Errors: WEFT_EINVAL when parties == 0. */
int  weft_barrier_init(weft_barrier *b, unsigned parties);
void weft_barrier_destroy(weft_barrier *b);
/* WEFT_BARRIER_SERIAL, 0, or WEFT_EBROKEN when another waiter timed out or
 * the barrier was reset while this one waited (like Python's
 * BrokenBarrierError). */
int  weft_barrier_wait(weft_barrier *b);
/* As wait; on WEFT_ETIMEDOUT the barrier is broken for everyone until
 * weft_barrier_reset. */
int  weft_barrier_wait_timed(weft_barrier *b, uint64_t timeout_ns);
/* Breaks the current generation (waiters get WEFT_EBROKEN) and makes the
 * barrier usable again. */
void weft_barrier_reset(weft_barrier *b);

/* ---- event: a flag threads can wait for (threading.Event) ---- */
typedef struct weft_event { uint32_t state; } weft_event;
#define WEFT_EVENT_INIT {0}
void weft_event_init(weft_event *e);
void weft_event_destroy(weft_event *e);
void weft_event_set(weft_event *e);      /* wakes every waiter */
void weft_event_clear(weft_event *e);
bool weft_event_is_set(const weft_event *e);
void weft_event_wait(weft_event *e);
int  weft_event_wait_timed(weft_event *e, uint64_t timeout_ns); /* 0 or WEFT_ETIMEDOUT */

/* ---- once: run an initialiser exactly once; concurrent callers wait. ---- */
typedef struct weft_once { uint32_t state; } weft_once;
#define WEFT_ONCE_INIT {0}
void weft_call_once(weft_once *o, void (*fn)(void *arg), void *arg);

/* ---- latch / wait group: wait until a count drops to zero (Go's
 * sync.WaitGroup: add before starting work, count_down when each finishes). */
typedef struct weft_latch { uint32_t count; uint32_t waiters; } weft_latch;
#define WEFT_LATCH_INIT(n) {(n), 0}
/* Errors: WEFT_EINVAL when count > INT32_MAX. */
int  weft_latch_init(weft_latch *l, unsigned count);
void weft_latch_destroy(weft_latch *l);
/* Adds n to the count. Errors: WEFT_ERANGE on overflow. */
int  weft_latch_add(weft_latch *l, unsigned n);
/* Subtracts one; wakes waiters at zero. Errors: WEFT_ERANGE when already zero. */
int  weft_latch_count_down(weft_latch *l);
void weft_latch_wait(weft_latch *l);
int  weft_latch_wait_timed(weft_latch *l, uint64_t timeout_ns); /* 0 or WEFT_ETIMEDOUT */
bool weft_latch_try_wait(const weft_latch *l);                 /* count is zero */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_SYNC_H */
