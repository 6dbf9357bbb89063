/* examples/process_queue.c — multiprocessing.Queue: a producer process sends
 * work items, two consumer processes take them and send back results.
 *
 *   tasks, results = Queue(), Queue()
 *   def consumer():
 *       while (x := tasks.get()) is not None:
 *           results.put(x * x)
 *
 * The queues live in shared memory (no feeder thread, no pickling): items
 * are fixed-size byte records. Closing a queue is the "None" sentinel. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "weft/weft.h"

#define ITEMS 1000
#define CONSUMERS 2

static int consume(weft_pqueue *tasks, weft_pqueue *results) {
  long x;
  int rc;
  while ((rc = weft_pqueue_recv(tasks, &x)) == 0) {
    long sq = x * x;
    if (weft_pqueue_send(results, &sq) != 0) return 1;
  }
  return rc == WEFT_ECLOSED ? 0 : 1; /* drained and closed: done */
}

int main(void) {
  weft_pqueue *tasks, *results;
  if (weft_pqueue_create(&tasks, sizeof(long), 64) != 0 ||
      weft_pqueue_create(&results, sizeof(long), ITEMS) != 0)
    return 1;
  pid_t pids[CONSUMERS];
  for (int c = 0; c < CONSUMERS; c++) {
    pids[c] = fork();
    if (pids[c] == 0) _exit(consume(tasks, results));
  }
  for (long x = 1; x <= ITEMS; x++)
    if (weft_pqueue_send(tasks, &x) != 0) return 1; /* blocks while full */
  weft_pqueue_close(tasks);                         /* consumers drain, then stop */
  int failed = 0;
  for (int c = 0; c < CONSUMERS; c++) {
    int status;
    if (pids[c] < 0 || waitpid(pids[c], &status, 0) < 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
      failed = 1;
  }
  weft_pqueue_close(results);
  long sq, sum = 0, n = 0;
  while (weft_pqueue_recv(results, &sq) == 0) {
    sum += sq;
    n++;
  }
  long expect = (long)ITEMS * (ITEMS + 1) * (2 * ITEMS + 1) / 6;
  printf("%d consumer processes squared %ld items\n", CONSUMERS, n);
  printf("sum of squares = %ld (expected %ld)\n", sum, expect);
  weft_pqueue_destroy(tasks);
  weft_pqueue_destroy(results);
  return failed || n != ITEMS || sum != expect;
}
