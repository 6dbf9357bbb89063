/* src/graph/dot.c — weft_graph_to_dot: the graph's structure and the last
 * compute's record as Graphviz DOT. Each node shows its key, state and run
 * time and carries them as attributes (weft_state, weft_run_ns, weft_order,
 * weft_task) for tools that read the file; the fill goes from pale yellow
 * (fast) to red (the slowest node), edges inside a fused task are bold. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph_internal.h"

static const char *state_name(int s) {
  static const char *names[] = {"idle", "done", "cached", "failed", "dep_failed", "skipped"};
  return s >= 0 && s <= WEFT_GRAPH_SKIPPED ? names[s] : "?";
}

/* A DOT string literal of s. */
static void quoted(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', f);
    if ((unsigned char)*s >= 0x20) fputc(*s, f);
  }
  fputc('"', f);
}

/* Pale yellow (0) to red (1), as #rrggbb. */
static void heat(char *buf, size_t len, double t) {
  if (t < 0) t = 0;
  if (t > 1) t = 1;
  int r = 255, gr = (int)(245 - 200 * t), b = (int)(200 - 180 * t);
  snprintf(buf, len, "#%02x%02x%02x", r, gr, b);
}

static void node_line(const weft_graph *g, FILE *f, uint32_t i, uint64_t max_ns) {
  const gnode *x = &g->nodes[i];
  char nb[24], label[400], color[16];
  const char *name = weft__graph_name(g, i, nb, sizeof nb);
  if (x->state == WEFT_GRAPH_DONE)
    snprintf(label, sizeof label, "%s\\n%.1f us", name, (double)x->run_ns / 1e3);
  else
    snprintf(label, sizeof label, "%s\\n%s", name, state_name(x->state));
  heat(color, sizeof color, max_ns ? (double)x->run_ns / (double)max_ns : 0);
  fprintf(f, "  n%u [label=", i);
  quoted(f, label);
  fprintf(f, ", style=\"%s\", fillcolor=\"%s\"", x->state == WEFT_GRAPH_IDLE ? "dashed" : "filled",
          x->state == WEFT_GRAPH_CACHED ? "#b8d8ff" : color);
  if (x->state == WEFT_GRAPH_FAILED || x->state == WEFT_GRAPH_DEP_FAILED)
    fprintf(f, ", color=red, penwidth=2");
  if (x->target) fprintf(f, ", shape=doubleoctagon");
  fprintf(f, ", weft_state=\"%s\", weft_run_ns=%llu, weft_order=%u, weft_task=%u];\n",
          state_name(x->state), (unsigned long long)x->run_ns, x->prio == GNONE ? 0 : x->prio,
          x->head);
}

int weft_graph_to_dot(const weft_graph *g, char **out, size_t *len) {
  if (!g || !out) return WEFT_EINVAL;
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  if (!f) return WEFT_ENOMEM;
  uint64_t max_ns = 0;
  for (uint32_t i = 0; i < g->n; i++)
    if (g->nodes[i].run_ns > max_ns) max_ns = g->nodes[i].run_ns;
  fprintf(f, "digraph weft_graph {\n  rankdir=BT;\n  node [shape=box, fontname=\"monospace\"];\n");
  for (uint32_t i = 0; i < g->n; i++) node_line(g, f, i, max_ns);
  for (uint32_t i = 0; i < g->n; i++) {
    const gnode *x = &g->nodes[i];
    const uint32_t *d = weft__graph_deps(g, x);
    for (uint32_t k = 0; k < x->ndeps; k++)
      fprintf(f, "  n%u -> n%u%s;\n", d[k], i, g->nodes[d[k]].next == i ? " [style=bold]" : "");
  }
  fputs("}\n", f);
  if (fclose(f) != 0 || !buf) {
    free(buf);
    return WEFT_ENOMEM;
  }
  *out = buf;
  if (len) *len = n;
  return 0;
}

/* A JSON string literal of s. */
static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
    else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
    else fputc(ch, f);
  }
  fputc('"', f);
}

int weft_graph_to_json(const weft_graph *g, char **out, size_t *len) {
  if (!g || !out) return WEFT_EINVAL;
  char *buf = NULL, nb[24];
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  if (!f) return WEFT_ENOMEM;
  fprintf(f, "{\"nodes\":[");
  for (uint32_t i = 0; i < g->n; i++) {
    const gnode *x = &g->nodes[i];
    fprintf(f, "%s\n{\"id\":%u,\"key\":", i ? "," : "", i);
    json_str(f, weft__graph_name(g, i, nb, sizeof nb));
    fprintf(f, ",\"deps\":[");
    const uint32_t *d = weft__graph_deps(g, x);
    for (uint32_t k = 0; k < x->ndeps; k++) fprintf(f, "%s%u", k ? "," : "", d[k]);
    fprintf(f, "],\"state\":\"%s\",\"target\":%s,\"task\":%u,\"order\":%u,\"worker\":%d,"
               "\"start_ns\":%llu,\"run_ns\":%llu,\"out_size\":%zu,\"error\":%d}",
            state_name(x->state), x->target ? "true" : "false", x->head,
            x->prio == GNONE ? 0 : x->prio, x->worker, (unsigned long long)x->start_ns,
            (unsigned long long)x->run_ns, x->out_size, x->error);
  }
  fprintf(f, "\n],\"wall_ns\":%llu,\"peak_bytes\":%zu,\"peak_values\":%zu}\n",
          (unsigned long long)g->stats.wall_ns, g->stats.peak_bytes, g->stats.peak_values);
  if (fclose(f) != 0 || !buf) {
    free(buf);
    return WEFT_ENOMEM;
  }
  *out = buf;
  if (len) *len = n;
  return 0;
}
