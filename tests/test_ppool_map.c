/* tests/test_ppool_map.c — the process pool's map family: ordered map
 * with chunksize 1, 3, automatic and larger than the map, ctx copied to
 * the workers, failures with their index and message, map_async,
 * starmap-like struct items, map_stream (every chunk exactly once, in the
 * calling thread) and map_all (every item's own code). */
#include <pthread.h>
#include "ppool_testutil.h"

static int m_square(const void *in, void *out, void *ctx) {
  long x = *(const long *)in;
  *(long *)out = x * x + (ctx ? *(const long *)ctx : 0);
  return 0;
}

static int m_fail_some(const void *in, void *out, void *ctx) {
  (void)ctx;
  long x = *(const long *)in;
  if (x % 97 == 5) return weft_task_fail(WEFT_EIO, "item %ld refused", x);
  *(long *)out = -x;
  return 0;
}

typedef struct star_args { /* starmap: each item is an argument tuple */
  int a, b;
  char op;
} star_args;

static int m_star(const void *in, void *out, void *ctx) {
  (void)ctx;
  const star_args *s = in;
  int r = s->op == '+' ? s->a + s->b : s->op == '*' ? s->a * s->b : s->a - s->b;
  *(int *)out = r;
  return 0;
}

/* ---- helpers ---- */

static void test_map_ordered(void **state) {
  (void)state;
  weft_ppool *p = make_pool(2, WEFT_START_DEFAULT);
  enum { N = 12345 };
  long *in = malloc(N * sizeof *in), *out = malloc(N * sizeof *out);
  assert_non_null(in), assert_non_null(out);
  for (long i = 0; i < N; i++) in[i] = i - 1000;
  size_t chunks[] = {1, 3, 0, 5000, N + 7};
  for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
    memset(out, 0, N * sizeof *out);
    weft_map m = {.fn = m_square, .in = in, .in_size = sizeof(long), .out = out,
                  .out_size = sizeof(long), .n = N, .chunksize = chunks[k]};
    assert_ok(weft_ppool_map(p, &m));
    assert_int_equal(m.failed_index, SIZE_MAX);
    for (long i = 0; i < N; i++)
      if (out[i] != in[i] * in[i]) fail_msg("chunksize %zu: item %ld = %ld", chunks[k], i, out[i]);
  }
  /* ctx is copied to the workers */
  long offset = 1000000;
  weft_map m = {.fn = m_square, .ctx = &offset, .ctx_size = sizeof offset, .in = in,
                .in_size = sizeof(long), .out = out, .out_size = sizeof(long), .n = N,
                .chunksize = 17};
  assert_ok(weft_ppool_map(p, &m));
  for (long i = 0; i < N; i++) assert_int_equal(out[i], in[i] * in[i] + offset);
  /* a failure: its code, index and message */
  m = (weft_map){.fn = m_fail_some, .in = in, .in_size = sizeof(long), .out = out,
                 .out_size = sizeof(long), .n = 200, .chunksize = 4};
  for (long i = 0; i < 200; i++) in[i] = i;
  assert_weft(weft_ppool_map(p, &m), WEFT_EIO);
  assert_true(m.failed_index < 200 && in[m.failed_index] % 97 == 5);
  char expect[64];
  snprintf(expect, sizeof expect, "item %ld refused", in[m.failed_index]);
  assert_string_equal(m.message, expect);
  /* empty map */
  m = (weft_map){.fn = m_square, .in = in, .in_size = sizeof(long), .out = out,
                 .out_size = sizeof(long), .n = 0};
  assert_ok(weft_ppool_map(p, &m));
  free(in), free(out);
  weft_ppool_destroy(p);
}

static void test_map_async_and_star(void **state) {
  (void)state;
  weft_ppool *p = make_pool(3, WEFT_START_DEFAULT);
  enum { N = 10007 };
  long *in = malloc(N * sizeof *in), *out = calloc(N, sizeof *out);
  for (long i = 0; i < N; i++) in[i] = i;
  weft_map m = {.fn = m_square, .in = in, .in_size = sizeof(long), .out = out,
                .out_size = sizeof(long), .n = N};
  weft_future *f;
  assert_ok(weft_ppool_map_async(p, &m, &f));
  assert_ok(weft_future_wait(f));
  weft_future_release(f);
  for (long i = 0; i < N; i++) assert_int_equal(out[i], i * i);
  m.fn = m_fail_some;
  assert_ok(weft_ppool_map_async(p, &m, &f));
  assert_weft(weft_future_wait(f), WEFT_EIO);
  assert_int_not_equal(weft_future_message(f)[0], '\0');
  weft_future_release(f);
  free(in), free(out);

  star_args args[300];
  int res[300];
  const char ops[] = "+*-";
  for (int i = 0; i < 300; i++) args[i] = (star_args){.a = i, .b = i % 11, .op = ops[i % 3]};
  m = (weft_map){.fn = m_star, .in = args, .in_size = sizeof args[0], .out = res,
                 .out_size = sizeof res[0], .n = 300, .chunksize = 7};
  assert_ok(weft_ppool_map(p, &m));
  for (int i = 0; i < 300; i++) {
    int b = i % 11, e = i % 3 == 0 ? i + b : i % 3 == 1 ? i * b : i - b;
    assert_int_equal(res[i], e);
  }
  weft_ppool_destroy(p);
}

typedef struct stream_seen {
  pthread_t caller;
  unsigned char *hits;
  size_t calls;
  bool wrong_thread;
} stream_seen;

static int on_chunk(size_t begin, size_t end, void *arg) {
  stream_seen *s = arg;
  if (!pthread_equal(pthread_self(), s->caller)) s->wrong_thread = true;
  for (size_t i = begin; i < end; i++) s->hits[i]++;
  s->calls++;
  return 0;
}

static int on_chunk_stop(size_t begin, size_t end, void *arg) {
  (void)begin, (void)end, (void)arg;
  return WEFT_ECANCELED;
}

static void test_map_stream(void **state) {
  (void)state;
  weft_ppool *p = make_pool(2, WEFT_START_DEFAULT);
  enum { N = 10001 };
  long *in = malloc(N * sizeof *in), *out = calloc(N, sizeof *out);
  for (long i = 0; i < N; i++) in[i] = i;
  size_t chunks[] = {1, 3, 0};
  for (size_t k = 0; k < 3; k++) {
    stream_seen s = {.caller = pthread_self(), .hits = calloc(N, 1)};
    weft_map m = {.fn = m_square, .in = in, .in_size = sizeof(long), .out = out,
                  .out_size = sizeof(long), .n = N, .chunksize = chunks[k]};
    assert_ok(weft_ppool_map_stream(p, &m, on_chunk, &s));
    assert_false(s.wrong_thread);
    for (long i = 0; i < N; i++) {
      if (s.hits[i] != 1) fail_msg("chunksize %zu: item %ld seen %d times", chunks[k], i, s.hits[i]);
      assert_int_equal(out[i], i * i);
    }
    if (chunks[k]) assert_int_equal(s.calls, (N + chunks[k] - 1) / chunks[k]);
    free(s.hits);
  }
  weft_map m = {.fn = m_square, .in = in, .in_size = sizeof(long), .out = out,
                .out_size = sizeof(long), .n = N, .chunksize = 10};
  assert_weft(weft_ppool_map_stream(p, &m, on_chunk_stop, NULL), WEFT_ECANCELED);
  free(in), free(out);
  weft_ppool_destroy(p); /* the pool is usable and destroyable after a stop */
}

static void test_map_all(void **state) {
  (void)state;
  weft_ppool *p = make_pool(2, WEFT_START_DEFAULT);
  enum { N = 3000 };
  long *in = malloc(N * sizeof *in), *out = calloc(N, sizeof *out);
  int *codes = malloc(N * sizeof *codes);
  for (long i = 0; i < N; i++) in[i] = i;
  size_t chunks[] = {1, 3, 0};
  for (size_t k = 0; k < 3; k++) {
    for (long i = 0; i < N; i++) codes[i] = 12345;
    weft_map m = {.fn = m_fail_some, .in = in, .in_size = sizeof(long), .out = out,
                  .out_size = sizeof(long), .n = N, .chunksize = chunks[k]};
    assert_weft(weft_ppool_map_all(p, &m, codes), WEFT_EIO);
    for (long i = 0; i < N; i++) {
      if (i % 97 == 5) {
        assert_weft(codes[i], WEFT_EIO);
      } else {
        assert_weft(codes[i], 0);
        assert_int_equal(out[i], -i);
      }
    }
    m.fn = m_square;
    assert_ok(weft_ppool_map_all(p, &m, codes));
    for (long i = 0; i < N; i++) assert_int_equal(codes[i], 0);
  }
  free(in), free(out), free(codes);
  weft_ppool_destroy(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    pt_test(test_map_ordered),
    pt_test(test_map_async_and_star),
    pt_test(test_map_stream),
    pt_test(test_map_all),
  };
  return cmocka_run_group_tests(tests, pt_group_setup, NULL);
}
