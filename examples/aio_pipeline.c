/* examples/aio_pipeline.c — a producer/consumer pipeline over async queues.
 *
 * asyncio's Queue pattern, two stages deep:
 *
 *   async def squarer(inq, outq):
 *       while True:
 *           n = await inq.get()
 *           await outq.put(n * n)
 *           inq.task_done()
 *
 *   ... producers put 1..100 into inq; await inq.join(); await outq.join()
 *   ... then cancel the workers, which loop forever.
 *
 * Bounded queues give backpressure: a producer that runs ahead waits at put
 * until a squarer has taken something. join() returns once every item put
 * has been marked task_done(), which is how main knows a stage is drained
 * without counting items itself. */
#include <stdint.h>
#include <stdio.h>
#include <weft/aio.h>
#include <weft/weft.h>

enum { PRODUCERS = 2, SQUARERS = 3, ITEMS = 100, CAPACITY = 4 };

typedef struct pipeline {
  weft_aio_queue *numbers, *squares;
  long sum;
  int summed, cancelled;
} pipeline;

typedef struct producer_arg {
  pipeline *p;
  int first;
} producer_arg;

/* Puts first, first+PRODUCERS, ... up to ITEMS (the producers interleave). */
static int producer(void *arg) {
  producer_arg *a = arg;
  for (intptr_t n = a->first; n <= ITEMS; n += PRODUCERS) {
    int rc = weft_aio_queue_put(a->p->numbers, (void *)n); /* waits while full */
    if (rc) return rc;
  }
  return 0;
}

static int squarer(void *arg) {
  pipeline *p = arg;
  for (;;) {
    void *item;
    int rc = weft_aio_queue_get(p->numbers, &item);
    if (rc == WEFT_ECANCELED) break; /* main is done with us */
    if (rc) return rc;
    intptr_t n = (intptr_t)item;
    rc = weft_aio_queue_put(p->squares, (void *)(n * n));
    weft_aio_queue_task_done(p->numbers);
    if (rc == WEFT_ECANCELED) break;
    if (rc) return rc;
  }
  p->cancelled++;
  return 0;
}

static int summer(void *arg) {
  pipeline *p = arg;
  void *item;
  int rc;
  while ((rc = weft_aio_queue_get(p->squares, &item)) == 0) {
    p->sum += (intptr_t)item;
    p->summed++;
    weft_aio_queue_task_done(p->squares);
  }
  if (rc != WEFT_ECANCELED) return rc;
  p->cancelled++;
  return 0;
}

static int pipeline_main(void *arg) {
  pipeline *p = arg;
  weft_aio_task *prod[PRODUCERS] = {0}, *workers[SQUARERS + 1] = {0};
  producer_arg pa[PRODUCERS];
  int rc = weft_aio_queue_create(&p->numbers, CAPACITY);
  if (!rc) rc = weft_aio_queue_create(&p->squares, CAPACITY);
  for (int i = 0; i < SQUARERS && !rc; i++) rc = weft_aio_spawn(squarer, p, &workers[i]);
  if (!rc) rc = weft_aio_spawn(summer, p, &workers[SQUARERS]);
  for (int i = 0; i < PRODUCERS && !rc; i++) {
    pa[i] = (producer_arg){p, i + 1};
    rc = weft_aio_spawn(producer, &pa[i], &prod[i]);
  }
  if (!rc) rc = weft_aio_gather(prod, PRODUCERS, 0);      /* everything is put */
  if (!rc) rc = weft_aio_queue_join(p->numbers);          /* ...and squared */
  if (!rc) rc = weft_aio_queue_join(p->squares);          /* ...and summed */
  /* The workers loop forever, like asyncio's: cancel them and wait. */
  for (int i = 0; i <= SQUARERS; i++)
    if (workers[i]) weft_aio_cancel(workers[i]);
  for (int i = 0; i <= SQUARERS; i++) {
    if (!workers[i]) continue;
    int wrc = weft_aio_await(workers[i]);
    if (!rc) rc = wrc;
    weft_aio_task_release(workers[i]);
  }
  for (int i = 0; i < PRODUCERS; i++) weft_aio_task_release(prod[i]);
  if (p->numbers) weft_aio_queue_destroy(p->numbers);
  if (p->squares) weft_aio_queue_destroy(p->squares);
  return rc;
}

int main(void) {
  pipeline p = {0};
  int rc = weft_aio_run(pipeline_main, &p);
  if (rc) {
    fprintf(stderr, "aio_pipeline: %s\n", weft_strerror(rc));
    return 1;
  }
  long expect = (long)ITEMS * (ITEMS + 1) * (2 * ITEMS + 1) / 6;
  printf("%d producers -> %d squarers -> 1 summer, queues of %d\n", PRODUCERS, SQUARERS, CAPACITY);
  printf("both queues joined: %d squares summed\n", p.summed);
  printf("sum of squares 1..%d = %ld (expected %ld)\n", ITEMS, p.sum, expect);
  printf("workers cancelled after join: %d of %d\n", p.cancelled, SQUARERS + 1);
  return p.sum == expect && p.summed == ITEMS && p.cancelled == SQUARERS + 1 ? 0 : 1;
}
