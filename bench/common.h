/* bench/common.h — what every implementation in `weft bench` shares: the
 * loop bodies, the clock, the median, the JSON line format.
 *
 * Included by the weft harness (src/cli/bench*.c) and by the C and C++ peers
 * (bench/peer_omp.c, bench/peer_tbb.cpp), so that weft, OpenMP and oneTBB
 * run the very same work compiled with the same flags: only the scheduling
 * differs. Header-only; valid C11 and C++17. Never part of libweft. */
#ifndef WEFT_BENCH_COMMON_H
#define WEFT_BENCH_COMMON_H

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- clock and statistics ---- */

static inline uint64_t wb_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline int wb_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The median of v[0..n) (n >= 1); sorts v in place. The median, not the
 * mean: on a shared machine one run in five is often disturbed. */
static inline double wb_median(double *v, size_t n) {
  qsort(v, n, sizeof *v, wb_cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One run of a measurement; returns the measured value (usually ns). */
typedef double (*wb_run_fn)(void *arg);

#define WB_MAX_REPS 64

/* Runs fn `warmup` times untimed (threads started, caches and page tables
 * warm), then `reps` times, and returns the median value. */
static inline double wb_measure(wb_run_fn fn, void *arg, int reps, int warmup) {
  double v[WB_MAX_REPS];
  if (reps < 1) reps = 1;
  if (reps > WB_MAX_REPS) reps = WB_MAX_REPS;
  for (int i = 0; i < warmup; i++) fn(arg);
  for (int i = 0; i < reps; i++) v[i] = fn(arg);
  return wb_median(v, (size_t)reps);
}

/* ---- B1: naive fib, every call with n >= 2 spawns ---- */

/* The serial baseline (gcc turns part of the recursion into loops: it is
 * the floor, not a like-for-like task). */
static inline long wb_fib_serial(int n) {
  return n < 2 ? n : wb_fib_serial(n - 1) + wb_fib_serial(n - 2);
}

/* Calls with n >= 2 in the tree of fib(n), i.e. spawns: fib(n+1) - 1. */
static inline uint64_t wb_fib_spawns(int n) {
  uint64_t a = 0, b = 1;
  for (int i = 0; i < n + 1; i++) {
    uint64_t t = a + b;
    a = b;
    b = t;
  }
  return a - 1;
}

/* fib(n) itself, to check the parallel results. */
static inline long wb_fib_value(int n) {
  long a = 0, b = 1;
  for (int i = 0; i < n; i++) {
    long t = a + b;
    a = b;
    b = t;
  }
  return a;
}

/* ---- B2: a tiny task. Each task owns a slot, so nothing but the scheduler
 * is shared; the sum of the slots afterwards proves every task ran once. */
static inline void wb_tiny(uint64_t *slot) { *slot += 1; }

static inline uint64_t wb_sum_u64(const uint64_t *v, size_t n) {
  uint64_t s = 0;
  for (size_t i = 0; i < n; i++) s += v[i];
  return s;
}

/* ---- B3: data parallel bodies over [b, e) ---- */

static inline void wb_square(const int64_t *in, int64_t *out, size_t b, size_t e) {
  for (size_t i = b; i < e; i++) out[i] = in[i] * in[i];
}

/* Adds sqrt(i) for i in [b, e) to acc. Kept in a local so the loop carries
 * the sum in a register. */
static inline double wb_sqrt_sum(size_t b, size_t e, double acc) {
  for (size_t i = b; i < e; i++) acc += sqrt((double)i);
  return acc;
}

/* Checksum of the squares (wrapping), compared across implementations. */
static inline uint64_t wb_checksum(const int64_t *v, size_t n) {
  uint64_t s = 0;
  for (size_t i = 0; i < n; i++) s += (uint64_t)v[i] * (2 * i + 1);
  return s;
}

/* ---- B4: a calibrated busy loop (no sleeping: the CPU really works) ---- */

/* A chain of dependent multiply-adds the compiler cannot shorten. */
static inline uint64_t wb_spin(uint64_t iters, uint64_t seed) {
  uint64_t x = seed;
  for (uint64_t i = 0; i < iters; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    __asm__ __volatile__("" : "+r"(x));
  }
  return x;
}

/* Iterations of wb_spin that take about target_ns on this CPU. The fastest
 * of three timings is used: a preempted timing only makes a run slower. */
static inline uint64_t wb_spin_calibrate(uint64_t target_ns) {
  uint64_t iters = 1u << 16, best = UINT64_MAX;
  volatile uint64_t sink;
  for (;;) {
    uint64_t t0 = wb_now_ns();
    sink = wb_spin(iters, 1);
    if (wb_now_ns() - t0 >= 5000000u) break;  /* 5 ms: well above timer noise */
    iters *= 2;
  }
  for (int r = 0; r < 3; r++) {
    uint64_t t0 = wb_now_ns();
    sink = wb_spin(iters, 1);
    uint64_t dt = wb_now_ns() - t0;
    if (dt < best) best = dt;
  }
  (void)sink;
  uint64_t n = (uint64_t)((double)iters * (double)target_ns / (double)best);
  return n ? n : 1;
}

/* ---- one measurement, printed as one JSON line ---- */

typedef struct wb_result {
  char bench[8];     /* "B1" .. "B5" */
  char kase[32];     /* which measurement of the benchmark ("case" is C++'s) */
  char impl[24];     /* weft, openmp, tbb, python, dask, serial, pthread, ... */
  int threads;
  double value;      /* the median */
  char unit[16];
  int higher_better;
  char check[40];    /* a result to compare across implementations, or "" */
} wb_result;

static inline void wb_print_json(FILE *f, const wb_result *r) {
  fprintf(f, "{\"bench\":\"%s\",\"case\":\"%s\",\"impl\":\"%s\",\"threads\":%d,"
             "\"value\":%.6g,\"unit\":\"%s\",\"better\":\"%s\"",
          r->bench, r->kase, r->impl, r->threads, r->value, r->unit,
          r->higher_better ? "higher" : "lower");
  if (r->check[0]) fprintf(f, ",\"check\":\"%s\"", r->check);
  fputs("}\n", f);
}

/* Fills a result; `check` may be NULL. */
static inline wb_result wb_make(const char *bench, const char *kase, const char *impl,
                                int threads, double value, const char *unit,
                                int higher_better, const char *check) {
  wb_result r;
  memset(&r, 0, sizeof r);
  snprintf(r.bench, sizeof r.bench, "%s", bench);
  snprintf(r.kase, sizeof r.kase, "%s", kase);
  snprintf(r.impl, sizeof r.impl, "%s", impl);
  r.threads = threads;
  r.value = value;
  snprintf(r.unit, sizeof r.unit, "%s", unit);
  r.higher_better = higher_better;
  if (check) snprintf(r.check, sizeof r.check, "%s", check);
  return r;
}

/* ---- the peers' command line: PEER BENCH SIZE THREADS [REPS] ---- */

typedef struct wb_args {
  const char *bench;
  uint64_t size;
  int threads;
  int reps;
} wb_args;

/* Parses argv; prints usage and returns -1 on a bad command line. */
static inline int wb_parse_args(int argc, char **argv, wb_args *a) {
  if (argc < 4 || argc > 5) goto usage;
  a->bench = argv[1];
  a->size = strtoull(argv[2], NULL, 10);
  a->threads = atoi(argv[3]);
  a->reps = argc == 5 ? atoi(argv[4]) : 5;
  if (a->size == 0 || a->threads < 1 || a->reps < 1) goto usage;
  return 0;
usage:
  fprintf(stderr,
          "usage: %s BENCH SIZE THREADS [REPS]\n"
          "  B1 SIZE = n of fib(n)      B2 SIZE = tasks      B3 SIZE = elements\n"
          "  B4 SIZE = us per task (64 tasks; measured on 1 and THREADS)\n"
          "prints one JSON line per measurement: the median of REPS runs\n",
          argv[0]);
  return -1;
}

#endif /* WEFT_BENCH_COMMON_H */
