/* src/graph/graph_internal.h — the graph's storage and the scheduler state
 * its files share.
 *
 * graph.c       building: nodes, keys (a hash table), argument and edge
 *               arenas; results, persist, stats accessors
 * plan.c        before a compute: cull, fuse chains, consumers, the order
 * sched.c       the scheduler core under one lock: picking the next task
 *               (order, root admission, budget), completing one (freeing
 *               inputs, readying consumers), failures and their message
 * run_threads.c the driver for inline and threads: runner tasks that loop
 *               in the workers, taking the next task themselves
 * run_bytes.c   the driver for processes: tasks as bytes, results as bytes;
 *               and the function that runs a task in a worker process
 * dot.c         weft_graph_to_dot
 *
 * Node ids are topological: a node's dependencies were added before it. */
#ifndef WEFT_GRAPH_INTERNAL_H
#define WEFT_GRAPH_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "weft/graph.h"

#define GNONE UINT32_MAX

typedef struct gnode {
  weft_graph_fn fn;
  size_t arg_off, arg_size;     /* into g->args */
  uint32_t key_off;             /* into g->keys; GNONE = anonymous */
  uint32_t deps_off, ndeps;     /* into g->edges */
  /* the held result (a target of the last compute, a persisted node, or an
   * intermediate while a compute runs); owner: the future whose value it is
   * (processes), else NULL and it is free()d */
  bool persist;
  bool has_value;
  void *data;
  size_t size;
  weft_future *owner;
  /* the last compute's plan and record */
  uint8_t state;                /* enum weft_graph_node_state */
  bool needed, target, cached, fused_in; /* fused_in: runs in its
                                            predecessor's task */
  bool root_value;              /* its result came from a root task */
  uint32_t height;              /* longest path down to a node without inputs */
  uint32_t prio;                /* rank in the order */
  uint32_t next;                /* the next node of its fused chain, GNONE */
  uint32_t chain_pos;           /* its place in that chain (0: the head) */
  uint32_t head;                /* the first node of its task */
  uint32_t waiting;             /* heads: dependency edges not yet produced */
  uint32_t uses;                /* consumer edges that have not run yet */
  uint32_t cons_off, ncons;     /* into g->cons: consumer edges (heads) */
  int error;
  int worker;
  uint64_t start_ns, run_ns;
  size_t out_size;
} gnode;

/* A binary min-heap of task heads, by prio (entries: prio << 32 | id). */
typedef struct gheap {
  uint64_t *v;
  size_t n;
} gheap;

struct weft_graph {
  gnode *nodes;
  uint32_t n, cap;
  uint32_t *edges;
  size_t nedges, edges_cap;
  unsigned char *args;
  size_t args_len, args_cap;
  char *keys;
  size_t keys_len, keys_cap;
  uint32_t *table;              /* open addressing over keyed nodes */
  size_t table_cap, table_used;
  uint32_t *cons;               /* consumer edges, per compute */
  size_t cons_cap;

  /* one compute at a time */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool computing;
  _Atomic int cancel;
  weft_graph_opts opts;
  size_t root_limit;
  unsigned workers;
  uint64_t t0;
  gheap roots, inner;           /* ready tasks */
  size_t tasks_left, running, running_roots, running_inner;
  size_t held_values, held_bytes, held_roots;
  bool stop;                    /* failed or cancelled: start nothing more */
  int err;
  uint32_t failed;              /* the failing node, GNONE */
  weft_graph_stats stats;
  char message[1024];
  uint32_t trace_id;            /* names the graph in trace records */
  /* driver state, and what weft_graph_cancel does for it (under mu) */
  void *drv;
  void (*on_cancel)(weft_graph *g);
};

/* ---- graph.c ---- */
const char *weft__graph_name(const weft_graph *g, uint32_t id, char *buf, size_t len);
static inline const uint32_t *weft__graph_deps(const weft_graph *g, const gnode *x) {
  return g->edges + x->deps_off;
}
static inline const void *weft__graph_arg(const weft_graph *g, const gnode *x) {
  return x->arg_size ? g->args + x->arg_off : NULL;
}
/* Frees a node's held result. */
void weft__graph_drop_value(gnode *x);
/* Trace records (when tracing is on): node id ran from t0 to t1
 * (weft_now_ns clock); the edges of the needed nodes, once per compute. */
void weft__graph_trace_node(const weft_graph *g, uint32_t id, uint64_t t0, uint64_t t1);
void weft__graph_trace_edges(const weft_graph *g);

/* ---- plan.c ---- */
/* Prepares g for computing targets: states, cull, fusion, consumers, the
 * order and the first ready tasks. 0 or WEFT_ENOMEM. */
int weft__graph_plan(weft_graph *g, const uint32_t *targets, size_t n);

/* ---- sched.c (callers hold g->mu) ---- */
/* The next task head to start, or GNONE (nothing admissible now). Counts
 * it as running. */
uint32_t weft__graph_pick(weft_graph *g);
/* Task `head` ended: code 0 with its last node's result (data, size, owner
 * taken over), or an error (message may be NULL) from node `at`. */
void weft__graph_complete(weft_graph *g, uint32_t head, int code, uint32_t at, void *data,
                          size_t size, weft_future *owner, const char *message);
/* Stops the compute with code (first call wins; message may be NULL). */
void weft__graph_fail(weft_graph *g, int code, uint32_t at, const char *message);
/* True when nothing is left to run or the compute stopped and nothing runs. */
static inline bool weft__graph_finished(const weft_graph *g) {
  return g->running == 0 && (g->tasks_left == 0 || g->stop);
}
/* Whether a ready task could be picked at all. */
static inline bool weft__graph_has_ready(const weft_graph *g) {
  return !g->stop && (g->roots.n || g->inner.n);
}
/* Pushes a ready head. */
void weft__graph_ready(weft_graph *g, uint32_t head);
/* After the compute: node states of what did not run. */
void weft__graph_settle(weft_graph *g);

/* ---- drivers ---- */
int weft__graph_run_threads(weft_graph *g, weft_executor *ex);
int weft__graph_run_bytes(weft_graph *g, weft_executor *ex);

/* Runs the fused chain starting at `head` in this thread: inputs from the
 * head's dependencies' results; per-node times and workers recorded. On
 * failure *at is the failing node and *msg a malloc'ed message (or NULL). */
int weft__graph_run_chain(weft_graph *g, uint32_t head, weft_graph_value *out, uint32_t *at,
                          char **msg);

#endif /* WEFT_GRAPH_INTERNAL_H */
