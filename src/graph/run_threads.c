/* src/graph/run_threads.c — running a graph on the inline and threads
 * executors.
 *
 * The compute does not hand each node to the executor. It submits at most
 * `workers` runner tasks; a runner takes the best ready task, runs it,
 * completes it (freeing inputs, readying consumers) and takes the next one
 * itself, under one lock taken once per task. Only when more work is ready
 * than there are runners does a runner submit another. So a node costs a
 * lock round trip and a heap operation, not a future and a wake-up — that
 * is the per-node overhead `weft bench graph` measures. On the inline
 * executor the single runner runs inside the compute call. */
#include <stdlib.h>
#include <string.h>

#include "graph/graph_internal.h"
#include "pool/task.h"

typedef struct tdrv {
  weft_executor *ex;
  size_t runners;        /* runner tasks submitted and not yet done */
  weft_future **futs;    /* every runner's future, released at the end */
  size_t nfuts, cap;
  int err;               /* a submit error when no runner could start */
} tdrv;

/* The running pool task's weft_task_fail message, taken over (or NULL). */
static char *take_message(void) {
  weft__task *t = weft__tls.task;
  if (!t) return NULL;
  char *m = t->msg;
  t->msg = NULL;
  return m;
}

int weft__graph_run_chain(weft_graph *g, uint32_t head, weft_graph_value *out, uint32_t *at,
                          char **msg) {
  gnode *x = &g->nodes[head];
  weft_graph_value small[8], *buf = x->ndeps > 8 ? malloc(x->ndeps * sizeof *buf) : small;
  if (!buf) {
    *at = head;
    *msg = NULL;
    return WEFT_ENOMEM;
  }
  const uint32_t *d = weft__graph_deps(g, x);
  for (uint32_t k = 0; k < x->ndeps; k++)
    buf[k] = (weft_graph_value){g->nodes[d[k]].data, g->nodes[d[k]].size};
  const weft_graph_value *in = buf;
  size_t nin = x->ndeps;
  weft_graph_value prev = {0};
  int rc = 0, worker = weft_pool_worker_index();
  /* one clock read per node (a node starts when its predecessor ended):
   * on these VMs a read costs ~20 ns, a fifth of a tiny node's overhead */
  uint64_t t0 = weft_now_ns();
  for (uint32_t v = head; v != GNONE; v = g->nodes[v].next) {
    gnode *y = &g->nodes[v];
    weft_graph_value r = {0};
    rc = y->fn(in, nin, weft__graph_arg(g, y), y->arg_size, &r);
    uint64_t t1 = weft_now_ns();
    y->worker = worker;
    y->start_ns = t0 - g->t0;
    y->run_ns = t1 - t0;
    weft__graph_trace_node(g, v, t0, t1);
    t0 = t1;
    free(prev.data); /* the chain's previous result: consumed */
    prev = (weft_graph_value){0};
    if (rc) {
      free(r.data);
      *at = v;
      *msg = take_message();
      rc = rc > 0 ? WEFT_ETASK : rc;
      break;
    }
    y->state = WEFT_GRAPH_DONE;
    y->out_size = r.size;
    prev = r;
    in = &prev;
    nin = 1;
  }
  if (buf != small) free(buf);
  *out = prev;
  return rc;
}

/* ---- runners ---- */

static int runner(void *arg);

/* Submits n more runners (counted in d->runners already, by the caller). */
static void spawn(weft_graph *g, tdrv *d, size_t n) {
  for (size_t i = 0; i < n; i++) {
    weft_future *f = NULL;
    int rc = weft_executor_submit(d->ex, runner, g, &f);
    pthread_mutex_lock(&g->mu);
    if (rc == 0 && d->nfuts == d->cap) {
      size_t cap = d->cap ? d->cap * 2 : 16;
      weft_future **v = realloc(d->futs, cap * sizeof *v);
      if (v) d->futs = v, d->cap = cap;
    }
    if (rc == 0 && d->nfuts < d->cap) {
      d->futs[d->nfuts++] = f;
      pthread_cond_broadcast(&g->cv); /* a helping caller waits for it (below) */
    } else if (rc == 0) {
      weft_future_release(f); /* no room to remember it: let it go */
    }
    if (rc) {
      d->err = rc;
      if (--d->runners == 0) pthread_cond_broadcast(&g->cv);
    }
    pthread_mutex_unlock(&g->mu);
  }
}

/* How many more runners the ready work could use (called under the lock;
 * the count is reserved at once). */
static size_t more_runners(weft_graph *g, tdrv *d) {
  size_t ready = g->roots.n + g->inner.n, n = 0;
  while (!g->stop && d->runners < g->workers && n < ready) d->runners++, n++;
  return n;
}

static int runner(void *arg) {
  weft_graph *g = arg;
  tdrv *d = g->drv;
  pthread_mutex_lock(&g->mu);
  for (;;) {
    uint32_t h = weft__graph_pick(g);
    if (h == GNONE) break;
    size_t extra = more_runners(g, d);
    pthread_mutex_unlock(&g->mu);
    if (extra) spawn(g, d, extra);
    weft_graph_value out = {0};
    uint32_t at = GNONE;
    char *msg = NULL;
    int rc = weft__graph_run_chain(g, h, &out, &at, &msg);
    pthread_mutex_lock(&g->mu);
    weft__graph_complete(g, h, rc, at, out.data, out.size, NULL, msg);
    free(msg);
  }
  if (--d->runners == 0) pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
  return 0;
}

/* weft_graph_cancel's hook (under g->mu): running node functions see
 * weft_task_cancelled(). */
static void cancel_runners(weft_graph *g) {
  tdrv *d = g->drv;
  for (size_t i = 0; i < d->nfuts; i++)
    if (weft_future_cancel(d->futs[i]) == 0 && --d->runners == 0) /* never to run */
      pthread_cond_broadcast(&g->cv);
}

/* Called from a pool worker (a node computing a graph of its own, say), the
 * caller must not block its worker in a condition variable: the runners
 * may need it. It joins as a runner, then waits on the runners' futures,
 * which in a worker runs other tasks meanwhile. */
static void help_until_done(weft_graph *g, tdrv *d) {
  runner(g); /* counted in d->runners by the caller */
  pthread_mutex_lock(&g->mu);
  for (size_t i = 0; d->runners > 0;) {
    if (i == d->nfuts) { /* a runner being registered by its spawner */
      pthread_cond_wait(&g->cv, &g->mu);
      continue;
    }
    weft_future *f = d->futs[i++];
    pthread_mutex_unlock(&g->mu);
    weft_future_wait(f);
    pthread_mutex_lock(&g->mu);
  }
  pthread_mutex_unlock(&g->mu);
}

int weft__graph_run_threads(weft_graph *g, weft_executor *ex) {
  tdrv d = {.ex = ex};
  bool helper = weft_pool_worker_index() >= 0 && strcmp(weft_executor_kind(ex), "inline") != 0;
  pthread_mutex_lock(&g->mu);
  g->drv = &d;
  g->on_cancel = cancel_runners;
  if (helper) d.runners++; /* this thread */
  size_t first = more_runners(g, &d);
  pthread_mutex_unlock(&g->mu);
  spawn(g, &d, first);
  if (helper) help_until_done(g, &d);
  pthread_mutex_lock(&g->mu);
  while (d.runners > 0) pthread_cond_wait(&g->cv, &g->mu);
  g->on_cancel = NULL;
  g->drv = NULL;
  pthread_mutex_unlock(&g->mu);
  /* a runner's task may still be returning: wait before the graph can go */
  for (size_t i = 0; i < d.nfuts; i++) {
    weft_future_wait(d.futs[i]);
    weft_future_release(d.futs[i]);
  }
  free(d.futs);
  return g->tasks_left && !g->stop && d.err ? d.err : 0;
}
