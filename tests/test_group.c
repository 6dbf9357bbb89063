/* tests/test_group.c — task groups: fork-join, nesting, first error,
 * hierarchical cancellation, waiting inside tasks, stress. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "weft/pool.h"
#include "weft/sync.h"
#include "weft/thread.h"

static weft_pool *make_pool(unsigned threads) {
  weft_pool *p = NULL;
  weft_pool_options o = {.threads = threads};
  assert_ok(weft_pool_create(&p, &o));
  return p;
}

/* Runs fn(arg) as a task of p and returns its code. */
static int run_in(weft_pool *p, weft_task_fn fn, void *arg) {
  weft_future *f;
  assert_ok(weft_submit(p, fn, arg, &f));
  int rc = weft_future_wait(f);
  weft_future_release(f);
  return rc;
}

/* ---- fib ---- */

typedef struct { int n; long r; } fib_arg;
static int fib_task(void *arg);

static long fib(int n) {
  if (n < 2) return n;
  weft_group g;
  weft_group_init(&g, NULL);
  fib_arg a = {n - 1, 0};
  if (weft_group_spawn(&g, fib_task, &a) != 0) return -1;
  long b = fib(n - 2);
  if (weft_group_wait(&g) != 0) return -1;
  weft_group_destroy(&g);
  return a.r + b;
}

static int fib_task(void *arg) {
  fib_arg *a = arg;
  a->r = fib(a->n);
  return 0;
}

static void test_fib(void **state) {
  (void)state;
  static const long expect[] = {0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377,
                                610, 987, 1597, 2584, 4181, 6765, 10946, 17711};
  unsigned sizes[] = {1, 2, 4};
  for (size_t s = 0; s < 3; s++) {
    weft_pool *p = make_pool(sizes[s]);
    for (int n = 0; n <= 22; n += (n < 10 ? 1 : 4)) {
      fib_arg a = {n, 0};
      assert_ok(run_in(p, fib_task, &a));
      assert_int_equal(a.r, expect[n]);
    }
    assert_ok(weft_pool_destroy(p));
  }
}

/* ---- nesting: 3 levels of groups, each spawning K children ---- */

enum { K = 8 };
static long leaves;

static int level(void *arg) {
  int depth = (int)(intptr_t)arg;
  if (depth == 3) {
    __atomic_fetch_add(&leaves, 1, __ATOMIC_RELAXED);
    return 0;
  }
  weft_group g;
  weft_group_init(&g, NULL);
  for (int i = 0; i < K; i++) weft_group_spawn(&g, level, (void *)(intptr_t)(depth + 1));
  int rc = weft_group_wait(&g);
  weft_group_destroy(&g);
  return rc;
}

static void test_nested(void **state) {
  (void)state;
  weft_pool *p = make_pool(2);
  leaves = 0;
  assert_ok(run_in(p, level, (void *)0));
  assert_int_equal(leaves, K * K * K);
  /* The same from an outside thread's group. */
  leaves = 0;
  weft_group g;
  weft_group_init(&g, p);
  assert_ok(weft_group_spawn(&g, level, (void *)1));
  assert_ok(weft_group_wait(&g));
  weft_group_destroy(&g);
  assert_int_equal(leaves, K * K);
  assert_ok(weft_pool_destroy(p));
}

/* ---- first error ---- */

static long ran;
static weft_sem started;

static int boom(void *arg) {
  (void)arg;
  return weft_task_fail(WEFT_EIO, "boom %d", 42);
}

static int count_task(void *arg) {
  (void)arg;
  __atomic_fetch_add(&ran, 1, __ATOMIC_RELAXED);
  return 0;
}

static int spin_until_cancelled(void *arg) {
  (void)arg;
  weft_sem_post(&started);
  while (!weft_task_cancelled()) weft_thread_yield();
  return 0;
}

static void test_first_error(void **state) {
  (void)state;
  /* One worker, FIFO injection: boom runs first, the rest are skipped. */
  weft_pool *p = make_pool(1);
  ran = 0;
  weft_group g;
  weft_group_init(&g, p);
  assert_ok(weft_group_spawn(&g, boom, NULL));
  for (int i = 0; i < 100; i++) assert_ok(weft_group_spawn(&g, count_task, NULL));
  assert_weft(weft_group_wait(&g), WEFT_EIO);
  assert_string_equal(weft_group_message(&g), "boom 42");
  assert_int_equal(ran, 0);
  weft_group_destroy(&g);
  /* Reusable after wait; no error, empty message after destroy. */
  assert_ok(weft_group_spawn(&g, count_task, NULL));
  assert_ok(weft_group_wait(&g));
  assert_int_equal(ran, 1);
  assert_string_equal(weft_group_message(&g), "");
  assert_ok(weft_pool_destroy(p));

  /* Two workers: running siblings see the cancellation and stop. */
  p = make_pool(2);
  weft_sem_init(&started, 0);
  weft_group_init(&g, p);
  assert_ok(weft_group_spawn(&g, spin_until_cancelled, NULL));
  weft_sem_wait(&started);
  assert_ok(weft_group_spawn(&g, boom, NULL));
  assert_weft(weft_group_wait(&g), WEFT_EIO);
  assert_string_equal(weft_group_message(&g), "boom 42");
  weft_group_destroy(&g);
  assert_ok(weft_pool_destroy(p));
}

/* ---- hierarchical cancellation ---- */

static int inner_rc;

static int outer_task(void *arg) {
  (void)arg;
  weft_group inner;
  weft_group_init(&inner, NULL);
  for (int i = 0; i < 2; i++) weft_group_spawn(&inner, spin_until_cancelled, NULL);
  __atomic_store_n(&inner_rc, weft_group_wait(&inner), __ATOMIC_RELAXED);
  weft_group_destroy(&inner);
  return 0;
}

static void test_hierarchical_cancel(void **state) {
  (void)state;
  weft_pool *p = make_pool(2);
  weft_sem_init(&started, 0);
  inner_rc = 0;
  weft_group outer;
  weft_group_init(&outer, p);
  assert_ok(weft_group_spawn(&outer, outer_task, NULL));
  weft_sem_wait(&started); /* an inner task runs */
  weft_group_cancel(&outer);
  assert_weft(weft_group_wait(&outer), WEFT_ECANCELED);
  assert_int_equal(inner_rc, WEFT_ECANCELED);
  weft_group_destroy(&outer);
  assert_ok(weft_pool_destroy(p));
}

/* ---- waiting on futures of the same pool from every worker ---- */

static weft_pool *chain_pool;

static int chain(void *arg) {
  long depth = (long)(intptr_t)arg;
  if (depth == 0) return 0;
  weft_future *f;
  int rc = weft_submit(chain_pool, chain, (void *)(intptr_t)(depth - 1), &f);
  if (rc) return rc;
  rc = weft_future_wait(f); /* the worker runs other tasks meanwhile */
  weft_future_release(f);
  return rc;
}

static void test_wait_futures_inside(void **state) {
  (void)state;
  weft_pool *p = chain_pool = make_pool(2);
  /* More waiting chains than workers: every worker waits, nested. */
  enum { CHAINS = 4 };
  weft_future *fs[CHAINS];
  for (int i = 0; i < CHAINS; i++) assert_ok(weft_submit(p, chain, (void *)40, &fs[i]));
  for (int i = 0; i < CHAINS; i++) {
    assert_ok(weft_future_wait(fs[i]));
    weft_future_release(fs[i]);
  }
  assert_ok(weft_pool_destroy(p));
}

/* ---- stress: many tiny tasks, no loss, no duplication ---- */

static unsigned char *seen;
static uint64_t sum;

static int tiny(void *arg) {
  size_t i = (size_t)arg;
  __atomic_fetch_add(&seen[i], 1, __ATOMIC_RELAXED);
  __atomic_fetch_add(&sum, i, __ATOMIC_RELAXED);
  return 0;
}

typedef struct { weft_group *g; size_t lo, hi; } range_arg;

static int spawn_range(void *arg) {
  range_arg *r = arg;
  if (r->hi - r->lo <= 4096) {
    for (size_t i = r->lo; i < r->hi; i++) weft_group_spawn(r->g, tiny, (void *)i);
    return 0;
  }
  /* Recursive splitting: the halves are spawned into the same group. */
  size_t mid = r->lo + (r->hi - r->lo) / 2;
  range_arg *halves = malloc(2 * sizeof *halves);
  halves[0] = (range_arg){r->g, r->lo, mid};
  halves[1] = (range_arg){r->g, mid, r->hi};
  weft_group sub;
  weft_group_init(&sub, NULL);
  weft_group_spawn(&sub, spawn_range, &halves[0]);
  weft_group_spawn(&sub, spawn_range, &halves[1]);
  int rc = weft_group_wait(&sub);
  weft_group_destroy(&sub);
  free(halves);
  return rc;
}

static void check_all_once(size_t n) {
  for (size_t i = 0; i < n; i++)
    if (seen[i] != 1) fail_msg("task %zu ran %d times", i, seen[i]);
  assert_int_equal(sum, (uint64_t)n * (n - 1) / 2);
}

static void test_many_tiny(void **state) {
  (void)state;
  size_t n = scaled(10000000, 100000);
  seen = calloc(n, 1);
  weft_pool *p = make_pool(2);
  /* From inside the pool, split recursively. */
  sum = 0;
  weft_group g;
  weft_group_init(&g, p);
  range_arg r = {&g, 0, n};
  assert_ok(run_in(p, spawn_range, &r));
  assert_ok(weft_group_wait(&g));
  check_all_once(n);
  /* From an outside thread, flat. */
  memset(seen, 0, n);
  sum = 0;
  size_t m = n / 4;
  for (size_t i = 0; i < m; i++) assert_ok(weft_group_spawn(&g, tiny, (void *)i));
  assert_ok(weft_group_wait(&g));
  check_all_once(m);
  weft_group_destroy(&g);
  assert_ok(weft_pool_destroy(p));
  free(seen);
}

/* ---- many outside threads spawning into one pool ---- */

enum { SPAWNERS = 8 };
static weft_pool *shared_pool;
static weft_group shared_group;
static size_t per_thread;

static int spawner(void *arg) {
  size_t base = (size_t)arg * per_thread;
  for (size_t i = 0; i < per_thread; i++)
    if (weft_group_spawn(&shared_group, tiny, (void *)(base + i)) != 0) return WEFT_EIO;
  /* Half of the threads also use their own group and submit. */
  if ((size_t)arg % 2 == 0) {
    weft_future *f;
    if (weft_submit(shared_pool, tiny, (void *)(SPAWNERS * per_thread + (size_t)arg / 2), &f)) return WEFT_EIO;
    int rc = weft_future_wait(f);
    weft_future_release(f);
    return rc;
  }
  return 0;
}

static void test_outside_spawners(void **state) {
  (void)state;
  per_thread = scaled(200000, 10000);
  size_t n = SPAWNERS * per_thread + SPAWNERS / 2;
  seen = calloc(n, 1);
  sum = 0;
  shared_pool = make_pool(2);
  weft_group_init(&shared_group, shared_pool);
  weft_thread *t[SPAWNERS];
  for (size_t i = 0; i < SPAWNERS; i++) assert_ok(weft_thread_create(&t[i], "spawner", spawner, (void *)i));
  for (size_t i = 0; i < SPAWNERS; i++) {
    int rc;
    assert_ok(weft_thread_join(t[i], &rc));
    assert_ok(rc);
  }
  assert_ok(weft_group_wait(&shared_group));
  weft_group_destroy(&shared_group);
  check_all_once(n);
  assert_ok(weft_pool_destroy(shared_pool));
  free(seen);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fib),
      cmocka_unit_test(test_nested),
      cmocka_unit_test(test_first_error),
      cmocka_unit_test(test_hierarchical_cancel),
      cmocka_unit_test(test_wait_futures_inside),
      cmocka_unit_test(test_many_tiny),
      cmocka_unit_test(test_outside_spawners),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
