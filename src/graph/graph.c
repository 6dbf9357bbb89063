/* src/graph/graph.c — building a graph: nodes, keys, arenas; and the
 * accessors for results, persistence and statistics.
 *
 * Nodes live in one array and their dependencies, argument bytes and keys in
 * three growing arenas (offsets, not pointers, so growing is one realloc):
 * a 100,000-node graph costs a handful of allocations, not 300,000. Keys are
 * found through an open-addressing table of node ids. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph_internal.h"
#include "trace/trace_internal.h"

int weft_graph_value_set(weft_graph_value *out, const void *data, size_t size) {
  if (!out || (!data && size)) return WEFT_EINVAL;
  out->data = NULL;
  out->size = 0;
  if (!size) return 0;
  if (!(out->data = malloc(size))) return WEFT_ENOMEM;
  memcpy(out->data, data, size);
  out->size = size;
  return 0;
}

static const char *key_of(const weft_graph *g, uint32_t id);

int weft_graph_create(weft_graph **out) {
  if (!out) return WEFT_EINVAL;
  weft_graph *g = calloc(1, sizeof *g);
  if (!g) return WEFT_ENOMEM;
  pthread_mutex_init(&g->mu, NULL);
  pthread_cond_init(&g->cv, NULL);
  g->failed = GNONE;
  static _Atomic uint32_t next_trace_id;
  g->trace_id = atomic_fetch_add(&next_trace_id, 1) + 1;
  *out = g;
  return 0;
}

/* Keyed nodes show their key (interned: the trace keeps names until exit);
 * anonymous ones share one name, so a 100,000-node graph does not intern
 * 100,000 strings. */
void weft__graph_trace_node(const weft_graph *g, uint32_t id, uint64_t t0, uint64_t t1) {
  if (!weft__trace_active()) return;
  const char *k = key_of(g, id);
  weft__trace_node(g->trace_id, id, k ? weft__trace_intern(k) : "node",
                   weft__trace_ticks_of_ns(t0), weft__trace_ticks_of_ns(t1));
}

void weft__graph_trace_edges(const weft_graph *g) {
  if (!weft__trace_active()) return;
  for (uint32_t i = 0; i < g->n; i++) {
    const gnode *x = &g->nodes[i];
    if (!x->needed || x->cached) continue;
    const uint32_t *d = weft__graph_deps(g, x);
    for (uint32_t k = 0; k < x->ndeps; k++) weft__trace_edge(g->trace_id, i, d[k]);
  }
}

void weft__graph_drop_value(gnode *x) {
  if (!x->has_value) return;
  if (x->owner) weft_future_release(x->owner);
  else free(x->data);
  x->has_value = false;
  x->data = NULL;
  x->size = 0;
  x->owner = NULL;
}

void weft_graph_destroy(weft_graph *g) {
  if (!g) return;
  for (uint32_t i = 0; i < g->n; i++) weft__graph_drop_value(&g->nodes[i]);
  free(g->nodes);
  free(g->edges);
  free(g->args);
  free(g->keys);
  free(g->table);
  free(g->cons);
  free(g->roots.v);
  free(g->inner.v);
  pthread_cond_destroy(&g->cv);
  pthread_mutex_destroy(&g->mu);
  free(g);
}

/* ---- growing arenas ---- */

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t c = *cap ? *cap : 64;
  while (c < need) c *= 2;
  void *q = realloc(*p, c * elem);
  if (!q) return WEFT_ENOMEM;
  *p = q;
  *cap = c;
  return 0;
}

/* ---- keys ---- */

static uint64_t hash_key(const char *s) { /* FNV-1a */
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static const char *key_of(const weft_graph *g, uint32_t id) {
  uint32_t off = g->nodes[id].key_off;
  return off == GNONE ? NULL : g->keys + off;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t slot_of(const weft_graph *g, const char *key) {
  size_t mask = g->table_cap - 1, i = (size_t)hash_key(key) & mask;
  while (g->table[i] != GNONE && strcmp(key_of(g, g->table[i]), key) != 0) i = (i + 1) & mask;
  return i;
}

static int table_grow(weft_graph *g) {
  if ((g->table_used + 1) * 2 <= g->table_cap) return 0;
  size_t cap = g->table_cap ? g->table_cap * 2 : 256;
  uint32_t *t = malloc(cap * sizeof *t);
  if (!t) return WEFT_ENOMEM;
  memset(t, 0xff, cap * sizeof *t);
  uint32_t *old = g->table;
  size_t old_cap = g->table_cap;
  g->table = t;
  g->table_cap = cap;
  for (size_t i = 0; i < old_cap; i++)
    if (old[i] != GNONE) g->table[slot_of(g, key_of(g, old[i]))] = old[i];
  free(old);
  return 0;
}

int weft_graph_find(const weft_graph *g, const char *key, weft_graph_node *id) {
  if (!g || !key || !id) return WEFT_EINVAL;
  if (!g->table_cap) return WEFT_ENOENT;
  uint32_t v = g->table[slot_of(g, key)];
  if (v == GNONE) return WEFT_ENOENT;
  *id = v;
  return 0;
}

const char *weft_graph_key(const weft_graph *g, weft_graph_node id) {
  return g && id < g->n ? key_of(g, id) : NULL;
}

const char *weft__graph_name(const weft_graph *g, uint32_t id, char *buf, size_t len) {
  const char *k = key_of(g, id);
  if (k) return k;
  snprintf(buf, len, "#%u", id);
  return buf;
}

size_t weft_graph_size(const weft_graph *g) {
  return g ? g->n : 0;
}

/* ---- adding nodes ---- */

/* Copies key and argument bytes into the arenas and fills node n. */
static int fill_node(weft_graph *g, const char *key, weft_graph_fn fn, const void *arg,
                     size_t arg_size, gnode *x) {
  memset(x, 0, sizeof *x);
  x->fn = fn;
  x->key_off = GNONE;
  x->next = GNONE;
  x->head = g->n;
  if (key) {
    size_t len = strlen(key) + 1;
    if (g->keys_len + len >= GNONE) return WEFT_ERANGE;
    if (grow((void **)&g->keys, &g->keys_cap, g->keys_len + len, 1)) return WEFT_ENOMEM;
    memcpy(g->keys + g->keys_len, key, len);
    x->key_off = (uint32_t)g->keys_len;
  }
  if (arg_size) {
    size_t off = (g->args_len + 15) & ~(size_t)15; /* aligned for any type */
    if (grow((void **)&g->args, &g->args_cap, off + arg_size, 1)) return WEFT_ENOMEM;
    memcpy(g->args + off, arg, arg_size);
    x->arg_off = off;
    x->arg_size = arg_size;
    g->args_len = off + arg_size;
  }
  if (key) g->keys_len += strlen(key) + 1;
  return 0;
}

/* Checks everything that can fail before anything is changed. */
static int add_check(weft_graph *g, const char *key, weft_graph_fn fn, const void *arg,
                     size_t arg_size, size_t ndeps, weft_graph_node *id) {
  if (!g || !fn || (!arg && arg_size) || (key && !*key)) return WEFT_EINVAL;
  if (g->computing) return WEFT_EBUSY;
  if (g->n >= GNONE - 1 || ndeps >= GNONE) return WEFT_ERANGE;
  if (key && g->table_cap) {
    uint32_t v = g->table[slot_of(g, key)];
    if (v != GNONE) {
      if (id) *id = v;
      return WEFT_EALREADY;
    }
  }
  if (g->nedges + ndeps >= GNONE) return WEFT_ERANGE;
  return 0;
}

int weft_graph_add_ids(weft_graph *g, const char *key, weft_graph_fn fn, const void *arg,
                       size_t arg_size, const weft_graph_node *deps, size_t ndeps,
                       weft_graph_node *id) {
  if (ndeps && !deps) return WEFT_EINVAL;
  int rc = add_check(g, key, fn, arg, arg_size, ndeps, id);
  if (rc) return rc;
  for (size_t i = 0; i < ndeps; i++)
    if (deps[i] >= g->n) return WEFT_ENOENT;
  size_t cap = g->cap;
  if (grow((void **)&g->nodes, &cap, g->n + 1, sizeof(gnode))) return WEFT_ENOMEM;
  g->cap = (uint32_t)(cap < GNONE ? cap : GNONE);
  if (grow((void **)&g->edges, &g->edges_cap, g->nedges + ndeps, sizeof(uint32_t)))
    return WEFT_ENOMEM;
  if (key && table_grow(g)) return WEFT_ENOMEM;
  gnode *x = &g->nodes[g->n];
  if ((rc = fill_node(g, key, fn, arg, arg_size, x)) != 0) return rc;
  x->deps_off = (uint32_t)g->nedges;
  x->ndeps = (uint32_t)ndeps;
  for (size_t i = 0; i < ndeps; i++) g->edges[g->nedges++] = deps[i];
  if (key) {
    g->table[slot_of(g, key)] = g->n;
    g->table_used++;
  }
  if (id) *id = g->n;
  g->n++;
  return 0;
}

int weft_graph_add(weft_graph *g, const char *key, weft_graph_fn fn, const void *arg,
                   size_t arg_size, const char *const *deps, size_t ndeps, weft_graph_node *id) {
  if (!g || (ndeps && !deps)) return WEFT_EINVAL;
  weft_graph_node small[16], *ids = ndeps <= 16 ? small : malloc(ndeps * sizeof *ids);
  if (!ids) return WEFT_ENOMEM;
  int rc = 0;
  for (size_t i = 0; i < ndeps && !rc; i++)
    rc = deps[i] ? weft_graph_find(g, deps[i], &ids[i]) : WEFT_EINVAL;
  if (!rc) rc = weft_graph_add_ids(g, key, fn, arg, arg_size, ids, ndeps, id);
  if (ids != small) free(ids);
  return rc;
}

/* ---- results, persistence, statistics ---- */

int weft_graph_result_id(const weft_graph *g, weft_graph_node id, const void **data,
                         size_t *size) {
  if (!g || !data || id >= g->n) return WEFT_EINVAL;
  const gnode *x = &g->nodes[id];
  if (!x->has_value || g->computing) return WEFT_EAGAIN;
  *data = x->data;
  if (size) *size = x->size;
  return 0;
}

int weft_graph_result(const weft_graph *g, const char *key, const void **data, size_t *size) {
  weft_graph_node id;
  int rc = weft_graph_find(g, key, &id);
  return rc ? rc : weft_graph_result_id(g, id, data, size);
}

int weft_graph_persist_id(weft_graph *g, weft_graph_node id, bool keep) {
  if (!g || id >= g->n) return WEFT_EINVAL;
  if (g->computing) return WEFT_EBUSY;
  gnode *x = &g->nodes[id];
  x->persist = keep;
  if (!keep) weft__graph_drop_value(x);
  return 0;
}

int weft_graph_persist(weft_graph *g, const char *key, bool keep) {
  weft_graph_node id;
  int rc = weft_graph_find(g, key, &id);
  return rc ? rc : weft_graph_persist_id(g, id, keep);
}

const char *weft_graph_message(const weft_graph *g) {
  return g ? g->message : "";
}

int weft_graph_stats_get(const weft_graph *g, weft_graph_stats *out) {
  if (!g || !out) return WEFT_EINVAL;
  *out = g->stats;
  out->nodes = g->n;
  return 0;
}

int weft_graph_node_stats(const weft_graph *g, weft_graph_node id, weft_graph_node_info *out) {
  if (!g || !out || id >= g->n) return WEFT_EINVAL;
  const gnode *x = &g->nodes[id];
  *out = (weft_graph_node_info){.state = x->state, .error = x->error,
                                 .start_ns = x->start_ns, .run_ns = x->run_ns,
                                 .out_size = x->out_size,
                                 .order = x->prio, .task = x->head, .worker = x->worker};
  return 0;
}
