// bench/peer_tbb.cpp — the oneTBB side of `weft bench pool`.
//
// Usage: peer_tbb BENCH SIZE THREADS [REPS]  (see bench/common.h)
// Runs one benchmark with the idiomatic oneTBB construct — task_group for
// fork-join and for many tasks run from main, parallel_for / parallel_reduce
// with the default (auto) partitioner — inside an arena of THREADS threads,
// and prints one JSON line per measurement (median of REPS runs after a
// warm-up). Built only in bench/, never linked into libweft.
#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_reduce.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common.h"

namespace {

wb_args args;
tbb::task_arena *arena;  // THREADS slots; the main thread takes one

void emit(const char *bench, const char *kase, int threads, double v, const char *unit,
          int higher_better = 0, const char *check = nullptr) {
  wb_result r = wb_make(bench, kase, "tbb", threads, v, unit, higher_better, check);
  wb_print_json(stdout, &r);
}

// ---- B1: fork-join fib ----

long fib(int n) {
  if (n < 2) return n;
  long x, y;
  tbb::task_group g;
  g.run([&] { x = fib(n - 1); });
  y = fib(n - 2);
  g.wait();
  return x + y;
}

double run_b1(void *) {
  int n = (int)args.size;
  long r = 0;
  uint64_t t0 = wb_now_ns();
  arena->execute([&] { r = fib(n); });
  double ns = (double)(wb_now_ns() - t0);
  if (r != wb_fib_value(n)) {
    fprintf(stderr, "peer_tbb: fib(%d) = %ld, wrong\n", n, r);
    exit(1);
  }
  return ns / (double)wb_fib_spawns(n);
}

// ---- B2: many tiny tasks run from the main thread, then waited ----

std::vector<uint64_t> slots;

double run_b2(void *) {
  size_t n = args.size;
  std::fill(slots.begin(), slots.end(), 0);
  uint64_t *s = slots.data();
  uint64_t t0 = wb_now_ns();
  arena->execute([&] {
    tbb::task_group g;
    for (size_t i = 0; i < n; i++) g.run([s, i] { wb_tiny(&s[i]); });
    g.wait();
  });
  double ns = (double)(wb_now_ns() - t0);
  if (wb_sum_u64(s, n) != n) {
    fprintf(stderr, "peer_tbb: B2 lost tasks\n");
    exit(1);
  }
  return ns / (double)n;
}

// ---- B3: data parallel ----

int64_t *in, *out;
double sum_result;

double run_square(void *) {
  size_t n = args.size;
  uint64_t t0 = wb_now_ns();
  arena->execute([&] {
    tbb::parallel_for(tbb::blocked_range<size_t>(0, n),
                      [](const tbb::blocked_range<size_t> &r) {
                        wb_square(in, out, r.begin(), r.end());
                      });
  });
  return (double)(wb_now_ns() - t0) / (double)n;
}

double run_sqrt_sum(void *) {
  size_t n = args.size;
  double s = 0;
  uint64_t t0 = wb_now_ns();
  arena->execute([&] {
    s = tbb::parallel_reduce(
        tbb::blocked_range<size_t>(0, n), 0.0,
        [](const tbb::blocked_range<size_t> &r, double acc) {
          return wb_sqrt_sum(r.begin(), r.end(), acc);
        },
        [](double a, double b) { return a + b; });
  });
  double ns = (double)(wb_now_ns() - t0);
  sum_result = s;
  return ns / (double)n;
}

void bench_b3() {
  size_t n = args.size;
  // Not std::vector: it would zero the arrays in the main thread.
  in = static_cast<int64_t *>(malloc(n * sizeof *in));
  out = static_cast<int64_t *>(malloc(n * sizeof *out));
  if (!in || !out) {
    fprintf(stderr, "peer_tbb: out of memory for B3\n");
    exit(1);
  }
  arena->execute([&] {  // first touch in parallel
    tbb::parallel_for(tbb::blocked_range<size_t>(0, n), [](const tbb::blocked_range<size_t> &r) {
      for (size_t i = r.begin(); i < r.end(); i++) {
        in[i] = (int64_t)i;
        out[i] = 0;
      }
    });
  });
  char check[40];
  double v = wb_measure(run_square, nullptr, args.reps, 1);
  snprintf(check, sizeof check, "%" PRIu64, wb_checksum(out, n));
  emit("B3", "square", args.threads, v, "ns/elem", 0, check);
  free(in);
  free(out);

  v = wb_measure(run_sqrt_sum, nullptr, args.reps, 1);
  snprintf(check, sizeof check, "%.17g", sum_result);
  emit("B3", "sqrt_sum", args.threads, v, "ns/elem", 0, check);
}

// ---- B4: 64 coarse tasks, on 1 and on THREADS threads ----

constexpr int kB4Tasks = 64;
uint64_t b4_iters;
uint64_t b4_out[kB4Tasks];
tbb::task_arena *b4_arena;

double run_b4(void *) {
  uint64_t t0 = wb_now_ns();
  b4_arena->execute([] {
    tbb::task_group g;
    for (int i = 0; i < kB4Tasks; i++) g.run([i] { b4_out[i] = wb_spin(b4_iters, (uint64_t)i); });
    g.wait();
  });
  return (double)(wb_now_ns() - t0) / 1e6;
}

void bench_b4() {
  b4_iters = wb_spin_calibrate(args.size * 1000);
  tbb::task_arena one(1);
  b4_arena = &one;
  double t1 = wb_measure(run_b4, nullptr, args.reps, 0);
  b4_arena = arena;
  double tn = wb_measure(run_b4, nullptr, args.reps, 0);
  emit("B4", "time", 1, t1, "ms");
  emit("B4", "time", args.threads, tn, "ms");
  emit("B4", "efficiency", args.threads, 100.0 * t1 / (args.threads * tn), "%", 1);
}

}  // namespace

int main(int argc, char **argv) {
  if (wb_parse_args(argc, argv, &args) != 0) return 2;
  // The process-wide thread budget, and an arena of exactly THREADS slots.
  tbb::global_control gc(tbb::global_control::max_allowed_parallelism, (size_t)args.threads);
  tbb::task_arena main_arena(args.threads);
  arena = &main_arena;

  std::string b = args.bench;
  if (b == "B1") {
    emit("B1", "fib", args.threads, wb_measure(run_b1, nullptr, args.reps, 1), "ns/spawn");
  } else if (b == "B2") {
    slots.assign(args.size, 0);
    emit("B2", "tasks", args.threads, wb_measure(run_b2, nullptr, args.reps, 1), "ns/task");
  } else if (b == "B3") {
    bench_b3();
  } else if (b == "B4") {
    bench_b4();
  } else {
    fprintf(stderr, "peer_tbb: no benchmark %s\n", args.bench);
    return 2;
  }
  return 0;
}
