/* examples/aio_hello.c — asyncio's hello world: a coroutine, tasks, gather.
 *
 * The seeds: "define coroutines with async def", "manage the event loop
 * with asyncio.run()", "use asyncio.gather() to run tasks concurrently",
 * "use await for non-blocking waits". In Python:
 *
 *   async def square(n, delay):
 *       await asyncio.sleep(delay)          # the other tasks run meanwhile
 *       print(f"square({n}) done after {delay * 1000:.0f} ms")
 *       return n * n
 *
 *   async def main():
 *       tasks = [asyncio.create_task(square(n, d)) for n, d in ((1, .03), (2, .02), (3, .01))]
 *       print(await asyncio.gather(*tasks))  # results in the order given
 *
 *   asyncio.run(main())
 *
 * In weft a coroutine is a plain function `int fn(void *arg)` that runs as
 * a task on its own small stack; every weft_aio_* call that waits suspends
 * only that task. The three sleeps overlap, so they finish shortest first,
 * while gather still hands back the results in the order the tasks were
 * given. */
#include <stdio.h>
#include <weft/aio.h>
#include <weft/weft.h>

typedef struct square_job {
  int n;
  unsigned delay_ms;
  int result;
} square_job;

/* The coroutine. A task returns 0 or a WEFT_E* code; its value goes in the
 * job (or through weft_aio_set_result). */
static int square(void *arg) {
  square_job *j = arg;
  int rc = weft_aio_sleep(j->delay_ms * WEFT_MS); /* await asyncio.sleep(...) */
  if (rc) return rc;                              /* cancelled: just return */
  printf("square(%d) done after %u ms\n", j->n, j->delay_ms);
  j->result = j->n * j->n;
  return 0;
}

static int hello_main(void *arg) {
  (void)arg;
  square_job jobs[3] = {{1, 30, 0}, {2, 20, 0}, {3, 10, 0}};
  weft_aio_task *tasks[3];
  for (int i = 0; i < 3; i++) {
    int rc = weft_aio_spawn(square, &jobs[i], &tasks[i]); /* create_task: runs at our next await */
    if (rc) return rc;
  }
  printf("main: 3 tasks created\n");
  int rc = weft_aio_gather(tasks, 3, 0); /* await asyncio.gather(*tasks) */
  for (int i = 0; i < 3; i++) weft_aio_task_release(tasks[i]);
  if (rc) return rc;
  printf("gather: [%d, %d, %d] (in the order given)\n", jobs[0].result, jobs[1].result,
         jobs[2].result);
  return 0;
}

int main(void) {
  int rc = weft_aio_run(hello_main, NULL); /* asyncio.run(main()) */
  if (rc) fprintf(stderr, "aio_hello: %s\n", weft_strerror(rc));
  return rc ? 1 : 0;
}
