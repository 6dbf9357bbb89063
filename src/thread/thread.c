/* src/thread/thread.c — named threads over pthreads.
 *
 * The handle is shared by the creator and the thread itself and counted: the
 * thread reads fn/arg/name from it after it starts, while the creator may
 * detach (and drop its reference) at any moment. Whoever drops the last
 * reference frees it. The thread's int result travels through pthread's
 * void * return value, so it never needs the handle after it finishes. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "weft/thread.h"
#include "core/internal.h"
#include "thread/thread_internal.h"

/* Linux thread names hold 15 bytes plus the terminating NUL. */
#define NAME_CAP 16

static void copy_name(char dst[NAME_CAP], const char *src) {
  size_t n = src ? strnlen(src, NAME_CAP - 1) : 0;
  memcpy(dst, src ? src : "", n);
  dst[n] = '\0';
}

static void release(weft_thread *t) {
  /* acq_rel: the last owner must see every write the other owner made
   * before its release, so freeing is safe. */
  if (weft_fetch_sub(&t->refs, 1) == 1) free(t);
}

static void *trampoline(void *arg) {
  weft_thread *t = arg;
  if (t->name[0]) pthread_setname_np(pthread_self(), t->name);
  weft_thread_fn fn = t->fn;
  void *fn_arg = t->arg;
  int result = fn(fn_arg);
  /* Release: whoever reads `finished` also sees the thread's writes. */
  weft_store_release(&t->finished, 1);
  release(t);
  return (void *)(intptr_t)result;
}

int weft_thread_create(weft_thread **out, const char *name, weft_thread_fn fn, void *arg) {
  if (!out) return WEFT_EINVAL;
  *out = NULL;
  if (!fn) return WEFT_EINVAL;
  weft_thread *t = calloc(1, sizeof *t);
  if (!t) return WEFT_ENOMEM;
  t->fn = fn;
  t->arg = arg;
  t->refs = 2; /* the creator's and the thread's */
  copy_name(t->name, name);
  int rc = pthread_create(&t->pthread, NULL, trampoline, t);
  if (rc != 0) {
    free(t);
    return rc == EAGAIN ? WEFT_EAGAIN : rc == ENOMEM ? WEFT_ENOMEM : -rc;
  }
  *out = t;
  return 0;
}

static int finish_join(weft_thread *t, void *ret, int *result) {
  if (result) *result = (int)(intptr_t)ret;
  release(t);
  return 0;
}

int weft_thread_join(weft_thread *t, int *result) {
  if (!t) return WEFT_EINVAL;
  if (pthread_equal(t->pthread, pthread_self())) return WEFT_EDEADLK;
  void *ret = NULL;
  int rc = pthread_join(t->pthread, &ret);
  if (rc != 0) return rc == EDEADLK ? WEFT_EDEADLK : WEFT_EINVAL;
  return finish_join(t, ret, result);
}

int weft_thread_join_timed(weft_thread *t, int *result, uint64_t timeout_ns) {
  if (!t) return WEFT_EINVAL;
  if (timeout_ns == WEFT_FOREVER) return weft_thread_join(t, result);
  if (pthread_equal(t->pthread, pthread_self())) return WEFT_EDEADLK;
  struct timespec ts;
  weft__deadline_timespec(weft_deadline_after(timeout_ns), WEFT__TSAN, &ts);
  void *ret = NULL;
#if WEFT__TSAN /* see internal.h */
  int rc = pthread_timedjoin_np(t->pthread, &ret, &ts);
#else
  int rc = pthread_clockjoin_np(t->pthread, &ret, CLOCK_MONOTONIC, &ts);
#endif
  if (rc == ETIMEDOUT) return WEFT_ETIMEDOUT;
  if (rc != 0) return rc == EDEADLK ? WEFT_EDEADLK : WEFT_EINVAL;
  return finish_join(t, ret, result);
}

int weft_thread_detach(weft_thread *t) {
  if (!t) return WEFT_EINVAL;
  if (pthread_detach(t->pthread) != 0) return WEFT_EINVAL;
  release(t);
  return 0;
}

const char *weft_thread_name(const weft_thread *t) {
  return t ? t->name : "";
}

uint64_t weft_thread_self_id(void) {
  return (uint64_t)gettid();
}

int weft_thread_set_self_name(const char *name) {
  if (!name) return WEFT_EINVAL;
  char buf[NAME_CAP];
  copy_name(buf, name);
  return pthread_setname_np(pthread_self(), buf) == 0 ? 0 : WEFT_EINVAL;
}

void weft_thread_yield(void) {
  sched_yield();
}

void weft_sleep_ns(uint64_t ns) {
  /* An absolute deadline: resuming after EINTR does not stretch the sleep. */
  struct timespec ts;
  weft__deadline_timespec(weft_deadline_after(ns), false, &ts);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}
