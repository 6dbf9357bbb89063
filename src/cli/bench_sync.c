/* src/cli/bench_sync.c — B5: weft's channels and sync objects against what
 * a C programmer writes without weft: a mutex + condition-variable queue,
 * pthread_mutex_t and POSIX sem_t (impl "pthread").
 *
 * The harness threads are plain pthreads so that only the object under test
 * differs between the rows. */
#include <pthread.h>
#include <semaphore.h>

#include "weft/chan.h"
#include "weft/sync.h"
#include "cli/bench.h"

#define QUEUE_CAPACITY 1024

/* ---- two bounded queues of uint64_t behind one small interface ---- */

typedef struct queue_ops {
  const char *impl;
  void *(*create)(void);
  void (*destroy)(void *q);
  int (*send)(void *q, uint64_t v);   /* 0, or non-zero when closed */
  int (*recv)(void *q, uint64_t *v);  /* 0, or non-zero when closed and empty */
  void (*close)(void *q);
} queue_ops;

static void *chan_create(void) {
  weft_chan *ch = NULL;
  return weft_chan_create(&ch, sizeof(uint64_t), QUEUE_CAPACITY) == 0 ? ch : NULL;
}
static void chan_destroy(void *q) { weft_chan_destroy(q); }
static int chan_send(void *q, uint64_t v) { return weft_chan_send(q, &v); }
static int chan_recv(void *q, uint64_t *v) { return weft_chan_recv(q, v); }
static void chan_close(void *q) { weft_chan_close(q); }

static const queue_ops chan_ops = {"weft", chan_create, chan_destroy, chan_send, chan_recv,
                                   chan_close};

/* The textbook bounded queue: one mutex, "not empty" and "not full". */
typedef struct mcq {
  pthread_mutex_t m;
  pthread_cond_t not_empty, not_full;
  size_t head, count;
  bool closed;
  uint64_t buf[QUEUE_CAPACITY];
} mcq;

static void *mcq_create(void) {
  mcq *q = calloc(1, sizeof *q);
  if (!q) return NULL;
  pthread_mutex_init(&q->m, NULL);
  pthread_cond_init(&q->not_empty, NULL);
  pthread_cond_init(&q->not_full, NULL);
  return q;
}

static void mcq_destroy(void *p) {
  mcq *q = p;
  pthread_mutex_destroy(&q->m);
  pthread_cond_destroy(&q->not_empty);
  pthread_cond_destroy(&q->not_full);
  free(q);
}

static int mcq_send(void *p, uint64_t v) {
  mcq *q = p;
  pthread_mutex_lock(&q->m);
  while (q->count == QUEUE_CAPACITY && !q->closed) pthread_cond_wait(&q->not_full, &q->m);
  int closed = q->closed;
  if (!closed) {
    q->buf[(q->head + q->count++) % QUEUE_CAPACITY] = v;
    pthread_cond_signal(&q->not_empty);
  }
  pthread_mutex_unlock(&q->m);
  return closed;
}

static int mcq_recv(void *p, uint64_t *v) {
  mcq *q = p;
  pthread_mutex_lock(&q->m);
  while (q->count == 0 && !q->closed) pthread_cond_wait(&q->not_empty, &q->m);
  int empty = q->count == 0;
  if (!empty) {
    *v = q->buf[q->head];
    q->head = (q->head + 1) % QUEUE_CAPACITY;
    q->count--;
    pthread_cond_signal(&q->not_full);
  }
  pthread_mutex_unlock(&q->m);
  return empty;
}

static void mcq_close(void *p) {
  mcq *q = p;
  pthread_mutex_lock(&q->m);
  q->closed = true;
  pthread_cond_broadcast(&q->not_empty);
  pthread_cond_broadcast(&q->not_full);
  pthread_mutex_unlock(&q->m);
}

static const queue_ops mcq_ops = {"pthread", mcq_create, mcq_destroy, mcq_send, mcq_recv,
                                  mcq_close};

/* ---- SPSC and MPMC throughput ---- */

typedef struct q_run {
  const queue_ops *ops;
  void *q;
  size_t items;          /* in total */
  int producers, consumers;
  uint64_t received[8];  /* per consumer: sum of the items it got */
  int err;
} q_run;

typedef struct q_worker {
  q_run *run;
  int index;
} q_worker;

/* Producer i sends its share of 1..items (interleaved), so the sum of all
 * that arrives is known. */
static void *producer(void *arg) {
  q_worker *w = arg;
  q_run *r = w->run;
  for (uint64_t v = (uint64_t)w->index + 1; v <= r->items; v += (uint64_t)r->producers)
    if (r->ops->send(r->q, v)) {
      __atomic_store_n(&r->err, 1, __ATOMIC_RELAXED);
      break;
    }
  return NULL;
}

static void *consumer(void *arg) {
  q_worker *w = arg;
  uint64_t v, sum = 0;
  while (w->run->ops->recv(w->run->q, &v) == 0) sum += v;
  w->run->received[w->index] = sum;
  return NULL;
}

/* Starts the producers and consumers, waits for the producers, closes the
 * queue (the consumers drain it and stop), and returns items per second. */
static double run_queue(void *arg) {
  q_run *r = arg;
  pthread_t pt[8], ct[8];
  q_worker pw[8], cw[8];
  r->q = r->ops->create();
  if (!r->q) {
    r->err = 1;
    return 0;
  }
  uint64_t t0 = wb_now_ns();
  for (int i = 0; i < r->consumers; i++) {
    cw[i] = (q_worker){r, i};
    pthread_create(&ct[i], NULL, consumer, &cw[i]);
  }
  for (int i = 0; i < r->producers; i++) {
    pw[i] = (q_worker){r, i};
    pthread_create(&pt[i], NULL, producer, &pw[i]);
  }
  for (int i = 0; i < r->producers; i++) pthread_join(pt[i], NULL);
  r->ops->close(r->q);
  uint64_t sum = 0;
  for (int i = 0; i < r->consumers; i++) {
    pthread_join(ct[i], NULL);
    sum += r->received[i];
  }
  double secs = (double)(wb_now_ns() - t0) / 1e9;
  r->ops->destroy(r->q);
  if (sum != (uint64_t)r->items * (r->items + 1) / 2) r->err = 1;
  return (double)r->items / secs;
}

static int queue_rows(bench_ctx *c, const char *kase, int producers, int consumers) {
  const queue_ops *impls[] = {&chan_ops, &mcq_ops};
  int failed = 0;
  for (int i = 0; i < 2; i++) {
    q_run r = {.ops = impls[i], .items = c->size.chan_items, .producers = producers,
               .consumers = consumers};
    bench_progress(c, "B5 %s %s, %zu items", kase, r.ops->impl, r.items);
    double v = bench_median(c, run_queue, &r, 1);
    if (r.err) {
      fprintf(stderr, "weft bench: B5 %s %s: lost or refused items\n", kase, r.ops->impl);
      failed = 1;
      continue;
    }
    bench_emit(c, "B5", kase, r.ops->impl, producers + consumers, v, "items/s", true, NULL);
  }
  return failed;
}

/* ---- mutex: lock/unlock pairs, alone and with two threads contending ---- */

typedef struct lock_run {
  size_t ops;         /* per thread */
  int threads;
  uint64_t counter;   /* the protected data */
  bool broken;        /* the counter came out wrong: the lock let two in */
  weft_mutex wm;
  pthread_mutex_t pm;
} lock_run;

/* The same loop for both locks, so only the lock differs. */
#define LOCK_LOOP(name, lock, unlock)                                          \
  static void *name(void *arg) {                                               \
    lock_run *r = arg;                                                         \
    for (size_t i = 0; i < r->ops; i++) {                                      \
      lock;                                                                    \
      r->counter++;                                                            \
      unlock;                                                                  \
    }                                                                          \
    return NULL;                                                               \
  }
LOCK_LOOP(loop_weft_mutex, weft_mutex_lock(&r->wm), weft_mutex_unlock(&r->wm))
LOCK_LOOP(loop_pthread_mutex, pthread_mutex_lock(&r->pm), pthread_mutex_unlock(&r->pm))

/* Runs loop on r->threads threads (the caller is one); ns per lock/unlock. */
static double run_threads(lock_run *r, void *(*loop)(void *)) {
  pthread_t t[8];
  r->counter = 0;
  uint64_t t0 = wb_now_ns();
  for (int i = 1; i < r->threads; i++) pthread_create(&t[i], NULL, loop, r);
  loop(r);
  for (int i = 1; i < r->threads; i++) pthread_join(t[i], NULL);
  double ns = (double)(wb_now_ns() - t0);
  if (r->counter != r->ops * (size_t)r->threads) r->broken = true;
  return ns / (double)(r->ops * (size_t)r->threads);
}

static double run_weft_mutex(void *arg) { return run_threads(arg, loop_weft_mutex); }
static double run_pthread_mutex(void *arg) { return run_threads(arg, loop_pthread_mutex); }

static int mutex_rows(bench_ctx *c, const char *kase, int threads, size_t ops) {
  lock_run r = {.ops = ops, .threads = threads, .pm = PTHREAD_MUTEX_INITIALIZER};
  weft_mutex_init(&r.wm);
  bench_progress(c, "B5 %s, %d thread(s), %zu lock/unlock each", kase, threads, ops);
  double w = bench_median(c, run_weft_mutex, &r, 1);
  double p = bench_median(c, run_pthread_mutex, &r, 1);
  weft_mutex_destroy(&r.wm);
  if (r.broken) {
    fprintf(stderr, "weft bench: B5 %s: a mutex let two threads in\n", kase);
    return 1;
  }
  bench_emit(c, "B5", kase, "weft", threads, w, "ns/op", false, NULL);
  bench_emit(c, "B5", kase, "pthread", threads, p, "ns/op", false, NULL);
  return 0;
}

/* ---- semaphores: post+wait alone, and ping-pong between two threads ---- */

typedef struct sem_run {
  size_t ops;
  weft_sem ws[2];
  sem_t ps[2];
} sem_run;

static double run_weft_sem(void *arg) {
  sem_run *r = arg;
  uint64_t t0 = wb_now_ns();
  for (size_t i = 0; i < r->ops; i++) {
    weft_sem_post(&r->ws[0]);
    weft_sem_wait(&r->ws[0]);
  }
  return (double)(wb_now_ns() - t0) / (double)r->ops;
}

static double run_posix_sem(void *arg) {
  sem_run *r = arg;
  uint64_t t0 = wb_now_ns();
  for (size_t i = 0; i < r->ops; i++) {
    sem_post(&r->ps[0]);
    sem_wait(&r->ps[0]);
  }
  return (double)(wb_now_ns() - t0) / (double)r->ops;
}

/* Ping-pong: the partner waits on [0] and posts [1]; the caller the reverse. */
static void *weft_partner(void *arg) {
  sem_run *r = arg;
  for (size_t i = 0; i < r->ops; i++) {
    weft_sem_wait(&r->ws[0]);
    weft_sem_post(&r->ws[1]);
  }
  return NULL;
}

static void *posix_partner(void *arg) {
  sem_run *r = arg;
  for (size_t i = 0; i < r->ops; i++) {
    sem_wait(&r->ps[0]);
    sem_post(&r->ps[1]);
  }
  return NULL;
}

static double run_weft_pingpong(void *arg) {
  sem_run *r = arg;
  pthread_t t;
  uint64_t t0 = wb_now_ns();
  pthread_create(&t, NULL, weft_partner, r);
  for (size_t i = 0; i < r->ops; i++) {
    weft_sem_post(&r->ws[0]);
    weft_sem_wait(&r->ws[1]);
  }
  pthread_join(t, NULL);
  return (double)(wb_now_ns() - t0) / (double)r->ops;
}

static double run_posix_pingpong(void *arg) {
  sem_run *r = arg;
  pthread_t t;
  uint64_t t0 = wb_now_ns();
  pthread_create(&t, NULL, posix_partner, r);
  for (size_t i = 0; i < r->ops; i++) {
    sem_post(&r->ps[0]);
    sem_wait(&r->ps[1]);
  }
  pthread_join(t, NULL);
  return (double)(wb_now_ns() - t0) / (double)r->ops;
}

static void sem_rows(bench_ctx *c, const char *kase, int threads, size_t ops, wb_run_fn weft,
                     wb_run_fn posix) {
  sem_run r = {.ops = ops};
  for (int i = 0; i < 2; i++) {
    weft_sem_init(&r.ws[i], 0);
    sem_init(&r.ps[i], 0, 0);
  }
  bench_progress(c, "B5 %s, %d thread(s), %zu rounds", kase, threads, ops);
  bench_emit(c, "B5", kase, "weft", threads, bench_median(c, weft, &r, 1), "ns/op", false,
             NULL);
  bench_emit(c, "B5", kase, "pthread", threads, bench_median(c, posix, &r, 1), "ns/op", false,
             NULL);
  for (int i = 0; i < 2; i++) {
    weft_sem_destroy(&r.ws[i]);
    sem_destroy(&r.ps[i]);
  }
}

int bench_b5_sync(bench_ctx *c) {
  size_t ops = c->size.lock_ops;
  int failed = queue_rows(c, "chan_spsc", 1, 1);
  failed |= queue_rows(c, "chan_mpmc", 2, 2);
  failed |= mutex_rows(c, "mutex", 1, ops);
  failed |= mutex_rows(c, "mutex_contended", 2, ops / 4);
  sem_rows(c, "sem", 1, ops, run_weft_sem, run_posix_sem);
  /* A round trip may wake a sleeping CPU, which costs tens of microseconds on
   * an idle VM: a thousandth of the rounds keeps the run short. */
  sem_rows(c, "sem_pingpong", 2, ops / 1000 + 1, run_weft_pingpong, run_posix_pingpong);
  return failed;
}
