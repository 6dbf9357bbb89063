/* examples/channels.c — message passing: producers and consumers.
 *
 * The seeds' advice: "use queues or pipes to send messages between tasks"
 * rather than shared state. In Python:
 *
 *   q = queue.Queue(maxsize=16)
 *   def producer(): for n in range(1, 1001): q.put(n)
 *   def consumer(): while (n := q.get()) is not None: total += n
 *
 * A weft_chan is a thread-safe queue of fixed-size items. Closing it plays
 * the part of the None sentinel: receivers drain what is left, then get
 * WEFT_ECLOSED. Each consumer keeps its own total (no shared state). */
#include <stdio.h>
#include <weft/weft.h>

enum { PRODUCERS = 3, CONSUMERS = 2, ITEMS = 1000 };

typedef struct consumer { weft_chan *ch; long total, count; } consumer;

static int produce(void *arg) {
  weft_chan *ch = arg;
  for (long n = 1; n <= ITEMS; n++) {
    int rc = weft_chan_send(ch, &n);   /* blocks while the channel is full */
    if (rc) return rc;
  }
  return 0;
}

static int consume(void *arg) {
  consumer *c = arg;
  long n;
  int rc;
  while ((rc = weft_chan_recv(c->ch, &n)) == 0) {
    c->total += n;
    c->count++;
  }
  return rc == WEFT_ECLOSED ? 0 : rc;
}

int main(void) {
  weft_chan *ch;
  if (weft_chan_create(&ch, sizeof(long), 16)) return 1;
  weft_thread *prod[PRODUCERS], *cons[CONSUMERS];
  consumer c[CONSUMERS];
  for (int i = 0; i < CONSUMERS; i++) {
    c[i] = (consumer){ch, 0, 0};
    if (weft_thread_create(&cons[i], "consumer", consume, &c[i])) return 1;
  }
  for (int i = 0; i < PRODUCERS; i++)
    if (weft_thread_create(&prod[i], "producer", produce, ch)) return 1;

  for (int i = 0; i < PRODUCERS; i++) weft_thread_join(prod[i], NULL);
  weft_chan_close(ch);               /* no more messages: the sentinel */
  long total = 0, count = 0;
  for (int i = 0; i < CONSUMERS; i++) {
    weft_thread_join(cons[i], NULL);
    total += c[i].total;
    count += c[i].count;
  }
  weft_chan_destroy(ch);

  long expect = (long)PRODUCERS * ITEMS * (ITEMS + 1) / 2;
  printf("%d producers -> %d consumers\n", PRODUCERS, CONSUMERS);
  printf("received %ld messages, sum %ld (expected %ld)\n", count, total, expect);
  return total == expect && count == PRODUCERS * ITEMS ? 0 : 1;
}
