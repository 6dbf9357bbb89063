/* tests/test_map.c — the Pool.map family: map, starmap, map_async,
 * map_stream (imap_unordered), apply. */
#include <pthread.h>
#include <string.h>

#include "testutil.h"
#include "weft/weft.h"

static weft_pool *pool;

static int setup(void **state) {
  (void)state;
  return weft_pool_create(&pool, &(weft_pool_options){.threads = 5, .name = "tmap"});
}

static int teardown(void **state) {
  (void)state;
  return weft_pool_destroy(pool);
}

static int square(const void *in, void *out, void *ctx) {
  (void)ctx;
  int x = *(const int *)in;
  *(int *)out = x * x;
  return 0;
}

/* The seed: squares of 1..14, chunksize 3, five workers. */
static void test_map_seed_example(void **state) {
  (void)state;
  int dataset[14], result[14];
  for (int i = 0; i < 14; i++) dataset[i] = i + 1;
  weft_map m = {.fn = square, .in = dataset, .in_size = sizeof(int), .out = result,
                .out_size = sizeof(int), .n = 14, .chunksize = 3};
  assert_ok(weft_map_run(pool, &m));
  int want[14] = {1, 4, 9, 16, 25, 36, 49, 64, 81, 100, 121, 144, 169, 196};
  assert_memory_equal(result, want, sizeof want);
  assert_int_equal(m.failed_index, SIZE_MAX);
  assert_string_equal(m.message, "");
}

static void test_map_chunksizes(void **state) {
  (void)state;
  size_t n = scaled(100000, 5000);
  int *in = malloc(n * sizeof(int)), *out = malloc(n * sizeof(int));
  assert_non_null(in);
  assert_non_null(out);
  for (size_t i = 0; i < n; i++) in[i] = (int)(i % 40000) - 20000;
  size_t sizes[] = {1, 3, 0, 1000, n, n + 1, SIZE_MAX};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    size_t len = sizes[s] == 1 ? n / 10 : n;
    memset(out, 0xff, n * sizeof(int));
    weft_map m = {.fn = square, .in = in, .in_size = sizeof(int), .out = out,
                  .out_size = sizeof(int), .n = len, .chunksize = sizes[s]};
    assert_ok(weft_map_run(pool, &m));
    for (size_t i = 0; i < len; i++) assert_int_equal(out[i], in[i] * in[i]);
    assert_int_equal(out[len - 1 + (len < n)], len < n ? -1 : in[n - 1] * in[n - 1]);
  }
  free(in);
  free(out);
}

/* Pool.starmap: the items are argument structs. */
typedef struct args { int base, exp; } args;

static int power(const void *in, void *out, void *ctx) {
  (void)ctx;
  const args *a = in;
  long r = 1;
  for (int i = 0; i < a->exp; i++) r *= a->base;
  *(long *)out = r;
  return 0;
}

static void test_starmap(void **state) {
  (void)state;
  args in[50];
  long out[50];
  for (int i = 0; i < 50; i++) in[i] = (args){i % 7 + 1, i % 5};
  weft_map m = {.fn = power, .in = in, .in_size = sizeof(args), .out = out,
                .out_size = sizeof(long), .n = 50};
  assert_ok(weft_map_run(NULL, &m)); /* the default pool */
  for (int i = 0; i < 50; i++) {
    long r = 1;
    for (int k = 0; k < i % 5; k++) r *= i % 7 + 1;
    assert_int_equal(out[i], r);
  }
}

static int fail_at_37(const void *in, void *out, void *ctx) {
  int x = *(const int *)in;
  if (ctx) __atomic_fetch_add((uint64_t *)ctx, 1, __ATOMIC_RELAXED);
  if (x == 37) return weft_task_fail(WEFT_ERANGE, "item %d is bad", x);
  *(int *)out = x;
  return 0;
}

static void test_map_error(void **state) {
  (void)state;
  enum { N = 400 };
  int in[N], out[N];
  for (int i = 0; i < N; i++) in[i] = i;
  size_t sizes[] = {1, 3, 0, N};
  for (int s = 0; s < 4; s++) {
    weft_map m = {.fn = fail_at_37, .in = in, .in_size = sizeof(int), .out = out,
                  .out_size = sizeof(int), .n = N, .chunksize = sizes[s]};
    assert_weft(weft_map_run(pool, &m), WEFT_ERANGE);
    assert_int_equal(m.failed_index, 37);
    assert_string_equal(m.message, "item 37 is bad");
    /* a later successful run resets the outcome fields */
    m.n = 30;
    assert_ok(weft_map_run(pool, &m));
    assert_int_equal(m.failed_index, SIZE_MAX);
    assert_string_equal(m.message, "");
  }
  /* Failing early stops the rest: with one item per chunk, the failure at
   * item 37 is seen long before all 200000 items ran. */
  size_t n = scaled(200000, 50000);
  int *big = malloc(n * sizeof(int));
  assert_non_null(big);
  for (size_t i = 0; i < n; i++) big[i] = (int)(i + 100);
  big[0] = 37;
  uint64_t calls = 0;
  weft_map m = {.fn = fail_at_37, .ctx = &calls, .in = big, .in_size = sizeof(int), .n = n,
                .chunksize = n / 2};
  int *sink = malloc(n * sizeof(int));
  m.out = sink;
  m.out_size = sizeof(int);
  assert_weft(weft_map_run(pool, &m), WEFT_ERANGE);
  assert_int_equal(m.failed_index, 0);
  assert_true(calls < n);
  free(big);
  free(sink);
}

static int count_item(const void *in, void *out, void *ctx) {
  (void)in;
  if (out) return WEFT_EINVAL; /* a map without output passes NULL */
  __atomic_fetch_add((uint64_t *)ctx, 1, __ATOMIC_RELAXED);
  return 0;
}

static void test_map_bad_args(void **state) {
  (void)state;
  int in[4] = {1, 2, 3, 4}, out[4];
  weft_map ok = {.fn = square, .in = in, .in_size = sizeof(int), .out = out,
                 .out_size = sizeof(int), .n = 4};
  weft_map m = ok;
  m.fn = NULL;
  assert_weft(weft_map_run(pool, &m), WEFT_EINVAL);
  m = ok;
  m.in_size = 0;
  assert_weft(weft_map_run(pool, &m), WEFT_EINVAL);
  m = ok;
  m.out_size = 0;
  assert_weft(weft_map_run(pool, &m), WEFT_EINVAL);
  assert_weft(weft_map_run(pool, NULL), WEFT_EINVAL);
  weft_future *f = NULL;
  m = ok;
  m.fn = NULL;
  assert_weft(weft_map_async(pool, &m, &f), WEFT_EINVAL);
  assert_null(f);
  assert_weft(weft_map_async(pool, &ok, NULL), WEFT_EINVAL);
  assert_weft(weft_map_stream(pool, &ok, NULL, NULL), WEFT_EINVAL);
  assert_weft(weft_map_stream(pool, &m, NULL, NULL), WEFT_EINVAL);
  /* empty maps succeed; a map with no output array is fine */
  m = ok;
  m.n = 0;
  assert_ok(weft_map_run(pool, &m));
  uint64_t calls = 0;
  m = ok;
  m.out = NULL;
  m.out_size = 0;
  m.fn = count_item;
  m.ctx = &calls;
  assert_ok(weft_map_run(pool, &m));
  assert_int_equal(calls, 4);
}

static void test_map_async(void **state) {
  (void)state;
  enum { N = 1000 };
  int in[N], out[N];
  for (int i = 0; i < N; i++) in[i] = i;
  weft_map m = {.fn = square, .in = in, .in_size = sizeof(int), .out = out,
                .out_size = sizeof(int), .n = N, .chunksize = 7};
  weft_future *f;
  assert_ok(weft_map_async(pool, &m, &f));
  assert_ok(weft_future_wait(f));
  assert_int_equal(weft_future_status(f), WEFT_FUTURE_DONE);
  weft_future_release(f);
  for (int i = 0; i < N; i++) assert_int_equal(out[i], i * i);

  weft_map bad = m;
  bad.fn = fail_at_37;
  assert_ok(weft_map_async(pool, &bad, &f));
  assert_weft(weft_future_wait(f), WEFT_ERANGE);
  assert_int_equal(weft_future_status(f), WEFT_FUTURE_FAILED);
  assert_string_equal(weft_future_message(f), "item 37 is bad");
  assert_int_equal(bad.failed_index, 37);
  assert_string_equal(bad.message, "item 37 is bad");
  weft_future_release(f);

  weft_map empty = m;
  empty.n = 0;
  assert_ok(weft_map_async(pool, &empty, &f));
  assert_ok(weft_future_wait(f));
  weft_future_release(f);
}

/* A map_async cancelled before it starts never runs (and leaks nothing:
 * ASan checks). The only worker is kept busy so that it stays queued. */
static int block_on(void *arg) {
  weft_event_wait(arg);
  return 0;
}

static void test_map_async_cancel(void **state) {
  (void)state;
  weft_pool *one;
  assert_ok(weft_pool_create(&one, &(weft_pool_options){.threads = 1}));
  weft_event go;
  weft_event_init(&go);
  weft_future *busy, *f;
  assert_ok(weft_submit(one, block_on, &go, &busy));
  int in[10] = {0}, out[10];
  weft_map m = {.fn = square, .in = in, .in_size = sizeof(int), .out = out,
                .out_size = sizeof(int), .n = 10};
  assert_ok(weft_map_async(one, &m, &f));
  assert_ok(weft_future_cancel(f));
  weft_event_set(&go);
  assert_weft(weft_future_wait(f), WEFT_ECANCELED);
  assert_ok(weft_future_wait(busy));
  weft_future_release(f);
  weft_future_release(busy);
  assert_ok(weft_pool_destroy(one));
}

/* ---- map_stream ---- */

typedef struct seen {
  pthread_t caller;
  size_t n, chunksize, chunks, stop_after;
  unsigned char *hit;
  int wrong_thread, bad_chunk;
} seen;

static int on_chunk(size_t b, size_t e, void *arg) {
  seen *s = arg;
  if (!pthread_equal(pthread_self(), s->caller)) s->wrong_thread++;
  if (b >= e || e > s->n || b % s->chunksize || (e != s->n && e - b != s->chunksize)) s->bad_chunk++;
  for (size_t i = b; i < e && i < s->n; i++) s->hit[i]++;
  s->chunks++;
  return s->stop_after && s->chunks == s->stop_after ? 42 : 0;
}

static void stream_once(weft_pool *p, size_t n, size_t chunksize, size_t stop_after) {
  int *in = malloc(n * sizeof(int)), *out = malloc(n * sizeof(int));
  seen s = {.caller = pthread_self(), .n = n, .stop_after = stop_after, .hit = calloc(n, 1)};
  assert_true(in && out && s.hit);
  for (size_t i = 0; i < n; i++) in[i] = (int)i;
  weft_map m = {.fn = square, .in = in, .in_size = sizeof(int), .out = out,
                .out_size = sizeof(int), .n = n, .chunksize = chunksize};
  unsigned workers = weft_pool_size(p ? p : weft_pool_default());
  s.chunksize = chunksize ? chunksize : n / (4 * workers) + (n % (4 * workers) != 0);
  int rc = weft_map_stream(p, &m, on_chunk, &s);
  assert_int_equal(s.wrong_thread, 0);
  assert_int_equal(s.bad_chunk, 0);
  if (stop_after) {
    assert_int_equal(rc, 42);
    assert_int_equal(s.chunks, stop_after);
  } else {
    assert_ok(rc);
    assert_int_equal(s.chunks, n / s.chunksize + (n % s.chunksize != 0));
    for (size_t i = 0; i < n; i++) {
      assert_int_equal(s.hit[i], 1);
      assert_int_equal(out[i], (int)(i * i));
    }
  }
  free(in);
  free(out);
  free(s.hit);
}

static void test_map_stream(void **state) {
  (void)state;
  stream_once(pool, 14, 3, 0);
  stream_once(pool, 10000, 1, 0);
  stream_once(pool, 10000, 0, 0);
  stream_once(pool, 10000, 77, 0);
  stream_once(pool, 10000, 10000, 0);
  stream_once(pool, 10000, 10, 3); /* early stop after three chunks */
}

static void test_map_stream_error(void **state) {
  (void)state;
  enum { N = 300 };
  int in[N], out[N];
  for (int i = 0; i < N; i++) in[i] = i;
  weft_map m = {.fn = fail_at_37, .in = in, .in_size = sizeof(int), .out = out,
                .out_size = sizeof(int), .n = N, .chunksize = 10};
  seen s = {.caller = pthread_self(), .n = N, .chunksize = 10, .hit = calloc(N, 1)};
  assert_weft(weft_map_stream(pool, &m, on_chunk, &s), WEFT_ERANGE);
  assert_int_equal(m.failed_index, 37);
  assert_string_equal(m.message, "item 37 is bad");
  assert_int_equal(s.hit[37], 0); /* its chunk never finished */
  assert_int_equal(s.wrong_thread, 0);
  free(s.hit);
}

/* map_stream called inside a task of a one-worker pool: the caller is the
 * only worker, so it must run the map's tasks itself while it streams. */
typedef struct nested_stream {
  weft_pool *p;
  int rc;
  size_t chunks;
} nested_stream;

static int count_chunk(size_t b, size_t e, void *arg) {
  (void)b, (void)e;
  ((nested_stream *)arg)->chunks++;
  return 0;
}

static int stream_in_task(void *arg) {
  nested_stream *ns = arg;
  enum { N = 100 };
  int in[N], out[N];
  for (int i = 0; i < N; i++) in[i] = i;
  weft_map m = {.fn = square, .in = in, .in_size = sizeof(int), .out = out,
                .out_size = sizeof(int), .n = N, .chunksize = 10};
  ns->rc = weft_map_stream(ns->p, &m, count_chunk, ns);
  for (int i = 0; i < N; i++)
    if (out[i] != i * i) return WEFT_EIO;
  return ns->rc;
}

static void test_map_stream_in_worker(void **state) {
  (void)state;
  weft_pool *one;
  assert_ok(weft_pool_create(&one, &(weft_pool_options){.threads = 1}));
  nested_stream ns = {.p = NULL};
  assert_ok(weft_apply(one, stream_in_task, &ns));
  assert_ok(ns.rc);
  assert_int_equal(ns.chunks, 10);
  assert_ok(weft_pool_destroy(one));
}

/* ---- apply ---- */

static int add_one(void *arg) {
  (*(int *)arg)++;
  return 0;
}

static int apply_fails(void *arg) {
  (void)arg;
  return weft_task_fail(WEFT_EIO, "apply failed");
}

static void test_apply(void **state) {
  (void)state;
  int x = 41;
  assert_ok(weft_apply(pool, add_one, &x));
  assert_int_equal(x, 42);
  assert_weft(weft_apply(pool, apply_fails, NULL), WEFT_EIO);
  assert_weft(weft_apply(pool, NULL, NULL), WEFT_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_map_seed_example),
    cmocka_unit_test(test_map_chunksizes),
    cmocka_unit_test(test_starmap),
    cmocka_unit_test(test_map_error),
    cmocka_unit_test(test_map_bad_args),
    cmocka_unit_test(test_map_async),
    cmocka_unit_test(test_map_async_cancel),
    cmocka_unit_test(test_map_stream),
    cmocka_unit_test(test_map_stream_error),
    cmocka_unit_test(test_map_stream_in_worker),
    cmocka_unit_test(test_apply),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
