/* tests/test_aio_queue.c — the async queue (aio.h, asyncio.Queue): FIFO
 * order through a wrapping ring, bounded puts that wait, producers and
 * consumers under stress (every item once), join/task_done, close and
 * destroy with waiters, cancellation of waiters without losing or
 * duplicating an item, and a ping-pong (its speed printed, never asserted).
 *
 * Task bodies check with CHECK/CHECK_RC (tests/aio_testutil.h), which count
 * failures and return from the task; the test asserts after the run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "testutil.h"
#include "aio_testutil.h"
#include "weft/aio.h"

#define MS WEFT_MS

/* ==== queue ==== */

static int queue_fifo(void *arg) {
  (void)arg;
  weft_aio_queue *q;
  CHECK_RC(weft_aio_queue_create(&q, 0), 0);
  void *v = P(77);
  CHECK_RC(weft_aio_queue_try_get(q, &v), WEFT_EAGAIN);
  CHECK(v == P(77));
  for (uintptr_t i = 1; i <= 1000; i++) CHECK_RC(weft_aio_queue_put(q, P(i)), 0);
  CHECK(weft_aio_queue_size(q) == 1000);
  for (uintptr_t i = 1; i <= 500; i++) { /* half out, more in: the ring wraps */
    CHECK_RC(weft_aio_queue_get(q, &v), 0);
    CHECK(I(v) == i);
    CHECK_RC(weft_aio_queue_try_put(q, P(1000 + i)), 0);
  }
  for (uintptr_t i = 501; i <= 1500; i++) {
    CHECK_RC(weft_aio_queue_try_get(q, &v), 0);
    CHECK(I(v) == i);
  }
  CHECK(weft_aio_queue_size(q) == 0);
  CHECK_RC(weft_aio_queue_put(NULL, v), WEFT_EINVAL);
  CHECK_RC(weft_aio_queue_get(q, NULL), WEFT_EINVAL);
  weft_aio_queue_destroy(q);
  return 0;
}

static void test_queue_fifo(void **state) {
  (void)state;
  run_main(queue_fifo, NULL);
  weft_aio_queue *q;
  assert_ok(weft_aio_queue_create(&q, 0));
  void *v;
  assert_weft(weft_aio_queue_put(q, P(1)), WEFT_EPERM); /* outside a task */
  assert_weft(weft_aio_queue_get(q, &v), WEFT_EPERM);    /* leaves no waiter */
  assert_ok(weft_aio_queue_try_put(q, P(1)));            /* try_* need no task */
  assert_int_equal(weft_aio_queue_size(q), 1);           /* not to a phantom getter */
  assert_ok(weft_aio_queue_try_get(q, &v));
  assert_ptr_equal(v, P(1));
  weft_aio_queue_destroy(q);
  assert_ok(weft_aio_queue_create(&q, 1)); /* full: put outside a task */
  assert_ok(weft_aio_queue_try_put(q, P(1)));
  assert_weft(weft_aio_queue_put(q, P(2)), WEFT_EPERM);
  assert_ok(weft_aio_queue_try_get(q, &v));
  assert_int_equal(weft_aio_queue_size(q), 0); /* no phantom putter moved in */
  weft_aio_queue_destroy(q);
}

struct qctx {
  weft_aio_queue *q;
  uintptr_t item;
  int code;
  void *got;
  int after; /* the code of the next await */
};

static int putter(void *arg) {
  struct qctx *c = arg;
  c->code = weft_aio_queue_put(c->q, P(c->item));
  c->after = weft_aio_sleep(1 * MS);
  return 0;
}

static int getter(void *arg) {
  struct qctx *c = arg;
  c->code = weft_aio_queue_get(c->q, &c->got);
  c->after = weft_aio_sleep(1 * MS);
  return 0;
}

static int queue_bounded(void *arg) {
  (void)arg;
  weft_aio_queue *q;
  CHECK_RC(weft_aio_queue_create(&q, 2), 0);
  CHECK_RC(weft_aio_queue_try_put(q, P(1)), 0);
  CHECK_RC(weft_aio_queue_put(q, P(2)), 0);
  CHECK_RC(weft_aio_queue_try_put(q, P(9)), WEFT_EAGAIN);
  struct qctx a = {.q = q, .item = 3}, b = {.q = q, .item = 4};
  weft_aio_task *ta = go(putter, &a), *tb = go(putter, &b);
  CHECK_RC(weft_aio_yield(), 0);
  CHECK(!weft_aio_task_done(ta) && !weft_aio_task_done(tb)); /* both wait */
  CHECK(weft_aio_queue_size(q) == 2);
  void *v;
  for (uintptr_t i = 1; i <= 4; i++) {
    CHECK_RC(weft_aio_queue_get(q, &v), 0);
    CHECK(I(v) == i); /* waiting putters keep their order */
    CHECK(weft_aio_queue_size(q) == (i <= 2 ? 2u : 4 - i));
  }
  CHECK_RC(finish(ta), 0);
  CHECK_RC(finish(tb), 0);
  CHECK(a.code == 0 && b.code == 0);
  weft_aio_queue_destroy(q);
  return 0;
}

static void test_queue_bounded(void **state) {
  (void)state;
  run_main(queue_bounded, NULL);
}

/* ---- producers and consumers ---- */

enum { NPROD = 8, NCONS = 8 };

struct pc {
  weft_aio_queue *q;
  size_t per;       /* items per producer */
  uint8_t *seen;    /* one flag per item */
  uint64_t sum;
  size_t count;
  int bad;
};

struct prod {
  struct pc *pc;
  size_t id;
};

static int producer(void *arg) {
  struct prod *p = arg;
  for (size_t i = 0; i < p->pc->per; i++) {
    CHECK_RC(weft_aio_queue_put(p->pc->q, P(p->id * p->pc->per + i + 1)), 0);
    if (i % 97 == 0) CHECK_RC(weft_aio_yield(), 0);
  }
  return 0;
}

static int consumer(void *arg) {
  struct pc *pc = arg;
  uintptr_t last[NPROD] = {0}; /* per producer, items must come in order */
  for (;;) {
    void *v;
    int rc = weft_aio_queue_get(pc->q, &v);
    if (rc == WEFT_ECLOSED) return 0;
    CHECK_RC(rc, 0);
    uintptr_t x = I(v) - 1;
    CHECK(x < NPROD * pc->per);
    CHECK(pc->seen[x] == 0);
    pc->seen[x] = 1;
    size_t who = x / pc->per;
    CHECK(last[who] == 0 || x > last[who] - 1);
    last[who] = x + 1;
    pc->sum += x + 1;
    pc->count++;
    CHECK_RC(weft_aio_queue_task_done(pc->q), 0);
  }
}

static int queue_stress(void *arg) {
  struct pc *pc = arg;
  CHECK_RC(weft_aio_queue_create(&pc->q, 16), 0);
  struct prod prods[NPROD];
  weft_aio_task *tp[NPROD], *tc[NCONS];
  for (size_t i = 0; i < NCONS; i++) tc[i] = go(consumer, pc);
  for (size_t i = 0; i < NPROD; i++) {
    prods[i] = (struct prod){pc, i};
    tp[i] = go(producer, &prods[i]);
  }
  CHECK_RC(weft_aio_gather(tp, NPROD, 0), 0);
  CHECK_RC(weft_aio_queue_join(pc->q), 0); /* every item processed */
  CHECK(pc->count == NPROD * pc->per);
  weft_aio_queue_close(pc->q);
  CHECK_RC(weft_aio_gather(tc, NCONS, 0), 0);
  for (size_t i = 0; i < NPROD; i++) weft_aio_task_release(tp[i]);
  for (size_t i = 0; i < NCONS; i++) weft_aio_task_release(tc[i]);
  weft_aio_queue_destroy(pc->q);
  return 0;
}

static void test_queue_stress(void **state) {
  (void)state;
  struct pc pc = {.per = scaled(20000, 500)};
  size_t n = NPROD * pc.per;
  pc.seen = calloc(n, 1);
  assert_non_null(pc.seen);
  run_main(queue_stress, &pc);
  assert_int_equal(pc.count, n);
  assert_true(pc.sum == (uint64_t)n * (n + 1) / 2);
  for (size_t i = 0; i < n; i++) assert_int_equal(pc.seen[i], 1);
  free(pc.seen);
}

/* ---- join, task_done, close, destroy ---- */

struct joinctx {
  weft_aio_queue *q;
  int processed;
};

static int slow_worker(void *arg) {
  struct joinctx *j = arg;
  for (;;) {
    void *v;
    int rc = weft_aio_queue_get(j->q, &v);
    if (rc) return rc == WEFT_ECLOSED ? 0 : rc;
    CHECK_RC(weft_aio_sleep(1 * MS), 0);
    j->processed++;
    CHECK_RC(weft_aio_queue_task_done(j->q), 0);
  }
}

static int queue_join(void *arg) {
  (void)arg;
  struct joinctx j = {0};
  CHECK_RC(weft_aio_queue_create(&j.q, 0), 0);
  CHECK_RC(weft_aio_queue_join(j.q), 0); /* nothing put: at once */
  CHECK_RC(weft_aio_queue_task_done(j.q), WEFT_ERANGE);
  weft_aio_task *w = go(slow_worker, &j);
  for (int i = 0; i < 5; i++) CHECK_RC(weft_aio_queue_put(j.q, P(i + 1)), 0);
  CHECK_RC(weft_aio_queue_join(j.q), 0);
  CHECK(j.processed == 5);
  CHECK_RC(weft_aio_queue_task_done(j.q), WEFT_ERANGE);
  weft_aio_queue_close(j.q);
  CHECK_RC(finish(w), 0);
  weft_aio_queue_destroy(j.q);
  return 0;
}

static void test_queue_join(void **state) {
  (void)state;
  run_main(queue_join, NULL);
}

static int queue_close(void *arg) {
  (void)arg;
  weft_aio_queue *q;
  CHECK_RC(weft_aio_queue_create(&q, 1), 0);
  struct qctx g = {.q = q};
  weft_aio_task *tg = go(getter, &g);
  CHECK_RC(weft_aio_yield(), 0);
  weft_aio_queue_close(q); /* a waiting getter is told */
  CHECK_RC(finish(tg), 0);
  CHECK_RC(g.code, WEFT_ECLOSED);
  CHECK_RC(weft_aio_queue_put(q, P(1)), WEFT_ECLOSED);
  CHECK_RC(weft_aio_queue_try_put(q, P(1)), WEFT_ECLOSED);
  weft_aio_queue_destroy(q);

  /* Items left are drained first; a waiting putter gets ECLOSED. */
  CHECK_RC(weft_aio_queue_create(&q, 1), 0);
  CHECK_RC(weft_aio_queue_put(q, P(5)), 0);
  struct qctx p = {.q = q, .item = 6};
  weft_aio_task *tp = go(putter, &p);
  CHECK_RC(weft_aio_yield(), 0);
  weft_aio_queue_close(q);
  CHECK_RC(finish(tp), 0);
  CHECK_RC(p.code, WEFT_ECLOSED);
  void *v;
  CHECK_RC(weft_aio_queue_get(q, &v), 0);
  CHECK(I(v) == 5);
  CHECK_RC(weft_aio_queue_get(q, &v), WEFT_ECLOSED);
  CHECK_RC(weft_aio_queue_try_get(q, &v), WEFT_ECLOSED);
  weft_aio_queue_destroy(q);

  /* destroy with waiters: they are woken with ECLOSED first. */
  CHECK_RC(weft_aio_queue_create(&q, 0), 0);
  struct qctx g1 = {.q = q}, g2 = {.q = q};
  weft_aio_task *t1 = go(getter, &g1), *t2 = go(getter, &g2);
  CHECK_RC(weft_aio_yield(), 0);
  weft_aio_queue_destroy(q);
  CHECK_RC(finish(t1), 0);
  CHECK_RC(finish(t2), 0);
  CHECK_RC(g1.code, WEFT_ECLOSED);
  CHECK_RC(g2.code, WEFT_ECLOSED);
  return 0;
}

static void test_queue_close(void **state) {
  (void)state;
  run_main(queue_close, NULL);
}

/* ---- cancellation: no item lost or duplicated ---- */

static int queue_cancel(void *arg) {
  (void)arg;
  weft_aio_queue *q;
  void *v;
  CHECK_RC(weft_aio_queue_create(&q, 1), 0);

  /* A getter cancelled while waiting leaves; the next getter gets the item. */
  struct qctx g1 = {.q = q}, g2 = {.q = q};
  weft_aio_task *t1 = go(getter, &g1), *t2 = go(getter, &g2);
  CHECK_RC(weft_aio_yield(), 0);
  CHECK_RC(weft_aio_cancel(t1), 0);
  CHECK_RC(weft_aio_queue_put(q, P(10)), 0);
  CHECK_RC(finish(t1), 0);
  CHECK_RC(finish(t2), 0);
  CHECK_RC(g1.code, WEFT_ECANCELED);
  CHECK(g1.got == NULL);
  CHECK_RC(g2.code, 0);
  CHECK(I(g2.got) == 10);
  CHECK(weft_aio_queue_size(q) == 0);

  /* Handed an item, then cancelled before it ran: it keeps the item, and
   * its next await is cancelled. */
  struct qctx g3 = {.q = q};
  weft_aio_task *t3 = go(getter, &g3);
  CHECK_RC(weft_aio_yield(), 0);
  CHECK_RC(weft_aio_queue_put(q, P(11)), 0);
  CHECK_RC(weft_aio_cancel(t3), 0);
  CHECK_RC(finish(t3), 0);
  CHECK_RC(g3.code, 0);
  CHECK(I(g3.got) == 11);
  CHECK_RC(g3.after, WEFT_ECANCELED);
  CHECK(weft_aio_queue_size(q) == 0);

  /* Putters on a full queue: one cancelled while waiting (its item never
   * enters), one moved in by a get and then cancelled (its item stays). */
  CHECK_RC(weft_aio_queue_put(q, P(20)), 0);
  struct qctx p1 = {.q = q, .item = 21}, p2 = {.q = q, .item = 22};
  weft_aio_task *tp1 = go(putter, &p1), *tp2 = go(putter, &p2);
  CHECK_RC(weft_aio_yield(), 0);
  CHECK_RC(weft_aio_cancel(tp1), 0);
  CHECK_RC(weft_aio_queue_get(q, &v), 0); /* p2's item moves in */
  CHECK(I(v) == 20);
  CHECK_RC(weft_aio_cancel(tp2), 0);
  CHECK_RC(finish(tp1), 0);
  CHECK_RC(finish(tp2), 0);
  CHECK_RC(p1.code, WEFT_ECANCELED);
  CHECK_RC(p2.code, 0);
  CHECK_RC(p2.after, WEFT_ECANCELED);
  CHECK(weft_aio_queue_size(q) == 1);
  CHECK_RC(weft_aio_queue_try_get(q, &v), 0);
  CHECK(I(v) == 22);
  CHECK_RC(weft_aio_queue_try_get(q, &v), WEFT_EAGAIN);

  /* A deadline interrupts a get like a cancellation. */
  weft_aio_scope s;
  weft_aio_scope_enter(&s, 5 * MS);
  int rc = weft_aio_queue_get(q, &v);
  weft_aio_scope_exit(&s);
  CHECK_RC(rc, WEFT_ETIMEDOUT);
  weft_aio_queue_destroy(q);
  return 0;
}

static void test_queue_cancel(void **state) {
  (void)state;
  run_main(queue_cancel, NULL);
}

/* Cancel random waiters of a busy queue: every item put is got once. */
struct churn {
  weft_aio_queue *q;
  size_t got, sum;
};

static int churn_getter(void *arg) {
  struct churn *c = arg;
  for (;;) {
    void *v;
    int rc = weft_aio_queue_get(c->q, &v);
    if (rc) return rc == WEFT_ECLOSED || rc == WEFT_ECANCELED ? 0 : rc;
    c->got++;
    c->sum += I(v);
  }
}

static int queue_cancel_churn(void *arg) {
  (void)arg;
  struct churn c = {0};
  CHECK_RC(weft_aio_queue_create(&c.q, 4), 0);
  size_t rounds = scaled(300, 30), sum = 0, n = 0;
  for (size_t r = 0; r < rounds; r++) {
    weft_aio_task *ts[4];
    for (int i = 0; i < 4; i++) ts[i] = go(churn_getter, &c);
    for (int i = 0; i < 10; i++) {
      n++;
      sum += n;
      CHECK_RC(weft_aio_queue_put(c.q, P(n)), 0);
      if (i == 3 || i == 7) weft_aio_cancel(ts[(r + (size_t)i) % 4]); /* maybe mid-hand-off */
    }
    CHECK_RC(weft_aio_yield(), 0);
    for (int i = 0; i < 4; i++) weft_aio_cancel(ts[i]);
    for (int i = 0; i < 4; i++) { /* cancelled before it ran: never started */
      int rc = finish(ts[i]);
      CHECK(rc == 0 || rc == WEFT_ECANCELED);
    }
  }
  void *v;
  while (weft_aio_queue_try_get(c.q, &v) == 0) { /* what nobody took */
    c.got++;
    c.sum += I(v);
  }
  CHECK(c.got == n);
  CHECK(c.sum == sum);
  weft_aio_queue_destroy(c.q);
  return 0;
}

static void test_queue_cancel_churn(void **state) {
  (void)state;
  run_main(queue_cancel_churn, NULL);
}

/* ---- ping-pong (prints its speed; never asserts on it) ---- */

struct pp {
  weft_aio_queue *a, *b;
  size_t n;
};

static int pong(void *arg) {
  struct pp *p = arg;
  for (size_t i = 0; i < p->n; i++) {
    void *v;
    CHECK_RC(weft_aio_queue_get(p->a, &v), 0);
    CHECK_RC(weft_aio_queue_put(p->b, v), 0);
  }
  return 0;
}

static int ping(void *arg) {
  struct pp *p = arg;
  CHECK_RC(weft_aio_queue_create(&p->a, 0), 0);
  CHECK_RC(weft_aio_queue_create(&p->b, 0), 0);
  weft_aio_task *t = go(pong, p);
  uint64_t t0 = weft_now_ns();
  for (size_t i = 0; i < p->n; i++) {
    void *v;
    CHECK_RC(weft_aio_queue_put(p->a, P(i + 1)), 0);
    CHECK_RC(weft_aio_queue_get(p->b, &v), 0);
    CHECK(I(v) == i + 1);
  }
  uint64_t dt = weft_now_ns() - t0;
  print_message("queue ping-pong: %.0f ns per round trip (%zu round trips)\n",
                (double)dt / (double)p->n, p->n);
  CHECK_RC(finish(t), 0);
  weft_aio_queue_destroy(p->a);
  weft_aio_queue_destroy(p->b);
  return 0;
}

static void test_queue_pingpong(void **state) {
  (void)state;
  struct pp p = {.n = scaled(200000, 5000)};
  run_main(ping, &p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_queue_fifo),
      cmocka_unit_test(test_queue_bounded),
      cmocka_unit_test(test_queue_stress),
      cmocka_unit_test(test_queue_join),
      cmocka_unit_test(test_queue_close),
      cmocka_unit_test(test_queue_cancel),
      cmocka_unit_test(test_queue_cancel_churn),
      cmocka_unit_test(test_queue_pingpong),
  };
  return cmocka_run_group_tests(tests, warm_up, NULL);
}
