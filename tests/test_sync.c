/* tests/test_sync.c — unit and stress tests for weft/sync.h.
 *
 * Stress tests check invariants (exact sums, at most N holders, one serial
 * thread per barrier generation), never speed. Threads are synchronised with
 * weft's own primitives; the only waits on the clock are the timeouts under
 * test, checked with loose lower bounds. */
#include <stdio.h>
#include <string.h>
#include "testutil.h"
#include "weft/sync.h"
#include "weft/thread.h"

#define MS 1000000ull
#define LONG_TIMEOUT (60000 * MS) /* "should never expire" */
#define NTHREADS 8

static int run_threads(int n, weft_thread_fn fn, void *arg) {
  weft_thread *t[NTHREADS * 2];
  int failures = 0;
  for (int i = 0; i < n; i++)
    if (weft_thread_create(&t[i], "sync-test", fn, arg) != 0) return -1;
  for (int i = 0; i < n; i++) {
    int result = 0;
    if (weft_thread_join(t[i], &result) != 0 || result != 0) failures++;
  }
  return failures;
}

static uint64_t elapsed_since(uint64_t start) {
  return weft_now_ns() - start;
}

/* Runs fn(arg) on a helper thread and returns its result. */
static int on_other_thread(weft_thread_fn fn, void *arg) {
  weft_thread *t;
  int result = -12345;
  if (weft_thread_create(&t, "helper", fn, arg) != 0) return -1;
  weft_thread_join(t, &result);
  return result;
}

/* ======================= mutex ======================= */

static int try_lock_returns(void *arg) {
  return weft_mutex_trylock(arg);
}

struct timed_lock {
  weft_mutex *m;
  uint64_t took;
};

static int lock_timed_20ms(void *arg) {
  struct timed_lock *tl = arg;
  uint64_t start = weft_now_ns();
  int rc = weft_mutex_lock_timed(tl->m, 20 * MS);
  tl->took = elapsed_since(start);
  if (rc == 0) weft_mutex_unlock(tl->m);
  return rc;
}

static void mutex_lock_trylock_timed(void **state) {
  (void)state;
  weft_mutex m = WEFT_MUTEX_INIT, n;
  weft_mutex_init(&n);
  assert_ok(weft_mutex_trylock(&m));
  assert_weft(weft_mutex_trylock(&m), WEFT_EBUSY); /* not recursive */
  assert_weft(on_other_thread(try_lock_returns, &m), WEFT_EBUSY);
  struct timed_lock tl = {&m, 0};
  assert_weft(on_other_thread(lock_timed_20ms, &tl), WEFT_ETIMEDOUT);
  assert_true(tl.took >= 20 * MS);
  assert_weft(weft_mutex_lock_timed(&m, 0), WEFT_ETIMEDOUT);
  weft_mutex_unlock(&m);
  /* After a timed-out waiter left the lock "contended", it still works. */
  assert_ok(on_other_thread(lock_timed_20ms, &tl));
  assert_ok(weft_mutex_lock_timed(&m, 0));
  weft_mutex_unlock(&m);
  weft_mutex_lock(&n);
  weft_mutex_unlock(&n);
  weft_mutex_destroy(&m);
  weft_mutex_destroy(&n);
  /* NULL is refused, not dereferenced. */
  assert_weft(weft_mutex_trylock(NULL), WEFT_EINVAL);
  assert_weft(weft_mutex_lock_timed(NULL, 1), WEFT_EINVAL);
  weft_mutex_lock(NULL);
  weft_mutex_unlock(NULL);
  weft_mutex_init(NULL);
}

struct counter {
  weft_mutex m;
  uint64_t value; /* plain: the mutex is what protects it */
  size_t iterations;
};

static int increment_under_lock(void *arg) {
  struct counter *c = arg;
  for (size_t i = 0; i < c->iterations; i++) {
    switch (i % 4) {
    case 0:
      while (weft_mutex_trylock(&c->m) != 0) weft_thread_yield();
      break;
    case 1:
      if (weft_mutex_lock_timed(&c->m, LONG_TIMEOUT) != 0) return 1;
      break;
    default:
      weft_mutex_lock(&c->m);
    }
    c->value++;
    weft_mutex_unlock(&c->m);
  }
  return 0;
}

static void mutex_stress_exact_sum(void **state) {
  (void)state;
  struct counter c = {WEFT_MUTEX_INIT, 0, scaled(40000, 2000)};
  assert_int_equal(run_threads(NTHREADS, increment_under_lock, &c), 0);
  assert_int_equal(c.value, (uint64_t)NTHREADS * c.iterations);
}

/* ======================= cond ======================= */

static void cond_timed_wait_times_out_holding_the_mutex(void **state) {
  (void)state;
  weft_mutex m = WEFT_MUTEX_INIT;
  weft_cond c = WEFT_COND_INIT, d;
  weft_cond_init(&d);
  weft_cond_signal(&c); /* nobody waits: no effect */
  weft_cond_broadcast(&c);
  weft_mutex_lock(&m);
  uint64_t start = weft_now_ns();
  assert_weft(weft_cond_wait_timed(&c, &m, 20 * MS), WEFT_ETIMEDOUT);
  assert_true(elapsed_since(start) >= 20 * MS);
  assert_weft(on_other_thread(try_lock_returns, &m), WEFT_EBUSY);
  assert_weft(weft_cond_wait_timed(&d, &m, 0), WEFT_ETIMEDOUT);
  weft_mutex_unlock(&m);
  assert_weft(weft_cond_wait_timed(NULL, &m, 1), WEFT_EINVAL);
  assert_weft(weft_cond_wait_timed(&c, NULL, 1), WEFT_EINVAL);
  weft_cond_wait(NULL, &m);
  weft_cond_signal(NULL);
  weft_cond_broadcast(NULL);
  weft_cond_destroy(&c);
  weft_cond_destroy(&d);
}

/* A bounded buffer: 2 producers, 2 consumers, checked sums. */
#define RING 8
struct buffer {
  weft_mutex m;
  weft_cond not_full, not_empty;
  uint64_t items[RING];
  size_t head, count;
  size_t per_producer, consumed, total;
  uint64_t sum;
};

static int produce(void *arg) {
  struct buffer *b = arg;
  for (uint64_t v = 1; v <= b->per_producer; v++) {
    weft_mutex_lock(&b->m);
    while (b->count == RING) weft_cond_wait(&b->not_full, &b->m);
    b->items[(b->head + b->count++) % RING] = v;
    weft_cond_signal(&b->not_empty);
    weft_mutex_unlock(&b->m);
  }
  return 0;
}

static int consume(void *arg) {
  struct buffer *b = arg;
  weft_mutex_lock(&b->m);
  for (;;) {
    while (b->count == 0 && b->consumed < b->total) {
      if (weft_cond_wait_timed(&b->not_empty, &b->m, LONG_TIMEOUT) != 0) {
        weft_mutex_unlock(&b->m);
        return 1;
      }
    }
    if (b->consumed == b->total) break;
    b->sum += b->items[b->head];
    b->head = (b->head + 1) % RING;
    b->count--;
    if (++b->consumed == b->total) weft_cond_broadcast(&b->not_empty);
    weft_cond_signal(&b->not_full);
  }
  weft_mutex_unlock(&b->m);
  return 0;
}

static int produce_or_consume(void *arg) {
  static int next; /* even threads produce, odd ones consume */
  return __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED) % 2 ? consume(arg) : produce(arg);
}

static void cond_producer_consumer_sums(void **state) {
  (void)state;
  struct buffer b;
  memset(&b, 0, sizeof b);
  b.per_producer = scaled(20000, 1000);
  b.total = 2 * b.per_producer;
  assert_int_equal(run_threads(4, produce_or_consume, &b), 0);
  assert_int_equal(b.consumed, b.total);
  assert_int_equal(b.count, 0);
  assert_int_equal(b.sum, 2 * (b.per_producer * (b.per_producer + 1) / 2));
}

struct gathering {
  weft_mutex m;
  weft_cond arrived, go;
  int waiting, released;
  bool open;
};

static int wait_for_broadcast(void *arg) {
  struct gathering *g = arg;
  weft_mutex_lock(&g->m);
  g->waiting++;
  weft_cond_signal(&g->arrived);
  while (!g->open) weft_cond_wait(&g->go, &g->m);
  g->released++;
  weft_mutex_unlock(&g->m);
  return 0;
}

static int open_when_all_wait(void *arg) {
  struct gathering *g = arg;
  weft_mutex_lock(&g->m);
  while (g->waiting < NTHREADS - 1) weft_cond_wait(&g->arrived, &g->m);
  g->open = true;
  weft_cond_broadcast(&g->go);
  weft_mutex_unlock(&g->m);
  return 0;
}

static int gather_role(void *arg) {
  static int next;
  int me = __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED);
  return me % NTHREADS == 0 ? open_when_all_wait(arg) : wait_for_broadcast(arg);
}

static void cond_broadcast_wakes_everyone(void **state) {
  (void)state;
  for (size_t round = 0; round < scaled(50, 5); round++) {
    struct gathering g = {WEFT_MUTEX_INIT, WEFT_COND_INIT, WEFT_COND_INIT, 0, 0, false};
    assert_int_equal(run_threads(NTHREADS, gather_role, &g), 0);
    assert_int_equal(g.released, NTHREADS - 1);
  }
}

/* ======================= semaphore ======================= */

static void sem_counts_and_times_out(void **state) {
  (void)state;
  weft_sem s = WEFT_SEM_INIT(2), t;
  assert_int_equal(weft_sem_value(&s), 2);
  assert_ok(weft_sem_trywait(&s));
  weft_sem_wait(&s);
  assert_weft(weft_sem_trywait(&s), WEFT_EAGAIN);
  uint64_t start = weft_now_ns();
  assert_weft(weft_sem_wait_timed(&s, 20 * MS), WEFT_ETIMEDOUT);
  assert_true(elapsed_since(start) >= 20 * MS);
  assert_weft(weft_sem_wait_timed(&s, 0), WEFT_ETIMEDOUT);
  assert_ok(weft_sem_post(&s));
  assert_int_equal(weft_sem_value(&s), 1);
  assert_ok(weft_sem_wait_timed(&s, 0));
  assert_weft(weft_sem_init(&t, (unsigned)INT32_MAX + 1), WEFT_EINVAL);
  assert_ok(weft_sem_init(&t, INT32_MAX));
  assert_weft(weft_sem_post(&t), WEFT_ERANGE);
  assert_int_equal(weft_sem_value(&t), INT32_MAX);
  weft_sem_destroy(&s);
  weft_sem_destroy(&t);
  assert_weft(weft_sem_init(NULL, 1), WEFT_EINVAL);
  assert_weft(weft_sem_trywait(NULL), WEFT_EINVAL);
  assert_weft(weft_sem_wait_timed(NULL, 1), WEFT_EINVAL);
  assert_weft(weft_sem_post(NULL), WEFT_EINVAL);
  assert_int_equal(weft_sem_value(NULL), 0);
  weft_sem_wait(NULL);
}

#define SEM_LIMIT 3
struct admission {
  weft_sem s;
  uint32_t holders, max_holders; /* atomic */
  uint64_t entries;              /* atomic */
  size_t iterations;
};

static void note_max(uint32_t *max, uint32_t v) {
  uint32_t m = __atomic_load_n(max, __ATOMIC_RELAXED);
  while (v > m && !__atomic_compare_exchange_n(max, &m, v, true, __ATOMIC_RELAXED,
                                               __ATOMIC_RELAXED)) {
  }
}

static int enter_limited_room(void *arg) {
  struct admission *a = arg;
  for (size_t i = 0; i < a->iterations; i++) {
    if (i % 3 == 0) {
      if (weft_sem_wait_timed(&a->s, LONG_TIMEOUT) != 0) return 1;
    } else if (i % 3 == 1) {
      while (weft_sem_trywait(&a->s) != 0) weft_thread_yield();
    } else {
      weft_sem_wait(&a->s);
    }
    note_max(&a->max_holders, __atomic_add_fetch(&a->holders, 1, __ATOMIC_RELAXED));
    __atomic_fetch_add(&a->entries, 1, __ATOMIC_RELAXED);
    if (i % 16 == 0) weft_thread_yield(); /* let others pile up at the door */
    __atomic_fetch_sub(&a->holders, 1, __ATOMIC_RELAXED);
    if (weft_sem_post(&a->s) != 0) return 1;
  }
  return 0;
}

static void sem_never_over_admits(void **state) {
  (void)state;
  struct admission a = {WEFT_SEM_INIT(SEM_LIMIT), 0, 0, 0, scaled(20000, 1000)};
  assert_int_equal(run_threads(NTHREADS, enter_limited_room, &a), 0);
  assert_true(a.max_holders >= 1 && a.max_holders <= SEM_LIMIT);
  assert_int_equal(a.entries, NTHREADS * a.iterations);
  assert_int_equal(weft_sem_value(&a.s), SEM_LIMIT);
}

struct ping_pong {
  weft_sem ping, pong;
  size_t rounds;
  uint64_t ball; /* plain: handed over by the semaphores */
};

static int ping_side(void *arg) {
  struct ping_pong *p = arg;
  for (size_t i = 0; i < p->rounds; i++) {
    p->ball++;
    weft_sem_post(&p->ping);
    weft_sem_wait(&p->pong);
  }
  return 0;
}

static int pong_side(void *arg) {
  struct ping_pong *p = arg;
  for (size_t i = 0; i < p->rounds; i++) {
    weft_sem_wait(&p->ping);
    p->ball++;
    weft_sem_post(&p->pong);
  }
  return 0;
}

static int ping_or_pong(void *arg) {
  static int next;
  return __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED) % 2 ? pong_side(arg) : ping_side(arg);
}

static void sem_ping_pong_loses_no_wakeup(void **state) {
  (void)state;
  struct ping_pong p = {WEFT_SEM_INIT(0), WEFT_SEM_INIT(0), scaled(20000, 1000), 0};
  assert_int_equal(run_threads(2, ping_or_pong, &p), 0);
  assert_int_equal(p.ball, 2 * p.rounds);
}

/* ======================= barrier ======================= */

static void barrier_basics(void **state) {
  (void)state;
  weft_barrier b;
  assert_weft(weft_barrier_init(&b, 0), WEFT_EINVAL);
  assert_weft(weft_barrier_init(NULL, 2), WEFT_EINVAL);
  assert_ok(weft_barrier_init(&b, 1));
  for (int i = 0; i < 5; i++) assert_int_equal(weft_barrier_wait(&b), WEFT_BARRIER_SERIAL);
  assert_int_equal(weft_barrier_wait_timed(&b, 0), WEFT_BARRIER_SERIAL);
  weft_barrier_reset(&b);
  assert_int_equal(weft_barrier_wait(&b), WEFT_BARRIER_SERIAL);
  weft_barrier_destroy(&b);
  assert_weft(weft_barrier_wait(NULL), WEFT_EINVAL);
  assert_weft(weft_barrier_wait_timed(NULL, 1), WEFT_EINVAL);
  weft_barrier_reset(NULL);
}

#define BARRIER_PARTIES 4
struct generations {
  weft_barrier b;
  size_t count;
  uint32_t *arrivals; /* per generation, atomic */
  uint32_t *serials;  /* per generation, atomic */
};

static int cross_generations(void *arg) {
  struct generations *g = arg;
  for (size_t gen = 0; gen < g->count; gen++) {
    __atomic_fetch_add(&g->arrivals[gen], 1, __ATOMIC_RELAXED);
    int rc = gen % 2 ? weft_barrier_wait(&g->b) : weft_barrier_wait_timed(&g->b, LONG_TIMEOUT);
    if (rc == WEFT_BARRIER_SERIAL) __atomic_fetch_add(&g->serials[gen], 1, __ATOMIC_RELAXED);
    else if (rc != 0) return 1;
    /* Nobody passes before everyone of this generation arrived. */
    if (__atomic_load_n(&g->arrivals[gen], __ATOMIC_RELAXED) != BARRIER_PARTIES) return 2;
  }
  return 0;
}

static void barrier_many_generations(void **state) {
  (void)state;
  struct generations g;
  g.count = scaled(3000, 200);
  g.arrivals = calloc(g.count, sizeof *g.arrivals);
  g.serials = calloc(g.count, sizeof *g.serials);
  assert_ok(weft_barrier_init(&g.b, BARRIER_PARTIES));
  assert_int_equal(run_threads(BARRIER_PARTIES, cross_generations, &g), 0);
  for (size_t i = 0; i < g.count; i++) {
    assert_int_equal(g.arrivals[i], BARRIER_PARTIES);
    assert_int_equal(g.serials[i], 1);
  }
  free(g.arrivals);
  free(g.serials);
}

/* Reads the barrier's private waiter count under its lock: tests may look
 * inside to know that threads are really waiting before breaking them. */
static uint32_t barrier_waiting(weft_barrier *b) {
  weft_mutex_lock(&b->lock);
  uint32_t n = b->count;
  weft_mutex_unlock(&b->lock);
  return n;
}

static void wait_until_waiting(weft_barrier *b, uint32_t n) {
  while (barrier_waiting(b) < n) weft_thread_yield();
}

static int expect_broken(void *arg) {
  return weft_barrier_wait(arg) == WEFT_EBROKEN ? 0 : 1;
}

static int expect_released(void *arg) {
  int rc = weft_barrier_wait_timed(arg, LONG_TIMEOUT);
  return rc == 0 || rc == WEFT_BARRIER_SERIAL ? 0 : 1;
}

static void barrier_timeout_breaks_then_reset_repairs(void **state) {
  (void)state;
  weft_barrier b;
  assert_ok(weft_barrier_init(&b, 3));
  weft_thread *t;
  assert_ok(weft_thread_create(&t, "broken", expect_broken, &b));
  wait_until_waiting(&b, 1);
  uint64_t start = weft_now_ns();
  assert_weft(weft_barrier_wait_timed(&b, 20 * MS), WEFT_ETIMEDOUT);
  assert_true(elapsed_since(start) >= 20 * MS);
  int result = -1;
  assert_ok(weft_thread_join(t, &result));
  assert_int_equal(result, 0);
  /* Broken for everyone until reset. */
  assert_weft(weft_barrier_wait(&b), WEFT_EBROKEN);
  assert_weft(weft_barrier_wait_timed(&b, LONG_TIMEOUT), WEFT_EBROKEN);
  weft_barrier_reset(&b);
  assert_int_equal(run_threads(3, expect_released, &b), 0);
  assert_int_equal(run_threads(3, expect_released, &b), 0);
}

static void barrier_reset_breaks_current_waiters(void **state) {
  (void)state;
  weft_barrier b;
  assert_ok(weft_barrier_init(&b, 3));
  weft_thread *t[2];
  for (int i = 0; i < 2; i++) assert_ok(weft_thread_create(&t[i], "reset", expect_broken, &b));
  wait_until_waiting(&b, 2);
  weft_barrier_reset(&b);
  for (int i = 0; i < 2; i++) {
    int result = -1;
    assert_ok(weft_thread_join(t[i], &result));
    assert_int_equal(result, 0);
  }
  assert_int_equal(run_threads(3, expect_released, &b), 0);
}

/* ======================= event ======================= */

static int wait_event_60s(void *arg) {
  return weft_event_wait_timed(arg, LONG_TIMEOUT);
}

static void event_set_clear_wait(void **state) {
  (void)state;
  weft_event e = WEFT_EVENT_INIT, f;
  weft_event_init(&f);
  assert_false(weft_event_is_set(&e));
  uint64_t start = weft_now_ns();
  assert_weft(weft_event_wait_timed(&e, 20 * MS), WEFT_ETIMEDOUT);
  assert_true(elapsed_since(start) >= 20 * MS);
  weft_event_set(&e);
  weft_event_set(&e); /* idempotent */
  assert_true(weft_event_is_set(&e));
  weft_event_wait(&e);
  assert_ok(weft_event_wait_timed(&e, 0));
  assert_ok(on_other_thread(wait_event_60s, &e));
  weft_event_clear(&e);
  assert_false(weft_event_is_set(&e));
  assert_weft(weft_event_wait_timed(&e, 0), WEFT_ETIMEDOUT);
  weft_event_clear(&f);
  weft_event_destroy(&e);
  weft_event_destroy(&f);
  assert_weft(weft_event_wait_timed(NULL, 1), WEFT_EINVAL);
  assert_false(weft_event_is_set(NULL));
  weft_event_set(NULL);
  weft_event_clear(NULL);
  weft_event_wait(NULL);
}

static void event_wakes_all_waiters(void **state) {
  (void)state;
  weft_event e = WEFT_EVENT_INIT;
  weft_thread *t[NTHREADS];
  for (int i = 0; i < NTHREADS; i++)
    assert_ok(weft_thread_create(&t[i], "event", wait_event_60s, &e));
  weft_event_set(&e);
  for (int i = 0; i < NTHREADS; i++) {
    int result = -1;
    assert_ok(weft_thread_join(t[i], &result));
    assert_int_equal(result, 0);
  }
}

static void event_set_then_clear_still_wakes_a_sleeper(void **state) {
  (void)state;
  weft_event e = WEFT_EVENT_INIT;
  weft_thread *t;
  assert_ok(weft_thread_create(&t, "pulse", wait_event_60s, &e));
  /* Private bit 1: the waiter has announced itself and sleeps (or is about
   * to, on the exact word it announced). */
  while (!(__atomic_load_n(&e.state, __ATOMIC_ACQUIRE) & 2u)) weft_thread_yield();
  weft_event_set(&e);
  weft_event_clear(&e);
  int result = -1;
  assert_ok(weft_thread_join(t, &result));
  assert_int_equal(result, 0); /* like Python: a set happened while it waited */
}

struct relay {
  weft_event to_b, to_a;
  size_t rounds;
  uint64_t baton; /* plain: handed over by the events */
};

static int relay_a(void *arg) {
  struct relay *r = arg;
  for (size_t i = 0; i < r->rounds; i++) {
    r->baton++;
    weft_event_set(&r->to_b);
    weft_event_wait(&r->to_a);
    weft_event_clear(&r->to_a);
  }
  return 0;
}

static int relay_b(void *arg) {
  struct relay *r = arg;
  for (size_t i = 0; i < r->rounds; i++) {
    weft_event_wait(&r->to_b);
    weft_event_clear(&r->to_b);
    r->baton++;
    weft_event_set(&r->to_a);
  }
  return 0;
}

static int relay_role(void *arg) {
  static int next;
  return __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED) % 2 ? relay_b(arg) : relay_a(arg);
}

static void event_relay_loses_no_wakeup(void **state) {
  (void)state;
  struct relay r = {WEFT_EVENT_INIT, WEFT_EVENT_INIT, scaled(20000, 1000), 0};
  assert_int_equal(run_threads(2, relay_role, &r), 0);
  assert_int_equal(r.baton, 2 * r.rounds);
}

/* ======================= once ======================= */

struct once_race {
  weft_once once;
  weft_barrier start;
  uint32_t runs;  /* atomic */
  uint64_t value; /* plain: written by fn, read after call_once */
};

static void init_value(void *arg) {
  struct once_race *r = arg;
  __atomic_fetch_add(&r->runs, 1, __ATOMIC_RELAXED);
  weft_thread_yield(); /* widen the window for the others to pile up */
  r->value = 0xfeed;
}

static int race_to_once(void *arg) {
  struct once_race *r = arg;
  weft_barrier_wait(&r->start);
  weft_call_once(&r->once, init_value, r);
  return r->value == 0xfeed ? 0 : 1;
}

static void once_runs_exactly_once(void **state) {
  (void)state;
  for (size_t round = 0; round < scaled(200, 20); round++) {
    struct once_race r;
    memset(&r, 0, sizeof r); /* also WEFT_ONCE_INIT */
    assert_ok(weft_barrier_init(&r.start, NTHREADS));
    assert_int_equal(run_threads(NTHREADS, race_to_once, &r), 0);
    assert_int_equal(r.runs, 1);
    weft_call_once(&r.once, init_value, &r);
    assert_int_equal(r.runs, 1);
  }
  weft_call_once(NULL, init_value, NULL);
  weft_once o = WEFT_ONCE_INIT;
  weft_call_once(&o, NULL, NULL);
}

/* ======================= latch ======================= */

static void latch_counts_and_times_out(void **state) {
  (void)state;
  weft_latch l = WEFT_LATCH_INIT(2), m;
  assert_false(weft_latch_try_wait(&l));
  uint64_t start = weft_now_ns();
  assert_weft(weft_latch_wait_timed(&l, 20 * MS), WEFT_ETIMEDOUT);
  assert_true(elapsed_since(start) >= 20 * MS);
  assert_ok(weft_latch_count_down(&l));
  assert_ok(weft_latch_add(&l, 1));
  assert_ok(weft_latch_count_down(&l));
  assert_ok(weft_latch_count_down(&l));
  assert_true(weft_latch_try_wait(&l));
  weft_latch_wait(&l);
  assert_ok(weft_latch_wait_timed(&l, 0));
  assert_weft(weft_latch_count_down(&l), WEFT_ERANGE);
  assert_weft(weft_latch_init(&m, (unsigned)INT32_MAX + 1), WEFT_EINVAL);
  assert_ok(weft_latch_init(&m, INT32_MAX));
  assert_weft(weft_latch_add(&m, 1), WEFT_ERANGE);
  assert_ok(weft_latch_init(&m, 0));
  assert_weft(weft_latch_add(&m, (unsigned)INT32_MAX + 1), WEFT_ERANGE);
  weft_latch_destroy(&l);
  weft_latch_destroy(&m);
  assert_weft(weft_latch_init(NULL, 1), WEFT_EINVAL);
  assert_weft(weft_latch_add(NULL, 1), WEFT_EINVAL);
  assert_weft(weft_latch_count_down(NULL), WEFT_EINVAL);
  assert_weft(weft_latch_wait_timed(NULL, 1), WEFT_EINVAL);
  weft_latch_wait(NULL);
}

struct work_group {
  weft_latch done;
  uint32_t next_worker; /* atomic */
  size_t per_worker;
  uint64_t *slots; /* plain: each written by one worker, read after the wait */
};

#define LATCH_WORKERS 6
#define LATCH_WAITERS 3

static int latch_role(void *arg) {
  struct work_group *w = arg;
  uint32_t me = __atomic_fetch_add(&w->next_worker, 1, __ATOMIC_RELAXED);
  if (me < LATCH_WORKERS) {
    for (size_t i = 0; i < w->per_worker; i++) {
      w->slots[me * w->per_worker + i] = me + 1;
      if (weft_latch_count_down(&w->done) != 0) return 1;
    }
    return 0;
  }
  if (me % 2) weft_latch_wait(&w->done);
  else if (weft_latch_wait_timed(&w->done, LONG_TIMEOUT) != 0) return 1;
  /* The latch orders every worker's writes before the wait returns. */
  for (size_t i = 0; i < LATCH_WORKERS * w->per_worker; i++)
    if (w->slots[i] != i / w->per_worker + 1) return 2;
  return 0;
}

static void latch_many_count_downs(void **state) {
  (void)state;
  struct work_group w = {WEFT_LATCH_INIT(0), 0, scaled(5000, 200), NULL};
  w.slots = calloc(LATCH_WORKERS * w.per_worker, sizeof *w.slots);
  assert_ok(weft_latch_init(&w.done, (unsigned)(LATCH_WORKERS * w.per_worker)));
  assert_int_equal(run_threads(LATCH_WORKERS + LATCH_WAITERS, latch_role, &w), 0);
  assert_true(weft_latch_try_wait(&w.done));
  free(w.slots);
}

/* ======================= rwlock ======================= */

struct rw_probe {
  weft_rwlock *l;
  uint64_t took;
};

static int probe_try_read(void *arg) {
  struct rw_probe *p = arg;
  int rc = weft_rwlock_tryrdlock(p->l);
  if (rc == 0) weft_rwlock_unlock(p->l);
  return rc;
}

static int probe_try_write(void *arg) {
  struct rw_probe *p = arg;
  int rc = weft_rwlock_trywrlock(p->l);
  if (rc == 0) weft_rwlock_unlock(p->l);
  return rc;
}

static int probe_timed_read(void *arg) {
  struct rw_probe *p = arg;
  uint64_t start = weft_now_ns();
  int rc = weft_rwlock_rdlock_timed(p->l, 20 * MS);
  p->took = elapsed_since(start);
  if (rc == 0) weft_rwlock_unlock(p->l);
  return rc;
}

static int probe_timed_write(void *arg) {
  struct rw_probe *p = arg;
  uint64_t start = weft_now_ns();
  int rc = weft_rwlock_wrlock_timed(p->l, 20 * MS);
  p->took = elapsed_since(start);
  if (rc == 0) weft_rwlock_unlock(p->l);
  return rc;
}

static void rwlock_try_and_timed(void **state) {
  (void)state;
  weft_rwlock l;
  assert_ok(weft_rwlock_init(&l));
  struct rw_probe p = {&l, 0};
  weft_rwlock_rdlock(&l); /* a reader: readers enter, writers wait */
  assert_ok(on_other_thread(probe_try_read, &p));
  assert_ok(on_other_thread(probe_timed_read, &p));
  assert_weft(on_other_thread(probe_try_write, &p), WEFT_EBUSY);
  assert_weft(on_other_thread(probe_timed_write, &p), WEFT_ETIMEDOUT);
  assert_true(p.took >= 20 * MS);
  weft_rwlock_unlock(&l);
  assert_ok(weft_rwlock_wrlock_timed(&l, 20 * MS)); /* a writer: nobody else */
  assert_weft(on_other_thread(probe_try_read, &p), WEFT_EBUSY);
  assert_weft(on_other_thread(probe_try_write, &p), WEFT_EBUSY);
  assert_weft(on_other_thread(probe_timed_read, &p), WEFT_ETIMEDOUT);
  assert_true(p.took >= 20 * MS);
  weft_rwlock_unlock(&l);
  weft_rwlock_wrlock(&l);
  weft_rwlock_unlock(&l);
  assert_ok(weft_rwlock_rdlock_timed(&l, WEFT_FOREVER));
  weft_rwlock_unlock(&l);
  assert_ok(weft_rwlock_trywrlock(&l));
  weft_rwlock_unlock(&l);
  weft_rwlock_destroy(&l);
  assert_weft(weft_rwlock_init(NULL), WEFT_EINVAL);
  assert_weft(weft_rwlock_tryrdlock(NULL), WEFT_EINVAL);
  assert_weft(weft_rwlock_trywrlock(NULL), WEFT_EINVAL);
  assert_weft(weft_rwlock_rdlock_timed(NULL, 1), WEFT_EINVAL);
  assert_weft(weft_rwlock_wrlock_timed(NULL, 1), WEFT_EINVAL);
  weft_rwlock_rdlock(NULL);
  weft_rwlock_wrlock(NULL);
  weft_rwlock_unlock(NULL);
  weft_rwlock_destroy(NULL);
}

#define READERS 4
struct readers_meet {
  weft_rwlock l;
  weft_barrier inside;
};

/* Every reader waits at a barrier while holding the read lock: this only
 * completes if all of them hold it at the same time. */
static int read_together(void *arg) {
  struct readers_meet *r = arg;
  if (weft_rwlock_rdlock_timed(&r->l, LONG_TIMEOUT) != 0) return 1;
  int rc = weft_barrier_wait_timed(&r->inside, LONG_TIMEOUT);
  weft_rwlock_unlock(&r->l);
  return rc == 0 || rc == WEFT_BARRIER_SERIAL ? 0 : 2;
}

static void rwlock_readers_share(void **state) {
  (void)state;
  struct readers_meet r;
  assert_ok(weft_rwlock_init(&r.l));
  assert_ok(weft_barrier_init(&r.inside, READERS));
  assert_int_equal(run_threads(READERS, read_together, &r), 0);
  weft_rwlock_destroy(&r.l);
}

struct exclusion {
  weft_rwlock l;
  uint32_t readers, writers; /* atomic: who is inside now */
  uint32_t next;             /* atomic */
  size_t iterations;
  uint64_t writes;           /* plain: only writers touch it */
};

static int read_or_write(void *arg) {
  struct exclusion *x = arg;
  bool writer = __atomic_fetch_add(&x->next, 1, __ATOMIC_RELAXED) % 2;
  for (size_t i = 0; i < x->iterations; i++) {
    if (writer) {
      weft_rwlock_wrlock(&x->l);
      uint32_t w = __atomic_add_fetch(&x->writers, 1, __ATOMIC_RELAXED);
      bool ok = w == 1 && __atomic_load_n(&x->readers, __ATOMIC_RELAXED) == 0;
      x->writes++;
      __atomic_fetch_sub(&x->writers, 1, __ATOMIC_RELAXED);
      weft_rwlock_unlock(&x->l);
      if (!ok) return 1;
    } else {
      weft_rwlock_rdlock(&x->l);
      __atomic_fetch_add(&x->readers, 1, __ATOMIC_RELAXED);
      bool ok = __atomic_load_n(&x->writers, __ATOMIC_RELAXED) == 0;
      __atomic_fetch_sub(&x->readers, 1, __ATOMIC_RELAXED);
      weft_rwlock_unlock(&x->l);
      if (!ok) return 2;
    }
  }
  return 0;
}

static void rwlock_writers_exclusive(void **state) {
  (void)state;
  struct exclusion x;
  memset(&x, 0, sizeof x);
  x.iterations = scaled(20000, 1000);
  assert_ok(weft_rwlock_init(&x.l));
  assert_int_equal(run_threads(NTHREADS, read_or_write, &x), 0);
  assert_int_equal(x.writes, (NTHREADS / 2) * x.iterations);
  weft_rwlock_destroy(&x.l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(mutex_lock_trylock_timed),
      cmocka_unit_test(mutex_stress_exact_sum),
      cmocka_unit_test(cond_timed_wait_times_out_holding_the_mutex),
      cmocka_unit_test(cond_producer_consumer_sums),
      cmocka_unit_test(cond_broadcast_wakes_everyone),
      cmocka_unit_test(sem_counts_and_times_out),
      cmocka_unit_test(sem_never_over_admits),
      cmocka_unit_test(sem_ping_pong_loses_no_wakeup),
      cmocka_unit_test(barrier_basics),
      cmocka_unit_test(barrier_many_generations),
      cmocka_unit_test(barrier_timeout_breaks_then_reset_repairs),
      cmocka_unit_test(barrier_reset_breaks_current_waiters),
      cmocka_unit_test(event_set_clear_wait),
      cmocka_unit_test(event_wakes_all_waiters),
      cmocka_unit_test(event_set_then_clear_still_wakes_a_sleeper),
      cmocka_unit_test(event_relay_loses_no_wakeup),
      cmocka_unit_test(once_runs_exactly_once),
      cmocka_unit_test(latch_counts_and_times_out),
      cmocka_unit_test(latch_many_count_downs),
      cmocka_unit_test(rwlock_try_and_timed),
      cmocka_unit_test(rwlock_readers_share),
      cmocka_unit_test(rwlock_writers_exclusive),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
