/* examples/threads_counter.c — threads sharing a counter behind a lock.
 *
 * The seeds' "threads + locks" in C. In Python:
 *
 *   lock = threading.Lock()
 *   def work():
 *       global counter
 *       for _ in range(100_000):
 *           with lock:
 *               counter += 1
 *   threads = [threading.Thread(target=work) for _ in range(4)]
 *   for t in threads: t.start()
 *   for t in threads: t.join()
 *
 * First without the lock: `counter += 1` is a read, an add and a write, and
 * another thread's write between our read and our write is lost (a race
 * condition; the reads and writes here are relaxed atomics, so the program
 * shows the lost updates without undefined behaviour). Then with the lock:
 * the total is exact. */
#include <stdio.h>
#include <weft/weft.h>

enum { THREADS = 4, INCREMENTS = 100000 };

typedef struct shared {
  weft_mutex lock;     /* guards counter */
  long counter;
  weft_barrier start;  /* the racy threads start together */
} shared;

/* The racy version: each increment is two steps another thread can split. */
static int work_unlocked(void *arg) {
  shared *s = arg;
  weft_barrier_wait(&s->start);
  for (int i = 0; i < INCREMENTS; i++) {
    long seen = __atomic_load_n(&s->counter, __ATOMIC_RELAXED);
    __atomic_store_n(&s->counter, seen + 1, __ATOMIC_RELAXED);
  }
  return 0;
}

static int work(void *arg) {
  shared *s = arg;
  for (int i = 0; i < INCREMENTS; i++) {
    weft_mutex_lock(&s->lock);
    s->counter++;
    weft_mutex_unlock(&s->lock);
  }
  return 0;
}

/* Runs fn on THREADS threads and waits for them; 0 or the error. */
static int run_threads(weft_thread_fn fn, shared *s) {
  weft_thread *threads[THREADS];
  for (int i = 0; i < THREADS; i++) {
    int rc = weft_thread_create(&threads[i], "worker", fn, s);
    if (rc) {
      fprintf(stderr, "weft_thread_create: %s\n", weft_strerror(rc));
      while (i-- > 0) weft_thread_join(threads[i], NULL);
      return rc;
    }
  }
  for (int i = 0; i < THREADS; i++) weft_thread_join(threads[i], NULL);
  return 0;
}

int main(void) {
  shared s = {.lock = WEFT_MUTEX_INIT};
  weft_barrier_init(&s.start, THREADS);
  printf("%d threads x %d increments\n", THREADS, INCREMENTS);
  if (run_threads(work_unlocked, &s)) return 1;
  /* how many are lost varies from run to run (on one CPU, often none) */
  printf("without the lock: counter = %ld, %ld increments lost\n", s.counter,
         THREADS * (long)INCREMENTS - s.counter);

  s.counter = 0;
  weft_barrier_destroy(&s.start);
  if (run_threads(work, &s)) return 1;
  printf("counter = %ld (expected %d)\n", s.counter, THREADS * INCREMENTS);
  return s.counter == THREADS * INCREMENTS ? 0 : 1;
}
