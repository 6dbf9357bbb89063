/* tests/aio_testutil.h — checks inside aio tasks.
 *
 * A cmocka failure must not longjmp off a coroutine stack, so task bodies
 * record a failed check and return an error instead; the test function
 * reports it after weft_aio_run returns. Two families, one per test style:
 *
 *   T_TRUE / T_EQ / T_RC / T_OK: the first failure's text goes to g_fail
 *     ("line N: ..."), the task returns WEFT_EIO; run_main fail_msg()s it.
 *   CHECK / CHECK_RC: every failure is printed on stderr and counted in
 *     failures, the task returns BAD; run_main asserts failures == 0.
 *
 * Every T_RC / CHECK_RC failure also names weft_aio_last_error(). run_main
 * runs a task as a loop's main and checks both families and the open
 * descriptors; warm_up is the group setup every aio test uses. */
#ifndef WEFT_TESTS_AIO_TESTUTIL_H
#define WEFT_TESTS_AIO_TESTUTIL_H

#include <stdarg.h>
#include <stdio.h>
#include "testutil.h"
#include "weft/aio.h"
#include "weft/core.h"

__attribute__((unused)) static char g_fail[512];

__attribute__((format(printf, 2, 3), unused)) static void note_fail(int line, const char *fmt,
                                                                   ...) {
  if (g_fail[0]) return;
  int k = snprintf(g_fail, sizeof g_fail, "line %d: ", line);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g_fail + k, sizeof g_fail - (size_t)k, fmt, ap);
  va_end(ap);
}

#define T_TRUE(c)                                                                        \
  do {                                                                                   \
    if (!(c)) {                                                                          \
      note_fail(__LINE__, "%s", #c);                                                     \
      return WEFT_EIO;                                                                   \
    }                                                                                    \
  } while (0)
#define T_EQ(a, b)                                                                       \
  do {                                                                                   \
    long long a_ = (long long)(a), b_ = (long long)(b);                                  \
    if (a_ != b_) {                                                                      \
      note_fail(__LINE__, "%s == %s: %lld vs %lld", #a, #b, a_, b_);                     \
      return WEFT_EIO;                                                                   \
    }                                                                                    \
  } while (0)
#define T_RC(expr, want)                                                                 \
  do {                                                                                   \
    int r_ = (expr), w_ = (want);                                                        \
    if (r_ != w_) {                                                                      \
      note_fail(__LINE__, "%s: %s, expected %s (last error: %s)", #expr, weft_err_name(r_), \
                weft_err_name(w_), weft_aio_last_error());                               \
      return WEFT_EIO;                                                                   \
    }                                                                                    \
  } while (0)
#define T_OK(expr) T_RC((expr), 0)

#define BAD (-9999) /* a task's code after a failed CHECK */

__attribute__((unused)) static int failures;

#define CHECK(c)                                                                \
  do {                                                                          \
    if (!(c)) {                                                                 \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);     \
      failures++;                                                               \
      return BAD;                                                               \
    }                                                                           \
  } while (0)

#define CHECK_RC(expr, expect)                                                  \
  do {                                                                          \
    int r_ = (expr), x_ = (expect);                                             \
    if (r_ != x_) {                                                             \
      fprintf(stderr, "%s:%d: %s = %s, expected %s (%s)\n", __FILE__, __LINE__, \
              #expr, weft_err_name(r_), weft_err_name(x_), weft_aio_last_error()); \
      failures++;                                                               \
      return BAD;                                                               \
    }                                                                           \
  } while (0)

static int aio_nothing(void *arg) {
  (void)arg;
  return 0;
}

/* A cmocka group setup: libuv opens a process-wide signal pipe with its
 * first loop, for good, so one loop runs before any test counts
 * descriptors. */
__attribute__((unused)) static int warm_up(void **state) {
  (void)state;
  return weft_aio_run(aio_nothing, NULL);
}

/* Runs fn as the main task of a loop; fails the test on a recorded check
 * failure (either family), a code other than 0, or a descriptor left open. */
__attribute__((unused)) static void run_main(weft_aio_fn fn, void *arg) {
  g_fail[0] = '\0';
  failures = 0;
  int fds = open_fd_count();
  int rc = weft_aio_run(fn, arg);
  if (g_fail[0]) fail_msg("%s", g_fail);
  assert_weft(rc, 0);
  assert_int_equal(failures, 0);
  assert_int_equal(open_fd_count(), fds);
}

/* Spawns fn(arg); a failed spawn counts as a CHECK failure (NULL back). */
__attribute__((unused)) static weft_aio_task *go(weft_aio_fn fn, void *arg) {
  weft_aio_task *t = NULL;
  if (weft_aio_spawn(fn, arg, &t)) failures++;
  return t;
}

/* Awaits and releases t; returns its code. */
__attribute__((unused)) static int finish(weft_aio_task *t) {
  int rc = weft_aio_await(t);
  weft_aio_task_release(t);
  return rc;
}

/* Echo server for one stream (a task; arg: the stream, which it owns):
 * until EOF, then drain and close. */
__attribute__((unused)) static int echo_conn(void *arg) {
  weft_aio_stream *s = arg;
  char buf[4096];
  size_t n;
  int rc;
  while (!(rc = weft_aio_read(s, buf, sizeof buf, &n)))
    if ((rc = weft_aio_write(s, buf, n))) break;
  if (rc == WEFT_EEOF) rc = weft_aio_drain(s);
  weft_aio_close(s);
  return rc;
}

/* Small integers as the pointers queues carry, and back. */
#define P(i) ((void *)(uintptr_t)(i))
#define I(p) ((uintptr_t)(p))

#endif /* WEFT_TESTS_AIO_TESTUTIL_H */
