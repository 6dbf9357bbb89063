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
 * Without the lock, `counter++` from several threads loses increments (a race
 * condition); with it the total is exact. */
#include <stdio.h>
#include <weft/weft.h>

enum { THREADS = 4, INCREMENTS = 100000 };

typedef struct shared {
  weft_mutex lock;     /* guards counter */
  long counter;
} shared;

static int work(void *arg) {
  shared *s = arg;
  for (int i = 0; i < INCREMENTS; i++) {
    weft_mutex_lock(&s->lock);
    s->counter++;
    weft_mutex_unlock(&s->lock);
  }
  return 0;
}

int main(void) {
  shared s = {WEFT_MUTEX_INIT, 0};
  weft_thread *threads[THREADS];
  for (int i = 0; i < THREADS; i++) {
    int rc = weft_thread_create(&threads[i], "worker", work, &s);
    if (rc) {
      fprintf(stderr, "weft_thread_create: %s\n", weft_strerror(rc));
      return 1;   /* exiting ends the threads already started */
    }
  }
  for (int i = 0; i < THREADS; i++) weft_thread_join(threads[i], NULL);

  printf("%d threads x %d increments\n", THREADS, INCREMENTS);
  printf("counter = %ld (expected %d)\n", s.counter, THREADS * INCREMENTS);
  return s.counter == THREADS * INCREMENTS ? 0 : 1;
}
