/* tests/test_aio_bridge.c — the aio core beyond one loop: thread-pool work
 * awaited from tasks, futures, work posted from other threads, tasks
 * started from other threads (and cancelled through their futures); and
 * the core at scale: a million coroutine switches, 100,000 spawned and
 * gathered tasks, the lag watchdog, stack overflow in a child process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "testutil.h"
#include "weft/aio.h"
#include "weft/pool.h"
#include "weft/thread.h"

#define MS WEFT_MS

/* ---- to_thread and await_future ---- */

static int slow_sum(void *arg) {
  long *v = arg;
  long s = 0;
  for (long i = 1; i <= 1000000; i++) s += i;
  usleep(5000);
  *v = s;
  return 0;
}

static int failing(void *arg) {
  (void)arg;
  return WEFT_ERANGE;
}

struct thread_rec {
  long sum;
  int rc, fail_rc, ticks_meanwhile, future_rc, cancel_rc;
};

static int ticker(void *arg) {
  int *ticks = arg;
  for (;;) {
    if (weft_aio_sleep(1 * MS)) return 0;
    (*ticks)++;
  }
}

static int sleepy(void *arg) {
  (void)arg;
  usleep(200 * 1000);
  return 0;
}

static int thread_main(void *arg) {
  struct thread_rec *r = arg;
  weft_aio_task *t;
  weft_aio_spawn(ticker, &r->ticks_meanwhile, &t);
  r->rc = weft_aio_to_thread(slow_sum, &r->sum); /* the loop keeps ticking */
  weft_aio_cancel(t);
  weft_aio_await(t);
  weft_aio_task_release(t);
  r->fail_rc = weft_aio_to_thread(failing, NULL);
  weft_future *f;
  weft_submit(weft_pool_default(), failing, NULL, &f);
  r->future_rc = weft_aio_await_future(f);
  weft_future_release(f);
  /* a timeout while a thread task runs: the task is waited for */
  weft_aio_scope s;
  weft_aio_scope_enter(&s, 5 * MS);
  r->cancel_rc = weft_aio_to_thread(sleepy, NULL);
  weft_aio_scope_exit(&s);
  return 0;
}

static void test_to_thread_and_futures(void **state) {
  (void)state;
  struct thread_rec r = {0};
  assert_ok(weft_aio_run(thread_main, &r));
  assert_ok(r.rc);
  assert_int_equal(r.sum, 500000500000L);
  assert_true(r.ticks_meanwhile > 0);
  assert_weft(r.fail_rc, WEFT_ERANGE);
  assert_weft(r.future_rc, WEFT_ERANGE);
  assert_weft(r.cancel_rc, WEFT_ETIMEDOUT);
}

/* ---- other threads posting to a loop ---- */

enum { POSTERS = 4 };

struct post_rec {
  weft_loop *loop;
  long calls, expected;
  int spawned_sum, spawn_rc, cancel_code;
  weft_aio_event *all_in;
  long per_thread;
};

static void count_call(void *arg) {
  struct post_rec *r = arg;
  if (++r->calls == r->expected) weft_aio_event_set(r->all_in);
}

static int poster(void *arg) {
  struct post_rec *r = arg;
  for (long i = 0; i < r->per_thread; i++)
    if (weft_loop_call_soon_threadsafe(r->loop, count_call, r)) return WEFT_EIO;
  return 0;
}

static int add_one(void *arg) {
  int *v = arg;
  weft_aio_yield();
  weft_aio_set_result(v);
  return ++*v > 0 ? 0 : WEFT_EIO;
}

static int forever(void *arg) {
  (void)arg;
  return weft_aio_sleep(WEFT_FOREVER / 2);
}

/* From another thread: start tasks on the loop and wait for their futures;
 * then cancel a never-ending one through its future. */
static int spawner(void *arg) {
  struct post_rec *r = arg;
  static int values[16];
  for (int i = 0; i < 16; i++) {
    weft_future *f;
    values[i] = i;
    if (weft_loop_spawn_threadsafe(r->loop, add_one, &values[i], &f)) return WEFT_EIO;
    void *res;
    size_t size;
    if (weft_future_result(f, &res, &size) != 0 || res != &values[i]) r->spawn_rc = WEFT_EIO;
    r->spawned_sum += values[i];
    weft_future_release(f);
  }
  weft_future *f;
  if (weft_loop_spawn_threadsafe(r->loop, forever, NULL, &f)) return WEFT_EIO;
  usleep(10000);
  weft_future_cancel(f);
  r->cancel_code = weft_future_wait(f);
  weft_future_release(f);
  return 0;
}

static int post_main(void *arg) {
  struct post_rec *r = arg;
  weft_aio_event_create(&r->all_in);
  weft_thread *th[POSTERS + 1];
  for (int i = 0; i < POSTERS; i++) weft_thread_create(&th[i], "poster", poster, r);
  weft_thread_create(&th[POSTERS], "spawner", spawner, r);
  int rc = weft_aio_event_wait(r->all_in);
  /* joining blocks the loop; the spawner needs it: await its end in a thread */
  for (int i = 0; i <= POSTERS; i++) {
    int trc;
    while (weft_thread_join_timed(th[i], &trc, 0) == WEFT_ETIMEDOUT) weft_aio_sleep(1 * MS);
    if (trc) rc = trc;
  }
  weft_aio_event_destroy(r->all_in);
  return rc;
}

static void test_threadsafe_posts_and_spawns(void **state) {
  (void)state;
  struct post_rec r = {0};
  r.per_thread = (long)scaled(20000, 1000);
  r.expected = r.per_thread * POSTERS;
  assert_ok(weft_loop_create(&r.loop, NULL));
  assert_ok(weft_loop_run(r.loop, post_main, &r));
  assert_int_equal(r.calls, r.expected); /* no post lost or run twice */
  assert_ok(r.spawn_rc);
  assert_int_equal(r.spawned_sum, 16 * 17 / 2);
  assert_weft(r.cancel_code, WEFT_ECANCELED);
  weft_loop_destroy(r.loop);
  /* a loop that is gone for good refuses, and says so */
  assert_weft(weft_loop_call_soon_threadsafe(NULL, count_call, &r), WEFT_EINVAL);
}

/* ---- scale ---- */

struct switch_rec {
  long n, count[2];
};

struct switcher_arg {
  struct switch_rec *r;
  int me;
};

static int switcher(void *arg) {
  struct switcher_arg *a = arg;
  for (long i = 0; i < a->r->n; i++) {
    weft_aio_yield();
    a->r->count[a->me]++;
  }
  return 0;
}

static int switch_main(void *arg) {
  struct switch_rec *r = arg;
  struct switcher_arg args[2] = {{r, 0}, {r, 1}};
  weft_aio_task *ts[2];
  weft_aio_spawn(switcher, &args[0], &ts[0]);
  weft_aio_spawn(switcher, &args[1], &ts[1]);
  int rc = weft_aio_gather(ts, 2, 0);
  weft_aio_task_release(ts[0]);
  weft_aio_task_release(ts[1]);
  return rc;
}

static void test_million_switches(void **state) {
  (void)state;
  struct switch_rec r = {.n = (long)scaled(500000, 20000)};
  uint64_t t0 = weft_now_ns();
  assert_ok(weft_aio_run(switch_main, &r));
  uint64_t ns = weft_now_ns() - t0;
  assert_int_equal(r.count[0], r.n);
  assert_int_equal(r.count[1], r.n);
  print_message("%ld task switches in %.1f ms (%.0f ns per yield round)\n", 2 * r.n,
                (double)ns / 1e6, (double)ns / (double)(2 * r.n));
}

static int tiny(void *arg) {
  long *sum = arg;
  *sum += 1;
  return 0;
}

struct many_rec {
  size_t n;
  long sum;
  int rc;
};

static int many_main(void *arg) {
  struct many_rec *r = arg;
  weft_aio_task **ts = calloc(r->n, sizeof *ts);
  if (!ts) return WEFT_ENOMEM;
  for (size_t i = 0; i < r->n; i++)
    if (weft_aio_spawn(tiny, &r->sum, &ts[i])) return WEFT_EIO;
  r->rc = weft_aio_gather(ts, r->n, 0);
  for (size_t i = 0; i < r->n; i++) weft_aio_task_release(ts[i]);
  free(ts);
  return 0;
}

static void test_spawn_gather_100k(void **state) {
  (void)state;
  /* TSan makes a fiber per coroutine (~0.4 ms): far fewer there */
  struct many_rec r = {.n = getenv("WEFT_TEST_SCALE") && test_scale() < 1 ? 2000 : 100000};
  assert_ok(weft_aio_run(many_main, &r));
  assert_ok(r.rc);
  assert_int_equal(r.sum, (long)r.n);
}

static int switch_main_uc(void *arg) {
  return switch_main(arg);
}

static void test_ucontext_backend_and_stack_size(void **state) {
  (void)state;
  struct switch_rec r = {.n = 1000};
  weft_loop_options o = {.stack_size = 256 * 1024, .ucontext_switch = true};
  assert_ok(weft_aio_run_ex(switch_main_uc, &r, &o));
  assert_int_equal(r.count[0] + r.count[1], 2000);
}

/* ---- the lag watchdog ---- */

static int hog(void *arg) {
  (void)arg;
  uint64_t end = weft_now_ns() + 120 * MS;
  while (weft_now_ns() < end) {
  }
  return 0;
}

static int hog_main(void *arg) {
  (void)arg;
  weft_aio_task *t;
  weft_aio_spawn_named("the-hog", hog, NULL, &t);
  int rc = weft_aio_await(t);
  weft_aio_task_release(t);
  return rc;
}

static void test_lag_watchdog_names_the_task(void **state) {
  (void)state;
  char path[] = "/tmp/weft-lag-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  unlink(path);
  fflush(stderr);
  int saved = dup(STDERR_FILENO);
  dup2(fd, STDERR_FILENO);
  weft_loop_options o = {.lag_threshold_ns = 30 * MS};
  int rc = weft_aio_run_ex(hog_main, NULL, &o);
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  char buf[1024] = {0};
  assert_true(pread(fd, buf, sizeof buf - 1, 0) > 0);
  close(fd);
  assert_ok(rc);
  if (!strstr(buf, "weft: the-hog has blocked the event loop for")) {
    print_error("stderr was: %s\n", buf);
    fail();
  }
}

/* ---- stack overflow in a task: reported, then SIGSEGV ---- */

static __attribute__((noinline)) int deep(int n) {
  volatile char buf[256];
  buf[0] = (char)n;
  return n == 0 ? buf[0] : deep(n - 1) + buf[0];
}

static int overflow_task(void *arg) {
  (void)arg;
  return deep(1000000);
}

static void test_stack_overflow_in_child(void **state) {
  (void)state;
  int fd[2];
  assert_int_equal(pipe(fd), 0);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(fd[0]);
    dup2(fd[1], STDERR_FILENO);
    weft_loop_options o = {.stack_size = 32 * 1024};
    weft_aio_run_ex(overflow_task, NULL, &o);
    _exit(3); /* not reached */
  }
  close(fd[1]);
  char buf[4096];
  read_to_end(fd[0], buf, sizeof buf);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  if (!strstr(buf, "weft: coroutine stack overflow (stack of 32 KB)")) {
    print_error("child's stderr: %s\n", buf);
    fail();
  }
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGSEGV);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_to_thread_and_futures),
      cmocka_unit_test(test_threadsafe_posts_and_spawns),
      cmocka_unit_test(test_million_switches),
      cmocka_unit_test(test_spawn_gather_100k),
      cmocka_unit_test(test_ucontext_backend_and_stack_size),
      cmocka_unit_test(test_lag_watchdog_names_the_task),
      cmocka_unit_test(test_stack_overflow_in_child),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
