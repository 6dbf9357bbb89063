/* src/cli/trace_cpath.c — the report's graph panel: for each task graph in
 * the trace (NODE spans and EDGE records, see src/trace/trace_internal.h),
 * its critical path — the chain of dependent nodes with the largest total
 * run time, a lower bound on the graph's run time on any number of workers
 * — next to its total work and the parallelism work / path allows. */
#include <stdlib.h>
#include <string.h>
#include "cli/trace_cli.h"

typedef struct gnode {
  uint32_t graph;
  uint64_t node;
  size_t span;
  double best;     /* longest path ending here, this node included (µs) */
  long prev;       /* predecessor on it, or -1 */
  int level;       /* 1 + the deepest dependency's level (drawing) */
  int row;         /* position within its level (drawing) */
  bool on_path;
} gnode;

#define DRAW_MAX 1500 /* nodes drawn per graph */

static int by_key(const void *a, const void *b) {
  const gnode *x = a, *y = b;
  if (x->graph != y->graph) return x->graph < y->graph ? -1 : 1;
  return x->node < y->node ? -1 : x->node > y->node;
}

static int edge_key(const void *a, const void *b) {
  const tr_edge *x = a, *y = b;
  if (x->graph != y->graph) return x->graph < y->graph ? -1 : 1;
  return x->node < y->node ? -1 : x->node > y->node;
}

static const tr_model *sm;
static gnode *sorted_nodes;
static int by_start(const void *a, const void *b) {
  double x = sm->spans[sorted_nodes[*(const size_t *)a].span].ts;
  double y = sm->spans[sorted_nodes[*(const size_t *)b].span].ts;
  return x < y ? -1 : x > y;
}

static long find(gnode *g, size_t n, uint32_t graph, uint64_t node) {
  gnode key = {.graph = graph, .node = node};
  gnode *r = bsearch(&key, g, n, sizeof *g, by_key);
  return r ? r - g : -1;
}

/* The graph drawn by levels (a node sits one column right of its deepest
 * dependency), each node coloured by its run time, white to dark red, the
 * critical path outlined. */
static void draw_graph(FILE *f, const tr_model *m, gnode *g, size_t lo, size_t hi,
                       const tr_edge *e, size_t ne) {
  if (hi - lo > DRAW_MAX) {
    fprintf(f, "<p class=\"note\">%zu nodes: too many to draw.</p>\n", hi - lo);
    return;
  }
  int levels = 0, rows = 0, count[256] = {0};
  double maxd = 0;
  for (size_t i = lo; i < hi; i++) {
    int l = g[i].level < 255 ? g[i].level : 255;
    g[i].row = count[l]++;
    if (l + 1 > levels) levels = l + 1;
    if (count[l] > rows) rows = count[l];
    if (m->spans[g[i].span].dur > maxd) maxd = m->spans[g[i].span].dur;
  }
  double W = 40 + levels * 70.0, H = 20 + rows * 24.0;
  fprintf(f, "<svg class=\"graph\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
          "height=\"%.0f\">\n", W < 1100 ? W : 1100, H < 600 ? H : 600);
  fprintf(f, "<g transform=\"scale(%.4f)\">\n", (W < 1100 ? 1 : 1100 / W) < (H < 600 ? 1 : 600 / H)
          ? (W < 1100 ? 1 : 1100 / W) : (H < 600 ? 1 : 600 / H));
  for (size_t k = 0; k < ne; k++) {
    if (e[k].graph != g[lo].graph) continue;
    long a = find(g + lo, hi - lo, e[k].graph, e[k].dep);
    long b = find(g + lo, hi - lo, e[k].graph, e[k].node);
    if (a < 0 || b < 0) continue;
    a += (long)lo;
    b += (long)lo;
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#bbb\"/>\n",
            30 + (g[a].level < 255 ? g[a].level : 255) * 70, 20 + g[a].row * 24,
            30 + (g[b].level < 255 ? g[b].level : 255) * 70, 20 + g[b].row * 24);
  }
  for (size_t i = lo; i < hi; i++) {
    const tr_span *s = &m->spans[g[i].span];
    double h = maxd > 0 ? s->dur / maxd : 0; /* 0 white .. 1 dark red */
    fprintf(f, "<circle class=\"gnode\" cx=\"%d\" cy=\"%d\" r=\"8\" fill=\"rgb(%d,%d,%d)\" "
            "stroke=\"%s\" stroke-width=\"%d\"><title>", 30 + (g[i].level < 255 ? g[i].level : 255) * 70,
            20 + g[i].row * 24, 255 - (int)(h * 100), (int)(255 * (1 - h)), (int)(255 * (1 - h)),
            g[i].on_path ? "#000" : "#999", g[i].on_path ? 2 : 1);
    rep_html_str(f, m->fns[s->fn].name);
    fprintf(f, ": %.3f us</title></circle>\n", s->dur);
  }
  fputs("</g></svg>\n", f);
}

static void print_graph(FILE *f, const tr_model *m, gnode *g, size_t lo, size_t hi) {
  double work = 0, t0 = 0, t1 = 0;
  long end = -1;
  for (size_t i = lo; i < hi; i++) {
    const tr_span *s = &m->spans[g[i].span];
    work += s->dur;
    if (i == lo || s->ts < t0) t0 = s->ts;
    if (i == lo || s->ts + s->dur > t1) t1 = s->ts + s->dur;
    if (end < 0 || g[i].best > g[end].best) end = (long)i;
  }
  double path = end >= 0 ? g[end].best : 0;
  fprintf(f, "<h3>graph %u</h3><table class=\"cpath\"><tr><td>nodes run</td><td>%zu</td></tr>"
          "<tr><td>total work</td><td>%.3f ms</td></tr><tr><td>wall time</td><td>%.3f ms</td></tr>"
          "<tr><td>critical path</td><td class=\"cpath-len\">%.3f ms</td></tr>"
          "<tr><td>parallelism (work / path)</td><td>%.2f</td></tr></table>\n",
          g[lo].graph, hi - lo, work / 1000, (t1 - t0) / 1000, path / 1000,
          path > 0 ? work / path : 0);
  fputs("<table><tr><th>critical path, last node first</th><th>start ms</th><th>run us</th></tr>\n", f);
  int shown = 0;
  for (long i = end; i >= 0 && shown < 40; i = g[i].prev, shown++) {
    const tr_span *s = &m->spans[g[i].span];
    fputs("<tr class=\"cpath-node\"><td>", f);
    rep_html_str(f, m->fns[s->fn].name);
    fprintf(f, "</td><td>%.3f</td><td>%.3f</td></tr>\n", (s->ts - m->t0) / 1000, s->dur);
  }
  fputs("</table>\n", f);
  for (long i = end; i >= 0; i = g[i].prev) g[i].on_path = true;
}

void rep_critical_path(FILE *f, const tr_model *m) {
  size_t n = 0;
  for (size_t i = 0; i < m->nspans; i++) n += m->spans[i].kind == TR_NODE;
  if (!n) return;
  gnode *g = calloc(n, sizeof *g);
  size_t *order = calloc(n, sizeof *order);
  tr_edge *e = m->nedges ? malloc(m->nedges * sizeof *e) : NULL;
  if (!g || !order || (m->nedges && !e)) goto out;
  size_t k = 0;
  for (size_t i = 0; i < m->nspans; i++)
    if (m->spans[i].kind == TR_NODE)
      g[k++] = (gnode){.graph = m->spans[i].graph, .node = m->spans[i].node, .span = i, .prev = -1};
  qsort(g, n, sizeof *g, by_key);
  if (m->nedges) {
    memcpy(e, m->edges, m->nedges * sizeof *e);
    qsort(e, m->nedges, sizeof *e, edge_key);
  }
  /* In start order every dependency ran (and got its best) before. */
  for (size_t i = 0; i < n; i++) order[i] = i;
  sm = m;
  sorted_nodes = g;
  qsort(order, n, sizeof *order, by_start);
  for (size_t oi = 0; oi < n; oi++) {
    gnode *x = &g[order[oi]];
    double best = 0;
    int level = 0;
    tr_edge key = {.graph = x->graph, .node = x->node};
    tr_edge *hit = m->nedges ? bsearch(&key, e, m->nedges, sizeof *e, edge_key) : NULL;
    if (hit) {
      while (hit > e && edge_key(hit - 1, &key) == 0) hit--;
      for (; hit < e + m->nedges && edge_key(hit, &key) == 0; hit++) {
        long d = find(g, n, x->graph, hit->dep);
        if (d >= 0 && g[d].best > best) best = g[d].best, x->prev = d;
        if (d >= 0 && g[d].level + 1 > level) level = g[d].level + 1;
      }
    }
    x->best = best + m->spans[x->span].dur;
    x->level = level;
  }
  fputs("<h2>Task graph: critical path</h2>\n", f);
  for (size_t lo = 0, graphs = 0; lo < n && graphs < 8; graphs++) {
    size_t hi = lo;
    while (hi < n && g[hi].graph == g[lo].graph) hi++;
    print_graph(f, m, g, lo, hi);
    draw_graph(f, m, g, lo, hi, e, m->nedges);
    lo = hi;
  }
out:
  free(g);
  free(order);
  free(e);
}
