/* src/cli/tour_sync.c — tour steps for threads and synchronisation:
 * threading.Thread + Lock, Thread subclasses, Semaphore, Barrier, Event,
 * Condition. Each checks its own result. */
#include <stdlib.h>
#include "cli/tour.h"

/* ---- threading.Thread + Lock: a counter many threads increment ---- */

enum { LOCK_THREADS = 4, LOCK_INCREMENTS = 100000 };

typedef struct counter { weft_mutex lock; long value; } counter;

static int count_up(void *arg) {
  counter *c = arg;
  for (int i = 0; i < LOCK_INCREMENTS; i++) {
    weft_mutex_lock(&c->lock);
    c->value++;          /* without the lock, increments get lost */
    weft_mutex_unlock(&c->lock);
  }
  return 0;
}

int tour_threads_lock(tour_out *out) {
  counter c = {WEFT_MUTEX_INIT, 0};
  uint64_t t0 = weft_now_ns();
  int rc = tour_run_threads(LOCK_THREADS, count_up, &c, 0);
  out->ns = weft_now_ns() - t0;
  tour_result(out, "counter = %ld (expected %d)", c.value, LOCK_THREADS * LOCK_INCREMENTS);
  return rc ? rc : c.value != LOCK_THREADS * LOCK_INCREMENTS;
}

/* ---- Thread subclass: a struct embeds its state, a run function uses it;
 * the threads divide one large sum between them. ---- */

enum { OBJ_N = 1 << 22 };

typedef struct summer {
  const uint32_t *data;
  size_t begin, end;
  uint64_t sum;        /* the thread's result, read after join */
} summer;

/* A little arithmetic per element, so the work is CPU-bound rather than a
 * race for memory bandwidth, which two threads would share. */
static uint64_t sum_squares(const uint32_t *d, size_t begin, size_t end) {
  uint64_t s = 0;
  for (size_t i = begin; i < end; i++) s += (uint64_t)d[i] * d[i] % 1000003u;
  return s;
}

static int summer_run(void *self) {
  summer *s = self;
  s->sum = sum_squares(s->data, s->begin, s->end);
  return 0;
}

typedef struct split_sum {
  const uint32_t *data;
  unsigned n;
  summer parts[16];
  uint64_t total, serial;
} split_sum;

/* One run: n thread objects, each summing its slice; then add the slices up. */
static int split_run(void *ctx) {
  split_sum *w = ctx;
  for (unsigned i = 0; i < w->n; i++)
    w->parts[i] = (summer){w->data, OBJ_N * i / w->n, OBJ_N * (i + 1) / w->n, 0};
  int rc = tour_run_threads(w->n, summer_run, w->parts, sizeof w->parts[0]);
  w->total = 0;
  for (unsigned i = 0; i < w->n; i++) w->total += w->parts[i].sum;
  return rc;
}

static int serial_run(void *ctx) {
  split_sum *w = ctx;
  w->serial = sum_squares(w->data, 0, OBJ_N);
  return 0;
}

int tour_thread_objects(tour_out *out) {
  uint32_t *data = malloc(OBJ_N * sizeof *data);
  if (!data) return WEFT_ENOMEM;
  for (size_t i = 0; i < OBJ_N; i++) data[i] = (uint32_t)(i * 2654435761u) >> 16;
  split_sum w = {.data = data, .n = tour_threads() > 16 ? 16 : tour_threads()};
  int rc = tour_time_best(split_run, &w, 3, &out->ns);
  if (!rc) rc = tour_time_best(serial_run, &w, 3, &out->serial_ns);
  free(data);
  tour_result(out, "%u threads: sum %s serial", w.n, w.total == w.serial ? "==" : "!=");
  return rc ? rc : w.total != w.serial;
}

/* ---- Semaphore: at most 3 of 8 threads inside at once ---- */

enum { SEM_THREADS = 8, SEM_LIMIT = 3, SEM_ROUNDS = 5 };

typedef struct gate { weft_sem sem; uint32_t inside, max_inside; } gate;

static int use_resource(void *arg) {
  gate *g = arg;
  for (int r = 0; r < SEM_ROUNDS; r++) {
    weft_sem_wait(&g->sem);
    uint32_t now = __atomic_add_fetch(&g->inside, 1, __ATOMIC_ACQ_REL);
    uint32_t max = __atomic_load_n(&g->max_inside, __ATOMIC_RELAXED);
    while (now > max && !__atomic_compare_exchange_n(&g->max_inside, &max, now, false,
                                                      __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
    }
    weft_sleep_ns(200000);   /* "use" the resource a little while */
    __atomic_sub_fetch(&g->inside, 1, __ATOMIC_ACQ_REL);
    weft_sem_post(&g->sem);
  }
  return 0;
}

int tour_semaphore(tour_out *out) {
  gate g = {WEFT_SEM_INIT(SEM_LIMIT), 0, 0};
  uint64_t t0 = weft_now_ns();
  int rc = tour_run_threads(SEM_THREADS, use_resource, &g, 0);
  out->ns = weft_now_ns() - t0;
  tour_result(out, "%d threads, max %u inside (limit %d)", SEM_THREADS, g.max_inside,
              SEM_LIMIT);
  return rc ? rc : (g.max_inside < 1 || g.max_inside > SEM_LIMIT);
}

/* ---- Barrier: a relay in rounds; nobody starts round r+1 before all
 * finished round r, which the serial thread checks each round. ---- */

enum { BAR_PARTIES = 4, BAR_ROUNDS = 100 };

typedef struct relay {
  weft_barrier bar;
  int lap[BAR_PARTIES];
  int good_rounds;
} relay;

typedef struct runner { relay *r; int id; } runner;

static int run_laps(void *arg) {
  runner *me = arg;
  relay *r = me->r;
  for (int round = 1; round <= BAR_ROUNDS; round++) {
    r->lap[me->id] = round;
    int rc = weft_barrier_wait(&r->bar);
    if (rc < 0) return rc;
    if (rc == WEFT_BARRIER_SERIAL) {   /* exactly one thread checks */
      int all = 1;
      for (int i = 0; i < BAR_PARTIES; i++) all &= r->lap[i] == round;
      r->good_rounds += all;
    }
    rc = weft_barrier_wait(&r->bar);   /* the check ends before anyone moves on */
    if (rc < 0) return rc;
  }
  return 0;
}

int tour_barrier(tour_out *out) {
  relay r = {.good_rounds = 0};
  runner args[BAR_PARTIES];
  weft_barrier_init(&r.bar, BAR_PARTIES);
  for (int i = 0; i < BAR_PARTIES; i++) args[i] = (runner){&r, i};
  uint64_t t0 = weft_now_ns();
  int rc = tour_run_threads(BAR_PARTIES, run_laps, args, sizeof args[0]);
  out->ns = weft_now_ns() - t0;
  weft_barrier_destroy(&r.bar);
  tour_result(out, "%d parties, %d/%d rounds in step", BAR_PARTIES, r.good_rounds, BAR_ROUNDS);
  return rc ? rc : r.good_rounds != BAR_ROUNDS;
}

/* ---- Event: waiters block until the main thread sets it ---- */

enum { EVENT_WAITERS = 4 };

typedef struct waiter { weft_event *ev; int rc; } waiter;

static int wait_for_start(void *arg) {
  waiter *w = arg;
  w->rc = weft_event_wait_timed(w->ev, 5000000000u);
  return 0;
}

/* The setter runs as its own thread so tour_run_threads can join everyone. */
static int set_after_pause(void *arg) {
  waiter *w = arg;
  weft_sleep_ns(1000000);
  weft_event_set(w->ev);
  return 0;
}

static int event_party(void *arg) {
  waiter *w = arg;
  return w->rc < 0 ? set_after_pause(w) : wait_for_start(w);
}

int tour_event(tour_out *out) {
  weft_event ev = WEFT_EVENT_INIT;
  waiter w[EVENT_WAITERS + 1];
  for (int i = 0; i < EVENT_WAITERS; i++) w[i] = (waiter){&ev, 0};
  w[EVENT_WAITERS] = (waiter){&ev, -1};      /* marks the setter */
  uint64_t t0 = weft_now_ns();
  int rc = tour_run_threads(EVENT_WAITERS + 1, event_party, w, sizeof w[0]);
  out->ns = weft_now_ns() - t0;
  int woke = 0;
  for (int i = 0; i < EVENT_WAITERS; i++) woke += w[i].rc == 0;
  tour_result(out, "set once, %d/%d waiters woke", woke, EVENT_WAITERS);
  return rc ? rc : woke != EVENT_WAITERS || !weft_event_is_set(&ev);
}

/* ---- Condition: a one-slot mailbox between two threads ---- */

enum { COND_ITEMS = 2000 };

typedef struct mailbox {
  weft_mutex lock;
  weft_cond changed;
  int full, item;
  long sum;
} mailbox;

static int post_items(mailbox *m) {
  for (int i = 1; i <= COND_ITEMS; i++) {
    weft_mutex_lock(&m->lock);
    while (m->full) weft_cond_wait(&m->changed, &m->lock);
    m->item = i, m->full = 1;
    weft_cond_signal(&m->changed);
    weft_mutex_unlock(&m->lock);
  }
  return 0;
}

static int take_items(mailbox *m) {
  for (int i = 1; i <= COND_ITEMS; i++) {
    weft_mutex_lock(&m->lock);
    while (!m->full) weft_cond_wait(&m->changed, &m->lock);
    m->sum += m->item, m->full = 0;
    weft_cond_signal(&m->changed);
    weft_mutex_unlock(&m->lock);
  }
  return 0;
}

typedef struct cond_role { mailbox *m; int producer; } cond_role;

static int cond_party(void *arg) {
  cond_role *r = arg;
  return r->producer ? post_items(r->m) : take_items(r->m);
}

int tour_condition(tour_out *out) {
  mailbox m = {WEFT_MUTEX_INIT, WEFT_COND_INIT, 0, 0, 0};
  cond_role roles[2] = {{&m, 1}, {&m, 0}};
  uint64_t t0 = weft_now_ns();
  int rc = tour_run_threads(2, cond_party, roles, sizeof roles[0]);
  out->ns = weft_now_ns() - t0;
  long expect = (long)COND_ITEMS * (COND_ITEMS + 1) / 2;
  tour_result(out, "%d hand-offs, sum %ld %s", COND_ITEMS, m.sum, m.sum == expect ? "ok" : "WRONG");
  return rc ? rc : m.sum != expect;
}
