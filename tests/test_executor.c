/* tests/test_executor.c — the executor interface: inline, threads and
 * processes give the same results for the same calls (map, map_async,
 * submit_bytes); plain-pointer submit works on inline and threads and is
 * refused by processes. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "testutil.h"
#include "weft/weft.h"

#ifdef WEFT_TSAN
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) {
  return "die_after_fork=0";
}
#endif

static weft_pool *pool;
static weft_ppool *ppool;

static int setup(void **state) {
  (void)state;
  if (weft_ppool_create(&ppool, &(weft_ppool_options){.processes = 2, .name = "texe"}) != 0)
    return -1;
  return weft_pool_create(&pool, &(weft_pool_options){.threads = 3, .name = "texe"});
}

static int teardown(void **state) {
  (void)state;
  weft_ppool_destroy(ppool);
  return weft_pool_destroy(pool);
}

enum { N = 257 };

static int cube(const void *in, void *out, void *ctx) {
  (void)ctx;
  long x = *(const long *)in;
  *(long *)out = x * x * x;
  return 0;
}

static int cube_plus(const void *in, void *out, void *ctx) {
  long x = *(const long *)in;
  *(long *)out = x * x * x + *(const long *)ctx;
  return 0;
}

static int fail_at_100(const void *in, void *out, void *ctx) {
  (void)ctx;
  long x = *(const long *)in;
  if (x == 100) return weft_task_fail(WEFT_EIO, "no %ld", x);
  *(long *)out = x;
  return 0;
}

/* The executors under test: inline, threads over a borrowed pool, threads
 * owning its pool, processes over a borrowed pool, processes owning theirs.
 * The first NT take plain-pointer tasks. */
enum { K = 5, NT = 3 };

static void make_all(weft_executor *ex[K]) {
  assert_ok(weft_executor_inline(&ex[0]));
  assert_ok(weft_executor_threads(&ex[1], pool));
  assert_ok(weft_executor_threads_new(&ex[2], 2));
  assert_ok(weft_executor_processes(&ex[3], ppool));
  assert_ok(weft_executor_processes_new(&ex[4], 2));
}

static void destroy_all(weft_executor *ex[K]) {
  for (int i = 0; i < K; i++) weft_executor_destroy(ex[i]);
}

static void test_kinds(void **state) {
  (void)state;
  weft_executor *d_unused = NULL;
  weft_executor *ex[K];
  make_all(ex);
  assert_string_equal(weft_executor_kind(ex[0]), "inline");
  assert_string_equal(weft_executor_kind(ex[1]), "threads");
  assert_string_equal(weft_executor_kind(ex[2]), "threads");
  assert_string_equal(weft_executor_kind(ex[3]), "processes");
  assert_string_equal(weft_executor_kind(ex[4]), "processes");
  assert_int_equal(weft_executor_workers(ex[0]), 1);
  assert_int_equal(weft_executor_workers(ex[1]), 3);
  assert_int_equal(weft_executor_workers(ex[2]), 2);
  assert_int_equal(weft_executor_workers(ex[3]), 2);
  assert_int_equal(weft_executor_workers(ex[4]), 2);
  destroy_all(ex);
  assert_weft(weft_executor_processes(&d_unused, NULL), WEFT_EINVAL);
  assert_weft(weft_executor_processes(NULL, ppool), WEFT_EINVAL);
  assert_weft(weft_executor_processes_new(NULL, 2), WEFT_EINVAL);
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
  weft_executor *ex[K];
  make_all(ex);
  long in[N], out[K][N];
  for (long i = 0; i < N; i++) in[i] = i - 50;
  for (int k = 0; k < K; k++) {
    memset(out[k], 0, sizeof out[k]);
    weft_map m = {.fn = cube, .in = in, .in_size = sizeof(long), .out = out[k],
                  .out_size = sizeof(long), .n = N, .chunksize = (size_t)k * 5};
    assert_ok(weft_executor_map(ex[k], &m));
  }
  for (int k = 1; k < K; k++) assert_memory_equal(out[0], out[k], sizeof out[0]);
  for (long i = 0; i < N; i++) assert_int_equal(out[0][i], in[i] * in[i] * in[i]);

  /* ctx: threads see the caller's, processes a copy: the same results */
  long offset = 7;
  for (int k = 0; k < K; k++) {
    memset(out[k], 0, sizeof out[k]);
    weft_map m = {.fn = cube_plus, .ctx = &offset, .ctx_size = sizeof offset, .in = in,
                  .in_size = sizeof(long), .out = out[k], .out_size = sizeof(long), .n = N,
                  .chunksize = 3};
    assert_ok(weft_executor_map(ex[k], &m));
  }
  for (int k = 1; k < K; k++) assert_memory_equal(out[0], out[k], sizeof out[0]);
  for (long i = 0; i < N; i++) assert_int_equal(out[0][i], in[i] * in[i] * in[i] + 7);

  for (int k = 0; k < K; k++) {
    memset(out[k], 0, sizeof out[k]);
    weft_map m = {.fn = cube, .in = in, .in_size = sizeof(long), .out = out[k],
                  .out_size = sizeof(long), .n = N};
    weft_future *f;
    assert_ok(weft_executor_map_async(ex[k], &m, &f));
    assert_ok(weft_future_wait(f));
    weft_future_release(f);
  }
  for (int k = 1; k < K; k++) assert_memory_equal(out[0], out[k], sizeof out[0]);
  destroy_all(ex);
}

static void test_map_errors(void **state) {
  (void)state;
  weft_executor *ex[K];
  make_all(ex);
  long in[N], out[N];
  for (long i = 0; i < N; i++) in[i] = i;
  for (int k = 0; k < K; k++) {
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
  weft_executor *ex[K];
  make_all(ex);
  for (int k = 0; k < NT; k++) {
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
  for (int k = NT; k < K; k++) { /* a pointer cannot cross to a process */
    job j = {.value = 21};
    weft_future *f = NULL;
    assert_weft(weft_executor_submit(ex[k], run_job, &j, &f), WEFT_EINVAL);
    assert_null(f);
    assert_int_equal(j.value, 21);
  }
  destroy_all(ex);
}

/* A bytes task: doubles the numbers it was given, in place (in its own
 * copy), and returns their sum as its result value. */
static int sum_doubled(const void *arg, size_t size) {
  long *v = (long *)(uintptr_t)arg;
  size_t n = size / sizeof(long);
  long sum = 0;
  for (size_t i = 0; i < n; i++) sum += (v[i] *= 2);
  if (sum < 0) return weft_task_fail(WEFT_ERANGE, "negative sum %ld", sum);
  long *r = malloc(sizeof *r);
  if (!r) return WEFT_ENOMEM;
  *r = sum;
  weft_task_set_result(r, sizeof *r, free);
  return 0;
}

static void test_submit_bytes(void **state) {
  (void)state;
  weft_executor *ex[K];
  make_all(ex);
  long vals[100];
  for (long i = 0; i < 100; i++) vals[i] = i;
  for (int k = 0; k < K; k++) {
    weft_future *f;
    assert_ok(weft_executor_submit_bytes(ex[k], sum_doubled, vals, sizeof vals, &f));
    void *value;
    size_t size;
    assert_ok(weft_future_result(f, &value, &size));
    assert_int_equal(size, sizeof(long));
    assert_int_equal(*(long *)value, 9900);
    weft_future_release(f);
    assert_int_equal(vals[99], 99); /* the task had a copy */

    long neg = -4;
    assert_ok(weft_executor_submit_bytes(ex[k], sum_doubled, &neg, sizeof neg, &f));
    assert_weft(weft_future_wait(f), WEFT_ERANGE);
    assert_string_equal(weft_future_message(f), "negative sum -8");
    weft_future_release(f);

    assert_ok(weft_executor_submit_bytes(ex[k], sum_doubled, NULL, 0, &f));
    assert_ok(weft_future_result(f, &value, &size));
    assert_int_equal(*(long *)value, 0);
    weft_future_release(f);

    assert_weft(weft_executor_submit_bytes(ex[k], NULL, vals, 8, &f), WEFT_EINVAL);
    assert_weft(weft_executor_submit_bytes(ex[k], sum_doubled, NULL, 8, &f), WEFT_EINVAL);
    assert_weft(weft_executor_submit_bytes(ex[k], sum_doubled, vals, 8, NULL), WEFT_EINVAL);
  }
  assert_weft(weft_executor_submit_bytes(NULL, sum_doubled, vals, 8, &(weft_future *){0}),
              WEFT_EINVAL);
  destroy_all(ex);
}

static int wait_event(void *arg) {
  weft_event_wait(arg);
  return 0;
}

/* A bytes task cancelled before it ran on threads frees its copy (the
 * ASan build's leak check would see it otherwise). */
static void test_submit_bytes_cancelled(void **state) {
  (void)state;
  weft_executor *ex;
  assert_ok(weft_executor_threads_new(&ex, 1));
  weft_event ev;
  weft_event_init(&ev);
  weft_future *blocker, *f;
  assert_ok(weft_executor_submit(ex, wait_event, &ev, &blocker)); /* holds the only thread */
  long vals[4] = {1, 2, 3, 4};
  assert_ok(weft_executor_submit_bytes(ex, sum_doubled, vals, sizeof vals, &f));
  assert_ok(weft_future_cancel(f));
  assert_weft(weft_future_wait(f), WEFT_ECANCELED);
  weft_event_set(&ev);
  assert_ok(weft_future_wait(blocker));
  weft_future_release(blocker);
  weft_future_release(f);
  weft_executor_destroy(ex);
  weft_event_destroy(&ev);
}

/* The kind by name and from WEFT_EXECUTOR: one program, three kinds. */
static void test_create_from_spec_and_env(void **state) {
  (void)state;
  const struct { const char *spec, *kind; unsigned workers; } ok[] = {
    {"inline", "inline", 1}, {"threads:3", "threads", 3}, {"processes:2", "processes", 2},
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    weft_executor *ex;
    assert_ok(weft_executor_create(&ex, ok[i].spec));
    assert_string_equal(weft_executor_kind(ex), ok[i].kind);
    assert_int_equal(weft_executor_workers(ex), ok[i].workers);
    weft_executor_destroy(ex);
  }
  const char *bad[] = {"thread", "threads:", "threads:x", "threads:-1", "inline:2", "processes:2x"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    weft_executor *ex = (weft_executor *)&ex;
    assert_weft(weft_executor_create(&ex, bad[i]), WEFT_EINVAL);
    assert_null(ex);
  }
  assert_weft(weft_executor_create(NULL, "inline"), WEFT_EINVAL);
  char *saved = getenv("WEFT_EXECUTOR") ? strdup(getenv("WEFT_EXECUTOR")) : NULL;
  setenv("WEFT_EXECUTOR", "processes:2", 1);
  weft_executor *ex;
  assert_ok(weft_executor_create(&ex, NULL));
  assert_string_equal(weft_executor_kind(ex), "processes");
  weft_executor_destroy(ex);
  unsetenv("WEFT_EXECUTOR");
  assert_ok(weft_executor_create(&ex, ""));
  assert_string_equal(weft_executor_kind(ex), "threads"); /* the default */
  weft_executor_destroy(ex);
  if (saved) {
    setenv("WEFT_EXECUTOR", saved, 1);
    free(saved);
  }
}

/* as-completed and shutdown, the same on every kind. */
static void test_as_completed_and_shutdown(void **state) {
  (void)state;
  weft_executor *ex[K];
  make_all(ex);
  for (int k = 0; k < K; k++) {
    enum { NF = 12 };
    weft_future *fs[NF];
    long vals[NF];
    for (int i = 0; i < NF; i++) {
      vals[i] = i + 1;
      assert_ok(weft_executor_submit_bytes(ex[k], sum_doubled, &vals[i], sizeof vals[i], &fs[i]));
    }
    weft_as_completed *it;
    assert_ok(weft_as_completed_create(&it, fs, NF));
    int seen[NF] = {0};
    long sum = 0;
    weft_future *f;
    size_t idx;
    for (int n = 0; n < NF; n++) {
      assert_ok(weft_as_completed_next(it, WEFT_FOREVER, &f, &idx));
      void *v;
      size_t size;
      assert_ok(weft_future_result(f, &v, &size));
      seen[idx]++;
      sum += *(long *)v;
    }
    assert_weft(weft_as_completed_next(it, 0, &f, &idx), WEFT_EEXHAUSTED);
    weft_as_completed_destroy(it);
    for (int i = 0; i < NF; i++) {
      assert_int_equal(seen[i], 1); /* each exactly once */
      weft_future_release(fs[i]);
    }
    assert_int_equal(sum, 2 * NF * (NF + 1) / 2);
    assert_weft(weft_executor_shutdown(ex[k], 7), WEFT_EINVAL);
    assert_ok(weft_executor_shutdown(ex[k], WEFT_SHUTDOWN_DRAIN));
    assert_weft(weft_executor_submit_bytes(ex[k], sum_doubled, vals, 8, &f), WEFT_ESHUTDOWN);
  }
  /* the borrowed pools were left running for their owner */
  weft_future *f;
  job j = {0};
  assert_ok(weft_submit(pool, run_job, &j, &f));
  weft_future_wait(f);
  weft_future_release(f);
  destroy_all(ex);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_create_from_spec_and_env),
    cmocka_unit_test(test_as_completed_and_shutdown),
    cmocka_unit_test(test_kinds),
    cmocka_unit_test(test_same_map_results),
    cmocka_unit_test(test_map_errors),
    cmocka_unit_test(test_submit),
    cmocka_unit_test(test_submit_bytes),
    cmocka_unit_test(test_submit_bytes_cancelled),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
