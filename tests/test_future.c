/* tests/test_future.c — futures: every function, cancel in all three states,
 * callbacks, waiting on many, as_completed, the wait-helper hook, and
 * concurrent finish/register stress. Threads synchronise with POSIX
 * semaphores, never with sleeps. */
#include <pthread.h>
#include <semaphore.h>
#include <string.h>
#include "future/future_internal.h"
#include "testutil.h"
#include "weft/future.h"

#define SHORT_NS 2000000u /* 2 ms: only where a timeout is the expected outcome */

static weft_future *make(void) {
  weft_future *f = NULL;
  assert_ok(weft_future_create(&f));
  assert_non_null(f);
  return f;
}

/* ---- a finisher thread driven step by step ---- */

struct finisher {
  pthread_t thread;
  sem_t go;               /* one post per future to finish */
  weft_future **fs;
  const size_t *order;    /* which future to finish at each step */
  const int *codes;       /* code for each step (NULL: all 0) */
  size_t steps;
};

static void *finisher_main(void *p) {
  struct finisher *fin = p;
  for (size_t i = 0; i < fin->steps; i++) {
    sem_wait(&fin->go);
    int code = fin->codes ? fin->codes[i] : 0;
    weft_future_finish(fin->fs[fin->order[i]], code, NULL, 0, NULL, code ? "failed" : NULL);
  }
  return NULL;
}

static void finisher_start(struct finisher *fin, weft_future **fs, const size_t *order,
                           const int *codes, size_t steps) {
  *fin = (struct finisher){.fs = fs, .order = order, .codes = codes, .steps = steps};
  sem_init(&fin->go, 0, 0);
  pthread_create(&fin->thread, NULL, finisher_main, fin);
}

static void finisher_stop(struct finisher *fin) {
  pthread_join(fin->thread, NULL);
  sem_destroy(&fin->go);
}

/* ---- basics ---- */

static int freed_values;
static void count_free(void *v) {
  free(v);
  __atomic_fetch_add(&freed_values, 1, __ATOMIC_RELAXED);
}

static void test_lifecycle_done(void **state) {
  (void)state;
  weft_future *f = make();
  assert_int_equal(weft_future_status(f), WEFT_FUTURE_PENDING);
  assert_false(weft_future_is_finished(f));
  assert_int_equal(weft_future_error(f), 0);
  assert_string_equal(weft_future_message(f), "");
  assert_weft(weft_future_wait_timed(f, 0), WEFT_ETIMEDOUT);
  assert_weft(weft_future_wait_timed(f, SHORT_NS), WEFT_ETIMEDOUT);
  assert_ok(weft_future_start(f));
  assert_int_equal(weft_future_status(f), WEFT_FUTURE_RUNNING);
  assert_weft(weft_future_start(f), WEFT_EALREADY);
  int *v = malloc(sizeof *v);
  *v = 42;
  freed_values = 0;
  assert_ok(weft_future_finish(f, 0, v, sizeof *v, count_free, NULL));
  assert_int_equal(weft_future_status(f), WEFT_FUTURE_DONE);
  assert_true(weft_future_is_finished(f));
  assert_ok(weft_future_wait(f));
  assert_ok(weft_future_wait_timed(f, 0));
  void *out = NULL;
  size_t size = 0;
  assert_ok(weft_future_result(f, &out, &size));
  assert_ptr_equal(out, v);
  assert_int_equal(size, sizeof(int));
  assert_ok(weft_future_result(f, NULL, NULL));
  assert_weft(weft_future_finish(f, -5, NULL, 0, NULL, NULL), WEFT_EALREADY);
  assert_weft(weft_future_start(f), WEFT_EALREADY);
  weft_future_retain(f);
  weft_future_release(f);
  assert_int_equal(freed_values, 0);
  weft_future_release(f);
  assert_int_equal(freed_values, 1); /* value freed with the future */
  weft_future_release(NULL);
  weft_future_retain(NULL);
}

static void test_failed_with_message(void **state) {
  (void)state;
  weft_future *f = make();
  char msg[32] = "bad row 7";
  assert_ok(weft_future_finish(f, WEFT_EIO, NULL, 0, NULL, msg)); /* never started: allowed */
  strcpy(msg, "overwritten");                                     /* the future copied it */
  assert_int_equal(weft_future_status(f), WEFT_FUTURE_FAILED);
  assert_weft(weft_future_wait(f), WEFT_EIO);
  assert_weft(weft_future_error(f), WEFT_EIO);
  assert_string_equal(weft_future_message(f), "bad row 7");
  void *out = (void *)1;
  assert_weft(weft_future_result(f, &out, NULL), WEFT_EIO);
  assert_null(out);
  assert_false(weft_future_cancel_requested(f));
  weft_future_release(f);
}

static void test_bad_args(void **state) {
  (void)state;
  size_t idx;
  weft_as_completed *it;
  weft_future *f = make();
  assert_weft(weft_future_create(NULL), WEFT_EINVAL);
  assert_weft(weft_future_wait(NULL), WEFT_EINVAL);
  assert_weft(weft_future_wait_timed(NULL, 0), WEFT_EINVAL);
  assert_weft(weft_future_result(NULL, NULL, NULL), WEFT_EINVAL);
  assert_weft(weft_future_status(NULL), WEFT_EINVAL);
  assert_false(weft_future_is_finished(NULL));
  assert_weft(weft_future_error(NULL), WEFT_EINVAL);
  assert_string_equal(weft_future_message(NULL), "");
  assert_weft(weft_future_cancel(NULL), WEFT_EINVAL);
  assert_false(weft_future_cancel_requested(NULL));
  assert_weft(weft_future_on_done(NULL, NULL, NULL), WEFT_EINVAL);
  assert_weft(weft_future_on_done(f, NULL, NULL), WEFT_EINVAL);
  assert_weft(weft_future_start(NULL), WEFT_EINVAL);
  assert_weft(weft_future_finish(NULL, 0, NULL, 0, NULL, NULL), WEFT_EINVAL);
  assert_weft(weft_future_finish(f, 1, NULL, 0, NULL, NULL), WEFT_EINVAL);
  weft_future *with_null[2] = {f, NULL};
  assert_weft(weft_future_wait_all(NULL, 1, 0), WEFT_EINVAL);
  assert_weft(weft_future_wait_all(with_null, 2, 0), WEFT_EINVAL);
  assert_ok(weft_future_wait_all(NULL, 0, 0)); /* all of none */
  assert_weft(weft_future_wait_any(&f, 0, 0, &idx), WEFT_EINVAL);
  assert_weft(weft_future_wait_any(&f, 1, 0, NULL), WEFT_EINVAL);
  assert_weft(weft_future_wait_any(with_null, 2, 0, &idx), WEFT_EINVAL);
  assert_weft(weft_future_wait_first_error(with_null, 2, 0, &idx), WEFT_EINVAL);
  assert_weft(weft_future_wait_first_error(&f, 1, 0, NULL), WEFT_EINVAL);
  assert_weft(weft_as_completed_create(NULL, &f, 1), WEFT_EINVAL);
  assert_weft(weft_as_completed_create(&it, with_null, 2), WEFT_EINVAL);
  assert_weft(weft_as_completed_next(NULL, 0, NULL, NULL), WEFT_EINVAL);
  weft_as_completed_destroy(NULL);
  weft_future_release(f);
}

/* ---- cancellation in the three states ---- */

static int cb_count;
static void count_cb(weft_future *f, void *arg) {
  (void)arg;
  assert_true(weft_future_is_finished(f));
  __atomic_fetch_add(&cb_count, 1, __ATOMIC_RELAXED);
}

static void *wait_thread(void *p) {
  return (void *)(intptr_t)weft_future_wait(p);
}

static void test_cancel_pending(void **state) {
  (void)state;
  weft_future *f = make();
  cb_count = 0;
  assert_ok(weft_future_on_done(f, count_cb, NULL));
  pthread_t t;
  pthread_create(&t, NULL, wait_thread, f);
  assert_ok(weft_future_cancel(f));
  void *rc;
  pthread_join(t, &rc);
  assert_weft((int)(intptr_t)rc, WEFT_ECANCELED);
  assert_int_equal(cb_count, 1);
  assert_int_equal(weft_future_status(f), WEFT_FUTURE_CANCELLED);
  assert_true(weft_future_cancel_requested(f));
  assert_weft(weft_future_error(f), WEFT_ECANCELED);
  assert_weft(weft_future_start(f), WEFT_ECANCELED); /* the engine must not run it */
  assert_weft(weft_future_finish(f, 0, NULL, 0, NULL, NULL), WEFT_EALREADY);
  assert_weft(weft_future_cancel(f), WEFT_EALREADY);
  weft_future_release(f);
}

static void test_cancel_running(void **state) {
  (void)state;
  weft_future *f = make();
  assert_ok(weft_future_start(f));
  assert_false(weft_future_cancel_requested(f));
  assert_weft(weft_future_cancel(f), WEFT_EBUSY);
  assert_true(weft_future_cancel_requested(f));
  assert_int_equal(weft_future_status(f), WEFT_FUTURE_RUNNING);
  assert_ok(weft_future_finish(f, 0, NULL, 0, NULL, NULL)); /* the task ignored it */
  assert_int_equal(weft_future_status(f), WEFT_FUTURE_DONE);
  assert_weft(weft_future_cancel(f), WEFT_EALREADY);
  weft_future_release(f);
}

static void test_cancel_finished(void **state) {
  (void)state;
  weft_future *f = make();
  assert_ok(weft_future_finish(f, WEFT_EIO, NULL, 0, NULL, NULL));
  assert_weft(weft_future_cancel(f), WEFT_EALREADY);
  assert_int_equal(weft_future_status(f), WEFT_FUTURE_FAILED);
  assert_false(weft_future_cancel_requested(f));
  weft_future_release(f);
}

/* ---- callbacks ---- */

struct order_log {
  int seen[8];
  int n;
};

static struct order_log order;
static void log_cb(weft_future *f, void *arg) {
  (void)f;
  order.seen[order.n++] = (int)(intptr_t)arg;
}

/* A callback that registers another one while the finisher dispatches. */
static void chain_cb(weft_future *f, void *arg) {
  log_cb(f, arg);
  assert_ok(weft_future_on_done(f, log_cb, (void *)(intptr_t)99));
}

static void test_callbacks_order(void **state) {
  (void)state;
  weft_future *f = make();
  memset(&order, 0, sizeof order);
  assert_ok(weft_future_on_done(f, log_cb, (void *)1));
  assert_ok(weft_future_on_done(f, chain_cb, (void *)2));
  assert_ok(weft_future_on_done(f, log_cb, (void *)3));
  assert_int_equal(order.n, 0);
  assert_ok(weft_future_finish(f, 0, NULL, 0, NULL, NULL));
  assert_int_equal(order.n, 4);
  int expect[] = {1, 2, 3, 99};
  for (int i = 0; i < 4; i++) assert_int_equal(order.seen[i], expect[i]);
  /* Already finished: runs at once, in this thread, before on_done returns. */
  assert_ok(weft_future_on_done(f, log_cb, (void *)5));
  assert_int_equal(order.n, 5);
  assert_int_equal(order.seen[4], 5);
  weft_future_release(f);
}

static void release_cb(weft_future *f, void *arg) {
  (void)arg;
  weft_future_release(f);
}

static void test_callback_releases(void **state) {
  (void)state;
  freed_values = 0;
  /* The callback drops the only reference, during finish. */
  weft_future *f = make();
  assert_ok(weft_future_on_done(f, release_cb, NULL));
  assert_ok(weft_future_on_done(f, count_cb, NULL)); /* runs after: f still alive */
  assert_ok(weft_future_finish(f, 0, malloc(8), 8, count_free, NULL));
  assert_int_equal(freed_values, 1);
  /* An immediate callback drops the last reference. */
  f = make();
  assert_ok(weft_future_finish(f, 0, malloc(8), 8, count_free, NULL));
  assert_ok(weft_future_on_done(f, release_cb, NULL));
  assert_int_equal(freed_values, 2);
  /* Callbacks of a future released unfinished never run (and do not leak). */
  f = make();
  cb_count = 0;
  assert_ok(weft_future_on_done(f, count_cb, NULL));
  weft_future_release(f);
  assert_int_equal(cb_count, 0);
}

/* ---- waiting across threads ---- */

static void test_wait_across_threads(void **state) {
  (void)state;
  weft_future *fs[2] = {make(), make()};
  size_t order_idx[2] = {0, 1};
  int codes[2] = {0, WEFT_EPERM};
  struct finisher fin;
  finisher_start(&fin, fs, order_idx, codes, 2);
  sem_post(&fin.go);
  assert_ok(weft_future_wait(fs[0]));
  sem_post(&fin.go);
  assert_weft(weft_future_wait_timed(fs[1], WEFT_FOREVER), WEFT_EPERM);
  assert_string_equal(weft_future_message(fs[1]), "failed");
  finisher_stop(&fin);
  weft_future_release(fs[0]);
  weft_future_release(fs[1]);
}

static void test_wait_all(void **state) {
  (void)state;
  enum { N = 4 };
  weft_future *fs[N];
  for (int i = 0; i < N; i++) fs[i] = make();
  assert_weft(weft_future_wait_all(fs, N, SHORT_NS), WEFT_ETIMEDOUT);
  size_t order_idx[N] = {3, 1, 0, 2};
  struct finisher fin;
  finisher_start(&fin, fs, order_idx, NULL, N);
  for (int i = 0; i < N; i++) sem_post(&fin.go);
  assert_ok(weft_future_wait_all(fs, N, WEFT_FOREVER));
  finisher_stop(&fin);
  for (int i = 0; i < N; i++) assert_true(weft_future_is_finished(fs[i]));
  for (int i = 0; i < N; i++) weft_future_release(fs[i]);
}

static void test_wait_any(void **state) {
  (void)state;
  enum { N = 20 }; /* more than the stack links: the heap path */
  weft_future *fs[N];
  for (int i = 0; i < N; i++) fs[i] = make();
  size_t idx = 99;
  assert_weft(weft_future_wait_any(fs, N, 0, &idx), WEFT_ETIMEDOUT);
  assert_weft(weft_future_wait_any(fs, 3, SHORT_NS, &idx), WEFT_ETIMEDOUT);
  size_t order_idx[2] = {17, 2};
  struct finisher fin;
  finisher_start(&fin, fs, order_idx, NULL, 2);
  sem_post(&fin.go);
  assert_ok(weft_future_wait_any(fs, N, WEFT_FOREVER, &idx));
  assert_int_equal(idx, 17);
  assert_weft(weft_future_wait_any(fs, 3, 0, &idx), WEFT_ETIMEDOUT);
  sem_post(&fin.go);
  assert_ok(weft_future_wait_any(fs, 3, WEFT_FOREVER, &idx));
  assert_int_equal(idx, 2);
  finisher_stop(&fin);
  assert_ok(weft_future_wait_any(fs, N, 0, &idx)); /* finished already: lowest index */
  assert_int_equal(idx, 2);
  for (int i = 0; i < N; i++) weft_future_release(fs[i]);
}

static void test_wait_first_error(void **state) {
  (void)state;
  enum { N = 4 };
  weft_future *fs[N];
  for (int i = 0; i < N; i++) fs[i] = make();
  size_t idx = 99;
  assert_weft(weft_future_wait_first_error(fs, N, SHORT_NS, &idx), WEFT_ETIMEDOUT);
  /* Done, done, then index 1 fails: reported with its code. */
  size_t order_idx[3] = {0, 3, 1};
  int codes[3] = {0, 0, WEFT_EIO};
  struct finisher fin;
  finisher_start(&fin, fs, order_idx, codes, 3);
  for (int i = 0; i < 3; i++) sem_post(&fin.go);
  assert_weft(weft_future_wait_first_error(fs, N, WEFT_FOREVER, &idx), WEFT_EIO);
  assert_int_equal(idx, 1);
  finisher_stop(&fin);
  /* A cancelled one counts as an error too. */
  assert_ok(weft_future_cancel(fs[2]));
  assert_weft(weft_future_wait_first_error(fs + 2, 1, 0, &idx), WEFT_ECANCELED);
  assert_int_equal(idx, 0);
  /* All done: 0 and index n. */
  assert_ok(weft_future_wait_first_error(fs, 1, WEFT_FOREVER, &idx));
  assert_int_equal(idx, 1);
  assert_ok(weft_future_wait_first_error(NULL, 0, 0, &idx));
  assert_int_equal(idx, 0);
  for (int i = 0; i < N; i++) weft_future_release(fs[i]);
}

/* ---- as_completed ---- */

static void test_as_completed_order(void **state) {
  (void)state;
  enum { N = 4 };
  weft_future *fs[N];
  for (int i = 0; i < N; i++) fs[i] = make();
  assert_ok(weft_future_finish(fs[1], 0, NULL, 0, NULL, NULL)); /* before create */
  weft_as_completed *it;
  assert_ok(weft_as_completed_create(&it, fs, N));
  weft_future *got;
  size_t idx;
  assert_ok(weft_as_completed_next(it, 0, &got, &idx));
  assert_int_equal(idx, 1);
  assert_ptr_equal(got, fs[1]);
  assert_weft(weft_as_completed_next(it, SHORT_NS, &got, &idx), WEFT_ETIMEDOUT);
  /* Finished after create, in this order, before we look: yielded in it. */
  assert_ok(weft_future_finish(fs[3], 0, NULL, 0, NULL, NULL));
  assert_ok(weft_future_finish(fs[0], WEFT_EIO, NULL, 0, NULL, NULL));
  assert_ok(weft_future_finish(fs[2], 0, NULL, 0, NULL, NULL));
  size_t expect[3] = {3, 0, 2};
  for (int i = 0; i < 3; i++) {
    assert_ok(weft_as_completed_next(it, 0, &got, &idx));
    assert_int_equal(idx, expect[i]);
    assert_ptr_equal(got, fs[expect[i]]);
  }
  assert_weft(weft_as_completed_next(it, 0, &got, &idx), WEFT_EEXHAUSTED);
  /* The iterator holds its own references. */
  for (int i = 0; i < N; i++) weft_future_release(fs[i]);
  assert_weft(weft_future_error(got), 0);
  weft_as_completed_destroy(it);
}

static void test_as_completed_threads(void **state) {
  (void)state;
  enum { N = 5 };
  weft_future *fs[N];
  for (int i = 0; i < N; i++) fs[i] = make();
  weft_as_completed *it;
  assert_ok(weft_as_completed_create(&it, fs, N));
  size_t order_idx[N] = {4, 0, 3, 1, 2};
  struct finisher fin;
  finisher_start(&fin, fs, order_idx, NULL, N);
  for (int i = 0; i < N; i++) {
    sem_post(&fin.go); /* one at a time: next() blocks until it finishes */
    size_t idx;
    assert_ok(weft_as_completed_next(it, WEFT_FOREVER, NULL, &idx));
    assert_int_equal(idx, order_idx[i]);
  }
  assert_weft(weft_as_completed_next(it, WEFT_FOREVER, NULL, NULL), WEFT_EEXHAUSTED);
  finisher_stop(&fin);
  weft_as_completed_destroy(it);
  for (int i = 0; i < N; i++) weft_future_release(fs[i]);
  /* An iterator destroyed early, and one over nothing. */
  weft_future *g = make();
  assert_ok(weft_as_completed_create(&it, &g, 1));
  weft_as_completed_destroy(it);
  assert_ok(weft_future_finish(g, 0, NULL, 0, NULL, NULL));
  weft_future_release(g);
  assert_ok(weft_as_completed_create(&it, NULL, 0));
  assert_weft(weft_as_completed_next(it, 0, NULL, NULL), WEFT_EEXHAUSTED);
  weft_as_completed_destroy(it);
}

/* ---- the pool's wait-helper hook ---- */

static int helper_calls;
static int helper_mode; /* 0: not a worker, 1: times out, 2: finishes f */
static int test_helper(weft_future *f, uint64_t deadline_ns) {
  (void)deadline_ns;
  helper_calls++;
  if (helper_mode == 1) return WEFT_ETIMEDOUT;
  if (helper_mode == 2) return weft_future_finish(f, WEFT_EPERM, NULL, 0, NULL, NULL);
  return WEFT_EAGAIN;
}

static void test_wait_helper(void **state) {
  (void)state;
  weft_future *f = make();
  weft__future_set_wait_helper(test_helper);
  helper_calls = 0;
  helper_mode = 0;
  assert_weft(weft_future_wait_timed(f, SHORT_NS), WEFT_ETIMEDOUT); /* slept normally */
  assert_int_equal(helper_calls, 1);
  helper_mode = 1;
  assert_weft(weft_future_wait_timed(f, WEFT_FOREVER), WEFT_ETIMEDOUT);
  helper_mode = 2;
  assert_weft(weft_future_wait(f), WEFT_EPERM); /* the helper ran it */
  assert_int_equal(helper_calls, 3);
  assert_weft(weft_future_wait(f), WEFT_EPERM); /* finished: no helper */
  assert_int_equal(helper_calls, 3);
  weft__future_set_wait_helper(NULL);
  weft_future_release(f);
}

/* ---- stress: finishing races registration and waiting ---- */

struct race {
  weft_future **fs;
  size_t n;
  size_t first, stride;
  uint32_t callbacks;
};

static void race_cb(weft_future *f, void *arg) {
  (void)f;
  __atomic_fetch_add(&((struct race *)arg)->callbacks, 1, __ATOMIC_RELAXED);
}

static void *race_finisher(void *p) {
  struct race *r = p;
  for (size_t i = r->first; i < r->n; i += r->stride)
    weft_future_finish(r->fs[i], (i % 7 == 0) ? WEFT_EIO : 0, NULL, 0, NULL, NULL);
  return NULL;
}

static void *race_registrar(void *p) {
  struct race *r = p;
  for (size_t i = 0; i < r->n; i++) weft_future_on_done(r->fs[i], race_cb, r);
  return NULL;
}

static void test_stress_race(void **state) {
  (void)state;
  size_t n = scaled(20000, 500);
  weft_future **fs = calloc(n, sizeof *fs);
  for (size_t i = 0; i < n; i++) fs[i] = make();
  weft_as_completed *it;
  assert_ok(weft_as_completed_create(&it, fs, n));
  struct race fin[2], reg = {.fs = fs, .n = n};
  pthread_t t[3];
  for (int k = 0; k < 2; k++) {
    fin[k] = (struct race){.fs = fs, .n = n, .first = (size_t)k, .stride = 2};
    pthread_create(&t[k], NULL, race_finisher, &fin[k]);
  }
  pthread_create(&t[2], NULL, race_registrar, &reg);
  unsigned char *seen = calloc(n, 1);
  size_t failures = 0, idx;
  weft_future *got;
  for (size_t i = 0; i < n; i++) {
    assert_ok(weft_as_completed_next(it, WEFT_FOREVER, &got, &idx));
    assert_false(seen[idx]);
    seen[idx] = 1;
    failures += weft_future_error(got) != 0;
  }
  assert_weft(weft_as_completed_next(it, 0, &got, &idx), WEFT_EEXHAUSTED);
  for (int k = 0; k < 3; k++) pthread_join(t[k], NULL);
  assert_int_equal(reg.callbacks, n); /* each callback ran exactly once */
  assert_int_equal(failures, (n + 6) / 7);
  weft_as_completed_destroy(it);
  for (size_t i = 0; i < n; i++) weft_future_release(fs[i]);
  free(fs);
  free(seen);
}

/* Many waiters of each kind on futures finished by another thread. */
static void *any_waiter(void *p) {
  weft_future **fs = p;
  size_t idx;
  int rc = weft_future_wait_any(fs, 3, WEFT_FOREVER, &idx);
  return (void *)(intptr_t)(rc ? rc : (int)idx);
}

static void test_stress_waiters(void **state) {
  (void)state;
  size_t rounds = scaled(300, 20);
  for (size_t r = 0; r < rounds; r++) {
    weft_future *fs[3] = {make(), make(), make()};
    pthread_t t[3];
    pthread_create(&t[0], NULL, any_waiter, fs);
    pthread_create(&t[1], NULL, wait_thread, fs[1]);
    pthread_create(&t[2], NULL, any_waiter, fs);
    assert_ok(weft_future_finish(fs[1], 0, NULL, 0, NULL, NULL));
    for (int k = 0; k < 3; k++) {
      void *rc;
      pthread_join(t[k], &rc);
      assert_int_equal((int)(intptr_t)rc, k == 1 ? 0 : 1);
    }
    for (int k = 0; k < 3; k++) weft_future_release(fs[k]);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lifecycle_done),
      cmocka_unit_test(test_failed_with_message),
      cmocka_unit_test(test_bad_args),
      cmocka_unit_test(test_cancel_pending),
      cmocka_unit_test(test_cancel_running),
      cmocka_unit_test(test_cancel_finished),
      cmocka_unit_test(test_callbacks_order),
      cmocka_unit_test(test_callback_releases),
      cmocka_unit_test(test_wait_across_threads),
      cmocka_unit_test(test_wait_all),
      cmocka_unit_test(test_wait_any),
      cmocka_unit_test(test_wait_first_error),
      cmocka_unit_test(test_as_completed_order),
      cmocka_unit_test(test_as_completed_threads),
      cmocka_unit_test(test_wait_helper),
      cmocka_unit_test(test_stress_race),
      cmocka_unit_test(test_stress_waiters),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
