/* tests/test_lockdep.c — the lock-order checker (WEFT_DEBUG=locks): a
 * seeded AB/BA order is reported with both call sites although the two
 * orders never run at the same time (no real deadlock needed), longer
 * cycles too, a recursive lock, nothing for a consistent order, condition
 * waits keep the holder's stack right, destroy forgets a mutex, and
 * nothing at all while the checker is off. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"
#include "weft/sync.h"
#include "weft/thread.h"

#define MS 1000000ull

/* stderr into a temporary file while a test runs */
static int saved_stderr = -1, capture_fd = -1;

static void capture_begin(void) {
  char path[] = "/tmp/weft-lockdep-XXXXXX";
  capture_fd = mkstemp(path);
  assert_true(capture_fd >= 0);
  unlink(path);
  fflush(stderr);
  saved_stderr = dup(STDERR_FILENO);
  dup2(capture_fd, STDERR_FILENO);
}

static void capture_end(char *buf, size_t cap) {
  fflush(stderr);
  dup2(saved_stderr, STDERR_FILENO);
  close(saved_stderr);
  ssize_t n = pread(capture_fd, buf, cap - 1, 0);
  buf[n > 0 ? n : 0] = 0;
  close(capture_fd);
}

static weft_mutex a = WEFT_MUTEX_INIT, b = WEFT_MUTEX_INIT, c = WEFT_MUTEX_INIT;

static __attribute__((noinline)) void take_a_then_b(void) {
  weft_mutex_lock(&a);
  weft_mutex_lock(&b);
  weft_mutex_unlock(&b);
  weft_mutex_unlock(&a);
}

static __attribute__((noinline)) void take_b_then_a(void) {
  weft_mutex_lock(&b);
  weft_mutex_lock(&a);
  weft_mutex_unlock(&a);
  weft_mutex_unlock(&b);
}

static int thread_b_then_a(void *arg) {
  (void)arg;
  take_b_then_a();
  return 0;
}

static void reset(void) {
  weft_mutex_destroy(&a);
  weft_mutex_destroy(&b);
  weft_mutex_destroy(&c);
}

static void test_ab_ba_reported_with_sites(void **state) {
  (void)state;
  weft_lockdep_enable(true);
  size_t before = weft_lockdep_report_count();
  char out[8192];
  capture_begin();
  take_a_then_b();
  weft_thread *t;
  assert_ok(weft_thread_create(&t, "ba", thread_b_then_a, NULL)); /* later, no overlap */
  assert_ok(weft_thread_join(t, NULL));
  capture_end(out, sizeof out);
  weft_lockdep_enable(false);
  reset();
  assert_int_equal(weft_lockdep_report_count(), before + 1);
  if (!strstr(out, "possible deadlock") || !strstr(out, "take_b_then_a") ||
      !strstr(out, "take_a_then_b") || !strstr(out, "test_lockdep.c:")) {
    print_error("report was:\n%s\n", out);
    fail();
  }
}

static void test_three_lock_cycle_and_consistent_order(void **state) {
  (void)state;
  weft_lockdep_enable(true);
  size_t before = weft_lockdep_report_count();
  char out[8192];
  capture_begin();
  for (int i = 0; i < 3; i++) take_a_then_b(); /* the same order again: silent */
  weft_mutex_lock(&b);
  weft_mutex_lock(&c);
  weft_mutex_unlock(&c);
  weft_mutex_unlock(&b);
  size_t consistent = weft_lockdep_report_count();
  weft_mutex_lock(&c);
  weft_mutex_lock(&a); /* a -> b -> c -> a */
  weft_mutex_unlock(&a);
  weft_mutex_unlock(&c);
  capture_end(out, sizeof out);
  weft_lockdep_enable(false);
  reset();
  assert_int_equal(consistent, before);
  assert_int_equal(weft_lockdep_report_count(), before + 1);
}

static void test_recursive_lock_reported(void **state) {
  (void)state;
  weft_lockdep_enable(true);
  size_t before = weft_lockdep_report_count();
  char out[4096];
  capture_begin();
  weft_mutex_lock(&a);
  int rc = weft_mutex_lock_timed(&a, 5 * MS); /* would hang forever as a plain lock */
  weft_mutex_unlock(&a);
  capture_end(out, sizeof out);
  weft_lockdep_enable(false);
  reset();
  assert_weft(rc, WEFT_ETIMEDOUT);
  assert_int_equal(weft_lockdep_report_count(), before + 1);
  assert_non_null(strstr(out, "already holds it"));
}

static void test_cond_wait_and_destroy(void **state) {
  (void)state;
  weft_lockdep_enable(true);
  size_t before = weft_lockdep_report_count();
  weft_cond cv = WEFT_COND_INIT;
  /* a condition wait gives `a` back only to take it again: still held after */
  weft_mutex_lock(&a);
  weft_cond_wait_timed(&cv, &a, 1 * MS);
  weft_mutex_lock(&b); /* a -> b */
  weft_mutex_unlock(&b);
  weft_mutex_unlock(&a);
  weft_mutex_lock(&b);
  weft_mutex_unlock(&b);
  /* destroyed and reused memory starts afresh: b -> a is no longer a cycle */
  weft_mutex_destroy(&a);
  weft_mutex_init(&a);
  take_b_then_a();
  weft_lockdep_enable(false);
  reset();
  assert_int_equal(weft_lockdep_report_count(), before);
}

static void test_off_means_silent(void **state) {
  (void)state;
  size_t before = weft_lockdep_report_count();
  take_a_then_b();
  take_b_then_a();
  assert_int_equal(weft_lockdep_report_count(), before);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ab_ba_reported_with_sites),
      cmocka_unit_test(test_three_lock_cycle_and_consistent_order),
      cmocka_unit_test(test_recursive_lock_reported),
      cmocka_unit_test(test_cond_wait_and_destroy),
      cmocka_unit_test(test_off_means_silent),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
