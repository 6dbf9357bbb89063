/* examples/fork_join.c — fork-join with a task group: naive Fibonacci.
 *
 * "Break the problem into chunks, execute them in parallel, reassemble":
 * fib(n) forks fib(n-1) as a child task, computes fib(n-2) itself, then joins.
 * The group lives on the stack (no allocation); waiting inside a worker runs
 * other tasks meanwhile, so the recursion never deadlocks, and nested groups
 * reuse the same workers (one thread budget). Below a cutoff a task costs
 * more than it saves, so small problems run serially. */
#include <stdio.h>
#include <weft/weft.h>

enum { N = 30, CUTOFF = 18 };

static long fib_serial(int n) {
  return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2);
}

typedef struct fib_job { int n; long result; } fib_job;

static int fib_task(void *arg) {
  fib_job *job = arg;
  if (job->n <= CUTOFF) {
    job->result = fib_serial(job->n);
    return 0;
  }
  fib_job left = {job->n - 1, 0}, right = {job->n - 2, 0};
  weft_group g;
  weft_group_init(&g, NULL);                  /* NULL: this worker's pool */
  int rc = weft_group_spawn(&g, fib_task, &left);   /* fork */
  fib_task(&right);                           /* meanwhile, the other half */
  int wrc = weft_group_wait(&g);              /* join */
  weft_group_destroy(&g);
  job->result = left.result + right.result;
  return rc ? rc : wrc;
}

int main(void) {
  fib_job root = {N, 0};
  uint64_t t0 = weft_now_ns();
  int rc = weft_apply(NULL, fib_task, &root);   /* run the root on the pool, wait */
  uint64_t t_par = weft_now_ns() - t0;
  t0 = weft_now_ns();
  long expect = fib_serial(N);
  uint64_t t_ser = weft_now_ns() - t0;
  if (rc) {
    fprintf(stderr, "fork-join failed: %s\n", weft_strerror(rc));
    return 1;
  }
  printf("fib(%d) = %ld (serial: %ld)\n", N, root.result, expect);
  printf("parallel %.2f ms on %u workers, serial %.2f ms\n", (double)t_par / 1e6,
         weft_pool_size(weft_pool_default()), (double)t_ser / 1e6);
  return root.result == expect ? 0 : 1;
}
