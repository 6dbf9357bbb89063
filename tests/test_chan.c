/* tests/test_chan.c — channels: unit tests of every function, close rules,
 * select, and multi-producer / multi-consumer stress with exactly-once
 * checks. Threads synchronise through the channel's own wait-queue counters
 * (reached through chan_internal.h) or POSIX semaphores, never sleeps. */
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include "chan/chan_internal.h"
#include "testutil.h"
#include "weft/chan.h"

#define SHORT_NS 2000000u /* 2 ms: only used where a timeout is expected */

/* ---- helpers ---- */

static weft_chan *make_chan(bool bounded, size_t item_size, size_t cap) {
  weft_chan *c = NULL;
  if (bounded) assert_ok(weft_chan_create(&c, item_size, cap));
  else assert_ok(weft_chan_create_unbounded(&c, item_size));
  return c;
}

/* Waits (yielding) until n threads are parked on q — or registered there
 * by a select. State polling, not timing: it returns as soon as they are. */
static void await_sleepers(chan_waitq *q, uint32_t n) {
  while (__atomic_load_n(&q->sleepers, __ATOMIC_ACQUIRE) < n) sched_yield();
}

static void await_listeners(chan_waitq *q, uint32_t n) {
  while (__atomic_load_n(&q->listeners, __ATOMIC_ACQUIRE) < n) sched_yield();
}

/* ---- argument checks ---- */

static void test_bad_args(void **state) {
  (void)state;
  weft_chan *c = NULL;
  int x = 0;
  assert_weft(weft_chan_create(NULL, 4, 4), WEFT_EINVAL);
  assert_weft(weft_chan_create(&c, 0, 4), WEFT_EINVAL);
  assert_weft(weft_chan_create(&c, 4, 0), WEFT_EINVAL);
  assert_weft(weft_chan_create(&c, SIZE_MAX, 4), WEFT_EINVAL);
  assert_weft(weft_chan_create(&c, 4, SIZE_MAX), WEFT_EINVAL);
  assert_weft(weft_chan_create_unbounded(NULL, 4), WEFT_EINVAL);
  assert_weft(weft_chan_create_unbounded(&c, 0), WEFT_EINVAL);
  assert_null(c);
  assert_weft(weft_chan_send(NULL, &x), WEFT_EINVAL);
  assert_weft(weft_chan_try_send(NULL, &x), WEFT_EINVAL);
  assert_weft(weft_chan_send_timed(NULL, &x, 0), WEFT_EINVAL);
  assert_weft(weft_chan_recv(NULL, &x), WEFT_EINVAL);
  assert_weft(weft_chan_try_recv(NULL, &x), WEFT_EINVAL);
  assert_weft(weft_chan_recv_timed(NULL, &x, 0), WEFT_EINVAL);
  assert_weft(weft_chan_close(NULL), WEFT_EINVAL);
  c = make_chan(true, sizeof x, 2);
  assert_weft(weft_chan_send(c, NULL), WEFT_EINVAL);
  assert_weft(weft_chan_recv(c, NULL), WEFT_EINVAL);
  assert_weft(weft_chan_try_send(c, NULL), WEFT_EINVAL);
  assert_weft(weft_chan_try_recv(c, NULL), WEFT_EINVAL);
  weft_chan_destroy(c);
  weft_chan_destroy(NULL);
  assert_false(weft_chan_is_closed(NULL));
  assert_int_equal(weft_chan_len(NULL), 0);
  assert_int_equal(weft_chan_capacity(NULL), 0);
  assert_int_equal(weft_chan_item_size(NULL), 0);
}

/* ---- single-thread behaviour ---- */

static void check_fifo_wraps(size_t cap) {
  weft_chan *c = make_chan(true, sizeof(int), cap);
  assert_int_equal(weft_chan_capacity(c), cap);
  assert_int_equal(weft_chan_item_size(c), sizeof(int));
  int next_in = 0, next_out = 0;
  for (int round = 0; round < 20; round++) { /* many laps around the ring */
    size_t k = (size_t)round % cap + 1;
    for (size_t i = 0; i < k; i++, next_in++) assert_ok(weft_chan_try_send(c, &next_in));
    assert_int_equal(weft_chan_len(c), k);
    for (size_t i = 0; i < k; i++) {
      int v = -1;
      assert_ok(weft_chan_try_recv(c, &v));
      assert_int_equal(v, next_out++);
    }
  }
  for (size_t i = 0; i < cap; i++) assert_ok(weft_chan_try_send(c, &next_in));
  assert_int_equal(weft_chan_len(c), cap);
  assert_weft(weft_chan_try_send(c, &next_in), WEFT_EAGAIN);
  weft_chan_destroy(c); /* items still inside are dropped */
}

static void test_bounded_fifo(void **state) {
  (void)state;
  size_t caps[] = {1, 2, 3, 5, 8, 13};
  for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) check_fifo_wraps(caps[i]);
}

static void test_empty_full_timeouts(void **state) {
  (void)state;
  weft_chan *c = make_chan(true, sizeof(int), 1);
  int v = 7;
  assert_weft(weft_chan_try_recv(c, &v), WEFT_EAGAIN);
  assert_weft(weft_chan_recv_timed(c, &v, 0), WEFT_ETIMEDOUT);
  assert_weft(weft_chan_recv_timed(c, &v, SHORT_NS), WEFT_ETIMEDOUT);
  assert_ok(weft_chan_send_timed(c, &v, SHORT_NS));
  assert_weft(weft_chan_send_timed(c, &v, 0), WEFT_ETIMEDOUT);
  assert_weft(weft_chan_send_timed(c, &v, SHORT_NS), WEFT_ETIMEDOUT);
  int out = 0;
  assert_ok(weft_chan_recv_timed(c, &out, SHORT_NS));
  assert_int_equal(out, 7);
  assert_int_equal(weft_chan_len(c), 0);
  weft_chan_destroy(c);
}

struct big_item {
  char text[100];
  uint64_t id;
};

static void test_large_items(void **state) {
  (void)state;
  for (int bounded = 0; bounded < 2; bounded++) {
    weft_chan *c = make_chan(bounded, sizeof(struct big_item), 3);
    for (uint64_t i = 0; i < 3; i++) {
      struct big_item it = {.id = i};
      snprintf(it.text, sizeof it.text, "item %llu", (unsigned long long)i);
      assert_ok(weft_chan_send(c, &it));
    }
    for (uint64_t i = 0; i < 3; i++) {
      struct big_item it;
      char expect[100];
      assert_ok(weft_chan_recv(c, &it));
      snprintf(expect, sizeof expect, "item %llu", (unsigned long long)i);
      assert_int_equal(it.id, i);
      assert_string_equal(it.text, expect);
    }
    weft_chan_destroy(c);
  }
}

static void test_unbounded_grows(void **state) {
  (void)state;
  weft_chan *c = make_chan(false, sizeof(uint32_t), 0);
  assert_int_equal(weft_chan_capacity(c), SIZE_MAX);
  uint32_t n = 20000; /* many blocks */
  for (int round = 0; round < 2; round++) { /* second round reuses blocks */
    for (uint32_t i = 0; i < n; i++) assert_ok(weft_chan_send(c, &i));
    assert_int_equal(weft_chan_len(c), n);
    for (uint32_t i = 0; i < n; i++) {
      uint32_t v;
      assert_ok(weft_chan_try_recv(c, &v));
      assert_int_equal(v, i);
    }
    uint32_t v;
    assert_weft(weft_chan_try_recv(c, &v), WEFT_EAGAIN);
    assert_weft(weft_chan_recv_timed(c, &v, 0), WEFT_ETIMEDOUT);
  }
  for (uint32_t i = 0; i < 100; i++) assert_ok(weft_chan_send(c, &i));
  weft_chan_destroy(c); /* leftovers dropped; ASan checks the blocks */
}

static void check_close_drain(bool bounded) {
  weft_chan *c = make_chan(bounded, sizeof(int), 4);
  for (int i = 0; i < 3; i++) assert_ok(weft_chan_send(c, &i));
  assert_false(weft_chan_is_closed(c));
  assert_ok(weft_chan_close(c));
  assert_true(weft_chan_is_closed(c));
  assert_weft(weft_chan_close(c), WEFT_ECLOSED);
  int v = 9;
  assert_weft(weft_chan_send(c, &v), WEFT_ECLOSED);
  assert_weft(weft_chan_try_send(c, &v), WEFT_ECLOSED);
  assert_weft(weft_chan_send_timed(c, &v, SHORT_NS), WEFT_ECLOSED);
  for (int i = 0; i < 3; i++) {
    assert_ok(weft_chan_recv(c, &v));
    assert_int_equal(v, i);
  }
  assert_weft(weft_chan_recv(c, &v), WEFT_ECLOSED);
  assert_weft(weft_chan_try_recv(c, &v), WEFT_ECLOSED);
  assert_weft(weft_chan_recv_timed(c, &v, SHORT_NS), WEFT_ECLOSED);
  weft_chan_destroy(c);
}

static void test_close_drain(void **state) {
  (void)state;
  check_close_drain(true);
  check_close_drain(false);
}

/* ---- close wakes blocked threads ---- */

struct blocked_arg {
  weft_chan *c;
  bool send;
  int rc;
};

static void *blocked_op(void *p) {
  struct blocked_arg *a = p;
  int v = 1;
  a->rc = a->send ? weft_chan_send(a->c, &v) : weft_chan_recv(a->c, &v);
  return NULL;
}

static void check_close_wakes(bool bounded, bool senders) {
  enum { N = 3 };
  weft_chan *c = make_chan(bounded, sizeof(int), 2);
  int v = 5;
  if (senders)
    while (weft_chan_try_send(c, &v) == 0) { /* fill it */
    }
  pthread_t t[N];
  struct blocked_arg a[N];
  for (int i = 0; i < N; i++) {
    a[i] = (struct blocked_arg){.c = c, .send = senders, .rc = 1};
    pthread_create(&t[i], NULL, blocked_op, &a[i]);
  }
  await_sleepers(senders ? &c->not_full : &c->not_empty, N);
  assert_ok(weft_chan_close(c));
  for (int i = 0; i < N; i++) {
    pthread_join(t[i], NULL);
    assert_weft(a[i].rc, WEFT_ECLOSED);
  }
  if (senders) { /* what was inside before close still drains */
    assert_ok(weft_chan_recv(c, &v));
    assert_ok(weft_chan_recv(c, &v));
  }
  assert_weft(weft_chan_recv(c, &v), WEFT_ECLOSED);
  weft_chan_destroy(c);
}

static void test_close_wakes_blocked(void **state) {
  (void)state;
  check_close_wakes(true, false);
  check_close_wakes(true, true);
  check_close_wakes(false, false);
}

/* A receiver parked on an empty channel gets the item sent later. */
static void test_blocked_handoff(void **state) {
  (void)state;
  for (int bounded = 0; bounded < 2; bounded++) {
    weft_chan *c = make_chan(bounded, sizeof(int), 1);
    pthread_t t;
    struct blocked_arg a = {.c = c, .send = false, .rc = 1};
    pthread_create(&t, NULL, blocked_op, &a);
    await_sleepers(&c->not_empty, 1);
    int v = 1;
    assert_ok(weft_chan_send(c, &v));
    pthread_join(t, NULL);
    assert_ok(a.rc);
    weft_chan_destroy(c);
  }
}

/* ---- select ---- */

static void test_select_args_and_poll(void **state) {
  (void)state;
  weft_chan *a = make_chan(true, sizeof(int), 1);
  int v = 0;
  size_t fired = 99;
  weft_select_case cs[2] = {{a, WEFT_SELECT_RECV, &v, 0}, {a, WEFT_SELECT_RECV, &v, 0}};
  assert_weft(weft_select(NULL, 1, 0, &fired), WEFT_EINVAL);
  assert_weft(weft_select(cs, 0, 0, &fired), WEFT_EINVAL);
  assert_weft(weft_select(cs, 1, 0, NULL), WEFT_EINVAL);
  cs[1].op = 7;
  assert_weft(weft_select(cs, 2, 0, &fired), WEFT_EINVAL);
  cs[1].op = WEFT_SELECT_SEND;
  cs[1].chan = NULL;
  assert_weft(weft_select(cs, 2, 0, &fired), WEFT_EINVAL);
  cs[1].chan = a;
  cs[1].item = NULL;
  assert_weft(weft_select(cs, 2, 0, &fired), WEFT_EINVAL);
  cs[1].item = &v;

  assert_weft(weft_select(cs, 1, 0, &fired), WEFT_EAGAIN);
  assert_weft(weft_select(cs, 1, SHORT_NS, &fired), WEFT_ETIMEDOUT);
  int item = 42;
  cs[1].item = &item;
  assert_ok(weft_select(cs, 2, 0, &fired)); /* only the send is ready */
  assert_int_equal(fired, 1);
  assert_ok(cs[1].result);
  assert_ok(weft_select(cs, 2, WEFT_FOREVER, &fired)); /* full: only the recv */
  assert_int_equal(fired, 0);
  assert_int_equal(v, 42);
  weft_chan_destroy(a);
}

static void test_select_fairness(void **state) {
  (void)state;
  enum { ROUNDS = 1000 };
  weft_chan *a = make_chan(false, sizeof(int), 0);
  weft_chan *b = make_chan(false, sizeof(int), 0);
  for (int i = 0; i < ROUNDS; i++) {
    assert_ok(weft_chan_send(a, &i));
    assert_ok(weft_chan_send(b, &i));
  }
  int va, vb;
  weft_select_case cs[2] = {{a, WEFT_SELECT_RECV, &va, 0}, {b, WEFT_SELECT_RECV, &vb, 0}};
  size_t picks[2] = {0, 0};
  for (int i = 0; i < ROUNDS; i++) {
    size_t fired;
    assert_ok(weft_select(cs, 2, WEFT_FOREVER, &fired));
    picks[fired]++;
  }
  /* Random choice: each is picked ~500 times; below 200 is ~1e-80 likely. */
  assert_true(picks[0] > 200 && picks[1] > 200);
  weft_chan_destroy(a);
  weft_chan_destroy(b);
}

static void test_select_closed(void **state) {
  (void)state;
  weft_chan *a = make_chan(true, sizeof(int), 1);
  weft_chan *b = make_chan(false, sizeof(int), 0);
  int v = 3;
  assert_ok(weft_chan_send(a, &v));
  assert_ok(weft_chan_close(a));
  weft_select_case cs[2] = {{a, WEFT_SELECT_RECV, &v, -1}, {b, WEFT_SELECT_RECV, &v, -1}};
  size_t fired;
  assert_ok(weft_select(cs, 2, 0, &fired)); /* drains first */
  assert_int_equal(fired, 0);
  assert_ok(cs[0].result);
  assert_ok(weft_select(cs, 2, 0, &fired)); /* then reports closed */
  assert_int_equal(fired, 0);
  assert_weft(cs[0].result, WEFT_ECLOSED);
  weft_select_case send_case = {a, WEFT_SELECT_SEND, &v, 0};
  assert_ok(weft_select(&send_case, 1, 0, &fired));
  assert_weft(send_case.result, WEFT_ECLOSED);
  weft_chan_destroy(a);
  weft_chan_destroy(b);
}

struct select_arg {
  weft_select_case cs[3];
  size_t fired;
  int rc;
};

static void *select_thread(void *p) {
  struct select_arg *s = p;
  s->rc = weft_select(s->cs, 3, WEFT_FOREVER, &s->fired);
  return NULL;
}

/* A parked select is woken by a send on one of its channels, a freed slot
 * on another, and by close. */
static void test_select_wakes(void **state) {
  (void)state;
  weft_chan *a = make_chan(true, sizeof(int), 1);
  weft_chan *full = make_chan(true, sizeof(int), 1);
  weft_chan *b = make_chan(false, sizeof(int), 0);
  int va = 0, vb = 0, vf = 8, out;
  assert_ok(weft_chan_send(full, &vf));
  for (int scenario = 0; scenario < 3; scenario++) {
    struct select_arg s = {.cs = {{a, WEFT_SELECT_RECV, &va, -1},
                                  {b, WEFT_SELECT_RECV, &vb, -1},
                                  {full, WEFT_SELECT_SEND, &vf, -1}},
                           .rc = 1};
    pthread_t t;
    pthread_create(&t, NULL, select_thread, &s);
    await_listeners(&b->not_empty, 1);
    int x = 77;
    if (scenario == 0) assert_ok(weft_chan_send(b, &x));
    if (scenario == 1) assert_ok(weft_chan_recv(full, &out)); /* frees a slot */
    if (scenario == 2) assert_ok(weft_chan_close(a));
    pthread_join(t, NULL);
    assert_ok(s.rc);
    if (scenario == 0) {
      assert_int_equal(s.fired, 1);
      assert_int_equal(vb, 77);
    } else if (scenario == 1) {
      assert_int_equal(s.fired, 2); /* and `full` is full again */
      assert_int_equal(weft_chan_len(full), 1);
    } else {
      assert_int_equal(s.fired, 0);
      assert_weft(s.cs[0].result, WEFT_ECLOSED);
    }
    assert_int_equal(__atomic_load_n(&b->not_empty.listeners, __ATOMIC_RELAXED), 0);
  }
  weft_chan_destroy(a);
  weft_chan_destroy(b);
  weft_chan_destroy(full);
}

/* ---- stress: 4 producers x 4 consumers, every item exactly once ---- */

enum { PRODUCERS = 4, CONSUMERS = 4 };

struct stress {
  weft_chan *c[2];     /* c[1] used only by the select variant */
  size_t per_producer;
  size_t n_items;
  unsigned char *seen; /* one byte per item id */
  uint64_t sum;
  uint32_t duplicates, out_of_range, errors;
  int mode;            /* 0 blocking, 1 timed/try mix, 2 select */
  uint32_t next_id;
};

static int stress_send(struct stress *s, uint64_t id, size_t i) {
  if (s->mode == 2) {
    weft_select_case cs[2] = {{s->c[0], WEFT_SELECT_SEND, &id, 0},
                              {s->c[1], WEFT_SELECT_SEND, &id, 0}};
    size_t fired;
    int rc = weft_select(cs, 2, WEFT_FOREVER, &fired);
    return rc ? rc : cs[fired].result;
  }
  if (s->mode == 1 && i % 3 == 0) {
    int rc;
    while ((rc = weft_chan_try_send(s->c[0], &id)) == WEFT_EAGAIN) sched_yield();
    return rc;
  }
  if (s->mode == 1) {
    int rc;
    while ((rc = weft_chan_send_timed(s->c[0], &id, 100000)) == WEFT_ETIMEDOUT) {
    }
    return rc;
  }
  return weft_chan_send(s->c[0], &id);
}

static void *producer(void *p) {
  struct stress *s = p;
  uint32_t first = __atomic_fetch_add(&s->next_id, (uint32_t)s->per_producer, __ATOMIC_RELAXED);
  for (size_t i = 0; i < s->per_producer; i++) {
    if (stress_send(s, first + i, i) != 0) __atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
  }
  return NULL;
}

/* Returns 0 with an item, WEFT_ECLOSED when (all) drained. */
static int stress_recv(struct stress *s, uint64_t *id, size_t i) {
  if (s->mode == 2) {
    for (;;) {
      weft_select_case cs[2] = {{s->c[0], WEFT_SELECT_RECV, id, 0},
                                {s->c[1], WEFT_SELECT_RECV, id, 0}};
      size_t open = 0, fired;
      for (int k = 0; k < 2; k++)
        if (!weft_chan_is_closed(s->c[k]) || weft_chan_len(s->c[k])) cs[open++] = cs[k];
      if (open == 0) return WEFT_ECLOSED;
      int rc = weft_select(cs, open, WEFT_FOREVER, &fired);
      if (rc) return rc;
      if (cs[fired].result == 0) return 0;
    }
  }
  if (s->mode == 1 && i % 2 == 0) {
    int rc;
    while ((rc = weft_chan_recv_timed(s->c[0], id, 50000)) == WEFT_ETIMEDOUT) {
    }
    return rc;
  }
  return weft_chan_recv(s->c[0], id);
}

static void *consumer(void *p) {
  struct stress *s = p;
  uint64_t local_sum = 0, id;
  for (size_t i = 0;; i++) {
    int rc = stress_recv(s, &id, i);
    if (rc == WEFT_ECLOSED) break;
    if (rc != 0) {
      __atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
      break;
    }
    if (id >= s->n_items) {
      __atomic_fetch_add(&s->out_of_range, 1, __ATOMIC_RELAXED);
      continue;
    }
    if (__atomic_exchange_n(&s->seen[id], 1, __ATOMIC_RELAXED))
      __atomic_fetch_add(&s->duplicates, 1, __ATOMIC_RELAXED);
    local_sum += id;
  }
  __atomic_fetch_add(&s->sum, local_sum, __ATOMIC_RELAXED);
  return NULL;
}

static void run_stress(bool bounded, int mode) {
  struct stress s = {.mode = mode};
  s.per_producer = scaled(mode == 0 ? 200000 : 50000, 500);
  s.n_items = s.per_producer * PRODUCERS;
  s.seen = calloc(s.n_items, 1);
  assert_non_null(s.seen);
  s.c[0] = make_chan(bounded, sizeof(uint64_t), 8);
  s.c[1] = make_chan(bounded, sizeof(uint64_t), 8);
  pthread_t p[PRODUCERS], q[CONSUMERS];
  for (int i = 0; i < CONSUMERS; i++) pthread_create(&q[i], NULL, consumer, &s);
  for (int i = 0; i < PRODUCERS; i++) pthread_create(&p[i], NULL, producer, &s);
  for (int i = 0; i < PRODUCERS; i++) pthread_join(p[i], NULL);
  assert_ok(weft_chan_close(s.c[0]));
  assert_ok(weft_chan_close(s.c[1]));
  for (int i = 0; i < CONSUMERS; i++) pthread_join(q[i], NULL);

  assert_int_equal(s.errors, 0);
  assert_int_equal(s.duplicates, 0);
  assert_int_equal(s.out_of_range, 0);
  size_t missing = 0;
  for (size_t i = 0; i < s.n_items; i++) missing += !s.seen[i];
  assert_int_equal(missing, 0);
  assert_int_equal(s.sum, (uint64_t)s.n_items * (s.n_items - 1) / 2);
  assert_int_equal(weft_chan_len(s.c[0]) + weft_chan_len(s.c[1]), 0);
  weft_chan_destroy(s.c[0]);
  weft_chan_destroy(s.c[1]);
  free(s.seen);
}

static void test_stress_bounded(void **state) {
  (void)state;
  run_stress(true, 0);
}

static void test_stress_unbounded(void **state) {
  (void)state;
  run_stress(false, 0);
}

static void test_stress_timed_try(void **state) {
  (void)state;
  run_stress(true, 1);
  run_stress(false, 1);
}

static void test_stress_select(void **state) {
  (void)state;
  run_stress(true, 2);
  run_stress(false, 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_args),
      cmocka_unit_test(test_bounded_fifo),
      cmocka_unit_test(test_empty_full_timeouts),
      cmocka_unit_test(test_large_items),
      cmocka_unit_test(test_unbounded_grows),
      cmocka_unit_test(test_close_drain),
      cmocka_unit_test(test_close_wakes_blocked),
      cmocka_unit_test(test_blocked_handoff),
      cmocka_unit_test(test_select_args_and_poll),
      cmocka_unit_test(test_select_fairness),
      cmocka_unit_test(test_select_closed),
      cmocka_unit_test(test_select_wakes),
      cmocka_unit_test(test_stress_bounded),
      cmocka_unit_test(test_stress_unbounded),
      cmocka_unit_test(test_stress_timed_try),
      cmocka_unit_test(test_stress_select),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
