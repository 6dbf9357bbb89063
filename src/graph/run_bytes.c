/* src/graph/run_bytes.c — running a graph on the processes executor.
 *
 * A task crosses to a worker process as one byte buffer: the functions of
 * its fused chain (named portably, src/proc/launch.h) with their argument
 * bytes, then the head's inputs. The worker runs the chain with
 * weft__graph_bytes_task and returns the last result followed by a trailer
 * of per-node run times. The result stays in the future that brought it
 * (the future owns the bytes: no copy), until its last consumer has run.
 *
 * The calling thread drives: it keeps up to 2 x workers tasks in flight
 * (so a worker finds the next task queued when it finishes one), and
 * completion callbacks only queue the finished head and wake it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph_internal.h"
#include "pool/task.h"
#include "proc/launch.h"

#define BMAGIC 0x77676231u /* "wgb1" */
#define ALIGN16(x) (((x) + 15) & ~(size_t)15)

typedef struct bhdr {
  uint32_t magic, k, m, pad;
} bhdr;

typedef struct bfn {
  weft__fnref ref;
  uint64_t arg_size;
} bfn;

/* ---- in the worker process ---- */

/* The buffer's layout: bhdr, k bfn, k argument blocks (16-aligned), m input
 * sizes, m input blocks (16-aligned). */
typedef struct bview {
  const bhdr *h;
  const bfn *fns;
  const unsigned char *args[64];
  weft_graph_value *in;
} bview;

static int parse(const unsigned char *p, size_t size, bview *v) {
  if (size < sizeof(bhdr)) return WEFT_EINVAL;
  v->h = (const bhdr *)p;
  if (v->h->magic != BMAGIC || v->h->k == 0 || v->h->k > 64) return WEFT_EINVAL;
  size_t off = ALIGN16(sizeof(bhdr) + v->h->k * sizeof(bfn));
  if (off > size) return WEFT_EINVAL;
  v->fns = (const bfn *)(p + sizeof(bhdr));
  for (uint32_t i = 0; i < v->h->k; i++) {
    v->args[i] = p + off;
    off = ALIGN16(off + v->fns[i].arg_size);
  }
  const uint64_t *sizes = (const uint64_t *)(p + off);
  off = ALIGN16(off + v->h->m * sizeof(uint64_t));
  if (off > size) return WEFT_EINVAL;
  v->in = malloc((v->h->m ? v->h->m : 1) * sizeof *v->in);
  if (!v->in) return WEFT_ENOMEM;
  for (uint32_t i = 0; i < v->h->m; i++) {
    v->in[i] = (weft_graph_value){(void *)(p + off), sizes[i]};
    off = ALIGN16(off + sizes[i]);
  }
  if (off > ALIGN16(size)) {
    free(v->in);
    return WEFT_EINVAL;
  }
  return 0;
}

/* Fails the task naming chain node i ("i|message"), for the parent. */
static int fail_at(uint32_t i, int code, const char *text) {
  weft__task *t = weft__tls.task;
  char *old = t ? t->msg : NULL;
  if (t) t->msg = NULL;
  weft_task_fail(code, "%u|%s", i, text ? text : old ? old : "");
  free(old);
  return code;
}

/* Runs the chain; the result then k run times then k, as one buffer. */
static int run_view(const bview *v) {
  uint32_t k = v->h->k;
  uint64_t times[64];
  const weft_graph_value *in = v->in;
  size_t nin = v->h->m;
  weft_graph_value prev = {0};
  for (uint32_t i = 0; i < k; i++) {
    void *fn;
    char err[256];
    if (weft__fnref_resolve(&v->fns[i].ref, &fn, err, sizeof err) != 0) {
      free(prev.data);
      return fail_at(i, WEFT_ENOENT, err);
    }
    weft_graph_value r = {0};
    uint64_t t0 = weft_now_ns();
    int rc = ((weft_graph_fn)fn)(in, nin, v->fns[i].arg_size ? v->args[i] : NULL,
                                 v->fns[i].arg_size, &r);
    times[i] = weft_now_ns() - t0;
    free(prev.data);
    if (rc) {
      free(r.data);
      return fail_at(i, rc > 0 ? WEFT_ETASK : rc, NULL);
    }
    prev = r;
    in = &prev;
    nin = 1;
  }
  size_t trailer = (k + 1) * sizeof(uint64_t);
  unsigned char *buf = realloc(prev.data, prev.size + trailer);
  if (!buf) {
    free(prev.data);
    return fail_at(k - 1, WEFT_ENOMEM, "no memory for the result");
  }
  memcpy(buf + prev.size, times, k * sizeof(uint64_t));
  uint64_t kk = k;
  memcpy(buf + prev.size + k * sizeof(uint64_t), &kk, sizeof kk);
  weft_task_set_result(buf, prev.size + trailer, free);
  return 0;
}

/* The weft_proc_fn every graph task runs as in a worker process. */
int weft__graph_bytes_task(const void *arg, size_t size);
int weft__graph_bytes_task(const void *arg, size_t size) {
  void *copy = NULL;
  if ((uintptr_t)arg % 16) { /* inputs must be as aligned as malloc's */
    if (!(copy = aligned_alloc(16, ALIGN16(size)))) return WEFT_ENOMEM;
    memcpy(copy, arg, size);
    arg = copy;
  }
  bview v;
  int rc = parse(arg, size, &v);
  if (rc) rc = fail_at(0, rc, "malformed graph task");
  else rc = run_view(&v), free(v.in);
  free(copy);
  return rc;
}

/* ---- in the calling process ---- */

typedef struct bslot {
  struct bdrv *d;
  uint32_t head;
} bslot;

typedef struct bdrv {
  weft_graph *g;
  weft_future **fut;   /* per head, while in flight */
  bslot *slots;        /* per head: the callback's argument */
  uint32_t *done;      /* heads whose futures finished, from callbacks */
  size_t ndone, inflight;
  bool cancel_sent;
} bdrv;

static void on_done(weft_future *f, void *arg) {
  (void)f;
  bslot *s = arg;
  weft_graph *g = s->d->g;
  pthread_mutex_lock(&g->mu);
  s->d->done[s->d->ndone++] = s->head;
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
}

/* Serialises task `head` (under the lock: its inputs are stable); NULL
 * with *rc and *at set on failure. */
static unsigned char *build(weft_graph *g, uint32_t head, size_t *size, int *rc, uint32_t *at,
                            char *err, size_t errlen) {
  gnode *h = &g->nodes[head];
  uint32_t k = 0;
  size_t args = 0;
  for (uint32_t v = head; v != GNONE; v = g->nodes[v].next, k++) args += ALIGN16(g->nodes[v].arg_size);
  const uint32_t *d = weft__graph_deps(g, h);
  size_t total = ALIGN16(sizeof(bhdr) + k * sizeof(bfn)) + args +
                 ALIGN16(h->ndeps * sizeof(uint64_t));
  for (uint32_t i = 0; i < h->ndeps; i++) total += ALIGN16(g->nodes[d[i]].size);
  *at = head;
  if (k > 64) { /* plan.c cuts chains at 64 nodes */
    *rc = WEFT_ERANGE;
    snprintf(err, errlen, "a fused chain of %u nodes (at most 64 cross to a process)", k);
    return NULL;
  }
  unsigned char *p = calloc(1, total), *w;
  if (!p) return *rc = WEFT_ENOMEM, NULL;
  *(bhdr *)p = (bhdr){BMAGIC, k, h->ndeps, 0};
  bfn *fns = (bfn *)(p + sizeof(bhdr));
  w = p + ALIGN16(sizeof(bhdr) + k * sizeof(bfn));
  uint32_t i = 0;
  for (uint32_t v = head; v != GNONE; v = g->nodes[v].next, i++) {
    gnode *x = &g->nodes[v];
    if ((*rc = weft__fnref_make(&fns[i].ref, (const void *)x->fn, err, errlen)) != 0) {
      *at = v;
      free(p);
      return NULL;
    }
    fns[i].arg_size = x->arg_size;
    if (x->arg_size) memcpy(w, weft__graph_arg(g, x), x->arg_size);
    w = p + ALIGN16((size_t)(w - p) + x->arg_size);
  }
  uint64_t *sizes = (uint64_t *)w;
  w = p + ALIGN16((size_t)(w - p) + h->ndeps * sizeof(uint64_t));
  for (uint32_t j = 0; j < h->ndeps; j++) {
    gnode *y = &g->nodes[d[j]];
    sizes[j] = y->size;
    if (y->size) memcpy(w, y->data, y->size);
    w = p + ALIGN16((size_t)(w - p) + y->size);
  }
  *size = (size_t)(w - p);
  return p;
}

/* A finished task: its result (kept in its future) or its failure. */
static void harvest(weft_graph *g, bdrv *d, uint32_t head) {
  weft_future *f = d->fut[head];
  d->fut[head] = NULL;
  d->inflight--;
  void *v = NULL;
  size_t size = 0;
  int code = weft_future_result(f, &v, &size);
  uint32_t k = 0;
  for (uint32_t x = head; x != GNONE; x = g->nodes[x].next) k++;
  size_t trailer = (k + 1) * sizeof(uint64_t);
  if (code == 0 && (size < trailer || !v)) code = WEFT_ESYSTEM;
  if (code) {
    const char *m = weft_future_message(f);
    uint32_t at = head, i = 0;
    char *bar = strchr(m, '|');
    if (bar && sscanf(m, "%u|", &i) == 1) { /* "i|message": chain node i failed */
      m = bar + 1;
      for (uint32_t x = head; x != GNONE && i > 0; x = g->nodes[x].next, i--) {
        g->nodes[x].state = WEFT_GRAPH_DONE;
        at = g->nodes[x].next;
      }
    }
    if (code == WEFT_ECANCELED && g->stop) at = GNONE; /* stopped, not failed */
    weft__graph_complete(g, head, code, at, NULL, 0, NULL, m);
    weft_future_release(f);
    return;
  }
  const unsigned char *t = (const unsigned char *)v + size - trailer;
  uint64_t start = g->nodes[head].start_ns;
  uint32_t i = 0;
  for (uint32_t x = head; x != GNONE; x = g->nodes[x].next, i++) {
    gnode *y = &g->nodes[x];
    memcpy(&y->run_ns, t + i * sizeof(uint64_t), sizeof(uint64_t));
    y->start_ns = start; /* the submit time; then each after its predecessor */
    weft__graph_trace_node(g, x, g->t0 + start, g->t0 + start + y->run_ns);
    start += y->run_ns;
    y->state = WEFT_GRAPH_DONE;
    if (y->next == GNONE) y->out_size = size - trailer;
  }
  weft__graph_complete(g, head, 0, GNONE, v, size - trailer, f, NULL);
}

/* Starts `head` in a worker (called with the lock held; drops it around
 * the submit, since a finished future runs its callback at once). */
static void launch(weft_graph *g, bdrv *d, weft_executor *ex, uint32_t head) {
  char err[256] = "";
  int rc = 0;
  uint32_t at;
  size_t size = 0;
  unsigned char *p = build(g, head, &size, &rc, &at, err, sizeof err);
  if (!p) {
    weft__graph_complete(g, head, rc, at, NULL, 0, NULL, err);
    return;
  }
  g->nodes[head].start_ns = weft_now_ns() - g->t0;
  d->inflight++;
  pthread_mutex_unlock(&g->mu);
  weft_future *f = NULL;
  rc = weft_executor_submit_bytes(ex, weft__graph_bytes_task, p, size, &f);
  free(p);
  pthread_mutex_lock(&g->mu);
  if (rc) {
    d->inflight--;
    weft__graph_complete(g, head, rc, GNONE, NULL, 0, NULL, "the task could not be submitted");
    return;
  }
  d->fut[head] = f;
  pthread_mutex_unlock(&g->mu);
  if (weft_future_on_done(f, on_done, &d->slots[head]) != 0) { /* no memory: wait here */
    weft_future_wait(f);
    on_done(f, &d->slots[head]);
  }
  pthread_mutex_lock(&g->mu);
}

/* After a failure or a cancel: tasks still queued in the pool never start
 * (running ones finish). Called with the lock held; drops it around the
 * cancels, since cancelling a queued future runs its callback (on_done,
 * which takes the lock) at once in this thread. */
static void cancel_queued(weft_graph *g, bdrv *d) {
  d->cancel_sent = true;
  weft_future **fs = malloc((d->inflight ? d->inflight : 1) * sizeof *fs);
  size_t n = 0;
  for (uint32_t i = 0; fs && i < g->n && n < d->inflight; i++)
    if (d->fut[i]) weft_future_retain(fs[n++] = d->fut[i]);
  pthread_mutex_unlock(&g->mu);
  for (size_t i = 0; i < n; i++) {
    weft_future_cancel(fs[i]);
    weft_future_release(fs[i]);
  }
  free(fs);
  pthread_mutex_lock(&g->mu);
}

int weft__graph_run_bytes(weft_graph *g, weft_executor *ex) {
  bdrv d = {.g = g};
  d.fut = calloc(g->n, sizeof *d.fut);
  d.slots = malloc(g->n * sizeof *d.slots);
  d.done = malloc(g->n * sizeof *d.done);
  if (!d.fut || !d.slots || !d.done) {
    free(d.fut), free(d.slots), free(d.done);
    return WEFT_ENOMEM;
  }
  for (uint32_t i = 0; i < g->n; i++) d.slots[i] = (bslot){&d, i};
  size_t limit = 2 * (size_t)g->workers;
  pthread_mutex_lock(&g->mu);
  g->drv = &d; /* no on_cancel hook: weft_graph_cancel's broadcast wakes this loop */
  for (;;) {
    while (d.ndone) harvest(g, &d, d.done[--d.ndone]);
    if ((g->stop || atomic_load(&g->cancel)) && !d.cancel_sent) {
      cancel_queued(g, &d);
      continue;
    }
    bool launched = false;
    while (d.inflight < limit) {
      uint32_t h = weft__graph_pick(g);
      if (h == GNONE) break;
      launch(g, &d, ex, h);
      launched = true;
    }
    if (d.inflight == 0 && !d.ndone && !launched) break;
    if (!d.ndone && !launched) pthread_cond_wait(&g->cv, &g->mu);
  }
  g->drv = NULL;
  int rc = g->tasks_left && !g->stop && !atomic_load(&g->cancel) ? WEFT_ESYSTEM : 0;
  pthread_mutex_unlock(&g->mu);
  free(d.fut), free(d.slots), free(d.done);
  return rc;
}
