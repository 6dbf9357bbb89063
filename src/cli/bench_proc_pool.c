/* src/cli/bench_proc_pool.c — P1 and P3 (`weft bench proc`): the process
 * pool's map, against Python's multiprocessing.Pool and ProcessPoolExecutor.
 *
 * P1  the seeds' example at scale: square over 0..n-1 with chunksize 10,000
 *     (n = 1,000,000) and chunksize 1 (n / 10 items), in ns/item:
 *       weft             weft_ppool_map, THREADS workers, int64 in and out
 *       python-pool      multiprocessing.Pool(THREADS).map   (peer_python.py)
 *       python-executor  ProcessPoolExecutor(THREADS).map    (peer_python.py)
 *     Cases are "map_cs<chunksize>"; the JSON lines carry "chunksize" and a
 *     checksum of the results (bench/common.h's wb_checksum), which must
 *     agree between weft and Python.
 * P3  64 coarse tasks (~10 ms of wb_spin each, no sleeping) on THREADS
 *     workers: speedup over the same 64 spins run serially in this process,
 *     and efficiency = speedup / THREADS; Python's Pool for comparison.
 *
 * Pools are started (and the workers warm) before timing: the figures are
 * the map itself, as a program that keeps its pool would see it. */
#include "weft/proc.h"
#include "cli/bench.h"

/* ---- the functions the workers run (named across processes by weft) ---- */

static int p1_square(const void *in, void *out, void *ctx) {
  (void)ctx;
  wb_square(in, out, 0, 1);  /* the loop body every implementation shares */
  return 0;
}

/* One P3 task: wb_spin with the map's iteration count (ctx) and this item's
 * seed, so that each result is different and checkable. */
static int p3_spin(const void *in, void *out, void *ctx) {
  uint64_t seed, iters, x;
  memcpy(&seed, in, sizeof seed);
  memcpy(&iters, ctx, sizeof iters);
  x = wb_spin(iters, seed);
  memcpy(out, &x, sizeof x);
  return 0;
}

static int make_pool(const bench_ctx *c, weft_ppool **out) {
  weft_ppool_options o = {.processes = c->threads, .name = "weft-bench"};
  int e = weft_ppool_create(out, &o);
  if (e) fprintf(stderr, "weft bench: weft_ppool_create: %s\n", weft_strerror(e));
  return e;
}

/* ---- P1 ---- */

typedef struct p1_run {
  weft_ppool *pool;
  weft_map m;
  int err;
} p1_run;

static double p1_once(void *arg) {
  p1_run *r = arg;
  uint64_t t0 = wb_now_ns();
  int e = weft_ppool_map(r->pool, &r->m);
  double ns = (double)(wb_now_ns() - t0);
  if (e && !r->err) {
    r->err = e;
    fprintf(stderr, "weft bench: P1 weft_ppool_map (chunksize %zu): %s %s\n", r->m.chunksize,
            weft_strerror(e), r->m.message);
  }
  return ns / (double)r->m.n;
}

/* Measures one case: n items, chunksize cs. */
static int p1_case(bench_ctx *c, weft_ppool *pool, int64_t *in, int64_t *out, size_t n,
                   size_t cs) {
  p1_run r = {.pool = pool};
  r.m = (weft_map){.fn = p1_square, .in = in, .in_size = sizeof *in, .out = out,
                   .out_size = sizeof *out, .n = n, .chunksize = cs};
  memset(out, 0, n * sizeof *out);
  bench_progress(c, "P1 weft: weft_ppool_map, %zu items, chunksize %zu", n, cs);
  double v = bench_median(c, p1_once, &r, 1);
  if (r.err) return 1;
  char kase[32], check[40];
  snprintf(kase, sizeof kase, "map_cs%zu", cs);
  snprintf(check, sizeof check, "%" PRIu64, wb_checksum(out, n));
  bench_emit(c, "P1", kase, "weft", (int)c->threads, v, "ns/item", false, check);
  return 0;
}

int bench_p1_map(bench_ctx *c) {
  size_t n = c->size.p1_items, n1 = n / 10 ? n / 10 : 1;
  int64_t *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out);
  weft_ppool *pool = NULL;
  int failed = !in || !out;
  if (!failed) {
    for (size_t i = 0; i < n; i++) in[i] = (int64_t)i;
    failed = make_pool(c, &pool) != 0;
  }
  if (!failed) failed = p1_case(c, pool, in, out, n, 10000);
  if (!failed) failed = p1_case(c, pool, in, out, n1, 1);
  weft_ppool_destroy(pool);
  free(in);
  free(out);
  bench_peer(c, "peer_python.py", "P1", n, c->threads);
  return failed;
}

/* ---- P3 ---- */

typedef struct p3_run {
  weft_ppool *pool;     /* NULL: serial, in this process */
  uint64_t iters;
  uint64_t seeds[64], results[64];
  int err;
} p3_run;

static double p3_once(void *arg) {
  p3_run *r = arg;
  uint64_t t0 = wb_now_ns();
  if (r->pool) {
    weft_map m = {.fn = p3_spin, .ctx = &r->iters, .ctx_size = sizeof r->iters,
                  .in = r->seeds, .in_size = sizeof r->seeds[0], .out = r->results,
                  .out_size = sizeof r->results[0], .n = 64, .chunksize = 1};
    int e = weft_ppool_map(r->pool, &m);
    if (e && !r->err) {
      r->err = e;
      fprintf(stderr, "weft bench: P3 weft_ppool_map: %s %s\n", weft_strerror(e), m.message);
    }
  } else {
    for (size_t i = 0; i < 64; i++) r->results[i] = wb_spin(r->iters, r->seeds[i]);
  }
  return (double)(wb_now_ns() - t0) / 1e6;
}

static uint64_t p3_check(const p3_run *r) {
  uint64_t s = 0;
  for (size_t i = 0; i < 64; i++) s += r->results[i];
  return s;
}

int bench_p3_coarse(bench_ctx *c) {
  p3_run r = {.iters = wb_spin_calibrate((uint64_t)c->size.task_us * 1000)};
  for (size_t i = 0; i < 64; i++) r.seeds[i] = i + 1;
  char check[40];
  bench_progress(c, "P3 serial: 64 x %u us in this process", c->size.task_us);
  double t1 = bench_median(c, p3_once, &r, 0);
  snprintf(check, sizeof check, "%" PRIu64, p3_check(&r));
  bench_emit(c, "P3", "time", "serial", 1, t1, "ms", false, check);

  int failed = make_pool(c, &r.pool) != 0;
  if (!failed) {
    bench_progress(c, "P3 weft: 64 x %u us on %u worker processes", c->size.task_us,
                   c->threads);
    memset(r.results, 0, sizeof r.results);
    double tn = bench_median(c, p3_once, &r, 0);
    failed = r.err != 0;
    if (!failed) {
      snprintf(check, sizeof check, "%" PRIu64, p3_check(&r));
      int th = (int)c->threads;
      bench_emit(c, "P3", "time", "weft", th, tn, "ms", false, check);
      bench_emit(c, "P3", "speedup", "weft", th, t1 / tn, "x", true, NULL);
      bench_emit(c, "P3", "efficiency", "weft", th, 100.0 * t1 / (th * tn), "%", true,
                 NULL);
    }
  }
  weft_ppool_destroy(r.pool);
  bench_peer(c, "peer_python.py", "P3", c->size.task_us, c->threads);
  return failed;
}
