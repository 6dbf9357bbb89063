/* examples/thread_objects.c — "subclass threading.Thread and implement run".
 *
 * In Python:
 *
 *   class Summer(threading.Thread):
 *       def __init__(self, n):
 *           super().__init__(name=f"summer-{n}")
 *           self.n, self.total = n, 0
 *       def run(self):
 *           self.total = sum(range(1, self.n + 1))
 *
 * In C the "subclass" is a struct that embeds its state next to the thread
 * handle, and run() is a function that receives the struct. start() passes
 * the object itself as the thread's argument; after join() its fields hold
 * the results — no shared globals, no locks (each thread owns its object). */
#include <stdio.h>
#include <weft/weft.h>

typedef struct summer {
  weft_thread *thread;  /* the "base class" part */
  char name[16];
  long n;               /* input */
  long total;           /* output, valid after join */
} summer;

static int summer_run(void *self) {
  summer *s = self;
  s->total = 0;
  for (long i = 1; i <= s->n; i++) s->total += i;
  return 0;
}

static int summer_start(summer *s, long n) {
  s->n = n;
  s->total = 0;
  snprintf(s->name, sizeof s->name, "summer-%ld", n);
  return weft_thread_create(&s->thread, s->name, summer_run, s);
}

static int summer_join(summer *s) {
  return weft_thread_join(s->thread, NULL);
}

int main(void) {
  summer workers[3];
  const long sizes[3] = {10, 100, 1000};
  for (int i = 0; i < 3; i++) {
    int rc = summer_start(&workers[i], sizes[i]);
    if (rc) {
      fprintf(stderr, "start: %s\n", weft_strerror(rc));
      return 1;
    }
  }
  int wrong = 0;
  for (int i = 0; i < 3; i++) {
    summer_join(&workers[i]);
    printf("%s: sum(1..%ld) = %ld\n", workers[i].name, workers[i].n, workers[i].total);
    wrong += workers[i].total != workers[i].n * (workers[i].n + 1) / 2;
  }
  return wrong ? 1 : 0;
}
