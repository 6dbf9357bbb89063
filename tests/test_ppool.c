/* tests/test_ppool.c — the process pool's API: submit and futures with
 * result bytes, apply, initializers, start methods, large arguments and
 * results, bad arguments, and no leaks after destroy. The map family is in
 * test_ppool_map.c; faults (timeouts, retries, memory limits, shutdown,
 * worker recycling) in test_ppool_limits.c; the crash storm in
 * test_ppool_crash.c. */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include "ppool_testutil.h"

/* ---- functions run in the workers ---- */

static int t_square(const void *arg, size_t size) {
  if (size != sizeof(long)) return weft_task_fail(WEFT_EINVAL, "size %zu", size);
  long x = *(const long *)arg, r = x * x;
  return pt_result(&r, sizeof r);
}

static int t_fail(const void *arg, size_t size) {
  (void)size;
  return weft_task_fail(WEFT_EIO, "task %ld failed on purpose", *(const long *)arg);
}

static int t_getpid(const void *arg, size_t size) {
  (void)arg, (void)size;
  pid_t pid = getpid();
  return pt_result(&pid, sizeof pid);
}

static int t_getppid(const void *arg, size_t size) {
  (void)arg, (void)size;
  pid_t pid = getppid();
  return pt_result(&pid, sizeof pid);
}

/* A result of `len` bytes: a pattern from the argument. */
static int t_bytes(const void *arg, size_t size) {
  (void)size;
  size_t len = *(const size_t *)arg;
  unsigned char *b = malloc(len ? len : 1);
  if (!b) return WEFT_ENOMEM;
  for (size_t i = 0; i < len; i++) b[i] = (unsigned char)(i * 7 + 3);
  weft_task_set_result(b, len, free);
  return 0;
}

static uint64_t checksum(const unsigned char *b, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

static int t_checksum(const void *arg, size_t size) {
  uint64_t h = checksum(arg, size);
  uint64_t r[2] = {h, size};
  return pt_result(r, sizeof r);
}

static void fill(unsigned char *b, size_t n, uint64_t seed) {
  uint64_t x = seed;
  for (size_t i = 0; i < n; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    b[i] = (unsigned char)(x >> 56);
  }
}

static int t_big_result(const void *arg, size_t size) {
  (void)size;
  const uint64_t *a = arg; /* {bytes, seed} */
  unsigned char *b = malloc(a[0]);
  if (!b) return weft_task_fail(WEFT_ENOMEM, "no %zu bytes", (size_t)a[0]);
  fill(b, a[0], a[1]);
  weft_task_set_result(b, a[0], free);
  return 0;
}

static int worker_global = -1; /* set by the initializer, in each worker */

static int init_set_global(const void *arg, size_t size) {
  if (size != sizeof(int)) return WEFT_EINVAL;
  worker_global = *(const int *)arg;
  return 0;
}

static int init_fail(const void *arg, size_t size) {
  (void)arg, (void)size;
  return WEFT_ERANGE;
}

static int t_read_global(const void *arg, size_t size) {
  (void)arg, (void)size;
  return pt_result(&worker_global, sizeof worker_global);
}

static int m_square(const void *in, void *out, void *ctx) {
  long x = *(const long *)in;
  *(long *)out = x * x + (ctx ? *(const long *)ctx : 0);
  return 0;
}

/* ---- helpers ---- */

static long result_long(weft_future *f) {
  void *v;
  size_t n;
  assert_ok(weft_future_result(f, &v, &n));
  assert_int_equal(n, sizeof(long));
  return *(long *)v;
}

/* ---- tests ---- */

static void test_submit_futures(void **state) {
  (void)state;
  weft_ppool *p = make_pool(2, WEFT_START_DEFAULT);
  assert_int_equal(weft_ppool_size(p), 2);
  enum { N = 200 };
  weft_future *fs[N];
  for (long i = 0; i < N; i++) assert_ok(weft_ppool_submit(p, t_square, &i, sizeof i, NULL, &fs[i]));
  for (long i = 0; i < N; i++) {
    assert_int_equal(result_long(fs[i]), i * i);
    assert_int_equal(weft_future_status(fs[i]), WEFT_FUTURE_DONE);
    weft_future_release(fs[i]);
  }
  long bad = 7;
  weft_future *f;
  assert_ok(weft_ppool_apply_async(p, t_fail, &bad, sizeof bad, &f));
  assert_weft(weft_future_wait(f), WEFT_EIO);
  assert_int_equal(weft_future_status(f), WEFT_FUTURE_FAILED);
  assert_string_equal(weft_future_message(f), "task 7 failed on purpose");
  weft_future_release(f);
  /* results of many sizes, including none */
  size_t sizes[] = {0, 1, 63, 4096, 300000, 3 << 20};
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    assert_ok(weft_ppool_submit(p, t_bytes, &sizes[k], sizeof sizes[k], NULL, &f));
    void *v;
    size_t n;
    assert_ok(weft_future_result(f, &v, &n));
    assert_int_equal(n, sizes[k]);
    for (size_t i = 0; i < n; i++)
      if (((unsigned char *)v)[i] != (unsigned char)(i * 7 + 3)) fail_msg("byte %zu", i);
    weft_future_release(f);
  }
  /* the task runs in another process */
  assert_ok(weft_ppool_submit(p, t_getpid, NULL, 0, NULL, &f));
  void *v;
  assert_ok(weft_future_result(f, &v, NULL));
  assert_int_not_equal(*(pid_t *)v, getpid());
  weft_future_release(f);
  weft_ppool_destroy(p);
}

static void test_apply(void **state) {
  (void)state;
  weft_ppool *p = make_pool(1, WEFT_START_DEFAULT);
  long x = 12, r = 0;
  size_t n = 0;
  assert_ok(weft_ppool_apply(p, t_square, &x, sizeof x, &r, sizeof r, &n));
  assert_int_equal(r, 144);
  assert_int_equal(n, sizeof r);
  size_t want = 100;
  unsigned char small[10];
  assert_weft(weft_ppool_apply(p, t_bytes, &want, sizeof want, small, sizeof small, &n),
              WEFT_ERANGE);
  assert_int_equal(n, 100);
  assert_weft(weft_ppool_apply(p, t_bytes, &want, sizeof want, NULL, 0, NULL), WEFT_ERANGE);
  want = 0;
  assert_ok(weft_ppool_apply(p, t_bytes, &want, sizeof want, NULL, 0, &n));
  assert_int_equal(n, 0);
  assert_weft(weft_ppool_apply(p, t_fail, &x, sizeof x, NULL, 0, NULL), WEFT_EIO);
  weft_ppool_destroy(p);
}

static void test_initializer(void **state) {
  (void)state;
  int value = 4242;
  weft_ppool *p;
  assert_ok(weft_ppool_create(&p, &(weft_ppool_options){
    .processes = 2, .init = init_set_global, .init_arg = &value, .init_size = sizeof value,
    .max_tasks_per_child = 2})); /* replacements run it too */
  for (int i = 0; i < 10; i++) {
    int got = 0;
    assert_ok(weft_ppool_apply(p, t_read_global, NULL, 0, &got, sizeof got, NULL));
    assert_int_equal(got, 4242);
  }
  assert_int_equal(worker_global, -1); /* not in this process */
  weft_ppool_destroy(p);
  assert_weft(weft_ppool_create(&p, &(weft_ppool_options){.processes = 2, .init = init_fail}),
              WEFT_ERANGE);
}

static void test_start_methods(void **state) {
  (void)state;
  int methods[] = {WEFT_START_FORKSERVER, WEFT_START_SPAWN, WEFT_START_FORK};
  long in[500], out[500];
  for (long i = 0; i < 500; i++) in[i] = i;
  for (int k = 0; k < 3; k++) {
    int value = 100 + k; /* each method runs the initializer in its workers */
    weft_ppool *p;
    assert_ok(weft_ppool_create(&p, &(weft_ppool_options){
      .processes = 2, .start_method = methods[k], .init = init_set_global, .init_arg = &value,
      .init_size = sizeof value}));
    int got = 0;
    assert_ok(weft_ppool_apply(p, t_read_global, NULL, 0, &got, sizeof got, NULL));
    assert_int_equal(got, 100 + k);
    weft_map m = {.fn = m_square, .in = in, .in_size = sizeof(long), .out = out,
                  .out_size = sizeof(long), .n = 500, .chunksize = 9};
    assert_ok(weft_ppool_map(p, &m));
    for (long i = 0; i < 500; i++) assert_int_equal(out[i], i * i);
    pid_t pid = 0, ppid = 0;
    assert_ok(weft_ppool_apply(p, t_getpid, NULL, 0, &pid, sizeof pid, NULL));
    assert_ok(weft_ppool_apply(p, t_getppid, NULL, 0, &ppid, sizeof ppid, NULL));
    assert_int_not_equal(pid, getpid());
    if (methods[k] == WEFT_START_FORK) assert_int_equal(ppid, getpid());
    else assert_int_not_equal(ppid, getpid()); /* the fork server's child */
    size_t written = 0;
    pid_t pids[4];
    assert_ok(weft_ppool_pids(p, pids, 4, &written));
    assert_int_equal(written, 2);
    assert_true(pids[0] == pid || pids[1] == pid);
    weft_ppool_destroy(p);
  }
}

int weft_testplugin_task(const void *arg, size_t size); /* tests/plugin */

/* A task function that lives in a shared library, on every start method:
 * its code carries the byte sum, so it ran on the bytes sent. */
static void test_library_function(void **state) {
  (void)state;
  int methods[] = {WEFT_START_FORKSERVER, WEFT_START_SPAWN, WEFT_START_FORK};
  unsigned char bytes[300];
  unsigned sum = 0;
  for (size_t i = 0; i < sizeof bytes; i++) sum += bytes[i] = (unsigned char)(i * 7);
  for (int k = 0; k < 3; k++) {
    weft_ppool *p;
    assert_ok(weft_ppool_create(&p, &(weft_ppool_options){.processes = 1,
                                                           .start_method = methods[k]}));
    weft_future *f;
    assert_ok(weft_ppool_submit(p, weft_testplugin_task, bytes, sizeof bytes, NULL, &f));
    assert_int_equal(weft_future_wait(f), -(1000 + (int)(sum % 100)));
    weft_future_release(f);
    weft_ppool_destroy(p);
  }
}

static void test_large(void **state) {
  (void)state;
  size_t big = scaled((size_t)100 << 20, (size_t)16 << 20);
  unsigned char *buf = malloc(big);
  assert_non_null(buf);
  fill(buf, big, 99);
  weft_ppool *p = make_pool(2, WEFT_START_DEFAULT);
  uint64_t r[2];
  assert_ok(weft_ppool_apply(p, t_checksum, buf, big, r, sizeof r, NULL));
  assert_int_equal(r[1], big);
  assert_true(r[0] == checksum(buf, big));
  uint64_t a[2] = {big, 1234};
  weft_future *f;
  assert_ok(weft_ppool_submit(p, t_big_result, a, sizeof a, NULL, &f));
  void *v;
  size_t n;
  assert_ok(weft_future_result(f, &v, &n));
  assert_int_equal(n, big);
  fill(buf, big, 1234);
  assert_true(checksum(v, n) == checksum(buf, big));
  weft_future_release(f);
  free(buf);
  weft_ppool_destroy(p);
}

static void test_bad_arguments(void **state) {
  (void)state;
  weft_ppool *p = NULL;
  assert_weft(weft_ppool_create(NULL, NULL), WEFT_EINVAL);
  assert_weft(weft_ppool_create(&p, &(weft_ppool_options){.processes = 100000}), WEFT_EINVAL);
  assert_weft(weft_ppool_create(&p, &(weft_ppool_options){.processes = 257}), WEFT_EINVAL);
  assert_weft(weft_ppool_create(&p, &(weft_ppool_options){.start_method = 99}), WEFT_EINVAL);
  assert_weft(weft_ppool_create(&p, &(weft_ppool_options){.start_method = -1}), WEFT_EINVAL);
  assert_weft(weft_ppool_create(&p, &(weft_ppool_options){.init = init_set_global,
                                                          .init_size = 4}), WEFT_EINVAL);
  p = make_pool(1, WEFT_START_DEFAULT);
  long x = 1;
  weft_future *f = NULL;
  assert_weft(weft_ppool_submit(p, NULL, &x, sizeof x, NULL, &f), WEFT_EINVAL);
  assert_weft(weft_ppool_submit(p, t_square, &x, sizeof x, NULL, NULL), WEFT_EINVAL);
  assert_weft(weft_ppool_submit(NULL, t_square, &x, sizeof x, NULL, &f), WEFT_EINVAL);
  assert_weft(weft_ppool_submit(p, t_square, NULL, 8, NULL, &f), WEFT_EINVAL);
  /* not a function of any loaded object */
  assert_weft(weft_ppool_submit(p, (weft_proc_fn)(uintptr_t)0x10, NULL, 0, NULL, &f),
              WEFT_EINVAL);
  assert_weft(weft_ppool_apply(p, NULL, NULL, 0, NULL, 0, NULL), WEFT_EINVAL);
  long in[4] = {1, 2, 3, 4}, out[4];
  weft_map m = {.fn = m_square, .in = in, .in_size = sizeof(long), .out = out,
                .out_size = sizeof(long), .n = 4, .ctx_size = 8};
  assert_weft(weft_ppool_map(p, &m), WEFT_EINVAL); /* ctx NULL with ctx_size */
  int codes[4];
  assert_weft(weft_ppool_map_all(p, &m, codes), WEFT_EINVAL);
  assert_weft(weft_ppool_map_async(p, &m, &f), WEFT_EINVAL);
  m.ctx_size = 0;
  m.fn = NULL;
  assert_weft(weft_ppool_map(p, &m), WEFT_EINVAL);
  m.fn = m_square;
  m.in_size = 0;
  assert_weft(weft_ppool_map(p, &m), WEFT_EINVAL);
  m.in_size = sizeof(long);
  m.out_size = 0;
  assert_weft(weft_ppool_map(p, &m), WEFT_EINVAL);
  m.out_size = sizeof(long);
  assert_weft(weft_ppool_map(NULL, &m), WEFT_EINVAL);
  assert_weft(weft_ppool_map(p, NULL), WEFT_EINVAL);
  assert_weft(weft_ppool_map_all(p, &m, NULL), WEFT_EINVAL);
  assert_weft(weft_ppool_map_stream(p, &m, NULL, NULL), WEFT_EINVAL);
  assert_weft(weft_ppool_stats_get(p, NULL), WEFT_EINVAL);
  assert_weft(weft_ppool_stats_get(NULL, &(weft_ppool_stats){0}), WEFT_EINVAL);
  assert_weft(weft_ppool_pids(NULL, NULL, 0, NULL), WEFT_EINVAL);
  assert_ok(weft_ppool_map(p, &m)); /* still fine */
  assert_int_equal(out[3], 16);
  weft_ppool_destroy(p);
  weft_ppool_destroy(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    pt_test(test_submit_futures),
    pt_test(test_apply),
    pt_test(test_initializer),
    pt_test(test_start_methods),
    pt_test(test_library_function),
    pt_test(test_large),
    pt_test(test_bad_arguments),
  };
  return cmocka_run_group_tests(tests, pt_group_setup, NULL);
}
