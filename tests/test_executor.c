/* tests/test_executor.c — the executor interface: inline and threads give
 * the same results for the same calls. */
#include <pthread.h>
#include <string.h>

#include "testutil.h"
#include "weft/weft.h"

static weft_pool *pool;

static int setup(void **state) {
  (void)state;
  return weft_pool_create(&pool, &(weft_pool_options){.threads = 3, .name = "texe"});
}

static int teardown(void **state) {
  (void)state;
  return weft_pool_destroy(pool);
}

enum { N = 257 };

static int cube(const void *in, void *out, void *ctx) {
  (void)ctx;
  long x = *(const long *)in;
  *(long *)out = x * x * x;
  return 0;
}

static int fail_at_100(const void *in, void *out, void *ctx) {
  (void)ctx;
  long x = *(const long *)in;
  if (x == 100) return weft_task_fail(WEFT_EIO, "no %ld", x);
  *(long *)out = x;
  return 0;
}

/* The three executors under test: inline, threads over a borrowed pool,
 * threads owning its pool. */
static void make_all(weft_executor *ex[3]) {
  assert_ok(weft_executor_inline(&ex[0]));
  assert_ok(weft_executor_threads(&ex[1], pool));
  assert_ok(weft_executor_threads_new(&ex[2], 2));
}

static void destroy_all(weft_executor *ex[3]) {
  for (int i = 0; i < 3; i++) weft_executor_destroy(ex[i]);
}

static void test_kinds(void **state) {
  (void)state;
  weft_executor *ex[3];
  make_all(ex);
  assert_string_equal(weft_executor_kind(ex[0]), "inline");
  assert_string_equal(weft_executor_kind(ex[1]), "threads");
  assert_string_equal(weft_executor_kind(ex[2]), "threads");
  assert_int_equal(weft_executor_workers(ex[0]), 1);
  assert_int_equal(weft_executor_workers(ex[1]), 3);
  assert_int_equal(weft_executor_workers(ex[2]), 2);
  destroy_all(ex);
  weft_executor *d;
  assert_ok(weft_executor_threads(&d, NULL)); /* the default pool */
  assert_int_equal(weft_executor_workers(d), weft_pool_size(weft_pool_default()));
  weft_executor_destroy(d);
  weft_executor_destroy(NULL);
  assert_weft(weft_executor_inline(NULL), WEFT_EINVAL);
  assert_weft(weft_executor_threads(NULL, pool), WEFT_EINVAL);
}

static void test_same_map_results(void **state) {
  (void)state;
  weft_executor *ex[3];
  make_all(ex);
  long in[N], out[3][N];
  for (long i = 0; i < N; i++) in[i] = i - 50;
  for (int k = 0; k < 3; k++) {
    memset(out[k], 0, sizeof out[k]);
    weft_map m = {.fn = cube, .in = in, .in_size = sizeof(long), .out = out[k],
                  .out_size = sizeof(long), .n = N, .chunksize = (size_t)k * 5};
    assert_ok(weft_executor_map(ex[k], &m));
  }
  assert_memory_equal(out[0], out[1], sizeof out[0]);
  assert_memory_equal(out[0], out[2], sizeof out[0]);
  for (long i = 0; i < N; i++) assert_int_equal(out[0][i], in[i] * in[i] * in[i]);

  for (int k = 0; k < 3; k++) {
    memset(out[k], 0, sizeof out[k]);
    weft_map m = {.fn = cube, .in = in, .in_size = sizeof(long), .out = out[k],
                  .out_size = sizeof(long), .n = N};
    weft_future *f;
    assert_ok(weft_executor_map_async(ex[k], &m, &f));
    assert_ok(weft_future_wait(f));
    weft_future_release(f);
  }
  assert_memory_equal(out[0], out[1], sizeof out[0]);
  assert_memory_equal(out[0], out[2], sizeof out[0]);
  destroy_all(ex);
}

static void test_map_errors(void **state) {
  (void)state;
  weft_executor *ex[3];
  make_all(ex);
  long in[N], out[N];
  for (long i = 0; i < N; i++) in[i] = i;
  for (int k = 0; k < 3; k++) {
    weft_map m = {.fn = fail_at_100, .in = in, .in_size = sizeof(long), .out = out,
                  .out_size = sizeof(long), .n = N, .chunksize = 4};
    assert_weft(weft_executor_map(ex[k], &m), WEFT_EIO);
    assert_int_equal(m.failed_index, 100);
    assert_string_equal(m.message, "no 100"); /* every executor carries it */
    weft_future *f;
    assert_ok(weft_executor_map_async(ex[k], &m, &f));
    assert_weft(weft_future_wait(f), WEFT_EIO);
    assert_int_equal(weft_future_status(f), WEFT_FUTURE_FAILED);
    assert_int_equal(m.failed_index, 100);
    assert_string_equal(weft_future_message(f), "no 100");
    weft_future_release(f);
    m.fn = NULL;
    assert_weft(weft_executor_map(ex[k], &m), WEFT_EINVAL);
    assert_weft(weft_executor_map_async(ex[k], &m, &f), WEFT_EINVAL);
  }
  destroy_all(ex);
}

typedef struct job {
  pthread_t ran_on;
  int value;
  int code;
} job;

static int run_job(void *arg) {
  job *j = arg;
  j->ran_on = pthread_self();
  j->value *= 2;
  if (j->code) return weft_task_fail(j->code, "job of %d failed", j->value);
  int *result = malloc(sizeof *result);
  *result = j->value + 1;
  weft_task_set_result(result, sizeof *result, free);
  return 0;
}

static void test_submit(void **state) {
  (void)state;
  weft_executor *ex[3];
  make_all(ex);
  for (int k = 0; k < 3; k++) {
    job j = {.value = 21};
    weft_future *f;
    assert_ok(weft_executor_submit(ex[k], run_job, &j, &f));
    if (k == 0) {
      /* inline: already finished, ran in this thread */
      assert_true(weft_future_is_finished(f));
      assert_true(pthread_equal(j.ran_on, pthread_self()));
    }
    assert_ok(weft_future_wait(f));
    assert_int_equal(weft_future_status(f), WEFT_FUTURE_DONE);
    assert_int_equal(j.value, 42);
    void *value;
    size_t size;
    assert_ok(weft_future_result(f, &value, &size));
    assert_int_equal(size, sizeof(int));
    assert_int_equal(*(int *)value, 43); /* the task's result value, on every executor */
    weft_future_release(f);

    job bad = {.value = 1, .code = WEFT_ERANGE};
    assert_ok(weft_executor_submit(ex[k], run_job, &bad, &f));
    assert_weft(weft_future_wait(f), WEFT_ERANGE);
    assert_int_equal(weft_future_status(f), WEFT_FUTURE_FAILED);
    assert_string_equal(weft_future_message(f), "job of 2 failed");
    weft_future_release(f);

    assert_weft(weft_executor_submit(ex[k], NULL, NULL, &f), WEFT_EINVAL);
    assert_weft(weft_executor_submit(ex[k], run_job, &j, NULL), WEFT_EINVAL);
  }
  destroy_all(ex);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_kinds),
    cmocka_unit_test(test_same_map_results),
    cmocka_unit_test(test_map_errors),
    cmocka_unit_test(test_submit),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
