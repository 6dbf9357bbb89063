/* src/sync/rwlock.c — reader/writer lock over pthread_rwlock.
 *
 * pthreads already has a careful rwlock; weft adds writer preference (so a
 * stream of readers cannot starve writers) and monotonic-clock deadlines
 * (pthread_rwlock_clock*lock, glibc 2.30). With writer preference a reader
 * must not take the read lock twice: a writer queued in between deadlocks it,
 * which is why glibc calls this mode NONRECURSIVE. */
#include <errno.h>
#include <time.h>
#include "core/internal.h"
#include "weft/sync.h"

int weft_rwlock_init(weft_rwlock *l) {
  if (!l) return WEFT_EINVAL;
  pthread_rwlockattr_t attr;
  if (pthread_rwlockattr_init(&attr) != 0) return WEFT_ENOMEM;
  pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  int rc = pthread_rwlock_init(&l->rw, &attr);
  pthread_rwlockattr_destroy(&attr);
  if (rc == 0) return 0;
  return rc == ENOMEM ? WEFT_ENOMEM : rc == EAGAIN ? WEFT_EAGAIN : WEFT_EINVAL;
}

void weft_rwlock_destroy(weft_rwlock *l) {
  if (l) pthread_rwlock_destroy(&l->rw);
}

void weft_rwlock_rdlock(weft_rwlock *l) {
  if (l) pthread_rwlock_rdlock(&l->rw);
}

void weft_rwlock_wrlock(weft_rwlock *l) {
  if (l) pthread_rwlock_wrlock(&l->rw);
}

static int busy_code(int rc) {
  return rc == 0 ? 0 : rc == EBUSY ? WEFT_EBUSY : rc == EAGAIN ? WEFT_EAGAIN : WEFT_EINVAL;
}

int weft_rwlock_tryrdlock(weft_rwlock *l) {
  return l ? busy_code(pthread_rwlock_tryrdlock(&l->rw)) : WEFT_EINVAL;
}

int weft_rwlock_trywrlock(weft_rwlock *l) {
  return l ? busy_code(pthread_rwlock_trywrlock(&l->rw)) : WEFT_EINVAL;
}

static struct timespec deadline_ts(uint64_t timeout_ns) {
  struct timespec ts;
  weft__deadline_timespec(weft_deadline_after(timeout_ns), WEFT__TSAN, &ts);
  return ts;
}

/* TSan builds use the realtime variants it intercepts (see internal.h). */
#if WEFT__TSAN
#define clock_rdlock(rw, ts) pthread_rwlock_timedrdlock((rw), (ts))
#define clock_wrlock(rw, ts) pthread_rwlock_timedwrlock((rw), (ts))
#else
#define clock_rdlock(rw, ts) pthread_rwlock_clockrdlock((rw), CLOCK_MONOTONIC, (ts))
#define clock_wrlock(rw, ts) pthread_rwlock_clockwrlock((rw), CLOCK_MONOTONIC, (ts))
#endif

static int timed_code(int rc) {
  if (rc == 0) return 0;
  if (rc == ETIMEDOUT) return WEFT_ETIMEDOUT;
  return rc == EDEADLK ? WEFT_EDEADLK : rc == EAGAIN ? WEFT_EAGAIN : WEFT_EINVAL;
}

int weft_rwlock_rdlock_timed(weft_rwlock *l, uint64_t timeout_ns) {
  if (!l) return WEFT_EINVAL;
  if (timeout_ns == WEFT_FOREVER) return timed_code(pthread_rwlock_rdlock(&l->rw));
  struct timespec ts = deadline_ts(timeout_ns);
  return timed_code(clock_rdlock(&l->rw, &ts));
}

int weft_rwlock_wrlock_timed(weft_rwlock *l, uint64_t timeout_ns) {
  if (!l) return WEFT_EINVAL;
  if (timeout_ns == WEFT_FOREVER) return timed_code(pthread_rwlock_wrlock(&l->rw));
  struct timespec ts = deadline_ts(timeout_ns);
  return timed_code(clock_wrlock(&l->rw, &ts));
}

void weft_rwlock_unlock(weft_rwlock *l) {
  if (l) pthread_rwlock_unlock(&l->rw);
}
