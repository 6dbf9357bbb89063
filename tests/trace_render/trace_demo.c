/* tests/trace_render/trace_demo.c — a program to trace: it never calls the
 * trace API, so running it with WEFT_TRACE=out.json tests the no-code-change
 * path. What it runs is known, so tests can check the trace against it:
 *
 *   trace_demo WORKERS TASKS [--procs] [--crash]
 *
 * - TASKS group tasks on a pool of WORKERS threads (one in 16 "work" for
 *   ~50 us, the rest tiny), then 8 submitted tasks;
 * - a task graph (a diamond of 4 nodes on the pool, each node recorded
 *   through the engines' internal API, as src/graph does): a -> b, a -> c,
 *   b -> d, c -> d, with c the slow branch, so the critical path is a c d;
 * - an event loop thread's coroutine runs and one I/O wait, recorded as
 *   the aio engine records them (3 coroutine spans, 1 wait);
 * - with --procs, 4 tasks on a process pool of 2 workers (process tracks,
 *   CPU time and peak RSS); with --crash one of them crashes its worker.
 * Prints the pool tasks and process tasks that completed. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "weft/pool.h"
#include "weft/proc.h"
#include "weft/future.h"
#include "trace/trace_internal.h"

static uint64_t spin_us(unsigned us) {
  uint64_t end = weft_now_ns() + us * 1000ull, x = 0;
  while (weft_now_ns() < end) x++;
  return x;
}

static int tiny_task(void *arg) {
  __atomic_fetch_add((unsigned *)arg, 1, __ATOMIC_RELAXED);
  return 0;
}

static int work_task(void *arg) {
  spin_us(50);
  __atomic_fetch_add((unsigned *)arg, 1, __ATOMIC_RELAXED);
  return 0;
}

static int submitted_task(void *arg) {
  (void)arg;
  spin_us(100);
  return 0;
}

/* ---- the diamond graph ---- */

typedef struct node {
  uint64_t id;
  const char *key;
  unsigned us;
} node;

static int node_task(void *arg) {
  node *n = arg;
  uint64_t t0 = weft__trace_active() ? weft__trace_now() : 0;
  spin_us(n->us);
  if (t0) weft__trace_node(1, n->id, weft__trace_intern(n->key), t0, weft__trace_now());
  return 0;
}

static int run_level(weft_pool *p, node *ns, size_t n) {
  weft_group g;
  weft_group_init(&g, p);
  for (size_t i = 0; i < n; i++) weft_group_spawn(&g, node_task, &ns[i]);
  int rc = weft_group_wait(&g);
  weft_group_destroy(&g);
  return rc;
}

static int run_graph(weft_pool *p) {
  node a = {1, "load-a", 200}, b = {2, "fast-b", 100}, c = {3, "slow-c", 2000},
       d = {4, "reduce-d", 300};
  if (weft__trace_active()) {
    weft__trace_edge(1, 2, 1);
    weft__trace_edge(1, 3, 1);
    weft__trace_edge(1, 4, 2);
    weft__trace_edge(1, 4, 3);
  }
  node l1[] = {a}, l2[] = {b, c}, l3[] = {d};
  int rc = run_level(p, l1, 1);
  if (!rc) rc = run_level(p, l2, 2);
  if (!rc) rc = run_level(p, l3, 1);
  return rc;
}

/* ---- an event loop, as the aio engine records one: two coroutines take
 * turns on the loop thread; one waits for I/O while the other runs ---- */

static int coro_a(void) { return 0; }
static int coro_b(void) { return 0; }

static void *loop_main(void *arg) {
  (void)arg;
  weft__trace_thread_role("demo-loop", "loop");
  if (!weft__trace_active()) return NULL;
  uint64_t t0 = weft__trace_now();
  spin_us(50);
  uint64_t t1 = weft__trace_now(); /* a runs, then waits to read fd 7 */
  weft__trace_span(WEFT__TK_CORO, (const void *)coro_a, WEFT__TN_FN, t0, t1, 1, 0, 0);
  spin_us(80);
  uint64_t t2 = weft__trace_now(); /* b runs meanwhile */
  weft__trace_span(WEFT__TK_CORO, (const void *)coro_b, WEFT__TN_FN, t1, t2, 2, 0, 0);
  spin_us(20);
  uint64_t t3 = weft__trace_now(); /* the read completes; a runs again */
  weft__trace_span(WEFT__TK_IO, "read", WEFT__TN_STR, t1, t3, 1, 7, 0);
  spin_us(30);
  weft__trace_span(WEFT__TK_CORO, (const void *)coro_a, WEFT__TN_FN, t3, weft__trace_now(), 1, 0, 0);
  return NULL;
}

/* ---- processes ---- */

static int proc_task(const void *arg, size_t size) {
  (void)size;
  int kind = *(const int *)arg;
  if (kind == 2) raise(SIGKILL); /* --crash */
  size_t n = kind ? (size_t)8 << 20 : 4096;
  char *m = malloc(n);
  if (m) memset(m, 1, n); /* peak RSS to see */
  free(m);
  spin_us(300);
  return 0;
}

static int run_procs(bool crash) {
  weft_ppool *pp;
  int rc = weft_ppool_create(&pp, &(weft_ppool_options){.processes = 2});
  if (rc) return rc;
  weft_future *f[4];
  for (int i = 0; i < 4; i++) {
    int kind = crash && i == 3 ? 2 : i & 1;
    if (weft_ppool_submit(pp, proc_task, &kind, sizeof kind, NULL, &f[i]) != 0) f[i] = NULL;
  }
  for (int i = 0; i < 4; i++) {
    if (!f[i]) continue;
    weft_future_wait(f[i]);
    weft_future_release(f[i]);
  }
  weft_ppool_destroy(pp);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: trace_demo WORKERS TASKS [--procs] [--crash]\n");
    return 2;
  }
  unsigned workers = (unsigned)atoi(argv[1]), n = (unsigned)atoi(argv[2]), done = 0;
  bool procs = false, crash = false;
  for (int i = 3; i < argc; i++) {
    procs |= strcmp(argv[i], "--procs") == 0;
    crash |= strcmp(argv[i], "--crash") == 0;
  }
  weft_pool *p;
  if (weft_pool_create(&p, &(weft_pool_options){.threads = workers, .name = "demo"}) != 0) return 1;
  weft_group g;
  weft_group_init(&g, p);
  for (unsigned i = 0; i < n; i++) weft_group_spawn(&g, i % 16 == 0 ? work_task : tiny_task, &done);
  int rc = weft_group_wait(&g);
  weft_group_destroy(&g);
  weft_future *f[8];
  for (int i = 0; i < 8 && !rc; i++) rc = weft_submit(p, submitted_task, NULL, &f[i]);
  for (int i = 0; i < 8 && !rc; i++) {
    rc = weft_future_wait(f[i]);
    weft_future_release(f[i]);
  }
  if (!rc) rc = run_graph(p);
  pthread_t loop;
  if (!rc && pthread_create(&loop, NULL, loop_main, NULL) == 0) pthread_join(loop, NULL);
  weft_pool_destroy(p);
  if (!rc && procs) rc = run_procs(crash);
  /* The graph's 4 nodes ran as pool tasks too; a crashed process task
   * never completes. */
  printf("pool tasks: %u\nprocess tasks: %d\n", done + 8 + 4, procs ? (crash ? 3 : 4) : 0);
  return rc ? 1 : 0;
}
