/* src/cli/tour_graph.c — tour step for Dask's delayed: the tutorial's
 * inc/add example as a lazy task graph. Eight inputs each go through a slow
 * inc (2 ms), a pairwise tree of slow adds (2 ms each) sums them; nothing
 * runs until the compute. On the threads executor independent nodes run
 * side by side; the step checks the total (44), that every node ran once,
 * that culling skipped an unused branch, and reports the peak number of
 * results held and the DOT rendering's size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/tour.h"
#include "weft/graph.h"

int tour_graph(tour_out *out);

enum { TG_INPUTS = 8, TG_SLEEP_US = 2000 };

static int64_t tg_in(const weft_graph_value *v) {
  int64_t x;
  memcpy(&x, v->data, sizeof x);
  return x;
}

static int tg_inc(const weft_graph_value *in, size_t n, const void *arg, size_t size,
                  weft_graph_value *out) {
  (void)in, (void)n, (void)size;
  usleep(TG_SLEEP_US);
  int64_t x;
  memcpy(&x, arg, sizeof x);
  x += 1;
  return weft_graph_value_set(out, &x, sizeof x);
}

static int tg_add(const weft_graph_value *in, size_t n, const void *arg, size_t size,
                  weft_graph_value *out) {
  (void)arg, (void)size;
  usleep(TG_SLEEP_US);
  int64_t s = 0;
  for (size_t i = 0; i < n; i++) s += tg_in(&in[i]);
  return weft_graph_value_set(out, &s, sizeof s);
}

/* inc(1..8), a pairwise tree of adds up to "total", and an unused node. */
static int tg_build(weft_graph *g) {
  weft_graph_node ids[TG_INPUTS], unused;
  char key[32];
  int rc = 0;
  for (int i = 0; i < TG_INPUTS && !rc; i++) {
    int64_t x = i + 1;
    snprintf(key, sizeof key, "inc-%d", i + 1);
    rc = weft_graph_add(g, key, tg_inc, &x, sizeof x, NULL, 0, &ids[i]);
  }
  for (int n = TG_INPUTS, level = 1; n > 1 && !rc; n /= 2, level++)
    for (int i = 0; i < n / 2 && !rc; i++) {
      snprintf(key, sizeof key, n == 2 ? "total" : "add-%d-%d", level, i);
      rc = weft_graph_add_ids(g, key, tg_add, NULL, 0, &ids[2 * i], 2, &ids[i]);
    }
  if (!rc) rc = weft_graph_add_ids(g, "unused", tg_add, NULL, 0, ids, 1, &unused);
  return rc;
}

typedef struct tg_run {
  weft_executor *ex;
  int64_t total;
  weft_graph_stats stats;
  size_t dot_len;
  char message[160];
} tg_run;

static int tg_once(void *ctx) {
  tg_run *r = ctx;
  weft_graph *g;
  int rc = weft_graph_create(&g);
  if (rc) return rc;
  const char *targets[] = {"total"};
  if (!(rc = tg_build(g))) rc = weft_graph_compute(g, r->ex, targets, 1, NULL);
  const void *p;
  if (!rc && !(rc = weft_graph_result(g, "total", &p, NULL))) memcpy(&r->total, p, sizeof r->total);
  if (!rc) rc = weft_graph_stats_get(g, &r->stats);
  char *dot = NULL;
  if (!rc && !(rc = weft_graph_to_dot(g, &dot, &r->dot_len))) free(dot);
  if (rc) snprintf(r->message, sizeof r->message, "%s", weft_graph_message(g));
  weft_graph_destroy(g);
  return rc;
}

int tour_graph(tour_out *out) {
  tg_run par = {0}, ser = {0};
  int rc = weft_executor_threads_new(&par.ex, tour_threads());
  if (!rc) rc = weft_executor_inline(&ser.ex);
  if (!rc) rc = tour_time_best(tg_once, &par, 3, &out->ns);
  if (!rc) rc = tour_time_best(tg_once, &ser, 1, &out->serial_ns);
  weft_executor_destroy(par.ex);
  weft_executor_destroy(ser.ex);
  if (rc) {
    tour_result(out, "failed: %s %s", weft_err_name(rc), par.message);
    return rc;
  }
  const weft_graph_stats *s = &par.stats;
  bool ok = par.total == 44 && ser.total == 44 && s->ran == 15 && s->culled == 1;
  tour_result(out, "total %lld, %zu nodes ran", (long long)par.total, s->ran);
  tour_note(out, "lazy: built 16 nodes, computed \"total\"; culled %zu unused, peak %zu results "
            "held", s->culled, s->peak_values);
  tour_note(out, "same graph on the inline executor: total %lld; weft_graph_to_dot: %zu bytes",
            (long long)ser.total, par.dot_len);
  return ok ? 0 : 1;
}
