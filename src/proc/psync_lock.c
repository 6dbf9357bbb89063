/* src/proc/psync_lock.c — the process-shared robust lock.
 *
 * Why pthreads and not a hand-made futex lock: robustness needs the kernel
 * to learn, when a thread dies, which locks it held. That is the robust
 * list (set_robust_list): on thread exit the kernel walks it, sets
 * FUTEX_OWNER_DIED in each held lock word and wakes a waiter. glibc already
 * registers one robust list per thread and the kernel accepts only one, so
 * a weft futex lock could not register its own without breaking glibc's
 * robust mutexes; it would have to fall back to polling "is the TID in the
 * word still alive", which is racy with TID reuse. glibc's robust mutex is
 * that exact mechanism, maintained, and its uncontended path is one CAS
 * like ours. So weft_plock is a PTHREAD_PROCESS_SHARED + ROBUST mutex, and
 * the work here is mapping its codes onto weft's. */
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include "core/internal.h"
#include "weft/proc.h"
#if WEFT__TSAN
#include <sanitizer/tsan_interface.h>
#endif

_Static_assert(sizeof(pthread_mutex_t) <= sizeof(weft_plock), "weft_plock holds a mutex");
_Static_assert(_Alignof(pthread_mutex_t) <= _Alignof(weft_plock), "and is aligned for it");

static pthread_mutex_t *mx(weft_plock *l) {
  return (pthread_mutex_t *)(void *)l->opaque_.bytes;
}

/* pthread codes to weft's: ENOTRECOVERABLE means someone unlocked after
 * EOWNERDEAD without making the state consistent. */
static int map_rc(int rc) {
  switch (rc) {
  case 0: return 0;
  case EOWNERDEAD: return WEFT_EOWNERDEAD;
  case ENOTRECOVERABLE: return WEFT_EBROKEN;
  default: return -rc;
  }
}

int weft_plock_init(weft_plock *l) {
  if (!l) return WEFT_EINVAL;
  pthread_mutexattr_t at;
  int rc = pthread_mutexattr_init(&at);
  if (rc) return -rc;
  /* ERRORCHECK: a relock by the holder reports EDEADLK instead of hanging,
   * and unlock by a non-holder reports EPERM (robust mutexes check that
   * anyway). */
  rc = pthread_mutexattr_setpshared(&at, PTHREAD_PROCESS_SHARED);
  if (!rc) rc = pthread_mutexattr_setrobust(&at, PTHREAD_MUTEX_ROBUST);
  if (!rc) rc = pthread_mutexattr_settype(&at, PTHREAD_MUTEX_ERRORCHECK);
  if (!rc) rc = pthread_mutex_init(mx(l), &at);
  pthread_mutexattr_destroy(&at);
  return -rc;
}

void weft_plock_destroy(weft_plock *l) {
  if (l) pthread_mutex_destroy(mx(l));
}

/* One timed attempt, until the absolute monotonic deadline. */
static int lock_until(weft_plock *l, uint64_t deadline) {
  struct timespec ts;
  /* TSan (gcc 12) intercepts pthread_mutex_timedlock but not clocklock:
   * see WEFT__TSAN in core/internal.h. */
  weft__deadline_timespec(deadline, WEFT__TSAN, &ts);
#if WEFT__TSAN
  int rc = pthread_mutex_timedlock(mx(l), &ts);
  /* TSan's timedlock interceptor (gcc 12) records the lock only on 0,
   * unlike its lock and trylock interceptors, which also count EOWNERDEAD
   * as acquired; without this the unlock that follows looks like an
   * unlock of a free mutex. */
  if (rc == EOWNERDEAD) {
    __tsan_mutex_pre_lock(mx(l), __tsan_mutex_try_lock);
    __tsan_mutex_post_lock(mx(l), __tsan_mutex_try_lock, 0);
  }
#else
  int rc = pthread_mutex_clocklock(mx(l), CLOCK_MONOTONIC, &ts);
#endif
  return rc;
}

/* How long a waiter sleeps before looking at the lock again. An unlock
 * wakes one waiter; if that waiter is killed before it takes the lock, the
 * wake-up dies with it and the others would sleep on a free lock forever.
 * Waiting in slices bounds that loss to one slice. */
#define PLOCK_SLICE_NS 20000000ull

static int lock_by(weft_plock *l, uint64_t deadline) {
  int rc = pthread_mutex_trylock(mx(l));
  while (rc == EBUSY) {
    uint64_t now = weft_now_ns();
    if (now >= deadline) return WEFT_ETIMEDOUT;
    uint64_t slice = deadline - now < PLOCK_SLICE_NS ? deadline : now + PLOCK_SLICE_NS;
    rc = lock_until(l, slice);
    if (rc == ETIMEDOUT) rc = EBUSY;
  }
  return map_rc(rc);
}

int weft_plock_lock(weft_plock *l) {
  if (!l) return WEFT_EINVAL;
  return lock_by(l, WEFT_FOREVER);
}

int weft_plock_lock_timed(weft_plock *l, uint64_t timeout_ns) {
  if (!l) return WEFT_EINVAL;
  return lock_by(l, weft_deadline_after(timeout_ns));
}

int weft_plock_trylock(weft_plock *l) {
  if (!l) return WEFT_EINVAL;
  return map_rc(pthread_mutex_trylock(mx(l)));
}

int weft_plock_consistent(weft_plock *l) {
  if (!l) return WEFT_EINVAL;
  return map_rc(pthread_mutex_consistent(mx(l)));
}

int weft_plock_unlock(weft_plock *l) {
  if (!l) return WEFT_EINVAL;
  return map_rc(pthread_mutex_unlock(mx(l)));
}
