/* src/cli/bench_graph.c — `weft bench graph`: lazy task graphs, weft vs
 * dask.delayed on Dask's threaded scheduler (bench/peer_dask_graph.py).
 *
 *  G1  a graph of 100,000 tiny nodes: 25,000 groups of x = inc(k),
 *      y = double(x), z = add(x, y), w = neg(z), every w a target.
 *  G2  a pairwise tree reduction over 1,000 leaves (1,999 nodes), one
 *      target; also the peak number of results held.
 *
 * A timed run builds the graph, computes it, reads the results and frees
 * it — as the Dask side builds its delayed objects and computes them — and
 * the figure is ns per node. weft runs on the threads executor (2 workers)
 * and on the inline executor (the "threads 1" rows). weft fuses linear
 * chains by default (G1's z -> w); dask.delayed only culls, so the
 * like-for-like row is `nodes_nofuse` (one task per node, as Dask). */
#include <unistd.h>

#include "cli/bench.h"
#include "weft/graph.h"

int bench_g1_graph(bench_ctx *c);
int bench_g2_tree(bench_ctx *c);
void bench_print_graph_targets(const bench_ctx *c);

/* ---- the node functions: an int64 in each value ---- */

static int64_t in0(const weft_graph_value *in) {
  int64_t x;
  memcpy(&x, in->data, sizeof x);
  return x;
}

static int out64(weft_graph_value *out, int64_t x) {
  int64_t *p = malloc(sizeof *p);
  if (!p) return WEFT_ENOMEM;
  *p = x;
  out->data = p;
  out->size = sizeof *p;
  return 0;
}

static int g_inc(const weft_graph_value *in, size_t n, const void *arg, size_t size,
                 weft_graph_value *out) {
  (void)in, (void)n, (void)size;
  int64_t k;
  memcpy(&k, arg, sizeof k);
  return out64(out, k + 1);
}

static int g_double(const weft_graph_value *in, size_t n, const void *arg, size_t size,
                    weft_graph_value *out) {
  (void)n, (void)arg, (void)size;
  return out64(out, 2 * in0(&in[0]));
}

static int g_add(const weft_graph_value *in, size_t n, const void *arg, size_t size,
                 weft_graph_value *out) {
  (void)n, (void)arg, (void)size;
  return out64(out, in0(&in[0]) + in0(&in[1]));
}

static int g_neg(const weft_graph_value *in, size_t n, const void *arg, size_t size,
                 weft_graph_value *out) {
  (void)n, (void)arg, (void)size;
  return out64(out, -in0(&in[0]));
}

/* ---- one run ---- */

typedef struct grun {
  weft_executor *ex;
  size_t size;          /* G1: nodes; G2: leaves */
  int inner;            /* G2: graphs per timed run (one is ~1 ms) */
  weft_graph_opts opts;
  int64_t check;
  size_t nodes, peak_values;
  int err;
} grun;

static int g1_build(weft_graph *g, size_t groups, weft_graph_node *ws) {
  int rc = 0;
  for (size_t k = 0; k < groups && !rc; k++) {
    int64_t arg = (int64_t)k;
    weft_graph_node x = 0, y = 0, z = 0, xy[2];
    rc = weft_graph_add_ids(g, NULL, g_inc, &arg, sizeof arg, NULL, 0, &x);
    if (!rc) rc = weft_graph_add_ids(g, NULL, g_double, NULL, 0, &x, 1, &y);
    xy[0] = x, xy[1] = y;
    if (!rc) rc = weft_graph_add_ids(g, NULL, g_add, NULL, 0, xy, 2, &z);
    if (!rc) rc = weft_graph_add_ids(g, NULL, g_neg, NULL, 0, &z, 1, &ws[k]);
  }
  return rc;
}

static double g1_once(void *arg) {
  grun *r = arg;
  size_t groups = r->size / 4;
  weft_graph_node *ws = malloc(groups * sizeof *ws);
  weft_graph *g = NULL;
  uint64_t t0 = wb_now_ns();
  int rc = ws ? weft_graph_create(&g) : WEFT_ENOMEM;
  if (!rc) rc = g1_build(g, groups, ws);
  if (!rc) rc = weft_graph_compute_ids(g, r->ex, ws, groups, &r->opts);
  int64_t sum = 0;
  for (size_t k = 0; k < groups && !rc; k++) {
    const void *p;
    if ((rc = weft_graph_result_id(g, ws[k], &p, NULL)) == 0) sum += *(const int64_t *)p;
  }
  weft_graph_destroy(g);
  uint64_t dt = wb_now_ns() - t0;
  free(ws);
  if (rc) r->err = rc;
  r->check = sum;
  r->nodes = groups * 4;
  return (double)dt / (double)(groups * 4);
}

/* The pairwise tree over r->size leaves; *top gets the root. */
static int g2_build(weft_graph *g, size_t leaves, weft_graph_node *ids, weft_graph_node *top) {
  int rc = 0;
  for (size_t i = 0; i < leaves && !rc; i++) {
    int64_t arg = (int64_t)i - 1; /* g_inc: leaf i is i */
    rc = weft_graph_add_ids(g, NULL, g_inc, &arg, sizeof arg, NULL, 0, &ids[i]);
  }
  for (size_t n = leaves; n > 1 && !rc;) {
    size_t m = 0;
    for (size_t i = 0; i < n && !rc; i += 2)
      rc = i + 1 == n ? (ids[m++] = ids[i], 0)
                      : weft_graph_add_ids(g, NULL, g_add, NULL, 0, &ids[i], 2, &ids[m++]);
    n = m;
  }
  *top = ids[0];
  return rc;
}

static double g2_once(void *arg) {
  grun *r = arg;
  weft_graph_node *ids = malloc(r->size * sizeof *ids), top = 0;
  uint64_t t0 = wb_now_ns();
  size_t nodes = 0;
  for (int k = 0; k < r->inner && ids; k++) {
    weft_graph *g = NULL;
    int rc = weft_graph_create(&g);
    if (!rc) rc = g2_build(g, r->size, ids, &top);
    if (!rc) rc = weft_graph_compute_ids(g, r->ex, &top, 1, &r->opts);
    const void *p;
    if (!rc) rc = weft_graph_result_id(g, top, &p, NULL);
    if (!rc) r->check = *(const int64_t *)p;
    weft_graph_stats s;
    if (!rc && weft_graph_stats_get(g, &s) == 0) r->peak_values = s.peak_values;
    nodes += weft_graph_size(g);
    weft_graph_destroy(g);
    if (rc) r->err = rc;
  }
  uint64_t dt = wb_now_ns() - t0;
  free(ids);
  r->nodes = nodes;
  return nodes ? (double)dt / (double)nodes : 0;
}

/* ---- the benchmarks ---- */

/* Measures one weft row; 1 when weft failed. */
static int weft_row(bench_ctx *c, const char *bench, const char *kase, wb_run_fn fn, grun *r,
                    bool inline_ex) {
  int rc = inline_ex ? weft_executor_inline(&r->ex) : weft_executor_threads_new(&r->ex, c->threads);
  if (rc) {
    fprintf(stderr, "weft bench graph: no executor: %s\n", weft_strerror(rc));
    return 1;
  }
  double v = bench_median(c, fn, r, 1);
  unsigned threads = weft_executor_workers(r->ex);
  weft_executor_destroy(r->ex);
  if (r->err) {
    fprintf(stderr, "weft bench graph: %s %s failed: %s\n", bench, kase, weft_strerror(r->err));
    return 1;
  }
  char check[40];
  snprintf(check, sizeof check, "%" PRId64, r->check);
  bench_emit(c, bench, kase, "weft", (int)threads, v, "ns/node", false, check);
  return 0;
}

/* peer_dask_graph.py from the peer directory, else from the source tree
 * (until the build copies it there). */
static void dask_row(bench_ctx *c, const char *bench, uint64_t size) {
  char saved[sizeof c->peer_dir], path[sizeof c->peer_dir + 32];
  snprintf(saved, sizeof saved, "%s", c->peer_dir);
  snprintf(path, sizeof path, "%s/peer_dask_graph.py", c->peer_dir);
  if (access(path, R_OK) != 0) {
    const char *src = __FILE__, *cut = strstr(src, "src/cli/bench_graph.c");
    if (cut && cut > src) snprintf(c->peer_dir, sizeof c->peer_dir, "%.*sbench", (int)(cut - src), src);
  }
  bench_peer(c, "peer_dask_graph.py", bench, size, c->threads);
  snprintf(c->peer_dir, sizeof c->peer_dir, "%s", saved);
}

static size_t g1_nodes(const bench_ctx *c) {
  size_t n = c->size.tasks / 10; /* 100,000 (full), 20,000 (--quick) */
  return n < 40 ? 40 : n / 4 * 4;
}

int bench_g1_graph(bench_ctx *c) {
  size_t n = g1_nodes(c);
  int bad = 0;
  grun r = {.size = n};
  bad |= weft_row(c, "G1", "nodes", g1_once, &r, false);
  r = (grun){.size = n, .opts = {.no_fuse = true}};
  bad |= weft_row(c, "G1", "nodes_nofuse", g1_once, &r, false);
  r = (grun){.size = n};
  bad |= weft_row(c, "G1", "nodes", g1_once, &r, true);
  r = (grun){.size = n, .opts = {.no_fuse = true}};
  bad |= weft_row(c, "G1", "nodes_nofuse", g1_once, &r, true);
  dask_row(c, "G1", n);
  return bad;
}

int bench_g2_tree(bench_ctx *c) {
  size_t leaves = c->size.tasks >= 100000 ? 1000 : 100;
  int inner = c->size.tasks >= 1000000 ? 100 : 10, bad = 0;
  grun r = {.size = leaves, .inner = inner};
  bad |= weft_row(c, "G2", "nodes", g2_once, &r, false);
  size_t peak = r.peak_values;
  r = (grun){.size = leaves, .inner = inner};
  bad |= weft_row(c, "G2", "nodes", g2_once, &r, true);
  if (!bad)
    bench_emit(c, "G2", "peak_values", "weft", (int)c->threads, (double)peak, "values", false,
               NULL);
  dask_row(c, "G2", leaves);
  return bad;
}

/* dask / weft per node, like for like (no fusion for G1). */
void bench_print_graph_targets(const bench_ctx *c) {
  printf("\nIssue target: weft's per-node overhead at least 100x lower than dask.delayed's\n"
         "(threaded scheduler), %u threads; ratios = dask ns/node / weft ns/node:\n", c->threads);
  static const struct { const char *bench, *kase; } rows[] = {
    {"G1", "nodes_nofuse"}, {"G1", "nodes"}, {"G2", "nodes"}};
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    const wb_result *d = bench_find_row(c, rows[i].bench, "nodes", "dask", (int)c->threads);
    const wb_result *w = bench_find_row(c, rows[i].bench, rows[i].kase, "weft", (int)c->threads);
    if (!d || !w || w->value <= 0) {
      printf("  %s %-13s: not measured (dask skipped?)\n", rows[i].bench, rows[i].kase);
      continue;
    }
    double ratio = d->value / w->value;
    printf("  %s %-13s: weft %.0f ns/node, dask %.0f ns/node: %.0fx  %s\n", rows[i].bench,
           rows[i].kase, w->value, d->value, ratio, ratio >= 100 ? "met" : "MISSED");
  }
}
