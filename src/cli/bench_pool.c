/* src/cli/bench_pool.c — weft's side of B1–B4 (the thread pool), and the
 * calls that run the peers right after, so each benchmark's rows sit together.
 *
 * Every run function measures one run and returns its value; bench_median
 * repeats it. A weft failure is recorded in the run's context and turns the
 * benchmark's result into 1 (the harness goes on with the others). */
#include <math.h>

#include "weft/pool.h"
#include "cli/bench.h"

/* A pool of exactly `threads` workers for one set of measurements. */
static weft_pool *make_pool(unsigned threads) {
  weft_pool_options o = {.threads = threads, .name = "bench"};
  weft_pool *p = NULL;
  int e = weft_pool_create(&p, &o);
  if (e) {
    fprintf(stderr, "weft bench: weft_pool_create(%u threads): %s\n", threads,
            weft_strerror(e));
    return NULL;
  }
  return p;
}

/* The thread counts B1 and B2 measure: 1 and c->threads (once if equal). */
static int thread_counts(const bench_ctx *c, unsigned counts[2]) {
  counts[0] = 1;
  counts[1] = c->threads;
  return c->threads > 1 ? 2 : 1;
}

static int report(const char *what, int err) {
  if (err) fprintf(stderr, "weft bench: %s: %s\n", what, weft_strerror(err));
  return err ? 1 : 0;
}

/* ---- B1: fork-join fib; fib(n-1) spawned in a group, fib(n-2) inline ---- */

typedef struct fib_arg {
  int n;
  long r;
} fib_arg;

static int fib_task(void *p) {
  fib_arg *a = p;
  if (a->n < 2) {
    a->r = a->n;
    return 0;
  }
  fib_arg x = {a->n - 1, 0}, y = {a->n - 2, 0};
  weft_group g;
  weft_group_init(&g, NULL);  /* NULL: this worker's pool */
  int e = weft_group_spawn(&g, fib_task, &x);
  if (e == 0) e = fib_task(&y);
  int w = weft_group_wait(&g);
  weft_group_destroy(&g);
  a->r = x.r + y.r;
  return e ? e : w;
}

typedef struct b1_run {
  weft_pool *pool;
  int n;
  int err;
} b1_run;

static double run_b1(void *arg) {
  b1_run *b = arg;
  fib_arg root = {b->n, 0};
  weft_group g;
  uint64_t t0 = wb_now_ns();
  /* The root runs on a worker, so every nested group uses the pool. */
  weft_group_init(&g, b->pool);
  int e = weft_group_spawn(&g, fib_task, &root);
  int w = weft_group_wait(&g);
  double ns = (double)(wb_now_ns() - t0);
  weft_group_destroy(&g);
  if (!b->err) b->err = e ? e : w;
  if (!b->err && root.r != wb_fib_value(b->n)) b->err = WEFT_ESYSTEM;
  return ns / (double)wb_fib_spawns(b->n);
}

static double run_b1_serial(void *arg) {
  volatile int n = *(int *)arg;  /* volatile: no folding fib(30) at compile time */
  uint64_t t0 = wb_now_ns();
  volatile long r = wb_fib_serial(n);
  double ns = (double)(wb_now_ns() - t0);
  (void)r;
  return ns / (double)wb_fib_spawns(n);
}

int bench_b1_forkjoin(bench_ctx *c) {
  int n = c->size.fib_n, failed = 0;
  unsigned counts[2];
  int ncounts = thread_counts(c, counts);
  for (int i = 0; i < ncounts; i++) {
    unsigned t = counts[i];
    bench_progress(c, "B1 fib(%d) weft, %u thread(s)", n, t);
    b1_run b = {make_pool(t), n, 0};
    if (!b.pool) return 1;
    double v = bench_median(c, run_b1, &b, 1);
    weft_pool_destroy(b.pool);
    if (report("B1 weft_group", b.err)) failed = 1;
    else bench_emit(c, "B1", "fib", "weft", (int)t, v, "ns/spawn", false, NULL);
    bench_peer(c, "peer_omp", "B1", (uint64_t)n, t);
    bench_peer(c, "peer_tbb", "B1", (uint64_t)n, t);
  }
  bench_emit(c, "B1", "fib", "serial", 1, bench_median(c, run_b1_serial, &n, 1), "ns/spawn",
             false, NULL);
  bench_add_speedups(c, "B1", "fib");
  return failed;
}

/* ---- B2: tiny independent tasks submitted from the main thread ---- */

typedef struct b2_run {
  weft_pool *pool;
  size_t n;
  uint64_t *slots;
  weft_future **futures;
  int err;
} b2_run;

static int tiny_task(void *slot) {
  wb_tiny(slot);
  return 0;
}

static double b2_finish(b2_run *b, uint64_t t0) {
  double ns = (double)(wb_now_ns() - t0);
  if (!b->err && wb_sum_u64(b->slots, b->n) != b->n) b->err = WEFT_ESYSTEM;
  return ns / (double)b->n;
}

static double run_b2_group(void *arg) {
  b2_run *b = arg;
  memset(b->slots, 0, b->n * sizeof *b->slots);
  weft_group g;
  uint64_t t0 = wb_now_ns();
  weft_group_init(&g, b->pool);
  int e = 0;
  for (size_t i = 0; i < b->n && !e; i++) e = weft_group_spawn(&g, tiny_task, &b->slots[i]);
  int w = weft_group_wait(&g);
  double v = b2_finish(b, t0);
  weft_group_destroy(&g);
  if (!b->err) b->err = e ? e : w;
  return v;
}

static double run_b2_submit(void *arg) {
  b2_run *b = arg;
  memset(b->slots, 0, b->n * sizeof *b->slots);
  size_t made = 0;
  int e = 0;
  uint64_t t0 = wb_now_ns();
  for (; made < b->n && !e; made++)
    e = weft_submit(b->pool, tiny_task, &b->slots[made], &b->futures[made]);
  if (e) made--;  /* the failed submit made no future */
  for (size_t i = 0; i < made; i++) {
    int w = weft_future_wait(b->futures[i]);
    if (!e) e = w;
    weft_future_release(b->futures[i]);
  }
  double v = b2_finish(b, t0);
  if (!b->err) b->err = e;
  return v;
}

int bench_b2_tasks(bench_ctx *c) {
  size_t n = c->size.tasks;
  b2_run b = {.n = n, .slots = calloc(n, sizeof(uint64_t)),
              .futures = calloc(n, sizeof(weft_future *))};
  int failed = !b.slots || !b.futures;
  unsigned counts[2];
  int ncounts = thread_counts(c, counts);
  for (int i = 0; i < ncounts && !failed; i++) {
    unsigned t = counts[i];
    bench_progress(c, "B2 %zu tasks, weft, %u thread(s)", n, t);
    if (!(b.pool = make_pool(t))) {
      failed = 1;
      break;
    }
    double vg = bench_median(c, run_b2_group, &b, 1);
    if (report("B2 weft_group_spawn", b.err)) failed = 1;
    else bench_emit(c, "B2", "tasks", "weft", (int)t, vg, "ns/task", false, NULL);
    double vs = bench_median(c, run_b2_submit, &b, 1);
    if (report("B2 weft_submit", b.err)) failed = 1;
    else bench_emit(c, "B2", "tasks", "weft_submit", (int)t, vs, "ns/task", false, NULL);
    weft_pool_destroy(b.pool);
    bench_peer(c, "peer_omp", "B2", n, t);
    bench_peer(c, "peer_tbb", "B2", n, t);
    bench_peer(c, "peer_python.py", "B2", c->size.py_tasks, t);
  }
  free(b.slots);
  free(b.futures);
  return failed;
}

/* ---- B3: out[i] = in[i]^2 over int64, and sum of sqrt(i) ---- */

typedef struct b3_run {
  weft_pool *pool;
  size_t n;
  int64_t *in, *out;
  double sum;
  int err;
} b3_run;

static int touch_body(size_t b, size_t e, void *ctx) {
  b3_run *r = ctx;
  for (size_t i = b; i < e; i++) {
    r->in[i] = (int64_t)i;
    r->out[i] = 0;
  }
  return 0;
}

static int square_body(size_t b, size_t e, void *ctx) {
  b3_run *r = ctx;
  wb_square(r->in, r->out, b, e);
  return 0;
}

static int sqrt_body(size_t b, size_t e, void *acc, void *ctx) {
  (void)ctx;
  *(double *)acc = wb_sqrt_sum(b, e, *(double *)acc);
  return 0;
}

static void sum_join(void *left, const void *right, void *ctx) {
  (void)ctx;
  *(double *)left += *(const double *)right;
}

static double run_square(void *arg) {
  b3_run *r = arg;
  uint64_t t0 = wb_now_ns();
  int e = weft_parallel_for(r->pool, 0, r->n, 0, square_body, r);
  double ns = (double)(wb_now_ns() - t0);
  if (!r->err) r->err = e;
  return ns / (double)r->n;
}

static double run_square_serial(void *arg) {
  b3_run *r = arg;
  uint64_t t0 = wb_now_ns();
  wb_square(r->in, r->out, 0, r->n);
  return (double)(wb_now_ns() - t0) / (double)r->n;
}

static double run_sqrt_sum(void *arg) {
  b3_run *r = arg;
  double zero = 0;
  uint64_t t0 = wb_now_ns();
  int e = weft_parallel_reduce(r->pool, 0, r->n, 0, &zero, sizeof zero, sqrt_body, sum_join,
                               NULL, &r->sum);
  double ns = (double)(wb_now_ns() - t0);
  if (!r->err) r->err = e;
  return ns / (double)r->n;
}

static double run_sqrt_serial(void *arg) {
  b3_run *r = arg;
  uint64_t t0 = wb_now_ns();
  r->sum = wb_sqrt_sum(0, r->n, 0.0);
  return (double)(wb_now_ns() - t0) / (double)r->n;
}

/* Measures fn, then records it with its check value (the squares' checksum
 * or the sum). */
static int b3_row(bench_ctx *c, b3_run *r, const char *kase, const char *impl, int threads,
                  wb_run_fn fn) {
  r->err = 0;
  double v = bench_median(c, fn, r, 1);
  if (report("B3 weft_parallel_for/reduce", r->err)) return 1;
  char check[40];
  if (strcmp(kase, "square") == 0)
    snprintf(check, sizeof check, "%" PRIu64, wb_checksum(r->out, r->n));
  else
    snprintf(check, sizeof check, "%.17g", r->sum);
  bench_emit(c, "B3", kase, impl, threads, v, "ns/elem", false, check);
  return 0;
}

int bench_b3_data(bench_ctx *c) {
  int t = (int)c->threads, failed = 1;
  b3_run r = {.n = c->size.elems};
  bench_progress(c, "B3 %zu elements, weft and serial, %d threads", r.n, t);
  r.pool = make_pool(c->threads);
  r.in = malloc(r.n * sizeof *r.in);
  r.out = malloc(r.n * sizeof *r.out);
  if (!r.pool || !r.in || !r.out) {
    fprintf(stderr, "weft bench: B3: no pool or no memory for %zu elements\n", r.n);
    goto out;
  }
  /* First touch in parallel, so page faults are not timed. */
  if (report("B3 first touch", weft_parallel_for(r.pool, 0, r.n, 0, touch_body, &r))) goto out;
  failed = b3_row(c, &r, "square", "weft", t, run_square);
  b3_row(c, &r, "square", "serial", 1, run_square_serial);
  free(r.in);
  free(r.out);
  r.in = r.out = NULL;  /* the peers need the memory next */
  failed |= b3_row(c, &r, "sqrt_sum", "weft", t, run_sqrt_sum);
  b3_row(c, &r, "sqrt_sum", "serial", 1, run_sqrt_serial);
  weft_pool_destroy(r.pool);
  r.pool = NULL;
  bench_peer(c, "peer_omp", "B3", r.n, c->threads);
  bench_peer(c, "peer_tbb", "B3", r.n, c->threads);
out:
  free(r.in);
  free(r.out);
  if (r.pool) weft_pool_destroy(r.pool);
  return failed;
}

/* ---- B4: 64 tasks of ~task_us compute each, on 1 and N workers ---- */

#define B4_TASKS 64

typedef struct b4_run {
  weft_pool *pool;
  uint64_t iters;
  uint64_t out[B4_TASKS];
  int err;
} b4_run;

typedef struct b4_task {
  b4_run *run;
  int i;
} b4_task;

static int spin_task(void *arg) {
  b4_task *t = arg;
  t->run->out[t->i] = wb_spin(t->run->iters, (uint64_t)t->i);
  return 0;
}

static double run_b4(void *arg) {
  b4_run *b = arg;
  b4_task tasks[B4_TASKS];
  weft_group g;
  int e = 0;
  uint64_t t0 = wb_now_ns();
  weft_group_init(&g, b->pool);
  for (int i = 0; i < B4_TASKS && !e; i++) {
    tasks[i] = (b4_task){b, i};
    e = weft_group_spawn(&g, spin_task, &tasks[i]);
  }
  int w = weft_group_wait(&g);
  double ms = (double)(wb_now_ns() - t0) / 1e6;
  weft_group_destroy(&g);
  if (!b->err) b->err = e ? e : w;
  return ms;
}

int bench_b4_scaling(bench_ctx *c) {
  b4_run b = {.iters = wb_spin_calibrate((uint64_t)c->size.task_us * 1000)};
  unsigned counts[] = {1, c->threads};
  double ms[2];
  for (int i = 0; i < 2; i++) {
    bench_progress(c, "B4 %d x %u us, weft, %u thread(s)", B4_TASKS, c->size.task_us,
                   counts[i]);
    if (!(b.pool = make_pool(counts[i]))) return 1;
    /* No warm-up: a run is long, starting the workers is lost in it. */
    ms[i] = bench_median(c, run_b4, &b, 0);
    weft_pool_destroy(b.pool);
    if (report("B4 weft_group", b.err)) return 1;
  }
  int t = (int)c->threads;
  bench_emit(c, "B4", "time", "weft", 1, ms[0], "ms", false, NULL);
  bench_emit(c, "B4", "time", "weft", t, ms[1], "ms", false, NULL);
  bench_emit(c, "B4", "efficiency", "weft", t, 100.0 * ms[0] / (t * ms[1]), "%", true, NULL);
  bench_peer(c, "peer_omp", "B4", c->size.task_us, c->threads);
  bench_peer(c, "peer_tbb", "B4", c->size.task_us, c->threads);
  bench_peer(c, "peer_python.py", "B4", c->size.task_us, c->threads);
  return 0;
}
