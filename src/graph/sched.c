/* src/graph/sched.c — the scheduler core, shared by both drivers; every
 * function here runs under g->mu.
 *
 * Ready tasks wait in two min-heaps by order rank: tasks that start at a
 * root (no inputs: they load data) and the rest. Inner tasks are always
 * admitted: they consume results. A root is admitted only while fewer than
 * root_limit root results wait for consumers (counting running roots) and,
 * with a budget, while the bytes held stay under it — unless nothing else
 * could run or free memory, in which case it is admitted anyway, so the
 * compute always moves forward. That is Dask's root-task withholding: a
 * wide graph does not load all of its inputs at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph_internal.h"

/* ---- heaps ---- */

/* Entries are (rank << 32 | id): comparing two is one integer compare,
 * without a trip to the nodes (a cache miss each on a big graph). */
static uint64_t entry(const weft_graph *g, uint32_t head) {
  return (uint64_t)g->nodes[head].prio << 32 | head;
}

static void heap_push(gheap *h, uint64_t e) {
  size_t i = h->n++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (h->v[p] <= e) break;
    h->v[i] = h->v[p];
    i = p;
  }
  h->v[i] = e;
}

static uint32_t heap_pop(gheap *h) {
  uint64_t top = h->v[0], last = h->v[--h->n];
  size_t i = 0, n = h->n;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && h->v[c + 1] < h->v[c]) c++;
    if (h->v[c] >= last) break;
    h->v[i] = h->v[c];
    i = c;
  }
  if (n) h->v[i] = last;
  return (uint32_t)top;
}

static bool is_root(const weft_graph *g, uint32_t head) {
  return g->nodes[head].ndeps == 0;
}

void weft__graph_ready(weft_graph *g, uint32_t head) {
  heap_push(is_root(g, head) ? &g->roots : &g->inner, entry(g, head));
}

/* ---- picking ---- */

static bool root_admitted(weft_graph *g) {
  size_t budget = g->opts.memory_budget;
  bool over = budget && g->held_bytes >= budget;
  bool room = g->held_roots + g->running_roots < g->root_limit;
  if (room && !over) return true;
  /* Withholding only makes sense while something else can still consume
   * (and free): otherwise the compute would stall. Then roots go ahead, but
   * no more at once than there are workers (a driver filling its queue
   * would otherwise admit a burst). Over the budget, a running root may
   * yet make a consumer ready: wait for it too. */
  bool others = g->inner.n || g->running_inner || g->running_roots >= g->workers ||
                (over && g->running);
  return !others;
}

uint32_t weft__graph_pick(weft_graph *g) {
  if (g->stop || atomic_load_explicit(&g->cancel, memory_order_relaxed)) return GNONE;
  bool root = g->roots.n > 0;
  if (root && !root_admitted(g)) {
    g->stats.withheld++;
    root = false;
  }
  bool inner = g->inner.n > 0;
  if (root && inner) root = g->roots.v[0] < g->inner.v[0];
  else if (!root && !inner) return GNONE;
  uint32_t h = heap_pop(root ? &g->roots : &g->inner);
  g->running++;
  if (root) g->running_roots++;
  else g->running_inner++;
  return h;
}

/* ---- completing ---- */

static void hold(weft_graph *g, gnode *x, void *data, size_t size, weft_future *owner,
                 bool root) {
  x->data = data;
  x->size = size;
  x->owner = owner;
  x->has_value = true;
  x->root_value = root;
  g->held_values++;
  g->held_bytes += size;
  g->held_roots += root;
  if (g->held_bytes > g->stats.peak_bytes) g->stats.peak_bytes = g->held_bytes;
  if (g->held_values > g->stats.peak_values) g->stats.peak_values = g->held_values;
}

static void release(weft_graph *g, gnode *x) {
  g->held_values--;
  g->held_bytes -= x->size;
  g->held_roots -= x->root_value;
  weft__graph_drop_value(x);
}

/* The head's inputs have been consumed: a result whose last consumer this
 * was goes at once, unless it is kept (target, persisted). */
static void consume_inputs(weft_graph *g, gnode *head) {
  const uint32_t *d = weft__graph_deps(g, head);
  for (uint32_t k = 0; k < head->ndeps; k++) {
    gnode *y = &g->nodes[d[k]];
    if (y->cached || --y->uses > 0 || y->target || y->persist) continue;
    if (y->has_value) release(g, y);
  }
}

void weft__graph_complete(weft_graph *g, uint32_t head, int code, uint32_t at, void *data,
                          size_t size, weft_future *owner, const char *message) {
  gnode *h = &g->nodes[head];
  bool root = is_root(g, head);
  g->running--;
  if (root) g->running_roots--;
  else g->running_inner--;
  g->tasks_left--;
  if (code == WEFT_ECANCELED && atomic_load(&g->cancel)) { /* it saw the cancel */
    at = GNONE;
    message = "the compute was cancelled";
  }
  if (code) {
    weft__graph_fail(g, code, at, message);
    return;
  }
  uint32_t tail = head;
  while (g->nodes[tail].next != GNONE) tail = g->nodes[tail].next;
  gnode *t = &g->nodes[tail];
  consume_inputs(g, h);
  hold(g, t, data, size, owner, root);
  for (uint32_t k = 0; k < t->ncons; k++) {
    uint32_t c = g->nodes[g->cons[t->cons_off + k]].head;
    if (--g->nodes[c].waiting == 0 && !g->stop) weft__graph_ready(g, c);
  }
  if (t->ncons == 0 && !t->target && !t->persist) release(g, t); /* an unused sink */
}

/* ---- failures ---- */

/* "a -> b -> target": the first path of consumers from `at` to a target
 * (breadth-first, so the shortest), written into buf. */
static void chain_to_target(weft_graph *g, uint32_t at, char *buf, size_t len) {
  uint32_t *from = malloc((size_t)g->n * 2 * sizeof *from);
  char nb[24];
  if (!from) {
    snprintf(buf, len, "%s", weft__graph_name(g, at, nb, sizeof nb));
    return;
  }
  uint32_t *queue = from + g->n, qh = 0, qt = 0, found = GNONE;
  memset(from, 0xff, (size_t)g->n * sizeof *from);
  from[at] = at;
  queue[qt++] = at;
  while (qh < qt && found == GNONE) {
    uint32_t v = queue[qh++];
    if (g->nodes[v].target) found = v;
    for (uint32_t k = 0; k < g->nodes[v].ncons && found == GNONE; k++) {
      uint32_t c = g->cons[g->nodes[v].cons_off + k];
      if (from[c] == GNONE) from[c] = v, queue[qt++] = c;
    }
  }
  /* walk back from the target, then print in the forward direction */
  uint32_t n = 0;
  for (uint32_t v = found; v != GNONE && n < g->n; v = from[v] == v ? GNONE : from[v])
    queue[n++] = v;
  size_t used = 0;
  buf[0] = '\0';
  for (uint32_t i = n; i-- > 0 && used < len;)
    used += (size_t)snprintf(buf + used, len - used, "%s%s", i + 1 < n ? " -> " : "",
                             weft__graph_name(g, queue[i], nb, sizeof nb));
  free(from);
}

void weft__graph_fail(weft_graph *g, int code, uint32_t at, const char *message) {
  if (at != GNONE) {
    g->nodes[at].state = WEFT_GRAPH_FAILED;
    g->nodes[at].error = code;
  }
  if (g->stop) return;
  g->stop = true;
  g->err = code;
  g->failed = at;
  if (g->on_cancel) g->on_cancel(g); /* the rest stops: tell what runs */
  if (at == GNONE) {
    snprintf(g->message, sizeof g->message, "%s%s%s", weft_err_name(code),
             message && *message ? ": " : "", message ? message : "");
    return;
  }
  char chain[700], nb[24];
  chain_to_target(g, at, chain, sizeof chain);
  snprintf(g->message, sizeof g->message, "node '%s' failed: %s%s%s; chain to target: %s",
           weft__graph_name(g, at, nb, sizeof nb), weft_err_name(code),
           message && *message ? ": " : "", message ? message : "", chain);
}

/* Nodes that did not run: downstream of the failed node (ids are
 * topological, so one forward pass finds them all) or merely skipped. */
void weft__graph_settle(weft_graph *g) {
  for (uint32_t i = 0; i < g->n; i++) {
    gnode *x = &g->nodes[i];
    if (!x->needed || x->state != WEFT_GRAPH_IDLE) continue;
    x->state = WEFT_GRAPH_SKIPPED;
    const uint32_t *d = weft__graph_deps(g, x);
    for (uint32_t k = 0; k < x->ndeps; k++) {
      uint8_t s = g->nodes[d[k]].state;
      if (s == WEFT_GRAPH_FAILED || s == WEFT_GRAPH_DEP_FAILED) {
        x->state = WEFT_GRAPH_DEP_FAILED;
        x->error = g->nodes[d[k]].error;
        break;
      }
    }
  }
  /* what the compute held for consumers that never ran */
  for (uint32_t i = 0; i < g->n; i++) {
    gnode *x = &g->nodes[i];
    if (x->has_value && !x->cached && !x->target && !x->persist) release(g, x);
  }
}
