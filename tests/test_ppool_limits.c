/* tests/test_ppool_limits.c — the process pool when tasks misbehave or the
 * pool is told to stop: per-task timeouts, retries of idempotent tasks
 * after a crash, the memory limit, max_tasks_per_child, shutdown DRAIN and
 * CANCEL, submits after shutdown — and no leaks after each. */
#include <signal.h>
#include <stdint.h>
#include "ppool_testutil.h"

/* ---- functions run in the workers ---- */

static int t_square(const void *arg, size_t size) {
  (void)size;
  long x = *(const long *)arg, r = x * x;
  return pt_result(&r, sizeof r);
}

static int t_getpid(const void *arg, size_t size) {
  (void)arg, (void)size;
  pid_t pid = getpid();
  return pt_result(&pid, sizeof pid);
}

static int t_sleep_ms(const void *arg, size_t size) {
  (void)size;
  usleep((useconds_t)(*(const unsigned *)arg * 1000u));
  return 0;
}

/* Crashes on the first attempt of counter `index` only. */
typedef struct crash_arg {
  char shm[48];
  unsigned index;
} crash_arg;

static int t_crash_first(const void *arg, size_t size) {
  (void)size;
  const crash_arg *a = arg;
  _Atomic uint32_t *c = pt_worker_counters(a->shm);
  if (!c) return weft_task_fail(WEFT_ENOENT, "cannot open %s", a->shm);
  if (atomic_fetch_add(&c[a->index], 1) == 0) raise(SIGSEGV);
  return 0;
}

/* Allocates `bytes` in 16 MB pieces and touches them; checks malloc. */
static int t_alloc_checked(const void *arg, size_t size) {
  (void)size;
  size_t want = *(const size_t *)arg, piece = (size_t)16 << 20;
  for (size_t got = 0; got < want; got += piece) {
    char *b = malloc(piece); /* leaked on purpose: the worker is recycled or not, either way */
    if (!b) return weft_task_fail(WEFT_ENOMEM, "no memory after %zu MB", got >> 20);
    memset(b, 1, piece);
  }
  return 0;
}

/* The same without checking: writes through NULL when malloc fails. */
static int t_alloc_unchecked(const void *arg, size_t size) {
  (void)size;
  size_t want = *(const size_t *)arg, piece = (size_t)16 << 20;
  for (size_t got = 0; got < want; got += piece) {
    volatile char *b = malloc(piece);
    for (size_t i = 0; i < piece; i += 4096) b[i] = 1;
  }
  return 0;
}

static int m_neg(const void *in, void *out, void *ctx) {
  (void)ctx;
  *(long *)out = -*(const long *)in;
  return 0;
}

/* ---- tests ---- */

static void test_timeout(void **state) {
  (void)state;
  weft_ppool *p;
  assert_ok(weft_ppool_create(&p, &(weft_ppool_options){.processes = 2}));
  unsigned long_ms = 20000, short_ms = 10;
  weft_future *slow, *quick;
  weft_ptask_opts o = {.timeout_ns = 200 * MS};
  assert_ok(weft_ppool_submit(p, t_sleep_ms, &long_ms, sizeof long_ms, &o, &slow));
  assert_ok(weft_ppool_submit(p, t_sleep_ms, &short_ms, sizeof short_ms, &o, &quick));
  assert_ok(weft_future_wait(quick));
  assert_weft(weft_future_wait(slow), WEFT_ETIMEDOUT);
  assert_int_not_equal(weft_future_message(slow)[0], '\0');
  weft_future_release(slow);
  weft_future_release(quick);
  long x = 9, r;
  assert_ok(weft_ppool_apply(p, t_square, &x, sizeof x, &r, sizeof r, NULL)); /* carries on */
  assert_int_equal(r, 81);
  weft_ppool_stats st;
  assert_ok(weft_ppool_stats_get(p, &st));
  assert_int_equal(st.timeouts, 1);
  assert_true(st.workers_started >= 3); /* the killed worker was replaced */
  weft_ppool_destroy(p);

  /* the pool's default timeout */
  assert_ok(weft_ppool_create(&p, &(weft_ppool_options){.processes = 1, .timeout_ns = 150 * MS}));
  assert_weft(weft_ppool_apply(p, t_sleep_ms, &long_ms, sizeof long_ms, NULL, 0, NULL),
              WEFT_ETIMEDOUT);
  assert_ok(weft_ppool_apply(p, t_sleep_ms, &short_ms, sizeof short_ms, NULL, 0, NULL));
  weft_ppool_destroy(p);
}

static void test_retries(void **state) {
  (void)state;
  pt_shared sh;
  _Atomic uint32_t *attempts = pt_shared_open(&sh, 4);
  weft_ppool *p;
  assert_ok(weft_ppool_create(&p, &(weft_ppool_options){.processes = 2}));
  crash_arg a = {.index = 0};
  snprintf(a.shm, sizeof a.shm, "%s", sh.name);
  weft_future *f;
  weft_ptask_opts idem = {.idempotent = true, .retries = 2};
  assert_ok(weft_ppool_submit(p, t_crash_first, &a, sizeof a, &idem, &f));
  assert_ok(weft_future_wait(f)); /* crashed once, then succeeded */
  weft_future_release(f);
  assert_int_equal(atomic_load(&attempts[0]), 2);

  a.index = 1; /* not idempotent: the crash is the outcome */
  assert_ok(weft_ppool_submit(p, t_crash_first, &a, sizeof a, NULL, &f));
  assert_weft(weft_future_wait(f), WEFT_ECRASHED);
  const char *msg = weft_future_message(f);
  if (!strstr(msg, "signal") && !strstr(msg, "exit status")) fail_msg("message: %s", msg);
  weft_future_release(f);
  assert_int_equal(atomic_load(&attempts[1]), 1);

  weft_ppool_stats st;
  assert_ok(weft_ppool_stats_get(p, &st));
  assert_int_equal(st.crashes, 2);
  assert_int_equal(st.retries, 1);
  weft_ppool_destroy(p);

  /* the pool's default retries apply to idempotent tasks */
  assert_ok(weft_ppool_create(&p, &(weft_ppool_options){.processes = 1, .retries = 1}));
  a.index = 2;
  assert_ok(weft_ppool_submit(p, t_crash_first, &a, sizeof a,
                              &(weft_ptask_opts){.idempotent = true}, &f));
  assert_ok(weft_future_wait(f));
  weft_future_release(f);
  assert_int_equal(atomic_load(&attempts[2]), 2);
  weft_ppool_destroy(p);
  pt_shared_close(&sh);
}

static void test_memory_limit(void **state) {
  (void)state;
  if (PT_SANITIZED) {
    skip(); /* sanitizer runtimes reserve terabytes of address space */
  }
  size_t limit = (size_t)512 << 20, want = (size_t)1 << 30;
  weft_ppool *p;
  assert_ok(weft_ppool_create(&p, &(weft_ppool_options){.processes = 2, .memory_limit = limit}));
  weft_future *f;
  assert_ok(weft_ppool_submit(p, t_alloc_checked, &want, sizeof want, NULL, &f));
  int rc = weft_future_wait(f);
  print_message("over the limit, checked: %s: %s\n", weft_err_name(rc), weft_future_message(f));
  if (rc != WEFT_ENOMEM && rc != WEFT_ECRASHED) fail_msg("checked: %s", weft_err_name(rc));
  if (rc == WEFT_ECRASHED && !strstr(weft_future_message(f), "memory limit"))
    fail_msg("message: %s", weft_future_message(f));
  weft_future_release(f);
  assert_ok(weft_ppool_submit(p, t_alloc_unchecked, &want, sizeof want, NULL, &f));
  assert_weft(weft_future_wait(f), WEFT_ECRASHED);
  print_message("over the limit, unchecked: %s\n", weft_future_message(f));
  if (!strstr(weft_future_message(f), "memory limit")) fail_msg("message: %s", weft_future_message(f));
  weft_future_release(f);
  size_t small = (size_t)32 << 20; /* under the limit: fine */
  assert_ok(weft_ppool_apply(p, t_alloc_checked, &small, sizeof small, NULL, 0, NULL));
  long x = 5, r;
  assert_ok(weft_ppool_apply(p, t_square, &x, sizeof x, &r, sizeof r, NULL));
  assert_int_equal(r, 25);
  weft_ppool_destroy(p);
}

static int cmp_pid(const void *a, const void *b) {
  pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
  return (x > y) - (x < y);
}

/* Runs n tasks returning their worker's pid; returns the distinct count
 * and checks that no pid ran more than max tasks. */
static size_t distinct_pids(weft_ppool *p, size_t n, size_t max) {
  pid_t *pids = calloc(n, sizeof *pids);
  weft_future **fs = calloc(n, sizeof *fs);
  for (size_t i = 0; i < n; i++) assert_ok(weft_ppool_submit(p, t_getpid, NULL, 0, NULL, &fs[i]));
  for (size_t i = 0; i < n; i++) {
    void *v;
    assert_ok(weft_future_result(fs[i], &v, NULL));
    pids[i] = *(pid_t *)v;
    weft_future_release(fs[i]);
  }
  qsort(pids, n, sizeof *pids, cmp_pid);
  size_t distinct = 0, run = 0;
  for (size_t i = 0; i < n; i++) {
    run = i && pids[i] == pids[i - 1] ? run + 1 : 1;
    if (run == 1) distinct++;
    if (run > max) fail_msg("pid %d ran %zu tasks (max %zu)", (int)pids[i], run, max);
  }
  free(pids), free(fs);
  return distinct;
}

static void test_max_tasks_per_child(void **state) {
  (void)state;
  weft_ppool *p;
  weft_ppool_stats st;
  assert_ok(weft_ppool_create(&p, &(weft_ppool_options){.processes = 2, .max_tasks_per_child = 1}));
  assert_int_equal(distinct_pids(p, 20, 1), 20);
  assert_ok(weft_ppool_stats_get(p, &st));
  assert_true(st.workers_started >= 20);
  assert_int_equal(st.tasks_done, 20);
  assert_int_equal(st.crashes, 0);
  weft_ppool_destroy(p);

  assert_ok(weft_ppool_create(&p, &(weft_ppool_options){.processes = 2, .max_tasks_per_child = 3}));
  assert_true(distinct_pids(p, 30, 3) >= 10);
  assert_ok(weft_ppool_stats_get(p, &st));
  assert_true(st.workers_started >= 10);
  weft_ppool_destroy(p);

  assert_ok(weft_ppool_create(&p, &(weft_ppool_options){.processes = 2}));
  assert_true(distinct_pids(p, 30, 30) <= 2); /* no recycling by default */
  assert_ok(weft_ppool_stats_get(p, &st));
  assert_int_equal(st.workers_started, 2);
  weft_ppool_destroy(p);
}

static void test_shutdown_drain(void **state) {
  (void)state;
  weft_ppool *p;
  assert_ok(weft_ppool_create(&p, &(weft_ppool_options){.processes = 2}));
  enum { N = 40 };
  weft_future *fs[N];
  unsigned ms = 5;
  for (int i = 0; i < N; i++) assert_ok(weft_ppool_submit(p, t_sleep_ms, &ms, sizeof ms, NULL, &fs[i]));
  assert_ok(weft_ppool_shutdown(p, WEFT_SHUTDOWN_DRAIN));
  for (int i = 0; i < N; i++) {
    assert_true(weft_future_is_finished(fs[i])); /* DRAIN waits */
    assert_ok(weft_future_error(fs[i]));
    weft_future_release(fs[i]);
  }
  weft_future *f = NULL;
  long x = 1;
  assert_weft(weft_ppool_submit(p, t_square, &x, sizeof x, NULL, &f), WEFT_ESHUTDOWN);
  assert_null(f);
  assert_weft(weft_ppool_apply(p, t_square, &x, sizeof x, NULL, 0, NULL), WEFT_ESHUTDOWN);
  long in[2] = {1, 2}, out[2];
  weft_map m = {.fn = m_neg, .in = in, .in_size = sizeof(long), .out = out,
                .out_size = sizeof(long), .n = 2};
  assert_weft(weft_ppool_map(p, &m), WEFT_ESHUTDOWN);
  int codes[2];
  assert_weft(weft_ppool_map_all(p, &m, codes), WEFT_ESHUTDOWN);
  assert_ok(weft_ppool_shutdown(p, WEFT_SHUTDOWN_DRAIN)); /* idempotent */
  assert_ok(weft_ppool_shutdown(p, WEFT_SHUTDOWN_CANCEL));
  weft_ppool_destroy(p);
}

static void test_shutdown_cancel(void **state) {
  (void)state;
  weft_ppool *p;
  assert_ok(weft_ppool_create(&p, &(weft_ppool_options){.processes = 1}));
  unsigned long_ms = 30000;
  weft_future *running, *queued[10];
  assert_ok(weft_ppool_submit(p, t_sleep_ms, &long_ms, sizeof long_ms, NULL, &running));
  for (int i = 0; i < 10; i++)
    assert_ok(weft_ppool_submit(p, t_sleep_ms, &long_ms, sizeof long_ms, NULL, &queued[i]));
  usleep(200 * 1000); /* let the first one start */
  uint64_t t0 = weft_now_ns();
  assert_ok(weft_ppool_shutdown(p, WEFT_SHUTDOWN_CANCEL));
  /* not a speed check: without the kill this would take 330 s */
  assert_true(weft_now_ns() - t0 < 20000 * MS);
  assert_weft(weft_future_wait(running), WEFT_ECANCELED);
  weft_future_release(running);
  for (int i = 0; i < 10; i++) {
    assert_weft(weft_future_wait(queued[i]), WEFT_ECANCELED);
    weft_future_release(queued[i]);
  }
  long x = 3;
  weft_future *f;
  assert_weft(weft_ppool_submit(p, t_square, &x, sizeof x, NULL, &f), WEFT_ESHUTDOWN);
  weft_ppool_destroy(p);
}

static void test_destroy_busy(void **state) {
  (void)state; /* destroy without shutdown drains: every future finishes */
  weft_ppool *p;
  assert_ok(weft_ppool_create(&p, &(weft_ppool_options){.processes = 2}));
  weft_future *fs[8];
  unsigned ms = 20;
  for (int i = 0; i < 8; i++) assert_ok(weft_ppool_submit(p, t_sleep_ms, &ms, sizeof ms, NULL, &fs[i]));
  weft_ppool_destroy(p);
  for (int i = 0; i < 8; i++) {
    assert_ok(weft_future_wait(fs[i]));
    weft_future_release(fs[i]);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    pt_test(test_timeout),
    pt_test(test_retries),
    pt_test(test_memory_limit),
    pt_test(test_max_tasks_per_child),
    pt_test(test_shutdown_drain),
    pt_test(test_shutdown_cancel),
    pt_test(test_destroy_busy),
  };
  return cmocka_run_group_tests(tests, pt_group_setup, NULL);
}
