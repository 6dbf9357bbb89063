/* tests/test_parallel.c — weft_parallel_for and weft_parallel_reduce. */
#include <dirent.h>
#include <string.h>

#include "testutil.h"
#include "weft/weft.h"

static weft_pool *pool;

static int setup(void **state) {
  (void)state;
  return weft_pool_create(&pool, &(weft_pool_options){.threads = 4, .name = "tpar"});
}

static int teardown(void **state) {
  (void)state;
  return weft_pool_destroy(pool);
}

/* xorshift: reproducible random ranges */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* ---- every index exactly once ---- */

typedef struct cover {
  size_t base, n;
  uint32_t *hits;
  uint32_t empty_calls;
} cover;

static int cover_body(size_t b, size_t e, void *ctx) {
  cover *c = ctx;
  if (b >= e) __atomic_fetch_add(&c->empty_calls, 1, __ATOMIC_RELAXED);
  for (size_t i = b; i < e; i++) __atomic_fetch_add(&c->hits[i - c->base], 1, __ATOMIC_RELAXED);
  return 0;
}

static void check_cover(size_t begin, size_t n, size_t grain) {
  cover c = {.base = begin, .n = n, .hits = calloc(n + 1, sizeof(uint32_t))};
  assert_non_null(c.hits);
  assert_ok(weft_parallel_for(pool, begin, begin + n, grain, cover_body, &c));
  for (size_t i = 0; i < n; i++) {
    if (c.hits[i] != 1)
      fail_msg("begin %zu n %zu grain %zu: index %zu hit %u times", begin, n, grain, begin + i,
               c.hits[i]);
  }
  assert_int_equal(c.empty_calls, 0);
  free(c.hits);
}

static void test_for_covers_random(void **state) {
  (void)state;
  size_t rounds = scaled(300, 20);
  for (size_t r = 0; r < rounds; r++) {
    size_t n = rnd() % 20000;
    size_t begin = rnd() % 1000;
    size_t grains[] = {0, 1, 7, n / 3 + 1, n + 5, SIZE_MAX};
    check_cover(begin, n, grains[rnd() % 6]);
  }
}

static void test_for_covers_edges(void **state) {
  (void)state;
  check_cover(5, 1, 0);
  check_cover(0, 2, 0);
  check_cover(0, 1000, 1);
  check_cover(0, 1000, 1000);
  check_cover(0, 1000, 999);
  check_cover(0, scaled(1000000, 100000), 0);
  /* indices near the top of size_t */
  check_cover(SIZE_MAX - 5000, 5000, 0);
  check_cover(SIZE_MAX - 5000, 5000, 3);
}

static int never_body(size_t b, size_t e, void *ctx) {
  (void)b, (void)e, (void)ctx;
  fail_msg("body called on an empty range");
  return 0;
}

static void test_for_bad_args(void **state) {
  (void)state;
  assert_ok(weft_parallel_for(pool, 10, 10, 0, never_body, NULL));
  assert_ok(weft_parallel_for(NULL, 0, 0, 5, never_body, NULL));
  assert_weft(weft_parallel_for(pool, 11, 10, 0, never_body, NULL), WEFT_EINVAL);
  assert_weft(weft_parallel_for(pool, 0, 10, 0, NULL, NULL), WEFT_EINVAL);
}

/* ---- errors ---- */

typedef struct failer {
  size_t bad;
  uint64_t done;
} failer;

static int fail_body(size_t b, size_t e, void *ctx) {
  failer *f = ctx;
  if (f->bad >= b && f->bad < e) return weft_task_fail(WEFT_EIO, "index %zu is bad", f->bad);
  __atomic_fetch_add(&f->done, e - b, __ATOMIC_RELAXED);
  return 0;
}

static void test_for_error(void **state) {
  (void)state;
  size_t grains[] = {0, 1, 64};
  for (int g = 0; g < 3; g++) {
    failer f = {.bad = 777};
    assert_weft(weft_parallel_for(pool, 0, 5000, grains[g], fail_body, &f), WEFT_EIO);
  }
  /* The failing piece does none of its work; with grain 1 the rest is
   * mostly skipped (not asserted: that depends on timing). */
  size_t n = scaled(200000, 50000);
  failer f = {.bad = 0};
  assert_weft(weft_parallel_for(pool, 0, n, n / 4, fail_body, &f), WEFT_EIO);
  assert_true(f.done <= n - n / 4);
  f.done = 0;
  assert_weft(weft_parallel_for(pool, 0, n, 1, fail_body, &f), WEFT_EIO);
}

/* A task that fails through parallel_for carries the body's message. */
static int task_with_failing_for(void *arg) {
  failer *f = arg;
  return weft_parallel_for(NULL, 0, 1000, 10, fail_body, f);
}

static void test_for_error_message(void **state) {
  (void)state;
  failer f = {.bad = 123};
  weft_future *fut;
  assert_ok(weft_submit(pool, task_with_failing_for, &f, &fut));
  assert_weft(weft_future_wait(fut), WEFT_EIO);
  assert_string_equal(weft_future_message(fut), "index 123 is bad");
  weft_future_release(fut);
}

/* Cancelling the group of the task that runs a parallel_for stops it:
 * every body waits until the cancel happened, so what is left is skipped. */
typedef struct cancel_ctx {
  weft_sem started;
  weft_event go;
  uint64_t done;
  int rc;
} cancel_ctx;

static int cancel_body(size_t b, size_t e, void *ctx) {
  cancel_ctx *c = ctx;
  weft_sem_post(&c->started);
  weft_event_wait(&c->go);
  __atomic_fetch_add(&c->done, e - b, __ATOMIC_RELAXED);
  return 0;
}

static int cancel_task(void *arg) {
  cancel_ctx *c = arg;
  c->rc = weft_parallel_for(NULL, 0, 10000, 1, cancel_body, c);
  return c->rc;
}

static void test_for_cancelled(void **state) {
  (void)state;
  cancel_ctx c = {.done = 0};
  weft_sem_init(&c.started, 0);
  weft_event_init(&c.go);
  weft_group g;
  weft_group_init(&g, pool);
  assert_ok(weft_group_spawn(&g, cancel_task, &c));
  weft_sem_wait(&c.started);
  weft_group_cancel(&g);
  weft_event_set(&c.go);
  assert_weft(weft_group_wait(&g), WEFT_ECANCELED);
  weft_group_destroy(&g);
  assert_weft(c.rc, WEFT_ECANCELED);
  assert_true(c.done < 10000);
}

/* ---- nesting ---- */

static size_t count_threads(void) {
  DIR *d = opendir("/proc/self/task");
  assert_non_null(d);
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(d)))
    if (de->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

#define OUTER 48
#define INNER 700
typedef struct nest {
  uint32_t hits[OUTER][INNER];
  size_t inner_grain;
} nest;

typedef struct inner_ctx {
  nest *n;
  size_t row;
} inner_ctx;

static int inner_body(size_t b, size_t e, void *ctx) {
  inner_ctx *ic = ctx;
  for (size_t i = b; i < e; i++) __atomic_fetch_add(&ic->n->hits[ic->row][i], 1, __ATOMIC_RELAXED);
  return 0;
}

static int outer_body(size_t b, size_t e, void *ctx) {
  nest *n = ctx;
  for (size_t r = b; r < e; r++) {
    inner_ctx ic = {n, r};
    int rc = weft_parallel_for(NULL, 0, INNER, n->inner_grain, inner_body, &ic);
    if (rc) return rc;
  }
  return 0;
}

static void test_for_nested(void **state) {
  (void)state;
  nest *n = calloc(1, sizeof *n);
  assert_non_null(n);
  assert_ok(weft_parallel_for(pool, 0, 4, 1, inner_body, &(inner_ctx){n, 0})); /* warm up */
  memset(n, 0, sizeof *n);
  size_t before = count_threads();
  size_t rounds = scaled(20, 3);
  for (size_t round = 0; round < rounds; round++) {
    n->inner_grain = round % 3 == 0 ? 0 : round % 3 == 1 ? 1 : 50;
    assert_ok(weft_parallel_for(pool, 0, OUTER, round % 2, outer_body, n));
  }
  assert_int_equal(count_threads(), before);
  for (size_t r = 0; r < OUTER; r++)
    for (size_t i = 0; i < INNER; i++) assert_int_equal(n->hits[r][i], rounds);
  free(n);
}

/* ---- parallel_reduce ---- */

static int sum_body(size_t b, size_t e, void *acc, void *ctx) {
  (void)ctx;
  uint64_t s = 0;
  for (size_t i = b; i < e; i++) s += i;
  *(uint64_t *)acc += s;
  return 0;
}

static void sum_join(void *l, const void *r, void *ctx) {
  (void)ctx;
  *(uint64_t *)l += *(const uint64_t *)r;
}

static void test_reduce_sum(void **state) {
  (void)state;
  size_t rounds = scaled(200, 20);
  for (size_t r = 0; r < rounds; r++) {
    size_t b = rnd() % 100, n = rnd() % 50000;
    size_t grains[] = {0, 1, 13, n + 1};
    uint64_t zero = 0, got = 7;
    assert_ok(weft_parallel_reduce(pool, b, b + n, grains[r % 4], &zero, sizeof zero, sum_body,
                                   sum_join, NULL, &got));
    uint64_t want = 0;
    for (size_t i = b; i < b + n; i++) want += i;
    assert_int_equal(got, want);
  }
}

/* Order-sensitive: the accumulator is the span it has seen; joining spans
 * that do not touch (out of order) marks it broken. */
typedef struct span {
  size_t lo, hi;
  int empty, broken;
} span;

static int span_body(size_t b, size_t e, void *acc, void *ctx) {
  (void)ctx;
  span *s = acc;
  if (s->empty) *s = (span){b, e, 0, s->broken};
  else {
    s->broken |= s->hi != b;
    s->hi = e;
  }
  return 0;
}

static void span_join(void *l, const void *r, void *ctx) {
  (void)ctx;
  span *a = l;
  const span *c = r;
  if (c->empty) return;
  if (a->empty) {
    *a = *c;
    return;
  }
  a->broken |= c->broken | (a->hi != c->lo);
  a->hi = c->hi;
}

static void test_reduce_ordered_join(void **state) {
  (void)state;
  size_t rounds = scaled(200, 20);
  for (size_t r = 0; r < rounds; r++) {
    size_t b = rnd() % 100, n = 1 + rnd() % 100000;
    size_t grains[] = {0, 1, 100, n};
    span id = {0, 0, 1, 0}, got;
    assert_ok(weft_parallel_reduce(pool, b, b + n, grains[r % 4], &id, sizeof id, span_body,
                                   span_join, NULL, &got));
    assert_int_equal(got.broken, 0);
    assert_int_equal(got.empty, 0);
    assert_int_equal(got.lo, b);
    assert_int_equal(got.hi, b + n);
  }
}

/* Matrix product of M_i = [[i%5+1, 1], [1, 0]] mod p: non-commutative. */
#define P 1000003ull
typedef struct mat { uint64_t a, b, c, d; } mat;

static mat mat_mul(mat x, mat y) {
  return (mat){(x.a * y.a + x.b * y.c) % P, (x.a * y.b + x.b * y.d) % P,
               (x.c * y.a + x.d * y.c) % P, (x.c * y.b + x.d * y.d) % P};
}

static int mat_body(size_t b, size_t e, void *acc, void *ctx) {
  (void)ctx;
  mat *m = acc;
  for (size_t i = b; i < e; i++) *m = mat_mul(*m, (mat){i % 5 + 1, 1, 1, 0});
  return 0;
}

static void mat_join(void *l, const void *r, void *ctx) {
  (void)ctx;
  *(mat *)l = mat_mul(*(mat *)l, *(const mat *)r);
}

static void test_reduce_matrix(void **state) {
  (void)state;
  size_t n = scaled(300000, 30000);
  size_t grains[] = {0, 1000, 1};
  for (int g = 0; g < 3; g++) {
    size_t len = grains[g] == 1 ? n / 10 : n;
    mat w = {1, 0, 0, 1}, got = {0};
    mat_body(0, len, &w, NULL);
    mat id = {1, 0, 0, 1};
    assert_ok(weft_parallel_reduce(pool, 0, len, grains[g], &id, sizeof id, mat_body, mat_join,
                                   NULL, &got));
    assert_memory_equal(&got, &w, sizeof w);
  }
}

/* Accumulators too big for the frame's buffer take the malloc path. */
typedef struct hist { uint64_t bin[40]; } hist;

static int hist_body(size_t b, size_t e, void *acc, void *ctx) {
  (void)ctx;
  for (size_t i = b; i < e; i++) ((hist *)acc)->bin[i % 40]++;
  return 0;
}

static void hist_join(void *l, const void *r, void *ctx) {
  (void)ctx;
  for (int i = 0; i < 40; i++) ((hist *)l)->bin[i] += ((const hist *)r)->bin[i];
}

static void test_reduce_big_acc(void **state) {
  (void)state;
  size_t n = 40 * 1000 + 7;
  hist h;
  memset(&h, 0, sizeof h);
  /* identity aliases result: allowed */
  assert_ok(weft_parallel_reduce(pool, 0, n, 0, &h, sizeof h, hist_body, hist_join, NULL, &h));
  for (int i = 0; i < 40; i++) assert_int_equal(h.bin[i], 1000 + (i < 7));
  memset(&h, 0, sizeof h);
  assert_ok(weft_parallel_reduce(pool, 0, n, 16, &h, sizeof h, hist_body, hist_join, NULL, &h));
  for (int i = 0; i < 40; i++) assert_int_equal(h.bin[i], 1000 + (i < 7));
}

static int sum_fail_body(size_t b, size_t e, void *acc, void *ctx) {
  size_t bad = *(size_t *)ctx;
  if (bad >= b && bad < e) return WEFT_ERANGE;
  return sum_body(b, e, acc, NULL);
}

static void test_reduce_errors(void **state) {
  (void)state;
  uint64_t zero = 0, got = 0;
  size_t bad = 4321;
  assert_weft(weft_parallel_reduce(pool, 0, 10000, 0, &zero, 8, sum_fail_body, sum_join, &bad,
                                   &got), WEFT_ERANGE);
  assert_weft(weft_parallel_reduce(pool, 0, 10000, 7, &zero, 8, sum_fail_body, sum_join, &bad,
                                   &got), WEFT_ERANGE);
  assert_weft(weft_parallel_reduce(pool, 0, 10, 0, &zero, 8, NULL, sum_join, NULL, &got), WEFT_EINVAL);
  assert_weft(weft_parallel_reduce(pool, 0, 10, 0, &zero, 8, sum_body, NULL, NULL, &got), WEFT_EINVAL);
  assert_weft(weft_parallel_reduce(pool, 0, 10, 0, NULL, 8, sum_body, sum_join, NULL, &got), WEFT_EINVAL);
  assert_weft(weft_parallel_reduce(pool, 0, 10, 0, &zero, 0, sum_body, sum_join, NULL, &got), WEFT_EINVAL);
  assert_weft(weft_parallel_reduce(pool, 0, 10, 0, &zero, 8, sum_body, sum_join, NULL, NULL), WEFT_EINVAL);
  assert_weft(weft_parallel_reduce(pool, 9, 3, 0, &zero, 8, sum_body, sum_join, NULL, &got), WEFT_EINVAL);
  got = 99;
  assert_ok(weft_parallel_reduce(pool, 3, 3, 0, &zero, 8, sum_body, sum_join, NULL, &got));
  assert_int_equal(got, 0);
}

/* parallel_reduce inside parallel_for on the default pool (NULL). */
static int row_sum_body(size_t b, size_t e, void *ctx) {
  uint64_t *rows = ctx;
  for (size_t r = b; r < e; r++) {
    uint64_t zero = 0;
    int rc = weft_parallel_reduce(NULL, 0, 1000 * (r + 1), 0, &zero, 8, sum_body, sum_join, NULL,
                                  &rows[r]);
    if (rc) return rc;
  }
  return 0;
}

static void test_reduce_nested_default_pool(void **state) {
  (void)state;
  uint64_t rows[16];
  assert_ok(weft_parallel_for(NULL, 0, 16, 1, row_sum_body, rows));
  for (size_t r = 0; r < 16; r++) {
    uint64_t n = 1000 * (r + 1);
    assert_int_equal(rows[r], n * (n - 1) / 2);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_for_covers_random),
    cmocka_unit_test(test_for_covers_edges),
    cmocka_unit_test(test_for_bad_args),
    cmocka_unit_test(test_for_error),
    cmocka_unit_test(test_for_error_message),
    cmocka_unit_test(test_for_cancelled),
    cmocka_unit_test(test_for_nested),
    cmocka_unit_test(test_reduce_sum),
    cmocka_unit_test(test_reduce_ordered_join),
    cmocka_unit_test(test_reduce_matrix),
    cmocka_unit_test(test_reduce_big_acc),
    cmocka_unit_test(test_reduce_errors),
    cmocka_unit_test(test_reduce_nested_default_pool),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
