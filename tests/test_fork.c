/* tests/test_fork.c — fork() while pools are busy: the child gets
 * WEFT_EFORKED from the parent's pools (never hangs) and a fresh default
 * pool; the parent's pools carry on. Children report through _exit codes. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"
#include "weft/pool.h"
#include "weft/sync.h"

#ifdef WEFT_TSAN
/* TSan refuses to start threads in a child forked from a threaded parent
 * unless told otherwise; the child's new default pool needs threads. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) {
  return "die_after_fork=0";
}
#endif

static weft_sem started;
static weft_event release_ev;

static int blocker(void *arg) {
  (void)arg;
  weft_sem_post(&started);
  weft_event_wait(&release_ev);
  return 0;
}

static int answer(void *arg) {
  *(int *)arg = 42;
  return 0;
}

/* The child's checks; returns the exit code (0 = all good). */
static int child_checks(weft_pool *old, weft_pool *old_default) {
  weft_future *f;
  if (weft_submit(old, answer, NULL, &f) != WEFT_EFORKED) return 10;
  weft_group g;
  weft_group_init(&g, old);
  if (weft_group_spawn(&g, answer, NULL) != WEFT_EFORKED) return 11;
  if (weft_group_wait(&g) != WEFT_EFORKED) return 12;
  if (weft_pool_shutdown(old, WEFT_SHUTDOWN_DRAIN) != WEFT_EFORKED) return 13;
  weft_worker_stats st;
  if (weft_pool_stats(old, &st, 1, NULL) != WEFT_EFORKED) return 14;
  if (weft_pool_worker_index() != -1) return 15;
  weft_pool *d = weft_pool_default();
  if (!d || d == old_default) return 16;
  int v = 0;
  if (weft_submit(d, answer, &v, &f) != 0) return 17;
  if (weft_future_wait(f) != 0 || v != 42) return 18;
  weft_future_release(f);
  if (weft_submit(old_default, answer, &v, &f) != WEFT_EFORKED) return 19;
  if (weft_pool_destroy(old) != 0) return 20; /* frees memory only */
  if (weft_pool_destroy(old) != WEFT_EINVAL) return 21; /* and only once */
  return 0;
}

static void test_fork_busy(void **state) {
  (void)state;
  weft_pool *p;
  weft_pool_options o = {.threads = 2};
  assert_ok(weft_pool_create(&p, &o));
  weft_pool *def = weft_pool_default();
  assert_non_null(def);
  weft_sem_init(&started, 0);
  weft_event_init(&release_ev);
  weft_future *busy[2];
  for (int i = 0; i < 2; i++) assert_ok(weft_submit(p, blocker, NULL, &busy[i]));
  for (int i = 0; i < 2; i++) weft_sem_wait(&started);

  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) _exit(child_checks(p, def));
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);

  /* The parent's pools are unaffected. */
  weft_event_set(&release_ev);
  for (int i = 0; i < 2; i++) {
    assert_ok(weft_future_wait(busy[i]));
    weft_future_release(busy[i]);
  }
  int v = 0;
  weft_future *f;
  assert_ok(weft_submit(p, answer, &v, &f));
  assert_ok(weft_future_wait(f));
  assert_int_equal(v, 42);
  weft_future_release(f);
  assert_ptr_equal(weft_pool_default(), def);
  v = 0;
  assert_ok(weft_submit(NULL, answer, &v, &f));
  assert_ok(weft_future_wait(f));
  assert_int_equal(v, 42);
  weft_future_release(f);
  assert_ok(weft_pool_destroy(p));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fork_busy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
