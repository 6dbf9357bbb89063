/* tests/test_pool.c — the thread pool: lifetime, bad arguments, submit and
 * futures, cancellation, callbacks, shutdown modes, statistics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"
#include "weft/pool.h"
#include "weft/sync.h"
#include "weft/thread.h"

static weft_pool *make_pool(unsigned threads) {
  weft_pool *p = NULL;
  weft_pool_options o = {.threads = threads};
  assert_ok(weft_pool_create(&p, &o));
  assert_non_null(p);
  return p;
}

static void test_create_sizes(void **state) {
  (void)state;
  unsigned sizes[] = {1, 2, 3, 8};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    weft_pool *p = make_pool(sizes[i]);
    assert_int_equal(weft_pool_size(p), sizes[i]);
    assert_ok(weft_pool_destroy(p));
  }
  weft_pool *p;
  assert_ok(weft_pool_create(&p, NULL));
  assert_int_equal(weft_pool_size(p), weft_cpu_count());
  assert_ok(weft_pool_destroy(p));
}

static int noop(void *arg) {
  (void)arg;
  return 0;
}

static void test_bad_args(void **state) {
  (void)state;
  weft_pool *p;
  weft_future *f;
  assert_weft(weft_pool_create(NULL, NULL), WEFT_EINVAL);
  weft_pool_options o = {.threads = 1025};
  assert_weft(weft_pool_create(&p, &o), WEFT_EINVAL);
  p = make_pool(1);
  assert_weft(weft_submit(p, NULL, NULL, &f), WEFT_EINVAL);
  assert_weft(weft_submit(p, noop, NULL, NULL), WEFT_EINVAL);
  assert_weft(weft_pool_shutdown(p, 7), WEFT_EINVAL);
  assert_weft(weft_pool_stats(NULL, NULL, 0, NULL), WEFT_EINVAL);
  weft_group g;
  weft_group_init(&g, p);
  assert_weft(weft_group_spawn(&g, NULL, NULL), WEFT_EINVAL);
  assert_weft(weft_group_spawn(NULL, noop, NULL), WEFT_EINVAL);
  assert_ok(weft_group_wait(&g));
  weft_group_destroy(&g);
  assert_weft(weft_pool_destroy(NULL), WEFT_EINVAL);
  assert_weft(weft_pool_destroy(weft_pool_default()), WEFT_EINVAL);
  assert_ok(weft_pool_destroy(p));
  /* A double destroy is refused without touching the freed pool (ASan would
   * report a use after free). */
  assert_weft(weft_pool_destroy(p), WEFT_EINVAL);
  assert_int_equal(weft_pool_worker_index(), -1);
  assert_null(weft_pool_current());
}

/* ---- submit, results, failures ---- */

static int square(void *arg) {
  long v = (long)(intptr_t)arg;
  long *r = malloc(sizeof *r);
  *r = v * v;
  weft_task_set_result(r, sizeof *r, free);
  return 0;
}

static int failing(void *arg) {
  return weft_task_fail(WEFT_EIO, "row %d is bad", (int)(intptr_t)arg);
}

static void test_submit_results(void **state) {
  (void)state;
  weft_pool *p = make_pool(2);
  enum { N = 64 };
  weft_future *fs[N];
  for (long i = 0; i < N; i++) assert_ok(weft_submit(p, square, (void *)(intptr_t)i, &fs[i]));
  for (long i = 0; i < N; i++) {
    void *v;
    size_t size;
    assert_ok(weft_future_result(fs[i], &v, &size));
    assert_int_equal(size, sizeof(long));
    assert_int_equal(*(long *)v, i * i);
    assert_int_equal(weft_future_status(fs[i]), WEFT_FUTURE_DONE);
    weft_future_release(fs[i]);
  }
  weft_future *f;
  assert_ok(weft_submit(p, failing, (void *)7, &f));
  assert_weft(weft_future_wait(f), WEFT_EIO);
  assert_int_equal(weft_future_status(f), WEFT_FUTURE_FAILED);
  assert_string_equal(weft_future_message(f), "row 7 is bad");
  weft_future_release(f);
  /* NULL pool outside any worker: the default pool. */
  assert_ok(weft_submit(NULL, square, (void *)3, &f));
  assert_ok(weft_future_wait(f));
  weft_future_release(f);
  assert_ok(weft_pool_destroy(p));
}

/* ---- blocking all workers, cancellation ---- */

static weft_sem started;
static weft_event release_ev;
static int ran_flag;

static int blocker(void *arg) {
  (void)arg;
  weft_sem_post(&started);
  weft_event_wait(&release_ev);
  return 0;
}

static int set_flag(void *arg) {
  (void)arg;
  __atomic_store_n(&ran_flag, 1, __ATOMIC_RELAXED);
  return 0;
}

/* Occupies every worker of p with a blocker; returns their futures. */
static weft_future **block_all(weft_pool *p) {
  unsigned n = weft_pool_size(p);
  weft_future **fs = calloc(n, sizeof *fs);
  weft_sem_init(&started, 0);
  weft_event_init(&release_ev);
  for (unsigned i = 0; i < n; i++) assert_ok(weft_submit(p, blocker, NULL, &fs[i]));
  for (unsigned i = 0; i < n; i++) weft_sem_wait(&started);
  return fs;
}

static void unblock_all(weft_pool *p, weft_future **fs) {
  weft_event_set(&release_ev);
  for (unsigned i = 0; i < weft_pool_size(p); i++) {
    assert_ok(weft_future_wait(fs[i]));
    weft_future_release(fs[i]);
  }
  free(fs);
}

static void test_cancel_queued(void **state) {
  (void)state;
  weft_pool *p = make_pool(2);
  ran_flag = 0;
  weft_future **fs = block_all(p);
  weft_future *f;
  assert_ok(weft_submit(p, set_flag, NULL, &f));
  assert_ok(weft_future_cancel(f));
  assert_int_equal(weft_future_status(f), WEFT_FUTURE_CANCELLED);
  unblock_all(p, fs);
  assert_ok(weft_pool_shutdown(p, WEFT_SHUTDOWN_DRAIN));
  assert_int_equal(__atomic_load_n(&ran_flag, __ATOMIC_RELAXED), 0);
  assert_weft(weft_future_wait(f), WEFT_ECANCELED);
  weft_future_release(f);
  assert_ok(weft_pool_destroy(p));
}

static int until_cancelled(void *arg) {
  (void)arg;
  weft_sem_post(&started);
  while (!weft_task_cancelled()) weft_thread_yield();
  return WEFT_ECANCELED;
}

static void test_running_sees_cancel(void **state) {
  (void)state;
  weft_pool *p = make_pool(2);
  weft_sem_init(&started, 0);
  assert_false(weft_task_cancelled()); /* outside a task */
  weft_future *f;
  assert_ok(weft_submit(p, until_cancelled, NULL, &f));
  weft_sem_wait(&started);
  assert_weft(weft_future_cancel(f), WEFT_EBUSY);
  assert_weft(weft_future_wait(f), WEFT_ECANCELED);
  weft_future_release(f);
  assert_ok(weft_pool_destroy(p));
}

/* ---- init / fini ---- */

static unsigned inits, finis, init_mask;

static int count_init(void *ctx, unsigned worker) {
  (void)ctx;
  __atomic_fetch_add(&inits, 1, __ATOMIC_RELAXED);
  __atomic_fetch_or(&init_mask, 1u << worker, __ATOMIC_RELAXED);
  return 0;
}

static void count_fini(void *ctx, unsigned worker) {
  (void)ctx;
  (void)worker;
  __atomic_fetch_add(&finis, 1, __ATOMIC_RELAXED);
}

static int fail_init(void *ctx, unsigned worker) {
  (void)ctx;
  if (worker == 1) return WEFT_EIO;
  __atomic_fetch_add(&inits, 1, __ATOMIC_RELAXED);
  return 0;
}

static void test_init_fini(void **state) {
  (void)state;
  inits = finis = init_mask = 0;
  weft_pool *p;
  weft_pool_options o = {.threads = 3, .init = count_init, .fini = count_fini, .name = "tst"};
  assert_ok(weft_pool_create(&p, &o));
  assert_int_equal(inits, 3);
  assert_int_equal(init_mask, 7);
  assert_ok(weft_pool_destroy(p));
  assert_int_equal(finis, 3);

  inits = finis = 0;
  o.init = fail_init;
  p = NULL;
  assert_weft(weft_pool_create(&p, &o), WEFT_EIO);
  assert_null(p);
  assert_int_equal(finis, inits); /* workers whose init succeeded were finalised */
}

/* ---- shutdown ---- */

static long counter;

static int bump(void *arg) {
  (void)arg;
  __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
  return 0;
}

static void test_shutdown_drain(void **state) {
  (void)state;
  weft_pool *p = make_pool(2);
  counter = 0;
  size_t n = scaled(2000, 100);
  weft_future **fs = calloc(n, sizeof *fs);
  for (size_t i = 0; i < n; i++) assert_ok(weft_submit(p, bump, NULL, &fs[i]));
  assert_ok(weft_pool_shutdown(p, WEFT_SHUTDOWN_DRAIN));
  assert_int_equal(counter, n);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(weft_future_status(fs[i]), WEFT_FUTURE_DONE);
    weft_future_release(fs[i]);
  }
  free(fs);
  /* Use after shutdown. */
  weft_future *f;
  assert_weft(weft_submit(p, bump, NULL, &f), WEFT_ESHUTDOWN);
  weft_group g;
  weft_group_init(&g, p);
  assert_weft(weft_group_spawn(&g, bump, NULL), WEFT_ESHUTDOWN);
  assert_ok(weft_group_wait(&g));
  weft_group_destroy(&g);
  assert_ok(weft_pool_shutdown(p, WEFT_SHUTDOWN_DRAIN)); /* idempotent */
  assert_ok(weft_pool_destroy(p));
}

static void test_shutdown_cancel(void **state) {
  (void)state;
  weft_pool *p = make_pool(2);
  counter = 0;
  weft_sem_init(&started, 0);
  weft_future *busy[2];
  for (int i = 0; i < 2; i++) assert_ok(weft_submit(p, until_cancelled, NULL, &busy[i]));
  for (int i = 0; i < 2; i++) weft_sem_wait(&started);
  enum { N = 100 };
  weft_future *fs[N];
  for (int i = 0; i < N; i++) assert_ok(weft_submit(p, bump, NULL, &fs[i]));
  assert_ok(weft_pool_shutdown(p, WEFT_SHUTDOWN_CANCEL));
  assert_int_equal(counter, 0);
  for (int i = 0; i < N; i++) {
    assert_int_equal(weft_future_status(fs[i]), WEFT_FUTURE_CANCELLED);
    weft_future_release(fs[i]);
  }
  for (int i = 0; i < 2; i++) {
    assert_weft(weft_future_wait(busy[i]), WEFT_ECANCELED);
    weft_future_release(busy[i]);
  }
  assert_ok(weft_pool_destroy(p));
}

static int inside_checks(void *arg) {
  weft_pool *p = arg;
  if (weft_pool_current() != p) return WEFT_EINVAL;
  int i = weft_pool_worker_index();
  if (i < 0 || (unsigned)i >= weft_pool_size(p)) return WEFT_ERANGE;
  if (weft_pool_shutdown(p, WEFT_SHUTDOWN_DRAIN) != WEFT_EDEADLK) return WEFT_EIO;
  if (weft_pool_destroy(p) != WEFT_EDEADLK) return WEFT_EIO;
  return 0;
}

static void test_inside_worker(void **state) {
  (void)state;
  weft_pool *p = make_pool(2);
  weft_future *f;
  assert_ok(weft_submit(p, inside_checks, p, &f));
  assert_ok(weft_future_wait(f));
  weft_future_release(f);
  assert_ok(weft_pool_destroy(p));
}

/* ---- statistics ---- */

static void test_stats(void **state) {
  (void)state;
  weft_pool *p = make_pool(2);
  size_t n = scaled(1000, 50);
  weft_future **fs = calloc(n, sizeof *fs);
  for (size_t i = 0; i < n; i++) assert_ok(weft_submit(p, bump, NULL, &fs[i]));
  for (size_t i = 0; i < n; i++) {
    assert_ok(weft_future_wait(fs[i]));
    weft_future_release(fs[i]);
  }
  free(fs);
  weft_worker_stats st[4];
  size_t written = 0;
  assert_ok(weft_pool_stats(p, st, 4, &written));
  assert_int_equal(written, 2);
  uint64_t sum = 0;
  for (size_t i = 0; i < written; i++) sum += st[i].tasks_run;
  assert_int_equal(sum, n);
  assert_ok(weft_pool_destroy(p));
}

static uint64_t process_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void test_idle_parks(void **state) {
  (void)state;
  weft_pool *p;
  weft_pool_options o = {.threads = 2, .spin_ns = 20000};
  assert_ok(weft_pool_create(&p, &o));
  weft_future *f;
  assert_ok(weft_submit(p, bump, NULL, &f));
  assert_ok(weft_future_wait(f));
  weft_future_release(f);
  /* A quiet pool: every worker must end up parked (0% CPU). Bounded poll:
   * parking happens after spin_ns, the bound is generous for loaded CI. */
  bool all = false;
  for (int tries = 0; tries < 1000 && !all; tries++) {
    weft_worker_stats st[2];
    size_t w;
    assert_ok(weft_pool_stats(p, st, 2, &w));
    all = st[0].parks > 0 && st[1].parks > 0;
    if (!all) weft_sleep_ns(10000000);
    else assert_true(st[0].idle_ns > 0 && st[1].idle_ns > 0);
  }
  assert_true(all);
  /* And parked means no CPU: over 200 ms of quiet the whole process may use
   * a little (a sanitizer's own thread, a spurious wake), while one spinning
   * worker would use all 200 ms. A bound on CPU time, not on speed. */
  uint64_t cpu0 = process_cpu_ns();
  weft_sleep_ns(200000000);
  uint64_t used = process_cpu_ns() - cpu0;
  if (used >= 40000000) print_error("idle pool used %.1f ms of CPU in 200 ms\n", used / 1e6);
  assert_true(used < 40000000);
  assert_ok(weft_pool_destroy(p));
}

/* A worker of a one-worker pool waits on futures of the same pool through
 * wait_any, wait_first_error and as_completed: it must run them itself
 * meanwhile, or the pool deadlocks (the test would time out). */
static int leaf(void *arg) {
  (void)arg;
  return 0;
}

static int waits_on_many(void *arg) {
  weft_pool *p = arg;
  weft_future *fs[3];
  for (int i = 0; i < 3; i++)
    if (weft_submit(p, leaf, NULL, &fs[i]) != 0) return WEFT_ESYSTEM;
  size_t idx;
  int rc = weft_future_wait_any(fs, 3, WEFT_FOREVER, &idx);
  if (rc == 0) rc = weft_future_wait_first_error(fs, 3, WEFT_FOREVER, &idx);
  if (rc == 0 && idx != 3) rc = WEFT_ESYSTEM; /* all done, none failed */
  weft_future *more[2];
  for (int i = 0; i < 2 && rc == 0; i++) rc = weft_submit(p, leaf, NULL, &more[i]);
  weft_as_completed *it;
  if (rc == 0) rc = weft_as_completed_create(&it, more, 2);
  if (rc == 0) {
    weft_future *f;
    int seen = 0;
    while (weft_as_completed_next(it, WEFT_FOREVER, &f, &idx) == 0) seen++;
    weft_as_completed_destroy(it);
    if (seen != 2) rc = WEFT_ESYSTEM;
    for (int i = 0; i < 2; i++) weft_future_release(more[i]);
  }
  for (int i = 0; i < 3; i++) weft_future_release(fs[i]);
  return rc;
}

static void test_worker_waits_on_many(void **state) {
  (void)state;
  weft_pool *p;
  assert_ok(weft_pool_create(&p, &(weft_pool_options){.threads = 1}));
  assert_ok(weft_apply(p, waits_on_many, p));
  assert_ok(weft_pool_destroy(p));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_sizes),   cmocka_unit_test(test_bad_args),
      cmocka_unit_test(test_submit_results), cmocka_unit_test(test_cancel_queued),
      cmocka_unit_test(test_running_sees_cancel), cmocka_unit_test(test_init_fini),
      cmocka_unit_test(test_shutdown_drain), cmocka_unit_test(test_shutdown_cancel),
      cmocka_unit_test(test_inside_worker),  cmocka_unit_test(test_stats),
      cmocka_unit_test(test_idle_parks),     cmocka_unit_test(test_worker_waits_on_many),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
