/* src/graph/plan.c — what a compute decides before anything runs: which
 * nodes are needed (culling), which linear chains become one task (fusion),
 * who consumes each result (so it can be freed after its last consumer),
 * and the order.
 *
 * The order is dask.order's idea in its simplest form: number the needed
 * nodes in depth-first post-order from the targets, visiting a node's deeper
 * inputs first. Among ready tasks the scheduler takes the lowest number.
 * A reduction then becomes ready right after its inputs and, having a lower
 * number than the next branch's leaves, runs before them: a branch is
 * finished (and its inputs freed) before the next one starts, and the
 * longest path below a node is started first. Everything is linear in the
 * size of the graph, except sorting each node's inputs by depth. */
#include <stdlib.h>
#include <string.h>

#include "graph/graph_internal.h"

/* Resets a node for a new compute; results not persisted are dropped. */
static void reset_node(gnode *x, uint32_t id) {
  if (x->has_value && !x->persist) weft__graph_drop_value(x);
  x->cached = x->persist && x->has_value;
  x->state = x->cached ? WEFT_GRAPH_CACHED : WEFT_GRAPH_IDLE;
  x->needed = x->target = x->fused_in = x->root_value = false;
  x->height = x->waiting = x->uses = x->ncons = x->chain_pos = 0;
  x->prio = GNONE;
  x->next = GNONE;
  x->head = id;
  x->error = 0;
  x->worker = -1;
  x->start_ns = x->run_ns = 0;
  x->out_size = x->cached ? x->size : 0;
}

/* Marks what the targets need, walking ids downwards (dependencies have
 * lower ids). A persisted result stands in for everything below it. */
static void cull(weft_graph *g) {
  for (uint32_t i = g->n; i-- > 0;) {
    gnode *x = &g->nodes[i];
    if (g->opts.no_cull) x->needed = true;
    if (!x->needed || x->cached) continue;
    const uint32_t *d = weft__graph_deps(g, x);
    for (uint32_t k = 0; k < x->ndeps; k++) g->nodes[d[k]].needed = true;
  }
}

/* Heights, consumer counts, then the consumer edges (CSR in g->cons). */
static int consumers(weft_graph *g) {
  size_t total = 0;
  for (uint32_t i = 0; i < g->n; i++) {
    gnode *x = &g->nodes[i];
    if (!x->needed || x->cached) continue;
    const uint32_t *d = weft__graph_deps(g, x);
    uint32_t h = 0;
    for (uint32_t k = 0; k < x->ndeps; k++) {
      gnode *y = &g->nodes[d[k]];
      if (y->height + 1 > h) h = y->height + 1;
      y->ncons++;
    }
    x->height = h;
    total += x->ndeps;
  }
  if (total > g->cons_cap) {
    uint32_t *c = realloc(g->cons, total * sizeof *c);
    if (!c) return WEFT_ENOMEM;
    g->cons = c;
    g->cons_cap = total;
  }
  uint32_t off = 0;
  for (uint32_t i = 0; i < g->n; i++) {
    gnode *x = &g->nodes[i];
    x->cons_off = off;
    off += x->ncons;
    x->uses = x->ncons;
    x->ncons = 0; /* refilled below */
  }
  for (uint32_t i = 0; i < g->n; i++) {
    gnode *x = &g->nodes[i];
    if (!x->needed || x->cached) continue;
    const uint32_t *d = weft__graph_deps(g, x);
    for (uint32_t k = 0; k < x->ndeps; k++) {
      gnode *y = &g->nodes[d[k]];
      g->cons[y->cons_off + y->ncons++] = i;
    }
  }
  return 0;
}

/* A node whose one input comes from a node nothing else uses joins that
 * node's task — unless that node's result must be kept (target, persist). */
static void fuse(weft_graph *g) {
  for (uint32_t i = 0; i < g->n && !g->opts.no_fuse; i++) {
    gnode *x = &g->nodes[i];
    if (!x->needed || x->cached || x->ndeps != 1) continue;
    gnode *a = &g->nodes[weft__graph_deps(g, x)[0]];
    if (a->cached || a->target || a->persist || a->ncons != 1) continue;
    if (a->chain_pos + 1 >= 64) continue; /* a task crosses to a process whole */
    x->chain_pos = a->chain_pos + 1;
    a->next = i;
    x->fused_in = true;
  }
  g->stats.tasks = g->stats.fused = 0;
  for (uint32_t i = 0; i < g->n; i++) {
    gnode *x = &g->nodes[i];
    if (!x->needed || x->cached || x->fused_in) continue;
    g->stats.tasks++;
    for (uint32_t c = x->next; c != GNONE; c = g->nodes[c].next) {
      g->nodes[c].head = i;
      g->stats.fused++;
    }
    const uint32_t *d = weft__graph_deps(g, x);
    for (uint32_t k = 0; k < x->ndeps; k++) x->waiting += !g->nodes[d[k]].cached;
  }
}

static int deeper_first(const void *a, const void *b, void *ctx) {
  const gnode *n = ctx;
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  if (n[x].height != n[y].height) return n[x].height > n[y].height ? -1 : 1;
  return (x > y) - (x < y);
}

static void insertion_sort(uint32_t *k, uint32_t nd, const gnode *n) {
  for (uint32_t i = 1; i < nd; i++) {
    uint32_t v = k[i], j = i;
    while (j > 0 && deeper_first(&v, &k[j - 1], (void *)n) < 0) k[j] = k[j - 1], j--;
    k[j] = v;
  }
}

/* Post-order from `root` over needed nodes; *rank counts up. st/pos are
 * the explicit stack (graphs may be 100,000 nodes deep); kids holds each
 * expanded node's inputs sorted deeper-first, at the node's edge offset. */
static void dfs(weft_graph *g, uint32_t root, uint32_t *rank, uint32_t *st, uint32_t *pos,
                uint32_t *kids) {
  gnode *n = g->nodes;
  size_t sp = 0;
  st[sp] = root;
  pos[sp++] = 0;
  n[root].prio = GNONE - 1; /* on the stack */
  while (sp) {
    uint32_t v = st[sp - 1];
    gnode *x = &n[v];
    uint32_t *k = kids + x->deps_off, nd = x->cached ? 0 : x->ndeps;
    if (pos[sp - 1] == 0 && nd > 1) {
      memcpy(k, weft__graph_deps(g, x), nd * sizeof *k);
      if (nd > 16) qsort_r(k, nd, sizeof *k, deeper_first, n);
      else insertion_sort(k, nd, n); /* most nodes: no call per compare */
    } else if (pos[sp - 1] == 0 && nd == 1) {
      k[0] = weft__graph_deps(g, x)[0];
    }
    while (pos[sp - 1] < nd && n[k[pos[sp - 1]]].prio != GNONE) pos[sp - 1]++;
    if (pos[sp - 1] == nd) {
      x->prio = (*rank)++;
      sp--;
      continue;
    }
    uint32_t c = k[pos[sp - 1]++];
    n[c].prio = GNONE - 1;
    st[sp] = c;
    pos[sp++] = 0;
  }
}

static int order(weft_graph *g, const uint32_t *targets, size_t nt) {
  uint32_t rank = 0;
  if (g->opts.fifo_order) {
    for (uint32_t i = 0; i < g->n; i++)
      if (g->nodes[i].needed) g->nodes[i].prio = rank++;
    return 0;
  }
  uint32_t *st = malloc((size_t)g->n * 2 * sizeof *st + g->nedges * sizeof *st + 1);
  if (!st) return WEFT_ENOMEM;
  uint32_t *pos = st + g->n, *kids = pos + g->n;
  for (size_t i = 0; i < nt; i++)
    if (g->nodes[targets[i]].prio == GNONE) dfs(g, targets[i], &rank, st, pos, kids);
  for (uint32_t i = g->n; i-- > 0;) /* no_cull: the rest, sinks first */
    if (g->nodes[i].needed && g->nodes[i].prio == GNONE) dfs(g, i, &rank, st, pos, kids);
  free(st);
  return 0;
}

static int heap_reserve(gheap *h, uint32_t n) {
  uint64_t *v = realloc(h->v, ((size_t)n + 1) * sizeof *v);
  if (!v) return WEFT_ENOMEM;
  h->v = v;
  h->n = 0;
  return 0;
}

int weft__graph_plan(weft_graph *g, const uint32_t *targets, size_t nt) {
  for (uint32_t i = 0; i < g->n; i++) reset_node(&g->nodes[i], i);
  for (size_t i = 0; i < nt; i++) g->nodes[targets[i]].target = g->nodes[targets[i]].needed = true;
  cull(g);
  int rc = consumers(g);
  if (!rc) rc = order(g, targets, nt);
  if (!rc) rc = heap_reserve(&g->roots, g->n);
  if (!rc) rc = heap_reserve(&g->inner, g->n);
  if (rc) return rc;
  fuse(g);
  weft_graph_stats *s = &g->stats;
  s->needed = s->cached = s->ran = s->peak_bytes = s->peak_values = s->withheld = 0;
  for (uint32_t i = 0; i < g->n; i++) {
    gnode *x = &g->nodes[i];
    s->needed += x->needed;
    s->cached += x->needed && x->cached;
  }
  s->culled = g->n - s->needed;
  g->tasks_left = s->tasks;
  g->running = g->running_roots = g->running_inner = 0;
  g->held_values = g->held_bytes = g->held_roots = 0;
  g->stop = false;
  g->err = 0;
  g->failed = GNONE;
  g->message[0] = '\0';
  for (uint32_t i = 0; i < g->n; i++) {
    gnode *x = &g->nodes[i];
    if (x->needed && !x->cached && !x->fused_in && x->waiting == 0) weft__graph_ready(g, i);
  }
  weft__graph_trace_edges(g);
  return 0;
}
