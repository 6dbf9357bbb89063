/* examples/graph_delayed.c — Dask's delayed, in C: a lazy task graph.
 *
 * The Dask tutorial's example:
 *
 *     data = [1, 2, 3, 4, 5, 6, 7, 8]
 *     results = [delayed(inc)(x) for x in data]    # nothing runs yet
 *     total = delayed(sum)(results)                 # pairwise adds here
 *     total.compute(scheduler="threads")            # now it runs
 *
 * The same graph runs on the inline, threads and processes executors (one
 * argument), a failing node names itself and its chain to the target, and
 * the graph renders as Graphviz DOT. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/graph.h"

static _Atomic int calls; /* node functions run in this process */

static int64_t value_of(const weft_graph_value *v) {
  int64_t x;
  memcpy(&x, v->data, sizeof x);
  return x;
}

/* inc(x): x is the node's constant argument; x < 0 is refused. */
static int inc(const weft_graph_value *in, size_t n, const void *arg, size_t size,
               weft_graph_value *out) {
  (void)in, (void)n, (void)size;
  atomic_fetch_add(&calls, 1);
  int64_t x;
  memcpy(&x, arg, sizeof x);
  if (x < 0) return weft_task_fail(WEFT_EINVAL, "inc(%lld): negative input", (long long)x);
  x += 1;
  return weft_graph_value_set(out, &x, sizeof x);
}

/* add(inputs...): the sum of the input nodes' results. */
static int add(const weft_graph_value *in, size_t n, const void *arg, size_t size,
               weft_graph_value *out) {
  (void)arg, (void)size;
  atomic_fetch_add(&calls, 1);
  int64_t s = 0;
  for (size_t i = 0; i < n; i++) s += value_of(&in[i]);
  return weft_graph_value_set(out, &s, sizeof s);
}

/* inc-1 .. inc-8 (data[bad] negated), a pairwise tree of adds up to
 * "total", and one node nothing needs. */
static weft_graph *build(int bad) {
  weft_graph *g;
  if (weft_graph_create(&g)) return NULL;
  weft_graph_node ids[8];
  char key[32];
  for (int i = 0; i < 8; i++) {
    int64_t x = i == bad ? -(i + 1) : i + 1;
    snprintf(key, sizeof key, "inc-%d", i + 1);
    weft_graph_add(g, key, inc, &x, sizeof x, NULL, 0, &ids[i]);
  }
  for (int n = 8, level = 1; n > 1; n /= 2, level++)
    for (int i = 0; i < n / 2; i++) {
      snprintf(key, sizeof key, n == 2 ? "total" : "add-%d-%d", level, i);
      weft_graph_add_ids(g, key, add, NULL, 0, &ids[2 * i], 2, &ids[i]);
    }
  const char *deps[] = {"inc-1"};
  weft_graph_add(g, "unused", add, NULL, 0, deps, 1, NULL);
  return g;
}

static int run_on(weft_graph *g, const char *spec) {
  weft_executor *ex;
  int rc = weft_executor_create(&ex, spec);
  if (rc) return rc;
  const char *targets[] = {"total"};
  rc = weft_graph_compute(g, ex, targets, 1, NULL);
  weft_executor_destroy(ex);
  const void *p;
  weft_graph_stats s;
  if (rc || (rc = weft_graph_result(g, "total", &p, NULL)) || (rc = weft_graph_stats_get(g, &s)))
    return rc;
  int64_t total;
  memcpy(&total, p, sizeof total);
  printf("total = %lld on %s (%zu nodes ran, %zu culled, %zu tasks after fusion)\n",
         (long long)total, spec, s.ran, s.culled, s.tasks);
  return 0;
}

int main(void) {
  weft_graph *g = build(-1);
  if (!g) return 1;
  printf("built %zu nodes, %d ran so far\n", weft_graph_size(g), atomic_load(&calls));
  const char *specs[] = {"inline", "threads:2", "processes:2"};
  for (int i = 0; i < 3; i++) {
    int rc = run_on(g, specs[i]);
    if (rc) {
      fprintf(stderr, "%s: %s %s\n", specs[i], weft_strerror(rc), weft_graph_message(g));
      return 1;
    }
  }
  char *dot;
  if (weft_graph_to_dot(g, &dot, NULL) == 0) {
    printf("DOT: %.*s ... (%zu bytes)\n", (int)strcspn(dot, "\n"), dot, strlen(dot));
    free(dot);
  }
  weft_graph_destroy(g);

  g = build(4); /* inc(-5) fails: its adds and total fail with it */
  weft_executor *ex;
  if (!g || weft_executor_create(&ex, "threads:2")) return 1;
  const char *targets[] = {"total"};
  int rc = weft_graph_compute(g, ex, targets, 1, NULL);
  printf("with a bad input: %s\n  %s\n", weft_err_name(rc), weft_graph_message(g));
  weft_executor_destroy(ex);
  weft_graph_destroy(g);
  return rc == WEFT_EINVAL ? 0 : 1;
}
