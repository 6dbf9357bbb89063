/* src/graph/compute.c — weft_graph_compute and weft_graph_cancel: plan,
 * pick the driver for the executor's kind (processes need bytes; inline and
 * threads take runner tasks), then record what happened. */
#include <stdlib.h>
#include <string.h>

#include "graph/graph_internal.h"

/* Claims the graph for one compute. */
static int begin(weft_graph *g) {
  pthread_mutex_lock(&g->mu);
  int rc = g->computing ? WEFT_EBUSY : 0;
  if (!rc) {
    g->computing = true;
    atomic_store(&g->cancel, 0);
  }
  pthread_mutex_unlock(&g->mu);
  return rc;
}

static int finish(weft_graph *g, int rc) {
  pthread_mutex_lock(&g->mu);
  if (!rc && g->tasks_left && !g->stop && atomic_load(&g->cancel))
    weft__graph_fail(g, WEFT_ECANCELED, GNONE, "the compute was cancelled");
  if (rc && !g->stop) weft__graph_fail(g, rc, GNONE, NULL);
  if (!rc && g->stop) rc = g->err;
  weft__graph_settle(g);
  g->stats.ran = 0;
  for (uint32_t i = 0; i < g->n; i++) g->stats.ran += g->nodes[i].state == WEFT_GRAPH_DONE;
  g->stats.wall_ns = weft_now_ns() - g->t0;
  g->computing = false;
  pthread_mutex_unlock(&g->mu);
  return rc;
}

int weft_graph_compute_ids(weft_graph *g, weft_executor *ex, const weft_graph_node *targets,
                           size_t n, const weft_graph_opts *opts) {
  if (!g || !ex || (n && !targets)) return WEFT_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (targets[i] >= g->n) return WEFT_EINVAL;
  int rc = begin(g);
  if (rc) return rc;
  g->opts = opts ? *opts : (weft_graph_opts){0};
  g->workers = weft_executor_workers(ex);
  if (g->workers < 1) g->workers = 1;
  g->root_limit = g->opts.root_limit ? g->opts.root_limit : 2 * (size_t)g->workers;
  g->t0 = weft_now_ns();
  rc = weft__graph_plan(g, targets, n);
  if (!rc && g->tasks_left)
    rc = strcmp(weft_executor_kind(ex), "processes") == 0 ? weft__graph_run_bytes(g, ex)
                                                         : weft__graph_run_threads(g, ex);
  return finish(g, rc);
}

int weft_graph_compute(weft_graph *g, weft_executor *ex, const char *const *targets, size_t n,
                       const weft_graph_opts *opts) {
  if (!g || !ex || (n && !targets)) return WEFT_EINVAL;
  weft_graph_node small[16], *ids = n <= 16 ? small : malloc(n * sizeof *ids);
  if (!ids) return WEFT_ENOMEM;
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++)
    rc = targets[i] ? weft_graph_find(g, targets[i], &ids[i]) : WEFT_EINVAL;
  if (!rc) rc = weft_graph_compute_ids(g, ex, ids, n, opts);
  if (ids != small) free(ids);
  return rc;
}

int weft_graph_cancel(weft_graph *g) {
  if (!g) return WEFT_EINVAL;
  pthread_mutex_lock(&g->mu);
  int rc = g->computing ? 0 : WEFT_EALREADY;
  if (!rc) {
    atomic_store(&g->cancel, 1);
    if (g->on_cancel) g->on_cancel(g);
    pthread_cond_broadcast(&g->cv);
  }
  pthread_mutex_unlock(&g->mu);
  return rc;
}
