/* bench/peer_omp.c — the OpenMP side of `weft bench pool` (gcc's libgomp).
 *
 * Usage: peer_omp BENCH SIZE THREADS [REPS]  (see bench/common.h)
 * Runs one benchmark with the idiomatic OpenMP construct — tasks + taskwait
 * for fork-join, tasks made by one thread in a single region for many small
 * tasks, parallel for (+ reduction) for data parallelism — and prints one
 * JSON line per measurement (the median of REPS runs after a warm-up).
 * Built only in bench/, never linked into libweft. */
#include <omp.h>

#include "common.h"

static wb_args args;

/* ---- B1: fork-join fib ---- */

static long fib(int n) {
  if (n < 2) return n;
  long x, y;
#pragma omp task shared(x) firstprivate(n)
  x = fib(n - 1);
  y = fib(n - 2);
#pragma omp taskwait
  return x + y;
}

static double run_b1(void *arg) {
  (void)arg;
  long r = 0;
  uint64_t t0 = wb_now_ns();
#pragma omp parallel num_threads(args.threads)
#pragma omp single
  r = fib((int)args.size);
  double ns = (double)(wb_now_ns() - t0);
  if (r != wb_fib_value((int)args.size)) {
    fprintf(stderr, "peer_omp: fib(%d) = %ld, wrong\n", (int)args.size, r);
    exit(1);
  }
  return ns / (double)wb_fib_spawns((int)args.size);
}

/* ---- B2: many tiny tasks created by one thread ---- */

static uint64_t *slots;

static double run_b2(void *arg) {
  (void)arg;
  size_t n = args.size;
  memset(slots, 0, n * sizeof *slots);
  uint64_t t0 = wb_now_ns();
#pragma omp parallel num_threads(args.threads)
#pragma omp single
  for (size_t i = 0; i < n; i++) {
#pragma omp task firstprivate(i)
    wb_tiny(&slots[i]);
  }
  /* the barrier closing single waits for every task */
  double ns = (double)(wb_now_ns() - t0);
  if (wb_sum_u64(slots, n) != n) {
    fprintf(stderr, "peer_omp: B2 lost tasks\n");
    exit(1);
  }
  return ns / (double)n;
}

/* ---- B3: data parallel ---- */

static int64_t *in, *out;

static double run_square(void *arg) {
  (void)arg;
  size_t n = args.size;
  uint64_t t0 = wb_now_ns();
#pragma omp parallel for num_threads(args.threads)
  for (size_t i = 0; i < n; i++) out[i] = in[i] * in[i];
  return (double)(wb_now_ns() - t0) / (double)n;
}

static double sum_result;

static double run_sqrt_sum(void *arg) {
  (void)arg;
  size_t n = args.size;
  double s = 0;
  uint64_t t0 = wb_now_ns();
#pragma omp parallel for num_threads(args.threads) reduction(+ : s)
  for (size_t i = 0; i < n; i++) s += sqrt((double)i);
  double ns = (double)(wb_now_ns() - t0);
  sum_result = s;
  return ns / (double)n;
}

static void bench_b3(void) {
  size_t n = args.size;
  in = malloc(n * sizeof *in);
  out = malloc(n * sizeof *out);
  if (!in || !out) {
    fprintf(stderr, "peer_omp: out of memory for B3\n");
    exit(1);
  }
  /* First touch in parallel, with the same static split as the timed loop. */
#pragma omp parallel for num_threads(args.threads)
  for (size_t i = 0; i < n; i++) {
    in[i] = (int64_t)i;
    out[i] = 0;
  }
  char check[40];
  double v = wb_measure(run_square, NULL, args.reps, 1);
  snprintf(check, sizeof check, "%" PRIu64, wb_checksum(out, n));
  wb_result r = wb_make("B3", "square", "openmp", args.threads, v, "ns/elem", 0, check);
  wb_print_json(stdout, &r);
  free(in);
  free(out);

  v = wb_measure(run_sqrt_sum, NULL, args.reps, 1);
  snprintf(check, sizeof check, "%.17g", sum_result);
  r = wb_make("B3", "sqrt_sum", "openmp", args.threads, v, "ns/elem", 0, check);
  wb_print_json(stdout, &r);
}

/* ---- B4: 64 coarse tasks, on 1 and on THREADS threads ---- */

#define B4_TASKS 64
static uint64_t b4_iters;
static int b4_threads;
static uint64_t b4_out[B4_TASKS];

static double run_b4(void *arg) {
  (void)arg;
  uint64_t t0 = wb_now_ns();
#pragma omp parallel num_threads(b4_threads)
#pragma omp single
  for (int i = 0; i < B4_TASKS; i++) {
#pragma omp task firstprivate(i)
    b4_out[i] = wb_spin(b4_iters, (uint64_t)i);
  }
  return (double)(wb_now_ns() - t0) / 1e6;
}

static void bench_b4(void) {
  b4_iters = wb_spin_calibrate(args.size * 1000);
  b4_threads = 1;
  double t1 = wb_measure(run_b4, NULL, args.reps, 0);
  b4_threads = args.threads;
  double tn = wb_measure(run_b4, NULL, args.reps, 0);
  wb_result r = wb_make("B4", "time", "openmp", 1, t1, "ms", 0, NULL);
  wb_print_json(stdout, &r);
  r = wb_make("B4", "time", "openmp", args.threads, tn, "ms", 0, NULL);
  wb_print_json(stdout, &r);
  r = wb_make("B4", "efficiency", "openmp", args.threads,
              100.0 * t1 / (args.threads * tn), "%", 1, NULL);
  wb_print_json(stdout, &r);
}

int main(int argc, char **argv) {
  if (wb_parse_args(argc, argv, &args) != 0) return 2;
  const char *b = args.bench;
  if (strcmp(b, "B1") == 0) {
    double v = wb_measure(run_b1, NULL, args.reps, 1);
    wb_result r = wb_make("B1", "fib", "openmp", args.threads, v, "ns/spawn", 0, NULL);
    wb_print_json(stdout, &r);
  } else if (strcmp(b, "B2") == 0) {
    slots = calloc(args.size, sizeof *slots);
    if (!slots) return 1;
    double v = wb_measure(run_b2, NULL, args.reps, 1);
    wb_result r = wb_make("B2", "tasks", "openmp", args.threads, v, "ns/task", 0, NULL);
    wb_print_json(stdout, &r);
    free(slots);
  } else if (strcmp(b, "B3") == 0) {
    bench_b3();
  } else if (strcmp(b, "B4") == 0) {
    bench_b4();
  } else {
    fprintf(stderr, "peer_omp: no benchmark %s\n", b);
    return 2;
  }
  return 0;
}
