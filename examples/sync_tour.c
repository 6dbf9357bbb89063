/* examples/sync_tour.c — semaphores, barriers and events.
 *
 * From the seeds:
 *  - "Semaphores are like traffic lights that control the number of threads
 *    that can access a shared resource": threading.Semaphore(2).
 *  - "Barriers are like finish lines ... a relay race": threading.Barrier(3).
 *  - threading.Event: threads wait until another one sets a flag.
 * Every blocking call also has a _timed variant (WEFT_ETIMEDOUT). */
#include <stdio.h>
#include <weft/weft.h>

/* Starts n threads running fn(arg), then joins them. */
static int run_threads(int n, weft_thread_fn fn, void *arg) {
  weft_thread *t[16];
  int started = 0, rc = 0;
  for (; started < n && started < 16; started++)
    if ((rc = weft_thread_create(&t[started], "sync", fn, arg))) break;
  for (int i = 0; i < started; i++) weft_thread_join(t[i], NULL);
  return rc;
}

/* ---- semaphore: at most LIMIT of the threads use the resource at once ---- */

enum { SEM_THREADS = 6, LIMIT = 2 };

typedef struct resource {
  weft_sem sem;
  weft_mutex lock;     /* guards the two counters */
  int inside, max_inside;
} resource;

static int use_resource(void *arg) {
  resource *r = arg;
  for (int round = 0; round < 3; round++) {
    weft_sem_wait(&r->sem);          /* with semaphore: */
    weft_mutex_lock(&r->lock);
    if (++r->inside > r->max_inside) r->max_inside = r->inside;
    weft_mutex_unlock(&r->lock);
    weft_sleep_ns(1000000);          /* hold the resource for 1 ms */
    weft_mutex_lock(&r->lock);
    r->inside--;
    weft_mutex_unlock(&r->lock);
    weft_sem_post(&r->sem);
  }
  return 0;
}

static int semaphore_demo(void) {
  resource r = {WEFT_SEM_INIT(LIMIT), WEFT_MUTEX_INIT, 0, 0};
  if (run_threads(SEM_THREADS, use_resource, &r)) return 1;
  printf("semaphore: %d threads, at most %d inside at once: %s\n", SEM_THREADS, LIMIT,
         r.max_inside <= LIMIT ? "ok" : "VIOLATED");
  return r.max_inside <= LIMIT ? 0 : 1;
}

/* ---- barrier: a relay of legs; no runner starts leg k+1 before every
 * runner has finished leg k ---- */

enum { RUNNERS = 3, LEGS = 5 };

typedef struct relay {
  weft_barrier finish_line;
  weft_mutex lock;
  int finished[LEGS];   /* runners done with each leg */
  int out_of_step;
} relay;

static int run_relay(void *arg) {
  relay *r = arg;
  for (int leg = 0; leg < LEGS; leg++) {
    weft_mutex_lock(&r->lock);
    r->finished[leg]++;
    if (leg > 0 && r->finished[leg - 1] != RUNNERS) r->out_of_step = 1;
    weft_mutex_unlock(&r->lock);
    if (weft_barrier_wait(&r->finish_line) < 0) return 1;   /* wait for everyone */
  }
  return 0;
}

static int barrier_demo(void) {
  relay r = {.lock = WEFT_MUTEX_INIT};
  weft_barrier_init(&r.finish_line, RUNNERS);
  int rc = run_threads(RUNNERS, run_relay, &r);
  weft_barrier_destroy(&r.finish_line);
  int ok = !rc && !r.out_of_step && r.finished[LEGS - 1] == RUNNERS;
  printf("barrier: %d runners ran %d legs in step: %s\n", RUNNERS, LEGS, ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}

/* ---- event: waiters block until the main thread says "go" ---- */

enum { WAITERS = 3 };

typedef struct start_signal { weft_event go; int released; weft_mutex lock; } start_signal;

static int wait_for_go(void *arg) {
  start_signal *s = arg;
  if (weft_event_wait_timed(&s->go, 10000000000u) != 0) return 1;   /* 10 s at most */
  weft_mutex_lock(&s->lock);
  s->released++;
  weft_mutex_unlock(&s->lock);
  return 0;
}

static int event_demo(void) {
  start_signal s = {WEFT_EVENT_INIT, 0, WEFT_MUTEX_INIT};
  weft_thread *t[WAITERS];
  for (int i = 0; i < WAITERS; i++)
    if (weft_thread_create(&t[i], "waiter", wait_for_go, &s)) return 1;
  weft_sleep_ns(2000000);           /* they are all waiting now (or soon) */
  weft_event_set(&s.go);            /* one set wakes every waiter */
  for (int i = 0; i < WAITERS; i++) weft_thread_join(t[i], NULL);
  printf("event: %d of %d waiters released\n", s.released, WAITERS);
  return s.released == WAITERS ? 0 : 1;
}

int main(void) {
  int failed = semaphore_demo();
  failed += barrier_demo();
  failed += event_demo();
  return failed ? 1 : 0;
}
