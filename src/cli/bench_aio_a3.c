/* src/cli/bench_aio_a3.c — A3 (`weft bench aio`): the cost of tasks, of a
 * hand-off through async queues, and of the raw coroutine switch; weft's
 * side, in this process (the asyncio side is bench/peer_asyncio.py A3).
 *
 *   spawn   n tasks made with weft_aio_spawn, then weft_aio_gather'ed and
 *           released; ns per task. As asyncio's create_task + gather: the
 *           tasks only run once the spawner awaits. Each returns its index
 *           as its result, summed afterwards (every task ran, once).
 *   queue   n round trips between two tasks through two unbounded
 *           weft_aio_queue (asyncio.Queue()): put, then get the answer;
 *           the other task gets, adds one, puts back. ns per round trip.
 *   switch  weft__coro_resume into a coroutine that yields straight back,
 *           n times, outside any loop; ns per switch (a resume + yield pair
 *           is two switches). Rows for the assembly switch (impl weft) and
 *           the portable ucontext one (weft-ucontext).
 *
 * Each figure is the median of c->reps runs after one warm-up run, all in
 * one weft_aio_run (the loop's creation is not timed, as asyncio's peer
 * does not time new_event_loop). */
#include "aio/coro.h"
#include "weft/aio.h"
#include "cli/bench_aio.h"

typedef struct a3_run {
  size_t n, trips;  /* tasks per spawn run, round trips per queue run */
  int reps;
  double spawn_ns, queue_ns;
  int err;
  const char *what;
} a3_run;

static void a3_fail(a3_run *r, int e, const char *what) {
  if (r->err) return;
  r->err = e ? e : WEFT_ESYSTEM;
  r->what = what;
}

/* ---- spawn + gather ---- */

static int index_task(void *arg) {
  weft_aio_set_result(arg);
  return 0;
}

/* One run: ns per task, or 0 after a failure (recorded in r). */
static double spawn_once(a3_run *r, weft_aio_task **ts) {
  uint64_t t0 = wb_now_ns();
  size_t made = 0;
  for (; made < r->n; made++) {
    int e = weft_aio_spawn(index_task, (void *)(uintptr_t)made, &ts[made]);
    if (e) {
      a3_fail(r, e, "weft_aio_spawn");
      break;
    }
  }
  int e = weft_aio_gather(ts, made, 0);
  uint64_t sum = 0;
  for (size_t i = 0; i < made; i++) {
    sum += (uintptr_t)weft_aio_task_result(ts[i]);
    weft_aio_task_release(ts[i]);
  }
  double ns = (double)(wb_now_ns() - t0) / (double)r->n;
  if (e) a3_fail(r, e, "weft_aio_gather");
  if (!r->err && sum != (uint64_t)r->n * (r->n - 1) / 2) a3_fail(r, 0, "wrong task results");
  return r->err ? 0 : ns;
}

/* ---- queue ping-pong ---- */

typedef struct pingpong {
  weft_aio_queue *there, *back;
  size_t n;
} pingpong;

static int ponger(void *arg) {
  pingpong *p = arg;
  for (size_t i = 0; i < p->n; i++) {
    void *v;
    int e = weft_aio_queue_get(p->there, &v);
    if (!e) e = weft_aio_queue_put(p->back, (void *)((uintptr_t)v + 1));
    if (e) return e;
  }
  return 0;
}

static double queue_once(a3_run *r) {
  pingpong p = {.n = r->trips};
  weft_aio_task *t = NULL;
  int e = weft_aio_queue_create(&p.there, 0);
  if (!e) e = weft_aio_queue_create(&p.back, 0);
  if (!e) e = weft_aio_spawn(ponger, &p, &t);
  uint64_t t0 = wb_now_ns();
  for (size_t i = 0; !e && i < p.n; i++) {
    void *v = NULL;
    e = weft_aio_queue_put(p.there, (void *)i);
    if (!e) e = weft_aio_queue_get(p.back, &v);
    if (!e && (uintptr_t)v != i + 1) e = WEFT_ESYSTEM;
  }
  double ns = (double)(wb_now_ns() - t0) / (double)p.n;
  if (t) {
    if (e) weft_aio_cancel(t);
    int te = weft_aio_await(t);
    if (!e && te) e = te;
    weft_aio_task_release(t);
  }
  if (p.there) weft_aio_queue_destroy(p.there);
  if (p.back) weft_aio_queue_destroy(p.back);
  if (e) a3_fail(r, e, "queue ping-pong");
  return r->err ? 0 : ns;
}

/* The main task: the warm-up run and the timed runs of both. */
static int a3_main(void *arg) {
  a3_run *r = arg;
  double v[WB_MAX_REPS];
  weft_aio_task **ts = malloc(r->n * sizeof *ts);
  if (!ts) return a3_fail(r, WEFT_ENOMEM, "malloc"), 0;
  for (int i = -1; i < r->reps && !r->err; i++) {
    double x = spawn_once(r, ts);
    if (i >= 0) v[i] = x;
  }
  free(ts);
  if (!r->err) r->spawn_ns = wb_median(v, (size_t)r->reps);
  for (int i = -1; i < r->reps && !r->err; i++) {
    double x = queue_once(r);
    if (i >= 0) v[i] = x;
  }
  if (!r->err) r->queue_ns = wb_median(v, (size_t)r->reps);
  return 0;
}

/* ---- the raw switch ---- */

static void *bouncer(void *arg) {
  (void)arg;
  for (;;) weft__coro_yield(NULL, NULL);
  return NULL;
}

typedef struct switch_run {
  weft__coro *co;
  size_t n;
} switch_run;

static double switch_once(void *arg) {
  switch_run *s = arg;
  uint64_t t0 = wb_now_ns();
  for (size_t i = 0; i < s->n; i++) weft__coro_resume(s->co, NULL, NULL);
  return (double)(wb_now_ns() - t0) / (2.0 * (double)s->n);
}

/* ns per switch with `backend`, or a negative code. The bouncer never
 * returns: destroying it while suspended is allowed (it owns nothing). */
static double measure_switch(bench_ctx *c, weft__coro_backend backend) {
  switch_run s = {.n = c->size.a3_switches};
  int e = weft__coro_create_ex(&s.co, bouncer, NULL, 0, backend);
  if (e) return e;
  double ns = bench_median(c, switch_once, &s, 1);
  weft__coro_destroy(s.co);
  return ns;
}

int bench_a3_weft(bench_ctx *c) {
  a3_run r = {.n = c->size.a3_tasks, .trips = c->size.a3_trips, .reps = c->reps};
  bench_progress(c, "A3 weft: %zu tasks spawned + gathered, then %zu queue round trips",
                 r.n, r.trips);
  int e = weft_aio_run(a3_main, &r), failed = 0;
  if (e || r.err) {
    fprintf(stderr, "weft bench: A3 %s: %s\n", r.err ? r.what : "weft_aio_run",
            weft_strerror(r.err ? r.err : e));
    failed = 1;
  }
  if (r.spawn_ns > 0) bench_emit(c, "A3", "spawn", "weft", 1, r.spawn_ns, "ns/task", false, NULL);
  if (r.queue_ns > 0) bench_emit(c, "A3", "queue", "weft", 1, r.queue_ns, "ns/trip", false, NULL);
  static const struct {
    weft__coro_backend b;
    const char *impl;
  } sw[] = {{WEFT__CORO_ASM, "weft"}, {WEFT__CORO_UCONTEXT, "weft-ucontext"}};
  for (size_t i = 0; i < sizeof sw / sizeof sw[0]; i++) {
    if (sw[i].b == WEFT__CORO_ASM && !weft__coro_has_asm()) continue;
    bench_progress(c, "A3 %s: %zu coroutine switch pairs", sw[i].impl, c->size.a3_switches);
    double ns = measure_switch(c, sw[i].b);
    if (ns > 0) bench_emit(c, "A3", "switch", sw[i].impl, 1, ns, "ns/switch", false, NULL);
    else {
      fprintf(stderr, "weft bench: A3 %s switch: %s\n", sw[i].impl, weft_strerror((int)ns));
      failed = 1;
    }
  }
  return failed;
}
