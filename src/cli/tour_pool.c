/* src/cli/tour_pool.c — tour steps for message passing and the pool's
 * Python-shaped API: queue.Queue (channels), Pool.map / starmap / apply /
 * *_async / imap_unordered / initializer, concurrent.futures, executors. */
#include <stdio.h>
#include <string.h>
#include "cli/tour.h"

/* ---- queue.Queue: producers and consumers pass messages over a channel ---- */

enum { CHAN_PRODUCERS = 2, CHAN_CONSUMERS = 2, CHAN_ITEMS = 50000 };

typedef struct chan_party { weft_chan *ch; int producer; uint64_t sum; } chan_party;

static int chan_produce(chan_party *p) {
  for (uint64_t v = 1; v <= CHAN_ITEMS; v++) {
    int rc = weft_chan_send(p->ch, &v);
    if (rc) return rc;
  }
  return 0;
}

static int chan_consume(chan_party *p) {
  uint64_t v;
  int rc;
  while ((rc = weft_chan_recv(p->ch, &v)) == 0) p->sum += v;
  return rc == WEFT_ECLOSED ? 0 : rc;   /* closed and drained: done */
}

static int chan_run(void *arg) {
  chan_party *p = arg;
  return p->producer ? chan_produce(p) : chan_consume(p);
}

/* Consumers run until the channel is closed and drained; it is closed once
 * every producer is done, the way a Python program puts a sentinel. */
int tour_channel(tour_out *out) {
  weft_chan *ch;
  int rc = weft_chan_create(&ch, sizeof(uint64_t), 256);
  if (rc) return tour_result(out, "weft_chan_create: %s", weft_strerror(rc)), rc;
  chan_party prod[CHAN_PRODUCERS], cons[CHAN_CONSUMERS];
  weft_thread *t[CHAN_CONSUMERS];
  for (int i = 0; i < CHAN_PRODUCERS; i++) prod[i] = (chan_party){ch, 1, 0};
  uint64_t t0 = weft_now_ns();
  int started = 0;
  for (; started < CHAN_CONSUMERS; started++) {
    cons[started] = (chan_party){ch, 0, 0};
    if ((rc = weft_thread_create(&t[started], "consumer", chan_run, &cons[started]))) break;
  }
  int prc = rc ? 0 : tour_run_threads(CHAN_PRODUCERS, chan_run, prod, sizeof prod[0]);
  weft_chan_close(ch);
  uint64_t sum = 0, expect = (uint64_t)CHAN_PRODUCERS * CHAN_ITEMS * (CHAN_ITEMS + 1) / 2;
  for (int i = 0; i < started; i++) {
    int res = 0;
    weft_thread_join(t[i], &res);
    if (!rc) rc = res;
    sum += cons[i].sum;
  }
  out->ns = weft_now_ns() - t0;
  weft_chan_destroy(ch);
  tour_result(out, "%dx%d msgs, sum %s", CHAN_PRODUCERS, CHAN_ITEMS,
              sum == expect ? "checked" : "WRONG");
  return rc ? rc : prc ? prc : sum != expect;
}

/* ---- Pool(processes=5).map(square, dataset, chunksize=3): the seed ---- */

static int square(const void *in, void *out, void *ctx) {
  (void)ctx;
  *(int *)out = *(const int *)in * *(const int *)in;
  return 0;
}

static void format_list(char *buf, size_t len, const char *label, const int *v, size_t n) {
  size_t used = (size_t)snprintf(buf, len, "%s: [", label);
  for (size_t i = 0; i < n && used < len; i++)
    used += (size_t)snprintf(buf + used, len - used, "%s%d", i ? ", " : "", v[i]);
  if (used < len) snprintf(buf + used, len - used, "]");
}

int tour_pool_map(tour_out *out) {
  int dataset[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}, result[14] = {0};
  weft_pool *pool;
  int rc = weft_pool_create(&pool, &(weft_pool_options){.threads = 5, .name = "agent"});
  if (rc) return tour_result(out, "weft_pool_create: %s", weft_strerror(rc)), rc;
  weft_map m = {.fn = square, .in = dataset, .in_size = sizeof(int), .out = result,
                .out_size = sizeof(int), .n = 14, .chunksize = 3};
  uint64_t t0 = weft_now_ns();
  rc = weft_map_run(pool, &m);
  out->ns = weft_now_ns() - t0;
  weft_pool_destroy(pool);
  int wrong = 0;
  for (int i = 0; i < 14; i++) wrong += result[i] != dataset[i] * dataset[i];
  format_list(out->notes[out->nnotes++], sizeof out->notes[0], "Dataset", dataset, 14);
  format_list(out->notes[out->nnotes++], sizeof out->notes[0], "Result", result, 14);
  tour_result(out, "14 squares, 5 agents, %s", wrong ? "WRONG" : "in order");
  return rc ? rc : wrong != 0;
}

/* ---- Pool(initializer=...): runs once in every worker ---- */

static int count_worker(void *ctx, unsigned worker) {
  (void)worker;
  __atomic_add_fetch((unsigned *)ctx, 1, __ATOMIC_ACQ_REL);
  return 0;
}

int tour_pool_initializer(tour_out *out) {
  unsigned inits = 0;
  weft_pool *pool;
  uint64_t t0 = weft_now_ns();
  int rc = weft_pool_create(&pool, &(weft_pool_options){.threads = 3, .init = count_worker,
                                                        .ctx = &inits});
  if (rc) return tour_result(out, "weft_pool_create: %s", weft_strerror(rc)), rc;
  rc = weft_pool_destroy(pool);
  out->ns = weft_now_ns() - t0;
  tour_result(out, "3 workers, initializer ran %u times", inits);
  return rc ? rc : inits != 3;
}

/* ---- Pool.starmap (items are argument tuples) and Pool.apply ---- */

typedef struct pair { int a, b; } pair;

static int multiply(const void *in, void *out, void *ctx) {
  (void)ctx;
  const pair *p = in;
  *(long *)out = (long)p->a * p->b;
  return 0;
}

static int answer(void *arg) {
  *(int *)arg = 6 * 7;
  return 0;
}

enum { STAR_N = 1000 };

int tour_starmap_apply(tour_out *out) {
  pair args[STAR_N];
  long products[STAR_N];
  for (int i = 0; i < STAR_N; i++) args[i] = (pair){i, i + 1};
  weft_map m = {.fn = multiply, .in = args, .in_size = sizeof(pair), .out = products,
                .out_size = sizeof(long), .n = STAR_N};
  int applied = 0;
  uint64_t t0 = weft_now_ns();
  int rc = weft_map_run(NULL, &m);
  int arc = weft_apply(NULL, answer, &applied);
  out->ns = weft_now_ns() - t0;
  int wrong = 0;
  for (int i = 0; i < STAR_N; i++) wrong += products[i] != (long)i * (i + 1);
  tour_result(out, "%d a*b %s, apply -> %d", STAR_N, wrong ? "WRONG" : "ok", applied);
  return rc ? rc : arc ? arc : wrong || applied != 42;
}

/* ---- map_async (a future for the whole map) and imap_unordered (results
 * per chunk as they finish, in completion order) ---- */

enum { ASYNC_N = 10000 };

static int count_chunk(size_t begin, size_t end, void *arg) {
  size_t *seen = arg;
  seen[0] += end - begin;
  seen[1]++;
  return 0;
}

int tour_async_family(tour_out *out) {
  static int in[ASYNC_N], sq_async[ASYNC_N], sq_stream[ASYNC_N];
  for (int i = 0; i < ASYNC_N; i++) in[i] = i;
  weft_map a = {.fn = square, .in = in, .in_size = sizeof(int), .out = sq_async,
                .out_size = sizeof(int), .n = ASYNC_N, .chunksize = 500};
  weft_map s = a;
  s.out = sq_stream;
  size_t seen[2] = {0, 0};   /* items, chunks */
  weft_future *f = NULL;
  uint64_t t0 = weft_now_ns();
  int rc = weft_map_async(NULL, &a, &f);
  int src = weft_map_stream(NULL, &s, count_chunk, seen);   /* overlaps map_async */
  if (!rc) rc = weft_future_wait(f);
  out->ns = weft_now_ns() - t0;
  weft_future_release(f);
  int wrong = 0;
  for (int i = 0; i < ASYNC_N; i++) wrong += sq_async[i] != i * i || sq_stream[i] != i * i;
  tour_result(out, "%d+%zu items, %zu chunks %s", ASYNC_N, seen[0], seen[1],
              wrong ? "WRONG" : "ok");
  return rc ? rc : src ? src : wrong || seen[0] != ASYNC_N;
}
