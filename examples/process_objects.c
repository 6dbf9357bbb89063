/* examples/process_objects.c — "subclass multiprocessing.Process and
 * implement run".
 *
 * In Python:
 *
 *   class PrimeCounter(multiprocessing.Process):
 *       def __init__(self, limit):
 *           super().__init__(name=f"primes-{limit}")
 *           self.limit = limit
 *       def run(self):
 *           sys.exit(count_primes_below(self.limit) % 256)
 *
 *   workers = [PrimeCounter(n) for n in (100, 500, 1000)]
 *   for w in workers: w.start()
 *   for w in workers: w.join(); print(w.name, w.exitcode)
 *
 * In C the "subclass" is a struct of plain bytes that describes the work,
 * and run() a function that receives a copy of it in the new process. Only
 * bytes cross: no pointers in the struct (the child has its own address
 * space; a SPAWN child is even a fresh copy of the program), so the name is
 * an array, not a char *. The child's answer is its exit code, which the
 * parent reads after join. Children print nothing, so the output order is
 * the parent's and deterministic. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <weft/weft.h>

typedef struct prime_counter {
  char name[16];      /* the child's process name (ps, top) */
  unsigned limit;     /* count the primes below this */
} prime_counter;

/* run(): counts the primes below self->limit; the count is the exit code. */
static int prime_counter_run(const void *arg, size_t size) {
  if (size != sizeof(prime_counter)) return 2;
  const prime_counter *self = arg;
  int count = 0;
  for (unsigned n = 2; n < self->limit; n++) {
    bool prime = true;
    for (unsigned d = 2; d * d <= n && prime; d++) prime = n % d != 0;
    count += prime;
  }
  return count % 256;
}

/* start(): a new process runs run() on a copy of the object. */
static int prime_counter_start(const prime_counter *self, weft_process **out) {
  weft_process_opts o = {.name = self->name}; /* SPAWN: a fresh copy of the program */
  return weft_process_start(out, prime_counter_run, self, sizeof *self, &o);
}

/* A process that would run far too long: terminated from the parent. */
static int sleeper_run(const void *arg, size_t size) {
  (void)arg, (void)size;
  sleep(60);
  return 0;
}

int main(void) {
  prime_counter jobs[3];
  unsigned limits[3] = {100, 500, 1000};
  weft_process *procs[3];
  for (int i = 0; i < 3; i++) {
    jobs[i].limit = limits[i];
    snprintf(jobs[i].name, sizeof jobs[i].name, "primes-%u", limits[i]);
    int rc = prime_counter_start(&jobs[i], &procs[i]);
    if (rc) {
      fprintf(stderr, "start %s: %s\n", jobs[i].name, weft_strerror(rc));
      return 1;
    }
  }
  for (int i = 0; i < 3; i++) { /* all three run at once; join in order */
    int code, sig;
    int rc = weft_process_join(procs[i], WEFT_FOREVER);
    if (rc || weft_process_exitcode(procs[i], &code, &sig) != 0) {
      fprintf(stderr, "join %s: %s %s\n", jobs[i].name, weft_strerror(rc),
              weft_process_message(procs[i]));
      return 1;
    }
    printf("%s: exit code %d (primes below %u)\n", jobs[i].name, code, jobs[i].limit);
    weft_process_destroy(procs[i]);
  }

  weft_process *s;
  int rc = weft_process_start(&s, sleeper_run, NULL, 0, &(weft_process_opts){.name = "sleeper"});
  if (rc) {
    fprintf(stderr, "start sleeper: %s\n", weft_strerror(rc));
    return 1;
  }
  printf("sleeper alive: %s\n", weft_process_is_alive(s) ? "yes" : "no");
  weft_process_terminate(s);
  weft_process_join(s, WEFT_FOREVER);
  int code, sig;
  weft_process_exitcode(s, &code, &sig);
  printf("sleeper: exit code %d, signal %d (SIGTERM)\n", code, sig);
  weft_process_destroy(s);
  return 0;
}
