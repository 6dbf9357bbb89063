/* weft/graph.h — lazy task graphs (Dask's `delayed`).
 *
 * A graph is a DAG of nodes. A node is a function, constant argument bytes,
 * and the results of other nodes as its inputs. Nothing runs while the graph
 * is built: weft_graph_compute runs what one or more targets need, on any
 * executor (inline, threads, processes: executor.h), and keeps the targets'
 * results for the caller.
 *
 * Values are bytes. A node function gets its inputs as (data, size) pairs
 * and produces one (data, size) result, so the same graph runs in threads
 * (pointers handed over, no copy) or in worker processes (inputs and
 * results copied through the process pool; the function is named across the
 * process boundary as in proc.h, so it must live in the program or a shared
 * library loaded from a file).
 *
 * Before running, a compute
 *  - culls the nodes the targets do not need (switchable),
 *  - fuses linear chains (a node whose only input comes from a node that
 *    nothing else uses) into one task: fewer hand-offs (switchable),
 *  - orders the work to keep memory low, as dask.order does: a depth-first
 *    order from the targets, deeper inputs first (the critical path starts
 *    early), and among ready tasks the earliest in that order first, so a
 *    branch is finished — and its inputs freed — before a new one starts.
 * While it runs, each intermediate result is freed as soon as its last
 * consumer has run; new root nodes (nodes without inputs: the ones that
 * load data) are withheld while enough root results are waiting for their
 * consumers and those consumers can still run; an optional memory budget
 * withholds root nodes while the bytes held reach it (the scheduler waits
 * rather than exceeds it, unless nothing else could free memory). The peak
 * of bytes and values held is reported (weft_graph_stats_get).
 *
 * A failing node fails the nodes that depend on it; the compute stops
 * starting new work at once and returns the node's code, with a message that
 * names the failing node and the chain of consumers up to a target.
 *
 * Thread safety: build and compute from one thread at a time (a graph is not
 * locked while it is built); weft_graph_cancel may be called from any thread
 * while a compute runs. Node functions run concurrently with each other. */
#ifndef WEFT_GRAPH_H
#define WEFT_GRAPH_H

#include "weft/core.h"
#include "weft/executor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_graph weft_graph;

/* A node's id: its index in the graph, in the order nodes were added. */
typedef uint32_t weft_graph_node;
#define WEFT_GRAPH_NONE UINT32_MAX

/* Bytes: a node's result, or one of its inputs. */
typedef struct weft_graph_value {
  void *data;
  size_t size;
} weft_graph_value;

/* A node function. inputs[0..n) are the results of the node's dependencies,
 * in the order they were given when the node was added (read-only: other
 * consumers may read the same bytes at the same time); arg/arg_size are the
 * node's constant argument bytes. It returns 0 and sets *out, or a negative
 * WEFT_E* code (weft_task_fail attaches a message, as in any task).
 * out->data must be NULL (with size 0) or come from malloc: the graph owns
 * it from then on and frees it with free(). weft_graph_value_set copies
 * bytes into *out. weft_task_cancelled() turns true in threads when the
 * compute is cancelled or has failed. */
typedef int (*weft_graph_fn)(const weft_graph_value *inputs, size_t n, const void *arg,
                             size_t arg_size, weft_graph_value *out);

/* Sets *out to a malloc'ed copy of size bytes at data. 0 or WEFT_ENOMEM. */
int weft_graph_value_set(weft_graph_value *out, const void *data, size_t size);

/* A new empty graph, owned by the caller. Errors: WEFT_EINVAL, WEFT_ENOMEM. */
int weft_graph_create(weft_graph **out);
/* Frees the graph and every result it holds. Not while a compute runs.
 * NULL is ignored. */
void weft_graph_destroy(weft_graph *g);

/* Adds node `key` = fn(results of deps..., arg). The arg_size bytes at arg
 * are copied. deps name nodes already in the graph (so a graph is acyclic
 * by construction); a key may appear more than once among them. key may be
 * NULL: an anonymous node (shown as "#<id>"). *id (may be NULL) gets the
 * node's id. Adding a key that exists already adds nothing: it returns
 * WEFT_EALREADY with the existing node's id in *id, so that a shared piece
 * of work is computed once however many times it is asked for.
 * Errors: WEFT_EINVAL (NULL g or fn, arg NULL with arg_size > 0, deps NULL
 * with ndeps > 0, a NULL dep, empty key), WEFT_ENOENT (a dep that is not in
 * the graph), WEFT_ERANGE (more than 2^32 - 2 nodes), WEFT_ENOMEM,
 * WEFT_EBUSY (a compute is running). */
int weft_graph_add(weft_graph *g, const char *key, weft_graph_fn fn, const void *arg,
                   size_t arg_size, const char *const *deps, size_t ndeps, weft_graph_node *id);
/* As weft_graph_add with dependencies given by id (faster: no lookups).
 * WEFT_ENOENT for an id not below weft_graph_size(g). */
int weft_graph_add_ids(weft_graph *g, const char *key, weft_graph_fn fn, const void *arg,
                       size_t arg_size, const weft_graph_node *deps, size_t ndeps,
                       weft_graph_node *id);

/* The id of `key`: 0, or WEFT_ENOENT (WEFT_EINVAL for NULL arguments). */
int weft_graph_find(const weft_graph *g, const char *key, weft_graph_node *id);
/* The key of a node (owned by the graph), NULL for an anonymous node or a
 * bad id. */
const char *weft_graph_key(const weft_graph *g, weft_graph_node id);
/* The number of nodes. */
size_t weft_graph_size(const weft_graph *g);

/* How a compute runs. Zero-initialise: every field's zero is the default. */
typedef struct weft_graph_opts {
  bool no_cull;          /* run every node, not only what the targets need */
  bool no_fuse;          /* one task per node: no fusion of linear chains */
  bool fifo_order;       /* ready tasks in the order nodes were added (for
                            comparison), not the memory-saving order */
  size_t memory_budget;  /* bytes of results held at once; 0 = no budget */
  /* Root results (from nodes without inputs) that may wait for their
   * consumers before further roots are withheld; 0 = 2 x the executor's
   * workers; SIZE_MAX = never withhold. */
  size_t root_limit;
} weft_graph_opts;

/* Computes targets[0..n) on ex (opts may be NULL) and waits. Results of the
 * targets stay in the graph (weft_graph_result) until the next compute, or
 * longer for persisted nodes; results of the previous compute that are not
 * persisted are dropped when it starts. Returns 0, the first failing node's
 * code (weft_graph_message says which node and the chain to the target),
 * WEFT_ECANCELED (weft_graph_cancel), or an error of the executor.
 * Errors also: WEFT_EINVAL (NULL g, ex or targets with n > 0, bad id),
 * WEFT_ENOENT (unknown key), WEFT_EBUSY (a compute is running),
 * WEFT_ENOMEM.
 * On a processes executor node functions run in the worker processes.
 * Called from a thread-pool worker (a node that computes a graph of its
 * own), the caller runs nodes itself while it waits: nesting does not
 * deadlock. */
int weft_graph_compute(weft_graph *g, weft_executor *ex, const char *const *targets, size_t n,
                       const weft_graph_opts *opts);
int weft_graph_compute_ids(weft_graph *g, weft_executor *ex, const weft_graph_node *targets,
                           size_t n, const weft_graph_opts *opts);

/* Asks a running compute to stop: no new node starts, running node
 * functions see weft_task_cancelled() (threads; a node already running in a
 * worker process is waited for), and the compute returns WEFT_ECANCELED.
 * Any thread. 0, or WEFT_EALREADY when no compute is running. */
int weft_graph_cancel(weft_graph *g);

/* The result of a node: a target of the last compute, or a persisted node.
 * *data (owned by the graph) stays valid until the next compute drops it,
 * weft_graph_persist(.., false) or destroy. Errors: WEFT_EINVAL,
 * WEFT_ENOENT (unknown key), WEFT_EAGAIN (no result held for it). */
int weft_graph_result(const weft_graph *g, const char *key, const void **data, size_t *size);
int weft_graph_result_id(const weft_graph *g, weft_graph_node id, const void **data,
                         size_t *size);

/* Persist (memoize): keep this node's result once computed, across
 * computes; later computes use it instead of running the node and what it
 * needs (like dask's persist). keep = false forgets it and frees the result.
 * A persisted node is never fused into another node's task. Errors:
 * WEFT_EINVAL, WEFT_ENOENT, WEFT_EBUSY. */
int weft_graph_persist(weft_graph *g, const char *key, bool keep);
int weft_graph_persist_id(weft_graph *g, weft_graph_node id, bool keep);

/* The failure message of the last compute ("" if it succeeded), e.g.
 * "node 'load-3' failed: WEFT_EIO: disk gone; chain to target: load-3 ->
 * sum-2-3 -> total". Owned by the graph. */
const char *weft_graph_message(const weft_graph *g);

/* What the last compute did. */
typedef struct weft_graph_stats {
  size_t nodes;         /* in the graph */
  size_t needed;        /* nodes the compute had to produce (after culling) */
  size_t culled;        /* nodes left out */
  size_t cached;        /* persisted results used instead of running */
  size_t tasks;         /* scheduled tasks, after fusion */
  size_t fused;         /* nodes folded into another node's task */
  size_t ran;           /* node functions that returned 0 */
  size_t peak_bytes;    /* most result bytes held at once (results made by
                           this compute, waiting for consumers or kept) */
  size_t peak_values;   /* most results held at once */
  size_t withheld;      /* times a ready root was held back (limit, budget) */
  uint64_t wall_ns;     /* the compute, start to end */
} weft_graph_stats;
/* Errors: WEFT_EINVAL. */
int weft_graph_stats_get(const weft_graph *g, weft_graph_stats *out);

enum weft_graph_node_state {
  WEFT_GRAPH_IDLE = 0,       /* not part of the last compute (culled) */
  WEFT_GRAPH_DONE = 1,       /* ran and returned 0 */
  WEFT_GRAPH_CACHED = 2,     /* a persisted result was used */
  WEFT_GRAPH_FAILED = 3,     /* its function failed (error says how) */
  WEFT_GRAPH_DEP_FAILED = 4, /* not run: a node it depends on failed */
  WEFT_GRAPH_SKIPPED = 5     /* not run: the compute stopped first */
};

/* One node in the last compute, for reports (a drawing coloured by run
 * time, a critical path). Times are ns; start_ns is from the compute's
 * start (0 for nodes that did not run). */
typedef struct weft_graph_node_stats {
  int state;             /* enum weft_graph_node_state */
  int error;             /* the node's code (0; FAILED: its code) */
  uint64_t start_ns;
  uint64_t run_ns;       /* time in the node's function */
  size_t out_size;       /* bytes of its result */
  uint32_t order;        /* its rank in the scheduling order */
  weft_graph_node task;  /* the first node of the task it ran in (fusion) */
  int worker;            /* thread-pool worker index; -1 elsewhere */
} weft_graph_node_info;
/* Errors: WEFT_EINVAL (NULL, bad id). */
int weft_graph_node_stats(const weft_graph *g, weft_graph_node id, weft_graph_node_info *out);

/* The graph's structure as Graphviz DOT text, in a malloc'ed string (*out,
 * NUL-terminated; the caller frees it; *len may be NULL). Nodes carry their
 * key, state and run time from the last compute; fill colours go from pale
 * (fast) to red (slowest node); culled nodes are dashed, failed ones have a
 * red border, edges inside a fused task are bold; attributes weft_state,
 * weft_run_ns, weft_order and weft_task carry the record for tools.
 * Errors: WEFT_EINVAL, WEFT_ENOMEM. */
int weft_graph_to_dot(const weft_graph *g, char **out, size_t *len);

/* The structure and the last compute's record as JSON, for saving and for
 * reports (a drawing coloured by run time, the critical path): {"nodes":
 * [{"id", "key", "deps": [ids], "state", "target", "task", "order",
 * "worker", "start_ns", "run_ns", "out_size", "error"}...], "wall_ns",
 * "peak_bytes", "peak_values"}. Anonymous nodes get key "#<id>". Memory and
 * errors as weft_graph_to_dot. */
int weft_graph_to_json(const weft_graph *g, char **out, size_t *len);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_GRAPH_H */
