/* tests/test_graph.c — lazy task graphs: building, sharing, culling, fusion,
 * the memory-saving order, early freeing, root admission and the budget,
 * error chains, cancellation, persist, DOT, and the same graph giving the
 * same answer on inline, threads and processes.
 * (The node functions live in this program, so worker processes of the
 * process pool can resolve them.) */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ppool_testutil.h"
#include "weft/graph.h"
#include "weft/trace.h"

/* ---- node functions ---- */

typedef struct leaf_arg {
  int64_t value;
  uint32_t bytes;  /* size of the result (at least 8): the value, then zeros */
  uint32_t fail;   /* fail with WEFT_EIO instead */
  uint32_t sleep_us;
} leaf_arg;

static _Atomic int calls;          /* node functions run (in this process) */
static _Atomic int64_t seq[4096];  /* inline runs: the values in run order */
static _Atomic int nseq;

static void record(int64_t v) {
  atomic_fetch_add(&calls, 1);
  int i = atomic_fetch_add(&nseq, 1);
  if (i < 4096) seq[i] = v;
}

static int64_t first(const weft_graph_value *v) {
  int64_t x = 0;
  if (v->size >= sizeof x) memcpy(&x, v->data, sizeof x);
  return x;
}

static int put(weft_graph_value *out, int64_t x, size_t bytes) {
  if (bytes < sizeof x) bytes = sizeof x;
  unsigned char *p = calloc(1, bytes);
  if (!p) return WEFT_ENOMEM;
  memcpy(p, &x, sizeof x);
  out->data = p;
  out->size = bytes;
  return 0;
}

static int leaf(const weft_graph_value *in, size_t n, const void *arg, size_t size,
                weft_graph_value *out) {
  (void)in, (void)n;
  leaf_arg a;
  assert_int_equal(size, sizeof a);
  memcpy(&a, arg, sizeof a);
  record(a.value);
  if (a.sleep_us) usleep(a.sleep_us);
  if (a.fail) return weft_task_fail(WEFT_EIO, "disk %lld gone", (long long)a.value);
  return put(out, a.value, a.bytes);
}

/* The sum of the inputs' first int64, plus an optional int64 argument;
 * records -1 (or the argument) when it runs. */
static int sum(const weft_graph_value *in, size_t n, const void *arg, size_t size,
               weft_graph_value *out) {
  int64_t s = 0, add = 0;
  if (size == sizeof add) memcpy(&add, arg, sizeof add);
  for (size_t i = 0; i < n; i++) s += first(&in[i]);
  record(add ? add : -1);
  return put(out, s + add, 8);
}

/* x -> 3x + 1: for chains. */
static int step(const weft_graph_value *in, size_t n, const void *arg, size_t size,
                weft_graph_value *out) {
  (void)arg, (void)size;
  assert_int_equal(n, 1);
  record(-2);
  return put(out, 3 * first(&in[0]) + 1, 8);
}

/* Fails when its input is odd (for a chain failing in the middle). */
static int even_only(const weft_graph_value *in, size_t n, const void *arg, size_t size,
                     weft_graph_value *out) {
  (void)n, (void)arg, (void)size;
  int64_t x = first(&in[0]);
  if (x % 2) return weft_task_fail(WEFT_ERANGE, "%lld is odd", (long long)x);
  return put(out, x / 2, 8);
}

static void reset_counts(void) {
  atomic_store(&calls, 0);
  atomic_store(&nseq, 0);
}

static weft_graph_node add_leaf(weft_graph *g, const char *key, int64_t v, uint32_t bytes) {
  leaf_arg a = {.value = v, .bytes = bytes};
  weft_graph_node id;
  assert_ok(weft_graph_add(g, key, leaf, &a, sizeof a, NULL, 0, &id));
  return id;
}

/* A pairwise tree over `leaves` leaves ("leaf-i", "sum-L-i", the last
 * "total"), the leaves added first as a user would. Leaf fail_at fails.
 * Returns the id of "total"; its value is sum(i) for i < leaves. */
static weft_graph_node build_tree(weft_graph *g, size_t leaves, uint32_t bytes, size_t fail_at) {
  weft_graph_node *ids = malloc(leaves * sizeof *ids);
  assert_non_null(ids);
  char key[48];
  for (size_t i = 0; i < leaves; i++) {
    leaf_arg a = {.value = (int64_t)i, .bytes = bytes, .fail = i == fail_at};
    snprintf(key, sizeof key, "leaf-%zu", i);
    assert_ok(weft_graph_add(g, key, leaf, &a, sizeof a, NULL, 0, &ids[i]));
  }
  size_t n = leaves;
  for (int level = 1; n > 1; level++) {
    size_t m = 0;
    for (size_t i = 0; i < n; i += 2) {
      if (i + 1 == n) {
        ids[m++] = ids[i];
        continue;
      }
      snprintf(key, sizeof key, n == 2 ? "total" : "sum-%d-%zu", level, i / 2);
      assert_ok(weft_graph_add_ids(g, key, sum, NULL, 0, &ids[i], 2, &ids[m++]));
    }
    n = m;
  }
  weft_graph_node total = ids[0];
  free(ids);
  return total;
}

static int64_t result_of(weft_graph *g, const char *key) {
  const void *p;
  size_t size;
  assert_ok(weft_graph_result(g, key, &p, &size));
  assert_true(size >= 8);
  int64_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* ---- executors shared by the tests ---- */

static weft_executor *ex_inline, *ex_threads, *ex_procs;

static int group_setup(void **state) {
  if (pt_group_setup(state) != 0) return -1;
  if (weft_executor_inline(&ex_inline) || weft_executor_threads_new(&ex_threads, 2)) return -1;
  return weft_executor_processes_new(&ex_procs, 2);
}

static int group_teardown(void **state) {
  (void)state;
  weft_executor_destroy(ex_inline);
  weft_executor_destroy(ex_threads);
  weft_executor_destroy(ex_procs);
  return 0;
}

/* ---- building ---- */

static void test_build_and_keys(void **state) {
  (void)state;
  weft_graph *g;
  assert_ok(weft_graph_create(&g));
  weft_graph_node a = add_leaf(g, "a", 20, 8), b = add_leaf(g, "b", 22, 8), id, again;
  const char *deps[] = {"a", "b"};
  assert_ok(weft_graph_add(g, "c", sum, NULL, 0, deps, 2, &id));
  assert_int_equal(weft_graph_size(g), 3);
  assert_string_equal(weft_graph_key(g, a), "a");
  assert_ok(weft_graph_find(g, "b", &again));
  assert_int_equal(again, b);
  /* the same key again adds nothing and names the existing node */
  assert_weft(weft_graph_add(g, "c", sum, NULL, 0, deps, 1, &again), WEFT_EALREADY);
  assert_int_equal(again, id);
  assert_int_equal(weft_graph_size(g), 3);
  const char *bad[] = {"nope"};
  assert_weft(weft_graph_add(g, "d", sum, NULL, 0, bad, 1, NULL), WEFT_ENOENT);
  weft_graph_node big = 99;
  assert_weft(weft_graph_add_ids(g, "d", sum, NULL, 0, &big, 1, NULL), WEFT_ENOENT);
  assert_weft(weft_graph_add(g, "d", NULL, NULL, 0, NULL, 0, NULL), WEFT_EINVAL);
  assert_weft(weft_graph_add(g, "", sum, NULL, 0, NULL, 0, NULL), WEFT_EINVAL);
  assert_weft(weft_graph_add(g, "d", sum, NULL, 4, NULL, 0, NULL), WEFT_EINVAL);
  assert_weft(weft_graph_find(g, "nope", &id), WEFT_ENOENT);
  /* an anonymous node */
  assert_ok(weft_graph_add_ids(g, NULL, sum, NULL, 0, &a, 1, &id));
  assert_null(weft_graph_key(g, id));
  const void *p;
  assert_weft(weft_graph_result(g, "c", &p, NULL), WEFT_EAGAIN); /* nothing ran */
  assert_int_equal(calls, 0);
  reset_counts();
  assert_ok(weft_graph_compute(g, ex_inline, (const char *[]){"c"}, 1, NULL));
  assert_int_equal(result_of(g, "c"), 42);
  assert_int_equal(calls, 3);
  const char *unknown[] = {"zz"};
  assert_weft(weft_graph_compute(g, ex_inline, unknown, 1, NULL), WEFT_ENOENT);
  assert_weft(weft_graph_compute(g, NULL, deps, 1, NULL), WEFT_EINVAL);
  assert_weft(weft_graph_cancel(g), WEFT_EALREADY);
  weft_graph_destroy(g);
}

/* A node used by many consumers runs once; targets share it too. */
static void test_sharing(void **state) {
  (void)state;
  weft_executor *exs[] = {ex_inline, ex_threads};
  for (int e = 0; e < 2; e++) {
    weft_graph *g;
    assert_ok(weft_graph_create(&g));
    weft_graph_node shared = add_leaf(g, "shared", 5, 8), ids[50];
    char key[32];
    for (int i = 0; i < 50; i++) {
      snprintf(key, sizeof key, "use-%d", i);
      int64_t add = i + 1;
      assert_ok(weft_graph_add_ids(g, key, sum, &add, sizeof add, &shared, 1, &ids[i]));
    }
    weft_graph_node both[2] = {shared, 0}, again;
    /* "shared" asked for a second time is the same node */
    assert_weft(weft_graph_add(g, "shared", leaf, &(leaf_arg){0}, sizeof(leaf_arg), NULL, 0,
                               &again), WEFT_EALREADY);
    assert_ok(weft_graph_add_ids(g, "all", sum, NULL, 0, ids, 50, &both[1]));
    reset_counts();
    assert_ok(weft_graph_compute_ids(g, exs[e], both, 2, NULL));
    assert_int_equal(calls, 1 + 50 + 1);
    assert_int_equal(result_of(g, "all"), 50 * 5 + 50 * 51 / 2);
    assert_int_equal(result_of(g, "shared"), 5);
    weft_graph_destroy(g);
  }
}

/* Only what the targets need runs; no_cull runs the rest too. */
static void test_culling(void **state) {
  (void)state;
  weft_graph *g;
  assert_ok(weft_graph_create(&g));
  add_leaf(g, "x", 1, 8);
  add_leaf(g, "unused", 2, 8);
  const char *d1[] = {"x"}, *d2[] = {"unused"};
  assert_ok(weft_graph_add(g, "want", sum, NULL, 0, d1, 1, NULL));
  assert_ok(weft_graph_add(g, "other", sum, NULL, 0, d2, 1, NULL));
  reset_counts();
  const char *t[] = {"want"};
  assert_ok(weft_graph_compute(g, ex_threads, t, 1, NULL));
  assert_int_equal(calls, 2);
  weft_graph_stats s;
  assert_ok(weft_graph_stats_get(g, &s));
  assert_int_equal(s.nodes, 4);
  assert_int_equal(s.needed, 2);
  assert_int_equal(s.culled, 2);
  weft_graph_node id;
  weft_graph_node_info info;
  assert_ok(weft_graph_find(g, "other", &id));
  assert_ok(weft_graph_node_stats(g, id, &info));
  assert_int_equal(info.state, WEFT_GRAPH_IDLE);
  reset_counts();
  assert_ok(weft_graph_compute(g, ex_threads, t, 1, &(weft_graph_opts){.no_cull = true}));
  assert_int_equal(calls, 4);
  assert_ok(weft_graph_node_stats(g, id, &info));
  assert_int_equal(info.state, WEFT_GRAPH_DONE);
  assert_int_equal(result_of(g, "want"), 1);
  const void *p;
  assert_weft(weft_graph_result(g, "other", &p, NULL), WEFT_EAGAIN); /* freed: no consumer */
  weft_graph_destroy(g);
}

/* A linear chain becomes one task; a node with two consumers ends it. */
static void test_fusion(void **state) {
  (void)state;
  weft_graph *g;
  assert_ok(weft_graph_create(&g));
  weft_graph_node prev = add_leaf(g, "start", 1, 8), ids[10];
  char key[16];
  for (int i = 0; i < 10; i++) {
    snprintf(key, sizeof key, "step-%d", i);
    assert_ok(weft_graph_add_ids(g, key, step, NULL, 0, &prev, 1, &ids[i]));
    prev = ids[i];
  }
  /* step-9 feeds two consumers: its chain ends there */
  weft_graph_node pair[2], end;
  assert_ok(weft_graph_add_ids(g, "left", step, NULL, 0, &prev, 1, &pair[0]));
  assert_ok(weft_graph_add_ids(g, "right", step, NULL, 0, &prev, 1, &pair[1]));
  assert_ok(weft_graph_add_ids(g, "end", sum, NULL, 0, pair, 2, &end));
  int64_t x = 1;
  for (int i = 0; i < 10; i++) x = 3 * x + 1;
  int64_t want = 2 * (3 * x + 1);
  weft_executor *exs[] = {ex_inline, ex_threads, ex_procs};
  for (int e = 0; e < 3; e++) {
    assert_ok(weft_graph_compute_ids(g, exs[e], &end, 1, NULL));
    assert_int_equal(result_of(g, "end"), want);
    weft_graph_stats s;
    assert_ok(weft_graph_stats_get(g, &s));
    assert_int_equal(s.tasks, 4); /* start..step-9, left, right, end */
    assert_int_equal(s.fused, 10);
    assert_int_equal(s.ran, 14);
    weft_graph_node_info info;
    assert_ok(weft_graph_node_stats(g, ids[9], &info));
    assert_int_equal(info.task, 0); /* runs in the task that starts at "start" */
    assert_int_equal(info.state, WEFT_GRAPH_DONE);
    assert_ok(weft_graph_node_stats(g, pair[0], &info));
    assert_int_equal(info.task, pair[0]);
    /* no fusion: one task per node, the same answer */
    assert_ok(weft_graph_compute_ids(g, exs[e], &end, 1, &(weft_graph_opts){.no_fuse = true}));
    assert_int_equal(result_of(g, "end"), want);
    assert_ok(weft_graph_stats_get(g, &s));
    assert_int_equal(s.tasks, 14);
    assert_int_equal(s.fused, 0);
  }
  weft_graph_destroy(g);
}

/* The order: depth-first from the target, a branch finished before the next
 * starts (each sum right after its inputs), deeper inputs first. */
static void test_order(void **state) {
  (void)state;
  weft_graph *g;
  assert_ok(weft_graph_create(&g));
  build_tree(g, 8, 8, SIZE_MAX);
  reset_counts();
  assert_ok(weft_graph_compute(g, ex_inline, (const char *[]){"total"}, 1, NULL));
  assert_int_equal(result_of(g, "total"), 28);
  /* leaves 0,1 then their sum, 2,3, sum, sum, 4,5, ... (-1 = a sum) */
  int64_t want[] = {0, 1, -1, 2, 3, -1, -1, 4, 5, -1, 6, 7, -1, -1, -1};
  assert_int_equal(nseq, 15);
  for (int i = 0; i < 15; i++) assert_int_equal(seq[i], want[i]);
  weft_graph_stats s;
  assert_ok(weft_graph_stats_get(g, &s));
  assert_true(s.peak_values <= 4);
  /* fifo: every leaf first (the order they were added) */
  reset_counts();
  assert_ok(weft_graph_compute(g, ex_inline, (const char *[]){"total"}, 1,
                               &(weft_graph_opts){.fifo_order = true, .root_limit = SIZE_MAX}));
  for (int i = 0; i < 8; i++) assert_int_equal(seq[i], i);
  assert_ok(weft_graph_stats_get(g, &s));
  assert_int_equal(s.peak_values, 8);
  weft_graph_destroy(g);

  /* critical path: "join" takes a short input first and a 5-deep chain
   * second; the chain's root starts first */
  assert_ok(weft_graph_create(&g));
  weft_graph_node shortn = add_leaf(g, "short", 100, 8), chain = add_leaf(g, "deep", 200, 8);
  for (int i = 0; i < 5; i++) {
    int64_t add = 1000 + i;
    assert_ok(weft_graph_add_ids(g, NULL, sum, &add, sizeof add, &chain, 1, &chain));
  }
  weft_graph_node in[2] = {shortn, chain}, join;
  assert_ok(weft_graph_add_ids(g, "join", sum, NULL, 0, in, 2, &join));
  reset_counts();
  assert_ok(weft_graph_compute_ids(g, ex_inline, &join, 1, &(weft_graph_opts){.no_fuse = true}));
  assert_int_equal(seq[0], 200);
  assert_int_equal(seq[6], 100);
  weft_graph_destroy(g);
}

/* Peak memory of a 1,000-leaf tree reduction: a few leaves per worker,
 * not the whole input. The control (fifo order, no admission) holds most
 * leaves at once, so the bound means something. */
static void test_early_freeing(void **state) {
  (void)state;
  enum { LEAVES = 1000, BYTES = 16384 };
  weft_graph *g;
  assert_ok(weft_graph_create(&g));
  weft_graph_node total = build_tree(g, LEAVES, BYTES, SIZE_MAX);
  weft_executor *exs[] = {ex_inline, ex_threads, ex_procs};
  for (int e = 0; e < 3; e++) {
    assert_ok(weft_graph_compute_ids(g, exs[e], &total, 1, NULL));
    assert_int_equal(result_of(g, "total"), LEAVES * (LEAVES - 1) / 2);
    weft_graph_stats s;
    assert_ok(weft_graph_stats_get(g, &s));
    unsigned w = weft_executor_workers(exs[e]);
    size_t leaves_held = s.peak_bytes / BYTES;
    print_message("%s: peak %zu leaves (%zu values, %zu bytes), %u workers, withheld %zu\n",
                  weft_executor_kind(exs[e]), leaves_held, s.peak_values, s.peak_bytes, w,
                  s.withheld);
    assert_true(leaves_held <= 4 * w);
    assert_int_equal(s.ran, 2 * LEAVES - 1);
  }
  assert_ok(weft_graph_compute_ids(g, ex_threads, &total, 1,
                                   &(weft_graph_opts){.fifo_order = true,
                                                      .root_limit = SIZE_MAX}));
  weft_graph_stats s;
  assert_ok(weft_graph_stats_get(g, &s));
  assert_true(s.peak_bytes / BYTES > LEAVES / 2);
  /* root admission alone (the leaves first in the order, as added): roots
   * are withheld while sums can consume, so the peak stays low anyway */
  for (int e = 0; e < 3; e++) {
    assert_ok(weft_graph_compute_ids(g, exs[e], &total, 1,
                                     &(weft_graph_opts){.fifo_order = true}));
    assert_int_equal(result_of(g, "total"), LEAVES * (LEAVES - 1) / 2);
    assert_ok(weft_graph_stats_get(g, &s));
    print_message("%s, fifo order + admission: peak %zu leaves, withheld %zu\n",
                  weft_executor_kind(exs[e]), s.peak_bytes / BYTES, s.withheld);
    assert_true(s.peak_bytes / BYTES <= 4 * weft_executor_workers(exs[e]));
    assert_true(s.withheld > 0);
  }
  weft_graph_destroy(g);
}

/* The same graph, the same answer everywhere: a tree over values of
 * several sizes, a diamond, chains (fused), several targets. */
static void test_same_answer_everywhere(void **state) {
  (void)state;
  size_t leaves = scaled(300, 50);
  weft_graph *g;
  assert_ok(weft_graph_create(&g));
  weft_graph_node t[3];
  t[0] = build_tree(g, leaves, 3000, SIZE_MAX);
  weft_graph_node a = add_leaf(g, "d-a", 7, 100000), b, c;
  assert_ok(weft_graph_add_ids(g, "d-b", step, NULL, 0, &a, 1, &b));
  assert_ok(weft_graph_add_ids(g, "d-c", step, NULL, 0, &a, 1, &c));
  weft_graph_node bc[3] = {b, c, t[0]};
  assert_ok(weft_graph_add_ids(g, "d-d", sum, NULL, 0, bc, 3, &t[1]));
  assert_ok(weft_graph_add_ids(g, "d-e", step, NULL, 0, &t[1], 1, &t[2]));
  assert_ok(weft_graph_add_ids(g, "d-f", step, NULL, 0, &t[2], 1, &t[2]));
  int64_t tree = (int64_t)(leaves * (leaves - 1) / 2), d = 2 * 22 + tree;
  weft_executor *exs[] = {ex_inline, ex_threads, ex_procs};
  for (int e = 0; e < 3; e++) {
    pt_leaks l;
    pt_leaks_begin(&l);
    assert_ok(weft_graph_compute_ids(g, exs[e], t, 3, NULL));
    assert_int_equal(result_of(g, "total"), tree);
    assert_int_equal(result_of(g, "d-d"), d);
    assert_int_equal(result_of(g, "d-f"), 3 * (3 * d + 1) + 1);
    const void *p;
    size_t size;
    assert_ok(weft_graph_result(g, "total", &p, &size));
    assert_int_equal(size, 8);
    assert_weft(weft_graph_result(g, "d-a", &p, &size), WEFT_EAGAIN); /* freed */
    pt_leaks_end(&l);
  }
  weft_graph_destroy(g);
}

/* A failing node: its dependents fail, the message names it and the chain
 * up to the target, and the rest stops. */
static void test_error_chain(void **state) {
  (void)state;
  weft_executor *exs[] = {ex_inline, ex_threads, ex_procs};
  for (int e = 0; e < 3; e++) {
    weft_graph *g;
    assert_ok(weft_graph_create(&g));
    build_tree(g, 16, 8, 5);
    reset_counts();
    assert_weft(weft_graph_compute(g, exs[e], (const char *[]){"total"}, 1, NULL), WEFT_EIO);
    const char *m = weft_graph_message(g);
    print_message("%s: %s\n", weft_executor_kind(exs[e]), m);
    assert_non_null(strstr(m, "node 'leaf-5' failed: WEFT_EIO: disk 5 gone"));
    assert_non_null(strstr(m, "leaf-5 -> sum-1-2 -> sum-2-1 -> sum-3-0 -> total"));
    weft_graph_node id;
    weft_graph_node_info info;
    assert_ok(weft_graph_find(g, "leaf-5", &id));
    assert_ok(weft_graph_node_stats(g, id, &info));
    assert_int_equal(info.state, WEFT_GRAPH_FAILED);
    assert_int_equal(info.error, WEFT_EIO);
    assert_ok(weft_graph_find(g, "sum-2-1", &id));
    assert_ok(weft_graph_node_stats(g, id, &info));
    assert_int_equal(info.state, WEFT_GRAPH_DEP_FAILED);
    assert_ok(weft_graph_find(g, "total", &id));
    assert_ok(weft_graph_node_stats(g, id, &info));
    assert_int_equal(info.state, WEFT_GRAPH_DEP_FAILED);
    const void *p;
    assert_weft(weft_graph_result(g, "total", &p, NULL), WEFT_EAGAIN);
    if (exs[e] == ex_inline) /* stops at once: leaves 0..5 and three sums ran */
      assert_int_equal(calls, 9);
    /* the graph is fine afterwards: what does not need leaf-5 computes */
    assert_ok(weft_graph_compute(g, exs[e], (const char *[]){"sum-2-0"}, 1, NULL));
    assert_int_equal(result_of(g, "sum-2-0"), 0 + 1 + 2 + 3);
    assert_ok(weft_graph_message(g)[0] == '\0' ? 0 : WEFT_EINVAL);
    weft_graph_destroy(g);
  }
  /* a fused chain failing in its middle names the right node */
  weft_graph *g;
  assert_ok(weft_graph_create(&g));
  weft_graph_node x = add_leaf(g, "two", 2, 8);
  assert_ok(weft_graph_add_ids(g, "half", even_only, NULL, 0, &x, 1, &x));   /* 1 */
  assert_ok(weft_graph_add_ids(g, "half-again", even_only, NULL, 0, &x, 1, &x)); /* fails */
  assert_ok(weft_graph_add_ids(g, "last", step, NULL, 0, &x, 1, &x));
  for (int e = 0; e < 3; e++) {
    assert_weft(weft_graph_compute_ids(g, exs[e], &x, 1, NULL), WEFT_ERANGE);
    assert_non_null(strstr(weft_graph_message(g),
                           "node 'half-again' failed: WEFT_ERANGE: 1 is odd; chain to target: "
                           "half-again -> last"));
    weft_graph_stats s;
    assert_ok(weft_graph_stats_get(g, &s));
    assert_int_equal(s.tasks, 1);
    assert_int_equal(s.ran, 2);
  }
  weft_graph_destroy(g);
}

/* ---- cancellation ---- */

static _Atomic int blocker_started;

/* Runs until the compute is cancelled (at most 10 s). */
static int blocker(const weft_graph_value *in, size_t n, const void *arg, size_t size,
                   weft_graph_value *out) {
  (void)in, (void)n, (void)arg, (void)size;
  atomic_store(&blocker_started, 1);
  for (int i = 0; i < 10000 && !weft_task_cancelled(); i++) usleep(1000);
  if (weft_task_cancelled()) return WEFT_ECANCELED;
  return put(out, 0, 8);
}

typedef struct cancel_ctx {
  weft_graph *g;
  int rc;
} cancel_ctx;

static void *cancel_later(void *arg) {
  cancel_ctx *c = arg;
  while (!atomic_load(&blocker_started)) usleep(200);
  c->rc = weft_graph_cancel(c->g);
  return NULL;
}

static void test_cancel(void **state) {
  (void)state;
  weft_graph *g;
  assert_ok(weft_graph_create(&g));
  weft_graph_node parts[2];
  parts[0] = build_tree(g, 64, 8, SIZE_MAX);
  assert_ok(weft_graph_add_ids(g, "block", blocker, NULL, 0, NULL, 0, &parts[1]));
  weft_graph_node all;
  assert_ok(weft_graph_add_ids(g, "all", sum, NULL, 0, parts, 2, &all));
  atomic_store(&blocker_started, 0);
  cancel_ctx c = {g, -1};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, cancel_later, &c), 0);
  uint64_t t0 = weft_now_ns();
  assert_weft(weft_graph_compute_ids(g, ex_threads, &all, 1, NULL), WEFT_ECANCELED);
  assert_true(weft_now_ns() - t0 < 5000000000ull); /* the blocker saw it, not its 10 s */
  pthread_join(th, NULL);
  assert_ok(c.rc);
  assert_non_null(strstr(weft_graph_message(g), "cancel"));
  weft_graph_node_info info;
  assert_ok(weft_graph_node_stats(g, all, &info));
  assert_true(info.state == WEFT_GRAPH_SKIPPED || info.state == WEFT_GRAPH_DEP_FAILED);
  /* cancelled before anything ran on the inline executor: nothing runs */
  weft_graph_destroy(g);
}

/* A failure stops the rest promptly: with one failing leaf first in the
 * order and 200 slow ones after it, only the few already started run
 * (threads: the running runners; processes: the tasks in flight). */
static void test_error_stops_promptly(void **state) {
  (void)state;
  weft_graph *g;
  assert_ok(weft_graph_create(&g));
  weft_graph_node ids[200], total;
  for (int i = 0; i < 200; i++) {
    leaf_arg a = {.value = i, .bytes = 8, .fail = i == 0, .sleep_us = i ? 2000 : 0};
    assert_ok(weft_graph_add(g, NULL, leaf, &a, sizeof a, NULL, 0, &ids[i]));
  }
  assert_ok(weft_graph_add_ids(g, "total", sum, NULL, 0, ids, 200, &total));
  weft_executor *exs[] = {ex_threads, ex_procs};
  for (int e = 0; e < 2; e++) {
    assert_weft(weft_graph_compute_ids(g, exs[e], &total, 1, NULL), WEFT_EIO);
    weft_graph_stats s;
    assert_ok(weft_graph_stats_get(g, &s));
    print_message("%s: leaves run besides the failing one: %zu of 199\n",
                  weft_executor_kind(exs[e]), s.ran);
    assert_true(s.ran <= 10);
    assert_non_null(strstr(weft_graph_message(g), "node '#0' failed: WEFT_EIO: disk 0 gone; "
                                                  "chain to target: #0 -> total"));
  }
  weft_graph_destroy(g);
}

/* Cancelling a compute on the processes executor: tasks queued in the pool
 * are dropped, running ones finish, the compute returns WEFT_ECANCELED. */
static void *cancel_after_20ms(void *arg) {
  cancel_ctx *c = arg;
  usleep(20000);
  c->rc = weft_graph_cancel(c->g);
  return NULL;
}

static void test_cancel_processes(void **state) {
  (void)state;
  weft_graph *g;
  assert_ok(weft_graph_create(&g));
  weft_graph_node ids[100], total;
  for (int i = 0; i < 100; i++) {
    leaf_arg a = {.value = i, .bytes = 8, .sleep_us = 5000};
    assert_ok(weft_graph_add(g, NULL, leaf, &a, sizeof a, NULL, 0, &ids[i]));
  }
  assert_ok(weft_graph_add_ids(g, "total", sum, NULL, 0, ids, 100, &total));
  cancel_ctx c = {g, -1};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, cancel_after_20ms, &c), 0);
  assert_weft(weft_graph_compute_ids(g, ex_procs, &total, 1, NULL), WEFT_ECANCELED);
  pthread_join(th, NULL);
  assert_ok(c.rc);
  weft_graph_stats s;
  assert_ok(weft_graph_stats_get(g, &s));
  print_message("processes: %zu of 100 leaves ran before the cancel took effect\n", s.ran);
  assert_true(s.ran < 100);
  assert_non_null(strstr(weft_graph_message(g), "cancel"));
  /* the pool is fine afterwards */
  assert_ok(weft_graph_compute_ids(g, ex_procs, &ids[7], 1, NULL));
  weft_graph_destroy(g);
}

/* Cancelling a compute on the inline executor (from another thread): the
 * node running finishes, nothing after it starts. */
static _Atomic int gate_open;

static int gate(const weft_graph_value *in, size_t n, const void *arg, size_t size,
                weft_graph_value *out) {
  (void)in, (void)n, (void)arg, (void)size;
  record(-3);
  atomic_store(&blocker_started, 1);
  for (int i = 0; i < 10000 && !atomic_load(&gate_open); i++) usleep(1000);
  return put(out, 1, 8);
}

static void *cancel_then_open(void *arg) {
  cancel_ctx *c = arg;
  while (!atomic_load(&blocker_started)) usleep(200);
  c->rc = weft_graph_cancel(c->g);
  atomic_store(&gate_open, 1);
  return NULL;
}

static void test_cancel_inline(void **state) {
  (void)state;
  weft_graph *g;
  assert_ok(weft_graph_create(&g));
  weft_graph_node x;
  assert_ok(weft_graph_add_ids(g, "gate", gate, NULL, 0, NULL, 0, &x));
  for (int i = 0; i < 20; i++) assert_ok(weft_graph_add_ids(g, NULL, step, NULL, 0, &x, 1, &x));
  atomic_store(&blocker_started, 0);
  atomic_store(&gate_open, 0);
  reset_counts();
  cancel_ctx c = {g, -1};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, cancel_then_open, &c), 0);
  /* no fusion: each step is a task of its own, so the stop shows */
  assert_weft(weft_graph_compute_ids(g, ex_inline, &x, 1, &(weft_graph_opts){.no_fuse = true}),
              WEFT_ECANCELED);
  pthread_join(th, NULL);
  assert_ok(c.rc);
  assert_int_equal(calls, 1);
  weft_graph_stats s;
  assert_ok(weft_graph_stats_get(g, &s));
  assert_int_equal(s.ran, 1);
  weft_graph_node_info info;
  assert_ok(weft_graph_node_stats(g, x, &info));
  assert_int_equal(info.state, WEFT_GRAPH_SKIPPED);
  /* and the graph computes normally afterwards */
  assert_ok(weft_graph_compute_ids(g, ex_inline, &x, 1, NULL));
  weft_graph_destroy(g);
}

/* ---- memory budget ---- */

/* 64 roots of BYTES each wait for a slow root ("slow"); without a budget
 * they all load while it runs, with one the scheduler waits instead. */
static void test_budget(void **state) {
  (void)state;
  enum { ROOTS = 64, BYTES = 16384 };
  weft_graph *g;
  assert_ok(weft_graph_create(&g));
  leaf_arg slow = {.value = 1000, .sleep_us = 50000};
  weft_graph_node x, c[ROOTS], total;
  assert_ok(weft_graph_add(g, "slow", leaf, &slow, sizeof slow, NULL, 0, &x));
  for (int i = 0; i < ROOTS; i++) {
    weft_graph_node in[2] = {x, add_leaf(g, NULL, i, BYTES)};
    assert_ok(weft_graph_add_ids(g, NULL, sum, NULL, 0, in, 2, &c[i]));
  }
  assert_ok(weft_graph_add_ids(g, "total", sum, NULL, 0, c, ROOTS, &total));
  int64_t want = ROOTS * 1000 + ROOTS * (ROOTS - 1) / 2;
  unsigned w = weft_executor_workers(ex_threads);
  size_t budget = 8 * BYTES, bound = budget + (w + 1) * BYTES;
  weft_graph_stats s;
  assert_ok(weft_graph_compute_ids(g, ex_threads, &total, 1, NULL));
  assert_int_equal(result_of(g, "total"), want);
  assert_ok(weft_graph_stats_get(g, &s));
  print_message("no budget: peak %zu bytes\n", s.peak_bytes);
  assert_true(s.peak_bytes > bound); /* the control: roots pile up */
  assert_ok(weft_graph_compute_ids(g, ex_threads, &total, 1,
                                   &(weft_graph_opts){.memory_budget = budget}));
  assert_int_equal(result_of(g, "total"), want);
  assert_ok(weft_graph_stats_get(g, &s));
  print_message("budget %zu: peak %zu bytes, withheld %zu\n", budget, s.peak_bytes, s.withheld);
  assert_true(s.peak_bytes <= bound);
  assert_true(s.withheld > 0);
  weft_graph_destroy(g);
}

/* ---- persist ---- */

static void test_persist(void **state) {
  (void)state;
  weft_graph *g;
  assert_ok(weft_graph_create(&g));
  build_tree(g, 16, 8, SIZE_MAX);
  assert_ok(weft_graph_persist(g, "sum-3-0", true)); /* leaves 0..7 */
  int64_t add = 1;
  const char *d[] = {"sum-3-0"}, *t[] = {"later"};
  assert_ok(weft_graph_add(g, "later", sum, &add, sizeof add, d, 1, NULL));
  weft_executor *exs[] = {ex_inline, ex_threads, ex_procs};
  reset_counts();
  assert_ok(weft_graph_compute(g, ex_threads, (const char *[]){"total"}, 1, NULL));
  assert_int_equal(calls, 31);
  assert_int_equal(result_of(g, "sum-3-0"), 28); /* kept, though not a target */
  for (int e = 0; e < 3; e++) {
    reset_counts();
    assert_ok(weft_graph_compute(g, exs[e], t, 1, NULL));
    assert_int_equal(result_of(g, "later"), 29);
    if (exs[e] != ex_procs) assert_int_equal(calls, 1); /* the 15 below were not run */
    weft_graph_stats s;
    assert_ok(weft_graph_stats_get(g, &s));
    assert_int_equal(s.cached, 1);
    assert_int_equal(s.ran, 1);
  }
  /* forgotten: computed again */
  assert_ok(weft_graph_persist(g, "sum-3-0", false));
  reset_counts();
  assert_ok(weft_graph_compute(g, ex_threads, t, 1, NULL));
  assert_int_equal(calls, 16);
  assert_int_equal(result_of(g, "later"), 29);
  assert_weft(weft_graph_persist(g, "nope", true), WEFT_ENOENT);
  weft_graph_destroy(g);
}

/* ---- DOT and node records ---- */

static void test_dot_and_stats(void **state) {
  (void)state;
  weft_graph *g;
  assert_ok(weft_graph_create(&g));
  leaf_arg slow = {.value = 3, .sleep_us = 20000};
  weft_graph_node a, b, c;
  assert_ok(weft_graph_add(g, "slow \"one\"", leaf, &slow, sizeof slow, NULL, 0, &a));
  b = add_leaf(g, "fast", 4, 8);
  add_leaf(g, "culled", 5, 8);
  weft_graph_node in[2] = {a, b};
  assert_ok(weft_graph_add_ids(g, "sum", sum, NULL, 0, in, 2, &c));
  assert_ok(weft_graph_compute_ids(g, ex_threads, &c, 1, NULL));
  weft_graph_node_info ia, ib;
  assert_ok(weft_graph_node_stats(g, a, &ia));
  assert_ok(weft_graph_node_stats(g, b, &ib));
  assert_true(ia.run_ns >= 15000000);
  assert_true(ib.run_ns < ia.run_ns);
  assert_int_equal(ia.out_size, 8);
  assert_true(ia.worker >= 0);
  weft_graph_node_info ic;
  assert_ok(weft_graph_node_stats(g, c, &ic));
  assert_true(ic.start_ns >= ia.start_ns + ia.run_ns);
  assert_true(ic.order > ia.order && ic.order > ib.order);
  char *dot;
  size_t len;
  assert_ok(weft_graph_to_dot(g, &dot, &len));
  assert_int_equal(strlen(dot), len);
  assert_non_null(strstr(dot, "digraph"));
  assert_non_null(strstr(dot, "slow \\\"one\\\""));
  assert_non_null(strstr(dot, "n0 -> n3"));
  assert_non_null(strstr(dot, "n1 -> n3"));
  assert_non_null(strstr(dot, "weft_state=\"idle\""));   /* culled */
  assert_non_null(strstr(dot, "fillcolor=\"#ff2d14\"")); /* the slowest: red */
  free(dot);
  char *json;
  assert_ok(weft_graph_to_json(g, &json, &len));
  assert_int_equal(strlen(json), len);
  assert_non_null(strstr(json, "{\"id\":1,\"key\":\"fast\",\"deps\":[],\"state\":\"done\""));
  assert_non_null(strstr(json, "\"key\":\"slow \\\"one\\\"\""));
  assert_non_null(strstr(json, "\"key\":\"sum\",\"deps\":[0,1],\"state\":\"done\",\"target\":true"));
  assert_non_null(strstr(json, "\"key\":\"culled\",\"deps\":[],\"state\":\"idle\""));
  free(json);
  weft_graph_value v;
  assert_ok(weft_graph_value_set(&v, "abc", 3));
  assert_int_equal(v.size, 3);
  assert_memory_equal(v.data, "abc", 3);
  free(v.data);
  assert_ok(weft_graph_value_set(&v, NULL, 0));
  assert_null(v.data);
  assert_weft(weft_graph_value_set(&v, NULL, 1), WEFT_EINVAL);
  assert_weft(weft_graph_node_stats(g, 99, &ia), WEFT_EINVAL);
  weft_graph_destroy(g);
}

/* With tracing on, each node run is a "graph" span named by its key, and
 * each edge a "graph_edge" record (the report's critical path). */
static void test_trace_records(void **state) {
  (void)state;
  weft_graph *g;
  assert_ok(weft_graph_create(&g));
  build_tree(g, 4, 8, SIZE_MAX);
  weft_executor *exs[] = {ex_threads, ex_procs};
  for (int e = 0; e < 2; e++) {
    assert_ok(weft_trace_start());
    assert_ok(weft_graph_compute(g, exs[e], (const char *[]){"total"}, 1, NULL));
    weft_trace_stop();
    char path[64];
    snprintf(path, sizeof path, "/tmp/weft-test-graph-%d.json", (int)getpid());
    assert_ok(weft_trace_write(path));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(path);
    assert_non_null(strstr(buf, "\"name\":\"leaf-3\""));
    assert_non_null(strstr(buf, "\"name\":\"total\""));
    assert_non_null(strstr(buf, "\"cat\":\"graph\""));
    assert_non_null(strstr(buf, "\"cat\":\"graph_edge\""));
  }
  weft_graph_destroy(g);
}

/* A node that computes a graph of its own on the same two-worker pool: the
 * inner compute joins as a runner instead of blocking its worker (both
 * workers blocked in an inner compute would otherwise wait for ever). */
static int nested(const weft_graph_value *in, size_t n, const void *arg, size_t size,
                  weft_graph_value *out) {
  (void)in, (void)n, (void)size;
  int64_t leaves;
  memcpy(&leaves, arg, sizeof leaves);
  weft_graph *g;
  int rc = weft_graph_create(&g);
  if (rc) return rc;
  build_tree(g, (size_t)leaves, 8, SIZE_MAX);
  const char *t[] = {"total"};
  if (!(rc = weft_graph_compute(g, ex_threads, t, 1, NULL))) rc = put(out, result_of(g, "total"), 8);
  weft_graph_destroy(g);
  return rc;
}

static void test_nested_compute(void **state) {
  (void)state;
  weft_graph *g;
  assert_ok(weft_graph_create(&g));
  weft_graph_node ids[6], total;
  for (int i = 0; i < 6; i++) {
    int64_t leaves = 50 + i;
    assert_ok(weft_graph_add_ids(g, NULL, nested, &leaves, sizeof leaves, NULL, 0, &ids[i]));
  }
  assert_ok(weft_graph_add_ids(g, "total", sum, NULL, 0, ids, 6, &total));
  assert_ok(weft_graph_compute_ids(g, ex_threads, &total, 1, NULL));
  int64_t want = 0;
  for (int i = 0; i < 6; i++) want += (50 + i) * (49 + i) / 2;
  assert_int_equal(result_of(g, "total"), want);
  weft_graph_destroy(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_build_and_keys),
    cmocka_unit_test(test_sharing),
    cmocka_unit_test(test_culling),
    cmocka_unit_test(test_fusion),
    cmocka_unit_test(test_order),
    cmocka_unit_test(test_early_freeing),
    cmocka_unit_test(test_same_answer_everywhere),
    cmocka_unit_test(test_error_chain),
    cmocka_unit_test(test_error_stops_promptly),
    cmocka_unit_test(test_cancel),
    cmocka_unit_test(test_cancel_inline),
    cmocka_unit_test(test_cancel_processes),
    cmocka_unit_test(test_budget),
    cmocka_unit_test(test_persist),
    cmocka_unit_test(test_dot_and_stats),
    cmocka_unit_test(test_trace_records),
    cmocka_unit_test(test_nested_compute),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
